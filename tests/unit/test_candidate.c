/* Unit tests for controller/decide/candidate.c: a table of failover scenarios (DESIGN.md §6
 * step 3), each replica described compactly and turned into a struct fo_sample at run
 * time, with the exact reason of every replica and the exact summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/decide/candidate.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_REP 5
#define V1011 "10.11.6-MariaDB-0+deb12u1"
#define E1062                                                                    \
    "Error 'Duplicate entry '4' for key 'PRIMARY'' on query. Default database: " \
    "''. Query: 'INSERT INTO d.t VALUES (4)'"

/* One replica. The old primary is db1 (server_id 1); replica dbN has server_id N.
 * bin NULL means the same as cur; version NULL means V1011. */
struct rep {
    const char *host;
    bool down; /* unreachable */
    enum fo_rule rule;
    bool maintenance, quarantined;
    const char *cur, *bin, *version;
    int64_t lag;
    unsigned sql_errno;
    const char *sql_error;
    bool relay;         /* relay_unapplied: the relay-log wait did not return 0 */
    unsigned sources;   /* n_sources (0 = 1) */
    const char *reason; /* expected */
};

struct cand_case {
    const char *label;
    struct rep r[MAX_REP];
    unsigned max_lag_s;
    const char *old_pos; /* NULL = "" */
    const char *target;  /* host; port 3306 */
    int chosen;
    const char *summary;
};

#define PREFER .rule = FO_RULE_PREFER
#define PREFER_NOT .rule = FO_RULE_PREFER_NOT
#define MUST_NOT .rule = FO_RULE_MUST_NOT
#define ROW(h, pos, ...)                   \
    {                                      \
        .host = h, .cur = pos, __VA_ARGS__ \
    }

