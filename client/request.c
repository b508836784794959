#include "request.h"

#include <string.h>

/* protobuf-c declares strings as char * although packing only reads them. */
#define PB_STR(s) ((char *)(s))

static Fo__PromotionRule pb_rule(enum fo_rule r)
{
    switch (r) {
    case FO_RULE_PREFER: return FO__PROMOTION_RULE__RULE_PREFER;
    case FO_RULE_PREFER_NOT: return FO__PROMOTION_RULE__RULE_PREFER_NOT;
    case FO_RULE_MUST_NOT: return FO__PROMOTION_RULE__RULE_MUST_NOT;
    default: return FO__PROMOTION_RULE__RULE_NEUTRAL;
    }
}

static void build_reads(struct fo_ctl_request *r, const struct fo_ctl_args *a)
{
    switch (a->cmd) {
    case FO_CTL_TOPOLOGY:
        r->body.topology = (Fo__TopologyReq)FO__TOPOLOGY_REQ__INIT;
        r->body.topology.cluster = PB_STR(a->cluster);
        r->req.body_case = FO__REQUEST__BODY_TOPOLOGY;
        r->req.topology = &r->body.topology;
        break;
    case FO_CTL_HISTORY:
        r->body.history = (Fo__HistoryReq)FO__HISTORY_REQ__INIT;
        r->body.history.cluster = PB_STR(a->cluster);
        r->body.history.limit = a->limit;
        r->req.body_case = FO__REQUEST__BODY_HISTORY;
        r->req.history = &r->body.history;
        break;
    case FO_CTL_CLUSTERS:
        r->body.clusters = (Fo__ClustersReq)FO__CLUSTERS_REQ__INIT;
        r->req.body_case = FO__REQUEST__BODY_CLUSTERS;
        r->req.clusters = &r->body.clusters;
        break;
    case FO_CTL_WHY:
        r->body.why = (Fo__WhyReq)FO__WHY_REQ__INIT;
        r->body.why.cluster = PB_STR(a->cluster);
        r->body.why.limit = a->limit;
        r->req.body_case = FO__REQUEST__BODY_WHY;
        r->req.why = &r->body.why;
        break;
    default: /* members, and status's first step */
        r->body.members = (Fo__MembersReq)FO__MEMBERS_REQ__INIT;
        r->req.body_case = FO__REQUEST__BODY_MEMBERS;
        r->req.members = &r->body.members;
        break;
    }
}

static void build_cluster_add(struct fo_ctl_request *r, const struct fo_ctl_args *a)
{
    Fo__ClusterAdd *b = &r->body.cluster_add;

    *b = (Fo__ClusterAdd)FO__CLUSTER_ADD__INIT;
    b->name = PB_STR(a->cluster);
    b->user = PB_STR(a->user);
    b->password_file = PB_STR(a->password_file);
    b->repl_user = PB_STR(a->repl_user);
    b->repl_password_file = PB_STR(a->repl_password_file);
    b->semi_sync = a->semi_sync != 0;
    b->anti_flap_s = a->anti_flap_s;
    b->max_lag_s = a->max_lag_s;
    b->vip = PB_STR(a->vip);
    b->vip_interface = PB_STR(a->vip_interface);
    b->agent_port = a->agent_port;
    b->vip_lease_ms = a->vip_lease_ms;
    b->reader_max_lag_s = a->reader_max_lag_s;
    b->co_primaries = PB_STR(a->co_primaries);
    b->rediscover_interval_s = a->rediscover_interval_s;
    b->adopt_replicas = a->adopt_replicas != 0;
    b->n_reader_vips = a->n_reader_vips;
    for (unsigned i = 0; i < a->n_reader_vips; i++) r->reader_vips[i] = PB_STR(a->reader_vips[i]);
    b->reader_vips = r->reader_vips;
    r->req.body_case = FO__REQUEST__BODY_CLUSTER_ADD;
    r->req.cluster_add = b;
}

