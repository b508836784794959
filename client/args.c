#include "args.h"

#include <stdio.h>
#include <string.h>

/* Options. Global ones are accepted with every command; the others only with the
 * commands whose cmd_def lists them. */
enum opt_id {
    OPT_CONTROLLER,
    OPT_JSON,
    OPT_TIMEOUT,
    OPT_HELP,
    OPT_LIMIT,
    OPT_USER,
    OPT_PASSWORD_FILE,
    OPT_RULE,
    OPT_REPL_USER,
    OPT_REPL_PASSWORD_FILE,
    OPT_SEMI_SYNC,
    OPT_ANTI_FLAP_S,
    OPT_MAX_LAG_S,
    OPT_TO,
    OPT_REASON,
    OPT_CA,
    OPT_CERT,
    OPT_KEY,
    OPT_INSECURE,
    OPT_VIP,
    OPT_VIP_INTERFACE,
    OPT_AGENT_PORT,
    OPT_VIP_LEASE_MS,
    OPT_READER_VIPS,
    OPT_READER_MAX_LAG_S,
    OPT_CONNECT_TIMEOUT,
    OPT_VERSION,
    OPT_FOLLOW,
    OPT_INTERVAL,
    OPT_APPLY,
    OPT_CLUSTER,
    OPT_SEED,
    OPT_VIP_PREFIX,
    OPT_MAX_SERVERS,
    OPT_CO_PRIMARIES,
    OPT_REDISCOVER_INTERVAL_S,
    OPT_ADOPT_REPLICAS,
    OPT_COUNT
};
_Static_assert(OPT_COUNT <= 64, "options are bits of a uint64_t");

#define OPT_BIT(o) (UINT64_C(1) << (o))
#define OPT_TRANSPORT (OPT_BIT(OPT_CA) | OPT_BIT(OPT_CERT) | OPT_BIT(OPT_KEY) | OPT_BIT(OPT_INSECURE))
#define OPT_GLOBAL                                                                                            \
    (OPT_BIT(OPT_CONTROLLER) | OPT_BIT(OPT_JSON) | OPT_BIT(OPT_TIMEOUT) | OPT_BIT(OPT_HELP) | OPT_TRANSPORT | \
     OPT_BIT(OPT_CONNECT_TIMEOUT) | OPT_BIT(OPT_VERSION))

struct opt_def {
    const char *name;
    int has_value;
};

static const struct opt_def opt_defs[OPT_COUNT] = {
    [OPT_CONTROLLER] = {"--controller", 1},
    [OPT_JSON] = {"--json", 0},
    [OPT_TIMEOUT] = {"--timeout", 1},
    [OPT_HELP] = {"--help", 0},
    [OPT_LIMIT] = {"--limit", 1},
    [OPT_USER] = {"--user", 1},
    [OPT_PASSWORD_FILE] = {"--password-file", 1},
    [OPT_RULE] = {"--rule", 1},
    [OPT_REPL_USER] = {"--repl-user", 1},
    [OPT_REPL_PASSWORD_FILE] = {"--repl-password-file", 1},
    [OPT_SEMI_SYNC] = {"--semi-sync", 0},
    [OPT_ANTI_FLAP_S] = {"--anti-flap-s", 1},
    [OPT_MAX_LAG_S] = {"--max-lag-s", 1},
    [OPT_TO] = {"--to", 1},
    [OPT_REASON] = {"--reason", 1},
    [OPT_CA] = {"--ca", 1},
    [OPT_CERT] = {"--cert", 1},
    [OPT_KEY] = {"--key", 1},
    [OPT_INSECURE] = {"--insecure", 0},
    [OPT_VIP] = {"--vip", 1},
    [OPT_VIP_INTERFACE] = {"--vip-interface", 1},
    [OPT_AGENT_PORT] = {"--agent-port", 1},
    [OPT_VIP_LEASE_MS] = {"--vip-lease-ms", 1},
    [OPT_READER_VIPS] = {"--reader-vips", 1},
    [OPT_READER_MAX_LAG_S] = {"--reader-max-lag-s", 1},
    [OPT_CONNECT_TIMEOUT] = {"--connect-timeout", 1},
    [OPT_VERSION] = {"--version", 0},
    [OPT_FOLLOW] = {"--follow", 0},
    [OPT_INTERVAL] = {"--interval", 1},
    [OPT_APPLY] = {"--apply", 0},
    [OPT_CLUSTER] = {"--cluster", 1},
    [OPT_SEED] = {"--seed", 1},
    [OPT_VIP_PREFIX] = {"--vip-prefix", 1},
    [OPT_MAX_SERVERS] = {"--max-servers", 1},
    [OPT_CO_PRIMARIES] = {"--co-primaries", 1},
    [OPT_REDISCOVER_INTERVAL_S] = {"--rediscover-interval-s", 1},
    [OPT_ADOPT_REPLICAS] = {"--adopt-replicas", 0},
};

/* The options of `cluster add`, all optional but the first two. */
#define OPT_CLUSTER_ADD                                                                                            \
    (OPT_BIT(OPT_USER) | OPT_BIT(OPT_PASSWORD_FILE) | OPT_BIT(OPT_REPL_USER) | OPT_BIT(OPT_REPL_PASSWORD_FILE) |   \
     OPT_BIT(OPT_SEMI_SYNC) | OPT_BIT(OPT_ANTI_FLAP_S) | OPT_BIT(OPT_MAX_LAG_S) | OPT_BIT(OPT_VIP) |               \
     OPT_BIT(OPT_VIP_INTERFACE) | OPT_BIT(OPT_AGENT_PORT) | OPT_BIT(OPT_VIP_LEASE_MS) | OPT_BIT(OPT_READER_VIPS) | \
     OPT_BIT(OPT_READER_MAX_LAG_S) | OPT_BIT(OPT_CO_PRIMARIES) | OPT_BIT(OPT_REDISCOVER_INTERVAL_S) |              \
     OPT_BIT(OPT_ADOPT_REPLICAS))

/* import-mha / import-mmm (client/import.h): where the file leaves something out. */
#define OPT_IMPORT \
    (OPT_BIT(OPT_CLUSTER) | OPT_BIT(OPT_PASSWORD_FILE) | OPT_BIT(OPT_REPL_PASSWORD_FILE) | OPT_BIT(OPT_APPLY))
/* cluster discover: the account (unless the cluster is registered) and --apply. */
#define OPT_DISCOVER                                                                               \
    (OPT_BIT(OPT_SEED) | OPT_BIT(OPT_USER) | OPT_BIT(OPT_PASSWORD_FILE) | OPT_BIT(OPT_REPL_USER) | \
     OPT_BIT(OPT_REPL_PASSWORD_FILE) | OPT_BIT(OPT_MAX_SERVERS) | OPT_BIT(OPT_APPLY))

/* More positional words than any command takes (2 words + 3 operands). */
#define MAX_POS 8

/* What one pass over argv found, before the command is known. */
struct scan {
    const char *values[OPT_COUNT]; /* NULL = not given; "" for a flag */
    const char *pos[MAX_POS];
    unsigned npos; /* all positional words seen, even past MAX_POS */
};

typedef int (*bind_fn)(struct fo_ctl_args *a, const char *const *ops, unsigned n, char *err);

struct cmd_def {
    const char *word;
    const char *sub; /* NULL for one-word commands */
    enum fo_ctl_cmd cmd;
    unsigned min_ops, max_ops;
    const char *op_names[3]; /* for "missing X" messages */
    uint64_t options;        /* command options allowed (OPT_BIT) */
    uint64_t required;       /* command options that must be given */
    bind_fn bind;
    const char *synopsis;
    unsigned timeout_ms; /* default --timeout; 0 = FO_CTL_DEFAULT_TIMEOUT_MS */
    int on;              /* copied to fo_ctl_args.on (maintenance on, recoveries enable) */
    const char *help;    /* what the command does and its options, for `help WORD` */
};

/* ------------------------------------------------------------ value checks */

static int copy_str(char *dst, size_t cap, const char *src, const char *what, char *err)
{
    size_t n = strlen(src);

    if (n >= cap) return fo_errf(err, FO_EINVAL, "%s is too long (at most %zu bytes)", what, cap - 1);
    memcpy(dst, src, n + 1);
    return 0;
}

static int check_controller(struct fo_ctl_args *a, const char *s, const char *source, char *err)
{
    char host[FO_HOST_LEN], sub[FO_ERRLEN];
    uint16_t port;

    if (fo_parse_hostport(s, host, sizeof(host), &port, sub) != 0)
        return fo_errf(err, FO_EINVAL, "%s: %s", source, sub);
    return copy_str(a->controller, sizeof(a->controller), s, source, err);
}

static int check_u64(const char *s, uint64_t min, uint64_t max, const char *what, uint64_t *out, char *err)
{
    char sub[FO_ERRLEN];

    if (fo_parse_u64(s, min, max, out, sub) != 0) return fo_errf(err, FO_EINVAL, "%s: %s", what, sub);
    return 0;
}

