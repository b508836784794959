/* Prometheus text exposition format 0.0.4 (see prom.h for the contract). */
#include "common/prom.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Large enough for "-1.2345678901234567e-308" and for any uint64_t. */
#define NUMLEN 32

/* Escapes a label value: the format allows exactly three escapes, \\, \" and \n;
 * every other byte (UTF-8 included) is written as is. */
static void put_label_value(struct fo_buf *b, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *esc = NULL;

        if (*s == '\\')
            esc = "\\\\";
        else if (*s == '"')
            esc = "\\\"";
        else if (*s == '\n')
            esc = "\\n";
        if (esc == NULL) continue;
        fo_buf_append(b, run, (size_t)(s - run));
        fo_buf_puts(b, esc);
        run = s + 1;
    }
    fo_buf_append(b, run, (size_t)(s - run));
}

/* HELP text escapes only backslash and newline (quotes are literal there). */
static void put_help(struct fo_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            fo_buf_puts(b, "\\\\");
        else if (*s == '\n')
            fo_buf_puts(b, "\\n");
        else
            fo_buf_append(b, s, 1);
    }
}

/* Formats v as the shortest %g rendering that reads back to the same double, so
 * bucket bounds print as "0.005" rather than "0.0050000000000000001". */
static void format_double(char out[NUMLEN], double v)
{
    int prec;

    if (isnan(v)) {
        snprintf(out, NUMLEN, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, NUMLEN, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* Issue 12 (SCALE-2 hook): most values are counts and 0/1 gauges, and a scrape
     * of 10,000 servers formats about a million of them on the loop. An integer below
     * 2^53 is exact in a double: its digits are printed directly, without the
     * snprintf/strtod rounds below (which may give 1e+06 for it: both forms are valid
     * exposition text). */
    if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v && !(v == 0 && signbit(v))) {
        uint64_t u = v < 0 ? (uint64_t) - (int64_t)v : (uint64_t)v;
        char tmp[NUMLEN], *t = tmp + sizeof(tmp);
        size_t n;

        *--t = '\0';
        do *--t = (char)('0' + u % 10);
        while ((u /= 10) != 0);
        if (v < 0) *--t = '-';
        n = (size_t)(tmp + sizeof(tmp) - t);
        memcpy(out, t, n);
        return;
    }
    for (prec = 1; prec < 17; prec++) {
        snprintf(out, NUMLEN, "%.*g", prec, v);
        if (strtod(out, NULL) == v) return;
    }
    snprintf(out, NUMLEN, "%.17g", v);
}

/* Writes name{labels[,le="..."]} value\n. `le` (may be NULL) is the histogram bucket
 * label, placed after the caller's labels. */
static void put_sample(struct fo_buf *b, const char *name, const char *suffix, const struct fo_prom_label *labels,
                       unsigned n_labels, const char *le, const char *value)
{
    unsigned i;

    assert(n_labels <= FO_PROM_MAX_LABELS);
    assert(n_labels == 0 || labels != NULL);
    fo_buf_puts(b, name);
    fo_buf_puts(b, suffix);
    if (n_labels > 0 || le != NULL) {
        fo_buf_append(b, "{", 1);
        for (i = 0; i < n_labels; i++) {
            if (i > 0) fo_buf_append(b, ",", 1);
            fo_buf_puts(b, labels[i].name);
            fo_buf_puts(b, "=\"");
            put_label_value(b, labels[i].value ? labels[i].value : "");
            fo_buf_append(b, "\"", 1);
        }
        if (le != NULL) {
            fo_buf_puts(b, n_labels > 0 ? ",le=\"" : "le=\"");
            fo_buf_puts(b, le);
            fo_buf_append(b, "\"", 1);
        }
        fo_buf_append(b, "}", 1);
    }
    fo_buf_append(b, " ", 1);
    fo_buf_puts(b, value);
    fo_buf_append(b, "\n", 1);
}

void fo_prom_family(struct fo_buf *b, const char *name, const char *type, const char *help)
{
    if (help != NULL) {
        fo_buf_printf(b, "# HELP %s ", name);
        put_help(b, help);
        fo_buf_append(b, "\n", 1);
    }
    fo_buf_printf(b, "# TYPE %s %s\n", name, type);
}

void fo_prom_value(struct fo_buf *b, const char *name, const struct fo_prom_label *labels, unsigned n_labels,
                   double value)
{
    char num[NUMLEN];

    format_double(num, value);
    put_sample(b, name, "", labels, n_labels, NULL, num);
}

void fo_histogram_init(struct fo_histogram *h, const double *bounds, unsigned n_bounds)
{
    unsigned i;

    assert(n_bounds <= FO_PROM_MAX_BUCKETS);
    memset(h, 0, sizeof(*h));
    h->n_bounds = n_bounds;
    for (i = 0; i < n_bounds; i++) {
        /* Bounds are compiled-in constants, so a bad table is a programmer error. */
        assert(isfinite(bounds[i]));
        assert(i == 0 || bounds[i - 1] < bounds[i]);
        h->bounds[i] = bounds[i];
    }
}

void fo_histogram_observe(struct fo_histogram *h, double v)
{
    unsigned i;

    /* NaN compares false everywhere and so lands in the +Inf bucket. */
    for (i = 0; i < h->n_bounds && !(v <= h->bounds[i]); i++) {
    }
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

void fo_prom_histogram(struct fo_buf *b, const char *name, const struct fo_prom_label *labels, unsigned n_labels,
                       const struct fo_histogram *h)
{
    char le[NUMLEN], num[NUMLEN];
    uint64_t cumulative = 0;
    unsigned i;

    assert(h->n_bounds <= FO_PROM_MAX_BUCKETS);
    for (i = 0; i <= h->n_bounds; i++) {
        cumulative += h->counts[i];
        if (i < h->n_bounds)
            format_double(le, h->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        snprintf(num, sizeof(num), "%" PRIu64, cumulative);
        put_sample(b, name, "_bucket", labels, n_labels, le, num);
    }
    format_double(num, h->sum);
    put_sample(b, name, "_sum", labels, n_labels, NULL, num);
    snprintf(num, sizeof(num), "%" PRIu64, h->count);
    put_sample(b, name, "_count", labels, n_labels, NULL, num);
}
