#include "render.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "table.h"

/* ------------------------------------------------------------ names */

static const char *health_name(Fo__Health h)
{
    switch (h) {
    case FO__HEALTH__HEALTH_UP: return "up";
    case FO__HEALTH__HEALTH_SUSPECT: return "suspect";
    case FO__HEALTH__HEALTH_DOWN: return "down";
    default: return "unknown";
    }
}

static const char *role_name(Fo__Role r)
{
    switch (r) {
    case FO__ROLE__ROLE_PRIMARY: return "primary";
    case FO__ROLE__ROLE_REPLICA: return "replica";
    case FO__ROLE__ROLE_ORPHAN: return "orphan";
    default: return "unknown";
    }
}

static const char *rule_name(Fo__PromotionRule r)
{
    switch (r) {
    case FO__PROMOTION_RULE__RULE_PREFER: return "prefer";
    case FO__PROMOTION_RULE__RULE_PREFER_NOT: return "prefer_not";
    case FO__PROMOTION_RULE__RULE_MUST_NOT: return "must_not";
    default: return "neutral";
    }
}

/* "host:port", "[v6]:port", or "" when host is empty. Resets tmp. */
static const char *addr(struct fo_buf *tmp, const char *host, unsigned port)
{
    fo_buf_reset(tmp);
    if (host == NULL || host[0] == '\0') return "";
    if (strchr(host, ':') != NULL)
        fo_buf_printf(tmp, "[%s]:%u", host, port);
    else
        fo_buf_printf(tmp, "%s:%u", host, port);
    return tmp->p != NULL && !tmp->oom ? tmp->p : "";
}

void fo_ctl_format_time(unsigned long long wall_ms, char *out, size_t outlen)
{
    /* Year 9999 is where ISO-8601's four-digit year ends. */
    const unsigned long long max_s = 253402300799ull;
    time_t secs;
    struct tm tm;
    char date[24];
    int n;

    out[0] = '\0';
    if (wall_ms == 0 || wall_ms / 1000 > max_s) return;
    secs = (time_t)(wall_ms / 1000);
    if (gmtime_r(&secs, &tm) == NULL) return;
    if (strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0) return;
    n = snprintf(out, outlen, "%s.%03uZ", date, (unsigned)(wall_ms % 1000));
    if (n < 0 || (size_t)n >= outlen) out[0] = '\0';
}

/* ------------------------------------------------------------ status */

static void status_json_member(struct fo_ctl_json *w, const struct fo_ctl_member_status *m)
{
    const Fo__NodeStatus *st = m->st;

    fo_ctl_json_open(w, NULL, '{');
    fo_ctl_json_u64(w, "id", m->member->id);
    fo_ctl_json_str(w, "address", m->member->raft_address);
    fo_ctl_json_str(w, "admin_address", m->member->admin_address);
    fo_ctl_json_str(w, "http_address", m->member->http_address);
    fo_ctl_json_str(w, "role", m->member->role);
    fo_ctl_json_bool(w, "reachable", m->reachable);
    fo_ctl_json_str(w, "error", m->error);
    fo_ctl_json_str(w, "state", st ? st->state : m->reachable ? "error" : "unreachable");
    fo_ctl_json_u64(w, "term", st ? st->term : 0);
    fo_ctl_json_u64(w, "last_applied", st ? st->last_applied : 0);
    fo_ctl_json_u64(w, "commit_index", st ? st->commit_index : 0);
    fo_ctl_json_u64(w, "last_index", st ? st->last_index : 0);
    fo_ctl_json_bool(w, "is_leader", st != NULL && strcmp(st->state, "leader") == 0);
    fo_ctl_json_u64(w, "instances_probed", st ? st->instances_probed : 0);
    fo_ctl_json_str(w, "version", st ? st->version : "");
    fo_ctl_json_close(w, '}');
}

