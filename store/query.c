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

/* Steps st: 0 with *row set, or an FO_E* code (sqlite codes never escape). */
static int next_row(struct fo_store *s, sqlite3_stmt *st, bool *row)
{
    int rc = sqlite3_step(st);

    *row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) return 0;
    return store_sqlerr(s->db, rc, NULL, "read");
}

/* ------------------------------------------------------------ row readers */

static int read_cluster(sqlite3_stmt *st, struct fo_store_cluster *c)
{
    int rc = col_text(st, 0, c->name, sizeof(c->name));

    if (rc == 0) rc = col_text(st, 1, c->user, sizeof(c->user));
    if (rc == 0) rc = col_text(st, 2, c->password_file, sizeof(c->password_file));
    c->maintenance = sqlite3_column_int(st, 3) != 0;
    if (rc == 0) rc = col_text(st, 4, c->problems, sizeof(c->problems));
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

/* ------------------------------------------------------------ iterators */

int fo_store_each_cluster(struct fo_store *s, fo_store_cluster_cb cb, void *data)
{
    struct fo_store_cluster c;
    sqlite3_stmt *st;
    bool row;
    int rc = store_stmt_get(s, ST_CLUSTER_EACH, &st, NULL);

    if (rc != 0) return rc;
    while ((rc = next_row(s, st, &row)) == 0 && row) {
        rc = read_cluster(st, &c);
        if (rc == 0) rc = cb(data, &c);
        if (rc != 0) break;
    }
    store_stmt_put(s, ST_CLUSTER_EACH, st);
    return rc;
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

static int bind_event_filter(sqlite3_stmt *st, const char *cluster, unsigned limit)
{
    int rc = SQLITE_OK;
    int n = 1;

    if (cluster != NULL) rc = store_bind_text(st, n++, cluster);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, n, limit);
    return rc;
}

int fo_store_each_event(struct fo_store *s, const char *cluster, unsigned limit, fo_store_event_cb cb,
                        void *data)
{
    enum store_stmt_id id = cluster != NULL ? ST_EVENT_EACH_IN : ST_EVENT_EACH;
    struct fo_store_event e;
    sqlite3_stmt *st;
    bool row;
    int rc = store_stmt_get(s, id, &st, NULL);

    if (rc != 0) return rc;
    if (bind_event_filter(st, cluster, limit) != SQLITE_OK) rc = FO_ESTORE;
    while (rc == 0 && (rc = next_row(s, st, &row)) == 0 && row) {
        rc = read_event(st, &e);
        if (rc == 0) rc = cb(data, &e);
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

int store_cluster_load(struct fo_store *s, const char *name, struct fo_store_cluster *out,
                       char err[FO_ERRLEN])
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

int store_count(struct fo_store *s, enum store_stmt_id id, const char *param, int64_t *out,
                char err[FO_ERRLEN])
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
