/* The co-primary pair in action (issue 14.1, docs/co-primary.md; the rules are pure,
 * in controller/decide/copair.h). Part of the failover engine (controller/act/README),
 * declared in failover_internal.h like rejoin.c (a header of its own, included by
 * failover.c, would make an include circle). Loop thread only; the leader only.
 * Clusters without co_primaries are left alone by every function here.
 *
 * fo_coprimary_gate(fe, c, kind, target_host, target_port, &target, err): before a
 *   failover or switchover of c begins (kind FO__FAILOVER_KIND__KIND_SWITCHOVER for a
 *   switchover): with a pair, the only target is the passive (fo_copair_gate). Returns
 *   0 with target the target to begin with (host "" = none, as asked, without a pair),
 *   or FO_EPERM with the reason in err after recording it as a "refused" Decision
 *   (`failoverctl why`); refused too when the passive is not an instance of c. On 0
 *   with a pair, a ring restore of c in flight is cancelled (the pair is about to
 *   change under it). target_host may be NULL.
 * fo_coprimary_check(fe, c): between failovers, on the leader's evaluation of c (its
 *   primary UP, from fo_rejoin_check): closes the ring once the passive is a healthy
 *   read-only replica of the active (FO_COPAIR_RING_RESTORE), and records a broken
 *   edge, an errant passive or a pair member that is not an instance as a
 *   "ring_broken" Decision (at most once a minute per kind). One operation per
 *   cluster at a time, retried after 5 s on failure ("ring_restore_failed").
 * fo_coprimary_cancel_all(fe): leadership lost or stopping: cancels what is in flight
 *   (callbacks fire with FO_ECANCELED and free their operation).
 *
 * Ring restore is one CHANGE MASTER on the active: after a failover or a switchover
 * the promoted passive replicates from nobody (the promote step's RESET SLAVE ALL),
 * and MMM's topology needs it to replicate from the other member again, so that a
 * later failover back finds everything there. MASTER_DEMOTE_TO_SLAVE=1 starts it at
 * its own gtid_binlog_pos: what comes back around the ring (its own writes, by server
 * id) is skipped by MariaDB, the other member's writes -- none while it is read-only
 * -- are applied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/text.h"
#include "controller/act/failover_internal.h"
#include "controller/decide/copair.h"
#include "controller/probe/monitor.h"
#include "mysql/sqlexec.h"

#define MOD "coprimary"
#define RETRY_MS 5000
#define NOTE_REPEAT_MS 60000
#define WAIT_S 5 /* MASTER_GTID_WAIT on the passive */

/* Fails a restore phase on an active that is read-only now: it is no longer the active
 * this was judged on (a switchover or failover fenced it), and nothing is changed. */
#define READ_ONLY_GUARD                                                                                        \
    "IF @@read_only = 1 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'failoverd: the active co-primary is " \
    "read-only now; ring not restored'; END IF"

/* A ring restore runs in three phases (phase_done): CHANGE MASTER on the active,
 * MASTER_GTID_WAIT on the passive, START SLAVE on the active. */
enum phase { PH_NONE = 0, PH_CHANGE, PH_WAIT, PH_START };

/* One cluster's ring restore in flight (or its retry time). */
struct fo_copri_op {
    struct fo_copri_op *next;
    struct fo_failover *fe;
    char cluster[FO_NAME_LEN];
    char what[FO_COPAIR_WHY_LEN];
    struct fo_sql *q; /* in flight, or NULL */
    enum phase phase; /* of q */
    bool half_done;   /* the edge was configured but not started: resume */
    struct fo_endpoint active, passive;
    uint64_t next_ms;           /* monotonic: no new operation before */
    uint64_t note_ms;           /* monotonic: no ring_broken Decision before (unless note_r changes) */
    enum fo_copair_ring note_r; /* what the last ring_broken Decision said */
    bool cancelled;
};

