#!/usr/bin/env python3
"""Binlog salvage without semi-sync (issue 13 items 1 and 4, docs/binlog-salvage.md).

Hosts in network namespaces on one bridge (tests/rig/netns.py, subnet 10.244.13.0/24,
which exists only inside them): db1..db3 (mariadbd on the same port, bound to 0.0.0.0,
asynchronous replication, a failover-agent each with a [mysql] section naming its
server's binlog index), c1..c3 (failoverd). The writer VIP is 10.244.13.100.

  1. Host up: every replica's IO thread is stopped (STOP SLAVE IO_THREAD) while the
     primary takes N separate transactions, so no replica has them; kill -9 of the
     primary's mysqld, its host and agent alive. The failover salvages the N
     transactions through the agent and applies them to the chosen replica before it
     opens for writes: every committed row is on the new primary, the other survivor
     replicates from it, and all GTID positions agree (the salvaged GTIDs keep the old
     primary's server id). History (failoverctl history) records the count and range.
     The old primary, started again writable (as a supervisor would), is fenced by its
     agent's restart watch (armed by the salvage) and rejoins with no errant GTID.
  2. Salvage cap exceeded: the new primary's agent runs with salvage_max_bytes = 4096;
     K transactions are written with the IO threads stopped, then kill -9. The
     failover completes within the step bound and records what was given up and the
     transactions possibly lost.
  3. Host down: the next primary's agent is stopped too before kill -9. The failover
     completes and records "salvage impossible" with the number of possibly lost
     transactions (from the old primary's last probed position).

Skipped (exit 77) when `ip netns add` is not permitted. Ports (inside the namespaces):
mariadb 34900 on every db host; failoverd admin 34910+, raft 34930+, http 34950+; agents
7201, agent http 9601."""

import os
import re
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.agents import AgentRig, in_netns  # noqa: E402
from rig.failover import FailoverEnv, parse_steps, steps_line  # noqa: E402
from rig.netns import NetnsRig, skip_unless_available as skip_unless_netns  # noqa: E402
from rig.pbwire import f_bytes, f_varint, frame, parse  # noqa: E402
from rig.util import NotYet, check, run_test, step, tail, wait_for  # noqa: E402
from rig.writer import create_table, ids_on  # noqa: E402

DB_PORT = 34900
CTL_PORT = 34910
SUBNET = "10.244.13"
VIP = f"{SUBNET}.100"
HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3"]
DBH = {1: "db1", 2: "db2", 3: "db3"}
CTLH = {1: "c1", 2: "c2", 3: "c3"}
STEP_MS = 8000
N1 = 700  # transactions only the old primary has, scenario 1 (> 512 KiB of text: two chunks)
FO_EINVAL, FO_ENOTFOUND, FO_EBUSY, FO_ESTALE = 2, 10, 19, 20
N2 = 200  # scenario 2 (cap)
N3 = 40   # scenario 3 (host down)


class Agents(AgentRig):
    """AgentRig whose [mysql] sections name the server's binlog index, plus extra
    [mysql] lines per agent (extra = {index: ["salvage_max_bytes = 4096"]})."""

    def __init__(self, *a, datadirs=None, **kw):
        super().__init__(*a, **kw)
        self.datadirs = datadirs or {}
        self.extra = {}

    def write_config(self, i):
        super().write_config(i)
        with open(self.conf_path(i)) as f:
            text = f.read()
        check("[mysql]\n" in text, f"agent {i} config has no [mysql] section:\n{text}")
        lines = [f"binlog_index = {self.datadirs[i]}/mysql-bin.index"] + self.extra.get(i, [])
        text = text.replace("[mysql]\n", "[mysql]\n" + "".join(x + "\n" for x in lines), 1)
        with open(self.conf_path(i), "w") as f:
            f.write(text)


def salvage_call(env, net, i, cluster, epoch, start, offset=0):
    """One SalvageBinlog (proto/agent.proto, field 10) to agent i from controller host c1,
    with controller 1's certificate; returns (code, error)."""
    body = f_bytes(1, cluster) + f_varint(2, epoch) + f_bytes(3, start) + f_varint(4, offset)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(env.c.tls_dir, "ca.crt"))
    ctx.load_cert_chain(os.path.join(env.c.tls_dir, "ctl1.crt"), os.path.join(env.c.tls_dir, "ctl1.key"))
    addr = net.addr(DBH[i])
    raw = in_netns(net.ns("c1"), lambda: socket.create_connection((addr, 7201), timeout=5))
    s = ctx.wrap_socket(raw, server_hostname=addr)
    try:
        s.sendall(frame(f_varint(1, 1) + f_bytes(10, body)))
        buf = b""
        while len(buf) < 8 or len(buf) < 8 + struct.unpack(">I", buf[4:8])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the agent")
            buf += chunk
        msg = parse(buf[8:])
        return msg.get(2, [0])[0], msg.get(3, [b""])[0].decode()
    finally:
        s.close()


