/* What each agent RPC does (contract in server.h): fencing by epoch, the lease state
 * machine on uv_timers, VIP add/delete with gratuitous ARP, local mysqld fencing. */
#include <arpa/inet.h>
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/binlog.h"
#include "agent/server_internal.h"
#include "common/log.h"
#include "common/prom.h"

#define MOD "agent"

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
        FO_WARN(MOD, "gratuitous ARP for %s stopped: %s", fo_vip_str(e->vip, v), detail);
    fo_agent_server_unref(s);
}

static void announce(struct agent_lease *e)
{
    struct fo_agent_server *s = e->s;
    char err[FO_ERRLEN], v[FO_VIP_STRLEN];

    if (e->arp) fo_arp_cancel(e->arp);
    e->arp = NULL;
    if (fo_arp_announce(s->loop, e->vip->ifname, e->vip->addr, s->cfg->arp_count, s->cfg->arp_interval_ms, arp_done, e,
                        &e->arp, err) != 0) {
        FO_WARN(MOD, "no gratuitous ARP for %s: %s", fo_vip_str(e->vip, v), err);
        return;
    }
    s->refs++;
}

/* Deletes the lease's VIP, idempotently: every copy of its address on its interface,
 * whatever the prefix length (an address added by hand as /32 answers as well as the
 * configured /24). The TCP connections on the address are aborted first
 * (fo_vip_withdraw): each client gets a RST and reconnects, instead of waiting out its
 * timeouts against a host that now drops its packets. Returns whether one was there
 * and deleted. */
static bool del_vip(struct agent_lease *e)
{
    struct fo_agent_server *s = e->s;
    char err[FO_ERRLEN], v[FO_VIP_STRLEN];
    struct fo_vip_withdrawal w;
    int rc;

    if (e->arp) fo_arp_cancel(e->arp);
    rc = fo_vip_withdraw(e->vip, &w, err);
    s->m.vip_sockets_reset += w.sockets.reset;
    if (w.sockets.unsupported && !s->m.vip_reset_unsupported) {
        s->m.vip_reset_unsupported = 1; /* said once: it is true of every removal */
        FO_WARN(MOD, "clients of a removed VIP are not reset: %s; they wait for their own timeouts", w.reset_err);
    } else if (w.reset_rc != 0 && !w.sockets.unsupported)
        FO_WARN(MOD, "cluster %s: resetting the connections on %s: %s", e->cfg->name, fo_vip_str(e->vip, v),
                w.reset_err);
    if (w.sockets.found > 0)
        FO_INFO(MOD, "cluster %s: reset %u of %u TCP connections on %s before removing it%s", e->cfg->name,
                w.sockets.reset, w.sockets.found, fo_vip_str(e->vip, v),
                w.sockets.truncated ? " (more than the per-call limit: the rest were left)" : "");
    if (rc != 0)
        FO_ERROR(MOD, "cannot delete %s: %s", fo_vip_str(e->vip, v), err);
    else if (w.removed)
        FO_INFO(MOD, "cluster %s: deleted %s", e->cfg->name, fo_vip_str(e->vip, v));
    return w.removed;
}

struct fo_sql *fo_agent_local_sql(struct fo_agent_server *s, const char *const *stmts, unsigned n, fo_sql_cb cb,
                                  void *data, const unsigned *tolerate, unsigned n_tolerate)
{
    const struct fo_agent_config *c = s->cfg;
    struct fo_sql_opts o;
    unsigned i;

    memset(&o, 0, sizeof o);
    o.connect_timeout_ms = c->mysql_connect_timeout_ms;
    o.timeout_ms = c->mysql_timeout_ms;
    o.tls = &c->mysql_tls; /* [mysql] ssl_mode / ssl_ca */
    for (i = 0; i < n_tolerate && i < sizeof o.tolerate / sizeof o.tolerate[0]; i++)
        o.tolerate[o.n_tolerate++] = tolerate[i];
    return fo_sql_run(s->loop, c->mysql_host, c->mysql_port, c->mysql_user, c->mysql_password, stmts, n, &o, cb, data);
}

