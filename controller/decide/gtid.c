/* GTID position arithmetic (pure); see gtid.h for the contract.
 *
 * Parsing is strict because positions decide which replica is promoted (DESIGN.md
 * §6.3): anything we do not fully understand is rejected with a reason rather than
 * guessed at. Numbers go through strtoull with an end pointer and errno
 * (STYLE.md §10), and every loop is bounded by FO_GTID_MAX / FO_GTID_MAX_INTERVALS. */
#include "controller/decide/gtid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MySQL transaction numbers (GNOs) are 1 .. 2^63-1. */
#define MYSQL_GNO_MAX ((uint64_t)INT64_MAX)
#define UUID_TEXT_LEN 36

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

enum num_rc { NUM_OK = 0, NUM_SYNTAX, NUM_RANGE };

/* Parses an unsigned decimal at *p (no sign, no leading blanks: strtoull would
 * otherwise accept " -1") not greater than max, and advances *p past it. */
static enum num_rc parse_uint(const char **p, uint64_t max, uint64_t *out)
{
    unsigned long long v;
    char *end;

    if (!is_digit(**p)) return NUM_SYNTAX;
    errno = 0;
    v = strtoull(*p, &end, 10);
    if (errno == ERANGE || v > max) return NUM_RANGE;
    *out = v;
    *p = end;
    return NUM_OK;
}

