#!/usr/bin/env python3
"""Raft controller cluster: election, forwarding, leader loss, rejoin, snapshots,
membership changes, leadership transfer, bad admin input (not TLS, and bad frames inside
an authenticated TLS session) and bad config files. The admin RPC is mutual TLS (the
rig's certificates).

Three failoverd nodes (election 1000 ms, heartbeat 100 ms, snapshot every 64 entries
keeping 16) and two mariadbd (a primary and a GTID replica, so the leader has a
non-primary instance to probe: failoverd_leader_probes_ok only counts those).
Ports: mariadb 24100-24101, failoverd admin 24200+, raft 24220+, http 24240+."""

import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.controllers import Cluster, ControllerRig, require_binaries  # noqa: E402
from rig.mariadb import MariaDBRig  # noqa: E402
from rig.util import NotYet, Proc, TestFailure, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 24100
CTL_PORT = 24200
ABSENT = "127.0.0.1:24108"   # nothing listens here: a registered but unreachable instance
ABSENT2 = "127.0.0.1:24109"


def clusters_view(c, node):
    """{name: instance count} as `clusters` served by node."""
    js = c.ctl_ok(["clusters"], controller=node)
    return {x["name"]: x["instances"] for x in js["clusters"]}


def wait_clusters_equal(c, node, ref, timeout, what):
    def ok():
        want = clusters_view(c, ref)
        got = clusters_view(c, node)
        if got != want:
            raise NotYet(f"node {node} clusters {got} != node {ref} clusters {want}")
        return got
    return wait_for(ok, timeout, what)


def leader_flags(c, ids):
    """{node: failoverd_raft_leader} from each node's /metrics."""
    return {i: c.metric(i, "failoverd_raft_leader") for i in ids}


def check_single_leader(c, ids, lid):
    def ok():
        flags = leader_flags(c, ids)
        ones = [i for i, v in flags.items() if v == 1]
        if ones != [lid] or any(v not in (0, 1) for v in flags.values()):
            raise NotYet(f"failoverd_raft_leader by node: {flags} (expected 1 only on node {lid})")
        ids_seen = {i: c.metric(i, "failoverd_raft_leader_id") for i in ids}
        if any(v != lid for v in ids_seen.values()):
            raise NotYet(f"failoverd_raft_leader_id by node: {ids_seen} (expected {lid})")
        codes = {i: c.http_get(i, "/leader")[0] for i in ids}
        if codes != {i: (200 if i == lid else 503) for i in ids}:
            raise NotYet(f"/leader status by node: {codes} (expected 200 only on node {lid})")
        return True
    wait_for(ok, 5, f"node {lid} to be the only leader in metrics and /leader")


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def snapshot_files(data_dir):
    found = []
    for root, _dirs, files in os.walk(data_dir):
        found += [os.path.join(root, f) for f in files if f.startswith("snapshot-")]
    return found


def list_files(data_dir):
    out = []
    for root, _dirs, files in os.walk(data_dir):
        out += [os.path.relpath(os.path.join(root, f), data_dir) for f in files]
    return sorted(out)


