/* Unit tests for store/: FSM determinism, snapshots, validation, history. */
#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "failoverd.pb-c.h"
#include "fo_test.h"
#include "store/store.h"

#define WALL 1700000000000ULL

/* ------------------------------------------------------------ command builders */

struct packed {
    uint8_t *p;
    size_t n;
};

static struct packed seal_as(Fo__Command *c, uint32_t version, uint64_t wall)
{
    struct packed out;

    c->version = version;
    c->wall_ms = wall;
    c->origin = 1;
    out.n = fo__command__get_packed_size(c);
    out.p = malloc(out.n > 0 ? out.n : 1);
    fo__command__pack(c, out.p);
    return out;
}

static struct packed seal(Fo__Command *c)
{
    return seal_as(c, FO_COMMAND_VERSION, WALL);
}

static struct packed c_cluster_add(const char *name, const char *user, const char *pw)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__ClusterAdd b = FO__CLUSTER_ADD__INIT;

    b.name = (char *)name;
    b.user = (char *)user;
    b.password_file = (char *)pw;
    c.body_case = FO__COMMAND__BODY_CLUSTER_ADD;
    c.cluster_add = &b;
    return seal(&c);
}

static struct packed c_cluster(const char *name)
{
    return c_cluster_add(name, "failoverd", "/etc/fo/pw");
}

static struct packed c_cluster_remove(const char *name)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__ClusterRemove b = FO__CLUSTER_REMOVE__INIT;

    b.name = (char *)name;
    c.body_case = FO__COMMAND__BODY_CLUSTER_REMOVE;
    c.cluster_remove = &b;
    return seal(&c);
}

static struct packed c_instance_add(const char *cluster, const char *host, uint32_t port, int rule)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__InstanceAdd b = FO__INSTANCE_ADD__INIT;

    b.cluster = (char *)cluster;
    b.host = (char *)host;
    b.port = port;
    b.rule = (Fo__PromotionRule)rule;
    c.body_case = FO__COMMAND__BODY_INSTANCE_ADD;
    c.instance_add = &b;
    return seal(&c);
}

static struct packed c_instance_remove(const char *cluster, const char *host, uint32_t port)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__InstanceRemove b = FO__INSTANCE_REMOVE__INIT;

    b.cluster = (char *)cluster;
    b.host = (char *)host;
    b.port = port;
    c.body_case = FO__COMMAND__BODY_INSTANCE_REMOVE;
    c.instance_remove = &b;
    return seal(&c);
}

struct state {
    int health, role;
    const char *source_host;
    uint32_t source_port;
    const char *problem, *last_error;
    uint64_t server_id;
    int read_only;
};

static struct packed c_state(const char *cluster, const char *host, uint32_t port, struct state st)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__InstanceState b = FO__INSTANCE_STATE__INIT;

    b.cluster = (char *)cluster;
    b.host = (char *)host;
    b.port = port;
    b.health = (Fo__Health)st.health;
    b.role = (Fo__Role)st.role;
    b.source_host = (char *)(st.source_host ? st.source_host : "");
    b.source_port = st.source_port;
    b.problem = (char *)(st.problem ? st.problem : "");
    b.last_error = (char *)(st.last_error ? st.last_error : "");
    b.server_id = st.server_id;
    b.read_only = st.read_only;
    c.body_case = FO__COMMAND__BODY_INSTANCE_STATE;
    c.instance_state = &b;
    return seal(&c);
}

static struct packed c_problems(const char *cluster, size_t n, const char **problems)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__ClusterProblems b = FO__CLUSTER_PROBLEMS__INIT;

    b.cluster = (char *)cluster;
    b.n_problems = n;
    b.problems = (char **)problems;
    c.body_case = FO__COMMAND__BODY_CLUSTER_PROBLEMS;
    c.cluster_problems = &b;
    return seal(&c);
}

static struct packed c_rule(const char *cluster, const char *host, uint32_t port, int rule)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__SetPromotionRule b = FO__SET_PROMOTION_RULE__INIT;

    b.cluster = (char *)cluster;
    b.host = (char *)host;
    b.port = port;
    b.rule = (Fo__PromotionRule)rule;
    c.body_case = FO__COMMAND__BODY_PROMOTION_RULE;
    c.promotion_rule = &b;
    return seal(&c);
}

static struct packed c_maint(const char *cluster, const char *host, uint32_t port, int on, const char *reason)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__Maintenance b = FO__MAINTENANCE__INIT;

    b.cluster = (char *)cluster;
    b.host = (char *)host;
    b.port = port;
    b.on = on;
    b.reason = (char *)reason;
    c.body_case = FO__COMMAND__BODY_MAINTENANCE;
    c.maintenance = &b;
    return seal(&c);
}

static struct packed c_recoveries(int enabled)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__RecoveriesEnable b = FO__RECOVERIES_ENABLE__INIT;

    b.enabled = enabled;
    c.body_case = FO__COMMAND__BODY_RECOVERIES;
    c.recoveries = &b;
    return seal(&c);
}

static struct packed c_member(uint64_t id, const char *raft, const char *admin, const char *http, int removed)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__MemberNote b = FO__MEMBER_NOTE__INIT;

    b.id = id;
    b.raft_address = (char *)raft;
    b.admin_address = (char *)admin;
    b.http_address = (char *)http;
    b.removed = removed;
    c.body_case = FO__COMMAND__BODY_MEMBER_NOTE;
    c.member_note = &b;
    return seal(&c);
}

struct cluster_opts {
    const char *repl_user, *repl_password_file;
    int semi_sync;
    uint32_t anti_flap_s, max_lag_s;
};

static struct packed c_cluster_opts(const char *name, struct cluster_opts o)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__ClusterAdd b = FO__CLUSTER_ADD__INIT;

    b.name = (char *)name;
    b.user = "failoverd";
    b.password_file = "/etc/fo/pw";
    b.repl_user = (char *)(o.repl_user ? o.repl_user : "");
    b.repl_password_file = (char *)(o.repl_password_file ? o.repl_password_file : "");
    b.semi_sync = o.semi_sync;
    b.anti_flap_s = o.anti_flap_s;
    b.max_lag_s = o.max_lag_s;
    c.body_case = FO__COMMAND__BODY_CLUSTER_ADD;
    c.cluster_add = &b;
    return seal(&c);
}

/* The evidence every begin and decision below carries, unless told otherwise. */
static Fo__Confirmation conf1 = {PROTOBUF_C_MESSAGE_INIT(&fo__confirmation__descriptor), 1, 1, 0, ""};
static Fo__Confirmation conf2 = {PROTOBUF_C_MESSAGE_INIT(&fo__confirmation__descriptor), 2, 1, 120, ""};
static Fo__Confirmation conf3 = {PROTOBUF_C_MESSAGE_INIT(&fo__confirmation__descriptor), 3, 0, 40, "ping ok"};
static Fo__ReplicaReport rep1 = {
    PROTOBUF_C_MESSAGE_INIT(&fo__replica_report__descriptor), "127.0.0.1", 3307, 1, "Connecting", ""};
static Fo__ReplicaReport rep2 = {
    PROTOBUF_C_MESSAGE_INIT(&fo__replica_report__descriptor), "127.0.0.1", 3308, 0, "", "connect timeout"};
static Fo__Confirmation *confs[] = {&conf1, &conf2, &conf3};
static Fo__ReplicaReport *reps[] = {&rep1, &rep2};
#define EVIDENCE                                                             \
    "node 1 down (0 ms), node 2 down (120 ms), node 3 up (40 ms: ping ok); " \
    "replicas: 127.0.0.1:3307 IO=Connecting, 127.0.0.1:3308 unreachable (connect timeout)"

struct begin {
    const char *cluster;
    uint64_t epoch;
    int kind;
    const char *old_host;
    uint32_t old_port;
    const char *reason;
    const char *target_host;
    uint32_t target_port;
    int no_evidence;
};

static struct packed c_begin_at(struct begin bg, uint64_t wall)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__FailoverBegin b = FO__FAILOVER_BEGIN__INIT;

    b.cluster = (char *)bg.cluster;
    b.epoch = bg.epoch;
    b.kind = (Fo__FailoverKind)bg.kind;
    b.old_host = (char *)(bg.old_host ? bg.old_host : "10.0.0.1");
    b.old_port = bg.old_port;
    b.reason = (char *)(bg.reason ? bg.reason : "");
    b.target_host = (char *)(bg.target_host ? bg.target_host : "");
    b.target_port = bg.target_port;
    if (!bg.no_evidence) {
        b.n_confirmations = 3;
        b.confirmations = confs;
        b.n_replicas = 2;
        b.replicas = reps;
    }
    c.body_case = FO__COMMAND__BODY_FAILOVER_BEGIN;
    c.failover_begin = &b;
    return seal_as(&c, FO_COMMAND_VERSION, wall);
}

static struct packed c_begin(struct begin bg)
{
    return c_begin_at(bg, WALL);
}

/* The usual begin: auto failover of demo's 10.0.0.1:3306. */
static struct packed c_begin_auto(const char *cluster, uint64_t epoch)
{
    return c_begin((struct begin){cluster, epoch, 0, "10.0.0.1", 3306, "primary dead", NULL, 0, 0});
}

static struct packed c_step(const char *cluster, uint64_t epoch, int step, uint32_t ms, const char *detail,
                            const char *new_host, uint32_t new_port)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__FailoverStepDone b = FO__FAILOVER_STEP_DONE__INIT;

    b.cluster = (char *)cluster;
    b.epoch = epoch;
    b.step = (Fo__FailoverStep)step;
    b.duration_ms = ms;
    b.detail = (char *)(detail ? detail : "");
    b.new_host = (char *)(new_host ? new_host : "");
    b.new_port = new_port;
    c.body_case = FO__COMMAND__BODY_FAILOVER_STEP;
    c.failover_step = &b;
    return seal(&c);
}

static struct packed c_end_at(const char *cluster, uint64_t epoch, int result, const char *detail, uint32_t total,
                              uint64_t wall)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__FailoverEnd b = FO__FAILOVER_END__INIT;

    b.cluster = (char *)cluster;
    b.epoch = epoch;
    b.result = (Fo__FailoverResult)result;
    b.detail = (char *)(detail ? detail : "");
    b.total_ms = total;
    c.body_case = FO__COMMAND__BODY_FAILOVER_END;
    c.failover_end = &b;
    return seal_as(&c, FO_COMMAND_VERSION, wall);
}

static struct packed c_end(const char *cluster, uint64_t epoch, int result, const char *detail, uint32_t total)
{
    return c_end_at(cluster, epoch, result, detail, total, WALL);
}

static struct packed c_decision_n(const char *cluster, const char *verdict, const char *reason, const char *host,
                                  uint32_t port, size_t n_reps, Fo__ReplicaReport **rp)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__Decision b = FO__DECISION__INIT;

    b.cluster = (char *)cluster;
    b.verdict = (char *)verdict;
    b.reason = (char *)(reason ? reason : "");
    b.host = (char *)(host ? host : "");
    b.port = port;
    b.n_confirmations = 3;
    b.confirmations = confs;
    b.n_replicas = n_reps;
    b.replicas = rp;
    c.body_case = FO__COMMAND__BODY_DECISION;
    c.decision = &b;
    return seal(&c);
}

static struct packed c_decision(const char *cluster, const char *verdict, const char *reason, const char *host,
                                uint32_t port)
{
    return c_decision_n(cluster, verdict, reason, host, port, 2, reps);
}

static struct packed c_ack(const char *cluster)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__Ack b = FO__ACK__INIT;

    b.cluster = (char *)cluster;
    c.body_case = FO__COMMAND__BODY_ACK;
    c.ack = &b;
    return seal(&c);
}

static struct packed c_quarantine(const char *cluster, const char *host, uint32_t port, int on, const char *reason)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__Quarantine b = FO__QUARANTINE__INIT;

    b.cluster = (char *)cluster;
    b.host = (char *)host;
    b.port = port;
    b.on = on;
    b.reason = (char *)(reason ? reason : "");
    c.body_case = FO__COMMAND__BODY_QUARANTINE;
    c.quarantine = &b;
    return seal(&c);
}

static struct packed c_set_primary(const char *cluster, const char *host, uint32_t port)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__SetPrimary b = FO__SET_PRIMARY__INIT;

    b.cluster = (char *)cluster;
    b.host = (char *)host;
    b.port = port;
    c.body_case = FO__COMMAND__BODY_SET_PRIMARY;
    c.set_primary = &b;
    return seal(&c);
}

static struct packed c_cluster_vip(const char *name, const char *vip, const char *ifname, uint32_t lease_ms)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__ClusterAdd b = FO__CLUSTER_ADD__INIT;

    b.name = (char *)name;
    b.user = "failoverd";
    b.password_file = "/etc/fo/pw";
    b.vip = (char *)vip;
    b.vip_interface = (char *)ifname;
    b.agent_port = 7301;
    b.vip_lease_ms = lease_ms;
    c.body_case = FO__COMMAND__BODY_CLUSTER_ADD;
    c.cluster_add = &b;
    return seal(&c);
}

static struct packed c_cluster_readers(const char *name, const char *vip, char **readers, size_t n)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__ClusterAdd b = FO__CLUSTER_ADD__INIT;

    b.name = (char *)name;
    b.user = "failoverd";
    b.password_file = "/etc/fo/pw";
    b.vip = (char *)vip;
    b.vip_interface = "eth0";
    b.n_reader_vips = n;
    b.reader_vips = readers;
    b.reader_max_lag_s = 12;
    c.body_case = FO__COMMAND__BODY_CLUSTER_ADD;
    c.cluster_add = &b;
    return seal(&c);
}

static struct packed c_reader_holder(const char *cluster, const char *vip, const char *host, uint32_t port,
                                     uint64_t epoch)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__VipHolder b = FO__VIP_HOLDER__INIT;

    b.cluster = (char *)cluster;
    b.vip = (char *)vip;
    b.host = (char *)host;
    b.port = port;
    b.epoch = epoch;
    b.detail = "";
    c.body_case = FO__COMMAND__BODY_VIP_HOLDER;
    c.vip_holder = &b;
    return seal(&c);
}

static struct packed c_vip_holder(const char *cluster, const char *host, uint32_t port, uint64_t epoch)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__VipHolder b = FO__VIP_HOLDER__INIT;

    b.cluster = (char *)cluster;
    b.host = (char *)host;
    b.port = port;
    b.epoch = epoch;
    b.detail = "test";
    c.body_case = FO__COMMAND__BODY_VIP_HOLDER;
    c.vip_holder = &b;
    return seal(&c);
}

