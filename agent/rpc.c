/* What each agent RPC does (contract in server.h): fencing by epoch, the lease state
 * machine on uv_timers, VIP add/delete with gratuitous ARP, local mysqld fencing. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/server_internal.h"
#include "common/log.h"

#define MOD "agent"
#define MAX_KILL_ROUNDS 3

/* ---- VIP actions --------------------------------------------------------------------- */

/* Field by field: a struct fo_vip may carry stack garbage after the name's NUL. */
static bool vip_eq(const struct fo_vip *a, const struct fo_vip *b)
{
    return strcmp(a->ifname, b->ifname) == 0 && a->addr.s_addr == b->addr.s_addr && a->prefix == b->prefix;
}

static void arp_done(void *data, int status, const char *detail)
{
    struct agent_lease *e = data;
    struct fo_agent_server *s = e->s;
    char v[FO_VIP_STRLEN];

    e->arp = NULL;
    if (status != 0 && status != FO_ECANCELED)
        FO_WARN(MOD, "gratuitous ARP for %s stopped: %s", fo_vip_str(&e->vip, v), detail);
    fo_agent_server_unref(s);
}

static void announce(struct agent_lease *e)
{
    struct fo_agent_server *s = e->s;
    char err[FO_ERRLEN], v[FO_VIP_STRLEN];

    if (e->arp) fo_arp_cancel(e->arp);
    e->arp = NULL;
    if (fo_arp_announce(s->loop, e->vip.ifname, e->vip.addr, s->cfg->arp_count, s->cfg->arp_interval_ms, arp_done, e,
                        &e->arp, err) != 0) {
        FO_WARN(MOD, "no gratuitous ARP for %s: %s", fo_vip_str(&e->vip, v), err);
        return;
    }
    s->refs++;
}

/* Deletes the lease's VIP, or every VIP configured for the cluster when the lease
 * does not know which one (after a restart). */
static void del_vips(struct agent_lease *e)
{
    char err[FO_ERRLEN], v[FO_VIP_STRLEN];
    bool was;
    unsigned i;

    if (e->arp) fo_arp_cancel(e->arp);
    for (i = 0; i < e->cfg->n_vips; i++) {
        const struct fo_vip *vip = &e->cfg->vips[i];
        if (e->has_vip && !vip_eq(vip, &e->vip)) continue;
        if (fo_vip_del(vip, &was, err) != 0)
            FO_ERROR(MOD, "cannot delete %s: %s", fo_vip_str(vip, v), err);
        else if (was)
            FO_INFO(MOD, "cluster %s: deleted %s", e->cfg->name, fo_vip_str(vip, v));
    }
}

static void ro_done(void *data, int status, unsigned myerrno, const char *error, const struct fo_sql_rows *rows)
{
    struct fo_agent_server *s = data;

    (void)myerrno;
    (void)rows;
    s->ro_sql = NULL;
    if (status == 0)
        FO_INFO(MOD, "local mysqld set read-only after the lease expired");
    else if (status != FO_ECANCELED)
        FO_ERROR(MOD, "cannot set the local mysqld read-only: %s", error);
    fo_agent_server_unref(s);
}

static struct fo_sql *local_sql(struct fo_agent_server *s, const char *const *stmts, unsigned n, fo_sql_cb cb,
                                void *data, bool tolerate_gone)
{
    const struct fo_agent_config *c = s->cfg;
    struct fo_sql_opts o;

    memset(&o, 0, sizeof o);
    o.connect_timeout_ms = c->mysql_connect_timeout_ms;
    o.timeout_ms = c->mysql_timeout_ms;
    if (tolerate_gone) o.tolerate[o.n_tolerate++] = 1094; /* the connection ended already */
    return fo_sql_run(s->loop, c->mysql_host, c->mysql_port, c->mysql_user, c->mysql_password, stmts, n, &o, cb, data);
}

