#!/usr/bin/env python3
"""No failover when only the controllers lose the primary (DESIGN.md §5: a primary
whose replicas still replicate is UnreachablePrimary, not dead).

Six hosts in network namespaces joined by a bridge (tests/rig/netns.py, addresses in
10.231.0.0/24 that exist only inside them): db1 (primary), db2, db3 (GTID replicas),
c1, c2, c3 (failoverd nodes; failoverctl and HTTP checks run inside them).
  1. Cut all three controllers from db1 (blackhole routes both ways) while db2 and
     db3 still replicate from it: the leader sees db1 down, but for 20 s there is no
     failover (history empty, primary unchanged, db2/db3 read-only), a write on db1
     still reaches the replicas, and `why` records verdict unreachable_primary with
     a reason naming a replica that still replicates.
  2. Heal: db1 is seen up again.
  3. Cut only the leader from db1: no failover (verdict not_confirmed: the other
     controllers still see db1 up). Then cut only one follower: no failover.

Skipped (exit 77, which ctest counts as skipped and CI as a failure) only when `ip netns add`
is not permitted.
Ports (inside the namespaces): mariadb 25400-25402; failoverd admin 25410+, raft
25430+, http 25450+."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, inst_summary, short  # noqa: E402
from rig.netns import NetnsRig, skip_unless_available as skip_unless_netns  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 25400
CTL_PORT = 25410
HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3"]
HOLD_S = 20


def main():
    with NetnsRig(HOSTS) as net:
        run(net)


def run(net):
    step(f"namespaces up: {', '.join(f'{h}={net.addr(h)}' for h in HOSTS)}")
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3, net=net,
                     db_hosts={1: "db1", 2: "db2", 3: "db3"}, ctl_hosts={1: "c1", 2: "c2", 3: "c3"},
                     failover=dict(step_timeout_ms=5000, relay_wait_ms=5000)) as env:
        db = env.db
        a1, a2, a3 = env.addr(1), env.addr(2), env.addr(3)
        env.wait_healthy(1, [2, 3])
        step(f"cluster healthy: primary {a1}, replicas {a2} {a3}")
        env.write_marker(1, "before")
        db.sync_all()

        # ---------------------------------------------------------------- 1. all controllers cut
        lid = env.c.wait_leader(10)
        step(f"leader is node {lid}; cutting c1, c2, c3 from db1 (replication db1 -> db2, db3 untouched)")
        for c in ("c1", "c2", "c3"):
            net.cut(c, "db1", both=True)
        t_cut = time.monotonic()

        def primary_down():
            x = env.by_address().get(a1) or {}
            if x.get("health") != "down":
                raise NotYet(f"{a1}: {inst_summary(x)}")
            return True
        wait_for(primary_down, 15, f"the leader to see {a1} down once every controller is cut from it")
        step(f"leader sees {a1} down after {time.monotonic() - t_cut:.1f}s")

        for r in (2, 3):
            env.replicates_from(r, 1)
        env.write_marker(1, "during-cut")
        db.sync_all(timeout=10)
        step("a write on db1 during the cut reached db2 and db3 (they still replicate)")

        left = HOLD_S - (time.monotonic() - t_cut)
        env.wait_no_failover(max(0.0, left), epoch_before=0, primary=1,
                             what="controllers cut from a primary whose replicas replicate")
        recs = env.failovers()
        check(recs == [], f"history has failover records: {short(recs)}")
        for r in (2, 3):
            check(env.read_only(r), f"replica {env.addr(r)} became writable: {env.server_state(r)}")
            env.replicates_from(r, 1)

        def unreachable(d):
            return d.get("verdict") == "unreachable_primary" and (a2 in (d.get("reason") or "")
                                                                  or a3 in (d.get("reason") or ""))
        d = env.wait_decision(unreachable, 5, "a decision with verdict unreachable_primary whose reason "
                              f"names a replica still replicating ({a2} or {a3})")
        check(d.get("instance") in (a1, None, ""), f"unreachable_primary decision about {d.get('instance')!r}")
        step(f"{HOLD_S}s without failover; why: verdict={d['verdict']!r} reason={d.get('reason')!r}")
        bad = [x for x in env.decisions() if x.get("verdict") == "dead_primary"]
        check(not bad, f"a dead_primary decision was recorded while replicas replicate: {short(bad)}")

        # ---------------------------------------------------------------- 2. heal
        for c in ("c1", "c2", "c3"):
            net.heal(c, "db1", both=True)
        env.wait_healthy(1, [2, 3], timeout=20)
        step("healed: db1 seen up again, still the primary")

        # ---------------------------------------------------------------- 3. one controller cut
        lid = env.c.wait_leader(10)
        lhost = f"c{lid}"
        step(f"cutting only the leader ({lhost}) from db1")
        net.cut(lhost, "db1", both=True)
        t_cut = time.monotonic()
        wait_for(primary_down, 15, f"leader {lhost} to see {a1} down")

        def not_confirmed(d):
            return d.get("verdict") == "not_confirmed"
        d = env.wait_decision(not_confirmed, 10, "a not_confirmed decision (only the leader sees db1 down)")
        step(f"why: verdict={d['verdict']!r} reason={d.get('reason')!r}")
        env.wait_no_failover(max(0.0, 10 - (time.monotonic() - t_cut)), epoch_before=0, primary=1,
                             what="only the leader cut from the primary")
        check(env.c.wait_leader(10) == lid, "leadership moved while the leader was cut from db1 "
              "(the test then does not show what it meant to)")
        net.heal(lhost, "db1", both=True)
        env.wait_healthy(1, [2, 3], timeout=20)

        fol = [i for i in (1, 2, 3) if i != lid][0]
        fhost = f"c{fol}"
        step(f"cutting only follower {fhost} from db1")
        net.cut(fhost, "db1", both=True)
        env.wait_no_failover(8, epoch_before=0, primary=1, what="one follower cut from the primary")
        net.heal(fhost, "db1", both=True)
        env.wait_healthy(1, [2, 3], timeout=20)
        bad = [x for x in env.decisions() if x.get("verdict") == "dead_primary"]
        check(not bad, f"a dead_primary decision was recorded: {short(bad)}")
        check(env.failovers() == [], f"history has failover records: {short(env.failovers())}")
        env.check_one_writable(1)
        step("no failover in any partition; db1 is the only writable server")


if __name__ == "__main__":
    skip_unless_netns("test_failover_partition")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
