#!/usr/bin/env python3
"""A replica left replicating from a cluster member that is no longer the primary (the
failover's repoint step could not reach it: its STOP SLAVE timed out) is repointed by
rejoin to the primary once no failover runs; a chain built on purpose, and a source
outside the cluster, are left alone (controller/act/rejoin.c).

Four servers, server 1 the primary. kill -9 server 1: failover epoch 1 to P; A and B
are the two others.
  1. A is set back to server 1 (dead) with both threads stopped, as a repoint that
     never reached it leaves it: within REPAIR_S it replicates from P again, has every
     row written on server 1 before the kill and on P after, and a `rejoined` decision
     names it and its old source.
  2. A chain on purpose: B replicates from A (a healthy replica of P). For HOLD_S it
     keeps doing so and receives P's new rows through A.
  3. Server 1 restarts and rejoins as a replica of P (a healthy replica now). B is set
     back to server 1 with both threads stopped: within REPAIR_S it replicates from P.
     (Before this change, server 1 being a replica made this look like a chain and B
     stayed IO=No SQL=No for good.)
  4. B is set to a source outside the cluster (a closed port) with threads stopped: for
     HOLD_S it is not repointed, and a `cannot_rejoin` decision says why.

Ports: mariadb 21700-21703; failoverd admin 21710+, raft 21730+, http 21750+."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, steps_line  # noqa: E402
from rig.mariadb import sql_quote  # noqa: E402
from rig.util import MissingPrerequisite, check, run_test, step, wait_for  # noqa: E402
from rig.writer import pymysql  # noqa: E402

DB_PORT = 21700
CTL_PORT = 21710
OUTSIDE_PORT = 21799  # nothing listens there
REPAIR_S = 10.0
HOLD_S = 8.0


def point_stopped(env, i, host, port, repaired_to=None):
    """Server i replicates from host:port with both threads stopped: what a failover
    whose repoint step never reached it (STOP SLAVE timed out) leaves behind. Where
    failoverd is expected to repair it, it may already have done so (repointed to port
    repaired_to) by the time the status is read."""
    pw = env.db.passwords["repl"]
    env.db.sql(i, f"STOP SLAVE; CHANGE MASTER TO MASTER_HOST={sql_quote(host)}, MASTER_PORT={port}, "
                  f"MASTER_USER='repl', MASTER_PASSWORD={sql_quote(pw)}, MASTER_USE_GTID=slave_pos, "
                  "MASTER_CONNECT_RETRY=1")
    st = env.db.slave_status(i)
    if repaired_to is not None and st is not None and st.get("Master_Port") == str(repaired_to):
        return
    check(st is not None and st.get("Slave_IO_Running") == "No" and st.get("Slave_SQL_Running") == "No"
          and st.get("Master_Port") == str(port), f"precondition: {env.server_state(i)}")


def rows(env, i):
    return env.db.scalar(i, "SELECT COUNT(*) FROM fotest.marks")


def repaired(env, i, p, old_addr, since, t0):
    wait_for(lambda: env.replicates_from(i, p), REPAIR_S,
             f"{env.addr(i)} (left pointing at {old_addr}) to be repointed to the primary {env.addr(p)}")
    took = time.monotonic() - t0
    check(took <= REPAIR_S, f"{env.addr(i)} was repointed {took:.1f}s after it was left on {old_addr}")
    d = env.wait_decision(lambda d: d.get("verdict") == "rejoined" and env.addr(i) in (d.get("reason") or "")
                          and old_addr in (d.get("reason") or ""), 10,
                          f"a rejoined decision naming {env.addr(i)} and its old source {old_addr}",
                          since_wall_ms=since)
    step(f"{env.addr(i)} repointed after {took:.1f}s: {d.get('reason')!r}")
    env.write_marker(p, f"after-repair-{i}-{int(since)}")
    env.wait_caught_up(i, p)
    check(rows(env, i) == rows(env, p), f"{env.addr(i)} has {rows(env, i)} rows, the primary {rows(env, p)}")


def hold(env, i, check_one, what):
    t_end = time.monotonic() + HOLD_S
    while time.monotonic() < t_end:
        check_one()
        time.sleep(0.5)
    step(f"{env.addr(i)}: {what} for {HOLD_S:.0f}s")


def main():
    if pymysql is None:
        raise MissingPrerequisite("python3-pymysql is not installed (deploy/install-deps.sh installs it)")
    with FailoverEnv(db_port=DB_PORT, ctl_port=CTL_PORT, n_db=4,
                     failover=dict(step_timeout_ms=5000, relay_wait_ms=5000)) as env:
        db = env.db
        env.wait_healthy(1, [2, 3, 4])
        for k in range(20):
            env.write_marker(1, f"before-{k}")
        db.sync_all()
        before = rows(env, 1)

        step(f"kill -9 primary {env.addr(1)}")
        db.kill9(1)
        f = env.failover(1, timeout=60)
        p = env.index(f["new_primary"])
        a, b = [i for i in (2, 3, 4) if i != p]
        step(f"failover: {steps_line(f)}; A={env.addr(a)} B={env.addr(b)}")
        env.wait_healthy(p, [a, b], timeout=20)
        check(rows(env, p) == before, f"the new primary has {rows(env, p)} rows, server 1 had {before}")

        # ---------------------------------------------------------------- 1. dead old source
        since = int(time.time() * 1000) - 1000
        step(f"{env.addr(a)}: back to the dead {env.addr(1)} with threads stopped")
        t0 = time.monotonic()
        point_stopped(env, a, db.servers[1].host, db.servers[1].port, repaired_to=db.servers[p].port)
        env.write_marker(p, "while-a-stopped")
        repaired(env, a, p, env.addr(1), since, t0)

        # ---------------------------------------------------------------- 2. chain on purpose
        step(f"chain on purpose: {env.addr(b)} replicates from {env.addr(a)}")
        db.change_master(b, a)
        wait_for(lambda: env.replicates_from(b, a), 10, f"{env.addr(b)} to replicate from {env.addr(a)}")
        env.write_marker(p, "through-the-chain")
        hold(env, b, lambda: env.replicates_from(b, a), f"still replicates from {env.addr(a)}")
        env.wait_caught_up(b, p)

        # ---------------------------------------------------------------- 3. rejoined old source
        step(f"restarting {env.addr(1)}: it rejoins as a replica of {env.addr(p)}")
        db.start(1)
        wait_for(lambda: env.replicates_from(1, p), 30, f"{env.addr(1)} to rejoin as a replica of {env.addr(p)}")
        env.wait_healthy(p, [1, a], timeout=20)
        since = int(time.time() * 1000) - 1000
        step(f"{env.addr(b)}: back to {env.addr(1)} (a healthy replica now) with threads stopped")
        t0 = time.monotonic()
        point_stopped(env, b, db.servers[1].host, db.servers[1].port, repaired_to=db.servers[p].port)
        env.write_marker(p, "while-b-stopped")
        repaired(env, b, p, env.addr(1), since, t0)

        # ---------------------------------------------------------------- 4. outside the cluster
        since = int(time.time() * 1000) - 1000
        outside = f"127.0.0.1:{OUTSIDE_PORT}"
        step(f"{env.addr(b)}: source {outside}, outside the cluster, threads stopped")
        point_stopped(env, b, "127.0.0.1", OUTSIDE_PORT)

        def still_outside():
            st = db.slave_status(b)
            check(st is not None and st.get("Master_Port") == str(OUTSIDE_PORT),
                  f"{env.addr(b)} with a source outside the cluster was repointed: {env.server_state(b)}")
        hold(env, b, still_outside, f"left replicating from {outside}")
        d = env.wait_decision(lambda d: d.get("verdict") == "cannot_rejoin" and outside in (d.get("reason") or ""),
                              5, f"a cannot_rejoin decision naming {outside}", since_wall_ms=since)
        step(f"noted: {d.get('reason')!r}")
        db.change_master(b, p)
        env.wait_healthy(p, [1, a, b], timeout=20)
        env.check_one_writable(p)
        check(len(env.failovers()) == 1, f"a rejoin must not be a failover: {env.failovers()}")


if __name__ == "__main__":
    sys.exit(run_test(main))
