/* failover-agent configuration: the contract is in config.h.
 *
 * As in common/config.c, libinih gets its lines through our own reader so that the
 * line number of every key is known, lines are left-trimmed (no accidental
 * multi-line continuation) and section headers are recognised here (libinih's section
 * buffer is shorter than "cluster " + a 63-byte name). The first error stops the
 * parse. */
#include "agent/config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/epoch.h"
#include "common/log.h"

#define CONFIG_MAX_BYTES (1u << 20)
#define SECTION_LEN 128
#define SHOW_LEN 64

enum section { SEC_NONE, SEC_AGENT, SEC_MYSQL, SEC_CLUSTER };

struct parse {
    struct fo_agent_config *c;
    const char *name;
    const char *text; /* remaining input */
    unsigned line;
    enum section sec;
    char sec_name[SECTION_LEN];
    struct fo_agent_cluster *cluster;
    char seen[32][24]; /* keys set in the current section, for duplicates */
    unsigned seen_line[32];
    unsigned n_seen;
    int rc;
    char *err;
};

static const char *show(const char *s, char out[SHOW_LEN])
{
    size_t i, n = strlen(s);

    for (i = 0; i < n && i < SHOW_LEN - 4; i++) out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (i < n) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

static int fail(struct parse *p, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct parse *p, const char *key, const char *fmt, ...)
{
    char msg[FO_ERRLEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->rc = fo_errf(p->err, FO_ECONFIG, "%s:%u: [%s] %s: %s", p->name, p->line, p->sec_name, key, msg);
    return 0;
}

static int copy(char *dst, size_t size, const char *s)
{
    int n = snprintf(dst, size, "%s", s);

    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

/* ---- values ---------------------------------------------------------------------- */

static int num(struct parse *p, const char *key, const char *v, uint64_t min, uint64_t max, unsigned *out)
{
    char e[FO_ERRLEN], sh[SHOW_LEN], msg[FO_ERRLEN];
    uint64_t x;

    if (fo_parse_u64(v, min, max, &x, e) != 0) {
        const char *q = v;
        int digits = *q != '\0';
        for (; *q; q++)
            if (*q < '0' || *q > '9') digits = 0;
        if (!digits) return fail(p, key, "'%s' is not a number", show(v, sh));
        snprintf(msg, sizeof msg, "'%s' is out of range (%llu..%llu)", show(v, sh), (unsigned long long)min,
                 (unsigned long long)max);
        return fail(p, key, "%s", msg);
    }
    *out = (unsigned)x;
    return 1;
}

static int yesno(struct parse *p, const char *key, const char *v, bool *out)
{
    char sh[SHOW_LEN];

    if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = true;
        return 1;
    }
    if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = false;
        return 1;
    }
    return fail(p, key, "'%s' is not yes or no", show(v, sh));
}

static int path(struct parse *p, const char *key, const char *v, char *dst)
{
    if (v[0] != '/') return fail(p, key, "%s", "must be an absolute path");
    if (copy(dst, FO_PATH_LEN, v) != 0) return fail(p, key, "%s", "path too long");
    return 1;
}

static int hostport(struct parse *p, const char *key, const char *v, char *dst)
{
    char host[FO_ADDR_LEN], e[FO_ERRLEN];
    uint16_t port;

    if (fo_parse_hostport(v, host, sizeof host, &port, e) != 0) return fail(p, key, "%s", e);
    if (copy(dst, FO_ADDR_LEN, v) != 0) return fail(p, key, "%s", "too long");
    return 1;
}

/* "a.b.c.d/len IFACE" */
static int vip_value(struct parse *p, const char *key, const char *v)
{
    char cidr[64], ifname[64], extra[2], e[FO_ERRLEN];
    struct fo_agent_cluster *cl = p->cluster;
    unsigned i;

    if (sscanf(v, "%63s %63s %1s", cidr, ifname, extra) != 2)
        return fail(p, key, "%s", "expected 'ADDRESS/PREFIX INTERFACE'");
    if (cl->n_vips == FO_AGENT_MAX_VIPS) return fail(p, key, "%s", "too many vip lines (max 16)");
    if (fo_vip_parse(&cl->vips[cl->n_vips], ifname, cidr, e) != 0) return fail(p, key, "%s", e);
    for (i = 0; i < cl->n_vips; i++)
        if (strcmp(cl->vips[i].ifname, cl->vips[cl->n_vips].ifname) == 0 &&
            cl->vips[i].addr.s_addr == cl->vips[cl->n_vips].addr.s_addr &&
            cl->vips[i].prefix == cl->vips[cl->n_vips].prefix)
            return fail(p, key, "%s", "duplicate vip");
    cl->n_vips++;
    return 1;
}

/* ---- keys ------------------------------------------------------------------------ */

/* Connection budgets of the agent port and its HTTP server (agent/server.h); 0 when k
 * is none of them. */
static int limits_key(struct parse *p, const char *k, const char *v)
{
    struct fo_agent_config *c = p->c;

    if (strcmp(k, "handshake_timeout_ms") == 0) return num(p, k, v, 100, 60000, &c->handshake_timeout_ms);
    if (strcmp(k, "max_conns") == 0) return num(p, k, v, 1, 65536, &c->max_conns);
    if (strcmp(k, "max_unauth") == 0) return num(p, k, v, 1, 65536, &c->max_unauth);
    if (strcmp(k, "max_unauth_per_source") == 0) return num(p, k, v, 1, 65536, &c->max_unauth_per_source);
    if (strcmp(k, "http_max_conns") == 0) return num(p, k, v, 2, 65536, &c->http_max_conns);
    if (strcmp(k, "http_max_per_source") == 0) return num(p, k, v, 1, 65536, &c->http_max_per_source);
    if (strcmp(k, "http_timeout_s") == 0) return num(p, k, v, 1, 3600, &c->http_timeout_s);
    return fail(p, k, "%s", "unknown key");
}

static int agent_key(struct parse *p, const char *k, const char *v)
{
    struct fo_agent_config *c = p->c;
    char sh[SHOW_LEN];

    if (strcmp(k, "listen") == 0) return hostport(p, k, v, c->listen);
    if (strcmp(k, "http_address") == 0) {
        char e[FO_ERRLEN];
        if (fo_parse_ipv4_port(v, e) != 0) return fail(p, k, "%s", e);
        return copy(c->http_address, sizeof c->http_address, v) == 0 ? 1 : fail(p, k, "%s", "too long");
    }
    if (strcmp(k, "state_dir") == 0) return path(p, k, v, c->state_dir);
    if (strcmp(k, "ca_file") == 0) return path(p, k, v, c->ca_file);
    if (strcmp(k, "cert_file") == 0) return path(p, k, v, c->cert_file);
    if (strcmp(k, "key_file") == 0) return path(p, k, v, c->key_file);
    if (strcmp(k, "insecure") == 0) return yesno(p, k, v, &c->insecure);
    if (strcmp(k, "lease_read_only") == 0) return yesno(p, k, v, &c->lease_read_only);
    if (strcmp(k, "max_frame_bytes") == 0) return num(p, k, v, 1024, 1u << 20, &c->max_frame_bytes);
    if (strcmp(k, "arp_count") == 0) return num(p, k, v, 1, 100, &c->arp_count);
    if (strcmp(k, "arp_interval_ms") == 0) return num(p, k, v, 1, 60000, &c->arp_interval_ms);
    if (strcmp(k, "max_epoch_jump") == 0) return num(p, k, v, 1, 1000000000, &c->max_epoch_jump);
    if (strncmp(k, "http_", 5) == 0 || strcmp(k, "handshake_timeout_ms") == 0 || strncmp(k, "max_", 4) == 0)
        return limits_key(p, k, v);
    if (strcmp(k, "log_level") == 0) {
        int l = fo_log_parse_level(v);
        if (l < 0) return fail(p, k, "'%s' is not debug, info, warn or error", show(v, sh));
        c->log_level = l;
        return 1;
    }
    return fail(p, k, "%s", "unknown key");
}

static int mysql_key(struct parse *p, const char *k, const char *v)
{
    struct fo_agent_config *c = p->c;
    unsigned port;

    if (strcmp(k, "host") == 0)
        return copy(c->mysql_host, sizeof c->mysql_host, v) == 0 ? 1 : fail(p, k, "%s", "too long");
    if (strcmp(k, "port") == 0) {
        if (!num(p, k, v, 1, 65535, &port)) return 0;
        c->mysql_port = (uint16_t)port;
        return 1;
    }
    if (strcmp(k, "user") == 0)
        return copy(c->mysql_user, sizeof c->mysql_user, v) == 0 ? 1 : fail(p, k, "%s", "too long");
    if (strcmp(k, "password_file") == 0) return path(p, k, v, c->mysql_password_file);
    if (strcmp(k, "connect_timeout_ms") == 0) return num(p, k, v, 50, 60000, &c->mysql_connect_timeout_ms);
    if (strcmp(k, "timeout_ms") == 0) return num(p, k, v, 100, 600000, &c->mysql_timeout_ms);
    if (strcmp(k, "ssl_mode") == 0) {
        char e[FO_ERRLEN];
        return fo_parse_ssl_mode(v, &c->mysql_tls.mode, e) == 0 ? 1 : fail(p, k, "%s", e);
    }
    if (strcmp(k, "ssl_ca") == 0) return path(p, k, v, c->mysql_tls.ca);
    if (strcmp(k, "fence_kill_stopped") == 0) return yesno(p, k, v, &c->fence_kill_stopped);
    if (strcmp(k, "binlog_index") == 0) return path(p, k, v, c->binlog_index);
    if (strcmp(k, "binlog_dir") == 0) return path(p, k, v, c->binlog_dir);
    if (strcmp(k, "binlog_reader") == 0) return path(p, k, v, c->binlog_reader);
    if (strcmp(k, "salvage_max_bytes") == 0) return num(p, k, v, 4096, 1u << 30, &c->salvage_max_bytes);
    if (strcmp(k, "salvage_timeout_ms") == 0) return num(p, k, v, 100, 600000, &c->salvage_timeout_ms);
    return fail(p, k, "%s", "unknown key");
}

static int handler(void *user, const char *section, const char *k, const char *v)
{
    struct parse *p = user;
    char first[16];
    unsigned i;

    (void)section;
    if (p->rc != 0) return 0;
    if (p->sec == SEC_NONE) return fail(p, k, "%s", "key outside any section");
    if (v[0] == '\0') return fail(p, k, "%s", "empty value");
    if (!(p->sec == SEC_CLUSTER && strcmp(k, "vip") == 0)) {
        for (i = 0; i < p->n_seen; i++)
            if (strcmp(p->seen[i], k) == 0) {
                snprintf(first, sizeof first, "%u", p->seen_line[i]);
                return fail(p, k, "duplicate key (first set on line %s)", first);
            }
        if (p->n_seen < 32 && copy(p->seen[p->n_seen], sizeof p->seen[0], k) == 0) p->seen_line[p->n_seen++] = p->line;
    }
    switch (p->sec) {
    case SEC_AGENT: return agent_key(p, k, v);
    case SEC_MYSQL: return mysql_key(p, k, v);
    case SEC_CLUSTER:
        if (strcmp(k, "vip") == 0) return vip_value(p, k, v);
        return fail(p, k, "%s", "unknown key");
    default: return 0;
    }
}

/* ---- sections and the line reader -------------------------------------------------- */

static int section_start(struct parse *p, const char *name)
{
    char e[FO_ERRLEN], sh[SHOW_LEN];
    struct fo_agent_config *c = p->c;
    unsigned i;

    p->n_seen = 0;
    p->cluster = NULL;
    if (copy(p->sec_name, sizeof p->sec_name, name) != 0) {
        snprintf(p->sec_name, sizeof p->sec_name, "%s", show(name, sh));
        return fo_errf(p->err, FO_ECONFIG, "%s:%u: [%s]: section name too long", p->name, p->line, p->sec_name);
    }
    if (strcmp(name, "agent") == 0) {
        p->sec = SEC_AGENT;
    } else if (strcmp(name, "mysql") == 0) {
        p->sec = SEC_MYSQL;
        c->mysql = true;
    } else if (strncmp(name, "cluster ", 8) == 0) {
        const char *cn = name + 8;
        if (fo_check_name(cn, e) != 0)
            return fo_errf(p->err, FO_ECONFIG, "%s:%u: [%s]: %s", p->name, p->line, p->sec_name, e);
        for (i = 0; i < c->n_clusters; i++)
            if (strcmp(c->clusters[i].name, cn) == 0)
                return fo_errf(p->err, FO_ECONFIG, "%s:%u: [%s]: duplicate cluster", p->name, p->line, p->sec_name);
        if (c->n_clusters == FO_AGENT_MAX_CLUSTERS)
            return fo_errf(p->err, FO_ECONFIG, "%s:%u: [%s]: too many clusters (max %d)", p->name, p->line, p->sec_name,
                           FO_AGENT_MAX_CLUSTERS);
        p->cluster = &c->clusters[c->n_clusters++];
        snprintf(p->cluster->name, sizeof p->cluster->name, "%.63s", cn);
        p->sec = SEC_CLUSTER;
    } else {
        return fo_errf(p->err, FO_ECONFIG, "%s:%u: [%s]: unknown section", p->name, p->line, p->sec_name);
    }
    return 0;
}

/* libinih's reader: one left-trimmed line per call; section headers are handled here
 * and handed on as comments. */
static char *reader(char *str, int num_chars, void *stream)
{
    struct parse *p = stream;
    const char *s = p->text, *nl;
    size_t n;

    if (p->rc != 0 || *s == '\0') return NULL;
    nl = strchr(s, '\n');
    n = nl ? (size_t)(nl - s) : strlen(s);
    p->text = nl ? nl + 1 : s + n;
    p->line++;
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n + 2 > (size_t)num_chars) {
        p->rc = fo_errf(p->err, FO_ECONFIG, "%s:%u: line too long", p->name, p->line);
        return NULL;
    }
    if (n > 0 && s[0] == '[') {
        char name[SECTION_LEN + 8];
        if (s[n - 1] != ']' || n - 2 >= sizeof name) {
            p->rc = fo_errf(p->err, FO_ECONFIG, "%s:%u: malformed section header", p->name, p->line);
            return NULL;
        }
        memcpy(name, s + 1, n - 2);
        name[n - 2] = '\0';
        if ((p->rc = section_start(p, name)) != 0) return NULL;
        memcpy(str, ";\n", 3);
        return str;
    }
    memcpy(str, s, n);
    str[n] = '\n';
    str[n + 1] = '\0';
    return str;
}

