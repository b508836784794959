/* The failover step machine (DESIGN.md §6). A run is the leader's in-memory driver of
 * one committed FailoverBegin: it executes the steps after the last committed one,
 * commits each as FailoverStepDone, and ends with FailoverEnd. Steps are idempotent so
 * that a run rebuilt by a new leader can redo the step that was in progress. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "controller/decide/candidate.h"
#include "controller/decide/gtid.h"
#include "controller/act/failover_internal.h"
#include "controller/act/hooks.h"
#include "controller/probe/monitor.h"
#include "controller/vip/vipmgr.h"

#define MOD "failover"

typedef void (*step_fn)(struct run *run);

struct step_def {
    int step;
    const char *name;
    step_fn run;
    bool (*applies)(const struct run *run);
};

static void step_pre_hook(struct run *run);
static void step_fence(struct run *run);
static void step_choose(struct run *run);
static void step_promote(struct run *run);
static void step_repoint(struct run *run);
static void step_vip(struct run *run);
static bool has_pre_hook(const struct run *run);
static bool has_vip(const struct run *run)
{
    return run->has_vip;
}
static bool always(const struct run *run)
{
    (void)run;
    return true;
}

/* The table of steps, in order (STYLE.md §6). */
static const struct step_def steps[] = {
    {FO__FAILOVER_STEP__STEP_PRE_HOOK, "pre_hook", step_pre_hook, has_pre_hook},
    {FO__FAILOVER_STEP__STEP_FENCE, "fence", step_fence, always},
    {FO__FAILOVER_STEP__STEP_CHOOSE, "choose", step_choose, always},
    {FO__FAILOVER_STEP__STEP_PROMOTE, "promote", step_promote, always},
    {FO__FAILOVER_STEP__STEP_REPOINT, "repoint", step_repoint, always},
    {FO__FAILOVER_STEP__STEP_VIP, "vip", step_vip, has_vip},
};
#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

static const char *kind_name(int kind)
{
    return kind == FO__FAILOVER_KIND__KIND_SWITCHOVER ? "switchover"
           : kind == FO__FAILOVER_KIND__KIND_MANUAL   ? "manual failover"
                                                      : "failover";
}

/* As history and why print them: FO_KIND for hooks. */
static const char *kind_word(int kind)
{
    return kind == FO__FAILOVER_KIND__KIND_SWITCHOVER ? "switchover"
           : kind == FO__FAILOVER_KIND__KIND_MANUAL   ? "manual"
                                                      : "auto";
}

static struct fo_config *cfg_of(struct run *run)
{
    return &run->fe->ctl->cfg;
}

/* ------------------------------------------------------------------ lifetime */

static void run_unlink(struct run *run)
{
    struct run **pp = &run->fe->runs;

    while (*pp != NULL && *pp != run) pp = &(*pp)->next;
    if (*pp == run) *pp = run->next;
}

static void run_free(struct run *run)
{
    memset(run->password, 0, sizeof(run->password));
    memset(run->repl_password, 0, sizeof(run->repl_password));
    free(run->items);
    free(run);
}

/* Called at the top of every callback: false if the run is dead (and maybe freed). */
static bool run_resume(struct run *run)
{
    run->pending--;
    if (!run->dead) return true;
    if (run->pending == 0) run_free(run);
    return false;
}

static void run_finish_cb(struct run *run, int status, const char *detail)
{
    fo_failover_done_cb cb = run->cb;
    void *data = run->cb_data;

    run->cb = NULL;
    if (cb != NULL) cb(data, status, detail);
}

static void fence_wait_closed(uv_handle_t *h);

void fo_run_kill(struct run *run)
{
    unsigned i;

    if (run->dead) return;
    run->dead = true;
    run_unlink(run);
    for (i = 0; i < run->n_items; i++)
        if (run->items[i].q != NULL) fo_sql_cancel(run->items[i].q);
    if (run->hook != NULL) fo_hook_cancel(run->hook);
    if (run->vipmove != NULL) fo_vipmgr_move_cancel(run->vipmove);
    if (run->fence != NULL) fo_fence_cancel(run->fence);
    if (run->revoke != NULL) fo_vipmgr_revoke_cancel(run->revoke);
    if (run->wait != NULL && !uv_is_closing((uv_handle_t *)&run->wait->t)) {
        uv_timer_stop(&run->wait->t);
        uv_close((uv_handle_t *)&run->wait->t, fence_wait_closed);
    }
    run_finish_cb(run, FO_ENOTLEADER, "leadership lost; the next leader finishes the failover (see history)");
    if (run->pending == 0) run_free(run);
}

struct run *fo_run_find(struct fo_failover *fe, const char *cluster)
{
    struct run *r;

    for (r = fe->runs; r != NULL; r = r->next)
        if (strcmp(r->cluster, cluster) == 0) return r;
    return NULL;
}

struct run *fo_run_new(struct fo_failover *fe, const struct fo_store_failover *f, char err[FO_ERRLEN])
{
    struct fo_store_cluster c;
    struct run *run;

