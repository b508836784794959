/* Unit tests for controller/decide/chain.c: a table of topologies, each with which
 * members are intermediate primaries, whether a dead one is confirmed, where its
 * replicas go, and every member's depth (issue 13.3). */
#include <stdio.h>
#include <string.h>

#include "controller/decide/chain.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MAXM 6
#define OUT (-2) /* source outside the cluster */
#define NONE (-1)

/* One member: its source (index in the case, NONE, OUT), reachable (a current sample),
 * the leader's health, IO/SQL thread states, SILENT, maintenance, and how many of the
 * two followers see it DOWN. */
struct m {
    int src;
    bool up; /* reachable: has a current sample */
    enum fo_health health;
    enum fo_thread_state io, sql;
    bool silent;
    bool maint;
    unsigned down_votes;
};

#define PRIM                                                                            \
    {                                                                                   \
        NONE, true, FO_HEALTH_UP, FO_THREAD_UNKNOWN, FO_THREAD_UNKNOWN, false, false, 0 \
    }
#define REP(s)                                                               \
    {                                                                        \
        s, true, FO_HEALTH_UP, FO_THREAD_YES, FO_THREAD_YES, false, false, 0 \
    }
#define CONNECTING(s)                                                               \
    {                                                                               \
        s, true, FO_HEALTH_UP, FO_THREAD_CONNECTING, FO_THREAD_YES, false, false, 0 \
    }
#define SILENT(s)                                                           \
    {                                                                       \
        s, true, FO_HEALTH_UP, FO_THREAD_YES, FO_THREAD_YES, true, false, 0 \
    }
/* Down for the leader; votes: followers that also see it DOWN; s: stored source. */
#define DEAD(s, votes)                                                                      \
    {                                                                                       \
        s, false, FO_HEALTH_DOWN, FO_THREAD_UNKNOWN, FO_THREAD_UNKNOWN, false, false, votes \
    }
#define DEAD_MAINT(s)                                                                  \
    {                                                                                  \
        s, false, FO_HEALTH_DOWN, FO_THREAD_UNKNOWN, FO_THREAD_UNKNOWN, false, true, 2 \
    }

struct chain_case {
    const char *label;
    unsigned n;
    struct m m[MAXM];
    bool tilt;
    unsigned depth[MAXM]; /* FO_CHAIN_NO_DEPTH = X */
    /* The intermediate checked (index), its expected state and target (-1 none); -1
     * for a case with no intermediate at all. */
    int inter;
    enum fo_chain_state state;
    int target;
    unsigned n_inter;
};

#define X FO_CHAIN_NO_DEPTH

static const struct chain_case chain_cases[] = {
    /* db1 -> db2 -> db3, db1 -> db4 (the integration test's topology). */
    {"healthy chain: alive", 4, {PRIM, REP(0), REP(1), REP(0)}, false, {0, 1, 2, 1}, 1, FO_CHAIN_ALIVE, -1, 1},
    {"intermediate killed, all controllers and its replica agree: repointed to its source",
     4,
     {PRIM, DEAD(0, 2), CONNECTING(1), REP(0)},
     false,
     {0, 1, 2, 1},
     1,
     FO_CHAIN_DEAD,
     0,
     1},
    {"one follower confirms: a majority (2/3) is enough",
     4,
     {PRIM, DEAD(0, 1), CONNECTING(1), REP(0)},
     false,
     {0, 1, 2, 1},
     1,
     FO_CHAIN_DEAD,
     0,
     1},
    {"only the leader sees it down: not confirmed, nothing moves",
     4,
     {PRIM, DEAD(0, 0), CONNECTING(1), REP(0)},
     false,
     {0, 1, 2, 1},
     1,
     FO_CHAIN_NOT_CONFIRMED,
     -1,
     1},
    {"controllers cut from it while its replica still hears it: not confirmed",
     4,
     {PRIM, DEAD(0, 2), REP(1), REP(0)},
     false,
     {0, 1, 2, 1},
     1,
     FO_CHAIN_NOT_CONFIRMED,
     -1,
     1},
    {"hung intermediate: its replica's IO thread says Yes but hears nothing: confirmed",
     4,
     {PRIM, DEAD(0, 2), SILENT(1), REP(0)},
     false,
     {0, 1, 2, 1},
     1,
     FO_CHAIN_DEAD,
     0,
     1},
    {"its only replica is unreachable too: nobody to repoint",
     3,
     {PRIM, DEAD(0, 2), DEAD(1, 2)},
     false,
     {0, 1, 2},
     1,
     FO_CHAIN_NOT_CONFIRMED,
     -1,
     1},
    {"in maintenance: never judged",
     3,
     {PRIM, DEAD_MAINT(0), CONNECTING(1)},
     false,
     {0, 1, 2},
     1,
     FO_CHAIN_MAINTENANCE,
     -1,
     1},
    {"TILT: no decision", 3, {PRIM, DEAD(0, 2), CONNECTING(1)}, true, {0, 1, 2}, 1, FO_CHAIN_NOT_CONFIRMED, -1, 1},
    /* db1 -> db2 -> db3 -> db4: the deepest intermediate dies, its source is healthy. */
    {"depth 3: replicas go to its own source, a healthy replica",
     4,
     {PRIM, REP(0), DEAD(1, 2), CONNECTING(2)},
     false,
     {0, 1, 2, 3},
     2,
     FO_CHAIN_DEAD,
     1,
     2},
    {"its source is down too: replicas go to the nearest healthy ancestor (the primary)",
     4,
     {PRIM, DEAD(0, 2), DEAD(1, 2), CONNECTING(2)},
     false,
     {0, 1, 2, 3},
     2,
     FO_CHAIN_DEAD,
     0,
     2},
    {"its source stopped replicating: skipped for the primary",
     4,
     {PRIM, CONNECTING(0), DEAD(1, 2), CONNECTING(2)},
     false,
     {0, 1, 2, 3},
     2,
     FO_CHAIN_DEAD,
     0,
     2},
    {"the primary is down as well: no healthy ancestor, nothing moves",
     3,
     {DEAD(NONE, 2), DEAD(0, 2), CONNECTING(1)},
     false,
     {0, 1, 2},
     1,
     FO_CHAIN_DEAD_NO_TARGET,
     -1,
     1},
    {"a star: no intermediate", 3, {PRIM, REP(0), REP(0)}, false, {0, 1, 1}, -1, FO_CHAIN_ALIVE, -1, 0},
    {"a loop of sources and one outside: no depth",
     4,
     {PRIM, REP(2), REP(1), REP(OUT)},
     false,
     {0, X, X, X},
     1,
     FO_CHAIN_ALIVE,
     -1,
     2},
};

