/* Reads: the iterators and getters of store.h, and the loaders the command bodies use.
 *
 * Rows are copied into the fixed-size structs of store.h. apply only ever stores
 * values that fit those fields, so a value that does not fit (or a port out of range)
 * means the database was not written by this code: the read fails with FO_ESTORE
 * instead of returning a silently cut string. */
#include "store/internal.h"

#include <stdio.h>
#include <string.h>

static int col_text(sqlite3_stmt *st, int i, char *dst, size_t dstlen)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    int n = snprintf(dst, dstlen, "%s", v != NULL ? (const char *)v : "");

    return n < 0 || (size_t)n >= dstlen ? FO_ESTORE : 0;
}

static int col_port(sqlite3_stmt *st, int i, uint16_t *out)
{
    sqlite3_int64 v = sqlite3_column_int64(st, i);

    if (v < 0 || v > 65535) return FO_ESTORE;
    *out = (uint16_t)v;
    return 0;
}

static int col_enum(sqlite3_stmt *st, int i, int *out)
{
    sqlite3_int64 v = sqlite3_column_int64(st, i);

    if (v < 0 || v > 3) return FO_ESTORE;
    *out = (int)v;
    return 0;
}

/* An integer column that must lie in [min, max] (enums, small counters). */
static int col_range(sqlite3_stmt *st, int i, sqlite3_int64 min, sqlite3_int64 max, sqlite3_int64 *out)
{
    sqlite3_int64 v = sqlite3_column_int64(st, i);

    if (v < min || v > max) return FO_ESTORE;
    *out = v;
    return 0;
}

static int col_int(sqlite3_stmt *st, int i, int max, int *out)
{
    sqlite3_int64 v = 0;
    int rc = col_range(st, i, 0, max, &v);

    *out = (int)v;
    return rc;
}

static int col_unsigned(sqlite3_stmt *st, int i, unsigned max, unsigned *out)
{
    sqlite3_int64 v = 0;
    int rc = col_range(st, i, 0, max, &v);

    *out = (unsigned)v;
    return rc;
}

/* Steps st: 0 with *row set, or an FO_E* code (sqlite codes never escape). */
static int next_row(struct fo_store *s, sqlite3_stmt *st, bool *row)
{
    int rc = sqlite3_step(st);

    *row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) return 0;
    return store_sqlerr(s->db, rc, NULL, "read");
}

/* ------------------------------------------------------------ row readers */

/* "a/24,b/24" -> reader_vips[]; more than FO_MAX_READER_VIPS or an oversized entry is
 * a corrupt row (ClusterAdd validated the list). */