    if (fo_store_get_cluster(fe->ctl->store, f->cluster, &c) != 0)
        return fo_errf(err, FO_ENOTFOUND, "cluster %s vanished", f->cluster), NULL;
    if ((run = calloc(1, sizeof(*run))) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory"), NULL;
    run->fe = fe;
    snprintf(run->cluster, sizeof(run->cluster), "%s", f->cluster);
    run->epoch = f->epoch;
    run->kind = f->kind;
    snprintf(run->old_host, sizeof(run->old_host), "%s", f->old_host);
    run->old_port = f->old_port;
    snprintf(run->new_host, sizeof(run->new_host), "%s", f->new_host);
    run->new_port = f->new_port;
    snprintf(run->target_host, sizeof(run->target_host), "%s", f->target_host);
    run->target_port = f->target_port;
    run->step = f->last_step;
    snprintf(run->reason, sizeof(run->reason), "%s", f->reason);
    run->begin_ns = uv_hrtime();
    snprintf(run->user, sizeof(run->user), "%s", c.user);
    snprintf(run->repl_user, sizeof(run->repl_user), "%s", c.repl_user);
    run->semi_sync = c.semi_sync;
    run->max_lag_s = c.max_lag_s;
    run->has_vip = c.vip[0] != '\0';
    if (fo_fe_read_secret(fe, c.password_file, run->password, sizeof(run->password), err) != 0) {
        free(run);
        return NULL;
    }
    if (c.repl_password_file[0] != '\0' &&
        fo_fe_read_secret(fe, c.repl_password_file, run->repl_password, sizeof(run->repl_password), err) != 0)
        FO_WARN(MOD, "cluster %s: %s (a former primary cannot be repointed)", c.name, err);
    run->next = fe->runs;
    fe->runs = run;
    return run;
}

/* ------------------------------------------------------------------ commits */

static void end_committed(void *data, int status, int result);

static void run_end(struct run *run, int result, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Commits FailoverEnd; the run is over once it is committed. */
static void run_end(struct run *run, int result, const char *fmt, ...)
{
    char err[FO_ERRLEN], text[sizeof(run->detail)];
    Fo__Command cmd;
    Fo__FailoverEnd end;
    va_list ap;

    if (run->ended || run->dead) return;
    run->ended = true;
    run->end_result = result;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    memcpy(run->detail, text, sizeof(text));
    fo__command__init(&cmd);
    fo__failover_end__init(&end);
    end.cluster = run->cluster;
    end.epoch = run->epoch;
    end.result = (Fo__FailoverResult)result;
    end.detail = run->detail;
    end.total_ms = (uint32_t)((uv_hrtime() - run->begin_ns) / 1000000u);
    cmd.body_case = FO__COMMAND__BODY_FAILOVER_END;
    cmd.failover_end = &end;
    fo_log(result == FO__FAILOVER_RESULT__RESULT_SUCCESS ? FO_LOG_INFO : FO_LOG_WARN, MOD,
           "cluster %s epoch %llu: %s %s: %s", run->cluster, (unsigned long long)run->epoch, kind_name(run->kind),
           result == FO__FAILOVER_RESULT__RESULT_SUCCESS ? "succeeded" : "did not complete", run->detail);
    run->pending++;
    if (fo_ctl_propose(run->fe->ctl, &cmd, end_committed, run, err) != 0) {
        run->pending--;
        FO_WARN(MOD, "committing the end of epoch %llu: %s", (unsigned long long)run->epoch, err);
        fo_run_kill(run);
    }
}

struct post_hook {
    char name[32];
};

static void post_hook_done(void *data, const struct fo_hook_result *r)
{
    struct post_hook *ph = data;

    FO_INFO(MOD, "%s hook: %s", ph->name, r->detail);
    free(ph);
}

static void run_post_hook(struct run *run, bool success)
{
    struct fo_config *cfg = cfg_of(run);
    const char *path = success ? cfg->failover.post_failover : cfg->failover.post_failover_failed;
    char env[7][600];
    const char *envp[7];
    char err[FO_ERRLEN];
    struct post_hook *ph;
    struct fo_hook *h;
    unsigned i;

    if (path[0] == '\0' || (ph = calloc(1, sizeof(*ph))) == NULL) return;
    snprintf(ph->name, sizeof(ph->name), "%s", success ? "post_failover" : "post_failover_failed");
    snprintf(env[0], sizeof(env[0]), "FO_CLUSTER=%s", run->cluster);
    snprintf(env[1], sizeof(env[1]), "FO_OLD_PRIMARY=%s:%u", run->old_host, run->old_port);
    if (run->new_host[0])
        snprintf(env[2], sizeof(env[2]), "FO_NEW_PRIMARY=%s:%u", run->new_host, run->new_port);
    else
        snprintf(env[2], sizeof(env[2]), "FO_NEW_PRIMARY=");
    snprintf(env[3], sizeof(env[3]), "FO_EPOCH=%llu", (unsigned long long)run->epoch);
    snprintf(env[4], sizeof(env[4]), "FO_REASON=%.500s", run->reason);
    snprintf(env[5], sizeof(env[5]), "FO_KIND=%s", kind_word(run->kind));
    snprintf(env[6], sizeof(env[6]), "FO_RESULT=%s", success ? "success" : "failed");
    for (i = 0; i < 7; i++) envp[i] = env[i];
    if (fo_hook_run(run->fe->ctl->loop, ph->name, path, envp, 7, cfg->failover.hook_timeout_ms, post_hook_done, ph, &h,
                    err) != 0) {
        FO_WARN(MOD, "%s hook: %s", ph->name, err);
        free(ph);
    }
}

static void end_committed(void *data, int status, int result)
{
    struct run *run = data;
    bool success;

    if (!run_resume(run)) return;
    if (status != 0) {
        fo_run_kill(run);
        return;
    }
    success = result == 0 && run->end_result == FO__FAILOVER_RESULT__RESULT_SUCCESS;
    if (result == 0 && run->end_result > 0 && run->end_result < 4) run->fe->ended[run->end_result]++;
    if (!success && run->kind == FO__FAILOVER_KIND__KIND_AUTO) fo_fe_backoff(run->fe, run->cluster);
    run_post_hook(run, success);
    fo_fe_quiet(run->fe, run->cluster);
    fo_monitor_kick(run->fe->ctl, run->cluster);
    run_unlink(run);
    run->dead = true; /* nothing more to commit */
    run_finish_cb(run, success ? 0 : FO_EIO, run->detail);
    if (run->pending == 0) run_free(run);
}

/* TEST ONLY ([failover] fault_injection = exit_after:STEP | drop_run_after:STEP): true
 * if the run must not go on. */
static bool fault_after_step(struct run *run)
{
    const struct fo_failover_cfg *f = &cfg_of(run)->failover;

    if (f->fault_step != run->step) return false;
    if (f->fault == FO_FAULT_EXIT_AFTER_STEP) {
        FO_ERROR(MOD, "fault injection: exiting right after step %d of %s committed", run->step, run->cluster);
        _exit(3);
    }
    if (f->fault != FO_FAULT_DROP_RUN_AFTER_STEP) return false;
    FO_ERROR(MOD, "fault injection: dropping the run of %s after step %d (still leader)", run->cluster, run->step);
    fo_run_kill(run);
    return true;
}

static void step_committed(void *data, int status, int result)
{
    struct run *run = data;

    if (!run_resume(run)) return;
    if (status != 0) {
        fo_run_kill(run);
        return;
    }
    if (result != 0 && result != FO_EEXIST) {
        run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "step %d refused by the store: %s", run->current,
                fo_strerror(result));
        return;
    }
    run->step = run->current;
    if (fault_after_step(run)) return;
    fo_run_next(run);
}

static void step_done(struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Commits the current step with its duration; the next step starts once committed. */
static void step_done(struct run *run, const char *fmt, ...)
{
    char err[FO_ERRLEN];
    Fo__Command cmd;
    Fo__FailoverStepDone sd;
    va_list ap;

    char text[sizeof(run->detail)];

    /* Formatted aside first: callers may pass run->detail itself as an argument. */
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    memcpy(run->detail, text, sizeof(text));
    fo__command__init(&cmd);
    fo__failover_step_done__init(&sd);
    sd.cluster = run->cluster;
    sd.epoch = run->epoch;
    sd.step = (Fo__FailoverStep)run->current;
    sd.duration_ms = (uint32_t)((uv_hrtime() - run->step_ns) / 1000000u);
    sd.detail = run->detail;
    if (run->current == FO__FAILOVER_STEP__STEP_CHOOSE) { /* only choose names the new primary */
        sd.new_host = run->new_host;
        sd.new_port = run->new_port;
    }
    cmd.body_case = FO__COMMAND__BODY_FAILOVER_STEP;
    cmd.failover_step = &sd;
    FO_INFO(MOD, "cluster %s epoch %llu: step %d done in %u ms: %s", run->cluster, (unsigned long long)run->epoch,
            run->current, sd.duration_ms, run->detail);
    run->pending++;
    if (fo_ctl_propose(run->fe->ctl, &cmd, step_committed, run, err) != 0) {
        run->pending--;
        FO_WARN(MOD, "committing step: %s", err);
        fo_run_kill(run);
    }
}

/* ------------------------------------------------------------------ step driver */

static const struct step_def *next_def(struct run *run)
{
    unsigned i;

    for (i = 0; i < N_STEPS; i++)
        if (steps[i].step > run->step && steps[i].applies(run)) return &steps[i];
    return NULL;
}

static void barrier_then_step(void *data, int status)
{
    struct run *run = data;
    const struct step_def *d;

    if (!run_resume(run)) return;
    if (status != 0 || !fo_raft_is_ready(&run->fe->ctl->raft)) {
        FO_WARN(MOD, "cluster %s epoch %llu: leadership not confirmed before a side effect; stopping here",
                run->cluster, (unsigned long long)run->epoch);
        fo_run_kill(run);
        return;
    }
    d = next_def(run);
    run->current = d->step;
    run->step_ns = uv_hrtime();
    d->run(run);
}

void fo_run_next(struct run *run)
{
    char err[FO_ERRLEN];

    if (run->dead || run->ended) return;
    if (next_def(run) == NULL) {
        run_end(run, FO__FAILOVER_RESULT__RESULT_SUCCESS, "%s:%u promoted; %.900s", run->new_host, run->new_port,
                run->detail);
        return;
    }
    /* DESIGN.md §6: confirm leadership before every side effect. */
    run->pending++;
    if (fo_raft_barrier(&run->fe->ctl->raft, barrier_then_step, run, err) != 0) {
        run->pending--;
        fo_run_kill(run);
    }
}

/* ------------------------------------------------------------------ batches of SQL */

static void item_sql_done(void *data, int status, unsigned myerrno, const char *error, const struct fo_sql_rows *rows)
{
    struct batch_item *it = data;
    struct run *run = it->run;

    it->q = NULL;
    if (!run_resume(run)) return;
    it->stage_cb(run, it, status, myerrno, error, rows);
}

static void item_finish(struct batch_item *it, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void item_finish(struct batch_item *it, bool ok, const char *fmt, ...)
{
    struct run *run = it->run;
    va_list ap;

    if (it->done) return;
    it->done = true;
    it->ok = ok;
    va_start(ap, fmt);
    vsnprintf(it->note, sizeof(it->note), fmt, ap);
    va_end(ap);
    if (--run->items_left == 0) run->batch_done(run);
}

static unsigned connect_timeout(struct run *run);

static void item_sql(struct batch_item *it, const char *const *stmts, unsigned n, unsigned connect_ms,
                     unsigned timeout_ms, item_stage_cb cb)
{
    struct run *run = it->run;
    struct fo_sql_opts opts;

    memset(&opts, 0, sizeof(opts));
    opts.connect_timeout_ms = connect_ms;
    opts.timeout_ms = timeout_ms;
    opts.tls = fo_config_cluster_tls(cfg_of(run), run->cluster);
    opts.tolerate[opts.n_tolerate++] = 1094; /* KILL of a connection that already ended */
    it->stage_cb = cb;
    it->q = fo_sql_run(run->fe->ctl->loop, it->host, it->port, run->user, run->password, stmts, n, &opts, item_sql_done,
                       it);
    if (it->q == NULL) {
        item_finish(it, false, "cannot start SQL");
        return;
    }
    run->pending++;
}

/* The last stage of an item whose outcome is just "did it run": ok_note on success,
 * fail_prefix + the error otherwise (it->ok_note / it->fail_prefix, static strings). */
static void note_sql_done(struct run *run, struct batch_item *it, int status, unsigned myerrno, const char *error,
                          const struct fo_sql_rows *rows)
{
    (void)run;
    (void)myerrno;
    (void)rows;
    if (status != 0)
        item_finish(it, false, "%s%s", it->fail_prefix, error);
    else
        item_finish(it, true, "%s", it->ok_note);
}

static void item_sql_note(struct batch_item *it, const char *const *stmts, unsigned n, unsigned timeout_ms,
                          const char *ok_note, const char *fail_prefix)
{
    it->ok_note = ok_note;
    it->fail_prefix = fail_prefix;
    item_sql(it, stmts, n, connect_timeout(it->run), timeout_ms, note_sql_done);
}

/* "host:port note; host:port note..." of the batch's items into out. */
static void join_notes(const struct run *run, char *out, size_t n)
{
    size_t off = 0;
    unsigned i;

    out[0] = '\0';
    for (i = 0; i < run->n_items; i++) {
        int k = snprintf(out + off, n - off, "%s%s:%u %s", i ? "; " : "", run->items[i].host, run->items[i].port,
                         run->items[i].note);
        if (k < 0 || (size_t)k >= n - off) break;
        off += (size_t)k;
    }
}

/* items_left starts one above n so that no item completing synchronously can end the
 * batch while it is still being started; batch_release drops that guard. */
static struct batch_item *batch_new(struct run *run, unsigned n, void (*done)(struct run *run))
{
    unsigned i;

    free(run->items);
    run->items = calloc(n ? n : 1, sizeof(*run->items));
    if (run->items == NULL) return NULL;
    run->n_items = n;
    run->items_left = n + 1;
    run->batch_done = done;
    for (i = 0; i < n; i++) run->items[i].run = run;
    return run->items;
}

static void batch_release(struct run *run)
{
    if (--run->items_left == 0) run->batch_done(run);
}

static unsigned step_timeout(struct run *run)
{
    return cfg_of(run)->failover.step_timeout_ms;
}
static unsigned connect_timeout(struct run *run)
{
    return cfg_of(run)->probe.connect_timeout_ms;
}

static void quote(char *out, size_t n, const char *s)
{
    if (fo_sql_quote(s, out, n) != 0) snprintf(out, n, "''");
}

struct collect_ctx {
    struct fo_store_instance *rows;
    unsigned n, cap;
    const struct run *run;
    bool exclude_old;
    bool oom;
};

static int collect_one(void *data, const struct fo_store_instance *i)
{
    struct collect_ctx *c = data;
    struct fo_store_instance *p;

    if (c->exclude_old && strcmp(i->host, c->run->old_host) == 0 && i->port == c->run->old_port) return 0;
    if (c->n == c->cap) {
        unsigned ncap = c->cap ? c->cap * 2 : 8;
        if (ncap > FO_RUN_MAX_ITEMS) ncap = FO_RUN_MAX_ITEMS;
        if (c->n == ncap || (p = realloc(c->rows, ncap * sizeof(*p))) == NULL) {
            c->oom = true;
            return 1;
        }
        c->rows = p;
        c->cap = ncap;
    }
    c->rows[c->n++] = *i;
    return 0;
}

/* The cluster's instances from the store (optionally without the old primary). */
static struct fo_store_instance *collect_instances(struct run *run, unsigned *n, bool exclude_old)
{
    struct collect_ctx c = {.run = run, .exclude_old = exclude_old};

    fo_store_each_instance(run->fe->ctl->store, run->cluster, collect_one, &c);
    if (c.oom) {
        free(c.rows);
        *n = 1; /* signals failure with rows == NULL */
        return NULL;
    }
    *n = c.n;
    return c.rows;
}

/* A switchover that cannot promote anyone gives the old primary its writes back:
 * nothing else was changed yet (replicas were only waited for). */

static void unfenced(struct run *run)
{
    struct batch_item *it = &run->items[0];

    run_end(run, FO__FAILOVER_RESULT__RESULT_ABORTED, "switchover aborted: %s; old primary %s (%s)", run->abort_why,
            it->ok ? "writable again" : "STILL READ-ONLY", it->note);
}

static void unfence_and_end(struct run *run, const char *summary, const char *why)
{
    static const char *const plain[] = {"SET GLOBAL read_only=0"};
    static const char *const semi[] = {"SET GLOBAL rpl_semi_sync_master_enabled=1", "SET GLOBAL read_only=0"};
    const char *const *stmt = run->semi_sync ? semi : plain;
    struct batch_item *it;

    snprintf(run->abort_why, sizeof(run->abort_why), "%.300s (%.700s)", summary, why);
    if ((it = batch_new(run, 1, unfenced)) == NULL)
        return run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "out of memory");
    snprintf(it->host, sizeof(it->host), "%s", run->old_host);
    it->port = run->old_port;
    item_sql_note(it, stmt, run->semi_sync ? 2 : 1, step_timeout(run), "read_only=0", "");
    batch_release(run);
}

/* A failover that found no candidate gives every replica whose IO thread it stopped
 * its replication back (they reconnect when the old primary returns), then ends
 * FAILED: a failed attempt must leave the topology as it found it. A replica whose SQL
 * thread is stopped keeps its IO thread stopped: starting it would make MariaDB discard
 * the relay log (its unapplied transactions); rejoin leaves it to the DBA too. */
static void io_restarted(struct run *run)
{
    char notes[sizeof(run->detail)];

    join_notes(run, notes, sizeof(notes));
    run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "%.600s; IO threads restarted: %.380s", run->abort_why,
            run->n_items ? notes : "none had been stopped");
}

static void restart_io_and_end(struct run *run)
{
    static const char *const stmt[] = {"START SLAVE IO_THREAD"};
    struct endpoint {
        char host[FO_HOST_LEN];
        uint16_t port;
    } *old = calloc(run->n_items ? run->n_items : 1, sizeof(*old));
    unsigned n = 0, i;

    if (old == NULL)
        return run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "%.600s; out of memory restarting IO threads",
                       run->abort_why);
    for (i = 0; i < run->n_items; i++)
        if (run->items[i].io_stopped) {
            memcpy(old[n].host, run->items[i].host, sizeof(old[n].host));
            old[n++].port = run->items[i].port;
        }
    if (batch_new(run, n, io_restarted) == NULL) {
        free(old);
        return run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "%.600s; out of memory restarting IO threads",
                       run->abort_why);
    }
    for (i = 0; i < n; i++) {
        memcpy(run->items[i].host, old[i].host, sizeof(old[i].host));
        run->items[i].port = old[i].port;
    }
    free(old);
    for (i = 0; i < n; i++) item_sql_note(&run->items[i], stmt, 1, step_timeout(run), "restarted", "NOT restarted: ");
    batch_release(run);
}

