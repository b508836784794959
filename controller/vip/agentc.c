/* The failover-agent RPC client: see agentc.h for the contract.
 *
 * A peer is one agent address with its queue of calls; a link is one transport
 * connection of a peer (a fo_tls_conn: TLS, or plain with insecure = yes). A link
 * outlives its peer's interest in it: when the peer drops a link (failure, timeout,
 * shutdown) it detaches it (link->peer = NULL) and the link frees itself once its
 * connection and name lookup are done, so late callbacks of an old connection never
 * touch a new one. Completed calls go to a done list that a
 * zero-delay timer drains, so no callback ever runs inside fo_agentc_call or
 * fo_agentc_cancel. */
#include "controller/vip/agentc.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/frame.h"
#include "common/log.h"
#include "common/tls.h"

#define MOD "agentc"

enum peer_state { P_IDLE, P_RESOLVING, P_CONNECTING, P_OPEN };

struct peer;

struct link {
    struct peer *peer; /* NULL once detached */
    struct fo_agentc *a;
    struct fo_tls_conn *tls; /* until on_close */
    uv_getaddrinfo_t gai;
    bool gai_pending;
};

struct fo_agentc_call {
    struct fo_agentc_call *next;
    struct peer *peer; /* NULL once done */
    uint64_t id;
    uint8_t *frame;
    size_t flen;
    bool sent;
    bool written; /* sent on some connection, ever: it may reach the agent, even late */
    bool retried;
    bool reused; /* queued while the link was already open */
    uint64_t deadline;
    int status;
    char error[FO_ERRLEN];
    Fo__Agent__AgentResponse *resp;
    fo_agentc_cb cb;
    fo_agentc_written_cb wcb; /* instead of cb (fo_agentc_call_w) */
    void *data;
};

struct peer {
    struct peer *next;
    struct fo_agentc *a;
    char host[FO_HOST_LEN];
    uint16_t port;
    enum peer_state state;
    struct link *link;
    struct fo_frame_decoder dec;
    struct fo_agentc_call *head, *tail;
    unsigned n;
    uv_timer_t timer;
};

struct fo_agentc {
    uv_loop_t *loop;
    struct fo_tls_ctx *tls; /* plain (fo_tls_ctx_new_plain) when insecure */
    struct peer *peers;
    struct fo_agentc_call *done_head, *done_tail;
    uv_timer_t defer;
    uint64_t next_id;
    unsigned open_handles;
    unsigned links; /* links not yet freed */
    bool closing;
    struct fo_agentc_stats st;
};

static void peer_connect(struct peer *p);
static void maybe_free(struct fo_agentc *a);

/* ------------------------------------------------------------------ completion */

static void defer_cb(uv_timer_t *t)
{
    struct fo_agentc *a = t->data;
    struct fo_agentc_call *c;

    while ((c = a->done_head) != NULL) {
        a->done_head = c->next;
        if (a->done_head == NULL) a->done_tail = NULL;
        if (c->status == 0 && c->resp != NULL && c->resp->code == 0)
            a->st.ok++;
        else if (c->status == 0)
            a->st.refused++;
        else if (c->status != FO_ECANCELED)
            a->st.failed++;
        if (c->wcb != NULL)
            c->wcb(c->data, c->status, c->written, c->error, c->status == 0 ? c->resp : NULL);
        else
            c->cb(c->data, c->status, c->error, c->status == 0 ? c->resp : NULL);
        if (c->resp != NULL) fo__agent__agent_response__free_unpacked(c->resp, NULL);
        free(c->frame);
        free(c);
    }
    if (a->closing) maybe_free(a);
}

/* Takes c off its peer's queue and schedules its callback. */
static void call_complete(struct fo_agentc_call *c, int status, const char *error)
{
    struct peer *p = c->peer;
    struct fo_agentc_call **pp;
    struct fo_agentc *a = p->a;

    for (pp = &p->head; *pp != NULL && *pp != c; pp = &(*pp)->next) {
    }
    if (*pp == c) {
        *pp = c->next;
        if (p->tail == c) {
            struct fo_agentc_call *x = p->head;
            while (x != NULL && x->next != NULL) x = x->next;
            p->tail = x;
        }
        p->n--;
    }
    c->peer = NULL;
    c->next = NULL;
    c->status = status;
    snprintf(c->error, sizeof(c->error), "%.250s", error ? error : "");
    if (a->done_tail != NULL)
        a->done_tail->next = c;
    else
        a->done_head = c;
    a->done_tail = c;
    uv_timer_start(&a->defer, defer_cb, 0, 0);
}

