/* Unit tests for controller/decide/detector.c: a table of detection scenarios, one per rule
 * and per ordering between rules (DESIGN.md §5), each with its exact reason. */
#include <stdio.h>
#include <string.h>

#include "controller/decide/detector.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_VOTES 6
#define MAX_REPL 4
#define WINDOW 1000

/* Votes: V(node, down, age_ms). Replicas: fresh with an IO state, unreachable,
 * stale (reachable but its sample is older than the window), other source. */
#define V(id, d, age) \
    {                 \
        id, d, age    \
    }
#define RF(h, io)                                                \
    {                                                            \
        h, 3306, true, 100, true, FO_THREAD_##io, NULL, false, 0 \
    }
#define RX(h)                                                      \
    {                                                              \
        h, 3306, false, 0, true, FO_THREAD_UNKNOWN, NULL, false, 0 \
    }
#define RXY(h)                                                 \
    {                                                          \
        h, 3306, false, 0, true, FO_THREAD_YES, NULL, false, 0 \
    }
#define RS(h, io)                                                 \
    {                                                             \
        h, 3306, true, 5000, true, FO_THREAD_##io, NULL, false, 0 \
    }
#define RO(h, io)                                                 \
    {                                                             \
        h, 3306, true, 100, false, FO_THREAD_##io, NULL, false, 0 \
    }
/* Fresh, with a Slave_IO_Running value we do not recognise and its raw text. */
#define RT(h, text)                                                      \
    {                                                                    \
        h, 3306, true, 100, true, FO_THREAD_UNRECOGNIZED, text, false, 0 \
    }
/* Fresh, IO state io, and the caller's arrival tracker says nothing arrived from the
 * primary for ms, over the threshold (controller/decide/arrival.h; issue 11.4). */
#define RQ(h, io, ms)                                            \
    {                                                            \
        h, 3306, true, 100, true, FO_THREAD_##io, NULL, true, ms \
    }
/* The same, but stale / unreachable / of another source. */
#define RQS(h, ms)                                               \
    {                                                            \
        h, 3306, true, 5000, true, FO_THREAD_YES, NULL, true, ms \
    }
#define RQX(h, ms)                                             \
    {                                                          \
        h, 3306, false, 0, true, FO_THREAD_YES, NULL, true, ms \
    }
#define RQO(h, ms)                                               \
    {                                                            \
        h, 3306, true, 100, false, FO_THREAD_YES, NULL, true, ms \
    }

struct det_case {
    const char *label;
    bool tilt;
    enum fo_health leader;
    unsigned n_voters;
    unsigned n_votes;
    struct fo_detect_vote votes[MAX_VOTES];
    unsigned n_replicas;
    struct fo_detect_replica replicas[MAX_REPL];
    /* Expected. */
    enum fo_verdict verdict;
    unsigned down_votes;
    unsigned needed;
    const char *reason;
};

#define DOWN FO_HEALTH_DOWN
#define TWO_DEAD_REPLICAS                    \
    2,                                       \
    {                                        \
        RF("db2", CONNECTING), RF("db3", NO) \
    }
#define DEAD_3 "primary down for 3/3 controllers; replicas: db2:3306 IO=Connecting, db3:3306 IO=No"

