/* The failoverd process context: everything one controller node owns, passed down
 * to every module (STYLE.md §11: no global mutable state).
 *
 * Rooms (DESIGN.md §2; README "How it is built"), data flowing probe -> decide -> act:
 *   raft/node.h                consensus + FSM into the store
 *   store/store.h              the replicated state in sqlite
 *   mysql/                     one non-blocking MySQL connection (myconn), statement
 *                              lists (sqlexec), fencing, sample parsing: shared with
 *                              the agent
 *   controller/probe/          which servers this node probes, health, and the raft
 *                              commands the leader proposes when state changes
 *   controller/decide/         pure: verdicts, candidates, GTID, readers, topology
 *   controller/act/            the failover engine, its steps, rejoin, hooks
 *   controller/vip/            agent client, leases and VIP moves
 *   controller/admin/          admin RPC server (failoverctl), forwarding to the
 *                              leader, /metrics
 *
 * This header sits below every room: each may include it, it includes none of them.
 * Where a lower room must tell an upper one something (the monitor telling the
 * failover engine to evaluate a cluster, vip asking whether a failover runs, anyone
 * sending a request to another controller's admin port), it calls through the hooks
 * below, which the upper room registers when it starts. main.c wires the rooms. */
#ifndef FO_CTL_H
#define FO_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "common/http.h"
#include "common/tls.h"
#include "raft/node.h"
#include "store/store.h"

struct fo_monitor;
struct fo_admin;
struct fo_failover;
struct fo_ctl;
struct Fo__Request;
struct Fo__Response;

/* Answer to fo_ctl_call: the decoded Response (owned by the callee; freed after cb
 * returns), or NULL with status and error. */
typedef void (*fo_ctl_call_cb)(void *data, int status, const char *error, struct Fo__Response *resp);

/* Calls from a lower room up into a higher one, registered by the higher room (its
 * _start function) and never by anyone else. Each may be NULL (room not started):
 * the fo_ctl_ wrappers below then do nothing, answer false, or fail the call with
 * FO_ECANCELED. All run on the loop thread. */
struct fo_ctl_hooks {
    /* controller/admin (fo_admin_call): one Request to another controller. */
    int (*call)(struct fo_ctl *ctl, const char *addr, const struct Fo__Request *req, unsigned timeout_ms,
                fo_ctl_call_cb cb, void *data, char err[FO_ERRLEN]);
    /* controller/act (fo_failover_*): what the monitor and the VIP manager tell or ask
     * the failover engine. */
    void (*evaluate)(struct fo_ctl *ctl, const char *cluster);
    void (*leader_ready)(struct fo_ctl *ctl);
    void (*leader_lost)(struct fo_ctl *ctl);
    void (*tick)(struct fo_ctl *ctl, uint64_t loop_lag_ms, int64_t clock_jump_ms);
    bool (*failover_running)(struct fo_ctl *ctl, const char *cluster);
};

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
    /* The [tls] files, read and checked once by main before anything starts (issue 10:
     * no room opens them again); every TLS context of the process is made from them
     * (common/tls.h, fo_tls_ctx_from_files). NULL with insecure = yes. Owned by main. */
    struct fo_tls_files *tls_files;
    struct fo_monitor *monitor;
    struct fo_admin *admin;
    struct fo_failover *failover;
    struct fo_http *http;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uint64_t started_ms;
    bool stopping;
    struct fo_ctl_counters counters;
    struct fo_ctl_hooks hooks;
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

/* Sends req to the admin port at addr ("host:port", IP literal) through the admin
 * room (hooks.call); the contract is fo_admin_call's. FO_ECANCELED if the admin room
 * has not started. */
int fo_ctl_call(struct fo_ctl *ctl, const char *addr, const struct Fo__Request *req, unsigned timeout_ms,
                fo_ctl_call_cb cb, void *data, char err[FO_ERRLEN]);

/* The failover engine's entries (controller/act/failover.h), through hooks; no-ops
 * (false) before it registered them. */
void fo_ctl_evaluate(struct fo_ctl *ctl, const char *cluster);
void fo_ctl_leader_ready(struct fo_ctl *ctl);
void fo_ctl_leader_lost(struct fo_ctl *ctl);
void fo_ctl_tick(struct fo_ctl *ctl, uint64_t loop_lag_ms, int64_t clock_jump_ms);
bool fo_ctl_failover_running(struct fo_ctl *ctl, const char *cluster);

/* How long a forwarded request waits for the leader's answer. */
#define FO_CTL_FORWARD_TIMEOUT_MS 5000

/* Wall clock in ms, for human-readable history only (STYLE.md §9). */
uint64_t fo_ctl_wall_ms(void);

#endif