/* Carries out a mask of enum fo_lease_action. Returns 0 or the VIP add's error. */
static int act(struct agent_lease *e, unsigned actions, char *err)
{
    char v[FO_VIP_STRLEN];
    bool was;
    int rc;

    if (actions & FO_LEASE_DEL_VIP) del_vip(e);
    /* Only the writer VIP's expiry fences mysqld (mysqlfence.c checks): a reader VIP
     * that lapses on the primary (where it may be parked) must not fence the primary. */
    if (actions & FO_LEASE_SET_READ_ONLY) fo_agent_ro_expired(e);
    if (actions & FO_LEASE_ADD_VIP) {
        if ((rc = fo_vip_add(e->vip, &was, err)) != 0) {
            FO_ERROR(MOD, "cluster %s: cannot add %s: %s", e->cfg->name, fo_vip_str(e->vip, v), err);
            return rc;
        }
        if (!was) FO_INFO(MOD, "cluster %s: added %s", e->cfg->name, fo_vip_str(e->vip, v));
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

void fo_agent_lease_apply(struct agent_lease *e, unsigned actions)
{
    char err[FO_ERRLEN], v[FO_VIP_STRLEN];

    if (actions & FO_LEASE_DEL_VIP) {
        e->s->m.lease_expired++;
        FO_WARN(MOD, "cluster %s: lease on %s ran out before a relayed renewal; removing the VIP", e->cfg->name,
                fo_vip_str(e->vip, v));
    }
    act(e, actions, err);
    arm(e);
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
                fo_vip_str(e->vip, v));
        act(e, actions, err);
    }
    arm(e);
}

void fo_agent_lease_remove_stale(struct fo_agent_server *s)
{
    unsigned i;

    for (i = 0; i < s->n_leases; i++) del_vip(&s->leases[i]);
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
    op->rc = fo_epoch_check_and_raise(s->epochs, op->cluster, op->epoch, s->cfg->max_epoch_jump, op->err);
    uv_mutex_unlock(&s->epoch_mu);
}

static void apply(struct agent_conn *c, Fo__Agent__AgentRequest *req);

/* The cluster and epoch of a request that names one (not Status). */
static void request_epoch(const Fo__Agent__AgentRequest *req, const char **cluster, uint64_t *epoch)
{
    switch (req->body_case) {
    case FO__AGENT__AGENT_REQUEST__BODY_ACQUIRE:
        *cluster = req->acquire->cluster;
        *epoch = req->acquire->epoch;
        break;
    case FO__AGENT__AGENT_REQUEST__BODY_RENEW:
        *cluster = req->renew->cluster;
        *epoch = req->renew->epoch;
        break;
    case FO__AGENT__AGENT_REQUEST__BODY_RELEASE:
        *cluster = req->release->cluster;
        *epoch = req->release->epoch;
        break;
    case FO__AGENT__AGENT_REQUEST__BODY_SALVAGE:
        *cluster = req->salvage->cluster;
        *epoch = req->salvage->epoch;
        break;
    default:
        assert(req->body_case == FO__AGENT__AGENT_REQUEST__BODY_FENCE);
        *cluster = req->fence->cluster;
        *epoch = req->fence->epoch;
        break;
    }
}

/* Why an epoch check refused: a lower epoch is stale; one beyond max_epoch_jump
 * (FO_EPERM, agent/epoch.h) is a bad request, counted and logged like one, and never
 * written; anything else is the agent failing to record the epoch. */
static enum fo_agent_refuse epoch_refusal(int rc)
{
    if (rc == FO_ESTALE) return FO_AGENT_REFUSE_STALE_EPOCH;
    if (rc == FO_EPERM) return FO_AGENT_REFUSE_BAD_REQUEST;
    return FO_AGENT_REFUSE_FAILED;
}

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
        fo_agent_conn_refuse(c, epoch_refusal(rc), rc, err);
        return;
    }
    apply(c, req);
}

static void fenced(struct agent_conn *c, Fo__Agent__AgentRequest *req)
{
    struct epoch_op *op;

    /* Epoch 0 is legitimate: the cluster's first primary holds the VIP before any
     * failover has begun (failover epochs start at 1). Once a higher epoch is on disk,
     * 0 is refused as stale like any lower epoch. Epochs are per cluster, whichever
     * of the cluster's VIPs the request names. */
    op = calloc(1, sizeof *op);
    if (op == NULL) {
        fo__agent__agent_request__free_unpacked(req, NULL);
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_ENOMEM, "out of memory");
    }
    op->work.data = op;
    op->c = c;
    op->req = req;
    request_epoch(req, &op->cluster, &op->epoch);
    if (uv_queue_work(c->s->loop, &op->work, epoch_work, epoch_after) != 0) {
        free(op);
        fo__agent__agent_request__free_unpacked(req, NULL);
        fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_EIO, "cannot queue the epoch check");
    }
}