static const struct cand_case cand_cases[] = {
    {"0 replicas", {{0}}, 0, NULL, NULL, -1, "no replicas to choose from"},
    {"one replica",
     {ROW("db2", "0-1-100", .reason = "chosen: most advanced (0-1-100)")},
     0,
     "0-1-100",
     NULL,
     0,
     "chose db2:3306: most advanced (0-1-100); 1 of 1 replica eligible"},
    /* Position first: nothing a replica received may be lost. */
    {"most advanced wins over prefer",
     {ROW("db2", "0-1-100", PREFER, .reason = "skipped: behind db3:3306 by 5 transactions"),
      ROW("db3", "0-1-105", .reason = "chosen: most advanced (0-1-105)"),
      ROW("db4", "0-1-104", PREFER, .reason = "skipped: behind db3:3306 by 1 transaction")},
     0,
     NULL,
     NULL,
     1,
     "chose db3:3306: most advanced (0-1-105); 3 of 3 replicas eligible"},
    {"multi-domain behind",
     {ROW("db2", "0-1-100,1-4-7", .reason = "chosen: most advanced (0-1-100,1-4-7)"),
      ROW("db3", "0-1-98", .reason = "skipped: behind db2:3306 by 9 transactions")},
     0,
     NULL,
     NULL,
     0,
     "chose db2:3306: most advanced (0-1-100,1-4-7); 2 of 2 replicas eligible"},
    /* Ties: prefer > neutral > prefer_not, then lowest lag, then input order. */
    {"tie goes to prefer",
     {ROW("db2", "0-1-105",
          .reason = "skipped: as advanced as db3:3306, which wins the tie "
                    "on rule (prefer vs neutral)"),
      ROW("db3", "0-1-105", PREFER, .lag = 5, .reason = "chosen: most advanced (0-1-105)"),
      ROW("db4", "0-1-105", PREFER_NOT,
          .reason = "skipped: as advanced as db3:3306, which "
                    "wins the tie on rule (prefer vs prefer_not)")},
     0,
     NULL,
     NULL,
     1,
     "chose db3:3306: most advanced (0-1-105); 3 of 3 replicas eligible"},
    {"tie goes to neutral over prefer_not",
     {ROW("db2", "0-1-105", PREFER_NOT,
          .reason = "skipped: as advanced as db3:3306, which "
                    "wins the tie on rule (neutral vs prefer_not)"),
      ROW("db3", "0-1-105", .reason = "chosen: most advanced (0-1-105)")},
     0,
     NULL,
     NULL,
     1,
     "chose db3:3306: most advanced (0-1-105); 2 of 2 replicas eligible"},
    {"tie goes to the lowest lag",
     {ROW("db2", "0-1-105", .lag = 3,
          .reason = "skipped: as advanced as db4:3306, which "
                    "wins the tie on lag (0 s vs 3 s)"),
      ROW("db3", "0-1-105", .lag = -1,
          .reason = "skipped: as advanced as db4:3306, which "
                    "wins the tie on lag (0 s vs unknown)"),
      ROW("db4", "0-1-105", .reason = "chosen: most advanced (0-1-105)")},
     0,
     NULL,
     NULL,
     2,
     "chose db4:3306: most advanced (0-1-105); 3 of 3 replicas eligible"},
    {"tie goes to input order",
     {ROW("db2", "0-1-105", .lag = -1, .reason = "chosen: most advanced (0-1-105)"),
      ROW("db3", "0-1-105", .lag = -1,
          .reason = "skipped: as advanced as db2:3306, which "
                    "wins the tie on input order")},
     0,
     NULL,
     NULL,
     0,
     "chose db2:3306: most advanced (0-1-105); 2 of 2 replicas eligible"},
    {"empty positions tie",
     {ROW("db2", "", .reason = "chosen: most advanced (empty)"),
      ROW("db3", "",
          .reason = "skipped: as advanced as db2:3306, which wins the tie on "
                    "input order")},
     0,
     NULL,
     NULL,
     0,
     "chose db2:3306: most advanced (empty); 2 of 2 replicas eligible"},
    /* Skipped on their own account; a skipped replica that was ahead is warned about. */
    {"must_not, maintenance, quarantine, unreachable",
     {ROW("db2", "0-1-106", MUST_NOT, .reason = "skipped: must_not"),
      ROW("db3", "0-1-106", .maintenance = true, .reason = "skipped: in maintenance"),
      ROW("db4", "0-1-106", .quarantined = true, .reason = "skipped: quarantined"),
      ROW("db5", "0-1-106", .down = true, .reason = "skipped: unreachable"),
      ROW("db6", "0-1-103", PREFER_NOT, .reason = "chosen: most advanced (0-1-103)")},
     0,
     NULL,
     NULL,
     4,
     "chose db6:3306: most advanced (0-1-103); 1 of 5 replicas eligible; warning: db2:3306 "
     "has 3 transactions the chosen one lacks; warning: db3:3306 has 3 transactions the "
     "chosen one lacks; warning: db4:3306 has 3 transactions the chosen one lacks"},
    {"max lag",
     {ROW("db2", "0-1-105", .lag = 120, .reason = "skipped: lag 120 s > max_lag_s 60"),
      ROW("db3", "0-1-105", .lag = 60,
          .reason = "skipped: as advanced as db4:3306, which "
                    "wins the tie on lag (59 s vs 60 s)"),
      ROW("db4", "0-1-105", .lag = 59, .reason = "chosen: most advanced (0-1-105)"),
      ROW("db5", "0-1-105", .lag = -1,
          .reason = "skipped: as advanced as db4:3306, which "
                    "wins the tie on lag (59 s vs unknown)")},
     60,
     NULL,
     NULL,
     2,
     "chose db4:3306: most advanced (0-1-105); 3 of 4 replicas eligible"},
    {"no lag limit",
     {ROW("db2", "0-1-105", .lag = 100000, .reason = "chosen: most advanced (0-1-105)")},
     0,
     NULL,
     NULL,
     0,
     "chose db2:3306: most advanced (0-1-105); 1 of 1 replica eligible"},
    {"SQL thread error",
     {ROW("db2", "0-1-105", .sql_errno = 1062, .sql_error = E1062, .reason = "skipped: SQL thread error 1062: " E1062),
      ROW("db3", "0-1-104", .sql_errno = 1032, .reason = "skipped: SQL thread error 1032")},
     0,
     NULL,
     NULL,
     -1,
     "no eligible replica among 2: db2:3306: SQL thread error 1062: " E1062 "; db3:3306: SQL thread error 1032"},
    /* Errant GTIDs: written on the replica itself, had by no one else. */
    {"errant GTID in the main domain",
     {ROW("db2", "0-1-100", .reason = "chosen: most advanced (0-1-100)"),
      ROW("db3", "0-3-101",
          .reason = "skipped: errant GTID 0-3-101 (written on the replica "
                    "itself)")},
     0,
     "0-1-100",
     NULL,
     0,
     "chose db2:3306: most advanced (0-1-100); 1 of 2 replicas eligible; warning: db3:3306 "
     "has 1 transaction the chosen one lacks"},
    {"errant GTID in its own domain",
     {ROW("db2", "0-1-100", .reason = "chosen: most advanced (0-1-100)"),
      ROW("db3", "0-1-100,5-3-17",
          .reason = "skipped: errant GTID 5-3-17 (written on the "
                    "replica itself)")},
     0,
     "0-1-100",
     NULL,
     0,
     "chose db2:3306: most advanced (0-1-100); 1 of 2 replicas eligible; warning: db3:3306 "
     "has 17 transactions the chosen one lacks"},
    {"own GTID the old primary has is not errant",
     {ROW("db2", "0-1-100", .reason = "skipped: behind db3:3306 by 17 transactions"),
      ROW("db3", "0-1-100,5-3-17", .reason = "chosen: most advanced (0-1-100,5-3-17)")},
     0,
     "0-1-100,5-3-17",
     NULL,
     1,
     "chose db3:3306: most advanced (0-1-100,5-3-17); 2 of 2 replicas eligible"},
    {"own GTID another replica has is not errant",
     {ROW("db2", "0-1-100,5-3-17", .reason = "chosen: most advanced (0-1-100,5-3-17)"),
      ROW("db3", "0-1-100,5-3-17",
          .reason = "skipped: as advanced as db2:3306, which wins "
                    "the tie on input order")},
     0,
     "0-1-100",
     NULL,
     0,
     "chose db2:3306: most advanced (0-1-100,5-3-17); 2 of 2 replicas eligible"},
    {"older own GTID in binlog is not errant",
     {ROW("db2", "0-1-100", .bin = "0-2-50", .reason = "chosen: most advanced (0-1-100)")},
     0,
     "0-1-100",
     NULL,
     0,
     "chose db2:3306: most advanced (0-1-100); 1 of 1 replica eligible"},
    {"others' GTIDs in binlog are not errant",
     {ROW("db2", "0-1-100,1-7-3", .reason = "chosen: most advanced (0-1-100,1-7-3)")},
     0,
     "",
     NULL,
     0,
     "chose db2:3306: most advanced (0-1-100,1-7-3); 1 of 1 replica eligible"},
    {"unreachable replicas do not vouch for a GTID",
     {ROW("db2", "0-1-100,5-3-17", .down = true, .reason = "skipped: unreachable"),
      ROW("db3", "0-1-100,5-3-17",
          .reason = "skipped: errant GTID 5-3-17 (written on the "
                    "replica itself)")},
     0,
     "0-1-100",
     NULL,
     -1,
     "no eligible replica among 2: db2:3306: unreachable; db3:3306: errant GTID 5-3-17 "
     "(written on the replica itself)"},
    /* Versions: never a newer primary for a reachable replica, even a skipped one. */
    {"newer version skipped",
     {ROW("db2", "0-1-105", .version = "10.11.6-MariaDB-0+deb12u1",
          .reason = "skipped: version 10.11 newer than replica db4:3306 (10.6)"),
      ROW("db3", "0-1-105", .version = "11.4.2-MariaDB",
          .reason = "skipped: version 11.4 newer than replica db4:3306 (10.6)"),
      ROW("db4", "0-1-104", MUST_NOT, .version = "10.6.16-MariaDB-log", .reason = "skipped: must_not"),
      ROW("db5", "0-1-105", .down = true, .version = "10.5.1", .reason = "skipped: unreachable")},
     0,
     NULL,
     NULL,
     -1,
     "no eligible replica among 4: db2:3306: version 10.11 newer than replica db4:3306 "
     "(10.6); db3:3306: version 11.4 newer than replica db4:3306 (10.6); db4:3306: must_not; "
     "db5:3306: unreachable"},
    {"older version chosen though behind",
     {ROW("db2", "0-1-105", .version = "10.11.6-MariaDB",
          .reason = "skipped: version 10.11 newer than replica db3:3306 (10.6)"),
      ROW("db3", "0-1-104", .version = "10.6.16-MariaDB", .reason = "chosen: most advanced (0-1-104)")},
     0,
     NULL,
     NULL,
     1,
     "chose db3:3306: most advanced (0-1-104); 1 of 2 replicas eligible; warning: db2:3306 "
     "has 1 transaction the chosen one lacks"},
    /* Issue 15.6: a server failoverd does not understand refuses the whole choice (a
     * version we cannot read is not taken for MariaDB), even the MariaDB replica's. */
    {"unparsable version refuses the choice",
     {ROW("db2", "0-1-105", .version = "garbage",
          .reason = "skipped: unsupported server: unrecognised server version \"garbage\" (failoverd supports "
                    "MariaDB 10.6 to 11.x; a server whose version failoverd cannot read is not acted on)"),
      ROW("db3", "0-1-105", .reason = "skipped: unsupported server in the cluster: db2:3306")},
     0,
     NULL,
     NULL,
     -1,
     "no replica chosen: unsupported server in the cluster: db2:3306: unsupported server: unrecognised server "
     "version \"garbage\" (failoverd supports MariaDB 10.6 to 11.x; a server whose version failoverd cannot "
     "read is not acted on)"},
    {"MySQL replica refuses the choice",
     {ROW("db2", "0-1-105", .reason = "skipped: unsupported server in the cluster: db3:3306"),
      ROW("db3", "0-1-105", .version = "8.0.36",
          .reason = "skipped: unsupported server: MySQL 8.0.36 (failoverd supports MariaDB 10.6 to 11.x; MySQL "
                    "5.7/8.x is not supported yet)")},
     0,
     NULL,
     NULL,
     -1,
     "no replica chosen: unsupported server in the cluster: db3:3306: unsupported server: MySQL 8.0.36 (failoverd "
     "supports MariaDB 10.6 to 11.x; MySQL 5.7/8.x is not supported yet)"},
    {"MariaDB 10.5 replica refuses even a target",
     {ROW("db2", "0-1-105", .version = "10.5.23-MariaDB-log",
          .reason = "skipped: unsupported server: MariaDB 10.5.23 (failoverd supports MariaDB 10.6 to 11.x; "
                    "MariaDB before 10.6 is not supported)"),
      ROW("db3", "0-1-105", .reason = "skipped: unsupported server in the cluster: db2:3306")},
     0,
     NULL,
     "db3",
     -1,
     "no replica chosen: unsupported server in the cluster: db2:3306: unsupported server: MariaDB 10.5.23 "
     "(failoverd supports MariaDB 10.6 to 11.x; MariaDB before 10.6 is not supported)"},
    {"unreachable MySQL replica does not refuse (its probe error does, elsewhere)",
     {ROW("db2", "0-1-105", .down = true, .version = "8.0.36", .reason = "skipped: unreachable"),
      ROW("db3", "0-1-105", .reason = "chosen: most advanced (0-1-105)")},
     0,
     NULL,
     NULL,
     1,
     "chose db3:3306: most advanced (0-1-105); 1 of 2 replicas eligible"},
    /* Malformed positions make a replica ineligible, never misread. */
    {"malformed GTID text",
     {ROW("db2", "0-1-abc",
          .reason = "skipped: malformed gtid_current_pos \"0-1-abc\" (gtid "
                    "#1: expected a decimal number)"),
      ROW("db3", "0-1-100", .bin = "0-1",
          .reason = "skipped: malformed gtid_binlog_pos "
                    "\"0-1\" (gtid #1: expected '-' after "
                    "server id)"),
      ROW("db4", "0-1-99", .reason = "chosen: most advanced (0-1-99)")},
     0,
     NULL,
     NULL,
     2,
     "chose db4:3306: most advanced (0-1-99); 1 of 3 replicas eligible; warning: db3:3306 "
     "has 1 transaction the chosen one lacks"},
    {"malformed old primary position",
     {ROW("db2", "0-1-100", .reason = "chosen: most advanced (0-1-100)")},
     0,
     "zzz",
     NULL,
     0,
     "chose db2:3306: most advanced (0-1-100); 1 of 1 replica eligible; note: old primary "
     "position malformed, treated as empty"},
    /* Diverged histories: the most transactions, said loudly. */
    {"diverged positions",
     {ROW("db2", "0-1-100,1-5-10",
          .reason = "chosen: most transactions (0-1-100,1-5-10, "
                    "total 110) although positions diverge"),
      ROW("db3", "0-1-105", PREFER,
          .reason = "skipped: diverges from db2:3306, which has more "
                    "transactions (110 vs 105)"),
      ROW("db4", "0-1-90", .reason = "skipped: behind db2:3306 by 20 transactions")},
     0,
     NULL,
     NULL,
     0,
     "chose db2:3306: most transactions (0-1-100,1-5-10, total 110) although positions "
     "diverge; 3 of 3 replicas eligible; warning: db3:3306 has 5 transactions the chosen "
     "one lacks"},
    {"diverged, same total",
     {ROW("db2", "0-1-100,1-5-5",
          .reason = "skipped: diverges from db3:3306 (same total 105), "
                    "which wins the tie on rule (prefer vs neutral)"),
      ROW("db3", "0-1-105", PREFER,
          .reason = "chosen: most transactions (0-1-105, total 105) "
                    "although positions diverge")},
     0,
     NULL,
     NULL,
     1,
     "chose db3:3306: most transactions (0-1-105, total 105) although positions diverge; "
     "2 of 2 replicas eligible; warning: db2:3306 has 5 transactions the chosen one lacks"},
    {"forked at the same seqno",
     {ROW("db2", "0-1-100",
          .reason = "chosen: most transactions (0-1-100, total 100) "
                    "although positions diverge"),
      ROW("db3", "0-4-100",
          .reason = "skipped: diverges from db2:3306 (same total 100), "
                    "which wins the tie on input order")},
     0,
     "0-1-99",
     NULL,
     0,
     "chose db2:3306: most transactions (0-1-100, total 100) although positions diverge; "
     "2 of 2 replicas eligible"},
    /* With a target only the target may be chosen. */
    {"target eligible and most advanced",
     {ROW("db2", "0-1-105", PREFER, .reason = "skipped: not the target (db3:3306)"),
      ROW("db3", "0-1-105", PREFER_NOT, .reason = "chosen: target, most advanced (0-1-105)"),
      ROW("db4", "0-1-101", .reason = "skipped: not the target (db3:3306)")},
     0,
     NULL,
     "db3",
     1,
     "chose db3:3306: target, most advanced (0-1-105); 3 of 3 replicas eligible"},
    {"target not eligible",
     {ROW("db2", "0-1-105", .reason = "skipped: not the target (db3:3306)"),
      ROW("db3", "0-1-105", MUST_NOT, .reason = "skipped: must_not")},
     0,
     NULL,
     "db3",
     -1,
     "no replica chosen: target db3:3306 is not eligible (must_not)"},
    {"target not most advanced",
     {ROW("db2", "0-1-105", .reason = "skipped: not the target (db3:3306)"),
      ROW("db3", "0-1-100", PREFER, .reason = "skipped: behind db2:3306 by 5 transactions")},
     0,
     NULL,
     "db3",
     -1,
     "no replica chosen: target db3:3306 is not the most advanced (behind db2:3306 by 5 "
     "transactions)"},
    {"target diverged",
     {ROW("db2", "0-1-100,1-5-10", .reason = "skipped: not the target (db3:3306)"),
      ROW("db3", "0-1-105", .reason = "skipped: diverges from db2:3306")},
     0,
     NULL,
     "db3",
     -1,
     "no replica chosen: target db3:3306 is not the most advanced (diverges from db2:3306)"},
    {"target unknown",
     {ROW("db2", "0-1-105", .reason = "skipped: not the target (db9:3306)"),
      ROW("db3", "0-1-105", .down = true, .reason = "skipped: unreachable")},
     0,
     NULL,
     "db9",
     -1,
     "no replica chosen: target db9:3306 is not among the 2 replicas"},
    {"target with no replicas",
     {{0}},
     0,
     NULL,
     "db9",
     -1,
     "no replica chosen: target db9:3306 is not among the 0 replicas"},
    /* Issue 8 item 1: a replica whose relay log is not applied is never reset. */
    {"relay log not applied: skipped even when most advanced",
     {ROW("db2", "0-1-105", .relay = true,
          .reason = "skipped: relay log not applied within the wait (its transactions would be lost)"),
      ROW("db3", "0-1-101", .reason = "chosen: most advanced (0-1-101)")},
     0,
     NULL,
     NULL,
     1,
     "chose db3:3306: most advanced (0-1-101); 1 of 2 replicas eligible; warning: db2:3306 has 4 transactions "
     "the chosen one lacks"},
    {"relay log not applied on the only replica",
     {ROW("db2", "0-1-105", .relay = true,
          .reason = "skipped: relay log not applied within the wait (its transactions would be lost)")},
     0,
     NULL,
     NULL,
     -1,
     "no eligible replica among 1: db2:3306: relay log not applied within the wait (its transactions would be "
     "lost)"},
    /* A multi-source replica (MySQL channels, MariaDB named connections) is never
     * promoted: RESET SLAVE ALL would drop its other sources. */
    {"multi-source replica skipped",
     {ROW("db2", "0-1-105", .sources = 2, .reason = "skipped: multi-source replica (2 sources): not promoted"),
      ROW("db3", "0-1-105", .reason = "chosen: most advanced (0-1-105)")},
     0,
     NULL,
     NULL,
     1,
     "chose db3:3306: most advanced (0-1-105); 1 of 2 replicas eligible"},
    {"empty target means any",
     {ROW("db2", "0-1-105", .reason = "chosen: most advanced (0-1-105)")},
     0,
     NULL,
     "",
     0,
     "chose db2:3306: most advanced (0-1-105); 1 of 1 replica eligible"},
};