static void status_json(struct fo_buf *out, const struct fo_ctl_member_status *ms, size_t n, long leader)
{
    struct fo_ctl_json w = {out, 0};
    size_t i;

    fo_ctl_json_open(&w, NULL, '{');
    fo_ctl_json_u64(&w, "leader_id", leader >= 0 ? ms[leader].member->id : 0);
    fo_ctl_json_str(&w, "leader", leader >= 0 ? ms[leader].member->raft_address : "");
    fo_ctl_json_open(&w, "members", '[');
    for (i = 0; i < n; i++) status_json_member(&w, &ms[i]);
    fo_ctl_json_close(&w, ']');
    fo_ctl_json_end(&w);
}

/* A number, or "-" when there is none. */
static void cell_u64(struct fo_ctl_table *t, int present, uint64_t v)
{
    if (present)
        fo_ctl_table_cellf(t, "%" PRIu64, v);
    else
        fo_ctl_table_cell(t, "");
}

static const char *const status_headers[] = {"ID",   "RAFT ADDRESS", "ADMIN ADDRESS", "ROLE",  "STATE",
                                             "TERM", "APPLIED",      "COMMIT",        "LEADER"};

static void status_text(struct fo_buf *out, const struct fo_ctl_member_status *ms, size_t n, long leader)
{
    struct fo_ctl_table t;
    size_t i;

    fo_ctl_table_init(&t, 9, status_headers);
    for (i = 0; i < n; i++) {
        const Fo__NodeStatus *st = ms[i].st;

        fo_ctl_table_cellf(&t, "%" PRIu64, ms[i].member->id);
        fo_ctl_table_cell(&t, ms[i].member->raft_address);
        fo_ctl_table_cell(&t, ms[i].member->admin_address);
        fo_ctl_table_cell(&t, ms[i].member->role);
        fo_ctl_table_cell(&t, st ? st->state : ms[i].reachable ? "error" : "unreachable");
        cell_u64(&t, st != NULL, st ? st->term : 0);
        cell_u64(&t, st != NULL, st ? st->last_applied : 0);
        cell_u64(&t, st != NULL, st ? st->commit_index : 0);
        fo_ctl_table_cell(&t, (long)i == leader ? "*" : "");
    }
    fo_ctl_table_render(&t, out);
    fo_ctl_table_free(&t);
    for (i = 0; i < n; i++) {
        if (ms[i].error[0] == '\0') continue;
        fo_buf_printf(out, "member %" PRIu64 ": ", ms[i].member->id);
        fo_ctl_puts_safe(out, ms[i].error);
        fo_buf_append(out, "\n", 1);
    }
}

void fo_ctl_render_status(struct fo_buf *out, const struct fo_ctl_member_status *ms, size_t n, long leader, int json)
{
    if (json)
        status_json(out, ms, n, leader);
    else
        status_text(out, ms, n, leader);
}

/* ------------------------------------------------------------ members */

static const char *const members_headers[] = {"ID", "RAFT ADDRESS", "ADMIN ADDRESS", "HTTP ADDRESS", "ROLE"};

void fo_ctl_render_members(struct fo_buf *out, const Fo__MembersResp *r, int json)
{
    struct fo_ctl_table t;
    struct fo_ctl_json w = {out, 0};
    size_t i;

    if (json) {
        fo_ctl_json_open(&w, NULL, '{');
        fo_ctl_json_open(&w, "members", '[');
        for (i = 0; i < r->n_members; i++) {
            fo_ctl_json_open(&w, NULL, '{');
            fo_ctl_json_u64(&w, "id", r->members[i]->id);
            fo_ctl_json_str(&w, "address", r->members[i]->raft_address);
            fo_ctl_json_str(&w, "admin_address", r->members[i]->admin_address);
            fo_ctl_json_str(&w, "http_address", r->members[i]->http_address);
            fo_ctl_json_str(&w, "role", r->members[i]->role);
            fo_ctl_json_close(&w, '}');
        }
        fo_ctl_json_close(&w, ']');
        fo_ctl_json_end(&w);
        return;
    }
    fo_ctl_table_init(&t, 5, members_headers);
    for (i = 0; i < r->n_members; i++) {
        fo_ctl_table_cellf(&t, "%" PRIu64, r->members[i]->id);
        fo_ctl_table_cell(&t, r->members[i]->raft_address);
        fo_ctl_table_cell(&t, r->members[i]->admin_address);
        fo_ctl_table_cell(&t, r->members[i]->http_address);
        fo_ctl_table_cell(&t, r->members[i]->role);
    }
    fo_ctl_table_render(&t, out);
    fo_ctl_table_free(&t);
}

