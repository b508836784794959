/* Unit tests for controller/decide/fostep.c: the table, and single transitions of the
 * step function as tables of cases (each step's happy path, each abort path, resume
 * from each committed step, a switchover resumed without the old position). A case
 * drives a fresh state to a phase with scripted events, feeds one more event and
 * checks the actions and the detail text (history and `why` show them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/decide/fostep.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static struct fo_foactions acts;

static void cfg_of(struct fo_fostate_cfg *c, enum fo_fokind kind, int last, const char *new_host)
{
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->epoch = 7;
    snprintf(c->old_host, sizeof(c->old_host), "db1");
    c->old_port = 3306;
    if (new_host) {
        snprintf(c->new_host, sizeof(c->new_host), "%s", new_host);
        c->new_port = 3306;
    }
    c->last_step = last;
    c->has_vip = true;
    c->has_repl_creds = true;
    c->t.step_ms = 3000;
    c->t.connect_ms = 500;
    c->t.relay_wait_ms = 2000;
    c->t.hook_ms = 1000;
}

static const struct fo_foinst insts[] = {{"db1", 3306, FO_RULE_NEUTRAL, false, false},
                                         {"db2", 3306, FO_RULE_NEUTRAL, false, false},
                                         {"db3", 3306, FO_RULE_NEUTRAL, false, false}};

static int step(struct fo_fostate *s, const struct fo_foevent *ev)
{
    return fo_fostep(s, ev, 1000, &acts);
}

static void start(struct fo_fostate *s, enum fo_fokind kind, int last, const char *new_host)
{
    struct fo_fostate_cfg c;
    struct fo_foevent ev = {.type = FO_FE_START};
    char err[FO_ERRLEN];

    cfg_of(&c, kind, last, new_host);
    FO_CHECK(fo_fostate_init(s, &c, err) == 0);
    FO_CHECK(step(s, &ev) == 0);
}

static void barrier(struct fo_fostate *s)
{
    struct fo_foevent ev = {.type = FO_FE_BARRIER, .inst = insts, .n_inst = N_ELEMS(insts)};

    FO_CHECK(step(s, &ev) == 0);
}

static const struct fo_foaction *only(enum fo_foact_type t)
{
    FO_CHECK_INT(acts.n, 1);
    FO_CHECK_INT(acts.a[0].type, t);
    return &acts.a[0];
}

static void sample_of(struct fo_sample *o, uint64_t id, uint64_t cur, uint64_t io, bool replica)
{
    memset(o, 0, sizeof(*o));
    o->server_id = id;
    o->read_only = true;
    snprintf(o->version, sizeof(o->version), "10.11.6-MariaDB");
    snprintf(o->gtid_current_pos, sizeof(o->gtid_current_pos), "0-1-%llu", (unsigned long long)cur);
    snprintf(o->gtid_binlog_pos, sizeof(o->gtid_binlog_pos), "0-1-%llu", (unsigned long long)cur);
    snprintf(o->gtid_binlog_state, sizeof(o->gtid_binlog_state), "0-1-%llu", (unsigned long long)cur);
    o->gtid_binlog_state_known = true;
    o->is_replica = replica;
    if (!replica) return;
    snprintf(o->master_host, sizeof(o->master_host), "db1");
    o->master_port = 3306;
    o->io_running = FO_THREAD_NO;
    o->sql_running = FO_THREAD_YES;
    snprintf(o->gtid_io_pos, sizeof(o->gtid_io_pos), "0-1-%llu", (unsigned long long)io);
}

static int sql_ok(struct fo_fostate *s, unsigned item, enum fo_fogroup g, const struct fo_sample *smp, enum fo_fowait w)
{
    struct fo_foevent ev = {.type = FO_FE_SQL, .item = item, .group = g, .sample = smp, .wait = w};

    return step(s, &ev);
}

/* ------------------------------------------------------------------ the table */

static void test_table(void)
{
    const struct fo_fostep_def *t = fo_fostep_table();
    unsigned i, pnr = 0;

    for (i = 0; i < FO_FS_COUNT; i++) {
        FO_CHECK_INT(t[i].step, i);
        FO_CHECK(t[i].idempotent);
        pnr += t[i].point_of_no_return;
    }
    FO_CHECK_INT(pnr, 1);
    FO_CHECK(t[FO_FS_PROMOTE].point_of_no_return);
    FO_CHECK_STR(fo_fostep_name(FO_FS_CHOOSE), "choose");
    FO_CHECK_STR(fo_fostep_name(99), "?");
    FO_CHECK(t[FO_FS_FENCE].switchover != NULL && t[FO_FS_CHOOSE].switchover != NULL);
    FO_CHECK_INT(fo_fowait_parse("0"), FO_FW_REACHED);
    FO_CHECK_INT(fo_fowait_parse("-1"), FO_FW_TIMEOUT);
    FO_CHECK_INT(fo_fowait_parse(NULL), FO_FW_NULL);
    FO_CHECK_INT(fo_fowait_parse("1"), FO_FW_OTHER);
}

static void test_bad_init(void)
{
    struct fo_fostate s;
    struct fo_fostate_cfg c;
    char err[FO_ERRLEN];

    cfg_of(&c, (enum fo_fokind)9, 0, NULL);
    FO_CHECK_INT(fo_fostate_init(&s, &c, err), FO_EINVAL);
    cfg_of(&c, FO_FK_AUTO, 12, NULL);
    FO_CHECK_INT(fo_fostate_init(&s, &c, err), FO_EINVAL);
}

/* ------------------------------------------------------------------ resume */

struct resume_case {
    const char *label;
    enum fo_fokind kind;
    int last;
    bool pre_hook;
    enum fo_foact_type first; /* after the barrier */
    enum fo_fogroup group;    /* for SQL */
};

static const struct resume_case resume_cases[] = {
    {"fresh with a pre hook", FO_FK_AUTO, 0, true, FO_FA_PRE_HOOK, 0},
    {"fresh without: fence", FO_FK_AUTO, 0, false, FO_FA_FENCE, 0},
    {"after pre_hook", FO_FK_AUTO, 1, true, FO_FA_FENCE, 0},
    {"after fence: choose stops IO", FO_FK_AUTO, 2, false, FO_FA_SQL, FO_FG_STOP_IO_STATUS},
    {"switchover after fence: fence again", FO_FK_SWITCHOVER, 2, false, FO_FA_FENCE, 0},
    {"after choose: promote", FO_FK_AUTO, 3, false, FO_FA_SQL, FO_FG_STOP_IO_STATUS},
    {"after promote: repoint", FO_FK_MANUAL, 4, false, FO_FA_SQL, FO_FG_REPOINT},
    {"after repoint: vip", FO_FK_AUTO, 5, false, FO_FA_MOVE_VIP, 0},
};

