/* Fencing one server on one non-blocking connection (contract in mysql/fence.h).
 *
 * The fence is a sequence of phases, each one statement on the connection; a table
 * names each phase, its fixed statement (or none: built at run time) and the handler
 * of its outcome, and `run()` is the one place a phase starts. Handlers decide the
 * next phase. The connection is mysql/myconn.h, as for mysql/sqlexec.c. */
#include "mysql/fence.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "mysql/myconn.h"
#include "mysql/sqlexec.h" /* fo_sql_quote */

#define MOD "fence"
#define LIST_LIMIT 100000u         /* sessions listed per round: more than any max_connections */
#define RETRY_PAUSE_MS 5           /* before retrying read_only=1 after a kill round */
#define RESERVE_MAX_MS 250         /* kept after the kill rounds for semi-sync and read-back */
#define CR_FIRST_CLIENT_ERROR 2000 /* Connector/C's own errors (connection lost, ...) */
#define ER_LOCK_WAIT_TIMEOUT 1205
#define ER_NO_SUCH_THREAD 1094
#define ER_UNKNOWN_SYSTEM_VARIABLE 1193
#define WHY_LEN 320

enum phase { P_CONNECT, P_NOWAIT, P_READ_ONLY, P_SUPER_RO, P_LIST, P_KILL, P_SEMISYNC, P_READBACK, N_PHASES };

struct fo_fence {
    uv_loop_t *loop;
    uv_timer_t deadline; /* connect bound, then the whole fence's */
    uv_timer_t pause;    /* before a retry of read_only=1 */
    struct fo_myconn *conn;
    unsigned open_handles;
    bool finishing;

    char *strs; /* host, user, password in one block, wiped before free */
    size_t strs_len;
    const char *host, *user, *password;
    uint16_t port;
    unsigned connect_timeout_ms, timeout_ms;
    bool semi_sync_off;
    fo_fence_phase_cb on_phase;
    struct fo_mysql_tls tls;
    uint64_t t0, rounds_end; /* uv_now() ms */

    enum phase phase;
    char stmt[64]; /* the KILL being run */
    char list_query[640];

    bool ro_set, ro_blocked, semi_off, semi_absent, stuck;
    char note[WHY_LEN]; /* the last refused kill, super_read_only or semi-sync error */

    uint64_t *ids; /* the last list */
    size_t n_ids, cap_ids, next_kill;
    unsigned round_killed, round_failed;
    uint64_t *killed; /* sorted: every session killed so far */
    size_t n_killed, cap_killed;

    struct fo_fence_result r;
    fo_fence_cb cb;
    void *data;
};

struct phase_def {
    const char *name;
    const char *stmt; /* NULL: built at run time */
    void (*done)(struct fo_fence *f, unsigned err_no, MYSQL_RES *res);
};

static void nowait_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res);
static void read_only_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res);
static void super_ro_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res);
static void list_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res);
static void kill_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res);
static void semisync_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res);
static void readback_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res);

static const struct phase_def phases[N_PHASES] = {
    [P_CONNECT] = {"connect", NULL, NULL},
    [P_NOWAIT] = {"lock_wait_timeout", "SET SESSION lock_wait_timeout=0", nowait_done},
    [P_READ_ONLY] = {"read_only", "SET GLOBAL read_only=1", read_only_done},
    [P_SUPER_RO] = {"super_read_only", "SET GLOBAL super_read_only=1", super_ro_done},
    [P_LIST] = {"list sessions", NULL, list_done},
    [P_KILL] = {"kill", NULL, kill_done},
    [P_SEMISYNC] = {"semi-sync off", "SET GLOBAL rpl_semi_sync_master_enabled=0", semisync_done},
    [P_READBACK] = {"read back", NULL, readback_done},
};

static const char READBACK_MARIADB[] = "SELECT @@global.read_only, @@global.gtid_binlog_pos";
static const char READBACK_MYSQL[] = "SELECT @@global.read_only, @@global.super_read_only, @@global.gtid_executed";

/* ------------------------------------------------------------------ lifetime */