def write_rows(db, i, first, n):
    """n separate autocommit INSERTs on server i (n transactions, n GTIDs)."""
    stmts = " ".join(f"INSERT INTO fotest.w (id, server_id) VALUES ({k}, @@server_id);"
                     for k in range(first, first + n))
    db.sql(i, stmts)
    return set(range(first, first + n))


def stop_io(db, replicas):
    for r in replicas:
        db.sql(r, "STOP SLAVE IO_THREAD")


def gtid_binlog(db, i):
    return db.scalar(i, "SELECT @@gtid_binlog_pos")


def salvage_text(env, epoch):
    """The end's detail of failover epoch (failoverctl history), which carries the
    salvage's outcome."""
    for f in env.failovers():
        if int(f.get("epoch", 0)) == epoch:
            return str(f.get("detail", ""))
    return ""


def survivors_agree(env, primary, replicas, tag):
    db = env.db
    env.write_marker(primary, tag)
    for r in replicas:
        wait_for(lambda r=r: env.replicates_from(r, primary), 30, f"{env.addr(r)} to replicate from {env.addr(primary)}")
        env.wait_caught_up(r, primary, timeout=30)
    pos = {i: gtid_binlog(db, i) for i in [primary] + replicas}
    cur = {i: db.scalar(i, "SELECT @@gtid_current_pos") for i in replicas}
    check(len(set(pos.values())) == 1, f"gtid_binlog_pos differ: {pos}")
    for r in replicas:
        check(cur[r] == pos[primary], f"{env.addr(r)} gtid_current_pos {cur[r]} != primary's {pos[primary]}")
    return pos[primary]


def kill_and_fail_over(env, old, epoch, replicas, n, first, stop_agent=None):
    db = env.db
    create_ok = ids_on(db, old)
    stop_io(db, replicas)
    before = {r: db.scalar(r, "SELECT @@gtid_current_pos") for r in replicas}
    rows = write_rows(db, old, first, n)
    old_pos = gtid_binlog(db, old)
    for r in replicas:
        check(db.scalar(r, "SELECT @@gtid_current_pos") == before[r], f"{env.addr(r)} received writes: IO not stopped")
    # Let the controllers' probe see the final position (the possibly-lost count uses it).
    time.sleep(1.2)
    if stop_agent is not None:
        stop_agent()
    step(f"{n} transactions on {env.addr(old)} only (binlog {old_pos}; replicas {before}); kill -9 its mysqld")
    t0 = time.monotonic()
    db.kill9(old)
    f = env.failover(epoch, timeout=60)
    took = time.monotonic() - t0
    new = env.index(f.get("new_primary"))
    step(f"failover {epoch} done {took:.2f}s after the kill: {steps_line(f)}")
    return f, new, rows | create_ok, old_pos, took


def main():
    with NetnsRig(HOSTS, subnet=SUBNET) as net:
        with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3, net=net, db_hosts=DBH, ctl_hosts=CTLH,
                         db_opts=dict(same_port=True, bind_any=True),
                         failover=dict(step_timeout_ms=STEP_MS, relay_wait_ms=5000),
                         extra_cluster=dict(vip=f"{VIP}/24", vip_interface="eth0", agent_port=7201,
                                            vip_lease_ms=2000)) as env:
            agents = Agents(net, DBH, "demo", f"{VIP}/24", certs=env.c.tls_dir, log_level="info",
                            mysql={i: (net.addr(h), DB_PORT, "failoverd", env.db.password_file)
                                   for i, h in DBH.items()},
                            datadirs={i: env.db.servers[i].datadir for i in DBH})
            try:
                run(env, agents)
            except BaseException:
                agents.dump_logs(60)
                raise
            finally:
                agents.teardown()


