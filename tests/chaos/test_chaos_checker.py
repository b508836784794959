#!/usr/bin/env python3
"""The chaos checker can fail (issue 12): violations forced by hand, behind failoverd's
back, must each be reported -- otherwise a chaos run that "finds nothing" proves nothing.

Same rig as test_chaos_short (rig.chaos_run: db1..db3 with agents, c1..c3, a writer in cli
through the VIP 10.241.74.100), no schedule:
  1. two VIP holders: the VIP is added by hand on db2's eth0 while db1 holds it; the
     VIP sampler's samples show both, and check_split_brain() reports them;
  2. two writable servers that both take client writes: read_only=0 by hand on db3 and
     a second writer INSERTing straight into it while the VIP writer writes to db1;
     check_split_brain() reports the stretch (before failoverd fences db3);
  3. a failover nobody asked for: a switchover by hand, outside any schedule step;
     check_failovers() reports it as a false failover;
  4. a lost write: db2's SQL thread is stopped (it lags), the writer gets acknowledged
     INSERTs on db1 (semi-sync: db2's IO thread still acknowledges them), then db2 is
     promoted by hand (STOP SLAVE; RESET SLAVE ALL; read_only=0: its unapplied relay
     log is gone); check_all_writes() with db2 as the primary reports the missing ids.
Each case asserts the violation's kind, its count in the table and ok() == False.

Ports (inside the namespaces): mariadb 30800; failoverd admin 30810+, raft 30830+,
http 30850+; agents 7201. Skipped (exit 77) only without network namespaces or PyMySQL."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.chaos_run import DBH, ChaosRig  # noqa: E402
from rig.chaos_check import ChaosChecker  # noqa: E402
from rig.netns import skip_unless_available as skip_unless_netns  # noqa: E402
from rig.util import MissingPrerequisite, NotYet, check, run_test, step, wait_for  # noqa: E402
from rig.writer import Writer, connect_vip, pymysql  # noqa: E402

SUBNET = "10.241.74"
DB_PORT = 30800
CTL_PORT = 30810


def fresh_checker(rig):
    """A checker over the rig's running samplers and writer, with no history: each case
    starts from zero violations."""
    return ChaosChecker(rig.env, rig.net, rig.writer, rig.vips, rig.wsmp, DBH)


def kinds(chk):
    return sorted({k for k, _t in chk.violations})


def two_holders(rig):
    chk = fresh_checker(rig)
    ns = rig.net.ns("db2")
    step("adding the VIP by hand on db2 while db1 holds it")
    subprocess.run(["ip", "-n", ns, "addr", "add", f"{rig.vip}/24", "dev", "eth0"], check=True)
    try:
        def seen():
            if rig.vips.max_holders < 2:
                raise NotYet(f"max holders {rig.vips.max_holders}")
            return True
        wait_for(seen, 10, "the VIP sampler to see two holders", interval=0.02)
        time.sleep(0.2)
    finally:
        subprocess.run(["ip", "-n", ns, "addr", "del", f"{rig.vip}/24", "dev", "eth0"], capture_output=True)
    out = chk.check_split_brain()
    vip_samples = [w for _t, w in out if w.startswith("VIP on")]
    step(f"checker: {len(vip_samples)} VIP sample(s) with two holders; violations {kinds(chk)}")
    check(vip_samples, f"the checker did not report two VIP holders: {chk.violations}")
    check("split brain" in kinds(chk) and not chk.ok(), f"no split-brain violation: {chk.violations}")
    table = chk.table(rig.t_start, time.monotonic(), "n/a")
    check(f"split-brain samples{'':<17}{len(out):>8}" in table, f"the table does not count them:\n{table}")


def two_writable(rig):
    chk = fresh_checker(rig)
    db = rig.env.db
    rig.wait_vip_on("db1", 20)
    # From the client's namespace straight to db3's own address (not the VIP).
    extra = Writer(db, lambda: [3], interval=0.005, start_id=50_000_000, name="rogue-writer",
                   connect_timeout=0.5, rw_timeout=1.0,
                   connect_fn=lambda _t, ct, rw: connect_vip(db, rig.net.ns("cli"), rig.net.addr("db3"), DB_PORT,
                                                             ct, rw))
    chk.extra_writers.append(extra)
    step("read_only=0 by hand on db3, and a second writer straight into it")
    db.sql(3, "SET GLOBAL read_only=0")
    extra.start()
    try:
        def both():
            if not any(len(w) > 1 and 3 in w for _t, w in rig.wsmp.worst):
                raise NotYet("no sample with db3 writable beside the primary yet")
            # failoverd fences the stray writer within a probe or two (that is its job), so
            # the rogue writer may get only a few acknowledgements in: one is enough.
            if extra.acked_count() < 1:
                raise NotYet(f"rogue writer: {extra.acked_count()} acks; {extra.last_errors(2)}")
            return True
        wait_for(both, 20, "two writable servers taking writes", interval=0.02)
        time.sleep(0.3)
    finally:
        extra.stop()
        db.sql(3, "SET GLOBAL read_only=1")
    out = chk.check_split_brain()
    w_samples = [w for _t, w in out if not w.startswith("VIP on")]
    step(f"rogue writer: {extra.acked_count()} acks on db3; checker: {len(w_samples)} sample(s) with two writable "
         f"servers taking writes")
    check(w_samples, f"the checker did not report two writable servers taking writes: {chk.violations}; "
          f"writable sampler: {rig.wsmp.describe()}")
    check(not chk.ok(), "ok() is True despite a split brain")


def unasked_switchover(rig):
    chk = fresh_checker(rig)
    env = rig.env
    before = env.epoch()
    step("a switchover by hand, outside any schedule step")
    res = env.ctl(["switchover", "demo"], timeout_ms=30000, proc_timeout=60)
    check(res.rc == 0, f"switchover: {res.describe()}")
    env.failover_after(before, timeout=30)
    chk.check_failovers(env.failovers())
    step(f"checker: {len(chk.false_failovers)} false failover(s): {[w for _r, w in chk.false_failovers]}")
    check(any(r.get("epoch") == before + 1 for r, _w in chk.false_failovers),
          f"the checker did not flag epoch {before + 1}: {chk.violations}")
    check("false failover" in kinds(chk) and not chk.ok(), f"no false-failover violation: {chk.violations}")


def lost_write(rig):
    chk = fresh_checker(rig)
    db = rig.env.db
    p = rig.primary()
    cands = [i for i in db.servers if i != p]
    lag = 2 if 2 in cands else cands[0]  # db3 took the rogue writes above: maybe quarantined
    step(f"stopping {DBH[lag]}'s SQL thread (it lags), writing through the VIP to {DBH[p]}")
    db.sql(lag, "STOP SLAVE SQL_THREAD")
    rig.writer.wait_acks(100, timeout=30)
    acked_before = rig.writer.acked_count()
    step(f"promoting {DBH[lag]} by hand: STOP SLAVE; RESET SLAVE ALL; read_only=0")
    db.sql(lag, "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only=0")
    rig.writer.stop()
    acks, rows = chk.check_all_writes(lag)
    step(f"checker: {len(chk.lost)} of {acks} acknowledged writes missing on {DBH[lag]} ({rows} rows there)")
    check(acked_before >= 100, f"only {acked_before} acknowledged writes")
    check(len(chk.lost) >= 100, f"the checker found {len(chk.lost)} lost writes, expected >= 100: {chk.violations}")
    check("lost write" in kinds(chk) and not chk.ok(), f"no lost-write violation: {chk.violations}")
    table = chk.table(rig.t_start, time.monotonic(), "n/a")
    check(f"lost writes{'':<25}{len(chk.lost):>8}" in table, f"the table does not count them:\n{table}")


def main():
    if pymysql is None:
        raise MissingPrerequisite("python3-pymysql is not installed")
    with ChaosRig(SUBNET, DB_PORT, CTL_PORT) as rig:
        rig.start_load(sysbench=False)
        two_holders(rig)
        two_writable(rig)
        unasked_switchover(rig)
        lost_write(rig)


if __name__ == "__main__":
    skip_unless_netns("test_chaos_checker")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
