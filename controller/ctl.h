/* The failoverd process context: everything one controller node owns, passed down
 * to every module (STYLE.md §11: no global mutable state).
 *
 * Module map (DESIGN.md §2):
 *   raft/node.h          consensus + FSM into the store
 *   store/store.h        the replicated state in sqlite
 *   controller/myconn.h  one non-blocking MySQL connection on the loop (Connector/C)
 *   controller/prober.h  non-blocking MySQL probes (on myconn)
 *   controller/sqlexec.h short statement lists for failover steps (on myconn)
 *   controller/failover.h detection, failover steps, rejoin
 *   controller/monitor.h which servers this node probes, health/role inference, and
 *                        the raft commands the leader proposes when state changes
 *   controller/admin.h   admin RPC server (failoverctl), forwarding to the leader
 *   controller/metrics.h /metrics, /health, /leader */
#ifndef FO_CTL_H
#define FO_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "common/http.h"
#include "raft/node.h"
#include "store/store.h"

struct fo_monitor;
struct fo_admin;
struct fo_failover;

struct fo_ctl_counters {
    uint64_t admin_requests;
    uint64_t admin_bad_frames;
    uint64_t admin_forwarded;
    uint64_t proposals;
    uint64_t proposal_failures;
};

struct fo_ctl {
    uv_loop_t *loop;
    struct fo_config cfg;
    struct fo_store *store;
    struct fo_raft raft;
    struct fo_monitor *monitor;
    struct fo_admin *admin;
    struct fo_failover *failover;
    struct fo_http *http;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uint64_t started_ms;
    bool stopping;
    struct fo_ctl_counters counters;
};

/* Admin address of a member, from the store's member notes or else the config's
 * [peer] sections; NULL if unknown. */
const char *fo_ctl_admin_address(struct fo_ctl *ctl, uint64_t id, char buf[FO_ADDR_LEN]);

/* Proposes a command (fills version, wall_ms, origin). On a follower, forwards it to
 * the leader as a ProposeReq. cb(data, status, result) fires exactly once if this
 * returns 0; cb may be NULL. */
struct Fo__Command;
typedef void (*fo_ctl_propose_cb)(void *data, int status, int result);
int fo_ctl_propose(struct fo_ctl *ctl, struct Fo__Command *cmd, fo_ctl_propose_cb cb, void *data, char err[FO_ERRLEN]);

/* Wall clock in ms, for human-readable history only (STYLE.md §9). */
uint64_t fo_ctl_wall_ms(void);

#endif
