/* raft_uv_transport over common/tls with a socketpair bridge: see transport.h.
 *
 * One struct conn per TCP connection, incoming or outgoing. It owns a fo_tls_conn,
 * a uv_timer_t and, once the handshakes are done, the bridge end of a socketpair;
 * the other end (lib) belongs to libraft from the moment it is handed over. A conn
 * is freed only once its TLS connection reported on_close and its bridge and timer
 * handles are closed (STYLE.md §4); conn_close() starts all three and is
 * idempotent, so any callback may call it. */
#include "raft/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/prom.h"

#define MOD "raft-tls"
#define READ_CHUNK 65536
#define HIGH_WATER (1u << 20) /* pause the producer above this many queued bytes */
#define LOW_WATER (256u << 10)
#define LOG_BURST 20 /* refusal lines per second before they are summarised */

struct tr;

struct conn {
    struct tr *t;
    struct conn *prev, *next;
    struct fo_tls_conn *tls; /* NULL once its on_close has run */
    uv_timer_t timer;
    uv_pipe_t bridge;
    uv_pipe_t *lib; /* ours until handed to libraft, then NULL */
    bool incoming, timer_open, bridge_open, handed, closing, pending, paused;
    uint64_t id;                 /* incoming: certificate's (TLS) then claimed; outgoing: dialled */
    uint64_t last_rx;            /* uv_now of the last byte received (stall check) */
    struct fo_raft_wire *wire;   /* incoming, from its TLS handshake on */
    struct raft_uv_connect *req; /* outgoing, until libraft's callback ran */
    char peer[FO_ADDR_LEN];      /* for log lines */
};

struct tr {
    struct raft_uv_transport *transport;
    uv_loop_t *loop;
    struct fo_raft_transport_opts o;
    uint64_t id;
    char address[FO_ADDR_LEN];
    uv_tcp_t listener;
    bool listening, listener_open, closing;
    raft_uv_accept_cb accept_cb;
    raft_uv_transport_close_cb close_cb;
    struct conn *conns;
    struct fo_raft_transport_stats st;
    uint64_t log_window; /* uv_now / 1000 of the current log second */
    unsigned log_lines;
    uint64_t log_suppressed;
    char rbuf[READ_CHUNK];
};

static const char *const why_names[FO_RAFT_TR_FRAME] = {
    "tls",     "no_node_id",  "id_mismatch", "not_member",      "handshake_timeout",
    "stalled", "pending_cap", "peer_cap",    "unexpected_data",
};

const char *fo_raft_tr_why_name(enum fo_raft_tr_why why)
{
    if ((unsigned)why < FO_RAFT_TR_FRAME) return why_names[why];
    if ((unsigned)why < FO_RAFT_TR_N_WHY)
        return fo_raft_wire_why_name((enum fo_raft_wire_why)(why - FO_RAFT_TR_FRAME + 1));
    return "unknown";
}

/* ------------------------------------------------------------------ bookkeeping */

static void maybe_fire_close(struct tr *t)
{
    raft_uv_transport_close_cb cb = t->close_cb;

    if (!t->closing || t->conns != NULL || t->listener_open || cb == NULL) return;
    t->close_cb = NULL;
    cb(t->transport);
}

/* Logs a refusal, at most LOG_BURST lines a second: a flood must not become a log
 * flood; what was left out is counted in the next line. */
__attribute__((format(printf, 3, 4))) static void refuse_log(struct tr *t, enum fo_raft_tr_why why, const char *fmt,
                                                             ...)
{
    uint64_t sec = uv_now(t->loop) / 1000;
    char text[FO_ERRLEN];
    va_list ap;

    t->st.refused[why]++;
    if (sec != t->log_window) {
        t->log_window = sec;
        t->log_lines = 0;
    }
    if (++t->log_lines > LOG_BURST) {
        t->log_suppressed++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (t->log_suppressed > 0) {
        FO_WARN(MOD, "refused (%s): %s (and %llu refusals not logged)", fo_raft_tr_why_name(why), text,
                (unsigned long long)t->log_suppressed);
        t->log_suppressed = 0;
    } else {
        FO_WARN(MOD, "refused (%s): %s", fo_raft_tr_why_name(why), text);
    }
}

static void conn_unlink(struct conn *c)
{
    struct tr *t = c->t;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next != NULL) c->next->prev = c->prev;
}

