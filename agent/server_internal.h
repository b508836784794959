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

struct agent_relay_call; /* relay.c */
struct agent_fm;         /* mysqlfence.c: one FenceMysql */
struct agent_salvage;    /* binlog.c: one SalvageBinlog read */
struct agent_relay_link;

struct agent_conn {
    struct fo_agent_server *s;
    struct agent_conn *prev, *next;
    struct fo_tls_conn *tls; /* TLS or plain (insecure); NULL once on_close fired */
    bool dead;               /* transport fully closed */
    bool closing;            /* close requested */
    bool busy;               /* a request is in flight */
    bool open;               /* authenticated (plain: open); before, closes are the listener's to log */
    unsigned role;           /* the peer's role bit once open (0 in plain mode: treated as a controller) */
    bool peer_counted;       /* counted in s->n_peer_conns (an agent-role peer) */
    char peer[FO_TLS_CN_MAX + 16];
    /* Monotonic ms when the connection was accepted (server.c), 0 = not recorded: every
     * request on it was written after that (TLS: only after the handshake), which
     * bounds a lease message's delay (agent/lease.h, docs/vip-lease-delay.md). */
    uint64_t accepted_ms; /* uv_now() at accept, until the first request is dispatched */
    uint64_t anchor_ms;   /* accepted_ms for the connection's first request, else 0 (rpc.c) */
    struct fo_frame_decoder dec;
    /* The request in flight. */
    uint64_t req_id;
    enum fo_agent_rpc rpc;
    struct fo_sql *sql;
    struct agent_fm *fm;            /* FenceMysql running (mysqlfence.c) */
    bool fence_waiting;             /* FenceMysql waits for the agent's own unfence to end */
    struct agent_relay_call *relay; /* a RelayNonce / RelayRenew forwarded to another agent */
    struct agent_salvage *sv;       /* SalvageBinlog reading (binlog.c) */
};

/* Relayed renewals (relay.c, docs/relayed-lease.md): how each ended, for
 * failoverd_agent_relayed_renewals_total{result} (on the holder's agent) and the logs. */
enum fo_relay_result {
    FO_RELAY_OK,
    FO_RELAY_BAD_REQUEST,   /* undecodable token, wrong version, unknown cluster or VIP */
    FO_RELAY_BAD_SIGNATURE, /* no valid signature by a certificate of this cluster's CA */
    FO_RELAY_WRONG_ROLE,    /* signed by a certificate that is not a controller's */
    FO_RELAY_WRONG_HOST,    /* the token names another host than the one it reached */
    FO_RELAY_BAD_NONCE,     /* not issued here, already used or replaced */
    FO_RELAY_OLD_NONCE,     /* issued more than FO_LEASE_NONCE_MAX_AGE_MS ago */
    FO_RELAY_STALE_TERM,    /* a raft term below one already accepted */
    FO_RELAY_STALE_EPOCH,   /* an epoch below the highest seen (on disk or by the lease) */
    FO_RELAY_NOT_HELD,      /* the lease is not held (or held at another epoch) */
    FO_RELAY_RESULT_N
};

/* At most this many connections from agent-role peers at once (relay.c): they may ask
 * only for nonces and hand in relayed renewals, and must not crowd out controllers. */
#define FO_AGENT_MAX_PEER_CONNS 4
#define FO_AGENT_MAX_RELAY_LINKS 16 /* distinct holders this agent relays to at once */

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
    /* The restart watch (mysqlfence.c, docs/fence-stopped.md): after FenceMysql killed
     * a stopped mysqld, whatever mysqld listens on the port next (a supervisor
     * restarting it) is fenced once by SQL, until a writer VIP lease at a higher epoch
     * than the kill's makes this host a primary again. */
    bool rw_on;
    uint64_t rw_epoch;         /* the FenceMysql epoch of the kill */
    const char *rw_cluster;    /* its cluster (in cfg) */
    int rw_pid;                /* the pid killed */
    uv_timer_t rw_timer;       /* next attempt */
    bool rw_timer_init;        /* rw_timer initialised (closed at stop) */
    struct fo_fence *rw_fence; /* an attempt running, or NULL */
    int rw_last_status;        /* of the last attempt, to log changes only */
    struct agent_conn *conns;
    struct fo_agent_metrics m;
    /* Relays (relay.c). */
    struct fo_tls_ctx *peer_tls; /* client side to other agents (agent role); NULL in plain mode */
    struct fo_lease_nonces nonces[FO_AGENT_MAX_CLUSTERS]; /* issued, per cluster (index in cfg->clusters) */
    uint64_t relay_term[FO_AGENT_MAX_CLUSTERS];           /* highest term of an accepted relayed renewal */
    struct agent_relay_link *links;                       /* connections to holders' agents */
    unsigned n_links;
    unsigned n_peer_conns; /* open connections of agent-role peers */
    uint64_t relayed[FO_RELAY_RESULT_N];
    uint64_t nonces_issued, forwards_ok, forwards_failed;
    /* Direct lease messages' senders and delays (rpc.c, docs/vip-lease-delay.md). */
    struct fo_lease_senders senders;
    uint64_t lease_delayed;        /* failoverd_agent_lease_delayed_total: refused as delayed */
    bool untimed_logged;           /* a lease message without send time was logged once */
    unsigned refs;                 /* handles, connections and requests still open */
    struct agent_salvage *salvage; /* binlog.c: the last complete read, until fully sent */
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

