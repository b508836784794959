#include "rpc.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

enum phase { PH_CONNECTING, PH_HANDSHAKE, PH_SENDING, PH_RECEIVING, PH_DONE };

static const char *const phase_what[] = {
    [PH_CONNECTING] = "connecting",
    [PH_HANDSHAKE] = "in the TLS handshake",
    [PH_SENDING] = "sending the request",
    [PH_RECEIVING] = "waiting for the reply",
    [PH_DONE] = "done",
};

/* Reads are chunked; the decoder bounds the total. */
#define READ_CHUNK 65536

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(struct fo_ctl_call *c)
{
    if (c->ssl != NULL) SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

/* Finishes the call with rc and a message prefixed by its address. */
__attribute__((format(printf, 3, 4))) static void finish(struct fo_ctl_call *c, int rc, const char *fmt, ...)
{
    char msg[FO_ERRLEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap); /* truncating a message is harmless */
    va_end(ap);
    fo_errf(c->err, rc, "%s: %s", c->address, msg);
    c->rc = rc;
    c->phase = PH_DONE;
    close_fd(c);
}

static int pack_request(struct fo_ctl_call *c, const Fo__Request *req)
{
    size_t len = fo__request__get_packed_size(req);

    /* The server's request cap; our requests are tiny, so this is a programmer error
     * in spirit, but it is checked rather than asserted. */
    if (len > FO_FRAME_DEFAULT_MAX) return FO_ETOOBIG;
    c->out = malloc(FO_FRAME_HDR + len);
    if (c->out == NULL) return FO_ENOMEM;
    fo_frame_header(c->out, FO_FRAME_REQUEST, (uint32_t)len);
    fo__request__pack(req, c->out + FO_FRAME_HDR);
    c->outlen = FO_FRAME_HDR + len;
    return 0;
}

static int resolve(struct fo_ctl_call *c)
{
    struct addrinfo hints;
    char port[8];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%u", (unsigned)c->port); /* at most 5 digits */
    rc = getaddrinfo(c->host, port, &hints, &c->ais);
    if (rc != 0) {
        c->ais = NULL;
        finish(c, FO_EUNREACHABLE, "cannot resolve '%s': %s", c->host,
               rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return FO_EUNREACHABLE;
    }
    c->ai = c->ais;
    return 0;
}

int fo_ctl_call_init(struct fo_ctl_call *c, const char *address, const Fo__Request *req, struct fo_ctl_tls *tls)
{
    char sub[FO_ERRLEN];
    int rc;

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->tls_ctx = tls;
    c->phase = PH_CONNECTING;
    c->events = POLLOUT;
    fo_frame_decoder_init(&c->dec, FO_FRAME_RESPONSE_MAX);
    c->dec_open = 1;
    if (strlen(address) >= sizeof(c->address)) {
        snprintf(c->address, sizeof(c->address), "%.*s...", (int)sizeof(c->address) - 4, address);
        finish(c, FO_EINVAL, "address too long");
        return FO_EINVAL;
    }
    memcpy(c->address, address, strlen(address) + 1); /* length checked above */
    if (fo_parse_hostport(address, c->host, sizeof(c->host), &c->port, sub) != 0) {
        finish(c, FO_EINVAL, "bad address: %s", sub);
        return FO_EINVAL;
    }
    rc = pack_request(c, req);
    if (rc != 0) {
        finish(c, rc, "cannot build the request: %s", fo_strerror(rc));
        return rc;
    }
    return resolve(c);
}

/* Starts a connect to c->ai or, if that fails at once, to the next address. */
static void connect_next(struct fo_ctl_call *c, int last_errno)
{
    for (; c->ai != NULL; c->ai = c->ai->ai_next) {
        c->fd = socket(c->ai->ai_family, c->ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, c->ai->ai_protocol);
        if (c->fd < 0) {
            last_errno = errno;
            continue;
        }
        /* One small request, one reply, a handshake of small flights: no Nagle delay. */
        (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
        if (connect(c->fd, c->ai->ai_addr, c->ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            c->phase = PH_CONNECTING;
            c->events = POLLOUT;
            return;
        }
        last_errno = errno;
        close_fd(c);
    }
    finish(c, FO_EUNREACHABLE, "cannot connect: %s", strerror(last_errno));
}

/* Fails the call after a TLS call returned r <= 0, unless OpenSSL only waits for the
 * socket: then poll() is told which way. */
static void tls_wait_or_fail(struct fo_ctl_call *c, int r, const char *during)
{
    int saved = errno, e = SSL_get_error(c->ssl, r), rc;
    char msg[FO_ERRLEN];

    if (e == SSL_ERROR_WANT_READ) {
        c->events = POLLIN;
        return;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        c->events = POLLOUT;
        return;
    }
    rc = fo_ctl_tls_error(&c->peer, c->phase == PH_HANDSHAKE, e, saved, msg, sizeof(msg));
    finish(c, rc, "%s: %s", during, msg);
}

static void step_sending(struct fo_ctl_call *c);

/* TCP is up: with TLS, the handshake verifies the controller against the IP address
 * actually dialled. */
static void start_tls(struct fo_ctl_call *c)
{
    char sub[FO_ERRLEN];
    int rc;

    rc = getnameinfo(c->ai->ai_addr, c->ai->ai_addrlen, c->peer.ip, sizeof(c->peer.ip), NULL, 0, NI_NUMERICHOST);
    if (rc != 0) {
        finish(c, FO_EINVAL, "cannot name the address dialled: %s", gai_strerror(rc));
        return;
    }
    c->ssl = fo_ctl_tls_session(c->tls_ctx, c->fd, &c->peer, sub);
    if (c->ssl == NULL) {
        finish(c, FO_EPROTO, "%s", sub);
        return;
    }
    c->phase = PH_HANDSHAKE;
    c->events = POLLOUT;
}

static void step_handshake(struct fo_ctl_call *c)
{
    int r;

    ERR_clear_error();
    r = SSL_connect(c->ssl);
    if (r != 1) {
        tls_wait_or_fail(c, r, "TLS handshake");
        return;
    }
    c->phase = PH_SENDING;
    step_sending(c);
}

static void step_connecting(struct fo_ctl_call *c)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = errno;
    if (soerr == EINPROGRESS) return;
    if (soerr != 0) {
        close_fd(c);
        c->ai = c->ai->ai_next;
        connect_next(c, soerr);
        return;
    }
    if (c->tls_ctx == NULL) {
        c->phase = PH_SENDING;
        c->events = POLLOUT;
        return;
    }
    start_tls(c);
    if (c->phase == PH_HANDSHAKE) step_handshake(c);
}

static void step_sending(struct fo_ctl_call *c)
{
    ssize_t n;
    int r;

    /* From the first write attempt on, the controller may have the request. */
    c->request_sent = 1;
    if (c->ssl != NULL) {
        ERR_clear_error();
        r = SSL_write(c->ssl, c->out + c->sent, (int)(c->outlen - c->sent));
        if (r <= 0) {
            tls_wait_or_fail(c, r, "sending the request");
            return;
        }
        n = r;
    } else {
        n = send(c->fd, c->out + c->sent, c->outlen - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            finish(c, FO_EIO, "sending the request: %s", strerror(errno));
            return;
        }
    }
    c->sent += (size_t)n;
    c->events = POLLOUT;
    if (c->sent == c->outlen) {
        c->phase = PH_RECEIVING;
        c->events = POLLIN;
    }
}

/* Called when a whole frame is buffered: it must be a response that unpacks. */
static void take_frame(struct fo_ctl_call *c, const struct fo_frame *f)
{
    if (f->type != FO_FRAME_RESPONSE) {
        finish(c, FO_EPROTO, "bad reply: frame type %u is not a response", (unsigned)f->type);
        return;
    }
    c->resp = fo__response__unpack(NULL, f->len, f->payload);
    if (c->resp == NULL) {
        finish(c, FO_EPROTO, "bad reply: undecodable response (%zu bytes)", f->len);
        return;
    }
    c->rc = 0;
    c->phase = PH_DONE;
    /* A close_notify tells the controller the end is deliberate; never waited for. */
    if (c->ssl != NULL) SSL_shutdown(c->ssl);
    ERR_clear_error();
    close_fd(c);
}

/* Feeds n received bytes to the decoder and takes the reply once it is whole. */
static void take_bytes(struct fo_ctl_call *c, const uint8_t *bytes, size_t n)
{
    char sub[FO_ERRLEN];
    struct fo_frame f;
    int rc;

    rc = fo_frame_decoder_feed(&c->dec, bytes, n);
    if (rc != 0) {
        /* The decoder checks each header as it arrives and says why in dec.err. */
        finish(c, rc == FO_ENOMEM ? FO_ENOMEM : FO_EPROTO, "bad reply: %s",
               c->dec.err[0] != '\0' ? c->dec.err : fo_strerror(rc));
        return;
    }
    rc = fo_frame_decoder_next(&c->dec, &f, sub);
    if (rc == 0)
        take_frame(c, &f);
    else if (rc != FO_EAGAIN)
        finish(c, FO_EPROTO, "bad reply: %s", sub);
}

/* TLS: OpenSSL may hold decrypted bytes poll() cannot see, so read until it wants
 * the socket again. */
static void receive_tls(struct fo_ctl_call *c)
{
    uint8_t chunk[READ_CHUNK];
    int r;

    while (c->phase == PH_RECEIVING) {
        ERR_clear_error();
        r = SSL_read(c->ssl, chunk, sizeof(chunk));
        if (r <= 0) {
            if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN) {
                finish(c, FO_ECLOSED, "connection closed before a full reply");
                return;
            }
            tls_wait_or_fail(c, r, "reading the reply");
            return;
        }
        take_bytes(c, chunk, (size_t)r);
    }
}

static void step_receiving(struct fo_ctl_call *c)
{
    uint8_t chunk[READ_CHUNK];
    ssize_t n;

    if (c->ssl != NULL) {
        receive_tls(c);
        return;
    }
    n = recv(c->fd, chunk, sizeof(chunk), 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        finish(c, FO_EIO, "reading the reply: %s", strerror(errno));
        return;
    }
    if (n == 0) {
        /* A controller that requires TLS reads our plain frame as a failed handshake. */
        finish(c, FO_ECLOSED, "connection closed before a full reply%s",
               c->received == 0 ? " (if the controller requires TLS, give --ca, --cert and --key, not --insecure)"
                                : "");
        return;
    }
    c->received += (size_t)n;
    take_bytes(c, chunk, (size_t)n);
}

static void step(struct fo_ctl_call *c)
{
    switch (c->phase) {
    case PH_CONNECTING: step_connecting(c); break;
    case PH_HANDSHAKE: step_handshake(c); break;
    case PH_SENDING: step_sending(c); break;
    case PH_RECEIVING: step_receiving(c); break;
    default: break;
    }
}

/* Fills fds with the calls still running; returns how many. map[i] is the call of fds[i]. */
static size_t collect(struct fo_ctl_call *calls, size_t n, struct pollfd *fds, size_t *map)
{
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        if (calls[i].phase == PH_DONE) continue;
        fds[k].fd = calls[i].fd;
        fds[k].events = calls[i].events;
        fds[k].revents = 0;
        map[k++] = i;
    }
    return k;
}

static void expire(struct fo_ctl_call *calls, size_t n, unsigned timeout_ms)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (calls[i].phase != PH_DONE)
            finish(&calls[i], FO_ETIMEDOUT, "timed out after %u ms %s", timeout_ms, phase_what[calls[i].phase]);
    }
}

