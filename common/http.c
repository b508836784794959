/* Embedded HTTP server: libmicrohttpd driven by the caller's libuv loop (see http.h).
 *
 * MHD runs in "external polling" epoll mode: it owns an epoll fd holding the listen
 * socket and every connection, and never blocks. We watch that epoll fd with a uv_poll
 * and call MHD_run() when it turns readable; after every run we re-arm a uv_timer from
 * MHD_get_timeout(), which MHD requires both for idle-connection timeouts and for work
 * it has already read but not yet processed (it then asks for a 0 ms timeout). */
#include "common/http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define DEFAULT_CONTENT_TYPE "text/plain; charset=utf-8"

struct fo_http {
    struct MHD_Daemon *daemon;
    uv_poll_t poll;   /* readable when MHD's epoll set has events */
    uv_timer_t timer; /* MHD_get_timeout() deadline */
    unsigned handles; /* initialised uv handles not yet closed */
    fo_http_handler_cb cb;
    void *data;
    uint16_t port;
    int in_run;   /* inside MHD_run(): the daemon must not be stopped now */
    int stopping; /* fo_http_stop() was called */
    fo_http_closed_cb closed_cb;
    void *closed_data;
    char *start_err; /* during MHD_start_daemon(): where MHD's first complaint goes */
};

/* ---- address parsing ---------------------------------------------------------- */

/* Parses "a.b.c.d:port" (DESIGN.md §8: an HTTP listener on every node). Only an IPv4
 * literal is accepted: resolving a name would block the loop (STYLE.md §8). */
static int parse_addr(const char *addr, struct sockaddr_in *sa, char err[FO_ERRLEN])
{
    char host[INET_ADDRSTRLEN];
    const char *colon;
    unsigned long port;
    char *end;
    size_t hlen;

    if (addr == NULL) return fo_errf(err, FO_EINVAL, "http: no listen address given");
    colon = strrchr(addr, ':');
    if (colon == NULL) goto bad_form;
    hlen = (size_t)(colon - addr);
    if (hlen == 0 || hlen >= sizeof(host)) goto bad_form;
    memcpy(host, addr, hlen);
    host[hlen] = '\0';
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return fo_errf(err, FO_EINVAL,
                       "http: \"%s\" in listen address \"%s\" is not an IPv4 "
                       "address",
                       host, addr);
    if (!isdigit((unsigned char)colon[1])) goto bad_port;
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port > 65535) goto bad_port;
    sa->sin_port = htons((uint16_t)port);
    return 0;
bad_form:
    return fo_errf(err, FO_EINVAL, "http: listen address \"%s\" is not IPv4:port", addr);
bad_port:
    return fo_errf(err, FO_EINVAL, "http: bad port in listen address \"%s\" (want 0-65535)", addr);
}

/* ---- responses ---------------------------------------------------------------- */

/* Queues a response whose body MHD copies, so callers may free theirs at once. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body, size_t len,
                             const char *content_type, const char *allow)
{
    struct MHD_Response *r;
    enum MHD_Result ok;

    if (len == 0)
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    else
        r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) return MHD_NO; /* out of memory: MHD drops the connection */
    ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type ? content_type : DEFAULT_CONTENT_TYPE);
    if (ok == MHD_YES && allow != NULL) ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    if (ok == MHD_YES) ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text, const char *allow)
{
    return reply(c, status, text, strlen(text), NULL, allow);
}

/* The request carries a body if it is chunked or declares a non-zero length. */
static int has_body(struct MHD_Connection *c)
{
    const char *cl, *te;
    unsigned long long n;
    char *end;

    te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te != NULL) return 1;
    cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl == NULL) return 0;
    errno = 0;
    n = strtoull(cl, &end, 10);
    return errno != 0 || end == cl || *end != '\0' || n != 0;
}

/* Runs the user's handler and turns its fo_buf into the response. */
static enum MHD_Result reply_from_handler(struct fo_http *h, struct MHD_Connection *c, const char *url)
{
    const char *content_type = NULL;
    enum MHD_Result ok;
    struct fo_buf body;
    int status;

    fo_buf_init(&body);
    status = h->cb(h->data, url, &body, &content_type);
    if (body.oom) {
        FO_WARN("http", "out of memory rendering %s", url);
        ok = reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
    } else if (status < 100 || status > 599) {
        FO_ERROR("http", "handler returned invalid status %d for %s", status, url);
        ok = reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", NULL);
    } else {
        ok = reply(c, (unsigned)status, body.p, body.len, content_type, NULL);
    }
    fo_buf_free(&body);
    return ok;
}

/* Per-request state kept in MHD's *con_cls. The addresses matter, not the values. */
static const char headers_seen_mark, answered_mark;

