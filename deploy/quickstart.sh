#!/usr/bin/env bash
# failoverd quickstart: a complete local demo on one machine, as root.
#
#   ./deploy/quickstart.sh          install deps, build, start everything, show it
#   ./deploy/quickstart.sh status   show `failoverctl status` and `topology demo` again
#   ./deploy/quickstart.sh stop     stop every process the quickstart started (by pid)
#   ./deploy/quickstart.sh vip-demo the writer VIP moving on failover, in network
#                                   namespaces (tests/rig/vipdemo.py): builds hosts
#                                   db1-3 (mariadbd + failover-agent), c1-c3 (failoverd),
#                                   cli; kills the primary; shows where the VIP went;
#                                   removes everything again (about 30 s)
#
# What runs (all on 127.0.0.1, state and logs under .quickstart/ in the repo):
#   MariaDB  :33061 primary, :33062 and :33063 GTID replicas of it
#            (.quickstart/mariadb/m<N>/, started by tests/rig/mariadb.py)
#   failoverd nodes 1-3: admin :7001-7003, raft :7101-7103, HTTP :9501-9503
#            (.quickstart/failoverd/n<N>/failoverd.conf and failoverd.log)
#   cluster `demo` = the three MariaDB servers, declared in the configs; the
#   controller's MySQL password is in .quickstart/mariadb/failoverd.password.
#   mutual TLS on the admin RPC: a CA and certificates made by deploy/gen-certs.sh in
#            .quickstart/tls/ (ctl1-3 for the controllers, admin for failoverctl).
# Pids are in .quickstart/pids. Starting while it already runs only prints the status.
# A start after a stop begins afresh (the old .quickstart/ is removed).
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
QS=$ROOT/.quickstart
PIDS=$QS/pids
CTL=$ROOT/build/bin/failoverctl
TLS=$QS/tls
ADMIN=(127.0.0.1:7001 127.0.0.1:7002 127.0.0.1:7003)
export PYTHONPATH=$ROOT/tests${PYTHONPATH:+:$PYTHONPATH}

say() { printf 'quickstart: %s\n' "$*" >&2; }
die() { printf 'quickstart: error: %s\n' "$*" >&2; exit 1; }

# True if pid is alive and is one of ours (its command line mentions .quickstart/),
# so a recycled pid is never signalled.
ours() {
    local pid=$1
    [ -r "/proc/$pid/cmdline" ] || return 1
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF "$QS/"
}

# Prints "name pid" for every recorded process that is still running.
running() {
    [ -f "$PIDS" ] || return 0
    local name pid
    while read -r name pid; do
        [ -n "${pid:-}" ] && ours "$pid" && echo "$name $pid"
    done < "$PIDS"
    return 0
}

# failoverctl with the quickstart's client certificate (options beat any FAILOVERCTL_*
# variables of the caller's environment).
ctl() {
    "$CTL" --ca "$TLS/ca.crt" --cert "$TLS/admin.crt" --key "$TLS/admin.key" "$@"
}

# First admin address that answers, for failoverctl.
controller() {
    local a
    for a in "${ADMIN[@]}"; do
        if ctl --controller "$a" --timeout 1000 status >/dev/null 2>&1; then echo "$a"; return 0; fi
    done
    echo "${ADMIN[0]}"
}

show() {
    [ -x "$CTL" ] || die "$CTL is missing (run ./deploy/quickstart.sh to build)"
    local c rc=0
    c=$(controller)
    echo "== failoverctl --controller $c status"
    ctl --controller "$c" status || rc=$?
    echo
    echo "== failoverctl --controller $c topology demo"
    ctl --controller "$c" topology demo || rc=$?
    echo
    echo "Logs: $QS/failoverd/n*/failoverd.log, $QS/mariadb/m*/error.log"
    echo "TLS:  export FAILOVERCTL_CA=$TLS/ca.crt FAILOVERCTL_CERT=$TLS/admin.crt FAILOVERCTL_KEY=$TLS/admin.key"
    echo "Try:  $CTL --controller $c history demo; curl -s http://127.0.0.1:9501/metrics"
    echo "VIP:  ./deploy/quickstart.sh vip-demo   (the writer VIP moving on failover, in network namespaces)"
    echo "Stop: ./deploy/quickstart.sh stop"
    return $rc
}

stop_pid() { # name pid
    local name=$1 pid=$2 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 600; i++)); do # 60 s
        ours "$pid" || { say "stopped $name (pid $pid)"; return 0; }
        sleep 0.1
    done
    say "$name (pid $pid) did not stop within 60 s of SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}

