#!/usr/bin/env python3
"""Planned switchover under write load loses no acknowledged write (DESIGN.md §6;
`failoverctl switchover CLUSTER [--to H:P]`).

A primary (server 1) and two GTID replicas watched by three failoverd nodes. A writer
thread INSERTs numbered rows as the non-SUPER app user, reconnecting to whichever
server `failoverctl topology` names as the primary whenever a write fails.
  1. `switchover demo --to <server 3>`: returns 0; history has a record kind
     switchover, result success, old 1, new 3; every acknowledged write is on 3;
     server 1 is read-only and replicates from 3 (IO/SQL Yes), server 2 too; the
     writer writes to 3 afterwards; one writable server.
  2. `switchover demo` (no --to: the best candidate): again success, no acknowledged
     write lost, the previous primary (3) rejoins as a replica.
  3. `failover demo` while the primary is alive: refused (exit 1), no record.

Ports: mariadb 24900-24902; failoverd admin 24910+, raft 24930+, http 24950+."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, short, steps_line  # noqa: E402
from rig.util import check, run_test, step, wait_for  # noqa: E402
from rig.writer import Writer, create_table, ids_on  # noqa: E402

DB_PORT = 24900
CTL_PORT = 24910


def main():
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3,
                     failover=dict(step_timeout_ms=5000, relay_wait_ms=5000)) as env:
        db = env.db
        env.wait_healthy(1, [2, 3])
        create_table(db, 1)
        db.sync_all()

        def topology_primary():
            p = env.topo().get("primary")
            return [env.index(p)] if p else []

        w = Writer(db, topology_primary, name="writer", retry_interval=0.05)
        w.start()
        w.wait_acks(100)
        step(f"writer running: {w.acked_count()} acknowledged on {w.servers_written()}")

        old, epoch = 1, 0
        for target in (3, None):
            epoch += 1
            args = ["switchover", "demo"] + (["--to", env.addr(target)] if target else [])
            step(f"failoverctl {' '.join(args)} (primary {env.addr(old)}, writer running)")
            before = w.acked_count()
            t0 = time.monotonic()
            res = env.ctl(args, timeout_ms=60000, proc_timeout=90)
            took = time.monotonic() - t0
            check(res.rc == 0, f"switchover: {res.describe()}")
            f = env.record(epoch)
            check(f is not None, f"no failover record with epoch {epoch} after the switchover returned: "
                  f"{short(env.failovers())}")
            check(f.get("result") == "success", f"switchover record: {short(f)}")
            new = env.index(f.get("new_primary"))
            if target:
                check(new == target, f"switchover --to {env.addr(target)} promoted {f.get('new_primary')}")
            check(new != old, f"switchover kept the same primary {env.addr(old)}")
            env.check_record(f, epoch, "switchover", old=old, new=new)
            step(f"switchover returned after {took:.2f}s: {steps_line(f)}")

            others = [i for i in (1, 2, 3) if i != new]
            env.wait_healthy(new, others, timeout=30)
            for r in others:
                wait_for(lambda r=r: env.replicates_from(r, new), 20,
                         f"{env.addr(r)} to replicate from the new primary {env.addr(new)}")
                check(env.read_only(r), f"{env.addr(r)} is writable after the switchover: {env.server_state(r)}")
            # The old primary must have been demoted (read_only + rejoined as replica).
            st = db.slave_status(old)
            check(st is not None and st.get("Slave_IO_Running") == "Yes",
                  f"old primary {env.addr(old)} does not replicate: {env.server_state(old)}")
            env.check_one_writable(new)

            # The writer must find the new primary and write there.
            def writes_on_new():
                la = w.last_ack()
                return la is not None and la[2] == new and w.acked_count() > before
            wait_for(writes_on_new, 30, f"the writer to write on {env.addr(new)} "
                     f"(last errors: {w.last_errors()})")
            w.wait_acks(50)
            acked = w.acked_ids()
            have = ids_on(db, new)
            lost = sorted(acked - have)
            check(not lost, f"{len(lost)} acknowledged writes are not on the new primary {env.addr(new)}: "
                  f"{lost[:20]} (acked {len(acked)}, uncertain {len(w.uncertain)})")
            gap = w.max_gap(t0, time.monotonic())
            step(f"no acknowledged write lost ({len(acked)} acked, {len(w.uncertain)} uncertain); "
                 f"longest write gap {gap[0] * 1000:.0f} ms")
            old = new

        # A manual failover needs a dead primary: with a live one it is refused.
        res = env.ctl(["failover", "demo"], timeout_ms=60000, proc_timeout=90)
        check(res.rc == 1, f"`failover demo` with a live primary should be refused (exit 1): {res.describe()}")
        check(len(env.failovers()) == 2 and not env.record(3),
              f"a refused manual failover left a record: {short(env.failovers())}")
        env.check_one_writable(old)
        step(f"`failover demo` with a live primary refused: {(res.stderr or res.stdout).strip()[:200]}")

        w.stop()
        acked = w.acked_ids()
        for r in (1, 2, 3):
            if r != old:
                env.wait_caught_up(r, old, timeout=20)
            lost = sorted(acked - ids_on(db, r))
            check(not lost, f"{env.addr(r)} lacks {len(lost)} acknowledged writes: {lost[:20]}")
        kinds = [(f.get("epoch"), f.get("kind"), f.get("result")) for f in env.failovers()]
        check(sorted(kinds) == [(1, "switchover", "success"), (2, "switchover", "success")],
              f"history failovers: {kinds}")
        step(f"all {len(acked)} acknowledged writes on every server")


if __name__ == "__main__":
    sys.exit(run_test(main))
