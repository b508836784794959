/* Mutual TLS over libuv with OpenSSL memory BIOs: see tls.h for the contract.
 *
 * Data path: uv_read_start -> BIO_write(rbio) -> SSL_do_handshake / SSL_read ->
 * on_read; fo_tls_conn_write -> SSL_write -> BIO_read(wbio) -> uv_write. OpenSSL
 * never blocks and never sees the socket, so every step runs to completion inside
 * one libuv callback. Contexts and the verification of peers' certificates come from
 * tls_ossl.c, which failoverctl shares; this file words the refusals.
 *
 * A plain context (insecure = yes) has no SSL_CTX and its connections no SSL object:
 * the same state machine, timers, queue and cap, with bytes passed straight between
 * the socket and the callbacks. */
#include "common/tls.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/tls_ossl.h"

#define READ_CHUNK 16384
#define PEERLEN 64 /* "[v6 address]:port" */
#define SERVER_NAME_MAX 253
#define ROLES_LEN 64 /* "controller, agent, client" */
#define CLOSE_NOTIFY_ROOM 64

/* ------------------------------------------------------------------ roles */

/* "controller, client" for a mask, for messages. */
static void roles_text(unsigned mask, char out[ROLES_LEN])
{
    size_t i, len = 0;

    out[0] = '\0';
    for (i = 0; i < 32; i++) {
        unsigned bit = 1u << i;

        if (!(mask & bit & FO_TLS_ROLE_ALL)) continue;
        len += (size_t)snprintf(out + len, ROLES_LEN - len, "%s%s", len ? ", " : "", fo_tls_role_name(bit));
    }
}

/* ------------------------------------------------------------------ loaded files */

struct fo_tls_files {
    SSL_CTX *ssl; /* one reference; each context made from it holds another */
};