static void deliver(struct fo_fence *f)
{
    fo_fence_cb cb = f->cb;
    void *data = f->data;
    struct fo_fence_result r = f->r;

    explicit_bzero(f->strs, f->strs_len);
    free(f->strs);
    free(f->ids);
    free(f->killed);
    free(f);
    cb(data, &r);
}

static void closed(void *data)
{
    struct fo_fence *f = data;

    if (--f->open_handles == 0) deliver(f);
}

static void handle_closed(uv_handle_t *h)
{
    closed(h->data);
}

/* What the fence achieved so far, after `head` ("fenced", "not fenced: why"). */
static void describe(struct fo_fence *f, const char *head)
{
    struct fo_fence_result *r = &f->r;
    char semi[48] = "";

    if (f->semi_sync_off)
        snprintf(semi, sizeof semi, ", %s",
                 f->semi_off      ? "semi-sync master off"
                 : f->semi_absent ? "no semi-sync"
                                  : "semi-sync master NOT off");
    snprintf(r->detail, sizeof r->detail,
             "%.200s; read_only=%s super_read_only=%s, %u round(s), %u killed, %u survived%s, gtid_binlog_pos=%.96s",
             head,
             r->read_only ? "1"
             : f->ro_set  ? "1 (set, not read back)"
                          : "0",
             !r->has_super_read_only ? "n/a"
             : r->super_read_only    ? "1"
                                     : "0",
             r->rounds, r->killed, r->survived, semi, r->gtid_binlog_pos[0] != '\0' ? r->gtid_binlog_pos : "?");
}

/* Decides the outcome (the first decision wins) and closes everything; the callback
 * fires from the last close callback. */
static void finish(struct fo_fence *f, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void finish(struct fo_fence *f, int status, const char *fmt, ...)
{
    char why[WHY_LEN + 32];
    va_list ap;

    if (f->finishing) return;
    f->finishing = true;
    f->r.status = status;
    if (status == 0) {
        describe(f, "fenced");
    } else if (!f->r.reached) {
        va_start(ap, fmt);
        vsnprintf(f->r.detail, sizeof f->r.detail, fmt, ap);
        va_end(ap);
    } else {
        memcpy(why, "not fenced: ", 13);
        va_start(ap, fmt);
        vsnprintf(why + 12, sizeof why - 12, fmt, ap);
        va_end(ap);
        describe(f, why);
    }
    if (status != 0 && status != FO_ECANCELED)
        FO_WARN(MOD, "%s:%u: %s", f->host, f->port, f->r.detail);
    else if (status == 0)
        FO_INFO(MOD, "%s:%u: %s", f->host, f->port, f->r.detail);
    if (f->conn != NULL) {
        f->open_handles++;
        fo_myconn_close(f->conn, closed);
        f->conn = NULL;
    }
    uv_close((uv_handle_t *)&f->deadline, handle_closed);
    uv_close((uv_handle_t *)&f->pause, handle_closed);
}

/* ------------------------------------------------------------------ running a phase */

static void run(struct fo_fence *f, enum phase p);

static void after_store(void *data, int status, MYSQL_RES *res)
{
    struct fo_fence *f = data;
    MYSQL *m = fo_myconn_mysql(f->conn);

    if (status == FO_EIO) return finish(f, FO_EIO, "%s: %s", phases[f->phase].name, fo_myconn_error(f->conn));
    if (status == FO_ETOOBIG) return finish(f, FO_ETOOBIG, "%s: %s", phases[f->phase].name, fo_myconn_error(f->conn));
    if (res == NULL) {
        if (mysql_errno(m) != 0) return phases[f->phase].done(f, mysql_errno(m), NULL);
        return finish(f, FO_EMYSQL, "%s: no result set", phases[f->phase].name);
    }
    phases[f->phase].done(f, 0, res);
    mysql_free_result(res);
}

static void after_query(void *data, int status, MYSQL_RES *res)
{
    struct fo_fence *f = data;
    MYSQL *m = fo_myconn_mysql(f->conn);

    (void)res;
    if (status == FO_EIO) return finish(f, FO_EIO, "%s: %s", phases[f->phase].name, fo_myconn_error(f->conn));
    if (status != 0) {
        unsigned e = mysql_errno(m);
        /* The connection is gone (or the client failed): nothing more can run. */
        if (e == 0 || e >= CR_FIRST_CLIENT_ERROR)
            return finish(f, FO_EMYSQL, "%s: %s", phases[f->phase].name, mysql_error(m));
        return phases[f->phase].done(f, e, NULL);
    }
    if (mysql_field_count(m) > 0) return fo_myconn_store_result(f->conn, after_store);
    phases[f->phase].done(f, 0, NULL);
}

static void run(struct fo_fence *f, enum phase p)
{
    const char *stmt = phases[p].stmt;

    if (f->finishing) return;
    f->phase = p;
    if (f->on_phase != NULL) {
        /* The hook may cancel the fence (tests do, to cancel in each phase). */
        f->on_phase(f->data, phases[p].name);
        if (f->finishing) return;
    }
    if (p == P_LIST) stmt = f->list_query;
    if (p == P_KILL) stmt = f->stmt;
    if (p == P_READBACK) stmt = f->r.has_super_read_only ? READBACK_MYSQL : READBACK_MARIADB;
    fo_myconn_query(f->conn, stmt, after_query);
}

/* A failure no later phase can repair. */
static void failed(struct fo_fence *f, unsigned err_no)
{
    finish(f, FO_EMYSQL, "%s: error %u: %s", phases[f->phase].name, err_no, mysql_error(fo_myconn_mysql(f->conn)));
}

static void note(struct fo_fence *f, unsigned err_no)
{
    snprintf(f->note, sizeof f->note, "%s: error %u: %s", phases[f->phase].name, err_no,
             mysql_error(fo_myconn_mysql(f->conn)));
}

static bool rounds_over(const struct fo_fence *f)
{
    return uv_now(f->loop) >= f->rounds_end;
}

static void end_rounds(struct fo_fence *f)
{
    run(f, f->semi_sync_off ? P_SEMISYNC : P_READBACK);
}

/* ------------------------------------------------------------------ the phases */

static void nowait_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res)
{
    (void)res;
    /* A server that refuses 0 (older than MariaDB 10.3) keeps its own timeout: the
     * fence's deadline still bounds the wait. */
    if (err_no != 0) FO_DEBUG(MOD, "%s:%u: lock_wait_timeout=0 refused (error %u)", f->host, f->port, err_no);
    run(f, P_READ_ONLY);
}