static const struct det_case det_cases[] = {
    /* Rule 1: tilt wins over everything, even a primary that every view says is dead. */
    {"tilt wins over dead",
     true,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_TILT,
     3,
     2,
     "tilt: no decision until the grace period after a loop stall or clock jump has passed"},
    {"tilt wins over up",
     true,
     FO_HEALTH_UP,
     3,
     0,
     {{0}},
     0,
     {{0}},
     FO_VERDICT_TILT,
     0,
     2,
     "tilt: no decision until the grace period after a loop stall or clock jump has passed"},
    /* Rule 2: the leader's own view gates the rest. */
    {"leader sees up",
     false,
     FO_HEALTH_UP,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_OK,
     2,
     2,
     "the leader sees the primary up"},
    {"leader never probed",
     false,
     FO_HEALTH_UNKNOWN,
     3,
     0,
     {{0}},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_OK,
     0,
     2,
     "the leader has not probed the primary yet"},
    {"leader suspects",
     false,
     FO_HEALTH_SUSPECT,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_SUSPECT,
     2,
     2,
     "primary suspect: the leader's probes fail but it is not down yet"},
    /* Rule 3: a majority of voters, leader included, within the window. */
    {"leader alone is a minority",
     false,
     DOWN,
     3,
     0,
     {{0}},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_NOT_CONFIRMED,
     1,
     2,
     "primary down for 1/3 controllers, 2 needed"},
    {"followers see it up",
     false,
     DOWN,
     3,
     2,
     {V(2, false, 10), V(3, false, 10)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_NOT_CONFIRMED,
     1,
     2,
     "primary down for 1/3 controllers, 2 needed"},
    {"stale vote ignored",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 1001), V(3, false, 10)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_NOT_CONFIRMED,
     1,
     2,
     "primary down for 1/3 controllers, 2 needed (1 stale vote ignored)"},
    {"two stale votes ignored",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 5000), V(3, true, 1001)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_NOT_CONFIRMED,
     1,
     2,
     "primary down for 1/3 controllers, 2 needed (2 stale votes ignored)"},
    {"vote exactly window old counts",
     false,
     DOWN,
     3,
     1,
     {V(2, true, WINDOW)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_DEAD,
     2,
     2,
     "primary down for 2/3 controllers; replicas: db2:3306 IO=Connecting, db3:3306 IO=No"},
    {"duplicate votes count once",
     false,
     DOWN,
     5,
     3,
     {V(2, true, 10), V(2, true, 20), V(2, true, 30)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_NOT_CONFIRMED,
     2,
     3,
     "primary down for 2/5 controllers, 3 needed"},
    {"a node's freshest vote wins",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 500), V(2, false, 100)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_NOT_CONFIRMED,
     1,
     2,
     "primary down for 1/3 controllers, 2 needed"},
    {"a node's freshest vote wins (down)",
     false,
     DOWN,
     3,
     2,
     {V(2, false, 500), V(2, true, 100)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_DEAD,
     2,
     2,
     "primary down for 2/3 controllers; replicas: db2:3306 IO=Connecting, db3:3306 IO=No"},
    {"5 voters, 2 down",
     false,
     DOWN,
     5,
     4,
     {V(2, true, 10), V(3, false, 10), V(4, false, 10), V(5, true, 2000)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_NOT_CONFIRMED,
     2,
     3,
     "primary down for 2/5 controllers, 3 needed (1 stale vote ignored)"},
    {"minority wins over IO=Yes",
     false,
     DOWN,
     3,
     0,
     {{0}},
     1,
     {RF("db2", YES)},
     FO_VERDICT_NOT_CONFIRMED,
     1,
     2,
     "primary down for 1/3 controllers, 2 needed"},
    /* Rule 6, dead: majorities of 1, 3 and 5 voters. */
    {"dead 2/3",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, false, 10)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_DEAD,
     2,
     2,
     "primary down for 2/3 controllers; replicas: db2:3306 IO=Connecting, db3:3306 IO=No"},
    {"dead 3/3",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 999)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_DEAD,
     3,
     2,
     DEAD_3},
    {"5 voters, 3 down",
     false,
     DOWN,
     5,
     4,
     {V(2, true, 10), V(3, false, 10), V(4, true, 10), V(5, false, 10)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_DEAD,
     3,
     3,
     "primary down for 3/5 controllers; replicas: db2:3306 IO=Connecting, db3:3306 IO=No"},
    {"4 voters need 3",
     false,
     DOWN,
     4,
     1,
     {V(2, true, 10)},
     TWO_DEAD_REPLICAS,
     FO_VERDICT_NOT_CONFIRMED,
     2,
     3,
     "primary down for 2/4 controllers, 3 needed"},
    {"single controller",
     false,
     DOWN,
     1,
     0,
     {{0}},
     1,
     {RF("db2", NO)},
     FO_VERDICT_DEAD,
     1,
     1,
     "primary down for 1/1 controllers; replicas: db2:3306 IO=No"},
    /* Rule 4: a replica that still replicates proves the primary is alive. */
    {"IO=Yes is unreachable",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     2,
     {RF("db2", CONNECTING), RF("db3", YES)},
     FO_VERDICT_UNREACHABLE,
     3,
     2,
     "db3:3306 still replicates from the primary (IO=Yes): unreachable only from the "
     "controllers (down for 3/3 controllers)"},
    {"two IO=Yes",
     false,
     DOWN,
     3,
     1,
     {V(2, true, 10)},
     3,
     {RF("db2", YES), RF("db3", NO), RF("db4", YES)},
     FO_VERDICT_UNREACHABLE,
     2,
     2,
     "db2:3306, db4:3306 still replicate from the primary (IO=Yes): unreachable only from "
     "the controllers (down for 2/3 controllers)"},
    {"IPv6 replica",
     false,
     DOWN,
     1,
     0,
     {{0}},
     1,
     {RF("::1", YES)},
     FO_VERDICT_UNREACHABLE,
     1,
     1,
     "[::1]:3306 still replicates from the primary (IO=Yes): unreachable only from the "
     "controllers (down for 1/1 controllers)"},
    /* Rule 4, unknown is a value (issue 8.7): an IO state that does not say
     * "disconnected" (Preparing, unrecognized, never parsed) may still be a live
     * connection to the primary, so that replica never confirms it dead. */
    {"IO=Preparing does not confirm",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     2,
     {RF("db2", CONNECTING), RF("db3", PREPARING)},
     FO_VERDICT_UNREACHABLE,
     3,
     2,
     "db3:3306 (IO=Preparing) may still be connected to the primary: no failover on its word "
     "(down for 3/3 controllers)"},
    {"unrecognized IO named by its text",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     2,
     {RT("db2", "Reconnecting"), RF("db3", NO)},
     FO_VERDICT_UNREACHABLE,
     3,
     2,
     "db2:3306 (IO=Reconnecting) may still be connected to the primary: no failover on its word "
     "(down for 3/3 controllers)"},
    {"unrecognized IO without text",
     false,
     DOWN,
     1,
     0,
     {{0}},
     2,
     {RF("db2", UNRECOGNIZED), RT("db3", "")},
     FO_VERDICT_UNREACHABLE,
     1,
     1,
     "db2:3306 (IO=unrecognized), db3:3306 (IO=unrecognized) may still be connected to the primary: "
     "no failover on their word (down for 1/1 controllers)"},
    {"IO never parsed",
     false,
     DOWN,
     1,
     0,
     {{0}},
     2,
     {RF("db2", NO), RF("db3", UNKNOWN)},
     FO_VERDICT_UNREACHABLE,
     1,
     1,
     "db3:3306 (IO=unknown) may still be connected to the primary: no failover on its word "
     "(down for 1/1 controllers)"},
    {"Yes and unsure together",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     4,
     {RF("db2", PREPARING), RF("db3", YES), RF("db4", NO), RT("db5", "Waiting")},
     FO_VERDICT_UNREACHABLE,
     3,
     2,
     "db3:3306 still replicates from the primary (IO=Yes): unreachable only from the controllers; "
     "db2:3306 (IO=Preparing), db5:3306 (IO=Waiting) may still be connected to the primary: no "
     "failover on their word (down for 3/3 controllers)"},
    {"minority wins over Preparing",
     false,
     DOWN,
     3,
     0,
     {{0}},
     1,
     {RF("db2", PREPARING)},
     FO_VERDICT_NOT_CONFIRMED,
     1,
     2,
     "primary down for 1/3 controllers, 2 needed"},
    {"stale Preparing ignored",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     2,
     {RS("db2", PREPARING), RF("db3", NO)},
     FO_VERDICT_DEAD,
     3,
     2,
     "primary down for 3/3 controllers; replicas: db2:3306 sample 5000 ms old, db3:3306 IO=No"},
    {"other source with Preparing ignored",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     2,
     {RO("db2", PREPARING), RF("db3", CONNECTING)},
     FO_VERDICT_DEAD,
     3,
     2,
     "primary down for 3/3 controllers; replicas: db2:3306 replicates from another source, "
     "db3:3306 IO=Connecting"},
    /* Replicas of another source, stale samples and unreachable ones prove nothing. */
    {"other source with IO=Yes ignored",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     2,
     {RO("db2", YES), RF("db3", CONNECTING)},
     FO_VERDICT_DEAD,
     3,
     2,
     "primary down for 3/3 controllers; replicas: db2:3306 replicates from another source, "
     "db3:3306 IO=Connecting"},
    {"stale IO=Yes ignored",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     2,
     {RS("db2", YES), RF("db3", NO)},
     FO_VERDICT_DEAD,
     3,
     2,
     "primary down for 3/3 controllers; replicas: db2:3306 sample 5000 ms old, db3:3306 IO=No"},
    {"unreachable IO=Yes ignored",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     2,
     {RXY("db2"), RF("db3", NO)},
     FO_VERDICT_DEAD,
     3,
     2,
     "primary down for 3/3 controllers; replicas: db2:3306 unreachable, db3:3306 IO=No"},
    /* Rule 4, issue 11.4: a replica whose IO thread says Yes but that has heard nothing
     * from the primary (no event, no heartbeat) for longer than the arrival threshold
     * is not connected to it -- a host cut off looks like that until slave_net_timeout. */
    {"silent IO=Yes confirms",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     2,
     {RQ("db2", YES, 2100), RF("db3", CONNECTING)},
     FO_VERDICT_DEAD,
     3,
     2,
     "primary down for 3/3 controllers; replicas: db2:3306 IO=Yes but no event or heartbeat for 2.1 s, "
     "db3:3306 IO=Connecting"},
    {"every replica silent",
     false,
     DOWN,
     3,
     1,
     {V(2, true, 10)},
     2,
     {RQ("db2", YES, 1501), RQ("db3", YES, 15999)},
     FO_VERDICT_DEAD,
     2,
     2,
     "primary down for 2/3 controllers; replicas: db2:3306 IO=Yes but no event or heartbeat for 1.5 s, "
     "db3:3306 IO=Yes but no event or heartbeat for 15.9 s"},
    {"a replica that still hears the primary blocks",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     2,
     {RQ("db2", YES, 2100), RF("db3", YES)},
     FO_VERDICT_UNREACHABLE,
     3,
     2,
     "db3:3306 still replicates from the primary (IO=Yes): unreachable only from the controllers "
     "(down for 3/3 controllers)"},
    /* Arrival unknown (MySQL, heartbeats off, a single sample): the caller passes
     * silent = false, and IO=Yes stands. */
    {"unknown arrival blocks",
     false,
     DOWN,
     1,
     0,
     {{0}},
     2,
     {RQ("db2", YES, 9000), RF("db3", YES)},
     FO_VERDICT_UNREACHABLE,
     1,
     1,
     "db3:3306 still replicates from the primary (IO=Yes): unreachable only from the controllers "
     "(down for 1/1 controllers)"},
    /* Silence speaks only for an IO thread that says Yes. */
    {"silent Preparing does not confirm",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     2,
     {RQ("db2", PREPARING, 5000), RF("db3", NO)},
     FO_VERDICT_UNREACHABLE,
     3,
     2,
     "db2:3306 (IO=Preparing) may still be connected to the primary: no failover on its word "
     "(down for 3/3 controllers)"},
    {"silent IO=No reads as No",
     false,
     DOWN,
     1,
     0,
     {{0}},
     1,
     {RQ("db2", NO, 5000)},
     FO_VERDICT_DEAD,
     1,
     1,
     "primary down for 1/1 controllers; replicas: db2:3306 IO=No"},
    {"minority wins over silence",
     false,
     DOWN,
     3,
     0,
     {{0}},
     1,
     {RQ("db2", YES, 5000)},
     FO_VERDICT_NOT_CONFIRMED,
     1,
     2,
     "primary down for 1/3 controllers, 2 needed"},
    {"leader up wins over silence",
     false,
     FO_HEALTH_UP,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     1,
     {RQ("db2", YES, 5000)},
     FO_VERDICT_OK,
     2,
     2,
     "the leader sees the primary up"},
    /* A silent replica must itself be reachable and fresh to speak. */
    {"stale, unreachable or other-source silent replicas",
     false,
     DOWN,
     1,
     0,
     {{0}},
     3,
     {RQS("db2", 3000), RQX("db3", 3000), RQO("db4", 3000)},
     FO_VERDICT_NO_REPLICAS,
     1,
     1,
     "primary down for 1/1 controllers but no replica of it is reachable, so no candidate "
     "can be checked; replicas: db2:3306 sample 5000 ms old, db3:3306 unreachable, "
     "db4:3306 replicates from another source"},
    /* Rule 5: nothing left to check or promote. */
    {"no replicas",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     0,
     {{0}},
     FO_VERDICT_NO_REPLICAS,
     3,
     2,
     "primary down for 3/3 controllers but no replica of it is reachable, so no candidate "
     "can be checked (no replicas known)"},
    {"no reachable replica",
     false,
     DOWN,
     3,
     2,
     {V(2, true, 10), V(3, true, 10)},
     3,
     {RX("db2"), RS("db3", YES), RO("db4", NO)},
     FO_VERDICT_NO_REPLICAS,
     3,
     2,
     "primary down for 3/3 controllers but no replica of it is reachable, so no candidate "
     "can be checked; replicas: db2:3306 unreachable, db3:3306 sample 5000 ms old, "
     "db4:3306 replicates from another source"},
    {"only other-source replicas",
     false,
     DOWN,
     1,
     0,
     {{0}},
     1,
     {RO("db2", YES)},
     FO_VERDICT_NO_REPLICAS,
     1,
     1,
     "primary down for 1/1 controllers but no replica of it is reachable, so no candidate "
     "can be checked; replicas: db2:3306 replicates from another source"},
};

static void test_table(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(det_cases); i++) {
        const struct det_case *c = &det_cases[i];
        struct fo_detect_in in = {
            .leader_view = c->leader,
            .n_voters = c->n_voters,
            .votes = c->votes,
            .n_votes = c->n_votes,
            .window_ms = WINDOW,
            .replicas = c->replicas,
            .n_replicas = c->n_replicas,
            .tilt = c->tilt,
        };
        struct fo_detect_out out;

        memset(&out, 0xAA, sizeof(out)); /* every field must be written */
        fo_detect(&in, &out);
        if (out.verdict != c->verdict || strcmp(out.reason, c->reason) != 0)
            fprintf(stderr, "  case \"%s\": got %s \"%s\"\n", c->label, fo_verdict_name(out.verdict), out.reason);
        FO_CHECK_STR(fo_verdict_name(out.verdict), fo_verdict_name(c->verdict));
        FO_CHECK_INT(out.down_votes, c->down_votes);
        FO_CHECK_INT(out.needed, c->needed);
        FO_CHECK_STR(out.reason, c->reason);
    }
}