/* ------------------------------------------------------------------ pre_hook */

static bool has_pre_hook(const struct run *run)
{
    return run->fe->ctl->cfg.failover.pre_failover[0] != '\0';
}

static void pre_hook_done(void *data, const struct fo_hook_result *r)
{
    struct run *run = data;

    run->hook = NULL;
    if (!run_resume(run)) return;
    if (r->status == 0 && r->term_signal == 0 && r->exit_code == 0) {
        step_done(run, "pre_failover hook: %s", r->detail);
        return;
    }
    run_end(run, FO__FAILOVER_RESULT__RESULT_ABORTED, "pre_failover hook refused: %s", r->detail);
}

static void step_pre_hook(struct run *run)
{
    struct fo_config *cfg = cfg_of(run);
    char env[6][600], err[FO_ERRLEN];
    const char *envp[6];
    unsigned i;

    snprintf(env[0], sizeof(env[0]), "FO_CLUSTER=%s", run->cluster);
    snprintf(env[1], sizeof(env[1]), "FO_OLD_PRIMARY=%s:%u", run->old_host, run->old_port);
    snprintf(env[2], sizeof(env[2]), "FO_NEW_PRIMARY=");
    snprintf(env[3], sizeof(env[3]), "FO_EPOCH=%llu", (unsigned long long)run->epoch);
    snprintf(env[4], sizeof(env[4]), "FO_REASON=%.500s", run->reason);
    snprintf(env[5], sizeof(env[5]), "FO_KIND=%s", kind_word(run->kind));
    for (i = 0; i < 6; i++) envp[i] = env[i];
    run->pending++;
    if (fo_hook_run(run->fe->ctl->loop, "pre_failover", cfg->failover.pre_failover, envp, 6,
                    cfg->failover.hook_timeout_ms, pre_hook_done, run, &run->hook, err) != 0) {
        run->pending--;
        run_end(run, FO__FAILOVER_RESULT__RESULT_ABORTED, "pre_failover hook: %s", err);
    }
}

