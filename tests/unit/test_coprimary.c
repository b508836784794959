/* Unit tests for controller/decide/copair.c: the co-primary pair's rules (issue 14.1):
 * who may take the writer role, when a switchover is refused, when the ring is
 * restored. Tables of cases over samples built here. */
#include <stdio.h>
#include <string.h>

#include "controller/decide/copair.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define PAIR "10.0.0.1:3306,10.0.0.2:3306"

/* A replica of host:port with IO/SQL as "YY", "NY", "CY"...; read_only as given. */
static void replica(struct fo_sample *s, const char *host, const char *threads, bool read_only, int64_t lag)
{
    memset(s, 0, sizeof(*s));
    s->read_only = read_only;
    s->lag_s = lag;
    s->gtid_binlog_state_known = true; /* "": an empty binary log */
    if (host == NULL) return;
    s->is_replica = true;
    s->n_sources = 1;
    snprintf(s->master_host, sizeof(s->master_host), "%s", host);
    s->master_port = 3306;
    s->io_running = threads[0] == 'Y' ? FO_THREAD_YES : threads[0] == 'C' ? FO_THREAD_CONNECTING : FO_THREAD_NO;
    s->sql_running = threads[1] == 'Y' ? FO_THREAD_YES : FO_THREAD_NO;
    snprintf(s->io_running_text, sizeof(s->io_running_text), "%s",
             threads[0] == 'Y'   ? "Yes"
             : threads[0] == 'C' ? "Connecting"
                                 : "No");
    snprintf(s->sql_running_text, sizeof(s->sql_running_text), "%s", threads[1] == 'Y' ? "Yes" : "No");
}

static void test_parse(void)
{
    struct fo_copair p;
    char err[FO_ERRLEN];

    FO_CHECK_INT(fo_copair_parse("", &p, err), 0);
    FO_CHECK(!p.on);
    FO_CHECK_INT(fo_copair_index(&p, "10.0.0.1", 3306), -1);
    FO_CHECK_INT(fo_copair_parse(PAIR, &p, err), 0);
    FO_CHECK(p.on);
    FO_CHECK_INT(fo_copair_index(&p, "10.0.0.2", 3306), 1);
    FO_CHECK_INT(fo_copair_index(&p, "10.0.0.2", 3307), -1);
    FO_CHECK_STR(fo_copair_partner(&p, "10.0.0.1", 3306)->host, "10.0.0.2");
    FO_CHECK(fo_copair_partner(&p, "10.0.0.3", 3306) == NULL);
    FO_CHECK(fo_copair_member(PAIR, "10.0.0.1", 3306));
    FO_CHECK(!fo_copair_member(PAIR, "10.0.0.3", 3306));
    FO_CHECK(!fo_copair_member("", "10.0.0.1", 3306));
    FO_CHECK_INT(fo_copair_parse("10.0.0.1:3306", &p, err), FO_EINVAL);
    FO_CHECK(strstr(err, "exactly two") != NULL);
    FO_CHECK(!fo_copair_member("10.0.0.1:3306,10.0.0.1:3306", "10.0.0.1", 3306));
}

struct gate_case {
    const char *label;
    const char *pair;
    enum fo_copair_kind kind;
    const char *primary;
    const char *target;
    const char *passive_src; /* NULL: not a replica; "-": unreachable */
    const char *threads;
    int64_t lag;
    unsigned max_lag_s;
    int rc;
    const char *want; /* target host (rc 0) or the start of why */
};

