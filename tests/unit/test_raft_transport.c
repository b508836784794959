/* raft/wire.c: libraft 0.22 frames as a table of cases, each fed whole and byte by
 * byte; plus the handshake encoder and the refusal-reason names. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fo_test.h"
#include "raft/transport.h"
#include "raft/wire.h"

#define MAXB 40960

struct bytes {
    uint8_t b[MAXB];
    size_t n;
};

static void put(struct bytes *s, const void *p, size_t n)
{
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static void u64(struct bytes *s, uint64_t v)
{
    uint8_t b[8];
    int i;

    for (i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    put(s, b, 8);
}

static void u8(struct bytes *s, unsigned v)
{
    uint8_t b = (uint8_t)v;

    put(s, &b, 1);
}

static void pad8(struct bytes *s)
{
    while (s->n % 8) u8(s, 0);
}

static void handshake(struct bytes *s, uint64_t id, const char *addr)
{
    size_t len = strlen(addr) + 1, padded = (len + 7) / 8 * 8;

    u64(s, 1);
    u64(s, id);
    u64(s, padded);
    put(s, addr, len);
    pad8(s);
}

static void preamble(struct bytes *s, unsigned type, uint64_t hlen)
{
    u8(s, type);
    u8(s, 0);
    u8(s, 2); /* version byte: any */
    u8(s, 0);
    u8(s, 0);
    u8(s, 0);
    u8(s, 0);
    u8(s, 0);
    u64(s, hlen);
}

/* AppendEntries with n entries of len bytes each (type etype), payload included. */
static void append_entries(struct bytes *s, unsigned n, uint32_t len, unsigned etype, bool payload)
{
    unsigned i;

    preamble(s, 1, 48 + 16 * n);
    u64(s, 3);
    u64(s, 10);
    u64(s, 2);
    u64(s, 10);
    u64(s, n);
    for (i = 0; i < n; i++) {
        u64(s, 3);
        u8(s, etype);
        u8(s, 0);
        u8(s, 0);
        u8(s, 0);
        u8(s, len & 0xff);
        u8(s, (len >> 8) & 0xff);
        u8(s, (len >> 16) & 0xff);
        u8(s, len >> 24);
    }
    u64(s, 0);
    if (payload)
        for (i = 0; i < n * len; i++) u8(s, 0xab);
}

/* InstallSnapshot with the servers given ("id addr role" triples), data of dlen bytes. */
static void install_snapshot(struct bytes *s, unsigned n, const uint64_t *ids, const char *const *addrs,
                             const unsigned *roles, uint64_t dlen)
{
    struct bytes conf = {.n = 0};
    unsigned i;

    u8(&conf, 1);
    u64(&conf, n);
    for (i = 0; i < n; i++) {
        u64(&conf, ids[i]);
        put(&conf, addrs[i], strlen(addrs[i]) + 1);
        u8(&conf, roles[i]);
    }
    pad8(&conf);
    preamble(s, 5, 56 + conf.n);
    u64(s, 4);
    u64(s, 20);
    u64(s, 3);
    u64(s, 18);
    u64(s, conf.n);
    put(s, conf.b, conf.n);
    u64(s, dlen);
    u64(s, 0);
    for (i = 0; i < dlen; i++) u8(s, 0xcd);
}

enum mk {
    MK_RV,
    MK_RV_SHORT,
    MK_RVR,
    MK_AER,
    MK_TN,
    MK_AE0,
    MK_AE2,
    MK_AE_8BYTE,
    MK_AE_BADTYPE,
    MK_AE_ODDLEN,
    MK_AE_TOOMANY,
    MK_AE_BIGPAYLOAD,
    MK_AE_COUNT_MISMATCH,
    MK_IS,
    MK_IS_DUP,
    MK_IS_BADROLE,
    MK_IS_ID0,
    MK_IS_NONUL,
    MK_HUGE,
    MK_UNKNOWN_TYPE,
    MK_RESERVED,
    MK_NO_NUL_ADDR,
    MK_BAD_PROTO,
    MK_ID0,
    MK_ADDR_LEN_BIG,
    MK_ADDR_LEN_ODD,
    MK_ADDR_GARBAGE_PAD,
    MK_ADDR_EMPTY,
};

