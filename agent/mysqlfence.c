/* The local mysqld (contract in agent/server.h): FenceMysql, the lease-expiry fence
 * and its undo, all through mysql/fence.h, the one fencing implementation.
 *
 * The agent's own fence is a small state machine (STYLE.md §6, enum agent_ro in
 * server_internal.h): a table of allowed transitions and one setter that asserts,
 * logs and updates the metrics gauge. Which fence may be undone is kept per lease
 * (agent_lease.self_fenced, self_epoch): a writer VIP lease that expired with
 * lease_read_only fenced mysqld at its epoch; when every such lease is held again at
 * that same epoch (the leader renewed or re-acquired it on this host, DESIGN.md §7
 * "self-healing"), mysqld is made writable again. A lease taken back at another epoch,
 * or a FenceMysql (a failover's fence) at or above that epoch, forgets the lease's
 * claim: then the fence is never undone by the agent. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/mysqldproc.h"
#include "agent/server_internal.h"
#include "common/log.h"

#define MOD "agent"
#define ER_UNKNOWN_SYSTEM_VARIABLE 1193

static const bool ro_allowed[AGENT_RO_N][AGENT_RO_N] = {
    [AGENT_RO_NONE] = {[AGENT_RO_FENCING] = true},
    [AGENT_RO_FENCING] = {[AGENT_RO_FENCED] = true, [AGENT_RO_NONE] = true},
    [AGENT_RO_FENCED] = {[AGENT_RO_UNFENCING] = true, [AGENT_RO_NONE] = true, [AGENT_RO_FENCING] = true},
    [AGENT_RO_UNFENCING] = {[AGENT_RO_NONE] = true, [AGENT_RO_FENCED] = true, [AGENT_RO_FENCING] = true},
};

const char *fo_agent_ro_name(enum agent_ro r)
{
    static const char *const names[AGENT_RO_N] = {"none", "fencing", "fenced", "unfencing"};

    return (unsigned)r < AGENT_RO_N ? names[r] : "invalid";
}

/* The one place the agent's own fence changes state. */
static void set_ro(struct fo_agent_server *s, enum agent_ro to, const char *why)
{
    if (to == s->ro) return;
    if (!ro_allowed[s->ro][to]) {
        FO_ERROR(MOD, "BUG: lease fence %s -> %s is not in the table", fo_agent_ro_name(s->ro), fo_agent_ro_name(to));
        assert(!"lease fence transition not allowed");
    }
    FO_INFO(MOD, "local mysqld, lease fence: %s -> %s (%s)", fo_agent_ro_name(s->ro), fo_agent_ro_name(to), why);
    s->ro = to;
    s->m.lease_fenced = to != AGENT_RO_NONE;
}

static unsigned cluster_index(const struct fo_agent_server *s, const struct fo_agent_cluster *cl)
{
    return (unsigned)(cl - s->cfg->clusters);
}

static void forget_all(struct fo_agent_server *s)
{
    unsigned i;

    for (i = 0; i < s->n_leases; i++) s->leases[i].self_fenced = false;
}

/* ---- the lease-expiry fence ------------------------------------------------------------ */

static void settle(struct fo_agent_server *s);
static void start_fm(struct agent_conn *c);
static void restart_watch_held(struct agent_lease *e);

static void ro_fenced(void *data, const struct fo_fence_result *r)
{
    struct fo_agent_server *s = data;

    s->ro_fence = NULL;
    if (r->status == FO_ECANCELED && s->stopping) return fo_agent_server_unref(s);
    if (r->status == 0)
        FO_INFO(MOD, "local mysqld fenced after the writer VIP lease expired: %s", r->detail);
    else
        FO_ERROR(MOD, "fencing the local mysqld after the writer VIP lease expired: %s", r->detail);
    if (r->reached) s->m.lease_read_only++;
    if (s->ro == AGENT_RO_FENCING) {
        /* Reached: whatever it achieved (read_only may be set even if sessions
         * survived) is ours to undo. Not reached: nothing was changed. */
        set_ro(s, r->reached ? AGENT_RO_FENCED : AGENT_RO_NONE, r->reached ? "fence done" : "mysqld not reached");
        if (!r->reached) forget_all(s);
        settle(s);
    }
    fo_agent_server_unref(s);
}

/* The local mysqld's fence options: a lapse's fence leaves semi-sync alone (it is not a
 * failover), FenceMysql's turns it off. */
