/* Unit tests for controller/decide/topology.c: a table of cluster scenarios, each instance
 * described compactly and turned into a struct fo_sample at run time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/decide/topology.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_INST 5
#define MAX_CLUSTER 3

/* Error texts as MariaDB 10.11 reported them (see test_sample.c). */
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

/* What Debian 12's MariaDB says (@@version). */
#define V1011 "10.11.6-MariaDB-0+deb12u1-log"
/* What the prober reports for a MySQL 8.0 server (controller/probe/prober.c). */
#define MYSQL_PROBE_ERR                                                                        \
    "unsupported server flavour (MySQL?): Unknown system variable 'gtid_current_pos' (server " \
    "version 8.0.36; failoverd supports MariaDB 10.6 to 11.x)"
#define MYSQL_PROBLEM                                                                              \
    "unsupported server: MySQL 8.0.36 (failoverd supports MariaDB 10.6 to 11.x; MySQL 5.7/8.x is " \
    "not supported yet)"

struct inst {
    const char *host;
    unsigned port;
    char kind; /* 'x' unreachable, 'P' no source + writable, 'O' no source +
                         * read-only, 'R' replica */
    bool was_primary;
    bool writable;       /* replicas only: read_only=0 */
    const char *src;     /* replicas: Master_Host */
    unsigned src_port;   /* replicas: Master_Port (0 means 3306) */
    const char *threads; /* replicas: IO and SQL as "YY", "NY", "CY", "PY" (Preparing),
                          * "UY" (unrecognized "Reconnecting")...; NULL = "YY" */
    unsigned io_errno;
    const char *io_err;
    unsigned sql_errno;
    const char *sql_err;
    const char *version;    /* @@version; NULL = V1011 */
    const char *last_error; /* unreachable: the probe's error */
    bool co;                /* one of the cluster's co-primaries */
    bool other;             /* other_designated: the designated primary is another one */
    /* Expected. */
    enum fo_role role;
    const char *problem; /* NULL = "" */
    const char *source;  /* replicas: source_host; NULL = src */
};

struct scenario {
    const char *label;
    struct inst in[MAX_INST];
    const char *cluster[MAX_CLUSTER]; /* expected cluster problems, in order */
    int primary;
};

#define P(h, ...)                                                                  \
    {                                                                              \
        .host = h, .port = 3306, .kind = 'P', .role = FO_ROLE_PRIMARY, __VA_ARGS__ \
    }
#define O(h, ...)                                                                 \
    {                                                                             \
        .host = h, .port = 3306, .kind = 'O', .role = FO_ROLE_ORPHAN, __VA_ARGS__ \
    }
#define R(h, source, ...)                                                                         \
    {                                                                                             \
        .host = h, .port = 3306, .kind = 'R', .src = source, .role = FO_ROLE_REPLICA, __VA_ARGS__ \
    }
/* A writable co-primary replicating from its partner: the active one (role PRIMARY),
 * or, designated elsewhere (S), a stray writer (role ORPHAN). */
#define A(h, source, ...)                                                                                           \
    {                                                                                                               \
        .host = h, .port = 3306, .kind = 'R', .src = source, .writable = true, .co = true, .role = FO_ROLE_PRIMARY, \
        __VA_ARGS__                                                                                                 \
    }
#define S(h, source, ...)                                                                                 \
    {                                                                                                     \
        .host = h, .port = 3306, .kind = 'R', .src = source, .writable = true, .co = true, .other = true, \
        .role = FO_ROLE_ORPHAN, __VA_ARGS__                                                               \
    }
#define X(h, ...)                                                                  \
    {                                                                              \
        .host = h, .port = 3306, .kind = 'x', .role = FO_ROLE_UNKNOWN, __VA_ARGS__ \
    }