static void conn_maybe_free(struct conn *c)
{
    struct tr *t = c->t;

    if (c->tls != NULL || c->timer_open || c->bridge_open) return;
    conn_unlink(c);
    free(c->wire);
    free(c);
    maybe_fire_close(t);
}

static void timer_closed(uv_handle_t *h)
{
    struct conn *c = h->data;

    c->timer_open = false;
    conn_maybe_free(c);
}

static void bridge_closed(uv_handle_t *h)
{
    struct conn *c = h->data;

    c->bridge_open = false;
    conn_maybe_free(c);
}

/* libraft's own close for streams it owns is uv_close + raft_free: the same here for
 * a lib end that never reached it. */
static void lib_closed(uv_handle_t *h)
{
    raft_free(h);
}

/* Outgoing: libraft's connect callback, exactly once. */
static void finish_connect(struct conn *c, uv_stream_t *stream, int status)
{
    struct raft_uv_connect *req = c->req;

    if (req == NULL) return;
    c->req = NULL;
    req->cb(req, stream, status);
}

/* Closes everything of c (idempotent). Counts nothing: refusals are counted where
 * they are decided. */
static void conn_close(struct conn *c)
{
    struct tr *t = c->t;

    if (c->closing) return;
    c->closing = true;
    if (c->pending) {
        c->pending = false;
        t->st.pending--;
    }
    if (c->handed) t->st.open--;
    if (c->lib != NULL) {
        uv_close((uv_handle_t *)c->lib, lib_closed);
        c->lib = NULL;
    }
    if (c->bridge_open) uv_close((uv_handle_t *)&c->bridge, bridge_closed);
    if (c->timer_open) uv_close((uv_handle_t *)&c->timer, timer_closed);
    if (c->tls != NULL) fo_tls_conn_close(c->tls);
    finish_connect(c, NULL, t->closing ? RAFT_CANCELED : RAFT_NOCONNECTION);
}

__attribute__((format(printf, 3, 4))) static void conn_refuse(struct conn *c, enum fo_raft_tr_why why, const char *fmt,
                                                              ...)
{
    char text[FO_ERRLEN];
    va_list ap;

    if (c->closing) return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    refuse_log(c->t, why, "%s %s: %s", c->incoming ? "from" : "to", c->peer, text);
    conn_close(c);
}

static struct conn *conn_new(struct tr *t, bool incoming)
{
    struct conn *c = calloc(1, sizeof(*c));

    if (c == NULL) return NULL;
    c->t = t;
    c->incoming = incoming;
    c->next = t->conns;
    if (t->conns != NULL) t->conns->prev = c;
    t->conns = c;
    uv_timer_init(t->loop, &c->timer);
    c->timer.data = c;
    c->timer_open = true;
    return c;
}

/* ------------------------------------------------------------------ the bridge */

/* Makes the socketpair: c->bridge (ours) and c->lib (raft_malloc'd, for libraft). */
static int bridge_open(struct conn *c, char err[FO_ERRLEN])
{
    int fds[2], rv;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        return fo_errf(err, FO_EIO, "socketpair: %s", strerror(errno));
    c->lib = raft_malloc(sizeof(*c->lib));
    if (c->lib == NULL) {
        close(fds[0]);
        close(fds[1]);
        return fo_errf(err, FO_ENOMEM, "out of memory");
    }
    uv_pipe_init(c->t->loop, c->lib, 0);
    uv_pipe_init(c->t->loop, &c->bridge, 0);
    c->bridge.data = c;
    c->bridge_open = true;
    /* On failure uv_pipe_open leaves the fd to us; once it succeeded, uv_close of the
     * handle (conn_close) closes it. */
    if ((rv = uv_pipe_open(c->lib, fds[0])) != 0) {
        close(fds[0]);
        close(fds[1]);
        return fo_errf(err, FO_EIO, "uv_pipe_open: %s", uv_strerror(rv));
    }
    if ((rv = uv_pipe_open(&c->bridge, fds[1])) != 0) {
        close(fds[1]);
        return fo_errf(err, FO_EIO, "uv_pipe_open: %s", uv_strerror(rv));
    }
    return 0;
}

static void bridge_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;

    (void)suggested;
    buf->base = c->t->rbuf;
    buf->len = sizeof(c->t->rbuf);
}

