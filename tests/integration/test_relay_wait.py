#!/usr/bin/env python3
"""The relay-log wait is checked, and no relay log holding transactions is reset
(issue 8 item 1; DESIGN.md §6 steps 3-4).

  1. Switchover to a target that cannot reach the old primary's final position (its
     SQL thread is stopped, relay_wait_ms = 1500): the switchover must NOT promote it.
     Expected: `failoverctl switchover --to` fails, the record ends aborted with a reason
     naming the relay log / final position, the old primary is writable again, the
     target is still a read-only replica of it, and a sampler (every 50 ms over the
     whole switchover) never sees the target writable.
  2. Failover whose only candidate has received but not applied transactions (server 3
     is must_not; server 2's SQL thread is stopped while 40 rows arrive in its relay
     log), then kill -9 of the primary: server 2 must not be reset. Expected: no server
     becomes writable during the attempt (sampled), the record ends failed with a reason
     naming the relay log, server 2 is still a replica with the same received position,
     and every received transaction is still in its relay log files (RESET SLAVE ALL
     would have deleted them; so would a restart of its replication threads, which is
     why the failed attempt does not restart an IO thread whose SQL thread is stopped),
     while server 3 (SQL thread running) has its IO thread started again; when the
     primary returns, server 3 replicates from it again by itself.

Ports: mariadb 26100-26102; failoverd admin 26110+, raft 26130+, http 26150+."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, short  # noqa: E402
from rig.sampler import WritableSampler  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 26100
CTL_PORT = 26110
ROWS = 40


def relay_seqnos(db, i):
    """Seqnos of the GTIDs in server i's relay log files (SHOW RELAYLOG EVENTS)."""
    index = os.path.join(db.servers[i].datadir, "relay-bin.index")
    with open(index, encoding="utf-8") as f:
        files = [os.path.basename(x.strip()) for x in f if x.strip()]
    seqnos = set()
    for name in files:
        for row in db.sql(i, f"SHOW RELAYLOG EVENTS IN '{name}'"):
            info = row[-1] or ""
            if row[2] == "Gtid" and "GTID" in info:
                seqnos.add(int(info.split()[-1].split("-")[-1]))
    return seqnos


def ended_record(env, epoch):
    f = env.record(epoch)
    if f is None or f.get("result") == "running":
        raise NotYet(f"record of epoch {epoch}: {short(f, 400)}; decisions {short(env.decisions()[:3], 600)}")
    return f


def switchover_to_lagging(env):
    db = env.db
    a1, a3 = env.addr(1), env.addr(3)
    env.wait_healthy(1, [2, 3])
    env.write_marker(1, "before")
    db.sync_all()
    step(f"stopping the SQL thread of the target {a3}, then writing on {a1}")
    db.sql(3, "STOP SLAVE SQL_THREAD")
    env.write_marker(1, "target-lacks-this")
    epoch = env.epoch()
    with WritableSampler(db, period=0.05) as smp:
        res = env.ctl(["switchover", "demo", "--to", a3], proc_timeout=60)
        f = wait_for(lambda: ended_record(env, epoch + 1), 20, "the switchover's record to end")
    step(f"switchover returned {res.rc}; record {short(f, 600)}; {smp.samples} samples")
    check(res.rc != 0, f"switchover to a target lacking the old primary's last transaction returned 0: "
                       f"{res.describe()}")
    check(f.get("result") == "aborted", f"record result {f.get('result')!r}, expected aborted: {short(f)}")
    detail = (f.get("detail") or "") + " " + str(f.get("steps") or "")
    check("final position" in detail or "relay log" in detail,
          f"the record does not say the target lacked the old primary's position: {short(f)}")
    seen = smp.writable_other_than({1})
    check(not seen, f"sampler saw other servers writable during the switchover: {seen[:5]}")
    check(not env.read_only(1), f"old primary {a1} is still read-only after the aborted switchover: "
                                f"{env.server_state(1)}")
    check(env.read_only(3), f"target {a3} is writable: {env.server_state(3)}")
    st = db.slave_status(3)
    check(st is not None and f"{st.get('Master_Host')}:{st.get('Master_Port')}" == a1,
          f"target {a3} no longer replicates from {a1}: {env.server_state(3)}")
    db.sql(3, "START SLAVE SQL_THREAD")
    env.wait_caught_up(3, 1)
    step("aborted as expected; the old primary writable again, the target caught up after its SQL thread started")


