/* Validation of command fields and the text helpers apply uses.
 *
 * Commands come from the raft log, which is fed by the admin RPC and by the leader's
 * own observations, so every field is checked here before it reaches a table
 * (STYLE.md §7: input gets an error code, never an assert). The rules mirror
 * common/config.c (fo_check_name etc.) but are kept local: the store must not depend
 * on the config parser, and a rule that differs would show up in the tests of both. */
#include "store/internal.h"

#include <stdio.h>
#include <string.h>

static bool is_name_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
}

/* Host names, IPv4 literals and IPv6 literals (without brackets). */
static bool is_host_char(unsigned char c)
{
    return is_name_char(c) || c == ':';
}

/* "host:port" and "[v6]:port" as typed in the config; parsed by their users. */
static bool is_addr_char(unsigned char c)
{
    return is_host_char(c) || c == '[' || c == ']';
}

static int check_chars(const char *what, const char *s, size_t max, bool (*ok)(unsigned char), char err[FO_ERRLEN])
{
    size_t i;

    if (s == NULL || s[0] == '\0') return fo_errf(err, FO_EINVAL, "%s: empty", what);
    for (i = 0; s[i] != '\0'; i++) {
        if (i + 1 >= max) return fo_errf(err, FO_EINVAL, "%s: longer than %zu bytes", what, max - 1);
        if (!ok((unsigned char)s[i])) return fo_errf(err, FO_EINVAL, "%s: invalid character at offset %zu", what, i);
    }
    return 0;
}

int store_check_name(const char *what, const char *s, char err[FO_ERRLEN])
{
    return check_chars(what, s, FO_NAME_LEN, is_name_char, err);
}

int store_check_host(const char *what, const char *s, char err[FO_ERRLEN])
{
    return check_chars(what, s, FO_HOST_LEN, is_host_char, err);
}

int store_check_addr(const char *what, const char *s, bool optional, char err[FO_ERRLEN])
{
    if (optional && (s == NULL || s[0] == '\0')) return 0;
    return check_chars(what, s, FO_ADDR_LEN, is_addr_char, err);
}

int store_check_port(const char *what, uint32_t port, char err[FO_ERRLEN])
{
    if (port < 1 || port > 65535) return fo_errf(err, FO_EINVAL, "%s: %u is not in 1..65535", what, port);
    return 0;
}

int store_check_enum(const char *what, int v, int max, char err[FO_ERRLEN])
{
    if (v < 0 || v > max) return fo_errf(err, FO_EINVAL, "%s: unknown value %d", what, v);
    return 0;
}

int store_check_opt_hostport(const char *what, const char *host, uint32_t port, char err[FO_ERRLEN])
{
    char w[64];
    int rc;

    if (host == NULL || host[0] == '\0') {
        if (port != 0) return fo_errf(err, FO_EINVAL, "%s: port %u without a host", what, port);
        return 0;
    }
    snprintf(w, sizeof(w), "%s host", what); /* callers pass short literals */
    rc = store_check_host(w, host, err);
    snprintf(w, sizeof(w), "%s port", what);
    if (rc == 0) rc = store_check_port(w, port, err);
    return rc;
}

static bool is_printable(unsigned char c)
{
    return c >= 0x20 && c != 0x7f;
}

int store_check_text(const char *what, const char *s, size_t max, bool optional, char err[FO_ERRLEN])
{
    if (optional && (s == NULL || s[0] == '\0')) return 0;
    return check_chars(what, s, max, is_printable, err);
}

void store_fit_text(char *dst, size_t dstlen, const char *src)
{
    size_t n = 0;

    if (dstlen == 0) return;
    if (src == NULL) src = "";
    while (src[n] != '\0' && n + 1 < dstlen) {
        dst[n] = is_printable((unsigned char)src[n]) ? src[n] : ' ';
        n++;
    }
    /* If the cut fell inside a multi-byte character, drop that character's leading
     * bytes too, so readers never see a broken UTF-8 sequence. */
    if (src[n] != '\0') {
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80) n--;
    }
    dst[n] = '\0';
}

static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "?";
}

/* Same words as fo_health_name(), fo_role_name() and fo_rule_name(); indexes are the
 * proto enum values (see the headers in controller/ and common/config.h). */
const char *store_health_name(int h)
{
    static const char *const names[] = {"unknown", "up", "suspect", "down"};
    return name_of(names, 4, h);
}

const char *store_role_name(int r)
{
    static const char *const names[] = {"unknown", "primary", "replica", "orphan"};
    return name_of(names, 4, r);
}

const char *store_rule_name(int r)
{
    static const char *const names[] = {"neutral", "prefer", "prefer_not", "must_not"};
    return name_of(names, 4, r);
}

void store_format_addr(char *dst, size_t dstlen, const char *host, uint32_t port)
{
    int n;

    if (strchr(host, ':') != NULL)
        n = snprintf(dst, dstlen, "[%s]:%u", host, port);
    else
        n = snprintf(dst, dstlen, "%s:%u", host, port);
    /* Hosts are validated to FO_HOST_LEN - 1 bytes, which always fits FO_ADDR_LEN; a
     * smaller buffer gets an empty string rather than half an address. */
    if (n < 0 || (size_t)n >= dstlen) dst[0] = '\0';
}

void store_describe_addr(char *dst, size_t dstlen, const char *host, uint32_t port)
{
    if (host[0] == '\0')
        snprintf(dst, dstlen, "none");
    else
        store_format_addr(dst, dstlen, host, port);
}