/* Switchover (require_old_pos): the chosen one must have the old primary's final
 * position, or nothing is promoted (issue 8 item 1). */
static const struct cand_case switch_cases[] = {
    {"switchover: target behind the old primary's final position",
     {ROW("db2", "0-1-104", .reason = "skipped: has not reached the old primary's final position 0-1-105")},
     0,
     "0-1-105",
     "db2",
     -1,
     "no replica chosen: target db2:3306 is not eligible (has not reached the old primary's final position "
     "0-1-105)"},
    {"switchover: target at the final position",
     {ROW("db2", "0-1-105", .reason = "chosen: target, most advanced (0-1-105)")},
     0,
     "0-1-105",
     "db2",
     0,
     "chose db2:3306: target, most advanced (0-1-105); 1 of 1 replica eligible"},
    {"switchover: other domain missing",
     {ROW("db2", "0-1-105", .reason = "skipped: has not reached the old primary's final position 0-1-105,1-1-3"),
      ROW("db3", "0-1-105,1-1-3", .reason = "chosen: most advanced (0-1-105,1-1-3)")},
     0,
     "0-1-105,1-1-3",
     NULL,
     1,
     "chose db3:3306: most advanced (0-1-105,1-1-3); 1 of 2 replicas eligible"},
    {"switchover: old primary never wrote",
     {ROW("db2", "", .reason = "chosen: most advanced (empty)")},
     0,
     "",
     NULL,
     0,
     "chose db2:3306: most advanced (empty); 1 of 1 replica eligible"},
};

