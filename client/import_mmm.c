/* MMM 2 common files (mmm_common.conf): import.h.
 *
 * Format (MMM 2's Config parser): blocks "<host NAME>" ... "</host>", "<role NAME>",
 * "<monitor>", "<check NAME>", "<socket>", "<copy_method NAME>", not nested; inside and
 * outside blocks one "key value" per line (the value is the rest of the line); blank
 * lines and '#' comments ignored. <host default> holds what every host inherits. Each
 * host has an ip, a mode (master or slave) and, for a master, its peer. The role named
 * by active_master_role (the writer) is exclusive and holds one IP; balanced roles
 * (readers) spread their IPs over their hosts.
 *
 * Mapping: every host is one server; hosts that may hold the writer role are
 * `prefer`, the others `must_not` (MMM never gives the writer role to them); the writer
 * role's IP is the writer VIP and the balanced roles' IPs are reader VIPs, on the
 * hosts' cluster_interface; agent_user (the maccount MMM changes read_only and
 * replication with) is the cluster's maccount, replication_user its replication one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "import_internal.h"

enum block { B_TOP, B_HOST, B_ROLE, B_MONITOR, B_CHECK, B_SOCKET, B_COPY, B_N };

static const char *const block_names[B_N] = {"", "host", "role", "monitor", "check", "socket", "copy_method"};

enum muse {
    M_IP,
    M_MODE,
    M_PEER,
    M_PORT,
    M_IFACE,
    M_AGENT_USER,
    M_REPL_USER,
    M_PASSWORD,
    M_ROLE_HOSTS,
    M_ROLE_IPS,
    M_ROLE_MODE,
    M_ACTIVE_ROLE,
    M_NOTE,
    M_IGNORE, /* known, nothing to say: per-host paths of MMM's own tools */
};

struct mkey {
    enum block block;
    const char *name;
    enum muse use;
    const char *why;
};

#define NOT_FO "MMM's own daemons and tools are replaced by failoverd and failover-agent: not needed"
#define PROBE "controller-wide: [probe] interval_ms, read_timeout_ms and down_after in failoverd.conf"

