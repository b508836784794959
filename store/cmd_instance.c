/* Command bodies about one instance: add, remove, observed state, promotion rule,
 * quarantine.
 * Same shape as cmd_cluster.c: validate() without the store, apply() inside the
 * transaction of apply.c. */
#include "store/internal.h"

#include "common/instance_state.h"

#include <stdio.h>
#include <string.h>

static int check_key(const char *cluster, const char *host, uint32_t port, char err[FO_ERRLEN])
{
    int rc = store_check_name("cluster name", cluster, err);

    if (rc == 0) rc = store_check_host("host", host, err);
    if (rc == 0) rc = store_check_port("port", port, err);
    return rc;
}

/* ------------------------------------------------------------ instance_add */

static int validate_instance_add(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__InstanceAdd *b = cmd->instance_add;
    int rc = check_key(b->cluster, b->host, b->port, err);

    if (rc == 0) rc = store_check_enum("rule", (int)b->rule, FO_RULE_MUST_NOT, err);
    return rc;
}

static int apply_instance_add(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__InstanceAdd *b = cmd->instance_add;
    struct fo_store_cluster c;
    struct fo_store_instance old;
    sqlite3_stmt *st;
    int64_t n;
    int rc = store_cluster_load(s, b->cluster, &c, err);

    if (rc != 0) return rc;
    rc = store_instance_load(s, b->cluster, b->host, b->port, &old, err);
    if (rc == 0) return fo_errf(err, FO_EEXIST, "instance %s/%s:%u already exists", b->cluster, b->host, b->port);
    if (rc != FO_ENOTFOUND) return rc;
    rc = store_count(s, ST_INSTANCE_COUNT, b->cluster, &n, err);
    if (rc != 0) return rc;
    if (n >= FO_MAX_INSTANCES_PER_CLUSTER)
        return fo_errf(err, FO_EINVAL, "cluster '%s' has %d instances already (the maximum)", b->cluster,
                       FO_MAX_INSTANCES_PER_CLUSTER);

    rc = store_stmt_get(s, ST_INSTANCE_INSERT, &st, err);
    if (rc != 0) return rc;
    rc = store_bind_key(st, b->cluster, b->host, b->port);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 4, (int)b->rule);
    rc = store_stmt_run(s, ST_INSTANCE_INSERT, st, rc, err);
    if (rc != 0) return rc;
    return store_event_add(s, cmd, b->cluster, b->host, b->port, "instance_add", err, "rule=%s",
                           store_rule_name((int)b->rule));
}

const struct store_command store_cmd_instance_add = {validate_instance_add, apply_instance_add};

/* ------------------------------------------------------------ instance_remove */

static int validate_instance_remove(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__InstanceRemove *b = cmd->instance_remove;

    return check_key(b->cluster, b->host, b->port, err);
}

/* The designated primary must be an instance of the cluster (SetPrimary checks it),
 * so removing that instance clears it. */
static int forget_primary(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__InstanceRemove *b = cmd->instance_remove;
    char addr[FO_ADDR_LEN];
    struct fo_store_cluster c;
    int rc = store_cluster_load(s, b->cluster, &c, err);

    if (rc != 0) return rc;
    if (strcmp(c.primary_host, b->host) != 0 || c.primary_port != b->port) return 0;
    rc = store_cluster_set_primary(s, b->cluster, "", 0, err);
    if (rc != 0) return rc;
    store_format_addr(addr, sizeof(addr), b->host, b->port);
    return store_event_add(s, cmd, b->cluster, b->host, b->port, "primary", err, "%s -> none (instance removed)", addr);
}

static int apply_instance_remove(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__InstanceRemove *b = cmd->instance_remove;
    struct fo_store_instance old;
    sqlite3_stmt *st;
    int rc = store_instance_load(s, b->cluster, b->host, b->port, &old, err);

    if (rc == 0) rc = store_stmt_get(s, ST_INSTANCE_DELETE, &st, err);
    if (rc != 0) return rc;
    rc = store_stmt_run(s, ST_INSTANCE_DELETE, st, store_bind_key(st, b->cluster, b->host, b->port), err);
    if (rc != 0) return rc;
    rc = store_event_add(s, cmd, b->cluster, b->host, b->port, "instance_remove", err, "was %s, %s",
                         store_role_name(old.role), store_health_name(old.health));
    if (rc == 0) rc = forget_primary(s, cmd, err);
    return rc;
}

