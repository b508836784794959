#!/usr/bin/env python3
"""A failover is resumed after EACH committed step (DESIGN.md §6; issue 8 item 4).

For every step S of pre_hook, fence, choose, promote, repoint: three failoverd nodes run
with the test-only knob `fault_injection = exit_after:S` (the leader _exit()s right
after S's FailoverStepDone commits) and a pre_failover hook (/bin/true) so that the
pre_hook step exists. The primary is killed with SIGKILL. Expected each time:
  * exactly one node exits (the leader); another one resumes the SAME failover: one
    record, epoch 1, result success, every step recorded once;
  * every acknowledged marker row is on the new primary;
  * a sampler (every 50 ms, from the kill to the end) never sees two writable servers.
Then `fault_injection = drop_run_after:choose`: the run dies after choose while its node
stays leader; the leader must re-drive it by itself (no node exits, no leader change)
and the failover ends with success within a bound.

Ports: mariadb 26200-26202; failoverd admin 26210+, raft 26230+, http 26250+."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, parse_steps, short, steps_line  # noqa: E402
from rig.sampler import WritableSampler  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 26200
CTL_PORT = 26210
STEPS = ["pre_hook", "fence", "choose", "promote", "repoint"]
MARKERS = 20


def failover_cfg(fault):
    return dict(fault_injection=fault, pre_failover="/bin/true", step_timeout_ms=5000, relay_wait_ms=5000)


def check_rows(env, new):
    n = int(env.db.scalar(new, "SELECT COUNT(*) FROM fotest.marks WHERE tag LIKE 'm-%'"))
    check(n == MARKERS, f"new primary {env.addr(new)} has {n} of {MARKERS} acknowledged marker rows")


def resume_after(fault_step):
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3,
                     failover=failover_cfg(f"exit_after:{fault_step}")) as env:
        db, c = env.db, env.c
        env.wait_healthy(1, [2, 3])
        for k in range(MARKERS):
            env.write_marker(1, f"m-{k}")
        db.sync_all()
        lid = c.wait_leader(10)
        step(f"[exit_after:{fault_step}] leader is node {lid}; kill -9 {env.addr(1)}")
        with WritableSampler(db, period=0.05) as smp:
            db.kill9(1)

            def leader_exited():
                dead = [i for i in (1, 2, 3) if not c.running(i)]
                if not dead:
                    raise NotYet("every failoverd node is still running")
                return dead
            dead = wait_for(leader_exited, 40, f"the leader to exit after step {fault_step} committed")
            check(dead == [lid], f"node(s) {dead} exited; expected only the leader {lid}")
            survivors = [i for i in (1, 2, 3) if i != lid]
            new_lid = c.wait_leader(20, nodes=survivors, exclude=(lid,))
            f = env.failover(1, timeout=60, node=new_lid)
            time.sleep(0.5)
        step(f"[exit_after:{fault_step}] node {new_lid} resumed it: {steps_line(f)}; "
             f"{smp.samples} samples, at most {smp.max_writable} writable")
        recs = env.failovers(new_lid)
        check(len(recs) == 1, f"{len(recs)} failover records, expected 1: {short(recs)}")
        steps = parse_steps(f.get("steps"))
        for s in STEPS:
            check(s in steps, f"step {s} missing from the record's steps {f.get('steps')!r}")
        check(smp.max_writable <= 1, f"two writable servers at once: {smp.describe()}")
        new = env.index(f.get("new_primary"))
        check(new in (2, 3), f"new primary {f.get('new_primary')!r}")
        check_rows(env, new)
        env.wait_healthy(new, [r for r in (2, 3) if r != new], node=new_lid)


def redrive_after_drop():
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3,
                     failover=failover_cfg("drop_run_after:choose")) as env:
        db, c = env.db, env.c
        env.wait_healthy(1, [2, 3])
        for k in range(MARKERS):
            env.write_marker(1, f"m-{k}")
        db.sync_all()
        lid = c.wait_leader(10)
        step(f"[drop_run_after:choose] leader is node {lid}; kill -9 {env.addr(1)}")
        t0 = time.monotonic()
        db.kill9(1)
        f = env.failover(1, timeout=60, node=lid)
        took = time.monotonic() - t0
        step(f"[drop_run_after:choose] re-driven and finished in {took:.2f}s: {steps_line(f)}")
        check(all(c.running(i) for i in (1, 2, 3)), "a node exited; only the run was to be dropped")
        check(c.wait_leader(5) == lid, f"leadership moved from node {lid}: the re-drive must not need an election")
        with open(c.nodes[lid].log, encoding="utf-8", errors="replace") as fh:
            log = fh.read()
        check("dropping the run" in log, "the fault was not injected (no 'dropping the run' in the leader's log)")
        check("resuming" in log, "the leader's log does not show the run being resumed")
        check(took < 30, f"the re-driven failover took {took:.1f}s")
        new = env.index(f.get("new_primary"))
        check_rows(env, new)


def main():
    for s in STEPS:
        resume_after(s)
    redrive_after_drop()


if __name__ == "__main__":
    sys.exit(run_test(main))
