#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "controller/admin_internal.h"

#define MOD "admin"

/* ------------------------------------------------------------------ connections */

void fo_admin_maybe_free(struct fo_admin *a)
{
    if (a->stopping && a->server_closed && a->n_conns == 0 && a->calls == NULL) free(a);
}

static void conn_release(struct aconn *c)
{
    struct fo_admin *a = c->admin;

    if (--c->refs > 0) return;
    fo_frame_decoder_close(&c->dec);
    a->n_conns--;
    free(c);
    fo_admin_maybe_free(a);
}

static void conn_closed(uv_handle_t *h)
{
    conn_release(h->data);
}

static void conn_close(struct aconn *c)
{
    if (c->closing) return;
    c->closing = true;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        c->admin->conns = c->next;
    if (c->next != NULL) c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static __thread char slab[65536]; /* consumed synchronously by read_cb */

    (void)h;
    (void)suggested;
    buf->base = slab;
    buf->len = sizeof(slab);
}

static void bad_frame(struct aconn *c, const char *why)
{
    c->admin->ctl->counters.admin_bad_frames++;
    FO_WARN(MOD, "closing connection from %s: %s", c->peer, why);
    conn_close(c);
}

static void handle_frame(struct aconn *c, const struct fo_frame *f)
{
    struct areq *r;
    Fo__Request *req;

    if (f->type != FO_FRAME_REQUEST) {
        bad_frame(c, "frame is not a request");
        return;
    }
    req = fo__request__unpack(NULL, f->len, f->payload);
    if (req == NULL) {
        bad_frame(c, "undecodable request (protobuf)");
        return;
    }
    if (c->inflight >= FO_ADMIN_MAX_INFLIGHT) {
        fo__request__free_unpacked(req, NULL);
        bad_frame(c, "too many requests in progress on one connection");
        return;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        fo__request__free_unpacked(req, NULL);
        conn_close(c);
        return;
    }
    r->conn = c;
    r->ctl = c->admin->ctl;
    r->req = req;
    c->refs++;
    c->inflight++;
    c->admin->ctl->counters.admin_requests++;
    fo_admin_dispatch(r);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct aconn *c = s->data;
    struct fo_frame f;
    char err[FO_ERRLEN];
    int rc;

    if (n < 0) {
        if (n != UV_EOF) FO_DEBUG(MOD, "read from %s: %s", c->peer, uv_strerror((int)n));
        conn_close(c);
        return;
    }
    if (n == 0 || c->closing) return;
    if (fo_frame_decoder_feed(&c->dec, buf->base, (size_t)n) != 0) {
        bad_frame(c, c->dec.err[0] ? c->dec.err : "decoder failure");
        return;
    }
    while (!c->closing && (rc = fo_frame_decoder_next(&c->dec, &f, err)) == 0) handle_frame(c, &f);
    if (!c->closing && rc != FO_EAGAIN) bad_frame(c, err);
}