const struct store_command store_cmd_instance_remove = {validate_instance_remove, apply_instance_remove};

/* ------------------------------------------------------------ instance_state */

static int validate_instance_state(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__InstanceState *b = cmd->instance_state;
    int rc = check_key(b->cluster, b->host, b->port, err);

    if (rc == 0) rc = store_check_enum("health", (int)b->health, FO_HEALTH_DOWN, err);
    if (rc == 0) rc = store_check_enum("role", (int)b->role, FO_ROLE_ORPHAN, err);
    if (rc != 0) return rc;
    /* A source is a host and a port together, or neither. */
    if (b->source_host[0] == '\0') {
        if (b->source_port != 0) return fo_errf(err, FO_EINVAL, "source port %u without a source host", b->source_port);
        return 0;
    }
    rc = store_check_host("source host", b->source_host, err);
    if (rc == 0) rc = store_check_port("source port", b->source_port, err);
    return rc;
}

/* "replica of db1:3306", "primary", "unknown". */
static void describe_role(char *dst, size_t dstlen, int role, const char *source_host, uint32_t source_port)
{
    char addr[FO_ADDR_LEN];

    if (source_host[0] == '\0') {
        snprintf(dst, dstlen, "%s", store_role_name(role)); /* a role name always fits */
        return;
    }
    store_format_addr(addr, sizeof(addr), source_host, source_port);
    if (snprintf(dst, dstlen, "%s of %s", store_role_name(role), addr) >= (int)dstlen) dst[0] = '\0';
}

static int role_event(struct fo_store *s, const Fo__Command *cmd, const struct fo_store_instance *old,
                      char err[FO_ERRLEN])
{
    const Fo__InstanceState *b = cmd->instance_state;
    char from[FO_ADDR_LEN + 16], to[FO_ADDR_LEN + 16];

    describe_role(from, sizeof(from), old->role, old->source_host, old->source_port);
    describe_role(to, sizeof(to), (int)b->role, b->source_host, b->source_port);
    return store_event_add(s, cmd, b->cluster, b->host, b->port, "role", err, "%s -> %s", from, to);
}

/* One event per kind of change, in a fixed order, and none for fields that only
 * inform (server_id, read_only, last_error without a health change): the history is
 * for people, and a repeated state must leave no trace. */
static int state_events(struct fo_store *s, const Fo__Command *cmd, const struct fo_store_instance *old,
                        const char *problem, const char *last_error, char err[FO_ERRLEN])
{
    const Fo__InstanceState *b = cmd->instance_state;
    /* The probe error explains a failure; on recovery it would only be stale. */
    const char *why = (int)b->health != FO_HEALTH_UP ? last_error : "";
    int rc = 0;

    if ((int)b->health != old->health)
        rc = store_event_add(s, cmd, b->cluster, b->host, b->port, "health", err, "%s -> %s%s%s",
                             store_health_name(old->health), store_health_name((int)b->health),
                             why[0] != '\0' ? ": " : "", why);
    if (rc == 0 && ((int)b->role != old->role || strcmp(b->source_host, old->source_host) != 0 ||
                    b->source_port != old->source_port))
        rc = role_event(s, cmd, old, err);
    if (rc == 0 && strcmp(problem, old->problem) != 0)
        rc = store_event_add(s, cmd, b->cluster, b->host, b->port, "problem", err, "%s",
                             problem[0] != '\0' ? problem : "cleared");
    return rc;
}