int fo_tls_files_load(struct fo_tls_files **out, const char *ca_file, const char *cert_file, const char *key_file,
                      char err[FO_ERRLEN])
{
    struct fo_tls_files *f;
    int rc;

    *out = NULL;
    f = calloc(1, sizeof *f);
    if (f == NULL) return fo_errf(err, FO_ENOMEM, "TLS: out of memory");
    /* One OpenSSL context serves both sides of every connection the process makes:
     * idle sessions give back OpenSSL's buffers, and the chain sent is cert_file's
     * alone, not the CA, which every peer has already. Our own certificate must name a
     * role, as every peer will check. The accepted roles are not in it: each session
     * gets its context's (fo_tls_ossl_check_init), so contexts with different roles
     * can share it. */
    rc = fo_tls_ossl_ctx_new(&f->ssl, TLS_method(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN, true, ca_file,
                             cert_file, key_file, err);
    if (rc != 0) {
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void fo_tls_files_free(struct fo_tls_files *f)
{
    if (f == NULL) return;
    SSL_CTX_free(f->ssl);
    free(f);
}

/* The role and node id of the certificate an OpenSSL context presents (ssl NULL:
 * plain, no certificate). */
static unsigned own_role(SSL_CTX *ssl)
{
    struct fo_tls_identity me;

    if (ssl == NULL) return 0;
    fo_tls_ossl_identify(SSL_CTX_get0_certificate(ssl), &me);
    return me.role;
}

static int own_node_id(SSL_CTX *ssl, uint64_t *id)
{
    *id = 0;
    if (ssl == NULL) return FO_ENOTFOUND;
    if (own_role(ssl) != FO_TLS_ROLE_CONTROLLER) return FO_EPERM;
    return fo_tls_ossl_node_id(SSL_CTX_get0_certificate(ssl), id);
}

unsigned fo_tls_files_role(const struct fo_tls_files *f)
{
    return own_role(f->ssl);
}

int fo_tls_files_node_id(const struct fo_tls_files *f, uint64_t *id)
{
    return own_node_id(f->ssl, id);
}

/* Seconds from the Unix epoch to t, computed by OpenSSL itself (ASN1_TIME_diff)
 * so that neither timegm nor the local time zone is involved. */
static int asn1_to_unix(const ASN1_TIME *t, int64_t *out)
{
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    int days = 0, secs = 0, ok = epoch != NULL && t != NULL && ASN1_TIME_diff(&days, &secs, epoch, t) == 1;

    ASN1_TIME_free(epoch);
    if (!ok) return FO_EPROTO;
    *out = (int64_t)days * 86400 + secs;
    return 0;
}

int fo_tls_files_not_after(const struct fo_tls_files *f, int64_t *cert_s, int64_t *ca_s)
{
    STACK_OF(X509_OBJECT) * objs;
    X509_STORE *store;
    int64_t t;
    int i, rc;

    *cert_s = 0;
    *ca_s = 0;
    if (f == NULL || f->ssl == NULL) return FO_ENOTFOUND;
    rc = asn1_to_unix(X509_get0_notAfter(SSL_CTX_get0_certificate(f->ssl)), cert_s);
    if (rc != 0) return rc;
    store = SSL_CTX_get_cert_store(f->ssl);
    objs = store != NULL ? X509_STORE_get0_objects(store) : NULL;
    for (i = 0; objs != NULL && i < sk_X509_OBJECT_num(objs); i++) {
        X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        if (x == NULL || asn1_to_unix(X509_get0_notAfter(x), &t) != 0) continue;
        if (*ca_s == 0 || t < *ca_s) *ca_s = t;
    }
    return 0;
}

int fo_tls_files_check_node(const struct fo_tls_files *f, uint64_t node_id, const char *cert_file, char err[FO_ERRLEN])
{
    uint64_t id;
    int rc = fo_tls_files_node_id(f, &id);

    if (rc == FO_EPERM)
        return fo_errf(err, FO_ECONFIG, "TLS certificate file %s has role \"%s\"; a failoverd node needs a %s one",
                       cert_file, fo_tls_role_name(fo_tls_files_role(f)), fo_tls_role_name(FO_TLS_ROLE_CONTROLLER));
    if (rc != 0)
        return fo_errf(err, FO_ECONFIG,
                       "TLS certificate file %s: %s (make it with deploy/gen-certs.sh controller:NAME,IP,node=%llu)",
                       cert_file, fo_tls_node_id_why(rc), (unsigned long long)node_id);
    if (id != node_id)
        return fo_errf(err, FO_ECONFIG, "TLS certificate file %s is node %llu's (%s%llu), but node_id is %llu",
                       cert_file, (unsigned long long)id, FO_TLS_NODE_URI_PREFIX, (unsigned long long)id,
                       (unsigned long long)node_id);
    return 0;
}

/* ------------------------------------------------------------------ context */

struct fo_tls_ctx {
    SSL_CTX *ssl; /* NULL for a plain context; else a reference to the files' */
    unsigned accepted_roles;
    size_t max_pending;
    unsigned handshake_ms;
};

static int check_roles(unsigned accepted_roles, char err[FO_ERRLEN])
{
    if (accepted_roles == 0 || (accepted_roles & ~FO_TLS_ROLE_ALL) != 0)
        return fo_errf(err, FO_EINVAL, "TLS: accepted roles 0x%x are not a set of known roles", accepted_roles);
    return 0;
}

int fo_tls_ctx_from_files(struct fo_tls_ctx **out, struct fo_tls_files *f, unsigned accepted_roles, char err[FO_ERRLEN])
{
    struct fo_tls_ctx *ctx;
    int rc;

    *out = NULL;
    if (f == NULL) return fo_errf(err, FO_EINVAL, "TLS: the [tls] files were not loaded");
    if ((rc = check_roles(accepted_roles, err)) != 0) return rc;
    ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) return fo_errf(err, FO_ENOMEM, "TLS: out of memory");
    if (SSL_CTX_up_ref(f->ssl) != 1) {
        free(ctx);
        ERR_clear_error();
        return fo_errf(err, FO_ENOMEM, "TLS: cannot share the loaded files");
    }
    ctx->ssl = f->ssl;
    ctx->accepted_roles = accepted_roles;
    ctx->max_pending = FO_TLS_MAX_PENDING;
    ctx->handshake_ms = FO_TLS_HANDSHAKE_MS;
    *out = ctx;
    return 0;
}

int fo_tls_ctx_new(struct fo_tls_ctx **out, const char *ca_file, const char *cert_file, const char *key_file,
                   unsigned accepted_roles, char err[FO_ERRLEN])
{
    struct fo_tls_files *f;
    int rc;

    *out = NULL;
    if ((rc = check_roles(accepted_roles, err)) != 0) return rc;
    if ((rc = fo_tls_files_load(&f, ca_file, cert_file, key_file, err)) != 0) return rc;
    rc = fo_tls_ctx_from_files(out, f, accepted_roles, err);
    fo_tls_files_free(f); /* the context keeps its own reference */
    return rc;
}

int fo_tls_ctx_new_plain(struct fo_tls_ctx **out, char err[FO_ERRLEN])
{
    struct fo_tls_ctx *ctx = calloc(1, sizeof *ctx);

    *out = NULL;
    if (ctx == NULL) return fo_errf(err, FO_ENOMEM, "TLS: out of memory");
    ctx->max_pending = FO_TLS_MAX_PENDING;
    ctx->handshake_ms = FO_TLS_HANDSHAKE_MS;
    *out = ctx;
    return 0;
}

unsigned fo_tls_ctx_role(const struct fo_tls_ctx *ctx)
{
    return own_role(ctx->ssl);
}

int fo_tls_ctx_node_id(const struct fo_tls_ctx *ctx, uint64_t *id)
{
    return own_node_id(ctx->ssl, id);
}

int fo_tls_ctx_set_handshake_timeout(struct fo_tls_ctx *ctx, unsigned ms)
{
    if (ms < 1 || ms > FO_TLS_MAX_HANDSHAKE_MS) return FO_EINVAL;
    ctx->handshake_ms = ms;
    return 0;
}

int fo_tls_ctx_set_max_pending(struct fo_tls_ctx *ctx, size_t bytes)
{
    if (bytes < FO_TLS_MIN_PENDING || bytes > INT_MAX) return FO_EINVAL;
    ctx->max_pending = bytes;
    return 0;
}

void fo_tls_ctx_free(struct fo_tls_ctx *ctx)
{
    if (ctx == NULL) return;
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

/* ------------------------------------------------------------------ signatures */

_Static_assert(FO_TLS_MAX_SIG == FO_TLS_OSSL_MAX_SIG && FO_TLS_MAX_CHAIN == FO_TLS_OSSL_MAX_CHAIN &&
                   FO_TLS_MAX_CERT_DER == FO_TLS_OSSL_MAX_CERT_DER,
               "tls.h and tls_ossl.h disagree on the signature limits");

int fo_tls_files_sign(struct fo_tls_files *f, const char *context, const void *msg, size_t len, uint8_t **sig,
                      size_t *sig_len, char err[FO_ERRLEN])
{
    return fo_tls_ossl_sign(f->ssl, context, msg, len, sig, sig_len, err);
}

int fo_tls_files_cert_der(struct fo_tls_files *f, unsigned i, uint8_t **der, size_t *len, char err[FO_ERRLEN])
{
    return fo_tls_ossl_cert_der(f->ssl, i, der, len, err);
}

int fo_tls_ctx_verify_signed(struct fo_tls_ctx *ctx, const uint8_t *const *certs, const size_t *cert_lens, unsigned n,
                             unsigned accepted_roles, const char *context, const void *msg, size_t len,
                             const uint8_t *sig, size_t sig_len, unsigned *role, char *cn, char err[FO_ERRLEN])
{
    *role = 0;
    if (cn != NULL) cn[0] = '\0';
    if (ctx->ssl == NULL) return fo_errf(err, FO_EINVAL, "plain mode (insecure = yes) has no CA to verify against");
    return fo_tls_ossl_verify_signed(ctx->ssl, certs, cert_lens, n, accepted_roles, context, msg, len, sig, sig_len,
                                     role, cn, err);
}

/* ------------------------------------------------------------------ connection state */

/* Ciphertext handed to uv_write. */
struct out_req {
    uv_write_t req;
    struct fo_tls_conn *conn;
    fo_tls_write_cb cb;
    void *data;
    size_t len;
    uint8_t bytes[];
};

/* Plaintext written before the handshake finished. */
struct queued {
    struct queued *next;
    fo_tls_write_cb cb;
    void *data;
    size_t len;
    uint8_t bytes[];
};

struct fo_tls_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;      /* the handshake's deadline */
    unsigned open_handles; /* tcp and timer until their close callbacks */
    unsigned handshake_ms;
    uv_connect_t connect;
    SSL *ssl;  /* owns both BIOs; NULL in plain mode */
    BIO *rbio; /* ciphertext from the peer */
    BIO *wbio; /* ciphertext for the peer */
    size_t max_pending;
    struct fo_tls_conn_cbs cbs;
    enum fo_tls_state state;
    bool reading;
    size_t out_bytes;    /* ciphertext in uv_write requests */
    size_t queued_bytes; /* plaintext waiting for the handshake */
    struct queued *queue;
    struct queued **queue_tail;
    struct fo_tls_check check;             /* the peer's role and CN once verified, or why not */
    char peer[PEERLEN];                    /* address, for messages */
    char server_name[SERVER_NAME_MAX + 1]; /* client side: what the server must be */
    int status;                            /* why it closes, once CLOSING */
    char reason[FO_ERRLEN];
    uint8_t rbuf[READ_CHUNK];
};

/* The connection's life (STYLE.md §6): forward through the handshake, and from
 * anywhere to CLOSING, once. */
/* Only read by assert(): unused when NDEBUG is defined. */
static const bool transitions[FO_TLS_CLOSING + 1][FO_TLS_CLOSING + 1] __attribute__((unused)) = {
    [FO_TLS_IDLE] = {[FO_TLS_CONNECTING] = true, [FO_TLS_HANDSHAKE] = true, [FO_TLS_CLOSING] = true},
    [FO_TLS_CONNECTING] = {[FO_TLS_HANDSHAKE] = true, [FO_TLS_CLOSING] = true},
    [FO_TLS_HANDSHAKE] = {[FO_TLS_OPEN] = true, [FO_TLS_CLOSING] = true},
    [FO_TLS_OPEN] = {[FO_TLS_CLOSING] = true},
};

static void set_state(struct fo_tls_conn *c, enum fo_tls_state to)
{
    assert(transitions[c->state][to]);
    c->state = to;
}

static void on_tcp_closed(uv_handle_t *h)
{
    struct fo_tls_conn *c = h->data;
    struct fo_tls_conn_cbs cbs = c->cbs;
    struct queued *q = c->queue, *next;
    int status = c->status;
    char reason[FO_ERRLEN];
    fo_tls_write_cb cb;
    void *data;

    if (--c->open_handles > 0) return; /* the other handle's callback finishes */
    /* libuv has completed every write and the connect request before this. */
    assert(c->out_bytes == 0);
    memcpy(reason, c->reason, sizeof reason);
    SSL_free(c->ssl);
    free(c);
    for (; q != NULL; q = next) {
        next = q->next;
        cb = q->cb;
        data = q->data;
        free(q);
        if (cb != NULL) cb(data, FO_ECANCELED);
    }
    cbs.on_close(cbs.data, status, reason);
}

/* Starts closing with status and a reason; the first failure wins. */
static void fail(struct fo_tls_conn *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct fo_tls_conn *c, int status, const char *fmt, ...)
{
    va_list ap;

    ERR_clear_error();
    if (c->state == FO_TLS_CLOSING) return;
    c->status = status;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
    set_state(c, FO_TLS_CLOSING);
    uv_close((uv_handle_t *)&c->timer, on_tcp_closed);
    uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
}

/* A peer that connects and then says nothing (or too little) would hold the
 * connection, and the server's slot, for ever. */
static void on_handshake_timeout(uv_timer_t *t)
{
    struct fo_tls_conn *c = t->data;

    if (c->state == FO_TLS_OPEN || c->state == FO_TLS_CLOSING) return;
    fail(c, FO_ETIMEDOUT, "connection with %s not established (%s) within %u ms", c->peer,
         c->ssl != NULL ? "TCP and TLS handshake" : "TCP connect", c->handshake_ms);
}

static void arm_handshake_timer(struct fo_tls_conn *c)
{
    uv_timer_start(&c->timer, on_handshake_timeout, c->handshake_ms, 0);
}

/* Fails the connection after an SSL_* call returned error code ssl_err. */
static void fail_ssl(struct fo_tls_conn *c, int ssl_err, const char *during)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    if (c->check.why[0] != '\0')
        fail(c, FO_EPERM, "%s", c->check.why);
    else if (ssl_err == SSL_ERROR_ZERO_RETURN)
        fail(c, FO_ECLOSED, "peer %s closed the TLS session", c->peer);
    else
        fail(c, fo_tls_ossl_cert_error(e) != FO_TLS_CERT_ERR_NONE ? FO_EPERM : FO_EPROTO, "TLS %s with %s failed: %s",
             during, c->peer, r ? r : "protocol error");
}

/* ------------------------------------------------------------------ verification */

/* Words a refusal of the peer's certificate (fo_tls_refuse_cb, data is the
 * connection): the peer's address and CN, and what was wrong. */
static void word_refusal(void *data, const struct fo_tls_refusal *r, char why[FO_ERRLEN])
{
    struct fo_tls_conn *c = data;
    char accepted[ROLES_LEN], id_why[FO_ERRLEN];
    const char *cn = r->peer.cn, *err = X509_verify_cert_error_string(r->error);

    switch (r->kind) {
    case FO_TLS_REFUSED_NAME:
        fo_errf(why, FO_EPERM, "refused server %s: its certificate CN=%s does not name %s in its subjectAltName",
                c->peer, cn, c->server_name);
        break;
    case FO_TLS_REFUSED_CHAIN:
        if (r->depth == 0)
            fo_errf(why, FO_EPERM, "refused peer %s: certificate CN=%s not trusted: %s", c->peer, cn, err);
        else
            fo_errf(why, FO_EPERM, "refused peer %s: certificate CN=%s not trusted: %s (CN=%s, depth %d)", c->peer, cn,
                    err, r->at, r->depth);
        break;
    case FO_TLS_REFUSED_ID:
        fo_tls_ossl_identity_why(&r->peer, id_why, sizeof id_why);
        fo_errf(why, FO_EPERM, "refused peer %s: certificate CN=%s: %s", c->peer, cn, id_why);
        break;
    case FO_TLS_REFUSED_ROLE:
        roles_text(c->check.accepted_roles, accepted);
        fo_errf(why, FO_EPERM,
                "refused peer %s: certificate CN=%s has role \"%s\", which is not accepted here (accepted: %s)",
                c->peer, cn, fo_tls_role_name(r->peer.role), accepted);
        break;
    }
}

/* ------------------------------------------------------------------ output */

/* Would n more bytes take what the connection holds past its cap? */
static bool over_cap(const struct fo_tls_conn *c, size_t n)
{
    return c->out_bytes + c->queued_bytes + n > c->max_pending;
}

static void on_written(uv_write_t *req, int status)
{
    struct out_req *w = req->data;
    struct fo_tls_conn *c = w->conn;
    fo_tls_write_cb cb = w->cb;
    void *data = w->data;

    c->out_bytes -= w->len;
    free(w);
    if (status < 0 && status != UV_ECANCELED) fail(c, FO_EIO, "write to %s: %s", c->peer, uv_strerror(status));
    if (cb != NULL) cb(data, status == 0 ? 0 : status == UV_ECANCELED ? FO_ECANCELED : FO_EIO);
}

/* Hands n bytes to one uv_write, carrying cb (the write that produced them) if any:
 * a copy of bytes, or with bytes NULL the ciphertext OpenSSL has produced. On error
 * the connection has failed. */
static int send_out(struct fo_tls_conn *c, const void *bytes, size_t n, fo_tls_write_cb cb, void *data)
{
    struct out_req *w;
    uv_buf_t buf;
    int rc;

    if (over_cap(c, n)) {
        fail(c, FO_ETOOBIG, "more than %zu bytes pending for %s", c->max_pending, c->peer);
        return FO_ETOOBIG;
    }
    w = malloc(sizeof *w + n);
    if (w == NULL) {
        fail(c, FO_ENOMEM, "out of memory writing to %s", c->peer);
        return FO_ENOMEM;
    }
    if (bytes != NULL) {
        memcpy(w->bytes, bytes, n);
    } else if (n > 0 && BIO_read(c->wbio, w->bytes, (int)n) != (int)n) {
        free(w);
        fail(c, FO_EIO, "cannot take TLS output for %s", c->peer);
        return FO_EIO;
    }
    *w = (struct out_req){.conn = c, .cb = cb, .data = data, .len = n};
    w->req.data = w;
    buf = uv_buf_init((char *)w->bytes, (unsigned)n);
    rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written);
    if (rc != 0) {
        free(w);
        fail(c, FO_EIO, "write to %s: %s", c->peer, uv_strerror(rc));
        return FO_EIO;
    }
    c->out_bytes += n;
    return 0;
}

