/* failover-agent metrics: the contract is in metrics.h. */
#include "agent/metrics.h"

#include "common/prom.h"

static const char *const rpc_names[FO_AGENT_RPC_COUNT] = {"status",      "acquire_vip", "renew_lease",
                                                          "release_vip", "fence_mysql", "lease_nonce",
                                                          "relay_nonce", "relay_renew", "salvage_binlog"};
static const char *const refuse_names[FO_AGENT_REFUSE_COUNT] = {"stale_epoch", "unknown_cluster", "not_allowed",
                                                                "bad_frame",   "bad_request",     "unauthenticated",
                                                                "not_held",    "failed",          "delayed"};

const char *fo_agent_rpc_name(enum fo_agent_rpc r)
{
    return (unsigned)r < FO_AGENT_RPC_COUNT ? rpc_names[r] : "unknown";
}

const char *fo_agent_refuse_name(enum fo_agent_refuse r)
{
    return (unsigned)r < FO_AGENT_REFUSE_COUNT ? refuse_names[r] : "unknown";
}

static void counters(const struct fo_agent_metrics *m, struct fo_buf *b)
{
    struct fo_prom_label l;
    unsigned i;

    fo_prom_family(b, "failoverd_agent_rpcs_total", "counter", "Agent RPC requests answered, by RPC.");
    for (i = 0; i < FO_AGENT_RPC_COUNT; i++) {
        l.name = "rpc";
        l.value = rpc_names[i];
        fo_prom_value(b, "failoverd_agent_rpcs_total", &l, 1, (double)m->rpcs[i]);
    }
    fo_prom_family(b, "failoverd_agent_rpcs_refused_total", "counter", "Agent requests or peers refused, by reason.");
    for (i = 0; i < FO_AGENT_REFUSE_COUNT; i++) {
        l.name = "reason";
        l.value = refuse_names[i];
        fo_prom_value(b, "failoverd_agent_rpcs_refused_total", &l, 1, (double)m->refused[i]);
    }
    fo_prom_family(b, "failoverd_agent_lease_expired_total", "counter",
                   "Leases that ran out; the agent removed the VIP.");
    fo_prom_value(b, "failoverd_agent_lease_expired_total", NULL, 0, (double)m->lease_expired);
    fo_prom_family(b, "failoverd_agent_lease_read_only_total", "counter",
                   "Writer VIP lease expiries that fenced the local mysqld (lease_read_only).");
    fo_prom_value(b, "failoverd_agent_lease_read_only_total", NULL, 0, (double)m->lease_read_only);
    fo_prom_family(b, "failoverd_agent_lease_writable_again_total", "counter",
                   "Lease-expiry fences undone: the writer VIP came back at the same epoch.");
    fo_prom_value(b, "failoverd_agent_lease_writable_again_total", NULL, 0, (double)m->lease_writable);
    fo_prom_family(b, "failoverd_agent_lease_fenced", "gauge",
                   "1 while the agent's own lease-expiry fence of the local mysqld is in force.");
    fo_prom_value(b, "failoverd_agent_lease_fenced", NULL, 0, (double)m->lease_fenced);
    fo_prom_family(b, "failoverd_agent_vip_sockets_reset_total", "counter",
                   "TCP sockets on a VIP aborted, a RST sent to each peer, just before the VIP left this host.");
    fo_prom_value(b, "failoverd_agent_vip_sockets_reset_total", NULL, 0, (double)m->vip_sockets_reset);
    fo_prom_family(b, "failoverd_agent_mysqld_stopped_killed_total", "counter",
                   "Stopped (SIGSTOP) local mysqld processes killed by a failover's FenceMysql (fence_kill_stopped).");
    fo_prom_value(b, "failoverd_agent_mysqld_stopped_killed_total", NULL, 0, (double)m->stopped_killed);
    fo_prom_family(b, "failoverd_agent_mysqld_restart_fenced_total", "counter",
                   "mysqld processes that came back after such a kill and were fenced (read_only=1) by the agent.");
    fo_prom_value(b, "failoverd_agent_mysqld_restart_fenced_total", NULL, 0, (double)m->restart_fenced);
}

void fo_agent_metrics_render(const struct fo_agent_metrics *m, const struct fo_agent_metrics_lease *leases,
                             unsigned n_leases, const struct fo_agent_metrics_epoch *epochs, unsigned n_epochs,
                             struct fo_buf *b)
{
    struct fo_prom_label l[2] = {{"cluster", ""}, {"vip", ""}};
    unsigned i;

    counters(m, b);
    fo_prom_family(b, "failoverd_agent_vip_held", "gauge", "1 while this agent holds the VIP under a lease.");
    for (i = 0; i < n_leases; i++) {
        l[0].value = leases[i].cluster;
        l[1].value = leases[i].vip;
        fo_prom_value(b, "failoverd_agent_vip_held", l, 2, leases[i].held ? 1.0 : 0.0);
    }
    fo_prom_family(b, "failoverd_agent_lease_remaining_seconds", "gauge",
                   "Time left on the VIP's lease (0 when not held).");
    for (i = 0; i < n_leases; i++) {
        l[0].value = leases[i].cluster;
        l[1].value = leases[i].vip;
        fo_prom_value(b, "failoverd_agent_lease_remaining_seconds", l, 2, leases[i].lease_remaining_s);
    }
    fo_prom_family(b, "failoverd_agent_epoch", "gauge", "Highest failover epoch seen for the cluster (durable).");
    for (i = 0; i < n_epochs; i++) {
        l[0].value = epochs[i].cluster;
        fo_prom_value(b, "failoverd_agent_epoch", l, 1, (double)epochs[i].epoch);
    }
}
