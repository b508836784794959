/* failover-agent's Prometheus metrics (DESIGN.md §8): counters kept by the server and
 * one row per configured cluster, rendered as text for /metrics.
 *
 * Families:
 *   fo_agent_rpcs_total{rpc}                 requests answered, by RPC
 *   fo_agent_rpcs_refused_total{reason}      requests or connections refused, by reason
 *   fo_agent_lease_expired_total             leases that ran out (VIP removed by the agent)
 *   fo_agent_vip_held{cluster,vip}           1 while a lease is held
 *   fo_agent_lease_remaining_seconds{cluster}
 *   fo_agent_epoch{cluster}                  highest epoch seen (on disk)
 * Threads: the loop's thread only. */
#ifndef FO_AGENT_METRICS_H
#define FO_AGENT_METRICS_H

#include <stdint.h>

#include "common/buf.h"

enum fo_agent_rpc {
    FO_AGENT_RPC_STATUS,
    FO_AGENT_RPC_ACQUIRE,
    FO_AGENT_RPC_RENEW,
    FO_AGENT_RPC_RELEASE,
    FO_AGENT_RPC_FENCE,
    FO_AGENT_RPC_COUNT
};

enum fo_agent_refuse {
    FO_AGENT_REFUSE_STALE_EPOCH,     /* epoch lower than the highest seen */
    FO_AGENT_REFUSE_UNKNOWN_CLUSTER, /* cluster not in the config */
    FO_AGENT_REFUSE_NOT_ALLOWED,     /* interface or address not in the config */
    FO_AGENT_REFUSE_BAD_FRAME,       /* oversized, garbage or wrong-version frame */
    FO_AGENT_REFUSE_BAD_REQUEST,     /* frame fine, protobuf or fields not */
    FO_AGENT_REFUSE_UNAUTHENTICATED, /* TLS peer refused */
    FO_AGENT_REFUSE_NOT_HELD,        /* renew without a held lease */
    FO_AGENT_REFUSE_FAILED,          /* accepted, but carrying it out failed */
    FO_AGENT_REFUSE_COUNT
};

struct fo_agent_metrics {
    uint64_t rpcs[FO_AGENT_RPC_COUNT];
    uint64_t refused[FO_AGENT_REFUSE_COUNT];
    uint64_t lease_expired;
};

struct fo_agent_metrics_row {
    const char *cluster;
    const char *vip; /* "a.b.c.d/len on ifname", or NULL when none is held */
    int held;
    double lease_remaining_s;
    int has_epoch;
    uint64_t epoch;
};

const char *fo_agent_rpc_name(enum fo_agent_rpc r);
const char *fo_agent_refuse_name(enum fo_agent_refuse r);

void fo_agent_metrics_render(const struct fo_agent_metrics *m, const struct fo_agent_metrics_row *rows, unsigned n_rows,
                             struct fo_buf *b);

#endif
