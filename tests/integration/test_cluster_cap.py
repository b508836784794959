#!/usr/bin/env python3
"""More than 1024 clusters (issue 12): until then both the config file and
`failoverctl cluster add` refused a 1,025th cluster. One real mariadbd, bound to
0.0.0.0 with the thread pool on, reached as 1,100 distinct 127.x.y.z addresses: a
config file with 1,100 one-server clusters must pass --check-config and start, two
more clusters must register with failoverctl, and the leader must probe every one of
the 1,102 servers with a sample. [limits] max_clusters / max_servers below what the
file lists must fail --check-config naming the limit.

Ports: mariadb 29800; failoverd admin 29810, raft 29830, http 29850."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.controllers import Cluster, ControllerRig, binary, require_binaries  # noqa: E402
from rig.mariadb import MariaDBRig  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 29800
CTL_PORT = 29810
N_CONFIG = 1100  # beyond the old cap of 1024


def addr(k):
    return f"127.{1 + k // 62500}.{(k // 250) % 250 + 1}.{k % 250 + 1}"


def check_config(path):
    r = subprocess.run([binary("failoverd"), "--config", path, "--check-config"], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    return r.returncode, (r.stderr + r.stdout).strip()


def leader_counts(c, node):
    text = c.metrics_text(node)
    probing = sum(float(m.group(1)) for m in re.finditer(r"^failoverd_probing_instances(?:\{[^}]*\})? (\S+)$",
                                                          text, re.M))
    up = len(re.findall(r"^failoverd_instance_up\{[^}]*\} 1$", text, re.M))
    return int(probing), up


def main():
    require_binaries()
    extra = ["--bind-address=0.0.0.0", "--thread-handling=pool-of-threads", "--max-connections=1500"]
    with MariaDBRig(n=1, base_port=DB_PORT, replicate=False, extra_args=extra) as db:
        port = db.servers[1].port
        clusters = [Cluster(f"c{k}", db.password_file, [f"{addr(k)}:{port}"]) for k in range(N_CONFIG)]
        with ControllerRig(n=1, base_port=CTL_PORT, clusters=clusters, log_level="warn",
                           probe=dict(interval_ms=1000, connect_timeout_ms=2000, read_timeout_ms=2000)) as c:
            conf = c.write_config(1)

            step(f"--check-config accepts {N_CONFIG} clusters")
            rc, out = check_config(conf)
            check(rc == 0, f"--check-config of {N_CONFIG} clusters exited {rc}: {out}")

            step("[limits] below the file's clusters and servers fails --check-config, naming the limit")
            text = open(conf).read()
            for limits, want in (("max_clusters = 1000", "[cluster c1000]: more than 1000 clusters ([limits] "
                                                         "max_clusters)"),
                                 ("max_servers = 1050", "[cluster c1050] instance: more than 1050 servers in all "
                                                        "clusters ([limits] max_servers)")):
                bad = conf + ".limits"
                with open(bad, "w") as f:
                    f.write(text + f"\n[limits]\n{limits}\n")
                rc, out = check_config(bad)
                check(rc != 0 and want in out, f"[limits] {limits}: exit {rc}, expected '{want}' in: {out}")

            step(f"starting failoverd with {N_CONFIG} clusters")
            c.start_all()
            lid = c.wait_leader(30)

            step("failoverctl cluster add: clusters 1101 and 1102")
            for k in (N_CONFIG, N_CONFIG + 1):
                c.ctl_write(["cluster", "add", f"c{k}", "--user", "failoverd", "--password-file", db.password_file],
                            controller=lid, timeout=30)
                c.ctl_write(["instance", "add", f"c{k}", f"{addr(k)}:{port}"], controller=lid, timeout=30)
            total = N_CONFIG + 2

            def listed():
                names = c.ctl_ok(["clusters"], controller=lid, timeout_ms=30000)
                rows = names.get("clusters", []) if isinstance(names, dict) else names
                if len(rows) != total:
                    raise NotYet(f"{len(rows)} clusters registered, want {total}")
                return True
            wait_for(listed, 60, f"{total} clusters registered", interval=0.5)

            def all_up():
                probing, up = leader_counts(c, lid)
                if probing != total or up != total:
                    raise NotYet(f"probing {probing}, up {up} of {total}")
                return True
            wait_for(all_up, 60, f"the leader to probe all {total} servers with a sample", interval=0.5)
            step(f"ok: {total} clusters registered and probed")


if __name__ == "__main__":
    sys.exit(run_test(main))
