/* Unit tests for controller/decide/gtid.c: tables of positions and sets, well-formed and not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/decide/gtid.h"
#include "mysql/sample.h" /* FO_GTIDSTATE_LEN: the longest state a probe keeps */
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- MariaDB parse/format ---------------------------------------------------- */

struct mariadb_parse_case {
    const char *in;
    int rc;
    const char *canon; /* rc == 0: canonical text; otherwise a substring of err */
    unsigned n;        /* rc == 0: number of domains */
};

static const struct mariadb_parse_case mariadb_parse_cases[] = {
    {"", 0, "", 0},
    {"0-1-100", 0, "0-1-100", 1},
    /* Gtid_IO_Pos exactly as MariaDB 10.11 printed it: not sorted by domain. */
    {"3-10-2,0-10-6", 0, "0-10-6,3-10-2", 2},
    {"0-10-6,3-10-2", 0, "0-10-6,3-10-2", 2},
    {"2-1-1,0-1-1,1-1-1", 0, "0-1-1,1-1-1,2-1-1", 3},
    {"0-4294967295-18446744073709551615", 0, "0-4294967295-18446744073709551615", 1},
    {"4294967295-1-0", 0, "4294967295-1-0", 1},
    {"00-01-007", 0, "0-1-7", 1},
    {"garbage", FO_EINVAL, "decimal number", 0},
    {"0", FO_EINVAL, "after domain", 0},
    {"0-1", FO_EINVAL, "after server id", 0},
    {"0-1-", FO_EINVAL, "decimal number", 0},
    {"0-1-2-3", FO_EINVAL, "unexpected '-'", 0},
    {"0-1-99999999999999999999", FO_EINVAL, "out of range", 0},
    {"0-1-18446744073709551616", FO_EINVAL, "out of range", 0},
    {"4294967296-1-1", FO_EINVAL, "out of range", 0},
    {"0-4294967296-1", FO_EINVAL, "out of range", 0},
    {"0-1-2,0-2-3", FO_EINVAL, "domain 0 appears twice", 0},
    {"5-1-2,1-1-1,5-1-2", FO_EINVAL, "domain 5 appears twice", 0},
    {"0-1-2,", FO_EINVAL, "gtid #2", 0},
    {",0-1-2", FO_EINVAL, "gtid #1", 0},
    {"0-1-2,,1-1-1", FO_EINVAL, "gtid #2", 0},
    {" 0-1-2", FO_EINVAL, "decimal number", 0},
    {"0-1-2 ", FO_EINVAL, "unexpected ' ' at offset 5", 0},
    {"0-1-2, 1-1-1", FO_EINVAL, "gtid #2", 0},
    {"0-1-2\n", FO_EINVAL, "byte 0x0a", 0},
    {"\n", FO_EINVAL, "decimal number", 0},
    {" ", FO_EINVAL, "decimal number", 0},
    {"0 -1-2", FO_EINVAL, "after domain", 0},
    {"0-1--2", FO_EINVAL, "decimal number", 0},
    {"-0-1-2", FO_EINVAL, "decimal number", 0},
    {"+0-1-2", FO_EINVAL, "decimal number", 0},
    {"0-+1-2", FO_EINVAL, "decimal number", 0},
    {"0-1-0x10", FO_EINVAL, "unexpected 'x'", 0},
    {"0-1-1e3", FO_EINVAL, "unexpected 'e'", 0},
    {"a-1-2", FO_EINVAL, "decimal number", 0},
    {"0;1;2", FO_EINVAL, "after domain", 0},
};

static void test_mariadb_parse_table(void)
{
    struct fo_mariadb_pos p;
    char err[FO_ERRLEN], txt[256];
    unsigned i;

    for (i = 0; i < N_ELEMS(mariadb_parse_cases); i++) {
        const struct mariadb_parse_case *c = &mariadb_parse_cases[i];
        err[0] = '\0';
        p.n = 99;
        int rc = fo_gtid_mariadb_parse(c->in, &p, err);
        if (rc != c->rc) fprintf(stderr, "  case %u \"%s\": rc %d err \"%s\"\n", i, c->in, rc, err);
        FO_CHECK_INT(rc, c->rc);
        if (rc == 0) {
            FO_CHECK_INT(p.n, c->n);
            FO_CHECK_INT(fo_gtid_mariadb_format(&p, txt, sizeof(txt)), 0);
            FO_CHECK_STR(txt, c->canon);
        } else {
            FO_CHECK_INT(p.n, 0);
            if (strstr(err, c->canon) == NULL)
                fprintf(stderr, "  case %u \"%s\": err \"%s\" lacks \"%s\"\n", i, c->in, err, c->canon);
            FO_CHECK(strstr(err, c->canon) != NULL);
        }
    }
}

