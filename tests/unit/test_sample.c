/* Unit tests for mysql/sample.c.
 *
 * The fixtures are real replies captured from MariaDB 10.11.19 (Debian 12) with
 * `SHOW SLAVE STATUS` in four states: replicating; IO thread stopped by an error;
 * IO thread retrying a refused connection; SQL thread stopped by a duplicate key. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql/sample.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Markers for table entries: a value that is SQL NULL, a column that is absent. */
static const char sql_null[] = "<SQL NULL>";
static const char drop_col[] = "<no such column>";
#define SQL_NULL sql_null
#define DROP drop_col

/* ---- fixtures --------------------------------------------------------------------- */

enum { FX_RUNNING, FX_IO_ERROR, FX_CONNECTING, FX_SQL_ERROR, N_FX };

#define E1593                                                                  \
    "Fatal error: Invalid (empty) username when attempting to connect to the " \
    "master server. Connection attempt terminated."
#define E2003                                                                   \
    "error connecting to master 'repl@127.0.0.1:1' - retry-time: 1  "           \
    "maximum-retries: 100000  message: Can't connect to server on '127.0.0.1' " \
    "(111 \"Connection refused\")"
#define E1062                                                                    \
    "Error 'Duplicate entry '4' for key 'PRIMARY'' on query. Default database: " \
    "''. Query: 'INSERT INTO d.t VALUES (4)'"
#define WAITING "Waiting for master to send event"
#define READ_ALL "Slave has read all relay log; waiting for more updates"

/* Every column of MariaDB 10.11's SHOW SLAVE STATUS, in order, with its value in
 * each captured state. */
static const struct {
    const char *name;
    const char *v[N_FX];
} fixture[] = {
    {"Slave_IO_State", {WAITING, "", "Connecting to master", WAITING}},
    {"Master_Host", {"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"}},
    {"Master_User", {"repl", "", "repl", "repl"}},
    {"Master_Port", {"35000", "1", "1", "35000"}},
    {"Connect_Retry", {"1", "1", "1", "1"}},
    {"Master_Log_File", {"vm-bin.000001", "", "", "vm-bin.000001"}},
    {"Read_Master_Log_Pos", {"1548", "4", "4", "1710"}},
    {"Relay_Log_File", {"vm-relay-bin.000002", "vm-relay-bin.000001", "vm-relay-bin.000001", "vm-relay-bin.000002"}},
    {"Relay_Log_Pos", {"1844", "4", "4", "1844"}},
    {"Relay_Master_Log_File", {"vm-bin.000001", "", "", "vm-bin.000001"}},
    {"Slave_IO_Running", {"Yes", "No", "Connecting", "Yes"}},
    {"Slave_SQL_Running", {"Yes", "Yes", "Yes", "No"}},
    {"Replicate_Do_DB", {"", "", "", ""}},
    {"Replicate_Ignore_DB", {"", "", "", ""}},
    {"Replicate_Do_Table", {"", "", "", ""}},
    {"Replicate_Ignore_Table", {"", "", "", ""}},
    {"Replicate_Wild_Do_Table", {"", "", "", ""}},
    {"Replicate_Wild_Ignore_Table", {"", "", "", ""}},
    {"Last_Errno", {"0", "0", "0", "1062"}},
    {"Last_Error", {"", "", "", E1062}},
    {"Skip_Counter", {"0", "0", "0", "0"}},
    {"Exec_Master_Log_Pos", {"1548", "4", "4", "1548"}},
    {"Relay_Log_Space", {"2150", "256", "256", "2312"}},
    {"Until_Condition", {"None", "None", "None", "None"}},
    {"Until_Log_File", {"", "", "", ""}},
    {"Until_Log_Pos", {"0", "0", "0", "0"}},
    {"Master_SSL_Allowed", {"No", "No", "No", "No"}},
    {"Master_SSL_CA_File", {"", "", "", ""}},
    {"Master_SSL_CA_Path", {"", "", "", ""}},
    {"Master_SSL_Cert", {"", "", "", ""}},
    {"Master_SSL_Cipher", {"", "", "", ""}},
    {"Master_SSL_Key", {"", "", "", ""}},
    {"Seconds_Behind_Master", {"0", SQL_NULL, SQL_NULL, SQL_NULL}},
    {"Master_SSL_Verify_Server_Cert", {"No", "No", "No", "No"}},
    {"Last_IO_Errno", {"0", "1593", "2003", "0"}},
    {"Last_IO_Error", {"", E1593, E2003, ""}},
    {"Last_SQL_Errno", {"0", "0", "0", "1062"}},
    {"Last_SQL_Error", {"", "", "", E1062}},
    {"Replicate_Ignore_Server_Ids", {"", "", "", ""}},
    {"Master_Server_Id", {"10", "0", "0", "10"}},
    {"Master_SSL_Crl", {"", "", "", ""}},
    {"Master_SSL_Crlpath", {"", "", "", ""}},
    {"Using_Gtid", {"Slave_Pos", "Slave_Pos", "Slave_Pos", "Slave_Pos"}},
    {"Gtid_IO_Pos", {"3-10-2,0-10-6", "", "", "3-10-3,0-10-6"}},
    {"Replicate_Do_Domain_Ids", {"", "", "", ""}},
    {"Replicate_Ignore_Domain_Ids", {"", "", "", ""}},
    {"Parallel_Mode", {"optimistic", "optimistic", "optimistic", "optimistic"}},
    {"SQL_Delay", {"0", "0", "0", "0"}},
    {"SQL_Remaining_Delay", {SQL_NULL, SQL_NULL, SQL_NULL, SQL_NULL}},
    {"Slave_SQL_Running_State", {READ_ALL, READ_ALL, READ_ALL, ""}},
    {"Slave_DDL_Groups", {"6", "0", "0", "6"}},
    {"Slave_Non_Transactional_Groups", {"0", "0", "0", "0"}},
    {"Slave_Transactional_Groups", {"2", "0", "0", "3"}},
    {"Replicate_Rewrite_DB", {"", "", "", ""}},
};

