#include "controller/admin/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/prom.h"
#include "controller/act/failover.h"
#include "controller/admin/admin.h"
#include "controller/admin/web.h"
#include "controller/decide/topology.h"
#include "controller/probe/health.h"
#include "controller/probe/monitor.h"
#include "failoverd.pb-c.h"
#include "store/store.h"

/* How far back the per-cluster "last failover" and "last decision" families look: the
 * newest rows of the replicated history, so a scrape costs two bounded queries however
 * long the history is. A cluster whose last failover is older than the newest
 * HISTORY_ROWS failovers of all clusters shows none (alerts only look at recent ones). */
#define HISTORY_ROWS 1000
#define DECISION_ROWS 1000

static void raft_metrics(struct fo_ctl *ctl, struct fo_buf *b)
{
    static const char *const states[] = {"leader", "follower", "candidate", "unavailable"};
    const char *cur = fo_raft_state_name(&ctl->raft);
    struct fo_prom_label l;
    unsigned i;

    fo_prom_family(b, "failoverd_raft_leader", "gauge", "1 if this node is the raft leader.");
    fo_prom_value(b, "failoverd_raft_leader", NULL, 0, fo_raft_is_leader(&ctl->raft) ? 1 : 0);
    fo_prom_family(b, "failoverd_raft_state", "gauge", "1 for this node's current raft state.");
    for (i = 0; i < 4; i++) {
        l = (struct fo_prom_label){"state", states[i]};
        fo_prom_value(b, "failoverd_raft_state", &l, 1, strcmp(cur, states[i]) == 0 ? 1 : 0);
    }
    fo_prom_family(b, "failoverd_raft_term", "gauge", "Current raft term.");
    fo_prom_value(b, "failoverd_raft_term", NULL, 0, (double)raft_current_term(&ctl->raft.raft));
    fo_prom_family(b, "failoverd_raft_last_applied_index", "gauge", "Index of the last entry applied to the store.");
    fo_prom_value(b, "failoverd_raft_last_applied_index", NULL, 0, (double)raft_last_applied(&ctl->raft.raft));
    fo_prom_family(b, "failoverd_raft_commit_index", "gauge", "Index of the last entry known to be committed.");
    fo_prom_value(b, "failoverd_raft_commit_index", NULL, 0, (double)raft_commit_index(&ctl->raft.raft));
    fo_prom_family(b, "failoverd_raft_leader_id", "gauge", "Node id of the known leader, 0 if none.");
    fo_prom_value(b, "failoverd_raft_leader_id", NULL, 0, (double)fo_raft_leader(&ctl->raft, NULL));
    fo_prom_family(b, "failoverd_raft_commands_applied_total", "counter", "Commands applied since start.");
    fo_prom_value(b, "failoverd_raft_commands_applied_total", NULL, 0, (double)ctl->raft.applied_count);
    fo_prom_family(b, "failoverd_raft_commands_refused_total", "counter",
                   "Applied commands the store refused (they changed nothing).");
    fo_prom_value(b, "failoverd_raft_commands_refused_total", NULL, 0, (double)ctl->raft.apply_errors);
    fo_raft_transport_metrics(&ctl->raft.transport, b);
}

static void admin_metrics(struct fo_ctl *ctl, struct fo_buf *b)
{
    fo_admin_metrics(ctl, b); /* the admin server's own families (internal RPC refusals) */
    fo_prom_family(b, "failoverd_admin_requests_total", "counter", "Admin RPC requests received.");
    fo_prom_value(b, "failoverd_admin_requests_total", NULL, 0, (double)ctl->counters.admin_requests);
    fo_prom_family(b, "failoverd_admin_bad_frames_total", "counter",
                   "Admin RPC connections closed for a bad frame (garbage, version, size, protobuf).");
    fo_prom_value(b, "failoverd_admin_bad_frames_total", NULL, 0, (double)ctl->counters.admin_bad_frames);
    fo_prom_family(b, "failoverd_admin_forwarded_total", "counter", "Admin requests forwarded to the leader.");
    fo_prom_value(b, "failoverd_admin_forwarded_total", NULL, 0, (double)ctl->counters.admin_forwarded);
    fo_prom_family(b, "failoverd_admin_tls", "gauge",
                   "1 if the admin RPC requires mutual TLS, 0 with [tls] insecure = yes (plain TCP).");
    fo_prom_value(b, "failoverd_admin_tls", NULL, 0, ctl->cfg.tls.insecure ? 0 : 1);
    fo_prom_family(b, "failoverd_admin_tls_refused_total", "counter",
                   "Admin RPC connections refused in the TLS handshake (no or untrusted certificate, role not "
                   "accepted, not TLS).");
    fo_prom_value(b, "failoverd_admin_tls_refused_total", NULL, 0, (double)fo_admin_tls_refused(ctl));
    fo_prom_family(b, "failoverd_proposals_total", "counter", "Commands proposed to raft by this node.");
    fo_prom_value(b, "failoverd_proposals_total", NULL, 0, (double)ctl->counters.proposals);
}

