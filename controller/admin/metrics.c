#include "controller/admin/metrics.h"

#include <string.h>

#include "common/prom.h"
#include "controller/admin/admin.h"
#include "controller/admin/web.h"
#include "controller/act/failover.h"
#include "controller/probe/monitor.h"

static void raft_metrics(struct fo_ctl *ctl, struct fo_buf *b)
{
    static const char *const states[] = {"leader", "follower", "candidate", "unavailable"};
    const char *cur = fo_raft_state_name(&ctl->raft);
    struct fo_prom_label l;
    unsigned i;

    fo_prom_family(b, "failoverd_raft_leader", "gauge", "1 if this node is the raft leader.");
    fo_prom_value(b, "failoverd_raft_leader", NULL, 0, fo_raft_is_leader(&ctl->raft) ? 1 : 0);
    fo_prom_family(b, "failoverd_raft_state", "gauge", "1 for this node's current raft state.");
    for (i = 0; i < 4; i++) {
        l = (struct fo_prom_label){"state", states[i]};
        fo_prom_value(b, "failoverd_raft_state", &l, 1, strcmp(cur, states[i]) == 0 ? 1 : 0);
    }
    fo_prom_family(b, "failoverd_raft_term", "gauge", "Current raft term.");
    fo_prom_value(b, "failoverd_raft_term", NULL, 0, (double)raft_current_term(&ctl->raft.raft));
    fo_prom_family(b, "failoverd_raft_last_applied_index", "gauge", "Index of the last entry applied to the store.");
    fo_prom_value(b, "failoverd_raft_last_applied_index", NULL, 0, (double)raft_last_applied(&ctl->raft.raft));
    fo_prom_family(b, "failoverd_raft_commit_index", "gauge", "Index of the last entry known to be committed.");
    fo_prom_value(b, "failoverd_raft_commit_index", NULL, 0, (double)raft_commit_index(&ctl->raft.raft));
    fo_prom_family(b, "failoverd_raft_leader_id", "gauge", "Node id of the known leader, 0 if none.");
    fo_prom_value(b, "failoverd_raft_leader_id", NULL, 0, (double)fo_raft_leader(&ctl->raft, NULL));
    fo_prom_family(b, "failoverd_raft_commands_applied_total", "counter", "Commands applied since start.");
    fo_prom_value(b, "failoverd_raft_commands_applied_total", NULL, 0, (double)ctl->raft.applied_count);
    fo_prom_family(b, "failoverd_raft_commands_refused_total", "counter",
                   "Applied commands the store refused (they changed nothing).");
    fo_prom_value(b, "failoverd_raft_commands_refused_total", NULL, 0, (double)ctl->raft.apply_errors);
    fo_raft_transport_metrics(&ctl->raft.transport, b);
}

static void admin_metrics(struct fo_ctl *ctl, struct fo_buf *b)
{
    fo_admin_metrics(ctl, b); /* the admin server's own families (internal RPC refusals) */
    fo_prom_family(b, "failoverd_admin_requests_total", "counter", "Admin RPC requests received.");
    fo_prom_value(b, "failoverd_admin_requests_total", NULL, 0, (double)ctl->counters.admin_requests);
    fo_prom_family(b, "failoverd_admin_bad_frames_total", "counter",
                   "Admin RPC connections closed for a bad frame (garbage, version, size, protobuf).");
    fo_prom_value(b, "failoverd_admin_bad_frames_total", NULL, 0, (double)ctl->counters.admin_bad_frames);
    fo_prom_family(b, "failoverd_admin_forwarded_total", "counter", "Admin requests forwarded to the leader.");
    fo_prom_value(b, "failoverd_admin_forwarded_total", NULL, 0, (double)ctl->counters.admin_forwarded);
    fo_prom_family(b, "failoverd_admin_tls", "gauge",
                   "1 if the admin RPC requires mutual TLS, 0 with [tls] insecure = yes (plain TCP).");
    fo_prom_value(b, "failoverd_admin_tls", NULL, 0, ctl->cfg.tls.insecure ? 0 : 1);
    fo_prom_family(b, "failoverd_admin_tls_refused_total", "counter",
                   "Admin RPC connections refused in the TLS handshake (no or untrusted certificate, role not "
                   "accepted, not TLS).");
    fo_prom_value(b, "failoverd_admin_tls_refused_total", NULL, 0, (double)fo_admin_tls_refused(ctl));
    fo_prom_family(b, "failoverd_proposals_total", "counter", "Commands proposed to raft by this node.");
    fo_prom_value(b, "failoverd_proposals_total", NULL, 0, (double)ctl->counters.proposals);
}

static int handler(void *data, const char *url, struct fo_buf *body, const char **content_type)
{
    struct fo_ctl *ctl = data;

    if (strcmp(url, "/metrics") == 0) {
        *content_type = "text/plain; version=0.0.4; charset=utf-8";
        raft_metrics(ctl, body);
        admin_metrics(ctl, body);
        fo_monitor_metrics(ctl, body);
        fo_failover_metrics(ctl, body);
        return body->oom ? 500 : 200;
    }
    if (strcmp(url, "/health") == 0) {
        fo_buf_puts(body, ctl->stopping ? "stopping\n" : "ok\n");
        return ctl->stopping ? 503 : 200;
    }
    if (strcmp(url, "/leader") == 0) {
        bool leader = fo_raft_is_leader(&ctl->raft);
        fo_buf_puts(body, leader ? "leader\n" : "not leader\n");
        return leader ? 200 : 503;
    }
    int web = fo_web_handle(ctl, url, body, content_type);
    if (web != 0) return web;
    fo_buf_puts(body, "not found: try /metrics, /health or /leader\n");
    return 404;
}

int fo_metrics_start(struct fo_ctl *ctl, char err[FO_ERRLEN])
{
    struct fo_http_limits hl = {ctl->cfg.limits.http_max_conns, ctl->cfg.limits.http_max_per_source,
                                ctl->cfg.limits.http_timeout_s};

    return fo_http_start_limited(&ctl->http, ctl->loop, ctl->cfg.http_address, &hl, handler, ctl, err);
}

void fo_metrics_stop(struct fo_ctl *ctl)
{
    if (ctl->http != NULL) fo_http_stop(ctl->http, NULL, NULL);
    ctl->http = NULL;
}