/* ---- which leases a request names ------------------------------------------------------ */

/* The leases a RenewLease or ReleaseVip names: every lease of the cluster when its vip
 * is "", else those covering that address (one per prefix and interface the cluster
 * lists it with: usually exactly one). */
struct lease_sel {
    const struct fo_agent_cluster *cl;
    bool all;
    struct in_addr addr;
};

static bool selected(const struct lease_sel *sel, const struct agent_lease *e)
{
    return e->cfg == sel->cl && (sel->all || e->vip->addr.s_addr == sel->addr.s_addr);
}

static int unknown_cluster(const char *cluster, enum fo_agent_refuse *why, char *err)
{
    *why = FO_AGENT_REFUSE_UNKNOWN_CLUSTER;
    return fo_errf(err, FO_ENOTFOUND, "unknown cluster '%.64s': not in this agent's configuration", cluster);
}

/* Fills sel from a request's cluster and vip; refuses a cluster or an address that
 * the configuration does not list, and a vip that is not an IPv4 literal. */
static int select_leases(const struct fo_agent_server *s, const char *cluster, const char *vip, struct lease_sel *sel,
                         enum fo_agent_refuse *why, char *err)
{
    unsigned i;

    sel->cl = fo_agent_config_cluster(s->cfg, cluster);
    if (sel->cl == NULL) return unknown_cluster(cluster, why, err);
    sel->all = vip[0] == '\0';
    if (sel->all) return 0;
    *why = FO_AGENT_REFUSE_BAD_REQUEST;
    if (inet_pton(AF_INET, vip, &sel->addr) != 1)
        return fo_errf(err, FO_EINVAL, "vip '%.40s' is not an IPv4 address", vip);
    for (i = 0; i < sel->cl->n_vips; i++)
        if (sel->cl->vips[i].addr.s_addr == sel->addr.s_addr) return 0;
    *why = FO_AGENT_REFUSE_NOT_ALLOWED;
    return fo_errf(err, FO_EPERM, "address %s is not configured for cluster %s", vip, sel->cl->name);
}

/* FO_ESTALE if a selected lease was acquired, renewed or released at a higher epoch
 * than the request's (a request fenced before a concurrent one raised the epoch): the
 * request then changes none of them. */
static int check_stale(const struct fo_agent_server *s, const struct lease_sel *sel, uint64_t epoch, const char *what,
                       char *err)
{
    char v[FO_VIP_STRLEN];
    unsigned i;

    for (i = 0; i < s->n_leases; i++) {
        const struct agent_lease *e = &s->leases[i];
        if (selected(sel, e) && epoch < e->lease.epoch)
            return fo_errf(err, FO_ESTALE, "%s at epoch %" PRIu64 " < %" PRIu64 " held by the lease on %s", what, epoch,
                           e->lease.epoch, fo_vip_str(e->vip, v));
    }
    return 0;
}

/* Checks an AcquireVip against the cluster's allow-list; *out is the lease of exactly
 * that address, prefix and interface. */
static int check_acquire(struct fo_agent_server *s, const Fo__Agent__AcquireVip *a, struct agent_lease **out,
                         enum fo_agent_refuse *why, char *err)
{
    const struct fo_agent_cluster *cl = fo_agent_config_cluster(s->cfg, a->cluster);
    struct fo_vip v;
    char cidr[64];
    unsigned i;
    bool iface = false;

    if (cl == NULL) return unknown_cluster(a->cluster, why, err);
    *why = FO_AGENT_REFUSE_BAD_REQUEST;
    if (a->prefix > 32) return fo_errf(err, FO_EINVAL, "prefix %u is not in 0..32", a->prefix);
    snprintf(cidr, sizeof cidr, "%.40s/%u", a->vip, a->prefix);
    if (fo_vip_parse(&v, a->interface, cidr, err) != 0) return FO_EINVAL;
    if (a->lease_ms == 0 || a->lease_ms > FO_LEASE_MAX_MS)
        return fo_errf(err, FO_EINVAL, "lease_ms %u is not in 1..%u", a->lease_ms, FO_LEASE_MAX_MS);
    *why = FO_AGENT_REFUSE_NOT_ALLOWED;
    for (i = 0; i < s->n_leases; i++) {
        struct agent_lease *e = &s->leases[i];
        if (e->cfg != cl || strcmp(e->vip->ifname, v.ifname) != 0) continue;
        iface = true;
        if (vip_eq(e->vip, &v)) {
            *out = e;
            return 0;
        }
    }
    if (!iface) return fo_errf(err, FO_EPERM, "interface '%s' is not allowed for cluster %s", v.ifname, cl->name);
    return fo_errf(err, FO_EPERM, "address %s is not allowed on %s for cluster %s", cidr, v.ifname, cl->name);
}

