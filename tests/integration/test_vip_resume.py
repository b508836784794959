#!/usr/bin/env python3
"""While a failover is recorded as running, the VIP never goes back to the old primary's
host, even when the leader has no live run for it (issue 8 items 4 and 11; DESIGN.md
§6-§7).

Hosts in network namespaces: db1..db3 (mariadbd + failover-agent), c1..c3 (failoverd
with the test-only knob `fault_injection = exit_after:fence`: the leader exits right
after the fence step commits), cli (writes through the VIP only).
  mariadbd on db1 (the primary) is killed with SIGKILL; its agent stays up. The leader
  fences (db1's agent releases the VIP at the new epoch) and exits. Before another node
  takes over, the cluster's password file is moved away, so the new leader cannot
  build a run for the failover (its store says one is running); its renewal loop sees
  db1 as the recorded holder whose agent "lost" the lease. Checked:
    * `why` shows `failover_stalled` naming the password file while it is missing;
    * a VIP sampler (every 20 ms, from the kill to the end) never sees two holders, and
      never sees db1 hold the VIP again once it released it: the loop must not
      re-acquire it on the old primary's host while the store shows the failover;
    * once the file is back, the leader re-drives the failover by itself: success, the
      VIP on the new primary, a write through the VIP lands there.

Ports (inside the namespaces): mariadb 26500 on every db host; failoverd admin 26510+,
raft 26530+, http 26550+; agents 7201, agent http 9601."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.agents import VipSampler  # noqa: E402
from rig.failover import steps_line  # noqa: E402
from rig.netns import NetnsRig, skip_unless_available as skip_unless_netns  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402
from rig.vipenv import DBH, VIP, vip_cluster, vip_write  # noqa: E402

DB_PORT = 26500
CTL_PORT = 26510
HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3", "cli"]


def main():
    with NetnsRig(HOSTS) as net:
        with vip_cluster(net, DB_PORT, CTL_PORT,
                         failover=dict(step_timeout_ms=8000, relay_wait_ms=5000,
                                       fault_injection="exit_after:fence")) as (env, agents):
            run_with(net, env, agents)


def run_with(net, env, agents):
    db, c = env.db, env.c
    agents.start_all()
    env.wait_healthy(1, [2, 3])
    sid = wait_for(lambda: vip_write(net, env, DB_PORT, "before"), 20, "a write through the VIP")
    check(sid == 1, f"the write through the VIP landed on server {sid}")
    db.sync_all()
    lid = c.wait_leader(10)
    with VipSampler(net, ["db1", "db2", "db3"], VIP) as vs:
        step(f"leader is node {lid}; kill -9 of db1's mariadbd (its agent stays up)")
        db.kill9(1)

        def leader_exited():
            dead = [i for i in (1, 2, 3) if not c.running(i)]
            if not dead:
                raise NotYet("every failoverd node is still running")
            return dead
        pw = env.db.password_file
        dead = wait_for(leader_exited, 40, "the leader to exit after the fence step committed", interval=0.02)
        os.rename(pw, pw + ".away")
        try:
            check(dead == [lid], f"node(s) {dead} exited; expected only the leader {lid}")
            new_lid = c.wait_leader(20, nodes=[i for i in (1, 2, 3) if i != lid], exclude=(lid,))
            d = env.wait_decision(lambda d: d.get("verdict") == "failover_stalled", 15,
                                  "a failover_stalled decision while the password file is missing", )
            step(f"node {new_lid} leads; why: {d.get('reason')!r}")
            time.sleep(3.0)  # the renewal loop runs meanwhile: it must leave db1 alone
        finally:
            os.rename(pw + ".away", pw)
        f = env.failover(1, timeout=60, node=new_lid)
        new = env.index(f["new_primary"])
        step(f"node {new_lid} re-drove it once the file was back: {steps_line(f)}")

        def on_new():
            h = agents.holders(VIP)
            if h != {DBH[new]}:
                raise NotYet(f"VIP holders {sorted(h)}")
            return True
        wait_for(on_new, 15, f"the VIP on {DBH[new]}", interval=0.05)
        sid = wait_for(lambda: vip_write(net, env, DB_PORT, "after"), 15, "a write through the VIP")
        check(sid == new, f"the write through the VIP landed on server {sid}, not the new primary {new}")
        time.sleep(1.0)
    tl = [(round(t - vs.timeline[0][0], 3), sorted(h)) for t, h in vs.timeline]
    step(f"VIP holders timeline: {tl}")
    check(vs.max_holders <= 1, f"the VIP was held by two hosts at once: {vs.overlaps[:5]}")
    released = next((k for k, (_, h) in enumerate(vs.timeline) if "db1" not in h), None)
    check(released is not None, f"db1 never released the VIP: {tl}")
    again = [x for x in vs.timeline[released:] if "db1" in x[1]]
    check(not again, f"the VIP went back to the old primary's host db1 after it released it: {tl}")


if __name__ == "__main__":
    skip_unless_netns("test_vip_resume")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
