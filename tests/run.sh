#!/usr/bin/env bash
# Builds failoverd and runs every test: unit tests (tests/unit/test_*.c) and
# integration tests against real mariadbd (tests/integration/test_*.py), via ctest.
#
#   ./tests/run.sh          deps; unit tests under ASan+UBSan (build-asan/); then build
#                           into build/ and run all tests
#   ./tests/run.sh --asan   deps, ASan+UBSan build into build-asan/, unit tests only
#   Every build is made with -DFO_WERROR=ON (warnings are errors here, not by default),
#   and the full run also builds as packagers do: Release (gcc -O3) into build-release/
#   and clang into build-clang/, warning-free (FO_PACKAGER_BUILDS=0 skips them).
#   Then a subset of the integration tests runs against the ASan daemons
#   (tests/asan-integration.sh; FO_ASAN_INTEGRATION=0 skips it), and the libFuzzer
#   targets for FO_FUZZ_SECONDS each (tests/fuzz/run.sh; default 20, 0 skips them).
#   --build DIR, --asan-build DIR   build directories other than build/, build-asan/
#   -- ARGS...              passed to every ctest run (e.g. -- -R 'test_prom|test_vip$';
#                           the ASan stage adds -L unit, so it keeps to unit tests)
#
# A test whose prerequisite is missing (no mariadbd, no network namespaces, no
# promtool...) exits 77 and is reported as skipped, never as passed (STYLE.md §19).
# FO_REQUIRE_ALL=1 makes any skipped test fail the run, with a line naming the
# skipped tests; it defaults to on when CI=1 (or CI=true), and .ci/run sets it.
# FO_REQUIRE_ALL=0 turns it off even under CI. The last line printed is a summary CI
# can read: "N passed, N failed, N skipped" (after ctest's own report). Run as root:
# the dependencies are installed with apt (deploy/install-deps.sh, idempotent) and the
# integration tests start mariadbd --user=root. As another user the script goes on
# only if the tools are already there.
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; }

asan=0
build=build
asan_build=build-asan
ctest_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --asan) asan=1 ;;
        --build) [ $# -ge 2 ] || { echo "tests/run.sh: --build needs a directory" >&2; exit 2; }; build=$2; shift ;;
        --asan-build) [ $# -ge 2 ] || { echo "tests/run.sh: --asan-build needs a directory" >&2; exit 2; }; asan_build=$2; shift ;;
        --) shift; ctest_args=("$@"); break ;;
        -h|--help) usage; exit 0 ;;
        *) echo "tests/run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

# Whether a skipped test fails the run: FO_REQUIRE_ALL if set, else on under CI.
if [ -n "${FO_REQUIRE_ALL:-}" ]; then
    case "$FO_REQUIRE_ALL" in
        1) require_all=1 ;;
        0) require_all=0 ;;
        *) echo "tests/run.sh: FO_REQUIRE_ALL must be 0 or 1, not '$FO_REQUIRE_ALL'" >&2; exit 2 ;;
    esac
elif [ "${CI:-}" = 1 ] || [ "${CI:-}" = true ]; then
    require_all=1
else
    require_all=0
fi

if [ "$(id -u)" -eq 0 ]; then
    ./deploy/install-deps.sh
