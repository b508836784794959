/* Admin request handlers: reads from the local store, writes through raft. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "controller/admin/admin_internal.h"
#include "controller/admin/rediscover.h"
#include "controller/act/failover.h"
#include "controller/probe/monitor.h"
#include "controller/decide/topology.h"
#include "controller/vip/vipmgr.h"

#define MOD "admin"
#define HISTORY_DEFAULT 50
#define HISTORY_MAX 10000

/* ------------------------------------------------------------------ reads */

static void handle_status(struct areq *r)
{
    struct fo_ctl *ctl = r->ctl;
    struct fo_raft *raft = &ctl->raft;
    Fo__Response resp;
    Fo__NodeStatus st;
    const char *laddr = NULL;

    fo__response__init(&resp);
    fo__node_status__init(&st);
    st.id = ctl->cfg.node_id;
    st.raft_address = ctl->cfg.raft_address;
    st.admin_address = ctl->cfg.admin_address;
    st.http_address = ctl->cfg.http_address;
    st.state = (char *)fo_raft_state_name(raft);
    st.role = (char *)fo_raft_role_name(raft, ctl->cfg.node_id);
    st.term = raft_current_term(&raft->raft);
    st.last_applied = raft_last_applied(&raft->raft);
    st.commit_index = raft_commit_index(&raft->raft);
    st.last_index = raft_last_index(&raft->raft);
    st.leader_id = fo_raft_leader(raft, &laddr);
    st.leader_raft_address = (char *)(laddr ? laddr : "");
    st.uptime_ms = uv_now(ctl->loop) - ctl->started_ms;
    st.version = FO_VERSION;
    st.instances_probed = fo_monitor_count(ctl);
    resp.body_case = FO__RESPONSE__BODY_STATUS;
    resp.status = &st;
    areq_reply(r, &resp);
}

static void handle_members(struct areq *r)
{
    struct fo_ctl *ctl = r->ctl;
    struct raft_configuration *conf = &ctl->raft.raft.configuration;
    Fo__Response resp;
    Fo__MembersResp mr;
    Fo__Member **ms;
    unsigned i, j;

    fo__response__init(&resp);
    fo__members_resp__init(&mr);
    ms = areq_alloc(r, (conf->n + 1) * sizeof(*ms));
    if (ms == NULL) return areq_fail(r, FO_ENOMEM, "out of memory");
    for (i = 0; i < conf->n; i++) {
        struct fo_store_member row;
        Fo__Member *m = areq_alloc(r, sizeof(*m));
        if (m == NULL) return areq_fail(r, FO_ENOMEM, "out of memory");
        fo__member__init(m);
        m->id = conf->servers[i].id;
        m->raft_address = areq_strdup(r, conf->servers[i].address);
        m->role = (char *)fo_raft_role_name(&ctl->raft, m->id);
        m->admin_address = "";
        m->http_address = "";
        if (fo_store_get_member(ctl->store, m->id, &row) == 0) {
            m->admin_address = areq_strdup(r, row.admin_address);
            m->http_address = areq_strdup(r, row.http_address);
        } else {
            for (j = 0; j < ctl->cfg.n_peers; j++) {
                if (ctl->cfg.peers[j].id != m->id) continue;
                m->admin_address = ctl->cfg.peers[j].admin_address;
                m->http_address = ctl->cfg.peers[j].http_address;
            }
        }
        ms[i] = m;
    }
    mr.n_members = conf->n;
    mr.members = ms;
    resp.body_case = FO__RESPONSE__BODY_MEMBERS;
    resp.members = &mr;
    areq_reply(r, &resp);
}

struct cluster_count {
    unsigned instances;
    char primary[FO_ADDR_LEN];
};

static int count_instance(void *data, const struct fo_store_instance *i)
{
    struct cluster_count *cc = data;

    cc->instances++;
    if (i->role == FO_ROLE_PRIMARY && cc->primary[0] == '\0')
        snprintf(cc->primary, sizeof(cc->primary), "%s:%u", i->host, i->port);
    return 0;
}

static int add_cluster_summary(void *data, const struct fo_store_cluster *c)
{
    struct areq_list *col = data;
    Fo__ClusterSummary *s = areq_alloc(col->r, sizeof(*s));
    struct cluster_count cc;
    const char *p;

    if (s == NULL) return areq_list_push(col, NULL);
    memset(&cc, 0, sizeof(cc));
    fo_store_each_instance(col->r->ctl->store, c->name, count_instance, &cc);
    fo__cluster_summary__init(s);
    s->name = areq_strdup(col->r, c->name);
    s->instances = cc.instances;
    s->primary = areq_strdup(col->r, cc.primary);
    for (p = c->problems; *p; p++)
        if (p == c->problems || p[-1] == '\n') s->problems++;
    return areq_list_push(col, s);
}

