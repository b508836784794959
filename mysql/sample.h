/* One probe sample of one MySQL/MariaDB server, and the pure parsing that fills it
 * from query results (the one module that interprets MySQL replies; STYLE.md §10).
 *
 * A probe reads two results, sent together as one multi-statement (FO_SAMPLE_PROBE_ALL):
 *   Q1: SELECT @@server_id, @@read_only, @@gtid_current_pos, @@gtid_binlog_pos,
 *              @@gtid_slave_pos, @@version, @@gtid_binlog_state
 *   Q2: SHOW ALL SLAVES STATUS (SHOW SLAVE STATUS where that is unknown)
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
/* MariaDB: every source of a multi-source replica (Connection_name first); parse with
 * fo_sample_parse_replication(). */
#define FO_SAMPLE_Q2_ALL "SHOW ALL SLAVES STATUS"
/* Q1 and Q2 as one multi-statement (a connection with CLIENT_MULTI_STATEMENTS): one
 * round trip per probe, two results parsed as above (issue 12: at 10,000 servers the
 * second round trip's send/recv was a quarter of the leader's CPU). */
#define FO_SAMPLE_PROBE_ALL FO_SAMPLE_Q1 "; " FO_SAMPLE_Q2_ALL
#define FO_SAMPLE_PROBE FO_SAMPLE_Q1 "; " FO_SAMPLE_Q2

#define FO_GTIDPOS_LEN 1024   /* longer positions are rejected, not truncated */
#define FO_GTIDSTATE_LEN 4096 /* longer gtid_binlog_states are recorded as unknown */
#define FO_ERRTEXT_LEN 512    /* Last_IO_Error etc. are truncated to this (with "...") */
/* Master_Host as MariaDB stores it: CHANGE MASTER accepts up to 255 bytes
 * (HOSTNAME_LENGTH), so anything longer is a protocol error. This is larger than
 * the configured hosts' FO_HOST_LEN: a replica may name a source that is not (and
 * cannot be) one of our instances, and that must not fail its probe. */
#define FO_SAMPLE_HOST_LEN 256
#define FO_SAMPLE_CONN_LEN 72 /* connection / channel names: 64 characters on both servers */
#define FO_THREAD_TEXT_LEN 32 /* raw Slave_*_Running text kept for display (cut with "...") */
/* Master_Log_File: a file name of MariaDB's FN_REFLEN (512) bytes at most; a longer
 * one is recorded as unknown, never cut (a cut name could equal the next file's). */
#define FO_SAMPLE_LOGFILE_LEN 513

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

/* A field added here must also be copied by mysql/sample.c's commit_vars() or
 * commit_replica(), whichever parser fills it. */
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
    /* Rows of the reply: 0 not a replica, 1 one source, more: multi-source
     * replication, of which the fields below describe one row (see
     * fo_sample_parse_replication()). */
    unsigned n_sources;
    char connection_name[FO_SAMPLE_CONN_LEN]; /* Connection_name / Channel_Name, "" = default */
    char master_host[FO_SAMPLE_HOST_LEN];     /* as the replica reports it: compare with fo_addr_same() */
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
    char using_gtid[16]; /* "No" | "Slave_Pos" | "Current_Pos" (another value: as sent, cut) */
    /* Whether the source's stream still arrives (issue 11.4; controller/decide/arrival.h
     * compares these across samples). Each value has a _known flag, false when the
     * column is absent, SQL NULL or not a number of the expected form: then the value
     * is 0 / "" and means "unknown", never "nothing arrived". Where they exist:
     *   Master_Log_File, Read_Master_Log_Pos: every server (MySQL 8.0.22+'s SHOW
     *     REPLICA STATUS: Source_Log_File, Read_Source_Log_Pos); they advance with each
     *     event the IO thread receives.
     *   Slave_received_heartbeats, Slave_heartbeat_period: MariaDB's SHOW ALL SLAVES
     *     STATUS only (not its SHOW SLAVE STATUS). MySQL reports heartbeats in
     *     performance_schema.replication_connection_status only, which failoverd does
     *     not query: on MySQL they are unknown, and so is the arrival of the stream. */
    char master_log_file[FO_SAMPLE_LOGFILE_LEN];
    bool master_log_file_known;
    uint64_t read_master_log_pos;
    bool read_pos_known;
    uint64_t heartbeats; /* heartbeats received since CHANGE MASTER / server start */
    bool heartbeats_known;
    /* MASTER_HEARTBEAT_PERIOD in ms: a source idle for this long sends a heartbeat. 0:
     * heartbeats are off. The server prints seconds with 3 decimals ("1.000"). */
    uint32_t heartbeat_period_ms;
    bool heartbeat_period_known;
};

