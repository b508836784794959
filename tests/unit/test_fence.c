/* Tests for mysql/fence.c, the one fencing implementation (issue 8 item 6).
 *
 * Against a real mariadbd started by the test (lib/testdb.h):
 *  - more than 160 client sessions: idle ones, ones holding open transactions, sessions
 *    of a user with READ_ONLY ADMIN (who can write through read_only on MariaDB)
 *    holding open transactions, one running a long write (which makes read_only=1 wait
 *    for its lock) and threads writing in a loop as that user during the fence. After
 *    the callback: status 0, survived 0, read_only 1, and none of those sessions can
 *    write any more; their open transactions are gone.
 *  - a fencing user without CONNECTION ADMIN: read_only set, the kills refused, and the
 *    result says how many sessions survived;
 *  - semi_sync_off turns rpl_semi_sync_master_enabled off;
 *  - cancel in each phase (connect, read_only, list, kill, read back) fires the
 *    callback exactly once, with FO_ECANCELED.
 * Without a server: unreachable (refused, silent listener), wrong password, bad
 * arguments, the list statement.
 *
 * Every loop must end by itself (no handle left behind) and every fence calls back
 * exactly once. A missing mariadbd is a skip (exit 77), after the tests that need none. */
#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "mysql/fence.h"
#include "fo_test.h"
#include "lib/testcheck.h"
#include "lib/testdb.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define N_APP 130   /* idle sessions of a plain user, every 4th in an open transaction */
#define N_ADMIN 30  /* READ_ONLY ADMIN sessions, each holding an open transaction */
#define N_WRITERS 4 /* READ_ONLY ADMIN threads inserting in a loop during the fence */
#define MAX_SESS 200

/* ------------------------------------------------------------------ one fence run */

struct run {
    unsigned fired;
    struct fo_fence_result r;
    struct fo_fence *f;
    const char *cancel_in; /* phase name to cancel in, or NULL */
    int cancel_after_ms;   /* > 0: cancel from a timer */
    uv_timer_t canceller;
    unsigned ro_attempts; /* "read_only" phases started */
    bool canceled;
    unsigned fired_at_cancel;
    double ms;
    uint64_t t0;
};

static void on_fenced(void *data, const struct fo_fence_result *r)
{
    struct run *run = data;

    run->fired++;
    run->r = *r;
    run->ms = fo_test_ms_since(run->t0);
}

/* The phase hook: cancel as the wanted phase starts. */
static void on_phase(void *data, const char *phase)
{
    struct run *run = data;

    if (strcmp(phase, "read_only") == 0) run->ro_attempts++;
    if (run->cancel_in != NULL && !run->canceled && strcmp(phase, run->cancel_in) == 0) {
        run->canceled = true;
        run->fired_at_cancel = run->fired;
        fo_fence_cancel(run->f);
    }
}

static void cancel_timer_cb(uv_timer_t *t)
{
    struct run *run = t->data;

    run->canceled = true;
    run->fired_at_cancel = run->fired;
    fo_fence_cancel(run->f);
    uv_close((uv_handle_t *)t, NULL);
}

/* Runs one fence to its callback; cancel_in: cancel as that phase starts;
 * cancel_after_ms: 0 = right after fo_fence_start, > 0 from a timer, < 0 never. */
static void fence(struct run *run, const struct fo_fence_opts *o, const char *cancel_in, int cancel_after_ms)
{
    struct fo_fence_opts oo = *o;
    struct fo_test_loop tl;
    char err[FO_ERRLEN] = "";

    memset(run, 0, sizeof(*run));
    run->cancel_in = cancel_in;
    run->fired_at_cancel = 99;
    fo_test_check_loop_init(&tl, 60000);
    run->t0 = uv_hrtime();
    oo.on_phase = on_phase;
    run->f = fo_fence_start(&tl.loop, &oo, on_fenced, run, err);
    FO_CHECK(run->f != NULL);
    if (run->f == NULL) fprintf(stderr, "  fo_fence_start: %s\n", err);
    if (run->f != NULL && cancel_after_ms == 0) {
        fo_fence_cancel(run->f);
        run->canceled = true;
        run->fired_at_cancel = run->fired;
    } else if (run->f != NULL && cancel_after_ms > 0) {
        uv_timer_init(&tl.loop, &run->canceller);
        run->canceller.data = run;
        uv_timer_start(&run->canceller, cancel_timer_cb, (uint64_t)cancel_after_ms, 0);
    }
    fo_test_check_loop_finish(&tl);
    FO_CHECK_INT(run->fired, run->f != NULL ? 1 : 0);
    if (run->canceled) FO_CHECK_INT(run->fired_at_cancel, 0);
    fprintf(stderr, "  fence: status %d (%s) in %.0f ms: %s\n", run->r.status, fo_errname(run->r.status), run->ms,
            run->r.detail);
}