static void handle_clusters(struct areq *r)
{
    struct areq_list col = {.r = r};
    Fo__Response resp;
    Fo__ClustersResp cr;

    fo_store_each_cluster(r->ctl->store, add_cluster_summary, &col);
    if (col.oom) return areq_fail(r, FO_ENOMEM, "out of memory");
    fo__response__init(&resp);
    fo__clusters_resp__init(&cr);
    cr.n_clusters = col.n;
    cr.clusters = (Fo__ClusterSummary **)col.items;
    resp.body_case = FO__RESPONSE__BODY_CLUSTERS;
    resp.clusters = &cr;
    areq_reply(r, &resp);
}

static int add_event(void *data, const struct fo_store_event *e)
{
    struct areq_list *col = data;
    Fo__Event *ev = areq_alloc(col->r, sizeof(*ev));

    if (ev == NULL) return areq_list_push(col, NULL);
    fo__event__init(ev);
    ev->seq = e->seq;
    ev->wall_ms = e->wall_ms;
    ev->cluster = areq_strdup(col->r, e->cluster);
    ev->instance = areq_strdup(col->r, e->instance);
    ev->kind = areq_strdup(col->r, e->kind);
    ev->detail = areq_strdup(col->r, e->detail);
    return areq_list_push(col, ev);
}

static int add_failover(void *data, const struct fo_store_failover *f)
{
    struct areq_list *col = data;

    return areq_list_push(col, fo_admin_failover_record(col->r, f));
}

static void handle_history(struct areq *r)
{
    Fo__HistoryReq *h = r->req->history;
    struct areq_list col = {.r = r};
    struct areq_list fcol = {.r = r};
    unsigned limit = h->limit ? h->limit : HISTORY_DEFAULT;
    Fo__Response resp;
    Fo__HistoryResp hr;

    if (limit > HISTORY_MAX) return areq_fail(r, FO_EINVAL, "limit %u is above %u", limit, HISTORY_MAX);
    if (h->cluster[0] != '\0' && fo_check_name(h->cluster, NULL) != 0)
        return areq_fail(r, FO_EINVAL, "invalid cluster name");
    fo_store_each_event(r->ctl->store, h->cluster[0] ? h->cluster : NULL, limit, add_event, &col);
    fo_store_each_failover(r->ctl->store, h->cluster[0] ? h->cluster : NULL, limit, add_failover, &fcol);
    if (col.oom || fcol.oom) return areq_fail(r, FO_ENOMEM, "out of memory");
    fo__response__init(&resp);
    fo__history_resp__init(&hr);
    hr.n_events = col.n;
    hr.events = (Fo__Event **)col.items;
    hr.n_failovers = fcol.n;
    hr.failovers = (Fo__FailoverRecord **)fcol.items;
    resp.body_case = FO__RESPONSE__BODY_HISTORY;
    resp.history = &hr;
    areq_reply(r, &resp);
}

/* ------------------------------------------------------------------ topology */

static void fill_live(struct areq *r, Fo__InstanceView *v, const struct fo_watch_view *w)
{
    const struct fo_sample *s = w->sample;

    v->has_sample = w->has_sample;
    v->sample_age_ms = w->sample_age_ms;
    v->probe_ms = w->probe_ms;
    if (!w->has_sample) return;
    v->read_only = s->read_only;
    v->version = areq_strdup(r, s->version);
    v->gtid_current_pos = areq_strdup(r, s->gtid_current_pos);
    v->gtid_binlog_pos = areq_strdup(r, s->gtid_binlog_pos);
    v->gtid_slave_pos = areq_strdup(r, s->gtid_slave_pos);
    v->is_replica = s->is_replica;
    v->io_running = (char *)fo_thread_state_name(s->io_running);
    v->sql_running = (char *)fo_thread_state_name(s->sql_running);
    v->lag_s = s->lag_s;
    v->last_io_error = areq_strdup(r, s->last_io_error);
    v->last_sql_error = areq_strdup(r, s->last_sql_error);
    v->gtid_io_pos = areq_strdup(r, s->gtid_io_pos);
    v->master_host = areq_strdup(r, s->master_host);
    v->master_port = s->master_port;
}