/* ------------------------------------------------------------------ timers */

static void peer_fail(struct peer *p, int status, const char *reason, bool allow_retry);
static void peer_rearm(struct peer *p);

static void peer_timer_cb(uv_timer_t *t)
{
    struct peer *p = t->data;
    struct fo_agentc_call *c;
    uint64_t now = uv_now(p->a->loop);
    char why[FO_ERRLEN];

    for (c = p->head; c != NULL; c = c->next)
        if (c->deadline <= now) break;
    if (c == NULL) {
        peer_rearm(p);
        return;
    }
    snprintf(why, sizeof(why), "agent %s:%u did not answer in time", p->host, p->port);
    peer_fail(p, FO_ETIMEDOUT, why, false);
}

static void peer_rearm(struct peer *p)
{
    struct fo_agentc_call *c;
    uint64_t now = uv_now(p->a->loop), first = UINT64_MAX;

    for (c = p->head; c != NULL; c = c->next)
        if (c->deadline < first) first = c->deadline;
    if (first == UINT64_MAX)
        uv_timer_stop(&p->timer);
    else
        uv_timer_start(&p->timer, peer_timer_cb, first > now ? first - now : 0, 0);
}

/* ------------------------------------------------------------------ sending */

static void peer_flush(struct peer *p)
{
    struct fo_agentc_call *c;
    char why[FO_ERRLEN];
    int rc;

    if (p->state != P_OPEN) return;
    for (c = p->head; c != NULL; c = c->next) {
        if (c->sent) continue;
        if ((rc = fo_tls_conn_write(p->link->tls, c->frame, c->flen, NULL, NULL)) != 0) {
            /* A connection that has failed reports it only once closed, and until
             * then refuses writes (FO_ECLOSED): the agent may have closed it, so calls
             * made on it while it looked open get their one retry (agentc.h). */
            snprintf(why, sizeof(why), "agent %s:%u: write failed (%s)", p->host, p->port, fo_strerror(rc));
            peer_fail(p, rc == FO_ECLOSED ? FO_ECLOSED : FO_EIO, why, true);
            return;
        }
        c->sent = true;
        c->written = true;
    }
}

/* ------------------------------------------------------------------ receiving */

static void peer_input(struct peer *p, const uint8_t *bytes, size_t n)
{
    char err[FO_ERRLEN], why[FO_ERRLEN];
    struct fo_frame f;
    Fo__Agent__AgentResponse *r;
    struct fo_agentc_call *c;
    int rc;

    if (fo_frame_decoder_feed(&p->dec, bytes, n) != 0) {
        snprintf(why, sizeof(why), "agent %s:%u: %.120s", p->host, p->port, p->dec.err[0] ? p->dec.err : "bad input");
        return peer_fail(p, FO_EPROTO, why, false);
    }
    for (;;) {
        rc = fo_frame_decoder_next(&p->dec, &f, err);
        if (rc == FO_EAGAIN) return;
        if (rc != 0 || f.type != FO_FRAME_RESPONSE) {
            snprintf(why, sizeof(why), "agent %s:%u: bad frame: %.120s", p->host, p->port,
                     rc != 0 ? err : "not a response");
            return peer_fail(p, FO_EPROTO, why, false);
        }
        r = fo__agent__agent_response__unpack(NULL, f.len, f.payload);
        c = p->head;
        if (r == NULL || c == NULL || !c->sent || r->id != c->id) {
            if (r != NULL) fo__agent__agent_response__free_unpacked(r, NULL);
            snprintf(why, sizeof(why), "agent %s:%u: unexpected or undecodable response", p->host, p->port);
            return peer_fail(p, FO_EPROTO, why, false);
        }
        c->resp = r;
        call_complete(c, 0, r->code != 0 ? r->error : "");
        peer_rearm(p);
    }
}

/* ------------------------------------------------------------------ links */

static void link_maybe_free(struct link *l)
{
    struct fo_agentc *a = l->a;

    if (l->tls != NULL || l->gai_pending) return;
    free(l);
    a->links--;
    if (a->closing) maybe_free(a);
}

