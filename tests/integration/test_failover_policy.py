#!/usr/bin/env python3
"""Failover policy: pre_failover hook veto, promotion rules, maintenance, anti-flap.

Five servers: 1 primary, 2..5 GTID replicas; three failoverd nodes with pre_failover,
post_failover and post_failover_failed hooks (shell scripts that log their FO_*
environment; pre_failover's exit status is read from a file the test writes).
  H. pre_failover exits 1, kill -9 the primary: no failover (history result aborted,
     or `why` shows the hook's refusal); no server becomes writable, no replica is
     repointed; the hook saw FO_CLUSTER/FO_OLD_PRIMARY/FO_KIND=auto; vetoed attempts
     are not retried in a tight loop. Server 1 is restarted: the primary again.
  D. `recoveries disable`, kill -9 the primary: refused (why: verdict refused,
     recoveries disabled), no failover for 4 s; then `maintenance on demo` (whole
     cluster) + `recoveries enable`: refused naming maintenance, no failover; then
     (recoveries disabled again, maintenance off) a manual `failoverctl failover
     demo --to <5>` still works (kind manual); `recoveries enable`.
  R. `instance rule demo <2> must_not`, `maintenance on demo <3>`, all replicas
     equally advanced (2 and 3 listed first); kill -9 the primary (5): 4 is promoted,
     never 2 (must_not) nor 3 (maintenance); the hooks got FO_EPOCH, FO_KIND=auto,
     FO_REASON, FO_OLD_PRIMARY (pre) and FO_RESULT=success, FO_NEW_PRIMARY (post).
  A. Kill -9 the new primary (4) at once: refused by anti-flap (verdict refused,
     reason mentions anti-flap/ack, blocked_until_ms in the future), no failover for
     6 s (also after `maintenance off` for 3); after `failoverctl ack demo` the
     failover promotes 3 (2 is must_not).
Hook-environment values and the retry rate are checked last, all together.

Ports: mariadb 25200-25204; failoverd admin 25210+, raft 25230+, http 25250+."""

import os
import shutil
import stat
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, inst_summary, short, steps_line  # noqa: E402
from rig.util import NotYet, TestFailure, check, register_cleanup, run_test, step, wait_for  # noqa: E402

DB_PORT = 25200
CTL_PORT = 25210

HOOK = """#!/bin/sh
# Written by test_failover_policy.py: logs the FO_* environment, exits as told.
# One write per run (a small O_APPEND write), so concurrent runs cannot interleave.
rec="time=$(date +%s.%N)
$(env | grep '^FO_' | sort)
--"
printf '%s\\n' "$rec" >> "{dir}/{name}.log"
if [ -f "{dir}/{name}.exit" ]; then exit "$(cat "{dir}/{name}.exit")"; fi
exit 0
"""