/* Sends whatever ciphertext OpenSSL has produced, carrying cb if any. */
static int flush_out(struct fo_tls_conn *c, fo_tls_write_cb cb, void *data)
{
    size_t n = BIO_ctrl_pending(c->wbio);

    if (n == 0 && cb == NULL) return 0;
    return send_out(c, NULL, n, cb, data);
}

/* Encrypts n bytes (plain mode: copies them) and sends them; cb rides on the
 * uv_write that carries them. */
static int encrypt_send(struct fo_tls_conn *c, const void *bytes, size_t n, fo_tls_write_cb cb, void *data)
{
    int r;

    if (c->ssl == NULL) return send_out(c, bytes, n, cb, data);
    if (over_cap(c, n)) {
        fail(c, FO_ETOOBIG, "more than %zu bytes pending for %s", c->max_pending, c->peer);
        return FO_ETOOBIG;
    }
    ERR_clear_error();
    r = SSL_write(c->ssl, bytes, (int)n);
    if (r != (int)n) {
        fail_ssl(c, SSL_get_error(c->ssl, r), "write");
        return c->status;
    }
    return flush_out(c, cb, data);
}

static int enqueue(struct fo_tls_conn *c, const void *bytes, size_t n, fo_tls_write_cb cb, void *data)
{
    struct queued *q;

    if (over_cap(c, n)) {
        fail(c, FO_ETOOBIG, "more than %zu bytes queued for %s before the TLS handshake", c->max_pending, c->peer);
        return FO_ETOOBIG;
    }
    q = malloc(sizeof *q + n);
    if (q == NULL) {
        fail(c, FO_ENOMEM, "out of memory writing to %s", c->peer);
        return FO_ENOMEM;
    }
    *q = (struct queued){.cb = cb, .data = data, .len = n};
    memcpy(q->bytes, bytes, n);
    *c->queue_tail = q;
    c->queue_tail = &q->next;
    c->queued_bytes += n;
    return 0;
}