static const struct scenario scenarios[] = {
    /* Co-primary pairs (MMM's active/passive, docs/co-primary.md): the active replicates
     * from the passive and is still the primary; each ring edge that does not run is a
     * cluster problem naming it (source -> replica). */
    {"co-primary ring healthy", {A("a", "b"), R("b", "a", .co = true), R("c", "a")}, {NULL}, 0},
    {"co-primary ring: passive -> active stopped",
     {A("a", "b", .threads = "NY", .io_errno = 2003, .io_err = E2003), R("b", "a", .co = true), R("c", "a")},
     {FO_TOPO_P_RING "b:3306 -> a:3306 (IO=No, SQL=Yes): IO error 2003: " E2003},
     0},
    {"co-primary ring: active -> passive stopped on an error",
     {A("a", "b"), R("b", "a", .co = true, .threads = "YN", .sql_errno = 1062, .sql_err = E1062,
                     .problem = FO_TOPO_P_STOPPED " (IO=Yes, SQL=No): SQL error 1062: " E1062)},
     {FO_TOPO_P_RING "a:3306 -> b:3306 (IO=Yes, SQL=No): SQL error 1062: " E1062},
     0},
    {"co-primary ring open after a failover: the active replicates from nobody",
     {P("a", .co = true), R("b", "a", .co = true), R("c", "a")},
     {FO_TOPO_P_RING "b:3306 -> a:3306 (not configured: a:3306 replicates from nobody)"},
     0},
    {"co-primary passive replicates from a replica",
     {A("a", "b"), R("b", "c", .co = true), R("c", "a")},
     {FO_TOPO_P_RING "a:3306 -> b:3306 (b:3306 replicates from c:3306)"},
     0},
    {"co-primaries both writable: the undesignated one is a stray writer",
     {A("a", "b"), S("b", "a", .problem = FO_TOPO_P_STRAY_WRITER)},
     {FO_TOPO_P_MULTIPLE_WRITABLE "a:3306, b:3306"},
     0},
    {"co-primary active down: the passive's edge is broken, no 'no primary'",
     {X("a", .co = true, .was_primary = true),
      R("b", "a", .co = true, .threads = "CY", .problem = FO_TOPO_P_STOPPED " (IO=Connecting, SQL=Yes)"),
      R("c", "a", .threads = "CY", .problem = FO_TOPO_P_STOPPED " (IO=Connecting, SQL=Yes)")},
     {FO_TOPO_P_RING "a:3306 -> b:3306 (IO=Connecting, SQL=Yes)"},
     -1},
    {"a ring without a declared pair: the writable one is a writable replica (unchanged)",
     {R("a", "b", .writable = true, .problem = FO_TOPO_P_WRITABLE_REPLICA), R("b", "a")},
     {FO_TOPO_P_NO_PRIMARY},
     -1},
    /* Issue 15.6: a server failoverd does not understand is a problem of its own and
     * of the cluster (every action refuses while it is there). */
    {"MySQL replica",
     {P("db1"), R("db2", "db1", .version = "8.0.36", .problem = MYSQL_PROBLEM), R("db3", "db1")},
     {FO_TOPO_P_UNSUPPORTED_CLUSTER FO_TOPO_P_UNSUPPORTED_ACTS "db2:3306 (MySQL 8.0.36)"},
     0},
    {"MariaDB 10.5 primary, stopped MySQL replica, unknown orphan",
     {P("db1", .version = "10.5.23-MariaDB",
        .problem = "unsupported server: MariaDB 10.5.23 (failoverd supports MariaDB 10.6 to 11.x; MariaDB before "
                   "10.6 is not supported)"),
      R("db2", "db1", .threads = "NY", .version = "5.7.44-log",
        .problem = "unsupported server: MySQL 5.7.44 (failoverd supports MariaDB 10.6 to 11.x; MySQL 5.7/8.x is "
                   "not supported yet); replication stopped (IO=No, SQL=Yes)"),
      O("db3", .version = "",
        .problem = "unsupported server: server without a version (failoverd supports MariaDB 10.6 to 11.x; a "
                   "server whose version failoverd cannot read is not acted on)")},
     {FO_TOPO_P_UNSUPPORTED_CLUSTER FO_TOPO_P_UNSUPPORTED_ACTS
      "db1:3306 (MariaDB 10.5.23), db2:3306 (MySQL 5.7.44), db3:3306 (server without a version)"},
     0},
    {"MySQL servers fail the probe: their error is the problem",
     {X("db1", .was_primary = true, .last_error = MYSQL_PROBE_ERR, .problem = MYSQL_PROBE_ERR),
      X("db2", .last_error = "connect: Can't connect to server on 'db2' (111)"),
      X("db3", .last_error = "the server closed the idle probe connection; " MYSQL_PROBE_ERR,
        .problem = "the server closed the idle probe connection; " MYSQL_PROBE_ERR)},
     {FO_TOPO_P_UNSUPPORTED_CLUSTER FO_TOPO_P_UNSUPPORTED_ACTS "db1:3306 " FO_TOPO_P_UNSUPPORTED_PROBE
                                                               ", db3:3306 " FO_TOPO_P_UNSUPPORTED_PROBE},
     -1},
    {"supported versions: 10.6, 11.4, old handshake prefix",
     {P("db1", .version = "10.6.16-MariaDB-log"), R("db2", "db1", .version = "11.4.2-MariaDB"),
      R("db3", "db1", .version = "5.5.5-10.11.6-MariaDB")},
     {NULL},
     0},
    {"unsupported and no primary: both said",
     {O("db1", .version = "8.4.0",
        .problem = "unsupported server: MySQL 8.4.0 (failoverd supports MariaDB 10.6 to 11.x; MySQL 5.7/8.x is not "
                   "supported yet)")},
     {FO_TOPO_P_UNSUPPORTED_CLUSTER FO_TOPO_P_UNSUPPORTED_ACTS "db1:3306 (MySQL 8.4.0)", FO_TOPO_P_NO_PRIMARY},
     -1},
    {"1 primary + 2 replicas", {P("db1"), R("db2", "db1"), R("db3", "db1")}, {NULL}, 0},
    {"chains are allowed", {P("db1"), R("db2", "db1"), R("db3", "db2")}, {NULL}, 0},
    {"orphan next to a primary is not a cluster problem", {P("db1"), R("db2", "db1"), O("db4")}, {NULL}, 0},
    {"primary listed last", {R("db2", "db1"), R("db3", "db1"), P("db1")}, {NULL}, 2},
    {"two writable", {P("db1"), P("db2"), R("db3", "db1")}, {"multiple writable: db1:3306, db2:3306"}, -1},
    {"three writable", {P("db1"), P("db2"), P("db3")}, {"multiple writable: db1:3306, db2:3306, db3:3306"}, -1},
    {"writable replica",
     {P("db1"), R("db2", "db1", .writable = true, .problem = "writable replica"), R("db3", "db1")},
     {"multiple writable: db1:3306, db2:3306"},
     0},
    {"writable replica alone",
     {O("db1"), R("db2", "db1", .writable = true, .problem = "writable replica")},
     {"no primary"},
     -1},
    {"replica pointing outside",
     {P("db1"), R("db2", "db1"),
      R("db3", "10.9.9.9", .problem = "replicates from outside the cluster (10.9.9.9:3306)")},
     {NULL},
     0},
    {"same host, other port is outside",
     {P("db1"), R("db2", "db1", .src_port = 3307, .problem = "replicates from outside the cluster (db1:3307)")},
     {NULL},
     0},
    /* A replica naming its source by another spelling still replicates from it (issue
     * 8.12, fo_addr_same): the source is recorded as the instance's configured host. */
    {"host names ignore case and a trailing dot",
     {P("db1.example.com"), R("db2", "DB1.Example.COM.", .source = "db1.example.com"),
      R("db3", "db1.example.com", .source = "db1.example.com")},
     {NULL},
     0},
    {"IPv4 as IPv4-mapped IPv6", {P("10.0.0.1"), R("10.0.0.2", "::ffff:10.0.0.1", .source = "10.0.0.1")}, {NULL}, 0},
    {"IPv6 spellings", {P("fd00::1"), R("db2", "FD00:0:0::0001", .source = "fd00::1")}, {NULL}, 0},
    {"a leading zero is not the same address",
     {P("10.0.0.1"), R("db2", "010.0.0.1", .problem = "replicates from outside the cluster (010.0.0.1:3306)")},
     {NULL},
     0},
    {"a name is never an address (no DNS)",
     {P("127.0.0.1"), R("db2", "localhost", .problem = "replicates from outside the cluster (localhost:3306)")},
     {NULL},
     0},
    {"a similar name is another host",
     {P("db1"), R("db2", "db1.", .source = "db1"),
      R("db3", "db11", .problem = "replicates from outside the cluster (db11:3306)")},
     {NULL},
     0},
    {"IO thread stopped with error text",
     {P("db1"), R("db2", "db1"),
      R("db3", "db1", .threads = "NY", .io_errno = 1593, .io_err = E1593,
        .problem = "replication stopped (IO=No, SQL=Yes): IO error 1593: " E1593)},
     {NULL},
     0},
    {"SQL thread stopped by a duplicate key",
     {P("db1"), R("db2", "db1", .threads = "YN", .sql_errno = 1062, .sql_err = E1062,
                  .problem = "replication stopped (IO=Yes, SQL=No): SQL error 1062: " E1062)},
     {NULL},
     0},
    {"both threads stopped by STOP SLAVE: no error text",
     {P("db1"), R("db2", "db1", .threads = "NN", .problem = "replication stopped (IO=No, SQL=No)")},
     {NULL},
     0},
    {"both errors",
     {P("db1"), R("db2", "db1", .threads = "NN", .io_errno = 2013, .io_err = "Lost connection", .sql_errno = 1146,
                  .sql_err = "Table 'd.x' doesn't exist",
                  .problem = "replication stopped (IO=No, SQL=No): IO error 2013: Lost connection | "
                             "SQL error 1146: Table 'd.x' doesn't exist")},
     {NULL},
     0},
    {"stale error text with threads running is not a problem",
     {P("db1"), R("db2", "db1", .sql_errno = 1062, .sql_err = E1062)},
     {NULL},
     0},
    {"several problems on one instance",
     {P("db1"), R("db2", "10.1.1.1", .writable = true, .threads = "NY",
                  .problem = "writable replica; replicates from outside the cluster (10.1.1.1:3306); "
                             "replication stopped (IO=No, SQL=Yes)")},
     {"multiple writable: db1:3306, db2:3306"},
     0},
    /* States we cannot interpret are not "stopped" (STYLE.md §17); a stopped thread
     * next to one wins. */
    {"IO Preparing",
     {P("db1"), R("db2", "db1", .threads = "PY", .problem = "replication state unknown (IO=Preparing, SQL=Yes)")},
     {NULL},
     0},
    {"unrecognized state shown as sent",
     {P("db1"), R("db2", "db1", .threads = "YU", .problem = "replication state unknown (IO=Yes, SQL=Reconnecting)")},
     {NULL},
     0},
    {"unsure with error text",
     {P("db1"), R("db2", "db1", .threads = "UY", .io_errno = 2003, .io_err = E2003,
                  .problem = "replication state unknown (IO=Reconnecting, SQL=Yes): IO error 2003: " E2003)},
     {NULL},
     0},
    {"stopped wins over unsure",
     {P("db1"), R("db2", "db1", .threads = "PN", .problem = "replication stopped (IO=Preparing, SQL=No)")},
     {NULL},
     0},
    {"all unreachable, one was primary", {X("db1", .was_primary = true), X("db2"), X("db3")}, {NULL}, -1},
    {"all unreachable, none was primary", {X("db1"), X("db2"), X("db3")}, {"no primary"}, -1},
    {"dead primary: replicas connecting",
     {X("db1", .was_primary = true),
      R("db2", "db1", .threads = "CY", .io_errno = 2003, .io_err = E2003,
        .problem = "replication stopped (IO=Connecting, SQL=Yes): IO error 2003: " E2003),
      R("db3", "db1", .threads = "CY", .problem = "replication stopped (IO=Connecting, SQL=Yes)")},
     {NULL},
     -1},
    {"orphan: fenced old primary, replicas still point at it",
     {O("db1", .was_primary = true), R("db2", "db1"), R("db3", "db1")},
     {"no primary"},
     -1},
    {"unreachable former replica does not count as primary", {X("db2"), O("db1"), R("db3", "db1")}, {"no primary"}, -1},
    {"two writable plus one unreachable",
     {P("db1"), X("db2", .was_primary = true), P("db3")},
     {"multiple writable: db1:3306, db3:3306"},
     -1},
    {"new primary elected, old one unreachable", {X("db1", .was_primary = true), P("db2"), R("db3", "db2")}, {NULL}, 1},
    {"empty cluster", {{0}}, {NULL}, -1},
};

