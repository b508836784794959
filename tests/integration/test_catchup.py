#!/usr/bin/env python3
"""Catch up before promote (issue 13 item 2, docs/catch-up.md).

Real mariadbd, asynchronous replication (semi-sync off), no failover-agent (the old
primary's binlog cannot be salvaged: the test isolates the catch-up). Server 1 is the
primary, server 2 has the promotion rule `prefer`, server 3 none.

  A. Catch-up. Server 2's IO thread is stopped while the primary takes N separate
     transactions; server 3 receives them all, so it is the most advanced replica.
     kill -9 of the primary. Expected: server 2 (the rule's choice) first replicates
     from server 3 until it has everything, then is promoted; every row server 3 had
     is on server 2; server 3 replicates from server 2; GTIDs agree; history (the
     end's detail) and `why` (a "catch_up" decision) say "caught up from <3> in N ms".
     Before catch-up existed, server 3 was promoted (the preference lost).
  B. Fallback. The same, but server 3 refuses the replication account (dropped there
     with sql_log_bin=0), so the catch-up cannot start replicating. Expected: server 3
     (the most advanced) is promoted, the detail and `why` ("catch_up_fell_back") say
     why (the IO thread's error), no row is lost; once the account is back, server 2
     replicates from server 3 and GTIDs agree.

Ports: A mariadb 30100-30102, failoverd admin 30110+, raft 30130+, http 30150+;
B mariadb 30160-30162, failoverd admin 30115+, raft 30135+, http 30155+."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.failover import FailoverEnv, short, steps_line  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402
from rig.writer import create_table, ids_on  # noqa: E402

N = 300          # transactions server 2 misses
PREFER = 2       # rule prefer, behind
AHEAD = 3        # the most advanced replica
FAILOVER = dict(step_timeout_ms=5000, relay_wait_ms=8000)


def write_rows(db, i, first, n):
    """n separate autocommit INSERTs on server i (n transactions, n GTIDs)."""
    db.sql(i, " ".join(f"INSERT INTO fotest.w (id, server_id) VALUES ({k}, @@server_id);"
                       for k in range(first, first + n)))
    return set(range(first, first + n))


def decision(env, verdict):
    """The newest `why` decision with this verdict, or None."""
    for d in env.why().get("decisions") or []:
        if d.get("verdict") == verdict:
            return d
    return None


def prepare(env, first):
    """Primary 1 takes N transactions that server 3 receives and server 2 does not;
    returns every row the primary acknowledged."""
    db = env.db
    env.wait_healthy(1, [PREFER, AHEAD], timeout=60)
    create_table(db, 1)
    db.sync_all()
    db.sql(PREFER, "STOP SLAVE IO_THREAD")
    behind = db.scalar(PREFER, "SELECT @@gtid_current_pos")
    rows = write_rows(db, 1, first, N) | ids_on(db, 1)
    db.sync(AHEAD)
    check(ids_on(db, AHEAD) == rows, f"{env.addr(AHEAD)} lacks rows before the kill")
    check(db.scalar(PREFER, "SELECT @@gtid_current_pos") == behind, f"{env.addr(PREFER)} received writes")
    step(f"{N} transactions on {env.addr(1)} ({db.scalar(1, 'SELECT @@gtid_binlog_pos')}): "
         f"{env.addr(AHEAD)} has them, {env.addr(PREFER)} (prefer) stays at {behind}")
    return rows


def kill_and_wait(env):
    t0 = time.monotonic()
    env.db.kill9(1)
    f = env.failover(1, timeout=60)
    step(f"failover done {time.monotonic() - t0:.2f}s after kill -9: {steps_line(f)}")
    step(f"detail: {str(f.get('detail'))[:600]}")
    return f


def agree(env, primary, replica, tag):
    env.write_marker(primary, tag)
    wait_for(lambda: env.replicates_from(replica, primary), 30,
             f"{env.addr(replica)} to replicate from {env.addr(primary)}")
    env.wait_caught_up(replica, primary, timeout=30)
    a = env.db.scalar(primary, "SELECT @@gtid_binlog_pos")
    b = env.db.scalar(replica, "SELECT @@gtid_binlog_pos")
    check(a == b, f"gtid_binlog_pos differ: {env.addr(primary)} {a}, {env.addr(replica)} {b}")
    return a


def scenario_catch_up():
    with FailoverEnv(db_port=30100, ctl_port=30110, n_db=3, rules={PREFER: "prefer"}, failover=FAILOVER) as env:
        db = env.db
        rows = prepare(env, 1000)
        f = kill_and_wait(env)
        new = env.index(f.get("new_primary"))
        check(new == PREFER, f"{f.get('new_primary')} promoted, expected {env.addr(PREFER)} (rule prefer, caught "
                             f"up from {env.addr(AHEAD)}): {short(f)}")
        env.check_record(f, 1, "auto", old=1, new=PREFER)
        detail = str(f.get("detail"))
        check(f"caught up from {env.addr(AHEAD)} in " in detail and f"({N} transactions" in detail,
              f"history does not record the catch-up source, time and count: {detail}")
        missing = rows - ids_on(db, PREFER)
        check(not missing, f"{len(missing)} rows missing on the new primary: {sorted(missing)[:10]}")
        check(not env.read_only(PREFER), f"{env.addr(PREFER)} is read-only: {env.server_state(PREFER)}")
        pos = agree(env, PREFER, AHEAD, "after-catch-up")
        env.check_one_writable(PREFER)
        d = decision(env, "catch_up")
        check(d is not None and f"caught up from {env.addr(AHEAD)}" in str(d.get("reason")),
              f"`why` has no catch_up decision: {short(env.why(), 2000)}")
        step(f"A: {env.addr(PREFER)} (prefer) caught up from {env.addr(AHEAD)}, promoted with all {len(rows)} rows; "
             f"{env.addr(AHEAD)} replicates from it; GTIDs agree ({pos})")


def scenario_fallback():
    with FailoverEnv(db_port=30160, ctl_port=30115, n_db=3, rules={PREFER: "prefer"}, failover=FAILOVER) as env:
        db = env.db
        rows = prepare(env, 5000)
        h = db.account_host
        db.sql(AHEAD, f"SET SESSION sql_log_bin=0; DROP USER 'repl'@'{h}'")
        step(f"{env.addr(AHEAD)} refuses the replication account (dropped there only)")
        f = kill_and_wait(env)
        new = env.index(f.get("new_primary"))
        check(new == AHEAD, f"{f.get('new_primary')} promoted, expected the fallback {env.addr(AHEAD)}: {short(f)}")
        env.check_record(f, 1, "auto", old=1, new=AHEAD)
        detail = str(f.get("detail"))
        want = f"catch-up of {env.addr(PREFER)} from {env.addr(AHEAD)} failed after "
        check(want in detail and "IO thread error" in detail and f"fell back to {env.addr(AHEAD)}" in detail,
              f"history does not say why the catch-up failed: {detail}")
        d = decision(env, "catch_up_fell_back")
        check(d is not None and "IO thread error" in str(d.get("reason")),
              f"`why` has no catch_up_fell_back decision: {short(env.why(), 2000)}")
        missing = rows - ids_on(db, AHEAD)
        check(not missing, f"{len(missing)} rows missing on the new primary: {sorted(missing)[:10]}")
        db.sql(AHEAD, " ".join([
            "SET SESSION sql_log_bin=0;",
            f"CREATE USER 'repl'@'{h}' IDENTIFIED BY '{db.passwords['repl']}';",
            f"GRANT REPLICATION SLAVE ON *.* TO 'repl'@'{h}';"]))
        pos = agree(env, AHEAD, PREFER, "after-fallback")
        check(ids_on(db, PREFER) >= rows, f"{env.addr(PREFER)} lacks rows after replicating from the new primary")
        env.check_one_writable(AHEAD)
        step(f"B: catch-up refused -> {env.addr(AHEAD)} promoted, `why` says why; no row lost; "
             f"{env.addr(PREFER)} replicates from it; GTIDs agree ({pos})")


def main():
    scenario_catch_up()
    scenario_fallback()


if __name__ == "__main__":
    sys.exit(run_test(main))