static void test_mariadb_parse_null(void)
{
    struct fo_mariadb_pos p;
    char err[FO_ERRLEN];

    FO_CHECK_INT(fo_gtid_mariadb_parse(NULL, &p, err), FO_EINVAL);
    FO_CHECK(strstr(err, "NULL") != NULL);
    /* err may be NULL. */
    FO_CHECK_INT(fo_gtid_mariadb_parse("x", &p, NULL), FO_EINVAL);
}

/* Builds "0-1-1,1-1-1,...,(n-1)-1-1" in reverse domain order. */
static char *many_domains(unsigned n)
{
    size_t len = (size_t)n * 24 + 1, used = 0;
    char *s = calloc(1, len);
    unsigned i;

    for (i = 0; i < n; i++) used += (size_t)snprintf(s + used, len - used, "%s%u-1-%u", i ? "," : "", n - 1 - i, i + 1);
    return s;
}

static void test_mariadb_domain_bound(void)
{
    struct fo_mariadb_pos p;
    char err[FO_ERRLEN];
    char *s;

    s = many_domains(FO_GTID_MAX);
    FO_CHECK_INT(fo_gtid_mariadb_parse(s, &p, err), 0);
    FO_CHECK_INT(p.n, FO_GTID_MAX);
    FO_CHECK_INT(p.g[0].domain, 0);
    FO_CHECK_INT(p.g[FO_GTID_MAX - 1].domain, FO_GTID_MAX - 1);
    FO_CHECK_INT(p.g[0].seqno, FO_GTID_MAX); /* domain 0 was written last */
    free(s);

    s = many_domains(FO_GTID_MAX + 1);
    FO_CHECK_INT(fo_gtid_mariadb_parse(s, &p, err), FO_EINVAL);
    FO_CHECK(strstr(err, "more than 64 domains") != NULL);
    FO_CHECK_INT(p.n, 0);
    free(s);
}

static void test_mariadb_format_bounds(void)
{
    struct fo_mariadb_pos p;
    char buf[32];

    FO_CHECK_INT(fo_gtid_mariadb_parse("0-1-100,1-2-5", &p, NULL), 0);
    /* "0-1-100,1-2-5" is 13 characters: 14 bytes fit, 13 do not. */
    FO_CHECK_INT(fo_gtid_mariadb_format(&p, buf, 14), 0);
    FO_CHECK_STR(buf, "0-1-100,1-2-5");
    FO_CHECK_INT(fo_gtid_mariadb_format(&p, buf, 13), FO_ETOOBIG);
    FO_CHECK_STR(buf, "");
    FO_CHECK_INT(fo_gtid_mariadb_format(&p, buf, 5), FO_ETOOBIG);
    FO_CHECK_INT(fo_gtid_mariadb_format(&p, buf, 0), FO_ETOOBIG);
    p.n = 0;
    FO_CHECK_INT(fo_gtid_mariadb_format(&p, buf, 1), 0);
    FO_CHECK_STR(buf, "");
}

/* ---- MariaDB compare / ahead_by ------------------------------------------------ */

struct mariadb_cmp_case {
    const char *a, *b;
    enum fo_gtid_cmp cmp;
    uint64_t a_ahead, b_ahead; /* ahead_by(a, b), ahead_by(b, a) */
};

