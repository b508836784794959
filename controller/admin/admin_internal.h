/* Internals shared by admin.c (server), admin_handlers.c (requests) and
 * admin_call.c (outgoing calls). Not for other modules. */
#ifndef FO_ADMIN_INTERNAL_H
#define FO_ADMIN_INTERNAL_H

#include <uv.h>

#include "common/frame.h"
#include "common/listener.h"
#include "common/tls.h"
#include "controller/admin/admin.h"
#include "failoverd.pb-c.h"

struct call;
struct chan;
struct fo__adisc;

/* The leader channel (admin_call.c): calls that may wait for the connection, and how
 * long an unused connection stays open. */
#define FO_ADMIN_CHAN_QUEUE 128
#define FO_ADMIN_CHAN_IDLE_MS 10000

/* Why an internal RPC was refused (failoverd_admin_internal_refused_total{reason}). */
enum fo_admin_refusal {
    FO_ADMIN_REFUSED_ROLE,          /* not a controller certificate (failoverctl's, ...) */
    FO_ADMIN_REFUSED_NO_NODE_ID,    /* a controller certificate that binds no node id */
    FO_ADMIN_REFUSED_NODE_MISMATCH, /* the request names another node than the certificate */
    FO_ADMIN_REFUSED_N,
};

/* Outgoing connections to another controller's admin port (admin_call.c), by kind
 * (label kind= of failoverd_admin_client_connects_total and _handshakes_total). */
enum fo_admin_client_kind {
    FO_ADMIN_CLIENT_LEADER,   /* the persistent connection to the leader (verdicts) */
    FO_ADMIN_CLIENT_PER_CALL, /* one connection per call (forwarding, proposals) */
    FO_ADMIN_CLIENT_N,
};

struct fo_admin {
    struct fo_ctl *ctl;
    struct fo_listener *listener; /* the admin port and its connection budgets */
    /* Mutual TLS (DESIGN.md §1), or plain contexts (fo_tls_ctx_new_plain) with [tls]
     * insecure = yes. The server context accepts client and controller certificates;
     * the client context, used to forward to the leader, presents this node's
     * controller certificate and accepts only a controller. */
    struct fo_tls_ctx *server_tls;
    struct fo_tls_ctx *client_tls;
    uint64_t tls_refused;                          /* failoverd_admin_tls_refused_total */
    uint64_t client_connects[FO_ADMIN_CLIENT_N];   /* connections started (TCP connect + handshake) */
    uint64_t client_handshakes[FO_ADMIN_CLIENT_N]; /* of those, authenticated (open) */
    uint64_t internal_refused[FO_ADMIN_REFUSED_N];
    uint64_t refusal_logged_ms[FO_ADMIN_REFUSED_N]; /* a flood of refusals logs once a second */
    uint64_t refusals_unlogged[FO_ADMIN_REFUSED_N];
    unsigned n_conns;
    struct call *calls;           /* outgoing calls in progress, cancelled on stop */
    struct chan *chan;            /* the persistent connection to the leader for verdicts, or NULL */
    unsigned n_calls;             /* outgoing calls not yet freed (in progress or closing) */
    struct aconn *conns;          /* open connections */
    struct fo__adisc *discovers;  /* topology walks in progress (admin_discover.c) */
    struct fo_rediscover *redisc; /* periodic rediscovery (rediscover.h), leader only */
    bool stopping;
    bool server_closed; /* the listener has closed (and freed itself) */
};

/* One client connection: a fo_tls_conn (TLS or plain), NULL once its on_close has
 * fired. */
struct aconn {
    struct fo_tls_conn *tls;
    struct aconn *next, *prev;
    struct fo_admin *admin;
    struct fo_frame_decoder dec;
    char peer[FO_ADDR_LEN + FO_TLS_CN_MAX + 8]; /* "ip:port", plus " (ROLE CN)" once authenticated */
    unsigned refs;                              /* 1 while open + 1 per request in progress */
    unsigned inflight;
    bool closing;
    bool authenticated; /* the handshake has succeeded (plain: the connection is open) */
    /* Who the peer is, from its certificate once authenticated (common/tls.h): its role
     * (0 in plain mode) and the node id it binds (node_rc as fo_tls_conn_peer_node_id). */
    unsigned role;
    int node_rc;
    uint64_t node_id;
};

/* One request in progress. Handlers finish it exactly once with areq_reply(). */
struct areq {
    struct aconn *conn;
    struct fo_ctl *ctl;
    Fo__Request *req;
    /* Allocations owned by the response being built; freed after it is sent. */
    void **owned;
    unsigned n_owned, cap_owned;
};

void *areq_alloc(struct areq *r, size_t size); /* zeroed; NULL on OOM */

/* A growing array of pointers owned by a request (for repeated response fields).
 * Pushing NULL, or running out of memory, sets oom and returns 1 (stops iterators). */
struct areq_list {
    struct areq *r;
    void **items;
    unsigned n, cap;
    bool oom;
};
int areq_list_push(struct areq_list *l, void *item);
char *areq_strdup(struct areq *r, const char *s); /* "" on OOM */

/* Sends resp (leader/served_by filled here) and releases the request. */
void areq_reply(struct areq *r, Fo__Response *resp);
/* Sends an error response. */
void areq_fail(struct areq *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define FO_ADMIN_LONG_TIMEOUT_MS 70000

/* admin_handlers.c: writes go to a leader whose store is up to date; a follower
 * forwards. Returns true when the request is to be handled on this node now. */
bool fo_admin_leader_or_forward(struct areq *r);
/* Internal RPCs (verdicts, forwarded proposals, member notes: whatever a follower
 * sends the leader on its own behalf; DESIGN.md §10) need a controller certificate
 * that binds a node id, and the node the request names (claimed) must be that one.
 * Returns 0 with *node set to the certificate's node id; with insecure = yes nothing
 * is bound and *node is the claimed id. Otherwise fails r with FO_EPERM, logs why
 * (at most once a second per reason) and counts it, and returns -1. what names the
 * request for messages ("verdict"). */
int fo_admin_internal_peer(struct areq *r, const char *what, uint64_t claimed, uint64_t *node);
/* Proposes cmd and replies with the store's result once it is committed. */
void fo_admin_propose(struct areq *r, Fo__Command *cmd);
/* admin_failover.c: failover-related requests. */
void fo_admin_failover_dispatch(struct areq *r);
struct fo_store_failover;
Fo__FailoverRecord *fo_admin_failover_record(struct areq *r, const struct fo_store_failover *f);

/* admin_discover.c: DiscoverReq, and cancelling the walks in progress on stop. */
void fo_admin_discover(struct areq *r);
void fo_admin_cancel_discovers(struct fo_admin *a);

/* Entry point from the server for each decoded request. */
void fo_admin_dispatch(struct areq *r);

/* Cancels every outgoing call (FO_ECANCELED) and closes the leader channel. */
void fo_admin_cancel_calls(struct fo_admin *a);
/* Frees a stopping admin (and its TLS contexts) once its server, connections,
 * calls and leader channel are all closed. */
void fo_admin_maybe_free(struct fo_admin *a);

#endif
