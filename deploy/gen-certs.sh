#!/bin/sh
# Makes the cluster CA and one certificate per host or user for failoverd's mutual TLS
# (controller admin RPC, failover-agent RPC, failoverctl), with the openssl CLI.
#
# The role travels in the certificate subject's OU (controller, agent, client): an agent
# accepts only controller certificates, a controller's admin RPC accepts client (and
# controller) certificates. A controller's node id (its [failoverd] node_id, the raft
# id) travels in a subjectAltName URI failoverd://node/ID (common/tls.h, "Node ids"):
# the leader accepts a verdict or a proposal only from the node its certificate names.
# Run `gen-certs.sh --help` for usage.
set -eu

prog=$(basename "$0")
days=825
ca_days=3650
renew_days=30
out=""

usage() {
    cat <<EOF
Usage: $prog --out DIR [--days N] ROLE:NAME[,IP_OR_DNS...][,node=ID] ...

Creates DIR/ca.crt and DIR/ca.key (an EC P-256 CA, valid $ca_days days) unless they
exist, and for each entry DIR/NAME.crt and DIR/NAME.key: an EC P-256 key and a
certificate signed by that CA with subject CN=NAME, OU=ROLE and the listed IP
addresses or DNS names as subjectAltName. Key files are mode 0600.

  ROLE        controller, agent or client
  NAME        letters, digits, '.', '_' and '-' (the file name and the CN)
  IP_OR_DNS   an IPv4/IPv6 address or a DNS name the host is reached at; servers
              (controller, agent) need one, or peers cannot verify them
  node=ID     controller only: the node id ([failoverd] node_id, 1 or more) the
              certificate binds, as subjectAltName URI failoverd://node/ID. The
              leader refuses verdicts, proposals and member notes from a controller
              certificate without one, and failoverd refuses to start with a
              certificate naming another id than its node_id
  --days N    validity of the host certificates (default $days)

Idempotent: a certificate that already exists, is signed by DIR/ca.crt, matches its
key, has the requested subject and names and is valid for more than $renew_days days
is kept; otherwise it is made again (its key is reused if it is a valid key).

Example:
  $prog --out /etc/failoverd/tls controller:ctl1,10.231.0.2,node=1 \\
      agent:db1,10.231.0.11 agent:db2,10.231.0.12 client:admin
EOF
}

die() {
    echo "$prog: $*" >&2
    exit 1
}

need_arg() {
    [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"
}

# ---------------------------------------------------------------- arguments

entries=""
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --out) need_arg "$@"; out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    --days) need_arg "$@"; days=$2; shift 2 ;;
    --days=*) days=${1#--days=}; shift ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) entries="$entries $1"; shift ;;
    esac
done
for e in "$@"; do entries="$entries $e"; done

[ -n "$out" ] || die "--out DIR is required (see --help)"
case "$days" in
'' | *[!0-9]*) die "--days must be a positive number of days, not '$days'" ;;
esac
[ "$days" -ge 1 ] && [ "$days" -le 36500 ] || die "--days must be between 1 and 36500, not $days"
[ -n "$entries" ] || die "no ROLE:NAME entries given (see --help)"
command -v openssl >/dev/null 2>&1 || die "the openssl command is not installed"

# ---------------------------------------------------------------- validation

valid_name() {
    case "$1" in
    '' | .* | -* | *[!A-Za-z0-9._-]*) return 1 ;;
    esac
    [ ${#1} -le 64 ]
}

is_ipv4() {
    printf '%s\n' "$1" | grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}$' || return 1
    old_ifs=$IFS
    IFS=.
    # shellcheck disable=SC2086
    set -- $1
    IFS=$old_ifs
    for o in "$@"; do [ "$o" -le 255 ] || return 1; done
}

is_ipv6() {
    case "$1" in *:*) ;; *) return 1 ;; esac
    printf '%s\n' "$1" | grep -Eq '^[0-9A-Fa-f:.]+$'
}

