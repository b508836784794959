/* Parsing of probe query results into a struct fo_sample (pure); see sample.h.
 *
 * This is the one place that interprets MySQL replies (STYLE.md §10), so it is
 * strict about anything a decision depends on: numbers go through strtoull with an
 * end pointer and errno, GTID positions and host names that do not fit are rejected
 * rather than truncated (a truncated position would compare as "behind"; a truncated
 * host would not match its instance), and only free-form error texts are truncated.
 * On failure the sample is left unchanged, so a half-parsed reply never leaks into
 * a decision.
 *
 * What is strict is the *form* of values we must compute with. A value that is
 * well-formed but unfamiliar (a thread state a newer server introduced, such as
 * "Preparing") is a fact about the server, not a broken reply: it is kept as
 * "unrecognized" with its text (STYLE.md §17). Failing the probe instead would make a
 * replica that is still talking to the primary look unreachable, which is exactly
 * the evidence that turns an unreachable primary into a "dead" one (issue 8.7). */
#include "mysql/sample.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define Q1_NCOLS FO_SAMPLE_Q1_NCOLS

/* ---- value helpers ------------------------------------------------------------ */

/* A whole string as an unsigned decimal no greater than max: no sign, no blanks,
 * nothing after the digits. */
static bool parse_uint(const char *v, uint64_t max, uint64_t *out)
{
    unsigned long long n;
    char *end;

    if (v == NULL || v[0] < '0' || v[0] > '9') return false;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno == ERANGE || *end != '\0' || n > max) return false;
    *out = n;
    return true;
}

static int bad_number(const char *col, const char *v, char *err)
{
    if (v == NULL) return fo_errf(err, FO_EPROTO, "%s: unexpected NULL", col);
    return fo_errf(err, FO_EPROTO, "%s: not a number in range: \"%.40s\"", col, v);
}

/* Copies v whole, or fails: for values that must not be truncated. */
static int copy_exact(char *dst, size_t dstlen, const char *v, const char *col, char *err)
{
    size_t len;

    if (v == NULL) return fo_errf(err, FO_EPROTO, "%s: unexpected NULL", col);
    len = strlen(v);
    if (len >= dstlen) return fo_errf(err, FO_EPROTO, "%s: value of %zu bytes exceeds %zu", col, len, dstlen - 1);
    memcpy(dst, v, len + 1);
    return 0;
}

/* Copies v, cutting it to fit; with `mark`, a cut value ends in "...". The cut backs
 * off to a UTF-8 character boundary so the result stays valid text for protobuf
 * strings and JSON. NULL becomes "". */
static void copy_truncated(char *dst, size_t dstlen, const char *v, bool mark)
{
    size_t len = v ? strlen(v) : 0, cut, room;

    if (len < dstlen) {
        memcpy(dst, v ? v : "", len + 1);
        return;
    }
    room = mark ? dstlen - 4 : dstlen - 1;
    cut = room;
    while (cut > 0 && ((unsigned char)v[cut] & 0xC0) == 0x80) cut--;
    memcpy(dst, v, cut);
    if (mark)
        memcpy(dst + cut, "...", 4);
    else
        dst[cut] = '\0';
}

/* Keeps a server-sent text for display: cut to fit (with "...") and with control
 * bytes replaced, so it cannot break a log line or a table. */
static void copy_display(char *dst, size_t dstlen, const char *v)
{
    size_t i;

    copy_truncated(dst, dstlen, v, true);
    for (i = 0; dst[i] != '\0'; i++)
        if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f) dst[i] = '?';
}

/* Never fails: an unfamiliar value (or NULL) is FO_THREAD_UNRECOGNIZED, with the raw
 * text kept. Values compare exactly, as the server prints them: "yes" is not "Yes". */
static void parse_thread_state(const char *v, enum fo_thread_state *out, char text[FO_THREAD_TEXT_LEN])
{
    static const enum fo_thread_state states[] = {FO_THREAD_YES, FO_THREAD_NO, FO_THREAD_CONNECTING,
                                                  FO_THREAD_PREPARING};
    unsigned i;

    copy_display(text, FO_THREAD_TEXT_LEN, v != NULL ? v : "NULL");
    *out = FO_THREAD_UNRECOGNIZED;
    for (i = 0; v != NULL && i < N_ELEMS(states); i++) {
        if (strcmp(v, fo_thread_state_name(states[i])) == 0) {
            *out = states[i];
            return;
        }
    }
}