/* ------------------------------------------------------------ raft members, TLS */

static void members_metrics(struct fo_ctl *ctl, struct fo_buf *b)
{
    const struct raft_configuration *c = &ctl->raft.raft.configuration;
    unsigned i, voters = 0;

    for (i = 0; i < c->n; i++)
        if (c->servers[i].role == RAFT_VOTER) voters++;
    fo_prom_family(b, "failoverd_raft_voters", "gauge",
                   "Voters in this node's raft configuration (a majority of them must be up for a leader).");
    fo_prom_value(b, "failoverd_raft_voters", NULL, 0, voters);
}

/* Expiry of the [tls] files loaded at start (nothing with insecure = yes): a renewed
 * certificate is only used after a restart, so this is the time that matters. */
static void tls_metrics(struct fo_ctl *ctl, struct fo_buf *b)
{
    struct fo_prom_label l = {"cert", "node"};
    int64_t cert_s, ca_s;

    if (fo_tls_files_not_after(ctl->tls_files, &cert_s, &ca_s) != 0) return;
    fo_prom_family(b, "failoverd_tls_cert_not_after_timestamp_seconds", "gauge",
                   "When the certificate loaded at start expires (Unix time): cert=node is this node's own, "
                   "cert=ca the earliest of the trusted CA certificates.");
    fo_prom_value(b, "failoverd_tls_cert_not_after_timestamp_seconds", &l, 1, (double)cert_s);
    if (ca_s == 0) return;
    l.value = "ca";
    fo_prom_value(b, "failoverd_tls_cert_not_after_timestamp_seconds", &l, 1, (double)ca_s);
}

/* ------------------------------------------------------------ replicated state */

/* The replicated state as this node's store holds it, collected once per scrape so
 * that each family can be written whole (the text format wants a family's samples
 * together). Every node has the same store, so any node answers these; rules take the
 * leader's (its store is the most current). */
enum { KIND_FAILOVER, KIND_SWITCHOVER, KIND_N };
static const char *const kind_names[KIND_N] = {"failover", "switchover"};
static const char *const result_names[] = {"running", "success", "failed", "aborted"};
#define RESULT_N (sizeof(result_names) / sizeof(result_names[0]))

struct last_fo {
    bool set;
    double started_s, total_s;
    unsigned result;
};

struct cl {
    char name[FO_NAME_LEN];
    char primary[FO_ADDR_LEN]; /* "host:port", "" = none designated */
    char vip_holder[FO_ADDR_LEN];
    uint64_t epoch, blocked_until_ms;
    unsigned problems;
    bool maintenance, has_vip, writable, running;
    struct last_fo last[KIND_N];
};

struct sv {
    char cluster[FO_NAME_LEN];
    char server[FO_ADDR_LEN];
    int health, role;
    bool read_only;
};

struct dec {
    char cluster[FO_NAME_LEN];
    char verdict[32];
    double at_s;
};

struct state {
    struct fo_ctl *ctl;
    struct cl *cls;
    struct sv *svs;
    struct dec *decs;
    size_t n_cls, n_svs, n_decs, cap_cls, cap_svs, cap_decs;
    bool oom;
};

