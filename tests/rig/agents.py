"""failover-agent processes on namespace hosts (rig.netns), and a sampler that watches
which hosts hold a VIP (issue 4).

    agents = AgentRig(net, {1: "db1", 2: "db2", 3: "db3"}, cluster="demo",
                      vip="10.231.0.100/24", certs=dir_or_None)   # None = insecure
    agents.start_all()
    agents.holders("10.231.0.100")          # {"db1"}: hosts whose eth0 has the VIP now
    with VipSampler(net, ["db1", "db2", "db3"], "10.231.0.100") as s:
        ...                                 # s.max_holders, s.overlaps, s.samples

Each agent listens on its host's address at `port`, keeps its state in the rig's
temp dir and is stopped by its pid. With certs=DIR, DIR must hold ca.crt and
agent certificates named after the hosts (deploy/gen-certs.sh agent:db1,10.231.0.11);
the rig makes them with gen-certs.sh if they are missing.

The sampler dumps the addresses of every host with one rtnetlink RTM_GETADDR request
per host per round, on NETLINK_ROUTE sockets opened inside each namespace once (a
socket keeps the namespace it was created in), so a round over three hosts takes well
under a millisecond and nothing is forked while sampling."""

import ctypes
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time

from rig.util import Proc, RigError, register_cleanup, tail, unregister_cleanup, wait_for

