#!/usr/bin/env python3
"""The writer VIP follows the primary through failover-agent, and is never held by
two hosts at once (issue 4, DESIGN.md §7).

Hosts in network namespaces on one bridge (tests/rig/netns.py; 10.231.0.0/24 exists
only inside them): db1..db3 (mariadbd on the same port, bound to 0.0.0.0, plus a
failover-agent each), c1..c3 (failoverd), cli (a client that only ever connects to
the VIP 10.231.0.100). A sampler reads every db host's addresses by rtnetlink every
20 ms for the whole test and records any moment two hosts hold the VIP.

  1. The VIP comes up on the primary's host; a write through the VIP lands on the
     primary.
  2. kill -9 of the primary's mariadbd (its agent stays up): failover; the VIP is
     released by the old host and acquired by the new primary (history shows a vip
     step); the client's next connection through the VIP writes to the new primary.
  3. The new primary's host is cut off completely (its eth0 down): its agent drops
     the VIP when the lease ends (nobody renews it) and, with lease_read_only = yes,
     sets its own mysqld read-only; the controllers fail over, the VIP moves on; the
     sampler never sees two holders. The host comes back: the VIP stays where it is.
  4. The holder's agent is restarted: it drops the VIP at start (it holds no lease),
     the leader notices on its next renewal and acquires it again on the same host;
     the agent's durable epoch survived the restart.

Skipped (exit 77, which ctest counts as skipped and CI as a failure) only when `ip netns add`
is not permitted.
Ports (inside the namespaces): mariadb 25500 on every db host; failoverd admin
25510+, raft 25530+, http 25550+; agents 7201, agent http 9601."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.agents import AgentRig, VipSampler  # noqa: E402
from rig.failover import FailoverEnv, steps_line  # noqa: E402
from rig.mariadb import _find  # noqa: E402
from rig.netns import NetnsRig, skip_unless_available as skip_unless_netns  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402
from rig.vipenv import wait_holder  # noqa: E402

DB_PORT = 25500
CTL_PORT = 25510
HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3", "cli"]
DBH = {1: "db1", 2: "db2", 3: "db3"}
VIP = "10.231.0.100"
LEASE_MS = 2000


def main():
    with NetnsRig(HOSTS) as net:
        run(net)


class Client:
    """Connects to the VIP from the cli namespace, a new connection per statement."""

    def __init__(self, net, env):
        self.net = net
        self.env = env
        self.bin = _find("mariadb")

    def sql(self, query, timeout=5):
        r = self.net.run("cli", [self.bin, "--no-defaults", "--protocol=tcp", "-h", VIP, "-P", str(DB_PORT),
                                 "-u", "app", f"-p{self.env.db.passwords['app']}", "--connect-timeout=2",
                                 "--batch", "--skip-column-names", "-e", query], timeout=timeout + 5)
        if r.returncode != 0:
            raise NotYet(f"through the VIP: {(r.stderr or r.stdout).strip()[:300]}")
        return r.stdout.strip()

    def write(self, tag):
        """Inserts a row through the VIP and returns the server_id that took it."""
        out = self.sql("CREATE DATABASE IF NOT EXISTS vipt; CREATE TABLE IF NOT EXISTS vipt.t "
                       "(tag VARCHAR(64) PRIMARY KEY, sid INT); "
                       f"INSERT INTO vipt.t VALUES ('{tag}', @@server_id); SELECT @@server_id")
        return int(out.splitlines()[-1])


def run(net):
    step(f"namespaces up: {', '.join(f'{h}={net.addr(h)}' for h in HOSTS)}")
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3, net=net, db_hosts=DBH,
                     ctl_hosts={1: "c1", 2: "c2", 3: "c3"}, db_opts=dict(same_port=True, bind_any=True),
                     failover=dict(step_timeout_ms=8000, relay_wait_ms=5000),
                     extra_cluster=dict(vip=f"{VIP}/24", vip_interface="eth0", agent_port=7201,
                                        vip_lease_ms=LEASE_MS)) as env:
        agents = AgentRig(net, DBH, "demo", f"{VIP}/24", certs=env.c.tls_dir, lease_read_only=True,
                          mysql={i: (net.addr(h), DB_PORT, "failoverd", env.db.password_file)
                                 for i, h in DBH.items()})
        try:
            run_with(net, env, agents)
        except BaseException:
            agents.dump_logs(60)
            raise
        finally:
            agents.teardown()


def run_with(net, env, agents):
    db = env.db
    cli = Client(net, env)
    agents.start_all()
    env.wait_healthy(1, [2, 3])

    # ---------------------------------------------------------------- 1. VIP on the primary
    wait_holder(agents, "db1", 20, "the VIP on db1, the primary's host")
    sid = wait_for(lambda: cli.write("first"), 10, "a write through the VIP")
    check(sid == 1, f"the write through the VIP landed on server {sid}, not the primary 1")
    step("VIP on db1; a write through it landed on server 1")

    with VipSampler(net, ["db1", "db2", "db3"], VIP) as sampler:
        # ------------------------------------------------------------ 2. kill -9 primary
        db.sync_all()
        t0 = time.monotonic()
        db.kill9(1)
        f = env.failover(1, timeout=60)
        p = env.index(f["new_primary"])
        step(f"failover: {steps_line(f)}")
        check("vip" in (f.get("steps") or ""), f"no vip step in the failover record: {f}")
        wait_holder(agents, DBH[p], 10, f"the VIP on {DBH[p]}, the new primary's host")
        t_vip = time.monotonic() - t0
        sid = wait_for(lambda: cli.write("after-kill"), 10, "a write through the VIP after the failover")
        t_write = time.monotonic() - t0
        check(sid == p, f"after the failover the VIP write landed on server {sid}, not the new primary {p}")
        step(f"kill -9 -> VIP on {DBH[p]} after {t_vip:.2f}s, first write through the VIP after {t_write:.2f}s")

        # ------------------------------------------------------------ 3. new primary's host cut off
        env.ack()
        q_candidates = [i for i in (2, 3) if i != p]
        for r in q_candidates:
            env.wait_caught_up(r, p, timeout=20)
        host = DBH[p]
        step(f"taking {host}'s link down (agent, mariadbd and VIP cut off from everyone)")
        t_cut = time.monotonic()
        net.run(host, ["ip", "link", "set", "eth0", "down"], check=True)

        def dropped():
            if VIP in agents.holders(VIP) or host in agents.holders(VIP):
                raise NotYet(f"{host} still holds the VIP")
            return True
        wait_for(dropped, LEASE_MS / 1000 + 3, f"{host}'s agent to drop the VIP when its lease ran out",
                 interval=0.02)
        t_drop = time.monotonic() - t_cut
        check(t_drop <= LEASE_MS / 1000 + 1.5, f"{host} dropped the VIP only {t_drop:.2f}s after the cut")
        step(f"{host} dropped the VIP {t_drop:.2f}s after the cut (lease {LEASE_MS} ms)")

        def fenced_itself():
            if not env.read_only(p):
                raise NotYet(f"{env.addr(p)} still writable")
            return True
        wait_for(fenced_itself, 5, f"{host}'s agent to set its mysqld read-only when the lease ran out "
                 "(lease_read_only = yes)")
        step(f"{host}'s agent set its own mysqld read_only=1 ({time.monotonic() - t_cut:.2f}s after the cut)")
        f2 = env.failover(2, timeout=60)
        q = env.index(f2["new_primary"])
        check(q != p, f"failover 2 promoted the cut host {host}")
        step(f"failover 2: {steps_line(f2)}")
        wait_holder(agents, DBH[q], 15, f"the VIP on {DBH[q]}")
        sid = wait_for(lambda: cli.write("after-cut"), 10, "a write through the VIP after failover 2")
        check(sid == q, f"after failover 2 the VIP write landed on server {sid}, not {q}")
        step(f"VIP on {DBH[q]} {time.monotonic() - t_cut:.2f}s after the cut; a write through it landed on {q}")
        net.run(host, ["ip", "link", "set", "eth0", "up"], check=True)
        net.run(host, ["ip", "route", "replace", f"{net.subnet}.0/24", "dev", "eth0"], check=False)
        time.sleep(3)
        check(agents.holders(VIP) == {DBH[q]}, f"after {host} came back: holders {agents.holders(VIP)}")
        step(f"{host} is back; the VIP stayed on {DBH[q]} only")

        # ------------------------------------------------------------ 4. agent restart on the holder
        aq = q
        rc = agents.stop(aq)
        check(rc == 0, f"failover-agent {aq} exited {rc} on SIGTERM")
        t_restart = time.monotonic()
        agents.start(aq)
        wait_holder(agents, DBH[q], LEASE_MS / 1000 + 5, f"the VIP back on {DBH[q]} after its agent restarted")
        step(f"agent on {DBH[q]} restarted; VIP held again after {time.monotonic() - t_restart:.2f}s")
        m = agents.metrics(aq)
        epoch = m.get(("failoverd_agent_epoch", 'cluster="demo"'))
        check(epoch == 2, f"agent {aq}'s epoch after restart is {epoch}, expected 2 (metrics {m})")
        sid = wait_for(lambda: cli.write("after-agent-restart"), 10, "a write through the VIP")
        check(sid == q, f"write through the VIP landed on {sid}, not {q}")

        sampler.stop()
        check(not sampler.errors, f"sampler errors: {sampler.errors[:3]}")
        check(sampler.samples > 100, f"only {sampler.samples} samples")
        check(sampler.max_holders <= 1, f"the VIP was held by two hosts at once: {sampler.overlaps[:5]}")
        step(f"sampler: {sampler.samples} samples, never more than one holder; timeline: "
             + ", ".join(f"{sorted(h) or '-'}" for _, h in sampler.timeline))

    def topo_vip():
        v = env.topo().get("vip") or {}
        if v.get("holder") != env.addr(q) or v.get("lease_confirmed") is not True or v.get("epoch") != 2:
            raise NotYet(f"topology vip: {v}")
        return v
    v = wait_for(topo_vip, 10, f"topology to show the VIP on {env.addr(q)} at epoch 2 with its lease confirmed")
    check(v.get("address") == f"{VIP}/24" and v.get("interface") == "eth0", f"topology vip: {v}")
    lid = env.c.wait_leader(5)
    held = env.c.metric(lid, "failoverd_vip_held", cluster="demo", kind="writer")
    check(held == 1, f"leader's failoverd_vip_held{{cluster=demo}} is {held}, expected 1")


if __name__ == "__main__":
    skip_unless_netns("test_vip")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
