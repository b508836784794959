/* Non-blocking health probes of MySQL/MariaDB servers (DESIGN.md §5).
 *
 * One fo_probe per watched server, all on the controller's libuv loop: no thread per
 * server. Each probe keeps a persistent connection (MariaDB Connector/C's
 * non-blocking *_start / *_cont API, driven by a uv_poll on the connection's socket)
 * and sends FO_SAMPLE_Q1 + FO_SAMPLE_Q2_ALL (every replication source) as one
 * multi-statement, FO_SAMPLE_PROBE_ALL, every interval: one round trip, two results.
 * A server that does not know SHOW ALL SLAVES STATUS (i.e. MySQL) gets FO_SAMPLE_Q2
 * on its own for that probe and FO_SAMPLE_PROBE from then on. A reply with fewer or
 * more results than two fails the probe and drops the connection. Host names are resolved with uv_getaddrinfo (never a blocking
 * lookup on the loop); TCP is always used.
 *
 * Timeouts are monotonic (uv timers): connect_timeout_ms covers resolve + TCP +
 * handshake; read_timeout_ms covers one probe's statement and both its results (a hung server, e.g.
 * SIGSTOPped, is detected this way since no RST ever arrives). On any failure the
 * connection is dropped and rebuilt: immediately at the next interval while the
 * failures are fewer than `down_after`, then with exponential backoff up to
 * FO_PROBE_MAX_BACKOFF_MS so a dead fleet does not cost a connect storm.
 *
 * Fast path (issue 11.1; the rule is in controller/probe/health.h): between two
 * probes the idle connection's socket is watched. A server never speaks on an idle
 * connection, so anything there -- EOF, a reset, an unasked packet (the server
 * ending the session) -- means the server closed it or died: the connection is
 * dropped and a new attempt starts at once on a fresh one, not at the next interval.
 * A connection lost in the middle of a probe's query is retried at once the same
 * way. Either retry happens once per scheduled attempt, plus one more when the
 * retry's connect is reset during the handshake (what a dying mysqld's listener does
 * to the connections in its backlog as it closes): a server that accepts and drops
 * every connection costs at most two extra attempts per interval, never a loop.
 * Retries are not reported by themselves: only the last attempt's outcome is, its
 * error prefixed with what led to it ("the server closed the idle probe connection;
 * connect: ..."). A killed mysqld on a live host is thus reported as
 * FO_PROBE_REFUSED within about a millisecond of its death; a server that only
 * killed our session (KILL, a fence, wait_timeout) is probed again at once and
 * reported OK.
 *
 * Scale (designed for 5,000 servers at a 1 s interval from one leader on one core):
 * each probe costs one round trip on an already-open connection (one send, usually
 * one recv, two result sets of one row); there is no per-probe allocation
 * beyond Connector/C's result buffers (and a row array for a replica of more than
 * FO_PROBE_STACK_SOURCES sources; the attempt's struct fo_sample lives only until it
 * reports), timers are libuv's heap (O(log n)), a connection is one epoll
 * registration for its whole life (the same events while a query waits and while it
 * is idle, so no epoll_ctl per probe), and reports go to the caller, which
 * proposes a raft command only when an instance's state changes. Connects are the
 * expensive part and happen only after failures.
 *
 * The report callback fires after every probe attempt (success or failure), never
 * after fo_probe_close(). */
#ifndef FO_PROBER_H
#define FO_PROBER_H

#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "controller/probe/health.h" /* enum fo_probe_outcome */
#include "mysql/sample.h"

#define FO_PROBE_MAX_BACKOFF_MS 5000
#define FO_PROBE_ERRLEN 512
/* Replication sources read per probe: a reply with more rows fails the probe with a
 * reason (bounded input, STYLE.md §10); up to FO_PROBE_STACK_SOURCES need no
 * allocation. */
#define FO_PROBE_MAX_SOURCES 64
#define FO_PROBE_STACK_SOURCES 4

struct fo_probe;

struct fo_probe_opts {
    unsigned interval_ms;
    unsigned connect_timeout_ms;
    unsigned read_timeout_ms;
    unsigned down_after;
    struct fo_mysql_tls tls; /* ssl_mode / ssl_ca of the cluster (common/config.h) */
};

/* outcome FO_PROBE_OK: the probe succeeded and s is valid (only during the call,
 * unless the callback takes it with fo_probe_take_sample).
 * Otherwise s is NULL and error names the failure (e.g. "connect: Access denied for
 * user ...", "read timeout after 1000 ms"); it never contains the password.
 * FO_PROBE_REFUSED: the TCP connect was refused (Connector/C's "Can't connect ...
 * (111)"); every other failure is FO_PROBE_FAILED. duration_ms is the reported
 * attempt's own, from its start (after an immediate retry: the retry's). */
typedef void (*fo_probe_report_cb)(void *data, struct fo_probe *p, enum fo_probe_outcome outcome,
                                   const struct fo_sample *s, double duration_ms, const char *error);

/* Creates and starts a probe (the first attempt runs on the next loop iteration).
 * Strings are copied. Returns NULL on allocation failure. */
struct fo_probe *fo_probe_start(uv_loop_t *loop, const char *host, uint16_t port, const char *user,
                                const char *password, const struct fo_probe_opts *opts, fo_probe_report_cb cb,
                                void *data);

/* Only inside a report callback with FO_PROBE_OK: hands the callback's sample (s) over
 * to the caller, who then owns it (free()); the probe allocates another for its next
 * attempt. Saves copying a struct fo_sample (about 10 KB) per probe. NULL anywhere else
 * and when it was already taken. */
struct fo_sample *fo_probe_take_sample(struct fo_probe *p);

/* Changes credentials; the connection is rebuilt at the next attempt. */
void fo_probe_set_credentials(struct fo_probe *p, const char *user, const char *password);

/* Runs the next attempt now if the probe is waiting for its interval (no effect while
 * an attempt is in progress). Used to refresh replicas when their primary fails. */
void fo_probe_kick(struct fo_probe *p);

/* Immediate retries so far: after the server closed the idle connection (idle_eofs),
 * after a connection lost mid-query (lost_midquery), and after a retry's connect was
 * reset during the handshake (handshake_resets). For metrics and tests. */
struct fo_probe_stats {
    uint64_t idle_eofs;
    uint64_t lost_midquery;
    uint64_t handshake_resets;
};
void fo_probe_get_stats(const struct fo_probe *p, struct fo_probe_stats *out);

/* Stops the probe; memory is released once every handle is closed. */
void fo_probe_close(struct fo_probe *p);

#endif