static enum fo_thread_state thread_of(char c)
{
    switch (c) {
    case 'Y': return FO_THREAD_YES;
    case 'N': return FO_THREAD_NO;
    case 'C': return FO_THREAD_CONNECTING;
    case 'P': return FO_THREAD_PREPARING;
    case 'U': return FO_THREAD_UNRECOGNIZED;
    default: return FO_THREAD_UNKNOWN;
    }
}

/* The raw text the sample keeps, as sample.c would set it. */
static void thread_text(char c, char *out, size_t len)
{
    snprintf(out, len, "%s", c == 'U' ? "Reconnecting" : fo_thread_state_name(thread_of(c)));
}

static void build_sample(const struct inst *x, struct fo_sample *s)
{
    const char *t = x->threads ? x->threads : "YY";

    memset(s, 0, sizeof(*s));
    snprintf(s->version, sizeof(s->version), "%s", x->version ? x->version : V1011);
    s->server_id = 1;
    s->lag_s = -1;
    s->read_only = x->kind == 'O' || (x->kind == 'R' && !x->writable);
    if (x->kind != 'R') return;
    s->is_replica = true;
    snprintf(s->master_host, sizeof(s->master_host), "%s", x->src);
    s->master_port = (uint16_t)(x->src_port ? x->src_port : 3306);
    s->io_running = thread_of(t[0]);
    s->sql_running = thread_of(t[1]);
    thread_text(t[0], s->io_running_text, sizeof(s->io_running_text));
    thread_text(t[1], s->sql_running_text, sizeof(s->sql_running_text));
    s->lag_s = s->io_running == FO_THREAD_YES && s->sql_running == FO_THREAD_YES ? 0 : -1;
    s->last_io_errno = x->io_errno;
    snprintf(s->last_io_error, sizeof(s->last_io_error), "%s", x->io_err ? x->io_err : "");
    s->last_sql_errno = x->sql_errno;
    snprintf(s->last_sql_error, sizeof(s->last_sql_error), "%s", x->sql_err ? x->sql_err : "");
}

