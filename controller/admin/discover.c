/* Topology discovery from one server: discover.h. */
#include "controller/admin/discover.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/text.h"
#include "mysql/sqlexec.h"

/* FO_SAMPLE_Q1, then the hosts of the binlog dump threads (one per connected replica),
 * space-separated. group_concat_max_len (1 MiB by default) bounds the list. */
#define Q_VARS                                                                                                   \
    FO_SAMPLE_Q1 ", (SELECT GROUP_CONCAT(HOST SEPARATOR ' ') FROM information_schema.PROCESSLIST WHERE COMMAND " \
                 "LIKE 'Binlog Dump%')"
#define Q_SOURCES_ALL FO_SAMPLE_Q2_ALL
#define Q_SOURCES FO_SAMPLE_Q2
#define Q_HOSTS "SHOW SLAVE HOSTS"
#define ER_PARSE_ERROR 1064 /* MySQL has no SHOW ALL SLAVES STATUS */

enum phase { P_VARS, P_SOURCES_ALL, P_SOURCES, P_HOSTS };

struct fo_discover {
    uv_loop_t *loop;
    struct fo_discover_opts o;
    char user[FO_NAME_LEN];
    char password[256];
    struct fo_mysql_tls tls;
    bool has_tls;
    uint64_t deadline;
    struct fo_discover_server *servers;
    unsigned n, max;
    char (*notes)[FO_DISCOVER_NOTE_LEN];
    unsigned n_notes;
    unsigned cur; /* the server being read */
    enum phase phase;
    char dump_hosts[FO_DISCOVER_MAX][FO_HOST_LEN]; /* of the server being read */
    unsigned n_dump_hosts;
    struct fo_sql *q;
    bool cancelled;
    fo_discover_cb cb;
    void *data;
};

static void next_server(struct fo_discover *d);

static void note(struct fo_discover *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct fo_discover *d, const char *fmt, ...)
{
    va_list ap;

    if (d->n_notes >= FO_DISCOVER_MAX_NOTES) return;
    va_start(ap, fmt);
    vsnprintf(d->notes[d->n_notes++], FO_DISCOVER_NOTE_LEN, fmt, ap);
    va_end(ap);
}

static void finish(struct fo_discover *d, int status)
{
    struct fo_discover_result res = {d->servers, d->n, d->notes, d->n_notes};
    fo_discover_cb cb = d->cb;
    void *data = d->data;

    cb(data, status, &res);
    explicit_bzero(d->password, sizeof(d->password));
    free(d->servers);
    free(d->notes);
    free(d);
}

int fo_discover_host_of(const char *ph, char *out, size_t outlen)
{
    const char *colon;
    size_t n;

    out[0] = '\0';
    if (ph == NULL || ph[0] == '\0' || strcmp(ph, "localhost") == 0) return 0; /* a unix socket: no address */
    if (ph[0] == '[') {
        const char *end = strchr(ph, ']');
        if (end == NULL) return FO_EINVAL;
        n = (size_t)(end - ph - 1);
        ph++;
    } else {
        colon = strrchr(ph, ':');
        n = colon != NULL ? (size_t)(colon - ph) : strlen(ph);
        if (colon != NULL && memchr(ph, ':', n) != NULL) n = strlen(ph); /* a bare IPv6 address, no port */
    }
    if (n == 0 || n >= outlen) return FO_EINVAL;
    memcpy(out, ph, n);
    out[n] = '\0';
    return 0;
}

/* Index of the server at host:port, or -1. */
static int find(const struct fo_discover *d, const char *host, uint16_t port)
{
    unsigned i;

    for (i = 0; i < d->n; i++)
        if (fo_addr_same(d->servers[i].host, d->servers[i].port, host, port)) return (int)i;
    return -1;
}

