/* Runs a short list of statements on a fresh non-blocking connection (see
 * controller/sqlexec.h). The connection dance (uv_poll on Connector/C's socket,
 * uv_timer for its MYSQL_WAIT_TIMEOUT requests, uv_getaddrinfo for names, shutdown
 * before mysql_close) is the one controller/prober.c has proven; here it runs once
 * per request and the request ends when every handle is closed. */
#include "controller/sqlexec.h"

#include <arpa/inet.h>
#include <mysql.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"

#define MOD "sqlexec"
#define ERRTEXT 768                /* room for the statement prefix and the server's message */
#define STMT_SHOWN 60              /* characters of a statement quoted in an error */
#define ROWS_MAX_BYTES (64u << 20) /* bound on the copied result set */
#define CR_FIRST_CLIENT_ERROR 2000 /* Connector/C's own errors start here (CR_MIN_ERROR) */

/* Phases of one request; each names what Connector/C is working on. */
enum phase { PH_START, PH_RESOLVE, PH_CONNECT, PH_QUERY, PH_STORE, PH_NEXT, PH_DONE };

struct resolve {
    uv_getaddrinfo_t req;
    struct fo_sql *q; /* NULL once the request stopped caring (timeout / cancel) */
};

struct fo_sql {
    uv_loop_t *loop;
    uv_timer_t deadline;  /* connect bound while connecting, then the whole run's */
    uv_timer_t lib_timer; /* Connector/C's own MYSQL_WAIT_TIMEOUT requests */
    uv_poll_t poll;       /* the connection's socket */
    MYSQL *m;
    bool poll_inited;
    bool connect_bound; /* the deadline armed is connect_timeout_ms */
    bool finishing;     /* outcome decided, handles closing */
    unsigned open_handles;
    struct resolve *resolve;
    enum phase phase;
    unsigned cur; /* index of the running statement */

    /* One block holds every copied string; it is wiped before it is freed since it
     * holds the password and possibly MASTER_PASSWORD literals. */
    char *strs;
    size_t strs_len;
    const char *host, *user, *password;
    const char *stmts[FO_SQL_MAX_STMTS];
    unsigned n_stmts;
    char addr[INET6_ADDRSTRLEN];
    uint16_t port;
    struct fo_sql_opts opts;
    uint64_t t0;
    fo_sql_cb cb;
    void *data;

    int status;
    unsigned err_no;
    char error[ERRTEXT];
    struct fo_sql_rows rows;
    void *rows_mem; /* NULL until a statement returned a result set */
};

static void resume(struct fo_sql *q, int ready);
static void next_stmt(struct fo_sql *q);
static void result_ready(struct fo_sql *q);
static void poll_cb(uv_poll_t *h, int status, int events);
static void lib_timer_cb(uv_timer_t *t);
static void deadline_cb(uv_timer_t *t);

/* ------------------------------------------------------------------ error texts */

/* Where a statement starts to carry a secret (MASTER_PASSWORD='...', SET PASSWORD,
 * IDENTIFIED BY ...): the start of the word containing the keyword; SIZE_MAX if none. */
static size_t secret_pos(const char *stmt)
{
    static const char *const keywords[] = {"PASSWORD", "IDENTIFIED"};
    const char *best = NULL, *hit;
    size_t i;

    for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
        hit = strcasestr(stmt, keywords[i]);
        if (hit != NULL && (best == NULL || hit < best)) best = hit;
    }
    if (best == NULL) return SIZE_MAX;
    while (best > stmt && (best[-1] == '_' || (best[-1] >= 'A' && best[-1] <= 'Z') ||
                           (best[-1] >= 'a' && best[-1] <= 'z') || (best[-1] >= '0' && best[-1] <= '9')))
        best--;
    return (size_t)(best - stmt);
}

/* The statement as quoted in errors: its first STMT_SHOWN characters on one line,
 * or, if it carries a secret, only what comes before the secret followed by "...". */
