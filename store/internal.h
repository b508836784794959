/* Private to store/: the store struct, the statement cache, the schema, the command
 * table and the helpers the command bodies share. Nothing outside store/ includes
 * this header; the contract for everyone else is store/store.h.
 *
 * Cross-file helpers are named store_* (no fo_ prefix: they are not part of the
 * public API). */
#ifndef FO_STORE_INTERNAL_H
#define FO_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "failoverd.pb-c.h"
#include "store/store.h"

/* Every statement the store runs more than once, prepared on first use and kept for
 * the life of the connection. Columns of the row readers in query.c follow the
 * *_COLS lists; keep them in step. */
#define STORE_CLUSTER_COLS                                                                                   \
    "name, user, password_file, maintenance, problems, epoch, blocked_until_ms, primary_host, "              \
    "primary_port, repl_user, repl_password_file, semi_sync, anti_flap_s, max_lag_s, vip, vip_interface, "   \
    "agent_port, vip_lease_ms, vip_host, vip_port, vip_epoch, reader_vips, reader_max_lag_s, co_primaries, " \
    "rediscover_interval_s, adopt_replicas"
#define STORE_INSTANCE_COLS                                                                    \
    "cluster, host, port, rule, health, role, source_host, source_port, problem, last_error, " \
    "server_id, read_only, maintenance, quarantined, quarantine_reason"
#define STORE_MEMBER_COLS "id, raft_address, admin_address, http_address"
#define STORE_EVENT_COLS "seq, wall_ms, cluster, instance, kind, detail"
#define STORE_FAILOVER_COLS                                                                    \
    "cluster, epoch, kind, old_host, old_port, new_host, new_port, target_host, target_port, " \
    "reason, confirmations, started_ms, ended_ms, last_step, result, detail, steps, total_ms"
#define STORE_DECISION_COLS "seq, wall_ms, cluster, instance, verdict, reason, detail"