static void bridge_read_out(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void tls_write_done(void *data, int status)
{
    struct conn *c = data;

    if (status != 0 || c->closing || !c->paused || c->tls == NULL) return;
    if (fo_tls_conn_pending(c->tls) < LOW_WATER) {
        c->paused = false;
        if (uv_read_start((uv_stream_t *)&c->bridge, bridge_alloc, bridge_read_out) != 0) conn_close(c);
    }
}

/* Outgoing: what libraft wrote goes out over TLS, with back-pressure on libraft. */
static void bridge_read_out(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;

    if (nread == 0) return;
    if (nread < 0) { /* libraft closed its end: the connection is over */
        conn_close(c);
        return;
    }
    if (fo_tls_conn_write(c->tls, buf->base, (size_t)nread, tls_write_done, c) != 0) {
        conn_close(c);
        return;
    }
    if (fo_tls_conn_pending(c->tls) > HIGH_WATER) {
        c->paused = true;
        uv_read_stop(s);
    }
}

/* Incoming: libraft never writes on a connection it accepted; EOF means it closed. */
static void bridge_read_in(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;

    (void)buf;
    if (nread != 0) conn_close(c);
}

struct bwrite {
    uv_write_t req;
    struct conn *c;
    char bytes[];
};

static void bridge_write_done(uv_write_t *req, int status)
{
    struct bwrite *w = req->data;
    struct conn *c = w->c;

    free(w);
    if (status != 0) {
        conn_close(c);
        return;
    }
    if (c->paused && !c->closing && c->tls != NULL &&
        uv_stream_get_write_queue_size((uv_stream_t *)&c->bridge) < LOW_WATER) {
        c->paused = false;
        if (fo_tls_conn_read_start(c->tls) != 0) conn_close(c);
    }
}

/* Incoming: approved bytes to libraft; TLS reading pauses while libraft lags. */
static int bridge_write(struct conn *c, const uint8_t *p, size_t n)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    struct bwrite *w;
    int rv;

    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->bridge) == 0) {
        rv = uv_try_write((uv_stream_t *)&c->bridge, &b, 1);
        if (rv > 0) {
            p += rv;
            n -= (size_t)rv;
        } else if (rv != UV_EAGAIN) {
            return FO_EIO;
        }
    }
    if (n == 0) return 0;
    if ((w = malloc(sizeof(*w) + n)) == NULL) return FO_ENOMEM;
    memcpy(w->bytes, p, n);
    w->c = c;
    w->req.data = w;
    b = uv_buf_init(w->bytes, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&c->bridge, &b, 1, bridge_write_done) != 0) {
        free(w);
        return FO_EIO;
    }
    if (!c->paused && uv_stream_get_write_queue_size((uv_stream_t *)&c->bridge) > HIGH_WATER) {
        c->paused = true;
        fo_tls_conn_read_stop(c->tls);
    }
    return 0;
}

/* ------------------------------------------------------------------ incoming */

static void stall_check(uv_timer_t *timer)
{
    struct conn *c = timer->data;
    const struct fo_raft_wire *w = c->wire;
    bool mid = w->phase == FO_RAFT_WIRE_PH_PAYLOAD || w->have > 0;

    if (mid && uv_now(c->t->loop) - c->last_rx >= c->t->o.stall_ms)
        conn_refuse(c, FO_RAFT_TR_STALLED, "node %llu started a message and sent nothing for %u ms",
                    (unsigned long long)c->id, c->t->o.stall_ms);
}

static void handshake_deadline(uv_timer_t *timer)
{
    struct conn *c = timer->data;

    conn_refuse(c, FO_RAFT_TR_HANDSHAKE_TIMEOUT, "no %s handshake within %u ms",
                c->tls == NULL || c->wire == NULL ? "TLS" : "raft", c->t->o.handshake_ms);
}

/* A peer id may hold max_per_peer accepted connections; the oldest goes first. */
static void enforce_peer_cap(struct conn *c)
{
    struct tr *t = c->t;
    struct conn *x, *oldest = NULL;
    unsigned n = 0;

    /* New connections are pushed at the head, so the last one found is the oldest. */
    for (x = t->conns; x != NULL; x = x->next) {
        if (x == c || !x->incoming || !x->handed || x->closing || x->id != c->id) continue;
        n++;
        oldest = x;
    }
    if (n >= t->o.max_per_peer && oldest != NULL)
        conn_refuse(oldest, FO_RAFT_TR_PEER_CAP, "node %llu has %u connections; closing its oldest",
                    (unsigned long long)c->id, n + 1);
}