/* Catch-up (issue 13 item 2, opts.catch_up): the rule (or target) first; a chosen
 * replica behind the most advanced one catches up from it (source). */
struct cu_case {
    struct cand_case c;
    int source;
};

static const struct cu_case catch_up_cases[] = {
    {{"prefer behind the most advanced: catches up",
      {ROW("db2", "0-1-100", PREFER,
           .reason = "chosen: rule prefer; behind db3:3306 by 5 transactions: catches up from it first"),
       ROW("db3", "0-1-105",
           .reason = "skipped: most advanced (0-1-105) but rule neutral: catch-up source of db2:3306"),
       ROW("db4", "0-1-104", PREFER_NOT, .reason = "skipped: rule prefer_not (db2:3306 is prefer)")},
      0,
      NULL,
      NULL,
      0,
      "chose db2:3306: rule prefer; behind db3:3306 by 5 transactions: catches up from it first; 3 of 3 replicas "
      "eligible"},
     1},
    {{"the most advanced of the best rule; its lag breaks ties",
      {ROW("db2", "0-1-100", PREFER, .lag = 3, .reason = "skipped: behind db3:3306 by 5 transactions"),
       ROW("db3", "0-1-105", PREFER_NOT,
           .reason = "skipped: most advanced (0-1-105) but rule prefer_not: catch-up source of db4:3306"),
       ROW("db4", "0-1-100", PREFER, .lag = 1,
           .reason = "chosen: rule prefer; behind db3:3306 by 5 transactions: catches up from it first"),
       ROW("db5", "0-1-99", PREFER, .reason = "skipped: behind db4:3306 by 1 transaction")},
      0,
      NULL,
      NULL,
      2,
      "chose db4:3306: rule prefer; behind db3:3306 by 5 transactions: catches up from it first; 4 of 4 replicas "
      "eligible"},
     1},
    {{"most advanced already has the best rule: no catch-up",
      {ROW("db2", "0-1-100", PREFER, .reason = "skipped: behind db3:3306 by 5 transactions"),
       ROW("db3", "0-1-105", PREFER, .reason = "chosen: most advanced (0-1-105)")},
      0,
      NULL,
      NULL,
      1,
      "chose db3:3306: most advanced (0-1-105); 2 of 2 replicas eligible"},
     -1},
    {{"equal positions: the rule wins, nothing to catch up",
      {ROW("db2", "0-1-105",
           .reason = "skipped: as advanced as db3:3306, which wins the tie on rule (prefer vs neutral)"),
       ROW("db3", "0-1-105", PREFER, .reason = "chosen: most advanced (0-1-105)")},
      0,
      NULL,
      NULL,
      1,
      "chose db3:3306: most advanced (0-1-105); 2 of 2 replicas eligible"},
     -1},
    /* Diverged positions: a catch-up could not apply the other history; the most
     * advanced rule without catch-up stands. */
    {{"prefer diverges from the most advanced: no catch-up",
      {ROW("db2", "0-1-100,1-2-1", PREFER, .bin = "0-1-100,1-2-1",
           .reason = "skipped: errant GTID 1-2-1 (written on the replica itself)"),
       ROW("db3", "0-1-105", .reason = "chosen: most advanced (0-1-105)")},
      0,
      NULL,
      NULL,
      1,
      "chose db3:3306: most advanced (0-1-105); 1 of 2 replicas eligible; warning: db2:3306 has 1 transaction the "
      "chosen one lacks"},
     -1},
    {{"prefer diverges from the most advanced (two domains): no catch-up",
      {ROW("db2", "0-1-100,1-4-9", PREFER,
           .reason = "skipped: diverges from db3:3306, which has more transactions (113 vs 109)"),
       ROW("db3", "0-1-105,1-4-8",
           .reason = "chosen: most transactions (0-1-105,1-4-8, total 113) although positions diverge")},
      0,
      NULL,
      NULL,
      1,
      NULL},
     -1},
    /* A must_not replica is never a source here: only eligible ones are. */
    {{"the best prefer is behind a must_not replica only: nothing to catch up from",
      {ROW("db2", "0-1-100", PREFER, .reason = "chosen: most advanced (0-1-100)"),
       ROW("db3", "0-1-105", MUST_NOT, .reason = "skipped: must_not")},
      0,
      NULL,
      NULL,
      0,
      "chose db2:3306: most advanced (0-1-100); 1 of 2 replicas eligible; warning: db3:3306 has 5 transactions the "
      "chosen "
      "one lacks"},
     -1},
    {{"target behind the most advanced: catches up",
      {ROW("db2", "0-1-100", .reason = "chosen: target; behind db3:3306 by 5 transactions: catches up from it first"),
       ROW("db3", "0-1-105", PREFER,
           .reason = "skipped: most advanced (0-1-105) but not the target: catch-up source of db2:3306"),
       ROW("db4", "0-1-105", .reason = "skipped: not the target (db2:3306)")},
      0,
      NULL,
      "db2",
      0,
      "chose db2:3306: target; behind db3:3306 by 5 transactions: catches up from it first; 3 of 3 replicas eligible"},
     1},
    {{"target not eligible: none",
      {ROW("db2", "0-1-100", MUST_NOT, .reason = "skipped: must_not"),
       ROW("db3", "0-1-105", .reason = "skipped: not the target (db2:3306)")},
      0,
      NULL,
      "db2",
      -1,
      "no replica chosen: target db2:3306 is not eligible (must_not)"},
     -1},
    /* Eligibility already refuses a candidate newer than another replica, so a source
     * is never newer than the chosen one: an older source is fine. */
    {{"prefer on a newer version is not eligible",
      {ROW("db2", "0-1-100", PREFER, .version = "11.4.2-MariaDB",
           .reason = "skipped: version 11.4 newer than replica db3:3306 (10.11)"),
       ROW("db3", "0-1-105", .reason = "chosen: most advanced (0-1-105)")},
      0,
      NULL,
      NULL,
      1,
      "chose db3:3306: most advanced (0-1-105); 1 of 2 replicas eligible"},
     -1},
};