#define STORE_STMTS(X)                                                                                                 \
    X(ST_BEGIN, "BEGIN IMMEDIATE")                                                                                     \
    X(ST_COMMIT, "COMMIT")                                                                                             \
    X(ST_ROLLBACK, "ROLLBACK")                                                                                         \
    X(ST_VERSION_GET, "SELECT version FROM schema_version WHERE id = 1")                                               \
    X(ST_CLUSTER_GET, "SELECT " STORE_CLUSTER_COLS " FROM clusters WHERE name = ?1")                                   \
    X(ST_CLUSTER_EACH, "SELECT " STORE_CLUSTER_COLS " FROM clusters ORDER BY name")                                    \
    X(ST_CLUSTER_EACH_VIP,                                                                                             \
      "SELECT " STORE_CLUSTER_COLS " FROM clusters WHERE vip != '' OR reader_vips != '' ORDER BY name")                \
    X(ST_CLUSTER_EACH_REDISCOVER,                                                                                      \
      "SELECT " STORE_CLUSTER_COLS " FROM clusters WHERE rediscover_interval_s > 0 ORDER BY name")                     \
    X(ST_CLUSTER_COUNT, "SELECT count(*) FROM clusters")                                                               \
    X(ST_CLUSTER_INSERT, "INSERT INTO clusters (name, user, password_file, repl_user, repl_password_file, "            \
                         "semi_sync, anti_flap_s, max_lag_s, epoch, vip, vip_interface, agent_port, vip_lease_ms, "    \
                         "reader_vips, reader_max_lag_s, co_primaries, rediscover_interval_s, adopt_replicas) "        \
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)")   \
    X(ST_CLUSTER_DELETE, "DELETE FROM clusters WHERE name = ?1")                                                       \
    X(ST_CLUSTER_SET_PROBLEMS, "UPDATE clusters SET problems = ?2 WHERE name = ?1")                                    \
    X(ST_CLUSTER_SET_MAINT, "UPDATE clusters SET maintenance = ?2 WHERE name = ?1")                                    \
    X(ST_CLUSTER_SET_EPOCH, "UPDATE clusters SET epoch = ?2 WHERE name = ?1")                                          \
    X(ST_CLUSTER_SET_BLOCK, "UPDATE clusters SET blocked_until_ms = ?2 WHERE name = ?1")                               \
    X(ST_CLUSTER_SET_PRIMARY, "UPDATE clusters SET primary_host = ?2, primary_port = ?3 WHERE name = ?1")              \
    X(ST_CLUSTER_SET_VIP_HOLDER, "UPDATE clusters SET vip_host = ?2, vip_port = ?3, vip_epoch = ?4 WHERE name = ?1")   \
    X(ST_READER_HOLDER_SET, "INSERT OR REPLACE INTO vip_holders (cluster, vip, host, port, epoch) "                    \
                            "VALUES (?1, ?2, ?3, ?4, ?5)")                                                             \
    X(ST_READER_HOLDER_DEL, "DELETE FROM vip_holders WHERE cluster = ?1 AND vip = ?2")                                 \
    X(ST_READER_HOLDER_DEL_IN, "DELETE FROM vip_holders WHERE cluster = ?1")                                           \
    X(ST_READER_HOLDER_GET, "SELECT host, port, epoch FROM vip_holders WHERE cluster = ?1 AND vip = ?2")               \
    X(ST_INSTANCE_GET, "SELECT " STORE_INSTANCE_COLS " FROM instances WHERE cluster = ?1 AND host = ?2 AND port = ?3") \
    X(ST_INSTANCE_EACH, "SELECT " STORE_INSTANCE_COLS " FROM instances ORDER BY cluster, host, port")                  \
    X(ST_INSTANCE_EACH_IN, "SELECT " STORE_INSTANCE_COLS " FROM instances WHERE cluster = ?1 ORDER BY host, port")     \
    X(ST_INSTANCE_COUNT, "SELECT count(*) FROM instances WHERE cluster = ?1")                                          \
    X(ST_INSTANCE_INSERT, "INSERT INTO instances (cluster, host, port, rule) VALUES (?1, ?2, ?3, ?4)")                 \
    X(ST_INSTANCE_DELETE, "DELETE FROM instances WHERE cluster = ?1 AND host = ?2 AND port = ?3")                      \
    X(ST_INSTANCE_DELETE_IN, "DELETE FROM instances WHERE cluster = ?1")                                               \
    X(ST_INSTANCE_SET_STATE, "UPDATE instances SET health = ?4, role = ?5, source_host = ?6, source_port = ?7, "       \
                             "problem = ?8, last_error = ?9, server_id = ?10, read_only = ?11 "                        \
                             "WHERE cluster = ?1 AND host = ?2 AND port = ?3")                                         \
    X(ST_INSTANCE_SET_RULE, "UPDATE instances SET rule = ?4 WHERE cluster = ?1 AND host = ?2 AND port = ?3")           \
    X(ST_INSTANCE_SET_MAINT, "UPDATE instances SET maintenance = ?4 WHERE cluster = ?1 AND host = ?2 AND port = ?3")   \
    X(ST_INSTANCE_SET_QUARANTINE, "UPDATE instances SET quarantined = ?4, quarantine_reason = ?5 "                     \
                                  "WHERE cluster = ?1 AND host = ?2 AND port = ?3")                                    \
    X(ST_MEMBER_GET, "SELECT " STORE_MEMBER_COLS " FROM members WHERE id = ?1")                                        \
    X(ST_MEMBER_EACH, "SELECT " STORE_MEMBER_COLS " FROM members ORDER BY id")                                         \
    X(ST_MEMBER_UPSERT, "INSERT INTO members (id, raft_address, admin_address, http_address) "                         \
                        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET "                                      \
                        "raft_address = excluded.raft_address, admin_address = excluded.admin_address, "               \
                        "http_address = excluded.http_address")                                                        \
    X(ST_MEMBER_DELETE, "DELETE FROM members WHERE id = ?1")                                                           \
    X(ST_SETTING_GET, "SELECT value FROM settings WHERE key = ?1")                                                     \
    X(ST_SETTING_SET, "INSERT INTO settings (key, value) VALUES (?1, ?2) "                                             \
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value")                                        \
    X(ST_EVENT_INSERT, "INSERT INTO events (wall_ms, cluster, instance, kind, detail) "                                \
                       "VALUES (?1, ?2, ?3, ?4, ?5)")                                                                  \
    X(ST_EVENT_PRUNE, "DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - ?1")                            \
    X(ST_EVENT_EACH, "SELECT " STORE_EVENT_COLS " FROM events ORDER BY seq DESC LIMIT ?1")                             \
    X(ST_EVENT_EACH_IN, "SELECT " STORE_EVENT_COLS " FROM events WHERE cluster = ?1 ORDER BY seq DESC LIMIT ?2")       \
    X(ST_FAILOVER_GET, "SELECT " STORE_FAILOVER_COLS " FROM failovers WHERE cluster = ?1 AND epoch = ?2")              \
    X(ST_FAILOVER_RUNNING, "SELECT " STORE_FAILOVER_COLS " FROM failovers WHERE cluster = ?1 AND result = 0")          \
    X(ST_FAILOVER_EACH_RUNNING, "SELECT " STORE_FAILOVER_COLS " FROM failovers WHERE result = 0 ORDER BY cluster")     \
    X(ST_FAILOVER_EACH, "SELECT " STORE_FAILOVER_COLS " FROM failovers "                                               \
                        "ORDER BY started_ms DESC, epoch DESC, cluster DESC LIMIT ?1")                                 \
    X(ST_FAILOVER_EACH_IN, "SELECT " STORE_FAILOVER_COLS " FROM failovers WHERE cluster = ?1 "                         \
                           "ORDER BY started_ms DESC, epoch DESC LIMIT ?2")                                            \
    X(ST_FAILOVER_MAX_EPOCH, "SELECT coalesce(max(epoch), 0) FROM failovers WHERE cluster = ?1")                       \
    X(ST_FAILOVER_INSERT, "INSERT INTO failovers (cluster, epoch, kind, old_host, old_port, target_host, "             \
                          "target_port, reason, confirmations, started_ms) "                                           \
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")                                          \
    X(ST_FAILOVER_SET_STEP, "UPDATE failovers SET last_step = ?3, detail = ?4, steps = ?5, new_host = ?6, "            \
                            "new_port = ?7 WHERE cluster = ?1 AND epoch = ?2")                                         \
    X(ST_FAILOVER_SET_END, "UPDATE failovers SET result = ?3, ended_ms = ?4, detail = ?5, total_ms = ?6 "              \
                           "WHERE cluster = ?1 AND epoch = ?2")                                                        \
    X(ST_DECISION_INSERT, "INSERT INTO decisions (wall_ms, cluster, instance, verdict, reason, detail) "               \
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                                           \
    X(ST_DECISION_PRUNE, "DELETE FROM decisions WHERE seq <= (SELECT max(seq) FROM decisions) - ?1")                   \
    X(ST_DECISION_EACH, "SELECT " STORE_DECISION_COLS " FROM decisions ORDER BY seq DESC LIMIT ?1")                    \
    X(ST_DECISION_EACH_IN,                                                                                             \
      "SELECT " STORE_DECISION_COLS " FROM decisions WHERE cluster = ?1 ORDER BY seq DESC LIMIT ?2")

enum store_stmt_id {
#define STORE_STMT_ENUM(id, sql) id,
    STORE_STMTS(STORE_STMT_ENUM)
#undef STORE_STMT_ENUM
        ST__COUNT
};

struct fo_store {
    sqlite3 *db;
    sqlite3_stmt *stmts[ST__COUNT];
    /* A cached statement is lent out at most once at a time; a nested user (an
     * iterator callback that reads the same table) gets a private copy instead. */
    bool lent[ST__COUNT];
    fo_store_change_cb on_change; /* fo_store_on_change */
    void *on_change_data;
};

/* ------------------------------------------------------------ stmt.c */

/* FO_ENOMEM for SQLITE_NOMEM, FO_ESTORE otherwise, with "what: sqlite message". */
int store_sqlerr(sqlite3 *db, int rc, char err[FO_ERRLEN], const char *what);

/* Lends statement id (prepared on first use). Give it back with store_stmt_put(),
 * which resets it and clears its bindings. */
int store_stmt_get(struct fo_store *s, enum store_stmt_id id, sqlite3_stmt **out, char err[FO_ERRLEN]);
void store_stmt_put(struct fo_store *s, enum store_stmt_id id, sqlite3_stmt *st);
/* True while some statement is out, i.e. a read is in progress further up the stack. */
bool store_stmt_any_lent(const struct fo_store *s);
/* Finalizes every cached statement (before the connection is closed or overwritten). */
void store_stmt_finalize_all(struct fo_store *s);

/* Prepares (and drops) every statement against db: FO_EINVAL unless the tables and
 * columns they use all exist. Used to vet a snapshot before it replaces the store. */
int store_stmt_check_all(sqlite3 *db, char err[FO_ERRLEN]);
/* Steps st to completion (no rows expected) and gives it back. bind_rc is the result
 * of binding its parameters, so callers can bind, then run, then check once. */
int store_stmt_run(struct fo_store *s, enum store_stmt_id id, sqlite3_stmt *st, int bind_rc, char err[FO_ERRLEN]);
/* Runs a statement that needs no parameters (BEGIN, COMMIT...). */
int store_exec(struct fo_store *s, enum store_stmt_id id, char err[FO_ERRLEN]);

/* Parameter binders: return a sqlite result code. Text is bound SQLITE_STATIC: it
 * must outlive the statement's use, which it does for every caller here. */
int store_bind_text(sqlite3_stmt *st, int i, const char *v);
int store_bind_key(sqlite3_stmt *st, const char *cluster, const char *host, uint32_t port);

/* ------------------------------------------------------------ schema.c */

int store_schema_latest(void);
/* 0 when the database has no schema_version table (a brand-new file). */
int store_schema_read_version(sqlite3 *db, int *version, char err[FO_ERRLEN]);
/* Brings db to store_schema_latest() in one transaction; FO_EVERSION if it is newer. */
int store_schema_migrate(sqlite3 *db, char err[FO_ERRLEN]);

/* Tables in dump order, each with the ORDER BY that walks its primary key. */
struct store_table {
    const char *name;
    const char *order_by;
};
extern const struct store_table store_tables[];
extern const unsigned store_n_tables;

/* ------------------------------------------------------------ check.c */

/* Validators for command fields; each returns 0 or FO_EINVAL with "what: reason". */
int store_check_name(const char *what, const char *s, char err[FO_ERRLEN]);
int store_check_host(const char *what, const char *s, char err[FO_ERRLEN]);
int store_check_addr(const char *what, const char *s, bool optional, char err[FO_ERRLEN]);
int store_check_port(const char *what, uint32_t port, char err[FO_ERRLEN]);
int store_check_enum(const char *what, int v, int max, char err[FO_ERRLEN]);
/* A host and a port together, or neither ("" and 0). what names the pair ("target"). */
int store_check_opt_hostport(const char *what, const char *host, uint32_t port, char err[FO_ERRLEN]);
/* Printable text (no control characters), 1..max-1 bytes, or 0 bytes if optional. */
int store_check_text(const char *what, const char *s, size_t max, bool optional, char err[FO_ERRLEN]);

/* Copies free text (probe errors, problems, reasons) into dst, cut at a UTF-8
 * character boundary to fit and with control characters turned into spaces: such
 * text is informational, so an over-long error must not make the whole state
 * transition fail. Deterministic, like everything apply does. */
void store_fit_text(char *dst, size_t dstlen, const char *src);

/* "unknown" "up" "suspect" "down" and friends; "?" outside the range. */
const char *store_health_name(int h);
const char *store_role_name(int r);
const char *store_rule_name(int r);

/* "host:port", or "[host]:port" for an IPv6 literal. */
void store_format_addr(char *dst, size_t dstlen, const char *host, uint32_t port);
/* Same, or "none" when host is "". */
void store_describe_addr(char *dst, size_t dstlen, const char *host, uint32_t port);

/* Bounds of the cluster options (ClusterAdd), repeated in the schema's CHECKs. */
#define STORE_MAX_ANTI_FLAP_S 604800
#define STORE_MAX_LAG_S 86400

/* ------------------------------------------------------------ cmd_cluster.c */

/* UPDATE clusters SET <column> = v WHERE name = ?1, for ST_CLUSTER_SET_EPOCH and
 * ST_CLUSTER_SET_BLOCK. uint64 values keep their bits in sqlite's signed integer. */
int store_cluster_set_u64(struct fo_store *s, enum store_stmt_id id, const char *name, uint64_t v, char err[FO_ERRLEN]);
/* host "" and port 0 clear the designated primary. */
int store_cluster_set_primary(struct fo_store *s, const char *name, const char *host, uint32_t port,
                              char err[FO_ERRLEN]);

/* ------------------------------------------------------------ apply.c */

/* Appends one row to the history and prunes it to FO_STORE_MAX_EVENTS. host NULL
 * means the event is not about one instance. The detail is free text (fitted). */
int store_event_add(struct fo_store *s, const Fo__Command *cmd, const char *cluster, const char *host, uint32_t port,
                    const char *kind, char err[FO_ERRLEN], const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* One command body: validate() looks at the command alone (no store access) and
 * runs before the transaction; apply() runs inside it. Both fill err on failure. */
struct store_command {
    int (*validate)(const Fo__Command *cmd, char err[FO_ERRLEN]);
    int (*apply)(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN]);
};

extern const struct store_command store_cmd_cluster_add;
extern const struct store_command store_cmd_cluster_remove;
extern const struct store_command store_cmd_cluster_problems;
extern const struct store_command store_cmd_instance_add;
extern const struct store_command store_cmd_instance_remove;
extern const struct store_command store_cmd_instance_state;
extern const struct store_command store_cmd_promotion_rule;
extern const struct store_command store_cmd_maintenance;
extern const struct store_command store_cmd_recoveries;
extern const struct store_command store_cmd_member_note;
extern const struct store_command store_cmd_failover_begin;
extern const struct store_command store_cmd_failover_step;
extern const struct store_command store_cmd_failover_end;
extern const struct store_command store_cmd_decision;
extern const struct store_command store_cmd_ack;
extern const struct store_command store_cmd_quarantine;
extern const struct store_command store_cmd_set_primary;
extern const struct store_command store_cmd_vip_holder;

/* ------------------------------------------------------------ query.c */

/* Used by the command bodies: FO_ENOTFOUND with a deterministic message. */
int store_cluster_load(struct fo_store *s, const char *name, struct fo_store_cluster *out, char err[FO_ERRLEN]);
int store_instance_load(struct fo_store *s, const char *cluster, const char *host, uint32_t port,
                        struct fo_store_instance *out, char err[FO_ERRLEN]);
/* The failover (cluster, epoch), or FO_ENOTFOUND with a deterministic message. */
int store_failover_load(struct fo_store *s, const char *cluster, uint64_t epoch, struct fo_store_failover *out,
                        char err[FO_ERRLEN]);
/* SELECT count(*) statements with at most one text parameter (NULL = none). */
int store_count(struct fo_store *s, enum store_stmt_id id, const char *param, int64_t *out, char err[FO_ERRLEN]);

#define STORE_SETTING_RECOVERIES "recoveries_enabled"

#endif