/* Sends, in order, what was written before the handshake finished. */
static int flush_queue(struct fo_tls_conn *c)
{
    struct queued *q;
    fo_tls_write_cb cb;
    void *data;
    int rc;

    while ((q = c->queue) != NULL) {
        c->queue = q->next;
        if (c->queue == NULL) c->queue_tail = &c->queue;
        c->queued_bytes -= q->len;
        rc = encrypt_send(c, q->bytes, q->len, q->cb, q->data);
        cb = q->cb;
        data = q->data;
        free(q);
        if (rc != 0) {
            /* fo_tls_conn_write() returned 0 for this one: its cb still fires once. */
            if (cb != NULL) cb(data, FO_ECANCELED);
            return rc;
        }
    }
    return 0;
}

int fo_tls_conn_write(struct fo_tls_conn *c, const void *bytes, size_t n, fo_tls_write_cb cb, void *data)
{
    if (c->state == FO_TLS_CLOSING) return FO_ECLOSED;
    if (n == 0 || n > c->max_pending) return FO_EINVAL;
    if (c->state == FO_TLS_OPEN) return encrypt_send(c, bytes, n, cb, data);
    return enqueue(c, bytes, n, cb, data);
}

/* ------------------------------------------------------------------ input */

/* The connection is established: OPEN, queued writes go out, on_handshake. */
static void set_open(struct fo_tls_conn *c)
{
    set_state(c, FO_TLS_OPEN);
    uv_timer_stop(&c->timer);
    if (flush_queue(c) != 0) return;
    if (c->cbs.on_handshake != NULL) c->cbs.on_handshake(c->cbs.data, c);
}