static void build_cluster_writes(struct fo_ctl_request *r, const struct fo_ctl_args *a)
{
    switch (a->cmd) {
    case FO_CTL_CLUSTER_ADD: build_cluster_add(r, a); break;
    case FO_CTL_CLUSTER_REMOVE:
        r->body.cluster_remove = (Fo__ClusterRemove)FO__CLUSTER_REMOVE__INIT;
        r->body.cluster_remove.name = PB_STR(a->cluster);
        r->req.body_case = FO__REQUEST__BODY_CLUSTER_REMOVE;
        r->req.cluster_remove = &r->body.cluster_remove;
        break;
    case FO_CTL_INSTANCE_ADD:
        r->body.instance_add = (Fo__InstanceAdd)FO__INSTANCE_ADD__INIT;
        r->body.instance_add.cluster = PB_STR(a->cluster);
        r->body.instance_add.host = PB_STR(a->host);
        r->body.instance_add.port = a->port;
        r->body.instance_add.rule = pb_rule(a->rule);
        r->req.body_case = FO__REQUEST__BODY_INSTANCE_ADD;
        r->req.instance_add = &r->body.instance_add;
        break;
    case FO_CTL_INSTANCE_RULE:
        r->body.promotion_rule = (Fo__SetPromotionRule)FO__SET_PROMOTION_RULE__INIT;
        r->body.promotion_rule.cluster = PB_STR(a->cluster);
        r->body.promotion_rule.host = PB_STR(a->host);
        r->body.promotion_rule.port = a->port;
        r->body.promotion_rule.rule = pb_rule(a->rule);
        r->req.body_case = FO__REQUEST__BODY_PROMOTION_RULE;
        r->req.promotion_rule = &r->body.promotion_rule;
        break;
    default: /* FO_CTL_INSTANCE_REMOVE */
        r->body.instance_remove = (Fo__InstanceRemove)FO__INSTANCE_REMOVE__INIT;
        r->body.instance_remove.cluster = PB_STR(a->cluster);
        r->body.instance_remove.host = PB_STR(a->host);
        r->body.instance_remove.port = a->port;
        r->req.body_case = FO__REQUEST__BODY_INSTANCE_REMOVE;
        r->req.instance_remove = &r->body.instance_remove;
        break;
    }
}

static void build_member_writes(struct fo_ctl_request *r, const struct fo_ctl_args *a)
{
    switch (a->cmd) {
    case FO_CTL_MEMBER_ADD:
        r->body.member_add = (Fo__MemberAddReq)FO__MEMBER_ADD_REQ__INIT;
        r->body.member_add.id = a->id;
        r->body.member_add.raft_address = PB_STR(a->raft_address);
        r->req.body_case = FO__REQUEST__BODY_MEMBER_ADD;
        r->req.member_add = &r->body.member_add;
        break;
    case FO_CTL_MEMBER_REMOVE:
        r->body.member_remove = (Fo__MemberRemoveReq)FO__MEMBER_REMOVE_REQ__INIT;
        r->body.member_remove.id = a->id;
        r->req.body_case = FO__REQUEST__BODY_MEMBER_REMOVE;
        r->req.member_remove = &r->body.member_remove;
        break;
    default: /* FO_CTL_MEMBER_TRANSFER */
        r->body.member_transfer = (Fo__MemberTransferReq)FO__MEMBER_TRANSFER_REQ__INIT;
        r->body.member_transfer.id = a->id;
        r->req.body_case = FO__REQUEST__BODY_MEMBER_TRANSFER;
        r->req.member_transfer = &r->body.member_transfer;
        break;
    }
}

/* failover and switchover: an empty target lets the controller choose. */
static void build_failovers(struct fo_ctl_request *r, const struct fo_ctl_args *a)
{
    if (a->cmd == FO_CTL_FAILOVER) {
        r->body.failover = (Fo__FailoverReq)FO__FAILOVER_REQ__INIT;
        r->body.failover.cluster = PB_STR(a->cluster);
        r->body.failover.target_host = PB_STR(a->target_host);
        r->body.failover.target_port = a->target_port;
        r->req.body_case = FO__REQUEST__BODY_FAILOVER;
        r->req.failover = &r->body.failover;
        return;
    }
    r->body.switchover = (Fo__SwitchoverReq)FO__SWITCHOVER_REQ__INIT;
    r->body.switchover.cluster = PB_STR(a->cluster);
    r->body.switchover.target_host = PB_STR(a->target_host);
    r->body.switchover.target_port = a->target_port;
    r->req.body_case = FO__REQUEST__BODY_SWITCHOVER;
    r->req.switchover = &r->body.switchover;
}

