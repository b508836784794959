/* Runs a short list of statements on a fresh non-blocking connection (see
 * mysql/sqlexec.h). The connection itself (Connector/C on uv_poll, name
 * lookups, the teardown) is mysql/myconn.h, shared with controller/probe/prober.c;
 * here it runs once per request and the request ends when every handle is closed. */
#include "mysql/sqlexec.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "mysql/myconn.h"

#define MOD "sqlexec"
#define ERRTEXT 768                /* room for the statement prefix and the server's message */
#define STMT_SHOWN 60              /* characters of a statement quoted in an error */
#define ROWS_MAX_BYTES (64u << 20) /* bound on the copied result set */
#define CR_FIRST_CLIENT_ERROR 2000 /* Connector/C's own errors start here (CR_MIN_ERROR) */

struct fo_sql {
    uv_loop_t *loop;
    uv_timer_t deadline;    /* connect bound while connecting, then the whole run's */
    struct fo_myconn *conn; /* NULL once closed (or if it could not be created) */
    bool connected;
    bool connect_bound; /* the deadline armed is connect_timeout_ms */
    bool finishing;     /* outcome decided, handles closing */
    unsigned open_handles;
    unsigned cur; /* index of the running statement */

    /* One block holds every copied string; it is wiped before it is freed since it
     * holds the password and possibly MASTER_PASSWORD literals. */
    char *strs;
    size_t strs_len;
    const char *host, *user, *password;
    const char *stmts[FO_SQL_MAX_STMTS];
    unsigned n_stmts;
    uint16_t port;
    struct fo_sql_opts opts;
    struct fo_mysql_tls tls; /* opts.tls points here */
    uint64_t t0;
    fo_sql_cb cb;
    void *data;

    int status;
    unsigned err_no;
    char error[ERRTEXT];
    struct fo_sql_rows rows;
    void *rows_mem; /* NULL until a statement returned a result set */
};

static void next_stmt(struct fo_sql *q);
static void result_ready(struct fo_sql *q);

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

static void closed(void *data)
{
    struct fo_sql *q = data;

    if (--q->open_handles == 0) deliver(q);
}

static void handle_closed(uv_handle_t *h)
{
    closed(h->data);
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
    q->status = status;
    q->err_no = err_no;
    q->error[0] = '\0';
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(q->error, sizeof(q->error), fmt, ap);
        va_end(ap);
    }
    if (q->conn != NULL) {
        q->open_handles++; /* until the connection's close callback */
        fo_myconn_close(q->conn, closed);
        q->conn = NULL;
    }
    uv_close((uv_handle_t *)&q->deadline, handle_closed);
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
    MYSQL *m = fo_myconn_mysql(q->conn);
    unsigned e = mysql_errno(m);
    char what[STMT_SHOWN + 8], why[ERRTEXT / 2];

    describe_stmt(q->stmts[q->cur], what, sizeof(what));
    describe_error(q->stmts[q->cur], msg != NULL ? msg : mysql_error(m), why, sizeof(why));
    if (msg == NULL && e != 0 && tolerated(q, e)) {
        FO_INFO(MOD, "%s:%u statement %u (%s): tolerated error %u: %s", q->host, q->port, q->cur + 1, what, e, why);
        q->cur++;
        next_stmt(q);
        return;
    }
    finish(q, status, msg != NULL ? 0 : e, "statement %u (%s): %s", q->cur + 1, what, why);
}

/* The one failure every operation shares: the socket could not be watched. */
static bool io_failed(struct fo_sql *q, int status)
{
    if (status != FO_EIO) return false;
    finish(q, FO_EIO, 0, "%s:%u: %s", q->host, q->port, fo_myconn_error(q->conn));
    return true;
}

static void queried(void *data, int status, MYSQL_RES *res)
{
    struct fo_sql *q = data;

    if (io_failed(q, status)) return;
    if (status != 0)
        stmt_failed(q, FO_EMYSQL, NULL);
    else
        result_ready(q);
}

static void next_stmt(struct fo_sql *q)
{
    if (q->cur >= q->n_stmts) {
        finish(q, 0, 0, NULL);
        return;
    }
    fo_myconn_query(q->conn, q->stmts[q->cur], queried);
}

static void after_result(struct fo_sql *q);

static void next_result_ready(void *data, int status, MYSQL_RES *res)
{
    struct fo_sql *q = data;

    if (io_failed(q, status)) return;
    if (status == FO_EMYSQL)
        stmt_failed(q, FO_EMYSQL, NULL);
    else if (status == 0)
        result_ready(q);
    else
        after_result(q);
}

