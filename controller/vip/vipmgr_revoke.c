/* The failover's fence step at the old primary's agent (DESIGN.md §6 step 2, issue 8
 * item 2): ReleaseVip and FenceMysql sent together at the failover's epoch, and the
 * renewal loop kept away from that host until the failover has ended. See vipmgr.h
 * for the contract. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "controller/vip/vipmgr_internal.h"

#define MOD "vip"

struct fo_vipmgr_revoke {
    struct fo_vipmgr_revoke *next;
    struct fo_vipmgr *v;
    char cluster[FO_NAME_LEN];
    char host[FO_HOST_LEN];
    uint16_t port;       /* the old primary's mysqld */
    uint16_t agent_port; /* its host's agent (the cluster's agent_port) */
    uint64_t epoch;
    uint64_t t0_ms;
    bool has_vip;
    struct fo_agentc_call *rel, *fence;
    unsigned pending; /* calls not called back yet */
    char rel_note[200], fence_note[200];
    struct fo_vipmgr_revoke_result res;
    fo_vipmgr_revoke_cb cb;
    void *data;
};

static void unlink_revoke(struct fo_vipmgr_revoke *r)
{
    struct fo_vipmgr_revoke **pp;

    for (pp = &r->v->revokes; *pp != NULL; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            return;
        }
}

#define LONGEST_LEASE_MS 600000u /* AcquireVip's lease_ms limit (proto/agent.proto) */

uint64_t fo_vipmgr_lease_safe_at(struct fo_vipmgr *v, const char *cluster, const char *host, uint16_t port)
{
    struct fo_store_cluster c;
    struct fo__vip_target t;
    struct fo__vip_state *s;

    if (v == NULL) return UINT64_MAX; /* no manager (stopped): nothing is known, never safe */
    if (!v->ready || fo_store_get_cluster(v->ctl->store, cluster, &c) != 0)
        return uv_now(v->ctl->loop) + LONGEST_LEASE_MS + v->ctl->cfg.election_timeout_ms + FO_VIPMGR_MARGIN_MS;
    if (c.vip[0] == '\0') return 0;
    memset(&t, 0, sizeof(t));
    snprintf(t.host, sizeof(t.host), "%s", host);
    t.port = port;
    if ((s = fo__vip_state_find(v, cluster, "")) == NULL)
        return v->ready_ms + fo__vip_lease_ms(&c) + v->ctl->cfg.election_timeout_ms + FO_VIPMGR_MARGIN_MS;
    return fo__vip_expiry_of(v, s, &c, &t);
}

static void finish(struct fo_vipmgr_revoke *r)
{
    struct fo_vipmgr *v = r->v;
    struct fo_vipmgr_revoke_result res;
    fo_vipmgr_revoke_cb cb = r->cb;
    void *data = r->data;
    uint64_t now = uv_now(v->ctl->loop);
    struct fo__vip_state *s;

    res = r->res;
    if (!res.released) res.lease_safe_at_ms = fo_vipmgr_lease_safe_at(v, r->cluster, r->host, r->port);
    if (res.released && r->has_vip && (s = fo__vip_state_find(v, r->cluster, "")) != NULL) {
        s->released_by_revoke = true;
        s->held = false;
    }
    snprintf(res.detail, sizeof(res.detail), "agent %.80s:%u at epoch %llu in %llu ms: %.150s; %.150s%s", r->host,
             r->agent_port, (unsigned long long)r->epoch, (unsigned long long)(now - r->t0_ms), r->rel_note,
             r->fence_note,
             res.released                 ? ""
             : res.lease_safe_at_ms > now ? "; the old lease has surely run out later"
                                          : "; the old lease has surely run out already");
    if (!res.released && res.lease_safe_at_ms > now) {
        size_t len = strlen(res.detail);
        snprintf(res.detail + len, sizeof(res.detail) - len, " (in %llu ms)",
                 (unsigned long long)(res.lease_safe_at_ms - now));
    }
    v->revokes_total++;
    if (res.released) v->revokes_released++;
    if (res.mysql_fenced) v->revokes_fenced++;
    if (!res.agent_reached) v->revokes_unreached++;
    fo_log(res.released && res.mysql_fenced ? FO_LOG_INFO : FO_LOG_WARN, MOD, "cluster %s: revoke on %s:%u: %s",
           r->cluster, r->host, r->port, res.detail);
    unlink_revoke(r);
    free(r);
    cb(data, &res);
    fo__vip_unref(v);
}