/* ------------------------------------------------------------------ fence */

/* DESIGN.md §6 step 2. Two paths run at once: the old primary's agent revokes its VIP
 * lease and fences its mysqld (controller/vip/vipmgr.h fo_vipmgr_revoke, at this epoch, so
 * a deposed leader's renewals are refused from then on), and the fencing module fences
 * it by SQL (mysql/fence.h: read_only, every client session killed, semi-sync
 * master off, then its final gtid_binlog_pos). A switchover needs the SQL fence to
 * succeed with no surviving session: its old position is what the replicas must reach.
 * A failover goes on when either path confirmed, or when the agent released the VIP (its
 * mysqld is then dead or hung); when nothing answered, the step waits until the
 * old lease has surely run out: the agent then drops the VIP and makes its mysqld
 * read-only by itself (lease_read_only, on by default). */

static void fence_finish(struct run *run);

/* The SQL fence of the old primary (controller's path; mysql/fence.h): read_only, every
 * client session killed, semi-sync master off, final position read back. */
static struct fo_fence *start_sql_fence(struct run *run, fo_fence_cb cb, char err[FO_ERRLEN])
{
    struct fo_fence_opts o;

    memset(&o, 0, sizeof(o));
    o.host = run->old_host;
    o.port = run->old_port;
    o.user = run->user;
    o.password = run->password;
    o.connect_timeout_ms = connect_timeout(run);
    o.timeout_ms = step_timeout(run);
    o.semi_sync_off = true;
    return fo_fence_start_tls(run->fe->ctl->loop, &o, fo_config_cluster_tls(cfg_of(run), run->cluster), cb, run, err);
}

