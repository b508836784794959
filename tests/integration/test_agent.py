#!/usr/bin/env python3
"""failover-agent end to end, inside network namespaces (issue: failover-agent).

Hosts db1 (runs the agent, its eth0 is 10.231.0.11/24 plus a veth interface dum0 that the config does not list)
and ctl1 (the test's client connects from there). The client speaks TLS with a
controller certificate (deploy/gen-certs.sh), the 8-byte frame header of
common/frame.h and the protobuf messages of proto/agent.proto, encoded by hand
below (python3-protobuf is not a dependency).

  0. --check-config loads the TLS files and the epochs file: a missing cert, key or CA
     file, or a corrupt epochs file, exits 1 naming it.
  1. AcquireVip epoch 5 -> 10.231.0.100/24 on db1's eth0; Status shows it.
  2. AcquireVip epoch 4 (another allowed VIP) -> FO_ESTALE; nothing changed.
  2b. Epoch 2^64-1 (every RPC), or any jump over max_epoch_jump (1000, also for a
     cluster never seen) -> FO_EPERM, logged, counted, nothing written.
  2c. The epochs and lock files are 0600; the 0755 state_dir is narrowed to 0750.
  3. Interface not in the allow-list, address not allowed, unknown cluster -> refused.
  4. RenewLease keeps it; no more renewals -> the agent deletes the VIP itself.
  5. Garbage, oversized and wrong-version frames -> connection closed; still serves.
  6. Peers with an agent or client certificate, or one from another CA -> refused.
  7. Restart the agent (SIGTERM, exit 0) -> epoch 5 still enforced (4 refused).
  8. /metrics counts the refusals; insecure = yes serves plain TCP and warns.
  10. (run last) The local mysqld (a real mariadbd in db1, [mysql] configured, no
     lease_read_only key: the default, yes): a writer VIP lease that lapses makes the
     agent fence mysqld (read_only=1, a READ_ONLY ADMIN session killed); the leader's
     renew at the same epoch is refused (not held) and its re-acquire at that epoch
     makes mysqld writable again by itself (logged, counted in /metrics); a lapse
     re-acquired at ANOTHER epoch stays read-only; FenceMysql at epoch 13 answers with
     its result (sessions killed, none survived), a renew at 12 is refused and mysqld
     stays read-only, also after a lapse and a re-acquire at 13 (a failover's fence is
     never undone); ReleaseVip removes a hand-added copy of the address (other prefix,
     no lease) and says so (vip_removed), Status shows the address while it is there.
  9. (run between 6 and 7) Per-VIP leases, two VIPs of cluster demo on db1: both
     acquired; renewing only the first lets the second's lease run out and the agent
     deletes that VIP alone; release by name deletes one, release "" all; renew ""
     with nothing held -> FO_ENOTFOUND; a vip not configured for the cluster ->
     FO_EPERM; epochs stay per cluster (epoch 0 is valid for another cluster);
     /metrics has a series per VIP, the epoch once per cluster (promtool accepts
     it; without promtool the test ends as skipped, exit 77, not passed).

Ports (inside the namespaces only): agent 7201, http 9601, mariadbd 23306 (step 10)."""

import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig import netns  # noqa: E402
from rig.agents import in_netns  # noqa: E402
from rig.mariadb import MariaDBRig  # noqa: E402
from rig.pbwire import f_bytes, f_varint, frame, parse, read_varint, varint  # noqa: E402,F401
from rig.util import NotYet, Proc, RigError, check, run_test, skip_part, step, tail, wait_for  # noqa: E402