def main():
    # Part 1: a switchover.
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3,
                     failover=dict(step_timeout_ms=5000, relay_wait_ms=1500)) as env:
        switchover_to_lagging(env)

    # Part 2: a failover whose only candidate has unapplied relay log.
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3, rules={3: "must_not"},
                     failover=dict(step_timeout_ms=5000, relay_wait_ms=1500)) as env:
        db = env.db
        a1, a2 = env.addr(1), env.addr(2)
        env.wait_healthy(1, [2, 3])
        env.write_marker(1, "before")
        db.sync_all()
        db.sql(2, "STOP SLAVE SQL_THREAD")
        for k in range(ROWS):
            env.write_marker(1, f"relay-{k}")
        want = db.scalar(1, "SELECT @@gtid_binlog_pos")

        def received():
            st = db.slave_status(2)
            io = (st or {}).get("Gtid_IO_Pos")
            if io != want:
                raise NotYet(f"mariadb 2 Gtid_IO_Pos {io!r}, primary at {want!r}")
            return True
        wait_for(received, 20, f"server 2 to receive (not apply) the {ROWS} rows")
        applied = int(db.scalar(2, "SELECT COUNT(*) FROM fotest.marks WHERE tag LIKE 'relay-%'"))
        check(applied == 0, f"server 2 applied {applied} rows although its SQL thread is stopped")
        step(f"server 2 {a2} has {ROWS} rows in its relay log, none applied; kill -9 {a1}")
        with WritableSampler(db, period=0.05) as smp:
            db.kill9(1)
            f = wait_for(lambda: ended_record(env, 1), 60, "the failover attempt to end")
            time.sleep(1.0)  # keep sampling a little after the end
        step(f"record: {short(f, 900)}; {smp.samples} samples")
        check(f.get("result") == "failed", f"record result {f.get('result')!r}, expected failed: {short(f)}")
        check("relay log" in (f.get("detail") or ""), f"the record does not name the relay log: {short(f)}")
        seen = smp.writable_other_than(set())
        check(not seen, f"servers became writable during the attempt: {seen[:5]}")
        check(env.read_only(2), f"server 2 was opened for writes: {env.server_state(2)}")
        st3 = db.slave_status(3) or {}
        check(st3.get("Slave_IO_Running") in ("Yes", "Connecting", "Preparing"),
              f"server 3's IO thread (its SQL thread runs) was not started again after the failed attempt: "
              f"{env.server_state(3)}")
        st = db.slave_status(2)
        check(st is not None, f"server 2's replication was reset: {env.server_state(2)}")
        check(st.get("Slave_IO_Running") == "No",
              f"server 2's IO thread was restarted with its SQL thread stopped (MariaDB then discards the "
              f"relay log): {env.server_state(2)}")
        check(st.get("Gtid_IO_Pos") == want,
              f"server 2's received position changed to {st.get('Gtid_IO_Pos')!r} (was {want!r})")
        # MariaDB discards the relay log of a GTID replica when replication starts
        # again with both threads stopped, so the transactions are checked in the relay
        # log files themselves: every GTID past the applied position must be there.
        applied_seq = int(db.scalar(2, "SELECT @@gtid_slave_pos").split("-")[-1])
        want_seq = int(want.split("-")[-1])
        have = relay_seqnos(db, 2)
        missing = [n for n in range(applied_seq + 1, want_seq + 1) if n not in have]
        check(not missing, f"server 2's relay log lacks {len(missing)} received transactions "
                           f"(seqnos {missing[:10]}...): the failover discarded them")
        step(f"server 2 kept its replication and the {want_seq - applied_seq} unapplied transactions "
             f"in its relay log ({applied_seq + 1}..{want_seq})")

        # The failed attempt left the topology as it was: when the primary returns,
        # server 3 replicates from it again by itself.
        db.start(1)
        wait_for(lambda: env.replicates_from(3, 1), 30, f"server 3 to replicate from {a1} again after its return")
        check(not env.read_only(1), f"the returning primary {a1} is read-only: {env.server_state(1)}")
        check(env.read_only(3) and env.read_only(2), "a replica is writable after the primary's return")
        step(f"{a1} is back: server 3 replicates from it again, nothing else changed")


if __name__ == "__main__":
    sys.exit(run_test(main))
