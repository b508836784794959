#!/usr/bin/env bash
# Builds failoverd and runs every test: unit tests (tests/unit/test_*.c) and
# integration tests against real mariadbd (tests/integration/test_*.py), via ctest.
#
#   ./tests/run.sh          deps; unit tests under ASan+UBSan (build-asan/); then build
#                           into build/ and run all tests
#   ./tests/run.sh --asan   deps, ASan+UBSan build into build-asan/, unit tests only
#
# ctest's summary is the last thing printed (CI reads it). Run as root: the
# dependencies are installed with apt (deploy/install-deps.sh, idempotent) and the
# integration tests start mariadbd --user=root. As another user the script goes on
# only if the tools are already there.
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."

asan=0
for arg in "$@"; do
    case "$arg" in
        --asan) asan=1 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "tests/run.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

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

# The sanitizer build (STYLE.md §15): unit tests under ASan + UBSan. In the default
# run it goes first, so that the last line printed is the full suite's ctest summary.
run_asan_units() {
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFO_ASAN=ON >/dev/null
    cmake --build build-asan -j2 >/dev/null
    ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        ctest --test-dir build-asan --output-on-failure -R '^unit/' "$@"
}

if [ "$asan" = 1 ]; then
    run_asan_units
    exit $?
fi

echo "== unit tests under AddressSanitizer + UBSan (build-asan/)"
run_asan_units || { echo "tests/run.sh: unit tests failed under ASan/UBSan (rerun: ./tests/run.sh --asan)" >&2; exit 1; }
echo "== full suite (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j2
exec ctest --test-dir build --output-on-failure