/* MHD's access handler. MHD calls it first when the headers are in, then (for a
 * request without a body) once more to fetch the response. Refusals are queued on
 * the first call, before any body is read, so a request body is never buffered;
 * MHD then closes that connection. Normal answers wait for the second call: answering
 * on the first one would make MHD drop keep-alive for every request. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct fo_http *h = cls;

    if (*con_cls == NULL) {
        *con_cls = (void *)&answered_mark;
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
            return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "GET, HEAD");
        if (has_body(c)) return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body not allowed\n", NULL);
        *con_cls = (void *)&headers_seen_mark;
        return MHD_YES;
    }
    if (*upload_data_size != 0 || *con_cls == &answered_mark) {
        *upload_data_size = 0; /* discard: nothing more to say about this request */
        return MHD_YES;
    }
    *con_cls = (void *)&answered_mark;
    return reply_from_handler(h, c, url);
}

/* MHD's logger. While the daemon starts, the first message is kept for the caller's
 * err (it carries the bind failure reason); afterwards messages go to our log. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct fo_http *h = cls;
    char msg[FO_ERRLEN];
    size_t n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    if (h->start_err != NULL) {
        if (h->start_err[0] == '\0') snprintf(h->start_err, FO_ERRLEN, "%s", msg);
        return;
    }
    /* Almost everything MHD reports at run time is caused by a client (malformed
     * requests, resets), so it stays at debug level lest a peer flood the log. */
    FO_DEBUG("http", "libmicrohttpd: %s", msg);
}

/* ---- driving MHD from the loop ------------------------------------------------ */

static void on_timer(uv_timer_t *t);
static void stop_now(struct fo_http *h);

/* Honours MHD_get_timeout(): MHD_NO means nothing is pending and no connection has
 * an idle timeout to enforce, so the timer can rest. */
static void rearm(struct fo_http *h)
{
    MHD_UNSIGNED_LONG_LONG ms;

    if (MHD_get_timeout(h->daemon, &ms) == MHD_YES)
        uv_timer_start(&h->timer, on_timer, ms, 0);
    else
        uv_timer_stop(&h->timer);
}

static unsigned connections(struct fo_http *h)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

    return info != NULL ? info->num_connections : 0;
}

/* One MHD_run(). A stop requested from inside a handler is carried out here, once
 * MHD is no longer on the stack. */
static void run(struct fo_http *h)
{
    unsigned before = connections(h);

    h->in_run = 1;
    if (MHD_run(h->daemon) != MHD_YES) FO_DEBUG("http", "MHD_run reported an error");
    h->in_run = 0;
    if (h->stopping) {
        stop_now(h);
        return;
    }
    /* At the connection limit (or after accept() ran out of fds) MHD takes its listen
     * socket out of its epoll set and only puts it back at the start of a later
     * MHD_run(), without asking for one through MHD_get_timeout(). So run again at
     * once whenever connections went away, or clients waiting in the backlog would
     * wait for some unrelated event (up to the idle timeout). */
    if (connections(h) < before)
        uv_timer_start(&h->timer, on_timer, 0, 0);
    else
        rearm(h);
}

static void on_timer(uv_timer_t *t)
{
    run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    if (status < 0) FO_WARN("http", "polling libmicrohttpd: %s", uv_strerror(status));
    run(p->data);
}

static void on_closed(uv_handle_t *handle)
{
    struct fo_http *h = handle->data;
    fo_http_closed_cb cb;
    void *data;

    assert(h->handles > 0);
    if (--h->handles > 0) return;
    cb = h->closed_cb;
    data = h->closed_data;
    free(h);
    if (cb != NULL) cb(data);
}

/* Closes whichever uv handles were initialised; h is freed by the last close_cb. */
static void close_handles(struct fo_http *h)
{
    unsigned n = h->handles;

    uv_close((uv_handle_t *)&h->poll, on_closed);
    if (n == 2) uv_close((uv_handle_t *)&h->timer, on_closed);
}

static void stop_now(struct fo_http *h)
{
    /* The poll must leave libuv's epoll set before MHD closes the fd it watches. */
    uv_poll_stop(&h->poll);
    uv_timer_stop(&h->timer);
    MHD_stop_daemon(h->daemon);
    h->daemon = NULL;
    close_handles(h);
}

/* ---- start / stop ------------------------------------------------------------- */