/* Names the offending byte; non-printable ones (a stray newline) by code. */
static int unexpected_char(char *err, const char *s, const char *p)
{
    unsigned char c = (unsigned char)*p;

    if (c >= 0x20 && c < 0x7f) return fo_errf(err, FO_EINVAL, "unexpected '%c' at offset %zu", c, (size_t)(p - s));
    return fo_errf(err, FO_EINVAL, "unexpected byte 0x%02x at offset %zu", c, (size_t)(p - s));
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ---- MariaDB ------------------------------------------------------------------ */

static int mariadb_find(const struct fo_mariadb_pos *p, uint32_t domain)
{
    unsigned i;

    for (i = 0; i < p->n; i++)
        if (p->g[i].domain == domain) return (int)i;
    return -1;
}

/* Inserts g keeping p sorted by domain; the caller has checked room and uniqueness. */
static void mariadb_insert_sorted(struct fo_mariadb_pos *p, const struct fo_mariadb_gtid *g)
{
    unsigned i = p->n;

    while (i > 0 && p->g[i - 1].domain > g->domain) {
        p->g[i] = p->g[i - 1];
        i--;
    }
    p->g[i] = *g;
    p->n++;
}

/* Parses one "domain-server-seqno" at *p. */
static int mariadb_parse_one(const char **p, struct fo_mariadb_gtid *g, char *err, unsigned idx)
{
    uint64_t d, s, n;
    enum num_rc rc;

    rc = parse_uint(p, UINT32_MAX, &d);
    if (rc != 0) goto bad_number;
    if (**p != '-') return fo_errf(err, FO_EINVAL, "gtid #%u: expected '-' after domain", idx + 1);
    (*p)++;
    rc = parse_uint(p, UINT32_MAX, &s);
    if (rc != 0) goto bad_number;
    if (**p != '-') return fo_errf(err, FO_EINVAL, "gtid #%u: expected '-' after server id", idx + 1);
    (*p)++;
    rc = parse_uint(p, UINT64_MAX, &n);
    if (rc != 0) goto bad_number;
    g->domain = (uint32_t)d;
    g->server = (uint32_t)s;
    g->seqno = n;
    return 0;

bad_number:
    if (rc == NUM_RANGE) return fo_errf(err, FO_EINVAL, "gtid #%u: number out of range", idx + 1);
    return fo_errf(err, FO_EINVAL, "gtid #%u: expected a decimal number", idx + 1);
}

int fo_gtid_mariadb_parse(const char *s, struct fo_mariadb_pos *out, char err[FO_ERRLEN])
{
    struct fo_mariadb_gtid g;
    const char *p = s;
    int rc;

    out->n = 0;
    if (s == NULL) return fo_errf(err, FO_EINVAL, "gtid position is NULL");
    if (*p == '\0') return 0;
    for (;;) {
        if (out->n == FO_GTID_MAX) {
            rc = fo_errf(err, FO_EINVAL, "more than %d domains", FO_GTID_MAX);
            goto fail;
        }
        rc = mariadb_parse_one(&p, &g, err, out->n);
        if (rc != 0) goto fail;
        if (mariadb_find(out, g.domain) >= 0) {
            rc = fo_errf(err, FO_EINVAL, "domain %u appears twice", (unsigned)g.domain);
            goto fail;
        }
        mariadb_insert_sorted(out, &g);
        if (*p == '\0') return 0;
        if (*p != ',') {
            rc = unexpected_char(err, s, p);
            goto fail;
        }
        p++;
    }

fail:
    out->n = 0;
    return rc;
}

int fo_gtid_mariadb_format(const struct fo_mariadb_pos *p, char *out, size_t outlen)
{
    size_t used = 0;
    unsigned i;
    int w;

    if (outlen == 0) return FO_ETOOBIG;
    out[0] = '\0';
    for (i = 0; i < p->n; i++) {
        w = snprintf(out + used, outlen - used, "%s%u-%u-%llu", i ? "," : "", (unsigned)p->g[i].domain,
                     (unsigned)p->g[i].server, (unsigned long long)p->g[i].seqno);
        if (w < 0 || (size_t)w >= outlen - used) {
            out[0] = '\0';
            return FO_ETOOBIG;
        }
        used += (size_t)w;
    }
    return 0;
}

/* For one domain present on both sides: sets *a_more / *b_more. The same seqno from
 * two different servers means two different transactions (the histories forked), so
 * each side has something the other lacks. */
static void mariadb_cmp_domain(const struct fo_mariadb_gtid *x, const struct fo_mariadb_gtid *y, bool *a_more,
                               bool *b_more)
{
    if (x->seqno > y->seqno)
        *a_more = true;
    else if (x->seqno < y->seqno)
        *b_more = true;
    else if (x->server != y->server)
        *a_more = *b_more = true;
}

enum fo_gtid_cmp fo_gtid_mariadb_compare(const struct fo_mariadb_pos *a, const struct fo_mariadb_pos *b)
{
    bool a_more = false, b_more = false;
    unsigned i;
    int j;

    for (i = 0; i < a->n; i++) {
        j = mariadb_find(b, a->g[i].domain);
        if (j < 0)
            a_more = true; /* a domain only a has: a has more */
        else
            mariadb_cmp_domain(&a->g[i], &b->g[j], &a_more, &b_more);
    }
    for (i = 0; i < b->n; i++)
        if (mariadb_find(a, b->g[i].domain) < 0) b_more = true;
    if (a_more && b_more) return FO_GTID_DIVERGED;
    if (a_more) return FO_GTID_AHEAD;
    if (b_more) return FO_GTID_BEHIND;
    return FO_GTID_EQUAL;
}

/* Seqno arithmetic only: a domain b lacks counts a's whole seqno; a forked domain
 * with equal seqnos counts 0 (use fo_gtid_mariadb_compare to detect forks).
 * Saturates at UINT64_MAX. */
uint64_t fo_gtid_mariadb_ahead_by(const struct fo_mariadb_pos *a, const struct fo_mariadb_pos *b)
{
    uint64_t sum = 0;
    unsigned i;
    int j;

    for (i = 0; i < a->n; i++) {
        j = mariadb_find(b, a->g[i].domain);
        if (j < 0)
            sum = sat_add(sum, a->g[i].seqno);
        else if (a->g[i].seqno > b->g[j].seqno)
            sum = sat_add(sum, a->g[i].seqno - b->g[j].seqno);
    }
    return sum;
}

/* ---- MariaDB gtid_binlog_state ------------------------------------------------------- */

/* A gtid_binlog_state: one entry per (domain, server id), in the server's order. */
struct binlog_state {
    unsigned n;
    struct fo_mariadb_gtid g[FO_GTID_STATE_MAX];
};

static int state_find(const struct binlog_state *st, uint32_t domain, uint32_t server)
{
    unsigned i;

    for (i = 0; i < st->n; i++)
        if (st->g[i].domain == domain && st->g[i].server == server) return (int)i;
    return -1;
}

/* Parses text into st; which ("server", "primary") names the side in err. Returns 0
 * or FO_EINVAL. */
static int state_parse(const char *text, struct binlog_state *st, const char *which, char *err)
{
    char why[FO_ERRLEN];
    struct fo_mariadb_gtid g;
    const char *p = text;

    st->n = 0;
    if (text == NULL) return fo_errf(err, FO_EINVAL, "%s gtid_binlog_state is NULL", which);
    if (*p == '\0') return 0;
    for (;;) {
        if (st->n == FO_GTID_STATE_MAX)
            return fo_errf(err, FO_EINVAL, "%s gtid_binlog_state: more than %d entries", which, FO_GTID_STATE_MAX);
        if (mariadb_parse_one(&p, &g, why, st->n) != 0)
            return fo_errf(err, FO_EINVAL, "%s gtid_binlog_state: %s", which, why);
        /* MariaDB prints each pair once; a repeat means this is not a binlog state. */
        if (state_find(st, g.domain, g.server) >= 0)
            return fo_errf(err, FO_EINVAL, "%s gtid_binlog_state: %u-%u appears twice", which, (unsigned)g.domain,
                           (unsigned)g.server);
        st->g[st->n++] = g;
        if (*p == '\0') return 0;
        if (*p != ',') {
            unexpected_char(why, text, p);
            return fo_errf(err, FO_EINVAL, "%s gtid_binlog_state: %s", which, why);
        }
        p++;
    }
}

/* The primary lacks g: it has nothing from g's server in g's domain, or only older. */
static bool state_lacks(const struct binlog_state *primary, const struct fo_mariadb_gtid *g)
{
    int j = state_find(primary, g->domain, g->server);

    return j < 0 || primary->g[j].seqno < g->seqno;
}

/* Writes the errant entries of server (count of them: m) into out: whole entries only,
 * ",..." (or "...") when the rest does not fit. */
static void format_errant(const struct binlog_state *server, const struct binlog_state *primary, unsigned m, char *out,
                          size_t outlen)
{
    static const char mark[] = ",...";
    size_t used = 0, need;
    unsigned i, k = 0;
    char one[64];
    int w;

    for (i = 0; i < server->n; i++) {
        const struct fo_mariadb_gtid *g = &server->g[i];

        if (!state_lacks(primary, g)) continue;
        w = snprintf(one, sizeof(one), "%s%u-%u-%llu", k > 0 ? "," : "", (unsigned)g->domain, (unsigned)g->server,
                     (unsigned long long)g->seqno);
        if (w < 0) break;
        /* Room for this entry and its NUL, plus the cut mark if more entries follow. */
        need = used + (size_t)w + 1 + (k + 1 < m ? sizeof(mark) - 1 : 0);
        if (need > outlen) break;
        memcpy(out + used, one, (size_t)w + 1);
        used += (size_t)w;
        k++;
    }
    if (k < m) {
        const char *cut = used > 0 ? mark : mark + 1;
        if (used + strlen(cut) < outlen) memcpy(out + used, cut, strlen(cut) + 1);
    }
}

int fo_gtid_state_errant(const char *server_state, const char *primary_state, char *out, size_t outlen,
                         char err[FO_ERRLEN])
{
    struct binlog_state server, primary;
    unsigned i, m = 0;

    if (out == NULL) outlen = 0;
    if (outlen > 0) out[0] = '\0';
    if (state_parse(server_state, &server, "server", err) != 0) return -FO_EINVAL;
    if (state_parse(primary_state, &primary, "primary", err) != 0) return -FO_EINVAL;
    for (i = 0; i < server.n; i++)
        if (state_lacks(&primary, &server.g[i])) m++;
    if (m == 0) return 0;
    format_errant(&server, &primary, m, out, outlen);
    return 1;
}

/* ---- MySQL -------------------------------------------------------------------- */

/* Parses the 36-character "8-4-4-4-12" form, either case. */
static int uuid_parse(const char *p, uint8_t uuid[16])
{
    static const bool dash_at[UUID_TEXT_LEN] = {[8] = true, [13] = true, [18] = true, [23] = true};
    unsigned i, nib = 0;
    int h;

    memset(uuid, 0, 16);
    for (i = 0; i < UUID_TEXT_LEN; i++) {
        if (dash_at[i]) {
            if (p[i] != '-') return FO_EINVAL;
            continue;
        }
        h = hex_value(p[i]); /* also stops at '\0', which is not hex */
        if (h < 0) return FO_EINVAL;
        uuid[nib / 2] |= (uint8_t)(nib % 2 ? h : h << 4);
        nib++;
    }
    return 0;
}

/* Adds [start, end] to u, merging overlapping and adjacent intervals. */
static int interval_add(struct fo_mysql_uuid_set *u, uint64_t start, uint64_t end)
{
    struct fo_mysql_interval merged[FO_GTID_MAX_INTERVALS + 1];
    unsigned i, n = 0;
    bool placed = false;

    for (i = 0; i < u->n; i++) {
        const struct fo_mysql_interval *iv = &u->iv[i];
        if (iv->end + 1 < start) { /* entirely before, not adjacent (end <= 2^63-1) */
            merged[n++] = *iv;
        } else if (end + 1 < iv->start) { /* entirely after */
            if (!placed) {
                merged[n++] = (struct fo_mysql_interval){start, end};
                placed = true;
            }
            merged[n++] = *iv;
        } else { /* overlaps or touches: absorb it */
            start = iv->start < start ? iv->start : start;
            end = iv->end > end ? iv->end : end;
        }
    }
    if (!placed) merged[n++] = (struct fo_mysql_interval){start, end};
    if (n > FO_GTID_MAX_INTERVALS) return FO_ETOOBIG;
    memcpy(u->iv, merged, n * sizeof(merged[0]));
    u->n = n;
    return 0;
}

/* Parses "N" or "N-M" at *p. Both outputs are set on every path: the callers cannot
 * tell the compiler that fo_errf() never returns 0, and gcc -O3 would otherwise
 * report them as maybe-uninitialized (issue 10). */
static int interval_parse(const char **p, uint64_t *start, uint64_t *end, char *err)
{
    enum num_rc rc;

    *start = *end = 0;
    rc = parse_uint(p, MYSQL_GNO_MAX, start);
    if (rc == 0 && **p == '-') {
        (*p)++;
        rc = parse_uint(p, MYSQL_GNO_MAX, end);
    } else {
        *end = *start;
    }
    if (rc == NUM_RANGE)
        return fo_errf(err, FO_EINVAL, "transaction number out of range (max %llu)", (unsigned long long)MYSQL_GNO_MAX);
    if (rc != 0) return fo_errf(err, FO_EINVAL, "expected a transaction number or interval");
    if (*start == 0) return fo_errf(err, FO_EINVAL, "transaction number 0 is not valid");
    if (*start > *end)
        return fo_errf(err, FO_EINVAL, "reversed interval %llu-%llu", (unsigned long long)*start,
                       (unsigned long long)*end);
    return 0;
}

/* Returns the set for uuid, inserting an empty one in uuid order if needed. */
static struct fo_mysql_uuid_set *uuid_set_get(struct fo_mysql_gtid_set *g, const uint8_t uuid[16])
{
    unsigned i, pos = g->n;

    for (i = 0; i < g->n; i++) {
        int c = memcmp(g->u[i].uuid, uuid, 16);
        if (c == 0) return &g->u[i];
        if (c > 0) {
            pos = i;
            break;
        }
    }
    if (g->n == FO_GTID_MAX) return NULL;
    memmove(&g->u[pos + 1], &g->u[pos], (g->n - pos) * sizeof(g->u[0]));
    memset(&g->u[pos], 0, sizeof(g->u[pos]));
    memcpy(g->u[pos].uuid, uuid, 16);
    g->n++;
    return &g->u[pos];
}

/* Parses one "uuid:iv[:iv...]" element at *p. A uuid repeated in later elements is
 * merged into the same set, as MySQL does. */
static int mysql_parse_elem(const char **p, size_t off, struct fo_mysql_gtid_set *g, char *err)
{
    struct fo_mysql_uuid_set *u;
    uint8_t uuid[16];
    uint64_t start = 0, end = 0;
    int rc;

    if (uuid_parse(*p, uuid) != 0) return fo_errf(err, FO_EINVAL, "bad uuid \"%.36s\" at offset %zu", *p, off);
    *p += UUID_TEXT_LEN;
    if (**p != ':') return fo_errf(err, FO_EINVAL, "expected ':' after uuid");
    u = uuid_set_get(g, uuid);
    if (u == NULL) return fo_errf(err, FO_EINVAL, "more than %d uuids", FO_GTID_MAX);
    while (**p == ':') {
        (*p)++;
        if ((**p >= 'a' && **p <= 'z') || (**p >= 'A' && **p <= 'Z') || **p == '_')
            return fo_errf(err, FO_EINVAL, "expected a transaction number (tagged GTIDs are not supported)");
        rc = interval_parse(p, &start, &end, err);
        if (rc != 0) return rc;
        if (interval_add(u, start, end) != 0)
            return fo_errf(err, FO_EINVAL, "more than %d intervals for one uuid", FO_GTID_MAX_INTERVALS);
    }
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int fo_gtid_mysql_parse(const char *s, struct fo_mysql_gtid_set *out, char err[FO_ERRLEN])
{
    const char *p = s;
    int rc;

    out->n = 0;
    if (s == NULL) return fo_errf(err, FO_EINVAL, "gtid set is NULL");
    if (*p == '\0') return 0;
    for (;;) {
        rc = mysql_parse_elem(&p, (size_t)(p - s), out, err);
        if (rc != 0) goto fail;
        if (*p == '\0') return 0;
        if (*p != ',') {
            rc = unexpected_char(err, s, p);
            goto fail;
        }
        p++;
        while (is_space(*p)) p++;
    }

fail:
    out->n = 0;
    return rc;
}

static int format_append(char *out, size_t outlen, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int format_append(char *out, size_t outlen, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int w;

    va_start(ap, fmt);
    w = vsnprintf(out + *used, outlen - *used, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= outlen - *used) return FO_ETOOBIG;
    *used += (size_t)w;
    return 0;
}

static int uuid_format(const uint8_t uuid[16], char *out, size_t outlen, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    char txt[UUID_TEXT_LEN + 1];
    unsigned i, j = 0;

    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) txt[j++] = '-';
        txt[j++] = hex[uuid[i] >> 4];
        txt[j++] = hex[uuid[i] & 15];
    }
    txt[j] = '\0';
    return format_append(out, outlen, used, "%s", txt);
}

int fo_gtid_mysql_format(const struct fo_mysql_gtid_set *g, char *out, size_t outlen)
{
    size_t used = 0;
    unsigned i, k;
    int rc = 0;

    if (outlen == 0) return FO_ETOOBIG;
    out[0] = '\0';
    for (i = 0; i < g->n && rc == 0; i++) {
        const struct fo_mysql_uuid_set *u = &g->u[i];
        if (i > 0) rc = format_append(out, outlen, &used, ",");
        if (rc == 0) rc = uuid_format(u->uuid, out, outlen, &used);
        for (k = 0; k < u->n && rc == 0; k++) {
            if (u->iv[k].start == u->iv[k].end)
                rc = format_append(out, outlen, &used, ":%llu", (unsigned long long)u->iv[k].start);
            else
                rc = format_append(out, outlen, &used, ":%llu-%llu", (unsigned long long)u->iv[k].start,
                                   (unsigned long long)u->iv[k].end);
        }
    }
    if (rc != 0) out[0] = '\0';
    return rc;
}

static const struct fo_mysql_uuid_set *uuid_set_find(const struct fo_mysql_gtid_set *g, const uint8_t uuid[16])
{
    unsigned i;

    for (i = 0; i < g->n; i++)
        if (memcmp(g->u[i].uuid, uuid, 16) == 0) return &g->u[i];
    return NULL;
}

/* Number of transactions of [start, end] not covered by b's intervals. */
static uint64_t interval_missing(uint64_t start, uint64_t end, const struct fo_mysql_uuid_set *b)
{
    uint64_t missing = end - start + 1, lo, hi;
    unsigned i;

    if (b == NULL) return missing;
    /* b's intervals are disjoint, so their overlaps with [start, end] simply add up. */
    for (i = 0; i < b->n; i++) {
        lo = b->iv[i].start > start ? b->iv[i].start : start;
        hi = b->iv[i].end < end ? b->iv[i].end : end;
        if (lo <= hi) missing -= hi - lo + 1;
    }
    return missing;
}

uint64_t fo_gtid_mysql_missing(const struct fo_mysql_gtid_set *a, const struct fo_mysql_gtid_set *b)
{
    const struct fo_mysql_uuid_set *ub;
    uint64_t sum = 0;
    unsigned i, k;

    for (i = 0; i < a->n; i++) {
        ub = uuid_set_find(b, a->u[i].uuid);
        for (k = 0; k < a->u[i].n; k++)
            sum = sat_add(sum, interval_missing(a->u[i].iv[k].start, a->u[i].iv[k].end, ub));
    }
    return sum;
}

int fo_gtid_mysql_subset(const struct fo_mysql_gtid_set *a, const struct fo_mysql_gtid_set *b)
{
    return fo_gtid_mysql_missing(a, b) == 0;
}
