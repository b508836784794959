#!/usr/bin/env python3
"""Migration commands against real mariadbd (issue 14.2, 14.3):

* `failoverctl cluster discover` from a replica in the middle of a 4-server chain
  (db1 -> db2 -> db3 -> db4) finds all four with the right edges (each server's own
  SHOW SLAVE STATUS), prints the tree, registers them with --apply, and a second
  discovery of the registered cluster (its own account) adds nothing;
* `failoverctl import-mha` of an app1.cnf naming the chain's servers registers the
  cluster with the promotion rules of candidate_master / no_master;
* a malformed MHA file and a malformed MMM file are refused with file:line and change
  nothing (the cluster list is the same before and after);
* `import-mmm` of the MMM 2 documentation layout prints its plan without any
  controller.

Ports: mariadb 23400-23403, failoverd 23420+ (admin), raft and http above."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.controllers import ControllerRig, require_binaries  # noqa: E402
from rig.mariadb import MariaDBRig  # noqa: E402
from rig.util import check, run_test, step, wait_for, NotYet  # noqa: E402

DB_PORT = 23400
CTL_PORT = 23420
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "fixtures", "import")


def clusters(c):
    return sorted(x["name"] for x in c.ctl_ok(["clusters"]).get("clusters", []))


def main():
    require_binaries()
    with MariaDBRig(n=4, base_port=DB_PORT) as db, ControllerRig(n=3, base_port=CTL_PORT) as c:
        step("building the chain db1 -> db2 -> db3 -> db4")
        db.change_master(3, 2)
        db.change_master(4, 3)
        for i in (2, 3, 4):
            db.wait_replicating(i)
        db.app_sql(1, "CREATE DATABASE IF NOT EXISTS mig; CREATE TABLE IF NOT EXISTS mig.t (id INT PRIMARY KEY)")
        db.sync_all()
        c.start_all()
        c.wait_leader(15)
        addr = {i: db.servers[i].address for i in db.servers}
        ctl = c.failoverctl

        step("discover from db3 (a replica in the middle of the chain)")
        seed = addr[3]
        res = c.ctl(["cluster", "discover", "chain", "--seed", seed, "--user", "failoverd",
                     "--password-file", db.password_file])
        check(res.rc == 0 and res.data is not None, f"discover failed: rc {res.rc}: {res.stderr} {res.stdout}")
        found = {s["address"]: s for s in res.data["servers"]}
        check(sorted(found) == sorted(addr.values()), f"discover found {sorted(found)}, want {sorted(addr.values())}")
        want_parent = {addr[1]: None, addr[2]: addr[1], addr[3]: addr[2], addr[4]: addr[3]}
        for a, p in want_parent.items():
            check(found[a]["reached"], f"{a} not reached: {found[a]['error']}")
            check(found[a]["parent"] == p, f"{a}: parent {found[a]['parent']}, want {p}")
        check(found[addr[1]]["read_only"] is False and found[addr[4]]["read_only"] is True,
              f"read_only wrong: {found}")
        text = c.ctl(["cluster", "discover", "chain", "--seed", seed, "--user", "failoverd",
                      "--password-file", db.password_file], json_out=False)
        check(text.rc == 0, f"discover (text) failed: {text.stderr}")
        lines = text.stdout.splitlines()
        print("\n".join(lines))
        # The tree: each level indented under its source.
        depth = {}
        for ln in lines:
            words = ln.replace("`-", " ").split()
            if words and words[0] in addr.values():
                depth[words[0]] = len(ln) - len(ln.lstrip(" `-"))
        check(sorted(depth) == sorted(addr.values()), f"tree lines missing: {lines}")
        check(depth[addr[1]] < depth[addr[2]] < depth[addr[3]] < depth[addr[4]], f"tree depths wrong: {depth}")
        check(clusters(c) == [], "discover without --apply registered something")

        step("discover --apply registers the chain; a second discovery adds nothing")
        res = c.ctl(["cluster", "discover", "chain", "--seed", seed, "--user", "failoverd",
                     "--password-file", db.password_file, "--apply"], json_out=False)
        check(res.rc == 0 and "registered 4 server(s) in chain" in res.stdout, f"apply: {res.stdout} {res.stderr}")

        def topo_ready():
            t = c.ctl_ok(["topology", "chain"])
            ins = {i["address"]: i for i in t["instances"]}
            if sorted(ins) != sorted(addr.values()):
                raise NotYet(f"topology has {sorted(ins)}")
            return ins
        wait_for(topo_ready, timeout=20, what="the discovered chain in topology")
        res = c.ctl(["cluster", "discover", "chain", "--seed", addr[1], "--apply"], json_out=False)
        check(res.rc == 0 and "registered 0 server(s) in chain" in res.stdout,
              f"rediscovery with the cluster's account: {res.stdout} {res.stderr}")
        res = c.ctl(["cluster", "discover", "nosuch", "--seed", addr[1]])
        check(res.rc == 1 and "not registered" in (res.stderr + res.stdout), f"unknown cluster: {res.stderr}")
        res = c.ctl(["cluster", "discover", "x", "--seed", addr[1], "--user", "failoverd",
                     "--password-file", "/etc/hostname"])
        check(res.rc != 0 and "secrets_dir" in (res.stderr + res.stdout),
              f"a password file outside secrets_dir must be refused: {res.stderr} {res.stdout}")

        with tempfile.TemporaryDirectory(prefix="fo-mig-") as tmp:
            step("import-mha of an app1.cnf naming the chain's servers")
            cnf = os.path.join(tmp, "app1.cnf")
            h = {i: db.servers[i].host for i in db.servers}
            p = {i: db.servers[i].port for i in db.servers}
            with open(cnf, "w") as f:
                f.write(f"""[server default]