struct built {
    struct fo_cand_in in[MAX_REP];
    struct fo_sample s[MAX_REP];
    unsigned n;
};

static void build(const struct rep *r, struct built *b)
{
    unsigned i;

    memset(b, 0, sizeof(*b));
    for (i = 0; i < MAX_REP && r[i].host != NULL; i++) {
        struct fo_sample *s = &b->s[i];

        s->server_id = strtoull(r[i].host + 2, NULL, 10); /* "dbN" -> N */
        s->read_only = true;
        snprintf(s->version, sizeof(s->version), "%s", r[i].version ? r[i].version : V1011);
        snprintf(s->gtid_current_pos, sizeof(s->gtid_current_pos), "%s", r[i].cur);
        snprintf(s->gtid_binlog_pos, sizeof(s->gtid_binlog_pos), "%s", r[i].bin ? r[i].bin : r[i].cur);
        s->is_replica = true;
        snprintf(s->master_host, sizeof(s->master_host), "db1");
        s->master_port = 3306;
        s->io_running = FO_THREAD_NO;
        s->sql_running = r[i].sql_errno ? FO_THREAD_NO : FO_THREAD_YES;
        s->lag_s = r[i].lag;
        s->n_sources = r[i].sources ? r[i].sources : 1;
        s->last_sql_errno = r[i].sql_errno;
        snprintf(s->last_sql_error, sizeof(s->last_sql_error), "%s", r[i].sql_error ? r[i].sql_error : "");
        b->in[i] = (struct fo_cand_in){.host = r[i].host,
                                       .port = 3306,
                                       .reachable = !r[i].down,
                                       .rule = r[i].rule,
                                       .maintenance = r[i].maintenance,
                                       .quarantined = r[i].quarantined,
                                       .s = r[i].down ? NULL : s,
                                       .relay_unapplied = r[i].relay};
    }
    b->n = i;
}

