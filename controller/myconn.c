/* A Connector/C non-blocking connection on libuv (see controller/myconn.h). Every
 * operation is a *_start call followed by *_cont calls, each returning either 0
 * (done) or the MYSQL_WAIT_* set Connector/C waits for; settle() turns that into a
 * poll / timer wait or the callback, so each operation is two lines here. */
#include "controller/myconn.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ERRTEXT 128

/* What Connector/C is working on. */
enum op { OP_NONE, OP_RESOLVE, OP_CONNECT, OP_QUERY, OP_STORE, OP_NEXT };

/* A host-name lookup; it outlives the connection if the connection is closed while
 * libuv's thread pool still runs it. */
struct resolve {
    uv_getaddrinfo_t req;
    struct fo_myconn *c; /* NULL once the connection stopped caring (closed) */
};

struct fo_myconn {
    uv_loop_t *loop;
    MYSQL *m;
    uv_poll_t poll;       /* the connection's socket, set up at the first wait */
    uv_timer_t lib_timer; /* Connector/C's own MYSQL_WAIT_TIMEOUT requests */
    bool poll_inited;
    bool connected;
    bool closing;
    unsigned open_handles;
    enum op op;
    fo_myconn_cb cb; /* of the operation in progress */
    void *data;
    fo_myconn_close_cb close_cb;
    struct resolve *resolve;
    int status; /* of the last completed operation */
    char err[ERRTEXT];
    char addr[INET6_ADDRSTRLEN];
    uint16_t port;
    unsigned long client_flags;
    /* user and password, after the struct in the same allocation; wiped on free */
    const char *user, *password;
    size_t creds_len;
};

static void poll_cb(uv_poll_t *h, int status, int events);
static void lib_timer_cb(uv_timer_t *t);

/* ------------------------------------------------------------------ lifetime */

static void handle_closed(uv_handle_t *h)
{
    struct fo_myconn *c = h->data;
    fo_myconn_close_cb cb = c->close_cb;
    void *data = c->data;

    if (--c->open_handles > 0) return;
    explicit_bzero(c + 1, c->creds_len);
    free(c);
    if (cb != NULL) cb(data);
}

struct fo_myconn *fo_myconn_new(uv_loop_t *loop, const char *user, const char *password, void *data)
{
    size_t ulen = strlen(user), plen = password != NULL ? strlen(password) : 0;
    unsigned proto = MYSQL_PROTOCOL_TCP;
    struct fo_myconn *c = calloc(1, sizeof(*c) + ulen + plen + 2);
    char *creds;

    if (c == NULL) return NULL;
    c->m = mysql_init(NULL);
    if (c->m == NULL || mysql_options(c->m, MYSQL_OPT_NONBLOCK, 0) != 0 ||
        mysql_options(c->m, MYSQL_OPT_PROTOCOL, &proto) != 0) {
        if (c->m != NULL) mysql_close(c->m);
        free(c);
        return NULL;
    }
    creds = (char *)(c + 1);
    memcpy(creds, user, ulen + 1);
    memcpy(creds + ulen + 1, password != NULL ? password : "", plen + 1);
    c->user = creds;
    c->password = creds + ulen + 1;
    c->creds_len = ulen + plen + 2;
    c->loop = loop;
    c->data = data;
    uv_timer_init(loop, &c->lib_timer);
    c->lib_timer.data = c;
    c->open_handles = 1;
    return c;
}

void fo_myconn_close(struct fo_myconn *c, fo_myconn_close_cb close_cb)
{
    int fd;

    assert(!c->closing);
    c->closing = true;
    c->close_cb = close_cb;
    c->op = OP_NONE;
    c->cb = NULL;
    if (c->resolve != NULL) {
        c->resolve->c = NULL; /* its callback will only free it */
        uv_cancel((uv_req_t *)&c->resolve->req);
        c->resolve = NULL;
    }
    fd = (int)mysql_get_socket(c->m);
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
    if (c->poll_inited) uv_close((uv_handle_t *)&c->poll, handle_closed);
    uv_close((uv_handle_t *)&c->lib_timer, handle_closed);
    mysql_close(c->m);
    c->m = NULL;
}

