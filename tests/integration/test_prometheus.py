#!/usr/bin/env python3
"""The alert rules and the Grafana dashboard work against a real Prometheus scraping a
real cluster (issue 15 item 4).

  1. promtool check rules and promtool test rules on deploy/prometheus/ (every alert
     has a firing and a quiet case there); promtool check config on the example
     scrape configuration.
  2. Hosts in network namespaces (tests/rig/netns.py, 10.243.7.0/24 exists only inside
     them): db1..db3 (mariadbd + failover-agent each, a writer VIP), c1..c3 (failoverd
     with mutual TLS), mon (Prometheus). Debian's prometheus runs in mon with its data
     in a temporary directory, scrapes every failoverd and agent each second and
     evaluates deploy/prometheus/failoverd.rules.yml each second.
  3. Before anything fails: FailoverdFailoverHappened, FailoverdNoLeader and
     FailoverdNoWritablePrimary are not active (the rules were evaluated: the rule
     group reports an evaluation after the first samples).
  4. kill -9 of the primary's mariadbd: failover; FailoverdFailoverHappened fires for
     cluster demo.
  5. The leader's /metrics passes promtool check metrics and has every new family;
     failoverd_tls_cert_not_after_timestamp_seconds equals what openssl reads from the
     certificate files.
  6. Every query of deploy/grafana/failoverd.json (panels and annotations, template
     variables substituted; the cluster variable's label_values() as a series query)
     returns data through /api/v1/query.
  7. A follower failoverd is stopped: FailoverdRaftMemberDown becomes active (pending,
     its `for` is 30 s) for exactly that node.

Skipped (exit 77) when promtool or prometheus is missing, or `ip netns add` is not
permitted. Ports inside the namespaces: mariadb 33600 on every db host; failoverd
admin 33610+, raft 33630+, http 33650+; agents 7201, agent http 9601; Prometheus
33690 on mon's loopback."""

import calendar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.agents import AgentRig, in_netns  # noqa: E402
from rig.controllers import source_dir  # noqa: E402
from rig.failover import FailoverEnv, steps_line  # noqa: E402
from rig.netns import NetnsRig, skip_unless_available as skip_unless_netns  # noqa: E402
from rig.util import (MissingPrerequisite, NotYet, Proc, check, register_cleanup, run_test, step,  # noqa: E402
                      tail, unregister_cleanup, wait_for)

DB_PORT = 33600
CTL_PORT = 33610
PROM_PORT = 33690
SUBNET = "10.243.7"
VIP = f"{SUBNET}.100"
HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3", "mon"]
DBH = {1: "db1", 2: "db2", 3: "db3"}
CTLH = {1: "c1", 2: "c2", 3: "c3"}
# What Grafana would put in place of the dashboard's variables. $__rate_interval is at
# least 4 scrape intervals in Grafana; with 1 s scrapes 10 s leaves room.
VARS = {"$__rate_interval": "10s", "$__interval": "2s", "$__range": "1m", "$agent_job": "failover-agent",
        "$job": "failoverd", "$cluster": "demo"}


def tool(name):
    p = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
    if p is None:
        raise MissingPrerequisite(f"{name} not found (Debian package prometheus; deploy/install-deps.sh)")
    return p


def deploy(*parts):
    return os.path.join(source_dir(), "deploy", *parts)


def promtool_checks(promtool):
    for argv in (["check", "rules", deploy("prometheus", "failoverd.rules.yml")],
                 ["test", "rules", deploy("prometheus", "failoverd.rules.test.yml")],
                 ["check", "config", deploy("prometheus", "prometheus.example.yml")]):
        r = subprocess.run([promtool] + argv, capture_output=True, text=True, timeout=60,
                           cwd=deploy("prometheus"))
        out = (r.stdout + r.stderr).strip()
        check(r.returncode == 0, f"promtool {' '.join(argv[:2])} failed (exit {r.returncode}):\n{out}")
        step(f"promtool {' '.join(argv[:2])}: {out.splitlines()[-1].strip()}")


class Agents(AgentRig):
    """Agents whose /metrics listen on their namespace's address (the rig's default is
    the namespace's own loopback), so that Prometheus in another namespace reaches them."""

    def http_address(self, i):
        return f"{self.addr(i)}:{self.http_port}"

    def _connect(self, i, port):
        return in_netns(self.net.ns(self.hosts[i]), lambda: socket.create_connection((self.addr(i), port), timeout=1))


