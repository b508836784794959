/* The executor of the failover engine (DESIGN.md §6). The engine itself is the pure
 * table and step function of controller/decide/fostep.h; a run owns what that cannot:
 * libuv handles, SQL (mysql/sqlexec.h), the fence (mysql/fence.h), the agent revoke
 * and VIP move (controller/vip/vipmgr.h), hooks and raft proposals. It performs the
 * actions fo_fostep returns and feeds every result back as an event. Which replica,
 * whether to wait, whether to abort: none of that is decided here.
 *
 * Lifetime: `pending` counts callbacks the run still waits for; a dead run (leadership
 * lost, ended, stopping) is freed when the last of them has fired. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "controller/act/failover_internal.h"
#include "controller/act/hooks.h"
#include "controller/act/salvage.h"
#include "controller/probe/monitor.h"
#include "controller/vip/vipmgr.h"

#define MOD "failover"
#define REVOKE_MIN_MS 200 /* the least a revoke is given (start_revoke) */

/* fostep.h mirrors the wire enums; they must agree. */
_Static_assert((int)FO_FS_PRE_HOOK == (int)FO__FAILOVER_STEP__STEP_PRE_HOOK &&
                   (int)FO_FS_VIP == (int)FO__FAILOVER_STEP__STEP_VIP,
               "fostep steps are fo.FailoverStep");
_Static_assert((int)FO_FK_SWITCHOVER == (int)FO__FAILOVER_KIND__KIND_SWITCHOVER &&
                   (int)FO_FK_MANUAL == (int)FO__FAILOVER_KIND__KIND_MANUAL,
               "fostep kinds are fo.FailoverKind");
_Static_assert((int)FO_FR_ABORTED == (int)FO__FAILOVER_RESULT__RESULT_ABORTED &&
                   (int)FO_FR_SUCCESS == (int)FO__FAILOVER_RESULT__RESULT_SUCCESS,
               "fostep results are fo.FailoverResult");

/* One SQL list in flight for item `item` of the current batch. */
struct run_q {
    struct run_q *next;
    struct run *run;
    unsigned item;
    enum fo_fogroup group;
    struct fo_sql *q;
};

/* The timer of a WAIT_UNTIL action. */
struct run_wait {
    uv_timer_t t;
    struct run *run;
    bool fired;
};

/* An event queued while feeding (an action that could not start), with its text. */
struct run_ev {
    struct run_ev *next;
    struct fo_foevent ev;
    char text[FO_ERRLEN + 64];
};

static const char *kind_name(int kind)
{
    return kind == FO_FK_SWITCHOVER ? "switchover" : kind == FO_FK_MANUAL ? "manual failover" : "failover";
}

/* As history and why print them: FO_KIND for hooks. */
static const char *kind_word(int kind)
{
    return kind == FO_FK_SWITCHOVER ? "switchover" : kind == FO_FK_MANUAL ? "manual" : "auto";
}

static struct fo_config *cfg_of(struct run *run)
{
    return &run->fe->ctl->cfg;
}