/* Refuses, before the epoch is checked, what no epoch could make valid, so that a
 * refused request never raises the cluster's epoch on disk. */
static int precheck(struct agent_conn *c, const Fo__Agent__AgentRequest *req, enum fo_agent_refuse *why, char *err)
{
    struct agent_lease *e;
    struct lease_sel sel;

    switch (req->body_case) {
    case FO__AGENT__AGENT_REQUEST__BODY_ACQUIRE: return check_acquire(c->s, req->acquire, &e, why, err);
    case FO__AGENT__AGENT_REQUEST__BODY_RENEW:
        return select_leases(c->s, req->renew->cluster, req->renew->vip, &sel, why, err);
    case FO__AGENT__AGENT_REQUEST__BODY_RELEASE:
        return select_leases(c->s, req->release->cluster, req->release->vip, &sel, why, err);
    case FO__AGENT__AGENT_REQUEST__BODY_FENCE:
        if (fo_agent_config_cluster(c->s->cfg, req->fence->cluster) == NULL)
            return unknown_cluster(req->fence->cluster, why, err);
        return 0;
    case FO__AGENT__AGENT_REQUEST__BODY_SALVAGE:
        if (fo_agent_config_cluster(c->s->cfg, req->salvage->cluster) == NULL)
            return unknown_cluster(req->salvage->cluster, why, err);
        if (!fo_binlog_start_valid(req->salvage->start_gtid)) {
            *why = FO_AGENT_REFUSE_BAD_REQUEST;
            return fo_errf(err, FO_EINVAL, "start_gtid is not a MariaDB GTID list");
        }
        return 0;
    default: return 0;
    }
}

/* ---- the RPCs ---------------------------------------------------------------------------- */

/* How late a direct lease message is (agent/lease.h, docs/vip-lease-delay.md), judged
 * against what this agent has seen from the same sender process. A sender that does
 * not say when it sent (a failoverd from before this rule) gets delay 0, the old
 * behaviour, and one warning. */
static uint64_t message_delay(struct agent_conn *c, uint64_t sent_ms, uint64_t boot)
{
    struct fo_agent_server *s = c->s;
    char err[FO_ERRLEN];
    uint64_t delay = 0;

    if (fo_lease_sender_judge(&s->senders, c->peer, boot, sent_ms, c->anchor_ms, uv_now(s->loop), &delay, err) != 0 &&
        !s->untimed_logged) {
        s->untimed_logged = true;
        FO_WARN(MOD, "%s: %s; its leases run from their arrival (a failoverd older than this agent?)", c->peer, err);
    }
    return delay;
}

/* A lease message refused as delayed: counted, and the controller hears why. */
static void refuse_delayed(struct agent_conn *c, const char *err)
{
    c->s->lease_delayed++;
    FO_WARN(MOD, "%s: lease message refused: %s", c->peer, err);
    fo_agent_conn_refuse(c, FO_AGENT_REFUSE_DELAYED, FO_ETIMEDOUT, err);
}