static void link_opened(struct link *l)
{
    struct peer *p = l->peer;

    if (p == NULL) return;
    p->state = P_OPEN;
    FO_DEBUG(MOD, "connected to agent %s:%u", p->host, p->port);
    peer_flush(p);
}

static void link_failed(struct link *l, int status, const char *reason)
{
    struct peer *p = l->peer;

    if (p == NULL) return;
    peer_fail(p, status, reason, true);
}

static void tls_handshake(void *data, struct fo_tls_conn *t)
{
    (void)t;
    link_opened(data);
}

static void tls_read(void *data, struct fo_tls_conn *t, const uint8_t *bytes, size_t n)
{
    struct link *l = data;

    (void)t;
    if (l->peer != NULL) peer_input(l->peer, bytes, n);
}

static void tls_close(void *data, int status, const char *reason)
{
    struct link *l = data;
    char why[FO_ERRLEN];

    l->tls = NULL; /* already freed (tls.h) */
    if (status == FO_EPERM) l->a->st.tls_refused++;
    if (l->peer == NULL) {
        link_maybe_free(l);
        return;
    }
    /* The connection failed by itself: peer_fail detaches this link, and with nothing
     * of it left open that frees it, so l must not be touched afterwards. */
    snprintf(why, sizeof(why), "agent %s:%u: %.120s", l->peer->host, l->peer->port, reason);
    link_failed(l, status == FO_ECANCELED ? FO_ECLOSED : status, why);
}

static int link_start(struct link *l, const struct sockaddr *sa)
{
    struct peer *p = l->peer;
    char err[FO_ERRLEN];
    struct fo_tls_conn_cbs cbs = {tls_handshake, tls_read, tls_close, l};
    bool literal;
    struct in6_addr tmp;

    if (fo_tls_conn_new(l->a->tls, l->a->loop, &cbs, &l->tls, err) != 0) return FO_ENOMEM;
    literal = inet_pton(AF_INET, p->host, &tmp) == 1 || inet_pton(AF_INET6, p->host, &tmp) == 1;
    if (fo_tls_conn_connect(l->tls, sa, literal ? NULL : p->host, err) != 0) {
        fo_tls_conn_close(l->tls); /* on_close follows */
        return FO_EUNREACHABLE;
    }
    return 0;
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct link *l = req->data;
    char why[FO_ERRLEN];
    int rc;

    l->gai_pending = false;
    if (l->peer == NULL) {
        uv_freeaddrinfo(res);
        link_maybe_free(l);
        return;
    }
    if (status != 0 || res == NULL) {
        snprintf(why, sizeof(why), "agent %s:%u: cannot resolve: %s", l->peer->host, l->peer->port,
                 uv_strerror(status));
        uv_freeaddrinfo(res);
        link_failed(l, FO_EUNREACHABLE, why);
        return;
    }
    l->peer->state = P_CONNECTING;
    rc = link_start(l, res->ai_addr);
    uv_freeaddrinfo(res);
    if (rc != 0 && l->peer != NULL) {
        snprintf(why, sizeof(why), "agent %s:%u: cannot connect (%s)", l->peer->host, l->peer->port, fo_strerror(rc));
        link_failed(l, rc, why);
    }
}

