/* libFuzzer target: the raft FSM's apply (store/: fo_store_apply decodes one fo.Command
 * and applies it to sqlite in one transaction), against a fresh store each input.
 *
 * Input: a sequence of commands, each a 2-byte big-endian length and that many bytes
 * of (normally protobuf) command. Each input starts from a fresh empty store (the
 * image of a store just opened, restored with fo_store_restore). Invariants (store.h):
 *   - a command refused (non-zero) changes nothing: fo_store_dump is the same before and
 *     after, unless it is a command of a newer version (then one event records the
 *     skip);
 *   - apply is deterministic: the same sequence applied to a second fresh store gives
 *     the same dump and the same result codes;
 *   - snapshot = serialize, restore into another store: the same dump;
 *   - no command makes the store fail (FO_ESTORE): raft/node.c's apply aborts the
 *     node then, and every node applies the same entry.
 * Every input is applied; the dump comparisons run on a quarter of them (chosen by a
 * hash of the input, so a run is reproducible), as they cost ten times the rest. The
 * store is restored only after an input that changed it (one that was refused whole
 * left it fresh, which the sampled inputs check).
 *
 * FO_FUZZ_WRITE_SEEDS=DIR fuzz_fsm writes the seed corpus (real encoded commands: a
 * cluster's whole life, each command kind alone) into DIR and exits; it made
 * tests/fuzz/corpus/fsm/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "failoverd.pb-c.h"
#include "store/store.h"

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "fuzz_fsm: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

#define MAX_CMDS 32

static struct fo_store *a, *b;
static uint8_t *fresh;
static size_t fresh_len;

/* ---- seeds --------------------------------------------------------------------------------- */

struct seedfile {
    uint8_t buf[65536];
    size_t len;
};

static void put(struct seedfile *f, Fo__Command *c, uint32_t version)
{
    size_t n;

    c->version = version;
    c->wall_ms = 1700000000000ull + f->len;
    c->origin = 1;
    n = fo__command__get_packed_size(c);
    CHECK(f->len + 2 + n <= sizeof f->buf);
    f->buf[f->len++] = (uint8_t)(n >> 8);
    f->buf[f->len++] = (uint8_t)n;
    fo__command__pack(c, f->buf + f->len);
    f->len += n;
}

static void save(const char *dir, const char *name, struct seedfile *f)
{
    char path[1024];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK((fp = fopen(path, "wb")) != NULL);
    CHECK(fwrite(f->buf, 1, f->len, fp) == f->len);
    fclose(fp);
    f->len = 0;
}