static void set_read_only(struct fo_agent_server *s)
{
    static const char *const stmt[] = {"SET GLOBAL read_only=1"};

    if (!s->cfg->lease_read_only || !s->cfg->mysql || s->ro_sql != NULL || s->stopping) return;
    s->ro_sql = local_sql(s, stmt, 1, ro_done, s, false);
    if (s->ro_sql == NULL)
        FO_ERROR(MOD, "cannot start setting the local mysqld read-only");
    else
        s->refs++;
}

/* Carries out a mask of enum fo_lease_action. Returns 0 or the VIP add's error. */
static int act(struct agent_lease *e, unsigned actions, char *err)
{
    char v[FO_VIP_STRLEN];
    bool was;
    int rc;

    if (actions & FO_LEASE_DEL_VIP) del_vips(e);
    if (actions & FO_LEASE_SET_READ_ONLY) set_read_only(e->s);
    if (actions & FO_LEASE_ADD_VIP) {
        if ((rc = fo_vip_add(&e->vip, &was, err)) != 0) {
            FO_ERROR(MOD, "cluster %s: cannot add %s: %s", e->cfg->name, fo_vip_str(&e->vip, v), err);
            return rc;
        }
        if (!was) FO_INFO(MOD, "cluster %s: added %s", e->cfg->name, fo_vip_str(&e->vip, v));
        announce(e);
    }
    return 0;
}

static void arm(struct agent_lease *e)
{
    uint64_t deadline, now = uv_now(e->s->loop);

    uv_timer_stop(&e->timer);
    if (e->s->stopping || !fo_lease_deadline(&e->lease, &deadline)) return;
    uv_timer_start(&e->timer, fo_agent_lease_timer_cb, deadline > now ? deadline - now : 0, 0);
}

void fo_agent_lease_timer_cb(uv_timer_t *t)
{
    struct fo_agent_server *s = t->data;
    struct agent_lease *e = (struct agent_lease *)((char *)t - offsetof(struct agent_lease, timer));
    char err[FO_ERRLEN], v[FO_VIP_STRLEN];
    unsigned actions;

    uv_update_time(s->loop);
    actions = fo_lease_tick(&e->lease, uv_now(s->loop));
    if (actions != 0) {
        s->m.lease_expired++;
        FO_WARN(MOD, "cluster %s: lease on %s expired without renewal; removing the VIP", e->cfg->name,
                fo_vip_str(&e->vip, v));
        act(e, actions, err);
    }
    arm(e);
}

void fo_agent_lease_remove_stale(struct fo_agent_server *s)
{
    unsigned i;

    for (i = 0; i < s->cfg->n_clusters; i++) del_vips(&s->leases[i]);
}

/* ---- epoch fencing in the thread pool -------------------------------------------------- */

struct epoch_op {
    uv_work_t work;
    struct agent_conn *c;
    Fo__Agent__AgentRequest *req;
    const char *cluster;
    uint64_t epoch;
    int rc;
    char err[FO_ERRLEN];
};

static void epoch_work(uv_work_t *w)
{
    struct epoch_op *op = w->data;
    struct fo_agent_server *s = op->c->s;

    uv_mutex_lock(&s->epoch_mu);
    op->rc = fo_epoch_check_and_raise(s->epochs, op->cluster, op->epoch, op->err);
    uv_mutex_unlock(&s->epoch_mu);
}

static void apply(struct agent_conn *c, Fo__Agent__AgentRequest *req);

static void epoch_after(uv_work_t *w, int status)
{
    struct epoch_op *op = w->data;
    struct agent_conn *c = op->c;
    Fo__Agent__AgentRequest *req = op->req;
    int rc = op->rc;
    char err[FO_ERRLEN];

    snprintf(err, sizeof err, "%s", op->err);
    free(op);
    if (status != 0 || c->s->stopping || c->closing) {
        fo__agent__agent_request__free_unpacked(req, NULL);
        fo_agent_conn_reply(c, FO_ECANCELED, "agent is shutting down", NULL);
        return;
    }
    if (rc != 0) {
        fo__agent__agent_request__free_unpacked(req, NULL);
        fo_agent_conn_refuse(c, rc == FO_ESTALE ? FO_AGENT_REFUSE_STALE_EPOCH : FO_AGENT_REFUSE_FAILED, rc, err);
        return;
    }
    apply(c, req);
}

