#!/usr/bin/env python3
"""Mutual TLS on the controller admin RPC (issue 4, DESIGN.md §1).

Three failoverd nodes on loopback with the rig's certificates (deploy/gen-certs.sh: a
CA, ctl1..ctl3 naming 127.0.0.1, the client certificate `admin`):

  1. failoverctl with the client certificate: `status` (every member asked over TLS),
     `cluster add` sent to a follower and forwarded to the leader over TLS (the
     follower counts it in failoverd_admin_forwarded_total, the leader has it); a
     controller certificate is accepted as a client too.
  2. Refusals. Each leaves the node serving (`clusters` still answers); the ones that
     reach the node are logged with the peer and counted in
     failoverd_admin_tls_refused_total:
     - no TLS options and no --insecure: failoverctl exits 2 before connecting;
     - a TLS session without a client certificate (raw, from Python);
     - a certificate from another CA: failoverctl exits 2 (it checks its own chain
       first); trusting that CA instead, it refuses the node (exit 3) and the node
       counts the alert; presented in a raw session, the node refuses it;
     - an `agent` certificate from the cluster CA: exit 3, code FO_EPERM, the log
       names the role;
     - failoverctl --insecure (plain frames) against a TLS node: exit 3.
  3. A node whose certificate names 127.0.0.9, dialled at 127.0.0.1: failoverctl
     refuses it (exit 3, "does not name 127.0.0.1").
  4. Bad [tls] files (missing key, key of another certificate, certificate of another
     CA, a client certificate, a controller certificate binding another node id than
     node_id): `failoverd --check-config` and a real start exit 1 naming the file,
     before anything listens.
  5. insecure = yes: the node warns at start, exports failoverd_admin_tls 0 and
     answers failoverctl --insecure; failoverctl with TLS options gets a hint.
  6. SIGTERM with admin connections open in each phase (TCP only, handshake half
     done, authenticated with half a frame): a clean exit 0.

Ports: failoverd admin 25800+, raft 25820+, http 25840+; single nodes: 25860-25862
(wrong name), 25870-25872 (insecure), 25880-25882 (bad files, never listening)."""

import os
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.controllers import (EXIT_UNREACHABLE, EXIT_USAGE, ControllerRig, gen_certs,  # noqa: E402
                             require_binaries)
from rig.util import NotYet, TestFailure, check, run_test, step, wait_for  # noqa: E402

CTL_PORT = 25800
FO_EPERM = 22  # common/err.h


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


class Refusals:
    """Tracks failoverd_admin_tls_refused_total on one node."""

    def __init__(self, c, node):
        self.c, self.node = c, node
        self.seen = self.value()

    def value(self):
        v = self.c.metric(self.node, "failoverd_admin_tls_refused_total")
        if v is None:
            raise TestFailure(f"node {self.node} does not export failoverd_admin_tls_refused_total")
        return v

    def expect_more(self, what):
        def grew():
            v = self.value()
            if v <= self.seen:
                raise NotYet(f"failoverd_admin_tls_refused_total is still {v}")
            return v
        v = wait_for(grew, 5, f"node {self.node} to count the refusal of {what}")
        self.seen = v

    def expect_same(self, what):
        v = self.value()
        check(v == self.seen, f"{what}: failoverd_admin_tls_refused_total went {self.seen} -> {v}")


def still_serving(c, node, what):
    check(c.running(node), f"node {node} died after {what}")
    js = c.ctl_ok(["clusters"], controller=node)
    check("clusters" in js, f"node {node} answered {js} after {what}")


def expect_fail(res, rc, needles, what):
    check(res.rc == rc, f"{what}: expected exit {rc}; {res.describe()}")
    for n in needles:
        check(n in res.stderr, f"{what}: stderr lacks {n!r}; {res.describe()}")


def check_log(c, node, needles, what):
    text = c.logs_text()[node]
    for n in needles:
        check(n in text, f"{what}: node {node}'s log lacks {n!r}")


# ---------------------------------------------------------------- 1. working TLS