/* A long replica list is cut with "..." and stays within the buffer. */
static void test_reason_truncated(void)
{
    static char hosts[MAX_REPL][200];
    struct fo_detect_replica r[MAX_REPL];
    struct fo_detect_in in = {
        .leader_view = DOWN, .n_voters = 1, .window_ms = WINDOW, .replicas = r, .n_replicas = MAX_REPL};
    struct fo_detect_out out;
    unsigned i;
    size_t len;

    for (i = 0; i < MAX_REPL; i++) {
        memset(hosts[i], 'a' + (int)i, sizeof(hosts[i]) - 1);
        hosts[i][sizeof(hosts[i]) - 1] = '\0';
        r[i] = (struct fo_detect_replica)RF(hosts[i], NO);
    }
    fo_detect(&in, &out);
    FO_CHECK_INT(out.verdict, FO_VERDICT_DEAD);
    len = strlen(out.reason);
    FO_CHECK_INT(len, sizeof(out.reason) - 1);
    FO_CHECK(strcmp(out.reason + len - 3, "...") == 0);
    FO_CHECK(strncmp(out.reason, "primary down for 1/1 controllers; replicas: aaa", 47) == 0);

    /* The same with IO=Yes everywhere: the unreachable verdict's list is cut too. */
    for (i = 0; i < MAX_REPL; i++) r[i].io = FO_THREAD_YES;
    fo_detect(&in, &out);
    FO_CHECK_INT(out.verdict, FO_VERDICT_UNREACHABLE);
    len = strlen(out.reason);
    FO_CHECK_INT(len, sizeof(out.reason) - 1);
    FO_CHECK(strcmp(out.reason + len - 3, "...") == 0);
}