static int connecting(const struct fo_ctl_call *c)
{
    return c->phase == PH_CONNECTING || c->phase == PH_HANDSHAKE;
}

/* Ends the calls whose connect bound has passed at now; returns the poll timeout
 * (ms) until the overall deadline or the next connect bound, whichever is first. */
static int64_t expire_connects(struct fo_ctl_call *calls, size_t n, int64_t start, int64_t now, int64_t deadline)
{
    int64_t wait = deadline - now, end;
    size_t i;

    for (i = 0; i < n; i++) {
        if (!connecting(&calls[i]) || calls[i].connect_timeout_ms == 0) continue;
        end = start + calls[i].connect_timeout_ms;
        if (end <= now)
            finish(&calls[i], FO_ETIMEDOUT, "no connection within %u ms (%s)", calls[i].connect_timeout_ms,
                   phase_what[calls[i].phase]);
        else if (end - now < wait)
            wait = end - now;
    }
    return wait;
}

void fo_ctl_rpc_run(struct fo_ctl_call *calls, size_t n, unsigned timeout_ms)
{
    int64_t start = now_ms(), deadline = start + timeout_ms, left, now;
    struct sigaction ign, old;
    struct pollfd *fds;
    size_t *map, i, k;

    /* OpenSSL writes to the socket with write(), which raises SIGPIPE on a socket the
     * controller closed; the call reports the error instead. Restored afterwards so
     * that printing to a closed pipe still ends failoverctl quietly. */
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old);
    fds = calloc(n ? n : 1, sizeof(*fds));
    map = calloc(n ? n : 1, sizeof(*map));
    for (i = 0; i < n; i++) {
        if (calls[i].phase == PH_DONE) continue;
        if (fds == NULL || map == NULL)
            finish(&calls[i], FO_ENOMEM, "out of memory");
        else if (calls[i].fd < 0)
            connect_next(&calls[i], ECONNREFUSED);
    }
    while (fds != NULL && map != NULL) {
        now = now_ms();
        if (deadline - now <= 0) {
            expire(calls, n, timeout_ms);
            break;
        }
        left = expire_connects(calls, n, start, now, deadline);
        if ((k = collect(calls, n, fds, map)) == 0) break;
        if (poll(fds, k, (int)left) < 0 && errno != EINTR) {
            int saved = errno;

            for (i = 0; i < k; i++) finish(&calls[map[i]], FO_EIO, "poll: %s", strerror(saved));
            break;
        }
        for (i = 0; i < k; i++) {
            if (fds[i].revents != 0) step(&calls[map[i]]);
        }
    }
    free(fds);
    free(map);
    sigaction(SIGPIPE, &old, NULL);
}

void fo_ctl_call_free(struct fo_ctl_call *c)
{
    close_fd(c);
    if (c->ais != NULL) freeaddrinfo(c->ais);
    c->ais = NULL;
    c->ai = NULL;
    free(c->out);
    c->out = NULL;
    if (c->resp != NULL) fo__response__free_unpacked(c->resp, NULL);
    c->resp = NULL;
    if (c->dec_open) fo_frame_decoder_close(&c->dec);
    c->dec_open = 0;
}
