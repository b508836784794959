#!/usr/bin/env python3
"""Reader VIPs (issue 4, MMM style): spread over healthy replicas, moved away from a
replica that stops replicating or dies, never on two hosts at once.

Hosts in network namespaces on one bridge (tests/rig/netns.py): db1..db3 (mariadbd on
one port, bound to 0.0.0.0, and a failover-agent each, allowed the writer VIP .100
and the reader VIPs .101 and .102), c1..c3 (failoverd), cli (a client). A sampler
reads every db host's addresses every 20 ms for the whole test.

  1. With db1 primary and db2, db3 replicating: the writer VIP is on db1, the reader
     VIPs on db2 and db3 (one each); a read through each reader VIP lands on the
     replica that holds it (@@server_id) and sees rows written through the writer VIP.
  2. The SQL thread of db3 is stopped (STOP SLAVE SQL_THREAD): db3 loses its reader VIP
     to db2 within a few seconds; the writer VIP does not move.
  3. db3 replicates again, then db2's mariadbd is killed: both reader VIPs end on db3.
  4. Never two holders for any VIP; topology lists the reader VIPs with their holders.

Skipped (exit 77, which ctest counts as skipped and CI as a failure) only when `ip netns add`
is not permitted.
Ports (inside the namespaces): mariadb 25600 on every db host; failoverd admin
25610+, raft 25630+, http 25650+; agents 7201, agent http 9601."""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.agents import AgentRig, VipSampler  # noqa: E402
from rig.failover import FailoverEnv  # noqa: E402
from rig.netns import NetnsRig, skip_unless_available as skip_unless_netns  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402
from rig.writer import connect_vip, create_table  # noqa: E402

DB_PORT = 25600
CTL_PORT = 25610
HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3", "cli"]
DBH = {1: "db1", 2: "db2", 3: "db3"}
WRITER = "10.231.0.100"
READERS = ["10.231.0.101", "10.231.0.102"]


def main():
    with NetnsRig(HOSTS) as net:
        run(net)


def holders(agents):
    """{vip: sorted list of hosts holding it}."""
    out = {}
    for v in [WRITER] + READERS:
        out[v] = sorted(agents.holders(v))
    return out


def wait_layout(agents, want, timeout, what):
    """want: {vip: host or a set of acceptable hosts}."""
    def ok():
        h = holders(agents)
        for v, w in want.items():
            acceptable = {w} if isinstance(w, str) else set(w)
            if len(h[v]) != 1 or h[v][0] not in acceptable:
                raise NotYet(f"holders {h}")
        return h
    return wait_for(ok, timeout, what, interval=0.05)


def read_via(env, net, vip):
    """(server index, rows in fotest.w) read through vip from cli."""
    conn, idx = connect_vip(env.db, net.ns("cli"), vip, DB_PORT, connect_timeout=1.0, rw_timeout=3.0)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM fotest.w")
            return idx, int(cur.fetchone()[0])
    finally:
        conn.close()


def run(net):
    step(f"namespaces up: {', '.join(f'{h}={net.addr(h)}' for h in HOSTS)}")
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3, net=net, db_hosts=DBH,
                     ctl_hosts={1: "c1", 2: "c2", 3: "c3"}, db_opts=dict(same_port=True, bind_any=True),
                     failover=dict(step_timeout_ms=8000, relay_wait_ms=5000),
                     extra_cluster={"vip": f"{WRITER}/24", "vip_interface": "eth0", "agent_port": 7201,
                                    "vip_lease_ms": 2000, "reader_max_lag_s": 10,
                                    "reader_vip": [f"{r}/24" for r in READERS]}) as env:
        agents = AgentRig(net, DBH, "demo", [f"{v}/24" for v in [WRITER] + READERS], certs=env.c.tls_dir)
        try:
            run_with(net, env, agents)
        except BaseException:
            agents.dump_logs(60)
            raise
        finally:
            agents.teardown()