/* source: the expected out.source with catch_up, -1 none; -2 = do not check the
 * summary (cases whose summary only repeats what the reasons say). */
static void run_case(const struct cand_case *c, bool switchover, bool catch_up, int source)
{
    static struct built b;
    struct fo_cand_opts o = {.max_lag_s = c->max_lag_s,
                             .old_primary_pos = c->old_pos ? c->old_pos : "",
                             .target_host = c->target,
                             .target_port = 3306,
                             .require_old_pos = switchover,
                             .catch_up = catch_up};
    char reasons[MAX_REP][FO_CAND_REASON_LEN];
    struct fo_cand_out out;
    unsigned i, n_chosen = 0;

    build(c->r, &b);
    memset(reasons, 0xAA, sizeof(reasons)); /* every line must be written */
    memset(&out, 0xAA, sizeof(out));
    fo_candidate_choose(b.in, b.n, &o, &out, reasons);
    if (out.chosen != c->chosen || (c->summary != NULL && strcmp(out.summary, c->summary) != 0))
        fprintf(stderr, "  case \"%s\": got %d \"%s\"\n", c->label, out.chosen, out.summary);
    FO_CHECK_INT(out.chosen, c->chosen);
    if (c->summary != NULL) FO_CHECK_STR(out.summary, c->summary);
    FO_CHECK_INT(out.source, source < 0 ? -1 : source);
    for (i = 0; i < b.n; i++) {
        if (strcmp(reasons[i], c->r[i].reason) != 0)
            fprintf(stderr, "  case \"%s\" replica %u: got \"%s\"\n", c->label, i, reasons[i]);
        FO_CHECK_STR(reasons[i], c->r[i].reason);
        /* The table itself: one "chosen" line exactly when something is chosen. */
        n_chosen += strncmp(reasons[i], "chosen: ", 8) == 0;
        FO_CHECK(strncmp(reasons[i], "chosen: ", 8) == 0 || strncmp(reasons[i], "skipped: ", 9) == 0);
    }
    FO_CHECK_INT(n_chosen, c->chosen >= 0 ? 1 : 0);
}