static unsigned count_inst(const struct scenario *sc)
{
    unsigned n = 0;

    while (n < MAX_INST && sc->in[n].host != NULL) n++;
    return n;
}

static void check_instance(const struct scenario *sc, unsigned i, const struct fo_topo_out *o)
{
    const struct inst *x = &sc->in[i];
    const char *want = x->problem ? x->problem : "";

    if (o->role != x->role || strcmp(o->problem, want) != 0)
        fprintf(stderr, "  %s: %s: role %s problem \"%s\"\n", sc->label, x->host, fo_role_name(o->role), o->problem);
    FO_CHECK_INT(o->role, x->role);
    FO_CHECK_STR(o->problem, want);
    if (x->role == FO_ROLE_REPLICA) {
        FO_CHECK_STR(o->source_host, x->source ? x->source : x->src);
        FO_CHECK_INT(o->source_port, x->src_port ? x->src_port : 3306);
    } else {
        FO_CHECK_STR(o->source_host, "");
        FO_CHECK_INT(o->source_port, 0);
    }
}

static void test_scenarios(void)
{
    static struct fo_sample samples[MAX_INST];
    struct fo_topo_in in[MAX_INST];
    struct fo_topo_out out[MAX_INST];
    static struct fo_topo_result res;
    const char *errors[MAX_INST];
    unsigned i, k, n, nc;

    for (i = 0; i < N_ELEMS(scenarios); i++) {
        const struct scenario *sc = &scenarios[i];
        n = count_inst(sc);
        for (k = 0; k < n; k++) {
            const struct inst *x = &sc->in[k];
            build_sample(x, &samples[k]);
            in[k] = (struct fo_topo_in){.host = x->host,
                                        .port = (uint16_t)x->port,
                                        .reachable = x->kind != 'x',
                                        .was_primary = x->was_primary,
                                        .s = x->kind != 'x' ? &samples[k] : NULL,
                                        .other_designated = x->other,
                                        .co_primary = x->co};
            errors[k] = x->last_error;
        }
        memset(out, 0x5a, sizeof(out));
        memset(&res, 0x5a, sizeof(res));
        fo_topology_infer_errors(in, n, 0, errors, out, &res);
        for (k = 0; k < n; k++) check_instance(sc, k, &out[k]);
        for (nc = 0; nc < MAX_CLUSTER && sc->cluster[nc] != NULL; nc++)
            ;
        if (res.n_problems != nc || res.primary != sc->primary)
            fprintf(stderr, "  %s: %u cluster problems (first \"%s\"), primary %d\n", sc->label, res.n_problems,
                    res.n_problems ? res.problems[0] : "", res.primary);
        FO_CHECK_INT(res.n_problems, nc);
        for (k = 0; k < nc && k < res.n_problems; k++) FO_CHECK_STR(res.problems[k], sc->cluster[k]);
        FO_CHECK_INT(res.primary, sc->primary);
    }
}

