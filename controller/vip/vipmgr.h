/* The writer VIP and the reader VIPs, driven by the leader through failover-agent
 * (DESIGN.md §7). Reader VIPs (MMM style) are placed over healthy replicas by
 * controller/decide/readers.h and moved by the same rule as the writer VIP; everything below
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
 * Outside failovers the leader renews the holder's lease every lease/4 (at most)
 * while the holder is the designated primary, re-acquires it at once (same host, so
 * no overlap is possible) when the agent says it lost it (expired, agent restarted),
 * and moves it to the designated primary by the rule above when they differ (e.g. a
 * VIP added to a running cluster, or a move that did not finish). While a failover runs for a
 * cluster the lease of the old primary is no longer renewed; the failover's VIP step
 * (fo_vipmgr_move) moves it. "While a failover runs" is what the *store* says
 * (fo_store_get_running_failover), not only a run of this node: a leader that resumes
 * an unfinished failover must not re-acquire the VIP on the old primary's host first.
 *
 * The failover's fence step (DESIGN.md §6 step 2) revokes the old primary's lease
 * with fo_vipmgr_revoke; from then on, until that failover has ended, the renewal
 * loop sends that host no lease message at all.
 *
 * What the leader watches besides the leases (issue 8 item 11): every
 * FO_VIPMGR_WATCH_MS it asks each instance host's agent for its status
 * (StatusRequest). A host that has one of the cluster's VIPs configured while it is
 * not that VIP's recorded holder is a *stray holder* (e.g. the address added by
 * hand): the leader records a Decision "stray_vip" (once per episode), reports it in
 * fo_vipmgr_view (so topology does not say the lease is confirmed) and in /metrics,
 * and sends that agent ReleaseVip at the cluster's epoch until the address is gone.
 * When the holder's agent says it lost the lease (expired, released, restarted), the
 * leader records a Decision "vip_lapsed" with how long the VIP was away once it has
 * re-acquired it there (or, if it cannot, after 2 leases without it).
 *
 * Loop thread only. */
#ifndef FO_VIPMGR_H
#define FO_VIPMGR_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/ctl.h"

#define FO_VIPMGR_MARGIN_MS 500 /* added to every "surely expired" computation */
#define FO_VIPMGR_WATCH_MS 1000 /* status poll of every instance host's agent (stray VIPs) */
#define FO_VIPMGR_STRAY_LEN 256

struct fo_vipmgr;
struct fo_buf;

/* Loads the agent client's TLS context ([tls]). Returns 0 or an error (err filled). */
int fo_vipmgr_start(struct fo_ctl *ctl, struct fo_vipmgr **out, char err[FO_ERRLEN]);
/* Cancels everything in flight (pending move callbacks fire with FO_ECANCELED) and
 * frees the manager once its handles are closed. */
void fo_vipmgr_stop(struct fo_vipmgr *v);

/* Leadership: ready starts the renewal loop (and the clock of a fresh leader's
 * wait); lost stops it and forgets every send time.
 *
 * ready's first act (DESIGN.md §7, docs/vip-leader-change.md), before it returns and so
 * before any tick, move or resumed failover: for every cluster without an unfinished
 * failover, it sends a lease renewal to the recorded holder of each VIP the loop would
 * keep there (the writer VIP when its holder is the designated primary; every reader
 * VIP). A holder whose agent answers that the lease already ran out is re-acquired at
 * once on the same host. Call it once the store is up to date (after the leader's
 * barrier). */
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

/* DESIGN.md §6 step 2: revokes the old primary's writer-VIP lease and fences its mysqld
 * through its failover-agent, at the failover's epoch (which the agent then persists, so a
 * deposed leader's renewals are refused).
 *
 * Sends ReleaseVip (the cluster's writer VIP; a cluster without one sends none and
 * counts as released) and FenceMysql to the agent of host (agent port of the cluster)
 * at once, each bounded by deadline_ms (monotonic ms, uv_now). From this call on the
 * renewal loop sends host no lease message for the cluster until the failover at
 * `epoch` has ended in the store (or a VIP move of the cluster finished).
 * Returns the revoke, or NULL with err filled (FO_ENOTLEADER, FO_ENOTFOUND for an
 * unknown cluster, FO_ETIMEDOUT for a deadline already past, FO_ENOMEM, FO_EINVAL):
 * then cb never fires. Otherwise cb fires exactly once, from the loop (never inside
 * this call), when both answers are in, failed or timed out, with r valid during the
 * call only. lease_safe_at_ms follows the rule above for host (its last lease
 * message from this node + lease + margin, else leader-ready + lease + election
 * timeout + margin); 0 when released. On leadership loss or stop, cb fires with the
 * result so far. */
struct fo_vipmgr_revoke_result {
    bool agent_reached;        /* the agent answered */
    bool released;             /* ReleaseVip confirmed: the VIP is not on that host any more */
    bool mysql_fenced;         /* FenceMysql confirmed: its mysqld is read-only, sessions killed */
    uint64_t lease_safe_at_ms; /* uv_now() time after which the old lease has surely run out (0 when released) */
    char detail[512];
};
typedef void (*fo_vipmgr_revoke_cb)(void *data, const struct fo_vipmgr_revoke_result *r);
struct fo_vipmgr_revoke;
struct fo_vipmgr_revoke *fo_vipmgr_revoke(struct fo_vipmgr *v, const char *cluster, const char *host, uint16_t port,
                                          uint64_t epoch, uint64_t deadline_ms, fo_vipmgr_revoke_cb cb, void *data,
                                          char err[FO_ERRLEN]);
void fo_vipmgr_revoke_cancel(struct fo_vipmgr_revoke *r); /* cb fires once with the result so far */
/* The same "surely run out" time for host:port's writer-VIP lease without sending
 * anything (e.g. when fo_vipmgr_revoke could not start): 0 when the cluster has no
 * writer VIP; when this node is not the ready leader or the cluster is unknown, the
 * longest an agent lease may last (600 s) from now; UINT64_MAX for v NULL. */
uint64_t fo_vipmgr_lease_safe_at(struct fo_vipmgr *v, const char *cluster, const char *host, uint16_t port);

/* Per cluster, for topology and /metrics: whether the last lease message to the
 * holder succeeded, the last error, and stray holders. */
struct fo_vipmgr_view {
    bool known; /* this node is leader and has state for the cluster */
    /* The holder's agent confirmed the lease on the last message AND no other host is
     * seen holding the VIP: a stray holder makes this false, so topology never says
     * "lease confirmed" while two hosts have the address. */
    bool held;
    char error[FO_ERRLEN];           /* the last lease error, or the stray holders when held is false for them */
    char stray[FO_VIPMGR_STRAY_LEN]; /* "host:port (...)" of each stray holder seen, "" = none */
};
/* key: "" for the writer VIP, else the reader VIP ("a.b.c.d/len"). */
void fo_vipmgr_view(struct fo_vipmgr *v, const char *cluster, const char *key, struct fo_vipmgr_view *out);
void fo_vipmgr_metrics(struct fo_vipmgr *v, struct fo_buf *b);

#endif