static const struct mariadb_cmp_case mariadb_cmp_cases[] = {
    {"", "", FO_GTID_EQUAL, 0, 0},
    {"0-1-5", "0-1-5", FO_GTID_EQUAL, 0, 0},
    {"0-1-5,1-2-7", "1-2-7,0-1-5", FO_GTID_EQUAL, 0, 0},
    {"0-1-6", "0-1-5", FO_GTID_AHEAD, 1, 0},
    {"0-1-5", "0-1-6", FO_GTID_BEHIND, 0, 1},
    {"0-1-5", "", FO_GTID_AHEAD, 5, 0},
    {"", "0-1-5", FO_GTID_BEHIND, 0, 5},
    /* A domain only one side has counts as that side having more. */
    {"0-1-5,1-1-3", "0-1-5", FO_GTID_AHEAD, 3, 0},
    {"0-1-5", "0-1-5,1-1-3", FO_GTID_BEHIND, 0, 3},
    {"0-1-5,1-1-0", "0-1-5", FO_GTID_AHEAD, 0, 0},
    /* Each side has something the other lacks. */
    {"0-1-6", "0-1-5,1-1-3", FO_GTID_DIVERGED, 1, 3},
    {"0-1-9,1-1-3", "0-1-5,1-1-4", FO_GTID_DIVERGED, 4, 1},
    {"0-1-5", "1-1-5", FO_GTID_DIVERGED, 5, 5},
    /* Same seqno from two servers: forked history. */
    {"0-1-5", "0-2-5", FO_GTID_DIVERGED, 0, 0},
    /* A higher seqno from a new server after a failover is simply ahead. */
    {"0-2-10", "0-1-8", FO_GTID_AHEAD, 2, 0},
    /* Fixtures from a real 10.11 replica before and after one more transaction. */
    {"0-10-6,3-10-2", "3-10-3,0-10-6", FO_GTID_BEHIND, 0, 1},
    /* ahead_by saturates instead of wrapping. */
    {"0-1-18446744073709551615,1-1-18446744073709551615", "", FO_GTID_AHEAD, UINT64_MAX, 0},
    {"0-1-18446744073709551615", "0-1-0", FO_GTID_AHEAD, UINT64_MAX, 0},
};

static enum fo_gtid_cmp mirror(enum fo_gtid_cmp c)
{
    return c == FO_GTID_AHEAD ? FO_GTID_BEHIND : c == FO_GTID_BEHIND ? FO_GTID_AHEAD : c;
}

static void test_mariadb_compare_table(void)
{
    struct fo_mariadb_pos a, b;
    unsigned i;

    for (i = 0; i < N_ELEMS(mariadb_cmp_cases); i++) {
        const struct mariadb_cmp_case *c = &mariadb_cmp_cases[i];
        FO_CHECK_INT(fo_gtid_mariadb_parse(c->a, &a, NULL), 0);
        FO_CHECK_INT(fo_gtid_mariadb_parse(c->b, &b, NULL), 0);
        if (fo_gtid_mariadb_compare(&a, &b) != c->cmp) fprintf(stderr, "  case %u: \"%s\" vs \"%s\"\n", i, c->a, c->b);
        FO_CHECK_INT(fo_gtid_mariadb_compare(&a, &b), c->cmp);
        FO_CHECK_INT(fo_gtid_mariadb_compare(&b, &a), mirror(c->cmp));
        FO_CHECK(fo_gtid_mariadb_ahead_by(&a, &b) == c->a_ahead);
        FO_CHECK(fo_gtid_mariadb_ahead_by(&b, &a) == c->b_ahead);
    }
}

/* ---- MySQL parse/format ------------------------------------------------------ */

#define UA "3e11fa47-71ca-11e1-9e33-c80aa9429562"
#define UA_UPPER "3E11FA47-71CA-11E1-9E33-C80AA9429562"
#define UB "8a94f357-aab4-11df-86ab-c80aa9429562"
#define UC "00000000-0000-0000-0000-000000000001"

struct mysql_parse_case {
    const char *in;
    int rc;
    const char *canon; /* rc == 0: canonical text; otherwise a substring of err */
};