/* ------------------------------------------------------------ topology */

/* Issue 13.3: the replication tree, from the sources the store recorded (the
 * configured spelling of a member, controller/decide/topology.h: compared as text).
 * depth[i] is 0 for the primary, 1 for its replicas, 2 for theirs...; -1 when the
 * chain of sources does not reach the primary (no source, outside the cluster, a
 * loop). parent[i] is the index of its source, -1 if none is listed. */
static void topology_tree(const Fo__TopologyResp *r, int *depth, int *parent, struct fo_buf *tmp)
{
    size_t i, j, n = r->n_instances, step;

    for (i = 0; i < n; i++) {
        const Fo__InstanceView *v = r->instances[i];
        parent[i] = -1;
        depth[i] = r->primary[0] != '\0' && strcmp(addr(tmp, v->host, v->port), r->primary) == 0 ? 0 : -1;
        if (depth[i] == 0 || v->source_host[0] == '\0') continue;
        for (j = 0; j < n; j++)
            if (j != i && v->source_port == r->instances[j]->port && strcmp(v->source_host, r->instances[j]->host) == 0)
                parent[i] = (int)j;
    }
    for (i = 0; i < n; i++) {
        int a = (int)i;
        if (depth[i] == 0) continue;
        for (step = 0; step <= n && a >= 0 && depth[a] != 0; step++) a = parent[a];
        depth[i] = a >= 0 && depth[a] == 0 ? (int)step : -1;
    }
}

/* Appends to order[*k] the instances under instance p (depth first, listed order). */
static void tree_order(const Fo__TopologyResp *r, const int *depth, const int *parent, int p, size_t *order, size_t *k)
{
    size_t j;

    for (j = 0; j < r->n_instances; j++) {
        if (parent[j] != p || depth[j] <= 0) continue;
        order[(*k)++] = j;
        tree_order(r, depth, parent, (int)j, order, k);
    }
}

static void instance_json_stored(struct fo_ctl_json *w, const Fo__InstanceView *v, int depth, struct fo_buf *tmp)
{
    fo_ctl_json_str(w, "host", v->host);
    fo_ctl_json_u64(w, "port", v->port);
    fo_ctl_json_str(w, "address", addr(tmp, v->host, v->port));
    fo_ctl_json_str(w, "health", health_name(v->health));
    fo_ctl_json_str(w, "role", role_name(v->role));
    fo_ctl_json_str(w, "source", addr(tmp, v->source_host, v->source_port));
    if (depth >= 0)
        fo_ctl_json_i64(w, "depth", depth);
    else
        fo_ctl_json_null(w, "depth"); /* not under the primary */
    fo_ctl_json_str(w, "rule", rule_name(v->rule));
    fo_ctl_json_str(w, "problem", v->problem);
    fo_ctl_json_str(w, "last_error", v->last_error);
    fo_ctl_json_u64(w, "server_id", v->server_id);
    fo_ctl_json_bool(w, "maintenance", v->maintenance);
    fo_ctl_json_bool(w, "quarantined", v->quarantined);
    fo_ctl_json_str(w, "quarantine_reason", v->quarantine_reason);
}