#define MAX_COLS (N_ELEMS(fixture) + 4)

struct kv {
    const char *name, *value; /* value SQL_NULL or DROP; name not in the fixture: appended */
};

/* A result row built from fixture fx with overrides applied. */
struct row {
    unsigned n;
    const char *names[MAX_COLS];
    const char *values[MAX_COLS];
};

static const char *unmark(const char *v)
{
    return v == sql_null ? NULL : v;
}

static void build_row(struct row *r, unsigned fx, const struct kv *over, unsigned nover)
{
    unsigned i, k;

    r->n = 0;
    for (i = 0; i < N_ELEMS(fixture); i++) {
        const char *v = fixture[i].v[fx];
        for (k = 0; k < nover; k++)
            if (over[k].name != NULL && strcmp(over[k].name, fixture[i].name) == 0) v = over[k].value;
        if (v == drop_col) continue;
        r->names[r->n] = fixture[i].name;
        r->values[r->n++] = unmark(v);
    }
    for (k = 0; k < nover; k++) {
        bool known = false;
        for (i = 0; i < N_ELEMS(fixture); i++)
            known = known || (over[k].name && strcmp(over[k].name, fixture[i].name) == 0);
        if (over[k].name != NULL && !known && over[k].value != drop_col) {
            r->names[r->n] = over[k].name;
            r->values[r->n++] = unmark(over[k].value);
        }
    }
}

/* ---- SHOW SLAVE STATUS ---------------------------------------------------------- */

struct ss_want {
    const char *host;
    unsigned port;
    enum fo_thread_state io, sql;
    long long lag;
    unsigned io_errno;
    const char *io_error;
    unsigned sql_errno;
    const char *sql_error;
    const char *gtid_io_pos, *using_gtid;
};

struct ss_case {
    const char *label;
    unsigned fx;
    struct kv over[3];
    int rc;
    const char *err; /* rc != 0: substring of the message */
    struct ss_want want;
};

