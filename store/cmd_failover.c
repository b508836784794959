/* Command bodies of the failover engine (DESIGN.md §6): begin, step done, end, and
 * the detection decisions recorded for `failoverctl why`.
 *
 * A failover is one row of failovers keyed by (cluster, epoch). Begin claims the
 * cluster's next epoch, so at most one failover runs per cluster and every later
 * command names the epoch it belongs to: a command from a deposed leader carries an
 * older epoch and is refused (FO_ESTALE) without changing anything. Steps only move
 * forward; a resumed leader that re-sends a step already recorded gets FO_EEXIST,
 * which it treats as done. Same shape as the other cmd_*.c files: validate() looks
 * at the command alone, apply() runs inside apply.c's transaction. */
#include "store/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A decision is justified by the controllers (at most FO_MAX_PEERS voters, with
 * room for a membership change) and the cluster's replicas. */
#define MAX_CONFIRMATIONS 64
#define MAX_REPLICAS FO_MAX_INSTANCES_PER_CLUSTER
#define ITEM_DETAIL_LEN 128 /* each confirmation's or replica's own detail, cut to this */

#define FAILOVER_FIELD_LEN(f) sizeof(((struct fo_store_failover *)0)->f)

static const char *name_of(const char *const *names, unsigned n, int v)
{
    return v >= 0 && (unsigned)v < n ? names[v] : "?";
}

/* Indexed by the proto enums Fo__FailoverKind, Fo__FailoverStep, Fo__FailoverResult. */
static const char *kind_name(int k)
{
    static const char *const names[] = {"auto", "manual", "switchover"};
    return name_of(names, 3, k);
}

static const char *step_name(int s)
{
    static const char *const names[] = {"none", "pre_hook", "fence", "choose", "promote", "repoint", "vip"};
    return name_of(names, 7, s);
}

static const char *result_name(int r)
{
    static const char *const names[] = {"running", "success", "failed", "aborted"};
    return name_of(names, 4, r);
}

/* ------------------------------------------------------------ evidence summary */

/* Bounded text: items are appended whole or not at all; once one does not fit, the
 * text ends with " ..." (room for it is always kept), so a reader can tell. */
struct summary {
    char *p;
    size_t cap, len;
    bool cut;
};

#define SUMMARY_MORE " ..."