/* MySQL user names: printable, no whitespace (bytes >= 0x80 allowed for UTF-8). */
static int check_user(const char *s, const char *what, char *err)
{
    const unsigned char *c;

    if (s[0] == '\0') return fo_errf(err, FO_EINVAL, "%s: must not be empty", what);
    for (c = (const unsigned char *)s; *c; c++) {
        if (*c <= ' ' || *c == 0x7f) return fo_errf(err, FO_EINVAL, "%s: contains a space or control character", what);
    }
    return 0;
}

/* The path is read by every controller, never by failoverctl: it must be absolute
 * because it means the same thing on every host, and it is never opened here. The
 * controllers accept only files inside their secrets_dir (common/config.h) and say
 * so; "." and ".." components are refused here already, since such a path never
 * names what it seems to. */
static int check_password_file(const char *s, const char *what, char *err)
{
    const unsigned char *c;
    const char *p;

    for (c = (const unsigned char *)s; *c; c++) {
        if (*c < ' ' || *c == 0x7f) return fo_errf(err, FO_EINVAL, "%s: contains a control character", what);
    }
    if (s[0] != '/') return fo_errf(err, FO_EINVAL, "%s: '%s' is not an absolute path", what, s);
    for (p = s; *p != '\0'; p += strspn(p, "/")) {
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return fo_errf(err, FO_EINVAL, "%s: '%s' has a '.' or '..' component", what, s);
        p += n;
    }
    return 0;
}

/* Length of the well-formed UTF-8 sequence at c (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. Stops at the first bad byte, so it
 * never reads past a terminating NUL. */
