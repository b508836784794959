/* /api/v1/...: the dashboard's JSON (web.h). Read-only: the same store reads and live
 * views as the admin RPC's status, members, topology, history and why (admin_handlers.c,
 * admin_failover.c), written as JSON with fo_buf_json_str (always valid UTF-8). Never
 * written: password files, passwords, TLS files. */
#include <stdio.h>
#include <string.h>

#include "mysql/sample.h"
#include "common/err.h"
#include "controller/act/failover.h"
#include "controller/admin/web.h"
#include "controller/admin/web_internal.h"
#include "controller/decide/topology.h"
#include "controller/probe/health.h"
#include "controller/probe/monitor.h"
#include "controller/vip/vipmgr.h"

/* ---- a tiny JSON writer: values end in ',' and close_obj() drops the last one ----- */

static void key(struct fo_buf *b, const char *k)
{
    fo_buf_json_str(b, k);
    fo_buf_puts(b, ":");
}

static void kstr(struct fo_buf *b, const char *k, const char *v)
{
    key(b, k);
    fo_buf_json_str(b, v);
    fo_buf_puts(b, ",");
}

static void kuint(struct fo_buf *b, const char *k, uint64_t v)
{
    key(b, k);
    fo_buf_printf(b, "%llu,", (unsigned long long)v);
}

static void kint(struct fo_buf *b, const char *k, int64_t v)
{
    key(b, k);
    fo_buf_printf(b, "%lld,", (long long)v);
}

static void kbool(struct fo_buf *b, const char *k, bool v)
{
    key(b, k);
    fo_buf_puts(b, v ? "true," : "false,");
}

static void kaddr(struct fo_buf *b, const char *k, const char *host, uint16_t port)
{
    char buf[FO_SAMPLE_HOST_LEN + 16]; /* hosts come from samples too (Master_Host) */

    if (host[0] == '\0')
        buf[0] = '\0';
    else if (strchr(host, ':') != NULL)
        snprintf(buf, sizeof(buf), "[%s]:%u", host, port);
    else
        snprintf(buf, sizeof(buf), "%s:%u", host, port);
    kstr(b, k, buf);
}

/* Closes an object or array ("}" or "]") and ends the value with ','. */
static void close_v(struct fo_buf *b, const char *closer)
{
    if (!b->oom && b->len > 0 && b->p[b->len - 1] == ',') b->len--, b->p[b->len] = '\0';
    fo_buf_puts(b, closer);
    fo_buf_puts(b, ",");
}

/* Ends the document: drops the trailing ',' of the top-level value. */
static int finish(struct fo_buf *b)
{
    if (!b->oom && b->len > 0 && b->p[b->len - 1] == ',') b->len--, b->p[b->len] = '\0';
    fo_buf_puts(b, "\n");
    return 200;
}

/* "a\nb" -> ["a","b"] under key k (at most max items). */
static void klines(struct fo_buf *b, const char *k, const char *text, unsigned max)
{
    char line[FO_ERRLEN];
    const char *p = text, *nl;
    unsigned n = 0;

    key(b, k);
    fo_buf_puts(b, "[");
    while (*p != '\0' && n < max) {
        size_t len;
        nl = strchr(p, '\n');
        len = nl ? (size_t)(nl - p) : strlen(p);
        if (len >= sizeof(line)) len = sizeof(line) - 1;
        memcpy(line, p, len);
        line[len] = '\0';
        if (len > 0) fo_buf_json_str(b, line), fo_buf_puts(b, ","), n++;
        if (nl == NULL) break;
        p = nl + 1;
    }
    close_v(b, "]");
}

int fo__web_error(struct fo_buf *body, int status, const char *msg)
{
    fo_buf_puts(body, "{\"error\":");
    fo_buf_json_str(body, msg);
    fo_buf_puts(body, "}\n");
    return status;
}

/* ---- names ---------------------------------------------------------------------- */

static const char *kind_name(int k)
{
    static const char *const n[] = {"auto", "manual", "switchover"};
    return k >= 0 && k < 3 ? n[k] : "unknown";
}

static const char *result_name(int r)
{
    static const char *const n[] = {"running", "success", "failed", "aborted"};
    return r >= 0 && r < 4 ? n[r] : "unknown";
}

static const char *step_name(int s)
{
    static const char *const n[] = {"none", "pre_hook", "fence", "choose", "promote", "repoint", "vip"};
    return s >= 0 && s < 7 ? n[s] : "unknown";
}

/* ---- this node ------------------------------------------------------------------ */

