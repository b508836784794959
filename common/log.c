#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/text.h"

static enum fo_log_level min_level = FO_LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

int fo_log_parse_level(const char *s)
{
    if (strcmp(s, "debug") == 0) return FO_LOG_DEBUG;
    if (strcmp(s, "info") == 0) return FO_LOG_INFO;
    if (strcmp(s, "warn") == 0) return FO_LOG_WARN;
    if (strcmp(s, "error") == 0) return FO_LOG_ERROR;
    return -1;
}

void fo_log_set_level(enum fo_log_level level)
{
    min_level = level;
}

int fo_log_enabled(enum fo_log_level level)
{
    return level >= min_level;
}

size_t fo_log_format(char *line, size_t len, const char *stamp, enum fo_log_level level, const char *module,
                     const char *msg)
{
    size_t n;
    int w;

    /* The module names are ours, but they go through the same escaping: one record is
     * one line whatever a caller passes. */
    w = snprintf(line, len, "%s %s [", stamp, level_names[level]);
    if (w < 0 || (size_t)w >= len) return fo_text_escape(line, len, msg, strlen(msg));
    n = (size_t)w;
    n += fo_text_escape(line + n, len - n > FO_LOG_MODULE_MAX ? FO_LOG_MODULE_MAX : len - n, module, strlen(module));
    if (n + 2 < len) {
        memcpy(line + n, "] ", 3);
        n += 2;
    }
    return n + fo_text_escape(line + n, len - n, msg, strlen(msg));
}

void fo_log(enum fo_log_level level, const char *module, const char *fmt, ...)
{
    char msg[FO_LOG_LINE_MAX], line[FO_LOG_LINE_MAX + 2];
    char stamp[32];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    size_t n;

    if (level < min_level) return;
    gettimeofday(&tv, NULL); /* wall clock: human-readable log stamps only */
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp), ".%03ldZ", (long)(tv.tv_usec / 1000));
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap); /* cut here is cut again, cleanly, below */
    va_end(ap);
    n = fo_log_format(line, FO_LOG_LINE_MAX, stamp, level, module, msg);
    /* One write of the whole record, newline included, so concurrent writers (the
     * thread pool logs too) cannot interleave inside a line. */
    line[n] = '\n';
    fwrite(line, 1, n + 1, stderr);
}