static struct packed raw(const void *bytes, size_t n)
{
    struct packed out = {malloc(n > 0 ? n : 1), n};

    memcpy(out.p, bytes, n);
    return out;
}

/* ------------------------------------------------------------ helpers */

/* Applies p (and frees it); true if the result is `want`. Prints err otherwise. */
static int apply_is(struct fo_store *s, struct packed p, int want)
{
    char err[FO_ERRLEN] = "";
    int rc = fo_store_apply(s, p.p, p.n, err);

    free(p.p);
    if (rc != want) fprintf(stderr, "  apply: got %s (%s), want %s\n", fo_errname(rc), err, fo_errname(want));
    return rc == want;
}

#define APPLY_OK(s, p) FO_CHECK(apply_is((s), (p), 0))

static struct fo_store *open_mem(void)
{
    struct fo_store *s = NULL;
    char err[FO_ERRLEN] = "";

    if (fo_store_open(&s, NULL, 0, err) != 0) fprintf(stderr, "  open: %s\n", err);
    return s;
}

static char *dump(struct fo_store *s)
{
    struct fo_buf b;

    fo_buf_init(&b);
    if (fo_store_dump(s, &b) != 0) {
        fo_buf_free(&b);
        return strdup("(dump failed)");
    }
    return b.p;
}

/* Everything but the history: the dump up to [events], which the other history
 * tables (failovers, decisions) follow. */
static char *dump_tables(struct fo_store *s)
{
    char *d = dump(s), *ev = strstr(d, "[events]");

    if (ev != NULL) *ev = '\0';
    return d;
}

static int count_event(void *data, const struct fo_store_event *e)
{
    (*(unsigned *)data)++;
    return 0;
}

static unsigned n_events(struct fo_store *s, const char *cluster)
{
    unsigned n = 0;

    fo_store_each_event(s, cluster, UINT_MAX, count_event, &n);
    return n;
}

static int copy_event(void *data, const struct fo_store_event *e)
{
    *(struct fo_store_event *)data = *e;
    return 0;
}

static struct fo_store_event newest(struct fo_store *s)
{
    struct fo_store_event e;

    memset(&e, 0, sizeof(e));
    fo_store_each_event(s, NULL, 1, copy_event, &e);
    return e;
}

/* A small but complete history: clusters, instances, states, failures. */
static void apply_scenario(struct fo_store *s)
{
    static const char *problems[] = {"no primary", "multiple writable: a, b"};

    APPLY_OK(s, c_cluster_add("demo", "failoverd", "/etc/failoverd/demo.password"));
    APPLY_OK(s, c_cluster("other"));
    APPLY_OK(s, c_instance_add("demo", "10.0.0.1", 3306, FO_RULE_PREFER));
    APPLY_OK(s, c_instance_add("demo", "10.0.0.2", 3306, FO_RULE_NEUTRAL));
    APPLY_OK(s, c_instance_add("demo", "10.0.0.3", 3307, FO_RULE_MUST_NOT));
    APPLY_OK(s, c_instance_add("other", "db.example", 3306, FO_RULE_NEUTRAL));
    APPLY_OK(s, c_state("demo", "10.0.0.1", 3306, (struct state){1, 1, NULL, 0, NULL, NULL, 11, 0}));
    APPLY_OK(s, c_state("demo", "10.0.0.2", 3306, (struct state){1, 2, "10.0.0.1", 3306, NULL, NULL, 12, 1}));
    APPLY_OK(s, c_state("demo", "10.0.0.3", 3307, (struct state){3, 0, NULL, 0, NULL, "connect timeout", 0, 0}));
    FO_CHECK(apply_is(s, c_instance_add("demo", "10.0.0.1", 3306, 0), FO_EEXIST));
    FO_CHECK(apply_is(s, c_instance_add("nope", "10.0.0.1", 3306, 0), FO_ENOTFOUND));
    APPLY_OK(s, c_problems("demo", 2, problems));
    APPLY_OK(s, c_rule("demo", "10.0.0.2", 3306, FO_RULE_PREFER_NOT));
    APPLY_OK(s, c_maint("other", "", 0, 1, "upgrade"));
    APPLY_OK(s, c_maint("demo", "10.0.0.3", 3307, 1, ""));
    APPLY_OK(s, c_member(1, "127.0.0.1:7101", "127.0.0.1:7001", "127.0.0.1:9501", 0));
    APPLY_OK(s, c_member(2, "127.0.0.1:7102", "127.0.0.1:7002", "", 0));
    APPLY_OK(s, c_recoveries(0));
    APPLY_OK(s, c_instance_remove("other", "db.example", 3306));
    /* Failover state, so that snapshots carry every table. */
    APPLY_OK(s, c_set_primary("demo", "10.0.0.1", 3306));
    APPLY_OK(s, c_decision("demo", "dead_primary", "confirmed", "10.0.0.1", 3306));
    APPLY_OK(s, c_begin_auto("demo", 1));
    APPLY_OK(s, c_step("demo", 1, 2, 12, "fenced", NULL, 0));
    APPLY_OK(s, c_quarantine("demo", "10.0.0.3", 3307, 1, "errant GTID"));
    APPLY_OK(s, c_state("demo", "10.0.0.2", 3306, (struct state){1, 1, NULL, 0, "writable", NULL, 12, 0}));
}

/* ------------------------------------------------------------ tests */

static void test_open_memory(void)
{
    struct fo_store *a = NULL, *b = NULL;
    struct fo_store_cluster c;
    char err[FO_ERRLEN] = "";

    FO_CHECK_INT(fo_store_open(&a, NULL, 0, err), 0);
    FO_CHECK_INT(fo_store_open(&b, ":memory:", FO_STORE_FRESH, err), 0);
    if (a == NULL || b == NULL) goto done;
    FO_CHECK_INT(fo_store_schema_version(a), 5);
    FO_CHECK(fo_store_recoveries_enabled(a));
    FO_CHECK_INT(fo_store_get_cluster(a, "demo", &c), FO_ENOTFOUND);
    FO_CHECK_INT(n_events(a, NULL), 0);
    /* Two in-memory stores are private to each other. */
    APPLY_OK(a, c_cluster("demo"));
    FO_CHECK_INT(fo_store_get_cluster(b, "demo", &c), FO_ENOTFOUND);
done:
    fo_store_close(a);
    fo_store_close(b);
}

/* The FSM property: the same entries give the same tables, results and messages. */
static void test_determinism(void)
{
    struct fo_store *a = open_mem(), *b = open_mem();
    struct packed list[] = {
        c_cluster("det"),
        c_instance_add("det", "10.0.0.1", 3306, 1),
        c_instance_add("det", "10.0.0.1", 3306, 1),
        c_instance_add("det", "::1", 3306, 0),
        c_state("det", "10.0.0.1", 3306, (struct state){1, 1, NULL, 0, NULL, NULL, 1, 0}),
        c_state("det", "::1", 3306, (struct state){2, 2, "10.0.0.1", 3306, "lagging", "slow", 2, 1}),
        c_state("det", "missing", 3306, (struct state){1, 1, NULL, 0, NULL, NULL, 1, 0}),
        c_member(3, "127.0.0.1:7103", "127.0.0.1:7003", "", 0),
        c_recoveries(0),
        c_recoveries(1),
        c_cluster_remove("det"),
        c_cluster("det"),
        /* The failover engine's commands, including refused ones. */
        c_cluster_opts("fo", (struct cluster_opts){"repl", "/etc/fo/repl.pw", 1, 60, 5}),
        c_instance_add("fo", "10.0.0.1", 3306, 0),
        c_instance_add("fo", "10.0.0.2", 3306, 1),
        c_set_primary("fo", "10.0.0.1", 3306),
        c_set_primary("fo", "10.0.0.9", 3306),
        c_decision("fo", "dead_primary", "confirmed", "10.0.0.1", 3306),
        c_begin_auto("fo", 2),
        c_begin_auto("fo", 1),
        c_begin_auto("fo", 2),
        c_step("fo", 1, 2, 10, "fenced", NULL, 0),
        c_step("fo", 1, 2, 10, "fenced", NULL, 0),
        c_step("fo", 1, 3, 20, NULL, "10.0.0.2", 3306),
        c_end("fo", 1, 1, "ok", 40),
        c_end("fo", 1, 1, "ok", 40),
        c_ack("fo"),
        c_quarantine("fo", "10.0.0.1", 3306, 1, "old primary"),
        c_quarantine("fo", "10.0.0.1", 3306, 1, "old primary"),
        c_begin((struct begin){"fo", 2, 2, "10.0.0.2", 3306, "planned", "10.0.0.1", 3306, 0}),
        c_cluster_remove("fo"),
    };
    char err_a[FO_ERRLEN], err_b[FO_ERRLEN];
    char *da, *db;
    size_t i;

    for (i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
        strcpy(err_a, "");
        strcpy(err_b, "");
        FO_CHECK_INT(fo_store_apply(a, list[i].p, list[i].n, err_a), fo_store_apply(b, list[i].p, list[i].n, err_b));
        FO_CHECK_STR(err_a, err_b);
        free(list[i].p);
    }
    apply_scenario(a);
    apply_scenario(b);
    da = dump(a);
    db = dump(b);
    FO_CHECK_STR(da, db);
    FO_CHECK(strstr(da, "name='demo' user='failoverd' password_file='/etc/failoverd/demo.password'") != NULL);
    FO_CHECK(strstr(da, "kind='health' detail='unknown -> down: connect timeout'") != NULL);
    FO_CHECK(strstr(da, "instance='[::1]:3306'") != NULL);
    FO_CHECK(strstr(da, "steps='fence=10ms choose=20ms'") != NULL);
    FO_CHECK(strstr(da, "verdict='dead_primary'") != NULL);
    free(da);
    free(db);
    fo_store_close(a);
    fo_store_close(b);
}

struct collect {
    unsigned n;
    char names[8][256];
    int stop_at; /* 1-based row at which to return 42, 0 = never */
};

static int collect_instance(void *data, const struct fo_store_instance *i)
{
    struct collect *c = data;

    if (c->n < 8) snprintf(c->names[c->n], sizeof(c->names[0]), "%s/%s:%u", i->cluster, i->host, i->port);
    c->n++;
    return c->stop_at != 0 && (int)c->n == c->stop_at ? 42 : 0;
}

static int collect_cluster(void *data, const struct fo_store_cluster *cl)
{
    struct collect *c = data;

    if (c->n < 8) snprintf(c->names[c->n], sizeof(c->names[0]), "%s", cl->name);
    c->n++;
    return 0;
}

static int collect_member(void *data, const struct fo_store_member *m)
{
    struct collect *c = data;

    if (c->n < 8) snprintf(c->names[c->n], sizeof(c->names[0]), "%llu=%s", (unsigned long long)m->id, m->raft_address);
    c->n++;
    return 0;
}

static void test_reads(void)
{
    struct fo_store *s = open_mem();
    struct fo_store_cluster c;
    struct fo_store_instance i;
    struct fo_store_member m;
    struct collect col;

    apply_scenario(s);
    FO_CHECK_INT(fo_store_get_cluster(s, "demo", &c), 0);
    FO_CHECK_STR(c.user, "failoverd");
    FO_CHECK_STR(c.password_file, "/etc/failoverd/demo.password");
    FO_CHECK_STR(c.problems, "no primary\nmultiple writable: a, b");
    FO_CHECK(!c.maintenance);
    FO_CHECK_INT(fo_store_get_cluster(s, "other", &c), 0);
    FO_CHECK(c.maintenance);

    FO_CHECK_INT(fo_store_get_instance(s, "demo", "10.0.0.2", 3306, &i), 0);
    FO_CHECK_INT(i.health, 1);
    FO_CHECK_INT(i.role, 1);
    FO_CHECK_STR(i.source_host, "");
    FO_CHECK_INT(i.source_port, 0);
    FO_CHECK_STR(i.problem, "writable");
    FO_CHECK_INT(i.rule, FO_RULE_PREFER_NOT);
    FO_CHECK_INT(i.server_id, 12);
    FO_CHECK(!i.read_only);
    FO_CHECK_INT(fo_store_get_instance(s, "demo", "10.0.0.3", 3307, &i), 0);
    FO_CHECK_INT(i.health, 3);
    FO_CHECK_STR(i.last_error, "connect timeout");
    FO_CHECK(i.maintenance);
    FO_CHECK_INT(fo_store_get_instance(s, "demo", "10.0.0.3", 3306, &i), FO_ENOTFOUND);
    FO_CHECK_INT(fo_store_get_instance(s, "other", "db.example", 3306, &i), FO_ENOTFOUND);

    memset(&col, 0, sizeof(col));
    FO_CHECK_INT(fo_store_each_instance(s, NULL, collect_instance, &col), 0);
    FO_CHECK_INT(col.n, 3);
    FO_CHECK_STR(col.names[0], "demo/10.0.0.1:3306");
    FO_CHECK_STR(col.names[2], "demo/10.0.0.3:3307");
    memset(&col, 0, sizeof(col));
    col.stop_at = 2;
    FO_CHECK_INT(fo_store_each_instance(s, "demo", collect_instance, &col), 42);
    FO_CHECK_INT(col.n, 2);
    memset(&col, 0, sizeof(col));
    FO_CHECK_INT(fo_store_each_instance(s, "other", collect_instance, &col), 0);
    FO_CHECK_INT(col.n, 0);

    memset(&col, 0, sizeof(col));
    FO_CHECK_INT(fo_store_each_cluster(s, collect_cluster, &col), 0);
    FO_CHECK_INT(col.n, 2);
    FO_CHECK_STR(col.names[0], "demo");
    FO_CHECK_STR(col.names[1], "other");

    memset(&col, 0, sizeof(col));
    FO_CHECK_INT(fo_store_each_member(s, collect_member, &col), 0);
    FO_CHECK_INT(col.n, 2);
    FO_CHECK_STR(col.names[0], "1=127.0.0.1:7101");
    FO_CHECK_INT(fo_store_get_member(s, 2, &m), 0);
    FO_CHECK_STR(m.admin_address, "127.0.0.1:7002");
    FO_CHECK_STR(m.http_address, "");
    FO_CHECK_INT(fo_store_get_member(s, 9, &m), FO_ENOTFOUND);
    FO_CHECK(!fo_store_recoveries_enabled(s));
    fo_store_close(s);
}

struct events_seen {
    unsigned n;
    uint64_t seq[4];
    struct fo_store_event last;
};

