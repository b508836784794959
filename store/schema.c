/* The store's schema and its migrations.
 *
 * schema_version holds one row with the number of the last migration applied. A
 * migration is appended to the array below, never edited once released: a node that
 * restores an older snapshot replays the missing ones, so every node converges on the
 * same tables whatever version its snapshot came from. */
#include "store/internal.h"

#include <stdio.h>

struct migration {
    int version;
    const char *sql;
};

/* Version 1: everything. The CHECK constraints repeat apply's validation so that a
 * bug in a command body cannot store a value the readers would misinterpret. Events
 * carry no foreign key: history outlives the cluster it talks about. */
static const char migration_1[] = "CREATE TABLE schema_version ("
                                  "  id INTEGER PRIMARY KEY CHECK (id = 1),"
                                  "  version INTEGER NOT NULL);"
                                  "CREATE TABLE clusters ("
                                  "  name TEXT NOT NULL PRIMARY KEY,"
                                  "  user TEXT NOT NULL,"
                                  "  password_file TEXT NOT NULL,"
                                  "  maintenance INTEGER NOT NULL DEFAULT 0 CHECK (maintenance IN (0, 1)),"
                                  "  problems TEXT NOT NULL DEFAULT ''"
                                  ") WITHOUT ROWID;"
                                  "CREATE TABLE instances ("
                                  "  cluster TEXT NOT NULL REFERENCES clusters (name),"
                                  "  host TEXT NOT NULL,"
                                  "  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
                                  "  rule INTEGER NOT NULL DEFAULT 0 CHECK (rule BETWEEN 0 AND 3),"
                                  "  health INTEGER NOT NULL DEFAULT 0 CHECK (health BETWEEN 0 AND 3),"
                                  "  role INTEGER NOT NULL DEFAULT 0 CHECK (role BETWEEN 0 AND 3),"
                                  "  source_host TEXT NOT NULL DEFAULT '',"
                                  "  source_port INTEGER NOT NULL DEFAULT 0 CHECK (source_port BETWEEN 0 AND 65535),"
                                  "  problem TEXT NOT NULL DEFAULT '',"
                                  "  last_error TEXT NOT NULL DEFAULT '',"
                                  "  server_id INTEGER NOT NULL DEFAULT 0,"
                                  "  read_only INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1)),"
                                  "  maintenance INTEGER NOT NULL DEFAULT 0 CHECK (maintenance IN (0, 1)),"
                                  "  PRIMARY KEY (cluster, host, port)"
                                  ") WITHOUT ROWID;"
                                  "CREATE TABLE members ("
                                  "  id INTEGER PRIMARY KEY,"
                                  "  raft_address TEXT NOT NULL,"
                                  "  admin_address TEXT NOT NULL,"
                                  "  http_address TEXT NOT NULL DEFAULT '');"
                                  "CREATE TABLE settings ("
                                  "  key TEXT NOT NULL PRIMARY KEY,"
                                  "  value TEXT NOT NULL"
                                  ") WITHOUT ROWID;"
                                  /* seq is the rowid: sqlite picks max(seq) + 1, a function of the table alone, so
     * it is the same on every node; pruning only removes the oldest rows, so seq
     * never goes backwards. */
                                  "CREATE TABLE events ("
                                  "  seq INTEGER PRIMARY KEY,"
                                  "  wall_ms INTEGER NOT NULL,"
                                  "  cluster TEXT NOT NULL DEFAULT '',"
                                  "  instance TEXT NOT NULL DEFAULT '',"
                                  "  kind TEXT NOT NULL,"
                                  "  detail TEXT NOT NULL DEFAULT '');"
                                  "CREATE INDEX events_by_cluster ON events (cluster, seq);"
                                  "INSERT INTO settings (key, value) VALUES ('" STORE_SETTING_RECOVERIES "', '1');";

/* Version 2: failover state (DESIGN.md §6). Columns are added, never redefined, so a
 * version-1 image (an old snapshot) migrates in place; every new column has a default
 * that means "absent / old behaviour", like the proto fields they come from.
 *
 * failovers and decisions are history, like events: no foreign key, they outlive
 * their cluster. A failover's epoch is unique per cluster name for ever (a cluster
 * removed and added again continues from its highest epoch), hence the primary key.
 * Failovers are rare and never pruned; decisions are pruned like events. */
