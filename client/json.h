/* A small streaming JSON writer for failoverctl's --json output (render*.c).
 *
 * The writer appends to a struct fo_buf and only tracks whether the next value in
 * the current object or array needs a comma; nesting is the caller's to balance.
 * key is the member name inside an object and NULL inside an array. Strings are
 * escaped by fo_buf_json_str, so any bytes from the network are safe. Allocation
 * failure is recorded in the buffer's oom flag, as with every fo_buf append. */
#ifndef FO_CTL_JSON_H
#define FO_CTL_JSON_H

#include <stdint.h>

#include "common/buf.h"

/* Start with `struct fo_ctl_json w = {out, 0};` then fo_ctl_json_open(&w, NULL, '{'). */
struct fo_ctl_json {
    struct fo_buf *b;
    int comma; /* the next value needs a comma before it */
};

/* Opens an object ('{') or an array ('['); close it with the matching character. */
void fo_ctl_json_open(struct fo_ctl_json *w, const char *key, char c);
void fo_ctl_json_close(struct fo_ctl_json *w, char c);
void fo_ctl_json_str(struct fo_ctl_json *w, const char *key, const char *v);
void fo_ctl_json_u64(struct fo_ctl_json *w, const char *key, uint64_t v);
void fo_ctl_json_i64(struct fo_ctl_json *w, const char *key, int64_t v);
void fo_ctl_json_bool(struct fo_ctl_json *w, const char *key, int v);
void fo_ctl_json_null(struct fo_ctl_json *w, const char *key);
/* Three decimals; NaN and infinities (which JSON lacks) are written as 0. */
void fo_ctl_json_double(struct fo_ctl_json *w, const char *key, double v);
/* Closes the top-level object and ends the line. */
void fo_ctl_json_end(struct fo_ctl_json *w);

#endif
