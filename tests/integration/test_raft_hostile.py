#!/usr/bin/env python3
"""The raft port against an attacker on the network (issue 9): raft runs over mutual TLS
(raft/transport.c) and every frame is checked before libraft decodes it (raft/wire.c).

Against a running 3-node cluster (the rig's certificates, no MySQL needed):
 (a) plain TCP, libraft's handshake claiming node 2 and a forged AppendEntries with a
     higher term: refused (TLS required);
 (b) a TLS client holding a `client` certificate: refused;
 (c) node 2's own controller certificate claiming raft id 3: refused (id_mismatch);
 (d) over node 2's valid certificate, the malformed frames that crash libraft 0.22.1
     (docs/libraft-0.22-parsing.md): short RequestVote header, AppendEntries with an
     8-byte header, handshake address without NUL, a 31 GB header length, unknown type,
     a configuration that makes libraft free twice: each closes the connection and is
     counted under its reason;
 (e) RequestVote (term + 10, disrupt_leader) from a non-member id 7 holding a valid
     controller certificate for node 7: refused (not_member), no leader change over a
     sampling window;
 (f) 500 idle TCP connections to the leader's raft port: all closed within the
     handshake deadline, the fd count back to normal, and the cluster commits meanwhile.
After each: the same leader, the same term on every node, no new entry applied, every
node alive, and the counter of failoverd_raft_transport_refused_total{reason} that the
attack should hit has grown.
Ports: failoverd admin 28400+, raft 28420+, http 28440+."""

import os
import selectors
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.controllers import ControllerRig, require_binaries  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402

CTL_PORT = 28400
HOST = "127.0.0.1"
REFUSED = "failoverd_raft_transport_refused_total"

# libraft 0.22.1 message types (raft.h)
APPEND_ENTRIES, REQUEST_VOTE, INSTALL_SNAPSHOT = 1, 3, 5


# ---------------------------------------------------------------- libraft wire encoding

def u64(*vs):
    return b"".join(struct.pack("<Q", v) for v in vs)


def handshake(node_id, address, raw_address=None):
    a = raw_address if raw_address is not None else address.encode() + b"\0"
    if raw_address is None:
        a += b"\0" * (-len(a) % 8)
    return u64(1, node_id, len(a)) + a


def preamble(mtype, hlen, version=0):
    return bytes([mtype, 0, version, 0, 0, 0, 0, 0]) + u64(hlen)


def append_entries(term, prev_index, prev_term, commit, payloads):
    hdr = u64(term, prev_index, prev_term, commit, len(payloads))
    for p in payloads:
        hdr += u64(term) + bytes([1, 0, 0, 0]) + struct.pack("<I", len(p))
    hdr += u64(0)
    return preamble(APPEND_ENTRIES, len(hdr)) + hdr + b"".join(payloads)


def forged_command():
    """A log entry in failoverd's envelope (raft/node.c: "FOC1", u32 length, padded)."""
    cmd = b"\x08\x01forged"
    body = b"FOC1" + struct.pack("<I", len(cmd)) + cmd
    return body + b"\0" * (-len(body) % 8)


def request_vote(term, candidate, last_index, last_term, flags=1):
    return preamble(REQUEST_VOTE, 40, 2) + u64(term, candidate, last_index, last_term, flags)


def bad_snapshot_conf():
    """InstallSnapshot whose configuration names server 1 twice: libraft 0.22.1's
    configurationDecode fails on the duplicate and the message is freed twice."""
    conf = bytes([1]) + u64(2)
    for _ in range(2):
        conf += u64(1) + b"127.0.0.1:1\0" + bytes([1])
    conf += b"\0" * (-len(conf) % 8)
    hdr = u64(5, 10, 2, 1, len(conf)) + conf + u64(8, 0)
    return preamble(INSTALL_SNAPSHOT, len(hdr)) + hdr + b"\0" * 8


# ---------------------------------------------------------------- sessions

