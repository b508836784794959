#include "controller/probe/prober.h"

#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql/myconn.h"

/* PH_CONNECT covers the lookup, TCP and the handshake; PH_Q1 / PH_Q2 a query and
 * the reading of its result. */
enum phase { PH_IDLE, PH_CONNECT, PH_Q1, PH_Q2 };

struct fo_probe {
    uv_loop_t *loop;
    uv_timer_t timer; /* interval wait in PH_IDLE, deadline otherwise */
    /* Kept between attempts only after a success: every failure drops it. */
    struct fo_myconn *conn;
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
    struct fo_sample sample;
};

static void arm_timer(struct fo_probe *p, uint64_t ms);

/* ------------------------------------------------------------------ lifetime */

static void timer_closed(uv_handle_t *h)
{
    struct fo_probe *p = h->data;

    memset(p->password, 0, sizeof(p->password));
    free(p);
}

/* Drops the connection; no callback of it fires afterwards. */
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

/* A failed connection operation; what names it ("connect", "query"). */
static void conn_failed(struct fo_probe *p, int status, const char *what)
{
    const char *why = fo_myconn_error(p->conn);

    if (status == FO_EMYSQL)
        fail(p, "%s: %s", what, why);
    else if (status == FO_EUNREACHABLE)
        fail(p, "resolve %s: %s", p->host, why);
    else
        fail(p, "%s", why);
}

static void succeed(struct fo_probe *p)
{
    p->failures = 0;
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
    /* Every row counts: two rows (multi-source replication) is an error the parser names,
     * never a silent choice of the first. */
    return fo_sample_parse_slave_status(&p->sample, rows > UINT_MAX ? UINT_MAX : (unsigned)rows, n, names,
                                        (const char *const *)row, err);
}

/* ------------------------------------------------------------------ the state machine */

static void run_query(struct fo_probe *p, enum phase ph);

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
        fail(p, "query: %s", mysql_errno(m) ? mysql_error(m) : "no result set");
        return;
    }
    rc = p->phase == PH_Q1 ? parse_q1(p, res, err) : parse_q2(p, res, err);
    mysql_free_result(res);
    if (rc != 0) {
        fail(p, "unexpected reply: %s", err);
        return;
    }
    if (p->phase == PH_Q1)
        run_query(p, PH_Q2);
    else
        succeed(p);
}

static void queried(void *data, int status, MYSQL_RES *res)
{
    struct fo_probe *p = data;

    if (status != 0) {
        conn_failed(p, status, "query");
        return;
    }
    fo_myconn_store_result(p->conn, stored);
}

static void run_query(struct fo_probe *p, enum phase ph)
{
    p->phase = ph;
    fo_myconn_query(p->conn, ph == PH_Q1 ? FO_SAMPLE_Q1 : FO_SAMPLE_Q2, queried);
}

static void connected(void *data, int status, MYSQL_RES *res)
{
    struct fo_probe *p = data;

    if (status != 0) {
        conn_failed(p, status, "connect");
        return;
    }
    arm_timer(p, p->opts.read_timeout_ms);
    run_query(p, PH_Q1);
}

static void begin_attempt(struct fo_probe *p)
{
    char err[FO_ERRLEN];

    p->start_ms = uv_now(p->loop);
    p->start_ns = uv_hrtime();
    memset(&p->sample, 0, sizeof(p->sample));
    if (p->reconnect) {
        p->reconnect = false;
        drop_conn(p);
    }
    if (p->conn != NULL) {
        arm_timer(p, p->opts.read_timeout_ms);
        run_query(p, PH_Q1);
        return;
    }
    arm_timer(p, p->opts.connect_timeout_ms);
    p->conn = fo_myconn_new(p->loop, p->user, p->password, p);
    if (p->conn == NULL) {
        fail(p, "out of memory");
        return;
    }
    if (fo_myconn_set_tls(p->conn, &p->opts.tls, err) != 0) {
        fail(p, "%s", err);
        return;
    }
    p->phase = PH_CONNECT;
    fo_myconn_connect(p->conn, p->host, p->port, 0, connected);
}

static void timer_cb(uv_timer_t *t)
{
    struct fo_probe *p = t->data;

    if (p->phase == PH_IDLE)
        begin_attempt(p);
    else if (p->phase == PH_CONNECT)
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

void fo_probe_close(struct fo_probe *p)
{
    if (p == NULL || p->closing) return;
    p->closing = true;
    drop_conn(p);
    uv_close((uv_handle_t *)&p->timer, timer_closed);
}
