/* libFuzzer target: common/frame.c, the incremental frame decoder every RPC port uses.
 *
 * Input: byte 0 picks the decoder's payload cap, byte 1 seeds how the rest (the byte
 * stream a peer sends) is cut into feed() chunks. Besides "no crash, no leak", it
 * checks the decoder against a reference reading of the same stream done here in one
 * pass (frame.h's wire format, written independently):
 *   - the frames next() returns are exactly the reference's, in order, same type,
 *     length and payload bytes, however the stream was cut (on a bad stream, a prefix
 *     of them: whole frames that arrived in the same feed() as the bad bytes are
 *     dropped with the stream);
 *   - a stream the reference finds bad (magic, version, type, length over the cap) makes
 *     the decoder fail with the same code, and it stays failed (feed and next both
 *     return it); a good stream never fails it;
 *   - the decoder never buffers more than the chunk just fed plus one maximal frame
 *     (frame.h: "cannot make it allocate more than cap + 8 bytes" beyond whole frames);
 *   - fo_frame_encode() of each frame decodes back to the same frame. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/frame.h"

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "fuzz_frame: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

#define MAX_FRAMES 4096

struct ref_frame {
    uint8_t type;
    size_t off, len;
};

struct ref {
    struct ref_frame f[MAX_FRAMES];
    unsigned n;
    int error; /* 0: the stream is good (maybe cut short) */
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The header bytes at h (have of them) in order: the first wrong one decides. */
static int ref_header(const uint8_t *h, size_t have, size_t cap)
{
    if (have > 0 && h[0] != 'F') return FO_EPROTO;
    if (have > 1 && h[1] != 'O') return FO_EPROTO;
    if (have > 2 && h[2] != 1) return FO_EVERSION;
    if (have > 3 && h[3] != 1 && h[3] != 2) return FO_EPROTO;
    if (have >= 8 && be32(h + 4) > cap) return FO_ETOOBIG;
    return 0;
}

static void reference(const uint8_t *s, size_t n, size_t cap, struct ref *r)
{
    size_t pos = 0, have, len;

    r->n = 0;
    r->error = 0;
    while (pos < n && r->n < MAX_FRAMES) {
        have = n - pos;
        if ((r->error = ref_header(s + pos, have < 8 ? have : 8, cap)) != 0) return;
        if (have < 8) return;
        len = be32(s + pos + 4);
        if (have - 8 < len) return;
        r->f[r->n].type = s[pos + 3];
        r->f[r->n].off = pos + 8;
        r->f[r->n].len = len;
        r->n++;
        pos += 8 + len;
    }
}

static uint32_t rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void check_encode(const struct fo_frame *f)
{
    struct fo_frame_decoder d;
    struct fo_frame g;
    uint8_t *enc;
    size_t elen;

    CHECK(fo_frame_encode(f->type, f->payload, f->len, &enc, &elen) == 0);
    CHECK(elen == f->len + FO_FRAME_HDR);
    fo_frame_decoder_init(&d, f->len);
    CHECK(fo_frame_decoder_feed(&d, enc, elen) == 0);
    CHECK(fo_frame_decoder_next(&d, &g, NULL) == 0);
    CHECK(g.type == f->type && g.len == f->len && memcmp(g.payload, f->payload, f->len) == 0);
    CHECK(fo_frame_decoder_next(&d, &g, NULL) == FO_EAGAIN);
    fo_frame_decoder_close(&d);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ref ref;
    struct fo_frame_decoder d;
    struct fo_frame f;
    char err[FO_ERRLEN];
    const uint8_t *s;
    size_t n, cap, pos = 0, chunk;
    unsigned got = 0;
    uint32_t seed;
    int rc = 0, failed = 0;

    if (size < 2) return 0;
    /* Small caps reach FO_ETOOBIG; 255 is the requests' real cap. */
    cap = data[0] == 255 ? FO_FRAME_DEFAULT_MAX : (size_t)data[0] * 3;
    seed = 0x9e3779b9u ^ ((uint32_t)data[1] * 2654435761u);
    s = data + 2;
    n = size - 2;
    reference(s, n, cap, &ref);
    fo_frame_decoder_init(&d, cap);
    while (pos < n && !failed) {
        chunk = (data[1] & 1) ? n - pos : 1 + rnd(&seed) % 17;
        if (chunk > n - pos) chunk = n - pos;
        rc = fo_frame_decoder_feed(&d, s + pos, chunk);
        pos += chunk;
        if (rc == 0) CHECK(d.len <= chunk + cap + FO_FRAME_HDR || d.len - d.consumed <= chunk + cap + FO_FRAME_HDR);
        while (rc == 0 && (rc = fo_frame_decoder_next(&d, &f, err)) == 0) {
            CHECK(got < ref.n);
            CHECK(f.type == ref.f[got].type && f.len == ref.f[got].len);
            CHECK(memcmp(f.payload, s + ref.f[got].off, f.len) == 0);
            if (got < 8) check_encode(&f);
            got++;
        }
        if (rc == FO_EAGAIN) rc = 0;
        if (rc != 0) failed = 1;
    }
    if (ref.n == MAX_FRAMES) goto out; /* the reference stopped counting: compare no further */
    if (ref.error != 0) {
        /* Whole frames fed in the same chunk as the bad bytes are dropped with them
         * (the connection closes anyway, frame.h); none may be invented. */
        CHECK(got <= ref.n);
        CHECK(failed && rc == ref.error);
        CHECK(fo_frame_decoder_feed(&d, "F", 1) == ref.error);
        CHECK(fo_frame_decoder_next(&d, &f, err) == ref.error && err[0] != '\0');
    } else {
        CHECK(got == ref.n);
        CHECK(!failed);
        CHECK(fo_frame_decoder_next(&d, &f, err) == FO_EAGAIN);
    }
out:
    fo_frame_decoder_close(&d);
    return 0;
}
