"""A short, self-cleaning demonstration of the writer VIP moving on failover (issue 4),
for `./deploy/quickstart.sh vip-demo` (run as root).

It builds hosts as network namespaces on one bridge (rig.netns; the subnet
10.231.0.0/24 exists only inside them, nothing is added to the machine's own
network): db1..db3 each run mariadbd and failover-agent, c1..c3 run failoverd (mutual
TLS everywhere), cli is a client that only knows the VIP 10.231.0.100. It prints the
controllers' view, writes through the VIP, kills the primary's mariadbd with SIGKILL,
and prints the failover, where the VIP went and where the next write through the VIP
landed. Everything it started is stopped by pid and every namespace deleted at the end,
also on Ctrl-C or an error.

    python3 -m rig.vipdemo        (from tests/, with FO_BUILD_DIR pointing at a build)"""

import sys
import time

from rig.agents import AgentRig
from rig.failover import FailoverEnv, steps_line
from rig.netns import NetnsRig, available
from rig.util import NotYet, RigError, TestFailure, install_signal_handlers, wait_for
from rig.writer import connect_vip, create_table

VIP = "10.231.0.100"
PORT = 3306
HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3", "cli"]
DBH = {1: "db1", 2: "db2", 3: "db3"}


def say(msg):
    print(msg, flush=True)


def holder(agents):
    h = sorted(agents.holders(VIP))
    return ",".join(h) if h else "nobody"


def write_through_vip(env, net, tag):
    def once():
        try:
            conn, idx = connect_vip(env.db, net.ns("cli"), VIP, PORT, connect_timeout=0.3, rw_timeout=2.0)
        except Exception as e:  # noqa: BLE001 - not there yet
            raise NotYet(f"{type(e).__name__}: {e}") from None
        try:
            with conn.cursor() as cur:
                cur.execute("INSERT INTO fotest.w (id, server_id) VALUES (%s, @@server_id)", (tag,))
        except Exception as e:  # noqa: BLE001
            raise NotYet(f"{type(e).__name__}: {e}") from None
        finally:
            conn.close()
        return idx
    return wait_for(once, 15, "a write through the VIP", interval=0.01)


def demo(net):
    with FailoverEnv(db_port=PORT, ctl_port=7001, n_db=3, net=net, db_hosts=DBH,
                     ctl_hosts={1: "c1", 2: "c2", 3: "c3"}, db_opts=dict(same_port=True, bind_any=True),
                     probe=dict(interval_ms=500, connect_timeout_ms=500, read_timeout_ms=1000, down_after=3),
                     log_level="info",
                     extra_cluster=dict(vip=f"{VIP}/24", vip_interface="eth0", agent_port=7201,
                                        vip_lease_ms=2000)) as env:
        agents = AgentRig(net, DBH, "demo", f"{VIP}/24", certs=env.c.tls_dir, log_level="info")
        try:
            agents.start_all()
            env.wait_healthy(1, timeout=60)
            create_table(env.db, 1)
            def on_db1():
                if holder(agents) != "db1":
                    raise NotYet(f"VIP on {holder(agents)}")
                return True
            wait_for(on_db1, 30, "the VIP on db1")
            say(f"== hosts: {', '.join(f'{h}={net.addr(h)}' for h in HOSTS)}; VIP {VIP}/24")
            for args in (["status"], ["topology", "demo"]):
                res = env.c.ctl(args, json_out=False)
                say(f"== failoverctl {' '.join(args)}\n{res.stdout.rstrip()}\n")
            sid = write_through_vip(env, net, 1)
            say(f"== VIP {VIP} is on {holder(agents)}; a write from cli through it landed on server {sid}")
            say("== kill -9 of mariadbd on db1 (its agent keeps running)")
            t0 = time.monotonic()
            env.db.kill9(1)
            sid = write_through_vip(env, net, 2)
            t = time.monotonic() - t0
            f = env.failover(1, timeout=60)
            say(f"== failover: {steps_line(f)}")
            say(f"== VIP {VIP} is now on {holder(agents)}; the first write through it after the kill landed on "
                f"server {sid}, {t:.2f} s after the kill")
            res = env.c.ctl(["history", "demo", "--limit", "8"], json_out=False)
            say(f"== failoverctl history demo\n{res.stdout.rstrip()}")
        finally:
            agents.teardown()


def main():
    install_signal_handlers()
    ok, why_not = available()
    if not ok:
        print(f"vip-demo: network namespaces are not available here ({why_not})", file=sys.stderr)
        return 1
    try:
        with NetnsRig(HOSTS) as net:
            demo(net)
    except (RigError, TestFailure) as e:
        print(f"vip-demo: {e}", file=sys.stderr)
        return 1
    say("== done: every process stopped, every namespace deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
