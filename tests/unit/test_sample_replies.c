/* Replies as real servers send them (issue 11.5): every fixture in tests/unit/fixtures/
 * goes through the sample parser, and the parsed fields are checked against the table
 * below. The MariaDB fixtures are captured from real servers by
 * tests/unit/fixtures/capture.py (replica running, IO thread Preparing, IO stopped, IO
 * Connecting to a dead primary, SQL error, MASTER_DELAY, two sources); the MySQL 5.7
 * and 8.0 ones are typed from the reference manuals and say so in their `source:`
 * line. A fixture without a table entry, or an entry without its fixture, fails.
 *
 * Then: every column we read, set to values a server may send tomorrow (NULL, "",
 * an unknown word), never fails the probe; and the stale-sample rule
 * (controller/decide/topology.h) on the captured replies of a switchover. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/decide/arrival.h"
#include "controller/decide/detector.h"
#include "controller/decide/topology.h"
#include "mysql/sample.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ROWS 4
#define MAX_COLS 96
#define MAX_FILES 64

/* ---- fixture files ----------------------------------------------------------------- */

struct fixture {
    char name[128];
    char query[64];
    char source[160];
    unsigned nrows, ncols;
    char *names[MAX_COLS];
    char *values[MAX_ROWS * MAX_COLS]; /* row-major; NULL for SQL NULL */
};