static void note(char *out, size_t n, const char *what, int status, const char *error,
                 const Fo__Agent__AgentResponse *resp)
{
    if (status == 0 && resp->code == 0)
        snprintf(out, n, "%s confirmed", what);
    else if (status == 0)
        snprintf(out, n, "%s refused (%s): %.120s", what, fo_strerror(resp->code), error);
    else
        snprintf(out, n, "%s failed (%s): %.120s", what, fo_strerror(status), error[0] ? error : fo_strerror(status));
}

static void rel_done(void *data, int status, const char *error, const Fo__Agent__AgentResponse *resp)
{
    struct fo_vipmgr_revoke *r = data;

    r->rel = NULL;
    if (status == 0) r->res.agent_reached = true;
    r->res.released = status == 0 && resp->code == 0;
    note(r->rel_note, sizeof(r->rel_note), "ReleaseVip", status, error, resp);
    if (--r->pending == 0) finish(r);
}

static void fence_done(void *data, int status, const char *error, const Fo__Agent__AgentResponse *resp)
{
    struct fo_vipmgr_revoke *r = data;

    r->fence = NULL;
    if (status == 0) r->res.agent_reached = true;
    r->res.mysql_fenced = status == 0 && resp->code == 0;
    if (r->res.mysql_fenced && resp->fence != NULL && resp->fence->mysqld_killed) {
        /* fence_kill_stopped (docs/fence-stopped.md): history and `why` say which
         * process the agent killed and in what state it was. */
        snprintf(r->fence_note, sizeof(r->fence_note),
                 "FenceMysql confirmed: mysqld pid %u was stopped (state %.4s): killed", resp->fence->mysqld_pid,
                 resp->fence->mysqld_state ? resp->fence->mysqld_state : "?");
        FO_WARN(MOD, "cluster %s: the agent of %s killed the stopped mysqld: %.300s", r->cluster, r->host,
                resp->fence->detail ? resp->fence->detail : "");
    } else {
        note(r->fence_note, sizeof(r->fence_note), "FenceMysql", status, error, resp);
    }
    if (--r->pending == 0) finish(r);
}

/* Stops the renewal loop for host before anything is sent: a renewal or re-acquire
 * sent after the release would hand the lease back (DESIGN.md §6: the failover owns
 * the VIP from its fence step to its VIP step). */
static int hold_loop(struct fo_vipmgr_revoke *r)
{
    struct fo__vip_state *s = fo__vip_state_get(r->v, r->cluster, "");

    if (s == NULL) return FO_ENOMEM;
    s->revoked = true;
    snprintf(s->revoked_host, sizeof(s->revoked_host), "%s", r->host);
    s->revoked_port = r->port;
    s->revoked_epoch = r->epoch;
    s->released_by_revoke = false;
    fo__vip_quiesce(s);
    return 0;
}

static int send_both(struct fo_vipmgr_revoke *r, const struct fo_store_cluster *c, unsigned timeout_ms,
                     char err[FO_ERRLEN])
{
    Fo__Agent__AgentRequest req = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__ReleaseVip rel = FO__AGENT__RELEASE_VIP__INIT;
    Fo__Agent__FenceMysql fence = FO__AGENT__FENCE_MYSQL__INIT;
    char addr[FO_VIP_LEN], ferr[FO_ERRLEN];

    r->agent_port = fo__vip_agent_port(c);

    if (r->has_vip) {
        snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(c->vip, "/"), c->vip);
        rel.cluster = r->cluster;
        rel.epoch = r->epoch;
        rel.vip = addr;
        req.body_case = FO__AGENT__AGENT_REQUEST__BODY_RELEASE;
        req.release = &rel;
        r->rel = fo_agentc_call(r->v->agentc, r->host, r->agent_port, &req, timeout_ms, rel_done, r, err);
        if (r->rel == NULL) return FO_EIO;
        r->pending++;
    } else {
        r->res.released = true;
        snprintf(r->rel_note, sizeof(r->rel_note), "no writer VIP to release");
    }
    fence.cluster = r->cluster;
    fence.epoch = r->epoch;
    req.body_case = FO__AGENT__AGENT_REQUEST__BODY_FENCE;
    req.release = NULL;
    req.fence = &fence;
    r->fence = fo_agentc_call(r->v->agentc, r->host, r->agent_port, &req, timeout_ms, fence_done, r, ferr);
    if (r->fence == NULL) {
        if (r->pending == 0) return fo_errf(err, FO_EIO, "%s", ferr);
        /* The release is on its way: report the fence as not sent. */
        snprintf(r->fence_note, sizeof(r->fence_note), "FenceMysql not sent: %.150s", ferr);
        return 0;
    }
    r->pending++;
    return 0;
}

