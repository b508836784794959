#!/usr/bin/env python3
"""A server failoverd does not understand stops every action on its cluster (issue 15.6).

Real mariadbd only: replica 3 is started with --version=8.0.36, so its @@version says
MySQL 8.0.36 while it still answers the probe (MariaDB's own variables), which is what
a MySQL server would look like to the classifier. Checks:
  1. `topology demo`: replica 3's problem is "unsupported server: MySQL 8.0.36 (...)"
     and the cluster's problems hold "unsupported server in the cluster: ...".
  2. `switchover demo` is refused (exit 1) naming the server, nothing changes (same
     primary, epoch, every replica read-only), and `why demo` has the "refused"
     decision.
  3. Started again with its real version, the problem goes away and the same switchover
     succeeds: the refusal was the flavour's, not something else's.

Ports: mariadb 34700-34702; failoverd admin 34720, raft 34740, http 34760."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.controllers import Cluster, ControllerRig, require_binaries  # noqa: E402
from rig.mariadb import MariaDBRig  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 34700
CTL_PORT = 34720
FAKE = "8.0.36"
PROBLEM = ("unsupported server: MySQL 8.0.36 (failoverd supports MariaDB 10.6 to 11.x; "
           "MySQL 5.7/8.x is not supported yet)")
CLUSTER_PREFIX = "unsupported server in the cluster: "


def by_address(topo):
    return {i["address"]: i for i in topo["instances"]}


def main():
    require_binaries()
    with MariaDBRig(n=3, base_port=DB_PORT) as db, \
         ControllerRig(n=1, base_port=CTL_PORT,
                       probe=dict(interval_ms=200, connect_timeout_ms=500, read_timeout_ms=1000, down_after=3),
                       clusters=[Cluster("demo", db.password_file,
                                         [db.servers[1].address, db.servers[2].address,
                                          db.servers[3].address])]) as c:
        primary, r2, r3 = (db.servers[i].address for i in (1, 2, 3))

        step(f"restarting {r3} with --version={FAKE}")
        db.stop(3)
        db.servers[3].extra_args = [f"--version={FAKE}"]
        db.start(3)
        check(db.scalar(3, "SELECT @@version") == FAKE,
              f"mariadbd --version={FAKE} did not set @@version: {db.scalar(3, 'SELECT @@version')!r}")

        c.start_all()
        lid = c.wait_leader(15)

        def flagged():
            t = c.ctl_ok(["topology", "demo"], controller=lid)
            inst = by_address(t)
            p3 = inst.get(r3, {}).get("problem", "")
            cl = [p for p in t.get("problems", []) if p.startswith(CLUSTER_PREFIX)]
            if inst.get(primary, {}).get("role") != "primary" or p3 != PROBLEM or not cl:
                raise NotYet(f"primary role {inst.get(primary, {}).get('role')!r}, {r3} problem {p3!r}, "
                             f"cluster problems {t.get('problems')!r}")
            return t, cl[0]
        t, cl = wait_for(flagged, 20, f"topology to flag {r3} as MySQL {FAKE}")
        check(r3 in cl and "MySQL 8.0.36" in cl, f"cluster problem does not name {r3}: {cl!r}")
        check(inst_problem_ok(by_address(t)[r2]), f"{r2} has a problem: {by_address(t)[r2]!r}")
        step(f"topology: {r3}: {PROBLEM!r}; cluster: {cl!r}")

        epoch = c.ctl_ok(["why", "demo"], controller=lid).get("epoch")
        res = c.ctl(["switchover", "demo"], controller=lid)
        check(res.rc == 1, f"switchover in a cluster with a MySQL server should be refused (exit 1): "
                           f"{res.describe()}")
        text = res.stdout + res.stderr
        check(CLUSTER_PREFIX in text and r3 in text and "MySQL 8.0.36" in text,
              f"the refusal does not say why: {text!r}")
        step(f"switchover refused: {text.strip()!r}")

        def recorded():
            w = c.ctl_ok(["why", "demo"], controller=lid)
            d = [x for x in w.get("decisions", []) if x.get("verdict") == "refused"
                 and CLUSTER_PREFIX in x.get("reason", "")]
            if not d:
                raise NotYet(f"decisions {[(x.get('verdict'), x.get('reason')) for x in w.get('decisions', [])]}")
            return w, d[0]
        w, d = wait_for(recorded, 10, "`why demo` to record the refusal")
        check(w.get("epoch") == epoch, f"epoch changed from {epoch} to {w.get('epoch')} though refused")
        check(w.get("primary") == primary, f"primary is {w.get('primary')!r}, expected {primary}")
        check(db.scalar(2, "SELECT @@read_only") in ("1", 1) and db.scalar(3, "SELECT @@read_only") in ("1", 1),
              "a replica was made writable")
        check(db.scalar(1, "SELECT @@read_only") in ("0", 0), "the primary was fenced")
        step(f"why: {d['reason']!r}")

        step(f"restarting {r3} with its real version")
        db.stop(3)
        db.servers[3].extra_args = []
        db.start(3)

        def cleared():
            t2 = c.ctl_ok(["topology", "demo"], controller=lid)
            if t2.get("problems") or by_address(t2).get(r3, {}).get("problem"):
                raise NotYet(f"problems {t2.get('problems')!r}, {r3}: {by_address(t2).get(r3, {}).get('problem')!r}")
            if by_address(t2).get(r3, {}).get("io_running") != "Yes":
                raise NotYet(f"{r3} IO thread {by_address(t2).get(r3, {}).get('io_running')!r}")
            return True
        wait_for(cleared, 20, "the flavour problem to clear")
        res = c.ctl(["switchover", "demo", "--to", r2], controller=lid, proc_timeout=90)
        check(res.rc == 0, f"switchover after the server came back as MariaDB: {res.describe()}")
        w = c.ctl_ok(["why", "demo"], controller=lid)
        check(w.get("primary") == r2, f"switchover --to {r2} left primary {w.get('primary')!r}")
        step(f"with MariaDB only, switchover to {r2} succeeded")


def inst_problem_ok(i):
    return not i.get("problem")


if __name__ == "__main__":
    run_test(main)
