/* libraft 0.22 wire format, checked before libraft sees a byte (DESIGN.md §9, §10).
 *
 * libraft's uv backend trusts what arrives on a raft connection: an address without
 * a NUL is read with strlen past its buffer, a header length is allocated as sent
 * (31 GB from a short header), a short header is decoded past its end, a malformed
 * configuration is freed twice (docs/libraft-0.22-parsing.md). raft/transport.c
 * therefore feeds every incoming plaintext byte to this validator, forwards to
 * libraft only what it approves, and closes the connection on the first refusal.
 *
 * What a connection carries, all integers unsigned 64-bit little-endian unless said:
 *
 *   handshake   protocol (= 1), server id (!= 0), address length L (8..MAX_ADDRESS,
 *               a multiple of 8), then L bytes: a printable address, a NUL, zero
 *               padding. Consumed here; libraft gets the id and address through the
 *               transport's accept callback, never these bytes.
 *   message     preamble: byte 0 type (RAFT_APPEND_ENTRIES..RAFT_TIMEOUT_NOW), byte 2
 *               version, the other six bytes zero; then the header length H; then H
 *               header bytes; then a payload whose length the header implies:
 *                 RequestVote          H = 40                      no payload
 *                 RequestVoteResult    H = 24                      no payload
 *                 AppendEntriesResult  H = 32                      no payload
 *                 TimeoutNow           H = 24                      no payload
 *                 AppendEntries        H = 48 + 16 n (n entries, n <= max_entries),
 *                                      each entry: term, type byte (1..3), 3 zero
 *                                      bytes, u32 length (a multiple of 8, since
 *                                      libraft pads when it splits the batch);
 *                                      payload = sum of the lengths
 *                 InstallSnapshot      H = 56 + C: term, last index, last term, conf
 *                                      index, C, then a configuration of C bytes
 *                                      (format 1, server count, per server id != 0,
 *                                      NUL-terminated address, role 0..2; ids and
 *                                      addresses distinct; zero padding to C, a
 *                                      multiple of 8), snapshot length, 8 unused
 *                                      bytes; payload = snapshot length
 *               Exact header sizes make every version byte safe: libraft's decoders
 *               read at most the sizes above.
 *
 * A message's preamble and header are held here until the header is whole and
 * checked (at most max_header bytes), then released to the caller in one piece; its
 * payload, already bounded by max_payload, streams through as it arrives. Payload
 * contents (log entries, snapshot data) are not interpreted: they come from a peer
 * whose certificate names a member, which can append entries anyway.
 *
 * Pure: no I/O, no allocation, no clock. Any thread, one validator per connection. */
#ifndef FO_RAFT_WIRE_H
#define FO_RAFT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define FO_RAFT_WIRE_PROTOCOL 1u
#define FO_RAFT_WIRE_HANDSHAKE_LEN 24u
#define FO_RAFT_WIRE_PREAMBLE_LEN 16u
#define FO_RAFT_WIRE_MAX_ADDRESS 256u          /* handshake address buffer, padded */
#define FO_RAFT_WIRE_MAX_HEADER (64u * 1024u)  /* hard bound on max_header */
#define FO_RAFT_WIRE_DEFAULT_MAX_ENTRIES 1024u /* libraft sends at most 32 by default */
#define FO_RAFT_WIRE_DEFAULT_MAX_PAYLOAD (256ull * 1024 * 1024)
#define FO_RAFT_WIRE_MAX_SERVERS 64u

/* Why a stream was refused; also the label of the refusal counters. */
enum fo_raft_wire_why {
    FO_RAFT_WIRE_OK = 0,
    FO_RAFT_WIRE_BAD_HANDSHAKE, /* protocol, id 0, address length or address bytes */
    FO_RAFT_WIRE_BAD_TYPE,      /* unknown message type or non-zero reserved preamble bytes */
    FO_RAFT_WIRE_BAD_LENGTH,    /* header length not the one the type implies */
    FO_RAFT_WIRE_BAD_HEADER,    /* entry type/length, configuration, ... */
    FO_RAFT_WIRE_TOO_BIG,       /* header or payload over its cap */
    FO_RAFT_WIRE_N_WHY,
};

/* "bad_handshake", "bad_type", "bad_length", "bad_header", "too_big" (or "ok"). */
const char *fo_raft_wire_why_name(enum fo_raft_wire_why why);

enum fo_raft_wire_phase {
    FO_RAFT_WIRE_PH_HANDSHAKE, /* reading the 24-byte handshake preamble */
    FO_RAFT_WIRE_PH_ADDRESS,   /* reading the handshake address */
    FO_RAFT_WIRE_PH_PREAMBLE,  /* reading a message preamble */
    FO_RAFT_WIRE_PH_HEADER,    /* reading a message header */
    FO_RAFT_WIRE_PH_PAYLOAD,   /* streaming a payload */
    FO_RAFT_WIRE_PH_FAILED,    /* refused: every further feed fails */
};

struct fo_raft_wire_limits {
    uint32_t max_header;  /* 64..FO_RAFT_WIRE_MAX_HEADER */
    uint32_t max_entries; /* per AppendEntries */
    uint64_t max_payload; /* per message */
};

struct fo_raft_wire {
    struct fo_raft_wire_limits lim;
    enum fo_raft_wire_phase phase;
    size_t have; /* bytes of the current handshake / preamble+header held in buf */
    size_t need; /* bytes the current phase needs in buf */
    uint64_t payload_left;
    uint64_t peer_id;                       /* from the handshake */
    char address[FO_RAFT_WIRE_MAX_ADDRESS]; /* from the handshake, NUL-terminated */
    uint64_t messages;                      /* messages whose header was approved */
    enum fo_raft_wire_why why;
    uint8_t buf[FO_RAFT_WIRE_PREAMBLE_LEN + FO_RAFT_WIRE_MAX_HEADER];
};

/* What fo_raft_wire_feed() produced. */
enum fo_raft_wire_event {
    FO_RAFT_WIRE_NEED_MORE, /* input consumed into the validator; nothing to do yet */
    FO_RAFT_WIRE_HANDSHAKE, /* the handshake is complete: peer_id and address are set */
    FO_RAFT_WIRE_FORWARD,   /* hand out[0..out_len) to libraft */
};

/* Starts a validator at the handshake. lim NULL means the defaults; a bad limit is
 * clamped into its range. */
void fo_raft_wire_init(struct fo_raft_wire *w, const struct fo_raft_wire_limits *lim);

/* Consumes a prefix of in[0..n): returns 0 with *consumed (1..n when n > 0) and
 * *event; for FO_RAFT_WIRE_FORWARD, out and out_len give the bytes to forward: in
 * w (a checked preamble + header, valid until the next call) or in `in` (payload
 * bytes). The caller loops until all n bytes are consumed.
 * Returns FO_EPROTO or FO_ETOOBIG with a reason in err (and w->why set) on a
 * malformed stream; the validator then stays failed. */
int fo_raft_wire_feed(struct fo_raft_wire *w, const uint8_t *in, size_t n, size_t *consumed,
                      enum fo_raft_wire_event *event, const uint8_t **out, size_t *out_len, char err[FO_ERRLEN]);

/* Encodes our own handshake (protocol 1, id, address padded with NULs) into out,
 * which has room for FO_RAFT_WIRE_HANDSHAKE_LEN + FO_RAFT_WIRE_MAX_ADDRESS bytes.
 * Returns its length, or 0 if the address is empty or too long. */
size_t fo_raft_wire_handshake(uint64_t id, const char *address, uint8_t *out);

#endif