static int add_instance_view(void *data, const struct fo_store_instance *i)
{
    struct areq_list *col = data;
    struct areq *r = col->r;
    Fo__InstanceView *v = areq_alloc(r, sizeof(*v));
    struct fo_watch_view w;

    if (v == NULL) return areq_list_push(col, NULL);
    fo__instance_view__init(v);
    v->host = areq_strdup(r, i->host);
    v->port = i->port;
    v->health = (Fo__Health)i->health;
    v->role = (Fo__Role)i->role;
    v->source_host = areq_strdup(r, i->source_host);
    v->source_port = i->source_port;
    v->rule = (Fo__PromotionRule)i->rule;
    v->problem = areq_strdup(r, i->problem);
    v->last_error = areq_strdup(r, i->last_error);
    v->server_id = i->server_id;
    v->maintenance = i->maintenance;
    v->quarantined = i->quarantined;
    v->quarantine_reason = areq_strdup(r, i->quarantine_reason);
    v->lag_s = -1;
    if (fo_monitor_view(col->r->ctl, i->cluster, i->host, i->port, &w)) fill_live(r, v, &w);
    return areq_list_push(col, v);
}

/* Reader VIPs with their recorded holders and, on the leader, the lease state. */
static int topology_readers(struct areq *r, const struct fo_store_cluster *c, Fo__TopologyResp *tr)
{
    Fo__ReaderVipView **list = areq_alloc(r, c->n_reader_vips * sizeof(*list));
    char host[FO_HOST_LEN], hbuf[FO_ADDR_LEN];
    struct fo_vipmgr_view vv;
    uint16_t port;
    uint64_t epoch;
    unsigned i;

    if (list == NULL) return FO_ENOMEM;
    for (i = 0; i < c->n_reader_vips; i++) {
        Fo__ReaderVipView *x = areq_alloc(r, sizeof(*x));
        if (x == NULL) return FO_ENOMEM;
        fo__reader_vip_view__init(x);
        x->vip = areq_strdup(r, c->reader_vips[i]);
        if (fo_store_get_reader_holder(r->ctl->store, c->name, c->reader_vips[i], host, &port, &epoch) == 0 &&
            host[0] != '\0') {
            snprintf(hbuf, sizeof(hbuf), "%s:%u", host, port);
            x->holder = areq_strdup(r, hbuf);
        }
        fo_vipmgr_view(fo_failover_vipmgr(r->ctl), c->name, c->reader_vips[i], &vv);
        x->held = vv.held;
        if (vv.error[0] != '\0') x->error = areq_strdup(r, vv.error);
        list[i] = x;
    }
    tr->n_reader_vips = c->n_reader_vips;
    tr->reader_vips = list;
    return 0;
}

/* The leader's last rediscovery findings (rediscover.h), one line each. */
struct redisc_lines {
    struct areq *r;
    char **v;
    size_t n;
};

static void redisc_line(void *data, const char *line)
{
    struct redisc_lines *k = data;

    k->v[k->n++] = areq_strdup(k->r, line);
}

static int topology_rediscovery(struct areq *r, const char *cluster, Fo__TopologyResp *tr)
{
    struct redisc_lines k = {r, NULL, 0};
    struct fo_rediscover *rd = r->ctl->admin != NULL ? r->ctl->admin->redisc : NULL;

    if (fo_rediscover_findings(rd, cluster, NULL, NULL) == 0) return 0;
    k.v = areq_alloc(r, FO_REDISCOVER_MAX_FINDINGS * sizeof *k.v);
    if (k.v == NULL) return -1;
    fo_rediscover_findings(rd, cluster, redisc_line, &k);
    tr->rediscovery = k.v;
    tr->n_rediscovery = k.n;
    return 0;
}

