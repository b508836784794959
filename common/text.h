/* Bounded human-readable text in fixed buffers (reasons, problems, details).
 *
 * fo_text_append() appends printf-style to the NUL-terminated string in buf (len bytes
 * in all); when the result does not fit, the text is cut and ends in "...", backed off
 * to a UTF-8 character boundary so that error texts quoted from MySQL stay valid text.
 * buf is always NUL-terminated afterwards. Pure; len must be at least 4. */
#ifndef FO_TEXT_H
#define FO_TEXT_H

#include <stddef.h>
#include <stdint.h>

void fo_text_append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Marks a full buffer as cut: its last bytes become "..." (UTF-8 safe). */
void fo_text_mark_truncated(char *buf, size_t len);

/* ---- UTF-8 and control characters ----------------------------------------------
 *
 * Text that came from the network (a MySQL server's error message, a peer's field) can
 * hold anything: a newline that would forge a log line, an ESC that drives a terminal,
 * bytes that are not UTF-8 and make JSON invalid. These helpers let every writer treat
 * such text the same way. Pure, no allocation. */

/* The Unicode replacement character U+FFFD, as UTF-8. */
#define FO_UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* Decodes one UTF-8 character at s (n > 0 bytes available), strictly as RFC 3629 says:
 * no overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no
 * truncated sequence. Returns its length (1..4) with *cp set, or 0 if s does not start
 * with a valid character (the caller then treats the one byte at s as invalid). */
size_t fo_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* A control character in the sense of this module: C0 (U+0000..U+001F), DEL (U+007F)
 * and C1 (U+0080..U+009F), plus U+2028 / U+2029 (line and paragraph separators, which
 * some readers treat as line breaks). */
int fo_text_is_control(uint32_t cp);

/* Writes src[0..srclen) into dst (dstlen bytes, at least 1) as one line of printable
 * text, C-style: a backslash is doubled; newline, carriage return and tab become
 * backslash-n, -r, -t; other C0 characters and DEL become backslash-x and two hex
 * digits; C1 characters and U+2028 / U+2029 become backslash-u and four hex digits;
 * every byte that is not part of valid UTF-8 becomes backslash-x and its two hex digits
 * (so the original bytes can be read back). Valid non-control UTF-8 is kept as is.
 * When it does not fit, the text is cut between characters (never inside an escape or
 * a UTF-8 sequence) and ends in "..." where dstlen allows. dst is always
 * NUL-terminated; returns strlen(dst). A NUL byte inside src is escaped like any other
 * control character. */
size_t fo_text_escape(char *dst, size_t dstlen, const char *src, size_t srclen);

/* FNV-1a of s continued from h (start with FO_HASH_SEED), for the in-memory indexes
 * of clusters and instances (monitor, failover engine, rejoin); not for anything
 * an outsider could choose to collide. fo_instance_hash hashes cluster/host/port. */
#define FO_HASH_SEED 1469598103934665603ull
uint64_t fo_text_hash(uint64_t h, const char *s);
uint64_t fo_instance_hash(const char *cluster, const char *host, uint16_t port);

#endif
