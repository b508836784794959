/* Outgoing admin RPC calls (follower -> leader forwarding, verdicts). One connection
 * per call: forwarding is rare (writes and topology reads arriving at a follower), so
 * simplicity wins over connection reuse here.
 *
 * The connection is a fo_tls_conn from the admin's client context: with TLS
 * (admin.h) this node's controller certificate, and only a controller accepted on
 * the other side, whose subjectAltName must name the IP address dialled; with
 * insecure = yes a plain one. The request is sent once the connection is open.
 *
 * A call holds two closable things, its timer and its transport (the connection,
 * whose on_close is its close callback); it is freed when both are closed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "controller/admin/admin_internal.h"

#define MOD "admin"

struct call {
    struct call *next, *prev;
    struct fo_admin *admin;
    struct fo_tls_conn *tls; /* NULL once its on_close has fired */
    uv_timer_t timer;
    struct fo_frame_decoder dec;
    uint8_t *out;
    size_t outlen;
    unsigned open_handles;
    bool done;
    fo_admin_call_cb cb;
    void *data;
    char addr[FO_ADDR_LEN];
};

static void call_released(struct call *c)
{
    struct fo_admin *a = c->admin;

    if (--c->open_handles > 0) return;
    fo_frame_decoder_close(&c->dec);
    free(c->out);
    free(c);
    a->n_calls--;
    fo_admin_maybe_free(a);
}

static void call_timer_closed(uv_handle_t *h)
{
    call_released(h->data);
}

static void call_unlink(struct call *c)
{
    struct fo_admin *a = c->admin;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        a->calls = c->next;
    if (c->next != NULL) c->next->prev = c->prev;
}

/* Closes the transport; its close callback releases it. */
static void close_transport(struct call *c)
{
    if (c->tls != NULL) fo_tls_conn_close(c->tls);
}

/* Fires the callback exactly once, then closes the handles. */
static void call_finish(struct call *c, int status, const char *error, Fo__Response *resp)
{
    fo_admin_call_cb cb = c->cb;
    void *data = c->data;

    if (c->done) return;
    c->done = true;
    call_unlink(c);
    uv_timer_stop(&c->timer);
    close_transport(c);
    uv_close((uv_handle_t *)&c->timer, call_timer_closed);
    if (status != 0) FO_DEBUG(MOD, "call to %s: %s", c->addr, error);
    cb(data, status, error, resp);
}

/* Plaintext of the reply (decrypted already with TLS): one response frame. */
static void call_input(struct call *c, const void *bytes, size_t n)
{
    struct fo_frame f;
    char err[FO_ERRLEN];
    Fo__Response *resp;
    int rc;

    if (c->done || n == 0) return;
    if (fo_frame_decoder_feed(&c->dec, bytes, n) != 0) {
        call_finish(c, FO_EPROTO, "bad reply frame", NULL);
        return;
    }
    rc = fo_frame_decoder_next(&c->dec, &f, err);
    if (rc == FO_EAGAIN) return;
    if (rc != 0 || f.type != FO_FRAME_RESPONSE) {
        call_finish(c, FO_EPROTO, rc ? err : "reply is not a response frame", NULL);
        return;
    }
    if ((resp = fo__response__unpack(NULL, f.len, f.payload)) == NULL) {
        call_finish(c, FO_EPROTO, "undecodable reply", NULL);
        return;
    }
    call_finish(c, 0, "", resp);
    fo__response__free_unpacked(resp, NULL);
}

/* ---- transport (common/tls.h, TLS or plain) */

static void tls_handshake(void *data, struct fo_tls_conn *t)
{
    struct call *c = data;
    int rc;

    if (c->done) return;
    if ((rc = fo_tls_conn_write(t, c->out, c->outlen, NULL, NULL)) != 0)
        call_finish(c, FO_EUNREACHABLE, fo_strerror(rc), NULL);
}

static void tls_read(void *data, struct fo_tls_conn *t, const uint8_t *bytes, size_t n)
{
    (void)t;
    call_input(data, bytes, n);
}

/* The transport's close callback, also when the connection failed by itself. A
 * refused peer (FO_EPERM, TLS only: either side did not accept the other's
 * certificate) is a deployment error worth a warning. */
static void tls_closed(void *data, int status, const char *reason)
{
    struct call *c = data;

    c->tls = NULL;
    if (!c->done) {
        if (status == FO_EPERM) FO_WARN(MOD, "call to %s: TLS refused: %s", c->addr, reason);
        call_finish(c, status == FO_EPERM ? FO_EPERM : FO_EUNREACHABLE, reason, NULL);
    }
    call_released(c);
}

static int start_transport(struct call *c, uv_loop_t *loop, const struct sockaddr *sa, char err[FO_ERRLEN])
{
    struct fo_tls_conn_cbs cbs = {tls_handshake, tls_read, tls_closed, c};
    int rc;

    if ((rc = fo_tls_conn_new(c->admin->client_tls, loop, &cbs, &c->tls, err)) != 0) return rc;
    c->open_handles++;
    /* NULL: with TLS, the server must name the IP address dialled (admin addresses are
     * IPs). */
    return fo_tls_conn_connect(c->tls, sa, NULL, err);
}

/* ---- calls */

static void call_timeout(uv_timer_t *t)
{
    call_finish(t->data, FO_ETIMEDOUT, "timed out", NULL);
}

static int encode_request(struct call *c, const Fo__Request *req, char err[FO_ERRLEN])
{
    size_t len = fo__request__get_packed_size(req);
    uint8_t *payload = malloc(len ? len : 1);
    int rc;

    if (payload == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    fo__request__pack(req, payload);
    rc = fo_frame_encode(FO_FRAME_REQUEST, payload, len, &c->out, &c->outlen);
    free(payload);
    return rc ? fo_errf(err, rc, "cannot encode request") : 0;
}

int fo_admin_call(struct fo_ctl *ctl, const char *addr, const Fo__Request *req, unsigned timeout_ms,
                  fo_admin_call_cb cb, void *data, char err[FO_ERRLEN])
{
    struct fo_admin *a = ctl->admin;
    struct sockaddr_storage ss;
    char host[FO_HOST_LEN];
    uint16_t port;
    struct call *c;
    int rc;

    if (a == NULL || a->stopping) return fo_errf(err, FO_ECANCELED, "shutting down");
    if ((rc = fo_parse_hostport(addr, host, sizeof(host), &port, err)) != 0) return rc;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
        return fo_errf(err, FO_EINVAL, "admin address %s: host must be an IP address", addr);
    if ((c = calloc(1, sizeof(*c))) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    if ((rc = encode_request(c, req, err)) != 0) {
        free(c);
        return rc;
    }
    c->admin = a;
    c->cb = cb;
    c->data = data;
    fo_frame_decoder_init(&c->dec, FO_FRAME_RESPONSE_MAX);
    uv_timer_init(ctl->loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 1;
    a->n_calls++;
    c->next = a->calls;
    if (a->calls != NULL) a->calls->prev = c;
    a->calls = c;
    if ((rc = start_transport(c, ctl->loop, (struct sockaddr *)&ss, err)) != 0) {
        /* The callback must not fire for an error returned here: detach it first. */
        c->cb = NULL;
        c->done = true;
        call_unlink(c);
        close_transport(c);
        uv_close((uv_handle_t *)&c->timer, call_timer_closed);
        return rc;
    }
    uv_timer_start(&c->timer, call_timeout, timeout_ms, 0);
    return 0;
}

void fo_admin_cancel_calls(struct fo_admin *a)
{
    while (a->calls != NULL) call_finish(a->calls, FO_ECANCELED, "shutting down", NULL);
}
