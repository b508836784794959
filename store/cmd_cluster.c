/* Command bodies about a whole cluster: add, remove, problems, maintenance.
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

static int validate_cluster_add(const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__ClusterAdd *b = cmd->cluster_add;
    int rc = store_check_name("cluster name", b->name, err);

    if (rc == 0) rc = store_check_text("user", b->user, FO_NAME_LEN, false, err);
    if (rc == 0) rc = store_check_text("password_file", b->password_file, FO_PATH_LEN, false, err);
    return rc;
}

static int apply_cluster_add(struct fo_store *s, const Fo__Command *cmd, char err[FO_ERRLEN])
{
    const Fo__ClusterAdd *b = cmd->cluster_add;
    struct fo_store_cluster old;
    sqlite3_stmt *st;
    int64_t n;
    int rc = store_cluster_load(s, b->name, &old, err);

    if (rc == 0) return fo_errf(err, FO_EEXIST, "cluster '%s' already exists", b->name);
    if (rc != FO_ENOTFOUND) return rc;
    rc = store_count(s, ST_CLUSTER_COUNT, NULL, &n, err);
    if (rc != 0) return rc;
    if (n >= FO_MAX_CLUSTERS)
        return fo_errf(err, FO_EINVAL, "too many clusters (at most %d)", FO_MAX_CLUSTERS);

    rc = store_stmt_get(s, ST_CLUSTER_INSERT, &st, err);
    if (rc != 0) return rc;
    rc = store_bind_text(st, 1, b->name);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 2, b->user);
    if (rc == SQLITE_OK) rc = store_bind_text(st, 3, b->password_file);
    rc = store_stmt_run(s, ST_CLUSTER_INSERT, st, rc, err);
    if (rc != 0) return rc;
    /* The password file's path is not secret (its content is), but it is not history
     * either: the event names the user only. */
    return store_event_add(s, cmd, b->name, NULL, 0, "cluster_add", err, "user=%s", b->user);
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
    sqlite3_stmt *st;
    int64_t n;
    int rc = store_cluster_load(s, name, &old, err);

    if (rc == 0) rc = store_count(s, ST_INSTANCE_COUNT, name, &n, err);
    if (rc != 0) return rc;
    /* Instances first: the foreign key from instances to clusters forbids the
     * other order. */
    rc = store_stmt_get(s, ST_INSTANCE_DELETE_IN, &st, err);
    if (rc != 0) return rc;
    rc = store_stmt_run(s, ST_INSTANCE_DELETE_IN, st, store_bind_text(st, 1, name), err);
    if (rc != 0) return rc;
    rc = store_stmt_get(s, ST_CLUSTER_DELETE, &st, err);
    if (rc != 0) return rc;
    rc = store_stmt_run(s, ST_CLUSTER_DELETE, st, store_bind_text(st, 1, name), err);
    if (rc != 0) return rc;
    return store_event_add(s, cmd, name, NULL, 0, "cluster_remove", err, "removed with %lld instance(s)",
                           (long long)n);
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
    return store_event_add(s, cmd, b->cluster, NULL, 0, "problems", err, "%s",
                           shown[0] != '\0' ? shown : "cleared");
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
