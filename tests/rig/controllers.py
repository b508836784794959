"""failoverd nodes for tests, benchmarks and the quickstart.

    with ControllerRig(n=3, base_port=24200, clusters=[Cluster("demo", db.password_file,
                       ["127.0.0.1:24100", "127.0.0.1:24101"])]) as c:
        c.start_all(); lid = c.wait_leader(10)
        rc, js = c.ctl(["clusters"], controller=2)     # build/bin/failoverctl --json
        c.kill9(lid); c.restart(lid)
        c.metric(1, "failoverd_raft_leader")             # parsed /metrics

Node i (1-based) uses admin port admin_base+i-1, raft raft_base+i-1 and HTTP
http_base+i-1 (defaults: base_port, base_port+20, base_port+40), all on 127.0.0.1.
Its config (common/config.h), data dir and log (the daemon's stderr) live in
<rig dir>/n<i>/.

TLS (issue 4): by default the admin RPC is mutual TLS. The rig makes, with
deploy/gen-certs.sh and once per rig (in tls_dir, default <rig dir>/tls), a CA, a
controller certificate ctl<i> per node whose subjectAltName is the node's admin IP
and its node id (node=i: URI failoverd://node/i, issue 8; made when the node's config
is first written) and a client certificate `admin`;
every failoverctl run gets --ca/--cert/--key (ctl(tls=[...]) replaces them, e.g. []
for none). insecure=True writes `[tls] insecure = yes` and runs failoverctl with
--insecure instead. make_cert() makes further certificates (another role, another
CA) for tests of refusals. Nodes listed in `peers` (default 1..n) form the initial
configuration; any other node started with add_node() starts empty and waits for
`failoverctl member add`. Each process is stopped by its pid.

Command line (used by deploy/quickstart.sh; nodes keep running after it exits):
    python3 -m rig.controllers start --dir DIR --nodes 3 --admin-base 7001 \\
        --raft-base 7101 --http-base 9501 --cluster demo --user failoverd \\
        --password-file FILE --instance 127.0.0.1:33061 --instance ... \\
        [--repl-user repl --repl-password-file FILE] [--agent-port PORT] \\
        [--tls-dir TLSDIR | --insecure]
--repl-user/--repl-password-file register the cluster's replication account, with
which failoverd points a former primary at the new one (rejoin); without it a former
primary is left read-only and not replicating. Every password file must lie in the
directory of the first one (the nodes' secrets_dir). --agent-port is the cluster's
agent_port: failoverd reaches an instance's failover-agent at the instance's host and
that port (the quickstart runs one per server with `python3 -m rig.agents start`).
    python3 -m rig.controllers stop --dir DIR"""

import argparse
import json
import math
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

if __package__ in (None, ""):  # run as a file: make `rig` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rig.util import (Proc, RigError, TestFailure, NotYet, register_cleanup,  # noqa: E402
                      unregister_cleanup, require_ports_free, stop_all, stop_foreign_pid,
                      tail, wait_for, pid_alive, check)

HOST = "127.0.0.1"
STATE_FILE = "controllers.json"
CLIENT_CERT = "admin"  # the rig's failoverctl certificate (role client)

# failoverctl exit codes (client/): 0 ok, 1 refused, 2 bad args, 3 unreachable or
# protocol error, 4 no leader.
EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NO_LEADER = 0, 1, 2, 3, 4


def source_dir():
    return os.environ.get("FO_SOURCE_DIR") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_dir():
    return os.environ.get("FO_BUILD_DIR") or os.path.join(source_dir(), "build")


def binary(name):
    p = os.path.join(build_dir(), "bin", name)
    if not os.access(p, os.X_OK):
        raise RigError(f"{p} not found or not executable (build first: cmake --build build)")
    return p


def require_binaries():
    """Fails early (before any server is started) if the build is missing."""
    return binary("failoverd"), binary("failoverctl")