static struct fo_copri_op *op_get(struct fo_failover *fe, const char *cluster)
{
    struct fo_copri_op *op;

    for (op = fe->copri_ops; op != NULL; op = op->next)
        if (strcmp(op->cluster, cluster) == 0) return op;
    if ((op = calloc(1, sizeof(*op))) == NULL) return NULL;
    op->fe = fe;
    snprintf(op->cluster, sizeof(op->cluster), "%s", cluster);
    op->next = fe->copri_ops;
    fe->copri_ops = op;
    return op;
}

static void op_unlink_free(struct fo_copri_op *op)
{
    struct fo_copri_op **pp;

    for (pp = &op->fe->copri_ops; *pp != NULL; pp = &(*pp)->next)
        if (*pp == op) {
            *pp = op->next;
            break;
        }
    free(op);
}

/* A failover or switchover of cluster is about to begin: a restore in flight is
 * cancelled (its next phase would act on a pair that is being changed). */
static void cancel_cluster(struct fo_failover *fe, const char *cluster)
{
    struct fo_copri_op *op;

    for (op = fe->copri_ops; op != NULL; op = op->next)
        if (strcmp(op->cluster, cluster) == 0) break;
    if (op == NULL || op->q == NULL) return;
    FO_INFO(MOD, "cluster %s: ring restore cancelled: a failover or switchover begins", cluster);
    op->cancelled = true; /* freed by its callback */
    fo_sql_cancel(op->q);
}

void fo_coprimary_cancel_all(struct fo_failover *fe)
{
    struct fo_copri_op *op, *next;

    for (op = fe->copri_ops; op != NULL; op = next) {
        next = op->next;
        if (op->q != NULL) {
            op->cancelled = true; /* freed by its callback */
            fo_sql_cancel(op->q);
        } else {
            op_unlink_free(op);
        }
    }
}

/* The pair of c, or false (no pair, or a stored value that does not parse: then a
 * warning, and the cluster is treated as having none rather than acting on a guess). */
static bool pair_of(const struct fo_store_cluster *c, struct fo_copair *p)
{
    char err[FO_ERRLEN];

    if (fo_copair_parse(c->co_primaries, p, err) != 0) {
        FO_WARN(MOD, "cluster %s: co_primaries '%s': %s", c->name, c->co_primaries, err);
        return false;
    }
    return p->on;
}

/* A member's latest sample, or NULL when it is not reachable now. */
static const struct fo_sample *sample_of(struct fo_failover *fe, const char *cluster, const struct fo_endpoint *e)
{
    struct fo_watch_view v;

    if (!fo_monitor_view(fe->ctl, cluster, e->host, e->port, &v) || !v.last_ok || !v.has_sample ||
        v.health != FO_HEALTH_UP)
        return NULL;
    return v.sample;
}

int fo_coprimary_gate(struct fo_failover *fe, const struct fo_store_cluster *c, int kind, const char *target_host,
                      uint16_t target_port, struct fo_endpoint *target, char err[FO_ERRLEN])
{
    struct fo_copair p;
    struct fo_copair_gate_in in;
    char why[FO_COPAIR_WHY_LEN];
    const struct fo_endpoint *passive;
    struct fo_store_instance inst;

    memset(target, 0, sizeof(*target));
    if (!pair_of(c, &p)) {
        if (target_host != NULL) snprintf(target->host, sizeof(target->host), "%s", target_host);
        target->port = target_port;
        return 0;
    }
    memset(&in, 0, sizeof(in));
    in.kind = kind == FO__FAILOVER_KIND__KIND_SWITCHOVER ? FO_COPAIR_SWITCHOVER : FO_COPAIR_FAILOVER;
    in.primary_host = c->primary_host;
    in.primary_port = c->primary_port;
    in.target_host = target_host;
    in.target_port = target_port;
    in.max_lag_s = c->max_lag_s;
    if ((passive = fo_copair_partner(&p, c->primary_host, c->primary_port)) != NULL)
        in.passive = sample_of(fe, c->name, passive);
    if (passive != NULL && fo_store_get_instance(fe->ctl->store, c->name, passive->host, passive->port, &inst) != 0)
        snprintf(why, sizeof(why),
                 "the passive co-primary %s:%u is not an instance of cluster %s (failoverctl instance add): no "
                 "server may take the writer role",
                 passive->host, (unsigned)passive->port, c->name);
    else if (fo_copair_gate(&p, &in, target, why) == 0) {
        cancel_cluster(fe, c->name);
        return 0;
    }
    fo_fe_decision(fe, c->name, "refused", why, c->primary_host, c->primary_port, true, NULL);
    /* An automatic attempt is not retried on every evaluation (each would record its
     * dead_primary decision again): the engine's back-off applies, as after an attempt
     * that did not complete. */
    if (kind == FO__FAILOVER_KIND__KIND_AUTO) fo_fe_backoff(fe, c->name);
    return fo_errf(err, FO_EPERM, "%s", why);
}

