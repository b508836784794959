#include "controller/prober.h"

#include <arpa/inet.h>
#include <mysql.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum phase { PH_IDLE, PH_RESOLVE, PH_CONNECT, PH_Q1, PH_STORE1, PH_Q2, PH_STORE2 };

/* One MySQL connection and the poll handle watching its socket. It outlives the
 * probe's interest in it until the poll handle's close callback fires. */
struct conn {
    uv_poll_t poll;
    MYSQL *m;
    bool poll_inited;
    bool connected;
};

struct resolve {
    uv_getaddrinfo_t req;
    struct fo_probe *p; /* NULL once the probe stopped caring (timeout / close) */
};

struct fo_probe {
    uv_loop_t *loop;
    uv_timer_t timer;     /* interval wait in PH_IDLE, deadline otherwise */
    uv_timer_t lib_timer; /* Connector/C's own MYSQL_WAIT_TIMEOUT requests */
    struct resolve *resolve;
    struct conn *conn;
    enum phase phase;
    char host[FO_HOST_LEN];
    char addr[INET6_ADDRSTRLEN];
    uint16_t port;
    char user[FO_NAME_LEN];
    char password[256];
    bool reconnect;
    struct fo_probe_opts opts;
    fo_probe_report_cb cb;
    void *data;
    unsigned failures;
    uint64_t start_ns;
    uint64_t start_ms;
    bool closing;
    unsigned open_handles;
    struct fo_sample sample;
};

static void begin_attempt(struct fo_probe *p);
static void lib_timer_cb(uv_timer_t *t);
static void poll_cb(uv_poll_t *h, int status, int events);
static void finish_phase(struct fo_probe *p, int ok_code, MYSQL_RES *res);
static void run_query(struct fo_probe *p, enum phase ph, const char *q);

/* ------------------------------------------------------------------ lifetime */

static void maybe_free(struct fo_probe *p)
{
    if (p->closing && p->open_handles == 0 && p->resolve == NULL) {
        memset(p->password, 0, sizeof(p->password));
        free(p);
    }
}

static void handle_closed(uv_handle_t *h)
{
    struct fo_probe *p = h->data;

    p->open_handles--;
    maybe_free(p);
}

static void conn_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Drops the connection. The socket is shut down first so that mysql_close's
 * COM_QUIT cannot block on a hung peer; the poll handle is closed (and so removed
 * from epoll) before the descriptor is. */
static void drop_conn(struct fo_probe *p)
{
    struct conn *c = p->conn;
    int fd;

    if (c == NULL) return;
    p->conn = NULL;
    uv_timer_stop(&p->lib_timer);
    fd = mysql_get_socket(c->m);
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
    if (c->poll_inited) {
        c->poll.data = c;
        uv_close((uv_handle_t *)&c->poll, conn_closed);
        mysql_close(c->m);
        return;
    }
    mysql_close(c->m);
    free(c);
}

/* ------------------------------------------------------------------ scheduling */

static void arm_timer(struct fo_probe *p, uint64_t ms);

static void schedule_next(struct fo_probe *p)
{
    uint64_t elapsed = uv_now(p->loop) - p->start_ms;
    uint64_t wait = p->opts.interval_ms;
    unsigned extra;

    if (p->failures >= p->opts.down_after && p->failures > 0) {
        /* Backoff once the instance is DOWN: interval * 2^k, capped. */
        extra = p->failures - p->opts.down_after + 1;
        while (extra-- > 0 && wait < FO_PROBE_MAX_BACKOFF_MS) wait *= 2;
        if (wait > FO_PROBE_MAX_BACKOFF_MS) wait = FO_PROBE_MAX_BACKOFF_MS;
        if (wait < p->opts.interval_ms) wait = p->opts.interval_ms;
    }
    p->phase = PH_IDLE;
    arm_timer(p, wait > elapsed ? wait - elapsed : 0);
}

static void report(struct fo_probe *p, bool ok, const char *error)
{
    double ms = (double)(uv_hrtime() - p->start_ns) / 1e6;

    p->cb(p->data, p, ok, ok ? &p->sample : NULL, ms, error);
}