/* Grows *arr (of elem bytes each) to hold one more; NULL and st->oom on failure. */
static void *push(struct state *st, void **arr, size_t *n, size_t *cap, size_t elem)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *p = realloc(*arr, ncap * elem);
        if (p == NULL) {
            st->oom = true;
            return NULL;
        }
        *arr = p;
        *cap = ncap;
    }
    return memset((char *)*arr + (*n)++ * elem, 0, elem);
}

static int cluster_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cl *)a)->name, ((const struct cl *)b)->name);
}

static int cluster_key_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct cl *)elem)->name);
}

/* st->cls is sorted by name once collected (state_metrics), so that the per-row
 * lookups stay cheap however many clusters there are. */
static struct cl *find_cluster(struct state *st, const char *name)
{
    return st->n_cls ? bsearch(name, st->cls, st->n_cls, sizeof(*st->cls), cluster_key_cmp) : NULL;
}

static int on_cluster(void *data, const struct fo_store_cluster *c)
{
    struct state *st = data;
    struct cl *x = push(st, (void **)&st->cls, &st->n_cls, &st->cap_cls, sizeof(*x));
    const char *p;

    if (x == NULL) return FO_ENOMEM;
    snprintf(x->name, sizeof(x->name), "%s", c->name);
    if (c->primary_host[0]) snprintf(x->primary, sizeof(x->primary), "%s:%u", c->primary_host, c->primary_port);
    x->has_vip = c->vip[0] != '\0';
    if (c->vip_host[0]) snprintf(x->vip_holder, sizeof(x->vip_holder), "%s:%u", c->vip_host, c->vip_port);
    x->epoch = c->epoch;
    x->blocked_until_ms = c->blocked_until_ms;
    x->maintenance = c->maintenance;
    for (p = c->problems; *p; p++)
        if (*p == '\n') x->problems++;
    if (c->problems[0]) x->problems++;
    return 0;
}

/* The designated primary takes writes: this node's own latest probe says so when it
 * probes it (every node probes primaries, DESIGN.md §5), else the store's record. */
static bool primary_writable(struct fo_ctl *ctl, const struct fo_store_instance *i)
{
    struct fo_watch_view v;

    if (fo_monitor_view(ctl, i->cluster, i->host, i->port, &v))
        return v.last_ok && v.sample != NULL && !v.sample->read_only;
    return i->health == FO_HEALTH_UP && i->role == FO_ROLE_PRIMARY && !i->read_only;
}

static int on_instance(void *data, const struct fo_store_instance *i)
{
    struct state *st = data;
    struct sv *x = push(st, (void **)&st->svs, &st->n_svs, &st->cap_svs, sizeof(*x));
    struct cl *c;

    if (x == NULL) return FO_ENOMEM;
    snprintf(x->cluster, sizeof(x->cluster), "%s", i->cluster);
    snprintf(x->server, sizeof(x->server), "%s:%u", i->host, i->port);
    x->health = i->health;
    x->role = i->role;
    x->read_only = i->read_only;
    c = find_cluster(st, i->cluster);
    if (c != NULL && strcmp(c->primary, x->server) == 0) c->writable = primary_writable(st->ctl, i);
    return 0;
}

/* Newest first: the first row of each (cluster, kind) is its last one. */
static int on_failover(void *data, const struct fo_store_failover *f)
{
    struct state *st = data;
    struct cl *c = find_cluster(st, f->cluster);
    struct last_fo *l;

    if (c == NULL) return 0;
    l = &c->last[f->kind == FO__FAILOVER_KIND__KIND_SWITCHOVER ? KIND_SWITCHOVER : KIND_FAILOVER];
    if (f->result == FO__FAILOVER_RESULT__RESULT_RUNNING) c->running = true;
    if (l->set) return 0;
    l->set = true;
    l->started_s = (double)f->started_ms / 1000.0;
    l->total_s = (double)f->total_ms / 1000.0;
    l->result = (unsigned)f->result < RESULT_N ? (unsigned)f->result : 0;
    return 0;
}