static const char *fixture_dir(void)
{
    static char dir[1024];
    const char *slash;

    /* CMake compiles with absolute paths: the fixtures sit beside this file. */
    slash = strrchr(__FILE__, '/');
    snprintf(dir, sizeof(dir), "%.*s/fixtures", slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    return dir;
}

/* "\N" is SQL NULL; \t \n \\ are a tab, a newline, a backslash (capture.py). */
static char *unescape(const char *v)
{
    char *out, *o;

    if (strcmp(v, "\\N") == 0) return NULL;
    o = out = malloc(strlen(v) + 1);
    for (; *v != '\0'; v++) {
        if (*v == '\\' && v[1] != '\0') {
            v++;
            *o++ = *v == 't' ? '\t' : *v == 'n' ? '\n' : *v;
        } else {
            *o++ = *v;
        }
    }
    *o = '\0';
    return out;
}

static int load_line(struct fixture *f, char *line, unsigned *col)
{
    char *tab;

    if (line[0] == '#' || line[0] == '\0') return 0;
    if (strncmp(line, "query: ", 7) == 0) return snprintf(f->query, sizeof(f->query), "%s", line + 7) < 0;
    if (strncmp(line, "source: ", 8) == 0) return snprintf(f->source, sizeof(f->source), "%s", line + 8) < 0;
    if (strcmp(line, "row") == 0) {
        if (f->nrows == 1) f->ncols = *col;
        if (f->nrows == MAX_ROWS || (f->nrows > 1 && *col != f->ncols)) return -1;
        f->nrows++;
        *col = 0;
        return 0;
    }
    if ((tab = strchr(line, '\t')) == NULL || f->nrows == 0 || *col == MAX_COLS) return -1;
    *tab = '\0';
    if (f->nrows == 1) {
        f->names[*col] = strdup(line);
    } else if (*col >= f->ncols || strcmp(f->names[*col], line) != 0) {
        return -1; /* every row has the same columns */
    }
    f->values[(f->nrows - 1) * MAX_COLS + *col] = unescape(tab + 1);
    (*col)++;
    return 0;
}

static bool load_fixture(struct fixture *f, const char *name)
{
    char path[1400], line[4096];
    unsigned col = 0;
    bool ok = true;
    FILE *fp;

    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    snprintf(path, sizeof(path), "%s/%s", fixture_dir(), name);
    if ((fp = fopen(path, "r")) == NULL) return false;
    while (ok && fgets(line, sizeof(line), fp) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        ok = load_line(f, line, &col) == 0;
    }
    fclose(fp);
    if (f->nrows == 1) f->ncols = col;
    if (f->nrows > 1 && col != f->ncols) ok = false;
    if (!ok) fprintf(stderr, "  %s: malformed fixture near \"%.60s\"\n", name, line);
    return ok && f->query[0] != '\0' && f->source[0] != '\0';
}

static void free_fixture(struct fixture *f)
{
    unsigned i;

    for (i = 0; i < MAX_COLS; i++) free(f->names[i]);
    for (i = 0; i < MAX_ROWS * MAX_COLS; i++) free(f->values[i]);
}

/* Row r's values, packed for fo_sample_parse_replication (row-major, ncols each). */
static void pack(const struct fixture *f, const char **out)
{
    unsigned r, c;

    for (r = 0; r < f->nrows; r++)
        for (c = 0; c < f->ncols; c++) out[r * f->ncols + c] = f->values[r * MAX_COLS + c];
}

/* ---- expectations ------------------------------------------------------------------- */

#define VARS 1 /* the file is a reply to FO_SAMPLE_Q1 */

struct want {
    const char *file;
    int kind;
    /* SHOW SLAVE STATUS: the sample after fo_sample_parse_replication. */
    bool replica;
    unsigned n_sources;
    const char *conn, *host;
    unsigned port;
    enum fo_thread_state io, sql;
    long long lag;
    unsigned io_errno, sql_errno;
    const char *using_gtid;
    bool first_row_differs; /* fo_sample_parse_slave_status (first row) describes another source */
    /* The arrival columns (issue 11.4); NULL / -1: unknown. */
    struct {
        const char *log_file;
        long long pos, heartbeats, period_ms;
    } arr;
    /* VARS */
    unsigned long long server_id;
    bool read_only;
    const char *gtid_current_pos;
};

/* Designated initializers: a replica's reply, and a server that is not one. */
#define ST(f, n, host_, port_, io_, sql_, lag_, ioe, sqle, ug, differs, arr_)                                         \
    {                                                                                                                 \
        .file = f, .replica = true, .n_sources = n, .conn = "", .host = host_, .port = port_, .io = io_, .sql = sql_, \
        .lag = lag_, .io_errno = ioe, .sql_errno = sqle, .using_gtid = ug, .first_row_differs = differs, .arr = arr_  \
    }
#define NOT_REPLICA(f)                                                                                   \
    {                                                                                                    \
        .file = f, .conn = "", .host = "", .io = FO_THREAD_UNKNOWN, .sql = FO_THREAD_UNKNOWN, .lag = -1, \
        .using_gtid = "", .arr = NO_ARR                                                                  \
    }
/* Arrival columns: SHOW ALL SLAVES STATUS has them all; SHOW SLAVE STATUS (both servers)
 * and SHOW REPLICA STATUS only the position. */
#define ARR(file_, pos_, hb_, period_) \
    {                                  \
        file_, pos_, hb_, period_      \
    }
#define POS_ONLY(file_, pos_) \
    {                         \
        file_, pos_, -1, -1   \
    }
#define NO_ARR           \
    {                    \
        NULL, -1, -1, -1 \
    }
#define BIN1 "mysql-bin.000001"
#define MDB "mariadb-10.11.19-"
#define L "127.0.0.1"
#define Y FO_THREAD_YES
#define N FO_THREAD_NO

static const struct want wants[] = {
    {.file = MDB "primary.vars.txt", .kind = VARS, .server_id = 1, .read_only = false, .gtid_current_pos = "0-1-3"},
    {.file = MDB "replica.vars.txt", .kind = VARS, .server_id = 2, .read_only = true, .gtid_current_pos = "0-1-3"},
    NOT_REPLICA(MDB "primary.slave_status.txt"),
    NOT_REPLICA(MDB "primary.all_slaves_status.txt"),
    ST(MDB "running.slave_status.txt", 1, L, 31101, Y, Y, 0, 0, 0, "Slave_Pos", false, POS_ONLY(BIN1, 803)),
    ST(MDB "running.all_slaves_status.txt", 1, L, 31101, Y, Y, 0, 0, 0, "Slave_Pos", false, ARR(BIN1, 803, 0, 1000)),
    /* The case: a healthy replica right after START SLAVE. */
    ST(MDB "preparing.slave_status.txt", 1, L, 31101, FO_THREAD_PREPARING, Y, -1, 0, 0, "Slave_Pos", false,
       POS_ONLY(BIN1, 1205)),
    ST(MDB "io_stopped.slave_status.txt", 1, L, 31101, N, Y, -1, 0, 0, "Slave_Pos", false, POS_ONLY(BIN1, 1205)),
    ST(MDB "io_stopped.all_slaves_status.txt", 1, L, 31101, N, Y, -1, 0, 0, "Slave_Pos", false,
       ARR(BIN1, 1205, 1, 1000)),
    ST(MDB "connecting.slave_status.txt", 1, L, 31101, FO_THREAD_CONNECTING, Y, -1, 2003, 0, "Slave_Pos", false,
       POS_ONLY(BIN1, 1205)),
    ST(MDB "connecting.all_slaves_status.txt", 1, L, 31101, FO_THREAD_CONNECTING, Y, -1, 2003, 0, "Slave_Pos", false,
       ARR(BIN1, 1205, 9, 1000)),
    ST(MDB "sql_error.slave_status.txt", 1, L, 31101, Y, N, -1, 0, 1062, "Slave_Pos", false, POS_ONLY(BIN1, 1205)),
    ST(MDB "sql_error.all_slaves_status.txt", 1, L, 31101, Y, N, -1, 0, 1062, "Slave_Pos", false,
       ARR(BIN1, 1205, 1, 1000)),
    ST(MDB "delayed.slave_status.txt", 1, L, 31101, Y, Y, 1, 0, 0, "Slave_Pos", false, POS_ONLY(BIN1, 1004)),
    ST(MDB "delayed.all_slaves_status.txt", 1, L, 31101, Y, Y, 1, 0, 0, "Slave_Pos", false, ARR(BIN1, 1004, 0, 5000)),
    /* SHOW SLAVE STATUS shows the default connection only; SHOW ALL SLAVES STATUS both,
     * and the sample describes the default one. */
    ST(MDB "multi_source.slave_status.txt", 1, L, 31101, Y, Y, 0, 0, 0, "Slave_Pos", false, POS_ONLY(BIN1, 1205)),
    ST(MDB "multi_source.all_slaves_status.txt", 2, L, 31101, Y, Y, 0, 0, 0, "Slave_Pos", false,
       ARR(BIN1, 1205, 0, 5000)),
    /* Arrival pairs (issue 11.4), 2.5 s or more apart: an idle primary's heartbeats
     * arrive (6 -> 8); a hung primary's replica still says IO=Yes, and nothing arrives. */
    ST(MDB "idle_0.all_slaves_status.txt", 1, L, 31101, Y, Y, 0, 0, 0, "Slave_Pos", false, ARR(BIN1, 1205, 6, 1000)),
    ST(MDB "idle_1.all_slaves_status.txt", 1, L, 31101, Y, Y, 0, 0, 0, "Slave_Pos", false, ARR(BIN1, 1205, 8, 1000)),
    ST(MDB "hung_0.all_slaves_status.txt", 1, L, 31101, Y, Y, 0, 0, 0, "Slave_Pos", false, ARR(BIN1, 1205, 8, 1000)),
    ST(MDB "hung_1.all_slaves_status.txt", 1, L, 31101, Y, Y, 0, 0, 0, "Slave_Pos", false, ARR(BIN1, 1205, 8, 1000)),
    /* Typed from the manuals. */
    ST("mysql-5.7-running.slave_status.txt", 1, "localhost", 13000, Y, Y, 0, 0, 0, "", false,
       POS_ONLY("source-bin.000002", 1307)),
    ST("mysql-8.0-running.replica_status.txt", 1, "localhost", 13000, Y, Y, 0, 0, 0, "", false,
       POS_ONLY("source-bin.000002", 1307)),
    /* Two channels, the default one listed second: the default is described. */
    ST("mysql-8.0-two_channels.replica_status.txt", 2, "localhost", 13000, Y, Y, 0, 0, 0, "", true,
       POS_ONLY("source-bin.000002", 1307)),
};

static const struct want *want_for(const char *file)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(wants); i++)
        if (strcmp(wants[i].file, file) == 0) return &wants[i];
    return NULL;
}

