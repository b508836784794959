/* Command bodies about a whole cluster: add, remove, problems, maintenance, the
 * anti-flap acknowledgement and the designated primary.
 *
 * Each body is a validate() that looks at the command alone and an apply() that runs
 * inside apply.c's transaction; on any error apply.c rolls back, so a body may fail
 * half way without leaving anything behind. */
#include "store/internal.h"

#include <stdio.h>
#include <string.h>

/* Bounds the joined problem list: more than this many is noise, not information. */
#define MAX_PROBLEMS 64
#define PROBLEM_LEN 256

/* ------------------------------------------------------------ cluster_add */

/* The writer VIP's settings: all or nothing for vip + interface. */
static int validate_vip(const Fo__ClusterAdd *b, char err[FO_ERRLEN])
{
    char e[FO_ERRLEN];

    if (b->vip_lease_ms != 0 && (b->vip_lease_ms < 500 || b->vip_lease_ms > 60000))
        return fo_errf(err, FO_EINVAL, "vip_lease_ms: %u is not in 500..60000", b->vip_lease_ms);
    if (b->agent_port > 65535) return fo_errf(err, FO_EINVAL, "agent_port: %u is not in 1..65535", b->agent_port);
    if ((b->vip[0] != '\0' || b->n_reader_vips > 0) != (b->vip_interface[0] != '\0'))
        return fo_errf(err, FO_EINVAL, "vip_interface goes with vip or reader_vips");
    if (b->n_reader_vips > FO_MAX_READER_VIPS)
        return fo_errf(err, FO_EINVAL, "more than %d reader VIPs", FO_MAX_READER_VIPS);
    if (b->reader_max_lag_s > STORE_MAX_LAG_S)
        return fo_errf(err, FO_EINVAL, "reader_max_lag_s: %u is not in 0..%d", b->reader_max_lag_s, STORE_MAX_LAG_S);
    for (size_t i = 0; i < b->n_reader_vips; i++) {
        if (strlen(b->reader_vips[i]) >= FO_VIP_LEN || fo_parse_cidr4(b->reader_vips[i], e) != 0)
            return fo_errf(err, FO_EINVAL, "reader_vips: not an IPv4 address with a prefix length");
        for (size_t j = 0; j < i; j++)
            if (strcmp(b->reader_vips[i], b->reader_vips[j]) == 0)
                return fo_errf(err, FO_EINVAL, "reader_vips: %s is listed twice", b->reader_vips[i]);
        if (strcmp(b->reader_vips[i], b->vip) == 0)
            return fo_errf(err, FO_EINVAL, "reader_vips: %s is also the writer vip", b->vip);
    }
    if (b->n_reader_vips > 0 && b->vip_interface[0] == '\0')
        return fo_errf(err, FO_EINVAL, "reader_vips need vip_interface");
    if (b->vip[0] == '\0') return b->n_reader_vips > 0 ? fo_check_ifname(b->vip_interface, err) : 0;
    if (strlen(b->vip) >= FO_VIP_LEN || fo_parse_cidr4(b->vip, e) != 0)
        return fo_errf(err, FO_EINVAL, "vip: not an IPv4 address with a prefix length");
    if (fo_check_ifname(b->vip_interface, e) != 0) return fo_errf(err, FO_EINVAL, "vip_interface: %s", e);
    return 0;
}

/* co_primaries in canonical form only (what fo_parse_co_primaries writes), so that
 * every reader of the column sees one spelling; rediscovery 0 or 5..86400, adoption
 * only with it. Whether the co-primaries are members is the topology's to report:
 * instances are registered after the cluster. */