const char *fo_thread_state_name(enum fo_thread_state t)
{
    switch (t) {
    case FO_THREAD_YES: return "Yes";
    case FO_THREAD_NO: return "No";
    case FO_THREAD_CONNECTING: return "Connecting";
    case FO_THREAD_PREPARING: return "Preparing";
    case FO_THREAD_UNRECOGNIZED: return "unrecognized";
    case FO_THREAD_UNKNOWN: break;
    }
    return "";
}

bool fo_thread_state_maybe_running(enum fo_thread_state t)
{
    return t != FO_THREAD_NO && t != FO_THREAD_CONNECTING;
}

/* ---- Q1: server variables -------------------------------------------------------- */

static int var_server_id(struct fo_sample *s, const char *v, const char *col, char *err)
{
    /* server_id is a 32-bit variable on both MySQL and MariaDB. */
    if (!parse_uint(v, UINT32_MAX, &s->server_id)) return bad_number(col, v, err);
    return 0;
}

static int var_read_only(struct fo_sample *s, const char *v, const char *col, char *err)
{
    if (v != NULL && (strcmp(v, "1") == 0 || strcasecmp(v, "ON") == 0)) {
        s->read_only = true;
        return 0;
    }
    if (v != NULL && (strcmp(v, "0") == 0 || strcasecmp(v, "OFF") == 0)) {
        s->read_only = false;
        return 0;
    }
    if (v == NULL) return fo_errf(err, FO_EPROTO, "%s: unexpected NULL", col);
    return fo_errf(err, FO_EPROTO, "%s: unexpected value \"%.40s\"", col, v);
}

static int var_current_pos(struct fo_sample *s, const char *v, const char *col, char *err)
{
    return copy_exact(s->gtid_current_pos, sizeof(s->gtid_current_pos), v, col, err);
}

static int var_binlog_pos(struct fo_sample *s, const char *v, const char *col, char *err)
{
    return copy_exact(s->gtid_binlog_pos, sizeof(s->gtid_binlog_pos), v, col, err);
}

static int var_slave_pos(struct fo_sample *s, const char *v, const char *col, char *err)
{
    return copy_exact(s->gtid_slave_pos, sizeof(s->gtid_slave_pos), v, col, err);
}

/* Only the leading "10.11.19" matters to version checks, so a long vendor suffix is
 * cut rather than failing the probe. */
static int var_version(struct fo_sample *s, const char *v, const char *col, char *err)
{
    if (v == NULL) return fo_errf(err, FO_EPROTO, "%s: unexpected NULL", col);
    copy_truncated(s->version, sizeof(s->version), v, false);
    return 0;
}

/* One column we read: its parser stores v (NULL for SQL NULL) into the sample. */
struct field {
    const char *name;
    bool required; /* SHOW SLAVE STATUS only: Q1 columns are positional */
    int (*parse)(struct fo_sample *s, const char *v, const char *col, char *err);
    const char *alt; /* SHOW SLAVE STATUS only: the name in MySQL 8.0.22+'s SHOW REPLICA STATUS */
};

/* Only the errant-transaction check reads the binlog state, and it treats "unknown"
 * as "cannot prove there is nothing errant", so a NULL or oversize value is recorded
 * as unknown rather than failing the probe (a primary with a long history must not
 * look DOWN because of it). */
static int var_binlog_state(struct fo_sample *s, const char *v, const char *col, char *err)
{
    s->gtid_binlog_state[0] = '\0';
    s->gtid_binlog_state_known = false;
    if (v == NULL || strlen(v) >= sizeof(s->gtid_binlog_state)) return 0;
    memcpy(s->gtid_binlog_state, v, strlen(v) + 1);
    s->gtid_binlog_state_known = true;
    return 0;
}