static void build(enum mk k, struct bytes *s)
{
    static const uint64_t ids2[] = {1, 2}, ids_dup[] = {1, 1}, ids0[] = {0};
    static const char *const addrs2[] = {"127.0.0.1:1", "127.0.0.1:2"};
    static const unsigned roles2[] = {1, 1}, badrole[] = {7};

    memset(s, 0, sizeof(*s));
    if (k == MK_NO_NUL_ADDR) {
        u64(s, 1), u64(s, 2), u64(s, 8), put(s, "AAAAAAAA", 8);
        return;
    }
    if (k == MK_BAD_PROTO) {
        u64(s, 2), u64(s, 2), u64(s, 16), put(s, "127.0.0.1:7102\0\0", 16);
        return;
    }
    if (k == MK_ID0) {
        handshake(s, 0, "127.0.0.1:7102");
        return;
    }
    if (k == MK_ADDR_LEN_BIG) {
        u64(s, 1), u64(s, 2), u64(s, 1u << 20);
        return;
    }
    if (k == MK_ADDR_LEN_ODD) {
        u64(s, 1), u64(s, 2), u64(s, 15), put(s, "127.0.0.1:7102\0", 15);
        return;
    }
    if (k == MK_ADDR_GARBAGE_PAD) {
        u64(s, 1), u64(s, 2), u64(s, 16), put(s, "127.0.0.1:7\0XYZW", 16);
        return;
    }
    if (k == MK_ADDR_EMPTY) {
        u64(s, 1), u64(s, 2), u64(s, 8), put(s, "\0\0\0\0\0\0\0\0", 8);
        return;
    }
    handshake(s, 2, "127.0.0.1:7102");
    switch (k) {
    case MK_RV: preamble(s, 3, 40), u64(s, 5), u64(s, 2), u64(s, 9), u64(s, 4), u64(s, 3); break;
    case MK_RV_SHORT: preamble(s, 3, 8), u64(s, 5); break;
    case MK_RVR: preamble(s, 4, 24), u64(s, 5), u64(s, 1), u64(s, 0); break;
    case MK_AER: preamble(s, 2, 32), u64(s, 5), u64(s, 0), u64(s, 9), u64(s, 0); break;
    case MK_TN: preamble(s, 6, 24), u64(s, 5), u64(s, 9), u64(s, 4); break;
    case MK_AE0: append_entries(s, 0, 0, 1, true); break;
    case MK_AE2: append_entries(s, 2, 16, 1, true); break;
    case MK_AE_8BYTE: preamble(s, 1, 8), u64(s, 99); break;
    case MK_AE_BADTYPE: append_entries(s, 1, 8, 9, false); break;
    case MK_AE_ODDLEN: append_entries(s, 1, 12, 1, false); break;
    case MK_AE_TOOMANY: append_entries(s, 2000, 0, 1, false); break; /* cap: 1024 */
    case MK_AE_BIGPAYLOAD: append_entries(s, 1, 0x80000000u, 1, false); break;
    case MK_AE_COUNT_MISMATCH: /* 1 entry in the header length, 3 announced */
        preamble(s, 1, 64);
        u64(s, 3), u64(s, 10), u64(s, 2), u64(s, 10), u64(s, 3), u64(s, 3), u64(s, 8), u64(s, 0);
        break;
    case MK_IS: install_snapshot(s, 2, ids2, addrs2, roles2, 24); break;
    case MK_IS_DUP: install_snapshot(s, 2, ids_dup, addrs2, roles2, 8); break;
    case MK_IS_BADROLE: install_snapshot(s, 1, ids2, addrs2, badrole, 8); break;
    case MK_IS_ID0: install_snapshot(s, 1, ids0, addrs2, roles2, 8); break;
    case MK_IS_NONUL: /* configuration whose only address runs to the end of it */
        preamble(s, 5, 56 + 24);
        u64(s, 4), u64(s, 20), u64(s, 3), u64(s, 18), u64(s, 24);
        u8(s, 1), u64(s, 1), u64(s, 7), put(s, "1234567", 7);
        u64(s, 8), u64(s, 0);
        break;
    case MK_HUGE: preamble(s, 1, 0x7c0000000ull); break;
    case MK_UNKNOWN_TYPE: preamble(s, 9, 24), u64(s, 1), u64(s, 2), u64(s, 3); break;
    case MK_RESERVED:
        preamble(s, 3, 40), s->b[s->n - 16 + 1] = 1, u64(s, 5), u64(s, 2), u64(s, 9), u64(s, 4), u64(s, 3);
        break;
    default: break;
    }
}

