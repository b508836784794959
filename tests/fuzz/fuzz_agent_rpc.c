/* libFuzzer target: every failover-agent RPC handler (agent/rpc.c, agent/relay.c,
 * agent/mysqlfence.c behind agent/server.c's dispatch), on a real agent server.
 *
 * Seam: the process first moves into a network namespace of its own (fuzz_private_netns,
 * tests/fuzz/lib/fuzzutil.h) where only lo exists, and the agent's clusters list their
 * VIPs on lo. So AcquireVip / ReleaseVip / lease expiry really add and delete addresses
 * through rtnetlink, the ARP announcer runs, the epoch store fsyncs in the thread pool,
 * FenceMysql and lease_read_only really connect to a [mysql] port (nobody listens: the
 * fence fails fast), and the host's own network never changes. Without the permission
 * to make a namespace (not root) the target exits 77 at start and touches nothing.
 *
 * Input: up to 16 requests, each a 2-byte big-endian length and that many bytes of
 * AgentRequest protobuf; each is framed (common/frame.h) and sent, in order, on one
 * plain-TCP connection, and answered before the next is sent. Every input starts on a
 * fresh server with an empty epoch store, so an input replays the same way alone.
 * Invariants (agent/server.h):
 *   - a request that decodes is answered, one AgentResponse with its id, within 3 s;
 *     only an undecodable one closes the connection;
 *   - the answer's code is 0 or one of err.h's codes, with an error text when not 0;
 *   - after the input, a Status lists every configured VIP, and a lease that says
 *     "held" has its address on lo; the epoch of a cluster never goes down between
 *     two answers.
 *
 * FO_FUZZ_WRITE_SEEDS=DIR fuzz_agent_rpc writes the seed corpus and exits; it made
 * tests/fuzz/corpus/agent_rpc/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "agent.pb-c.h"
#include "agent/config.h"
#include "agent/server.h"
#include "common/frame.h"
#include "common/log.h"
#include "lib/fuzzutil.h"

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz_agent_rpc: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

#define MAX_REQS 16
#define CALL_MS 3000
#define N_VIPS 4 /* the configuration below */

static uv_loop_t loop;
static struct fo_agent_config cfg;
static char state_dir[256];
static uint16_t port;

/* ---- seeds --------------------------------------------------------------------------------- */

struct seedfile {
    uint8_t buf[16384];
    size_t len;
};

