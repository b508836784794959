/* Runs a short list of SQL statements on one MySQL/MariaDB server without blocking
 * the loop (Connector/C non-blocking API + uv_poll, like controller/probe/prober.h), on a
 * fresh connection that is closed afterwards. Used by the failover steps (stop IO
 * threads, wait for relay logs, promote, repoint), by rejoin and by failover-agent
 * (mysql/fence.h runs its own single connection).
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

#include "common/config.h" /* struct fo_mysql_tls */
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
    /* TLS to the server and the authentication plugins that go with it
     * (mysql/myconn.h); copied. NULL = the defaults (ssl_mode preferred). */
    const struct fo_mysql_tls *tls;
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

/* Fencing lives in mysql/fence.h (one implementation for the failover engine,
 * rejoin and failover-agent); this module only runs statement lists. */

/* Details of mysql/sqlexec.c (added with the implementation):
 *
 * - fo_sql_run returns NULL for bad arguments (NULL host/user/cb/opts, empty host,
 *   more than FO_SQL_MAX_STMTS statements or 8 tolerated codes, a NULL statement,
 *   timeout_ms 0, a tls verify mode without a CA) or out of memory. connect_timeout_ms 0 means "bounded by timeout_ms
 *   only". n_stmts 0 just connects and disconnects. Every string is copied.
 * - The callback never fires before fo_sql_run returned (it fires from the last
 *   close callback); q is invalid once it started. A cancel after the outcome was
 *   decided but before the callback still reports FO_ECANCELED. A host-name lookup
 *   still running in libuv's thread pool at that point is abandoned and completes
 *   on its own.
 * - status: 0; FO_EUNREACHABLE (resolve failed, TCP connect failed or the connection
 *   broke during the handshake: Connector/C's own errors); FO_EMYSQL (the server
 *   refused the login, or a statement failed; mysql_errno is then the statement's
 *   error number, client errors such as 2013 included); FO_ETIMEDOUT; FO_ECANCELED;
 *   FO_ENOMEM; FO_ETOOBIG (a result set over 64 MiB, or a row or value over
 *   mysql/myconn.h's bounds: the error names the statement and the column). error is NULL when status is 0;
 *   rows is NULL when status is not 0.
 * - Statements are numbered from 1: "statement 2 (<statement>): <server message>",
 *   the statement shown up to 60 characters (then " ..."), control characters as
 *   spaces; a timeout names the running statement too ("statement 2 (SELECT
 *   SLEEP(5)): timed out after 600 ms"), connect errors read "connect to host:port:
 *   ..." . A connect refused for TLS or for the server's authentication method
 *   (mysql/myconn.h) is FO_EUNREACHABLE: nothing was logged in, and the text
 *   says what was refused ("connect to h:p: TLS (ssl_mode verify_ca): ..."). A statement that contains PASSWORD (MASTER_PASSWORD, SET PASSWORD, ...) or
 *   IDENTIFIED is shown only up to the word holding that keyword ("CHANGE MASTER TO
 *   ..."), and the server's message about it is cut before its first quote, since
 *   servers quote the statement there (a syntax error's "near '...'").
 * - Tolerated errors are logged at INFO and the list goes on. Every result set of
 *   a statement is consumed (a CALL may return several; the last one counts). Rows
 *   beyond FO_SQL_MAX_ROWS and columns beyond FO_SQL_MAX_COLS are dropped with a
 *   warning in the log. A host name resolves with uv_getaddrinfo and the first
 *   address is used. */

#endif
