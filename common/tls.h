/* Mutual TLS over a libuv TCP stream, for the controller admin RPC and the agent RPC.
 *
 * OpenSSL never touches the socket: each connection's SSL object reads ciphertext from
 * one memory BIO (fed from uv_read_start) and writes ciphertext to another (drained
 * into uv_write requests). TLS 1.2 is the minimum and 1.3 is preferred; renegotiation,
 * compression and session tickets are off.
 *
 * Authentication (DESIGN.md §1, §9): one cluster CA signs every certificate; every
 * peer, client or server, must present a certificate that chains to it. A peer's role
 * is the single OU of its certificate subject ("controller", "agent" or "client",
 * made by deploy/gen-certs.sh) and its name is the CN. Each context accepts a set of
 * roles (an agent accepts only FO_TLS_ROLE_CONTROLLER); a peer with any other role,
 * no certificate, an untrusted chain or, on the client side, a certificate whose
 * subjectAltName does not name the address or host connected to, fails the
 * handshake. The connection then closes and on_close reports FO_EPERM with a reason
 * that names the peer (CN) and what was wrong; callers log and count these as
 * refused unauthenticated peers. With TLS 1.3 a client finishes its side of the
 * handshake before the server has checked the client's certificate, so a refused
 * client may see on_handshake and then on_close with the server's alert.
 *
 * Threads: everything here runs on the thread of the connection's loop. A context
 * may be shared by any number of connections on that thread, as server or client
 * side; it may be freed while connections made from it are still open (they hold
 * their own reference to the OpenSSL state). As for any libuv stream, the program
 * must ignore SIGPIPE (failoverd's main does).
 *
 * Memory is bounded: a connection holds at most max_pending bytes of outgoing data
 * (FO_TLS_MAX_PENDING unless fo_tls_ctx_set_max_pending() says otherwise): plaintext
 * queued before the handshake finishes plus ciphertext handed to uv_write whose
 * callback has not yet run. A write that would exceed it fails the connection with
 * FO_ETOOBIG. Incoming bytes are decrypted as they arrive and handed to on_read at
 * once, never buffered beyond one read.
 *
 * Plain mode ([tls] insecure = yes, for tests only): a context from
 * fo_tls_ctx_new_plain() makes connections that are plain TCP under the same API and
 * the same callback contract, so callers have one transport for both modes. Nothing
 * is encrypted and nobody is authenticated: bytes go from fo_tls_conn_write() to
 * uv_write and from the socket to on_read unchanged (the max_pending cap and write
 * callbacks as above); there is no close_notify. A connection is OPEN once the TCP
 * connect has succeeded (client: on_handshake from the connect callback) or once
 * accepted (server: on_handshake on the loop's next turn, never inside
 * fo_tls_conn_accept(), and always before the first on_read). The establishment
 * timeout bounds the TCP connect on the client side; the server side has no
 * handshake to bound. on_close never reports FO_EPERM or FO_EPROTO. The peer is
 * unknown: fo_tls_conn_peer_role() is 0 (no role, so callers must not grant
 * anything on the role in this mode), fo_tls_conn_peer_cn() is "" (callers that log
 * the peer keep their own label, such as the address or "(insecure)"), and
 * fo_tls_conn_protocol() is FO_TLS_PLAIN_PROTOCOL once open.
 *
 * Node ids (DESIGN.md §10): a controller's certificate binds its node id (the raft id,
 * [failoverd] node_id) with exactly one subjectAltName URI "failoverd://node/<id>",
 * <id> in decimal, 1..2^64-1, no sign and no leading zero (deploy/gen-certs.sh
 * controller:NAME,IP,node=ID writes it). The CA vouches for it as it does for the
 * role, so a peer cannot claim another node's id. Only a controller certificate's id
 * means anything: fo_tls_conn_peer_node_id() reports FO_EPERM for any other role. The
 * handshake does not require an id: a controller certificate without one still
 * authenticates as a controller; callers refuse what needs an identity (the admin
 * server's internal RPCs: verdicts, proposals, member notes; raft later). Plain mode
 * binds nothing: callers that need an id there must say that the id is only claimed. */
#ifndef FO_TLS_H
#define FO_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/err.h"
#include "common/tls_id.h"

