/* A TCP listener whose connections are fo_tls_conn (common/tls.h), with connection
 * budgets (DESIGN.md §10, issue 9): the admin server and the agent server use it, and a
 * raft transport on common/tls can.
 *
 * Every connection lives in one pool at a time:
 *   UNAUTH    accepted, handshake not finished. At most max_unauth of them, and at
 *             most max_unauth_per_source from one IP address; a handshake not finished
 *             within handshake_ms (set on the context at fo_listener_start) is dropped.
 *   TRUSTED   the same stage for a connection from a trusted source address
 *             (fo_listener_set_trusted: the other controllers' addresses) that found
 *             UNAUTH full or its per-source share used up: trusted_unauth more slots,
 *             so strangers filling the handshake budget cannot keep a peer out.
 *   AUTH      authenticated (TLS handshake done; plain mode: open), any accepted role:
 *             at most max_conns.
 *   RESERVED  authenticated with a role in reserved_roles (the controller role) once
 *             AUTH is full, or first for such a role: reserved more slots that no
 *             stranger and no client certificate can take, so verdicts and forwarding
 *             between controllers are never starved.
 * Plain mode ([tls] insecure = yes) knows no role: every connection is AUTH once open,
 * and the reserve is unused.
 *
 * A connection refused by a budget is accepted and closed at once (a listener that does
 * not accept stalls: libuv stops reading it). Every refusal is counted by reason (the
 * labels below) and logged at most once a second per reason, with the number of
 * refusals not logged since. When accept() fails with EMFILE/ENFILE, libuv closes the
 * fd it keeps in reserve for this (uv__emfile_trick), accepts and drops what is
 * pending, and takes the fd back; the listener counts that as fd_limit and logs it
 * (rate-limited). fo_listener_start warns when the budgets do not fit under
 * RLIMIT_NOFILE.
 *
 * Threads: the loop's thread only. */
#ifndef FO_LISTENER_H
#define FO_LISTENER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/tls.h"

#define FO_LISTENER_MAX_TRUSTED 32 /* trusted source addresses */

enum fo_listener_pool {
    FO_LISTENER_POOL_NONE,
    FO_LISTENER_POOL_UNAUTH,
    FO_LISTENER_POOL_TRUSTED,
    FO_LISTENER_POOL_AUTH,
    FO_LISTENER_POOL_RESERVED,
    FO_LISTENER_POOL_N,
};

/* Why a connection was refused or dropped (label reason= in /metrics). */
enum fo_listener_refusal {
    FO_LISTENER_REFUSED_UNAUTH_FULL,  /* "unauth_full": max_unauth handshakes in progress */
    FO_LISTENER_REFUSED_PER_SOURCE,   /* "per_source": max_unauth_per_source from that address */
    FO_LISTENER_REFUSED_FULL,         /* "full": authenticated, but max_conns (and the reserve) in use */
    FO_LISTENER_REFUSED_HANDSHAKE,    /* "handshake": not authenticated, not TLS, closed in the handshake */
    FO_LISTENER_REFUSED_TIMEOUT,      /* "handshake_timeout": not authenticated within handshake_ms */
    FO_LISTENER_REFUSED_FD_LIMIT,     /* "fd_limit": accept() failed with EMFILE/ENFILE */
    FO_LISTENER_REFUSED_ACCEPT_ERROR, /* "accept_error": any other accept or set-up failure */
    FO_LISTENER_REFUSED_N,
};

const char *fo_listener_refusal_name(enum fo_listener_refusal r); /* the label; never NULL */
const char *fo_listener_pool_name(enum fo_listener_pool p);       /* "unauth", ...; never NULL */

struct fo_listener_limits {
    unsigned max_conns;             /* AUTH, >= 1 */
    unsigned reserved;              /* RESERVED (0 = none) */
    unsigned reserved_roles;        /* FO_TLS_ROLE_* bits that may use RESERVED */
    unsigned max_unauth;            /* UNAUTH, >= 1 */
    unsigned max_unauth_per_source; /* >= 1, <= max_unauth */
    unsigned trusted_unauth;        /* TRUSTED (0 = none) */
    unsigned handshake_ms;          /* 1..FO_TLS_MAX_HANDSHAKE_MS */
};