static void test_table(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(cand_cases); i++) run_case(&cand_cases[i], false, false, -1);
}

static void test_switchover_table(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(switch_cases); i++) run_case(&switch_cases[i], true, false, -1);
}

static void test_catch_up_table(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(catch_up_cases); i++) run_case(&catch_up_cases[i].c, false, true, catch_up_cases[i].source);
}

/* Without catch_up every case of the main table behaves as before, and with it every
 * case without a rule or target difference does too: the rule only matters when it
 * differs from the most advanced one's. */
static void test_catch_up_off_unchanged(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(catch_up_cases); i++) {
        const struct cand_case *c = &catch_up_cases[i].c;
        static struct built b;
        struct fo_cand_opts o = {.target_host = c->target, .target_port = 3306};
        char reasons[MAX_REP][FO_CAND_REASON_LEN];
        struct fo_cand_out out;

        build(c->r, &b);
        fo_candidate_choose(b.in, b.n, &o, &out, reasons);
        FO_CHECK_INT(out.source, -1);
        /* Without catch-up a chosen replica is never behind another eligible one. */
        if (catch_up_cases[i].source >= 0) FO_CHECK(out.chosen != c->chosen);
    }
}

/* A reachable replica without a sample is treated as unreachable, not dereferenced. */
static void test_reachable_without_sample(void)
{
    struct fo_cand_in in[] = {{.host = "db2", .port = 3306, .reachable = true, .s = NULL}};
    struct fo_cand_opts o = {0};
    char reasons[1][FO_CAND_REASON_LEN];
    struct fo_cand_out out;

    fo_candidate_choose(in, 1, &o, &out, reasons);
    FO_CHECK_INT(out.chosen, -1);
    FO_CHECK_STR(reasons[0], "skipped: unreachable");
    FO_CHECK_STR(out.summary, "no eligible replica among 1: db2:3306: unreachable");
}