static int col_reader_vips(sqlite3_stmt *st, int i, struct fo_store_cluster *c)
{
    char buf[FO_MAX_READER_VIPS * FO_VIP_LEN + 1];
    char *p, *save = NULL;
    int rc = col_text(st, i, buf, sizeof(buf));

    c->n_reader_vips = 0;
    if (rc != 0) return rc;
    for (p = strtok_r(buf, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
        if (c->n_reader_vips >= FO_MAX_READER_VIPS || strlen(p) >= FO_VIP_LEN) return FO_ESTORE;
        memcpy(c->reader_vips[c->n_reader_vips++], p, strlen(p) + 1);
    }
    return 0;
}

static int read_cluster(sqlite3_stmt *st, struct fo_store_cluster *c)
{
    int rc = col_text(st, 0, c->name, sizeof(c->name));

    if (rc == 0) rc = col_text(st, 1, c->user, sizeof(c->user));
    if (rc == 0) rc = col_text(st, 2, c->password_file, sizeof(c->password_file));
    c->maintenance = sqlite3_column_int(st, 3) != 0;
    if (rc == 0) rc = col_text(st, 4, c->problems, sizeof(c->problems));
    c->epoch = (uint64_t)sqlite3_column_int64(st, 5);
    c->blocked_until_ms = (uint64_t)sqlite3_column_int64(st, 6);
    if (rc == 0) rc = col_text(st, 7, c->primary_host, sizeof(c->primary_host));
    if (rc == 0) rc = col_port(st, 8, &c->primary_port);
    if (rc == 0) rc = col_text(st, 9, c->repl_user, sizeof(c->repl_user));
    if (rc == 0) rc = col_text(st, 10, c->repl_password_file, sizeof(c->repl_password_file));
    c->semi_sync = sqlite3_column_int(st, 11) != 0;
    if (rc == 0) rc = col_unsigned(st, 12, 604800, &c->anti_flap_s);
    if (rc == 0) rc = col_unsigned(st, 13, 86400, &c->max_lag_s);
    if (rc == 0) rc = col_text(st, 14, c->vip, sizeof(c->vip));
    if (rc == 0) rc = col_text(st, 15, c->vip_interface, sizeof(c->vip_interface));
    if (rc == 0) rc = col_port(st, 16, &c->agent_port);
    if (rc == 0) rc = col_unsigned(st, 17, 60000, &c->vip_lease_ms);
    if (rc == 0) rc = col_text(st, 18, c->vip_host, sizeof(c->vip_host));
    if (rc == 0) rc = col_port(st, 19, &c->vip_port);
    c->vip_epoch = (uint64_t)sqlite3_column_int64(st, 20);
    if (rc == 0) rc = col_reader_vips(st, 21, c);
    if (rc == 0) rc = col_unsigned(st, 22, 86400, &c->reader_max_lag_s);
    if (rc == 0) rc = col_text(st, 23, c->co_primaries, sizeof(c->co_primaries));
    if (rc == 0) rc = col_unsigned(st, 24, FO_REDISCOVER_MAX_S, &c->rediscover_interval_s);
    c->adopt_replicas = sqlite3_column_int(st, 25) != 0;
    return rc;
}

static int read_instance(sqlite3_stmt *st, struct fo_store_instance *i)
{
    int rc = col_text(st, 0, i->cluster, sizeof(i->cluster));

    if (rc == 0) rc = col_text(st, 1, i->host, sizeof(i->host));
    if (rc == 0) rc = col_port(st, 2, &i->port);
    if (rc == 0) rc = col_enum(st, 3, &i->rule);
    if (rc == 0) rc = col_enum(st, 4, &i->health);
    if (rc == 0) rc = col_enum(st, 5, &i->role);
    if (rc == 0) rc = col_text(st, 6, i->source_host, sizeof(i->source_host));
    if (rc == 0) rc = col_port(st, 7, &i->source_port);
    if (rc == 0) rc = col_text(st, 8, i->problem, sizeof(i->problem));
    if (rc == 0) rc = col_text(st, 9, i->last_error, sizeof(i->last_error));
    i->server_id = (uint64_t)sqlite3_column_int64(st, 10);
    i->read_only = sqlite3_column_int(st, 11) != 0;
    i->maintenance = sqlite3_column_int(st, 12) != 0;
    i->quarantined = sqlite3_column_int(st, 13) != 0;
    if (rc == 0) rc = col_text(st, 14, i->quarantine_reason, sizeof(i->quarantine_reason));
    return rc;
}

static int read_member(sqlite3_stmt *st, struct fo_store_member *m)
{
    int rc = col_text(st, 1, m->raft_address, sizeof(m->raft_address));

    m->id = (uint64_t)sqlite3_column_int64(st, 0);
    if (rc == 0) rc = col_text(st, 2, m->admin_address, sizeof(m->admin_address));
    if (rc == 0) rc = col_text(st, 3, m->http_address, sizeof(m->http_address));
    return rc;
}

static int read_event(sqlite3_stmt *st, struct fo_store_event *e)
{
    int rc = col_text(st, 2, e->cluster, sizeof(e->cluster));

    e->seq = (uint64_t)sqlite3_column_int64(st, 0);
    e->wall_ms = (uint64_t)sqlite3_column_int64(st, 1);
    if (rc == 0) rc = col_text(st, 3, e->instance, sizeof(e->instance));
    if (rc == 0) rc = col_text(st, 4, e->kind, sizeof(e->kind));
    if (rc == 0) rc = col_text(st, 5, e->detail, sizeof(e->detail));
    return rc;
}

static int read_failover(sqlite3_stmt *st, struct fo_store_failover *f)
{
    sqlite3_int64 total = 0;
    int rc = col_text(st, 0, f->cluster, sizeof(f->cluster));

    f->epoch = (uint64_t)sqlite3_column_int64(st, 1);
    if (rc == 0) rc = col_int(st, 2, FO__FAILOVER_KIND__KIND_SWITCHOVER, &f->kind);
    if (rc == 0) rc = col_text(st, 3, f->old_host, sizeof(f->old_host));
    if (rc == 0) rc = col_port(st, 4, &f->old_port);
    if (rc == 0) rc = col_text(st, 5, f->new_host, sizeof(f->new_host));
    if (rc == 0) rc = col_port(st, 6, &f->new_port);
    if (rc == 0) rc = col_text(st, 7, f->target_host, sizeof(f->target_host));
    if (rc == 0) rc = col_port(st, 8, &f->target_port);
    if (rc == 0) rc = col_text(st, 9, f->reason, sizeof(f->reason));
    if (rc == 0) rc = col_text(st, 10, f->confirmations, sizeof(f->confirmations));
    f->started_ms = (uint64_t)sqlite3_column_int64(st, 11);
    f->ended_ms = (uint64_t)sqlite3_column_int64(st, 12);
    if (rc == 0) rc = col_int(st, 13, FO__FAILOVER_STEP__STEP_VIP, &f->last_step);
    if (rc == 0) rc = col_int(st, 14, FO__FAILOVER_RESULT__RESULT_ABORTED, &f->result);
    if (rc == 0) rc = col_text(st, 15, f->detail, sizeof(f->detail));
    if (rc == 0) rc = col_text(st, 16, f->steps, sizeof(f->steps));
    if (rc == 0) rc = col_range(st, 17, 0, UINT32_MAX, &total);
    f->total_ms = (uint32_t)total;
    return rc;
}

static int read_decision(sqlite3_stmt *st, struct fo_store_decision *d)
{
    int rc = col_text(st, 2, d->cluster, sizeof(d->cluster));

    d->seq = (uint64_t)sqlite3_column_int64(st, 0);
    d->wall_ms = (uint64_t)sqlite3_column_int64(st, 1);
    if (rc == 0) rc = col_text(st, 3, d->instance, sizeof(d->instance));
    if (rc == 0) rc = col_text(st, 4, d->verdict, sizeof(d->verdict));
    if (rc == 0) rc = col_text(st, 5, d->reason, sizeof(d->reason));
    if (rc == 0) rc = col_text(st, 6, d->detail, sizeof(d->detail));
    return rc;
}

/* ------------------------------------------------------------ iterators */

static int each_cluster(struct fo_store *s, enum store_stmt_id id, fo_store_cluster_cb cb, void *data)
{
    struct fo_store_cluster c;
    sqlite3_stmt *st;
    bool row;
    int rc = store_stmt_get(s, id, &st, NULL);

    if (rc != 0) return rc;
    while ((rc = next_row(s, st, &row)) == 0 && row) {
        rc = read_cluster(st, &c);
        if (rc == 0) rc = cb(data, &c);
        if (rc != 0) break;
    }
    store_stmt_put(s, id, st);
    return rc;
}

int fo_store_each_cluster(struct fo_store *s, fo_store_cluster_cb cb, void *data)
{
    return each_cluster(s, ST_CLUSTER_EACH, cb, data);
}

int fo_store_each_vip_cluster(struct fo_store *s, fo_store_cluster_cb cb, void *data)
{
    return each_cluster(s, ST_CLUSTER_EACH_VIP, cb, data);
}

int fo_store_each_rediscover_cluster(struct fo_store *s, fo_store_cluster_cb cb, void *data)
{
    return each_cluster(s, ST_CLUSTER_EACH_REDISCOVER, cb, data);
}

int fo_store_each_instance(struct fo_store *s, const char *cluster, fo_store_instance_cb cb, void *data)
{
    enum store_stmt_id id = cluster != NULL ? ST_INSTANCE_EACH_IN : ST_INSTANCE_EACH;
    struct fo_store_instance i;
    sqlite3_stmt *st;
    bool row;
    int rc = store_stmt_get(s, id, &st, NULL);

    if (rc != 0) return rc;
    if (cluster != NULL && store_bind_text(st, 1, cluster) != SQLITE_OK) rc = FO_ESTORE;
    while (rc == 0 && (rc = next_row(s, st, &row)) == 0 && row) {
        rc = read_instance(st, &i);
        if (rc == 0) rc = cb(data, &i);
    }
    store_stmt_put(s, id, st);
    return rc;
}

int fo_store_each_member(struct fo_store *s, fo_store_member_cb cb, void *data)
{
    struct fo_store_member m;
    sqlite3_stmt *st;
    bool row;
    int rc = store_stmt_get(s, ST_MEMBER_EACH, &st, NULL);

    if (rc != 0) return rc;
    while ((rc = next_row(s, st, &row)) == 0 && row) {
        rc = read_member(st, &m);
        if (rc == 0) rc = cb(data, &m);
        if (rc != 0) break;
    }
    store_stmt_put(s, ST_MEMBER_EACH, st);
    return rc;
}

static int bind_history_filter(sqlite3_stmt *st, const char *cluster, unsigned limit)
{
    int rc = SQLITE_OK;
    int n = 1;

    if (cluster != NULL) rc = store_bind_text(st, n++, cluster);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, n, limit);
    return rc;
}