/* libraft's handshake is in: check it against the certificate and the members, then
 * hand the lib end to libraft. */
static void on_raft_handshake(struct conn *c)
{
    struct tr *t = c->t;
    const struct fo_raft_wire *w = c->wire;
    char err[FO_ERRLEN];
    uv_pipe_t *lib;

    if (t->o.secure && w->peer_id != c->id) {
        conn_refuse(c, FO_RAFT_TR_ID_MISMATCH, "certificate of node %llu claims raft id %llu",
                    (unsigned long long)c->id, (unsigned long long)w->peer_id);
        return;
    }
    c->id = w->peer_id;
    if (t->o.member_cb != NULL && !t->o.member_cb(t->o.member_data, c->id, w->address)) {
        conn_refuse(c, FO_RAFT_TR_NOT_MEMBER, "node %llu at %s is not a member of the raft configuration",
                    (unsigned long long)c->id, w->address);
        return;
    }
    snprintf(err, sizeof(err), "cannot start reading the bridge");
    if (bridge_open(c, err) != 0 || uv_read_start((uv_stream_t *)&c->bridge, bridge_alloc, bridge_read_in) != 0) {
        FO_WARN(MOD, "from %s: %s", c->peer, err);
        conn_close(c);
        return;
    }
    enforce_peer_cap(c);
    c->pending = false;
    t->st.pending--;
    c->handed = true;
    t->st.open++;
    t->st.accepted++;
    c->last_rx = uv_now(t->loop);
    uv_timer_start(&c->timer, stall_check, t->o.stall_ms / 2, t->o.stall_ms / 2);
    lib = c->lib;
    c->lib = NULL;
    FO_DEBUG(MOD, "accepted node %llu from %s", (unsigned long long)c->id, c->peer);
    t->accept_cb(t->transport, c->id, w->address, (uv_stream_t *)lib);
}

static void in_read(void *data, struct fo_tls_conn *tc, const uint8_t *p, size_t n)
{
    struct conn *c = data;
    enum fo_raft_wire_event ev;
    const uint8_t *out;
    size_t used, out_len;
    char err[FO_ERRLEN];
    int rc;

    (void)tc;
    c->last_rx = uv_now(c->t->loop);
    while (n > 0 && !c->closing) {
        rc = fo_raft_wire_feed(c->wire, p, n, &used, &ev, &out, &out_len, err);
        if (rc != 0) {
            conn_refuse(c, (enum fo_raft_tr_why)(FO_RAFT_TR_FRAME + c->wire->why - 1), "node %llu: %s",
                        (unsigned long long)c->id, err);
            return;
        }
        p += used;
        n -= used;
        if (ev == FO_RAFT_WIRE_HANDSHAKE)
            on_raft_handshake(c);
        else if (ev == FO_RAFT_WIRE_FORWARD && bridge_write(c, out, out_len) != 0)
            conn_close(c);
    }
}

static void in_handshake(void *data, struct fo_tls_conn *tc)
{
    struct conn *c = data;
    struct tr *t = c->t;
    int rc;

    if (t->o.secure && (rc = fo_tls_conn_peer_node_id(tc, &c->id)) != 0) {
        conn_refuse(c, FO_RAFT_TR_NO_NODE_ID, "certificate CN=%s: %s", fo_tls_conn_peer_cn(tc), fo_tls_node_id_why(rc));
        return;
    }
    if ((c->wire = malloc(sizeof(*c->wire))) == NULL) {
        conn_close(c);
        return;
    }
    fo_raft_wire_init(c->wire, &t->o.limits);
}

