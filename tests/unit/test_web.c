/* Unit tests for the web faces' pure parts (controller/admin/web.h): the instance
 * syntax of /check/<cluster>/<host:port>, the writer and reader check decisions (tables
 * of cases), and that the dashboard compiled into failoverd (web_ui.c) is byte for byte
 * controller/admin/ui/index.html (regenerate with controller/admin/ui/embed.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "controller/admin/web.h"
#include "controller/admin/web_internal.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct split_case {
    const char *in;
    int rc;
    const char *host;
    unsigned port;
};

static const struct split_case split_cases[] = {
    {"127.0.0.1:3306", 0, "127.0.0.1", 3306},
    {"db1.example.com:33061", 0, "db1.example.com", 33061},
    {"[::1]:3306", 0, "::1", 3306},
    {"db_1:1", 0, "db_1", 1},
    {"db1:65535", 0, "db1", 65535},
    {"db1", FO_EINVAL, NULL, 0},
    {":3306", FO_EINVAL, NULL, 0},
    {"db1:", FO_EINVAL, NULL, 0},
    {"db1:0", FO_EINVAL, NULL, 0},
    {"db1:65536", FO_EINVAL, NULL, 0},
    {"db1:+3306", FO_EINVAL, NULL, 0},
    {"db1:3306x", FO_EINVAL, NULL, 0},
    {"db1:99999999999999999999", FO_EINVAL, NULL, 0},
    {"../etc/passwd:1", FO_EINVAL, NULL, 0},
    {"db 1:3306", FO_EINVAL, NULL, 0},
    {"db1/x:3306", FO_EINVAL, NULL, 0},
    {"[]:3306", FO_EINVAL, NULL, 0},
    {"[::1:3306", FO_EINVAL, NULL, 0},
    {"caf\xc3\xa9:3306", FO_EINVAL, NULL, 0},
};

static void test_split(void)
{
    char host[FO_HOST_LEN], longhost[FO_HOST_LEN + 16];
    uint16_t port;
    size_t i;

    for (i = 0; i < N_ELEMS(split_cases); i++) {
        const struct split_case *c = &split_cases[i];
        int rc = fo_web_split_instance(c->in, host, &port);
        if (rc != c->rc) fprintf(stderr, "  case \"%s\"\n", c->in);
        FO_CHECK_INT(rc, c->rc);
        if (rc == 0 && c->rc == 0) {
            FO_CHECK_STR(host, c->host);
            FO_CHECK_INT(port, c->port);
        }
    }
    memset(longhost, 'a', FO_HOST_LEN);
    strcpy(longhost + FO_HOST_LEN, ":3306");
    FO_CHECK_INT(fo_web_split_instance(longhost, host, &port), FO_EINVAL);
}

/* The cluster's designated primary is db1:3306; cases vary one field of db1 (or ask
 * about db2). */
struct primary_case {
    const char *name;
    const char *host;
    int role, health;
    bool read_only, running, no_designated;
    int want;
};

static const struct primary_case primary_cases[] = {
    {"writable primary", "db1", FO_ROLE_PRIMARY, FO_HEALTH_UP, false, false, false, 200},
    {"another server", "db2", FO_ROLE_PRIMARY, FO_HEALTH_UP, false, false, false, 503},
    {"failover running", "db1", FO_ROLE_PRIMARY, FO_HEALTH_UP, false, true, false, 503},
    {"read_only", "db1", FO_ROLE_PRIMARY, FO_HEALTH_UP, true, false, false, 503},
    {"down", "db1", FO_ROLE_PRIMARY, FO_HEALTH_DOWN, false, false, false, 503},
    {"suspect", "db1", FO_ROLE_PRIMARY, FO_HEALTH_SUSPECT, false, false, false, 503},
    {"unknown health", "db1", FO_ROLE_PRIMARY, FO_HEALTH_UNKNOWN, false, false, false, 503},
    {"role not yet primary", "db1", FO_ROLE_ORPHAN, FO_HEALTH_UP, false, false, false, 503},
    {"no designated primary", "db1", FO_ROLE_PRIMARY, FO_HEALTH_UP, false, false, true, 503},
};

static void test_check_primary(void)
{
    char why[FO_WEB_WHY_LEN];
    size_t k;

    for (k = 0; k < N_ELEMS(primary_cases); k++) {
        const struct primary_case *pc = &primary_cases[k];
        struct fo_store_cluster c;
        struct fo_store_instance i;
        int got;

        memset(&c, 0, sizeof(c));
        memset(&i, 0, sizeof(i));
        if (!pc->no_designated) strcpy(c.primary_host, "db1");
        c.primary_port = 3306;
        strcpy(i.host, pc->host);
        i.port = 3306;
        i.role = pc->role;
        i.health = pc->health;
        i.read_only = pc->read_only;
        got = fo_web_check_primary(&c, &i, pc->running, why);
        if (got != pc->want) fprintf(stderr, "  case \"%s\": %s\n", pc->name, why);
        FO_CHECK_INT(got, pc->want);
        FO_CHECK(strncmp(why, got == 200 ? "yes" : "no", got == 200 ? 3 : 2) == 0);
    }
}

struct replica_case {
    const char *name;
    int role, health;
    bool maintenance, quarantined;
    const char *problem;
    unsigned limit; /* reader_max_lag_s as stored, 0 = default 30 */
    bool lag_known;
    int64_t lag_s;
    int want;
};

