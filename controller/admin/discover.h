/* Topology discovery from one server (issue 14.2; `failoverctl cluster discover`).
 *
 * From the seed, every server reached is read with three short statement lists
 * (mysql/sqlexec.h, non-blocking, a fresh connection each): its variables and the
 * hosts of its binlog dump threads (FO_SAMPLE_Q1 + information_schema.PROCESSLIST),
 * its replication sources (SHOW ALL SLAVES STATUS, or SHOW SLAVE STATUS where that
 * does not exist) and the replicas registered with it (SHOW SLAVE HOSTS). Its source
 * is walked up; its replicas are walked down: a replica that set report_host is
 * reached at report_host:report_port; one that did not is reached at the address of
 * its dump thread and, failing a port from SHOW SLAVE HOSTS, at its source's port
 * (a note says so). Each server's edge is what its own SHOW SLAVE STATUS says, never
 * what its source lists. A server reached under two addresses (same server_id) is kept
 * once, with a note. Servers are visited one at a time, at most max_servers (and 256),
 * each connection bounded by connect_timeout_ms and each list by timeout_ms, and the
 * whole walk by deadline_ms: what was not visited by then is reported unvisited.
 *
 * Read-only: nothing is written to any server or to the store. Loop thread only.
 * Callback contract (STYLE.md §4): if fo_discover_start returns an error the callback
 * never fires; otherwise exactly once, with FO_ECANCELED after fo_discover_cancel. */
#ifndef FO_CONTROLLER_ADMIN_DISCOVER_H
#define FO_CONTROLLER_ADMIN_DISCOVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "common/err.h"
#include "mysql/sample.h"

#define FO_DISCOVER_MAX 256u
#define FO_DISCOVER_NOTE_LEN 256u
#define FO_DISCOVER_MAX_NOTES 64u

struct fo_discover_server {
    char host[FO_HOST_LEN];
    uint16_t port;
    bool visited; /* tried (reached or not) */
    bool reached; /* read completely */
    char error[FO_ERRLEN];
    char found_by[FO_ADDR_LEN + 48];
    struct fo_sample s; /* valid when reached */
};

struct fo_discover_result {
    struct fo_discover_server *servers; /* n of them, the seed first */
    unsigned n;
    char (*notes)[FO_DISCOVER_NOTE_LEN];
    unsigned n_notes;
};

struct fo_discover_opts {
    const char *user;
    const char *password;
    const struct fo_mysql_tls *tls; /* NULL = ssl_mode preferred */
    unsigned max_servers;           /* 0 or more than FO_DISCOVER_MAX: FO_DISCOVER_MAX */
    unsigned connect_timeout_ms;
    unsigned timeout_ms;  /* each statement list */
    unsigned deadline_ms; /* the whole walk */
};

struct fo_discover;

/* res is valid only during the callback. status is 0 when the walk ended (servers may
 * still have errors), FO_ECANCELED, or FO_ENOMEM. */
typedef void (*fo_discover_cb)(void *data, int status, const struct fo_discover_result *res);

/* Copies every string. Returns 0 with *out set, or FO_EINVAL / FO_ENOMEM. */
int fo_discover_start(struct fo_discover **out, uv_loop_t *loop, const char *seed_host, uint16_t seed_port,
                      const struct fo_discover_opts *o, fo_discover_cb cb, void *data, char err[FO_ERRLEN]);

/* The same walk from several seeds (periodic rediscovery starts from every registered
 * server of a cluster): all are queued first, in order ("seed" in found_by), then
 * whatever they lead to. Seeds beyond max_servers are noted, not visited. */
int fo_discover_start_seeds(struct fo_discover **out, uv_loop_t *loop, const struct fo_endpoint *seeds,
                            unsigned n_seeds, const struct fo_discover_opts *o, fo_discover_cb cb, void *data,
                            char err[FO_ERRLEN]);

/* The callback fires with FO_ECANCELED (now or once the running statement list has
 * been cancelled). */
void fo_discover_cancel(struct fo_discover *d);

/* Pure helpers, exposed for unit tests. The host part of a PROCESSLIST HOST value
 * ("10.0.0.5:41234", "[::1]:5000", "localhost" -> 0 with "" for a socket), into out. */
int fo_discover_host_of(const char *processlist_host, char *out, size_t outlen);

#endif