static const struct wcase {
    const char *name;
    enum mk mk;
    int rc; /* 0 or the refusal */
    enum fo_raft_wire_why why;
    size_t forwarded_payload; /* payload bytes expected through (rc == 0) */
} wire_cases[] = {
    {"RequestVote", MK_RV, 0, FO_RAFT_WIRE_OK, 0},
    {"RequestVoteResult", MK_RVR, 0, FO_RAFT_WIRE_OK, 0},
    {"AppendEntriesResult", MK_AER, 0, FO_RAFT_WIRE_OK, 0},
    {"TimeoutNow", MK_TN, 0, FO_RAFT_WIRE_OK, 0},
    {"heartbeat (AppendEntries, no entries)", MK_AE0, 0, FO_RAFT_WIRE_OK, 0},
    {"AppendEntries with 2 entries", MK_AE2, 0, FO_RAFT_WIRE_OK, 32},
    {"InstallSnapshot", MK_IS, 0, FO_RAFT_WIRE_OK, 24},
    {"short RequestVote header", MK_RV_SHORT, FO_EPROTO, FO_RAFT_WIRE_BAD_LENGTH, 0},
    {"AppendEntries with an 8-byte header", MK_AE_8BYTE, FO_EPROTO, FO_RAFT_WIRE_BAD_LENGTH, 0},
    {"entry of unknown type", MK_AE_BADTYPE, FO_EPROTO, FO_RAFT_WIRE_BAD_HEADER, 0},
    {"entry length not a multiple of 8", MK_AE_ODDLEN, FO_EPROTO, FO_RAFT_WIRE_BAD_HEADER, 0},
    {"2000 entries (cap 1024)", MK_AE_TOOMANY, FO_ETOOBIG, FO_RAFT_WIRE_TOO_BIG, 0},
    {"2 GiB entry (payload cap)", MK_AE_BIGPAYLOAD, FO_ETOOBIG, FO_RAFT_WIRE_TOO_BIG, 0},
    {"entry count and header length disagree", MK_AE_COUNT_MISMATCH, FO_EPROTO, FO_RAFT_WIRE_BAD_LENGTH, 0},
    {"snapshot configuration: duplicate id (double free)", MK_IS_DUP, FO_EPROTO, FO_RAFT_WIRE_BAD_HEADER, 0},
    {"snapshot configuration: bad role", MK_IS_BADROLE, FO_EPROTO, FO_RAFT_WIRE_BAD_HEADER, 0},
    {"snapshot configuration: id 0", MK_IS_ID0, FO_EPROTO, FO_RAFT_WIRE_BAD_HEADER, 0},
    {"snapshot configuration: unterminated address", MK_IS_NONUL, FO_EPROTO, FO_RAFT_WIRE_BAD_HEADER, 0},
    {"31 GB header length", MK_HUGE, FO_ETOOBIG, FO_RAFT_WIRE_TOO_BIG, 0},
    {"unknown message type", MK_UNKNOWN_TYPE, FO_EPROTO, FO_RAFT_WIRE_BAD_TYPE, 0},
    {"reserved preamble byte set", MK_RESERVED, FO_EPROTO, FO_RAFT_WIRE_BAD_TYPE, 0},
    {"handshake address without NUL", MK_NO_NUL_ADDR, FO_EPROTO, FO_RAFT_WIRE_BAD_HANDSHAKE, 0},
    {"handshake protocol 2", MK_BAD_PROTO, FO_EPROTO, FO_RAFT_WIRE_BAD_HANDSHAKE, 0},
    {"handshake id 0", MK_ID0, FO_EPROTO, FO_RAFT_WIRE_BAD_HANDSHAKE, 0},
    {"handshake address length 1 MiB", MK_ADDR_LEN_BIG, FO_EPROTO, FO_RAFT_WIRE_BAD_HANDSHAKE, 0},
    {"handshake address length 15", MK_ADDR_LEN_ODD, FO_EPROTO, FO_RAFT_WIRE_BAD_HANDSHAKE, 0},
    {"handshake address padding not zero", MK_ADDR_GARBAGE_PAD, FO_EPROTO, FO_RAFT_WIRE_BAD_HANDSHAKE, 0},
    {"handshake address empty", MK_ADDR_EMPTY, FO_EPROTO, FO_RAFT_WIRE_BAD_HANDSHAKE, 0},
};

