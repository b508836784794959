/* Admin requests of the failover engine: why, failover, switchover, ack, recoveries,
 * maintenance, promotion rules, and the followers' verdicts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "controller/admin/admin_internal.h"
#include "controller/act/failover.h"
#include "controller/decide/flavour.h"
#include "controller/decide/topology.h" /* FO_PROBLEM_LEN */
#include "controller/probe/monitor.h"

#define WHY_DEFAULT 20
#define WHY_MAX 1000

Fo__FailoverRecord *fo_admin_failover_record(struct areq *r, const struct fo_store_failover *f)
{
    Fo__FailoverRecord *fr = areq_alloc(r, sizeof(*fr));
    char buf[FO_ADDR_LEN];

    if (fr == NULL) return NULL;
    fo__failover_record__init(fr);
    fr->cluster = areq_strdup(r, f->cluster);
    fr->epoch = f->epoch;
    fr->kind = (Fo__FailoverKind)f->kind;
    snprintf(buf, sizeof(buf), "%s:%u", f->old_host, f->old_port);
    fr->old_primary = areq_strdup(r, buf);
    if (f->new_host[0] != '\0')
        snprintf(buf, sizeof(buf), "%s:%u", f->new_host, f->new_port);
    else
        buf[0] = '\0';
    fr->new_primary = areq_strdup(r, buf);
    fr->reason = areq_strdup(r, f->reason);
    fr->started_ms = f->started_ms;
    fr->ended_ms = f->ended_ms;
    fr->last_step = (Fo__FailoverStep)f->last_step;
    fr->result = (Fo__FailoverResult)f->result;
    fr->detail = areq_strdup(r, f->detail);
    fr->steps = areq_strdup(r, f->steps);
    fr->total_ms = f->total_ms;
    fr->confirmations = areq_strdup(r, f->confirmations);
    return fr;
}

/* ------------------------------------------------------------------ verdicts */

/* A follower's view of a primary (DESIGN.md §5). Who sent it is the certificate's
 * node id, never the request's word for it (admin.h); whether it counts is the
 * monitor's call (only a current voter's does). */
static void handle_verdict(struct areq *r)
{
    Fo__VerdictReq *v = r->req->verdict;
    Fo__Response resp;
    uint64_t node;
    int rc;

    if (fo_admin_internal_peer(r, "verdict", v->node_id, &node) != 0) return;
    if (!fo_raft_is_leader(&r->ctl->raft)) return areq_fail(r, FO_ENOTLEADER, "not the leader");
    if (node == 0 || fo_check_name(v->cluster, NULL) != 0 || v->host[0] == '\0' || strlen(v->host) >= FO_HOST_LEN ||
        v->port == 0 || v->port > 65535)
        return areq_fail(r, FO_EINVAL, "malformed verdict");
    rc = fo_monitor_record_vote(r->ctl, node, v->cluster, v->host, (uint16_t)v->port, v->down);
    if (rc == FO_EPERM)
        return areq_fail(r, FO_EPERM, "node %llu is not a voter of the raft configuration: its verdict does not count",
                         (unsigned long long)node);
    fo__response__init(&resp);
    areq_reply(r, &resp);
}

/* ------------------------------------------------------------------ why */

static int add_decision(void *data, const struct fo_store_decision *d)
{
    struct areq_list *c = data;
    Fo__DecisionRecord *dr = areq_alloc(c->r, sizeof(*dr));

    if (dr == NULL) return areq_list_push(c, NULL);
    fo__decision_record__init(dr);
    dr->seq = d->seq;
    dr->wall_ms = d->wall_ms;
    dr->cluster = areq_strdup(c->r, d->cluster);
    dr->instance = areq_strdup(c->r, d->instance);
    dr->verdict = areq_strdup(c->r, d->verdict);
    dr->reason = areq_strdup(c->r, d->reason);
    dr->detail = areq_strdup(c->r, d->detail);
    return areq_list_push(c, dr);
}

