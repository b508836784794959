#!/usr/bin/env python3
"""Clients of a VIP that leaves its host get a RST at once (issue 11, switchover write
window): before failover-agent deletes the address it aborts every TCP socket whose
local address is the VIP (agent/sockreset.h), so a client does not wait out its read
timeout against a host that silently drops its packets.

Hosts in network namespaces on one bridge (tests/rig/netns.py, subnet 10.233.97.0/24,
which exists only inside them): db1 runs a failover-agent (insecure = yes: this test is
about addresses, not authentication) allowed the VIP 10.233.97.100/24 on eth0, a real
mariadbd bound to 0.0.0.0, and two plain TCP listeners made by the test inside db1's
namespace (one on 0.0.0.0, one bound to the VIP itself); cli is the application's host.
The test speaks to the agent as a controller would, from cli to db1's own address.

  1. AcquireVip puts the VIP on db1. From cli: a TCP connection to VIP:33470 and one to
     VIP:33471 (the listener bound to the VIP), and a PyMySQL connection to the VIP
     running SELECT SLEEP(5) as the non-SUPER app user (an INSERT waiting for its answer
     looks the same to the client).
  2. ReleaseVip: the address is gone; the idle clients' recv() fails with ECONNRESET,
     and the query fails with a reset, each within 200 ms of the release's answer,
     where without the abort they would wait for their 2 s read timeouts. The
     controller's own connection to the agent (db1's address) still works; the listener
     bound to the VIP survived (after a re-acquire a new connection to it is accepted);
     /metrics counts the resets (failoverd_agent_vip_sockets_reset_total) and the log
     says how many.
  3. A lease that runs out (800 ms, no renewal): the agent removes the VIP by itself, and
     a client connected to it gets ECONNRESET, not a timeout.

Skipped (exit 77) when `ip netns add` is not permitted or mariadbd / PyMySQL are missing.
Ports (inside the namespaces only): agent 33480, its http 33481, mariadbd 33490, test
listeners 33470 (0.0.0.0) and 33471 (the VIP)."""

import errno
import os
import re
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig import netns  # noqa: E402
from rig.agents import AgentRig, in_netns  # noqa: E402
from rig.mariadb import MariaDBRig  # noqa: E402
from rig.pbwire import f_bytes, f_varint, frame, parse  # noqa: E402
from rig.util import NotYet, check, run_test, step, tail, wait_for  # noqa: E402
from rig import writer  # noqa: E402

SUBNET = "10.233.97"
VIP = f"{SUBNET}.100"
CLUSTER = "rst"
AGENT_PORT, AGENT_HTTP = 33480, 33481
DB_PORT = 33490
PORT_ANY, PORT_VIP = 33470, 33471
READ_TIMEOUT_S = 2.0  # the clients' read timeout: what they would wait without a RST
RST_BOUND_S = 0.2     # the goal: a reset within 200 ms of the release's answer


# ---------------------------------------------------------------- the agent, as a controller speaks to it


def request(rid, kind, body=b""):
    field = {"status": 2, "acquire": 3, "renew": 4, "release": 5}[kind]
    return f_varint(1, rid) + f_bytes(field, body)


def acquire_body(epoch, lease_ms):
    return (f_bytes(1, CLUSTER) + f_bytes(2, VIP) + f_varint(3, 24) + f_bytes(4, "eth0") + f_varint(5, epoch) +
            f_varint(6, lease_ms) + f_varint(7, 1))


def release_body(epoch):
    return f_bytes(1, CLUSTER) + f_varint(2, epoch) + f_bytes(3, VIP)


class Controller:
    """One plain-TCP agent connection from cli to db1's own address."""

    def __init__(self, net):
        self.s = in_netns(net.ns("cli"), lambda: socket.create_connection((net.addr("db1"), AGENT_PORT), timeout=5))
        self.rid = 0

    def close(self):
        self.s.close()

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed by the agent")
            buf += chunk
        return buf

    def call(self, kind, body=b""):
        self.rid += 1
        self.s.sendall(frame(request(self.rid, kind, body)))
        hdr = self._recv_exact(8)
        check(hdr[:2] == b"FO", f"bad response header {hdr!r}")
        msg = parse(self._recv_exact(struct.unpack(">I", hdr[4:])[0]))
        check(msg.get(1, [0])[0] == self.rid, f"response id {msg.get(1)} != {self.rid}")
        return msg.get(2, [0])[0], msg.get(3, [b""])[0].decode(), msg


