/* libFuzzer target: controller/decide/gtid.c, GTID positions and sets.
 *
 * Input: two texts a and b separated by the first '\n' (b may be empty), each fed to
 * the MariaDB position parser, the MySQL GTID set parser and the binlog-state errant
 * check. Invariants checked, not only "no crash":
 *   - format(parse(x)) parses again to the same value, and formatting that is a fixed
 *     point (canonical text);
 *   - compare(p, p) is EQUAL and ahead_by(p, p) is 0; compare(a, b) and compare(b, a)
 *     mirror each other (AHEAD <-> BEHIND); a position BEHIND or EQUAL is ahead by 0;
 *   - MySQL sets: subset(a, a), missing(a, a) == 0, subset(a, b) == (missing(a, b) == 0),
 *     and a set is a subset of b exactly when its canonical text round-trips;
 *   - errant(s, s) finds nothing; errant(s, "") finds something exactly when s is
 *     non-empty, and the text it reports fits the buffer and is NUL-terminated. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/decide/gtid.h"

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_gtid: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#define TEXT_MAX 8192

static int mirror(int c)
{
    if (c == FO_GTID_AHEAD) return FO_GTID_BEHIND;
    if (c == FO_GTID_BEHIND) return FO_GTID_AHEAD;
    return c;
}

static void mariadb_one(const char *s, struct fo_mariadb_pos *p, int *ok)
{
    static struct fo_mariadb_pos q;
    static char t1[TEXT_MAX], t2[TEXT_MAX];
    char err[FO_ERRLEN];

    *ok = fo_gtid_mariadb_parse(s, p, err) == 0;
    if (!*ok) {
        CHECK(p->n == 0 && err[0] != '\0');
        return;
    }
    CHECK(p->n <= FO_GTID_MAX);
    for (unsigned i = 1; i < p->n; i++) CHECK(p->g[i - 1].domain < p->g[i].domain);
    CHECK(fo_gtid_mariadb_format(p, t1, sizeof t1) == 0);
    CHECK(fo_gtid_mariadb_parse(t1, &q, err) == 0);
    CHECK(q.n == p->n && memcmp(q.g, p->g, p->n * sizeof p->g[0]) == 0);
    CHECK(fo_gtid_mariadb_format(&q, t2, sizeof t2) == 0 && strcmp(t1, t2) == 0);
    CHECK(fo_gtid_mariadb_compare(p, p) == FO_GTID_EQUAL);
    CHECK(fo_gtid_mariadb_ahead_by(p, p) == 0);
}

static void mariadb_pair(const struct fo_mariadb_pos *a, const struct fo_mariadb_pos *b)
{
    enum fo_gtid_cmp ab = fo_gtid_mariadb_compare(a, b), ba = fo_gtid_mariadb_compare(b, a);

    CHECK((int)ba == mirror(ab));
    if (ab == FO_GTID_BEHIND || ab == FO_GTID_EQUAL) CHECK(fo_gtid_mariadb_ahead_by(a, b) == 0);
    if (fo_gtid_mariadb_ahead_by(a, b) > 0) CHECK(ab == FO_GTID_AHEAD || ab == FO_GTID_DIVERGED);
}

static void mysql_one(const char *s, struct fo_mysql_gtid_set *g, int *ok)
{
    static struct fo_mysql_gtid_set q;
    static char t1[TEXT_MAX * 4], t2[TEXT_MAX * 4];
    char err[FO_ERRLEN];

    *ok = fo_gtid_mysql_parse(s, g, err) == 0;
    if (!*ok) {
        CHECK(g->n == 0 && err[0] != '\0');
        return;
    }
    for (unsigned i = 0; i < g->n; i++) {
        const struct fo_mysql_uuid_set *u = &g->u[i];
        if (i > 0) CHECK(memcmp(g->u[i - 1].uuid, u->uuid, 16) < 0);
        CHECK(u->n >= 1 && u->n <= FO_GTID_MAX_INTERVALS);
        for (unsigned k = 0; k < u->n; k++) {
            CHECK(u->iv[k].start >= 1 && u->iv[k].start <= u->iv[k].end);
            if (k > 0) CHECK(u->iv[k - 1].end + 1 < u->iv[k].start); /* merged: not even adjacent */
        }
    }
    CHECK(fo_gtid_mysql_format(g, t1, sizeof t1) == 0);
    CHECK(fo_gtid_mysql_parse(t1, &q, err) == 0);
    CHECK(q.n == g->n);
    for (unsigned i = 0; i < g->n; i++)
        CHECK(memcmp(q.u[i].uuid, g->u[i].uuid, 16) == 0 && q.u[i].n == g->u[i].n &&
              memcmp(q.u[i].iv, g->u[i].iv, g->u[i].n * sizeof g->u[i].iv[0]) == 0);
    CHECK(fo_gtid_mysql_format(&q, t2, sizeof t2) == 0 && strcmp(t1, t2) == 0);
    CHECK(fo_gtid_mysql_subset(g, g) == 1);
    CHECK(fo_gtid_mysql_missing(g, g) == 0);
}

static void mysql_pair(const struct fo_mysql_gtid_set *a, const struct fo_mysql_gtid_set *b)
{
    uint64_t ab = fo_gtid_mysql_missing(a, b), ba = fo_gtid_mysql_missing(b, a);

    CHECK(fo_gtid_mysql_subset(a, b) == (ab == 0));
    CHECK(fo_gtid_mysql_subset(b, a) == (ba == 0));
    /* Both subsets of each other: the same set, so the same canonical text. */
    if (ab == 0 && ba == 0) {
        CHECK(a->n == b->n);
        for (unsigned i = 0; i < a->n; i++) CHECK(a->u[i].n == b->u[i].n);
    }
}

static void errant(const char *a, const char *b)
{
    char out[96], err[FO_ERRLEN];
    int rc;

    rc = fo_gtid_state_errant(a, a, out, sizeof out, err);
    CHECK(rc == 0 || rc == -FO_EINVAL);
    if (rc < 0) return;
    CHECK(out[0] == '\0');
    rc = fo_gtid_state_errant(a, "", out, sizeof out, err);
    CHECK(rc == (a[0] != '\0' ? 1 : 0));
    CHECK(memchr(out, '\0', sizeof out) != NULL);
    if (rc == 1) CHECK(out[0] != '\0');
    rc = fo_gtid_state_errant(a, b, out, sizeof out, err);
    CHECK(rc == 0 || rc == 1 || rc == -FO_EINVAL);
    CHECK(memchr(out, '\0', sizeof out) != NULL);
    rc = fo_gtid_state_errant(a, b, NULL, 0, err);
    CHECK(rc == 0 || rc == 1 || rc == -FO_EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fo_mariadb_pos ma, mb;
    static struct fo_mysql_gtid_set ya, yb;
    char *a, *b, *nl;
    int oka, okb;

    if (size > TEXT_MAX) return 0;
    a = malloc(size + 1);
    if (a == NULL) return 0;
    memcpy(a, data, size);
    a[size] = '\0';
    nl = memchr(a, '\n', size);
    b = nl ? nl + 1 : a + size;
    if (nl) *nl = '\0';

    mariadb_one(a, &ma, &oka);
    mariadb_one(b, &mb, &okb);
    if (oka && okb) mariadb_pair(&ma, &mb);
    mysql_one(a, &ya, &oka);
    mysql_one(b, &yb, &okb);
    if (oka && okb) mysql_pair(&ya, &yb);
    errant(a, b);
    errant(b, a);
    free(a);
    return 0;
}