int fo_store_each_event(struct fo_store *s, const char *cluster, unsigned limit, fo_store_event_cb cb, void *data)
{
    enum store_stmt_id id = cluster != NULL ? ST_EVENT_EACH_IN : ST_EVENT_EACH;
    struct fo_store_event e;
    sqlite3_stmt *st;
    bool row;
    int rc = store_stmt_get(s, id, &st, NULL);

    if (rc != 0) return rc;
    if (bind_history_filter(st, cluster, limit) != SQLITE_OK) rc = FO_ESTORE;
    while (rc == 0 && (rc = next_row(s, st, &row)) == 0 && row) {
        rc = read_event(st, &e);
        if (rc == 0) rc = cb(data, &e);
    }
    store_stmt_put(s, id, st);
    return rc;
}

int fo_store_each_failover(struct fo_store *s, const char *cluster, unsigned limit, fo_store_failover_cb cb, void *data)
{
    enum store_stmt_id id = cluster != NULL ? ST_FAILOVER_EACH_IN : ST_FAILOVER_EACH;
    struct fo_store_failover f;
    sqlite3_stmt *st;
    bool row;
    int rc = store_stmt_get(s, id, &st, NULL);

    if (rc != 0) return rc;
    if (bind_history_filter(st, cluster, limit) != SQLITE_OK) rc = FO_ESTORE;
    while (rc == 0 && (rc = next_row(s, st, &row)) == 0 && row) {
        rc = read_failover(st, &f);
        if (rc == 0) rc = cb(data, &f);
    }
    store_stmt_put(s, id, st);
    return rc;
}

