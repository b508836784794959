#!/usr/bin/env python3
"""Intermediate primaries (issue 13.3, controller/decide/chain.h, docs/intermediate-primaries.md).

Four servers: db1 the primary, db1 -> db2 -> db3 (db2 an intermediate primary) and
db1 -> db4; three controllers; writes on db1 all along.
  1. `topology` shows the tree: db3 at depth 2 under db2 (--json "depth", and the text
     indents it under db2).
  2. kill -9 of db2: its death is confirmed (majority of controllers + db3's IO thread)
     and db3 is repointed to db1 with GTID: it gets every row, there is no failover in
     history, the epoch and the writer (db1) never change, `why` holds a
     dead_intermediate decision with the controllers' confirmations and a rejoined
     decision naming db3 and db1; topology shows db3 at depth 1.
  3. db2 restarts: it replicates from db1 again (its own source), has every row, and
     does not get db3 back.
  4. Negative: db3 chained under db2 again; the controllers are shut out of db2 (its
     failoverd account locked, their sessions killed) while db3 still hears it: db2 is
     DOWN for every controller but for HOLD_S nothing is repointed, and `why` holds an
     intermediate_not_confirmed decision (the detector's unreachable verdict). Before
     issue 13.3, rejoin repointed db3 to db1 here on the leader's view alone.
  5. db2 hung (SIGSTOP): db3's IO thread still says Yes but nothing arrives (no
     heartbeat): confirmed by its silence (controller/decide/arrival.h), db3 moves to db1.

Ports: mariadb 30300-30303; failoverd admin 30310+, raft 30330+, http 30350+."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, short  # noqa: E402
from rig.util import NotYet, TestFailure, check, run_test, step, wait_for  # noqa: E402

DB_PORT = 30300
CTL_PORT = 30310
REPAIR_S = 30.0
HOLD_S = 8.0


def rows(env, i):
    return int(env.db.scalar(i, "SELECT COUNT(*) FROM fotest.marks"))


def depth_of(env, i, topo=None):
    x = env.by_address(topo).get(env.addr(i)) or {}
    return x.get("depth")


def wait_depths(env, want, what):
    def ok():
        t = env.topo()
        got = {i: depth_of(env, i, t) for i in want}
        if got != want:
            raise NotYet(f"depths {got}, want {want}; {short(t.get('instances'), 1200)}")
        return t
    return wait_for(ok, 20, what, interval=0.2)


def writer(env, tag, n):
    for k in range(n):
        env.write_marker(1, f"{tag}-{k}")


def main():
    with FailoverEnv(DB_PORT, CTL_PORT, n_db=4) as env:
        db = env.db
        env.wait_healthy(1)
        db.change_master(3, 2)  # db1 -> db2 -> db3, db1 -> db4
        writer(env, "before", 20)
        db.wait_replicating(3)

        # ---------------------------------------------------------------- 1. the tree
        t = wait_depths(env, {1: 0, 2: 1, 3: 2, 4: 1}, "topology to show db3 at depth 2 under db2")
        epoch0 = t.get("epoch")
        text = env.c.ctl_ok(["topology", "demo"], json_out=False)
        lines = text.splitlines()
        l2 = next((k for k, l in enumerate(lines) if env.addr(2) in l.split()[:2]), None)
        l3 = next((k for k, l in enumerate(lines) if "`- " + env.addr(3) in l), None)
        check(l2 is not None and l3 == l2 + 1 and lines[l3].startswith("   `- "),
              f"the text topology does not show db3 indented under db2:\n{text}")
        step(f"tree shown; epoch {epoch0}:\n{text}")

        # ---------------------------------------------------------------- 2. kill the intermediate
        since = int(time.time() * 1000) - 1000
        step(f"kill -9 of the intermediate primary {env.addr(2)}")
        t0 = time.monotonic()
        db.kill9(2)
        writer(env, "after-kill", 10)
        wait_for(lambda: env.replicates_from(3, 1), REPAIR_S, f"{env.addr(3)} to replicate from {env.addr(1)}")
        repoint_s = time.monotonic() - t0
        writer(env, "after-repoint", 10)
        env.wait_caught_up(3, 1)
        check(rows(env, 3) == rows(env, 1) == 40, f"rows: db1 {rows(env, 1)}, db3 {rows(env, 3)}")
        step(f"{env.addr(3)} replicates from {env.addr(1)} after {repoint_s:.1f} s with all 40 rows")
        dead = env.wait_decision(lambda d: d.get("verdict") == "dead_intermediate" and d.get("instance") == env.addr(2),
                                 5, "a dead_intermediate decision about db2", since_wall_ms=since)
        detail = dead.get("detail") or ""
        check("confirmed dead" in (dead.get("reason") or "") and env.addr(3) in detail and detail.count("down") >= 2,
              f"the dead_intermediate decision lacks its confirmations: {dead}")
        rej = env.wait_decision(lambda d: d.get("verdict") == "rejoined" and d.get("instance") == env.addr(3),
                                5, "a rejoined decision about db3", since_wall_ms=since)
        check(env.addr(1) in rej.get("reason", "") and "intermediate primary" in rej.get("reason", ""),
              f"the rejoined decision does not name db1 and the intermediate: {rej}")
        step(f"why: {dead.get('reason')!r} [{detail}]; {rej.get('reason')!r}")
        t = wait_depths(env, {1: 0, 3: 1, 4: 1}, "topology to show db3 at depth 1")
        check(t.get("epoch") == epoch0 and t.get("primary") == env.addr(1),
              f"epoch/primary changed: {t.get('epoch')} {t.get('primary')} (was {epoch0} {env.addr(1)})")
        check(env.failovers() == [], f"a repoint must not be a failover: {env.failovers()}")
        env.check_one_writable(1)

        def role_event():
            ev = [e for e in env.history().get("events") or [] if e.get("kind") == "role"
                  and e.get("instance") == env.addr(3) and (e.get("wall_ms") or 0) >= since]
            if not any(env.addr(2) in e.get("detail", "") and env.addr(1) in e.get("detail", "") for e in ev):
                raise NotYet(f"role events of db3: {ev}")
            return ev[0]
        step(f"history: {wait_for(role_event, 10, 'a role event of db3 from db2 to db1').get('detail')!r}")

        # ---------------------------------------------------------------- 3. it comes back
        step(f"{env.addr(2)} restarts")
        db.start(2)
        wait_for(lambda: env.replicates_from(2, 1), REPAIR_S, f"{env.addr(2)} to replicate from {env.addr(1)}")
        env.wait_caught_up(2, 1)
        env.wait_healthy(1, [2, 3, 4], timeout=20)
        check(depth_of(env, 3) == 1, "db3 was given back to db2")
        step("db2 replicates from db1 with every row; db3 stays under db1")

        # ---------------------------------------------------------------- 4. cut off, not dead
        db.change_master(3, 2)
        db.wait_replicating(3)
        wait_depths(env, {2: 1, 3: 2}, "db3 chained under db2 again")
        since = int(time.time() * 1000) - 1000
        step(f"controllers shut out of {env.addr(2)}; db3 still replicates from it")
        h = db.account_host
        db.sql(2, f"SET SESSION sql_log_bin=0; ALTER USER 'failoverd'@'{h}' ACCOUNT LOCK")
        for (cid,) in db.sql(2, "SELECT id FROM information_schema.processlist WHERE user='failoverd'"):
            db.sql(2, f"KILL CONNECTION {cid}")
        try:
            def all_down():
                x = env.by_address().get(env.addr(2)) or {}
                if x.get("health") != "down":
                    raise NotYet(f"db2: {x.get('health')}")
                return True
            wait_for(all_down, 15, "db2 to be down for the controllers")
            # An earlier one may say "down for 1/3 controllers" (the others had not seen it
            # yet); the one that matters is all controllers down while db3 still hears it.
            nc = env.wait_decision(lambda d: d.get("verdict") == "intermediate_not_confirmed"
                                   and d.get("instance") == env.addr(2) and "unreachable" in (d.get("reason") or ""),
                                   15, "an intermediate_not_confirmed decision about db2 with the detector's "
                                   "unreachable verdict (down for the controllers, its replica still hears it)",
                                   since_wall_ms=since)
            step(f"why: {nc.get('reason')!r}")
            t_end = time.monotonic() + HOLD_S
            while time.monotonic() < t_end:
                env.write_marker(1, f"cut-{time.monotonic()}")
                try:
                    env.replicates_from(3, 2)
                except NotYet as e:
                    raise TestFailure(f"db3 moved although db2 is alive: {e}") from e
                time.sleep(0.5)
            rj = [d for d in env.decisions() if d.get("verdict") == "rejoined" and (d.get("wall_ms") or 0) >= since]
            check(rj == [], f"repointed on an unconfirmed death: {rj}")
            step(f"for {HOLD_S:.0f} s db3 stayed with db2, which its IO thread still hears")
        finally:
            db.sql(2, f"SET SESSION sql_log_bin=0; ALTER USER 'failoverd'@'{h}' ACCOUNT UNLOCK")
        env.wait_caught_up(3, 1)

        # ---------------------------------------------------------------- 5. hung, not killed
        wait_depths(env, {2: 1, 3: 2}, "db3 under db2")
        env.wait_healthy(1, [2, 4], timeout=20)  # the controllers reach db2 again
        since = int(time.time() * 1000) - 1000
        step(f"SIGSTOP of {env.addr(2)}: db3's IO thread says Yes but hears nothing")
        t0 = time.monotonic()
        db.pause(2)
        try:
            writer(env, "hung", 5)
            wait_for(lambda: env.replicates_from(3, 1), REPAIR_S, f"{env.addr(3)} to replicate from {env.addr(1)}")
            hung_s = time.monotonic() - t0
            dead = env.wait_decision(lambda d: d.get("verdict") == "dead_intermediate"
                                     and d.get("instance") == env.addr(2), 5,
                                     "a dead_intermediate decision about the hung db2", since_wall_ms=since)
            check("no event or heartbeat" in (dead.get("detail") or ""),
                  f"the hung intermediate was not confirmed by db3's silence: {dead}")
            step(f"db3 repointed {hung_s:.1f} s after the SIGSTOP: {dead.get('detail')!r}")
        finally:
            db.resume(2)
        env.wait_caught_up(3, 1)
        env.wait_caught_up(2, 1)
        check(env.failovers() == [], f"no failover expected: {env.failovers()}")
        check(env.topo().get("epoch") == epoch0, "the epoch changed")


if __name__ == "__main__":
    sys.exit(run_test(main))