static void peer_name(uv_tcp_t *t, char out[FO_ADDR_LEN])
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char ip[64] = "?";
    int port = 0;

    if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    snprintf(out, FO_ADDR_LEN, "%s:%d", ip, port);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct fo_admin *a = server->data;
    struct aconn *c;

    if (status != 0) {
        FO_WARN(MOD, "accept: %s", uv_strerror(status));
        return;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) return;
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    c->admin = a;
    c->refs = 1;
    a->n_conns++;
    c->next = a->conns;
    if (a->conns != NULL) a->conns->prev = c;
    a->conns = c;
    fo_frame_decoder_init(&c->dec, a->ctl->cfg.max_frame_bytes);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    peer_name(&c->tcp, c->peer);
    if (a->n_conns > FO_ADMIN_MAX_CONNS || a->stopping) {
        FO_WARN(MOD, "refusing connection from %s: too many connections", c->peer);
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

/* ------------------------------------------------------------------ replies */

void *areq_alloc(struct areq *r, size_t size)
{
    void *p;

    if (r->n_owned == r->cap_owned) {
        unsigned ncap = r->cap_owned ? r->cap_owned * 2 : 32;
        void **np = realloc(r->owned, ncap * sizeof(void *));
        if (np == NULL) return NULL;
        r->owned = np;
        r->cap_owned = ncap;
    }
    if ((p = calloc(1, size ? size : 1)) == NULL) return NULL;
    r->owned[r->n_owned++] = p;
    return p;
}

int areq_list_push(struct areq_list *l, void *item)
{
    void **p;

    if (item == NULL) return l->oom = true, 1;
    if (l->n == l->cap) {
        unsigned ncap = l->cap ? l->cap * 2 : 16;
        if ((p = areq_alloc(l->r, ncap * sizeof(void *))) == NULL) return l->oom = true, 1;
        if (l->n) memcpy(p, l->items, l->n * sizeof(void *));
        l->items = p;
        l->cap = ncap;
    }
    l->items[l->n++] = item;
    return 0;
}

char *areq_strdup(struct areq *r, const char *s)
{
    size_t n = strlen(s ? s : "");
    char *p = areq_alloc(r, n + 1);

    if (p == NULL) return "";
    memcpy(p, s ? s : "", n);
    return p;
}

static void write_done(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static void send_frame(struct aconn *c, const uint8_t *payload, size_t len)
{
    uv_write_t *w;
    uint8_t *out;
    size_t outlen;
    uv_buf_t buf;

    if (c->closing) return;
    if (fo_frame_encode(FO_FRAME_RESPONSE, payload, len, &out, &outlen) != 0) {
        conn_close(c);
        return;
    }
    if ((w = malloc(sizeof(*w))) == NULL) {
        free(out);
        conn_close(c);
        return;
    }
    w->data = out;
    buf = uv_buf_init((char *)out, (unsigned)outlen);
    if (uv_write(w, (uv_stream_t *)&c->tcp, &buf, 1, write_done) != 0) {
        free(out);
        free(w);
        conn_close(c);
    }
}

static void areq_free(struct areq *r)
{
    unsigned i;

    for (i = 0; i < r->n_owned; i++) free(r->owned[i]);
    free(r->owned);
    if (r->req != NULL) fo__request__free_unpacked(r->req, NULL);
    r->conn->inflight--;
    conn_release(r->conn);
    free(r);
}

void areq_reply(struct areq *r, Fo__Response *in)
{
    struct fo_ctl *ctl = r->ctl;
    Fo__Response copy = *in; /* in may belong to an unpacked message: never mutate it */
    Fo__Response *resp = &copy;
    char addr_buf[FO_ADDR_LEN];
    const char *addr;
    uint8_t *buf;
    size_t len;

    if (resp->leader_id == 0) {
        resp->leader_id = fo_raft_leader(&ctl->raft, NULL);
        addr = resp->leader_id ? fo_ctl_admin_address(ctl, resp->leader_id, addr_buf) : NULL;
        resp->leader_admin_address = areq_strdup(r, addr ? addr : "");
    }
    if (resp->served_by == 0) resp->served_by = ctl->cfg.node_id;
    len = fo__response__get_packed_size(resp);
    if ((buf = malloc(len ? len : 1)) != NULL) {
        fo__response__pack(resp, buf);
        send_frame(r->conn, buf, len);
        free(buf);
    } else {
        conn_close(r->conn);
    }
    areq_free(r);
}

void areq_fail(struct areq *r, int code, const char *fmt, ...)
{
    char msg[FO_ERRLEN];
    Fo__Response resp;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fo__response__init(&resp);
    resp.code = code;
    resp.error = msg;
    areq_reply(r, &resp);
}

/* ------------------------------------------------------------------ server */

static int listen_on(struct fo_admin *a, const char *address, char err[FO_ERRLEN])
{
    struct sockaddr_storage ss;
    char host[FO_HOST_LEN];
    uint16_t port;
    int rc;

    if ((rc = fo_parse_hostport(address, host, sizeof(host), &port, err)) != 0) return rc;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
        return fo_errf(err, FO_EINVAL, "admin_address %s: host must be an IP address", address);
    uv_tcp_init(a->ctl->loop, &a->server);
    a->server.data = a;
    if ((rc = uv_tcp_bind(&a->server, (struct sockaddr *)&ss, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&a->server, 128, on_connection)) != 0) {
        uv_close((uv_handle_t *)&a->server, NULL);
        return fo_errf(err, FO_EIO, "admin listen on %s: %s", address, uv_strerror(rc));
    }
    return 0;
}

int fo_admin_start(struct fo_ctl *ctl, char err[FO_ERRLEN])
{
    struct fo_admin *a = calloc(1, sizeof(*a));
    int rc;

    if (a == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    a->ctl = ctl;
    if ((rc = listen_on(a, ctl->cfg.admin_address, err)) != 0) {
        free(a);
        return rc;
    }
    ctl->admin = a;
    return 0;
}

static void server_closed(uv_handle_t *h)
{
    struct fo_admin *a = h->data;

    a->server_closed = true;
    fo_admin_maybe_free(a);
}

void fo_admin_stop(struct fo_ctl *ctl)
{
    struct fo_admin *a = ctl->admin;

    if (a == NULL) return;
    ctl->admin = NULL;
    a->stopping = true;
    fo_admin_cancel_calls(a);
    while (a->conns != NULL) conn_close(a->conns);
    uv_close((uv_handle_t *)&a->server, server_closed);
}
