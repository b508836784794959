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
# What runs (on this machine's loopback, state and logs under .quickstart/ in the repo):
#   MariaDB  127.0.0.1:33061 primary, 127.0.0.2:33062 and 127.0.0.3:33063 GTID
#            replicas of it: each server has its own 127.0.0.N, as if on its own
#            host (.quickstart/mariadb/m<N>/, started by tests/rig/mariadb.py)
#   failover-agent per server, on that server's address: 127.0.0.N:7201 (the
#            cluster's agent_port), /metrics on 127.0.0.N:9601, fencing its own
#            mysqld; no VIP (vip-demo shows one)
#            (.quickstart/agents/a<N>/agent.conf and agent.log, tests/rig/agents.py)
#   failoverd nodes 1-3: admin 127.0.0.1:7001-7003, raft :7101-7103, HTTP :9501-9503
#            (.quickstart/failoverd/n<N>/failoverd.conf and failoverd.log)
#   cluster `demo` = the three MariaDB servers, declared in the configs; the
#   controller's MySQL password is in .quickstart/mariadb/failoverd.password.
#   mutual TLS on the admin and agent RPCs: a CA and certificates made by
#            deploy/gen-certs.sh in .quickstart/tls/ (ctl1-3 for the controllers,
#            db1-3 for the agents, admin for failoverctl).
#   replication: the servers' `repl` account is registered as the cluster's repl_user
#            (password in .quickstart/mariadb/repl.password), so a former primary is
#            pointed at the new one after a switchover or failover and replicates again.
# Pids are in .quickstart/pids. Starting while it already runs only prints the status.
# A start after a stop begins afresh (the old .quickstart/ is removed).
#
# Environment (tests run a second quickstart beside a user's; defaults in brackets):
#   QUICKSTART_DIR         state, logs and pids                     [.quickstart]
#   QUICKSTART_DB_PORT     first MariaDB port, the next two follow  [33061]
#   QUICKSTART_ADMIN_PORT / QUICKSTART_RAFT_PORT / QUICKSTART_HTTP_PORT
#                          first port of each, for nodes 1-3        [7001 / 7101 / 9501]
#   QUICKSTART_AGENT_PORT / QUICKSTART_AGENT_HTTP_PORT
#                          the agents' ports, on every 127.0.0.N    [7201 / 9601]
#   QUICKSTART_BUILD_DIR   where the three programs are             [build]
#   QUICKSTART_NO_BUILD=1  use that build as it is: no package install, no cmake
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
QS=$(readlink -m "${QUICKSTART_DIR:-$ROOT/.quickstart}")
PIDS=$QS/pids
BUILD=$(readlink -m "${QUICKSTART_BUILD_DIR:-$ROOT/build}")
CTL=$BUILD/bin/failoverctl
TLS=$QS/tls
DB_PORT=${QUICKSTART_DB_PORT:-33061}
ADMIN_PORT=${QUICKSTART_ADMIN_PORT:-7001}
RAFT_PORT=${QUICKSTART_RAFT_PORT:-7101}
HTTP_PORT=${QUICKSTART_HTTP_PORT:-9501}
AGENT_PORT=${QUICKSTART_AGENT_PORT:-7201}
AGENT_HTTP_PORT=${QUICKSTART_AGENT_HTTP_PORT:-9601}
for v in DB_PORT ADMIN_PORT RAFT_PORT HTTP_PORT AGENT_PORT AGENT_HTTP_PORT; do
    case "${!v}" in ''|*[!0-9]*) printf 'quickstart: error: QUICKSTART_%s=%s is not a port\n' "$v" "${!v}" >&2; exit 2 ;; esac
    [ "${!v}" -ge 1 ] && [ "${!v}" -le 65533 ] || { printf 'quickstart: error: QUICKSTART_%s=%s is out of range (1..65533)\n' "$v" "${!v}" >&2; exit 2; }
done
ADMIN=("127.0.0.1:$ADMIN_PORT" "127.0.0.1:$((ADMIN_PORT + 1))" "127.0.0.1:$((ADMIN_PORT + 2))")
export PYTHONPATH=$ROOT/tests${PYTHONPATH:+:$PYTHONPATH}
export FO_BUILD_DIR=$BUILD

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
    echo "Agents: failover-agent on 127.0.0.1-3:$AGENT_PORT, one per server, fence it in a failover"
    echo "Logs: $QS/failoverd/n*/failoverd.log, $QS/agents/a*/agent.log, $QS/mariadb/m*/error.log"
    echo "TLS:  export FAILOVERCTL_CA=$TLS/ca.crt FAILOVERCTL_CERT=$TLS/admin.crt FAILOVERCTL_KEY=$TLS/admin.key"
    echo "Try:  $CTL --controller $c switchover demo; $CTL --controller $c history demo"
    echo "      curl -s http://127.0.0.1:$HTTP_PORT/metrics; curl -s http://127.0.0.1:$AGENT_HTTP_PORT/metrics"
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
    # Controllers first (so they do not react to the databases going away), then the
    # agents, then MariaDB.
    while read -r name pid; do
        case "$name" in failoverd*) stop_pid "$name" "$pid" ;; esac
    done <<<"$procs"
    while read -r name pid; do
        case "$name" in agent*) stop_pid "$name" "$pid" ;; esac
    done <<<"$procs"
    while read -r name pid; do
        case "$name" in failoverd* | agent*) ;; *) stop_pid "$name" "$pid" ;; esac
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

