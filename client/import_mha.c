/* MHA 0.58 application files (app1.cnf): import.h.
 *
 * Format (MHA reads it with Config::Tiny): "[section]" headers and "key=value" lines,
 * blank lines and lines starting with '#' or ';' ignored, blanks around key and value
 * trimmed. [server default] holds what every [serverN] inherits; any other section
 * whose name starts with "server" is one MySQL server; [binlogN] sections are binlog
 * servers. Keys follow MHA's parameter list: the ones failoverd has an equivalent for
 * are mapped, every other known key becomes a note, and an unknown key is an error
 * (a typo such as "candiate_master" must not vanish silently). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "import_internal.h"

enum use {
    U_HOSTNAME, /* local only */
    U_IP,
    U_PORT,
    U_CANDIDATE,
    U_NO_MASTER,
    U_USER,
    U_PASSWORD,
    U_REPL_USER,
    U_REPL_PASSWORD,
    U_FAILOVER_SCRIPT,
    U_NOTE,
};

struct key {
    const char *name;
    enum use use;
    const char *why; /* U_NOTE: the reason it is not carried over */
};

#define NO_SSH "failoverd uses no ssh: a failover-agent runs on each database host"
#define NO_DIR "not needed: failoverd keeps its state in raft and sqlite on each controller and logs to stderr/journald"
#define SALVAGE                                                                                               \
    "binlog salvage from a dead primary is not available yet: use semi-sync (cluster add --semi-sync) so no " \
    "acknowledged write is lost"
#define FENCE                                                                                                      \
    "fencing is built in: failover-agent makes the old primary read-only, ends its sessions and drops its VIP at " \
    "a new epoch, and kills a stopped (SIGSTOPped) mysqld"

static const struct key keys[] = {
    {"hostname", U_HOSTNAME, NULL},
    {"ip", U_IP, NULL},
    {"port", U_PORT, NULL},
    {"candidate_master", U_CANDIDATE, NULL},
    {"no_master", U_NO_MASTER, NULL},
    {"user", U_USER, NULL},
    {"password", U_PASSWORD, NULL},
    {"repl_user", U_REPL_USER, NULL},
    {"repl_password", U_REPL_PASSWORD, NULL},
    {"master_ip_failover_script", U_FAILOVER_SCRIPT, NULL},
    {"master_ip_online_change_script", U_FAILOVER_SCRIPT, NULL},
    {"ssh_host", U_NOTE, NO_SSH},
    {"ssh_ip", U_NOTE, NO_SSH},
    {"ssh_port", U_NOTE, NO_SSH},
    {"ssh_user", U_NOTE, NO_SSH},
    {"ssh_options", U_NOTE, NO_SSH},
    {"ssh_connection_timeout", U_NOTE, NO_SSH},
    {"skip_init_ssh_check", U_NOTE, NO_SSH},
    {"remote_workdir", U_NOTE, NO_DIR},
    {"manager_workdir", U_NOTE, NO_DIR},
    {"manager_log", U_NOTE, NO_DIR},
    {"client_bindir", U_NOTE, NO_DIR},
    {"client_libdir", U_NOTE, NO_DIR},
    {"log_level", U_NOTE, "set log_level in each controller's failoverd.conf [failoverd]"},
    {"master_binlog_dir", U_NOTE, SALVAGE},
    {"disable_log_bin", U_NOTE, SALVAGE},
    {"master_pid_file", U_NOTE, FENCE},
    {"shutdown_script", U_NOTE, FENCE},
    {"ignore_fail", U_NOTE, "failoverd already goes on without unreachable replicas (MHA's ignore_fail=1 everywhere)"},
    {"skip_reset_slave", U_NOTE, "failoverd always runs RESET SLAVE ALL on the promoted server"},
    {"check_repl_delay", U_NOTE,
     "failoverd measures lag in seconds: cluster add --max-lag-s N keeps replicas lagging more from promotion "
     "(0, the default, promotes the most advanced replica whatever its lag)"},
    {"check_repl_filter", U_NOTE, "not checked: failoverd does not compare replication filters between servers"},
    {"latest_priority", U_NOTE,
     "failoverd chooses by rule (prefer, neutral, prefer_not), then the most advanced replica of that rule, which "
     "first catches up from the most advanced one (docs/catch-up.md); there is no fixed order among preferred servers"},
    {"multi_tier_slave", U_NOTE,
     "replicas of replicas are not repointed by failoverd yet; register only the primary and its direct replicas"},
    {"ping_interval", U_NOTE,
     "controller-wide: [probe] interval_ms and down_after in failoverd.conf (defaults 500 ms x 3; MHA: 3 s x 4)"},
    {"ping_type", U_NOTE, "failoverd probes with a persistent connection and a query, and watches the replicas too"},
    {"secondary_check_script", U_NOTE,
     "built in: a failure counts only when a majority of controllers and the replicas confirm it"},
    {"report_script", U_NOTE,
     "set post_failover / post_failover_failed in each controller's failoverd.conf [failover]"},
    {"init_conf_load_script", U_NOTE, "not supported: passwords come from files on each controller"},
};

