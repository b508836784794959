/* Server flavour classification (pure); see flavour.h for the table of versions. */
#include "controller/decide/flavour.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/text.h"

#define VERSION_MAX 64 /* @@version is at most 60 characters on every server */
#define QUOTE_MAX 40   /* of an unrecognised version, in messages */
#define OLD_PREFIX "5.5.5-"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* One number of the version at *p, advancing *p; false if there is none or it is
 * absurd (strtoul alone would accept a sign or spaces). */
static bool number(const char **p, unsigned long *v)
{
    char *end;

    if (!is_digit(**p)) return false;
    errno = 0;
    *v = strtoul(*p, &end, 10);
    if (errno != 0 || *v > 9999) return false;
    *p = end;
    return true;
}

/* major.minor[.patch] at the start of s; *rest points after it. */
static bool numbers(const char *s, struct fo_flavour *f, const char **rest)
{
    const char *p = s;

    if (!number(&p, &f->major) || *p++ != '.' || !number(&p, &f->minor)) return false;
    if (*p == '.') {
        p++;
        if (!number(&p, &f->patch)) return false;
    }
    *rest = p;
    return true;
}

static bool all_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!is_digit(s[i])) return false;
    return n > 0;
}

/* The "-"-separated parts after the numbers: a "MariaDB" part names MariaDB; a first
 * part of digits only is Percona Server's build number ("8.0.36-28"). */
static void parts(const char *rest, bool *mariadb, const char **build, size_t *build_len)
{
    const char *p = rest;
    bool first = true;

    *mariadb = false;
    *build = NULL;
    *build_len = 0;
    while (*p == '-') {
        const char *start = ++p;
        size_t n = strcspn(start, "-");
        if (n == strlen("MariaDB") && strncasecmp(start, "MariaDB", n) == 0) *mariadb = true;
        if (first && all_digits(start, n)) {
            *build = start;
            *build_len = n;
        }
        first = false;
        p = start + n;
    }
}

static void unknown(const char *version, struct fo_flavour *out)
{
    char quoted[QUOTE_MAX + 1];
    size_t i;

    memset(out, 0, sizeof(*out));
    if (version == NULL || version[0] == '\0') {
        snprintf(out->name, sizeof(out->name), "server without a version");
        return;
    }
    /* The server's text goes into logs and `failoverctl why`: no control bytes. */
    for (i = 0; i < QUOTE_MAX && version[i] != '\0'; i++)
        quoted[i] = (unsigned char)version[i] < 0x20 || version[i] == 0x7f || version[i] == '"' ? '?' : version[i];
    quoted[i] = '\0';
    snprintf(out->name, sizeof(out->name), "unrecognised server version \"%s%s\"", quoted,
             version[i] != '\0' ? "..." : "");
}

void fo_flavour_classify(const char *version, struct fo_flavour *out)
{
    const char *v = version, *rest, *build;
    size_t build_len;
    bool mariadb;

    unknown(version, out);
    if (v == NULL || strlen(v) >= VERSION_MAX) return;
    /* MariaDB before 11.0 sends "5.5.5-" before its version in the handshake. */
    if (strncmp(v, OLD_PREFIX, strlen(OLD_PREFIX)) == 0 && is_digit(v[strlen(OLD_PREFIX)])) v += strlen(OLD_PREFIX);
    if (!numbers(v, out, &rest) || (*rest != '\0' && *rest != '-')) {
        out->major = out->minor = out->patch = 0;
        return;
    }
    parts(rest, &mariadb, &build, &build_len);
    if (mariadb) {
        out->family = FO_FLAVOUR_MARIADB;
        out->supported = (out->major == 10 && out->minor >= 6) || out->major == 11;
    } else if (out->major == 5 || out->major == 8 || out->major == 9) {
        out->family = build != NULL ? FO_FLAVOUR_PERCONA : FO_FLAVOUR_MYSQL;
    } else {
        out->major = out->minor = out->patch = 0;
        return; /* "10.11.6" without "-MariaDB": no server prints that */
    }
    snprintf(out->name, sizeof(out->name), "%s %.*s%s%.*s", fo_flavour_family_name(out->family), (int)(rest - v), v,
             out->family == FO_FLAVOUR_PERCONA ? "-" : "", out->family == FO_FLAVOUR_PERCONA ? (int)build_len : 0,
             build != NULL ? build : "");
}

