#!/usr/bin/env python3
"""Connection floods must not cost a failover or a lease (issue 9, points 3, 4, 6;
DESIGN.md §10, common/listener.h).

A. Admin port (loopback, real mariadbd, three failoverd with mutual TLS):
   1. baseline: kill -9 the primary, time until the failover record exists;
   2. a fresh cluster: 70 slow HTTP connections (half a request each, from ten
      loopback addresses) to the leader and a follower: /health and /leader still
      answer 200 within 1 s;
   3. 400 idle TCP connections to the leader's admin port from ten other loopback
      addresses (more than the 64 handshake slots: the followers' verdicts get in
      through the share kept for the [peer] addresses), reopened as soon as the server drops them, held throughout; the
      leader's fd count stays bounded, the refusals are counted by reason; then
      kill -9 the primary: the failover completes within 2 x baseline + 2 s and `why`
      shows dead_primary; failoverctl still answers.
B. Agent port (network namespaces, agents holding the writer VIP): 2,000 connections
   to the primary host's agent from another host, reopened as the agent drops them,
   for 8 s (four leases): the VIP is never withdrawn (sampled every 20 ms) and the
   leader's failoverd_vip_held stays 1; the agent counts and logs the refusals; its fd
   count stays bounded; 70 slow HTTP connections leave its /health answering.

Before issue 9 each of these failed: the admin port took 256 idle connections and
held them 10 s (no failover during the flood), the agent had no cap (8,600 fds), and
64 slow HTTP connections starved /health.

Ports 28600-28799; namespaces use 10.238.0.0/24. Part B is skipped (exit 77, counted
as a skip, never a pass) when network namespaces are not available."""

import os
import resource
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.agents import in_netns  # noqa: E402
from rig.failover import FailoverEnv, steps_line  # noqa: E402
from rig.netns import NetnsRig, available as netns_available  # noqa: E402
from rig.util import MissingPrerequisite, NotYet, check, run_test, step, wait_for  # noqa: E402
from rig.vipenv import vip_cluster  # noqa: E402

SUBNET = "10.238.0"
VIP = f"{SUBNET}.100"
FD_BOUND = 250  # the leader and the agent: budgets are 64 + 16 handshakes, a few peers


class Flood:
    """Keeps n idle TCP connections to (host, port) open, each from one of `sources`,
    reopening one the server closed after `retry` s, until stop() (or max_s). new_socks(k)
    makes k sockets (in a namespace if need be)."""

    def __init__(self, host, port, n, sources, new_socks=None, retry=0.2, max_s=180):
        self.addr = (host, port)
        self.n, self.sources, self.retry, self.max_s = n, list(sources), retry, max_s
        self.new_socks = new_socks or (lambda k: [socket.socket() for _ in range(k)])
        self.socks = [None] * n
        self.next_try = [0.0] * n
        self.connects = self.dropped = 0
        self.errors = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def open_now(self):
        return sum(1 for s in self.socks if s is not None)

    def _open(self, sel, now):
        due = [i for i in range(self.n) if self.socks[i] is None and self.next_try[i] <= now]
        if not due:
            return
        for i, s in zip(due, self.new_socks(len(due))):
            try:
                s.setblocking(False)
                s.bind((self.sources[i % len(self.sources)], 0))
                s.connect_ex(self.addr)
                sel.register(s, selectors.EVENT_READ, i)
                self.socks[i] = s
                self.connects += 1
            except OSError as e:
                s.close()
                self.next_try[i] = now + self.retry
                if len(self.errors) < 5:
                    self.errors.append(str(e))

    def _run(self):
        sel = selectors.DefaultSelector()
        t_end = time.monotonic() + self.max_s
        try:
            while not self._stop.is_set() and time.monotonic() < t_end:
                self._open(sel, time.monotonic())
                for key, _ in sel.select(timeout=0.05):
                    s, i = key.fileobj, key.data
                    try:
                        data = s.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if data:
                        continue  # a TLS alert, say: the close follows
                    sel.unregister(s)
                    s.close()
                    self.socks[i] = None
                    self.dropped += 1
                    self.next_try[i] = time.monotonic() + self.retry
        finally:
            for s in self.socks:
                if s is not None:
                    s.close()
            self.socks = [None] * self.n
            sel.close()

    def stop(self):
        self._stop.set()
        self._t.join(10)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 8192 <= hard or (hard == resource.RLIM_INFINITY and soft < 8192):
        resource.setrlimit(resource.RLIMIT_NOFILE, (8192, hard))


