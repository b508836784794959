"""The seeded chaos suite (issue 12): random faults under load through the writer VIP,
judged by rig.chaos_check.

    sched = schedule(seed, 16)                 # same seed -> same list of steps
    with ChaosRig(subnet="10.241.73", db_port=30700, ctl_port=30710) as rig:
        rig.start_load()
        for f in sched:
            rig.execute(f)                     # inflict, hold, heal, settle, check
        rc = rig.finish(seed)                  # final checks, the table; 0 = no violation

Hosts (rig.netns, addresses only inside the namespaces): db1..db3 (mariadbd on one
port bound to 0.0.0.0, semi-sync AFTER_SYNC, and a failover-agent each), c1..c3
(failoverd), cli (the client: a rig.writer.Writer and sysbench oltp_write_only, both
through the VIP only).

A step names a fault kind and a ROLE (primary, replica, former primary, leader,
follower...), never a host: which host plays the role is read from the cluster when
the step runs, so a seed always gives the same schedule even though the hosts it hits
depend on earlier failovers. Every step: inflict, hold, heal, then settle -- wait
until failoverd shows one writable primary holding the VIP alone, every other server
replicating from it (or quarantined), no failover running, and the writer acknowledged
by that primary again -- and check the writes acknowledged so far. A step that does
not settle within SETTLE_S is a "stuck" violation and ends the run (the state is
kept for the report: FO_KEEP_RIG=1 keeps every log).

What an operator would do between faults is done too, and counted in the table: a
quarantined server (errant transactions: a commit that reached a cut-off primary's
binlog and no replica, never acknowledged) has its recorded reason checked, is rebuilt
from the primary with mariadb-dump and registered again (`failoverctl instance remove`
/ `add`); a mysqld found dead after a heal (the agent's fence kills a SIGSTOPped one)
is restarted.

Degraded links use `tc netem` when the kernel has it, else a `tbf` rate limit whose
queue drops what waits longer than its latency (delay and loss from congestion); the
run says which."""

import contextlib
import os
import random
import subprocess
import threading
import time

# rig.writer first: it finds Debian's PyMySQL for a python3 that is not Debian's, which
# rig.sampler (imported below) then sees too.
from rig.writer import Writer, connect_vip, create_table  # noqa: I100
from rig.agents import AgentRig, VipSampler
from rig.chaos_check import ChaosChecker
from rig.failover import FailoverEnv, short
from rig.mariadb import sql_quote
from rig.netns import IFNAME_MAX, NetnsRig
from rig.sampler import WritableSampler
from rig.util import NotYet, Proc, RigError, TestFailure, step, wait_for

HOSTS = ["db1", "db2", "db3", "c1", "c2", "c3", "cli"]
DBH = {1: "db1", 2: "db2", 3: "db3"}
CTLH = {1: "c1", 2: "c2", 3: "c3"}
AGENT_PORT = 7201
LEASE_MS = 2000
SEMI_SYNC_TIMEOUT_MS = 60000
FAILOVER_TIMEOUT_S = 45.0
SETTLE_S = 90.0
PROBE = dict(interval_ms=200, connect_timeout_ms=500, read_timeout_ms=1000, down_after=3)

# kind -> (weight, roles the step may pick, (min, max) hold in seconds)
KINDS = {
    "kill_primary":      (2, ["primary"], (0, 0)),           # held until the failover ends
    "stop_primary":      (2, ["primary"], (2.0, 8.0)),       # SIGSTOP .. SIGCONT
    "kill_controller":   (2, ["leader", "follower"], (1.0, 5.0)),
    "kill_agent":        (1, ["primary", "replica"], (1.0, 5.0)),
    "link_cut":          (2, ["primary", "replica", "controller"], (3.0, 8.0)),
    "slow_link":         (1, ["primary", "replica", "controller"], (4.0, 8.0)),
    "ctl_cut_primary":   (1, ["primary"], (6.0, 12.0)),      # controllers only: no failover
    "partition_db":      (2, ["primary", "replica"], (3.0, 8.0)),
    "restart_former":    (1, ["former primary"], (0.5, 2.0)),
    "switchover":        (2, ["primary"], (0, 0)),
    "ctl_majority_down": (1, ["leader+follower"], (3.0, 6.0)),  # no failover possible
}