static void fence_wait_closed(uv_handle_t *h)
{
    struct run_wait *w = h->data;
    struct run *run = w->run;
    bool fired = w->fired;

    free(w);
    run->wait = NULL;
    if (!run_resume(run)) return;
    if (fired) {
        run->fence_waited = true;
        fence_finish(run);
    }
}

static void fence_wait_fired(uv_timer_t *t)
{
    struct run_wait *w = t->data;

    w->fired = true;
    uv_close((uv_handle_t *)&w->t, fence_wait_closed);
}

/* Waits until `at` (uv_now ms), then fence_finish runs again. */
static void fence_wait_until(struct run *run, uint64_t at)
{
    uv_loop_t *loop = run->fe->ctl->loop;
    uint64_t now = uv_now(loop);
    struct run_wait *w = calloc(1, sizeof(*w));

    if (w == NULL) return run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "out of memory");
    w->run = run;
    uv_timer_init(loop, &w->t);
    w->t.data = w;
    run->wait = w;
    run->pending++;
    FO_WARN(MOD,
            "cluster %s epoch %llu: old primary %s:%u not fenced by any path; waiting %llu ms for its lease to run out",
            run->cluster, (unsigned long long)run->epoch, run->old_host, run->old_port,
            (unsigned long long)(at > now ? at - now : 0));
    uv_timer_start(&w->t, fence_wait_fired, at > now ? at - now : 0, 0);
}

static void fence_finish(struct run *run)
{
    const struct fo_fence_result *f = &run->fence_res;
    const struct fo_vipmgr_revoke_result *r = &run->revoke_res;
    bool sql_ok = f->status == 0 && f->survived == 0;
    char text[sizeof(run->detail)];

    snprintf(text, sizeof(text), "SQL: %.400s; agent: %.400s", f->detail, r->detail);
    if (run->kind == FO__FAILOVER_KIND__KIND_SWITCHOVER) {
        if (!sql_ok) {
            unfence_and_end(run, "the old primary could not be fenced", text);
            return;
        }
        snprintf(run->old_pos, sizeof(run->old_pos), "%s", f->gtid_binlog_pos);
        run->old_pos_read = true;
        step_done(run, "%s", text);
        return;
    }
    /* Go on when the mysqld is fenced by either path, or the VIP is gone from its host
     * (its mysqld then is dead or hung: FenceMysql failed), or there is no lease to wait
     * for; otherwise wait until the lease has surely run out. */
    if (sql_ok || r->mysql_fenced || r->released || run->fence_waited || r->lease_safe_at_ms == 0) {
        step_done(run, "%s%s", text,
                  run->fence_waited ? "; nothing answered: waited until the old lease surely ran out"
                  : (sql_ok || r->mysql_fenced || r->released) ? ""
                                                               : "; no VIP lease to wait for");
        return;
    }
    fence_wait_until(run, r->lease_safe_at_ms);
}

static void fence_part_done(struct run *run)
{
    if (--run->fence_left == 0) fence_finish(run);
}

static void fence_sql_done(void *data, const struct fo_fence_result *r)
{
    struct run *run = data;

    run->fence = NULL;
    run->fence_res = *r;
    if (!run_resume(run)) return;
    fence_part_done(run);
}

static void fence_revoke_done(void *data, const struct fo_vipmgr_revoke_result *r)
{
    struct run *run = data;

    run->revoke = NULL;
    run->revoke_res = *r;
    if (!run_resume(run)) return;
    fence_part_done(run);
}

static void step_fence(struct run *run)
{
    struct fo_ctl *ctl = run->fe->ctl;
    uint64_t now = uv_now(ctl->loop);
    unsigned agent_ms =
        step_timeout(run) < 2 * connect_timeout(run) + 1000 ? step_timeout(run) : 2 * connect_timeout(run) + 1000;
    char err[FO_ERRLEN];

    memset(&run->fence_res, 0, sizeof(run->fence_res));
    memset(&run->revoke_res, 0, sizeof(run->revoke_res));
    run->fence_waited = false;
    run->fence_left = 3; /* the SQL fence, the agent, and this function */
    run->pending++;
    if ((run->fence = start_sql_fence(run, fence_sql_done, err)) == NULL) {
        run->pending--;
        run->fence_res.status = FO_EIO;
        snprintf(run->fence_res.detail, sizeof(run->fence_res.detail), "not started: %s", err);
        run->fence_left--;
    }
    run->pending++;
    if ((run->revoke = fo_vipmgr_revoke(run->fe->vip, run->cluster, run->old_host, run->old_port, run->epoch,
                                        now + agent_ms, fence_revoke_done, run, err)) == NULL) {
        run->pending--;
        snprintf(run->revoke_res.detail, sizeof(run->revoke_res.detail), "not started: %s", err);
        run->revoke_res.lease_safe_at_ms =
            fo_vipmgr_lease_safe_at(run->fe->vip, run->cluster, run->old_host, run->old_port);
        run->fence_left--;
    }
    fence_part_done(run);
}

/* ------------------------------------------------------------------ choose */

/* Parses a SHOW SLAVE STATUS result into it->sample; on failure finishes the item with
 * the reason and returns false. */