static void summary_add(struct summary *t, const char *sep, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void summary_add(struct summary *t, const char *sep, const char *fmt, ...)
{
    char item[FO_ADDR_LEN + 2 * ITEM_DETAIL_LEN + 64];
    size_t seplen = t->len > 0 ? strlen(sep) : 0, n;
    va_list ap;

    if (t->cut) return;
    va_start(ap, fmt);
    vsnprintf(item, sizeof(item), fmt, ap); /* items are bounded by their fields */
    va_end(ap);
    n = strlen(item);
    if (t->len + seplen + n + sizeof(SUMMARY_MORE) > t->cap) {
        memcpy(t->p + t->len, SUMMARY_MORE, sizeof(SUMMARY_MORE));
        t->len += sizeof(SUMMARY_MORE) - 1;
        t->cut = true;
        return;
    }
    memcpy(t->p + t->len, sep, seplen);
    memcpy(t->p + t->len + seplen, item, n + 1);
    t->len += seplen + n;
}

static void add_confirmation(struct summary *t, const Fo__Confirmation *c)
{
    char detail[ITEM_DETAIL_LEN];

    store_fit_text(detail, sizeof(detail), c->detail);
    summary_add(t, ", ", "node %llu %s (%llu ms%s%s)", (unsigned long long)c->node_id, c->down ? "down" : "up",
                (unsigned long long)c->age_ms, detail[0] != '\0' ? ": " : "", detail);
}

/* prefix goes before the address: "replicas: " for the first replica. */
static void add_replica(struct summary *t, const char *sep, const char *prefix, const Fo__ReplicaReport *r)
{
    char addr[FO_ADDR_LEN], io[32], detail[ITEM_DETAIL_LEN];

    store_format_addr(addr, sizeof(addr), r->host, r->port);
    store_fit_text(io, sizeof(io), r->io_running);
    store_fit_text(detail, sizeof(detail), r->detail);
    if (!r->reachable) strcpy(io, "unreachable");
    summary_add(t, sep, "%s%s%s%s%s%s%s", prefix, addr, r->reachable ? " IO=" : " ", io[0] != '\0' ? io : "?",
                detail[0] != '\0' ? " (" : "", detail, detail[0] != '\0' ? ")" : "");
}

/* "node 1 down (0 ms), node 2 down (120 ms); replicas: 127.0.0.1:3307 IO=Connecting,
 * 127.0.0.1:3308 unreachable", either part left out when it has no items. */
static void summarize(char *dst, size_t dstlen, Fo__Confirmation **conf, size_t n_conf, Fo__ReplicaReport **reps,
                      size_t n_reps)
{
    struct summary t = {dst, dstlen, 0, false};
    size_t i;

    dst[0] = '\0';
    for (i = 0; i < n_conf; i++) add_confirmation(&t, conf[i]);
    for (i = 0; i < n_reps; i++) add_replica(&t, i == 0 ? "; " : ", ", i == 0 ? "replicas: " : "", reps[i]);
}

static int check_reports(size_t n_conf, Fo__ReplicaReport **reps, size_t n_reps, char err[FO_ERRLEN])
{
    size_t i;
    int rc = 0;

    if (n_conf > MAX_CONFIRMATIONS)
        return fo_errf(err, FO_EINVAL, "%zu confirmations (at most %d)", n_conf, MAX_CONFIRMATIONS);
    if (n_reps > MAX_REPLICAS) return fo_errf(err, FO_EINVAL, "%zu replica reports (at most %d)", n_reps, MAX_REPLICAS);
    for (i = 0; rc == 0 && i < n_reps; i++) {
        rc = store_check_host("replica host", reps[i]->host, err);
        if (rc == 0) rc = store_check_port("replica port", reps[i]->port, err);
    }
    return rc;
}

/* ------------------------------------------------------------ the running failover */

/* Epochs are stored in sqlite's signed integers. */
static int check_epoch(uint64_t epoch, char err[FO_ERRLEN])
{
    if (epoch == 0 || epoch > (uint64_t)INT64_MAX)
        return fo_errf(err, FO_EINVAL, "epoch %llu is not in 1..%lld", (unsigned long long)epoch, (long long)INT64_MAX);
    return 0;
}

/* The failover a StepDone or End refers to: the cluster's current epoch, still
 * running. An older epoch, or the current one already ended, is FO_ESTALE (a
 * deposed or resumed leader repeating itself); an epoch never begun is FO_ENOTFOUND. */
static int load_running(struct fo_store *s, const char *cluster, uint64_t epoch, struct fo_store_cluster *c,
                        struct fo_store_failover *f, char err[FO_ERRLEN])
{
    int rc = store_cluster_load(s, cluster, c, err);

    if (rc != 0) return rc;
    if (epoch > c->epoch)
        return fo_errf(err, FO_ENOTFOUND, "cluster '%s' has no failover with epoch %llu (current epoch %llu)", cluster,
                       (unsigned long long)epoch, (unsigned long long)c->epoch);
    if (epoch < c->epoch)
        return fo_errf(err, FO_ESTALE, "epoch %llu of cluster '%s' is stale (current epoch %llu)",
                       (unsigned long long)epoch, cluster, (unsigned long long)c->epoch);
    rc = store_failover_load(s, cluster, epoch, f, err);
    if (rc != 0) return rc;
    if (f->result != FO__FAILOVER_RESULT__RESULT_RUNNING)
        return fo_errf(err, FO_ESTALE, "failover %llu of cluster '%s' has already ended (%s)",
                       (unsigned long long)epoch, cluster, result_name(f->result));
    return 0;
}

/* ------------------------------------------------------------ failover_begin */

static int validate_failover_begin(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__FailoverBegin *b = cmd->failover_begin;
    int rc = store_check_name("cluster name", b->cluster, err);

    if (rc == 0) rc = check_epoch(b->epoch, err);
    if (rc == 0) rc = store_check_enum("kind", (int)b->kind, FO__FAILOVER_KIND__KIND_SWITCHOVER, err);
    if (rc == 0) rc = store_check_host("old primary host", b->old_host, err);
    if (rc == 0) rc = store_check_port("old primary port", b->old_port, err);
    if (rc == 0) rc = store_check_opt_hostport("target", b->target_host, b->target_port, err);
    if (rc == 0) rc = check_reports(b->n_confirmations, b->replicas, b->n_replicas, err);
    return rc;
}

static int insert_failover(struct fo_store *s, const Fo__Command *cmd, const char *reason, const char *confirmations,
                           char err[FO_ERRLEN])
{
    const Fo__FailoverBegin *b = cmd->failover_begin;
    sqlite3_stmt *st;
    int rc = store_stmt_get(s, ST_FAILOVER_INSERT, &st, err);

    if (rc != 0) return rc;
    rc = store_bind_text(st, 1, b->cluster);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)b->epoch);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 3, (int)b->kind);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 4, b->old_host);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 5, b->old_port);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 6, b->target_host);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 7, b->target_port);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 8, reason);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 9, confirmations);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 10, (sqlite3_int64)cmd->wall_ms);
    return store_stmt_run(s, ST_FAILOVER_INSERT, st, rc, err);
}