static int apply_instance_state(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__InstanceState *b = cmd->instance_state;
    struct fo_store_instance old;
    char problem[sizeof(old.problem)], last_error[sizeof(old.last_error)];
    sqlite3_stmt *st;
    int rc = store_instance_load(s, b->cluster, b->host, b->port, &old, err);

    if (rc != 0) return rc;
    store_fit_text(problem, sizeof(problem), b->problem);
    store_fit_text(last_error, sizeof(last_error), b->last_error);

    rc = store_stmt_get(s, ST_INSTANCE_SET_STATE, &st, err);
    if (rc != 0) return rc;
    rc = store_bind_key(st, b->cluster, b->host, b->port);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 4, (int)b->health);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 5, (int)b->role);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 6, b->source_host);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 7, b->source_port);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 8, problem);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 9, last_error);
    /* server_id is a uint64 on the wire; sqlite keeps its bits in a signed integer. */
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 10, (sqlite3_int64)b->server_id);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 11, b->read_only ? 1 : 0);
    rc = store_stmt_run(s, ST_INSTANCE_SET_STATE, st, rc, err);
    if (rc != 0) return rc;
    return state_events(s, cmd, &old, problem, last_error, err);
}

const struct store_command store_cmd_instance_state = {validate_instance_state, apply_instance_state};

/* ------------------------------------------------------------ promotion_rule */

static int validate_promotion_rule(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__SetPromotionRule *b = cmd->promotion_rule;
    int rc = check_key(b->cluster, b->host, b->port, err);

    if (rc == 0) rc = store_check_enum("rule", (int)b->rule, FO_RULE_MUST_NOT, err);
    return rc;
}

/* An operator's command: recorded even when the rule does not change, so that
 * "who set what" is answerable from the history alone. */
static int apply_promotion_rule(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__SetPromotionRule *b = cmd->promotion_rule;
    struct fo_store_instance old;
    sqlite3_stmt *st;
    int rc = store_instance_load(s, b->cluster, b->host, b->port, &old, err);

    if (rc == 0) rc = store_stmt_get(s, ST_INSTANCE_SET_RULE, &st, err);
    if (rc != 0) return rc;
    rc = store_bind_key(st, b->cluster, b->host, b->port);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 4, (int)b->rule);
    rc = store_stmt_run(s, ST_INSTANCE_SET_RULE, st, rc, err);
    if (rc != 0) return rc;
    return store_event_add(s, cmd, b->cluster, b->host, b->port, "rule", err, "%s -> %s", store_rule_name(old.rule),
                           store_rule_name((int)b->rule));
}

const struct store_command store_cmd_promotion_rule = {validate_promotion_rule, apply_promotion_rule};

/* ------------------------------------------------------------ quarantine */

#define QUARANTINE_REASON_LEN sizeof(((struct fo_store_instance *)0)->quarantine_reason)

static int validate_quarantine(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__Quarantine *b = cmd->quarantine;

    return check_key(b->cluster, b->host, b->port, err);
}

/* A quarantined instance is never promoted (errant GTIDs, a fenced old primary...).
 * Clearing it also clears the reason. The leader may propose the same quarantine
 * again after a restart, so only a change is history. */
static int apply_quarantine(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__Quarantine *b = cmd->quarantine;
    char reason[QUARANTINE_REASON_LEN];
    struct fo_store_instance old;
    sqlite3_stmt *st;
    int rc = store_instance_load(s, b->cluster, b->host, b->port, &old, err);

    if (rc != 0) return rc;
    store_fit_text(reason, sizeof(reason), b->on ? b->reason : "");
    if (old.quarantined == b->on && strcmp(old.quarantine_reason, reason) == 0) return 0;
    rc = store_stmt_get(s, ST_INSTANCE_SET_QUARANTINE, &st, err);
    if (rc != 0) return rc;
    rc = store_bind_key(st, b->cluster, b->host, b->port);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 4, b->on ? 1 : 0);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 5, reason);
    rc = store_stmt_run(s, ST_INSTANCE_SET_QUARANTINE, st, rc, err);
    if (rc != 0) return rc;
    return store_event_add(s, cmd, b->cluster, b->host, b->port, "quarantine", err, "%s%s%s", b->on ? "on" : "off",
                           reason[0] != '\0' ? ": " : "", reason);
}

const struct store_command store_cmd_quarantine = {validate_quarantine, apply_quarantine};
