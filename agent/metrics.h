/* failover-agent's Prometheus metrics (DESIGN.md §8): counters kept by the server,
 * one row per lease (a configured VIP of a cluster: agent/server_internal.h) and one
 * per cluster with an epoch on disk, rendered as text for /metrics.
 *
 * Families (named failoverd_agent_* since 2026-12; before that fo_agent_*: README.md,
 * "Renamed metrics"):
 *   failoverd_agent_rpcs_total{rpc}             requests answered, by RPC
 *   failoverd_agent_rpcs_refused_total{reason}  requests or connections refused, by reason
 *   failoverd_agent_lease_expired_total         leases that ran out (VIP removed by the agent)
 *   failoverd_agent_lease_read_only_total       lease-expiry fences of the local mysqld that
 *                                               reached it (lease_read_only, writer VIP)
 *   failoverd_agent_lease_writable_again_total  those fences undone: the writer VIP came back
 *                                               at the same epoch and mysqld is writable again
 *   failoverd_agent_lease_fenced                1 while the agent's own lease-expiry fence is
 *                                               in force (being set, set, or being undone)
 *   failoverd_agent_vip_sockets_reset_total     TCP sockets on a VIP aborted (a RST to each
 *                                               peer) just before the VIP left this host
 *                                               (agent/sockreset.h)
 *   failoverd_agent_mysqld_stopped_killed_total  stopped local mysqld processes killed by a
 *                                               FenceMysql (fence_kill_stopped, docs/fence-stopped.md)
 *   failoverd_agent_mysqld_restart_fenced_total  mysqld processes that came back after such a
 *                                               kill and were fenced by the agent
 *   failoverd_agent_vip_held{cluster,vip}       1 while the lease on that VIP is held, else 0
 *   failoverd_agent_lease_remaining_seconds{cluster,vip}  time left on it (0 when not held)
 *   failoverd_agent_epoch{cluster}              highest epoch seen (on disk), once per cluster
 * The agent's /metrics also carries the listener's failoverd_agent_conn_refused_total{reason}
 * and failoverd_agent_connections{pool} (common/listener.h, FO_AGENT_METRICS_PREFIX).
 * vip is "a.b.c.d/len on ifname": unique within a cluster, since the configuration
 * refuses duplicate vip lines. A series appears for every configured VIP, held or not.
 * Threads: the loop's thread only. */
#ifndef FO_AGENT_METRICS_H
#define FO_AGENT_METRICS_H

#include <stdint.h>

#include "common/buf.h"

/* The prefix of every agent family; the listener's families take it too. */
#define FO_AGENT_METRICS_PREFIX "failoverd_agent"

enum fo_agent_rpc {
    FO_AGENT_RPC_STATUS,
    FO_AGENT_RPC_ACQUIRE,
    FO_AGENT_RPC_RENEW,
    FO_AGENT_RPC_RELEASE,
    FO_AGENT_RPC_FENCE,
    FO_AGENT_RPC_LEASE_NONCE, /* relayed renewals (docs/relayed-lease.md) */
    FO_AGENT_RPC_RELAY_NONCE,
    FO_AGENT_RPC_RELAY_RENEW,
    FO_AGENT_RPC_SALVAGE, /* binlog salvage (agent/binlog.h) */
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
    FO_AGENT_REFUSE_DELAYED,         /* a lease message that arrived too late to matter (docs/vip-lease-delay.md) */
    FO_AGENT_REFUSE_COUNT
};

struct fo_agent_metrics {
    uint64_t rpcs[FO_AGENT_RPC_COUNT];
    uint64_t refused[FO_AGENT_REFUSE_COUNT];
    uint64_t lease_expired;
    uint64_t lease_read_only;
    uint64_t lease_writable;
    int lease_fenced; /* gauge, kept up to date by the server */
    uint64_t vip_sockets_reset;
    uint64_t stopped_killed; /* FenceMysql killed a stopped mysqld */
    uint64_t restart_fenced; /* a mysqld back after that kill was fenced */
    /* Set once the kernel refused SOCK_DESTROY, so that the server logs it once and not
     * at every VIP removal; not rendered. */
    int vip_reset_unsupported;
};

/* One lease. The strings belong to the caller and need only last the render. */
struct fo_agent_metrics_lease {
    const char *cluster;
    const char *vip; /* "a.b.c.d/len on ifname" */
    int held;
    double lease_remaining_s;
};

/* One cluster's epoch; clusters without an epoch on disk have no row. */
struct fo_agent_metrics_epoch {
    const char *cluster;
    uint64_t epoch;
};

const char *fo_agent_rpc_name(enum fo_agent_rpc r);
const char *fo_agent_refuse_name(enum fo_agent_refuse r);

/* Appends every family above to b (on allocation failure b->oom is set: fo_buf). Each
 * (cluster, vip) of leases and each cluster of epochs must appear once, or the text
 * would repeat a series, which Prometheus refuses. */
void fo_agent_metrics_render(const struct fo_agent_metrics *m, const struct fo_agent_metrics_lease *leases,
                             unsigned n_leases, const struct fo_agent_metrics_epoch *epochs, unsigned n_epochs,
                             struct fo_buf *b);

#endif