static int validate_rediscovery(const Fo__ClusterAdd *b, char err[FO_ERRLEN])
{
    char canon[FO_CO_PRIMARIES_LEN], e[FO_ERRLEN];
    struct fo_endpoint ep[2];

    if (b->co_primaries[0] != '\0') {
        if (strlen(b->co_primaries) >= FO_CO_PRIMARIES_LEN || fo_parse_co_primaries(b->co_primaries, ep, canon, e) != 0)
            return fo_errf(err, FO_EINVAL, "co_primaries: %s",
                           strlen(b->co_primaries) >= FO_CO_PRIMARIES_LEN ? "too long" : e);
        if (strcmp(canon, b->co_primaries) != 0)
            return fo_errf(err, FO_EINVAL, "co_primaries: not in canonical form (%s)", canon);
    }
    if (fo_check_rediscover_interval(b->rediscover_interval_s, e) != 0)
        return fo_errf(err, FO_EINVAL, "rediscover_interval_s: %s", e);
    if (b->adopt_replicas && b->rediscover_interval_s == 0)
        return fo_errf(err, FO_EINVAL, "adopt_replicas needs rediscover_interval_s");
    return 0;
}

static int validate_cluster_add(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__ClusterAdd *b = cmd->cluster_add;
    int rc = store_check_name("cluster name", b->name, err);

    if (rc == 0) rc = store_check_text("user", b->user, FO_NAME_LEN, false, err);
    if (rc == 0) rc = store_check_text("password_file", b->password_file, FO_PATH_LEN, false, err);
    if (rc == 0) rc = store_check_text("repl_user", b->repl_user, FO_NAME_LEN, true, err);
    if (rc == 0) rc = store_check_text("repl_password_file", b->repl_password_file, FO_PATH_LEN, true, err);
    if (rc != 0) return rc;
    /* Every controller reads this file, whatever its working directory. */
    if (b->repl_password_file[0] != '\0' && b->repl_password_file[0] != '/')
        return fo_errf(err, FO_EINVAL, "repl_password_file: not an absolute path");
    if (b->anti_flap_s > STORE_MAX_ANTI_FLAP_S)
        return fo_errf(err, FO_EINVAL, "anti_flap_s: %u is not in 0..%d", b->anti_flap_s, STORE_MAX_ANTI_FLAP_S);
    if (b->max_lag_s > STORE_MAX_LAG_S)
        return fo_errf(err, FO_EINVAL, "max_lag_s: %u is not in 0..%d", b->max_lag_s, STORE_MAX_LAG_S);
    rc = validate_rediscovery(b, err);
    return rc != 0 ? rc : validate_vip(b, err);
}

/* A cluster removed and registered again keeps counting from its highest failover
 * epoch: agents refuse epochs lower than the highest they have seen (DESIGN.md §7),
 * and failovers are keyed by (cluster, epoch). */
static int first_epoch(struct fo_store *s, const char *name, int64_t *epoch, char err[FO_ERRLEN])
{
    return store_count(s, ST_FAILOVER_MAX_EPOCH, name, epoch, err);
}

/* "a/24,b/24": the reader VIPs as one column (validated: they fit). */
static void join_readers(char *dst, size_t cap, const Fo__ClusterAdd *b)
{
    size_t i, n = 0;

    dst[0] = '\0';
    for (i = 0; i < b->n_reader_vips && n < cap; i++)
        n += (size_t)snprintf(dst + n, cap - n, "%s%s", i ? "," : "", b->reader_vips[i]);
}

static int insert_cluster(struct fo_store *s, const Fo__ClusterAdd *b, int64_t epoch, char err[FO_ERRLEN])
{
    char joined[FO_MAX_READER_VIPS * FO_VIP_LEN + 1];
    sqlite3_stmt *st;
    int rc = store_stmt_get(s, ST_CLUSTER_INSERT, &st, err);

    if (rc != 0) return rc;
    rc = store_bind_text(st, 1, b->name);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 2, b->user);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 3, b->password_file);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 4, b->repl_user);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 5, b->repl_password_file);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 6, b->semi_sync ? 1 : 0);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 7, b->anti_flap_s);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 8, b->max_lag_s);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 9, epoch);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 10, b->vip);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 11, b->vip_interface);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 12, b->agent_port);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 13, b->vip_lease_ms);
    join_readers(joined, sizeof(joined), b);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 14, joined); /* bound without a copy: joined outlives the run */
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 15, b->reader_max_lag_s);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 16, b->co_primaries);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 17, b->rediscover_interval_s);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 18, b->adopt_replicas ? 1 : 0);
    return store_stmt_run(s, ST_CLUSTER_INSERT, st, rc, err);
}