static void pause_cb(uv_timer_t *t)
{
    run(t->data, P_READ_ONLY);
}

/* read_only is not set yet: retry after a short pause (a killed writer rolls back
 * and releases its lock), unless the rounds' time is up. */
static void retry_read_only(struct fo_fence *f)
{
    if (rounds_over(f)) return end_rounds(f);
    uv_timer_start(&f->pause, pause_cb, RETRY_PAUSE_MS, 0);
}

static void read_only_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res)
{
    (void)res;
    if (err_no == ER_LOCK_WAIT_TIMEOUT) {
        /* A running write holds the lock read_only needs: kill, then retry. */
        f->ro_blocked = true;
        return run(f, P_LIST);
    }
    if (err_no != 0) return failed(f, err_no);
    f->ro_set = true;
    run(f, P_SUPER_RO);
}

static void super_ro_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res)
{
    (void)res;
    f->r.has_super_read_only = err_no != ER_UNKNOWN_SYSTEM_VARIABLE;
    if (err_no != 0 && err_no != ER_UNKNOWN_SYSTEM_VARIABLE) note(f, err_no);
    run(f, P_LIST);
}

static int push_id(uint64_t **arr, size_t *n, size_t *cap, size_t at, uint64_t id)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        uint64_t *p = realloc(*arr, c * sizeof(*p));
        if (p == NULL) return FO_ENOMEM;
        *arr = p;
        *cap = c;
    }
    memmove(*arr + at + 1, *arr + at, (*n - at) * sizeof(**arr));
    (*arr)[at] = id;
    (*n)++;
    return 0;
}

