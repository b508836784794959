/* Tests for mysql/sqlexec.c: fo_sql_quote (a table of cases), argument checks,
 * connect failures and cancel in each phase against a closed port and a listener
 * that never greets, and a real mariadbd started by the test (statement lists,
 * stop at the first failure, tolerated errors, kept rows, multiple result sets,
 * credentials, redaction of secrets, timeouts with the server SIGSTOPped, cancel
 * during a query).
 *
 * Every loop has an unref'd deadline timer so nothing can hang; every run ends with
 * the loop closing cleanly (uv_loop_close() == 0), which proves the request left no
 * handle behind, and with exactly one callback. The mariadbd is stopped by its pid
 * and its directory removed by an atexit handler, whatever happened. */
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "mysql/sqlexec.h"
#include "fo_test.h"
#include "lib/testcheck.h"
#include "lib/testdb.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MAXCELLS 16

/* ------------------------------------------------------------------ fo_sql_quote */

static void test_quote(void)
{
    static const struct {
        const char *in;
        size_t outlen;
        int rc;
        const char *out;
    } cases[] = {
        {"", 16, 0, "''"},           {"abc", 16, 0, "'abc'"},       {"it's", 16, 0, "'it''s'"},
        {"a\\b", 16, 0, "'a\\\\b'"}, {"'\\'", 16, 0, "'''\\\\'''"}, {"new\nline", 16, 0, "'new\nline'"},
        {"abc", 6, 0, "'abc'"},     /* exact fit: 5 characters and the NUL */
        {"abc", 5, FO_ETOOBIG, ""}, /* one byte short */
        {"a'", 5, FO_ETOOBIG, ""},  /* the doubled quote does not fit */
        {"a'", 6, 0, "'a'''"},       {"", 2, FO_ETOOBIG, ""},       {"", 3, 0, "''"},
        {"x", 0, FO_ETOOBIG, NULL},
    };
    unsigned i;

    for (i = 0; i < N_ELEMS(cases); i++) {
        char out[32];

        memset(out, '#', sizeof(out));
        FO_CHECK_INT(fo_sql_quote(cases[i].in, out, cases[i].outlen), cases[i].rc);
        if (cases[i].out != NULL)
            FO_CHECK_STR(out, cases[i].out);
        else
            FO_CHECK(out[0] == '#'); /* outlen 0: nothing written */
    }
}

/* ------------------------------------------------------------------ one recorded run */

struct res {
    unsigned fired;
    int status;
    unsigned err_no;
    char error[1024];
    bool has_rows;
    unsigned n_rows, n_cols;
    char names[MAXCELLS][64];
    char vals[MAXCELLS][128]; /* first cells, row-major */
    bool nulls[MAXCELLS];
    size_t len0;    /* strlen of the first value */
    char last[128]; /* column 0 of the last row */
    double at_ms;
    uint64_t t0;
    /* cancel */
    struct fo_sql *q;
    uv_timer_t canceller;
    int cancel_after_ms; /* < 0: never; 0: right after fo_sql_run */
    unsigned fired_at_cancel;
};

static void on_done(void *data, int status, unsigned mysql_errno, const char *error, const struct fo_sql_rows *rows)
{
    struct res *r = data;
    unsigned i, n;

    r->fired++;
    r->at_ms = fo_test_ms_since(r->t0);
    r->status = status;
    r->err_no = mysql_errno;
    snprintf(r->error, sizeof(r->error), "%s", error != NULL ? error : "");
    if (status != 0)
        FO_CHECK(error != NULL && error[0] != '\0');
    else
        FO_CHECK(error == NULL);
    r->has_rows = rows != NULL;
    if (rows == NULL) return;
    r->n_rows = rows->n_rows;
    r->n_cols = rows->n_cols;
    for (i = 0; i < rows->n_cols && i < MAXCELLS; i++) snprintf(r->names[i], 64, "%s", rows->names[i]);
    n = rows->n_rows * rows->n_cols;
    r->len0 = n > 0 && rows->values[0] != NULL ? strlen(rows->values[0]) : 0;
    for (i = 0; i < n && i < MAXCELLS; i++) {
        r->nulls[i] = rows->values[i] == NULL;
        snprintf(r->vals[i], 128, "%s", rows->values[i] != NULL ? rows->values[i] : "");
    }
    if (rows->n_rows > 0 && rows->n_cols > 0) {
        const char *v = rows->values[(size_t)(rows->n_rows - 1) * rows->n_cols];

        snprintf(r->last, sizeof(r->last), "%s", v != NULL ? v : "(null)");
    }
}

