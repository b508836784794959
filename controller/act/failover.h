/* The failover engine (DESIGN.md §5-§6): detection on the leader, and failovers that
 * are fenced by epochs and resumable.
 *
 * Detection: after each probe report of a cluster (leader, store up to date), the
 * engine asks controller/decide/detector.h about the cluster's designated primary, using the
 * leader's own health, the followers' verdicts (fo_failover_verdict) and the replicas'
 * latest samples. A DeadPrimary verdict begins a failover unless recoveries are
 * disabled, the cluster or primary is in maintenance, or the cluster is inside its
 * anti-flap block: every such refusal, and every non-dead verdict about a DOWN
 * primary, is committed as a Decision (deduplicated) so `failoverctl why` shows it.
 *
 * A failover is a table of steps (pre_hook, fence, choose, promote, repoint), each
 * committed to raft with its duration when done, framed by FailoverBegin (epoch =
 * cluster epoch + 1, committed before any side effect) and FailoverEnd. Before each
 * step's side effects the leader confirms its leadership with a raft barrier. Steps
 * are idempotent, so a new leader resumes an unfinished failover from the step after
 * the last committed one (fo_failover_on_leader).
 *
 * Outside failovers, the leader keeps the topology safe: a writable instance that is
 * not the designated primary is set read_only=1; a former primary (or a replica of a
 * stale source) is repointed to the primary with MASTER_USE_GTID=slave_pos
 * (MASTER_DEMOTE_TO_SLAVE=1 for a former primary) unless it has GTIDs the primary
 * lacks, in which case it is quarantined and left read-only for a DBA.
 *
 * All functions run on the loop thread. */
#ifndef FO_FAILOVER_H
#define FO_FAILOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/ctl.h"

/* Starts the engine and registers its entries below (evaluate, leader_ready/lost,
 * tick, running) as the node context's hooks (ctl.h), through which the monitor
 * (controller/probe) and the VIP manager (controller/vip) reach it: those rooms sit
 * below this one and never include this header. */
int fo_failover_start(struct fo_ctl *ctl, char err[FO_ERRLEN]);
/* Cancels running steps (their SQL, hooks): nothing more is committed. */
void fo_failover_stop(struct fo_ctl *ctl);
void fo_failover_free(struct fo_ctl *ctl);

/* The monitor tells the engine (fo_ctl_leader_ready/_lost) about leadership: ready = leader with an up-to-date
 * store (barrier done) -> resume unfinished failovers; lost -> drop local runs. */
void fo_failover_leader_ready(struct fo_ctl *ctl);
void fo_failover_leader_lost(struct fo_ctl *ctl);

/* After a probe report of an instance of cluster (leader only; fo_ctl_evaluate). */
void fo_failover_evaluate(struct fo_ctl *ctl, const char *cluster);

/* Called by the monitor's tick with the measured loop lag (TILT, DESIGN.md §5). */
void fo_failover_tick(struct fo_ctl *ctl, uint64_t loop_lag_ms, int64_t clock_jump_ms);

bool fo_failover_tilted(struct fo_ctl *ctl);

/* Prometheus families: failovers by result, decisions by verdict, TILT, runs. */
struct fo_buf;
void fo_failover_metrics(struct fo_ctl *ctl, struct fo_buf *b);
/* Whether a failover of cluster runs on this node (the VIP manager asks through
 * fo_ctl_failover_running). */
bool fo_failover_running(struct fo_ctl *ctl, const char *cluster);

/* The writer VIP manager (controller/vip/vipmgr.h), or NULL before start / after stop. */
struct fo_vipmgr *fo_failover_vipmgr(struct fo_ctl *ctl);

/* Operator requests (failoverctl failover / switchover). kind is fo.FailoverKind
 * (MANUAL or SWITCHOVER). cb fires exactly once if this returns 0: when the failover
 * ended (status 0, or the result's error), or FO_ENOTLEADER if leadership was lost
 * (the next leader finishes it). */
typedef void (*fo_failover_done_cb)(void *data, int status, const char *detail);
int fo_failover_request(struct fo_ctl *ctl, const char *cluster, int kind, const char *target_host,
                        uint16_t target_port, fo_failover_done_cb cb, void *data, char err[FO_ERRLEN]);

#endif
