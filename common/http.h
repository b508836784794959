/* Embedded HTTP server for /metrics, /health, /leader (libmicrohttpd).
 *
 * libmicrohttpd runs inside the caller's libuv loop, with no thread of its own: the
 * daemon uses MHD's epoll mode; its epoll fd is watched with a uv_poll and MHD_run()
 * is called when it is readable or when MHD's own timeout (uv_timer) expires. So the
 * handler callback runs on the loop thread and may read controller state directly.
 * Only GET and HEAD are served; other methods get 405. Request bodies are refused.
 *
 * Budgets (DESIGN.md §10, issue 9: slow connections must not starve the /health and
 * /leader that load balancers poll): at most max_conns connections, at most
 * max_per_source from one IP address (MHD accepts and closes the rest at once), and a
 * connection idle for timeout_s is closed. fo_http_start uses FO_HTTP_DEFAULT_LIMITS. */
#ifndef FO_HTTP_H
#define FO_HTTP_H

#include <stdint.h>
#include <uv.h>

#include "common/buf.h"
#include "common/err.h"

struct fo_http;

struct fo_http_limits {
    unsigned max_conns;      /* 2.. */
    unsigned max_per_source; /* 1..max_conns */
    unsigned timeout_s;      /* 1..3600 */
};
#define FO_HTTP_DEFAULT_LIMITS ((struct fo_http_limits){128, 8, 5})

/* Called on the loop thread for each GET/HEAD. Fills body, sets *content_type
 * (static string; NULL means "text/plain; charset=utf-8") and returns the HTTP status. */
typedef int (*fo_http_handler_cb)(void *data, const char *url, struct fo_buf *body, const char **content_type);

/* addr is "IPv4:port" (port 0 = pick a free one, see fo_http_port). */
int fo_http_start(struct fo_http **out, uv_loop_t *loop, const char *addr, fo_http_handler_cb cb, void *data,
                  char err[FO_ERRLEN]);
/* The same with explicit budgets (FO_EINVAL for limits outside the ranges above). */
int fo_http_start_limited(struct fo_http **out, uv_loop_t *loop, const char *addr, const struct fo_http_limits *lim,
                          fo_http_handler_cb cb, void *data, char err[FO_ERRLEN]);
uint16_t fo_http_port(const struct fo_http *h);

/* Stops the daemon and closes the uv handles; closed_cb (may be NULL) fires once,
 * from the loop, when all handles are closed and h has been freed. Call it once.
 * It may be called from inside the handler callback: the stop then takes effect as
 * soon as libmicrohttpd returns control to the loop. */
typedef void (*fo_http_closed_cb)(void *data);
void fo_http_stop(struct fo_http *h, fo_http_closed_cb closed_cb, void *data);

#endif
