/* libraft 0.22 wire validator: see wire.h for the format and the contract. */
#include "raft/wire.h"

#include <raft.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Header sizes of the fixed-size messages (libraft 0.22.1 src/uv_encoding.c). */
#define H_REQUEST_VOTE 40u
#define H_REQUEST_VOTE_RESULT 24u
#define H_APPEND_ENTRIES_RESULT 32u
#define H_TIMEOUT_NOW 24u
#define H_APPEND_ENTRIES_MIN 48u   /* 4 words, entry count, unused word */
#define H_INSTALL_SNAPSHOT_MIN 56u /* 5 words, (conf), data length, unused word */
#define CONF_MIN 16u               /* format byte + server count, padded */

#define U(x) ((unsigned long long)(x))

static const char *const why_names[FO_RAFT_WIRE_N_WHY] = {
    "ok", "bad_handshake", "bad_type", "bad_length", "bad_header", "too_big",
};

const char *fo_raft_wire_why_name(enum fo_raft_wire_why why)
{
    return (unsigned)why < FO_RAFT_WIRE_N_WHY ? why_names[why] : "unknown";
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put64(uint8_t *p, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void fo_raft_wire_init(struct fo_raft_wire *w, const struct fo_raft_wire_limits *lim)
{
    memset(w, 0, offsetof(struct fo_raft_wire, buf));
    w->lim.max_header = FO_RAFT_WIRE_MAX_HEADER;
    w->lim.max_entries = FO_RAFT_WIRE_DEFAULT_MAX_ENTRIES;
    w->lim.max_payload = FO_RAFT_WIRE_DEFAULT_MAX_PAYLOAD;
    if (lim != NULL) w->lim = *lim;
    if (w->lim.max_header < 64) w->lim.max_header = 64;
    if (w->lim.max_header > FO_RAFT_WIRE_MAX_HEADER) w->lim.max_header = FO_RAFT_WIRE_MAX_HEADER;
    if (w->lim.max_entries < 1) w->lim.max_entries = 1;
    w->phase = FO_RAFT_WIRE_PH_HANDSHAKE;
    w->need = FO_RAFT_WIRE_HANDSHAKE_LEN;
}

__attribute__((format(printf, 4, 5))) static int fail(struct fo_raft_wire *w, enum fo_raft_wire_why why,
                                                      char err[FO_ERRLEN], const char *fmt, ...)
{
    va_list ap;
    int n;

    w->phase = FO_RAFT_WIRE_PH_FAILED;
    w->why = why;
    if (err != NULL) {
        n = snprintf(err, FO_ERRLEN, "%s: ", fo_raft_wire_why_name(why));
        va_start(ap, fmt);
        vsnprintf(err + n, FO_ERRLEN - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return why == FO_RAFT_WIRE_TOO_BIG ? FO_ETOOBIG : FO_EPROTO;
}

/* ------------------------------------------------------------------ handshake */

static int check_handshake_preamble(struct fo_raft_wire *w, char err[FO_ERRLEN])
{
    uint64_t proto = get64(w->buf), id = get64(w->buf + 8), len = get64(w->buf + 16);

    if (proto != FO_RAFT_WIRE_PROTOCOL)
        return fail(w, FO_RAFT_WIRE_BAD_HANDSHAKE, err, "handshake protocol %llu (expected %llu)", U(proto),
                    U(FO_RAFT_WIRE_PROTOCOL));
    if (id == 0) return fail(w, FO_RAFT_WIRE_BAD_HANDSHAKE, err, "handshake server id %llu", U(0));
    if (len < 8 || len > FO_RAFT_WIRE_MAX_ADDRESS || len % 8 != 0)
        return fail(w, FO_RAFT_WIRE_BAD_HANDSHAKE, err,
                    "handshake address length %llu (8..%llu, a multiple of 8, expected)", U(len),
                    U(FO_RAFT_WIRE_MAX_ADDRESS));
    w->peer_id = id;
    w->phase = FO_RAFT_WIRE_PH_ADDRESS;
    w->have = 0;
    w->need = (size_t)len;
    return 0;
}

/* A printable address, one NUL, zero padding: libraft copies the address with
 * strlen, so a missing NUL would read past the buffer (wire.h). */
static int check_address(struct fo_raft_wire *w, char err[FO_ERRLEN])
{
    const uint8_t *a = w->buf;
    size_t i, end = 0;
    bool found = false;

    for (i = 0; i < w->need; i++) {
        if (a[i] == 0) {
            found = true;
            end = i;
            break;
        }
        if (a[i] < 0x21 || a[i] > 0x7e)
            return fail(w, FO_RAFT_WIRE_BAD_HANDSHAKE, err, "handshake address byte %llu is 0x%02llx", U(i), U(a[i]));
    }
    if (!found)
        return fail(w, FO_RAFT_WIRE_BAD_HANDSHAKE, err, "handshake address of %llu bytes has no NUL", U(w->need));
    if (end == 0) return fail(w, FO_RAFT_WIRE_BAD_HANDSHAKE, err, "empty handshake address");
    for (i = end; i < w->need; i++)
        if (a[i] != 0)
            return fail(w, FO_RAFT_WIRE_BAD_HANDSHAKE, err, "handshake padding byte %llu is 0x%02llx", U(i), U(a[i]));
    memcpy(w->address, a, end + 1);
    return 0;
}

/* ------------------------------------------------------------------ messages */

/* The preamble: type, version, reserved bytes and the header length; sets need. */
static int check_preamble(struct fo_raft_wire *w, char err[FO_ERRLEN])
{
    const uint8_t *p = w->buf;
    uint64_t h = get64(p + 8);
    unsigned type = p[0];
    uint64_t want = 0;

    if (p[1] != 0 || p[3] != 0 || get32(p + 4) != 0)
        return fail(w, FO_RAFT_WIRE_BAD_TYPE, err, "reserved preamble bytes set (type %llu, word 0x%016llx)", U(type),
                    U(get64(p)));
    switch (type) {
    case RAFT_REQUEST_VOTE: want = H_REQUEST_VOTE; break;
    case RAFT_REQUEST_VOTE_RESULT: want = H_REQUEST_VOTE_RESULT; break;
    case RAFT_APPEND_ENTRIES_RESULT: want = H_APPEND_ENTRIES_RESULT; break;
    case RAFT_TIMEOUT_NOW: want = H_TIMEOUT_NOW; break;
    case RAFT_APPEND_ENTRIES:
    case RAFT_INSTALL_SNAPSHOT: break;
    default: return fail(w, FO_RAFT_WIRE_BAD_TYPE, err, "unknown message type %llu", U(type));
    }
    if (h > w->lim.max_header)
        return fail(w, FO_RAFT_WIRE_TOO_BIG, err, "header length %llu over the cap of %llu bytes", U(h),
                    U(w->lim.max_header));
    if (want != 0 && h != want)
        return fail(w, FO_RAFT_WIRE_BAD_LENGTH, err, "header length %llu, this type has %llu", U(h), U(want));
    if (type == RAFT_APPEND_ENTRIES && (h < H_APPEND_ENTRIES_MIN || (h - H_APPEND_ENTRIES_MIN) % 16 != 0))
        return fail(w, FO_RAFT_WIRE_BAD_LENGTH, err, "AppendEntries header length %llu (48 + 16 n expected)", U(h));
    if (type == RAFT_INSTALL_SNAPSHOT && (h < H_INSTALL_SNAPSHOT_MIN + CONF_MIN || h % 8 != 0))
        return fail(w, FO_RAFT_WIRE_BAD_LENGTH, err, "InstallSnapshot header length %llu (72 or more, a multiple of 8)",
                    U(h));
    w->phase = FO_RAFT_WIRE_PH_HEADER;
    w->need = FO_RAFT_WIRE_PREAMBLE_LEN + (size_t)h;
    return 0;
}

static int check_entries(struct fo_raft_wire *w, const uint8_t *h, size_t hlen, char err[FO_ERRLEN])
{
    uint64_t n = get64(h + 32), total = 0, i;

    if (n > w->lim.max_entries)
        return fail(w, FO_RAFT_WIRE_TOO_BIG, err, "AppendEntries with %llu entries (cap %llu)", U(n),
                    U(w->lim.max_entries));
    if (hlen != H_APPEND_ENTRIES_MIN + 16 * n)
        return fail(w, FO_RAFT_WIRE_BAD_LENGTH, err, "AppendEntries header of %llu bytes announces %llu entries",
                    U(hlen), U(n));
    for (i = 0; i < n; i++) {
        const uint8_t *e = h + 40 + 16 * i;
        uint32_t len = get32(e + 12);
        if (e[8] < RAFT_COMMAND || e[8] > RAFT_CHANGE || e[9] != 0 || e[10] != 0 || e[11] != 0)
            return fail(w, FO_RAFT_WIRE_BAD_HEADER, err, "entry %llu has type %llu", U(i), U(e[8]));
        if (len % 8 != 0)
            return fail(w, FO_RAFT_WIRE_BAD_HEADER, err, "entry %llu length %llu is not a multiple of 8", U(i), U(len));
        total += len;
    }
    if (total > w->lim.max_payload)
        return fail(w, FO_RAFT_WIRE_TOO_BIG, err, "AppendEntries payload of %llu bytes (cap %llu)", U(total),
                    U(w->lim.max_payload));
    w->payload_left = total;
    return 0;
}

/* A configuration as libraft's configurationDecode() reads it, with every check it
 * makes (a failure there frees the servers twice) and the bounds it does not. */
static int check_conf(struct fo_raft_wire *w, const uint8_t *c, size_t len, char err[FO_ERRLEN])
{
    size_t off = 9, i, j, addr_off[FO_RAFT_WIRE_MAX_SERVERS];
    uint64_t n, ids[FO_RAFT_WIRE_MAX_SERVERS];

    if (len < CONF_MIN || len % 8 != 0)
        return fail(w, FO_RAFT_WIRE_BAD_HEADER, err, "configuration length %llu", U(len));
    if (c[0] != 1) return fail(w, FO_RAFT_WIRE_BAD_HEADER, err, "configuration format %llu", U(c[0]));
    n = get64(c + 1);
    if (n > FO_RAFT_WIRE_MAX_SERVERS)
        return fail(w, FO_RAFT_WIRE_BAD_HEADER, err, "configuration with %llu servers (cap %llu)", U(n),
                    U(FO_RAFT_WIRE_MAX_SERVERS));
    for (i = 0; i < n; i++) {
        const uint8_t *nul;
        if (len - off < 8 + 1 + 1)
            return fail(w, FO_RAFT_WIRE_BAD_HEADER, err, "configuration server %llu truncated", U(i));
        ids[i] = get64(c + off);
        if (ids[i] == 0) return fail(w, FO_RAFT_WIRE_BAD_HEADER, err, "configuration server %llu has id 0", U(i));
        off += 8;
        addr_off[i] = off;
        nul = memchr(c + off, 0, len - off);
        if (nul == NULL || nul == c + off || (size_t)(nul - c) + 1 >= len)
            return fail(w, FO_RAFT_WIRE_BAD_HEADER, err, "configuration server %llu address unterminated", U(i));
        off = (size_t)(nul - c) + 1;
        if (c[off] > RAFT_SPARE)
            return fail(w, FO_RAFT_WIRE_BAD_HEADER, err, "configuration server %llu role %llu", U(i), U(c[off]));
        off++;
        for (j = 0; j < i; j++)
            if (ids[j] == ids[i] || strcmp((const char *)c + addr_off[j], (const char *)c + addr_off[i]) == 0)
                return fail(w, FO_RAFT_WIRE_BAD_HEADER, err, "configuration servers %llu and %llu collide", U(j), U(i));
    }
    if ((off + 7) / 8 * 8 != len)
        return fail(w, FO_RAFT_WIRE_BAD_HEADER, err, "configuration of %llu bytes holds %llu", U(len), U(off));
    return 0;
}

static int check_snapshot(struct fo_raft_wire *w, const uint8_t *h, size_t hlen, char err[FO_ERRLEN])
{
    uint64_t clen = get64(h + 32), dlen;
    int rc;

    if (clen != hlen - H_INSTALL_SNAPSHOT_MIN)
        return fail(w, FO_RAFT_WIRE_BAD_LENGTH, err,
                    "InstallSnapshot header of %llu bytes announces a %llu-byte configuration", U(hlen), U(clen));
    if ((rc = check_conf(w, h + 40, (size_t)clen, err)) != 0) return rc;
    dlen = get64(h + 40 + clen);
    if (dlen > w->lim.max_payload)
        return fail(w, FO_RAFT_WIRE_TOO_BIG, err, "snapshot of %llu bytes (cap %llu)", U(dlen), U(w->lim.max_payload));
    w->payload_left = dlen;
    return 0;
}

static int check_header(struct fo_raft_wire *w, char err[FO_ERRLEN])
{
    const uint8_t *h = w->buf + FO_RAFT_WIRE_PREAMBLE_LEN;
    size_t hlen = w->need - FO_RAFT_WIRE_PREAMBLE_LEN;
    int rc = 0;

    w->payload_left = 0;
    if (w->buf[0] == RAFT_APPEND_ENTRIES)
        rc = check_entries(w, h, hlen, err);
    else if (w->buf[0] == RAFT_INSTALL_SNAPSHOT)
        rc = check_snapshot(w, h, hlen, err);
    if (rc != 0) return rc;
    w->messages++;
    return 0;
}

/* ------------------------------------------------------------------ feed */

/* The phase after a complete message header (or payload). */
static void next_message(struct fo_raft_wire *w)
{
    w->phase = w->payload_left > 0 ? FO_RAFT_WIRE_PH_PAYLOAD : FO_RAFT_WIRE_PH_PREAMBLE;
    w->have = 0;
    w->need = FO_RAFT_WIRE_PREAMBLE_LEN;
}

int fo_raft_wire_feed(struct fo_raft_wire *w, const uint8_t *in, size_t n, size_t *consumed,
                      enum fo_raft_wire_event *event, const uint8_t **out, size_t *out_len, char err[FO_ERRLEN])
{
    size_t take;
    int rc = 0;

    *consumed = 0;
    *event = FO_RAFT_WIRE_NEED_MORE;
    *out = NULL;
    *out_len = 0;
    if (w->phase == FO_RAFT_WIRE_PH_FAILED) return fail(w, w->why, err, "stream already refused");
    if (n == 0) return 0;
    if (w->phase == FO_RAFT_WIRE_PH_PAYLOAD) {
        take = n < w->payload_left ? n : (size_t)w->payload_left;
        w->payload_left -= take;
        *consumed = take;
        *event = FO_RAFT_WIRE_FORWARD;
        *out = in;
        *out_len = take;
        if (w->payload_left == 0) next_message(w);
        return 0;
    }
    take = w->need - w->have;
    if (take > n) take = n;
    memcpy(w->buf + w->have, in, take);
    w->have += take;
    *consumed = take;
    if (w->have < w->need) return 0;
    switch (w->phase) {
    case FO_RAFT_WIRE_PH_HANDSHAKE: return check_handshake_preamble(w, err);
    case FO_RAFT_WIRE_PH_ADDRESS:
        if ((rc = check_address(w, err)) != 0) return rc;
        w->phase = FO_RAFT_WIRE_PH_PREAMBLE;
        w->have = 0;
        w->need = FO_RAFT_WIRE_PREAMBLE_LEN;
        *event = FO_RAFT_WIRE_HANDSHAKE;
        return 0;
    case FO_RAFT_WIRE_PH_PREAMBLE: return check_preamble(w, err);
    case FO_RAFT_WIRE_PH_HEADER:
        if ((rc = check_header(w, err)) != 0) return rc;
        *event = FO_RAFT_WIRE_FORWARD;
        *out = w->buf;
        *out_len = w->need;
        next_message(w);
        return 0;
    default: return fail(w, FO_RAFT_WIRE_BAD_TYPE, err, "validator in phase %llu", U(w->phase));
    }
}

size_t fo_raft_wire_handshake(uint64_t id, const char *address, uint8_t *out)
{
    size_t len = strlen(address), padded = (len + 1 + 7) / 8 * 8;

    if (len == 0 || padded > FO_RAFT_WIRE_MAX_ADDRESS) return 0;
    put64(out, FO_RAFT_WIRE_PROTOCOL);
    put64(out + 8, id);
    put64(out + 16, padded);
    memset(out + FO_RAFT_WIRE_HANDSHAKE_LEN, 0, padded);
    memcpy(out + FO_RAFT_WIRE_HANDSHAKE_LEN, address, len);
    return FO_RAFT_WIRE_HANDSHAKE_LEN + padded;
}
