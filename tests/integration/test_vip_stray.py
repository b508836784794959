#!/usr/bin/env python3
"""What the leader sees besides the leases (issue 8 item 11): a second, unleased holder
of the writer VIP is reported and removed, and a lapse of the holder's lease is
recorded in history.

Hosts in network namespaces on one bridge (tests/rig/netns.py, subnet 10.232.71.0/24,
which exists only inside them): db1..db3 (mariadbd on one port, bound to 0.0.0.0, and a
failover-agent each, allowed the writer VIP 10.232.71.100), c1..c3 (failoverd). A
sampler reads every db host's addresses by rtnetlink every 20 ms for the whole test and
records each moment two hosts hold the VIP (the rig's VipSampler: what `ip -n NS addr`
shows, without forking).

  1. The VIP is on db1, the primary's host, and topology says its lease is confirmed.
  2. The VIP is added by hand on db2 (`ip addr add` on its eth0, as an operator or a
     stray keepalived would): the leader's status poll of db2's agent finds it; `why`
     shows a "stray_vip" Decision naming db2; the leader sends db2's agent ReleaseVip
     and the address is gone. The sampler measures how long two hosts held it: at most
     the watch interval plus a margin. A "stray_vip_gone" Decision follows;
     /metrics counts the stray and the confirmed release; db1 kept the VIP throughout.
  3. A persistent stray: the VIP is re-added on db3 whenever it disappears, for a few
     seconds. Meanwhile topology must say the lease is NOT confirmed, naming db3, and
     the leader's failoverd_vip_strays gauge is 1. Once the re-adding stops, the address
     is removed and topology says "lease confirmed" again.
  4. The holder's agent is restarted (it drops the VIP and holds no lease): the leader
     re-acquires it on db1 and `why` shows a "vip_lapsed" Decision saying how long.

Skipped (exit 77) only when `ip netns add` is not permitted.
Ports (inside the namespaces): mariadb 27100 on every db host; failoverd admin 27110+,
raft 27130+, http 27150+; agents 7201, agent http 9601."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.agents import VipSampler  # noqa: E402
from rig.failover import short  # noqa: E402
from rig.netns import NetnsRig, skip_unless_available as skip_unless_netns  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402
from rig.vipenv import vip_cluster  # noqa: E402

DB_PORT = 27100
CTL_PORT = 27110
SUBNET = "10.232.71"
HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3"]
VIP = f"{SUBNET}.100"
LEASE_MS = 2000
WATCH_S = 1.0  # FO_VIPMGR_WATCH_MS (controller/vip/vipmgr.h)
# A stray is found by the next status poll (<= WATCH_S), released in one agent round
# trip; the margin covers a poll that had just been sent before the address appeared.
STRAY_BOUND_S = 2 * WATCH_S + 1.0


def main():
    with NetnsRig(HOSTS, subnet=SUBNET) as net:
        run(net)


def run(net):
    step(f"namespaces up: {', '.join(f'{h}={net.addr(h)}' for h in HOSTS)}")
    with vip_cluster(net, DB_PORT, CTL_PORT, lease_ms=LEASE_MS, vip=VIP) as (env, agents):
        run_with(net, env, agents)


def add_by_hand(net, host):
    """`ip addr add VIP/24 dev eth0` inside host; False if it was already there."""
    r = net.run(host, ["ip", "addr", "add", f"{VIP}/24", "dev", "eth0"], check=False)
    already = "File exists" in (r.stderr or "") or "already assigned" in (r.stderr or "")
    if r.returncode != 0 and not already:
        raise AssertionError(f"ip addr add on {host}: {(r.stderr or r.stdout).strip()}")
    return r.returncode == 0


def wait_holders(agents, want, timeout, what):
    def ok():
        h = agents.holders(VIP)
        if h != want:
            raise NotYet(f"VIP holders {sorted(h)}")
        return h
    return wait_for(ok, timeout, what, interval=0.02)


def topo_vip(env):
    return env.topo().get("vip") or {}


def leader_metric(env, name, **labels):
    lid = env.c.wait_leader(5)
    return env.c.metric(lid, name, **labels)


def overlap_episodes(sampler, since):
    """[(start, end)] monotonic spans during which two or more hosts held the VIP,
    from the sampler's change timeline (end None = still overlapping)."""
    out, start = [], None
    for t, holders in sampler.timeline:
        if t < since:
            continue
        if len(holders) > 1 and start is None:
            start = t
        elif len(holders) <= 1 and start is not None:
            out.append((start, t))
            start = None
    if start is not None:
        out.append((start, None))
    return out