static const struct mysql_parse_case mysql_parse_cases[] = {
    {"", 0, ""},
    {UA ":1", 0, UA ":1"},
    {UA_UPPER ":1-5:7-9", 0, UA ":1-5:7-9"},
    {"3e11FA47-71ca-11E1-9e33-C80aa9429562:1-5", 0, UA ":1-5"},
    {UA ":7-9:1-5", 0, UA ":1-5:7-9"},
    {UA ":1-5:6-9", 0, UA ":1-9"},
    {UA ":1-5:3-7", 0, UA ":1-7"},
    {UA ":5:1-4:6", 0, UA ":1-6"},
    {UA ":3:3", 0, UA ":3"},
    {UA ":10-20:1-2:5-6:3-4", 0, UA ":1-6:10-20"},
    {UA ":1-100:5-6", 0, UA ":1-100"},
    {UA ":1-9223372036854775807", 0, UA ":1-9223372036854775807"},
    /* Sorted by uuid; MySQL prints ",\n" between uuids. */
    {UB ":1-9,\n" UA ":1-5", 0, UA ":1-5," UB ":1-9"},
    {UA ":1,  \n\t\r\n" UB ":2", 0, UA ":1," UB ":2"},
    {UB ":1," UC ":1," UA ":1", 0, UC ":1," UA ":1," UB ":1"},
    /* A uuid repeated is merged, as MySQL does. */
    {UA ":1-3," UB ":1," UA ":4-5", 0, UA ":1-5," UB ":1"},
    {"garbage", FO_EINVAL, "bad uuid"},
    {"3e11fa47-71ca-11e1-9e33-c80aa942956:1", FO_EINVAL, "bad uuid"},
    {"3e11fa47-71ca-11e1-9e33-c80aa942956g:1", FO_EINVAL, "bad uuid"},
    {"3e11fa4771ca11e19e33c80aa9429562:1", FO_EINVAL, "bad uuid"},
    {"3e11fa47_71ca-11e1-9e33-c80aa9429562:1", FO_EINVAL, "bad uuid"},
    {"3e11fa47-71ca-11e1-9e33-c80aa9429562-:1", FO_EINVAL, "expected ':'"},
    {"{3e11fa47-71ca-11e1-9e33-c80aa9429562}:1", FO_EINVAL, "bad uuid"},
    {UA, FO_EINVAL, "expected ':'"},
    {UA ":", FO_EINVAL, "transaction number"},
    {UA ":5-3", FO_EINVAL, "reversed interval 5-3"},
    {UA ":0", FO_EINVAL, "0 is not valid"},
    {UA ":0-5", FO_EINVAL, "0 is not valid"},
    {UA ":1-5,", FO_EINVAL, "bad uuid"},
    {UA ":1-5,,", FO_EINVAL, "bad uuid"},
    {UA ":1-5,\n", FO_EINVAL, "bad uuid"},
    {" " UA ":1-5", FO_EINVAL, "bad uuid"},
    {UA ":1-5 ", FO_EINVAL, "unexpected ' '"},
    {UA ":1-5\n", FO_EINVAL, "byte 0x0a"},
    {UA ":1-5 ," UB ":1", FO_EINVAL, "unexpected ' '"},
    {UA ": 1-5", FO_EINVAL, "transaction number"},
    {UA ":1-99999999999999999999", FO_EINVAL, "out of range"},
    {UA ":9223372036854775808", FO_EINVAL, "out of range"},
    {UA ":1-18446744073709551615", FO_EINVAL, "out of range"},
    {UA ":1--5", FO_EINVAL, "transaction number"},
    {UA ":-1", FO_EINVAL, "transaction number"},
    {UA ":+1", FO_EINVAL, "transaction number"},
    {UA ":1-5::7", FO_EINVAL, "transaction number"},
    {UA ":1-5-7", FO_EINVAL, "unexpected '-'"},
    {UA ":tag:1-5", FO_EINVAL, "tagged"},
    {UA ":1;" UB ":1", FO_EINVAL, "unexpected ';'"},
};

static void test_mysql_parse_table(void)
{
    static struct fo_mysql_gtid_set g; /* large: keep it off the stack */
    char err[FO_ERRLEN], txt[512];
    unsigned i;

    for (i = 0; i < N_ELEMS(mysql_parse_cases); i++) {
        const struct mysql_parse_case *c = &mysql_parse_cases[i];
        err[0] = '\0';
        g.n = 99;
        int rc = fo_gtid_mysql_parse(c->in, &g, err);
        if (rc != c->rc) fprintf(stderr, "  case %u \"%s\": rc %d err \"%s\"\n", i, c->in, rc, err);
        FO_CHECK_INT(rc, c->rc);
        if (rc == 0) {
            FO_CHECK_INT(fo_gtid_mysql_format(&g, txt, sizeof(txt)), 0);
            FO_CHECK_STR(txt, c->canon);
        } else {
            FO_CHECK_INT(g.n, 0);
            if (strstr(err, c->canon) == NULL)
                fprintf(stderr, "  case %u \"%s\": err \"%s\" lacks \"%s\"\n", i, c->in, err, c->canon);
            FO_CHECK(strstr(err, c->canon) != NULL);
        }
    }
    FO_CHECK_INT(fo_gtid_mysql_parse(NULL, &g, err), FO_EINVAL);
    FO_CHECK_INT(fo_gtid_mysql_parse("x", &g, NULL), FO_EINVAL);
}

/* UA with n intervals "1:3:5:..." (step 2: nothing merges) or "1:2:3:..." (step 1). */
static char *many_intervals(unsigned n, unsigned step)
{
    size_t len = sizeof(UA) + (size_t)n * 12, used;
    char *s = calloc(1, len);
    unsigned i;

    used = (size_t)snprintf(s, len, "%s", UA);
    for (i = 0; i < n; i++) used += (size_t)snprintf(s + used, len - used, ":%u", 1 + i * step);
    return s;
}

