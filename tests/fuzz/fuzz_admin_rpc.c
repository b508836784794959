/* libFuzzer target: every admin RPC request handler of failoverd
 * (controller/admin/admin_handlers.c, admin_failover.c, admin_discover.c behind
 * admin.c's frame decoding), on a real admin server of a node context whose store holds
 * a registered cluster, its instances and a failover in its history.
 *
 * What runs without a live raft: the node's raft is never started (ctl.raft zeroed), so
 * it is no leader and knows none. Every request is decoded and validated by its
 * handler; reads (status, members, clusters, topology, history, why) are answered in
 * full from the store; writes (cluster/instance add and remove, failover, switchover,
 * ack, recoveries, maintenance, promotion rule, member add/remove/transfer) are
 * validated, then try to forward to the leader and fail with FO_ENOLEADER; internal
 * requests (verdict, propose) go through the peer checks (insecure = yes: the claimed
 * node id) and stop at "not the leader". What does NOT run: a write's proposal, raft
 * commit and the reply after apply (tests/fuzz/fuzz_fsm covers decode + apply of every
 * command), leadership barriers, and the failover engine's and monitor's answers (no
 * monitor, no failover engine: their NULL paths are what is exercised).
 *
 * The process first moves into a network namespace of its own (only lo, up): a
 * discover request or a forward connects to whatever address the input names, and
 * must never reach a real network. Without the permission (not root) the target exits
 * 77 at start.
 *
 * Input: up to 8 requests, each a 2-byte big-endian length and that many bytes of
 * fo.Request protobuf, framed and sent in order on one plain-TCP connection, each
 * answered before the next. Invariants (admin.h, DESIGN.md §9): a request that decodes
 * is answered with one Response within 25 s whose code is 0 or an err.h code with an
 * error text; an undecodable one closes the connection and nothing else.
 *
 * FO_FUZZ_WRITE_SEEDS=DIR fuzz_admin_rpc writes the seed corpus (one request of every
 * type, and a few sequences) and exits; it made tests/fuzz/corpus/admin_rpc/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "common/config.h"
#include "common/frame.h"
#include "common/log.h"
#include "controller/admin/admin.h"
#include "controller/ctl.h"
#include "failoverd.pb-c.h"
#include "lib/fuzzutil.h"
#include "store/store.h"

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz_admin_rpc: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

#define MAX_REQS 8
#define CALL_MS 25000

static uv_loop_t loop;
static struct fo_ctl ctl;
static struct fuzz_peer peer;
static char dir[256];
static int verbose; /* FO_FUZZ_VERBOSE set: print each answer (to see what a seed reaches) */

/* ---- seeds --------------------------------------------------------------------------------- */

struct seedfile {
    uint8_t buf[16384];
    size_t len;
};

static void put(struct seedfile *f, Fo__Request *r)
{
    size_t n = fo__request__get_packed_size(r);

    CHECK(f->len + 2 + n <= sizeof f->buf);
    f->buf[f->len++] = (uint8_t)(n >> 8);
    f->buf[f->len++] = (uint8_t)n;
    fo__request__pack(r, f->buf + f->len);
    f->len += n;
}

static void save(const char *sdir, const char *name, struct seedfile *f)
{
    char path[1024];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", sdir, name);
    CHECK((fp = fopen(path, "wb")) != NULL);
    CHECK(fwrite(f->buf, 1, f->len, fp) == f->len);
    fclose(fp);
    f->len = 0;
}

