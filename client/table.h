/* Aligned text tables for failoverctl's human output.
 *
 * Cells are copied; bytes below 0x20 and 0x7f are replaced by '?' so that text from
 * the network (MySQL error messages, names) cannot move the cursor or inject
 * terminal escapes, and a multi-line error stays on its row. Empty cells print as
 * "-". Columns are separated by two spaces; the last column is not padded. A row
 * may carry a note (a detail line printed under it, indented, unaligned). On
 * allocation failure the table sets `oom` and ignores further cells and notes. */
#ifndef FO_CTL_TABLE_H
#define FO_CTL_TABLE_H

#include <stddef.h>

#include "common/buf.h"

struct fo_ctl_table {
    unsigned ncols;
    const char *const *headers; /* ncols entries, not copied */
    char **cells;               /* row-major; nrows * ncols once rows are complete */
    size_t ncells, cap;
    char **notes; /* per row, NULL = none; notes_cap entries */
    size_t notes_cap;
    int oom;
};

void fo_ctl_table_init(struct fo_ctl_table *t, unsigned ncols, const char *const *headers);
void fo_ctl_table_free(struct fo_ctl_table *t);

/* Appends the next cell, left to right, top to bottom. s may be NULL ("-"). */
void fo_ctl_table_cell(struct fo_ctl_table *t, const char *s);
void fo_ctl_table_cellf(struct fo_ctl_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Attaches s to the last complete row (there must be one): it is printed on its
 * own line under the row, indented by four spaces. NULL or "" adds nothing; a
 * second note for the same row replaces the first. */
void fo_ctl_table_note(struct fo_ctl_table *t, const char *s);

/* Appends the header row and every complete row to out. */
void fo_ctl_table_render(const struct fo_ctl_table *t, struct fo_buf *out);

/* Appends s to out with the same control-character replacement as cells. */
void fo_ctl_puts_safe(struct fo_buf *out, const char *s);

#endif