static int see_event(void *data, const struct fo_store_event *e)
{
    struct events_seen *v = data;

    if (v->n < 4) v->seq[v->n] = e->seq;
    v->last = *e;
    v->n++;
    return 0;
}

static void test_events(void)
{
    struct fo_store *s = open_mem();
    struct events_seen v;
    struct fo_store_event e;

    apply_scenario(s);
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_event(s, NULL, 3, see_event, &v), 0);
    FO_CHECK_INT(v.n, 3);
    FO_CHECK(v.seq[0] > v.seq[1] && v.seq[1] > v.seq[2]);
    e = newest(s);
    FO_CHECK_STR(e.kind, "problem");
    FO_CHECK_STR(e.detail, "writable");
    FO_CHECK_STR(e.cluster, "demo");
    FO_CHECK_STR(e.instance, "10.0.0.2:3306");
    FO_CHECK_INT(e.wall_ms, WALL);

    /* Per cluster, oldest last: demo's history starts with its creation. */
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_event(s, "demo", UINT_MAX, see_event, &v), 0);
    FO_CHECK_STR(v.last.kind, "cluster_add");
    FO_CHECK_STR(v.last.detail, "user=failoverd");
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_event(s, "other", UINT_MAX, see_event, &v), 0);
    FO_CHECK_INT(v.n, 4); /* cluster_add, instance_add, maintenance, instance_remove */
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_event(s, NULL, 0, see_event, &v), 0);
    FO_CHECK_INT(v.n, 0);
    fo_store_close(s);
}

static void test_snapshot_roundtrip(void)
{
    struct fo_store *a = open_mem(), *b = open_mem(), *c = open_mem();
    char err[FO_ERRLEN] = "";
    uint8_t *img = NULL;
    size_t len = 0;
    char *da, *db, *dc;

    apply_scenario(a);
    APPLY_OK(b, c_cluster("stale"));
    FO_CHECK_INT(fo_store_serialize(a, &img, &len, err), 0);
    FO_CHECK(len > 0);
    FO_CHECK_INT(fo_store_restore(c, img, len, err), 0);
    /* Restoring over existing content replaces it entirely. */
    FO_CHECK_INT(fo_store_restore(b, img, len, err), 0);
    da = dump(a);
    db = dump(b);
    dc = dump(c);
    FO_CHECK_STR(da, dc);
    FO_CHECK_STR(da, db);
    free(da);
    free(db);
    free(dc);

    /* The restored stores keep working, and stay in step with the original. */
    APPLY_OK(a, c_instance_add("demo", "10.0.0.9", 3306, 0));
    APPLY_OK(c, c_instance_add("demo", "10.0.0.9", 3306, 0));
    FO_CHECK(apply_is(c, c_cluster("demo"), FO_EEXIST));
    FO_CHECK(apply_is(a, c_cluster("demo"), FO_EEXIST));
    da = dump(a);
    dc = dump(c);
    FO_CHECK_STR(da, dc);
    FO_CHECK(!fo_store_recoveries_enabled(c));
    FO_CHECK_INT(fo_store_schema_version(c), 5);
    free(da);
    free(dc);
    free(img);
    fo_store_close(a);
    fo_store_close(b);
    fo_store_close(c);
}

/* Builds a snapshot image from a store's image after running sql on a raw copy. */
static int doctored_image(struct fo_store *s, const char *sql, uint8_t **out, size_t *outlen)
{
    char err[FO_ERRLEN];
    uint8_t *img;
    size_t len;
    unsigned char *copy, *ser;
    sqlite3 *db;
    sqlite3_int64 n = 0;
    int ok = 0;

    if (fo_store_serialize(s, &img, &len, err) != 0) return 0;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) goto done_img;
    copy = sqlite3_malloc64(len);
    memcpy(copy, img, len);
    if (sqlite3_deserialize(db, "main", copy, len, len,
                            SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK)
        goto done_db;
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) goto done_db;
    ser = sqlite3_serialize(db, "main", &n, 0);
    if (ser == NULL) goto done_db;
    *out = malloc((size_t)n);
    memcpy(*out, ser, (size_t)n);
    *outlen = (size_t)n;
    sqlite3_free(ser);
    ok = 1;
done_db:
    sqlite3_close(db);
done_img:
    free(img);
    return ok;
}

static void check_restore_fails(struct fo_store *s, const uint8_t *img, size_t len, int want, const char *what)
{
    char err[FO_ERRLEN] = "";
    char *before = dump(s), *after;
    int rc = fo_store_restore(s, img, len, err);

    if (rc != want)
        fprintf(stderr, "  restore %s: got %s (%s), want %s\n", what, fo_errname(rc), err, fo_errname(want));
    FO_CHECK_INT(rc, want);
    FO_CHECK(err[0] != '\0');
    after = dump(s);
    FO_CHECK_STR(before, after);
    free(before);
    free(after);
}

static void test_restore_rejects(void)
{
    struct fo_store *s = open_mem(), *src = open_mem();
    char err[FO_ERRLEN];
    uint8_t garbage[4096 * 3], *img = NULL, *bad = NULL;
    size_t len = 0, i, badlen = 0;

    apply_scenario(s);
    apply_scenario(src);
    APPLY_OK(src, c_cluster("extra"));
    for (i = 0; i < sizeof(garbage); i++) garbage[i] = (uint8_t)(i * 131 + 7);
    check_restore_fails(s, NULL, 0, FO_EINVAL, "empty");
    check_restore_fails(s, garbage, 10, FO_EINVAL, "short garbage");
    check_restore_fails(s, garbage, sizeof(garbage), FO_EINVAL, "garbage");
    memcpy(garbage, "SQLite format 3", 16);
    check_restore_fails(s, garbage, sizeof(garbage), FO_EINVAL, "garbage with a header");

    FO_CHECK_INT(fo_store_serialize(src, &img, &len, err), 0);
    check_restore_fails(s, img, len / 2, FO_EINVAL, "truncated");
    /* Every b-tree page after the first gets an invalid header. */
    for (i = 4096; i + 8 <= len; i += 4096) memset(img + i, 0x5a, 8);
    check_restore_fails(s, img, len, FO_EINVAL, "corrupted page");
    free(img);

    if (doctored_image(src, "UPDATE schema_version SET version = 99", &bad, &badlen)) {
        check_restore_fails(s, bad, badlen, FO_EVERSION, "newer schema");
        free(bad);
    } else {
        FO_CHECK(!"doctored image (version)");
    }
    if (doctored_image(src, "DROP TABLE schema_version", &bad, &badlen)) {
        check_restore_fails(s, bad, badlen, FO_EINVAL, "no schema_version");
        free(bad);
    } else {
        FO_CHECK(!"doctored image (no version)");
    }
    if (doctored_image(src, "DROP TABLE events", &bad, &badlen)) {
        check_restore_fails(s, bad, badlen, FO_EINVAL, "missing table");
        free(bad);
    } else {
        FO_CHECK(!"doctored image (events)");
    }
    if (doctored_image(src, "INSERT INTO instances (cluster, host, port) VALUES ('ghost', 'h', 1)", &bad, &badlen)) {
        check_restore_fails(s, bad, badlen, FO_EINVAL, "dangling instance");
        free(bad);
    } else {
        FO_CHECK(!"doctored image (fk)");
    }
    /* Still a working store afterwards. */
    APPLY_OK(s, c_cluster("after"));
    fo_store_close(s);
    fo_store_close(src);
}

struct bad_case {
    const char *name;
    struct packed cmd;
    int want;
};

/* Invalid commands change nothing at all, not even the history. */
static void test_invalid_commands(void)
{
    const char *too_many[70];
    static const char junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    char long_name[80];
    Fo__Command empty = FO__COMMAND__INIT;
    Fo__Command v0 = FO__COMMAND__INIT;
    Fo__RecoveriesEnable rec = FO__RECOVERIES_ENABLE__INIT;
    struct fo_store *s = open_mem();
    char *before, *after;
    size_t i;

    for (i = 0; i < 70; i++) too_many[i] = "problem";
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    v0.body_case = FO__COMMAND__BODY_RECOVERIES;
    v0.recoveries = &rec;
    {
        struct bad_case cases[] = {
            {"unknown cluster", c_instance_add("nope", "10.0.0.1", 3306, 0), FO_ENOTFOUND},
            {"duplicate instance", c_instance_add("demo", "10.0.0.1", 3306, 2), FO_EEXIST},
            {"duplicate cluster", c_cluster_add("demo", "other", "/x"), FO_EEXIST},
            {"port 0", c_instance_add("demo", "10.0.0.5", 0, 0), FO_EINVAL},
            {"port 70000", c_instance_add("demo", "10.0.0.5", 70000, 0), FO_EINVAL},
            {"bad name", c_cluster("bad name"), FO_EINVAL},
            {"name with slash", c_cluster("a/b"), FO_EINVAL},
            {"64-byte name", c_cluster(long_name), FO_EINVAL},
            {"empty name", c_cluster(""), FO_EINVAL},
            {"empty user", c_cluster_add("x", "", "/x"), FO_EINVAL},
            {"newline in path", c_cluster_add("x", "u", "/x\n"), FO_EINVAL},
            {"bad host", c_instance_add("demo", "10.0.0.5;drop", 3306, 0), FO_EINVAL},
            {"rule 7", c_instance_add("demo", "10.0.0.5", 3306, 7), FO_EINVAL},
            {"negative rule", c_rule("demo", "10.0.0.1", 3306, -1), FO_EINVAL},
            {"health 9", c_state("demo", "10.0.0.1", 3306, (struct state){9, 1, NULL, 0, NULL, NULL, 0, 0}), FO_EINVAL},
            {"role 4", c_state("demo", "10.0.0.1", 3306, (struct state){1, 4, NULL, 0, NULL, NULL, 0, 0}), FO_EINVAL},
            {"source port, no host",
             c_state("demo", "10.0.0.1", 3306, (struct state){1, 2, NULL, 3306, NULL, NULL, 0, 0}), FO_EINVAL},
            {"source host, no port",
             c_state("demo", "10.0.0.1", 3306, (struct state){1, 2, "10.0.0.2", 0, NULL, NULL, 0, 0}), FO_EINVAL},
            {"state of unknown instance",
             c_state("demo", "10.0.0.7", 3306, (struct state){1, 1, NULL, 0, NULL, NULL, 0, 0}), FO_ENOTFOUND},
            {"remove unknown instance", c_instance_remove("demo", "10.0.0.7", 3306), FO_ENOTFOUND},
            {"remove unknown cluster", c_cluster_remove("nope"), FO_ENOTFOUND},
            {"rule of unknown instance", c_rule("demo", "10.0.0.7", 3306, 1), FO_ENOTFOUND},
            {"problems of unknown cluster", c_problems("nope", 0, NULL), FO_ENOTFOUND},
            {"too many problems", c_problems("demo", 70, (const char **)too_many), FO_EINVAL},
            {"maintenance port without host", c_maint("demo", "", 3306, 1, ""), FO_EINVAL},
            {"maintenance of unknown instance", c_maint("demo", "10.0.0.7", 3306, 1, ""), FO_ENOTFOUND},
            {"maintenance of unknown cluster", c_maint("nope", "", 0, 1, ""), FO_ENOTFOUND},
            {"member id 0", c_member(0, "127.0.0.1:1", "127.0.0.1:2", "", 0), FO_EINVAL},
            {"member without raft address", c_member(5, "", "127.0.0.1:2", "", 0), FO_EINVAL},
            {"member with spaces", c_member(5, "127.0.0.1 :1", "127.0.0.1:2", "", 0), FO_EINVAL},
            {"remove unknown member", c_member(5, "", "", "", 1), FO_ENOTFOUND},
            {"undecodable", raw(junk, sizeof(junk)), FO_EPROTO},
            {"no body", seal(&empty), FO_EINVAL},
            {"version 0", seal_as(&v0, 0, WALL), FO_EINVAL},
            {"begin on unknown cluster", c_begin_auto("nope", 1), FO_ENOTFOUND},
            {"begin with a stale epoch", c_begin_auto("demo", 3), FO_ESTALE},
            {"step without a failover", c_step("demo", 1, 2, 1, NULL, NULL, 0), FO_ENOTFOUND},
            {"end without a failover", c_end("demo", 1, 1, NULL, 1), FO_ENOTFOUND},
            {"decision on unknown cluster", c_decision("nope", "refused", NULL, NULL, 0), FO_ENOTFOUND},
            {"ack of unknown cluster", c_ack("nope"), FO_ENOTFOUND},
            {"quarantine of unknown instance", c_quarantine("demo", "10.0.0.7", 3306, 1, ""), FO_ENOTFOUND},
            {"primary not an instance", c_set_primary("demo", "10.0.0.7", 3306), FO_ENOTFOUND},
            {"anti_flap_s out of range", c_cluster_opts("x", (struct cluster_opts){NULL, NULL, 0, 700000, 0}),
             FO_EINVAL},
        };

        APPLY_OK(s, c_cluster("demo"));
        APPLY_OK(s, c_instance_add("demo", "10.0.0.1", 3306, 0));
        before = dump(s);
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            if (!apply_is(s, cases[i].cmd, cases[i].want)) fprintf(stderr, "  case: %s\n", cases[i].name);
            after = dump(s);
            if (strcmp(before, after) != 0) {
                fprintf(stderr, "  case changed the store: %s\n", cases[i].name);
                FO_CHECK(!"invalid command changed the store");
            }
            free(after);
        }
        free(before);
    }
    fo_store_close(s);
}

/* A command from a newer build is not applied, but its skip is recorded. */
static void test_newer_version(void)
{
    struct fo_store *s = open_mem();
    Fo__Command c = FO__COMMAND__INIT;
    Fo__ClusterAdd b = FO__CLUSTER_ADD__INIT;
    struct fo_store_cluster cl;
    struct fo_store_event e;
    char *before, *after;
    unsigned n;

    APPLY_OK(s, c_cluster("demo"));
    before = dump_tables(s);
    n = n_events(s, NULL);
    b.name = "new";
    b.user = "u";
    b.password_file = "/p";
    c.body_case = FO__COMMAND__BODY_CLUSTER_ADD;
    c.cluster_add = &b;
    FO_CHECK(apply_is(s, seal_as(&c, FO_COMMAND_VERSION + 1, WALL + 5), FO_EVERSION));
    after = dump_tables(s);
    FO_CHECK_STR(before, after);
    FO_CHECK_INT(fo_store_get_cluster(s, "new", &cl), FO_ENOTFOUND);
    FO_CHECK_INT(n_events(s, NULL), n + 1);
    e = newest(s);
    FO_CHECK_STR(e.kind, "skipped");
    FO_CHECK_INT(e.wall_ms, WALL + 5);
    FO_CHECK(strstr(e.detail, "version 2") != NULL);
    free(before);
    free(after);
    fo_store_close(s);
}