static void cancel_cb(uv_timer_t *t)
{
    struct res *r = t->data;

    r->fired_at_cancel = r->fired;
    fo_sql_cancel(r->q);
    uv_close((uv_handle_t *)t, NULL);
}

struct target {
    const char *host;
    uint16_t port;
    const char *user, *password;
};

/* Runs stmts with opts and records the outcome in r (cancel_after_ms set by caller
 * or -1). Checks that the callback fires exactly once and the loop closes clean. */
static void run_sql(struct res *r, const struct target *tg, const char *const *stmts, unsigned n,
                    const struct fo_sql_opts *opts, int cancel_after_ms)
{
    struct fo_test_loop tl;

    memset(r, 0, sizeof(*r));
    r->cancel_after_ms = cancel_after_ms;
    r->fired_at_cancel = 99;
    fo_test_check_loop_init(&tl, 20000);
    r->t0 = uv_hrtime();
    r->q = fo_sql_run(&tl.loop, tg->host, tg->port, tg->user, tg->password, stmts, n, opts, on_done, r);
    FO_CHECK(r->q != NULL);
    if (r->q != NULL && cancel_after_ms == 0) {
        fo_sql_cancel(r->q);
        r->fired_at_cancel = r->fired;
    } else if (r->q != NULL && cancel_after_ms > 0) {
        uv_timer_init(&tl.loop, &r->canceller);
        r->canceller.data = r;
        uv_timer_start(&r->canceller, cancel_cb, (uint64_t)cancel_after_ms, 0);
    }
    fo_test_check_loop_finish(&tl);
    FO_CHECK_INT(r->fired, r->q != NULL ? 1 : 0);
    if (cancel_after_ms >= 0) FO_CHECK_INT(r->fired_at_cancel, 0);
    if (r->fired != 1 || r->status != 0) fprintf(stderr, "  (run: status %d, %s)\n", r->status, r->error);
}

static const struct fo_sql_opts opts_default = {.connect_timeout_ms = 5000, .timeout_ms = 10000};

/* ------------------------------------------------------------------ without a server */

static void test_invalid_args(void)
{
    static const char *const one[] = {"SELECT 1"};
    static const char *const with_null[] = {"SELECT 1", NULL};
    struct fo_sql_opts no_timeout = {.connect_timeout_ms = 1000, .timeout_ms = 0};
    struct fo_sql_opts many_tol = {.connect_timeout_ms = 1000, .timeout_ms = 1000, .n_tolerate = 9};
    const char *many[FO_SQL_MAX_STMTS + 1];
    struct res r = {0};
    struct fo_test_loop tl;
    unsigned i;

    for (i = 0; i < N_ELEMS(many); i++) many[i] = "SELECT 1";
    fo_test_check_loop_init(&tl, 5000);
    FO_CHECK(fo_sql_run(&tl.loop, "127.0.0.1", 1, "u", "p", one, 1, &no_timeout, on_done, &r) == NULL);
    FO_CHECK(fo_sql_run(&tl.loop, "127.0.0.1", 1, "u", "p", one, 1, &many_tol, on_done, &r) == NULL);
    FO_CHECK(fo_sql_run(&tl.loop, "127.0.0.1", 1, "u", "p", with_null, 2, &opts_default, on_done, &r) == NULL);
    FO_CHECK(fo_sql_run(&tl.loop, "127.0.0.1", 1, "u", "p", many, FO_SQL_MAX_STMTS + 1, &opts_default, on_done, &r) ==
             NULL);
    FO_CHECK(fo_sql_run(&tl.loop, "", 1, "u", "p", one, 1, &opts_default, on_done, &r) == NULL);
    FO_CHECK(fo_sql_run(&tl.loop, "127.0.0.1", 1, NULL, "p", one, 1, &opts_default, on_done, &r) == NULL);
    FO_CHECK(fo_sql_run(&tl.loop, "127.0.0.1", 1, "u", "p", one, 1, NULL, on_done, &r) == NULL);
    FO_CHECK(fo_sql_run(&tl.loop, "127.0.0.1", 1, "u", "p", one, 1, &opts_default, NULL, &r) == NULL);
    fo_test_check_loop_finish(&tl);
    FO_CHECK_INT(r.fired, 0);
}