static void write_seeds(const char *dir)
{
    static struct seedfile f;
    static char *readers[] = {"10.0.1.101/24", "10.0.1.102/24"};
    Fo__Command c;
    Fo__ClusterAdd ca = FO__CLUSTER_ADD__INIT;
    Fo__InstanceAdd ia = FO__INSTANCE_ADD__INIT;
    Fo__InstanceState is = FO__INSTANCE_STATE__INIT;
    Fo__ClusterProblems cp = FO__CLUSTER_PROBLEMS__INIT;
    Fo__SetPromotionRule pr = FO__SET_PROMOTION_RULE__INIT;
    Fo__Maintenance mt = FO__MAINTENANCE__INIT;
    Fo__RecoveriesEnable re = FO__RECOVERIES_ENABLE__INIT;
    Fo__MemberNote mn = FO__MEMBER_NOTE__INIT;
    Fo__FailoverBegin fb = FO__FAILOVER_BEGIN__INIT;
    Fo__FailoverStepDone fs = FO__FAILOVER_STEP_DONE__INIT;
    Fo__FailoverEnd fe = FO__FAILOVER_END__INIT;
    Fo__Decision de = FO__DECISION__INIT;
    Fo__Ack ak = FO__ACK__INIT;
    Fo__Quarantine qu = FO__QUARANTINE__INIT;
    Fo__SetPrimary sp = FO__SET_PRIMARY__INIT;
    Fo__VipHolder vh = FO__VIP_HOLDER__INIT;
    Fo__InstanceRemove ir = FO__INSTANCE_REMOVE__INIT;
    Fo__ClusterRemove cr = FO__CLUSTER_REMOVE__INIT;
    Fo__Confirmation conf = FO__CONFIRMATION__INIT, *confs[1] = {&conf};
    Fo__ReplicaReport rep = FO__REPLICA_REPORT__INIT, *reps[1] = {&rep};
    static char *problems[] = {"two writable servers: 10.0.1.21:3306, 10.0.1.22:3306"};
    static const char *hosts[] = {"10.0.1.21", "10.0.1.22", "10.0.1.23"};
    unsigned i;

#define CMD(field, bodycase, msg) \
    do {                          \
        fo__command__init(&c);    \
        c.body_case = bodycase;   \
        c.field = &msg;           \
    } while (0)

    ca.name = "orders";
    ca.user = "failoverd";
    ca.password_file = "/etc/failoverd/orders.password";
    ca.repl_user = "repl";
    ca.repl_password_file = "/etc/failoverd/orders.repl.password";
    ca.semi_sync = 1;
    ca.anti_flap_s = 3600;
    ca.vip = "10.0.1.100/24";
    ca.vip_interface = "eth0";
    ca.n_reader_vips = 2;
    ca.reader_vips = readers;
    CMD(cluster_add, FO__COMMAND__BODY_CLUSTER_ADD, ca);
    put(&f, &c, FO_COMMAND_VERSION);
    for (i = 0; i < 3; i++) {
        ia.cluster = "orders";
        ia.host = (char *)hosts[i];
        ia.port = 3306;
        ia.rule = i == 2 ? FO__PROMOTION_RULE__RULE_MUST_NOT : FO__PROMOTION_RULE__RULE_NEUTRAL;
        CMD(instance_add, FO__COMMAND__BODY_INSTANCE_ADD, ia);
        put(&f, &c, FO_COMMAND_VERSION);
    }
    sp.cluster = "orders";
    sp.host = "10.0.1.21";
    sp.port = 3306;
    CMD(set_primary, FO__COMMAND__BODY_SET_PRIMARY, sp);
    put(&f, &c, FO_COMMAND_VERSION);
    is.cluster = "orders";
    is.host = "10.0.1.22";
    is.port = 3306;
    is.health = FO__HEALTH__HEALTH_UP;
    is.role = FO__ROLE__ROLE_REPLICA;
    is.source_host = "10.0.1.21";
    is.source_port = 3306;
    is.server_id = 2;
    is.read_only = 1;
    CMD(instance_state, FO__COMMAND__BODY_INSTANCE_STATE, is);
    put(&f, &c, FO_COMMAND_VERSION);
    cp.cluster = "orders";
    cp.n_problems = 1;
    cp.problems = problems;
    CMD(cluster_problems, FO__COMMAND__BODY_CLUSTER_PROBLEMS, cp);
    put(&f, &c, FO_COMMAND_VERSION);
    pr.cluster = "orders";
    pr.host = "10.0.1.22";
    pr.port = 3306;
    pr.rule = FO__PROMOTION_RULE__RULE_PREFER;
    CMD(promotion_rule, FO__COMMAND__BODY_PROMOTION_RULE, pr);
    put(&f, &c, FO_COMMAND_VERSION);
    mt.cluster = "orders";
    mt.host = "10.0.1.23";
    mt.port = 3306;
    mt.on = 1;
    mt.reason = "disk swap";
    CMD(maintenance, FO__COMMAND__BODY_MAINTENANCE, mt);
    put(&f, &c, FO_COMMAND_VERSION);
    re.enabled = 1;
    CMD(recoveries, FO__COMMAND__BODY_RECOVERIES, re);
    put(&f, &c, FO_COMMAND_VERSION);
    mn.id = 2;
    mn.raft_address = "10.0.0.12:7101";
    mn.admin_address = "10.0.0.12:7001";
    mn.http_address = "10.0.0.12:9501";
    CMD(member_note, FO__COMMAND__BODY_MEMBER_NOTE, mn);
    put(&f, &c, FO_COMMAND_VERSION);
    vh.cluster = "orders";
    vh.host = "10.0.1.21";
    vh.port = 3306;
    vh.epoch = 0;
    vh.detail = "first primary";
    CMD(vip_holder, FO__COMMAND__BODY_VIP_HOLDER, vh);
    put(&f, &c, FO_COMMAND_VERSION);
    conf.node_id = 2;
    conf.down = 1;
    conf.age_ms = 120;
    conf.detail = "connect timeout";
    rep.host = "10.0.1.22";
    rep.port = 3306;
    rep.reachable = 1;
    rep.io_running = "Connecting";
    de.cluster = "orders";
    de.verdict = "dead_primary";
    de.reason = "primary down on 2 of 3 controllers, every replica disconnected";
    de.n_confirmations = 1;
    de.confirmations = confs;
    de.n_replicas = 1;
    de.replicas = reps;
    de.host = "10.0.1.21";
    de.port = 3306;
    CMD(decision, FO__COMMAND__BODY_DECISION, de);
    put(&f, &c, FO_COMMAND_VERSION);
    fb.cluster = "orders";
    fb.epoch = 1;
    fb.kind = FO__FAILOVER_KIND__KIND_AUTO;
    fb.old_host = "10.0.1.21";
    fb.old_port = 3306;
    fb.reason = "dead primary";
    fb.n_confirmations = 1;
    fb.confirmations = confs;
    fb.n_replicas = 1;
    fb.replicas = reps;
    CMD(failover_begin, FO__COMMAND__BODY_FAILOVER_BEGIN, fb);
    put(&f, &c, FO_COMMAND_VERSION);
    fs.cluster = "orders";
    fs.epoch = 1;
    fs.step = FO__FAILOVER_STEP__STEP_CHOOSE;
    fs.duration_ms = 40;
    fs.new_host = "10.0.1.22";
    fs.new_port = 3306;
    CMD(failover_step, FO__COMMAND__BODY_FAILOVER_STEP, fs);
    put(&f, &c, FO_COMMAND_VERSION);
    qu.cluster = "orders";
    qu.host = "10.0.1.21";
    qu.port = 3306;
    qu.on = 1;
    qu.reason = "old primary: errant transactions";
    CMD(quarantine, FO__COMMAND__BODY_QUARANTINE, qu);
    put(&f, &c, FO_COMMAND_VERSION);
    fe.cluster = "orders";
    fe.epoch = 1;
    fe.result = FO__FAILOVER_RESULT__RESULT_SUCCESS;
    fe.detail = "promoted 10.0.1.22:3306";
    fe.total_ms = 900;
    CMD(failover_end, FO__COMMAND__BODY_FAILOVER_END, fe);
    put(&f, &c, FO_COMMAND_VERSION);
    ak.cluster = "orders";
    CMD(ack, FO__COMMAND__BODY_ACK, ak);
    put(&f, &c, FO_COMMAND_VERSION);
    vh.host = "10.0.1.23";
    vh.epoch = 1;
    vh.vip = "10.0.1.101/24";
    CMD(vip_holder, FO__COMMAND__BODY_VIP_HOLDER, vh);
    put(&f, &c, FO_COMMAND_VERSION);
    save(dir, "lifecycle", &f);

    /* The same life ending in removal, and a command from a newer version. */
    CMD(cluster_add, FO__COMMAND__BODY_CLUSTER_ADD, ca);
    put(&f, &c, FO_COMMAND_VERSION);
    ia.host = "10.0.1.21";
    CMD(instance_add, FO__COMMAND__BODY_INSTANCE_ADD, ia);
    put(&f, &c, FO_COMMAND_VERSION);
    ir.cluster = "orders";
    ir.host = "10.0.1.21";
    ir.port = 3306;
    CMD(instance_remove, FO__COMMAND__BODY_INSTANCE_REMOVE, ir);
    put(&f, &c, FO_COMMAND_VERSION);
    CMD(ack, FO__COMMAND__BODY_ACK, ak);
    put(&f, &c, FO_COMMAND_VERSION + 1);
    cr.name = "orders";
    CMD(cluster_remove, FO__COMMAND__BODY_CLUSTER_REMOVE, cr);
    put(&f, &c, FO_COMMAND_VERSION);
    save(dir, "add-remove-newer", &f);

    /* A failover that fails, and a member removed. */
    CMD(cluster_add, FO__COMMAND__BODY_CLUSTER_ADD, ca);
    put(&f, &c, FO_COMMAND_VERSION);
    fb.kind = FO__FAILOVER_KIND__KIND_SWITCHOVER;
    fb.target_host = "10.0.1.22";
    fb.target_port = 3306;
    CMD(failover_begin, FO__COMMAND__BODY_FAILOVER_BEGIN, fb);
    put(&f, &c, FO_COMMAND_VERSION);
    fe.result = FO__FAILOVER_RESULT__RESULT_FAILED;
    CMD(failover_end, FO__COMMAND__BODY_FAILOVER_END, fe);
    put(&f, &c, FO_COMMAND_VERSION);
    mn.removed = 1;
    CMD(member_note, FO__COMMAND__BODY_MEMBER_NOTE, mn);
    put(&f, &c, FO_COMMAND_VERSION);
    save(dir, "switchover-failed", &f);
#undef CMD
}