static void test_resume(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(resume_cases); i++) {
        const struct resume_case *rc = &resume_cases[i];
        struct fo_fostate s;
        struct fo_fostate_cfg c;
        struct fo_foevent ev = {.type = FO_FE_START};
        char err[FO_ERRLEN];

        cfg_of(&c, rc->kind, rc->last, rc->last >= 3 ? "db2" : NULL);
        c.has_pre_hook = rc->pre_hook;
        FO_CHECK(fo_fostate_init(&s, &c, err) == 0);
        FO_CHECK(step(&s, &ev) == 0);
        only(FO_FA_BARRIER);
        barrier(&s);
        if (acts.n == 0 || acts.a[0].type != rc->first || (rc->first == FO_FA_SQL && acts.a[0].group != rc->group))
            fprintf(stderr, "  case %s: first action %d\n", rc->label, acts.n ? (int)acts.a[0].type : -1);
        FO_CHECK(acts.n > 0 && acts.a[0].type == rc->first);
        fo_fostate_free(&s);
    }
}

static void test_resume_after_vip(void)
{
    struct fo_fostate s;

    start(&s, FO_FK_AUTO, 6, "db2");
    FO_CHECK_STR(only(FO_FA_COMMIT_END)->detail, "db2:3306 promoted; ");
    FO_CHECK_INT(acts.a[0].result, FO_FR_SUCCESS);
    fo_fostate_free(&s);
}

/* ------------------------------------------------------------------ fence */

struct fence_case {
    const char *label;
    enum fo_fokind kind;
    int fence_status;
    unsigned survived;
    bool released, mysql_fenced;
    uint64_t lease_safe_at;
    enum fo_foact_type next;
    const char *detail; /* of the commit / end, or NULL */
};

static const struct fence_case fence_cases[] = {
    {"SQL fenced", FO_FK_AUTO, 0, 0, false, false, 5000, FO_FA_COMMIT_STEP, "SQL: fenced; agent: no answer"},
    {"agent released", FO_FK_AUTO, FO_EUNREACHABLE, 0, true, false, 0, FO_FA_COMMIT_STEP,
     "SQL: unreachable; agent: released"},
    {"agent fenced mysqld", FO_FK_AUTO, FO_EUNREACHABLE, 0, false, true, 5000, FO_FA_COMMIT_STEP, NULL},
    {"nothing: wait for the lease", FO_FK_AUTO, FO_EUNREACHABLE, 0, false, false, 5000, FO_FA_WAIT_UNTIL, NULL},
    {"nothing, no lease", FO_FK_MANUAL, FO_EUNREACHABLE, 0, false, false, 0, FO_FA_COMMIT_STEP,
     "SQL: unreachable; agent: no answer; no VIP lease to wait for"},
    {"sessions survived: wait", FO_FK_AUTO, FO_ETIMEDOUT, 2, false, false, 5000, FO_FA_WAIT_UNTIL, NULL},
    {"switchover fenced", FO_FK_SWITCHOVER, 0, 0, true, true, 0, FO_FA_COMMIT_STEP, NULL},
    {"switchover not fenced: unfence", FO_FK_SWITCHOVER, FO_ETIMEDOUT, 1, true, true, 0, FO_FA_SQL, NULL},
};

static void fence_results(struct fo_fostate *s, const struct fence_case *fc)
{
    struct fo_foevent f = {.type = FO_FE_FENCE, .status = fc->fence_status, .survived = fc->survived};
    struct fo_foevent r = {.type = FO_FE_REVOKE, .released = fc->released, .mysql_fenced = fc->mysql_fenced};

    f.error = fc->fence_status == 0 ? "fenced" : "unreachable";
    f.gtid_binlog_pos = "0-1-50";
    r.error = fc->released ? "released" : "no answer";
    r.lease_safe_at = fc->lease_safe_at;
    FO_CHECK(step(s, &r) == 0);
    FO_CHECK_INT(acts.n, 0);
    FO_CHECK(step(s, &f) == 0);
}

static void test_fence(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(fence_cases); i++) {
        const struct fence_case *fc = &fence_cases[i];
        struct fo_fostate s;
        const struct fo_foaction *a;

        start(&s, fc->kind, 0, NULL);
        barrier(&s);
        FO_CHECK_INT(acts.n, 2);
        FO_CHECK(acts.a[0].type == FO_FA_FENCE && acts.a[1].type == FO_FA_REVOKE);
        FO_CHECK_INT(acts.a[1].deadline_ms, 1000 + 2000); /* min(step, 2 * connect + 1000) */
        fence_results(&s, fc);
        a = only(fc->next);
        if (fc->detail) FO_CHECK_STR(a->detail, fc->detail);
        if (fc->next == FO_FA_WAIT_UNTIL) FO_CHECK_INT(a->at_ms, fc->lease_safe_at);
        if (fc->next == FO_FA_SQL) FO_CHECK_INT(a->group, FO_FG_UNFENCE);
        if (fc->kind == FO_FK_SWITCHOVER && fc->next == FO_FA_COMMIT_STEP) FO_CHECK(s.old_pos_read);
        fo_fostate_free(&s);
    }
}

static void test_fence_lease_wait(void)
{
    struct fo_fostate s;
    struct fo_foevent t = {.type = FO_FE_TIMER};

    start(&s, FO_FK_AUTO, 0, NULL);
    barrier(&s);
    fence_results(&s, &fence_cases[3]);
    only(FO_FA_WAIT_UNTIL);
    FO_CHECK_INT(s.phase, FO_FP_LEASE_WAIT);
    FO_CHECK(step(&s, &t) == 0);
    FO_CHECK_STR(only(FO_FA_COMMIT_STEP)->detail,
                 "SQL: unreachable; agent: no answer; nothing answered: waited until the old lease surely ran out");
    /* A stale timer is refused and changes nothing. */
    FO_CHECK_INT(step(&s, &t), FO_EINVAL);
    FO_CHECK_INT(acts.n, 0);
    fo_fostate_free(&s);
}

static void test_switchover_abort_unfences(void)
{
    struct fo_fostate s;
    struct fo_foevent ok = {.type = FO_FE_SQL, .item = 0, .group = FO_FG_UNFENCE};

    start(&s, FO_FK_SWITCHOVER, 0, NULL);
    barrier(&s);
    fence_results(&s, &fence_cases[7]);
    FO_CHECK_STR(only(FO_FA_SQL)->host, "db1");
    FO_CHECK(step(&s, &ok) == 0);
    FO_CHECK_INT(only(FO_FA_COMMIT_END)->result, FO_FR_ABORTED);
    FO_CHECK(strncmp(acts.a[0].detail, "switchover aborted: the old primary could not be fenced", 55) == 0);
    FO_CHECK(strstr(acts.a[0].detail, "old primary writable again (read_only=0)") != NULL);
    fo_fostate_free(&s);
}