static int on_decision(void *data, const struct fo_store_decision *d)
{
    struct state *st = data;
    struct dec *x;
    size_t i;

    for (i = 0; i < st->n_decs; i++)
        if (strcmp(st->decs[i].cluster, d->cluster) == 0 && strcmp(st->decs[i].verdict, d->verdict) == 0) return 0;
    x = push(st, (void **)&st->decs, &st->n_decs, &st->cap_decs, sizeof(*x));
    if (x == NULL) return FO_ENOMEM;
    snprintf(x->cluster, sizeof(x->cluster), "%s", d->cluster);
    snprintf(x->verdict, sizeof(x->verdict), "%s", d->verdict);
    x->at_s = (double)d->wall_ms / 1000.0;
    return 0;
}

static void cluster_gauge(struct fo_buf *b, const struct state *st, const char *name, const char *help,
                          double (*get)(const struct cl *))
{
    struct fo_prom_label l;
    size_t i;

    fo_prom_family(b, name, "gauge", help);
    for (i = 0; i < st->n_cls; i++) {
        l = (struct fo_prom_label){"cluster", st->cls[i].name};
        fo_prom_value(b, name, &l, 1, get(&st->cls[i]));
    }
}

static double get_epoch(const struct cl *c)
{
    return (double)c->epoch;
}
static double get_maintenance(const struct cl *c)
{
    return c->maintenance;
}
static double get_problems(const struct cl *c)
{
    return c->problems;
}
static double get_writable(const struct cl *c)
{
    return c->primary[0] && c->writable;
}
static double get_running(const struct cl *c)
{
    return c->running;
}
static double get_blocked(const struct cl *c)
{
    return (double)c->blocked_until_ms / 1000.0;
}

static void cluster_families(struct fo_buf *b, const struct state *st)
{
    struct fo_prom_label l[3];
    size_t i;

    cluster_gauge(b, st, "failoverd_cluster_epoch", "Epoch of the cluster's last failover or switchover.", get_epoch);
    cluster_gauge(b, st, "failoverd_cluster_maintenance",
                  "1 while the cluster is in maintenance (no automatic "
                  "failover).",
                  get_maintenance);
    cluster_gauge(b, st, "failoverd_cluster_problems",
                  "Problems the leader found in the topology (failoverctl "
                  "topology lists them).",
                  get_problems);
    cluster_gauge(b, st, "failoverd_cluster_primary_writable",
                  "1 if the designated primary answered this node's "
                  "last probe with read_only = 0; 0 if none is designated, it is down or read-only.",
                  get_writable);
    cluster_gauge(b, st, "failoverd_cluster_failover_running",
                  "1 while a failover or switchover of the cluster is "
                  "unfinished in the replicated state.",
                  get_running);
    cluster_gauge(b, st, "failoverd_cluster_anti_flap_until_timestamp_seconds",
                  "Until when automatic failover is "
                  "blocked after the last one (Unix time; 0 = not blocked).",
                  get_blocked);
    fo_prom_family(b, "failoverd_cluster_primary", "gauge", "1 for the cluster's designated primary.");
    for (i = 0; i < st->n_cls; i++) {
        if (!st->cls[i].primary[0]) continue;
        l[0] = (struct fo_prom_label){"cluster", st->cls[i].name};
        l[1] = (struct fo_prom_label){"server", st->cls[i].primary};
        fo_prom_value(b, "failoverd_cluster_primary", l, 2, 1);
    }
    fo_prom_family(b, "failoverd_cluster_vip_holder", "gauge",
                   "1 for the host the writer VIP is committed to (its lease is failoverd_vip_held).");
    for (i = 0; i < st->n_cls; i++) {
        if (!st->cls[i].has_vip || !st->cls[i].vip_holder[0]) continue;
        l[0] = (struct fo_prom_label){"cluster", st->cls[i].name};
        l[1] = (struct fo_prom_label){"server", st->cls[i].vip_holder};
        fo_prom_value(b, "failoverd_cluster_vip_holder", l, 2, 1);
    }
}

/* The last failover (automatic or failoverctl failover) and the last switchover of
 * each cluster: when it began, how long it took, and how it ended. */
