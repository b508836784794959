/* Keeping the topology safe between failovers (DESIGN.md §6, issues 3 and 8):
 *  - a writable instance that is not the designated primary is fenced with the one
 *    fencing module (mysql/fence.h: read_only=1, client sessions killed, READ_ONLY
 *    ADMIN/SUPER ones included, semi-sync master off); what survived is recorded, and
 *    a fence that left survivors is repeated even though read_only is already 1;
 *  - an instance that has transactions the primary lacks (fo_gtid_state_errant on
 *    @@gtid_binlog_state, so server ids count, not only seqnos) is QUARANTINED with a
 *    reason naming them, never rejoined. This is judged before anything rewrites its
 *    gtid_slave_pos (MASTER_DEMOTE_TO_SLAVE would hide the divergence), and an instance
 *    whose gtid_binlog_state is unknown is not rejoined at all;
 *  - an instance that does not replicate from the primary and has nothing errant is
 *    repointed with MASTER_USE_GTID=slave_pos (+ MASTER_DEMOTE_TO_SLAVE=1 if it has no
 *    source), guarded by its gtid_binlog_state: if it changed since the sample that
 *    was judged, nothing is rewritten. That is a former primary coming back (no
 *    source), and a replica whose source is a member that is not a healthy replica of
 *    the primary: not replicating, or the former primary of the last failover (DOWN,
 *    or still named with both threads stopped: the failover's repoint step did not
 *    reach it, e.g. its STOP SLAVE timed out). A chain through healthy replicas is
 *    allowed; a source outside the cluster, or a member in maintenance or not seen
 *    right now, is noted and left alone (source_of);
 *  - a replica of an INTERMEDIATE PRIMARY (a member that is the source of others) that
 *    is DOWN for this node is repointed only once that death is confirmed like a
 *    primary's -- a majority of controllers and its replicas' own view
 *    (controller/decide/chain.h, issue 13.3) -- to the dead one's source or the nearest
 *    healthy ancestor, under the same errant-GTID guard; never on this node's view
 *    alone: a controller cut off from it while its replicas still hear it moves
 *    nothing (chain_check, docs/intermediate-primaries.md);
 *  - a replica whose replication broke (an IO or SQL thread stopped on an error, e.g.
 *    1236 after a divergence) is looked at again: errant -> quarantined, IO error 1236
 *    (the primary cannot serve it) -> quarantined, anything else -> recorded;
 *  - a replica of the primary whose IO thread is stopped WITHOUT an error while its SQL
 *    thread runs, after a failover attempt on that primary that did not complete (what
 *    its choose step leaves behind), gets START SLAVE IO_THREAD, at most IO_TRIES times
 *    until it is seen running again. Never with the SQL thread stopped too: MariaDB
 *    would discard the relay log. An IO thread a DBA stopped otherwise is left alone.
 *  - nothing at all in a cluster with a server of a flavour failoverd does not
 *    support (issue 15.6; refuse_flavour): a "refused" Decision says which.
 * Every action and every refusal is a Decision (`failoverctl why`). Instances in
 * maintenance are left alone; a quarantined instance is only ever fenced.
 * One operation per instance at a time; an instance is judged again only on a fresh
 * sample (or after RETRY_MS when an operation failed). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "common/config.h"
#include "common/log.h"
#include "controller/act/failover_internal.h"
#include "mysql/fence.h"
#include "controller/decide/chain.h"
#include "controller/decide/flavour.h"
#include "controller/decide/gtid.h"
#include "controller/probe/monitor.h"
#include "controller/decide/topology.h"

#define MOD "rejoin"
#define RETRY_MS 5000        /* after a failed operation */
#define NOTE_REPEAT_MS 60000 /* the same waiting/refusal note is recorded again at most this often */
#define IO_TRIES 3           /* START SLAVE IO_THREAD attempts before leaving it to a DBA */
#define FENCE_FAST_TRIES 5   /* incomplete fences repeated on every sample; then every RETRY_MS */
#define ER_MASTER_FATAL_READING_BINLOG 1236
#define ER_SIGNAL_EXCEPTION 1644 /* our repoint guard's SIGNAL */
#define ERRANT_LEN 512

enum op_kind { OP_NONE = 0, OP_FENCE, OP_CONFIRM, OP_REPOINT, OP_IO_START };

struct rejoin_op {
    struct rejoin_op *next;
    struct rejoin_op *hnext; /* in fe->rejoin_buckets */
    struct fo_failover *fe;
    char cluster[FO_NAME_LEN];
    char host[FO_HOST_LEN];
    uint16_t port;
    char primary_host[FO_HOST_LEN]; /* the designated primary when the operation began */
    uint16_t primary_port;
    uint64_t next_ms;       /* monotonic: no new operation before */
    enum op_kind kind;      /* what is in flight (q or fence set), OP_NONE if nothing */
    struct fo_sql *q;       /* in flight, or NULL */
    struct fo_fence *fence; /* in flight, or NULL */
    bool cancelled;
    bool refence;                     /* the last fence was incomplete: fence again even if read_only */
    unsigned fence_fails;             /* consecutive incomplete fences */
    unsigned io_tries;                /* IO thread restarts since it was last seen running */
    bool fatal;                       /* OP_CONFIRM: replication failed with error 1236 */
    char broken[FO_ERRTEXT_LEN + 64]; /* OP_CONFIRM: the replication error, or "" */
    char state[FO_GTIDSTATE_LEN];     /* OP_CONFIRM: the instance's gtid_binlog_state judged */
    char what[448];                   /* OP_REPOINT / OP_IO_START: for the decision */
    char wrong[320];                  /* why its source is wrong (a replica to repoint), or "" */
    char target_host[FO_HOST_LEN];    /* OP_REPOINT: the new source; "" = the primary */
    uint16_t target_port;
    char note_key[96]; /* the last note recorded (see note()) */
    uint64_t note_at;
};

struct member {
    char host[FO_HOST_LEN];
    uint16_t port;
    bool maintenance;
};

struct check_ctx {
    struct fo_failover *fe;
    const struct fo_store_cluster *c;
    const struct fo_sample *ps; /* the primary's latest sample */
    struct member m[FO_MAX_INSTANCES_PER_CLUSTER];
    unsigned n;
    /* Issue 13.3: the intermediate primaries' inputs, parallel to m[], and the plan
     * (controller/decide/chain.h), made once per check before any instance is judged;
     * ch only while some member is DOWN for this node (rare: the rest is large). */
    struct fo_chain_member cm[FO_MAX_INSTANCES_PER_CLUSTER];
    char stored_src[FO_MAX_INSTANCES_PER_CLUSTER][FO_HOST_LEN];
    bool any_down;
    struct chain_scratch *ch;
};

struct chain_scratch {
    struct fo_detect_vote votes[FO_MAX_INSTANCES_PER_CLUSTER][FO_MAX_PEERS];
    struct fo_chain_out plan;
};