static size_t utf8_seq(const unsigned char *c)
{
    unsigned lo = 0x80, hi = 0xbf;
    size_t n, i;

    if (c[0] < 0x80) return 1;
    if (c[0] >= 0xc2 && c[0] <= 0xdf)
        n = 2;
    else if (c[0] >= 0xe0 && c[0] <= 0xef)
        n = 3;
    else if (c[0] >= 0xf0 && c[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (c[0] == 0xe0) lo = 0xa0;
    if (c[0] == 0xed) hi = 0x9f;
    if (c[0] == 0xf0) lo = 0x90;
    if (c[0] == 0xf4) hi = 0x8f;
    if (c[1] < lo || c[1] > hi) return 0;
    for (i = 2; i < n; i++) {
        if (c[i] < 0x80 || c[i] > 0xbf) return 0;
    }
    return n;
}

/* The maintenance reason ends up in the replicated history and on operators'
 * terminals: one line of valid UTF-8 (a protobuf string must be) without C0 or C1
 * control characters, 1..FO_CTL_MAX_REASON characters. */
static int check_reason(const char *s, char *err)
{
    const unsigned char *c = (const unsigned char *)s;
    size_t n, chars = 0;

    if (*c == '\0') return fo_errf(err, FO_EINVAL, "--reason: must not be empty");
    while (*c != '\0') {
        if (*c < ' ' || *c == 0x7f || (c[0] == 0xc2 && c[1] >= 0x80 && c[1] < 0xa0))
            return fo_errf(err, FO_EINVAL, "--reason: contains a control character");
        n = utf8_seq(c);
        if (n == 0) return fo_errf(err, FO_EINVAL, "--reason: is not valid UTF-8");
        c += n;
        if (++chars > FO_CTL_MAX_REASON)
            return fo_errf(err, FO_EINVAL, "--reason: is too long (at most %u characters)", FO_CTL_MAX_REASON);
    }
    return 0;
}

static int bind_cluster_name(struct fo_ctl_args *a, const char *s, char *err)
{
    char sub[FO_ERRLEN];

    if (fo_check_name(s, sub) != 0) return fo_errf(err, FO_EINVAL, "bad cluster name: %s", sub);
    return copy_str(a->cluster, sizeof(a->cluster), s, "cluster name", err);
}

/* ------------------------------------------------------------ operand binders */

static int bind_none(struct fo_ctl_args *a, const char *const *ops, unsigned n, char *err)
{
    return 0;
}

/* CLUSTER (optional for history: n may be 0). */
static int bind_cluster(struct fo_ctl_args *a, const char *const *ops, unsigned n, char *err)
{
    return n == 0 ? 0 : bind_cluster_name(a, ops[0], err);
}

/* CLUSTER HOST:PORT */
static int bind_instance(struct fo_ctl_args *a, const char *const *ops, unsigned n, char *err)
{
    char sub[FO_ERRLEN];
    int rc;

    rc = bind_cluster_name(a, ops[0], err);
    if (rc != 0) return rc;
    if (fo_parse_hostport(ops[1], a->host, sizeof(a->host), &a->port, sub) != 0)
        return fo_errf(err, FO_EINVAL, "bad instance address: %s", sub);
    return 0;
}

/* CLUSTER [HOST:PORT]; without an instance, maintenance covers the whole cluster. */
static int bind_maintenance(struct fo_ctl_args *a, const char *const *ops, unsigned n, char *err)
{
    return n == 1 ? bind_cluster_name(a, ops[0], err) : bind_instance(a, ops, n, err);
}

/* CLUSTER HOST:PORT RULE */
static int bind_instance_rule(struct fo_ctl_args *a, const char *const *ops, unsigned n, char *err)
{
    char sub[FO_ERRLEN];
    int rc;

    rc = bind_instance(a, ops, n, err);
    if (rc != 0) return rc;
    if (fo_parse_rule(ops[2], &a->rule, sub) != 0) return fo_errf(err, FO_EINVAL, "bad promotion rule: %s", sub);
    return 0;
}

/* ID RAFT_ADDR */
static int bind_member_add(struct fo_ctl_args *a, const char *const *ops, unsigned n, char *err)
{
    char sub[FO_ERRLEN];
    int rc;

    rc = check_u64(ops[0], 1, FO_CTL_MAX_NODE_ID, "member id", &a->id, err);
    if (rc != 0) return rc;
    if (fo_parse_ipv4_port(ops[1], sub) != 0) return fo_errf(err, FO_EINVAL, "bad raft address: %s", sub);
    return copy_str(a->raft_address, sizeof(a->raft_address), ops[1], "raft address", err);
}

/* ID */
static int bind_member_id(struct fo_ctl_args *a, const char *const *ops, unsigned n, char *err)
{
    return check_u64(ops[0], 1, FO_CTL_MAX_NODE_ID, "member id", &a->id, err);
}

/* [ID]; absent or 0 lets raft choose. */
static int bind_member_transfer(struct fo_ctl_args *a, const char *const *ops, unsigned n, char *err)
{
    a->id = 0;
    return n == 0 ? 0 : check_u64(ops[0], 0, FO_CTL_MAX_NODE_ID, "member id", &a->id, err);
}

/* FILE: the MHA or MMM file to import, opened by the caller. */
static int bind_file(struct fo_ctl_args *a, const char *const *ops, unsigned n, char *err)
{
    if (ops[0][0] == '\0') return fo_errf(err, FO_EINVAL, "FILE must not be empty");
    return copy_str(a->file, sizeof(a->file), ops[0], "FILE", err);
}

/* [COMMAND [SUBCOMMAND]]: checked against the table once it is known (check_help). */
static int bind_help(struct fo_ctl_args *a, const char *const *ops, unsigned n, char *err)
{
    int rc = 0;

    if (n >= 1) rc = copy_str(a->help_word, sizeof(a->help_word), ops[0], "command", err);
    if (rc == 0 && n >= 2) rc = copy_str(a->help_sub, sizeof(a->help_sub), ops[1], "subcommand", err);
    return rc;
}

#define NO_OPS           \
    {                    \
        NULL, NULL, NULL \
    }
#define OPS_CLUSTER           \
    {                         \
        "CLUSTER", NULL, NULL \
    }
#define OPS_INSTANCE                 \
    {                                \
        "CLUSTER", "HOST:PORT", NULL \
    }

/* Each command's `failoverctl help WORD` / `WORD --help` text follows its synopsis. */
#define CMD(w, s, c, mn, mx, names, opts, req, b, syn, t, o, h)                                                      \
    {                                                                                                                \
        .word = (w), .sub = (s), .cmd = (c), .min_ops = (mn), .max_ops = (mx), .op_names = names, .options = (opts), \
        .required = (req), .bind = (b), .synopsis = (syn), .timeout_ms = (t), .on = (o), .help = (h)                 \
    }
#define NAMES(a, b, c) \
    {                  \
        a, b, c        \
    }

static const struct cmd_def cmd_defs[] = {
    CMD("help", NULL, FO_CTL_HELP, 0, 2, NAMES("COMMAND", "SUBCOMMAND", NULL), 0, 0, bind_help,
        "help [COMMAND [SUBCOMMAND]]", 0, 0,
        "Prints the usage of failoverctl, or of one command (the same as COMMAND --help).\n"),
    CMD("status", NULL, FO_CTL_STATUS, 0, 0, NO_OPS, 0, 0, bind_none, "status", 0, 0,
        "Asks the controller for the member list, then every member at once for its raft\n"
        "state: role, state, term, applied/commit/last index, instances probed, version.\n"
        "Exit code 4 when no member is leader (the table is printed first).\n"),
    CMD("members", NULL, FO_CTL_MEMBERS, 0, 0, NO_OPS, 0, 0, bind_none, "members", 0, 0,
        "Lists the controller membership (id, raft address, admin and HTTP address, role)\n"
        "from the asked node's replicated state.\n"),
    CMD("topology", NULL, FO_CTL_TOPOLOGY, 1, 1, OPS_CLUSTER, 0, 0, bind_cluster, "topology CLUSTER", 0, 0,
        "Instances of CLUSTER with role, health, replication threads, lag, GTID position,\n"
        "read_only and the designated primary. Served by the leader from its live probe\n"
        "samples, else from the asked node's stored state.\n"),
    CMD("clusters", NULL, FO_CTL_CLUSTERS, 0, 0, NO_OPS, 0, 0, bind_none, "clusters", 0, 0,
        "Registered clusters: instances, primary, open problems.\n"),
    CMD("history", NULL, FO_CTL_HISTORY, 0, 1, OPS_CLUSTER, OPT_BIT(OPT_LIMIT), 0, bind_cluster,
        "history [CLUSTER] [--limit N]", 0, 0,
        "Recent failovers (epoch, old -> new primary, steps and their timings, result) and\n"
        "events, newest first, of CLUSTER or of all clusters.\n"
        "  --limit N   1..10000 (default 50)\n"),
    CMD("events", NULL, FO_CTL_EVENTS, 0, 1, OPS_CLUSTER,
        OPT_BIT(OPT_LIMIT) | OPT_BIT(OPT_FOLLOW) | OPT_BIT(OPT_INTERVAL), 0, bind_cluster,
        "events [CLUSTER] [--limit N] [--follow [--interval MS]]", 0, 0,
        "Prints the last N events (and, with CLUSTER, the detector's decisions and\n"
        "refusals), oldest first; with --follow keeps printing new events, decisions and\n"
        "failover steps as they are committed, until interrupted. The controller is\n"
        "polled every MS milliseconds, so a line appears at most MS plus one round trip\n"
        "after the controller committed it. With --json, one JSON object per line.\n"
        "A controller that stops answering is replaced by the next one in the list.\n"
        "  --limit N        past lines printed first, 1..10000 (default 10)\n"
        "  --follow         keep following\n"
        "  --interval MS    poll period, 100..60000 (default 1000)\n"),
    CMD("why", NULL, FO_CTL_WHY, 1, 1, OPS_CLUSTER, OPT_BIT(OPT_LIMIT), 0, bind_cluster, "why CLUSTER [--limit N]", 0,
        0,
        "Failover state of CLUSTER (recoveries, maintenance, anti-flap block, epoch,\n"
        "primary, a running failover, quarantined servers) and the detector's last\n"
        "decisions and refusals, newest first.\n"
        "  --limit N   1..10000 (default 20)\n"),
    CMD("failover", NULL, FO_CTL_FAILOVER, 1, 1, OPS_CLUSTER, OPT_BIT(OPT_TO), 0, bind_cluster,
        "failover CLUSTER [--to HOST:PORT]", FO_CTL_FAILOVER_TIMEOUT_MS, 0,
        "Promotes a replica of CLUSTER's dead primary now (refused while the primary is\n"
        "alive: use switchover). Waits for the whole failover (default --timeout 60000);\n"
        "never sent to a second controller once the first may have received it.\n"
        "  --to HOST:PORT   the replica to promote (default: the best candidate)\n"),
    CMD("switchover", NULL, FO_CTL_SWITCHOVER, 1, 1, OPS_CLUSTER, OPT_BIT(OPT_TO), 0, bind_cluster,
        "switchover CLUSTER [--to HOST:PORT]", FO_CTL_FAILOVER_TIMEOUT_MS, 0,
        "Planned change of CLUSTER's primary while it is alive; the old primary rejoins\n"
        "as a replica. Waits for the whole switchover (default --timeout 60000).\n"
        "  --to HOST:PORT   the new primary (default: the best candidate)\n"),
    CMD("ack", NULL, FO_CTL_ACK, 1, 1, OPS_CLUSTER, 0, 0, bind_cluster, "ack CLUSTER", 0, 0,
        "Acknowledges CLUSTER's last failover, ending its anti-flap block.\n"),
    CMD("recoveries", "enable", FO_CTL_RECOVERIES, 0, 0, NO_OPS, 0, 0, bind_none, "recoveries enable", 0, 1,
        "Allows automatic failover again (all clusters).\n"),
    CMD("recoveries", "disable", FO_CTL_RECOVERIES, 0, 0, NO_OPS, 0, 0, bind_none, "recoveries disable", 0, 0,
        "Forbids automatic failover in every cluster (detection and `why` go on).\n"),
    CMD("maintenance", "on", FO_CTL_MAINTENANCE, 1, 2, OPS_INSTANCE, OPT_BIT(OPT_REASON), 0, bind_maintenance,
        "maintenance on CLUSTER [HOST:PORT] [--reason TEXT]", 0, 1,
        "No automatic failover for CLUSTER, or for one instance of it.\n"
        "  --reason TEXT   recorded in the history, at most 200 characters\n"),
    CMD("maintenance", "off", FO_CTL_MAINTENANCE, 1, 2, OPS_INSTANCE, OPT_BIT(OPT_REASON), 0, bind_maintenance,
        "maintenance off CLUSTER [HOST:PORT] [--reason TEXT]", 0, 0,
        "Ends maintenance of CLUSTER or of one instance.\n"),
    CMD("cluster", "add", FO_CTL_CLUSTER_ADD, 1, 1, NAMES("NAME", NULL, NULL), OPT_CLUSTER_ADD,
        OPT_BIT(OPT_USER) | OPT_BIT(OPT_PASSWORD_FILE), bind_cluster,
        "cluster add NAME --user USER --password-file PATH [...]", 0, 0,
        "Registers a cluster (then add its servers with `instance add`). Each PATH is\n"
        "absolute, inside every controller's secrets_dir, and read by each controller;\n"
        "failoverctl never opens it.\n"
        "  --user USER, --password-file PATH          the account that probes and fails over\n"
        "  --repl-user U --repl-password-file PATH    replication account (repoints a former\n"
        "                                             primary)\n"
        "  --semi-sync                                AFTER_SYNC semi-sync on failover\n"
        "  --anti-flap-s N    0..604800 (0: default 3600)\n"
        "  --max-lag-s N      0..86400 (0: no limit): replicas lagging more are not promoted\n"
        "  --vip A.B.C.D/LEN --vip-interface IF       writer VIP moved by failover-agent\n"
        "  --reader-vips A/LEN[,B/LEN...]             reader VIPs (at most 8)\n"
        "  --reader-max-lag-s N   1..86400 (default 30)\n"
        "  --agent-port N     1..65535 (default 7201)\n"
        "  --vip-lease-ms N   500..60000 (default 2000)\n"
        "  --co-primaries H:P,H:P   co-primary (MMM) mode: two distinct servers, to be\n"
        "                           added with `instance add` (else a topology problem)\n"
        "  --rediscover-interval-s N   0 (off) or 5..86400: the leader walks the topology\n"
        "                           this often and reports unregistered/vanished replicas\n"
        "  --adopt-replicas     register the new replicas rediscovery finds (needs\n"
        "                       --rediscover-interval-s)\n"),
    CMD("cluster", "remove", FO_CTL_CLUSTER_REMOVE, 1, 1, NAMES("NAME", NULL, NULL), 0, 0, bind_cluster,
        "cluster remove NAME", 0, 0, "Unregisters a cluster (its servers are left as they are).\n"),
    CMD("cluster", "discover", FO_CTL_CLUSTER_DISCOVER, 1, 1, NAMES("NAME", NULL, NULL), OPT_DISCOVER,
        OPT_BIT(OPT_SEED), bind_cluster,
        "cluster discover NAME --seed HOST:PORT [--user USER --password-file PATH] [--apply]", 30000, 0,
        "Walks a replication topology from one server: up through each server's SHOW SLAVE\n"
        "STATUS, down through SHOW SLAVE HOSTS and the binlog dump threads, and prints it as\n"
        "a tree. The controller that answers connects with NAME's account when NAME is\n"
        "registered, else with --user and --password-file (absolute, inside its\n"
        "secrets_dir, as for cluster add). Nothing is written anywhere without --apply.\n"
        "  --seed HOST:PORT          any server of the topology\n"
        "  --user U --password-file PATH   the account, for a cluster not registered yet\n"
        "  --repl-user U --repl-password-file PATH   with --apply: the replication account\n"
        "  --max-servers N           stop after N servers, 1..256 (default 256)\n"
        "  --apply                   register NAME (with --user) and every server reached,\n"
        "                            or add to a registered NAME the servers it lacks\n"),
    CMD("import-mha", NULL, FO_CTL_IMPORT_MHA, 1, 1, NAMES("FILE", NULL, NULL),
        OPT_IMPORT | OPT_BIT(OPT_VIP) | OPT_BIT(OPT_VIP_INTERFACE), 0, bind_file,
        "import-mha FILE [--cluster NAME] [--vip A/LEN --vip-interface IF] [--apply]", 0, 0,
        "Reads an MHA application file (app1.cnf: [server default] inherited by\n"
        "[serverN]) and prints the failoverctl commands that register the same cluster,\n"
        "then each setting failoverd has no equivalent for, with its file:line and why.\n"
        "candidate_master=1 becomes the rule prefer, no_master=1 must_not. Passwords are\n"
        "never copied: write them to the files named on every controller. A malformed\n"
        "file is refused with its file:line and nothing is sent.\n"
        "  --cluster NAME            cluster name (default: the file name, app1)\n"
        "  --password-file PATH      default /etc/failoverd/NAME.password\n"
        "  --repl-password-file PATH default /etc/failoverd/NAME.repl\n"
        "  --vip A/LEN --vip-interface IF   the writer VIP MHA's master_ip_failover_script\n"
        "                            moved (MHA's file does not say)\n"
        "  --apply                   register it (cluster add + instance add; undone with\n"
        "                            cluster remove if a step fails)\n"),
    CMD("import-mmm", NULL, FO_CTL_IMPORT_MMM, 1, 1, NAMES("FILE", NULL, NULL),
        OPT_IMPORT | OPT_BIT(OPT_VIP_INTERFACE) | OPT_BIT(OPT_VIP_PREFIX), 0, bind_file,
        "import-mmm FILE [--cluster NAME] [--vip-prefix LEN] [--apply]", 0, 0,
        "Reads an MMM 2 mmm_common.conf (<host>, <role writer>, <role reader>) and prints\n"
        "the failoverctl commands that register the same cluster, then each setting\n"
        "failoverd has no equivalent for, with its file:line and why. Hosts that may hold\n"
        "the writer role become prefer, the others must_not; the writer role's IP is the\n"
        "writer VIP and the reader roles' IPs are reader VIPs. A malformed file is\n"
        "refused with its file:line and nothing is sent.\n"
        "  --cluster NAME            cluster name (default mmm)\n"
        "  --password-file PATH      default /etc/failoverd/NAME.password (agent_user's)\n"
        "  --repl-password-file PATH default /etc/failoverd/NAME.repl (replication_user's)\n"
        "  --vip-interface IF        instead of the hosts' cluster_interface\n"
        "  --vip-prefix LEN          prefix length of the role IPs, 1..32 (default 32)\n"
        "  --apply                   register it (undone with cluster remove if a step fails)\n"),
    CMD("instance", "add", FO_CTL_INSTANCE_ADD, 2, 2, OPS_INSTANCE, OPT_BIT(OPT_RULE), 0, bind_instance,
        "instance add CLUSTER HOST:PORT [--rule RULE]", 0, 0,
        "Adds a server to CLUSTER.\n"
        "  --rule RULE   promotion rule: prefer|neutral|prefer_not|must_not (default neutral)\n"),
    CMD("instance", "remove", FO_CTL_INSTANCE_REMOVE, 2, 2, OPS_INSTANCE, 0, 0, bind_instance,
        "instance remove CLUSTER HOST:PORT", 0, 0, "Removes a server from CLUSTER.\n"),
    CMD("instance", "rule", FO_CTL_INSTANCE_RULE, 3, 3, NAMES("CLUSTER", "HOST:PORT", "RULE"), 0, 0, bind_instance_rule,
        "instance rule CLUSTER HOST:PORT RULE", 0, 0,
        "Sets a server's promotion rule: prefer|neutral|prefer_not|must_not.\n"),
    CMD("member", "add", FO_CTL_MEMBER_ADD, 2, 2, NAMES("ID", "RAFT_ADDR", NULL), 0, 0, bind_member_add,
        "member add ID RAFT_ADDR", 0, 0,
        "Adds controller ID (RAFT_ADDR is IPv4:port): a spare until caught up, then a\n"
        "voter.\n"),
    CMD("member", "remove", FO_CTL_MEMBER_REMOVE, 1, 1, NAMES("ID", NULL, NULL), 0, 0, bind_member_id,
        "member remove ID", 0, 0, "Removes controller ID from the raft configuration.\n"),
    CMD("member", "transfer-leader", FO_CTL_MEMBER_TRANSFER, 0, 1, NAMES("ID", NULL, NULL), 0, 0, bind_member_transfer,
        "member transfer-leader [ID]", 0, 0, "Hands leadership to controller ID (absent or 0: any voter).\n"),
};

#define N_CMDS (sizeof(cmd_defs) / sizeof(cmd_defs[0]))

/* ------------------------------------------------------------ scanning argv */

static int find_option(const char *arg, size_t namelen)
{
    int i;

    for (i = 0; i < OPT_COUNT; i++) {
        if (strlen(opt_defs[i].name) == namelen && strncmp(opt_defs[i].name, arg, namelen) == 0) return i;
    }
    return -1;
}

/* Reads one option at argv[*i] (advancing *i past a separate value). */
static int scan_option(struct fo_ctl_args *a, struct scan *s, int argc, char *const argv[], int *i, char *err)
{
    const char *arg = argv[*i], *eq, *value = "";
    size_t namelen;
    int id;

    eq = strchr(arg, '=');
    namelen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    id = strcmp(arg, "-h") == 0 ? OPT_HELP : arg[1] == '-' ? find_option(arg, namelen) : -1;
    if (id < 0) return fo_errf(err, FO_EINVAL, "unknown option '%.*s'", (int)namelen, arg);
    if (!opt_defs[id].has_value && eq != NULL)
        return fo_errf(err, FO_EINVAL, "option %s takes no value", opt_defs[id].name);
    if (opt_defs[id].has_value && eq != NULL) {
        value = eq + 1;
    } else if (opt_defs[id].has_value) {
        /* A following option is a forgotten value, not a value. */
        if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0)
            return fo_errf(err, FO_EINVAL, "option %s needs a value", opt_defs[id].name);
        value = argv[++*i];
    }
    /* Repeating a flag is harmless; a second value would silently win, so it is refused. */
    if (s->values[id] != NULL && opt_defs[id].has_value)
        return fo_errf(err, FO_EINVAL, "option %s given more than once", opt_defs[id].name);
    s->values[id] = value;
    if (id == OPT_JSON) a->json = 1;
    return 0;
}

/* "-5" is a (bad) number for the operand parsers to reject, not an option. */
static int is_option(const char *arg)
{
    return arg[0] == '-' && arg[1] != '\0' && !(arg[1] >= '0' && arg[1] <= '9');
}

static int scan_argv(struct fo_ctl_args *a, struct scan *s, int argc, char *const argv[], char *err)
{
    int i, rc, options_done = 0;

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = 1;
        } else if (!options_done && is_option(arg)) {
            rc = scan_option(a, s, argc, argv, &i, err);
            if (rc != 0) return rc;
        } else {
            /* Words past MAX_POS are only counted: no command takes that many, and
             * check_shape names the first extra one, which is always stored. */
            if (s->npos < MAX_POS) s->pos[s->npos] = arg;
            s->npos++;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ applying */

/* NULL for an unset or empty environment value. */
static const char *env_value(const char *v)
{
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* "HOST:PORT[,HOST:PORT...]" into a->controllers; source names where it came from. */
static int apply_controllers(struct fo_ctl_args *a, const char *list, const char *source, char *err)
{
    char buf[FO_CTL_MAX_CONTROLLERS * FO_ADDR_LEN], item[FO_ADDR_LEN];
    const char *p = list, *end;
    size_t n;
    unsigned i;
    int rc;

    if (strlen(list) >= sizeof(buf)) return fo_errf(err, FO_EINVAL, "%s: too long", source);
    for (;;) {
        p += strspn(p, " \t");
        end = strchr(p, ',');
        n = end != NULL ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        if (n == 0) return fo_errf(err, FO_EINVAL, "%s: empty entry in the controller list", source);
        if (n >= sizeof(item)) return fo_errf(err, FO_EINVAL, "%s: address too long", source);
        if (a->n_controllers >= FO_CTL_MAX_CONTROLLERS)
            return fo_errf(err, FO_EINVAL, "%s: more than %d controllers", source, FO_CTL_MAX_CONTROLLERS);
        memcpy(item, p, n);
        item[n] = '\0';
        if ((rc = check_controller(a, item, source, err)) != 0) return rc;
        for (i = 0; i < a->n_controllers; i++)
            if (strcmp(a->controllers[i], item) == 0)
                return fo_errf(err, FO_EINVAL, "%s: %s listed twice", source, item);
        memcpy(a->controllers[a->n_controllers++], item, n + 1);
        if (end == NULL) break;
        p = end + 1;
    }
    memcpy(a->controller, a->controllers[0], strlen(a->controllers[0]) + 1);
    return 0;
}

static int apply_globals(struct fo_ctl_args *a, const struct scan *s, const struct fo_ctl_env *env,
                         const struct fo_ctl_files *files, char *err)
{
    const char *v;
    uint64_t n;
    int rc;

    if ((v = s->values[OPT_CONTROLLER]) != NULL)
        rc = apply_controllers(a, v, "--controller", err);
    else if ((v = env_value(env->controller)) != NULL)
        rc = apply_controllers(a, v, "FAILOVERCTL_CONTROLLER", err);
    else if ((v = env_value(files->controller)) != NULL)
        rc = apply_controllers(a, v, "failoverctl.conf controller", err);
    else
        rc = apply_controllers(a, FO_CTL_DEFAULT_CONTROLLER, "default controller", err);
    if (rc != 0) return rc;
    if (s->values[OPT_TIMEOUT] != NULL) {
        rc = check_u64(s->values[OPT_TIMEOUT], 1, FO_CTL_MAX_TIMEOUT_MS, "--timeout", &n, err);
        if (rc != 0) return rc;
        a->timeout_ms = (unsigned)n;
    }
    a->connect_timeout_ms = FO_CTL_DEFAULT_CONNECT_TIMEOUT_MS;
    if ((v = s->values[OPT_CONNECT_TIMEOUT]) != NULL)
        rc = check_u64(v, 1, FO_CTL_MAX_TIMEOUT_MS, "--connect-timeout", &n, err);
    else if ((v = env_value(files->connect_timeout)) != NULL)
        rc = check_u64(v, 1, FO_CTL_MAX_TIMEOUT_MS, "failoverctl.conf connect_timeout_ms", &n, err);
    if (rc != 0) return rc;
    if (v != NULL) a->connect_timeout_ms = (unsigned)n;
    return 0;
}

static int apply_u32(const char *v, unsigned min, unsigned max, const char *what, unsigned *out, char *err)
{
    uint64_t n;
    int rc;

    if (v == NULL) return 0;
    rc = check_u64(v, min, max, what, &n, err);
    if (rc == 0) *out = (unsigned)n;
    return rc;
}

static int apply_user(const char *v, const char *what, char *dst, size_t cap, char *err)
{
    int rc;

    if (v == NULL) return 0;
    rc = check_user(v, what, err);
    return rc != 0 ? rc : copy_str(dst, cap, v, what, err);
}

static int apply_path(const char *v, const char *what, char *dst, size_t cap, char *err)
{
    int rc;

    if (v == NULL) return 0;
    rc = check_password_file(v, what, err);
    return rc != 0 ? rc : copy_str(dst, cap, v, what, err);
}

/* --reader-vips A/len,B/len: each a CIDR, at most FO_MAX_READER_VIPS, no repeats. */
static int apply_reader_vips(struct fo_ctl_args *a, const char *v, char *err)
{
    char buf[FO_MAX_READER_VIPS * FO_VIP_LEN + 2], perr[FO_ERRLEN];
    char *p, *save = NULL;
    unsigned i;

    if (v == NULL) return 0;
    if (strlen(v) >= sizeof(buf)) return fo_errf(err, FO_EINVAL, "--reader-vips: too long");
    memcpy(buf, v, strlen(v) + 1);
    for (p = strtok_r(buf, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
        if (a->n_reader_vips >= FO_MAX_READER_VIPS)
            return fo_errf(err, FO_EINVAL, "--reader-vips: more than %d", FO_MAX_READER_VIPS);
        if (strlen(p) >= FO_VIP_LEN || fo_parse_cidr4(p, perr) != 0)
            return fo_errf(err, FO_EINVAL, "--reader-vips: %s", strlen(p) >= FO_VIP_LEN ? "entry too long" : perr);
        for (i = 0; i < a->n_reader_vips; i++)
            if (strcmp(a->reader_vips[i], p) == 0) return fo_errf(err, FO_EINVAL, "--reader-vips: %s twice", p);
        memcpy(a->reader_vips[a->n_reader_vips++], p, strlen(p) + 1);
    }
    if (a->n_reader_vips == 0) return fo_errf(err, FO_EINVAL, "--reader-vips: empty list");
    return 0;
}

/* The writer and reader VIP options of `cluster add` (issue 4). */
static int apply_vip_options(struct fo_ctl_args *a, const struct scan *s, char *err)
{
    const char *const *v = s->values;
    char perr[FO_ERRLEN];
    int rc = 0;

    if (v[OPT_VIP] != NULL && (strlen(v[OPT_VIP]) >= FO_VIP_LEN || fo_parse_cidr4(v[OPT_VIP], perr) != 0))
        return fo_errf(err, FO_EINVAL, "--vip: %s", strlen(v[OPT_VIP]) >= FO_VIP_LEN ? "too long" : perr);
    if (v[OPT_VIP] != NULL) memcpy(a->vip, v[OPT_VIP], strlen(v[OPT_VIP]) + 1);
    if (v[OPT_VIP_INTERFACE] != NULL && fo_check_ifname(v[OPT_VIP_INTERFACE], perr) != 0)
        return fo_errf(err, FO_EINVAL, "--vip-interface: %s", perr);
    if (v[OPT_VIP_INTERFACE] != NULL) memcpy(a->vip_interface, v[OPT_VIP_INTERFACE], strlen(v[OPT_VIP_INTERFACE]) + 1);
    rc = apply_reader_vips(a, v[OPT_READER_VIPS], err);
    if (rc == 0) rc = apply_u32(v[OPT_AGENT_PORT], 1, 65535, "--agent-port", &a->agent_port, err);
    if (rc == 0) rc = apply_u32(v[OPT_VIP_LEASE_MS], 500, 60000, "--vip-lease-ms", &a->vip_lease_ms, err);
    if (rc == 0)
        rc = apply_u32(v[OPT_READER_MAX_LAG_S], 1, FO_CTL_MAX_LAG_S, "--reader-max-lag-s", &a->reader_max_lag_s, err);
    if (rc != 0) return rc;
    /* import-mmm may name the interface alone: the file has the role IPs. */
    if (a->cmd != FO_CTL_IMPORT_MMM && (a->vip[0] != '\0' || a->n_reader_vips > 0) != (a->vip_interface[0] != '\0'))
        return fo_errf(err, FO_EINVAL, "--vip-interface goes with --vip or --reader-vips");
    return 0;
}

/* --co-primaries, --rediscover-interval-s, --adopt-replicas (common/config.h rules). */
static int apply_mode_options(struct fo_ctl_args *a, const struct scan *s, char *err)
{
    const char *const *v = s->values;
    struct fo_endpoint ep[2];
    char perr[FO_ERRLEN];
    int rc;

    if (v[OPT_CO_PRIMARIES] != NULL && fo_parse_co_primaries(v[OPT_CO_PRIMARIES], ep, a->co_primaries, perr) != 0)
        return fo_errf(err, FO_EINVAL, "--co-primaries: %s", perr);
    rc = apply_u32(v[OPT_REDISCOVER_INTERVAL_S], 0, FO_REDISCOVER_MAX_S, "--rediscover-interval-s",
                   &a->rediscover_interval_s, err);
    if (rc != 0) return rc;
    if (fo_check_rediscover_interval(a->rediscover_interval_s, perr) != 0)
        return fo_errf(err, FO_EINVAL, "--rediscover-interval-s: %s", perr);
    a->adopt_replicas = v[OPT_ADOPT_REPLICAS] != NULL;
    if (a->adopt_replicas && a->rediscover_interval_s == 0)
        return fo_errf(err, FO_EINVAL, "--adopt-replicas needs --rediscover-interval-s");
    return 0;
}

/* `cluster add`'s account and failover options. */
static int apply_cluster_options(struct fo_ctl_args *a, const struct scan *s, char *err)
{
    const char *const *v = s->values;
    int rc;

    rc = apply_user(v[OPT_USER], "--user", a->user, sizeof(a->user), err);
    if (rc == 0)
        rc = apply_path(v[OPT_PASSWORD_FILE], "--password-file", a->password_file, sizeof(a->password_file), err);
    if (rc == 0) rc = apply_user(v[OPT_REPL_USER], "--repl-user", a->repl_user, sizeof(a->repl_user), err);
    if (rc == 0)
        rc = apply_path(v[OPT_REPL_PASSWORD_FILE], "--repl-password-file", a->repl_password_file,
                        sizeof(a->repl_password_file), err);
    if (rc == 0) rc = apply_u32(v[OPT_ANTI_FLAP_S], 0, FO_CTL_MAX_ANTI_FLAP_S, "--anti-flap-s", &a->anti_flap_s, err);
    if (rc == 0) rc = apply_u32(v[OPT_MAX_LAG_S], 0, FO_CTL_MAX_LAG_S, "--max-lag-s", &a->max_lag_s, err);
    if (rc != 0) return rc;
    /* A replication account is useless without its password and vice versa; the
     * controller would only find out in the middle of a failover. */
    if ((v[OPT_REPL_USER] == NULL) != (v[OPT_REPL_PASSWORD_FILE] == NULL) && a->cmd != FO_CTL_IMPORT_MHA &&
        a->cmd != FO_CTL_IMPORT_MMM) /* an import takes the user from its file */
        return fo_errf(err, FO_EINVAL, "--repl-user and --repl-password-file go together");
    a->semi_sync = v[OPT_SEMI_SYNC] != NULL;
    rc = apply_mode_options(a, s, err);
    return rc != 0 ? rc : apply_vip_options(a, s, err);
}

static int apply_command_options(struct fo_ctl_args *a, const struct scan *s, char *err)
{
    const char *v;
    char sub[FO_ERRLEN];
    int rc;

    rc = apply_u32(s->values[OPT_LIMIT], 1, FO_CTL_MAX_HISTORY, "--limit", &a->limit, err);
    if (rc == 0)
        rc = apply_u32(s->values[OPT_INTERVAL], FO_CTL_MIN_INTERVAL_MS, FO_CTL_MAX_INTERVAL_MS, "--interval",
                       &a->interval_ms, err);
    if (rc == 0) rc = apply_cluster_options(a, s, err);
    if (rc != 0) return rc;
    if ((v = s->values[OPT_RULE]) != NULL && fo_parse_rule(v, &a->rule, sub) != 0)
        return fo_errf(err, FO_EINVAL, "--rule: %s", sub);
    if ((v = s->values[OPT_TO]) != NULL &&
        fo_parse_hostport(v, a->target_host, sizeof(a->target_host), &a->target_port, sub) != 0)
        return fo_errf(err, FO_EINVAL, "--to: %s", sub);
    if ((v = s->values[OPT_CLUSTER]) != NULL && (rc = bind_cluster_name(a, v, err)) != 0) return rc;
    if ((v = s->values[OPT_SEED]) != NULL &&
        fo_parse_hostport(v, a->seed_host, sizeof(a->seed_host), &a->seed_port, sub) != 0)
        return fo_errf(err, FO_EINVAL, "--seed: %s", sub);
    rc = apply_u32(s->values[OPT_VIP_PREFIX], 1, 32, "--vip-prefix", &a->vip_prefix, err);
    if (rc == 0) rc = apply_u32(s->values[OPT_MAX_SERVERS], 1, 256, "--max-servers", &a->max_servers, err);
    if (rc != 0) return rc;
    a->apply = s->values[OPT_APPLY] != NULL;
    if ((v = s->values[OPT_REASON]) != NULL) {
        rc = check_reason(v, err);
        if (rc == 0) rc = copy_str(a->reason, sizeof(a->reason), v, "--reason", err);
    }
    return rc;
}

/* A TLS file name, opened by the caller: any path, but one line of text. */
static int apply_tls_path(const char *v, const char *what, char *dst, size_t cap, char *err)
{
    const unsigned char *c;

    if (v[0] == '\0') return fo_errf(err, FO_EINVAL, "%s: must not be empty", what);
    for (c = (const unsigned char *)v; *c; c++) {
        if (*c < ' ' || *c == 0x7f) return fo_errf(err, FO_EINVAL, "%s: contains a control character", what);
    }
    return copy_str(dst, cap, v, what, err);
}

/* A yes/no value (FAILOVERCTL_INSECURE, the files' insecure): 1/yes/true or
 * 0/no/false; unset or empty is 0. */
static int parse_insecure(const char *v, const char *what, int *out, char *err)
{
    static const char *const yes[] = {"1", "yes", "true"}, *const no[] = {"0", "no", "false"};
    size_t i;

    *out = 0;
    if (env_value(v) == NULL) return 0;
    for (i = 0; i < 3; i++) {
        if (strcmp(v, yes[i]) == 0) return *out = 1, 0;
        if (strcmp(v, no[i]) == 0) return 0;
    }
    return fo_errf(err, FO_EINVAL, "%s: '%s' is not 1 or 0 (yes or no)", what, v);
}

/* The files' layer, used only when neither the command line nor the environment names
 * TLS files or insecure mode: insecure = yes (unless FAILOVERCTL_INSECURE=0 said TLS:
 * env_secure), or all of ca, cert and key. */
static int apply_file_transport(struct fo_ctl_args *a, const struct fo_ctl_files *files, int env_secure, char *err)
{
    static const char *const names[3] = {"ca", "cert", "key"};
    const char *v[3] = {env_value(files->ca), env_value(files->cert), env_value(files->key)};
    char *dst[3] = {a->ca_file, a->cert_file, a->key_file};
    char what[64];
    int insecure, rc, i;

    if ((rc = parse_insecure(files->insecure, "failoverctl.conf insecure", &insecure, err)) != 0) return rc;
    if (insecure && !env_secure) {
        if (v[0] != NULL || v[1] != NULL || v[2] != NULL)
            return fo_errf(err, FO_EINVAL, "failoverctl.conf: insecure = yes and ca/cert/key are both set");
        a->insecure = 1;
        return 0;
    }
    if (v[0] == NULL && v[1] == NULL && v[2] == NULL)
        return fo_errf(err, FO_EINVAL,
                       "no TLS credentials: give --ca, --cert and --key (or set FAILOVERCTL_CA, "
                       "FAILOVERCTL_CERT and FAILOVERCTL_KEY, or ca, cert and key in failoverctl.conf), "
                       "or --insecure for a controller running with [tls] insecure = yes");
    for (i = 0; i < 3; i++) {
        snprintf(what, sizeof(what), "failoverctl.conf %s", names[i]); /* fits */
        if (v[i] == NULL) return fo_errf(err, FO_EINVAL, "%s: missing (TLS needs ca, cert and key)", what);
        if ((rc = apply_tls_path(v[i], what, dst[i], FO_PATH_LEN, err)) != 0) return rc;
    }
    return 0;
}

/* TLS files or --insecure (see args.h for the precedence rules). */
static int apply_transport(struct fo_ctl_args *a, const struct scan *s, const struct fo_ctl_env *env,
                           const struct fo_ctl_files *files, char *err)
{
    static const char *const opt_names[3] = {"--ca", "--cert", "--key"};
    static const char *const env_names[3] = {"FAILOVERCTL_CA", "FAILOVERCTL_CERT", "FAILOVERCTL_KEY"};
    const char *opt[3] = {s->values[OPT_CA], s->values[OPT_CERT], s->values[OPT_KEY]};
    const char *envs[3] = {env_value(env->ca), env_value(env->cert), env_value(env->key)};
    char *dst[3] = {a->ca_file, a->cert_file, a->key_file};
    int any_opt = opt[0] != NULL || opt[1] != NULL || opt[2] != NULL;
    int any_env = envs[0] != NULL || envs[1] != NULL || envs[2] != NULL;
    int insecure, rc, i;

    if ((rc = parse_insecure(env->insecure, "FAILOVERCTL_INSECURE", &insecure, err)) != 0) return rc;
    if (s->values[OPT_INSECURE] != NULL) {
        if (any_opt) return fo_errf(err, FO_EINVAL, "--insecure and --ca/--cert/--key exclude each other");
        a->insecure = 1;
        return 0;
    }
    if (!any_opt && insecure) {
        if (any_env)
            return fo_errf(err, FO_EINVAL,
                           "FAILOVERCTL_INSECURE and FAILOVERCTL_CA/_CERT/_KEY are both set: unset "
                           "one, or say --insecure or --ca/--cert/--key");
        a->insecure = 1;
        return 0;
    }
    /* FAILOVERCTL_INSECURE=0 says something too: TLS, with the files' paths if need be. */
    if (!any_opt && !any_env) return apply_file_transport(a, files, env_value(env->insecure) != NULL, err);
    for (i = 0; i < 3; i++) {
        const char *v = opt[i] != NULL ? opt[i] : envs[i];

        if (v == NULL)
            return fo_errf(err, FO_EINVAL, "missing %s (or %s): TLS needs --ca, --cert and --key", opt_names[i],
                           env_names[i]);
        rc = apply_tls_path(v, opt[i] != NULL ? opt_names[i] : env_names[i], dst[i], FO_PATH_LEN, err);
        if (rc != 0) return rc;
    }
    return 0;
}

/* Lists the subcommands of a command group ("add, remove") into out. */
static void list_subs(const char *word, char *out, size_t cap)
{
    size_t i, len = 0;
    int n;

    out[0] = '\0';
    for (i = 0; i < N_CMDS; i++) {
        if (cmd_defs[i].sub == NULL || strcmp(cmd_defs[i].word, word) != 0) continue;
        n = snprintf(out + len, cap - len, "%s%s", len ? ", " : "", cmd_defs[i].sub);
        if (n < 0 || (size_t)n >= cap - len) return; /* a shortened list is still useful */
        len += (size_t)n;
    }
}

static int find_command(const struct scan *s, const struct cmd_def **out, char *err)
{
    char subs[128];
    size_t i;
    int group = 0;

    if (s->npos == 0) return fo_errf(err, FO_EINVAL, "missing command (see 'failoverctl help')");
    for (i = 0; i < N_CMDS; i++) {
        const struct cmd_def *c = &cmd_defs[i];

        if (strcmp(c->word, s->pos[0]) != 0) continue;
        if (c->sub == NULL) {
            *out = c;
            return 0;
        }
        group = 1;
        if (s->npos >= 2 && strcmp(c->sub, s->pos[1]) == 0) {
            *out = c;
            return 0;
        }
    }
    if (!group) return fo_errf(err, FO_EINVAL, "unknown command '%s' (see 'failoverctl help')", s->pos[0]);
    list_subs(s->pos[0], subs, sizeof(subs));
    if (s->npos < 2) return fo_errf(err, FO_EINVAL, "'%s' needs a subcommand: %s", s->pos[0], subs);
    return fo_errf(err, FO_EINVAL, "unknown subcommand '%s %s' (expected one of: %s)", s->pos[0], s->pos[1], subs);
}

static int check_shape(const struct cmd_def *c, const struct scan *s, unsigned words, char *err)
{
    unsigned n = s->npos - words;
    int i;

    if (n < c->min_ops)
        return fo_errf(err, FO_EINVAL, "missing %s (usage: failoverctl %s)", c->op_names[n], c->synopsis);
    if (n > c->max_ops)
        return fo_errf(err, FO_EINVAL, "unexpected argument '%s' (usage: failoverctl %s)", s->pos[words + c->max_ops],
                       c->synopsis);
    for (i = 0; i < OPT_COUNT; i++) {
        uint64_t bit = OPT_BIT(i);

        if (s->values[i] != NULL && !(bit & (c->options | OPT_GLOBAL)))
            return fo_errf(err, FO_EINVAL, "option %s is not valid here (usage: failoverctl %s)", opt_defs[i].name,
                           c->synopsis);
        if (s->values[i] == NULL && (bit & c->required))
            return fo_errf(err, FO_EINVAL, "option %s is required (usage: failoverctl %s)", opt_defs[i].name,
                           c->synopsis);
    }
    return 0;
}

/* The table entries a help topic covers: one command, or every subcommand of a group
 * when sub is "". */
static int help_matches(const struct cmd_def *c, const char *word, const char *sub)
{
    if (strcmp(c->word, word) != 0) return 0;
    return c->sub == NULL || sub[0] == '\0' || strcmp(c->sub, sub) == 0;
}

static int help_known(const char *word, const char *sub)
{
    size_t i;

    for (i = 0; i < N_CMDS; i++) {
        if (help_matches(&cmd_defs[i], word, sub) && (cmd_defs[i].sub != NULL || sub[0] == '\0')) return 1;
    }
    return 0;
}

/* `WORD [SUB] ... --help`: the topic is the command named, when it is one. */
static void help_topic(struct fo_ctl_args *a, const struct scan *s)
{
    const char *sub = s->npos >= 2 ? s->pos[1] : "";

    if (s->npos == 0 || strlen(s->pos[0]) >= sizeof(a->help_word) || strcmp(s->pos[0], "help") == 0) return;
    if (strlen(sub) >= sizeof(a->help_sub) || !help_known(s->pos[0], sub)) sub = "";
    if (!help_known(s->pos[0], sub)) return;
    memcpy(a->help_word, s->pos[0], strlen(s->pos[0]) + 1);
    memcpy(a->help_sub, sub, strlen(sub) + 1);
}

/* `help WORD [SUB]`: an unknown topic is a usage error, like an unknown command. */
static int check_help(struct fo_ctl_args *a, char *err)
{
    if (a->help_word[0] == '\0' || help_known(a->help_word, a->help_sub)) return 0;
    if (a->help_sub[0] != '\0' && help_known(a->help_word, ""))
        return fo_errf(err, FO_EINVAL, "unknown subcommand '%s %s' (see 'failoverctl help %s')", a->help_word,
                       a->help_sub, a->help_word);
    return fo_errf(err, FO_EINVAL, "unknown command '%s' (see 'failoverctl help')", a->help_word);
}

static int parse_args(struct fo_ctl_args *a, int argc, char *const argv[], const struct fo_ctl_env *env,
                      const struct fo_ctl_files *files, char err[FO_ERRLEN])
{
    static const struct fo_ctl_env no_env;
    static const struct fo_ctl_files no_files;
    const struct cmd_def *c = NULL;
    struct scan s;
    unsigned words;
    int rc;

    memset(a, 0, sizeof(*a));
    memset(&s, 0, sizeof(s));
    a->timeout_ms = FO_CTL_DEFAULT_TIMEOUT_MS;
    a->rule = FO_RULE_NEUTRAL;
    rc = scan_argv(a, &s, argc, argv, err);
    if (rc != 0) return rc;
    /* --help wins over a missing or incomplete command, as users expect; it is about
     * the command named, if any. */
    if (s.values[OPT_HELP] != NULL) {
        a->cmd = FO_CTL_HELP;
        help_topic(a, &s);
        return 0;
    }
    if (s.values[OPT_VERSION] != NULL) {
        a->cmd = FO_CTL_VERSION;
        return 0;
    }
    if (env == NULL) env = &no_env;
    if (files == NULL) files = &no_files;
    rc = apply_globals(a, &s, env, files, err);
    if (rc == 0) rc = find_command(&s, &c, err);
    if (rc != 0) return rc;
    words = c->sub != NULL ? 2 : 1;
    rc = check_shape(c, &s, words, err);
    a->cmd = c->cmd; /* the option checks may depend on it */
    if (rc == 0) rc = apply_command_options(a, &s, err);
    if (rc == 0) rc = c->bind(a, s.pos + words, s.npos - words, err);
    if (rc == 0 && c->cmd == FO_CTL_HELP) rc = check_help(a, err);
    /* `help` talks to nobody, and an import only prints its plan unless --apply. */
    if (rc == 0 && c->cmd != FO_CTL_HELP &&
        !((c->cmd == FO_CTL_IMPORT_MHA || c->cmd == FO_CTL_IMPORT_MMM) && !a->apply))
        rc = apply_transport(a, &s, env, files, err);
    if (rc != 0) return rc;
    if (s.values[OPT_TIMEOUT] == NULL && c->timeout_ms != 0) a->timeout_ms = c->timeout_ms;
    if (c->cmd == FO_CTL_EVENTS) {
        a->follow = s.values[OPT_FOLLOW] != NULL;
        if (a->limit == 0) a->limit = FO_CTL_DEFAULT_EVENTS;
        if (a->interval_ms == 0) a->interval_ms = FO_CTL_DEFAULT_INTERVAL_MS;
    }
    a->on = c->on;
    a->cmd = c->cmd;
    return 0;
}

/* Messages quote the offending argument as typed: a newline or another control
 * character in it would break the promised one-line message (and the terminal or log
 * it lands in), so each becomes '?' (found by tests/fuzz/fuzz_ctl_args). */
int fo_ctl_args_parse_files(struct fo_ctl_args *a, int argc, char *const argv[], const struct fo_ctl_env *env,
                            const struct fo_ctl_files *files, char err[FO_ERRLEN])
{
    int rc = parse_args(a, argc, argv, env, files, err);
    char *c;

    if (rc != 0)
        for (c = err; *c != '\0'; c++)
            if ((unsigned char)*c < ' ' || *c == 0x7f) *c = '?';
    return rc;
}

int fo_ctl_args_parse(struct fo_ctl_args *a, int argc, char *const argv[], const struct fo_ctl_env *env,
                      char err[FO_ERRLEN])
{
    return fo_ctl_args_parse_files(a, argc, argv, env, NULL, err);
}

int fo_ctl_cmd_is_write(enum fo_ctl_cmd cmd)
{
    switch (cmd) {
    case FO_CTL_CLUSTER_ADD:
    case FO_CTL_CLUSTER_REMOVE:
    case FO_CTL_INSTANCE_ADD:
    case FO_CTL_INSTANCE_REMOVE:
    case FO_CTL_MEMBER_ADD:
    case FO_CTL_MEMBER_REMOVE:
    case FO_CTL_MEMBER_TRANSFER:
    case FO_CTL_FAILOVER:
    case FO_CTL_SWITCHOVER:
    case FO_CTL_ACK:
    case FO_CTL_RECOVERIES:
    case FO_CTL_MAINTENANCE:
    case FO_CTL_INSTANCE_RULE: return 1;
    default: return 0;
    }
}

/* Reads: sending one again after a transport failure cannot do anything twice. */
int fo_ctl_cmd_is_idempotent(enum fo_ctl_cmd cmd)
{
    return !fo_ctl_cmd_is_write(cmd);
}

static const char usage_text[] =
    "usage: failoverctl [--controller HOST:PORT[,HOST:PORT...]] [--json] [--timeout MS]\n"
    "                   [--ca FILE --cert FILE --key FILE | --insecure] COMMAND ...\n"
    "       failoverctl help [COMMAND] | COMMAND --help | --version\n"
    "\n"
    "Admin client for failoverd. Any controller node answers; a follower forwards writes\n"
    "to the leader.\n"
    "\n"
    "Options (anywhere on the line):\n"
    "  --controller LIST       controller admin addresses, HOST:PORT, comma-separated, tried\n"
    "                          in order (default: $FAILOVERCTL_CONTROLLER, else controller\n"
    "                          in failoverctl.conf, else " FO_CTL_DEFAULT_CONTROLLER ")\n"
    "  --connect-timeout MS    per controller: no connection (and TLS handshake) within MS\n"
    "                          and the next one is tried (default 1000)\n"
    "  --json                  print one JSON object on stdout instead of tables\n"
    "  --timeout MS            bound on each request, all controllers tried included,\n"
    "                          1..3600000 (default 5000; 60000 for failover and switchover)\n"
    "  --ca FILE               CA certificate (PEM) that signed the controllers'\n"
    "                          certificates (default: $FAILOVERCTL_CA)\n"
    "  --cert FILE             this client's certificate, role client (default:\n"
    "                          $FAILOVERCTL_CERT)\n"
    "  --key FILE              its private key (default: $FAILOVERCTL_KEY)\n"
    "  --insecure              plain TCP, only for controllers running with [tls]\n"
    "                          insecure = yes (default: $FAILOVERCTL_INSECURE=1)\n"
    "  -h, --help              print this text (or COMMAND's) and exit 0\n"
    "  --version               print the version and exit 0\n"
    "\n"
    "Defaults are read from /etc/failoverd/failoverctl.conf, then\n"
    "~/.config/failoverctl.conf (key by key; INI, section [failoverctl], keys controller,\n"
    "connect_timeout_ms, ca, cert, key, insecure). The environment beats the files and\n"
    "options beat both. A controller that refuses the connection or does not accept it\n"
    "within --connect-timeout is skipped; a request that may have reached a controller is\n"
    "sent to the next one only if it is a read, never a write.\n"
    "\n"
    "The admin RPC is mutual TLS: the controller must present a certificate signed by the\n"
    "CA, with the role controller, naming the IP address dialled; it accepts client (and\n"
    "controller) certificates from the same CA. Every command but help needs --ca, --cert\n"
    "and --key (or their variables), or --insecure. Options beat the environment.\n"
    "\n"
    "Commands:\n"
    "  status                              every member's raft state (asks each member)\n"
    "  members                             controller membership\n"
    "  topology CLUSTER                    instances, roles, health, replication\n"
    "  clusters                            registered clusters\n"
    "  history [CLUSTER] [--limit N]       recent failovers and events (N 1..10000,\n"
    "                                      default 50)\n"
    "  events [CLUSTER] [--limit N] [--follow [--interval MS]]\n"
    "                                      the last N events (and CLUSTER's decisions);\n"
    "                                      --follow: then new events, decisions and failover\n"
    "                                      steps as they happen (polled every MS, default 1000)\n"
    "  why CLUSTER [--limit N]             failover state and the last decisions and\n"
    "                                      refusals, newest first (N 1..10000, default 20)\n"
    "  failover CLUSTER [--to HOST:PORT]   promote a replica of a dead primary now\n"
    "  switchover CLUSTER [--to HOST:PORT] planned change of primary (the primary is alive)\n"
    "  ack CLUSTER                         acknowledge the last failover (ends its anti-flap\n"
    "                                      block)\n"
    "  recoveries enable|disable           allow or forbid automatic failover (all clusters)\n"
    "  maintenance on|off CLUSTER [HOST:PORT] [--reason TEXT]\n"
    "                                      no automatic failover for the cluster or instance;\n"
    "                                      TEXT is at most 200 characters\n"
    "  cluster add NAME --user USER --password-file PATH\n"
    "              [--repl-user USER --repl-password-file PATH] [--semi-sync]\n"
    "              [--anti-flap-s N] [--max-lag-s N] [--vip A.B.C.D/LEN --vip-interface IF]\n"
    "              [--reader-vips A/LEN[,B/LEN...]] [--reader-max-lag-s N] [--agent-port N] [--vip-lease-ms N]\n"
    "                                      register a cluster; each PATH is absolute and is\n"
    "                                      read by each controller (failoverctl never opens\n"
    "                                      it); --anti-flap-s 0..604800 (0: default 3600),\n"
    "                                      --max-lag-s 0..86400 (0: no limit)\n"
    "  cluster remove NAME\n"
    "  cluster discover NAME --seed HOST:PORT [--user USER --password-file PATH] [--apply]\n"
    "                                      walk a topology from one server; --apply registers it\n"
    "  import-mha FILE [--cluster NAME] [--vip A/LEN --vip-interface IF] [--apply]\n"
    "  import-mmm FILE [--cluster NAME] [--vip-prefix LEN] [--apply]\n"
    "                                      print (or register) the cluster an MHA app1.cnf or\n"
    "                                      an MMM mmm_common.conf describes; no controller is\n"
    "                                      needed without --apply\n"
    "  instance add CLUSTER HOST:PORT [--rule RULE]\n"
    "  instance rule CLUSTER HOST:PORT RULE\n"
    "                                      RULE: prefer|neutral|prefer_not|must_not\n"
    "  instance remove CLUSTER HOST:PORT\n"
    "  member add ID RAFT_ADDR             add a controller (RAFT_ADDR is IPv4:port)\n"
    "  member remove ID\n"
    "  member transfer-leader [ID]         hand leadership to ID (absent or 0: any)\n"
    "  help [COMMAND [SUBCOMMAND]]         print this text, or COMMAND's\n"
    "\n"
    "failover and switchover can take several seconds; their steps and result are\n"
    "recorded in `failoverctl history CLUSTER`.\n"
    "\n"
    "Exit codes:\n"
    "  0  success\n"
    "  1  the controller refused or failed the request (\"error: ...\" on stderr)\n"
    "  2  bad arguments, or no usable TLS files (missing, unreadable, key not matching the\n"
    "     certificate, certificate not signed by the CA) and no --insecure\n"
    "  3  controller unreachable, timed out, TLS handshake failed (either side refused the\n"
    "     other's certificate), or sent a bad reply\n"
    "  4  no leader (status prints its table first)\n"
    "With --json, errors are also printed on stdout as\n"
    "  {\"ok\":false,\"code\":FO_ERROR_CODE,\"error\":\"...\"}\n"
    "\n" FO_CTL_SUPPORTED_TEXT;

const char *fo_ctl_usage(void)
{
    return usage_text;
}

/* Appends to buf at *len; a text that does not fit is cut (args.h). */
static void put(char *buf, size_t cap, size_t *len, const char *text)
{
    int n;

    if (*len >= cap) return;
    n = snprintf(buf + *len, cap - *len, "%s", text);
    *len = n < 0 ? cap : *len + (size_t)n >= cap ? cap : *len + (size_t)n;
}

int fo_ctl_help_text(const struct fo_ctl_args *a, char *buf, size_t cap)
{
    size_t i, len = 0;
    int shown = 0;

    if (cap == 0) return FO_EINVAL;
    buf[0] = '\0';
    if (a->help_word[0] == '\0') {
        put(buf, cap, &len, usage_text);
        return 0;
    }
    for (i = 0; i < N_CMDS; i++) {
        const struct cmd_def *c = &cmd_defs[i];

        if (!help_matches(c, a->help_word, a->help_sub)) continue;
        put(buf, cap, &len, shown++ ? "\nusage: failoverctl [OPTIONS] " : "usage: failoverctl [OPTIONS] ");
        put(buf, cap, &len, c->synopsis);
        put(buf, cap, &len, "\n\n");
        put(buf, cap, &len, c->help);
    }
    if (!shown) {
        snprintf(buf, cap, "unknown command '%s' (see 'failoverctl help')", a->help_word);
        return FO_EINVAL;
    }
    put(buf, cap, &len,
        "\nOPTIONS are the global ones (failoverctl --help): --controller, --connect-timeout,\n"
        "--json, --timeout, --ca/--cert/--key or --insecure.\n");
    return 0;
}