/* Index of the first killed id >= id. */
static size_t killed_pos(const struct fo_fence *f, uint64_t id)
{
    size_t lo = 0, hi = f->n_killed;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->killed[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Copies the listed session ids; a value that is not a plain number is a server we
 * do not understand, and is skipped with a warning rather than killed blindly. */
static int take_ids(struct fo_fence *f, MYSQL_RES *res)
{
    MYSQL_ROW row;
    char *end;

    f->n_ids = 0;
    while ((row = mysql_fetch_row(res)) != NULL) {
        unsigned long long id;
        if (row[0] == NULL || row[0][0] < '0' || row[0][0] > '9') goto bad;
        errno = 0;
        id = strtoull(row[0], &end, 10);
        if (errno != 0 || *end != '\0') goto bad;
        if (push_id(&f->ids, &f->n_ids, &f->cap_ids, f->n_ids, id) != 0) return FO_ENOMEM;
        continue;
    bad:
        FO_WARN(MOD, "%s:%u: session id '%.24s' is not a number; skipped", f->host, f->port, row[0] ? row[0] : "NULL");
    }
    return 0;
}

static void kill_next(struct fo_fence *f);

static void list_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res)
{
    if (err_no != 0) return failed(f, err_no);
    if (take_ids(f, res) != 0) return finish(f, FO_ENOMEM, "out of memory");
    f->r.rounds++;
    f->r.survived = (unsigned)f->n_ids;
    if (f->n_ids == 0) {
        if (!f->ro_set) return retry_read_only(f);
        return end_rounds(f);
    }
    if (f->stuck || rounds_over(f)) return end_rounds(f);
    f->next_kill = 0;
    f->round_killed = 0;
    f->round_failed = 0;
    kill_next(f);
}

static void kill_next(struct fo_fence *f)
{
    if (f->next_kill == f->n_ids) {
        /* Nothing killed and something refused: the next round would be the same. */
        f->stuck = f->round_killed == 0 && f->round_failed > 0;
        if (!f->ro_set && !f->stuck) return retry_read_only(f);
        return run(f, P_LIST);
    }
    snprintf(f->stmt, sizeof f->stmt, "KILL CONNECTION %llu", (unsigned long long)f->ids[f->next_kill]);
    run(f, P_KILL);
}

static void kill_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res)
{
    uint64_t id = f->ids[f->next_kill++];
    size_t at;

    (void)res;
    if (err_no == 0) {
        f->round_killed++;
        at = killed_pos(f, id);
        if (at == f->n_killed || f->killed[at] != id) {
            if (push_id(&f->killed, &f->n_killed, &f->cap_killed, at, id) != 0)
                return finish(f, FO_ENOMEM, "out of memory");
            f->r.killed++;
        }
    } else if (err_no != ER_NO_SUCH_THREAD) { /* "unknown thread": it ended by itself */
        f->round_failed++;
        note(f, err_no);
    }
    kill_next(f);
}

static void semisync_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res)
{
    (void)res;
    if (err_no == 0)
        f->semi_off = true;
    else if (err_no == ER_UNKNOWN_SYSTEM_VARIABLE)
        f->semi_absent = true;
    else
        note(f, err_no);
    run(f, P_READBACK);
}

/* The outcome once everything ran: the read-back decides. */
static void conclude(struct fo_fence *f)
{
    struct fo_fence_result *r = &f->r;

    if (!r->read_only) {
        if (!f->ro_set && f->ro_blocked)
            return finish(f, FO_ETIMEDOUT, "read_only=1 still waited for a running write when time ran out");
        return finish(f, FO_EMYSQL, "@@read_only read back as 0");
    }
    if (r->has_super_read_only && !r->super_read_only)
        return finish(f, FO_EMYSQL, "super_read_only not set (%s)", f->note[0] ? f->note : "read back as 0");
    if (r->survived > 0) {
        if (f->stuck)
            return finish(f, FO_EMYSQL, "%u client session(s) could not be killed (%s)", r->survived, f->note);
        return finish(f, FO_ETIMEDOUT, "%u client session(s) still listed when time ran out", r->survived);
    }
    if (f->semi_sync_off && !f->semi_off && !f->semi_absent)
        return finish(f, FO_EMYSQL, "semi-sync master not turned off (%s)", f->note);
    finish(f, 0, NULL);
}

