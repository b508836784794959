#!/usr/bin/env python3
"""Followers send their verdicts to the leader over one persistent mutual-TLS
connection, not one connection per verdict (issue 10, item 5), and move it to the next
leader when the leader changes.

Three failoverd nodes and two mariadbd (primary 1, replica 2). Recoveries are disabled
and the primary is killed, so it stays the stored primary and both followers keep
sending DOWN verdicts (about one a second each). Over a 10 s window each follower must
have sent at least 5 verdicts while opening no per-call connection and at most one
leader connection (failoverd_admin_client_connects_total{kind}). Before this change
every verdict opened its own connection: 10 or so per window.

Then the leader is killed with kill -9: the surviving follower's verdicts must reach
the new leader (its failoverd_verdicts_received_total grows) over a new leader
connection.

Ports: mariadb 27900-27901; failoverd admin 27910+, raft 27930+, http 27950+."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("FO_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                                "tests"))
from rig.controllers import find_samples  # noqa: E402
from rig.failover import FailoverEnv  # noqa: E402
from rig.util import NotYet, check, run_test, step, wait_for  # noqa: E402

WINDOW_S = 10.0


def counters(env, node):
    text = env.c.metrics(node)
    out = {"leader": 0.0, "per_call": 0.0}
    for s in find_samples(text, "failoverd_admin_client_connects_total"):
        out[s.labels.get("kind")] = s.value
    vs = find_samples(text, "failoverd_verdicts_sent_total")
    out["sent"] = vs[0].value if vs else 0.0
    vr = find_samples(text, "failoverd_verdicts_received_total")
    out["received"] = vr[0].value if vr else 0.0
    return out


def main():
    with FailoverEnv(db_port=27900, ctl_port=27910, n_db=2, log_level="info") as env:
        env.wait_healthy(1, [2])
        env.c.ctl_write(["recoveries", "disable"])
        leader = env.c.wait_leader(20)
        followers = [i for i in (1, 2, 3) if i != leader]
        env.db.kill9(1)
        step(f"primary killed (recoveries disabled); leader {leader}, followers {followers}")

        def sending():
            c = {f: counters(env, f) for f in followers}
            if any(c[f]["sent"] < 2 for f in followers):
                raise NotYet(f"followers have not sent verdicts yet: {c}")
            return c
        before = wait_for(sending, 20, "both followers sending verdicts")
        time.sleep(WINDOW_S)
        after = {f: counters(env, f) for f in followers}
        for f in followers:
            d = {k: after[f][k] - before[f][k] for k in after[f]}
            step(f"follower {f} over {WINDOW_S:.0f} s: {d['sent']:g} verdicts, leader connects {d['leader']:g}, "
                 f"per-call connects {d['per_call']:g}")
            check(d["sent"] >= 5, f"follower {f} sent only {d['sent']:g} verdicts in {WINDOW_S} s")
            check(d["per_call"] == 0, f"follower {f} opened {d['per_call']:g} per-call connections for verdicts")
            check(d["leader"] <= 1, f"follower {f} opened {d['leader']:g} leader connections in one window")

        env.c.kill9(leader)
        step(f"leader {leader} killed")
        new = env.c.wait_leader(20, exclude=(leader,))
        other = [f for f in followers if f != new][0]
        base_conn = counters(env, other)["leader"]
        base_recv = counters(env, new)["received"]

        def delivered():
            o, n = counters(env, other), counters(env, new)
            if n["received"] - base_recv < 3:
                raise NotYet(f"new leader {new} received {n['received'] - base_recv:g} verdicts")
            return o, n
        o, n = wait_for(delivered, 20, f"verdicts of node {other} reaching the new leader {new}")
        step(f"new leader {new}: {n['received'] - base_recv:g} verdicts received; node {other} leader connects "
             f"{base_conn:g} -> {o['leader']:g}")
        check(o["leader"] - base_conn <= 2, f"node {other} reconnected {o['leader'] - base_conn:g} times")
        check(o["per_call"] == after[other]["per_call"], f"node {other} fell back to per-call connections")


if __name__ == "__main__":
    sys.exit(run_test(main))
