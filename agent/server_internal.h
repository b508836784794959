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
#include "common/listener.h"
#include "common/tls.h"
#include "mysql/fence.h"
#include "mysql/sqlexec.h"

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
    bool writer; /* the last acquire said this is the writer VIP (fence on expiry) */
    /* Its expiry fenced the local mysqld and that fence may be undone when this lease
     * is held again at self_epoch (mysqlfence.c). */
    bool self_fenced;
    uint64_t self_epoch;
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
    bool open;               /* authenticated (plain: open); before, closes are the listener's to log */
    char peer[FO_TLS_CN_MAX + 16];
    struct fo_frame_decoder dec;
    /* The request in flight. */
    uint64_t req_id;
    enum fo_agent_rpc rpc;
    struct fo_sql *sql;
    struct fo_fence *fence; /* FenceMysql running */
    bool fence_waiting;     /* FenceMysql waits for the agent's own unfence to end */
};

/* The agent's own lease-expiry fence of the local mysqld (mysqlfence.c, DESIGN.md §7):
 *   NONE       nothing of ours in force
 *   FENCING    fencing after a writer VIP lease expired
 *   FENCED     fenced by us; undone when every lease that caused it is held again at
 *              the epoch it expired at (agent_lease.self_fenced)
 *   UNFENCING  read_only=0 running */
enum agent_ro { AGENT_RO_NONE, AGENT_RO_FENCING, AGENT_RO_FENCED, AGENT_RO_UNFENCING, AGENT_RO_N };

struct fo_agent_server {
    uv_loop_t *loop;
    const struct fo_agent_config *cfg;
    struct fo_tls_ctx *tls;       /* plain (fo_tls_ctx_new_plain) when insecure */
    struct fo_listener *listener; /* the agent port and its budgets; NULL once stopped */
    struct fo_epoch_store *epochs;
    uv_mutex_t epoch_mu;                            /* the store is used from the thread pool */
    struct agent_lease leases[FO_AGENT_MAX_LEASES]; /* the clusters' VIPs, in config order */
    unsigned n_leases;
    struct fo_http *http;
    enum agent_ro ro;
    struct fo_fence *ro_fence;  /* the lease-expiry fence running, or NULL */
    struct fo_sql *unfence_sql; /* its undo running, or NULL */
    /* Highest FenceMysql epoch per cluster (index in cfg->clusters): a lease-expiry
     * fence at or below it is never undone. */
    uint64_t fm_epoch[FO_AGENT_MAX_CLUSTERS];
    bool fm_seen[FO_AGENT_MAX_CLUSTERS];
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
/* Sends r (its id is filled in) as the answer to the request in flight. */
void fo_agent_conn_respond(struct agent_conn *c, Fo__Agent__AgentResponse *r);
void fo_agent_server_unref(struct fo_agent_server *s);

/* rpc.c: each takes ownership of req and ends with exactly one reply or refusal. */
void fo_agent_rpc_dispatch(struct agent_conn *c, Fo__Agent__AgentRequest *req);
void fo_agent_rpc_status(struct agent_conn *c);
void fo_agent_lease_timer_cb(uv_timer_t *t);
void fo_agent_lease_remove_stale(struct fo_agent_server *s);
void fo_agent_rpc_cancel(struct agent_conn *c);
void fo_agent_metrics_rows(struct fo_agent_server *s, struct fo_buf *b);
struct fo_sql *fo_agent_local_sql(struct fo_agent_server *s, const char *const *stmts, unsigned n, fo_sql_cb cb,
                                  void *data, const unsigned *tolerate, unsigned n_tolerate);

/* mysqlfence.c: the local mysqld. */
void fo_agent_ro_expired(struct agent_lease *e); /* e's lease expired (act(): SET_READ_ONLY) */
void fo_agent_ro_held(struct agent_lease *e);    /* e was acquired or renewed */
void fo_agent_rpc_fence(struct agent_conn *c, const Fo__Agent__FenceMysql *m); /* ends with one reply */
void fo_agent_fence_cancel(struct agent_conn *c);                              /* the connection closes */
void fo_agent_ro_stop(struct fo_agent_server *s);                              /* the server stops */
const char *fo_agent_ro_name(enum agent_ro r);

#endif
