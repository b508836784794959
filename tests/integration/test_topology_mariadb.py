#!/usr/bin/env python3
"""Topology discovery against real mariadbd: a primary and two GTID replicas watched
by three failoverd nodes, plus a second pair registered at run time with a wrong
password. Checks `topology` (JSON and human), health going down and back up, access
denied errors, /metrics (promtool), /leader, and that no password ever shows up in
failoverctl output, --json output, /metrics, the daemons' logs or their data dirs.

Ports: mariadb 24300-24302 (demo) and 24310-24311 (badpw); failoverd admin 24400+,
raft 24420+, http 24440+."""

import os
import re
import secrets
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.controllers import Cluster, ControllerRig, require_binaries, find_samples, parse_metrics  # noqa: E402
from rig.mariadb import MariaDBRig  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 24300
DB2_PORT = 24310
CTL_PORT = 24400
MAX_LAG = 5


def gtid_set(s):
    """'0-1-5,1-2-3' -> frozenset, so order and spacing do not matter."""
    return frozenset(x.strip() for x in (s or "").split(",") if x.strip())


def by_address(topo):
    return {i["address"]: i for i in topo["instances"]}


def summary(inst):
    keys = ("health", "role", "source", "read_only", "io_running", "sql_running", "lag_s",
            "has_sample", "last_error")
    return "{" + ", ".join(f"{k}={inst.get(k)!r}" for k in keys) + "}"