/* A NULL host or an IO state never parsed still gives readable text (and the unknown
 * state does not confirm a dead primary). */
static void test_unknown_fields(void)
{
    struct fo_detect_replica r[] = {{NULL, 3307, true, 0, true, FO_THREAD_UNKNOWN, NULL, false, 0}};
    struct fo_detect_in in = {.leader_view = DOWN, .n_voters = 1, .window_ms = WINDOW, .replicas = r, .n_replicas = 1};
    struct fo_detect_out out;

    fo_detect(&in, &out);
    FO_CHECK_INT(out.verdict, FO_VERDICT_UNREACHABLE);
    FO_CHECK_STR(out.reason, ":3307 (IO=unknown) may still be connected to the primary: no failover on its word "
                             "(down for 1/1 controllers)");
    /* An out-of-range state is no better known. */
    r[0].io = (enum fo_thread_state)99;
    fo_detect(&in, &out);
    FO_CHECK_INT(out.verdict, FO_VERDICT_UNREACHABLE);
    /* Only No and Connecting confirm. */
    r[0].io = FO_THREAD_NO;
    fo_detect(&in, &out);
    FO_CHECK_INT(out.verdict, FO_VERDICT_DEAD);
    FO_CHECK_STR(out.reason, "primary down for 1/1 controllers; replicas: :3307 IO=No");
}