static void handshake_done(struct fo_tls_conn *c)
{
    /* verify_cb has run and accepted the peer: check rather than trust that. */
    if (c->check.role == 0 || SSL_get0_peer_certificate(c->ssl) == NULL || SSL_get_verify_result(c->ssl) != X509_V_OK) {
        fail(c, FO_EPERM, "refused peer %s: it was not authenticated", c->peer);
        return;
    }
    set_open(c);
}

/* Plain mode, server side: opens the connection on the loop's next turn (the timer,
 * armed at 0 ms by accept), so that on_handshake never fires inside
 * fo_tls_conn_accept(), as with TLS. */
static void on_plain_accepted(uv_timer_t *t)
{
    struct fo_tls_conn *c = t->data;

    if (c->state == FO_TLS_HANDSHAKE) set_open(c);
}

static void step_handshake(struct fo_tls_conn *c)
{
    int r, e;

    ERR_clear_error();
    r = SSL_do_handshake(c->ssl);
    e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
    /* Send what OpenSSL produced, an alert included, before acting on the result. */
    if (flush_out(c, NULL, NULL) != 0) return;
    if (e == SSL_ERROR_WANT_READ) return;
    if (e != SSL_ERROR_NONE) {
        fail_ssl(c, e, "handshake");
        return;
    }
    handshake_done(c);
}