static void test_connect_refused(void)
{
    static const char *const stmts[] = {"SELECT 1"};
    struct target tg = {"127.0.0.1", fo_test_free_port(), "fo", "refused-secret"};
    char want[64];
    struct res r;

    run_sql(&r, &tg, stmts, 1, &opts_default, -1);
    FO_CHECK_INT(r.status, FO_EUNREACHABLE);
    FO_CHECK_INT(r.err_no, 0);
    snprintf(want, sizeof(want), "connect to 127.0.0.1:%u: ", tg.port);
    FO_CHECK_CONTAINS(r.error, want);
    FO_CHECK_LACKS(r.error, "refused-secret");
    FO_CHECK(!r.has_rows);
    FO_CHECK_RANGE(r.at_ms, 0, 2000);

    /* Canceled at once: FO_ECANCELED even if the refusal was already decided. */
    run_sql(&r, &tg, stmts, 1, &opts_default, 0);
    FO_CHECK_INT(r.status, FO_ECANCELED);
    FO_CHECK_STR(r.error, "canceled");
}

static void test_resolve_failure(void)
{
    static const char *const stmts[] = {"SELECT 1"};
    struct target tg = {"no-such-host.invalid", 3306, "fo", "pw"};
    struct res r;

    run_sql(&r, &tg, stmts, 1, &opts_default, -1);
    /* Without a resolver the lookup may also just time out; either way it fails. */
    FO_CHECK(r.status == FO_EUNREACHABLE || r.status == FO_ETIMEDOUT);
    if (r.status == FO_EUNREACHABLE) FO_CHECK_CONTAINS(r.error, "resolve no-such-host.invalid: ");
}

/* connect_timeout_ms bounds the handshake; timeout_ms bounds everything, also the
 * connect when it is the smaller one. */
static void test_connect_timeouts(void)
{
    static const char *const stmts[] = {"SELECT 1"};
    struct fo_sql_opts short_connect = {.connect_timeout_ms = 300, .timeout_ms = 5000};
    struct fo_sql_opts short_total = {.connect_timeout_ms = 5000, .timeout_ms = 400};
    struct target tg = {"127.0.0.1", 0, "fo", "pw"};
    int fd = fo_test_mute_listener(&tg.port);
    struct res r;

    FO_CHECK(fd >= 0);
    if (fd < 0) return;
    run_sql(&r, &tg, stmts, 1, &short_connect, -1);
    FO_CHECK_INT(r.status, FO_ETIMEDOUT);
    FO_CHECK_CONTAINS(r.error, "timed out after 300 ms");
    FO_CHECK_RANGE(r.at_ms, 280, 1300);
    run_sql(&r, &tg, stmts, 1, &short_total, -1);
    FO_CHECK_INT(r.status, FO_ETIMEDOUT);
    FO_CHECK_CONTAINS(r.error, "timed out after 400 ms");
    FO_CHECK_RANGE(r.at_ms, 380, 1400);
    close(fd);
}