class Fault:
    """One step of a schedule (what the seed fixes) and what happened when it ran."""

    def __init__(self, n, kind, role, hold, params):
        self.n, self.kind, self.role, self.hold, self.params = n, kind, role, hold, dict(params)
        self.target = None          # host it hit
        self.failover_ok = False    # whether it let the replicas lose the then primary
        self.wall_start = self.wall_heal = None
        self.mono_start = self.mono_heal = self.mono_settled = None
        self.note = ""

    def describe(self):
        p = " ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"#{self.n} {self.kind} {self.role} hold={self.hold:.1f}s" + (f" {p}" if p else "")


def schedule(seed, n):
    """The steps of seed `seed`: every kind once (when n allows), the rest drawn by
    weight; parameters drawn here too, so the list depends on (seed, n) only."""
    rng = random.Random(seed)
    kinds = sorted(KINDS)
    first = list(kinds)
    rng.shuffle(first)
    names = first[:n]
    weights = [KINDS[k][0] for k in kinds]
    while len(names) < n:
        names.append(rng.choices(kinds, weights)[0])
    out = []
    for k, kind in enumerate(names, 1):
        _w, roles, (lo, hi) = KINDS[kind]
        role = rng.choice(roles)
        hold = round(rng.uniform(lo, hi), 1)
        params = {}
        if kind == "slow_link":
            params = dict(delay_ms=rng.choice([20, 40, 80]), loss_pct=rng.choice([1, 3, 5]),
                          rate_kbit=rng.choice([1000, 2000, 4000]))
        out.append(Fault(k, kind, role, hold, params))
    return out


class _PausableSampler(WritableSampler):
    """The rig's writable sampler, minus the servers the schedule has SIGSTOPped: asking
    one would stall every sample for the read timeout, and a stopped server answers
    nothing anyway (the base class calls it unknown)."""

    def __init__(self, db, paused, period=0.02):
        super().__init__(db, period=period)
        self._paused = paused

    def _read_only(self, i):
        if i in self._paused:
            return None
        return super()._read_only(i)


def netem_available():
    """True if this kernel has sch_netem (some minimal kernels do not)."""
    name = f"fochaos{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], capture_output=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
                       capture_output=True)
        r = subprocess.run(["tc", "-n", name, "qdisc", "add", "dev", "v0", "root", "netem", "delay", "1ms"],
                           capture_output=True, text=True)
        return r.returncode == 0
    except FileNotFoundError:
        return False
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


