/* One MariaDB Connector/C connection driven on a libuv loop without blocking it
 * (STYLE.md §8): the non-blocking *_start / *_cont API, a uv_poll on the
 * connection's socket for MYSQL_WAIT_READ / _WRITE / _EXCEPT, a uv_timer for
 * Connector/C's own MYSQL_WAIT_TIMEOUT requests, and uv_getaddrinfo for host names.
 * TCP is always used. controller/probe/prober.c (persistent probe connections) and
 * mysql/sqlexec.c (one-shot statement lists) are built on it.
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
 * - Between operations nothing is watched (a peer that hangs up is noticed by the
 *   next operation), unless the owner asked for it with fo_myconn_watch_idle.
 *
 * Security (DESIGN.md §10, common/config.h "MySQL connections"): every connection
 * may use only the authentication plugins of fo_mysql_auth_plugins(mode), so the
 * password is never sent in cleartext (mysql_clear_password, dialog) to a server or
 * to a man in the middle; a server asking for anything else gets no password byte.
 * TLS follows the mode set with fo_myconn_set_tls (default preferred). In the
 * required modes a server that does not offer TLS is refused before anything is
 * sent in answer to its greeting (should Connector/C read the greeting before this
 * module sees it, the session is refused right after the login, which then carried
 * only a scramble), a failed handshake or verification fails the connect, and a
 * session that ends up unencrypted anyway is refused. */
