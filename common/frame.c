/* Frame encoder and incremental decoder: the contract is in frame.h.
 *
 * feed() appends a chunk in pieces, one header or one payload at a time, and checks
 * each header (byte by byte, as its bytes arrive) before it appends anything that
 * follows it. So a bad magic, version, type or length is refused before a single
 * payload byte behind it is buffered, and the buffer holds at most the current frame
 * (<= max_payload + 8) plus whole frames the owner has not taken with next() yet.
 * The owner is expected to call next() until FO_EAGAIN after every feed(). */
#include "common/frame.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_ALLOC 256
#define IDLE_KEEP (64u << 10) /* an empty decoder keeps at most this much memory */

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Makes the decoder fail for good and drops what it buffered. */
__attribute__((format(printf, 3, 4))) static int fail(struct fo_frame_decoder *d, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(d->err, sizeof(d->err), fmt, ap);
    va_end(ap);
    d->failed = code;
    free(d->buf);
    d->buf = NULL;
    d->len = d->cap = d->consumed = 0;
    return code;
}

/* Checks the `have` bytes (possibly fewer than 8) of the header at h. */
static int check_header(struct fo_frame_decoder *d, const uint8_t *h, size_t have)
{
    uint32_t len;

    if (have > 0 && h[0] != FO_FRAME_MAGIC0)
        return fail(d, FO_EPROTO, "bad frame magic: byte 0 is 0x%02x, expected 0x%02x", h[0], FO_FRAME_MAGIC0);
    if (have > 1 && h[1] != FO_FRAME_MAGIC1)
        return fail(d, FO_EPROTO, "bad frame magic: byte 1 is 0x%02x, expected 0x%02x", h[1], FO_FRAME_MAGIC1);
    if (have > 2 && h[2] != FO_FRAME_VERSION)
        return fail(d, FO_EVERSION, "unsupported frame version %u (this build speaks %u)", h[2], FO_FRAME_VERSION);
    if (have > 3 && h[3] != FO_FRAME_REQUEST && h[3] != FO_FRAME_RESPONSE)
        return fail(d, FO_EPROTO, "unknown frame type %u", h[3]);
    if (have < FO_FRAME_HDR) return 0;
    len = get_be32(h + 4);
    if (len > d->max_payload)
        return fail(d, FO_ETOOBIG, "frame payload of %u bytes exceeds the limit of %zu bytes", len, d->max_payload);
    return 0;
}

/* Bytes still missing from the frame starting at pos; 0 when it is complete. Only
 * called on headers that check_header has accepted (or that are incomplete). */
static size_t missing(const struct fo_frame_decoder *d, size_t pos)
{
    size_t have = d->len - pos, total;

    if (have < FO_FRAME_HDR) return FO_FRAME_HDR - have;
    total = FO_FRAME_HDR + (size_t)get_be32(d->buf + pos + 4);
    return total > have ? total - have : 0;
}

/* Grows the buffer to hold need bytes: doubling, but not past one maximal frame
 * unless whole unread frames already need more. */
static int reserve(struct fo_frame_decoder *d, size_t need)
{
    size_t ncap = d->cap ? d->cap : MIN_ALLOC, limit;
    uint8_t *nb;

    if (need <= d->cap) return 0;
    while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    limit = d->max_payload > SIZE_MAX - FO_FRAME_HDR ? SIZE_MAX : d->max_payload + FO_FRAME_HDR;
    if (ncap > limit && need <= limit) ncap = limit;
    nb = realloc(d->buf, ncap);
    if (nb == NULL) return fail(d, FO_ENOMEM, "out of memory buffering a frame of %zu bytes", need);
    d->buf = nb;
    d->cap = ncap;
    return 0;
}

/* Drops frames already returned by next(); frees a large buffer once it is empty. */
static void compact(struct fo_frame_decoder *d)
{
    if (d->consumed > 0) {
        memmove(d->buf, d->buf + d->consumed, d->len - d->consumed);
        d->len -= d->consumed;
        d->consumed = 0;
    }
    if (d->len == 0 && d->cap > IDLE_KEEP) {
        free(d->buf);
        d->buf = NULL;
        d->cap = 0;
    }
}

void fo_frame_decoder_init(struct fo_frame_decoder *d, size_t max_payload)
{
    memset(d, 0, sizeof(*d));
    d->max_payload = max_payload;
}

void fo_frame_decoder_close(struct fo_frame_decoder *d)
{
    free(d->buf);
    d->buf = NULL;
    d->len = d->cap = d->consumed = 0;
}

int fo_frame_decoder_feed(struct fo_frame_decoder *d, const void *data, size_t n)
{
    const uint8_t *p = data;
    size_t pos, take;

    if (d->failed) return d->failed;
    if (n == 0) return 0;
    compact(d);
    /* Skip whole frames still waiting for next(); their headers were checked. */
    for (pos = 0; pos < d->len && missing(d, pos) == 0;) pos += FO_FRAME_HDR + (size_t)get_be32(d->buf + pos + 4);
    while (n > 0) {
        take = missing(d, pos);
        if (take > n) take = n;
        if (reserve(d, d->len + take) != 0) return d->failed;
        memcpy(d->buf + d->len, p, take);
        d->len += take;
        p += take;
        n -= take;
        if (check_header(d, d->buf + pos, d->len - pos) != 0) return d->failed;
        if (missing(d, pos) == 0) pos = d->len;
    }
    return 0;
}

int fo_frame_decoder_next(struct fo_frame_decoder *d, struct fo_frame *out, char err[FO_ERRLEN])
{
    size_t have = d->len - d->consumed, len;
    const uint8_t *h;

    if (d->failed) goto failed;
    if (have < FO_FRAME_HDR) return FO_EAGAIN;
    h = d->buf + d->consumed;
    /* feed() checked this header already; checking again costs nothing. */
    if (check_header(d, h, have) != 0) goto failed;
    len = get_be32(h + 4);
    if (have - FO_FRAME_HDR < len) return FO_EAGAIN;
    out->type = h[3];
    out->payload = h + FO_FRAME_HDR;
    out->len = len;
    d->consumed += FO_FRAME_HDR + len;
    return 0;
failed:
    if (err != NULL) snprintf(err, FO_ERRLEN, "%s", d->err);
    return d->failed;
}

void fo_frame_header(uint8_t hdr[FO_FRAME_HDR], uint8_t type, uint32_t len)
{
    assert(type == FO_FRAME_REQUEST || type == FO_FRAME_RESPONSE);
    hdr[0] = FO_FRAME_MAGIC0;
    hdr[1] = FO_FRAME_MAGIC1;
    hdr[2] = FO_FRAME_VERSION;
    hdr[3] = type;
    hdr[4] = (uint8_t)(len >> 24);
    hdr[5] = (uint8_t)(len >> 16);
    hdr[6] = (uint8_t)(len >> 8);
    hdr[7] = (uint8_t)len;
}

int fo_frame_encode(uint8_t type, const void *payload, size_t len, uint8_t **out, size_t *outlen)
{
    uint8_t *buf;

    if (len > UINT32_MAX || len > SIZE_MAX - FO_FRAME_HDR) return FO_ETOOBIG;
    buf = malloc(FO_FRAME_HDR + len);
    if (buf == NULL) return FO_ENOMEM;
    fo_frame_header(buf, type, (uint32_t)len);
    if (len > 0) memcpy(buf + FO_FRAME_HDR, payload, len);
    *out = buf;
    *outlen = FO_FRAME_HDR + len;
    return 0;
}
