/* import-mha, import-mmm and cluster discover: migrate.h. */
#include "migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/text.h"
#include "ctl.h"
#include "fallback.h"
#include "import.h"
#include "json.h"
#include "request.h"

/* ------------------------------------------------------------ registering */

/* Sends the request a2 describes (a2 carries a's controllers and transport). Returns
 * 0, or the exit code with "error: ..." printed; *code gets the server's FO_E* code
 * (0 for transport failures). */
static int send_one(const struct fo_ctl_args *a2, struct fo_ctl_tls *tls, int *code)
{
    struct fo_ctl_request req;
    struct fo_ctl_call call;
    int rc;

    fo_ctl_request_build(&req, a2);
    fo_ctl_call_args(&call, a2, &req.req, tls);
    *code = call.rc == 0 && call.resp != NULL ? call.resp->code : 0;
    rc = fo_ctl_check_reply(a2, &call, FO__RESPONSE__BODY__NOT_SET);
    fo_ctl_call_free(&call);
    return rc;
}

static void cluster_add_args(struct fo_ctl_args *x, const struct fo_import_plan *p)
{
    unsigned i;

    x->cmd = FO_CTL_CLUSTER_ADD;
    snprintf(x->cluster, sizeof x->cluster, "%s", p->cluster);
    snprintf(x->user, sizeof x->user, "%s", p->user);
    snprintf(x->password_file, sizeof x->password_file, "%s", p->password_file);
    snprintf(x->repl_user, sizeof x->repl_user, "%s", p->repl_user);
    snprintf(x->repl_password_file, sizeof x->repl_password_file, "%s", p->repl_password_file);
    snprintf(x->vip, sizeof x->vip, "%s", p->vip);
    snprintf(x->vip_interface, sizeof x->vip_interface, "%s", p->vip_interface);
    x->n_reader_vips = p->n_reader_vips;
    for (i = 0; i < p->n_reader_vips; i++)
        snprintf(x->reader_vips[i], sizeof x->reader_vips[i], "%s", p->reader_vips[i]);
}

/* Registers the plan: cluster add (unless have_cluster), then instance add for each
 * server (one already registered is skipped when have_cluster). A new cluster is
 * removed again if a step fails, so a failed --apply leaves nothing behind. */
static int register_plan(const struct fo_ctl_args *a, struct fo_ctl_tls *tls, const struct fo_import_plan *p,
                         int have_cluster, unsigned *added)
{
    struct fo_ctl_args *x = malloc(sizeof *x);
    unsigned i;
    int rc = 0, code;
    char why[FO_ERRLEN];

    *added = 0;
    if (x == NULL) return fo_ctl_fail(a, FO_CTL_EXIT_FAILED, FO_ENOMEM, "out of memory");
    if (!have_cluster) {
        *x = *a;
        cluster_add_args(x, p);
        if ((rc = send_one(x, tls, &code)) != 0) goto out;
    }
    for (i = 0; i < p->n_servers; i++) {
        *x = *a;
        x->cmd = FO_CTL_INSTANCE_ADD;
        snprintf(x->cluster, sizeof x->cluster, "%s", p->cluster);
        if (fo_parse_hostport(p->servers[i].addr, x->host, sizeof x->host, &x->port, why) != 0) {
            rc = fo_ctl_fail(a, FO_CTL_EXIT_USAGE, FO_EINVAL, why);
            break;
        }
        x->rule = p->servers[i].rule;
        rc = send_one(x, tls, &code);
        if (rc != 0 && have_cluster && code == FO_EEXIST) {
            rc = 0; /* already registered: rediscovery adds only what is missing */
            continue;
        }
        if (rc != 0) break;
        (*added)++;
    }
    if (rc != 0 && !have_cluster) {
        *x = *a;
        x->cmd = FO_CTL_CLUSTER_REMOVE;
        snprintf(x->cluster, sizeof x->cluster, "%s", p->cluster);
        fprintf(stderr, "note: registration of %s failed half way: removing the cluster again\n", p->cluster);
        if (send_one(x, tls, &code) != 0)
            fprintf(stderr, "note: could not remove %s: remove it by hand (failoverctl cluster remove %s)\n",
                    p->cluster, p->cluster);
    }
out:
    free(x);
    return rc;
}

/* ------------------------------------------------------------ import-mha / import-mmm */