class Prometheus:
    """Debian's prometheus inside namespace host `host`, in a temporary directory,
    stopped by its pid."""

    def __init__(self, net, host, binary, targets, rules):
        self.net = net
        self.host = host
        self.dir = tempfile.mkdtemp(prefix="fo-prom-")
        self.base = f"http://127.0.0.1:{PROM_PORT}"
        conf = {"global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
                "rule_files": [rules],
                "scrape_configs": [{"job_name": job, "static_configs": [{"targets": t}]}
                                   for job, t in targets.items()]}
        self.conf = os.path.join(self.dir, "prometheus.yml")
        with open(self.conf, "w") as f:
            json.dump(conf, f, indent=1)  # JSON is YAML
        self.log = os.path.join(self.dir, "prometheus.log")
        argv = [binary, f"--config.file={self.conf}", f"--storage.tsdb.path={self.dir}/data",
                f"--web.listen-address=127.0.0.1:{PROM_PORT}", "--log.level=warn"]
        self.proc = Proc("prometheus", net.wrap(host, argv), self.log)
        register_cleanup(self.teardown)

    def start(self):
        self.proc.start()
        wait_for(self._ready, 30, "prometheus to answer /-/ready", interval=0.2)

    def _ready(self):
        if not self.proc.alive():
            raise MissingPrerequisite(f"prometheus {self.proc.describe_exit()}:\n{tail(self.log)}")
        try:
            self.get("/-/ready", raw=True)
        except OSError as e:
            raise NotYet(str(e)) from None
        return True

    def get(self, path, params=None, raw=False):
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")

        def fetch():
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.read().decode()
        body = in_netns(self.net.ns(self.host), fetch)
        return body if raw else json.loads(body)

    def query(self, expr):
        """The result list of an instant query; a PromQL error fails the test."""
        try:
            d = self.get("/api/v1/query", {"query": expr})
        except urllib.error.HTTPError as e:
            raise AssertionError(f"query {expr!r}: HTTP {e.code}: {e.read().decode()[:400]}") from None
        check(d.get("status") == "success", f"query {expr!r}: {d}")
        return d["data"]["result"]

    def alerts(self, name):
        return [a for a in self.get("/api/v1/alerts")["data"]["alerts"] if a["labels"].get("alertname") == name]

    def teardown(self):
        unregister_cleanup(self.teardown)
        if self.proc.alive():
            self.proc.stop(20)
        shutil.rmtree(self.dir, ignore_errors=True)


def dashboard_queries():
    """(where, PromQL) for every query of the dashboard, variables substituted."""
    with open(deploy("grafana", "failoverd.json")) as f:
        d = json.load(f)
    check(d.get("schemaVersion", 0) >= 36, f"dashboard schemaVersion {d.get('schemaVersion')} < 36")
    out = []
    panels = list(d["panels"])
    while panels:
        p = panels.pop(0)
        panels += p.get("panels", [])
        if p.get("type") != "row":
            check(p.get("datasource", {}).get("uid") == "${DS_PROMETHEUS}",
                  f"panel {p.get('title')!r} does not use the ${{DS_PROMETHEUS}} datasource")
        for t in p.get("targets", []):
            out.append((f"panel {p['title']!r} {t['refId']}", t["expr"]))
    for a in d.get("annotations", {}).get("list", []):
        if a.get("expr"):
            out.append((f"annotation {a['name']!r}", a["expr"]))
    for v in d["templating"]["list"]:
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", q)
            check(m is not None, f"variable {v['name']}: cannot run {q!r}")
            out.append((f"variable {v['name']!r}", f'count by ({m.group(2)}) ({m.group(1)})'))
    subst = []
    for where, expr in out:
        for k in sorted(VARS, key=len, reverse=True):
            expr = expr.replace(k, VARS[k])
        check("$" not in expr.replace("$1", ""), f"{where}: unknown variable left in {expr!r}")
        subst.append((where, expr))
    return subst


def run_queries(prom, queries, timeout):
    """Every query must return a non-empty result; rate windows need a few samples, so
    the empty ones are retried until timeout."""
    deadline = time.monotonic() + timeout
    empty = list(queries)
    while True:
        empty = [(w, e) for w, e in empty if not prom.query(e)]
        if not empty or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    check(not empty, "dashboard queries without data:\n" + "\n".join(f"  {w}: {e}" for w, e in empty))


def promtool_path():
    return tool("promtool")