SRC = os.environ.get("FO_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("FO_BUILD_DIR", os.path.join(SRC, "build"))
AGENT_BIN = os.path.join(BUILD, "bin", "failover-agent")
PORT = 7201
HTTP_PORT = 9601
VIP = "10.231.0.100"
VIP2 = "10.231.0.101"
VIP3 = "10.231.0.102"  # cluster other's only VIP: the writer VIP of step 10
DB_PORT = 23306
FO_ESTALE, FO_EPERM, FO_ENOTFOUND, FO_EINVAL = 20, 22, 10, 2

# ---------------------------------------------------------------- protobuf by hand





def request(rid, kind, body=b""):
    field = {"status": 2, "acquire": 3, "renew": 4, "release": 5, "fence": 6}[kind]
    return f_varint(1, rid) + f_bytes(field, body)


def acquire(cluster, vip, prefix, iface, epoch, lease_ms, writer=False):
    body = (f_bytes(1, cluster) + f_bytes(2, vip) + f_varint(3, prefix) + f_bytes(4, iface) +
            f_varint(5, epoch) + f_varint(6, lease_ms))
    return body + f_varint(7, 1) if writer else body


def epoch_msg(cluster, epoch, vip=None):
    """RenewLease / ReleaseVip / FenceMysql; vip (field 3 of the first two) names one
    lease, left out it means every lease of the cluster."""
    body = f_bytes(1, cluster) + f_varint(2, epoch)
    return body if vip is None else body + f_bytes(3, vip)





# ---------------------------------------------------------------- sockets inside a namespace

def ns_connect(ns, addr, port, timeout=5.0):
    """A TCP socket created inside namespace ns (the socket keeps its namespace, the
    test's own threads keep theirs)."""
    return in_netns(ns, lambda: socket.create_connection((addr, port), timeout=timeout))


class Client:
    def __init__(self, env, cert="ctl1", certdir=None, tls=True):
        self.env = env
        raw = ns_connect(env.net.ns("ctl1"), env.net.addr("db1"), PORT)
        if tls:
            d = certdir or env.certs
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(os.path.join(d, "ca.crt"))
            ctx.load_cert_chain(os.path.join(d, f"{cert}.crt"), os.path.join(d, f"{cert}.key"))
            # The agent's certificate names its address; another CA's client still
            # checks nothing so that the refusal comes from the agent.
            if certdir is not None:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self.s = ctx.wrap_socket(raw, server_hostname=env.net.addr("db1"))
        else:
            self.s = raw
        self.rid = 0

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def send_raw(self, data):
        self.s.sendall(data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed by the agent")
            buf += chunk
        return buf

    def call(self, kind, body=b""):
        self.rid += 1
        self.send_raw(frame(request(self.rid, kind, body)))
        hdr = self.recv_exact(8)
        check(hdr[:2] == b"FO" and hdr[2] == 1 and hdr[3] == 2, f"bad response header {hdr!r}")
        msg = parse(self.recv_exact(struct.unpack(">I", hdr[4:])[0]))
        check(msg.get(1, [0])[0] == self.rid, f"response id {msg.get(1)} != {self.rid}")
        code = msg.get(2, [0])[0]
        error = msg.get(3, [b""])[0].decode()
        return code, error, msg

    def closed_by_peer(self, timeout=5.0):
        """True once the agent has closed the connection (EOF or reset)."""
        self.s.settimeout(timeout)
        try:
            while True:
                if not self.s.recv(4096):
                    return True
        except (ConnectionError, ssl.SSLError, OSError) as e:
            if isinstance(e, socket.timeout):
                return False
            return True


# ---------------------------------------------------------------- environment


class Env:
    def __init__(self, net, tmp):
        self.net = net
        self.tmp = tmp
        self.certs = os.path.join(tmp, "certs")
        self.other_certs = os.path.join(tmp, "other-ca")
        self.state = os.path.join(tmp, "state")
        os.makedirs(self.state)
        self.log = os.path.join(tmp, "agent.log")
        self.conf = os.path.join(tmp, "agent.conf")
        self.proc = None

    def gen_certs(self):
        gen = os.path.join(SRC, "deploy", "gen-certs.sh")
        for out, entries in ((self.certs, ["controller:ctl1", f"agent:db1,{self.net.addr('db1')}",
                                            "agent:db2", "client:admin"]),
                             (self.other_certs, ["controller:ctl1"])):
            r = subprocess.run(["sh", gen, "--out", out] + entries, capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                raise RigError(f"gen-certs.sh failed: {r.stderr.strip()}")

    def write_conf(self, insecure=False, mysql=None):
        """mysql: (host, port, user, password_file) for a [mysql] section; the
        lease_read_only key is never written (its default, yes, applies)."""
        c = self.certs
        extra = ""
        if mysql is not None:
            host, port, user, pwfile = mysql
            extra = (f"\n[mysql]\nhost = {host}\nport = {port}\nuser = {user}\npassword_file = {pwfile}\n"
                     "connect_timeout_ms = 1000\ntimeout_ms = 5000\n")
        with open(self.conf, "w") as f:
            f.write(f"""[agent]
listen = {self.net.addr('db1')}:{PORT}
http_address = 127.0.0.1:{HTTP_PORT}
state_dir = {self.state}
ca_file = {c}/ca.crt
cert_file = {c}/db1.crt
key_file = {c}/db1.key
insecure = {'yes' if insecure else 'no'}
arp_count = 3
arp_interval_ms = 100
log_level = debug

[cluster demo]
vip = {VIP}/24 eth0
vip = {VIP2}/24 eth0

[cluster other]
vip = 10.231.0.102/24 eth0
""" + extra)

    def start(self):
        self.proc = Proc("failover-agent", self.net.wrap("db1", [AGENT_BIN, "--config", self.conf]),
                         self.log).start()

        def listening():
            if not self.proc.alive():
                raise RigError(f"failover-agent {self.proc.describe_exit()}:\n{tail(self.log)}")
            ns_connect(self.net.ns("ctl1"), self.net.addr("db1"), PORT, timeout=1).close()
            return True
        wait_for(listening, 10, "failover-agent to listen")

    def stop(self):
        if self.proc is not None and self.proc.alive():
            rc = self.proc.stop(timeout=20)
            check(rc == 0, f"failover-agent {self.proc.describe_exit()} on SIGTERM:\n{tail(self.log)}")

    def addrs(self, dev="eth0"):
        r = self.net.run("db1", ["ip", "-4", "-o", "addr", "show", "dev", dev], check=True)
        return {line.split()[3] for line in r.stdout.splitlines()}

    def metrics(self):
        s = ns_connect(self.net.ns("db1"), "127.0.0.1", HTTP_PORT)
        try:
            s.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        text = data.decode()
        check(text.startswith("HTTP/1.") and " 200 " in text.split("\r\n")[0], f"bad /metrics: {text[:200]}")
        return text

    def metric(self, line_prefix):
        for line in self.metrics().splitlines():
            if line.startswith(line_prefix + " "):
                return float(line.split()[-1])
        raise NotYet(f"no metric {line_prefix}")


def refused(env, name):
    return env.metric(f'failoverd_agent_rpcs_refused_total{{reason="{name}"}}')


def leases(cli, cluster):
    """Status as {vip "a.b.c.d/len": (lease_state, vip_present, epoch)} for cluster."""
    code, err, msg = cli.call("status")
    check(code == 0, f"status failed: {code} {err}")
    out = {}
    for raw in parse(msg[4][0]).get(1, []):
        row = parse(raw)
        if row[1][0] != cluster.encode():
            continue
        vip = row.get(5, [b""])[0].decode()
        check(vip not in out, f"two status rows for {vip}")
        out[vip] = (row[3][0].decode(), bool(row.get(7, [0])[0]), row.get(2, [0])[0])
    return out


def held(env, vip):
    return env.metric(f'failoverd_agent_vip_held{{cluster="demo",vip="{vip}/24 on eth0"}}')


# ---------------------------------------------------------------- the test


def scenario(env):
    cli = Client(env)
    code, err, _ = cli.call("status")
    check(code == 0, f"status failed: {code} {err}")

    step("1. AcquireVip epoch 5")
    code, err, _ = cli.call("acquire", acquire("demo", VIP, 24, "eth0", 5, 60000))
    check(code == 0, f"acquire epoch 5 refused: {code} {err}")
    check(f"{VIP}/24" in env.addrs(), f"{VIP}/24 not on eth0: {env.addrs()}")
    code, err, msg = cli.call("status")
    st = parse(msg[4][0])
    demo = [parse(c) for c in st.get(1, []) if parse(c)[1][0] == b"demo"][0]
    check(demo[2][0] == 5 and demo[3][0] == b"held" and demo.get(7, [0])[0] == 1,
          f"status for demo: {demo}")

    step("2. AcquireVip epoch 4 -> stale, nothing changed")
    before = env.addrs()
    code, err, _ = cli.call("acquire", acquire("demo", VIP2, 24, "eth0", 4, 60000))
    check(code == FO_ESTALE and "epoch 4 < 5" in err, f"stale acquire: {code} {err}")
    check(env.addrs() == before, f"addresses changed: {before} -> {env.addrs()}")
    code, err, _ = cli.call("release", epoch_msg("demo", 4))
    check(code == FO_ESTALE, f"stale release: {code} {err}")
    check(env.addrs() == before, "stale release changed addresses")

    epoch_window(env, cli, before)

    step("3. not allowed: interface, address, unknown cluster, bad request")
    code, err, _ = cli.call("acquire", acquire("demo", VIP, 24, "dum0", 6, 60000))
    check(code == FO_EPERM and "interface 'dum0' is not allowed" in err, f"dum0: {code} {err}")
    code, err, _ = cli.call("acquire", acquire("demo", "10.231.0.150", 24, "eth0", 6, 60000))
    check(code == FO_EPERM and "not allowed" in err, f"address: {code} {err}")
    code, err, _ = cli.call("acquire", acquire("nosuch", VIP, 24, "eth0", 6, 60000))
    check(code == FO_ENOTFOUND and "unknown cluster" in err, f"unknown cluster: {code} {err}")
    code, err, _ = cli.call("renew", epoch_msg("nosuch", 6))
    check(code == FO_ENOTFOUND, f"unknown cluster renew: {code} {err}")
    code, err, _ = cli.call("acquire", acquire("demo", VIP, 24, "eth0", 6, 0))
    check(code == FO_EINVAL, f"lease_ms 0: {code} {err}")
    check(env.addrs() == before and env.addrs("dum0") == set(), "a refused request changed addresses")
    check(parse(cli.call("status")[2][4][0]) is not None, "status")
    code, err, msg = cli.call("status")
    demo = [parse(c) for c in parse(msg[4][0]).get(1, []) if parse(c)[1][0] == b"demo"][0]
    check(demo[2][0] == 5, f"a refused request raised the epoch: {demo}")

    step("4. lease: renewals keep the VIP; without them the agent removes it")
    code, err, _ = cli.call("acquire", acquire("demo", VIP, 24, "eth0", 5, 1500))
    check(code == 0, f"acquire: {code} {err}")
    t_end = time.monotonic() + 2.5
    while time.monotonic() < t_end:
        code, err, _ = cli.call("renew", epoch_msg("demo", 5))
        check(code == 0, f"renew: {code} {err}")
        check(f"{VIP}/24" in env.addrs(), "VIP vanished while renewed")
        time.sleep(0.4)
    t0 = time.monotonic()
    wait_for(lambda: f"{VIP}/24" not in env.addrs(), 5, "the agent to delete the VIP after its lease")
    gone = time.monotonic() - t0
    check(gone > 0.7, f"VIP deleted {gone:.2f}s after the last renewal, before the 1.5 s lease ran out")
    step(f"VIP deleted {gone:.2f}s after the last renewal (lease 1.5 s)")
    code, err, _ = cli.call("renew", epoch_msg("demo", 5))
    check(code == FO_ENOTFOUND, f"renew after expiry: {code} {err}")
    check(env.metric("failoverd_agent_lease_expired_total") >= 1, "lease expiry not counted")

    step("5. garbage, oversized and wrong-version frames close the connection")
    for what, data in (("garbage", b"this is not a frame at all"),
                       ("oversized", frame(b"", length=64 << 20)),
                       ("wrong version", frame(request(1, "status"), version=9)),
                       ("bad protobuf", frame(b"\xff\xff\xff\xff\xff")),
                       ("response type", frame(request(1, "status"), ftype=2))):
        c = Client(env)
        c.send_raw(data)
        check(c.closed_by_peer(), f"{what}: connection still open")
        c.close()
    check(refused(env, "bad_frame") >= 5, "bad frames not counted")
    code, err, _ = cli.call("status")
    check(code == 0, f"status after bad frames: {code} {err}")

    step("6. wrong roles and another CA are refused")
    before_unauth = refused(env, "unauthenticated")
    for cert, d in (("db2", None), ("admin", None), ("ctl1", env.other_certs)):
        try:
            c = Client(env, cert=cert, certdir=d)
            try:
                code, err, _ = c.call("status")
                # Another DB host's agent certificate passes the handshake (it may relay
                # lease renewals, docs/relayed-lease.md) and is refused anything else.
                check(cert == "db2" and code == 22, f"{cert}: status answered: {code} {err}")
            except AssertionError:
                raise
            except Exception:  # noqa: BLE001 - any failure is the refusal we want
                pass
            c.close()
        except (ssl.SSLError, ConnectionError, OSError):
            pass
    wait_for(lambda: refused(env, "unauthenticated") >= before_unauth + 3, 5, "3 refused peers counted")
    check(f"{VIP}/24" not in env.addrs(), "a refused peer changed addresses")
    cli.close()


def epoch_window(env, cli, addrs_before):
    """2b. An epoch more than max_epoch_jump (default 1000) above the highest seen is
    refused (FO_EPERM), logged and counted, and nothing is written: 2^64-1 would
    otherwise fence this host out of every later failover (issue 9)."""
    step("2b. epoch 2^64-1 and jumps over max_epoch_jump refused; nothing persisted")
    epochs_path = os.path.join(env.state, "epochs")
    with open(epochs_path) as f:
        on_disk = f.read()
    check(on_disk == "failover-agent-epochs 1\ndemo 5\n", f"epochs file before: {on_disk!r}")
    bad_before = refused(env, "bad_request")
    u64_max = 2**64 - 1
    cases = (("acquire", acquire("demo", VIP2, 24, "eth0", u64_max, 60000), "above 5, the highest seen"),
             ("renew", epoch_msg("demo", u64_max), "above 5"),
             ("release", epoch_msg("demo", u64_max, VIP), "above 5"),
             ("fence", epoch_msg("demo", u64_max), "above 5"),
             ("acquire", acquire("demo", VIP2, 24, "eth0", 5 + 1001, 60000), "epoch 1006 jumps more than 1000"),
             # a cluster never seen counts from 0
             ("acquire", acquire("other", VIP3, 24, "eth0", u64_max, 60000), "never seen before"),
             ("release", epoch_msg("other", 1001), "epoch 1001 jumps more than 1000"))
    for kind, body, want in cases:
        code, err, _ = cli.call(kind, body)
        check(code == FO_EPERM and "(max_epoch_jump)" in err and want in err,
              f"{kind} over the epoch window: {code} {err}")
    check(env.addrs() == addrs_before, f"a refused epoch changed addresses: {env.addrs()}")
    with open(epochs_path) as f:
        after = f.read()
    check(after == on_disk, f"a refused epoch was written: {after!r}")
    check(leases(cli, "demo")[f"{VIP}/24"][2] == 5, "a refused epoch shows in Status")
    wait_for(lambda: refused(env, "bad_request") >= bad_before + len(cases), 5, "the refusals to be counted")
    log = tail(env.log, 200)
    check("refused acquire_vip from ctl1 (bad_request): epoch 18446744073709551615 jumps more than 1000" in log,
          "the refusal is not logged")
    # Within the window nothing changes: the same epoch is still accepted.
    code, err, _ = cli.call("renew", epoch_msg("demo", 5))
    check(code == 0, f"renew at 5 after the refusals: {code} {err}")

    step("2c. the agent's files are private: epochs and lock 0600, state_dir at most 0750")
    for name in ("epochs", "lock"):
        mode = os.stat(os.path.join(env.state, name)).st_mode & 0o777
        check(mode == 0o600, f"{name} has mode {mode:o}")
    mode = os.stat(env.state).st_mode & 0o777
    check(mode & 0o027 == 0, f"state_dir has mode {mode:o}")
    check("narrowed to 0750" in log, "narrowing the 0755 state_dir was not logged")


def check_config_files(env, tmp):
    """--check-config loads what the agent loads at start: a missing TLS file or a
    corrupt epochs file exits 1 naming the file; a valid config exits 0."""
    step("0. --check-config loads the TLS files and the epochs file")
    with open(env.conf) as f:
        good = f.read()
    bad_state = os.path.join(tmp, "state-bad")
    os.makedirs(bad_state)
    with open(os.path.join(bad_state, "epochs"), "w") as f:
        f.write("failover-agent-epochs 1\ndemo 5\ndemo 6\n")
    variants = (("missing cert_file", good.replace("/db1.crt", "/missing-db1.crt"), "missing-db1.crt"),
                ("missing key_file", good.replace("/db1.key", "/nosuch.key"), "nosuch.key"),
                ("missing ca_file", good.replace("/ca.crt", "/noca.crt"), "noca.crt"),
                ("corrupt epochs file", good.replace(f"state_dir = {env.state}", f"state_dir = {bad_state}"),
                 "appears twice"))
    path = os.path.join(tmp, "check.conf")
    for what, text, want in variants:
        check(text != good, f"{what}: the variant changed nothing")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([AGENT_BIN, "--config", path, "--check-config"], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 1 and want in r.stderr, f"--check-config with a {what}: rc {r.returncode} {r.stderr}")
    r = subprocess.run([AGENT_BIN, "--config", env.conf, "--check-config"], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 0, f"--check-config: {r.stderr}")
    check(not os.path.exists(os.path.join(env.state, "epochs")), "--check-config wrote an epochs file")


def per_vip_leases(env):
    step("9. per-VIP leases: two VIPs of cluster demo")
    cli = Client(env)
    a, b = f"{VIP}/24", f"{VIP2}/24"
    for v in (VIP, VIP2):
        code, err, _ = cli.call("acquire", acquire("demo", v, 24, "eth0", 5, 1500))
        check(code == 0, f"acquire {v}: {code} {err}")
    check({a, b} <= env.addrs(), f"acquiring {VIP2} took {VIP} away: {env.addrs()}")
    st = leases(cli, "demo")
    check(st == {a: ("held", True, 5), b: ("held", True, 5)}, f"status after two acquires: {st}")
    check(held(env, VIP) == 1 and held(env, VIP2) == 1, "failoverd_agent_vip_held per VIP")

    step("9a. renew only the first: the second's lease runs out, the first stays")
    expired = env.metric("failoverd_agent_lease_expired_total")
    t_end = time.monotonic() + 2.5
    while time.monotonic() < t_end:
        code, err, _ = cli.call("renew", epoch_msg("demo", 5, VIP))
        check(code == 0, f"renew {VIP}: {code} {err}")
        check(a in env.addrs(), f"{VIP} vanished while renewed")
        time.sleep(0.3)
    wait_for(lambda: b not in env.addrs(), 5, f"the agent to delete {VIP2} after its lease")
    check(a in env.addrs(), f"{VIP} deleted with {VIP2}")
    st = leases(cli, "demo")
    check(st[a][:2] == ("held", True) and st[b][:2] == ("expired", False), f"status: {st}")
    check(held(env, VIP) == 1 and held(env, VIP2) == 0, "failoverd_agent_vip_held after one expiry")
    check(env.metric("failoverd_agent_lease_expired_total") == expired + 1, "exactly one expiry counted")
    code, err, _ = cli.call("renew", epoch_msg("demo", 5, VIP2))
    check(code == FO_ENOTFOUND, f"renew of the expired {VIP2}: {code} {err}")

    step("9b. release by name deletes that VIP only; release \"\" deletes all")
    for v in (VIP2, VIP):
        code, err, _ = cli.call("acquire", acquire("demo", v, 24, "eth0", 5, 60000))
        check(code == 0, f"acquire {v}: {code} {err}")
    code, err, _ = cli.call("release", epoch_msg("demo", 5, VIP))
    check(code == 0, f"release {VIP}: {code} {err}")
    check(a not in env.addrs() and b in env.addrs(), f"after releasing {VIP}: {env.addrs()}")
    check(leases(cli, "demo")[b][0] == "held", f"releasing {VIP} touched {VIP2}")
    code, err, _ = cli.call("release", epoch_msg("demo", 5, ""))
    check(code == 0, f"release all: {code} {err}")
    check(not {a, b} & env.addrs(), f"after releasing all: {env.addrs()}")
    st = leases(cli, "demo")
    check(st == {a: ("released", False, 5), b: ("released", False, 5)}, f"status after release all: {st}")
    code, err, _ = cli.call("renew", epoch_msg("demo", 5, ""))
    check(code == FO_ENOTFOUND and "no lease held" in err, f"renew with nothing held: {code} {err}")

    step("9c. a vip not configured for the cluster is refused, the epoch unchanged")
    not_allowed = refused(env, "not_allowed")
    for kind, v in (("renew", "10.231.0.150"), ("release", "10.231.0.102"), ("renew", "10.231.0.102")):
        code, err, _ = cli.call(kind, epoch_msg("demo", 7, v))
        check(code == FO_EPERM and f"address {v} is not configured for cluster demo" in err,
              f"{kind} {v}: {code} {err}")
    code, err, _ = cli.call("release", epoch_msg("demo", 7, "not-an-address"))
    check(code == FO_EINVAL, f"malformed vip: {code} {err}")
    check(refused(env, "not_allowed") == not_allowed + 3, "refused vips not counted as not_allowed")
    check(all(e == 5 for _, _, e in leases(cli, "demo").values()), "a refused vip raised the epoch")

    step("9d. epochs are per cluster: epoch 0 for cluster other, stale 4 for demo")
    code, err, _ = cli.call("acquire", acquire("other", "10.231.0.102", 24, "eth0", 0, 60000))
    check(code == 0, f"acquire other at epoch 0: {code} {err}")
    check("10.231.0.102/24" in env.addrs(), "other's VIP not added")
    code, err, _ = cli.call("renew", epoch_msg("other", 0, "10.231.0.102"))
    check(code == 0, f"renew other at epoch 0: {code} {err}")
    code, err, _ = cli.call("renew", epoch_msg("demo", 4, VIP))
    check(code == FO_ESTALE, f"renew demo at epoch 4: {code} {err}")
    code, err, _ = cli.call("release", epoch_msg("other", 0))
    check(code == 0 and "10.231.0.102/24" not in env.addrs(), f"release other: {code} {err}")
    m = env.metrics()
    body = m.split("\r\n\r\n", 1)[1]
    for cluster, epoch in (("demo", 5), ("other", 0)):
        lines = [x for x in body.splitlines() if x.startswith(f'failoverd_agent_epoch{{cluster="{cluster}"}} ')]
        check(lines == [f'failoverd_agent_epoch{{cluster="{cluster}"}} {epoch}'], f"epoch gauge for {cluster}: {lines}")
    promtool = shutil.which("promtool") or ("/usr/bin/promtool" if os.path.exists("/usr/bin/promtool") else None)
    if promtool:
        r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and not (r.stdout + r.stderr).strip(), f"promtool: {r.stdout}{r.stderr}")
    else:
        skip_part("promtool check metrics on the agent's /metrics (promtool not installed)")
    cli.close()


def restart_checks(env):
    step("7. restart: epoch 5 still enforced")
    env.stop()
    env.start()
    cli = Client(env)
    code, err, _ = cli.call("acquire", acquire("demo", VIP, 24, "eth0", 4, 60000))
    check(code == FO_ESTALE and "epoch 4 < 5" in err, f"after restart, epoch 4: {code} {err}")
    check(f"{VIP}/24" not in env.addrs(), "stale acquire after restart added the VIP")
    code, err, _ = cli.call("acquire", acquire("demo", VIP, 24, "eth0", 5, 60000))
    check(code == 0, f"after restart, epoch 5: {code} {err}")
    check(f"{VIP}/24" in env.addrs(), "VIP not added")
    code, err, _ = cli.call("release", epoch_msg("demo", 6))
    check(code == 0, f"release epoch 6: {code} {err}")
    check(f"{VIP}/24" not in env.addrs(), "VIP still there after release")
    code, err, _ = cli.call("acquire", acquire("demo", VIP, 24, "eth0", 5, 60000))
    check(code == FO_ESTALE, f"epoch 5 after release at 6: {code} {err}")
    m = env.metrics()
    check('failoverd_agent_epoch{cluster="demo"} 6' in m, "epoch gauge")
    check(refused(env, "stale_epoch") >= 2, "stale refusals not counted")
    cli.close()

    step("8. insecure = yes: plain TCP, with a warning")
    env.stop()
    env.write_conf(insecure=True)
    env.start()
    cli = Client(env, tls=False)
    code, err, _ = cli.call("status")
    check(code == 0, f"insecure status: {code} {err}")
    code, err, _ = cli.call("acquire", acquire("demo", VIP, 24, "eth0", 3, 60000))
    check(code == FO_ESTALE, f"insecure stale: {code} {err}")
    cli.close()
    check("insecure = yes" in tail(env.log, 200), "no warning about insecure mode")
    env.stop()


def read_only(db):
    return db.scalar(1, "SELECT @@global.read_only")


def app_insert(db, user, password, value):
    """(ok, error text) of one INSERT by user over TCP, as a client of the VIP would."""
    r = db._client(1, f"INSERT INTO agentfence.t VALUES ({value})", user=user, password=password, check=False)
    return r.returncode == 0, r.stderr.strip()


def still(pred, seconds, what):
    """pred() must hold at every check for `seconds` (a negative check, polled)."""
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        check(pred(), what)
        time.sleep(0.1)


def lease_fence(env, db):
    step("10. the local mysqld: lease_read_only (default yes), its undo, FenceMysql, ReleaseVip")
    app_pw = db.passwords["app"]
    db.sql(1, "CREATE DATABASE agentfence; CREATE TABLE agentfence.t (v INT) ENGINE=InnoDB;"
              f"CREATE USER roadmin@'{db.account_host}' IDENTIFIED BY 'ro-pw';"
              f"GRANT INSERT, SELECT ON agentfence.* TO roadmin@'{db.account_host}';"
              f"GRANT READ_ONLY ADMIN ON *.* TO roadmin@'{db.account_host}'")
    env.stop()
    env.write_conf(mysql=(env.net.addr("db1"), DB_PORT, "failoverd", db.password_file))
    env.start()
    cli = Client(env)
    writer = f"{VIP3}/24"

    def lapse(epoch):
        """Writer VIP at epoch for 1.5 s, never renewed: gone, then mysqld read-only."""
        code, err, _ = cli.call("acquire", acquire("other", VIP3, 24, "eth0", epoch, 1500, writer=True))
        check(code == 0, f"acquire writer at {epoch}: {code} {err}")
        check(writer in env.addrs(), "writer VIP not added")
        wait_for(lambda: writer not in env.addrs(), 5, "the writer VIP to lapse")
        wait_for(lambda: read_only(db) == "1", 5, "the agent to set mysqld read-only after the lapse")

    step("10a. lapse at epoch 10: read-only, a READ_ONLY ADMIN session killed")
    check(read_only(db) == "0", "mysqld read-only before the test")
    ok, err = app_insert(db, "app", app_pw, 1)
    check(ok, f"app write before the lapse: {err}")
    # A READ_ONLY ADMIN client holding a session open: read_only alone would not stop it.
    holder = subprocess.Popen(env.net.wrap("db1", [db.client, "--no-defaults", "--protocol=tcp",
                                                     f"--host={env.net.addr('db1')}", f"--port={DB_PORT}",
                                                     "-uroadmin", "-e", "SELECT SLEEP(60)"]),
                              env=dict(os.environ, MYSQL_PWD="ro-pw"), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: db.scalar(1, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                      "WHERE USER='roadmin'") == "1", 10, "the READ_ONLY ADMIN session")
        lapse(10)
        holder.wait(timeout=10)
        check(holder.returncode != 0, "the READ_ONLY ADMIN session survived the lease fence")
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    ok, err = app_insert(db, "app", app_pw, 2)
    check(not ok and "read-only" in err, f"app write after the lapse: ok={ok} {err}")
    wait_for(lambda: env.metric("failoverd_agent_lease_read_only_total") == 1, 5, "the lease fence to be counted")
    check(env.metric("failoverd_agent_lease_fenced") == 1, "failoverd_agent_lease_fenced not 1")

    step("10b. the leader renews at 10 (refused: not held), re-acquires at 10: writable by itself")
    code, err, _ = cli.call("renew", epoch_msg("other", 10, VIP3))
    check(code == FO_ENOTFOUND, f"renew of the lapsed lease: {code} {err}")
    check(read_only(db) == "1", "a refused renew undid the fence")
    code, err, _ = cli.call("acquire", acquire("other", VIP3, 24, "eth0", 10, 60000, writer=True))
    check(code == 0, f"re-acquire at 10: {code} {err}")
    wait_for(lambda: read_only(db) == "0", 5, "mysqld writable again after the re-acquire at the same epoch")
    ok, err = app_insert(db, "app", app_pw, 3)
    check(ok, f"app write after the undo: {err}")
    wait_for(lambda: env.metric("failoverd_agent_lease_writable_again_total") == 1, 5, "the undo to be counted")
    wait_for(lambda: env.metric("failoverd_agent_lease_fenced") == 0, 5, "failoverd_agent_lease_fenced to drop to 0")
    check("writable again" in tail(env.log, 100), "the undo is not logged")

    step("10c. lapse at 10, re-acquired at 11: another epoch, stays read-only")
    code, err, _ = cli.call("release", epoch_msg("other", 10, VIP3))
    check(code == 0, f"release: {code} {err}")
    lapse(10)
    code, err, _ = cli.call("acquire", acquire("other", VIP3, 24, "eth0", 11, 60000, writer=True))
    check(code == 0, f"acquire at 11: {code} {err}")
    still(lambda: read_only(db) == "1", 1.5, "mysqld made writable after a re-acquire at another epoch")
    check(env.metric("failoverd_agent_lease_writable_again_total") == 1, "an undo at another epoch was counted")
    wait_for(lambda: env.metric("failoverd_agent_lease_fenced") == 0, 5, "the claim to be forgotten at another epoch")
    db.sql(1, "SET GLOBAL read_only=0")  # as the controller's promote would

    step("10d. FenceMysql at 13 over a lease held at 12: renew at 12 refused, stays read-only")
    code, err, _ = cli.call("acquire", acquire("other", VIP3, 24, "eth0", 12, 1500, writer=True))
    check(code == 0, f"acquire at 12: {code} {err}")
    code, err, msg = cli.call("fence", epoch_msg("other", 13))
    check(code == 0, f"FenceMysql at 13: {code} {err}")
    check(6 in msg, f"FenceMysql answered without its result: {msg}")
    fr = parse(msg[6][0])
    check(fr.get(1, [0])[0] == 1 and fr.get(2, [0])[0] == 1 and fr.get(6, [0])[0] == 0,
          f"fence result: reached/read_only/survived = {fr}")
    check(b"fenced" in fr.get(8, [b""])[0], f"fence detail: {fr}")
    check(read_only(db) == "1", "FenceMysql did not set read_only")
    code, err, _ = cli.call("renew", epoch_msg("other", 12, VIP3))
    check(code == FO_ESTALE, f"renew at 12 after FenceMysql at 13: {code} {err}")
    wait_for(lambda: writer not in env.addrs(), 5, "the lease at 12 to lapse")
    code, err, _ = cli.call("acquire", acquire("other", VIP3, 24, "eth0", 12, 60000, writer=True))
    check(code == FO_ESTALE, f"acquire at 12 after FenceMysql at 13: {code} {err}")
    code, err, _ = cli.call("acquire", acquire("other", VIP3, 24, "eth0", 13, 60000, writer=True))
    check(code == 0, f"acquire at 13: {code} {err}")
    still(lambda: read_only(db) == "1", 1.5, "a failover's fence (FenceMysql) was undone")
    check(env.metric("failoverd_agent_lease_writable_again_total") == 1, "a FenceMysql was undone")

    step("10e. ReleaseVip removes a hand-added copy of the address, lease or not, and says so")
    code, err, msg = cli.call("release", epoch_msg("other", 13, VIP3))
    check(code == 0 and msg.get(5, [0])[0] == 1, f"release of the held VIP: {code} {err} {msg}")
    check(writer not in env.addrs(), "VIP still there")
    env.net.run("db1", ["ip", "addr", "add", f"{VIP3}/32", "dev", "eth0"], check=True)
    st = leases(cli, "other")
    check(st[writer][:2] == ("released", True), f"Status does not show the hand-added address: {st}")
    code, err, msg = cli.call("release", epoch_msg("other", 13, VIP3))
    check(code == 0 and msg.get(5, [0])[0] == 1, f"release of the hand-added address: {code} {err} {msg}")
    check(f"{VIP3}/32" not in env.addrs(), f"hand-added address still there: {env.addrs()}")
    check(leases(cli, "other")[writer][1] is False, "Status still shows the address")
    code, err, msg = cli.call("release", epoch_msg("other", 13, VIP3))
    check(code == 0 and msg.get(5, [0])[0] == 0, f"release with nothing there says removed: {msg}")
    cli.close()
    env.stop()


def main():
    check(os.path.exists(AGENT_BIN), f"{AGENT_BIN} not built")
    tmp = tempfile.mkdtemp(prefix="fo-agent-test-")
    env = None
    try:
        with netns.NetnsRig(["db1", "ctl1"]) as net:
            env = Env(net, tmp)
            try:
                # A second interface the config does not allow (a veth pair: the dummy
                # driver is not always available).
                net.run("db1", ["ip", "link", "add", "dum0", "type", "veth", "peer", "name", "dum1"], check=True)
                net.run("db1", ["ip", "link", "set", "dum0", "up"], check=True)
                env.gen_certs()
                env.write_conf()
                check_config_files(env, tmp)
                env.start()
                scenario(env)
                per_vip_leases(env)
                restart_checks(env)
                with MariaDBRig(n=1, base_port=DB_PORT, replicate=False, net=net, hosts={1: "db1"}) as db:
                    lease_fence(env, db)
            except BaseException:
                print(f"---- agent log:\n{tail(env.log, 80)}", flush=True)
                raise
            finally:
                if env.proc is not None and env.proc.alive():
                    env.proc.stop(timeout=20)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    netns.skip_unless_available("test_agent")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