int fo_store_each_running_failover(struct fo_store *s, fo_store_failover_cb cb, void *data)
{
    struct fo_store_failover f;
    sqlite3_stmt *st;
    bool row;
    int rc = store_stmt_get(s, ST_FAILOVER_EACH_RUNNING, &st, NULL);

    if (rc != 0) return rc;
    while ((rc = next_row(s, st, &row)) == 0 && row) {
        rc = read_failover(st, &f);
        if (rc == 0) rc = cb(data, &f);
        if (rc != 0) break;
    }
    store_stmt_put(s, ST_FAILOVER_EACH_RUNNING, st);
    return rc;
}

int fo_store_each_decision(struct fo_store *s, const char *cluster, unsigned limit, fo_store_decision_cb cb, void *data)
{
    enum store_stmt_id id = cluster != NULL ? ST_DECISION_EACH_IN : ST_DECISION_EACH;
    struct fo_store_decision d;
    sqlite3_stmt *st;
    bool row;
    int rc = store_stmt_get(s, id, &st, NULL);

    if (rc != 0) return rc;
    if (bind_history_filter(st, cluster, limit) != SQLITE_OK) rc = FO_ESTORE;
    while (rc == 0 && (rc = next_row(s, st, &row)) == 0 && row) {
        rc = read_decision(st, &d);
        if (rc == 0) rc = cb(data, &d);
    }
    store_stmt_put(s, id, st);
    return rc;
}

/* ------------------------------------------------------------ getters */

int fo_store_get_cluster(struct fo_store *s, const char *name, struct fo_store_cluster *out)
{
    sqlite3_stmt *st;
    bool row = false;
    int rc = store_stmt_get(s, ST_CLUSTER_GET, &st, NULL);

    if (rc != 0) return rc;
    if (store_bind_text(st, 1, name) != SQLITE_OK) rc = FO_ESTORE;
    if (rc == 0) rc = next_row(s, st, &row);
    if (rc == 0) rc = row ? read_cluster(st, out) : FO_ENOTFOUND;
    store_stmt_put(s, ST_CLUSTER_GET, st);
    return rc;
}

