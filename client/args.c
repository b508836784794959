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
    OPT_COUNT
};

#define OPT_BIT(o) (1u << (o))
#define OPT_GLOBAL \
    (OPT_BIT(OPT_CONTROLLER) | OPT_BIT(OPT_JSON) | OPT_BIT(OPT_TIMEOUT) | OPT_BIT(OPT_HELP))

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
};

/* More positional words than any command takes (2 words + 2 operands). */
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
    const char *op_names[2]; /* for "missing X" messages */
    unsigned options;        /* command options allowed (OPT_BIT) */
    unsigned required;       /* command options that must be given */
    bind_fn bind;
    const char *synopsis;
};

/* ------------------------------------------------------------ value checks */

static int copy_str(char *dst, size_t cap, const char *src, const char *what, char *err)
{
    size_t n = strlen(src);

    if (n >= cap)
        return fo_errf(err, FO_EINVAL, "%s is too long (at most %zu bytes)", what, cap - 1);
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

static int check_u64(const char *s, uint64_t min, uint64_t max, const char *what, uint64_t *out,
                     char *err)
{
    char sub[FO_ERRLEN];

    if (fo_parse_u64(s, min, max, out, sub) != 0)
        return fo_errf(err, FO_EINVAL, "%s: %s", what, sub);
    return 0;
}

/* MySQL user names: printable, no whitespace (bytes >= 0x80 allowed for UTF-8). */
static int check_user(const char *s, char *err)
{
    const unsigned char *c;

    if (s[0] == '\0') return fo_errf(err, FO_EINVAL, "--user: must not be empty");
    for (c = (const unsigned char *)s; *c; c++) {
        if (*c <= ' ' || *c == 0x7f)
            return fo_errf(err, FO_EINVAL, "--user: contains a space or control character");
    }
    return 0;
}

/* The path is read by every controller, never by failoverctl: it must be absolute
 * because it means the same thing on every host, and it is never opened here. */
static int check_password_file(const char *s, char *err)
{
    const unsigned char *c;

    if (s[0] != '/')
        return fo_errf(err, FO_EINVAL, "--password-file: '%s' is not an absolute path", s);
    for (c = (const unsigned char *)s; *c; c++) {
        if (*c < ' ' || *c == 0x7f)
            return fo_errf(err, FO_EINVAL, "--password-file: contains a control character");
    }
    return 0;
}

static int bind_cluster_name(struct fo_ctl_args *a, const char *s, char *err)
{
    char sub[FO_ERRLEN];

    if (fo_check_name(s, sub) != 0)
        return fo_errf(err, FO_EINVAL, "bad cluster name: %s", sub);
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

/* ID RAFT_ADDR */
static int bind_member_add(struct fo_ctl_args *a, const char *const *ops, unsigned n, char *err)
{
    char sub[FO_ERRLEN];
    int rc;

    rc = check_u64(ops[0], 1, FO_CTL_MAX_NODE_ID, "member id", &a->id, err);
    if (rc != 0) return rc;
    if (fo_parse_ipv4_port(ops[1], sub) != 0)
        return fo_errf(err, FO_EINVAL, "bad raft address: %s", sub);
    return copy_str(a->raft_address, sizeof(a->raft_address), ops[1], "raft address", err);
}

/* ID */
static int bind_member_id(struct fo_ctl_args *a, const char *const *ops, unsigned n, char *err)
{
    return check_u64(ops[0], 1, FO_CTL_MAX_NODE_ID, "member id", &a->id, err);
}

/* [ID]; absent or 0 lets raft choose. */
static int bind_member_transfer(struct fo_ctl_args *a, const char *const *ops, unsigned n,
                                char *err)
{
    a->id = 0;
    return n == 0 ? 0 : check_u64(ops[0], 0, FO_CTL_MAX_NODE_ID, "member id", &a->id, err);
}

static const struct cmd_def cmd_defs[] = {
    {"help", NULL, FO_CTL_HELP, 0, 0, {NULL, NULL}, 0, 0, bind_none, "help"},
    {"status", NULL, FO_CTL_STATUS, 0, 0, {NULL, NULL}, 0, 0, bind_none, "status"},
    {"members", NULL, FO_CTL_MEMBERS, 0, 0, {NULL, NULL}, 0, 0, bind_none, "members"},
    {"topology", NULL, FO_CTL_TOPOLOGY, 1, 1, {"CLUSTER", NULL}, 0, 0, bind_cluster,
     "topology CLUSTER"},
    {"clusters", NULL, FO_CTL_CLUSTERS, 0, 0, {NULL, NULL}, 0, 0, bind_none, "clusters"},
    {"history", NULL, FO_CTL_HISTORY, 0, 1, {"CLUSTER", NULL}, OPT_BIT(OPT_LIMIT), 0, bind_cluster,
     "history [CLUSTER] [--limit N]"},
    {"cluster", "add", FO_CTL_CLUSTER_ADD, 1, 1, {"NAME", NULL},
     OPT_BIT(OPT_USER) | OPT_BIT(OPT_PASSWORD_FILE), OPT_BIT(OPT_USER) | OPT_BIT(OPT_PASSWORD_FILE),
     bind_cluster, "cluster add NAME --user USER --password-file PATH"},
    {"cluster", "remove", FO_CTL_CLUSTER_REMOVE, 1, 1, {"NAME", NULL}, 0, 0, bind_cluster,
     "cluster remove NAME"},
    {"instance", "add", FO_CTL_INSTANCE_ADD, 2, 2, {"CLUSTER", "HOST:PORT"}, OPT_BIT(OPT_RULE), 0,
     bind_instance, "instance add CLUSTER HOST:PORT [--rule RULE]"},
    {"instance", "remove", FO_CTL_INSTANCE_REMOVE, 2, 2, {"CLUSTER", "HOST:PORT"}, 0, 0,
     bind_instance, "instance remove CLUSTER HOST:PORT"},
    {"member", "add", FO_CTL_MEMBER_ADD, 2, 2, {"ID", "RAFT_ADDR"}, 0, 0, bind_member_add,
     "member add ID RAFT_ADDR"},
    {"member", "remove", FO_CTL_MEMBER_REMOVE, 1, 1, {"ID", NULL}, 0, 0, bind_member_id,
     "member remove ID"},
    {"member", "transfer-leader", FO_CTL_MEMBER_TRANSFER, 0, 1, {"ID", NULL}, 0, 0,
     bind_member_transfer, "member transfer-leader [ID]"},
};

#define N_CMDS (sizeof(cmd_defs) / sizeof(cmd_defs[0]))

/* ------------------------------------------------------------ scanning argv */

static int find_option(const char *arg, size_t namelen)
{
    int i;

    for (i = 0; i < OPT_COUNT; i++) {
        if (strlen(opt_defs[i].name) == namelen && strncmp(opt_defs[i].name, arg, namelen) == 0)
            return i;
    }
    return -1;
}

/* Reads one option at argv[*i] (advancing *i past a separate value). */
static int scan_option(struct fo_ctl_args *a, struct scan *s, int argc, char *const argv[], int *i,
                       char *err)
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

static int apply_globals(struct fo_ctl_args *a, const struct scan *s, const char *env_controller,
                         char *err)
{
    uint64_t v;
    int rc;

    if (s->values[OPT_CONTROLLER] != NULL)
        rc = check_controller(a, s->values[OPT_CONTROLLER], "--controller", err);
    else if (env_controller != NULL && env_controller[0] != '\0')
        rc = check_controller(a, env_controller, "FAILOVERCTL_CONTROLLER", err);
    else
        rc = check_controller(a, FO_CTL_DEFAULT_CONTROLLER, "default controller", err);
    if (rc != 0) return rc;
    if (s->values[OPT_TIMEOUT] != NULL) {
        rc = check_u64(s->values[OPT_TIMEOUT], 1, FO_CTL_MAX_TIMEOUT_MS, "--timeout", &v, err);
        if (rc != 0) return rc;
        a->timeout_ms = (unsigned)v;
    }
    return 0;
}

static int apply_command_options(struct fo_ctl_args *a, const struct scan *s, char *err)
{
    const char *v;
    char sub[FO_ERRLEN];
    uint64_t n;
    int rc;

    if ((v = s->values[OPT_LIMIT]) != NULL) {
        rc = check_u64(v, 1, FO_CTL_MAX_HISTORY, "--limit", &n, err);
        if (rc != 0) return rc;
        a->limit = (unsigned)n;
    }
    if ((v = s->values[OPT_USER]) != NULL) {
        rc = check_user(v, err);
        if (rc == 0) rc = copy_str(a->user, sizeof(a->user), v, "--user", err);
        if (rc != 0) return rc;
    }
    if ((v = s->values[OPT_PASSWORD_FILE]) != NULL) {
        rc = check_password_file(v, err);
        if (rc == 0)
            rc = copy_str(a->password_file, sizeof(a->password_file), v, "--password-file", err);
        if (rc != 0) return rc;
    }
    if ((v = s->values[OPT_RULE]) != NULL && fo_parse_rule(v, &a->rule, sub) != 0)
        return fo_errf(err, FO_EINVAL, "--rule: %s", sub);
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
    if (!group)
        return fo_errf(err, FO_EINVAL, "unknown command '%s' (see 'failoverctl help')", s->pos[0]);
    list_subs(s->pos[0], subs, sizeof(subs));
    if (s->npos < 2)
        return fo_errf(err, FO_EINVAL, "'%s' needs a subcommand: %s", s->pos[0], subs);
    return fo_errf(err, FO_EINVAL, "unknown subcommand '%s %s' (expected one of: %s)", s->pos[0],
                   s->pos[1], subs);
}

static int check_shape(const struct cmd_def *c, const struct scan *s, unsigned words, char *err)
{
    unsigned n = s->npos - words;
    int i;

    if (n < c->min_ops)
        return fo_errf(err, FO_EINVAL, "missing %s (usage: failoverctl %s)", c->op_names[n],
                       c->synopsis);
    if (n > c->max_ops)
        return fo_errf(err, FO_EINVAL, "unexpected argument '%s' (usage: failoverctl %s)",
                       s->pos[words + c->max_ops], c->synopsis);
    for (i = 0; i < OPT_COUNT; i++) {
        unsigned bit = OPT_BIT(i);

        if (s->values[i] != NULL && !(bit & (c->options | OPT_GLOBAL)))
            return fo_errf(err, FO_EINVAL, "option %s is not valid here (usage: failoverctl %s)",
                           opt_defs[i].name, c->synopsis);
        if (s->values[i] == NULL && (bit & c->required))
            return fo_errf(err, FO_EINVAL, "option %s is required (usage: failoverctl %s)",
                           opt_defs[i].name, c->synopsis);
    }
    return 0;
}

int fo_ctl_args_parse(struct fo_ctl_args *a, int argc, char *const argv[],
                      const char *env_controller, char err[FO_ERRLEN])
{
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
    /* --help wins over a missing or incomplete command, as users expect. */
    if (s.values[OPT_HELP] != NULL) {
        a->cmd = FO_CTL_HELP;
        return 0;
    }
    rc = apply_globals(a, &s, env_controller, err);
    if (rc == 0) rc = find_command(&s, &c, err);
    if (rc != 0) return rc;
    words = c->sub != NULL ? 2 : 1;
    rc = check_shape(c, &s, words, err);
    if (rc == 0) rc = apply_command_options(a, &s, err);
    if (rc == 0) rc = c->bind(a, s.pos + words, s.npos - words, err);
    if (rc != 0) return rc;
    a->cmd = c->cmd;
    return 0;
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
        return 1;
    default:
        return 0;
    }
}

static const char usage_text[] =
    "usage: failoverctl [--controller HOST:PORT] [--json] [--timeout MS] COMMAND ...\n"
    "\n"
    "Admin client for failoverd. Any controller node answers; a follower forwards writes\n"
    "to the leader.\n"
    "\n"
    "Options (anywhere on the line):\n"
    "  --controller HOST:PORT  controller admin address (default: $FAILOVERCTL_CONTROLLER,\n"
    "                          else " FO_CTL_DEFAULT_CONTROLLER ")\n"
    "  --json                  print one JSON object on stdout instead of tables\n"
    "  --timeout MS            bound on each request, 1..3600000 (default 5000)\n"
    "  -h, --help              print this text and exit 0\n"
    "\n"
    "Commands:\n"
    "  status                              every member's raft state (asks each member)\n"
    "  members                             controller membership\n"
    "  topology CLUSTER                    instances, roles, health, replication\n"
    "  clusters                            registered clusters\n"
    "  history [CLUSTER] [--limit N]       recent events (N 1..10000, default 50)\n"
    "  cluster add NAME --user USER --password-file PATH\n"
    "                                      register a cluster; PATH is absolute and is read\n"
    "                                      by each controller (failoverctl never opens it)\n"
    "  cluster remove NAME\n"
    "  instance add CLUSTER HOST:PORT [--rule prefer|neutral|prefer_not|must_not]\n"
    "  instance remove CLUSTER HOST:PORT\n"
    "  member add ID RAFT_ADDR             add a controller (RAFT_ADDR is IPv4:port)\n"
    "  member remove ID\n"
    "  member transfer-leader [ID]         hand leadership to ID (absent or 0: any)\n"
    "  help                                print this text\n"
    "\n"
    "Exit codes:\n"
    "  0  success\n"
    "  1  the controller refused or failed the request (\"error: ...\" on stderr)\n"
    "  2  bad arguments\n"
    "  3  controller unreachable, timed out, or sent a bad reply\n"
    "  4  no leader (status prints its table first)\n"
    "With --json, errors are also printed on stdout as\n"
    "  {\"ok\":false,\"code\":FO_ERROR_CODE,\"error\":\"...\"}\n";

const char *fo_ctl_usage(void) { return usage_text; }