static void fenced(struct agent_conn *c, Fo__Agent__AgentRequest *req, const char *cluster, uint64_t epoch)
{
    struct epoch_op *op;
    char err[FO_ERRLEN];

    /* Epoch 0 is legitimate: the cluster's first primary holds the VIP before any
     * failover has begun (failover epochs start at 1). Once a higher epoch is on disk,
     * 0 is refused as stale like any lower epoch. */
    if (fo_agent_lease_of(c->s, cluster) == NULL) {
        fo_errf(err, FO_ENOTFOUND, "unknown cluster '%.64s': not in this agent's configuration", cluster);
        fo__agent__agent_request__free_unpacked(req, NULL);
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_UNKNOWN_CLUSTER, FO_ENOTFOUND, err);
    }
    op = calloc(1, sizeof *op);
    if (op == NULL) {
        fo__agent__agent_request__free_unpacked(req, NULL);
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_ENOMEM, "out of memory");
    }
    op->work.data = op;
    op->c = c;
    op->req = req;
    op->cluster = cluster;
    op->epoch = epoch;
    if (uv_queue_work(c->s->loop, &op->work, epoch_work, epoch_after) != 0) {
        free(op);
        fo__agent__agent_request__free_unpacked(req, NULL);
        fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_EIO, "cannot queue the epoch check");
    }
}

/* ---- the RPCs ---------------------------------------------------------------------------- */

/* Checks an AcquireVip against the cluster's allow-list; fills v. */
static int check_acquire(struct agent_conn *c, const Fo__Agent__AcquireVip *a, struct fo_vip *v,
                         enum fo_agent_refuse *why, char *err)
{
    const struct agent_lease *e = fo_agent_lease_of(c->s, a->cluster);
    char cidr[64];
    unsigned i;
    bool iface = false;

    *why = FO_AGENT_REFUSE_BAD_REQUEST;
    if (e == NULL) {
        *why = FO_AGENT_REFUSE_UNKNOWN_CLUSTER;
        return fo_errf(err, FO_ENOTFOUND, "unknown cluster '%.64s': not in this agent's configuration", a->cluster);
    }
    if (a->prefix > 32) return fo_errf(err, FO_EINVAL, "prefix %u is not in 0..32", a->prefix);
    snprintf(cidr, sizeof cidr, "%.40s/%u", a->vip, a->prefix);
    if (fo_vip_parse(v, a->interface, cidr, err) != 0) return FO_EINVAL;
    if (a->lease_ms == 0 || a->lease_ms > FO_LEASE_MAX_MS)
        return fo_errf(err, FO_EINVAL, "lease_ms %u is not in 1..%u", a->lease_ms, FO_LEASE_MAX_MS);
    *why = FO_AGENT_REFUSE_NOT_ALLOWED;
    for (i = 0; i < e->cfg->n_vips; i++) {
        const struct fo_vip *w = &e->cfg->vips[i];
        if (strcmp(w->ifname, v->ifname) != 0) continue;
        iface = true;
        if (w->addr.s_addr == v->addr.s_addr && w->prefix == v->prefix) return 0;
    }
    if (!iface) return fo_errf(err, FO_EPERM, "interface '%s' is not allowed for cluster %s", v->ifname, e->cfg->name);
    return fo_errf(err, FO_EPERM, "address %s is not allowed on %s for cluster %s", cidr, v->ifname, e->cfg->name);
}

static void do_acquire(struct agent_conn *c, const Fo__Agent__AcquireVip *a)
{
    struct agent_lease *e = fo_agent_lease_of(c->s, a->cluster);
    struct fo_vip v;
    enum fo_agent_refuse why;
    char err[FO_ERRLEN];
    unsigned actions = 0;
    int rc;

    if (check_acquire(c, a, &v, &why, err) != 0) return fo_agent_conn_refuse(c, why, FO_EPERM, err);
    if (e->has_vip && !vip_eq(&e->vip, &v) && e->lease.state == FO_LEASE_HELD) del_vips(e);
    rc = fo_lease_acquire(&e->lease, a->epoch, a->lease_ms, uv_now(c->s->loop), &actions, err);
    if (rc != 0) {
        act(e, actions, err);
        arm(e);
        return fo_agent_conn_refuse(c, rc == FO_ESTALE ? FO_AGENT_REFUSE_STALE_EPOCH : FO_AGENT_REFUSE_BAD_REQUEST, rc,
                                    err);
    }
    e->vip = v;
    e->has_vip = true;
    rc = act(e, actions, err);
    arm(e);
    if (rc != 0) return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, rc, err);
    fo_agent_conn_reply(c, 0, NULL, NULL);
}