static void do_acquire(struct agent_conn *c, const Fo__Agent__AcquireVip *a)
{
    struct agent_lease *e;
    enum fo_agent_refuse why;
    char err[FO_ERRLEN];
    unsigned actions = 0;
    uint64_t delay;
    int rc;

    if ((rc = check_acquire(c->s, a, &e, &why, err)) != 0) return fo_agent_conn_refuse(c, why, rc, err);
    delay = message_delay(c, a->sent_mono_ms, a->sender_boot);
    rc = fo_lease_acquire_delayed(&e->lease, a->epoch, a->lease_ms, delay, uv_now(c->s->loop), &actions, err);
    if (rc != 0) {
        char aerr[FO_ERRLEN];
        if (actions & FO_LEASE_DEL_VIP) c->s->m.lease_expired++;
        act(e, actions, aerr);
        arm(e);
        if (rc == FO_ETIMEDOUT) return refuse_delayed(c, err);
        return fo_agent_conn_refuse(c, rc == FO_ESTALE ? FO_AGENT_REFUSE_STALE_EPOCH : FO_AGENT_REFUSE_BAD_REQUEST, rc,
                                    err);
    }
    e->writer = a->writer;
    rc = act(e, actions, err);
    arm(e);
    if (rc != 0) return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, rc, err);
    fo_agent_ro_held(e);
    fo_agent_conn_reply(c, 0, NULL, NULL);
}

/* Renews one HELD lease for a message delay ms late. Returns 0, FO_ETIMEDOUT when the
 * message is too late to extend it (err says so), or FO_ENOTFOUND when it ran out
 * before this renewal (its timer had not fired yet): then the VIP is deleted now. */
static int renew_one(struct agent_lease *e, uint64_t epoch, uint64_t delay, char *err)
{
    char aerr[FO_ERRLEN], v[FO_VIP_STRLEN];
    unsigned actions = 0;
    int rc;

    rc = fo_lease_renew_delayed(&e->lease, epoch, delay, uv_now(e->s->loop), &actions, err);
    if (actions & FO_LEASE_DEL_VIP) {
        e->s->m.lease_expired++;
        FO_WARN(MOD, "cluster %s: lease on %s ran out before its renewal; removing the VIP", e->cfg->name,
                fo_vip_str(e->vip, v));
    }
    act(e, actions, aerr);
    arm(e);
    if (rc == 0) fo_agent_ro_held(e);
    return rc;
}

/* Renews the named lease, or with vip "" every lease of the cluster that is held; a
 * lease that is not held is never brought back (lease.h): acquire again. */
static void do_renew(struct agent_conn *c, const Fo__Agent__RenewLease *r)
{
    struct fo_agent_server *s = c->s;
    struct lease_sel sel;
    enum fo_agent_refuse why;
    char err[FO_ERRLEN], derr[FO_ERRLEN];
    unsigned i, renewed = 0, late = 0;
    uint64_t delay;
    int rc;

    if ((rc = select_leases(s, r->cluster, r->vip, &sel, &why, err)) != 0) return fo_agent_conn_refuse(c, why, rc, err);
    if ((rc = check_stale(s, &sel, r->epoch, "renew", err)) != 0)
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_STALE_EPOCH, rc, err);
    delay = message_delay(c, r->sent_mono_ms, r->sender_boot);
    for (i = 0; i < s->n_leases; i++) {
        struct agent_lease *e = &s->leases[i];
        if (!selected(&sel, e) || e->lease.state != FO_LEASE_HELD) continue;
        rc = renew_one(e, r->epoch, delay, err);
        if (rc == 0) renewed++;
        if (rc == FO_ETIMEDOUT) {
            late++;
            snprintf(derr, sizeof derr, "%s", err);
        }
    }
    if (renewed > 0) return fo_agent_conn_reply(c, 0, NULL, NULL);
    if (late > 0) return refuse_delayed(c, derr);
    if (sel.all)
        fo_errf(err, FO_ENOTFOUND, "no lease held for cluster %s; acquire again", sel.cl->name);
    else
        fo_errf(err, FO_ENOTFOUND, "no lease held on %.40s for cluster %s; acquire again", r->vip, sel.cl->name);
    fo_agent_conn_refuse(c, FO_AGENT_REFUSE_NOT_HELD, FO_ENOTFOUND, err);
}

/* Releases the named lease, or with vip "" every lease of the cluster, from any state:
 * each deletes its address whatever the lease says (after a restart the agent holds
 * no lease while the address may still be configured, and an address may have been
 * added by hand: the controller's stray-VIP check relies on this), and the answer
 * says whether an address was actually deleted. */