int fo_store_get_reader_holder(struct fo_store *s, const char *cluster, const char *vip, char *host, uint16_t *port,
                               uint64_t *epoch)
{
    sqlite3_stmt *st;
    bool row = false;
    int rc = store_stmt_get(s, ST_READER_HOLDER_GET, &st, NULL);

    host[0] = '\0';
    *port = 0;
    *epoch = 0;
    if (rc != 0) return rc;
    if (store_bind_text(st, 1, cluster) != SQLITE_OK || store_bind_text(st, 2, vip) != SQLITE_OK) rc = FO_ESTORE;
    if (rc == 0) rc = next_row(s, st, &row);
    if (rc == 0 && row) {
        rc = col_text(st, 0, host, FO_HOST_LEN);
        if (rc == 0) rc = col_port(st, 1, port);
        *epoch = (uint64_t)sqlite3_column_int64(st, 2);
    }
    store_stmt_put(s, ST_READER_HOLDER_GET, st);
    return rc;
}

int fo_store_get_instance(struct fo_store *s, const char *cluster, const char *host, uint16_t port,
                          struct fo_store_instance *out)
{
    sqlite3_stmt *st;
    bool row = false;
    int rc = store_stmt_get(s, ST_INSTANCE_GET, &st, NULL);

    if (rc != 0) return rc;
    if (store_bind_key(st, cluster, host, port) != SQLITE_OK) rc = FO_ESTORE;
    if (rc == 0) rc = next_row(s, st, &row);
    if (rc == 0) rc = row ? read_instance(st, out) : FO_ENOTFOUND;
    store_stmt_put(s, ST_INSTANCE_GET, st);
    return rc;
}

int fo_store_get_member(struct fo_store *s, uint64_t id, struct fo_store_member *out)
{
    sqlite3_stmt *st;
    bool row = false;
    int rc = store_stmt_get(s, ST_MEMBER_GET, &st, NULL);

    if (rc != 0) return rc;
    if (sqlite3_bind_int64(st, 1, (sqlite3_int64)id) != SQLITE_OK) rc = FO_ESTORE;
    if (rc == 0) rc = next_row(s, st, &row);
    if (rc == 0) rc = row ? read_member(st, out) : FO_ENOTFOUND;
    store_stmt_put(s, ST_MEMBER_GET, st);
    return rc;
}

int fo_store_get_running_failover(struct fo_store *s, const char *cluster, struct fo_store_failover *out)
{
    sqlite3_stmt *st;
    bool row = false;
    int rc = store_stmt_get(s, ST_FAILOVER_RUNNING, &st, NULL);

    if (rc != 0) return rc;
    if (store_bind_text(st, 1, cluster) != SQLITE_OK) rc = FO_ESTORE;
    if (rc == 0) rc = next_row(s, st, &row);
    if (rc == 0) rc = row ? read_failover(st, out) : FO_ENOTFOUND;
    store_stmt_put(s, ST_FAILOVER_RUNNING, st);
    return rc;
}

static int get_failover(struct fo_store *s, const char *cluster, uint64_t epoch, struct fo_store_failover *out)
{
    sqlite3_stmt *st;
    bool row = false;
    int rc = store_stmt_get(s, ST_FAILOVER_GET, &st, NULL);

    if (rc != 0) return rc;
    if (store_bind_text(st, 1, cluster) != SQLITE_OK || sqlite3_bind_int64(st, 2, (sqlite3_int64)epoch) != SQLITE_OK)
        rc = FO_ESTORE;
    if (rc == 0) rc = next_row(s, st, &row);
    if (rc == 0) rc = row ? read_failover(st, out) : FO_ENOTFOUND;
    store_stmt_put(s, ST_FAILOVER_GET, st);
    return rc;
}

/* Absent means enabled (the default of a new store). A store that cannot be read
 * answers "disabled": automatic failover must not act on state it cannot see. */
bool fo_store_recoveries_enabled(struct fo_store *s)
{
    sqlite3_stmt *st;
    bool row = false, on = false;
    int rc = store_stmt_get(s, ST_SETTING_GET, &st, NULL);

    if (rc != 0) return false;
    if (store_bind_text(st, 1, STORE_SETTING_RECOVERIES) != SQLITE_OK) rc = FO_ESTORE;
    if (rc == 0) rc = next_row(s, st, &row);
    if (rc == 0 && row) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        on = v != NULL && strcmp((const char *)v, "0") != 0;
    } else if (rc == 0) {
        on = true;
    }
    store_stmt_put(s, ST_SETTING_GET, st);
    return on;
}