static void phase_done(void *data, int status, unsigned myerrno, const char *error, const struct fo_sql_rows *rows);

/* A SQL run of a restore phase on host:port as the cluster's user; false if it did
 * not start (then why says so in err). */
static bool run_phase(struct fo_copri_op *op, enum phase ph, const struct fo_endpoint *on, const char *const *stmts,
                      unsigned n, char err[FO_ERRLEN])
{
    struct fo_ctl *ctl = op->fe->ctl;
    struct fo_store_cluster c;
    struct fo_sql_opts opts;
    char pw[256];

    if (fo_store_get_cluster(ctl->store, op->cluster, &c) != 0) {
        fo_errf(err, FO_ENOTFOUND, "the cluster is gone");
        return false;
    }
    if (fo_fe_read_secret(op->fe, c.password_file, pw, sizeof(pw), err) != 0) return false;
    memset(&opts, 0, sizeof(opts));
    opts.connect_timeout_ms = ctl->cfg.probe.connect_timeout_ms;
    opts.timeout_ms = ctl->cfg.failover.step_timeout_ms;
    opts.tls = fo_config_cluster_tls(&ctl->cfg, op->cluster);
    op->q = fo_sql_run(ctl->loop, on->host, on->port, c.user, pw, stmts, n, &opts, phase_done, op);
    memset(pw, 0, sizeof(pw));
    if (op->q == NULL) {
        fo_errf(err, FO_ENOMEM, "cannot start SQL (out of memory or bad arguments)");
        return false;
    }
    op->phase = ph;
    return true;
}

static void restore_failed(struct fo_copri_op *op, const char *error)
{
    char reason[FO_COPAIR_WHY_LEN + 400];

    op->phase = PH_NONE;
    snprintf(reason, sizeof(reason), "co-primary ring open: restoring %s:%u -> %s:%u failed: %.300s; retried in %u s",
             op->passive.host, (unsigned)op->passive.port, op->active.host, (unsigned)op->active.port, error,
             RETRY_MS / 1000);
    FO_WARN(MOD, "cluster %s: %s", op->cluster, reason);
    fo_fe_decision(op->fe, op->cluster, "ring_restore_failed", reason, op->active.host, op->active.port, true, NULL);
    op->next_ms = uv_now(op->fe->ctl->loop) + RETRY_MS;
}

/* Phase 2: the passive waits until it has the GTID position the active's edge will
 * ask for (the active's own binlog position when CHANGE MASTER ran). Asked for
 * earlier, a passive a few transactions behind answers error 1236 ("not in the
 * master's binlog"), which MariaDB does not retry. */
