#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) into build-fuzz/ with clang and
# runs each for a while over a copy of its seed corpus.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
#   SECONDS   per target (default 20); TARGET: frame, gtid, ... (default: all)
#   First every checked-in crash input (tests/fuzz/regress/TARGET/*) is replayed: each
#   is a bug found and fixed, and must stay fixed. Then each target runs SECONDS over
#   a copy of tests/fuzz/corpus/TARGET/ (build-fuzz/fuzz-work/TARGET/; the checked-in
#   corpus is never written). Prints a table (target, execs, execs/s, new corpus units,
#   crashes) and the line "N passed, N failed, N skipped".
#   Exit status non-zero on any crash, leak, timeout (a hang: -timeout) or OOM; the
#   input that caused it is saved in build-fuzz/fuzz-artifacts/ and the log in
#   build-fuzz/fuzz-logs/TARGET.log (its last lines are printed).
#   A target that cannot run here (agent_rpc, admin_rpc need root for a private network
#   namespace) exits 77 and is reported as skipped; with FO_REQUIRE_ALL=1, or under CI
#   (CI=1 or CI=true), a skip fails the run.
#
# Environment: FUZZ_JOBS targets at once (default: 2, or 1 on a single core);
# FUZZ_BUILD build directory (default build-fuzz); FUZZ_KEEP_CORPUS=1 keeps the grown
# corpus in $FUZZ_BUILD/fuzz-corpus/TARGET/ across runs (bench/fuzz); FUZZ_ARGS extra
# libFuzzer flags. Long runs: bench/fuzz --seconds 600.
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/../.."

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }

seconds=20
targets=()
for a in "$@"; do
    case "$a" in
        -h|--help) usage; exit 0 ;;
        *[!0-9]*) targets+=("${a#fuzz_}") ;;
        *) seconds=$a ;;
    esac
done
[ "$seconds" -ge 1 ] || { echo "tests/fuzz/run.sh: SECONDS must be at least 1" >&2; exit 2; }

all=()
for f in tests/fuzz/fuzz_*.c; do
    n=$(basename "$f" .c)
    all+=("${n#fuzz_}")
done
if [ ${#targets[@]} -eq 0 ]; then
    targets=("${all[@]}")
fi
for t in "${targets[@]}"; do
    [ -f "tests/fuzz/fuzz_$t.c" ] || { echo "tests/fuzz/run.sh: no target '$t' (have: ${all[*]})" >&2; exit 2; }
done

if [ -n "${FO_REQUIRE_ALL:-}" ]; then
    require_all=$FO_REQUIRE_ALL
elif [ "${CI:-}" = 1 ] || [ "${CI:-}" = true ]; then
    require_all=1
else
    require_all=0
fi

build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-$(($(nproc) >= 2 ? 2 : 1))}
command -v clang >/dev/null || { echo "tests/fuzz/run.sh: clang is not installed (apt-get install clang)" >&2; exit 1; }

# Configure once (clang, FO_FUZZ), then build only the fuzz targets: incremental, so a
# second run costs seconds.
t0=$(date +%s)
if [ ! -f "$build/CMakeCache.txt" ] || ! grep -q '^FO_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
    CC=clang cmake -S . -B "$build" -DFO_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.configure.log" 2>&1 || {
        cat "$build.configure.log"
        echo "tests/fuzz/run.sh: configuring $build failed"
        exit 1
    }
else
    cmake -S . -B "$build" >/dev/null
fi
bins=()
for t in "${targets[@]}"; do bins+=("fuzz_$t"); done
cmake --build "$build" -j"$(nproc)" --target "${bins[@]}" >"$build/fuzz-build.log" 2>&1 || {
    tail -40 "$build/fuzz-build.log"
    echo "tests/fuzz/run.sh: building the fuzz targets failed (log: $build/fuzz-build.log)"
    exit 1
}
echo "tests/fuzz/run.sh: built ${#bins[@]} target(s) in $(($(date +%s) - t0)) s; $seconds s each, $jobs at a time"

artifacts=$build/fuzz-artifacts
logs=$build/fuzz-logs
mkdir -p "$artifacts" "$logs"
# libFuzzer's own exit codes, kept apart from 77 (a target's "cannot run here").
lf_common=(-error_exitcode=86 -timeout_exitcode=87 -timeout=30 -rss_limit_mb=2560 -print_final_stats=1)

