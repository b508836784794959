/* The validated parsers of config.h (fo_parse_*, fo_check_name, fo_rule_name), shared
 * by the config loader (config.c) and failoverctl's argument checks, and
 * fo_addr_same(), used wherever a host a server reports meets a configured one. They
 * are pure: no I/O (no DNS), no global state, every failure an FO_EINVAL with the
 * reason in err. */
#include "common/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHOW_LEN 96 /* values echoed in error messages are cut to this */

/* ---- small helpers ------------------------------------------------------------ */

/* Copies s for an error message: control bytes become '?' and long values are cut,
 * so a hostile or binary value cannot flood a terminal or a log line. (config.c has
 * the same helper for its own messages; neither header exports it.) */
static const char *show(const char *s, char out[SHOW_LEN])
{
    size_t i, n = strlen(s), lim = SHOW_LEN - 4;

    for (i = 0; i < n && i < lim; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    if (n > lim) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int is_alnum(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Copies s into a fixed field; fails rather than truncating. */
static int copy_field(char *dst, size_t size, const char *s)
{
    int n = snprintf(dst, size, "%s", s);

    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

/* ---- public parsers --------------------------------------------------------- */

int fo_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, char err[FO_ERRLEN])
{
    char shown[SHOW_LEN];
    unsigned long long v;
    char *end;
    size_t i;

    if (s[0] == '\0') return fo_errf(err, FO_EINVAL, "empty value, expected a number");
    /* strtoull alone would accept "+1", " 1" and "-1" (wrapped), so check first. */
    for (i = 0; s[i] != '\0'; i++)
        if (!is_digit(s[i])) return fo_errf(err, FO_EINVAL, "'%s' is not a number", show(s, shown));
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end != '\0') return fo_errf(err, FO_EINVAL, "'%s' is not a number", show(s, shown));
    if (errno == ERANGE || v < min || v > max)
        return fo_errf(err, FO_EINVAL, "'%s' is out of range (%llu..%llu)", show(s, shown), (unsigned long long)min,
                       (unsigned long long)max);
    *out = v;
    return 0;
}

/* RFC 1123 host name; '_' is tolerated because internal DNS names use it. */
static int check_hostname(const char *h)
{
    size_t i, label = 0, n = strlen(h);

    if (n == 0 || n > 253) return -1;
    for (i = 0; i < n; i++) {
        if (h[i] == '.') {
            if (label == 0 || h[i - 1] == '-') return -1;
            label = 0;
            continue;
        }
        if (!is_alnum(h[i]) && h[i] != '-' && h[i] != '_') return -1;
        if (h[i] == '-' && label == 0) return -1;
        if (++label > 63) return -1;
    }
    return (label == 0 || h[n - 1] == '-') ? -1 : 0;
}

/* Validates a host without brackets: IPv6 literal (if v6), dotted quad when it looks
 * numeric (so "1.2.3" is not taken for a name), else a host name. */
static int check_host(const char *h, int v6, const char *s, char *err)
{
    char shown[SHOW_LEN];
    unsigned char addr[16];
    size_t i;
    int numeric = 1;

    if (h[0] == '\0') return fo_errf(err, FO_EINVAL, "'%s': empty host", show(s, shown));
    if (v6) {
        if (inet_pton(AF_INET6, h, addr) != 1)
            return fo_errf(err, FO_EINVAL, "'%s': not an IPv6 address", show(s, shown));
        return 0;
    }
    for (i = 0; h[i] != '\0'; i++)
        if (!is_digit(h[i]) && h[i] != '.') numeric = 0;
    if (numeric && inet_pton(AF_INET, h, addr) != 1)
        return fo_errf(err, FO_EINVAL, "'%s': not an IPv4 address", show(s, shown));
    if (!numeric && check_hostname(h) != 0)
        return fo_errf(err, FO_EINVAL, "'%s': not a valid host name", show(s, shown));
    return 0;
}

/* Splits s into host (brackets removed) and the port text. Every output is set on
 * every path (h "", port "" on failure): the callers' `rc == 0` chains cannot tell
 * the compiler that fo_errf() never returns 0, and gcc -O3 then reports them as
 * maybe-uninitialized (issue 10). */
static int split_hostport(const char *s, char h[FO_ADDR_LEN], const char **port, int *v6, char *err)
{
    char shown[SHOW_LEN];
    const char *hs = s, *he, *colon;

    h[0] = '\0';
    *port = "";
    *v6 = s[0] == '[';
    if (*v6) {
        he = strchr(s, ']');
        if (he == NULL || he[1] != ':') return fo_errf(err, FO_EINVAL, "'%s': expected [ADDRESS]:PORT", show(s, shown));
        hs = s + 1;
        colon = he + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) return fo_errf(err, FO_EINVAL, "'%s': expected HOST:PORT", show(s, shown));
        he = colon;
        if (memchr(hs, ':', (size_t)(he - hs)) != NULL)
            return fo_errf(err, FO_EINVAL, "'%s': IPv6 addresses need brackets, [ADDRESS]:PORT", show(s, shown));
    }
    if ((size_t)(he - hs) >= FO_ADDR_LEN) return fo_errf(err, FO_EINVAL, "'%s': host is too long", show(s, shown));
    memcpy(h, hs, (size_t)(he - hs));
    h[he - hs] = '\0';
    *port = colon + 1;
    return 0;
}

static int parse_port(const char *p, const char *s, uint16_t *port, char *err)
{
    char shown[SHOW_LEN], perr[FO_ERRLEN];
    uint64_t v;

    *port = 0;
    if (fo_parse_u64(p, 1, 65535, &v, perr) != 0) return fo_errf(err, FO_EINVAL, "'%s': port %s", show(s, shown), perr);
    *port = (uint16_t)v;
    return 0;
}

/* host and port may be NULL (hostlen 0) when the caller only validates. */
int fo_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port, char err[FO_ERRLEN])
{
    char h[FO_ADDR_LEN], shown[SHOW_LEN];
    const char *ptext = "";
    uint16_t p = 0;
    int v6 = 0, rc;

    rc = split_hostport(s, h, &ptext, &v6, err);
    if (rc == 0) rc = parse_port(ptext, s, &p, err);
    if (rc == 0) rc = check_host(h, v6, s, err);
    if (rc != 0) return rc;
    if (host != NULL && copy_field(host, hostlen, h) != 0)
        return fo_errf(err, FO_EINVAL, "'%s': host is longer than %zu bytes", show(s, shown),
                       hostlen ? hostlen - 1 : 0);
    if (port != NULL) *port = p;
    return 0;
}