static int start_daemon(struct fo_http *h, const struct sockaddr_in *sa, const char *addr,
                        const struct fo_http_limits *lim, char err[FO_ERRLEN])
{
    char mhd_err[FO_ERRLEN] = "";
    const union MHD_DaemonInfo *info;
    int saved_errno;

    h->start_err = mhd_err;
    errno = 0;
    /* No MHD_USE_*_THREAD flag: MHD must never run outside the loop thread. The port
     * argument only feeds MHD's messages; the address comes from MHD_OPTION_SOCK_ADDR. */
    h->daemon =
        MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, ntohs(sa->sin_port), NULL, NULL, on_request, h,
                         MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)sa,
                         MHD_OPTION_CONNECTION_LIMIT, lim->max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                         lim->max_per_source, MHD_OPTION_CONNECTION_TIMEOUT, lim->timeout_s, MHD_OPTION_END);
    saved_errno = errno;
    h->start_err = NULL;
    if (h->daemon == NULL)
        return fo_errf(err, FO_EIO, "http: cannot listen on %s: %s", addr,
                       mhd_err[0]    ? mhd_err
                       : saved_errno ? strerror(saved_errno)
                                     : "libmicrohttpd failed to start");
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL || info->port == 0) {
        MHD_stop_daemon(h->daemon);
        return fo_errf(err, FO_EIO, "http: cannot read the bound port of %s", addr);
    }
    h->port = info->port;
    return 0;
}

static int epoll_fd(struct fo_http *h)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);

    return info != NULL ? info->epoll_fd : -1;
}

int fo_http_start(struct fo_http **out, uv_loop_t *loop, const char *addr, fo_http_handler_cb cb, void *data,
                  char err[FO_ERRLEN])
{
    struct fo_http_limits lim = FO_HTTP_DEFAULT_LIMITS;

    return fo_http_start_limited(out, loop, addr, &lim, cb, data, err);
}

static int check_limits(const struct fo_http_limits *lim, char err[FO_ERRLEN])
{
    if (lim->max_conns < 2 || lim->max_per_source < 1 || lim->max_per_source > lim->max_conns || lim->timeout_s < 1 ||
        lim->timeout_s > 3600)
        return fo_errf(err, FO_EINVAL,
                       "http: limits out of range (max_conns %u >= 2, max_per_source %u in 1..max_conns, timeout_s %u "
                       "in 1..3600)",
                       lim->max_conns, lim->max_per_source, lim->timeout_s);
    return 0;
}

int fo_http_start_limited(struct fo_http **out, uv_loop_t *loop, const char *addr, const struct fo_http_limits *lim,
                          fo_http_handler_cb cb, void *data, char err[FO_ERRLEN])
{
    struct sockaddr_in sa;
    struct fo_http *h;
    int rc, fd;

    rc = parse_addr(addr, &sa, err);
    if (rc != 0) return rc;
    if ((rc = check_limits(lim, err)) != 0) return rc;
    h = calloc(1, sizeof(*h));
    if (h == NULL) return fo_errf(err, FO_ENOMEM, "http: out of memory");
    h->cb = cb;
    h->data = data;
    h->poll.data = h;
    h->timer.data = h;
    rc = start_daemon(h, &sa, addr, lim, err);
    if (rc != 0) goto err_after_alloc;
    fd = epoll_fd(h);
    rc = fd < 0 ? UV_EBADF : uv_poll_init(loop, &h->poll, fd);
    if (rc != 0) goto err_after_daemon;
    h->handles = 1;
    rc = uv_timer_init(loop, &h->timer);
    if (rc != 0) goto err_after_poll;
    h->handles = 2;
    rc = uv_poll_start(&h->poll, UV_READABLE, on_poll);
    if (rc != 0) goto err_after_poll;
    rearm(h);
    *out = h;
    return 0;

err_after_poll:
    /* Handles are initialised: h now belongs to the loop and is freed in on_closed,
     * with no callback to the caller (closed_cb is NULL). */
    fo_errf(err, FO_EIO, "http: cannot watch libmicrohttpd on %s: %s", addr, uv_strerror(rc));
    MHD_stop_daemon(h->daemon);
    close_handles(h);
    return FO_EIO;
err_after_daemon:
    fo_errf(err, FO_EIO, "http: cannot watch libmicrohttpd on %s: %s", addr, uv_strerror(rc));
    MHD_stop_daemon(h->daemon);
    rc = FO_EIO;
err_after_alloc:
    free(h);
    return rc;
}

uint16_t fo_http_port(const struct fo_http *h)
{
    return h->port;
}

void fo_http_stop(struct fo_http *h, fo_http_closed_cb closed_cb, void *data)
{
    assert(!h->stopping); /* stopping twice is a programmer error */
    h->stopping = 1;
    h->closed_cb = closed_cb;
    h->closed_data = data;
    if (h->in_run) return; /* called from our handler: run() stops once MHD_run returns */
    stop_now(h);
}