# Replays the checked-in crash inputs of target $1: returns 0 when none fails.
replay() {
    local t=$1 dir="tests/fuzz/regress/$1" rc=0
    [ -d "$dir" ] || return 0
    ls "$dir"/* >/dev/null 2>&1 || return 0
    "$build/fuzz/fuzz_$t" "${lf_common[@]}" -artifact_prefix="$artifacts/$t-regress-" "$dir"/* \
        >"$logs/$t.regress.log" 2>&1 || rc=$?
    return $rc
}

# Runs target $1 for $seconds; writes "execs execs_per_s new crashes status" to
# $logs/$1.result.
run_one() {
    local t=$1 work rc=0 execs eps new crashes status
    if [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ]; then
        work=$build/fuzz-corpus/$t
    else
        work=$build/fuzz-work/$t
        rm -rf "$work"
    fi
    mkdir -p "$work"
    cp -n "tests/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
    if ! replay "$t"; then
        tail -30 "$logs/$t.regress.log" >&2
        echo "- - - 1 regress" >"$logs/$t.result"
        return
    fi
    # shellcheck disable=SC2086
    "$build/fuzz/fuzz_$t" "${lf_common[@]}" -max_total_time="$seconds" -artifact_prefix="$artifacts/$t-" \
        ${FUZZ_ARGS:-} "$work" >"$logs/$t.log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t.log" | tail -1)
    new=$(sed -n 's/^stat::new_units_added: *//p' "$logs/$t.log" | tail -1)
    case $rc in
        0) crashes=0; status=ok ;;
        77) crashes=0; status=skipped ;;
        87) crashes=1; status=timeout ;;
        *) crashes=1
           if grep -q 'out-of-memory' "$logs/$t.log"; then status=oom
           elif grep -q 'LeakSanitizer' "$logs/$t.log"; then status=leak
           else status=crash; fi ;;
    esac
    echo "${execs:--} ${eps:--} ${new:--} $crashes $status" >"$logs/$t.result"
}

# A pool of $jobs runs.
pids=()
for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 0.2; done
    rm -f "$logs/$t.result"
    run_one "$t" &
    pids+=($!)
done
wait "${pids[@]}" 2>/dev/null || true

passed=0 failed=0 skipped=0
printf '\n%-14s %12s %10s %10s %8s  %s\n' target execs execs/s new_units crashes status
for t in "${targets[@]}"; do
    read -r execs eps new crashes status <"$logs/$t.result" || { execs=- eps=- new=- crashes=1 status=error; }
    printf '%-14s %12s %10s %10s %8s  %s\n' "$t" "$execs" "$eps" "$new" "$crashes" "$status"
    case $status in
        ok) passed=$((passed + 1)) ;;
        skipped) skipped=$((skipped + 1)) ;;
        *) failed=$((failed + 1)) ;;
    esac
done
echo
for t in "${targets[@]}"; do
    read -r _ _ _ _ status <"$logs/$t.result" || status=error
    case $status in
        ok) ;;
        skipped) echo "tests/fuzz/run.sh: skipped $t: $(grep -m1 'not running' "$logs/$t.log" || echo 'exit 77')" ;;
        regress)
            echo "tests/fuzz/run.sh: $t: a checked-in crash input (tests/fuzz/regress/$t/) fails again;" \
                "log: $logs/$t.regress.log" ;;
        *)
            echo "tests/fuzz/run.sh: $t: $status; input saved as $(ls -t "$artifacts/$t-"* 2>/dev/null | head -1)" \
                "(replay: $build/fuzz/fuzz_$t FILE); log: $logs/$t.log"
            grep -E 'ERROR|invariant failed|SUMMARY|^ +#[0-9]+ ' "$logs/$t.log" | head -25 | sed 's/^/    /' ;;
    esac
done
bad=0
[ "$failed" -eq 0 ] || bad=1
if [ "$skipped" -gt 0 ] && [ "$require_all" = 1 ]; then
    echo "tests/fuzz/run.sh: FAIL: $skipped target(s) skipped, and FO_REQUIRE_ALL=1 (CI) requires every target to run"
    bad=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $bad
