#!/usr/bin/env python3
"""Fast detection of a dead mysqld on a live host (issue 11, item 1; DESIGN.md §5).

Three mariadbd (a primary and two GTID replicas) watched by three failoverd nodes
with the DEFAULT probe settings (interval 500 ms, down after 3 failures): the
down_after rule alone would take 3 intervals before a failover could begin.

  (b) first, the fast path must not fail over a live primary: one controller's probe
      connection is killed from the primary (`KILL <id>`). That controller sees EOF on
      its idle connection and probes again at once (its
      failoverd_probe_immediate_retries_total{reason="idle_eof"} goes up), on a new
      connection that succeeds: no controller records a SUSPECT or DOWN transition,
      no decision other than "ok" is taken, and no failover happens.
  (a) then kill -9 of the primary: every controller's idle probe connection gets
      EOF, the re-probe is refused, the primary is DOWN at once on every controller,
      the followers' verdicts and the leader's replica probes follow at once, and
      the failover begins (its history record's started_ms) within 300 ms of the kill,
      as an automatic failover whose record holds a majority of DOWN confirmations and
      replicas that do not replicate any more. It completes with a replica promoted.
  (c) that the fast path never overrides the replicas' view (no failover while a
      replica still replicates from the primary, IO=Yes) is the detector's rule 4,
      covered by tests/unit/test_detector.c, which this path feeds unchanged.

Ports: mariadb 32100-32102; failoverd admin 32110+, raft 32130+, http 32150+."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, short, steps_line  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 32100
CTL_PORT = 32110
# failoverd's defaults (common/config.h, DESIGN.md §5), written out so the test does
# not depend on the rig's faster probe settings.
PROBE = dict(interval_ms=500, connect_timeout_ms=500, read_timeout_ms=1000, down_after=3)
BEGIN_WITHIN_MS = 300


def metric_sum(env, node, name, **labels):
    return sum(s.value for s in env.c.metrics(node) if s.name == name
               and all(s.labels.get(k) == v for k, v in labels.items()))


def counters(env):
    """Per node: immediate idle-EOF retries and SUSPECT / DOWN transitions seen."""
    out = {}
    for n in env.c.running_ids():
        out[n] = dict(
            idle_eof=metric_sum(env, n, "failoverd_probe_immediate_retries_total", reason="idle_eof"),
            suspect=metric_sum(env, n, "failoverd_instance_state_transitions_total", to="suspect"),
            down=metric_sum(env, n, "failoverd_instance_state_transitions_total", to="down"))
    return out


def probe_sessions(env, i):
    """(id, time) of the controllers' idle sessions on server i (user failoverd)."""
    rows = env.db.sql(i, "SELECT ID, TIME FROM information_schema.PROCESSLIST "
                         "WHERE USER = 'failoverd' AND COMMAND = 'Sleep' ORDER BY ID")
    return [(int(r[0]), int(r[1])) for r in rows]


def some_probe_sessions(env, i):
    s = probe_sessions(env, i)
    if not s:
        raise NotYet(f"no idle failoverd session on server {i}")
    return s


def kill_one_probe_connection(env):
    """(b): KILL one controller's probe connection on the live primary."""
    before = counters(env)
    sessions = wait_for(lambda: some_probe_sessions(env, 1), 10, "the controllers' probe sessions on the primary")
    victim = sessions[0][0]
    wall = time.time() * 1000
    step(f"(b) probe sessions on the primary: {sessions}; KILL {victim}")
    env.db.sql(1, f"KILL {victim}")
    t0 = time.monotonic()

    def retried():
        now = counters(env)
        up = {n: now[n]["idle_eof"] - before[n]["idle_eof"] for n in now}
        if sum(up.values()) < 1:
            raise NotYet(f"no immediate retry counted yet: {now}")
        return now, up
    now, up = wait_for(retried, 5, "a controller to count an immediate retry after the EOF")
    step(f"(b) idle_eof retries by node after the KILL: {up} (seen within {time.monotonic() - t0:.2f} s)")
    check(sum(1 for v in up.values() if v > 0) == 1,
          f"exactly one controller's connection was killed, but retries rose on {up}")
    ids = [s[0] for s in probe_sessions(env, 1)]
    check(victim not in ids, f"the killed session {victim} is still listed: {ids}")

    env.wait_no_failover(3, epoch_before=0, primary=1, what="after KILL of one probe connection")
    after = counters(env)
    for n in after:
        check(after[n]["suspect"] == before[n]["suspect"] and after[n]["down"] == before[n]["down"],
              f"node {n} recorded a health transition after the KILL: before {before[n]}, after {after[n]}")
    bad = [d for d in env.decisions() if (d.get("wall_ms") or 0) >= wall and d.get("verdict") != "ok"]
    check(not bad, f"decisions after the KILL: {short(bad)}")
    env.wait_healthy(1, [2, 3], timeout=5)
    step("(b) no SUSPECT/DOWN on any controller, no decision, no failover; the primary stays up")


def kill9_primary(env):
    """(a): kill -9 of the primary; the failover must begin within BEGIN_WITHIN_MS."""
    db = env.db
    env.wait_healthy(1, [2, 3])
    wall_kill = time.time() * 1000
    db.kill9(1)
    step(f"(a) kill -9 of the primary {env.addr(1)}")
    f = env.failover(1, timeout=60)
    begin_ms = (f.get("started_ms") or 0) - wall_kill
    step(f"(a) failover began {begin_ms:.0f} ms after the kill; {steps_line(f)}")
    step(f"(a) reason: {f.get('reason')!r}; confirmations: {short(f.get('confirmations'), 600)}")
    check(f.get("kind") == "auto", f"kind {f.get('kind')!r}, expected auto: {short(f)}")
    check(0 <= begin_ms <= BEGIN_WITHIN_MS,
          f"the failover began {begin_ms:.0f} ms after the kill, expected within {BEGIN_WITHIN_MS} ms "
          f"(the down_after rule alone needs {PROBE['down_after']} x {PROBE['interval_ms']} ms): {short(f)}")
    # "node 1 down (0 ms: ...), node 2 down (12 ms), ...; replicas: ... IO=Connecting ..."
    confs = f.get("confirmations") or ""
    down = re.findall(r"node \d+ down", confs)
    check(len(down) >= 2, f"the record holds {len(down)} DOWN confirmations, a majority of 3 needs 2: {confs!r}")
    check("IO=Yes" not in confs, f"a replica still replicating was counted: {confs!r}")
    reason = f.get("reason") or ""
    check("IO=Yes" not in reason, f"a replica still replicating was taken as confirmation: {reason!r}")
    new = env.index(f.get("new_primary"))
    check(new in (2, 3), f"new primary {f.get('new_primary')!r}")
    other = 5 - new
    env.wait_healthy(new, [other], timeout=30)
    env.check_one_writable(new)
    step(f"(a) {env.addr(new)} is the writable primary, {env.addr(other)} replicates from it")


def main():
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=3, probe=PROBE,
                     failover=dict(step_timeout_ms=5000, relay_wait_ms=5000)) as env:
        env.wait_healthy(1, [2, 3], timeout=60)
        step(f"cluster healthy with the default probe settings {PROBE}")
        kill_one_probe_connection(env)
        kill9_primary(env)


if __name__ == "__main__":
    sys.exit(run_test(main))