/* Starts a new link for p (state IDLE -> RESOLVING/CONNECTING). */
static void peer_connect(struct peer *p)
{
    struct fo_agentc *a = p->a;
    struct sockaddr_storage ss;
    struct addrinfo hints;
    struct link *l;
    char portstr[8], why[FO_ERRLEN];
    int rc;

    if ((l = calloc(1, sizeof(*l))) == NULL) {
        snprintf(why, sizeof(why), "agent %s:%u: out of memory", p->host, p->port);
        return peer_fail(p, FO_ENOMEM, why, false);
    }
    l->a = a;
    l->peer = p;
    a->links++;
    a->st.connects++;
    p->link = l;
    fo_frame_decoder_close(&p->dec);
    fo_frame_decoder_init(&p->dec, FO_AGENTC_MAX_RESPONSE);
    if (uv_ip4_addr(p->host, p->port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(p->host, p->port, (struct sockaddr_in6 *)&ss) == 0) {
        p->state = P_CONNECTING;
        rc = link_start(l, (struct sockaddr *)&ss);
        if (rc != 0 && l->peer != NULL) {
            snprintf(why, sizeof(why), "agent %s:%u: cannot connect (%s)", p->host, p->port, fo_strerror(rc));
            peer_fail(p, rc, why, false);
        }
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(portstr, sizeof(portstr), "%u", p->port);
    p->state = P_RESOLVING;
    l->gai.data = l;
    l->gai_pending = true;
    if (uv_getaddrinfo(a->loop, &l->gai, resolved, p->host, portstr, &hints) != 0) {
        l->gai_pending = false;
        snprintf(why, sizeof(why), "agent %s:%u: cannot resolve", p->host, p->port);
        peer_fail(p, FO_EUNREACHABLE, why, false);
    }
}

/* Detaches and closes the peer's link; its handles close in the background. */
static void link_detach(struct link *l)
{
    struct peer *p = l->peer;

    if (p != NULL) p->link = NULL;
    l->peer = NULL;
    if (l->gai_pending) uv_cancel((uv_req_t *)&l->gai);
    if (l->tls != NULL) fo_tls_conn_close(l->tls);
    link_maybe_free(l);
}

/* The link is gone: calls fail, except those that may only have met a connection
 * the agent had already closed (sent on a reused link, not yet retried). */
static void peer_fail(struct peer *p, int status, const char *reason, bool allow_retry)
{
    struct fo_agentc_call *c, *next;
    bool retry = false;

    if (p->link != NULL) link_detach(p->link);
    p->state = P_IDLE;
    for (c = p->head; c != NULL; c = next) {
        next = c->next;
        if (allow_retry && c->reused && !c->retried && status != FO_EPERM) {
            c->retried = true;
            c->sent = false;
            c->reused = false;
            retry = true;
            continue;
        }
        call_complete(c, status, reason);
    }
    if (retry) {
        FO_DEBUG(MOD, "%s; retrying on a new connection", reason);
        peer_connect(p);
    }
    peer_rearm(p);
}

/* ------------------------------------------------------------------ API */

int fo_agentc_new(struct fo_agentc **out, uv_loop_t *loop, const struct fo_tls_cfg *tls, struct fo_tls_files *files,
                  char err[FO_ERRLEN])
{
    struct fo_agentc *a = calloc(1, sizeof(*a));
    int rc;

    if (a == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    a->loop = loop;
    if (tls->insecure)
        rc = fo_tls_ctx_new_plain(&a->tls, err);
    else if (files != NULL)
        rc = fo_tls_ctx_from_files(&a->tls, files, FO_TLS_ROLE_AGENT, err);
    else
        rc = fo_tls_ctx_new(&a->tls, tls->ca_file, tls->cert_file, tls->key_file, FO_TLS_ROLE_AGENT, err);
    if (rc != 0) {
        free(a);
        return rc;
    }
    uv_timer_init(loop, &a->defer);
    a->defer.data = a;
    a->open_handles = 1;
    *out = a;
    return 0;
}

static struct peer *peer_get(struct fo_agentc *a, const char *host, uint16_t port)
{
    struct peer *p;

    for (p = a->peers; p != NULL; p = p->next)
        if (p->port == port && strcmp(p->host, host) == 0) return p;
    if ((p = calloc(1, sizeof(*p))) == NULL) return NULL;
    p->a = a;
    snprintf(p->host, sizeof(p->host), "%s", host);
    p->port = port;
    fo_frame_decoder_init(&p->dec, FO_AGENTC_MAX_RESPONSE);
    uv_timer_init(a->loop, &p->timer);
    p->timer.data = p;
    a->open_handles++;
    p->next = a->peers;
    a->peers = p;
    return p;
}

static struct fo_agentc_call *call_start(struct fo_agentc *a, const char *host, uint16_t port,
                                         Fo__Agent__AgentRequest *req, unsigned timeout_ms, fo_agentc_cb cb,
                                         fo_agentc_written_cb wcb, void *data, char err[FO_ERRLEN])
{
    struct fo_agentc_call *c;
    struct peer *p;
    uint8_t *payload;
    size_t len;
    int rc;

    if (a->closing) return fo_errf(err, FO_ECANCELED, "shutting down"), NULL;
    if (host[0] == '\0' || strlen(host) >= FO_HOST_LEN || port == 0 || timeout_ms == 0 || timeout_ms > 600000)
        return fo_errf(err, FO_EINVAL, "bad agent address or timeout"), NULL;
    if ((p = peer_get(a, host, port)) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory"), NULL;
    if (p->n >= FO_AGENTC_MAX_QUEUE)
        return fo_errf(err, FO_EBUSY, "%u calls already wait on agent %s:%u", p->n, host, port), NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory"), NULL;
    req->id = c->id = ++a->next_id;
    len = fo__agent__agent_request__get_packed_size(req);
    if ((payload = malloc(len ? len : 1)) == NULL) {
        free(c);
        return fo_errf(err, FO_ENOMEM, "out of memory"), NULL;
    }
    fo__agent__agent_request__pack(req, payload);
    rc = fo_frame_encode(FO_FRAME_REQUEST, payload, len, &c->frame, &c->flen);
    free(payload);
    if (rc != 0) {
        free(c);
        return fo_errf(err, rc, "cannot encode the request"), NULL;
    }
    c->peer = p;
    c->cb = cb;
    c->wcb = wcb;
    c->data = data;
    c->deadline = uv_now(a->loop) + timeout_ms;
    c->reused = p->state == P_OPEN;
    if (p->tail != NULL)
        p->tail->next = c;
    else
        p->head = c;
    p->tail = c;
    p->n++;
    a->st.calls++;
    if (p->state == P_IDLE)
        peer_connect(p);
    else
        peer_flush(p);
    if (c->peer != NULL) peer_rearm(p);
    return c;
}

struct fo_agentc_call *fo_agentc_call(struct fo_agentc *a, const char *host, uint16_t port,
                                      Fo__Agent__AgentRequest *req, unsigned timeout_ms, fo_agentc_cb cb, void *data,
                                      char err[FO_ERRLEN])
{
    return call_start(a, host, port, req, timeout_ms, cb, NULL, data, err);
}

struct fo_agentc_call *fo_agentc_call_w(struct fo_agentc *a, const char *host, uint16_t port,
                                        Fo__Agent__AgentRequest *req, unsigned timeout_ms, fo_agentc_written_cb cb,
                                        void *data, char err[FO_ERRLEN])
{
    return call_start(a, host, port, req, timeout_ms, NULL, cb, data, err);
}

void fo_agentc_cancel(struct fo_agentc_call *c)
{
    struct peer *p = c->peer;

    if (p == NULL) return; /* already done, callback pending */
    if (c->sent) {
        /* Its answer would arrive out of turn for the calls behind it: start over. */
        char why[FO_ERRLEN];
        call_complete(c, FO_ECANCELED, "cancelled");
        snprintf(why, sizeof(why), "agent %s:%u: connection reset after a cancelled call", p->host, p->port);
        if (p->link != NULL) link_detach(p->link);
        p->state = P_IDLE;
        if (p->head != NULL) {
            struct fo_agentc_call *x;
            for (x = p->head; x != NULL; x = x->next) x->sent = false, x->reused = false;
            peer_connect(p);
        }
        peer_rearm(p);
        return;
    }
    call_complete(c, FO_ECANCELED, "cancelled");
    peer_rearm(p);
}

static void handle_closed(uv_handle_t *h)
{
    struct fo_agentc *a = h->data;

    a->open_handles--;
    maybe_free(a);
}

static void peer_timer_closed(uv_handle_t *h)
{
    struct peer *p = h->data;
    struct fo_agentc *a = p->a;

    fo_frame_decoder_close(&p->dec);
    free(p);
    a->open_handles--;
    maybe_free(a);
}

static void maybe_free(struct fo_agentc *a)
{
    if (!a->closing || a->open_handles != 0 || a->links != 0 || a->done_head != NULL) return;
    fo_tls_ctx_free(a->tls);
    free(a);
}

void fo_agentc_close(struct fo_agentc *a)
{
    struct peer *p, *next;
    struct fo_agentc_call *c;

    a->closing = true;
    for (p = a->peers; p != NULL; p = p->next) {
        while ((c = p->head) != NULL) call_complete(c, FO_ECANCELED, "shutting down");
        if (p->link != NULL) link_detach(p->link);
    }
    /* Deliver the cancellations now: the loop may not run the defer timer again. */
    defer_cb(&a->defer);
    for (p = a->peers; p != NULL; p = next) {
        next = p->next;
        uv_close((uv_handle_t *)&p->timer, peer_timer_closed);
    }
    a->peers = NULL;
    a->defer.data = a;
    uv_close((uv_handle_t *)&a->defer, handle_closed);
}

void fo_agentc_stats(const struct fo_agentc *a, struct fo_agentc_stats *out)
{
    *out = a->st;
}
