/* The failover engine's table and step function (controller/decide/fostep.h). Pure:
 * every function here changes the state and appends actions; nothing else. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/decide/candidate.h"
#include "controller/decide/fostep.h"
#include "controller/decide/gtid.h"

/* THE table of the failover engine (DESIGN.md §6): one row per step, in order.
 * Columns: step, name, recorded in raft, idempotent (a new leader may redo it), a
 * barrier first, which bound applies, point of no return, how a switchover differs. */
#define ROW(st, name, raft, idem, barrier, bound, pnr, sw) \
    {                                                      \
        st, name, raft, idem, barrier, bound, pnr, sw      \
    }
static const struct fo_fostep_def table[FO_FS_COUNT] = {
    ROW(FO_FS_BEGIN, "begin", true, true, false, FO_FB_NONE, false, NULL),
    ROW(FO_FS_PRE_HOOK, "pre_hook", true, true, true, FO_FB_HOOK, false, NULL),
    ROW(FO_FS_FENCE, "fence", true, true, true, FO_FB_FENCE, false,
        "the SQL fence must succeed and yields the old primary's final position; otherwise unfence, ABORTED"),
    ROW(FO_FS_CHOOSE, "choose", true, true, true, FO_FB_RELAY_WAIT, false,
        "IO threads are not stopped; replicas must reach the old primary's final position (a resumed run fences "
        "again by SQL to read it), so none is behind another: no catch-up; no candidate: unfence, ABORTED"),
    /* RESET SLAVE ALL deletes the relay log: it runs only after a second wait said
     * everything received was applied. */
    ROW(FO_FS_PROMOTE, "promote", true, true, true, FO_FB_RELAY_WAIT, true,
        "no binlog salvage: the old primary is alive and its final position was waited for"),
    ROW(FO_FS_REPOINT, "repoint", true, true, true, FO_FB_STEP, false,
        "the old primary is repointed too, with MASTER_DEMOTE_TO_SLAVE=1"),
    ROW(FO_FS_VIP, "vip", true, true, true, FO_FB_STEP, false, NULL),
    ROW(FO_FS_END, "end", true, true, false, FO_FB_NONE, false, NULL),
};
#undef ROW

const struct fo_fostep_def *fo_fostep_table(void)
{
    return table;
}

const char *fo_fostep_name(int step)
{
    return step >= 0 && step < FO_FS_COUNT ? table[step].name : "?";
}

const char *fo_fogroup_name(enum fo_fogroup g)
{
    static const char *const names[] = {"stop_io_and_sample", "gtid_wait",   "vars",    "status",
                                        "promote_reset",      "repoint",     "unfence", "start_io",
                                        "catchup_start",      "catchup_stop"};
    return (unsigned)g < sizeof(names) / sizeof(names[0]) ? names[g] : "?";
}

const char *fo_fophase_name(enum fo_fophase p)
{
    static const char *const names[FO_FP_COUNT] = {"idle",    "barrier", "hook",   "fence",       "lease_wait",
                                                   "refence", "batch",   "vip",    "commit_step", "commit_end",
                                                   "done",    "stopped", "salvage"};
    return (unsigned)p < FO_FP_COUNT ? names[p] : "?";
}

#define P(x) (1u << (x))
/* Allowed phase transitions: allowed[from] has bit `to`. STOPPED is reachable from
 * every live phase (leadership can go at any time). */
static const unsigned allowed[FO_FP_COUNT] = {
    [FO_FP_IDLE] = P(FO_FP_BARRIER) | P(FO_FP_COMMIT_END),
    [FO_FP_BARRIER] =
        P(FO_FP_HOOK) | P(FO_FP_FENCE) | P(FO_FP_REFENCE) | P(FO_FP_BATCH) | P(FO_FP_VIP) | P(FO_FP_COMMIT_END),
    [FO_FP_HOOK] = P(FO_FP_COMMIT_STEP) | P(FO_FP_COMMIT_END),
    [FO_FP_FENCE] = P(FO_FP_COMMIT_STEP) | P(FO_FP_LEASE_WAIT) | P(FO_FP_BATCH) | P(FO_FP_COMMIT_END),
    [FO_FP_LEASE_WAIT] = P(FO_FP_COMMIT_STEP) | P(FO_FP_COMMIT_END),
    [FO_FP_REFENCE] = P(FO_FP_BATCH) | P(FO_FP_COMMIT_END),
    [FO_FP_BATCH] = P(FO_FP_BATCH) | P(FO_FP_COMMIT_STEP) | P(FO_FP_COMMIT_END) | P(FO_FP_SALVAGE) | P(FO_FP_BARRIER),
    [FO_FP_SALVAGE] = P(FO_FP_BATCH),
    [FO_FP_VIP] = P(FO_FP_COMMIT_STEP),
    [FO_FP_COMMIT_STEP] = P(FO_FP_BARRIER) | P(FO_FP_COMMIT_END),
    [FO_FP_COMMIT_END] = P(FO_FP_DONE),
    [FO_FP_DONE] = 0,
    [FO_FP_STOPPED] = 0,
};

/* The one setter of the phase (STYLE.md §6): a transition outside the table is a bug
 * in this file, not an input error. */
static void set_phase(struct fo_fostate *s, enum fo_fophase to)
{
    bool ok = to == FO_FP_STOPPED ? !fo_fostate_over(s) : (allowed[s->phase] & P(to)) != 0;

    assert(ok);
    (void)ok;
    s->phase = to;
}

bool fo_fostate_over(const struct fo_fostate *s)
{
    return s->phase == FO_FP_DONE || s->phase == FO_FP_STOPPED;
}

enum fo_fowait fo_fowait_parse(const char *value)
{
    if (value == NULL) return FO_FW_NULL;
    if (strcmp(value, "0") == 0) return FO_FW_REACHED;
    if (strcmp(value, "-1") == 0) return FO_FW_TIMEOUT;
    return FO_FW_OTHER;
}

int fo_fostate_init(struct fo_fostate *s, const struct fo_fostate_cfg *cfg, char err[FO_ERRLEN])
{
    if (cfg->kind != FO_FK_AUTO && cfg->kind != FO_FK_MANUAL && cfg->kind != FO_FK_SWITCHOVER)
        return fo_errf(err, FO_EINVAL, "unknown failover kind %d", (int)cfg->kind);
    if (cfg->last_step < 0 || cfg->last_step > FO_FS_VIP)
        return fo_errf(err, FO_EINVAL, "unknown last step %d", cfg->last_step);
    memset(s, 0, sizeof(*s));
    s->c = *cfg;
    s->last_step = cfg->last_step;
    return 0;
}

void fo_fostate_free(struct fo_fostate *s)
{
    free(s->items);
    free(s->inst);
    s->items = NULL;
    s->inst = NULL;
    s->n_items = s->n_inst = 0;
}

/* ------------------------------------------------------------------ actions */

static struct fo_foaction *push(struct fo_foactions *out, enum fo_foact_type type)
{
    struct fo_foaction *a;

    assert(out->n < FO_FOACT_MAX);
    a = &out->a[out->n++];
    memset(a, 0, sizeof(*a));
    a->type = type;
    return a;
}

static bool is_switchover(const struct fo_fostate *s)
{
    return s->c.kind == FO_FK_SWITCHOVER;
}

static bool same(const char *h1, uint16_t p1, const char *h2, uint16_t p2)
{
    return p1 == p2 && strcmp(h1, h2) == 0;
}