static const struct key *find_key(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(keys[i].name, name) == 0) return &keys[i];
    return NULL;
}

enum section_kind { S_DEFAULT, S_SERVER, S_BINLOG };

struct kv {
    unsigned section; /* index into sections */
    const struct key *key;
    char *value;
    unsigned line;
};

struct section {
    char name[FO_NAME_LEN];
    enum section_kind kind;
    unsigned line;
};

struct parsed {
    struct section *sections;
    unsigned n_sections, cap_sections;
    struct kv *kvs;
    unsigned n_kvs, cap_kvs;
};

static void parsed_free(struct parsed *ps)
{
    unsigned i;

    for (i = 0; i < ps->n_kvs; i++) free(ps->kvs[i].value);
    free(ps->kvs);
    free(ps->sections);
}

static int grow(void **arr, unsigned *cap, unsigned n, size_t size)
{
    void *p;
    unsigned ncap;

    if (n < *cap) return 0;
    ncap = *cap ? *cap * 2 : 16;
    p = realloc(*arr, (size_t)ncap * size);
    if (p == NULL) return FO_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static int add_section(struct parsed *ps, const char *file, unsigned line, char *name, char err[FO_ERRLEN])
{
    struct section *s;
    unsigned i;

    name = fo__import_trim(name);
    if (name[0] == '\0') return fo_errf(err, FO_EINVAL, "%s:%u: empty section name", file, line);
    if (strlen(name) >= FO_NAME_LEN)
        return fo_errf(err, FO_EINVAL, "%s:%u: section name longer than %u bytes", file, line, FO_NAME_LEN - 1);
    for (i = 0; i < ps->n_sections; i++)
        if (strcmp(ps->sections[i].name, name) == 0)
            return fo_errf(err, FO_EINVAL, "%s:%u: [%s] appears twice (first at line %u)", file, line, name,
                           ps->sections[i].line);
    if (ps->n_sections >= FO_IMPORT_MAX_SERVERS + 16)
        return fo_errf(err, FO_EINVAL, "%s:%u: more than %u sections", file, line, FO_IMPORT_MAX_SERVERS + 16);
    if (grow((void **)&ps->sections, &ps->cap_sections, ps->n_sections, sizeof *ps->sections) != 0)
        return fo_errf(err, FO_ENOMEM, "out of memory");
    s = &ps->sections[ps->n_sections++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->line = line;
    if (strcmp(name, "server default") == 0 || strcmp(name, "server_default") == 0)
        s->kind = S_DEFAULT;
    else if (strncmp(name, "server", 6) == 0)
        s->kind = S_SERVER;
    else if (strncmp(name, "binlog", 6) == 0)
        s->kind = S_BINLOG;
    else
        return fo_errf(err, FO_EINVAL, "%s:%u: unknown section [%s] (MHA has [server default], [serverN], [binlogN])",
                       file, line, name);
    return 0;
}

static int add_kv(struct parsed *ps, const char *file, unsigned line, char *text, char err[FO_ERRLEN])
{
    char *eq = strchr(text, '='), *k, *v;
    const struct key *key;
    struct kv *kv;
    unsigned i;

    if (ps->n_sections == 0) return fo_errf(err, FO_EINVAL, "%s:%u: a setting before any [section]", file, line);
    if (eq == NULL) return fo_errf(err, FO_EINVAL, "%s:%u: expected key=value, a [section] or a comment", file, line);
    *eq = '\0';
    k = fo__import_trim(text);
    v = fo__import_trim(eq + 1);
    if (k[0] == '\0') return fo_errf(err, FO_EINVAL, "%s:%u: empty key", file, line);
    key = find_key(k);
    if (key == NULL) {
        char shown[96];
        fo_text_escape(shown, sizeof shown, k, strlen(k));
        return fo_errf(err, FO_EINVAL, "%s:%u: '%s' is not an MHA 0.58 parameter (a typo?)", file, line, shown);
    }
    for (i = 0; i < ps->n_kvs; i++)
        if (ps->kvs[i].section == ps->n_sections - 1 && ps->kvs[i].key == key)
            return fo_errf(err, FO_EINVAL, "%s:%u: %s is set twice in [%s] (first at line %u)", file, line, key->name,
                           ps->sections[ps->n_sections - 1].name, ps->kvs[i].line);
    if (grow((void **)&ps->kvs, &ps->cap_kvs, ps->n_kvs, sizeof *ps->kvs) != 0)
        return fo_errf(err, FO_ENOMEM, "out of memory");
    kv = &ps->kvs[ps->n_kvs];
    kv->value = strdup(v);
    if (kv->value == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    kv->section = ps->n_sections - 1;
    kv->key = key;
    kv->line = line;
    ps->n_kvs++;
    return 0;
}

static int parse_lines(struct parsed *ps, const char *file, const char *text, size_t len, char err[FO_ERRLEN])
{
    struct fo__import_lines *l = calloc(1, sizeof *l);
    int rc;

    if (l == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    l->file = file;
    l->text = text;
    l->len = len;
    for (;;) {
        int more = fo__import_next_line(l, err);
        char *s;
        size_t n;

        if (more <= 0) {
            rc = more < 0 ? FO_EINVAL : 0;
            break;
        }
        s = fo__import_trim(l->line);
        n = strlen(s);
        if (n == 0 || s[0] == '#' || s[0] == ';') continue;
        if (s[0] == '[') {
            if (s[n - 1] != ']') {
                rc = fo_errf(err, FO_EINVAL, "%s:%u: section header without ']'", file, l->lineno);
                break;
            }
            s[n - 1] = '\0';
            rc = add_section(ps, file, l->lineno, s + 1, err);
        } else {
            rc = add_kv(ps, file, l->lineno, s, err);
        }
        if (rc != 0) break;
    }
    free(l);
    return rc;
}

/* The value of key in section s, else in [server default] (sec_default, or -1). */
static const struct kv *lookup(const struct parsed *ps, unsigned s, int sec_default, enum use use)
{
    const struct kv *dflt = NULL;
    unsigned i;

    for (i = 0; i < ps->n_kvs; i++) {
        if (ps->kvs[i].key->use != use) continue;
        if (ps->kvs[i].section == s) return &ps->kvs[i];
        if (sec_default >= 0 && ps->kvs[i].section == (unsigned)sec_default) dflt = &ps->kvs[i];
    }
    return dflt;
}

/* 0 or 1, or -1 with err set. */
static int flag(const struct kv *kv, const char *file, char err[FO_ERRLEN])
{
    if (kv == NULL) return 0;
    if (strcmp(kv->value, "0") == 0) return 0;
    if (strcmp(kv->value, "1") == 0) return 1;
    fo_errf(err, FO_EINVAL, "%s:%u: %s must be 0 or 1", file, kv->line, kv->key->name);
    return -1;
}

/* One account for the whole cluster: the same value wherever it is set. */
static int account(const struct parsed *ps, enum use use, const char *file, const struct kv **out, char err[FO_ERRLEN])
{
    unsigned i;

    *out = NULL;
    for (i = 0; i < ps->n_kvs; i++) {
        const struct kv *kv = &ps->kvs[i];
        if (kv->key->use != use || ps->sections[kv->section].kind == S_BINLOG) continue;
        if (*out != NULL && strcmp((*out)->value, kv->value) != 0)
            return fo_errf(err, FO_EINVAL, "%s:%u: %s differs from line %u: failoverd uses one %s account per cluster",
                           file, kv->line, kv->key->name, (*out)->line, use == U_USER ? "monitoring" : "replication");
        if (*out == NULL) *out = kv;
    }
    return 0;
}

static int server_addr(struct fo_import_server *sv, const struct parsed *ps, unsigned s, int dflt, const char *file,
                       char err[FO_ERRLEN])
{
    const struct kv *host = lookup(ps, s, -1, U_HOSTNAME), *ip = lookup(ps, s, -1, U_IP);
    const struct kv *port = lookup(ps, s, dflt, U_PORT);
    const char *h;
    uint64_t p = 3306;
    char why[FO_ERRLEN];

    if (host == NULL)
        return fo_errf(err, FO_EINVAL, "%s:%u: [%s] has no hostname", file, ps->sections[s].line, ps->sections[s].name);
    h = ip != NULL ? ip->value : host->value; /* MHA connects to ip, resolved from hostname by default */
    if (port != NULL && fo_parse_u64(port->value, 1, 65535, &p, why) != 0)
        return fo_errf(err, FO_EINVAL, "%s:%u: port: %s", file, port->line, why);
    if (snprintf(sv->addr, sizeof sv->addr, strchr(h, ':') != NULL ? "[%s]:%u" : "%s:%u", h, (unsigned)p) >=
        (int)sizeof sv->addr)
        return fo_errf(err, FO_EINVAL, "%s:%u: host name too long", file, (ip != NULL ? ip : host)->line);
    if (fo_parse_hostport(sv->addr, NULL, 0, NULL, why) != 0)
        return fo_errf(err, FO_EINVAL, "%s:%u: %s", file, (ip != NULL ? ip : host)->line, why);
    return 0;
}

static int add_server(struct fo_import_plan *p, const struct parsed *ps, unsigned s, int dflt, char err[FO_ERRLEN])
{
    struct fo_import_server *sv;
    const struct kv *cand, *nomaster;
    int c, nm;
    unsigned i;

    if (ps->sections[s].kind == S_DEFAULT) {
        if (lookup(ps, s, -1, U_HOSTNAME) != NULL || lookup(ps, s, -1, U_IP) != NULL ||
            lookup(ps, s, -1, U_CANDIDATE) != NULL || lookup(ps, s, -1, U_NO_MASTER) != NULL)
            return fo_errf(err, FO_EINVAL,
                           "%s:%u: hostname, ip, candidate_master and no_master belong in a [serverN] block", p->file,
                           ps->sections[s].line);
        return 0;
    }
    if (ps->sections[s].kind == S_BINLOG) {
        fo__import_note(p, ps->sections[s].line, ps->sections[s].name,
                        "binlog servers are not supported; this section is ignored");
        return 0;
    }
    if (p->n_servers >= FO_IMPORT_MAX_SERVERS)
        return fo_errf(err, FO_EINVAL, "%s:%u: more than %u servers", p->file, ps->sections[s].line,
                       FO_IMPORT_MAX_SERVERS);
    sv = &p->servers[p->n_servers];
    snprintf(sv->name, sizeof sv->name, "%s", ps->sections[s].name);
    sv->line = ps->sections[s].line;
    if (server_addr(sv, ps, s, dflt, p->file, err) != 0) return FO_EINVAL;
    for (i = 0; i < p->n_servers; i++)
        if (strcmp(p->servers[i].addr, sv->addr) == 0)
            return fo_errf(err, FO_EINVAL, "%s:%u: [%s] is %s, like [%s] at line %u", p->file, sv->line, sv->name,
                           sv->addr, p->servers[i].name, p->servers[i].line);
    cand = lookup(ps, s, -1, U_CANDIDATE);
    nomaster = lookup(ps, s, -1, U_NO_MASTER);
    if ((c = flag(cand, p->file, err)) < 0 || (nm = flag(nomaster, p->file, err)) < 0) return FO_EINVAL;
    if (c && nm)
        return fo_errf(err, FO_EINVAL, "%s:%u: [%s] has both candidate_master=1 and no_master=1", p->file, sv->line,
                       sv->name);
    sv->rule = c ? FO_RULE_PREFER : nm ? FO_RULE_MUST_NOT : FO_RULE_NEUTRAL;
    if (sv->rule != FO_RULE_NEUTRAL)
        snprintf(sv->rule_why, sizeof sv->rule_why, "%s:%u %s=1", p->file, (c ? cand : nomaster)->line,
                 c ? "candidate_master" : "no_master");
    p->n_servers++;
    return 0;
}

static void notes(struct fo_import_plan *p, const struct parsed *ps, const struct fo_import_options *o)
{
    unsigned i, candidates = 0;

    for (i = 0; i < ps->n_kvs; i++) {
        const struct kv *kv = &ps->kvs[i];
        if (ps->sections[kv->section].kind == S_BINLOG) continue;
        if (kv->key->use == U_NOTE) fo__import_note(p, kv->line, kv->key->name, "%s", kv->key->why);
        if (kv->key->use == U_PASSWORD || kv->key->use == U_REPL_PASSWORD)
            fo__import_note(p, kv->line, kv->key->name, "not copied: failoverd reads it from %s on each controller",
                            kv->key->use == U_PASSWORD ? p->password_file : p->repl_password_file);
        if (kv->key->use == U_FAILOVER_SCRIPT)
            fo__import_note(p, kv->line, kv->key->name, "%s",
                            o != NULL && o->vip[0] != '\0'
                                ? "replaced by the writer VIP given with --vip, moved by failover-agent"
                                : "failover-agent moves a writer VIP: give --vip ADDR/LEN --vip-interface IF; other "
                                  "actions of the script (DNS, proxies) can run from the post_failover hook");
    }
    for (i = 0; i < p->n_servers; i++) candidates += p->servers[i].rule == FO_RULE_PREFER;
    if (candidates > 1)
        fo__import_note(p, 0, "candidate_master",
                        "%u servers have candidate_master=1: MHA orders them by block name, failoverd promotes the "
                        "most advanced of them",
                        candidates);
}

int fo_import_mha(struct fo_import_plan *p, const char *path, const char *text, size_t len,
                  const struct fo_import_options *o, char err[FO_ERRLEN])
{
    struct parsed ps = {0};
    const struct kv *user, *repl;
    int rc, dflt = -1;
    unsigned i;

    if ((rc = fo__import_begin(p, FO_IMPORT_MHA, path, len, err)) != 0) return rc;
    if ((rc = parse_lines(&ps, p->file, text, len, err)) != 0) goto out;
    for (i = 0; i < ps.n_sections; i++)
        if (ps.sections[i].kind == S_DEFAULT) dflt = (int)i;
    for (i = 0; i < ps.n_sections; i++)
        if ((rc = add_server(p, &ps, i, dflt, err)) != 0) goto out;
    if ((rc = account(&ps, U_USER, p->file, &user, err)) != 0) goto out;
    if ((rc = account(&ps, U_REPL_USER, p->file, &repl, err)) != 0) goto out;
    snprintf(p->user, sizeof p->user, "%s", user != NULL ? user->value : "root");
    if (repl != NULL) snprintf(p->repl_user, sizeof p->repl_user, "%s", repl->value);
    if ((user != NULL && user->value[0] == '\0') || (repl != NULL && repl->value[0] == '\0')) {
        rc = fo_errf(err, FO_EINVAL, "%s:%u: empty user name", p->file, (user != NULL ? user : repl)->line);
        goto out;
    }
    if (o != NULL && o->vip[0] != '\0') {
        snprintf(p->vip, sizeof p->vip, "%s", o->vip);
        snprintf(p->vip_interface, sizeof p->vip_interface, "%s", o->vip_interface);
    }
    if ((rc = fo__import_finish(p, o, err)) != 0) goto out;
    if (user == NULL) fo__import_note(p, 0, "user", "not set: MHA's default is root, used here");
    if (repl == NULL)
        fo__import_note(p, 0, "repl_user",
                        "not set: MHA takes Master_User from SHOW SLAVE STATUS; failoverd needs an account to "
                        "repoint a former primary (add --repl-user and --repl-password-file to cluster add)");
    notes(p, &ps, o);
out:
    parsed_free(&ps);
    return rc;
}