static struct fo_fence_opts fence_opts(const struct fo_agent_config *c, bool semi_sync_off)
{
    return (struct fo_fence_opts){.host = c->mysql_host,
                                  .port = c->mysql_port,
                                  .user = c->mysql_user,
                                  .password = c->mysql_password,
                                  .connect_timeout_ms = c->mysql_connect_timeout_ms,
                                  .timeout_ms = c->mysql_timeout_ms,
                                  .semi_sync_off = semi_sync_off};
}

static void start_ro_fence(struct fo_agent_server *s)
{
    const struct fo_agent_config *c = s->cfg;
    struct fo_fence_opts o = fence_opts(c, false);
    char err[FO_ERRLEN];

    /* No semi-sync change: the undo sets read_only only, and a lapse is not a failover. */
    s->ro_fence = fo_fence_start_tls(s->loop, &o, &c->mysql_tls, ro_fenced, s, err);
    if (s->ro_fence == NULL) {
        FO_ERROR(MOD, "cannot start fencing the local mysqld: %s", err);
        /* An undo was cancelled for this fence: what it did is unknown, so keep the
         * claim and let the next renewal at the same epoch undo it again. */
        if (s->ro == AGENT_RO_UNFENCING) set_ro(s, AGENT_RO_FENCED, "fence could not start");
        return;
    }
    s->refs++;
    set_ro(s, AGENT_RO_FENCING, "writer VIP lease expired");
}

void fo_agent_ro_expired(struct agent_lease *e)
{
    struct fo_agent_server *s = e->s;
    unsigned ci = cluster_index(s, e->cfg);
    char v[FO_VIP_STRLEN];

    if (!s->cfg->lease_read_only || !s->cfg->mysql || !e->writer || s->stopping) return;
    /* At or below a FenceMysql's epoch the failover owns read_only: never undo. */
    e->self_fenced = !(s->fm_seen[ci] && e->lease.epoch <= s->fm_epoch[ci]);
    e->self_epoch = e->lease.epoch;
    FO_WARN(MOD, "cluster %s: writer VIP %s lapsed at epoch %" PRIu64 ": fencing the local mysqld%s", e->cfg->name,
            fo_vip_str(e->vip, v), e->lease.epoch,
            e->self_fenced ? " (undone if the lease comes back at this epoch)" : " (a failover fenced it: kept)");
    if (s->ro == AGENT_RO_FENCING) return; /* the fence running covers it */
    if (s->ro == AGENT_RO_UNFENCING && s->unfence_sql != NULL) {
        struct fo_sql *q = s->unfence_sql;
        s->unfence_sql = NULL;
        fo_sql_cancel(q); /* its callback sees the state moved on */
    }
    start_ro_fence(s);
}

/* ---- its undo ------------------------------------------------------------------------------ */

static void start_waiting_fences(struct fo_agent_server *s)
{
    struct agent_conn *c, *next;

    for (c = s->conns; c != NULL; c = next) {
        next = c->next;
        if (c->fence_waiting) {
            c->fence_waiting = false;
            start_fm(c);
        }
    }
}

static void unfenced(void *data, int status, unsigned myerrno, const char *error, const struct fo_sql_rows *rows)
{
    struct fo_agent_server *s = data;
    unsigned i;

    (void)myerrno;
    (void)rows;
    if (status == FO_ECANCELED) {
        /* Cancelled by a new expiry (which fences now) or by the stop: the state has
         * moved on already, and s->unfence_sql may be another run. */
        if (!s->stopping) start_waiting_fences(s);
        return fo_agent_server_unref(s);
    }
    s->unfence_sql = NULL;
    if (s->ro == AGENT_RO_UNFENCING) {
        if (status == 0) {
            for (i = 0; i < s->n_leases; i++)
                if (s->leases[i].self_fenced)
                    FO_INFO(MOD,
                            "cluster %s: writer VIP lease back at epoch %" PRIu64
                            " on this host: local mysqld writable again (read_only=0)",
                            s->leases[i].cfg->name, s->leases[i].self_epoch);
            forget_all(s);
            s->m.lease_writable++;
            set_ro(s, AGENT_RO_NONE, "own fence undone");
        } else {
            /* Retried at the next renewal (settle runs on each). */
            FO_ERROR(MOD, "cannot make the local mysqld writable again: %s", error ? error : "?");
            set_ro(s, AGENT_RO_FENCED, "undo failed");
        }
    }
    if (!s->stopping) start_waiting_fences(s);
    fo_agent_server_unref(s);
}

