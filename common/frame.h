/* Length-prefixed frames for every RPC (controller admin RPC now, agent RPC later).
 *
 * Wire format (8-byte header, then payload):
 *   byte 0-1  magic 'F' 'O'
 *   byte 2    version (FO_FRAME_VERSION)
 *   byte 3    type: FO_FRAME_REQUEST (1) or FO_FRAME_RESPONSE (2)
 *   byte 4-7  payload length, unsigned 32-bit big-endian
 * The payload is one protobuf message (fo.Request / fo.Response).
 *
 * The decoder is pure (no sockets): bytes go in with feed(), whole frames come out
 * of next(). It rejects a bad magic, version or type, or a declared length above
 * its cap, as soon as the 8 header bytes are present, before buffering any payload,
 * so a peer cannot make it allocate more than cap + 8 bytes. After an error the
 * decoder stays failed; the owner closes the connection (DESIGN.md §9). The layer is
 * transport-agnostic so that TLS can sit under it later. */
#ifndef FO_FRAME_H
#define FO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define FO_FRAME_MAGIC0 'F'
#define FO_FRAME_MAGIC1 'O'
#define FO_FRAME_VERSION 1
#define FO_FRAME_HDR 8
#define FO_FRAME_REQUEST 1
#define FO_FRAME_RESPONSE 2
#define FO_FRAME_DEFAULT_MAX (1u << 20)   /* requests */
#define FO_FRAME_RESPONSE_MAX (64u << 20) /* responses a client accepts */

struct fo_frame {
    uint8_t type;
    const uint8_t *payload; /* points into the decoder; valid until the next feed/next */
    size_t len;
};

struct fo_frame_decoder {
    size_t max_payload;
    uint8_t *buf;
    size_t len; /* bytes buffered */
    size_t cap;
    size_t consumed; /* bytes of buf already returned as frames */
    int failed;      /* sticky error code */
    char err[FO_ERRLEN];
};

void fo_frame_decoder_init(struct fo_frame_decoder *d, size_t max_payload);
void fo_frame_decoder_close(struct fo_frame_decoder *d);

/* Appends n bytes. Returns 0, FO_ENOMEM, or the sticky error if already failed. */
int fo_frame_decoder_feed(struct fo_frame_decoder *d, const void *data, size_t n);

/* Returns 0 with *out filled when a whole frame is buffered; FO_EAGAIN when more
 * bytes are needed; FO_EPROTO (bad magic/type), FO_EVERSION or FO_ETOOBIG with a
 * reason in err (and in d->err) when the stream is bad. */
int fo_frame_decoder_next(struct fo_frame_decoder *d, struct fo_frame *out, char err[FO_ERRLEN]);

/* Writes the 8-byte header for a payload of len bytes into hdr. */
void fo_frame_header(uint8_t hdr[FO_FRAME_HDR], uint8_t type, uint32_t len);

/* Returns a malloc'd header+payload in *out (*outlen bytes). FO_ETOOBIG if len > UINT32_MAX. */
int fo_frame_encode(uint8_t type, const void *payload, size_t len, uint8_t **out, size_t *outlen);

#endif