#define FO_TLS_MAX_PENDING (1u << 20) /* default cap on outgoing bytes held per connection */
#define FO_TLS_MIN_PENDING (1u << 14)
#define FO_TLS_HANDSHAKE_MS 10000 /* default bound on connect + handshake */
#define FO_TLS_MAX_HANDSHAKE_MS 600000
#define FO_TLS_PLAIN_PROTOCOL "plain TCP" /* fo_tls_conn_protocol() in plain mode */

/* ------------------------------------------------------------------ loaded files */

/* A process's TLS files, read and parsed once (issue 10): the cluster CA's trust store,
 * this node's certificate chain and its private key, with the protocol settings of
 * every context made from them. A daemon loads its [tls] files once at start (main.c)
 * and makes each context it needs (admin server and client, raft, agent client; the
 * agent's port) with fo_tls_ctx_from_files(), each with its own accepted roles, output
 * bound and handshake timeout, so that no file is opened again after start and every
 * context of the process trusts the same CA and presents the same certificate.
 *
 * The files object and the contexts made from it share one reference-counted OpenSSL
 * context, which nothing changes after the load: the object may be freed while
 * contexts made from it (and their connections) are still in use. Thread: like a
 * context (see "Threads" above). */
struct fo_tls_files;

/* Reads the cluster CA (PEM, ca_file), this node's certificate chain (PEM, cert_file)
 * and its private key (PEM, key_file). Checks that each file is readable and parses,
 * that the key matches the certificate, that the certificate chains to the CA (and is
 * within its validity period) and that it carries a role. Returns 0 with *out set, or
 * FO_ECONFIG (unreadable or bad file: err names the file and the reason, for
 * --check-config to print as it is) or FO_ENOMEM. */
int fo_tls_files_load(struct fo_tls_files **out, const char *ca_file, const char *cert_file, const char *key_file,
                      char err[FO_ERRLEN]);

/* Frees the loaded files. NULL is ignored. Contexts made from f stay valid. */
void fo_tls_files_free(struct fo_tls_files *f);

/* The loaded certificate's role bit and node id, as fo_tls_ctx_role() and
 * fo_tls_ctx_node_id() report them for a context made from f. */
unsigned fo_tls_files_role(const struct fo_tls_files *f);
int fo_tls_files_node_id(const struct fo_tls_files *f, uint64_t *id);

/* When the loaded certificates stop being valid, as Unix seconds (wall clock, for
 * /metrics and alerts only; nothing times out on it): *cert_s is the notAfter of this
 * node's own certificate, *ca_s the earliest notAfter among the trusted CA
 * certificates (0 if the trust store holds none). Returns 0, FO_ENOTFOUND for f NULL
 * (insecure = yes: no certificate), or FO_EPROTO if OpenSSL cannot read the time. */
int fo_tls_files_not_after(const struct fo_tls_files *f, int64_t *cert_s, int64_t *ca_s);

/* What every failoverd node requires of its own certificate (DESIGN.md §10; raft and
 * the admin server's internal RPCs check the same of each peer): a controller's that
 * binds node_id (see "Node ids"). Returns 0, or FO_ECONFIG with err naming cert_file
 * (the path f was loaded from, for the message) and what is wrong, so that
 * --check-config refuses what start would. */
int fo_tls_files_check_node(const struct fo_tls_files *f, uint64_t node_id, const char *cert_file, char err[FO_ERRLEN]);

/* ------------------------------------------------------------------ signatures */

struct fo_tls_ctx;

/* Signed messages that travel outside a TLS session (the relayed lease renewal,
 * docs/relayed-lease.md): the leader signs with the private key of its controller
 * certificate, and an agent checks the signature against the certificate chain sent
 * along, which must chain to the agent's cluster CA and name the wanted role. Every
 * signature covers `context` (a NUL-terminated label, one per kind of message, so that
 * a signature made for one purpose can never be taken for another) followed by the
 * message bytes; the digest is SHA-256 (none for Ed25519/Ed448 keys). */