is_dns() {
    [ ${#1} -le 253 ] || return 1
    printf '%s\n' "$1" | grep -Eq '^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$'
}

# Prints the subjectAltName value (IP:a,DNS:b) for a comma-separated list; dies on a
# bad entry.
san_value() {
    spec=$1
    list=$2
    san=""
    old_ifs=$IFS
    IFS=,
    # shellcheck disable=SC2086
    set -- $list
    IFS=$old_ifs
    nodes=0
    for a in "$@"; do
        if [ "${a#node=}" != "$a" ]; then
            id=${a#node=}
            # Decimal without a leading zero: the one spelling failoverd accepts.
            case "$id" in
            '' | 0* | *[!0-9]*) die "'$spec': node=$id must be a node id, a number from 1 without leading zeros" ;;
            esac
            [ ${#id} -le 19 ] || die "'$spec': node=$id is too large"
            [ "${spec%%:*}" = controller ] || die "'$spec': node=ID is for controller certificates only"
            nodes=$((nodes + 1))
            [ "$nodes" -eq 1 ] || die "'$spec': node=ID is given twice"
            san="${san:+$san,}URI:failoverd://node/$id"
            continue
        fi
        if is_ipv4 "$a" || is_ipv6 "$a"; then
            item="IP:$a"
        elif printf '%s\n' "$a" | grep -Eq '^[0-9.]+$'; then
            die "'$spec': '$a' is not a valid IPv4 address"
        elif is_dns "$a"; then
            item="DNS:$a"
        else
            die "'$spec': '$a' is neither an IP address nor a DNS name"
        fi
        san="${san:+$san,}$item"
    done
    printf '%s' "$san"
}

# Checks every entry before anything is written, so a typo in the last one does not
# leave a half-made set behind.
seen=" "
for e in $entries; do
    case "$e" in *:*) ;; *) die "'$e': expected ROLE:NAME[,IP_OR_DNS...]" ;; esac
    role=${e%%:*}
    rest=${e#*:}
    name=${rest%%,*}
    case "$role" in controller | agent | client) ;; *) die "'$e': role must be controller, agent or client, not '$role'" ;; esac
    valid_name "$name" || die "'$e': NAME '$name' must be 1-64 letters, digits, '.', '_' or '-', not starting with '.' or '-'"
    [ "$name" != ca ] || die "'$e': NAME 'ca' is reserved for the CA files"
    case "$seen" in *" $name "*) die "'$e': NAME '$name' is given twice" ;; esac
    seen="$seen$name "
    if [ "$rest" != "$name" ]; then
        san_value "$e" "${rest#*,}" >/dev/null
    fi
done

# ---------------------------------------------------------------- output directory

if [ ! -d "$out" ]; then
    mkdir -p "$out" || die "cannot create directory $out"
fi
[ -w "$out" ] || die "directory $out is not writable"
umask 077
tmp=$(mktemp -d "$out/.gen-certs.XXXXXX") || die "cannot create a temporary directory in $out"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

ossl() {
    if ! openssl "$@" >"$tmp/openssl.log" 2>&1; then
        cat "$tmp/openssl.log" >&2
        die "openssl $1 failed (see above)"
    fi
}

new_key() {
    ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
    chmod 0600 "$1"
}

# A random positive 127-bit serial, so no serial file is needed.
serial() {
    printf '0x%s' "$(openssl rand -hex 16 | sed 's/^./7/')"
}

pubkey_of_cert() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null; }
pubkey_of_key() { openssl pkey -in "$1" -pubout 2>/dev/null; }

# ---------------------------------------------------------------- the CA

ca_crt="$out/ca.crt"
ca_key="$out/ca.key"
if [ -f "$ca_crt" ] || [ -f "$ca_key" ]; then
    [ -f "$ca_crt" ] || die "$ca_key exists but $ca_crt does not; restore it or remove both"
    [ -f "$ca_key" ] || die "$ca_crt exists but $ca_key does not; restore it or remove both"
    [ "$(pubkey_of_cert "$ca_crt")" = "$(pubkey_of_key "$ca_key")" ] && [ -n "$(pubkey_of_key "$ca_key")" ] ||
        die "$ca_crt and $ca_key do not belong together (or cannot be read)"
    openssl x509 -in "$ca_crt" -noout -checkend $((renew_days * 86400)) >/dev/null 2>&1 ||
        echo "$prog: warning: $ca_crt expires within $renew_days days; make a new CA and new certificates" >&2
    echo "kept   $ca_crt"