/* In FO_SAMPLE_Q1's column order. */
static const struct field q1_fields[Q1_NCOLS] = {
    {"@@server_id", true, var_server_id, NULL},
    {"@@read_only", true, var_read_only, NULL},
    {"@@gtid_current_pos", true, var_current_pos, NULL},
    {"@@gtid_binlog_pos", true, var_binlog_pos, NULL},
    {"@@gtid_slave_pos", true, var_slave_pos, NULL},
    {"@@version", true, var_version, NULL},
    {"@@gtid_binlog_state", true, var_binlog_state, NULL},
};

/* ---- committing a parse --------------------------------------------------------
 * A parse fills a scratch sample and copies it out only when it succeeded (a failure
 * leaves s unchanged). Copying field by field, strings by their length, moves a few
 * hundred bytes instead of the whole 10 KB struct twice per parse (issue 12: at 2,000
 * servers the struct copies were 4-5 % of the leader's CPU). Every field a parser
 * writes must be copied here: sample.h says so next to the struct. */

static void copy_str(char *dst, const char *src)
{
    memcpy(dst, src, strlen(src) + 1);
}

static void commit_vars(struct fo_sample *dst, const struct fo_sample *src)
{
    dst->server_id = src->server_id;
    dst->read_only = src->read_only;
    copy_str(dst->version, src->version);
    copy_str(dst->gtid_current_pos, src->gtid_current_pos);
    copy_str(dst->gtid_binlog_pos, src->gtid_binlog_pos);
    copy_str(dst->gtid_slave_pos, src->gtid_slave_pos);
    copy_str(dst->gtid_binlog_state, src->gtid_binlog_state);
    dst->gtid_binlog_state_known = src->gtid_binlog_state_known;
}

int fo_sample_parse_vars(struct fo_sample *s, unsigned ncols, const char *const *values, char err[FO_ERRLEN])
{
    struct fo_sample tmp;
    unsigned i;
    int rc;

    if (ncols != Q1_NCOLS)
        return fo_errf(err, FO_EPROTO, "variables query returned %u columns, expected %d", ncols, Q1_NCOLS);
    if (values == NULL) return fo_errf(err, FO_EINVAL, "no values");
    /* Each parser sets its fields when it succeeds, and all of them must succeed. */
    for (i = 0; i < Q1_NCOLS; i++) {
        rc = q1_fields[i].parse(&tmp, values[i], q1_fields[i].name, err);
        if (rc != 0) return rc;
    }
    commit_vars(s, &tmp);
    return 0;
}

/* ---- Q2: SHOW SLAVE STATUS ------------------------------------------------------ */

static int ss_master_host(struct fo_sample *s, const char *v, const char *col, char *err)
{
    return copy_exact(s->master_host, sizeof(s->master_host), v, col, err);
}

static int ss_master_port(struct fo_sample *s, const char *v, const char *col, char *err)
{
    uint64_t n;

    if (!parse_uint(v, UINT16_MAX, &n)) return bad_number(col, v, err);
    s->master_port = (uint16_t)n;
    return 0;
}

static int ss_io_running(struct fo_sample *s, const char *v, const char *col, char *err)
{
    parse_thread_state(v, &s->io_running, s->io_running_text);
    return 0;
}

static int ss_sql_running(struct fo_sample *s, const char *v, const char *col, char *err)
{
    parse_thread_state(v, &s->sql_running, s->sql_running_text);
    return 0;
}

/* NULL means the lag is unknown (a thread is not running, or the IO thread has not
 * heard from its source yet). So does anything else that is not a whole number of
 * seconds: the lag is an input to "is this replica too far behind", where unknown
 * already means "not proven close enough", so a value we cannot read is recorded as
 * unknown rather than failing the whole probe (STYLE.md §17). */
static int ss_lag(struct fo_sample *s, const char *v, const char *col, char *err)
{
    uint64_t n;

    (void)col;
    (void)err;
    s->lag_s = parse_uint(v, INT64_MAX, &n) ? (int64_t)n : -1;
    return 0;
}

static int parse_errno(unsigned *dst, const char *v, const char *col, char *err)
{
    uint64_t n = 0;

    if (v != NULL && !parse_uint(v, UINT_MAX, &n)) return bad_number(col, v, err);
    *dst = (unsigned)n;
    return 0;
}