static const char migration_2[] =
    "ALTER TABLE clusters ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0 CHECK (epoch >= 0);"
    "ALTER TABLE clusters ADD COLUMN blocked_until_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE clusters ADD COLUMN primary_host TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE clusters ADD COLUMN primary_port INTEGER NOT NULL DEFAULT 0"
    "  CHECK (primary_port BETWEEN 0 AND 65535);"
    "ALTER TABLE clusters ADD COLUMN repl_user TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE clusters ADD COLUMN repl_password_file TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE clusters ADD COLUMN semi_sync INTEGER NOT NULL DEFAULT 0 CHECK (semi_sync IN (0, 1));"
    "ALTER TABLE clusters ADD COLUMN anti_flap_s INTEGER NOT NULL DEFAULT 0"
    "  CHECK (anti_flap_s BETWEEN 0 AND 604800);"
    "ALTER TABLE clusters ADD COLUMN max_lag_s INTEGER NOT NULL DEFAULT 0"
    "  CHECK (max_lag_s BETWEEN 0 AND 86400);"
    "ALTER TABLE instances ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0"
    "  CHECK (quarantined IN (0, 1));"
    "ALTER TABLE instances ADD COLUMN quarantine_reason TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE failovers ("
    "  cluster TEXT NOT NULL,"
    "  epoch INTEGER NOT NULL CHECK (epoch >= 1),"
    "  kind INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 2),"
    "  old_host TEXT NOT NULL,"
    "  old_port INTEGER NOT NULL CHECK (old_port BETWEEN 1 AND 65535),"
    "  new_host TEXT NOT NULL DEFAULT '',"
    "  new_port INTEGER NOT NULL DEFAULT 0 CHECK (new_port BETWEEN 0 AND 65535),"
    "  target_host TEXT NOT NULL DEFAULT '',"
    "  target_port INTEGER NOT NULL DEFAULT 0 CHECK (target_port BETWEEN 0 AND 65535),"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  confirmations TEXT NOT NULL DEFAULT '',"
    "  started_ms INTEGER NOT NULL,"
    "  ended_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_step INTEGER NOT NULL DEFAULT 0 CHECK (last_step BETWEEN 0 AND 6),"
    "  result INTEGER NOT NULL DEFAULT 0 CHECK (result BETWEEN 0 AND 3),"
    "  detail TEXT NOT NULL DEFAULT '',"
    "  steps TEXT NOT NULL DEFAULT '',"
    "  total_ms INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (cluster, epoch)"
    ") WITHOUT ROWID;"
    /* At most one running failover per cluster, enforced by the table as well. */
    "CREATE UNIQUE INDEX failovers_running ON failovers (cluster) WHERE result = 0;"
    "CREATE TABLE decisions ("
    "  seq INTEGER PRIMARY KEY,"
    "  wall_ms INTEGER NOT NULL,"
    "  cluster TEXT NOT NULL,"
    "  instance TEXT NOT NULL DEFAULT '',"
    "  verdict TEXT NOT NULL,"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX decisions_by_cluster ON decisions (cluster, seq);";

/* Version 3: the writer VIP (issue 4): its settings, from ClusterAdd, and who holds it
 * (VipHolder). */
static const char migration_3[] =
    "ALTER TABLE clusters ADD COLUMN vip TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE clusters ADD COLUMN vip_interface TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE clusters ADD COLUMN agent_port INTEGER NOT NULL DEFAULT 0"
    "  CHECK (agent_port BETWEEN 0 AND 65535);"
    "ALTER TABLE clusters ADD COLUMN vip_lease_ms INTEGER NOT NULL DEFAULT 0"
    "  CHECK (vip_lease_ms BETWEEN 0 AND 60000);"
    "ALTER TABLE clusters ADD COLUMN vip_host TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE clusters ADD COLUMN vip_port INTEGER NOT NULL DEFAULT 0"
    "  CHECK (vip_port BETWEEN 0 AND 65535);"
    "ALTER TABLE clusters ADD COLUMN vip_epoch INTEGER NOT NULL DEFAULT 0 CHECK (vip_epoch >= 0);";

/* Version 4: reader VIPs (issue 4, MMM style): the list on the cluster, and one holder
 * row per reader VIP (the writer VIP's holder stays on the clusters row). */
static const char migration_4[] = "ALTER TABLE clusters ADD COLUMN reader_vips TEXT NOT NULL DEFAULT '';"
                                  "ALTER TABLE clusters ADD COLUMN reader_max_lag_s INTEGER NOT NULL DEFAULT 0"
                                  "  CHECK (reader_max_lag_s BETWEEN 0 AND 86400);"
                                  "CREATE TABLE vip_holders ("
                                  "  cluster TEXT NOT NULL,"
                                  "  vip TEXT NOT NULL,"
                                  "  host TEXT NOT NULL,"
                                  "  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
                                  "  epoch INTEGER NOT NULL CHECK (epoch >= 0),"
                                  "  PRIMARY KEY (cluster, vip)"
                                  ") WITHOUT ROWID;";