static uint64_t epoch_of(const struct run *run)
{
    return run->st.c.epoch;
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
    struct run_ev *e;

    while ((e = run->evq) != NULL) {
        run->evq = e->next;
        free(e);
    }
    memset(run->password, 0, sizeof(run->password));
    memset(run->repl_password, 0, sizeof(run->repl_password));
    fo_fostate_free(&run->st);
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

static void wait_closed(uv_handle_t *h);

void fo_run_kill(struct run *run)
{
    struct run_q *q;

    if (run->dead) return;
    run->dead = true;
    run_unlink(run);
    for (q = run->qs; q != NULL; q = q->next)
        if (q->q != NULL) fo_sql_cancel(q->q);
    if (run->hook != NULL) fo_hook_cancel(run->hook);
    if (run->vipmove != NULL) fo_vipmgr_move_cancel(run->vipmove);
    if (run->fence != NULL) fo_fence_cancel(run->fence);
    if (run->revoke != NULL) fo_vipmgr_revoke_cancel(run->revoke);
    if (run->salvage != NULL) fo_salvage_cancel(run->salvage);
    if (run->wait != NULL && !uv_is_closing((uv_handle_t *)&run->wait->t)) {
        uv_timer_stop(&run->wait->t);
        uv_close((uv_handle_t *)&run->wait->t, wait_closed);
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

/* The engine's state as a new leader builds it: from the store only. */
static int state_from_store(struct run *run, const struct fo_store_failover *f, const struct fo_store_cluster *c,
                            char err[FO_ERRLEN])
{
    const struct fo_failover_cfg *fc = &cfg_of(run)->failover;
    struct fo_fostate_cfg sc;

    memset(&sc, 0, sizeof(sc));
    sc.kind = (enum fo_fokind)f->kind;
    sc.epoch = f->epoch;
    snprintf(sc.old_host, sizeof(sc.old_host), "%s", f->old_host);
    sc.old_port = f->old_port;
    snprintf(sc.new_host, sizeof(sc.new_host), "%s", f->new_host);
    sc.new_port = f->new_port;
    snprintf(sc.target_host, sizeof(sc.target_host), "%s", f->target_host);
    sc.target_port = f->target_port;
    sc.last_step = f->last_step;
    sc.has_pre_hook = fc->pre_failover[0] != '\0';
    sc.has_vip = c->vip[0] != '\0';
    sc.semi_sync = c->semi_sync;
    sc.has_repl_creds = run->repl_user[0] != '\0' && run->repl_password[0] != '\0';
    /* Issue 13: a failover (never a switchover: its old primary is alive and its final
     * position is waited for) salvages the dead old primary's binlog tail. */
    sc.salvage = sc.kind != FO_FK_SWITCHOVER;
    sc.max_lag_s = c->max_lag_s;
    sc.t.step_ms = fc->step_timeout_ms;
    sc.t.connect_ms = cfg_of(run)->probe.connect_timeout_ms;
    sc.t.relay_wait_ms = fc->relay_wait_ms;
    sc.t.hook_ms = fc->hook_timeout_ms;
    return fo_fostate_init(&run->st, &sc, err);
}

struct run *fo_run_new(struct fo_failover *fe, const struct fo_store_failover *f, char err[FO_ERRLEN])
{
    struct fo_store_cluster c;
    struct run *run;

    if (fo_store_get_cluster(fe->ctl->store, f->cluster, &c) != 0)
        return fo_errf(err, FO_ENOTFOUND, "cluster %s vanished", f->cluster), NULL;
    if ((run = calloc(1, sizeof(*run))) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory"), NULL;
    run->fe = fe;
    run->evq_tail = &run->evq;
    snprintf(run->cluster, sizeof(run->cluster), "%s", f->cluster);
    snprintf(run->reason, sizeof(run->reason), "%s", f->reason);
    run->begin_ns = uv_hrtime();
    snprintf(run->user, sizeof(run->user), "%s", c.user);
    snprintf(run->repl_user, sizeof(run->repl_user), "%s", c.repl_user);
    if (fo_fe_read_secret(fe, c.password_file, run->password, sizeof(run->password), err) != 0) goto err_after_run;
    if (c.repl_password_file[0] != '\0' &&
        fo_fe_read_secret(fe, c.repl_password_file, run->repl_password, sizeof(run->repl_password), err) != 0)
        FO_WARN(MOD, "cluster %s: %s (a former primary cannot be repointed)", c.name, err);
    if (state_from_store(run, f, &c, err) != 0) goto err_after_run;
    run->next = fe->runs;
    fe->runs = run;
    return run;

err_after_run:
    run_free(run);
    return NULL;
}

/* ------------------------------------------------------------------ feeding */

static void perform(struct run *run, const struct fo_foaction *a);

/* One event into the engine, and its actions out to the world. */
static void deliver(struct run *run, const struct fo_foevent *ev)
{
    struct fo_foactions *acts = malloc(sizeof(*acts)); /* ~25 KB: not on the loop's stack */
    unsigned i;
    int rc;

    if (acts == NULL) {
        FO_ERROR(MOD, "cluster %s: out of memory feeding the engine; dropping the run", run->cluster);
        fo_run_kill(run);
        return;
    }
    rc = fo_fostep(&run->st, ev, uv_now(run->fe->ctl->loop), acts);
    if (rc != 0)
        FO_WARN(MOD, "cluster %s epoch %llu: event %d ignored in phase %s: %s", run->cluster,
                (unsigned long long)epoch_of(run), (int)ev->type, fo_fophase_name(run->st.phase), fo_strerror(rc));
    for (i = 0; rc == 0 && i < acts->n && !run->dead; i++) perform(run, &acts->a[i]);
    free(acts);
}

/* Feeds ev, then every event queued meanwhile by actions that could not start: the
 * actions of one event are all performed before the next event is fed. */
static void feed(struct run *run, const struct fo_foevent *ev)
{
    struct run_ev *e;

    if (run->dead) return;
    run->pending++; /* the run outlives this call even if it dies inside */
    deliver(run, ev);
    while (!run->dead && (e = run->evq) != NULL) {
        run->evq = e->next;
        if (run->evq == NULL) run->evq_tail = &run->evq;
        e->ev.error = e->text;
        deliver(run, &e->ev);
        free(e);
    }
    (void)run_resume(run);
}

/* Queues the result of an action that could not start; text is copied. */
static void defer(struct run *run, const struct fo_foevent *ev, const char *text)
{
    struct run_ev *e = calloc(1, sizeof(*e));

    if (e == NULL) {
        FO_ERROR(MOD, "cluster %s: out of memory queueing an event; dropping the run", run->cluster);
        fo_run_kill(run);
        return;
    }
    e->ev = *ev;
    snprintf(e->text, sizeof(e->text), "%s", text ? text : "");
    *run->evq_tail = e;
    run->evq_tail = &e->next;
}

void fo_run_next(struct run *run)
{
    struct fo_foevent ev = {.type = FO_FE_START};

    feed(run, &ev);
}

/* ------------------------------------------------------------------ raft */

static void barrier_done(void *data, int status);
static void step_committed(void *data, int status, int result);
static void end_committed(void *data, int status, int result);

struct collect_ctx {
    struct fo_foinst *rows;
    unsigned n, cap;
    bool oom;
};

static int collect_one(void *data, const struct fo_store_instance *i)
{
    struct collect_ctx *c = data;
    struct fo_foinst *p;

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
    p = &c->rows[c->n++];
    memset(p, 0, sizeof(*p));
    snprintf(p->host, sizeof(p->host), "%s", i->host);
    p->port = i->port;
    p->rule = (enum fo_rule)i->rule;
    p->maintenance = i->maintenance;
    p->quarantined = i->quarantined;
    return 0;
}

/* DESIGN.md §6: the leader confirms it leads before every step's side effects; the
 * barrier's event carries the cluster's instances as the store has them now. */
static void barrier_done(void *data, int status)
{
    struct run *run = data;
    struct collect_ctx c = {0};
    struct fo_foevent ev = {.type = FO_FE_BARRIER};

    if (!run_resume(run)) return;
    ev.status = status != 0 || !fo_raft_is_ready(&run->fe->ctl->raft) ? FO_ENOTLEADER : 0;
    if (ev.status == 0) {
        fo_store_each_instance(run->fe->ctl->store, run->cluster, collect_one, &c);
        if (c.oom) {
            free(c.rows);
            FO_ERROR(MOD, "cluster %s: out of memory reading the instances; the re-drive retries", run->cluster);
            fo_run_kill(run);
            return;
        }
        ev.inst = c.rows;
        ev.n_inst = c.n;
    }
    if (!run->st.cu_barrier) run->step_ns = uv_hrtime(); /* the catch-up's barrier is inside choose */
    feed(run, &ev);
    free(c.rows);
}

static void propose(struct run *run, Fo__Command *cmd, fo_ctl_propose_cb cb, const char *what)
{
    char err[FO_ERRLEN];

    run->pending++;
    if (fo_ctl_propose(run->fe->ctl, cmd, cb, run, err) != 0) {
        run->pending--;
        FO_WARN(MOD, "committing %s of epoch %llu: %s", what, (unsigned long long)epoch_of(run), err);
        fo_run_kill(run);
    }
}

static void commit_step(struct run *run, const struct fo_foaction *a)
{
    Fo__Command cmd;
    Fo__FailoverStepDone sd;

    fo__command__init(&cmd);
    fo__failover_step_done__init(&sd);
    sd.cluster = run->cluster;
    sd.epoch = epoch_of(run);
    sd.step = (Fo__FailoverStep)a->step;
    sd.duration_ms = (uint32_t)((uv_hrtime() - run->step_ns) / 1000000u);
    sd.detail = (char *)a->detail;
    if (a->names_new) {
        sd.new_host = run->st.c.new_host;
        sd.new_port = run->st.c.new_port;
    }
    cmd.body_case = FO__COMMAND__BODY_FAILOVER_STEP;
    cmd.failover_step = &sd;
    FO_INFO(MOD, "cluster %s epoch %llu: step %d done in %u ms: %s", run->cluster, (unsigned long long)sd.epoch,
            a->step, sd.duration_ms, a->detail);
    /* Issue 13 item 2: a catch-up, and above all a fallback, is also a `why` Decision. */
    if (a->step == FO_FS_CHOOSE && (run->st.cu_result == FO_CU_DONE || run->st.cu_result == FO_CU_FELL_BACK))
        fo_fe_decision(run->fe, run->cluster, run->st.cu_result == FO_CU_DONE ? "catch_up" : "catch_up_fell_back",
                       run->st.catchup_detail, run->st.c.new_host, run->st.c.new_port, false, NULL);
    propose(run, &cmd, step_committed, "a step");
}

static void commit_end(struct run *run, const struct fo_foaction *a)
{
    Fo__Command cmd;
    Fo__FailoverEnd end;

    fo__command__init(&cmd);
    fo__failover_end__init(&end);
    end.cluster = run->cluster;
    end.epoch = epoch_of(run);
    end.result = (Fo__FailoverResult)a->result;
    end.detail = (char *)a->detail;
    end.total_ms = (uint32_t)((uv_hrtime() - run->begin_ns) / 1000000u);
    cmd.body_case = FO__COMMAND__BODY_FAILOVER_END;
    cmd.failover_end = &end;
    fo_log(a->result == FO_FR_SUCCESS ? FO_LOG_INFO : FO_LOG_WARN, MOD, "cluster %s epoch %llu: %s %s: %s",
           run->cluster, (unsigned long long)end.epoch, kind_name(run->st.c.kind),
           a->result == FO_FR_SUCCESS ? "succeeded" : "did not complete", a->detail);
    propose(run, &cmd, end_committed, "the end");
}

/* TEST ONLY ([failover] fault_injection = exit_after:STEP | drop_run_after:STEP): true
 * if the run must not go on now that `step` is committed. */
static bool fault_after_step(struct run *run, int step)
{
    const struct fo_failover_cfg *f = &cfg_of(run)->failover;

    if (f->fault_step != step) return false;
    if (f->fault == FO_FAULT_EXIT_AFTER_STEP) {
        FO_ERROR(MOD, "fault injection: exiting right after step %d of %s committed", step, run->cluster);
        _exit(3);
    }
    if (f->fault != FO_FAULT_DROP_RUN_AFTER_STEP) return false;
    FO_ERROR(MOD, "fault injection: dropping the run of %s after step %d (still leader)", run->cluster, step);
    fo_run_kill(run);
    return true;
}

static void step_committed(void *data, int status, int result)
{
    struct run *run = data;
    struct fo_foevent ev = {.type = FO_FE_STEP_COMMITTED, .status = status, .result = result};

    if (!run_resume(run)) return;
    if (status == 0 && (result == 0 || result == FO_EEXIST) && fault_after_step(run, run->st.current)) return;
    feed(run, &ev);
}

static void end_committed(void *data, int status, int result)
{
    struct run *run = data;
    struct fo_foevent ev = {.type = FO_FE_END_COMMITTED, .status = status, .result = result};

    if (!run_resume(run)) return;
    feed(run, &ev);
}

/* ------------------------------------------------------------------ hooks */

static void pre_hook_done(void *data, const struct fo_hook_result *r)
{
    struct run *run = data;
    struct fo_foevent ev = {.type = FO_FE_HOOK};

    run->hook = NULL;
    if (!run_resume(run)) return;
    ev.status = r->status;
    ev.hook_ok = r->status == 0 && r->term_signal == 0 && r->exit_code == 0;
    ev.error = r->detail;
    feed(run, &ev);
}

/* FO_CLUSTER, FO_OLD_PRIMARY, FO_NEW_PRIMARY, FO_EPOCH, FO_REASON, FO_KIND into env. */
static void hook_env(struct run *run, char env[][600], const char *new_host, uint16_t new_port)
{
    snprintf(env[0], sizeof(env[0]), "FO_CLUSTER=%s", run->cluster);
    snprintf(env[1], sizeof(env[1]), "FO_OLD_PRIMARY=%s:%u", run->st.c.old_host, run->st.c.old_port);
    if (new_host[0])
        snprintf(env[2], sizeof(env[2]), "FO_NEW_PRIMARY=%s:%u", new_host, new_port);
    else
        snprintf(env[2], sizeof(env[2]), "FO_NEW_PRIMARY=");
    snprintf(env[3], sizeof(env[3]), "FO_EPOCH=%llu", (unsigned long long)epoch_of(run));
    snprintf(env[4], sizeof(env[4]), "FO_REASON=%.500s", run->reason);
    snprintf(env[5], sizeof(env[5]), "FO_KIND=%s", kind_word(run->st.c.kind));
}

static void start_pre_hook(struct run *run, const struct fo_foaction *a)
{
    struct fo_foevent ev = {.type = FO_FE_HOOK, .not_started = true};
    char env[6][600], err[FO_ERRLEN];
    const char *envp[6];
    unsigned i;

    hook_env(run, env, "", 0);
    for (i = 0; i < 6; i++) envp[i] = env[i];
    run->pending++;
    if (fo_hook_run(run->fe->ctl->loop, "pre_failover", cfg_of(run)->failover.pre_failover, envp, 6, a->timeout_ms,
                    pre_hook_done, run, &run->hook, err) != 0) {
        run->pending--;
        defer(run, &ev, err);
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
    hook_env(run, env, run->st.c.new_host, run->st.c.new_port);
    snprintf(env[6], sizeof(env[6]), "FO_RESULT=%s", success ? "success" : "failed");
    for (i = 0; i < 7; i++) envp[i] = env[i];
    if (fo_hook_run(run->fe->ctl->loop, ph->name, path, envp, 7, cfg->failover.hook_timeout_ms, post_hook_done, ph, &h,
                    err) != 0) {
        FO_WARN(MOD, "%s hook: %s", ph->name, err);
        free(ph);
    }
}

/* The run is over: its end is committed. */
static void finished(struct run *run, const struct fo_foaction *a)
{
    int result = run->st.end_result;

    if (a->counted && result > 0 && result < 4) run->fe->ended[result]++;
    if (a->backoff) fo_fe_backoff(run->fe, run->cluster);
    fo_fe_quiet(run->fe, run->cluster);
    fo_monitor_kick(run->fe->ctl, run->cluster);
    run_unlink(run);
    run->dead = true; /* nothing more to commit; freed when the last callback fired */
    run_finish_cb(run, a->success ? 0 : FO_EIO, run->st.detail);
}

/* ------------------------------------------------------------------ SQL */

static void quote(char *out, size_t n, const char *s)
{
    if (fo_sql_quote(s, out, n) != 0) snprintf(out, n, "''");
}

/* "SELECT MASTER_GTID_WAIT('pos', s.mmm)" into q; "SELECT 0" when pos is empty. The
 * timeout is wait_ms (a catch-up's slice), or relay_wait_ms when 0. */
static void gtid_wait_stmt(struct run *run, const char *pos, unsigned wait_ms, char *q, size_t n)
{
    char quoted[FO_GTIDPOS_LEN * 2 + 8];
    unsigned ms = wait_ms != 0 ? wait_ms : run->st.c.t.relay_wait_ms;

    if (pos[0] == '\0' || fo_sql_quote(pos, quoted, sizeof(quoted)) != 0) {
        /* An unquotable position cannot happen for a parsed GTID list; a NULL result
         * then marks the replica as unknown rather than applied. */
        snprintf(q, n, pos[0] == '\0' ? "SELECT 0" : "SELECT NULL");
        return;
    }
    snprintf(q, n, "SELECT MASTER_GTID_WAIT(%s, %u.%03u)", quoted, ms / 1000, ms % 1000);
}

/* The statements of one group. buf holds generated text (wiped by the caller: it may
 * hold the replication password). Returns the number of statements. */
struct stmt_buf {
    char q[FO_GTIDPOS_LEN * 2 + 96];
    /* The longest CHANGE MASTER: a quoted host (2 * FO_HOST_LEN + 4), the credentials
     * (group_stmts' creds, 700), a heartbeat clause (48) and under 130 bytes of fixed
     * text: never truncated (a cut statement could drop MASTER_USE_GTID and still parse). */
    char change[2 * FO_HOST_LEN + 4 + 700 + 48 + 256];
};

/* ", MASTER_USER=.., MASTER_PASSWORD=.." when repl_user is configured, else "": the
 * replica keeps the account it uses (a repoint and a catch-up alike). The caller
 * wipes creds once the statement is built. */
static void repl_creds(const struct run *run, char *creds, size_t n)
{
    char u[FO_NAME_LEN * 2 + 4], pw[520];

    creds[0] = '\0';
    if (run->repl_user[0] == '\0' || run->repl_password[0] == '\0') return;
    quote(u, sizeof(u), run->repl_user);
    quote(pw, sizeof(pw), run->repl_password);
    snprintf(creds, n, ", MASTER_USER=%s, MASTER_PASSWORD=%s", u, pw);
    memset(pw, 0, sizeof(pw));
}

static unsigned group_stmts(struct run *run, const struct fo_foaction *a, const char *stmts[8], struct stmt_buf *b)
{
    char h[FO_HOST_LEN * 2 + 4], creds[700] = "", hb[48];
    unsigned n = 0;

    switch (a->group) {
    case FO_FG_STOP_IO_STATUS:
        stmts[n++] = "STOP SLAVE IO_THREAD";
        stmts[n++] = FO_SAMPLE_Q2;
        break;
    case FO_FG_GTID_WAIT:
        gtid_wait_stmt(run, a->pos, a->wait_ms, b->q, sizeof(b->q));
        stmts[n++] = b->q;
        break;
    case FO_FG_VARS: stmts[n++] = FO_SAMPLE_Q1; break;
    case FO_FG_STATUS: stmts[n++] = FO_SAMPLE_Q2; break;
    case FO_FG_PROMOTE_RESET: /* the point of no return: RESET SLAVE ALL deletes the relay log */
        stmts[n++] = "STOP SLAVE";
        stmts[n++] = "RESET SLAVE ALL";
        if (a->semi_sync) {
            stmts[n++] = "SET GLOBAL rpl_semi_sync_slave_enabled=0";
            stmts[n++] = "SET GLOBAL rpl_semi_sync_master_wait_point='AFTER_SYNC'";
            stmts[n++] = "SET GLOBAL rpl_semi_sync_master_enabled=1";
        }
        stmts[n++] = "SET GLOBAL read_only=0";
        break;
    case FO_FG_REPOINT:
        /* Replicas keep the credentials they use unless repl_user is configured. */
        quote(h, sizeof(h), run->st.c.new_host);
        repl_creds(run, creds, sizeof(creds));
        fo_fe_heartbeat_clause(fo_fe_heartbeat_ms(run->fe, run->cluster, a->host, a->port), hb, sizeof(hb));
        snprintf(b->change, sizeof(b->change),
                 "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%u%s, MASTER_USE_GTID=slave_pos%s%s", h,
                 run->st.c.new_port, creds, hb, a->demote ? ", MASTER_DEMOTE_TO_SLAVE=1" : "");
        if (a->demote) stmts[n++] = "SET GLOBAL read_only=1";
        /* co-primary hook (issue 14.1): a demoted active co-primary still replicates from
         * the passive (the ring) and CHANGE MASTER needs it stopped; on a server that is
         * no replica STOP SLAVE is only a note (1255). */
        stmts[n++] = "STOP SLAVE";
        stmts[n++] = b->change;
        if (a->semi_sync) {
            /* A replica (the demoted old primary above all) with semi-sync's source side
             * on would make each of its commits wait for an acknowledgement nobody sends
             * (found by tests/chaos for rejoin.c). */
            stmts[n++] = "SET GLOBAL rpl_semi_sync_master_enabled=0";
            stmts[n++] = "SET GLOBAL rpl_semi_sync_slave_enabled=1";
        }
        stmts[n++] = "START SLAVE";
        memset(creds, 0, sizeof(creds));
        break;
    case FO_FG_UNFENCE:
        if (a->semi_sync) stmts[n++] = "SET GLOBAL rpl_semi_sync_master_enabled=1";
        stmts[n++] = "SET GLOBAL read_only=0";
        break;
    case FO_FG_START_IO: stmts[n++] = "START SLAVE IO_THREAD"; break;
    case FO_FG_CATCHUP_START:
        /* Issue 13 item 2 (docs/catch-up.md): the chosen replica replicates from the most
         * advanced one, by GTID, with the replication account (as a repoint does). Its
         * relay log was applied (it is eligible), so CHANGE MASTER discards nothing. */
        quote(h, sizeof(h), a->src_host != NULL ? a->src_host : "");
        repl_creds(run, creds, sizeof(creds));
        fo_fe_heartbeat_clause(fo_fe_heartbeat_ms(run->fe, run->cluster, a->host, a->port), hb, sizeof(hb));
        snprintf(b->change, sizeof(b->change),
                 "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%u%s, MASTER_USE_GTID=slave_pos%s", h, a->src_port,
                 creds, hb);
        stmts[n++] = "STOP SLAVE";
        stmts[n++] = b->change;
        stmts[n++] = "START SLAVE";
        memset(creds, 0, sizeof(creds));
        break;
    case FO_FG_CATCHUP_STOP: stmts[n++] = "STOP SLAVE"; break;
    }
    return n;
}

static void sql_done(void *data, int status, unsigned myerrno, const char *error, const struct fo_sql_rows *rows)
{
    struct run_q *rq = data, **pp;
    struct run *run = rq->run;
    struct fo_foevent ev = {.type = FO_FE_SQL, .item = rq->item, .group = rq->group, .status = status};
    struct fo_sample *smp = NULL;
    char err[FO_ERRLEN];
    int rc = 0;

    (void)myerrno;
    for (pp = &run->qs; *pp != NULL && *pp != rq; pp = &(*pp)->next) {
    }
    if (*pp == rq) *pp = rq->next;
    free(rq);
    if (!run_resume(run)) return;
    ev.error = error;
    if (status == 0 && (ev.group == FO_FG_STOP_IO_STATUS || ev.group == FO_FG_STATUS || ev.group == FO_FG_VARS)) {
        /* Replies are parsed by the one module that reads MySQL (mysql/sample.h), into a
         * copy of the item's sample: the engine decides what the sample means. */
        if (ev.item >= run->st.n_items) {
            rc = fo_errf(err, FO_EINVAL, "item %u out of range", ev.item);
        } else if ((smp = malloc(sizeof(*smp))) == NULL) {
            rc = fo_errf(err, FO_ENOMEM, "out of memory");
        } else {
            *smp = run->st.items[ev.item].sample;
            if (ev.group != FO_FG_VARS)
                rc = fo_sample_parse_slave_status(smp, rows ? rows->n_rows : 0, rows ? rows->n_cols : 0,
                                                  rows ? rows->names : NULL, rows ? rows->values : NULL, err);
            else if (rows == NULL || rows->n_rows != 1)
                rc = fo_errf(err, FO_EPROTO, "no result");
            else
                rc = fo_sample_parse_vars(smp, rows->n_cols, rows->values, err);
        }
        ev.parse_error = rc != 0;
        ev.error = rc != 0 ? err : error;
        ev.sample = rc == 0 ? smp : NULL;
    }
    if (status == 0 && ev.group == FO_FG_GTID_WAIT)
        ev.wait = fo_fowait_parse(rows != NULL && rows->n_rows == 1 && rows->n_cols >= 1 ? rows->values[0] : NULL);
    feed(run, &ev);
    free(smp);
}

static void start_sql(struct run *run, const struct fo_foaction *a)
{
    struct fo_foevent ev = {.type = FO_FE_SQL, .item = a->item, .group = a->group, .status = FO_EIO};
    const char *stmts[8];
    struct fo_sql_opts opts;
    struct stmt_buf *b = calloc(1, sizeof(*b));
    struct run_q *rq = calloc(1, sizeof(*rq));
    unsigned n;

    if (b == NULL || rq == NULL) {
        free(b);
        free(rq);
        defer(run, &ev, "cannot start SQL: out of memory");
        return;
    }
    n = group_stmts(run, a, stmts, b);
    memset(&opts, 0, sizeof(opts));
    opts.connect_timeout_ms = a->connect_ms;
    opts.timeout_ms = a->timeout_ms;
    opts.tls = fo_config_cluster_tls(cfg_of(run), run->cluster);
    opts.tolerate[opts.n_tolerate++] = 1094; /* KILL of a connection that already ended */
    rq->run = run;
    rq->item = a->item;
    rq->group = a->group;
    rq->q = fo_sql_run(run->fe->ctl->loop, a->host, a->port, run->user, run->password, stmts, n, &opts, sql_done, rq);
    memset(b, 0, sizeof(*b));
    free(b);
    if (rq->q == NULL) {
        free(rq);
        defer(run, &ev, "cannot start SQL");
        return;
    }
    rq->next = run->qs;
    run->qs = rq;
    run->pending++;
}

/* ------------------------------------------------------------------ fence */

static void fence_done(void *data, const struct fo_fence_result *r)
{
    struct run *run = data;
    struct fo_foevent ev = {.type = FO_FE_FENCE};

    run->fence = NULL;
    if (!run_resume(run)) return;
    ev.status = r->status;
    ev.survived = r->survived;
    ev.gtid_binlog_pos = r->gtid_binlog_pos;
    ev.error = r->detail;
    /* Cancelled by revoke_done: say why in the step's history. */
    if (r->status == FO_ECANCELED && run->st.phase == FO_FP_FENCE && run->st.revoke_mysql_fenced)
        ev.error = "not waited for: the old primary's agent confirmed the fence";
    feed(run, &ev);
}

/* The SQL fence of the old primary (mysql/fence.h): read_only, every client session
 * killed, semi-sync master off, final position read back. */
static void start_fence(struct run *run, const struct fo_foaction *a)
{
    struct fo_foevent ev = {.type = FO_FE_FENCE, .status = FO_EIO};
    struct fo_fence_opts o;
    char err[FO_ERRLEN], text[FO_ERRLEN + 16];

    memset(&o, 0, sizeof(o));
    o.host = a->host;
    o.port = a->port;
    o.user = run->user;
    o.password = run->password;
    o.connect_timeout_ms = a->connect_ms;
    o.timeout_ms = a->timeout_ms;
    o.semi_sync_off = true;
    run->pending++;
    run->fence = fo_fence_start_tls(run->fe->ctl->loop, &o, fo_config_cluster_tls(cfg_of(run), run->cluster),
                                    fence_done, run, err);
    if (run->fence == NULL) {
        run->pending--;
        snprintf(text, sizeof(text), "not started: %s", err);
        defer(run, &ev, text);
    }
}

static void revoke_done(void *data, const struct fo_vipmgr_revoke_result *r)
{
    struct run *run = data;
    struct fo_foevent ev = {.type = FO_FE_REVOKE};
    bool sql_running, fenced = r->mysql_fenced;

    run->revoke = NULL;
    if (!run_resume(run)) return;
    ev.agent_reached = r->agent_reached;
    ev.released = r->released;
    ev.mysql_fenced = r->mysql_fenced;
    ev.lease_safe_at = r->lease_safe_at_ms;
    ev.error = r->detail;
    /* Read before feeding: while the SQL fence is in flight the run waits for it, so
     * it is still there after feed. */
    sql_running = run->fence != NULL;
    feed(run, &ev);
    /* The old primary's agent confirmed the fence: its own SQL fence of the local mysqld
     * succeeded, or the mysqld was stopped (SIGSTOP) and the agent killed it
     * (docs/fence-stopped.md). The controller's SQL fence adds nothing to that in a
     * failover; against a hung server it would only wait out its connect timeout. A
     * switchover still needs it: it reads the old primary's final position. */
    if (fenced && sql_running && !run->dead && run->fence != NULL && run->st.phase == FO_FP_FENCE &&
        run->st.c.kind != FO_FK_SWITCHOVER) {
        FO_INFO(MOD,
                "cluster %s epoch %llu: the old primary's agent confirmed the fence; not waiting for the SQL fence",
                run->cluster, (unsigned long long)epoch_of(run));
        fo_fence_cancel(run->fence);
    }
}

/* The old primary's agent revokes its VIP lease and fences its mysqld, at this
 * failover's epoch (controller/vip/vipmgr.h fo_vipmgr_revoke). */
static void start_revoke(struct run *run, const struct fo_foaction *a)
{
    struct fo_foevent ev = {.type = FO_FE_REVOKE};
    char err[FO_ERRLEN], text[FO_ERRLEN + 16];
    uint64_t now = uv_now(run->fe->ctl->loop);
    uint64_t safe = fo_vipmgr_lease_safe_at(run->fe->vip, run->cluster, a->host, a->port);
    uint64_t deadline = a->deadline_ms, floor = now + REVOKE_MIN_MS;

    /* No use waiting for the agent past the moment its lease has surely run out: an
     * answer then changes nothing (without one the fence goes on at that moment), and
     * an unreachable host's agent would hold the step for its whole timeout. A
     * reachable agent answers in milliseconds: REVOKE_MIN_MS is its floor. */
    if (safe != 0 && safe < floor) safe = floor;
    if (safe != 0 && safe < deadline) deadline = safe;
    run->pending++;
    run->revoke =
        fo_vipmgr_revoke(run->fe->vip, run->cluster, a->host, a->port, epoch_of(run), deadline, revoke_done, run, err);
    if (run->revoke == NULL) {
        run->pending--;
        snprintf(text, sizeof(text), "not started: %s", err);
        ev.lease_safe_at = fo_vipmgr_lease_safe_at(run->fe->vip, run->cluster, a->host, a->port);
        defer(run, &ev, text);
    }
}

static void wait_closed(uv_handle_t *h)
{
    struct run_wait *w = h->data;
    struct run *run = w->run;
    bool fired = w->fired;
    struct fo_foevent ev = {.type = FO_FE_TIMER};

    free(w);
    run->wait = NULL;
    if (!run_resume(run)) return;
    if (fired) feed(run, &ev);
}

static void wait_fired(uv_timer_t *t)
{
    struct run_wait *w = t->data;

    w->fired = true;
    uv_close((uv_handle_t *)&w->t, wait_closed);
}

static void start_wait(struct run *run, const struct fo_foaction *a)
{
    uv_loop_t *loop = run->fe->ctl->loop;
    uint64_t now = uv_now(loop), in = a->at_ms > now ? a->at_ms - now : 0;
    struct run_wait *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        FO_ERROR(MOD, "cluster %s: out of memory starting a timer; dropping the run", run->cluster);
        fo_run_kill(run);
        return;
    }
    w->run = run;
    uv_timer_init(loop, &w->t);
    w->t.data = w;
    run->wait = w;
    run->pending++;
    FO_WARN(MOD,
            "cluster %s epoch %llu: old primary %s:%u not fenced by any path; waiting %llu ms for its lease to run out",
            run->cluster, (unsigned long long)epoch_of(run), a->host, a->port, (unsigned long long)in);
    uv_timer_start(&w->t, wait_fired, in, 0);
}

/* ------------------------------------------------------------------ vip */

static void vip_moved(void *data, int status, const char *detail)
{
    struct run *run = data;
    struct fo_foevent ev = {.type = FO_FE_VIP, .status = status, .error = detail};

    run->vipmove = NULL;
    if (!run_resume(run)) return;
    feed(run, &ev);
}

/* DESIGN.md §6 step 6: the old holder releases the VIP (or its lease surely runs
 * out), the new primary is recorded as holder, then its agent acquires the VIP at this
 * failover's epoch (controller/vip/vipmgr.h). */
static void start_vip(struct run *run, const struct fo_foaction *a)
{
    struct fo_foevent ev = {.type = FO_FE_VIP, .status = FO_EIO, .not_started = true};
    char err[FO_ERRLEN];

    run->pending++;
    run->vipmove = fo_vipmgr_move(run->fe->vip, run->cluster, a->host, a->port, epoch_of(run), a->deadline_ms,
                                  vip_moved, run, err);
    if (run->vipmove == NULL) {
        run->pending--;
        defer(run, &ev, err);
    }
}

/* ------------------------------------------------------------------ salvage */

static void salvage_done(void *data, const struct fo_salvage_result *r)
{
    struct run *run = data;
    struct fo_foevent ev = {.type = FO_FE_SALVAGE};

    run->salvage = NULL;
    if (!run_resume(run)) return;
    ev.status = r->status;
    ev.error = r->detail;
    ev.transactions = r->transactions;
    ev.old_known_pos = run->salvage_old_pos;
    FO_INFO(MOD, "cluster %s epoch %llu: salvage: %s", run->cluster, (unsigned long long)epoch_of(run), r->detail);
    feed(run, &ev);
    if (run->dead) return;
    /* The engine judged it: count what it recorded. */
    if (run->st.salvaged) run->fe->salvage_txns += run->st.salvaged_txns;
    if (!run->st.salvaged) run->fe->salvage_failed++;
    if (!run->st.salvaged && run->st.lost_known) run->fe->salvage_lost_txns += run->st.lost_txns;
}

/* Issue 13 (controller/act/salvage.h): the old primary's binlog tail through its agent,
 * applied to the chosen replica as the cluster's account. The old primary's last probed
 * position goes with the result: with nothing salvaged, it bounds what may be lost. */
static void start_salvage(struct run *run, const struct fo_foaction *a)
{
    struct fo_foevent ev = {.type = FO_FE_SALVAGE, .status = FO_EUNREACHABLE};
    struct fo_config *cfg = cfg_of(run);
    struct fo_salvage_opts o;
    struct fo_store_cluster c;
    struct fo_watch_view v;
    char err[FO_ERRLEN], text[FO_ERRLEN + 32];

    run->fe->salvage_runs++;
    run->salvage_old_pos[0] = '\0';
    if (fo_monitor_view(run->fe->ctl, run->cluster, a->host, a->port, &v) && v.has_sample && v.sample != NULL)
        snprintf(run->salvage_old_pos, sizeof(run->salvage_old_pos), "%s", v.sample->gtid_binlog_pos);
    ev.old_known_pos = run->salvage_old_pos;
    if (a->skip != NULL) return defer(run, &ev, a->skip);
    if (fo_store_get_cluster(run->fe->ctl->store, run->cluster, &c) != 0) {
        ev.status = FO_ENOTFOUND;
        return defer(run, &ev, "cluster vanished");
    }
    memset(&o, 0, sizeof(o));
    o.cluster = run->cluster;
    o.epoch = epoch_of(run);
    o.agent_host = a->host;
    o.agent_port = c.agent_port != 0 ? c.agent_port : FO_DEFAULT_AGENT_PORT;
    o.host = run->st.c.new_host;
    o.port = run->st.c.new_port;
    o.user = run->user;
    o.password = run->password;
    o.mysql_tls = fo_config_cluster_tls(cfg, run->cluster);
    o.start_gtid = a->pos;
    o.probe_ms = 2 * a->connect_ms + 1000;
    o.timeout_ms = a->timeout_ms;
    o.tls = &cfg->tls;
    o.tls_files = run->fe->ctl->tls_files;
    run->pending++;
    run->salvage = fo_salvage_start(run->fe->ctl->loop, &o, salvage_done, run, err);
    if (run->salvage == NULL) {
        run->pending--;
        ev.status = FO_EIO;
        snprintf(text, sizeof(text), "not started: %s", err);
        defer(run, &ev, text);
    }
}

/* ------------------------------------------------------------------ actions */

static void perform(struct run *run, const struct fo_foaction *a)
{
    char err[FO_ERRLEN];

    switch (a->type) {
    case FO_FA_BARRIER:
        run->pending++;
        if (fo_raft_barrier(&run->fe->ctl->raft, barrier_done, run, err) != 0) {
            run->pending--;
            fo_run_kill(run);
        }
        return;
    case FO_FA_COMMIT_STEP: commit_step(run, a); return;
    case FO_FA_COMMIT_END: commit_end(run, a); return;
    case FO_FA_SQL: start_sql(run, a); return;
    case FO_FA_FENCE: start_fence(run, a); return;
    case FO_FA_REVOKE: start_revoke(run, a); return;
    case FO_FA_WAIT_UNTIL: start_wait(run, a); return;
    case FO_FA_PRE_HOOK: start_pre_hook(run, a); return;
    case FO_FA_MOVE_VIP: start_vip(run, a); return;
    case FO_FA_POST_HOOK: run_post_hook(run, a->success); return;
    case FO_FA_FINISHED: finished(run, a); return;
    case FO_FA_SALVAGE: start_salvage(run, a); return;
    case FO_FA_STOP:
        FO_WARN(MOD, "cluster %s epoch %llu: %s", run->cluster, (unsigned long long)epoch_of(run), a->detail);
        fo_run_kill(run);
        return;
    }
}