def part_working(c, lid, password_file):
    st = c.ctl_ok(["status"], controller=lid)
    members = st.get("members", [])
    check(len(members) == 3 and all(m.get("reachable") for m in members),
          f"status over TLS should reach all 3 members: {members}")
    f = c.followers(lid)[0]
    fwd_before = c.metric(f, "failoverd_admin_forwarded_total") or 0
    js = c.ctl_write(["cluster", "add", "tlsdemo", "--user", "failoverd", "--password-file", password_file],
                     controller=f)
    check(js.get("ok") is True, f"cluster add via follower {f} answered {js}")
    fwd_after = c.metric(f, "failoverd_admin_forwarded_total")
    check(fwd_after is not None and fwd_after > fwd_before,
          f"follower {f}: failoverd_admin_forwarded_total {fwd_before} -> {fwd_after} (the write was not forwarded)")
    names = [x["name"] for x in c.ctl_ok(["clusters"], controller=lid)["clusters"]]
    check("tlsdemo" in names, f"leader {lid} does not list the forwarded cluster: {names}")
    step(f"status over TLS, `cluster add` via follower {f} forwarded to leader {lid} over TLS")
    crt, key, ca = c.make_cert("controller", "ctl2", ["127.0.0.1"], node=2)  # as the rig made it
    js = c.ctl_ok(["clusters"], controller=lid, tls=["--ca", ca, "--cert", crt, "--key", key])
    check("tlsdemo" in [x["name"] for x in js["clusters"]], f"clusters with a controller certificate: {js}")
    # The environment variables work as defaults for the options.
    env = {"FAILOVERCTL_CA": c.ca_file, "FAILOVERCTL_CERT": c.client_cert, "FAILOVERCTL_KEY": c.client_key}
    c.ctl_ok(["clusters"], controller=lid, tls=[], env=env)
    step("a controller certificate is accepted as a client; FAILOVERCTL_CA/_CERT/_KEY work")


# ---------------------------------------------------------------- 2. refusals

def part_refusals(c, node, other_dir):
    r = Refusals(c, node)

    res = c.ctl(["clusters"], controller=node, tls=[])
    expect_fail(res, EXIT_USAGE, ["no TLS credentials", "--insecure"], "no TLS options")
    r.expect_same("failoverctl without TLS options (it must not connect)")
    step("no TLS options: exit 2 before connecting")

    how, why = c.admin_raw(node, b"", timeout=5, tls=c.client_tls(client_cert=False))
    check(how in ("refused", "closed"), f"a TLS session without a client certificate was left {how} ({why!r})")
    r.expect_more("a session without a client certificate")
    still_serving(c, node, "a session without a client certificate")
    step(f"no client certificate: {how} ({why.decode(errors='replace')[:80]}), counted")

    o_crt, o_key, o_ca = c.make_cert("client", "intruder", out_dir=other_dir)
    res = c.ctl(["clusters"], controller=node, tls=["--ca", c.ca_file, "--cert", o_crt, "--key", o_key])
    expect_fail(res, EXIT_USAGE, ["does not verify against CA file"], "a client certificate of another CA")
    res = c.ctl(["clusters"], controller=node, tls=["--ca", o_ca, "--cert", o_crt, "--key", o_key])
    expect_fail(res, EXIT_UNREACHABLE, ["refused the controller", "not trusted"],
                "failoverctl trusting another CA")
    r.expect_more("failoverctl refusing the node's certificate (alert unknown CA)")
    how, why = c.admin_raw(node, b"", timeout=5, tls=c.client_tls(cert=o_crt, key=o_key))
    check(how in ("refused", "closed"), f"a certificate of another CA was left {how} ({why!r})")
    r.expect_more("a client certificate of another CA")
    still_serving(c, node, "a certificate of another CA")
    check_log(c, node, ["admin TLS handshake refused", "CN=intruder", "127.0.0.1:"], "another CA")
    step("certificate of another CA: refused on both sides, counted, logged with the peer")

    a_crt, a_key, _ = c.make_cert("agent", "db9", ["127.0.0.1"])
    res = c.ctl(["clusters"], controller=node, tls=["--ca", c.ca_file, "--cert", a_crt, "--key", a_key])
    expect_fail(res, EXIT_UNREACHABLE, ["refused our certificate"], "an agent certificate")
    check(isinstance(res.data, dict) and res.data.get("ok") is False and res.data.get("code") == FO_EPERM,
          f"an agent certificate: --json should report code {FO_EPERM}: {res.describe()}")
    r.expect_more("an agent certificate")
    still_serving(c, node, "an agent certificate")
    check_log(c, node, ['CN=db9 has role "agent"'], "an agent certificate")
    step("agent certificate: exit 3 (FO_EPERM), counted, role named in the log")

    res = c.ctl(["clusters"], controller=node, tls=["--insecure"])
    expect_fail(res, EXIT_UNREACHABLE, ["connection closed"], "--insecure against a TLS node")
    r.expect_more("plain frames (failoverctl --insecure)")
    still_serving(c, node, "plain frames")
    step("failoverctl --insecure against a TLS node: exit 3, counted")


