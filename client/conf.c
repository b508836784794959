#include "conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>

/* One key of the [failoverctl] section and where its value goes. */
struct conf_key {
    const char *name;
    size_t offset, cap;
};

#define KEY(n, field)                                                                    \
    {                                                                                    \
        n, offsetof(struct fo_ctl_conf, field), sizeof(((struct fo_ctl_conf *)0)->field) \
    }

static const struct conf_key conf_keys[] = {
    KEY("controller", controller),
    KEY("connect_timeout_ms", connect_timeout),
    KEY("ca", ca),
    KEY("cert", cert),
    KEY("key", key),
    KEY("insecure", insecure),
};

#define N_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

/* What ini_parse_file's handler needs: the target, this file's keys seen so far and
 * the first error (libinih reports only the line). */
struct loader {
    struct fo_ctl_conf *c;
    const char *path;
    FILE *f;
    unsigned seen; /* bit i: conf_keys[i] was set by this file */
    int line;
    char *err;
    int rc;
};

__attribute__((format(printf, 4, 5))) static int fail(struct loader *ld, const char *section, const char *key,
                                                      const char *fmt, ...)
{
    char msg[FO_ERRLEN];
    va_list ap;

    if (ld->rc != 0) return 0; /* keep the first error */
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap); /* a cut message is still useful */
    va_end(ap);
    if (key != NULL)
        fo_errf(ld->err, FO_ECONFIG, "%s:%d: [%s] %s: %s", ld->path, ld->line, section, key, msg);
    else
        fo_errf(ld->err, FO_ECONFIG, "%s:%d: [%s]: %s", ld->path, ld->line, section, msg);
    ld->rc = FO_ECONFIG;
    return 0;
}

/* libinih's line reader: counts lines, since Debian's libinih does not pass the line
 * number to the handler. */
static char *read_line(char *str, int num, void *user)
{
    struct loader *ld = user;

    ld->line++;
    return fgets(str, num, ld->f);
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
    struct loader *ld = user;
    const unsigned char *v;
    size_t i, n;

    if (strcmp(section, "failoverctl") != 0) return fail(ld, section, NULL, "unknown section (expected [failoverctl])");
    for (i = 0; i < N_KEYS && strcmp(conf_keys[i].name, name) != 0; i++) {
    }
    if (i == N_KEYS) return fail(ld, section, name, "unknown key");
    if (ld->seen & (1u << i)) return fail(ld, section, name, "given twice");
    ld->seen |= 1u << i;
    for (v = (const unsigned char *)value; *v; v++) {
        if (*v < ' ' || *v == 0x7f) return fail(ld, section, name, "contains a control character");
    }
    n = strlen(value);
    if (n >= conf_keys[i].cap) return fail(ld, section, name, "too long (at most %zu bytes)", conf_keys[i].cap - 1);
    /* An empty value unsets what an earlier file said. */
    memcpy((char *)ld->c + conf_keys[i].offset, value, n + 1);
    return 1;
}

int fo_ctl_conf_load(struct fo_ctl_conf *c, const char *path, char err[FO_ERRLEN])
{
    struct loader ld = {c, path, NULL, 0, 0, err, 0};
    int r, saved;

    ld.f = fopen(path, "re");
    if (ld.f == NULL && errno == ENOENT) return 0;
    if (ld.f == NULL) return fo_errf(err, FO_EIO, "%s: %s", path, strerror(errno));
    r = ini_parse_stream(read_line, &ld, on_value, &ld);
    /* fgets' NULL is also how a read error (a directory: EISDIR) ends the parse. */
    saved = ferror(ld.f) ? errno : 0;
    fclose(ld.f);
    if (saved != 0) return fo_errf(err, FO_EIO, "%s: %s", path, strerror(saved));
    if (r == 0 || ld.rc != 0) return ld.rc;
    if (r < 0) return fo_errf(err, FO_EIO, "%s: cannot be read", path);
    return fo_errf(err, FO_ECONFIG, "%s:%d: syntax error (expected [section] or key = value)", path, r);
}

int fo_ctl_conf_user_path(const char *home, char *out, size_t cap)
{
    size_t h, u = strlen(FO_CTL_USER_CONF);

    if (home == NULL || home[0] != '/') return FO_EINVAL;
    h = strlen(home);
    if (h + 1 + u >= cap) return FO_EINVAL;
    memcpy(out, home, h);
    out[h] = '/';
    memcpy(out + h + 1, FO_CTL_USER_CONF, u + 1);
    return 0;
}

static const char *or_null(const char *v)
{
    return v[0] != '\0' ? v : NULL;
}

void fo_ctl_conf_to_files(const struct fo_ctl_conf *c, struct fo_ctl_files *files)
{
    files->controller = or_null(c->controller);
    files->connect_timeout = or_null(c->connect_timeout);
    files->ca = or_null(c->ca);
    files->cert = or_null(c->cert);
    files->key = or_null(c->key);
    files->insecure = or_null(c->insecure);
}
