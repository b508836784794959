/* Unit tests for common/frame.c: the incremental decoder fed truncated, oversized,
 * garbage and well-formed input in every split, and the encoder round trip. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/frame.h"
#include "fo_test.h"

static void put_hdr(uint8_t *h, uint8_t m0, uint8_t m1, uint8_t ver, uint8_t type, uint32_t len)
{
    h[0] = m0;
    h[1] = m1;
    h[2] = ver;
    h[3] = type;
    h[4] = (uint8_t)(len >> 24);
    h[5] = (uint8_t)(len >> 16);
    h[6] = (uint8_t)(len >> 8);
    h[7] = (uint8_t)len;
}

/* A stream of n frames: frame i has type 1 or 2 and len_of(i) bytes of (i + j). */
static size_t len_of(unsigned i)
{
    return (i * 37u) % 301u;
}

static uint8_t *make_stream(unsigned n, size_t *total)
{
    uint8_t *s, *p;
    size_t sz = 0, j;
    unsigned i;

    for (i = 0; i < n; i++) sz += FO_FRAME_HDR + len_of(i);
    s = malloc(sz ? sz : 1);
    if (s == NULL) abort();
    for (p = s, i = 0; i < n; i++) {
        fo_frame_header(p, i % 2 ? FO_FRAME_RESPONSE : FO_FRAME_REQUEST, (uint32_t)len_of(i));
        p += FO_FRAME_HDR;
        for (j = 0; j < len_of(i); j++) *p++ = (uint8_t)(i + j);
    }
    *total = sz;
    return s;
}

static int frame_ok(const struct fo_frame *f, unsigned i)
{
    size_t j;

    if (f->type != (i % 2 ? FO_FRAME_RESPONSE : FO_FRAME_REQUEST) || f->len != len_of(i)) return 0;
    for (j = 0; j < f->len; j++)
        if (f->payload[j] != (uint8_t)(i + j)) return 0;
    return 1;
}

/* Takes every whole frame out; checks each against the stream; returns the count. */
static unsigned drain(struct fo_frame_decoder *d, unsigned next_index)
{
    char err[FO_ERRLEN];
    struct fo_frame f;
    unsigned got = 0;
    int rc;

    while ((rc = fo_frame_decoder_next(d, &f, err)) == 0) {
        FO_CHECK(frame_ok(&f, next_index + got));
        got++;
    }
    FO_CHECK_INT(rc, FO_EAGAIN);
    return got;
}

/* Feeds the stream of n frames in chunks of chunk(k) bytes, draining after each.
 * With small chunks at most one frame is ever buffered, so the buffer must stay
 * within max + 8 (bounded); a big chunk may hold several whole frames at once. */
static void feed_in_chunks(unsigned n, size_t max, size_t (*chunk)(size_t k), int small)
{
    struct fo_frame_decoder d;
    size_t total, off = 0, k = 0, step;
    uint8_t *s = make_stream(n, &total);
    unsigned got = 0;

    fo_frame_decoder_init(&d, max);
    while (off < total) {
        step = chunk(k++);
        if (step > total - off) step = total - off;
        FO_CHECK_INT(fo_frame_decoder_feed(&d, s + off, step), 0);
        off += step;
        got += drain(&d, got);
        if (small) FO_CHECK(d.cap <= max + FO_FRAME_HDR);
    }
    FO_CHECK_INT(got, n);
    FO_CHECK_INT(d.len - d.consumed, 0);
    fo_frame_decoder_close(&d);
    free(s);
}

static size_t one(size_t k)
{
    return 1;
}
static size_t cycle17(size_t k)
{
    return 1 + k % 17;
}
static size_t primes(size_t k)
{
    static const size_t p[] = {3, 301, 7, 8, 9, 1000, 2};
    return p[k % 7];
}

static void test_byte_by_byte(void)
{
    feed_in_chunks(3, 1024, one, 1);
}

static void test_every_split(void)
{
    feed_in_chunks(50, 1024, cycle17, 1);
    feed_in_chunks(50, 1024, primes, 0);
}

