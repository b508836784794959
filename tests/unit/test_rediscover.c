/* controller/admin/rediscover.h's pure comparison: a walk against the registered
 * servers -> unregistered and vanished replicas, and whether a new one may be adopted.
 * The timer, walks and proposals run against real mariadbd in
 * tests/integration/test_rediscover.py. */
#include <stdio.h>
#include <string.h>

#include "controller/admin/rediscover.h"
#include "fo_test.h"

#define P1 "0-1-10"
#define MARIADB "10.11.6-MariaDB-log"

/* A reached server; source "" = not a replica. */
static struct fo_discover_server srv(const char *host, unsigned port, uint64_t id, const char *src_host,
                                     unsigned src_port, bool ro, const char *state)
{
    struct fo_discover_server s;

    memset(&s, 0, sizeof s);
    snprintf(s.host, sizeof s.host, "%s", host);
    s.port = (uint16_t)port;
    s.visited = s.reached = true;
    s.s.server_id = id;
    s.s.read_only = ro;
    snprintf(s.s.version, sizeof s.s.version, "%s", MARIADB);
    snprintf(s.s.gtid_binlog_state, sizeof s.s.gtid_binlog_state, "%s", state);
    s.s.gtid_binlog_state_known = true;
    if (src_host[0] != '\0') {
        s.s.is_replica = true;
        s.s.n_sources = 1;
        snprintf(s.s.master_host, sizeof s.s.master_host, "%s", src_host);
        s.s.master_port = (uint16_t)src_port;
    }
    return s;
}

static struct fo_rediscover_member mem(const char *host, unsigned port, uint64_t id, bool up, bool exempt)
{
    struct fo_rediscover_member m;

    memset(&m, 0, sizeof m);
    snprintf(m.host, sizeof m.host, "%s", host);
    m.port = (uint16_t)port;
    m.server_id = id;
    m.up = up;
    m.exempt = exempt;
    return m;
}

static unsigned compare(const struct fo_rediscover_member *m, unsigned nm, const struct fo_discover_server *s,
                        unsigned ns, bool adopt, struct fo_rediscover_finding *out)
{
    struct fo_rediscover_in in = {m, nm, true, adopt, s, ns};

    return fo_rediscover_compare(&in, out, 8);
}

/* db1 (primary, exempt) and db2 registered; the walk finds db3 under db1 and db4 under
 * db3 (a replica of a replica: not judged). */
static void test_unregistered(void)
{
    struct fo_rediscover_member m[2] = {mem("10.0.0.1", 3306, 1, true, true), mem("10.0.0.2", 3306, 2, true, false)};
    struct fo_discover_server s[4] = {
        srv("10.0.0.1", 3306, 1, "", 0, false, P1), srv("10.0.0.2", 3306, 2, "10.0.0.1", 3306, true, P1),
        srv("10.0.0.3", 3306, 3, "10.0.0.1", 3306, true, P1), srv("10.0.0.4", 3306, 4, "10.0.0.3", 3306, true, P1)};
    struct fo_rediscover_finding f[8];

    FO_CHECK_INT(compare(m, 2, s, 4, false, f), 1);
    FO_CHECK_INT(f[0].kind, FO_REDISCOVER_UNREGISTERED);
    FO_CHECK_STR(f[0].line, "unregistered replica 10.0.0.3:3306 of 10.0.0.1:3306");
    FO_CHECK(!f[0].adoptable);
    FO_CHECK_INT(compare(m, 2, s, 4, true, f), 1);
    FO_CHECK(f[0].adoptable);
    FO_CHECK_STR(f[0].line, "unregistered replica 10.0.0.3:3306 of 10.0.0.1:3306");
    /* The same server under another address (its server_id is a member's): not new. */
    s[2].s.server_id = 2;
    FO_CHECK_INT(compare(m, 2, s, 4, false, f), 0);
}

/* Adoption: never writable, never errant, never an unknown state, never from an
 * unhealthy source, never an unsupported flavour. */