static int begin_event(struct fo_store *s, const Fo__Command *cmd, const char *reason, char err[FO_ERRLEN])
{
    const Fo__FailoverBegin *b = cmd->failover_begin;
    char old[FO_ADDR_LEN], target[FO_ADDR_LEN] = "?";

    store_format_addr(old, sizeof(old), b->old_host, b->old_port);
    if (b->target_host[0] != '\0') store_format_addr(target, sizeof(target), b->target_host, b->target_port);
    return store_event_add(s, cmd, b->cluster, b->old_host, b->old_port, "failover_begin", err,
                           "epoch %llu %s %s -> %s%s%s", (unsigned long long)b->epoch, kind_name((int)b->kind), old,
                           target, reason[0] != '\0' ? ": " : "", reason);
}

static int apply_failover_begin(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__FailoverBegin *b = cmd->failover_begin;
    char reason[FAILOVER_FIELD_LEN(reason)], confirmations[FAILOVER_FIELD_LEN(confirmations)];
    struct fo_store_cluster c;
    struct fo_store_failover running;
    int rc = store_cluster_load(s, b->cluster, &c, err);

    if (rc != 0) return rc;
    if (b->epoch != c.epoch + 1)
        return fo_errf(err, FO_ESTALE, "epoch %llu is not the next epoch of cluster '%s' (%llu)",
                       (unsigned long long)b->epoch, b->cluster, (unsigned long long)c.epoch + 1);
    rc = fo_store_get_running_failover(s, b->cluster, &running);
    if (rc == 0)
        return fo_errf(err, FO_EBUSY, "cluster '%s' already has failover %llu running", b->cluster,
                       (unsigned long long)running.epoch);
    if (rc != FO_ENOTFOUND) return fo_errf(err, rc, "read failovers of '%s': %s", b->cluster, fo_strerror(rc));

    store_fit_text(reason, sizeof(reason), b->reason);
    summarize(confirmations, sizeof(confirmations), b->confirmations, b->n_confirmations, b->replicas, b->n_replicas);
    rc = insert_failover(s, cmd, reason, confirmations, err);
    if (rc == 0) rc = store_cluster_set_u64(s, ST_CLUSTER_SET_EPOCH, b->cluster, b->epoch, err);
    if (rc == 0) rc = begin_event(s, cmd, reason, err);
    return rc;
}

const struct store_command store_cmd_failover_begin = {validate_failover_begin, apply_failover_begin};

/* ------------------------------------------------------------ failover_step */

static int validate_failover_step(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__FailoverStepDone *b = cmd->failover_step;
    int rc = store_check_name("cluster name", b->cluster, err);

    if (rc == 0) rc = check_epoch(b->epoch, err);
    if (rc != 0) return rc;
    if ((int)b->step < FO__FAILOVER_STEP__STEP_PRE_HOOK || (int)b->step > FO__FAILOVER_STEP__STEP_VIP)
        return fo_errf(err, FO_EINVAL, "step: unknown value %d", (int)b->step);
    if (b->step != FO__FAILOVER_STEP__STEP_CHOOSE) {
        if (b->new_host[0] != '\0' || b->new_port != 0)
            return fo_errf(err, FO_EINVAL, "new primary given with step %s (only choose sets it)",
                           step_name((int)b->step));
        return 0;
    }
    rc = store_check_host("new primary host", b->new_host, err);
    if (rc == 0) rc = store_check_port("new primary port", b->new_port, err);
    return rc;
}

/* "fence=12ms choose=340ms": six steps at most, so the field never overflows; if it
 * somehow did, the list is cut rather than the step refused. */
static void append_step(char *steps, size_t len, int step, uint32_t ms)
{
    size_t n = strlen(steps);
    int w = snprintf(steps + n, len - n, "%s%s=%ums", n > 0 ? " " : "", step_name(step), ms);

    if (w < 0 || (size_t)w >= len - n) steps[n] = '\0';
}