/* The current statement (or its next result) finished: consume any more results,
 * then move on. */
static void after_result(struct fo_sql *q)
{
    if (!mysql_more_results(fo_myconn_mysql(q->conn))) {
        q->cur++;
        next_stmt(q);
        return;
    }
    fo_myconn_next_result(q->conn, next_result_ready);
}

static void stored(void *data, int status, MYSQL_RES *res)
{
    struct fo_sql *q = data;
    int rc;

    if (io_failed(q, status)) return;
    if (status == FO_ETOOBIG) { /* over myconn.h's bounds: never buffered whole */
        stmt_failed(q, FO_ETOOBIG, fo_myconn_error(q->conn));
        return;
    }
    if (res == NULL) {
        stmt_failed(q, FO_EMYSQL, mysql_errno(fo_myconn_mysql(q->conn)) != 0 ? NULL : "no result set");
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
    if (mysql_field_count(fo_myconn_mysql(q->conn)) == 0) {
        after_result(q);
        return;
    }
    fo_myconn_store_result(q->conn, stored);
}

static void deadline_cb(uv_timer_t *t)
{
    struct fo_sql *q = t->data;
    char what[STMT_SHOWN + 8];

    if (q->finishing) return;
    if (!q->connected) {
        finish(q, FO_ETIMEDOUT, 0, "connect to %s:%u: timed out after %u ms", q->host, q->port,
               q->connect_bound ? q->opts.connect_timeout_ms : q->opts.timeout_ms);
        return;
    }
    describe_stmt(q->stmts[q->cur], what, sizeof(what));
    finish(q, FO_ETIMEDOUT, 0, "statement %u (%s): timed out after %u ms", q->cur + 1, what, q->opts.timeout_ms);
}

/* ------------------------------------------------------------------ connecting */

static void connected(void *data, int status, MYSQL_RES *res)
{
    struct fo_sql *q = data;
    uint64_t elapsed;
    unsigned e;

    if (io_failed(q, status)) return;
    if (status == FO_EUNREACHABLE || status == FO_ENOMEM) { /* the host-name lookup */
        finish(q, status, 0, "resolve %s: %s", q->host, fo_myconn_error(q->conn));
        return;
    }
    if (status != 0) {
        e = mysql_errno(fo_myconn_mysql(q->conn));
        finish(q, e >= CR_FIRST_CLIENT_ERROR || e == 0 ? FO_EUNREACHABLE : FO_EMYSQL, 0, "connect to %s:%u: %s",
               q->host, q->port, fo_myconn_error(q->conn));
        return;
    }
    q->connected = true;
    elapsed = uv_now(q->loop) - q->t0;
    q->connect_bound = false;
    uv_timer_start(&q->deadline, deadline_cb, q->opts.timeout_ms > elapsed ? q->opts.timeout_ms - elapsed : 0, 0);
    next_stmt(q);
}

static void begin(struct fo_sql *q)
{
    unsigned bound = q->opts.timeout_ms;
    char err[FO_ERRLEN];

    if (q->opts.connect_timeout_ms != 0 && q->opts.connect_timeout_ms < bound) {
        bound = q->opts.connect_timeout_ms;
        q->connect_bound = true;
    }
    uv_timer_start(&q->deadline, deadline_cb, bound, 0);
    q->conn = fo_myconn_new(q->loop, q->user, q->password, q);
    if (q->conn == NULL || fo_myconn_set_tls(q->conn, &q->tls, err) != 0) {
        finish(q, FO_ENOMEM, 0, "connect to %s:%u: out of memory", q->host, q->port);
        return;
    }
    fo_myconn_connect(q->conn, q->host, q->port, CLIENT_MULTI_RESULTS, connected);
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
    if (opts->tls != NULL && (opts->tls->mode == FO_SSL_VERIFY_CA || opts->tls->mode == FO_SSL_VERIFY_IDENTITY) &&
        opts->tls->ca[0] == '\0')
        return false;
    return (unsigned)(opts->tls != NULL ? opts->tls->mode : FO_SSL_PREFERRED) <= FO_SSL_VERIFY_IDENTITY;
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
    q->tls.mode = FO_SSL_PREFERRED;
    if (opts->tls != NULL) q->tls = *opts->tls;
    q->opts.tls = &q->tls;
    q->cb = cb;
    q->data = data;
    q->t0 = uv_now(loop);
    uv_timer_init(loop, &q->deadline);
    q->deadline.data = q;
    q->open_handles = 1;
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
