/* Logging to stderr (journald picks it up under systemd).
 *
 * Lines look like `2026-11-21T13:30:00.123Z INFO  [prober] message`, one line per record. The level is set
 * once at start-up, before the loop runs, and only read afterwards: this is the one
 * piece of process-wide state besides the signal flag (STYLE.md §11). Never log a
 * password: callers pass user names and addresses only. */
#ifndef FO_LOG_H
#define FO_LOG_H

#include <stddef.h>

enum fo_log_level { FO_LOG_DEBUG = 0, FO_LOG_INFO, FO_LOG_WARN, FO_LOG_ERROR };

/* Parses "debug" / "info" / "warn" / "error"; returns -1 for anything else. */
int fo_log_parse_level(const char *s);
void fo_log_set_level(enum fo_log_level level);
int fo_log_enabled(enum fo_log_level level);

/* One log record is one line (issue 9): a message can quote text from the network (a
 * MySQL server's error, a peer's certificate name), so fo_log escapes it with
 * fo_text_escape (common/text.h): newlines, carriage returns, ESC and every other
 * C0/C1 control character, and bytes that are not valid UTF-8, come out as visible
 * backslash escapes, never as themselves. A record longer than FO_LOG_LINE_MAX bytes is
 * cut between characters and ends in "...". Safe to call from any thread: each record
 * is written with one call. */
#define FO_LOG_LINE_MAX 2048
#define FO_LOG_MODULE_MAX 32 /* bytes of the module name shown, escapes included */

/* Formats a record into line (len bytes) without its newline: "<stamp> <LEVEL> [module]
 * message", module and message escaped as described above. Returns strlen(line). Pure:
 * fo_log's formatting, for tests. */
size_t fo_log_format(char *line, size_t len, const char *stamp, enum fo_log_level level, const char *module,
                     const char *msg);

void fo_log(enum fo_log_level level, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define FO_DEBUG(mod, ...)                                                        \
    do {                                                                          \
        if (fo_log_enabled(FO_LOG_DEBUG)) fo_log(FO_LOG_DEBUG, mod, __VA_ARGS__); \
    } while (0)
#define FO_INFO(mod, ...) fo_log(FO_LOG_INFO, mod, __VA_ARGS__)
#define FO_WARN(mod, ...) fo_log(FO_LOG_WARN, mod, __VA_ARGS__)
#define FO_ERROR(mod, ...) fo_log(FO_LOG_ERROR, mod, __VA_ARGS__)

#endif