static bool is_primary(const struct fo_store_cluster *c, const char *host, uint16_t port)
{
    return fo_addr_same(host, port, c->primary_host, c->primary_port);
}

static unsigned op_hash(const char *cluster, const char *host, uint16_t port)
{
    uint64_t h = fo_instance_hash(cluster, host, port);

    return (unsigned)(h ^ (h >> 32));
}

static struct rejoin_op **op_bucket(struct fo_failover *fe, const char *cluster, const char *host, uint16_t port)
{
    return &fe->rejoin_buckets[op_hash(cluster, host, port) & (fe->n_rejoin_buckets - 1)];
}

/* Every non-primary instance of a checked cluster is looked up on each check: an index,
 * not a walk of the list (issue 12). */
static struct rejoin_op *op_find(struct fo_failover *fe, const char *cluster, const char *host, uint16_t port)
{
    struct rejoin_op *op;

    if (fe->n_rejoin_buckets == 0) return NULL;
    for (op = *op_bucket(fe, cluster, host, port); op != NULL; op = op->hnext)
        if (op->port == port && strcmp(op->host, host) == 0 && strcmp(op->cluster, cluster) == 0) return op;
    return NULL;
}

/* Doubles the buckets when the index would hold more operations than buckets; on
 * allocation failure the old table stays (longer chains) unless there is none. */
static int op_index_fit(struct fo_failover *fe, unsigned need)
{
    struct rejoin_op **nb, *op;
    unsigned nn = fe->n_rejoin_buckets ? fe->n_rejoin_buckets : 64;

    while (nn < need) nn *= 2;
    if (nn == fe->n_rejoin_buckets) return 0;
    if ((nb = calloc(nn, sizeof(*nb))) == NULL) return fe->n_rejoin_buckets ? 0 : FO_ENOMEM;
    for (op = fe->rejoins; op != NULL; op = op->next) {
        unsigned h = op_hash(op->cluster, op->host, op->port) & (nn - 1);
        op->hnext = nb[h];
        nb[h] = op;
    }
    free(fe->rejoin_buckets);
    fe->rejoin_buckets = nb;
    fe->n_rejoin_buckets = nn;
    return 0;
}

static struct rejoin_op *op_get(struct fo_failover *fe, const char *cluster, const char *host, uint16_t port)
{
    struct rejoin_op *op = op_find(fe, cluster, host, port);

    if (op != NULL) return op;
    if (op_index_fit(fe, fe->n_rejoins + 1) != 0 || (op = calloc(1, sizeof(*op))) == NULL) {
        FO_WARN(MOD, "%s %s:%u: out of memory", cluster, host, port);
        return NULL;
    }
    op->fe = fe;
    snprintf(op->cluster, sizeof(op->cluster), "%s", cluster);
    snprintf(op->host, sizeof(op->host), "%s", host);
    op->port = port;
    op->next = fe->rejoins;
    fe->rejoins = op;
    op->hnext = *op_bucket(fe, cluster, host, port);
    *op_bucket(fe, cluster, host, port) = op;
    fe->n_rejoins++;
    return op;
}

static void op_unlink_free(struct rejoin_op *op)
{
    struct fo_failover *fe = op->fe;
    struct rejoin_op **pp = &fe->rejoins;

    while (*pp != NULL && *pp != op) pp = &(*pp)->next;
    if (*pp == op) *pp = op->next;
    pp = op_bucket(fe, op->cluster, op->host, op->port);
    while (*pp != NULL && *pp != op) pp = &(*pp)->hnext;
    if (*pp == op) *pp = op->hnext;
    fe->n_rejoins--;
    free(op);
}

static void op_cancel(struct rejoin_op *op)
{
    if (op->q == NULL && op->fence == NULL) {
        op_unlink_free(op);
        return;
    }
    op->cancelled = true; /* the callback frees it */
    if (op->q != NULL) fo_sql_cancel(op->q);
    if (op->fence != NULL) fo_fence_cancel(op->fence);
}

void fo_rejoin_cancel_all(struct fo_failover *fe)
{
    struct rejoin_op *op, *next;

    for (op = fe->rejoins; op != NULL; op = next) {
        next = op->next;
        op_cancel(op);
    }
}

static uint64_t fresh_sample_ms(const struct fo_failover *fe)
{
    return 2u * fe->ctl->cfg.probe.interval_ms; /* a sample taken after the operation */
}

static void decide(struct rejoin_op *op, const char *verdict, const char *reason)
{
    fo_fe_decision(op->fe, op->cluster, verdict, reason, op->host, op->port, false, NULL);
}

/* A waiting state or a refusal about this instance: recorded when it changes, and
 * again at most every NOTE_REPEAT_MS while it lasts (evaluation runs on every probe
 * of the cluster, and the engine's own deduplication keeps one key per cluster). */
