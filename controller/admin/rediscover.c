/* Periodic rediscovery: rediscover.h. */
#include "controller/admin/rediscover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/instance_state.h"
#include "common/log.h"
#include "common/prom.h"
#include "common/text.h"
#include "controller/decide/flavour.h"
#include "controller/decide/gtid.h"
#include "failoverd.pb-c.h"
#include "raft/node.h"
#include "store/store.h"

#define MOD "rediscover"
#define WALK_DEADLINE_MAX_MS 20000u /* a walk of 256 servers at a few ms each fits easily */
#define WALK_STMT_MAX_MS 5000u
#define MAX_ADOPT_PER_WALK 8u /* a burst of new replicas is adopted over a few walks */
#define REASON_LEN 480u

enum { WALK_OK, WALK_INCOMPLETE, WALK_FAILED, WALK_N };
static const char *const result_label[WALK_N] = {"ok", "incomplete", "failed"};

struct rwalk;

/* What this leader knows of one cluster with rediscovery on. */
struct rcl {
    char name[FO_NAME_LEN];
    uint64_t next_ms;   /* next walk due (uv_now) */
    struct rwalk *walk; /* in flight, or NULL */
    bool seen;          /* listed by this tick's store read */
    uint64_t walks[WALK_N];
    uint64_t adopted;
    unsigned n_unregistered, n_vanished;
    unsigned n_lines; /* lines[] of the last walk, sorted */
    char lines[FO_REDISCOVER_MAX_FINDINGS][FO_REDISCOVER_LINE_LEN];
};

struct rwalk {
    struct fo_rediscover *r;
    struct rcl *cl; /* NULL once the cluster's state was dropped: the result is ignored */
    struct fo_discover *d;
    struct fo_rediscover_member *members;
    unsigned n_members;
    bool has_primary, adopt;
    struct rwalk *next, *prev;
};

struct fo_rediscover {
    struct fo_ctl *ctl;
    uv_timer_t timer;
    bool stopping, timer_closed;
    struct rcl **cls; /* sorted by name */
    unsigned n_cls, cap_cls;
    struct rwalk *walks;
    unsigned n_walks;
};

/* ------------------------------------------------------------------ the comparison */

static int member_at(const struct fo_rediscover_in *in, const char *host, uint16_t port)
{
    unsigned i;

    for (i = 0; i < in->n_members; i++)
        if (fo_addr_same(in->members[i].host, in->members[i].port, host, port)) return (int)i;
    return -1;
}

static const struct fo_discover_server *server_at(const struct fo_rediscover_in *in, const char *host, uint16_t port)
{
    unsigned i;

    for (i = 0; i < in->n_servers; i++)
        if (fo_addr_same(in->servers[i].host, in->servers[i].port, host, port)) return &in->servers[i];
    return NULL;
}

static bool registered_id(const struct fo_rediscover_in *in, uint64_t server_id)
{
    unsigned i;

    for (i = 0; i < in->n_members; i++)
        if (server_id != 0 && in->members[i].server_id == server_id) return true;
    return false;
}