/* " repl_user=repl semi_sync anti_flap_s=600 max_lag_s=30", options left at their
 * defaults omitted; "" when all are. */
static void describe_options(char *dst, size_t dstlen, const Fo__ClusterAdd *b)
{
    size_t n = 0;

    dst[0] = '\0';
    /* Each piece is bounded (repl_user is checked to FO_NAME_LEN), so dstlen fits all. */
    if (b->repl_user[0] != '\0') n += (size_t)snprintf(dst + n, dstlen - n, " repl_user=%s", b->repl_user);
    if (b->semi_sync) n += (size_t)snprintf(dst + n, dstlen - n, " semi_sync");
    if (b->anti_flap_s != 0) n += (size_t)snprintf(dst + n, dstlen - n, " anti_flap_s=%u", b->anti_flap_s);
    if (b->max_lag_s != 0) n += (size_t)snprintf(dst + n, dstlen - n, " max_lag_s=%u", b->max_lag_s);
    if (b->vip[0] != '\0' && n < dstlen)
        n += (size_t)snprintf(dst + n, dstlen - n, " vip=%s@%s", b->vip, b->vip_interface);
    if (b->co_primaries[0] != '\0' && n < dstlen)
        n += (size_t)snprintf(dst + n, dstlen - n, " co_primaries=%s", b->co_primaries);
    if (b->rediscover_interval_s != 0 && n < dstlen)
        n += (size_t)snprintf(dst + n, dstlen - n, " rediscover_interval_s=%u", b->rediscover_interval_s);
    if (b->adopt_replicas && n < dstlen) snprintf(dst + n, dstlen - n, " adopt_replicas");
}

static int apply_cluster_add(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__ClusterAdd *b = cmd->cluster_add;
    struct fo_store_cluster old;
    char opts[FO_NAME_LEN + 96 + FO_VIP_LEN + FO_IFNAME_LEN + FO_CO_PRIMARIES_LEN + 64];
    int64_t epoch = 0;
    int rc = store_cluster_load(s, b->name, &old, err);

    if (rc == 0) return fo_errf(err, FO_EEXIST, "cluster '%s' already exists", b->name);
    if (rc != FO_ENOTFOUND) return rc;
    /* No count here: how many clusters a controller cluster watches is the leader's
     * [limits] max_clusters, checked before proposing (fo_store_check_room); apply
     * must not depend on one node's config. */
    rc = first_epoch(s, b->name, &epoch, err);
    if (rc == 0) rc = insert_cluster(s, b, epoch, err);
    if (rc != 0) return rc;
    describe_options(opts, sizeof(opts), b);
    /* The password files' paths are not secret (their content is), but they are not
     * history either: the event names the users and the options that are set. */
    return store_event_add(s, cmd, b->name, NULL, 0, "cluster_add", err, "user=%s%s", b->user, opts);
}

const struct store_command store_cmd_cluster_add = {validate_cluster_add, apply_cluster_add};

/* ------------------------------------------------------------ cluster_remove */

static int validate_cluster_remove(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    return store_check_name("cluster name", cmd->cluster_remove->name, err);
}