# ---------------------------------------------------------------- 3. server name

def part_wrong_name(c, base):
    # Same CA, its own directory: ctl1 there names 127.0.0.9.
    tls_dir = os.path.join(base, "tls-wrong-name")
    os.makedirs(tls_dir, exist_ok=True)
    for f in ("ca.crt", "ca.key"):
        shutil.copy(os.path.join(c.tls_dir, f), tls_dir)
    with ControllerRig(n=1, admin_base=25860, raft_base=25861, http_base=25862, tls_dir=tls_dir,
                       cert_hosts={1: "127.0.0.9"}) as w:
        w.start_all()
        res = w.ctl(["clusters"], controller=1, tls=c.tls_args())
        expect_fail(res, EXIT_UNREACHABLE, ["does not name 127.0.0.1"], "a node certificate naming 127.0.0.9")
        step("a node whose certificate names another address is refused (exit 3)")


# ---------------------------------------------------------------- 4. bad TLS files

def part_bad_files(c, base, other_dir):
    bad_dir = os.path.join(base, "badtls")
    os.makedirs(os.path.join(bad_dir, "data"), exist_ok=True)
    crt1, key1 = os.path.join(c.tls_dir, "ctl1.crt"), os.path.join(c.tls_dir, "ctl1.key")
    key2 = os.path.join(c.tls_dir, "ctl2.key")
    gen_certs(other_dir, "controller:ctl9,127.0.0.1")
    o_crt, o_key = os.path.join(other_dir, "ctl9.crt"), os.path.join(other_dir, "ctl9.key")

    def conf(name, ca, crt, key, node_id=1):
        lines = ["[failoverd]", f"node_id = {node_id}", "raft_address = 127.0.0.1:25880",
                 "admin_address = 127.0.0.1:25881", "http_address = 127.0.0.1:25882",
                 f"data_dir = {bad_dir}/data", "", f"[peer {node_id}]", "raft_address = 127.0.0.1:25880",
                 "admin_address = 127.0.0.1:25881", "", "[tls]", f"ca_file = {ca}", f"cert_file = {crt}",
                 f"key_file = {key}", ""]
        path = os.path.join(bad_dir, name)
        with open(path, "w") as fh:
            fh.write("\n".join(lines))
        return path

    def run(path, check_only):
        argv = [c.failoverd, "--config", path] + (["--check-config"] if check_only else [])
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise TestFailure(f"`{' '.join(argv)}` did not exit within 10 s (bad TLS files must stop it)")
        return r.returncode, (r.stderr + r.stdout).strip()

    good = conf("good.conf", c.ca_file, crt1, key1)
    rc, msg = run(good, True)
    check(rc == 0, f"--check-config of a good [tls] section exited {rc}: {msg!r}")
    cases = [
        ("missing-key.conf", (c.ca_file, crt1, os.path.join(bad_dir, "nope.key")),
         ["[tls]", "nope.key", "No such file or directory"]),
        ("wrong-key.conf", (c.ca_file, crt1, key2), ["[tls]", key2, "does not match", crt1]),
        ("other-ca.conf", (c.ca_file, o_crt, o_key), ["[tls]", o_crt, "does not verify against CA file"]),
        ("client-cert.conf", (c.ca_file, c.client_cert, c.client_key),
         ["[tls]", c.client_cert, 'has role "client"', "needs a controller one"]),
        ("other-node.conf", (c.ca_file, crt1, key1, 9), ["[tls]", crt1, "is node 1's", "node_id is 9"]),
    ]
    for name, files, needles in cases:
        path = conf(name, *files)
        for check_only in (True, False):
            rc, msg = run(path, check_only)
            what = f"failoverd {'--check-config ' if check_only else ''}with {name}"
            check(rc == 1, f"{what} exited {rc} (expected 1): {msg!r}")
            for n in needles:
                check(n in msg, f"{what}: message lacks {n!r}: {msg!r}")
            check(not port_open(25881), f"{what}: something listens on the admin port")
    step("bad [tls] files: exit 1 naming the file, before anything listens")