static void write_seeds(const char *sdir)
{
    static struct seedfile f;
    static char *readers[] = {"10.0.1.101/24"};
    Fo__Request r;
    Fo__StatusReq st = FO__STATUS_REQ__INIT;
    Fo__MembersReq mb = FO__MEMBERS_REQ__INIT;
    Fo__TopologyReq tp = FO__TOPOLOGY_REQ__INIT;
    Fo__HistoryReq hi = FO__HISTORY_REQ__INIT;
    Fo__ClustersReq cl = FO__CLUSTERS_REQ__INIT;
    Fo__ClusterAdd ca = FO__CLUSTER_ADD__INIT;
    Fo__ClusterRemove cr = FO__CLUSTER_REMOVE__INIT;
    Fo__InstanceAdd ia = FO__INSTANCE_ADD__INIT;
    Fo__InstanceRemove ir = FO__INSTANCE_REMOVE__INIT;
    Fo__MemberAddReq ma = FO__MEMBER_ADD_REQ__INIT;
    Fo__MemberRemoveReq mr = FO__MEMBER_REMOVE_REQ__INIT;
    Fo__MemberTransferReq mt = FO__MEMBER_TRANSFER_REQ__INIT;
    Fo__ProposeReq pr = FO__PROPOSE_REQ__INIT;
    Fo__Command cmd = FO__COMMAND__INIT;
    Fo__MemberNote mn = FO__MEMBER_NOTE__INIT;
    Fo__VerdictReq vd = FO__VERDICT_REQ__INIT;
    Fo__WhyReq wy = FO__WHY_REQ__INIT;
    Fo__FailoverReq fo = FO__FAILOVER_REQ__INIT;
    Fo__SwitchoverReq sw = FO__SWITCHOVER_REQ__INIT;
    Fo__Ack ak = FO__ACK__INIT;
    Fo__RecoveriesReq rc = FO__RECOVERIES_REQ__INIT;
    Fo__Maintenance mn2 = FO__MAINTENANCE__INIT;
    Fo__SetPromotionRule rl = FO__SET_PROMOTION_RULE__INIT;
    Fo__DiscoverReq dc = FO__DISCOVER_REQ__INIT;

#define REQ(field, bodycase, msg, name) \
    do {                                \
        fo__request__init(&r);          \
        r.body_case = bodycase;         \
        r.field = &msg;                 \
        put(&f, &r);                    \
        save(sdir, name, &f);           \
    } while (0)

    REQ(status, FO__REQUEST__BODY_STATUS, st, "status");
    REQ(members, FO__REQUEST__BODY_MEMBERS, mb, "members");
    tp.cluster = "orders";
    REQ(topology, FO__REQUEST__BODY_TOPOLOGY, tp, "topology");
    hi.cluster = "orders";
    hi.limit = 5;
    REQ(history, FO__REQUEST__BODY_HISTORY, hi, "history");
    REQ(clusters, FO__REQUEST__BODY_CLUSTERS, cl, "clusters");
    ca.name = "sales";
    ca.user = "failoverd";
    ca.password_file = "/x/orders.password";
    ca.vip = "10.0.2.100/24";
    ca.vip_interface = "eth0";
    ca.n_reader_vips = 1;
    ca.reader_vips = readers;
    REQ(cluster_add, FO__REQUEST__BODY_CLUSTER_ADD, ca, "cluster_add");
    cr.name = "orders";
    REQ(cluster_remove, FO__REQUEST__BODY_CLUSTER_REMOVE, cr, "cluster_remove");
    ia.cluster = "orders";
    ia.host = "127.0.0.3";
    ia.port = 3306;
    ia.rule = FO__PROMOTION_RULE__RULE_PREFER;
    REQ(instance_add, FO__REQUEST__BODY_INSTANCE_ADD, ia, "instance_add");
    ir.cluster = "orders";
    ir.host = "127.0.0.2";
    ir.port = 3306;
    REQ(instance_remove, FO__REQUEST__BODY_INSTANCE_REMOVE, ir, "instance_remove");
    ma.id = 3;
    ma.raft_address = "127.0.0.1:7103";
    REQ(member_add, FO__REQUEST__BODY_MEMBER_ADD, ma, "member_add");
    mr.id = 2;
    REQ(member_remove, FO__REQUEST__BODY_MEMBER_REMOVE, mr, "member_remove");
    mt.id = 2;
    REQ(member_transfer, FO__REQUEST__BODY_MEMBER_TRANSFER, mt, "member_transfer");
    mn.id = 2;
    mn.admin_address = "127.0.0.1:7002";
    cmd.version = 1;
    cmd.origin = 2;
    cmd.body_case = FO__COMMAND__BODY_MEMBER_NOTE;
    cmd.member_note = &mn;
    pr.command = &cmd;
    REQ(propose, FO__REQUEST__BODY_PROPOSE, pr, "propose");
    vd.node_id = 2;
    vd.cluster = "orders";
    vd.host = "127.0.0.1";
    vd.port = 3306;
    vd.down = 1;
    vd.detail = "connect timeout";
    REQ(verdict, FO__REQUEST__BODY_VERDICT, vd, "verdict");
    wy.cluster = "orders";
    REQ(why, FO__REQUEST__BODY_WHY, wy, "why");
    fo.cluster = "orders";
    REQ(failover, FO__REQUEST__BODY_FAILOVER, fo, "failover");
    sw.cluster = "orders";
    sw.target_host = "127.0.0.2";
    sw.target_port = 3306;
    REQ(switchover, FO__REQUEST__BODY_SWITCHOVER, sw, "switchover");
    ak.cluster = "orders";
    REQ(ack, FO__REQUEST__BODY_ACK, ak, "ack");
    rc.enabled = 1;
    REQ(recoveries, FO__REQUEST__BODY_RECOVERIES, rc, "recoveries");
    mn2.cluster = "orders";
    mn2.host = "127.0.0.2";
    mn2.port = 3306;
    mn2.on = 1;
    mn2.reason = "disk swap";
    REQ(maintenance, FO__REQUEST__BODY_MAINTENANCE, mn2, "maintenance");
    rl.cluster = "orders";
    rl.host = "127.0.0.2";
    rl.port = 3306;
    rl.rule = FO__PROMOTION_RULE__RULE_MUST_NOT;
    REQ(promotion_rule, FO__REQUEST__BODY_PROMOTION_RULE, rl, "promotion_rule");
    dc.seed_host = "127.0.0.1";
    dc.seed_port = 3306;
    dc.cluster = "orders";
    REQ(discover, FO__REQUEST__BODY_DISCOVER, dc, "discover");
    /* A read, a write and a read on one connection; a forwarded request. */
    fo__request__init(&r);
    r.body_case = FO__REQUEST__BODY_TOPOLOGY;
    r.topology = &tp;
    put(&f, &r);
    r.body_case = FO__REQUEST__BODY_MAINTENANCE;
    r.maintenance = &mn2;
    put(&f, &r);
    r.forwarded = 1;
    r.body_case = FO__REQUEST__BODY_HISTORY;
    r.history = &hi;
    put(&f, &r);
    save(sdir, "sequence", &f);
#undef REQ
}

