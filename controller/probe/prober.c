/* The probe state machine (see prober.h). Between probes the idle connection's socket
 * stays watched by mysql/myconn.c's own poll (fo_myconn_watch_idle): one epoll
 * registration for the connection's life, with the same events while a query waits
 * for its reply and while the connection is idle, so a probe on an open connection
 * costs no epoll_ctl call (bench/scale --perf showed them at 12-15 % of the leader's
 * CPU when each phase stopped and started a poll). */
#include "controller/probe/prober.h"

#include <errmsg.h>
#include <errno.h>
#include <limits.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "controller/decide/flavour.h"
#include "mysql/myconn.h"

/* PH_CONNECT covers the lookup, TCP and the handshake; PH_Q1 / PH_Q2 the reading of
 * the first / second result of the probe's one multi-statement (FO_SAMPLE_PROBE_ALL),
 * PH_Q2 also the lone FO_SAMPLE_Q2 of the fallback in queried(). */
enum phase { PH_IDLE, PH_CONNECT, PH_Q1, PH_Q2 };

struct fo_probe {
    uv_loop_t *loop;
    uv_timer_t timer; /* interval wait in PH_IDLE, the attempt's deadline otherwise */
    /* Kept between attempts only after a success: every failure drops it. Its socket
     * is watched between probes (idle_event). */
    struct fo_myconn *conn;
    /* Immediate retries made for the attempt in progress (prober.h); `retry_why` says
     * after what the first was made, for the report. Cleared when the attempt reports. */
    unsigned retries;
    const char *retry_why;
    bool q2_single; /* the server refused SHOW ALL SLAVES STATUS: use SHOW SLAVE STATUS */
    bool q2_alone;  /* this probe's PH_Q2 is a statement of its own (the fallback in queried) */
    struct fo_probe_stats stats;
    enum phase phase;
    char host[FO_HOST_LEN];
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
    /* The attempt's sample, allocated when it starts and freed when it reports: a
     * struct fo_sample is about 10 KB (fixed GTID buffers) and the monitor keeps its
     * own copy, so holding one per probe between attempts would double that per
     * watched server (issue 12: 10,000 servers within 300 MB). */
    struct fo_sample *sample;
    bool reporting_ok; /* inside an FO_PROBE_OK report: fo_probe_take_sample may take it */
};

static void arm_timer(struct fo_probe *p, uint64_t ms);
static void begin_attempt(struct fo_probe *p);

/* ------------------------------------------------------------------ lifetime */

static void handle_closed(uv_handle_t *h)
{
    struct fo_probe *p = h->data;

    memset(p->password, 0, sizeof(p->password));
    free(p->sample);
    free(p);
}

/* Drops the connection; no callback of it fires afterwards (its poll leaves epoll
 * before the descriptor is closed: mysql/myconn.h). */
static void drop_conn(struct fo_probe *p)
{
    if (p->conn == NULL) return;
    fo_myconn_close(p->conn, NULL);
    p->conn = NULL;
}

/* ------------------------------------------------------------------ scheduling */

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

static void report(struct fo_probe *p, enum fo_probe_outcome outcome, const char *error)
{
    double ms = (double)(uv_hrtime() - p->start_ns) / 1e6;

    p->retries = 0;
    p->retry_why = NULL;
    p->reporting_ok = outcome == FO_PROBE_OK;
    p->cb(p->data, p, outcome, outcome == FO_PROBE_OK ? p->sample : NULL, ms, error);
    p->reporting_ok = false;
    /* The callback may have closed the probe (freed in handle_closed) or kicked it
     * (a new attempt starts from the timer, later): the sample, unless the callback
     * took it, is ours to free. */
    free(p->sample);
    p->sample = NULL;
}

static void fail(struct fo_probe *p, enum fo_probe_outcome outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct fo_probe *p, enum fo_probe_outcome outcome, const char *fmt, ...)
{
    char msg[FO_PROBE_ERRLEN];
    size_t off = 0;
    int k;
    va_list ap;

    msg[0] = '\0';
    if (p->retries > 0 && p->retry_why != NULL) {
        k = snprintf(msg, sizeof(msg), "%s; ", p->retry_why);
        off = k > 0 && (size_t)k < sizeof(msg) ? (size_t)k : 0;
    }
    va_start(ap, fmt);
    vsnprintf(msg + off, sizeof(msg) - off, fmt, ap);
    va_end(ap);
    drop_conn(p);
    if (p->failures < UINT32_MAX) p->failures++;
    schedule_next(p);
    report(p, outcome, msg);
}