static void readback_done(struct fo_fence *f, unsigned err_no, MYSQL_RES *res)
{
    struct fo_fence_result *r = &f->r;
    MYSQL_ROW row;
    unsigned want = r->has_super_read_only ? 3 : 2;
    const char *pos;

    if (err_no != 0) return failed(f, err_no);
    row = mysql_fetch_row(res);
    if (row == NULL || mysql_num_fields(res) != want)
        return finish(f, FO_EMYSQL, "read back: unexpected result (%u columns)", mysql_num_fields(res));
    r->read_only = row[0] != NULL && strcmp(row[0], "1") == 0;
    if (r->has_super_read_only) r->super_read_only = row[1] != NULL && strcmp(row[1], "1") == 0;
    pos = row[want - 1] != NULL ? row[want - 1] : "";
    if (strlen(pos) >= sizeof r->gtid_binlog_pos)
        return finish(f, FO_ETOOBIG, "read back: GTID position longer than %zu bytes", sizeof r->gtid_binlog_pos - 1);
    memcpy(r->gtid_binlog_pos, pos, strlen(pos) + 1);
    conclude(f);
}

/* ------------------------------------------------------------------ connecting */

static void deadline_cb(uv_timer_t *t)
{
    struct fo_fence *f = t->data;

    if (!f->r.reached) return finish(f, FO_ETIMEDOUT, "connect to %s:%u: timed out", f->host, f->port);
    finish(f, FO_ETIMEDOUT, "%s timed out (fence bound %u ms)", phases[f->phase].name, f->timeout_ms);
}

static void connected(void *data, int status, MYSQL_RES *res)
{
    struct fo_fence *f = data;
    uint64_t elapsed;
    unsigned e;

    (void)res;
    if (status == FO_EUNREACHABLE || status == FO_ENOMEM || status == FO_EIO)
        return finish(f, status, "connect to %s:%u: %s", f->host, f->port, fo_myconn_error(f->conn));
    if (status != 0) {
        e = mysql_errno(fo_myconn_mysql(f->conn));
        return finish(f, e >= CR_FIRST_CLIENT_ERROR || e == 0 ? FO_EUNREACHABLE : FO_EMYSQL, "connect to %s:%u: %s",
                      f->host, f->port, fo_myconn_error(f->conn));
    }
    f->r.reached = true;
    elapsed = uv_now(f->loop) - f->t0;
    uv_timer_start(&f->deadline, deadline_cb, f->timeout_ms > elapsed ? f->timeout_ms - elapsed : 0, 0);
    run(f, P_NOWAIT);
}

/* ------------------------------------------------------------------ public */

int fo_fence_list_query(const char *user, char *out, size_t n)
{
    char u[2 * 64 + 4]; /* a user name is at most 63 bytes (FO_NAME_LEN) */
    int len;

    if (n > 0) out[0] = '\0';
    if (user == NULL || fo_sql_quote(user, u, sizeof u) != 0) return FO_ETOOBIG;
    len = snprintf(out, n,
                   "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER NOT IN "
                   "('system user','event_scheduler',%s) AND COMMAND NOT IN ('Binlog Dump','Binlog Dump GTID',"
                   "'Daemon','Killed','Slave_IO','Slave_SQL','Slave_worker') LIMIT %u",
                   u, LIST_LIMIT);
    if (len < 0 || (size_t)len >= n) {
        if (n > 0) out[0] = '\0';
        return FO_ETOOBIG;
    }
    return 0;
}

static int copy_strings(struct fo_fence *f, const struct fo_fence_opts *o)
{
    const char *src[3] = {o->host, o->user, o->password != NULL ? o->password : ""};
    const char **dst[3] = {&f->host, &f->user, &f->password};
    size_t lens[3], total = 0, i;
    char *p;

    for (i = 0; i < 3; i++) total += (lens[i] = strlen(src[i])) + 1;
    if ((f->strs = malloc(total)) == NULL) return FO_ENOMEM;
    f->strs_len = total;
    for (p = f->strs, i = 0; i < 3; p += lens[i] + 1, i++) {
        memcpy(p, src[i], lens[i] + 1);
        *dst[i] = p;
    }
    return 0;
}