const char *fo_flavour_family_name(enum fo_flavour_family f)
{
    switch (f) {
    case FO_FLAVOUR_MARIADB: return "MariaDB";
    case FO_FLAVOUR_MYSQL: return "MySQL";
    case FO_FLAVOUR_PERCONA: return "Percona Server";
    case FO_FLAVOUR_UNKNOWN: break;
    }
    return "unknown";
}

/* What is not supported about f, after "failoverd supports ...; ". */
static const char *why_not(const struct fo_flavour *f)
{
    switch (f->family) {
    case FO_FLAVOUR_MARIADB:
        return f->major < 10 || (f->major == 10 && f->minor < 6) ? "MariaDB before 10.6 is not supported"
                                                                 : "MariaDB 12 and later are not tested yet";
    case FO_FLAVOUR_MYSQL: return "MySQL 5.7/8.x is not supported yet";
    case FO_FLAVOUR_PERCONA: return "Percona Server is not supported yet";
    case FO_FLAVOUR_UNKNOWN: break;
    }
    return "a server whose version failoverd cannot read is not acted on";
}

void fo_flavour_problem(const struct fo_flavour *f, char *out, size_t n)
{
    out[0] = '\0';
    if (f->supported) return;
    fo_text_append(out, n, "%s%s (failoverd supports %s; %s)", FO_FLAVOUR_PROBLEM_PREFIX, f->name,
                   FO_FLAVOUR_SUPPORTED_TEXT, why_not(f));
}

void fo_flavour_probe_error(const char *server_version, const char *error, char *out, size_t n)
{
    struct fo_flavour f;
    char quoted[QUOTE_MAX + 1];
    size_t i;

    fo_flavour_classify(server_version, &f);
    for (i = 0; server_version != NULL && i < QUOTE_MAX && server_version[i] != '\0'; i++)
        quoted[i] = (unsigned char)server_version[i] < 0x20 ? '?' : server_version[i];
    quoted[i] = '\0';
    out[0] = '\0';
    fo_text_append(out, n, "%s (%s?): %s (server version %s; failoverd supports %s)", FO_FLAVOUR_PROBE_PREFIX,
                   fo_flavour_family_name(f.family), error != NULL ? error : "", quoted[0] != '\0' ? quoted : "unknown",
                   FO_FLAVOUR_SUPPORTED_TEXT);
}

bool fo_flavour_text_unsupported(const char *text)
{
    if (text == NULL) return false;
    return strstr(text, FO_FLAVOUR_PROBE_PREFIX) != NULL ||
           strncmp(text, FO_FLAVOUR_PROBLEM_PREFIX, strlen(FO_FLAVOUR_PROBLEM_PREFIX)) == 0;
}

/* The first line of problems ("\n"-joined) that is the topology's cluster-level
 * flavour problem, copied to why. */
static bool recorded(const char *problems, char *why, size_t len)
{
    const char *p = problems;

    while (p != NULL && *p != '\0') {
        size_t n = strcspn(p, "\n");
        if (strncmp(p, FO_FLAVOUR_CLUSTER_PREFIX, strlen(FO_FLAVOUR_CLUSTER_PREFIX)) == 0) {
            why[0] = '\0';
            fo_text_append(why, len, "%.*s", (int)n, p);
            return true;
        }
        p += n;
        if (*p == '\n') p++;
    }
    return false;
}

bool fo_flavour_refuse(const struct fo_flavour_in *in, unsigned n, const char *cluster_problems, char *why, size_t len)
{
    struct fo_flavour f;
    char problem[FO_FLAVOUR_NAME_LEN + 160];
    unsigned i;

    for (i = 0; i < n; i++) {
        const char *what = NULL;
        if (in[i].version != NULL) {
            fo_flavour_classify(in[i].version, &f);
            fo_flavour_problem(&f, problem, sizeof(problem));
            if (problem[0] != '\0') what = problem;
        }
        if (what == NULL && fo_flavour_text_unsupported(in[i].last_error)) what = in[i].last_error;
        if (what == NULL) continue;
        why[0] = '\0';
        fo_text_append(why, len, "%s%s:%u: %s", FO_FLAVOUR_CLUSTER_PREFIX, in[i].host != NULL ? in[i].host : "",
                       in[i].port, what);
        return true;
    }
    return recorded(cluster_problems, why, len);
}
