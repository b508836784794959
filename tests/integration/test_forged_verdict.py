#!/usr/bin/env python3
"""Forged and non-voter verdicts never count toward a dead-primary majority (issue 8,
item 3; DESIGN.md §5, §10).

Three failoverd nodes (mutual TLS, the rig's certificates: ctl<i> binds node id i as
subjectAltName URI failoverd://node/i) watch a real mariadbd primary (server 1) and two
replicas. The test builds the one situation in which a single extra DOWN vote decides a
failover: the leader alone sees the primary down and the replicas' IO threads are not
connected, while both followers still see the primary up. On the primary (with
sql_log_bin=0) the failoverd and repl accounts are locked, the binlog dump threads and
the leader's own probe connections are killed: the leader cannot reconnect (DOWN), the
replicas retry in vain (IO=Connecting), the followers keep their open probe connections
(UP). The detector then says "primary down for 1/3 controllers, 2 needed".

Then, each for a sampling window in which a thread sends DOWN verdicts to the leader
every 20 ms over its own TLS session (so the forged vote is always the freshest one of
the node it names) while the test polls `why`, `history` and the servers:
  (a) the rig's failoverctl certificate (role client) claiming a follower's node id:
      every verdict is refused (FO_EPERM), failoverd_admin_internal_refused_total
      {reason="role"} grows, no dead_primary decision, no failover, server 1 stays
      the only writable server; a raw ProposeReq with this certificate is refused too;
  (b) follower A's controller certificate (node A) claiming follower B's node id:
      refused, {reason="node_id_mismatch"} grows, no failover;
  (c) a controller certificate of node 9, which is no member: authenticated, but not a
      voter: refused, failoverd_verdicts_ignored_total{reason="not_voter"} grows, no
      failover.
Last, the control that shows the scenario is sharp: follower A's certificate sending
verdicts in its own name makes 2/3, and the leader decides dead_primary. Without the
fix, (a), (b) and (c) each end the same way.

Ports: mariadb 27700-27702; failoverd admin 27710+, raft 27730+, http 27750+."""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import CLUSTER, FailoverEnv, short  # noqa: E402
from rig.mariadb import sql_quote  # noqa: E402
from rig.pbwire import f_bytes, f_varint, frame, parse  # noqa: E402
from rig.util import NotYet, RigError, TestFailure, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 27700
CTL_PORT = 27710
FO_EPERM = 22  # common/err.h
WINDOW_S = 5.0  # sampling window of each forged case
SEND_EVERY_S = 0.02


# ---------------------------------------------------------------- protobuf by hand





def decode(data):
    """One message -> {field: [values]} (varints as int, length-delimited as bytes)."""
    try:
        return parse(data)
    except ValueError as e:
        raise TestFailure(f"a response: {e}") from e


def verdict_request(node_id, host, port, down=True):
    """fo.Request{forwarded, verdict: VerdictReq} (proto/failoverd.proto)."""
    v = (f_varint(1, node_id) + f_bytes(2, CLUSTER) + f_bytes(3, host) + f_varint(4, port)
         + f_varint(5, 1 if down else 0) + f_bytes(6, "forged by test_forged_verdict"))
    return f_varint(1, 1) + f_bytes(41, v)


def propose_request(node_id):
    """fo.Request{propose: ProposeReq{Command{version 1, origin, member_note}}}: a raw
    proposal that would move node_id's admin address."""
    note = f_varint(1, node_id) + f_bytes(2, "127.0.0.1:1") + f_bytes(3, "127.0.0.1:1") + f_bytes(4, "127.0.0.1:1")
    cmd = f_varint(1, 1) + f_varint(3, node_id) + f_bytes(19, note)
    return f_varint(1, 1) + f_bytes(40, f_bytes(1, cmd))