static struct fo_fence_opts opts_for(const struct fo_test_db *db, const char *user, const char *pw)
{
    struct fo_fence_opts o = {"127.0.0.1", db->port, user, pw, 5000, 20000, false, NULL};
    return o;
}

/* ------------------------------------------------------------------ without a server */

static void test_list_query(void)
{
    static const struct {
        const char *user;
        size_t n;
        int rc;
        const char *has;
    } cases[] = {
        {"fo", 640, 0, "USER NOT IN ('system user','event_scheduler','fo')"},
        {"o'brien", 640, 0, "'event_scheduler','o''brien')"},
        {"fo", 640, 0, "ID <> CONNECTION_ID()"},
        {"fo", 640, 0, "'Binlog Dump GTID','Daemon','Killed','Slave_IO','Slave_SQL','Slave_worker'"},
        {"fo", 640, 0, "LIMIT 100000"}, /* no per-round ceiling of 32 any more */
        {"fo", 40, FO_ETOOBIG, ""},
    };
    char out[640], longname[300];
    unsigned i;

    for (i = 0; i < N_ELEMS(cases); i++) {
        FO_CHECK_INT(fo_fence_list_query(cases[i].user, out, cases[i].n), cases[i].rc);
        if (cases[i].rc == 0)
            FO_CHECK_CONTAINS(out, cases[i].has);
        else
            FO_CHECK_STR(out, "");
    }
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    FO_CHECK_INT(fo_fence_list_query(longname, out, sizeof(out)), FO_ETOOBIG);
}

static void test_invalid_args(void)
{
    struct fo_fence_opts ok = {"127.0.0.1", 1, "u", "p", 100, 1000, false, NULL}, o;
    struct fo_test_loop tl;
    struct run run = {0};
    char err[FO_ERRLEN];

    fo_test_check_loop_init(&tl, 5000);
    FO_CHECK(fo_fence_start(NULL, &ok, on_fenced, &run, err) == NULL);
    FO_CHECK(fo_fence_start(&tl.loop, NULL, on_fenced, &run, err) == NULL);
    FO_CHECK(fo_fence_start(&tl.loop, &ok, NULL, &run, err) == NULL);
    o = ok;
    o.host = "";
    FO_CHECK(fo_fence_start(&tl.loop, &o, on_fenced, &run, err) == NULL);
    o = ok;
    o.user = NULL;
    FO_CHECK(fo_fence_start(&tl.loop, &o, on_fenced, &run, err) == NULL);
    o = ok;
    o.timeout_ms = 0;
    err[0] = '\0';
    FO_CHECK(fo_fence_start(&tl.loop, &o, on_fenced, &run, err) == NULL);
    FO_CHECK_CONTAINS(err, "timeout_ms");
    fo_test_check_loop_finish(&tl);
    FO_CHECK_INT(run.fired, 0);
}

static void test_unreachable(void)
{
    struct fo_fence_opts o = {"127.0.0.1", fo_test_free_port(), "fo", "unreach-Secret", 1000, 3000, true, NULL};
    struct run run;
    char want[64];
    uint16_t port;
    int fd;

    fence(&run, &o, NULL, -1);
    FO_CHECK_INT(run.r.status, FO_EUNREACHABLE);
    FO_CHECK(!run.r.reached && !run.r.read_only);
    FO_CHECK_INT(run.r.killed, 0);
    FO_CHECK_STR(run.r.gtid_binlog_pos, "");
    snprintf(want, sizeof(want), "connect to 127.0.0.1:%u: ", o.port);
    FO_CHECK_CONTAINS(run.r.detail, want);
    FO_CHECK_LACKS(run.r.detail, "Secret");

    /* A listener that never greets: the connect bound, then a cancel while connecting. */
    fd = fo_test_mute_listener(&port);
    FO_CHECK(fd >= 0);
    o.port = port;
    o.connect_timeout_ms = 300;
    fence(&run, &o, NULL, -1);
    FO_CHECK_INT(run.r.status, FO_ETIMEDOUT);
    FO_CHECK(!run.r.reached);
    FO_CHECK_CONTAINS(run.r.detail, "timed out");
    FO_CHECK_RANGE(run.ms, 280, 2000);
    o.connect_timeout_ms = 5000;
    fence(&run, &o, NULL, 100); /* while waiting for the greeting */
    FO_CHECK_INT(run.r.status, FO_ECANCELED);
    FO_CHECK(run.canceled && !run.r.reached);
    fence(&run, &o, NULL, 0); /* before the connect even started */
    FO_CHECK_INT(run.r.status, FO_ECANCELED);
    if (fd >= 0) close(fd);
}