static bool take_status(struct batch_item *it, const struct fo_sql_rows *rows)
{
    char err[FO_ERRLEN];

    if (fo_sample_parse_slave_status(&it->sample, rows ? rows->n_rows : 0, rows ? rows->n_cols : 0,
                                     rows ? rows->names : NULL, rows ? rows->values : NULL, err) == 0)
        return true;
    item_finish(it, false, "SHOW SLAVE STATUS: %s", err);
    return false;
}

/* Each replica: stop its IO thread (failover) so that nothing more arrives from the
 * old primary, wait (bounded) until its SQL thread applied what it received, then
 * take a fresh sample. A switchover waits for the old primary's final position
 * instead. The wait is a statement of its own and its result is checked: a replica
 * whose wait timed out (-1) or returned NULL still has unapplied relay log, and is
 * skipped by the candidate choice rather than reset (controller/decide/candidate.h). */
static void choose_sampled(struct run *run, struct batch_item *it, int status, unsigned myerrno, const char *error,
                           const struct fo_sql_rows *rows)
{

    (void)myerrno;
    if (status != 0) {
        item_finish(it, false, "sampling: %s", error);
        return;
    }
    if (!take_status(it, rows)) return;
    it->has_sample = true;
    item_finish(it, true, "%s", it->relay_unapplied ? it->wait_note : "sampled");
}

static void choose_vars(struct run *run, struct batch_item *it, int status, unsigned myerrno, const char *error,
                        const struct fo_sql_rows *rows)
{
    static const char *const stmt[] = {FO_SAMPLE_Q2};
    char err[FO_ERRLEN];

    (void)myerrno;
    if (status != 0) {
        item_finish(it, false, "reading GTID positions: %s", error);
        return;
    }
    if (rows == NULL || rows->n_rows != 1 || fo_sample_parse_vars(&it->sample, rows->n_cols, rows->values, err) != 0) {
        item_finish(it, false, "reading GTID positions: %s", rows ? err : "no result");
        return;
    }
    item_sql(it, stmt, 1, connect_timeout(run), step_timeout(run), choose_sampled);
}

/* MASTER_GTID_WAIT's one value: "0" reached, "-1" timed out, NULL or anything else:
 * unknown. Returns 0 only for "0". */
static int wait_result(const struct fo_sql_rows *rows, char *note, size_t n)
{
    const char *v = rows != NULL && rows->n_rows == 1 && rows->n_cols >= 1 ? rows->values[0] : NULL;

    if (v != NULL && strcmp(v, "0") == 0) return 0;
    if (v != NULL && strcmp(v, "-1") == 0)
        snprintf(note, n, "relay log not applied: MASTER_GTID_WAIT timed out");
    else
        snprintf(note, n, "relay log state unknown: MASTER_GTID_WAIT returned %s", v == NULL ? "NULL" : "?");
    return -1;
}

static void choose_waited(struct run *run, struct batch_item *it, int status, unsigned myerrno, const char *error,
                          const struct fo_sql_rows *rows)
{
    static const char *const stmt[] = {FO_SAMPLE_Q1};

    (void)myerrno;
    if (status != 0) {
        item_finish(it, false, "waiting for the relay log: %s", error);
        return;
    }
    it->relay_unapplied = wait_result(rows, it->wait_note, sizeof(it->wait_note)) != 0;
    item_sql(it, stmt, 1, connect_timeout(run), step_timeout(run), choose_vars);
}

/* "SELECT MASTER_GTID_WAIT('pos', s.mmm)" into q; "SELECT 0" when pos is empty. */
static void gtid_wait_stmt(struct run *run, const char *pos, char *q, size_t n)
{
    char quoted[FO_GTIDPOS_LEN * 2 + 8];
    unsigned ms = cfg_of(run)->failover.relay_wait_ms;

    if (pos[0] == '\0' || fo_sql_quote(pos, quoted, sizeof(quoted)) != 0) {
        /* An unquotable position cannot happen for a parsed GTID list; a NULL result
         * then marks the replica as unknown rather than applied. */
        snprintf(q, n, pos[0] == '\0' ? "SELECT 0" : "SELECT NULL");
        return;
    }
    snprintf(q, n, "SELECT MASTER_GTID_WAIT(%s, %u.%03u)", quoted, ms / 1000, ms % 1000);
}

static void choose_wait(struct run *run, struct batch_item *it, const char *pos)
{
    char q[FO_GTIDPOS_LEN * 2 + 96];
    const char *stmts[1] = {q};

    gtid_wait_stmt(run, pos, q, sizeof(q));
    item_sql(it, stmts, 1, connect_timeout(run), cfg_of(run)->failover.relay_wait_ms + step_timeout(run),
             choose_waited);
}

static void choose_stopped(struct run *run, struct batch_item *it, int status, unsigned myerrno, const char *error,
                           const struct fo_sql_rows *rows)
{

    (void)myerrno;
    if (status != 0) {
        item_finish(it, false, "stopping the IO thread: %s", error);
        return;
    }
    if (!take_status(it, rows)) return;
    /* MariaDB discards the relay log when replication starts with both threads
     * stopped (GTID mode refetches from gtid_slave_pos): only an IO thread whose SQL
     * thread runs may be restarted without losing what it holds. */
    it->io_stopped = it->sample.sql_running == FO_THREAD_YES;
    snprintf(it->io_pos, sizeof(it->io_pos), "%s", it->sample.gtid_io_pos);
    choose_wait(run, it, it->io_pos);
}

/* True if a replica skipped for its unapplied relay log received transactions the
 * chosen one lacks: promoting it would drop them (repointing that replica deletes its
 * relay log), and with semi-sync they may have been acknowledged. An automatic
 * failover then stops (recorded; an operator's `failoverctl failover --to` may still
 * choose to go on). why gets the replica and its received position. */
static bool relay_only_lost(struct run *run, int chosen, char *why, size_t n)
{
    struct fo_mariadb_pos cur, io;
    char err[FO_ERRLEN];
    enum fo_gtid_cmp r;
    unsigned i;

    if (fo_gtid_mariadb_parse(run->items[chosen].sample.gtid_current_pos, &cur, err) != 0) return false;
    for (i = 0; i < run->n_items; i++) {
        struct batch_item *it = &run->items[i];
        if ((int)i == chosen || !it->relay_unapplied || it->io_pos[0] == '\0') continue;
        if (fo_gtid_mariadb_parse(it->io_pos, &io, err) != 0) {
            snprintf(why, n, "%.80s:%u received an unparsable position %.100s", it->host, it->port, it->io_pos);
            return true;
        }
        r = fo_gtid_mariadb_compare(&cur, &io);
        if (r == FO_GTID_BEHIND || r == FO_GTID_DIVERGED) {
            snprintf(why, n, "%.80s:%u holds received but unapplied transactions (up to %.100s) that it lacks",
                     it->host, it->port, it->io_pos);
            return true;
        }
    }
    return false;
}

