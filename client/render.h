/* failoverctl output (render.c, render_history.c): one function per reply type,
 * each writing either an aligned table (human) or exactly one JSON object followed
 * by a newline (--json) into a struct fo_buf. The JSON shapes are a contract that
 * tests and scripts rely on; change them only by adding keys. Human output replaces
 * control characters in text that came from the network (see table.h). Nothing here
 * does I/O. */
#ifndef FO_CTL_RENDER_H
#define FO_CTL_RENDER_H

#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "failoverd.pb-c.h"

/* One row of `status`: a member as the membership lists it, and what its own admin
 * address said about itself (st is NULL when it could not be asked or failed). */
struct fo_ctl_member_status {
    const Fo__Member *member;
    const Fo__NodeStatus *st;
    int reachable;         /* a reply arrived */
    char error[FO_ERRLEN]; /* "" when st != NULL */
};

/* leader: index of the member that is leader, or -1 if none. */
void fo_ctl_render_status(struct fo_buf *out, const struct fo_ctl_member_status *ms, size_t n, long leader, int json);
void fo_ctl_render_members(struct fo_buf *out, const Fo__MembersResp *r, int json);
void fo_ctl_render_topology(struct fo_buf *out, const Fo__TopologyResp *r, int json);
void fo_ctl_render_clusters(struct fo_buf *out, const Fo__ClustersResp *r, int json);
/* render_history.c: failovers (when the reply has any) then events, newest first as
 * the controller sends them. */
void fo_ctl_render_history(struct fo_buf *out, const Fo__HistoryResp *r, int json);
/* render_history.c. now_ms is the local wall clock, used only to say in the human
 * output that an anti-flap block is over. */
void fo_ctl_render_why(struct fo_buf *out, const Fo__WhyResp *r, unsigned long long now_ms, int json);
/* A successful write: "ok" or {"ok":true}. */
void fo_ctl_render_ok(struct fo_buf *out, int json);
/* A successful failover or switchover request (the reply has no body): "ok" and where
 * to follow it (`failoverctl history CLUSTER`), or {"ok":true}. */
void fo_ctl_render_failover_ok(struct fo_buf *out, const char *cluster, int json);
/* {"ok":false,"code":code,"error":msg} (JSON only). */
void fo_ctl_render_error(struct fo_buf *out, int code, const char *msg);

/* UTC ISO-8601 with milliseconds ("2026-01-02T03:04:05.678Z") into out (at least 32
 * bytes); "" when wall_ms is 0 or out of range. */
void fo_ctl_format_time(unsigned long long wall_ms, char *out, size_t outlen);

#endif
