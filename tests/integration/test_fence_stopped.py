#!/usr/bin/env python3
"""A SIGSTOPped primary is fenced by its agent killing it (issue 11,
docs/fence-stopped.md, agent config fence_kill_stopped).

Hosts in network namespaces on one bridge (tests/rig/netns.py, subnet 10.237.53.0/24,
which exists only inside them): db1..db3 (mariadbd on the same port, bound to 0.0.0.0,
and a failover-agent each with a [mysql] section), c1..c3 (failoverd). The writer VIP
is 10.237.53.100. Two samplers run every 20 ms during each fault: the db hosts'
addresses (rtnetlink) and @@read_only of every running server.

  1. fence_kill_stopped unset (default yes): SIGSTOP the primary's mysqld. The failover
     succeeds; the old primary's agent killed the stopped mysqld (its process is gone,
     the agent log and the failover history say so); the controllers did not wait for
     their own SQL fence's connect timeout (the fence step is short); never two VIP
     holders, never two writable servers.
  2. The killed mysqld is started again writable (read_only=0, as after a crash under
     a supervisor): the agent's restart watch fences it (read_only=1) and the
     controllers rejoin it as a replica of the new primary. The time it was writable
     is printed.
  3. The new primary's agent is restarted with fence_kill_stopped = no, and that
     primary is SIGSTOPped: the failover takes the old path (no kill: the process is
     still there, stopped; the fence step waits for the SQL fence's timeout); never
     two holders, never two writable servers. SIGCONT: it comes back read-only and
     rejoins.

Skipped (exit 77) when `ip netns add` is not permitted or PyMySQL is missing.
Ports (inside the namespaces): mariadb 28900 on every db host; failoverd admin
28910+, raft 28930+, http 28950+; agents 7201, agent http 9601."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.agents import AgentRig, VipSampler  # noqa: E402
from rig.failover import FailoverEnv, parse_steps, steps_line  # noqa: E402
from rig.netns import NetnsRig, skip_unless_available as skip_unless_netns  # noqa: E402
from rig.sampler import WritableSampler  # noqa: E402
from rig.util import NotYet, check, run_test, step, tail, wait_for  # noqa: E402

DB_PORT = 28900
CTL_PORT = 28910
SUBNET = "10.237.53"
VIP = f"{SUBNET}.100"
HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3"]
DBH = {1: "db1", 2: "db2", 3: "db3"}
CTLH = {1: "c1", 2: "c2", 3: "c3"}
# The controllers' SQL fence waits this long on a hung server's connect
# (failoverd's [probe] connect_timeout_ms, the rig's default).
CONNECT_MS = 500


class Agents(AgentRig):
    """AgentRig whose [mysql] sections carry fence_kill_stopped for the agents listed in
    kill_stopped ({index: "yes"|"no"}); the others get no line (the default, yes)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.kill_stopped = {}

    def write_config(self, i):
        super().write_config(i)
        if i not in self.kill_stopped:
            return
        with open(self.conf_path(i)) as f:
            text = f.read()
        check("[mysql]\n" in text, f"agent {i} config has no [mysql] section:\n{text}")
        text = text.replace("[mysql]\n", f"[mysql]\nfence_kill_stopped = {self.kill_stopped[i]}\n", 1)
        with open(self.conf_path(i), "w") as f:
            f.write(text)


def holder_is(agents, host):
    def ok():
        held = agents.holders(VIP)
        if held != {host}:
            raise NotYet(f"VIP holders {sorted(held)}")
        return True
    return ok


def stopped_fault(env, agents, net, old, epoch, timeout=60):
    """SIGSTOPs server old's mysqld with both samplers running; returns the failover
    record of epoch and the samplers."""
    db = env.db
    hosts = list(DBH.values())
    with VipSampler(net, hosts, VIP) as vs, WritableSampler(db) as ws:
        time.sleep(0.2)
        step(f"SIGSTOP primary {env.addr(old)} (pid {db.servers[old].proc.pid})")
        t0 = time.monotonic()
        db.pause(old)
        f = env.failover(epoch, timeout=timeout)
        new = env.index(f.get("new_primary"))
        wait_for(holder_is(agents, DBH[new]), 20, f"the VIP on {DBH[new]}")
        step(f"failover {time.monotonic() - t0:.1f}s after SIGSTOP: {steps_line(f)}")
        time.sleep(0.3)
    check(not vs.errors, f"VIP sampler errors: {vs.errors[:3]}")
    check(vs.max_holders <= 1, f"two VIP holders at once: {vs.overlaps[:5]}")
    check(ws.max_writable <= 1, f"two writable servers at once: {ws.describe()}")
    step(f"samplers: {vs.samples} VIP samples (max holders {vs.max_holders}), {ws.samples} read_only samples "
         f"(max writable {ws.max_writable})")
    return f, new