/* ack, recoveries, maintenance: the operator's switches on automatic failover. */
static void build_switches(struct fo_ctl_request *r, const struct fo_ctl_args *a)
{
    switch (a->cmd) {
    case FO_CTL_ACK:
        r->body.ack = (Fo__Ack)FO__ACK__INIT;
        r->body.ack.cluster = PB_STR(a->cluster);
        r->req.body_case = FO__REQUEST__BODY_ACK;
        r->req.ack = &r->body.ack;
        break;
    case FO_CTL_RECOVERIES:
        r->body.recoveries = (Fo__RecoveriesReq)FO__RECOVERIES_REQ__INIT;
        r->body.recoveries.enabled = a->on != 0;
        r->req.body_case = FO__REQUEST__BODY_RECOVERIES;
        r->req.recoveries = &r->body.recoveries;
        break;
    default: /* FO_CTL_MAINTENANCE; host "" = the whole cluster */
        r->body.maintenance = (Fo__Maintenance)FO__MAINTENANCE__INIT;
        r->body.maintenance.cluster = PB_STR(a->cluster);
        r->body.maintenance.host = PB_STR(a->host);
        r->body.maintenance.port = a->port;
        r->body.maintenance.on = a->on != 0;
        r->body.maintenance.reason = PB_STR(a->reason);
        r->req.body_case = FO__REQUEST__BODY_MAINTENANCE;
        r->req.maintenance = &r->body.maintenance;
        break;
    }
}

void fo_ctl_request_build(struct fo_ctl_request *r, const struct fo_ctl_args *a)
{
    memset(r, 0, sizeof(*r));
    r->req = (Fo__Request)FO__REQUEST__INIT;
    switch (a->cmd) {
    case FO_CTL_CLUSTER_ADD:
    case FO_CTL_CLUSTER_REMOVE:
    case FO_CTL_INSTANCE_ADD:
    case FO_CTL_INSTANCE_REMOVE:
    case FO_CTL_INSTANCE_RULE: build_cluster_writes(r, a); break;
    case FO_CTL_FAILOVER:
    case FO_CTL_SWITCHOVER: build_failovers(r, a); break;
    case FO_CTL_ACK:
    case FO_CTL_RECOVERIES:
    case FO_CTL_MAINTENANCE: build_switches(r, a); break;
    case FO_CTL_MEMBER_ADD:
    case FO_CTL_MEMBER_REMOVE:
    case FO_CTL_MEMBER_TRANSFER: build_member_writes(r, a); break;
    default: build_reads(r, a); break;
    }
}

void fo_ctl_request_status(struct fo_ctl_request *r)
{
    memset(r, 0, sizeof(*r));
    r->req = (Fo__Request)FO__REQUEST__INIT;
    r->body.status = (Fo__StatusReq)FO__STATUS_REQ__INIT;
    r->req.body_case = FO__REQUEST__BODY_STATUS;
    r->req.status = &r->body.status;
}

Fo__Response__BodyCase fo_ctl_request_expected_body(enum fo_ctl_cmd cmd)
{
    switch (cmd) {
    case FO_CTL_STATUS:
    case FO_CTL_MEMBERS: return FO__RESPONSE__BODY_MEMBERS;
    case FO_CTL_TOPOLOGY: return FO__RESPONSE__BODY_TOPOLOGY;
    case FO_CTL_HISTORY: return FO__RESPONSE__BODY_HISTORY;
    case FO_CTL_CLUSTERS: return FO__RESPONSE__BODY_CLUSTERS;
    case FO_CTL_WHY: return FO__RESPONSE__BODY_WHY;
    default: return FO__RESPONSE__BODY__NOT_SET;
    }
}