class AdminSession:
    """One TLS session to a node's admin port with a given certificate."""

    def __init__(self, rig, node_id, cert, key):
        nd = rig.nodes[node_id]
        ctx = rig.client_tls(cert=cert, key=key)
        self.s = ctx.wrap_socket(socket.create_connection((nd.host, nd.admin_port), timeout=5),
                                 server_hostname=nd.host)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise RigError("the node closed the admin session")
            buf += chunk
        return buf

    def call(self, payload):
        """Sends one request; returns (code, error text) of the response."""
        self.s.sendall(frame(payload))
        hdr = self._read(8)
        if hdr[:2] != b"FO" or hdr[3] != 2:
            raise TestFailure(f"bad response header {hdr!r}")
        resp = decode(self._read(int.from_bytes(hdr[4:8], "big")))
        return resp.get(1, [0])[0], resp.get(2, [b""])[0].decode(errors="replace")

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


class Flood(threading.Thread):
    """Sends one request every SEND_EVERY_S until stopped; tallies the answers."""

    def __init__(self, rig, node_id, cert, key, payload, name):
        super().__init__(name=name, daemon=True)
        self.sess = AdminSession(rig, node_id, cert, key)
        self.payload = payload
        self.halt = threading.Event()
        self.codes = {}
        self.errors = set()
        self.failure = None

    def run(self):
        try:
            while not self.halt.is_set():
                code, err = self.sess.call(self.payload)
                self.codes[code] = self.codes.get(code, 0) + 1
                if err:
                    self.errors.add(err)
                time.sleep(SEND_EVERY_S)
        except Exception as e:  # noqa: BLE001  (reported by stop())
            self.failure = e
        finally:
            self.sess.close()

    def stop(self):
        self.halt.set()
        self.join(10)
        if self.failure is not None:
            raise TestFailure(f"{self.name}: the admin session failed: {self.failure!r}")
        return sum(self.codes.values())


# ---------------------------------------------------------------- the set-up