static void topology_local(struct areq *r)
{
    const char *name = r->req->topology->cluster;
    struct areq_list col = {.r = r};
    struct fo_store_cluster c;
    Fo__Response resp;
    Fo__TopologyResp tr;
    char **problems;
    unsigned np = 0;
    char *p, *save = NULL;

    if (fo_store_get_cluster(r->ctl->store, name, &c) != 0)
        return areq_fail(r, FO_ENOTFOUND, "cluster '%s' is not registered", name);
    fo_store_each_instance(r->ctl->store, name, add_instance_view, &col);
    problems = areq_alloc(r, (FO_TOPO_MAX_PROBLEMS + 2) * sizeof(char *));
    if (col.oom || problems == NULL) return areq_fail(r, FO_ENOMEM, "out of memory");
    for (p = strtok_r(c.problems, "\n", &save); p != NULL && np < FO_TOPO_MAX_PROBLEMS + 1;
         p = strtok_r(NULL, "\n", &save))
        problems[np++] = areq_strdup(r, p);
    fo__response__init(&resp);
    fo__topology_resp__init(&tr);
    tr.cluster = areq_strdup(r, c.name);
    tr.user = areq_strdup(r, c.user);
    tr.maintenance = c.maintenance;
    tr.epoch = c.epoch;
    if (c.primary_host[0] != '\0') {
        char pbuf[FO_ADDR_LEN];
        snprintf(pbuf, sizeof(pbuf), "%s:%u", c.primary_host, c.primary_port);
        tr.primary = areq_strdup(r, pbuf);
    }
    if (c.vip[0] != '\0') {
        struct fo_vipmgr_view vv;
        char hbuf[FO_ADDR_LEN];
        tr.vip = areq_strdup(r, c.vip);
        tr.vip_interface = areq_strdup(r, c.vip_interface);
        if (c.vip_host[0] != '\0') {
            snprintf(hbuf, sizeof(hbuf), "%s:%u", c.vip_host, c.vip_port);
            tr.vip_holder = areq_strdup(r, hbuf);
        }
        tr.vip_epoch = c.vip_epoch;
        fo_vipmgr_view(fo_failover_vipmgr(r->ctl), c.name, "", &vv);
        tr.vip_held = vv.held;
        if (vv.error[0] != '\0') tr.vip_error = areq_strdup(r, vv.error);
    }
    if (c.n_reader_vips > 0 && topology_readers(r, &c, &tr) != 0) return areq_fail(r, FO_ENOMEM, "out of memory");
    if (c.co_primaries[0] != '\0') tr.co_primaries = areq_strdup(r, c.co_primaries);
    tr.rediscover_interval_s = c.rediscover_interval_s;
    tr.adopt_replicas = c.adopt_replicas;
    if (topology_rediscovery(r, c.name, &tr) != 0) return areq_fail(r, FO_ENOMEM, "out of memory");
    tr.live = fo_raft_is_leader(&r->ctl->raft);
    tr.served_by = r->ctl->cfg.node_id;
    tr.n_instances = col.n;
    tr.instances = (Fo__InstanceView **)col.items;
    tr.n_problems = np;
    tr.problems = problems;
    resp.body_case = FO__RESPONSE__BODY_TOPOLOGY;
    resp.topology = &tr;
    areq_reply(r, &resp);
}

/* Read-your-writes on a follower: the leader's answer is relayed once this node has
 * applied what the leader had applied when it answered (Response.applied_index), so
 * that the client's next request here (`history` after `switchover`) sees its write.
 * Bounded: after APPLIED_WAIT_MS the answer goes out anyway. */
#define APPLIED_WAIT_MS 1000
#define APPLIED_POLL_MS 5

struct applied_wait {
    uv_timer_t t;
    struct areq *r;
    uint8_t *packed; /* the leader's response */
    size_t len;
    uint64_t index, deadline_ms;
};

static void applied_wait_closed(uv_handle_t *h)
{
    struct applied_wait *w = h->data;

    free(w->packed);
    free(w);
}

static void applied_wait_tick(uv_timer_t *t)
{
    struct applied_wait *w = t->data;
    struct fo_ctl *ctl = w->r->ctl;
    Fo__Response *resp;

    if (raft_last_applied(&ctl->raft.raft) < w->index && uv_now(ctl->loop) < w->deadline_ms && !ctl->stopping) return;
    uv_timer_stop(t);
    if ((resp = fo__response__unpack(NULL, w->len, w->packed)) == NULL)
        areq_fail(w->r, FO_ENOMEM, "out of memory");
    else {
        areq_reply(w->r, resp);
        fo__response__free_unpacked(resp, NULL);
    }
    uv_close((uv_handle_t *)t, applied_wait_closed);
}