/* ---- the target ---------------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seeds = getenv("FO_FUZZ_WRITE_SEEDS");
    char err[FO_ERRLEN];

    (void)argc;
    (void)argv;
    fo_log_set_level(FO_LOG_ERROR);
    if (seeds != NULL) {
        write_seeds(seeds);
        exit(0);
    }
    CHECK(fo_store_open(&a, ":memory:", 0, err) == 0);
    CHECK(fo_store_open(&b, ":memory:", 0, err) == 0);
    CHECK(fo_store_serialize(a, &fresh, &fresh_len, err) == 0);
    return 0;
}

static void dump(struct fo_store *s, struct fo_buf *out)
{
    fo_buf_reset(out);
    CHECK(fo_store_dump(s, out) == 0);
    CHECK(!out->oom);
}

static int same(const struct fo_buf *x, const struct fo_buf *y)
{
    return x->len == y->len && memcmp(x->p, y->p, x->len) == 0;
}

/* A decodable command of a newer version: its refusal may record an event. */
static int newer(const uint8_t *p, size_t n)
{
    Fo__Command *c = fo__command__unpack(NULL, n, p);
    int r = c != NULL && c->version > FO_COMMAND_VERSION;

    if (c != NULL) fo__command__free_unpacked(c, NULL);
    return r;
}