static void fail(struct fo_probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct fo_probe *p, const char *fmt, ...)
{
    char msg[FO_PROBE_ERRLEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    drop_conn(p);
    if (p->failures < UINT32_MAX) p->failures++;
    schedule_next(p);
    report(p, false, msg);
}

static void succeed(struct fo_probe *p)
{
    p->failures = 0;
    if (p->conn != NULL && p->conn->poll_inited) uv_poll_stop(&p->conn->poll);
    uv_timer_stop(&p->lib_timer);
    schedule_next(p);
    report(p, true, NULL);
}

/* ------------------------------------------------------------------ result parsing */

static int parse_q1(struct fo_probe *p, MYSQL_RES *res, char err[FO_ERRLEN])
{
    MYSQL_ROW row;
    unsigned n = mysql_num_fields(res);

    if (mysql_num_rows(res) != 1 || (row = mysql_fetch_row(res)) == NULL)
        return fo_errf(err, FO_EPROTO, "expected one row from the variables query");
    return fo_sample_parse_vars(&p->sample, n, (const char *const *)row, err);
}

static int parse_q2(struct fo_probe *p, MYSQL_RES *res, char err[FO_ERRLEN])
{
    const char *names[128];
    MYSQL_FIELD *fields;
    MYSQL_ROW row = NULL;
    unsigned n = mysql_num_fields(res), i;
    my_ulonglong rows = mysql_num_rows(res);

    if (n > 128) return fo_errf(err, FO_EPROTO, "SHOW SLAVE STATUS returned %u columns", n);
    fields = mysql_fetch_fields(res);
    for (i = 0; i < n; i++) names[i] = fields[i].name;
    if (rows > 0) row = mysql_fetch_row(res);
    return fo_sample_parse_slave_status(&p->sample, rows > 0 ? 1 : 0, n, names, (const char *const *)row, err);
}

/* ------------------------------------------------------------------ the state machine */

static void watch(struct fo_probe *p, int status)
{
    int events = 0;

    if (status & MYSQL_WAIT_READ) events |= UV_READABLE;
    if (status & MYSQL_WAIT_WRITE) events |= UV_WRITABLE;
    if (status & MYSQL_WAIT_EXCEPT) events |= UV_PRIORITIZED;
    if (status & MYSQL_WAIT_TIMEOUT)
        uv_timer_start(&p->lib_timer, lib_timer_cb, mysql_get_timeout_value_ms(p->conn->m), 0);
    else
        uv_timer_stop(&p->lib_timer);
    if (!p->conn->poll_inited) {
        if (uv_poll_init(p->loop, &p->conn->poll, mysql_get_socket(p->conn->m)) != 0) {
            fail(p, "cannot watch the connection socket");
            return;
        }
        p->conn->poll_inited = true;
    }
    p->conn->poll.data = p;
    if (events != 0) uv_poll_start(&p->conn->poll, events, poll_cb);
}

static void run_query(struct fo_probe *p, enum phase ph, const char *q)
{
    int err = 0, status;

    p->phase = ph;
    status = mysql_real_query_start(&err, p->conn->m, q, strlen(q));
    if (status == 0)
        finish_phase(p, err, NULL);
    else
        watch(p, status);
}

static void finish_phase(struct fo_probe *p, int ok_code, MYSQL_RES *res)
{
    char err[FO_ERRLEN];
    MYSQL *m = p->conn->m;
    int rc, status;

    switch (p->phase) {
    case PH_CONNECT:
        if (!ok_code) {
            fail(p, "connect: %s", mysql_error(m));
            return;
        }
        p->conn->connected = true;
        arm_timer(p, p->opts.read_timeout_ms);
        run_query(p, PH_Q1, FO_SAMPLE_Q1);
        return;
    case PH_Q1:
    case PH_Q2:
        if (ok_code != 0) {
            fail(p, "query: %s", mysql_error(m));
            return;
        }
        p->phase = p->phase == PH_Q1 ? PH_STORE1 : PH_STORE2;
        status = mysql_store_result_start(&res, m);
        if (status == 0)
            finish_phase(p, 0, res);
        else
            watch(p, status);
        return;
    case PH_STORE1:
    case PH_STORE2:
        if (res == NULL) {
            fail(p, "query: %s", mysql_errno(m) ? mysql_error(m) : "no result set");
            return;
        }
        rc = p->phase == PH_STORE1 ? parse_q1(p, res, err) : parse_q2(p, res, err);
        mysql_free_result(res);
        if (rc != 0) {
            fail(p, "unexpected reply: %s", err);
            return;
        }
        if (p->phase == PH_STORE1)
            run_query(p, PH_Q2, FO_SAMPLE_Q2);
        else
            succeed(p);
        return;
    default: return;
    }
}

static void resume(struct fo_probe *p, int ready)
{
    MYSQL *m = p->conn->m;
    MYSQL *ret = NULL;
    MYSQL_RES *res = NULL;
    int err = 0, status;

    switch (p->phase) {
    case PH_CONNECT:
        status = mysql_real_connect_cont(&ret, m, ready);
        if (status == 0) {
            finish_phase(p, ret != NULL, NULL);
            return;
        }
        break;
    case PH_Q1:
    case PH_Q2:
        status = mysql_real_query_cont(&err, m, ready);
        if (status == 0) {
            finish_phase(p, err, NULL);
            return;
        }
        break;
    case PH_STORE1:
    case PH_STORE2:
        status = mysql_store_result_cont(&res, m, ready);
        if (status == 0) {
            finish_phase(p, 0, res);
            return;
        }
        break;
    default: return;
    }
    watch(p, status);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    struct fo_probe *p = h->data;
    int ready = 0;

    if (p == NULL || p->conn == NULL || &p->conn->poll != h) return;
    if (status < 0) ready = MYSQL_WAIT_READ | MYSQL_WAIT_WRITE; /* let Connector/C see the error */
    if (events & UV_READABLE) ready |= MYSQL_WAIT_READ;
    if (events & UV_WRITABLE) ready |= MYSQL_WAIT_WRITE;
    if (events & UV_PRIORITIZED) ready |= MYSQL_WAIT_EXCEPT;
    resume(p, ready);
}

static void lib_timer_cb(uv_timer_t *t)
{
    struct fo_probe *p = t->data;

    if (p->conn != NULL && p->phase != PH_IDLE) resume(p, MYSQL_WAIT_TIMEOUT);
}

static void connect_to(struct fo_probe *p, const char *addr)
{
    struct conn *c;
    MYSQL *ret = NULL;
    unsigned proto = MYSQL_PROTOCOL_TCP;
    int status;

    snprintf(p->addr, sizeof(p->addr), "%s", addr);
    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->m = mysql_init(NULL)) == NULL) {
        free(c);
        fail(p, "out of memory");
        return;
    }
    mysql_options(c->m, MYSQL_OPT_NONBLOCK, 0);
    mysql_options(c->m, MYSQL_OPT_PROTOCOL, &proto);
    p->conn = c;
    p->phase = PH_CONNECT;
    status = mysql_real_connect_start(&ret, c->m, p->addr, p->user, p->password, NULL, p->port, NULL, 0);
    if (status == 0) {
        finish_phase(p, ret != NULL, NULL);
        return;
    }
    watch(p, status);
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct resolve *r = req->data;
    struct fo_probe *p = r->p;
    char addr[INET6_ADDRSTRLEN] = "";

    if (p != NULL) p->resolve = NULL;
    if (status == 0 && res != NULL) {
        if (res->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, addr, sizeof(addr));
        else if (res->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, addr, sizeof(addr));
    }
    uv_freeaddrinfo(res);
    free(r);
    if (p == NULL) return;
    if (p->closing) {
        maybe_free(p);
        return;
    }
    if (addr[0] == '\0') {
        fail(p, "resolve %s: %s", p->host, status ? uv_strerror(status) : "no address");
        return;
    }
    connect_to(p, addr);
}