/* Relays resp now, or once this node applied resp->applied_index. */
static void relay_when_applied(struct areq *r, Fo__Response *resp)
{
    struct fo_ctl *ctl = r->ctl;
    struct applied_wait *w;

    if (resp->applied_index <= raft_last_applied(&ctl->raft.raft) || (w = calloc(1, sizeof(*w))) == NULL) {
        areq_reply(r, resp);
        return;
    }
    w->len = fo__response__get_packed_size(resp);
    if ((w->packed = malloc(w->len ? w->len : 1)) == NULL) {
        free(w);
        areq_reply(r, resp);
        return;
    }
    fo__response__pack(resp, w->packed);
    w->r = r;
    w->index = resp->applied_index;
    w->deadline_ms = uv_now(ctl->loop) + APPLIED_WAIT_MS;
    uv_timer_init(ctl->loop, &w->t);
    w->t.data = w;
    uv_timer_start(&w->t, applied_wait_tick, APPLIED_POLL_MS, APPLIED_POLL_MS);
}

/* Relays the leader's response as-is (re-packed by areq_reply). */
static void relay_done(void *data, int status, const char *error, Fo__Response *resp)
{
    struct areq *r = data;

    if (status != 0) {
        /* Reads fall back to this node's own store; writes report the failure. */
        if (r->req->body_case == FO__REQUEST__BODY_TOPOLOGY) {
            topology_local(r);
            return;
        }
        areq_fail(r, status == FO_ECANCELED ? FO_ECANCELED : FO_EUNREACHABLE, "forwarding to the leader failed: %s",
                  error);
        return;
    }
    relay_when_applied(r, resp);
}

static unsigned forward_timeout(const struct areq *r)
{
    /* Failovers and switchovers answer when they are over. */
    if (r->req->body_case == FO__REQUEST__BODY_FAILOVER || r->req->body_case == FO__REQUEST__BODY_SWITCHOVER)
        return FO_ADMIN_LONG_TIMEOUT_MS;
    return FO_ADMIN_FORWARD_TIMEOUT_MS;
}

/* Forwards the request to the leader. Returns 0 if the reply will come from there. */
static int forward(struct areq *r)
{
    struct fo_ctl *ctl = r->ctl;
    char addr_buf[FO_ADDR_LEN], err[FO_ERRLEN];
    uint64_t leader = fo_raft_leader(&ctl->raft, NULL);
    const char *addr;

    if (r->req->forwarded) return fo_errf(err, FO_ENOTLEADER, "forwarded to a node that is not the leader");
    if (leader == 0) return FO_ENOLEADER;
    if ((addr = fo_ctl_admin_address(ctl, leader, addr_buf)) == NULL) return FO_ENOLEADER;
    r->req->forwarded = 1;
    if (fo_admin_call(ctl, addr, r->req, forward_timeout(r), relay_done, r, err) != 0) {
        FO_WARN(MOD, "forward to leader %s: %s", addr, err);
        return FO_EUNREACHABLE;
    }
    ctl->counters.admin_forwarded++;
    return 0;
}

static void handle_topology(struct areq *r)
{
    const char *name = r->req->topology->cluster;

    if (fo_check_name(name, NULL) != 0) return areq_fail(r, FO_EINVAL, "invalid cluster name");
    /* The leader has every live sample; a follower asks it and falls back to its store. */
    if (fo_raft_is_leader(&r->ctl->raft) || r->req->forwarded || forward(r) != 0) topology_local(r);
}

/* ------------------------------------------------------------------ writes */

static void proposal_done(void *data, int status, int result)
{
    struct areq *r = data;
    Fo__Response resp;

    if (status != 0) return areq_fail(r, status, "not committed: %s", fo_strerror(status));
    if (result != 0) return areq_fail(r, result, "refused: %s", fo_strerror(result));
    fo__response__init(&resp);
    areq_reply(r, &resp);
}

void fo_admin_propose(struct areq *r, Fo__Command *cmd)
{
    char err[FO_ERRLEN];
    int rc = fo_ctl_propose(r->ctl, cmd, proposal_done, r, err);

    if (rc != 0) areq_fail(r, rc, "%s", err);
}

static void ready_barrier_done(void *data, int status)
{
    struct areq *r = data;

    if (status != 0) return areq_fail(r, status, "leadership changed while the write waited; retry");
    fo_admin_dispatch(r); /* now fo_raft_is_ready(): handled on this node */
}

/* Writes run on a leader whose store is up to date; a follower forwards them. A
 * leader elected moments ago first waits for a barrier of its own term, so the write
 * is checked against every committed entry. Returns true if handled here now. */