class SysbenchLoad(threading.Thread):
    """sysbench oltp_write_only through the VIP from the client namespace, restarted
    whenever it exits (a failover can end it) or stalls (no transaction in 4 reports of
    5 s). Realism, not a measure: its rows are not checked (the Writer's are)."""

    STALL_REPORTS = 4

    def __init__(self, rig, log):
        super().__init__(name="sysbench", daemon=True)
        self.rig, self.log = rig, log
        self.restarts = 0
        self.stalls = 0
        self.proc = None
        self._stop_evt = threading.Event()

    def argv(self, cmd):
        r = self.rig
        return r.net.wrap("cli", ["sysbench", "oltp_write_only", "--db-driver=mysql", f"--mysql-host={r.vip}",
                                  f"--mysql-port={r.db_port}", "--mysql-user=app",
                                  f"--mysql-password={r.env.db.passwords['app']}", "--mysql-db=sbtest",
                                  "--tables=2", "--table-size=500", "--threads=1", "--rate=10", "--time=0",
                                  "--report-interval=5", "--mysql-ignore-errors=all", "--db-ps-mode=disable",
                                  cmd])

    def prepare(self):
        r = subprocess.run(self.argv("prepare"), capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RigError(f"sysbench prepare failed (exit {r.returncode}): {(r.stderr or r.stdout)[-800:]}")

    def run(self):
        while not self._stop_evt.is_set():
            start = os.path.getsize(self.log) if os.path.exists(self.log) else 0
            self.proc = Proc("sysbench", self.argv("run"), self.log).start()
            while not self._stop_evt.is_set() and self.proc.alive():
                self._stop_evt.wait(0.5)
                if self._stalled(start):
                    # Its connection hangs on a host the VIP left (sysbench's MySQL
                    # driver has no read timeout): start a fresh one.
                    self.stalls += 1
                    self.proc.stop(10)
            if self._stop_evt.is_set():
                break
            self.restarts += 1
            self._stop_evt.wait(1.0)

    def _stalled(self, offset):
        """True when the last STALL_REPORTS reports of this run show no transaction."""
        try:
            with open(self.log, errors="replace") as f:
                f.seek(offset)
                tps = [ln.split(" tps: ")[1].split()[0] for ln in f if " tps: " in ln]
        except (OSError, IndexError):
            return False
        return len(tps) >= self.STALL_REPORTS and all(float(x) == 0.0 for x in tps[-self.STALL_REPORTS:])

    def stop(self):
        self._stop_evt.set()
        if self.proc is not None:
            self.proc.stop(10)
        self.join(15)

    def transactions(self):
        """Approximate transactions from the 5 s reports (tps x 5)."""
        total = 0.0
        try:
            with open(self.log, errors="replace") as f:
                for line in f:
                    if " tps: " in line:
                        total += 5 * float(line.split(" tps: ")[1].split()[0])
        except (OSError, ValueError, IndexError):
            pass
        return int(total)


class ChaosRig:
    def __init__(self, subnet, db_port, ctl_port, log_level="info"):
        self.subnet, self.db_port, self.ctl_port, self.log_level = subnet, db_port, ctl_port, log_level
        self.vip = f"{subnet}.100"
        self.net = self.env = self.agents = None
        self.paused = set()
        self.former = set()          # servers that were primary at some point
        self.dead = {}               # server index -> why it could not come back
        self.quarantines = []        # (step, address, reason) reconciled by the DBA step
        self.found_dead = 0          # mysqld found killed after a heal (restarted)
        self.netem = None
        self._stack = contextlib.ExitStack()

    # ------------------------------------------------------------ set-up / teardown

    def __enter__(self):
        try:
            self.setup()
        except BaseException:
            self.teardown(failed=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.teardown(failed=exc_type is not None)
        return False

    def setup(self):
        self.netem = netem_available()
        self.net = self._stack.enter_context(NetnsRig(HOSTS, subnet=self.subnet))
        semi = ["--rpl-semi-sync-slave-enabled=ON", "--rpl-semi-sync-master-wait-point=AFTER_SYNC",
                f"--rpl-semi-sync-master-timeout={SEMI_SYNC_TIMEOUT_MS}"]
        self.env = self._stack.enter_context(FailoverEnv(
            db_port=self.db_port, ctl_port=self.ctl_port, n_db=3, net=self.net, db_hosts=DBH, ctl_hosts=CTLH,
            semi_sync=True, anti_flap_s=1, probe=PROBE, log_level=self.log_level,
            db_opts=dict(same_port=True, bind_any=True, extra_args=semi),
            failover=dict(step_timeout_ms=8000, relay_wait_ms=5000),
            extra_cluster=dict(vip=f"{self.vip}/24", vip_interface="eth0", agent_port=AGENT_PORT,
                               vip_lease_ms=LEASE_MS)))
        db = self.env.db
        self.agents = AgentRig(self.net, DBH, "demo", f"{self.vip}/24", certs=self.env.c.tls_dir,
                               log_level=self.log_level,
                               mysql={i: (self.net.addr(h), self.db_port, "failoverd", db.password_file)
                                      for i, h in DBH.items()})
        self._stack.callback(self.agents.teardown)
        self.agents.start_all()
        self.env.enable_semi_sync(1, [2, 3], timeout_ms=SEMI_SYNC_TIMEOUT_MS)
        self.env.wait_healthy(1, [2, 3], timeout=60)
        self.wait_vip_on("db1", 30)
        create_table(db, 1)
        db.app_sql(1, "CREATE DATABASE IF NOT EXISTS sbtest")
        self.former.add(1)
        db.sync_all()

    def wait_vip_on(self, host, timeout):
        def only():
            h = self.agents.holders(self.vip)
            if h != {host}:
                raise NotYet(f"VIP holders {sorted(h)}")
            return True
        wait_for(only, timeout, f"the VIP on {host} alone")

    def teardown(self, failed=False):
        """Stops everything by pid (also after a failure, then with the agents' log
        tails and the env's diagnostics first). Idempotent."""
        for p in sorted(self.paused):
            try:
                self.env.db.resume(p)
            except Exception:  # noqa: BLE001 - clean-up goes on
                pass
        self.paused.clear()
        if getattr(self, "writer", None) is not None:
            try:
                self.stop_load()
            except Exception as e:  # noqa: BLE001 - clean-up goes on
                print(f"chaos: stopping the load: {e}", flush=True)
        if failed and self.agents is not None:
            self.agents.dump_logs(40)
        # FailoverEnv prints its diagnostics and log tails when it exits with an error.
        err = RigError("chaos run failed") if failed else None
        self._stack.__exit__(type(err) if err else None, err, None)

    # ------------------------------------------------------------ load and checker

    def vip_conn(self, ct=1.0, rw=3.0):
        return connect_vip(self.env.db, self.net.ns("cli"), self.vip, self.db_port, ct, rw)

    def start_load(self, sysbench=True):
        self.writer = Writer(self.env.db, lambda: ["vip"], interval=0.01, name="chaos-writer",
                             connect_timeout=1.0, rw_timeout=3.0, retry_interval=0.02,
                             connect_fn=lambda _t, ct, rw: self.vip_conn(ct, rw))
        self.writer.start_id = 1
        self.vips = VipSampler(self.net, list(DBH.values()), self.vip, interval=0.02).__enter__()
        self.wsmp = _PausableSampler(self.env.db, self.paused, period=0.02).__enter__()
        self.chk = ChaosChecker(self.env, self.net, self.writer, self.vips, self.wsmp, DBH)
        self.writer.start()
        self.load = None
        if sysbench:
            self.load = SysbenchLoad(self, os.path.join(self.env.db.base_dir, "sysbench.log"))
            self.load.prepare()
            self.load.start()
        self.writer.wait_acks(20, timeout=30)
        self.t_start = time.monotonic()

    def stop_load(self):
        """Stops sysbench, the writer and the samplers (idempotent)."""
        if getattr(self, "load", None) is not None:
            self.load.stop()
        self.load = None
        self.wsmp.stop()
        self.vips.stop()
        self.writer.stop()

    # ------------------------------------------------------------ the cluster now

    def primary(self):
        p = self.env.topo().get("primary")
        if not p:
            raise NotYet("topology names no primary")
        return self.env.index(p)

    def leader(self):
        return self.env.c.wait_leader(30)

    def settled(self, since):
        """Raises NotYet unless the cluster is back to normal (see the module doc)."""
        env = self.env
        why = env.why()
        if why.get("running"):
            raise NotYet(f"a failover is running: {short(why.get('running'), 300)}")
        t = env.topo()
        p = env.index(t.get("primary") or "")
        inst = env.by_address(t)
        pi = inst.get(env.addr(p)) or {}
        if pi.get("health") != "up" or pi.get("read_only") is not False:
            raise NotYet(f"primary {env.addr(p)}: health {pi.get('health')} read_only {pi.get('read_only')}")
        holders = self.agents.holders(self.vip)
        if holders != {DBH[p]}:
            raise NotYet(f"VIP holders {sorted(holders)}, primary {DBH[p]}")
        for i in env.db.servers:
            if i == p or i in self.dead:
                continue
            x = inst.get(env.addr(i)) or {}
            if x.get("quarantined"):
                continue
            env.replicates_from(i, p)
        la = self.writer.last_ack()
        if la is None or la[1] <= since or la[2] != p:
            raise NotYet(f"no write acknowledged by {env.addr(p)} since the heal (last {la}; errors "
                         f"{self.writer.last_errors(2)})")
        return p

    def epoch(self):
        return self.env.epoch()

    # ------------------------------------------------------------ faults

    def _port(self, host):
        k = self.net.hosts.index(host)
        return f"p{k}-{host}"[:IFNAME_MAX]

    def _ip(self, *args):
        r = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RigError(f"ip {' '.join(args)}: {r.stderr.strip()}")

    def _tc(self, ns, *args, check=True):
        r = subprocess.run(["tc", "-n", ns] + list(args), capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise RigError(f"tc -n {ns} {' '.join(args)}: {r.stderr.strip()}")

    def _pick(self, f):
        """The host (and server or node index) that plays f.role now."""
        env = self.env
        p = self.primary()
        replicas = [i for i in env.db.servers if i != p and i not in self.dead]
        rng = random.Random(f"{f.n}-{f.kind}")  # ties broken the same way for a seed
        if f.role == "primary":
            return DBH[p], p
        if f.role == "replica":
            i = rng.choice(replicas)
            return DBH[i], i
        if f.role == "former primary":
            cands = [i for i in replicas if i in self.former] or replicas
            i = rng.choice(cands)
            return DBH[i], i
        lid = self.leader()
        if f.role == "leader":
            return CTLH[lid], lid
        if f.role == "follower":
            nid = rng.choice([n for n in sorted(env.c.nodes) if n != lid])
            return CTLH[nid], nid
        if f.role == "leader+follower":
            nid = rng.choice([n for n in sorted(env.c.nodes) if n != lid])
            return f"{CTLH[lid]}+{CTLH[nid]}", (lid, nid)
        if f.role == "controller":
            nid = rng.choice(sorted(env.c.nodes))
            return CTLH[nid], nid
        raise RigError(f"unknown role {f.role!r}")

    def _wait_failover(self, f, epoch_before, timeout=FAILOVER_TIMEOUT_S):
        """Waits for a successful failover record after epoch_before; an attempt that
        ended failed or aborted is noted (the next one may succeed), none succeeding
        within `timeout` is a stuck failover."""
        env = self.env

        def done():
            recs = sorted((r for r in env.failovers() if (r.get("epoch") or 0) > epoch_before),
                          key=lambda r: r.get("epoch"))
            for r in recs:
                if r.get("result") == "success":
                    return r
            raise NotYet(f"records after epoch {epoch_before}: {short(recs, 600)}; latest decisions: "
                         f"{short(env.decisions()[:3], 600)}")
        try:
            rec = wait_for(done, timeout, f"a failover after epoch {epoch_before} to succeed", interval=0.1)
        except TestFailure as e:
            self.chk.violation("stuck failover", f"{f.describe()} on {f.target}: {e}")
            return None
        f.note += f" failover epoch {rec.get('epoch')} {rec.get('old_primary')} -> {rec.get('new_primary')}"
        return rec

    def _hold(self, f):
        time.sleep(f.hold)

    def inflict_and_heal(self, f):
        env, db, net = self.env, self.env.db, self.net
        host, idx = self._pick(f)
        f.target = host
        epoch_before = self.epoch()
        is_primary = f.role == "primary"
        f.wall_start, f.mono_start = time.time(), time.monotonic()
        k = f.kind
        if k == "kill_primary":
            f.failover_ok = True
            db.kill9(idx)
            self._wait_failover(f, epoch_before)
            f.wall_heal, f.mono_heal = time.time(), time.monotonic()
            self.restart_server(f, idx, read_only=False)  # as after a crash: writable until demoted
        elif k == "stop_primary":
            f.failover_ok = True
            db.pause(idx)
            self.paused.add(idx)
            self._hold(f)
            f.wall_heal, f.mono_heal = time.time(), time.monotonic()
            db.resume(idx)
            self.paused.discard(idx)
        elif k == "kill_controller":
            env.c.kill9(idx)
            self._hold(f)
            f.wall_heal, f.mono_heal = time.time(), time.monotonic()
            env.c.start(idx)
        elif k == "ctl_majority_down":
            for nid in idx:
                env.c.kill9(nid)
            self._hold(f)
            f.wall_heal, f.mono_heal = time.time(), time.monotonic()
            for nid in idx:
                env.c.start(nid)
        elif k == "kill_agent":
            self.agents.kill9(idx)
            self._hold(f)
            f.wall_heal, f.mono_heal = time.time(), time.monotonic()
            self.agents.start(idx)
        elif k == "link_cut":
            f.failover_ok = is_primary
            self._ip("-n", net.switch, "link", "set", self._port(host), "down")
            self._hold_or_failover(f, is_primary, epoch_before)
            f.wall_heal, f.mono_heal = time.time(), time.monotonic()
            self._ip("-n", net.switch, "link", "set", self._port(host), "up")
        elif k == "slow_link":
            self._slow(host, f.params, on=True)
            self._hold(f)
            f.wall_heal, f.mono_heal = time.time(), time.monotonic()
            self._slow(host, f.params, on=False)
        elif k == "ctl_cut_primary":
            for c in CTLH.values():
                net.cut(c, host, both=True)
            self._hold(f)
            f.wall_heal, f.mono_heal = time.time(), time.monotonic()
            for c in CTLH.values():
                net.heal(c, host, both=True)
        elif k == "partition_db":
            f.failover_ok = is_primary
            others = [h for h in HOSTS if h != host]
            for h in others:
                net.cut(h, host, both=True)
            self._hold_or_failover(f, is_primary, epoch_before)
            f.wall_heal, f.mono_heal = time.time(), time.monotonic()
            for h in others:
                net.heal(h, host, both=True)
        elif k == "restart_former":
            db.stop(idx)
            self._hold(f)
            f.wall_heal, f.mono_heal = time.time(), time.monotonic()
            self.restart_server(f, idx, read_only=False)  # a former primary's my.cnf: writable
        elif k == "switchover":
            res = env.ctl(["switchover", "demo"], timeout_ms=30000, proc_timeout=60)
            f.wall_heal, f.mono_heal = time.time(), time.monotonic()
            if res.rc != 0:
                f.note += f" refused (exit {res.rc}): {(res.stderr or res.stdout).strip()[:300]}"
            else:
                self._wait_failover(f, epoch_before, timeout=30)
        else:
            raise RigError(f"unknown fault kind {k!r}")
        return epoch_before

    def _hold_or_failover(self, f, is_primary, epoch_before):
        """A primary cut off is held until failoverd has failed over (or the hold ran
        out and a failover never came: then the wait is a stuck failover)."""
        if not is_primary:
            self._hold(f)
            return
        self._wait_failover(f, epoch_before)
        time.sleep(min(f.hold, 3.0))  # the old primary stays cut off a while after it

    def _slow(self, host, p, on):
        ns_host, ns_sw = self.net.ns(host), self.net.switch
        for ns, dev in ((ns_host, "eth0"), (ns_sw, self._port(host))):
            if not on:
                self._tc(ns, "qdisc", "del", "dev", dev, "root", check=False)
            elif self.netem:
                self._tc(ns, "qdisc", "add", "dev", dev, "root", "netem", "delay", f"{p['delay_ms']}ms",
                         f"{p['delay_ms'] // 2}ms", "loss", f"{p['loss_pct']}%")
            else:
                self._tc(ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", f"{p['rate_kbit']}kbit",
                         "burst", "16kb", "latency", f"{p['delay_ms'] * 4}ms")

    def restart_dead(self, f):
        """A mysqld that is not running after the heal although no step left it down was
        killed by something else -- the agent's fence kills a SIGSTOPped mysqld
        (fence_kill_stopped) -- and is restarted as an operator would (writable, as
        after a crash). Counted in the table."""
        db = self.env.db
        for i in db.servers:
            if i in self.dead or db.running(i):
                continue
            f.note += f"; mysqld {DBH[i]} found dead ({db.servers[i].proc.describe_exit()}): restarted"
            self.found_dead += 1
            self.restart_server(f, i, read_only=False)

    def restart_server(self, f, i, read_only):
        db = self.env.db
        db.servers[i].read_only = read_only
        try:
            db.start(i)
        except RigError as e:
            if "crash recovery failed" not in str(e):
                raise
            # MariaDB's own crash-recovery bug (docs/testing.md), not failoverd's: the
            # datadir cannot start again. Reseed it from the primary so the run goes on.
            f.note += f" mariadb {i} crash recovery failed (docs/testing.md): reseeded"
            self.reseed(i)

    def reseed(self, i):
        """A fresh datadir for server i, loaded from the primary with mariadb-dump
        (sql_log_bin=0: no GTIDs of its own) and replicating from the primary."""
        import shutil
        db = self.env.db
        s = db.servers[i]
        p = self.primary()
        shutil.rmtree(s.datadir, ignore_errors=True)
        shutil.copytree(db.template, s.datadir, symlinks=True)
        s.read_only = True
        db.start(i)
        db._create_users(i)
        ps = db.servers[p]
        dump = subprocess.run(["mariadb-dump", "--no-defaults", "--protocol=socket", f"--socket={ps.socket}",
                               "-uroot", "--single-transaction", "--gtid", "--master-data=2",
                               "--databases", "fotest", "sbtest"], capture_output=True, timeout=600)
        if dump.returncode != 0:
            raise RigError(f"mariadb-dump of mariadb {p}: {dump.stderr.decode(errors='replace')[-500:]}")
        # mariadb-dump prints the position last ("-- SET GLOBAL gtid_slave_pos='...'").
        pos = None
        for line in dump.stdout.decode(errors="replace").splitlines():
            if line.startswith("-- SET GLOBAL gtid_slave_pos=") and "'" in line:
                pos = line.split("'")[1]
        if pos is None:
            raise RigError(f"mariadb-dump of mariadb {p} printed no gtid_slave_pos")
        load = subprocess.run([db.client, "--no-defaults", "--protocol=socket", f"--socket={s.socket}", "-uroot",
                               "--init-command=SET SESSION sql_log_bin=0"], input=dump.stdout,
                              capture_output=True, timeout=600)
        if load.returncode != 0:
            raise RigError(f"loading the dump into mariadb {i}: {load.stderr.decode(errors='replace')[-500:]}")
        # Nothing of its own in its binlog (the accounts and the load ran with
        # sql_log_bin=0; RESET MASTER makes sure), then the primary's position.
        db.sql(i, f"RESET MASTER; SET GLOBAL gtid_slave_pos={sql_quote(pos)}")
        db.change_master(i, p)

    def reconcile_quarantined(self, f, p):
        """What a DBA does with a quarantined server (errant transactions: a commit that
        reached the old primary's binlog and no replica, never acknowledged to the
        client): checks the recorded reason, then rebuilds it from the primary and
        registers it again, so a long schedule does not run out of candidates."""
        env = self.env
        t = env.topo()
        for x in t["instances"]:
            if not x.get("quarantined"):
                continue
            i = env.index(x["address"])
            reason = x.get("quarantine_reason") or ""
            if not reason:
                self.chk.violation("end state", f"{x['address']} quarantined without a recorded reason")
            self.quarantines.append((f.n, x["address"], reason))
            env.c.ctl_write(["instance", "remove", "demo", x["address"]], timeout=30)
            if env.db.running(i):
                env.db.stop(i)
            self.reseed(i)
            env.c.ctl_write(["instance", "add", "demo", x["address"]], timeout=30)
            f.note += f"; {DBH[i]} quarantined ({reason[:80]}): rebuilt from {DBH[p]} and added again"
            since = time.monotonic()
            wait_for(lambda: self.settled(since), SETTLE_S, f"the cluster to settle after rebuilding {DBH[i]}",
                     interval=0.2)

    # ------------------------------------------------------------ one step

    def execute(self, f, total):
        t0 = time.monotonic()
        self.chk.note_fault(f)
        try:
            epoch_before = self.inflict_and_heal(f)
            self.restart_dead(f)
        except (RigError, TestFailure) as e:
            self.chk.violation("rig", f"{f.describe()}: could not inflict/heal: {e}")
            return False
        since = f.mono_heal
        try:
            p = wait_for(lambda: self.settled(since), SETTLE_S, "the cluster to settle", interval=0.2)
        except TestFailure as e:
            self.chk.violation("stuck", f"{f.describe()} on {f.target}: not settled {SETTLE_S:g}s after the "
                               f"heal: {e}")
            return False
        f.mono_settled = time.monotonic()
        ep = self.epoch()
        if ep != epoch_before:
            self.former.add(p)
            try:
                self.env.ack()
            except RigError:
                pass
        n = self.chk.check_step(p)
        try:
            self.reconcile_quarantined(f, p)
        except (RigError, TestFailure) as e:
            self.chk.violation("stuck", f"{f.describe()}: rebuilding a quarantined server: {e}")
            return False
        holders2, writable2 = len(self.vips.overlaps), len(self.wsmp.worst)
        seen = "" if not (holders2 or writable2) else \
            f"; so far {holders2} sample(s) with two VIP holders, {writable2} with two writable servers"
        step(f"{f.describe()} -> {f.target}{f.note}; settled {f.mono_settled - f.mono_heal:.1f}s after the heal "
             f"(step {time.monotonic() - t0:.1f}s, primary {DBH[p]}, epoch {ep}, {n} writes checked{seen})")
        return True

    # ------------------------------------------------------------ the end

    def finish(self, seed, t_end=None):
        """Stops the load, runs the final checks, prints the table; returns the exit code."""
        t_end = t_end or time.monotonic()
        self.stop_load()
        chk, env = self.chk, self.env
        try:
            p = wait_for(lambda: self.primary(), 30, "a primary in the topology")
            for i in env.db.servers:
                if i != p and i not in self.dead and env.db.running(i):
                    try:
                        env.wait_caught_up(i, p, timeout=30)
                    except TestFailure:
                        pass  # judged by check_end_state (replicating or quarantined)
            chk.check_all_writes(p)
            chk.check_split_brain()
            recs = env.c.ctl_ok(["history", "demo", "--limit", "1000"]).get("failovers") or []
            chk.check_failovers(recs)
            t = env.topo()
            quarantined = {x["address"]: x.get("quarantine_reason") for x in t["instances"] if x.get("quarantined")}
            chk.check_end_state(p, t, self.agents.holders(self.vip), quarantined)
        except (RigError, TestFailure, NotYet) as e:
            chk.violation("final check", str(e))
        extra = {"writes checked on the primary": chk.checked_upto,
                 "quarantines (rebuilt by the DBA step)": len(self.quarantines),
                 "mysqld found dead after a heal": self.found_dead}
        if getattr(self, "sb_stats", None):
            extra.update(self.sb_stats)
        print(chk.table(self.t_start, t_end, seed, extra, planned=getattr(self, "planned", None)), flush=True)
        if self.dead:
            print(f"servers lost to MariaDB crash recovery: {self.dead}")
        print(f"degraded links emulated with {'netem' if self.netem else 'tbf (no sch_netem in this kernel)'}")
        return 0 if chk.ok() else 1


def run_schedule(seed, faults, subnet, db_port, ctl_port, sysbench=True, log_level="info"):
    """The whole run: prints the schedule, runs it, returns the exit code (0: no
    violation)."""
    sched = schedule(seed, faults)
    print(f"chaos: seed {seed} (FO_CHAOS_SEED={seed} or --seed {seed} replays this schedule), {faults} faults:",
          flush=True)
    for f in sched:
        print(f"  {f.describe()}", flush=True)
    with ChaosRig(subnet, db_port, ctl_port, log_level=log_level) as rig:
        step("cluster up; starting the load (writer + sysbench through the VIP)")
        rig.start_load(sysbench=sysbench)
        rig.planned = len(sched)
        for f in sched:
            ok = rig.execute(f, len(sched))
            if not ok and rig.chk.violations and rig.chk.violations[-1][0] in ("stuck", "rig"):
                step("stopping the schedule: the cluster did not recover")
                rig.env.diagnostics()
                break
        t_end = time.monotonic()
        sb = rig.load
        rig.sb_stats = {}
        if sb is not None:
            rig.sb_stats = {"sysbench transactions (approx)": sb.transactions(), "sysbench restarts": sb.restarts,
                            "  of which after a stall": sb.stalls}
        rc = rig.finish(seed, t_end)
        if rc != 0:
            rig.agents.dump_logs(30)
            rig.env.c.dump_logs(40)
        return rc