static const struct mkey mkeys[] = {
    {B_TOP, "active_master_role", M_ACTIVE_ROLE, NULL},
    {B_TOP, "include", M_NOTE, "not followed: import mmm_common.conf itself"},
    {B_TOP, "this", M_NOTE, "agent-only setting: each failover-agent has its own config"},
    {B_TOP, "debug", M_NOTE, "set log_level in failoverd.conf [failoverd]"},
    {B_TOP, "max_kill_retries", M_NOTE, NOT_FO},
    {B_TOP, "default_copy_method", M_NOTE, NOT_FO},
    {B_TOP, "clone_dirs", M_NOTE, NOT_FO},
    {B_HOST, "ip", M_IP, NULL},
    {B_HOST, "mode", M_MODE, NULL},
    {B_HOST, "peer", M_PEER, NULL},
    {B_HOST, "mysql_port", M_PORT, NULL},
    {B_HOST, "cluster_interface", M_IFACE, NULL},
    {B_HOST, "agent_user", M_AGENT_USER, NULL},
    {B_HOST, "replication_user", M_REPL_USER, NULL},
    {B_HOST, "agent_password", M_PASSWORD, NULL},
    {B_HOST, "replication_password", M_PASSWORD, NULL},
    {B_HOST, "monitor_user", M_NOTE, "failoverd probes and acts with one maccount: agent_user is used"},
    {B_HOST, "monitor_password", M_NOTE, "not copied (monitor_user is not used)"},
    {B_HOST, "agent_port", M_NOTE, "failover-agent listens on its own port: cluster add --agent-port (default 7201)"},
    {B_HOST, "pid_path", M_IGNORE, NULL},
    {B_HOST, "bin_path", M_IGNORE, NULL},
    {B_HOST, "mysql_pidfile", M_IGNORE, NULL},
    {B_HOST, "mysql_rcscript", M_IGNORE, NULL},
    {B_HOST, "mysql_cnf", M_IGNORE, NULL},
    {B_HOST, "lvm_bin_path", M_IGNORE, NULL},
    {B_HOST, "lvm_snapshot_size", M_IGNORE, NULL},
    {B_HOST, "lvm_logvol", M_IGNORE, NULL},
    {B_HOST, "lvm_mount_dir", M_IGNORE, NULL},
    {B_HOST, "lvm_mount_opts", M_IGNORE, NULL},
    {B_HOST, "tools_tempdir", M_IGNORE, NULL},
    {B_HOST, "backup_dir", M_IGNORE, NULL},
    {B_HOST, "restore_dir", M_IGNORE, NULL},
    {B_HOST, "clone_dirs", M_IGNORE, NULL},
    {B_ROLE, "hosts", M_ROLE_HOSTS, NULL},
    {B_ROLE, "ips", M_ROLE_IPS, NULL},
    {B_ROLE, "mode", M_ROLE_MODE, NULL},
    {B_ROLE, "prefer", M_NOTE, "failoverd has no sticky preference: use instance rule prefer on that server"},
    {B_MONITOR, "ping_ips", M_NOTE,
     "built in: a failure counts only when a majority of controllers and the replicas confirm it"},
    {B_MONITOR, "auto_set_online", M_NOTE,
     "failoverd rejoins a former primary as a replica by itself when it is safe (needs the replication maccount)"},
    {B_MONITOR, "flap_duration", M_NOTE, "cluster add --anti-flap-s N: no automatic failover this long after one"},
    {B_MONITOR, "flap_count", M_NOTE, "cluster add --anti-flap-s N: no automatic failover this long after one"},
    {B_MONITOR, "ping_interval", M_NOTE, PROBE},
    {B_MONITOR, "wait_for_other_master", M_NOTE, "not needed: failoverd waits for the replicas' relay logs itself"},
    {B_MONITOR, "ip", M_IGNORE, NULL},
    {B_MONITOR, "port", M_IGNORE, NULL},
    {B_MONITOR, "pid_path", M_IGNORE, NULL},
    {B_MONITOR, "bin_path", M_IGNORE, NULL},
    {B_MONITOR, "status_path", M_IGNORE, NULL},
    {B_MONITOR, "kill_host_bin", M_NOTE, "fencing is built in: failover-agent fences the old primary at a new epoch"},
    {B_MONITOR, "careful_startup", M_IGNORE, NULL},
    {B_MONITOR, "mode", M_IGNORE, NULL},
    {B_CHECK, "check_period", M_NOTE, PROBE},
    {B_CHECK, "trap_period", M_NOTE, PROBE},
    {B_CHECK, "timeout", M_NOTE, PROBE},
    {B_CHECK, "restart_after", M_IGNORE, NULL},
    {B_CHECK, "max_backlog", M_NOTE,
     "lag is measured in seconds: cluster add --max-lag-s and --reader-max-lag-s (MMM: rep_backlog)"},
    {B_SOCKET, "type", M_NOTE, "failoverd and failover-agent always use mutual TLS: see deploy/gen-certs.sh"},
    {B_SOCKET, "cert_file", M_IGNORE, NULL},
    {B_SOCKET, "key_file", M_IGNORE, NULL},
    {B_SOCKET, "ca_file", M_IGNORE, NULL},
    {B_COPY, "backup_command", M_IGNORE, NULL},
    {B_COPY, "restore_command", M_IGNORE, NULL},
    {B_COPY, "incremental_command", M_IGNORE, NULL},
    {B_COPY, "single_run", M_IGNORE, NULL},
    {B_COPY, "true_copy", M_IGNORE, NULL},
};

static const struct mkey *find_mkey(enum block b, const char *name)
{
    size_t i;

    for (i = 0; i < sizeof mkeys / sizeof mkeys[0]; i++)
        if (mkeys[i].block == b && strcmp(mkeys[i].name, name) == 0) return &mkeys[i];
    return NULL;
}