/* A resumed switchover lost the position read while fencing: it fences again. */
static void test_switchover_refence(void)
{
    struct fo_fostate s;
    struct fo_foevent bad = {.type = FO_FE_FENCE, .status = FO_EUNREACHABLE, .error = "could not connect"};
    struct fo_foevent good = {.type = FO_FE_FENCE, .error = "fenced", .gtid_binlog_pos = "0-1-50"};

    start(&s, FO_FK_SWITCHOVER, 2, NULL);
    barrier(&s);
    only(FO_FA_FENCE);
    FO_CHECK_INT(s.phase, FO_FP_REFENCE);
    FO_CHECK(step(&s, &good) == 0);
    FO_CHECK_INT(acts.n, 2); /* every replica waits for 0-1-50 */
    FO_CHECK(acts.a[0].group == FO_FG_GTID_WAIT && strcmp(acts.a[0].pos, "0-1-50") == 0);
    fo_fostate_free(&s);

    start(&s, FO_FK_SWITCHOVER, 2, NULL);
    barrier(&s);
    FO_CHECK(step(&s, &bad) == 0);
    FO_CHECK_INT(only(FO_FA_SQL)->group, FO_FG_UNFENCE);
    FO_CHECK(strstr(s.abort_why, "the old primary's final position cannot be read") != NULL);
    fo_fostate_free(&s);
}

/* ------------------------------------------------------------------ choose */

/* Drives a failover's choose: per replica (db2, db3) received/applied and the wait. */
struct rep_script {
    uint64_t applied, io;
    enum fo_fowait wait;
    bool stop_fails;
};

struct choose_case {
    const char *label;
    enum fo_fokind kind;
    struct rep_script r[2];
    enum fo_foact_type next;
    const char *new_host; /* when committed */
    const char *has;      /* in the detail / abort reason */
    unsigned restarts;    /* START_IO actions when the run ends FAILED */
    const char *note0;    /* db2's note, or NULL */
};

#define REP(applied, io, wait)   \
    {                            \
        applied, io, wait, false \
    }
#define UNREACHABLE               \
    {                             \
        0, 0, FO_FW_REACHED, true \
    }

static const struct choose_case choose_cases[] = {
    {"most advanced wins",
     FO_FK_AUTO,
     {REP(50, 50, FO_FW_REACHED), REP(48, 48, FO_FW_REACHED)},
     FO_FA_COMMIT_STEP,
     "db2",
     "chose db2:3306: most advanced (0-1-50)",
     0,
     "sampled"},
    {"relay unapplied is skipped",
     FO_FK_MANUAL,
     {REP(48, 52, FO_FW_TIMEOUT), REP(49, 49, FO_FW_REACHED)},
     FO_FA_COMMIT_STEP,
     "db3",
     "db2:3306 skipped: relay log not applied",
     0,
     "relay log not applied: MASTER_GTID_WAIT timed out"},
    {"NULL wait is unknown",
     FO_FK_MANUAL,
     {REP(48, 52, FO_FW_NULL), REP(49, 49, FO_FW_REACHED)},
     FO_FA_COMMIT_STEP,
     "db3",
     "db2:3306 skipped: relay log not applied",
     0,
     "relay log state unknown: MASTER_GTID_WAIT returned NULL"},
    {"auto refuses relay_only_lost",
     FO_FK_AUTO,
     {REP(48, 52, FO_FW_TIMEOUT), REP(49, 49, FO_FW_REACHED)},
     FO_FA_SQL,
     NULL,
     "holds received but unapplied transactions (up to 0-1-52) that it lacks",
     2,
     NULL},
    {"no candidate: restart IO",
     FO_FK_AUTO,
     {REP(48, 52, FO_FW_TIMEOUT), UNREACHABLE},
     FO_FA_SQL,
     NULL,
     "no replica can be promoted",
     1,
     NULL},
};

static void choose_run(struct fo_fostate *s, const struct choose_case *cc)
{
    struct fo_sample smp;
    unsigned i;

    start(s, cc->kind, 2, NULL);
    barrier(s);
    FO_CHECK_INT(acts.n, 2);
    for (i = 0; i < 2; i++) {
        const struct rep_script *r = &cc->r[i];
        struct fo_foevent fail = {.type = FO_FE_SQL, .item = i, .group = FO_FG_STOP_IO_STATUS};
        if (r->stop_fails) {
            fail.status = FO_EUNREACHABLE;
            fail.error = "Can't connect";
            FO_CHECK(step(s, &fail) == 0);
            continue;
        }
        sample_of(&smp, i + 2, r->applied, r->io, true);
        FO_CHECK(sql_ok(s, i, FO_FG_STOP_IO_STATUS, &smp, 0) == 0);
        FO_CHECK_INT(only(FO_FA_SQL)->group, FO_FG_GTID_WAIT);
        FO_CHECK_STR(acts.a[0].pos, smp.gtid_io_pos);
        FO_CHECK_INT(acts.a[0].timeout_ms, 5000);
        FO_CHECK(sql_ok(s, i, FO_FG_GTID_WAIT, NULL, r->wait) == 0);
        FO_CHECK(sql_ok(s, i, FO_FG_VARS, &smp, 0) == 0);
        FO_CHECK(sql_ok(s, i, FO_FG_STATUS, &smp, 0) == 0);
    }
}

static void test_choose(void)
{
    unsigned i, k, n;

    for (i = 0; i < N_ELEMS(choose_cases); i++) {
        const struct choose_case *cc = &choose_cases[i];
        struct fo_fostate s;
        const char *text;

        choose_run(&s, cc);
        FO_CHECK(acts.n > 0 && acts.a[0].type == cc->next);
        text = cc->next == FO_FA_COMMIT_STEP ? acts.a[0].detail : s.abort_why;
        if (strstr(text, cc->has) == NULL) fprintf(stderr, "  case %s: %s\n", cc->label, text);
        FO_CHECK(strstr(text, cc->has) != NULL);
        if (cc->note0) FO_CHECK_STR(s.items[0].note, cc->note0);
        if (cc->new_host) {
            FO_CHECK_STR(s.c.new_host, cc->new_host);
            FO_CHECK(acts.a[0].names_new);
        } else {
            FO_CHECK_INT(acts.n, cc->restarts);
            for (k = 0; k < acts.n; k++) FO_CHECK_INT(acts.a[k].group, FO_FG_START_IO);
            for (k = 0, n = acts.n; k < n; k++) {
                struct fo_foevent ok = {.type = FO_FE_SQL, .item = k, .group = FO_FG_START_IO};
                FO_CHECK(step(&s, &ok) == 0);
            }
            FO_CHECK_INT(only(FO_FA_COMMIT_END)->result, FO_FR_FAILED);
            FO_CHECK(strstr(acts.a[0].detail, "IO threads restarted: ") != NULL);
        }
        fo_fostate_free(&s);
    }
}