/* Queues host:port unless it is known; found_by says why it was queued. */
static void add(struct fo_discover *d, const char *host, uint16_t port, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(struct fo_discover *d, const char *host, uint16_t port, const char *fmt, ...)
{
    struct fo_discover_server *s;
    va_list ap;

    if (host[0] == '\0' || port == 0 || find(d, host, port) >= 0) return;
    if (strlen(host) >= FO_HOST_LEN) {
        note(d, "a host name of %zu bytes was skipped", strlen(host));
        return;
    }
    if (d->n >= d->max) {
        note(d, "more than %u servers: %s:%u and any further ones were not visited", d->max, host, port);
        return;
    }
    s = &d->servers[d->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->host, sizeof s->host, "%s", host);
    s->port = port;
    va_start(ap, fmt);
    vsnprintf(s->found_by, sizeof s->found_by, fmt, ap);
    va_end(ap);
}

static const char *col(const struct fo_sql_rows *r, unsigned row, const char *name)
{
    unsigned c;

    for (c = 0; c < r->n_cols; c++)
        if (strcasecmp(r->names[c], name) == 0) return r->values[row * r->n_cols + c];
    return NULL;
}

static void fail_server(struct fo_discover *d, const char *what, const char *error)
{
    struct fo_discover_server *s = &d->servers[d->cur];

    s->error[0] = '\0';
    fo_text_append(s->error, sizeof s->error, "%s: %s", what, error != NULL ? error : "no result");
    s->reached = false;
    d->cur++;
    next_server(d);
}

/* Returns -1 when the server failed (and the walk went on to the next one). */
static int got_vars(struct fo_discover *d, const struct fo_sql_rows *rows)
{
    struct fo_discover_server *s = &d->servers[d->cur];
    const char *dumps, *p;
    char err[FO_ERRLEN];

    if (rows == NULL || rows->n_rows != 1 || rows->n_cols != FO_SAMPLE_Q1_NCOLS + 1)
        return fail_server(d, "variables", "unexpected reply"), -1;
    if (fo_sample_parse_vars(&s->s, FO_SAMPLE_Q1_NCOLS, rows->values, err) != 0)
        return fail_server(d, "variables", err), -1;
    d->n_dump_hosts = 0;
    dumps = rows->values[FO_SAMPLE_Q1_NCOLS];
    for (p = dumps; p != NULL && *p != '\0';) {
        size_t k = strcspn(p, " ");
        char item[FO_HOST_LEN + 16];

        if (k > 0 && k < sizeof item && d->n_dump_hosts < FO_DISCOVER_MAX) {
            memcpy(item, p, k);
            item[k] = '\0';
            if (fo_discover_host_of(item, d->dump_hosts[d->n_dump_hosts], FO_HOST_LEN) == 0 &&
                d->dump_hosts[d->n_dump_hosts][0] != '\0')
                d->n_dump_hosts++;
        }
        p += k;
        p += strspn(p, " ");
    }
    return 0;
}

static void got_sources(struct fo_discover *d, const struct fo_sql_rows *rows)
{
    struct fo_discover_server *s = &d->servers[d->cur];
    char err[FO_ERRLEN];

    if (rows == NULL || rows->n_rows == 0) return; /* not a replica */
    if (fo_sample_parse_replication(&s->s, rows->n_rows, rows->n_cols, rows->names, rows->values, err) != 0)
        return fo_text_append(s->error, sizeof s->error, "SHOW SLAVE STATUS: %s", err);
    if (s->s.n_sources > 1)
        note(d, "%s:%u replicates from %u sources (multi-source): only the default source is walked", s->host, s->port,
             s->s.n_sources);
    if (s->s.master_host[0] != '\0') add(d, s->s.master_host, s->s.master_port, "primary of %s:%u", s->host, s->port);
}

/* A replica in SHOW SLAVE HOSTS names itself with report_host / report_port; one
 * without report_host is known only by the address of its dump thread. */
static void got_hosts(struct fo_discover *d, const struct fo_sql_rows *rows)
{
    struct fo_discover_server *s = &d->servers[d->cur];
    unsigned i, j, unnamed = 0, unnamed_port = 0;
    uint64_t port;
    char err[FO_ERRLEN];

    for (i = 0; rows != NULL && i < rows->n_rows; i++) {
        const char *h = col(rows, i, "Host"), *p = col(rows, i, "Port");
        if (p == NULL || fo_parse_u64(p, 1, 65535, &port, err) != 0) continue;
        if (h == NULL || h[0] == '\0') {
            unnamed++;
            unnamed_port = (unsigned)port;
            continue;
        }
        add(d, h, (uint16_t)port, "replica of %s:%u (SHOW SLAVE HOSTS)", s->host, s->port);
        for (j = 0; j < d->n_dump_hosts; j++) /* that dump thread is accounted for */
            if (strcmp(d->dump_hosts[j], h) == 0) d->dump_hosts[j][0] = '\0';
    }
    for (j = 0; j < d->n_dump_hosts; j++) {
        unsigned p = unnamed == 1 ? unnamed_port : s->port;
        if (d->dump_hosts[j][0] == '\0') continue;
        if (find(d, d->dump_hosts[j], (uint16_t)p) < 0 && unnamed != 1)
            note(d, "a replica of %s:%u at %s has no report_host/report_port: port %u assumed", s->host, s->port,
                 d->dump_hosts[j], p);
        add(d, d->dump_hosts[j], (uint16_t)p, "replica of %s:%u (binlog dump thread)", s->host, s->port);
    }
}

/* A second address of a server already read (same server_id): the later one goes. */
static void drop_if_duplicate(struct fo_discover *d)
{
    struct fo_discover_server *s = &d->servers[d->cur];
    unsigned i;

    for (i = 0; i < d->cur; i++) {
        if (!d->servers[i].reached || d->servers[i].s.server_id != s->s.server_id) continue;
        note(d,
             "%s:%u has the server_id %llu of %s:%u: the same server under two addresses, or a duplicate "
             "server_id (which breaks replication)",
             s->host, s->port, (unsigned long long)s->s.server_id, d->servers[i].host, d->servers[i].port);
        memmove(s, s + 1, (size_t)(d->n - d->cur - 1) * sizeof *s);
        d->n--;
        return;
    }
    d->cur++;
}

static void start_phase(struct fo_discover *d);
static int run_phase(struct fo_discover *d);

static void sql_done(void *data, int status, unsigned mysql_errno, const char *error, const struct fo_sql_rows *rows)
{
    struct fo_discover *d = data;

    d->q = NULL;
    if (d->cancelled) return finish(d, FO_ECANCELED);
    switch (d->phase) {
    case P_VARS:
        if (status != 0) return fail_server(d, "connect", error);
        if (got_vars(d, rows) != 0) return; /* fail_server went on to the next server */
        d->phase = P_SOURCES_ALL;
        break;
    case P_SOURCES_ALL:
    case P_SOURCES:
        if (status != 0 && d->phase == P_SOURCES_ALL && mysql_errno == ER_PARSE_ERROR) {
            d->phase = P_SOURCES;
            break;
        }
        if (status != 0) return fail_server(d, "SHOW SLAVE STATUS", error);
        got_sources(d, rows);
        d->phase = P_HOSTS;
        break;
    case P_HOSTS:
        /* Without REPLICATION MASTER ADMIN / REPLICATION SLAVE the list is refused: the
         * dump threads still name the replicas. */
        if (status != 0)
            note(d, "SHOW SLAVE HOSTS on %s:%u: %s", d->servers[d->cur].host, d->servers[d->cur].port, error);
        got_hosts(d, status == 0 ? rows : NULL);
        d->servers[d->cur].reached = true;
        drop_if_duplicate(d);
        return next_server(d);
    }
    start_phase(d);
}

/* Starts the current phase's statement on the current server. Returns -1 when
 * fo_sql_run could not start (bad arguments, out of memory). */
static int run_phase(struct fo_discover *d)
{
    static const char *const stmts[] = {Q_VARS, Q_SOURCES_ALL, Q_SOURCES, Q_HOSTS};
    struct fo_discover_server *s = &d->servers[d->cur];
    struct fo_sql_opts so = {0};
    const char *stmt = stmts[d->phase];

    so.connect_timeout_ms = d->o.connect_timeout_ms;
    so.timeout_ms = d->o.timeout_ms;
    so.tls = d->has_tls ? &d->tls : NULL;
    d->q = fo_sql_run(d->loop, s->host, s->port, d->user, d->password, &stmt, 1, &so, sql_done, d);
    return d->q != NULL ? 0 : -1;
}

static void start_phase(struct fo_discover *d)
{
    if (run_phase(d) != 0) fail_server(d, "start", "out of memory or bad arguments");
}

static void next_server(struct fo_discover *d)
{
    if (d->cancelled) return finish(d, FO_ECANCELED);
    if (d->cur >= d->n) return finish(d, 0);
    if (uv_now(d->loop) >= d->deadline) {
        note(d, "the walk's %u ms deadline passed: %u server(s) not visited", d->o.deadline_ms, d->n - d->cur);
        return finish(d, 0);
    }
    d->servers[d->cur].visited = true;
    d->phase = P_VARS;
    start_phase(d);
}

int fo_discover_start(struct fo_discover **out, uv_loop_t *loop, const char *seed_host, uint16_t seed_port,
                      const struct fo_discover_opts *o, fo_discover_cb cb, void *data, char err[FO_ERRLEN])
{
    struct fo_endpoint seed;

    if (seed_host == NULL || seed_host[0] == '\0' || strlen(seed_host) >= FO_HOST_LEN || seed_port == 0)
        return fo_errf(err, FO_EINVAL, "a seed HOST:PORT is required");
    snprintf(seed.host, sizeof seed.host, "%s", seed_host);
    seed.port = seed_port;
    return fo_discover_start_seeds(out, loop, &seed, 1, o, cb, data, err);
}

int fo_discover_start_seeds(struct fo_discover **out, uv_loop_t *loop, const struct fo_endpoint *seeds,
                            unsigned n_seeds, const struct fo_discover_opts *o, fo_discover_cb cb, void *data,
                            char err[FO_ERRLEN])
{
    struct fo_discover *d;
    unsigned i;

    if (n_seeds == 0) return fo_errf(err, FO_EINVAL, "a seed HOST:PORT is required");
    for (i = 0; i < n_seeds; i++)
        if (seeds[i].host[0] == '\0' || seeds[i].port == 0)
            return fo_errf(err, FO_EINVAL, "seed %u: a HOST:PORT is required", i + 1);
    if (o->user == NULL || o->user[0] == '\0' || strlen(o->user) >= FO_NAME_LEN || o->password == NULL ||
        strlen(o->password) >= 256 || o->timeout_ms == 0 || o->deadline_ms == 0)
        return fo_errf(err, FO_EINVAL, "discover: bad account or timeouts");
    d = calloc(1, sizeof *d);
    if (d == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    d->o = *o;
    d->max = o->max_servers == 0 || o->max_servers > FO_DISCOVER_MAX ? FO_DISCOVER_MAX : o->max_servers;
    d->servers = calloc(d->max, sizeof *d->servers);
    d->notes = calloc(FO_DISCOVER_MAX_NOTES, sizeof *d->notes);
    if (d->servers == NULL || d->notes == NULL) {
        free(d->servers);
        free(d->notes);
        free(d);
        return fo_errf(err, FO_ENOMEM, "out of memory");
    }
    snprintf(d->user, sizeof d->user, "%s", o->user);
    snprintf(d->password, sizeof d->password, "%s", o->password);
    d->o.user = d->user;
    d->o.password = NULL;
    if (o->tls != NULL) {
        d->tls = *o->tls;
        d->has_tls = true;
    }
    d->loop = loop;
    d->deadline = uv_now(loop) + o->deadline_ms;
    d->cb = cb;
    d->data = data;
    for (i = 0; i < n_seeds; i++) add(d, seeds[i].host, seeds[i].port, "seed");
    d->servers[0].visited = true;
    d->phase = P_VARS;
    if (run_phase(d) != 0) { /* the callback must not fire: undo here */
        free(d->servers);
        free(d->notes);
        explicit_bzero(d->password, sizeof(d->password));
        free(d);
        return fo_errf(err, FO_ENOMEM, "discover: cannot start a statement (out of memory?)");
    }
    *out = d;
    return 0;
}

void fo_discover_cancel(struct fo_discover *d)
{
    d->cancelled = true;
    if (d->q != NULL) fo_sql_cancel(d->q); /* sql_done fires with FO_ECANCELED and finishes */
}
