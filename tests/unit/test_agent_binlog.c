/* Unit tests for agent/binlog.h's pure parts (binlog salvage, issue 13): the index
 * file parser, the start-position check (a request's text becomes an argv word), and
 * the GTID scanner fed mariadb-binlog's output in pieces of every size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/binlog.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct index_case {
    const char *text;
    int rc;
    unsigned n;
    const char *first, *last;
};

static const struct index_case index_cases[] = {
    {"./mysql-bin.000001\n./mysql-bin.000002\n", 0, 2, "/var/lib/mysql/mysql-bin.000001",
     "/var/lib/mysql/mysql-bin.000002"},
    {"/data/binlog/b.000007\r\n\n\n/data/binlog/b.000008", 0, 2, "/data/binlog/b.000007", "/data/binlog/b.000008"},
    {"mysql-bin.000003\n", 0, 1, "/var/lib/mysql/mysql-bin.000003", "/var/lib/mysql/mysql-bin.000003"},
    {"", 0, 0, NULL, NULL},
    {"../../etc/shadow\n", FO_EINVAL, 0, NULL, NULL},
    {"./a\x01b\n", FO_EINVAL, 0, NULL, NULL},
    {"a\nb\nc\nd\n", FO_ETOOBIG, 3, NULL, NULL},
};

static void test_index(void)
{
    static char files[3][FO_PATH_LEN];
    unsigned i, n;
    char err[FO_ERRLEN];

    for (i = 0; i < N_ELEMS(index_cases); i++) {
        const struct index_case *c = &index_cases[i];
        int rc = fo_binlog_index_parse("/var/lib/mysql/mysql-bin.index", c->text, strlen(c->text), files, 3, &n, err);
        FO_CHECK_INT(rc, c->rc);
        if (rc != 0) continue;
        FO_CHECK_INT(n, c->n);
        if (c->first) FO_CHECK_STR(files[0], c->first);
        if (c->last) FO_CHECK_STR(files[n - 1], c->last);
    }
    /* A path that does not fit is refused, never cut. */
    {
        char *big = malloc(FO_PATH_LEN + 8);
        FO_CHECK(big != NULL);
        if (big != NULL) {
            memset(big, 'a', FO_PATH_LEN + 4);
            big[FO_PATH_LEN + 4] = '\0';
            FO_CHECK_INT(fo_binlog_index_parse("/x/i.index", big, strlen(big), files, 3, &n, err), FO_EINVAL);
            free(big);
        }
    }
}

static void test_start_valid(void)
{
    static const char *const good[] = {"", "0-1-5", "0-1-5,1-2-300", "4294967295-4294967295-18446744073709551615"};
    static const char *const bad[] = {
        "-1-5",      "0-1",   "0-1-",    "0--5", "0-1-5,", ",0-1-5", "0-1-5-6", "0-1-5 ", "--start-datetime=x",
        "0-1-5,1-2", "a-b-c", "0-1-5;rm"};
    unsigned i;

    for (i = 0; i < N_ELEMS(good); i++) FO_CHECK(fo_binlog_start_valid(good[i]));
    for (i = 0; i < N_ELEMS(bad); i++) {
        if (fo_binlog_start_valid(bad[i])) printf("  accepted: '%s'\n", bad[i]);
        FO_CHECK(!fo_binlog_start_valid(bad[i]));
    }
}

/* mariadb-binlog's output around two transactions (shortened). */
static const char out[] = "/*!40019 SET @@session.max_delayed_threads=0*/;\n"
                          "DELIMITER /*!*/;\n"
                          "# at 654\n"
                          "#261207 20:04:02 server id 7  end_log_pos 654 CRC32 0x807a5bbd \tGTID 0-7-3 trans\n"
                          "/*M!100001 SET @@session.gtid_seq_no=3*//*!*/;\n"
                          "START TRANSACTION\n"
                          "# a comment that mentions GTID 9-9-9 without the tab\n"
                          "insert into t.a values(1,'x')\n"
                          "COMMIT/*!*/;\n"
                          "#261207 20:04:03 server id 7  end_log_pos 900 CRC32 0x1 \tGTID 0-7-4 ddl\n"
                          "create table t.b (i int)\n";

static void test_scan(void)
{
    size_t step;

    for (step = 1; step <= sizeof(out); step++) {
        struct fo_binlog_scan sc;
        size_t off;

        fo_binlog_scan_init(&sc);
        for (off = 0; off < sizeof(out) - 1; off += step)
            fo_binlog_scan_feed(&sc, out + off, off + step <= sizeof(out) - 1 ? step : sizeof(out) - 1 - off);
        FO_CHECK_INT(sc.transactions, 2);
        FO_CHECK_STR(sc.first_gtid, "0-7-3");
        FO_CHECK_STR(sc.last_gtid, "0-7-4");
    }
    /* A very long line (a BINLOG base64 block) is skipped, and the next one counts. */
    {
        struct fo_binlog_scan sc;
        char *l = malloc(5000);
        FO_CHECK(l != NULL);
        if (l == NULL) return;
        memset(l, 'A', 4999);
        l[0] = '#';
        l[4999] = '\n';
        fo_binlog_scan_init(&sc);
        fo_binlog_scan_feed(&sc, l, 5000);
        fo_binlog_scan_feed(&sc, "#x \tGTID 1-2-3 trans\n", 21);
        FO_CHECK_INT(sc.transactions, 1);
        FO_CHECK_STR(sc.last_gtid, "1-2-3");
        free(l);
    }
}

FO_TEST_MAIN(FO_T(test_index), FO_T(test_start_valid), FO_T(test_scan))