/* Only replicas whose SQL thread runs get their IO thread back. */
static void test_restart_only_where_sql_runs(void)
{
    struct fo_fostate s;
    struct fo_sample smp;
    unsigned i;

    start(&s, FO_FK_AUTO, 2, NULL);
    barrier(&s);
    for (i = 0; i < 2; i++) {
        sample_of(&smp, i + 2, 10, 12, true);
        if (i == 1) smp.sql_running = FO_THREAD_NO;
        FO_CHECK(sql_ok(&s, i, FO_FG_STOP_IO_STATUS, &smp, 0) == 0);
        FO_CHECK(sql_ok(&s, i, FO_FG_GTID_WAIT, NULL, FO_FW_TIMEOUT) == 0);
        FO_CHECK(sql_ok(&s, i, FO_FG_VARS, &smp, 0) == 0);
        FO_CHECK(sql_ok(&s, i, FO_FG_STATUS, &smp, 0) == 0);
    }
    FO_CHECK_STR(only(FO_FA_SQL)->host, "db2");
    FO_CHECK_INT(acts.a[0].group, FO_FG_START_IO);
    fo_fostate_free(&s);
}

static void test_choose_parse_error(void)
{
    struct fo_fostate s;
    struct fo_foevent bad = {.type = FO_FE_SQL, .item = 0, .group = FO_FG_STOP_IO_STATUS, .parse_error = true};

    start(&s, FO_FK_MANUAL, 2, NULL);
    barrier(&s);
    bad.error = "missing column Master_Host";
    FO_CHECK(step(&s, &bad) == 0);
    FO_CHECK_INT(acts.n, 0);
    FO_CHECK_STR(s.items[0].note, "SHOW SLAVE STATUS: missing column Master_Host");
    /* An event for a group the item is not running is refused. */
    bad.item = 1;
    bad.group = FO_FG_VARS;
    FO_CHECK_INT(step(&s, &bad), FO_EINVAL);
    bad.item = 9;
    FO_CHECK_INT(step(&s, &bad), FO_EINVAL);
    fo_fostate_free(&s);
}

/* ------------------------------------------------------------------ catch-up */

/* Issue 13 item 2: db2 (prefer) is behind db3; it replicates from db3 first. */
static const struct fo_foinst insts_prefer[] = {{"db1", 3306, FO_RULE_NEUTRAL, false, false},
                                                {"db2", 3306, FO_RULE_PREFER, false, false},
                                                {"db3", 3306, FO_RULE_NEUTRAL, false, false}};

struct cu_case {
    const char *label;
    int start_status;  /* CATCHUP_START's status */
    enum fo_fowait w1; /* the first slice */
    unsigned io_errno; /* STATUS after a slice that did not reach */
    uint64_t late_ms;  /* STATUS arrives this long after the start */
    uint64_t vars_cur; /* the position read back after STOP SLAVE */
    const char *new_host;
    const char *has; /* in the committed detail */
};

static const struct cu_case cu_cases[] = {
    {"caught up", 0, FO_FW_REACHED, 0, 0, 15, "db2",
     "caught up from db3:3306 in 0 ms (5 transactions, to 0-1-15); chose db2:3306: rule prefer; behind db3:3306 by "
     "5 transactions: catches up from it first"},
    {"a second slice", 0, FO_FW_TIMEOUT, 0, 300, 15, "db2", "caught up from db3:3306 in 300 ms"},
    {"the source refuses the account", 0, FO_FW_TIMEOUT, 1045, 0, 0, "db3",
     "catch-up of db2:3306 from db3:3306 failed after 0 ms: fell back to db3:3306, the most advanced (IO thread "
     "error 1045: Access denied for user 'repl')"},
    {"not within relay_wait_ms", 0, FO_FW_TIMEOUT, 0, 2500, 0, "db3",
     "failed after 2500 ms: fell back to db3:3306, the most advanced (not caught up within relay_wait_ms (2000 ms; "
     "received up to 0-1-12))"},
    {"CHANGE MASTER fails", FO_EIO, FO_FW_REACHED, 0, 0, 0, "db3",
     "fell back to db3:3306, the most advanced (pointing it at the source: Access denied; need SUPER)"},
    {"position read back still behind", 0, FO_FW_REACHED, 0, 0, 14, "db3",
     "(its position 0-1-14 does not contain the source's 0-1-15)"},
};

static int sql_at(struct fo_fostate *s, uint64_t now, unsigned item, enum fo_fogroup g, const struct fo_sample *smp,
                  enum fo_fowait w, int status, const char *error)
{
    struct fo_foevent ev = {
        .type = FO_FE_SQL, .item = item, .group = g, .sample = smp, .wait = w, .status = status, .error = error};

    return fo_fostep(s, &ev, now, &acts);
}

/* The catch-up's own raft barrier (the choose step's may be a relay-log wait old):
 * nothing is sent to the chosen replica before leadership is confirmed again. */
static void cu_barrier(struct fo_fostate *s)
{
    struct fo_foevent ok = {.type = FO_FE_BARRIER};

    only(FO_FA_BARRIER);
    FO_CHECK(s->cu_barrier);
    FO_CHECK(step(s, &ok) == 0);
}

/* Drives choose to the catch-up's first action: db2 at 10, db3 at 15. */
static void cu_choose(struct fo_fostate *s)
{
    struct fo_foevent ev = {.type = FO_FE_BARRIER, .inst = insts_prefer, .n_inst = N_ELEMS(insts_prefer)};
    struct fo_sample smp;
    unsigned i;

    start(s, FO_FK_AUTO, 2, NULL);
    FO_CHECK(step(s, &ev) == 0);
    for (i = 0; i < 2; i++) {
        sample_of(&smp, i + 2, i ? 15 : 10, i ? 15 : 10, true);
        FO_CHECK(sql_ok(s, i, FO_FG_STOP_IO_STATUS, &smp, 0) == 0);
        FO_CHECK(sql_ok(s, i, FO_FG_GTID_WAIT, NULL, FO_FW_REACHED) == 0);
        FO_CHECK(sql_ok(s, i, FO_FG_VARS, &smp, 0) == 0);
        FO_CHECK(sql_ok(s, i, FO_FG_STATUS, &smp, 0) == 0);
    }
    cu_barrier(s);
}

