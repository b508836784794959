#!/usr/bin/env python3
"""Automatic failover after kill -9 of the primary (issue 3; DESIGN.md §5-§6).

A primary (server 1) and two GTID replicas with AFTER_SYNC semi-sync set up by the
test (cluster semi_sync = yes), watched by three failoverd nodes. A writer thread
inserts rows as the non-SUPER app user. Replica 2's IO thread is stopped (it lags;
it is listed first, so "take the first replica" would be wrong), more rows are
written, then the primary is killed with SIGKILL. Expected:
  * failover epoch 1, kind auto, result success, steps fence/choose/promote/repoint
    with timings; replica 3 (the most advanced) is promoted;
  * topology: server 3 primary, writable; server 2 its replica (IO/SQL Yes);
  * on the servers: 3 read_only=0, no replication, semi-sync master on (AFTER_SYNC);
    2 read_only=1, replicating from 3, semi-sync slave on, and it catches up
    (same gtid_current_pos after a new write on 3);
  * every INSERT acknowledged before the kill is on the new primary;
  * exactly one writable server; the record lists the confirmations.

Ports: mariadb 24700-24702; failoverd admin 24710+, raft 24730+, http 24750+."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, inst_summary, short, steps_line  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402
from rig.writer import Writer, create_table, ids_on  # noqa: E402

DB_PORT = 24700
CTL_PORT = 24710
LAG = 2  # replica whose IO thread is stopped before the kill
NEW = 3  # the most advanced replica: must be promoted


def main():
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3, semi_sync=True,
                     failover=dict(step_timeout_ms=5000, relay_wait_ms=5000)) as env:
        db = env.db
        a1, a2, a3 = env.addr(1), env.addr(2), env.addr(3)
        aN, aL = env.addr(NEW), env.addr(LAG)
        env.wait_healthy(1, [2, 3])
        step(f"cluster healthy: primary {a1}, replicas {a2} {a3}")

        create_table(db, 1)
        db.sync_all()
        env.enable_semi_sync(1, [2, 3])
        step("semi-sync AFTER_SYNC on the primary, 2 semi-sync replicas")

        w = Writer(db, lambda: [1], name="writer")
        w.start()
        w.wait_acks(50)
        step(f"writer: {w.acked_count()} rows acknowledged; stopping replica 2's IO thread")
        db.sql(LAG, "STOP SLAVE IO_THREAD")
        w.wait_acks(100)
        lag_gtid = db.scalar(LAG, "SELECT @@gtid_current_pos")
        step(f"writer: {w.acked_count()} acknowledged; replica 2 stays at {lag_gtid}")

        def lagging_seen_stopped():
            x = env.by_address().get(env.addr(LAG)) or {}
            if x.get("io_running") != "No":
                raise NotYet(f"{env.addr(LAG)}: {inst_summary(x)}")
            return True
        wait_for(lagging_seen_stopped, 10, f"topology to show {env.addr(LAG)} with IO thread No")

        step(f"kill -9 primary {a1} (pid {db.servers[1].pid}) while the writer runs")
        t_kill = time.monotonic()
        db.kill9(1)
        w.stop()
        acked = w.acked_ids()
        check(len(acked) >= 100, f"only {len(acked)} writes acknowledged before the kill")
        step(f"{len(acked)} writes acknowledged before the kill, {len(w.uncertain)} uncertain")

        f = env.failover(1, timeout=60)
        took = time.monotonic() - t_kill
        step(f"failover done {took:.2f}s after the kill: {steps_line(f)}")
        steps = env.check_record(f, 1, "auto", old=1, new=NEW)
        check(f.get("reason"), f"record has no reason: {short(f)}")
        step(f"steps: {steps}; reason: {f.get('reason')!r}; confirmations: {f.get('confirmations')!r}")

        # ---------------------------------------------------------------- topology
        t = env.wait_healthy(NEW, [LAG], timeout=20)
        check(t.get("primary") == aN, f"topology primary is {t.get('primary')!r}, expected {aN}")
        why = env.why()
        check(why.get("epoch") == 1, f"why epoch is {why.get('epoch')!r}, expected 1: {short(why)}")
        check(why.get("primary") == aN, f"why primary is {why.get('primary')!r}, expected {aN}")
        check(any(d.get("verdict") == "dead_primary" for d in why.get("decisions") or []),
              f"why has no dead_primary decision: {short(why.get('decisions'))}")

        # ---------------------------------------------------------------- servers
        check(not env.read_only(NEW), f"new primary {aN} is still read_only: {env.server_state(NEW)}")
        check(db.slave_status(NEW) is None, f"new primary {aN} still has a replication config: {env.server_state(NEW)}")
        ss = dict(db.sql(NEW, "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
                              "('rpl_semi_sync_master_enabled','rpl_semi_sync_master_wait_point')"))
        check(ss.get("rpl_semi_sync_master_enabled") == "ON" and ss.get("rpl_semi_sync_master_wait_point") == "AFTER_SYNC",
              f"new primary {aN} semi-sync settings: {ss} (semi_sync = yes)")
        wait_for(lambda: env.replicates_from(LAG, NEW), 20, f"{aL} to replicate from {aN}")
        check(env.read_only(LAG), f"replica {aL} is writable: {env.server_state(LAG)}")
        rs = db.scalar(LAG, "SELECT @@rpl_semi_sync_slave_enabled")
        check(rs == "1", f"replica {aL} rpl_semi_sync_slave_enabled={rs} (semi_sync = yes)")

        have = ids_on(db, NEW)
        lost = sorted(acked - have)
        check(not lost, f"{len(lost)} acknowledged writes are missing on the new primary {aN}: "
              f"{lost[:20]}{'...' if len(lost) > 20 else ''} (acked {len(acked)}, present {len(have)})")
        step(f"all {len(acked)} acknowledged writes are on {aN}")

        env.write_marker(NEW, "after-failover")
        env.wait_caught_up(LAG, NEW, timeout=20)
        check(ids_on(db, LAG) >= acked, f"{aL} lacks acknowledged rows after catching up")
        env.check_one_writable(NEW)
        step(f"{aL} caught up with {aN}; only {aN} is writable")

        recs = env.failovers()
        check(len(recs) == 1, f"history has {len(recs)} failover records, expected 1: {short(recs)}")
        # DESIGN.md §4: failover begin carries the confirmations that justified it.
        check(f.get("confirmations"), f"the record of an automatic failover has no confirmations: {short(f)}")


if __name__ == "__main__":
    sys.exit(run_test(main))