def http_get(host, port, path, src="127.0.0.1", timeout=1.0, new_sock=None):
    """(status, seconds) of one GET on a new connection from src."""
    t0 = time.monotonic()
    s = new_sock() if new_sock else socket.socket()
    try:
        s.settimeout(timeout)
        s.bind((src, 0))
        s.connect((host, port))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        return f"error {e}", time.monotonic() - t0
    finally:
        s.close()
    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = line.split()
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else line), time.monotonic() - t0


def slow_http(host, port, paths, new_socks=None, what=""):
    """70 connections that send half a request, from 127.0.0.2..11; then each of paths
    must answer 200 within 1 s from 127.0.0.1."""
    socks = (new_socks or (lambda k: [socket.socket() for _ in range(k)]))(70)
    try:
        for k, s in enumerate(socks):
            s.settimeout(2)
            s.bind((f"127.0.0.{2 + k % 10}", 0))
            s.connect((host, port))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.3)
        one = (lambda: new_socks(1)[0]) if new_socks else None
        for path in paths:
            status, took = http_get(host, port, path, new_sock=one)
            check(status == 200 and took < 1.0,
                  f"{what}{path} under 70 slow connections: {status} after {took:.2f}s")
        step(f"{what}: {', '.join(paths)} answered 200 within 1 s with 70 slow connections open")
    finally:
        for s in socks:
            s.close()


def timed_failover(env):
    t0 = time.monotonic()
    env.db.kill9(1)
    f = env.failover(1, timeout=60)
    return f, time.monotonic() - t0


# ------------------------------------------------------------------ A. admin port

def part_admin():
    with FailoverEnv(db_port=28600, ctl_port=28610) as env:
        env.wait_healthy(1)
        f, base = timed_failover(env)
        step(f"baseline: failover {base:.2f}s after kill -9 of the primary ({steps_line(f)})")

    with FailoverEnv(db_port=28640, ctl_port=28650) as env:
        env.wait_healthy(1)
        lid = env.c.wait_leader(10)
        leader = env.c.node(lid)
        follower = env.c.node(next(i for i in (1, 2, 3) if i != lid))
        slow_http("127.0.0.1", leader.http_port, ["/health", "/leader"], what=f"leader {lid}")
        slow_http("127.0.0.1", follower.http_port, ["/health"], what=f"follower {follower.id}")

        sources = [f"127.0.0.{k}" for k in range(2, 12)]  # 10 x 8 per source > 64 handshake slots
        with Flood("127.0.0.1", leader.admin_port, 400, sources) as flood:
            wait_for(lambda: flood.connects >= 400 or (_ for _ in ()).throw(NotYet(flood.connects)), 10,
                     "400 connections opened")
            time.sleep(3)  # handshake deadlines pass; the flood reopens what is dropped
            fds = fd_count(leader.pid)
            check(fds < FD_BOUND, f"leader has {fds} fds open under the flood (bound {FD_BOUND})")
            refused = {r: env.c.metric(lid, "failoverd_admin_conn_refused_total", reason=r) or 0
                       for r in ("per_source", "unauth_full", "handshake_timeout")}
            check(refused["handshake_timeout"] > 0 and refused["unauth_full"] + refused["per_source"] > 0,
                  f"refusals not counted: {refused}")
            step(f"flood: {flood.connects} connects, {flood.dropped} dropped by the leader, "
                 f"{flood.open_now()} open now; leader fds {fds}; refused {refused}")
            status = env.ctl_ok(["status"])
            check(status is not None, "failoverctl status failed under the flood")

            f, took = timed_failover(env)
            fds_after = fd_count(leader.pid)
            step(f"under the flood: failover {took:.2f}s after the kill ({steps_line(f)}); "
                 f"{flood.connects} connects so far; leader fds {fds_after}")
            check(flood.open_now() > 0 or flood.connects > 800, "the flood was not running during the failover")
        bound = 2 * base + 2
        check(took < bound, f"failover under the flood took {took:.2f}s, bound {bound:.2f}s (baseline {base:.2f}s)")
        check(fds_after < FD_BOUND, f"leader has {fds_after} fds after the failover (bound {FD_BOUND})")
        why = env.why()
        check(any(d.get("verdict") == "dead_primary" for d in why.get("decisions") or []),
              f"why has no dead_primary decision: {why.get('decisions')}")
        step(f"admin flood: failover in {took:.2f}s (baseline {base:.2f}s, bound {bound:.2f}s); why: dead_primary")


