"""The chaos suite's checker (issue 12): what must hold however the faults fell.

    chk = ChaosChecker(env, net, writer, vip_sampler, writable_sampler)
    chk.note_fault(fault)              # every executed fault (rig.chaos_run.Fault), in order
    chk.check_step(primary)            # continuous: writes acknowledged since the last
                                       # call are on the current primary
    chk.final(primary, quarantined)    # the end: lost / duplicate writes, split brain,
                                       # false failovers, end state
    print(chk.table()); sys.exit(0 if chk.ok() else 1)

Every violation is a line in chk.violations (kind, text): the checker never decides
that a violation "does not count". The properties (issue 12, "Checker"):

  lost writes      every INSERT the writer saw acknowledged is on the final primary,
                   with the server_id of the server that acknowledged it (a row with
                   another server_id was written twice, or by a server the writer did
                   not talk to: a duplicate);
  split brain      a sample of the VIP sampler with two holders, or a sample of the
                   writable sampler with two writable servers that BOTH acknowledged a
                   client write within SPLIT_WINDOW_S of it (two writable servers of
                   which only one takes writes -- a restarted former primary before
                   failoverd demotes it -- is counted apart, as information);
  false failovers  an automatic failover (kind auto or manual) whose start lies in no
                   window of a fault that let the replicas lose the then primary (kill
                   -9 or SIGSTOP of its mysqld, its host's link cut, its host cut from
                   everything), or a switchover nobody asked for;
  end state        one writable server, the primary failoverd names, holding the VIP
                   alone; every other server replicating from it or quarantined with a
                   recorded reason.

Times: the writer and the samplers use time.monotonic(); failover records carry the
controllers' wall clock (ms), so every fault also records time.time()."""

import time

from rig.util import NotYet, RigError

SPLIT_WINDOW_S = 1.0
# A failover may begin this long after the fault that justified it was healed: the
# controllers' view lags the heal by up to a probe round and a confirmation.
JUSTIFY_GRACE_S = 3.0