bool fo_admin_leader_or_forward(struct areq *r)
{
    char err[FO_ERRLEN];
    int rc;

    if (fo_raft_is_ready(&r->ctl->raft)) return true;
    if (fo_raft_is_leader(&r->ctl->raft)) {
        if ((rc = fo_raft_barrier(&r->ctl->raft, ready_barrier_done, r, err)) != 0) areq_fail(r, rc, "%s", err);
        return false;
    }
    if ((rc = forward(r)) != 0)
        areq_fail(r, rc,
                  rc == FO_ENOLEADER ? "no leader is known (election in progress or no quorum)"
                                     : "cannot reach the leader");
    return false;
}

static int check_instance_args(struct areq *r, const char *cluster, const char *host, uint32_t port)
{
    char err[FO_ERRLEN];

    if (fo_check_name(cluster, err) != 0) return areq_fail(r, FO_EINVAL, "cluster: %s", err), -1;
    if (host[0] == '\0' || strlen(host) >= FO_HOST_LEN) return areq_fail(r, FO_EINVAL, "invalid host"), -1;
    if (port == 0 || port > 65535) return areq_fail(r, FO_EINVAL, "invalid port %u", port), -1;
    return 0;
}

/* co_primaries, rediscover_interval_s, adopt_replicas: refused here with the reason
 * rather than by the FSM; co_primaries is rewritten in its canonical form (the only
 * one the store accepts), so "a:1, b:2" from an older client still works. */
static int check_cluster_add_modes(struct areq *r, Fo__ClusterAdd *ca)
{
    char canon[FO_CO_PRIMARIES_LEN], err[FO_ERRLEN];
    struct fo_endpoint ep[2];

    if (ca->co_primaries[0] != '\0') {
        if (fo_parse_co_primaries(ca->co_primaries, ep, canon, err) != 0)
            return areq_fail(r, FO_EINVAL, "co_primaries: %s", err), -1;
        ca->co_primaries = areq_strdup(r, canon);
        if (ca->co_primaries[0] == '\0') return areq_fail(r, FO_ENOMEM, "out of memory"), -1;
    }
    if (fo_check_rediscover_interval(ca->rediscover_interval_s, err) != 0)
        return areq_fail(r, FO_EINVAL, "rediscover_interval_s: %s", err), -1;
    if (ca->adopt_replicas && ca->rediscover_interval_s == 0)
        return areq_fail(r, FO_EINVAL, "adopt_replicas needs rediscover_interval_s (rediscovery is off)"), -1;
    return 0;
}

static void handle_cluster_add(struct areq *r)
{
    Fo__ClusterAdd *ca = r->req->cluster_add;
    struct fo_store_cluster c;
    char err[FO_ERRLEN], pw[256];
    Fo__Command cmd;
    int rc;

    if (fo_check_name(ca->name, err) != 0) return areq_fail(r, FO_EINVAL, "cluster name: %s", err);
    if (ca->user[0] == '\0' || strlen(ca->user) >= FO_NAME_LEN) return areq_fail(r, FO_EINVAL, "invalid user");
    if (ca->password_file[0] != '/' || strlen(ca->password_file) >= FO_PATH_LEN)
        return areq_fail(r, FO_EINVAL, "password file must be an absolute path");
    if (ca->repl_password_file[0] != '\0' &&
        (ca->repl_password_file[0] != '/' || strlen(ca->repl_password_file) >= FO_PATH_LEN))
        return areq_fail(r, FO_EINVAL, "replication password file must be an absolute path");
    if (check_cluster_add_modes(r, ca) != 0) return;
    if (!fo_admin_leader_or_forward(r)) return;
    if (fo_store_get_cluster(r->ctl->store, ca->name, &c) == 0)
        return areq_fail(r, FO_EEXIST, "cluster '%s' is already registered", ca->name);
    /* [limits] max_clusters: the leader's guard (the FSM never counts, so that nodes
     * whose limits differ still apply the same log alike). */
    if ((rc = fo_store_check_room(r->ctl->store, &r->ctl->cfg.limits, 1, 0, err)) != 0)
        return areq_fail(r, rc, "%s", err);
    /* Checked on the leader so a typo is caught now, not at the first probe. Only
     * files inside secrets_dir (common/config.h): a client certificate must not make
     * failoverd read any file it can and send it to a server of the caller's choosing.
     * fo_read_secret_file checks the path before it opens anything. */
    if ((rc = fo_read_secret_file(r->ctl->cfg.secrets_dir, ca->password_file, pw, sizeof(pw), err)) != 0 ||
        (ca->repl_password_file[0] != '\0' &&
         (rc = fo_read_secret_file(r->ctl->cfg.secrets_dir, ca->repl_password_file, pw, sizeof(pw), err)) != 0)) {
        explicit_bzero(pw, sizeof(pw));
        return areq_fail(r, rc == FO_EPERM ? FO_EPERM : FO_EINVAL, "on node %llu: %s",
                         (unsigned long long)r->ctl->cfg.node_id, err);
    }
    explicit_bzero(pw, sizeof(pw));
    fo__command__init(&cmd);
    cmd.body_case = FO__COMMAND__BODY_CLUSTER_ADD;
    cmd.cluster_add = ca;
    fo_admin_propose(r, &cmd);
}