static void node_obj(struct fo_ctl *ctl, struct fo_buf *b)
{
    const char *laddr = NULL;
    uint64_t leader = fo_raft_leader(&ctl->raft, &laddr);
    struct fo_store_member m;
    unsigned j;
    const char *lhttp = "";

    if (leader == ctl->cfg.node_id)
        lhttp = ctl->cfg.http_address;
    else if (leader != 0 && fo_store_get_member(ctl->store, leader, &m) == 0 && m.http_address[0] != '\0')
        lhttp = m.http_address;
    else
        for (j = 0; j < ctl->cfg.n_peers; j++)
            if (ctl->cfg.peers[j].id == leader) lhttp = ctl->cfg.peers[j].http_address;
    key(b, "node");
    fo_buf_puts(b, "{");
    kuint(b, "id", ctl->cfg.node_id);
    kstr(b, "state", fo_raft_state_name(&ctl->raft));
    kstr(b, "http_address", ctl->cfg.http_address);
    kuint(b, "leader_id", leader);
    kstr(b, "leader_http_address", leader ? lhttp : "");
    kuint(b, "term", raft_current_term(&ctl->raft.raft));
    kuint(b, "last_applied", raft_last_applied(&ctl->raft.raft));
    kstr(b, "version", FO_VERSION);
    kbool(b, "recoveries_enabled", fo_store_recoveries_enabled(ctl->store));
    kuint(b, "wall_ms", fo_ctl_wall_ms());
    close_v(b, "}");
}

/* ---- /api/v1/clusters ------------------------------------------------------------ */

struct walk {
    struct fo_ctl *ctl;
    struct fo_buf *b;
    unsigned n, max;
    bool truncated;
    const struct fo_store_cluster *c;
};

static int count_instance(void *data, const struct fo_store_instance *i)
{
    (void)i;
    ((struct walk *)data)->n++;
    return 0;
}

static int cluster_row(void *data, const struct fo_store_cluster *c)
{
    struct walk *w = data;
    struct walk cnt = {0};
    struct fo_store_failover f;
    struct fo_buf *b = w->b;

    if (w->n >= w->max) {
        w->truncated = true;
        return 1;
    }
    w->n++;
    fo_store_each_instance(w->ctl->store, c->name, count_instance, &cnt);
    fo_buf_puts(b, "{");
    kstr(b, "name", c->name);
    kuint(b, "instances", cnt.n);
    kaddr(b, "primary", c->primary_host, c->primary_port);
    kbool(b, "maintenance", c->maintenance);
    kuint(b, "epoch", c->epoch);
    kbool(b, "failover_running", fo_store_get_running_failover(w->ctl->store, c->name, &f) == 0);
    klines(b, "problems", c->problems, FO_TOPO_MAX_PROBLEMS + 1);
    close_v(b, "}");
    return b->oom ? 1 : 0;
}

static int api_clusters(struct fo_ctl *ctl, struct fo_buf *b)
{
    struct walk w = {.ctl = ctl, .b = b, .max = FO_WEB_MAX_CLUSTERS};

    fo_buf_puts(b, "{");
    node_obj(ctl, b);
    key(b, "clusters");
    fo_buf_puts(b, "[");
    fo_store_each_cluster(ctl->store, cluster_row, &w);
    close_v(b, "]");
    kbool(b, "truncated", w.truncated);
    close_v(b, "}");
    return finish(b);
}

/* ---- /api/v1/members ------------------------------------------------------------- */

static int api_members(struct fo_ctl *ctl, struct fo_buf *b)
{
    struct raft_configuration *conf = &ctl->raft.raft.configuration;
    struct fo_store_member row;
    unsigned i, j;

    fo_buf_puts(b, "{");
    node_obj(ctl, b);
    key(b, "members");
    fo_buf_puts(b, "[");
    for (i = 0; i < conf->n; i++) {
        const char *admin = "", *http = "";
        uint64_t id = conf->servers[i].id;
        if (fo_store_get_member(ctl->store, id, &row) == 0) {
            admin = row.admin_address;
            http = row.http_address;
        } else {
            for (j = 0; j < ctl->cfg.n_peers; j++)
                if (ctl->cfg.peers[j].id == id)
                    admin = ctl->cfg.peers[j].admin_address, http = ctl->cfg.peers[j].http_address;
        }
        fo_buf_puts(b, "{");
        kuint(b, "id", id);
        kstr(b, "raft_address", conf->servers[i].address);
        kstr(b, "admin_address", admin);
        kstr(b, "http_address", http);
        kstr(b, "role", fo_raft_role_name(&ctl->raft, id));
        kbool(b, "leader", id == fo_raft_leader(&ctl->raft, NULL));
        close_v(b, "}");
    }
    close_v(b, "]");
    close_v(b, "}");
    return finish(b);
}