/* FNV-1a of the input: picks, deterministically per input, those that get the costly
 * checks (a restore costs ~9 ms and a dump ~2 ms under ASan; doing every check on every
 * input would leave ~10 inputs a second). */
static uint32_t input_hash(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;

    while (n-- > 0) h = (h ^ *p++) * 16777619u;
    return h;
}

/* The next command of the input: 0 at the end. */
static int next_cmd(const uint8_t *data, size_t size, size_t *pos, const uint8_t **p, size_t *n)
{
    if (*pos + 2 > size) return 0;
    *n = (size_t)data[*pos] << 8 | data[*pos + 1];
    *pos += 2;
    if (*n > size - *pos) *n = size - *pos;
    *p = data + *pos;
    *pos += *n;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fo_buf before, after, other;
    static int init, dirty = 1;
    char err[FO_ERRLEN];
    int codes[MAX_CMDS], full, have_before = 0;
    size_t pos = 0, n;
    const uint8_t *p;
    unsigned k, ncmd;
    uint8_t *img;
    size_t img_len;

    if (!init) {
        fo_buf_init(&before);
        fo_buf_init(&after);
        fo_buf_init(&other);
        init = 1;
    }
    full = input_hash(data, size) % 4 == 0;
    /* A store that only refused commands since its last restore is still fresh (the
     * contract checked on every sampled input); most mutated inputs are refused. */
    if (dirty) CHECK(fo_store_restore(a, fresh, fresh_len, err) == 0);
    dirty = 0;
    for (k = 0; k < MAX_CMDS && next_cmd(data, size, &pos, &p, &n); k++) {
        if (full && !have_before) {
            dump(a, &before);
            have_before = 1;
        }
        codes[k] = fo_store_apply(a, p, n, err);
        if (codes[k] != 0) CHECK(err[0] != '\0');
        /* raft/node.c's apply aborts the process on FO_ESTORE (the local database
         * failed): a command that made the store fail would crash every node. */
        if (codes[k] == FO_ESTORE) {
            fprintf(stderr, "fuzz_fsm: command %u: store error: %s\n", k, err);
            abort();
        }
        if (codes[k] == 0 || newer(p, n)) dirty = 1;
        if (!full) continue;
        if (codes[k] != 0 && !newer(p, n)) {
            dump(a, &after);
            CHECK(same(&before, &after)); /* refused: nothing changed */
        } else {
            have_before = 0;
        }
    }
    ncmd = k;
    if (!full || ncmd == 0) return 0;
    dump(a, &after);
    /* Determinism: the same commands on the other fresh store. */
    CHECK(fo_store_restore(b, fresh, fresh_len, err) == 0);
    for (pos = 0, k = 0; k < ncmd && next_cmd(data, size, &pos, &p, &n); k++)
        CHECK(fo_store_apply(b, p, n, err) == codes[k]);
    dump(b, &other);
    CHECK(same(&after, &other));
    /* Snapshot and restore. */
    CHECK(fo_store_serialize(a, &img, &img_len, err) == 0);
    CHECK(fo_store_restore(b, img, img_len, err) == 0);
    free(img);
    dump(b, &other);
    CHECK(same(&after, &other));
    return 0;
}