else
    new_key "$tmp/ca.key"
    ossl req -new -x509 -key "$tmp/ca.key" -subj "/O=failoverd/CN=failoverd cluster CA" -days "$ca_days" \
        -sha256 -set_serial "$(serial)" -config /dev/null -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -addext "subjectKeyIdentifier=hash" -out "$tmp/ca.crt"
    chmod 0644 "$tmp/ca.crt"
    mv "$tmp/ca.key" "$ca_key"
    mv "$tmp/ca.crt" "$ca_crt"
    echo "made   $ca_crt"
fi

# ---------------------------------------------------------------- host certificates

# The subjectAltName of a certificate or request as openssl prints it ("IP Address:...,
# DNS:..." on the line after the extension's name), so that a wanted list can be
# compared with an existing certificate whatever the spelling (IPv6 especially).
san_text() {
    sed -n '/X509v3 Subject Alternative Name/{n;p;}' | tr -d ' '
}

# True if crt is signed by the CA, belongs to key, has the wanted subject and names and
# stays valid for more than renew_days.
cert_ok() {
    crt=$1 key=$2 subj=$3 want_san=$4
    [ -f "$crt" ] && [ -f "$key" ] || return 1
    openssl verify -CAfile "$ca_crt" "$crt" >/dev/null 2>&1 || return 1
    kp=$(pubkey_of_key "$key") && [ -n "$kp" ] && [ "$kp" = "$(pubkey_of_cert "$crt")" ] || return 1
    have_subj=$(openssl x509 -in "$crt" -noout -subject -nameopt RFC2253 2>/dev/null) || return 1
    [ "$have_subj" = "subject=$subj" ] || return 1
    have_san=$(openssl x509 -in "$crt" -noout -text 2>/dev/null | san_text) || return 1
    want=""
    if [ -n "$want_san" ]; then
        want=$(openssl req -new -key "$key" -subj "/CN=x" -config /dev/null -addext "subjectAltName=$want_san" \
            -noout -text 2>/dev/null | san_text) || return 1
        [ -n "$want" ] || return 1
    fi
    [ "$have_san" = "$want" ] || return 1
    openssl x509 -in "$crt" -noout -checkend $((renew_days * 86400)) >/dev/null 2>&1
}

for e in $entries; do
    role=${e%%:*}
    rest=${e#*:}
    name=${rest%%,*}
    san=""
    [ "$rest" = "$name" ] || san=$(san_value "$e" "${rest#*,}")
    crt="$out/$name.crt"
    key="$out/$name.key"
    # RFC 2253 prints the last RDN first.
    if cert_ok "$crt" "$key" "CN=$name,OU=$role" "$san"; then
        chmod 0600 "$key"
        echo "kept   $crt"
        continue
    fi
    case ",$san" in *,IP:* | *,DNS:*) ;; *)
        [ "$role" = client ] ||
            echo "$prog: warning: $name ($role) has no IP or DNS name: clients cannot verify it as a server" >&2
        ;;
    esac
    case "$san" in *URI:failoverd://node/*) ;; *)
        [ "$role" != controller ] ||
            echo "$prog: warning: $name (controller) has no node=ID: the leader will refuse its verdicts and proposals" >&2
        ;;
    esac
    if [ -f "$key" ] && [ -n "$(pubkey_of_key "$key")" ]; then
        cp "$key" "$tmp/host.key"
    else
        new_key "$tmp/host.key"
    fi
    {
        echo "basicConstraints = critical, CA:FALSE"
        echo "keyUsage = critical, digitalSignature"
        echo "extendedKeyUsage = serverAuth, clientAuth"
        echo "subjectKeyIdentifier = hash"
        echo "authorityKeyIdentifier = keyid"
        [ -z "$san" ] || echo "subjectAltName = $san"
    } >"$tmp/host.ext"
    ossl req -new -key "$tmp/host.key" -subj "/OU=$role/CN=$name" -config /dev/null -out "$tmp/host.csr"
    ossl x509 -req -in "$tmp/host.csr" -CA "$ca_crt" -CAkey "$ca_key" -set_serial "$(serial)" -days "$days" \
        -sha256 -extfile "$tmp/host.ext" -out "$tmp/host.crt"
    chmod 0600 "$tmp/host.key"
    chmod 0644 "$tmp/host.crt"
    mv "$tmp/host.key" "$key"
    mv "$tmp/host.crt" "$crt"
    echo "made   $crt ($role${san:+, $san})"
done