/* Cancel right away (IP literal: connecting; a name: resolving) and during the
 * handshake with a server that never greets. */
static void test_cancel_before_query(void)
{
    static const char *const stmts[] = {"SELECT 1"};
    static const struct {
        const char *host;
        int after_ms;
    } cases[] = {{"127.0.0.1", 0}, {"localhost", 0}, {"127.0.0.1", 1}, {"127.0.0.1", 200}, {"localhost", 200}};
    uint16_t port = 0;
    int fd = fo_test_mute_listener(&port);
    unsigned i;

    FO_CHECK(fd >= 0);
    if (fd < 0) return;
    for (i = 0; i < N_ELEMS(cases); i++) {
        struct target tg = {cases[i].host, port, "fo", "pw"};
        struct res r;

        run_sql(&r, &tg, stmts, 1, &opts_default, cases[i].after_ms);
        FO_CHECK_INT(r.status, FO_ECANCELED);
        FO_CHECK_INT(r.err_no, 0);
        FO_CHECK(!r.has_rows);
        FO_CHECK_RANGE(r.at_ms, cases[i].after_ms > 1 ? cases[i].after_ms * 0.9 : 0, cases[i].after_ms + 1000);
    }
    close(fd);
}

/* ------------------------------------------------------------------ a real mariadbd */

static struct target mdb_target(const struct fo_test_db *db)
{
    return (struct target){"127.0.0.1", db->port, FO_TEST_DB_USER, FO_TEST_DB_PASSWORD};
}