struct result {
    int rc;
    enum fo_raft_wire_why why;
    int handshakes;
    size_t forwarded; /* all bytes forwarded: headers with preambles, and payloads */
    uint8_t out[MAXB + 4096];
};

/* Feeds s in pieces of `step` bytes (0 = all at once) and collects what comes out. */
static void run(const struct bytes *s, size_t step, struct result *r)
{
    struct fo_raft_wire *w = malloc(sizeof(*w));
    size_t off = 0;
    char err[FO_ERRLEN];

    memset(r, 0, sizeof(*r));
    fo_raft_wire_init(w, NULL);
    while (off < s->n && r->rc == 0) {
        size_t n = step == 0 || s->n - off < step ? s->n - off : step, used;
        const uint8_t *in = s->b + off;
        while (n > 0) {
            enum fo_raft_wire_event ev;
            const uint8_t *out;
            size_t out_len;
            r->rc = fo_raft_wire_feed(w, in, n, &used, &ev, &out, &out_len, err);
            if (r->rc != 0) {
                r->why = w->why;
                FO_CHECK(strstr(err, fo_raft_wire_why_name(w->why)) != NULL);
                break;
            }
            FO_CHECK(used > 0 && used <= n);
            if (ev == FO_RAFT_WIRE_HANDSHAKE) {
                r->handshakes++;
                FO_CHECK_INT(w->peer_id, 2);
                FO_CHECK_STR(w->address, "127.0.0.1:7102");
            }
            if (ev == FO_RAFT_WIRE_FORWARD) {
                FO_CHECK(r->forwarded + out_len <= sizeof(r->out));
                if (r->forwarded + out_len <= sizeof(r->out)) memcpy(r->out + r->forwarded, out, out_len);
                r->forwarded += out_len;
            }
            in += used;
            n -= used;
            off += used;
        }
    }
    free(w);
}

static void test_wire_cases(void)
{
    static const size_t steps[] = {0, 1, 7};
    size_t i, j;

    for (i = 0; i < sizeof(wire_cases) / sizeof(wire_cases[0]); i++) {
        const struct wcase *c = &wire_cases[i];
        struct bytes s;
        struct result *r = malloc(sizeof(*r));
        build(c->mk, &s);
        for (j = 0; j < sizeof(steps) / sizeof(steps[0]); j++) {
            run(&s, steps[j], r);
            if (r->rc != c->rc || r->why != c->why)
                fprintf(stderr, "  case \"%s\" (step %zu): rc %d why %s\n", c->name, steps[j], r->rc,
                        fo_raft_wire_why_name(r->why));
            FO_CHECK_INT(r->rc, c->rc);
            FO_CHECK_INT(r->why, c->why);
            if (c->rc == 0) {
                /* Everything after the handshake is forwarded, byte for byte. */
                size_t hs = FO_RAFT_WIRE_HANDSHAKE_LEN + 16;
                FO_CHECK_INT(r->handshakes, 1);
                FO_CHECK_INT(r->forwarded, s.n - hs);
                FO_CHECK(memcmp(r->out, s.b + hs, s.n - hs) == 0);
            } else {
                /* Nothing of a refused message reaches libraft: at most the earlier,
                 * valid messages (none in these cases). */
                FO_CHECK_INT(r->forwarded, 0);
            }
        }
        free(r);
    }
}