def main():
    require_binaries()
    with MariaDBRig(n=3, base_port=DB_PORT) as db, \
         MariaDBRig(n=2, base_port=DB2_PORT) as db2, \
         ControllerRig(n=3, base_port=CTL_PORT, log_level="debug",
                       probe=dict(interval_ms=200, connect_timeout_ms=500, read_timeout_ms=1000,
                                  down_after=3),
                       clusters=[Cluster("demo", db.password_file,
                                         [db.servers[1].address, db.servers[2].address + " prefer",
                                          db.servers[3].address])]) as c:
        primary = db.servers[1].address
        replicas = [db.servers[2].address, db.servers[3].address]
        addrs = [primary] + replicas

        step("starting 3 failoverd nodes")
        c.start_all()
        lid = c.wait_leader(15)
        step(f"leader is node {lid}")

        # ---------------------------------------------------------------- discovery
        def topo(node=None):
            t = c.ctl_ok(["topology", "demo"], controller=node or lid)
            check(t.get("cluster") == "demo", f"topology answered for cluster {t.get('cluster')!r}")
            return t

        def discovered():
            t = topo()
            inst = by_address(t)
            if sorted(inst) != sorted(addrs):
                raise NotYet(f"instances {sorted(inst)}, expected {sorted(addrs)}")
            p = inst[primary]
            if not (p["health"] == "up" and p["role"] == "primary" and p["has_sample"]
                    and p["read_only"] is False):
                raise NotYet(f"primary {primary}: {summary(p)}")
            for a in replicas:
                r = inst[a]
                lag = r.get("lag_s")
                if not (r["health"] == "up" and r["role"] == "replica" and r["source"] == primary
                        and r["has_sample"] and r["is_replica"] and r["io_running"] == "Yes"
                        and r["sql_running"] == "Yes" and r["read_only"] is True
                        and lag is not None and 0 <= lag <= MAX_LAG):
                    raise NotYet(f"replica {a}: {summary(r)}")
            return t
        t = wait_for(discovered, 15, "topology demo to show 1 primary (writable) and 2 replicas "
                     f"of {primary} replicating with lag <= {MAX_LAG}s")
        check(t["live"] is True, f"topology from the leader should be live: live={t['live']!r}")
        check(not t["problems"], f"healthy cluster reports problems: {t['problems']}")
        check(t["user"] == "failoverd", f"topology user is {t['user']!r}")
        check(by_address(t)[replicas[0]]["rule"] == "prefer",
              f"rule of {replicas[0]} is {by_address(t)[replicas[0]]['rule']!r}, configured 'prefer'")
        step("topology discovered")

        # ---------------------------------------------------------------- GTID positions
        db.app_sql(1, "CREATE DATABASE IF NOT EXISTS fotest; "
                      "CREATE TABLE fotest.t (id INT PRIMARY KEY, v VARCHAR(40)); "
                      "INSERT INTO fotest.t VALUES (1, 'one'), (2, 'two')")
        db.sync_all()
        want = gtid_set(db.gtid(1)["binlog"])
        check(want, "primary has an empty gtid_binlog_pos after writes")

        def positions():
            inst = by_address(topo())
            bad = []
            for a in addrs:
                i = inst[a]
                if gtid_set(i["gtid_current_pos"]) != want:
                    bad.append(f"{a} gtid_current_pos={i['gtid_current_pos']!r}")
            if gtid_set(inst[primary]["gtid_binlog_pos"]) != want:
                bad.append(f"{primary} gtid_binlog_pos={inst[primary]['gtid_binlog_pos']!r}")
            for a in replicas:
                if gtid_set(inst[a]["gtid_slave_pos"]) != want:
                    bad.append(f"{a} gtid_slave_pos={inst[a]['gtid_slave_pos']!r}")
            if bad:
                raise NotYet(f"want {sorted(want)}: " + "; ".join(bad))
            return True
        wait_for(positions, 10, "topology to show equal GTID positions after a write on the primary")
        step(f"GTID positions agree: {','.join(sorted(want))}")

        # A follower serves the replicated part of the topology from its own store.
        f = c.followers(lid)[0]

        def follower_view():
            inst = by_address(topo(f))
            roles = {a: inst[a]["role"] for a in addrs}
            want_roles = {primary: "primary", replicas[0]: "replica", replicas[1]: "replica"}
            if roles != want_roles:
                raise NotYet(f"roles on follower {f}: {roles}")
            return True
        wait_for(follower_view, 10, f"follower {f} to serve the same roles")

        # ---------------------------------------------------------------- human output
        res = c.ctl(["topology", "demo"], controller=f, json_out=False)
        check(res.rc == 0, f"human topology: {res.describe()}")
        for a in addrs:
            check(a in res.stdout, f"`failoverctl topology demo` output lacks {a}:\n{res.stdout}")
        for args in (["status"], ["members"], ["clusters"], ["history", "demo"]):
            res = c.ctl(args, controller=f, json_out=False)
            check(res.rc == 0 and res.stdout.strip(), f"human `{' '.join(args)}`: {res.describe()}")

        # ---------------------------------------------------------------- a replica goes away
        gone = replicas[1]
        step(f"stopping mariadb {gone}")
        db.stop(3)
        t_stop = time.monotonic()

        def down():
            i = by_address(topo())[gone]
            if i["health"] != "down" or not i["last_error"]:
                raise NotYet(f"{gone}: {summary(i)}")
            return i
        i = wait_for(down, 10, f"{gone} to be health=down with a last_error")
        step(f"{gone} down after {time.monotonic() - t_stop:.1f}s: last_error={i['last_error']!r}")
        p = by_address(topo())[primary]
        check(p["health"] == "up" and p["role"] == "primary",
              f"primary changed while a replica was down: {summary(p)}")

        def history_mentions():
            ev = c.ctl_ok(["history", "demo", "--limit", "200"], controller=lid)["events"]
            if not any(e.get("instance") == gone or gone in (e.get("detail") or "") for e in ev):
                raise NotYet(f"no event for {gone} among {len(ev)} events")
            return True
        wait_for(history_mentions, 5, f"`history demo` to record {gone}'s change")

        step(f"starting mariadb {gone} again")
        db.start(3)
        db.wait_replicating(3)

        def back():
            r = by_address(topo())[gone]
            if not (r["health"] == "up" and r["role"] == "replica" and r["io_running"] == "Yes"
                    and r["source"] == primary):
                raise NotYet(f"{gone}: {summary(r)}")
            return True
        wait_for(back, 15, f"{gone} to be up and replicating again")

        # ---------------------------------------------------------------- wrong password
        bad_pw = "wrong-" + secrets.token_hex(8)
        bad_file = os.path.join(c.base_dir, "badpw.password")
        with open(bad_file, "w") as fh:
            fh.write(bad_pw + "\n")
        bad_addrs = [db2.servers[1].address, db2.servers[2].address]
        step("registering cluster badpw (wrong password) through a follower")
        c.ctl_write(["cluster", "add", "badpw", "--user", "failoverd", "--password-file", bad_file], controller=f)
        for a in bad_addrs:
            c.ctl_write(["instance", "add", "badpw", a], controller=f)

        def denied():
            t = c.ctl_ok(["topology", "badpw"], controller=lid)
            inst = by_address(t)
            if sorted(inst) != sorted(bad_addrs):
                raise NotYet(f"badpw instances {sorted(inst)}")
            for a in bad_addrs:
                if not re.search(r"access denied", inst[a]["last_error"] or "", re.I) or inst[a]["health"] == "up":
                    raise NotYet(f"{a}: {summary(inst[a])}")
            return t
        t = wait_for(denied, 15, "every badpw instance to show an 'Access denied' last_error")
        step(f"badpw: {by_address(t)[bad_addrs[0]]['last_error']!r}")
        for i in (1, 2, 3):
            check(c.running(i), f"failoverd {i} died after a cluster with a wrong password was added")
        wait_for(discovered, 5, "demo to stay healthy next to badpw")

        # ---------------------------------------------------------------- metrics and /leader
        promtool = shutil.which("promtool")
        check(promtool, "promtool not found (deploy/install-deps.sh installs prometheus)")
        bodies = {}
        for i in (1, 2, 3):
            text = c.metrics_text(i)
            bodies[i] = text
            r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                               timeout=30)
            check(r.returncode == 0, f"promtool check metrics on node {i}'s /metrics failed "
                  f"(exit {r.returncode}): {(r.stdout + r.stderr).strip()[:3000]}")
            samples = parse_metrics(text)
            check(find_samples(samples, "failoverd_instance_up", cluster="demo"),
                  f"node {i}'s /metrics has no failoverd_instance_up{{cluster=\"demo\"}}")
        samples = parse_metrics(bodies[lid])
        ups = {s.labels.get("instance"): s.value for s in find_samples(samples, "failoverd_instance_up",
                                                                       cluster="demo")}
        check(ups == {a: 1 for a in addrs}, f"leader's failoverd_instance_up{{cluster=demo}}: {ups}")
        for name in ("failoverd_raft_term", "failoverd_raft_last_applied_index", "failoverd_probes_total",
                     "failoverd_probe_duration_seconds_count"):
            check(find_samples(samples, name), f"leader's /metrics lacks {name}")
        ok = [s for s in find_samples(samples, "failoverd_probes_total", result="ok")]
        check(ok and ok[0].value > 0, f"leader's failoverd_probes_total{{result=ok}} is {ok}")

        def one_leader():
            codes = {i: c.http_get(i, "/leader")[0] for i in (1, 2, 3)}
            leaders = [i for i, code in codes.items() if code == 200]
            if len(leaders) != 1 or any(code not in (200, 503) for code in codes.values()):
                raise NotYet(f"/leader status by node: {codes}")
            return leaders[0]
        l_http = wait_for(one_leader, 5, "/leader to be 200 on exactly one node and 503 on the others")
        check(l_http == c.leader(), f"/leader says node {l_http} but status says {c.leader()}")
        for i in (1, 2, 3):
            code, _ = c.http_get(i, "/health")
            check(code == 200, f"/health on node {i} returned {code}")

        # ---------------------------------------------------------------- no password anywhere
        for node in (1, 2, 3):
            for args in (["status"], ["members"], ["clusters"], ["topology", "demo"],
                         ["topology", "badpw"], ["history"], ["history", "badpw", "--limit", "500"]):
                for j in (True, False):
                    c.ctl(args, controller=node, json_out=j)
        secrets_ = {"failoverd": db.passwords["failoverd"], "badpw": bad_pw,
                    "repl": db.passwords["repl"], "app": db.passwords["app"]}
        leaks = []
        for what, pw in secrets_.items():
            for res in c.transcript:
                if pw in res.stdout or pw in res.stderr:
                    leaks.append(f"{what} password in output of `failoverctl {' '.join(res.argv[1:])}`")
            for i, text in c.logs_text().items():
                if pw in text:
                    leaks.append(f"{what} password in failoverd {i}'s log {c.nodes[i].log}")
            for i, text in bodies.items():
                if pw in text:
                    leaks.append(f"{what} password in node {i}'s /metrics")
            for i, nd in c.nodes.items():
                for root, _d, files in os.walk(nd.data_dir):
                    for fn in files:
                        try:
                            with open(os.path.join(root, fn), "rb") as fh:
                                if pw.encode() in fh.read():
                                    leaks.append(f"{what} password in node {i}'s {os.path.join(root, fn)}")
                        except OSError:
                            pass
        check(not leaks, "password leaked:\n  " + "\n  ".join(leaks[:20]))
        check(len(c.transcript) > 40, f"only {len(c.transcript)} failoverctl runs were checked")
        step(f"no password in {len(c.transcript)} failoverctl outputs, 3 logs, /metrics or data dirs")

        for i in (1, 2, 3):
            rc = c.stop(i)
            check(rc == 0, f"node {i} exited with {rc} on SIGTERM (expected a clean 0)")


if __name__ == "__main__":
    sys.exit(run_test(main))