/* Every lease that fenced is held again, as the writer VIP, at the epoch it lapsed at. */
static bool all_back(const struct fo_agent_server *s, bool *any)
{
    unsigned i;

    *any = false;
    for (i = 0; i < s->n_leases; i++) {
        const struct agent_lease *e = &s->leases[i];
        if (!e->self_fenced) continue;
        *any = true;
        if (e->lease.state != FO_LEASE_HELD || !e->writer || e->lease.epoch != e->self_epoch) return false;
    }
    return true;
}

static void settle(struct fo_agent_server *s)
{
    static const char *const stmts[] = {"SET GLOBAL super_read_only=0", "SET GLOBAL read_only=0"};
    static const unsigned tolerate[] = {ER_UNKNOWN_SYSTEM_VARIABLE}; /* MariaDB: no super_read_only */
    bool any;

    if (s->ro != AGENT_RO_FENCED || s->stopping) return;
    if (!all_back(s, &any)) return;
    if (!any) return set_ro(s, AGENT_RO_NONE, "no lease may undo it (another epoch or a failover fence)");
    s->unfence_sql = fo_agent_local_sql(s, stmts, 2, unfenced, s, tolerate, 1);
    if (s->unfence_sql == NULL) {
        FO_ERROR(MOD, "cannot start making the local mysqld writable again");
        return;
    }
    s->refs++;
    set_ro(s, AGENT_RO_UNFENCING, "writer VIP lease back at the same epoch");
}

void fo_agent_ro_held(struct agent_lease *e)
{
    struct fo_agent_server *s = e->s;
    char v[FO_VIP_STRLEN];

    if (e->self_fenced && (!e->writer || e->lease.epoch != e->self_epoch)) {
        e->self_fenced = false;
        FO_INFO(MOD, "cluster %s: %s taken back at epoch %" PRIu64 ", not %" PRIu64 ": own fence not undone for it",
                e->cfg->name, fo_vip_str(e->vip, v), e->lease.epoch, e->self_epoch);
    }
    restart_watch_held(e);
    settle(s);
}

/* ---- FenceMysql -------------------------------------------------------------------------- */

/* A stopped mysqld (SIGSTOP) never answers, so its SQL fence can only time out; with
 * fence_kill_stopped the agent looks at the process after this grace and then every
 * period while the SQL fence runs, and once more when it fails (docs/fence-stopped.md).
 * A local mysqld that is running answers the fence in milliseconds: the grace only
 * spares the look in that case. */
#define STOPPED_LOOK_MS 100
/* The restart watch tries to fence a mysqld that came back this often. */
#define RESTART_WATCH_MS 200

/* One FenceMysql: the SQL fence, and looks at the process beside it. Owned by its
 * connection (c->fm), which stays busy until the one reply: fm is freed in the timer's
 * close callback (or at once when it has no timer). */
struct agent_fm {
    struct agent_conn *c;
    struct fo_agent_server *s; /* c may be gone when the timer's close callback runs */
    struct fo_fence *fence;    /* the SQL fence running, or NULL */
    uv_timer_t timer;          /* next look (fence_kill_stopped) */
    bool has_timer;
    uv_work_t work;
    bool looking;     /* a look (and maybe the kill) runs in the thread pool */
    bool fence_over;  /* the SQL fence's result is in r */
    bool final_asked; /* the look after a failed SQL fence was started */
    bool cancelled;
    bool looked;
    bool warned; /* a look's failure or a traced process was logged */
    struct fo_fence_result r;
    struct fo_mysqld_proc proc; /* the last look */
    int look_rc;
    char look_err[FO_ERRLEN];
    uint16_t port;
    const char *cluster;
    uint64_t epoch;
};

static void fm_timer_closed(uv_handle_t *h)
{
    struct agent_fm *fm = h->data;
    struct fo_agent_server *s = fm->s;

    free(fm);
    fo_agent_server_unref(s);
}

static void restart_watch_start(struct fo_agent_server *s, const struct agent_fm *fm);

