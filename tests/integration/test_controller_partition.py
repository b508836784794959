#!/usr/bin/env python3
"""No write outage from a controller-only partition (issue 11 item 3; DESIGN.md §7,
docs/relayed-lease.md): the writer VIP's lease is renewed through the replicas'
agents while the leader cannot reach the primary's host.

Hosts in network namespaces (addresses in 10.236.57.0/24 that exist only inside
them): db1 (primary), db2, db3 (GTID replicas), each with mariadbd and a
failover-agent (TLS, agent certificates); c1, c2, c3 (failoverd); cli, a client that
writes through the writer VIP only.
  1. Cut c1, c2, c3 from db1 (both ways) for 20 s while db2, db3 and cli still reach
     it. Expected: no failover (the replicas still replicate: unreachable_primary),
     the VIP on db1 alone at every 20 ms sample, no failed INSERT through the VIP, the
     leader counts relayed renewals (failoverd_vip_relayed_renewals_total{result="ok"}),
     db1's agent accepted them, and `why` records vip_relayed. Then heal: the leader
     renews directly again (vip_relay_ended).
  2. Cut db1 from everything (controllers, replicas, client): no relay can reach it,
     its lease runs out, and the failover happens as it would without relays: the VIP
     moves to the new primary, never two holders at once, writes resume through the
     VIP.

Without relays (before this change) step 1 fails: db1's agent drops the VIP about 2 s
into the cut and writes through the VIP fail for the rest of it.

Ports (inside the namespaces): mariadb 29300 on every db host; failoverd admin 29310+,
raft 29330+, http 29350+; agents 7201, agent http 9601.
Skipped (exit 77) only when network namespaces or PyMySQL are not available."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.agents import AgentRig, VipSampler  # noqa: E402
from rig.failover import FailoverEnv, short  # noqa: E402
from rig.netns import NetnsRig, skip_unless_available as skip_unless_netns  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402
from rig.writer import Writer, connect_vip, create_table, require_pymysql  # noqa: E402

SUBNET = "10.236.57"
VIP = f"{SUBNET}.100"
DB_PORT = 29300
CTL_PORT = 29310
HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3", "cli"]
DBH = {1: "db1", 2: "db2", 3: "db3"}
CTLH = {1: "c1", 2: "c2", 3: "c3"}
LEASE_MS = 2000
HOLD_S = 20
SAMPLE_S = 0.02


def main():
    require_pymysql()
    with NetnsRig(HOSTS, subnet=SUBNET) as net:
        run(net)


def run(net):
    env_cm = FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3, net=net, db_hosts=DBH, ctl_hosts=CTLH,
                         db_opts=dict(same_port=True, bind_any=True),
                         failover=dict(step_timeout_ms=8000, relay_wait_ms=5000),
                         extra_cluster=dict(vip=f"{VIP}/24", vip_interface="eth0", agent_port=7201,
                                            vip_lease_ms=LEASE_MS))
    with env_cm as env:
        agents = AgentRig(net, DBH, "demo", f"{VIP}/24", certs=env.c.tls_dir,
                          mysql={i: (net.addr(h), DB_PORT, "failoverd", env.db.password_file)
                                 for i, h in DBH.items()})
        try:
            agents.start_all()
            env.wait_healthy(1, [2, 3])
            controller_only(net, env, agents)
            host_cut_off(net, env, agents)
        except BaseException:
            agents.dump_logs(60)
            raise
        finally:
            agents.teardown()


def leader_metric(env, name, **labels):
    lid = env.c.wait_leader(10)
    v = env.c.metric(lid, name, **labels)
    return float(v) if v is not None else 0.0


def agent_metric(agents, i, name, labels):
    return agents.metrics(i).get((name, labels), 0.0)


def on_only(agents, host):
    def ok():
        h = agents.holders(VIP)
        if h != {host}:
            raise NotYet(f"VIP holders {sorted(h)}")
        return True
    return ok


def vip_writer(env, net):
    db = env.db
    return Writer(db, lambda: [1, 2, 3], interval=0.01, name="vip-writer", connect_timeout=1.0, rw_timeout=3.0,
                  connect_fn=lambda _i, ct, rt: connect_vip(db, net.ns("cli"), VIP, DB_PORT, ct, rt))


# ---------------------------------------------------------------- 1. controllers only

def controller_only(net, env, agents):
    db = env.db
    wait_for(on_only(agents, "db1"), 30, "the writer VIP on db1")
    create_table(db, 1)
    wait_for(lambda: connect_vip(db, net.ns("cli"), VIP, DB_PORT)[0].close() or True, 20,
             "a connection through the VIP")
    since = int(time.time() * 1000)
    relayed_before = leader_metric(env, "failoverd_vip_relayed_renewals_total", result="ok")
    w = vip_writer(env, net)
    with VipSampler(net, ["db1", "db2", "db3"], VIP, interval=SAMPLE_S) as smp:
        w.start()
        try:
            w.wait_acks(20, timeout=20)
            step(f"cutting c1, c2, c3 from db1 for {HOLD_S} s (db2, db3 and cli still reach it)")
            for c in CTLH.values():
                net.cut(c, "db1", both=True)
            t_cut = time.monotonic()
            try:
                env.wait_no_failover(HOLD_S, epoch_before=0, what="controllers cut from db1")
                t_end = time.monotonic()
                relayed = leader_metric(env, "failoverd_vip_relayed_renewals_total", result="ok") - relayed_before
            finally:
                step("healing the cut")
                for c in CTLH.values():
                    net.heal(c, "db1", both=True)
            w.wait_acks(20, timeout=20)
        finally:
            w.stop()
        smp.stop()

    bad = [(round((t - t_cut) * 1000), sorted(h)) for t, h in smp.timeline if t >= t_cut and h != frozenset({"db1"})]
    errs = [e for e in w.errors if e[0] >= t_cut]
    gap, g0, _ = w.max_gap(t_cut, t_end)
    accepted = agent_metric(agents, 1, "failoverd_agent_relayed_renewals_total", 'result="ok"')
    step(f"during the cut: {w.acked_count()} INSERTs acknowledged in all, {len(errs)} failed; longest gap "
         f"{gap * 1000:.0f} ms (at +{((g0 or t_cut) - t_cut) * 1000:.0f} ms); {smp.samples} samples; relayed "
         f"renewals: leader {relayed:.0f} ok, db1's agent accepted {accepted:.0f}")
    check(not smp.errors, f"the sampler could not read addresses: {smp.errors[:3]}")
    check(smp.max_holders <= 1, f"two hosts held the VIP at once: {smp.overlaps[:5]}")
    check(not bad, f"the VIP was not on db1 alone during the cut: {bad[:10]}")
    check(not errs, f"{len(errs)} INSERT(s) through the VIP failed during the cut: {[e[2] for e in errs[:5]]}")
    check(not w.uncertain, f"INSERTs with unknown outcome: {w.uncertain[:10]}")
    check(w.servers_written() == [1], f"writes landed on servers {w.servers_written()}, not only db1")
    check(relayed >= HOLD_S, f"only {relayed:.0f} relayed renewals in {HOLD_S} s")
    check(accepted >= relayed * 0.9, f"db1's agent accepted {accepted:.0f} of {relayed:.0f} relayed renewals")
    check(env.epoch() == 0, f"a failover happened (epoch {env.epoch()}): {short(env.failovers())}")
    d = env.wait_decision(lambda d: d.get("verdict") == "vip_relayed", 10, "a vip_relayed decision",
                          since_wall_ms=since)
    step(f"decision: {d.get('reason')!r}")
    d = env.wait_decision(lambda d: d.get("verdict") == "vip_relay_ended", 15, "a vip_relay_ended decision",
                          since_wall_ms=since)
    step(f"decision: {d.get('reason')!r}")
    n = len([d for d in env.decisions() if d.get("verdict") == "vip_relayed" and (d.get("wall_ms") or 0) >= since])
    check(n == 1, f"vip_relayed recorded {n} times for one partition (deduplicated: once)")


# ---------------------------------------------------------------- 2. host cut off

def host_cut_off(net, env, agents):
    wait_for(on_only(agents, "db1"), 30, "the writer VIP on db1 after the heal")
    env.wait_healthy(1, [2, 3])
    w = vip_writer(env, net)
    with VipSampler(net, ["db1", "db2", "db3"], VIP, interval=SAMPLE_S) as smp:
        w.start()
        try:
            w.wait_acks(10, timeout=20)
            step("cutting db1 from every host (controllers, replicas, client)")
            for h in HOSTS:
                if h != "db1":
                    net.cut(h, "db1", both=True)
            t_cut = time.monotonic()
            f = env.failover_after(0, timeout=60)
            t_fo = time.monotonic() - t_cut
            new = env.index(f.get("new_primary") or "")
            check(new in (2, 3), f"failover record names new primary {f.get('new_primary')!r}")
            wait_for(on_only(agents, DBH[new]), 30, f"the writer VIP on {DBH[new]}")
            t_vip = time.monotonic() - t_cut
            n0 = w.acked_count()
            w.wait_acks(n0 + 10, timeout=30)
        finally:
            w.stop()
            for h in HOSTS:
                if h != "db1":
                    net.heal(h, "db1", both=True)
        smp.stop()
    step(f"failover {t_fo:.1f} s after the cut, VIP on {DBH[new]} {t_vip:.1f} s after it; writes resumed on "
         f"{w.servers_written()}; sampler {smp.samples} samples")
    check(smp.max_holders <= 1, f"two hosts held the VIP at once: {smp.overlaps[:5]}")
    check(new in w.servers_written(), f"no write through the VIP reached the new primary {new}")
    check(f.get("result") in ("success", None), f"failover result {f.get('result')!r}")


if __name__ == "__main__":
    skip_unless_netns("test_controller_partition")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