else
    missing=()
    for t in cmake pkg-config protoc-c cc python3; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    pkg-config --atleast-version=0.22 raft 2>/dev/null || missing+=("libraft-dev>=0.22")
    if [ ${#missing[@]} -gt 0 ]; then
        echo "tests/run.sh: not root, and missing: ${missing[*]} (run deploy/install-deps.sh as root)" >&2
        exit 1
    fi
    echo "tests/run.sh: not root; skipping deploy/install-deps.sh (dependencies present)" >&2
fi

# Reads ctest's JUnit report ($1) and prints: each skipped test with the reason it
# gave, the tests that failed, the FO_REQUIRE_ALL verdict, $2 (a hint) on failure,
# and last the summary line "N passed, N failed, N skipped". Exit status 0 only if
# nothing failed and, with FO_REQUIRE_ALL=1, nothing was skipped. ctest reports a
# test it could not start ("Not Run") as skipped in JUnit too; only SKIP_RETURN_CODE
# makes a skip here, anything else not run is a failure.
summarize() {
    python3 - "$1" "$require_all" "$2" <<'PY'
import sys
import xml.etree.ElementTree as ET

path, require_all, hint = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
try:
    cases = ET.parse(path).getroot().iter("testcase")
except (OSError, ET.ParseError) as e:
    print(f"tests/run.sh: no ctest report ({path}: {e})")
    if hint:
        print(hint)
    print("0 passed, 1 failed, 0 skipped")
    sys.exit(1)
passed, failed, skipped = [], [], []
for c in cases:
    name, status = c.get("name"), c.get("status")
    sk = c.find("skipped")
    if status == "run":
        passed.append(name)
    elif status == "notrun" and sk is not None and sk.get("message", "").startswith("SKIP_RETURN_CODE"):
        out = c.findtext("system-out") or ""
        why = [ln.strip() for ln in out.splitlines() if "SKIP" in ln]
        skipped.append((name, "; ".join(why) or "no reason printed"))
    else:
        failed.append(name)
for name, why in skipped:
    print(f"tests/run.sh: skipped {name}: {why}")
if failed:
    print(f"tests/run.sh: failed: {', '.join(failed)}")
bad = bool(failed) or not (passed or skipped)
if skipped and require_all:
    names = ", ".join(n for n, _ in skipped)
    print(f"tests/run.sh: FAIL: {len(skipped)} test(s) skipped, and FO_REQUIRE_ALL=1 (CI) requires every "
          f"test to run: {names}")
    bad = True
elif skipped:
    print(f"tests/run.sh: {len(skipped)} test(s) skipped: a skip is not a pass "
          f"(FO_REQUIRE_ALL=1, set under CI, makes it fail the run)")
if bad and hint:
    print(hint)
print(f"{len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")
sys.exit(1 if bad else 0)
PY
}

# Runs ctest in build dir $1 (extra ctest arguments after $2, the failure hint), then
# summarize; returns non-zero if ctest or the summary says the run failed.
run_ctest() {
    local dir=$1 hint=$2 junit rc=0
    shift 2
    junit="$(readlink -f "$dir")/ctest-junit.xml"
    rm -f "$junit"
    ctest --test-dir "$dir" --output-on-failure --no-tests=error --output-junit "$junit" "$@" || rc=$?
    echo
    summarize "$junit" "$hint" || return 1
    # ctest failed for a reason the report does not show (e.g. it could not run at all).
    [ "$rc" -eq 0 ] || { echo "tests/run.sh: ctest exited $rc"; echo "0 passed, 1 failed, 0 skipped"; return 1; }
}

# The sanitizer build (STYLE.md §15): unit tests under ASan + UBSan. In the default
# run it goes first, so that the last line printed is the full suite's summary.
run_asan_units() {
    cmake -S . -B "$asan_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFO_ASAN=ON -DFO_WERROR=ON >/dev/null
    cmake --build "$asan_build" -j2 >/dev/null
    ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        run_ctest "$asan_build" "tests/run.sh: unit tests failed under ASan/UBSan (rerun: ./tests/run.sh --asan)" \
        -L '^unit$' ${ctest_args[@]+"${ctest_args[@]}"}
}

if [ "$asan" = 1 ]; then
    echo "== unit tests under AddressSanitizer + UBSan ($asan_build/)"
    run_asan_units
    exit $?
fi

echo "== unit tests under AddressSanitizer + UBSan ($asan_build/)"
run_asan_units || exit 1
# A subset of the integration tests against ASan+UBSan builds of the daemons (issue 12):
# any sanitizer report, leaks at a clean exit included, fails the run. Skipped when
# ctest arguments select tests, or with FO_ASAN_INTEGRATION=0.
if [ "${FO_ASAN_INTEGRATION:-1}" != 0 ] && [ ${#ctest_args[@]} -eq 0 ]; then
    echo "== integration subset under ASan + UBSan ($asan_build/)"
    ./tests/asan-integration.sh --build "$asan_build" || exit 1
fi
# Packagers' builds (issue 10): a Release build with gcc (-O3 finds uninitialised paths
# the default build does not) and a clang build, both with warnings as errors.
if [ "${FO_PACKAGER_BUILDS:-1}" != 0 ]; then
    echo "== packager builds: Release with gcc (build-release/), clang (build-clang/)"
    cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DFO_WERROR=ON >/dev/null
    cmake --build build-release -j2 >/dev/null || { echo "tests/run.sh: the Release (gcc -O3) build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
    CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFO_WERROR=ON >/dev/null
    cmake --build build-clang -j2 >/dev/null || { echo "tests/run.sh: the clang build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
fi
# libFuzzer targets (issue 12): clang build into build-fuzz/, the saved crash inputs
# replayed, then each target for FO_FUZZ_SECONDS (default 20) over its seeds; any crash,
# leak, timeout or OOM fails the run. FO_FUZZ_SECONDS=0 skips it; so do ctest arguments.
if [ "${FO_FUZZ_SECONDS:-20}" != 0 ] && [ ${#ctest_args[@]} -eq 0 ]; then
    echo "== fuzz targets, ${FO_FUZZ_SECONDS:-20} s each (build-fuzz/)"
    ./tests/fuzz/run.sh "${FO_FUZZ_SECONDS:-20}" || { echo "tests/run.sh: a fuzz target failed (see above)"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
fi
echo "== full suite ($build/)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFO_WERROR=ON
cmake --build "$build" -j2
run_ctest "$build" "tests/run.sh: the full suite failed" ${ctest_args[@]+"${ctest_args[@]}"}