/* Parses the single row of Q1 (FO_SAMPLE_Q1_NCOLS columns, in Q1's order). Returns 0
 * or FO_EPROTO with a reason (wrong column count, non-numeric server_id, oversize
 * position...). @@gtid_binlog_state never fails it: NULL or oversize sets
 * gtid_binlog_state_known to false. On failure s is unchanged. */
int fo_sample_parse_vars(struct fo_sample *s, unsigned ncols, const char *const *values, char err[FO_ERRLEN]);

/* Parses a SHOW SLAVE STATUS / SHOW REPLICA STATUS / SHOW ALL SLAVES STATUS result of
 * nrows rows, of which `values` holds ONE: the first (0 rows: not a replica). Callers
 * that hold every row use fo_sample_parse_replication(), which picks the default
 * source's row instead of the first. Columns are looked up by name (servers add and
 * reorder columns between versions), so names[i] labels values[i]; MySQL 8.0.22+'s
 * SHOW REPLICA STATUS names (Source_Host, Source_Port, Replica_IO_Running,
 * Replica_SQL_Running, Seconds_Behind_Source) are read like MariaDB's Master_Host,
 * Master_Port, Slave_IO_Running, Slave_SQL_Running, Seconds_Behind_Master; one of each
 * pair is required (FO_EPROTO "SHOW SLAVE STATUS: missing column Master_Host"
 * otherwise). Also FO_EPROTO: a Master_Port that is not a port number, a Master_Host
 * of FO_SAMPLE_HOST_LEN bytes or more, a Gtid_IO_Pos of FO_GTIDPOS_LEN bytes or more,
 * non-numeric Last_*_Errno -- forms no server sends, and values a decision computes
 * with. Never an error (STYLE.md §17): any thread state (unknown ones are
 * FO_THREAD_UNRECOGNIZED, SQL NULL included), a Seconds_Behind_Master that is NULL,
 * empty or not a number (lag_s -1, unknown), any Using_Gtid or connection name (kept
 * for display), any value of the arrival columns (Master_Log_File,
 * Read_Master_Log_Pos, Slave_received_heartbeats, Slave_heartbeat_period: absent,
 * NULL, oversize or malformed -> its _known flag false), several rows (multi-source replication: n_sources says how many, and
 * the sample describes the one row given). On failure s is unchanged. */
int fo_sample_parse_slave_status(struct fo_sample *s, unsigned nrows, unsigned ncols, const char *const *names,
                                 const char *const *values, char err[FO_ERRLEN]);

/* As fo_sample_parse_slave_status(), but `values` holds all nrows rows, row-major
 * (nrows * ncols; NULL for SQL NULL). With several rows (multi-source replication:
 * MariaDB's SHOW ALL SLAVES STATUS, MySQL's channels) the sample describes the default
 * source -- the row whose Connection_name / Channel_Name is "", which is what
 * CHANGE MASTER without a name and failoverd manage -- or, with only named sources, the
 * first row (servers sort them by name). n_sources is nrows and connection_name names
 * the row described; callers that must not act on a replica with several sources
 * (promotion, repointing) check n_sources > 1. */
int fo_sample_parse_replication(struct fo_sample *s, unsigned nrows, unsigned ncols, const char *const *names,
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
