#!/usr/bin/env python3
"""The old primary's host is cut off with its mysqld alive: never two writable
servers (issue 8 item 2; DESIGN.md §6 step 2, §7), with the agent's DEFAULT config.

Hosts in network namespaces (tests/rig/netns.py): db1..db3 (mariadbd + failover-agent
each, the agent's config has no lease_read_only line: the default applies), c1..c3
(failoverd). The writer VIP is on db1, the primary.
  1. db1 is cut off from the controllers AND the replicas (blackhole routes both ways);
     its mysqld keeps running. The replicas lose their IO threads, the controllers
     fail over. A sampler polls @@read_only of every server every 20 ms over its unix
     socket for the whole fault: at no sample are two servers writable. At the end db1
     is read-only: its agent fenced it when its lease ran out, before any replica was
     promoted. The fence step's record says what each fencing path did.
  2. The cut is healed: db1 never becomes writable again, the VIP sampler never saw two
     holders, and exactly one server is writable.

Ports (inside the namespaces): mariadb 26300 on every db host; failoverd admin 26310+,
raft 26330+, http 26350+; agents 7201, agent http 9601."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.agents import VipSampler  # noqa: E402
from rig.failover import steps_line, short  # noqa: E402
from rig.netns import NetnsRig, skip_unless_available as skip_unless_netns  # noqa: E402
from rig.sampler import WritableSampler  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402
from rig.vipenv import VIP, vip_cluster  # noqa: E402

DB_PORT = 26300
CTL_PORT = 26310
HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3"]
LEASE_MS = 2000


def main():
    with NetnsRig(HOSTS) as net:
        run(net)


def run(net):
    # lease_read_only left out of the agents' configs: their default applies.
    with vip_cluster(net, DB_PORT, CTL_PORT, lease_ms=LEASE_MS) as (env, agents):
        run_with(net, env, agents)


def run_with(net, env, agents):
    db = env.db
    agents.start_all()
    env.wait_healthy(1, [2, 3])

    def on_db1():
        if agents.holders(VIP) != {"db1"}:
            raise NotYet(f"VIP holders {sorted(agents.holders(VIP))}")
        return True
    wait_for(on_db1, 20, "the VIP on db1", interval=0.05)
    env.write_marker(1, "before")
    db.sync_all()

    with WritableSampler(db, period=0.02) as smp, VipSampler(net, ["db1", "db2", "db3"], VIP) as vs:
        step("cutting db1 off from c1..c3 and db2, db3 (both ways); its mysqld stays up")
        t_cut = time.monotonic()
        for h in ("c1", "c2", "c3", "db2", "db3"):
            net.cut(h, "db1", both=True)
        f = env.failover(1, timeout=90)
        new = env.index(f["new_primary"])
        step(f"failover {time.monotonic() - t_cut:.2f}s after the cut: {steps_line(f)}")
        check(new in (2, 3), f"promoted {f.get('new_primary')!r}")

        def db1_read_only():
            if not env.read_only(1):
                raise NotYet(f"db1 writable: {env.server_state(1)}")
            return True
        wait_for(db1_read_only, 5, "db1 (cut off) to be read-only")
        time.sleep(1.0)
        step("healing the cut")
        for h in ("c1", "c2", "c3", "db2", "db3"):
            net.heal(h, "db1", both=True)
        time.sleep(4.0)  # the former primary comes back into view: watch it for a while
    step(f"writable sampler: {smp.describe()}")
    check(smp.samples > 100, f"only {smp.samples} samples")
    check(smp.answered.get(1, 0) > 50, f"db1 answered only {smp.answered.get(1)} samples: the sampler "
                                       "did not watch the cut-off primary")
    check(smp.max_writable <= 1, f"two writable servers at once: {smp.describe()}")
    check(vs.max_holders <= 1, f"the VIP was held by two hosts at once: {vs.overlaps[:5]}")
    check(env.read_only(1), f"the former primary is writable after the heal: {env.server_state(1)}")
    env.check_one_writable(new)
    fence = next((s for s in (f.get("step_details") or []) if s.get("step") == "fence"), None)
    step(f"fence step: {short(fence, 600) if fence else '(details not in the record)'}")


if __name__ == "__main__":
    skip_unless_netns("test_failover_isolated")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
