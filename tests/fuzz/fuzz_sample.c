/* libFuzzer target: mysql/sample.c, the parser of the probe's replies (the variables
 * query FO_SAMPLE_Q1 and SHOW SLAVE / ALL SLAVES / REPLICA STATUS).
 *
 * Input: the text format of the tests/unit/fixtures/ files (the seeds are those captured
 * replies, unchanged): "row" starts a row, "Name<TAB>Value" lines give its columns (the
 * first row's names label every row), "\N" is SQL NULL; other lines are ignored. Rows
 * shorter than the first are padded with NULL. The rows go through
 * fo_sample_parse_replication and fo_sample_parse_slave_status, and the first row's
 * values (whatever their names) through fo_sample_parse_vars.
 * Invariants (sample.h): on failure the sample is unchanged and err says why; on
 * success every text field is NUL-terminated inside its array, n_sources is the row
 * count, lag_s is -1 or >= 0, and a thread state is one of the enum's values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql/sample.h"

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_sample: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

#define MAX_ROWS 4
#define MAX_COLS 96
#define TERMINATED(a) CHECK(memchr((a), '\0', sizeof(a)) != NULL)

struct reply {
    unsigned nrows, ncols, col;
    const char *names[MAX_COLS];
    const char *values[MAX_ROWS * MAX_COLS];
};

/* In place: "\N" is NULL; \t \n \\ escapes as capture.py writes them. */
static const char *unescape(char *v)
{
    char *o = v, *start = v;

    if (strcmp(v, "\\N") == 0) return NULL;
    for (; *v != '\0'; v++) {
        if (*v == '\\' && v[1] != '\0') {
            v++;
            *o++ = *v == 't' ? '\t' : *v == 'n' ? '\n' : *v;
        } else {
            *o++ = *v;
        }
    }
    *o = '\0';
    return start;
}

static void add_line(struct reply *r, char *line)
{
    char *tab;

    if (strcmp(line, "row") == 0) {
        if (r->nrows == MAX_ROWS) return;
        if (r->nrows == 1) r->ncols = r->col;
        r->nrows++;
        r->col = 0;
        return;
    }
    if (r->nrows == 0 || (tab = strchr(line, '\t')) == NULL) return;
    *tab = '\0';
    if (r->nrows == 1) {
        if (r->col == MAX_COLS) return;
        r->names[r->col] = line;
    } else if (r->col >= r->ncols) {
        return;
    }
    r->values[(r->nrows - 1) * MAX_COLS + r->col] = unescape(tab + 1);
    r->col++;
}

static void check_sample(const struct fo_sample *s)
{
    TERMINATED(s->version);
    TERMINATED(s->gtid_current_pos);
    TERMINATED(s->gtid_binlog_pos);
    TERMINATED(s->gtid_slave_pos);
    TERMINATED(s->gtid_binlog_state);
    TERMINATED(s->connection_name);
    TERMINATED(s->master_host);
    TERMINATED(s->io_running_text);
    TERMINATED(s->sql_running_text);
    TERMINATED(s->last_io_error);
    TERMINATED(s->last_sql_error);
    TERMINATED(s->gtid_io_pos);
    TERMINATED(s->using_gtid);
    TERMINATED(s->master_log_file);
    CHECK(s->lag_s >= -1);
    CHECK(s->io_running <= FO_THREAD_UNRECOGNIZED && s->sql_running <= FO_THREAD_UNRECOGNIZED);
}

/* Runs one parser on a sample holding the previous parse's result (each parser fills
 * only its own fields): unchanged on failure. */
#define RUN(call)                                     \
    do {                                              \
        memcpy(before, s, sizeof *s);                 \
        err[0] = '\0';                                \
        if ((call) != 0) {                            \
            CHECK(memcmp(before, s, sizeof *s) == 0); \
            CHECK(err[0] != '\0');                    \
        } else {                                      \
            check_sample(s);                          \
            ok = 1;                                   \
        }                                             \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct reply r;
    static struct fo_sample sbuf, bbuf;
    static const char *packed[MAX_ROWS * MAX_COLS];
    struct fo_sample *s = &sbuf, *before = &bbuf;
    char err[FO_ERRLEN], *text, *line, *next;
    unsigned i, c;
    int ok;

    if (size > 65536) return 0;
    if ((text = malloc(size + 1)) == NULL) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&r, 0, sizeof r);
    for (line = text; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        add_line(&r, line);
    }
    if (r.nrows == 1) r.ncols = r.col;
    for (i = 0; i < r.nrows; i++)
        for (c = 0; c < r.ncols; c++) packed[i * r.ncols + c] = r.values[i * MAX_COLS + c];

    ok = 0;
    memset(s, 0, sizeof *s);
    RUN(fo_sample_parse_replication(s, r.nrows, r.ncols, r.names, packed, err));
    if (ok) CHECK(s->n_sources == r.nrows && s->is_replica == (r.nrows > 0));
    RUN(fo_sample_parse_slave_status(s, r.nrows, r.ncols, r.names, r.nrows ? packed : NULL, err));
    RUN(fo_sample_parse_vars(s, r.ncols, packed, err));
    free(text);
    return 0;
}
