#!/usr/bin/env python3
"""The quickstart survives the first thing a user tries (issue 11.6).

Runs the real deploy/quickstart.sh in a temporary directory with its own ports
(QUICKSTART_DIR / QUICKSTART_*_PORT, the build under test via QUICKSTART_BUILD_DIR and
QUICKSTART_NO_BUILD=1), then:
  0. every demo server N (127.0.0.N) has its failover-agent: /metrics answers on
     127.0.0.N at the agent HTTP port and the agent serves cluster demo, and the
     controllers' configs name the agent port (agent_port).
  1. `failoverctl switchover demo`: the fence step's agent part says "FenceMysql
     confirmed" (the old primary's agent fenced its mysqld; without an agent it said
     "FenceMysql failed (...)" with connection refused), and the old primary's agent
     saw the switchover's epoch. Every server replicates from the new primary
     within 30 s -- the former primary included (it rejoins with the registered
     replication account; before, it was left read-only and not replicating:
     `why` said cannot_rejoin).
  2. kill -9 of the new primary's mysqld: a failover to a third server whose fence step
     reached the dead server's agent, which answered that its mysqld is not there
     ("FenceMysql refused (...)", never "FenceMysql failed"); then the killed
     mysqld is restarted with its own command line: within 60 s every server is up and
     replicates from the newest primary (SHOW SLAVE STATUS over each server's socket:
     IO and SQL Yes, Master_Port the primary's), and a row written on the primary
     reaches all of them.
  3. `quickstart.sh stop` stops everything: no process of the quickstart is left.

Ports: mariadb 31201-31203 (on 127.0.0.1-3); failoverd admin 31211-31213, raft
31221-31223, http 31231-31233; agents 31241, agent http 31251 (on 127.0.0.1-3)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.controllers import find_samples, parse_metrics  # noqa: E402
from rig.mariadb import MariaDBRig  # noqa: E402 - for _find / batch parsing only
from rig.util import MissingPrerequisite, NotYet, TestFailure, check, run_test, step, wait_for  # noqa: E402

SRC = os.environ.get("FO_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("FO_BUILD_DIR") or os.path.join(SRC, "build")
DB_PORT, ADMIN_PORT, RAFT_PORT, HTTP_PORT = 31201, 31211, 31221, 31231
AGENT_PORT, AGENT_HTTP_PORT = 31241, 31251
PORTS = [DB_PORT + i for i in range(3)]


def host_of(port):
    """Demo server N listens on 127.0.0.N (rig.mariadb --loopback-hosts)."""
    return f"127.0.0.{port - DB_PORT + 1}"


class Demo:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fo-qs-")
        self.qs = os.path.join(self.dir, "qs")
        self.env = dict(os.environ, QUICKSTART_DIR=self.qs, QUICKSTART_DB_PORT=str(DB_PORT),
                        QUICKSTART_ADMIN_PORT=str(ADMIN_PORT), QUICKSTART_RAFT_PORT=str(RAFT_PORT),
                        QUICKSTART_HTTP_PORT=str(HTTP_PORT), QUICKSTART_AGENT_PORT=str(AGENT_PORT),
                        QUICKSTART_AGENT_HTTP_PORT=str(AGENT_HTTP_PORT), QUICKSTART_BUILD_DIR=BUILD,
                        QUICKSTART_NO_BUILD="1")
        self.restarted = []  # mysqld processes this test started itself
        self.client = shutil.which("mariadb")
        tls = os.path.join(self.qs, "tls")
        self.ctl_argv = [os.path.join(BUILD, "bin", "failoverctl"), "--ca", f"{tls}/ca.crt", "--cert",
                         f"{tls}/admin.crt", "--key", f"{tls}/admin.key"]

    def quickstart(self, *args, timeout=300):
        r = subprocess.run(["bash", os.path.join(SRC, "deploy", "quickstart.sh"), *args], env=self.env,
                           capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return r

    def ctl(self, *args, json_out=True):
        for i in range(3):
            argv = self.ctl_argv + ["--controller", f"127.0.0.1:{ADMIN_PORT + i}", "--timeout", "3000"]
            argv += (["--json"] if json_out else []) + list(args)
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
            if r.returncode != 3:  # 3: that node is unreachable, try the next
                return r
        return r

    def socket(self, port):
        return os.path.join(self.qs, "mariadb", f"m{port - DB_PORT + 1}", "mysqld.sock")

    def sql(self, port, query):
        r = subprocess.run([self.client, "--no-defaults", "--protocol=socket", f"--socket={self.socket(port)}",
                            "-uroot", "--batch", "-e", query], capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise NotYet(f":{port}: {query!r}: {r.stderr.strip()}")
        rows = MariaDBRig._rows(r.stdout)
        return [dict(zip(rows[0], row)) for row in rows[1:]] if rows else []

    def primary(self):
        r = self.ctl("topology", "demo")
        if r.returncode != 0:
            raise NotYet(f"topology: exit {r.returncode}: {r.stderr.strip()}")
        t = json.loads(r.stdout)
        prim = [i for i in t.get("instances", []) if i.get("role") == "primary"]
        if len(prim) != 1:
            raise NotYet(f"primaries: {[i.get('port') for i in prim]}")
        return int(prim[0]["port"])

    def epoch(self):
        r = self.ctl("topology", "demo")
        if r.returncode != 0:
            raise NotYet(f"topology: exit {r.returncode}: {r.stderr.strip()}")
        return int(json.loads(r.stdout)["epoch"])

    def agent_epoch(self, port):
        """The epoch the agent beside the server at `port` holds for cluster demo (its
        /metrics, on the server's own 127.0.0.N): None before it has seen one (no
        request yet); raises if the agent does not answer."""
        url = f"http://{host_of(port)}:{AGENT_HTTP_PORT}/metrics"
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with no_proxy.open(url, timeout=5) as resp:
            samples = parse_metrics(resp.read().decode())
        check(find_samples(samples, "failoverd_agent_rpcs_total"), f"{url} does not look like an agent's")
        found = find_samples(samples, "failoverd_agent_epoch", cluster="demo")
        return int(found[0].value) if found else None

    def fence_step(self, epoch):
        """The detail of failover `epoch`'s fence step (history), NotYet before it."""
        r = self.ctl("history", "demo")
        if r.returncode != 0:
            raise NotYet(f"history: exit {r.returncode}: {r.stderr.strip()}")
        for e in json.loads(r.stdout).get("events", []):
            if e.get("kind") == "failover_step" and e.get("detail", "").startswith(f"epoch {epoch} fence="):
                return e["detail"]
        raise NotYet(f"no fence step of epoch {epoch} in the history yet")

    def mysqld_pid(self, port):
        with open(os.path.join(self.qs, "mariadb", f"m{port - DB_PORT + 1}", "mysqld.pid")) as f:
            return int(f.read().strip())

    def all_replicate_from(self, primary):
        """Every server other than primary replicates from it; primary is writable."""
        for port in PORTS:
            ro = self.sql(port, "SELECT @@read_only AS ro")[0]["ro"]
            st = self.sql(port, "SHOW SLAVE STATUS")
            if port == primary:
                if ro != "0" or st:
                    raise NotYet(f"primary :{port}: read_only={ro}, slave rows={len(st)}")
                continue
            if not st:
                raise NotYet(f":{port} is not a replica")
            s = st[0]
            if (s["Slave_IO_Running"], s["Slave_SQL_Running"], s["Master_Port"]) != ("Yes", "Yes", str(primary)):
                raise NotYet(f":{port}: IO={s['Slave_IO_Running']} SQL={s['Slave_SQL_Running']} "
                             f"source=:{s['Master_Port']} err={s['Last_IO_Error'] or s['Last_SQL_Error']!r}")
            if ro != "1":
                raise NotYet(f":{port} replicates but read_only={ro}")
        return True

    def wait_row(self, value):
        def there():
            for port in PORTS:
                rows = self.sql(port, f"SELECT COUNT(*) AS n FROM qs.t WHERE v = {value}")
                if rows[0]["n"] != "1":
                    raise NotYet(f":{port} lacks row {value}")
            return True
        wait_for(there, 30, f"row {value} on every server")

    def write(self, primary, value):
        self.sql(primary, f"CREATE DATABASE IF NOT EXISTS qs; CREATE TABLE IF NOT EXISTS qs.t (v INT PRIMARY KEY); "
                          f"INSERT INTO qs.t VALUES ({value})")

    def leftovers(self):
        """Processes whose command line mentions the demo's directory."""
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        continue
            except OSError:
                continue
            if self.qs + "/" in cmd:
                out.append((int(pid), cmd[:120]))
        return out

    def cleanup(self):
        for p in self.restarted:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.quickstart("stop", timeout=180)
        for pid, _ in self.leftovers():  # only ours: their command line names our temp dir
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if not os.environ.get("FO_KEEP_RIG"):
            shutil.rmtree(self.dir, ignore_errors=True)