/* The one reply; then fm goes away. */
static void fm_finish(struct agent_fm *fm)
{
    Fo__Agent__AgentResponse resp = FO__AGENT__AGENT_RESPONSE__INIT;
    Fo__Agent__FenceResult fr = FO__AGENT__FENCE_RESULT__INIT;
    struct agent_conn *c = fm->c;
    const struct fo_fence_result *r = &fm->r;
    char detail[sizeof r->detail + sizeof fm->proc.detail + 32], state[2] = {fm->proc.state, '\0'};

    c->fm = NULL;
    fr.reached = r->reached;
    fr.read_only = r->read_only;
    fr.super_read_only = r->super_read_only;
    fr.rounds = r->rounds;
    fr.killed = r->killed;
    fr.survived = r->survived;
    fr.gtid_binlog_pos = (char *)r->gtid_binlog_pos;
    fr.mysqld_killed = fm->proc.killed;
    fr.mysqld_pid = fm->looked && fm->proc.pid > 0 ? (uint32_t)fm->proc.pid : 0;
    fr.mysqld_state = state;
    if (fm->proc.killed)
        snprintf(detail, sizeof detail, "%s; SQL fence not completed: %s", fm->proc.detail, r->detail);
    else if (fm->looked)
        snprintf(detail, sizeof detail, "%s; %s", r->detail, fm->proc.detail);
    else
        snprintf(detail, sizeof detail, "%s", r->detail);
    fr.detail = detail;
    /* Killed: the stopped mysqld is gone, which fences it whatever the SQL said. */
    resp.code = fm->proc.killed ? 0 : fm->cancelled ? FO_ECANCELED : r->status;
    resp.fence = &fr;
    if (resp.code == 0) {
        FO_INFO(MOD, "FenceMysql for %s at epoch %" PRIu64 ": %s", c->peer, fm->epoch, detail);
    } else {
        resp.error = detail;
        c->s->m.refused[FO_AGENT_REFUSE_FAILED]++;
        FO_WARN(MOD, "FenceMysql for %s at epoch %" PRIu64 " failed: %s", c->peer, fm->epoch, detail);
    }
    if (fm->proc.killed && !c->s->stopping) restart_watch_start(c->s, fm);
    /* resp points into fm: answer first (that may start the connection's next request,
     * or free c), then let fm go. */
    fo_agent_conn_respond(c, &resp);
    if (fm->has_timer)
        uv_close((uv_handle_t *)&fm->timer, fm_timer_closed);
    else
        free(fm);
}

static void look_work(uv_work_t *w)
{
    struct agent_fm *fm = w->data;

    fm->look_rc = fo_mysqld_kill_if_stopped(fm->port, &fm->proc, fm->look_err);
}

static void look_after(uv_work_t *w, int status)
{
    struct agent_fm *fm = w->data;

    fm->looking = false;
    if (status == 0) {
        fm->looked = true;
        if (fm->proc.killed) {
            fm->c->s->m.stopped_killed++;
            FO_WARN(MOD, "FenceMysql at epoch %" PRIu64 ": %s (fence_kill_stopped)", fm->epoch, fm->proc.detail);
        } else if (fm->look_rc != 0 || fm->proc.state == 't') {
            /* Once per FenceMysql: the looks repeat every STOPPED_LOOK_MS. */
            if (!fm->warned) FO_WARN(MOD, "FenceMysql at epoch %" PRIu64 ": %s", fm->epoch, fm->proc.detail);
            fm->warned = true;
        } else {
            FO_DEBUG(MOD, "FenceMysql at epoch %" PRIu64 ": SQL fence not done yet; %s", fm->epoch, fm->proc.detail);
        }
    }
    if (fm->proc.killed && fm->fence != NULL) {
        fo_fence_cancel(fm->fence); /* its callback finishes: the kill is the fence */
        return;
    }
    if (fm->fence_over) fm_finish(fm);
}

static void look(struct agent_fm *fm)
{
    fm->work.data = fm;
    fm->looking = true;
    if (uv_queue_work(fm->c->s->loop, &fm->work, look_work, look_after) != 0) {
        fm->looking = false;
        FO_ERROR(MOD, "FenceMysql: cannot queue the look at the local mysqld process");
        if (fm->fence_over) fm_finish(fm);
    }
}

static void look_due(uv_timer_t *t)
{
    struct agent_fm *fm = t->data;

    if (!fm->looking && !fm->fence_over && !fm->cancelled) look(fm);
}