SRC = os.environ.get("FO_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("FO_BUILD_DIR", os.path.join(SRC, "build"))
AGENT_BIN = os.path.join(BUILD, "bin", "failover-agent")
GEN_CERTS = os.path.join(SRC, "deploy", "gen-certs.sh")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def in_netns(ns, fn):
    """Runs fn() in a short-lived thread that has entered namespace ns; returns its
    result (objects it creates, like sockets, keep that namespace)."""
    result = {}

    def run():
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            finally:
                os.close(fd)
            result["value"] = fn()
        except Exception as e:  # noqa: BLE001 - re-raised in the caller
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def gen_certs(out_dir, entries):
    """deploy/gen-certs.sh --out out_dir ROLE:NAME,IP ... (idempotent)."""
    r = subprocess.run(["sh", GEN_CERTS, "--out", out_dir] + list(entries), capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise RigError(f"gen-certs.sh failed (exit {r.returncode}): {r.stderr.strip()}")


# ---------------------------------------------------------------- rtnetlink address dump

NLMSG_DONE, NLMSG_ERROR, RTM_GETADDR = 3, 2, 22
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
IFA_ADDRESS, IFA_LOCAL = 1, 2


class AddrDumper:
    """IPv4 addresses of one namespace, by rtnetlink dump."""

    def __init__(self, ns):
        self.ns = ns
        self.sock = in_netns(ns, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
        self.sock.settimeout(2.0)
        self.seq = 0

    def close(self):
        self.sock.close()

    def addresses(self):
        self.seq += 1
        hdr = struct.pack("=IHHII", 16 + 8, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, self.seq, 0)
        self.sock.send(hdr + struct.pack("=BBBBI", socket.AF_INET, 0, 0, 0, 0))
        out = set()
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                ln, typ, _flags, seq, _pid = struct.unpack_from("=IHHII", data, off)
                if ln < 16:
                    raise RigError(f"{self.ns}: bad netlink message length {ln}")
                if seq == self.seq:
                    if typ == NLMSG_DONE:
                        return out
                    if typ == NLMSG_ERROR:
                        raise RigError(f"{self.ns}: netlink error in address dump")
                    if typ == 20:  # RTM_NEWADDR
                        self._parse(data[off + 16:off + ln], out)
                off += (ln + 3) & ~3

    @staticmethod
    def _parse(body, out):
        if len(body) < 8:
            return
        family = body[0]
        off = 8
        local = addr = None
        while off + 4 <= len(body):
            alen, atype = struct.unpack_from("=HH", body, off)
            if alen < 4:
                break
            val = body[off + 4:off + alen]
            if family == socket.AF_INET and len(val) == 4:
                if atype == IFA_LOCAL:
                    local = socket.inet_ntoa(val)
                elif atype == IFA_ADDRESS:
                    addr = socket.inet_ntoa(val)
            off += (alen + 3) & ~3
        if local or addr:
            out.add(local or addr)


class VipSampler:
    """Samples every ~interval seconds which hosts hold `vip`, in a thread."""

    def __init__(self, net, hosts, vip, interval=0.02):
        self.net = net
        self.hosts = list(hosts)
        self.vip = vip
        self.interval = interval
        self.dumpers = {h: AddrDumper(net.ns(h)) for h in self.hosts}
        self.samples = 0
        self.max_holders = 0
        self.overlaps = []  # (monotonic time, [hosts]) where more than one host held it
        self.timeline = []  # (monotonic time, frozenset of holders) at every change
        self.errors = []
        self._stop = threading.Event()
        self._t = None

    def __enter__(self):
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _run(self):
        last = None
        while not self._stop.is_set():
            t = time.monotonic()
            try:
                holders = frozenset(h for h, d in self.dumpers.items() if self.vip in d.addresses())
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.errors.append(repr(e))
                holders = last or frozenset()
            self.samples += 1
            self.max_holders = max(self.max_holders, len(holders))
            if len(holders) > 1:
                self.overlaps.append((t, sorted(holders)))
            if holders != last:
                self.timeline.append((t, holders))
                last = holders
            self._stop.wait(self.interval)

    def holders_at_end(self):
        return self.timeline[-1][1] if self.timeline else frozenset()

    def stop(self):
        if self._t is not None:
            self._stop.set()
            self._t.join(10)
            self._t = None
        for d in self.dumpers.values():
            d.close()
        self.dumpers = {}


# ---------------------------------------------------------------- agents


class AgentRig:
    def __init__(self, net, hosts, cluster, vip, interface="eth0", port=7201, http_port=9601, certs=None,
                 lease_read_only=None, mysql=None, log_level="debug", base_dir=None):
        """hosts: {index: namespace host}; vip: "a.b.c.d/len", or a list of them (the
        writer and reader VIPs the agents may hold); certs: a directory with
        the cluster CA (None = insecure = yes); lease_read_only: True / False writes
        the key, None leaves it out so that the agent's default (yes) applies, as with
        the example configs; mysql: {index: (host, port, user, password_file)} for the
        agents' [mysql] sections (optional)."""
        if not os.path.exists(AGENT_BIN):
            raise RigError(f"{AGENT_BIN} not built")
        self.net = net
        self.hosts = dict(hosts)
        self.cluster = cluster
        self.vip = vip
        self.interface = interface
        self.port = port
        self.http_port = http_port
        self.certs = certs
        self.lease_read_only = lease_read_only
        self.mysql = dict(mysql or {})
        self.log_level = log_level
        self.base_dir = base_dir or tempfile.mkdtemp(prefix="fo-agents-")
        self.procs = {}
        self._cleanup = self.teardown
        register_cleanup(self._cleanup)
        if certs is not None:
            missing = [h for h in self.hosts.values() if not os.path.exists(os.path.join(certs, f"{h}.crt"))]
            if missing:
                gen_certs(certs, [f"agent:{h},{net.addr(h)}" for h in missing])

    def address(self, i):
        return f"{self.net.addr(self.hosts[i])}:{self.port}"

    def conf_path(self, i):
        return os.path.join(self.base_dir, f"a{i}", "agent.conf")

    def log_path(self, i):
        return os.path.join(self.base_dir, f"a{i}", "agent.log")

    def write_config(self, i):
        h = self.hosts[i]
        d = os.path.join(self.base_dir, f"a{i}")
        os.makedirs(os.path.join(d, "state"), exist_ok=True)
        L = ["[agent]", f"listen = {self.address(i)}", f"http_address = 127.0.0.1:{self.http_port}",
             f"state_dir = {d}/state", f"log_level = {self.log_level}", "arp_count = 3", "arp_interval_ms = 100"]
        if self.lease_read_only is not None:  # None: no line, the agent's default applies
            L.append(f"lease_read_only = {'yes' if self.lease_read_only else 'no'}")
        if self.certs is None:
            L.append("insecure = yes")
        else:
            L += [f"ca_file = {self.certs}/ca.crt", f"cert_file = {self.certs}/{h}.crt",
                  f"key_file = {self.certs}/{h}.key"]
        if i in self.mysql:
            host, port, user, pwfile = self.mysql[i]
            L += ["", "[mysql]", f"host = {host}", f"port = {port}", f"user = {user}",
                  f"password_file = {pwfile}"]
        vips = [self.vip] if isinstance(self.vip, str) else list(self.vip)
        L += ["", f"[cluster {self.cluster}]"] + [f"vip = {v} {self.interface}" for v in vips] + [""]
        with open(self.conf_path(i), "w") as f:
            f.write("\n".join(L))

    def start(self, i):
        self.write_config(i)
        p = Proc(f"agent{i}", self.net.wrap(self.hosts[i], [AGENT_BIN, "--config", self.conf_path(i)]),
                 self.log_path(i)).start()
        self.procs[i] = p
        host, port = self.net.addr(self.hosts[i]), self.port

        def listening():
            if not p.alive():
                raise RigError(f"failover-agent {i} {p.describe_exit()}:\n{tail(self.log_path(i))}")
            s = in_netns(self.net.ns(self.hosts[i]), lambda: socket.create_connection((host, port), timeout=1))
            s.close()
            return True
        wait_for(listening, 15, f"failover-agent {i} to listen on {host}:{port}")

    def start_all(self):
        for i in sorted(self.hosts):
            self.start(i)

    def stop(self, i, timeout=20):
        p = self.procs.get(i)
        if p is None or not p.alive():
            return None
        return p.stop(timeout)

    def kill9(self, i):
        p = self.procs.get(i)
        if p is not None and p.alive():
            p.kill9()

    def running(self, i):
        p = self.procs.get(i)
        return p is not None and p.alive()

    def holders(self, vip_addr):
        out = set()
        for i, h in self.hosts.items():
            d = AddrDumper(self.net.ns(h))
            try:
                if vip_addr in d.addresses():
                    out.add(h)
            finally:
                d.close()
        return out

    def metrics(self, i):
        """The agent's /metrics as {(name, labels-text): value}."""
        h = self.hosts[i]

        def fetch():
            s = socket.create_connection(("127.0.0.1", self.http_port), timeout=5)
            try:
                s.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
                chunks = []
                while True:
                    b = s.recv(65536)
                    if not b:
                        return b"".join(chunks).decode()
                    chunks.append(b)
            finally:
                s.close()
        text = in_netns(self.net.ns(h), fetch)
        out = {}
        for line in text.split("\r\n\r\n", 1)[-1].splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            base, _, labels = name.partition("{")
            out[(base, labels.rstrip("}"))] = float(value)
        return out

    def dump_logs(self, n=40):
        for i in sorted(self.hosts):
            print(f"----- failover-agent {i} ({self.hosts[i]}): tail of {self.log_path(i)}", flush=True)
            print(tail(self.log_path(i), n), flush=True)

    def teardown(self):
        for i in list(self.procs):
            p = self.procs.pop(i)
            if p.alive():
                p.stop(20)
        if self._cleanup is not None:
            unregister_cleanup(self._cleanup)
            self._cleanup = None
        shutil.rmtree(self.base_dir, ignore_errors=True)
