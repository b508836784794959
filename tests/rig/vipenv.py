"""A cluster with a writer VIP in network namespaces: three db hosts (mariadbd on the
same port, bound to 0.0.0.0, and a failover-agent each that knows its local mysqld),
three controller hosts, and optionally a client host that reaches the databases only
through the VIP. Shared by the VIP tests (failover, lapse, stray holders).

    with NetnsRig(["db1", "db2", "db3", "c1", "c2", "c3", "cli"]) as net:
        with vip_cluster(net, db_port=26400, ctl_port=26410) as (env, agents):
            agents.start_all()
            vip_write(net, env, 26400, "tag")       # server_id that took the INSERT

lease_read_only=None writes no such line in the agents' configs: their default applies.
On failure the agents' log tails are printed; everything is stopped by pid."""

import contextlib

from rig.agents import AgentRig
from rig.failover import FailoverEnv
from rig.mariadb import _find
from rig.util import NotYet, wait_for

VIP = "10.231.0.100"
DBH = {1: "db1", 2: "db2", 3: "db3"}
CTLH = {1: "c1", 2: "c2", 3: "c3"}


@contextlib.contextmanager
def vip_cluster(net, db_port, ctl_port, lease_ms=2000, lease_read_only=None, vip=VIP, failover=None,
                semi_sync=False, cluster=None):
    """cluster: more keys of the cluster's section (e.g. co_primaries)."""
    failover = failover or dict(step_timeout_ms=8000, relay_wait_ms=5000)
    with FailoverEnv(db_port=db_port, ctl_port=ctl_port, n_db=3, net=net, db_hosts=DBH, ctl_hosts=CTLH,
                     db_opts=dict(same_port=True, bind_any=True), failover=failover, semi_sync=semi_sync,
                     extra_cluster=dict(vip=f"{vip}/24", vip_interface="eth0", agent_port=7201,
                                        vip_lease_ms=lease_ms, **(cluster or {}))) as env:
        agents = AgentRig(net, DBH, "demo", f"{vip}/24", certs=env.c.tls_dir, lease_read_only=lease_read_only,
                          mysql={i: (net.addr(h), db_port, "failoverd", env.db.password_file)
                                 for i, h in DBH.items()})
        try:
            yield env, agents
        except BaseException:
            agents.dump_logs(60)
            raise
        finally:
            agents.teardown()


def wait_holder(agents, host, timeout, what, vip=VIP):
    """Until `host` alone holds the VIP (polled every 20 ms)."""
    def ok():
        h = agents.holders(vip)
        if h != {host}:
            raise NotYet(f"VIP holders {sorted(h)}")
        return True
    wait_for(ok, timeout, what, interval=0.02)


def vip_write(net, env, port, tag, vip=VIP, host="cli"):
    """One INSERT through the VIP from `host`'s namespace, on a new connection, as the
    non-SUPER 'app' user; returns the server_id that took it (NotYet if it failed)."""
    r = net.run(host, [_find("mariadb"), "--no-defaults", "--protocol=tcp", "-h", vip, "-P", str(port),
                       "-u", "app", f"-p{env.db.passwords['app']}", "--connect-timeout=2", "--batch",
                       "--skip-column-names", "-e",
                       "CREATE DATABASE IF NOT EXISTS vipt; CREATE TABLE IF NOT EXISTS vipt.t "
                       f"(tag VARCHAR(64) PRIMARY KEY, sid INT); INSERT INTO vipt.t VALUES ('{tag}', @@server_id); "
                       "SELECT @@server_id"], timeout=10)
    if r.returncode != 0:
        raise NotYet(f"write through the VIP: {(r.stderr or r.stdout).strip()[:300]}")
    return int(r.stdout.strip().splitlines()[-1])