class ChaosChecker:
    def __init__(self, env, net, writer, vip_sampler, writable_sampler, db_hosts):
        self.env = env
        self.net = net
        self.writer = writer
        self.vips = vip_sampler
        self.wsmp = writable_sampler
        self.db_hosts = dict(db_hosts)        # server index -> namespace host
        self.faults = []
        self.violations = []                  # (kind, text)
        self.checked_upto = 0                 # index into writer.acked already checked
        self.lost = set()
        self.dups = []
        self.split_samples = []               # (monotonic time, what)
        self.two_writable_info = 0
        self.false_failovers = []
        self.failovers = []                   # successful auto/manual records
        self.switchovers = []
        self.unfinished = []                  # records that ended failed/aborted
        self.end_state = None
        self.t0 = time.monotonic()
        self.extra_writers = []               # more Writers whose acks count for split brain

    # ------------------------------------------------------------ recording

    def violation(self, kind, text):
        self.violations.append((kind, text))
        print(f"VIOLATION [{kind}] {text}", flush=True)

    def note_fault(self, fault):
        self.faults.append(fault)

    # ------------------------------------------------------------ writes

    def _acked_since(self, start):
        with self.writer._lock:
            return list(self.writer.acked[start:]), len(self.writer.acked)

    def rows_on(self, i, ids=None):
        """{id: server_id} of fotest.w on server i (root, unix socket); only `ids` if given."""
        q = "SELECT id, server_id FROM fotest.w"
        if ids is not None:
            if not ids:
                return {}
            q += " WHERE id IN (" + ",".join(str(int(x)) for x in sorted(ids)) + ")"
        return {int(a): int(b) for a, b in self.env.db.sql(i, q, timeout=120)}

    def check_step(self, primary):
        """Continuous check: every write acknowledged since the previous call is on
        `primary` with the right server_id. Returns how many were checked."""
        acks, n = self._acked_since(self.checked_upto)
        rows = {}
        for k in range(0, len(acks), 5000):
            chunk = acks[k:k + 5000]
            rows.update(self.rows_on(primary, {a[0] for a in chunk}))
        self._judge(acks, rows, primary, "continuous")
        self.checked_upto = n
        return len(acks)

    def _judge(self, acks, rows, primary, when):
        lost = [a for a in acks if a[0] not in rows and a[0] not in self.lost]
        dup = [(a, rows[a[0]]) for a in acks if a[0] in rows and a[2] is not None and rows[a[0]] != a[2]]
        for a in lost:
            self.lost.add(a[0])
        if lost:
            self.violation("lost write", f"{when}: {len(lost)} acknowledged INSERT(s) missing on the primary "
                           f"{self.env.addr(primary)}: ids {[a[0] for a in lost[:10]]} (acknowledged by "
                           f"servers {sorted({a[2] for a in lost if a[2] is not None})}, at "
                           f"+{lost[0][1] - self.t0:.2f}s .. +{lost[-1][1] - self.t0:.2f}s)")
        if dup:
            self.dups += dup
            self.violation("duplicate", f"{when}: {len(dup)} row(s) on {self.env.addr(primary)} carry another "
                           f"server_id than the server that acknowledged them: {dup[:5]}")

    def check_all_writes(self, primary):
        """Every acknowledged write, and no row that the writer never sent."""
        acks, n = self._acked_since(0)
        rows = self.rows_on(primary)
        self._judge(acks, rows, primary, "final")
        self.checked_upto = n
        issued = self.writer.next_id
        strays = [i for i in rows if i >= issued or i < self.writer_start]
        if strays:
            self.dups.extend(strays)
            self.violation("duplicate", f"{len(strays)} row(s) on the primary with ids the writer never issued: "
                           f"{strays[:10]}")
        return len(acks), len(rows)

    @property
    def writer_start(self):
        return getattr(self.writer, "start_id", 1)

    # ------------------------------------------------------------ split brain

    def _two_writable_segments(self):
        """[(t_begin, t_end, writable set, samples)] for every stretch of consecutive
        writable-sampler samples that saw the same two or more writable servers."""
        tl = list(self.wsmp.timeline) + [(time.monotonic(), frozenset())]
        worst = sorted(t for t, _w in self.wsmp.worst)
        import bisect
        out = []
        for (t, w), (t_next, _w) in zip(tl, tl[1:]):
            if len(w) > 1:
                n = bisect.bisect_left(worst, t_next) - bisect.bisect_left(worst, t)
                out.append((t, t_next, w, n))
        return out

    def check_split_brain(self):
        """VIP samples with two holders; stretches of samples with two writable servers
        in which two of them each acknowledged a client write (a write acknowledged
        before the stretch began or after it ended does not count: the other server was
        not writable then, as far as the samples show)."""
        out = []
        for t, hosts in self.vips.overlaps:
            out.append((t, f"VIP on {hosts}"))
        acks = []
        for w in [self.writer] + list(self.extra_writers):
            with w._lock:
                acks += [(t, s) for _i, t, s in w.acked]
        acks.sort()
        import bisect
        times = [a[0] for a in acks]
        slack = self.wsmp.period * 1.5
        info = 0
        for t0, t1, w, n in self._two_writable_segments():
            lo = bisect.bisect_left(times, t0 - slack)
            hi = bisect.bisect_right(times, t1 + slack)
            took = {s for _t, s in acks[lo:hi]} & set(w)
            if len(took) > 1:
                out += [(t0, f"servers {sorted(w)} writable for {(t1 - t0) * 1000:.0f} ms ({n} samples), "
                             f"{sorted(took)} each acknowledged client writes then")] * max(1, n)
            else:
                info += max(1, n)
        self.two_writable_info = info
        self.split_samples = out
        if out:
            seen, uniq = set(), []
            for t, w in out:
                if (t, w) not in seen:
                    seen.add((t, w))
                    uniq.append((t, w))
            self.violation("split brain", f"{len(out)} sample(s): " + "; ".join(
                f"+{t - self.t0:.2f}s {w}" for t, w in uniq[:8]))
        if getattr(self.vips, "errors", None):
            self.violation("sampler", f"the VIP sampler could not read addresses: {self.vips.errors[:3]}")
        return out

    # ------------------------------------------------------------ failovers

    def _justifying_fault(self, rec):
        start_s = (rec.get("started_ms") or 0) / 1000.0
        old_host = self.net.host_of(rec.get("old_primary") or "")
        for f in self.faults:
            if not f.failover_ok or f.target != old_host or f.wall_start is None:
                continue
            end = f.wall_heal if f.wall_heal is not None else time.time()
            if f.wall_start - 0.5 <= start_s <= end + JUSTIFY_GRACE_S:
                return f
        return None

    def _asked_switchover(self, rec):
        start_s = (rec.get("started_ms") or 0) / 1000.0
        for f in self.faults:
            if f.kind == "switchover" and f.wall_start is not None:
                end = f.wall_heal if f.wall_heal is not None else time.time()
                if f.wall_start - 0.5 <= start_s <= end + 1.0:
                    return f
        return None

    def check_failovers(self, records):
        self.failovers, self.switchovers, self.unfinished, self.false_failovers = [], [], [], []
        for r in sorted(records, key=lambda r: r.get("epoch") or 0):
            kind, res = r.get("kind"), r.get("result")
            if res in ("failed", "aborted"):
                self.unfinished.append(r)
            if kind == "switchover":
                if res == "success":
                    self.switchovers.append(r)
                if self._asked_switchover(r) is None:
                    self.false_failovers.append((r, "a switchover no step asked for"))
                continue
            if res == "success":
                self.failovers.append(r)
            f = self._justifying_fault(r)
            if f is None:
                self.false_failovers.append((r, "no fault had cut the replicas from the primary "
                                                f"{r.get('old_primary')} then"))
            elif not (r.get("confirmations") or r.get("reason")):
                self.false_failovers.append((r, "the record names no reason and no confirmations"))
        for r, why in self.false_failovers:
            self.violation("false failover", f"epoch {r.get('epoch')} {r.get('kind')} {r.get('old_primary')} -> "
                           f"{r.get('new_primary')} at {r.get('started')}: {why}; reason {r.get('reason')!r}, "
                           f"confirmations {r.get('confirmations')!r}")

    # ------------------------------------------------------------ end state

    def check_end_state(self, primary, topo, holders, quarantined):
        """primary: failoverd's primary (index); topo: `failoverctl topology` data;
        holders: hosts holding the VIP now; quarantined: {address: reason}."""
        env = self.env
        problems = []
        writable = env.writable_servers()
        if writable != [primary]:
            problems.append(f"writable servers {[env.addr(i) for i in writable]}, expected only "
                            f"{env.addr(primary)}")
        if set(holders) != {self.db_hosts[primary]}:
            problems.append(f"VIP held by {sorted(holders)}, expected {self.db_hosts[primary]} alone")
        for i in env.db.servers:
            if i == primary:
                continue
            a = env.addr(i)
            if a in quarantined:
                if not quarantined[a]:
                    problems.append(f"{a} quarantined without a recorded reason")
                continue
            if not env.db.running(i):
                problems.append(f"{a} is not running")
                continue
            try:
                env.replicates_from(i, primary)
            except (NotYet, RigError) as e:
                problems.append(str(e))
        self.end_state = "ok" if not problems else "; ".join(problems)
        if problems:
            self.violation("end state", self.end_state)
        return problems

    # ------------------------------------------------------------ output

    def longest_outage(self, t0, t1):
        gap, a, _b = self.writer.max_gap(t0, t1)
        during = None
        if a is not None:
            for f in self.faults:
                if f.mono_start is not None and f.mono_start <= a + gap and (f.mono_settled or t1) >= a:
                    during = f
        return gap, during

    def ok(self):
        return not self.violations

    def table(self, t0, t1, seed, extra=None, planned=None):
        by_kind = {}
        for f in self.faults:
            by_kind[f.kind] = by_kind.get(f.kind, 0) + 1
        gap, during = self.longest_outage(t0, t1)
        acked = self.writer.acked_count()
        ran = f"{len(self.faults)}" + (f" of {planned}" if planned and planned != len(self.faults) else "")
        L = [f"chaos: seed {seed}, {ran} faults, {t1 - t0:.0f} s", "",
             f"{'fault':<28}{'count':>6}"]
        L += [f"{k:<28}{v:>6}" for k, v in sorted(by_kind.items())]
        L += ["",
              f"{'failovers (auto/manual)':<36}{len(self.failovers):>8}",
              f"{'switchovers':<36}{len(self.switchovers):>8}",
              f"{'failovers failed/aborted':<36}{len(self.unfinished):>8}",
              f"{'acknowledged writes':<36}{acked:>8}",
              f"{'uncertain writes (not counted)':<36}{len(self.writer.uncertain):>8}",
              f"{'lost writes':<36}{len(self.lost):>8}",
              f"{'duplicate rows':<36}{len(self.dups):>8}",
              f"{'split-brain samples':<36}{len(self.split_samples):>8}",
              f"{'  (two writable, one took writes)':<36}{self.two_writable_info:>8}",
              f"{'VIP samples / writable samples':<36}{self.vips.samples:>8} / {self.wsmp.samples}",
              f"{'false failovers':<36}{len(self.false_failovers):>8}",
              f"{'longest write outage':<36}{gap * 1000:>6.0f} ms"
              + (f"  (during #{during.n} {during.kind} {during.target})" if during else ""),
              f"{'end state':<36}  {self.end_state or 'not checked'}"]
        for k, v in (extra or {}).items():
            L.append(f"{k:<36}{v:>8}")
        L += ["", f"violations: {len(self.violations)}"]
        L += [f"  [{k}] {t[:300]}" for k, t in self.violations[:20]]
        return "\n".join(L)