/* Connector/C 3.x reports a failed TCP connect as CR_CONNECTION_ERROR (older versions:
 * CR_CONN_HOST_ERROR) with the socket's errno at the end of the text, "Can't connect
 * to server on '10.0.0.5' (111)", and keeps no other record of it once the socket is
 * closed. Only ECONNREFUSED is definitive (health.h): EHOSTUNREACH, ENETUNREACH,
 * ETIMEDOUT say nothing about the mysqld. The whole suffix is compared, so another
 * number that ends in the same digits cannot match. */
static bool connect_refused(struct fo_myconn *c)
{
    MYSQL *m = fo_myconn_mysql(c);
    unsigned e = mysql_errno(m);
    const char *msg = mysql_error(m);
    char want[16];
    size_t n, w;

    if (e != CR_CONNECTION_ERROR && e != CR_CONN_HOST_ERROR) return false;
    snprintf(want, sizeof(want), " (%d)", ECONNREFUSED);
    n = strlen(msg);
    w = strlen(want);
    return n >= w && strcmp(msg + n - w, want) == 0;
}

/* A connection that was there and is gone (the server closed it, died, or was
 * killed), as opposed to an error reply or a timeout. */
static bool connection_lost(struct fo_myconn *c)
{
    unsigned e = mysql_errno(fo_myconn_mysql(c));

    return e == CR_SERVER_LOST || e == CR_SERVER_GONE_ERROR;
}

/* Drops the connection and starts a new attempt at once, if fewer than `max`
 * immediate retries were made for this scheduled attempt (prober.h). why must be a
 * string literal: the first one is kept for the report. Returns false if no retry
 * was made. */
static bool retry_now(struct fo_probe *p, unsigned max, const char *why)
{
    if (p->retries >= max) return false;
    drop_conn(p);
    uv_timer_stop(&p->timer);
    if (p->retries++ == 0) p->retry_why = why;
    begin_attempt(p);
    return true;
}

/* A failed connection operation; what names it ("connect", "query"). */
static void conn_failed(struct fo_probe *p, int status, const char *what)
{
    const char *why = fo_myconn_error(p->conn);
    bool lost = status == FO_EMYSQL && connection_lost(p->conn);

    /* A connection lost mid-probe: one retry, as after an EOF on the idle one. */
    if (lost && p->phase != PH_CONNECT && retry_now(p, 1, "the server closed the connection during the probe")) {
        p->stats.lost_midquery++;
        return;
    }
    /* A retry's handshake reset: the kernel resets the connections still waiting in a
     * listening socket's backlog when that socket is closed, so a dying mysqld whose
     * exit closed our idle connection before its listener answers the retry this way.
     * The listener is closed by then: one more attempt is refused (or succeeds). */
    if (lost && p->phase == PH_CONNECT && p->retries > 0 &&
        retry_now(p, 2, "the server closed the idle probe connection")) {
        p->stats.handshake_resets++;
        return;
    }
    if (status == FO_EMYSQL)
        fail(p, p->phase == PH_CONNECT && connect_refused(p->conn) ? FO_PROBE_REFUSED : FO_PROBE_FAILED, "%s: %s", what,
             why);
    else if (status == FO_EUNREACHABLE)
        fail(p, FO_PROBE_FAILED, "resolve %s: %s", p->host, why);
    else
        fail(p, FO_PROBE_FAILED, "%s", why);
}

/* ------------------------------------------------------------------ the idle watch */

/* Something happened on the idle connection (prober.h). A look without consuming
 * tells a spurious wake-up (nothing to read, no error) from the rest: EOF, an error
 * (reset), or bytes the server sent unasked, which on an idle session it does only
 * to end it (an error packet before closing). The watch is level-triggered, so every
 * other case drops the connection. */
static void idle_event(void *data, int status, int events)
{
    struct fo_probe *p = data;
    const char *why;
    ssize_t n;
    char b;
    int fd;

    if (p->closing || p->conn == NULL) return;
    if (p->phase != PH_IDLE) { /* not reached: myconn calls only between operations */
        drop_conn(p);
        return;
    }
    fd = (int)mysql_get_socket(fo_myconn_mysql(p->conn));
    n = status < 0 || fd < 0 ? -1 : recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && status >= 0 && fd >= 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) &&
        !(events & UV_DISCONNECT))
        return;
    why = n == 0  ? "the server closed the idle probe connection"
          : n > 0 ? "the server ended the idle probe session"
                  : "the idle probe connection was reset";
    p->stats.idle_eofs++;
    if (!retry_now(p, 1, why)) drop_conn(p); /* not reached: an idle probe has no retry pending */
}

static void succeed(struct fo_probe *p)
{
    p->failures = 0;
    schedule_next(p);
    report(p, FO_PROBE_OK, NULL);
}

/* ------------------------------------------------------------------ result parsing */