# ---------------------------------------------------------------- 5. insecure

def part_insecure(c):
    with ControllerRig(n=1, admin_base=25870, raft_base=25871, http_base=25872, insecure=True) as p:
        p.start_all()
        check_log(p, 1, ["WARN", "admin RPC without TLS (insecure = yes)"], "insecure = yes")
        check(p.metric(1, "failoverd_admin_tls") == 0, "failoverd_admin_tls should be 0 with insecure = yes")
        js = p.ctl_ok(["clusters"], controller=1)  # the rig passes --insecure
        check("clusters" in js, f"failoverctl --insecure: {js}")
        res = p.ctl(["clusters"], controller=1, tls=c.tls_args())
        expect_fail(res, EXIT_UNREACHABLE, ["insecure = yes"], "TLS options against an insecure node")
        check(p.running(1), "the insecure node died after a TLS ClientHello")
        step("insecure = yes: warning logged, failoverd_admin_tls 0, --insecure works, TLS gets a hint")


def open_connections(c, node):
    """Admin connections in each phase a stop must close: TCP only (handshake not
    started), a handshake half done (ClientHello sent, never finished) and an
    authenticated session holding half a frame."""
    nd = c.nodes[node]
    held = [socket.create_connection((nd.host, nd.admin_port), timeout=5)]
    half = socket.create_connection((nd.host, nd.admin_port), timeout=5)
    half.sendall(bytes.fromhex("160301"))  # the start of a TLS record
    held.append(half)
    s = c.client_tls().wrap_socket(socket.create_connection((nd.host, nd.admin_port), timeout=5),
                                   server_hostname=nd.host)
    s.sendall(b"FO\x01\x01\x00\x00\x00\x10")  # a request header, no payload yet
    held.append(s)
    return held


def main():
    require_binaries()
    with ControllerRig(n=3, base_port=CTL_PORT, election_timeout_ms=1000) as c:
        check(not c.insecure, "the rig should default to TLS")
        password_file = os.path.join(c.base_dir, "demo.password")
        with open(password_file, "w") as fh:
            fh.write("not-a-real-password\n")
        other_dir = os.path.join(c.base_dir, "other-ca")

        step("starting 3 failoverd nodes with mutual TLS")
        c.start_all()
        lid = c.wait_leader(15)
        for i in (1, 2, 3):
            check(c.metric(i, "failoverd_admin_tls") == 1, f"node {i}: failoverd_admin_tls is not 1")
        step(f"leader elected: node {lid}")

        part_working(c, lid, password_file)
        part_refusals(c, c.followers(lid)[0], other_dir)
        part_wrong_name(c, c.base_dir)
        part_bad_files(c, c.base_dir, other_dir)
        part_insecure(c)

        lid2 = c.wait_leader(10)
        for i in (1, 2, 3):
            check(c.running(i), f"node {i} is not running at the end")
        step(f"cluster still led by node {lid2}; stopping, node 1 with admin connections open")
        held = open_connections(c, 1)
        try:
            for i in (1, 2, 3):
                rc = c.stop(i)
                check(rc == 0, f"node {i} exited with {rc} on SIGTERM (expected a clean 0)")
        finally:
            for s in held:
                s.close()


if __name__ == "__main__":
    sys.exit(run_test(main))