MYSQL *fo_myconn_mysql(struct fo_myconn *c)
{
    return c->m;
}

const char *fo_myconn_error(struct fo_myconn *c)
{
    return c->status == FO_EMYSQL ? mysql_error(c->m) : c->err;
}

/* ------------------------------------------------------------------ driving Connector/C */

/* Ends the operation in progress. The callback may start the next operation or
 * close c; c itself is freed only from a close callback, so it is still valid
 * afterwards, when the socket stops being watched if the connection went idle. */
static void complete(struct fo_myconn *c, int status, MYSQL_RES *res)
{
    fo_myconn_cb cb = c->cb;

    if (c->op == OP_CONNECT && status == 0) c->connected = true;
    c->op = OP_NONE;
    c->cb = NULL;
    c->status = status;
    uv_timer_stop(&c->lib_timer);
    cb(c->data, status, res);
    if (!c->closing && c->op == OP_NONE && c->poll_inited) uv_poll_stop(&c->poll);
}

static void fail_op(struct fo_myconn *c, int status, const char *why)
{
    snprintf(c->err, sizeof(c->err), "%s", why);
    complete(c, status, NULL);
}

static void watch(struct fo_myconn *c, int wait)
{
    int events = 0;

    if (wait & MYSQL_WAIT_READ) events |= UV_READABLE;
    if (wait & MYSQL_WAIT_WRITE) events |= UV_WRITABLE;
    if (wait & MYSQL_WAIT_EXCEPT) events |= UV_PRIORITIZED;
    if (wait & MYSQL_WAIT_TIMEOUT)
        uv_timer_start(&c->lib_timer, lib_timer_cb, mysql_get_timeout_value_ms(c->m), 0);
    else
        uv_timer_stop(&c->lib_timer);
    if (!c->poll_inited) {
        if (uv_poll_init(c->loop, &c->poll, (int)mysql_get_socket(c->m)) != 0) {
            fail_op(c, FO_EIO, "cannot watch the connection socket");
            return;
        }
        c->poll.data = c;
        c->poll_inited = true;
        c->open_handles++;
    }
    if (events != 0)
        uv_poll_start(&c->poll, events, poll_cb);
    else
        uv_poll_stop(&c->poll);
}

/* wait: what a *_start / *_cont call returned; status and res: the outcome, valid
 * only when wait is 0. */
static void settle(struct fo_myconn *c, int wait, int status, MYSQL_RES *res)
{
    if (wait != 0)
        watch(c, wait);
    else
        complete(c, status, res);
}

static int next_status(int ret)
{
    return ret > 0 ? FO_EMYSQL : ret < 0 ? FO_ENOTFOUND : 0;
}

/* Resumes the operation in progress with the events that arrived. The outcome is
 * read only after the *_cont call (argument evaluation order is unspecified). */
static void step(struct fo_myconn *c, int ready)
{
    MYSQL *ret = NULL;
    MYSQL_RES *res = NULL;
    int err = 0, wait;

    switch (c->op) {
    case OP_CONNECT:
        wait = mysql_real_connect_cont(&ret, c->m, ready);
        settle(c, wait, ret != NULL ? 0 : FO_EMYSQL, NULL);
        return;
    case OP_QUERY:
        wait = mysql_real_query_cont(&err, c->m, ready);
        settle(c, wait, err != 0 ? FO_EMYSQL : 0, NULL);
        return;
    case OP_STORE:
        wait = mysql_store_result_cont(&res, c->m, ready);
        settle(c, wait, 0, res);
        return;
    case OP_NEXT:
        wait = mysql_next_result_cont(&err, c->m, ready);
        settle(c, wait, next_status(err), NULL);
        return;
    default: return;
    }
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    struct fo_myconn *c = h->data;
    int ready = 0;

    if (c->closing || c->op == OP_NONE) return;
    if (status < 0) ready = MYSQL_WAIT_READ | MYSQL_WAIT_WRITE; /* let Connector/C see the error */
    if (events & UV_READABLE) ready |= MYSQL_WAIT_READ;
    if (events & UV_WRITABLE) ready |= MYSQL_WAIT_WRITE;
    if (events & UV_PRIORITIZED) ready |= MYSQL_WAIT_EXCEPT;
    step(c, ready);
}

