/* Shared by agent/server.c (transport, frames, dispatch) and agent/rpc.c (what each
 * RPC does: epochs, leases, VIPs, fencing). Not a public header. */
#ifndef FO_AGENT_SERVER_INTERNAL_H
#define FO_AGENT_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "agent.pb-c.h"
#include "agent/arp.h"
#include "agent/config.h"
#include "agent/epoch.h"
#include "agent/lease.h"
#include "agent/metrics.h"
#include "agent/server.h"
#include "agent/vip.h"
#include "common/frame.h"
#include "common/http.h"
#include "common/tls.h"
#include "controller/sqlexec.h"

/* Every configured VIP (a `vip =` line of a [cluster] section) has its own lease
 * slot: a host may hold a cluster's writer VIP and some of its reader VIPs at once,
 * each acquired, renewed, released and expiring on its own (DESIGN.md §7). Epochs
 * stay per cluster (agent/epoch.h). */
#define FO_AGENT_MAX_LEASES (FO_AGENT_MAX_CLUSTERS * FO_AGENT_MAX_VIPS)

struct agent_lease {
    struct fo_agent_server *s;
    const struct fo_agent_cluster *cfg; /* the cluster, in s->cfg */
    const struct fo_vip *vip;           /* the VIP it covers: one of cfg->vips */
    struct fo_lease lease;
    bool writer;        /* the last acquire said this is the writer VIP (fence on expiry) */
    uv_timer_t timer;   /* fires at the lease's deadline */
    struct fo_arp *arp; /* announcement in flight, or NULL */
};

struct agent_conn {
    struct fo_agent_server *s;
    struct agent_conn *prev, *next;
    struct fo_tls_conn *tls; /* TLS or plain (insecure); NULL once on_close fired */
    bool dead;               /* transport fully closed */
    bool closing;            /* close requested */
    bool busy;               /* a request is in flight */
    char peer[FO_TLS_CN_MAX + 16];
    struct fo_frame_decoder dec;
    /* The request in flight. */
    uint64_t req_id;
    enum fo_agent_rpc rpc;
    struct fo_sql *sql;
    unsigned kill_round;
    bool killing; /* FenceMysql: the KILL statements are running */
};

struct fo_agent_server {
    uv_loop_t *loop;
    const struct fo_agent_config *cfg;
    struct fo_tls_ctx *tls; /* plain (fo_tls_ctx_new_plain) when insecure */
    uv_tcp_t listener;
    struct fo_epoch_store *epochs;
    uv_mutex_t epoch_mu;                            /* the store is used from the thread pool */
    struct agent_lease leases[FO_AGENT_MAX_LEASES]; /* the clusters' VIPs, in config order */
    unsigned n_leases;
    struct fo_http *http;
    struct fo_sql *ro_sql; /* lease expiry's read_only=1, or NULL */
    struct agent_conn *conns;
    struct fo_agent_metrics m;
    unsigned refs; /* handles, connections and requests still open */
    bool stopping;
    fo_agent_server_closed_cb closed_cb;
    void *closed_data;
};

/* server.c */
void fo_agent_conn_reply(struct agent_conn *c, int code, const char *error, Fo__Agent__AgentStatus *status);
void fo_agent_conn_refuse(struct agent_conn *c, enum fo_agent_refuse why, int code, const char *error);
void fo_agent_server_unref(struct fo_agent_server *s);

/* rpc.c: each takes ownership of req and ends with exactly one reply or refusal. */
void fo_agent_rpc_dispatch(struct agent_conn *c, Fo__Agent__AgentRequest *req);
void fo_agent_rpc_status(struct agent_conn *c);
void fo_agent_lease_timer_cb(uv_timer_t *t);
void fo_agent_lease_remove_stale(struct fo_agent_server *s);
void fo_agent_rpc_cancel(struct agent_conn *c);
void fo_agent_metrics_rows(struct fo_agent_server *s, struct fo_buf *b);

#endif