/* Decrypts everything buffered and hands it to on_read, until OpenSSL needs more
 * ciphertext or the connection closes (possibly from on_read). */
static void read_plaintext(struct fo_tls_conn *c)
{
    uint8_t buf[READ_CHUNK];
    int r, e;

    while (c->state == FO_TLS_OPEN) {
        ERR_clear_error();
        r = SSL_read(c->ssl, buf, sizeof buf);
        if (r > 0) {
            c->cbs.on_read(c->cbs.data, c, buf, (size_t)r);
            continue;
        }
        e = SSL_get_error(c->ssl, r);
        /* Post-handshake messages (a key update) may need an answer. */
        if (flush_out(c, NULL, NULL) != 0) return;
        if (e != SSL_ERROR_WANT_READ) fail_ssl(c, e, "read");
        return;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct fo_tls_conn *c = h->data;

    /* One buffer is enough: each read is consumed before libuv allocates again. */
    *buf = uv_buf_init((char *)c->rbuf, sizeof c->rbuf);
}

static void on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct fo_tls_conn *c = s->data;

    if (nread == 0 || c->state == FO_TLS_CLOSING) return;
    if (nread == UV_EOF) {
        fail(c, FO_ECLOSED, "peer %s closed the connection%s", c->peer,
             c->state == FO_TLS_HANDSHAKE ? " during the TLS handshake" : "");
        return;
    }
    if (nread < 0) {
        fail(c, FO_EIO, "read from %s: %s", c->peer, uv_strerror((int)nread));
        return;
    }
    if (c->ssl == NULL) {
        /* Bytes that beat the opening timer still come after on_handshake. */
        if (c->state == FO_TLS_HANDSHAKE) set_open(c);
        if (c->state == FO_TLS_OPEN) c->cbs.on_read(c->cbs.data, c, (const uint8_t *)buf->base, (size_t)nread);
        return;
    }
    /* OpenSSL consumes what it is given below, so this only guards a bug. */
    if (BIO_ctrl_pending(c->rbio) > c->max_pending || BIO_write(c->rbio, buf->base, (int)nread) != nread) {
        fail(c, FO_ETOOBIG, "cannot buffer input from %s", c->peer);
        return;
    }
    if (c->state == FO_TLS_HANDSHAKE) step_handshake(c);
    /* Application data may follow the peer's last handshake message in the same read. */
    if (c->state == FO_TLS_OPEN) read_plaintext(c);
}

/* ------------------------------------------------------------------ set-up and tear-down */

/* Gives ssl its two memory BIOs. Returns 0, or -1 (out of memory). */
static int attach_bios(struct fo_tls_conn *c)
{
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());

    if (rbio == NULL || wbio == NULL) {
        BIO_free(rbio);
        BIO_free(wbio);
        return -1;
    }
    /* An empty BIO means "try again later", never end of stream. */
    BIO_set_mem_eof_return(rbio, -1);
    BIO_set_mem_eof_return(wbio, -1);
    SSL_set_bio(c->ssl, rbio, wbio);
    c->rbio = rbio;
    c->wbio = wbio;
    return 0;
}

int fo_tls_conn_new(struct fo_tls_ctx *ctx, uv_loop_t *loop, const struct fo_tls_conn_cbs *cbs,
                    struct fo_tls_conn **out, char err[FO_ERRLEN])
{
    struct fo_tls_conn *c;
    int rc;