static void test_state_changes(void)
{
    struct fo_store *s = open_mem();
    struct fo_store_instance i;
    struct fo_store_event e;
    struct state up_primary = {1, 1, NULL, 0, NULL, NULL, 7, 0};
    struct state quiet = {1, 1, NULL, 0, NULL, "old error", 8, 1};
    struct state down = {3, 1, NULL, 0, NULL, "connect timeout", 8, 1};
    struct state replica = {3, 2, "10.0.0.2", 3306, NULL, "connect timeout", 8, 1};
    struct state resourced = {3, 2, "10.0.0.3", 3306, NULL, "connect timeout", 8, 1};
    struct state problem = {3, 2, "10.0.0.3", 3306, "replication stopped", "connect timeout", 8, 1};
    struct state cleared = {3, 2, "10.0.0.3", 3306, "", "connect timeout", 8, 1};
    unsigned n;

    APPLY_OK(s, c_cluster("demo"));
    APPLY_OK(s, c_instance_add("demo", "10.0.0.1", 3306, 0));
    n = n_events(s, NULL);
    APPLY_OK(s, c_state("demo", "10.0.0.1", 3306, up_primary));
    FO_CHECK_INT(n_events(s, NULL), n + 2); /* health and role */
    n = n_events(s, NULL);
    APPLY_OK(s, c_state("demo", "10.0.0.1", 3306, up_primary));
    FO_CHECK_INT(n_events(s, NULL), n);

    /* server_id, read_only and last_error alone are stored but not history. */
    APPLY_OK(s, c_state("demo", "10.0.0.1", 3306, quiet));
    FO_CHECK_INT(n_events(s, NULL), n);
    FO_CHECK_INT(fo_store_get_instance(s, "demo", "10.0.0.1", 3306, &i), 0);
    FO_CHECK_INT(i.server_id, 8);
    FO_CHECK(i.read_only);
    FO_CHECK_STR(i.last_error, "old error");

    APPLY_OK(s, c_state("demo", "10.0.0.1", 3306, down));
    FO_CHECK_INT(n_events(s, NULL), n + 1);
    e = newest(s);
    FO_CHECK_STR(e.kind, "health");
    FO_CHECK_STR(e.detail, "up -> down: connect timeout");
    FO_CHECK_STR(e.instance, "10.0.0.1:3306");

    APPLY_OK(s, c_state("demo", "10.0.0.1", 3306, replica));
    FO_CHECK_INT(n_events(s, NULL), n + 2);
    e = newest(s);
    FO_CHECK_STR(e.kind, "role");
    FO_CHECK_STR(e.detail, "primary -> replica of 10.0.0.2:3306");
    APPLY_OK(s, c_state("demo", "10.0.0.1", 3306, resourced));
    e = newest(s);
    FO_CHECK_STR(e.detail, "replica of 10.0.0.2:3306 -> replica of 10.0.0.3:3306");

    APPLY_OK(s, c_state("demo", "10.0.0.1", 3306, problem));
    e = newest(s);
    FO_CHECK_STR(e.kind, "problem");
    FO_CHECK_STR(e.detail, "replication stopped");
    APPLY_OK(s, c_state("demo", "10.0.0.1", 3306, cleared));
    e = newest(s);
    FO_CHECK_STR(e.detail, "cleared");
    FO_CHECK_INT(n_events(s, NULL), n + 5);
    cleared.health = 1;
    APPLY_OK(s, c_state("demo", "10.0.0.1", 3306, cleared));
    FO_CHECK_STR(newest(s).detail, "down -> up");
    cleared.health = 3;
    APPLY_OK(s, c_state("demo", "10.0.0.1", 3306, cleared));
    FO_CHECK_STR(newest(s).detail, "up -> down: connect timeout");
    FO_CHECK_INT(fo_store_get_instance(s, "demo", "10.0.0.1", 3306, &i), 0);
    FO_CHECK_INT(i.health, 3);
    FO_CHECK_INT(i.role, 2);
    FO_CHECK_STR(i.source_host, "10.0.0.3");
    FO_CHECK_INT(i.source_port, 3306);
    FO_CHECK_STR(i.problem, "");
    fo_store_close(s);
}

static void test_cluster_problems(void)
{
    static const char *two[] = {"no primary", "multi\nline"};
    struct fo_store *s = open_mem();
    struct fo_store_cluster c;
    struct fo_store_event e;
    unsigned n;

    APPLY_OK(s, c_cluster("demo"));
    APPLY_OK(s, c_problems("demo", 2, two));
    e = newest(s);
    FO_CHECK_STR(e.kind, "problems");
    FO_CHECK_STR(e.detail, "no primary; multi line");
    FO_CHECK_INT(fo_store_get_cluster(s, "demo", &c), 0);
    FO_CHECK_STR(c.problems, "no primary\nmulti line");
    n = n_events(s, NULL);
    APPLY_OK(s, c_problems("demo", 2, two));
    FO_CHECK_INT(n_events(s, NULL), n);
    APPLY_OK(s, c_problems("demo", 0, NULL));
    e = newest(s);
    FO_CHECK_STR(e.detail, "cleared");
    FO_CHECK_INT(fo_store_get_cluster(s, "demo", &c), 0);
    FO_CHECK_STR(c.problems, "");
    fo_store_close(s);
}

static void test_event_pruning(void)
{
    struct fo_store *a = open_mem(), *b = open_mem();
    struct events_seen v;
    char *da, *db;
    unsigned i, extra = 25;

    for (i = 0; i < FO_STORE_MAX_EVENTS + extra; i++) {
        APPLY_OK(a, c_recoveries(i % 2));
        APPLY_OK(b, c_recoveries(i % 2));
    }
    FO_CHECK_INT(n_events(a, NULL), FO_STORE_MAX_EVENTS);
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_event(a, NULL, UINT_MAX, see_event, &v), 0);
    FO_CHECK_INT(v.seq[0], FO_STORE_MAX_EVENTS + extra);
    FO_CHECK_INT(v.last.seq, extra + 1);
    da = dump(a);
    db = dump(b);
    FO_CHECK_STR(da, db);
    free(da);
    free(db);
    fo_store_close(a);
    fo_store_close(b);
}

static void test_cluster_remove(void)
{
    struct fo_store *s = open_mem();
    struct fo_store_cluster c;
    struct fo_store_event e;
    struct collect col;

    APPLY_OK(s, c_cluster("demo"));
    APPLY_OK(s, c_cluster("keep"));
    APPLY_OK(s, c_instance_add("demo", "10.0.0.1", 3306, 0));
    APPLY_OK(s, c_instance_add("demo", "10.0.0.2", 3306, 0));
    APPLY_OK(s, c_instance_add("keep", "10.0.0.1", 3306, 0));
    APPLY_OK(s, c_cluster_remove("demo"));
    FO_CHECK_INT(fo_store_get_cluster(s, "demo", &c), FO_ENOTFOUND);
    memset(&col, 0, sizeof(col));
    FO_CHECK_INT(fo_store_each_instance(s, NULL, collect_instance, &col), 0);
    FO_CHECK_INT(col.n, 1);
    FO_CHECK_STR(col.names[0], "keep/10.0.0.1:3306");
    e = newest(s);
    FO_CHECK_STR(e.kind, "cluster_remove");
    FO_CHECK_STR(e.detail, "removed with 2 instance(s)");
    /* The history outlives the cluster. */
    FO_CHECK_INT(n_events(s, "demo"), 4);
    APPLY_OK(s, c_cluster("demo"));
    memset(&col, 0, sizeof(col));
    FO_CHECK_INT(fo_store_each_instance(s, "demo", collect_instance, &col), 0);
    FO_CHECK_INT(col.n, 0);
    fo_store_close(s);
}

static void remove_store_files(const char *path)
{
    char p[512];

    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
    unlink(path);
}

