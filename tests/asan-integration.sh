#!/usr/bin/env bash
# Integration tests against daemons built with AddressSanitizer + UBSan (issue 12):
# failoverd, failover-agent and failoverctl from an FO_ASAN build, real mariadbd.
#
#   tests/asan-integration.sh                 the CI subset (below), about 5 min on 2 cores
#   tests/asan-integration.sh test_vip ...    these tests instead (names without .py)
#   tests/asan-integration.sh --all           every tests/integration/test_*.py (long)
#   --build DIR    the ASan build directory (default build-asan, as tests/run.sh;
#                  configured and built here if its binaries are missing or stale)
#   --no-build     use the binaries already in DIR (they must be ASan builds)
#   --list         print the CI subset and exit
#
# Every report is fatal and visible: ASan and LeakSanitizer write to files (log_path)
# in DIR/asan-integration/<test>/; each daemon stops at its first error (halt_on_error;
# UBSan is built -fno-sanitize-recover); LeakSanitizer checks every clean exit (the
# rigs stop daemons with SIGTERM; a SIGKILLed process is not checked); the rigs keep
# their directories (FO_KEEP_RIG) until searched, so that UBSan's reports, which gcc's
# runtime writes to the daemon's stderr whatever log_path says, are found in its log.
# The run fails if any report appears, whether or not the test itself passed. Reports
# are printed and copied to <test>/reports/.
#
# A test that exits 77 (a missing prerequisite) is a skip, never a pass; with
# FO_REQUIRE_ALL=1 (default under CI=1) a skip fails the run. The last line is
# "N passed, N failed, N skipped", preceded by each test's time.
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."

# The CI subset: the daemons' main paths in under 5 min of a 2-core machine under
# ASan (seconds per test in brackets, ASan daemons, measured 2026-12-07 while other
# benchmarks loaded the machine; 263 s in all): a kill -9 failover with fencing,
# choice, promotion and repointing (failover_kill 14); a hung primary (failover_hung
# 18); a planned switchover (switchover 23); a failover a new leader resumes
# (failover_resume 18); a former primary rejoining (rejoin 29); the agent's RPCs,
# netlink VIP, leases and local fencing (agent 25, vip 22, lease_lapse 21); the admin
# RPC over mutual TLS with refused peers (admin_tls 11); secrets and MySQL TLS
# (mysql_tls 3); raft over TLS against a hostile peer (raft_hostile 16); forged
# controller verdicts (forged_verdict 24); connection and frame floods on every
# listener (floods 39). The other integration tests take paths these already take,
# or minutes (failover_resume_steps alone: 84 s under ASan): --all runs them.
SUBSET=(
    test_failover_kill
    test_failover_hung
    test_switchover
    test_failover_resume
    test_rejoin
    test_agent
    test_vip
    test_lease_lapse
    test_admin_tls
    test_mysql_tls
    test_raft_hostile
    test_forged_verdict
    test_floods
)

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }

build="build-asan"
tests=()
all=0
do_build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --build) [ $# -ge 2 ] || { echo "asan-integration: --build needs a directory" >&2; exit 2; }; build=$2; shift ;;
        --all) all=1 ;;
        --no-build) do_build=0 ;;
        --list) printf '%s\n' "${SUBSET[@]}"; exit 0 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "asan-integration: unknown option '$1' (try --help)" >&2; exit 2 ;;
        *) tests+=("${1%.py}") ;;
    esac
    shift