    assert(cbs != NULL && cbs->on_read != NULL && cbs->on_close != NULL);
    *out = NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL) return fo_errf(err, FO_ENOMEM, "TLS: out of memory");
    if (ctx->ssl != NULL) {
        ERR_clear_error();
        c->ssl = SSL_new(ctx->ssl);
        if (c->ssl == NULL) {
            rc = fo_errf(err, FO_ENOMEM, "TLS: cannot create a session");
            goto err_after_conn;
        }
        if (attach_bios(c) != 0) {
            rc = fo_errf(err, FO_ENOMEM, "TLS: cannot create memory BIOs");
            goto err_after_ssl;
        }
        fo_tls_ossl_check_init(&c->check, c->ssl, ctx->accepted_roles, word_refusal, c);
    }
    rc = uv_tcp_init(loop, &c->tcp);
    if (rc != 0) {
        rc = fo_errf(err, FO_EIO, "TLS: uv_tcp_init: %s", uv_strerror(rc));
        goto err_after_ssl;
    }
    uv_timer_init(loop, &c->timer); /* cannot fail */
    c->timer.data = c;
    c->open_handles = 2;
    c->handshake_ms = ctx->handshake_ms;
    c->tcp.data = c;
    c->connect.data = c;
    c->max_pending = ctx->max_pending;
    c->cbs = *cbs;
    c->queue_tail = &c->queue;
    c->state = FO_TLS_IDLE;
    snprintf(c->peer, sizeof c->peer, "(not connected)");
    *out = c;
    return 0;

err_after_ssl:
    SSL_free(c->ssl); /* and its BIOs; NULL in plain mode */
err_after_conn:
    free(c);
    ERR_clear_error();
    return rc;
}

/* "ip:port" or "[ip6]:port" of the peer, for messages. */
static void format_addr(const struct sockaddr *sa, char out[PEERLEN])
{
    char ip[INET6_ADDRSTRLEN];
    unsigned port;

    if (uv_ip_name(sa, ip, sizeof ip) != 0) {
        snprintf(out, PEERLEN, "(unknown address)");
        return;
    }
    if (sa->sa_family == AF_INET6) {
        port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
        snprintf(out, PEERLEN, "[%s]:%u", ip, port);
    } else {
        port = ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
        snprintf(out, PEERLEN, "%s:%u", ip, port);
    }
}

static int start_reading(struct fo_tls_conn *c)
{
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_tcp_read);

    if (rc == 0) c->reading = true;
    return rc;
}

/* The server side once the TCP handle holds the accepted socket. */
static int start_accepted(struct fo_tls_conn *c, char *err)
{
    struct sockaddr_storage ss;
    int rc, len = (int)sizeof ss;

    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) format_addr((struct sockaddr *)&ss, c->peer);
    uv_tcp_nodelay(&c->tcp, 1); /* see on_connected */
    rc = start_reading(c);
    if (rc != 0) return fo_errf(err, FO_EIO, "read from %s: %s", c->peer, uv_strerror(rc));
    set_state(c, FO_TLS_HANDSHAKE);
    if (c->ssl == NULL) {
        /* No handshake to bound: the timer only defers the opening. */
        uv_timer_start(&c->timer, on_plain_accepted, 0, 0);
        return 0;
    }
    SSL_set_accept_state(c->ssl);
    arm_handshake_timer(c);
    return 0;
}

int fo_tls_conn_accept(struct fo_tls_conn *c, uv_stream_t *server, char err[FO_ERRLEN])
{
    int rc;

    if (c->state != FO_TLS_IDLE) return fo_errf(err, FO_EINVAL, "TLS: accept on a connection already in use");
    rc = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (rc != 0) return fo_errf(err, FO_EIO, "accept: %s", uv_strerror(rc));
    return start_accepted(c, err);
}

int fo_tls_conn_accept_fd(struct fo_tls_conn *c, uv_os_sock_t fd, char err[FO_ERRLEN])
{
    int rc;

    if (c->state != FO_TLS_IDLE) {
        close(fd);
        return fo_errf(err, FO_EINVAL, "TLS: accept on a connection already in use");
    }
    rc = uv_tcp_open(&c->tcp, fd);
    if (rc != 0) {
        close(fd);
        return fo_errf(err, FO_EIO, "accept: %s", uv_strerror(rc));
    }
    return start_accepted(c, err);
}

/* What the server's certificate must name: an IP literal is matched against the IP
 * entries of its subjectAltName, a host name against the DNS entries; the subject CN
 * is never used as a name. */
static int set_server_name(struct fo_tls_conn *c, const char *name, char *err)
{
    X509_VERIFY_PARAM *p = SSL_get0_param(c->ssl);
    unsigned char bin[sizeof(struct in6_addr)];
    int ok;

    if (name[0] == '\0' || strlen(name) > SERVER_NAME_MAX)
        return fo_errf(err, FO_EINVAL, "TLS: bad server name \"%.64s\"", name);
    X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    ERR_clear_error();
    if (inet_pton(AF_INET, name, bin) == 1 || inet_pton(AF_INET6, name, bin) == 1)
        ok = X509_VERIFY_PARAM_set1_ip_asc(p, name) == 1;
    else
        ok = X509_VERIFY_PARAM_set1_host(p, name, 0) == 1 && SSL_set_tlsext_host_name(c->ssl, name) == 1;
    ERR_clear_error();
    if (!ok) return fo_errf(err, FO_EINVAL, "TLS: bad server name \"%s\"", name);
    snprintf(c->server_name, sizeof c->server_name, "%s", name);
    return 0;
}