static int parse_q1(struct fo_probe *p, MYSQL_RES *res, char err[FO_ERRLEN])
{
    MYSQL_ROW row;
    unsigned n = mysql_num_fields(res);

    if (mysql_num_rows(res) != 1 || (row = mysql_fetch_row(res)) == NULL)
        return fo_errf(err, FO_EPROTO, "expected one row from the variables query");
    return fo_sample_parse_vars(p->sample, n, (const char *const *)row, err);
}

/* Every row of SHOW ALL SLAVES STATUS (or SHOW SLAVE STATUS) goes to the parser,
 * which picks the default source's row and counts the sources (mysql/sample.h): no
 * silent choice of the first row here. */
static int parse_q2(struct fo_probe *p, MYSQL_RES *res, char err[FO_ERRLEN])
{
    const char *names[128];
    const char *stack_values[128 * FO_PROBE_STACK_SOURCES];
    const char **values = stack_values;
    MYSQL_FIELD *fields;
    MYSQL_ROW row;
    unsigned n = mysql_num_fields(res), i, r;
    my_ulonglong rows = mysql_num_rows(res);
    int rc;

    if (n > 128)
        return fo_errf(err, FO_EPROTO, "%s returned %u columns", p->q2_single ? FO_SAMPLE_Q2 : FO_SAMPLE_Q2_ALL, n);
    if (rows > FO_PROBE_MAX_SOURCES)
        return fo_errf(err, FO_EPROTO, "%s returned %llu rows (replication sources); at most %u are read",
                       p->q2_single ? FO_SAMPLE_Q2 : FO_SAMPLE_Q2_ALL, (unsigned long long)rows,
                       (unsigned)FO_PROBE_MAX_SOURCES);
    if (rows > FO_PROBE_STACK_SOURCES && (values = calloc((size_t)rows * n, sizeof(*values))) == NULL)
        return fo_errf(err, FO_ENOMEM, "out of memory reading %llu replication sources", (unsigned long long)rows);
    fields = mysql_fetch_fields(res);
    for (i = 0; i < n; i++) names[i] = fields[i].name;
    for (r = 0; r < rows; r++) {
        if ((row = mysql_fetch_row(res)) == NULL) break;
        for (i = 0; i < n; i++) values[(size_t)r * n + i] = row[i];
    }
    if (r < rows)
        rc = fo_errf(err, FO_EPROTO, "replication status: row %u of %llu missing", r + 1, (unsigned long long)rows);
    else
        rc = fo_sample_parse_replication(p->sample, (unsigned)rows, n, names, rows > 0 ? values : NULL, err);
    if (values != stack_values) free(values);
    return rc;
}

/* ------------------------------------------------------------------ the state machine */

static void run_probe(struct fo_probe *p);
static void queried(void *data, int status, MYSQL_RES *res);

static void stored(void *data, int status, MYSQL_RES *res)
{
    struct fo_probe *p = data;
    MYSQL *m = fo_myconn_mysql(p->conn);
    char err[FO_ERRLEN];
    int rc;

    if (status != 0) {
        conn_failed(p, status, "query");
        return;
    }
    if (res == NULL) {
        fail(p, FO_PROBE_FAILED, "query: %s", mysql_errno(m) ? mysql_error(m) : "no result set");
        return;
    }
    rc = p->phase == PH_Q1 ? parse_q1(p, res, err) : parse_q2(p, res, err);
    mysql_free_result(res);
    if (rc != 0) {
        fail(p, FO_PROBE_FAILED, "unexpected reply: %s", err);
        return;
    }
    /* Both results come from one statement string, so a missing second result or an
     * extra third one is a server we do not understand: the connection is dropped
     * (fail) rather than left out of step with the next probe's replies. */
    if (p->phase == PH_Q1) {
        if (!mysql_more_results(m)) {
            fail(p, FO_PROBE_FAILED, "unexpected reply: one result where the probe expects two");
            return;
        }
        p->phase = PH_Q2;
        fo_myconn_next_result(p->conn, queried);
        return;
    }
    if (mysql_more_results(m)) {
        fail(p, FO_PROBE_FAILED, "unexpected reply: more results than the probe's two");
        return;
    }
    succeed(p);
}