# ---------------------------------------------------------------- plain TCP on db1


class Listener:
    """A listening socket made inside db1's namespace; accepted sockets are kept (so the
    server side stays open: only the agent may end the connections)."""

    def __init__(self, net, addr, port):
        def make():
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))  # the VIP must be on db1 by now (no IP_FREEBIND)
            s.listen(16)
            return s
        self.sock = in_netns(net.ns("db1"), make)
        self.sock.settimeout(5)
        self.accepted = []

    def accept(self):
        c, _ = self.sock.accept()
        self.accepted.append(c)
        return c

    def close(self):
        for c in self.accepted + [self.sock]:
            try:
                c.close()
            except OSError:
                pass


def client(net, port):
    s = in_netns(net.ns("cli"), lambda: socket.create_connection((VIP, port), timeout=2))
    s.settimeout(READ_TIMEOUT_S)
    return s


def recv_outcome(s):
    """What recv() on an idle connection ends with: ("reset" | "timeout" | "eof" |
    "data" | errno name, seconds it took)."""
    t0 = time.monotonic()
    try:
        data = s.recv(1)
        what = "data" if data else "eof"
    except ConnectionResetError:
        what = "reset"
    except socket.timeout:
        what = "timeout"
    except OSError as e:
        what = errno.errorcode.get(e.errno, str(e))
    return what, time.monotonic() - t0


def check_reset(name, s, t_released):
    what, _ = recv_outcome(s)
    after = time.monotonic() - t_released
    check(what == "reset", f"{name}: recv() ended with {what} after {after:.3f}s, not a reset "
          f"(a client without the abort waits for its {READ_TIMEOUT_S:g}s read timeout)")
    check(after <= RST_BOUND_S, f"{name}: reset {after * 1000:.0f} ms after the release (bound "
          f"{RST_BOUND_S * 1000:.0f} ms)")
    return after


# ---------------------------------------------------------------- a query in flight


class SlowQuery(threading.Thread):
    """SELECT SLEEP(5) through the VIP from cli; records how it ended and when."""

    def __init__(self, db, net):
        super().__init__(daemon=True)
        self.conn, _ = writer.connect_vip(db, net.ns("cli"), VIP, DB_PORT, connect_timeout=2,
                                          rw_timeout=READ_TIMEOUT_S)
        self.error = None
        self.t_end = None

    def run(self):
        try:
            with self.conn.cursor() as cur:
                cur.execute("SELECT SLEEP(5)")
        except Exception as e:  # noqa: BLE001 - what ended it is the result
            self.error = e
        self.t_end = time.monotonic()

    def close(self):
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - already broken
            pass


def sleeping(db):
    n = db.sql(1, "SELECT COUNT(*) FROM information_schema.processlist WHERE info = 'SELECT SLEEP(5)'")[0][0]
    if n != "1":
        raise NotYet(f"{n} sleeping queries")
    return True


# ---------------------------------------------------------------- the test


def resets_metric(agents):
    return agents.metrics(1).get(("failoverd_agent_vip_sockets_reset_total", ""))


def holders(agents):
    return agents.holders(VIP)


def gone(agents):
    h = holders(agents)
    if h:
        raise NotYet(f"VIP holders {sorted(h)}")
    return True


def on_db1(agents):
    h = holders(agents)
    if h != {"db1"}:
        raise NotYet(f"VIP holders {sorted(h)}")
    return True