static void fm_fenced(void *data, const struct fo_fence_result *r)
{
    struct agent_fm *fm = data;

    fm->fence = NULL;
    fm->r = *r;
    fm->fence_over = true;
    if (fm->has_timer) uv_timer_stop(&fm->timer);
    if (fm->looking) return; /* look_after finishes */
    /* The SQL fence failed: a stopped mysqld is what it failed on if the process says
     * so now (connect and read time out against it; nothing else can tell). */
    if (r->status != 0 && !fm->cancelled && !fm->proc.killed && fm->has_timer && !fm->final_asked) {
        fm->final_asked = true;
        look(fm);
        if (fm->looking) return;
    }
    fm_finish(fm);
}

static void start_fm(struct agent_conn *c)
{
    struct fo_agent_server *s = c->s;
    const struct fo_agent_config *cf = s->cfg;
    struct fo_fence_opts o = fence_opts(cf, true);
    struct agent_fm *fm = c->fm;
    char err[FO_ERRLEN];

    fm->fence = fo_fence_start_tls(s->loop, &o, &cf->mysql_tls, fm_fenced, fm, err);
    if (fm->fence == NULL) {
        c->fm = NULL;
        free(fm);
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_ENOMEM, err);
    }
    if (!cf->fence_kill_stopped) return;
    uv_timer_init(s->loop, &fm->timer);
    fm->timer.data = fm;
    fm->has_timer = true;
    s->refs++;
    uv_timer_start(&fm->timer, look_due, STOPPED_LOOK_MS, STOPPED_LOOK_MS);
}

void fo_agent_rpc_fence(struct agent_conn *c, const Fo__Agent__FenceMysql *m)
{
    struct fo_agent_server *s = c->s;
    const struct fo_agent_cluster *cl = fo_agent_config_cluster(s->cfg, m->cluster);
    struct agent_fm *fm;
    unsigned ci;

    if (!s->cfg->mysql)
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_ECONFIG,
                                    "no [mysql] section in this agent's configuration");
    assert(cl != NULL); /* precheck refused unknown clusters */
    if ((fm = calloc(1, sizeof *fm)) == NULL)
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_ENOMEM, "out of memory");
    fm->c = c;
    fm->s = s;
    fm->port = s->cfg->mysql_port;
    fm->cluster = cl->name;
    fm->epoch = m->epoch;
    c->fm = fm;
    ci = cluster_index(s, cl);
    if (!s->fm_seen[ci] || m->epoch > s->fm_epoch[ci]) s->fm_epoch[ci] = m->epoch;
    s->fm_seen[ci] = true;
    /* A failover's fence is never undone by the agent: forget every claim. */
    forget_all(s);
    if (s->ro == AGENT_RO_FENCED) set_ro(s, AGENT_RO_NONE, "FenceMysql: the failover's fence replaces ours");
    if (s->ro == AGENT_RO_UNFENCING) {
        /* read_only=0 is on its way: fence after it, so that read_only=1 comes last. */
        c->fence_waiting = true;
        return;
    }
    start_fm(c);
}

void fo_agent_fence_cancel(struct agent_conn *c)
{
    struct agent_fm *fm = c->fm;

    if (c->fence_waiting) {
        c->fence_waiting = false;
        c->fm = NULL;
        free(fm);
        fo_agent_conn_reply(c, FO_ECANCELED, "cancelled", NULL);
        return;
    }
    if (fm == NULL || fm->cancelled) return;
    fm->cancelled = true;
    if (fm->has_timer) uv_timer_stop(&fm->timer);
    /* The fence's callback, or the look's when one runs (a thread-pool job cannot be
     * stopped), answers FO_ECANCELED (or 0 when the look killed a stopped mysqld). */
    if (fm->fence != NULL) fo_fence_cancel(fm->fence);
}

/* ---- the restart watch ----------------------------------------------------------------- */

/* A supervisor (systemd Restart=, mysqld_safe) may start mysqld again after the kill,
 * and it comes back with whatever read_only its configuration says: writable for
 * clients that reach it directly, although the failover made another server the
 * primary. The VIP is not here (ReleaseVip at the same epoch), but a direct client
 * is not stopped by that. So the agent fences the first mysqld that answers on the
 * port after the kill, once; the controller's rejoin then makes it a replica
 * (read_only stays 1). docs/fence-stopped.md. */

static void rw_closed(uv_handle_t *h)
{
    fo_agent_server_unref(h->data);
}

