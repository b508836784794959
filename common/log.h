/* Logging to stderr (journald picks it up under systemd).
 *
 * Lines look like `2026-11-21T13:30:00.123Z INFO  [prober] message`. The level is set
 * once at start-up, before the loop runs, and only read afterwards: this is the one
 * piece of process-wide state besides the signal flag (STYLE.md §11). Never log a
 * password: callers pass user names and addresses only. */
#ifndef FO_LOG_H
#define FO_LOG_H

enum fo_log_level { FO_LOG_DEBUG = 0, FO_LOG_INFO, FO_LOG_WARN, FO_LOG_ERROR };

/* Parses "debug" / "info" / "warn" / "error"; returns -1 for anything else. */
int fo_log_parse_level(const char *s);
void fo_log_set_level(enum fo_log_level level);
int fo_log_enabled(enum fo_log_level level);

void fo_log(enum fo_log_level level, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define FO_DEBUG(mod, ...)                                                        \
    do {                                                                          \
        if (fo_log_enabled(FO_LOG_DEBUG)) fo_log(FO_LOG_DEBUG, mod, __VA_ARGS__); \
    } while (0)
#define FO_INFO(mod, ...) fo_log(FO_LOG_INFO, mod, __VA_ARGS__)
#define FO_WARN(mod, ...) fo_log(FO_LOG_WARN, mod, __VA_ARGS__)
#define FO_ERROR(mod, ...) fo_log(FO_LOG_ERROR, mod, __VA_ARGS__)

#endif
