/* A growable byte/string buffer. Always NUL-terminated when p != NULL.
 * On allocation failure the buffer sets `oom` and ignores further appends, so a
 * caller can build a whole document and check once at the end. */
#ifndef FO_BUF_H
#define FO_BUF_H

#include <stddef.h>

struct fo_buf {
    char *p;
    size_t len;
    size_t cap;
    int oom;
};

void fo_buf_init(struct fo_buf *b);
void fo_buf_free(struct fo_buf *b);
void fo_buf_reset(struct fo_buf *b); /* len = 0, keeps memory */
void fo_buf_append(struct fo_buf *b, const void *data, size_t n);
void fo_buf_puts(struct fo_buf *b, const char *s);
void fo_buf_printf(struct fo_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included, escaping as RFC 8259 requires.
 * The result is always valid UTF-8 whatever s holds (it may come from the network): a
 * byte that is not part of valid UTF-8 (common/text.h, fo_utf8_decode) becomes U+FFFD,
 * and every control character (C0, DEL, C1, U+2028/9) is escaped as \uXXXX (or \n,
 * \r, \t). NULL is written as "". */
void fo_buf_json_str(struct fo_buf *b, const char *s);

#endif