int fo_parse_ipv4_port(const char *s, char err[FO_ERRLEN])
{
    char h[FO_ADDR_LEN], shown[SHOW_LEN];
    struct in_addr a = {0};
    const char *ptext = "";
    uint16_t p = 0;
    int v6 = 0, rc;

    rc = split_hostport(s, h, &ptext, &v6, err);
    if (rc == 0) rc = parse_port(ptext, s, &p, err);
    if (rc != 0) return rc;
    if (v6 || inet_pton(AF_INET, h, &a) != 1)
        return fo_errf(err, FO_EINVAL, "'%s': host must be an IPv4 literal (A.B.C.D:PORT)", show(s, shown));
    /* Peers dial this address, so the wildcard address cannot work. */
    if (a.s_addr == htonl(INADDR_ANY))
        return fo_errf(err, FO_EINVAL, "'%s': 0.0.0.0 cannot be dialled by peers", show(s, shown));
    return 0;
}

/* ---- address comparison -------------------------------------------------------- */

/* Host h as an IP address in IPv6 form (IPv4 as ::ffff:a.b.c.d), if it is a literal
 * that inet_pton accepts; an IPv6 literal may be bracketed. */
static bool addr_literal(const char *h, unsigned char out[16])
{
    char buf[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(h);
    struct in_addr v4;

    if (inet_pton(AF_INET, h, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        return true;
    }
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        if (n - 2 >= sizeof(buf)) return false;
        memcpy(buf, h + 1, n - 2);
        buf[n - 2] = '\0';
        h = buf;
    }
    return inet_pton(AF_INET6, h, out) == 1;
}

/* Length of host name h without one trailing dot (the root label). */
static size_t name_len(const char *h)
{
    size_t n = strlen(h);

    return n > 1 && h[n - 1] == '.' ? n - 1 : n;
}

bool fo_addr_same(const char *a, uint16_t port_a, const char *b, uint16_t port_b)
{
    unsigned char ia[16], ib[16];
    bool lit_a, lit_b;
    size_t na, nb;

    if (port_a != port_b || a == NULL || b == NULL || a[0] == '\0' || b[0] == '\0') return false;
    lit_a = addr_literal(a, ia);
    lit_b = addr_literal(b, ib);
    if (lit_a || lit_b) return lit_a && lit_b && memcmp(ia, ib, sizeof(ia)) == 0;
    na = name_len(a);
    nb = name_len(b);
    return na == nb && strncasecmp(a, b, na) == 0;
}

static const struct {
    const char *name;
    enum fo_rule rule;
} rule_names[] = {
    {"neutral", FO_RULE_NEUTRAL},    {"prefer", FO_RULE_PREFER},    {"prefer_not", FO_RULE_PREFER_NOT},
    {"must_not", FO_RULE_MUST_NOT},  {"candidate", FO_RULE_PREFER}, /* MHA: candidate_master=1 */
    {"no_master", FO_RULE_MUST_NOT},                                /* MHA: no_master=1 */
};

int fo_parse_rule(const char *s, enum fo_rule *out, char err[FO_ERRLEN])
{
    char shown[SHOW_LEN];
    size_t i;

    for (i = 0; i < sizeof(rule_names) / sizeof(rule_names[0]); i++) {
        if (strcmp(s, rule_names[i].name) == 0) {
            *out = rule_names[i].rule;
            return 0;
        }
    }
    return fo_errf(err, FO_EINVAL, "'%s' is not a rule (prefer|neutral|prefer_not|must_not|candidate|no_master)",
                   show(s, shown));
}

const char *fo_rule_name(enum fo_rule r)
{
    switch (r) {
    case FO_RULE_NEUTRAL: return "neutral";
    case FO_RULE_PREFER: return "prefer";
    case FO_RULE_PREFER_NOT: return "prefer_not";
    case FO_RULE_MUST_NOT: return "must_not";
    }
    return "unknown";
}

int fo_check_name(const char *s, char err[FO_ERRLEN])
{
    char shown[SHOW_LEN];
    size_t i, n = strlen(s);

    if (n == 0) return fo_errf(err, FO_EINVAL, "empty name");
    if (n >= FO_NAME_LEN)
        return fo_errf(err, FO_EINVAL, "'%s' is longer than %d bytes", show(s, shown), FO_NAME_LEN - 1);
    for (i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return fo_errf(err, FO_EINVAL, "'%s' may contain only A-Z a-z 0-9 _ . -", show(s, shown));
    return 0;
}

int fo_parse_cidr4(const char *s, char err[FO_ERRLEN])
{
    char shown[SHOW_LEN], addr[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    struct in_addr a;
    uint64_t len;
    char perr[FO_ERRLEN];

    if (slash == NULL || (size_t)(slash - s) >= sizeof(addr))
        return fo_errf(err, FO_EINVAL, "'%s' is not an IPv4 address with a prefix length (a.b.c.d/len)",
                       show(s, shown));
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    if (inet_pton(AF_INET, addr, &a) != 1)
        return fo_errf(err, FO_EINVAL, "'%s' is not an IPv4 address with a prefix length (a.b.c.d/len)",
                       show(s, shown));
    if (fo_parse_u64(slash + 1, 0, 32, &len, perr) != 0)
        return fo_errf(err, FO_EINVAL, "'%s': prefix length %s", show(s, shown), perr);
    return 0;
}

int fo_check_ifname(const char *s, char err[FO_ERRLEN])
{
    char shown[SHOW_LEN];
    size_t i, n = strlen(s);

    if (n == 0 || n >= FO_IFNAME_LEN)
        return fo_errf(err, FO_EINVAL, "'%s' is not an interface name (1..%d bytes)", show(s, shown),
                       FO_IFNAME_LEN - 1);
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '/' || ch == ':')
            return fo_errf(err, FO_EINVAL, "'%s' is not an interface name (no spaces, '/' or ':')", show(s, shown));
    }
    return 0;
}