static void instance_json_live(struct fo_ctl_json *w, const Fo__InstanceView *v)
{
    fo_ctl_json_bool(w, "has_sample", v->has_sample);
    fo_ctl_json_u64(w, "sample_age_ms", v->sample_age_ms);
    fo_ctl_json_bool(w, "read_only", v->read_only);
    fo_ctl_json_str(w, "version", v->version);
    fo_ctl_json_str(w, "gtid_current_pos", v->gtid_current_pos);
    fo_ctl_json_str(w, "gtid_binlog_pos", v->gtid_binlog_pos);
    fo_ctl_json_str(w, "gtid_slave_pos", v->gtid_slave_pos);
    fo_ctl_json_bool(w, "is_replica", v->is_replica);
    fo_ctl_json_str(w, "io_running", v->io_running);
    fo_ctl_json_str(w, "sql_running", v->sql_running);
    if (v->lag_s < 0)
        fo_ctl_json_null(w, "lag_s");
    else
        fo_ctl_json_i64(w, "lag_s", v->lag_s);
    fo_ctl_json_str(w, "last_io_error", v->last_io_error);
    fo_ctl_json_str(w, "last_sql_error", v->last_sql_error);
    fo_ctl_json_str(w, "gtid_io_pos", v->gtid_io_pos);
    fo_ctl_json_str(w, "master_host", v->master_host);
    fo_ctl_json_u64(w, "master_port", v->master_port);
    fo_ctl_json_double(w, "probe_ms", v->probe_ms);
}

/* Co-primary and rediscovery settings, and the last walk's findings (REDISCOVERY). */
static void topology_modes_json(struct fo_ctl_json *w, const Fo__TopologyResp *r)
{
    size_t i;

    fo_ctl_json_str(w, "co_primaries", r->co_primaries);
    fo_ctl_json_u64(w, "rediscover_interval_s", r->rediscover_interval_s);
    fo_ctl_json_bool(w, "adopt_replicas", r->adopt_replicas);
    fo_ctl_json_open(w, "rediscovery", '[');
    for (i = 0; i < r->n_rediscovery; i++) fo_ctl_json_str(w, NULL, r->rediscovery[i]);
    fo_ctl_json_close(w, ']');
}

static void topology_modes_text(struct fo_buf *out, const Fo__TopologyResp *r)
{
    size_t i;

    if (r->co_primaries[0] != '\0') {
        fo_buf_puts(out, "co-primaries: ");
        fo_ctl_puts_safe(out, r->co_primaries);
        fo_buf_puts(out, "\n");
    }
    if (r->rediscover_interval_s != 0)
        fo_buf_printf(out, "rediscovery: every %us%s\n", (unsigned)r->rediscover_interval_s,
                      r->adopt_replicas ? ", adopting new replicas" : "");
    for (i = 0; i < r->n_rediscovery; i++) {
        fo_buf_puts(out, "  rediscovered: ");
        fo_ctl_puts_safe(out, r->rediscovery[i]);
        fo_buf_puts(out, "\n");
    }
}