static void mdb_setup_schema(const struct fo_test_db *db)
{
    static const char *const stmts[] = {
        "CREATE DATABASE IF NOT EXISTS t",
        "CREATE TABLE t.x (a INT)",
        "CREATE PROCEDURE t.p() BEGIN SELECT 1 AS one; SELECT 2 AS two; END",
    };
    struct target tg = mdb_target(db);
    struct res r;

    run_sql(&r, &tg, stmts, N_ELEMS(stmts), &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK(!r.has_rows);
}

static void mdb_read_only(const struct fo_test_db *db)
{
    static const char *const set[] = {"SET GLOBAL read_only=1", "SELECT @@read_only"};
    static const char *const reset[] = {"SET GLOBAL read_only=0", "SELECT @@global.read_only AS ro"};
    struct target tg = mdb_target(db);
    struct res r;

    run_sql(&r, &tg, set, 2, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK(r.has_rows);
    FO_CHECK_INT(r.n_rows, 1);
    FO_CHECK_INT(r.n_cols, 1);
    FO_CHECK_STR(r.names[0], "@@read_only");
    FO_CHECK_STR(r.vals[0], "1");
    run_sql(&r, &tg, reset, 2, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK_STR(r.names[0], "ro");
    FO_CHECK_STR(r.vals[0], "0");
}

/* Statement 2 fails: the error names it, and statement 3 never ran (its row is not
 * in the table). With 1146 tolerated, the list runs to its end. */
static void mdb_stop_at_failure_and_tolerate(const struct fo_test_db *db)
{
    static const char *const failing[] = {"INSERT INTO t.x VALUES (1)", "INSERT INTO t.nosuch VALUES (2)",
                                          "INSERT INTO t.x VALUES (3)"};
    static const char *const check[] = {"SELECT COALESCE(SUM(a = 1), 0), COALESCE(SUM(a = 3), 0) FROM t.x"};
    static const char *const tolerant[] = {"INSERT INTO t.nosuch VALUES (2)", "INSERT INTO t.x VALUES (3)",
                                           "SELECT COUNT(*) AS n FROM t.x WHERE a = 3"};
    struct fo_sql_opts tol = opts_default;
    struct target tg = mdb_target(db);
    struct res r;

    run_sql(&r, &tg, failing, 3, &opts_default, -1);
    FO_CHECK_INT(r.status, FO_EMYSQL);
    FO_CHECK_INT(r.err_no, 1146);
    FO_CHECK(strncmp(r.error, "statement 2 (INSERT INTO t.nosuch VALUES (2)): ", 47) == 0);
    FO_CHECK_CONTAINS(r.error, "doesn't exist");
    FO_CHECK(!r.has_rows);
    run_sql(&r, &tg, check, 1, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK_STR(r.vals[0], "1");
    FO_CHECK_STR(r.vals[1], "0");

    tol.tolerate[0] = 1064;
    tol.tolerate[1] = 1146;
    tol.n_tolerate = 2;
    run_sql(&r, &tg, tolerant, 3, &tol, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK_STR(r.names[0], "n");
    FO_CHECK_STR(r.vals[0], "1");
}

/* The rows are those of the LAST statement that returned a result set. */
static void mdb_rows(const struct fo_test_db *db)
{
    static const char *const last[] = {"SELECT 'old' AS o", "SELECT 1 AS a, NULL AS b UNION ALL SELECT 2, 'x''y'",
                                       "DO 1"};
    static const char *const none[] = {"DO 1", "SET @v = 1"};
    static const char *const empty[] = {"SELECT 1 AS a FROM DUAL WHERE 0"};
    static const char *const many[] = {"SELECT seq FROM t.seq_1_to_2000"};
    static const char *const call[] = {"CALL t.p()"};
    static const char *const call_then[] = {"CALL t.p()", "SELECT 3 AS three"};
    struct target tg = mdb_target(db);
    struct res r;

    run_sql(&r, &tg, last, 3, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK(r.has_rows);
    FO_CHECK_INT(r.n_rows, 2);
    FO_CHECK_INT(r.n_cols, 2);
    FO_CHECK_STR(r.names[0], "a");
    FO_CHECK_STR(r.names[1], "b");
    FO_CHECK_STR(r.vals[0], "1");
    FO_CHECK(r.nulls[1]);
    FO_CHECK_STR(r.vals[2], "2");
    FO_CHECK_STR(r.vals[3], "x'y");
    FO_CHECK(!r.nulls[3]);

    run_sql(&r, &tg, none, 2, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK(!r.has_rows);
    run_sql(&r, &tg, NULL, 0, &opts_default, -1); /* connect only */
    FO_CHECK_INT(r.status, 0);
    FO_CHECK(!r.has_rows);

    run_sql(&r, &tg, empty, 1, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK(r.has_rows);
    FO_CHECK_INT(r.n_rows, 0);
    FO_CHECK_INT(r.n_cols, 1);
    FO_CHECK_STR(r.names[0], "a");

    run_sql(&r, &tg, many, 1, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK_INT(r.n_rows, FO_SQL_MAX_ROWS);
    FO_CHECK_STR(r.last, "1024");

    /* A procedure's several result sets are all consumed; the last one is kept. */
    run_sql(&r, &tg, call, 1, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK_STR(r.names[0], "two");
    FO_CHECK_STR(r.vals[0], "2");
    run_sql(&r, &tg, call_then, 2, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK_STR(r.names[0], "three");
    FO_CHECK_STR(r.vals[0], "3");
}

/* fo_sql_quote's output read back by the server gives the original string. */
static void mdb_quote_round_trip(const struct fo_test_db *db)
{
    static const char *const inputs[] = {"plain", "it's",      "back\\slash", "\\'", "'; DROP TABLE t.x; --",
                                         "",      "tab\there", "trailing\\"};
    struct target tg = mdb_target(db);
    unsigned i;

    for (i = 0; i < N_ELEMS(inputs); i++) {
        char quoted[128], stmt[160];
        const char *stmts[1] = {stmt};
        struct res r;

        FO_CHECK_INT(fo_sql_quote(inputs[i], quoted, sizeof(quoted)), 0);
        snprintf(stmt, sizeof(stmt), "SELECT %s AS v", quoted);
        run_sql(&r, &tg, stmts, 1, &opts_default, -1);
        FO_CHECK_INT(r.status, 0);
        FO_CHECK_INT(r.n_rows, 1);
        FO_CHECK_STR(r.vals[0], inputs[i]);
    }
}

static void mdb_wrong_password(const struct fo_test_db *db)
{
    static const char *const stmts[] = {"SELECT 1"};
    struct target tg = {"127.0.0.1", db->port, "fo", "wrong-Secret-42"};
    struct res r;

    run_sql(&r, &tg, stmts, 1, &opts_default, -1);
    FO_CHECK_INT(r.status, FO_EMYSQL);
    FO_CHECK_INT(r.err_no, 0); /* the header: 0 for connect failures */
    FO_CHECK_CONTAINS(r.error, "Access denied");
    FO_CHECK_LACKS(r.error, "wrong-Secret-42");
    FO_CHECK_LACKS(r.error, "Secret");
}

/* A statement carrying MASTER_PASSWORD is shown only up to it, and the server's
 * message, which quotes the statement near a syntax error, is cut before the quote. */
static void mdb_secret_redacted(const struct fo_test_db *db)
{
    static const struct {
        const char *stmt;
        const char *shown;
    } cases[] = {
        {"CHANGE MASTER TO MASTER_BOGUS=1, MASTER_PASSWORD='secret-pw-1'", "(CHANGE MASTER TO MASTER_BOGUS=1 ...)"},
        {"CHANGE MASTER TO MASTER_PASSWORD='secret-pw-1', MASTER_BOGUS=1", "(CHANGE MASTER TO ...)"},
        {"change master to master_host='127.0.0.1',\n master_password = 'secret-pw-1' bogus",
         "(change master to master_host='127.0.0.1' ...)"},
        {"CREATE USER 'z'@'%' IDENTIFIED BY 'secret-pw-1' BOGUS", "(CREATE USER 'z'@'%' ...)"},
    };
    struct target tg = mdb_target(db);
    unsigned i;

    for (i = 0; i < N_ELEMS(cases); i++) {
        const char *stmts[2] = {"DO 1", cases[i].stmt};
        struct res r;

        run_sql(&r, &tg, stmts, 2, &opts_default, -1);
        FO_CHECK_INT(r.status, FO_EMYSQL);
        FO_CHECK_INT(r.err_no, 1064);
        FO_CHECK_CONTAINS(r.error, "statement 2 ");
        FO_CHECK_CONTAINS(r.error, cases[i].shown);
        FO_CHECK_CONTAINS(r.error, "error in your SQL syntax");
        FO_CHECK_LACKS(r.error, "secret");
    }
}

/* An ordinary statement is quoted (60 characters at most) with the server's text. */
static void mdb_long_statement_shown(const struct fo_test_db *db)
{
    static const char *const stmts[] = {
        "SELECT a FROM t.nosuch_table_with_a_long_name WHERE a = 1 AND a = 2 AND a = 3"};
    struct target tg = mdb_target(db);
    struct res r;

    run_sql(&r, &tg, stmts, 1, &opts_default, -1);
    FO_CHECK_INT(r.status, FO_EMYSQL);
    FO_CHECK_INT(r.err_no, 1146);
    FO_CHECK_CONTAINS(r.error, "statement 1 (SELECT a FROM t.nosuch_table_with_a_long_name WHERE a = 1 AN ...): ");
    FO_CHECK_CONTAINS(r.error, "'t.nosuch_table_with_a_long_name' doesn't exist");
}

static void mdb_query_timeout_and_cancel(const struct fo_test_db *db)
{
    static const char *const stmts[] = {"DO 1", "SELECT SLEEP(5)", "DO 2"};
    struct fo_sql_opts o = {.connect_timeout_ms = 5000, .timeout_ms = 600};
    struct target tg = mdb_target(db);
    struct res r;

    run_sql(&r, &tg, stmts, 3, &o, -1);
    FO_CHECK_INT(r.status, FO_ETIMEDOUT);
    FO_CHECK_STR(r.error, "statement 2 (SELECT SLEEP(5)): timed out after 600 ms");
    FO_CHECK_RANGE(r.at_ms, 550, 1600);

    run_sql(&r, &tg, stmts, 3, &opts_default, 300);
    FO_CHECK_INT(r.status, FO_ECANCELED);
    FO_CHECK(!r.has_rows);
    FO_CHECK_RANGE(r.at_ms, 270, 1300);
}

/* With the server SIGSTOPped the TCP handshake still completes (the kernel does it)
 * but no greeting comes: the timeouts, and a cancel, end the run; after SIGCONT the
 * server answers again. */
static void mdb_stopped_server(struct fo_test_db *db)
{
    static const char *const stmts[] = {"SELECT 1"};
    struct fo_sql_opts total = {.connect_timeout_ms = 5000, .timeout_ms = 700};
    struct fo_sql_opts conn = {.connect_timeout_ms = 400, .timeout_ms = 5000};
    struct target tg = mdb_target(db);
    struct res r;

    FO_CHECK_INT(fo_test_db_signal(db, SIGSTOP), 0);
    run_sql(&r, &tg, stmts, 1, &total, -1);
    FO_CHECK_INT(r.status, FO_ETIMEDOUT);
    FO_CHECK_CONTAINS(r.error, "timed out after 700 ms");
    FO_CHECK_RANGE(r.at_ms, 650, 1700);
    run_sql(&r, &tg, stmts, 1, &conn, -1);
    FO_CHECK_INT(r.status, FO_ETIMEDOUT);
    FO_CHECK_CONTAINS(r.error, "timed out after 400 ms");
    FO_CHECK_RANGE(r.at_ms, 370, 1400);
    run_sql(&r, &tg, stmts, 1, &opts_default, 200);
    FO_CHECK_INT(r.status, FO_ECANCELED);
    FO_CHECK_RANGE(r.at_ms, 180, 1200);
    FO_CHECK_INT(fo_test_db_signal(db, SIGCONT), 0);
    run_sql(&r, &tg, stmts, 1, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK_STR(r.vals[0], "1");
}

/* A host name goes through uv_getaddrinfo; only where localhost is 127.0.0.1 first
 * (the server listens on IPv4 only). */
static void mdb_by_name(const struct fo_test_db *db)
{
    static const char *const stmts[] = {"SELECT @@server_id"};
    struct target tg = {"localhost", db->port, "fo", "pw"};
    struct addrinfo hints, *ai = NULL;
    struct res r;
    bool v4_first;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo("localhost", NULL, &hints, &ai) != 0) return;
    v4_first = ai != NULL && ai->ai_family == AF_INET;
    freeaddrinfo(ai);
    if (!v4_first) {
        FO_SKIP("localhost is not 127.0.0.1 first");
        return;
    }
    run_sql(&r, &tg, stmts, 1, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK_STR(r.vals[0], "5");
}

static long max_rss_kb(void)
{
    struct rusage ru;

    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* A server that sends a huge field (issue 9: 50 MB): refused with an error naming the
 * column, and never buffered whole (the process's peak memory does not grow by the
 * field's size). The server's max_allowed_packet is raised so that it does send it. */
static void mdb_result_bounds(const struct fo_test_db *db)
{
    static const char *const raise[] = {"SET GLOBAL max_allowed_packet = 128 * 1024 * 1024"};
    static const char *const huge[] = {"SELECT 1 AS a", "SELECT REPEAT('x', 50 * 1024 * 1024) AS huge_col"};
    static const char *const big[] = {"SELECT 'a' AS small, REPEAT('y', 2 * 1024 * 1024) AS big_col"};
    static const char *const fits[] = {"SELECT REPEAT('z', 1024 * 1024) AS fits_col"};
    struct target tg = mdb_target(db);
    struct res r;
    long before, after;

    run_sql(&r, &tg, raise, 1, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);

    before = max_rss_kb();
    run_sql(&r, &tg, huge, 2, &opts_default, -1);
    after = max_rss_kb();
    /* Connector/C 3.3 reports the refused row as a lost connection (myconn.h); the
     * statement shown names the column. */
    FO_CHECK(r.status == FO_EMYSQL || r.status == FO_ETOOBIG);
    FO_CHECK_CONTAINS(r.error, "statement 2 (SELECT REPEAT('x', 50 * 1024 * 1024) AS huge_col): ");
    FO_CHECK(!r.has_rows);
    /* 50 MB buffered would raise the peak by at least that much. */
    if (after - before >= 20 * 1024) fprintf(stderr, "  peak RSS grew by %ld kB\n", after - before);
    FO_CHECK(after - before < 20 * 1024);

    /* Under the row bound but over the field bound: the column is named exactly. */
    run_sql(&r, &tg, big, 1, &opts_default, -1);
    FO_CHECK_INT(r.status, FO_ETOOBIG);
    FO_CHECK_CONTAINS(r.error, "column 'big_col' (row 1) holds 2097152 bytes, over 1048576");

    /* At the field bound: accepted whole. */
    run_sql(&r, &tg, fits, 1, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK_INT(r.n_rows, 1);
    FO_CHECK_INT(r.len0, 1024 * 1024);
}

static long aborted_clients(const struct fo_test_db *db)
{
    static const char *const q[] = {"SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS"
                                    " WHERE VARIABLE_NAME = 'ABORTED_CLIENTS'"};
    struct target tg = mdb_target(db);
    struct res r;

    run_sql(&r, &tg, q, 1, &opts_default, -1);
    FO_CHECK_INT(r.status, 0);
    FO_CHECK_INT(r.n_rows, 1);
    return r.n_rows == 1 ? strtol(r.vals[0], NULL, 10) : -1;
}

/* A statement list that ends normally says goodbye (COM_QUIT): the server counts no
 * aborted client and logs no "Aborted connection" (failover steps and discovery walks
 * open one such connection per server, every few seconds with periodic rediscovery). */
static void mdb_clean_close(const struct fo_test_db *db)
{
    static const char *const one[] = {"SELECT 1"};
    struct target tg = mdb_target(db);
    struct res r;
    long before, after;
    unsigned i;

    before = aborted_clients(db);
    for (i = 0; i < 5; i++) {
        run_sql(&r, &tg, one, 1, &opts_default, -1);
        FO_CHECK_INT(r.status, 0);
    }
    after = aborted_clients(db);
    if (after != before) fprintf(stderr, "  Aborted_clients %ld -> %ld\n", before, after);
    FO_CHECK(before >= 0 && after == before);
}

static void test_real_mariadbd(void)
{
    struct fo_test_db db;

    if (!fo_test_check_db_start(&db, "sqlexec", 5)) return;
    mdb_result_bounds(&db); /* first: its memory check reads the process's peak */
    mdb_clean_close(&db);   /* before the tests that abort connections on purpose */
    mdb_setup_schema(&db);
    mdb_read_only(&db);
    mdb_stop_at_failure_and_tolerate(&db);
    mdb_rows(&db);
    mdb_quote_round_trip(&db);
    mdb_wrong_password(&db);
    mdb_secret_redacted(&db);
    mdb_long_statement_shown(&db);
    mdb_query_timeout_and_cancel(&db);
    mdb_stopped_server(&db);
    mdb_by_name(&db);
    fo_test_db_stop(&db);
}

FO_TEST_MAIN(FO_T(test_quote), FO_T(test_invalid_args), FO_T(test_connect_refused), FO_T(test_resolve_failure),
             FO_T(test_connect_timeouts), FO_T(test_cancel_before_query), FO_T(test_real_mariadbd))
