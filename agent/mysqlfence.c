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
#include <string.h>

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
    settle(s);
}

/* ---- FenceMysql -------------------------------------------------------------------------- */

static void fm_done(void *data, const struct fo_fence_result *r)
{
    Fo__Agent__AgentResponse resp = FO__AGENT__AGENT_RESPONSE__INIT;
    Fo__Agent__FenceResult fr = FO__AGENT__FENCE_RESULT__INIT;
    struct agent_conn *c = data;

    c->fence = NULL;
    fr.reached = r->reached;
    fr.read_only = r->read_only;
    fr.super_read_only = r->super_read_only;
    fr.rounds = r->rounds;
    fr.killed = r->killed;
    fr.survived = r->survived;
    fr.gtid_binlog_pos = (char *)r->gtid_binlog_pos;
    fr.detail = (char *)r->detail;
    resp.code = r->status;
    resp.fence = &fr;
    if (r->status == 0) {
        FO_INFO(MOD, "FenceMysql for %s: %s", c->peer, r->detail);
    } else {
        resp.error = (char *)r->detail;
        c->s->m.refused[FO_AGENT_REFUSE_FAILED]++;
        FO_WARN(MOD, "FenceMysql for %s failed: %s", c->peer, r->detail);
    }
    fo_agent_conn_respond(c, &resp);
}

static void start_fm(struct agent_conn *c)
{
    const struct fo_agent_config *cf = c->s->cfg;
    struct fo_fence_opts o = fence_opts(cf, true);
    char err[FO_ERRLEN];

    c->fence = fo_fence_start_tls(c->s->loop, &o, &cf->mysql_tls, fm_done, c, err);
    if (c->fence == NULL) fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_ENOMEM, err);
}

void fo_agent_rpc_fence(struct agent_conn *c, const Fo__Agent__FenceMysql *m)
{
    struct fo_agent_server *s = c->s;
    const struct fo_agent_cluster *cl = fo_agent_config_cluster(s->cfg, m->cluster);
    unsigned ci;

    if (!s->cfg->mysql)
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_ECONFIG,
                                    "no [mysql] section in this agent's configuration");
    assert(cl != NULL); /* precheck refused unknown clusters */
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
    if (c->fence != NULL) {
        fo_fence_cancel(c->fence); /* fm_done answers FO_ECANCELED */
        return;
    }
    if (c->fence_waiting) {
        c->fence_waiting = false;
        fo_agent_conn_reply(c, FO_ECANCELED, "cancelled", NULL);
    }
}

void fo_agent_ro_stop(struct fo_agent_server *s)
{
    struct fo_sql *q = s->unfence_sql;

    s->unfence_sql = NULL;
    if (s->ro_fence != NULL) fo_fence_cancel(s->ro_fence);
    if (q != NULL) fo_sql_cancel(q);
}