static void topology_json(struct fo_buf *out, const Fo__TopologyResp *r)
{
    struct fo_ctl_json w = {out, 0};
    struct fo_buf tmp;
    size_t i;
    int *depth = calloc(r->n_instances + 1, 2 * sizeof(int));

    fo_buf_init(&tmp);
    if (depth == NULL) {
        out->oom = 1;
        return;
    }
    topology_tree(r, depth, depth + r->n_instances + 1, &tmp);
    fo_ctl_json_open(&w, NULL, '{');
    fo_ctl_json_str(&w, "cluster", r->cluster);
    fo_ctl_json_bool(&w, "live", r->live);
    fo_ctl_json_u64(&w, "served_by", r->served_by);
    fo_ctl_json_str(&w, "user", r->user);
    fo_ctl_json_bool(&w, "maintenance", r->maintenance);
    fo_ctl_json_str(&w, "primary", r->primary);
    fo_ctl_json_u64(&w, "epoch", r->epoch);
    if (r->vip[0] != '\0') {
        fo_ctl_json_open(&w, "vip", '{');
        fo_ctl_json_str(&w, "address", r->vip);
        fo_ctl_json_str(&w, "interface", r->vip_interface);
        fo_ctl_json_str(&w, "holder", r->vip_holder);
        fo_ctl_json_u64(&w, "epoch", r->vip_epoch);
        if (r->live) {
            fo_ctl_json_bool(&w, "lease_confirmed", r->vip_held);
            fo_ctl_json_str(&w, "error", r->vip_error);
        }
        fo_ctl_json_close(&w, '}');
    }
    if (r->n_reader_vips > 0) {
        fo_ctl_json_open(&w, "reader_vips", '[');
        for (i = 0; i < r->n_reader_vips; i++) {
            fo_ctl_json_open(&w, NULL, '{');
            fo_ctl_json_str(&w, "address", r->reader_vips[i]->vip);
            fo_ctl_json_str(&w, "holder", r->reader_vips[i]->holder);
            if (r->live) {
                fo_ctl_json_bool(&w, "lease_confirmed", r->reader_vips[i]->held);
                fo_ctl_json_str(&w, "error", r->reader_vips[i]->error);
            }
            fo_ctl_json_close(&w, '}');
        }
        fo_ctl_json_close(&w, ']');
    }
    fo_ctl_json_open(&w, "problems", '[');
    for (i = 0; i < r->n_problems; i++) fo_ctl_json_str(&w, NULL, r->problems[i]);
    fo_ctl_json_close(&w, ']');
    topology_modes_json(&w, r); /* REDISCOVERY */
    fo_ctl_json_open(&w, "instances", '[');
    for (i = 0; i < r->n_instances; i++) {
        fo_ctl_json_open(&w, NULL, '{');
        instance_json_stored(&w, r->instances[i], depth[i], &tmp);
        instance_json_live(&w, r->instances[i]);
        fo_ctl_json_close(&w, '}');
    }
    fo_ctl_json_close(&w, ']');
    fo_ctl_json_end(&w);
    if (tmp.oom) out->oom = 1;
    fo_buf_free(&tmp);
    free(depth);
}

/* The PROBLEM/ERROR cell: everything wrong with the instance, "; "-separated. A
 * quarantined instance is never promoted, so that comes first and stands out. */
static void instance_problems(struct fo_buf *tmp, const Fo__InstanceView *v)
{
    const char *parts[5];
    size_t i, n = 0;

    fo_buf_reset(tmp);
    if (v->quarantined) {
        fo_buf_puts(tmp, "QUARANTINED");
        if (v->quarantine_reason[0] != '\0') fo_buf_printf(tmp, " (%s)", v->quarantine_reason);
    }
    parts[n++] = v->maintenance ? "maintenance" : "";
    parts[n++] = v->problem;
    parts[n++] = v->last_error;
    /* A replication problem already quotes the thread errors: do not repeat them. */
    parts[n++] = v->has_sample && v->problem[0] == '\0' ? v->last_io_error : "";
    parts[n++] = v->has_sample && v->problem[0] == '\0' ? v->last_sql_error : "";
    for (i = 0; i < n; i++) {
        if (parts[i] == NULL || parts[i][0] == '\0') continue;
        if (tmp->len > 0) fo_buf_puts(tmp, "; ");
        fo_buf_puts(tmp, parts[i]);
    }
}

static const char *const topology_headers[] = {"INSTANCE",  "ROLE",   "HEALTH",       "RO",
                                               "SOURCE",    "IO/SQL", "LAG",          "GTID_CURRENT",
                                               "SERVER_ID", "RULE",   "PROBLEM/ERROR"};

/* The INSTANCE cell shows the tree: a replica at depth d is indented under its source
 * ("`- " after 3 * (d - 1) spaces); the primary and instances not under it are not. */