/* ---- /api/v1/clusters/<c> -------------------------------------------------------- */

static void live_obj(struct fo_buf *b, const struct fo_watch_view *v)
{
    const struct fo_sample *s = v->sample;

    key(b, "live");
    fo_buf_puts(b, "{");
    kbool(b, "has_sample", v->has_sample);
    kbool(b, "last_ok", v->last_ok);
    kuint(b, "sample_age_ms", v->sample_age_ms);
    if (v->has_sample) {
        kbool(b, "read_only", s->read_only);
        kstr(b, "version", s->version);
        kstr(b, "gtid_current_pos", s->gtid_current_pos);
        kstr(b, "gtid_binlog_pos", s->gtid_binlog_pos);
        kstr(b, "gtid_slave_pos", s->gtid_slave_pos);
        kbool(b, "is_replica", s->is_replica);
        if (s->is_replica) {
            kaddr(b, "master", s->master_host, s->master_port);
            kstr(b, "io_running", s->io_running_text);
            kstr(b, "sql_running", s->sql_running_text);
            kint(b, "lag_s", s->lag_s);
            kstr(b, "last_io_error", s->last_io_error);
            kstr(b, "last_sql_error", s->last_sql_error);
        }
    }
    close_v(b, "}");
}

static int instance_row(void *data, const struct fo_store_instance *i)
{
    struct walk *w = data;
    struct fo_buf *b = w->b;
    struct fo_watch_view v;
    char why[FO_WEB_WHY_LEN];
    bool known;

    if (w->n >= w->max) {
        w->truncated = true;
        return 1;
    }
    w->n++;
    known = fo_monitor_view(w->ctl, i->cluster, i->host, i->port, &v);
    fo_buf_puts(b, "{");
    kaddr(b, "address", i->host, i->port);
    kstr(b, "health", fo_health_name((enum fo_health)i->health));
    kstr(b, "role", fo_role_name((enum fo_role)i->role));
    kaddr(b, "source", i->source_host, i->source_port);
    kstr(b, "rule", fo_rule_name((enum fo_rule)i->rule));
    kuint(b, "server_id", i->server_id);
    kbool(b, "read_only", i->read_only);
    kbool(b, "maintenance", i->maintenance);
    kbool(b, "quarantined", i->quarantined);
    kstr(b, "quarantine_reason", i->quarantine_reason);
    kstr(b, "problem", i->problem);
    kstr(b, "last_error", i->last_error);
    kbool(b, "designated_primary",
          strcmp(w->c->primary_host, i->host) == 0 && w->c->primary_port == i->port && i->host[0] != '\0');
    key(b, "check");
    fo_buf_puts(b, "{");
    kuint(b, "writer", (uint64_t)fo_web_check_primary(w->c, i, false, why));
    kuint(b, "reader",
          (uint64_t)fo_web_check_replica(w->c, i, known && v.has_sample && v.last_ok,
                                         known && v.has_sample ? v.sample->lag_s : -1, why));
    close_v(b, "}");
    if (known) live_obj(b, &v);
    close_v(b, "}");
    return b->oom ? 1 : 0;
}

static void vip_obj(struct fo_ctl *ctl, struct fo_buf *b, const struct fo_store_cluster *c)
{
    struct fo_vipmgr_view vv;
    char host[FO_HOST_LEN];
    uint16_t port;
    uint64_t epoch;
    unsigned i;

    key(b, "vip");
    fo_buf_puts(b, "{");
    kstr(b, "address", c->vip);
    kstr(b, "interface", c->vip_interface);
    kaddr(b, "holder", c->vip_host, c->vip_port);
    kuint(b, "epoch", c->vip_epoch);
    kuint(b, "lease_ms", c->vip_lease_ms ? c->vip_lease_ms : FO_DEFAULT_VIP_LEASE_MS);
    memset(&vv, 0, sizeof(vv));
    if (c->vip[0] != '\0') fo_vipmgr_view(fo_failover_vipmgr(ctl), c->name, "", &vv);
    kbool(b, "lease_known", vv.known);
    kbool(b, "lease_held", vv.held);
    kstr(b, "lease_error", vv.error);
    close_v(b, "}");
    key(b, "reader_vips");
    fo_buf_puts(b, "[");
    for (i = 0; i < c->n_reader_vips && i < FO_MAX_READER_VIPS; i++) {
        fo_buf_puts(b, "{");
        kstr(b, "address", c->reader_vips[i]);
        if (fo_store_get_reader_holder(ctl->store, c->name, c->reader_vips[i], host, &port, &epoch) != 0) host[0] = 0;
        kaddr(b, "holder", host, port);
        memset(&vv, 0, sizeof(vv));
        fo_vipmgr_view(fo_failover_vipmgr(ctl), c->name, c->reader_vips[i], &vv);
        kbool(b, "lease_known", vv.known);
        kbool(b, "lease_held", vv.held);
        close_v(b, "}");
    }
    close_v(b, "]");
}