int fo_store_schema_version(struct fo_store *s)
{
    int version;

    return store_schema_read_version(s->db, &version, NULL) == 0 ? version : -1;
}

/* ------------------------------------------------------------ for command bodies */

int store_cluster_load(struct fo_store *s, const char *name, struct fo_store_cluster *out, char err[FO_ERRLEN])
{
    int rc = fo_store_get_cluster(s, name, out);

    if (rc == FO_ENOTFOUND) return fo_errf(err, rc, "cluster '%s' not found", name);
    if (rc != 0) return fo_errf(err, rc, "read cluster '%s': %s", name, fo_strerror(rc));
    return 0;
}

int store_instance_load(struct fo_store *s, const char *cluster, const char *host, uint32_t port,
                        struct fo_store_instance *out, char err[FO_ERRLEN])
{
    int rc = fo_store_get_instance(s, cluster, host, (uint16_t)port, out);

    if (rc == FO_ENOTFOUND) return fo_errf(err, rc, "instance %s/%s:%u not found", cluster, host, port);
    if (rc != 0) return fo_errf(err, rc, "read instance %s/%s:%u: %s", cluster, host, port, fo_strerror(rc));
    return 0;
}

int store_failover_load(struct fo_store *s, const char *cluster, uint64_t epoch, struct fo_store_failover *out,
                        char err[FO_ERRLEN])
{
    int rc = get_failover(s, cluster, epoch, out);

    if (rc == FO_ENOTFOUND)
        return fo_errf(err, rc, "cluster '%s' has no failover with epoch %llu", cluster, (unsigned long long)epoch);
    if (rc != 0)
        return fo_errf(err, rc, "read failover %s/%llu: %s", cluster, (unsigned long long)epoch, fo_strerror(rc));
    return 0;
}

int store_count(struct fo_store *s, enum store_stmt_id id, const char *param, int64_t *out, char err[FO_ERRLEN])
{
    sqlite3_stmt *st;
    bool row = false;
    int rc = store_stmt_get(s, id, &st, err);

    if (rc != 0) return rc;
    if (param != NULL && store_bind_text(st, 1, param) != SQLITE_OK) rc = fo_errf(err, FO_ESTORE, "bind");
    if (rc == 0) rc = next_row(s, st, &row);
    if (rc == 0 && !row) rc = fo_errf(err, FO_ESTORE, "count returned no row");
    if (rc == 0) *out = sqlite3_column_int64(st, 0);
    store_stmt_put(s, id, st);
    return rc;
}

/* count(*) over a whole table; the table name is one of ours, never input. */
static int count_rows(struct fo_store *s, const char *sql, int64_t *out, char err[FO_ERRLEN])
{
    sqlite3_stmt *st;
    bool row = false;
    int rc;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fo_errf(err, FO_ESTORE, "count: %s", sqlite3_errmsg(s->db));
    rc = next_row(s, st, &row);
    if (rc == 0 && !row) rc = FO_ESTORE;
    if (rc == 0) *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc != 0 ? fo_errf(err, rc, "count: %s", sqlite3_errmsg(s->db)) : 0;
}

int fo_store_check_room(struct fo_store *s, const struct fo_limits_cfg *l, unsigned add_clusters, unsigned add_servers,
                        char err[FO_ERRLEN])
{
    int64_t n = 0;
    int rc;

    if (add_clusters > 0) {
        if ((rc = count_rows(s, "SELECT count(*) FROM clusters", &n, err)) != 0) return rc;
        if (n + add_clusters > l->max_clusters)
            return fo_errf(err, FO_EINVAL, "%lld clusters are registered, [limits] max_clusters is %u", (long long)n,
                           l->max_clusters);
    }
    if (add_servers > 0) {
        if ((rc = count_rows(s, "SELECT count(*) FROM instances", &n, err)) != 0) return rc;
        if (n + add_servers > l->max_servers)
            return fo_errf(err, FO_EINVAL, "%lld servers are registered, [limits] max_servers is %u", (long long)n,
                           l->max_servers);
    }
    return 0;
}