#define W_RUNNING                                                                                       \
    {                                                                                                   \
        "127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, 0, 0, "", 0, "", "3-10-2,0-10-6", "Slave_Pos" \
    }

static const struct ss_case ss_cases[] = {
    {"replicating", FX_RUNNING, {{0}}, 0, NULL, W_RUNNING},
    {"io stopped by error",
     FX_IO_ERROR,
     {{0}},
     0,
     NULL,
     {"127.0.0.1", 1, FO_THREAD_NO, FO_THREAD_YES, -1, 1593, E1593, 0, "", "", "Slave_Pos"}},
    {"io connecting",
     FX_CONNECTING,
     {{0}},
     0,
     NULL,
     {"127.0.0.1", 1, FO_THREAD_CONNECTING, FO_THREAD_YES, -1, 2003, E2003, 0, "", "", "Slave_Pos"}},
    {"sql stopped by error",
     FX_SQL_ERROR,
     {{0}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_NO, -1, 0, "", 1062, E1062, "3-10-3,0-10-6", "Slave_Pos"}},
    /* Required columns. */
    {"no Master_Host", FX_RUNNING, {{"Master_Host", DROP}}, .rc = FO_EPROTO, .err = "missing column Master_Host"},
    {"no Master_Port", FX_RUNNING, {{"Master_Port", DROP}}, .rc = FO_EPROTO, .err = "missing column Master_Port"},
    {"no IO", FX_RUNNING, {{"Slave_IO_Running", DROP}}, .rc = FO_EPROTO, .err = "missing column Slave_IO_Running"},
    {"no SQL", FX_RUNNING, {{"Slave_SQL_Running", DROP}}, .rc = FO_EPROTO, .err = "missing column Slave_SQL_Running"},
    {"no lag",
     FX_RUNNING,
     {{"Seconds_Behind_Master", DROP}},
     .rc = FO_EPROTO,
     .err = "missing column Seconds_Behind_Master"},
    /* Optional columns default when absent (MySQL has no Gtid_IO_Pos / Using_Gtid). */
    {"mysql-like",
     FX_RUNNING,
     {{"Gtid_IO_Pos", DROP}, {"Using_Gtid", DROP}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, 0, 0, "", 0, "", "", ""}},
    {"no error columns",
     FX_IO_ERROR,
     {{"Last_IO_Errno", DROP}, {"Last_IO_Error", DROP}},
     0,
     NULL,
     {"127.0.0.1", 1, FO_THREAD_NO, FO_THREAD_YES, -1, 0, "", 0, "", "", "Slave_Pos"}},
    {"null optional",
     FX_RUNNING,
     {{"Last_IO_Errno", SQL_NULL}, {"Last_IO_Error", SQL_NULL}, {"Gtid_IO_Pos", SQL_NULL}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, 0, 0, "", 0, "", "", "Slave_Pos"}},
    /* Unknown columns are ignored; a repeated name: the first one wins. */
    {"extra columns",
     FX_RUNNING,
     {{"Master_Retry_Count", "100000"}, {"Some_Future_Column", "garbage"}, {"x", SQL_NULL}},
     0,
     NULL,
     W_RUNNING},
    /* Master_Port. */
    {"port max",
     FX_RUNNING,
     {{"Master_Port", "65535"}},
     0,
     NULL,
     {"127.0.0.1", 65535, FO_THREAD_YES, FO_THREAD_YES, 0, 0, "", 0, "", "3-10-2,0-10-6", "Slave_Pos"}},
    {"port 65536", FX_RUNNING, {{"Master_Port", "65536"}}, .rc = FO_EPROTO, .err = "Master_Port: not a number"},
    {"port -1", FX_RUNNING, {{"Master_Port", "-1"}}, .rc = FO_EPROTO, .err = "Master_Port"},
    {"port empty", FX_RUNNING, {{"Master_Port", ""}}, .rc = FO_EPROTO, .err = "Master_Port"},
    {"port blank", FX_RUNNING, {{"Master_Port", " 3306"}}, .rc = FO_EPROTO, .err = "Master_Port"},
    {"port trailing", FX_RUNNING, {{"Master_Port", "3306 "}}, .rc = FO_EPROTO, .err = "Master_Port"},
    {"port garbage", FX_RUNNING, {{"Master_Port", "33o6"}}, .rc = FO_EPROTO, .err = "\"33o6\""},
    {"port null", FX_RUNNING, {{"Master_Port", SQL_NULL}}, .rc = FO_EPROTO, .err = "Master_Port: unexpected NULL"},
    {"port overflow", FX_RUNNING, {{"Master_Port", "99999999999999999999"}}, .rc = FO_EPROTO, .err = "Master_Port"},
    /* Seconds_Behind_Master: a value that is not a whole number of seconds is an
     * unknown lag (-1), as NULL is, never a failed probe (issue 11.5). */
    {"lag null",
     FX_RUNNING,
     {{"Seconds_Behind_Master", SQL_NULL}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, -1, 0, "", 0, "", "3-10-2,0-10-6", "Slave_Pos"}},
    {"lag 12",
     FX_RUNNING,
     {{"Seconds_Behind_Master", "12"}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, 12, 0, "", 0, "", "3-10-2,0-10-6", "Slave_Pos"}},
    {"lag max",
     FX_RUNNING,
     {{"Seconds_Behind_Master", "9223372036854775807"}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, 9223372036854775807LL, 0, "", 0, "", "3-10-2,0-10-6",
      "Slave_Pos"}},
    {"lag > int64",
     FX_RUNNING,
     {{"Seconds_Behind_Master", "9223372036854775808"}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, -1, 0, "", 0, "", "3-10-2,0-10-6", "Slave_Pos"}},
    {"lag overflow",
     FX_RUNNING,
     {{"Seconds_Behind_Master", "99999999999999999999"}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, -1, 0, "", 0, "", "3-10-2,0-10-6", "Slave_Pos"}},
    {"lag negative",
     FX_RUNNING,
     {{"Seconds_Behind_Master", "-1"}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, -1, 0, "", 0, "", "3-10-2,0-10-6", "Slave_Pos"}},
    {"lag empty",
     FX_RUNNING,
     {{"Seconds_Behind_Master", ""}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, -1, 0, "", 0, "", "3-10-2,0-10-6", "Slave_Pos"}},
    {"lag float",
     FX_RUNNING,
     {{"Seconds_Behind_Master", "1.5"}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, -1, 0, "", 0, "", "3-10-2,0-10-6", "Slave_Pos"}},
    /* Thread states: see test_thread_states (none of them is an error). */
    /* Errnos. */
    {"errno overflow", FX_RUNNING, {{"Last_IO_Errno", "4294967296"}}, .rc = FO_EPROTO, .err = "Last_IO_Errno"},
    {"errno garbage", FX_RUNNING, {{"Last_SQL_Errno", "x"}}, .rc = FO_EPROTO, .err = "Last_SQL_Errno"},
    {"errno max",
     FX_RUNNING,
     {{"Last_SQL_Errno", "4294967295"}, {"Last_SQL_Error", "boom"}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, 0, 0, "", 4294967295u, "boom", "3-10-2,0-10-6", "Slave_Pos"}},
    /* Text columns. */
    {"host null", FX_RUNNING, {{"Master_Host", SQL_NULL}}, .rc = FO_EPROTO, .err = "Master_Host"},
    /* A GTID mode a later server may add: kept for display, cut to fit. */
    {"using_gtid long",
     FX_RUNNING,
     {{"Using_Gtid", "Current_Pos_and_more"}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, 0, 0, "", 0, "", "3-10-2,0-10-6", "Current_Pos_..."}},
    {"using_gtid current",
     FX_RUNNING,
     {{"Using_Gtid", "Current_Pos"}},
     0,
     NULL,
     {"127.0.0.1", 35000, FO_THREAD_YES, FO_THREAD_YES, 0, 0, "", 0, "", "3-10-2,0-10-6", "Current_Pos"}},
};

static void check_want(const struct fo_sample *s, const struct ss_want *w)
{
    FO_CHECK(s->is_replica);
    FO_CHECK_STR(s->master_host, w->host);
    FO_CHECK_INT(s->master_port, w->port);
    FO_CHECK_INT(s->io_running, w->io);
    FO_CHECK_INT(s->sql_running, w->sql);
    FO_CHECK_INT(s->lag_s, w->lag);
    FO_CHECK_INT(s->last_io_errno, w->io_errno);
    FO_CHECK_STR(s->last_io_error, w->io_error);
    FO_CHECK_INT(s->last_sql_errno, w->sql_errno);
    FO_CHECK_STR(s->last_sql_error, w->sql_error);
    FO_CHECK_STR(s->gtid_io_pos, w->gtid_io_pos);
    FO_CHECK_STR(s->using_gtid, w->using_gtid);
}

static void test_slave_status_table(void)
{
    static struct fo_sample s, before;
    char err[FO_ERRLEN];
    struct row r;
    unsigned i;

    for (i = 0; i < N_ELEMS(ss_cases); i++) {
        const struct ss_case *c = &ss_cases[i];
        build_row(&r, c->fx, c->over, N_ELEMS(c->over));
        memset(&s, 0x5a, sizeof(s));
        s.server_id = 9;
        before = s;
        err[0] = '\0';
        int rc = fo_sample_parse_slave_status(&s, 1, r.n, r.names, r.values, err);
        if (rc != c->rc) fprintf(stderr, "  case \"%s\": rc %d err \"%s\"\n", c->label, rc, err);
        FO_CHECK_INT(rc, c->rc);
        if (rc == 0) {
            check_want(&s, &c->want);
            FO_CHECK_INT(s.server_id, 9); /* Q1's fields are not touched */
        } else {
            FO_CHECK(memcmp(&s, &before, sizeof(s)) == 0); /* unchanged on failure */
            if (strstr(err, c->err) == NULL)
                fprintf(stderr, "  case \"%s\": err \"%s\" lacks \"%s\"\n", c->label, err, c->err);
            FO_CHECK(strstr(err, c->err) != NULL);
        }
    }
}

/* Unknown is a value (STYLE.md §17, issue 8.7): no Slave_IO_Running /
 * Slave_SQL_Running value fails the probe. Known ones map to their state; anything
 * else is UNRECOGNIZED with the server's text kept for display. */
static const struct {
    const char *value; /* SQL_NULL for NULL */
    enum fo_thread_state state;
    const char *text;
} thread_cases[] = {
    {"Yes", FO_THREAD_YES, "Yes"},
    {"No", FO_THREAD_NO, "No"},
    {"Connecting", FO_THREAD_CONNECTING, "Connecting"},
    /* MariaDB, while the IO thread starts: the case. */
    {"Preparing", FO_THREAD_PREPARING, "Preparing"},
    /* Not guessed at: another case or spacing is another value. */
    {"yes", FO_THREAD_UNRECOGNIZED, "yes"},
    {"Yes ", FO_THREAD_UNRECOGNIZED, "Yes "},
    {"preparing", FO_THREAD_UNRECOGNIZED, "preparing"},
    {"Maybe", FO_THREAD_UNRECOGNIZED, "Maybe"},
    {"", FO_THREAD_UNRECOGNIZED, ""},
    {SQL_NULL, FO_THREAD_UNRECOGNIZED, "NULL"},
    /* Control bytes never reach a log line; a long value is cut for display. */
    {"Bad\nvalue\t", FO_THREAD_UNRECOGNIZED, "Bad?value?"},
    {"Waiting for the primary to finish something long", FO_THREAD_UNRECOGNIZED, "Waiting for the primary to f..."},
};

static void test_thread_states(void)
{
    static struct fo_sample s;
    char err[FO_ERRLEN];
    struct row r;
    unsigned i, col;

    for (i = 0; i < N_ELEMS(thread_cases); i++) {
        for (col = 0; col < 2; col++) {
            struct kv over[1] = {{col == 0 ? "Slave_IO_Running" : "Slave_SQL_Running", thread_cases[i].value}};
            enum fo_thread_state *state = col == 0 ? &s.io_running : &s.sql_running;
            enum fo_thread_state *other = col == 0 ? &s.sql_running : &s.io_running;
            const char *text = col == 0 ? s.io_running_text : s.sql_running_text;

            memset(&s, 0x5a, sizeof(s));
            build_row(&r, FX_RUNNING, over, 1);
            err[0] = '\0';
            int rc = fo_sample_parse_slave_status(&s, 1, r.n, r.names, r.values, err);
            if (rc != 0) fprintf(stderr, "  case %u col %u: rc %d err \"%s\"\n", i, col, rc, err);
            FO_CHECK_INT(rc, 0);
            FO_CHECK(s.is_replica);
            FO_CHECK_INT(*state, thread_cases[i].state);
            FO_CHECK_STR(text, thread_cases[i].text);
            FO_CHECK_INT(*other, FO_THREAD_YES); /* the other column is untouched */
            FO_CHECK_STR(col == 0 ? s.sql_running_text : s.io_running_text, "Yes");
        }
    }
}

static void test_slave_status_columns_by_name(void)
{
    static struct fo_sample s;
    const char *names[N_ELEMS(fixture)], *values[N_ELEMS(fixture)];
    unsigned i, n = N_ELEMS(fixture);

    /* Reversed order and lower case: still found. */
    for (i = 0; i < n; i++) {
        static char lower[N_ELEMS(fixture)][64];
        size_t k;
        for (k = 0; fixture[i].name[k] != '\0' && k + 1 < sizeof(lower[i]); k++)
            lower[i][k] = (char)tolower((unsigned char)fixture[i].name[k]);
        lower[i][k] = '\0';
        names[n - 1 - i] = lower[i];
        values[n - 1 - i] = unmark(fixture[i].v[FX_CONNECTING]);
    }
    FO_CHECK_INT(fo_sample_parse_slave_status(&s, 1, n, names, values, NULL), 0);
    FO_CHECK_INT(s.io_running, FO_THREAD_CONNECTING);
    FO_CHECK_INT(s.last_io_errno, 2003);
    FO_CHECK_INT(s.master_port, 1);

    /* A repeated column: the first one wins, the later garbage is ignored. */
    {
        const char *nm[] = {"Master_Host",       "Master_Port",           "Slave_IO_Running",
                            "Slave_SQL_Running", "Seconds_Behind_Master", "Master_Port"};
        const char *vl[] = {"db1", "3306", "Yes", "Yes", "3", "garbage"};
        FO_CHECK_INT(fo_sample_parse_slave_status(&s, 1, 6, nm, vl, NULL), 0);
        FO_CHECK_INT(s.master_port, 3306);
        FO_CHECK_STR(s.master_host, "db1");
        FO_CHECK_INT(s.lag_s, 3);
        FO_CHECK_STR(s.gtid_io_pos, ""); /* absent optional columns reset */
        FO_CHECK_STR(s.last_io_error, "");
    }
}

static void test_slave_status_rows(void)
{
    static struct fo_sample s, before;
    char err[FO_ERRLEN];
    struct row r;

    build_row(&r, FX_IO_ERROR, NULL, 0);
    FO_CHECK_INT(fo_sample_parse_slave_status(&s, 1, r.n, r.names, r.values, err), 0);
    FO_CHECK(s.is_replica);

    /* No row: not a replica, and nothing of the previous row survives. */
    FO_CHECK_INT(fo_sample_parse_slave_status(&s, 0, 0, NULL, NULL, err), 0);
    FO_CHECK(!s.is_replica);
    FO_CHECK_STR(s.master_host, "");
    FO_CHECK_INT(s.master_port, 0);
    FO_CHECK_INT(s.io_running, FO_THREAD_UNKNOWN);
    FO_CHECK_INT(s.sql_running, FO_THREAD_UNKNOWN);
    FO_CHECK_STR(s.io_running_text, "");
    FO_CHECK_STR(s.sql_running_text, "");
    FO_CHECK_INT(s.lag_s, -1);
    FO_CHECK_INT(s.last_io_errno, 0);
    FO_CHECK_STR(s.last_io_error, "");
    FO_CHECK_STR(s.gtid_io_pos, "");

    /* Several rows are a replica of several sources (multi-source replication: MySQL
     * channels, MariaDB's SHOW ALL SLAVES STATUS): never a failed probe (issue 11.5).
     * This function is handed the first row only and describes it; n_sources says
     * how many there are (test_sample_replies.c: fo_sample_parse_replication). */
    FO_CHECK_INT(fo_sample_parse_slave_status(&s, 2, r.n, r.names, r.values, err), 0);
    FO_CHECK_INT(s.n_sources, 2);
    FO_CHECK_INT(s.io_running, FO_THREAD_NO);
    {
        static const char *const two[2][5] = {{"db1", "3306", "Yes", "Yes", "0"}, {"db9", "3306", "No", "No", NULL}};
        const char *nm[] = {"Master_Host", "Master_Port", "Slave_IO_Running", "Slave_SQL_Running",
                            "Seconds_Behind_Master"};
        FO_CHECK_INT(fo_sample_parse_slave_status(&s, 3, 5, nm, &two[0][0], err), 0);
        FO_CHECK_INT(s.n_sources, 3);
        FO_CHECK_STR(s.master_host, "db1");
        /* With every row, no Connection_name: the first row. */
        FO_CHECK_INT(fo_sample_parse_replication(&s, 2, 5, nm, &two[0][0], err), 0);
        FO_CHECK_STR(s.master_host, "db1");
        FO_CHECK_INT(s.n_sources, 2);
    }
    FO_CHECK_INT(fo_sample_parse_slave_status(&s, 0, 0, NULL, NULL, err), 0);
    before = s;
    FO_CHECK_INT(fo_sample_parse_slave_status(&s, 1, 0, NULL, NULL, err), FO_EPROTO);
    FO_CHECK(strstr(err, "missing column Master_Host") != NULL);
    FO_CHECK_INT(fo_sample_parse_slave_status(&s, 1, 3, NULL, NULL, err), FO_EINVAL);
    FO_CHECK(memcmp(&s, &before, sizeof(s)) == 0);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* GTID positions and hosts that do not fit are rejected; error texts are truncated.
 * Master_Host holds whatever MariaDB accepts (255 bytes, checked against a real
 * server in test_prober): a 100-byte source used to fail the probe (issue 8.12). */
static void test_slave_status_lengths(void)
{
    static struct fo_sample s;
    char err[FO_ERRLEN];
    struct row r;
    char *longpos = repeat('1', FO_GTIDPOS_LEN), *fitpos = repeat('1', FO_GTIDPOS_LEN - 1);
    char *longhost = repeat('h', FO_SAMPLE_HOST_LEN), *fithost = repeat('h', 255);
    char *host100 = repeat('h', 100);
    char *longerr = repeat('e', 3000), *fiterr = repeat('e', FO_ERRTEXT_LEN - 1);
    struct kv over[2] = {{"Gtid_IO_Pos", fitpos}, {"Master_Host", fithost}};

    build_row(&r, FX_RUNNING, over, 2);
    FO_CHECK_INT(fo_sample_parse_slave_status(&s, 1, r.n, r.names, r.values, err), 0);
    FO_CHECK_STR(s.gtid_io_pos, fitpos);
    FO_CHECK_STR(s.master_host, fithost);

    over[0].value = longpos;
    build_row(&r, FX_RUNNING, over, 1);
    FO_CHECK_INT(fo_sample_parse_slave_status(&s, 1, r.n, r.names, r.values, err), FO_EPROTO);
    FO_CHECK(strstr(err, "Gtid_IO_Pos: value of 1024 bytes exceeds 1023") != NULL);

    over[0] = (struct kv){"Master_Host", host100};
    build_row(&r, FX_RUNNING, over, 1);
    FO_CHECK_INT(fo_sample_parse_slave_status(&s, 1, r.n, r.names, r.values, err), 0);
    FO_CHECK_STR(s.master_host, host100);

    over[0] = (struct kv){"Master_Host", longhost};
    build_row(&r, FX_RUNNING, over, 1);
    FO_CHECK_INT(fo_sample_parse_slave_status(&s, 1, r.n, r.names, r.values, err), FO_EPROTO);
    FO_CHECK_STR(err, "Master_Host: value of 256 bytes exceeds 255");
    FO_CHECK_STR(s.master_host, host100); /* unchanged */

    over[0] = (struct kv){"Last_IO_Error", fiterr};
    over[1] = (struct kv){"Last_SQL_Error", longerr};
    build_row(&r, FX_RUNNING, over, 2);
    FO_CHECK_INT(fo_sample_parse_slave_status(&s, 1, r.n, r.names, r.values, err), 0);
    FO_CHECK_STR(s.last_io_error, fiterr); /* exactly fits: kept whole */
    FO_CHECK_INT(strlen(s.last_sql_error), FO_ERRTEXT_LEN - 1);
    FO_CHECK(strncmp(s.last_sql_error, longerr, FO_ERRTEXT_LEN - 4) == 0);
    FO_CHECK_STR(s.last_sql_error + FO_ERRTEXT_LEN - 4, "...");

    free(longpos), free(fitpos), free(longhost), free(fithost), free(longerr), free(fiterr), free(host100);
}

/* A cut never splits a UTF-8 sequence ("é" is 0xC3 0xA9). */
static void test_error_text_utf8_cut(void)
{
    static struct fo_sample s;
    char text[FO_ERRTEXT_LEN + 32];
    size_t i, keep = FO_ERRTEXT_LEN - 4;
    struct kv over[1] = {{"Last_IO_Error", text}};
    struct row r;

    memset(text, 'a', sizeof(text));
    text[sizeof(text) - 1] = '\0';
    /* Put a two-byte character across the cut point: its first byte is the last
     * one that would fit. */
    text[keep - 1] = (char)0xC3;
    text[keep] = (char)0xA9;
    build_row(&r, FX_RUNNING, over, 1);
    FO_CHECK_INT(fo_sample_parse_slave_status(&s, 1, r.n, r.names, r.values, NULL), 0);
    FO_CHECK_INT(strlen(s.last_io_error), keep - 1 + 3);
    for (i = 0; i + 1 < keep; i++) FO_CHECK(s.last_io_error[i] == 'a');
    FO_CHECK_STR(s.last_io_error + keep - 1, "...");
}

/* ---- Q1: variables ------------------------------------------------------------------ */

#define VERSION_1011 "10.11.19-MariaDB-0+deb12u1-log"

struct vars_case {
    const char *v[6];
    int rc;
    const char *err;
    unsigned long long server_id;
    bool read_only;
    const char *current, *binlog, *slave, *version;
};

static const struct vars_case vars_cases[] = {
    /* Captured from the replica above. */
    {{"9", "0", "0-10-6,3-10-2", "0-9-1", "0-10-6,3-10-2", VERSION_1011},
     0,
     NULL,
     9,
     false,
     "0-10-6,3-10-2",
     "0-9-1",
     "0-10-6,3-10-2",
     VERSION_1011},
    /* A fresh server. */
    {{"1", "1", "", "", "", VERSION_1011}, 0, NULL, 1, true, "", "", "", VERSION_1011},
    {{"4294967295", "ON", "", "", "", "8.0.36"}, 0, NULL, 4294967295ULL, true, "", "", "", "8.0.36"},
    {{"0", "OFF", "", "", "", "x"}, 0, NULL, 0, false, "", "", "", "x"},
    {{"7", "on", "", "", "", "x"}, 0, NULL, 7, true, "", "", "", "x"},
    {{"7", "off", "", "", "", "x"}, 0, NULL, 7, false, "", "", "", "x"},
    /* A long version is cut to fit (only its leading number matters). */
    {{"7", "0", "", "", "", "10.11.19-MariaDB-with-a-really-long-vendor-suffix-that-goes-on-and-on-and-on"},
     0,
     NULL,
     7,
     false,
     "",
     "",
     "",
     "10.11.19-MariaDB-with-a-really-long-vendor-suffix-that-goes-on-"},
    {{"4294967296", "0", "", "", "", "x"}, .rc = FO_EPROTO, .err = "@@server_id"},
    {{"99999999999999999999", "0", "", "", "", "x"}, .rc = FO_EPROTO, .err = "@@server_id"},
    {{"-1", "0", "", "", "", "x"}, .rc = FO_EPROTO, .err = "@@server_id"},
    {{"", "0", "", "", "", "x"}, .rc = FO_EPROTO, .err = "@@server_id"},
    {{" 1", "0", "", "", "", "x"}, .rc = FO_EPROTO, .err = "@@server_id"},
    {{"1.5", "0", "", "", "", "x"}, .rc = FO_EPROTO, .err = "@@server_id"},
    {{"abc", "0", "", "", "", "x"}, .rc = FO_EPROTO, .err = "@@server_id: not a number in range: \"abc\""},
    {{SQL_NULL, "0", "", "", "", "x"}, .rc = FO_EPROTO, .err = "@@server_id: unexpected NULL"},
    {{"1", "2", "", "", "", "x"}, .rc = FO_EPROTO, .err = "@@read_only: unexpected value \"2\""},
    {{"1", "", "", "", "", "x"}, .rc = FO_EPROTO, .err = "@@read_only"},
    {{"1", "yes", "", "", "", "x"}, .rc = FO_EPROTO, .err = "@@read_only"},
    {{"1", " 1", "", "", "", "x"}, .rc = FO_EPROTO, .err = "@@read_only"},
    {{"1", SQL_NULL, "", "", "", "x"}, .rc = FO_EPROTO, .err = "@@read_only: unexpected NULL"},
    {{"1", "0", SQL_NULL, "", "", "x"}, .rc = FO_EPROTO, .err = "@@gtid_current_pos: unexpected NULL"},
    {{"1", "0", "", SQL_NULL, "", "x"}, .rc = FO_EPROTO, .err = "@@gtid_binlog_pos"},
    {{"1", "0", "", "", SQL_NULL, "x"}, .rc = FO_EPROTO, .err = "@@gtid_slave_pos"},
    {{"1", "0", "", "", "", SQL_NULL}, .rc = FO_EPROTO, .err = "@@version"},
};

/* @@gtid_binlog_state as MariaDB 10.11 printed it: entries of domain 0 in log order. */
#define STATE_1011 "0-3-2,0-1-3,2-1-1"

static void test_vars_table(void)
{
    static struct fo_sample s, before;
    const char *values[FO_SAMPLE_Q1_NCOLS];
    char err[FO_ERRLEN];
    unsigned i, k;

    FO_CHECK_INT(FO_SAMPLE_Q1_NCOLS, 7);
    for (i = 0; i < N_ELEMS(vars_cases); i++) {
        const struct vars_case *c = &vars_cases[i];
        for (k = 0; k < 6; k++) values[k] = unmark(c->v[k]);
        values[6] = STATE_1011;
        memset(&s, 0x5a, sizeof(s));
        before = s;
        err[0] = '\0';
        int rc = fo_sample_parse_vars(&s, FO_SAMPLE_Q1_NCOLS, values, err);
        if (rc != c->rc) fprintf(stderr, "  case %u: rc %d err \"%s\"\n", i, rc, err);
        FO_CHECK_INT(rc, c->rc);
        if (rc == 0) {
            FO_CHECK(s.server_id == c->server_id);
            FO_CHECK_INT(s.read_only, c->read_only);
            FO_CHECK_STR(s.gtid_current_pos, c->current);
            FO_CHECK_STR(s.gtid_binlog_pos, c->binlog);
            FO_CHECK_STR(s.gtid_slave_pos, c->slave);
            FO_CHECK_STR(s.version, c->version);
            FO_CHECK_STR(s.gtid_binlog_state, STATE_1011);
            FO_CHECK(s.gtid_binlog_state_known);
            FO_CHECK_INT(s.master_port, before.master_port); /* Q2's fields untouched */
        } else {
            FO_CHECK(memcmp(&s, &before, sizeof(s)) == 0);
            if (strstr(err, c->err) == NULL) fprintf(stderr, "  case %u: err \"%s\" lacks \"%s\"\n", i, err, c->err);
            FO_CHECK(strstr(err, c->err) != NULL);
        }
    }
}

static void test_vars_shape_and_lengths(void)
{
    static struct fo_sample s;
    const char *v[8] = {"1", "0", "", "", "", "x", "", "extra"};
    char err[FO_ERRLEN];
    char *longpos = repeat('9', FO_GTIDPOS_LEN), *fitpos = repeat('9', FO_GTIDPOS_LEN - 1);

    /* The old 6-column reply (a query without @@gtid_binlog_state) is refused. */
    FO_CHECK_INT(fo_sample_parse_vars(&s, 6, v, err), FO_EPROTO);
    FO_CHECK_STR(err, "variables query returned 6 columns, expected 7");
    FO_CHECK_INT(fo_sample_parse_vars(&s, 8, v, err), FO_EPROTO);
    FO_CHECK_INT(fo_sample_parse_vars(&s, 0, NULL, err), FO_EPROTO);
    FO_CHECK_INT(fo_sample_parse_vars(&s, 7, NULL, err), FO_EINVAL);

    v[4] = fitpos;
    FO_CHECK_INT(fo_sample_parse_vars(&s, 7, v, err), 0);
    FO_CHECK_STR(s.gtid_slave_pos, fitpos);
    v[2] = longpos;
    FO_CHECK_INT(fo_sample_parse_vars(&s, 7, v, err), FO_EPROTO);
    FO_CHECK(strstr(err, "@@gtid_current_pos: value of 1024 bytes exceeds 1023") != NULL);
    FO_CHECK_STR(s.gtid_current_pos, ""); /* unchanged */
    free(longpos), free(fitpos);
}

/* @@gtid_binlog_state never fails the probe (issue 8.8): NULL or a value too long to
 * keep is recorded as unknown, never as an empty state. */
static void test_vars_binlog_state(void)
{
    static struct fo_sample s;
    char *fit = repeat('7', FO_GTIDSTATE_LEN - 1), *toolong = repeat('7', FO_GTIDSTATE_LEN);
    const struct {
        const char *value;
        bool known;
        const char *text;
    } cases[] = {
        {STATE_1011, true, STATE_1011},
        {"0-1-11450,0-3-11460", true, "0-1-11450,0-3-11460"},
        {"", true, ""}, /* a server that never wrote a binlog event */
        {SQL_NULL, false, ""},
        {fit, true, fit},
        {toolong, false, ""},
        /* Not parsed here: fo_gtid_state_errant() judges the form, with a reason. */
        {"garbage", true, "garbage"},
    };
    const char *v[7] = {"1", "0", "", "", "", "x", NULL};
    char err[FO_ERRLEN];
    unsigned i;

    for (i = 0; i < N_ELEMS(cases); i++) {
        memset(&s, 0x5a, sizeof(s));
        v[6] = unmark(cases[i].value);
        err[0] = '\0';
        FO_CHECK_INT(fo_sample_parse_vars(&s, 7, v, err), 0);
        FO_CHECK_INT(s.gtid_binlog_state_known, cases[i].known);
        FO_CHECK_STR(s.gtid_binlog_state, cases[i].text);
        FO_CHECK_INT(s.server_id, 1); /* the rest of the row still counts */
    }
    /* A bad column elsewhere still fails the row, binlog state or not. */
    v[0] = "x";
    v[6] = STATE_1011;
    FO_CHECK_INT(fo_sample_parse_vars(&s, 7, v, err), FO_EPROTO);
    free(fit), free(toolong);
}

static void test_thread_state_names(void)
{
    FO_CHECK_STR(fo_thread_state_name(FO_THREAD_YES), "Yes");
    FO_CHECK_STR(fo_thread_state_name(FO_THREAD_NO), "No");
    FO_CHECK_STR(fo_thread_state_name(FO_THREAD_CONNECTING), "Connecting");
    FO_CHECK_STR(fo_thread_state_name(FO_THREAD_PREPARING), "Preparing");
    FO_CHECK_STR(fo_thread_state_name(FO_THREAD_UNRECOGNIZED), "unrecognized");
    FO_CHECK_STR(fo_thread_state_name(FO_THREAD_UNKNOWN), "");
    FO_CHECK_STR(fo_thread_state_name((enum fo_thread_state)99), "");
}

/* Only a state that says "not running" is one. */
static void test_thread_state_maybe_running(void)
{
    FO_CHECK(!fo_thread_state_maybe_running(FO_THREAD_NO));
    FO_CHECK(!fo_thread_state_maybe_running(FO_THREAD_CONNECTING));
    FO_CHECK(fo_thread_state_maybe_running(FO_THREAD_YES));
    FO_CHECK(fo_thread_state_maybe_running(FO_THREAD_PREPARING));
    FO_CHECK(fo_thread_state_maybe_running(FO_THREAD_UNRECOGNIZED));
    FO_CHECK(fo_thread_state_maybe_running(FO_THREAD_UNKNOWN));
    FO_CHECK(fo_thread_state_maybe_running((enum fo_thread_state)99));
}

FO_TEST_MAIN(FO_T(test_slave_status_table), FO_T(test_thread_states), FO_T(test_slave_status_columns_by_name),
             FO_T(test_slave_status_rows), FO_T(test_slave_status_lengths), FO_T(test_error_text_utf8_cut),
             FO_T(test_vars_table), FO_T(test_vars_shape_and_lengths), FO_T(test_vars_binlog_state),
             FO_T(test_thread_state_names), FO_T(test_thread_state_maybe_running))