static void topology_row(struct fo_ctl_table *t, const Fo__InstanceView *v, int depth, struct fo_buf *tmp)
{
    int repl = v->has_sample && v->is_replica;

    if (depth > 0)
        fo_ctl_table_cellf(t, "%*s`- %s", 3 * (depth - 1), "", addr(tmp, v->host, v->port));
    else
        fo_ctl_table_cell(t, addr(tmp, v->host, v->port));
    fo_ctl_table_cell(t, role_name(v->role));
    fo_ctl_table_cell(t, health_name(v->health));
    fo_ctl_table_cell(t, !v->has_sample ? "" : v->read_only ? "yes" : "no");
    fo_ctl_table_cell(t, addr(tmp, v->source_host, v->source_port));
    if (repl)
        fo_ctl_table_cellf(t, "%s/%s", v->io_running, v->sql_running);
    else
        fo_ctl_table_cell(t, "");
    if (repl && v->lag_s >= 0)
        fo_ctl_table_cellf(t, "%" PRId64, v->lag_s);
    else
        fo_ctl_table_cell(t, "");
    fo_ctl_table_cell(t, v->has_sample ? v->gtid_current_pos : "");
    cell_u64(t, v->server_id != 0, v->server_id);
    fo_ctl_table_cell(t, rule_name(v->rule));
    instance_problems(tmp, v);
    fo_ctl_table_cell(t, tmp->p);
}

/* Rows in tree order: the primary, each replica under its source (depth first), then
 * the instances not under the primary, in the listed order. */
static void topology_rows(struct fo_ctl_table *t, const Fo__TopologyResp *r, struct fo_buf *tmp)
{
    size_t n = r->n_instances, i, k = 0;
    int *depth = calloc(n + 1, 2 * sizeof(int)), *parent;
    size_t *order = calloc(n + 1, sizeof(size_t));

    if (depth == NULL || order == NULL) { /* the flat list, in the listed order */
        for (i = 0; i < n; i++) topology_row(t, r->instances[i], -1, tmp);
        goto out;
    }
    parent = depth + n + 1;
    topology_tree(r, depth, parent, tmp);
    for (i = 0; i < n; i++)
        if (depth[i] == 0) {
            order[k++] = i;
            tree_order(r, depth, parent, (int)i, order, &k);
        }
    for (i = 0; i < n; i++)
        if (depth[i] < 0) order[k++] = i;
    for (i = 0; i < k; i++) topology_row(t, r->instances[order[i]], depth[order[i]], tmp);
out:
    free(depth);
    free(order);
}

static void topology_text(struct fo_buf *out, const Fo__TopologyResp *r)
{
    struct fo_ctl_table t;
    struct fo_buf tmp;
    size_t i;

    fo_buf_puts(out, "cluster ");
    fo_ctl_puts_safe(out, r->cluster);
    if (r->live)
        fo_buf_printf(out, "  (live samples from node %" PRIu64 ")", r->served_by);
    else
        fo_buf_puts(out, "  (stored state only: no live samples)");
    if (r->maintenance) fo_buf_puts(out, "  [maintenance]");
    fo_buf_puts(out, "\nprimary: ");
    fo_ctl_puts_safe(out, r->primary[0] != '\0' ? r->primary : "none");
    fo_buf_printf(out, "  epoch: %" PRIu64 "\n", r->epoch);
    if (r->vip[0] != '\0') {
        fo_buf_puts(out, "vip: ");
        fo_ctl_puts_safe(out, r->vip);
        fo_buf_puts(out, " on ");
        fo_ctl_puts_safe(out, r->vip_holder[0] != '\0' ? r->vip_holder : "nobody");
        fo_buf_printf(out, "  (epoch %" PRIu64 ")", r->vip_epoch);
        if (r->live && r->vip_holder[0] != '\0')
            fo_buf_puts(out, r->vip_held ? "  lease confirmed" : "  lease NOT confirmed");
        if (r->live && r->vip_error[0] != '\0') {
            fo_buf_puts(out, ": ");
            fo_ctl_puts_safe(out, r->vip_error);
        }
        fo_buf_puts(out, "\n");
    }
    for (i = 0; i < r->n_reader_vips; i++) {
        const Fo__ReaderVipView *x = r->reader_vips[i];
        fo_buf_puts(out, "reader vip: ");
        fo_ctl_puts_safe(out, x->vip);
        fo_buf_puts(out, " on ");
        fo_ctl_puts_safe(out, x->holder[0] != '\0' ? x->holder : "nobody");
        if (r->live && x->holder[0] != '\0') fo_buf_puts(out, x->held ? "  lease confirmed" : "  lease NOT confirmed");
        if (r->live && x->error[0] != '\0') {
            fo_buf_puts(out, ": ");
            fo_ctl_puts_safe(out, x->error);
        }
        fo_buf_puts(out, "\n");
    }
    topology_modes_text(out, r); /* REDISCOVERY */
    fo_buf_init(&tmp);
    fo_ctl_table_init(&t, 11, topology_headers);
    topology_rows(&t, r, &tmp);
    fo_ctl_table_render(&t, out);
    fo_ctl_table_free(&t);
    if (tmp.oom) out->oom = 1;
    fo_buf_free(&tmp);
    if (r->n_problems > 0) fo_buf_puts(out, "problems:\n");
    for (i = 0; i < r->n_problems; i++) {
        fo_buf_puts(out, "  - ");
        fo_ctl_puts_safe(out, r->problems[i]);
        fo_buf_append(out, "\n", 1);
    }
}

