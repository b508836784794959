/* The writer VIP and the reader VIPs, driven by the leader through failover-agent
 * (DESIGN.md §7). Reader VIPs (MMM style) are placed over healthy replicas by
 * controller/readers.h and moved by the same rule as the writer VIP; everything below
 * holds for each VIP separately (the agents keep one lease per VIP).
 *
 * Replicated state: the cluster's VIP settings (ClusterAdd) and its holder
 * (VipHolder: instance + epoch). The leader commits VipHolder(X) *before* it sends
 * the AcquireVip that gives the VIP to X, and VipHolder("") only after the holder's
 * agent confirmed a release, so the store always names every host that may hold the
 * VIP. Hence the one rule that prevents two holders: the VIP is given to a host other
 * than the recorded holder only after the recorded holder released it (its agent
 * answered ReleaseVip) or its lease has surely run out:
 *
 *     expiry = last lease message this node sent to it + lease + margin
 *
 * or, if this node never sent it one in its current term of leadership, the time the
 * node became ready as leader + lease + election timeout + margin (a deposed leader
 * may have renewed it until it noticed it lost its majority, which libraft's leader
 * does within one election timeout). Lease messages carry the cluster's epoch; an
 * agent that has seen a higher epoch refuses them (agent/epoch.h), so an agent that
 * answered a release at epoch N is deaf to a deposed leader's renewals at N-1. Only
 * monotonic time is used.
 *
 * Outside failovers the leader renews the holder's lease every lease/4 while the
 * holder is the designated primary, re-acquires it (same host, so no overlap is
 * possible) when the agent says it lost it (expired, agent restarted), and moves it
 * to the designated primary by the rule above when they differ (e.g. a VIP added to
 * a running cluster, or a move that did not finish). While a failover runs for a
 * cluster the lease of the old primary is no longer renewed; the failover's VIP step
 * (fo_vipmgr_move) moves it.
 *
 * Loop thread only. */
#ifndef FO_VIPMGR_H
#define FO_VIPMGR_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/ctl.h"

#define FO_VIPMGR_MARGIN_MS 500 /* added to every "surely expired" computation */

struct fo_vipmgr;
struct fo_buf;

/* Loads the agent client's TLS context ([tls]). Returns 0 or an error (err filled). */
int fo_vipmgr_start(struct fo_ctl *ctl, struct fo_vipmgr **out, char err[FO_ERRLEN]);
/* Cancels everything in flight (pending move callbacks fire with FO_ECANCELED) and
 * frees the manager once its handles are closed. */
void fo_vipmgr_stop(struct fo_vipmgr *v);

/* Leadership: ready starts the renewal loop (and the clock of a fresh leader's
 * wait); lost stops it and forgets every send time. */
void fo_vipmgr_leader_ready(struct fo_vipmgr *v);
void fo_vipmgr_leader_lost(struct fo_vipmgr *v);

/* The failover's VIP step: gives the cluster's VIP to to_host:to_port at epoch, by
 * the rule above (release or wait for expiry, commit VipHolder, acquire). cb fires
 * exactly once if this returns 0: status 0 when the new holder's agent confirmed the
 * acquire, otherwise the error; detail says what happened and how long each part
 * took. On error the renewal loop keeps trying once the failover has ended.
 * deadline_ms bounds the whole move (monotonic ms, uv_now). */
typedef void (*fo_vipmgr_move_cb)(void *data, int status, const char *detail);
struct fo_vipmgr_move;
struct fo_vipmgr_move *fo_vipmgr_move(struct fo_vipmgr *v, const char *cluster, const char *to_host, uint16_t to_port,
                                      uint64_t epoch, uint64_t deadline_ms, fo_vipmgr_move_cb cb, void *data,
                                      char err[FO_ERRLEN]);
/* cb fires with FO_ECANCELED; no further side effect is started. */
void fo_vipmgr_move_cancel(struct fo_vipmgr_move *m);

/* Per cluster, for topology and /metrics: whether the last lease message to the
 * holder succeeded, and the last error. */
struct fo_vipmgr_view {
    bool known; /* this node is leader and has state for the cluster */
    bool held;  /* the holder's agent confirmed the lease on the last message */
    char error[FO_ERRLEN];
};
/* key: "" for the writer VIP, else the reader VIP ("a.b.c.d/len"). */
void fo_vipmgr_view(struct fo_vipmgr *v, const char *cluster, const char *key, struct fo_vipmgr_view *out);
void fo_vipmgr_metrics(struct fo_vipmgr *v, struct fo_buf *b);

#endif