def run_with(net, env, agents):
    db = env.db
    agents.start_all()
    env.wait_healthy(1, [2, 3])
    create_table(db, 1)
    conn, idx = wait_for(lambda: connect_vip(db, net.ns("cli"), WRITER, DB_PORT), 20, "a connection to the writer VIP")
    with conn.cursor() as cur:
        for i in range(1, 6):
            cur.execute("INSERT INTO fotest.w (id, server_id) VALUES (%s, @@server_id)", (i,))
    conn.close()
    check(idx == 1, f"the writer VIP led to server {idx}, not the primary 1")
    db.sync_all()

    with VipSampler(net, ["db1", "db2", "db3"], WRITER) as sw, \
            VipSampler(net, ["db1", "db2", "db3"], READERS[0]) as s0, \
            VipSampler(net, ["db1", "db2", "db3"], READERS[1]) as s1:
        # ------------------------------------------------------------ 1. spread
        h = wait_layout(agents, {WRITER: "db1", READERS[0]: {"db2", "db3"}, READERS[1]: {"db2", "db3"}}, 30,
                        "the writer VIP on db1 and the reader VIPs on the replicas")
        check(h[READERS[0]] != h[READERS[1]], f"both reader VIPs on one replica: {h}")
        for r in READERS:
            idx, n = read_via(env, net, r)
            check(DBH[idx] == holders(agents)[r][0], f"a read through {r} reached server {idx}, not its holder")
            check(n == 5, f"a read through {r} saw {n} rows, expected 5")
        step(f"spread: {h}; reads through each reader VIP reach its holder and see the 5 rows")

        # ------------------------------------------------------------ 2. replication stops on db3
        db.sql(3, "STOP SLAVE SQL_THREAD")
        h = wait_layout(agents, {WRITER: "db1", READERS[0]: "db2", READERS[1]: "db2"}, 20,
                        "db3's reader VIP to move to db2 once db3 stopped applying")
        step(f"db3's SQL thread stopped: {h}")

        # ------------------------------------------------------------ 3. db2 dies
        db.sql(3, "START SLAVE SQL_THREAD")
        env.wait_caught_up(3, 1, timeout=20)
        db.kill9(2)
        h = wait_layout(agents, {WRITER: "db1", READERS[0]: "db3", READERS[1]: "db3"}, 30,
                        "both reader VIPs on db3 once db2 is dead")
        idx, n = read_via(env, net, READERS[0])
        check(idx == 3 and n == 5, f"read through {READERS[0]}: server {idx}, {n} rows")
        step(f"db2 killed: {h}")

        topo = env.topo()
        rv = {x.get("address"): x.get("holder") for x in topo.get("reader_vips") or []}
        check(rv.get(f"{READERS[0]}/24") == env.addr(3) and rv.get(f"{READERS[1]}/24") == env.addr(3),
              f"topology reader_vips: {topo.get('reader_vips')}")
        check(env.failovers() == [], f"a replica's death caused a failover: {env.failovers()}")

        for name, s in (("writer", sw), ("reader 1", s0), ("reader 2", s1)):
            s.stop()
            check(not s.errors, f"{name} sampler errors: {s.errors[:3]}")
            check(s.max_holders <= 1, f"the {name} VIP was held by two hosts at once: {s.overlaps[:5]}")
        step(f"samplers: {sw.samples}/{s0.samples}/{s1.samples} samples, never two holders of a VIP")

    # The leader's /metrics with writer and reader VIP series is valid Prometheus text.
    lid = env.c.wait_leader(5)
    body = env.c.metrics_text(lid)
    for r in READERS:
        check(f'failoverd_vip_held{{cluster="demo",kind="reader",vip="{r}/24"}} 1' in body,
              f"no confirmed lease for reader VIP {r} in the leader's /metrics")
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and not (r.stdout + r.stderr).strip(), f"promtool check metrics: {r.stdout}{r.stderr}")
    step("leader's /metrics (writer and reader VIP series) passes promtool check metrics")


if __name__ == "__main__":
    skip_unless_netns("test_reader_vips")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
