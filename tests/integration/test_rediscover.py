#!/usr/bin/env python3
"""Periodic rediscovery against real mariadbd (issue 14.2, controller/admin/rediscover.h).

Four servers: db1 primary, db2 and db3 its replicas, db4 standalone (outside).

1. Cluster `rd` (from the config file: rediscover_interval_s = 5) registers db1 and db2
   only. The leader's walk finds db3, a replica of db1 that is not registered: one
   line in `failoverctl topology`, failoverd_rediscover_unregistered_replicas = 1, and
   ONE "rediscovery" decision in `why` however many walks follow (the set did not change).
2. db2 is repointed at db4 (outside the cluster): reported vanished (topology line,
   failoverd_rediscover_vanished_replicas = 1, a second decision).
3. `rd` is removed and `ad` registered with `failoverctl cluster add --rediscover-interval-s
   5 --adopt-replicas` and db1, db2 (repointed back): db3 is adopted (registered, rule
   neutral, probed UP, an "adopted" decision, failoverd_rediscover_adopted_total = 1),
   while db4, made a WRITABLE replica of db1, is reported and never adopted.

Ports: mariadb 30700-30703, failoverd 30720 (admin), 30740 (raft), 30760 (http)."""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.controllers import Cluster, ControllerRig, find_samples, require_binaries  # noqa: E402
from rig.mariadb import MariaDBRig  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 30700
CTL_PORT = 30720
WAIT = 40  # seconds: a walk every 5 s, on a loaded 2-core machine


def topology(c, cluster):
    return c.ctl_ok(["topology", cluster])


def findings(c, cluster):
    return topology(c, cluster).get("rediscovery", [])


def decisions(c, cluster, verdict):
    why = c.ctl_ok(["why", cluster, "--limit", "100"])
    return [d for d in why.get("decisions", []) if d.get("verdict") == verdict]


def metric(c, name, **labels):
    s = find_samples(c.metrics(1), name, **labels)
    return s[0].value if s else None


def wait_value(fn, want, what):
    def ok():
        v = fn()
        if v == want:
            return v
        raise NotYet(f"{what}: {v!r}, want {want!r}")
    return wait_for(ok, WAIT, what, interval=0.5)


def wait_finding(c, cluster, text):
    def ok():
        f = findings(c, cluster)
        if any(text in x for x in f):
            return f
        raise NotYet(f"rediscovery findings of {cluster}: {f}")
    return wait_for(ok, WAIT, f"'{text}' in the topology of {cluster}", interval=0.5)


def main():
    require_binaries()
    with MariaDBRig(n=4, base_port=DB_PORT) as db:
        a = {i: db.servers[i].address for i in db.servers}
        step("db4 leaves the replication: standalone, outside every cluster")
        db.sql(4, "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only=0;")
        rd = Cluster("rd", db.password_file, [a[1], a[2]], rediscover_interval_s=5)
        with ControllerRig(n=1, base_port=CTL_PORT, clusters=[rd]) as c:
            c.start_all()
            c.wait_leader(15)

            step("1. db3 replicates from db1 but is not registered: reported once")
            f = wait_finding(c, "rd", f"unregistered replica {a[3]} of {a[1]}")
            check(len(f) == 1, f"one finding expected: {f}")
            check(topology(c, "rd")["rediscover_interval_s"] == 5, "topology shows the interval")
            wait_value(lambda: len(decisions(c, "rd", "rediscovery")), 1, "rediscovery decisions")
            check(metric(c, "failoverd_rediscover_unregistered_replicas", cluster="rd") == 1,
                  "failoverd_rediscover_unregistered_replicas{cluster=rd} is 1")
            walks = metric(c, "failoverd_rediscover_walks_total", cluster="rd", result="ok") or 0

            def two_more_walks():
                n = metric(c, "failoverd_rediscover_walks_total", cluster="rd", result="ok") or 0
                if n >= walks + 2:
                    return n
                raise NotYet(f"{n} walks (from {walks})")
            wait_for(two_more_walks, WAIT, "two more walks", interval=0.5)
            d = decisions(c, "rd", "rediscovery")
            check(len(d) == 1, f"a decision only when the set changes, not per walk: {d}")
            check(a[3] in d[0]["reason"], f"the decision names db3: {d[0]}")
            text = c.ctl(["topology", "rd"], json_out=False)
            check(f"rediscovered: unregistered replica {a[3]}" in text.stdout, f"text topology: {text.stdout}")

            step("2. db2 repointed at db4 (outside the cluster): vanished")
            db.change_master(2, 4)
            db.wait_replicating(2)
            wait_finding(c, "rd", f"vanished replica {a[2]}: replicates from {a[4]}, outside the cluster")
            wait_value(lambda: metric(c, "failoverd_rediscover_vanished_replicas", cluster="rd"), 1,
                       "failoverd_rediscover_vanished_replicas{cluster=rd}")
            wait_value(lambda: len(decisions(c, "rd", "rediscovery")), 2, "rediscovery decisions")
            check(not any(x["address"] == a[3] for x in topology(c, "rd")["instances"]),
                  "without adopt_replicas nothing is registered")

            step("3. adopt_replicas: db3 is adopted, db4 (writable) is not")
            db.change_master(2, 1)
            db.wait_replicating(2)
            db.change_master(4, 1)
            db.wait_replicating(4)
            db.sql(4, "SET GLOBAL read_only=0")
            c.ctl_write(["cluster", "remove", "rd"])
            c.ctl_write(["cluster", "add", "ad", "--user", "failoverd", "--password-file", db.password_file,
                         "--rediscover-interval-s", "5", "--adopt-replicas"])
            for i in (1, 2):
                c.ctl_write(["instance", "add", "ad", a[i]])
            t = topology(c, "ad")
            check(t["adopt_replicas"] is True and t["rediscover_interval_s"] == 5, f"settings stored: {t}")

            def adopted():
                t = topology(c, "ad")
                ins = {x["address"]: x for x in t["instances"]}
                if a[3] in ins and ins[a[3]].get("health") == "up":
                    return ins[a[3]]
                raise NotYet(f"instances {sorted(ins)}: {[(k, v.get('health')) for k, v in ins.items()]}")
            x = wait_for(adopted, WAIT, "db3 registered and probed", interval=0.5)
            check(x.get("rule") in (None, "neutral"), f"adopted with rule neutral: {x}")
            d = decisions(c, "ad", "adopted")
            check(len(d) == 1 and a[3] in d[0]["reason"], f"one adopted decision for db3: {d}")
            wait_finding(c, "ad", f"unregistered replica {a[4]} of {a[1]} (not adopted: writable")
            check(not any(x["address"] == a[4] for x in topology(c, "ad")["instances"]), "db4 never adopted")
            check(metric(c, "failoverd_rediscover_adopted_total", cluster="ad") == 1, "adopted_total is 1")
            print("topology after adoption:\n" + c.ctl(["topology", "ad"], json_out=False).stdout)
            promtool = shutil.which("promtool")
            if promtool:  # the new families pass Prometheus' own lint
                text = "".join(ln + "\n" for ln in c.metrics_text(1).splitlines() if "failoverd_rediscover_" in ln)
                r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
                check(r.returncode == 0, f"promtool check metrics: {r.stdout} {r.stderr}\n{text}")


if __name__ == "__main__":
    run_test(main)