/* Long texts are cut with "..." inside the fixed buffers. */
static void test_truncation(void)
{
    static struct built b;
    static char err[FO_ERRTEXT_LEN], hosts[MAX_REP][120];
    static const struct rep r[MAX_REP] = {
        ROW("db2", "0-1-105", .sql_errno = 1062), ROW("db3", "0-1-105", .sql_errno = 1062),
        ROW("db4", "0-1-105", .sql_errno = 1062), ROW("db5", "0-1-105", .sql_errno = 1062),
        ROW("db6", "0-1-105", .sql_errno = 1062),
    };
    struct fo_cand_opts o = {0};
    char reasons[MAX_REP][FO_CAND_REASON_LEN];
    struct fo_cand_out out;
    size_t len;
    unsigned i;

    memset(err, 'e', sizeof(err) - 1);
    build(r, &b);
    for (i = 0; i < MAX_REP; i++) {
        snprintf(b.s[i].last_sql_error, sizeof(b.s[i].last_sql_error), "%s", err);
        memset(hosts[i], 'h', sizeof(hosts[i]) - 1);
        b.in[i].host = hosts[i];
    }
    fo_candidate_choose(b.in, b.n, &o, &out, reasons);
    FO_CHECK_INT(out.chosen, -1);
    for (i = 0; i < MAX_REP; i++) {
        len = strlen(reasons[i]);
        FO_CHECK_INT(len, FO_CAND_REASON_LEN - 1);
        FO_CHECK(strncmp(reasons[i], "skipped: SQL thread error 1062: eee", 35) == 0);
        FO_CHECK(strcmp(reasons[i] + len - 3, "...") == 0);
    }
    len = strlen(out.summary);
    FO_CHECK_INT(len, sizeof(out.summary) - 1);
    FO_CHECK(strncmp(out.summary, "no eligible replica among 5: hhh", 32) == 0);
    FO_CHECK(strcmp(out.summary + len - 3, "...") == 0);
}

/* A cut never splits a UTF-8 character (error texts come from MariaDB). */
static void test_truncation_utf8(void)
{
    static struct built b;
    static const struct rep r[MAX_REP] = {ROW("db2", "0-1-105", .sql_errno = 1062)};
    struct fo_cand_opts o = {0};
    char reasons[1][FO_CAND_REASON_LEN];
    struct fo_cand_out out;
    size_t i, len;

    build(r, &b);
    /* "é" is 2 bytes; after the 32-byte prefix "skipped: SQL thread error 1062: " and
     * one "x", the plain cut at byte 252 would fall in the middle of one. */
    b.s[0].last_sql_error[0] = 'x';
    for (i = 1; i + 2 < sizeof(b.s[0].last_sql_error); i += 2) memcpy(b.s[0].last_sql_error + i, "\xc3\xa9", 2);
    b.s[0].last_sql_error[i] = '\0';
    fo_candidate_choose(b.in, b.n, &o, &out, reasons);
    len = strlen(reasons[0]);
    FO_CHECK_INT(len, FO_CAND_REASON_LEN - 2); /* backed off by one byte */
    FO_CHECK(strcmp(reasons[0] + len - 3, "...") == 0);
    /* What precedes "..." ends on a complete character. */
    FO_CHECK(((unsigned char)reasons[0][len - 4] & 0xC0) == 0x80);
    FO_CHECK((unsigned char)reasons[0][len - 5] == 0xc3);
}

/* Positions of 64 domains do not fit in a reason: cut, and the reason stays a line. */
static void test_long_position(void)
{
    static struct built b;
    static char pos[FO_GTIDPOS_LEN];
    static const struct rep r[MAX_REP] = {ROW("db2", "")};
    struct fo_cand_opts o = {0};
    char reasons[1][FO_CAND_REASON_LEN];
    struct fo_cand_out out;
    size_t used = 0;
    unsigned d;

    for (d = 0; d < 64; d++)
        used += (size_t)snprintf(pos + used, sizeof(pos) - used, "%s%u-1-%u", d ? "," : "", d, 1000 + d);
    build(r, &b);
    snprintf(b.s[0].gtid_current_pos, sizeof(b.s[0].gtid_current_pos), "%s", pos);
    snprintf(b.s[0].gtid_binlog_pos, sizeof(b.s[0].gtid_binlog_pos), "%s", pos);
    fo_candidate_choose(b.in, b.n, &o, &out, reasons);
    FO_CHECK_INT(out.chosen, 0);
    FO_CHECK(strncmp(reasons[0], "chosen: most advanced (0-1-1000,1-1-1001,", 41) == 0);
    FO_CHECK(strstr(reasons[0], "...)") != NULL);
    FO_CHECK(strlen(reasons[0]) < FO_CAND_REASON_LEN);
}

FO_TEST_MAIN(FO_T(test_table), FO_T(test_switchover_table), FO_T(test_catch_up_table),
             FO_T(test_catch_up_off_unchanged), FO_T(test_reachable_without_sample), FO_T(test_truncation),
             FO_T(test_truncation_utf8), FO_T(test_long_position))