static void last_failover_families(struct fo_buf *b, const struct state *st)
{
    struct fo_prom_label l[3];
    size_t i;
    unsigned k, r;

    fo_prom_family(b, "failoverd_cluster_last_failover_timestamp_seconds", "gauge",
                   "When the cluster's last failover (kind=failover) or switchover began (Unix time).");
    fo_prom_family(b, "failoverd_cluster_last_failover_duration_seconds", "gauge",
                   "How long the cluster's last failover or switchover took (0 while it runs).");
    fo_prom_family(b, "failoverd_cluster_last_failover_result", "gauge",
                   "1 for the result of the cluster's last failover or switchover.");
    for (i = 0; i < st->n_cls; i++) {
        for (k = 0; k < KIND_N; k++) {
            const struct last_fo *f = &st->cls[i].last[k];
            if (!f->set) continue;
            l[0] = (struct fo_prom_label){"cluster", st->cls[i].name};
            l[1] = (struct fo_prom_label){"kind", kind_names[k]};
            fo_prom_value(b, "failoverd_cluster_last_failover_timestamp_seconds", l, 2, f->started_s);
        }
    }
    for (i = 0; i < st->n_cls; i++) {
        for (k = 0; k < KIND_N; k++) {
            const struct last_fo *f = &st->cls[i].last[k];
            if (!f->set) continue;
            l[0] = (struct fo_prom_label){"cluster", st->cls[i].name};
            l[1] = (struct fo_prom_label){"kind", kind_names[k]};
            fo_prom_value(b, "failoverd_cluster_last_failover_duration_seconds", l, 2, f->total_s);
        }
    }
    for (i = 0; i < st->n_cls; i++) {
        for (k = 0; k < KIND_N; k++) {
            const struct last_fo *f = &st->cls[i].last[k];
            if (!f->set) continue;
            for (r = 0; r < RESULT_N; r++) {
                l[0] = (struct fo_prom_label){"cluster", st->cls[i].name};
                l[1] = (struct fo_prom_label){"kind", kind_names[k]};
                l[2] = (struct fo_prom_label){"result", result_names[r]};
                fo_prom_value(b, "failoverd_cluster_last_failover_result", l, 3, r == f->result ? 1 : 0);
            }
        }
    }
}

static void server_families(struct fo_buf *b, const struct state *st)
{
    static const enum fo_health healths[] = {FO_HEALTH_UNKNOWN, FO_HEALTH_UP, FO_HEALTH_SUSPECT, FO_HEALTH_DOWN};
    static const enum fo_role roles[] = {FO_ROLE_UNKNOWN, FO_ROLE_PRIMARY, FO_ROLE_REPLICA, FO_ROLE_ORPHAN};
    struct fo_prom_label l[3];
    size_t i;
    unsigned k;

    fo_prom_family(b, "failoverd_server_health", "gauge", "1 for the server's health as the leader committed it.");
    for (i = 0; i < st->n_svs; i++) {
        for (k = 0; k < 4; k++) {
            l[0] = (struct fo_prom_label){"cluster", st->svs[i].cluster};
            l[1] = (struct fo_prom_label){"server", st->svs[i].server};
            l[2] = (struct fo_prom_label){"health", fo_health_name(healths[k])};
            fo_prom_value(b, "failoverd_server_health", l, 3, st->svs[i].health == (int)healths[k] ? 1 : 0);
        }
    }
    fo_prom_family(b, "failoverd_server_role", "gauge", "1 for the server's role as the leader committed it.");
    for (i = 0; i < st->n_svs; i++) {
        for (k = 0; k < 4; k++) {
            l[0] = (struct fo_prom_label){"cluster", st->svs[i].cluster};
            l[1] = (struct fo_prom_label){"server", st->svs[i].server};
            l[2] = (struct fo_prom_label){"role", fo_role_name(roles[k])};
            fo_prom_value(b, "failoverd_server_role", l, 3, st->svs[i].role == (int)roles[k] ? 1 : 0);
        }
    }
    fo_prom_family(b, "failoverd_server_read_only", "gauge", "@@read_only as the leader committed it.");
    for (i = 0; i < st->n_svs; i++) {
        l[0] = (struct fo_prom_label){"cluster", st->svs[i].cluster};
        l[1] = (struct fo_prom_label){"server", st->svs[i].server};
        fo_prom_value(b, "failoverd_server_read_only", l, 2, st->svs[i].read_only ? 1 : 0);
    }
}