static void check_vars(const struct fixture *f, const struct want *w)
{
    static struct fo_sample s;
    const char *v[MAX_COLS];
    char err[FO_ERRLEN] = "";

    FO_CHECK_INT(f->nrows, 1);
    pack(f, v);
    FO_CHECK_INT(fo_sample_parse_vars(&s, f->ncols, v, err), 0);
    FO_CHECK(s.server_id == w->server_id);
    FO_CHECK_INT(s.read_only, w->read_only);
    FO_CHECK_STR(s.gtid_current_pos, w->gtid_current_pos);
    FO_CHECK(s.gtid_binlog_state_known);
}

static void check_arrival(const struct fo_sample *s, const struct want *w)
{
    FO_CHECK_INT(s->master_log_file_known, w->arr.log_file != NULL);
    FO_CHECK_STR(s->master_log_file, w->arr.log_file != NULL ? w->arr.log_file : "");
    FO_CHECK_INT(s->read_pos_known, w->arr.pos >= 0);
    FO_CHECK(s->read_master_log_pos == (unsigned long long)(w->arr.pos >= 0 ? w->arr.pos : 0));
    FO_CHECK_INT(s->heartbeats_known, w->arr.heartbeats >= 0);
    FO_CHECK(s->heartbeats == (unsigned long long)(w->arr.heartbeats >= 0 ? w->arr.heartbeats : 0));
    FO_CHECK_INT(s->heartbeat_period_known, w->arr.period_ms >= 0);
    FO_CHECK_INT(s->heartbeat_period_ms, w->arr.period_ms >= 0 ? w->arr.period_ms : 0);
}

