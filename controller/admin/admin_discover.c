/* The DiscoverReq handler (failoverctl cluster discover): controller/admin/discover.h
 * walks the topology; this file checks the request, reads the account's password
 * file and turns the walk into a DiscoverResp. Answered by the node that receives it:
 * it is read-only, and every controller holds the password files. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "controller/admin/admin_internal.h"
#include "controller/admin/discover.h"
#include "store/store.h"

#define DISCOVER_DEADLINE_MS 20000u /* the whole walk; failoverctl waits 30 s by default */
#define DISCOVER_STMT_MS 5000u

struct fo__adisc {
    struct areq *r;
    struct fo_admin *admin;
    struct fo_discover *d;
    struct fo__adisc *next, *prev;
};

static void unlink_disc(struct fo__adisc *x)
{
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        x->admin->discovers = x->next;
    if (x->next != NULL) x->next->prev = x->prev;
}

static Fo__DiscoveredServer *server_view(struct areq *r, const struct fo_discover_server *s)
{
    Fo__DiscoveredServer *v = areq_alloc(r, sizeof *v);

    if (v == NULL) return NULL;
    fo__discovered_server__init(v);
    v->host = areq_strdup(r, s->host);
    v->port = s->port;
    v->reached = s->reached;
    v->error = areq_strdup(r, s->error);
    v->found_by = areq_strdup(r, s->found_by);
    v->lag_s = -1;
    if (!s->reached) return v;
    v->server_id = s->s.server_id;
    v->read_only = s->s.read_only;
    v->version = areq_strdup(r, s->s.version);
    v->gtid_current_pos = areq_strdup(r, s->s.gtid_current_pos);
    v->is_replica = s->s.is_replica;
    v->primary_host = areq_strdup(r, s->s.master_host);
    v->primary_port = s->s.master_port;
    v->io_running = areq_strdup(r, s->s.io_running_text);
    v->sql_running = areq_strdup(r, s->s.sql_running_text);
    v->lag_s = s->s.lag_s;
    v->sources = s->s.n_sources;
    return v;
}

static void walk_done(void *data, int status, const struct fo_discover_result *res)
{
    struct fo__adisc *x = data;
    struct areq *r = x->r;
    Fo__Response resp;
    Fo__DiscoverResp *dr;
    unsigned i;

    unlink_disc(x);
    free(x);
    if (status != 0) return areq_fail(r, status, "discover: %s", fo_strerror(status));
    dr = areq_alloc(r, sizeof *dr);
    if (dr == NULL) return areq_fail(r, FO_ENOMEM, "out of memory");
    fo__discover_resp__init(dr);
    dr->servers = areq_alloc(r, (res->n + 1) * sizeof *dr->servers);
    dr->notes = areq_alloc(r, (res->n_notes + 1) * sizeof *dr->notes);
    if (dr->servers == NULL || dr->notes == NULL) return areq_fail(r, FO_ENOMEM, "out of memory");
    for (i = 0; i < res->n; i++) {
        if ((dr->servers[i] = server_view(r, &res->servers[i])) == NULL)
            return areq_fail(r, FO_ENOMEM, "out of memory");
    }
    dr->n_servers = res->n;
    for (i = 0; i < res->n_notes; i++) dr->notes[i] = areq_strdup(r, res->notes[i]);
    dr->n_notes = res->n_notes;
    fo__response__init(&resp);
    resp.body_case = FO__RESPONSE__BODY_DISCOVER;
    resp.discover = dr;
    FO_INFO("admin", "discover from %s:%u: %u server(s), %u note(s)", res->n > 0 ? res->servers[0].host : "?",
            res->n > 0 ? res->servers[0].port : 0, res->n, res->n_notes);
    areq_reply(r, &resp);
}

void fo_admin_discover(struct areq *r)
{
    Fo__DiscoverReq *q = r->req->discover;
    struct fo_ctl *ctl = r->ctl;
    struct fo_store_cluster c;
    struct fo_discover_opts o = {0};
    struct fo__adisc *x;
    const char *user, *pwfile;
    char err[FO_ERRLEN], pw[256];
    int rc;

    if (q->seed_host[0] == '\0' || strlen(q->seed_host) >= FO_HOST_LEN || q->seed_port == 0 || q->seed_port > 65535)
        return areq_fail(r, FO_EINVAL, "discover: a seed HOST:PORT is required");
    if (q->cluster[0] != '\0') {
        if (fo_store_get_cluster(ctl->store, q->cluster, &c) != 0)
            return areq_fail(r, FO_ENOTFOUND, "cluster '%s' is not registered", q->cluster);
        user = c.user;
        pwfile = c.password_file;
    } else {
        if (q->user[0] == '\0' || strlen(q->user) >= FO_NAME_LEN)
            return areq_fail(r, FO_EINVAL, "discover: --user (or --cluster) is required");
        if (q->password_file[0] != '/' || strlen(q->password_file) >= FO_PATH_LEN)
            return areq_fail(r, FO_EINVAL, "discover: the password file must be an absolute path");
        user = q->user;
        pwfile = q->password_file;
    }
    /* Only files inside secrets_dir, as for cluster add: a client certificate must not
     * make failoverd send any file it can read to a server of the caller's choosing. */
    if ((rc = fo_read_secret_file(ctl->cfg.secrets_dir, pwfile, pw, sizeof(pw), err)) != 0) {
        explicit_bzero(pw, sizeof(pw));
        return areq_fail(r, rc == FO_EPERM ? FO_EPERM : FO_EINVAL, "on node %llu: %s",
                         (unsigned long long)ctl->cfg.node_id, err);
    }
    x = calloc(1, sizeof *x);
    if (x == NULL) {
        explicit_bzero(pw, sizeof(pw));
        return areq_fail(r, FO_ENOMEM, "out of memory");
    }
    o.user = user;
    o.password = pw;
    o.tls = fo_config_cluster_tls(&ctl->cfg, q->cluster[0] != '\0' ? q->cluster : NULL);
    o.max_servers = q->max_servers;
    o.connect_timeout_ms = ctl->cfg.probe.connect_timeout_ms;
    o.timeout_ms = DISCOVER_STMT_MS;
    o.deadline_ms = DISCOVER_DEADLINE_MS;
    x->r = r;
    x->admin = ctl->admin;
    rc = fo_discover_start(&x->d, ctl->loop, q->seed_host, (uint16_t)q->seed_port, &o, walk_done, x, err);
    explicit_bzero(pw, sizeof(pw));
    if (rc != 0) {
        free(x);
        return areq_fail(r, rc, "%s", err);
    }
    x->next = ctl->admin->discovers;
    if (x->next != NULL) x->next->prev = x;
    ctl->admin->discovers = x;
}

void fo_admin_cancel_discovers(struct fo_admin *a)
{
    struct fo__adisc *x, *next;

    for (x = a->discovers; x != NULL; x = next) {
        next = x->next;
        fo_discover_cancel(x->d); /* walk_done unlinks and frees x (now or later) */
    }
}