static void conn_tls_closed(void *data, int status, const char *reason)
{
    struct conn *c = data;

    c->tls = NULL;
    if (!c->closing) {
        /* Failed by itself. Before the handshakes that is a refusal; after, a peer
         * that went away, which libraft learns through the bridge. */
        if (c->pending || (!c->incoming && !c->handed)) {
            enum fo_raft_tr_why why = status == FO_ETIMEDOUT ? FO_RAFT_TR_HANDSHAKE_TIMEOUT : FO_RAFT_TR_TLS;
            if (c->incoming || status == FO_EPERM || status == FO_EPROTO)
                refuse_log(c->t, why, "%s %s: %s", c->incoming ? "from" : "to", c->peer, reason);
            else
                FO_DEBUG(MOD, "to %s: %s", c->peer, reason);
        } else {
            FO_DEBUG(MOD, "%s %s (node %llu) closed: %s", c->incoming ? "from" : "to", c->peer,
                     (unsigned long long)c->id, reason);
        }
        conn_close(c);
    }
    conn_maybe_free(c);
}

static void peer_name(uv_tcp_t *tcp, bool remote, char out[FO_ADDR_LEN])
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?";

    snprintf(out, FO_ADDR_LEN, "?");
    if ((remote ? uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len)
                : uv_tcp_getsockname(tcp, (struct sockaddr *)&ss, &len)) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
        snprintf(out, FO_ADDR_LEN, "%s:%u", ip, ntohs(((struct sockaddr_in *)&ss)->sin_port));
    }
}

static void drop_closed(uv_handle_t *h)
{
    free(h);
}

/* Over the budget for unauthenticated peers: accept (so the kernel's queue drains)
 * and close at once. */
static void drop_connection(struct tr *t, uv_stream_t *server)
{
    uv_tcp_t *tcp = malloc(sizeof(*tcp));
    char peer[FO_ADDR_LEN] = "?";

    if (tcp == NULL) return;
    uv_tcp_init(t->loop, tcp);
    if (uv_accept(server, (uv_stream_t *)tcp) == 0) peer_name(tcp, true, peer);
    uv_close((uv_handle_t *)tcp, drop_closed);
    refuse_log(t, FO_RAFT_TR_PENDING_CAP, "from %s: %u connections are already in their handshake", peer,
               t->st.pending);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct tr *t = server->data;
    struct fo_tls_conn_cbs cbs;
    char err[FO_ERRLEN];
    struct conn *c;

    if (status != 0) {
        FO_WARN(MOD, "accept on %s: %s", t->address, uv_strerror(status));
        return;
    }
    if (t->closing) return;
    if (t->st.pending >= t->o.max_pending) {
        drop_connection(t, server);
        return;
    }
    if ((c = conn_new(t, true)) == NULL) {
        drop_connection(t, server);
        return;
    }
    cbs = (struct fo_tls_conn_cbs){in_handshake, in_read, conn_tls_closed, c};
    if (fo_tls_conn_new(t->o.tls, t->loop, &cbs, &c->tls, err) != 0) {
        FO_WARN(MOD, "incoming connection: %s", err);
        conn_close(c);
        drop_connection(t, server); /* libuv stops listening until a pending connection is accepted */
        return;
    }
    c->pending = true;
    t->st.pending++;
    if (fo_tls_conn_accept(c->tls, server, err) != 0) {
        FO_WARN(MOD, "accept: %s", err);
        conn_close(c);
        return;
    }
    peer_name(fo_tls_conn_tcp(c->tls), true, c->peer);
    uv_timer_start(&c->timer, handshake_deadline, t->o.handshake_ms, 0);
}

/* ------------------------------------------------------------------ outgoing */

static void out_read(void *data, struct fo_tls_conn *tc, const uint8_t *p, size_t n)
{
    struct conn *c = data;

    (void)tc;
    (void)p;
    conn_refuse(c, FO_RAFT_TR_UNEXPECTED_DATA, "node %llu sent %zu bytes on a connection it accepted",
                (unsigned long long)c->id, n);
}