/* Long texts are cut to FO_PROBLEM_LEN with a trailing "...". */
static void test_truncation(void)
{
    static struct fo_sample s[2];
    struct fo_topo_in in[FO_TOPO_MAX_PROBLEMS + 2];
    struct fo_topo_out out[2];
    static struct fo_topo_result res;
    char hosts[FO_TOPO_MAX_PROBLEMS + 2][64];
    size_t len;
    unsigned i;

    memset(s, 0, sizeof(s));
    snprintf(s[0].version, sizeof(s[0].version), "%s", V1011);
    snprintf(s[1].version, sizeof(s[1].version), "%s", V1011);
    s[1].is_replica = true;
    s[1].read_only = true;
    snprintf(s[1].master_host, sizeof(s[1].master_host), "db1");
    s[1].master_port = 3306;
    s[1].io_running = FO_THREAD_NO;
    s[1].sql_running = FO_THREAD_YES;
    s[1].last_io_errno = 1;
    memset(s[1].last_io_error, 'e', FO_ERRTEXT_LEN - 1);
    in[0] = (struct fo_topo_in){.host = "db1", .port = 3306, .reachable = true, .was_primary = false, .s = &s[0]};
    in[1] = (struct fo_topo_in){.host = "db2", .port = 3306, .reachable = true, .was_primary = false, .s = &s[1]};
    fo_topology_infer(in, 2, out, &res);
    len = strlen(out[1].problem);
    FO_CHECK_INT(len, FO_PROBLEM_LEN - 1);
    FO_CHECK(strncmp(out[1].problem, "replication stopped (IO=No, SQL=Yes): IO error 1: eee", 53) == 0);
    FO_CHECK_STR(out[1].problem + len - 3, "...");

    /* Many writable instances: the list is cut, not overflowed. */
    for (i = 0; i < N_ELEMS(in); i++) {
        snprintf(hosts[i], sizeof(hosts[i]), "a-rather-long-host-name-%02u.example.com", i);
        in[i] =
            (struct fo_topo_in){.host = hosts[i], .port = 3306, .reachable = true, .was_primary = false, .s = &s[0]};
    }
    {
        static struct fo_topo_out many[N_ELEMS(in)];
        fo_topology_infer(in, N_ELEMS(in), many, &res);
    }
    FO_CHECK_INT(res.n_problems, 1);
    FO_CHECK(strncmp(res.problems[0], FO_TOPO_P_MULTIPLE_WRITABLE, strlen(FO_TOPO_P_MULTIPLE_WRITABLE)) == 0);
    FO_CHECK_INT(strlen(res.problems[0]), FO_PROBLEM_LEN - 1);
    FO_CHECK_STR(res.problems[0] + FO_PROBLEM_LEN - 4, "...");
    FO_CHECK_INT(res.primary, -1);
}