static const struct gate_case gates[] = {
    {"no pair: the target as asked", "", FO_COPAIR_FAILOVER, "10.0.0.1", "10.0.0.9", "-", "YY", 0, 0, 0, "10.0.0.9"},
    {"no pair, no target", "", FO_COPAIR_SWITCHOVER, "10.0.0.1", NULL, "-", "YY", 0, 0, 0, ""},
    {"failover: the passive is the target", PAIR, FO_COPAIR_FAILOVER, "10.0.0.1", NULL, "-", "YY", 0, 0, 0, "10.0.0.2"},
    {"failover --to the passive", PAIR, FO_COPAIR_FAILOVER, "10.0.0.1", "10.0.0.2", "-", "YY", 0, 0, 0, "10.0.0.2"},
    {"failover --to a replica: refused", PAIR, FO_COPAIR_FAILOVER, "10.0.0.1", "10.0.0.3", "-", "YY", 0, 0, FO_EPERM,
     "only the co-primary pair may take the writer role: 10.0.0.3:3306 is not the passive co-primary "
     "(10.0.0.1:3306, 10.0.0.2:3306)"},
    {"primary outside the pair: refused", PAIR, FO_COPAIR_FAILOVER, "10.0.0.3", NULL, "-", "YY", 0, 0, FO_EPERM,
     "the designated primary 10.0.0.3:3306 is not one of the co-primaries"},
    {"switchover to a healthy passive", PAIR, FO_COPAIR_SWITCHOVER, "10.0.0.2", NULL, "10.0.0.2", "YY", 1, 30, 0,
     "10.0.0.1"},
    {"switchover: passive unreachable", PAIR, FO_COPAIR_SWITCHOVER, "10.0.0.1", NULL, "-", "YY", 0, 0, FO_EPERM,
     "switchover refused: the passive co-primary 10.0.0.2:3306 is not reachable"},
    {"switchover: edge active -> passive stopped", PAIR, FO_COPAIR_SWITCHOVER, "10.0.0.1", NULL, "10.0.0.1", "NY", 0, 0,
     FO_EPERM,
     "switchover refused: co-primary ring broken: 10.0.0.1:3306 -> 10.0.0.2:3306 (replication stopped (IO=No, "
     "SQL=Yes)); the passive would miss the active's writes"},
    {"switchover: passive replicates from elsewhere", PAIR, FO_COPAIR_SWITCHOVER, "10.0.0.1", NULL, "10.0.0.3", "YY", 0,
     0, FO_EPERM,
     "switchover refused: co-primary ring broken: 10.0.0.1:3306 -> 10.0.0.2:3306 (it replicates from "
     "10.0.0.3:3306)"},
    {"switchover: passive replicates from nobody", PAIR, FO_COPAIR_SWITCHOVER, "10.0.0.1", NULL, NULL, "YY", 0, 0,
     FO_EPERM,
     "switchover refused: co-primary ring broken: 10.0.0.1:3306 -> 10.0.0.2:3306 (it replicates from nobody)"},
    {"switchover: passive lags", PAIR, FO_COPAIR_SWITCHOVER, "10.0.0.1", NULL, "10.0.0.1", "YY", 61, 60, FO_EPERM,
     "switchover refused: the passive co-primary 10.0.0.2:3306 lags 61 s > max_lag_s 60"},
    {"switchover: lag at the limit is fine", PAIR, FO_COPAIR_SWITCHOVER, "10.0.0.1", NULL, "10.0.0.1", "YY", 60, 60, 0,
     "10.0.0.2"},
    {"failover: a broken or lagging passive is the engine's to judge", PAIR, FO_COPAIR_FAILOVER, "10.0.0.1", NULL,
     "10.0.0.1", "NY", 500, 60, 0, "10.0.0.2"},
};

static void test_gate(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(gates); i++) {
        const struct gate_case *g = &gates[i];
        struct fo_copair p;
        struct fo_copair_gate_in in;
        struct fo_endpoint target;
        struct fo_sample s;
        char why[FO_COPAIR_WHY_LEN], err[FO_ERRLEN];
        int rc;

        FO_CHECK_INT(fo_copair_parse(g->pair, &p, err), 0);
        memset(&in, 0, sizeof(in));
        in.kind = g->kind;
        in.primary_host = g->primary;
        in.primary_port = 3306;
        in.target_host = g->target;
        in.target_port = 3306;
        in.max_lag_s = g->max_lag_s;
        if (g->passive_src == NULL || strcmp(g->passive_src, "-") != 0) {
            replica(&s, g->passive_src, g->threads, true, g->lag);
            in.passive = &s;
        }
        rc = fo_copair_gate(&p, &in, &target, why);
        if (rc != g->rc) fprintf(stderr, "  %s: rc %d why \"%s\"\n", g->label, rc, why);
        FO_CHECK_INT(rc, g->rc);
        if (g->rc == 0) {
            FO_CHECK_STR(target.host, g->want);
            FO_CHECK_STR(why, "");
        } else if (strncmp(why, g->want, strlen(g->want)) != 0) {
            fprintf(stderr, "  %s: why \"%s\"\n", g->label, why);
            FO_CHECK_STR(why, g->want);
        }
    }
}

struct ring_case {
    const char *label;
    const char *active_src; /* the active's source, NULL none */
    const char *active_threads;
    const char *passive_src; /* "-": unreachable */
    const char *passive_threads;
    bool passive_writable;
    enum fo_copair_ring want;
    const char *why; /* start of */
};

static const struct ring_case rings[] = {
    {"closed", "10.0.0.2", "YY", "10.0.0.1", "YY", false, FO_COPAIR_RING_OK, ""},
    {"open, passive ready: restore", NULL, "", "10.0.0.1", "YY", false, FO_COPAIR_RING_RESTORE,
     "co-primary ring restored: the active 10.0.0.1:3306 replicates from the passive 10.0.0.2:3306"},
    {"open, passive down: wait", NULL, "", "-", "", false, FO_COPAIR_RING_WAIT,
     "co-primary ring open: the passive 10.0.0.2:3306 is not reachable"},
    {"open, passive writable (not fenced yet): wait", NULL, "", "10.0.0.1", "YY", true, FO_COPAIR_RING_WAIT,
     "co-primary ring open: the passive 10.0.0.2:3306 is not a healthy read-only replica of the active yet (it is "
     "writable)"},
    {"open, passive still connecting: wait", NULL, "", "10.0.0.1", "CY", false, FO_COPAIR_RING_WAIT,
     "co-primary ring open: the passive 10.0.0.2:3306 is not a healthy read-only replica of the active yet "
     "(replication stopped (IO=Connecting, SQL=Yes))"},
    {"open, passive not a replica: wait", NULL, "", NULL, "", false, FO_COPAIR_RING_WAIT,
     "co-primary ring open: the passive 10.0.0.2:3306 is not a healthy read-only replica of the active yet (it "
     "replicates from nobody)"},
    {"edge passive -> active stopped", "10.0.0.2", "NY", "10.0.0.1", "YY", false, FO_COPAIR_RING_BROKEN,
     "co-primary ring broken: 10.0.0.2:3306 -> 10.0.0.1:3306 (replication stopped (IO=No, SQL=Yes))"},
    {"active replicates from a third server", "10.0.0.3", "YY", "10.0.0.1", "YY", false, FO_COPAIR_RING_FOREIGN,
     "co-primary ring broken: the active 10.0.0.1:3306 replicates from 10.0.0.3:3306"},
};