static void do_renew(struct agent_conn *c, const Fo__Agent__RenewLease *r)
{
    struct agent_lease *e = fo_agent_lease_of(c->s, r->cluster);
    char err[FO_ERRLEN];
    unsigned actions = 0;
    int rc;

    rc = fo_lease_renew(&e->lease, r->epoch, uv_now(c->s->loop), &actions, err);
    if (actions & FO_LEASE_DEL_VIP) c->s->m.lease_expired++;
    act(e, actions, err);
    arm(e);
    if (rc == FO_ENOTFOUND)
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_NOT_HELD, rc, "no lease held for this cluster; acquire again");
    if (rc != 0) return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_STALE_EPOCH, rc, err);
    fo_agent_conn_reply(c, 0, NULL, NULL);
}

static void do_release(struct agent_conn *c, const Fo__Agent__ReleaseVip *r)
{
    struct agent_lease *e = fo_agent_lease_of(c->s, r->cluster);
    char err[FO_ERRLEN];
    unsigned actions = 0;
    int rc;

    rc = fo_lease_release(&e->lease, r->epoch, &actions, err);
    if (rc != 0) return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_STALE_EPOCH, rc, err);
    act(e, actions, err);
    arm(e);
    fo_agent_conn_reply(c, 0, NULL, NULL);
}

/* FenceMysql: read_only=1, then kill client connections (a few rounds, since a
 * client may reconnect between the list and the kill), as the controller's own
 * fencing does (DESIGN.md §6 step 2). */
static void fence_select(struct agent_conn *c);

static void fence_step(void *data, int status, unsigned myerrno, const char *error, const struct fo_sql_rows *rows)
{
    struct agent_conn *c = data;
    char kills[FO_SQL_MAX_STMTS][48];
    const char *stmts[FO_SQL_MAX_STMTS];
    unsigned i, n = 0;

    (void)myerrno;
    c->sql = NULL;
    if (status != 0) return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, status, error ? error : "cancelled");
    if (c->killing) { /* the kills ran: list again */
        c->killing = false;
        return fence_select(c);
    }
    for (i = 0; rows != NULL && i < rows->n_rows && n < FO_SQL_MAX_STMTS; i++) {
        const char *id = rows->values[i * rows->n_cols];
        if (id == NULL || id[0] == '\0' || strspn(id, "0123456789") != strlen(id) || strlen(id) > 20) continue;
        snprintf(kills[n], sizeof kills[n], "KILL CONNECTION %s", id);
        stmts[n] = kills[n];
        n++;
    }
    if (n == 0 || c->kill_round >= MAX_KILL_ROUNDS) {
        FO_INFO(MOD, "local mysqld fenced for %s (read_only=1, %u round(s) of kills)", c->peer, c->kill_round);
        return fo_agent_conn_reply(c, 0, NULL, NULL);
    }
    c->kill_round++;
    c->killing = true;
    c->sql = local_sql(c->s, stmts, n, fence_step, c, true);
    if (c->sql == NULL) fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_ENOMEM, "cannot start KILL statements");
}