static void test_file_fresh(void)
{
    char dir[] = "/tmp/fo-store-test-XXXXXX", path[256], wal[300];
    struct fo_store *s = NULL, *m = open_mem(), *empty = open_mem();
    char err[FO_ERRLEN] = "";
    struct stat sb;
    uint8_t *img = NULL;
    size_t len = 0;
    char *d1, *d2, *dm, *de;

    if (mkdtemp(dir) == NULL) {
        FO_CHECK(!"mkdtemp");
        goto done;
    }
    snprintf(path, sizeof(path), "%s/store.db", dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    FO_CHECK_INT(fo_store_open(&s, path, FO_STORE_FRESH, err), 0);
    if (s == NULL) goto done_dir;
    apply_scenario(s);
    FO_CHECK(stat(wal, &sb) == 0); /* journal_mode=WAL took effect */
    d1 = dump(s);

    /* A file snapshot restores into memory, and a memory snapshot into the file. */
    FO_CHECK_INT(fo_store_serialize(s, &img, &len, err), 0);
    FO_CHECK_INT(fo_store_restore(m, img, len, err), 0);
    free(img);
    dm = dump(m);
    FO_CHECK_STR(d1, dm);
    APPLY_OK(m, c_cluster("from-memory"));
    FO_CHECK_INT(fo_store_serialize(m, &img, &len, err), 0);
    FO_CHECK_INT(fo_store_restore(s, img, len, err), 0);
    free(img);
    free(dm);
    dm = dump(m);
    free(d1);
    d1 = dump(s);
    FO_CHECK_STR(d1, dm);
    fo_store_close(s);

    /* Without FRESH the file is kept... */
    s = NULL;
    FO_CHECK_INT(fo_store_open(&s, path, 0, err), 0);
    d2 = s != NULL ? dump(s) : strdup("");
    FO_CHECK_STR(d1, d2);
    free(d2);
    fo_store_close(s);

    /* ...with FRESH it starts empty, exactly like a new in-memory store. */
    s = NULL;
    FO_CHECK_INT(fo_store_open(&s, path, FO_STORE_FRESH, err), 0);
    d2 = s != NULL ? dump(s) : strdup("");
    de = dump(empty);
    FO_CHECK_STR(d2, de);
    FO_CHECK_INT(s != NULL ? fo_store_schema_version(s) : -1, 5);
    free(d1);
    free(d2);
    free(dm);
    free(de);
    fo_store_close(s);
done_dir:
    remove_store_files(path);
    rmdir(dir);
done:
    fo_store_close(m);
    fo_store_close(empty);
}

/* The store file, and sqlite's -wal and -shm beside it, are private (issue 9), with
 * the loosest umask; a file made 0644 before is narrowed. */
static void test_file_modes(void)
{
    char dir[] = "/tmp/fo-store-mode-XXXXXX", path[256], side[300];
    static const char *const sides[] = {"", "-wal", "-shm"};
    mode_t old = umask(0);
    struct fo_store *s = NULL;
    char err[FO_ERRLEN] = "";
    struct stat sb;
    unsigned i;
    int fd;

    if (mkdtemp(dir) == NULL) {
        FO_CHECK(!"mkdtemp");
        umask(old);
        return;
    }
    snprintf(path, sizeof(path), "%s/store.db", dir);
    FO_CHECK_INT(fo_store_open(&s, path, FO_STORE_FRESH, err), 0);
    if (s != NULL) apply_scenario(s); /* writes: the WAL and its index exist */
    for (i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
        snprintf(side, sizeof(side), "%s%s", path, sides[i]);
        FO_CHECK_INT(stat(side, &sb), 0);
        if ((sb.st_mode & 0777) != 0600) fprintf(stderr, "  %s: mode %o\n", side, (unsigned)(sb.st_mode & 0777));
        FO_CHECK_INT(sb.st_mode & 0777, 0600);
    }
    fo_store_close(s);
    s = NULL;

    /* A file made world-readable before (an older failoverd) is narrowed at open. */
    FO_CHECK_INT(chmod(path, 0644), 0);
    FO_CHECK_INT(fo_store_open(&s, path, 0, err), 0);
    FO_CHECK_INT(stat(path, &sb), 0);
    FO_CHECK_INT(sb.st_mode & 0777, 0600);
    fo_store_close(s);
    remove_store_files(path);

    /* Not a regular file: refused with the path. */
    fd = mkdir(path, 0700);
    FO_CHECK_INT(fd, 0);
    s = NULL;
    FO_CHECK(fo_store_open(&s, path, 0, err) != 0);
    FO_CHECK(strstr(err, path) != NULL);
    rmdir(path);
    rmdir(dir);
    umask(old);
}

static void test_open_errors(void)
{
    struct fo_store *s = (struct fo_store *)1;
    char err[FO_ERRLEN] = "";

    FO_CHECK(fo_store_open(&s, "/nonexistent-dir/x/store.db", 0, err) != 0);
    FO_CHECK(s == NULL);
    FO_CHECK(err[0] != '\0');
}

static void test_recoveries(void)
{
    struct fo_store *s = open_mem();
    struct fo_store_event e;

    FO_CHECK(fo_store_recoveries_enabled(s));
    APPLY_OK(s, c_recoveries(0));
    FO_CHECK(!fo_store_recoveries_enabled(s));
    e = newest(s);
    FO_CHECK_STR(e.kind, "recoveries");
    FO_CHECK_STR(e.detail, "disabled");
    FO_CHECK_STR(e.cluster, "");
    APPLY_OK(s, c_recoveries(1));
    FO_CHECK(fo_store_recoveries_enabled(s));
    FO_CHECK_STR(newest(s).detail, "enabled");
    fo_store_close(s);
}

/* fo_store_on_change: which cluster each applied entry was about (issue 12). */
struct changes {
    unsigned n;
    char last[64];
    bool last_null;
};

static void saw_change(void *data, const char *cluster)
{
    struct changes *c = data;

    c->n++;
    c->last_null = cluster == NULL;
    snprintf(c->last, sizeof(c->last), "%s", cluster ? cluster : "");
}

static void test_change_hook(void)
{
    struct fo_store *s = open_mem(), *t = open_mem();
    struct changes c = {0};
    char err[FO_ERRLEN] = "";
    uint8_t *img = NULL;
    size_t len = 0;

    fo_store_on_change(s, saw_change, &c);
    APPLY_OK(s, c_cluster("demo"));
    FO_CHECK_INT(c.n, 1);
    FO_CHECK_STR(c.last, "demo"); /* ClusterAdd: its name */
    APPLY_OK(s, c_instance_add("demo", "10.0.0.1", 3306, 0));
    FO_CHECK_INT(c.n, 2);
    FO_CHECK_STR(c.last, "demo");
    /* Refused: nothing changed, nobody told. */
    FO_CHECK(apply_is(s, c_cluster("demo"), FO_EEXIST));
    FO_CHECK_INT(c.n, 2);
    APPLY_OK(s, c_recoveries(0)); /* about no one cluster */
    FO_CHECK_INT(c.n, 3);
    FO_CHECK(c.last_null);
    APPLY_OK(s, c_cluster_remove("demo"));
    FO_CHECK_INT(c.n, 4);
    FO_CHECK_STR(c.last, "demo");
    /* A restore replaces everything. */
    APPLY_OK(t, c_cluster("other"));
    FO_CHECK_INT(fo_store_serialize(t, &img, &len, err), 0);
    FO_CHECK_INT(fo_store_restore(s, img, len, err), 0);
    FO_CHECK_INT(c.n, 5);
    FO_CHECK(c.last_null);
    /* Removed: no more calls. */
    fo_store_on_change(s, NULL, NULL);
    APPLY_OK(s, c_cluster("again"));
    FO_CHECK_INT(c.n, 5);
    free(img);
    fo_store_close(s);
    fo_store_close(t);
}

static void test_members(void)
{
    struct fo_store *s = open_mem();
    struct fo_store_member m;
    unsigned n;

    APPLY_OK(s, c_member(4, "127.0.0.1:7104", "127.0.0.1:7004", "", 0));
    FO_CHECK_STR(newest(s).kind, "member");
    FO_CHECK_STR(newest(s).detail, "added 127.0.0.1:7104 (id 4)");
    n = n_events(s, NULL);
    APPLY_OK(s, c_member(4, "127.0.0.1:7104", "127.0.0.1:7004", "", 0));
    FO_CHECK_INT(n_events(s, NULL), n);
    APPLY_OK(s, c_member(4, "127.0.0.1:7104", "127.0.0.1:7004", "127.0.0.1:9504", 0));
    FO_CHECK_STR(newest(s).detail, "updated 127.0.0.1:7104 (id 4)");
    FO_CHECK_INT(fo_store_get_member(s, 4, &m), 0);
    FO_CHECK_STR(m.http_address, "127.0.0.1:9504");
    APPLY_OK(s, c_member(4, "", "", "", 1));
    FO_CHECK_INT(fo_store_get_member(s, 4, &m), FO_ENOTFOUND);
    FO_CHECK_STR(newest(s).detail, "removed 127.0.0.1:7104 (id 4)");
    /* Ids above 2^63 survive sqlite's signed integers. */
    APPLY_OK(s, c_member(UINT64_MAX - 1, "127.0.0.1:7105", "127.0.0.1:7005", "", 0));
    FO_CHECK_INT(fo_store_get_member(s, UINT64_MAX - 1, &m), 0);
    FO_CHECK(m.id == UINT64_MAX - 1);
    fo_store_close(s);
}

static void test_maintenance_and_rule(void)
{
    struct fo_store *s = open_mem();
    struct fo_store_cluster c;
    struct fo_store_instance i;
    struct fo_store_event e;

    APPLY_OK(s, c_cluster("demo"));
    APPLY_OK(s, c_instance_add("demo", "10.0.0.1", 3306, FO_RULE_NEUTRAL));
    APPLY_OK(s, c_maint("demo", "", 0, 1, "kernel upgrade"));
    FO_CHECK_INT(fo_store_get_cluster(s, "demo", &c), 0);
    FO_CHECK(c.maintenance);
    e = newest(s);
    FO_CHECK_STR(e.kind, "maintenance");
    FO_CHECK_STR(e.detail, "on: kernel upgrade");
    FO_CHECK_STR(e.instance, "");
    APPLY_OK(s, c_maint("demo", "10.0.0.1", 3306, 1, ""));
    FO_CHECK_INT(fo_store_get_instance(s, "demo", "10.0.0.1", 3306, &i), 0);
    FO_CHECK(i.maintenance);
    FO_CHECK_STR(newest(s).instance, "10.0.0.1:3306");
    APPLY_OK(s, c_maint("demo", "", 0, 0, ""));
    FO_CHECK_INT(fo_store_get_cluster(s, "demo", &c), 0);
    FO_CHECK(!c.maintenance);
    FO_CHECK_STR(newest(s).detail, "off");
    FO_CHECK_INT(fo_store_get_instance(s, "demo", "10.0.0.1", 3306, &i), 0);
    FO_CHECK(i.maintenance); /* the instance's own flag is independent */

    APPLY_OK(s, c_rule("demo", "10.0.0.1", 3306, FO_RULE_PREFER));
    FO_CHECK_INT(fo_store_get_instance(s, "demo", "10.0.0.1", 3306, &i), 0);
    FO_CHECK_INT(i.rule, FO_RULE_PREFER);
    FO_CHECK_STR(newest(s).kind, "rule");
    FO_CHECK_STR(newest(s).detail, "neutral -> prefer");
    fo_store_close(s);
}

struct nested {
    struct fo_store *s;
    unsigned clusters, inner_clusters, instances;
    const uint8_t *img;
    size_t len;
    int restore_rc;
};

static int count_cluster(void *data, const struct fo_store_cluster *c)
{
    (*(unsigned *)data)++;
    return 0;
}

static int count_instance(void *data, const struct fo_store_instance *i)
{
    (*(unsigned *)data)++;
    return 0;
}

/* A callback may read the store, even the table being iterated. */
static int nested_cluster(void *data, const struct fo_store_cluster *c)
{
    struct nested *n = data;

    n->clusters++;
    n->restore_rc = fo_store_restore(n->s, n->img, n->len, NULL);
    if (fo_store_each_cluster(n->s, count_cluster, &n->inner_clusters) != 0) return 1;
    return fo_store_each_instance(n->s, c->name, count_instance, &n->instances);
}

static void test_nested_iteration(void)
{
    struct nested n = {open_mem(), 0, 0, 0, NULL, 0, 0};
    uint8_t *img = NULL;
    char err[FO_ERRLEN];

    apply_scenario(n.s);
    FO_CHECK_INT(fo_store_serialize(n.s, &img, &n.len, err), 0);
    n.img = img;
    FO_CHECK_INT(fo_store_each_cluster(n.s, nested_cluster, &n), 0);
    FO_CHECK_INT(n.clusters, 2);
    FO_CHECK_INT(n.inner_clusters, 4);
    FO_CHECK_INT(n.instances, 3);
    /* A restore from inside a read is refused rather than pulling the rug. */
    FO_CHECK_INT(n.restore_rc, FO_EBUSY);
    free(img);
    /* The cache is intact afterwards. */
    n.clusters = 0;
    FO_CHECK_INT(fo_store_each_cluster(n.s, count_cluster, &n.clusters), 0);
    FO_CHECK_INT(n.clusters, 2);
    APPLY_OK(n.s, c_cluster("later"));
    fo_store_close(n.s);
}

/* Over-long free text is cut to the field, never mid-character. */
static void test_text_fitting(void)
{
    struct fo_store *s = open_mem();
    struct fo_store_instance i;
    struct fo_store_event e;
    char long_err[1600];
    size_t k;

    for (k = 0; k + 2 < sizeof(long_err); k += 2) memcpy(long_err + k, "\xc3\xa9", 2); /* é */
    long_err[k] = '\0';
    APPLY_OK(s, c_cluster("demo"));
    APPLY_OK(s, c_instance_add("demo", "10.0.0.1", 3306, 0));
    APPLY_OK(s, c_state("demo", "10.0.0.1", 3306, (struct state){3, 0, NULL, 0, long_err, long_err, 0, 0}));
    FO_CHECK_INT(fo_store_get_instance(s, "demo", "10.0.0.1", 3306, &i), 0);
    FO_CHECK_INT(strlen(i.last_error), 510);
    FO_CHECK_INT(strlen(i.problem), 254);
    e = newest(s);
    FO_CHECK(strlen(e.detail) <= 511 && strlen(e.detail) % 2 == 0);
    fo_store_close(s);
}

static void test_limits(void)
{
    struct fo_store *s = open_mem();
    char host[32];
    unsigned k;
    int ok = 1;

    APPLY_OK(s, c_cluster("demo"));
    for (k = 0; k < FO_MAX_INSTANCES_PER_CLUSTER; k++) {
        snprintf(host, sizeof(host), "10.0.%u.%u", k / 200, k % 200);
        ok &= apply_is(s, c_instance_add("demo", host, 3306, 0), 0);
    }
    FO_CHECK(ok);
    FO_CHECK(apply_is(s, c_instance_add("demo", "10.9.9.9", 3306, 0), FO_EINVAL));
    fo_store_close(s);
}

/* ------------------------------------------------------------ failover engine */

struct script_case {
    const char *name;
    struct packed cmd;
    int want;
};

/* Applies the cases in order; a case that must fail must also leave the store
 * exactly as it was (history included). */
static void run_script(struct fo_store *s, struct script_case *cases, size_t n)
{
    char *before, *after;
    size_t i;

    for (i = 0; i < n; i++) {
        before = cases[i].want != 0 ? dump(s) : NULL;
        if (!apply_is(s, cases[i].cmd, cases[i].want)) {
            fprintf(stderr, "  case: %s\n", cases[i].name);
            FO_CHECK(!"script case");
        }
        if (before != NULL) {
            after = dump(s);
            if (strcmp(before, after) != 0) {
                fprintf(stderr, "  case changed the store: %s\n", cases[i].name);
                FO_CHECK(!"failed command changed the store");
            }
            free(after);
        }
        free(before);
    }
}

#define N_CASES(a) (sizeof(a) / sizeof((a)[0]))

/* demo: three instances, 10.0.0.1:3306 the designated primary. */
static struct fo_store *open_demo(struct cluster_opts o)
{
    struct fo_store *s = open_mem();

    APPLY_OK(s, c_cluster_opts("demo", o));
    APPLY_OK(s, c_instance_add("demo", "10.0.0.1", 3306, 0));
    APPLY_OK(s, c_instance_add("demo", "10.0.0.2", 3306, 0));
    APPLY_OK(s, c_instance_add("demo", "10.0.0.3", 3306, 0));
    APPLY_OK(s, c_set_primary("demo", "10.0.0.1", 3306));
    return s;
}

struct failover_find {
    const char *cluster;
    uint64_t epoch;
    int found;
    struct fo_store_failover f;
};

static int find_failover(void *data, const struct fo_store_failover *f)
{
    struct failover_find *w = data;

    if (f->epoch == w->epoch && strcmp(f->cluster, w->cluster) == 0) {
        w->f = *f;
        w->found++;
    }
    return 0;
}

/* The failover (cluster, epoch) through the public iterator; zeroed if absent. */
static struct fo_store_failover failover_of(struct fo_store *s, const char *cluster, uint64_t epoch)
{
    struct failover_find w;

    memset(&w, 0, sizeof(w));
    w.cluster = cluster;
    w.epoch = epoch;
    FO_CHECK_INT(fo_store_each_failover(s, NULL, UINT_MAX, find_failover, &w), 0);
    FO_CHECK_INT(w.found, 1);
    return w.f;
}

static struct fo_store_cluster cluster_of(struct fo_store *s, const char *name)
{
    struct fo_store_cluster c;

    memset(&c, 0, sizeof(c));
    FO_CHECK_INT(fo_store_get_cluster(s, name, &c), 0);
    return c;
}

/* An automatic failover from begin to end, with every way a command can be refused
 * on the way: epoch checks, a second begin, stale and repeated steps. */
static void test_failover_auto(void)
{
    struct fo_store *s = open_demo((struct cluster_opts){0});
    struct fo_store_failover f;
    struct fo_store_cluster c;
    struct fo_store_event e;
    struct script_case cases[] = {
        {"begin unknown cluster", c_begin_auto("nope", 1), FO_ENOTFOUND},
        {"begin epoch 2 first", c_begin_auto("demo", 2), FO_ESTALE},
        {"begin epoch 0", c_begin_auto("demo", 0), FO_EINVAL},
        {"begin epoch 2^63", c_begin_auto("demo", (uint64_t)INT64_MAX + 1), FO_EINVAL},
        {"begin kind 3", c_begin((struct begin){"demo", 1, 3, "10.0.0.1", 3306, "", NULL, 0, 0}), FO_EINVAL},
        {"begin old port 0", c_begin((struct begin){"demo", 1, 0, "10.0.0.1", 0, "", NULL, 0, 0}), FO_EINVAL},
        {"begin bad old host", c_begin((struct begin){"demo", 1, 0, "a b", 3306, "", NULL, 0, 0}), FO_EINVAL},
        {"begin target port only", c_begin((struct begin){"demo", 1, 0, "10.0.0.1", 3306, "", NULL, 3306, 0}),
         FO_EINVAL},
        {"begin", c_begin_at((struct begin){"demo", 1, 0, "10.0.0.1", 3306, "primary dead", NULL, 0, 0}, WALL + 10), 0},
        {"second begin while running", c_begin_auto("demo", 2), FO_EBUSY},
        {"begin same epoch again", c_begin_auto("demo", 1), FO_ESTALE},
        {"step of a future epoch", c_step("demo", 2, 2, 1, NULL, NULL, 0), FO_ENOTFOUND},
        {"step of unknown cluster", c_step("nope", 1, 2, 1, NULL, NULL, 0), FO_ENOTFOUND},
        {"step none", c_step("demo", 1, 0, 1, NULL, NULL, 0), FO_EINVAL},
        {"step 7", c_step("demo", 1, 7, 1, NULL, NULL, 0), FO_EINVAL},
        {"fence with a new primary", c_step("demo", 1, 2, 1, NULL, "10.0.0.2", 3306), FO_EINVAL},
        {"choose without a new primary", c_step("demo", 1, 3, 1, NULL, NULL, 0), FO_EINVAL},
        {"choose with port 0", c_step("demo", 1, 3, 1, NULL, "10.0.0.2", 0), FO_EINVAL},
        {"pre_hook", c_step("demo", 1, 1, 5, "pre.sh exited 0", NULL, 0), 0},
        {"fence", c_step("demo", 1, 2, 12, "read_only=1", NULL, 0), 0},
        {"fence again (resumed leader)", c_step("demo", 1, 2, 12, NULL, NULL, 0), FO_EEXIST},
        {"pre_hook after fence", c_step("demo", 1, 1, 5, NULL, NULL, 0), FO_EEXIST},
        {"success before choose", c_end("demo", 1, 1, NULL, 100), FO_EINVAL},
        {"choose a stranger", c_step("demo", 1, 3, 340, NULL, "10.0.0.9", 3306), FO_ENOTFOUND},
        {"choose", c_step("demo", 1, 3, 340, "most advanced GTID", "10.0.0.2", 3306), 0},
        {"promote", c_step("demo", 1, 4, 8, "", NULL, 0), 0},
        {"end running", c_end("demo", 1, 0, NULL, 500), FO_EINVAL},
        {"end result 4", c_end("demo", 1, 4, NULL, 500), FO_EINVAL},
        {"end of a future epoch", c_end("demo", 2, 1, NULL, 500), FO_ENOTFOUND},
        {"end", c_end_at("demo", 1, 1, "done", 500, WALL + 600), 0},
        {"end again", c_end("demo", 1, 1, "done", 500), FO_ESTALE},
        {"step after end", c_step("demo", 1, 5, 20, NULL, NULL, 0), FO_ESTALE},
    };

    run_script(s, cases, N_CASES(cases));
    FO_CHECK_INT(fo_store_get_running_failover(s, "demo", &f), FO_ENOTFOUND);
    f = failover_of(s, "demo", 1);
    FO_CHECK_INT(f.kind, 0);
    FO_CHECK_STR(f.old_host, "10.0.0.1");
    FO_CHECK_INT(f.old_port, 3306);
    FO_CHECK_STR(f.new_host, "10.0.0.2");
    FO_CHECK_INT(f.new_port, 3306);
    FO_CHECK_STR(f.target_host, "");
    FO_CHECK_STR(f.reason, "primary dead");
    FO_CHECK_STR(f.confirmations, EVIDENCE);
    FO_CHECK(f.started_ms == WALL + 10);
    FO_CHECK(f.ended_ms == WALL + 600);
    FO_CHECK_INT(f.last_step, 4);
    FO_CHECK_INT(f.result, 1);
    FO_CHECK_STR(f.detail, "done");
    FO_CHECK_STR(f.steps, "pre_hook=5ms fence=12ms choose=340ms promote=8ms");
    FO_CHECK_INT(f.total_ms, 500);

    /* Success moves the primary and blocks automatic failover for the default period. */
    c = cluster_of(s, "demo");
    FO_CHECK_INT(c.epoch, 1);
    FO_CHECK_STR(c.primary_host, "10.0.0.2");
    FO_CHECK_INT(c.primary_port, 3306);
    FO_CHECK(c.blocked_until_ms == WALL + 600 + FO_DEFAULT_ANTI_FLAP_S * 1000ULL);
    e = newest(s);
    FO_CHECK_STR(e.kind, "failover_end");
    FO_CHECK_STR(e.detail, "epoch 1 success 10.0.0.1:3306 -> 10.0.0.2:3306 (500 ms): done");
    FO_CHECK_INT(n_events(s, "demo"), 4 + 1 + 1 + 5); /* setup, begin, 4 steps, end */

    /* The operator's ack lifts the block, and says whether there was one. */
    APPLY_OK(s, c_ack("demo"));
    FO_CHECK(cluster_of(s, "demo").blocked_until_ms == 0);
    FO_CHECK_STR(newest(s).kind, "ack");
    FO_CHECK_STR(newest(s).detail, "anti-flap block cleared");
    APPLY_OK(s, c_ack("demo"));
    FO_CHECK_STR(newest(s).detail, "no anti-flap block was set");
    FO_CHECK(apply_is(s, c_ack("nope"), FO_ENOTFOUND));
    FO_CHECK(apply_is(s, c_ack("bad name"), FO_EINVAL));

    /* The next failover takes the next epoch. */
    APPLY_OK(s, c_begin((struct begin){"demo", 2, 0, "10.0.0.2", 3306, "again", NULL, 0, 1}));
    FO_CHECK_INT(fo_store_get_running_failover(s, "demo", &f), 0);
    FO_CHECK_INT(f.epoch, 2);
    FO_CHECK_STR(f.confirmations, "");
    FO_CHECK_STR(f.steps, "");
    FO_CHECK_INT(f.result, 0);
    fo_store_close(s);
}

/* The history rows of each step, and what begin records. */
static void test_failover_events(void)
{
    struct fo_store *s = open_demo((struct cluster_opts){0});
    struct events_seen v;

    APPLY_OK(s, c_begin((struct begin){"demo", 1, 2, "10.0.0.1", 3306, "planned", "::1", 3306, 0}));
    FO_CHECK_STR(newest(s).kind, "failover_begin");
    FO_CHECK_STR(newest(s).detail, "epoch 1 switchover 10.0.0.1:3306 -> [::1]:3306: planned");
    FO_CHECK_STR(newest(s).instance, "10.0.0.1:3306");
    APPLY_OK(s, c_step("demo", 1, 3, 7, "chosen", "10.0.0.3", 3306));
    FO_CHECK_STR(newest(s).kind, "failover_step");
    FO_CHECK_STR(newest(s).detail, "epoch 1 choose=7ms new primary 10.0.0.3:3306: chosen");
    APPLY_OK(s, c_step("demo", 1, 6, 0, NULL, NULL, 0));
    FO_CHECK_STR(newest(s).detail, "epoch 1 vip=0ms");
    APPLY_OK(s, c_end("demo", 1, 2, "repoint failed: 10.0.0.2:3306 unreachable", 99));
    FO_CHECK_STR(newest(s).detail, "epoch 1 failed (99 ms): repoint failed: 10.0.0.2:3306 unreachable");
    APPLY_OK(s, c_begin((struct begin){"demo", 2, 0, "10.0.0.1", 3306, NULL, NULL, 0, 1}));
    FO_CHECK_STR(newest(s).detail, "epoch 2 auto 10.0.0.1:3306 -> ?");
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_event(s, "demo", UINT_MAX, see_event, &v), 0);
    FO_CHECK_INT(v.n, 5 + 5);
    fo_store_close(s);
}