static void test_catch_up(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(cu_cases); i++) {
        const struct cu_case *cc = &cu_cases[i];
        struct fo_fostate s;
        struct fo_sample smp;
        const struct fo_foaction *a;

        cu_choose(&s);
        a = only(FO_FA_SQL);
        FO_CHECK_INT(a->group, FO_FG_CATCHUP_START);
        FO_CHECK_STR(a->host, "db2");
        FO_CHECK_STR(a->src_host, "db3");
        FO_CHECK_INT(a->src_port, 3306);
        FO_CHECK(sql_at(&s, 1000, 0, FO_FG_CATCHUP_START, NULL, 0, cc->start_status,
                        cc->start_status ? "Access denied; need SUPER" : NULL) == 0);
        if (cc->start_status == 0) {
            a = only(FO_FA_SQL);
            FO_CHECK_INT(a->group, FO_FG_GTID_WAIT);
            FO_CHECK_STR(a->pos, "0-1-15");
            FO_CHECK_INT(a->wait_ms, 1000);
            FO_CHECK(sql_at(&s, 1000, 0, FO_FG_GTID_WAIT, NULL, cc->w1, 0, NULL) == 0);
        }
        if (cc->start_status == 0 && cc->w1 != FO_FW_REACHED) {
            FO_CHECK_INT(only(FO_FA_SQL)->group, FO_FG_STATUS);
            sample_of(&smp, 2, 12, 12, true);
            smp.io_running = smp.sql_running = FO_THREAD_YES;
            smp.last_io_errno = cc->io_errno;
            snprintf(smp.last_io_error, sizeof(smp.last_io_error), "Access denied for user 'repl'");
            FO_CHECK(sql_at(&s, 1000 + cc->late_ms, 0, FO_FG_STATUS, &smp, 0, 0, NULL) == 0);
            if (cc->io_errno == 0 && cc->late_ms < 2000) { /* another slice, shorter near the deadline */
                a = only(FO_FA_SQL);
                FO_CHECK_INT(a->group, FO_FG_GTID_WAIT);
                FO_CHECK_INT(a->wait_ms, 1000);
                FO_CHECK(sql_at(&s, 1000 + cc->late_ms, 0, FO_FG_GTID_WAIT, NULL, FO_FW_REACHED, 0, NULL) == 0);
            }
        }
        FO_CHECK_INT(only(FO_FA_SQL)->group, FO_FG_CATCHUP_STOP);
        FO_CHECK(sql_at(&s, 1000 + cc->late_ms, 0, FO_FG_CATCHUP_STOP, NULL, 0, 0, NULL) == 0);
        if (cc->vars_cur) {
            FO_CHECK_INT(only(FO_FA_SQL)->group, FO_FG_VARS);
            sample_of(&smp, 2, cc->vars_cur, cc->vars_cur, true);
            FO_CHECK(sql_at(&s, 1000 + cc->late_ms, 0, FO_FG_VARS, &smp, 0, 0, NULL) == 0);
        }
        a = only(FO_FA_COMMIT_STEP);
        FO_CHECK(a->names_new);
        FO_CHECK_STR(s.c.new_host, cc->new_host);
        if (strstr(a->detail, cc->has) == NULL) fprintf(stderr, "  case %s: %s\n", cc->label, a->detail);
        FO_CHECK(strstr(a->detail, cc->has) != NULL);
        FO_CHECK_INT(s.cu_result, strcmp(cc->new_host, "db2") == 0 ? FO_CU_DONE : FO_CU_FELL_BACK);
        fo_fostate_free(&s);
    }
}

/* A leader deposed during choose's relay-log wait must not point the chosen replica at
 * the source (a new leader may have promoted it by then): the catch-up's barrier fails,
 * the run stops, and no statement was sent. */
static void test_catch_up_deposed(void)
{
    struct fo_foevent ev = {.type = FO_FE_BARRIER, .inst = insts_prefer, .n_inst = N_ELEMS(insts_prefer)};
    struct fo_foevent nb = {.type = FO_FE_BARRIER, .status = FO_ENOTLEADER};
    struct fo_fostate s;
    struct fo_sample smp;
    unsigned i;

    start(&s, FO_FK_AUTO, 2, NULL);
    FO_CHECK(step(&s, &ev) == 0);
    for (i = 0; i < 2; i++) {
        sample_of(&smp, i + 2, i ? 15 : 10, i ? 15 : 10, true);
        FO_CHECK(sql_ok(&s, i, FO_FG_STOP_IO_STATUS, &smp, 0) == 0);
        FO_CHECK(sql_ok(&s, i, FO_FG_GTID_WAIT, NULL, FO_FW_REACHED) == 0);
        FO_CHECK(sql_ok(&s, i, FO_FG_VARS, &smp, 0) == 0);
        FO_CHECK(sql_ok(&s, i, FO_FG_STATUS, &smp, 0) == 0);
    }
    only(FO_FA_BARRIER);
    FO_CHECK(step(&s, &nb) == 0);
    only(FO_FA_STOP);
    FO_CHECK_INT(s.phase, FO_FP_STOPPED);
    FO_CHECK_STR(s.c.new_host, "");
    fo_fostate_free(&s);
}

/* The slice shrinks to what is left of relay_wait_ms (never under 100 ms). */
static void test_catch_up_slices(void)
{
    struct fo_fostate s;
    struct fo_sample smp;

    cu_choose(&s);
    FO_CHECK(sql_at(&s, 1000, 0, FO_FG_CATCHUP_START, NULL, 0, 0, NULL) == 0);
    FO_CHECK(sql_at(&s, 2000, 0, FO_FG_GTID_WAIT, NULL, FO_FW_TIMEOUT, 0, NULL) == 0);
    sample_of(&smp, 2, 12, 12, true);
    smp.io_running = smp.sql_running = FO_THREAD_YES;
    FO_CHECK(sql_at(&s, 2600, 0, FO_FG_STATUS, &smp, 0, 0, NULL) == 0);
    FO_CHECK_INT(only(FO_FA_SQL)->wait_ms, 400);
    FO_CHECK(sql_at(&s, 2990, 0, FO_FG_GTID_WAIT, NULL, FO_FW_TIMEOUT, 0, NULL) == 0);
    FO_CHECK(sql_at(&s, 2990, 0, FO_FG_STATUS, &smp, 0, 0, NULL) == 0);
    FO_CHECK_INT(only(FO_FA_SQL)->wait_ms, 100);
    /* A stale event (another group than the item runs) is refused. */
    FO_CHECK_INT(sql_at(&s, 2990, 0, FO_FG_VARS, &smp, 0, 0, NULL), FO_EINVAL);
    /* An event for the source's item (finished) is refused too. */
    FO_CHECK_INT(sql_at(&s, 2990, 1, FO_FG_GTID_WAIT, NULL, FO_FW_REACHED, 0, NULL), FO_EINVAL);
    fo_fostate_free(&s);
}

/* A new leader redoes choose after a catch-up that was cut short (nothing of it was
 * committed): the chosen replica now replicates from the source and is between its old
 * position and the source's. The same choice and source come out, and the catch-up
 * starts again from where it got; once it has everything, it is chosen without one. */