/* Version 5: co-primary mode and periodic rediscovery (issue 14), from ClusterAdd.
 * The defaults mean "off", so a cluster from an older snapshot keeps its behaviour. */
static const char migration_5[] =
    "ALTER TABLE clusters ADD COLUMN co_primaries TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE clusters ADD COLUMN rediscover_interval_s INTEGER NOT NULL DEFAULT 0"
    "  CHECK (rediscover_interval_s BETWEEN 0 AND 86400);"
    "ALTER TABLE clusters ADD COLUMN adopt_replicas INTEGER NOT NULL DEFAULT 0 CHECK (adopt_replicas IN (0, 1));";

static const struct migration migrations[] = {
    {1, migration_1}, {2, migration_2}, {3, migration_3}, {4, migration_4}, {5, migration_5},
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

const struct store_table store_tables[] = {
    {"schema_version", "id"},
    {"clusters", "name"},
    {"instances", "cluster, host, port"},
    {"members", "id"},
    {"settings", "key"},
    {"events", "seq"},
    {"failovers", "cluster, epoch"},
    {"decisions", "seq"},
    {"vip_holders", "cluster, vip"},
};
const unsigned store_n_tables = sizeof(store_tables) / sizeof(store_tables[0]);

int store_schema_latest(void)
{
    return migrations[N_MIGRATIONS - 1].version;
}

static int table_exists(sqlite3 *db, const char *name, bool *out, char err[FO_ERRLEN])
{
    static const char sql[] = "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1";
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK) return store_sqlerr(db, rc, err, "read schema");
    rc = store_bind_text(st, 1, name);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        rc = store_sqlerr(db, rc, err, "read schema");
    else
        rc = 0;
    sqlite3_finalize(st);
    return rc;
}

int store_schema_read_version(sqlite3 *db, int *version, char err[FO_ERRLEN])
{
    static const char sql[] = "SELECT version FROM schema_version WHERE id = 1";
    sqlite3_stmt *st;
    bool exists = false;
    int rc = table_exists(db, "schema_version", &exists, err);

    if (rc != 0) return rc;
    *version = 0;
    if (!exists) return 0;
    rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return store_sqlerr(db, rc, err, "read schema version");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER && sqlite3_column_int64(st, 0) > 0 &&
        sqlite3_column_int64(st, 0) <= 1000000) {
        *version = (int)sqlite3_column_int64(st, 0);
        rc = 0;
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        /* The table exists but says nothing sensible: not a database we wrote. */
        rc = fo_errf(err, FO_EINVAL, "schema_version holds no valid version");
    } else {
        rc = store_sqlerr(db, rc, err, "read schema version");
    }
    sqlite3_finalize(st);
    return rc;
}

static int set_version(sqlite3 *db, int version, char err[FO_ERRLEN])
{
    static const char sql[] = "INSERT OR REPLACE INTO schema_version (id, version) VALUES (1, ?1)";
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK) return store_sqlerr(db, rc, err, "write schema version");
    rc = sqlite3_bind_int(st, 1, version);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? 0 : store_sqlerr(db, rc, err, "write schema version");
    sqlite3_finalize(st);
    return rc;
}

static int exec(sqlite3 *db, const char *sql, char err[FO_ERRLEN], const char *what)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : store_sqlerr(db, rc, err, what);
}

static int run_pending(sqlite3 *db, int from, char err[FO_ERRLEN])
{
    char what[64];
    unsigned i;
    int rc;

    for (i = 0; i < N_MIGRATIONS; i++) {
        if (migrations[i].version <= from) continue;
        snprintf(what, sizeof(what), "migration %d", migrations[i].version); /* fits */
        rc = exec(db, migrations[i].sql, err, what);
        if (rc == 0) rc = set_version(db, migrations[i].version, err);
        if (rc != 0) return rc;
    }
    return 0;
}

int store_schema_migrate(sqlite3 *db, char err[FO_ERRLEN])
{
    int version;
    int rc = exec(db, "BEGIN IMMEDIATE", err, "begin migration");

    if (rc != 0) return rc;
    rc = store_schema_read_version(db, &version, err);
    if (rc != 0) goto err_after_begin;
    if (version > store_schema_latest()) {
        rc = fo_errf(err, FO_EVERSION, "store schema version %d is newer than this build's %d", version,
                     store_schema_latest());
        goto err_after_begin;
    }
    rc = run_pending(db, version, err);
    if (rc == 0) rc = exec(db, "COMMIT", err, "commit migration");
    if (rc != 0) goto err_after_begin;
    return 0;

err_after_begin:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