/* Every thread state, and what it means for the detector: the full enum, so a state
 * added later without a decision here fails. */
static void test_every_io_state(void)
{
    static const struct {
        enum fo_thread_state io;
        enum fo_verdict verdict;
    } cases[] = {
        {FO_THREAD_UNKNOWN, FO_VERDICT_UNREACHABLE},   {FO_THREAD_NO, FO_VERDICT_DEAD},
        {FO_THREAD_YES, FO_VERDICT_UNREACHABLE},       {FO_THREAD_CONNECTING, FO_VERDICT_DEAD},
        {FO_THREAD_PREPARING, FO_VERDICT_UNREACHABLE}, {FO_THREAD_UNRECOGNIZED, FO_VERDICT_UNREACHABLE},
    };
    struct fo_detect_replica r[] = {RF("db2", NO)};
    struct fo_detect_in in = {.leader_view = DOWN, .n_voters = 1, .window_ms = WINDOW, .replicas = r, .n_replicas = 1};
    struct fo_detect_out out;
    unsigned i;

    FO_CHECK_INT(N_ELEMS(cases), FO_THREAD_UNRECOGNIZED + 1);
    for (i = 0; i < N_ELEMS(cases); i++) {
        r[0].io = cases[i].io;
        fo_detect(&in, &out);
        if (out.verdict != cases[i].verdict) fprintf(stderr, "  state %u: %s\n", (unsigned)cases[i].io, out.reason);
        FO_CHECK_INT(out.verdict, cases[i].verdict);
        FO_CHECK_INT(fo_thread_state_maybe_running(cases[i].io), cases[i].verdict == FO_VERDICT_UNREACHABLE);
    }
}