def main():
    require_binaries()
    with MariaDBRig(n=2, base_port=DB_PORT) as db, \
         ControllerRig(n=3, base_port=CTL_PORT, election_timeout_ms=1000, heartbeat_timeout_ms=100,
                       snapshot_threshold=64, snapshot_trailing=16,
                       probe=dict(interval_ms=200, connect_timeout_ms=500, read_timeout_ms=1000,
                                  down_after=3),
                       clusters=[Cluster("probe", db.password_file,
                                         [db.servers[1].address, db.servers[2].address])]) as c:
        pw = db.password_file

        # ---------------------------------------------------------------- election
        step("starting 3 failoverd nodes")
        c.start_all()
        lid = c.wait_leader(15)
        step(f"leader elected: node {lid}")
        check_single_leader(c, [1, 2, 3], lid)
        members = c.ctl_ok(["members"], controller=lid)["members"]
        check(sorted(m["id"] for m in members) == [1, 2, 3] and all(m["role"] == "voter" for m in members),
              f"`members` should list voters 1,2,3, got {members}")

        # ---------------------------------------------------------------- writes via a follower
        f = c.followers(lid)[0]
        step(f"registering clusters alpha and beta through follower {f} (forwarded to leader {lid})")
        for args in (["cluster", "add", "alpha", "--user", "failoverd", "--password-file", pw],
                     ["instance", "add", "alpha", ABSENT, "--rule", "prefer"],
                     ["cluster", "add", "beta", "--user", "failoverd", "--password-file", pw],
                     ["instance", "add", "beta", ABSENT2],
                     ["cluster", "add", "spare", "--user", "failoverd", "--password-file", pw]):
            js = c.ctl_write(args, controller=f)
            check(js.get("ok") is True, f"`{' '.join(args)}` via follower {f} answered {js}")
        dup = c.ctl(["cluster", "add", "alpha", "--user", "failoverd", "--password-file", pw], controller=f)
        check(dup.rc == 1 and isinstance(dup.data, dict) and dup.data.get("ok") is False,
              f"registering alpha twice should be refused (exit 1, ok=false): {dup.describe()}")
        for i in (1, 2, 3):
            got = wait_clusters_equal(c, i, lid, 5, f"node {i} to show the registered clusters")
            check({"probe", "alpha", "beta", "spare"} <= set(got),
                  f"node {i} clusters {got} lack some of probe, alpha, beta, spare")
        check(clusters_view(c, lid) == {"probe": 2, "alpha": 1, "beta": 1, "spare": 0},
              f"unexpected clusters on leader: {clusters_view(c, lid)}")

        # ---------------------------------------------------------------- leader loss
        # Let the current leader probe for a while first, so a stale value cannot pass.
        wait_for(lambda: (c.metric(lid, "failoverd_leader_probes_ok") or 0) > 0, 10,
                 f"leader {lid} to report failoverd_leader_probes_ok > 0")
        step(f"kill -9 leader {lid}")
        old = lid
        t0 = time.monotonic()
        c.kill9(old)
        survivors = c.running_ids()
        lid = c.wait_leader(10, nodes=survivors, exclude=(old,))
        t_elect = time.monotonic() - t0
        check(t_elect <= 10, f"new leader after {t_elect:.2f}s (> 10 s)")

        def probing():
            v = c.metric(lid, "failoverd_leader_probes_ok")
            if v is None:
                raise NotYet(f"node {lid} does not export failoverd_leader_probes_ok")
            if v <= 0:
                raise NotYet(f"failoverd_leader_probes_ok on node {lid} is {v}")
            return v
        wait_for(probing, max(0.1, 10 - (time.monotonic() - t0)),
                 f"new leader {lid} to probe (failoverd_leader_probes_ok > 0) within 10 s of the kill")
        step(f"new leader {lid} elected after {t_elect:.2f}s, probing after {time.monotonic() - t0:.2f}s")
        check(c.http_get(lid, "/leader")[0] == 200, f"/leader on new leader {lid} is not 200")
        check(clusters_view(c, lid) == {"probe": 2, "alpha": 1, "beta": 1, "spare": 0},
              f"new leader {lid} lost committed state: {clusters_view(c, lid)}")

        # ---------------------------------------------------------------- rejoin
        step(f"restarting node {old}")
        c.restart(old)

        def rejoined():
            me = c.self_status(old)  # the state node `old` reports in `status`
            view = c.leader_view(old)  # the leader node `old` itself knows
            if view != lid or me.get("state") != "follower":
                raise NotYet(f"node {old}: state={me.get('state')} failoverd_raft_leader_id={view} "
                             f"(want a follower of {lid})")
            return True
        wait_for(rejoined, 15, f"restarted node {old} to follow leader {lid}")
        wait_clusters_equal(c, old, lid, 10, f"restarted node {old} to show the same clusters")
        c.ctl_write(["cluster", "add", "gamma", "--user", "failoverd", "--password-file", pw], controller=lid)
        wait_clusters_equal(c, old, lid, 10, f"restarted node {old} to apply a new entry (gamma)")
        c.wait_caught_up(old, 15, reference=lid)
        check_single_leader(c, [1, 2, 3], lid)

        # ---------------------------------------------------------------- snapshots
        start_applied = c.last_applied(lid)
        step(f"writing 160 entries (instance add/remove on spare); leader last_applied={start_applied}")
        for k in range(80):
            addr = f"127.0.0.1:{25000 + k}"
            via = lid if k % 10 else c.followers(lid)[k // 10 % 2]
            c.ctl_write(["instance", "add", "spare", addr], controller=via)
            c.ctl_write(["instance", "remove", "spare", addr], controller=via)
        end_applied = c.last_applied(lid)
        check(end_applied - start_applied >= 160,
              f"leader last_applied went {start_applied} -> {end_applied} for 160 writes")
        step(f"leader last_applied={end_applied}")
        for i in (1, 2, 3):
            c.wait_caught_up(i, 15, reference=lid)

            def snapshotted(data_dir=c.nodes[i].data_dir):
                if not snapshot_files(data_dir):
                    raise NotYet(f"files in {data_dir}: {list_files(data_dir)}")
                return True
            wait_for(snapshotted, 10, f"a snapshot-* file in node {i}'s data dir "
                     f"(snapshot_threshold 64, last_applied {end_applied})")
        check(clusters_view(c, lid)["spare"] == 0, "spare should be empty after add/remove pairs")

        # ---------------------------------------------------------------- member add (snapshot install)
        step("starting node 4 (not in the initial configuration)")
        n4 = c.add_node(4)
        js = c.ctl_write(["member", "add", "4", n4.raft], controller=c.followers(lid)[0])
        check(js.get("ok") is True, f"member add 4 answered {js}")

        def voter4():
            ms = {m["id"]: m for m in c.ctl_ok(["members"], controller=lid)["members"]}
            if 4 not in ms or ms[4]["role"] != "voter":
                raise NotYet(f"members: {sorted((i, m['role']) for i, m in ms.items())}")
            return True
        wait_for(voter4, 20, "node 4 to become a voter")
        c.wait_caught_up(4, 20, reference=lid)
        wait_clusters_equal(c, 4, lid, 10, "node 4 to serve the same clusters as the leader")
        check(c.leader_view(4) == lid, f"node 4 knows leader {c.leader_view(4)}, expected {lid}")
        check(snapshot_files(n4.data_dir),
              f"node 4 caught up past a compacted log but holds no snapshot-* file (was a snapshot "
              f"installed?); files: {list_files(n4.data_dir)}")
        step("node 4 is a voter and caught up")

        c.ctl_write(["member", "remove", "4"], controller=lid)

        def three():
            ids = sorted(m["id"] for m in c.ctl_ok(["members"], controller=lid)["members"])
            if ids != [1, 2, 3]:
                raise NotYet(f"members are {ids}")
            return True
        wait_for(three, 10, "members to be 1, 2, 3 after removing node 4")
        c.stop(4)
        lid = c.wait_leader(10, nodes=[1, 2, 3])

        # ---------------------------------------------------------------- leadership transfer
        targets = [2] if lid != 2 else [1, 2]
        for t in targets:
            step(f"member transfer-leader {t} (leader is {lid})")
            js = c.ctl_write(["member", "transfer-leader", str(t)], controller=lid)
            check(js.get("ok") is True, f"transfer-leader {t} answered {js}")
            lid = wait_for(lambda: c.leader([1, 2, 3]) == t and t, 10, f"node {t} to lead")
        check_single_leader(c, [1, 2, 3], 2)

        # ---------------------------------------------------------------- bad frames
        # The admin port speaks mutual TLS: bytes that are not a TLS handshake (garbage,
        # or a plain admin frame as `failoverctl --insecure` sends) fail the handshake;
        # bad frames sent inside an authenticated TLS session are refused by the frame
        # decoder. Either way only that connection closes.
        target = c.followers(lid)[0]
        before = c.metric(target, "failoverd_admin_bad_frames_total") or 0
        tls_before = c.metric(target, "failoverd_admin_tls_refused_total") or 0
        hdr = lambda ver, typ, n: b"FO" + bytes([ver, typ]) + n.to_bytes(4, "big")  # noqa: E731
        not_tls = [
            ("garbage bytes (HTTP request) instead of a TLS handshake", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("a plain admin frame instead of a TLS handshake", hdr(1, 1, 0)),
            ("random bytes instead of a TLS handshake", bytes(range(256)) * 4),
        ]
        for what, payload in not_tls:
            how, got = c.admin_raw(target, payload, timeout=5)
            check(how == "closed", f"{what}: node {target} left the admin connection open for 5 s")
            check(c.running(target), f"{what}: node {target} died")
            c.status(target)  # still answers
        tls_after = c.metric(target, "failoverd_admin_tls_refused_total")
        check(tls_after is not None and tls_after - tls_before >= len(not_tls),
              f"failoverd_admin_tls_refused_total on node {target} went {tls_before} -> {tls_after} after "
              f"{len(not_tls)} connections that did not speak TLS")
        ctx = c.client_tls()
        how, got = c.admin_raw(target, b"", timeout=1, tls=ctx)
        check(how == "open", f"an authenticated TLS session that sends nothing was not left open: {how} {got!r}")
        cases = [
            ("garbage bytes (HTTP request)", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", False),
            ("unknown frame version", hdr(99, 1, 0), False),
            ("unknown frame type", hdr(1, 7, 0), False),
            ("oversized frame header (4 GB)", hdr(1, 1, 0xFFFFFFF0), False),
            ("payload that is not a protobuf Request", hdr(1, 1, 6) + b"\x0a\xff\xff\xff\xff\x0f", False),
            ("frame truncated by EOF", hdr(1, 1, 100) + b"x" * 10, True),
        ]
        for what, payload, half in cases:
            how, got = c.admin_raw(target, payload, half_close=half, timeout=5, tls=ctx)
            check(how == "closed", f"{what} (inside TLS): node {target} answered {how} {got!r} "
                  "(expected it to close the connection)")
            check(c.running(target), f"{what} (inside TLS): node {target} died")
            c.status(target)  # still answers
        after = c.metric(target, "failoverd_admin_bad_frames_total")
        check(after is not None, f"node {target} does not export failoverd_admin_bad_frames_total")
        check(after - before >= 4, f"failoverd_admin_bad_frames_total on node {target} went "
              f"{before} -> {after} after {len(cases)} bad connections (expected at least 4 more)")
        tls_end = c.metric(target, "failoverd_admin_tls_refused_total")
        check(tls_end == tls_after, f"failoverd_admin_tls_refused_total on node {target} went {tls_after} -> "
              f"{tls_end} for bad frames inside authenticated sessions (they are not TLS refusals)")
        lid = c.wait_leader(5)
        step(f"bad frames: all closed, node {target} healthy, tls_refused_total +{tls_after - tls_before:g}, "
             f"bad_frames_total +{after - before:g}")

        # ---------------------------------------------------------------- bad config files
        # A valid base config with its own ports and data dir (never the running
        # nodes'); the control run proves that each failure comes from the one line
        # we broke.
        bad_dir = os.path.join(c.base_dir, "badcfg")
        base_lines = ["[failoverd]", "node_id = 9", "raft_address = 127.0.0.1:24291",
                      "admin_address = 127.0.0.1:24292", "http_address = 127.0.0.1:24293",
                      f"data_dir = {bad_dir}/data", "", "[peer 9]", "raft_address = 127.0.0.1:24291",
                      "admin_address = 127.0.0.1:24292", "", "[probe]", "interval_ms = 200", "",
                      "[tls]", "insecure = yes", ""]
        os.makedirs(bad_dir + "/data", exist_ok=True)

        def run_config(name, lines):
            path = os.path.join(bad_dir, name)
            with open(path, "w") as fh:
                fh.write("\n".join(lines))
            try:
                r = subprocess.run([c.failoverd, "--config", path], capture_output=True, text=True,
                                   timeout=10, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise TestFailure(f"failoverd with {name} did not exit within 10 s "
                                  f"(it should refuse the file before starting)")
            return path, r.returncode, (r.stderr + r.stdout).strip()

        def bad_config(name, lines, needles):
            path, rc, msg = run_config(name, lines)
            check(rc != 0, f"failoverd accepted {name} (exit 0): {msg!r}")
            for n in needles:
                n = n.replace("{path}", path)
                check(n in msg, f"failoverd's error for {name} lacks {n!r}: {msg!r}")

        ctrl = Proc("failoverd-control", [c.failoverd, "--config", os.path.join(bad_dir, "good.conf")],
                    os.path.join(bad_dir, "good.log"))
        with open(os.path.join(bad_dir, "good.conf"), "w") as fh:
            fh.write("\n".join(base_lines))
        ctrl.start()
        try:
            wait_for(lambda: ctrl.alive() and port_open(24292), 10,
                     "failoverd with the unbroken base config to listen on 127.0.0.1:24292 "
                     f"(log: {ctrl.log_path})")
        finally:
            rc = ctrl.stop(30)
        check(rc == 0, f"failoverd with the unbroken base config exited {rc} on SIGTERM")

        at = base_lines.index("[failoverd]") + 1  # insert right after the header
        bad_config("unknown-key.conf", base_lines[:at] + ["bogus_key = 1"] + base_lines[at:],
                   ["{path}:" + str(at + 1) + ":", "bogus_key"])
        at = base_lines.index("interval_ms = 200")
        bad_config("bad-number.conf", base_lines[:at] + ["interval_ms = 5x"] + base_lines[at + 1:],
                   ["{path}:" + str(at + 1) + ":", "interval_ms", "5x"])
        bad_config("missing-node-id.conf", [x for x in base_lines if not x.startswith("node_id")],
                   ["{path}", "node_id"])
        step("bad config files rejected with file:line: key")

        # ---------------------------------------------------------------- clean stop
        for i in (1, 2, 3):
            check(c.running(i), f"node {i} is not running at the end")
        for i in (1, 2, 3):
            rc = c.stop(i)
            check(rc == 0, f"node {i} exited with {rc} on SIGTERM (expected a clean 0)")
        step("all nodes stopped cleanly")


if __name__ == "__main__":
    sys.exit(run_test(main))