def main():
    for b in ("failoverd", "failoverctl"):
        if not os.access(os.path.join(BUILD, "bin", b), os.X_OK):
            raise MissingPrerequisite(f"{BUILD}/bin/{b} not built")
    if shutil.which("mariadbd") is None and not os.access("/usr/sbin/mariadbd", os.X_OK):
        raise MissingPrerequisite("mariadbd not installed")
    if os.geteuid() != 0:
        raise MissingPrerequisite("the quickstart runs as root")
    d = Demo()
    try:
        run(d)
    finally:
        d.cleanup()
    left = d.leftovers()
    check(not left, f"processes left after quickstart.sh stop: {left}")


def new_primary(d, old):
    p = d.primary()
    if p in old:
        raise NotYet(f"the primary is still :{p}")
    return p


def run(d):
    step("quickstart.sh (own dir and ports)")
    r = d.quickstart()
    if r.returncode != 0:
        raise TestFailure(f"quickstart.sh exited {r.returncode}:\n{r.stderr[-3000:]}")
    check("failoverctl" in r.stdout and "topology demo" in r.stdout, f"quickstart printed no status:\n{r.stdout}")
    p0 = wait_for(d.primary, 30, "one primary in the topology")
    check(p0 == DB_PORT, f"primary is :{p0}, expected :{DB_PORT}")
    wait_for(lambda: d.all_replicate_from(p0), 30, "the demo replicating from its first primary")

    step("one failover-agent per demo server")
    for port in PORTS:
        check(d.agent_epoch(port) is None, f"the agent beside :{port} has an epoch before any failover")
        print(f"  agent on {host_of(port)}:{AGENT_PORT} answers on its /metrics", flush=True)
    with open(os.path.join(d.qs, "failoverd", "n1", "failoverd.conf")) as f:
        conf = f.read()
    check(f"agent_port = {AGENT_PORT}" in conf, f"failoverd.conf does not name agent_port {AGENT_PORT}:\n{conf}")
    check(all(f"instance = {host_of(p)}:{p}" in conf for p in PORTS),
          f"the instances are not on 127.0.0.1-3 in failoverd.conf:\n{conf}")

    step("failoverctl switchover demo")
    e0 = d.epoch()
    r = d.ctl("switchover", "demo", json_out=False)
    check(r.returncode == 0, f"switchover exited {r.returncode}: {r.stdout}{r.stderr}")
    p1 = wait_for(lambda: new_primary(d, (p0,)), 30, "a new primary after the switchover")
    e1 = d.epoch()
    check(e1 > e0, f"epoch {e1} after the switchover, {e0} before")
    fence = wait_for(lambda: d.fence_step(e1), 10, "the switchover's fence step in the history")
    print(f"  {fence}", flush=True)
    agent_part = fence.partition("; agent: ")[2]
    check("FenceMysql confirmed" in agent_part,
          f"the old primary's agent did not fence its mysqld in the switchover: {fence}")
    check((d.agent_epoch(p0) or 0) >= e1, f"the agent beside :{p0} did not see epoch {e1}")
    wait_for(lambda: d.all_replicate_from(p1), 30, f"every server replicating from :{p1} (old primary rejoined)")
    d.write(p1, 1)
    d.wait_row(1)

    step(f"kill -9 of the primary's mysqld (:{p1}), then its restart")
    d.ctl("ack", "demo", json_out=False)  # the switchover's anti-flap block must not refuse the failover
    pid = d.mysqld_pid(p1)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = [a.decode() for a in f.read().split(b"\0") if a]
    os.kill(pid, signal.SIGKILL)
    p2 = wait_for(lambda: new_primary(d, (p1,)), 30, "a failover away from the killed primary")
    e2 = d.epoch()
    fence = wait_for(lambda: d.fence_step(e2), 10, "the failover's fence step in the history")
    print(f"  {fence}", flush=True)
    agent_part = fence.partition("; agent: ")[2]
    # The agent answered (its mysqld is gone, so it could not fence it); "FenceMysql
    # failed" would mean the agent itself was not reached.
    check("FenceMysql refused" in agent_part and "FenceMysql failed" not in agent_part,
          f"the fence step did not get an answer from the killed server's agent: {fence}")
    check(d.agent_epoch(p1) == e2, f"the agent beside the killed :{p1} did not see the failover's epoch {e2}")
    time.sleep(0.5)
    log = os.path.join(d.qs, "mariadb", f"m{p1 - DB_PORT + 1}", "restart.log")
    with open(log, "ab") as out:
        d.restarted.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True))
    wait_for(lambda: d.all_replicate_from(p2), 60, f"every server replicating from :{p2} after the restart")
    d.write(p2, 2)
    d.wait_row(2)
    r = d.ctl("status", json_out=False)
    print(r.stdout, flush=True)

    step("quickstart.sh stop")
    for p in d.restarted:  # not in the quickstart's pid file: this test started it
        p.send_signal(signal.SIGTERM)
        p.wait(60)
    r = d.quickstart("stop", timeout=180)
    check(r.returncode == 0, f"quickstart.sh stop exited {r.returncode}: {r.stderr}")


if __name__ == "__main__":
    sys.exit(run_test(main))
