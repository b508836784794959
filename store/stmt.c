/* The prepared-statement cache and the small sqlite helpers the rest of store/ uses.
 *
 * Statements are prepared on first use rather than at open so that a restore (which
 * finalizes them all before overwriting the database) only has to drop the cache. */
#include "store/internal.h"

#include <stdio.h>

static const char *const stmt_sql[ST__COUNT] = {
#define STORE_STMT_SQL(id, sql) [id] = sql,
    STORE_STMTS(STORE_STMT_SQL)
#undef STORE_STMT_SQL
};

int store_sqlerr(sqlite3 *db, int rc, char err[FO_ERRLEN], const char *what)
{
    int code = (rc & 0xff) == SQLITE_NOMEM ? FO_ENOMEM : FO_ESTORE;

    return fo_errf(err, code, "%s: %s", what, db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static int prepare(sqlite3 *db, enum store_stmt_id id, sqlite3_stmt **out, char err[FO_ERRLEN])
{
    int rc = sqlite3_prepare_v2(db, stmt_sql[id], -1, out, NULL);

    if (rc != SQLITE_OK) {
        *out = NULL;
        return store_sqlerr(db, rc, err, "prepare");
    }
    return 0;
}

int store_stmt_get(struct fo_store *s, enum store_stmt_id id, sqlite3_stmt **out, char err[FO_ERRLEN])
{
    int rc;

    /* Re-entrant use (a callback reading while its caller iterates the same
     * statement) must not reset the caller's cursor: hand out a private copy. */
    if (s->lent[id]) return prepare(s->db, id, out, err);
    if (s->stmts[id] == NULL) {
        rc = prepare(s->db, id, &s->stmts[id], err);
        if (rc != 0) return rc;
    }
    s->lent[id] = true;
    *out = s->stmts[id];
    return 0;
}

void store_stmt_put(struct fo_store *s, enum store_stmt_id id, sqlite3_stmt *st)
{
    if (st == NULL) return;
    if (st != s->stmts[id]) {
        sqlite3_finalize(st);
        return;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    s->lent[id] = false;
}

bool store_stmt_any_lent(const struct fo_store *s)
{
    unsigned i;

    for (i = 0; i < ST__COUNT; i++)
        if (s->lent[i]) return true;
    return false;
}

void store_stmt_finalize_all(struct fo_store *s)
{
    unsigned i;

    for (i = 0; i < ST__COUNT; i++) {
        sqlite3_finalize(s->stmts[i]);
        s->stmts[i] = NULL;
        s->lent[i] = false;
    }
}

int store_stmt_check_all(sqlite3 *db, char err[FO_ERRLEN])
{
    sqlite3_stmt *st;
    unsigned i;
    int rc;

    for (i = 0; i < ST__COUNT; i++) {
        rc = sqlite3_prepare_v2(db, stmt_sql[i], -1, &st, NULL);
        if (rc != SQLITE_OK) return fo_errf(err, FO_EINVAL, "schema does not fit this build: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
    }
    return 0;
}

int store_stmt_run(struct fo_store *s, enum store_stmt_id id, sqlite3_stmt *st, int bind_rc, char err[FO_ERRLEN])
{
    int rc = bind_rc == SQLITE_OK ? sqlite3_step(st) : bind_rc;
    int ret = 0;

    if (rc != SQLITE_DONE) ret = store_sqlerr(s->db, rc, err, stmt_sql[id]);
    store_stmt_put(s, id, st);
    return ret;
}

int store_exec(struct fo_store *s, enum store_stmt_id id, char err[FO_ERRLEN])
{
    sqlite3_stmt *st;
    int rc = store_stmt_get(s, id, &st, err);

    if (rc != 0) return rc;
    return store_stmt_run(s, id, st, SQLITE_OK, err);
}

int store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return sqlite3_bind_text(st, i, v != NULL ? v : "", -1, SQLITE_STATIC);
}

int store_bind_key(sqlite3_stmt *st, const char *cluster, const char *host, uint32_t port)
{
    int rc = store_bind_text(st, 1, cluster);

    if (rc == SQLITE_OK) rc = store_bind_text(st, 2, host);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, port);
    return rc;
}