static void test_catch_up_resumed(void)
{
    struct fo_foevent ev = {.type = FO_FE_BARRIER, .inst = insts_prefer, .n_inst = N_ELEMS(insts_prefer)};
    struct fo_fostate s;
    struct fo_sample smp;
    uint64_t got;
    unsigned i;

    for (got = 13; got <= 15; got += 2) {
        start(&s, FO_FK_AUTO, 2, NULL);
        FO_CHECK(step(&s, &ev) == 0);
        for (i = 0; i < 2; i++) {
            sample_of(&smp, i + 2, i ? 15 : got, i ? 15 : got, true);
            if (i == 0) snprintf(smp.master_host, sizeof(smp.master_host), "db3");
            FO_CHECK(sql_ok(&s, i, FO_FG_STOP_IO_STATUS, &smp, 0) == 0);
            FO_CHECK(sql_ok(&s, i, FO_FG_GTID_WAIT, NULL, FO_FW_REACHED) == 0);
            FO_CHECK(sql_ok(&s, i, FO_FG_VARS, &smp, 0) == 0);
            FO_CHECK(sql_ok(&s, i, FO_FG_STATUS, &smp, 0) == 0);
        }
        if (got < 15) {
            cu_barrier(&s);
            FO_CHECK_INT(only(FO_FA_SQL)->group, FO_FG_CATCHUP_START);
            FO_CHECK_STR(acts.a[0].src_host, "db3");
            FO_CHECK_INT(s.cu_txns, 2);
        } else {
            FO_CHECK_STR(only(FO_FA_COMMIT_STEP)->detail, acts.a[0].detail);
            FO_CHECK_STR(s.c.new_host, "db2");
            FO_CHECK(strstr(acts.a[0].detail, "chose db2:3306: most advanced (0-1-15)") != NULL);
            FO_CHECK_INT(s.cu_result, FO_CU_NONE);
        }
        fo_fostate_free(&s);
    }
}

/* A switchover never catches up: its replicas all reached the old primary's final
 * position, so the rule only breaks ties (candidate.h). */
static void test_catch_up_not_in_switchover(void)
{
    struct fo_foevent ev = {.type = FO_FE_BARRIER, .inst = insts_prefer, .n_inst = N_ELEMS(insts_prefer)};
    struct fo_foevent fence = {.type = FO_FE_FENCE, .gtid_binlog_pos = "0-1-15", .error = "read_only=1"};
    struct fo_fostate s;
    struct fo_sample smp;
    unsigned i;

    start(&s, FO_FK_SWITCHOVER, 2, NULL);
    FO_CHECK(step(&s, &ev) == 0);
    only(FO_FA_FENCE);
    FO_CHECK(step(&s, &fence) == 0);
    for (i = 0; i < 2; i++) {
        sample_of(&smp, i + 2, i ? 15 : 10, i ? 15 : 10, true);
        FO_CHECK(sql_ok(&s, i, FO_FG_GTID_WAIT, NULL, i ? FO_FW_REACHED : FO_FW_TIMEOUT) == 0);
        FO_CHECK(sql_ok(&s, i, FO_FG_VARS, &smp, 0) == 0);
        FO_CHECK(sql_ok(&s, i, FO_FG_STATUS, &smp, 0) == 0);
    }
    FO_CHECK_INT(only(FO_FA_COMMIT_STEP)->step, FO_FS_CHOOSE);
    FO_CHECK_STR(s.c.new_host, "db3");
    FO_CHECK_INT(s.cu_result, FO_CU_NONE);
    fo_fostate_free(&s);
}

/* ------------------------------------------------------------------ promote */

struct promote_case {
    const char *label;
    bool replica; /* false: resumed after RESET SLAVE ALL */
    enum fo_fowait wait;
    int reset_status;
    enum fo_foresult result; /* RUNNING: committed */
    const char *detail;
};

static const struct promote_case promote_cases[] = {
    {"re-wait then reset", true, FO_FW_REACHED, 0, FO_FR_RUNNING, "db2:3306: replication reset, read_only=0"},
    {"re-wait timed out: nothing reset", true, FO_FW_TIMEOUT, 0, FO_FR_FAILED,
     "promoting db2:3306 failed (relay log not applied: MASTER_GTID_WAIT timed out; not promoted (nothing reset)); no "
     "server is writable"},
    {"resumed after reset: no wait", false, FO_FW_REACHED, 0, FO_FR_RUNNING,
     "db2:3306: replication reset, read_only=0"},
    {"reset failed", true, FO_FW_REACHED, FO_EMYSQL, FO_FR_FAILED,
     "promoting db2:3306 failed (statement 2 (RESET SLAVE ALL): denied); no server is writable"},
};

static void test_promote(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(promote_cases); i++) {
        const struct promote_case *pc = &promote_cases[i];
        struct fo_fostate s;
        struct fo_sample smp;
        struct fo_foevent reset = {.type = FO_FE_SQL, .group = FO_FG_PROMOTE_RESET, .status = pc->reset_status};
        const struct fo_foaction *a;

        reset.error = "statement 2 (RESET SLAVE ALL): denied";
        start(&s, FO_FK_AUTO, 3, "db2");
        barrier(&s);
        FO_CHECK_STR(only(FO_FA_SQL)->host, "db2");
        sample_of(&smp, 2, 40, 45, pc->replica);
        FO_CHECK(sql_ok(&s, 0, FO_FG_STOP_IO_STATUS, &smp, 0) == 0);
        if (pc->replica) {
            /* The point of no return waits for the relay log first. */
            FO_CHECK_INT(only(FO_FA_SQL)->group, FO_FG_GTID_WAIT);
            FO_CHECK_STR(acts.a[0].pos, "0-1-45");
            FO_CHECK(sql_ok(&s, 0, FO_FG_GTID_WAIT, NULL, pc->wait) == 0);
        }
        if (pc->wait == FO_FW_REACHED) {
            FO_CHECK_INT(only(FO_FA_SQL)->group, FO_FG_PROMOTE_RESET);
            FO_CHECK(step(&s, &reset) == 0);
        }
        a = only(pc->result == FO_FR_RUNNING ? FO_FA_COMMIT_STEP : FO_FA_COMMIT_END);
        if (pc->result != FO_FR_RUNNING) FO_CHECK_INT(a->result, pc->result);
        FO_CHECK_STR(a->detail, pc->detail);
        fo_fostate_free(&s);
    }
}

/* ------------------------------------------------------------------ repoint, vip, end */