static void test_ring(void)
{
    struct fo_copair p;
    char err[FO_ERRLEN], why[FO_COPAIR_WHY_LEN];
    unsigned i;

    FO_CHECK_INT(fo_copair_parse(PAIR, &p, err), 0);
    for (i = 0; i < N_ELEMS(rings); i++) {
        const struct ring_case *r = &rings[i];
        struct fo_sample a, b;
        enum fo_copair_ring got;
        bool down = r->passive_src != NULL && strcmp(r->passive_src, "-") == 0;

        replica(&a, r->active_src, r->active_threads, false, 0);
        replica(&b, down ? NULL : r->passive_src, r->passive_threads, !r->passive_writable, 0);
        got = fo_copair_ring_judge(&p, "10.0.0.1", 3306, &a, down ? NULL : &b, why);
        if (got != r->want || strncmp(why, r->why, strlen(r->why)) != 0)
            fprintf(stderr, "  %s: %d \"%s\"\n", r->label, (int)got, why);
        FO_CHECK_INT(got, r->want);
        FO_CHECK(strncmp(why, r->why, strlen(r->why)) == 0);
    }
    /* No pair, or a primary outside it: nothing to do. */
    FO_CHECK_INT(fo_copair_ring_judge(&p, "10.0.0.3", 3306, NULL, NULL, why), FO_COPAIR_RING_OK);
    FO_CHECK_INT(fo_copair_parse("", &p, err), 0);
    FO_CHECK_INT(fo_copair_ring_judge(&p, "10.0.0.1", 3306, NULL, NULL, why), FO_COPAIR_RING_OK);
}

/* Review: the ring is not closed over errant transactions on the passive (they would
 * be applied on the writer), and the active's edge from a passive that is down is a
 * wait, not a "broken" Decision every minute. */
static void test_ring_gtid(void)
{
    struct fo_copair p;
    struct fo_sample a, b;
    char err[FO_ERRLEN], why[FO_COPAIR_WHY_LEN];

    FO_CHECK_INT(fo_copair_parse(PAIR, &p, err), 0);
    replica(&a, NULL, "", false, 0);
    a.server_id = 1;
    snprintf(a.gtid_binlog_state, sizeof(a.gtid_binlog_state), "0-2-90,0-1-100");
    replica(&b, "10.0.0.1", "YY", true, 0);
    b.server_id = 2;
    /* The passive sampled after the active wrote more: its own server id's entries are
     * not errant. */
    snprintf(b.gtid_binlog_state, sizeof(b.gtid_binlog_state), "0-2-90,0-1-105");
    FO_CHECK_INT(fo_copair_ring_judge(&p, "10.0.0.1", 3306, &a, &b, why), FO_COPAIR_RING_RESTORE);
    /* A stray write on the passive (server id 2) the active never got. */
    snprintf(b.gtid_binlog_state, sizeof(b.gtid_binlog_state), "0-1-100,0-2-91");
    FO_CHECK_INT(fo_copair_ring_judge(&p, "10.0.0.1", 3306, &a, &b, why), FO_COPAIR_RING_ERRANT);
    FO_CHECK(strstr(why, "errant GTIDs 0-2-91") != NULL);
    /* An old active's tail under a third server id. */
    snprintf(b.gtid_binlog_state, sizeof(b.gtid_binlog_state), "0-3-7, 0-1-100");
    FO_CHECK_INT(fo_copair_ring_judge(&p, "10.0.0.1", 3306, &a, &b, why), FO_COPAIR_RING_ERRANT);
    /* Unknown: wait, do not guess. */
    b.gtid_binlog_state_known = false;
    FO_CHECK_INT(fo_copair_ring_judge(&p, "10.0.0.1", 3306, &a, &b, why), FO_COPAIR_RING_WAIT);
    /* The ring closed, the passive down: the active's IO thread retries; no Decision. */
    replica(&a, "10.0.0.2", "CY", false, 0);
    FO_CHECK_INT(fo_copair_ring_judge(&p, "10.0.0.1", 3306, &a, NULL, why), FO_COPAIR_RING_WAIT);
    FO_CHECK(strstr(why, "reconnects by itself") != NULL);
}

FO_TEST_MAIN(FO_T(test_parse), FO_T(test_gate), FO_T(test_ring), FO_T(test_ring_gtid))
