#!/usr/bin/env python3
"""Failover away from a hung primary, and its return (DESIGN.md §5, §10).

The primary (server 1) is frozen with SIGSTOP: its sockets stay open but nothing
answers. The servers run with slave_net_timeout=4 and the replicas with
MASTER_HEARTBEAT_PERIOD=1 (the rig's defaults), so the replicas' IO threads notice
and leave "Yes"; the controllers' probes time out (read_timeout_ms 1000). Expected:
  * failover epoch 1 (auto, success) to server 2 or 3, the other repointed;
  * after SIGCONT the old primary, which wakes up believing it is writable, is set
    read_only=1 and rejoins as a replica of the new primary within 20 s, and a write
    on the new primary reaches it; one writable server throughout the end state.

Ports: mariadb 25300-25302; failoverd admin 25310+, raft 25330+, http 25350+."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, steps_line  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 25300
CTL_PORT = 25310


def main():
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3, slave_net_timeout=4,
                     failover=dict(step_timeout_ms=3000, relay_wait_ms=5000)) as env:
        db = env.db
        env.wait_healthy(1, [2, 3])
        env.write_marker(1, "before")
        db.sync_all()
        for r in (2, 3):
            hb = dict(db.sql(r, "SHOW GLOBAL STATUS LIKE 'Slave_heartbeat_period'")).get("Slave_heartbeat_period")
            check(hb in ("1.000", "1"), f"replica {r} heartbeat period {hb!r}, expected 1 s")

        step(f"SIGSTOP primary {env.addr(1)} (pid {db.servers[1].pid})")
        t0 = time.monotonic()
        db.pause(1)
        try:
            f = env.failover(1, timeout=90)
            step(f"failover {time.monotonic() - t0:.1f}s after SIGSTOP: {steps_line(f)}")
            new = env.index(f.get("new_primary"))
            check(new in (2, 3), f"new primary {f.get('new_primary')!r}")
            other = 5 - new
            env.check_record(f, 1, "auto", old=1, new=new)
            env.wait_healthy(new, [other], timeout=20)
            wait_for(lambda: env.replicates_from(other, new), 20, f"{env.addr(other)} to replicate from the new primary")
        finally:
            step(f"SIGCONT {env.addr(1)}")
            db.resume(1)
        t1 = time.monotonic()

        def demoted():
            if not env.read_only(1):
                raise NotYet(f"{env.addr(1)} still writable: {env.server_state(1)}")
            return True
        wait_for(demoted, 20, f"the woken-up old primary {env.addr(1)} to be set read_only=1")
        step(f"{env.addr(1)} read_only=1 {time.monotonic() - t1:.1f}s after SIGCONT")
        wait_for(lambda: env.replicates_from(1, new), 20, f"{env.addr(1)} to rejoin as a replica of {env.addr(new)}")
        step(f"{env.addr(1)} replicates from {env.addr(new)} {time.monotonic() - t1:.1f}s after SIGCONT")
        env.write_marker(new, "after")
        env.wait_caught_up(1, new, timeout=20)
        env.wait_caught_up(other, new, timeout=20)
        env.wait_healthy(new, [1, other], timeout=20)
        env.check_one_writable(new)
        recs = env.failovers()
        check(len(recs) == 1, f"{len(recs)} failover records, expected 1")


if __name__ == "__main__":
    sys.exit(run_test(main))
