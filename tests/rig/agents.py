"""failover-agent processes on namespace hosts (rig.netns) or on loopback addresses,
and a sampler that watches which hosts hold a VIP (issue 4).

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

Without namespaces (net=None, issue 11 item 6: the quickstart), agent i runs on this
machine and listens on addrs[i] (127.0.0.i beside a MariaDBRig(loopback_hosts=True)
server), at the same `port` and `http_port` for all: a controller reaches it at the
instance's host and the cluster's agent_port, as on real hosts. vip=None is a
VIP-less cluster: the agent still answers Status and FenceMysql for it (see
vipless_section()). Command line (the quickstart; agents keep running after it exits):

    python3 -m rig.agents start --dir DIR --cluster demo --tls-dir TLS \\
        --port 7201 --http-port 9601 --user failoverd --password-file FILE \\
        --instance 127.0.0.1:33061 --instance 127.0.0.2:33062 ...
    python3 -m rig.agents stop --dir DIR

Agent i is named db<i> (its certificate TLS/db<i>.crt), listens on the i-th
instance's host and fences that instance's mysqld ([mysql] section).

The sampler dumps the addresses of every host with one rtnetlink RTM_GETADDR request
per host per round, on NETLINK_ROUTE sockets opened inside each namespace once (a
socket keeps the namespace it was created in), so a round over three hosts takes well
under a millisecond and nothing is forked while sampling."""

import argparse
import ctypes
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

if __package__ in (None, ""):  # run as a file: make `rig` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rig.util import (Proc, RigError, TestFailure, pid_alive, port_free, register_cleanup,  # noqa: E402
                      stop_all, stop_foreign_pid, tail, unregister_cleanup, wait_for)

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


# What a VIP-less [cluster] section lists while the agent cannot load one without a vip
# line (agent/config.c requires one per cluster): an address in 127/8 that nothing uses,
# on lo. The cluster has no vip in failoverd's configuration, so no controller ever
# sends AcquireVip for it (controller/vip/vipmgr.c skips VIP-less clusters); the agent
# only ever deletes it at start if it were present, which it never is.
PLACEHOLDER_VIP = "127.255.255.254/32 lo"
_vipless = {}


def vipless_section():
    """True if this failover-agent accepts a [cluster NAME] section without vip lines
    (a cluster whose agent only fences and reports, no VIP); False if it still demands
    one, in which case VIP-less configs list PLACEHOLDER_VIP. Asked once per process
    with --check-config on a throw-away config."""
    if AGENT_BIN not in _vipless:
        d = tempfile.mkdtemp(prefix="fo-agent-check-")
        try:
            conf = os.path.join(d, "agent.conf")
            os.makedirs(os.path.join(d, "state"))
            with open(conf, "w") as f:
                f.write(f"[agent]\nlisten = 127.0.0.1:1\nstate_dir = {d}/state\ninsecure = yes\n\n[cluster c]\n")
            r = subprocess.run([AGENT_BIN, "--config", conf, "--check-config"], capture_output=True, text=True,
                               timeout=30, stdin=subprocess.DEVNULL)
            if r.returncode != 0 and "vip: missing" not in r.stderr:
                raise RigError(f"failover-agent --check-config on a VIP-less config: exit {r.returncode}: "
                               f"{r.stderr.strip()}")
            _vipless[AGENT_BIN] = r.returncode == 0
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return _vipless[AGENT_BIN]