#define FO_TLS_MAX_SIG 1024      /* longest signature accepted (RSA-8192 fits) */
#define FO_TLS_MAX_CHAIN 4       /* certificates accepted in a sent chain, own first */
#define FO_TLS_MAX_CERT_DER 8192 /* bytes of one certificate in DER */
/* The context of a relayed lease renewal's token (proto/agent.proto RelayToken). */
#define FO_RELAY_SIGN_CONTEXT "failoverd relayed lease renewal v1"

/* Signs context || msg with f's private key. Returns 0 with *sig (malloc'd, the caller
 * frees it) and *sig_len set, or FO_ENOMEM / FO_EIO (OpenSSL refused; err says why). */
int fo_tls_files_sign(struct fo_tls_files *f, const char *context, const void *msg, size_t len, uint8_t **sig,
                      size_t *sig_len, char err[FO_ERRLEN]);

/* The DER of f's own certificate (i = 0) and of the chain certificates loaded with it
 * (i = 1, 2, ...), for the receiver to verify a signature with. Returns 0 with *der
 * (malloc'd) and *len, FO_ENOTFOUND past the last one, or FO_ENOMEM / FO_EIO. */
int fo_tls_files_cert_der(struct fo_tls_files *f, unsigned i, uint8_t **der, size_t *len, char err[FO_ERRLEN]);

/* Checks a signature made by fo_tls_files_sign: certs[0..n) is the signer's chain in
 * DER (its own certificate first, 1..FO_TLS_MAX_CHAIN entries), which must verify
 * against ctx's CA (the same checks as a TLS peer: trusted chain, validity period) and
 * whose first certificate must name a role in accepted_roles; sig must verify over
 * context || msg with that certificate's public key. Returns 0 with *role and cn (the
 * signer's, cn FO_TLS_CN_MAX + 1 bytes, may be NULL) set; otherwise FO_EPERM (untrusted
 * chain, wrong role, bad signature: err says which), FO_EINVAL (a plain context, no or
 * too many certificates, undecodable DER, oversized input) or FO_ENOMEM. Pure CPU work,
 * no I/O: safe on the loop (one verification costs well under a millisecond). */
int fo_tls_ctx_verify_signed(struct fo_tls_ctx *ctx, const uint8_t *const *certs, const size_t *cert_lens, unsigned n,
                             unsigned accepted_roles, const char *context, const void *msg, size_t len,
                             const uint8_t *sig, size_t sig_len, unsigned *role, char *cn, char err[FO_ERRLEN]);

/* ------------------------------------------------------------------ context */

struct fo_tls_ctx;

/* Makes a context from files already loaded (no file is read), accepting the peer
 * roles accepted_roles (a non-empty subset of FO_TLS_ROLE_ALL), with the default output
 * bound and handshake timeout. Returns 0 with *out set, or FO_EINVAL (f is NULL, or bad
 * accepted_roles; err says which) or FO_ENOMEM. */
int fo_tls_ctx_from_files(struct fo_tls_ctx **out, struct fo_tls_files *f, unsigned accepted_roles,
                          char err[FO_ERRLEN]);

/* fo_tls_files_load() then fo_tls_ctx_from_files(), for a program or test that needs a
 * single context: the same checks, the same return values (FO_EINVAL for bad
 * accepted_roles, checked before any file is read). */
int fo_tls_ctx_new(struct fo_tls_ctx **out, const char *ca_file, const char *cert_file, const char *key_file,
                   unsigned accepted_roles, char err[FO_ERRLEN]);

/* A plain context (see "Plain mode" above): no files, no roles. Returns 0 with *out
 * set, or FO_ENOMEM. The setters below and fo_tls_ctx_free() apply to it as well. */
int fo_tls_ctx_new_plain(struct fo_tls_ctx **out, char err[FO_ERRLEN]);

/* Sets the cap on outgoing bytes held per connection (see above) for connections made
 * from now on, FO_TLS_MIN_PENDING..INT_MAX: a server whose responses may be larger
 * than FO_TLS_MAX_PENDING raises it. Returns 0 or FO_EINVAL. */
int fo_tls_ctx_set_max_pending(struct fo_tls_ctx *ctx, size_t bytes);