# Fails (showing its log) if a recorded failoverd or failover-agent has exited.
dead_node() {
    local name pid log
    while read -r name pid; do
        case "$name" in
            failoverd*) log=$QS/failoverd/n${name#failoverd}/failoverd.log ;;
            agent*) log=$QS/agents/a${name#agent}/agent.log ;;
            *) continue ;;
        esac
        if ! ours "$pid"; then
            say "$name (pid $pid) exited; tail of $log:"
            tail -n 20 "$log" >&2 || true
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
    if [ "${QUICKSTART_NO_BUILD:-}" = 1 ]; then
        local b
        for b in failoverd failover-agent failoverctl; do
            [ -x "$BUILD/bin/$b" ] || die "QUICKSTART_NO_BUILD=1 but $BUILD/bin has no $b"
        done
    else
        ./deploy/install-deps.sh
        say "building into $BUILD/"
        cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
        cmake --build "$BUILD" -j2 >/dev/null || die "build failed (cmake --build $BUILD shows why)"
    fi

    rm -rf "$QS"
    mkdir -p "$QS"
    : > "$PIDS"
    trap 'say "start failed; stopping what was started"; cmd_stop' ERR

    # Server N on 127.0.0.N: its agent listens there at the one agent_port, as on a host
    # of its own (failoverd reaches an instance's agent at the instance's host).
    local db1=127.0.0.1:$DB_PORT db2=127.0.0.2:$((DB_PORT + 1)) db3=127.0.0.3:$((DB_PORT + 2))
    say "starting MariaDB $db1 (primary), $db2, $db3 (replicas; replication account repl)"
    python3 -m rig.mariadb start --dir "$QS/mariadb" --servers 3 --base-port "$DB_PORT" --loopback-hosts \
        > "$QS/mariadb.out"
    awk '{print $1, $2}' "$QS/mariadb.out" >> "$PIDS"
    sed 's/^/  /' "$QS/mariadb.out" >&2
    [ "$(awk '{print $3}' "$QS/mariadb.out" | tr '\n' ' ')" = "$db1 $db2 $db3 " ] ||
        { cmd_stop; die "MariaDB is not at $db1 $db2 $db3 (see $QS/mariadb.out)"; }

    say "making a CA and certificates in $TLS (deploy/gen-certs.sh)"
    ./deploy/gen-certs.sh --out "$TLS" controller:ctl1,127.0.0.1,node=1 controller:ctl2,127.0.0.1,node=2 \
        controller:ctl3,127.0.0.1,node=3 agent:db1,127.0.0.1 agent:db2,127.0.0.2 agent:db3,127.0.0.3 \
        client:admin | sed 's/^/  /' >&2

    say "starting a failover-agent per server (127.0.0.1-3:$AGENT_PORT, /metrics :$AGENT_HTTP_PORT)"
    python3 -m rig.agents start --dir "$QS/agents" --cluster demo --tls-dir "$TLS" \
        --port "$AGENT_PORT" --http-port "$AGENT_HTTP_PORT" \
        --user failoverd --password-file "$QS/mariadb/failoverd.password" \
        --instance "$db1" --instance "$db2" --instance "$db3" > "$QS/agents.out"
    awk '{print $1, $2}' "$QS/agents.out" >> "$PIDS"
    sed 's/^/  /' "$QS/agents.out" >&2

    say "starting failoverd nodes 1-3 (admin :$ADMIN_PORT-$((ADMIN_PORT + 2)) with mutual TLS," \
        "raft :$RAFT_PORT-$((RAFT_PORT + 2)), http :$HTTP_PORT-$((HTTP_PORT + 2)))"
    python3 -m rig.controllers start --dir "$QS/failoverd" --nodes 3 --tls-dir "$TLS" \
        --admin-base "$ADMIN_PORT" --raft-base "$RAFT_PORT" --http-base "$HTTP_PORT" \
        --cluster demo --user failoverd --password-file "$QS/mariadb/failoverd.password" \
        --repl-user repl --repl-password-file "$QS/mariadb/repl.password" --agent-port "$AGENT_PORT" \
        --instance "$db1" --instance "$db2" --instance "$db3" > "$QS/failoverd.out"
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
    -h|--help) sed -n '2,42p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$1' (start | stop | status | vip-demo)" ;;
esac
