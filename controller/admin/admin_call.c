/* Outgoing admin RPC calls to another controller's admin port: follower -> leader
 * verdicts, forwarded operator requests and proposals.
 *
 * Every connection is a fo_tls_conn from the admin's client context: with TLS
 * (admin.h) this node's controller certificate, and only a controller accepted on
 * the other side, whose subjectAltName must name the IP address dialled; with
 * insecure = yes a plain one. Every reply is one response frame under
 * FO_FRAME_RESPONSE_MAX that decodes as a Response, or the call fails with FO_EPROTO
 * and its connection is closed.
 *
 * Verdicts: one persistent connection to the leader (issue 10). A follower sends a
 * verdict about each primary it probes every second (DESIGN.md §5); a TLS handshake
 * for each would cost both nodes more than the verdict. The leader channel keeps one
 * authenticated connection to the address it was last asked for. A verdict for
 * another address (the leader changed) fails what was queued for the old one and
 * drops its connection. Calls go out one at a time, in order: the admin server
 * answers the requests of one connection as each finishes, and a Response carries no
 * request id, so the next request is written only once the previous one has its
 * answer, and a second answer to one request is a protocol error. At most
 * FO_ADMIN_CHAN_QUEUE calls wait (one more is refused with FO_EBUSY; its callback
 * never fires). Each call keeps its own deadline; when the call on the wire runs out,
 * the connection is closed (a late answer would be taken for the next call's) and the
 * next call gets a new one. A connection that breaks fails the call on the wire; the
 * calls behind it get a new connection, unless this one never opened (leader down,
 * TLS refused): then they fail with the same error rather than retry in a loop. An
 * idle connection is closed after FO_ADMIN_CHAN_IDLE_MS, so that a node that became
 * leader itself keeps none to its predecessor. Failures the channel decides (not an
 * answer) reach the callback from the loop's next turn through the call's timer,
 * never from inside fo_admin_call.
 *
 * Everything else has a connection of its own: a forwarded switchover answers when
 * the switchover is over, and a proposal when it is committed; neither may hold up a
 * verdict behind it. Forwarding and proposals are rare (writes arriving at a
 * follower, member notes), so one handshake each is cheap.
 *
 * A call holds its timer, and a per-call one also its transport (the connection,
 * whose on_close is its close callback); it is freed when those are closed. The
 * channel holds its idle timer and its connections (a dropped one until its on_close);
 * it is freed once the admin stops and they are all closed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "controller/admin/admin_internal.h"

#define MOD "admin"

struct chan;

struct call {
    struct call *next, *prev; /* the admin's calls in progress */
    struct fo_admin *admin;
    struct fo_tls_conn *tls; /* per-call: NULL once its on_close has fired; channel: NULL */
    struct chan *chan;       /* the leader channel's call, else NULL */
    struct call *qnext;      /* channel: the next call in its queue */
    bool queued;             /* channel: in the queue (the head is the one on the wire) */
    bool sent;               /* channel: written on the current connection */
    bool answered;           /* channel: finished by its answer */
    int fail_status;         /* channel: a failure to report from the timer, or 0 */
    char fail_why[FO_ERRLEN];
    uv_timer_t timer;
    struct fo_frame_decoder dec; /* per-call only */
    uint8_t *out;
    size_t outlen;
    unsigned open_handles;
    bool done;
    fo_admin_call_cb cb;
    void *data;
    char addr[FO_ADDR_LEN];
};

/* One connection of the channel: the current one, or one dropped and closing. */
struct chan_conn {
    struct chan *ch;
    struct fo_tls_conn *tls;
    struct fo_frame_decoder dec;
    bool open;    /* authenticated */
    bool reading; /* inside its read callback: the next request waits until it returns */
};

struct chan {
    struct fo_admin *admin;
    char addr[FO_ADDR_LEN]; /* the leader's admin address; "" until the first call */
    struct sockaddr_storage ss;
    struct chan_conn *conn; /* the current connection, or NULL */
    struct call *head, *tail;
    unsigned n_queued;
    uv_timer_t idle;
    unsigned open_handles; /* the idle timer and every connection not yet closed */
    bool closing;
};