static void do_release(struct agent_conn *c, const Fo__Agent__ReleaseVip *r)
{
    Fo__Agent__AgentResponse resp = FO__AGENT__AGENT_RESPONSE__INIT;
    struct fo_agent_server *s = c->s;
    struct lease_sel sel;
    enum fo_agent_refuse why;
    char err[FO_ERRLEN];
    unsigned i, actions;
    bool removed = false;
    int rc;

    if ((rc = select_leases(s, r->cluster, r->vip, &sel, &why, err)) != 0) return fo_agent_conn_refuse(c, why, rc, err);
    if ((rc = check_stale(s, &sel, r->epoch, "release", err)) != 0)
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_STALE_EPOCH, rc, err);
    for (i = 0; i < s->n_leases; i++) {
        struct agent_lease *e = &s->leases[i];
        if (!selected(&sel, e)) continue;
        actions = 0;
        if (fo_lease_release(&e->lease, r->epoch, &actions, err) != 0) FO_ERROR(MOD, "release: %s", err);
        if (del_vip(e)) removed = true;
        act(e, actions & ~(unsigned)FO_LEASE_DEL_VIP, err);
        arm(e);
    }
    resp.vip_removed = removed;
    fo_agent_conn_respond(c, &resp);
}

static void apply(struct agent_conn *c, Fo__Agent__AgentRequest *req)
{
    switch (req->body_case) {
    case FO__AGENT__AGENT_REQUEST__BODY_ACQUIRE: do_acquire(c, req->acquire); break;
    case FO__AGENT__AGENT_REQUEST__BODY_RENEW: do_renew(c, req->renew); break;
    case FO__AGENT__AGENT_REQUEST__BODY_RELEASE: do_release(c, req->release); break;
    case FO__AGENT__AGENT_REQUEST__BODY_FENCE: fo_agent_rpc_fence(c, req->fence); break;
    case FO__AGENT__AGENT_REQUEST__BODY_SALVAGE: fo_agent_rpc_salvage(c, req->salvage); break;
    default: fo_agent_conn_refuse(c, FO_AGENT_REFUSE_BAD_REQUEST, FO_EINVAL, "unexpected request"); break;
    }
    fo__agent__agent_request__free_unpacked(req, NULL);
}

/* ---- Status ---------------------------------------------------------------------------------- */

/* One ClusterStatus per lease: its cluster's epoch, the lease, and its configured VIP
 * ("a.b.c.d/len", whether held or not) with whether the address is on the interface. */
struct status_row {
    Fo__Agent__ClusterStatus r;
    char vip[INET_ADDRSTRLEN + 4];
};

static void status_row(struct fo_agent_server *s, const struct agent_lease *e, struct status_row *row, uint64_t now)
{
    Fo__Agent__ClusterStatus *r = &row->r;
    char a[INET_ADDRSTRLEN], err[FO_ERRLEN];
    uint64_t deadline;
    bool present = false;

    fo__agent__cluster_status__init(r);
    r->cluster = (char *)e->cfg->name;
    uv_mutex_lock(&s->epoch_mu);
    if (fo_epoch_get(s->epochs, e->cfg->name, &r->epoch) != 0) r->epoch = 0;
    uv_mutex_unlock(&s->epoch_mu);
    r->lease_state = (char *)fo_lease_state_name(e->lease.state);
    if (fo_lease_deadline(&e->lease, &deadline) && deadline > now) r->lease_remaining_ms = deadline - now;
    inet_ntop(AF_INET, &e->vip->addr, a, sizeof a);
    snprintf(row->vip, sizeof row->vip, "%s/%u", a, e->vip->prefix);
    r->vip = row->vip;
    r->interface = (char *)e->vip->ifname;
    /* The interface as it is, lease or not, any prefix length: the controller's
     * stray-VIP check reads this. */
    if (fo_vip_find(e->vip, &present, NULL, err) != 0) FO_WARN(MOD, "status: %s", err);
    r->vip_present = present;
}

static void status_reply(struct agent_conn *c, int reachable, int read_only, const char *myerr)
{
    struct fo_agent_server *s = c->s;
    Fo__Agent__AgentStatus st = FO__AGENT__AGENT_STATUS__INIT;
    struct status_row *rows = calloc(s->n_leases ? s->n_leases : 1, sizeof *rows);
    Fo__Agent__ClusterStatus **ptrs = calloc(s->n_leases ? s->n_leases : 1, sizeof *ptrs);
    uint64_t now = uv_now(s->loop);
    unsigned i;

    if (rows == NULL || ptrs == NULL) {
        free(rows);
        free(ptrs);
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_FAILED, FO_ENOMEM, "out of memory");
    }
    for (i = 0; i < s->n_leases; i++) {
        status_row(s, &s->leases[i], &rows[i], now);
        ptrs[i] = &rows[i].r;
    }
    st.n_clusters = s->n_leases;
    st.clusters = ptrs;
    st.mysql_configured = s->cfg->mysql;
    st.mysql_reachable = reachable;
    st.mysql_read_only = read_only;
    st.mysql_error = (char *)(myerr ? myerr : "");
    fo_agent_conn_reply(c, 0, NULL, &st); /* packs st before returning */
    free(rows);
    free(ptrs);
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