static const struct replica_case replica_cases[] = {
    {"healthy", FO_ROLE_REPLICA, FO_HEALTH_UP, false, false, "", 0, true, 0, 200},
    {"at the default limit", FO_ROLE_REPLICA, FO_HEALTH_UP, false, false, "", 0, true, 30, 200},
    {"beyond the default limit", FO_ROLE_REPLICA, FO_HEALTH_UP, false, false, "", 0, true, 31, 503},
    {"within a set limit", FO_ROLE_REPLICA, FO_HEALTH_UP, false, false, "", 5, true, 5, 200},
    {"beyond a set limit", FO_ROLE_REPLICA, FO_HEALTH_UP, false, false, "", 5, true, 6, 503},
    {"lag NULL", FO_ROLE_REPLICA, FO_HEALTH_UP, false, false, "", 0, true, -1, 503},
    {"lag unknown here", FO_ROLE_REPLICA, FO_HEALTH_UP, false, false, "", 0, false, 0, 503},
    {"primary", FO_ROLE_PRIMARY, FO_HEALTH_UP, false, false, "", 0, true, 0, 503},
    {"orphan", FO_ROLE_ORPHAN, FO_HEALTH_UP, false, false, "", 0, true, 0, 503},
    {"down", FO_ROLE_REPLICA, FO_HEALTH_DOWN, false, false, "", 0, true, 0, 503},
    {"maintenance", FO_ROLE_REPLICA, FO_HEALTH_UP, true, false, "", 0, true, 0, 503},
    {"quarantined", FO_ROLE_REPLICA, FO_HEALTH_UP, false, true, "", 0, true, 0, 503},
    {"replication stopped", FO_ROLE_REPLICA, FO_HEALTH_UP, false, false, "replication stopped (IO=No, SQL=Yes)", 0,
     true, 0, 503},
};

static void test_check_replica(void)
{
    char why[FO_WEB_WHY_LEN];
    size_t k;

    for (k = 0; k < N_ELEMS(replica_cases); k++) {
        const struct replica_case *rc = &replica_cases[k];
        struct fo_store_cluster c;
        struct fo_store_instance i;
        int got;

        memset(&c, 0, sizeof(c));
        memset(&i, 0, sizeof(i));
        strcpy(c.primary_host, "db1");
        c.primary_port = 3306;
        c.reader_max_lag_s = rc->limit;
        strcpy(i.host, "db2");
        i.port = 3306;
        i.role = rc->role;
        i.health = rc->health;
        i.maintenance = rc->maintenance;
        i.quarantined = rc->quarantined;
        snprintf(i.problem, sizeof(i.problem), "%s", rc->problem);
        got = fo_web_check_replica(&c, &i, rc->lag_known, rc->lag_s, why);
        if (got != rc->want) fprintf(stderr, "  case \"%s\": %s\n", rc->name, why);
        FO_CHECK_INT(got, rc->want);
    }
}

/* web_ui.c must be what embed.py makes of index.html today. */
static void test_embedded_page_matches_source(void)
{
    const char *src = getenv("FO_SOURCE_DIR");
    char path[4096];
    size_t n, cap = fo__web_ui_html_len + 2;
    char *data;
    FILE *f;

    if (src == NULL) {
        FO_SKIP("FO_SOURCE_DIR is not set (ctest sets it)");
        return;
    }
    snprintf(path, sizeof(path), "%s/controller/admin/ui/index.html", src);
    f = fopen(path, "rb");
    FO_CHECK(f != NULL);
    if (f == NULL) return;
    data = malloc(cap);
    FO_CHECK(data != NULL);
    if (data == NULL) {
        fclose(f);
        return;
    }
    n = fread(data, 1, cap, f);
    fclose(f);
    if (n != fo__web_ui_html_len || memcmp(data, fo__web_ui_html, n) != 0)
        fprintf(stderr, "  controller/admin/web_ui.c is stale: run python3 controller/admin/ui/embed.py\n");
    FO_CHECK_INT(n, fo__web_ui_html_len);
    FO_CHECK(n == fo__web_ui_html_len && memcmp(data, fo__web_ui_html, n) == 0);
    /* No CDN: the page loads nothing from elsewhere. */
    FO_CHECK(strstr(fo__web_ui_html, "http://") == NULL || strstr(fo__web_ui_html, "http://www.w3.org/2000/svg"));
    FO_CHECK(strstr(fo__web_ui_html, "https://") == NULL);
    free(data);
}

/* [failoverd] ui: on by default; "no" turns the dashboard off; a bad value is an error
 * naming the key. */
static void test_config_ui(void)
{
#define UI_MAIN                                                                                                \
    "[failoverd]\nnode_id = 1\nraft_address = 127.0.0.1:7101\nadmin_address = 127.0.0.1:7001\nhttp_address = " \
    "127.0.0.1:9501\ndata_dir = /tmp/fo1\n"
#define UI_TLS "[tls]\ninsecure = yes\n"
    struct fo_config c;
    char err[FO_ERRLEN];

    FO_CHECK_INT(fo_config_load_string(&c, "t.conf", UI_MAIN UI_TLS, err), 0);
    FO_CHECK(c.ui);
    fo_config_free(&c);
    FO_CHECK_INT(fo_config_load_string(&c, "t.conf", UI_MAIN "ui = no\n" UI_TLS, err), 0);
    FO_CHECK(!c.ui);
    fo_config_free(&c);
    FO_CHECK_INT(fo_config_load_string(&c, "t.conf", UI_MAIN "ui = yes\n" UI_TLS, err), 0);
    FO_CHECK(c.ui);
    fo_config_free(&c);
    FO_CHECK_INT(fo_config_load_string(&c, "t.conf", UI_MAIN "ui = maybe\n" UI_TLS, err), FO_ECONFIG);
    FO_CHECK(strstr(err, "ui") != NULL);
#undef UI_MAIN
#undef UI_TLS
}

FO_TEST_MAIN(FO_T(test_split), FO_T(test_check_primary), FO_T(test_check_replica),
             FO_T(test_embedded_page_matches_source), FO_T(test_config_ui))