done
if [ "$all" = 1 ]; then
    [ ${#tests[@]} -eq 0 ] || { echo "asan-integration: --all takes no test names" >&2; exit 2; }
    for f in tests/integration/test_*.py; do tests+=("$(basename "$f" .py)"); done
elif [ ${#tests[@]} -eq 0 ]; then
    tests=("${SUBSET[@]}")
fi
for t in "${tests[@]}"; do
    [ -f "tests/integration/$t.py" ] || { echo "asan-integration: no tests/integration/$t.py" >&2; exit 2; }
done

if [ -n "${FO_REQUIRE_ALL:-}" ]; then
    require_all=$FO_REQUIRE_ALL
elif [ "${CI:-}" = 1 ] || [ "${CI:-}" = true ]; then
    require_all=1
else
    require_all=0
fi

# The build: configured with FO_ASAN=ON if it is not already (a cache without it
# would give uninstrumented daemons and a run that proves nothing), then brought up
# to date (make does nothing if it is).
if [ "$do_build" = 1 ]; then
    if ! grep -q '^FO_ASAN:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
        echo "== configuring $build/ with -DFO_ASAN=ON"
        cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFO_ASAN=ON -DFO_WERROR=ON >/dev/null
    fi
    echo "== building failoverd, failover-agent, failoverctl in $build/ (ASan + UBSan)"
    cmake --build "$build" -j2 --target failoverd failover-agent failoverctl >/dev/null
fi
for b in failoverd failover-agent failoverctl; do
    # grep without -q reads all of nm's output: with -q, nm could die of SIGPIPE
    # and pipefail would call an instrumented binary uninstrumented.
    if ! nm -D "$build/bin/$b" 2>/dev/null | grep '__asan_init' >/dev/null; then
        echo "asan-integration: $build/bin/$b is not built with AddressSanitizer" >&2
        exit 1
    fi
done

# Debian's python3 first, as CMakeLists.txt picks it for ctest: its python3-pymysql is
# the one deploy/install-deps.sh installs.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)

logroot=$(readlink -f "$build")/asan-integration
rm -rf "$logroot"
mkdir -p "$logroot"
src=$(pwd)
# What a sanitizer prints. gcc's combined ASan+UBSan runtime writes UBSan's reports to
# the process's stderr whatever log_path says, so the daemons' logs are searched too.
markers='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error: |UndefinedBehaviorSanitizer'

# The rigs' directories a test kept (FO_KEEP_RIG): they announce each one as
# "rig: keeping DIR (FO_KEEP_RIG)". Only fo-* directories directly in a temp dir.
kept_dirs() {
    sed -n 's|^rig: keeping \(/[^ ]*/fo-[a-z]*-[A-Za-z0-9_]*\) (FO_KEEP_RIG)$|\1|p' "$1" | sort -u
}

# Sanitizer reports of the test whose files are in $1: report files (log_path), and
# the test's output or a kept daemon log with a sanitizer's marker. One path a line.
find_reports() {
    find "$1" -type f \( -name 'asan.*' -o -name 'ubsan.*' \) | sort
    grep -lIE "$markers" "$1/test.log" || true
    kept_dirs "$1/test.log" | while IFS= read -r k; do
        if [ -d "$k" ]; then
            grep -rlIE --exclude-dir=data --exclude-dir=template "$markers" "$k" 2>/dev/null || true
        fi
    done | sort
}

passed=() failed=() skipped=() times=()
for t in "${tests[@]}"; do
    dir=$logroot/$t
    mkdir -p "$dir"
    echo "== $t"
    start=$(date +%s)
    rc=0
    # Every option that makes a report fatal and leaves it in $dir: the daemons
    # inherit the environment (also through `ip netns exec`). With FO_KEEP_RIG the
    # rigs keep their directories (the daemons' logs, where UBSan reports land);
    # removed below once searched.
    FO_SOURCE_DIR=$src FO_BUILD_DIR=$(readlink -f "$build") PYTHONPATH=$src/tests FO_KEEP_RIG=1 \
    ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:log_path=$dir/asan" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$dir/ubsan" \
    LSAN_OPTIONS="report_objects=1" \
        timeout 900 "$py" "tests/integration/$t.py" >"$dir/test.log" 2>&1 || rc=$?
    secs=$(( $(date +%s) - start ))
    times+=("$(printf '%5d s  %s' "$secs" "$t")")
    reports=$(find_reports "$dir")
    if [ -n "$reports" ]; then
        echo "asan-integration: $t: sanitizer report(s) (test exit $rc):"
        mkdir -p "$dir/reports"
        n=0
        while IFS= read -r r; do
            n=$((n + 1))
            cp "$r" "$dir/reports/$(echo "${r#/}" | tr / _)"
            # The first few in full; one leak in a command run a hundred times would
            # otherwise bury the summary.
            [ "$n" -le 5 ] || continue
            echo "----- $r"
            grep -E -B2 -A40 "$markers" "$r" | head -200
        done <<<"$reports"
        [ "$n" -le 5 ] || echo "----- and $((n - 5)) more, all copied to $dir/reports/"
        failed+=("$t")
    elif [ "$rc" -eq 0 ]; then
        passed+=("$t")
    elif [ "$rc" -eq 77 ]; then
        skipped+=("$t")
        grep -h 'SKIP' "$dir/test.log" | tail -3 || true
    else
        echo "asan-integration: $t failed (exit $rc); last lines of $dir/test.log:"
        tail -60 "$dir/test.log"
        failed+=("$t")
    fi
    # The kept rigs hold datadirs (hundreds of MB): the reports were copied above.
    kept_dirs "$dir/test.log" | while IFS= read -r k; do rm -rf "$k"; done
    echo "   $t: exit $rc, ${secs} s"
done

echo
echo "== times (ASan + UBSan daemons)"
printf '%s\n' "${times[@]}"
bad=0
[ ${#failed[@]} -eq 0 ] || { echo "asan-integration: failed: ${failed[*]} (logs and reports in $logroot/)"; bad=1; }
if [ ${#skipped[@]} -gt 0 ]; then
    if [ "$require_all" = 1 ]; then
        echo "asan-integration: FAIL: skipped, and FO_REQUIRE_ALL=1 requires every test to run: ${skipped[*]}"
        bad=1
    else
        echo "asan-integration: skipped (a skip is not a pass): ${skipped[*]}"
    fi
fi
echo "${#passed[@]} passed, ${#failed[@]} failed, ${#skipped[@]} skipped"
exit $bad