/* Checks l: 0, or FO_EINVAL with err naming the bad field. */
int fo_listener_limits_check(const struct fo_listener_limits *l, char err[FO_ERRLEN]);

/* ---- the accounting, pure (unit-tested with tables of cases) */

struct fo_listener_budget {
    struct fo_listener_limits lim;
    unsigned used[FO_LISTENER_POOL_N];
};

/* A new connection: same_source is how many UNAUTH connections its address holds now,
 * trusted whether the address is a trusted one. Takes a slot and returns its pool
 * (UNAUTH, else TRUSTED for a trusted source), or returns NONE with *why set. */
enum fo_listener_pool fo_listener_budget_admit(struct fo_listener_budget *b, unsigned same_source, bool trusted,
                                               enum fo_listener_refusal *why);
/* The handshake of a connection in pool from (UNAUTH or TRUSTED) succeeded with peer
 * role role (0 in plain mode): gives back its handshake slot and takes AUTH or
 * RESERVED (a reserved role takes RESERVED first, then AUTH), or returns NONE with *why
 * set (FO_LISTENER_REFUSED_FULL). */
enum fo_listener_pool fo_listener_budget_promote(struct fo_listener_budget *b, enum fo_listener_pool from,
                                                 unsigned role, enum fo_listener_refusal *why);
/* Gives back a slot of pool (NONE is ignored). */
void fo_listener_budget_release(struct fo_listener_budget *b, enum fo_listener_pool pool);

/* ---- the listener */

struct fo_listener;

/* A connection the budget admitted, accepted, its handshake started: fill *cbs (as for
 * fo_tls_conn_new; on_read and on_close required) and return 0; c's callbacks then go
 * to them, and on_close fires exactly once, after which c is freed. peer is "ip:port".
 * Return non-zero to refuse (out of memory): the listener closes c and none of the
 * callbacks fire. A connection the listener refuses after this (the authenticated
 * budget is full) reaches on_close with FO_EBUSY. */
typedef int (*fo_listener_conn_cb)(void *data, struct fo_tls_conn *c, const char *peer, struct fo_tls_conn_cbs *cbs);

/* Listens on addr (IP literal and port) with connections made from ctx, whose handshake
 * timeout it sets to lim->handshake_ms. name labels log lines ("admin", "agent"). ctx,
 * and name, must outlive the listener. Returns 0 with *out set, or FO_EINVAL (bad
 * limits, err filled), FO_EIO (bind/listen failed), FO_ENOMEM; then nothing is open. */
int fo_listener_start(struct fo_listener **out, uv_loop_t *loop, const struct sockaddr *addr,
                      const struct fo_listener_limits *lim, struct fo_tls_ctx *ctx, const char *name,
                      fo_listener_conn_cb cb, void *data, char err[FO_ERRLEN]);

/* Replaces the trusted source addresses (IP literals, n <= FO_LISTENER_MAX_TRUSTED;
 * a string that is not an address is skipped). Returns how many were taken. */
unsigned fo_listener_set_trusted(struct fo_listener *l, const char *const *ips, unsigned n);

/* Stops accepting and closes every connection (their on_close fires with FO_ECANCELED).
 * closed_cb (may be NULL) fires once from the loop when the listening handle and every
 * connection are closed and l is freed. Call once. */
typedef void (*fo_listener_closed_cb)(void *data);
void fo_listener_stop(struct fo_listener *l, fo_listener_closed_cb closed_cb, void *data);

/* Counters and gauges, for /metrics and tests. */
uint64_t fo_listener_refused(const struct fo_listener *l, enum fo_listener_refusal why);
unsigned fo_listener_in_use(const struct fo_listener *l, enum fo_listener_pool pool);

/* Writes <prefix>_conn_refused_total{reason} and <prefix>_connections{pool} families
 * (prefix "failoverd_admin", "failoverd_agent"). l may be NULL (zeros). */
void fo_listener_metrics(const struct fo_listener *l, struct fo_buf *b, const char *prefix);

#endif