static char *many_uuids(unsigned n)
{
    size_t len = (size_t)n * 48 + 1, used = 0;
    char *s = calloc(1, len);
    unsigned i;

    for (i = 0; i < n; i++)
        used += (size_t)snprintf(s + used, len - used, "%s00000000-0000-0000-0000-%012x:1-%u", i ? ",\n" : "", n - i,
                                 i + 1);
    return s;
}

static void test_mysql_bounds(void)
{
    static struct fo_mysql_gtid_set g;
    char err[FO_ERRLEN];
    char *s;

    s = many_intervals(FO_GTID_MAX_INTERVALS, 2);
    FO_CHECK_INT(fo_gtid_mysql_parse(s, &g, err), 0);
    FO_CHECK_INT(g.u[0].n, FO_GTID_MAX_INTERVALS);
    free(s);

    s = many_intervals(FO_GTID_MAX_INTERVALS + 1, 2);
    FO_CHECK_INT(fo_gtid_mysql_parse(s, &g, err), FO_EINVAL);
    FO_CHECK(strstr(err, "more than 64 intervals") != NULL);
    free(s);

    /* The bound applies after merging: 200 adjacent transactions are one interval. */
    s = many_intervals(200, 1);
    FO_CHECK_INT(fo_gtid_mysql_parse(s, &g, err), 0);
    FO_CHECK_INT(g.u[0].n, 1);
    FO_CHECK(g.u[0].iv[0].start == 1 && g.u[0].iv[0].end == 200);
    free(s);

    s = many_uuids(FO_GTID_MAX);
    FO_CHECK_INT(fo_gtid_mysql_parse(s, &g, err), 0);
    FO_CHECK_INT(g.n, FO_GTID_MAX);
    FO_CHECK_INT(g.u[0].uuid[15], 1); /* sorted: the last one written comes first */
    FO_CHECK(g.u[0].iv[0].end == FO_GTID_MAX);
    free(s);

    s = many_uuids(FO_GTID_MAX + 1);
    FO_CHECK_INT(fo_gtid_mysql_parse(s, &g, err), FO_EINVAL);
    FO_CHECK(strstr(err, "more than 64 uuids") != NULL);
    free(s);
}

static void test_mysql_format_bounds(void)
{
    static struct fo_mysql_gtid_set g;
    char buf[128];
    const char *want = UA ":1-5:7";

    FO_CHECK_INT(fo_gtid_mysql_parse(UA_UPPER ":7:1-5", &g, NULL), 0);
    FO_CHECK_INT(fo_gtid_mysql_format(&g, buf, strlen(want) + 1), 0);
    FO_CHECK_STR(buf, want);
    FO_CHECK_INT(fo_gtid_mysql_format(&g, buf, strlen(want)), FO_ETOOBIG);
    FO_CHECK_STR(buf, "");
    FO_CHECK_INT(fo_gtid_mysql_format(&g, buf, 10), FO_ETOOBIG);
    FO_CHECK_INT(fo_gtid_mysql_format(&g, buf, 0), FO_ETOOBIG);
}

/* ---- MySQL subset / missing ---------------------------------------------------- */

struct mysql_sub_case {
    const char *a, *b;
    int subset;
    uint64_t missing; /* transactions in a not in b */
};

static const struct mysql_sub_case mysql_sub_cases[] = {
    {"", "", 1, 0},
    {"", UA ":1", 1, 0},
    {UA ":1", "", 0, 1},
    {UA ":1-5", UA ":1-5", 1, 0},
    {UA ":1-5", UA ":1-10", 1, 0},
    {UA ":1-10", UA ":1-5", 0, 5},
    {UA ":1-10", UA ":1-3:5-7:10", 0, 3},
    {UA ":2-8", UA ":1-3:5:7-20", 0, 2},
    {UA ":1-5", UB ":1-5", 0, 5},
    {UA ":1-5," UB ":1-2", UA ":1-5", 0, 2},
    {UA ":1-5," UB ":1-2", UB ":1-9,\n" UA ":1-7", 1, 0},
    {UA ":3:5:7", UA ":1-10", 1, 0},
    {UA ":1-10", UA ":3:5:7", 0, 7},
    {UA ":1-9223372036854775807", "", 0, 9223372036854775807ULL},
    {UA ":1-9223372036854775807", UA ":2-9223372036854775807", 0, 1},
    /* The count saturates instead of wrapping. */
    {UA ":1-9223372036854775807," UB ":1-9223372036854775807," UC ":1-9223372036854775807", "", 0, UINT64_MAX},
};