static void test_adopt_refusals(void)
{
    static const struct {
        bool ro, src_up, known;
        const char *state, *version, *why;
    } cases[] = {
        {true, true, true, "0-1-9", MARIADB, NULL},
        {false, true, true, "0-1-9", MARIADB, "(not adopted: writable (read_only=OFF))"},
        {true, true, true, "0-1-9,0-3-5", MARIADB, "(not adopted: errant GTIDs 0-3-5 (not on its source))"},
        {true, true, true, "0-1-11", MARIADB, "(not adopted: errant GTIDs 0-1-11"},
        {true, true, false, "0-1-9", MARIADB, "(not adopted: GTID state unknown"},
        {true, false, true, "0-1-9", MARIADB, "(not adopted: its source is not healthy)"},
        {true, true, true, "0-1-9", "8.0.36", "(not adopted: unsupported server: MySQL 8.0.36)"},
    };
    struct fo_rediscover_member m[1] = {mem("db1", 3306, 1, true, true)};
    struct fo_discover_server s[2];
    struct fo_rediscover_finding f[8];
    unsigned i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        m[0].up = cases[i].src_up;
        s[0] = srv("db1", 3306, 1, "", 0, false, P1);
        s[1] = srv("db3", 3306, 3, "db1", 3306, cases[i].ro, cases[i].state);
        s[1].s.gtid_binlog_state_known = cases[i].known;
        snprintf(s[1].s.version, sizeof s[1].s.version, "%s", cases[i].version);
        FO_CHECK_INT(compare(m, 1, s, 2, true, f), 1);
        FO_CHECK(f[0].adoptable == (cases[i].why == NULL));
        if (cases[i].why != NULL && strstr(f[0].line, cases[i].why) == NULL)
            FO_CHECK_STR(f[0].line, cases[i].why); /* shows both */
    }
}

/* Vanished: reached, not exempt, and replicating from outside the cluster or from
 * nobody; down, exempt or still under a member is not vanished. */
static void test_vanished(void)
{
    struct fo_rediscover_member m[5] = {mem("db1", 1, 1, true, true), mem("db2", 2, 2, true, false),
                                        mem("db3", 3, 3, false, false), mem("db4", 4, 4, true, false),
                                        mem("db5", 5, 5, true, true)};
    struct fo_discover_server s[6] = {srv("db1", 1, 1, "", 0, false, P1),
                                      srv("db2", 2, 2, "other", 9, true, P1), /* outside */
                                      srv("db3", 3, 3, "", 0, false, P1),     /* down: below */
                                      srv("db4", 4, 4, "", 0, true, P1),      /* replicates from nobody */
                                      srv("db5", 5, 5, "other", 9, true, P1), /* exempt (maintenance) */
                                      srv("other", 9, 9, "", 0, false, P1)};
    struct fo_rediscover_finding f[8];
    struct fo_rediscover_in in = {m, 5, true, false, s, 6};

    s[2].reached = false;
    FO_CHECK_INT(fo_rediscover_compare(&in, f, 8), 2);
    FO_CHECK_INT(f[0].kind, FO_REDISCOVER_VANISHED);
    FO_CHECK_STR(f[0].line, "vanished replica db2:2: replicates from other:9, outside the cluster");
    FO_CHECK_STR(f[1].line, "vanished replica db4:4: replicates from nobody (no replication source)");
    /* Without a designated primary, a member that replicates from nobody is taken as it. */
    in.has_primary = false;
    FO_CHECK_INT(fo_rediscover_compare(&in, f, 8), 1);
    /* A replica under another member (a chain) is fine. */
    s[1] = srv("db2", 2, 2, "db4", 4, true, P1);
    FO_CHECK_INT(fo_rediscover_compare(&in, f, 8), 0);
    /* The cap: counted, not written. */
    in.has_primary = true;
    s[1] = srv("db2", 2, 2, "other", 9, true, P1);
    FO_CHECK_INT(fo_rediscover_compare(&in, f, 1), 2);
}

FO_TEST_MAIN(FO_T(test_unregistered), FO_T(test_adopt_refusals), FO_T(test_vanished))