static int apply_cluster_remove(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const char *name = cmd->cluster_remove->name;
    struct fo_store_cluster old;
    struct fo_store_failover f;
    sqlite3_stmt *st;
    int64_t n;
    int rc = store_cluster_load(s, name, &old, err);

    if (rc != 0) return rc;
    /* A running failover would be orphaned: nobody could resume or end it. */
    rc = fo_store_get_running_failover(s, name, &f);
    if (rc == 0)
        return fo_errf(err, FO_EBUSY, "cluster '%s' has a failover running (epoch %llu)", name,
                       (unsigned long long)f.epoch);
    if (rc != FO_ENOTFOUND) return fo_errf(err, rc, "read failovers of '%s': %s", name, fo_strerror(rc));
    rc = store_count(s, ST_INSTANCE_COUNT, name, &n, err);
    if (rc != 0) return rc;
    /* Instances first: the foreign key from instances to clusters forbids the
     * other order. */
    rc = store_stmt_get(s, ST_INSTANCE_DELETE_IN, &st, err);
    if (rc != 0) return rc;
    rc = store_stmt_run(s, ST_INSTANCE_DELETE_IN, st, store_bind_text(st, 1, name), err);
    if (rc != 0) return rc;
    rc = store_stmt_get(s, ST_READER_HOLDER_DEL_IN, &st, err);
    if (rc != 0) return rc;
    rc = store_stmt_run(s, ST_READER_HOLDER_DEL_IN, st, store_bind_text(st, 1, name), err);
    if (rc != 0) return rc;
    rc = store_stmt_get(s, ST_CLUSTER_DELETE, &st, err);
    if (rc != 0) return rc;
    rc = store_stmt_run(s, ST_CLUSTER_DELETE, st, store_bind_text(st, 1, name), err);
    if (rc != 0) return rc;
    return store_event_add(s, cmd, name, NULL, 0, "cluster_remove", err, "removed with %lld instance(s)", (long long)n);
}

const struct store_command store_cmd_cluster_remove = {validate_cluster_remove, apply_cluster_remove};

/* ------------------------------------------------------------ cluster_problems */

static int validate_cluster_problems(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__ClusterProblems *b = cmd->cluster_problems;
    int rc = store_check_name("cluster name", b->cluster, err);

    if (rc == 0 && b->n_problems > MAX_PROBLEMS)
        rc = fo_errf(err, FO_EINVAL, "%zu problems (at most %d)", b->n_problems, MAX_PROBLEMS);
    return rc;
}

/* Joins the problems with sep, each fitted to PROBLEM_LEN. Problems that no longer
 * fit in dst are left out whole rather than cut, so every stored line is complete.
 * Fitting turns newlines inside a problem into spaces, which keeps "\n" a safe
 * separator for the stored form. */
static void join_problems(char *dst, size_t dstlen, const Fo__ClusterProblems *b, const char *sep)
{
    char one[PROBLEM_LEN];
    size_t used = 0, n, seplen = strlen(sep);
    size_t i;

    dst[0] = '\0';
    for (i = 0; i < b->n_problems; i++) {
        store_fit_text(one, sizeof(one), b->problems[i]);
        n = strlen(one);
        if (n == 0) continue;
        if (used + (used > 0 ? seplen : 0) + n >= dstlen) break;
        if (used > 0) {
            memcpy(dst + used, sep, seplen);
            used += seplen;
        }
        memcpy(dst + used, one, n + 1);
        used += n;
    }
}

static int apply_cluster_problems(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__ClusterProblems *b = cmd->cluster_problems;
    char problems[sizeof(((struct fo_store_cluster *)0)->problems)];
    char shown[sizeof(problems)];
    struct fo_store_cluster old;
    sqlite3_stmt *st;
    int rc = store_cluster_load(s, b->cluster, &old, err);

    if (rc != 0) return rc;
    join_problems(problems, sizeof(problems), b, "\n");
    /* Proposed when the set changes; a repeat is harmless and leaves no trace. */
    if (strcmp(problems, old.problems) == 0) return 0;

    rc = store_stmt_get(s, ST_CLUSTER_SET_PROBLEMS, &st, err);
    if (rc != 0) return rc;
    rc = store_bind_text(st, 1, b->cluster);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 2, problems);
    rc = store_stmt_run(s, ST_CLUSTER_SET_PROBLEMS, st, rc, err);
    if (rc != 0) return rc;
    join_problems(shown, sizeof(shown), b, "; ");
    return store_event_add(s, cmd, b->cluster, NULL, 0, "problems", err, "%s", shown[0] != '\0' ? shown : "cleared");
}