def make_hooks():
    d = tempfile.mkdtemp(prefix="fo-hooks-")
    os.chmod(d, 0o755)
    register_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    paths = {}
    for name in ("pre", "post", "failed"):
        p = os.path.join(d, f"{name}.sh")
        with open(p, "w") as f:
            f.write(HOOK.format(dir=d, name=name))
        os.chmod(p, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        paths[name] = p
    return d, paths


def hook_runs(d, name):
    """Every run of hook `name` so far: a list of dicts of its FO_* variables."""
    try:
        with open(os.path.join(d, f"{name}.log")) as f:
            text = f.read()
    except FileNotFoundError:
        return []
    runs = []
    for block in text.split("--\n")[:-1]:  # the last piece is "" or a run still being written
        kv = {}
        for line in block.splitlines():
            k, _, v = line.partition("=")
            if k:
                kv[k] = v
        if kv:
            runs.append(kv)
    return runs


def set_exit(d, name, code):
    with open(os.path.join(d, f"{name}.exit"), "w") as f:
        f.write(f"{code}\n")


def main():
    # Checks of secondary details (hook environment values, retry rate) are
    # collected and reported together at the end, so one run shows every problem.
    problems = []
    hdir, hooks = make_hooks()
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=5,
                     failover=dict(pre_failover=hooks["pre"], post_failover=hooks["post"],
                                   post_failover_failed=hooks["failed"], hook_timeout_ms=5000,
                                   step_timeout_ms=5000, relay_wait_ms=5000)) as env:
        db = env.db
        A = {i: env.addr(i) for i in db.servers}
        env.wait_healthy(1)
        env.write_marker(1, "start")
        db.sync_all()

        # ---------------------------------------------------------------- H. hook veto
        set_exit(hdir, "pre", 1)
        e0 = env.epoch()
        step(f"pre_failover exits 1; kill -9 primary {A[1]}")
        db.kill9(1)

        def vetoed():
            recs = [f for f in env.failovers() if (f.get("epoch") or 0) > e0]
            good = [f for f in recs if f.get("result") == "success"]
            check(not good, f"a failover succeeded although pre_failover exited 1: {short(good)}")
            aborted = [f for f in recs if f.get("result") == "aborted"]
            if aborted:
                return f"history: {short(aborted[0], 600)}"
            for d in env.decisions():
                text = f"{d.get('verdict')} {d.get('reason')} {d.get('detail')}".lower()
                if d.get("verdict") == "refused" and ("pre_failover" in text or "hook" in text):
                    return f"why: {short(d, 600)}"
            raise NotYet(f"records {short(recs, 600)}; decisions {short(env.decisions()[:4], 800)}")
        how = wait_for(vetoed, 30, "the pre_failover veto to be recorded (history aborted or why refusal)")
        step(f"veto recorded: {how}")
        runs = hook_runs(hdir, "pre")
        check(runs, "pre_failover never ran")
        r = runs[-1]
        want = {"FO_CLUSTER": "demo", "FO_OLD_PRIMARY": A[1], "FO_KIND": "auto"}
        if not all(r.get(k) == v for k, v in want.items()):
            problems.append(f"vetoed attempt: pre_failover environment {r}, want {want}")
        n_runs, e_veto = len(runs), env.epoch()
        t_end = time.monotonic() + 5
        while time.monotonic() < t_end:
            w = env.writable_servers()
            check(not w, f"server(s) {[A[i] for i in w]} writable after a vetoed failover")
            check(not [f for f in env.failovers() if f.get("result") == "success"],
                  f"a failover succeeded after the veto: {short(env.failovers())}")
            time.sleep(0.5)
        for i in (2, 3, 4, 5):
            st = db.slave_status(i) or {}
            check(f"{st.get('Master_Host')}:{st.get('Master_Port')}" == A[1],
                  f"{A[i]} was repointed by a vetoed failover: {env.server_state(i)}")
        n_more, e_more = len(hook_runs(hdir, "pre")) - n_runs, env.epoch() - e_veto
        step(f"no failover, no writable server; pre_failover ran {len(hook_runs(hdir, 'pre'))} time(s), "
             f"{n_more} in the last 5 s; epoch {env.epoch()}")
        if n_more > 10 or e_more > 10:
            problems.append(f"a vetoed failover is retried without back-off: {n_more} pre_failover runs and "
                            f"{e_more} new epochs (failover begin entries) in 5 s")

        # Server 1 comes back while the hook still vetoes (a retried attempt must not
        # succeed in between); only then is the hook allowed again.
        db.servers[1].read_only = False
        db.start(1)
        env.wait_healthy(1, [2, 3, 4, 5], timeout=30)
        set_exit(hdir, "pre", 0)
        time.sleep(1)
        env.wait_healthy(1, [2, 3, 4, 5], timeout=10)
        env.ack()  # in case the aborted attempts count for anti-flap: later phases must not be blocked
        step(f"{A[1]} restarted and is the primary again")

        # ---------------------------------------------------------------- D. recoveries disabled
        env.c.ctl_write(["recoveries", "disable"])
        e1 = env.epoch()
        step(f"recoveries disabled; kill -9 primary {A[1]}")
        wall_kill = int(time.time() * 1000) - 1000
        db.kill9(1)

        def disabled(d):
            text = f"{d.get('reason')} {d.get('detail')}".lower()
            return d.get("verdict") == "refused" and ("recover" in text or "disabled" in text)
        d = env.wait_decision(disabled, 20, "a decision with verdict refused saying recoveries are disabled",
                              since_wall_ms=wall_kill)
        step(f"why: verdict={d['verdict']!r} reason={d.get('reason')!r}")
        check(env.why().get("recoveries_enabled") is False,
              f"why recoveries_enabled={env.why().get('recoveries_enabled')!r} after `recoveries disable`")
        env.wait_no_failover(4, epoch_before=e1, what="recoveries disabled")
        check(not env.writable_servers(), f"writable servers while recoveries are disabled: {env.writable_servers()}")

        # Cluster-wide maintenance blocks automatic failover too.
        env.ctl_ok(["maintenance", "on", "demo"])
        wait_for(lambda: env.why().get("maintenance") is True, 5, "why to show the cluster in maintenance")
        wall_m = int(time.time() * 1000) - 1000
        env.c.ctl_write(["recoveries", "enable"])

        def in_maintenance(d):
            text = f"{d.get('reason')} {d.get('detail')}".lower()
            return d.get("verdict") == "refused" and "maintenance" in text
        try:
            d = env.wait_decision(in_maintenance, 8, "a decision with verdict refused naming maintenance",
                                  since_wall_ms=wall_m)
            step(f"cluster in maintenance: why: verdict={d['verdict']!r} reason={d.get('reason')!r}")
        except TestFailure as e:
            problems.append(f"cluster maintenance + dead primary: the refusal is not in why ({e})")
            step("cluster in maintenance: no refusal recorded in why (reported at the end)")
        env.wait_no_failover(3, epoch_before=e1, what="cluster in maintenance")
        env.c.ctl_write(["recoveries", "disable"])
        wait_for(lambda: env.why().get("recoveries_enabled") is False, 5, "recoveries to be disabled again")
        env.ctl_ok(["maintenance", "off", "demo"])
        wait_for(lambda: env.why().get("maintenance") is False, 5, "why to show the cluster out of maintenance")
        env.wait_no_failover(1, epoch_before=e1, what="recoveries disabled")

        step(f"manual `failoverctl failover demo --to {A[5]}` (recoveries still disabled)")
        res = env.ctl(["failover", "demo", "--to", A[5]], timeout_ms=60000, proc_timeout=90)
        check(res.rc == 0, f"manual failover: {res.describe()}")
        f = env.failover_after(e1, timeout=10)
        env.check_record(f, f["epoch"], "manual", old=1, new=5)
        step(f"manual failover: {steps_line(f)}")
        env.wait_healthy(5, [2, 3, 4], timeout=20)
        env.check_one_writable(5)
        env.c.ctl_write(["recoveries", "enable"])
        wait_for(lambda: env.why().get("recoveries_enabled") is True, 5,
                 "why to show recoveries_enabled true after `recoveries enable`")
        env.ack()

        # ---------------------------------------------------------------- R. rules
        env.ctl_ok(["instance", "rule", "demo", A[2], "must_not"])
        env.ctl_ok(["maintenance", "on", "demo", A[3]])

        def rules_seen():
            inst = env.by_address()
            if inst[A[2]].get("rule") != "must_not" or inst[A[3]].get("maintenance") is not True:
                raise NotYet(f"{A[2]}: {inst_summary(inst[A[2]])}; {A[3]}: {inst_summary(inst[A[3]])}")
            return True
        wait_for(rules_seen, 10, f"topology to show {A[2]} must_not and {A[3]} in maintenance")
        env.write_marker(5, "rules")
        for i in (2, 3, 4):
            env.wait_caught_up(i, 5)
        e2 = env.epoch()
        n_pre, n_post = len(hook_runs(hdir, "pre")), len(hook_runs(hdir, "post"))
        step(f"kill -9 primary {A[5]} ({A[2]} must_not, {A[3]} in maintenance, {A[4]}: all equally advanced)")
        db.kill9(5)
        f = env.failover_after(e2)
        step(f"failover: {steps_line(f)}")
        new = env.index(f.get("new_primary"))
        check(new == 4, f"promoted {A[new]}: expected {A[4]} ({A[2]} is must_not, {A[3]} in maintenance, "
              f"{A[1]} dead)")
        ep = f["epoch"]
        env.check_record(f, ep, "auto", old=5, new=4)
        wait_for(lambda: env.replicates_from(2, 4), 20, f"must_not replica {A[2]} to replicate from {A[4]}")
        env.check_one_writable(4)

        def hooks_logged():
            pre = [x for x in hook_runs(hdir, "pre")[n_pre:] if x.get("FO_EPOCH") == str(ep)]
            post = [x for x in hook_runs(hdir, "post")[n_post:] if x.get("FO_EPOCH") == str(ep)]
            if not pre or not post:
                raise NotYet(f"pre runs {hook_runs(hdir, 'pre')[n_pre:]}, post runs {hook_runs(hdir, 'post')[n_post:]}")
            return pre[-1], post[-1]
        pre, post = wait_for(hooks_logged, 15, f"pre_failover and post_failover to run for epoch {ep}")
        want_pre = {"FO_CLUSTER": "demo", "FO_OLD_PRIMARY": A[5], "FO_EPOCH": str(ep), "FO_KIND": "auto",
                    "FO_REASON": f.get("reason")}
        if not all(pre.get(k) == v for k, v in want_pre.items()):
            problems.append(f"pre_failover environment {pre}, want {want_pre}")
        want_post = dict(want_pre, FO_NEW_PRIMARY=A[4], FO_RESULT="success")
        if not all(post.get(k) == v for k, v in want_post.items()):
            problems.append(f"post_failover environment {post}, want {want_post}")
        failed_runs = hook_runs(hdir, "failed")
        if any(x.get("FO_EPOCH") == str(ep) for x in failed_runs):
            problems.append(f"post_failover_failed ran for the successful epoch {ep}: {failed_runs}")
        step(f"hooks saw {post}")

        # ---------------------------------------------------------------- A. anti-flap
        e3 = env.epoch()
        step(f"kill -9 the new primary {A[4]} at once (inside the anti-flap period)")
        wall_kill = int(time.time() * 1000) - 1000  # margin: the leader's clock is the same machine's
        db.kill9(4)

        def refused(d):
            text = f"{d.get('reason')} {d.get('detail')}".lower()
            return d.get("verdict") == "refused" and ("anti" in text or "flap" in text or "ack" in text)
        d = env.wait_decision(refused, 20, "a decision with verdict refused mentioning anti-flap/ack",
                              since_wall_ms=wall_kill)
        step(f"why: verdict={d['verdict']!r} reason={d.get('reason')!r}")
        why = env.why()
        check((why.get("blocked_until_ms") or 0) > time.time() * 1000,
              f"why blocked_until_ms={why.get('blocked_until_ms')!r} is not in the future")
        env.wait_no_failover(6, epoch_before=e3, what="anti-flap block")
        check(not env.writable_servers(), f"writable servers during the block: {env.writable_servers()}")

        env.ctl_ok(["maintenance", "off", "demo", A[3]])
        wait_for(lambda: env.by_address()[A[3]].get("maintenance") is False, 10,
                 f"topology to show {A[3]} out of maintenance")
        env.wait_no_failover(2, epoch_before=e3, what="anti-flap block (maintenance off is not an ack)")
        step("maintenance off for 3; failoverctl ack demo")
        env.ack()
        f = env.failover_after(e3)
        step(f"failover after ack: {steps_line(f)}")
        check(env.index(f.get("new_primary")) == 3,
              f"promoted {f.get('new_primary')}, expected {A[3]} (2 must_not; 1, 4, 5 dead)")
        env.check_record(f, f["epoch"], "auto", old=4, new=3)
        env.check_one_writable(3)
        check(env.read_only(2), f"{A[2]} is writable: {env.server_state(2)}")
        wait_for(lambda: env.replicates_from(2, 3), 20, f"{A[2]} to replicate from {A[3]}")
        check(not problems, f"{len(problems)} problem(s):\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    sys.exit(run_test(main))