/* With `silent` set, every thread state: only an IO thread that says Yes changes its
 * meaning (from "still connected" to "not hearing the primary"). */
static void test_silence_every_io_state(void)
{
    static const struct {
        enum fo_thread_state io;
        enum fo_verdict verdict;
    } cases[] = {
        {FO_THREAD_UNKNOWN, FO_VERDICT_UNREACHABLE},
        {FO_THREAD_NO, FO_VERDICT_DEAD},
        {FO_THREAD_YES, FO_VERDICT_DEAD},
        {FO_THREAD_CONNECTING, FO_VERDICT_DEAD},
        {FO_THREAD_PREPARING, FO_VERDICT_UNREACHABLE},
        {FO_THREAD_UNRECOGNIZED, FO_VERDICT_UNREACHABLE},
    };
    struct fo_detect_replica r[] = {RQ("db2", NO, 2000)};
    struct fo_detect_in in = {.leader_view = DOWN, .n_voters = 1, .window_ms = WINDOW, .replicas = r, .n_replicas = 1};
    struct fo_detect_out out;
    unsigned i;

    FO_CHECK_INT(N_ELEMS(cases), FO_THREAD_UNRECOGNIZED + 1);
    for (i = 0; i < N_ELEMS(cases); i++) {
        r[0].io = cases[i].io;
        fo_detect(&in, &out);
        if (out.verdict != cases[i].verdict) fprintf(stderr, "  state %u: %s\n", (unsigned)cases[i].io, out.reason);
        FO_CHECK_INT(out.verdict, cases[i].verdict);
    }
    /* The same replica, no longer silent: IO=Yes blocks again. */
    r[0].io = FO_THREAD_YES;
    r[0].silent = false;
    fo_detect(&in, &out);
    FO_CHECK_INT(out.verdict, FO_VERDICT_UNREACHABLE);
}

static void test_verdict_names(void)
{
    FO_CHECK_STR(fo_verdict_name(FO_VERDICT_OK), "ok");
    FO_CHECK_STR(fo_verdict_name(FO_VERDICT_SUSPECT), "suspect");
    FO_CHECK_STR(fo_verdict_name(FO_VERDICT_TILT), "tilt");
    FO_CHECK_STR(fo_verdict_name(FO_VERDICT_NOT_CONFIRMED), "not_confirmed");
    FO_CHECK_STR(fo_verdict_name(FO_VERDICT_UNREACHABLE), "unreachable_primary");
    FO_CHECK_STR(fo_verdict_name(FO_VERDICT_NO_REPLICAS), "no_replicas");
    FO_CHECK_STR(fo_verdict_name(FO_VERDICT_DEAD), "dead_primary");
    FO_CHECK_STR(fo_verdict_name((enum fo_verdict)99), "invalid");
}

FO_TEST_MAIN(FO_T(test_table), FO_T(test_reason_truncated), FO_T(test_unknown_fields), FO_T(test_every_io_state),
             FO_T(test_silence_every_io_state), FO_T(test_verdict_names))
