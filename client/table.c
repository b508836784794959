#include "table.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

#define GAP 2
#define NOTE_INDENT "    "

/* The length of the character at s (n > 0 bytes left) if it may reach a terminal as it
 * is, or 0 for an invalid UTF-8 byte or a control character (C0, DEL, C1 such as the
 * 8-bit CSI, U+2028/9): what a server sent must not steer the terminal. */
static size_t printable_len(const char *s, size_t n, size_t *bad)
{
    uint32_t cp;
    size_t len = fo_utf8_decode(s, n, &cp);

    if (len != 0 && !fo_text_is_control(cp)) return len;
    *bad = len ? len : 1;
    return 0;
}

/* In place: every byte of a character printable_len refuses becomes '?' (cells keep
 * their byte length, which the column widths count). */
static void sanitize(char *s)
{
    size_t n = strlen(s), i = 0, len, bad;

    while (i < n) {
        if ((len = printable_len(s + i, n - i, &bad)) == 0) {
            memset(s + i, '?', bad);
            len = bad;
        }
        i += len;
    }
}

void fo_ctl_table_init(struct fo_ctl_table *t, unsigned ncols, const char *const *headers)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    t->headers = headers;
}

void fo_ctl_table_free(struct fo_ctl_table *t)
{
    size_t i;

    for (i = 0; i < t->ncells; i++) free(t->cells[i]);
    for (i = 0; i < t->notes_cap; i++) free(t->notes[i]);
    free(t->cells);
    free(t->notes);
    memset(t, 0, sizeof(*t));
}

/* Takes ownership of s (a malloc'd string, or NULL after a failed allocation). */
static void push(struct fo_ctl_table *t, char *s)
{
    char **cells;
    size_t cap;

    if (s == NULL) t->oom = 1;
    if (t->oom) goto drop;
    if (t->ncells == t->cap) {
        cap = t->cap ? t->cap * 2 : 64;
        cells = realloc(t->cells, cap * sizeof(*cells));
        if (cells == NULL) {
            t->oom = 1;
            goto drop;
        }
        t->cells = cells;
        t->cap = cap;
    }
    sanitize(s);
    t->cells[t->ncells++] = s;
    return;
drop:
    free(s);
}

void fo_ctl_table_cell(struct fo_ctl_table *t, const char *s)
{
    push(t, strdup(s != NULL && s[0] != '\0' ? s : "-"));
}

void fo_ctl_table_cellf(struct fo_ctl_table *t, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        push(t, NULL);
        return;
    }
    if (n == 0) {
        free(s);
        s = strdup("-");
    }
    push(t, s);
}

/* Makes room for a note on row r. */
static int grow_notes(struct fo_ctl_table *t, size_t r)
{
    char **notes;
    size_t cap;

    if (r < t->notes_cap) return 0;
    cap = t->notes_cap ? t->notes_cap * 2 : 16;
    while (cap <= r) cap *= 2;
    notes = realloc(t->notes, cap * sizeof(*notes));
    if (notes == NULL) return -1;
    memset(notes + t->notes_cap, 0, (cap - t->notes_cap) * sizeof(*notes));
    t->notes = notes;
    t->notes_cap = cap;
    return 0;
}

void fo_ctl_table_note(struct fo_ctl_table *t, const char *s)
{
    size_t r;
    char *copy;

    if (t->oom || s == NULL || s[0] == '\0') return;
    /* A note before its row's last cell is a bug in the caller, not bad input. */
    assert(t->ncells > 0 && t->ncells % t->ncols == 0);
    r = t->ncells / t->ncols - 1;
    copy = strdup(s);
    if (copy == NULL || grow_notes(t, r) != 0) {
        free(copy);
        t->oom = 1;
        return;
    }
    sanitize(copy);
    free(t->notes[r]);
    t->notes[r] = copy;
}

static void render_row(const struct fo_ctl_table *t, const char *const *row, const size_t *width, struct fo_buf *out)
{
    unsigned c;
    size_t len;

    for (c = 0; c < t->ncols; c++) {
        fo_buf_puts(out, row[c]);
        if (c + 1 == t->ncols) break;
        for (len = strlen(row[c]); len < width[c] + GAP; len++) fo_buf_append(out, " ", 1);
    }
    fo_buf_append(out, "\n", 1);
}

void fo_ctl_table_render(const struct fo_ctl_table *t, struct fo_buf *out)
{
    size_t *width, nrows, r, len;
    unsigned c;

    if (t->ncols == 0) return;
    width = calloc(t->ncols, sizeof(*width));
    if (width == NULL || t->oom) {
        out->oom = 1;
        free(width);
        return;
    }
    nrows = t->ncells / t->ncols;
    for (c = 0; c < t->ncols; c++) width[c] = strlen(t->headers[c]);
    for (r = 0; r < nrows; r++) {
        for (c = 0; c < t->ncols; c++) {
            len = strlen(t->cells[r * t->ncols + c]);
            if (len > width[c]) width[c] = len;
        }
    }
    render_row(t, t->headers, width, out);
    for (r = 0; r < nrows; r++) {
        render_row(t, (const char *const *)&t->cells[r * t->ncols], width, out);
        if (r < t->notes_cap && t->notes[r] != NULL) {
            fo_buf_puts(out, NOTE_INDENT);
            fo_buf_puts(out, t->notes[r]);
            fo_buf_append(out, "\n", 1);
        }
    }
    free(width);
}

void fo_ctl_puts_safe(struct fo_buf *out, const char *s)
{
    size_t n = s ? strlen(s) : 0, i = 0, len, bad;

    while (i < n) {
        if ((len = printable_len(s + i, n - i, &bad)) == 0) {
            fo_buf_append(out, "?", 1);
            i += bad;
            continue;
        }
        fo_buf_append(out, s + i, len);
        i += len;
    }
}