# ------------------------------------------------------------------ B. agent port

def part_agent():
    if not netns_available():
        raise MissingPrerequisite("network namespaces (ip netns) are not available")
    hosts = ["db1", "db2", "db3", "c1", "c2", "c3", "x1"]
    with NetnsRig(hosts, subnet=SUBNET) as net:
        with vip_cluster(net, db_port=28700, ctl_port=28710, vip=VIP) as (env, agents):
            agents.start_all()
            env.wait_healthy(1)

            def held():
                if agents.holders(VIP) != {"db1"}:
                    raise NotYet(f"VIP holders {sorted(agents.holders(VIP))}")
                return True
            wait_for(held, 30, "the VIP on db1")
            lid = env.c.wait_leader(10)
            pid = agents.procs[1].pid

            def x1_socks(k):
                return in_netns(net.ns("x1"), lambda: [socket.socket() for _ in range(k)])

            def db1_socks(k):
                return in_netns(net.ns("db1"), lambda: [socket.socket() for _ in range(k)])

            holders_seen, vip_held_seen = set(), set()
            with Flood(net.addr("db1"), agents.port, 2000, [net.addr("x1")], new_socks=x1_socks,
                       retry=0.5) as flood:
                t_end = time.monotonic() + 8
                max_fds = 0
                while time.monotonic() < t_end:
                    holders_seen.add(frozenset(agents.holders(VIP)))
                    vip_held_seen.add(env.c.metric(lid, "failoverd_vip_held", cluster="demo", kind="writer"))
                    max_fds = max(max_fds, fd_count(pid))
                    time.sleep(0.02)
                connects = flood.connects
                slow_http("127.0.0.1", agents.http_port, ["/health"], new_socks=db1_socks, what="agent db1")
            step(f"agent flood: {connects} connects in 8 s, agent fds at most {max_fds}; holders seen "
                 f"{[sorted(h) for h in holders_seen]}; failoverd_vip_held seen {sorted(vip_held_seen)}")
            check(connects >= 2000, f"the flood made only {connects} connections")
            check(holders_seen == {frozenset({"db1"})}, f"the VIP left db1 during the flood: {holders_seen}")
            check(vip_held_seen == {1}, f"leader's failoverd_vip_held was {sorted(vip_held_seen)} during the flood")
            check(max_fds < FD_BOUND, f"agent had {max_fds} fds open (bound {FD_BOUND})")
            m = agents.metrics(1)
            refused = m.get(("failoverd_agent_conn_refused_total", 'reason="per_source"')) or 0
            check(refused > 0, f"agent did not count per_source refusals: {m}")
            with open(agents.log_path(1)) as fh:
                log = fh.read()
            check("[per_source]" in log, "agent log has no per_source refusal line")
            lines = sum(1 for ln in log.splitlines() if "[per_source]" in ln)
            check(lines <= 30, f"{lines} per_source log lines: not rate-limited")
            step(f"agent counted {refused:.0f} per_source refusals, logged {lines} lines; VIP held throughout")


def main():
    raise_nofile()
    part_admin()
    part_agent()


if __name__ == "__main__":
    sys.exit(run_test(main))