static int update_step(struct fo_store *s, const Fo__FailoverStepDone *b, const struct fo_store_failover *f,
                       const char *detail, const char *steps, char err[FO_ERRLEN])
{
    bool choose = b->step == FO__FAILOVER_STEP__STEP_CHOOSE;
    sqlite3_stmt *st;
    int rc = store_stmt_get(s, ST_FAILOVER_SET_STEP, &st, err);

    if (rc != 0) return rc;
    rc = store_bind_text(st, 1, b->cluster);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)b->epoch);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 3, (int)b->step);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 4, detail);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 5, steps);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 6, choose ? b->new_host : f->new_host);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 7, choose ? b->new_port : f->new_port);
    return store_stmt_run(s, ST_FAILOVER_SET_STEP, st, rc, err);
}

static int apply_failover_step(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__FailoverStepDone *b = cmd->failover_step;
    char detail[FAILOVER_FIELD_LEN(detail)], steps[FAILOVER_FIELD_LEN(steps)], addr[FO_ADDR_LEN] = "";
    struct fo_store_cluster c;
    struct fo_store_failover f;
    struct fo_store_instance i;
    int rc = load_running(s, b->cluster, b->epoch, &c, &f, err);

    if (rc != 0) return rc;
    if ((int)b->step <= f.last_step)
        return fo_errf(err, FO_EEXIST, "failover %llu of cluster '%s': step %s is already done (last: %s)",
                       (unsigned long long)b->epoch, b->cluster, step_name((int)b->step), step_name(f.last_step));
    if (b->step == FO__FAILOVER_STEP__STEP_CHOOSE) {
        /* The engine chooses among the cluster's instances; anything else is a bug. */
        rc = store_instance_load(s, b->cluster, b->new_host, b->new_port, &i, err);
        if (rc != 0) return rc;
        store_format_addr(addr, sizeof(addr), b->new_host, b->new_port);
    }
    store_fit_text(detail, sizeof(detail), b->detail);
    memcpy(steps, f.steps, sizeof(steps));
    append_step(steps, sizeof(steps), (int)b->step, b->duration_ms);
    rc = update_step(s, b, &f, detail, steps, err);
    if (rc != 0) return rc;
    return store_event_add(s, cmd, b->cluster, NULL, 0, "failover_step", err, "epoch %llu %s=%ums%s%s%s%s",
                           (unsigned long long)b->epoch, step_name((int)b->step), b->duration_ms,
                           addr[0] != '\0' ? " new primary " : "", addr, detail[0] != '\0' ? ": " : "", detail);
}

const struct store_command store_cmd_failover_step = {validate_failover_step, apply_failover_step};

/* ------------------------------------------------------------ failover_end */

static int validate_failover_end(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__FailoverEnd *b = cmd->failover_end;
    int rc = store_check_name("cluster name", b->cluster, err);

    if (rc == 0) rc = check_epoch(b->epoch, err);
    if (rc != 0) return rc;
    if ((int)b->result < FO__FAILOVER_RESULT__RESULT_SUCCESS || (int)b->result > FO__FAILOVER_RESULT__RESULT_ABORTED)
        return fo_errf(err, FO_EINVAL, "result: %d is not success, failed or aborted", (int)b->result);
    return 0;
}

static int update_end(struct fo_store *s, const Fo__Command *cmd, const char *detail, char err[FO_ERRLEN])
{
    const Fo__FailoverEnd *b = cmd->failover_end;
    sqlite3_stmt *st;
    int rc = store_stmt_get(s, ST_FAILOVER_SET_END, &st, err);

    if (rc != 0) return rc;
    rc = store_bind_text(st, 1, b->cluster);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)b->epoch);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 3, (int)b->result);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)cmd->wall_ms);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 5, detail);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 6, b->total_ms);
    return store_stmt_run(s, ST_FAILOVER_SET_END, st, rc, err);
}

/* Anti-flap (DESIGN.md §6): after an unplanned failover that changed something
 * (success, or failed part way), no automatic failover until the block expires or
 * an operator acks. A switchover is planned and an aborted failover did nothing, so
 * neither blocks. The deadline is on the proposer's wall clock, like every time in
 * a command; it saturates rather than wrap. */
static uint64_t block_until(const Fo__Command *cmd, const struct fo_store_cluster *c, int kind)
{
    uint64_t period = (uint64_t)(c->anti_flap_s != 0 ? c->anti_flap_s : FO_DEFAULT_ANTI_FLAP_S) * 1000;
    int result = (int)cmd->failover_end->result;

    if (kind == FO__FAILOVER_KIND__KIND_SWITCHOVER || result == FO__FAILOVER_RESULT__RESULT_ABORTED) return 0;
    if (cmd->wall_ms > (uint64_t)INT64_MAX - period) return (uint64_t)INT64_MAX;
    return cmd->wall_ms + period;
}