static void on_connected(uv_connect_t *req, int status)
{
    struct fo_tls_conn *c = req->data;
    int rc;

    if (c->state == FO_TLS_CLOSING) return; /* closed while connecting: UV_ECANCELED */
    if (status < 0) {
        fail(c, FO_EUNREACHABLE, "connect to %s: %s", c->peer, uv_strerror(status));
        return;
    }
    /* Small request/response messages and a handshake made of several small flights:
     * Nagle's algorithm against the peer's delayed ACK would add ~40 ms to a handshake
     * and to answers (measured: a first AcquireVip on a new connection took 47 ms). */
    uv_tcp_nodelay(&c->tcp, 1);
    rc = start_reading(c);
    if (rc != 0) {
        fail(c, FO_EIO, "read from %s: %s", c->peer, uv_strerror(rc));
        return;
    }
    set_state(c, FO_TLS_HANDSHAKE);
    if (c->ssl == NULL)
        set_open(c);
    else
        step_handshake(c);
}

/* TLS: what the server must name (addr's IP address when server_name is NULL), and
 * the client side of the handshake. */
static int prepare_client(struct fo_tls_conn *c, const struct sockaddr *addr, const char *server_name, char *err)
{
    char ip[INET6_ADDRSTRLEN];
    int rc;

    if (server_name == NULL) {
        if (uv_ip_name(addr, ip, sizeof ip) != 0) return fo_errf(err, FO_EINVAL, "TLS: unsupported address family");
        server_name = ip;
    }
    if ((rc = set_server_name(c, server_name, err)) != 0) return rc;
    SSL_set_connect_state(c->ssl);
    return 0;
}

int fo_tls_conn_connect(struct fo_tls_conn *c, const struct sockaddr *addr, const char *server_name,
                        char err[FO_ERRLEN])
{
    int rc;

    if (c->state != FO_TLS_IDLE) return fo_errf(err, FO_EINVAL, "TLS: connect on a connection already in use");
    /* Plain mode has no certificate to check server_name against. */
    if (c->ssl != NULL && (rc = prepare_client(c, addr, server_name, err)) != 0) return rc;
    format_addr(addr, c->peer);
    rc = uv_tcp_connect(&c->connect, &c->tcp, addr, on_connected);
    if (rc != 0) return fo_errf(err, FO_EIO, "connect to %s: %s", c->peer, uv_strerror(rc));
    set_state(c, FO_TLS_CONNECTING);
    arm_handshake_timer(c); /* covers the TCP connect too */
    return 0;
}

int fo_tls_conn_read_stop(struct fo_tls_conn *c)
{
    if (c->state != FO_TLS_OPEN) return FO_EINVAL;
    if (c->reading && uv_read_stop((uv_stream_t *)&c->tcp) != 0) return FO_EIO;
    c->reading = false;
    return 0;
}

int fo_tls_conn_read_start(struct fo_tls_conn *c)
{
    if (c->state != FO_TLS_OPEN) return FO_EINVAL;
    if (!c->reading && start_reading(c) != 0) return FO_EIO;
    return 0;
}

void fo_tls_conn_close(struct fo_tls_conn *c)
{
    if (c->state == FO_TLS_CLOSING) return;
    /* A close_notify tells the peer the end is deliberate; libuv tries the write at
     * once, and uv_close cancels it if the socket could not take it. */
    if (c->state == FO_TLS_OPEN && c->ssl != NULL && !over_cap(c, CLOSE_NOTIFY_ROOM)) {
        ERR_clear_error();
        SSL_shutdown(c->ssl);
        flush_out(c, NULL, NULL);
    }
    fail(c, FO_ECANCELED, "closed locally");
}

/* ------------------------------------------------------------------ accessors */

enum fo_tls_state fo_tls_conn_state(const struct fo_tls_conn *c)
{
    return c->state;
}

unsigned fo_tls_conn_peer_role(const struct fo_tls_conn *c)
{
    return c->state == FO_TLS_OPEN ? c->check.role : 0;
}

const char *fo_tls_conn_peer_cn(const struct fo_tls_conn *c)
{
    return c->state == FO_TLS_OPEN ? c->check.cn : "";
}

int fo_tls_conn_peer_node_id(const struct fo_tls_conn *c, uint64_t *id)
{
    *id = 0;
    if (c->state != FO_TLS_OPEN || c->ssl == NULL) return FO_ENOTFOUND;
    if (c->check.role != FO_TLS_ROLE_CONTROLLER) return FO_EPERM;
    if (c->check.node_rc == 0) *id = c->check.node_id;
    return c->check.node_rc;
}

const char *fo_tls_conn_protocol(const struct fo_tls_conn *c)
{
    if (c->state != FO_TLS_OPEN) return "";
    return c->ssl != NULL ? SSL_get_version(c->ssl) : FO_TLS_PLAIN_PROTOCOL;
}

size_t fo_tls_conn_pending(const struct fo_tls_conn *c)
{
    return c->out_bytes + c->queued_bytes;
}

uv_tcp_t *fo_tls_conn_tcp(struct fo_tls_conn *c)
{
    return &c->tcp;
}