def release_with_clients(net, agents, db, ctl):
    step("1. AcquireVip, then clients on the VIP: two idle TCP connections and a query in flight")
    code, err, _ = ctl.call("acquire", acquire_body(3, 60000))
    check(code == 0, f"acquire refused: {code} {err}")
    wait_for(lambda: on_db1(agents), 5, "the VIP on db1")
    lany = Listener(net, "0.0.0.0", PORT_ANY)
    lvip = Listener(net, VIP, PORT_VIP)
    q = None
    try:
        c_any, c_vip = client(net, PORT_ANY), client(net, PORT_VIP)
        lany.accept()
        lvip.accept()
        q = SlowQuery(db, net)
        q.start()
        wait_for(lambda: sleeping(db), 5, "SELECT SLEEP(5) to run on db1")
        before = resets_metric(agents)

        step("2. ReleaseVip: every client gets a RST at once")
        t0 = time.monotonic()
        code, err, msg = ctl.call("release", release_body(3))
        t_released = time.monotonic()
        check(code == 0 and msg.get(5, [0])[0] == 1, f"release: {code} {err} {msg}")
        check(holders(agents) == set(), f"the VIP is still on {holders(agents)}")
        a1 = check_reset("client of 0.0.0.0:33470", c_any, t_released)
        a2 = check_reset("client of the VIP-bound listener", c_vip, t_released)
        q.join(READ_TIMEOUT_S + 3)
        check(q.t_end is not None, "the query did not end")
        a3 = q.t_end - t_released
        text = f"{type(q.error).__name__}: {q.error}"
        check(q.error is not None and re.search(r"reset|104", text), f"SELECT SLEEP(5) ended with {text} "
              f"after {a3:.3f}s, not a reset")
        check(a3 <= RST_BOUND_S, f"the query failed {a3 * 1000:.0f} ms after the release")
        step(f"resets seen {a1 * 1000:.0f} / {a2 * 1000:.0f} / {max(a3, 0) * 1000:.0f} ms after the release's answer "
             f"(release RPC {(t_released - t0) * 1000:.0f} ms); the query: {text}")

        code, err, _ = ctl.call("status")
        check(code == 0, f"the controller's own connection broke: {code} {err}")
        after = resets_metric(agents)
        check(after is not None and after - (before or 0) >= 3,
              f"failoverd_agent_vip_sockets_reset_total {before} -> {after}, want +3 at least")
        log = tail(agents.log_path(1), 200)
        check(re.search(r"reset 3 of 3 TCP connections on " + re.escape(VIP), log),
              f"no 'reset 3 of 3' line in the agent log:\n{log}")

        step("   the VIP-bound listener survived: after a re-acquire it accepts again")
        code, err, _ = ctl.call("acquire", acquire_body(3, 60000))
        check(code == 0, f"re-acquire refused: {code} {err}")
        c_again = client(net, PORT_VIP)
        lvip.accept()
        c_again.close()
        code, err, _ = ctl.call("release", release_body(3))
        check(code == 0, f"release: {code} {err}")
        c_any.close()
        c_vip.close()
    finally:
        if q is not None:
            q.close()
        lany.close()
        lvip.close()


def lease_expiry(net, agents, ctl):
    step("3. a lease that runs out: the agent removes the VIP itself and resets its clients")
    lany = Listener(net, "0.0.0.0", PORT_ANY)
    try:
        code, err, _ = ctl.call("acquire", acquire_body(4, 800))
        check(code == 0, f"acquire refused: {code} {err}")
        c = client(net, PORT_ANY)
        lany.accept()
        c.settimeout(3.0)  # longer than the lease: a timeout here means no RST came
        what, took = recv_outcome(c)
        check(what == "reset", f"after the lease ran out recv() ended with {what} ({took:.2f}s)")
        # The RST leaves just before the address does: give the delete its moment.
        wait_for(lambda: gone(agents), 2, "the VIP to leave db1")
        step(f"   reset {took:.2f}s after connecting (lease 0.8 s)")
        c.close()
    finally:
        lany.close()


def main():
    with netns.NetnsRig(["db1", "cli"], subnet=SUBNET) as net:
        agents = AgentRig(net, {1: "db1"}, CLUSTER, f"{VIP}/24", port=AGENT_PORT, http_port=AGENT_HTTP,
                          lease_read_only=False)
        try:
            agents.start_all()
            with MariaDBRig(n=1, base_port=DB_PORT, replicate=False, net=net, hosts={1: "db1"},
                            bind_any=True) as db:
                ctl = Controller(net)
                try:
                    release_with_clients(net, agents, db, ctl)
                    lease_expiry(net, agents, ctl)
                finally:
                    ctl.close()
        except BaseException:
            agents.dump_logs(60)
            raise
        finally:
            agents.teardown()


if __name__ == "__main__":
    netns.skip_unless_available("test_vip_rst")  # exit 77: a skip, never a pass
    try:
        writer.require_pymysql()
    except Exception as e:  # noqa: BLE001 - a missing prerequisite is a skip
        print(f"SKIP test_vip_rst: {e}", flush=True)
        sys.exit(77)
    sys.exit(run_test(main))