/* ---- checks after parsing ------------------------------------------------------------ */

static int missing(struct parse *p, const char *sec, const char *key)
{
    return fo_errf(p->err, FO_ECONFIG, "%s: [%s] %s: missing", p->name, sec, key);
}

static int finish(struct parse *p)
{
    struct fo_agent_config *c = p->c;
    char e[FO_ERRLEN];

    if (c->listen[0] == '\0') return missing(p, "agent", "listen");
    if (c->state_dir[0] == '\0') return missing(p, "agent", "state_dir");
    if (!c->insecure) {
        if (c->ca_file[0] == '\0') return missing(p, "agent", "ca_file");
        if (c->cert_file[0] == '\0') return missing(p, "agent", "cert_file");
        if (c->key_file[0] == '\0') return missing(p, "agent", "key_file");
    }
    if (c->mysql) {
        if (c->mysql_user[0] == '\0') return missing(p, "mysql", "user");
        if (c->mysql_password_file[0] == '\0') return missing(p, "mysql", "password_file");
        if (fo_read_password_file(c->mysql_password_file, c->mysql_password, sizeof c->mysql_password, e) != 0)
            return fo_errf(p->err, FO_ECONFIG, "%s: [mysql] password_file: %s", p->name, e);
        if ((c->mysql_tls.mode == FO_SSL_VERIFY_CA || c->mysql_tls.mode == FO_SSL_VERIFY_IDENTITY) &&
            c->mysql_tls.ca[0] == '\0')
            return fo_errf(p->err, FO_ECONFIG,
                           "%s: [mysql] ssl_ca: missing (ssl_mode = %s verifies the server against it)", p->name,
                           fo_ssl_mode_name(c->mysql_tls.mode));
        if (c->mysql_tls.ca[0] != '\0' && access(c->mysql_tls.ca, R_OK) != 0)
            return fo_errf(p->err, FO_ECONFIG, "%s: [mysql] ssl_ca: %s: %s", p->name, c->mysql_tls.ca, strerror(errno));
    }
    return 0;
}

