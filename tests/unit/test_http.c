/* Unit tests for common/http.c: a real server on 127.0.0.1:0 inside a uv loop, and a
 * client thread speaking raw HTTP over blocking sockets with receive timeouts. Every
 * test also has a loop deadline, so nothing can hang (STYLE.md §14: stop is exercised
 * right after start, with an idle connection, mid-request and from the handler). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include "common/http.h"
#include "fo_test.h"

#define DEADLINE_MS 8000
#define CLIENT_TIMEOUT_S 3
#define RESP_CAP 8192
#define MAX_REQS 32

struct exchange {
    const char *request;
    char resp[RESP_CAP];
    size_t len;
    int closed_by_server; /* recv() saw EOF or a reset, not a timeout */
};

struct ctx {
    uv_loop_t loop;
    uv_async_t async; /* client thread -> loop: "stop the server now" */
    uv_timer_t deadline;
    struct fo_http *h;
    uint16_t port;
    int stop_called;
    int closed_calls;
    int timed_out;
    int handler_calls;
    int stop_in_handler;
    /* Client side, written by the client thread and read after pthread_join. */
    void (*client)(struct ctx *);
    struct exchange ex[MAX_REQS];
    unsigned n_ex;
};

/* ---- server side -------------------------------------------------------------- */

static void on_http_closed(void *data)
{
    struct ctx *c = data;

    c->closed_calls++;
    uv_close((uv_handle_t *)&c->async, NULL);
    uv_close((uv_handle_t *)&c->deadline, NULL);
}

static void stop_server(struct ctx *c)
{
    if (c->stop_called) return;
    c->stop_called = 1;
    fo_http_stop(c->h, on_http_closed, c);
}

static int handler(void *data, const char *url, struct fo_buf *body, const char **content_type)
{
    struct ctx *c = data;

    c->handler_calls++;
    if (strcmp(url, "/metrics") == 0) {
        fo_buf_puts(body, "fo_up 1\n");
        *content_type = "text/plain; version=0.0.4";
        return 200;
    }
    if (strcmp(url, "/stop") == 0 && c->stop_in_handler) {
        stop_server(c);
        fo_buf_puts(body, "bye\n");
        return 200;
    }
    if (strcmp(url, "/empty") == 0) return 204;
    if (strcmp(url, "/bad-status") == 0) return 42;
    fo_buf_puts(body, "not found\n");
    return 404;
}

static void on_async(uv_async_t *a)
{
    stop_server(a->data);
}

static void on_deadline(uv_timer_t *t)
{
    struct ctx *c = t->data;

    c->timed_out = 1;
    if (!c->stop_called)
        stop_server(c);
    else
        uv_stop(&c->loop); /* the stop itself hangs: give up on this loop */
}

/* ---- client side (runs on its own thread, blocking I/O with timeouts) ---------- */

