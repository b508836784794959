/* Shared by client/import*.c only (fo__ marks names internal to the import). */
#ifndef FO_CTL_IMPORT_INTERNAL_H
#define FO_CTL_IMPORT_INTERNAL_H

#include "import.h"

/* A line reader over an in-memory file. */
struct fo__import_lines {
    const char *file; /* the name used in errors */
    const char *text;
    size_t len, pos;
    unsigned lineno;
    char line[FO_IMPORT_MAX_LINE];
};

/* Next line into l->line (without the newline or a trailing CR). Returns 1, 0 at the
 * end, or -1 (too long, NUL byte) with "FILE:LINE: reason". */
int fo__import_next_line(struct fo__import_lines *l, char err[FO_ERRLEN]);
/* Strips blanks (space, tab) on both sides, in place. */
char *fo__import_trim(char *s);
/* Adds a "not carried over" note (line 0: the file as a whole). Values are escaped. */
void fo__import_note(struct fo_import_plan *p, unsigned line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Zeroes *p, records the file's base name; refuses a file over FO_IMPORT_MAX_FILE. */
int fo__import_begin(struct fo_import_plan *p, enum fo_import_kind kind, const char *path, size_t len,
                     char err[FO_ERRLEN]);
/* The cluster name, password files and the last checks once every server is known. */
int fo__import_finish(struct fo_import_plan *p, const struct fo_import_options *o, char err[FO_ERRLEN]);

#endif