static int ss_io_errno(struct fo_sample *s, const char *v, const char *col, char *err)
{
    return parse_errno(&s->last_io_errno, v, col, err);
}

static int ss_sql_errno(struct fo_sample *s, const char *v, const char *col, char *err)
{
    return parse_errno(&s->last_sql_errno, v, col, err);
}

static int ss_io_error(struct fo_sample *s, const char *v, const char *col, char *err)
{
    copy_truncated(s->last_io_error, sizeof(s->last_io_error), v, true);
    return 0;
}

static int ss_sql_error(struct fo_sample *s, const char *v, const char *col, char *err)
{
    copy_truncated(s->last_sql_error, sizeof(s->last_sql_error), v, true);
    return 0;
}

static int ss_gtid_io_pos(struct fo_sample *s, const char *v, const char *col, char *err)
{
    return copy_exact(s->gtid_io_pos, sizeof(s->gtid_io_pos), v ? v : "", col, err);
}

/* "No", "Slave_Pos", "Current_Pos" today; a mode a later server adds is shown as it
 * is (cut to fit), never a failed probe. */
static int ss_using_gtid(struct fo_sample *s, const char *v, const char *col, char *err)
{
    (void)col;
    (void)err;
    copy_display(s->using_gtid, sizeof(s->using_gtid), v ? v : "");
    return 0;
}

/* ---- arrival of the source's stream (issue 11.4) ---- */

/* "1.000" (MariaDB prints seconds with three decimals) as milliseconds: digits, an
 * optional point and fraction, nothing else. Digits past the third decimal round up,
 * so a non-zero period never reads as 0 ("heartbeats off") and a period is never
 * taken for shorter than it is (the silence threshold grows with it). */
static bool parse_seconds_ms(const char *v, uint32_t *out)
{
    uint64_t ms = 0;
    unsigned scale = 100;
    bool round_up = false;
    const char *p = v;

    if (v == NULL || *p < '0' || *p > '9') return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        ms = ms * 10 + (uint64_t)(*p - '0');
        if (ms > UINT32_MAX / 1000) return false;
    }
    ms *= 1000;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            if (scale > 0)
                ms += (uint64_t)scale * (uint64_t)(*p - '0');
            else if (*p != '0')
                round_up = true;
            scale /= 10;
        }
    }
    if (*p != '\0') return false;
    if (round_up) ms++;
    if (ms > UINT32_MAX) return false;
    *out = (uint32_t)ms;
    return true;
}

/* The arrival columns only tell whether anything arrived between two samples; a value
 * we cannot read makes that unknown -- which leaves the replica's IO=Yes standing as
 * "may still hear the primary" -- so none of them ever fails the probe. */
static int ss_log_file(struct fo_sample *s, const char *v, const char *col, char *err)
{
    (void)col;
    (void)err;
    s->master_log_file[0] = '\0';
    s->master_log_file_known = v != NULL && strlen(v) < sizeof(s->master_log_file);
    if (s->master_log_file_known) memcpy(s->master_log_file, v, strlen(v) + 1);
    return 0;
}

static int ss_read_pos(struct fo_sample *s, const char *v, const char *col, char *err)
{
    (void)col;
    (void)err;
    s->read_master_log_pos = 0;
    s->read_pos_known = parse_uint(v, UINT64_MAX, &s->read_master_log_pos);
    return 0;
}

static int ss_heartbeats(struct fo_sample *s, const char *v, const char *col, char *err)
{
    (void)col;
    (void)err;
    s->heartbeats = 0;
    s->heartbeats_known = parse_uint(v, UINT64_MAX, &s->heartbeats);
    return 0;
}

static int ss_heartbeat_period(struct fo_sample *s, const char *v, const char *col, char *err)
{
    (void)col;
    (void)err;
    s->heartbeat_period_ms = 0;
    s->heartbeat_period_known = parse_seconds_ms(v, &s->heartbeat_period_ms);
    return 0;
}

