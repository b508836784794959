#!/usr/bin/env python3
"""Failover policy: pre_failover hook veto, promotion rules, maintenance, anti-flap.

Five servers: 1 primary, 2..5 GTID replicas; three failoverd nodes with pre_failover,
post_failover and post_failover_failed hooks (shell scripts that log their FO_*
environment; pre_failover's exit status is read from a file the test writes).
  H. pre_failover exits 1, kill -9 the primary: no failover (history result aborted,
     or `why` shows the hook's refusal); no server becomes writable; the hook saw
     FO_CLUSTER=demo FO_OLD_PRIMARY=<1> FO_KIND=auto. Server 1 is restarted and is
     the primary again.
  R. `instance rule demo <2> must_not`, `maintenance on demo <3>`; all replicas
     equally advanced, 2 and 3 listed first; kill -9 the primary: the failover
     promotes 4 or 5, never 2 (must_not) nor 3 (maintenance); the hooks ran with
     FO_EPOCH/FO_KIND/FO_OLD_PRIMARY (pre) and FO_RESULT=success/FO_NEW_PRIMARY (post).
  A. Kill -9 the new primary at once: refused by anti-flap (verdict refused, reason
     mentions anti-flap/ack), no failover for 6 s; after `failoverctl ack demo` the
     failover happens and promotes the only eligible replica left.

Ports: mariadb 25200-25204; failoverd admin 25210+, raft 25230+, http 25250+."""

import os
import shutil
import stat
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, inst_summary, short, steps_line  # noqa: E402
from rig.util import NotYet, check, register_cleanup, run_test, step, wait_for  # noqa: E402

DB_PORT = 25200
CTL_PORT = 25210

HOOK = """#!/bin/sh
# Written by test_failover_policy.py: logs the FO_* environment, exits as told.
{{ echo "time=$(date +%s.%N)"; env | grep '^FO_' | sort; echo "--"; }} >> "{dir}/{name}.log"
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
    for block in text.split("--\n"):
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
        check(r.get("FO_CLUSTER") == "demo" and r.get("FO_OLD_PRIMARY") == A[1] and r.get("FO_KIND") == "auto",
              f"pre_failover environment: {r}")
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
        step(f"no failover, no writable server; pre_failover ran {len(runs)} time(s)")

        set_exit(hdir, "pre", 0)
        db.servers[1].read_only = False
        db.start(1)
        env.wait_healthy(1, [2, 3, 4, 5], timeout=30)
        env.ack()  # in case the aborted attempt counts for anti-flap: phase R must not be blocked
        step(f"{A[1]} restarted and is the primary again")

        # ---------------------------------------------------------------- R. rules
        env.ctl_ok(["instance", "rule", "demo", A[2], "must_not"])
        env.ctl_ok(["maintenance", "on", "demo", A[3]])

        def rules_seen():
            inst = env.by_address()
            if inst[A[2]].get("rule") != "must_not" or inst[A[3]].get("maintenance") is not True:
                raise NotYet(f"{A[2]}: {inst_summary(inst[A[2]])}; {A[3]}: {inst_summary(inst[A[3]])}")
            return True
        wait_for(rules_seen, 10, f"topology to show {A[2]} must_not and {A[3]} in maintenance")
        env.write_marker(1, "rules")
        db.sync_all()
        e1 = env.epoch()
        n_pre, n_post = len(hook_runs(hdir, "pre")), len(hook_runs(hdir, "post"))
        step(f"kill -9 primary {A[1]} ({A[2]} must_not, {A[3]} in maintenance, all equally advanced)")
        db.kill9(1)
        f = env.failover_after(e1)
        step(f"failover: {steps_line(f)}")
        new = env.index(f.get("new_primary"))
        check(new in (4, 5), f"promoted {A[new]}: expected 4 or 5 ({A[2]} is must_not, {A[3]} in maintenance)")
        ep = f["epoch"]
        env.check_record(f, ep, "auto", old=1, new=new)
        other = 9 - new
        wait_for(lambda: env.replicates_from(other, new), 20, f"{A[other]} to replicate from {A[new]}")
        wait_for(lambda: env.replicates_from(2, new), 20, f"must_not replica {A[2]} to replicate from {A[new]}")
        env.check_one_writable(new)

        def hooks_logged():
            pre, post = hook_runs(hdir, "pre")[n_pre:], hook_runs(hdir, "post")[n_post:]
            if not pre or not post:
                raise NotYet(f"new pre runs {pre}, new post runs {post}")
            return pre[-1], post[-1]
        pre, post = wait_for(hooks_logged, 15, "pre_failover and post_failover to run for this failover")
        want_pre = {"FO_CLUSTER": "demo", "FO_OLD_PRIMARY": A[1], "FO_EPOCH": str(ep), "FO_KIND": "auto"}
        check(all(pre.get(k) == v for k, v in want_pre.items()), f"pre_failover environment {pre}, want {want_pre}")
        want_post = dict(want_pre, FO_NEW_PRIMARY=A[new], FO_RESULT="success")
        check(all(post.get(k) == v for k, v in want_post.items()),
              f"post_failover environment {post}, want {want_post}")
        check(not hook_runs(hdir, "failed"), f"post_failover_failed ran: {hook_runs(hdir, 'failed')}")
        step(f"hooks saw {post}")

        # ---------------------------------------------------------------- A. anti-flap
        e2 = env.epoch()
        step(f"kill -9 the new primary {A[new]} at once (inside the anti-flap period)")
        wall_kill = int(time.time() * 1000) - 1000  # margin: the leader's clock is the same machine's
        db.kill9(new)

        def refused(d):
            text = f"{d.get('reason')} {d.get('detail')}".lower()
            return d.get("verdict") == "refused" and ("anti" in text or "flap" in text or "ack" in text)
        d = env.wait_decision(refused, 20, "a decision with verdict refused mentioning anti-flap/ack",
                              since_wall_ms=wall_kill)
        step(f"why: verdict={d['verdict']!r} reason={d.get('reason')!r}")
        why = env.why()
        check((why.get("blocked_until_ms") or 0) > time.time() * 1000,
              f"why blocked_until_ms={why.get('blocked_until_ms')!r} is not in the future")
        env.wait_no_failover(6, epoch_before=e2, what="anti-flap block")
        check(not env.writable_servers(), f"writable servers during the block: {env.writable_servers()}")

        step("failoverctl ack demo")
        env.ack()
        f = env.failover_after(e2)
        step(f"failover after ack: {steps_line(f)}")
        check(env.index(f.get("new_primary")) == other,
              f"promoted {f.get('new_primary')}, expected {A[other]} (2 must_not, 3 maintenance, 1 and {new} dead)")
        env.check_record(f, f["epoch"], "auto", old=new, new=other)
        env.check_one_writable(other)
        for i in (2, 3):
            check(env.read_only(i), f"{A[i]} is writable: {env.server_state(i)}")


if __name__ == "__main__":
    sys.exit(run_test(main))