static void lib_timer_cb(uv_timer_t *t)
{
    struct fo_myconn *c = t->data;

    if (!c->closing && c->op != OP_NONE) step(c, MYSQL_WAIT_TIMEOUT);
}

/* ------------------------------------------------------------------ operations */

static void begin_op(struct fo_myconn *c, enum op op, fo_myconn_cb cb)
{
    assert(!c->closing && c->op == OP_NONE && cb != NULL);
    assert(op == OP_CONNECT ? !c->connected : c->connected);
    c->op = op;
    c->cb = cb;
    c->err[0] = '\0';
}

static void start_connect(struct fo_myconn *c)
{
    MYSQL *ret = NULL;
    int wait;

    c->op = OP_CONNECT;
    wait = mysql_real_connect_start(&ret, c->m, c->addr, c->user, c->password, NULL, c->port, NULL, c->client_flags);
    settle(c, wait, ret != NULL ? 0 : FO_EMYSQL, NULL);
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct resolve *r = req->data;
    struct fo_myconn *c = r->c;
    char addr[INET6_ADDRSTRLEN] = "";

    if (status == 0 && res != NULL) {
        if (res->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, addr, sizeof(addr));
        else if (res->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, addr, sizeof(addr));
    }
    uv_freeaddrinfo(res);
    free(r);
    if (c == NULL) return;
    c->resolve = NULL;
    if (addr[0] == '\0') {
        fail_op(c, FO_EUNREACHABLE, status != 0 ? uv_strerror(status) : "no address");
        return;
    }
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    start_connect(c);
}

static bool is_ip_literal(const char *h)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

void fo_myconn_connect(struct fo_myconn *c, const char *host, uint16_t port, unsigned long client_flags,
                       fo_myconn_cb cb)
{
    struct addrinfo hints;
    struct resolve *r;

    begin_op(c, OP_CONNECT, cb);
    c->port = port;
    c->client_flags = client_flags;
    if (is_ip_literal(host)) {
        snprintf(c->addr, sizeof(c->addr), "%s", host);
        start_connect(c);
        return;
    }
    c->op = OP_RESOLVE;
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        fail_op(c, FO_ENOMEM, "out of memory");
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    r->c = c;
    r->req.data = r;
    if (uv_getaddrinfo(c->loop, &r->req, resolved, host, NULL, &hints) != 0) {
        free(r);
        fail_op(c, FO_EUNREACHABLE, "cannot start lookup");
        return;
    }
    c->resolve = r;
}

void fo_myconn_query(struct fo_myconn *c, const char *stmt, fo_myconn_cb cb)
{
    int err = 0, wait;

    begin_op(c, OP_QUERY, cb);
    wait = mysql_real_query_start(&err, c->m, stmt, strlen(stmt));
    settle(c, wait, err != 0 ? FO_EMYSQL : 0, NULL);
}

void fo_myconn_store_result(struct fo_myconn *c, fo_myconn_cb cb)
{
    MYSQL_RES *res = NULL;
    int wait;

    begin_op(c, OP_STORE, cb);
    wait = mysql_store_result_start(&res, c->m);
    settle(c, wait, 0, res);
}

void fo_myconn_next_result(struct fo_myconn *c, fo_myconn_cb cb)
{
    int ret = 0, wait;

    begin_op(c, OP_NEXT, cb);
    wait = mysql_next_result_start(&ret, c->m);
    settle(c, wait, next_status(ret), NULL);
}