/* Connects from source address 127.0.0.src (1: the default) to 127.0.0.1:port. */
static int client_connect_from(uint16_t port, unsigned src)
{
    struct timeval tv = {CLIENT_TIMEOUT_S, 0};
    struct sockaddr_in sa;
    int fd;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (src != 1) {
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(0x7f000000u | src);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            close(fd);
            return -1;
        }
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int client_connect(uint16_t port)
{
    return client_connect_from(port, 1);
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until EOF, reset or timeout; records whether the server closed. */
static void read_to_end(int fd, struct exchange *e)
{
    for (;;) {
        ssize_t r = recv(fd, e->resp + e->len, RESP_CAP - 1 - e->len, 0);
        if (r > 0 && e->len + (size_t)r < RESP_CAP - 1) {
            e->len += (size_t)r;
            continue;
        }
        if (r > 0) e->len += (size_t)r; /* buffer full: stop */
        e->closed_by_server = r == 0 || (r < 0 && errno == ECONNRESET);
        break;
    }
    e->resp[e->len] = '\0';
}

/* One request on a fresh connection, read to the server's close. */
static void exchange_once(struct ctx *c, struct exchange *e)
{
    int fd = client_connect(c->port);

    if (fd < 0) return;
    if (send_all(fd, e->request, strlen(e->request)) == 0) read_to_end(fd, e);
    close(fd);
}

static void *client_main(void *arg)
{
    struct ctx *c = arg;

    c->client(c);
    return NULL;
}

/* ---- response parsing (tests only) -------------------------------------------- */

struct resp {
    int status;
    const char *head; /* start of the header lines */
    const char *body;
    size_t body_len;
};

static int parse_resp(const struct exchange *e, struct resp *r)
{
    const char *end = strstr(e->resp, "\r\n\r\n");
    char *after;

    memset(r, 0, sizeof(*r));
    if (end == NULL || strncmp(e->resp, "HTTP/1.", 7) != 0 || e->resp[8] != ' ') return -1;
    r->status = (int)strtol(e->resp + 9, &after, 10);
    if (after != e->resp + 12) return -1;
    r->head = strstr(e->resp, "\r\n") + 2;
    r->body = end + 4;
    r->body_len = e->len - (size_t)(r->body - e->resp);
    return 0;
}

/* Finds header `name` (case-insensitive) and copies its value into out. */
static const char *header(const struct resp *r, const char *name, char *out, size_t cap)
{
    const char *line = r->head, *eol;
    size_t n = strlen(name);

    for (; line < r->body - 2; line = eol + 2) {
        eol = strstr(line, "\r\n");
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ') v++;
            snprintf(out, cap, "%.*s", (int)(eol - v), v);
            return out;
        }
    }
    return NULL;
}

/* ---- harness ------------------------------------------------------------------ */

static int setup_limited(struct ctx *c, const char *addr, const struct fo_http_limits *lim);
static int setup(struct ctx *c, const char *addr)
{
    return setup_limited(c, addr, NULL);
}

/* lim NULL: fo_http_start (the default limits). */
static int setup_limited(struct ctx *c, const char *addr, const struct fo_http_limits *lim)
{
    char err[FO_ERRLEN] = "";
    int rc;

    memset(c, 0, sizeof(*c));
    if (uv_loop_init(&c->loop) != 0) return -1;
    rc = lim ? fo_http_start_limited(&c->h, &c->loop, addr, lim, handler, c, err)
             : fo_http_start(&c->h, &c->loop, addr, handler, c, err);
    FO_CHECK_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "  start: %s\n", err);
        uv_run(&c->loop, UV_RUN_DEFAULT);
        uv_loop_close(&c->loop);
        return -1;
    }
    c->port = fo_http_port(c->h);
    FO_CHECK(c->port != 0);
    uv_async_init(&c->loop, &c->async, on_async);
    c->async.data = c;
    uv_timer_init(&c->loop, &c->deadline);
    c->deadline.data = c;
    uv_timer_start(&c->deadline, on_deadline, DEADLINE_MS, 0);
    return 0;
}

/* Runs the loop with the client thread alongside, then checks the shutdown: the
 * closed callback fired exactly once and the loop ended with no handle left. */
static void run_and_finish(struct ctx *c)
{
    pthread_t t;
    int have_thread = c->client != NULL;

    if (have_thread && pthread_create(&t, NULL, client_main, c) != 0) {
        FO_CHECK(!"pthread_create");
        have_thread = 0;
        stop_server(c);
    }
    FO_CHECK_INT(uv_run(&c->loop, UV_RUN_DEFAULT), 0);
    if (have_thread) pthread_join(t, NULL);
    FO_CHECK_INT(c->timed_out, 0);
    FO_CHECK_INT(c->closed_calls, 1);
    if (!c->timed_out) FO_CHECK_INT(uv_loop_close(&c->loop), 0);
}

/* ---- tests -------------------------------------------------------------------- */

