#!/usr/bin/env python3
"""No writer-VIP gap when the controller leader dies (issue 11 item 2, DESIGN.md §7:
"a new leader renews the recorded holder's lease as its first act").

Hosts in network namespaces (subnet 10.239.41.0/24, tests/rig/netns.py): db1..db3
(mariadbd + failover-agent each, default agent config), c1..c3 (failoverd), cli (a
client that reaches the databases only through the writer VIP 10.239.41.100 on db1).
Timing is failoverd's defaults: election_timeout_ms 600, heartbeat_timeout_ms 60,
vip_lease_ms 2000 (common/config.h; docs/vip-leader-change.md says why these).

Three times: kill -9 the raft leader, wait until the two survivors agree on a new one
and it has confirmed the holder's lease, give it two leases of time, restart the
killed node and let it catch up. Throughout:
  * a sampler reads the three db hosts' addresses every 20 ms (rtnetlink): every
    sample must find exactly one holder, db1 (no lapse, never two holders);
  * a writer INSERTs through the VIP from cli, as the non-SUPER app user, on one
    connection that it re-opens after an error: no INSERT may fail. Controllers
    changing leader touch no mysqld, so anything but zero means the VIP or db1's
    lease-expiry fence (read_only=1) got in the way;
  * no failover happens (epoch 0) and each new leader's failoverd_vip_first_renewals_total
    counts its first-act renewal.

With the old defaults (election 1000 ms, heartbeat 100 ms) the VIP lapsed in about
half of the kills (README "Benchmarks"); FO_TEST_ELECTION_MS=1000 FO_TEST_HEARTBEAT_MS=100
run this test with them, to see it fail.

Ports (inside the namespaces): mariadb 29500 on every db host; failoverd admin 29510+,
raft 29530+, http 29550+; agents 7201, agent http 9601."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.agents import AgentRig, VipSampler  # noqa: E402
from rig.controllers import ControllerRig  # noqa: E402
from rig.failover import FailoverEnv, short  # noqa: E402
from rig.netns import NetnsRig, skip_unless_available as skip_unless_netns  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402
from rig.writer import Writer, connect_vip, create_table, require_pymysql  # noqa: E402

SUBNET = "10.239.41"
VIP = f"{SUBNET}.100"
DB_PORT = 29500
CTL_PORT = 29510
HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3", "cli"]
DBH = {1: "db1", 2: "db2", 3: "db3"}
CTLH = {1: "c1", 2: "c2", 3: "c3"}
LEASE_MS = 2000
ELECTION_MS = int(os.environ.get("FO_TEST_ELECTION_MS", "600"))   # failoverd's default
HEARTBEAT_MS = int(os.environ.get("FO_TEST_HEARTBEAT_MS", "60"))  # failoverd's default
KILLS = 3
SAMPLE_S = 0.02


def main():
    require_pymysql()
    with NetnsRig(HOSTS, subnet=SUBNET) as net:
        run(net)


def run(net):
    env_cm = FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3, net=net, db_hosts=DBH, ctl_hosts=CTLH,
                         db_opts=dict(same_port=True, bind_any=True), election_timeout_ms=ELECTION_MS,
                         heartbeat_timeout_ms=HEARTBEAT_MS,
                         failover=dict(step_timeout_ms=8000, relay_wait_ms=5000),
                         extra_cluster=dict(vip=f"{VIP}/24", vip_interface="eth0", agent_port=7201,
                                            vip_lease_ms=LEASE_MS))
    with env_cm as env:
        agents = AgentRig(net, DBH, "demo", f"{VIP}/24", certs=env.c.tls_dir,
                          mysql={i: (net.addr(h), DB_PORT, "failoverd", env.db.password_file)
                                 for i, h in DBH.items()})
        try:
            run_with(net, env, agents)
        except BaseException:
            agents.dump_logs(60)
            raise
        finally:
            agents.teardown()


def first_renewals(env, node):
    v = env.c.metric(node, "failoverd_vip_first_renewals_total")
    return int(v) if v is not None else 0


def holders_text(timeline, t0, t1):
    return ", ".join(f"+{(t - t0) * 1000:.0f}ms {sorted(h) or '(none)'}" for t, h in timeline if t0 <= t <= t1)


def run_with(net, env, agents):
    db = env.db
    agents.start_all()
    env.wait_healthy(1, [2, 3])

    def on_db1():
        h = agents.holders(VIP)
        if h != {"db1"}:
            raise NotYet(f"VIP holders {sorted(h)}")
        return True
    wait_for(on_db1, 30, "the writer VIP on db1")
    create_table(db, 1)
    wait_for(lambda: connect_vip(db, net.ns("cli"), VIP, DB_PORT)[0].close() or True, 20,
             "a connection through the VIP")
    step(f"VIP on db1; election_timeout_ms={ELECTION_MS} heartbeat_timeout_ms={HEARTBEAT_MS} "
         f"vip_lease_ms={LEASE_MS}")

    w = Writer(db, lambda: [1], interval=0.01, name="vip-writer", connect_timeout=1.0, rw_timeout=3.0,
               connect_fn=lambda _i, ct, rt: connect_vip(db, net.ns("cli"), VIP, DB_PORT, ct, rt))
    windows = []
    with VipSampler(net, ["db1", "db2", "db3"], VIP, interval=SAMPLE_S) as smp:
        w.start()
        try:
            w.wait_acks(20, timeout=20)
            t_start = time.monotonic()
            for k in range(1, KILLS + 1):
                windows.append(kill_leader(env, k))
            t_end = time.monotonic()
            w.wait_acks(20, timeout=20)
        finally:
            w.stop()
        smp.stop()

    # Every sample between the first kill and the end: exactly db1.
    bad = [(t, h) for t, h in smp.timeline if t >= t_start and h != frozenset({"db1"})]
    check(not smp.errors, f"the sampler could not read addresses: {smp.errors[:3]}")
    check(smp.max_holders <= 1, f"two hosts held the VIP at once: {smp.overlaps[:5]}")
    check(not bad, "the VIP left db1 during the leader changes: "
          + "; ".join(f"kill {k}: {holders_text(smp.timeline, t0, t1)}" for k, t0, t1 in windows))
    errs = [e for e in w.errors if e[0] >= t_start]
    gap, g0, _g1 = w.max_gap(t_start, t_end)
    step(f"writer: {w.acked_count()} INSERTs acknowledged, {len(errs)} failed since the first kill; "
         f"longest gap {gap * 1000:.0f} ms (at +{((g0 or t_start) - t_start) * 1000:.0f} ms); "
         f"sampler: {smp.samples} samples, holders {sorted(smp.holders_at_end())}")
    check(not errs, f"{len(errs)} INSERT(s) through the VIP failed during the leader changes: "
          f"{[e[2] for e in errs[:5]]}")
    check(not w.uncertain, f"INSERTs with unknown outcome: {w.uncertain[:10]}")
    check(w.servers_written() == [1], f"writes landed on servers {w.servers_written()}, not only db1")
    check(env.epoch() == 0, f"a failover happened (epoch {env.epoch()}): {short(env.failovers())}")


def kill_leader(env, k):
    """Kills the leader, waits for the new one to have renewed db1's lease and for the
    killed node to be back and caught up. Returns (k, kill time, end time)."""
    c = env.c
    lid = c.wait_leader(20)
    before = {i: first_renewals(env, i) for i in c.running_ids() if i != lid}
    t0 = time.monotonic()
    c.kill9(lid)
    new = c.wait_leader(20, nodes=[i for i in c.running_ids() if i != lid], exclude=(lid,))
    t_new = time.monotonic() - t0

    def held():
        v = c.metric(new, "failoverd_vip_held", cluster="demo", kind="writer")
        if v != 1:
            raise NotYet(f"failoverd_vip_held on node {new}: {v}")
        return True
    wait_for(held, 10, f"node {new} to confirm db1's lease")
    got = first_renewals(env, new) - before.get(new, 0)
    step(f"kill {k}: leader {lid} killed; node {new} leads (seen {t_new:.2f}s after the kill), "
         f"first-act renewals {got}")
    check(got >= 1, f"node {new} became leader without renewing the holder's lease as its first act")
    time.sleep(2 * LEASE_MS / 1000)  # any lapse would show within a lease of the kill
    c.start(lid)

    def follows():
        if c.leader_view(lid) != new:
            raise NotYet(f"node {lid} follows {c.leader_view(lid)}")
        return True
    wait_for(follows, 30, f"restarted node {lid} to follow {new}")
    c.wait_caught_up(lid, 30, reference=new)
    return k, t0, time.monotonic()


if __name__ == "__main__":
    skip_unless_netns("test_vip_leader_change")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
