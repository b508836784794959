#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

void fo_buf_init(struct fo_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void fo_buf_free(struct fo_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void fo_buf_reset(struct fo_buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->p != NULL) b->p[0] = '\0';
}

static int reserve(struct fo_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (b->oom) return -1;
    if (extra > ((size_t)-1) / 2 - b->len) goto fail;
    need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL) goto fail;
    b->p = p;
    b->cap = cap;
    return 0;
fail:
    b->oom = 1;
    return -1;
}

void fo_buf_append(struct fo_buf *b, const void *data, size_t n)
{
    if (reserve(b, n) != 0) return;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void fo_buf_puts(struct fo_buf *b, const char *s)
{
    fo_buf_append(b, s, strlen(s));
}

void fo_buf_printf(struct fo_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != 0) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void fo_buf_json_str(struct fo_buf *b, const char *s)
{
    const char *p = s ? s : "";
    size_t n = strlen(p), i = 0;

    fo_buf_append(b, "\"", 1);
    while (i < n) {
        uint32_t cp = 0;
        size_t len = fo_utf8_decode(p + i, n - i, &cp);

        if (len == 0) {
            /* Not UTF-8: JSON text must be (RFC 8259 §8.1), so the byte is replaced. */
            fo_buf_puts(b, FO_UTF8_REPLACEMENT);
            i++;
            continue;
        }
        switch (cp) {
        case '"': fo_buf_puts(b, "\\\""); break;
        case '\\': fo_buf_puts(b, "\\\\"); break;
        case '\n': fo_buf_puts(b, "\\n"); break;
        case '\r': fo_buf_puts(b, "\\r"); break;
        case '\t': fo_buf_puts(b, "\\t"); break;
        default:
            /* C0 must be escaped; DEL, C1 and U+2028/9 need not be, but they are, so
             * the output is safe to paste into a terminal or a JavaScript string. */
            if (fo_text_is_control(cp))
                fo_buf_printf(b, "\\u%04x", (unsigned)cp);
            else
                fo_buf_append(b, p + i, len);
        }
        i += len;
    }
    fo_buf_append(b, "\"", 1);
}