static int read_file(const char *path, char **out, size_t *len, char err[FO_ERRLEN])
{
    struct stat st;
    char *buf;
    size_t n = 0;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) return fo_errf(err, FO_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fo_errf(err, FO_EINVAL, "%s: not a regular file", path);
    }
    if (st.st_size > (off_t)FO_IMPORT_MAX_FILE) {
        close(fd);
        return fo_errf(err, FO_EINVAL, "%s: larger than %u bytes", path, FO_IMPORT_MAX_FILE);
    }
    buf = malloc(FO_IMPORT_MAX_FILE + 1);
    if (buf == NULL) {
        close(fd);
        return fo_errf(err, FO_ENOMEM, "out of memory");
    }
    while (n <= FO_IMPORT_MAX_FILE && (r = read(fd, buf + n, FO_IMPORT_MAX_FILE + 1 - n)) != 0) {
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            fo_errf(err, FO_EIO, "%s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return FO_EIO;
        }
        n += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = n; /* more than FO_IMPORT_MAX_FILE (a file that grew) is refused by the parser */
    return 0;
}

int fo_ctl_run_import(const struct fo_ctl_args *a, struct fo_ctl_tls *tls)
{
    struct fo_import_options o = {0};
    struct fo_import_plan *p = calloc(1, sizeof *p);
    char err[FO_ERRLEN], *text = NULL;
    struct fo_buf out;
    size_t len = 0;
    unsigned added;
    int rc;

    if (p == NULL) return fo_ctl_fail(a, FO_CTL_EXIT_FAILED, FO_ENOMEM, "out of memory");
    snprintf(o.cluster, sizeof o.cluster, "%s", a->cluster);
    snprintf(o.password_file, sizeof o.password_file, "%s", a->password_file);
    snprintf(o.repl_password_file, sizeof o.repl_password_file, "%s", a->repl_password_file);
    snprintf(o.vip, sizeof o.vip, "%s", a->vip);
    snprintf(o.vip_interface, sizeof o.vip_interface, "%s", a->vip_interface);
    o.vip_prefix = a->vip_prefix;
    rc = read_file(a->file, &text, &len, err);
    if (rc == 0)
        rc = a->cmd == FO_CTL_IMPORT_MMM ? fo_import_mmm(p, a->file, text, len, &o, err)
                                         : fo_import_mha(p, a->file, text, len, &o, err);
    free(text);
    if (rc != 0) {
        free(p);
        return fo_ctl_fail(a, rc == FO_ENOMEM ? FO_CTL_EXIT_FAILED : FO_CTL_EXIT_USAGE, rc, err);
    }
    fo_buf_init(&out);
    fo_import_render(p, &out, a->json);
    rc = fo_ctl_emit(a, &out, FO_CTL_EXIT_OK);
    fo_buf_free(&out);
    if (rc == FO_CTL_EXIT_OK && a->apply) {
        rc = register_plan(a, tls, p, 0, &added);
        if (rc == 0 && !a->json) printf("registered cluster %s with %u server(s)\n", p->cluster, added);
    }
    free(p);
    return rc;
}