static void test_many_frames_one_feed(void)
{
    struct fo_frame_decoder d;
    size_t total;
    uint8_t *s = make_stream(1000, &total);

    fo_frame_decoder_init(&d, FO_FRAME_DEFAULT_MAX);
    FO_CHECK_INT(fo_frame_decoder_feed(&d, s, total), 0);
    FO_CHECK_INT(drain(&d, 0), 1000);
    /* The next feed reuses the buffer from the start. */
    FO_CHECK_INT(fo_frame_decoder_feed(&d, s, FO_FRAME_HDR), 0);
    FO_CHECK_INT(d.len, FO_FRAME_HDR);
    FO_CHECK_INT(d.consumed, 0);
    fo_frame_decoder_close(&d);
    fo_frame_decoder_close(&d);
    free(s);
}

/* Every prefix of a header (0..7 bytes) and of a payload asks for more bytes. */
static void test_truncated(void)
{
    uint8_t frame[FO_FRAME_HDR + 10];
    struct fo_frame_decoder d;
    struct fo_frame f;
    char err[FO_ERRLEN];
    size_t cut;

    fo_frame_header(frame, FO_FRAME_REQUEST, 10);
    memcpy(frame + FO_FRAME_HDR, "0123456789", 10);
    for (cut = 0; cut < sizeof(frame); cut++) {
        fo_frame_decoder_init(&d, 64);
        FO_CHECK_INT(fo_frame_decoder_feed(&d, frame, cut), 0);
        FO_CHECK_INT(fo_frame_decoder_next(&d, &f, err), FO_EAGAIN);
        FO_CHECK_INT(fo_frame_decoder_next(&d, &f, err), FO_EAGAIN);
        FO_CHECK_INT(d.failed, 0);
        FO_CHECK_INT(fo_frame_decoder_feed(&d, frame + cut, sizeof(frame) - cut), 0);
        FO_CHECK_INT(fo_frame_decoder_next(&d, &f, err), 0);
        FO_CHECK(f.len == 10 && memcmp(f.payload, "0123456789", 10) == 0);
        FO_CHECK_INT(fo_frame_decoder_next(&d, &f, err), FO_EAGAIN);
        fo_frame_decoder_close(&d);
    }
}

static void test_zero_length(void)
{
    struct fo_frame_decoder d;
    uint8_t hdr[FO_FRAME_HDR];
    struct fo_frame f;

    fo_frame_header(hdr, FO_FRAME_RESPONSE, 0);
    fo_frame_decoder_init(&d, 0); /* a cap of 0 still admits empty frames */
    FO_CHECK_INT(fo_frame_decoder_feed(&d, hdr, sizeof(hdr)), 0);
    FO_CHECK_INT(fo_frame_decoder_feed(&d, hdr, sizeof(hdr)), 0);
    FO_CHECK_INT(fo_frame_decoder_next(&d, &f, NULL), 0);
    FO_CHECK_INT(f.type, FO_FRAME_RESPONSE);
    FO_CHECK_INT(f.len, 0);
    FO_CHECK_INT(fo_frame_decoder_next(&d, &f, NULL), 0);
    FO_CHECK_INT(f.len, 0);
    FO_CHECK_INT(fo_frame_decoder_next(&d, &f, NULL), FO_EAGAIN);
    FO_CHECK_INT(fo_frame_decoder_feed(&d, hdr, 0), 0); /* an empty feed is fine */
    fo_frame_decoder_close(&d);
}

struct bad_case {
    const char *name;
    uint8_t bytes[24];
    size_t n;
    size_t fail_at; /* the feed of byte fail_at (1-based) is the one that fails */
    int code;
    const char *want;
};