static void chan_pump(struct chan *ch);
static void chan_remove(struct chan *ch, struct call *c);

/* ------------------------------------------------------------------ calls */

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

/* Fires the callback exactly once, then closes the handles. A channel call leaves the
 * queue first and the channel moves on to the next one. */
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
    if (c->chan != NULL) {
        chan_remove(c->chan, c);
        chan_pump(c->chan);
    }
    if (status != 0) FO_DEBUG(MOD, "call to %s: %s", c->addr, error);
    cb(data, status, error, resp);
}

/* One response frame, already read: decoded and handed to the caller, or FO_EPROTO. */
static void call_answer(struct call *c, const struct fo_frame *f)
{
    Fo__Response *resp;

    if (f->type != FO_FRAME_RESPONSE) {
        call_finish(c, FO_EPROTO, "reply is not a response frame", NULL);
        return;
    }
    if ((resp = fo__response__unpack(NULL, f->len, f->payload)) == NULL) {
        call_finish(c, FO_EPROTO, "undecodable reply", NULL);
        return;
    }
    c->answered = true;
    call_finish(c, 0, "", resp);
    fo__response__free_unpacked(resp, NULL);
}

/* Plaintext of a per-call reply (decrypted already with TLS): one response frame. */
static void call_input(struct call *c, const void *bytes, size_t n)
{
    struct fo_frame f;
    char err[FO_ERRLEN];
    int rc;

    if (c->done || n == 0) return;
    if (fo_frame_decoder_feed(&c->dec, bytes, n) != 0) {
        call_finish(c, FO_EPROTO, "bad reply frame", NULL);
        return;
    }
    rc = fo_frame_decoder_next(&c->dec, &f, err);
    if (rc == FO_EAGAIN) return;
    if (rc != 0) {
        call_finish(c, FO_EPROTO, err, NULL);
        return;
    }
    call_answer(c, &f);
}

static void call_timeout(uv_timer_t *t)
{
    struct call *c = t->data;

    if (c->fail_status != 0)
        call_finish(c, c->fail_status, c->fail_why, NULL);
    else
        call_finish(c, FO_ETIMEDOUT, "timed out", NULL);
}

/* A channel call fails from the loop's next turn with status: it leaves the queue now,
 * so nothing more is sent for it. */