cmd_stop() {
    local procs name pid
    procs=$(running)
    if [ -z "$procs" ]; then
        say "nothing running"
        rm -f "$PIDS"
        return 0
    fi
    # Controllers first (so they do not react to the databases going away), then MariaDB.
    while read -r name pid; do
        case "$name" in failoverd*) stop_pid "$name" "$pid" ;; esac
    done <<<"$procs"
    while read -r name pid; do
        case "$name" in failoverd*) ;; *) stop_pid "$name" "$pid" ;; esac
    done <<<"$procs"
    rm -f "$PIDS"
    say "stopped (state and logs kept in $QS until the next start)"
}

cmd_status() {
    if [ -z "$(running)" ]; then
        say "not running (start it with ./deploy/quickstart.sh)"
        return 1
    fi
    running | sed 's/^/running: /'
    echo
    show
}

# Fails (showing its log) if a recorded failoverd has exited.
dead_node() {
    local name pid
    while read -r name pid; do
        case "$name" in failoverd*) ;; *) continue ;; esac
        if ! ours "$pid"; then
            say "$name (pid $pid) exited; tail of $QS/failoverd/n${name#failoverd}/failoverd.log:"
            tail -n 20 "$QS/failoverd/n${name#failoverd}/failoverd.log" >&2 || true
            return 1
        fi
    done < "$PIDS"
    return 0
}

# Waits (deadline) until all three demo instances are health=up in the topology.
wait_topology() {
    local deadline=$((SECONDS + 60)) c out
    c=$(controller)
    while :; do
        out=$(ctl --controller "$c" --json topology demo 2>&1 || true)
        if python3 -c '
import json, sys
t = json.loads(sys.argv[1])
ups = [i for i in t.get("instances", []) if i.get("health") == "up"]
sys.exit(0 if len(ups) == 3 else 1)' "$out" 2>/dev/null; then
            return 0
        fi
        dead_node || return 1
        if [ $SECONDS -ge $deadline ]; then
            say "the topology did not show three healthy instances within 60 s; last answer:"
            printf '%s\n' "$out" >&2
            return 1
        fi
        sleep 0.2
        c=$(controller)
    done
}

cmd_start() {
    [ "$(id -u)" -eq 0 ] || die "run as root (installs packages; mariadbd runs with --user=root)"
    if [ -n "$(running)" ]; then
        say "already running:"
        running | sed 's/^/  /' >&2
        echo
        show
        return 0
    fi
    ./deploy/install-deps.sh
    say "building into build/"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j2 >/dev/null || die "build failed (cmake --build build shows why)"

    rm -rf "$QS"
    mkdir -p "$QS"
    : > "$PIDS"
    trap 'say "start failed; stopping what was started"; cmd_stop' ERR

    say "starting MariaDB 127.0.0.1:33061 (primary), :33062, :33063 (replicas)"
    python3 -m rig.mariadb start --dir "$QS/mariadb" --servers 3 --base-port 33061 > "$QS/mariadb.out"
    awk '{print $1, $2}' "$QS/mariadb.out" >> "$PIDS"
    sed 's/^/  /' "$QS/mariadb.out" >&2

    say "making a CA and certificates in $TLS (deploy/gen-certs.sh)"
    ./deploy/gen-certs.sh --out "$TLS" controller:ctl1,127.0.0.1,node=1 controller:ctl2,127.0.0.1,node=2 \
        controller:ctl3,127.0.0.1,node=3 client:admin | sed 's/^/  /' >&2

    say "starting failoverd nodes 1-3 (admin :7001-7003 with mutual TLS, raft :7101-7103, http :9501-9503)"
    python3 -m rig.controllers start --dir "$QS/failoverd" --nodes 3 --tls-dir "$TLS" \
        --admin-base 7001 --raft-base 7101 --http-base 9501 \
        --cluster demo --user failoverd --password-file "$QS/mariadb/failoverd.password" \
        --instance 127.0.0.1:33061 --instance 127.0.0.1:33062 --instance 127.0.0.1:33063 \
        > "$QS/failoverd.out"
    awk '{print $1, $2}' "$QS/failoverd.out" >> "$PIDS"
    sed 's/^/  /' "$QS/failoverd.out" >&2

    say "waiting for the controllers to see all three instances up"
    wait_topology
    trap - ERR
    echo
    show
}

# The VIP needs hosts with their own interfaces: the demo makes them as network
# namespaces (10.231.0.0/24 exists only inside them) and deletes them at the end,
# so the machine's own network is never touched.
cmd_vip_demo() {
    [ "$(id -u)" -eq 0 ] || die "run as root (network namespaces; mariadbd runs with --user=root)"
    ./deploy/install-deps.sh
    say "building into build/"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j2 >/dev/null || die "build failed (cmake --build build shows why)"
    FO_BUILD_DIR=$ROOT/build python3 -m rig.vipdemo
}

case "${1:-start}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    vip-demo) cmd_vip_demo ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$1' (start | stop | status | vip-demo)" ;;
esac