/* MariaDB's Connection_name (SHOW ALL SLAVES STATUS) or MySQL's Channel_Name. */
static int ss_connection(struct fo_sample *s, const char *v, const char *col, char *err)
{
    (void)col;
    (void)err;
    copy_display(s->connection_name, sizeof(s->connection_name), v ? v : "");
    return 0;
}

/* The columns we read, by name: MariaDB's (also MySQL 5.7's and MySQL 8.0's SHOW SLAVE
 * STATUS), or MySQL 8.0.22+'s SHOW REPLICA STATUS names (Source/Replica for
 * Master/Slave). MySQL lacks Gtid_IO_Pos and Using_Gtid, and both MySQL and MariaDB's
 * SHOW SLAVE STATUS lack the heartbeat columns. All other columns are
 * ignored; optional columns keep their defaults when absent. */
static const struct field q2_fields[] = {
    {"Master_Host", true, ss_master_host, "Source_Host"},
    {"Master_Port", true, ss_master_port, "Source_Port"},
    {"Slave_IO_Running", true, ss_io_running, "Replica_IO_Running"},
    {"Slave_SQL_Running", true, ss_sql_running, "Replica_SQL_Running"},
    {"Seconds_Behind_Master", true, ss_lag, "Seconds_Behind_Source"},
    {"Last_IO_Errno", false, ss_io_errno, NULL},
    {"Last_IO_Error", false, ss_io_error, NULL},
    {"Last_SQL_Errno", false, ss_sql_errno, NULL},
    {"Last_SQL_Error", false, ss_sql_error, NULL},
    {"Gtid_IO_Pos", false, ss_gtid_io_pos, NULL},
    {"Using_Gtid", false, ss_using_gtid, NULL},
    {"Master_Log_File", false, ss_log_file, "Source_Log_File"},
    {"Read_Master_Log_Pos", false, ss_read_pos, "Read_Source_Log_Pos"},
    {"Slave_received_heartbeats", false, ss_heartbeats, NULL},
    {"Slave_heartbeat_period", false, ss_heartbeat_period, NULL},
    {"Connection_name", false, ss_connection, "Channel_Name"}, /* last: see default_row() */
};

/* Column names are identifiers, which MySQL compares without regard to case; the
 * first column of a name wins. Returns -1 if absent. */
static int find_column(unsigned ncols, const char *const *names, const char *name)
{
    unsigned i;

    for (i = 0; name != NULL && i < ncols; i++)
        if (names[i] != NULL && strcasecmp(names[i], name) == 0) return (int)i;
    return -1;
}

static int find_field(unsigned ncols, const char *const *names, const struct field *f)
{
    int col = find_column(ncols, names, f->name);

    return col >= 0 ? col : find_column(ncols, names, f->alt);
}

static void reset_replica_fields(struct fo_sample *s)
{
    s->is_replica = false;
    s->n_sources = 0;
    s->connection_name[0] = '\0';
    s->master_host[0] = '\0';
    s->master_port = 0;
    s->io_running = FO_THREAD_UNKNOWN;
    s->sql_running = FO_THREAD_UNKNOWN;
    s->io_running_text[0] = '\0';
    s->sql_running_text[0] = '\0';
    s->lag_s = -1;
    s->last_io_errno = 0;
    s->last_io_error[0] = '\0';
    s->last_sql_errno = 0;
    s->last_sql_error[0] = '\0';
    s->gtid_io_pos[0] = '\0';
    s->using_gtid[0] = '\0';
    s->master_log_file[0] = '\0';
    s->master_log_file_known = false;
    s->read_master_log_pos = 0;
    s->read_pos_known = false;
    s->heartbeats = 0;
    s->heartbeats_known = false;
    s->heartbeat_period_ms = 0;
    s->heartbeat_period_known = false;
}

static int parse_slave_row(struct fo_sample *s, unsigned ncols, const char *const *names, const char *const *values,
                           char *err)
{
    unsigned i;
    int col, rc;

    for (i = 0; i < N_ELEMS(q2_fields); i++) {
        col = find_field(ncols, names, &q2_fields[i]);
        if (col < 0) {
            if (q2_fields[i].required)
                return fo_errf(err, FO_EPROTO, "SHOW SLAVE STATUS: missing column %s", q2_fields[i].name);
            continue;
        }
        rc = q2_fields[i].parse(s, values[col], q2_fields[i].name, err);
        if (rc != 0) return rc;
    }
    s->is_replica = true;
    return 0;
}