static const struct {
    const char *request;
    int status;
    const char *body;  /* NULL: not checked */
    const char *hname; /* header to check, or NULL */
    const char *hvalue;
} req_cases[] = {
    {"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, "fo_up 1\n", "Content-Type",
     "text/plain; version=0.0.4"},
    {"GET /metrics HTTP/1.0\r\n\r\n", 200, "fo_up 1\n", "Content-Length", "8"},
    {"GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404, "not found\n", "Content-Type",
     "text/plain; charset=utf-8"},
    {"GET /empty HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 204, "", NULL, NULL},
    {"GET /bad-status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 500, NULL, NULL, NULL},
    {"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, "", "Content-Type",
     "text/plain; version=0.0.4"},
    {"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", 405, NULL, "Allow",
     "GET, HEAD"},
    {"DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405, NULL, "Allow", "GET, HEAD"},
    {"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", 413, NULL, NULL, NULL},
    {"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
     "\r\n5\r\nhello\r\n0\r\n\r\n",
     413, NULL, NULL, NULL},
    /* Only the headers of a large body are sent: the refusal must not wait for it. */
    {"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n", 413, NULL, NULL, NULL},
    {"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 200, "fo_up 1\n", NULL,
     NULL},
    /* Garbage request lines are answered by libmicrohttpd itself. A lone token is
     * not worth an answer: the connection is simply closed (status 0 below). */
    {"GET / FOO\r\n\r\n", 400, NULL, NULL, NULL},
    {"GET / HTTP/9.9\r\n\r\n", 505, NULL, NULL, NULL},
    {"GET / HTTP/1.1\r\nHost: x\r\nno-colon-header\r\n\r\n", 400, NULL, NULL, NULL},
    {"\x01\x02 / HTTP/1.1\r\nConnection: close\r\n\r\n", 405, NULL, NULL, NULL},
    {"GARBAGE\r\n\r\n", 0, NULL, NULL, NULL},
};
#define N_CASES (sizeof(req_cases) / sizeof(req_cases[0]))
/* Requests that reach the user's handler: GET/HEAD without a body. */
#define HANDLER_CASES 7
_Static_assert(N_CASES <= MAX_REQS, "raise MAX_REQS");

static void client_requests(struct ctx *c)
{
    unsigned i;

    for (i = 0; i < N_CASES; i++) {
        c->ex[i].request = req_cases[i].request;
        exchange_once(c, &c->ex[i]);
    }
    c->n_ex = N_CASES;
    uv_async_send(&c->async);
}

static void test_requests(void)
{
    struct ctx c;
    unsigned i;

    if (setup(&c, "127.0.0.1:0") != 0) return;
    c.client = client_requests;
    run_and_finish(&c);
    FO_CHECK_INT(c.n_ex, N_CASES);
    for (i = 0; i < c.n_ex; i++) {
        char v[256];
        struct resp r;

        if (req_cases[i].status == 0) {
            FO_CHECK(c.ex[i].closed_by_server);
            FO_CHECK_INT(c.ex[i].len, 0);
            continue;
        }
        if (parse_resp(&c.ex[i], &r) != 0) {
            fprintf(stderr, "  case %u: unparsable response \"%s\"\n", i, c.ex[i].resp);
            FO_CHECK(!"parsable response");
            continue;
        }
        if (r.status != req_cases[i].status) fprintf(stderr, "  case %u:\n", i);
        FO_CHECK_INT(r.status, req_cases[i].status);
        FO_CHECK(c.ex[i].closed_by_server);
        if (req_cases[i].body != NULL) {
            FO_CHECK_INT(r.body_len, strlen(req_cases[i].body));
            FO_CHECK_STR(r.body, req_cases[i].body);
        }
        if (req_cases[i].hname != NULL) FO_CHECK_STR(header(&r, req_cases[i].hname, v, sizeof(v)), req_cases[i].hvalue);
    }
    FO_CHECK_INT(c.handler_calls, HANDLER_CASES);
}

static void test_stop_right_after_start(void)
{
    struct ctx c;

    if (setup(&c, "127.0.0.1:0") != 0) return;
    stop_server(&c);
    run_and_finish(&c);
    FO_CHECK_INT(c.handler_calls, 0);
}

/* Sends one keep-alive GET /metrics on fd and reads its response (8-byte body) into e,
 * leaving the connection open. Returns 0 once the whole response is in. */
static int keepalive_get(int fd, struct exchange *e)
{
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    struct resp r;
    ssize_t n;

    if (send_all(fd, req, sizeof(req) - 1) != 0) return -1;
    while (parse_resp(e, &r) != 0 || r.body_len < 8) {
        n = recv(fd, e->resp + e->len, RESP_CAP - 1 - e->len, 0);
        if (n <= 0) return -1;
        e->len += (size_t)n;
        e->resp[e->len] = '\0';
    }
    return 0;
}

/* Keep-alive: one full exchange (kept in ex[1]), then the connection sits idle in MHD
 * while the server stops; the client must see it closed (ex[0]) rather than time out. */
static void client_idle(struct ctx *c)
{
    int fd = client_connect(c->port);

    c->n_ex = 2;
    if (fd >= 0 && keepalive_get(fd, &c->ex[1]) == 0) {
        uv_async_send(&c->async);
        read_to_end(fd, &c->ex[0]);
    } else {
        uv_async_send(&c->async);
    }
    if (fd >= 0) close(fd);
}

static void test_stop_with_idle_connection(void)
{
    struct ctx c;
    struct resp r;
    char v[64];

    if (setup(&c, "127.0.0.1:0") != 0) return;
    c.client = client_idle;
    run_and_finish(&c);
    FO_CHECK_INT(c.handler_calls, 1);
    /* The first answer kept the connection open, so the close came from the stop. */
    FO_CHECK_INT(parse_resp(&c.ex[1], &r), 0);
    FO_CHECK_INT(r.status, 200);
    FO_CHECK(header(&r, "Connection", v, sizeof(v)) == NULL || strcasecmp(v, "close") != 0);
    FO_CHECK(c.ex[0].closed_by_server);
    FO_CHECK_INT(c.ex[0].len, 0);
}

/* 64 kept-alive connections fill the daemon. One more is not served (MHD stops
 * accepting, leaving it in the backlog) until a slot frees up: then it must be, which
 * also shows the listen socket is watched again after the limit. */
#define LIMIT 64
static int held_back(int fd)
{
    struct timeval brief = {0, 200 * 1000}, normal = {CLIENT_TIMEOUT_S, 0};
    char byte;
    ssize_t r;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &brief, sizeof(brief));
    r = recv(fd, &byte, 1, MSG_PEEK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &normal, sizeof(normal));
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void client_limit(struct ctx *c)
{
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    struct exchange *tmp = calloc(1, sizeof(*tmp));
    int fds[LIMIT], extra = -1, i, n = 0;

    for (i = 0; i < LIMIT && tmp != NULL; i++) {
        tmp->len = 0;
        fds[i] = client_connect(c->port);
        if (fds[i] < 0) break;
        n++;
        if (keepalive_get(fds[i], tmp) != 0) break;
    }
    c->n_ex = (unsigned)i; /* connections that were served */
    if (i == LIMIT) extra = client_connect(c->port);
    if (extra >= 0 && send_all(extra, req, sizeof(req) - 1) == 0) {
        c->ex[1].closed_by_server = held_back(extra); /* reused as "was held back" */
        close(fds[0]);
        fds[0] = -1;
        read_to_end(extra, &c->ex[0]);
    }
    if (extra >= 0) close(extra);
    for (i = 0; i < n; i++)
        if (fds[i] >= 0) close(fds[i]);
    free(tmp);
    uv_async_send(&c->async);
}

static void test_connection_limit(void)
{
    struct fo_http_limits lim = {LIMIT, LIMIT, 10};
    struct ctx c;
    struct resp r;

    if (setup_limited(&c, "127.0.0.1:0", &lim) != 0) return;
    c.client = client_limit;
    run_and_finish(&c);
    FO_CHECK_INT(c.n_ex, LIMIT);
    FO_CHECK(c.ex[1].closed_by_server);
    FO_CHECK_INT(parse_resp(&c.ex[0], &r), 0);
    FO_CHECK_INT(r.status, 200);
    FO_CHECK_INT(c.handler_calls, LIMIT + 1);
}

/* Half a request is on the wire when the server stops. */
static void client_mid_request(struct ctx *c)
{
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
    int fd;

    c->n_ex = 1;
    fd = client_connect(c->port);
    if (fd >= 0 && send_all(fd, req, sizeof(req) - 1) == 0) {
        uv_async_send(&c->async);
        read_to_end(fd, &c->ex[0]);
    } else {
        uv_async_send(&c->async);
    }
    if (fd >= 0) close(fd);
}

static void test_stop_mid_request(void)
{
    struct ctx c;

    if (setup(&c, "127.0.0.1:0") != 0) return;
    c.client = client_mid_request;
    run_and_finish(&c);
    FO_CHECK_INT(c.handler_calls, 0);
    FO_CHECK(c.ex[0].closed_by_server);
    FO_CHECK_INT(c.ex[0].len, 0);
}

/* The handler itself stops the server: the stop must wait until MHD_run returns. */
static void client_stop_request(struct ctx *c)
{
    c->ex[0].request = "GET /stop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    exchange_once(c, &c->ex[0]);
    c->n_ex = 1;
}

static void test_stop_from_handler(void)
{
    struct ctx c;
    struct resp r;

    if (setup(&c, "127.0.0.1:0") != 0) return;
    c.stop_in_handler = 1;
    c.client = client_stop_request;
    run_and_finish(&c);
    FO_CHECK_INT(c.handler_calls, 1);
    FO_CHECK(c.ex[0].closed_by_server);
    /* The response may or may not have left before the daemon stopped; if it did,
     * it must be the handler's. */
    if (c.ex[0].len > 0) {
        FO_CHECK_INT(parse_resp(&c.ex[0], &r), 0);
        FO_CHECK_INT(r.status, 200);
    }
}

/* Three pipelined requests in one segment: MHD answers one per pass and asks, through
 * MHD_get_timeout() == 0, to be run again for the rest, so this needs the timer. */
static void client_pipelined(struct ctx *c)
{
    c->ex[0].request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    exchange_once(c, &c->ex[0]);
    c->n_ex = 1;
    uv_async_send(&c->async);
}

static void test_pipelined(void)
{
    const char *p;
    struct ctx c;
    int n200 = 0, n404 = 0;

    if (setup(&c, "127.0.0.1:0") != 0) return;
    c.client = client_pipelined;
    run_and_finish(&c);
    FO_CHECK_INT(c.handler_calls, 3);
    FO_CHECK(c.ex[0].closed_by_server);
    for (p = c.ex[0].resp; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++) {
        n200 += strncmp(p + 9, "200 ", 4) == 0;
        n404 += strncmp(p + 9, "404 ", 4) == 0;
    }
    FO_CHECK_INT(n200, 2);
    FO_CHECK_INT(n404, 1);
}

static void test_bad_addresses(void)
{
    static const char *const bad[] = {
        "",
        "127.0.0.1",
        "127.0.0.1:",
        ":9501",
        "localhost:9501",
        "::1:9501",
        "[::1]:9501",
        "1.2.3:9501",
        "1.2.3.4.5:9501",
        "127.0.0.1:65536",
        "127.0.0.1:-1",
        "127.0.0.1:+80",
        "127.0.0.1: 80",
        "127.0.0.1:80x",
        "127.0.0.01:80",
        "127.0.0.1:99999999999999999999999",
        "0x7f.0.0.1:80",
    };
    uv_loop_t loop;
    unsigned i;

    FO_CHECK_INT(uv_loop_init(&loop), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[FO_ERRLEN] = "";
        struct fo_http *h = NULL;
        int rc = fo_http_start(&h, &loop, bad[i], handler, NULL, err);

        if (rc != FO_EINVAL) fprintf(stderr, "  address \"%s\": rc %d\n", bad[i], rc);
        FO_CHECK_INT(rc, FO_EINVAL);
        FO_CHECK(h == NULL);
        FO_CHECK(err[0] != '\0');
    }
    {
        char err[FO_ERRLEN] = "";
        struct fo_http *h = NULL;

        FO_CHECK_INT(fo_http_start(&h, &loop, NULL, handler, NULL, err), FO_EINVAL);
        FO_CHECK(err[0] != '\0');
    }
    /* Nothing was left on the loop. */
    FO_CHECK_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
    FO_CHECK_INT(uv_loop_close(&loop), 0);
}

static void test_port_in_use(void)
{
    char addr[32], err[FO_ERRLEN] = "";
    struct fo_http *h2 = NULL;
    struct ctx c;
    int rc;

    if (setup(&c, "127.0.0.1:0") != 0) return;
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)c.port);
    rc = fo_http_start(&h2, &c.loop, addr, handler, NULL, err);
    FO_CHECK_INT(rc, FO_EIO);
    FO_CHECK(h2 == NULL);
    if (strstr(err, "in use") == NULL) fprintf(stderr, "  err: %s\n", err);
    FO_CHECK(strstr(err, "in use") != NULL);
    FO_CHECK(strstr(err, addr) != NULL);
    stop_server(&c);
    run_and_finish(&c);
}

/* Per-source limit (issue 9): 4 connections from 127.0.0.1 are served, a fifth from
 * it is closed unanswered, and one from 127.0.0.2 is still served. */
#define PER_SOURCE 4
static void client_per_source(struct ctx *c)
{
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    struct exchange *tmp = calloc(1, sizeof(*tmp));
    int fds[PER_SOURCE], i, n = 0, extra, other;

    for (i = 0; i < PER_SOURCE && tmp != NULL; i++) {
        tmp->len = 0;
        if ((fds[i] = client_connect(c->port)) < 0) break;
        n++;
        if (keepalive_get(fds[i], tmp) != 0) break;
    }
    c->n_ex = (unsigned)i;
    extra = client_connect(c->port);
    if (extra >= 0 && send_all(extra, req, sizeof(req) - 1) == 0) read_to_end(extra, &c->ex[0]);
    other = client_connect_from(c->port, 2);
    if (other >= 0 && send_all(other, req, sizeof(req) - 1) == 0) read_to_end(other, &c->ex[1]);
    if (extra >= 0) close(extra);
    if (other >= 0) close(other);
    for (i = 0; i < n; i++) close(fds[i]);
    free(tmp);
    uv_async_send(&c->async);
}

static void test_per_source_limit(void)
{
    struct fo_http_limits lim = {16, PER_SOURCE, 10};
    struct ctx c;
    struct resp r;

    if (setup_limited(&c, "127.0.0.1:0", &lim) != 0) return;
    c.client = client_per_source;
    run_and_finish(&c);
    FO_CHECK_INT(c.n_ex, PER_SOURCE);
    FO_CHECK(c.ex[0].closed_by_server);
    FO_CHECK_INT(c.ex[0].len, 0); /* closed, never answered */
    FO_CHECK_INT(parse_resp(&c.ex[1], &r), 0);
    FO_CHECK_INT(r.status, 200);
}

/* Issue 9: 70 slow connections (half a request each, from ten addresses) must not
 * keep /metrics (and so /health, /leader) from answering within a second, with the
 * default limits. */
#define SLOW 70
static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void client_slow(struct ctx *c)
{
    static const char half[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int fds[SLOW], i, fd;
    double t0;

    for (i = 0; i < SLOW; i++) {
        fds[i] = client_connect_from(c->port, 2 + (unsigned)i % 10);
        if (fds[i] >= 0 && send_all(fds[i], half, sizeof(half) - 1) == 0) c->n_ex++;
    }
    t0 = now_s();
    fd = client_connect(c->port);
    if (fd >= 0 && send_all(fd, req, sizeof(req) - 1) == 0) read_to_end(fd, &c->ex[0]);
    c->ex[1].len = (size_t)((now_s() - t0) * 1000); /* reused: milliseconds taken */
    if (fd >= 0) close(fd);
    for (i = 0; i < SLOW; i++)
        if (fds[i] >= 0) close(fds[i]);
    uv_async_send(&c->async);
}

static void test_slow_connections(void)
{
    struct ctx c;
    struct resp r;

    if (setup(&c, "127.0.0.1:0") != 0) return;
    c.client = client_slow;
    run_and_finish(&c);
    FO_CHECK_INT(c.n_ex, SLOW);
    FO_CHECK_INT(parse_resp(&c.ex[0], &r), 0);
    FO_CHECK_INT(r.status, 200);
    FO_CHECK(c.ex[1].len < 1000);
}

/* A connection that stays silent is closed after timeout_s. */
static void client_silent(struct ctx *c)
{
    static const char half[] = "GET /metrics HTTP/1.1\r\n";
    int fd = client_connect(c->port);
    double t0 = now_s();

    if (fd >= 0 && send_all(fd, half, sizeof(half) - 1) == 0) read_to_end(fd, &c->ex[0]);
    c->ex[1].len = (size_t)((now_s() - t0) * 1000);
    if (fd >= 0) close(fd);
    uv_async_send(&c->async);
}

static void test_idle_timeout(void)
{
    struct fo_http_limits lim = {16, 4, 1};
    struct ctx c;

    if (setup_limited(&c, "127.0.0.1:0", &lim) != 0) return;
    c.client = client_silent;
    run_and_finish(&c);
    FO_CHECK(c.ex[0].closed_by_server);
    FO_CHECK(c.ex[1].len >= 900 && c.ex[1].len < 2900);
}

static void test_bad_limits(void)
{
    static const struct fo_http_limits bad[] = {{1, 1, 5}, {8, 0, 5}, {8, 9, 5}, {8, 4, 0}, {8, 4, 3601}};
    char err[FO_ERRLEN];
    struct fo_http *h = NULL;
    uv_loop_t loop;
    size_t i;

    uv_loop_init(&loop);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        FO_CHECK_INT(fo_http_start_limited(&h, &loop, "127.0.0.1:0", &bad[i], handler, NULL, err), FO_EINVAL);
        FO_CHECK(strstr(err, "limits") != NULL);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    FO_CHECK_INT(uv_loop_close(&loop), 0);
}

FO_TEST_MAIN(FO_T(test_requests), FO_T(test_stop_right_after_start), FO_T(test_stop_with_idle_connection),
             FO_T(test_connection_limit), FO_T(test_stop_mid_request), FO_T(test_stop_from_handler),
             FO_T(test_pipelined), FO_T(test_bad_addresses), FO_T(test_port_in_use), FO_T(test_per_source_limit),
             FO_T(test_slow_connections), FO_T(test_idle_timeout), FO_T(test_bad_limits))