user=failoverd
password=not-copied
repl_user=repl
repl_password=not-copied-either
ssh_user=root
manager_workdir=/var/log/masterha/app1
ping_interval=3

[server1]
hostname={h[1]}
port={p[1]}

[server2]
hostname={h[2]}
port={p[2]}
candidate_master=1

[server3]
hostname={h[3]}
port={p[3]}
no_master=1
""")
            before = clusters(c)
            res = c.ctl(["import-mha", cnf, "--password-file", db.password_file, "--repl-password-file",
                         db.repl_password_file, "--apply"], json_out=False)
            check(res.rc == 0, f"import-mha --apply: rc {res.rc}: {res.stderr}")
            check("not-copied" not in res.stdout + res.stderr, "a password was printed")
            check("app1.cnf:6 ssh_user" in res.stdout, f"ssh_user note missing:\n{res.stdout}")
            check(clusters(c) == sorted(before + ["app1"]), f"clusters after import: {clusters(c)}")
            t = c.ctl_ok(["topology", "app1"])
            rules = {i["address"]: i.get("rule") for i in t["instances"]}
            check(rules.get(addr[2]) == "prefer" and rules.get(addr[3]) == "must_not" and
                  rules.get(addr[1]) == "neutral", f"rules after import: {rules}")

            step("malformed files are refused with file:line and change nothing")
            bad = os.path.join(tmp, "bad.cnf")
            with open(bad, "w") as f:
                f.write("[server default]\nuser=failoverd\n[server1]\nhostname=127.0.0.1\ncandiate_master=1\n")
            before = clusters(c)
            res = c.ctl(["import-mha", bad, "--password-file", db.password_file, "--apply"], json_out=False)
            check(res.rc == 2 and "bad.cnf:5:" in res.stderr, f"malformed MHA: rc {res.rc} {res.stderr}")
            badm = os.path.join(tmp, "mmm_common.conf")
            with open(badm, "w") as f:
                f.write(f"<host db1>\n ip {h[1]}\n mode master\n")
            res = c.ctl(["import-mmm", badm, "--password-file", db.password_file, "--apply"], json_out=False)
            check(res.rc == 2 and "mmm_common.conf:1: <host> is never closed" in res.stderr,
                  f"malformed MMM: rc {res.rc} {res.stderr}")
            check(clusters(c) == before, f"a refused import changed the clusters: {clusters(c)}")

            step("import-mmm prints its plan without any controller")
            r = subprocess.run([ctl, "import-mmm", os.path.join(FIXTURES, "mmm_common.conf")],
                               capture_output=True, text=True, timeout=30,
                               env={k: v for k, v in os.environ.items() if not k.startswith("FAILOVERCTL_")})
            check(r.returncode == 0, f"import-mmm: {r.stderr}")
            check("failoverctl instance add mmm 192.168.0.13:3306 --rule must_not" in r.stdout, r.stdout)
            check("--vip 192.168.0.100/32 --vip-interface eth0" in r.stdout, r.stdout)


if __name__ == "__main__":
    run_test(main)