static const char *const hosts[MAXM] = {"db1", "db2", "db3", "db4", "db5", "db6"};

static void build(const struct chain_case *c, struct fo_sample *s, struct fo_detect_vote votes[MAXM][2],
                  struct fo_chain_member *m)
{
    unsigned i, v;

    for (i = 0; i < c->n; i++) {
        const struct m *x = &c->m[i];
        memset(&m[i], 0, sizeof(m[i]));
        memset(&s[i], 0, sizeof(s[i]));
        m[i].host = hosts[i];
        m[i].port = 3306;
        m[i].maintenance = x->maint;
        m[i].health = x->health;
        if (x->up) {
            s[i].is_replica = x->src != NONE;
            s[i].n_sources = x->src != NONE ? 1 : 0;
            snprintf(s[i].master_host, sizeof(s[i].master_host), "%s", x->src >= 0 ? hosts[x->src] : "10.9.9.9");
            s[i].master_port = 3306;
            s[i].io_running = x->io;
            s[i].sql_running = x->sql;
            m[i].s = &s[i];
            m[i].sample_age_ms = 100;
        } else if (x->src != NONE) {
            m[i].stored_source_host = x->src >= 0 ? hosts[x->src] : "10.9.9.9";
            m[i].stored_source_port = 3306;
        }
        m[i].arrival = x->silent ? FO_ARRIVAL_SILENT : FO_ARRIVAL_HEARD;
        m[i].silent_ms = x->silent ? 3000 : 0;
        for (v = 0; v < 2; v++) {
            votes[i][v].node_id = v + 2;
            votes[i][v].down = v < x->down_votes;
            votes[i][v].age_ms = 100;
        }
        m[i].votes = votes[i];
        m[i].n_votes = 2;
    }
}

static struct fo_chain_out out; /* large: not on the stack */

static void test_table(void)
{
    size_t ci;

    for (ci = 0; ci < N_ELEMS(chain_cases); ci++) {
        const struct chain_case *c = &chain_cases[ci];
        struct fo_sample s[MAXM];
        struct fo_detect_vote votes[MAXM][2];
        struct fo_chain_member m[MAXM];
        struct fo_chain_in in = {"db1", 3306, m, c->n, 3, 1000, c->tilt};
        const struct fo_chain_inter *x;
        unsigned i;
        int failed = fo_test_cur_failed;

        fo_test_cur_failed = 0;
        build(c, s, votes, m);
        fo_chain_plan(&in, &out);
        FO_CHECK_INT(out.primary, 0);
        FO_CHECK_INT(out.n_inter, c->n_inter);
        for (i = 0; i < c->n; i++) FO_CHECK_INT(out.depth[i], c->depth[i]);
        if (c->inter >= 0) {
            x = fo_chain_find(&out, (unsigned)c->inter);
            FO_CHECK(x != NULL);
            if (x != NULL) {
                FO_CHECK_STR(fo_chain_state_name(x->state), fo_chain_state_name(c->state));
                FO_CHECK_INT(x->target, c->target);
                if (fo_test_cur_failed)
                    fprintf(stderr, "    verdict %s: %s; %s\n", fo_verdict_name(x->det.verdict), x->det.reason, x->why);
            }
        }
        if (fo_test_cur_failed) fprintf(stderr, "  case \"%s\" failed\n", c->label);
        fo_test_cur_failed |= failed;
    }
}