/* A cut never splits a UTF-8 character of a quoted error text. */
static void test_truncation_utf8(void)
{
    static struct fo_sample s[2];
    struct fo_topo_in in[2];
    struct fo_topo_out out[2];
    static struct fo_topo_result res;
    const char *prefix = "replication stopped (IO=No, SQL=Yes): IO error 10: ";
    size_t i, plen = strlen(prefix), len;

    memset(s, 0, sizeof(s));
    snprintf(s[0].version, sizeof(s[0].version), "%s", V1011);
    snprintf(s[1].version, sizeof(s[1].version), "%s", V1011);
    s[1].is_replica = true;
    s[1].read_only = true;
    snprintf(s[1].master_host, sizeof(s[1].master_host), "db1");
    s[1].master_port = 3306;
    s[1].io_running = FO_THREAD_NO;
    s[1].sql_running = FO_THREAD_YES;
    s[1].last_io_errno = 10;
    /* "é" (0xC3 0xA9) repeated: the prefix has an odd length, so the natural cut at
     * FO_PROBLEM_LEN - 4 falls on a continuation byte. */
    FO_CHECK(plen % 2 == 1);
    for (i = 0; i + 2 < FO_ERRTEXT_LEN; i += 2) {
        s[1].last_io_error[i] = (char)0xC3;
        s[1].last_io_error[i + 1] = (char)0xA9;
    }
    in[0] = (struct fo_topo_in){.host = "db1", .port = 3306, .reachable = true, .was_primary = false, .s = &s[0]};
    in[1] = (struct fo_topo_in){.host = "db2", .port = 3306, .reachable = true, .was_primary = false, .s = &s[1]};
    fo_topology_infer(in, 2, out, &res);
    len = strlen(out[1].problem);
    FO_CHECK_INT(len, FO_PROBLEM_LEN - 4 - 1 + 3);
    FO_CHECK(strncmp(out[1].problem, prefix, plen) == 0);
    FO_CHECK_INT((unsigned char)out[1].problem[len - 4], 0xA9); /* a whole "é" */
    FO_CHECK_STR(out[1].problem + len - 3, "...");
}