struct choose_ctx {
    struct fo_cand_in in[FO_RUN_MAX_ITEMS];
    char reasons[FO_RUN_MAX_ITEMS][FO_CAND_REASON_LEN];
};

static void choose_done(struct run *run)
{
    struct fo_cand_opts opts;
    struct fo_cand_out out;
    struct choose_ctx *cx = calloc(1, sizeof(*cx));
    size_t off = 0;
    unsigned i;

    if (cx == NULL) return run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "out of memory");
    for (i = 0; i < run->n_items; i++) {
        struct batch_item *it = &run->items[i];
        struct fo_store_instance row;
        cx->in[i].host = it->host;
        cx->in[i].port = it->port;
        cx->in[i].reachable = it->ok && it->has_sample;
        cx->in[i].s = &it->sample;
        cx->in[i].relay_unapplied = it->relay_unapplied;
        if (fo_store_get_instance(run->fe->ctl->store, run->cluster, it->host, it->port, &row) == 0) {
            cx->in[i].rule = (enum fo_rule)row.rule;
            cx->in[i].maintenance = row.maintenance;
            cx->in[i].quarantined = row.quarantined;
        }
    }
    memset(&opts, 0, sizeof(opts));
    opts.max_lag_s = run->max_lag_s;
    opts.old_primary_pos = run->old_pos;
    opts.require_old_pos = run->kind == FO__FAILOVER_KIND__KIND_SWITCHOVER;
    opts.target_host = run->target_host;
    opts.target_port = run->target_port;
    fo_candidate_choose(cx->in, run->n_items, &opts, &out, cx->reasons);
    run->detail[0] = '\0';
    for (i = 0; i < run->n_items; i++) {
        int k = snprintf(run->detail + off, sizeof(run->detail) - off, "%s%s:%u %s%s%s", i ? "; " : "",
                         run->items[i].host, run->items[i].port, cx->reasons[i], run->items[i].ok ? "" : " - ",
                         run->items[i].ok ? "" : run->items[i].note);
        if (k < 0 || (size_t)k >= sizeof(run->detail) - off) break;
        off += (size_t)k;
    }
    if (out.chosen < 0) {
        char why[sizeof(run->detail)];
        snprintf(why, sizeof(why), "%s", run->detail);
        free(cx);
        if (run->kind == FO__FAILOVER_KIND__KIND_SWITCHOVER) {
            unfence_and_end(run, out.summary, why);
            return;
        }
        snprintf(run->abort_why, sizeof(run->abort_why), "no replica can be promoted: %.300s (%.600s)", out.summary,
                 why);
        restart_io_and_end(run);
        return;
    }
    if (run->kind == FO__FAILOVER_KIND__KIND_AUTO &&
        relay_only_lost(run, out.chosen, cx->reasons[0], sizeof(cx->reasons[0]))) {
        snprintf(run->abort_why, sizeof(run->abort_why), "not promoting %s:%u: %.400s (%.400s)",
                 run->items[out.chosen].host, run->items[out.chosen].port, cx->reasons[0], run->detail);
        free(cx);
        restart_io_and_end(run);
        return;
    }
    snprintf(run->new_host, sizeof(run->new_host), "%s", run->items[out.chosen].host);
    run->new_port = run->items[out.chosen].port;
    free(cx);
    step_done(run, "%s -- %.600s", out.summary, run->detail);
}

static void choose_start(struct run *run)
{
    static const char *const stop_io[] = {"STOP SLAVE IO_THREAD", FO_SAMPLE_Q2};
    struct fo_store_instance *rows = NULL;
    unsigned n = 0, i;

    rows = collect_instances(run, &n, true);
    if (rows == NULL && n > 0) return run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "out of memory");
    if (batch_new(run, n, choose_done) == NULL) {
        free(rows);
        return run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "out of memory");
    }
    for (i = 0; i < n; i++) {
        struct batch_item *it = &run->items[i];
        snprintf(it->host, sizeof(it->host), "%s", rows[i].host);
        it->port = rows[i].port;
    }
    free(rows);
    for (i = 0; i < n; i++) {
        struct batch_item *it = &run->items[i];
        if (run->kind == FO__FAILOVER_KIND__KIND_SWITCHOVER)
            choose_wait(run, it, run->old_pos);
        else
            item_sql(it, stop_io, 2, connect_timeout(run), step_timeout(run), choose_stopped);
    }
    batch_release(run);
}

/* A resumed switchover lost the position read while fencing: fence again by SQL
 * (idempotent; the old primary is alive and read-only in a switchover) and read it. */
static void choose_refenced(void *data, const struct fo_fence_result *r)
{
    struct run *run = data;

    run->fence = NULL;
    if (!run_resume(run)) return;
    if (r->status != 0 || r->survived != 0) {
        unfence_and_end(run, "the old primary's final position cannot be read", r->detail);
        return;
    }
    snprintf(run->old_pos, sizeof(run->old_pos), "%s", r->gtid_binlog_pos);
    run->old_pos_read = true;
    choose_start(run);
}

static void step_choose(struct run *run)
{
    char err[FO_ERRLEN];

    if (run->kind != FO__FAILOVER_KIND__KIND_SWITCHOVER || run->old_pos_read) {
        choose_start(run);
        return;
    }
    run->pending++;
    if ((run->fence = start_sql_fence(run, choose_refenced, err)) == NULL) {
        run->pending--;
        run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "cannot fence the old primary again: %s", err);
    }
}

/* ------------------------------------------------------------------ promote */

static void promote_done(struct run *run)
{
    struct batch_item *it = &run->items[0];

    if (!it->ok) {
        run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "promoting %s:%u failed (%s); no server is writable",
                run->new_host, run->new_port, it->note);
        return;
    }
    step_done(run, "%s:%u: replication reset, read_only=0%s", run->new_host, run->new_port,
              run->semi_sync ? ", semi-sync master AFTER_SYNC" : "");
}

/* The point of no return for the relay log: RESET SLAVE ALL deletes it, so it runs
 * only after the wait said everything received was applied. */
static void promote_reset(struct run *run, struct batch_item *it)
{
    const char *stmts[8];
    unsigned n = 0;

    stmts[n++] = "STOP SLAVE";
    stmts[n++] = "RESET SLAVE ALL";
    if (run->semi_sync) {
        stmts[n++] = "SET GLOBAL rpl_semi_sync_slave_enabled=0";
        stmts[n++] = "SET GLOBAL rpl_semi_sync_master_wait_point='AFTER_SYNC'";
        stmts[n++] = "SET GLOBAL rpl_semi_sync_master_enabled=1";
    }
    stmts[n++] = "SET GLOBAL read_only=0";
    item_sql_note(it, stmts, n, step_timeout(run), "promoted", "");
}