/* Which results block automatic failover, and for how long. */
static void test_failover_anti_flap(void)
{
    static const struct {
        const char *name;
        int kind, result;
        uint32_t anti_flap_s;
        uint64_t block; /* expected blocked_until_ms - end wall, 0 = no block */
    } cases[] = {
        {"auto success", 0, 1, 0, FO_DEFAULT_ANTI_FLAP_S * 1000ULL},
        {"auto success, cluster period", 0, 1, 600, 600000},
        {"manual success", 1, 1, 600, 600000},
        {"switchover success", 2, 1, 600, 0},
        {"auto failed", 0, 2, 60, 60000},
        {"switchover failed", 2, 2, 60, 0},
        {"auto aborted", 0, 3, 60, 0},
        {"manual aborted", 1, 3, 0, 0},
    };
    const uint64_t end_wall = WALL + 5000;
    struct fo_store_cluster c;
    size_t i;

    for (i = 0; i < N_CASES(cases); i++) {
        struct fo_store *s = open_demo((struct cluster_opts){NULL, NULL, 0, cases[i].anti_flap_s, 0});
        int ok = 1;

        ok &= apply_is(s, c_begin((struct begin){"demo", 1, cases[i].kind, "10.0.0.1", 3306, "", NULL, 0, 0}), 0);
        ok &= apply_is(s, c_step("demo", 1, 3, 1, NULL, "10.0.0.3", 3306), 0);
        ok &= apply_is(s, c_end_at("demo", 1, cases[i].result, NULL, 1, end_wall), 0);
        c = cluster_of(s, "demo");
        if (!ok || c.blocked_until_ms != (cases[i].block ? end_wall + cases[i].block : 0)) {
            fprintf(stderr, "  case %s: blocked_until_ms=%llu\n", cases[i].name,
                    (unsigned long long)c.blocked_until_ms);
            FO_CHECK(!"anti-flap case");
        }
        /* Only success moves the designated primary. */
        FO_CHECK_STR(c.primary_host, cases[i].result == 1 ? "10.0.0.3" : "10.0.0.1");
        fo_store_close(s);
    }
}

/* A failover keeps its epoch for ever; removing the cluster does not reset it. */
static void test_failover_cluster_lifetime(void)
{
    struct fo_store *s = open_demo((struct cluster_opts){0});
    struct fo_store_failover f;
    struct script_case cases[] = {
        {"begin", c_begin_auto("demo", 1), 0},
        {"remove while running", c_cluster_remove("demo"), FO_EBUSY},
        {"abort", c_end("demo", 1, 3, "no candidate", 3), 0},
        {"remove", c_cluster_remove("demo"), 0},
        {"add again", c_cluster("demo"), 0},
        {"instance", c_instance_add("demo", "10.0.0.1", 3306, 0), 0},
        {"begin from 1 again", c_begin_auto("demo", 1), FO_ESTALE},
        {"begin 2", c_begin_auto("demo", 2), 0},
    };

    run_script(s, cases, N_CASES(cases));
    FO_CHECK_INT(cluster_of(s, "demo").epoch, 2);
    FO_CHECK_STR(cluster_of(s, "demo").primary_host, "");
    FO_CHECK_INT(fo_store_get_running_failover(s, "demo", &f), 0);
    FO_CHECK_INT(f.epoch, 2);
    f = failover_of(s, "demo", 1);
    FO_CHECK_INT(f.result, 3);
    FO_CHECK_STR(f.detail, "no candidate");
    fo_store_close(s);
}

struct failovers_seen {
    unsigned n;
    char rows[8][80];
};

static int see_failover(void *data, const struct fo_store_failover *f)
{
    struct failovers_seen *v = data;

    if (v->n < 8)
        snprintf(v->rows[v->n], sizeof(v->rows[0]), "%s/%llu/%s", f->cluster, (unsigned long long)f->epoch,
                 f->result == 0 ? "running" : "ended");
    v->n++;
    return 0;
}

static void test_failover_reads(void)
{
    struct fo_store *s = open_demo((struct cluster_opts){0});
    struct failovers_seen v;
    struct fo_store_failover f;

    APPLY_OK(s, c_cluster("b"));
    APPLY_OK(s, c_cluster("a"));
    APPLY_OK(s, c_begin_at((struct begin){"demo", 1, 0, "10.0.0.1", 3306, "", NULL, 0, 1}, WALL + 1));
    APPLY_OK(s, c_end("demo", 1, 3, NULL, 0));
    APPLY_OK(s, c_begin_at((struct begin){"demo", 2, 0, "10.0.0.1", 3306, "", NULL, 0, 1}, WALL + 2));
    APPLY_OK(s, c_begin_at((struct begin){"b", 1, 0, "10.0.1.1", 3306, "", NULL, 0, 1}, WALL + 3));
    APPLY_OK(s, c_begin_at((struct begin){"a", 1, 0, "10.0.2.1", 3306, "", NULL, 0, 1}, WALL + 3));

    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_failover(s, NULL, UINT_MAX, see_failover, &v), 0);
    FO_CHECK_INT(v.n, 4);
    FO_CHECK_STR(v.rows[0], "b/1/running"); /* same time, same epoch: by cluster, descending */
    FO_CHECK_STR(v.rows[1], "a/1/running");
    FO_CHECK_STR(v.rows[2], "demo/2/running");
    FO_CHECK_STR(v.rows[3], "demo/1/ended");
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_failover(s, "demo", 1, see_failover, &v), 0);
    FO_CHECK_INT(v.n, 1);
    FO_CHECK_STR(v.rows[0], "demo/2/running");
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_failover(s, NULL, 0, see_failover, &v), 0);
    FO_CHECK_INT(v.n, 0);
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_failover(s, "nope", UINT_MAX, see_failover, &v), 0);
    FO_CHECK_INT(v.n, 0);

    /* A new leader resumes every running failover, in cluster order. */
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_running_failover(s, see_failover, &v), 0);
    FO_CHECK_INT(v.n, 3);
    FO_CHECK_STR(v.rows[0], "a/1/running");
    FO_CHECK_STR(v.rows[1], "b/1/running");
    FO_CHECK_STR(v.rows[2], "demo/2/running");
    FO_CHECK_INT(fo_store_get_running_failover(s, "b", &f), 0);
    FO_CHECK_STR(f.old_host, "10.0.1.1");
    FO_CHECK_INT(fo_store_get_running_failover(s, "nope", &f), FO_ENOTFOUND);
    fo_store_close(s);
}

static void test_quarantine(void)
{
    struct fo_store *s = open_demo((struct cluster_opts){0});
    struct fo_store_instance i;
    struct fo_store_event e;
    unsigned n;
    struct script_case cases[] = {
        {"unknown instance", c_quarantine("demo", "10.0.0.9", 3306, 1, "x"), FO_ENOTFOUND},
        {"unknown cluster", c_quarantine("nope", "10.0.0.1", 3306, 1, "x"), FO_ENOTFOUND},
        {"port 0", c_quarantine("demo", "10.0.0.1", 0, 1, "x"), FO_EINVAL},
        {"on", c_quarantine("demo", "10.0.0.3", 3306, 1, "errant GTID 0-3-7"), 0},
    };

    run_script(s, cases, N_CASES(cases));
    FO_CHECK_INT(fo_store_get_instance(s, "demo", "10.0.0.3", 3306, &i), 0);
    FO_CHECK(i.quarantined);
    FO_CHECK_STR(i.quarantine_reason, "errant GTID 0-3-7");
    e = newest(s);
    FO_CHECK_STR(e.kind, "quarantine");
    FO_CHECK_STR(e.detail, "on: errant GTID 0-3-7");
    FO_CHECK_STR(e.instance, "10.0.0.3:3306");
    n = n_events(s, NULL);
    APPLY_OK(s, c_quarantine("demo", "10.0.0.3", 3306, 1, "errant GTID 0-3-7"));
    FO_CHECK_INT(n_events(s, NULL), n);
    APPLY_OK(s, c_quarantine("demo", "10.0.0.3", 3306, 1, "errant GTID 0-3-8"));
    FO_CHECK_INT(n_events(s, NULL), n + 1);
    APPLY_OK(s, c_quarantine("demo", "10.0.0.3", 3306, 0, "ignored when off"));
    FO_CHECK_INT(fo_store_get_instance(s, "demo", "10.0.0.3", 3306, &i), 0);
    FO_CHECK(!i.quarantined);
    FO_CHECK_STR(i.quarantine_reason, "");
    FO_CHECK_STR(newest(s).detail, "off");
    FO_CHECK_INT(fo_store_get_instance(s, "demo", "10.0.0.2", 3306, &i), 0);
    FO_CHECK(!i.quarantined);
    fo_store_close(s);
}

