/* Bounded human-readable text in fixed buffers (reasons, problems, details).
 *
 * fo_text_append() appends printf-style to the NUL-terminated string in buf (len bytes
 * in all); when the result does not fit, the text is cut and ends in "...", backed off
 * to a UTF-8 character boundary so that error texts quoted from MySQL stay valid text.
 * buf is always NUL-terminated afterwards. Pure; len must be at least 4. */
#ifndef FO_TEXT_H
#define FO_TEXT_H

#include <stddef.h>

void fo_text_append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Marks a full buffer as cut: its last bytes become "..." (UTF-8 safe). */
void fo_text_mark_truncated(char *buf, size_t len);

#endif