def check_metrics_page(env, promtool):
    """The leader's /metrics, with every per-cluster family present after a failover,
    is valid exposition text (promtool check metrics) and has the new families."""
    leader = env.c.leader()
    code, body = env.c.http_get(leader, "/metrics", timeout=5)
    check(code == 200, f"/metrics of node {leader}: HTTP {code}")
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and not (r.stdout + r.stderr).strip(), f"promtool check metrics: {r.stdout}{r.stderr}")
    for fam in ("failoverd_raft_voters", "failoverd_tls_cert_not_after_timestamp_seconds",
                "failoverd_cluster_primary_writable", "failoverd_cluster_primary", "failoverd_cluster_epoch",
                "failoverd_cluster_last_failover_timestamp_seconds", "failoverd_cluster_last_failover_result",
                "failoverd_cluster_last_failover_duration_seconds", "failoverd_cluster_vip_holder",
                "failoverd_server_health", "failoverd_server_role", "failoverd_server_read_only",
                "failoverd_cluster_last_decision_timestamp_seconds", "failoverd_cluster_failover_running"):
        check(re.search(rf"^{fam}(\{{| )", body, re.M), f"/metrics of node {leader} has no {fam} sample")
    step(f"node {leader}'s /metrics passes promtool check metrics and has the new families")


def openssl_not_after(path):
    r = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in", path],
                       capture_output=True, text=True, timeout=10)
    check(r.returncode == 0, f"openssl x509 -enddate {path}: {r.stderr}")
    t = r.stdout.strip().split("=", 1)[1]  # "2029-03-12 10:00:00Z"
    return calendar.timegm(time.strptime(t, "%Y-%m-%d %H:%M:%SZ"))


def check_cert_expiry(env, prom):
    """failoverd_tls_cert_not_after_timestamp_seconds agrees with openssl on the files."""
    ca = openssl_not_after(os.path.join(env.c.tls_dir, "ca.crt"))
    for i in CTLH:
        node = openssl_not_after(env.c.node_cert(i)[0])
        got = {r["metric"]["cert"]: float(r["value"][1]) for r in
               prom.query(f'failoverd_tls_cert_not_after_timestamp_seconds{{instance="{env.c.node(i).http}"}}')}
        check(got == {"node": node, "ca": ca}, f"node {i}: certificate expiry {got}, openssl says node {node} ca {ca}")
    step(f"certificate expiry matches openssl (node certificates {time.strftime('%Y-%m-%d', time.gmtime(node))}, "
         f"CA {time.strftime('%Y-%m-%d', time.gmtime(ca))})")


def wait_alert(prom, name, pred, timeout, what):
    def ok():
        a = [x for x in prom.alerts(name) if pred(x)]
        if not a:
            raise NotYet(f"{name} active: {[x['labels'] for x in prom.alerts(name)]}")
        return a
    return wait_for(ok, timeout, what, interval=0.25)


def main():
    promtool = tool("promtool")
    prometheus = tool("prometheus")
    t0 = time.monotonic()
    promtool_checks(promtool)
    step(f"promtool checks took {time.monotonic() - t0:.1f}s")
    skip_unless_netns("test_prometheus")
    with NetnsRig(HOSTS, subnet=SUBNET) as net:
        with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3, net=net, db_hosts=DBH, ctl_hosts=CTLH,
                         db_opts=dict(same_port=True, bind_any=True),
                         failover=dict(step_timeout_ms=8000, relay_wait_ms=5000),
                         extra_cluster=dict(vip=f"{VIP}/24", vip_interface="eth0", agent_port=7201,
                                            vip_lease_ms=2000)) as env:
            agents = Agents(net, DBH, "demo", f"{VIP}/24", certs=env.c.tls_dir,
                            mysql={i: (net.addr(h), DB_PORT, "failoverd", env.db.password_file)
                                   for i, h in DBH.items()})
            try:
                run(net, env, agents, prometheus)
            except BaseException:
                agents.dump_logs(40)
                raise
            finally:
                agents.teardown()