/* The agent serves one request per connection at a time, in order, and the controller
 * pipelines its calls to one agent on one connection: a Status poll waiting on a hung
 * (SIGSTOPped) mysqld for the configured timeouts (1 s connect, 5 s in all by default)
 * would hold a failover's ReleaseVip and FenceMysql queued behind it for that long
 * (docs/fence-stopped.md). The local mysqld answers SELECT @@read_only in
 * milliseconds when it is healthy, so Status asks it for at most this long and
 * otherwise says it did not answer. */
#define STATUS_SQL_MS 150

void fo_agent_rpc_status(struct agent_conn *c)
{
    static const char *const stmt[] = {"SELECT @@read_only"};
    const struct fo_agent_config *cf = c->s->cfg;
    struct fo_sql_opts o;

    if (!cf->mysql) return status_reply(c, 0, 0, NULL);
    memset(&o, 0, sizeof o);
    o.connect_timeout_ms = cf->mysql_connect_timeout_ms < STATUS_SQL_MS ? cf->mysql_connect_timeout_ms : STATUS_SQL_MS;
    o.timeout_ms = cf->mysql_timeout_ms < STATUS_SQL_MS ? cf->mysql_timeout_ms : STATUS_SQL_MS;
    o.tls = &cf->mysql_tls;
    c->sql = fo_sql_run(c->s->loop, cf->mysql_host, cf->mysql_port, cf->mysql_user, cf->mysql_password, stmt, 1, &o,
                        status_sql, c);
    if (c->sql == NULL) status_reply(c, 0, 0, "cannot start the query");
}

/* ---- dispatch -------------------------------------------------------------------------------- */

/* The RPC a request body is, for metrics and logs. */
static enum fo_agent_rpc rpc_of(const Fo__Agent__AgentRequest *req)
{
    switch (req->body_case) {
    case FO__AGENT__AGENT_REQUEST__BODY_ACQUIRE: return FO_AGENT_RPC_ACQUIRE;
    case FO__AGENT__AGENT_REQUEST__BODY_RENEW: return FO_AGENT_RPC_RENEW;
    case FO__AGENT__AGENT_REQUEST__BODY_RELEASE: return FO_AGENT_RPC_RELEASE;
    case FO__AGENT__AGENT_REQUEST__BODY_FENCE: return FO_AGENT_RPC_FENCE;
    case FO__AGENT__AGENT_REQUEST__BODY_LEASE_NONCE: return FO_AGENT_RPC_LEASE_NONCE;
    case FO__AGENT__AGENT_REQUEST__BODY_RELAY_NONCE: return FO_AGENT_RPC_RELAY_NONCE;
    case FO__AGENT__AGENT_REQUEST__BODY_RELAY_RENEW: return FO_AGENT_RPC_RELAY_RENEW;
    case FO__AGENT__AGENT_REQUEST__BODY_SALVAGE: return FO_AGENT_RPC_SALVAGE;
    default: return FO_AGENT_RPC_STATUS;
    }
}