static void wait_passive(struct fo_copri_op *op, const char *pos)
{
    char q[FO_GTIDPOS_LEN * 2 + 4], stmt[FO_GTIDPOS_LEN * 2 + 64], err[FO_ERRLEN];
    const char *stmts[] = {stmt};
    int k = -1;

    if (fo_sql_quote(pos, q, sizeof(q)) == 0)
        k = snprintf(stmt, sizeof(stmt), "SELECT MASTER_GTID_WAIT(%s, %u)", q, WAIT_S);
    if (k < 0 || (size_t)k >= sizeof(stmt)) {
        restore_failed(op, "the active's gtid_slave_pos does not fit the statement");
        return;
    }
    if (!run_phase(op, PH_WAIT, &op->passive, stmts, 1, err)) restore_failed(op, err);
}

static void phase_done(void *data, int status, unsigned myerrno, const char *error, const struct fo_sql_rows *rows)
{
    /* Guarded as phase 1 is: a switchover that fenced the active in between repoints
     * it itself, and a START SLAVE between its STOP SLAVE and CHANGE MASTER would fail
     * that step. */
    static const char *const start[] = {READ_ONLY_GUARD, "START SLAVE"};
    struct fo_copri_op *op = data;
    enum phase ph = op->phase;
    const char *v = rows != NULL && rows->n_rows == 1 && rows->n_cols >= 1 ? rows->values[0] : NULL;
    char err[FO_ERRLEN];

    (void)myerrno;
    op->q = NULL;
    op->phase = PH_NONE;
    if (op->cancelled) {
        op_unlink_free(op);
        return;
    }
    if (status != 0) {
        restore_failed(op, error);
        return;
    }
    switch (ph) {
    case PH_CHANGE:
        op->half_done = true; /* configured, not started: resumed by the next check */
        if (v == NULL) {
            restore_failed(op, "the active's gtid_slave_pos is unknown (NULL)");
            return;
        }
        wait_passive(op, v);
        return;
    case PH_WAIT:
        if (v == NULL || strcmp(v, "0") != 0) {
            snprintf(err, sizeof(err), "the passive did not reach the active's position within %u s", WAIT_S);
            restore_failed(op, err);
            return;
        }
        if (!run_phase(op, PH_START, &op->active, start, 2, err)) restore_failed(op, err);
        return;
    case PH_START:
        op->half_done = false;
        FO_INFO(MOD, "cluster %s: %s", op->cluster, op->what);
        fo_fe_decision(op->fe, op->cluster, "ring_restored", op->what, op->active.host, op->active.port, false, NULL);
        return;
    case PH_NONE: break;
    }
}

/* Phase 1, on the active: CHANGE MASTER to the passive (not started yet), and the
 * position its edge will ask for. */
static void restore(struct fo_copri_op *op, const struct fo_store_cluster *c, const struct fo_endpoint *a,
                    const struct fo_endpoint *q)
{
    char change[1024], err[FO_ERRLEN];
    /* The guard: still writable, i.e. still the active this was judged on (a fenced
     * one is being switched or failed over; nothing is changed then). */
    const char *stmts[] = {READ_ONLY_GUARD, change, "SELECT @@gtid_slave_pos"};

    op->active = *a;
    op->passive = *q;
    op->next_ms = uv_now(op->fe->ctl->loop) + RETRY_MS;
    /* The edge passive -> active, on the active (fo_fe_change_master). */
    if (fo_fe_change_master(op->fe, c, a->host, a->port, q->host, q->port, true, change, sizeof(change), err) != 0 ||
        !run_phase(op, PH_CHANGE, a, stmts, 3, err))
        restore_failed(op, err);
    memset(change, 0, sizeof(change));
}

/* The ring judged as if the active replicated from nobody (its edge, ours, is to be
 * configured again). The sample is copied: it is the monitor's. */
