/* Binlog salvage, the controller's half (issue 13, docs/binlog-salvage.md): asks the
 * old primary's agent (proto/agent.proto SalvageBinlog) for the transactions its dead
 * mysqld's binlog holds after a GTID position, chunk by chunk, and applies them to the
 * chosen replica before it opens for writes, with the `mariadb` client (uv_spawn; the
 * cluster's account is passed in a 0600 option file that is removed once the client
 * exited, never on a command line). mariadb-binlog's output sets gtid_domain_id,
 * server_id and gtid_seq_no before each transaction, so the replica binlogs them under
 * the old primary's GTIDs and every survivor (and the old primary, when it rejoins)
 * agrees on them.
 *
 * In order: a Status call (bounded by probe_ms: an unreachable host costs that much
 * and no more; an agent whose mysqld still answers is not asked), then SalvageBinlog
 * chunks, then the apply, all within timeout_ms and max_bytes. Nothing is applied
 * unless the whole read arrived (a cap hit on either side gives up everything and says
 * how much).
 *
 * Callback contract (STYLE.md §4): if fo_salvage_start returns NULL, cb never fires;
 * otherwise it fires exactly once, from the loop, never from inside fo_salvage_start,
 * after every handle is closed (FO_ECANCELED after fo_salvage_cancel). Loop thread only. */
#ifndef FO_SALVAGE_H
#define FO_SALVAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "common/err.h"

#define FO_SALVAGE_MAX_BYTES_DEFAULT (64u << 20)
#define FO_SALVAGE_CLIENT "/usr/bin/mariadb"

struct fo_tls_files;

struct fo_salvage_opts {
    const char *cluster;
    uint64_t epoch; /* the failover's: the agent fences the request with it */
    const char *agent_host;
    uint16_t agent_port;
    const char *host; /* the chosen replica */
    uint16_t port;
    const char *user;
    const char *password;
    const struct fo_mysql_tls *mysql_tls; /* NULL: the client's defaults */
    const char *start_gtid;               /* the chosen replica's position */
    unsigned probe_ms;                    /* the Status call */
    unsigned timeout_ms;                  /* everything */
    size_t max_bytes;                     /* 0: FO_SALVAGE_MAX_BYTES_DEFAULT */
    const struct fo_tls_cfg *tls;         /* the agent RPC's TLS ([tls]) */
    struct fo_tls_files *tls_files;
    const char *client; /* NULL: FO_SALVAGE_CLIENT */
};

struct fo_salvage_result {
    int status;         /* 0: read and applied (transactions may be 0: nothing newer) */
    bool agent_reached; /* the agent answered */
    bool mysqld_alive;  /* the agent says its mysqld answers: not salvaged */
    bool applied_any;   /* the apply started (with status != 0: maybe partly applied) */
    uint32_t transactions;
    uint64_t bytes;
    uint64_t gave_up_bytes; /* a cap was hit: output bytes not applied */
    char first_gtid[64], last_gtid[64];
    char detail[768]; /* one line for history */
};

typedef void (*fo_salvage_cb)(void *data, const struct fo_salvage_result *r);
struct fo_salvage;

struct fo_salvage *fo_salvage_start(uv_loop_t *loop, const struct fo_salvage_opts *o, fo_salvage_cb cb, void *data,
                                    char err[FO_ERRLEN]);
/* Stops what runs (kills the client it started, by its handle); cb fires with
 * FO_ECANCELED unless it already was about to fire with a result. */
void fo_salvage_cancel(struct fo_salvage *s);

#endif