static void test_repoint(void)
{
    struct fo_fostate s;
    struct fo_fostate_cfg c;
    struct fo_foevent ev = {.type = FO_FE_START}, ok = {.type = FO_FE_SQL, .group = FO_FG_REPOINT};
    char err[FO_ERRLEN];

    /* Failover: the old primary is not repointed, nor the new one. */
    start(&s, FO_FK_AUTO, 4, "db2");
    barrier(&s);
    FO_CHECK_STR(only(FO_FA_SQL)->host, "db3");
    FO_CHECK(!acts.a[0].demote);
    FO_CHECK(step(&s, &ok) == 0);
    FO_CHECK_STR(only(FO_FA_COMMIT_STEP)->detail, "db3:3306 replicating from the new primary");
    fo_fostate_free(&s);

    /* Switchover without replication credentials: the old primary stays read-only. */
    cfg_of(&c, FO_FK_SWITCHOVER, 4, "db2");
    c.has_repl_creds = false;
    FO_CHECK(fo_fostate_init(&s, &c, err) == 0);
    FO_CHECK(step(&s, &ev) == 0);
    barrier(&s);
    FO_CHECK_STR(only(FO_FA_SQL)->host, "db3");
    ok.item = 1;
    FO_CHECK(step(&s, &ok) == 0);
    FO_CHECK_STR(only(FO_FA_COMMIT_STEP)->detail, "db1:3306 left read-only: repl_user/repl_password_file not "
                                                  "configured; db3:3306 replicating from the new primary");
    fo_fostate_free(&s);

    /* With credentials the old primary is demoted. */
    start(&s, FO_FK_SWITCHOVER, 4, "db2");
    barrier(&s);
    FO_CHECK_INT(acts.n, 2);
    FO_CHECK(acts.a[0].demote && !acts.a[1].demote);
    fo_fostate_free(&s);
}

static void test_vip_and_end(void)
{
    struct fo_fostate s;
    struct fo_foevent vip = {.type = FO_FE_VIP, .status = FO_ETIMEDOUT, .error = "agent did not answer"};
    struct fo_foevent done = {.type = FO_FE_STEP_COMMITTED}, end = {.type = FO_FE_END_COMMITTED};
    const struct fo_foaction *a;

    start(&s, FO_FK_AUTO, 5, "db2");
    barrier(&s);
    FO_CHECK_STR(only(FO_FA_MOVE_VIP)->host, "db2");
    FO_CHECK(step(&s, &vip) == 0);
    FO_CHECK_STR(only(FO_FA_COMMIT_STEP)->detail,
                 "VIP not confirmed yet (the leader keeps trying): agent did not answer");
    FO_CHECK(step(&s, &done) == 0);
    a = only(FO_FA_COMMIT_END);
    FO_CHECK_INT(a->result, FO_FR_SUCCESS);
    FO_CHECK_STR(a->detail, "db2:3306 promoted; VIP not confirmed yet (the leader keeps trying): agent did not answer");
    FO_CHECK(step(&s, &end) == 0);
    FO_CHECK_INT(acts.n, 2);
    FO_CHECK(acts.a[0].type == FO_FA_POST_HOOK && acts.a[0].success);
    FO_CHECK(acts.a[1].type == FO_FA_FINISHED && acts.a[1].success && acts.a[1].counted && !acts.a[1].backoff);
    FO_CHECK(fo_fostate_over(&s));
    /* Anything after the end is ignored. */
    FO_CHECK(step(&s, &vip) == 0);
    FO_CHECK_INT(acts.n, 0);
    fo_fostate_free(&s);
}

/* Leadership: a failed barrier or commit stops the run; a refused step ends it. */
static void test_leadership(void)
{
    struct fo_fostate s;
    struct fo_foevent nb = {.type = FO_FE_BARRIER, .status = FO_ENOTLEADER};
    struct fo_foevent lost = {.type = FO_FE_STEP_COMMITTED, .status = FO_ERAFT};
    struct fo_foevent refused = {.type = FO_FE_STEP_COMMITTED, .result = FO_ESTORE};
    struct fo_foevent vip = {.type = FO_FE_VIP, .error = "acquired"};
    struct fo_foevent ll = {.type = FO_FE_LEADER_LOST};

    start(&s, FO_FK_AUTO, 0, NULL);
    FO_CHECK(step(&s, &nb) == 0);
    only(FO_FA_STOP);
    FO_CHECK_INT(s.phase, FO_FP_STOPPED);
    fo_fostate_free(&s);

    start(&s, FO_FK_AUTO, 5, "db2");
    barrier(&s);
    FO_CHECK(step(&s, &vip) == 0);
    FO_CHECK(step(&s, &lost) == 0);
    only(FO_FA_STOP);
    FO_CHECK_INT(s.last_step, 5); /* not advanced: the next leader redoes vip */
    fo_fostate_free(&s);

    start(&s, FO_FK_AUTO, 5, "db2");
    barrier(&s);
    FO_CHECK(step(&s, &vip) == 0);
    FO_CHECK(step(&s, &refused) == 0);
    FO_CHECK_STR(only(FO_FA_COMMIT_END)->detail, "step 6 refused by the store: store error");
    fo_fostate_free(&s);

    start(&s, FO_FK_AUTO, 0, NULL);
    FO_CHECK(step(&s, &ll) == 0);
    FO_CHECK(fo_fostate_over(&s));
    fo_fostate_free(&s);
}

static void test_pre_hook(void)
{
    struct fo_fostate s;
    struct fo_fostate_cfg c;
    struct fo_foevent st = {.type = FO_FE_START}, refused = {.type = FO_FE_HOOK, .error = "exit 1"};
    struct fo_foevent end = {.type = FO_FE_END_COMMITTED};
    char err[FO_ERRLEN];

    cfg_of(&c, FO_FK_AUTO, 0, NULL);
    c.has_pre_hook = true;
    FO_CHECK(fo_fostate_init(&s, &c, err) == 0);
    FO_CHECK(step(&s, &st) == 0);
    barrier(&s);
    FO_CHECK_INT(only(FO_FA_PRE_HOOK)->timeout_ms, 1000);
    FO_CHECK(step(&s, &refused) == 0);
    FO_CHECK_STR(only(FO_FA_COMMIT_END)->detail, "pre_failover hook refused: exit 1");
    FO_CHECK_INT(acts.a[0].result, FO_FR_ABORTED);
    FO_CHECK(step(&s, &end) == 0);
    FO_CHECK(acts.a[1].type == FO_FA_FINISHED && !acts.a[1].success && acts.a[1].backoff);
    fo_fostate_free(&s);
}

/* ------------------------------------------------------------------ salvage (issue 13) */

