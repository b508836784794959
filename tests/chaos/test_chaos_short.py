#!/usr/bin/env python3
"""The chaos suite's short schedule (issue 12): 16 seeded random faults under load
through the writer VIP; fails on any lost write, split brain, false failover, stuck
failover or bad end state (rig.chaos_check).

Hosts in network namespaces (addresses in 10.241.73.0/24 that exist only inside them):
db1..db3 (mariadbd, semi-sync AFTER_SYNC, failover-agent), c1..c3 (failoverd), cli
(a writer of unique ids and sysbench oltp_write_only, through the VIP 10.241.73.100).
The seed is fixed (SEED) so CI runs the same schedule; FO_CHAOS_SEED=N runs another
(the seed is printed: any run can be replayed), FO_CHAOS_FAULTS=N another length.
Ports (inside the namespaces): mariadb 30700; failoverd admin 30710+, raft 30730+,
http 30750+; agents 7201, agent http 9601. Budget: <= 6 min on 2 cores.
Skipped (exit 77) only when network namespaces, sysbench or PyMySQL are missing."""

import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rig.chaos_run import run_schedule  # noqa: E402
from rig.netns import skip_unless_available as skip_unless_netns  # noqa: E402
from rig.util import MissingPrerequisite, TestFailure, run_test  # noqa: E402
from rig.writer import pymysql  # noqa: E402

SEED = 20261207
FAULTS = 16
SUBNET = "10.241.73"
DB_PORT = 30700
CTL_PORT = 30710


def main():
    if pymysql is None:
        raise MissingPrerequisite("python3-pymysql is not installed")
    if shutil.which("sysbench") is None:
        raise MissingPrerequisite("sysbench is not installed (Debian package sysbench)")
    seed = int(os.environ.get("FO_CHAOS_SEED") or SEED)
    faults = int(os.environ.get("FO_CHAOS_FAULTS") or FAULTS)
    rc = run_schedule(seed, faults, SUBNET, DB_PORT, CTL_PORT)
    if rc != 0:
        raise TestFailure(f"the checker found violations (seed {seed}; see the table above)")


if __name__ == "__main__":
    skip_unless_netns("test_chaos_short")  # exit 77: a skip, never a pass
    sys.exit(run_test(main))