static void test_set_primary(void)
{
    struct fo_store *s = open_mem();
    struct fo_store_cluster c;
    unsigned n;
    struct script_case cases[] = {
        {"cluster", c_cluster("demo"), 0},
        {"instance 1", c_instance_add("demo", "10.0.0.1", 3306, 0), 0},
        {"instance 2", c_instance_add("demo", "10.0.0.2", 3306, 0), 0},
        {"unknown instance", c_set_primary("demo", "10.0.0.3", 3306), FO_ENOTFOUND},
        {"unknown cluster", c_set_primary("nope", "10.0.0.1", 3306), FO_ENOTFOUND},
        {"no host", c_set_primary("demo", "", 3306), FO_EINVAL},
        {"port 70000", c_set_primary("demo", "10.0.0.1", 70000), FO_EINVAL},
        {"set", c_set_primary("demo", "10.0.0.1", 3306), 0},
    };

    run_script(s, cases, N_CASES(cases));
    c = cluster_of(s, "demo");
    FO_CHECK_STR(c.primary_host, "10.0.0.1");
    FO_CHECK_INT(c.primary_port, 3306);
    FO_CHECK_STR(newest(s).kind, "primary");
    FO_CHECK_STR(newest(s).detail, "none -> 10.0.0.1:3306");
    n = n_events(s, NULL);
    APPLY_OK(s, c_set_primary("demo", "10.0.0.1", 3306));
    FO_CHECK_INT(n_events(s, NULL), n);
    APPLY_OK(s, c_set_primary("demo", "10.0.0.2", 3306));
    FO_CHECK_STR(newest(s).detail, "10.0.0.1:3306 -> 10.0.0.2:3306");
    FO_CHECK_STR(newest(s).instance, "10.0.0.2:3306");
    /* Removing another instance keeps it; removing the primary clears it. */
    APPLY_OK(s, c_instance_remove("demo", "10.0.0.1", 3306));
    FO_CHECK_STR(cluster_of(s, "demo").primary_host, "10.0.0.2");
    APPLY_OK(s, c_instance_remove("demo", "10.0.0.2", 3306));
    c = cluster_of(s, "demo");
    FO_CHECK_STR(c.primary_host, "");
    FO_CHECK_INT(c.primary_port, 0);
    FO_CHECK_STR(newest(s).kind, "primary");
    FO_CHECK_STR(newest(s).detail, "10.0.0.2:3306 -> none (instance removed)");
    fo_store_close(s);
}

static void test_cluster_options(void)
{
    struct fo_store *s = open_mem();
    struct fo_store_cluster c;
    struct script_case cases[] = {
        {"relative repl password", c_cluster_opts("x", (struct cluster_opts){"repl", "repl.pw", 0, 0, 0}), FO_EINVAL},
        {"anti_flap_s too big", c_cluster_opts("x", (struct cluster_opts){NULL, NULL, 0, 604801, 0}), FO_EINVAL},
        {"max_lag_s too big", c_cluster_opts("x", (struct cluster_opts){NULL, NULL, 0, 0, 86401}), FO_EINVAL},
        {"repl_user with a newline", c_cluster_opts("x", (struct cluster_opts){"a\nb", NULL, 0, 0, 0}), FO_EINVAL},
        {"all set", c_cluster_opts("full", (struct cluster_opts){"repl", "/etc/fo/repl.pw", 1, 604800, 86400}), 0},
        {"defaults", c_cluster("plain"), 0},
    };

    run_script(s, cases, N_CASES(cases));
    c = cluster_of(s, "full");
    FO_CHECK_STR(c.repl_user, "repl");
    FO_CHECK_STR(c.repl_password_file, "/etc/fo/repl.pw");
    FO_CHECK(c.semi_sync);
    FO_CHECK_INT(c.anti_flap_s, 604800);
    FO_CHECK_INT(c.max_lag_s, 86400);
    FO_CHECK_INT(c.epoch, 0);
    FO_CHECK(c.blocked_until_ms == 0);
    FO_CHECK_STR(c.primary_host, "");
    FO_CHECK_INT(n_events(s, "full"), 1);
    {
        struct events_seen v;
        memset(&v, 0, sizeof(v));
        FO_CHECK_INT(fo_store_each_event(s, "full", 1, see_event, &v), 0);
        FO_CHECK_STR(v.last.detail, "user=failoverd repl_user=repl semi_sync anti_flap_s=604800 max_lag_s=86400");
    }
    c = cluster_of(s, "plain");
    FO_CHECK_STR(c.repl_user, "");
    FO_CHECK(!c.semi_sync);
    FO_CHECK_INT(c.anti_flap_s, 0);
    FO_CHECK_STR(newest(s).detail, "user=failoverd");
    fo_store_close(s);
}

struct decisions_seen {
    unsigned n;
    struct fo_store_decision first, last;
};

static int see_decision(void *data, const struct fo_store_decision *d)
{
    struct decisions_seen *v = data;

    if (v->n == 0) v->first = *d;
    v->last = *d;
    v->n++;
    return 0;
}

static void test_decisions(void)
{
    struct fo_store *s = open_demo((struct cluster_opts){0});
    struct decisions_seen v;
    Fo__ReplicaReport many_r[200], *many[200];
    unsigned n, i;
    struct script_case cases[] = {
        {"unknown cluster", c_decision("nope", "refused", "x", NULL, 0), FO_ENOTFOUND},
        {"no verdict", c_decision("demo", "", "x", NULL, 0), FO_EINVAL},
        {"long verdict", c_decision("demo", "0123456789012345678901234567890123", "x", NULL, 0), FO_EINVAL},
        {"port without host", c_decision("demo", "refused", "x", NULL, 3306), FO_EINVAL},
        {"bad replica port",
         c_decision_n("demo", "refused", "x", NULL, 0, 1,
                      (Fo__ReplicaReport *[]){&(Fo__ReplicaReport){
                          PROTOBUF_C_MESSAGE_INIT(&fo__replica_report__descriptor), "h", 0, 1, "", ""}}),
         FO_EINVAL},
        {"dead primary", c_decision("demo", "dead_primary", "confirmed by 2 of 3", "10.0.0.1", 3306), 0},
        {"refusal about the cluster", c_decision("demo", "refused", "anti-flap block", NULL, 0), 0},
    };

    n = n_events(s, NULL);
    run_script(s, cases, N_CASES(cases));
    FO_CHECK_INT(n_events(s, NULL), n); /* decisions are not events */
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_decision(s, "demo", UINT_MAX, see_decision, &v), 0);
    FO_CHECK_INT(v.n, 2);
    FO_CHECK_STR(v.first.verdict, "refused");
    FO_CHECK_STR(v.first.instance, "");
    FO_CHECK_STR(v.last.verdict, "dead_primary");
    FO_CHECK_STR(v.last.instance, "10.0.0.1:3306");
    FO_CHECK_STR(v.last.reason, "confirmed by 2 of 3");
    FO_CHECK_STR(v.last.detail, EVIDENCE);
    FO_CHECK_STR(v.last.cluster, "demo");
    FO_CHECK(v.last.wall_ms == WALL);
    FO_CHECK(v.first.seq > v.last.seq);
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_decision(s, NULL, 0, see_decision, &v), 0);
    FO_CHECK_INT(v.n, 0);
    FO_CHECK_INT(fo_store_each_decision(s, "other", UINT_MAX, see_decision, &v), 0);
    FO_CHECK_INT(v.n, 0);

    /* Evidence longer than the field is cut between items, visibly. */
    for (i = 0; i < 200; i++) {
        many_r[i] = rep1;
        many_r[i].port = 10000 + i;
        many[i] = &many_r[i];
    }
    APPLY_OK(s, c_decision_n("demo", "unreachable_primary", NULL, NULL, 0, 200, many));
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_decision(s, NULL, 1, see_decision, &v), 0);
    FO_CHECK(strlen(v.first.detail) < sizeof(v.first.detail));
    FO_CHECK(strlen(v.first.detail) > 900);
    FO_CHECK(strcmp(v.first.detail + strlen(v.first.detail) - 4, " ...") == 0);
    FO_CHECK(strncmp(v.first.detail, EVIDENCE, 70) == 0);
    fo_store_close(s);
}

static void test_decision_pruning(void)
{
    struct fo_store *a = open_demo((struct cluster_opts){0}), *b = open_demo((struct cluster_opts){0});
    struct decisions_seen v;
    char *da, *db;
    unsigned i, extra = 5;
    int ok = 1;

    for (i = 0; i < FO_STORE_MAX_DECISIONS + extra; i++) {
        ok &= apply_is(a, c_decision("demo", i % 2 ? "refused" : "unreachable_primary", NULL, NULL, 0), 0);
        ok &= apply_is(b, c_decision("demo", i % 2 ? "refused" : "unreachable_primary", NULL, NULL, 0), 0);
    }
    FO_CHECK(ok);
    memset(&v, 0, sizeof(v));
    FO_CHECK_INT(fo_store_each_decision(a, NULL, UINT_MAX, see_decision, &v), 0);
    FO_CHECK_INT(v.n, FO_STORE_MAX_DECISIONS);
    FO_CHECK_INT(v.first.seq, FO_STORE_MAX_DECISIONS + extra);
    FO_CHECK_INT(v.last.seq, extra + 1);
    da = dump(a);
    db = dump(b);
    FO_CHECK_STR(da, db);
    free(da);
    free(db);
    fo_store_close(a);
    fo_store_close(b);
}

/* The released version-1 schema, verbatim: migration 1 must never change, and this
 * copy is what catches it if it does. */
static const char v1_schema[] = "CREATE TABLE schema_version ("
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
                                "CREATE TABLE events ("
                                "  seq INTEGER PRIMARY KEY,"
                                "  wall_ms INTEGER NOT NULL,"
                                "  cluster TEXT NOT NULL DEFAULT '',"
                                "  instance TEXT NOT NULL DEFAULT '',"
                                "  kind TEXT NOT NULL,"
                                "  detail TEXT NOT NULL DEFAULT '');"
                                "CREATE INDEX events_by_cluster ON events (cluster, seq);"
                                "INSERT INTO settings (key, value) VALUES ('recoveries_enabled', '1');"
                                "INSERT INTO schema_version (id, version) VALUES (1, 1);";

/* What a version-1 build wrote for: cluster_add old, instance_add old 10.0.0.1:3306
 * (prefer), instance_state of it (up primary, server_id 11), recoveries off. */
static const char v1_rows[] =
    "INSERT INTO clusters (name, user, password_file) VALUES ('old', 'failoverd', '/etc/fo/pw');"
    "INSERT INTO instances (cluster, host, port, rule, health, role, server_id) "
    "  VALUES ('old', '10.0.0.1', 3306, 1, 1, 1, 11);"
    "INSERT INTO settings (key, value) VALUES ('recoveries_enabled', '0')"
    "  ON CONFLICT (key) DO UPDATE SET value = excluded.value;"
    "INSERT INTO events (wall_ms, cluster, instance, kind, detail) VALUES"
    "  (1700000000000, 'old', '', 'cluster_add', 'user=failoverd'),"
    "  (1700000000000, 'old', '10.0.0.1:3306', 'instance_add', 'rule=prefer'),"
    "  (1700000000000, 'old', '10.0.0.1:3306', 'health', 'unknown -> up'),"
    "  (1700000000000, 'old', '10.0.0.1:3306', 'role', 'unknown -> primary'),"
    "  (1700000000000, '', '', 'recoveries', 'disabled');";

static void apply_v1_history(struct fo_store *s)
{
    APPLY_OK(s, c_cluster_add("old", "failoverd", "/etc/fo/pw"));
    APPLY_OK(s, c_instance_add("old", "10.0.0.1", 3306, FO_RULE_PREFER));
    APPLY_OK(s, c_state("old", "10.0.0.1", 3306, (struct state){1, 1, NULL, 0, NULL, NULL, 11, 0}));
    APPLY_OK(s, c_recoveries(0));
}

/* A version-1 database as raw sqlite, serialized; NULL on failure. */
static uint8_t *v1_image(size_t *len)
{
    sqlite3 *db;
    sqlite3_int64 n = 0;
    unsigned char *ser;
    uint8_t *out = NULL;

    if (sqlite3_open(":memory:", &db) != SQLITE_OK) return NULL;
    if (sqlite3_exec(db, v1_schema, NULL, NULL, NULL) == SQLITE_OK &&
        sqlite3_exec(db, v1_rows, NULL, NULL, NULL) == SQLITE_OK &&
        (ser = sqlite3_serialize(db, "main", &n, 0)) != NULL) {
        out = malloc((size_t)n);
        memcpy(out, ser, (size_t)n);
        *len = (size_t)n;
        sqlite3_free(ser);
    } else {
        fprintf(stderr, "  v1 image: %s\n", sqlite3_errmsg(db));
    }
    sqlite3_close(db);
    return out;
}

/* Failover commands work on what the migration produced. */
static void exercise_migrated(struct fo_store *s)
{
    struct fo_store_cluster c;
    struct fo_store_instance i;

    FO_CHECK_INT(fo_store_schema_version(s), 5);
    c = cluster_of(s, "old");
    FO_CHECK_STR(c.co_primaries, ""); /* schema 5's columns: "off" */
    FO_CHECK_INT(c.rediscover_interval_s, 0);
    FO_CHECK(!c.adopt_replicas);
    FO_CHECK_STR(c.user, "failoverd");
    FO_CHECK_INT(c.epoch, 0);
    FO_CHECK_STR(c.primary_host, "");
    FO_CHECK_INT(c.anti_flap_s, 0);
    FO_CHECK_INT(fo_store_get_instance(s, "old", "10.0.0.1", 3306, &i), 0);
    FO_CHECK(!i.quarantined);
    FO_CHECK_INT(i.server_id, 11);
    FO_CHECK(!fo_store_recoveries_enabled(s));
    FO_CHECK_INT(n_events(s, "old"), 4);
    APPLY_OK(s, c_instance_add("old", "10.0.0.2", 3306, 0));
    APPLY_OK(s, c_set_primary("old", "10.0.0.1", 3306));
    APPLY_OK(s, c_quarantine("old", "10.0.0.1", 3306, 1, "fenced"));
    APPLY_OK(s, c_begin_auto("old", 1));
    APPLY_OK(s, c_step("old", 1, 3, 1, NULL, "10.0.0.2", 3306));
    APPLY_OK(s, c_end("old", 1, 1, NULL, 2));
    APPLY_OK(s, c_decision("old", "dead_primary", NULL, "10.0.0.1", 3306));
    c = cluster_of(s, "old");
    FO_CHECK_INT(c.epoch, 1);
    FO_CHECK_STR(c.primary_host, "10.0.0.2");
}