static void check_status(const struct fixture *f, const struct want *w)
{
    static struct fo_sample s, first;
    const char *v[MAX_ROWS * MAX_COLS];
    char err[FO_ERRLEN] = "";
    int rc;

    pack(f, v);
    memset(&s, 0x5a, sizeof(s));
    rc = fo_sample_parse_replication(&s, f->nrows, f->ncols, (const char *const *)f->names, v, err);
    if (rc != 0) fprintf(stderr, "  %s: %s\n", f->name, err);
    FO_CHECK_INT(rc, 0);
    FO_CHECK_INT(s.is_replica, w->replica);
    FO_CHECK_INT(s.n_sources, w->n_sources);
    FO_CHECK_STR(s.connection_name, w->conn);
    FO_CHECK_STR(s.master_host, w->host);
    FO_CHECK_INT(s.master_port, w->port);
    FO_CHECK_INT(s.io_running, w->io);
    FO_CHECK_INT(s.sql_running, w->sql);
    FO_CHECK_INT(s.lag_s, w->lag);
    FO_CHECK_INT(s.last_io_errno, w->io_errno);
    FO_CHECK_INT(s.last_sql_errno, w->sql_errno);
    FO_CHECK_STR(s.using_gtid, w->using_gtid);
    check_arrival(&s, w);
    if (w->io_errno != 0) FO_CHECK(s.last_io_error[0] != '\0');
    if (w->sql_errno != 0) FO_CHECK(s.last_sql_error[0] != '\0');

    /* What a caller holding only the first row (the prober) gets: never a failure. */
    memset(&first, 0x5a, sizeof(first));
    FO_CHECK_INT(fo_sample_parse_slave_status(&first, f->nrows, f->ncols, (const char *const *)f->names, v, err), 0);
    FO_CHECK_INT(first.n_sources, w->n_sources);
    FO_CHECK_INT(first.is_replica, w->replica);
    if (!w->first_row_differs) {
        FO_CHECK_INT(first.io_running, s.io_running);
        FO_CHECK_STR(first.master_host, s.master_host);
    } else {
        FO_CHECK(strcmp(first.connection_name, s.connection_name) != 0);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The fixture files, sorted; returns how many. */
static unsigned list_fixtures(char *names[MAX_FILES])
{
    DIR *d = opendir(fixture_dir());
    struct dirent *e;
    unsigned n = 0;
    size_t len;

    if (d == NULL) return 0;
    while ((e = readdir(d)) != NULL && n < MAX_FILES) {
        len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".txt") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_str);
    return n;
}

static void test_every_fixture(void)
{
    static struct fixture f;
    char *files[MAX_FILES];
    unsigned n = list_fixtures(files), i, seen = 0;

    FO_CHECK(n >= N_ELEMS(wants));
    for (i = 0; i < n; i++) {
        const struct want *w = want_for(files[i]);
        if (w == NULL) fprintf(stderr, "  %s: no expectations in the table\n", files[i]);
        FO_CHECK(w != NULL);
        if (!load_fixture(&f, files[i])) {
            fprintf(stderr, "  %s: cannot load\n", files[i]);
            FO_CHECK(false);
        } else if (w != NULL) {
            seen++;
            FO_CHECK(strncmp(f.source, "captured ", 9) == 0 || strncmp(f.source, "typed-from-docs ", 16) == 0);
            if (w->kind == VARS)
                check_vars(&f, w);
            else
                check_status(&f, w);
        }
        free_fixture(&f);
        free(files[i]);
    }
    FO_CHECK_INT(seen, N_ELEMS(wants)); /* no entry without its file */
}

/* ---- tomorrow's values ------------------------------------------------------------- */

/* The columns whose values may change meaning in a later server: none fails a probe. */
static const char *const soft_cols[] = {
    "Slave_IO_Running",
    "Slave_SQL_Running",
    "Replica_IO_Running",
    "Replica_SQL_Running",
    "Seconds_Behind_Master",
    "Seconds_Behind_Source",
    "Using_Gtid",
    "Connection_name",
    "Channel_Name",
    "Last_IO_Error",
    "Last_SQL_Error",
    /* The arrival columns (issue 11.4): an odd value makes the arrival unknown. */
    "Master_Log_File",
    "Source_Log_File",
    "Read_Master_Log_Pos",
    "Read_Source_Log_Pos",
    "Slave_received_heartbeats",
    "Slave_heartbeat_period",
};
static const char *const odd_values[] = {NULL, "",    "Reconnecting",         "Yes ",
                                         "-1", "1.5", "18446744073709551616", "\xc3\xa9t\xc3\xa9\n"};

static void test_unknown_values_never_fail(void)
{
    static struct fixture f;
    static struct fo_sample s;
    const char *v[MAX_ROWS * MAX_COLS];
    char *files[MAX_FILES];
    char err[FO_ERRLEN];
    unsigned n = list_fixtures(files), i, c, k, r, tried = 0;

    for (i = 0; i < n; i++) {
        if (strstr(files[i], ".vars.") == NULL && load_fixture(&f, files[i]) && f.nrows > 0) {
            for (c = 0; c < f.ncols; c++) {
                bool soft = false;
                for (k = 0; k < N_ELEMS(soft_cols); k++) soft = soft || strcmp(f.names[c], soft_cols[k]) == 0;
                for (k = 0; soft && k < N_ELEMS(odd_values); k++) {
                    pack(&f, v);
                    for (r = 0; r < f.nrows; r++) v[r * f.ncols + c] = odd_values[k];
                    err[0] = '\0';
                    int rc = fo_sample_parse_replication(&s, f.nrows, f.ncols, (const char *const *)f.names, v, err);
                    if (rc != 0) fprintf(stderr, "  %s %s=%s: %s\n", files[i], f.names[c], odd_values[k], err);
                    FO_CHECK_INT(rc, 0);
                    FO_CHECK(s.is_replica);
                    tried++;
                }
            }
        }
        free_fixture(&f);
        free(files[i]);
    }
    FO_CHECK(tried > 100);
}

/* Each arrival column of a captured reply set to values a server might send: the
 * number it is read as, or unknown -- never a failed probe, never a guess. */
static void test_arrival_values(void)
{
    static const struct {
        const char *col, *value;
        bool known;
        unsigned long long want; /* heartbeats, position, period in ms; file: known only */
    } cases[] = {
        {"Slave_heartbeat_period", "1.000", true, 1000},
        {"Slave_heartbeat_period", "0.000", true, 0}, /* heartbeats off */
        {"Slave_heartbeat_period", "0.5", true, 500},
        {"Slave_heartbeat_period", "30", true, 30000},
        {"Slave_heartbeat_period", "1.", true, 1000},
        {"Slave_heartbeat_period", "0.0004", true, 1}, /* never read as "off", never shorter */
        {"Slave_heartbeat_period", "1.0010", true, 1001},
        {"Slave_heartbeat_period", "4294967.295", true, 4294967295ULL},
        {"Slave_heartbeat_period", "4294967.296", false, 0},
        {"Slave_heartbeat_period", "99999999999999999999", false, 0},
        {"Slave_heartbeat_period", NULL, false, 0},
        {"Slave_heartbeat_period", "", false, 0},
        {"Slave_heartbeat_period", ".5", false, 0},
        {"Slave_heartbeat_period", "-1.000", false, 0},
        {"Slave_heartbeat_period", "1,000", false, 0},
        {"Slave_heartbeat_period", "1.000 ", false, 0},
        {"Slave_received_heartbeats", "18446744073709551615", true, 18446744073709551615ULL},
        {"Slave_received_heartbeats", "18446744073709551616", false, 0},
        {"Slave_received_heartbeats", NULL, false, 0},
        {"Slave_received_heartbeats", "-1", false, 0},
        {"Slave_received_heartbeats", "7x", false, 0},
        {"Read_Master_Log_Pos", "4", true, 4},
        {"Read_Master_Log_Pos", NULL, false, 0},
        {"Read_Master_Log_Pos", "", false, 0},
        {"Read_Master_Log_Pos", " 4", false, 0},
        {"Master_Log_File", "", true, 0}, /* never connected: a known empty name */
        {"Master_Log_File", NULL, false, 0},
    };
    static char long_name[FO_SAMPLE_LOGFILE_LEN + 1];
    static struct fixture f;
    static struct fo_sample s;
    const char *v[MAX_ROWS * MAX_COLS];
    char err[FO_ERRLEN];
    unsigned i, c;

    FO_CHECK(load_fixture(&f, MDB "running.all_slaves_status.txt"));
    for (i = 0; i <= N_ELEMS(cases); i++) {
        /* The last case: a file name longer than FN_REFLEN is unknown, not cut. */
        bool last = i == N_ELEMS(cases);
        const char *col = last ? "Master_Log_File" : cases[i].col;

        memset(long_name, 'f', sizeof(long_name) - 1);
        pack(&f, v);
        for (c = 0; c < f.ncols && strcmp(f.names[c], col) != 0; c++) continue;
        FO_CHECK(c < f.ncols);
        if (c == f.ncols) break;
        v[c] = last ? long_name : cases[i].value;
        memset(&s, 0x5a, sizeof(s));
        FO_CHECK_INT(fo_sample_parse_replication(&s, f.nrows, f.ncols, (const char *const *)f.names, v, err), 0);
        FO_CHECK_INT(s.io_running, FO_THREAD_YES); /* the rest of the reply is read as before */
        if (last) {
            FO_CHECK(!s.master_log_file_known);
            FO_CHECK_STR(s.master_log_file, "");
        } else if (strcmp(col, "Slave_heartbeat_period") == 0) {
            FO_CHECK_INT(s.heartbeat_period_known, cases[i].known);
            FO_CHECK(s.heartbeat_period_ms == cases[i].want);
        } else if (strcmp(col, "Slave_received_heartbeats") == 0) {
            FO_CHECK_INT(s.heartbeats_known, cases[i].known);
            FO_CHECK(s.heartbeats == cases[i].want);
        } else if (strcmp(col, "Read_Master_Log_Pos") == 0) {
            FO_CHECK_INT(s.read_pos_known, cases[i].known);
            FO_CHECK(s.read_master_log_pos == cases[i].want);
        } else {
            FO_CHECK_INT(s.master_log_file_known, cases[i].known);
            FO_CHECK_STR(s.master_log_file, cases[i].value != NULL ? cases[i].value : "");
        }
    }
    free_fixture(&f);
}

/* ---- arrival on captured replies (issue 11.4) ------------------------------------- */

static void status_sample(struct fo_sample *s, const char *file)
{
    static struct fixture f;
    const char *v[MAX_ROWS * MAX_COLS];

    memset(s, 0, sizeof(*s));
    FO_CHECK(load_fixture(&f, file));
    pack(&f, v);
    FO_CHECK_INT(fo_sample_parse_replication(s, f.nrows, f.ncols, (const char *const *)f.names, v, NULL), 0);
    free_fixture(&f);
}

/* The pair's second reply came ARRIVAL_GAP (2.5 s, capture.py) or more after the first;
 * each probe took 5 ms here. The verdict of a primary that every controller sees down,
 * with this replica's word only. */
static enum fo_verdict pair_verdict(const char *first, const char *second, struct fo_detect_out *out)
{
    static struct fo_sample s;
    struct fo_arrival a;
    struct fo_detect_replica r;
    struct fo_detect_in in;

    memset(&a, 0, sizeof(a));
    status_sample(&s, first);
    fo_arrival_update(&a, &s, 0, 5);
    FO_CHECK(fo_arrival_state(&a, NULL) != FO_ARRIVAL_SILENT); /* one sample proves nothing */
    status_sample(&s, second);
    fo_arrival_update(&a, &s, 2500, 2505);
    r = (struct fo_detect_replica){"127.0.0.1", 31102, true, 10, true, s.io_running, s.io_running_text, false, 0};
    r.silent = fo_arrival_state(&a, &r.silent_ms) == FO_ARRIVAL_SILENT;
    memset(&in, 0, sizeof(in));
    in.leader_view = FO_HEALTH_DOWN;
    in.n_voters = 1;
    in.window_ms = 1000;
    in.replicas = &r;
    in.n_replicas = 1;
    fo_detect(&in, out);
    return out->verdict;
}

static void test_arrival_captured(void)
{
    struct fo_detect_out out;

    /* Heartbeats arrived between the replies: the replica still hears the primary. */
    FO_CHECK_INT(pair_verdict(MDB "idle_0.all_slaves_status.txt", MDB "idle_1.all_slaves_status.txt", &out),
                 FO_VERDICT_UNREACHABLE);
    FO_CHECK_STR(out.reason, "127.0.0.1:31102 still replicates from the primary (IO=Yes): unreachable only from the "
                             "controllers (down for 1/1 controllers)");
    /* The primary hung: IO=Yes in both replies, nothing arrived for 2.495 s. */
    FO_CHECK_INT(pair_verdict(MDB "hung_0.all_slaves_status.txt", MDB "hung_1.all_slaves_status.txt", &out),
                 FO_VERDICT_DEAD);
    FO_CHECK_STR(
        out.reason,
        "primary down for 1/1 controllers; replicas: 127.0.0.1:31102 IO=Yes but no event or heartbeat for 2.4 s");
    /* The same pair through SHOW SLAVE STATUS (no heartbeat columns): unknown, so the
     * IO thread's Yes stands. */
    FO_CHECK_INT(pair_verdict(MDB "running.slave_status.txt", MDB "running.slave_status.txt", &out),
                 FO_VERDICT_UNREACHABLE);
    /* MySQL 8.0: no heartbeat columns either. */
    FO_CHECK_INT(pair_verdict("mysql-8.0-running.replica_status.txt", "mysql-8.0-running.replica_status.txt", &out),
                 FO_VERDICT_UNREACHABLE);
}

/* ---- the stale-sample rule ------------------------------------------------------ */

/* A sample from fixture `file` (vars) with no replication rows, or with the first row
 * of status_file. */
static void sample_from(struct fo_sample *s, const char *vars_file, const char *status_file)
{
    static struct fixture f;
    const char *v[MAX_ROWS * MAX_COLS];

    memset(s, 0, sizeof(*s));
    FO_CHECK(load_fixture(&f, vars_file));
    pack(&f, v);
    FO_CHECK_INT(fo_sample_parse_vars(s, f.ncols, v, NULL), 0);
    free_fixture(&f);
    FO_CHECK(load_fixture(&f, status_file));
    pack(&f, v);
    FO_CHECK_INT(fo_sample_parse_replication(s, f.nrows, f.ncols, (const char *const *)f.names, v, NULL), 0);
    free_fixture(&f);
}

/* Right after a switchover from db1 to db2: db1's last sample was taken before the
 * fence (writable, no source), db2's after the promotion (writable). Compared, they
 * say "multiple writable"; with the change's time, db1's sample is stale and nothing
 * is said until db1 has been probed again. */
static void test_stale_sample_rule(void)
{
    static struct fo_sample primary, replica;
    struct fo_topo_in in[3];
    struct fo_topo_out out[3];
    struct fo_topo_result res;

    sample_from(&primary, MDB "primary.vars.txt", MDB "primary.slave_status.txt");
    sample_from(&replica, MDB "replica.vars.txt", MDB "running.slave_status.txt");
    FO_CHECK(!primary.read_only && !primary.is_replica);
    memset(in, 0, sizeof(in));
    in[0] = (struct fo_topo_in){"127.0.0.1", 31101, true, true, &primary, false, 1000, false};  /* before */
    in[1] = (struct fo_topo_in){"127.0.0.1", 31102, true, false, &primary, false, 2100, false}; /* promoted */
    in[2] = (struct fo_topo_in){"127.0.0.1", 31103, true, false, &replica, false, 2200, false};

    /* Without the change's time: the false alarm. */
    fo_topology_infer(in, 3, out, &res);
    FO_CHECK_INT(res.n_stale, 0);
    FO_CHECK_INT(res.n_problems, 1);
    FO_CHECK_STR(res.problems[0], FO_TOPO_P_MULTIPLE_WRITABLE "127.0.0.1:31101, 127.0.0.1:31102");

    /* The change committed (seen) at 2000: db1's sample predates it. */
    fo_topology_infer_at(in, 3, 2000, out, &res);
    FO_CHECK_INT(res.n_stale, 1);
    FO_CHECK(out[0].stale && !out[1].stale && !out[2].stale);
    FO_CHECK_INT(res.n_problems, 0);
    FO_CHECK_INT(res.primary, 1);

    /* A probe that started exactly at the change is not stale. */
    in[0].started_ms = 2000;
    fo_topology_infer_at(in, 3, 2000, out, &res);
    FO_CHECK_INT(res.n_stale, 0);
    FO_CHECK_INT(res.n_problems, 1); /* db1 really is still writable: said */

    /* Fenced by then: nothing to say. */
    in[0].s = &replica;
    fo_topology_infer_at(in, 3, 2000, out, &res);
    FO_CHECK_INT(res.n_problems, 0);

    /* The only primary's sample is stale (taken before its promotion, read-only):
     * not "no primary" -- nothing is known yet. */
    in[0].s = &replica;
    in[1].s = &replica;
    in[1].started_ms = 1500;
    in[0].was_primary = false;
    fo_topology_infer_at(in, 3, 2000, out, &res);
    FO_CHECK_INT(res.n_stale, 1);
    FO_CHECK_INT(res.n_problems, 0);
    fo_topology_infer(in, 3, out, &res); /* without the rule: "no primary" */
    FO_CHECK_INT(res.n_problems, 1);
    FO_CHECK_STR(res.problems[0], FO_TOPO_P_NO_PRIMARY);

    /* An unreachable instance is never stale (it has no current sample). */
    in[1].reachable = false;
    fo_topology_infer_at(in, 3, 2000, out, &res);
    FO_CHECK_INT(res.n_stale, 0);
    FO_CHECK(!out[1].stale);
}

FO_TEST_MAIN(FO_T(test_every_fixture), FO_T(test_unknown_values_never_fail), FO_T(test_arrival_values),
             FO_T(test_arrival_captured), FO_T(test_stale_sample_rule))