static int add_quarantined(void *data, const struct fo_store_instance *i)
{
    struct areq_list *c = data;
    char buf[FO_ADDR_LEN + 300];

    if (!i->quarantined) return 0;
    snprintf(buf, sizeof(buf), "%s:%u: %s", i->host, i->port, i->quarantine_reason);
    return areq_list_push(c, areq_strdup(c->r, buf));
}

static void handle_why(struct areq *r)
{
    Fo__WhyReq *w = r->req->why;
    struct areq_list dec = {.r = r}, quar = {.r = r};
    unsigned limit = w->limit ? w->limit : WHY_DEFAULT;
    struct fo_store_cluster c;
    struct fo_store_failover f;
    Fo__Response resp;
    Fo__WhyResp wr;
    char buf[FO_ADDR_LEN];

    if (fo_check_name(w->cluster, NULL) != 0) return areq_fail(r, FO_EINVAL, "invalid cluster name");
    if (limit > WHY_MAX) return areq_fail(r, FO_EINVAL, "limit %u is above %u", limit, WHY_MAX);
    if (fo_store_get_cluster(r->ctl->store, w->cluster, &c) != 0)
        return areq_fail(r, FO_ENOTFOUND, "cluster '%s' is not registered", w->cluster);
    fo__response__init(&resp);
    fo__why_resp__init(&wr);
    wr.cluster = areq_strdup(r, c.name);
    wr.recoveries_enabled = fo_store_recoveries_enabled(r->ctl->store);
    wr.maintenance = c.maintenance;
    wr.blocked_until_ms = c.blocked_until_ms > fo_ctl_wall_ms() ? c.blocked_until_ms : 0;
    wr.epoch = c.epoch;
    if (c.primary_host[0])
        snprintf(buf, sizeof(buf), "%s:%u", c.primary_host, c.primary_port);
    else
        buf[0] = '\0';
    wr.primary = areq_strdup(r, buf);
    if (fo_store_get_running_failover(r->ctl->store, c.name, &f) == 0) wr.running = fo_admin_failover_record(r, &f);
    fo_store_each_decision(r->ctl->store, c.name, limit, add_decision, &dec);
    fo_store_each_instance(r->ctl->store, c.name, add_quarantined, &quar);
    if (dec.oom || quar.oom) return areq_fail(r, FO_ENOMEM, "out of memory");
    wr.n_decisions = dec.n;
    wr.decisions = (Fo__DecisionRecord **)dec.items;
    wr.n_quarantined = quar.n;
    wr.quarantined = (char **)quar.items;
    resp.body_case = FO__RESPONSE__BODY_WHY;
    resp.why = &wr;
    areq_reply(r, &resp);
}

/* ------------------------------------------------------------------ failover / switchover */

static void request_done(void *data, int status, const char *detail)
{
    struct areq *r = data;
    Fo__Response resp;

    if (status != 0) return areq_fail(r, status, "%s", detail);
    fo__response__init(&resp);
    areq_reply(r, &resp);
}

/* Issue 15.6: an operator's failover or switchover is refused, like every automatic
 * action, in a cluster holding a server of a flavour failoverd does not support
 * (controller/decide/flavour.h). Checked here, on the leader, before the engine is
 * asked: the engine's own checks (candidate choice) come only after the fence. */
struct flavour_collect {
    struct fo_ctl *ctl;
    struct fo_flavour_in in[FO_MAX_INSTANCES_PER_CLUSTER];
    char hosts[FO_MAX_INSTANCES_PER_CLUSTER][FO_HOST_LEN];
    unsigned n;
};

