#include "common/text.h"

#include <stdarg.h>
#include <stdbool.h>
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

/* ---- UTF-8 and control characters --------------------------------------------- */

static int cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

size_t fo_utf8_decode(const char *str, size_t n, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    size_t len, i;
    uint32_t v;

    if (n == 0) return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        v = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        v = s[0] & 0x0F;
        if (s[0] == 0xE0) lo = 0xA0; /* overlong */
        if (s[0] == 0xED) hi = 0x9F; /* surrogates */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        v = s[0] & 0x07;
        if (s[0] == 0xF0) lo = 0x90; /* overlong */
        if (s[0] == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0; /* a continuation byte, C0/C1 (overlong), F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (i = 1; i < len; i++) {
        if (!cont(s[i])) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

int fo_text_is_control(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029;
}

/* The escape for one character or invalid byte into out (at most 7 bytes + NUL);
 * returns its length, 0 if the character is kept as is. */
static size_t escape_one(char out[8], uint32_t cp, size_t len, unsigned char byte)
{
    if (len == 0) return (size_t)snprintf(out, 8, "\\x%02x", byte);
    switch (cp) {
    case '\\': memcpy(out, "\\\\", 3); return 2;
    case '\n': memcpy(out, "\\n", 3); return 2;
    case '\r': memcpy(out, "\\r", 3); return 2;
    case '\t': memcpy(out, "\\t", 3); return 2;
    default: break;
    }
    if (!fo_text_is_control(cp)) return 0;
    if (cp < 0x80) return (size_t)snprintf(out, 8, "\\x%02x", (unsigned)cp);
    return (size_t)snprintf(out, 8, "\\u%04x", (unsigned)cp);
}

size_t fo_text_escape(char *dst, size_t dstlen, const char *src, size_t srclen)
{
    size_t in = 0, outlen = 0, room = dstlen - 1, mark = 0;
    bool cut = false;

    while (in < srclen) {
        uint32_t cp = 0;
        size_t len = fo_utf8_decode(src + in, srclen - in, &cp);
        char esc[8];
        size_t elen = escape_one(esc, cp, len, (unsigned char)src[in]);
        const char *piece = elen ? esc : src + in;
        size_t plen = elen ? elen : len;

        /* Where "..." would still fit, for a cut later on. */
        if (outlen + sizeof(ELLIPSIS) - 1 <= room) mark = outlen;
        if (outlen + plen > room) {
            cut = true;
            break;
        }
        memcpy(dst + outlen, piece, plen);
        outlen += plen;
        in += len ? len : 1;
    }
    if (cut && room >= sizeof(ELLIPSIS) - 1) {
        memcpy(dst + mark, ELLIPSIS, sizeof(ELLIPSIS) - 1);
        outlen = mark + sizeof(ELLIPSIS) - 1;
    }
    dst[outlen] = '\0';
    return outlen;
}

#define FNV_PRIME 1099511628211ull

uint64_t fo_text_hash(uint64_t h, const char *s)
{
    for (; *s; s++) h = (h ^ (unsigned char)*s) * FNV_PRIME;
    return h;
}

uint64_t fo_instance_hash(const char *cluster, const char *host, uint16_t port)
{
    uint64_t h = fo_text_hash(FO_HASH_SEED, cluster);

    h = fo_text_hash((h ^ '/') * FNV_PRIME, host);
    return (h ^ port) * FNV_PRIME;
}