def run(net, env, agents, prometheus):
    t0 = time.monotonic()
    agents.start_all()
    env.wait_healthy(1, [2, 3])
    step(f"cluster up: 3 mariadbd, 3 failoverd, 3 agents ({time.monotonic() - t0:.1f}s)")

    targets = {"failoverd": [env.c.node(i).http for i in CTLH],
               "failover-agent": [agents.http_address(i) for i in DBH]}
    prom = Prometheus(net, "mon", prometheus, targets, deploy("prometheus", "failoverd.rules.yml"))
    try:
        t1 = time.monotonic()
        prom.start()

        def all_up():
            up = {r["metric"]["instance"]: r["value"][1] for r in prom.query("up")}
            want = set(targets["failoverd"] + targets["failover-agent"])
            if set(up) != want or any(v != "1" for v in up.values()):
                raise NotYet(f"up = {up}")
            # Per-cluster families come from the store: the cluster must be there too.
            if not prom.query('failoverd_cluster_primary_writable{cluster="demo"} == 1'):
                raise NotYet("no writable primary sample yet")
            return True
        wait_for(all_up, 30, "Prometheus to scrape every failoverd and agent", interval=0.25)
        step(f"Prometheus scrapes {len(targets['failoverd'])} failoverd and {len(targets['failover-agent'])} "
             f"agents ({time.monotonic() - t1:.1f}s after its start)")

        # The rule group must have been evaluated on those samples before "not active" means anything.
        t_samples = time.time()

        def evaluated():
            groups = prom.get("/api/v1/rules")["data"]["groups"]
            g = [x for x in groups if x["name"] == "failoverd"]
            check(len(g) == 1 and len(g[0]["rules"]) >= 12, f"rule groups loaded: {groups}")
            last = g[0].get("lastEvaluation", "")
            if not last or last.startswith("0001"):
                raise NotYet("not evaluated yet")
            errs = [(r["name"], r.get("lastError")) for r in g[0]["rules"] if r.get("lastError")]
            check(not errs, f"rules with evaluation errors: {errs}")
            return last
        wait_for(evaluated, 10, "the rule group's first evaluation", interval=0.25)
        time.sleep(max(0.0, t_samples + 2.5 - time.time()))  # two more evaluations with every target up
        for name in ("FailoverdFailoverHappened", "FailoverdNoLeader", "FailoverdNoWritablePrimary",
                     "FailoverdFailoverBlocked", "FailoverdVipNotConfirmed"):
            check(not prom.alerts(name), f"{name} active on a healthy cluster: {prom.alerts(name)}")
        step("healthy cluster: no failover / leader / writable-primary / blocked / VIP alert active")

        # ------------------------------------------------------------ kill -9 the primary
        env.db.sync_all()
        t2 = time.monotonic()
        env.db.kill9(1)
        f = env.failover(1, timeout=60)
        step(f"kill -9 of the primary: failover to {f['new_primary']} ({steps_line(f)})")
        a = wait_alert(prom, "FailoverdFailoverHappened", lambda x: x["labels"].get("cluster") == "demo", 15,
                       "FailoverdFailoverHappened for cluster demo")
        step(f"FailoverdFailoverHappened {a[0]['state']} {time.monotonic() - t2:.1f}s after the kill: "
             f"{a[0]['annotations']['summary']}")

        # ------------------------------------------------------------ new families, checked apart
        check_metrics_page(env, promtool_path())
        check_cert_expiry(env, prom)

        # ------------------------------------------------------------ the dashboard's queries
        t3 = time.monotonic()
        queries = dashboard_queries()
        run_queries(prom, queries, 20)
        step(f"all {len(queries)} dashboard queries return data ({time.monotonic() - t3:.1f}s)")

        # ------------------------------------------------------------ a follower goes away
        leader = env.c.leader()
        follower = next(i for i in CTLH if i != leader)
        gone = env.c.node(follower).http
        env.c.stop(follower)
        t4 = time.monotonic()
        a = wait_alert(prom, "FailoverdRaftMemberDown", lambda x: x["labels"].get("instance") == gone, 10,
                       f"FailoverdRaftMemberDown for {gone}")
        others = [x["labels"]["instance"] for x in prom.alerts("FailoverdRaftMemberDown")
                  if x["labels"]["instance"] != gone]
        check(not others, f"FailoverdRaftMemberDown also for nodes that run: {others}")
        step(f"follower {follower} stopped: FailoverdRaftMemberDown {a[0]['state']} for {gone} "
             f"after {time.monotonic() - t4:.1f}s (and for no other node)")
    except BaseException:
        print(f"----- prometheus log tail ({prom.log})\n{tail(prom.log, 30)}", flush=True)
        raise
    finally:
        prom.teardown()


if __name__ == "__main__":
    sys.exit(run_test(main))