static void out_handshake(void *data, struct fo_tls_conn *tc)
{
    struct conn *c = data;
    struct tr *t = c->t;
    uint8_t hs[FO_RAFT_WIRE_HANDSHAKE_LEN + FO_RAFT_WIRE_MAX_ADDRESS];
    char err[FO_ERRLEN];
    uint64_t got = 0;
    size_t len;
    uv_pipe_t *lib;
    int rc;

    if (t->o.secure) {
        rc = fo_tls_conn_peer_node_id(tc, &got);
        if (rc != 0) {
            conn_refuse(c, FO_RAFT_TR_NO_NODE_ID, "node %llu's certificate CN=%s: %s", (unsigned long long)c->id,
                        fo_tls_conn_peer_cn(tc), fo_tls_node_id_why(rc));
            return;
        }
        if (got != c->id) {
            conn_refuse(c, FO_RAFT_TR_ID_MISMATCH, "dialled node %llu, its certificate names node %llu",
                        (unsigned long long)c->id, (unsigned long long)got);
            return;
        }
    }
    snprintf(err, sizeof(err), "cannot start the connection");
    len = fo_raft_wire_handshake(t->id, t->address, hs);
    if (bridge_open(c, err) != 0 || fo_tls_conn_write(tc, hs, len, NULL, NULL) != 0 ||
        uv_read_start((uv_stream_t *)&c->bridge, bridge_alloc, bridge_read_out) != 0) {
        FO_WARN(MOD, "to %s: %s", c->peer, err);
        conn_close(c);
        return;
    }
    uv_timer_stop(&c->timer);
    c->handed = true;
    t->st.open++;
    t->st.connected++;
    lib = c->lib;
    c->lib = NULL;
    finish_connect(c, (uv_stream_t *)lib, 0);
}

static int tr_connect(struct raft_uv_transport *transport, struct raft_uv_connect *req, raft_id id, const char *address,
                      raft_uv_connect_cb cb)
{
    struct tr *t = transport->impl;
    struct fo_tls_conn_cbs cbs;
    char err[FO_ERRLEN], host[64];
    struct sockaddr_in sa;
    uint16_t port;
    struct conn *c;

    req->cb = cb;
    if (fo_parse_hostport(address, host, sizeof(host), &port, err) != 0 || uv_ip4_addr(host, port, &sa) != 0) {
        snprintf(transport->errmsg, sizeof(transport->errmsg), "bad raft address %s", address);
        return RAFT_NOCONNECTION;
    }
    if ((c = conn_new(t, false)) == NULL) return RAFT_NOMEM;
    c->id = id;
    snprintf(c->peer, sizeof(c->peer), "%s", address);
    cbs = (struct fo_tls_conn_cbs){out_handshake, out_read, conn_tls_closed, c};
    if (fo_tls_conn_new(t->o.tls, t->loop, &cbs, &c->tls, err) != 0) {
        snprintf(transport->errmsg, sizeof(transport->errmsg), "%s", err);
        conn_close(c);
        conn_maybe_free(c);
        return RAFT_NOMEM;
    }
    if (fo_tls_conn_connect(c->tls, (const struct sockaddr *)&sa, NULL, err) != 0) {
        snprintf(transport->errmsg, sizeof(transport->errmsg), "%s", err);
        conn_close(c);
        return RAFT_NOCONNECTION;
    }
    /* Only now may a failure call back (the libuv contract: not when we return an
     * error). */
    c->req = req;
    return 0;
}

/* ------------------------------------------------------------------ init / listen / close */

static int tr_init(struct raft_uv_transport *transport, raft_id id, const char *address)
{
    struct tr *t = transport->impl;

    t->id = id;
    if (snprintf(t->address, sizeof(t->address), "%s", address) >= (int)sizeof(t->address)) return RAFT_INVALID;
    return 0;
}

static int tr_listen(struct raft_uv_transport *transport, raft_uv_accept_cb cb)
{
    struct tr *t = transport->impl;
    char host[64], err[FO_ERRLEN];
    struct sockaddr_in sa;
    uint16_t port;
    int rv;

    t->accept_cb = cb;
    if (fo_parse_hostport(t->address, host, sizeof(host), &port, err) != 0 || uv_ip4_addr(host, port, &sa) != 0) {
        snprintf(transport->errmsg, sizeof(transport->errmsg), "bad raft address %s", t->address);
        return RAFT_INVALID;
    }
    uv_tcp_init(t->loop, &t->listener);
    t->listener.data = t;
    t->listener_open = true;
    if ((rv = uv_tcp_bind(&t->listener, (const struct sockaddr *)&sa, 0)) != 0 ||
        (rv = uv_listen((uv_stream_t *)&t->listener, 128, on_connection)) != 0) {
        snprintf(transport->errmsg, sizeof(transport->errmsg), "listen on %s: %s", t->address, uv_strerror(rv));
        return RAFT_IOERR;
    }
    t->listening = true;
    FO_INFO(MOD, "raft listening on %s (%s)", t->address,
            t->o.secure ? "mutual TLS, controller certificates" : "plain TCP, insecure = yes");
    return 0;
}