static int collect_flavour(void *data, const struct fo_store_instance *i)
{
    struct flavour_collect *fc = data;
    struct fo_flavour_in *x;
    struct fo_watch_view v;

    if (fc->n == FO_MAX_INSTANCES_PER_CLUSTER) return 1;
    x = &fc->in[fc->n];
    memset(x, 0, sizeof(*x));
    snprintf(fc->hosts[fc->n], FO_HOST_LEN, "%s", i->host);
    x->host = fc->hosts[fc->n];
    x->port = i->port;
    /* The monitor's sample and error outlive this call (until the loop runs again). */
    if (fo_monitor_view(fc->ctl, i->cluster, i->host, i->port, &v)) {
        x->version = v.has_sample ? v.sample->version : NULL;
        x->last_error = v.last_ok ? NULL : v.last_error;
    } else if (i->last_error[0] != '\0') {
        x->last_error = i->last_error; /* not probed here: the replicated last error */
    }
    fc->n++;
    return 0;
}

/* Returns true (and answers r) when the cluster must not be failed over. */
static bool refuse_flavour(struct areq *r, const char *cluster, int kind)
{
    struct flavour_collect *fc;
    struct fo_store_cluster c;
    char why[FO_PROBLEM_LEN + 64], reason[FO_PROBLEM_LEN + 128], err[FO_ERRLEN];
    Fo__Command cmd;
    Fo__Decision d;
    bool refused;

    if (fo_store_get_cluster(r->ctl->store, cluster, &c) != 0) return false; /* the engine says so */
    if ((fc = calloc(1, sizeof(*fc))) == NULL) {
        areq_fail(r, FO_ENOMEM, "out of memory");
        return true;
    }
    fc->ctl = r->ctl;
    fo_store_each_instance(r->ctl->store, cluster, collect_flavour, fc);
    refused = fo_flavour_refuse(fc->in, fc->n, c.problems, why, sizeof(why));
    free(fc);
    if (!refused) return false;
    snprintf(reason, sizeof(reason), "%s requested by an operator, refused: %s",
             kind == FO__FAILOVER_KIND__KIND_SWITCHOVER ? "switchover" : "failover", why);
    fo__command__init(&cmd);
    fo__decision__init(&d);
    d.cluster = c.name;
    d.verdict = (char *)"refused";
    d.reason = reason;
    d.host = c.primary_host;
    d.port = c.primary_port;
    cmd.body_case = FO__COMMAND__BODY_DECISION;
    cmd.decision = &d;
    if (fo_ctl_propose(r->ctl, &cmd, NULL, NULL, err) != 0) FO_WARN("admin", "recording a refusal: %s", err);
    areq_fail(r, FO_EPERM, "%s", reason);
    return true;
}

static void handle_failover(struct areq *r, int kind)
{
    const char *cluster, *host;
    uint32_t port;
    char err[FO_ERRLEN];
    int rc;

    if (kind == FO__FAILOVER_KIND__KIND_SWITCHOVER) {
        cluster = r->req->switchover->cluster;
        host = r->req->switchover->target_host;
        port = r->req->switchover->target_port;
    } else {
        cluster = r->req->failover->cluster;
        host = r->req->failover->target_host;
        port = r->req->failover->target_port;
    }
    if (fo_check_name(cluster, NULL) != 0) return areq_fail(r, FO_EINVAL, "invalid cluster name");
    if (host[0] != '\0' && (strlen(host) >= FO_HOST_LEN || port == 0 || port > 65535))
        return areq_fail(r, FO_EINVAL, "invalid target");
    if (!fo_admin_leader_or_forward(r)) return;
    if (refuse_flavour(r, cluster, kind)) return;
    rc = fo_failover_request(r->ctl, cluster, kind, host, (uint16_t)port, request_done, r, err);
    if (rc != 0) areq_fail(r, rc, "%s", err);
}

/* ------------------------------------------------------------------ simple writes */

static void handle_ack(struct areq *r)
{
    struct fo_store_cluster c;
    Fo__Command cmd;

    if (fo_check_name(r->req->ack->cluster, NULL) != 0) return areq_fail(r, FO_EINVAL, "invalid cluster name");
    if (!fo_admin_leader_or_forward(r)) return;
    if (fo_store_get_cluster(r->ctl->store, r->req->ack->cluster, &c) != 0)
        return areq_fail(r, FO_ENOTFOUND, "cluster '%s' is not registered", r->req->ack->cluster);
    fo__command__init(&cmd);
    cmd.body_case = FO__COMMAND__BODY_ACK;
    cmd.ack = r->req->ack;
    fo_admin_propose(r, &cmd);
}

