/* One MariaDB Connector/C connection driven on a libuv loop without blocking it
 * (STYLE.md §8): the non-blocking *_start / *_cont API, a uv_poll on the
 * connection's socket for MYSQL_WAIT_READ / _WRITE / _EXCEPT, a uv_timer for
 * Connector/C's own MYSQL_WAIT_TIMEOUT requests, and uv_getaddrinfo for host names.
 * TCP is always used. controller/prober.c (persistent probe connections) and
 * controller/sqlexec.c (one-shot statement lists) are built on it.
 *
 * The module has no timeouts of its own: callers bound connects and queries with
 * their own timers and close the connection when one expires.
 *
 * Ownership: a fo_myconn owns its MYSQL handle, its poll and timer handles and its
 * copy of the credentials (wiped before they are freed). The caller owns every
 * MYSQL_RES an operation hands over (mysql_free_result). All calls are made on the
 * loop's thread.
 *
 * Callbacks (STYLE.md §4; a fo_myconn behaves like a libuv handle):
 * - At most one operation runs at a time. Its callback fires exactly once, unless
 *   fo_myconn_close is called first: after fo_myconn_close no operation callback
 *   ever fires. The operation functions cannot fail: every outcome, errors
 *   included, goes through the callback.
 * - An operation that Connector/C completes without waiting calls back before the
 *   function returns. A callback may start the next operation or close the
 *   connection; the connection stays valid until close_cb.
 * - Between operations nothing is watched: a connection left open stays quiet (a
 *   peer that hangs up is noticed by the next operation). */
#ifndef FO_MYCONN_H
#define FO_MYCONN_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/err.h"

struct fo_myconn;

/* Completion of an operation. status is 0 on success, or:
 *   FO_EMYSQL        Connector/C reported a failure: mysql_errno / mysql_error on
 *                    fo_myconn_mysql() (also fo_myconn_error()) tell what;
 *   FO_EUNREACHABLE  (connect) the host name did not resolve or the lookup could
 *                    not be started;
 *   FO_ENOMEM        (connect) the lookup could not be allocated;
 *   FO_EIO           the connection's socket could not be watched;
 *   FO_ENOTFOUND     (next_result) there was no further result.
 * res is the stored result set (store_result only; possibly NULL, see there),
 * which the callback then owns; NULL for every other operation. */
typedef void (*fo_myconn_cb)(void *data, int status, MYSQL_RES *res);

/* Fires once every handle of a closed connection is closed, on a later loop
 * iteration than fo_myconn_close; the fo_myconn is already freed. */
typedef void (*fo_myconn_close_cb)(void *data);

/* A connection object for user (not NULL) / password (NULL for ""), both copied,
 * not yet connected. data is passed to every callback. NULL on allocation failure
 * (Connector/C's mysql_init included). */
struct fo_myconn *fo_myconn_new(uv_loop_t *loop, const char *user, const char *password, void *data);

/* Connects and logs in (no default database) with client_flags (e.g.
 * CLIENT_MULTI_RESULTS). An IP literal is used as is; a name is resolved with
 * uv_getaddrinfo and its first address used. Once per connection. */
void fo_myconn_connect(struct fo_myconn *c, const char *host, uint16_t port, unsigned long client_flags,
                       fo_myconn_cb cb);

/* Sends stmt and reads the server's first reply (mysql_real_query). stmt is
 * NUL-terminated and must stay valid until the callback fires or the connection is
 * closed (Connector/C may still be sending it). On success the statement's result,
 * if it has one (mysql_field_count), must be read with fo_myconn_store_result.
 * Connected only. */
void fo_myconn_query(struct fo_myconn *c, const char *stmt, fo_myconn_cb cb);

/* Reads the current result set (mysql_store_result). status 0 with res NULL means
 * an error (mysql_errno != 0) or no result set. Connected only. */
void fo_myconn_store_result(struct fo_myconn *c, fo_myconn_cb cb);

/* Moves to the next result of a statement that returned several (call only when
 * mysql_more_results says so): status 0 (read it as after fo_myconn_query),
 * FO_EMYSQL or FO_ENOTFOUND. Connected only. */
void fo_myconn_next_result(struct fo_myconn *c, fo_myconn_cb cb);

/* The Connector/C handle, for inspection only (mysql_errno, mysql_error,
 * mysql_field_count, mysql_more_results): no I/O on it. Valid until fo_myconn_close. */
MYSQL *fo_myconn_mysql(struct fo_myconn *c);

/* Text of the last failed operation: mysql_error() after FO_EMYSQL, otherwise the
 * module's own ("Name or service not known", "no address", "cannot start lookup",
 * "out of memory", "cannot watch the connection socket"). Never NULL; never holds
 * the password. Valid until the next operation or fo_myconn_close. */
const char *fo_myconn_error(struct fo_myconn *c);

/* Closes the connection, from anywhere (an operation's callback included). The
 * operation in progress is abandoned and its callback never fires; a host-name
 * lookup still running in libuv's thread pool completes on its own and is then
 * freed. The socket is shut down first so that mysql_close's COM_QUIT cannot block
 * on a hung peer, and the poll handle leaves epoll before the descriptor is closed.
 * close_cb (may be NULL) fires exactly once, on a later iteration, once c is freed.
 * Call once. */
void fo_myconn_close(struct fo_myconn *c, fo_myconn_close_cb close_cb);

#endif