static void defaults(struct fo_agent_config *c)
{
    struct fo_limits_cfg l;

    memset(c, 0, sizeof *c);
    c->max_frame_bytes = 65536;
    /* On by default (issue 8): a primary cut off from the controllers must stop taking
     * writes from anyone, and the agent undoes its own fence when the lease comes back
     * at the same epoch (agent/server.h), so a lapse is never a permanent outage. */
    c->lease_read_only = true;
    c->arp_count = 3;
    c->arp_interval_ms = 200;
    c->log_level = FO_LOG_INFO;
    c->max_epoch_jump = FO_EPOCH_MAX_JUMP_DEFAULT;
    snprintf(c->mysql_host, sizeof c->mysql_host, "127.0.0.1");
    c->mysql_port = 3306;
    c->mysql_connect_timeout_ms = 1000;
    c->mysql_timeout_ms = 5000;
    /* On by default (issue 11): a SIGSTOPped primary is killed by a failover's
     * FenceMysql instead of being waited out (docs/fence-stopped.md). */
    c->fence_kill_stopped = true;
    /* Binlog salvage (docs/binlog-salvage.md): bounded so that a failover waits at most
     * this long, and a controller holds at most this much, for a dead primary's tail. */
    snprintf(c->binlog_reader, sizeof c->binlog_reader, "/usr/bin/mariadb-binlog");
    c->salvage_max_bytes = 64u << 20;
    c->salvage_timeout_ms = 10000;
    /* The same defaults as failoverd's [limits] (common/config.h). */
    fo_limits_defaults(&l);
    c->handshake_timeout_ms = l.handshake_timeout_ms;
    c->max_conns = 64;
    c->max_unauth = l.max_unauth;
    c->max_unauth_per_source = l.max_unauth_per_source;
    c->http_max_conns = l.http_max_conns;
    c->http_max_per_source = l.http_max_per_source;
    c->http_timeout_s = l.http_timeout_s;
}