const struct store_command store_cmd_cluster_problems = {validate_cluster_problems, apply_cluster_problems};

/* ------------------------------------------------------------ maintenance */

static int validate_maintenance(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__Maintenance *b = cmd->maintenance;
    int rc = store_check_name("cluster name", b->cluster, err);

    if (rc != 0) return rc;
    if (b->host[0] == '\0') {
        if (b->port != 0) return fo_errf(err, FO_EINVAL, "port %u given without a host", b->port);
        return 0;
    }
    rc = store_check_host("host", b->host, err);
    if (rc == 0) rc = store_check_port("port", b->port, err);
    return rc;
}

static int set_cluster_maintenance(struct fo_store *s, const Fo__Maintenance *b, char err[FO_ERRLEN])
{
    struct fo_store_cluster old;
    sqlite3_stmt *st;
    int rc = store_cluster_load(s, b->cluster, &old, err);

    if (rc == 0) rc = store_stmt_get(s, ST_CLUSTER_SET_MAINT, &st, err);
    if (rc != 0) return rc;
    rc = store_bind_text(st, 1, b->cluster);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 2, b->on ? 1 : 0);
    return store_stmt_run(s, ST_CLUSTER_SET_MAINT, st, rc, err);
}

static int set_instance_maintenance(struct fo_store *s, const Fo__Maintenance *b, char err[FO_ERRLEN])
{
    struct fo_store_instance old;
    sqlite3_stmt *st;
    int rc = store_instance_load(s, b->cluster, b->host, b->port, &old, err);

    if (rc == 0) rc = store_stmt_get(s, ST_INSTANCE_SET_MAINT, &st, err);
    if (rc != 0) return rc;
    rc = store_bind_key(st, b->cluster, b->host, b->port);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 4, b->on ? 1 : 0);
    return store_stmt_run(s, ST_INSTANCE_SET_MAINT, st, rc, err);
}

/* Maintenance is an operator's decision and the reason exists only in the history,
 * so it is recorded even when the flag does not change. */
static int apply_maintenance(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__Maintenance *b = cmd->maintenance;
    bool whole = b->host[0] == '\0';
    int rc = whole ? set_cluster_maintenance(s, b, err) : set_instance_maintenance(s, b, err);

    if (rc != 0) return rc;
    return store_event_add(s, cmd, b->cluster, whole ? NULL : b->host, b->port, "maintenance", err, "%s%s%s",
                           b->on ? "on" : "off", b->reason[0] != '\0' ? ": " : "", b->reason);
}

const struct store_command store_cmd_maintenance = {validate_maintenance, apply_maintenance};

/* ------------------------------------------------------------ shared setters */

int store_cluster_set_u64(struct fo_store *s, enum store_stmt_id id, const char *name, uint64_t v, char err[FO_ERRLEN])
{
    sqlite3_stmt *st;
    int rc = store_stmt_get(s, id, &st, err);

    if (rc != 0) return rc;
    rc = store_bind_text(st, 1, name);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)v);
    return store_stmt_run(s, id, st, rc, err);
}

int store_cluster_set_primary(struct fo_store *s, const char *name, const char *host, uint32_t port,
                              char err[FO_ERRLEN])
{
    sqlite3_stmt *st;
    int rc = store_stmt_get(s, ST_CLUSTER_SET_PRIMARY, &st, err);

    if (rc != 0) return rc;
    rc = store_bind_text(st, 1, name);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 2, host);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, port);
    return store_stmt_run(s, ST_CLUSTER_SET_PRIMARY, st, rc, err);
}

/* ------------------------------------------------------------ ack */

static int validate_ack(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    return store_check_name("cluster name", cmd->ack->cluster, err);
}

/* The operator's "I have looked at it": lifts the anti-flap block (DESIGN.md §6).
 * Recorded even without a block, because who acknowledged what is history. */