/* Two messages back to back, the second malformed: the first goes through whole, then
 * the stream is refused and stays refused. */
static void test_wire_refusal_sticks(void)
{
    struct bytes s;
    struct fo_raft_wire *w = malloc(sizeof(*w));
    enum fo_raft_wire_event ev;
    const uint8_t *out;
    size_t used, out_len, off = 0, fwd = 0;
    char err[FO_ERRLEN];
    int rc = 0;

    build(MK_RV, &s);
    preamble(&s, 1, 8);
    u64(&s, 99);
    fo_raft_wire_init(w, NULL);
    while (off < s.n && (rc = fo_raft_wire_feed(w, s.b + off, s.n - off, &used, &ev, &out, &out_len, err)) == 0) {
        off += used;
        if (ev == FO_RAFT_WIRE_FORWARD) fwd += out_len;
    }
    FO_CHECK_INT(rc, FO_EPROTO);
    FO_CHECK_INT(fwd, 16 + 40);
    FO_CHECK_INT(w->messages, 1);
    FO_CHECK_INT(fo_raft_wire_feed(w, s.b, 1, &used, &ev, &out, &out_len, err), FO_EPROTO);
    FO_CHECK_INT(used, 0);
    free(w);
}

/* Configured caps apply: 2 entries of 40 bytes are over a 64-byte payload cap. */
static void test_wire_limits(void)
{
    struct fo_raft_wire_limits lim = {.max_header = 4096, .max_entries = 2, .max_payload = 64};
    struct fo_raft_wire *w = malloc(sizeof(*w));
    struct bytes s = {.n = 0};
    enum fo_raft_wire_event ev;
    const uint8_t *out;
    size_t used, out_len, off = 0;
    char err[FO_ERRLEN];
    int rc = 0;

    handshake(&s, 2, "127.0.0.1:7102");
    append_entries(&s, 2, 40, 1, false);
    fo_raft_wire_init(w, &lim);
    while (off < s.n && (rc = fo_raft_wire_feed(w, s.b + off, s.n - off, &used, &ev, &out, &out_len, err)) == 0)
        off += used;
    FO_CHECK_INT(rc, FO_ETOOBIG);
    FO_CHECK_INT(w->why, FO_RAFT_WIRE_TOO_BIG);
    free(w);
}

static void test_handshake_encode(void)
{
    uint8_t out[FO_RAFT_WIRE_HANDSHAKE_LEN + FO_RAFT_WIRE_MAX_ADDRESS];
    char big[FO_RAFT_WIRE_MAX_ADDRESS + 1];
    struct bytes s = {.n = 0};
    size_t n;

    n = fo_raft_wire_handshake(2, "127.0.0.1:7102", out);
    handshake(&s, 2, "127.0.0.1:7102");
    FO_CHECK_INT(n, s.n);
    FO_CHECK(memcmp(out, s.b, n) == 0);
    FO_CHECK_INT(fo_raft_wire_handshake(2, "", out), 0);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    FO_CHECK_INT(fo_raft_wire_handshake(2, big, out), 0);
}

static void test_reason_names(void)
{
    unsigned i;

    for (i = 0; i < FO_RAFT_TR_N_WHY; i++)
        FO_CHECK(strcmp(fo_raft_tr_why_name((enum fo_raft_tr_why)i), "unknown") != 0);
    FO_CHECK_STR(fo_raft_tr_why_name(FO_RAFT_TR_FRAME), "bad_handshake");
    FO_CHECK_STR(fo_raft_tr_why_name((enum fo_raft_tr_why)(FO_RAFT_TR_FRAME + FO_RAFT_WIRE_TOO_BIG - 1)), "too_big");
    FO_CHECK_STR(fo_raft_tr_why_name(FO_RAFT_TR_N_WHY), "unknown");
}

FO_TEST_MAIN(FO_T(test_wire_cases), FO_T(test_wire_refusal_sticks), FO_T(test_wire_limits), FO_T(test_handshake_encode),
             FO_T(test_reason_names))