static void failover_obj(struct fo_buf *b, const struct fo_store_failover *f)
{
    const char *p = f->steps;
    char name[32];
    double ms;
    int used;

    fo_buf_puts(b, "{");
    kuint(b, "epoch", f->epoch);
    kstr(b, "kind", kind_name(f->kind));
    kaddr(b, "old_primary", f->old_host, f->old_port);
    kaddr(b, "new_primary", f->new_host, f->new_port);
    kaddr(b, "target", f->target_host, f->target_port);
    kstr(b, "reason", f->reason);
    kstr(b, "confirmations", f->confirmations);
    kuint(b, "started_ms", f->started_ms);
    kuint(b, "ended_ms", f->ended_ms);
    kstr(b, "last_step", step_name(f->last_step));
    kstr(b, "result", result_name(f->result));
    kstr(b, "detail", f->detail);
    kuint(b, "total_ms", f->total_ms);
    kstr(b, "steps_text", f->steps);
    /* The phases as the store wrote them: "fence=12ms choose=340ms" (store/cmd_failover.c). */
    key(b, "phases");
    fo_buf_puts(b, "[");
    while (sscanf(p, " %31[a-z_]=%lfms%n", name, &ms, &used) == 2 && used > 0) {
        fo_buf_puts(b, "{");
        kstr(b, "name", name);
        key(b, "ms");
        fo_buf_printf(b, "%.0f,", ms);
        close_v(b, "}");
        p += used;
    }
    close_v(b, "]");
    close_v(b, "}");
}

static int api_topology(struct fo_ctl *ctl, const char *name, struct fo_buf *b)
{
    struct fo_store_cluster c;
    struct fo_store_failover f;
    struct walk w = {.ctl = ctl, .b = b, .max = FO_WEB_MAX_INSTANCES, .c = &c};

    if (fo_store_get_cluster(ctl->store, name, &c) != 0) return fo__web_error(b, 404, "cluster not registered");
    fo_buf_puts(b, "{");
    kstr(b, "cluster", c.name);
    kuint(b, "served_by", ctl->cfg.node_id);
    kbool(b, "live", fo_raft_is_leader(&ctl->raft));
    kaddr(b, "primary", c.primary_host, c.primary_port);
    kuint(b, "epoch", c.epoch);
    kbool(b, "maintenance", c.maintenance);
    kbool(b, "semi_sync", c.semi_sync);
    kuint(b, "max_lag_s", c.max_lag_s);
    kuint(b, "reader_max_lag_s", c.reader_max_lag_s ? c.reader_max_lag_s : FO_DEFAULT_READER_MAX_LAG_S);
    kstr(b, "co_primaries", c.co_primaries);
    kuint(b, "rediscover_interval_s", c.rediscover_interval_s);
    kbool(b, "adopt_replicas", c.adopt_replicas);
    klines(b, "problems", c.problems, FO_TOPO_MAX_PROBLEMS + 1);
    vip_obj(ctl, b, &c);
    key(b, "running_failover");
    if (fo_store_get_running_failover(ctl->store, c.name, &f) == 0)
        failover_obj(b, &f);
    else
        fo_buf_puts(b, "null,");
    key(b, "instances");
    fo_buf_puts(b, "[");
    fo_store_each_instance(ctl->store, c.name, instance_row, &w);
    close_v(b, "]");
    kbool(b, "truncated", w.truncated);
    close_v(b, "}");
    return finish(b);
}

/* ---- /api/v1/clusters/<c>/history ------------------------------------------------ */

static int failover_row(void *data, const struct fo_store_failover *f)
{
    failover_obj(((struct walk *)data)->b, f);
    return ((struct walk *)data)->b->oom ? 1 : 0;
}

static int event_row(void *data, const struct fo_store_event *e)
{
    struct fo_buf *b = ((struct walk *)data)->b;

    fo_buf_puts(b, "{");
    kuint(b, "seq", e->seq);
    kuint(b, "wall_ms", e->wall_ms);
    kstr(b, "instance", e->instance);
    kstr(b, "kind", e->kind);
    kstr(b, "detail", e->detail);
    close_v(b, "}");
    return b->oom ? 1 : 0;
}