static void fence_select(struct agent_conn *c)
{
    char q[512], u[2 * FO_NAME_LEN + 4];
    const char *stmts[2];

    if (fo_sql_quote(c->s->cfg->mysql_user, u, sizeof u) != 0)
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_EINVAL, "mysql user name too long");
    snprintf(q, sizeof q,
             "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER NOT IN "
             "('system user','event_scheduler',%s) AND COMMAND NOT IN ('Binlog Dump','Binlog Dump GTID',"
             "'Daemon','Killed','Slave_IO','Slave_SQL','Slave_worker') LIMIT %u",
             u, FO_SQL_MAX_STMTS);
    stmts[0] = "SET GLOBAL read_only=1";
    stmts[1] = q;
    c->sql = local_sql(c->s, stmts, 2, fence_step, c, false);
    if (c->sql == NULL) fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_ENOMEM, "cannot start fencing");
}

static void do_fence(struct agent_conn *c)
{
    if (!c->s->cfg->mysql)
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_ECONFIG,
                                    "no [mysql] section in this agent's configuration");
    c->kill_round = 0;
    c->killing = false;
    fence_select(c);
}

static void apply(struct agent_conn *c, Fo__Agent__AgentRequest *req)
{
    switch (req->body_case) {
    case FO__AGENT__AGENT_REQUEST__BODY_ACQUIRE: do_acquire(c, req->acquire); break;
    case FO__AGENT__AGENT_REQUEST__BODY_RENEW: do_renew(c, req->renew); break;
    case FO__AGENT__AGENT_REQUEST__BODY_RELEASE: do_release(c, req->release); break;
    case FO__AGENT__AGENT_REQUEST__BODY_FENCE: do_fence(c); break;
    default: fo_agent_conn_refuse(c, FO_AGENT_REFUSE_BAD_REQUEST, FO_EINVAL, "unexpected request"); break;
    }
    fo__agent__agent_request__free_unpacked(req, NULL);
}

/* ---- Status ---------------------------------------------------------------------------------- */

static void status_reply(struct agent_conn *c, int reachable, int read_only, const char *myerr)
{
    struct fo_agent_server *s = c->s;
    Fo__Agent__AgentStatus st = FO__AGENT__AGENT_STATUS__INIT;
    Fo__Agent__ClusterStatus rows[FO_AGENT_MAX_CLUSTERS], *ptrs[FO_AGENT_MAX_CLUSTERS];
    char vips[FO_AGENT_MAX_CLUSTERS][24], err[FO_ERRLEN];
    uint64_t now = uv_now(s->loop), deadline;
    unsigned i;

    for (i = 0; i < s->cfg->n_clusters; i++) {
        struct agent_lease *e = &s->leases[i];
        Fo__Agent__ClusterStatus *r = &rows[i];
        bool present = false;
        fo__agent__cluster_status__init(r);
        r->cluster = (char *)e->cfg->name;
        uv_mutex_lock(&s->epoch_mu);
        if (fo_epoch_get(s->epochs, e->cfg->name, &r->epoch) != 0) r->epoch = 0;
        uv_mutex_unlock(&s->epoch_mu);
        r->lease_state = (char *)fo_lease_state_name(e->lease.state);
        if (fo_lease_deadline(&e->lease, &deadline) && deadline > now) r->lease_remaining_ms = deadline - now;
        vips[i][0] = '\0';
        r->vip = vips[i];
        r->interface = (char *)"";
        if (e->has_vip) {
            char a[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &e->vip.addr, a, sizeof a);
            snprintf(vips[i], sizeof vips[i], "%s/%u", a, e->vip.prefix);
            r->interface = e->vip.ifname;
            if (fo_vip_query(&e->vip, &present, err) != 0) FO_WARN(MOD, "status: %s", err);
        }
        r->vip_present = present;
        ptrs[i] = r;
    }
    st.n_clusters = s->cfg->n_clusters;
    st.clusters = ptrs;
    st.mysql_configured = s->cfg->mysql;
    st.mysql_reachable = reachable;
    st.mysql_read_only = read_only;
    st.mysql_error = (char *)(myerr ? myerr : "");
    fo_agent_conn_reply(c, 0, NULL, &st);
}