struct salvage_case {
    const char *label;
    enum fo_fokind kind;
    bool salvage;          /* cfg.salvage */
    const char *slave_pos; /* the chosen replica's gtid_slave_pos ("" = as binlog) */
    bool vars_fail;        /* reading the positions failed */
    const char *want_pos;  /* the position asked from; NULL: no SALVAGE action */
    bool fence_unreached;  /* this run's fence did not reach the old primary's agent */
    int status;            /* FO_FE_SALVAGE */
    const char *text;      /* its detail */
    const char *old_known; /* the old primary's last probed position */
    const char *detail;    /* the promote step's detail */
    bool lost_known;
    uint64_t lost;
};

static const struct salvage_case salvage_cases[] = {
    {"off: promote as before", FO_FK_AUTO, false, "", false, NULL, false, 0, NULL, NULL,
     "db2:3306: replication reset, read_only=0", false, 0},
    {"switchover never salvages", FO_FK_SWITCHOVER, true, "", false, NULL, false, 0, NULL, NULL,
     "db2:3306: replication reset, read_only=0", false, 0},
    {"applied", FO_FK_AUTO, true, "", false, "0-1-40", false, 0, "applied 5 transactions (0-1-41 .. 0-1-45)", "0-1-45",
     "db2:3306: replication reset, read_only=0; salvage after 0-1-40: applied 5 transactions (0-1-41 .. 0-1-45)", false,
     0},
    /* A resumed promote: the salvaged GTIDs (old server id) are only in gtid_binlog_pos;
     * gtid_slave_pos has the other domain. The later of both, per domain. */
    {"position merges binlog and slave", FO_FK_MANUAL, true, "0-1-30,1-5-9", false, "0-1-40,1-5-9", false, 0,
     "nothing to salvage", "",
     "db2:3306: replication reset, read_only=0; salvage after 0-1-40,1-5-9: nothing to salvage", false, 0},
    {"host down: impossible, lost counted", FO_FK_AUTO, true, "", false, "0-1-40", true, FO_EUNREACHABLE,
     "the old primary's agent did not answer the fence (host down or agent unreachable)", "0-1-52",
     "db2:3306: replication reset, read_only=0; salvage impossible: the old primary's agent did not answer the fence "
     "(host down or agent unreachable); possibly lost: 12 transactions (the old primary's last probed position 0-1-52)",
     true, 12},
    {"cap: given up, lost unknown", FO_FK_AUTO, true, "", false, "0-1-40", false, FO_ETOOBIG, "salvage_max_bytes", "",
     "db2:3306: replication reset, read_only=0; salvage given up: salvage_max_bytes; possibly lost: unknown (no probed "
     "position of the old primary)",
     false, 0},
    {"positions unreadable: promote anyway", FO_FK_AUTO, true, "", true, NULL, false, 0, NULL, NULL,
     "db2:3306: replication reset, read_only=0; salvage skipped: the new primary's position could not be read (no "
     "result)",
     false, 0},
};

static void test_salvage(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(salvage_cases); i++) {
        const struct salvage_case *sc = &salvage_cases[i];
        struct fo_fostate_cfg c;
        struct fo_fostate s;
        struct fo_sample smp;
        struct fo_foevent ev = {.type = FO_FE_START};
        struct fo_foevent reset = {.type = FO_FE_SQL, .group = FO_FG_PROMOTE_RESET};
        char err[FO_ERRLEN];

        printf("  %s\n", sc->label);
        cfg_of(&c, sc->kind, 3, "db2");
        c.salvage = sc->salvage;
        FO_CHECK(fo_fostate_init(&s, &c, err) == 0);
        /* What this run's fence learnt of the old primary's agent. */
        s.revoke_known = sc->fence_unreached;
        s.revoke_reached = false;
        FO_CHECK(step(&s, &ev) == 0);
        barrier(&s);
        sample_of(&smp, 2, 40, 40, true);
        FO_CHECK(sql_ok(&s, 0, FO_FG_STOP_IO_STATUS, &smp, 0) == 0);
        FO_CHECK(sql_ok(&s, 0, FO_FG_GTID_WAIT, NULL, FO_FW_REACHED) == 0);
        if (sc->salvage && sc->kind != FO_FK_SWITCHOVER) {
            struct fo_foevent vars = {.type = FO_FE_SQL, .group = FO_FG_VARS};
            FO_CHECK_INT(only(FO_FA_SQL)->group, FO_FG_VARS);
            if (sc->vars_fail) {
                vars.status = FO_EMYSQL;
                vars.error = "no result";
            } else {
                if (sc->slave_pos[0]) snprintf(smp.gtid_slave_pos, sizeof(smp.gtid_slave_pos), "%s", sc->slave_pos);
                vars.sample = &smp;
            }
            FO_CHECK(step(&s, &vars) == 0);
        }
        if (sc->want_pos != NULL) {
            struct fo_foevent sv = {.type = FO_FE_SALVAGE, .status = sc->status, .error = sc->text};
            const struct fo_foaction *a = only(FO_FA_SALVAGE);
            FO_CHECK_STR(a->host, "db1");
            FO_CHECK_STR(a->pos, sc->want_pos);
            FO_CHECK_INT(a->timeout_ms, 3000);
            FO_CHECK(sc->fence_unreached ? a->skip != NULL : a->skip == NULL);
            FO_CHECK_STR(fo_fophase_name(s.phase), "salvage");
            /* Nothing else is accepted meanwhile. */
            FO_CHECK(step(&s, &reset) == FO_EINVAL);
            sv.transactions = sc->status == 0 ? 5 : 0;
            sv.old_known_pos = sc->old_known;
            FO_CHECK(step(&s, &sv) == 0);
            FO_CHECK(s.lost_known == sc->lost_known);
            if (sc->lost_known) FO_CHECK_INT(s.lost_txns, sc->lost);
            FO_CHECK(s.salvaged == (sc->status == 0));
        }
        FO_CHECK_INT(only(FO_FA_SQL)->group, FO_FG_PROMOTE_RESET);
        FO_CHECK(step(&s, &reset) == 0);
        FO_CHECK_STR(only(FO_FA_COMMIT_STEP)->detail, sc->detail);
        fo_fostate_free(&s);
    }
}

FO_TEST_MAIN(FO_T(test_catch_up), FO_T(test_catch_up_slices), FO_T(test_catch_up_deposed), FO_T(test_catch_up_resumed),
             FO_T(test_catch_up_not_in_switchover), FO_T(test_table), FO_T(test_bad_init), FO_T(test_resume),
             FO_T(test_resume_after_vip), FO_T(test_fence), FO_T(test_fence_lease_wait),
             FO_T(test_switchover_abort_unfences), FO_T(test_switchover_refence), FO_T(test_choose),
             FO_T(test_restart_only_where_sql_runs), FO_T(test_choose_parse_error), FO_T(test_promote),
             FO_T(test_repoint), FO_T(test_vip_and_end), FO_T(test_leadership), FO_T(test_pre_hook), FO_T(test_salvage))
