#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

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

void fo_log(enum fo_log_level level, const char *module, const char *fmt, ...)
{
    char line[1024];
    char stamp[32];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n;

    if (level < min_level) return;
    gettimeofday(&tv, NULL); /* wall clock: human-readable log stamps only */
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof(line), "%s.%03ldZ %s [%s] ", stamp, (long)(tv.tv_usec / 1000), level_names[level],
                 module);
    if (n < 0 || (size_t)n >= sizeof(line)) n = 0;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