static void status_sql(void *data, int status, unsigned myerrno, const char *error, const struct fo_sql_rows *rows)
{
    struct agent_conn *c = data;
    const char *v;

    (void)myerrno;
    c->sql = NULL;
    if (status == FO_ECANCELED) return fo_agent_conn_reply(c, FO_ECANCELED, "cancelled", NULL);
    if (status != 0) return status_reply(c, 0, 0, error);
    v = (rows && rows->n_rows > 0 && rows->n_cols > 0) ? rows->values[0] : NULL;
    status_reply(c, 1, v != NULL && strcmp(v, "1") == 0, NULL);
}

void fo_agent_rpc_status(struct agent_conn *c)
{
    static const char *const stmt[] = {"SELECT @@read_only"};

    if (!c->s->cfg->mysql) return status_reply(c, 0, 0, NULL);
    c->sql = local_sql(c->s, stmt, 1, status_sql, c, false);
    if (c->sql == NULL) status_reply(c, 0, 0, "cannot start the query");
}

/* ---- dispatch -------------------------------------------------------------------------------- */

void fo_agent_rpc_dispatch(struct agent_conn *c, Fo__Agent__AgentRequest *req)
{
    switch (req->body_case) {
    case FO__AGENT__AGENT_REQUEST__BODY_STATUS:
        c->rpc = FO_AGENT_RPC_STATUS;
        fo__agent__agent_request__free_unpacked(req, NULL);
        return fo_agent_rpc_status(c);
    case FO__AGENT__AGENT_REQUEST__BODY_ACQUIRE:
        c->rpc = FO_AGENT_RPC_ACQUIRE;
        {
            struct fo_vip v;
            enum fo_agent_refuse why;
            char err[FO_ERRLEN];
            int rc = check_acquire(c, req->acquire, &v, &why, err);
            if (rc != 0) {
                fo__agent__agent_request__free_unpacked(req, NULL);
                return fo_agent_conn_refuse(c, why, rc, err);
            }
        }
        return fenced(c, req, req->acquire->cluster, req->acquire->epoch);
    case FO__AGENT__AGENT_REQUEST__BODY_RENEW:
        c->rpc = FO_AGENT_RPC_RENEW;
        return fenced(c, req, req->renew->cluster, req->renew->epoch);
    case FO__AGENT__AGENT_REQUEST__BODY_RELEASE:
        c->rpc = FO_AGENT_RPC_RELEASE;
        return fenced(c, req, req->release->cluster, req->release->epoch);
    case FO__AGENT__AGENT_REQUEST__BODY_FENCE:
        c->rpc = FO_AGENT_RPC_FENCE;
        return fenced(c, req, req->fence->cluster, req->fence->epoch);
    default:
        c->rpc = FO_AGENT_RPC_STATUS;
        fo__agent__agent_request__free_unpacked(req, NULL);
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_BAD_REQUEST, FO_EINVAL, "request has no body");
    }
}

void fo_agent_rpc_cancel(struct agent_conn *c)
{
    struct fo_sql *q = c->sql;

    c->sql = NULL;
    if (q) fo_sql_cancel(q);
}

void fo_agent_metrics_rows(struct fo_agent_server *s, struct fo_buf *b)
{
    struct fo_agent_metrics_row rows[FO_AGENT_MAX_CLUSTERS];
    char vips[FO_AGENT_MAX_CLUSTERS][FO_VIP_STRLEN];
    uint64_t now = uv_now(s->loop), deadline;
    unsigned i;

    for (i = 0; i < s->cfg->n_clusters; i++) {
        struct agent_lease *e = &s->leases[i];
        rows[i].cluster = e->cfg->name;
        rows[i].held = e->lease.state == FO_LEASE_HELD;
        rows[i].vip = e->has_vip ? fo_vip_str(&e->vip, vips[i]) : NULL;
        rows[i].lease_remaining_s = 0;
        if (fo_lease_deadline(&e->lease, &deadline) && deadline > now)
            rows[i].lease_remaining_s = (double)(deadline - now) / 1000.0;
        uv_mutex_lock(&s->epoch_mu);
        rows[i].has_epoch = fo_epoch_get(s->epochs, e->cfg->name, &rows[i].epoch) == 0;
        uv_mutex_unlock(&s->epoch_mu);
    }
    fo_agent_metrics_render(&s->m, rows, s->cfg->n_clusters, b);
}