static void handle_recoveries(struct areq *r)
{
    Fo__Command cmd;
    Fo__RecoveriesEnable re;

    if (!fo_admin_leader_or_forward(r)) return;
    fo__command__init(&cmd);
    fo__recoveries_enable__init(&re);
    re.enabled = r->req->recoveries->enabled;
    cmd.body_case = FO__COMMAND__BODY_RECOVERIES;
    cmd.recoveries = &re;
    fo_admin_propose(r, &cmd);
}

static void handle_maintenance(struct areq *r)
{
    Fo__Maintenance *m = r->req->maintenance;
    struct fo_store_instance i;
    struct fo_store_cluster c;
    Fo__Command cmd;

    if (fo_check_name(m->cluster, NULL) != 0) return areq_fail(r, FO_EINVAL, "invalid cluster name");
    if (strlen(m->reason) > 200) return areq_fail(r, FO_EINVAL, "reason longer than 200 characters");
    if (!fo_admin_leader_or_forward(r)) return;
    if (fo_store_get_cluster(r->ctl->store, m->cluster, &c) != 0)
        return areq_fail(r, FO_ENOTFOUND, "cluster '%s' is not registered", m->cluster);
    if (m->host[0] != '\0' && fo_store_get_instance(r->ctl->store, m->cluster, m->host, (uint16_t)m->port, &i) != 0)
        return areq_fail(r, FO_ENOTFOUND, "%s:%u is not in cluster '%s'", m->host, m->port, m->cluster);
    fo__command__init(&cmd);
    cmd.body_case = FO__COMMAND__BODY_MAINTENANCE;
    cmd.maintenance = m;
    fo_admin_propose(r, &cmd);
}

static void handle_rule(struct areq *r)
{
    Fo__SetPromotionRule *p = r->req->promotion_rule;
    struct fo_store_instance i;
    Fo__Command cmd;

    if (fo_check_name(p->cluster, NULL) != 0) return areq_fail(r, FO_EINVAL, "invalid cluster name");
    if ((unsigned)p->rule > FO__PROMOTION_RULE__RULE_MUST_NOT) return areq_fail(r, FO_EINVAL, "invalid rule");
    if (!fo_admin_leader_or_forward(r)) return;
    if (fo_store_get_instance(r->ctl->store, p->cluster, p->host, (uint16_t)p->port, &i) != 0)
        return areq_fail(r, FO_ENOTFOUND, "%s:%u is not in cluster '%s'", p->host, p->port, p->cluster);
    fo__command__init(&cmd);
    cmd.body_case = FO__COMMAND__BODY_PROMOTION_RULE;
    cmd.promotion_rule = p;
    fo_admin_propose(r, &cmd);
}

void fo_admin_failover_dispatch(struct areq *r)
{
    switch (r->req->body_case) {
    case FO__REQUEST__BODY_VERDICT: return handle_verdict(r);
    case FO__REQUEST__BODY_WHY: return handle_why(r);
    case FO__REQUEST__BODY_FAILOVER: return handle_failover(r, FO__FAILOVER_KIND__KIND_MANUAL);
    case FO__REQUEST__BODY_SWITCHOVER: return handle_failover(r, FO__FAILOVER_KIND__KIND_SWITCHOVER);
    case FO__REQUEST__BODY_ACK: return handle_ack(r);
    case FO__REQUEST__BODY_RECOVERIES: return handle_recoveries(r);
    case FO__REQUEST__BODY_MAINTENANCE: return handle_maintenance(r);
    case FO__REQUEST__BODY_PROMOTION_RULE: return handle_rule(r);
    default: return areq_fail(r, FO_EVERSION, "unknown request type");
    }
}