static void addr_text(char *out, size_t n, const char *host, unsigned port)
{
    snprintf(out, n, strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u", host, port);
}

/* Why replica s (source: member m) must not be adopted, or false (why = ""). Never a
 * writable server, never one with errant GTIDs, and an unknown state counts as a no. */
static bool adopt_refused(const struct fo_rediscover_in *in, const struct fo_discover_server *s,
                          const struct fo_rediscover_member *m, char *why, size_t n)
{
    const struct fo_discover_server *src = server_at(in, m->host, m->port);
    char errant[128], err[FO_ERRLEN];
    struct fo_flavour fl;
    int e;

    why[0] = '\0';
    if (!m->up || src == NULL || !src->reached) return snprintf(why, n, "its source is not healthy"), true;
    if (!s->s.read_only) return snprintf(why, n, "writable (read_only=OFF)"), true;
    fo_flavour_classify(s->s.version, &fl);
    if (!fl.supported) return snprintf(why, n, "unsupported server: %s", fl.name), true;
    if (!s->s.gtid_binlog_state_known || !src->s.gtid_binlog_state_known)
        return snprintf(why, n, "GTID state unknown: cannot prove it has no errant transactions"), true;
    e = fo_gtid_state_errant(s->s.gtid_binlog_state, src->s.gtid_binlog_state, errant, sizeof errant, err);
    if (e > 0) return snprintf(why, n, "errant GTIDs %s (not on its source)", errant), true;
    if (e < 0) return fo_text_append(why, n, "GTID state unreadable: %s", err), true;
    return false;
}

/* Counts one more finding and returns its slot, zeroed and named, or NULL past cap
 * (*n keeps counting, so the caller knows how many were left out). */
static struct fo_rediscover_finding *new_finding(struct fo_rediscover_finding *out, unsigned cap, unsigned *n,
                                                 enum fo_rediscover_kind kind, const char *host, uint16_t port)
{
    struct fo_rediscover_finding *f;

    if ((*n)++ >= cap) return NULL;
    f = &out[*n - 1];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    snprintf(f->host, sizeof f->host, "%s", host);
    f->port = port;
    return f;
}

static void find_unregistered(const struct fo_rediscover_in *in, struct fo_rediscover_finding *out, unsigned cap,
                              unsigned *n)
{
    char src[FO_ADDR_LEN], me[FO_ADDR_LEN], why[256];
    unsigned i;

    for (i = 0; i < in->n_servers; i++) {
        const struct fo_discover_server *s = &in->servers[i];
        struct fo_rediscover_finding *f;
        int m;

        if (!s->reached || !s->s.is_replica || member_at(in, s->host, s->port) >= 0) continue;
        if (registered_id(in, s->s.server_id)) continue; /* a member under another address */
        m = member_at(in, s->s.master_host, s->s.master_port);
        if (m < 0) continue; /* a replica of a replica we do not know: not ours to judge */
        if ((f = new_finding(out, cap, n, FO_REDISCOVER_UNREGISTERED, s->host, s->port)) == NULL) continue;
        addr_text(me, sizeof me, s->host, s->port);
        addr_text(src, sizeof src, in->members[m].host, in->members[m].port);
        snprintf(f->line, sizeof f->line, "unregistered replica %s of %s", me, src);
        if (!in->adopt) continue;
        if (adopt_refused(in, s, &in->members[m], why, sizeof why))
            fo_text_append(f->line, sizeof f->line, " (not adopted: %s)", why);
        else
            f->adoptable = true;
    }
}

static void find_vanished(const struct fo_rediscover_in *in, struct fo_rediscover_finding *out, unsigned cap,
                          unsigned *n)
{
    char src[FO_ADDR_LEN], me[FO_ADDR_LEN];
    unsigned i;

    for (i = 0; i < in->n_members; i++) {
        const struct fo_rediscover_member *m = &in->members[i];
        const struct fo_discover_server *s = server_at(in, m->host, m->port);
        struct fo_rediscover_finding *f;

        if (m->exempt || s == NULL || !s->reached) continue; /* down is not vanished */
        if (!s->s.is_replica && !in->has_primary) continue;  /* taken as the primary */
        if (s->s.is_replica && member_at(in, s->s.master_host, s->s.master_port) >= 0) continue;
        if ((f = new_finding(out, cap, n, FO_REDISCOVER_VANISHED, m->host, m->port)) == NULL) continue;
        addr_text(me, sizeof me, m->host, m->port);
        if (s->s.is_replica) {
            addr_text(src, sizeof src, s->s.master_host, s->s.master_port);
            snprintf(f->line, sizeof f->line, "vanished replica %s: replicates from %s, outside the cluster", me, src);
        } else {
            snprintf(f->line, sizeof f->line, "vanished replica %s: replicates from nobody (no replication source)",
                     me);
        }
    }
}

unsigned fo_rediscover_compare(const struct fo_rediscover_in *in, struct fo_rediscover_finding *out, unsigned cap)
{
    unsigned n = 0;

    find_unregistered(in, out, cap, &n);
    find_vanished(in, out, cap, &n);
    return n;
}

/* ------------------------------------------------------------------ cluster states */

static int name_cmp(const void *key, const void *elem)
{
    return strcmp(key, (*(struct rcl *const *)elem)->name);
}

static struct rcl *find_cl(const struct fo_rediscover *r, const char *name)
{
    struct rcl **p = r->n_cls ? bsearch(name, r->cls, r->n_cls, sizeof *r->cls, name_cmp) : NULL;

    return p != NULL ? *p : NULL;
}

/* Inserted in name order: the store lists clusters by name, so this is an append in
 * the common case. */
static struct rcl *add_cl(struct fo_rediscover *r, const char *name)
{
    struct rcl *cl;
    unsigned at = r->n_cls;

    if (r->n_cls == r->cap_cls) {
        unsigned ncap = r->cap_cls ? r->cap_cls * 2 : 8;
        struct rcl **np = realloc(r->cls, ncap * sizeof *np);
        if (np == NULL) return NULL;
        r->cls = np;
        r->cap_cls = ncap;
    }
    cl = calloc(1, sizeof *cl);
    if (cl == NULL) return NULL;
    snprintf(cl->name, sizeof cl->name, "%s", name);
    while (at > 0 && strcmp(r->cls[at - 1]->name, name) > 0) at--;
    memmove(&r->cls[at + 1], &r->cls[at], (r->n_cls - at) * sizeof *r->cls);
    r->cls[at] = cl;
    r->n_cls++;
    return cl;
}

static void drop_cl(struct fo_rediscover *r, unsigned at)
{
    struct rcl *cl = r->cls[at];

    if (cl->walk != NULL) {
        cl->walk->cl = NULL;
        fo_discover_cancel(cl->walk->d); /* walk_done frees the walk */
    }
    free(cl);
    memmove(&r->cls[at], &r->cls[at + 1], (r->n_cls - at - 1) * sizeof *r->cls);
    r->n_cls--;
}

/* ------------------------------------------------------------------ proposals */

static void propose_decision(struct fo_rediscover *r, const char *cluster, const char *verdict, const char *host,
                             unsigned port, const char *reason)
{
    Fo__Command cmd = FO__COMMAND__INIT;
    Fo__Decision d = FO__DECISION__INIT;
    char err[FO_ERRLEN];

    FO_INFO(MOD, "cluster %s: %s: %s", cluster, verdict, reason);
    d.cluster = (char *)cluster;
    d.verdict = (char *)verdict;
    d.reason = (char *)reason;
    d.host = (char *)host;
    d.port = port;
    cmd.body_case = FO__COMMAND__BODY_DECISION;
    cmd.decision = &d;
    if (fo_ctl_propose(r->ctl, &cmd, NULL, NULL, err) != 0) FO_WARN(MOD, "recording a decision: %s", err);
}

/* Registers f (InstanceAdd, rule neutral) when the limits leave room; else says why not
 * in its line. */
static void adopt(struct fo_rediscover *r, struct rcl *cl, struct rwalk *w, struct fo_rediscover_finding *f,
                  unsigned *adopted)
{
    Fo__Command cmd = FO__COMMAND__INIT;
    Fo__InstanceAdd ia = FO__INSTANCE_ADD__INIT;
    char err[FO_ERRLEN], me[FO_ADDR_LEN], reason[FO_REDISCOVER_LINE_LEN + 64];

    if (*adopted >= MAX_ADOPT_PER_WALK) return; /* the next walk goes on */
    if (w->n_members + *adopted >= FO_MAX_INSTANCES_PER_CLUSTER) {
        fo_text_append(f->line, sizeof f->line, " (not adopted: the cluster has %d instances)",
                       FO_MAX_INSTANCES_PER_CLUSTER);
        return;
    }
    if (fo_store_check_room(r->ctl->store, &r->ctl->cfg.limits, 0, 1, err) != 0) {
        fo_text_append(f->line, sizeof f->line, " (not adopted: %s)", err);
        return;
    }
    ia.cluster = cl->name;
    ia.host = f->host;
    ia.port = f->port;
    ia.rule = FO__PROMOTION_RULE__RULE_NEUTRAL;
    cmd.body_case = FO__COMMAND__BODY_INSTANCE_ADD;
    cmd.instance_add = &ia;
    if (fo_ctl_propose(r->ctl, &cmd, NULL, NULL, err) != 0) {
        fo_text_append(f->line, sizeof f->line, " (not adopted: %s)", err);
        return;
    }
    (*adopted)++;
    cl->adopted++;
    fo_text_append(f->line, sizeof f->line, " (adopting)");
    addr_text(me, sizeof me, f->host, f->port);
    reason[0] = '\0';
    fo_text_append(reason, sizeof reason,
                   "rediscovery registered %s (rule neutral): %s; read-only, supported flavour, no errant GTIDs", me,
                   f->line);
    propose_decision(r, cl->name, "adopted", f->host, f->port, reason);
}

static int line_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Keeps the walk's lines (sorted) and records a decision when they differ from the
 * last walk's. */
static void keep_findings(struct fo_rediscover *r, struct rcl *cl, const struct fo_rediscover_finding *f,
                          unsigned n_found)
{
    char lines[FO_REDISCOVER_MAX_FINDINGS][FO_REDISCOVER_LINE_LEN], reason[REASON_LEN];
    unsigned i, n = n_found < FO_REDISCOVER_MAX_FINDINGS ? n_found : FO_REDISCOVER_MAX_FINDINGS;
    bool same;

    memset(lines, 0, sizeof lines); /* compared whole with memcmp below */
    for (i = 0; i < n; i++) snprintf(lines[i], sizeof lines[i], "%s", f[i].line);
    if (n > 1) qsort(lines, n, sizeof lines[0], line_cmp);
    same = n == cl->n_lines && memcmp(lines, cl->lines, n * sizeof lines[0]) == 0;
    memcpy(cl->lines, lines, n * sizeof lines[0]);
    cl->n_lines = n;
    if (same) return;
    reason[0] = '\0';
    if (n == 0)
        fo_text_append(reason, sizeof reason, "the topology matches the registered instances again");
    else
        fo_text_append(reason, sizeof reason, "%u unregistered, %u vanished replica(s):", cl->n_unregistered,
                       cl->n_vanished);
    for (i = 0; i < n; i++) fo_text_append(reason, sizeof reason, "%s %s", i ? ";" : "", lines[i]);
    propose_decision(r, cl->name, "rediscovery", "", 0, reason);
}

/* ------------------------------------------------------------------ walks */

static void maybe_free(struct fo_rediscover *r)
{
    if (!r->stopping || !r->timer_closed || r->n_walks != 0) return;
    while (r->n_cls > 0) drop_cl(r, r->n_cls - 1);
    free(r->cls);
    free(r);
}

static void free_walk(struct rwalk *w)
{
    struct fo_rediscover *r = w->r;

    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        r->walks = w->next;
    if (w->next != NULL) w->next->prev = w->prev;
    r->n_walks--;
    if (w->cl != NULL) w->cl->walk = NULL;
    free(w->members);
    free(w);
}

static int walk_result(const struct fo_discover_result *res)
{
    unsigned i;

    for (i = 0; i < res->n; i++)
        if (!res->servers[i].reached) return WALK_INCOMPLETE;
    return WALK_OK;
}

static void walk_done(void *data, int status, const struct fo_discover_result *res)
{
    struct rwalk *w = data;
    struct fo_rediscover *r = w->r;
    struct rcl *cl = w->cl;
    struct fo_rediscover_finding *found;
    struct fo_rediscover_in in;
    struct fo_store_failover f;
    unsigned i, n, adopted = 0;

    if (status == FO_ECANCELED || cl == NULL || r->stopping) goto out;
    if (status != 0) {
        cl->walks[WALK_FAILED]++;
        goto out;
    }
    /* A failover that began while the walk ran repoints servers itself: what the walk
     * saw may be its intermediate states, which are neither findings nor replicas to
     * adopt (start_walk's rule, checked again at the end). */
    if (r->ctl->store == NULL || fo_store_get_running_failover(r->ctl->store, cl->name, &f) == 0) {
        cl->walks[WALK_INCOMPLETE]++;
        goto out;
    }
    cl->walks[walk_result(res)]++;
    found = calloc(FO_REDISCOVER_MAX_FINDINGS, sizeof *found);
    if (found == NULL) goto out;
    in = (struct fo_rediscover_in){w->members, w->n_members, w->has_primary, w->adopt, res->servers, res->n};
    n = fo_rediscover_compare(&in, found, FO_REDISCOVER_MAX_FINDINGS);
    cl->n_unregistered = cl->n_vanished = 0;
    for (i = 0; i < n && i < FO_REDISCOVER_MAX_FINDINGS; i++) {
        if (found[i].kind == FO_REDISCOVER_UNREGISTERED) cl->n_unregistered++;
        if (found[i].kind == FO_REDISCOVER_VANISHED) cl->n_vanished++;
        if (found[i].adoptable) adopt(r, cl, w, &found[i], &adopted);
    }
    keep_findings(r, cl, found, n);
    free(found);
out:
    free_walk(w);
    maybe_free(r);
}

struct collect {
    struct fo_rediscover_member *m;
    unsigned n;
    const struct fo_store_cluster *c;
    struct fo_endpoint co[2];
    bool has_co;
};

static bool same_ep(const char *host, uint16_t port, const char *h2, uint16_t p2)
{
    return h2[0] != '\0' && fo_addr_same(host, port, h2, p2);
}

static int on_instance(void *data, const struct fo_store_instance *i)
{
    struct collect *k = data;
    struct fo_rediscover_member *m;

    if (k->n >= FO_MAX_INSTANCES_PER_CLUSTER) return 0;
    m = &k->m[k->n++];
    snprintf(m->host, sizeof m->host, "%s", i->host);
    m->port = i->port;
    m->server_id = i->server_id;
    m->up = i->health == FO_HEALTH_UP;
    m->exempt = i->maintenance || i->quarantined || same_ep(i->host, i->port, k->c->primary_host, k->c->primary_port) ||
                (k->has_co && (same_ep(i->host, i->port, k->co[0].host, k->co[0].port) ||
                               same_ep(i->host, i->port, k->co[1].host, k->co[1].port)));
    return 0;
}

/* The walk's bounds: a deadline well inside the interval, statements inside it. */
static void walk_opts(const struct fo_rediscover *r, const struct fo_store_cluster *c, unsigned n_members,
                      struct fo_discover_opts *o)
{
    uint64_t deadline = (uint64_t)c->rediscover_interval_s * 1000u * 3u / 4u;

    if (deadline > WALK_DEADLINE_MAX_MS) deadline = WALK_DEADLINE_MAX_MS;
    o->max_servers = n_members + FO_REDISCOVER_EXTRA_SERVERS;
    o->connect_timeout_ms = r->ctl->cfg.probe.connect_timeout_ms;
    o->deadline_ms = (unsigned)deadline;
    o->timeout_ms = o->deadline_ms < WALK_STMT_MAX_MS ? o->deadline_ms : WALK_STMT_MAX_MS;
    o->tls = fo_config_cluster_tls(&r->ctl->cfg, c->name);
}

static int launch(struct fo_rediscover *r, struct rwalk *w, const struct fo_store_cluster *c, char err[FO_ERRLEN])
{
    struct fo_discover_opts o = {0};
    struct fo_endpoint *seeds;
    char pw[256];
    unsigned i;
    int rc;

    rc = fo_read_secret_file(r->ctl->cfg.secrets_dir, c->password_file, pw, sizeof pw, err);
    if (rc != 0) return rc;
    seeds = calloc(w->n_members, sizeof *seeds);
    if (seeds == NULL) {
        explicit_bzero(pw, sizeof pw);
        return fo_errf(err, FO_ENOMEM, "out of memory");
    }
    for (i = 0; i < w->n_members; i++) {
        memcpy(seeds[i].host, w->members[i].host, sizeof seeds[i].host);
        seeds[i].port = w->members[i].port;
    }
    walk_opts(r, c, w->n_members, &o);
    o.user = c->user;
    o.password = pw;
    rc = fo_discover_start_seeds(&w->d, r->ctl->loop, seeds, w->n_members, &o, walk_done, w, err);
    explicit_bzero(pw, sizeof pw);
    free(seeds);
    return rc;
}

static void start_walk(struct fo_rediscover *r, struct rcl *cl, const struct fo_store_cluster *c)
{
    struct collect k = {.c = c};
    struct fo_store_failover f;
    struct rwalk *w;
    char err[FO_ERRLEN];

    cl->next_ms = uv_now(r->ctl->loop) + (uint64_t)c->rediscover_interval_s * 1000u;
    /* A failover repoints servers itself: its intermediate states are not findings. */
    if (fo_store_get_running_failover(r->ctl->store, c->name, &f) == 0) return;
    k.has_co = c->co_primaries[0] != '\0' && fo_parse_co_primaries(c->co_primaries, k.co, NULL, err) == 0;
    k.m = calloc(FO_MAX_INSTANCES_PER_CLUSTER, sizeof *k.m);
    w = calloc(1, sizeof *w);
    if (k.m == NULL || w == NULL || fo_store_each_instance(r->ctl->store, c->name, on_instance, &k) != 0 || k.n == 0) {
        free(k.m);
        free(w);
        return; /* nothing registered to walk from yet (or out of memory: next interval) */
    }
    w->r = r;
    w->cl = cl;
    w->members = k.m;
    w->n_members = k.n;
    w->has_primary = c->primary_host[0] != '\0';
    w->adopt = c->adopt_replicas;
    if (launch(r, w, c, err) != 0) {
        FO_WARN(MOD, "cluster %s: rediscovery walk not started: %s", c->name, err);
        cl->walks[WALK_FAILED]++;
        free(w->members);
        free(w);
        return;
    }
    cl->walk = w;
    w->next = r->walks;
    if (w->next != NULL) w->next->prev = w;
    r->walks = w;
    r->n_walks++;
}

/* ------------------------------------------------------------------ the tick */

static int on_cluster(void *data, const struct fo_store_cluster *c)
{
    struct fo_rediscover *r = data;
    struct rcl *cl = find_cl(r, c->name);

    if (cl == NULL && (cl = add_cl(r, c->name)) == NULL) return 0; /* out of memory: next tick */
    cl->seen = true;
    if (cl->walk == NULL && r->n_walks < FO_REDISCOVER_MAX_WALKS && uv_now(r->ctl->loop) >= cl->next_ms)
        start_walk(r, cl, c);
    return 0;
}

static void tick(uv_timer_t *t)
{
    struct fo_rediscover *r = t->data;
    unsigned i;

    if (r->stopping) return;
    /* Followers walk nothing and show nothing: the leader's view is the one. */
    if (!fo_raft_is_leader(&r->ctl->raft) || r->ctl->store == NULL) {
        while (r->n_cls > 0) drop_cl(r, r->n_cls - 1);
        return;
    }
    for (i = 0; i < r->n_cls; i++) r->cls[i]->seen = false;
    if (fo_store_each_rediscover_cluster(r->ctl->store, on_cluster, r) != 0) return;
    for (i = r->n_cls; i > 0; i--) /* removed, or rediscovery no longer on */
        if (!r->cls[i - 1]->seen) drop_cl(r, i - 1);
}

int fo_rediscover_start(struct fo_rediscover **out, struct fo_ctl *ctl, char err[FO_ERRLEN])
{
    struct fo_rediscover *r = calloc(1, sizeof *r);

    if (r == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    r->ctl = ctl;
    uv_timer_init(ctl->loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, tick, FO_REDISCOVER_TICK_MS, FO_REDISCOVER_TICK_MS);
    *out = r;
    return 0;
}

static void timer_closed(uv_handle_t *h)
{
    struct fo_rediscover *r = h->data;

    r->timer_closed = true;
    maybe_free(r);
}

void fo_rediscover_stop(struct fo_rediscover *r)
{
    struct rwalk *w, *next;

    if (r == NULL || r->stopping) return;
    r->stopping = true;
    for (w = r->walks; w != NULL; w = next) {
        next = w->next;
        fo_discover_cancel(w->d); /* walk_done frees w (now or later) */
    }
    uv_close((uv_handle_t *)&r->timer, timer_closed);
}

/* ------------------------------------------------------------------ views */

unsigned fo_rediscover_findings(const struct fo_rediscover *r, const char *cluster,
                                void (*fn)(void *data, const char *line), void *data)
{
    const struct rcl *cl = r != NULL && !r->stopping ? find_cl(r, cluster) : NULL;
    unsigned i;

    if (cl == NULL) return 0;
    for (i = 0; fn != NULL && i < cl->n_lines; i++) fn(data, cl->lines[i]);
    return cl->n_lines;
}

void fo_rediscover_metrics(const struct fo_rediscover *r, struct fo_buf *b)
{
    unsigned n = r != NULL && !r->stopping ? r->n_cls : 0, i, k;
    struct fo_prom_label l[2];

    fo_prom_family(b, "failoverd_rediscover_walks_total", "counter",
                   "Periodic rediscovery walks of the cluster's topology by this leader: result=ok (every server "
                   "reached), incomplete (some server not reached or not visited before the deadline, or a failover "
                   "began during the walk: its findings were dropped), failed "
                   "(the walk could not run).");
    for (i = 0; i < n; i++)
        for (k = 0; k < WALK_N; k++) {
            l[0] = (struct fo_prom_label){"cluster", r->cls[i]->name};
            l[1] = (struct fo_prom_label){"result", result_label[k]};
            fo_prom_value(b, "failoverd_rediscover_walks_total", l, 2, (double)r->cls[i]->walks[k]);
        }
    fo_prom_family(b, "failoverd_rediscover_unregistered_replicas", "gauge",
                   "Replicas of a registered server that are not registered, as the last rediscovery walk found.");
    for (i = 0; i < n; i++) {
        l[0] = (struct fo_prom_label){"cluster", r->cls[i]->name};
        fo_prom_value(b, "failoverd_rediscover_unregistered_replicas", l, 1, r->cls[i]->n_unregistered);
    }
    fo_prom_family(b, "failoverd_rediscover_vanished_replicas", "gauge",
                   "Registered replicas that answer but no longer replicate from a registered server, as the last "
                   "rediscovery walk found.");
    for (i = 0; i < n; i++) {
        l[0] = (struct fo_prom_label){"cluster", r->cls[i]->name};
        fo_prom_value(b, "failoverd_rediscover_vanished_replicas", l, 1, r->cls[i]->n_vanished);
    }
    fo_prom_family(b, "failoverd_rediscover_adopted_total", "counter",
                   "Replicas registered by rediscovery (adopt_replicas = yes) while this node was leader.");
    for (i = 0; i < n; i++) {
        l[0] = (struct fo_prom_label){"cluster", r->cls[i]->name};
        fo_prom_value(b, "failoverd_rediscover_adopted_total", l, 1, (double)r->cls[i]->adopted);
    }
}