static void rw_fenced(void *data, const struct fo_fence_result *r)
{
    struct fo_agent_server *s = data;

    s->rw_fence = NULL;
    if (r->status == FO_ECANCELED || s->stopping) return fo_agent_server_unref(s);
    if (r->status == 0 && s->rw_on) {
        s->m.restart_fenced++;
        FO_WARN(MOD, "cluster %s: a mysqld came back on port %u after %s %d at epoch %" PRIu64 ": fenced it (%s)",
                s->rw_cluster, s->cfg->mysql_port,
                s->rw_pid > 0 ? "the stopped pid was killed:" : "a binlog salvage of the dead mysqld: pid", s->rw_pid,
                s->rw_epoch, r->detail);
        s->rw_on = false;
        uv_timer_stop(&s->rw_timer);
    } else if (r->status != s->rw_last_status) {
        /* Connection refused while nothing listens is the normal case: logged once. */
        FO_INFO(MOD, "restart watch: no mysqld fenced on port %u yet: %s", s->cfg->mysql_port, r->detail);
    }
    s->rw_last_status = r->status;
    fo_agent_server_unref(s);
}

static void rw_due(uv_timer_t *t)
{
    struct fo_agent_server *s = t->data;
    struct fo_fence_opts o = fence_opts(s->cfg, true);
    char err[FO_ERRLEN];
    bool listening;

    if (!s->rw_on || s->rw_fence != NULL || s->stopping) return;
    /* Nothing listens yet: no connection attempt (and no log line) every 200 ms. */
    if (fo_mysqld_listening(s->cfg->mysql_port, &listening, err) == 0 && !listening) return;
    s->rw_fence = fo_fence_start_tls(s->loop, &o, &s->cfg->mysql_tls, rw_fenced, s, err);
    if (s->rw_fence == NULL) {
        FO_ERROR(MOD, "restart watch: cannot start a fence: %s", err);
        return;
    }
    s->refs++;
}

void fo_agent_restart_watch_arm(struct fo_agent_server *s, const char *cluster, uint64_t epoch, int pid)
{
    const struct fo_agent_cluster *cl = fo_agent_config_cluster(s->cfg, cluster);

    if (cl == NULL || s->stopping) return;
    if (!s->rw_timer_init) {
        uv_timer_init(s->loop, &s->rw_timer);
        s->rw_timer.data = s;
        s->rw_timer_init = true;
        s->refs++;
    }
    if (s->rw_on && s->rw_epoch > epoch) return; /* a later failover's watch stays */
    s->rw_on = true;
    s->rw_epoch = epoch;
    s->rw_cluster = cl->name; /* lives in the config */
    s->rw_pid = pid;
    s->rw_last_status = 0;
    FO_INFO(MOD, "cluster %s: watching port %u: a mysqld that comes back will be fenced", cl->name, s->cfg->mysql_port);
    uv_timer_start(&s->rw_timer, rw_due, RESTART_WATCH_MS, RESTART_WATCH_MS);
}

static void restart_watch_start(struct fo_agent_server *s, const struct agent_fm *fm)
{
    fo_agent_restart_watch_arm(s, fm->cluster, fm->epoch, (int)fm->proc.pid);
}

/* The leader gave this host a cluster's writer VIP at an epoch above the kill's: the
 * controllers made it a primary again, and its read_only is theirs to set. */
static void restart_watch_held(struct agent_lease *e)
{
    struct fo_agent_server *s = e->s;

    if (!s->rw_on || !e->writer || e->lease.epoch <= s->rw_epoch) return;
    FO_INFO(MOD, "cluster %s: writer VIP held at epoch %" PRIu64 " > %" PRIu64 ": restart watch ended", e->cfg->name,
            e->lease.epoch, s->rw_epoch);
    s->rw_on = false;
    uv_timer_stop(&s->rw_timer);
    if (s->rw_fence != NULL) fo_fence_cancel(s->rw_fence);
}

void fo_agent_ro_stop(struct fo_agent_server *s)
{
    struct fo_sql *q = s->unfence_sql;

    s->rw_on = false;
    if (s->rw_fence != NULL) fo_fence_cancel(s->rw_fence);
    if (s->rw_timer_init) {
        s->rw_timer_init = false;
        uv_close((uv_handle_t *)&s->rw_timer, rw_closed);
    }
    s->unfence_sql = NULL;
    if (s->ro_fence != NULL) fo_fence_cancel(s->ro_fence);
    if (q != NULL) fo_sql_cancel(q);
}