#ifndef FO_MYCONN_H
#define FO_MYCONN_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h" /* struct fo_mysql_tls */
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
 * not yet connected, with the default TLS settings (ssl_mode preferred, no CA) and
 * the plugin restriction for them. data is passed to every callback. NULL on
 * allocation failure (Connector/C's mysql_init included). */
struct fo_myconn *fo_myconn_new(uv_loop_t *loop, const char *user, const char *password, void *data);

/* Sets the TLS mode and CA (copied) for the coming connect, and the authentication
 * plugins that go with the mode; NULL = the defaults. Before fo_myconn_connect only.
 * Returns 0, or FO_EINVAL (unknown mode, a verify mode without a CA) / FO_ENOMEM
 * with the reason in err; the connection keeps its previous settings then.
 * verify_identity checks the certificate against the host passed to
 * fo_myconn_connect: a name is handed to Connector/C as a name (after this module's
 * own lookup succeeded, Connector/C resolves it once more on the loop's thread), an
 * IP literal must be in the certificate's subjectAltName. */
int fo_myconn_set_tls(struct fo_myconn *c, const struct fo_mysql_tls *tls, char err[FO_ERRLEN]);

/* The cipher of the connected session (e.g. "TLS_AES_256_GCM_SHA384"), or NULL when
 * it is not encrypted or not connected. */
const char *fo_myconn_tls_cipher(struct fo_myconn *c);

/* Connects and logs in (no default database) with client_flags (e.g.
 * CLIENT_MULTI_RESULTS). An IP literal is used as is; a name is resolved with
 * uv_getaddrinfo and its first address used. Once per connection. */
void fo_myconn_connect(struct fo_myconn *c, const char *host, uint16_t port, unsigned long client_flags,
                       fo_myconn_cb cb);

/* Sends stmt and reads the server's first reply (as mysql_real_query, but the reply is
 * read only once the socket is readable: no recv that finds nothing). stmt is
 * NUL-terminated and must stay valid until the callback fires or the connection is
 * closed (Connector/C may still be sending it). On success the statement's result,
 * if it has one (mysql_field_count), must be read with fo_myconn_store_result.
 * Connected only. */
void fo_myconn_query(struct fo_myconn *c, const char *stmt, fo_myconn_cb cb);

/* The stack each connection's non-blocking calls run on (MYSQL_OPT_NONBLOCK), in
 * bytes; Connector/C's default is 60 KiB, and with 10,000 probe connections (issue 12)
 * every KiB counts. Connector/C mallocs it without a guard page, so an overflow would
 * corrupt the heap silently: tests/unit/test_myconn_stack.c measures the deepest path
 * (TLS handshake, certificate and host name verification with the name resolved by
 * Connector/C, ed25519, error replies, refused logins and connects) on every run and
 * fails if it uses more than half of this. Measured on Debian 12 (Connector/C 3.3,
 * OpenSSL 3.0): 8.0 KiB without TLS, 12.4 KiB with it. Sanitizer builds keep the
 * default: their interceptors run on this stack too, and the test cannot measure there. */
#if defined(__SANITIZE_ADDRESS__)
#define FO_MYCONN_STACK_BYTES 61440u
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FO_MYCONN_STACK_BYTES 61440u
#endif
#endif
#ifndef FO_MYCONN_STACK_BYTES
#define FO_MYCONN_STACK_BYTES 32768u
#endif

/* Bounds on what a server may send in a result (issue 9: a hostile or broken server's
 * 50 MB field must not be buffered whole). A row is one protocol packet, and
 * Connector/C refuses a packet over the connection's max_allowed_packet, which this
 * module sets to FO_MYCONN_MAX_ROW_BYTES, while reading it; a single value over
 * FO_MYCONN_MAX_FIELD_BYTES is refused once the row is read. Both are far above
 * anything failoverd reads (SHOW SLAVE STATUS, GTID positions and states, error
 * texts). The number of rows is not bounded here: callers' read timeouts bound it. */
#define FO_MYCONN_MAX_ROW_BYTES (4u << 20)
#define FO_MYCONN_MAX_FIELD_BYTES (1u << 20)

/* Reads the current result set (mysql_store_result). status 0 with res NULL means no
 * result set (or an error, mysql_errno != 0). FO_ETOOBIG (res NULL): a value over
 * FO_MYCONN_MAX_FIELD_BYTES; fo_myconn_error() names it ("result too large: column 'v'
 * (row 1) holds 2097152 bytes, over 1048576"). A row over FO_MYCONN_MAX_ROW_BYTES ends
 * the connection: Connector/C 3.3 reports it as CR_SERVER_LOST (FO_EMYSQL, res NULL),
 * and fo_myconn_error() then names the result's columns and the limit ("reading the
 * result (columns: v): Lost connection to server during query (a row over 4194304
 * bytes is refused)"). Either way the connection should be closed. Connected only. */
void fo_myconn_store_result(struct fo_myconn *c, fo_myconn_cb cb);

/* Moves to the next result of a statement that returned several (call only when
 * mysql_more_results says so): status 0 (read it as after fo_myconn_query),
 * FO_EMYSQL or FO_ENOTFOUND. Connected only. */
void fo_myconn_next_result(struct fo_myconn *c, fo_myconn_cb cb);

/* Something happened on the socket of a connected connection between operations
 * (fo_myconn_watch_idle): status < 0 is libuv's error, events the UV_READABLE /
 * UV_DISCONNECT that arrived. Nothing has been read; the callback may look
 * (recv with MSG_PEEK), start an operation or close the connection. While the
 * condition lasts (level-triggered) it fires on every loop iteration, so it must do
 * one of the last two unless the event was spurious (nothing to read, no error). */
typedef void (*fo_myconn_idle_cb)(void *data, int status, int events);

/* Keeps the socket watched for as long as the connection lives, also between
 * operations, when cb fires on any event (cb NULL: not between operations, the
 * default). For persistent connections (controller/probe/prober.c): the socket
 * stays in epoll with the same events across operations, so running a query on an
 * idle connection costs no epoll_ctl call. Takes effect when the next operation
 * completes, or at once on a connected connection between operations. */
void fo_myconn_watch_idle(struct fo_myconn *c, fo_myconn_idle_cb cb);

/* The Connector/C handle, for inspection only (mysql_errno, mysql_error,
 * mysql_field_count, mysql_more_results): no I/O on it (a test may set options on it
 * before the connect). Valid until fo_myconn_close. */
MYSQL *fo_myconn_mysql(struct fo_myconn *c);

/* Text of the last failed operation: mysql_error() after FO_EMYSQL, otherwise the
 * module's own ("Name or service not known", "no address", "cannot start lookup",
 * "out of memory", "cannot watch the connection socket"). A refused connect says
 * why: "TLS (ssl_mode verify_ca): SSL connection error: ...", "TLS (ssl_mode
 * required): the server does not offer TLS; refused before logging in", "ssl_mode
 * required: the session is not encrypted; refused", "refused the server's
 * authentication method (allowed: ...): ...". Never NULL; never holds the password.
 * Valid until the next operation or fo_myconn_close. */
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