/* ---- setup ---------------------------------------------------------------------------------- */

/* Registers the config's cluster in the store as the leader would, plus history. */
static void seed_store(const char *password_file)
{
    Fo__Command c = FO__COMMAND__INIT;
    Fo__ClusterAdd ca = FO__CLUSTER_ADD__INIT;
    Fo__InstanceAdd ia = FO__INSTANCE_ADD__INIT;
    Fo__SetPrimary sp = FO__SET_PRIMARY__INIT;
    Fo__FailoverBegin fb = FO__FAILOVER_BEGIN__INIT;
    Fo__FailoverEnd fe = FO__FAILOVER_END__INIT;
    Fo__Decision de = FO__DECISION__INIT;
    Fo__MemberNote mn = FO__MEMBER_NOTE__INIT;
    static char *readers[] = {"10.0.1.101/24"};
    uint8_t buf[4096];
    char err[FO_ERRLEN];
    size_t n;

#define APPLY(field, bodycase, msg)                                          \
    do {                                                                     \
        c.version = FO_COMMAND_VERSION;                                      \
        c.wall_ms = 1700000000000ull;                                        \
        c.body_case = bodycase;                                              \
        c.field = &msg;                                                      \
        n = fo__command__pack(&c, buf);                                      \
        if (fo_store_apply(ctl.store, buf, n, err) != 0) {                   \
            fprintf(stderr, "fuzz_admin_rpc: seeding the store: %s\n", err); \
            abort();                                                         \
        }                                                                    \
    } while (0)

    ca.name = "orders";
    ca.user = "failoverd";
    ca.password_file = (char *)password_file;
    ca.vip = "10.0.1.100/24";
    ca.vip_interface = "lo";
    ca.n_reader_vips = 1;
    ca.reader_vips = readers;
    APPLY(cluster_add, FO__COMMAND__BODY_CLUSTER_ADD, ca);
    ia.cluster = "orders";
    ia.host = "127.0.0.1";
    ia.port = 3306;
    APPLY(instance_add, FO__COMMAND__BODY_INSTANCE_ADD, ia);
    ia.host = "127.0.0.2";
    APPLY(instance_add, FO__COMMAND__BODY_INSTANCE_ADD, ia);
    sp.cluster = "orders";
    sp.host = "127.0.0.1";
    sp.port = 3306;
    APPLY(set_primary, FO__COMMAND__BODY_SET_PRIMARY, sp);
    de.cluster = "orders";
    de.verdict = "unreachable_primary";
    de.reason = "replicas still replicate";
    de.host = "127.0.0.1";
    de.port = 3306;
    APPLY(decision, FO__COMMAND__BODY_DECISION, de);
    fb.cluster = "orders";
    fb.epoch = 1;
    fb.old_host = "127.0.0.1";
    fb.old_port = 3306;
    fb.reason = "test";
    APPLY(failover_begin, FO__COMMAND__BODY_FAILOVER_BEGIN, fb);
    fe.cluster = "orders";
    fe.epoch = 1;
    fe.result = FO__FAILOVER_RESULT__RESULT_FAILED;
    fe.detail = "no candidate";
    APPLY(failover_end, FO__COMMAND__BODY_FAILOVER_END, fe);
    mn.id = 2;
    mn.raft_address = "127.0.0.1:7102";
    mn.admin_address = "127.0.0.1:7002";
    APPLY(member_note, FO__COMMAND__BODY_MEMBER_NOTE, mn);
#undef APPLY
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seeds = getenv("FO_FUZZ_WRITE_SEEDS");
    char text[4096], path[300], err[FO_ERRLEN];
    uint16_t raft_port, admin_port, http_port, peer_raft, peer_admin;

    (void)argc;
    (void)argv;
    if (seeds != NULL) {
        write_seeds(seeds);
        exit(0);
    }
    if (fuzz_private_netns() != 0) {
        perror("fuzz_admin_rpc: cannot make a private network namespace (needs root); not running");
        exit(77);
    }
    fo_log_set_level(FO_LOG_ERROR);
    CHECK(fuzz_temp_dir(dir, sizeof dir, "admin") == 0);
    snprintf(path, sizeof path, "%s/orders.password", dir);
    CHECK(fuzz_write_file(path, "secret\n") == 0);
    raft_port = fuzz_free_port();
    admin_port = fuzz_free_port();
    http_port = fuzz_free_port(); /* required by the config; nothing serves it here */
    peer_raft = fuzz_free_port();
    peer_admin = fuzz_free_port();
    snprintf(text, sizeof text,
             "[failoverd]\nnode_id = 1\nraft_address = 127.0.0.1:%u\nadmin_address = 127.0.0.1:%u\n"
             "http_address = 127.0.0.1:%u\ndata_dir = %s\nsecrets_dir = %s\n"
             "[peer 1]\nraft_address = 127.0.0.1:%u\nadmin_address = 127.0.0.1:%u\n"
             "[peer 2]\nraft_address = 127.0.0.1:%u\nadmin_address = 127.0.0.1:%u\n"
             "[tls]\ninsecure = yes\n",
             raft_port, admin_port, http_port, dir, dir, raft_port, admin_port, peer_raft, peer_admin);
    if (fo_config_load_string(&ctl.cfg, "fuzz-failoverd.conf", text, err) != 0) {
        fprintf(stderr, "fuzz_admin_rpc: config: %s\n", err);
        abort();
    }
    CHECK(uv_loop_init(&loop) == 0);
    ctl.loop = &loop;
    CHECK(fo_store_open(&ctl.store, ":memory:", 0, err) == 0);
    seed_store(path);
    if (fo_admin_start(&ctl, err) != 0) {
        fprintf(stderr, "fuzz_admin_rpc: admin: %s\n", err);
        abort();
    }
    fuzz_peer_init(&peer, &loop, admin_port);
    verbose = getenv("FO_FUZZ_VERBOSE") != NULL;
    return 0;
}