static void note(struct rejoin_op *op, const char *verdict, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(struct rejoin_op *op, const char *verdict, const char *fmt, ...)
{
    uint64_t now = uv_now(op->fe->ctl->loop);
    char reason[768], key[sizeof(op->note_key)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    snprintf(key, sizeof(key), "%s|%.80s", verdict, reason);
    if (strcmp(key, op->note_key) == 0 && now - op->note_at < NOTE_REPEAT_MS) return;
    memcpy(op->note_key, key, sizeof(key));
    op->note_at = now;
    decide(op, verdict, reason);
}

/* ------------------------------------------------------------------ quarantine */

/* Formats into out; a text that does not fit ends with "..." (reasons are bounded by
 * what the store keeps: a cut reason is better than none). */
static void fit(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fit(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    int k;

    va_start(ap, fmt);
    k = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    if (k >= 0 && (size_t)k >= n && n > 4) memcpy(out + n - 4, "...", 4);
}

static void quarantine(struct rejoin_op *op, const char *errant)
{
    char reason[256], decision[1024], err[FO_ERRLEN];
    Fo__Command cmd;
    Fo__Quarantine q;

    /* The stored reason is at most 255 bytes, so the errant GTIDs come first; the
     * decision carries the whole list. */
    if (errant[0] != '\0') {
        fit(reason, sizeof(reason),
            "errant GTIDs %s (not on the primary %s:%u)%s%s; not rejoined: a DBA must "
            "reconcile it",
            errant, op->primary_host, op->primary_port, op->broken[0] ? "; " : "", op->broken);
        fit(decision, sizeof(decision),
            "%s:%u quarantined: errant GTIDs %s (not on the primary %s:%u)%s%s; not "
            "rejoined: a DBA must reconcile it",
            op->host, op->port, errant, op->primary_host, op->primary_port, op->broken[0] ? "; " : "", op->broken);
    } else {
        fit(reason, sizeof(reason),
            "replication from the primary %s:%u cannot continue: %s; not rejoined: a DBA "
            "must reconcile it",
            op->primary_host, op->primary_port, op->broken);
        fit(decision, sizeof(decision), "%s:%u quarantined: %s", op->host, op->port, reason);
    }
    fo__command__init(&cmd);
    fo__quarantine__init(&q);
    q.cluster = op->cluster;
    q.host = op->host;
    q.port = op->port;
    q.on = 1;
    q.reason = reason;
    cmd.body_case = FO__COMMAND__BODY_QUARANTINE;
    cmd.quarantine = &q;
    FO_WARN(MOD, "%s %s:%u: quarantined: %s", op->cluster, op->host, op->port, reason);
    if (fo_ctl_propose(op->fe->ctl, &cmd, NULL, NULL, err) != 0) FO_WARN(MOD, "quarantine: %s", err);
    decide(op, "quarantined", decision);
    /* Until the quarantine is applied, nothing else happens to it; if the proposal
     * is lost, the next judgement finds the same transactions and proposes again. */
    op->next_ms = uv_now(op->fe->ctl->loop) + RETRY_MS;
}

/* ------------------------------------------------------------------ operations */

static void op_done(void *data, int status, unsigned myerrno, const char *error, const struct fo_sql_rows *rows);

/* Runs stmts on host:port (the instance, or the primary) as the cluster's user. */
static void run_op(struct rejoin_op *op, const struct fo_store_cluster *c, enum op_kind kind, const char *host,
                   uint16_t port, const char *const *stmts, unsigned n)
{
    struct fo_ctl *ctl = op->fe->ctl;
    struct fo_sql_opts opts;
    char pw[256], err[FO_ERRLEN];

    if (fo_fe_read_secret(op->fe, c->password_file, pw, sizeof(pw), err) != 0) {
        note(op, "cannot_rejoin", "%s:%u: cannot act: %s", op->host, op->port, err);
        return;
    }
    memset(&opts, 0, sizeof(opts));
    opts.connect_timeout_ms = ctl->cfg.probe.connect_timeout_ms;
    opts.timeout_ms = ctl->cfg.failover.step_timeout_ms;
    opts.tls = fo_config_cluster_tls(&ctl->cfg, op->cluster);
    snprintf(op->primary_host, sizeof(op->primary_host), "%s", c->primary_host);
    op->primary_port = c->primary_port;
    op->q = fo_sql_run(ctl->loop, host, port, c->user, pw, stmts, n, &opts, op_done, op);
    memset(pw, 0, sizeof(pw));
    if (op->q == NULL) {
        FO_WARN(MOD, "%s %s:%u: cannot start SQL (out of memory or bad arguments)", op->cluster, op->host, op->port);
        return;
    }
    op->kind = kind;
}

static void fence_done(void *data, const struct fo_fence_result *r)
{
    struct rejoin_op *op = data;
    uint64_t now = uv_now(op->fe->ctl->loop);
    bool complete;
    char reason[1024];

    op->fence = NULL;
    op->kind = OP_NONE;
    if (op->cancelled) {
        op_unlink_free(op);
        return;
    }
    complete = r->status == 0 && r->read_only && r->survived == 0;
    snprintf(reason, sizeof(reason),
             "%s:%u was writable but is not the primary %s:%u: %s (read_only=%s, %u session(s) killed in %u "
             "round(s), %u survived%s)%s%.400s",
             op->host, op->port, op->primary_host, op->primary_port,
             complete ? "fenced" : (r->reached ? "fence incomplete" : "fence failed: server not reached"),
             r->read_only ? "1" : "not confirmed", r->killed, r->rounds, r->survived, r->status != 0 ? ", error" : "",
             r->detail[0] ? ": " : "", r->detail);
    if (complete) {
        op->fence_fails = 0;
        op->refence = false;
        decide(op, "fenced", reason);
    } else {
        /* Survivors (or no confirmation) mean it may still take writes: fence again
         * on the next sample even if it now shows read_only=1, then less often. */
        op->fence_fails++;
        op->refence = true;
        FO_WARN(MOD, "%s: %s", op->cluster, reason);
        note(op, "fence_incomplete", "%s", reason);
    }
    op->next_ms = now + (complete || op->fence_fails < FENCE_FAST_TRIES ? fresh_sample_ms(op->fe) : RETRY_MS);
}

static void fence_stray(struct check_ctx *cx, struct rejoin_op *op)
{
    struct fo_ctl *ctl = cx->fe->ctl;
    struct fo_fence_opts o;
    char pw[256], err[FO_ERRLEN];

    if (fo_fe_read_secret(cx->fe, cx->c->password_file, pw, sizeof(pw), err) != 0) {
        note(op, "fence_incomplete", "%s:%u is writable but is not the primary, and cannot be fenced: %s", op->host,
             op->port, err);
        return;
    }
    memset(&o, 0, sizeof(o));
    o.host = op->host;
    o.port = op->port;
    o.user = cx->c->user;
    o.password = pw;
    o.connect_timeout_ms = ctl->cfg.probe.connect_timeout_ms;
    o.timeout_ms = ctl->cfg.failover.step_timeout_ms;
    o.semi_sync_off = true; /* DESIGN.md §6: its waiting commits must not hold on */
    snprintf(op->primary_host, sizeof(op->primary_host), "%s", cx->c->primary_host);
    op->primary_port = cx->c->primary_port;
    op->fence = fo_fence_start_tls(ctl->loop, &o, fo_config_cluster_tls(&ctl->cfg, op->cluster), fence_done, op, err);
    memset(pw, 0, sizeof(pw));
    if (op->fence == NULL) {
        FO_WARN(MOD, "%s %s:%u: cannot start fencing: %s", op->cluster, op->host, op->port, err);
        note(op, "fence_incomplete", "%s:%u is writable but is not the primary, and fencing cannot start: %s", op->host,
             op->port, err);
        return;
    }
    op->kind = OP_FENCE;
}

/* The guard of a repoint: the instance's gtid_binlog_state is still the one judged
 * free of errant transactions, and it is still read-only; otherwise SIGNAL stops the
 * list before STOP SLAVE. (MariaDB runs IF outside stored programs; the repoint is
 * MariaDB-only anyway: MASTER_USE_GTID, MASTER_DEMOTE_TO_SLAVE.) */
static int guard_statement(const char *state, char *out, size_t n)
{
    char qs[2 * FO_GTIDSTATE_LEN + 4];
    int k;

    if (fo_sql_quote(state, qs, sizeof(qs)) != 0) return FO_ETOOBIG;
    k = snprintf(out, n,
                 "IF @@gtid_binlog_state <> %s OR @@read_only = 0 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = "
                 "'failoverd: gtid_binlog_state or read_only changed since the sample judged; not repointed'; END IF",
                 qs);
    return k < 0 || (size_t)k >= n ? FO_ETOOBIG : 0;
}

static void repoint(struct rejoin_op *op, const struct fo_store_cluster *c, const struct fo_sample *s)
{
    char change[1024], err[FO_ERRLEN];
    char guard[2 * FO_GTIDSTATE_LEN + 256];
    bool demote = !s->is_replica;
    const char *th = op->target_host[0] != '\0' ? op->target_host : c->primary_host;
    uint16_t tp = op->target_host[0] != '\0' ? op->target_port : c->primary_port;
    const char *stmts[6];
    unsigned n = 0;
    int rc;

    /* CHANGE MASTER built by fo_fe_change_master (shared with coprimary.c). */
    rc = fo_fe_change_master(op->fe, c, op->host, op->port, th, tp, demote, change, sizeof(change), err);
    if (rc == FO_EINVAL) {
        note(op, "cannot_rejoin",
             "%s:%u does not replicate from the primary and cannot be repointed: repl_user / repl_password_file "
             "not configured or unreadable",
             op->host, op->port);
        op->next_ms = uv_now(op->fe->ctl->loop) + RETRY_MS;
        return;
    }
    if (rc != 0 || guard_statement(s->gtid_binlog_state, guard, sizeof(guard)) != 0) {
        note(op, "cannot_rejoin",
             "%s:%u does not replicate from the primary and cannot be repointed: the primary's host, repl_user, "
             "the replication password or the instance's gtid_binlog_state does not fit the statements",
             op->host, op->port);
        op->next_ms = uv_now(op->fe->ctl->loop) + RETRY_MS;
        memset(change, 0, sizeof(change));
        return;
    }
    stmts[n++] = guard;
    /* A former primary fenced only by its lease (its agent leaves semi-sync alone, no
     * SQL fence reached it) still has the source side on: as a replica, each of its
     * commits (its SQL thread's included) would wait rpl_semi_sync_master_timeout for
     * an acknowledgement nobody sends (found by tests/chaos, seed 20261207). */
    if (c->semi_sync) stmts[n++] = "SET GLOBAL rpl_semi_sync_master_enabled=0";
    stmts[n++] = "STOP SLAVE";
    stmts[n++] = change;
    if (c->semi_sync) stmts[n++] = "SET GLOBAL rpl_semi_sync_slave_enabled=1";
    stmts[n++] = "START SLAVE";
    if (demote)
        snprintf(op->what, sizeof(op->what), "repointed to the primary %s:%u (demoted former primary)", c->primary_host,
                 c->primary_port);
    else if (op->target_host[0] != '\0')
        fit(op->what, sizeof(op->what), "repointed to %s:%u (it replicated from %.64s:%u, %s)", th, tp, s->master_host,
            s->master_port, op->wrong);
    else
        fit(op->what, sizeof(op->what), "repointed to the primary %s:%u (it replicated from %.64s:%u, %s)",
            c->primary_host, c->primary_port, s->master_host, s->master_port,
            op->wrong[0] ? op->wrong : "not the primary");
    run_op(op, c, OP_REPOINT, op->host, op->port, stmts, n);
    memset(change, 0, sizeof(change));
}

/* The sample says the instance has transactions the primary lacks, or its
 * replication failed fatally. The primary's sample may be older than the instance's
 * (a busy primary), so before a quarantine, which only a DBA lifts, read the
 * primary's gtid_binlog_state again: that read is newer than the instance's sample. */
static void confirm(struct rejoin_op *op, const struct fo_store_cluster *c, const struct fo_sample *s,
                    const char *broken, bool fatal)
{
    static const char *const stmts[] = {"SELECT @@gtid_binlog_state"};

    snprintf(op->state, sizeof(op->state), "%s", s->gtid_binlog_state);
    snprintf(op->broken, sizeof(op->broken), "%s", broken);
    op->fatal = fatal;
    run_op(op, c, OP_CONFIRM, c->primary_host, c->primary_port, stmts, 1);
}

static void confirm_done(struct rejoin_op *op, int status, const char *error, const struct fo_sql_rows *rows)
{
    struct fo_store_cluster c;
    char errant[ERRANT_LEN], err[FO_ERRLEN];
    const char *pstate;
    int rc;

    if (status != 0) {
        note(op, "cannot_rejoin", "%s:%u: reading the primary's gtid_binlog_state failed: %s", op->host, op->port,
             error);
        return;
    }
    if (fo_store_get_cluster(op->fe->ctl->store, op->cluster, &c) != 0 ||
        !is_primary(&c, op->primary_host, op->primary_port))
        return; /* the primary changed meanwhile: judge again on fresh samples */
    pstate = rows != NULL && rows->n_rows == 1 && rows->n_cols >= 1 ? rows->values[0] : NULL;
    if (pstate == NULL) {
        note(op, "rejoin_waiting", "%s:%u: the primary's gtid_binlog_state is unknown (NULL); not rejoined", op->host,
             op->port);
        return;
    }
    rc = fo_gtid_state_errant(op->state, pstate, errant, sizeof(errant), err);
    if (rc < 0) {
        note(op, "cannot_rejoin", "%s:%u: cannot compare gtid_binlog_states: %s; not rejoined", op->host, op->port,
             err);
        return;
    }
    if (rc > 0 || op->fatal) {
        quarantine(op, rc > 0 ? errant : "");
        return;
    }
    if (op->broken[0] != '\0')
        note(op, "replication_broken", "%s:%u: %s; nothing the primary lacks, left to a DBA", op->host, op->port,
             op->broken);
    else
        op->next_ms = uv_now(op->fe->ctl->loop); /* the primary's sample was stale: judge the next one */
}

static void op_done(void *data, int status, unsigned myerrno, const char *error, const struct fo_sql_rows *rows)
{
    struct rejoin_op *op = data;
    enum op_kind kind = op->kind;
    uint64_t now = uv_now(op->fe->ctl->loop);
    char reason[600];

    op->q = NULL;
    op->kind = OP_NONE;
    if (op->cancelled) {
        op_unlink_free(op);
        return;
    }
    if (kind == OP_CONFIRM) {
        confirm_done(op, status, error, rows);
        return;
    }
    if (status != 0 && kind == OP_REPOINT && myerrno == ER_SIGNAL_EXCEPTION) {
        FO_INFO(MOD, "%s %s:%u changed since its sample was judged; not repointed, judged again", op->cluster, op->host,
                op->port);
        op->next_ms = now + fresh_sample_ms(op->fe);
        return;
    }
    if (status != 0) {
        FO_WARN(MOD, "%s %s:%u: %s failed: %s", op->cluster, op->host, op->port, op->what, error);
        note(op, kind == OP_REPOINT ? "rejoin_failed" : "io_restart_failed", "%s:%u: %.200s failed: %.300s", op->host,
             op->port, op->what, error);
        return; /* next_ms: RETRY_MS after the start */
    }
    snprintf(reason, sizeof(reason), "%s:%u %s", op->host, op->port, op->what);
    decide(op, kind == OP_REPOINT ? "rejoined" : "io_restarted", reason);
    /* Look again once a fresh sample shows the effect. */
    op->next_ms = now + fresh_sample_ms(op->fe);
}

/* ------------------------------------------------------------------ judging one instance */

/* Replication stopped on an error: it does not recover by itself. */
static bool broken(const struct fo_sample *s, char *out, size_t n, bool *fatal)
{
    *fatal = false;
    if (s->io_running == FO_THREAD_NO && s->last_io_errno != 0) {
        *fatal = s->last_io_errno == ER_MASTER_FATAL_READING_BINLOG;
        snprintf(out, n, "replication IO thread stopped: error %u: %.300s", s->last_io_errno, s->last_io_error);
        return true;
    }
    if (s->sql_running == FO_THREAD_NO && s->last_sql_errno != 0) {
        snprintf(out, n, "replication SQL thread stopped: error %u: %.300s", s->last_sql_errno, s->last_sql_error);
        return true;
    }
    return false;
}

/* Errant transactions (quarantine), else repoint, else wait: for an instance that is
 * read-only and either replicates from nobody we trust or broke (broken != ""). */
static void judge(struct check_ctx *cx, struct rejoin_op *op, const struct fo_sample *s, const char *broken_why,
                  bool fatal)
{
    char errant[ERRANT_LEN], err[FO_ERRLEN];
    int rc;

    if (!s->gtid_binlog_state_known) {
        note(op, "rejoin_waiting",
             "%s:%u: its gtid_binlog_state is unknown (NULL or too long): cannot tell whether it has transactions "
             "the primary lacks; not rejoined",
             op->host, op->port);
        return;
    }
    if (!cx->ps->gtid_binlog_state_known) {
        note(op, "rejoin_waiting",
             "%s:%u: the primary %s:%u's gtid_binlog_state is unknown: cannot judge errant transactions; not "
             "rejoined",
             op->host, op->port, cx->c->primary_host, cx->c->primary_port);
        return;
    }
    rc = fo_gtid_state_errant(s->gtid_binlog_state, cx->ps->gtid_binlog_state, errant, sizeof(errant), err);
    if (rc < 0) {
        note(op, "cannot_rejoin", "%s:%u: cannot compare gtid_binlog_states: %s; not rejoined", op->host, op->port,
             err);
        op->next_ms = uv_now(cx->fe->ctl->loop) + RETRY_MS;
        return;
    }
    op->next_ms = uv_now(cx->fe->ctl->loop) + RETRY_MS; /* while the operation runs and after a failure */
    if (rc > 0 || fatal) {
        confirm(op, cx->c, s, broken_why, fatal);
        return;
    }
    if (broken_why[0] != '\0') {
        note(op, "replication_broken", "%s:%u: %s; nothing the primary lacks, left to a DBA", op->host, op->port,
             broken_why);
        return;
    }
    repoint(op, cx->c, s);
}

struct last_failover {
    bool found;
    struct fo_store_failover f;
};

static int take_last(void *data, const struct fo_store_failover *f)
{
    struct last_failover *l = data;

    l->found = true;
    l->f = *f;
    return 1;
}

/* True if the cluster's latest failover was an attempt on the current primary that did
 * not complete: its choose step may have left IO threads stopped. An IO thread stopped
 * in any other situation is a DBA's (e.g. to make a replica lag on purpose) and is left
 * alone. */
static bool failed_attempt_on_primary(struct check_ctx *cx)
{
    struct last_failover l = {0};

    fo_store_each_failover(cx->fe->ctl->store, cx->c->name, 1, take_last, &l);
    return l.found && l.f.result != 0 && l.f.result != 1 /* running, success */ &&
           fo_addr_same(l.f.old_host, l.f.old_port, cx->c->primary_host, cx->c->primary_port);
}

static void restart_io(struct check_ctx *cx, struct rejoin_op *op, const struct fo_sample *s)
{
    static const char *const io[] = {"START SLAVE IO_THREAD"};

    /* MariaDB discards a GTID replica's relay log when replication starts with both
     * threads stopped: its unapplied transactions would be lost. Never here. */
    if (s->sql_running != FO_THREAD_YES || !failed_attempt_on_primary(cx)) return;
    if (op->io_tries >= IO_TRIES) {
        if (op->io_tries++ == IO_TRIES)
            note(op, "io_restart_failed", "%s:%u: its IO thread is still stopped after %u restarts; left to a DBA",
                 op->host, op->port, IO_TRIES);
        return;
    }
    op->io_tries++;
    op->next_ms = uv_now(cx->fe->ctl->loop) + RETRY_MS;
    snprintf(op->what, sizeof(op->what),
             "replicates from the primary but its IO thread was left stopped by a failover attempt that did not "
             "complete: START SLAVE IO_THREAD (attempt %u of %u)",
             op->io_tries, IO_TRIES);
    FO_INFO(MOD, "%s %s:%u %s", op->cluster, op->host, op->port, op->what);
    run_op(op, cx->c, OP_IO_START, op->host, op->port, io, 1);
}

/* Where a replica's source stands. Addresses compare canonically (fo_addr_same), so a
 * replica naming the primary by another spelling is not repointed. */
enum src_kind {
    SRC_NONE = 0, /* not a replica (a former primary coming back): judged, repointed */
    SRC_PRIMARY,  /* the designated primary */
    SRC_CHAIN,    /* a member that is itself a healthy replica of the primary (allowed) */
    SRC_WRONG,    /* a member that is not the primary nor a healthy replica of it: repointed */
    SRC_UNSURE,   /* a member whose state is not known now: judged again later */
    SRC_OUTSIDE,  /* not a member: a problem shown in topology, not ours to fix */
};

static int member_index(const struct check_ctx *cx, const char *host, uint16_t port)
{
    unsigned k;

    for (k = 0; k < cx->n; k++)
        if (fo_addr_same(host, port, cx->m[k].host, cx->m[k].port)) return (int)k;
    return -1;
}

static bool old_primary_of_last_failover(const struct check_ctx *cx, const char *host, uint16_t port);

/* What member k is as a source, judged on the monitor's view of it:
 *  - SRC_CHAIN: it replicates, both threads running, from the primary or from a member
 *    that is SRC_CHAIN itself (depth bounds a loop of sources);
 *  - SRC_WRONG: it is the former primary of the last failover and DOWN, is not a
 *    replica, replicates from elsewhere, or its replication stopped on an error: what
 *    it serves is not (or no longer) the primary's stream;
 *  - SRC_UNSURE when it is DOWN otherwise: a member that is down for this node is an
 *    intermediate primary whose replicas move only once its death is confirmed
 *    (issue 13.3, chain_check()), and one further up moves its own replicas, not
 *    these;
 *  - SRC_UNSURE: in maintenance (a DBA's), not seen right now but not DOWN, or its
 *    threads are connecting or were stopped without an error (an operator's, or a
 *    moment): one such sample must not undo a chain a DBA built. */
static enum src_kind member_as_source(const struct check_ctx *cx, unsigned k, unsigned depth, const char **why)
{
    const struct fo_sample *ms;
    struct fo_watch_view v;
    char ignored[FO_ERRTEXT_LEN + 64];
    bool fatal;
    int up;

    if (cx->m[k].maintenance) return SRC_UNSURE;
    if (!fo_monitor_view(cx->fe->ctl, cx->c->name, cx->m[k].host, cx->m[k].port, &v)) return SRC_UNSURE;
    if (v.health == FO_HEALTH_DOWN) {
        *why = "which is down (the former primary)";
        return depth == 0 && old_primary_of_last_failover(cx, cx->m[k].host, cx->m[k].port) ? SRC_WRONG : SRC_UNSURE;
    }
    if (!v.last_ok || !v.has_sample) return SRC_UNSURE;
    ms = v.sample;
    *why = "which is not the primary nor a working replica of it";
    if (!ms->is_replica || ms->n_sources > 1) return SRC_WRONG;
    if (is_primary(cx->c, ms->master_host, ms->master_port)) {
        up = -1;
    } else {
        up = member_index(cx, ms->master_host, ms->master_port);
        if (up < 0 || (unsigned)up == k || depth >= cx->n) return SRC_WRONG;
    }
    if (broken(ms, ignored, sizeof(ignored), &fatal)) {
        *why = "whose replication stopped on an error";
        return SRC_WRONG;
    }
    if (ms->io_running != FO_THREAD_YES || ms->sql_running != FO_THREAD_YES) return SRC_UNSURE;
    return up < 0 ? SRC_CHAIN : member_as_source(cx, (unsigned)up, depth + 1, why);
}

/* True if host:port is the former primary of the cluster's latest failover, which
 * succeeded: a replica of it that the failover's repoint step could not reach (its
 * STOP SLAVE timed out) is left with both threads stopped, pointing at it. */
static bool old_primary_of_last_failover(const struct check_ctx *cx, const char *host, uint16_t port)
{
    struct last_failover l = {0};

    fo_store_each_failover(cx->fe->ctl->store, cx->c->name, 1, take_last, &l);
    return l.found && l.f.result == 1 /* success */ && fo_addr_same(l.f.old_host, l.f.old_port, host, port) &&
           !is_primary(cx->c, host, port);
}

static enum src_kind source_of(const struct check_ctx *cx, const struct fo_sample *s, const char **why)
{
    enum src_kind k;
    int m;

    if (!s->is_replica) return SRC_NONE;
    if (is_primary(cx->c, s->master_host, s->master_port)) return SRC_PRIMARY;
    if ((m = member_index(cx, s->master_host, s->master_port)) < 0) return SRC_OUTSIDE;
    k = member_as_source(cx, (unsigned)m, 0, why);
    /* The former primary may have rejoined meanwhile (a healthy replica now): a
     * replica still pointing at it with both threads stopped was missed by the
     * failover, not chained by a DBA. */
    if (k == SRC_CHAIN && s->io_running == FO_THREAD_NO && s->sql_running == FO_THREAD_NO &&
        old_primary_of_last_failover(cx, s->master_host, s->master_port)) {
        *why = "the former primary, with both threads stopped (missed by the failover's repoint)";
        return SRC_WRONG;
    }
    return k;
}

/* ------------------------------------------------------------------ intermediate primaries */

/* Issue 13.3: member k's inputs for controller/decide/chain.h, but the followers'
 * votes (chain_plan() reads them for the members that are DOWN, the only ones whose
 * votes the detector reads); returns whether it is DOWN for this node. */
static bool chain_collect(struct check_ctx *cx, unsigned k, const struct fo_store_instance *i)
{
    struct fo_chain_member *m = &cx->cm[k];
    struct fo_watch_view v;

    memset(m, 0, sizeof(*m));
    m->host = cx->m[k].host;
    m->port = cx->m[k].port;
    m->maintenance = i->maintenance;
    snprintf(cx->stored_src[k], FO_HOST_LEN, "%s", i->source_host);
    m->stored_source_host = cx->stored_src[k];
    m->stored_source_port = i->source_port;
    if (!fo_monitor_view(cx->fe->ctl, i->cluster, i->host, i->port, &v)) return false;
    m->health = v.health;
    if (v.last_ok && v.has_sample) {
        m->s = v.sample;
        m->sample_age_ms = v.sample_age_ms;
    }
    m->arrival = v.arrival;
    m->silent_ms = v.silent_ms;
    return v.health == FO_HEALTH_DOWN;
}

struct chain_ev {
    struct fo_evidence ev;
    struct fo_detect_replica reps[FO_MAX_INSTANCES_PER_CLUSTER];
};

/* The evidence of a verdict on intermediate x: this node's and the followers' views of
 * it, and its replicas' reports (as chain.c gave them to the detector). */
static void chain_evidence(struct check_ctx *cx, const struct fo_chain_inter *x, struct chain_ev *ce)
{
    const struct fo_chain_member *im = &cx->cm[x->idx];
    struct fo_watch_view v;
    unsigned n = fo_chain_replicas(cx->cm, cx->n, &cx->ch->plan, x->idx, ce->reps);

    memset(&v, 0, sizeof(v));
    if (!fo_monitor_view(cx->fe->ctl, cx->c->name, im->host, im->port, &v)) v.health = im->health;
    fo_fe_evidence(cx->fe, &ce->ev, &v, im->votes, im->n_votes, ce->reps, n);
}

static void depth_text(const struct check_ctx *cx, unsigned k, char *out, size_t n)
{
    if (cx->ch->plan.depth[k] == FO_CHAIN_NO_DEPTH)
        snprintf(out, n, "not under the primary");
    else
        snprintf(out, n, "depth %u", cx->ch->plan.depth[k]);
}

/* A verdict on an intermediate primary that is down for this node: a Decision with its
 * confirmations (`failoverctl why`), recorded when it changes and at most every
 * NOTE_REPEAT_MS while it lasts. */
static void chain_record(struct check_ctx *cx, const struct fo_chain_inter *x)
{
    const struct fo_chain_member *im = &cx->cm[x->idx];
    uint64_t now = uv_now(cx->fe->ctl->loop);
    char reason[1024], key[sizeof(((struct rejoin_op *)0)->note_key)], depth[32];
    const char *verdict;
    struct rejoin_op *op;
    struct chain_ev *ce;

    if (x->state == FO_CHAIN_ALIVE || x->state == FO_CHAIN_MAINTENANCE) return;
    if ((op = op_get(cx->fe, cx->c->name, im->host, im->port)) == NULL) return;
    depth_text(cx, x->idx, depth, sizeof(depth));
    if (x->state == FO_CHAIN_NOT_CONFIRMED) {
        verdict = "intermediate_not_confirmed";
        fit(reason, sizeof(reason),
            "intermediate primary %s:%u (%s, %u replica(s)) is down for this node, not confirmed (%s): %s; its "
            "replicas are not repointed",
            im->host, im->port, depth, x->n_replicas,
            /* not "unreachable_primary": the designated primary is not what was judged */
            x->det.verdict == FO_VERDICT_UNREACHABLE ? "unreachable" : fo_verdict_name(x->det.verdict), x->det.reason);
    } else {
        verdict = "dead_intermediate";
        fit(reason, sizeof(reason), "intermediate primary %s:%u (%s, %u replica(s)) confirmed dead: %s; %s%s", im->host,
            im->port, depth, x->n_replicas, x->det.reason,
            x->state == FO_CHAIN_DEAD ? "its replicas are repointed to " : "its replicas are not repointed: ", x->why);
    }
    /* The reason's first 64 bytes name only the intermediate: the key also carries the
     * chain state and the detector's verdict, so "down for 1/3" becoming "unreachable"
     * (all controllers, its replicas still hear it) is recorded at once. */
    snprintf(key, sizeof(key), "%.26s|%d|%d|%.50s", verdict, (int)x->state, (int)x->det.verdict, reason);
    if (strcmp(key, op->note_key) == 0 && now - op->note_at < NOTE_REPEAT_MS) return;
    if ((ce = calloc(1, sizeof(*ce))) == NULL) return;
    memcpy(op->note_key, key, sizeof(key));
    op->note_at = now;
    chain_evidence(cx, x, ce);
    FO_WARN(MOD, "%s: %s", cx->c->name, reason);
    fo_fe_decision(cx->fe, cx->c->name, verdict, reason, im->host, im->port, false, &ce->ev);
    free(ce);
}

/* Plans the cluster's intermediate primaries (chain.h) and records the verdicts on
 * those that are down. Nothing is planned while no member is down for this node: an
 * intermediate the leader sees UP or SUSPECT is alive for the detector anyway. */
static void chain_plan(struct check_ctx *cx)
{
    struct fo_chain_in in;
    unsigned k;

    if (!cx->any_down || (cx->ch = calloc(1, sizeof(*cx->ch))) == NULL) return;
    for (k = 0; k < cx->n; k++) {
        struct fo_chain_member *m = &cx->cm[k];
        m->votes = cx->ch->votes[k];
        if (m->health == FO_HEALTH_DOWN)
            m->n_votes = fo_monitor_votes(cx->fe->ctl, cx->c->name, m->host, m->port, cx->ch->votes[k], FO_MAX_PEERS);
    }
    memset(&in, 0, sizeof(in));
    in.primary_host = cx->c->primary_host;
    in.primary_port = cx->c->primary_port;
    in.m = cx->cm;
    in.n = cx->n;
    in.n_voters = fo_fe_voters(cx->fe->ctl);
    in.window_ms = cx->fe->ctl->cfg.failover.confirm_window_ms;
    in.tilt = fo_failover_tilted(cx->fe->ctl);
    fo_chain_plan(&in, &cx->ch->plan);
    for (k = 0; k < cx->ch->plan.n_inter; k++) chain_record(cx, &cx->ch->plan.inter[k]);
}

/* True when the instance replicates from an intermediate primary that is down for this
 * node: it is repointed once the death is confirmed, to the plan's target (the dead
 * one's source, or the nearest healthy ancestor), and left alone until then. The
 * former primary of the last failover is not treated so: that failover confirmed its
 * death (source_of). */
static bool chain_check(struct check_ctx *cx, const struct fo_store_instance *i, const struct fo_sample *s)
{
    const struct fo_chain_inter *x;
    struct rejoin_op *op;
    char depth[32];
    int k;

    if (cx->ch == NULL || cx->ch->plan.n_inter == 0 || !s->is_replica ||
        is_primary(cx->c, s->master_host, s->master_port))
        return false;
    if ((k = member_index(cx, s->master_host, s->master_port)) < 0) return false;
    if ((x = fo_chain_find(&cx->ch->plan, (unsigned)k)) == NULL || x->state == FO_CHAIN_ALIVE) return false;
    if (old_primary_of_last_failover(cx, cx->m[k].host, cx->m[k].port)) return false;
    if ((op = op_get(cx->fe, i->cluster, i->host, i->port)) == NULL || uv_now(cx->fe->ctl->loop) < op->next_ms)
        return true;
    if (x->state != FO_CHAIN_DEAD) {
        note(op, "rejoin_waiting",
             "%s:%u replicates from %s:%u, an intermediate primary that is down for this node but %s: not repointed",
             op->host, op->port, cx->m[k].host, cx->m[k].port,
             x->state == FO_CHAIN_MAINTENANCE      ? "in maintenance"
             : x->state == FO_CHAIN_DEAD_NO_TARGET ? "without a healthy ancestor to take its replicas"
                                                   : "whose death is not confirmed");
        return true;
    }
    depth_text(cx, (unsigned)k, depth, sizeof(depth));
    snprintf(op->target_host, sizeof(op->target_host), "%s", cx->m[x->target].host);
    op->target_port = cx->m[x->target].port;
    fit(op->wrong, sizeof(op->wrong),
        "an intermediate primary at %s confirmed dead: down for %u controllers (%u needed), its replicas "
        "disconnected; the new source is %s",
        depth, x->det.down_votes, x->det.needed, x->why);
    judge(cx, op, s, "", false);
    return true;
}

static int check_instance(void *data, const struct fo_store_instance *i)
{
    struct check_ctx *cx = data;
    struct fo_failover *fe = cx->fe;
    const struct fo_sample *s;
    struct rejoin_op *op;
    struct fo_watch_view v;
    char why[FO_ERRTEXT_LEN + 64];
    bool fatal = false;
    enum src_kind src;
    const char *wrong = "";

    if (is_primary(cx->c, i->host, i->port)) {
        /* What was pending against it as a stray (a repeated fence) no longer applies. */
        if ((op = op_find(fe, i->cluster, i->host, i->port)) != NULL && op->kind == OP_NONE) op_unlink_free(op);
        return 0;
    }
    if (i->maintenance) return 0;
    if (!fo_monitor_view(fe->ctl, i->cluster, i->host, i->port, &v) || !v.last_ok || !v.has_sample) return 0;
    s = v.sample;
    op = op_find(fe, i->cluster, i->host, i->port);
    if (op != NULL && op->kind != OP_NONE) return 0; /* one operation at a time */
    /* A writable non-primary is fenced even when quarantined: quarantine means "never
     * rejoined", not "left writable" (a DBA who must write on it uses maintenance). */
    if (!s->read_only || (op != NULL && op->refence)) {
        if ((op = op_get(fe, i->cluster, i->host, i->port)) != NULL && uv_now(fe->ctl->loop) >= op->next_ms)
            fence_stray(cx, op);
        return 0;
    }
    if (i->quarantined) return 0;
    if (s->n_sources > 1) { /* CHANGE MASTER would touch one of its sources only: a DBA's topology */
        if ((op = op_get(fe, i->cluster, i->host, i->port)) != NULL && uv_now(fe->ctl->loop) >= op->next_ms) {
            note(op, "cannot_rejoin", "%s:%u: multi-source replica (%u sources): not repointed, left to a DBA",
                 op->host, op->port, s->n_sources);
            op->next_ms = uv_now(fe->ctl->loop) + RETRY_MS;
        }
        return 0;
    }
    if (chain_check(cx, i, s)) return 0;
    src = source_of(cx, s, &wrong);
    if (src == SRC_OUTSIDE || src == SRC_UNSURE) {
        /* Outside: `topology` shows the problem; the DBA's source is not ours to change.
         * Unsure: judged again on the next sample. Noted only if it does not replicate. */
        if (s->io_running != FO_THREAD_YES || s->sql_running != FO_THREAD_YES) {
            if ((op = op_get(fe, i->cluster, i->host, i->port)) != NULL && uv_now(fe->ctl->loop) >= op->next_ms)
                note(op, src == SRC_OUTSIDE ? "cannot_rejoin" : "rejoin_waiting",
                     src == SRC_OUTSIDE
                         ? "%s:%u replicates from %s:%u, outside the cluster: not repointed, left to a DBA"
                         : "%s:%u replicates from %s:%u, a member whose state is not known now (or in "
                           "maintenance): not repointed yet",
                     op->host, op->port, s->master_host, s->master_port);
        }
        return 0;
    }
    if ((src == SRC_PRIMARY || src == SRC_CHAIN) && !broken(s, why, sizeof(why), &fatal)) {
        if (src == SRC_PRIMARY && s->io_running == FO_THREAD_NO) {
            if ((op = op_get(fe, i->cluster, i->host, i->port)) != NULL && uv_now(fe->ctl->loop) >= op->next_ms)
                restart_io(cx, op, s);
        } else if (op != NULL && s->io_running == FO_THREAD_YES) {
            op->io_tries = 0; /* a healthy replica again */
        }
        return 0;
    }
    if ((op = op_get(fe, i->cluster, i->host, i->port)) == NULL || uv_now(fe->ctl->loop) < op->next_ms) return 0;
    if (src == SRC_NONE || src == SRC_WRONG) {
        /* Its replication error, if any, is about the wrong source: only errant
         * transactions keep it from being repointed. */
        why[0] = '\0';
        fatal = false;
    }
    snprintf(op->wrong, sizeof(op->wrong), "%s", src == SRC_WRONG ? wrong : "");
    op->target_host[0] = '\0'; /* the primary */
    judge(cx, op, s, why, fatal);
    return 0;
}

static int collect_member(void *data, const struct fo_store_instance *i)
{
    struct check_ctx *cx = data;

    if (cx->n == FO_MAX_INSTANCES_PER_CLUSTER) return 1;
    snprintf(cx->m[cx->n].host, sizeof(cx->m[cx->n].host), "%s", i->host);
    cx->m[cx->n].port = i->port;
    cx->m[cx->n].maintenance = i->maintenance;
    if (chain_collect(cx, cx->n, i)) cx->any_down = true;
    cx->n++;
    return 0;
}

struct flavour_ctx {
    struct fo_ctl *ctl;
    struct fo_flavour_in in[FO_MAX_INSTANCES_PER_CLUSTER];
    char hosts[FO_MAX_INSTANCES_PER_CLUSTER][FO_HOST_LEN];
    unsigned n;
};

static int collect_flavour(void *data, const struct fo_store_instance *i)
{
    struct flavour_ctx *fx = data;
    struct fo_flavour_in *x;
    struct fo_watch_view v;

    if (fx->n == FO_MAX_INSTANCES_PER_CLUSTER) return 1;
    x = &fx->in[fx->n];
    memset(x, 0, sizeof(*x));
    snprintf(fx->hosts[fx->n], FO_HOST_LEN, "%s", i->host);
    x->host = fx->hosts[fx->n];
    x->port = i->port;
    /* The monitor's sample and error stay valid until the loop runs again. */
    if (fo_monitor_view(fx->ctl, i->cluster, i->host, i->port, &v)) {
        x->version = v.has_sample ? v.sample->version : NULL;
        x->last_error = v.last_ok ? NULL : v.last_error;
    }
    fx->n++;
    return 0;
}

/* True, with why, when the cluster holds a server of a flavour failoverd does not
 * support (controller/decide/flavour.h: fo_flavour_refuse on every member's latest
 * sample and probe error, and on the cluster problems the leader recorded). */
bool fo_fe_flavour_refusal(struct fo_failover *fe, const struct fo_store_cluster *c, char *why, size_t len)
{
    struct flavour_ctx *fx = calloc(1, sizeof(*fx));
    bool refused;

    if (fx == NULL) {
        snprintf(why, len, "out of memory checking the servers' flavours");
        return true; /* never act on what was not checked */
    }
    fx->ctl = fe->ctl;
    fo_store_each_instance(fe->ctl->store, c->name, collect_flavour, fx);
    refused = fo_flavour_refuse(fx->in, fx->n, c->problems, why, len);
    free(fx);
    return refused;
}

/* Issue 15.6: nothing is fenced, repointed, restarted or quarantined in a cluster
 * that holds a server of a flavour failoverd does not support: the statements are
 * MariaDB's. The refusal is a Decision (`failoverctl why`), recorded again only when
 * its reason changes or after the decision log's repeat interval. */
static bool refuse_flavour(struct check_ctx *cx)
{
    char why[FO_PROBLEM_LEN + 64];

    if (!fo_fe_flavour_refusal(cx->fe, cx->c, why, sizeof(why))) return false;
    fo_fe_decision(cx->fe, cx->c->name, "refused", why, cx->c->primary_host, cx->c->primary_port, true, NULL);
    return true;
}

void fo_rejoin_check(struct fo_failover *fe, const struct fo_store_cluster *c, uint64_t quiet_until)
{
    struct check_ctx *cx;
    struct fo_watch_view pv;

    /* Right after a failover the samples still show the old topology: wait for fresh
     * ones before judging anybody. */
    if (uv_now(fe->ctl->loop) < quiet_until) return;
    if (!fo_monitor_view(fe->ctl, c->name, c->primary_host, c->primary_port, &pv) || !pv.has_sample) return;
    if ((cx = calloc(1, sizeof(*cx))) == NULL) return;
    cx->fe = fe;
    cx->c = c;
    cx->ps = pv.sample;
    fo_store_each_instance(fe->ctl->store, c->name, collect_member, cx);
    if (!refuse_flavour(cx)) {
        chain_plan(cx); /* issue 13.3: before any instance is judged */
        fo_store_each_instance(fe->ctl->store, c->name, check_instance, cx);
        fo_coprimary_check(fe, c); /* co-primary hook (issue 14.1): close the ring */
    }
    free(cx->ch);
    free(cx);
}