static void handle_cluster_remove(struct areq *r)
{
    Fo__ClusterRemove *cr = r->req->cluster_remove;
    struct fo_store_cluster c;
    char err[FO_ERRLEN];
    Fo__Command cmd;

    if (fo_check_name(cr->name, err) != 0) return areq_fail(r, FO_EINVAL, "cluster name: %s", err);
    if (!fo_admin_leader_or_forward(r)) return;
    if (fo_store_get_cluster(r->ctl->store, cr->name, &c) != 0)
        return areq_fail(r, FO_ENOTFOUND, "cluster '%s' is not registered", cr->name);
    fo__command__init(&cmd);
    cmd.body_case = FO__COMMAND__BODY_CLUSTER_REMOVE;
    cmd.cluster_remove = cr;
    fo_admin_propose(r, &cmd);
}

static void handle_instance_add(struct areq *r)
{
    Fo__InstanceAdd *ia = r->req->instance_add;
    struct fo_store_cluster c;
    struct fo_store_instance i;
    Fo__Command cmd;
    char err[FO_ERRLEN];
    int rc;

    if (check_instance_args(r, ia->cluster, ia->host, ia->port) != 0) return;
    if ((unsigned)ia->rule > FO__PROMOTION_RULE__RULE_MUST_NOT) return areq_fail(r, FO_EINVAL, "invalid rule");
    if (!fo_admin_leader_or_forward(r)) return;
    if (fo_store_get_cluster(r->ctl->store, ia->cluster, &c) != 0)
        return areq_fail(r, FO_ENOTFOUND, "cluster '%s' is not registered", ia->cluster);
    if (fo_store_get_instance(r->ctl->store, ia->cluster, ia->host, (uint16_t)ia->port, &i) == 0)
        return areq_fail(r, FO_EEXIST, "%s:%u is already in cluster '%s'", ia->host, ia->port, ia->cluster);
    if ((rc = fo_store_check_room(r->ctl->store, &r->ctl->cfg.limits, 0, 1, err)) != 0)
        return areq_fail(r, rc, "%s", err);
    fo__command__init(&cmd);
    cmd.body_case = FO__COMMAND__BODY_INSTANCE_ADD;
    cmd.instance_add = ia;
    fo_admin_propose(r, &cmd);
}

static void handle_instance_remove(struct areq *r)
{
    Fo__InstanceRemove *ir = r->req->instance_remove;
    struct fo_store_instance i;
    Fo__Command cmd;

    if (check_instance_args(r, ir->cluster, ir->host, ir->port) != 0) return;
    if (!fo_admin_leader_or_forward(r)) return;
    if (fo_store_get_instance(r->ctl->store, ir->cluster, ir->host, (uint16_t)ir->port, &i) != 0)
        return areq_fail(r, FO_ENOTFOUND, "%s:%u is not in cluster '%s'", ir->host, ir->port, ir->cluster);
    fo__command__init(&cmd);
    cmd.body_case = FO__COMMAND__BODY_INSTANCE_REMOVE;
    cmd.instance_remove = ir;
    fo_admin_propose(r, &cmd);
}

/* Internal: a follower's own command. Only its member note is accepted, from the node
 * its certificate binds and about that node alone (admin.h), so that no peer can
 * rewrite where another node's admin or raft address is. */
static void handle_propose(struct areq *r)
{
    Fo__Command *cmd = r->req->propose->command;
    uint64_t node;

    if (fo_admin_internal_peer(r, "proposal", cmd != NULL ? cmd->origin : 0, &node) != 0) return;
    if (cmd == NULL || cmd->body_case != FO__COMMAND__BODY_MEMBER_NOTE || cmd->member_note == NULL)
        return areq_fail(r, FO_EPERM, "only member notes may be proposed through forwarding");
    if (fo_admin_internal_peer(r, "member note", cmd->member_note->id, &node) != 0) return;
    if (!fo_raft_is_leader(&r->ctl->raft)) return areq_fail(r, FO_ENOTLEADER, "not the leader");
    fo_admin_propose(r, cmd);
}