static int apply_ack(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const char *name = cmd->ack->cluster;
    struct fo_store_cluster c;
    int rc = store_cluster_load(s, name, &c, err);

    if (rc == 0) rc = store_cluster_set_u64(s, ST_CLUSTER_SET_BLOCK, name, 0, err);
    if (rc != 0) return rc;
    return store_event_add(s, cmd, name, NULL, 0, "ack", err, "%s",
                           c.blocked_until_ms != 0 ? "anti-flap block cleared" : "no anti-flap block was set");
}

const struct store_command store_cmd_ack = {validate_ack, apply_ack};

/* ------------------------------------------------------------ set_primary */

static int validate_set_primary(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__SetPrimary *b = cmd->set_primary;
    int rc = store_check_name("cluster name", b->cluster, err);

    if (rc == 0) rc = store_check_host("host", b->host, err);
    if (rc == 0) rc = store_check_port("port", b->port, err);
    return rc;
}

/* Proposed when the writer is first observed; a repeat leaves no trace. */
static int apply_set_primary(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__SetPrimary *b = cmd->set_primary;
    char from[FO_ADDR_LEN], to[FO_ADDR_LEN];
    struct fo_store_cluster c;
    struct fo_store_instance i;
    int rc = store_cluster_load(s, b->cluster, &c, err);

    if (rc == 0) rc = store_instance_load(s, b->cluster, b->host, b->port, &i, err);
    if (rc != 0) return rc;
    if (strcmp(c.primary_host, b->host) == 0 && c.primary_port == b->port) return 0;
    rc = store_cluster_set_primary(s, b->cluster, b->host, b->port, err);
    if (rc != 0) return rc;
    store_describe_addr(from, sizeof(from), c.primary_host, c.primary_port);
    store_format_addr(to, sizeof(to), b->host, b->port);
    return store_event_add(s, cmd, b->cluster, b->host, b->port, "primary", err, "%s -> %s", from, to);
}

const struct store_command store_cmd_set_primary = {validate_set_primary, apply_set_primary};

/* ------------------------------------------------------------ vip_holder */

static int vip_holder_set(struct fo_store *s, const Fo__VipHolder *b, char err[FO_ERRLEN])
{
    sqlite3_stmt *st;
    int rc = store_stmt_get(s, ST_CLUSTER_SET_VIP_HOLDER, &st, err);

    if (rc != 0) return rc;
    rc = store_bind_text(st, 1, b->cluster);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 2, b->host);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, b->port);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)b->epoch);
    return store_stmt_run(s, ST_CLUSTER_SET_VIP_HOLDER, st, rc, err);
}

static int validate_vip_holder(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__VipHolder *b = cmd->vip_holder;
    int rc = store_check_name("cluster name", b->cluster, err);

    if (rc == 0) rc = store_check_text("detail", b->detail, 512, true, err);
    if (rc == 0) rc = store_check_text("vip", b->vip, FO_VIP_LEN, true, err);
    if (rc != 0 || b->host[0] == '\0') return rc;
    rc = store_check_host("host", b->host, err);
    if (rc == 0) rc = store_check_port("port", b->port, err);
    return rc;
}