#define MAX_ROLES 32u
#define MAX_LIST 64u /* names or IPs in one role line */

struct host {
    char name[FO_NAME_LEN];
    unsigned line;
    const char *v[M_NOTE]; /* the value of each mapped key, NULL if unset (points into a kv) */
    unsigned vline[M_NOTE];
    int writer_ok; /* named by the writer role's hosts */
};

struct role {
    char name[FO_NAME_LEN];
    unsigned line;
    char *hosts, *ips, *mode; /* owned */
    unsigned hosts_line, ips_line;
};

struct mparsed {
    struct host dflt;
    struct host *hosts;
    unsigned n_hosts, cap_hosts;
    struct role roles[MAX_ROLES];
    unsigned n_roles;
    char **values; /* every value kept, freed at the end */
    unsigned n_values, cap_values;
    char active_role[FO_NAME_LEN];
    unsigned active_role_line;
};

static void mparsed_free(struct mparsed *ps)
{
    unsigned i;

    for (i = 0; i < ps->n_values; i++) free(ps->values[i]);
    free(ps->values);
    free(ps->hosts);
}

static char *keep(struct mparsed *ps, const char *v)
{
    char *copy;

    if (ps->n_values >= ps->cap_values) {
        unsigned ncap = ps->cap_values ? ps->cap_values * 2 : 64;
        char **nv = realloc(ps->values, ncap * sizeof *nv);
        if (nv == NULL) return NULL;
        ps->values = nv;
        ps->cap_values = ncap;
    }
    copy = strdup(v);
    if (copy != NULL) ps->values[ps->n_values++] = copy;
    return copy;
}

struct cursor {
    enum block block;
    struct host *host; /* B_HOST: the host being read (or &dflt) */
    struct role *role; /* B_ROLE */
    unsigned line;     /* where the block opened */
};