struct fo_vipmgr_revoke *fo_vipmgr_revoke(struct fo_vipmgr *v, const char *cluster, const char *host, uint16_t port,
                                          uint64_t epoch, uint64_t deadline_ms, fo_vipmgr_revoke_cb cb, void *data,
                                          char err[FO_ERRLEN])
{
    struct fo_vipmgr_revoke *r;
    struct fo_store_cluster c;
    uint64_t now;
    unsigned timeout_ms;

    if (v == NULL || v->stopping || !v->ready) return fo_errf(err, FO_ENOTLEADER, "not the ready leader"), NULL;
    if (cb == NULL || host == NULL || host[0] == '\0') return fo_errf(err, FO_EINVAL, "no host or callback"), NULL;
    if (fo_store_get_cluster(v->ctl->store, cluster, &c) != 0)
        return fo_errf(err, FO_ENOTFOUND, "cluster '%.64s' is not registered", cluster), NULL;
    now = uv_now(v->ctl->loop);
    if (deadline_ms <= now) return fo_errf(err, FO_ETIMEDOUT, "the revoke's deadline has already passed"), NULL;
    timeout_ms = deadline_ms - now > 600000 ? 600000 : (unsigned)(deadline_ms - now);
    if ((r = calloc(1, sizeof(*r))) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory"), NULL;
    r->v = v;
    snprintf(r->cluster, sizeof(r->cluster), "%s", cluster);
    snprintf(r->host, sizeof(r->host), "%s", host);
    r->port = port;
    r->epoch = epoch;
    r->t0_ms = now;
    r->has_vip = c.vip[0] != '\0';
    r->cb = cb;
    r->data = data;
    if (r->has_vip && hold_loop(r) != 0) {
        free(r);
        return fo_errf(err, FO_ENOMEM, "out of memory"), NULL;
    }
    if (send_both(r, &c, timeout_ms, err) != 0) {
        free(r);
        return NULL;
    }
    r->next = v->revokes;
    v->revokes = r;
    v->refs++;
    return r;
}

void fo_vipmgr_revoke_cancel(struct fo_vipmgr_revoke *r)
{
    /* The calls' callbacks fire from the loop with FO_ECANCELED and finish r. */
    if (r->rel != NULL) fo_agentc_cancel(r->rel);
    if (r->fence != NULL) fo_agentc_cancel(r->fence);
}

void fo__vip_revoke_cancel_all(struct fo_vipmgr *v)
{
    struct fo_vipmgr_revoke *r;

    for (r = v->revokes; r != NULL; r = r->next) fo_vipmgr_revoke_cancel(r);
}

bool fo__vip_revoke_allows(struct fo_vipmgr *v, struct fo__vip_state *s, const struct fo_store_cluster *c,
                           const char *host, uint16_t port)
{
    struct fo_store_failover f;
    int rc;

    if (!s->revoked) return true;
    if (strcmp(host, s->revoked_host) != 0 || port != s->revoked_port) return true;
    /* Ended means: the failover's epoch is committed and none is running any more. */
    rc = fo_store_get_running_failover(v->ctl->store, c->name, &f);
    if (rc == FO_ENOTFOUND && c->epoch >= s->revoked_epoch) {
        FO_INFO(MOD, "cluster %s: the failover at epoch %llu has ended; %s:%u may hold the VIP again", c->name,
                (unsigned long long)s->revoked_epoch, host, port);
        s->revoked = false;
        return true;
    }
    return false;
}