/* rpc.c, for relay.c: carries out lease actions for e and re-arms its timer. */
void fo_agent_lease_apply(struct agent_lease *e, unsigned actions);

/* relay.c */
/* LeaseNonce, RelayNonce, RelayRenew: takes ownership of req, ends with exactly one
 * reply or refusal. An agent-role peer may send only LeaseNonce and RelayRenew. */
void fo_agent_relay_dispatch(struct agent_conn *c, Fo__Agent__AgentRequest *req);
bool fo_agent_relay_is_relay(const Fo__Agent__AgentRequest *req);
void fo_agent_relay_cancel(struct agent_conn *c);    /* the connection closes */
void fo_agent_relay_stop(struct fo_agent_server *s); /* the server stops */
void fo_agent_relay_metrics(struct fo_agent_server *s, struct fo_buf *b);
const char *fo_agent_relay_result_name(enum fo_relay_result r);
/* The two halves of judging a relayed renewal, apart for the unit tests:
 * open: the signature over m->token by a certificate chaining to tls's CA, a
 * controller's; then the token itself (version 1, a nonce of the right length). On
 * FO_RELAY_OK *tok is the decoded token (free it with
 * fo__agent__relay_token__free_unpacked) and cn the signer's CN.
 * accept: single-use nonce issued at most FO_LEASE_NONCE_MAX_AGE_MS ago, term not
 * below *max_term, epoch not below stored_epoch (the highest on disk), then
 * fo_lease_renew_relayed from the nonce's issue time. On FO_RELAY_OK *max_term is
 * raised to the token's. *actions as for the lease calls (expiry applied first). */
enum fo_relay_result fo_agent_relay_open(struct fo_tls_ctx *tls, const Fo__Agent__RelayRenew *m,
                                         Fo__Agent__RelayToken **tok, char cn[FO_TLS_CN_MAX + 1], char err[FO_ERRLEN]);
enum fo_relay_result fo_agent_relay_accept(const Fo__Agent__RelayToken *tok, struct fo_lease_nonces *nonces,
                                           uint64_t stored_epoch, uint64_t *max_term, struct fo_lease *lease,
                                           uint64_t now_ms, unsigned *actions, char err[FO_ERRLEN]);

/* mysqlfence.c: the local mysqld. */
void fo_agent_ro_expired(struct agent_lease *e); /* e's lease expired (act(): SET_READ_ONLY) */
void fo_agent_ro_held(struct agent_lease *e);    /* e was acquired or renewed */
void fo_agent_rpc_fence(struct agent_conn *c, const Fo__Agent__FenceMysql *m); /* ends with one reply */
void fo_agent_fence_cancel(struct agent_conn *c);                              /* the connection closes */
void fo_agent_ro_stop(struct fo_agent_server *s);                              /* the server stops */
const char *fo_agent_ro_name(enum agent_ro r);
/* The restart watch (docs/fence-stopped.md): the first mysqld that listens on the port
 * again is fenced once by SQL, until a writer VIP lease above epoch is held here. Armed
 * by a FenceMysql that killed a stopped mysqld, and by a binlog salvage (binlog.c) of
 * a dead one: after it, the old primary must not come back writable. pid: the one
 * killed / gone (logs only). */
void fo_agent_restart_watch_arm(struct fo_agent_server *s, const char *cluster, uint64_t epoch, int pid);

/* binlog.c: SalvageBinlog (agent/binlog.h). */
void fo_agent_rpc_salvage(struct agent_conn *c, const Fo__Agent__SalvageBinlog *m); /* ends with one reply */
void fo_agent_salvage_cancel(struct agent_conn *c);    /* the connection closes: the read is killed */
void fo_agent_salvage_drop(struct fo_agent_server *s); /* frees the kept complete read */

#endif
