#!/usr/bin/env python3
"""A writer-VIP lease lapse is never a permanent write outage (issue 8 item 9; DESIGN.md
§7: "a lapse is never a permanent outage").

Hosts in network namespaces: db1..db3 (mariadbd + failover-agent with its DEFAULT
config: lease_read_only on), c1..c3 (failoverd), cli (a client that writes through the
writer VIP only).
  1. The controllers (only they) are cut off from db1 for 3 leases: the replicas still
     replicate from db1, so there is no failover (unreachable_primary). The agents of
     db2 and db3 are stopped first: they would relay the leader's renewals to db1
     (docs/relayed-lease.md; tests/integration/test_controller_partition.py tests
     that), and this test is about what happens when nobody can renew db1's lease: its
     agent drops the VIP and makes its mysqld read-only.
  2. The cut is healed: the leader re-acquires the VIP on db1 under the SAME epoch and
     the agent undoes its own fence. Expected, with no operator action: db1 writable
     again, a write through the VIP succeeds within a bound, still no failover (epoch 0),
     and a 20 ms sampler never saw two writable servers. A `vip_lapsed` decision
     records the lapse.

Ports (inside the namespaces): mariadb 26400 on every db host; failoverd admin 26410+,
raft 26430+, http 26450+; agents 7201, agent http 9601."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import short  # noqa: E402
from rig.netns import NetnsRig, skip_unless_available as skip_unless_netns  # noqa: E402
from rig.sampler import WritableSampler  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402
from rig.vipenv import vip_cluster, vip_write  # noqa: E402

DB_PORT = 26400
CTL_PORT = 26410
HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3", "cli"]
LEASE_MS = 2000


def main():
    with NetnsRig(HOSTS) as net:
        run(net)


def run(net):
    with vip_cluster(net, DB_PORT, CTL_PORT, lease_ms=LEASE_MS) as (env, agents):
        run_with(net, env, agents)


def run_with(net, env, agents):
    db = env.db
    agents.start_all()
    env.wait_healthy(1, [2, 3])
    sid = wait_for(lambda: vip_write(net, env, DB_PORT, "before"), 20, "a write through the VIP")
    check(sid == 1, f"the write through the VIP landed on server {sid}")
    since = int(time.time() * 1000)

    step("stopping the agents of db2 and db3 (no relayed renewals)")
    agents.stop(2)
    agents.stop(3)
    with WritableSampler(db, period=0.02) as smp:
        step("cutting the controllers (only) off from db1; the replicas still see it")
        for c in ("c1", "c2", "c3"):
            net.cut(c, "db1", both=True)
        t_cut = time.monotonic()

        def fenced_itself():
            if not env.read_only(1):
                raise NotYet(f"db1 writable: {env.server_state(1)}")
            return True
        wait_for(fenced_itself, LEASE_MS / 1000 + 5, "db1's agent to make its mysqld read-only when the lease lapsed")
        t_ro = time.monotonic() - t_cut
        step(f"db1 read-only {t_ro:.2f}s after the cut (lease {LEASE_MS} ms)")
        env.wait_no_failover(max(0.5, 3 * LEASE_MS / 1000 - t_ro), epoch_before=0, what="controllers cut from db1")

        step("healing the cut")
        for c in ("c1", "c2", "c3"):
            net.heal(c, "db1", both=True)
        t_heal = time.monotonic()
        agents.start(2)
        agents.start(3)
        sid = wait_for(lambda: vip_write(net, env, DB_PORT, "after"), 30, "a write through the VIP after the heal",
                       interval=0.1)
        t_write = time.monotonic() - t_heal
        check(sid == 1, f"after the heal the VIP write landed on server {sid}, not db1")
        step(f"writes through the VIP resumed by themselves {t_write:.2f}s after the heal")
    check(smp.max_writable <= 1, f"two writable servers at once: {smp.describe()}")
    check(not env.read_only(1), f"db1 is read-only after the heal: {env.server_state(1)}")
    check(env.epoch() == 0, f"a failover happened (epoch {env.epoch()}); records {short(env.failovers())}")
    check(t_write < 15, f"writes resumed only {t_write:.1f}s after the heal")
    d = env.wait_decision(lambda d: d.get("verdict") == "vip_lapsed", 15, "a vip_lapsed decision",
                          since_wall_ms=since)
    step(f"decision: {d.get('reason')!r}; sampler: {smp.describe()}")
    m = agents.metrics(1)
    undone = m.get(("failoverd_agent_lease_writable_again_total", 'cluster="demo"')) or \
        m.get(("failoverd_agent_lease_writable_again_total", ""))
    step(f"agent 1 lease_writable_again_total: {undone!r}")


if __name__ == "__main__":
    skip_unless_netns("test_lease_lapse")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
