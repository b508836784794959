/* HTTP endpoints of a controller node (DESIGN.md §8):
 *   /metrics  Prometheus text format: raft state, term, indexes, leader; probe and
 *             instance metrics from controller/probe/monitor.h; admin RPC counters.
 *   /health   200 while the node runs.
 *   /leader   200 only on the raft leader, 503 elsewhere (for load balancers). */
#ifndef FO_METRICS_H
#define FO_METRICS_H

#include "common/err.h"
#include "controller/ctl.h"

int fo_metrics_start(struct fo_ctl *ctl, char err[FO_ERRLEN]);
void fo_metrics_stop(struct fo_ctl *ctl);

#endif