static enum fo_copair_ring judge_unconfigured(const struct fo_copair *p, const struct fo_store_cluster *c,
                                              const struct fo_sample *active, const struct fo_sample *passive,
                                              char why[FO_COPAIR_WHY_LEN])
{
    struct fo_sample *bare = malloc(sizeof(*bare));
    enum fo_copair_ring r;

    if (bare == NULL) return FO_COPAIR_RING_OK; /* judged again on the next evaluation */
    *bare = *active;
    bare->is_replica = false;
    r = fo_copair_ring_judge(p, c->primary_host, c->primary_port, bare, passive, why);
    free(bare);
    return r;
}

void fo_coprimary_check(struct fo_failover *fe, const struct fo_store_cluster *c)
{
    struct fo_copair p;
    const struct fo_endpoint *q;
    const struct fo_sample *active, *passive;
    struct fo_copri_op *op;
    struct fo_store_instance inst;
    char why[FO_COPAIR_WHY_LEN];
    enum fo_copair_ring r;

    if (!pair_of(c, &p) || (q = fo_copair_partner(&p, c->primary_host, c->primary_port)) == NULL) return;
    for (op = fe->copri_ops; op != NULL; op = op->next)
        if (strcmp(op->cluster, c->name) == 0) break;
    if (op != NULL && (op->q != NULL || uv_now(fe->ctl->loop) < op->next_ms)) return;
    active = sample_of(fe, c->name, &p.m[fo_copair_index(&p, c->primary_host, c->primary_port)]);
    passive = sample_of(fe, c->name, q);
    if (fo_store_get_instance(fe->ctl->store, c->name, q->host, q->port, &inst) != 0) {
        /* Declared by `cluster add --co-primaries` before `instance add`, or removed
         * since: never probed, so it would otherwise only look "not reachable". */
        snprintf(why, sizeof(why),
                 "co-primary ring open: the passive co-primary %s:%u is not an instance of cluster %s: not probed, "
                 "and no failover can promote it (failoverctl instance add)",
                 q->host, (unsigned)q->port, c->name);
        r = FO_COPAIR_RING_FOREIGN;
    } else {
        r = fo_copair_ring_judge(&p, c->primary_host, c->primary_port, active, passive, why);
    }
    /* Our own restore that configured the edge but could not start it (the passive
     * lagged or went away): not a DBA's stopped edge, so it is resumed once the
     * passive is ready again. */
    if (r == FO_COPAIR_RING_BROKEN && op != NULL && op->half_done && active != NULL && active->is_replica &&
        active->io_running == FO_THREAD_NO && active->sql_running == FO_THREAD_NO && active->last_io_errno == 0 &&
        active->last_sql_errno == 0 && fo_addr_same(op->active.host, op->active.port, c->primary_host, c->primary_port))
        r = judge_unconfigured(&p, c, active, passive, why);
    switch (r) {
    case FO_COPAIR_RING_OK: return;
    case FO_COPAIR_RING_WAIT: FO_DEBUG(MOD, "cluster %s: %s", c->name, why); return;
    case FO_COPAIR_RING_BROKEN:
    case FO_COPAIR_RING_FOREIGN:
    case FO_COPAIR_RING_ERRANT:
        /* Shown in `topology` too (FO_TOPO_P_RING); a Decision says it in `why`, at
         * most once a minute (other decisions in between would defeat the dedupe),
         * and at once when the kind of breakage changes. */
        if ((op != NULL || (op = op_get(fe, c->name)) != NULL) &&
            (uv_now(fe->ctl->loop) >= op->note_ms || op->note_r != r)) {
            op->note_ms = uv_now(fe->ctl->loop) + NOTE_REPEAT_MS;
            op->note_r = r;
            fo_fe_decision(fe, c->name, "ring_broken", why, c->primary_host, c->primary_port, true, NULL);
        }
        return;
    case FO_COPAIR_RING_RESTORE: break;
    }
    if (op == NULL && (op = op_get(fe, c->name)) == NULL) return;
    snprintf(op->what, sizeof(op->what), "%s", why);
    restore(op, c, &p.m[fo_copair_index(&p, c->primary_host, c->primary_port)], q);
}
