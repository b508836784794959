#!/usr/bin/env python3
"""A failover whose leader dies right after `failover begin` is finished by the next
leader (DESIGN.md §6: each step is a raft command, a new leader resumes).

Every failoverd node runs with the test-only knob `fault_injection =
exit_after_begin` (the leader _exit()s as soon as its FailoverBegin entry commits).
The primary (server 1) is killed with SIGKILL. Expected:
  * exactly one controller exits (the leader that began the failover);
  * a new leader resumes the SAME failover: exactly one failover record, epoch 1,
    result success; cluster epoch 1 (why and topology);
  * exactly one writable server (the new primary), the other replica replicating
    from it;
  * once the exited node is restarted it shows the same single record and the
    cluster stays at epoch 1.

Ports: mariadb 24800-24802; failoverd admin 24810+, raft 24830+, http 24850+."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, short, steps_line  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 24800
CTL_PORT = 24810


def main():
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3,
                     failover=dict(fault_injection="exit_after_begin", step_timeout_ms=5000,
                                   relay_wait_ms=5000)) as env:
        db, c = env.db, env.c
        a1 = env.addr(1)
        env.wait_healthy(1, [2, 3])
        env.write_marker(1, "before")
        db.sync_all()
        lid = c.wait_leader(10)
        step(f"cluster healthy, leader is node {lid}; kill -9 primary {a1}")
        t_kill = time.monotonic()
        db.kill9(1)

        def leader_exited():
            dead = [i for i in (1, 2, 3) if not c.running(i)]
            if not dead:
                raise NotYet("every failoverd node is still running")
            return dead
        dead = wait_for(leader_exited, 30, "the leader to exit after committing failover begin "
                        "(fault_injection = exit_after_begin)")
        check(dead == [lid], f"node(s) {dead} exited; expected only the leader {lid}")
        nd = c.nodes[lid]
        step(f"node {lid} {nd.proc.describe_exit()} {time.monotonic() - t_kill:.2f}s after the kill")

        survivors = [i for i in (1, 2, 3) if i != lid]
        new_lid = c.wait_leader(20, nodes=survivors, exclude=(lid,))
        step(f"node {new_lid} leads")
        f = env.failover(1, timeout=60, node=new_lid)
        step(f"resumed and finished: {steps_line(f)}")
        check(f.get("kind") == "auto", f"record kind {f.get('kind')!r}: {short(f)}")
        new = env.index(f.get("new_primary"))
        check(new in (2, 3), f"new primary {f.get('new_primary')!r} is not a replica of the old one")
        other = 5 - new
        env.check_record(f, 1, "auto", old=1, new=new)

        env.wait_healthy(new, [other], timeout=20, node=new_lid)
        wait_for(lambda: env.replicates_from(other, new), 20, f"{env.addr(other)} to replicate from the new primary")
        env.check_one_writable(new)
        recs = env.failovers(new_lid)
        check(len(recs) == 1, f"{len(recs)} failover records, expected exactly 1: {short(recs)}")
        for who in survivors:
            why = env.why(who)
            check(why.get("epoch") == 1, f"node {who}: cluster epoch {why.get('epoch')!r}, expected 1")
            check(not why.get("running"), f"node {who}: a failover is still running: {short(why.get('running'))}")
        t = env.topo(new_lid)
        if "epoch" in t:
            check(t["epoch"] == 1, f"topology epoch {t['epoch']!r}, expected 1")
        step(f"one record (epoch 1, success), one writable server {env.addr(new)}")

        step(f"restarting node {lid}")
        c.restart(lid)
        c.wait_caught_up(lid, 20, reference=new_lid)

        def same_on_restarted():
            recs = env.failovers(lid)
            if len(recs) != 1 or recs[0].get("epoch") != 1 or recs[0].get("result") != "success":
                raise NotYet(f"node {lid}'s failover records: {short(recs)}")
            return True
        wait_for(same_on_restarted, 10, f"restarted node {lid} to show the single record")
        time.sleep(3)  # let a restarted node that wrongly re-runs the failover show it
        for who in (1, 2, 3):
            recs = env.failovers(who)
            check(len(recs) == 1, f"node {who}: {len(recs)} failover records after the restart: {short(recs)}")
            check(env.why(who).get("epoch") == 1, f"node {who}: epoch changed after the restart")
        env.check_one_writable(new)
        check(all(c.running(i) for i in (1, 2, 3)), "a node exited after the restart (no new failover was due)")


if __name__ == "__main__":
    sys.exit(run_test(main))