/* ------------------------------------------------------------------ membership */

static void member_done(void *data, int status)
{
    struct areq *r = data;
    Fo__Response resp;

    if (status != 0) return areq_fail(r, status, "membership change failed: %s", fo_strerror(status));
    fo__response__init(&resp);
    areq_reply(r, &resp);
}

static void member_removed(void *data, int status)
{
    struct areq *r = data;
    char err[FO_ERRLEN];
    Fo__Command cmd;
    Fo__MemberNote note;

    if (status != 0) return member_done(r, status);
    /* Forget its addresses too, so nothing forwards to a removed node. */
    fo__member_note__init(&note);
    note.id = r->req->member_remove->id;
    note.removed = 1;
    fo__command__init(&cmd);
    cmd.body_case = FO__COMMAND__BODY_MEMBER_NOTE;
    cmd.member_note = &note;
    if (fo_ctl_propose(r->ctl, &cmd, NULL, NULL, err) != 0) FO_WARN(MOD, "member note: %s", err);
    member_done(r, 0);
}

static void handle_member(struct areq *r)
{
    struct fo_ctl *ctl = r->ctl;
    char err[FO_ERRLEN];
    int rc;

    if (!fo_admin_leader_or_forward(r)) return;
    switch (r->req->body_case) {
    case FO__REQUEST__BODY_MEMBER_ADD:
        if (r->req->member_add->id == 0) return areq_fail(r, FO_EINVAL, "member id must be > 0");
        rc = fo_raft_member_add(&ctl->raft, r->req->member_add->id, r->req->member_add->raft_address, member_done, r,
                                err);
        break;
    case FO__REQUEST__BODY_MEMBER_REMOVE:
        if (r->req->member_remove->id == ctl->cfg.node_id)
            return areq_fail(r, FO_EINVAL, "node %llu is the leader: transfer leadership first",
                             (unsigned long long)ctl->cfg.node_id);
        rc = fo_raft_member_remove(&ctl->raft, r->req->member_remove->id, member_removed, r, err);
        break;
    default: rc = fo_raft_transfer(&ctl->raft, r->req->member_transfer->id, member_done, r, err); break;
    }
    if (rc != 0) areq_fail(r, rc, "%s", err);
}

/* ------------------------------------------------------------------ dispatch */

void fo_admin_dispatch(struct areq *r)
{
    switch (r->req->body_case) {
    case FO__REQUEST__BODY_STATUS: return handle_status(r);
    case FO__REQUEST__BODY_MEMBERS: return handle_members(r);
    case FO__REQUEST__BODY_TOPOLOGY: return handle_topology(r);
    case FO__REQUEST__BODY_HISTORY: return handle_history(r);
    case FO__REQUEST__BODY_CLUSTERS: return handle_clusters(r);
    case FO__REQUEST__BODY_CLUSTER_ADD: return handle_cluster_add(r);
    case FO__REQUEST__BODY_CLUSTER_REMOVE: return handle_cluster_remove(r);
    case FO__REQUEST__BODY_INSTANCE_ADD: return handle_instance_add(r);
    case FO__REQUEST__BODY_INSTANCE_REMOVE: return handle_instance_remove(r);
    case FO__REQUEST__BODY_MEMBER_ADD:
    case FO__REQUEST__BODY_MEMBER_REMOVE:
    case FO__REQUEST__BODY_MEMBER_TRANSFER: return handle_member(r);
    case FO__REQUEST__BODY_PROPOSE: return handle_propose(r);
    case FO__REQUEST__BODY_DISCOVER: return fo_admin_discover(r);
    case FO__REQUEST__BODY_VERDICT:
    case FO__REQUEST__BODY_WHY:
    case FO__REQUEST__BODY_FAILOVER:
    case FO__REQUEST__BODY_SWITCHOVER:
    case FO__REQUEST__BODY_ACK:
    case FO__REQUEST__BODY_RECOVERIES:
    case FO__REQUEST__BODY_MAINTENANCE:
    case FO__REQUEST__BODY_PROMOTION_RULE: return fo_admin_failover_dispatch(r);
    default: return areq_fail(r, FO_EVERSION, "unknown request type");
    }
}