/* ------------------------------------------------------------------ client sessions */

static MYSQL *session(const struct fo_test_db *db, const char *user)
{
    MYSQL *m = mysql_init(NULL);
    unsigned t = 5;

    if (m == NULL) return NULL;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    if (mysql_real_connect(m, "127.0.0.1", user, "pw", NULL, db->port, NULL, 0) == NULL) {
        fprintf(stderr, "  connect as %s: %s\n", user, mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

static bool sql_ok(MYSQL *m, const char *stmt)
{
    if (mysql_query(m, stmt) != 0) return false;
    mysql_free_result(mysql_store_result(m));
    return true;
}

/* One value from a fresh session of the test's admin user (never fenced). */
static bool scalar(const struct fo_test_db *db, const char *query, char *out, size_t n)
{
    MYSQL *m = session(db, FO_TEST_DB_USER);
    MYSQL_RES *res;
    MYSQL_ROW row;
    bool ok = false;

    out[0] = '\0';
    if (m == NULL) return false;
    if (mysql_query(m, query) == 0 && (res = mysql_store_result(m)) != NULL) {
        if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL) {
            snprintf(out, n, "%s", row[0]);
            ok = true;
        }
        mysql_free_result(res);
    }
    mysql_close(m);
    return ok;
}

static bool root(const struct fo_test_db *db, const char *sql)
{
    return fo_test_db_root_sql(db, sql, 20000) == 0;
}

struct writer {
    const struct fo_test_db *db;
    pthread_t t;
    atomic_bool *stop;
    unsigned ok;
    unsigned err_no; /* the error that ended its loop; 0 if stopped */
    bool started;
};

/* Inserts in a loop as the READ_ONLY ADMIN user until a statement fails. */
static void *writer_main(void *arg)
{
    struct writer *w = arg;
    MYSQL *m;

    mysql_thread_init();
    m = session(w->db, "roadmin");
    if (m != NULL) {
        while (!atomic_load(w->stop)) {
            if (mysql_query(m, "INSERT INTO fence.w (v) VALUES (1)") != 0) {
                w->err_no = mysql_errno(m);
                break;
            }
            w->ok++;
        }
        mysql_close(m);
    }
    mysql_thread_end();
    return NULL;
}

static void close_all(MYSQL **s, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++)
        if (s[i] != NULL) mysql_close(s[i]);
}

static void mdb_setup(const struct fo_test_db *db)
{
    FO_CHECK(root(db, "SET GLOBAL max_connections=400;"
                      "CREATE DATABASE fence;"
                      "CREATE TABLE fence.a (id INT PRIMARY KEY) ENGINE=InnoDB;"
                      "CREATE TABLE fence.b (v INT) ENGINE=InnoDB;"
                      "CREATE TABLE fence.w (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB;"
                      "CREATE USER app@'127.0.0.1' IDENTIFIED BY 'pw';"
                      "GRANT SELECT, INSERT, UPDATE ON fence.* TO app@'127.0.0.1';"
                      "CREATE USER roadmin@'127.0.0.1' IDENTIFIED BY 'pw';"
                      "GRANT SELECT, INSERT, UPDATE ON fence.* TO roadmin@'127.0.0.1';"
                      "GRANT READ_ONLY ADMIN ON *.* TO roadmin@'127.0.0.1';"
                      "CREATE USER weak@'127.0.0.1' IDENTIFIED BY 'pw';"
                      "GRANT READ_ONLY ADMIN, PROCESS ON *.* TO weak@'127.0.0.1';"));
}

/* Opens the sessions of the big fence; returns how many (all of them or fails). */
static unsigned open_sessions(const struct fo_test_db *db, MYSQL **s)
{
    char stmt[96];
    unsigned i, n = 0;

    for (i = 0; i < N_APP; i++) {
        if ((s[n] = session(db, "app")) == NULL) return n;
        if (i % 4 == 0) {
            snprintf(stmt, sizeof(stmt), "INSERT INTO fence.a VALUES (%u)", 1000 + i);
            FO_CHECK(sql_ok(s[n], "BEGIN") && sql_ok(s[n], stmt));
        }
        n++;
    }
    for (i = 0; i < N_ADMIN; i++) {
        if ((s[n] = session(db, "roadmin")) == NULL) return n;
        snprintf(stmt, sizeof(stmt), "INSERT INTO fence.a VALUES (%u)", 2000 + i);
        FO_CHECK(sql_ok(s[n], "BEGIN") && sql_ok(s[n], stmt));
        n++;
    }
    return n;
}

/* The main case: more than 160 sessions, READ_ONLY ADMIN writers among them. */
static void mdb_many_sessions(const struct fo_test_db *db)
{
    struct fo_fence_opts o = opts_for(db, FO_TEST_DB_USER, FO_TEST_DB_PASSWORD);
    MYSQL *s[MAX_SESS] = {0}, *busy;
    struct writer w[N_WRITERS];
    atomic_bool stop = false;
    char v[64], stmt[96];
    unsigned n, i, still_writing = 0;
    struct run run;

    FO_CHECK(root(db, "SET GLOBAL read_only=0"));
    n = open_sessions(db, s);
    FO_CHECK_INT(n, N_APP + N_ADMIN);
    /* A write that runs for 30 s: SET GLOBAL read_only=1 has to wait for its lock. */
    busy = session(db, "roadmin");
    FO_CHECK(busy != NULL && mysql_send_query(busy, "INSERT INTO fence.b SELECT SLEEP(30)", 36) == 0);
    for (i = 0; i < N_WRITERS; i++) {
        w[i] = (struct writer){db, 0, &stop, 0, 0, false};
        w[i].started = pthread_create(&w[i].t, NULL, writer_main, &w[i]) == 0;
        FO_CHECK(w[i].started);
    }
    while (scalar(db, "SELECT COUNT(*) FROM fence.w", v, sizeof v) && atoi(v) < 20) usleep(10000);
    usleep(200000); /* let the long write reach its SLEEP */

    fence(&run, &o, NULL, -1);
    FO_CHECK_INT(run.r.status, 0);
    FO_CHECK(run.r.reached);
    FO_CHECK(run.r.read_only);
    FO_CHECK(!run.r.super_read_only && !run.r.has_super_read_only); /* MariaDB */
    FO_CHECK_INT(run.r.survived, 0);
    FO_CHECK(run.r.killed >= N_APP + N_ADMIN + N_WRITERS + 1);
    FO_CHECK(run.r.rounds >= 2);    /* at least one that killed, one that found nobody */
    FO_CHECK(run.ro_attempts >= 2); /* the long write made read_only=1 wait: killed, retried */
    FO_CHECK(run.r.gtid_binlog_pos[0] != '\0');
    FO_CHECK_CONTAINS(run.r.detail, "fenced; read_only=1");
    FO_CHECK_CONTAINS(run.r.detail, "0 survived");
    FO_CHECK(run.ms < 10000);

    /* None of those sessions can write any more: each was killed. */
    for (i = 0; i < n; i++) {
        snprintf(stmt, sizeof(stmt), "INSERT INTO fence.a VALUES (%u)", 5000 + i);
        if (s[i] != NULL && mysql_query(s[i], stmt) == 0) still_writing++;
    }
    FO_CHECK_INT(still_writing, 0);
    FO_CHECK(busy == NULL || mysql_read_query_result(busy) != 0); /* the long write was killed */
    atomic_store(&stop, true);
    for (i = 0; i < N_WRITERS; i++) {
        if (!w[i].started) continue;
        pthread_join(w[i].t, NULL);
        FO_CHECK(w[i].ok > 0);
        FO_CHECK(w[i].err_no != 0); /* its session died under it, it did not just stop */
    }
    /* Their open transactions and the long write were rolled back. */
    FO_CHECK(scalar(db, "SELECT COUNT(*) FROM fence.a", v, sizeof v));
    FO_CHECK_STR(v, "0");
    FO_CHECK(scalar(db, "SELECT COUNT(*) FROM fence.b", v, sizeof v));
    FO_CHECK_STR(v, "0");
    FO_CHECK(scalar(db, "SELECT @@global.read_only", v, sizeof v));
    FO_CHECK_STR(v, "1");
    /* A plain user's new session is stopped by read_only itself. */
    mysql_close(s[0]);
    if ((s[0] = session(db, "app")) != NULL) {
        FO_CHECK(mysql_query(s[0], "INSERT INTO fence.a VALUES (1)") != 0);
        FO_CHECK_INT(mysql_errno(s[0]), 1290); /* ER_OPTION_PREVENTS_STATEMENT */
    }
    close_all(s, n);
    if (busy != NULL) mysql_close(busy);
}

/* A fencing user that may not kill other users' sessions: read_only is set, the kills
 * are refused, the rounds stop (no point repeating) and the result names the
 * survivors. */
static void mdb_kills_refused(const struct fo_test_db *db)
{
    struct fo_fence_opts o = opts_for(db, "weak", "pw");
    MYSQL *s[5] = {0};
    struct run run;
    unsigned i;

    FO_CHECK(root(db, "SET GLOBAL read_only=0"));
    for (i = 0; i < N_ELEMS(s); i++) FO_CHECK((s[i] = session(db, "app")) != NULL);
    fence(&run, &o, NULL, -1);
    FO_CHECK_INT(run.r.status, FO_EMYSQL);
    FO_CHECK(run.r.reached && run.r.read_only);
    FO_CHECK(run.r.survived >= N_ELEMS(s));
    FO_CHECK_INT(run.r.killed, 0);
    FO_CHECK_CONTAINS(run.r.detail, "could not be killed");
    FO_CHECK_CONTAINS(run.r.detail, "error 1095");
    FO_CHECK(run.ms < 5000); /* stopped, did not spin until the bound */
    for (i = 0; i < N_ELEMS(s); i++) FO_CHECK(s[i] != NULL && sql_ok(s[i], "SELECT 1")); /* alive */
    close_all(s, N_ELEMS(s));
}

static void mdb_semi_sync(const struct fo_test_db *db)
{
    struct fo_fence_opts o = opts_for(db, FO_TEST_DB_USER, FO_TEST_DB_PASSWORD);
    struct run run;
    char v[16];

    FO_CHECK(root(db, "SET GLOBAL read_only=0; SET GLOBAL rpl_semi_sync_master_enabled=1"));
    o.semi_sync_off = true;
    fence(&run, &o, NULL, -1);
    FO_CHECK_INT(run.r.status, 0);
    FO_CHECK_CONTAINS(run.r.detail, "semi-sync master off");
    FO_CHECK(scalar(db, "SELECT @@global.rpl_semi_sync_master_enabled", v, sizeof v));
    FO_CHECK_STR(v, "0");
    FO_CHECK(scalar(db, "SELECT @@global.read_only", v, sizeof v));
    FO_CHECK_STR(v, "1");
}

static void mdb_wrong_password(const struct fo_test_db *db)
{
    struct fo_fence_opts o = opts_for(db, FO_TEST_DB_USER, "wrong-Secret-42");
    struct run run;

    fence(&run, &o, NULL, -1);
    FO_CHECK_INT(run.r.status, FO_EMYSQL);
    FO_CHECK(!run.r.reached);
    FO_CHECK_CONTAINS(run.r.detail, "Access denied");
    FO_CHECK_LACKS(run.r.detail, "Secret");
}

/* Cancel in each phase: exactly one callback, FO_ECANCELED, nothing left open. */
static void mdb_cancel_each_phase(const struct fo_test_db *db)
{
    static const char *const in[] = {"lock_wait_timeout", "read_only", "super_read_only",
                                     "list sessions",     "kill",      "read back"};
    struct fo_fence_opts o = opts_for(db, FO_TEST_DB_USER, FO_TEST_DB_PASSWORD);
    MYSQL *s[MAX_SESS] = {0};
    struct run run;
    unsigned i, n = 0;

    for (i = 0; i < N_ELEMS(in); i++) {
        FO_CHECK(root(db, "SET GLOBAL read_only=0"));
        if (strcmp(in[i], "kill") == 0)
            for (n = 0; n < 40 && (s[n] = session(db, "app")) != NULL; n++) continue;
        fence(&run, &o, in[i], -1);
        FO_CHECK(run.canceled);
        FO_CHECK_INT(run.r.status, FO_ECANCELED);
        FO_CHECK(run.r.reached);
        if (strcmp(in[i], "kill") == 0) {
            FO_CHECK(run.r.killed < n); /* cancelled within the round */
            close_all(s, n);
        }
        if (!run.canceled) fprintf(stderr, "  phase %s never seen\n", in[i]);
    }
}

static void test_real_mariadbd(void)
{
    struct fo_test_db db;

    /* Before any thread: the writers use Connector/C from their own threads. */
    FO_CHECK_INT(mysql_library_init(0, NULL, NULL), 0);
    if (!fo_test_check_db_start(&db, "fence", 7)) return; /* no mariadbd: a skip (77) */
    mdb_setup(&db);
    mdb_many_sessions(&db);
    mdb_kills_refused(&db);
    mdb_semi_sync(&db);
    mdb_wrong_password(&db);
    mdb_cancel_each_phase(&db);
    fo_test_db_stop(&db);
}

FO_TEST_MAIN(FO_T(test_list_query), FO_T(test_invalid_args), FO_T(test_unreachable), FO_T(test_real_mariadbd))
