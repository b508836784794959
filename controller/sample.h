/* One probe sample of one MySQL/MariaDB server, and the pure parsing that fills it
 * from query results (the one module that interprets MySQL replies; STYLE.md §10).
 *
 * The prober runs two queries per probe:
 *   Q1: SELECT @@server_id, @@read_only, @@gtid_current_pos, @@gtid_binlog_pos,
 *              @@gtid_slave_pos, @@version
 *   Q2: SHOW SLAVE STATUS
 * and hands the rows to the functions below as arrays of column names and values
 * (values may be NULL for SQL NULL). Nothing here touches a socket. */
#ifndef FO_SAMPLE_H
#define FO_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define FO_SAMPLE_Q1                                                           \
    "SELECT @@server_id, @@read_only, @@gtid_current_pos, @@gtid_binlog_pos, " \
    "@@gtid_slave_pos, @@version"
#define FO_SAMPLE_Q2 "SHOW SLAVE STATUS"

#define FO_GTIDPOS_LEN 1024 /* longer positions are rejected, not truncated */
#define FO_ERRTEXT_LEN 512  /* Last_IO_Error etc. are truncated to this (with "...") */

enum fo_thread_state { FO_THREAD_UNKNOWN = 0, FO_THREAD_NO, FO_THREAD_YES, FO_THREAD_CONNECTING };

struct fo_sample {
    uint64_t server_id;
    bool read_only;
    char version[64];
    char gtid_current_pos[FO_GTIDPOS_LEN];
    char gtid_binlog_pos[FO_GTIDPOS_LEN];
    char gtid_slave_pos[FO_GTIDPOS_LEN];
    /* From SHOW SLAVE STATUS; is_replica is false when it returned no row. */
    bool is_replica;
    char master_host[100];
    uint16_t master_port;
    enum fo_thread_state io_running;
    enum fo_thread_state sql_running;
    int64_t lag_s; /* Seconds_Behind_Master, -1 when NULL */
    unsigned last_io_errno;
    char last_io_error[FO_ERRTEXT_LEN];
    unsigned last_sql_errno;
    char last_sql_error[FO_ERRTEXT_LEN];
    char gtid_io_pos[FO_GTIDPOS_LEN];
    char using_gtid[16]; /* "No" | "Slave_Pos" | "Current_Pos" */
};

/* Parses the single row of Q1 (6 columns, in Q1's order). Returns 0 or FO_EPROTO with
 * a reason (wrong column count, non-numeric server_id, oversize value...). */
int fo_sample_parse_vars(struct fo_sample *s, unsigned ncols, const char *const *values, char err[FO_ERRLEN]);

/* Parses Q2's result: nrows is 0 (not a replica) or 1; columns are looked up by name
 * (MariaDB adds columns between versions), so names[i] labels values[i]. Missing
 * required columns (Master_Host, Master_Port, Slave_IO_Running, Slave_SQL_Running,
 * Seconds_Behind_Master) are FO_EPROTO. */
int fo_sample_parse_slave_status(struct fo_sample *s, unsigned nrows, unsigned ncols, const char *const *names,
                                 const char *const *values, char err[FO_ERRLEN]);

const char *fo_thread_state_name(enum fo_thread_state t); /* "Yes" "No" "Connecting" "" */

#endif
