/* One probe sample of one MySQL/MariaDB server, and the pure parsing that fills it
 * from query results (the one module that interprets MySQL replies; STYLE.md §10).
 *
 * The prober runs two queries per probe:
 *   Q1: SELECT @@server_id, @@read_only, @@gtid_current_pos, @@gtid_binlog_pos,
 *              @@gtid_slave_pos, @@version, @@gtid_binlog_state
 *   Q2: SHOW SLAVE STATUS
 * and hands the rows to the functions below as arrays of column names and values
 * (values may be NULL for SQL NULL). Nothing here touches a socket.
 *
 * Unknown is a value (STYLE.md §17): a thread state we do not recognise, or a
 * gtid_binlog_state we cannot hold, is recorded as such and never fails the probe;
 * the consumers decide what "unknown" means for them (the detector: "may still be
 * connected to the primary"). */
#ifndef FO_SAMPLE_H
#define FO_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define FO_SAMPLE_Q1                                                           \
    "SELECT @@server_id, @@read_only, @@gtid_current_pos, @@gtid_binlog_pos, " \
    "@@gtid_slave_pos, @@version, @@gtid_binlog_state"
#define FO_SAMPLE_Q1_NCOLS 7 /* the columns of FO_SAMPLE_Q1 */
#define FO_SAMPLE_Q2 "SHOW SLAVE STATUS"

#define FO_GTIDPOS_LEN 1024   /* longer positions are rejected, not truncated */
#define FO_GTIDSTATE_LEN 4096 /* longer gtid_binlog_states are recorded as unknown */
#define FO_ERRTEXT_LEN 512    /* Last_IO_Error etc. are truncated to this (with "...") */
/* Master_Host as MariaDB stores it: CHANGE MASTER accepts up to 255 bytes
 * (HOSTNAME_LENGTH), so anything longer is a protocol error. This is larger than
 * the configured hosts' FO_HOST_LEN: a replica may name a source that is not (and
 * cannot be) one of our instances, and that must not fail its probe. */
#define FO_SAMPLE_HOST_LEN 256
#define FO_THREAD_TEXT_LEN 32 /* raw Slave_*_Running text kept for display (cut with "...") */

/* Slave_IO_Running / Slave_SQL_Running. UNKNOWN: no value (not a replica, or never
 * parsed). PREPARING: MariaDB's state while the thread starts. UNRECOGNIZED: any
 * other value, including SQL NULL (the raw text is in the sample). Only NO and
 * CONNECTING mean "not connected": see fo_thread_state_maybe_running(). */
enum fo_thread_state {
    FO_THREAD_UNKNOWN = 0,
    FO_THREAD_NO,
    FO_THREAD_YES,
    FO_THREAD_CONNECTING,
    FO_THREAD_PREPARING,
    FO_THREAD_UNRECOGNIZED,
};

struct fo_sample {
    uint64_t server_id;
    bool read_only;
    char version[64];
    char gtid_current_pos[FO_GTIDPOS_LEN];
    char gtid_binlog_pos[FO_GTIDPOS_LEN];
    char gtid_slave_pos[FO_GTIDPOS_LEN];
    /* @@gtid_binlog_state: the last GTID of every (domain, server id) in the binary
     * log, the input of fo_gtid_state_errant(). gtid_binlog_state_known is false when
     * the server returned NULL or a value of FO_GTIDSTATE_LEN bytes or more: the text
     * is then "" and must NOT be read as an empty state (a caller deciding whether a
     * server has errant transactions treats unknown as "cannot prove it has none"). */
    char gtid_binlog_state[FO_GTIDSTATE_LEN];
    bool gtid_binlog_state_known;
    /* From SHOW SLAVE STATUS; is_replica is false when it returned no row. */
    bool is_replica;
    char master_host[FO_SAMPLE_HOST_LEN]; /* as the replica reports it: compare with fo_addr_same() */
    uint16_t master_port;
    enum fo_thread_state io_running;
    enum fo_thread_state sql_running;
    /* The raw Slave_IO_Running / Slave_SQL_Running values, for display: "Yes",
     * "Preparing", "NULL" for SQL NULL, whatever else the server sent (control bytes
     * replaced by '?', cut with "..."); "" when not a replica. */
    char io_running_text[FO_THREAD_TEXT_LEN];
    char sql_running_text[FO_THREAD_TEXT_LEN];
    int64_t lag_s; /* Seconds_Behind_Master, -1 when NULL */
    unsigned last_io_errno;
    char last_io_error[FO_ERRTEXT_LEN];
    unsigned last_sql_errno;
    char last_sql_error[FO_ERRTEXT_LEN];
    char gtid_io_pos[FO_GTIDPOS_LEN];
    char using_gtid[16]; /* "No" | "Slave_Pos" | "Current_Pos" */
};

/* Parses the single row of Q1 (FO_SAMPLE_Q1_NCOLS columns, in Q1's order). Returns 0
 * or FO_EPROTO with a reason (wrong column count, non-numeric server_id, oversize
 * position...). @@gtid_binlog_state never fails it: NULL or oversize sets
 * gtid_binlog_state_known to false. On failure s is unchanged. */
int fo_sample_parse_vars(struct fo_sample *s, unsigned ncols, const char *const *values, char err[FO_ERRLEN]);

/* Parses Q2's result: nrows is 0 (not a replica) or 1, and values holds one row (only
 * the first row is ever read). More than one row is a replica of several sources
 * (multi-source replication), which failoverd does not manage: FO_EPROTO, "multi-source
 * replication is not supported: SHOW SLAVE STATUS returned 2 rows, ...", never a row
 * picked silently; callers pass the real row count. Columns are looked up by name
 * (MariaDB adds columns between versions), so names[i] labels values[i]. Missing
 * required columns (Master_Host, Master_Port, Slave_IO_Running, Slave_SQL_Running,
 * Seconds_Behind_Master) are FO_EPROTO, and so is a Master_Host of
 * FO_SAMPLE_HOST_LEN bytes or more (MariaDB cannot report one). Thread states are
 * never an error: an unknown value is FO_THREAD_UNRECOGNIZED. On failure s is
 * unchanged. */
int fo_sample_parse_slave_status(struct fo_sample *s, unsigned nrows, unsigned ncols, const char *const *names,
                                 const char *const *values, char err[FO_ERRLEN]);

/* "Yes" "No" "Connecting" "Preparing" "unrecognized" (display the sample's raw text
 * instead), "" for UNKNOWN and out-of-range values. */
const char *fo_thread_state_name(enum fo_thread_state t);

/* False only for states that say the thread is not running / not connected (No,
 * Connecting); true for Yes and for every state we cannot interpret (Preparing,
 * unrecognized, unknown). For an IO thread: "may still be connected to its source",
 * so such a replica never confirms that its primary is dead (DESIGN.md §5). */
bool fo_thread_state_maybe_running(enum fo_thread_state t);

#endif