def session(rig, node_id, payload, tls=None, timeout=4.0):
    """Sends payload to node_id's raft port (inside TLS when tls is an SSLContext) and
    returns "closed" / "refused: ..." if the node ended the connection within timeout,
    or "open" if it kept it (the failure case for every attack here)."""
    s = socket.create_connection((HOST, rig.nodes[node_id].raft_port), timeout=timeout)
    try:
        if tls is not None:
            try:
                s = tls.wrap_socket(s, server_hostname=HOST)
            except ssl.SSLError as e:
                return f"refused: {e}"
            except (ConnectionResetError, BrokenPipeError):
                return "closed"
        try:
            s.sendall(payload)
        except ssl.SSLError as e:
            return f"refused: {e}"
        except (ConnectionResetError, BrokenPipeError):
            return "closed"
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "open"
            s.settimeout(left)
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                return "open"
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError):
                return "closed"
            except ssl.SSLError as e:
                return f"refused: {e}"
            if not chunk:
                return "closed"
            # libraft never answers on a connection it accepted: anything is a surprise
            return f"open (node sent {chunk[:40]!r})"
    finally:
        s.close()


def tls_ctx(rig, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(rig.ca_file)
    ctx.load_cert_chain(cert, key)
    return ctx


# ---------------------------------------------------------------- cluster state

def snapshot_state(rig):
    """(leader id, {node: term}, {node: last applied index}) with every node agreeing
    on the leader."""
    lid = rig.wait_leader(10)
    terms = {i: rig.metric(i, "failoverd_raft_term") for i in rig.running_ids()}
    applied = {i: rig.last_applied(i) for i in rig.running_ids()}
    return lid, terms, applied


def settle(rig, quiet=2.5, timeout=20):
    """Waits until no node applies anything for `quiet` seconds: each node announces its
    addresses through raft shortly after it starts, and that must not count as an
    attacker's entry."""
    last, since = None, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = {i: rig.last_applied(i) for i in rig.running_ids()}
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet and len(set(now.values())) == 1:
            return now
        time.sleep(0.1)
    raise NotYet(f"the cluster kept applying entries for {timeout}s: {last}")


def check_unchanged(rig, before, what):
    lid0, terms0, applied0 = before
    for i in (1, 2, 3):
        check(rig.running(i), f"{what}: failoverd {i} is no longer running")
    lid, terms, applied = snapshot_state(rig)
    check(lid == lid0, f"{what}: the leader changed from {lid0} to {lid}")
    check(terms == terms0, f"{what}: terms changed from {terms0} to {terms}")
    check(applied == applied0, f"{what}: entries were applied: {applied0} -> {applied}")


def refused(rig, node_id):
    out = {}
    for s in rig.metrics(node_id):
        if s.name == REFUSED:
            out[s.labels.get("reason")] = s.value
    check(out, f"node {node_id} exports no {REFUSED}")
    return out


def wait_counted(rig, node_id, base, reason, at_least=1):
    def ok():
        now = refused(rig, node_id)
        if now.get(reason, 0) - base.get(reason, 0) >= at_least:
            return now
        raise NotYet(f"{REFUSED}{{reason={reason!r}}} on node {node_id}: {base.get(reason)} -> {now.get(reason)}")
    return wait_for(ok, 5, f"node {node_id} to count {at_least} refusal(s) of reason {reason}")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


# ---------------------------------------------------------------- attacks

def attack_plain(c, target, before, term):
    step(f"(a) plain TCP to node {target}: handshake as node 2 + AppendEntries with term {term}")
    base = refused(c, target)
    # prev = the target's last index and term (readable on /metrics): what made the
    # attack commit on libraft's plain transport.
    prev = before[2][target]
    msg = handshake(2, c.nodes[2].raft) + append_entries(term, prev, int(before[1][target]), prev + 1,
                                                         [forged_command()])
    r = session(c, target, msg)
    check(r != "open" and not r.startswith("open"), f"(a) plain TCP raft session was kept: {r}")
    wait_counted(c, target, base, "tls")
    check_unchanged(c, before, "(a) plain TCP AppendEntries")


def attack_client_cert(c, target, before, term):
    step(f"(b) TLS with a client certificate to node {target}")
    base = refused(c, target)
    ctx = c.client_tls()  # the rig's failoverctl certificate: role client
    msg = handshake(2, c.nodes[2].raft) + append_entries(term, 0, 0, 1 << 40, [forged_command()])
    r = session(c, target, msg, tls=ctx)
    check(not r.startswith("open"), f"(b) a client certificate kept a raft session: {r}")
    wait_counted(c, target, base, "tls")
    check_unchanged(c, before, "(b) client certificate")


def attack_wrong_id(c, target, before, term):
    step(f"(c) node 2's controller certificate claiming raft id 3, to node {target}")
    base = refused(c, target)
    crt, key = c.node_cert(2)
    msg = handshake(3, c.nodes[3].raft) + append_entries(term, 0, 0, 1 << 40, [forged_command()])
    r = session(c, target, msg, tls=tls_ctx(c, crt, key))
    check(not r.startswith("open"), f"(c) certificate of node 2 claiming id 3 kept a session: {r}")
    wait_counted(c, target, base, "id_mismatch")
    check_unchanged(c, before, "(c) id mismatch")


def attack_malformed(c, target, before):
    crt, key = c.node_cert(2)
    ctx = tls_ctx(c, crt, key)
    hs = handshake(2, c.nodes[2].raft)
    cases = [
        ("short RequestVote header (8 bytes)", hs + preamble(REQUEST_VOTE, 8) + u64(7), "bad_length"),
        ("AppendEntries with an 8-byte header", hs + preamble(APPEND_ENTRIES, 8) + u64(99), "bad_length"),
        ("handshake address without NUL", u64(1, 2, 8) + b"AAAAAAAA" + preamble(REQUEST_VOTE, 40), "bad_handshake"),
        ("31 GB header length", hs + preamble(APPEND_ENTRIES, 0x7_C000_0000), "too_big"),
        ("unknown message type 9", hs + preamble(9, 24) + u64(1, 2, 3), "bad_type"),
        ("AppendEntries entry with a 2^31 length", hs + preamble(APPEND_ENTRIES, 64)
         + u64(1, 0, 0, 0, 1, 1) + bytes([1, 0, 0, 0]) + struct.pack("<I", 1 << 31) + u64(0), "too_big"),
        ("InstallSnapshot with a duplicate server", hs + bad_snapshot_conf(), "bad_header"),
    ]
    for name, payload, reason in cases:
        step(f"(d) over node 2's certificate to node {target}: {name}")
        base = refused(c, target)
        r = session(c, target, payload, tls=ctx)
        check(not r.startswith("open"), f"(d) {name}: the node kept the connection: {r}")
        wait_counted(c, target, base, reason)
        check_unchanged(c, before, f"(d) {name}")


def attack_nonmember_votes(c, before, term, window=4.0):
    step(f"(e) RequestVote term {term} from non-member 7 (valid controller certificate) for {window:.0f}s")
    crt, key, _ca = c.make_cert("controller", "ctl7", hosts=[HOST], node=7)
    ctx = tls_ctx(c, crt, key)
    bases = {i: refused(c, i) for i in (1, 2, 3)}
    lid0 = before[0]
    seen = set()
    t_end = time.monotonic() + window
    sent = 0
    while time.monotonic() < t_end:
        for i in (1, 2, 3):
            msg = handshake(7, f"{HOST}:28999") + request_vote(term, 7, 1 << 30, term, flags=1)
            r = session(c, i, msg, tls=ctx, timeout=2.0)
            check(not r.startswith("open"), f"(e) node {i} kept a session from non-member 7: {r}")
            sent += 1
        for i in (1, 2, 3):
            seen.add(c.leader_view(i))
        time.sleep(0.1)
    check(seen == {lid0}, f"(e) leader views during the vote flood: {sorted(seen)} (expected only {lid0})")
    for i in (1, 2, 3):
        wait_counted(c, i, bases[i], "not_member")
    step(f"(e) {sent} RequestVotes refused; leader stayed {lid0}")
    check_unchanged(c, before, "(e) non-member RequestVote")


def open_idle(port, n, batch=100):
    """n TCP connections that send nothing, opened in batches below the listen backlog
    (128) so that the kernel drops no SYN: each connection is then established at once
    and its closing time measures the node, not TCP's SYN retries."""
    socks = []
    for first in range(0, n, batch):
        sel = selectors.DefaultSelector()
        for _ in range(min(batch, n - first)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((HOST, port))
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE)
        waiting, deadline = min(batch, n - first), time.monotonic() + 5
        while waiting and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
                sel.unregister(key.fileobj)
                waiting -= 1
        sel.close()
    return socks


def connected(s):
    try:
        s.getpeername()
        return True
    except OSError:
        return False


def wait_all_closed(socks, timeout):
    """Number of sockets the server closed (EOF or reset) within timeout."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    closed = 0
    deadline = time.monotonic() + timeout
    while closed < len(socks) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
            s = key.fileobj
            try:
                data = s.recv(1)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                closed += 1
                sel.unregister(s)
    sel.close()
    return closed


def attack_idle_flood(c, before, n=500):
    lid = before[0]
    pid = c.nodes[lid].pid
    fds0 = fd_count(pid)
    base = refused(c, lid)
    step(f"(f) {n} idle TCP connections to leader {lid}'s raft port (fds now {fds0})")
    socks = open_idle(c.nodes[lid].raft_port, n)
    try:
        t0 = time.monotonic()
        c.ctl_write(["recoveries", "enable"], controller=lid, timeout=5.0)
        commit_s = time.monotonic() - t0
        step(f"(f) a command committed during the flood in {commit_s * 1000:.0f} ms")
        closed = wait_all_closed(socks, 5.0)
        elapsed = time.monotonic() - t0
        unconnected = sum(1 for s in socks if s.fileno() >= 0 and not connected(s))
        check(closed == n, f"(f) the node closed {closed} of {n} idle connections within {elapsed:.1f}s "
                           f"({unconnected} of ours never connected)")
        step(f"(f) all {n} closed within {elapsed:.1f}s")
    finally:
        for s in socks:
            s.close()

    def fds_back():
        now = fd_count(pid)
        if now <= fds0 + 4:
            return now
        raise NotYet(f"leader {lid} has {now} fds (was {fds0})")
    wait_for(fds_back, 5, f"leader {lid}'s fd count back to normal")
    now = refused(c, lid)
    dropped = sum(now.get(k, 0) - base.get(k, 0) for k in ("pending_cap", "handshake_timeout", "tls"))
    check(dropped >= n, f"(f) refusals counted for the flood: {dropped} (expected >= {n}): {base} -> {now}")
    lid2 = c.wait_leader(10)
    check(lid2 == lid, f"(f) the leader changed from {lid} to {lid2}")
    for i in (1, 2, 3):
        check(c.running(i), f"(f) failoverd {i} is no longer running")
    c.ctl_write(["recoveries", "disable"], controller=lid, timeout=5.0)


def main():
    require_binaries()
    with ControllerRig(n=3, base_port=CTL_PORT) as c:
        c.start_all()
        lid = c.wait_leader(15)
        c.ctl_write(["recoveries", "disable"], controller=lid)
        settle(c)
        before = snapshot_state(c)
        lid, terms, _applied = before
        term = int(max(terms.values())) + 5
        step(f"leader {lid}, terms {terms}")
        # Node 2's identity is the one abused; attack a node that is not node 2.
        target = lid if lid != 2 else 1
        attack_plain(c, target, before, term)
        attack_client_cert(c, target, before, term)
        attack_wrong_id(c, target, before, term)
        attack_malformed(c, target, before)
        attack_nonmember_votes(c, before, term + 10)
        attack_idle_flood(c, before)
        logs = c.logs_text()[target]
        for needle in ("refused (tls)", "refused (id_mismatch)", "refused (bad_handshake)", "refused (too_big)"):
            check(needle in logs, f"node {target}'s log has no line with {needle!r}")


if __name__ == "__main__":
    sys.exit(run_test(main))