def main():
    with NetnsRig(HOSTS, subnet=SUBNET) as net:
        with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3, net=net, db_hosts=DBH, ctl_hosts=CTLH,
                         db_opts=dict(same_port=True, bind_any=True),
                         failover=dict(step_timeout_ms=8000, relay_wait_ms=5000),
                         extra_cluster=dict(vip=f"{VIP}/24", vip_interface="eth0", agent_port=7201,
                                            vip_lease_ms=2000)) as env:
            agents = Agents(net, DBH, "demo", f"{VIP}/24", certs=env.c.tls_dir, log_level="info",
                            mysql={i: (net.addr(h), DB_PORT, "failoverd", env.db.password_file)
                                   for i, h in DBH.items()})
            try:
                run(env, agents, net)
            except BaseException:
                agents.dump_logs(60)
                raise
            finally:
                agents.teardown()


def run(env, agents, net):
    db = env.db
    agents.start_all()
    env.wait_healthy(1, [2, 3], timeout=60)
    wait_for(holder_is(agents, "db1"), 30, "the VIP on db1")

    # 1. Stopped primary, default config: killed by its agent.
    f, new = stopped_fault(env, agents, net, 1, 1)
    env.check_record(f, 1, "auto", old=1, new=new)
    steps = parse_steps(f.get("steps"))
    check(not db.running(1), f"the stopped mysqld of {env.addr(1)} is still there: its agent did not kill it")
    log1 = tail(agents.log_path(1), 200)
    check("was stopped (state T): killed with SIGKILL" in log1,
          f"agent 1's log does not say it killed the stopped mysqld:\n{log1}")
    hist = json.dumps(env.history()) + json.dumps(env.why())
    check("was stopped (state T): killed" in hist, f"history/why do not say the stopped mysqld was killed: {hist[:3000]}")
    check(steps.get("fence", 1e9) < CONNECT_MS - 100,
          f"fence step {steps.get('fence')} ms: the controllers waited for their SQL fence's connect timeout")
    step(f"the agent killed the stopped mysqld; fence step {steps.get('fence'):.0f} ms")

    # 2. The killed mysqld comes back writable: the restart watch fences it.
    other = 5 - new
    db.servers[1].read_only = False  # as a supervisor would start it after a crash
    t0 = time.monotonic()
    db.start(1)
    t_up = time.monotonic()

    def fenced():
        if not env.read_only(1):
            raise NotYet(f"{env.addr(1)} still writable")
        return True
    wait_for(fenced, 15, f"the restarted {env.addr(1)} to be fenced by its agent")
    t_ro = time.monotonic()
    wait_for(lambda: "a mysqld came back on port" in tail(agents.log_path(1), 200), 10,
             "agent 1 to log that it fenced the restarted mysqld")
    step(f"restarted {env.addr(1)}: ready after {t_up - t0:.2f}s, read_only=1 at most {t_ro - t_up:.2f}s later "
         "(the agent's restart watch)")
    wait_for(lambda: env.replicates_from(1, new), 30, f"{env.addr(1)} to rejoin as a replica of {env.addr(new)}")
    env.wait_healthy(new, [1, other], timeout=30)
    env.check_one_writable(new)
    env.ack()

    # 3. fence_kill_stopped = no on the new primary's host: the old path (wait).
    agents.kill_stopped[new] = "no"
    agents.stop(new)
    agents.start(new)
    wait_for(holder_is(agents, DBH[new]), 30, f"the VIP back on {DBH[new]} after its agent's restart")
    env.wait_healthy(new, [1, other], timeout=30)
    pid = db.servers[new].proc.pid
    try:
        f2, new2 = stopped_fault(env, agents, net, new, 2)
        steps2 = parse_steps(f2.get("steps"))
        check(db.running(new), f"{env.addr(new)}'s mysqld is gone although fence_kill_stopped = no")
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(") ", 1)[1][0]
        check(state == "T", f"{env.addr(new)}'s mysqld pid {pid} in state {state!r}, expected T (still stopped)")
        check("killed with SIGKILL" not in tail(agents.log_path(new), 200), "the agent killed with fence_kill_stopped = no")
        check(steps2.get("fence", 0) >= CONNECT_MS - 50,
              f"fence step {steps2.get('fence')} ms: it did not wait for the SQL fence as before")
        step(f"fence_kill_stopped = no: not killed (state T), fence step {steps2.get('fence'):.0f} ms (waited)")
    finally:
        db.resume(new)
    wait_for(lambda: env.read_only(new), 20, f"the woken-up {env.addr(new)} to be read-only")
    wait_for(lambda: env.replicates_from(new, new2), 30, f"{env.addr(new)} to rejoin as a replica of {env.addr(new2)}")
    env.check_one_writable(new2)


if __name__ == "__main__":
    skip_unless_netns("test_fence_stopped")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