static void put(struct seedfile *f, Fo__Agent__AgentRequest *r)
{
    size_t n = fo__agent__agent_request__get_packed_size(r);

    CHECK(f->len + 2 + n <= sizeof f->buf);
    f->buf[f->len++] = (uint8_t)(n >> 8);
    f->buf[f->len++] = (uint8_t)n;
    fo__agent__agent_request__pack(r, f->buf + f->len);
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
    Fo__Agent__AgentRequest r;
    Fo__Agent__StatusRequest st = FO__AGENT__STATUS_REQUEST__INIT;
    Fo__Agent__AcquireVip aq = FO__AGENT__ACQUIRE_VIP__INIT;
    Fo__Agent__RenewLease rn = FO__AGENT__RENEW_LEASE__INIT;
    Fo__Agent__ReleaseVip rl = FO__AGENT__RELEASE_VIP__INIT;
    Fo__Agent__FenceMysql fm = FO__AGENT__FENCE_MYSQL__INIT;
    Fo__Agent__LeaseNonce ln = FO__AGENT__LEASE_NONCE__INIT;
    Fo__Agent__RelayNonce rnn = FO__AGENT__RELAY_NONCE__INIT;
    Fo__Agent__RelayRenew rr = FO__AGENT__RELAY_RENEW__INIT;
    static uint8_t token[] = {8, 1, 18, 6, 'o', 'r', 'd', 'e', 'r', 's'};
    uint64_t id = 1;

#define REQ(field, bodycase, msg)           \
    do {                                    \
        fo__agent__agent_request__init(&r); \
        r.id = id++;                        \
        r.body_case = bodycase;             \
        r.field = &msg;                     \
    } while (0)

    REQ(status, FO__AGENT__AGENT_REQUEST__BODY_STATUS, st);
    put(&f, &r);
    save(dir, "status", &f);

    aq.cluster = "orders";
    aq.vip = "10.0.1.100";
    aq.prefix = 24;
    aq.interface = "lo";
    aq.epoch = 1;
    aq.lease_ms = 2000;
    aq.writer = 1;
    REQ(acquire, FO__AGENT__AGENT_REQUEST__BODY_ACQUIRE, aq);
    put(&f, &r);
    rn.cluster = "orders";
    rn.epoch = 1;
    rn.vip = "";
    REQ(renew, FO__AGENT__AGENT_REQUEST__BODY_RENEW, rn);
    put(&f, &r);
    rn.vip = "10.0.1.100";
    REQ(renew, FO__AGENT__AGENT_REQUEST__BODY_RENEW, rn);
    put(&f, &r);
    REQ(status, FO__AGENT__AGENT_REQUEST__BODY_STATUS, st);
    put(&f, &r);
    rl.cluster = "orders";
    rl.epoch = 2;
    rl.vip = "10.0.1.100";
    REQ(release, FO__AGENT__AGENT_REQUEST__BODY_RELEASE, rl);
    put(&f, &r);
    save(dir, "acquire-renew-release", &f);

    aq.lease_ms = 1;
    aq.vip = "10.0.1.101";
    aq.prefix = 32;
    aq.writer = 0;
    REQ(acquire, FO__AGENT__AGENT_REQUEST__BODY_ACQUIRE, aq);
    put(&f, &r);
    aq.epoch = 0;
    REQ(acquire, FO__AGENT__AGENT_REQUEST__BODY_ACQUIRE, aq);
    put(&f, &r);
    rn.vip = "10.0.1.101";
    REQ(renew, FO__AGENT__AGENT_REQUEST__BODY_RENEW, rn);
    put(&f, &r);
    save(dir, "short-lease-stale", &f);

    fm.cluster = "orders";
    fm.epoch = 3;
    REQ(fence, FO__AGENT__AGENT_REQUEST__BODY_FENCE, fm);
    put(&f, &r);
    fm.cluster = "nosuch";
    REQ(fence, FO__AGENT__AGENT_REQUEST__BODY_FENCE, fm);
    put(&f, &r);
    save(dir, "fence", &f);

    ln.cluster = "orders";
    REQ(lease_nonce, FO__AGENT__AGENT_REQUEST__BODY_LEASE_NONCE, ln);
    put(&f, &r);
    rnn.cluster = "orders";
    rnn.host = "127.0.0.1";
    rnn.port = 1;
    REQ(relay_nonce, FO__AGENT__AGENT_REQUEST__BODY_RELAY_NONCE, rnn);
    put(&f, &r);
    rr.token.data = token;
    rr.token.len = sizeof token;
    rr.host = "127.0.0.1";
    rr.port = 1;
    REQ(relay_renew, FO__AGENT__AGENT_REQUEST__BODY_RELAY_RENEW, rr);
    put(&f, &r);
    save(dir, "relay", &f);

    aq.cluster = "other";
    aq.vip = "10.0.2.100";
    aq.prefix = 24;
    aq.epoch = 5;
    aq.lease_ms = 600000;
    aq.writer = 1;
    REQ(acquire, FO__AGENT__AGENT_REQUEST__BODY_ACQUIRE, aq);
    put(&f, &r);
    aq.interface = "eth0";
    REQ(acquire, FO__AGENT__AGENT_REQUEST__BODY_ACQUIRE, aq);
    put(&f, &r);
    rl.cluster = "other";
    rl.vip = "";
    rl.epoch = 5;
    REQ(release, FO__AGENT__AGENT_REQUEST__BODY_RELEASE, rl);
    put(&f, &r);
    save(dir, "other-cluster", &f);
#undef REQ
}

/* ---- setup ---------------------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seeds = getenv("FO_FUZZ_WRITE_SEEDS");
    char text[2048], pw[300], err[FO_ERRLEN];
    uint16_t myport;

    (void)argc;
    (void)argv;
    if (seeds != NULL) {
        write_seeds(seeds);
        exit(0);
    }
    if (fuzz_private_netns() != 0) {
        perror("fuzz_agent_rpc: cannot make a private network namespace (needs root); not running");
        exit(77);
    }
    fo_log_set_level(FO_LOG_ERROR);
    CHECK(fuzz_temp_dir(state_dir, sizeof state_dir, "agent") == 0);
    snprintf(pw, sizeof pw, "%s/mysql.password", state_dir);
    CHECK(fuzz_write_file(pw, "secret\n") == 0);
    port = fuzz_free_port();
    myport = fuzz_free_port();
    CHECK(port != 0 && myport != 0);
    snprintf(text, sizeof text,
             "[agent]\nlisten = 127.0.0.1:%u\nstate_dir = %s\ninsecure = yes\narp_count = 1\narp_interval_ms = 1\n"
             "max_frame_bytes = 65536\n"
             "[mysql]\nhost = 127.0.0.1\nport = %u\nuser = agent\npassword_file = %s\n"
             "connect_timeout_ms = 50\ntimeout_ms = 200\nssl_mode = off\n"
             "[cluster orders]\nvip = 10.0.1.100/24 lo\nvip = 10.0.1.101/32 lo\n"
             "[cluster other]\nvip = 10.0.2.100/24 lo\nvip = 10.0.1.100/24 lo\n"
             "[cluster novip]\n",
             port, state_dir, myport, pw);
    if (fo_agent_config_load_string(&cfg, "fuzz-agent.conf", text, err) != 0) {
        fprintf(stderr, "fuzz_agent_rpc: config: %s\n", err);
        abort();
    }
    CHECK(uv_loop_init(&loop) == 0);
    return 0;
}

static void closed(void *data)
{
    *(int *)data = 1;
}

static struct fo_agent_server *start(void)
{
    struct fo_agent_server *s;
    char path[300], err[FO_ERRLEN];

    snprintf(path, sizeof path, "%s/epochs", state_dir);
    unlink(path);
    if (fo_agent_server_start(&s, &loop, &cfg, err) != 0) {
        fprintf(stderr, "fuzz_agent_rpc: start: %s\n", err);
        abort();
    }
    return s;
}

static void stop(struct fo_agent_server *s)
{
    int done = 0;

    fo_agent_server_stop(s, closed, &done);
    for (int i = 0; !done && i < 100000; i++) uv_run(&loop, UV_RUN_NOWAIT), usleep(10);
    CHECK(done);
}

/* ---- the target ---------------------------------------------------------------------------- */

