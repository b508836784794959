#include "common/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ELLIPSIS "..."

void fo_text_mark_truncated(char *buf, size_t len)
{
    size_t cut = len - sizeof(ELLIPSIS);

    while (cut > 0 && ((unsigned char)buf[cut] & 0xC0) == 0x80) cut--;
    memcpy(buf + cut, ELLIPSIS, sizeof(ELLIPSIS));
}

void fo_text_append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;
    int w;

    if (used + 1 >= len) {
        fo_text_mark_truncated(buf, len);
        return;
    }
    va_start(ap, fmt);
    w = vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= len - used) fo_text_mark_truncated(buf, len);
}
