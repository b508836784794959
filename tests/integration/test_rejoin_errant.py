#!/usr/bin/env python3
"""Rejoin judges servers by their gtid_binlog_state, not by one seqno per domain, and
repairs what a failed failover leaves behind (issue 8, items 5, 8 and 12).

  1. IO thread stopped by a DBA (`STOP SLAVE IO_THREAD`, no failover attempt): rejoin
     leaves it alone for 5 s (polled), no `io_restarted` decision. (What a failed attempt
     leaves behind is restarted: tests/integration/test_relay_wait.py.)
  2. Errant transaction with a LOWER seqno: the primary (server 1, writes 0-1-N) is
     killed; failover to P. Server 1 comes back with --skip-networking (unseen by the
     controllers) and commits one transaction, 0-1-(N+1), then stops; P writes five
     transactions (0-P-(N+1) .. 0-P-(N+5)), so P is AHEAD of 0-1-(N+1) in domain 0 by
     seqno, yet lacks it. Server 1 restarts normally and writable. Checked:
       - it is quarantined: topology quarantined=true with a reason naming
         0-1-(N+1), `failoverctl why` lists it, a `quarantined` decision names it;
       - it is made read-only and stays so;
       - a sampler polling it every 50 ms from its start to the end of a 5 s window
         after the quarantine never sees it replicating (SHOW SLAVE STATUS empty) and
         never sees its gtid_slave_pos change (MASTER_DEMOTE_TO_SLAVE would rewrite
         it and hide the divergence);
       - the errant row stays on server 1 only.
     (The seqno-only check this replaces rejoined it: N+1 <= N+5.)
  3. Replication that breaks later is looked at again: the remaining replica R of P
     gets a local transaction 0-R-(M+1) (as root, through read_only), then P writes:
     R's SQL thread stops (gtid_strict_mode, error 1950) while R still names P as its
     source. Rejoin quarantines R with a reason naming 0-R-(M+1).

Ports: mariadb 27300-27302; failoverd admin 27310+, raft 27330+, http 27350+."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, inst_summary, short, steps_line  # noqa: E402
from rig.util import MissingPrerequisite, NotYet, check, run_test, step, wait_for  # noqa: E402
from rig.writer import pymysql  # noqa: E402

DB_PORT = 27300
CTL_PORT = 27310
SAMPLE_S = 0.05


def seqno(pos, domain=0):
    """The seqno of `domain` in a gtid_binlog_pos like '0-3-17,1-2-4'."""
    for g in (pos or "").split(","):
        d, _, n = g.strip().split("-")
        if int(d) == domain:
            return int(n)
    raise ValueError(f"no domain {domain} in {pos!r}")


class Sampler(threading.Thread):
    """Polls one server over its unix socket (root) every SAMPLE_S seconds and records
    every sample in which it replicates or its gtid_slave_pos differs from `slave_pos`."""

    def __init__(self, srv, slave_pos):
        super().__init__(daemon=True)
        self.srv = srv
        self.slave_pos = slave_pos
        self.stop_ev = threading.Event()
        self.samples = 0
        self.bad = []
        self.errors = 0
        self.last_error = ""

    def run(self):
        conn = None
        while not self.stop_ev.is_set():
            try:
                if conn is None:
                    conn = pymysql.connect(unix_socket=self.srv.socket, user="root", connect_timeout=1,
                                           read_timeout=2, autocommit=True)
                with conn.cursor(pymysql.cursors.DictCursor) as cur:
                    cur.execute("SHOW SLAVE STATUS")
                    st = cur.fetchone()
                    cur.execute("SELECT @@gtid_slave_pos AS sp, @@read_only AS ro")
                    v = cur.fetchone()
                self.samples += 1
                if st is not None:
                    self.bad.append(f"{time.monotonic():.2f}: replica of {st.get('Master_Host')}:"
                                    f"{st.get('Master_Port')} IO={st.get('Slave_IO_Running')}")
                if (v["sp"] or "") != self.slave_pos:
                    self.bad.append(f"{time.monotonic():.2f}: gtid_slave_pos {v['sp']!r} != {self.slave_pos!r}")
            except Exception as e:  # noqa: BLE001 - the server may be starting: counted
                self.errors += 1
                self.last_error = f"{type(e).__name__}: {e}"
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001
                        pass
                    conn = None
            self.stop_ev.wait(SAMPLE_S)
        if conn is not None:
            conn.close()

    def stop(self):
        self.stop_ev.set()
        self.join(10)


def io_left_alone(env):
    """An IO thread a DBA stopped (no failed failover attempt) is not restarted: only
    what a failed attempt left behind is (and never with the SQL thread stopped)."""
    db = env.db
    a2 = env.addr(2)
    since = int(time.time() * 1000) - 1000
    db.sql(2, "STOP SLAVE IO_THREAD")
    step(f"{a2}: IO thread stopped by hand (no error, no failover attempt)")
    t_end = time.monotonic() + 5
    while time.monotonic() < t_end:
        st = db.slave_status(2) or {}
        check(st.get("Slave_IO_Running") == "No", f"{a2}'s IO thread was restarted: {env.server_state(2)}")
        ds = [d for d in env.decisions() if d.get("verdict") == "io_restarted" and (d.get("wall_ms") or 0) >= since]
        check(not ds, f"io_restarted decision without a failed attempt: {short(ds)}")
        time.sleep(0.2)
    db.sql(2, "START SLAVE IO_THREAD")
    env.write_marker(1, "after-io")
    env.wait_caught_up(2, 1)
    step(f"{a2}'s IO thread left stopped for 5 s, then started by hand")


def errant_former_primary(env):
    db = env.db
    env.write_marker(1, "m1")
    db.sync_all()
    n = seqno(db.scalar(1, "SELECT @@gtid_binlog_pos"))
    step(f"kill -9 primary {env.addr(1)} at 0-1-{n}")
    db.kill9(1)
    f = env.failover(1, timeout=60)
    p = env.index(f["new_primary"])
    other = 5 - p
    step(f"failover: {steps_line(f)}")
    env.wait_healthy(p, [other], timeout=20)

    srv = db.servers[1]
    step(f"{env.addr(1)} offline (--skip-networking): one local transaction")
    srv.extra_args = ["--skip-networking"]
    srv.read_only = False
    db.start(1)
    db.sql(1, "INSERT INTO fotest.marks VALUES ('errant-1')")
    errant = f"0-1-{n + 1}"
    got = db.scalar(1, "SELECT @@gtid_binlog_pos")
    check(got == errant, f"precondition: {env.addr(1)} gtid_binlog_pos {got!r}, expected {errant!r}")
    slave_pos = db.scalar(1, "SELECT @@gtid_slave_pos") or ""
    db.stop(1)
    srv.extra_args = []

    for k in range(5):
        db.app_sql(p, f"INSERT INTO fotest.marks VALUES ('new-{k}')")
    ppos = db.scalar(p, "SELECT @@gtid_binlog_pos")
    pstate = db.scalar(p, "SELECT @@gtid_binlog_state")
    check(seqno(ppos) >= n + 5, f"precondition: new primary {env.addr(p)} at {ppos!r}, expected seqno >= {n + 5}")
    check(errant not in pstate.split(","), f"precondition: {env.addr(p)} has {errant}: {pstate!r}")
    step(f"new primary {env.addr(p)} at {ppos!r} (state {pstate!r}); {env.addr(1)} has {errant} "
         f"(lower seqno, other server id), gtid_slave_pos {slave_pos!r}")

    a1 = env.addr(1)
    since = int(time.time() * 1000) - 1000
    srv.read_only = False
    sampler = Sampler(srv, slave_pos)
    db.start(1)
    sampler.start()
    t0 = time.monotonic()
    try:
        def quarantined():
            inst = env.by_address().get(a1) or {}
            if inst.get("quarantined") is not True:
                raise NotYet(f"{a1}: {inst_summary(inst)}")
            listed = [x for x in env.why().get("quarantined") or [] if a1 in x]
            if not listed:
                raise NotYet("why does not list it yet")
            return inst, listed[0]
        inst, listed = wait_for(quarantined, 20, f"{a1} (errant {errant}) to be quarantined in topology and why")
        step(f"quarantined after {time.monotonic() - t0:.1f}s: {listed!r}")
        reason = inst.get("quarantine_reason") or ""
        check(errant in reason, f"quarantine reason {reason!r} does not name {errant}")
        check(errant in listed, f"`why` quarantined entry {listed!r} does not name {errant}")
        d = env.wait_decision(lambda d: d.get("verdict") == "quarantined" and a1 in (d.get("reason") or ""), 10,
                              f"a quarantined decision naming {a1}", since_wall_ms=since)
        check(errant in d.get("reason", ""), f"quarantined decision {d.get('reason')!r} does not name {errant}")
        rejoined = [x for x in env.decisions() if (x.get("wall_ms") or 0) >= since
                    and x.get("verdict") == "rejoined" and a1 in (x.get("reason") or "")]
        check(not rejoined, f"{a1} was rejoined: {short(rejoined)}")

        wait_for(lambda: env.read_only(1), 10, f"quarantined {a1} to be read-only")
        t_end = time.monotonic() + 5
        while time.monotonic() < t_end:
            check(env.read_only(1), f"quarantined {a1} became writable: {env.server_state(1)}")
            inst = env.by_address().get(a1) or {}
            check(inst.get("quarantined") is True, f"{a1} left quarantine: {inst_summary(inst)}")
            time.sleep(0.25)
    finally:
        sampler.stop()
    step(f"sampler: {sampler.samples} samples, {sampler.errors} errors (last: {sampler.last_error!r})")
    check(sampler.samples >= 50, f"the 50 ms sampler got only {sampler.samples} samples "
          f"({sampler.errors} errors, last {sampler.last_error!r}): it could not watch")
    check(not sampler.bad, f"{a1} replicated or had its gtid_slave_pos rewritten: {sampler.bad[:5]}")
    got = db.scalar(1, "SELECT @@gtid_slave_pos") or ""
    check(got == slave_pos, f"{a1} gtid_slave_pos {got!r}, was {slave_pos!r}")
    check(db.sql(1, "SELECT COUNT(*) FROM fotest.marks WHERE tag='errant-1'") == [("1",)],
          f"{a1} lost its errant row")
    check(db.sql(p, "SELECT COUNT(*) FROM fotest.marks WHERE tag='errant-1'") == [("0",)],
          f"the errant row reached the new primary {env.addr(p)}")
    env.check_one_writable(p)
    step(f"{a1} quarantined, read-only, never replicating, gtid_slave_pos untouched")
    return p, other


def broken_later(env, p, r):
    db = env.db
    ar = env.addr(r)
    env.wait_healthy(p, [r], timeout=20)
    env.wait_caught_up(r, p)
    m = seqno(db.scalar(r, "SELECT @@gtid_binlog_pos"))
    since = int(time.time() * 1000) - 1000
    db.sql(r, "INSERT INTO fotest.marks VALUES ('errant-r')")  # root writes through read_only
    errant = f"0-{r}-{m + 1}"
    got = db.scalar(r, "SELECT @@gtid_binlog_pos")
    check(got == errant, f"precondition: {ar} gtid_binlog_pos {got!r}, expected {errant!r}")
    db.app_sql(p, "INSERT INTO fotest.marks VALUES ('after-errant-r')")

    def sql_stopped():
        st = db.slave_status(r) or {}
        if st.get("Slave_SQL_Running") != "No" or st.get("Last_SQL_Errno") in (None, "0"):
            raise NotYet(env.server_state(r))
        return st
    st = wait_for(sql_stopped, 15, f"{ar}'s SQL thread to stop on the out-of-order GTID")
    step(f"{ar} broke: SQL error {st.get('Last_SQL_Errno')}: {st.get('Last_SQL_Error')!r}")

    def quarantined():
        inst = env.by_address().get(ar) or {}
        if inst.get("quarantined") is not True:
            raise NotYet(f"{ar}: {inst_summary(inst)}")
        return inst
    inst = wait_for(quarantined, 20, f"broken replica {ar} (errant {errant}) to be quarantined")
    check(errant in (inst.get("quarantine_reason") or ""),
          f"quarantine reason {inst.get('quarantine_reason')!r} does not name {errant}")
    env.wait_decision(lambda d: d.get("verdict") == "quarantined" and ar in (d.get("reason") or ""), 10,
                      f"a quarantined decision naming {ar}", since_wall_ms=since)
    step(f"{ar} quarantined: {inst.get('quarantine_reason')!r}")


def main():
    if pymysql is None:
        raise MissingPrerequisite("python3-pymysql is not installed (deploy/install-deps.sh installs it)")
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3,
                     failover=dict(step_timeout_ms=5000, relay_wait_ms=5000)) as env:
        env.wait_healthy(1, [2, 3])
        io_left_alone(env)
        p, other = errant_former_primary(env)
        broken_later(env, p, other)


if __name__ == "__main__":
    sys.exit(run_test(main))