static void describe_stmt(const char *stmt, char *out, size_t n)
{
    size_t len = strlen(stmt), cut = secret_pos(stmt), i, o = 0;
    bool more = false;

    if (cut != SIZE_MAX) {
        len = cut;
        while (len > 0 && (stmt[len - 1] == ' ' || stmt[len - 1] == ',' || stmt[len - 1] == '\t' ||
                           stmt[len - 1] == '\n' || stmt[len - 1] == '\r'))
            len--;
        more = true;
    }
    if (len > STMT_SHOWN) {
        len = STMT_SHOWN;
        more = true;
    }
    for (i = 0; i < len && o + 1 < n; i++) {
        unsigned char c = (unsigned char)stmt[i];

        out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[o] = '\0';
    if (more) snprintf(out + o, n - o, "%s...", o > 0 ? " " : "");
}

/* The server's message about a statement. For a statement that carries a secret the
 * message is cut before its first quoted part: servers quote pieces of the statement
 * there (a syntax error shows "near '...'"), and that piece may be the secret. */
static void describe_error(const char *stmt, const char *msg, char *out, size_t n)
{
    size_t len = strlen(msg);

    if (secret_pos(stmt) != SIZE_MAX) {
        len = strcspn(msg, "'\"");
        if (msg[len] != '\0') {
            while (len > 0 && msg[len - 1] == ' ') len--;
            snprintf(out, n, "%.*s ...", (int)len, msg);
            return;
        }
    }
    snprintf(out, n, "%s", msg);
}

/* ------------------------------------------------------------------ lifetime */

static void deliver(struct fo_sql *q)
{
    fo_sql_cb cb = q->cb;
    void *data = q->data;
    int status = q->status;
    unsigned err_no = q->err_no;
    struct fo_sql_rows rows = q->rows;
    void *rows_mem = q->rows_mem;
    char error[ERRTEXT];

    memcpy(error, q->error, sizeof(error));
    explicit_bzero(q->strs, q->strs_len);
    free(q->strs);
    free(q);
    if (status != 0 && rows_mem != NULL) {
        free(rows_mem);
        rows_mem = NULL;
    }
    cb(data, status, err_no, status != 0 ? error : NULL, rows_mem != NULL ? &rows : NULL);
    free(rows_mem);
}

static void handle_closed(uv_handle_t *h)
{
    struct fo_sql *q = h->data;

    if (--q->open_handles == 0) deliver(q);
}

/* Drops the connection. The socket is shut down first so that mysql_close's COM_QUIT
 * cannot block on a hung peer; the poll handle is closed (and so leaves epoll) before
 * mysql_close closes the descriptor. */
static void drop_conn(struct fo_sql *q)
{
    int fd;

    if (q->m == NULL) return;
    uv_timer_stop(&q->lib_timer);
    fd = (int)mysql_get_socket(q->m);
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
    if (q->poll_inited) {
        q->poll_inited = false;
        uv_close((uv_handle_t *)&q->poll, handle_closed);
    }
    mysql_close(q->m);
    q->m = NULL;
}

static void detach_resolve(struct fo_sql *q)
{
    if (q->resolve == NULL) return;
    q->resolve->q = NULL; /* its callback will only free it */
    uv_cancel((uv_req_t *)&q->resolve->req);
    q->resolve = NULL;
}

/* Decides the outcome (the first decision wins) and closes everything; the callback
 * fires from the last close callback. */
static void finish(struct fo_sql *q, int status, unsigned err_no, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void finish(struct fo_sql *q, int status, unsigned err_no, const char *fmt, ...)
{
    va_list ap;

    if (q->finishing) return;
    q->finishing = true;
    q->phase = PH_DONE;
    q->status = status;
    q->err_no = err_no;
    q->error[0] = '\0';
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(q->error, sizeof(q->error), fmt, ap);
        va_end(ap);
    }
    detach_resolve(q);
    drop_conn(q);
    uv_close((uv_handle_t *)&q->deadline, handle_closed);
    uv_close((uv_handle_t *)&q->lib_timer, handle_closed);
}

/* ------------------------------------------------------------------ results */

/* Copies up to FO_SQL_MAX_ROWS x FO_SQL_MAX_COLS of res into one allocation that
 * replaces the rows kept so far. */
static int keep_rows(struct fo_sql *q, MYSQL_RES *res)
{
    unsigned n_cols = mysql_num_fields(res), n_rows, r, c;
    my_ulonglong total = mysql_num_rows(res);
    MYSQL_FIELD *fields = mysql_fetch_fields(res);
    MYSQL_ROW row;
    unsigned long *lens;
    size_t bytes = 0, n_ptrs;
    const char **ptrs;
    char *p;

    n_rows = total > FO_SQL_MAX_ROWS ? FO_SQL_MAX_ROWS : (unsigned)total;
    if (n_cols > FO_SQL_MAX_COLS) {
        FO_WARN(MOD, "%s:%u statement %u: keeping %u of %u columns", q->host, q->port, q->cur + 1, FO_SQL_MAX_COLS,
                n_cols);
        n_cols = FO_SQL_MAX_COLS;
    }
    if (total > n_rows)
        FO_WARN(MOD, "%s:%u statement %u: keeping %u of %llu rows", q->host, q->port, q->cur + 1, n_rows,
                (unsigned long long)total);
    for (c = 0; c < n_cols; c++) bytes += strlen(fields[c].name) + 1;
    mysql_data_seek(res, 0);
    for (r = 0; r < n_rows && (row = mysql_fetch_row(res)) != NULL; r++) {
        lens = mysql_fetch_lengths(res);
        for (c = 0; c < n_cols; c++)
            if (row[c] != NULL) bytes += lens[c] + 1;
        if (bytes > ROWS_MAX_BYTES) return FO_ETOOBIG;
    }
    n_rows = r;
    n_ptrs = (size_t)n_cols + (size_t)n_rows * n_cols;
    ptrs = malloc(n_ptrs * sizeof(*ptrs) + bytes + 1);
    if (ptrs == NULL) return FO_ENOMEM;
    p = (char *)(ptrs + n_ptrs);
    for (c = 0; c < n_cols; c++) {
        size_t len = strlen(fields[c].name);

        memcpy(p, fields[c].name, len + 1);
        ptrs[c] = p;
        p += len + 1;
    }
    mysql_data_seek(res, 0);
    for (r = 0; r < n_rows && (row = mysql_fetch_row(res)) != NULL; r++) {
        lens = mysql_fetch_lengths(res);
        for (c = 0; c < n_cols; c++) {
            const char **slot = &ptrs[n_cols + (size_t)r * n_cols + c];

            if (row[c] == NULL) {
                *slot = NULL;
                continue;
            }
            memcpy(p, row[c], lens[c]);
            p[lens[c]] = '\0';
            *slot = p;
            p += lens[c] + 1;
        }
    }
    free(q->rows_mem);
    q->rows_mem = ptrs;
    q->rows.n_rows = n_rows;
    q->rows.n_cols = n_cols;
    q->rows.names = ptrs;
    q->rows.values = ptrs + n_cols;
    return 0;
}

/* ------------------------------------------------------------------ the state machine */

static bool tolerated(const struct fo_sql *q, unsigned e)
{
    unsigned i;

    for (i = 0; i < q->opts.n_tolerate; i++)
        if (q->opts.tolerate[i] == e) return true;
    return false;
}

static void stmt_failed(struct fo_sql *q, int status, const char *msg)
{
    unsigned e = mysql_errno(q->m);
    char what[STMT_SHOWN + 8], why[ERRTEXT / 2];

    describe_stmt(q->stmts[q->cur], what, sizeof(what));
    describe_error(q->stmts[q->cur], msg != NULL ? msg : mysql_error(q->m), why, sizeof(why));
    if (msg == NULL && e != 0 && tolerated(q, e)) {
        FO_INFO(MOD, "%s:%u statement %u (%s): tolerated error %u: %s", q->host, q->port, q->cur + 1, what, e, why);
        q->cur++;
        next_stmt(q);
        return;
    }
    finish(q, status, msg != NULL ? 0 : e, "statement %u (%s): %s", q->cur + 1, what, why);
}

static void watch(struct fo_sql *q, int status)
{
    int events = 0;

    if (status & MYSQL_WAIT_READ) events |= UV_READABLE;
    if (status & MYSQL_WAIT_WRITE) events |= UV_WRITABLE;
    if (status & MYSQL_WAIT_EXCEPT) events |= UV_PRIORITIZED;
    if (status & MYSQL_WAIT_TIMEOUT)
        uv_timer_start(&q->lib_timer, lib_timer_cb, mysql_get_timeout_value_ms(q->m), 0);
    else
        uv_timer_stop(&q->lib_timer);
    if (!q->poll_inited) {
        if (uv_poll_init(q->loop, &q->poll, (int)mysql_get_socket(q->m)) != 0) {
            finish(q, FO_EIO, 0, "%s:%u: cannot watch the connection socket", q->host, q->port);
            return;
        }
        q->poll.data = q;
        q->poll_inited = true;
        q->open_handles++;
    }
    if (events != 0)
        uv_poll_start(&q->poll, events, poll_cb);
    else
        uv_poll_stop(&q->poll);
}

static void next_stmt(struct fo_sql *q)
{
    int err = 0, status;
    const char *s;

    if (q->cur >= q->n_stmts) {
        finish(q, 0, 0, NULL);
        return;
    }
    s = q->stmts[q->cur];
    q->phase = PH_QUERY;
    status = mysql_real_query_start(&err, q->m, s, strlen(s));
    if (status != 0) {
        watch(q, status);
        return;
    }
    if (err != 0)
        stmt_failed(q, FO_EMYSQL, NULL);
    else
        result_ready(q);
}

/* The current statement (or its next result) finished: consume any more results,
 * then move on. */
static void after_result(struct fo_sql *q)
{
    int ret = 0, status;

    if (!mysql_more_results(q->m)) {
        q->cur++;
        next_stmt(q);
        return;
    }
    q->phase = PH_NEXT;
    status = mysql_next_result_start(&ret, q->m);
    if (status != 0) {
        watch(q, status);
        return;
    }
    if (ret > 0)
        stmt_failed(q, FO_EMYSQL, NULL);
    else if (ret == 0)
        result_ready(q);
    else
        after_result(q);
}

static void stored(struct fo_sql *q, MYSQL_RES *res)
{
    int rc;

    if (res == NULL) {
        stmt_failed(q, FO_EMYSQL, mysql_errno(q->m) != 0 ? NULL : "no result set");
        return;
    }
    rc = keep_rows(q, res);
    mysql_free_result(res);
    if (rc != 0) {
        stmt_failed(q, rc, rc == FO_ETOOBIG ? "result set too large" : "out of memory");
        return;
    }
    after_result(q);
}

/* The statement succeeded: a result set, if it has one, is stored (so the connection
 * is ready for the next statement) and copied. */
static void result_ready(struct fo_sql *q)
{
    MYSQL_RES *res = NULL;
    int status;

    if (mysql_field_count(q->m) == 0) {
        after_result(q);
        return;
    }
    q->phase = PH_STORE;
    status = mysql_store_result_start(&res, q->m);
    if (status != 0)
        watch(q, status);
    else
        stored(q, res);
}

static void connected(struct fo_sql *q, bool ok)
{
    uint64_t elapsed;
    unsigned e;

    if (!ok) {
        e = mysql_errno(q->m);
        finish(q, e >= CR_FIRST_CLIENT_ERROR || e == 0 ? FO_EUNREACHABLE : FO_EMYSQL, 0, "connect to %s:%u: %s",
               q->host, q->port, mysql_error(q->m));
        return;
    }
    elapsed = uv_now(q->loop) - q->t0;
    q->connect_bound = false;
    uv_timer_start(&q->deadline, deadline_cb, q->opts.timeout_ms > elapsed ? q->opts.timeout_ms - elapsed : 0, 0);
    next_stmt(q);
}

static void resume(struct fo_sql *q, int ready)
{
    MYSQL *ret = NULL;
    MYSQL_RES *res = NULL;
    int err = 0, status;

    switch (q->phase) {
    case PH_CONNECT:
        status = mysql_real_connect_cont(&ret, q->m, ready);
        if (status == 0) connected(q, ret != NULL);
        break;
    case PH_QUERY:
        status = mysql_real_query_cont(&err, q->m, ready);
        if (status == 0 && err != 0)
            stmt_failed(q, FO_EMYSQL, NULL);
        else if (status == 0)
            result_ready(q);
        break;
    case PH_STORE:
        status = mysql_store_result_cont(&res, q->m, ready);
        if (status == 0) stored(q, res);
        break;
    case PH_NEXT:
        status = mysql_next_result_cont(&err, q->m, ready);
        if (status == 0 && err > 0)
            stmt_failed(q, FO_EMYSQL, NULL);
        else if (status == 0 && err == 0)
            result_ready(q);
        else if (status == 0)
            after_result(q);
        break;
    default: return;
    }
    if (status != 0) watch(q, status);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    struct fo_sql *q = h->data;
    int ready = 0;

    if (q->finishing || q->m == NULL) return;
    if (status < 0) ready = MYSQL_WAIT_READ | MYSQL_WAIT_WRITE; /* let Connector/C see the error */
    if (events & UV_READABLE) ready |= MYSQL_WAIT_READ;
    if (events & UV_WRITABLE) ready |= MYSQL_WAIT_WRITE;
    if (events & UV_PRIORITIZED) ready |= MYSQL_WAIT_EXCEPT;
    resume(q, ready);
}

static void lib_timer_cb(uv_timer_t *t)
{
    struct fo_sql *q = t->data;

    if (!q->finishing && q->m != NULL) resume(q, MYSQL_WAIT_TIMEOUT);
}

static void deadline_cb(uv_timer_t *t)
{
    struct fo_sql *q = t->data;
    char what[STMT_SHOWN + 8];

    if (q->finishing) return;
    if (q->phase == PH_START || q->phase == PH_RESOLVE || q->phase == PH_CONNECT) {
        finish(q, FO_ETIMEDOUT, 0, "connect to %s:%u: timed out after %u ms", q->host, q->port,
               q->connect_bound ? q->opts.connect_timeout_ms : q->opts.timeout_ms);
        return;
    }
    describe_stmt(q->stmts[q->cur], what, sizeof(what));
    finish(q, FO_ETIMEDOUT, 0, "statement %u (%s): timed out after %u ms", q->cur + 1, what, q->opts.timeout_ms);
}

/* ------------------------------------------------------------------ connecting */

static void connect_to(struct fo_sql *q, const char *addr)
{
    MYSQL *ret = NULL;
    unsigned proto = MYSQL_PROTOCOL_TCP;
    int status;

    snprintf(q->addr, sizeof(q->addr), "%s", addr);
    q->m = mysql_init(NULL);
    if (q->m == NULL || mysql_options(q->m, MYSQL_OPT_NONBLOCK, 0) != 0 ||
        mysql_options(q->m, MYSQL_OPT_PROTOCOL, &proto) != 0) {
        finish(q, FO_ENOMEM, 0, "connect to %s:%u: out of memory", q->host, q->port);
        return;
    }
    q->phase = PH_CONNECT;
    status =
        mysql_real_connect_start(&ret, q->m, q->addr, q->user, q->password, NULL, q->port, NULL, CLIENT_MULTI_RESULTS);
    if (status == 0)
        connected(q, ret != NULL);
    else
        watch(q, status);
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct resolve *r = req->data;
    struct fo_sql *q = r->q;
    char addr[INET6_ADDRSTRLEN] = "";

    if (status == 0 && res != NULL) {
        if (res->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, addr, sizeof(addr));
        else if (res->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, addr, sizeof(addr));
    }
    uv_freeaddrinfo(res);
    free(r);
    if (q == NULL) return;
    q->resolve = NULL;
    if (addr[0] == '\0') {
        finish(q, FO_EUNREACHABLE, 0, "resolve %s: %s", q->host, status != 0 ? uv_strerror(status) : "no address");
        return;
    }
    connect_to(q, addr);
}

static bool is_ip_literal(const char *h)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

static void begin(struct fo_sql *q)
{
    struct addrinfo hints;
    struct resolve *r;
    unsigned bound = q->opts.timeout_ms;

    if (q->opts.connect_timeout_ms != 0 && q->opts.connect_timeout_ms < bound) {
        bound = q->opts.connect_timeout_ms;
        q->connect_bound = true;
    }
    uv_timer_start(&q->deadline, deadline_cb, bound, 0);
    if (is_ip_literal(q->host)) {
        connect_to(q, q->host);
        return;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        finish(q, FO_ENOMEM, 0, "resolve %s: out of memory", q->host);
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    r->q = q;
    r->req.data = r;
    q->phase = PH_RESOLVE;
    if (uv_getaddrinfo(q->loop, &r->req, resolved, q->host, NULL, &hints) != 0) {
        free(r);
        finish(q, FO_EUNREACHABLE, 0, "resolve %s: cannot start lookup", q->host);
        return;
    }
    q->resolve = r;
}

/* ------------------------------------------------------------------ public */

static bool valid_args(uv_loop_t *loop, const char *host, const char *user, const char *const *stmts, unsigned n_stmts,
                       const struct fo_sql_opts *opts, fo_sql_cb cb)
{
    unsigned i;

    if (loop == NULL || host == NULL || host[0] == '\0' || user == NULL || cb == NULL || opts == NULL) return false;
    if (n_stmts > FO_SQL_MAX_STMTS || (n_stmts > 0 && stmts == NULL)) return false;
    if (opts->timeout_ms == 0 || opts->n_tolerate > sizeof(opts->tolerate) / sizeof(opts->tolerate[0])) return false;
    for (i = 0; i < n_stmts; i++)
        if (stmts[i] == NULL) return false;
    return true;
}

/* Copies host, user, password and the statements into the one block q->strs. */
static int copy_strings(struct fo_sql *q, const char *host, const char *user, const char *password,
                        const char *const *stmts, unsigned n_stmts)
{
    const char *src[3 + FO_SQL_MAX_STMTS] = {host, user, password != NULL ? password : ""};
    const char **dst[3 + FO_SQL_MAX_STMTS] = {&q->host, &q->user, &q->password};
    size_t lens[3 + FO_SQL_MAX_STMTS], total = 0;
    unsigned i, n = 3 + n_stmts;
    char *p;

    for (i = 0; i < n_stmts; i++) {
        src[3 + i] = stmts[i];
        dst[3 + i] = &q->stmts[i];
    }
    for (i = 0; i < n; i++) {
        lens[i] = strlen(src[i]);
        total += lens[i] + 1;
    }
    if ((q->strs = malloc(total)) == NULL) return FO_ENOMEM;
    q->strs_len = total;
    p = q->strs;
    for (i = 0; i < n; i++) {
        memcpy(p, src[i], lens[i] + 1);
        *dst[i] = p;
        p += lens[i] + 1;
    }
    q->n_stmts = n_stmts;
    return 0;
}

struct fo_sql *fo_sql_run(uv_loop_t *loop, const char *host, uint16_t port, const char *user, const char *password,
                          const char *const *stmts, unsigned n_stmts, const struct fo_sql_opts *opts, fo_sql_cb cb,
                          void *data)
{
    struct fo_sql *q;

    if (!valid_args(loop, host, user, stmts, n_stmts, opts, cb)) return NULL;
    if ((q = calloc(1, sizeof(*q))) == NULL) return NULL;
    if (copy_strings(q, host, user, password, stmts, n_stmts) != 0) {
        free(q);
        return NULL;
    }
    q->loop = loop;
    q->port = port;
    q->opts = *opts;
    q->cb = cb;
    q->data = data;
    q->t0 = uv_now(loop);
    q->phase = PH_START;
    uv_timer_init(loop, &q->deadline);
    uv_timer_init(loop, &q->lib_timer);
    q->deadline.data = q;
    q->lib_timer.data = q;
    q->open_handles = 2;
    FO_DEBUG(MOD, "%s:%u: running %u statement(s) as %s", q->host, q->port, n_stmts, q->user);
    /* Any failure from here on is reported through the callback, from a close
     * callback, so never before fo_sql_run has returned. */
    begin(q);
    return q;
}

void fo_sql_cancel(struct fo_sql *q)
{
    if (q == NULL) return;
    if (q->finishing) {
        /* Outcome decided but not yet delivered: the header promises FO_ECANCELED. */
        q->status = FO_ECANCELED;
        q->err_no = 0;
        snprintf(q->error, sizeof(q->error), "canceled");
        return;
    }
    finish(q, FO_ECANCELED, 0, "canceled");
}

int fo_sql_quote(const char *s, char *out, size_t outlen)
{
    size_t o = 0;

    if (out == NULL || outlen < 3) {
        if (out != NULL && outlen > 0) out[0] = '\0';
        return FO_ETOOBIG;
    }
    out[o++] = '\'';
    for (; *s != '\0'; s++) {
        bool esc = *s == '\'' || *s == '\\';

        if (o + (esc ? 2 : 1) + 2 > outlen) { /* room for the closing quote and NUL */
            out[0] = '\0';
            return FO_ETOOBIG;
        }
        if (esc) out[o++] = *s == '\'' ? '\'' : '\\';
        out[o++] = *s;
    }
    out[o++] = '\'';
    out[o] = '\0';
    return 0;
}