static bool is_ip_literal(const char *h)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

static void begin_attempt(struct fo_probe *p)
{
    struct addrinfo hints;
    struct resolve *r;

    p->start_ms = uv_now(p->loop);
    p->start_ns = uv_hrtime();
    memset(&p->sample, 0, sizeof(p->sample));
    if (p->reconnect) {
        p->reconnect = false;
        drop_conn(p);
    }
    if (p->conn != NULL && p->conn->connected) {
        arm_timer(p, p->opts.read_timeout_ms);
        run_query(p, PH_Q1, FO_SAMPLE_Q1);
        return;
    }
    drop_conn(p);
    arm_timer(p, p->opts.connect_timeout_ms);
    if (is_ip_literal(p->host)) {
        connect_to(p, p->host);
        return;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        fail(p, "out of memory");
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    r->p = p;
    r->req.data = r;
    p->phase = PH_RESOLVE;
    if (uv_getaddrinfo(p->loop, &r->req, resolved, p->host, NULL, &hints) != 0) {
        free(r);
        fail(p, "resolve %s: cannot start lookup", p->host);
        return;
    }
    p->resolve = r;
}

static void timer_cb(uv_timer_t *t)
{
    struct fo_probe *p = t->data;
    enum phase ph = p->phase;

    if (ph == PH_IDLE) {
        begin_attempt(p);
        return;
    }
    if (p->resolve != NULL) {
        p->resolve->p = NULL; /* its callback will only free it */
        uv_cancel((uv_req_t *)&p->resolve->req);
        p->resolve = NULL;
    }
    if (ph == PH_RESOLVE || ph == PH_CONNECT)
        fail(p, "connect timeout after %u ms", p->opts.connect_timeout_ms);
    else
        fail(p, "read timeout after %u ms", p->opts.read_timeout_ms);
}

static void arm_timer(struct fo_probe *p, uint64_t ms)
{
    uv_timer_start(&p->timer, timer_cb, ms, 0);
}

/* ------------------------------------------------------------------ public */

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

struct fo_probe *fo_probe_start(uv_loop_t *loop, const char *host, uint16_t port, const char *user,
                                const char *password, const struct fo_probe_opts *opts, fo_probe_report_cb cb,
                                void *data)
{
    struct fo_probe *p = calloc(1, sizeof(*p));

    if (p == NULL) return NULL;
    p->loop = loop;
    copy_str(p->host, sizeof(p->host), host);
    p->port = port;
    copy_str(p->user, sizeof(p->user), user);
    copy_str(p->password, sizeof(p->password), password);
    p->opts = *opts;
    if (p->opts.down_after == 0) p->opts.down_after = 1;
    p->cb = cb;
    p->data = data;
    p->phase = PH_IDLE;
    uv_timer_init(loop, &p->timer);
    uv_timer_init(loop, &p->lib_timer);
    p->timer.data = p;
    p->lib_timer.data = p;
    p->open_handles = 2;
    /* lib_timer's callback is installed when Connector/C asks for a timeout. */
    arm_timer(p, 0);
    return p;
}

void fo_probe_set_credentials(struct fo_probe *p, const char *user, const char *password)
{
    if (strcmp(p->user, user) == 0 && strcmp(p->password, password) == 0) return;
    copy_str(p->user, sizeof(p->user), user);
    copy_str(p->password, sizeof(p->password), password);
    p->reconnect = true;
}

void fo_probe_kick(struct fo_probe *p)
{
    if (p != NULL && !p->closing && p->phase == PH_IDLE) arm_timer(p, 0);
}

void fo_probe_close(struct fo_probe *p)
{
    if (p == NULL || p->closing) return;
    p->closing = true;
    if (p->resolve != NULL) {
        p->resolve->p = NULL;
        uv_cancel((uv_req_t *)&p->resolve->req);
        p->resolve = NULL;
    }
    drop_conn(p);
    uv_close((uv_handle_t *)&p->timer, handle_closed);
    uv_close((uv_handle_t *)&p->lib_timer, handle_closed);
}