static int end_event(struct fo_store *s, const Fo__Command *cmd, const struct fo_store_failover *f, const char *detail,
                     char err[FO_ERRLEN])
{
    const Fo__FailoverEnd *b = cmd->failover_end;
    char old[FO_ADDR_LEN], new[FO_ADDR_LEN], moved[2 * FO_ADDR_LEN + 8] = "";

    if (b->result == FO__FAILOVER_RESULT__RESULT_SUCCESS) {
        store_format_addr(old, sizeof(old), f->old_host, f->old_port);
        store_format_addr(new, sizeof(new), f->new_host, f->new_port);
        snprintf(moved, sizeof(moved), " %s -> %s", old, new); /* sized for both */
    }
    return store_event_add(s, cmd, b->cluster, NULL, 0, "failover_end", err, "epoch %llu %s%s (%u ms)%s%s",
                           (unsigned long long)b->epoch, result_name((int)b->result), moved, b->total_ms,
                           detail[0] != '\0' ? ": " : "", detail);
}

static int apply_failover_end(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__FailoverEnd *b = cmd->failover_end;
    char detail[FAILOVER_FIELD_LEN(detail)];
    struct fo_store_cluster c;
    struct fo_store_failover f;
    uint64_t blocked;
    int rc = load_running(s, b->cluster, b->epoch, &c, &f, err);

    if (rc != 0) return rc;
    if (b->result == FO__FAILOVER_RESULT__RESULT_SUCCESS && f.new_host[0] == '\0')
        return fo_errf(err, FO_EINVAL, "failover %llu of cluster '%s' cannot succeed: no new primary was chosen",
                       (unsigned long long)b->epoch, b->cluster);
    store_fit_text(detail, sizeof(detail), b->detail);
    rc = update_end(s, cmd, detail, err);
    if (rc == 0 && b->result == FO__FAILOVER_RESULT__RESULT_SUCCESS)
        rc = store_cluster_set_primary(s, b->cluster, f.new_host, f.new_port, err);
    blocked = block_until(cmd, &c, f.kind);
    if (rc == 0 && blocked != 0) rc = store_cluster_set_u64(s, ST_CLUSTER_SET_BLOCK, b->cluster, blocked, err);
    if (rc == 0) rc = end_event(s, cmd, &f, detail, err);
    return rc;
}

const struct store_command store_cmd_failover_end = {validate_failover_end, apply_failover_end};

/* ------------------------------------------------------------ decision */

#define DECISION_FIELD_LEN(f) sizeof(((struct fo_store_decision *)0)->f)

static int validate_decision(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__Decision *b = cmd->decision;
    int rc = store_check_name("cluster name", b->cluster, err);

    if (rc == 0) rc = store_check_text("verdict", b->verdict, DECISION_FIELD_LEN(verdict), false, err);
    if (rc == 0) rc = store_check_opt_hostport("instance", b->host, b->port, err);
    if (rc == 0) rc = check_reports(b->n_confirmations, b->replicas, b->n_replicas, err);
    return rc;
}

/* Decisions are history for `failoverctl why`, kept apart from the events so that a
 * flood of refusals cannot push the rest of the history out; pruned the same way. */
static int apply_decision(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__Decision *b = cmd->decision;
    char reason[DECISION_FIELD_LEN(reason)], detail[DECISION_FIELD_LEN(detail)], instance[FO_ADDR_LEN] = "";
    struct fo_store_cluster c;
    sqlite3_stmt *st;
    int rc = store_cluster_load(s, b->cluster, &c, err);

    if (rc != 0) return rc;
    store_fit_text(reason, sizeof(reason), b->reason);
    summarize(detail, sizeof(detail), b->confirmations, b->n_confirmations, b->replicas, b->n_replicas);
    if (b->host[0] != '\0') store_format_addr(instance, sizeof(instance), b->host, b->port);
    rc = store_stmt_get(s, ST_DECISION_INSERT, &st, err);
    if (rc != 0) return rc;
    rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)cmd->wall_ms);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 2, b->cluster);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 3, instance);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 4, b->verdict);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 5, reason);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 6, detail);
    rc = store_stmt_run(s, ST_DECISION_INSERT, st, rc, err);
    if (rc != 0) return rc;
    rc = store_stmt_get(s, ST_DECISION_PRUNE, &st, err);
    if (rc != 0) return rc;
    return store_stmt_run(s, ST_DECISION_PRUNE, st, sqlite3_bind_int64(st, 1, FO_STORE_MAX_DECISIONS), err);
}

const struct store_command store_cmd_decision = {validate_decision, apply_decision};