/* A source longer than any configured host (MariaDB allows 255 bytes) is outside the
 * cluster; source_host is cut to the store's bound with "...", never overflowed. */
static void test_long_source(void)
{
    static struct fo_sample s[2];
    struct fo_topo_in in[2];
    struct fo_topo_out out[2];
    static struct fo_topo_result res;
    char longhost[FO_SAMPLE_HOST_LEN];

    memset(s, 0, sizeof(s));
    snprintf(s[0].version, sizeof(s[0].version), "%s", V1011);
    snprintf(s[1].version, sizeof(s[1].version), "%s", V1011);
    memset(longhost, 'h', sizeof(longhost) - 1);
    longhost[sizeof(longhost) - 1] = '\0';
    s[1].is_replica = true;
    s[1].read_only = true;
    snprintf(s[1].master_host, sizeof(s[1].master_host), "%s", longhost);
    s[1].master_port = 3306;
    s[1].io_running = s[1].sql_running = FO_THREAD_YES;
    in[0] = (struct fo_topo_in){.host = "db1", .port = 3306, .reachable = true, .was_primary = false, .s = &s[0]};
    in[1] = (struct fo_topo_in){.host = "db2", .port = 3306, .reachable = true, .was_primary = false, .s = &s[1]};
    fo_topology_infer(in, 2, out, &res);
    FO_CHECK_INT(out[1].role, FO_ROLE_REPLICA);
    FO_CHECK_INT(strlen(out[1].source_host), FO_HOST_LEN - 1);
    FO_CHECK(strncmp(out[1].source_host, longhost, FO_HOST_LEN - 4) == 0);
    FO_CHECK_STR(out[1].source_host + FO_HOST_LEN - 4, "...");
    FO_CHECK(strncmp(out[1].problem, "replicates from outside the cluster (hhhh", 41) == 0);
    FO_CHECK_INT(strlen(out[1].problem), FO_PROBLEM_LEN - 1);
    FO_CHECK_INT(res.n_problems, 0);
    FO_CHECK_INT(res.primary, 0);
}

/* fo_addr_same (common/config.h), the comparison behind "replicates from": a table. */
static void test_addr_same(void)
{
    static const struct {
        const char *a;
        unsigned pa;
        const char *b;
        unsigned pb;
        bool same;
    } cases[] = {
        {"db1", 3306, "db1", 3306, true},
        {"db1", 3306, "db1", 3307, false}, /* ports always count */
        {"db1", 3306, "DB1", 3306, true},
        {"db1.example.com", 3306, "DB1.Example.Com.", 3306, true},
        {"db1.example.com.", 3306, "db1.example.com", 3306, true},
        {"db1..", 3306, "db1", 3306, false}, /* only one trailing dot */
        {"db1", 3306, "db11", 3306, false},
        {"db1", 3306, "db1.example.com", 3306, false}, /* no search domains */
        {"10.0.0.1", 3306, "10.0.0.1", 3306, true},
        {"10.0.0.1", 3306, "10.0.0.2", 3306, false},
        {"10.0.0.1", 3306, "::ffff:10.0.0.1", 3306, true},
        {"10.0.0.1", 3306, "::FFFF:a00:1", 3306, true},
        {"10.0.0.1", 3306, "[::ffff:10.0.0.1]", 3306, true},
        {"10.0.0.1", 3306, "010.0.0.1", 3306, false}, /* not a literal for inet_pton */
        {"010.0.0.1", 3306, "010.0.0.1", 3306, true}, /* then compared as text */
        {"10.0.0.1", 3306, "10.0.0.1.", 3306, false}, /* a name, not an address */
        {"10.0.0.1", 3306, "10.0.1", 3306, false},
        {"127.0.0.1", 3306, "localhost", 3306, false}, /* no DNS */
        {"::1", 3306, "0:0:0:0:0:0:0:1", 3306, true},
        {"::1", 3306, "[::1]", 3306, true},
        {"fd00::1", 3306, "FD00:0000::0001", 3306, true},
        {"fd00::1", 3306, "fd00::2", 3306, false},
        {"::1", 3306, "127.0.0.1", 3306, false},
        {"[::1", 3306, "::1", 3306, false},
        {"", 3306, "", 3306, false},
        {"db1", 3306, "", 3306, false},
        {".", 3306, ".", 3306, true},
    };
    unsigned i;

    for (i = 0; i < N_ELEMS(cases); i++) {
        bool ab = fo_addr_same(cases[i].a, (uint16_t)cases[i].pa, cases[i].b, (uint16_t)cases[i].pb);
        bool ba = fo_addr_same(cases[i].b, (uint16_t)cases[i].pb, cases[i].a, (uint16_t)cases[i].pa);
        if (ab != cases[i].same || ba != ab)
            fprintf(stderr, "  \"%s\":%u vs \"%s\":%u: %d %d\n", cases[i].a, cases[i].pa, cases[i].b, cases[i].pb, ab,
                    ba);
        FO_CHECK_INT(ab, cases[i].same);
        FO_CHECK_INT(ba, ab); /* symmetric */
    }
    FO_CHECK(!fo_addr_same(NULL, 3306, "db1", 3306));
    FO_CHECK(!fo_addr_same("db1", 3306, NULL, 3306));
    FO_CHECK(!fo_addr_same(NULL, 0, NULL, 0));
}