#define MAX 1000
static const struct bad_case bad_cases[] = {
    {"oversized by one",
     {'F', 'O', 1, 1, 0, 0, 0x03, 0xe9},
     8,
     8,
     FO_ETOOBIG,
     "frame payload of 1001 bytes exceeds the limit of 1000 bytes"},
    {"oversized 4 GiB",
     {'F', 'O', 1, 2, 0xff, 0xff, 0xff, 0xff, 'x'},
     9,
     8,
     FO_ETOOBIG,
     "frame payload of 4294967295 bytes"},
    {"http request", "GET / HTTP/1.1\r\n", 16, 1, FO_EPROTO, "bad frame magic: byte 0 is 0x47, expected 0x46"},
    {"one garbage byte", {'X'}, 1, 1, FO_EPROTO, "bad frame magic: byte 0 is 0x58"},
    {"second magic byte",
     {'F', 'X', 1, 1, 0, 0, 0, 0},
     8,
     2,
     FO_EPROTO,
     "bad frame magic: byte 1 is 0x58, expected 0x4f"},
    {"tls client hello", {0x16, 0x03, 0x01, 0x02, 0x00}, 5, 1, FO_EPROTO, "bad frame magic: byte 0 is 0x16"},
    {"nul bytes", {0, 0, 0, 0, 0, 0, 0, 0}, 8, 1, FO_EPROTO, "bad frame magic"},
    {"version 0", {'F', 'O', 0, 1, 0, 0, 0, 0}, 8, 3, FO_EVERSION, "unsupported frame version 0 (this build speaks 1)"},
    {"version 2", {'F', 'O', 2, 1, 0, 0, 0, 0}, 8, 3, FO_EVERSION, "unsupported frame version 2"},
    {"version 255 early", {'F', 'O', 255}, 3, 3, FO_EVERSION, "unsupported frame version 255"},
    {"type 0", {'F', 'O', 1, 0, 0, 0, 0, 0}, 8, 4, FO_EPROTO, "unknown frame type 0"},
    {"type 3", {'F', 'O', 1, 3, 0, 0, 0, 0}, 8, 4, FO_EPROTO, "unknown frame type 3"},
    {"type 255", {'F', 'O', 1, 255, 0, 0, 0, 1, 'x'}, 9, 4, FO_EPROTO, "unknown frame type 255"},
    {"bad second frame",
     {'F', 'O', 1, 1, 0, 0, 0, 1, 'a', 'F', 'O', 9},
     12,
     12,
     FO_EVERSION,
     "unsupported frame version 9"},
    {"oversized second frame",
     {'F', 'O', 1, 1, 0, 0, 0, 0, 'F', 'O', 1, 1, 0x7f, 0, 0, 0, 'x'},
     17,
     16,
     FO_ETOOBIG,
     "frame payload of 2130706432 bytes"},
};

/* The whole input in one feed: the error comes back at once, nothing stays buffered,
 * and next() reports the same error with its reason. */
static void check_bad_whole(const struct bad_case *c)
{
    struct fo_frame_decoder d;
    struct fo_frame f;
    char err[FO_ERRLEN] = "";

    fo_frame_decoder_init(&d, MAX);
    FO_CHECK_INT(fo_frame_decoder_feed(&d, c->bytes, c->n), c->code);
    FO_CHECK(d.buf == NULL && d.cap == 0 && d.len == 0);
    FO_CHECK_INT(fo_frame_decoder_next(&d, &f, err), c->code);
    if (strstr(err, c->want) == NULL) fprintf(stderr, "  %s: err \"%s\"\n", c->name, err);
    FO_CHECK(strstr(err, c->want) != NULL);
    FO_CHECK_STR(d.err, err);
    fo_frame_decoder_close(&d);
}

/* Byte by byte: the decoder fails on exactly the byte that makes the stream bad. */
static void check_bad_bytewise(const struct bad_case *c)
{
    struct fo_frame_decoder d;
    struct fo_frame f;
    size_t i;
    int rc = 0;

    fo_frame_decoder_init(&d, MAX);
    for (i = 0; i < c->n && rc == 0; i++) {
        rc = fo_frame_decoder_feed(&d, c->bytes + i, 1);
        while (rc == 0 && fo_frame_decoder_next(&d, &f, NULL) == 0) {
        }
    }
    if (i != c->fail_at) fprintf(stderr, "  %s: failed at byte %zu\n", c->name, i);
    FO_CHECK_INT(rc, c->code);
    FO_CHECK_INT(i, c->fail_at);
    fo_frame_decoder_close(&d);
}