/* The row of the default source among nrows: the one whose connection (MariaDB) or
 * channel (MySQL) name is "" -- the source that CHANGE MASTER without a name, and so
 * failoverd, manages. Without such a row (only named sources), the first one: the
 * server sorts rows by name, so the choice is stable. */
static unsigned default_row(unsigned nrows, unsigned ncols, const char *const *names, const char *const *values)
{
    const struct field *conn = &q2_fields[N_ELEMS(q2_fields) - 1]; /* Connection_name, last */
    int col = find_field(ncols, names, conn);
    unsigned r;

    for (r = 0; col >= 0 && r < nrows; r++) {
        const char *v = values[(size_t)r * ncols + (unsigned)col];
        if (v != NULL && v[0] == '\0') return r;
    }
    return 0;
}

/* Every field reset_replica_fields sets (see commit_vars). */
static void commit_replica(struct fo_sample *dst, const struct fo_sample *src)
{
    dst->is_replica = src->is_replica;
    dst->n_sources = src->n_sources;
    copy_str(dst->connection_name, src->connection_name);
    copy_str(dst->master_host, src->master_host);
    dst->master_port = src->master_port;
    dst->io_running = src->io_running;
    dst->sql_running = src->sql_running;
    copy_str(dst->io_running_text, src->io_running_text);
    copy_str(dst->sql_running_text, src->sql_running_text);
    dst->lag_s = src->lag_s;
    dst->last_io_errno = src->last_io_errno;
    copy_str(dst->last_io_error, src->last_io_error);
    dst->last_sql_errno = src->last_sql_errno;
    copy_str(dst->last_sql_error, src->last_sql_error);
    copy_str(dst->gtid_io_pos, src->gtid_io_pos);
    copy_str(dst->using_gtid, src->using_gtid);
    copy_str(dst->master_log_file, src->master_log_file);
    dst->master_log_file_known = src->master_log_file_known;
    dst->read_master_log_pos = src->read_master_log_pos;
    dst->read_pos_known = src->read_pos_known;
    dst->heartbeats = src->heartbeats;
    dst->heartbeats_known = src->heartbeats_known;
    dst->heartbeat_period_ms = src->heartbeat_period_ms;
    dst->heartbeat_period_known = src->heartbeat_period_known;
}

/* Fills the replica fields from `row`, the row that describes a result of nrows rows
 * (0: not a replica). */
static int parse_rows(struct fo_sample *s, unsigned nrows, unsigned ncols, const char *const *names,
                      const char *const *row, char *err)
{
    struct fo_sample tmp; /* only its replica fields are used: reset below */
    int rc;

    if (nrows > 0 && ncols > 0 && (names == NULL || row == NULL))
        return fo_errf(err, FO_EINVAL, "no column names or values");
    reset_replica_fields(&tmp);
    if (nrows > 0) {
        rc = parse_slave_row(&tmp, ncols, names, row, err);
        if (rc != 0) return rc;
        tmp.n_sources = nrows;
    }
    commit_replica(s, &tmp);
    return 0;
}

int fo_sample_parse_slave_status(struct fo_sample *s, unsigned nrows, unsigned ncols, const char *const *names,
                                 const char *const *values, char err[FO_ERRLEN])
{
    return parse_rows(s, nrows, ncols, names, values, err);
}

int fo_sample_parse_replication(struct fo_sample *s, unsigned nrows, unsigned ncols, const char *const *names,
                                const char *const *values, char err[FO_ERRLEN])
{
    unsigned r = 0;

    if (nrows > 0 && ncols > 0 && (names == NULL || values == NULL))
        return fo_errf(err, FO_EINVAL, "no column names or values");
    if (nrows > 1) r = default_row(nrows, ncols, names, values);
    return parse_rows(s, nrows, ncols, names, values != NULL ? values + (size_t)r * ncols : NULL, err);
}