static uint64_t epochs_seen[N_VIPS];

/* Sends one request payload; returns the decoded response (caller frees) or NULL when
 * the connection was closed. */
static Fo__Agent__AgentResponse *call(struct fuzz_peer *p, const uint8_t *payload, size_t n)
{
    uint8_t *frame;
    size_t flen;
    int rc;
    Fo__Agent__AgentResponse *resp;

    CHECK(fo_frame_encode(FO_FRAME_REQUEST, payload, n, &frame, &flen) == 0);
    rc = fuzz_peer_call(p, frame, flen, CALL_MS);
    free(frame);
    if (rc < 0) {
        fprintf(stderr, "fuzz_agent_rpc: no answer within %u ms\n", CALL_MS);
        abort();
    }
    if (rc == 0) return NULL;
    resp = fo__agent__agent_response__unpack(NULL, p->resp_len, p->resp);
    CHECK(resp != NULL);
    return resp;
}

static void check_status(struct fuzz_peer *p)
{
    Fo__Agent__AgentRequest r = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__StatusRequest st = FO__AGENT__STATUS_REQUEST__INIT;
    Fo__Agent__AgentResponse *resp;
    uint8_t buf[64];
    size_t n;

    r.id = 424242;
    r.body_case = FO__AGENT__AGENT_REQUEST__BODY_STATUS;
    r.status = &st;
    n = fo__agent__agent_request__pack(&r, buf);
    resp = call(p, buf, n);
    CHECK(resp != NULL && resp->id == 424242 && resp->code == 0 && resp->status != NULL);
    CHECK(resp->status->n_clusters == N_VIPS);
    for (size_t i = 0; i < resp->status->n_clusters; i++) {
        const Fo__Agent__ClusterStatus *c = resp->status->clusters[i];
        if (strcmp(c->lease_state, "held") == 0) CHECK(c->vip_present);
        CHECK(c->epoch >= epochs_seen[i]);
        epochs_seen[i] = c->epoch;
    }
    fo__agent__agent_response__free_unpacked(resp, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fo_agent_server *s = start();
    struct fuzz_peer p;
    size_t pos = 0, n;
    unsigned k;

    memset(epochs_seen, 0, sizeof epochs_seen);
    fuzz_peer_init(&p, &loop, port);
    for (k = 0; k < MAX_REQS && pos + 2 <= size; k++, pos += n) {
        Fo__Agent__AgentRequest *req;
        Fo__Agent__AgentResponse *resp;

        n = (size_t)data[pos] << 8 | data[pos + 1];
        pos += 2;
        if (n > size - pos) n = size - pos;
        req = fo__agent__agent_request__unpack(NULL, n, data + pos);
        resp = call(&p, data + pos, n);
        if (req == NULL) {
            CHECK(resp == NULL); /* undecodable: the connection is closed */
            continue;
        }
        CHECK(resp != NULL); /* decodable: answered */
        CHECK(resp->id == req->id);
        CHECK(resp->code >= 0 && resp->code < 100);
        if (resp->code != 0) CHECK(resp->error != NULL && resp->error[0] != '\0');
        fo__agent__agent_response__free_unpacked(resp, NULL);
        fo__agent__agent_request__free_unpacked(req, NULL);
        check_status(&p);
    }
    check_status(&p);
    fuzz_peer_destroy(&p);
    stop(s);
    return 0;
}