static void listener_closed(uv_handle_t *h)
{
    struct tr *t = h->data;

    t->listener_open = false;
    maybe_fire_close(t);
}

static void tr_close(struct raft_uv_transport *transport, raft_uv_transport_close_cb cb)
{
    struct tr *t = transport->impl;
    struct conn *c, *next;

    t->closing = true;
    t->close_cb = cb;
    if (t->listener_open) uv_close((uv_handle_t *)&t->listener, listener_closed);
    for (c = t->conns; c != NULL; c = next) {
        next = c->next;
        conn_close(c);
    }
    maybe_fire_close(t);
}

int fo_raft_transport_init(struct raft_uv_transport *transport, uv_loop_t *loop, const struct fo_raft_transport_opts *o,
                           char err[FO_ERRLEN])
{
    void *data = transport->data;
    struct tr *t;

    if (o->tls == NULL) return fo_errf(err, FO_EINVAL, "raft transport: no TLS context");
    if ((t = calloc(1, sizeof(*t))) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    t->transport = transport;
    t->loop = loop;
    t->o = *o;
    if (t->o.handshake_ms == 0) t->o.handshake_ms = FO_RAFT_TR_HANDSHAKE_MS;
    if (t->o.stall_ms < 2) t->o.stall_ms = FO_RAFT_TR_STALL_MS;
    if (t->o.max_pending == 0) t->o.max_pending = FO_RAFT_TR_MAX_PENDING;
    if (t->o.max_per_peer == 0) t->o.max_per_peer = FO_RAFT_TR_MAX_PER_PEER;
    if (t->o.limits.max_header == 0) t->o.limits.max_header = FO_RAFT_WIRE_MAX_HEADER;
    if (t->o.limits.max_entries == 0) t->o.limits.max_entries = FO_RAFT_WIRE_DEFAULT_MAX_ENTRIES;
    if (t->o.limits.max_payload == 0) t->o.limits.max_payload = FO_RAFT_WIRE_DEFAULT_MAX_PAYLOAD;
    memset(transport, 0, sizeof(*transport));
    transport->version = 1;
    transport->data = data;
    transport->impl = t;
    transport->init = tr_init;
    transport->listen = tr_listen;
    transport->connect = tr_connect;
    transport->close = tr_close;
    return 0;
}

void fo_raft_transport_free(struct raft_uv_transport *transport)
{
    free(transport->impl);
    transport->impl = NULL;
}

const struct fo_raft_transport_stats *fo_raft_transport_stats(const struct raft_uv_transport *transport)
{
    const struct tr *t = transport->impl;

    return &t->st;
}

void fo_raft_transport_metrics(const struct raft_uv_transport *transport, struct fo_buf *b)
{
    const struct tr *t = transport->impl;
    struct fo_prom_label l;
    unsigned i;

    if (t == NULL) return;
    fo_prom_family(b, "failoverd_raft_transport_refused_total", "counter",
                   "Raft connections refused or closed by the transport, by reason.");
    for (i = 0; i < FO_RAFT_TR_N_WHY; i++) {
        l = (struct fo_prom_label){"reason", fo_raft_tr_why_name((enum fo_raft_tr_why)i)};
        fo_prom_value(b, "failoverd_raft_transport_refused_total", &l, 1, (double)t->st.refused[i]);
    }
    fo_prom_family(b, "failoverd_raft_transport_accepted_total", "counter",
                   "Incoming raft connections authenticated and handed to libraft.");
    fo_prom_value(b, "failoverd_raft_transport_accepted_total", NULL, 0, (double)t->st.accepted);
    fo_prom_family(b, "failoverd_raft_transport_connected_total", "counter",
                   "Outgoing raft connections authenticated and handed to libraft.");
    fo_prom_value(b, "failoverd_raft_transport_connected_total", NULL, 0, (double)t->st.connected);
    fo_prom_family(b, "failoverd_raft_transport_connections", "gauge", "Raft connections now, by state.");
    l = (struct fo_prom_label){"state", "handshake"};
    fo_prom_value(b, "failoverd_raft_transport_connections", &l, 1, (double)t->st.pending);
    l = (struct fo_prom_label){"state", "open"};
    fo_prom_value(b, "failoverd_raft_transport_connections", &l, 1, (double)t->st.open);
}