def gen_certs(out_dir, *entries):
    """deploy/gen-certs.sh --out out_dir ROLE:NAME[,IP...] ...: makes the CA in out_dir
    if needed and each certificate (kept if it is already right)."""
    script = os.path.join(source_dir(), "deploy", "gen-certs.sh")
    r = subprocess.run([script, "--out", out_dir] + list(entries), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RigError(f"gen-certs.sh {' '.join(entries)} failed (exit {r.returncode}): "
                       f"{(r.stderr or r.stdout).strip()}")


def cert_paths(out_dir, name):
    """(certificate, key) of NAME as gen-certs.sh writes them."""
    return os.path.join(out_dir, f"{name}.crt"), os.path.join(out_dir, f"{name}.key")


def secrets_dir_for(clusters):
    """The temporary directory when every configured password file is inside it (tests
    also register clusters at run time with files in other temporary directories),
    else the deepest directory holding them all (the quickstart's .quickstart/)."""
    tmp = os.path.realpath(tempfile.gettempdir())
    paths = [os.path.dirname(os.path.realpath(p)) for c in clusters
             for p in (c.password_file, c.options.get("repl_password_file")) if p]
    if all(os.path.commonpath([tmp, p]) == tmp for p in paths):
        return tmp
    return os.path.commonpath(paths)


class Cluster:
    """A [cluster NAME] section: instances are "HOST:PORT" or "HOST:PORT RULE".
    Further keys (repl_user, repl_password_file, semi_sync, anti_flap_s, max_lag_s,
    see common/config.h) are given as keyword arguments and written as they are."""

    def __init__(self, name, password_file, instances, user="failoverd", **options):
        self.name = name
        self.user = user
        self.password_file = password_file
        self.instances = list(instances)
        self.options = {k: v for k, v in options.items() if v is not None}


# ---------------------------------------------------------------- metrics

class Sample:
    __slots__ = ("name", "labels", "value")

    def __init__(self, name, labels, value):
        self.name, self.labels, self.value = name, labels, value

    def __repr__(self):
        lab = ",".join(f'{k}="{v}"' for k, v in self.labels.items())
        return f"{self.name}{{{lab}}} {self.value}"


def _parse_labels(s, line):
    labels, i, n = {}, 0, len(s)
    while i < n:
        while i < n and s[i] in " ,":
            i += 1
        if i >= n:
            break
        eq = s.find("=", i)
        if eq < 0 or eq + 1 >= n or s[eq + 1] != '"':
            raise ValueError(f"bad labels in metrics line {line!r}")
        name = s[i:eq].strip()
        i, val = eq + 2, []
        while True:
            if i >= n:
                raise ValueError(f"unterminated label value in metrics line {line!r}")
            c = s[i]
            if c == "\\" and i + 1 < n:
                val.append({"n": "\n", "\\": "\\", '"': '"'}.get(s[i + 1], "\\" + s[i + 1]))
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                val.append(c)
                i += 1
        labels[name] = "".join(val)
    return labels


def parse_metrics(text):
    """Prometheus text format -> list of Sample. Raises ValueError on a bad line."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "{" in line:
            name, rest = line.split("{", 1)
            close = rest.rfind("}")
            if close < 0:
                raise ValueError(f"bad metrics line {line!r}")
            labels = _parse_labels(rest[:close], line)
            fields = rest[close + 1:].split()
        else:
            parts = line.split()
            name, labels, fields = parts[0], {}, parts[1:]
        if not fields:
            raise ValueError(f"metrics line without a value: {line!r}")
        v = fields[0]
        value = {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}.get(v)
        out.append(Sample(name.strip(), labels, float(v) if value is None else value))
    return out


def find_samples(samples, name, **labels):
    return [s for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]


# ---------------------------------------------------------------- failoverctl

class CtlResult:
    """Result of one failoverctl run; unpacks as (rc, data)."""

    def __init__(self, argv, rc, stdout, stderr, data, json_error):
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr
        self.data, self.json_error = data, json_error

    def __iter__(self):
        return iter((self.rc, self.data))

    def describe(self):
        cmd = " ".join(self.argv[1:])
        s = f"`failoverctl {cmd}` exited {self.rc}"
        if self.stdout.strip():
            s += f"; stdout: {self.stdout.strip()[:2000]}"
        if self.stderr.strip():
            s += f"; stderr: {self.stderr.strip()[:2000]}"
        if self.json_error:
            s += f"; {self.json_error}"
        return s


class CtlError(RigError):
    def __init__(self, result):
        super().__init__(result.describe())
        self.result = result


# ---------------------------------------------------------------- nodes

class Node:
    def __init__(self, rig, node_id):
        self.rig = rig
        self.id = node_id
        self.admin_port = rig.admin_base + node_id - 1
        self.raft_port = rig.raft_base + node_id - 1
        self.http_port = rig.http_base + node_id - 1
        # In a namespace rig, node i runs inside namespace host hosts[i], on its address.
        self.netns = rig.hosts.get(node_id) if rig.net is not None else None
        self.host = rig.net.addr(self.netns) if self.netns is not None else HOST
        self.dir = os.path.join(rig.base_dir, f"n{node_id}")
        self.data_dir = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "failoverd.conf")
        self.log = os.path.join(self.dir, "failoverd.log")
        self.proc = None

    admin = property(lambda self: f"{self.host}:{self.admin_port}")
    raft = property(lambda self: f"{self.host}:{self.raft_port}")
    http = property(lambda self: f"{self.host}:{self.http_port}")

    @property
    def pid(self):
        return self.proc.pid if self.proc else None


class ControllerRig:
    def __init__(self, n=3, base_port=24200, base_dir=None, peers=None, admin_base=None,
                 raft_base=None, http_base=None, election_timeout_ms=1000, heartbeat_timeout_ms=100,
                 snapshot_threshold=None, snapshot_trailing=None, probe=None, clusters=(),
                 log_level="info", detach=False, keep=None, extra_failoverd=None,
                 failover=None, net=None, hosts=None, insecure=False, tls_dir=None, cert_hosts=None):
        """failover: keys of the node-local [failover] section (common/config.h).
        net/hosts: run node i inside namespace host hosts[i] of the NetnsRig `net`
        (rig.netns) on that host's address; failoverctl and HTTP requests to a node
        then run inside its namespace (see ctl(), http_get()).
        insecure: plain TCP admin RPC ([tls] insecure = yes, failoverctl --insecure).
        tls_dir: where the CA and certificates are (made there if missing; default
        <rig dir>/tls). cert_hosts: {node id: "IP[,IP...]"} to put in a node's
        certificate instead of its admin IP (tests of a server naming another address)."""
        self.net = net
        self.hosts = dict(hosts or {})
        if net is not None and sorted(self.hosts) != list(range(1, n + 1)):
            raise RigError("with net=, hosts must map every node id 1..n to a namespace host")
        self.failover = dict(failover or {})
        self.n = n
        self.admin_base = admin_base or base_port
        self.raft_base = raft_base or base_port + 20
        self.http_base = http_base or base_port + 40
        self.election_timeout_ms = election_timeout_ms
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.snapshot_threshold = snapshot_threshold
        self.snapshot_trailing = snapshot_trailing
        self.probe = dict(probe or {})
        self.clusters = list(clusters)
        self.log_level = log_level
        self.extra_failoverd = dict(extra_failoverd or {})
        # Password files must lie inside secrets_dir (issue 9).
        self.extra_failoverd.setdefault("secrets_dir", secrets_dir_for(self.clusters))
        self.detach = detach
        self.keep = keep if keep is not None else bool(os.environ.get("FO_KEEP_RIG"))
        self.failoverd = binary("failoverd")
        self.failoverctl = binary("failoverctl")
        self.owns_dir = base_dir is None
        self.base_dir = os.path.abspath(base_dir) if base_dir else tempfile.mkdtemp(prefix="fo-ctl-")
        self.nodes = {i: Node(self, i) for i in range(1, n + 1)}
        self.peers = list(peers) if peers else list(range(1, n + 1))
        self.transcript = []  # every failoverctl result, for "no password in output" checks
        self.insecure = insecure
        self.tls_dir = os.path.abspath(tls_dir) if tls_dir else os.path.join(self.base_dir, "tls")
        self.cert_hosts = dict(cert_hosts or {})
        self.ca_file = os.path.join(self.tls_dir, "ca.crt")
        self.client_cert, self.client_key = cert_paths(self.tls_dir, CLIENT_CERT)
        self._torn_down = False
        if not self.detach:
            register_cleanup(self.teardown)

    # ------------------------------------------------------------ lifecycle

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_logs()
        self.teardown()
        return False

    def config_text(self, node_id):
        nd = self.nodes[node_id]
        L = ["; written by tests/rig/controllers.py", "[failoverd]",
             f"node_id = {nd.id}", f"raft_address = {nd.raft}", f"admin_address = {nd.admin}",
             f"http_address = {nd.http}", f"data_dir = {nd.data_dir}",
             f"election_timeout_ms = {self.election_timeout_ms}",
             f"heartbeat_timeout_ms = {self.heartbeat_timeout_ms}"]
        if self.snapshot_threshold is not None:
            L.append(f"snapshot_threshold = {self.snapshot_threshold}")
        if self.snapshot_trailing is not None:
            L.append(f"snapshot_trailing = {self.snapshot_trailing}")
        L.append(f"log_level = {self.log_level}")
        L += [f"{k} = {v}" for k, v in self.extra_failoverd.items()]
        for pid in self.peers:
            p = self.node(pid)
            L += ["", f"[peer {p.id}]", f"raft_address = {p.raft}", f"admin_address = {p.admin}",
                  f"http_address = {p.http}"]
        if self.probe:
            L += ["", "[probe]"] + [f"{k} = {v}" for k, v in self.probe.items()]
        if self.failover:
            L += ["", "[failover]"] + [f"{k} = {v}" for k, v in self.failover.items()]
        if self.insecure:
            L += ["", "[tls]", "insecure = yes"]
        else:
            crt, key = self.node_cert(node_id)
            L += ["", "[tls]", f"ca_file = {self.ca_file}", f"cert_file = {crt}", f"key_file = {key}",
                  "insecure = no"]
        for c in self.clusters:
            L += ["", f"[cluster {c.name}]", f"user = {c.user}", f"password_file = {c.password_file}"]
            L += [f"instance = {i}" for i in c.instances]
            for k, v in getattr(c, "options", {}).items():  # a list value: one line each (reader_vip)
                L += [f"{k} = {x}" for x in v] if isinstance(v, (list, tuple)) else [f"{k} = {v}"]
        return "\n".join(L) + "\n"

    def node(self, node_id):
        if node_id not in self.nodes:
            self.nodes[node_id] = Node(self, node_id)
        return self.nodes[node_id]

    # ------------------------------------------------------------ certificates

    def _cert_entry(self, node_id):
        return f"controller:ctl{node_id},{self.cert_hosts.get(node_id, self.node(node_id).host)},node={node_id}"

    def make_certs(self, node_ids=None):
        """The CA, the client certificate and the given nodes' (default: every node
        known so far) controller certificates, in one gen-certs.sh run."""
        ids = sorted(self.nodes) if node_ids is None else list(node_ids)
        gen_certs(self.tls_dir, f"client:{CLIENT_CERT}", *[self._cert_entry(i) for i in ids])

    def node_cert(self, node_id):
        """(certificate, key) of node_id's controller certificate, made if missing."""
        crt, key = cert_paths(self.tls_dir, f"ctl{node_id}")
        if not (os.path.exists(crt) and os.path.exists(key) and os.path.exists(self.client_cert)):
            self.make_certs([node_id])
        return crt, key

    def make_cert(self, role, name, hosts=(), out_dir=None, node=None):
        """Another certificate, by this rig's CA or (out_dir elsewhere) another one's;
        node: the node id a controller certificate binds (node=ID). Returns
        (certificate, key, ca)."""
        out = out_dir or self.tls_dir
        gen_certs(out, f"{role}:{name}" + "".join(f",{h}" for h in hosts) + (f",node={node}" if node else ""))
        crt, key = cert_paths(out, name)
        return crt, key, os.path.join(out, "ca.crt")

    def tls_args(self):
        """failoverctl's transport options for this rig."""
        if self.insecure:
            return ["--insecure"]
        if not os.path.exists(self.client_cert):
            self.make_certs([])
        return ["--ca", self.ca_file, "--cert", self.client_cert, "--key", self.client_key]

    def write_config(self, node_id):
        nd = self.node(node_id)
        os.makedirs(nd.data_dir, exist_ok=True)
        with open(nd.conf, "w") as f:
            f.write(self.config_text(node_id))
        return nd.conf

    def start(self, node_id, wait=True):
        """Starts node node_id (writing its config the first time); waits for /health."""
        nd = self.node(node_id)
        if nd.proc is not None and nd.proc.alive():
            raise RigError(f"failoverd {node_id} already running (pid {nd.pid})")
        if nd.netns is None:
            require_ports_free([nd.admin_port, nd.raft_port, nd.http_port], f"failoverd {node_id}")
        if not os.path.exists(nd.conf):
            self.write_config(node_id)
        argv = [self.failoverd, "--config", nd.conf]
        if nd.netns is not None:
            argv = self.net.wrap(nd.netns, argv)
        nd.proc = Proc(f"failoverd{node_id}", argv, nd.log, detach=self.detach).start()
        if wait:
            self.wait_up(node_id)
        return nd

    def start_all(self, wait=True):
        ids = list(self.peers)
        if not self.insecure:
            self.make_certs(ids)  # one gen-certs.sh run rather than one per node
        for i in ids:
            self.start(i, wait=False)
        if wait:
            for i in ids:
                self.wait_up(i)

    def add_node(self, node_id, wait=True):
        """Starts a node that is not in the initial configuration (it waits to be added)."""
        check(node_id not in self.peers, f"node {node_id} is an initial peer")
        return self.start(node_id, wait=wait)

    def wait_up(self, node_id, timeout=20.0):
        nd = self.nodes[node_id]

        def up():
            if not nd.proc.alive():
                raise RigError(f"failoverd {node_id} {nd.proc.describe_exit()} while starting; "
                               f"{nd.log}:\n{tail(nd.log, 30)}")
            code, body = self.http_get(node_id, "/health", timeout=1.0)
            if code != 200:
                raise NotYet(f"/health on node {node_id} returned {code}")
            return True
        wait_for(up, timeout, f"failoverd {node_id} to serve /health on {nd.http}")

    def running(self, node_id):
        nd = self.nodes.get(node_id)
        return nd is not None and nd.proc is not None and nd.proc.alive()

    def running_ids(self):
        return [i for i in sorted(self.nodes) if self.running(i)]

    def stop(self, node_id, timeout=30.0):
        """SIGTERM and wait; returns the exit code (a clean stop is 0)."""
        nd = self.nodes[node_id]
        if not self.running(node_id):
            raise RigError(f"failoverd {node_id} is not running")
        return nd.proc.stop(timeout)

    def kill9(self, node_id):
        if not self.running(node_id):
            raise RigError(f"failoverd {node_id} is not running")
        return self.nodes[node_id].proc.kill9()

    def restart(self, node_id, wait=True):
        """Starts node_id again with the same config and data dir."""
        return self.start(node_id, wait=wait)

    def teardown(self):
        if self._torn_down:
            return
        self._torn_down = True
        unregister_cleanup(self.teardown)
        stop_all([nd.proc for nd in self.nodes.values()], timeout=30.0)
        if self.keep:
            print(f"rig: keeping {self.base_dir} (FO_KEEP_RIG)", file=sys.stderr)
        elif self.owns_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def dump_logs(self, n=40):
        for nd in self.nodes.values():
            if nd.proc is None:
                state = "never started"
            elif nd.proc.alive():
                state = f"running, pid {nd.pid}"
            else:
                state = nd.proc.describe_exit()
            print(f"----- failoverd {nd.id} ({state}): tail of {nd.log}", flush=True)
            print(tail(nd.log, n), flush=True)

    def logs_text(self):
        out = {}
        for nd in self.nodes.values():
            try:
                with open(nd.log, "rb") as f:
                    out[nd.id] = f.read().decode("utf-8", "replace")
            except FileNotFoundError:
                out[nd.id] = ""
        return out

    # ------------------------------------------------------------ failoverctl

    def _addr(self, controller):
        if controller is None:
            ids = self.running_ids()
            if not ids:
                raise RigError("no failoverd node is running")
            return self.nodes[ids[0]].admin
        if isinstance(controller, int):
            return self.nodes[controller].admin
        return controller

    def _ctl_netns(self, controller, netns):
        """The namespace host failoverctl runs in: `netns` if given, else the asked
        node's own, else the first running node's (None outside a namespace rig)."""
        if self.net is None:
            return None
        if netns is not None:
            return netns
        if isinstance(controller, int):
            return self.nodes[controller].netns
        ids = self.running_ids() or sorted(self.nodes)
        return self.nodes[ids[0]].netns

    def ctl(self, args, controller=None, json_out=True, timeout_ms=None, proc_timeout=60, netns=None,
            tls=None, env=None, **kw):
        """Runs failoverctl against `controller` (node id, "host:port", or the first
        running node) and returns a CtlResult, which unpacks as (rc, data): data is
        the parsed --json output (None if unparsable), or stdout text if json_out is
        False. `json=` is accepted as an alias of json_out. In a namespace rig it runs
        inside `netns` (a namespace host), by default the asked node's. tls: the
        transport options to pass instead of the rig's (tls_args()), e.g. [] for
        none; env: extra environment variables (FAILOVERCTL_* are removed first)."""
        if "json" in kw:
            json_out = kw.pop("json")
        if kw:
            raise TypeError(f"unexpected arguments {sorted(kw)}")
        argv = [self.failoverctl, "--controller", self._addr(controller)]
        argv += self.tls_args() if tls is None else list(tls)
        if json_out:
            argv.append("--json")
        if timeout_ms is not None:
            argv += ["--timeout", str(timeout_ms)]
        argv += [str(a) for a in args]
        ns = self._ctl_netns(controller, netns)
        run_argv = self.net.wrap(ns, argv) if ns is not None else argv
        run_env = {k: v for k, v in os.environ.items() if not k.startswith("FAILOVERCTL_")}
        run_env.update(env or {})
        try:
            r = subprocess.run(run_argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=proc_timeout, env=run_env)
        except subprocess.TimeoutExpired as e:
            raise RigError(f"`failoverctl {' '.join(argv[1:])}` did not exit within {proc_timeout}s "
                           f"(stdout so far: {e.stdout!r})") from None
        data, jerr = (r.stdout, None)
        if json_out:
            text = r.stdout.strip() or r.stderr.strip()
            try:
                data = json.loads(text) if text else None
                if text == "":
                    jerr = "no JSON output"
            except ValueError as e:
                data, jerr = None, f"output is not JSON ({e})"
        res = CtlResult(argv, r.returncode, r.stdout, r.stderr, data, jerr)
        self.transcript.append(res)
        return res

    def ctl_ok(self, args, controller=None, json_out=True, **kw):
        """ctl() that must succeed (exit 0, and parsable JSON when json_out); returns data."""
        res = self.ctl(args, controller=controller, json_out=json_out, **kw)
        if res.rc != 0 or (json_out and res.data is None):
            raise CtlError(res)
        return res.data

    def ctl_write(self, args, controller=None, timeout=10.0, **kw):
        """A write (cluster/instance/member command) that must succeed. Exit 4 (no
        leader: none elected yet, or a leader elected moments ago still catching up)
        means the command was not applied, so it is retried until `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            res = self.ctl(args, controller=controller, **kw)
            if res.rc == 0 and res.data is not None:
                return res.data
            if res.rc != EXIT_NO_LEADER or time.monotonic() >= deadline:
                raise CtlError(res)
            time.sleep(0.05)

    def status(self, node_id):
        return self.ctl_ok(["status"], controller=node_id)

    def self_status(self, node_id):
        """The member entry a node reports about itself in `status`."""
        st = self.status(node_id)
        for m in st.get("members", []):
            if m.get("id") == node_id:
                return m
        raise NotYet(f"node {node_id}'s status has no entry for itself: {st}")

    def leader(self, nodes=None):
        """The leader id that `failoverctl status` reports (the member that says it
        is leader) and that every given (default: running) node names in its own
        failoverd_raft_leader_id. Raises NotYet otherwise."""
        ids = list(nodes or self.running_ids())
        if not ids:
            raise RigError("no failoverd node is running")
        st, errs = None, []
        for i in ids:
            res = self.ctl(["status"], controller=i)
            if res.rc == 0 and isinstance(res.data, dict):
                st = res.data
                break
            errs.append(res.describe())
        if st is None:
            raise NotYet("status: " + " | ".join(errs))
        lid = st.get("leader_id") or 0
        if not lid:
            raise NotYet(f"no member reports itself leader: {st}")
        views = {i: self.metric(i, "failoverd_raft_leader_id") for i in ids}
        if any(v != lid for v in views.values()):
            raise NotYet(f"status says leader {lid}; failoverd_raft_leader_id by node: {views}")
        return lid

    def wait_leader(self, timeout=10.0, nodes=None, exclude=()):
        def ok():
            lid = self.leader(nodes)
            if lid in exclude:
                raise NotYet(f"leader is still {lid}")
            return lid
        return wait_for(ok, timeout, "one leader all nodes agree on"
                        + (f" (other than {sorted(exclude)})" if exclude else ""), interval=0.05)

    def last_applied(self, node_id):
        v = self.metric(node_id, "failoverd_raft_last_applied_index")
        if v is None:
            raise RigError(f"node {node_id} does not export failoverd_raft_last_applied_index")
        return int(v)

    def leader_view(self, node_id):
        """The leader id node_id itself knows (failoverd_raft_leader_id; 0 = none)."""
        v = self.metric(node_id, "failoverd_raft_leader_id")
        return int(v) if v is not None else None

    def followers(self, leader_id):
        return [i for i in self.running_ids() if i != leader_id]

    def wait_caught_up(self, node_id, timeout=20.0, reference=None):
        """Waits until node_id's last applied index (its /metrics) reaches the
        reference node's (default: the leader's) as read when this is called."""
        ref = reference or self.leader()
        target = self.last_applied(ref)

        def ok():
            mine = self.last_applied(node_id)
            if mine >= target:
                return mine
            raise NotYet(f"node {node_id} last_applied={mine} < {target} (node {ref}'s last_applied)")
        return wait_for(ok, timeout, f"node {node_id} to catch up with node {ref}")

    # ------------------------------------------------------------ HTTP

    def http_get(self, node_id, path, timeout=2.0):
        """(status code, body text); connection errors raise OSError."""
        url = f"http://{self.nodes[node_id].http}{path}"
        if self.nodes[node_id].netns is not None:
            return self._http_get_netns(self.nodes[node_id].netns, url, timeout)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            body = e.read().decode("utf-8", "replace") if e.fp else ""
            return e.code, body

    def _http_get_netns(self, host, url, timeout):
        """GET inside a namespace (the test process lives outside every rig
        namespace): curl run there; body and status code from its output."""
        r = self.net.run(host, ["curl", "-sS", "--max-time", f"{timeout:g}", "-o", "-",
                                "-w", "\n%{http_code}", url], timeout=timeout + 10)
        if r.returncode != 0:
            raise OSError(f"curl {url} in {host}: exit {r.returncode}: {r.stderr.strip()}")
        body, _, code = r.stdout.rpartition("\n")
        return int(code), body

    def metrics_text(self, node_id):
        code, body = self.http_get(node_id, "/metrics")
        if code != 200:
            raise RigError(f"/metrics on node {node_id} returned HTTP {code}: {body[:300]}")
        return body

    def metrics(self, node_id):
        return parse_metrics(self.metrics_text(node_id))

    def metric(self, node_id, name, samples=None, **labels):
        """Value of the first sample of `name` with these labels, or None."""
        found = find_samples(samples if samples is not None else self.metrics(node_id), name, **labels)
        return found[0].value if found else None

    # ------------------------------------------------------------ raw admin socket

    def client_tls(self, cert=None, key=None, ca=None, client_cert=True):
        """An ssl.SSLContext for raw admin sessions (admin_raw): trusts `ca` (default
        the rig's CA), checks that the node's certificate names the IP dialled, and
        presents cert/key (default the rig's client certificate; none if
        client_cert is False)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(ca or self.ca_file)
        if client_cert:
            if cert is None:
                self.tls_args()  # makes the client certificate if needed
            ctx.load_cert_chain(cert or self.client_cert, key or self.client_key)
        return ctx

    def admin_raw(self, node_id, payload, half_close=False, timeout=5.0, tls=None):
        """Sends raw bytes to a node's admin port and reports how the node reacted:
        ("closed", bytes_received) when it closed the connection, ("open", bytes) if it
        was still open after `timeout` seconds. half_close shuts our write side after
        sending (a frame truncated by EOF; with TLS: a close_notify). tls: an
        ssl.SSLContext (client_tls()) to send the bytes inside a TLS session; then
        ("refused", reason) if the handshake, or a read after it (TLS 1.3 servers judge
        the client's certificate after the client's side is done), fails with a TLS
        error such as the node's alert."""
        nd = self.nodes[node_id]
        s = socket.create_connection((nd.host, nd.admin_port), timeout=timeout)
        got = b""
        try:
            if tls is not None:
                try:
                    s = tls.wrap_socket(s, server_hostname=nd.host)
                except ssl.SSLError as e:
                    return "refused", str(e).encode()
                except (ConnectionResetError, BrokenPipeError):
                    return "closed", got
            if payload:
                s.sendall(payload)
            if half_close:
                if tls is not None:
                    try:
                        s = s.unwrap()
                    except (ssl.SSLError, OSError):
                        return "closed", got
                s.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return "open", got
                s.settimeout(left)
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    return "open", got
                except ssl.SSLError as e:
                    if isinstance(e, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
                        return "closed", got
                    return "refused", str(e).encode()
                except ConnectionResetError:
                    return "closed", got
                if not chunk:
                    return "closed", got
                got += chunk
        finally:
            s.close()

    # ------------------------------------------------------------ state file (CLI)

    def write_state(self):
        st = {"base_dir": self.base_dir,
              "tls": None if self.insecure else {"ca": self.ca_file, "cert": self.client_cert,
                                                 "key": self.client_key},
              "nodes": [{"id": nd.id, "pid": nd.pid, "admin": nd.admin, "raft": nd.raft,
                         "http": nd.http, "conf": nd.conf, "log": nd.log}
                        for nd in self.nodes.values()]}
        path = os.path.join(self.base_dir, STATE_FILE)
        with open(path + ".tmp", "w") as f:
            json.dump(st, f, indent=2)
        os.replace(path + ".tmp", path)


# ---------------------------------------------------------------- command line

def _cli_start(a):
    path = os.path.join(a.dir, STATE_FILE)
    if os.path.exists(path):
        with open(path) as f:
            st = json.load(f)
        if any(n.get("pid") and pid_alive(n["pid"]) for n in st["nodes"]):
            print(f"failoverd nodes in {a.dir} are already running", file=sys.stderr)
            return 1
    if os.path.exists(os.path.join(a.dir, "n1")):
        print(f"{a.dir} holds previous (stopped) nodes; remove it first", file=sys.stderr)
        return 1
    clusters = []
    if a.cluster:
        if not a.password_file or not a.instance:
            print("--cluster needs --password-file and at least one --instance", file=sys.stderr)
            return 2
        if bool(a.repl_user) != bool(a.repl_password_file):
            print("--repl-user and --repl-password-file go together", file=sys.stderr)
            return 2
        clusters.append(Cluster(a.cluster, os.path.abspath(a.password_file), a.instance, user=a.user,
                                repl_user=a.repl_user or None,
                                repl_password_file=os.path.abspath(a.repl_password_file)
                                if a.repl_password_file else None,
                                agent_port=a.agent_port))
    os.makedirs(a.dir, exist_ok=True)
    rig = ControllerRig(n=a.nodes, base_dir=a.dir, admin_base=a.admin_base, raft_base=a.raft_base,
                        http_base=a.http_base, clusters=clusters, detach=True, keep=True,
                        log_level=a.log_level, insecure=a.insecure, tls_dir=a.tls_dir)
    try:
        rig.start_all()
        rig.write_state()
    except BaseException:
        rig.dump_logs()
        stop_all([nd.proc for nd in rig.nodes.values()])
        raise
    for nd in rig.nodes.values():
        print(f"failoverd{nd.id} {nd.pid} admin={nd.admin} raft={nd.raft} http={nd.http}")
    return 0


def _cli_stop(a):
    path = os.path.join(a.dir, STATE_FILE)
    if not os.path.exists(path):
        print(f"no {STATE_FILE} in {a.dir}: nothing to stop", file=sys.stderr)
        return 0
    with open(path) as f:
        st = json.load(f)
    for n in st["nodes"]:
        if n.get("pid"):
            print(f"failoverd{n['id']} (pid {n['pid']}): {stop_foreign_pid(n['pid'], n['conf'], 30)}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m rig.controllers", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("start", help="write configs, start N failoverd nodes and exit")
    p.add_argument("--dir", required=True)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--admin-base", type=int, default=7001)
    p.add_argument("--raft-base", type=int, default=7101)
    p.add_argument("--http-base", type=int, default=9501)
    p.add_argument("--log-level", default="info")
    p.add_argument("--cluster")
    p.add_argument("--user", default="failoverd")
    p.add_argument("--password-file")
    p.add_argument("--instance", action="append", default=[])
    p.add_argument("--repl-user", help="the cluster's replication account (repl_user)")
    p.add_argument("--repl-password-file", help="its password file (repl_password_file)")
    p.add_argument("--agent-port", type=int, help="failover-agent port on every instance's host (agent_port)")
    p.add_argument("--tls-dir", help="CA and certificates (ca.crt, ctl<N>.crt/.key, admin.crt/.key; "
                   "made there with deploy/gen-certs.sh if missing); default DIR/tls")
    p.add_argument("--insecure", action="store_true", help="plain TCP admin RPC ([tls] insecure = yes)")
    p = sub.add_parser("stop", help="stop the nodes recorded in DIR/controllers.json, by pid")
    p.add_argument("--dir", required=True)
    a = ap.parse_args(argv)
    try:
        return {"start": _cli_start, "stop": _cli_stop}[a.cmd](a)
    except (RigError, TestFailure) as e:
        print(f"rig.controllers: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
