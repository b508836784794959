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
  * never two writable servers at once, sampled every 20 ms from the kill until the
    resumed failover is done (rig.sampler);
  * once the exited node is restarted it shows the same single record and the
    cluster stays at epoch 1, sampled over a window (nothing re-runs the failover).
Every field asserted on must be present: a missing field fails the test.

Ports: mariadb 24800-24802; failoverd admin 24810+, raft 24830+, http 24850+."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig import sampler  # noqa: E402
from rig.failover import FailoverEnv, short, steps_line  # noqa: E402
from rig.util import MissingPrerequisite, NotYet, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 24800
CTL_PORT = 24810
# After the restart nothing may change: the restarted node must not re-run the
# failover. Watched for this long, every SAMPLE_S (a negative check needs a window).
QUIET_WINDOW_S = 5.0
SAMPLE_S = 0.25


def need(d, key, what):
    """d[key]; the test fails when the field is missing (an assertion on a missing
    field must not vanish)."""
    check(isinstance(d, dict) and key in d, f"{what}: no field {key!r} in {short(d)}")
    return d[key]


def records(env, node):
    """The failover records in node's history; fails if `failovers` is missing."""
    recs = need(env.history(node), "failovers", f"node {node}'s history")
    check(isinstance(recs, list), f"node {node}'s history: failovers is {short(recs)}, not a list")
    return recs


def check_settled(env, nodes, new, what):
    """On every node: one record (epoch 1, success), cluster epoch 1, nothing running;
    and new is the only writable server."""
    for who in nodes:
        recs = records(env, who)
        check(len(recs) == 1, f"{what}: node {who}: {len(recs)} failover records, expected exactly 1: "
              f"{short(recs)}")
        check(need(recs[0], "epoch", f"node {who}'s record") == 1, f"{what}: node {who}: {short(recs[0])}")
        check(need(recs[0], "result", f"node {who}'s record") == "success", f"{what}: node {who}: {short(recs[0])}")
        why = env.why(who)
        check(need(why, "epoch", f"node {who}'s why") == 1,
              f"{what}: node {who}: cluster epoch {why['epoch']!r}, expected 1")
        check(need(why, "running", f"node {who}'s why") is None,
              f"{what}: node {who}: a failover is still running: {short(why['running'])}")
    env.check_one_writable(new)


def main():
    if not sampler.available():
        raise MissingPrerequisite("PyMySQL missing (python3-pymysql; deploy/install-deps.sh)")
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
        # Never two writable servers at any sample, through the kill, the leader's exit
        # and the resumed failover (not only at the end).
        with sampler.WritableSampler(db) as smp:
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
            check(need(f, "kind", "the record") == "auto", f"record kind {f['kind']!r}: {short(f)}")
            new = env.index(need(f, "new_primary", "the record"))
            check(new in (2, 3), f"new primary {f['new_primary']!r} is not a replica of the old one")
            other = 5 - new
            env.check_record(f, 1, "auto", old=1, new=new)

            env.wait_healthy(new, [other], timeout=20, node=new_lid)
            wait_for(lambda: env.replicates_from(other, new), 20,
                     f"{env.addr(other)} to replicate from the new primary")
        check(smp.samples > 0 and smp.max_writable <= 1, f"two writable servers at once: {smp.describe()}")
        step(f"writable sampler: {smp.describe()}")
        check(all(c.running(i) for i in survivors), f"a surviving node exited: {survivors}")
        check_settled(env, survivors, new, "after the resumed failover")
        t = env.topo(new_lid)
        check(need(t, "epoch", "topology") == 1, f"topology epoch {t['epoch']!r}, expected 1")
        step(f"one record (epoch 1, success), one writable server {env.addr(new)}")

        step(f"restarting node {lid}")
        c.restart(lid)
        c.wait_caught_up(lid, 20, reference=new_lid)

        def same_on_restarted():
            recs = records(env, lid)
            if len(recs) != 1 or recs[0].get("epoch") != 1 or recs[0].get("result") != "success":
                raise NotYet(f"node {lid}'s failover records: {short(recs)}")
            return True
        wait_for(same_on_restarted, 10, f"restarted node {lid} to show the single record")
        # A restarted node that wrongly re-runs the failover would show it within the
        # window: a second record, a new epoch, another writable server or an exit.
        t_end, n = time.monotonic() + QUIET_WINDOW_S, 0
        while True:
            check(all(c.running(i) for i in (1, 2, 3)),
                  f"a node exited after the restart (no new failover was due), sample {n}")
            check_settled(env, (1, 2, 3), new, f"after the restart, sample {n}")
            n += 1
            if time.monotonic() >= t_end:
                break
            time.sleep(SAMPLE_S)
        step(f"{n} samples over {QUIET_WINDOW_S:g}s after the restart: nothing changed")


if __name__ == "__main__":
    sys.exit(run_test(main))