static void test_mysql_subset_table(void)
{
    static struct fo_mysql_gtid_set a, b;
    unsigned i;

    for (i = 0; i < N_ELEMS(mysql_sub_cases); i++) {
        const struct mysql_sub_case *c = &mysql_sub_cases[i];
        FO_CHECK_INT(fo_gtid_mysql_parse(c->a, &a, NULL), 0);
        FO_CHECK_INT(fo_gtid_mysql_parse(c->b, &b, NULL), 0);
        if (fo_gtid_mysql_missing(&a, &b) != c->missing)
            fprintf(stderr, "  case %u: missing %llu\n", i, (unsigned long long)fo_gtid_mysql_missing(&a, &b));
        FO_CHECK_INT(fo_gtid_mysql_subset(&a, &b), c->subset);
        FO_CHECK(fo_gtid_mysql_missing(&a, &b) == c->missing);
        /* Every set is a subset of itself. */
        FO_CHECK_INT(fo_gtid_mysql_subset(&a, &a), 1);
        FO_CHECK(fo_gtid_mysql_missing(&b, &b) == 0);
    }
}

/* ---- MariaDB gtid_binlog_state: errant transactions ------------------------------ */

struct errant_case {
    const char *label;
    const char *server, *primary;
    int rc;
    const char *out; /* rc >= 0: the errant entries; rc < 0: a substring of err */
};

static const struct errant_case errant_cases[] = {
    /* The case of issue 8.8: the old primary (server 1) committed 0-1-11451 locally after
     * the semi-sync timeout; the new primary (server 3) continued domain 0 with higher
     * seqnos. Per domain the primary is "ahead", yet it lacks 0-1-11451. */
    {"issue 8.8", "0-1-11451", "0-1-11450,0-3-11460", 1, "0-1-11451"},
    {"issue 8.8, old primary's full state", "0-2-100,0-1-11451", "0-2-100,0-1-11450,0-3-11460", 1, "0-1-11451"},
    /* Captured from MariaDB 10.11 (entries of one domain in log order, not sorted). */
    {"replica caught up", "0-3-2,0-1-3,2-1-1", "0-3-2,0-1-3,2-1-1", 0, ""},
    {"replica behind", "0-1-11450", "0-1-11450,0-3-11460", 0, ""},
    {"replica behind in every domain", "0-1-5,1-1-7", "1-1-9,0-1-6", 0, ""},
    {"equal single", "0-1-100", "0-1-100", 0, ""},
    {"primary has more servers", "0-1-100", "0-2-50,0-1-100,0-9-1000", 0, ""},
    {"one seqno ahead", "0-1-101", "0-1-100", 1, "0-1-101"},
    {"server id the primary never saw", "0-7-1", "0-1-100", 1, "0-7-1"},
    {"domain the primary never saw", "0-1-100,5-1-1", "0-1-100", 1, "5-1-1"},
    {"multi-domain, two errant", "2-4-9,0-1-100,1-1-50", "0-1-100,1-1-49,2-4-8", 1, "2-4-9,1-1-50"},
    {"same seqno, other server", "0-2-100", "0-1-100", 1, "0-2-100"},
    {"max numbers", "4294967295-4294967295-18446744073709551615", "4294967295-4294967295-18446744073709551614", 1,
     "4294967295-4294967295-18446744073709551615"},
    {"max numbers equal", "4294967295-4294967295-18446744073709551615", "4294967295-4294967295-18446744073709551615", 0,
     ""},
    /* Empty states: a server without binlog has nothing errant; against an empty
     * primary everything is errant. */
    {"both empty", "", "", 0, ""},
    {"server empty", "", "0-1-5", 0, ""},
    {"primary empty", "0-1-5,1-2-3", "", 1, "0-1-5,1-2-3"},
    /* Garbage on either side is an error naming that side, never "nothing errant". */
    {"server garbage", "garbage", "0-1-1", -FO_EINVAL, "server gtid_binlog_state: gtid #1: expected a decimal"},
    {"primary garbage", "0-1-1", "0-1", -FO_EINVAL, "primary gtid_binlog_state: gtid #1: expected '-' after server"},
    {"trailing comma", "0-1-1,", "0-1-1", -FO_EINVAL, "server gtid_binlog_state: gtid #2"},
    {"blank", "0-1-1", "0-1-1, 0-2-2", -FO_EINVAL, "primary gtid_binlog_state: gtid #2"},
    {"newline", "0-1-1\n", "0-1-1", -FO_EINVAL, "byte 0x0a"},
    {"out of range", "0-1-18446744073709551616", "0-1-1", -FO_EINVAL, "out of range"},
    {"negative", "0-1--1", "0-1-1", -FO_EINVAL, "decimal number"},
    {"pair twice", "0-1-1,0-1-2", "0-1-1", -FO_EINVAL, "server gtid_binlog_state: 0-1 appears twice"},
    {"pair twice on primary", "0-1-1", "1-2-3,0-1-5,1-2-4", -FO_EINVAL, "primary gtid_binlog_state: 1-2 appears twice"},
    {"mysql set", "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5", "", -FO_EINVAL, "server gtid_binlog_state"},
};