/* HOST:PORT as failoverctl prints and registers it ([v6]:port for IPv6 hosts). */
static void fmt_addr(char *out, size_t n, const char *host, unsigned port)
{
    snprintf(out, n, strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u", host, port);
}

/* ------------------------------------------------------------ cluster discover */

static int parent_of(const Fo__DiscoverResp *d, size_t i)
{
    const Fo__DiscoveredServer *s = d->servers[i];
    size_t j;

    if (!s->reached || !s->is_replica || s->primary_host[0] == '\0') return -1;
    for (j = 0; j < d->n_servers; j++)
        if (j != i && fo_addr_same(d->servers[j]->host, (uint16_t)d->servers[j]->port, s->primary_host,
                                   (uint16_t)s->primary_port))
            return (int)j;
    return -1;
}

static void server_line(struct fo_buf *b, const Fo__DiscoveredServer *s, unsigned depth)
{
    char addr[FO_ADDR_LEN + 8], text[512];

    fmt_addr(addr, sizeof addr, s->host, s->port);
    fo_buf_printf(b, "%*s%s%s", (int)(depth * 3), "", depth > 0 ? "`- " : "", addr);
    if (!s->reached) {
        fo_text_escape(text, sizeof text, s->error, strlen(s->error));
        fo_buf_printf(b, "  not reached: %s\n", text);
        return;
    }
    fo_text_escape(text, sizeof text, s->version, strlen(s->version));
    fo_buf_printf(b, "  server_id %llu  %s  read_only=%s  %s", (unsigned long long)s->server_id,
                  s->is_replica ? "replica" : "primary", s->read_only ? "yes" : "no", text);
    if (s->is_replica) {
        fo_buf_printf(b, "  IO=%s SQL=%s", s->io_running, s->sql_running);
        if (s->lag_s >= 0) fo_buf_printf(b, " lag %llds", (long long)s->lag_s);
        if (s->sources > 1) fo_buf_printf(b, " (%u sources)", s->sources);
    }
    fo_text_escape(text, sizeof text, s->gtid_current_pos, strlen(s->gtid_current_pos));
    fo_buf_printf(b, "  gtid %s\n", text[0] != '\0' ? text : "-");
}

static void print_subtree(struct fo_buf *b, const Fo__DiscoverResp *d, const int *parent, char *shown, size_t i,
                          unsigned depth)
{
    size_t j;

    shown[i] = 1;
    server_line(b, d->servers[i], depth);
    for (j = 0; j < d->n_servers; j++)
        if (parent[j] == (int)i && !shown[j] && depth < 64) print_subtree(b, d, parent, shown, j, depth + 1);
}

static void render_discover(struct fo_buf *b, const struct fo_ctl_args *a, const Fo__DiscoverResp *d, const int *parent)
{
    char *shown = calloc(d->n_servers + 1, 1);
    size_t i;

    if (shown == NULL) {
        b->oom = 1;
        return;
    }
    if (a->json) {
        struct fo_ctl_json w = {b, 0};
        fo_ctl_json_open(&w, NULL, '{');
        fo_ctl_json_bool(&w, "ok", 1);
        fo_ctl_json_str(&w, "cluster", a->cluster);
        fo_ctl_json_open(&w, "servers", '[');
        for (i = 0; i < d->n_servers; i++) {
            const Fo__DiscoveredServer *s = d->servers[i];
            char addr[FO_ADDR_LEN + 8];
            fo_ctl_json_open(&w, NULL, '{');
            fmt_addr(addr, sizeof addr, s->host, s->port);
            fo_ctl_json_str(&w, "address", addr);
            fo_ctl_json_bool(&w, "reached", s->reached);
            fo_ctl_json_str(&w, "error", s->error);
            fo_ctl_json_str(&w, "found_by", s->found_by);
            fo_ctl_json_u64(&w, "server_id", s->server_id);
            fo_ctl_json_bool(&w, "read_only", s->read_only);
            fo_ctl_json_str(&w, "version", s->version);
            fo_ctl_json_str(&w, "gtid_current_pos", s->gtid_current_pos);
            fo_ctl_json_bool(&w, "is_replica", s->is_replica);
            if (s->is_replica) {
                fmt_addr(addr, sizeof addr, s->primary_host, s->primary_port);
                fo_ctl_json_str(&w, "source", addr);
            } else {
                fo_ctl_json_null(&w, "source");
            }
            if (parent[i] >= 0) {
                const Fo__DiscoveredServer *ps = d->servers[parent[i]];
                fmt_addr(addr, sizeof addr, ps->host, ps->port);
                fo_ctl_json_str(&w, "parent", addr);
            } else {
                fo_ctl_json_null(&w, "parent");
            }
            fo_ctl_json_str(&w, "io_running", s->io_running);
            fo_ctl_json_str(&w, "sql_running", s->sql_running);
            fo_ctl_json_i64(&w, "lag_s", s->lag_s);
            fo_ctl_json_u64(&w, "sources", s->sources);
            fo_ctl_json_close(&w, '}');
        }
        fo_ctl_json_close(&w, ']');
        fo_ctl_json_open(&w, "notes", '[');
        for (i = 0; i < d->n_notes; i++) fo_ctl_json_str(&w, NULL, d->notes[i]);
        fo_ctl_json_close(&w, ']');
        fo_ctl_json_end(&w);
        free(shown);
        return;
    }
    fo_buf_printf(b, "%s: %zu server(s) found\n", a->cluster, d->n_servers);
    for (i = 0; i < d->n_servers; i++) /* roots: primaries and servers whose source was not found */
        if (parent[i] < 0 && !shown[i]) print_subtree(b, d, parent, shown, i, 0);
    for (i = 0; i < d->n_servers; i++) /* what is left is a replication cycle (co-primaries) */
        if (!shown[i]) {
            fo_buf_puts(b, "(replication cycle)\n");
            print_subtree(b, d, parent, shown, i, 0);
        }
    for (i = 0; i < d->n_notes; i++) {
        char text[512];
        fo_text_escape(text, sizeof text, d->notes[i], strlen(d->notes[i]));
        fo_buf_printf(b, "note: %s\n", text);
    }
    free(shown);
}

/* The discovered servers as a plan for register_plan: the reached ones only. */
static void discover_plan(struct fo_import_plan *p, const struct fo_ctl_args *a, const Fo__DiscoverResp *d)
{
    size_t i;

    memset(p, 0, sizeof *p);
    snprintf(p->cluster, sizeof p->cluster, "%s", a->cluster);
    snprintf(p->user, sizeof p->user, "%s", a->user);
    snprintf(p->password_file, sizeof p->password_file, "%s", a->password_file);
    snprintf(p->repl_user, sizeof p->repl_user, "%s", a->repl_user);
    snprintf(p->repl_password_file, sizeof p->repl_password_file, "%s", a->repl_password_file);
    for (i = 0; i < d->n_servers && p->n_servers < FO_IMPORT_MAX_SERVERS; i++) {
        const Fo__DiscoveredServer *s = d->servers[i];
        if (!s->reached) continue;
        fmt_addr(p->servers[p->n_servers].addr, sizeof p->servers[p->n_servers].addr, s->host, s->port);
        p->servers[p->n_servers++].rule = FO_RULE_NEUTRAL;
    }
}

int fo_ctl_run_discover(const struct fo_ctl_args *a, struct fo_ctl_tls *tls)
{
    Fo__Request req = FO__REQUEST__INIT;
    Fo__DiscoverReq dr = FO__DISCOVER_REQ__INIT;
    struct fo_import_plan *p = NULL;
    struct fo_ctl_call call;
    struct fo_buf out;
    int *parent = NULL, rc;
    unsigned added;
    size_t i;

    if ((a->user[0] != '\0') != (a->password_file[0] != '\0'))
        return fo_ctl_fail(a, FO_CTL_EXIT_USAGE, FO_EINVAL, "--user and --password-file go together");
    dr.seed_host = (char *)a->seed_host;
    dr.seed_port = a->seed_port;
    /* A registered cluster's own account, unless an account is given. */
    dr.cluster = (char *)(a->user[0] == '\0' ? a->cluster : "");
    dr.user = (char *)a->user;
    dr.password_file = (char *)a->password_file;
    dr.max_servers = a->max_servers;
    req.body_case = FO__REQUEST__BODY_DISCOVER;
    req.discover = &dr;
    fo_ctl_call_args(&call, a, &req, tls);
    rc = fo_ctl_check_reply(a, &call, FO__RESPONSE__BODY_DISCOVER);
    if (rc != 0) goto out;
    parent = calloc(call.resp->discover->n_servers + 1, sizeof *parent);
    p = calloc(1, sizeof *p);
    if (parent == NULL || p == NULL) {
        rc = fo_ctl_fail(a, FO_CTL_EXIT_FAILED, FO_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < call.resp->discover->n_servers; i++) parent[i] = parent_of(call.resp->discover, i);
    fo_buf_init(&out);
    render_discover(&out, a, call.resp->discover, parent);
    rc = fo_ctl_emit(a, &out, FO_CTL_EXIT_OK);
    fo_buf_free(&out);
    if (rc == FO_CTL_EXIT_OK && a->apply) {
        discover_plan(p, a, call.resp->discover);
        /* With an account this is a new cluster; without, NAME's own account was used,
         * so NAME is registered and only missing servers are added. */
        rc = register_plan(a, tls, p, a->user[0] == '\0', &added);
        if (rc == 0 && !a->json) printf("registered %u server(s) in %s\n", added, a->cluster);
    }
out:
    free(parent);
    free(p);
    fo_ctl_call_free(&call);
    return rc;
}