static void call_fail_soon(struct call *c, int status, const char *why)
{
    if (c->done || c->fail_status != 0) return;
    chan_remove(c->chan, c);
    c->fail_status = status;
    snprintf(c->fail_why, sizeof(c->fail_why), "%s", why);
    uv_timer_start(&c->timer, call_timeout, 0, 0);
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

/* A call with its request encoded and its timer made, on the admin's list. */
static int call_new(struct fo_admin *a, const char *addr, const Fo__Request *req, fo_admin_call_cb cb, void *data,
                    struct call **out, char err[FO_ERRLEN])
{
    struct call *c = calloc(1, sizeof(*c));
    int rc;

    if (c == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    if ((rc = encode_request(c, req, err)) != 0) {
        free(c);
        return rc;
    }
    c->admin = a;
    c->cb = cb;
    c->data = data;
    fo_frame_decoder_init(&c->dec, FO_FRAME_RESPONSE_MAX);
    uv_timer_init(a->ctl->loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 1;
    a->n_calls++;
    c->next = a->calls;
    if (a->calls != NULL) a->calls->prev = c;
    a->calls = c;
    *out = c;
    return 0;
}

/* Undoes call_new for an error returned to the caller: the callback must not fire. */
static void call_abandon(struct call *c)
{
    c->cb = NULL;
    c->done = true;
    call_unlink(c);
    close_transport(c);
    uv_close((uv_handle_t *)&c->timer, call_timer_closed);
}

/* ------------------------------------------------------------------ per-call transport */

static void tls_handshake(void *data, struct fo_tls_conn *t)
{
    struct call *c = data;
    int rc;

    if (c->done) return;
    c->admin->client_handshakes[FO_ADMIN_CLIENT_PER_CALL]++;
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

static int start_transport(struct call *c, const struct sockaddr *sa, char err[FO_ERRLEN])
{
    struct fo_tls_conn_cbs cbs = {tls_handshake, tls_read, tls_closed, c};
    int rc;

    if ((rc = fo_tls_conn_new(c->admin->client_tls, c->admin->ctl->loop, &cbs, &c->tls, err)) != 0) return rc;
    c->open_handles++;
    c->admin->client_connects[FO_ADMIN_CLIENT_PER_CALL]++;
    /* NULL: with TLS, the server must name the IP address dialled (admin addresses are
     * IPs). */
    return fo_tls_conn_connect(c->tls, sa, NULL, err);
}

static int call_per_connection(struct fo_admin *a, const char *addr, const struct sockaddr *sa, const Fo__Request *req,
                               unsigned timeout_ms, fo_admin_call_cb cb, void *data, char err[FO_ERRLEN])
{
    struct call *c;
    int rc;

    if ((rc = call_new(a, addr, req, cb, data, &c, err)) != 0) return rc;
    if ((rc = start_transport(c, sa, err)) != 0) {
        call_abandon(c);
        return rc;
    }
    uv_timer_start(&c->timer, call_timeout, timeout_ms, 0);
    return 0;
}

/* ------------------------------------------------------------------ the leader channel */

static void chan_maybe_free(struct chan *ch)
{
    struct fo_admin *a = ch->admin;

    if (!ch->closing || ch->open_handles > 0) return;
    a->chan = NULL;
    free(ch);
    fo_admin_maybe_free(a);
}

/* Takes c out of the queue. The call on the wire leaves the connection out of step
 * unless it was answered: that connection goes. */
static void chan_remove(struct chan *ch, struct call *c)
{
    struct call **pp, *prev = NULL;
    bool was_sent = c->sent;

    if (!c->queued) return;
    for (pp = &ch->head; *pp != NULL && *pp != c; pp = &(*pp)->qnext) prev = *pp;
    if (*pp == NULL) return;
    *pp = c->qnext;
    if (ch->tail == c) ch->tail = prev;
    c->qnext = NULL;
    c->queued = false;
    c->sent = false;
    ch->n_queued--;
    if (was_sent && !c->answered && ch->conn != NULL) {
        struct chan_conn *cc = ch->conn;

        ch->conn = NULL;
        fo_tls_conn_close(cc->tls);
    }
}

/* Closes the current connection; the call on the wire (if any) fails with status. */
static void chan_drop(struct chan *ch, int status, const char *why)
{
    struct chan_conn *cc = ch->conn;

    if (cc == NULL) return;
    ch->conn = NULL;
    uv_timer_stop(&ch->idle);
    if (ch->head != NULL && ch->head->sent) call_fail_soon(ch->head, status, why);
    fo_tls_conn_close(cc->tls);
}

/* Every queued call fails with status (from the loop's next turn). */
static void chan_fail_all(struct chan *ch, int status, const char *why)
{
    while (ch->head != NULL) call_fail_soon(ch->head, status, why);
}

static void chan_idle(uv_timer_t *t)
{
    struct chan *ch = t->data;

    if (ch->head == NULL) chan_drop(ch, FO_ECANCELED, "idle");
}

static void chan_idle_closed(uv_handle_t *h)
{
    struct chan *ch = h->data;

    ch->open_handles--;
    chan_maybe_free(ch);
}

/* ---- its connections (common/tls.h, TLS or plain) */

static void cc_handshake(void *data, struct fo_tls_conn *t)
{
    struct chan_conn *cc = data;

    (void)t;
    cc->open = true;
    cc->ch->admin->client_handshakes[FO_ADMIN_CLIENT_LEADER]++;
    if (cc->ch->conn == cc) chan_pump(cc->ch);
}

/* Protocol error on the current connection: the call on the wire fails, the
 * connection goes (and the next call gets a new one). */
static void cc_bad(struct chan_conn *cc, const char *why)
{
    struct chan *ch = cc->ch;

    FO_WARN(MOD, "leader %s: %s; reconnecting", ch->addr, why);
    chan_drop(ch, FO_EPROTO, why);
}

static void cc_frames(struct chan_conn *cc)
{
    struct chan *ch = cc->ch;
    struct fo_frame f;
    char err[FO_ERRLEN];
    int rc;

    while (ch->conn == cc && (rc = fo_frame_decoder_next(&cc->dec, &f, err)) == 0) {
        if (ch->head == NULL || !ch->head->sent) {
            cc_bad(cc, "a reply nothing asked for");
            return;
        }
        call_answer(ch->head, &f);
    }
    if (ch->conn == cc && rc != FO_EAGAIN) cc_bad(cc, err);
}

static void cc_read(void *data, struct fo_tls_conn *t, const uint8_t *bytes, size_t n)
{
    struct chan_conn *cc = data;
    struct chan *ch = cc->ch;

    (void)t;
    if (ch->conn != cc || n == 0) return;
    if (fo_frame_decoder_feed(&cc->dec, bytes, n) != 0) {
        cc_bad(cc, "bad reply frame");
        return;
    }
    /* The next request goes out after every frame of this read has been looked at, so
     * that an extra frame cannot pass for its answer. */
    cc->reading = true;
    cc_frames(cc);
    cc->reading = false;
    if (ch->conn == cc) chan_pump(ch);
}

static void cc_closed(void *data, int status, const char *reason)
{
    struct chan_conn *cc = data;
    struct chan *ch = cc->ch;
    bool current = ch->conn == cc, was_open = cc->open;
    int code = status == FO_EPERM ? FO_EPERM : FO_EUNREACHABLE;

    fo_frame_decoder_close(&cc->dec);
    free(cc);
    ch->open_handles--;
    if (current) {
        ch->conn = NULL;
        uv_timer_stop(&ch->idle);
        if (status == FO_EPERM) FO_WARN(MOD, "leader %s: TLS refused: %s", ch->addr, reason);
        if (ch->head != NULL && ch->head->sent) call_fail_soon(ch->head, code, reason);
        /* Never open: the leader is down or refuses us; the queue fails rather than
         * dial it again at once. Open once: the calls behind get a new connection. */
        if (!was_open)
            chan_fail_all(ch, code, reason);
        else
            chan_pump(ch);
    }
    chan_maybe_free(ch);
}

static int chan_connect(struct chan *ch, char err[FO_ERRLEN])
{
    struct fo_admin *a = ch->admin;
    struct chan_conn *cc = calloc(1, sizeof(*cc));
    struct fo_tls_conn_cbs cbs = {cc_handshake, cc_read, cc_closed, cc};
    int rc;

    if (cc == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    cc->ch = ch;
    if ((rc = fo_tls_conn_new(a->client_tls, a->ctl->loop, &cbs, &cc->tls, err)) != 0) {
        free(cc);
        return rc;
    }
    fo_frame_decoder_init(&cc->dec, FO_FRAME_RESPONSE_MAX);
    ch->open_handles++;
    a->client_connects[FO_ADMIN_CLIENT_LEADER]++;
    /* NULL: the leader must name the IP address dialled (admin addresses are IPs). A
     * failed start still closes through cc_closed, as a dropped connection. */
    if ((rc = fo_tls_conn_connect(cc->tls, (const struct sockaddr *)&ch->ss, NULL, err)) != 0) {
        fo_tls_conn_close(cc->tls);
        return rc;
    }
    ch->conn = cc;
    return 0;
}

/* Moves the channel on: a connection when calls wait and there is none, the head's
 * request when the connection is open and nothing is on the wire, the idle timer
 * when the queue is empty. */
static void chan_pump(struct chan *ch)
{
    struct chan_conn *cc = ch->conn;
    char err[FO_ERRLEN];
    int rc;

    if (ch->closing || ch->admin->stopping) return;
    if (ch->head == NULL) {
        if (cc != NULL && cc->open) uv_timer_start(&ch->idle, chan_idle, FO_ADMIN_CHAN_IDLE_MS, 0);
        return;
    }
    uv_timer_stop(&ch->idle);
    if (cc == NULL) {
        if ((rc = chan_connect(ch, err)) != 0) chan_fail_all(ch, FO_EUNREACHABLE, err);
        return;
    }
    if (!cc->open || cc->reading || ch->head->sent) return;
    if ((rc = fo_tls_conn_write(cc->tls, ch->head->out, ch->head->outlen, NULL, NULL)) != 0) {
        chan_drop(ch, FO_EUNREACHABLE, fo_strerror(rc));
        return;
    }
    ch->head->sent = true;
}

static int chan_get(struct fo_admin *a, struct chan **out, char err[FO_ERRLEN])
{
    struct chan *ch = a->chan;

    if (ch == NULL) {
        if ((ch = calloc(1, sizeof(*ch))) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
        ch->admin = a;
        uv_timer_init(a->ctl->loop, &ch->idle);
        ch->idle.data = ch;
        ch->open_handles = 1;
        a->chan = ch;
    }
    *out = ch;
    return 0;
}

/* Points the channel at addr: what was queued for the old leader fails and its
 * connection goes. */
static void chan_retarget(struct chan *ch, const char *addr, const struct sockaddr_storage *ss)
{
    if (ch->addr[0] != '\0') FO_DEBUG(MOD, "leader channel: %s -> %s", ch->addr, addr);
    chan_fail_all(ch, FO_EUNREACHABLE, "the leader changed");
    chan_drop(ch, FO_EUNREACHABLE, "the leader changed");
    snprintf(ch->addr, sizeof(ch->addr), "%s", addr);
    ch->ss = *ss;
}

static int call_on_channel(struct fo_admin *a, const char *addr, const struct sockaddr_storage *ss,
                           const Fo__Request *req, unsigned timeout_ms, fo_admin_call_cb cb, void *data,
                           char err[FO_ERRLEN])
{
    struct chan *ch = NULL;
    struct call *c;
    int rc;

    if ((rc = chan_get(a, &ch, err)) != 0) return rc;
    if (strcmp(ch->addr, addr) != 0) chan_retarget(ch, addr, ss);
    if (ch->n_queued >= FO_ADMIN_CHAN_QUEUE)
        return fo_errf(err, FO_EBUSY, "%u calls already wait for the leader %s", ch->n_queued, addr);
    if ((rc = call_new(a, addr, req, cb, data, &c, err)) != 0) return rc;
    c->chan = ch;
    c->queued = true;
    if (ch->tail != NULL)
        ch->tail->qnext = c;
    else
        ch->head = c;
    ch->tail = c;
    ch->n_queued++;
    uv_timer_start(&c->timer, call_timeout, timeout_ms, 0);
    chan_pump(ch);
    return 0;
}

/* ------------------------------------------------------------------ API */

int fo_admin_call(struct fo_ctl *ctl, const char *addr, const Fo__Request *req, unsigned timeout_ms,
                  fo_admin_call_cb cb, void *data, char err[FO_ERRLEN])
{
    struct fo_admin *a = ctl->admin;
    struct sockaddr_storage ss;
    char host[FO_HOST_LEN];
    uint16_t port;
    int rc;

    if (a == NULL || a->stopping) return fo_errf(err, FO_ECANCELED, "shutting down");
    if ((rc = fo_parse_hostport(addr, host, sizeof(host), &port, err)) != 0) return rc;
    memset(&ss, 0, sizeof(ss));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
        return fo_errf(err, FO_EINVAL, "admin address %s: host must be an IP address", addr);
    if (req->body_case == FO__REQUEST__BODY_VERDICT)
        return call_on_channel(a, addr, &ss, req, timeout_ms, cb, data, err);
    return call_per_connection(a, addr, (struct sockaddr *)&ss, req, timeout_ms, cb, data, err);
}

void fo_admin_cancel_calls(struct fo_admin *a)
{
    struct chan *ch = a->chan;

    fo_admin_cancel_discovers(a);
    while (a->calls != NULL) call_finish(a->calls, FO_ECANCELED, "shutting down", NULL);
    if (ch == NULL || ch->closing) return;
    ch->closing = true;
    chan_drop(ch, FO_ECANCELED, "shutting down");
    uv_close((uv_handle_t *)&ch->idle, chan_idle_closed);
}