static void decision_families(struct fo_buf *b, const struct state *st)
{
    struct fo_prom_label l[2];
    size_t i;

    fo_prom_family(b, "failoverd_cluster_last_decision_timestamp_seconds", "gauge",
                   "When the cluster's last decision with this verdict was recorded (Unix time; failoverctl why "
                   "shows it). refused and failover_stalled mean a failover is blocked.");
    for (i = 0; i < st->n_decs; i++) {
        l[0] = (struct fo_prom_label){"cluster", st->decs[i].cluster};
        l[1] = (struct fo_prom_label){"verdict", st->decs[i].verdict};
        fo_prom_value(b, "failoverd_cluster_last_decision_timestamp_seconds", l, 2, st->decs[i].at_s);
    }
}

/* Store reads on the loop, as the admin handlers do: a few bounded queries per scrape. */
static int collect(struct fo_ctl *ctl, struct state *st)
{
    int rc = fo_store_each_cluster(ctl->store, on_cluster, st);

    if (rc != 0) return rc;
    if (st->n_cls > 1) qsort(st->cls, st->n_cls, sizeof(*st->cls), cluster_cmp);
    if ((rc = fo_store_each_instance(ctl->store, NULL, on_instance, st)) != 0) return rc;
    if ((rc = fo_store_each_failover(ctl->store, NULL, HISTORY_ROWS, on_failover, st)) != 0) return rc;
    return fo_store_each_decision(ctl->store, NULL, DECISION_ROWS, on_decision, st);
}

static void state_metrics(struct fo_ctl *ctl, struct fo_buf *b)
{
    struct state st = {.ctl = ctl};

    if (ctl->store == NULL) return;
    if (collect(ctl, &st) == 0) {
        cluster_families(b, &st);
        last_failover_families(b, &st);
        server_families(b, &st);
        decision_families(b, &st);
    } else if (st.oom) {
        b->oom = true;
    }
    /* Otherwise the families are left out: a partial view would read as "no primary"
     * or "no failover", and alerts should see absent data rather than wrong data. */
    free(st.cls);
    free(st.svs);
    free(st.decs);
}

static int handler(void *data, const char *url, struct fo_buf *body, const char **content_type)
{
    struct fo_ctl *ctl = data;

    if (strcmp(url, "/metrics") == 0) {
        *content_type = "text/plain; version=0.0.4; charset=utf-8";
        raft_metrics(ctl, body);
        admin_metrics(ctl, body);
        fo_monitor_metrics(ctl, body);
        fo_failover_metrics(ctl, body);
        members_metrics(ctl, body);
        tls_metrics(ctl, body);
        state_metrics(ctl, body);
        return body->oom ? 500 : 200;
    }
    if (strcmp(url, "/health") == 0) {
        fo_buf_puts(body, ctl->stopping ? "stopping\n" : "ok\n");
        return ctl->stopping ? 503 : 200;
    }
    if (strcmp(url, "/leader") == 0) {
        bool leader = fo_raft_is_leader(&ctl->raft);
        fo_buf_puts(body, leader ? "leader\n" : "not leader\n");
        return leader ? 200 : 503;
    }
    int web = fo_web_handle(ctl, url, body, content_type);
    if (web != 0) return web;
    fo_buf_puts(body, "not found: try /metrics, /health or /leader\n");
    return 404;
}

int fo_metrics_start(struct fo_ctl *ctl, char err[FO_ERRLEN])
{
    struct fo_http_limits hl = {ctl->cfg.limits.http_max_conns, ctl->cfg.limits.http_max_per_source,
                                ctl->cfg.limits.http_timeout_s};

    return fo_http_start_limited(&ctl->http, ctl->loop, ctl->cfg.http_address, &hl, handler, ctl, err);
}

void fo_metrics_stop(struct fo_ctl *ctl)
{
    if (ctl->http != NULL) fo_http_stop(ctl->http, NULL, NULL);
    ctl->http = NULL;
}