/* Sets the bound on establishing a connection made from now on, 1..600000 ms
 * (FO_TLS_HANDSHAKE_MS unless set): the TCP connect plus the handshake on the client
 * side, the handshake on the server side. A connection not OPEN by then fails with
 * FO_ETIMEDOUT, so a peer that connects and stays silent cannot hold a server's
 * connection (and its slot) for ever. Returns 0 or FO_EINVAL. */
int fo_tls_ctx_set_handshake_timeout(struct fo_tls_ctx *ctx, unsigned ms);

/* Frees the context. NULL is ignored. */
void fo_tls_ctx_free(struct fo_tls_ctx *ctx);

/* This node's own certificate: its role bit (0 for a plain context) and the node id it
 * binds, with fo_tls_conn_peer_node_id()'s return values (FO_ENOTFOUND for a plain
 * context or a certificate without an id, FO_EPERM if its role is not controller,
 * FO_EINVAL for several or malformed ids), so that a daemon can check at start that its
 * certificate names the node id of its configuration. */
unsigned fo_tls_ctx_role(const struct fo_tls_ctx *ctx);
int fo_tls_ctx_node_id(const struct fo_tls_ctx *ctx, uint64_t *id);

/* ------------------------------------------------------------------ connection */

struct fo_tls_conn;

enum fo_tls_state {
    FO_TLS_IDLE,       /* made, neither accept nor connect called yet */
    FO_TLS_CONNECTING, /* client: TCP connect in progress */
    FO_TLS_HANDSHAKE,  /* TCP up, TLS handshake in progress (plain server: about to open) */
    FO_TLS_OPEN,       /* authenticated: data flows */
    FO_TLS_CLOSING,    /* closed or failed; on_close is pending */
};

/* Called with plaintext as it arrives (feed it to a fo_frame_decoder). The bytes are
 * valid during the call only. The callee may write or close the connection. */
typedef void (*fo_tls_read_cb)(void *data, struct fo_tls_conn *c, const uint8_t *bytes, size_t n);
/* Called once when the handshake has succeeded and the peer is authenticated; the
 * peer's role and CN can be read from here on. In plain mode: once the connection is
 * established, with no peer identity (see above). */
typedef void (*fo_tls_handshake_cb)(void *data, struct fo_tls_conn *c);
/* The connection's final callback: status is FO_ECANCELED after fo_tls_conn_close(),
 * otherwise why it failed: FO_EPERM (peer not authenticated or role not accepted),
 * FO_EPROTO (not TLS, or a TLS error), FO_ECLOSED (the peer closed), FO_EIO (socket
 * error), FO_EUNREACHABLE (connect failed), FO_ETIMEDOUT (not established in time, see
 * fo_tls_ctx_set_handshake_timeout), FO_ETOOBIG (buffer cap), FO_ENOMEM.
 * reason is a human-readable line, valid during the call only. The connection has
 * been freed already: the pointer must not be used in or after this call. */
typedef void (*fo_tls_close_cb)(void *data, int status, const char *reason);
/* One write's completion: 0 once its ciphertext has been written to the kernel,
 * FO_ECANCELED if the connection closed first, FO_EIO if the socket write failed (the
 * connection then fails as well). */
typedef void (*fo_tls_write_cb)(void *data, int status);

struct fo_tls_conn_cbs {
    fo_tls_handshake_cb on_handshake; /* may be NULL */
    fo_tls_read_cb on_read;           /* required */
    fo_tls_close_cb on_close;         /* required */
    void *data;                       /* passed to all three */
};

/* Makes a connection on loop (uv_tcp_init of its own TCP handle) using ctx. Returns 0
 * with *out set, or FO_ENOMEM / FO_EIO with err filled; then nothing needs closing and
 * no callback fires. After success, on_close fires exactly once (libuv contract,
 * STYLE.md §4), after fo_tls_conn_close() or after the connection failed by itself,
 * and only once every handle and request of the connection is done. */
int fo_tls_conn_new(struct fo_tls_ctx *ctx, uv_loop_t *loop, const struct fo_tls_conn_cbs *cbs,
                    struct fo_tls_conn **out, char err[FO_ERRLEN]);

/* Server side: uv_accept()s a pending connection from server (a listening uv_tcp_t on
 * the same loop, called from its connection callback) and starts the handshake.
 * Only from FO_TLS_IDLE. On error (FO_EIO, err filled) nothing has started and the
 * connection must still be closed with fo_tls_conn_close(). */
