/* Runs a short list of SQL statements on one MySQL/MariaDB server without blocking
 * the loop (Connector/C non-blocking API + uv_poll, like controller/prober.h), on a
 * fresh connection that is closed afterwards. Used by the failover steps (fence,
 * stop IO threads, wait for relay logs, promote, repoint) and by rejoin.
 *
 * Statements run in order; the first failure stops the list (unless the statement
 * is listed in `tolerate`, see below) and is reported with the statement's index and
 * the server's error text. The rows of the LAST statement that returned a result set
 * are kept and handed to the callback (at most FO_SQL_MAX_ROWS rows x
 * FO_SQL_MAX_COLS columns; values copied, NULL -> NULL pointer).
 * connect_timeout_ms bounds resolve + connect + handshake; timeout_ms bounds the
 * whole run. The password is never logged or put in an error text.
 *
 * Callback contract (STYLE.md §4): if fo_sql_run returns NULL the callback never
 * fires; otherwise it fires exactly once, with FO_ECANCELED after fo_sql_cancel. */
#ifndef FO_SQLEXEC_H
#define FO_SQLEXEC_H

#include <stdint.h>
#include <uv.h>

#include "common/err.h"

#define FO_SQL_MAX_STMTS 32
#define FO_SQL_MAX_ROWS 1024
#define FO_SQL_MAX_COLS 64

struct fo_sql;

struct fo_sql_rows {
    unsigned n_rows;
    unsigned n_cols;
    const char *const *names;  /* n_cols column names */
    const char *const *values; /* n_rows * n_cols, row-major; NULL for SQL NULL */
};

struct fo_sql_opts {
    unsigned connect_timeout_ms;
    unsigned timeout_ms;
    /* Server error numbers that do not stop the list (e.g. 1200 ER_SLAVE_NOT_RUNNING-
     * style warnings are not errors; this is for real errors a step may ignore). */
    unsigned tolerate[8];
    unsigned n_tolerate;
};

/* status 0: all statements ran; rows may be NULL if none returned a result set.
 * status != 0: error names the failing statement index and the server's message,
 * e.g. "statement 2 (CHANGE MASTER TO ...): Access denied ..."; mysql_errno is the
 * server's error number (0 for connect/timeout failures). */
typedef void (*fo_sql_cb)(void *data, int status, unsigned mysql_errno, const char *error,
                          const struct fo_sql_rows *rows);

struct fo_sql *fo_sql_run(uv_loop_t *loop, const char *host, uint16_t port, const char *user, const char *password,
                          const char *const *stmts, unsigned n_stmts, const struct fo_sql_opts *opts, fo_sql_cb cb,
                          void *data);

/* The callback fires (with FO_ECANCELED) before this returns or on a later
 * iteration; memory is released when every handle is closed. */
void fo_sql_cancel(struct fo_sql *q);

/* Escapes s as a single-quoted SQL string literal into out ('' for quotes, \\ for
 * backslash). Returns 0 or FO_ETOOBIG. */
int fo_sql_quote(const char *s, char *out, size_t outlen);

#endif