static void test_state_errant_table(void)
{
    char out[128], err[FO_ERRLEN];
    unsigned i;

    for (i = 0; i < N_ELEMS(errant_cases); i++) {
        const struct errant_case *c = &errant_cases[i];
        memset(out, 'x', sizeof(out));
        err[0] = '\0';
        int rc = fo_gtid_state_errant(c->server, c->primary, out, sizeof(out), err);
        if (rc != c->rc) fprintf(stderr, "  case \"%s\": rc %d out \"%.40s\" err \"%s\"\n", c->label, rc, out, err);
        FO_CHECK_INT(rc, c->rc);
        if (rc >= 0) {
            FO_CHECK_STR(out, c->out);
        } else {
            FO_CHECK_STR(out, "");
            if (strstr(err, c->out) == NULL)
                fprintf(stderr, "  case \"%s\": err \"%s\" lacks \"%s\"\n", c->label, err, c->out);
            FO_CHECK(strstr(err, c->out) != NULL);
        }
    }
}

static void test_state_errant_null(void)
{
    char out[16] = "x", err[FO_ERRLEN];

    FO_CHECK_INT(fo_gtid_state_errant(NULL, "", out, sizeof(out), err), -FO_EINVAL);
    FO_CHECK_STR(err, "server gtid_binlog_state is NULL");
    FO_CHECK_STR(out, "");
    FO_CHECK_INT(fo_gtid_state_errant("", NULL, out, sizeof(out), err), -FO_EINVAL);
    FO_CHECK_STR(err, "primary gtid_binlog_state is NULL");
    /* err and out may be NULL (out with outlen 0): the verdict alone. */
    FO_CHECK_INT(fo_gtid_state_errant("x", "", out, sizeof(out), NULL), -FO_EINVAL);
    FO_CHECK_INT(fo_gtid_state_errant("0-1-2", "0-1-1", NULL, 0, NULL), 1);
    FO_CHECK_INT(fo_gtid_state_errant("0-1-1", "0-1-1", NULL, 0, NULL), 0);
}

/* The list of errant entries is cut at whole entries and says so. */
static void test_state_errant_out_bounds(void)
{
    const char *server = "0-1-100,1-1-200,2-1-300", *primary = "";
    char out[32];

    /* "0-1-100,1-1-200,2-1-300" is 23 characters: 24 bytes hold it all. */
    FO_CHECK_INT(fo_gtid_state_errant(server, primary, out, 24, NULL), 1);
    FO_CHECK_STR(out, "0-1-100,1-1-200,2-1-300");
    /* 23 bytes: the last entry does not fit, and the mark needs the room after the second. */
    FO_CHECK_INT(fo_gtid_state_errant(server, primary, out, 23, NULL), 1);
    FO_CHECK_STR(out, "0-1-100,1-1-200,...");
    FO_CHECK_INT(fo_gtid_state_errant(server, primary, out, 20, NULL), 1);
    FO_CHECK_STR(out, "0-1-100,1-1-200,...");
    FO_CHECK_INT(fo_gtid_state_errant(server, primary, out, 19, NULL), 1);
    FO_CHECK_STR(out, "0-1-100,...");
    FO_CHECK_INT(fo_gtid_state_errant(server, primary, out, 12, NULL), 1);
    FO_CHECK_STR(out, "0-1-100,...");
    FO_CHECK_INT(fo_gtid_state_errant(server, primary, out, 11, NULL), 1);
    FO_CHECK_STR(out, "...");
    FO_CHECK_INT(fo_gtid_state_errant(server, primary, out, 4, NULL), 1);
    FO_CHECK_STR(out, "...");
    FO_CHECK_INT(fo_gtid_state_errant(server, primary, out, 3, NULL), 1);
    FO_CHECK_STR(out, ""); /* no room even for the mark: still 1 */
    FO_CHECK_INT(fo_gtid_state_errant(server, primary, out, 1, NULL), 1);
    FO_CHECK_STR(out, "");
    /* A single entry needs no room for a mark. */
    FO_CHECK_INT(fo_gtid_state_errant("0-1-100", "", out, 8, NULL), 1);
    FO_CHECK_STR(out, "0-1-100");
    FO_CHECK_INT(fo_gtid_state_errant("0-1-100", "", out, 7, NULL), 1);
    FO_CHECK_STR(out, "...");
}