def leader_probe_ports(pid, db_port):
    """Local ports of process pid's TCP connections to 127.0.0.1:db_port (ss -tnp)."""
    r = subprocess.run(["ss", "-tnpH", "state", "established", f"( dport = :{db_port} )"],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        raise RigError(f"ss failed: {r.stderr.strip()}")
    ports = []
    for line in r.stdout.splitlines():
        if f"pid={pid}," not in line:
            continue
        # With a state filter: Recv-Q Send-Q Local:Port Peer:Port Process.
        ports.append(line.split()[2].rsplit(":", 1)[1])
    return ports


def isolate_leader(env, lid):
    """Only the leader loses the primary; the replicas lose their source too."""
    db, h = env.db, env.db.account_host
    db.sql(1, "SET SESSION sql_log_bin=0; "
              f"ALTER USER 'failoverd'@{sql_quote(h)} ACCOUNT LOCK; "
              f"ALTER USER 'repl'@{sql_quote(h)} ACCOUNT LOCK;")
    for (tid,) in db.sql(1, "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'"):
        db.sql(1, f"KILL {int(tid)}")
    pid = env.c.nodes[lid].pid
    ports = leader_probe_ports(pid, DB_PORT)
    check(ports, f"leader {lid} (pid {pid}) has no connection to the primary's port {DB_PORT}")
    for port in ports:
        for (tid,) in db.sql(1, "SELECT ID FROM information_schema.PROCESSLIST "
                                f"WHERE HOST = {sql_quote('127.0.0.1:' + port)}"):
            db.sql(1, f"KILL {int(tid)}")
    return ports


def wait_only_leader_down(env, lid):
    """The detector's view: leader DOWN, 1 of 3 controllers, replicas not connected."""
    def ok():
        t = env.topo(lid)
        reps = {a: i for a, i in env.by_address(t).items() if a != env.addr(1)}
        bad = {a: i.get("io_running") for a, i in reps.items() if i.get("io_running") == "Yes"}
        if bad:
            raise NotYet(f"replicas still connected: {bad}")
        for d in env.decisions(lid):
            if d.get("verdict") == "not_confirmed" and "1/3" in (d.get("reason") or ""):
                return d
        raise NotYet(f"no not_confirmed 1/3 decision yet: {short(env.decisions(lid)[:4], 800)}")
    return wait_for(ok, 30, "the leader alone to see the primary down (not_confirmed, 1/3)", interval=0.3)


def metric(env, node, name, **labels):
    v = env.c.metric(node, name, **labels)
    if v is None:
        raise TestFailure(f"node {node} does not export {name}{labels}")
    return v


def sample_no_failover(env, lid, since_ms, seconds, what):
    """Polls for `seconds`: no dead_primary decision since since_ms, no failover record,
    server 1 the only writable server."""
    t_end = time.monotonic() + seconds
    polls = 0
    while time.monotonic() < t_end:
        dead = [d for d in env.decisions(lid)
                if d.get("verdict") == "dead_primary" and (d.get("wall_ms") or 0) >= since_ms]
        check(not dead, f"{what}: the leader decided dead_primary: {short(dead)}")
        recs = env.failovers(lid)
        check(not recs, f"{what}: a failover happened: {short(recs)}")
        w = env.writable_servers()
        check(w == [1], f"{what}: writable servers are {w}, expected only server 1")
        polls += 1
        time.sleep(0.25)
    check(polls >= 3, f"{what}: only {polls} samples in {seconds}s")
    return polls


def forged_case(env, lid, what, cert, key, payload, counter, labels, expect_error):
    """Runs one flood for WINDOW_S, sampling; checks every answer and the counter."""
    before = metric(env, lid, counter, **labels)
    since = int(time.time() * 1000)
    fl = Flood(env.c, lid, cert, key, payload, what)
    fl.start()
    try:
        polls = sample_no_failover(env, lid, since, WINDOW_S, what)
    finally:
        sent = fl.stop()
    check(sent >= 20, f"{what}: only {sent} verdicts were answered in {WINDOW_S}s")
    check(set(fl.codes) == {FO_EPERM}, f"{what}: answers by code {fl.codes} (expected only {FO_EPERM}, FO_EPERM); "
                                       f"errors: {sorted(fl.errors)[:3]}")
    check(any(expect_error in e for e in fl.errors), f"{what}: no answer says {expect_error!r}: {sorted(fl.errors)}")
    after = metric(env, lid, counter, **labels)
    check(after - before >= sent, f"{what}: {counter}{labels} went {before} -> {after} for {sent} refused verdicts")
    return sent, polls, after - before


def main():
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3, log_level="info") as env:
        c = env.c
        env.wait_healthy(1, [2, 3])
        lid = c.wait_leader(15)
        fa, fb = c.followers(lid)
        primary_host, primary_port = env.addr(1).rsplit(":", 1)
        primary_port = int(primary_port)
        step(f"cluster healthy: primary {env.addr(1)}; leader node {lid}, followers {fa} and {fb}")

        def followers_watch():
            # A follower watches the primary once its store says it is one (DESIGN.md §5);
            # its probe connection must be open before the account is locked.
            for f in (fa, fb):
                up = c.metric(f, "failoverd_instance_up", cluster=CLUSTER, instance=env.addr(1))
                if up != 1:
                    raise NotYet(f"follower {f}: failoverd_instance_up={up}")
            return True
        wait_for(followers_watch, 20, "both followers to probe the primary", interval=0.2)
        # The followers' own verdicts and member notes pass: nothing refused so far.
        for reason in ("role", "no_node_id", "node_id_mismatch"):
            n = metric(env, lid, "failoverd_admin_internal_refused_total", reason=reason)
            check(n == 0, f"leader {lid} refused {n} legitimate internal requests (reason={reason})")
        check(metric(env, lid, "failoverd_verdicts_received_total") > 0,
              f"leader {lid} has recorded no follower verdict")

        ports = isolate_leader(env, lid)
        d = wait_only_leader_down(env, lid)
        step(f"primary accounts locked, leader's probe connections (ports {ports}) and the binlog dumps "
             f"killed: {d.get('verdict')}: {d.get('reason')!r}")
        for f in (fa, fb):
            up = c.metric(f, "failoverd_instance_up", cluster=CLUSTER, instance=env.addr(1))
            check(up == 1, f"follower {f} should still see the primary up: failoverd_instance_up={up}; "
                           f"{[x for x in c.metrics_text(f).splitlines() if 'instance_up' in x]}")

        # (a) failoverctl's certificate, in follower A's name.
        sent, polls, n = forged_case(env, lid, "client certificate verdict", c.client_cert, c.client_key,
                                     verdict_request(fa, primary_host, primary_port),
                                     "failoverd_admin_internal_refused_total", {"reason": "role"},
                                     "needs a controller certificate")
        step(f"(a) client certificate: {sent} DOWN verdicts in node {fa}'s name refused (FO_EPERM), "
             f"counted ({n}), no failover in {polls} samples")
        s = AdminSession(c, lid, c.client_cert, c.client_key)
        try:
            code, err = s.call(propose_request(fa))
        finally:
            s.close()
        check(code == FO_EPERM and "controller certificate" in err,
              f"a raw proposal with the client certificate answered code {code}: {err!r}")
        step("(a) a raw ProposeReq with the client certificate is refused too")

        # (b) follower A's own certificate, in follower B's name.
        a_crt, a_key = os.path.join(c.tls_dir, f"ctl{fa}.crt"), os.path.join(c.tls_dir, f"ctl{fa}.key")
        sent, polls, n = forged_case(env, lid, f"node {fa} certificate claiming node {fb}", a_crt, a_key,
                                     verdict_request(fb, primary_host, primary_port),
                                     "failoverd_admin_internal_refused_total", {"reason": "node_id_mismatch"},
                                     f"certificate is node {fa}'s")
        step(f"(b) node {fa}'s certificate claiming node {fb}: {sent} refused, counted ({n}), "
             f"no failover in {polls} samples")

        # (c) a certificate of node 9: authenticated, but no voter.
        n9_crt, n9_key, _ = c.make_cert("controller", "ctl9", ["127.0.0.1"], node=9)
        sent, polls, n = forged_case(env, lid, "node 9 (not a member)", n9_crt, n9_key,
                                     verdict_request(9, primary_host, primary_port),
                                     "failoverd_verdicts_ignored_total", {"reason": "not_voter"}, "not a voter")
        step(f"(c) node 9's certificate: {sent} verdicts refused as not a voter, counted ({n}), "
             f"no failover in {polls} samples")

        check(c.leader() == lid, "the leader changed during the test: the samples may not mean what they say")
        logs = c.logs_text()[lid]
        for needle in ("needs a controller certificate", "certificate is node", "(client admin)",
                       "from node 9 ignored: that node is not a voter"):
            check(needle in logs, f"leader {lid}'s log lacks {needle!r}")

        # The control: the same flood, in follower A's own name, is a real second vote.
        since = int(time.time() * 1000)
        fl = Flood(c, lid, a_crt, a_key, verdict_request(fa, primary_host, primary_port), "control")
        fl.start()
        try:
            d = env.wait_decision(lambda x: x.get("verdict") == "dead_primary", 20,
                                  "a dead_primary decision once node A's own DOWN verdict counts", since_wall_ms=since)
        finally:
            fl.stop()
        check(fl.codes.get(0, 0) > 0, f"node {fa}'s own verdicts were not accepted: {fl.codes} {sorted(fl.errors)}")
        step(f"control: node {fa}'s own DOWN verdicts make the majority: {d.get('reason')!r}")


if __name__ == "__main__":
    if shutil.which("ss") is None:  # a missing prerequisite is a skip (exit 77), never a pass
        print("SKIP: ss (iproute2) is not installed: the leader's probe connections cannot be found", flush=True)
        sys.exit(77)
    sys.exit(run_test(main))