int fo_tls_conn_accept(struct fo_tls_conn *c, uv_stream_t *server, char err[FO_ERRLEN]);
/* The same for a socket fd already accepted (non-blocking, connected TCP), for a
 * caller that runs its own accept loop (common/listener.h). fd belongs to c from this
 * call on, whatever it returns. */
int fo_tls_conn_accept_fd(struct fo_tls_conn *c, uv_os_sock_t fd, char err[FO_ERRLEN]);

/* Client side: connects to addr and then starts the handshake. The server's
 * certificate must name server_name in its subjectAltName (an IP literal is matched
 * against IP entries, anything else against DNS entries); NULL means addr's IP
 * address. Plain mode ignores server_name. Only from FO_TLS_IDLE. A connect failure arrives later as on_close with
 * FO_EUNREACHABLE. On error (FO_EINVAL, FO_EIO; err filled) nothing has started and
 * the connection must still be closed. */
int fo_tls_conn_connect(struct fo_tls_conn *c, const struct sockaddr *addr, const char *server_name,
                        char err[FO_ERRLEN]);

/* Sends n bytes (1..max_pending), copied before the call returns. Before the
 * handshake has finished they are queued and sent, in order, once it has. cb (may be
 * NULL) fires exactly once if this returns 0, always before on_close. Returns
 * FO_ECLOSED when the connection is closing (nothing happens), FO_EINVAL for a bad n,
 * or FO_ETOOBIG / FO_ENOMEM / FO_EIO: then the connection fails with that status
 * (on_close follows) and cb never fires. */
int fo_tls_conn_write(struct fo_tls_conn *c, const void *bytes, size_t n, fo_tls_write_cb cb, void *data);

/* Stops / resumes reading from the socket (back-pressure). Only in FO_TLS_OPEN;
 * bytes already received are still delivered. Return 0 or FO_EINVAL / FO_EIO. */
int fo_tls_conn_read_stop(struct fo_tls_conn *c);
int fo_tls_conn_read_start(struct fo_tls_conn *c);

/* Closes the connection: sends a TLS close_notify if the handshake had finished (not
 * in plain mode),
 * cancels what is pending and closes the TCP handle. on_close follows with
 * FO_ECANCELED, or with the earlier failure's status if the connection had already
 * failed. Idempotent; safe from inside any of the connection's callbacks. */
void fo_tls_conn_close(struct fo_tls_conn *c);

enum fo_tls_state fo_tls_conn_state(const struct fo_tls_conn *c);
/* The peer's role bit and CN once on_handshake has fired; 0 and "" before, and
 * always in plain mode. */
unsigned fo_tls_conn_peer_role(const struct fo_tls_conn *c);
const char *fo_tls_conn_peer_cn(const struct fo_tls_conn *c);
/* The node id bound to the peer's certificate (see "Node ids" above), once on_handshake
 * has fired. Returns 0 with *id set (never 0), or FO_ENOTFOUND (not open yet, plain
 * mode, or the certificate names no node id), FO_EPERM (the peer's role is not
 * controller, whatever its certificate says) or FO_EINVAL (the certificate names more
 * than one node id, or a malformed one); *id is 0 then. For reuse by every server
 * that must know which node is talking (admin internal RPCs, raft). */
int fo_tls_conn_peer_node_id(const struct fo_tls_conn *c, uint64_t *id);
/* The negotiated protocol ("TLSv1.3", or FO_TLS_PLAIN_PROTOCOL in plain mode) once
 * open; "" before. */
const char *fo_tls_conn_protocol(const struct fo_tls_conn *c);
/* Outgoing bytes held (counted against max_pending): queued plaintext plus ciphertext
 * whose uv_write has not called back yet. For what the kernel has not yet taken, see
 * uv_stream_get_write_queue_size() on fo_tls_conn_tcp(). */
size_t fo_tls_conn_pending(const struct fo_tls_conn *c);
/* The TCP handle, for socket options (uv_tcp_nodelay, keepalive) only: it must not be
 * read, written or closed directly. */
uv_tcp_t *fo_tls_conn_tcp(struct fo_tls_conn *c);

#endif