static void promote_waited(struct run *run, struct batch_item *it, int status, unsigned myerrno, const char *error,
                           const struct fo_sql_rows *rows)
{
    (void)myerrno;
    if (status != 0) {
        item_finish(it, false, "waiting for the relay log: %s; not promoted (nothing reset)", error);
        return;
    }
    if (wait_result(rows, it->wait_note, sizeof(it->wait_note)) != 0) {
        item_finish(it, false, "%s; not promoted (nothing reset)", it->wait_note);
        return;
    }
    promote_reset(run, it);
}

static void promote_stopped(struct run *run, struct batch_item *it, int status, unsigned myerrno, const char *error,
                            const struct fo_sql_rows *rows)
{
    char q[FO_GTIDPOS_LEN * 2 + 96];
    const char *stmts[1] = {q};

    (void)myerrno;
    if (status != 0) {
        item_finish(it, false, "stopping the IO thread: %s", error);
        return;
    }
    if (!take_status(it, rows)) return;
    if (!it->sample.is_replica) { /* resumed after RESET SLAVE ALL */
        promote_reset(run, it);
        return;
    }
    gtid_wait_stmt(run, it->sample.gtid_io_pos, q, sizeof(q));
    item_sql(it, stmts, 1, connect_timeout(run), cfg_of(run)->failover.relay_wait_ms + step_timeout(run),
             promote_waited);
}

/* Promote: stop receiving, wait until the relay log is applied (its own statement,
 * checked), then reset replication and open for writes. */
static void step_promote(struct run *run)
{
    static const char *const stmts[] = {"STOP SLAVE IO_THREAD", FO_SAMPLE_Q2};
    struct batch_item *it = batch_new(run, 1, promote_done);

    if (it == NULL) return run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "out of memory");
    snprintf(it->host, sizeof(it->host), "%s", run->new_host);
    it->port = run->new_port;
    item_sql(it, stmts, 2, connect_timeout(run), step_timeout(run), promote_stopped);
    batch_release(run);
}

/* ------------------------------------------------------------------ repoint */

static void repoint_done(struct run *run)
{
    join_notes(run, run->detail, sizeof(run->detail));
    step_done(run, "%s", run->n_items ? run->detail : "no other replica");
}

/* CHANGE MASTER for one instance. The old primary of a switchover is demoted with
 * MASTER_DEMOTE_TO_SLAVE=1 and needs the replication account; other replicas keep
 * the credentials they already use unless repl_user is configured. */
static void repoint_one(struct run *run, struct batch_item *it, bool demote)
{
    char change[1024], h[FO_HOST_LEN * 2 + 4], u[FO_NAME_LEN * 2 + 4], pw[520], creds[700] = "";
    const char *stmts[4];
    unsigned n = 0;

    quote(h, sizeof(h), run->new_host);
    if (run->repl_user[0] != '\0' && run->repl_password[0] != '\0') {
        quote(u, sizeof(u), run->repl_user);
        quote(pw, sizeof(pw), run->repl_password);
        snprintf(creds, sizeof(creds), ", MASTER_USER=%s, MASTER_PASSWORD=%s", u, pw);
    } else if (demote) {
        item_finish(it, false, "left read-only: repl_user/repl_password_file not configured");
        return;
    }
    snprintf(change, sizeof(change), "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%u%s, MASTER_USE_GTID=slave_pos%s",
             h, run->new_port, creds, demote ? ", MASTER_DEMOTE_TO_SLAVE=1" : "");
    stmts[n++] = demote ? "SET GLOBAL read_only=1" : "STOP SLAVE";
    stmts[n++] = change;
    if (run->semi_sync) stmts[n++] = "SET GLOBAL rpl_semi_sync_slave_enabled=1";
    stmts[n++] = "START SLAVE";
    item_sql_note(it, stmts, n, step_timeout(run), "replicating from the new primary", "not repointed: ");
    memset(pw, 0, sizeof(pw));
    memset(change, 0, sizeof(change));
    memset(creds, 0, sizeof(creds));
}

static void step_repoint(struct run *run)
{
    struct fo_store_instance *rows;
    unsigned n = 0, i, k = 0;
    bool switchover = run->kind == FO__FAILOVER_KIND__KIND_SWITCHOVER;

    rows = collect_instances(run, &n, !switchover);
    if (rows == NULL && n > 0) return run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "out of memory");
    if (batch_new(run, n, repoint_done) == NULL) {
        free(rows);
        return run_end(run, FO__FAILOVER_RESULT__RESULT_FAILED, "out of memory");
    }
    for (i = 0; i < n; i++) {
        if (strcmp(rows[i].host, run->new_host) == 0 && rows[i].port == run->new_port) continue;
        snprintf(run->items[k].host, sizeof(run->items[k].host), "%s", rows[i].host);
        run->items[k].port = rows[i].port;
        k++;
    }
    /* The promoted instance is not repointed: the batch is one shorter. */
    run->items_left -= n - k;
    run->n_items = k;
    free(rows);
    for (i = 0; i < k; i++) {
        struct batch_item *it = &run->items[i];
        bool is_old = strcmp(it->host, run->old_host) == 0 && it->port == run->old_port;
        repoint_one(run, it, is_old);
    }
    batch_release(run);
}

/* ------------------------------------------------------------------ vip */

static void vip_moved(void *data, int status, const char *detail)
{
    struct run *run = data;

    run->vipmove = NULL;
    if (!run_resume(run)) return;
    if (status == 0) {
        step_done(run, "%.900s", detail);
        return;
    }
    /* The topology is already safe (one writable primary, replicas repointed) and the
     * recorded holder is the new primary: the renewal loop keeps acquiring it there
     * once this failover has ended. Visible in the step detail and in /metrics. */
    step_done(run, "VIP not confirmed yet (the leader keeps trying): %.850s", detail);
}

/* DESIGN.md §6 step 6: the old holder releases the VIP (or its lease surely runs
 * out), the new primary is recorded as holder, then its agent acquires the VIP at this
 * failover's epoch (controller/vip/vipmgr.h). */
static void step_vip(struct run *run)
{
    char err[FO_ERRLEN];
    uint64_t deadline = uv_now(run->fe->ctl->loop) + step_timeout(run);

    run->pending++;
    run->vipmove = fo_vipmgr_move(run->fe->vip, run->cluster, run->new_host, run->new_port, run->epoch, deadline,
                                  vip_moved, run, err);
    if (run->vipmove == NULL) {
        run->pending--;
        step_done(run, "VIP not moved: %s", err);
    }
}