static int api_history(struct fo_ctl *ctl, const char *name, struct fo_buf *b)
{
    struct fo_store_cluster c;
    struct walk w = {.ctl = ctl, .b = b};

    if (fo_store_get_cluster(ctl->store, name, &c) != 0) return fo__web_error(b, 404, "cluster not registered");
    fo_buf_puts(b, "{");
    kstr(b, "cluster", c.name);
    key(b, "failovers");
    fo_buf_puts(b, "[");
    fo_store_each_failover(ctl->store, c.name, FO_WEB_MAX_FAILOVERS, failover_row, &w);
    close_v(b, "]");
    key(b, "events");
    fo_buf_puts(b, "[");
    fo_store_each_event(ctl->store, c.name, FO_WEB_MAX_EVENTS, event_row, &w);
    close_v(b, "]");
    close_v(b, "}");
    return finish(b);
}

/* ---- /api/v1/clusters/<c>/why ---------------------------------------------------- */

static int decision_row(void *data, const struct fo_store_decision *d)
{
    struct fo_buf *b = ((struct walk *)data)->b;

    fo_buf_puts(b, "{");
    kuint(b, "seq", d->seq);
    kuint(b, "wall_ms", d->wall_ms);
    kstr(b, "instance", d->instance);
    kstr(b, "verdict", d->verdict);
    kstr(b, "reason", d->reason);
    kstr(b, "detail", d->detail);
    close_v(b, "}");
    return b->oom ? 1 : 0;
}

static int quarantined_row(void *data, const struct fo_store_instance *i)
{
    struct fo_buf *b = ((struct walk *)data)->b;

    if (!i->quarantined) return 0;
    fo_buf_puts(b, "{");
    kaddr(b, "address", i->host, i->port);
    kstr(b, "reason", i->quarantine_reason);
    close_v(b, "}");
    return b->oom ? 1 : 0;
}

static int api_why(struct fo_ctl *ctl, const char *name, struct fo_buf *b)
{
    struct fo_store_cluster c;
    struct fo_store_failover f;
    struct walk w = {.ctl = ctl, .b = b};
    uint64_t now = fo_ctl_wall_ms();

    if (fo_store_get_cluster(ctl->store, name, &c) != 0) return fo__web_error(b, 404, "cluster not registered");
    fo_buf_puts(b, "{");
    kstr(b, "cluster", c.name);
    kbool(b, "recoveries_enabled", fo_store_recoveries_enabled(ctl->store));
    kbool(b, "maintenance", c.maintenance);
    kuint(b, "blocked_until_ms", c.blocked_until_ms > now ? c.blocked_until_ms : 0);
    kuint(b, "epoch", c.epoch);
    kaddr(b, "primary", c.primary_host, c.primary_port);
    key(b, "running_failover");
    if (fo_store_get_running_failover(ctl->store, c.name, &f) == 0)
        failover_obj(b, &f);
    else
        fo_buf_puts(b, "null,");
    key(b, "decisions");
    fo_buf_puts(b, "[");
    fo_store_each_decision(ctl->store, c.name, FO_WEB_MAX_DECISIONS, decision_row, &w);
    close_v(b, "]");
    key(b, "quarantined");
    fo_buf_puts(b, "[");
    fo_store_each_instance(ctl->store, c.name, quarantined_row, &w);
    close_v(b, "]");
    close_v(b, "}");
    return finish(b);
}

/* ---- routing --------------------------------------------------------------------- */

int fo__web_api(struct fo_ctl *ctl, const char *rest, struct fo_buf *b)
{
    char name[FO_NAME_LEN];
    const char *slash, *tail;
    size_t n;

    if (strcmp(rest, "clusters") == 0) return api_clusters(ctl, b);
    if (strcmp(rest, "members") == 0) return api_members(ctl, b);
    if (strncmp(rest, "clusters/", 9) != 0) return fo__web_error(b, 404, "not found");
    rest += 9;
    slash = strchr(rest, '/');
    n = slash ? (size_t)(slash - rest) : strlen(rest);
    tail = slash ? slash + 1 : "";
    if (n == 0 || n >= sizeof(name)) return fo__web_error(b, 404, "not found: bad cluster name");
    memcpy(name, rest, n);
    name[n] = '\0';
    if (fo_check_name(name, NULL) != 0) return fo__web_error(b, 404, "not found: bad cluster name");
    if (slash == NULL) return api_topology(ctl, name, b);
    if (strcmp(tail, "history") == 0) return api_history(ctl, name, b);
    if (strcmp(tail, "why") == 0) return api_why(ctl, name, b);
    return fo__web_error(b, 404, "not found");
}