/* The texts a `why` decision quotes. */
static void test_reasons(void)
{
    struct fo_sample s[MAXM];
    struct fo_detect_vote votes[MAXM][2];
    struct fo_chain_member m[MAXM];
    struct fo_chain_in in = {"db1", 3306, m, 4, 3, 1000, false};
    const struct fo_chain_inter *x;

    build(&chain_cases[1], s, votes, m);
    fo_chain_plan(&in, &out);
    x = fo_chain_find(&out, 1);
    FO_CHECK(x != NULL && x->n_replicas == 1);
    FO_CHECK_STR(x ? x->why : NULL, "its source db1:3306, the primary");
    /* The reason names what was judged: an intermediate primary, not "the primary". */
    FO_CHECK_STR(x ? x->det.reason : NULL,
                 "intermediate primary down for 3/3 controllers; replicas: db3:3306 IO=Connecting");
    build(&chain_cases[4], s, votes, m);
    fo_chain_plan(&in, &out);
    x = fo_chain_find(&out, 1);
    FO_CHECK(x != NULL && x->det.verdict == FO_VERDICT_UNREACHABLE);
    FO_CHECK(x != NULL && strstr(x->det.reason, "from the intermediate primary (IO=Yes)") != NULL);
    build(&chain_cases[6], s, votes, m); /* its only replica unreachable too */
    in.n = chain_cases[6].n;
    fo_chain_plan(&in, &out);
    x = fo_chain_find(&out, 1);
    FO_CHECK(x != NULL && x->det.verdict == FO_VERDICT_NO_REPLICAS);
    FO_CHECK(x != NULL && strstr(x->det.reason, "so nobody can be checked or moved") != NULL);
    in.n = 4;
    build(&chain_cases[10], s, votes, m);
    fo_chain_plan(&in, &out);
    x = fo_chain_find(&out, 2);
    FO_CHECK_STR(x ? x->why : NULL, "its ancestor db1:3306, the primary");
    FO_CHECK(fo_chain_find(&out, 0) == NULL); /* the primary is never an intermediate */
    FO_CHECK(fo_chain_find(&out, 3) == NULL); /* a leaf */
    FO_CHECK_STR(fo_chain_state_name((enum fo_chain_state)99), "invalid");
}

/* A replica ancestor that does not binlog what it applies (log_slave_updates off)
 * cannot serve the dead intermediate's replicas: the next ancestor up (the primary)
 * takes them. */
static void test_ancestor_binlog(void)
{
    struct fo_sample s[MAXM];
    struct fo_detect_vote votes[MAXM][2];
    struct fo_chain_member m[MAXM];
    struct fo_chain_in in = {"db1", 3306, m, 4, 3, 1000, false};
    const struct fo_chain_inter *x;

    build(&chain_cases[9], s, votes, m); /* db1 -> db2 -> db3 (dead) -> db4 */
    snprintf(s[1].gtid_current_pos, sizeof(s[1].gtid_current_pos), "0-1-100");
    snprintf(s[1].gtid_binlog_pos, sizeof(s[1].gtid_binlog_pos), "0-1-100");
    fo_chain_plan(&in, &out);
    x = fo_chain_find(&out, 2);
    FO_CHECK(x != NULL && x->state == FO_CHAIN_DEAD && x->target == 1);
    s[1].gtid_binlog_pos[0] = '\0'; /* log_slave_updates = OFF */
    fo_chain_plan(&in, &out);
    x = fo_chain_find(&out, 2);
    FO_CHECK(x != NULL && x->state == FO_CHAIN_DEAD && x->target == 0);
    FO_CHECK_STR(x ? x->why : NULL, "its ancestor db1:3306, the primary");
    snprintf(s[1].gtid_binlog_pos, sizeof(s[1].gtid_binlog_pos), "not a gtid");
    fo_chain_plan(&in, &out);
    x = fo_chain_find(&out, 2);
    FO_CHECK(x != NULL && x->target == 0);
}

/* A member spelled differently by its replica is still the same member; an empty
 * cluster and one without the primary registered are handled. */
static void test_edges(void)
{
    struct fo_sample s[MAXM];
    struct fo_detect_vote votes[MAXM][2];
    struct fo_chain_member m[MAXM];
    struct fo_chain_in in = {"db1", 3306, m, 0, 3, 1000, false};

    fo_chain_plan(&in, &out);
    FO_CHECK_INT(out.n_inter, 0);
    FO_CHECK_INT(out.primary, -1);
    build(&chain_cases[1], s, votes, m);
    snprintf(s[2].master_host, sizeof(s[2].master_host), "DB2.");
    in.n = 4;
    fo_chain_plan(&in, &out);
    FO_CHECK_INT(out.n_inter, 1);
    FO_CHECK_INT(out.depth[2], 2);
    in.primary_host = "db9";
    fo_chain_plan(&in, &out);
    FO_CHECK_INT(out.primary, -1);
    FO_CHECK_INT(out.depth[1], X);
    FO_CHECK(out.n_inter == 2); /* db1 (source of db2, db4) and db2 */
}

FO_TEST_MAIN(FO_T(test_table), FO_T(test_reasons), FO_T(test_ancestor_binlog), FO_T(test_edges))