class AgentRig:
    def __init__(self, net, hosts, cluster, vip, interface="eth0", port=7201, http_port=9601, certs=None,
                 lease_read_only=None, mysql=None, log_level="debug", base_dir=None, addrs=None, detach=False):
        """hosts: {index: namespace host} (with net=None: {index: name}, the name of the
        agent's certificate); vip: "a.b.c.d/len", or a list of them (the writer and
        reader VIPs the agents may hold), or None for a VIP-less cluster; certs: a
        directory with the cluster CA (None = insecure = yes); lease_read_only: True /
        False writes the key, None leaves it out so that the agent's default (yes)
        applies, as with the example configs; mysql: {index: (host, port, user,
        password_file)} for the agents' [mysql] sections (optional).
        net=None: agent i runs outside any namespace on addrs[i] (required then, e.g.
        {1: "127.0.0.1", 2: "127.0.0.2"}), its /metrics on addrs[i]:http_port.
        detach: the agents outlive this process and base_dir is kept (command line)."""
        if not os.path.exists(AGENT_BIN):
            raise RigError(f"{AGENT_BIN} not built")
        if net is None and sorted(addrs or {}) != sorted(hosts):
            raise RigError("without net=, addrs must give every agent's address")
        self.net = net
        self.hosts = dict(hosts)
        self.addrs = dict(addrs or {})
        self.cluster = cluster
        self.vip = vip
        self.interface = interface
        self.port = port
        self.http_port = http_port
        self.certs = certs
        self.lease_read_only = lease_read_only
        self.mysql = dict(mysql or {})
        self.log_level = log_level
        self.detach = detach
        self.base_dir = base_dir or tempfile.mkdtemp(prefix="fo-agents-")
        self.procs = {}
        self._cleanup = None
        if not detach:
            self._cleanup = self.teardown
            register_cleanup(self._cleanup)
        if certs is not None:
            missing = [i for i, h in self.hosts.items() if not os.path.exists(os.path.join(certs, f"{h}.crt"))]
            if missing:
                gen_certs(certs, [f"agent:{self.hosts[i]},{self.addr(i)}" for i in missing])

    def addr(self, i):
        """The IP agent i listens on."""
        return self.addrs[i] if self.net is None else self.net.addr(self.hosts[i])

    def address(self, i):
        return f"{self.addr(i)}:{self.port}"

    def http_address(self, i):
        # In a namespace each agent has its own 127.0.0.1; outside, they share the
        # machine's and are told apart by address.
        return f"{'127.0.0.1' if self.net is not None else self.addr(i)}:{self.http_port}"

    def conf_path(self, i):
        return os.path.join(self.base_dir, f"a{i}", "agent.conf")

    def log_path(self, i):
        return os.path.join(self.base_dir, f"a{i}", "agent.log")

    def cluster_lines(self):
        vips = [] if self.vip is None else [self.vip] if isinstance(self.vip, str) else list(self.vip)
        L = [f"[cluster {self.cluster}]"] + [f"vip = {v} {self.interface}" for v in vips]
        if not vips:
            if vipless_section():
                L.insert(0, "; no VIP: this agent answers Status and fences its mysqld (FenceMysql)")
            else:
                L = ["; no VIP: this agent answers Status and fences its mysqld (FenceMysql). This",
                     "; failover-agent wants a vip line in every [cluster] section: an address",
                     "; that no controller asks for (the cluster has none in failoverd.conf)"] + L
                L.append(f"vip = {PLACEHOLDER_VIP}")
        return L

    def write_config(self, i):
        h = self.hosts[i]
        d = os.path.join(self.base_dir, f"a{i}")
        # 0750: the agent narrows a wider state_dir itself, with a warning.
        os.makedirs(os.path.join(d, "state"), mode=0o750, exist_ok=True)
        L = ["[agent]", f"listen = {self.address(i)}", f"http_address = {self.http_address(i)}",
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
        L += [""] + self.cluster_lines() + [""]
        with open(self.conf_path(i), "w") as f:
            f.write("\n".join(L))

    def _connect(self, i, port):
        host = self.addr(i) if self.net is None or port == self.port else "127.0.0.1"
        if self.net is None:
            return socket.create_connection((host, port), timeout=1)
        return in_netns(self.net.ns(self.hosts[i]), lambda: socket.create_connection((host, port), timeout=1))

    def start(self, i):
        self.write_config(i)
        argv = [AGENT_BIN, "--config", self.conf_path(i)]
        if self.net is None:
            busy = [p for p in (self.port, self.http_port) if not port_free(p, self.addr(i))]
            if busy:
                raise RigError(f"failover-agent {i}: port(s) {busy} on {self.addr(i)} already in use")
        else:
            argv = self.net.wrap(self.hosts[i], argv)
        p = Proc(f"agent{i}", argv, self.log_path(i), detach=self.detach).start()
        self.procs[i] = p

        def listening():
            # The agent opens its RPC port before its HTTP port, so an answer on /metrics
            # means both listen; a bare connect to the RPC port would be logged by the
            # agent as a failed TLS handshake.
            if not p.alive():
                raise RigError(f"failover-agent {i} {p.describe_exit()}:\n{tail(self.log_path(i))}")
            return self.metrics(i) is not None
        wait_for(listening, 15, f"failover-agent {i} to listen on {self.address(i)}")

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
        if self.net is None:
            raise RigError("holders() needs namespace hosts (net=)")
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
        s = self._connect(i, self.http_port)
        try:
            s.settimeout(5)
            s.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        finally:
            s.close()
        text = b"".join(chunks).decode()
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

    def write_state(self):
        st = {"base_dir": self.base_dir,
              "agents": [{"index": i, "name": self.hosts[i], "pid": p.pid, "listen": self.address(i),
                          "http": self.http_address(i), "conf": self.conf_path(i), "log": self.log_path(i)}
                         for i, p in sorted(self.procs.items())]}
        path = os.path.join(self.base_dir, STATE_FILE)
        with open(path + ".tmp", "w") as f:
            json.dump(st, f, indent=2)
        os.replace(path + ".tmp", path)

    def teardown(self):
        for i in list(self.procs):
            p = self.procs.pop(i)
            if p.alive():
                p.stop(20)
        if self._cleanup is not None:
            unregister_cleanup(self._cleanup)
            self._cleanup = None
        if os.environ.get("FO_KEEP_RIG"):
            print(f"rig: keeping {self.base_dir} (FO_KEEP_RIG)", file=sys.stderr)
        elif not self.detach:
            shutil.rmtree(self.base_dir, ignore_errors=True)


# ---------------------------------------------------------------- command line

STATE_FILE = "agents.json"


def _split_hostport(s):
    host, sep, port = s.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise RigError(f"--instance {s!r}: expected HOST:PORT")
    return host, int(port)


def _cli_start(a):
    path = os.path.join(a.dir, STATE_FILE)
    if os.path.exists(path):
        with open(path) as f:
            st = json.load(f)
        if any(x.get("pid") and pid_alive(x["pid"]) for x in st["agents"]):
            print(f"failover-agents in {a.dir} are already running", file=sys.stderr)
            return 1
    if os.path.exists(os.path.join(a.dir, "a1")):
        print(f"{a.dir} holds previous (stopped) agents; remove it first", file=sys.stderr)
        return 1
    if not a.instance:
        print("at least one --instance HOST:PORT is needed", file=sys.stderr)
        return 2
    inst = {i: _split_hostport(x) for i, x in enumerate(a.instance, 1)}
    hosts = [h for h, _ in inst.values()]
    if len(set(hosts)) != len(hosts):
        print(f"every --instance needs its own host (one agent per host at one port): {hosts}", file=sys.stderr)
        return 2
    pwfile = os.path.abspath(a.password_file)
    os.makedirs(a.dir, exist_ok=True)
    rig = AgentRig(None, {i: f"db{i}" for i in inst}, a.cluster, None, port=a.port, http_port=a.http_port,
                   certs=os.path.abspath(a.tls_dir), log_level=a.log_level, base_dir=os.path.abspath(a.dir),
                   addrs={i: h for i, (h, _) in inst.items()},
                   mysql={i: (h, p, a.user, pwfile) for i, (h, p) in inst.items()}, detach=True)
    try:
        rig.start_all()
        rig.write_state()
    except BaseException:
        rig.dump_logs()
        stop_all(list(rig.procs.values()))
        raise
    for i in sorted(rig.procs):
        h, p = inst[i]
        print(f"agent{i} {rig.procs[i].pid} listen={rig.address(i)} http={rig.http_address(i)} mysql={h}:{p}")
    return 0


def _cli_stop(a):
    path = os.path.join(a.dir, STATE_FILE)
    if not os.path.exists(path):
        print(f"no {STATE_FILE} in {a.dir}: nothing to stop", file=sys.stderr)
        return 0
    with open(path) as f:
        st = json.load(f)
    for x in st["agents"]:
        if x.get("pid"):
            print(f"agent{x['index']} (pid {x['pid']}): {stop_foreign_pid(x['pid'], x['conf'], 20)}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m rig.agents", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("start", help="write configs, start one failover-agent per instance host and exit")
    p.add_argument("--dir", required=True)
    p.add_argument("--cluster", required=True, help="the [cluster NAME] the agents serve (no VIP)")
    p.add_argument("--tls-dir", required=True, help="the controllers' CA (ca.crt); agent certificates "
                   "db<N>.crt/.key are made there with deploy/gen-certs.sh if missing")
    p.add_argument("--port", type=int, default=7201, help="agent RPC port on every host (the cluster's agent_port)")
    p.add_argument("--http-port", type=int, default=9601, help="/metrics port on every host")
    p.add_argument("--user", default="failoverd", help="the MySQL account the agents fence with")
    p.add_argument("--password-file", required=True)
    p.add_argument("--instance", action="append", default=[], help="HOST:PORT of a mysqld; its agent "
                   "listens on HOST")
    p.add_argument("--log-level", default="info")
    p = sub.add_parser("stop", help="stop the agents recorded in DIR/agents.json, by pid")
    p.add_argument("--dir", required=True)
    a = ap.parse_args(argv)
    try:
        return {"start": _cli_start, "stop": _cli_stop}[a.cmd](a)
    except (RigError, TestFailure) as e:
        print(f"rig.agents: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