/* A reader VIP's holder, in vip_holders (host "" deletes the row). */
static int apply_reader_holder(struct fo_store *s, const Fo__Command *cmd, const struct fo_store_cluster *c,
                               char err[FO_ERRLEN])
{
    const Fo__VipHolder *b = cmd->vip_holder;
    char from[FO_ADDR_LEN], to[FO_ADDR_LEN], old_host[FO_HOST_LEN];
    struct fo_store_instance i;
    uint16_t old_port;
    uint64_t old_epoch;
    sqlite3_stmt *st;
    unsigned k;
    int rc;

    for (k = 0; k < c->n_reader_vips && strcmp(c->reader_vips[k], b->vip) != 0; k++) {
    }
    if (k == c->n_reader_vips) return fo_errf(err, FO_EINVAL, "'%s' is not a reader VIP of %s", b->vip, b->cluster);
    if (b->epoch > c->epoch)
        return fo_errf(err, FO_EINVAL, "epoch %llu is beyond the cluster's epoch %llu", (unsigned long long)b->epoch,
                       (unsigned long long)c->epoch);
    if (b->host[0] != '\0' && (rc = store_instance_load(s, b->cluster, b->host, b->port, &i, err)) != 0) return rc;
    rc = fo_store_get_reader_holder(s, b->cluster, b->vip, old_host, &old_port, &old_epoch);
    if (rc != 0) return fo_errf(err, rc, "read the holder of %s", b->vip);
    if (strcmp(old_host, b->host) == 0 && old_port == b->port && old_epoch == b->epoch) return 0;
    if (b->host[0] != '\0') {
        rc = store_stmt_get(s, ST_READER_HOLDER_SET, &st, err);
        if (rc != 0) return rc;
        rc = store_bind_text(st, 1, b->cluster);
        if (rc == SQLITE_OK) rc = store_bind_text(st, 2, b->vip);
        if (rc == SQLITE_OK) rc = store_bind_text(st, 3, b->host);
        if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 4, b->port);
        if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)b->epoch);
        rc = store_stmt_run(s, ST_READER_HOLDER_SET, st, rc, err);
    } else {
        rc = store_stmt_get(s, ST_READER_HOLDER_DEL, &st, err);
        if (rc != 0) return rc;
        rc = store_bind_text(st, 1, b->cluster);
        if (rc == SQLITE_OK) rc = store_bind_text(st, 2, b->vip);
        rc = store_stmt_run(s, ST_READER_HOLDER_DEL, st, rc, err);
    }
    if (rc != 0) return rc;
    store_describe_addr(from, sizeof(from), old_host, old_port);
    store_describe_addr(to, sizeof(to), b->host, b->port);
    return store_event_add(s, cmd, b->cluster, b->host[0] ? b->host : NULL, b->port, "vip", err,
                           "reader %s %s -> %s (epoch %llu)%s%s", b->vip, from, to, (unsigned long long)b->epoch,
                           b->detail[0] ? ": " : "", b->detail);
}

/* The holder names a registered instance of a cluster that has a VIP, at an epoch the
 * cluster has reached: the leader never acquires at an epoch that was not begun. */
static int apply_vip_holder(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__VipHolder *b = cmd->vip_holder;
    char from[FO_ADDR_LEN], to[FO_ADDR_LEN];
    struct fo_store_cluster c;
    struct fo_store_instance i;
    int rc = store_cluster_load(s, b->cluster, &c, err);

    if (rc != 0) return rc;
    if (b->vip[0] != '\0') return apply_reader_holder(s, cmd, &c, err);
    if (c.vip[0] == '\0') return fo_errf(err, FO_EINVAL, "cluster '%s' has no VIP", b->cluster);
    if (b->epoch > c.epoch)
        return fo_errf(err, FO_EINVAL, "epoch %llu is beyond the cluster's epoch %llu", (unsigned long long)b->epoch,
                       (unsigned long long)c.epoch);
    if (b->host[0] != '\0' && (rc = store_instance_load(s, b->cluster, b->host, b->port, &i, err)) != 0) return rc;
    if (strcmp(c.vip_host, b->host) == 0 && c.vip_port == b->port && c.vip_epoch == b->epoch) return 0;
    rc = vip_holder_set(s, b, err);
    if (rc != 0) return rc;
    store_describe_addr(from, sizeof(from), c.vip_host, c.vip_port);
    store_describe_addr(to, sizeof(to), b->host, b->port);
    return store_event_add(s, cmd, b->cluster, b->host[0] ? b->host : NULL, b->port, "vip", err,
                           "%s %s -> %s (epoch %llu)%s%s", c.vip, from, to, (unsigned long long)b->epoch,
                           b->detail[0] ? ": " : "", b->detail);
}

const struct store_command store_cmd_vip_holder = {validate_vip_holder, apply_vip_holder};