int fo_agent_config_load_string(struct fo_agent_config *c, const char *name, const char *text, char err[FO_ERRLEN])
{
    struct parse p;
    int rc;

    defaults(c);
    snprintf(c->path, sizeof c->path, "%s", name);
    memset(&p, 0, sizeof p);
    p.c = c;
    p.name = name;
    p.text = text;
    p.err = err;
    snprintf(p.sec_name, sizeof p.sec_name, "-");
    rc = ini_parse_stream(reader, &p, handler, &p);
    if (p.rc == 0 && rc != 0) p.rc = fo_errf(err, FO_ECONFIG, "%s:%d: syntax error", name, rc > 0 ? rc : 0);
    if (p.rc == 0) p.rc = finish(&p);
    if (p.rc != 0) memset(c->mysql_password, 0, sizeof c->mysql_password);
    return p.rc;
}

int fo_agent_config_load(struct fo_agent_config *c, const char *path_, char err[FO_ERRLEN])
{
    FILE *f = fopen(path_, "r");
    char *buf;
    size_t n;
    int rc;

    if (f == NULL) return fo_errf(err, FO_ECONFIG, "%s: %s", path_, strerror(errno));
    buf = malloc(CONFIG_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return fo_errf(err, FO_ENOMEM, "%s: out of memory", path_);
    }
    n = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
    if (ferror(f) || n > CONFIG_MAX_BYTES) {
        rc = fo_errf(err, FO_ECONFIG, "%s: %s", path_, ferror(f) ? "read error" : "file too large");
        goto out;
    }
    buf[n] = '\0';
    if (memchr(buf, '\0', n) != NULL) {
        rc = fo_errf(err, FO_ECONFIG, "%s: contains a NUL byte", path_);
        goto out;
    }
    rc = fo_agent_config_load_string(c, path_, buf, err);
out:
    free(buf);
    fclose(f);
    return rc;
}

const struct fo_agent_cluster *fo_agent_config_cluster(const struct fo_agent_config *c, const char *name)
{
    unsigned i;

    for (i = 0; i < c->n_clusters; i++)
        if (strcmp(c->clusters[i].name, name) == 0) return &c->clusters[i];
    return NULL;
}