def decision(env, verdict, host, since_wall_ms, timeout, what):
    addr = f"{env.net.addr(host)}:{DB_PORT}"
    return env.wait_decision(lambda d: d.get("verdict") == verdict and d.get("instance") == addr, timeout, what,
                             since_wall_ms=since_wall_ms)


def run_with(net, env, agents):
    agents.start_all()
    env.wait_healthy(1, [2, 3])

    # ---------------------------------------------------------------- 1. VIP on the primary
    wait_holders(agents, {"db1"}, 20, "the VIP on db1, the primary's host")

    def confirmed():
        v = topo_vip(env)
        if v.get("lease_confirmed") is not True:
            raise NotYet(f"topology vip: {v}")
        return v
    wait_for(confirmed, 10, "topology to say the VIP's lease is confirmed")
    step("VIP on db1; topology: lease confirmed")

    with VipSampler(net, ["db1", "db2", "db3"], VIP) as sampler:
        # ------------------------------------------------------------ 2. added by hand on db2
        wall0 = int(time.time() * 1000)
        t0 = time.monotonic()
        check(add_by_hand(net, "db2"), "the VIP was already on db2 before the test added it")
        d = decision(env, "stray_vip", "db2", wall0, 10, "a stray_vip decision naming db2")
        t_reported = time.monotonic() - t0
        check(VIP in d.get("reason", ""), f"the stray_vip reason does not name the VIP: {d}")
        step(f"reported {t_reported:.2f}s after the hand-made add: {d.get('reason')}")
        wait_holders(agents, {"db1"}, STRAY_BOUND_S + 3, "the hand-added VIP to be removed from db2")
        t_removed = time.monotonic() - t0
        time.sleep(0.1)  # one more sampler round after the removal
        eps = overlap_episodes(sampler, t0)
        check(len(eps) == 1 and eps[0][1] is not None, f"overlap episodes after the add: {eps}")
        held_twice = eps[0][1] - eps[0][0]
        check(held_twice <= STRAY_BOUND_S,
              f"db1 and db2 both held the VIP for {held_twice:.2f}s (bound {STRAY_BOUND_S:.1f}s)")
        check("db1" in sampler.holders_at_end(), f"db1 lost the VIP meanwhile: {sampler.timeline[-5:]}")
        step(f"removed from db2 {t_removed:.2f}s after the add; the sampler saw two holders for {held_twice:.2f}s "
             f"(bound {STRAY_BOUND_S:.1f}s)")
        g = decision(env, "stray_vip_gone", "db2", wall0, 5, "a stray_vip_gone decision naming db2")
        step(f"history: {g.get('reason')}")
        n = leader_metric(env, "failoverd_vip_strays_total")
        check(n is not None and n >= 1, f"leader's failoverd_vip_strays_total is {n}")
        ok = leader_metric(env, "failoverd_vip_stray_releases_total", result="ok")
        check(ok is not None and ok >= 1, f"leader's failoverd_vip_stray_releases_total{{result=ok}} is {ok}")
        wait_for(confirmed, 5, "topology to say the lease is confirmed once db2 no longer has the VIP")

        # ------------------------------------------------------------ 3. a persistent stray on db3
        stop = threading.Event()
        adds = []

        def keep_adding():
            while not stop.is_set():
                try:
                    if add_by_hand(net, "db3"):
                        adds.append(time.monotonic())
                except Exception as e:  # noqa: BLE001 - reported below
                    adds.append(repr(e))
                    return
                stop.wait(0.05)
        wall1 = int(time.time() * 1000)
        t1 = time.monotonic()
        th = threading.Thread(target=keep_adding, daemon=True)
        th.start()
        try:
            db3 = net.addr("db3")

            def not_confirmed():
                v = topo_vip(env)
                if v.get("lease_confirmed") is not False or db3 not in (v.get("error") or ""):
                    raise NotYet(f"topology vip: {v}")
                return v
            v = wait_for(not_confirmed, 10, "topology to say the lease is NOT confirmed, naming db3", interval=0.1)
            step(f"topology while db3 keeps the VIP: lease_confirmed=false, error: {v.get('error')}")

            def gauge():
                x = leader_metric(env, "failoverd_vip_strays", cluster="demo", kind="writer")
                if x != 1:
                    raise NotYet(f"failoverd_vip_strays = {x}")
                return x
            wait_for(gauge, 10, "the leader's failoverd_vip_strays{kind=writer} gauge to be 1", interval=0.1)
            decision(env, "stray_vip", "db3", wall1, 5, "a stray_vip decision naming db3")
            # Keep it up for a few watch rounds: each finds it again and releases it.
            stop.wait(max(0.0, t1 + 4 * WATCH_S - time.monotonic()))
        finally:
            stop.set()
            th.join(10)
        errors = [a for a in adds if isinstance(a, str)]
        check(not errors, f"adding the VIP by hand on db3: {errors[:3]}")
        check(len(adds) >= 3, f"the VIP was re-added on db3 only {len(adds)} time(s) in {4 * WATCH_S:.0f}s: the "
              "controller did not keep removing it")
        t_stop = time.monotonic()
        wait_holders(agents, {"db1"}, STRAY_BOUND_S + 3, "the VIP removed from db3 once nobody re-adds it")
        step(f"db3: re-added {len(adds)} times in {t_stop - t1:.1f}s, each time removed again; gone "
             f"{time.monotonic() - t_stop:.2f}s after the re-adding stopped")
        wait_for(confirmed, STRAY_BOUND_S + 5, "topology to say the lease is confirmed again")

        def gauge0():
            x = leader_metric(env, "failoverd_vip_strays", cluster="demo", kind="writer")
            if x != 0:
                raise NotYet(f"failoverd_vip_strays = {x}")
            return True
        wait_for(gauge0, STRAY_BOUND_S + 5, "the leader's failoverd_vip_strays gauge back to 0")
        step("topology: lease confirmed again; failoverd_vip_strays = 0")

        sampler.stop()
        check(not sampler.errors, f"sampler errors: {sampler.errors[:3]}")
        check(sampler.samples > 100, f"only {sampler.samples} samples")
        check(all("db1" in h for _, h in sampler.timeline),
              f"db1, the holder, lost the VIP while strays were removed: "
              f"{[(round(t - t0, 2), sorted(h)) for t, h in sampler.timeline]}")
        step(f"sampler: {sampler.samples} samples; db1 held the VIP throughout")

    # ---------------------------------------------------------------- 4. a lapse is recorded
    wall2 = int(time.time() * 1000)
    rc = agents.stop(1)
    check(rc == 0, f"failover-agent 1 exited {rc} on SIGTERM")
    agents.start(1)
    wait_holders(agents, {"db1"}, LEASE_MS / 1000 + 5, "the VIP back on db1 after its agent restarted")
    d = decision(env, "vip_lapsed", "db1", wall2, 10, "a vip_lapsed decision naming db1")
    check("re-acquired" in d.get("reason", "") and " ms " in d.get("reason", ""),
          f"the vip_lapsed reason does not say how long: {d}")
    n = leader_metric(env, "failoverd_vip_lapses_total")
    check(n is not None and n >= 1, f"leader's failoverd_vip_lapses_total is {n}")
    step(f"agent restart on db1: {d.get('reason')}")
    check(env.failovers() == [], f"a stray or a lapse caused a failover: {short(env.failovers())}")


if __name__ == "__main__":
    skip_unless_netns("test_vip_stray")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