static void test_bad_input(void)
{
    size_t i;

    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        check_bad_whole(&bad_cases[i]);
        check_bad_bytewise(&bad_cases[i]);
    }
}

/* A declared length equal to the cap is fine; one more is not, and the oversized
 * header is refused before any of its payload is accepted. */
static void test_cap_edges(void)
{
    struct fo_frame_decoder d;
    uint8_t *buf = calloc(1, FO_FRAME_HDR + MAX + 100);
    struct fo_frame f;
    size_t i;

    put_hdr(buf, 'F', 'O', 1, 1, MAX);
    fo_frame_decoder_init(&d, MAX);
    for (i = 0; i < FO_FRAME_HDR + MAX; i += 100) {
        size_t n = FO_FRAME_HDR + MAX - i < 100 ? FO_FRAME_HDR + MAX - i : 100;
        FO_CHECK_INT(fo_frame_decoder_feed(&d, buf + i, n), 0);
        FO_CHECK(d.cap <= MAX + FO_FRAME_HDR);
    }
    FO_CHECK_INT(fo_frame_decoder_next(&d, &f, NULL), 0);
    FO_CHECK_INT(f.len, MAX);
    fo_frame_decoder_close(&d);

    put_hdr(buf, 'F', 'O', 1, 1, MAX + 1);
    fo_frame_decoder_init(&d, MAX);
    FO_CHECK_INT(fo_frame_decoder_feed(&d, buf, 7), 0);
    FO_CHECK_INT(fo_frame_decoder_feed(&d, buf + 7, 1), FO_ETOOBIG);
    FO_CHECK(d.buf == NULL);
    fo_frame_decoder_close(&d);
    free(buf);
}

/* After an error nothing gets through again, whatever is fed. */
static void test_sticky(void)
{
    struct fo_frame_decoder d;
    uint8_t good[FO_FRAME_HDR + 2], bad[FO_FRAME_HDR];
    char err1[FO_ERRLEN], err2[FO_ERRLEN];
    struct fo_frame f;

    fo_frame_header(good, FO_FRAME_REQUEST, 2);
    memcpy(good + FO_FRAME_HDR, "ok", 2);
    put_hdr(bad, 'F', 'O', 1, 7, 0);
    fo_frame_decoder_init(&d, MAX);
    FO_CHECK_INT(fo_frame_decoder_feed(&d, good, sizeof(good)), 0);
    FO_CHECK_INT(fo_frame_decoder_next(&d, &f, err1), 0);
    FO_CHECK_INT(fo_frame_decoder_feed(&d, bad, sizeof(bad)), FO_EPROTO);
    FO_CHECK_INT(fo_frame_decoder_next(&d, &f, err1), FO_EPROTO);
    FO_CHECK_INT(fo_frame_decoder_feed(&d, good, sizeof(good)), FO_EPROTO);
    FO_CHECK_INT(fo_frame_decoder_feed(&d, good, 0), FO_EPROTO);
    FO_CHECK_INT(fo_frame_decoder_next(&d, &f, err2), FO_EPROTO);
    FO_CHECK_INT(fo_frame_decoder_next(&d, &f, NULL), FO_EPROTO);
    FO_CHECK_STR(err1, err2);
    FO_CHECK(strstr(err1, "unknown frame type 7") != NULL);
    FO_CHECK(d.buf == NULL);
    fo_frame_decoder_close(&d);
    FO_CHECK_INT(d.failed, FO_EPROTO);
}