void fo_ctl_render_topology(struct fo_buf *out, const Fo__TopologyResp *r, int json)
{
    if (json)
        topology_json(out, r);
    else
        topology_text(out, r);
}

/* ------------------------------------------------------------ clusters */

static const char *const clusters_headers[] = {"NAME", "INSTANCES", "PRIMARY", "PROBLEMS"};

void fo_ctl_render_clusters(struct fo_buf *out, const Fo__ClustersResp *r, int json)
{
    struct fo_ctl_table t;
    struct fo_ctl_json w = {out, 0};
    size_t i;

    if (json) {
        fo_ctl_json_open(&w, NULL, '{');
        fo_ctl_json_open(&w, "clusters", '[');
        for (i = 0; i < r->n_clusters; i++) {
            fo_ctl_json_open(&w, NULL, '{');
            fo_ctl_json_str(&w, "name", r->clusters[i]->name);
            fo_ctl_json_u64(&w, "instances", r->clusters[i]->instances);
            fo_ctl_json_str(&w, "primary", r->clusters[i]->primary);
            fo_ctl_json_u64(&w, "problems", r->clusters[i]->problems);
            fo_ctl_json_close(&w, '}');
        }
        fo_ctl_json_close(&w, ']');
        fo_ctl_json_end(&w);
        return;
    }
    fo_ctl_table_init(&t, 4, clusters_headers);
    for (i = 0; i < r->n_clusters; i++) {
        fo_ctl_table_cell(&t, r->clusters[i]->name);
        fo_ctl_table_cellf(&t, "%u", (unsigned)r->clusters[i]->instances);
        fo_ctl_table_cell(&t, r->clusters[i]->primary);
        fo_ctl_table_cellf(&t, "%u", (unsigned)r->clusters[i]->problems);
    }
    fo_ctl_table_render(&t, out);
    fo_ctl_table_free(&t);
}

/* ------------------------------------------------------------ writes, errors */

void fo_ctl_render_ok(struct fo_buf *out, int json)
{
    fo_buf_puts(out, json ? "{\"ok\":true}\n" : "ok\n");
}

void fo_ctl_render_error(struct fo_buf *out, int code, const char *msg)
{
    struct fo_ctl_json w = {out, 0};

    fo_ctl_json_open(&w, NULL, '{');
    fo_ctl_json_bool(&w, "ok", 0);
    fo_ctl_json_i64(&w, "code", code);
    fo_ctl_json_str(&w, "error", msg);
    fo_ctl_json_end(&w);
}