/* A version-1 snapshot restores into this build, migrated to the same tables a
 * fresh store has after the same history. */
static void test_migrate_v1(void)
{
    struct fo_store *s = open_mem(), *fresh = open_mem(), *f = NULL;
    char err[FO_ERRLEN] = "", dir[] = "/tmp/fo-store-v1-XXXXXX", path[256];
    char *dm, *df;
    uint8_t *img;
    size_t len = 0;
    sqlite3 *db;

    img = v1_image(&len);
    FO_CHECK(img != NULL);
    if (img == NULL) goto done;
    APPLY_OK(s, c_cluster("replaced"));
    FO_CHECK_INT(fo_store_restore(s, img, len, err), 0);
    if (err[0] != '\0') fprintf(stderr, "  restore v1: %s\n", err);
    apply_v1_history(fresh);
    dm = dump(s);
    df = dump(fresh);
    FO_CHECK_STR(dm, df);
    free(dm);
    free(df);
    exercise_migrated(s);
    exercise_migrated(fresh);
    dm = dump(s);
    df = dump(fresh);
    FO_CHECK_STR(dm, df);
    free(dm);
    free(df);

    /* A version-1 file on disk is migrated by open. */
    if (mkdtemp(dir) == NULL) {
        FO_CHECK(!"mkdtemp");
        goto done;
    }
    snprintf(path, sizeof(path), "%s/store.db", dir);
    FO_CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    FO_CHECK_INT(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
    FO_CHECK_INT(sqlite3_exec(db, v1_rows, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    FO_CHECK_INT(fo_store_open(&f, path, 0, err), 0);
    if (f != NULL) exercise_migrated(f);
    fo_store_close(f);
    remove_store_files(path);
    rmdir(dir);
done:
    free(img);
    fo_store_close(s);
    fo_store_close(fresh);
}

struct collect_names {
    char v[4][FO_NAME_LEN];
    unsigned n;
};

static int collect_name(void *data, const struct fo_store_cluster *c)
{
    struct collect_names *cn = data;

    if (cn->n < 4) snprintf(cn->v[cn->n], FO_NAME_LEN, "%s", c->name);
    cn->n++;
    return 0;
}

/* Writer VIP settings and holder (issue 4). */
static void test_vip_holder(void)
{
    struct fo_store *s = open_mem();
    struct fo_store_cluster c;

    FO_CHECK(s != NULL);
    if (s == NULL) return;
    /* Settings are validated as a whole. */
    FO_CHECK(apply_is(s, c_cluster_vip("bad", "10.0.0.1", "eth0", 0), FO_EINVAL));
    FO_CHECK(apply_is(s, c_cluster_vip("bad", "10.0.0.1/24", "", 0), FO_EINVAL));
    FO_CHECK(apply_is(s, c_cluster_vip("bad", "10.0.0.1/24", "eth 0", 0), FO_EINVAL));
    FO_CHECK(apply_is(s, c_cluster_vip("bad", "10.0.0.1/24", "eth0", 100), FO_EINVAL));
    FO_CHECK(fo_store_get_cluster(s, "bad", &c) == FO_ENOTFOUND);
    APPLY_OK(s, c_cluster_vip("v", "10.0.0.100/24", "eth0", 1500));
    APPLY_OK(s, c_cluster("novip"));
    APPLY_OK(s, c_instance_add("v", "10.0.0.1", 3306, 0));
    APPLY_OK(s, c_instance_add("v", "10.0.0.2", 3306, 0));
    APPLY_OK(s, c_instance_add("novip", "10.0.0.9", 3306, 0));
    c = cluster_of(s, "v");
    FO_CHECK_STR(c.vip, "10.0.0.100/24");
    FO_CHECK_STR(c.vip_interface, "eth0");
    FO_CHECK_INT(c.agent_port, 7301);
    FO_CHECK_INT(c.vip_lease_ms, 1500);
    FO_CHECK_STR(c.vip_host, "");
    /* The VIP manager's loop sees only the clusters with VIPs. */
    {
        struct collect_names names = {0};
        FO_CHECK_INT(fo_store_each_vip_cluster(s, collect_name, &names), 0);
        FO_CHECK_INT(names.n, 1);
        FO_CHECK_STR(names.v[0], "v");
    }
    /* Holder: epoch 0 is the cluster's epoch before any failover. */
    APPLY_OK(s, c_vip_holder("v", "10.0.0.1", 3306, 0));
    c = cluster_of(s, "v");
    FO_CHECK_STR(c.vip_host, "10.0.0.1");
    FO_CHECK_INT(c.vip_port, 3306);
    FO_CHECK_INT(c.vip_epoch, 0);
    /* Refused, nothing changed: no VIP, unknown instance, epoch not begun, bad host. */
    FO_CHECK(apply_is(s, c_vip_holder("novip", "10.0.0.9", 3306, 0), FO_EINVAL));
    FO_CHECK(apply_is(s, c_vip_holder("v", "10.0.0.3", 3306, 0), FO_ENOTFOUND));
    FO_CHECK(apply_is(s, c_vip_holder("v", "10.0.0.2", 3306, 1), FO_EINVAL));
    FO_CHECK(apply_is(s, c_vip_holder("v", "10.0.0.2", 0, 0), FO_EINVAL));
    FO_CHECK(apply_is(s, c_vip_holder("nope", "10.0.0.2", 3306, 0), FO_ENOTFOUND));
    c = cluster_of(s, "v");
    FO_CHECK_STR(c.vip_host, "10.0.0.1");
    /* Move with a begun epoch; then released (nobody). */
    APPLY_OK(s, c_begin_auto("v", 1));
    APPLY_OK(s, c_vip_holder("v", "10.0.0.2", 3306, 1));
    c = cluster_of(s, "v");
    FO_CHECK_STR(c.vip_host, "10.0.0.2");
    FO_CHECK_INT(c.vip_epoch, 1);
    APPLY_OK(s, c_vip_holder("v", "", 0, 1));
    c = cluster_of(s, "v");
    FO_CHECK_STR(c.vip_host, "");
    FO_CHECK_INT(c.vip_port, 0);
    fo_store_close(s);
}

/* Reader VIPs: the list on the cluster, one holder row each, gone with the cluster. */
static void test_reader_vips(void)
{
    static char *two[] = {"10.0.0.101/24", "10.0.0.102/24"};
    static char *dup[] = {"10.0.0.101/24", "10.0.0.101/24"};
    static char *bad[] = {"10.0.0.101"};
    static char *clash[] = {"10.0.0.100/24"};
    struct fo_store *s = open_mem();
    struct fo_store_cluster c;
    char host[FO_HOST_LEN];
    uint16_t port;
    uint64_t epoch;

    FO_CHECK(s != NULL);
    if (s == NULL) return;
    FO_CHECK(apply_is(s, c_cluster_readers("x", "", dup, 2), FO_EINVAL));
    FO_CHECK(apply_is(s, c_cluster_readers("x", "", bad, 1), FO_EINVAL));
    FO_CHECK(apply_is(s, c_cluster_readers("x", "10.0.0.100/24", clash, 1), FO_EINVAL));
    APPLY_OK(s, c_cluster_readers("r", "10.0.0.100/24", two, 2));
    APPLY_OK(s, c_cluster_readers("ronly", "", two, 1));
    APPLY_OK(s, c_instance_add("r", "10.0.0.1", 3306, 0));
    APPLY_OK(s, c_instance_add("r", "10.0.0.2", 3306, 0));
    c = cluster_of(s, "r");
    FO_CHECK_INT(c.n_reader_vips, 2);
    FO_CHECK_STR(c.reader_vips[0], "10.0.0.101/24");
    FO_CHECK_STR(c.reader_vips[1], "10.0.0.102/24");
    FO_CHECK_INT(c.reader_max_lag_s, 12);
    c = cluster_of(s, "ronly");
    FO_CHECK_INT(c.n_reader_vips, 1);
    FO_CHECK_STR(c.vip, "");
    FO_CHECK_INT(fo_store_get_reader_holder(s, "r", "10.0.0.101/24", host, &port, &epoch), 0);
    FO_CHECK_STR(host, "");
    APPLY_OK(s, c_reader_holder("r", "10.0.0.101/24", "10.0.0.2", 3306, 0));
    APPLY_OK(s, c_reader_holder("r", "10.0.0.102/24", "10.0.0.1", 3306, 0));
    FO_CHECK_INT(fo_store_get_reader_holder(s, "r", "10.0.0.101/24", host, &port, &epoch), 0);
    FO_CHECK_STR(host, "10.0.0.2");
    FO_CHECK_INT(port, 3306);
    /* The writer's holder is separate. */
    c = cluster_of(s, "r");
    FO_CHECK_STR(c.vip_host, "");
    /* Refused: not a reader VIP of the cluster, unknown instance, epoch not begun. */
    FO_CHECK(apply_is(s, c_reader_holder("r", "10.0.0.103/24", "10.0.0.1", 3306, 0), FO_EINVAL));
    FO_CHECK(apply_is(s, c_reader_holder("r", "10.0.0.101/24", "10.0.0.9", 3306, 0), FO_ENOTFOUND));
    FO_CHECK(apply_is(s, c_reader_holder("r", "10.0.0.101/24", "10.0.0.1", 3306, 5), FO_EINVAL));
    FO_CHECK_INT(fo_store_get_reader_holder(s, "r", "10.0.0.101/24", host, &port, &epoch), 0);
    FO_CHECK_STR(host, "10.0.0.2");
    /* Released: the row goes. */
    APPLY_OK(s, c_reader_holder("r", "10.0.0.101/24", "", 0, 0));
    FO_CHECK_INT(fo_store_get_reader_holder(s, "r", "10.0.0.101/24", host, &port, &epoch), 0);
    FO_CHECK_STR(host, "");
    /* Removing the cluster removes its holders. */
    APPLY_OK(s, c_cluster_remove("r"));
    FO_CHECK_INT(fo_store_get_reader_holder(s, "r", "10.0.0.102/24", host, &port, &epoch), 0);
    FO_CHECK_STR(host, "");
    fo_store_close(s);
}

static struct packed c_cluster_modes(const char *name, const char *co, unsigned every, bool adopt)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__ClusterAdd b = FO__CLUSTER_ADD__INIT;

    b.name = (char *)name;
    b.user = "failoverd";
    b.password_file = "/etc/fo/pw";
    b.co_primaries = (char *)co;
    b.rediscover_interval_s = every;
    b.adopt_replicas = adopt;
    c.body_case = FO__COMMAND__BODY_CLUSTER_ADD;
    c.cluster_add = &b;
    return seal(&c);
}

/* co_primaries, rediscover_interval_s, adopt_replicas: validated by the FSM, stored,
 * read back, carried by a snapshot; a cluster without them reads as "off". */
static void test_cluster_modes(void)
{
    static const struct {
        const char *co;
        unsigned every;
        bool adopt;
    } bad[] = {
        {"10.0.0.1:3306", 0, false},                   /* one server */
        {"10.0.0.1:3306,10.0.0.1:3306", 0, false},     /* the same twice */
        {"10.0.0.1:3306, 10.0.0.2:3306", 0, false},    /* not canonical */
        {"10.0.0.1:3306,10.0.0.2:3306,x:1", 0, false}, /* three */
        {"10.0.0.1:0,10.0.0.2:3306", 0, false},        /* bad port */
        {"", 4, false},                                /* below 5 */
        {"", 86401, false},                            /* above a day */
        {"", 0, true},                                 /* adopt without rediscovery */
    };
    struct fo_store *s = open_mem(), *t = open_mem();
    struct fo_store_cluster c;
    char err[FO_ERRLEN] = "";
    uint8_t *img = NULL;
    size_t i, len = 0;

    FO_CHECK(s != NULL && t != NULL);
    if (s == NULL || t == NULL) return;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        FO_CHECK(apply_is(s, c_cluster_modes("x", bad[i].co, bad[i].every, bad[i].adopt), FO_EINVAL));
    APPLY_OK(s, c_cluster_modes("mm", "10.0.0.1:3306,[::1]:3307", 5, true));
    APPLY_OK(s, c_cluster_modes("r", "", 86400, false));
    APPLY_OK(s, c_cluster("plain"));
    c = cluster_of(s, "mm");
    FO_CHECK_STR(c.co_primaries, "10.0.0.1:3306,[::1]:3307");
    FO_CHECK_INT(c.rediscover_interval_s, 5);
    FO_CHECK(c.adopt_replicas);
    c = cluster_of(s, "r");
    FO_CHECK_STR(c.co_primaries, "");
    FO_CHECK_INT(c.rediscover_interval_s, 86400);
    FO_CHECK(!c.adopt_replicas);
    c = cluster_of(s, "plain");
    FO_CHECK_STR(c.co_primaries, "");
    FO_CHECK_INT(c.rediscover_interval_s, 0);
    FO_CHECK(!c.adopt_replicas);
    FO_CHECK_INT(fo_store_serialize(s, &img, &len, err), 0);
    FO_CHECK_INT(fo_store_restore(t, img, len, err), 0);
    c = cluster_of(t, "mm");
    FO_CHECK_STR(c.co_primaries, "10.0.0.1:3306,[::1]:3307");
    FO_CHECK_INT(c.rediscover_interval_s, 5);
    FO_CHECK(c.adopt_replicas);
    free(img);
    fo_store_close(s);
    fo_store_close(t);
}

FO_TEST_MAIN(FO_T(test_vip_holder), FO_T(test_reader_vips), FO_T(test_open_memory), FO_T(test_determinism),
             FO_T(test_reads), FO_T(test_events), FO_T(test_snapshot_roundtrip), FO_T(test_restore_rejects),
             FO_T(test_invalid_commands), FO_T(test_newer_version), FO_T(test_state_changes),
             FO_T(test_cluster_problems), FO_T(test_event_pruning), FO_T(test_cluster_remove), FO_T(test_file_fresh),
             FO_T(test_file_modes), FO_T(test_open_errors), FO_T(test_recoveries), FO_T(test_change_hook),
             FO_T(test_members), FO_T(test_maintenance_and_rule), FO_T(test_nested_iteration), FO_T(test_text_fitting),
             FO_T(test_limits), FO_T(test_failover_auto), FO_T(test_failover_events), FO_T(test_failover_anti_flap),
             FO_T(test_failover_cluster_lifetime), FO_T(test_failover_reads), FO_T(test_quarantine),
             FO_T(test_set_primary), FO_T(test_cluster_options), FO_T(test_decisions), FO_T(test_decision_pruning),
             FO_T(test_migrate_v1), FO_T(test_cluster_modes))