static void test_encode_round_trip(void)
{
    static const size_t sizes[] = {0, 1, 7, 8, 255, 256, 65536, FO_FRAME_DEFAULT_MAX};
    struct fo_frame_decoder d;
    uint8_t *payload = malloc(FO_FRAME_DEFAULT_MAX), *wire;
    struct fo_frame f;
    size_t i, j, wlen;
    uint8_t type;

    for (j = 0; j < FO_FRAME_DEFAULT_MAX; j++) payload[j] = (uint8_t)(j * 7 + 3);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        type = i % 2 ? FO_FRAME_RESPONSE : FO_FRAME_REQUEST;
        FO_CHECK_INT(fo_frame_encode(type, payload, sizes[i], &wire, &wlen), 0);
        FO_CHECK_INT(wlen, FO_FRAME_HDR + sizes[i]);
        fo_frame_decoder_init(&d, FO_FRAME_DEFAULT_MAX);
        FO_CHECK_INT(fo_frame_decoder_feed(&d, wire, wlen), 0);
        FO_CHECK_INT(fo_frame_decoder_next(&d, &f, NULL), 0);
        FO_CHECK_INT(f.type, type);
        FO_CHECK_INT(f.len, sizes[i]);
        FO_CHECK(f.len == 0 || memcmp(f.payload, payload, f.len) == 0);
        FO_CHECK_INT(fo_frame_decoder_next(&d, &f, NULL), FO_EAGAIN);
        fo_frame_decoder_close(&d);
        free(wire);
    }
    free(payload);
}

static void test_header_bytes(void)
{
    static const uint8_t want[FO_FRAME_HDR] = {'F', 'O', 1, 2, 0x01, 0x02, 0x03, 0x04};
    uint8_t hdr[FO_FRAME_HDR], *wire = NULL;
    size_t wlen = 0;

    fo_frame_header(hdr, FO_FRAME_RESPONSE, 0x01020304u);
    FO_CHECK(memcmp(hdr, want, sizeof(want)) == 0);
    FO_CHECK_INT(fo_frame_encode(FO_FRAME_REQUEST, NULL, 0, &wire, &wlen), 0);
    FO_CHECK_INT(wlen, FO_FRAME_HDR);
    FO_CHECK(wire != NULL && memcmp(wire, "FO\x01\x01\0\0\0\0", 8) == 0);
    free(wire);
    /* Lengths beyond 32 bits are refused before the payload is touched. */
    wire = NULL;
    FO_CHECK_INT(fo_frame_encode(FO_FRAME_REQUEST, NULL, (size_t)UINT32_MAX + 1, &wire, &wlen), FO_ETOOBIG);
    FO_CHECK(wire == NULL);
}

/* A big buffer is given back once the decoder is idle again. */
static void test_memory_released(void)
{
    struct fo_frame_decoder d;
    uint8_t *wire, *payload = calloc(1, 500000);
    struct fo_frame f;
    size_t wlen;

    FO_CHECK_INT(fo_frame_encode(FO_FRAME_REQUEST, payload, 500000, &wire, &wlen), 0);
    fo_frame_decoder_init(&d, FO_FRAME_DEFAULT_MAX);
    FO_CHECK_INT(fo_frame_decoder_feed(&d, wire, wlen), 0);
    FO_CHECK(d.cap >= wlen && d.cap <= FO_FRAME_DEFAULT_MAX + FO_FRAME_HDR);
    FO_CHECK_INT(fo_frame_decoder_next(&d, &f, NULL), 0);
    FO_CHECK_INT(fo_frame_decoder_feed(&d, wire, 4), 0);
    FO_CHECK(d.cap < 65536);
    fo_frame_decoder_close(&d);
    free(wire);
    free(payload);
}

FO_TEST_MAIN(FO_T(test_byte_by_byte), FO_T(test_every_split), FO_T(test_many_frames_one_feed), FO_T(test_truncated),
             FO_T(test_zero_length), FO_T(test_bad_input), FO_T(test_cap_edges), FO_T(test_sticky),
             FO_T(test_encode_round_trip), FO_T(test_header_bytes), FO_T(test_memory_released))