static void end_run(struct fo_fostate *s, struct fo_foactions *out, enum fo_foresult result, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Proposes FailoverEnd; the run is over once it is committed. */
static void end_run(struct fo_fostate *s, struct fo_foactions *out, enum fo_foresult result, const char *fmt, ...)
{
    char text[sizeof(s->detail)];
    struct fo_foaction *a;
    va_list ap;

    /* Formatted aside first: callers pass the state's own buffers as arguments. */
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    memcpy(s->detail, text, sizeof(text));
    s->end_result = result;
    set_phase(s, FO_FP_COMMIT_END);
    a = push(out, FO_FA_COMMIT_END);
    a->result = result;
    a->detail = s->detail;
}

static void step_done(struct fo_fostate *s, struct fo_foactions *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Proposes FailoverStepDone for the current step; the next starts once committed. */
static void step_done(struct fo_fostate *s, struct fo_foactions *out, const char *fmt, ...)
{
    char text[sizeof(s->detail)];
    struct fo_foaction *a;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    memcpy(s->detail, text, sizeof(text));
    set_phase(s, FO_FP_COMMIT_STEP);
    a = push(out, FO_FA_COMMIT_STEP);
    a->step = s->current;
    a->detail = s->detail;
    a->names_new = s->current == FO_FS_CHOOSE; /* only choose names the new primary */
}

static void stop(struct fo_fostate *s, struct fo_foactions *out, const char *why)
{
    struct fo_foaction *a;

    set_phase(s, FO_FP_STOPPED);
    a = push(out, FO_FA_STOP);
    a->detail = why;
}

static bool applies(const struct fo_fostate *s, int step)
{
    if (step == FO_FS_PRE_HOOK) return s->c.has_pre_hook;
    if (step == FO_FS_VIP) return s->c.has_vip;
    return step > FO_FS_BEGIN && step < FO_FS_END;
}

/* The step after the last committed one that applies, or FO_FS_END. */
static int next_step(const struct fo_fostate *s)
{
    int i;

    for (i = s->last_step + 1; i < FO_FS_END; i++)
        if (applies(s, i)) return i;
    return FO_FS_END;
}

/* DESIGN.md §6: every step begins with a barrier; after the last, the end. */
static void drive(struct fo_fostate *s, struct fo_foactions *out)
{
    if (next_step(s) == FO_FS_END) {
        /* The end's detail carries the salvage's outcome (issue 13 item 4: history shows
         * it for every failover) besides the last step's. */
        end_run(s, out, FO_FR_SUCCESS, "%s:%u promoted; %.380s%s%.380s%s%.200s", s->c.new_host, s->c.new_port,
                s->catchup_detail, s->catchup_detail[0] ? "; " : "", s->salvage_detail,
                s->salvage_detail[0] ? "; " : "", s->detail);
        return;
    }
    set_phase(s, FO_FP_BARRIER);
    push(out, FO_FA_BARRIER);
}

/* ------------------------------------------------------------------ batches */

/* A new batch of n items (replacing the last one). Returns -1 when out of memory. */
static int batch_new(struct fo_fostate *s, enum fo_fobatch kind, unsigned n)
{
    free(s->items);
    s->items = calloc(n ? n : 1, sizeof(*s->items));
    s->n_items = 0;
    if (s->items == NULL) return -1;
    s->n_items = n;
    s->items_left = n;
    s->batch = kind;
    return 0;
}

static struct fo_foaction *sql(struct fo_fostate *s, struct fo_foactions *out, unsigned i, enum fo_fogroup g,
                               enum fo_fostage stage)
{
    struct fo_foitem *it = &s->items[i];
    struct fo_foaction *a = push(out, FO_FA_SQL);

    it->stage = stage;
    a->item = i;
    a->group = g;
    a->host = it->host;
    a->port = it->port;
    a->connect_ms = s->c.t.connect_ms;
    a->timeout_ms = g == FO_FG_GTID_WAIT ? s->c.t.relay_wait_ms + s->c.t.step_ms : s->c.t.step_ms;
    a->semi_sync = s->c.semi_sync;
    return a;
}

static void gtid_wait(struct fo_fostate *s, struct fo_foactions *out, unsigned i, const char *pos,
                      enum fo_fostage stage)
{
    struct fo_foitem *it = &s->items[i];

    if (pos != it->io_pos) snprintf(it->io_pos, sizeof(it->io_pos), "%s", pos);
    sql(s, out, i, FO_FG_GTID_WAIT, stage)->pos = it->io_pos;
}

static void batch_done(struct fo_fostate *s, struct fo_foactions *out);

static void item_finish(struct fo_fostate *s, struct fo_foactions *out, unsigned i, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void item_finish(struct fo_fostate *s, struct fo_foactions *out, unsigned i, bool ok, const char *fmt, ...)
{
    struct fo_foitem *it = &s->items[i];
    va_list ap;

    it->stage = FO_FI_DONE;
    it->ok = ok;
    va_start(ap, fmt);
    vsnprintf(it->note, sizeof(it->note), fmt, ap);
    va_end(ap);
    if (--s->items_left == 0) batch_done(s, out);
}

/* "host:port note; host:port note..." of the batch's items into o. */
static void join_notes(const struct fo_fostate *s, char *o, size_t n)
{
    size_t off = 0;
    unsigned i;

    o[0] = '\0';
    for (i = 0; i < s->n_items; i++) {
        int k = snprintf(o + off, n - off, "%s%s:%u %s", i ? "; " : "", s->items[i].host, s->items[i].port,
                         s->items[i].note);
        if (k < 0 || (size_t)k >= n - off) break;
        off += (size_t)k;
    }
}

/* A batch with no items is done at once. */
static void batch_start_empty(struct fo_fostate *s, struct fo_foactions *out)
{
    if (s->n_items == 0) batch_done(s, out);
}

/* ------------------------------------------------------------------ abort paths */

/* A switchover that cannot promote anyone gives the old primary its writes back:
 * nothing else was changed yet (replicas were only waited for). */
static void unfence_and_end(struct fo_fostate *s, struct fo_foactions *out, const char *summary, const char *why)
{
    snprintf(s->abort_why, sizeof(s->abort_why), "%.300s (%.700s)", summary, why);
    if (batch_new(s, FO_FBATCH_UNFENCE, 1) != 0) return end_run(s, out, FO_FR_FAILED, "out of memory");
    snprintf(s->items[0].host, sizeof(s->items[0].host), "%s", s->c.old_host);
    s->items[0].port = s->c.old_port;
    set_phase(s, FO_FP_BATCH);
    sql(s, out, 0, FO_FG_UNFENCE, FO_FI_UNFENCE);
}

/* A failover that found no candidate gives every replica whose IO thread it stopped
 * its replication back (they reconnect when the old primary returns), then ends
 * FAILED: a failed attempt must leave the topology as it found it. A replica whose SQL
 * thread is stopped keeps its IO thread stopped: starting it would make MariaDB discard
 * the relay log (its unapplied transactions); rejoin leaves it to the DBA too. */
static void restart_io_and_end(struct fo_fostate *s, struct fo_foactions *out)
{
    struct fo_foinst *old = calloc(s->n_items ? s->n_items : 1, sizeof(*old));
    unsigned n = 0, i;

    if (old == NULL) return end_run(s, out, FO_FR_FAILED, "%.600s; out of memory restarting IO threads", s->abort_why);
    for (i = 0; i < s->n_items; i++)
        if (s->items[i].io_stopped) {
            memcpy(old[n].host, s->items[i].host, sizeof(old[n].host));
            old[n++].port = s->items[i].port;
        }
    if (batch_new(s, FO_FBATCH_RESTART_IO, n) != 0) {
        free(old);
        return end_run(s, out, FO_FR_FAILED, "%.600s; out of memory restarting IO threads", s->abort_why);
    }
    for (i = 0; i < n; i++) {
        memcpy(s->items[i].host, old[i].host, sizeof(old[i].host));
        s->items[i].port = old[i].port;
    }
    free(old);
    set_phase(s, FO_FP_BATCH);
    for (i = 0; i < n; i++) sql(s, out, i, FO_FG_START_IO, FO_FI_START_IO);
    batch_start_empty(s, out);
}

/* ------------------------------------------------------------------ steps */

static void start_pre_hook(struct fo_fostate *s, struct fo_foactions *out)
{
    struct fo_foaction *a;

    set_phase(s, FO_FP_HOOK);
    a = push(out, FO_FA_PRE_HOOK);
    a->timeout_ms = s->c.t.hook_ms;
}

static struct fo_foaction *sql_fence(struct fo_fostate *s, struct fo_foactions *out)
{
    struct fo_foaction *a = push(out, FO_FA_FENCE);

    a->host = s->c.old_host;
    a->port = s->c.old_port;
    a->connect_ms = s->c.t.connect_ms;
    a->timeout_ms = s->c.t.step_ms;
    return a;
}

/* DESIGN.md §6 step 2: the SQL fence and the agent's revoke run at once. */
static void start_fence(struct fo_fostate *s, struct fo_foactions *out, uint64_t now)
{
    unsigned agent_ms = s->c.t.step_ms < 2 * s->c.t.connect_ms + 1000 ? s->c.t.step_ms : 2 * s->c.t.connect_ms + 1000;
    struct fo_foaction *a;

    s->fence_left = 2;
    s->fence_waited = false;
    s->fence_status = FO_EIO;
    s->fence_survived = 0;
    s->fence_detail[0] = s->revoke_detail[0] = '\0';
    s->revoke_released = s->revoke_mysql_fenced = false;
    s->lease_safe_at = 0;
    set_phase(s, FO_FP_FENCE);
    sql_fence(s, out);
    a = push(out, FO_FA_REVOKE);
    a->host = s->c.old_host;
    a->port = s->c.old_port;
    a->deadline_ms = now + agent_ms;
}

/* Each replica: stop its IO thread (failover) so that nothing more arrives from the
 * old primary, wait (bounded) until its SQL thread applied what it received, then
 * take a fresh sample. A switchover waits for the old primary's final position
 * instead. */
static void choose_start(struct fo_fostate *s, struct fo_foactions *out)
{
    unsigned n = 0, i;

    if (batch_new(s, FO_FBATCH_CHOOSE, s->n_inst) != 0) return end_run(s, out, FO_FR_FAILED, "out of memory");
    for (i = 0; i < s->n_inst; i++) {
        if (same(s->inst[i].host, s->inst[i].port, s->c.old_host, s->c.old_port)) continue;
        snprintf(s->items[n].host, sizeof(s->items[n].host), "%s", s->inst[i].host);
        s->items[n++].port = s->inst[i].port;
    }
    s->n_items = s->items_left = n;
    set_phase(s, FO_FP_BATCH);
    for (i = 0; i < n; i++) {
        if (is_switchover(s))
            gtid_wait(s, out, i, s->old_pos, FO_FI_WAIT);
        else
            sql(s, out, i, FO_FG_STOP_IO_STATUS, FO_FI_STOP_IO);
    }
    batch_start_empty(s, out);
}

static void start_choose(struct fo_fostate *s, struct fo_foactions *out)
{
    /* A resumed switchover lost the position read while fencing: fence again by SQL
     * (idempotent; the old primary is alive and read-only in a switchover) and read it. */
    if (is_switchover(s) && !s->old_pos_read) {
        set_phase(s, FO_FP_REFENCE);
        sql_fence(s, out);
        return;
    }
    choose_start(s, out);
}

/* Promote: stop receiving, wait until the relay log is applied (its own statement,
 * checked), then reset replication and open for writes. */
static void start_promote(struct fo_fostate *s, struct fo_foactions *out)
{
    if (batch_new(s, FO_FBATCH_PROMOTE, 1) != 0) return end_run(s, out, FO_FR_FAILED, "out of memory");
    snprintf(s->items[0].host, sizeof(s->items[0].host), "%s", s->c.new_host);
    s->items[0].port = s->c.new_port;
    set_phase(s, FO_FP_BATCH);
    sql(s, out, 0, FO_FG_STOP_IO_STATUS, FO_FI_PROMOTE_STOP);
}

/* Every other instance follows the new primary. The old primary of a switchover is
 * demoted with MASTER_DEMOTE_TO_SLAVE=1 and needs the replication account. */
static void start_repoint(struct fo_fostate *s, struct fo_foactions *out)
{
    unsigned n = 0, i;

    if (batch_new(s, FO_FBATCH_REPOINT, s->n_inst) != 0) return end_run(s, out, FO_FR_FAILED, "out of memory");
    for (i = 0; i < s->n_inst; i++) {
        const struct fo_foinst *in = &s->inst[i];
        if (same(in->host, in->port, s->c.new_host, s->c.new_port)) continue;
        if (!is_switchover(s) && same(in->host, in->port, s->c.old_host, s->c.old_port)) continue;
        snprintf(s->items[n].host, sizeof(s->items[n].host), "%s", in->host);
        s->items[n++].port = in->port;
    }
    s->n_items = s->items_left = n;
    set_phase(s, FO_FP_BATCH);
    for (i = 0; i < n; i++) {
        bool demote = same(s->items[i].host, s->items[i].port, s->c.old_host, s->c.old_port);
        if (demote && !s->c.has_repl_creds) {
            s->items[i].stage = FO_FI_REPOINT;
            item_finish(s, out, i, false, "left read-only: repl_user/repl_password_file not configured");
            continue;
        }
        sql(s, out, i, FO_FG_REPOINT, FO_FI_REPOINT)->demote = demote;
    }
    batch_start_empty(s, out);
}

static void start_vip(struct fo_fostate *s, struct fo_foactions *out, uint64_t now)
{
    struct fo_foaction *a;

    set_phase(s, FO_FP_VIP);
    a = push(out, FO_FA_MOVE_VIP);
    a->host = s->c.new_host;
    a->port = s->c.new_port;
    a->deadline_ms = now + s->c.t.step_ms;
}

static void catch_up_begin(struct fo_fostate *s, struct fo_foactions *out);

static int on_barrier(struct fo_fostate *s, const struct fo_foevent *ev, uint64_t now, struct fo_foactions *out)
{
    struct fo_foinst *inst;

    if (ev->status != 0) {
        stop(s, out, "leadership not confirmed before a side effect; stopping here");
        return 0;
    }
    if (s->cu_barrier) { /* inside choose: the instance list of the step stays */
        catch_up_begin(s, out);
        return 0;
    }
    inst = calloc(ev->n_inst ? ev->n_inst : 1, sizeof(*inst));
    if (inst == NULL) {
        end_run(s, out, FO_FR_FAILED, "out of memory");
        return 0;
    }
    if (ev->n_inst) memcpy(inst, ev->inst, ev->n_inst * sizeof(*inst));
    free(s->inst);
    s->inst = inst;
    s->n_inst = ev->n_inst;
    s->current = next_step(s);
    switch (s->current) {
    case FO_FS_PRE_HOOK: start_pre_hook(s, out); break;
    case FO_FS_FENCE: start_fence(s, out, now); break;
    case FO_FS_CHOOSE: start_choose(s, out); break;
    case FO_FS_PROMOTE: start_promote(s, out); break;
    case FO_FS_REPOINT: start_repoint(s, out); break;
    case FO_FS_VIP: start_vip(s, out, now); break;
    default: assert(0 && "barrier without a next step"); break;
    }
    return 0;
}

/* ------------------------------------------------------------------ fence */

static void fence_finish(struct fo_fostate *s, struct fo_foactions *out)
{
    bool sql_ok = s->fence_status == 0 && s->fence_survived == 0;
    bool confirmed = sql_ok || s->revoke_mysql_fenced || s->revoke_released;
    char text[sizeof(s->detail)];
    struct fo_foaction *a;

    snprintf(text, sizeof(text), "SQL: %.400s; agent: %.400s", s->fence_detail, s->revoke_detail);
    if (is_switchover(s)) {
        if (!sql_ok) return unfence_and_end(s, out, "the old primary could not be fenced", text);
        s->old_pos_read = true;
        return step_done(s, out, "%s", text);
    }
    /* Go on when the mysqld is fenced by either path, or the VIP is gone from its host
     * (its mysqld then is dead or hung: FenceMysql failed), or there is no lease to wait
     * for; otherwise wait until the lease has surely run out: the agent then drops the
     * VIP and makes its mysqld read-only by itself (DESIGN.md §7). */
    if (confirmed || s->fence_waited || s->lease_safe_at == 0)
        return step_done(s, out, "%s%s", text,
                         s->fence_waited ? "; nothing answered: waited until the old lease surely ran out"
                         : confirmed     ? ""
                                         : "; no VIP lease to wait for");
    set_phase(s, FO_FP_LEASE_WAIT);
    a = push(out, FO_FA_WAIT_UNTIL);
    a->at_ms = s->lease_safe_at;
    a->host = s->c.old_host;
    a->port = s->c.old_port;
}

static int on_fence(struct fo_fostate *s, const struct fo_foevent *ev, struct fo_foactions *out)
{
    const char *detail = ev->error ? ev->error : "";

    if (s->phase == FO_FP_REFENCE) {
        if (ev->status != 0 || ev->survived != 0)
            return unfence_and_end(s, out, "the old primary's final position cannot be read", detail), 0;
        snprintf(s->old_pos, sizeof(s->old_pos), "%s", ev->gtid_binlog_pos ? ev->gtid_binlog_pos : "");
        s->old_pos_read = true;
        choose_start(s, out);
        return 0;
    }
    if (s->phase != FO_FP_FENCE || s->fence_detail[0] != '\0') return FO_EINVAL;
    s->fence_status = ev->status;
    s->fence_survived = ev->survived;
    snprintf(s->fence_detail, sizeof(s->fence_detail), "%s", detail[0] ? detail : "-");
    /* Only a switchover's candidate choice needs the final position (as before). */
    if (is_switchover(s))
        snprintf(s->old_pos, sizeof(s->old_pos), "%s", ev->gtid_binlog_pos ? ev->gtid_binlog_pos : "");
    if (--s->fence_left == 0) fence_finish(s, out);
    return 0;
}

static int on_revoke(struct fo_fostate *s, const struct fo_foevent *ev, struct fo_foactions *out)
{
    const char *detail = ev->error ? ev->error : "";

    if (s->phase != FO_FP_FENCE || s->revoke_detail[0] != '\0') return FO_EINVAL;
    s->revoke_released = ev->released;
    s->revoke_mysql_fenced = ev->mysql_fenced;
    s->revoke_known = true;
    s->revoke_reached = ev->agent_reached || ev->released || ev->mysql_fenced;
    s->lease_safe_at = ev->released ? 0 : ev->lease_safe_at;
    snprintf(s->revoke_detail, sizeof(s->revoke_detail), "%s", detail[0] ? detail : "-");
    if (--s->fence_left == 0) fence_finish(s, out);
    return 0;
}

/* ------------------------------------------------------------------ choose */

static const char *wait_note(enum fo_fowait w)
{
    switch (w) {
    case FO_FW_REACHED: return "";
    case FO_FW_TIMEOUT: return "relay log not applied: MASTER_GTID_WAIT timed out";
    case FO_FW_NULL: return "relay log state unknown: MASTER_GTID_WAIT returned NULL";
    default: return "relay log state unknown: MASTER_GTID_WAIT returned ?";
    }
}

/* True if a replica skipped for its unapplied relay log received transactions the
 * chosen one lacks: promoting it would drop them (repointing that replica deletes its
 * relay log), and with semi-sync they may have been acknowledged. An automatic
 * failover then stops (recorded; an operator's `failoverctl failover --to` may still
 * choose to go on). why gets the replica and its received position. */
static bool relay_only_lost(const struct fo_fostate *s, int chosen, char *why, size_t n)
{
    struct fo_mariadb_pos cur, io;
    char err[FO_ERRLEN];
    enum fo_gtid_cmp r;
    unsigned i;

    if (fo_gtid_mariadb_parse(s->items[chosen].sample.gtid_current_pos, &cur, err) != 0) return false;
    for (i = 0; i < s->n_items; i++) {
        const struct fo_foitem *it = &s->items[i];
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

static const struct fo_foinst *inst_of(const struct fo_fostate *s, const char *host, uint16_t port)
{
    unsigned i;

    for (i = 0; i < s->n_inst; i++)
        if (same(s->inst[i].host, s->inst[i].port, host, port)) return &s->inst[i];
    return NULL;
}

/* ------------------------------------------------------------------ catch-up */

/* Catch-up (issue 13 item 2, fostep.h, docs/catch-up.md). It reuses the choose
 * batch's items: cu_item (the rule's choice) replicates from cu_src (the most
 * advanced) until it has cu_src_pos. Pure like the rest: the deadline is a monotonic
 * time computed from the events' now_ms. */
#define CU_SLICE_MS 1000u /* the longest MASTER_GTID_WAIT between two status checks */
#define CU_SLICE_MIN_MS 100u

static void catch_up_wait(struct fo_fostate *s, struct fo_foactions *out)
{
    uint64_t left = s->cu_deadline > s->now_ms ? s->cu_deadline - s->now_ms : 0;
    unsigned slice = left < CU_SLICE_MS ? (unsigned)left : CU_SLICE_MS;
    struct fo_foaction *a;

    if (slice < CU_SLICE_MIN_MS) slice = CU_SLICE_MIN_MS;
    a = sql(s, out, s->cu_item, FO_FG_GTID_WAIT, FO_FI_CU_WAIT);
    a->pos = s->cu_src_pos;
    a->wait_ms = slice;
    a->timeout_ms = slice + s->c.t.step_ms;
}

static void catch_up_fail(struct fo_fostate *s, struct fo_foactions *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records why, then stops the replication from the source (best effort). */
static void catch_up_fail(struct fo_fostate *s, struct fo_foactions *out, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->cu_why, sizeof(s->cu_why), fmt, ap);
    va_end(ap);
    s->cu_result = FO_CU_FELL_BACK;
    sql(s, out, s->cu_item, FO_FG_CATCHUP_STOP, FO_FI_CU_STOP);
}

static void catch_up_start(struct fo_fostate *s, struct fo_foactions *out, unsigned c, unsigned src,
                           const char *summary)
{
    struct fo_mariadb_pos a, b;
    char err[FO_ERRLEN];

    s->cu_result = FO_CU_RUNNING;
    s->cu_item = c;
    s->cu_src = src;
    s->cu_why[0] = '\0';
    snprintf(s->cu_summary, sizeof(s->cu_summary), "%s", summary);
    snprintf(s->cu_src_pos, sizeof(s->cu_src_pos), "%s", s->items[src].sample.gtid_current_pos);
    s->cu_txns = fo_gtid_mariadb_parse(s->cu_src_pos, &a, err) == 0 &&
                         fo_gtid_mariadb_parse(s->items[c].sample.gtid_current_pos, &b, err) == 0
                     ? fo_gtid_mariadb_ahead_by(&a, &b)
                     : 0;
    s->cu_started = s->now_ms;
    s->cu_deadline = s->now_ms + s->c.t.relay_wait_ms;
    s->batch = FO_FBATCH_CATCHUP;
    s->items_left = 1;
    s->items[c].ok = false;
    s->items[c].note[0] = '\0';
    s->cu_barrier = true;
    set_phase(s, FO_FP_BARRIER);
    push(out, FO_FA_BARRIER);
}

/* The barrier before the catch-up's first statement confirmed leadership. */
static void catch_up_begin(struct fo_fostate *s, struct fo_foactions *out)
{
    struct fo_foaction *act;

    s->cu_barrier = false;
    set_phase(s, FO_FP_BATCH);
    act = sql(s, out, s->cu_item, FO_FG_CATCHUP_START, FO_FI_CU_START);
    act->src_host = s->items[s->cu_src].host;
    act->src_port = s->items[s->cu_src].port;
}

static void catch_up_item(struct fo_fostate *s, const struct fo_foevent *ev, struct fo_foactions *out)
{
    struct fo_foitem *it = &s->items[ev->item];
    const char *e = ev->error ? ev->error : "";
    const struct fo_sample *m = ev->sample;
    struct fo_mariadb_pos have, want;
    char err[FO_ERRLEN];
    enum fo_gtid_cmp r;

    switch (it->stage) {
    case FO_FI_CU_START:
        if (ev->status != 0) return catch_up_fail(s, out, "pointing it at the source: %.200s", e);
        return catch_up_wait(s, out);
    case FO_FI_CU_WAIT:
        if (ev->status != 0) return catch_up_fail(s, out, "MASTER_GTID_WAIT: %.200s", e);
        if (ev->wait == FO_FW_REACHED) {
            sql(s, out, ev->item, FO_FG_CATCHUP_STOP, FO_FI_CU_STOP);
            return;
        }
        sql(s, out, ev->item, FO_FG_STATUS, FO_FI_CU_STATUS);
        return;
    case FO_FI_CU_STATUS:
        if (ev->status != 0 || ev->parse_error || m == NULL)
            return catch_up_fail(s, out, "SHOW SLAVE STATUS: %.200s", e);
        if (m->last_io_errno != 0)
            return catch_up_fail(s, out, "IO thread error %u: %.230s", m->last_io_errno, m->last_io_error);
        if (m->last_sql_errno != 0)
            return catch_up_fail(s, out, "SQL thread error %u: %.230s", m->last_sql_errno, m->last_sql_error);
        if (!m->is_replica || m->io_running == FO_THREAD_NO || m->sql_running == FO_THREAD_NO)
            return catch_up_fail(s, out, "replication stopped (IO %s, SQL %s)", fo_thread_state_name(m->io_running),
                                 fo_thread_state_name(m->sql_running));
        if (s->now_ms >= s->cu_deadline)
            return catch_up_fail(s, out, "not caught up within relay_wait_ms (%u ms; received up to %.120s)",
                                 s->c.t.relay_wait_ms, m->gtid_io_pos[0] ? m->gtid_io_pos : "nothing");
        return catch_up_wait(s, out);
    case FO_FI_CU_STOP:
        if (s->cu_result == FO_CU_FELL_BACK)
            return item_finish(s, out, ev->item, false, "%s%s%.100s", s->cu_why,
                               ev->status != 0 ? "; STOP SLAVE: " : "", ev->status != 0 ? e : "");
        if (ev->status != 0) {
            s->cu_result = FO_CU_FELL_BACK;
            snprintf(s->cu_why, sizeof(s->cu_why), "STOP SLAVE after the catch-up: %.200s", e);
            return item_finish(s, out, ev->item, false, "%s", s->cu_why);
        }
        sql(s, out, ev->item, FO_FG_VARS, FO_FI_CU_VARS);
        return;
    case FO_FI_CU_VARS:
        /* MASTER_GTID_WAIT said so; the position read back must agree. */
        if (ev->status != 0 || ev->parse_error || m == NULL)
            snprintf(s->cu_why, sizeof(s->cu_why), "reading its position after the catch-up: %.200s", e);
        else if (fo_gtid_mariadb_parse(m->gtid_current_pos, &have, err) != 0 ||
                 fo_gtid_mariadb_parse(s->cu_src_pos, &want, err) != 0 ||
                 ((r = fo_gtid_mariadb_compare(&have, &want)) == FO_GTID_BEHIND || r == FO_GTID_DIVERGED))
            snprintf(s->cu_why, sizeof(s->cu_why), "its position %.100s does not contain the source's %.100s",
                     m->gtid_current_pos, s->cu_src_pos);
        else {
            it->sample = *m;
            s->cu_result = FO_CU_DONE;
            return item_finish(s, out, ev->item, true, "caught up");
        }
        s->cu_result = FO_CU_FELL_BACK;
        return item_finish(s, out, ev->item, false, "%s", s->cu_why);
    default: return;
    }
}

/* The end of a catch-up: the rule's choice, caught up, or the source (fallback). Either
 * way the choose step is committed with the final new primary. */
static void catch_up_done(struct fo_fostate *s, struct fo_foactions *out)
{
    const struct fo_foitem *c = &s->items[s->cu_item], *src = &s->items[s->cu_src];
    unsigned long long ms = s->now_ms > s->cu_started ? (unsigned long long)(s->now_ms - s->cu_started) : 0;
    const struct fo_foitem *win = s->cu_result == FO_CU_DONE ? c : src;

    if (s->cu_result == FO_CU_DONE)
        snprintf(s->catchup_detail, sizeof(s->catchup_detail),
                 "caught up from %.80s:%u in %llu ms (%llu transactions, to %.200s)", src->host, src->port, ms,
                 (unsigned long long)s->cu_txns, s->cu_src_pos);
    else
        snprintf(s->catchup_detail, sizeof(s->catchup_detail),
                 "catch-up of %.80s:%u from %.80s:%u failed after %llu ms: fell back to %.80s:%u, the most "
                 "advanced (%.250s)",
                 c->host, c->port, src->host, src->port, ms, src->host, src->port, s->cu_why);
    snprintf(s->c.new_host, sizeof(s->c.new_host), "%s", win->host);
    s->c.new_port = win->port;
    step_done(s, out, "%.500s; %.300s -- %.600s", s->catchup_detail, s->cu_summary, s->detail);
}

struct choose_ctx {
    struct fo_cand_in in[FO_MAX_INSTANCES_PER_CLUSTER];
    char reasons[FO_MAX_INSTANCES_PER_CLUSTER][FO_CAND_REASON_LEN];
    char why[1024];
};

static void choose_detail(struct fo_fostate *s, struct choose_ctx *cx)
{
    size_t off = 0;
    unsigned i;

    s->detail[0] = '\0';
    for (i = 0; i < s->n_items; i++) {
        const struct fo_foitem *it = &s->items[i];
        int k = snprintf(s->detail + off, sizeof(s->detail) - off, "%s%s:%u %s%s%s", i ? "; " : "", it->host, it->port,
                         cx->reasons[i], it->ok ? "" : " - ", it->ok ? "" : it->note);
        if (k < 0 || (size_t)k >= sizeof(s->detail) - off) break;
        off += (size_t)k;
    }
}

static void choose_done(struct fo_fostate *s, struct fo_foactions *out)
{
    struct choose_ctx *cx = calloc(1, sizeof(*cx));
    struct fo_cand_opts opts;
    struct fo_cand_out res;
    unsigned i;

    if (cx == NULL) return end_run(s, out, FO_FR_FAILED, "out of memory");
    for (i = 0; i < s->n_items; i++) {
        const struct fo_foitem *it = &s->items[i];
        const struct fo_foinst *in = inst_of(s, it->host, it->port);
        cx->in[i].host = it->host;
        cx->in[i].port = it->port;
        cx->in[i].reachable = it->ok && it->has_sample;
        cx->in[i].s = &it->sample;
        cx->in[i].relay_unapplied = it->relay_unapplied;
        if (in != NULL) {
            cx->in[i].rule = in->rule;
            cx->in[i].maintenance = in->maintenance;
            cx->in[i].quarantined = in->quarantined;
        }
    }
    memset(&opts, 0, sizeof(opts));
    opts.max_lag_s = s->c.max_lag_s;
    opts.old_primary_pos = s->old_pos;
    opts.require_old_pos = is_switchover(s);
    opts.target_host = s->c.target_host;
    opts.target_port = s->c.target_port;
    opts.catch_up = !is_switchover(s);
    fo_candidate_choose(cx->in, s->n_items, &opts, &res, cx->reasons);
    choose_detail(s, cx);
    if (res.chosen < 0) {
        snprintf(cx->why, sizeof(cx->why), "%s", s->detail);
        if (is_switchover(s))
            unfence_and_end(s, out, res.summary, cx->why);
        else {
            snprintf(s->abort_why, sizeof(s->abort_why), "no replica can be promoted: %.300s (%.600s)", res.summary,
                     cx->why);
            restart_io_and_end(s, out);
        }
        free(cx);
        return;
    }
    /* After a catch-up the chosen one has the source's position: judge that one. */
    if (s->c.kind == FO_FK_AUTO &&
        relay_only_lost(s, res.source >= 0 ? res.source : res.chosen, cx->why, sizeof(cx->why))) {
        snprintf(s->abort_why, sizeof(s->abort_why), "not promoting %s:%u: %.400s (%.400s)", s->items[res.chosen].host,
                 s->items[res.chosen].port, cx->why, s->detail);
        free(cx);
        restart_io_and_end(s, out);
        return;
    }
    if (res.source >= 0) {
        catch_up_start(s, out, (unsigned)res.chosen, (unsigned)res.source, res.summary);
        free(cx);
        return;
    }
    snprintf(s->c.new_host, sizeof(s->c.new_host), "%s", s->items[res.chosen].host);
    s->c.new_port = s->items[res.chosen].port;
    free(cx);
    step_done(s, out, "%s -- %.600s", res.summary, s->detail);
}

/* Takes a parsed sample from ev; false (item finished) when the reply did not parse. */
static bool take_sample(struct fo_fostate *s, const struct fo_foevent *ev, struct fo_foactions *out, const char *what)
{
    if (ev->parse_error || ev->sample == NULL) {
        item_finish(s, out, ev->item, false, "%s: %s", what, ev->error ? ev->error : "no result");
        return false;
    }
    s->items[ev->item].sample = *ev->sample;
    return true;
}

static void choose_item(struct fo_fostate *s, const struct fo_foevent *ev, struct fo_foactions *out)
{
    struct fo_foitem *it = &s->items[ev->item];
    const char *e = ev->error ? ev->error : "";

    switch (it->stage) {
    case FO_FI_STOP_IO:
        if (ev->status != 0) return item_finish(s, out, ev->item, false, "stopping the IO thread: %s", e);
        if (!take_sample(s, ev, out, "SHOW SLAVE STATUS")) return;
        /* MariaDB discards the relay log when replication starts with both threads
         * stopped (GTID mode refetches from gtid_slave_pos): only an IO thread whose SQL
         * thread runs may be restarted without losing what it holds. */
        it->io_stopped = it->sample.sql_running == FO_THREAD_YES;
        return gtid_wait(s, out, ev->item, it->sample.gtid_io_pos, FO_FI_WAIT);
    case FO_FI_WAIT:
        if (ev->status != 0) return item_finish(s, out, ev->item, false, "waiting for the relay log: %s", e);
        /* The wait is a statement of its own and its result is checked: a replica
         * whose wait timed out (-1) or returned NULL still has unapplied relay log, and
         * is skipped by the candidate choice rather than reset. */
        it->relay_unapplied = ev->wait != FO_FW_REACHED;
        snprintf(it->wait_note, sizeof(it->wait_note), "%s", wait_note(ev->wait));
        sql(s, out, ev->item, FO_FG_VARS, FO_FI_VARS);
        return;
    case FO_FI_VARS:
        if (ev->status != 0) return item_finish(s, out, ev->item, false, "reading GTID positions: %s", e);
        if (!take_sample(s, ev, out, "reading GTID positions")) return;
        sql(s, out, ev->item, FO_FG_STATUS, FO_FI_STATUS);
        return;
    case FO_FI_STATUS:
        if (ev->status != 0) return item_finish(s, out, ev->item, false, "sampling: %s", e);
        if (!take_sample(s, ev, out, "SHOW SLAVE STATUS")) return;
        it->has_sample = true;
        item_finish(s, out, ev->item, true, "%s", it->relay_unapplied ? it->wait_note : "sampled");
        return;
    default: return;
    }
}

/* ------------------------------------------------------------------ promote */

/* The position salvage starts after: per domain the later of gtid_binlog_pos and
 * gtid_slave_pos. A replica's gtid_current_pos ignores GTIDs of other server ids in its
 * binlog, and salvaged transactions carry the old primary's server id: after a resumed
 * promote they are only in gtid_binlog_pos. */
static void salvage_start_pos(const struct fo_sample *smp, char *out, size_t n)
{
    struct fo_mariadb_pos b, sl;
    char err[FO_ERRLEN];
    unsigned i, j;

    if (fo_gtid_mariadb_parse(smp->gtid_binlog_pos, &b, err) != 0 ||
        fo_gtid_mariadb_parse(smp->gtid_slave_pos, &sl, err) != 0) {
        snprintf(out, n, "%s", smp->gtid_current_pos);
        return;
    }
    for (j = 0; j < sl.n; j++) {
        for (i = 0; i < b.n && b.g[i].domain != sl.g[j].domain; i++) {
        }
        if (i == b.n && b.n < FO_GTID_MAX)
            b.g[b.n++] = sl.g[j];
        else if (i < b.n && sl.g[j].seqno > b.g[i].seqno)
            b.g[i] = sl.g[j];
    }
    if (fo_gtid_mariadb_format(&b, out, n) != 0) snprintf(out, n, "%s", smp->gtid_current_pos);
}

/* Issue 13: the old primary's binlog tail, before the chosen replica opens for writes.
 * An agent that did not answer this run's fence is not asked again (its host is down:
 * asking would only spend the step's time), but the executor still answers, with the
 * old primary's last probed position for the possibly-lost count. */
static void start_salvage(struct fo_fostate *s, struct fo_foactions *out)
{
    struct fo_foaction *a;

    salvage_start_pos(&s->items[0].sample, s->salvage_pos, sizeof(s->salvage_pos));
    set_phase(s, FO_FP_SALVAGE);
    a = push(out, FO_FA_SALVAGE);
    a->host = s->c.old_host;
    a->port = s->c.old_port;
    a->pos = s->salvage_pos;
    a->connect_ms = s->c.t.connect_ms;
    a->timeout_ms = s->c.t.step_ms;
    if (s->revoke_known && !s->revoke_reached)
        a->skip = "the old primary's agent did not answer the fence (host down or agent unreachable)";
}

/* How history names a salvage that did not apply: impossible (the agent could not be
 * reached), given up (a cap), not done (refused, unreadable, failed). */
static const char *salvage_word(int status)
{
    if (status == FO_EUNREACHABLE || status == FO_ECLOSED) return "impossible";
    if (status == FO_ETOOBIG || status == FO_ETIMEDOUT) return "given up";
    return "not done";
}

static int on_salvage(struct fo_fostate *s, const struct fo_foevent *ev, struct fo_foactions *out)
{
    const char *d = ev->error && ev->error[0] ? ev->error : "-";
    struct fo_mariadb_pos old, cur;
    char err[FO_ERRLEN], lost[160] = "";

    if (s->phase != FO_FP_SALVAGE) return FO_EINVAL;
    s->salvaged = ev->status == 0;
    s->salvaged_txns = ev->status == 0 ? ev->transactions : 0;
    s->lost_known = false;
    if (ev->status != 0 && ev->old_known_pos != NULL && ev->old_known_pos[0] != '\0' &&
        fo_gtid_mariadb_parse(ev->old_known_pos, &old, err) == 0 &&
        fo_gtid_mariadb_parse(s->salvage_pos, &cur, err) == 0) {
        s->lost_known = true;
        s->lost_txns = fo_gtid_mariadb_ahead_by(&old, &cur);
        snprintf(lost, sizeof(lost),
                 "; possibly lost: %llu transactions (the old primary's last probed position %.60s)",
                 (unsigned long long)s->lost_txns, ev->old_known_pos);
    } else if (ev->status != 0) {
        snprintf(lost, sizeof(lost), "; possibly lost: unknown (no probed position of the old primary)");
    }
    if (ev->status == 0)
        snprintf(s->salvage_detail, sizeof(s->salvage_detail), "salvage after %.200s: %.600s", s->salvage_pos, d);
    else
        snprintf(s->salvage_detail, sizeof(s->salvage_detail), "salvage %s: %.500s%s", salvage_word(ev->status), d,
                 lost);
    set_phase(s, FO_FP_BATCH);
    sql(s, out, 0, FO_FG_PROMOTE_RESET, FO_FI_PROMOTE_RESET);
    return 0;
}

static void promote_item(struct fo_fostate *s, const struct fo_foevent *ev, struct fo_foactions *out)
{
    struct fo_foitem *it = &s->items[ev->item];
    const char *e = ev->error ? ev->error : "";

    switch (it->stage) {
    case FO_FI_PROMOTE_STOP:
        if (ev->status != 0) return item_finish(s, out, ev->item, false, "stopping the IO thread: %s", e);
        if (!take_sample(s, ev, out, "SHOW SLAVE STATUS")) return;
        if (!it->sample.is_replica) { /* resumed after RESET SLAVE ALL */
            sql(s, out, ev->item, FO_FG_PROMOTE_RESET, FO_FI_PROMOTE_RESET);
            return;
        }
        return gtid_wait(s, out, ev->item, it->sample.gtid_io_pos, FO_FI_PROMOTE_WAIT);
    case FO_FI_PROMOTE_WAIT:
        /* The point of no return for the relay log: RESET SLAVE ALL deletes it, so it
         * runs only after this wait said everything received was applied. */
        if (ev->status != 0)
            return item_finish(s, out, ev->item, false, "waiting for the relay log: %s; not promoted (nothing reset)",
                               e);
        if (ev->wait != FO_FW_REACHED)
            return item_finish(s, out, ev->item, false, "%s; not promoted (nothing reset)", wait_note(ev->wait));
        /* Salvage comes after this wait: the SQL thread is idle, so the transactions
         * applied from the old primary's binlog follow everything the replica received. */
        if (s->c.salvage && !is_switchover(s)) {
            sql(s, out, ev->item, FO_FG_VARS, FO_FI_PROMOTE_VARS);
            return;
        }
        sql(s, out, ev->item, FO_FG_PROMOTE_RESET, FO_FI_PROMOTE_RESET);
        return;
    case FO_FI_PROMOTE_VARS:
        if (ev->status != 0 || ev->parse_error || ev->sample == NULL) {
            snprintf(s->salvage_detail, sizeof(s->salvage_detail),
                     "salvage skipped: the new primary's position could not be read (%.300s)", e);
            sql(s, out, ev->item, FO_FG_PROMOTE_RESET, FO_FI_PROMOTE_RESET);
            return;
        }
        it->sample = *ev->sample;
        return start_salvage(s, out);
    case FO_FI_PROMOTE_RESET:
        if (ev->status != 0) return item_finish(s, out, ev->item, false, "%s", e);
        return item_finish(s, out, ev->item, true, "promoted");
    default: return;
    }
}

/* Items whose outcome is just "did it run". */
static void simple_item(struct fo_fostate *s, const struct fo_foevent *ev, struct fo_foactions *out)
{
    const char *e = ev->error ? ev->error : "";

    switch (s->batch) {
    case FO_FBATCH_REPOINT:
        if (ev->status != 0) return item_finish(s, out, ev->item, false, "not repointed: %s", e);
        return item_finish(s, out, ev->item, true, "replicating from the new primary");
    case FO_FBATCH_UNFENCE:
        if (ev->status != 0) return item_finish(s, out, ev->item, false, "%s", e);
        return item_finish(s, out, ev->item, true, "read_only=0");
    default: /* RESTART_IO */
        if (ev->status != 0) return item_finish(s, out, ev->item, false, "NOT restarted: %s", e);
        return item_finish(s, out, ev->item, true, "restarted");
    }
}

static void batch_done(struct fo_fostate *s, struct fo_foactions *out)
{
    char notes[sizeof(s->detail)];
    const struct fo_foitem *it = s->n_items ? &s->items[0] : NULL;

    switch (s->batch) {
    case FO_FBATCH_CHOOSE: return choose_done(s, out);
    case FO_FBATCH_CATCHUP: return catch_up_done(s, out);
    case FO_FBATCH_PROMOTE:
        if (!it->ok)
            return end_run(s, out, FO_FR_FAILED, "promoting %s:%u failed (%s); no server is writable", s->c.new_host,
                           s->c.new_port, it->note);
        return step_done(s, out, "%s:%u: replication reset, read_only=0%s%s%.900s", s->c.new_host, s->c.new_port,
                         s->c.semi_sync ? ", semi-sync master AFTER_SYNC" : "", s->salvage_detail[0] ? "; " : "",
                         s->salvage_detail);
    case FO_FBATCH_REPOINT:
        join_notes(s, notes, sizeof(notes));
        return step_done(s, out, "%s", s->n_items ? notes : "no other replica");
    case FO_FBATCH_UNFENCE:
        return end_run(s, out, FO_FR_ABORTED, "switchover aborted: %s; old primary %s (%s)", s->abort_why,
                       it->ok ? "writable again" : "STILL READ-ONLY", it->note);
    case FO_FBATCH_RESTART_IO:
        join_notes(s, notes, sizeof(notes));
        return end_run(s, out, FO_FR_FAILED, "%.600s; IO threads restarted: %.380s", s->abort_why,
                       s->n_items ? notes : "none had been stopped");
    default: assert(0 && "batch_done without a batch"); return;
    }
}

static int on_sql(struct fo_fostate *s, const struct fo_foevent *ev, struct fo_foactions *out)
{
    static const enum fo_fogroup group_of[] = {
        [FO_FI_STOP_IO] = FO_FG_STOP_IO_STATUS,
        [FO_FI_WAIT] = FO_FG_GTID_WAIT,
        [FO_FI_VARS] = FO_FG_VARS,
        [FO_FI_STATUS] = FO_FG_STATUS,
        [FO_FI_PROMOTE_STOP] = FO_FG_STOP_IO_STATUS,
        [FO_FI_PROMOTE_WAIT] = FO_FG_GTID_WAIT,
        [FO_FI_PROMOTE_RESET] = FO_FG_PROMOTE_RESET,
        [FO_FI_REPOINT] = FO_FG_REPOINT,
        [FO_FI_UNFENCE] = FO_FG_UNFENCE,
        [FO_FI_START_IO] = FO_FG_START_IO,
        [FO_FI_PROMOTE_VARS] = FO_FG_VARS,
        [FO_FI_CU_START] = FO_FG_CATCHUP_START,
        [FO_FI_CU_WAIT] = FO_FG_GTID_WAIT,
        [FO_FI_CU_STATUS] = FO_FG_STATUS,
        [FO_FI_CU_STOP] = FO_FG_CATCHUP_STOP,
        [FO_FI_CU_VARS] = FO_FG_VARS,
    };
    const struct fo_foitem *it;

    if (s->phase != FO_FP_BATCH || ev->item >= s->n_items) return FO_EINVAL;
    it = &s->items[ev->item];
    if (it->stage == FO_FI_IDLE || it->stage == FO_FI_DONE || group_of[it->stage] != ev->group) return FO_EINVAL;
    if (s->batch == FO_FBATCH_CHOOSE)
        choose_item(s, ev, out);
    else if (s->batch == FO_FBATCH_PROMOTE)
        promote_item(s, ev, out);
    else if (s->batch == FO_FBATCH_CATCHUP)
        catch_up_item(s, ev, out);
    else
        simple_item(s, ev, out);
    return 0;
}

/* ------------------------------------------------------------------ the rest */

static int on_hook(struct fo_fostate *s, const struct fo_foevent *ev, struct fo_foactions *out)
{
    const char *d = ev->error ? ev->error : "";

    if (s->phase != FO_FP_HOOK) return FO_EINVAL;
    if (ev->not_started)
        end_run(s, out, FO_FR_ABORTED, "pre_failover hook: %s", d);
    else if (ev->status == 0 && ev->hook_ok)
        step_done(s, out, "pre_failover hook: %s", d);
    else
        end_run(s, out, FO_FR_ABORTED, "pre_failover hook refused: %s", d);
    return 0;
}

/* DESIGN.md §6 step 6. A VIP that did not move does not fail the failover: the
 * topology is already safe and the recorded holder is the new primary, so the renewal
 * loop keeps acquiring it there once this failover has ended. */
static int on_vip(struct fo_fostate *s, const struct fo_foevent *ev, struct fo_foactions *out)
{
    const char *d = ev->error ? ev->error : "";

    if (s->phase != FO_FP_VIP) return FO_EINVAL;
    if (ev->not_started)
        step_done(s, out, "VIP not moved: %s", d);
    else if (ev->status == 0)
        step_done(s, out, "%.900s", d);
    else
        step_done(s, out, "VIP not confirmed yet (the leader keeps trying): %.850s", d);
    return 0;
}

static int on_step_committed(struct fo_fostate *s, const struct fo_foevent *ev, struct fo_foactions *out)
{
    if (s->phase != FO_FP_COMMIT_STEP) return FO_EINVAL;
    if (ev->status != 0) {
        stop(s, out, "the step was not committed (leadership lost)");
        return 0;
    }
    if (ev->result != 0 && ev->result != FO_EEXIST) {
        end_run(s, out, FO_FR_FAILED, "step %d refused by the store: %s", s->current, fo_strerror(ev->result));
        return 0;
    }
    s->last_step = s->current;
    drive(s, out);
    return 0;
}

static int on_end_committed(struct fo_fostate *s, const struct fo_foevent *ev, struct fo_foactions *out)
{
    struct fo_foaction *a;
    bool success;

    if (s->phase != FO_FP_COMMIT_END) return FO_EINVAL;
    if (ev->status != 0) {
        stop(s, out, "the end was not committed (leadership lost)");
        return 0;
    }
    success = ev->result == 0 && s->end_result == FO_FR_SUCCESS;
    set_phase(s, FO_FP_DONE);
    a = push(out, FO_FA_POST_HOOK);
    a->success = success;
    a = push(out, FO_FA_FINISHED);
    a->success = success;
    a->counted = ev->result == 0;
    a->backoff = !success && s->c.kind == FO_FK_AUTO;
    a->detail = s->detail;
    return 0;
}

int fo_fostep(struct fo_fostate *s, const struct fo_foevent *ev, uint64_t now_ms, struct fo_foactions *out)
{
    out->n = 0;
    if (fo_fostate_over(s)) return 0;
    s->now_ms = now_ms;
    switch (ev->type) {
    case FO_FE_START:
        if (s->phase != FO_FP_IDLE) return FO_EINVAL;
        drive(s, out);
        return 0;
    case FO_FE_BARRIER:
        if (s->phase != FO_FP_BARRIER) return FO_EINVAL;
        return on_barrier(s, ev, now_ms, out);
    case FO_FE_STEP_COMMITTED: return on_step_committed(s, ev, out);
    case FO_FE_END_COMMITTED: return on_end_committed(s, ev, out);
    case FO_FE_SQL: return on_sql(s, ev, out);
    case FO_FE_FENCE:
        if (s->phase != FO_FP_FENCE && s->phase != FO_FP_REFENCE) return FO_EINVAL;
        return on_fence(s, ev, out);
    case FO_FE_REVOKE: return on_revoke(s, ev, out);
    case FO_FE_TIMER:
        if (s->phase != FO_FP_LEASE_WAIT) return FO_EINVAL;
        s->fence_waited = true;
        fence_finish(s, out);
        return 0;
    case FO_FE_HOOK: return on_hook(s, ev, out);
    case FO_FE_VIP: return on_vip(s, ev, out);
    case FO_FE_LEADER_LOST:
        stop(s, out, "leadership lost; the next leader finishes the failover (see history)");
        return 0;
    case FO_FE_SALVAGE: return on_salvage(s, ev, out);
    }
    return FO_EINVAL;
}
