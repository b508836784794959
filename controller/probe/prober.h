/* Non-blocking health probes of MySQL/MariaDB servers (DESIGN.md §5).
 *
 * One fo_probe per watched server, all on the controller's libuv loop: no thread per
 * server. Each probe keeps a persistent connection (MariaDB Connector/C's
 * non-blocking *_start / *_cont API, driven by a uv_poll on the connection's socket)
 * and runs FO_SAMPLE_Q1 + FO_SAMPLE_Q2 every interval. Host names are resolved with
 * uv_getaddrinfo (never a blocking lookup on the loop); TCP is always used.
 *
 * Timeouts are monotonic (uv timers): connect_timeout_ms covers resolve + TCP +
 * handshake; read_timeout_ms covers one probe's two queries (a hung server, e.g.
 * SIGSTOPped, is detected this way since no RST ever arrives). On any failure the
 * connection is dropped and rebuilt: immediately at the next interval while the
 * failures are fewer than `down_after`, then with exponential backoff up to
 * FO_PROBE_MAX_BACKOFF_MS so a dead fleet does not cost a connect storm.
 *
 * Scale (designed for 5,000 servers at a 1 s interval from one leader on one core):
 * each probe costs two small queries on an already-open connection, i.e. a handful
 * of syscalls and two result sets of one row; there is no per-probe allocation
 * beyond Connector/C's result buffers, timers are libuv's heap (O(log n)), and
 * reports go to the caller, which proposes a raft command only when an instance's
 * state changes. Connects are the expensive part and happen only after failures.
 *
 * The report callback fires after every probe attempt (success or failure), never
 * after fo_probe_close(). */
#ifndef FO_PROBER_H
#define FO_PROBER_H

#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "mysql/sample.h"

#define FO_PROBE_MAX_BACKOFF_MS 5000
#define FO_PROBE_ERRLEN 512

struct fo_probe;

struct fo_probe_opts {
    unsigned interval_ms;
    unsigned connect_timeout_ms;
    unsigned read_timeout_ms;
    unsigned down_after;
    struct fo_mysql_tls tls; /* ssl_mode / ssl_ca of the cluster (common/config.h) */
};

/* ok: the probe succeeded and s is valid (only during the call).
 * Otherwise error names the failure (e.g. "connect: Access denied for user ...",
 * "read timeout after 1000 ms"); it never contains the password. */
typedef void (*fo_probe_report_cb)(void *data, struct fo_probe *p, bool ok, const struct fo_sample *s,
                                   double duration_ms, const char *error);

/* Creates and starts a probe (the first attempt runs on the next loop iteration).
 * Strings are copied. Returns NULL on allocation failure. */
struct fo_probe *fo_probe_start(uv_loop_t *loop, const char *host, uint16_t port, const char *user,
                                const char *password, const struct fo_probe_opts *opts, fo_probe_report_cb cb,
                                void *data);

/* Changes credentials; the connection is rebuilt at the next attempt. */
void fo_probe_set_credentials(struct fo_probe *p, const char *user, const char *password);

/* Runs the next attempt now if the probe is waiting for its interval (no effect while
 * an attempt is in progress). Used to refresh replicas when their primary fails. */
void fo_probe_kick(struct fo_probe *p);

/* Stops the probe; memory is released once every handle is closed. */
void fo_probe_close(struct fo_probe *p);

#endif
