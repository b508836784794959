/* libraft's raft_uv_transport over mutual TLS (DESIGN.md §10): who may speak raft.
 *
 * libraft's uv backend wants a connected uv_stream_t per peer connection, which it
 * reads (incoming) or writes (outgoing) in plaintext and finally uv_close()s and
 * raft_free()s. libuv has no user-defined streams, so each connection is bridged:
 * a socketpair(AF_UNIX) whose one end, a raft_malloc'd uv_pipe_t, is handed to
 * libraft, and whose other end this module reads and writes:
 *
 *   peer ==TLS== fo_tls_conn --plaintext--> wire validator --approved bytes--> bridge | lib pipe --> libraft
 *   libraft --> lib pipe | bridge --plaintext--> fo_tls_conn ==TLS== peer
 *
 * Incoming connection, in order, within handshake_ms of the TCP accept: the TLS
 * handshake (controller role only; a plain context: none), then libraft's handshake
 * (wire.h), which this module consumes. It is accepted only if
 *   - the certificate binds a node id (fo_tls_conn_peer_node_id) equal to the raft
 *     id the handshake claims (TLS mode),
 *   - member_cb says the id (and the address it claims) is a member,
 * and only then is the lib end handed to libraft's accept callback. From there on
 * every byte passes the wire validator (wire.h); the first malformed frame closes
 * the connection before libraft has read any of it. A message started and then left
 * unfinished for stall_ms closes it too. A silent connection between messages is
 * kept: libraft keeps one per peer and writes on it only at elections.
 *
 * Outgoing connection: TLS connect to the IPv4 address libraft gives (the peer's
 * certificate must name that IP, as fo_tls_conn_connect checks, and in TLS mode bind
 * the very node id libraft dialled), then our handshake is sent and the lib end goes
 * to libraft's connect callback. Bytes from the accepting side are a protocol error
 * (libraft never answers on a connection it accepted).
 *
 * Budgets: at most max_pending incoming connections before their raft handshake
 * (further ones are accepted and closed at once), at most max_per_peer accepted
 * connections per peer id (a new one closes that peer's oldest: a restarted peer's
 * stale connections must not lock it out). Every refusal is logged (rate-limited)
 * and counted by reason. When either side closes, the other end of the bridge sees
 * EOF (libraft reading) or EPIPE on its next write (libraft writing, which then
 * reconnects), so libraft's own failure handling applies.
 *
 * Threads: the loop thread only. The transport follows libraft's contract
 * (raft/uv.h): close() stops listening, cancels pending connects with RAFT_CANCELED
 * and calls back once every handle is closed; fo_raft_transport_free() after that. */
#ifndef FO_RAFT_TRANSPORT_H
#define FO_RAFT_TRANSPORT_H

#include <raft.h>
#include <raft/uv.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/tls.h"
#include "raft/wire.h"

#define FO_RAFT_TR_HANDSHAKE_MS 1000u
#define FO_RAFT_TR_STALL_MS 10000u
#define FO_RAFT_TR_MAX_PENDING 16u
#define FO_RAFT_TR_MAX_PER_PEER 4u

/* Refusal reasons: the `reason` label of failoverd_raft_transport_refused_total. */
enum fo_raft_tr_why {
    FO_RAFT_TR_TLS,               /* TLS handshake failed: not TLS, no/untrusted certificate, wrong role */
    FO_RAFT_TR_NO_NODE_ID,        /* controller certificate binds no (valid) node id */
    FO_RAFT_TR_ID_MISMATCH,       /* raft id claimed (or dialled) != certificate's node id */
    FO_RAFT_TR_NOT_MEMBER,        /* id (or its address) not in the raft configuration */
    FO_RAFT_TR_HANDSHAKE_TIMEOUT, /* not through both handshakes within handshake_ms */
    FO_RAFT_TR_STALLED,           /* a message started and not finished within stall_ms */
    FO_RAFT_TR_PENDING_CAP,       /* too many connections before their handshake */
    FO_RAFT_TR_PEER_CAP,          /* a peer's oldest connection, closed for a newer one */
    FO_RAFT_TR_UNEXPECTED_DATA,   /* bytes from the accepting side of our connection */
    FO_RAFT_TR_FRAME,             /* first of the wire reasons (wire.h), offset by why - 1 */
    FO_RAFT_TR_N_WHY = FO_RAFT_TR_FRAME + FO_RAFT_WIRE_N_WHY - 1,
};

/* "tls", "no_node_id", ..., "bad_handshake", ..., "too_big". Never NULL. */
const char *fo_raft_tr_why_name(enum fo_raft_tr_why why);

/* Is `id`, claiming raft address `address`, a member this node should hear from?
 * Called on the loop thread at each incoming handshake. */
typedef bool (*fo_raft_member_cb)(void *data, uint64_t id, const char *address);

struct fo_raft_transport_opts {
    struct fo_tls_ctx *tls;            /* borrowed, must outlive the transport; plain or TLS */
    bool secure;                       /* tls is a TLS context: require and check node ids */
    unsigned handshake_ms;             /* 0 = FO_RAFT_TR_HANDSHAKE_MS */
    unsigned stall_ms;                 /* 0 = FO_RAFT_TR_STALL_MS */
    unsigned max_pending;              /* 0 = FO_RAFT_TR_MAX_PENDING */
    unsigned max_per_peer;             /* 0 = FO_RAFT_TR_MAX_PER_PEER */
    struct fo_raft_wire_limits limits; /* zeros = wire.h defaults */
    fo_raft_member_cb member_cb;       /* NULL = any id */
    void *member_data;
};

struct fo_raft_transport_stats {
    uint64_t refused[FO_RAFT_TR_N_WHY];
    uint64_t accepted;  /* incoming connections handed to libraft */
    uint64_t connected; /* outgoing connections handed to libraft */
    unsigned pending;   /* incoming, before their raft handshake */
    unsigned open;      /* incoming accepted + outgoing connected, now */
};

/* Fills t (version 1, as libraft 0.22 requires) with this implementation; t->data is
 * kept for libraft. Returns 0, FO_EINVAL (no tls context) or FO_ENOMEM. */
int fo_raft_transport_init(struct raft_uv_transport *t, uv_loop_t *loop, const struct fo_raft_transport_opts *o,
                           char err[FO_ERRLEN]);

/* Releases the implementation, after libraft has closed the transport (its close
 * callback ran, i.e. after raft_close's callback) or if it was never used. */
void fo_raft_transport_free(struct raft_uv_transport *t);

const struct fo_raft_transport_stats *fo_raft_transport_stats(const struct raft_uv_transport *t);

/* Writes the failoverd_raft_transport_* families (Prometheus text) into b. */
void fo_raft_transport_metrics(const struct raft_uv_transport *t, struct fo_buf *b);

#endif