static void queried(void *data, int status, MYSQL_RES *res)
{
    struct fo_probe *p = data;

    (void)res;
    /* MySQL has no SHOW ALL SLAVES STATUS (a syntax error there, which ends the
     * multi-statement): this probe reads SHOW SLAVE STATUS, whose rows are its
     * channels, as a statement of its own, and later ones send FO_SAMPLE_PROBE. */
    if (status == FO_EMYSQL && p->phase == PH_Q2 && !p->q2_single &&
        mysql_errno(fo_myconn_mysql(p->conn)) == ER_PARSE_ERROR) {
        p->q2_single = true;
        p->q2_alone = true;
        fo_myconn_query(p->conn, FO_SAMPLE_Q2, queried);
        return;
    }
    /* Issue 15.6: MySQL (and MariaDB before 10.0) has no @@gtid_current_pos, so FO_SAMPLE_Q1
     * fails there with 1193. Say so, naming the flavour the handshake's version
     * suggests, rather than report a probe error an operator would chase as a
     * network or permission problem. The probe still fails: nothing is inferred from a
     * server failoverd does not understand, and the topology turns this text into
     * the cluster's refusal (controller/decide/flavour.h). */
    if (status == FO_EMYSQL && p->phase == PH_Q1 &&
        mysql_errno(fo_myconn_mysql(p->conn)) == ER_UNKNOWN_SYSTEM_VARIABLE) {
        MYSQL *m = fo_myconn_mysql(p->conn);
        char msg[FO_PROBE_ERRLEN];
        fo_flavour_probe_error(mysql_get_server_info(m), mysql_error(m), msg, sizeof(msg));
        fail(p, FO_PROBE_FAILED, "%s", msg);
        return;
    }
    if (status == FO_ENOTFOUND) { /* next_result: the server announced a result it did not send */
        fail(p, FO_PROBE_FAILED, "unexpected reply: the probe's second result is missing");
        return;
    }
    if (status != 0) {
        conn_failed(p, status, "query");
        return;
    }
    fo_myconn_store_result(p->conn, stored);
}

/* One round trip: both queries as one multi-statement (mysql/sample.h). */
static void run_probe(struct fo_probe *p)
{
    p->phase = PH_Q1;
    p->q2_alone = false;
    fo_myconn_query(p->conn, p->q2_single ? FO_SAMPLE_PROBE : FO_SAMPLE_PROBE_ALL, queried);
}

static void connected(void *data, int status, MYSQL_RES *res)
{
    struct fo_probe *p = data;

    if (status != 0) {
        conn_failed(p, status, "connect");
        return;
    }
    fo_myconn_watch_idle(p->conn, idle_event);
    arm_timer(p, p->opts.read_timeout_ms);
    run_probe(p);
}

static void begin_attempt(struct fo_probe *p)
{
    char err[FO_ERRLEN];

    p->start_ms = uv_now(p->loop);
    p->start_ns = uv_hrtime();
    /* A retry reuses the attempt's sample (calloc'd once, wiped for the retry). */
    if (p->sample == NULL)
        p->sample = calloc(1, sizeof(*p->sample));
    else
        memset(p->sample, 0, sizeof(*p->sample));
    if (p->sample == NULL) {
        fail(p, FO_PROBE_FAILED, "out of memory");
        return;
    }
    if (p->reconnect) {
        p->reconnect = false;
        drop_conn(p);
    }
    if (p->conn != NULL) {
        arm_timer(p, p->opts.read_timeout_ms);
        run_probe(p);
        return;
    }
    arm_timer(p, p->opts.connect_timeout_ms);
    p->conn = fo_myconn_new(p->loop, p->user, p->password, p);
    if (p->conn == NULL) {
        fail(p, FO_PROBE_FAILED, "out of memory");
        return;
    }
    if (fo_myconn_set_tls(p->conn, &p->opts.tls, err) != 0) {
        fail(p, FO_PROBE_FAILED, "%s", err);
        return;
    }
    p->phase = PH_CONNECT;
    /* Only this file's constant statements are ever sent on the connection. */
    fo_myconn_connect(p->conn, p->host, p->port, CLIENT_MULTI_STATEMENTS, connected);
}

static void timer_cb(uv_timer_t *t)
{
    struct fo_probe *p = t->data;

    if (p->phase == PH_IDLE)
        begin_attempt(p);
    else if (p->phase == PH_CONNECT)
        fail(p, FO_PROBE_FAILED, "connect timeout after %u ms", p->opts.connect_timeout_ms);
    else
        fail(p, FO_PROBE_FAILED, "read timeout after %u ms", p->opts.read_timeout_ms);
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
    p->timer.data = p;
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

struct fo_sample *fo_probe_take_sample(struct fo_probe *p)
{
    struct fo_sample *s = p->reporting_ok ? p->sample : NULL;

    if (s != NULL) p->sample = NULL;
    return s;
}

void fo_probe_get_stats(const struct fo_probe *p, struct fo_probe_stats *out)
{
    *out = p->stats;
}

void fo_probe_close(struct fo_probe *p)
{
    if (p == NULL || p->closing) return;
    p->closing = true;
    drop_conn(p);
    uv_close((uv_handle_t *)&p->timer, handle_closed);
}