/* n entries "d-s-n" over several domains and server ids, each distinct; the shortest
 * form when small is set ("0-1-1" style, to fill FO_GTIDSTATE_LEN with entries). */
static char *many_entries(unsigned n, unsigned first_server, uint64_t seqno)
{
    size_t len = (size_t)n * 48 + 1, used = 0;
    char *s = calloc(1, len);
    unsigned i;

    for (i = 0; i < n; i++)
        used += (size_t)snprintf(s + used, len - used, "%s%u-%u-%llu", i ? "," : "", i % 4, first_server + i,
                                 (unsigned long long)seqno);
    return s;
}

/* Long lists: the largest state a probe keeps always parses, FO_GTID_STATE_MAX entries
 * parse, one more is an error (not a silent cut that could hide an errant entry). */
static void test_state_errant_long_lists(void)
{
    char err[FO_ERRLEN], out[64];
    char *a, *b, *fill;
    size_t used = 0;
    unsigned n = 0;

    /* The densest text of FO_GTIDSTATE_LEN - 1 bytes ("0-1-1" entries of distinct
     * pairs, ~6 bytes each) stays within FO_GTID_STATE_MAX entries. */
    fill = calloc(1, FO_GTIDSTATE_LEN);
    while (used + 16 < FO_GTIDSTATE_LEN - 1)
        used += (size_t)snprintf(fill + used, FO_GTIDSTATE_LEN - used, "%s%u-%u-1", n ? "," : "", n % 10, n / 10), n++;
    FO_CHECK(n <= FO_GTID_STATE_MAX);
    FO_CHECK_INT(fo_gtid_state_errant(fill, fill, out, sizeof(out), err), 0);
    free(fill);

    a = many_entries(FO_GTID_STATE_MAX, 1, 7);
    b = many_entries(FO_GTID_STATE_MAX, 1, 7);
    FO_CHECK_INT(fo_gtid_state_errant(a, b, out, sizeof(out), err), 0);
    free(b);
    /* The primary is one behind on every pair: every entry is errant, the list is cut. */
    b = many_entries(FO_GTID_STATE_MAX, 1, 6);
    FO_CHECK_INT(fo_gtid_state_errant(a, b, out, sizeof(out), err), 1);
    FO_CHECK(strncmp(out, "0-1-7,1-2-7,2-3-7,", 18) == 0);
    FO_CHECK(strlen(out) < sizeof(out));
    FO_CHECK_STR(out + strlen(out) - 4, ",...");
    /* The last entry alone is errant: found at the end of a full list. */
    free(b);
    b = many_entries(FO_GTID_STATE_MAX - 1, 1, 7);
    FO_CHECK_INT(fo_gtid_state_errant(a, b, out, sizeof(out), err), 1);
    FO_CHECK_STR(out, "3-1024-7");
    free(a), free(b);

    a = many_entries(FO_GTID_STATE_MAX + 1, 1, 7);
    FO_CHECK_INT(fo_gtid_state_errant(a, "", out, sizeof(out), err), -FO_EINVAL);
    FO_CHECK_STR(err, "server gtid_binlog_state: more than 1024 entries");
    FO_CHECK_INT(fo_gtid_state_errant("", a, out, sizeof(out), err), -FO_EINVAL);
    FO_CHECK_STR(err, "primary gtid_binlog_state: more than 1024 entries");
    free(a);
}

FO_TEST_MAIN(FO_T(test_state_errant_table), FO_T(test_state_errant_null), FO_T(test_state_errant_out_bounds),
             FO_T(test_state_errant_long_lists), FO_T(test_mariadb_parse_table), FO_T(test_mariadb_parse_null),
             FO_T(test_mariadb_domain_bound), FO_T(test_mariadb_format_bounds), FO_T(test_mariadb_compare_table),
             FO_T(test_mysql_parse_table), FO_T(test_mysql_bounds), FO_T(test_mysql_format_bounds),
             FO_T(test_mysql_subset_table))
