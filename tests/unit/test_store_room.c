/* Unit tests for issue 12's cluster cap: the replicated state takes any number of
 * clusters (until then apply refused a 1,025th), and fo_store_check_room, the leader's
 * [limits] max_clusters / max_servers guard, counts what the store holds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failoverd.pb-c.h"
#include "fo_test.h"
#include "store/store.h"

static int apply(struct fo_store *s, Fo__Command *c, char err[FO_ERRLEN])
{
    size_t n;
    uint8_t *p;
    int rc;

    c->version = FO_COMMAND_VERSION;
    c->wall_ms = 1700000000000ULL;
    c->origin = 1;
    n = fo__command__get_packed_size(c);
    p = malloc(n > 0 ? n : 1);
    if (p == NULL) return FO_ENOMEM;
    fo__command__pack(c, p);
    rc = fo_store_apply(s, p, n, err);
    free(p);
    return rc;
}

static int add_cluster(struct fo_store *s, const char *name, char err[FO_ERRLEN])
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__ClusterAdd b = FO__CLUSTER_ADD__INIT;

    b.name = (char *)name;
    b.user = "failoverd";
    b.password_file = "/etc/failoverd/pw";
    c.body_case = FO__COMMAND__BODY_CLUSTER_ADD;
    c.cluster_add = &b;
    return apply(s, &c, err);
}

static int add_instance(struct fo_store *s, const char *cluster, const char *host, char err[FO_ERRLEN])
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__InstanceAdd b = FO__INSTANCE_ADD__INIT;

    b.cluster = (char *)cluster;
    b.host = (char *)host;
    b.port = 3306;
    c.body_case = FO__COMMAND__BODY_INSTANCE_ADD;
    c.instance_add = &b;
    return apply(s, &c, err);
}

static struct fo_store *open_mem(void)
{
    struct fo_store *s = NULL;
    char err[FO_ERRLEN] = "";

    if (fo_store_open(&s, NULL, 0, err) != 0) fprintf(stderr, "  open: %s\n", err);
    return s;
}

/* 1,100 one-server clusters: every registration applies (the old apply refused the
 * 1,025th with "too many clusters (at most 1024)"). */
static void test_beyond_1024(void)
{
    struct fo_store *s = open_mem();
    struct fo_store_cluster c;
    char name[32], host[32], err[FO_ERRLEN] = "";
    unsigned i, failed = 0;

    FO_CHECK(s != NULL);
    if (s == NULL) return;
    for (i = 0; i < 1100; i++) {
        snprintf(name, sizeof(name), "c%u", i);
        snprintf(host, sizeof(host), "127.1.%u.%u", i / 250 + 1, i % 250 + 1);
        if (add_cluster(s, name, err) != 0 || add_instance(s, name, host, err) != 0) {
            if (failed++ == 0) fprintf(stderr, "  %s: %s\n", name, err);
        }
    }
    FO_CHECK_INT(failed, 0);
    FO_CHECK_INT(fo_store_get_cluster(s, "c1099", &c), 0);
    fo_store_close(s);
}

static void test_check_room(void)
{
    static const struct {
        unsigned max_clusters, max_servers, add_clusters, add_servers;
        int rc;
        const char *want; /* in err when rc != 0 */
    } cases[] = {
        {3, 5, 0, 0, 0, NULL},
        {3, 5, 1, 0, 0, NULL}, /* 2 clusters + 1 = 3 */
        {2, 5, 1, 0, FO_EINVAL, "2 clusters are registered, [limits] max_clusters is 2"},
        {3, 5, 0, 1, 0, NULL}, /* 4 servers + 1 = 5 */
        {3, 4, 0, 1, FO_EINVAL, "4 servers are registered, [limits] max_servers is 4"},
        {3, 4, 1, 1, FO_EINVAL, "[limits] max_servers is 4"},
        {100000, 100000, 1, 3, 0, NULL},
    };
    struct fo_store *s = open_mem();
    struct fo_limits_cfg l;
    char err[FO_ERRLEN];
    size_t i;

    FO_CHECK(s != NULL);
    if (s == NULL) return;
    FO_CHECK_INT(add_cluster(s, "a", err), 0);
    FO_CHECK_INT(add_cluster(s, "b", err), 0);
    FO_CHECK_INT(add_instance(s, "a", "10.0.0.1", err), 0);
    FO_CHECK_INT(add_instance(s, "a", "10.0.0.2", err), 0);
    FO_CHECK_INT(add_instance(s, "a", "10.0.0.3", err), 0);
    FO_CHECK_INT(add_instance(s, "b", "10.0.0.4", err), 0);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fo_limits_defaults(&l);
        l.max_clusters = cases[i].max_clusters;
        l.max_servers = cases[i].max_servers;
        err[0] = '\0';
        FO_CHECK_INT(fo_store_check_room(s, &l, cases[i].add_clusters, cases[i].add_servers, err), cases[i].rc);
        if (cases[i].want != NULL && strstr(err, cases[i].want) == NULL)
            fprintf(stderr, "  case %zu: '%s' lacks '%s'\n", i, err, cases[i].want);
        FO_CHECK(cases[i].want == NULL || strstr(err, cases[i].want) != NULL);
    }
    /* The defaults are the documented ones. */
    fo_limits_defaults(&l);
    FO_CHECK_INT(l.max_clusters, FO_DEFAULT_MAX_CLUSTERS);
    FO_CHECK_INT(l.max_servers, FO_DEFAULT_MAX_SERVERS);
    fo_store_close(s);
}

FO_TEST_MAIN(FO_T(test_beyond_1024), FO_T(test_check_room))
