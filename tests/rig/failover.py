"""Failover scenarios: real mariadbd servers (rig.mariadb) watched by three failoverd
nodes (rig.controllers) that may act on them (issue 3, DESIGN.md §5-§7), with the
checks every failover test needs.

    with FailoverEnv(db_port=24700, ctl_port=24710, n_db=3, semi_sync=True) as env:
        env.wait_healthy(1)                    # server 1 primary, the others its replicas
        env.db.kill9(1); t = env.failover(1)   # the record of epoch 1, once it succeeded
        env.wait_healthy(t_new, ...)

Server i of `env.db` has env.addr(i) = "host:port"; env.index(addr) maps back.
Cluster "demo" has every server, the rig's repl account (repl_user and
repl_password_file), fast probes (interval 200 ms, down after 3, read timeout
1000 ms) and whatever cluster/[failover] options the test gives.

When the body of the `with` raises, the env prints `failoverctl why`, `history` and
`topology` (as the nodes answer them), each server's replication state, then the
controllers' and servers' log tails, and stops everything by pid."""

import json
import re
import time

from rig.controllers import Cluster, ControllerRig, require_binaries
from rig.mariadb import MariaDBRig, sql_quote
from rig.util import NotYet, RigError, TestFailure, check, wait_for

CLUSTER = "demo"
PROBE = dict(interval_ms=200, connect_timeout_ms=500, read_timeout_ms=1000, down_after=3)
STEP_RE = re.compile(r"(\w+)=(\d+(?:\.\d+)?)ms")


def gtid_set(s):
    """'0-1-5,1-2-3' -> frozenset, so order and spacing do not matter."""
    return frozenset(x.strip() for x in (s or "").split(",") if x.strip())


def parse_steps(steps):
    """'fence=3ms choose=120ms' -> {'fence': 3.0, 'choose': 120.0}."""
    return {k: float(v) for k, v in STEP_RE.findall(steps or "")}


def short(obj, n=1500):
    s = json.dumps(obj, sort_keys=True) if not isinstance(obj, str) else obj
    return s if len(s) <= n else s[:n] + "...(truncated)"


def inst_summary(inst):
    keys = ("health", "role", "source", "read_only", "io_running", "sql_running", "quarantined",
            "maintenance", "rule", "gtid_current_pos", "last_error", "problem")
    return "{" + ", ".join(f"{k}={inst.get(k)!r}" for k in keys if k in inst) + "}"