struct fo_fence *fo_fence_start(uv_loop_t *loop, const struct fo_fence_opts *o, fo_fence_cb cb, void *data,
                                char err[FO_ERRLEN])
{
    return fo_fence_start_tls(loop, o, NULL, cb, data, err);
}

struct fo_fence *fo_fence_start_tls(uv_loop_t *loop, const struct fo_fence_opts *o, const struct fo_mysql_tls *tls,
                                    fo_fence_cb cb, void *data, char err[FO_ERRLEN])
{
    struct fo_fence *f;
    unsigned bound, reserve;

    if (loop == NULL || o == NULL || cb == NULL || o->host == NULL || o->host[0] == '\0' || o->user == NULL) {
        fo_errf(err, FO_EINVAL, "fence: loop, options, callback, host and user are required");
        return NULL;
    }
    if (o->timeout_ms == 0) {
        fo_errf(err, FO_EINVAL, "fence: timeout_ms must be > 0");
        return NULL;
    }
    if (tls != NULL && (tls->mode == FO_SSL_VERIFY_CA || tls->mode == FO_SSL_VERIFY_IDENTITY) && tls->ca[0] == '\0') {
        fo_errf(err, FO_EINVAL, "fence: ssl_mode %s needs a CA file", fo_ssl_mode_name(tls->mode));
        return NULL;
    }
    if ((f = calloc(1, sizeof(*f))) == NULL) goto err_nomem;
    if (fo_fence_list_query(o->user, f->list_query, sizeof f->list_query) != 0) {
        free(f);
        fo_errf(err, FO_EINVAL, "fence: user name too long");
        return NULL;
    }
    if (copy_strings(f, o) != 0) goto err_after_alloc;
    f->loop = loop;
    f->port = o->port;
    f->connect_timeout_ms = o->connect_timeout_ms;
    f->timeout_ms = o->timeout_ms;
    f->semi_sync_off = o->semi_sync_off;
    f->on_phase = o->on_phase;
    f->tls.mode = FO_SSL_PREFERRED;
    if (tls != NULL) f->tls = *tls;
    f->cb = cb;
    f->data = data;
    f->t0 = uv_now(loop);
    reserve = o->timeout_ms / 10 < RESERVE_MAX_MS ? o->timeout_ms / 10 : RESERVE_MAX_MS;
    f->rounds_end = f->t0 + o->timeout_ms - reserve;
    uv_timer_init(loop, &f->deadline);
    uv_timer_init(loop, &f->pause);
    f->deadline.data = f;
    f->pause.data = f;
    f->open_handles = 2;
    bound = o->timeout_ms;
    if (o->connect_timeout_ms != 0 && o->connect_timeout_ms < bound) bound = o->connect_timeout_ms;
    uv_timer_start(&f->deadline, deadline_cb, bound, 0);
    FO_DEBUG(MOD, "%s:%u: fencing as %s (bound %u ms)", f->host, f->port, f->user, f->timeout_ms);
    /* From here every failure goes through the callback, fired from a close callback,
     * so never before this function returns. */
    f->conn = fo_myconn_new(loop, f->user, f->password, f);
    if (f->conn == NULL || fo_myconn_set_tls(f->conn, &f->tls, err) != 0) {
        finish(f, FO_ENOMEM, "connect to %s:%u: out of memory", f->host, f->port);
        return f;
    }
    fo_myconn_connect(f->conn, f->host, f->port, CLIENT_MULTI_RESULTS, connected);
    return f;

err_after_alloc:
    free(f);
err_nomem:
    fo_errf(err, FO_ENOMEM, "fence: out of memory");
    return NULL;
}

const char *fo_fence_phase(const struct fo_fence *f)
{
    return f->finishing ? "done" : phases[f->phase].name;
}

void fo_fence_cancel(struct fo_fence *f)
{
    if (f == NULL) return;
    if (f->finishing) {
        /* Decided but not delivered yet: the header promises FO_ECANCELED. */
        f->r.status = FO_ECANCELED;
        return;
    }
    finish(f, FO_ECANCELED, "canceled");
}