/* ---- the target ---------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0, n, flen;
    uint8_t *frame;
    unsigned k;
    int rc, req_case;

    for (k = 0; k < MAX_REQS && pos + 2 <= size; k++, pos += n) {
        Fo__Request *req;
        Fo__Response *resp;

        n = (size_t)data[pos] << 8 | data[pos + 1];
        pos += 2;
        if (n > size - pos) n = size - pos;
        req = fo__request__unpack(NULL, n, data + pos);
        CHECK(fo_frame_encode(FO_FRAME_REQUEST, data + pos, n, &frame, &flen) == 0);
        rc = fuzz_peer_call(&peer, frame, flen, CALL_MS);
        free(frame);
        if (rc < 0) {
            fprintf(stderr, "fuzz_admin_rpc: no answer within %u ms\n", CALL_MS);
            abort();
        }
        if (req == NULL) {
            CHECK(rc == 0); /* undecodable: the connection is closed */
            continue;
        }
        req_case = req->body_case;
        fo__request__free_unpacked(req, NULL);
        CHECK(rc == 1); /* decodable: answered */
        resp = fo__response__unpack(NULL, peer.resp_len, peer.resp);
        CHECK(resp != NULL);
        CHECK(resp->code >= 0 && resp->code < 100);
        if (resp->code != 0) CHECK(resp->error != NULL && resp->error[0] != '\0');
        if (verbose) fprintf(stderr, "request body %d: code %d %s\n", (int)req_case, resp->code, resp->error);
        fo__response__free_unpacked(resp, NULL);
    }
    /* Let what the requests started (timers, closes) run before the next input. */
    uv_run(&loop, UV_RUN_NOWAIT);
    return 0;
}