class FailoverEnv:
    def __init__(self, db_port, ctl_port, n_db=3, rules=None, semi_sync=False, anti_flap_s=None,
                 max_lag_s=None, failover=None, probe=None, log_level="debug", slave_net_timeout=4,
                 net=None, db_hosts=None, ctl_hosts=None, election_timeout_ms=600, heartbeat_timeout_ms=60,
                 repl=True, extra_cluster=None, db_opts=None):
        # Raft timing: failoverd's defaults (common/config.h), so tests run what ships.
        require_binaries()
        self.rules = dict(rules or {})
        self.semi_sync = semi_sync
        self.cluster_opts = dict(semi_sync="yes" if semi_sync else "no")
        if anti_flap_s is not None:
            self.cluster_opts["anti_flap_s"] = anti_flap_s
        if max_lag_s is not None:
            self.cluster_opts["max_lag_s"] = max_lag_s
        self.cluster_opts.update(extra_cluster or {})
        self.repl = repl
        self.failover_cfg = dict(failover or {})
        self.probe = dict(probe or PROBE)
        self.log_level = log_level
        self.election_timeout_ms = election_timeout_ms
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.net = net
        self.db = MariaDBRig(n=n_db, base_port=db_port, slave_net_timeout=slave_net_timeout,
                             net=net, hosts=db_hosts, **(db_opts or {}))
        self.ctl_port = ctl_port
        self.ctl_hosts = ctl_hosts
        self.c = None
        self.cluster = CLUSTER

    # ------------------------------------------------------------ lifecycle

    def __enter__(self):
        try:
            self.db.setup()
            instances = []
            for i, s in self.db.servers.items():
                rule = self.rules.get(i)
                instances.append(s.address + (f" {rule}" if rule else ""))
            opts = dict(self.cluster_opts)
            if self.repl:
                opts.update(repl_user="repl", repl_password_file=self.db.repl_password_file)
            self.c = ControllerRig(n=3, base_port=self.ctl_port, log_level=self.log_level, probe=self.probe,
                                   election_timeout_ms=self.election_timeout_ms,
                                   heartbeat_timeout_ms=self.heartbeat_timeout_ms,
                                   failover=self.failover_cfg, net=self.net, hosts=self.ctl_hosts,
                                   clusters=[Cluster(CLUSTER, self.db.password_file, instances, **opts)])
            self.c.start_all()
            self.c.wait_leader(20)
        except BaseException:
            self.diagnostics()
            self._teardown(failed=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.diagnostics()
        self._teardown(failed=exc_type is not None)
        return False

    def _teardown(self, failed):
        if self.c is not None:
            if failed:
                self.c.dump_logs(60)
            self.c.teardown()
        if failed:
            self.db.dump_logs(20)
        self.db.teardown()

    def diagnostics(self):
        """Prints what the controllers and the servers say (never raises)."""
        print("===== diagnostics (what the controllers and the servers say)", flush=True)
        if self.c is not None and self.c.running_ids():
            for args in (["why", CLUSTER], ["history", CLUSTER, "--limit", "30"], ["topology", CLUSTER]):
                try:
                    res = self.c.ctl(args, json_out=False, proc_timeout=20)
                    print(f"----- failoverctl {' '.join(args)} (exit {res.rc})\n{res.stdout}{res.stderr}",
                          flush=True)
                except Exception as e:  # noqa: BLE001
                    print(f"----- failoverctl {' '.join(args)}: {e}", flush=True)
            try:
                res = self.c.ctl(["why", CLUSTER], proc_timeout=20)
                print(f"----- why --json: {short(res.data or res.stdout, 4000)}", flush=True)
            except Exception as e:  # noqa: BLE001
                print(f"----- why --json: {e}", flush=True)
        for i in self.db.servers:
            print(f"----- mariadb {i} ({self.addr(i)}): {self.server_state(i)}", flush=True)

    # ------------------------------------------------------------ addresses

    def addr(self, i):
        return self.db.servers[i].address

    def index(self, address):
        for i, s in self.db.servers.items():
            if s.address == address:
                return i
        raise TestFailure(f"{address!r} is not one of the rig's servers "
                          f"({', '.join(s.address for s in self.db.servers.values())})")

    # ------------------------------------------------------------ failoverctl

    def ctl(self, args, **kw):
        return self.c.ctl(args, **kw)

    def ctl_ok(self, args, **kw):
        return self.c.ctl_ok(args, **kw)

    def topo(self, node=None):
        t = self.c.ctl_ok(["topology", CLUSTER], controller=node)
        if t.get("cluster") != CLUSTER:
            raise NotYet(f"topology answered for cluster {t.get('cluster')!r}")
        return t

    def by_address(self, topo=None):
        return {i["address"]: i for i in (topo or self.topo())["instances"]}

    def history(self, node=None):
        return self.c.ctl_ok(["history", CLUSTER, "--limit", "200"], controller=node)

    def failovers(self, node=None):
        return self.history(node).get("failovers") or []

    def why(self, node=None):
        return self.c.ctl_ok(["why", CLUSTER], controller=node)

    def decisions(self, node=None):
        return self.why(node).get("decisions") or []

    def ack(self):
        return self.c.ctl_write(["ack", CLUSTER])

    # ------------------------------------------------------------ servers, directly

    def server_state(self, i):
        """One line: running, read_only, GTID, replication (via root's unix socket)."""
        if not self.db.running(i):
            s = self.db.servers[i]
            return "not running" + (f" ({s.proc.describe_exit()})" if s.proc else "")
        try:
            ro, cur, sid = self.db.sql(i, "SELECT @@read_only, @@gtid_current_pos, @@server_id", timeout=5)[0]
            st = self.db.slave_status(i)
            repl = "not a replica" if st is None else (
                f"source {st.get('Master_Host')}:{st.get('Master_Port')} IO={st.get('Slave_IO_Running')} "
                f"SQL={st.get('Slave_SQL_Running')} io_error={st.get('Last_IO_Error')!r} "
                f"sql_error={st.get('Last_SQL_Error')!r}")
            return f"read_only={ro} gtid_current_pos={cur!r} server_id={sid}; {repl}"
        except Exception as e:  # noqa: BLE001
            return f"running, but cannot query: {e}"

    def read_only(self, i):
        return self.db.scalar(i, "SELECT @@read_only") == "1"

    def writable_servers(self):
        """Running servers with read_only=0 (as seen over root's unix socket)."""
        out = []
        for i in self.db.servers:
            if self.db.running(i):
                try:
                    if not self.read_only(i):
                        out.append(i)
                except RigError:
                    pass
        return out

    def replicates_from(self, i, src):
        """Raises NotYet unless server i replicates from server src with both threads Yes."""
        st = self.db.slave_status(i)
        s = self.db.servers[src]
        if st is None:
            raise NotYet(f"mariadb {i}: not a replica (SHOW SLAVE STATUS empty); wanted source {s.address}")
        got = f"{st.get('Master_Host')}:{st.get('Master_Port')}"
        if got != s.address or st.get("Slave_IO_Running") != "Yes" or st.get("Slave_SQL_Running") != "Yes":
            raise NotYet(f"mariadb {i}: source {got} IO={st.get('Slave_IO_Running')} "
                         f"SQL={st.get('Slave_SQL_Running')} io_error={st.get('Last_IO_Error')!r} "
                         f"sql_error={st.get('Last_SQL_Error')!r}; wanted source {s.address} with IO/SQL Yes")
        return True

    def enable_semi_sync(self, primary, replicas, timeout_ms=120000):
        """AFTER_SYNC semi-sync on the primary, slave side on the replicas (IO thread
        restarted so it takes effect); waits until the primary counts every replica."""
        self.db.sql(primary, "SET GLOBAL rpl_semi_sync_master_enabled=1; "
                             "SET GLOBAL rpl_semi_sync_master_wait_point='AFTER_SYNC'; "
                             f"SET GLOBAL rpl_semi_sync_master_timeout={int(timeout_ms)}")
        for r in replicas:
            self.db.sql(r, "SET GLOBAL rpl_semi_sync_slave_enabled=1; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD")

        def clients():
            rows = dict(self.db.sql(primary, "SHOW GLOBAL STATUS WHERE Variable_name IN "
                                             "('Rpl_semi_sync_master_clients','Rpl_semi_sync_master_status')"))
            if rows.get("Rpl_semi_sync_master_status") != "ON" or \
                    int(rows.get("Rpl_semi_sync_master_clients", 0)) != len(replicas):
                raise NotYet(f"primary {primary}: {rows}")
            return True
        wait_for(clients, 20, f"semi-sync on mariadb {primary} with {len(replicas)} semi-sync replicas")

    # ------------------------------------------------------------ waits on the controllers

    def wait_healthy(self, primary, replicas=None, timeout=30, node=None):
        """Topology shows `primary` up, role primary, writable, and every server in
        `replicas` (default: every other running server) up, read-only, replicating
        from it with IO and SQL Yes. Returns the topology."""
        paddr = self.addr(primary)
        if replicas is None:
            replicas = [i for i in self.db.servers if i != primary and self.db.running(i)]

        def ok():
            t = self.topo(node)
            inst = self.by_address(t)
            p = inst.get(paddr)
            if p is None:
                raise NotYet(f"topology has no {paddr}")
            if not (p.get("health") == "up" and p.get("role") == "primary" and p.get("read_only") is False):
                raise NotYet(f"primary {paddr}: {inst_summary(p)}")
            for r in replicas:
                a = self.addr(r)
                x = inst.get(a) or {}
                if not (x.get("health") == "up" and x.get("role") == "replica" and x.get("source") == paddr
                        and x.get("io_running") == "Yes" and x.get("sql_running") == "Yes"
                        and x.get("read_only") is True):
                    raise NotYet(f"replica {a}: {inst_summary(x)}")
            return t
        return wait_for(ok, timeout, f"topology to show {paddr} as writable primary with replicas "
                        f"{[self.addr(r) for r in replicas]} replicating from it", interval=0.2)

    def record(self, epoch, node=None):
        for f in self.failovers(node):
            if f.get("epoch") == epoch:
                return f
        return None

    def failover(self, epoch, timeout=60, node=None):
        """Waits for the failover record of `epoch` to end with result success and
        returns it; a record that ends failed/aborted fails at once, with why."""
        def done():
            f = self.record(epoch, node)
            if f is None:
                others = [(x.get("epoch"), x.get("result")) for x in self.failovers(node)]
                d = self.decisions(node)[:3]
                raise NotYet(f"no failover record with epoch {epoch} (records: {others}); "
                             f"latest decisions: {short(d, 800)}")
            res = f.get("result")
            if res == "success":
                return f
            if res in ("failed", "aborted"):
                raise TestFailure(f"failover epoch {epoch} ended with result {res!r}: {short(f)}; "
                                  f"why: {short(self.why(node), 2000)}")
            raise NotYet(f"failover epoch {epoch} is {res!r}: steps={f.get('steps')!r} detail={f.get('detail')!r}")
        return wait_for(done, timeout, f"failover epoch {epoch} to succeed", interval=0.1)

    def epoch(self, node=None):
        """The cluster's current epoch as `why` reports it (0 before any failover)."""
        return int(self.why(node).get("epoch") or 0)

    def failover_after(self, epoch_before, timeout=60, node=None):
        """Waits for a failover record with epoch > epoch_before that succeeded and
        returns it; one that ends failed/aborted fails at once."""
        def done():
            recs = sorted((f for f in self.failovers(node) if (f.get("epoch") or 0) > epoch_before),
                          key=lambda f: f.get("epoch"))
            for f in recs:
                if f.get("result") in ("failed", "aborted"):
                    raise TestFailure(f"failover epoch {f.get('epoch')} ended with result {f.get('result')!r}: "
                                      f"{short(f)}; why: {short(self.why(node), 2000)}")
                if f.get("result") == "success":
                    return f
            if not recs:
                raise NotYet(f"no failover record after epoch {epoch_before}; latest decisions: "
                             f"{short(self.decisions(node)[:3], 800)}")
            raise NotYet(f"records: {short(recs, 800)}")
        return wait_for(done, timeout, f"a failover after epoch {epoch_before} to succeed", interval=0.1)

    def check_record(self, f, epoch, kind, old, new=None):
        """Common checks of a successful record; returns its step timings."""
        check(f.get("cluster") == CLUSTER, f"record cluster {f.get('cluster')!r}: {short(f)}")
        check(f.get("epoch") == epoch, f"record epoch {f.get('epoch')!r}, expected {epoch}: {short(f)}")
        check(f.get("kind") == kind, f"record kind {f.get('kind')!r}, expected {kind!r}: {short(f)}")
        check(f.get("result") == "success", f"record result {f.get('result')!r}: {short(f)}")
        check(f.get("old_primary") == self.addr(old),
              f"record old_primary {f.get('old_primary')!r}, expected {self.addr(old)}: {short(f)}")
        if new is not None:
            check(f.get("new_primary") == self.addr(new),
                  f"record new_primary {f.get('new_primary')!r}, expected {self.addr(new)}: {short(f)}")
        steps = parse_steps(f.get("steps"))
        for s in ("fence", "choose", "promote", "repoint"):
            check(s in steps, f"record steps {f.get('steps')!r} lack '{s}=<N>ms': {short(f)}")
        tm = f.get("total_ms")
        check(isinstance(tm, (int, float)) and tm >= 0, f"record total_ms {tm!r}: {short(f)}")
        check(tm + 5 >= sum(steps.values()) or tm == 0,
              f"total_ms {tm} is less than the sum of the steps {f.get('steps')!r}")
        return steps

    def wait_no_failover(self, seconds, epoch_before=0, primary=None, what=""):
        """For `seconds`, polls: no failover record with epoch > epoch_before, and (if
        primary is given) no other server writable and the topology's primary unchanged."""
        t_end = time.monotonic() + seconds
        paddr = self.addr(primary) if primary else None
        while time.monotonic() < t_end:
            recs = [f for f in self.failovers() if (f.get("epoch") or 0) > epoch_before]
            check(not recs, f"{what}: a failover happened: {short(recs)}; why: {short(self.why(), 2000)}")
            if primary is not None:
                w = [i for i in self.writable_servers() if i != primary]
                check(not w, f"{what}: server(s) {[self.addr(i) for i in w]} became writable")
                t = self.topo()
                check(t.get("primary") in (paddr, None, ""),
                      f"{what}: topology primary is {t.get('primary')!r}, expected {paddr}")
            time.sleep(0.5)

    def wait_decision(self, pred, timeout, what, since_wall_ms=None):
        """Waits until some decision in `why` (recorded at or after since_wall_ms, a
        wall clock in ms, when given) satisfies pred(decision); returns it."""
        def ok():
            ds = self.decisions()
            for d in ds:
                if since_wall_ms is not None and (d.get("wall_ms") or 0) < since_wall_ms:
                    continue
                if pred(d):
                    return d
            raise NotYet(f"decisions: {short(ds[:6], 1500)}")
        return wait_for(ok, timeout, what, interval=0.2)

    def write_marker(self, primary, tag):
        """An INSERT on the primary (as app); returns the primary's gtid_binlog_pos after it."""
        self.db.app_sql(primary, "CREATE DATABASE IF NOT EXISTS fotest; "
                                 "CREATE TABLE IF NOT EXISTS fotest.marks (tag VARCHAR(64) PRIMARY KEY); "
                                 f"INSERT INTO fotest.marks VALUES ({sql_quote(tag)})")
        return self.db.scalar(primary, "SELECT @@gtid_binlog_pos")

    def wait_caught_up(self, i, primary, timeout=20):
        """Server i's gtid_current_pos equals the primary's (same GTID set)."""
        def ok():
            want = gtid_set(self.db.scalar(primary, "SELECT @@gtid_current_pos"))
            got = gtid_set(self.db.scalar(i, "SELECT @@gtid_current_pos"))
            if got != want:
                raise NotYet(f"mariadb {i} gtid_current_pos {sorted(got)} != primary {primary}'s {sorted(want)}; "
                             f"{self.server_state(i)}")
            return True
        wait_for(ok, timeout, f"mariadb {i} to have the same gtid_current_pos as mariadb {primary}")

    def check_one_writable(self, primary):
        w = self.writable_servers()
        check(w == [primary], f"writable servers are {[self.addr(i) for i in w]}, expected only {self.addr(primary)}")


def steps_line(f):
    return f"epoch {f.get('epoch')} {f.get('kind')} {f.get('old_primary')} -> {f.get('new_primary')}: " \
           f"{f.get('steps')} total={f.get('total_ms')}ms"