def run(env, agents):
    db = env.db
    agents.start_all()
    env.wait_healthy(1, [2, 3], timeout=60)
    create_table(db, 1)
    db.sync_all()

    # 1. Host up: salvaged.
    f, new, rows, old_pos, took = kill_and_fail_over(env, 1, 1, [2, 3], N1, 1000)
    env.check_record(f, 1, "auto", old=1, new=new)
    other = 5 - new
    missing = rows - ids_on(db, new)
    check(not missing, f"{len(missing)} committed rows missing on the new primary {env.addr(new)}: "
                       f"{sorted(missing)[:10]}")
    text = salvage_text(env, 1)
    step(f"history detail: {text[:400]}")
    m = re.search(r"applied (\d+) transactions \((\S+) \.\. (\S+),", text)
    check(m is not None, f"history does not record the salvage: {text[:2000]}")
    check(int(m.group(1)) == N1, f"salvaged {m.group(1)} transactions, expected {N1}: {text[:1500]}")
    check(m.group(3) == old_pos, f"salvaged up to {m.group(3)}, the old primary's binlog ends at {old_pos}")
    step(f"history: salvaged {m.group(1)} transactions {m.group(2)} .. {m.group(3)}; all {len(rows)} rows on "
         f"{env.addr(new)}")
    pos = survivors_agree(env, new, [other], "after-salvage")
    step(f"survivors agree: {pos}")
    # The old primary comes back writable (a supervisor's restart): its agent's restart
    # watch, armed by the salvage, fences it; the controllers rejoin it.
    db.servers[1].read_only = False
    db.start(1)
    def fenced():
        if not env.read_only(1):
            raise NotYet(f"{env.addr(1)} still writable")
        return True
    wait_for(fenced, 15, f"the restarted {env.addr(1)} to be fenced")
    # The controllers' stray-writer fence may get there first (a probe reconnects at
    # once); the agent's watch (every 200 ms, armed by the salvage) must fence it too.
    def agent_fenced():
        if "a mysqld came back on port" not in tail(agents.log_path(1), 300):
            raise NotYet("agent 1 has not logged the restart fence")
        return True
    wait_for(agent_fenced, 10, "agent 1 to fence the restarted mysqld")
    wait_for(lambda: env.replicates_from(1, new), 40, f"{env.addr(1)} to rejoin as a replica of {env.addr(new)}")
    pos = survivors_agree(env, new, [1, other], "after-rejoin")
    step(f"the old primary came back read-only (restart watch), rejoined; GTIDs agree: {pos}")
    # The agent's refusals (agent/binlog.h), asked directly: a live mysqld is never read,
    # and requests that no epoch could make valid are refused before the epoch.
    net = agents.net
    for what, args, want, text in (
            ("live mysqld", ("demo", 1, ""), FO_EBUSY, "listens on port"),
            ("bad start position", ("demo", 1, "0-1-2;x"), FO_EINVAL, "GTID list"),
            ("unknown cluster", ("nope", 1, ""), FO_ENOTFOUND, "nope"),
            ("stale epoch", ("demo", 0, ""), FO_ESTALE, "")):
        code, err = salvage_call(env, net, 1, *args)
        check(code == want and text in err, f"SalvageBinlog ({what}): code {code} {err!r}, expected {want} {text!r}")
    step("agent refusals: live mysqld (EBUSY), bad position (EINVAL), unknown cluster, stale epoch")
    env.ack()

    # 2. Cap exceeded on the next old primary's host.
    agents.extra[new] = ["salvage_max_bytes = 4096"]
    agents.stop(new)
    agents.start(new)
    env.wait_healthy(new, [1, other], timeout=30)
    old2 = new
    f2, new2, rows2, old_pos2, took2 = kill_and_fail_over(env, old2, 2, [1, other], N2, 5000)
    env.check_record(f2, 2, "auto", old=old2, new=new2)
    text2 = salvage_text(env, 2)
    step(f"history detail: {text2[:500]}")
    check("salvage_max_bytes (4096) exceeded" in text2, f"history does not record the cap: {text2[:2000]}")
    m2 = re.search(r"possibly lost: (\d+) transactions", text2)
    check(m2 is not None and int(m2.group(1)) == N2, f"possibly lost count != {N2}: {text2[:2000]}")
    steps2 = parse_steps(f2.get("steps"))
    check(steps2.get("promote", 1e9) < STEP_MS + 2000, f"promote step {steps2.get('promote')} ms: beyond the bound")
    step(f"cap exceeded: recorded, {m2.group(1)} transactions possibly lost; promote {steps2.get('promote'):.0f} ms, "
         f"failover {took2:.2f}s")
    other2 = ({1, 2, 3} - {old2, new2}).pop()
    survivors_agree(env, new2, [other2], "after-cap")
    env.ack()

    # 3. Host down: the agent is stopped too.
    old3 = new2
    f3, new3, rows3, old_pos3, took3 = kill_and_fail_over(env, old3, 3, [other2], N3, 9000,
                                                          stop_agent=lambda: agents.stop(old3))
    env.check_record(f3, 3, "auto", old=old3, new=new3)
    text3 = salvage_text(env, 3)
    step(f"history detail: {text3[:500]}")
    check("salvage impossible" in text3, f"history does not say salvage impossible: {text3[:2000]}")
    m3 = re.search(r"possibly lost: (\d+) transactions", text3)
    check(m3 is not None and int(m3.group(1)) == N3, f"possibly lost count != {N3}: {text3[:2000]}")
    step(f"host down: 'salvage impossible', {m3.group(1)} transactions possibly lost; failover {took3:.2f}s")


if __name__ == "__main__":
    skip_unless_netns("test_binlog_salvage")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
