/* Turns parsed arguments into the fo.Request each command sends (proto/failoverd.proto).
 *
 * A struct fo_ctl_request holds the request and its body in one place; the strings
 * in the body point into the struct fo_ctl_args it was built from, which must
 * outlive it. Nothing here allocates. */
#ifndef FO_CTL_REQUEST_H
#define FO_CTL_REQUEST_H

#include "args.h"
#include "failoverd.pb-c.h"

struct fo_ctl_request {
    Fo__Request req;
    union {
        Fo__StatusReq status;
        Fo__MembersReq members;
        Fo__TopologyReq topology;
        Fo__HistoryReq history;
        Fo__ClustersReq clusters;
        Fo__ClusterAdd cluster_add;
        Fo__ClusterRemove cluster_remove;
        Fo__InstanceAdd instance_add;
        Fo__InstanceRemove instance_remove;
        Fo__MemberAddReq member_add;
        Fo__MemberRemoveReq member_remove;
        Fo__MemberTransferReq member_transfer;
        Fo__WhyReq why;
        Fo__FailoverReq failover;
        Fo__SwitchoverReq switchover;
        Fo__Ack ack;
        Fo__RecoveriesReq recoveries;
        Fo__Maintenance maintenance;
        Fo__SetPromotionRule promotion_rule;
    } body;
    char *reader_vips[FO_MAX_READER_VIPS]; /* cluster add: points into the args */
};

/* Builds the request for a->cmd. `status` builds its first request, MembersReq; the
 * per-member StatusReq comes from fo_ctl_request_status. */
void fo_ctl_request_build(struct fo_ctl_request *r, const struct fo_ctl_args *a);

void fo_ctl_request_status(struct fo_ctl_request *r);

/* The reply body a successful answer to a->cmd carries (NOT_SET for writes). */
Fo__Response__BodyCase fo_ctl_request_expected_body(enum fo_ctl_cmd cmd);

#endif
