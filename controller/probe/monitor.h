/* Which servers this node probes and what the leader does with the results.
 *
 * The leader probes every registered instance; a follower probes only the instances
 * the store says are primaries (DESIGN.md §5: every controller watches primaries so
 * it can later confirm a dead primary). The set is reconciled with the store every
 * second and whenever leadership changes.
 *
 * On the leader, each probe report updates that instance's health state machine
 * (controller/probe/health.h); then role/source/problems are inferred for its cluster
 * (controller/decide/topology.h). When the inferred state differs from the store's, the
 * leader proposes InstanceState / ClusterProblems commands: commands flow only on
 * change, never per sample. A newly elected leader first completes a raft barrier
 * (so its store holds every committed entry) before it proposes anything, then seeds
 * the config file's [cluster] sections that are not registered yet. */
#ifndef FO_MONITOR_H
#define FO_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/prom.h"
#include "controller/ctl.h"
#include "controller/decide/arrival.h"
#include "controller/probe/health.h"
#include "mysql/sample.h"

int fo_monitor_start(struct fo_ctl *ctl, char err[FO_ERRLEN]);
/* Stops probing and the timers (handles close asynchronously). */
void fo_monitor_stop(struct fo_ctl *ctl);
/* Frees everything; call once the loop has no more handles (after raft closed, so
 * every proposal callback has fired). */
void fo_monitor_free(struct fo_ctl *ctl);

/* The live view of one probed instance (NULL if this node does not probe it). */
struct fo_watch_view {
    bool has_sample;
    uint64_t sample_age_ms;
    double probe_ms;
    const struct fo_sample *sample;
    enum fo_health health;
    const char *last_error;
    bool last_ok;                  /* the latest probe succeeded (sample is current) */
    int stored_role;               /* role in the store when last reconciled */
    enum fo_arrival_state arrival; /* as a replica: does it still hear its source (decide/arrival.h) */
    uint64_t silent_ms;            /* SILENT: for how long nothing arrived */
};
bool fo_monitor_view(struct fo_ctl *ctl, const char *cluster, const char *host, uint16_t port,
                     struct fo_watch_view *out);

bool fo_monitor_ready(struct fo_ctl *ctl); /* leader and barrier done */

/* Leader: records node_id's verdict about an instance it probes (node_id as the admin
 * server authenticated it, admin.h). A verdict counts toward the majority of DESIGN.md
 * §5 only if its node is a current voter of the raft configuration, and the leader's
 * own view counts once, as its probe's health, never as a vote. Returns 0 (recorded;
 * also when this node does not probe that instance: nothing to record), or FO_EPERM:
 * node_id is this node's own id, or not a voter (a spare, a standby, removed, unknown);
 * then nothing is recorded and failoverd_verdicts_ignored_total{reason} counts it. */
int fo_monitor_record_vote(struct fo_ctl *ctl, uint64_t node_id, const char *cluster, const char *host, uint16_t port,
                           bool down);
/* Leader: the followers' verdicts about an instance with their ages; returns how
 * many were written (at most max). Only verdicts of nodes that are voters now are
 * returned (the configuration may have changed since one was recorded), never one
 * in this node's own name, so a caller can count them all (controller/decide/detector.h). */
struct fo_detect_vote;
unsigned fo_monitor_votes(struct fo_ctl *ctl, const char *cluster, const char *host, uint16_t port,
                          struct fo_detect_vote *out, unsigned max);
/* Probes every instance of cluster now (fresh samples for a decision). */
void fo_monitor_kick(struct fo_ctl *ctl, const char *cluster);
uint64_t fo_monitor_verdicts_received(struct fo_ctl *ctl);
unsigned fo_monitor_count(struct fo_ctl *ctl);
void fo_monitor_metrics(struct fo_ctl *ctl, struct fo_buf *b);

#endif