static int open_block(struct fo_import_plan *p, struct mparsed *ps, struct cursor *c, char *s, unsigned line,
                      char err[FO_ERRLEN])
{
    char *name, *end = s + strlen(s) - 1;
    unsigned b, i;

    if (c->block != B_TOP)
        return fo_errf(err, FO_EINVAL, "%s:%u: a block inside <%s> (opened at line %u): missing </%s>?", p->file, line,
                       block_names[c->block], c->line, block_names[c->block]);
    if (*end != '>') return fo_errf(err, FO_EINVAL, "%s:%u: block header without '>'", p->file, line);
    *end = '\0';
    s = fo__import_trim(s + 1);
    name = s + strcspn(s, " \t");
    if (*name != '\0') *name++ = '\0';
    name = fo__import_trim(name);
    for (b = 1; b < B_N; b++)
        if (strcmp(s, block_names[b]) == 0) break;
    if (b == B_N) {
        char shown[64];
        fo_text_escape(shown, sizeof shown, s, strlen(s));
        return fo_errf(err, FO_EINVAL, "%s:%u: unknown block <%s>", p->file, line, shown);
    }
    if (strlen(name) >= FO_NAME_LEN)
        return fo_errf(err, FO_EINVAL, "%s:%u: block name longer than %u bytes", p->file, line, FO_NAME_LEN - 1);
    if ((b == B_HOST || b == B_ROLE) && name[0] == '\0')
        return fo_errf(err, FO_EINVAL, "%s:%u: <%s> needs a name", p->file, line, block_names[b]);
    c->block = b;
    c->line = line;
    c->host = NULL;
    c->role = NULL;
    if (b == B_HOST && strcmp(name, "default") == 0) {
        c->host = &ps->dflt;
    } else if (b == B_HOST) {
        for (i = 0; i < ps->n_hosts; i++)
            if (strcmp(ps->hosts[i].name, name) == 0)
                return fo_errf(err, FO_EINVAL, "%s:%u: <host %s> appears twice (first at line %u)", p->file, line, name,
                               ps->hosts[i].line);
        if (ps->n_hosts >= FO_IMPORT_MAX_SERVERS)
            return fo_errf(err, FO_EINVAL, "%s:%u: more than %u hosts", p->file, line, FO_IMPORT_MAX_SERVERS);
        if (ps->n_hosts >= ps->cap_hosts) {
            unsigned ncap = ps->cap_hosts ? ps->cap_hosts * 2 : 16;
            struct host *nh = realloc(ps->hosts, ncap * sizeof *nh);
            if (nh == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
            ps->hosts = nh;
            ps->cap_hosts = ncap;
        }
        c->host = &ps->hosts[ps->n_hosts++];
        memset(c->host, 0, sizeof *c->host);
        snprintf(c->host->name, sizeof c->host->name, "%s", name);
        c->host->line = line;
    } else if (b == B_ROLE) {
        for (i = 0; i < ps->n_roles; i++)
            if (strcmp(ps->roles[i].name, name) == 0)
                return fo_errf(err, FO_EINVAL, "%s:%u: <role %s> appears twice (first at line %u)", p->file, line, name,
                               ps->roles[i].line);
        if (ps->n_roles >= MAX_ROLES)
            return fo_errf(err, FO_EINVAL, "%s:%u: more than %u roles", p->file, line, MAX_ROLES);
        c->role = &ps->roles[ps->n_roles++];
        memset(c->role, 0, sizeof *c->role);
        snprintf(c->role->name, sizeof c->role->name, "%s", name);
        c->role->line = line;
    }
    return 0;
}

static int close_block(struct fo_import_plan *p, struct cursor *c, char *s, unsigned line, char err[FO_ERRLEN])
{
    size_t n = strlen(s);

    if (c->block == B_TOP) return fo_errf(err, FO_EINVAL, "%s:%u: '%s' closes no open block", p->file, line, "</>");
    if (n < 4 || s[n - 1] != '>' || strncmp(s + 2, block_names[c->block], strlen(block_names[c->block])) != 0 ||
        fo__import_trim(s + 2 + strlen(block_names[c->block]))[0] != '>')
        return fo_errf(err, FO_EINVAL, "%s:%u: expected </%s> to close the block opened at line %u", p->file, line,
                       block_names[c->block], c->line);
    c->block = B_TOP;
    return 0;
}

static int set_key(struct fo_import_plan *p, struct mparsed *ps, struct cursor *c, char *s, unsigned line,
                   char err[FO_ERRLEN])
{
    char *v = s + strcspn(s, " \t"), *kept;
    const struct mkey *k;

    if (*v != '\0') *v++ = '\0';
    v = fo__import_trim(v);
    k = find_mkey(c->block, s);
    if (k == NULL) {
        char shown[96];
        fo_text_escape(shown, sizeof shown, s, strlen(s));
        if (c->block == B_TOP)
            return fo_errf(err, FO_EINVAL, "%s:%u: '%s' is not an MMM 2 setting (a typo?)", p->file, line, shown);
        return fo_errf(err, FO_EINVAL, "%s:%u: '%s' is not an MMM 2 setting of <%s> (a typo?)", p->file, line, shown,
                       block_names[c->block]);
    }
    if (k->use == M_IGNORE) return 0;
    if (k->use == M_NOTE) {
        fo__import_note(p, line, k->name, "%s", k->why);
        return 0;
    }
    if (v[0] == '\0') return fo_errf(err, FO_EINVAL, "%s:%u: %s has no value", p->file, line, k->name);
    if ((kept = keep(ps, v)) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    switch (k->use) {
    case M_ACTIVE_ROLE:
        snprintf(ps->active_role, sizeof ps->active_role, "%s", v);
        ps->active_role_line = line;
        return 0;
    case M_ROLE_HOSTS: c->role->hosts = kept, c->role->hosts_line = line; return 0;
    case M_ROLE_IPS: c->role->ips = kept, c->role->ips_line = line; return 0;
    case M_ROLE_MODE: c->role->mode = kept; return 0;
    case M_PASSWORD:
        fo__import_note(p, line, k->name, "not copied: failoverd reads passwords from files on each controller");
        return 0;
    default:
        if (c->host->v[k->use] != NULL)
            return fo_errf(err, FO_EINVAL, "%s:%u: %s is set twice in <host %s> (first at line %u)", p->file, line,
                           k->name, c->host->name, c->host->vline[k->use]);
        c->host->v[k->use] = kept;
        c->host->vline[k->use] = line;
        return 0;
    }
}

static int mparse_lines(struct fo_import_plan *p, struct mparsed *ps, const char *text, size_t len, char err[FO_ERRLEN])
{
    struct fo__import_lines *l = calloc(1, sizeof *l);
    struct cursor c = {B_TOP, NULL, NULL, 0};
    int rc;

    if (l == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    l->file = p->file;
    l->text = text;
    l->len = len;
    for (;;) {
        int more = fo__import_next_line(l, err);
        char *s;

        if (more <= 0) {
            rc = more < 0 ? FO_EINVAL : 0;
            break;
        }
        s = fo__import_trim(l->line);
        if (s[0] == '\0' || s[0] == '#') continue;
        if (s[0] == '<' && s[1] == '/')
            rc = close_block(p, &c, s, l->lineno, err);
        else if (s[0] == '<')
            rc = open_block(p, ps, &c, s, l->lineno, err);
        else
            rc = set_key(p, ps, &c, s, l->lineno, err);
        if (rc != 0) break;
    }
    if (rc == 0 && c.block != B_TOP)
        rc = fo_errf(err, FO_EINVAL, "%s:%u: <%s> is never closed", p->file, c.line, block_names[c.block]);
    free(l);
    return rc;
}

/* The host's value of key use, else <host default>'s; *line gets where it was set. */
static const char *hv(const struct mparsed *ps, const struct host *h, enum muse use, unsigned *line)
{
    const struct host *from = h->v[use] != NULL ? h : &ps->dflt;

    if (line != NULL) *line = from->vline[use];
    return from->v[use];
}

/* Calls fn for each comma/blank-separated item of list; stops at the first error. */
static int each_item(const char *list, int (*fn)(void *, const char *, char *), void *arg, char err[FO_ERRLEN])
{
    char item[FO_NAME_LEN];
    unsigned n = 0;

    while (*list != '\0') {
        size_t k = strcspn(list, ", \t");
        if (k > 0) {
            if (k >= sizeof item || ++n > MAX_LIST) return fo_errf(err, FO_EINVAL, "item too long or too many items");
            memcpy(item, list, k);
            item[k] = '\0';
            if (fn(arg, item, err) != 0) return FO_EINVAL;
        }
        list += k;
        list += strspn(list, ", \t");
    }
    return 0;
}

static struct host *find_host(struct mparsed *ps, const char *name)
{
    unsigned i;

    for (i = 0; i < ps->n_hosts; i++)
        if (strcmp(ps->hosts[i].name, name) == 0) return &ps->hosts[i];
    return NULL;
}

struct role_ctx {
    struct fo_import_plan *p;
    struct mparsed *ps;
    const struct role *role;
    int writer;
    unsigned prefix;
    unsigned n;
};

static int role_host(void *arg, const char *name, char err[FO_ERRLEN])
{
    struct role_ctx *rc = arg;
    struct host *h = find_host(rc->ps, name);

    if (h == NULL)
        return fo_errf(err, FO_EINVAL, "%s:%u: <role %s> names host %s, which has no <host> block", rc->p->file,
                       rc->role->hosts_line, rc->role->name, name);
    if (rc->writer) h->writer_ok = 1; /* may hold the writer role */
    return 0;
}

static int role_ip(void *arg, const char *ip, char err[FO_ERRLEN])
{
    struct role_ctx *rc = arg;
    char vip[FO_NAME_LEN + 16], why[FO_ERRLEN]; /* an item is shorter than FO_NAME_LEN */

    snprintf(vip, sizeof vip, "%s/%u", ip, rc->prefix);
    if (strlen(vip) >= FO_VIP_LEN || fo_parse_cidr4(vip, why) != 0)
        return fo_errf(err, FO_EINVAL, "%s:%u: <role %s>: %s", rc->p->file, rc->role->ips_line, rc->role->name, why);
    if (rc->writer) {
        if (rc->n++ > 0)
            return fo_errf(err, FO_EINVAL, "%s:%u: <role %s> has more than one IP: failoverd has one writer VIP",
                           rc->p->file, rc->role->ips_line, rc->role->name);
        memcpy(rc->p->vip, vip, strlen(vip) + 1);
        return 0;
    }
    if (rc->p->n_reader_vips >= FO_IMPORT_MAX_READER_VIPS)
        return fo_errf(err, FO_EINVAL, "%s:%u: more than %u reader IPs", rc->p->file, rc->role->ips_line,
                       FO_IMPORT_MAX_READER_VIPS);
    memcpy(rc->p->reader_vips[rc->p->n_reader_vips++], vip, strlen(vip) + 1);
    return 0;
}

static int roles(struct fo_import_plan *p, struct mparsed *ps, const struct fo_import_options *o, char err[FO_ERRLEN])
{
    unsigned i, prefix = o != NULL && o->vip_prefix != 0 ? o->vip_prefix : 32;
    const char *writer = ps->active_role[0] != '\0' ? ps->active_role : "writer";
    int found = 0;

    for (i = 0; i < ps->n_roles; i++) {
        const struct role *r = &ps->roles[i];
        struct role_ctx rc = {p, ps, r, strcmp(r->name, writer) == 0, prefix, 0};

        if (r->hosts == NULL || r->ips == NULL)
            return fo_errf(err, FO_EINVAL, "%s:%u: <role %s> needs hosts and ips", p->file, r->line, r->name);
        if (r->mode != NULL && strcmp(r->mode, "exclusive") != 0 && strcmp(r->mode, "balanced") != 0)
            return fo_errf(err, FO_EINVAL, "%s:%u: <role %s>: mode must be exclusive or balanced", p->file, r->line,
                           r->name);
        if (!rc.writer && r->mode != NULL && strcmp(r->mode, "exclusive") == 0) {
            fo__import_note(p, r->line, r->name,
                            "exclusive roles other than the writer have no equivalent; its IPs are not moved");
            continue;
        }
        found |= rc.writer;
        if (each_item(r->hosts, role_host, &rc, err) != 0 || each_item(r->ips, role_ip, &rc, err) != 0)
            return FO_EINVAL;
        if (!rc.writer)
            fo__import_note(p, r->hosts_line, r->name,
                            "reader VIPs go to any healthy replica within --reader-max-lag-s, not only to the "
                            "hosts listed");
    }
    if (!found)
        return fo_errf(err, FO_EINVAL, "%s: no <role %s> (the active_master_role): which hosts may be written to?",
                       p->file, writer);
    if (prefix == 32)
        fo__import_note(p, 0, "ips",
                        "MMM role IPs are bare addresses; imported as /32 (give --vip-prefix LEN for the subnet's "
                        "prefix length)");
    return 0;
}

static int maccount(struct fo_import_plan *p, const struct mparsed *ps, enum muse use, char *out, size_t outlen,
                    char err[FO_ERRLEN])
{
    const char *first = NULL;
    unsigned i, line, first_line = 0;

    for (i = 0; i < ps->n_hosts; i++) {
        const char *v = hv(ps, &ps->hosts[i], use, &line);
        if (v == NULL) continue;
        if (first != NULL && strcmp(first, v) != 0)
            return fo_errf(err, FO_EINVAL, "%s:%u: differs from line %u: failoverd uses one %s maccount per cluster",
                           p->file, line, first_line, use == M_AGENT_USER ? "agent" : "replication");
        if (first == NULL) first = v, first_line = line;
    }
    if (first != NULL) snprintf(out, outlen, "%s", first);
    return 0;
}

static int host_to_server(struct fo_import_plan *p, struct mparsed *ps, struct host *h, char err[FO_ERRLEN])
{
    struct fo_import_server *sv = &p->servers[p->n_servers];
    const char *ip = hv(ps, h, M_IP, NULL), *mode = hv(ps, h, M_MODE, NULL), *port = hv(ps, h, M_PORT, NULL);
    const char *peer = hv(ps, h, M_PEER, NULL);
    uint64_t pn = 3306;
    unsigned line;
    char why[FO_ERRLEN];

    if (ip == NULL) return fo_errf(err, FO_EINVAL, "%s:%u: <host %s> has no ip", p->file, h->line, h->name);
    if (mode == NULL || (strcmp(mode, "master") != 0 && strcmp(mode, "slave") != 0))
        return fo_errf(err, FO_EINVAL, "%s:%u: <host %s>: mode must be master or slave", p->file, h->line, h->name);
    if (peer != NULL && find_host(ps, peer) == NULL)
        return fo_errf(err, FO_EINVAL, "%s:%u: <host %s>: peer %s has no <host> block", p->file, h->vline[M_PEER],
                       h->name, peer);
    if (port != NULL) {
        hv(ps, h, M_PORT, &line);
        if (fo_parse_u64(port, 1, 65535, &pn, why) != 0)
            return fo_errf(err, FO_EINVAL, "%s:%u: mysql_port: %s", p->file, line, why);
    }
    snprintf(sv->name, sizeof sv->name, "%s", h->name);
    sv->line = h->line;
    if (snprintf(sv->addr, sizeof sv->addr, strchr(ip, ':') != NULL ? "[%s]:%u" : "%s:%u", ip, (unsigned)pn) >=
            (int)sizeof sv->addr ||
        fo_parse_hostport(sv->addr, NULL, 0, NULL, why) != 0)
        return fo_errf(err, FO_EINVAL, "%s:%u: <host %s>: bad ip", p->file, h->line, h->name);
    if (h->writer_ok) {
        sv->rule = FO_RULE_PREFER;
        snprintf(sv->rule_why, sizeof sv->rule_why, "%s:%u may hold the writer role", p->file, h->line);
    } else {
        sv->rule = FO_RULE_MUST_NOT;
        snprintf(sv->rule_why, sizeof sv->rule_why, "%s:%u never holds the writer role in MMM", p->file, h->line);
    }
    p->n_servers++;
    return 0;
}

/* MMM's master-master pair -> co_primaries (docs/co-primary.md): two `mode master`
 * hosts naming each other as peer, once (from the first of the two). A one-sided peer,
 * a slave's peer or a second pair cannot be carried over and is a note. */
static int peer_pair(struct fo_import_plan *p, struct mparsed *ps, unsigned i, char err[FO_ERRLEN])
{
    const char *peer = hv(ps, &ps->hosts[i], M_PEER, NULL);
    const struct host *other = peer != NULL ? find_host(ps, peer) : NULL;
    const char *back = other != NULL ? hv(ps, other, M_PEER, NULL) : NULL;
    const char *omode = other != NULL ? hv(ps, other, M_MODE, NULL) : NULL;
    char text[FO_CO_PRIMARIES_LEN + 2], why[FO_ERRLEN];
    struct fo_endpoint ep[2];
    unsigned j = (unsigned)(other != NULL ? other - ps->hosts : 0);

    if (other == NULL) return 0;
    if (strcmp(hv(ps, &ps->hosts[i], M_MODE, NULL), "master") != 0 || omode == NULL || strcmp(omode, "master") != 0 ||
        back == NULL || strcmp(back, ps->hosts[i].name) != 0) {
        fo__import_note(p, ps->hosts[i].line, "peer",
                        "%s names %s as its peer, but they are not two `mode master` hosts naming each other: not "
                        "imported as a co-primary pair",
                        ps->hosts[i].name, peer);
        return 0;
    }
    if (j < i) return 0; /* the pair was taken from the first of the two */
    if (p->co_primaries[0] != '\0') {
        fo__import_note(p, ps->hosts[i].line, "peer",
                        "%s and %s are a second master-master pair: failoverd has one co-primary pair per cluster (%s)",
                        ps->hosts[i].name, peer, p->co_primaries);
        return 0;
    }
    if (snprintf(text, sizeof text, "%s,%s", p->servers[i].addr, p->servers[j].addr) >= (int)sizeof text ||
        fo_parse_co_primaries(text, ep, p->co_primaries, why) != 0)
        return fo_errf(err, FO_EINVAL, "%s:%u: <host %s> and <host %s> as co-primaries: %s", p->file, ps->hosts[i].line,
                       ps->hosts[i].name, peer, why);
    return 0;
}

static int hosts(struct fo_import_plan *p, struct mparsed *ps, const struct fo_import_options *o, char err[FO_ERRLEN])
{
    unsigned i, j, line;
    const char *iface;

    for (i = 0; i < ps->n_hosts; i++) {
        if (host_to_server(p, ps, &ps->hosts[i], err) != 0) return FO_EINVAL;
        for (j = 0; j < i; j++)
            if (strcmp(p->servers[j].addr, p->servers[i].addr) == 0)
                return fo_errf(err, FO_EINVAL, "%s:%u: <host %s> is %s, like <host %s>", p->file, ps->hosts[i].line,
                               ps->hosts[i].name, p->servers[i].addr, ps->hosts[j].name);
    }
    if (o != NULL && o->vip_interface[0] != '\0') {
        snprintf(p->vip_interface, sizeof p->vip_interface, "%s", o->vip_interface);
    } else {
        for (i = 0; i < ps->n_hosts; i++) {
            iface = hv(ps, &ps->hosts[i], M_IFACE, &line);
            if (iface == NULL) continue;
            if (p->vip_interface[0] != '\0' && strcmp(p->vip_interface, iface) != 0)
                return fo_errf(err, FO_EINVAL,
                               "%s:%u: cluster_interface differs between hosts: failoverd uses one interface per "
                               "cluster (give --vip-interface IF)",
                               p->file, line);
            snprintf(p->vip_interface, sizeof p->vip_interface, "%s", iface);
        }
    }
    for (i = 0; i < ps->n_hosts; i++)
        if (peer_pair(p, ps, i, err) != 0) return FO_EINVAL;
    return 0;
}

int fo_import_mmm(struct fo_import_plan *p, const char *path, const char *text, size_t len,
                  const struct fo_import_options *o, char err[FO_ERRLEN])
{
    struct mparsed *ps = calloc(1, sizeof *ps);
    int rc;

    if (ps == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    if ((rc = fo__import_begin(p, FO_IMPORT_MMM, path, len, err)) != 0) goto out;
    if ((rc = mparse_lines(p, ps, text, len, err)) != 0) goto out;
    if (ps->n_hosts == 0) {
        rc = fo_errf(err, FO_EINVAL, "%s: no <host NAME> blocks", p->file);
        goto out;
    }
    if ((rc = roles(p, ps, o, err)) != 0) goto out;
    if ((rc = hosts(p, ps, o, err)) != 0) goto out;
    if ((rc = maccount(p, ps, M_AGENT_USER, p->user, sizeof p->user, err)) != 0) goto out;
    if ((rc = maccount(p, ps, M_REPL_USER, p->repl_user, sizeof p->repl_user, err)) != 0) goto out;
    if (p->user[0] == '\0') {
        rc = fo_errf(err, FO_EINVAL, "%s: no agent_user: failoverd needs the maccount MMM's agents act with", p->file);
        goto out;
    }
    rc = fo__import_finish(p, o, err);
out:
    mparsed_free(ps);
    free(ps);
    return rc;
}
