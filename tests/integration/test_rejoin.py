#!/usr/bin/env python3
"""A former primary that comes back rejoins as a read-only replica of the new primary,
unless it has GTIDs the new primary lacks (errant): then it is quarantined, left
read-only and never repointed (issue 3).

  1. kill -9 the primary (server 1): failover epoch 1 to P. Restart server 1 (it
     starts writable, as after a crash): within 20 s it is read_only=1, replicates
     from P (IO/SQL Yes) and receives a new write made on P.
  2. `failoverctl ack demo`, kill -9 P: failover epoch 2 to Q. Restart P with
     --skip-networking (the controllers cannot see it), write rows on it over its
     unix socket (errant GTIDs; Q has moved on too), restart it normally and
     writable: it becomes
     quarantined (topology quarantined=true, `why` lists it), read_only=1, and for
     10 s it never replicates from Q (nor from anyone); Q stays the only writable
     server.

Ports: mariadb 25100-25102; failoverd admin 25110+, raft 25130+, http 25150+."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, inst_summary, short, steps_line  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 25100
CTL_PORT = 25110


def main():
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3,
                     failover=dict(step_timeout_ms=5000, relay_wait_ms=5000)) as env:
        db = env.db
        env.wait_healthy(1, [2, 3])
        env.write_marker(1, "m1")
        db.sync_all()

        # ---------------------------------------------------------------- 1. clean rejoin
        step(f"kill -9 primary {env.addr(1)}")
        db.kill9(1)
        f = env.failover(1, timeout=60)
        p = env.index(f["new_primary"])
        step(f"failover: {steps_line(f)}")
        q_other = 5 - p
        env.wait_healthy(p, [q_other], timeout=20)

        step(f"restarting {env.addr(1)} (writable, as after a crash)")
        db.servers[1].read_only = False
        t0 = time.monotonic()
        db.start(1)

        def rejoined():
            if not env.read_only(1):
                raise NotYet(f"{env.addr(1)} is still writable: {env.server_state(1)}")
            env.replicates_from(1, p)
            return True
        wait_for(rejoined, 20, f"former primary {env.addr(1)} to become a read-only replica of {env.addr(p)}")
        step(f"{env.addr(1)} rejoined as a replica of {env.addr(p)} after {time.monotonic() - t0:.1f}s")
        env.write_marker(p, "m2")
        env.wait_caught_up(1, p, timeout=20)
        env.wait_healthy(p, [1, q_other], timeout=20)
        env.check_one_writable(p)
        check(len(env.failovers()) == 1, f"a rejoin must not be a failover: {short(env.failovers())}")

        # ---------------------------------------------------------------- 2. errant GTIDs
        env.ack()
        step(f"acknowledged; kill -9 primary {env.addr(p)}")
        for r in (1, q_other):
            env.wait_caught_up(r, p, timeout=20)
        db.kill9(p)
        f = env.failover(2, timeout=60)
        q = env.index(f["new_primary"])
        step(f"failover: {steps_line(f)}")
        rest = [i for i in (1, 2, 3) if i not in (p, q)]
        env.wait_healthy(q, rest, timeout=20)
        env.write_marker(q, "m3")  # the new primary moves on: the histories diverge
        q_pos = db.scalar(q, "SELECT @@gtid_binlog_pos")

        step(f"restart {env.addr(p)} with --skip-networking and write errant rows on it")
        srv = db.servers[p]
        srv.extra_args = ["--skip-networking"]
        srv.read_only = False
        db.start(p)
        db.sql(p, "CREATE DATABASE IF NOT EXISTS errant; CREATE TABLE errant.t (id INT PRIMARY KEY); "
                  "INSERT INTO errant.t VALUES (1), (2), (3)")
        errant_pos = db.scalar(p, "SELECT @@gtid_binlog_pos")
        step(f"{env.addr(p)} gtid_binlog_pos {errant_pos!r}; new primary {env.addr(q)} has {q_pos!r}")
        db.stop(p)
        srv.extra_args = []
        db.start(p)
        t0 = time.monotonic()
        ap = env.addr(p)

        def quarantined():
            inst = env.by_address().get(ap) or {}
            if inst.get("quarantined") is not True:
                raise NotYet(f"{ap}: {inst_summary(inst)}")
            why = env.why()
            listed = [x for x in why.get("quarantined") or [] if ap in x]
            if not listed:
                raise NotYet(f"why quarantined: {why.get('quarantined')!r}")
            return listed[0]
        entry = wait_for(quarantined, 20, f"{ap} (errant GTIDs) to be quarantined in topology and why")
        step(f"quarantined after {time.monotonic() - t0:.1f}s: {entry!r}")

        def read_only_p():
            if not env.read_only(p):
                raise NotYet(f"{ap}: {env.server_state(p)}")
            return True
        wait_for(read_only_p, 10, f"quarantined former primary {ap} to be set read_only=1")

        t_end = time.monotonic() + 10
        while time.monotonic() < t_end:
            st = db.slave_status(p)
            check(st is None or (st.get("Slave_IO_Running") != "Yes" and st.get("Master_Port") != str(db.servers[q].port)),
                  f"quarantined {ap} was repointed: {env.server_state(p)}")
            check(env.read_only(p), f"quarantined {ap} became writable: {env.server_state(p)}")
            inst = env.by_address().get(ap) or {}
            check(inst.get("quarantined") is True, f"{ap} left quarantine by itself: {inst_summary(inst)}")
            time.sleep(0.5)
        check(env.db.sql(p, "SELECT COUNT(*) FROM errant.t") == [("3",)], f"{ap}'s errant rows changed")
        env.check_one_writable(q)
        check(len(env.failovers()) == 2, f"failover records: {short(env.failovers())}")
        errant_on_q = db.sql(q, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name='errant'")
        check(errant_on_q == [("0",)], f"errant data reached the new primary {env.addr(q)}")
        step(f"{ap} stays quarantined, read-only and not replicating; {env.addr(q)} is the only writable server")


if __name__ == "__main__":
    sys.exit(run_test(main))