void fo_agent_rpc_dispatch(struct agent_conn *c, Fo__Agent__AgentRequest *req)
{
    enum fo_agent_refuse why;
    char err[FO_ERRLEN];
    int rc;

    c->rpc = rpc_of(req);
    /* The accept time bounds the sender's clock offset only for the FIRST request of a
     * connection, which its sender wrote right after the handshake: a later one (after
     * status polls on a long-lived connection) was written any time since, and the
     * bound would be seconds too low (every lease message would look late). */
    c->anchor_ms = c->accepted_ms;
    c->accepted_ms = 0;
    if (fo_agent_relay_is_relay(req)) return fo_agent_relay_dispatch(c, req);
    /* An agent-role peer (another DB host's agent) may only ask for nonces and hand in
     * relayed renewals (docs/relayed-lease.md): nothing that acquires, releases or
     * fences. */
    if (c->role == FO_TLS_ROLE_AGENT) {
        fo__agent__agent_request__free_unpacked(req, NULL);
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_UNAUTHENTICATED, FO_EPERM,
                                    "an agent may only send LeaseNonce and RelayRenew");
    }
    switch (req->body_case) {
    case FO__AGENT__AGENT_REQUEST__BODY_STATUS:
        fo__agent__agent_request__free_unpacked(req, NULL);
        return fo_agent_rpc_status(c);
    case FO__AGENT__AGENT_REQUEST__BODY_ACQUIRE:
    case FO__AGENT__AGENT_REQUEST__BODY_RENEW:
    case FO__AGENT__AGENT_REQUEST__BODY_RELEASE:
    case FO__AGENT__AGENT_REQUEST__BODY_FENCE:
    case FO__AGENT__AGENT_REQUEST__BODY_SALVAGE: break;
    default:
        fo__agent__agent_request__free_unpacked(req, NULL);
        return fo_agent_conn_refuse(c, FO_AGENT_REFUSE_BAD_REQUEST, FO_EINVAL, "request has no body");
    }
    if ((rc = precheck(c, req, &why, err)) != 0) {
        fo__agent__agent_request__free_unpacked(req, NULL);
        return fo_agent_conn_refuse(c, why, rc, err);
    }
    fenced(c, req);
}

void fo_agent_rpc_cancel(struct agent_conn *c)
{
    struct fo_sql *q = c->sql;

    c->sql = NULL;
    if (q) fo_sql_cancel(q);
    fo_agent_fence_cancel(c);
    fo_agent_relay_cancel(c);
    fo_agent_salvage_cancel(c);
}

/* One metrics row per lease; *vips holds their labels. */
static void lease_rows(struct fo_agent_server *s, struct fo_agent_metrics_lease *rows, char (*vips)[FO_VIP_STRLEN])
{
    uint64_t now = uv_now(s->loop), deadline;
    unsigned i;

    for (i = 0; i < s->n_leases; i++) {
        const struct agent_lease *e = &s->leases[i];
        rows[i].cluster = e->cfg->name;
        rows[i].vip = fo_vip_str(e->vip, vips[i]);
        rows[i].held = e->lease.state == FO_LEASE_HELD;
        rows[i].lease_remaining_s = 0;
        if (fo_lease_deadline(&e->lease, &deadline) && deadline > now)
            rows[i].lease_remaining_s = (double)(deadline - now) / 1000.0;
    }
}

/* One epoch row per cluster that has an epoch on disk; returns how many. */
static unsigned epoch_rows(struct fo_agent_server *s, struct fo_agent_metrics_epoch *rows)
{
    unsigned i, n = 0;

    uv_mutex_lock(&s->epoch_mu);
    for (i = 0; i < s->cfg->n_clusters; i++) {
        rows[n].cluster = s->cfg->clusters[i].name;
        if (fo_epoch_get(s->epochs, rows[n].cluster, &rows[n].epoch) == 0) n++;
    }
    uv_mutex_unlock(&s->epoch_mu);
    return n;
}

void fo_agent_metrics_rows(struct fo_agent_server *s, struct fo_buf *b)
{
    struct fo_agent_metrics_lease *leases = calloc(s->n_leases ? s->n_leases : 1, sizeof *leases);
    char(*vips)[FO_VIP_STRLEN] = calloc(s->n_leases ? s->n_leases : 1, sizeof *vips);
    struct fo_agent_metrics_epoch *epochs = calloc(s->cfg->n_clusters ? s->cfg->n_clusters : 1, sizeof *epochs);
    unsigned n_epochs;

    if (leases == NULL || vips == NULL || epochs == NULL) {
        b->oom = 1; /* the HTTP server answers 500 */
    } else {
        lease_rows(s, leases, vips);
        n_epochs = epoch_rows(s, epochs);
        fo_agent_metrics_render(&s->m, leases, s->n_leases, epochs, n_epochs, b);
        fo_prom_family(b, "failoverd_agent_lease_delayed_total", "counter",
                       "direct lease messages refused because they arrived too late to extend a lease "
                       "(docs/vip-lease-delay.md)");
        fo_prom_value(b, "failoverd_agent_lease_delayed_total", NULL, 0, (double)s->lease_delayed);
    }
    free(leases);
    free(vips);
    free(epochs);
}
