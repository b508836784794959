#!/usr/bin/env bash
# Installs every Debian package that failoverd's build, tests and quickstart need.
# Idempotent: safe to run any number of times. Must run as root on Debian 12.
#
# libraft must be 0.22.x from bookworm-backports (bookworm's own 0.15.0 has a
# commit-safety bug; DESIGN.md §3). The backports source entry is derived from the
# machine's existing Debian apt configuration: same URIs and keyring, suite changed.
set -euo pipefail

PKGS_BUILD=(build-essential cmake pkg-config libuv1-dev libmariadb-dev libsqlite3-dev
    libprotobuf-c-dev protobuf-c-compiler libssl-dev libinih-dev libmicrohttpd-dev
    libmnl-dev libsystemd-dev)
PKGS_TEST=(mariadb-server mariadb-client prometheus sysbench iproute2 sqlite3
    procps curl openssl python3 python3-pymysql clang clang-format bash-completion
    keepalived haproxy chromium lintian debhelper dpkg-dev fakeroot)

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get install)"
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] || log "warning: expected Debian 12 (bookworm), found ${VERSION_CODENAME:-unknown}"

BP_FILE=/etc/apt/sources.list.d/failoverd-backports.sources

# Prints "URI KEYRING" of the first Debian main-archive entry carrying the bookworm suite.
find_debian_entry() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        [ "$f" = "$BP_FILE" ] && continue
        awk -v RS= '
            /(^|\n)Suites:[^\n]*(^|[ \t])bookworm([ \t]|\n|$)/ && /(^|\n)Types:[^\n]*deb([ \t]|\n|$)/ {
                uri=""; key="";
                n=split($0, L, "\n");
                for (i=1;i<=n;i++) {
                    if (L[i] ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", L[i]); split(L[i], U, /[ \t]+/); uri=U[1] }
                    if (L[i] ~ /^Signed-By:/) { sub(/^Signed-By:[ \t]*/, "", L[i]); key=L[i] }
                }
                if (uri != "") { print uri, key; exit }
            }' "$f" && return 0
    done
    # One-line format: "deb [opts] URI bookworm main ..."
    local line
    line=$(grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | grep -E '[[:space:]]bookworm[[:space:]]' | head -n1 || true)
    if [ -n "$line" ]; then
        line=$(sed -E 's/\[[^]]*\]//' <<<"$line")
        awk '{print $2, ""}' <<<"$line"
        return 0
    fi
    return 1
}

enable_backports() {
    if apt-cache policy 2>/dev/null | grep -q 'bookworm-backports'; then
        return 0
    fi
    local entry uri key
    entry=$(find_debian_entry | head -n1) || true
    [ -n "$entry" ] || die "no Debian bookworm entry found in /etc/apt to derive bookworm-backports from"
    uri=${entry%% *}
    key=${entry#* }
    [ -n "$uri" ] || die "could not read the archive URI from the apt configuration"
    log "enabling bookworm-backports (derived from the existing Debian source entry)"
    {
        echo "Types: deb"
        echo "URIs: $uri"
        echo "Suites: bookworm-backports"
        echo "Components: main"
        [ -n "$key" ] && [ "$key" != "$uri" ] && echo "Signed-By: $key"
    } > "$BP_FILE"
    NEED_UPDATE=1
}

NEED_UPDATE=0
enable_backports
stamp=/var/lib/apt/periodic/failoverd-update-stamp
if [ "$NEED_UPDATE" = 1 ] || [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +720 2>/dev/null)" ]; then
    apt-get update -q >/dev/null || die "apt-get update failed"
    mkdir -p "$(dirname "$stamp")"; touch "$stamp"
fi

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${PKGS_BUILD[@]}" "${PKGS_TEST[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install failed for: ${missing[*]}"
fi

# libraft from backports, explicitly (never bookworm's 0.15.0).
have=$(dpkg-query -W -f='${Version}' libraft-dev 2>/dev/null || true)
if ! dpkg --compare-versions "${have:-0}" ge 0.22; then
    log "installing libraft-dev from bookworm-backports"
    apt-get install -y -q --no-install-recommends -t bookworm-backports libraft-dev >/dev/null \
        || die "could not install libraft-dev from bookworm-backports"
fi
have=$(dpkg-query -W -f='${Version}' libraft-dev 2>/dev/null || true)
dpkg --compare-versions "${have:-0}" ge 0.22 \
    || die "libraft-dev ${have:-missing} is older than 0.22 (need 0.22.1 from bookworm-backports)"

# The mariadb-server package starts a system mariadbd; our rig runs its own instances
# on their own ports and does not need it, but leaves it alone if the admin uses it.
log "ok (libraft-dev $have)"