/* The problem texts match the header's constants. */
static void test_constants(void)
{
    FO_CHECK_STR(FO_TOPO_P_NO_PRIMARY, "no primary");
    FO_CHECK_STR(FO_TOPO_P_MULTIPLE_WRITABLE, "multiple writable: ");
    FO_CHECK_STR(FO_TOPO_P_WRITABLE_REPLICA, "writable replica");
    FO_CHECK_STR(FO_TOPO_P_OUTSIDE, "replicates from outside the cluster");
    FO_CHECK_STR(FO_TOPO_P_STOPPED, "replication stopped");
    FO_CHECK_STR(FO_TOPO_P_UNSURE, "replication state unknown");
    FO_CHECK_STR(fo_role_name(FO_ROLE_UNKNOWN), "unknown");
    FO_CHECK_STR(fo_role_name(FO_ROLE_PRIMARY), "primary");
    FO_CHECK_STR(fo_role_name(FO_ROLE_REPLICA), "replica");
    FO_CHECK_STR(fo_role_name(FO_ROLE_ORPHAN), "orphan");
    FO_CHECK(fo_role_name((enum fo_role)9) != NULL);
}

/* Issue 8.11: with a designated primary, another writable server without a source is
 * an orphan with a problem, not a second primary; without one (bootstrap) it is the
 * primary. */
static void test_stray_writer(void)
{
    struct fo_sample s[2];
    struct fo_topo_in in[2];
    struct fo_topo_out out[2];
    struct fo_topo_result res;

    memset(s, 0, sizeof(s));
    snprintf(s[0].version, sizeof(s[0].version), "%s", V1011);
    snprintf(s[1].version, sizeof(s[1].version), "%s", V1011);
    in[0] = (struct fo_topo_in){.host = "db1", .port = 3306, .reachable = true, .s = &s[0]};
    in[1] = (struct fo_topo_in){.host = "db2", .port = 3306, .reachable = true, .s = &s[1], .other_designated = true};
    fo_topology_infer(in, 2, out, &res);
    FO_CHECK_INT(out[0].role, FO_ROLE_PRIMARY);
    FO_CHECK_STR(out[0].problem, "");
    FO_CHECK_INT(out[1].role, FO_ROLE_ORPHAN);
    FO_CHECK_STR(out[1].problem, FO_TOPO_P_STRAY_WRITER);
    FO_CHECK_INT(res.primary, 0);
    FO_CHECK_INT(res.n_problems, 1);
    FO_CHECK_STR(res.problems[0], FO_TOPO_P_MULTIPLE_WRITABLE "db1:3306, db2:3306");
    /* Read-only and designated elsewhere: a plain orphan, no stray-writer problem. */
    s[1].read_only = true;
    fo_topology_infer(in, 2, out, &res);
    FO_CHECK_INT(out[1].role, FO_ROLE_ORPHAN);
    FO_CHECK_STR(out[1].problem, "");
    /* No designated primary yet: the writable one is the primary. */
    s[1].read_only = false;
    in[1].other_designated = false;
    in[0].reachable = false;
    in[0].s = NULL;
    fo_topology_infer(in, 2, out, &res);
    FO_CHECK_INT(out[1].role, FO_ROLE_PRIMARY);
}

FO_TEST_MAIN(FO_T(test_scenarios), FO_T(test_stray_writer), FO_T(test_truncation), FO_T(test_truncation_utf8),
             FO_T(test_long_source), FO_T(test_addr_same), FO_T(test_constants))
