/* Unit tests for common/tls.c: real TLS connections over 127.0.0.1 on a uv loop with
 * a deadline, with certificates made at test time by deploy/gen-certs.sh. Both ends
 * usually run on the same loop; `openssl s_client` stands in for peers that our API
 * cannot be (no client certificate, TLS 1.2 only). Every test ends with a loop that
 * stops by itself and closes cleanly (no handle left), and checks that each callback
 * fired exactly once (STYLE.md §4, §14). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "common/frame.h"
#include "common/tls.h"
#include "lib/testcheck.h"

#define DEADLINE_MS 20000
#define BIG_FRAME (300u * 1024)
#define CHUNK (256u * 1024)
#define MAX_CHUNKS 256
#define PATHLEN 512

/* Fails the current test and returns when the certificates could not be made. */
#define NEED_CERTS(c)          \
    do {                       \
        if (!(c)->ok) {        \
            FO_CHECK((c)->ok); \
            return;            \
        }                      \
    } while (0)

/* ------------------------------------------------------------------ certificates */

/* Made once per test binary: dir_a holds the cluster CA and its certificates, dir_b
 * another CA ("rogue") and trust-both.crt, a bundle trusting both CAs. */
struct certs {
    bool made, ok;
    char dir_a[FO_TEST_DIRLEN];
    char dir_b[FO_TEST_DIRLEN];
    char script[PATHLEN];
};

static struct certs g_certs;

static void join(char *out, const char *dir, const char *file)
{
    int n = snprintf(out, PATHLEN, "%s/%s", dir, file);

    if (n < 0 || n >= PATHLEN) out[0] = '\0';
}

static bool script_in(const char *root, char out[PATHLEN])
{
    join(out, root, "deploy/gen-certs.sh");
    return out[0] != '\0' && access(out, X_OK) == 0;
}

/* deploy/gen-certs.sh under FO_SOURCE_DIR (set by ctest); else in the source tree
 * this file was compiled from (__FILE__, absolute or relative to the current
 * directory); else in a directory above the test binary (a build tree inside the
 * source tree). */
static bool find_script(char out[PATHLEN])
{
    const char *src = getenv("FO_SOURCE_DIR"), *me = __FILE__, *tail = "tests/unit/test_tls.c";
    size_t n = strlen(me), t = strlen(tail);
    char root[PATHLEN], *slash;
    ssize_t len;

    if (src != NULL && src[0] != '\0') return script_in(src, out);
    if (n >= t && strcmp(me + n - t, tail) == 0) {
        if (n > t)
            snprintf(root, sizeof root, "%.*s", (int)(n - t - 1), me);
        else
            snprintf(root, sizeof root, ".");
        if (script_in(root, out)) return true;
    }
    len = readlink("/proc/self/exe", root, sizeof root - 1);
    if (len <= 0) return false;
    root[len] = '\0';
    while ((slash = strrchr(root, '/')) != NULL && slash != root) {
        *slash = '\0';
        if (script_in(root, out)) return true;
    }
    return false;
}

static int gen_certs(const char *dir, const char *log, char *const entries[], size_t n)
{
    char *argv[16];
    size_t i, k = 0;

    argv[k++] = g_certs.script;
    argv[k++] = "--out";
    argv[k++] = (char *)dir;
    for (i = 0; i < n && k < 15; i++) argv[k++] = entries[i];
    argv[k] = NULL;
    return fo_test_run_cmd(argv, log, 30000);
}

static char *const set_a[] = {
    "controller:ctl1,127.0.0.1,node=1", "agent:db1,127.0.0.1,db1.example", "client:admin", "agent:far,10.0.0.99",
    "controller:ctl2,127.0.0.1,node=2", "controller:ctl0,127.0.0.1"};
#define N_SET_A (sizeof set_a / sizeof set_a[0])
static char *const set_b[] = {"controller:rogue,127.0.0.1"};

/* A controller certificate by dir's CA that names two node ids (gen-certs.sh refuses
 * to make one): what a careless hand-made certificate could look like. */
static int two_ids_cert(const char *dir, const char *log)
{
    char script[2048];
    char *argv[] = {"/bin/sh", "-c", script, NULL};
    int n = snprintf(script, sizeof script,
                     "set -e; cd '%s'; "
                     "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out twoids.key; "
                     "openssl req -new -key twoids.key -subj /OU=controller/CN=twoids -config /dev/null "
                     "-out twoids.csr; "
                     "printf 'subjectAltName = IP:127.0.0.1,URI:" FO_TLS_NODE_URI_PREFIX "3,URI:" FO_TLS_NODE_URI_PREFIX
                     "4\\n' > twoids.ext; "
                     "openssl x509 -req -in twoids.csr -CA ca.crt -CAkey ca.key -set_serial 0x4242 -days 2 "
                     "-extfile twoids.ext -out twoids.crt",
                     dir);

    if (n < 0 || (size_t)n >= sizeof script) return -1;
    return fo_test_run_cmd(argv, log, 30000);
}

static bool concat(const char *out, const char *a, const char *b)
{
    char buf[8192];
    FILE *o = fopen(out, "w"), *in;
    const char *files[2] = {a, b};
    size_t i, n;

    if (o == NULL) return false;
    for (i = 0; i < 2; i++) {
        in = fopen(files[i], "r");
        if (in == NULL) break;
        while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, o);
        fclose(in);
    }
    return fclose(o) == 0 && i == 2;
}

static const struct certs *certs(void)
{
    char log[PATHLEN], both[PATHLEN], ca_a[PATHLEN], ca_b[PATHLEN];

    if (g_certs.made) return &g_certs;
    g_certs.made = true;
    /* As failoverd does: a write to a peer that has gone must not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    if (!find_script(g_certs.script)) {
        fprintf(stderr, "  cannot find deploy/gen-certs.sh (set FO_SOURCE_DIR)\n");
        return &g_certs;
    }
    if (fo_test_tmpdir(g_certs.dir_a, sizeof g_certs.dir_a, "tls-a") != 0 ||
        fo_test_tmpdir(g_certs.dir_b, sizeof g_certs.dir_b, "tls-b") != 0)
        return &g_certs;
    join(log, g_certs.dir_a, "gen.log");
    if (gen_certs(g_certs.dir_a, log, set_a, N_SET_A) != 0 || gen_certs(g_certs.dir_b, log, set_b, 1) != 0 ||
        two_ids_cert(g_certs.dir_a, log) != 0) {
        fo_test_print_tail(log);
        return &g_certs;
    }
    join(both, g_certs.dir_b, "trust-both.crt");
    join(ca_a, g_certs.dir_a, "ca.crt");
    join(ca_b, g_certs.dir_b, "ca.crt");
    g_certs.ok = concat(both, ca_b, ca_a);
    return &g_certs;
}

/* A context from dir's CA (or ca_name) and dir/name.{crt,key}. */
static struct fo_tls_ctx *mkctx_ca(const char *dir, const char *ca_name, const char *name, unsigned roles)
{
    char ca[PATHLEN], crt[PATHLEN], key[PATHLEN], file[64], err[FO_ERRLEN] = "";
    struct fo_tls_ctx *ctx = NULL;
    int rc;

    join(ca, dir, ca_name);
    snprintf(file, sizeof file, "%s.crt", name);
    join(crt, dir, file);
    snprintf(file, sizeof file, "%s.key", name);
    join(key, dir, file);
    rc = fo_tls_ctx_new(&ctx, ca, crt, key, roles, err);
    if (rc != 0) fprintf(stderr, "  fo_tls_ctx_new(%s): %s\n", name, err);
    FO_CHECK_INT(rc, 0);
    return ctx;
}

static struct fo_tls_ctx *mkctx(const char *dir, const char *name, unsigned roles)
{
    return mkctx_ca(dir, "ca.crt", name, roles);
}

/* ------------------------------------------------------------------ a connection pair */

struct pair;

/* What one end saw. */
struct side {
    struct pair *p;
    struct fo_tls_conn *conn;
    struct fo_frame_decoder dec;
    bool raw; /* count bytes, do not decode frames */
    int handshakes, closes, status, frames;
    size_t bytes;
    char reason[FO_ERRLEN];
    unsigned role;
    char cn[FO_TLS_CN_MAX + 1];
    char proto[16];
    int node_rc;
    uint64_t node_id;
    void (*on_handshake)(struct side *s);
    void (*on_frame)(struct side *s, const struct fo_frame *f);
    void (*on_close)(struct side *s);
};

struct pair {
    struct fo_test_loop tl;
    uv_tcp_t listener;
    bool listening;
    uint16_t port;
    struct fo_tls_ctx *sctx, *cctx;
    struct side server, client;
    bool server_close_on_accept;
    /* Writes from the client side (close during write, buffer cap). */
    int writes, write_ok, write_canceled, write_other, write_cbs_after_close;
    int last_write_rc;
    size_t max_pending;
    uint8_t *chunk;
};

static void side_handshake(void *data, struct fo_tls_conn *c)
{
    struct side *s = data;

    s->handshakes++;
    s->role = fo_tls_conn_peer_role(c);
    s->node_rc = fo_tls_conn_peer_node_id(c, &s->node_id);
    snprintf(s->cn, sizeof s->cn, "%s", fo_tls_conn_peer_cn(c));
    snprintf(s->proto, sizeof s->proto, "%s", fo_tls_conn_protocol(c));
    if (s->on_handshake != NULL) s->on_handshake(s);
}

static void side_read(void *data, struct fo_tls_conn *c, const uint8_t *bytes, size_t n)
{
    struct side *s = data;
    struct fo_frame f;
    char err[FO_ERRLEN];
    int rc;

    s->bytes += n;
    if (s->raw) return;
    FO_CHECK_INT(fo_frame_decoder_feed(&s->dec, bytes, n), 0);
    while ((rc = fo_frame_decoder_next(&s->dec, &f, err)) == 0) {
        s->frames++;
        if (s->on_frame != NULL) s->on_frame(s, &f);
        if (fo_tls_conn_state(c) == FO_TLS_CLOSING) return;
    }
    FO_CHECK_INT(rc, FO_EAGAIN);
}

static void side_close(void *data, int status, const char *reason)
{
    struct side *s = data;

    s->closes++;
    s->status = status;
    snprintf(s->reason, sizeof s->reason, "%s", reason);
    s->conn = NULL;
    if (s->on_close != NULL) s->on_close(s);
}

static struct fo_tls_conn_cbs side_cbs(struct side *s)
{
    return (struct fo_tls_conn_cbs){side_handshake, side_read, side_close, s};
}

static void pair_init(struct pair *p)
{
    memset(p, 0, sizeof *p);
    p->server.p = p->client.p = p;
    fo_frame_decoder_init(&p->server.dec, FO_FRAME_DEFAULT_MAX);
    fo_frame_decoder_init(&p->client.dec, FO_FRAME_RESPONSE_MAX);
    fo_test_check_loop_init(&p->tl, DEADLINE_MS);
}

/* Runs the loop to its natural end, checks it closes cleanly and frees the rest. */
static void pair_finish(struct pair *p)
{
    fo_test_check_loop_finish(&p->tl);
    fo_frame_decoder_close(&p->server.dec);
    fo_frame_decoder_close(&p->client.dec);
    fo_tls_ctx_free(p->sctx);
    fo_tls_ctx_free(p->cctx);
    free(p->chunk);
}

static void on_connection(uv_stream_t *l, int status)
{
    struct pair *p = l->data;
    struct fo_tls_conn_cbs cbs = side_cbs(&p->server);
    char err[FO_ERRLEN];

    FO_CHECK_INT(status, 0);
    if (status != 0 || p->server.conn != NULL) return;
    FO_CHECK_INT(fo_tls_conn_new(p->sctx, &p->tl.loop, &cbs, &p->server.conn, err), 0);
    if (p->server.conn == NULL) return;
    FO_CHECK_INT(fo_tls_conn_accept(p->server.conn, l, err), 0);
    FO_CHECK_INT(fo_tls_conn_state(p->server.conn), FO_TLS_HANDSHAKE);
    /* One connection per test: the listener goes, so the loop can end. */
    uv_close((uv_handle_t *)&p->listener, NULL);
    if (p->server_close_on_accept) fo_tls_conn_close(p->server.conn);
}

static void pair_listen(struct pair *p)
{
    struct sockaddr_in sa;
    struct sockaddr_storage ss;
    int len = sizeof ss;

    FO_CHECK_INT(uv_tcp_init(&p->tl.loop, &p->listener), 0);
    p->listener.data = p;
    FO_CHECK_INT(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
    FO_CHECK_INT(uv_tcp_bind(&p->listener, (struct sockaddr *)&sa, 0), 0);
    FO_CHECK_INT(uv_listen((uv_stream_t *)&p->listener, 8, on_connection), 0);
    FO_CHECK_INT(uv_tcp_getsockname(&p->listener, (struct sockaddr *)&ss, &len), 0);
    p->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    p->listening = true;
}

static void pair_connect(struct pair *p, uint16_t port, const char *server_name)
{
    struct fo_tls_conn_cbs cbs = side_cbs(&p->client);
    struct sockaddr_in sa;
    char err[FO_ERRLEN];
    int rc;

    FO_CHECK_INT(fo_tls_conn_new(p->cctx, &p->tl.loop, &cbs, &p->client.conn, err), 0);
    if (p->client.conn == NULL) return;
    FO_CHECK_INT(uv_ip4_addr("127.0.0.1", port, &sa), 0);
    rc = fo_tls_conn_connect(p->client.conn, (struct sockaddr *)&sa, server_name, err);
    if (rc != 0) fprintf(stderr, "  connect: %s\n", err);
    FO_CHECK_INT(rc, 0);
    FO_CHECK_INT(fo_tls_conn_state(p->client.conn), FO_TLS_CONNECTING);
}

static void send_frame(struct side *s, uint8_t type, const uint8_t *payload, size_t len)
{
    uint8_t *buf;
    size_t n;

    FO_CHECK_INT(fo_frame_encode(type, payload, len, &buf, &n), 0);
    FO_CHECK_INT(fo_tls_conn_write(s->conn, buf, n, NULL, NULL), 0);
    free(buf); /* the write copied it */
}

/* ------------------------------------------------------------------ gen-certs.sh */

static bool same_file(const char *a, const char *b)
{
    char x[4096], y[4096];
    FILE *fa = fopen(a, "r"), *fb = fopen(b, "r");
    size_t na = 0, nb = 0;

    if (fa != NULL) na = fread(x, 1, sizeof x, fa);
    if (fb != NULL) nb = fread(y, 1, sizeof y, fb);
    if (fa != NULL) fclose(fa);
    if (fb != NULL) fclose(fb);
    return fa != NULL && fb != NULL && na == nb && na > 0 && memcmp(x, y, na) == 0;
}

static void test_gen_certs(void)
{
    const struct certs *c = certs();
    char path[PATHLEN], copy[PATHLEN], crt[PATHLEN], log[PATHLEN];
    struct stat st;
    char *bad[] = {"boss:x"};

    FO_CHECK(c->ok);
    if (!c->ok) return;
    join(path, c->dir_a, "admin.key");
    FO_CHECK_INT(stat(path, &st), 0);
    FO_CHECK_INT(st.st_mode & 0777, 0600);
    join(path, c->dir_a, "ca.key");
    FO_CHECK_INT(stat(path, &st), 0);
    FO_CHECK_INT(st.st_mode & 0777, 0600);
    /* A second run keeps the CA and the certificates. */
    join(crt, c->dir_a, "db1.crt");
    join(copy, c->dir_a, "db1.crt.before");
    FO_CHECK(concat(copy, crt, "/dev/null"));
    join(log, c->dir_a, "gen2.log");
    FO_CHECK_INT(gen_certs(c->dir_a, log, set_a, N_SET_A), 0);
    FO_CHECK(same_file(copy, crt));
    /* A bad entry fails before anything is written. */
    FO_CHECK_INT(gen_certs(c->dir_a, log, bad, 1), 1);
    join(path, c->dir_a, "x.crt");
    FO_CHECK(access(path, F_OK) != 0);
}

/* ------------------------------------------------------------------ contexts */

static void test_ctx_errors(void)
{
    const struct certs *c = certs();
    char ca[PATHLEN], crt[PATHLEN], key[PATHLEN], other[PATHLEN], junk[PATHLEN], err[FO_ERRLEN];
    struct fo_tls_ctx *ctx = (struct fo_tls_ctx *)1;
    FILE *f;

    NEED_CERTS(c);
    join(ca, c->dir_a, "ca.crt");
    join(crt, c->dir_a, "ctl1.crt");
    join(key, c->dir_a, "ctl1.key");
    join(other, c->dir_a, "db1.key");
    join(junk, c->dir_a, "junk.pem");
    f = fopen(junk, "w");
    FO_CHECK(f != NULL);
    if (f != NULL) fputs("not a certificate\n", f), fclose(f);

    FO_CHECK_INT(fo_tls_ctx_new(&ctx, "/nonexistent/ca.crt", crt, key, FO_TLS_ROLE_AGENT, err), FO_ECONFIG);
    FO_CHECK(ctx == NULL);
    FO_CHECK_CONTAINS(err, "/nonexistent/ca.crt");
    FO_CHECK_CONTAINS(err, "No such file");
    FO_CHECK_INT(fo_tls_ctx_new(&ctx, junk, crt, key, FO_TLS_ROLE_AGENT, err), FO_ECONFIG);
    FO_CHECK_CONTAINS(err, junk);
    FO_CHECK_INT(fo_tls_ctx_new(&ctx, ca, junk, key, FO_TLS_ROLE_AGENT, err), FO_ECONFIG);
    FO_CHECK_CONTAINS(err, junk);
    FO_CHECK_INT(fo_tls_ctx_new(&ctx, ca, crt, other, FO_TLS_ROLE_AGENT, err), FO_ECONFIG);
    FO_CHECK_CONTAINS(err, "does not match");
    FO_CHECK_CONTAINS(err, other);
    FO_CHECK_INT(fo_tls_ctx_new(&ctx, ca, crt, key, 0, err), FO_EINVAL);
    FO_CHECK_INT(fo_tls_ctx_new(&ctx, ca, crt, key, 0x10, err), FO_EINVAL);
    /* Our own certificate from another CA is caught at start-up. */
    join(crt, c->dir_b, "rogue.crt");
    join(key, c->dir_b, "rogue.key");
    FO_CHECK_INT(fo_tls_ctx_new(&ctx, ca, crt, key, FO_TLS_ROLE_AGENT, err), FO_ECONFIG);
    FO_CHECK_CONTAINS(err, "does not verify");
    FO_CHECK(ctx == NULL);

    join(crt, c->dir_a, "ctl1.crt");
    join(key, c->dir_a, "ctl1.key");
    FO_CHECK_INT(fo_tls_ctx_new(&ctx, ca, crt, key, FO_TLS_ROLE_AGENT, err), 0);
    if (ctx != NULL) {
        FO_CHECK_INT(fo_tls_ctx_set_max_pending(ctx, 100), FO_EINVAL);
        FO_CHECK_INT(fo_tls_ctx_set_max_pending(ctx, (size_t)INT_MAX + 1), FO_EINVAL);
        FO_CHECK_INT(fo_tls_ctx_set_max_pending(ctx, 64u << 20), 0);
    }
    fo_tls_ctx_free(ctx);
    fo_tls_ctx_free(NULL);

    FO_CHECK_INT(fo_tls_role_parse("agent"), FO_TLS_ROLE_AGENT);
    FO_CHECK_INT(fo_tls_role_parse("Agent"), 0);
    FO_CHECK_STR(fo_tls_role_name(FO_TLS_ROLE_CLIENT), "client");
}

/* ------------------------------------------------------------------ frames both ways */

static const uint8_t ping[] = "ping";

static uint8_t *pattern(size_t n)
{
    uint8_t *b = malloc(n);
    size_t i;

    if (b != NULL)
        for (i = 0; i < n; i++) b[i] = (uint8_t)(i * 7 + 3);
    return b;
}

/* Agent side: answers each request with a response carrying the same payload. */
static void server_echo(struct side *s, const struct fo_frame *f)
{
    FO_CHECK_INT(f->type, FO_FRAME_REQUEST);
    send_frame(s, FO_FRAME_RESPONSE, f->payload, f->len);
}

static void client_send_two(struct side *s)
{
    uint8_t *big = pattern(BIG_FRAME);

    FO_CHECK(big != NULL);
    if (big == NULL) return;
    send_frame(s, FO_FRAME_REQUEST, ping, sizeof ping);
    send_frame(s, FO_FRAME_REQUEST, big, BIG_FRAME);
    free(big);
}

static void client_check_reply(struct side *s, const struct fo_frame *f)
{
    uint8_t *big;

    FO_CHECK_INT(f->type, FO_FRAME_RESPONSE);
    if (s->frames == 1) {
        FO_CHECK(f->len == sizeof ping && memcmp(f->payload, ping, sizeof ping) == 0);
        return;
    }
    big = pattern(BIG_FRAME);
    FO_CHECK(big != NULL && f->len == BIG_FRAME && memcmp(f->payload, big, BIG_FRAME) == 0);
    free(big);
    fo_tls_conn_close(s->conn);
}

static void test_frames_both_ways(void)
{
    const struct certs *c = certs();
    struct pair p;

    NEED_CERTS(c);
    pair_init(&p);
    p.sctx = mkctx(c->dir_a, "db1", FO_TLS_ROLE_CONTROLLER);
    p.cctx = mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_AGENT);
    p.server.on_frame = server_echo;
    p.client.on_handshake = client_send_two;
    p.client.on_frame = client_check_reply;
    pair_listen(&p);
    pair_connect(&p, p.port, NULL);
    pair_finish(&p);

    FO_CHECK_INT(p.client.handshakes, 1);
    FO_CHECK_INT(p.client.role, FO_TLS_ROLE_AGENT);
    FO_CHECK_STR(p.client.cn, "db1");
    FO_CHECK_STR(p.client.proto, "TLSv1.3");
    FO_CHECK_INT(p.client.frames, 2);
    FO_CHECK_INT(p.client.closes, 1);
    FO_CHECK_INT(p.client.status, FO_ECANCELED);
    FO_CHECK_INT(p.server.handshakes, 1);
    FO_CHECK_INT(p.server.role, FO_TLS_ROLE_CONTROLLER);
    FO_CHECK_STR(p.server.cn, "ctl1");
    FO_CHECK_INT(p.server.frames, 2);
    FO_CHECK_INT(p.server.closes, 1);
    FO_CHECK_INT(p.server.status, FO_ECLOSED); /* the client's close_notify */
}

/* The server certificate is checked against a DNS name as well as an IP. */
static void test_dns_name(void)
{
    const struct certs *c = certs();
    struct pair p;

    NEED_CERTS(c);
    pair_init(&p);
    p.sctx = mkctx(c->dir_a, "db1", FO_TLS_ROLE_CONTROLLER);
    p.cctx = mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_AGENT);
    p.server.on_frame = server_echo;
    p.client.on_handshake = client_send_two;
    p.client.on_frame = client_check_reply;
    pair_listen(&p);
    pair_connect(&p, p.port, "db1.example");
    pair_finish(&p);
    FO_CHECK_INT(p.client.frames, 2);
    FO_CHECK_INT(p.client.status, FO_ECANCELED);
}

/* ------------------------------------------------------------------ node ids */

/* The URI grammar of tls.h's "Node ids", one spelling per id. */
static void test_node_uri_parse(void)
{
    static const struct {
        const char *uri;
        int rc;
        uint64_t id;
    } cases[] = {
        {"failoverd://node/1", 0, 1},
        {"failoverd://node/42", 0, 42},
        {"failoverd://node/18446744073709551615", 0, UINT64_MAX},
        {"failoverd://node/18446744073709551616", FO_EINVAL, 0}, /* overflow */
        {"failoverd://node/99999999999999999999", FO_EINVAL, 0},
        {"failoverd://node/0", FO_EINVAL, 0},
        {"failoverd://node/01", FO_EINVAL, 0},
        {"failoverd://node/", FO_EINVAL, 0},
        {"failoverd://node/+2", FO_EINVAL, 0},
        {"failoverd://node/-2", FO_EINVAL, 0},
        {"failoverd://node/2 ", FO_EINVAL, 0},
        {"failoverd://node/2/", FO_EINVAL, 0},
        {"failoverd://node/2x", FO_EINVAL, 0},
        {"failoverd://node/ 2", FO_EINVAL, 0},
        {"failoverd://node", FO_ENOTFOUND, 0},
        {"FAILOVERD://node/2", FO_ENOTFOUND, 0},
        {"https://example.com/node/2", FO_ENOTFOUND, 0},
        {"spiffe://cluster/ns/x", FO_ENOTFOUND, 0},
        {"", FO_ENOTFOUND, 0},
    };
    size_t i;
    uint64_t id;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        id = 12345;
        FO_CHECK_INT(fo_tls_node_uri_parse(cases[i].uri, strlen(cases[i].uri), &id), cases[i].rc);
        FO_CHECK(id == cases[i].id);
        if (id != cases[i].id) fprintf(stderr, "  case %s: id %llu\n", cases[i].uri, (unsigned long long)id);
    }
    /* The length is the certificate's, not a NUL: a NUL inside is a bad id. */
    FO_CHECK_INT(fo_tls_node_uri_parse("failoverd://node/7\0"
                                       "1",
                                       20, &id),
                 FO_EINVAL);
    FO_CHECK_INT(fo_tls_node_uri_parse("failoverd://node/71", 18, &id), 0);
    FO_CHECK(id == 7);
    FO_CHECK_STR(fo_tls_node_id_why(0), "");
    FO_CHECK_CONTAINS(fo_tls_node_id_why(FO_ENOTFOUND), FO_TLS_NODE_URI_PREFIX);
}

static void close_side(struct side *s)
{
    fo_tls_conn_close(s->conn);
}

/* Runs one handshake between a server certificate (accepting controllers and
 * clients, as the admin server does) and a client certificate, and returns both
 * views of the other's node id. */
static void node_pair(const char *server, const char *client, struct pair *p)
{
    const struct certs *c = certs();

    pair_init(p);
    p->sctx = mkctx(c->dir_a, server, FO_TLS_ROLE_CONTROLLER | FO_TLS_ROLE_CLIENT);
    p->cctx = mkctx(c->dir_a, client, FO_TLS_ROLE_CONTROLLER);
    p->server.on_handshake = close_side;
    pair_listen(p);
    pair_connect(p, p->port, NULL);
    pair_finish(p);
    FO_CHECK_INT(p->server.handshakes, 1);
    FO_CHECK_INT(p->client.handshakes, 1);
}

static void test_peer_node_id(void)
{
    const struct certs *c = certs();
    struct fo_tls_ctx *ctx;
    struct pair p;
    uint64_t id;

    NEED_CERTS(c);
    /* Both ends read the other's bound id. */
    node_pair("ctl1", "ctl2", &p);
    FO_CHECK_INT(p.server.node_rc, 0);
    FO_CHECK(p.server.node_id == 2);
    FO_CHECK_INT(p.client.node_rc, 0);
    FO_CHECK(p.client.node_id == 1);
    /* A controller certificate without an id authenticates, but binds nothing. */
    node_pair("ctl1", "ctl0", &p);
    FO_CHECK_INT(p.server.role, FO_TLS_ROLE_CONTROLLER);
    FO_CHECK_INT(p.server.node_rc, FO_ENOTFOUND);
    FO_CHECK(p.server.node_id == 0);
    /* A client certificate is no node, whatever it names. */
    node_pair("ctl1", "admin", &p);
    FO_CHECK_INT(p.server.role, FO_TLS_ROLE_CLIENT);
    FO_CHECK_INT(p.server.node_rc, FO_EPERM);
    FO_CHECK(p.server.node_id == 0);
    /* Two ids in one certificate: no id at all. */
    node_pair("ctl1", "twoids", &p);
    FO_CHECK_INT(p.server.node_rc, FO_EINVAL);
    FO_CHECK(p.server.node_id == 0);

    /* A node's own certificate, checked at start. */
    ctx = mkctx(c->dir_a, "ctl2", FO_TLS_ROLE_CONTROLLER);
    FO_CHECK_INT(fo_tls_ctx_role(ctx), FO_TLS_ROLE_CONTROLLER);
    FO_CHECK_INT(fo_tls_ctx_node_id(ctx, &id), 0);
    FO_CHECK(id == 2);
    fo_tls_ctx_free(ctx);
    ctx = mkctx(c->dir_a, "ctl0", FO_TLS_ROLE_CONTROLLER);
    FO_CHECK_INT(fo_tls_ctx_node_id(ctx, &id), FO_ENOTFOUND);
    fo_tls_ctx_free(ctx);
    ctx = mkctx(c->dir_a, "admin", FO_TLS_ROLE_CONTROLLER);
    FO_CHECK_INT(fo_tls_ctx_role(ctx), FO_TLS_ROLE_CLIENT);
    FO_CHECK_INT(fo_tls_ctx_node_id(ctx, &id), FO_EPERM);
    fo_tls_ctx_free(ctx);
    ctx = mkctx(c->dir_a, "twoids", FO_TLS_ROLE_CONTROLLER);
    FO_CHECK_INT(fo_tls_ctx_node_id(ctx, &id), FO_EINVAL);
    fo_tls_ctx_free(ctx);
}

/* ------------------------------------------------------------------ refusals */

/* Runs a pair whose handshake is expected to fail; both ends must close once. */
static void run_refusal(struct pair *p, const char *server_name)
{
    pair_listen(p);
    pair_connect(p, p->port, server_name);
    pair_finish(p);
    FO_CHECK_INT(p->server.closes, 1);
    FO_CHECK_INT(p->client.closes, 1);
}

/* ------------------------------------------------------------------ files loaded once */

/* fo_tls_files_load reports bad files as fo_tls_ctx_new does (it is what --check-config
 * prints), and a context needs loaded files and a set of roles. */
static void test_files_errors(void)
{
    const struct certs *c = certs();
    char ca[PATHLEN], crt[PATHLEN], key[PATHLEN], other[PATHLEN], err[FO_ERRLEN];
    struct fo_tls_files *f = (struct fo_tls_files *)1;
    struct fo_tls_ctx *ctx = (struct fo_tls_ctx *)1;

    NEED_CERTS(c);
    join(ca, c->dir_a, "ca.crt");
    join(crt, c->dir_a, "ctl1.crt");
    join(key, c->dir_a, "ctl1.key");
    join(other, c->dir_a, "db1.key");
    FO_CHECK_INT(fo_tls_files_load(&f, ca, "/nonexistent/ctl.crt", key, err), FO_ECONFIG);
    FO_CHECK(f == NULL);
    FO_CHECK_CONTAINS(err, "TLS certificate file /nonexistent/ctl.crt");
    FO_CHECK_CONTAINS(err, "No such file");
    FO_CHECK_INT(fo_tls_files_load(&f, ca, crt, other, err), FO_ECONFIG);
    FO_CHECK_CONTAINS(err, "does not match");
    FO_CHECK_INT(fo_tls_files_load(&f, ca, crt, "", err), FO_ECONFIG);
    FO_CHECK_CONTAINS(err, "TLS key file is not set");
    FO_CHECK_INT(fo_tls_ctx_from_files(&ctx, NULL, FO_TLS_ROLE_AGENT, err), FO_EINVAL);
    FO_CHECK(ctx == NULL);
    FO_CHECK_CONTAINS(err, "not loaded");
    FO_CHECK_INT(fo_tls_files_load(&f, ca, crt, key, err), 0);
    FO_CHECK_INT(fo_tls_ctx_from_files(&ctx, f, 0, err), FO_EINVAL);
    FO_CHECK_INT(fo_tls_ctx_from_files(&ctx, f, 0x10, err), FO_EINVAL);
    FO_CHECK(ctx == NULL);
    fo_tls_files_free(f);
    fo_tls_files_free(NULL);
}

/* Copies dir/name to tmp/name. */
static bool copy_in(const char *tmp, const char *dir, const char *name)
{
    char from[PATHLEN], to[PATHLEN];

    join(from, dir, name);
    join(to, tmp, name);
    return concat(to, from, "/dev/null");
}

/* A process reads its TLS files once (issue 10): once loaded, the files can be deleted
 * and every context the process makes from them still works, each with its own
 * accepted roles: the admin server's (controllers and clients) admits a controller,
 * while an agent-only one made from the same files refuses it. The files object can go
 * before its contexts. */
static void test_files_loaded_once(void)
{
    const struct certs *c = certs();
    char tmp[FO_TEST_DIRLEN], ca[PATHLEN], crt[PATHLEN], key[PATHLEN], err[FO_ERRLEN];
    struct fo_tls_files *f = NULL;
    struct fo_tls_ctx *ctx = NULL;
    struct pair p, q;
    uint64_t id = 0;

    NEED_CERTS(c);
    FO_CHECK_INT(fo_test_tmpdir(tmp, sizeof tmp, "tls-once"), 0);
    FO_CHECK(copy_in(tmp, c->dir_a, "ca.crt") && copy_in(tmp, c->dir_a, "ctl1.crt") &&
             copy_in(tmp, c->dir_a, "ctl1.key"));
    join(ca, tmp, "ca.crt");
    join(crt, tmp, "ctl1.crt");
    join(key, tmp, "ctl1.key");
    FO_CHECK_INT(fo_tls_files_load(&f, ca, crt, key, err), 0);
    if (f == NULL) {
        fprintf(stderr, "  fo_tls_files_load: %s\n", err);
        return;
    }
    FO_CHECK_INT(fo_tls_files_role(f), FO_TLS_ROLE_CONTROLLER);
    FO_CHECK_INT(fo_tls_files_node_id(f, &id), 0);
    FO_CHECK(id == 1);
    FO_CHECK_INT(unlink(ca), 0);
    FO_CHECK_INT(unlink(crt), 0);
    FO_CHECK_INT(unlink(key), 0);
    /* Loading them again fails now: what follows reads nothing from disk. */
    FO_CHECK_INT(fo_tls_ctx_new(&ctx, ca, crt, key, FO_TLS_ROLE_CONTROLLER, err), FO_ECONFIG);
    FO_CHECK(ctx == NULL);

    pair_init(&p);
    FO_CHECK_INT(fo_tls_ctx_from_files(&p.sctx, f, FO_TLS_ROLE_CONTROLLER | FO_TLS_ROLE_CLIENT, err), 0);
    FO_CHECK_INT(fo_tls_ctx_from_files(&p.cctx, f, FO_TLS_ROLE_CONTROLLER, err), 0);
    FO_CHECK_INT(fo_tls_ctx_node_id(p.cctx, &id), 0);
    FO_CHECK(id == 1);
    pair_init(&q);
    FO_CHECK_INT(fo_tls_ctx_from_files(&q.sctx, f, FO_TLS_ROLE_AGENT, err), 0);
    FO_CHECK_INT(fo_tls_ctx_from_files(&q.cctx, f, FO_TLS_ROLE_CONTROLLER, err), 0);
    fo_tls_files_free(f);
    if (p.sctx == NULL || p.cctx == NULL || q.sctx == NULL || q.cctx == NULL) {
        pair_finish(&p);
        pair_finish(&q);
        return;
    }
    p.server.on_handshake = close_side;
    pair_listen(&p);
    pair_connect(&p, p.port, NULL);
    pair_finish(&p);
    FO_CHECK_INT(p.server.handshakes, 1);
    FO_CHECK_INT(p.server.role, FO_TLS_ROLE_CONTROLLER);
    FO_CHECK_STR(p.server.cn, "ctl1");
    FO_CHECK_INT(p.server.node_rc, 0);
    FO_CHECK(p.server.node_id == 1);
    FO_CHECK_INT(p.client.handshakes, 1);
    FO_CHECK_INT(p.client.role, FO_TLS_ROLE_CONTROLLER);

    run_refusal(&q, NULL);
    FO_CHECK_INT(q.server.handshakes, 0);
    FO_CHECK_INT(q.server.status, FO_EPERM);
    FO_CHECK_CONTAINS(q.server.reason, "role \"controller\"");
    FO_CHECK_CONTAINS(q.server.reason, "accepted: agent");
    fo_test_tmpdir_remove(tmp);
}

static void test_role_refused(void)
{
    const struct certs *c = certs();
    struct pair p;

    NEED_CERTS(c);
    pair_init(&p);
    p.sctx = mkctx(c->dir_a, "db1", FO_TLS_ROLE_CONTROLLER);
    p.cctx = mkctx(c->dir_a, "admin", FO_TLS_ROLE_AGENT);
    run_refusal(&p, NULL);
    FO_CHECK_INT(p.server.handshakes, 0);
    FO_CHECK_INT(p.server.status, FO_EPERM);
    FO_CHECK_CONTAINS(p.server.reason, "role \"client\"");
    FO_CHECK_CONTAINS(p.server.reason, "CN=admin");
    FO_CHECK_CONTAINS(p.server.reason, "accepted: controller");
    /* The client learns from the server's alert. */
    FO_CHECK_INT(p.client.status, FO_EPERM);
    FO_CHECK_INT(p.client.frames, 0);
}

/* A controller connecting to a controller-only server is refused by the client side
 * too: the agent role is what it wants. */
static void test_server_role_refused(void)
{
    const struct certs *c = certs();
    struct pair p;

    NEED_CERTS(c);
    pair_init(&p);
    p.sctx = mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_CONTROLLER);
    p.cctx = mkctx(c->dir_a, "db1", FO_TLS_ROLE_AGENT);
    run_refusal(&p, NULL);
    FO_CHECK_INT(p.client.handshakes, 0);
    FO_CHECK_INT(p.client.status, FO_EPERM);
    FO_CHECK_CONTAINS(p.client.reason, "role \"controller\"");
    FO_CHECK_INT(p.server.handshakes, 0);
    FO_CHECK(p.server.status != 0 && p.server.status != FO_ECANCELED);
}

static void test_other_ca_client_refused(void)
{
    const struct certs *c = certs();
    struct pair p;

    NEED_CERTS(c);
    pair_init(&p);
    p.sctx = mkctx(c->dir_a, "db1", FO_TLS_ROLE_CONTROLLER);
    /* The rogue trusts our CA too, so only the server's check can stop it. */
    p.cctx = mkctx_ca(c->dir_b, "trust-both.crt", "rogue", FO_TLS_ROLE_AGENT);
    run_refusal(&p, NULL);
    FO_CHECK_INT(p.server.handshakes, 0);
    FO_CHECK_INT(p.server.status, FO_EPERM);
    FO_CHECK_CONTAINS(p.server.reason, "CN=rogue");
    FO_CHECK_CONTAINS(p.server.reason, "not trusted");
    FO_CHECK(p.client.status != 0 && p.client.status != FO_ECANCELED);
}

static void test_other_ca_server_refused(void)
{
    const struct certs *c = certs();
    struct pair p;

    NEED_CERTS(c);
    pair_init(&p);
    p.sctx = mkctx_ca(c->dir_b, "trust-both.crt", "rogue", FO_TLS_ROLE_CONTROLLER);
    p.cctx = mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_CONTROLLER);
    run_refusal(&p, NULL);
    FO_CHECK_INT(p.client.handshakes, 0);
    FO_CHECK_INT(p.client.status, FO_EPERM);
    FO_CHECK_CONTAINS(p.client.reason, "not trusted");
    FO_CHECK_INT(p.server.handshakes, 0);
}

static void test_san_mismatch(void)
{
    const struct certs *c = certs();
    struct pair p;

    NEED_CERTS(c);
    pair_init(&p);
    p.sctx = mkctx(c->dir_a, "far", FO_TLS_ROLE_CONTROLLER); /* names 10.0.0.99 only */
    p.cctx = mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_AGENT);
    run_refusal(&p, NULL);
    FO_CHECK_INT(p.client.handshakes, 0);
    FO_CHECK_INT(p.client.status, FO_EPERM);
    FO_CHECK_CONTAINS(p.client.reason, "CN=far");
    FO_CHECK_CONTAINS(p.client.reason, "does not name 127.0.0.1");
    FO_CHECK_INT(p.server.handshakes, 0);

    /* A DNS name the certificate does not carry is refused the same way. */
    pair_init(&p);
    p.sctx = mkctx(c->dir_a, "db1", FO_TLS_ROLE_CONTROLLER);
    p.cctx = mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_AGENT);
    run_refusal(&p, "db2.example");
    FO_CHECK_INT(p.client.status, FO_EPERM);
    FO_CHECK_CONTAINS(p.client.reason, "does not name db2.example");
}

/* ------------------------------------------------------------------ plaintext peer */

struct raw {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    char buf[4096];
    int connected, written, eof, closed;
};

static void raw_closed(uv_handle_t *h)
{
    ((struct raw *)h->data)->closed++;
}

static void raw_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    struct raw *r = h->data;

    *buf = uv_buf_init(r->buf, sizeof r->buf);
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct raw *r = s->data;

    if (n >= 0) return;
    r->eof = (n == UV_EOF || n == UV_ECONNRESET);
    uv_close((uv_handle_t *)s, raw_closed);
}

static void raw_written(uv_write_t *w, int status)
{
    ((struct raw *)w->data)->written = (status == 0);
}

static void raw_connected(uv_connect_t *req, int status)
{
    static char garbage[] = "GET / HTTP/1.1\r\nHost: agent\r\n\r\nnot tls at all\n";
    struct raw *r = req->data;
    uv_buf_t b = uv_buf_init(garbage, sizeof garbage - 1);

    r->connected = (status == 0);
    FO_CHECK_INT(status, 0);
    if (status != 0) {
        uv_close((uv_handle_t *)&r->tcp, raw_closed);
        return;
    }
    r->write.data = r;
    FO_CHECK_INT(uv_write(&r->write, (uv_stream_t *)&r->tcp, &b, 1, raw_written), 0);
    FO_CHECK_INT(uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read), 0);
}

static void test_plaintext_peer(void)
{
    const struct certs *c = certs();
    struct pair p;
    struct raw r;
    struct sockaddr_in sa;

    NEED_CERTS(c);
    memset(&r, 0, sizeof r);
    pair_init(&p);
    p.sctx = mkctx(c->dir_a, "db1", FO_TLS_ROLE_CONTROLLER);
    pair_listen(&p);
    FO_CHECK_INT(uv_tcp_init(&p.tl.loop, &r.tcp), 0);
    r.tcp.data = r.connect.data = &r;
    FO_CHECK_INT(uv_ip4_addr("127.0.0.1", p.port, &sa), 0);
    FO_CHECK_INT(uv_tcp_connect(&r.connect, &r.tcp, (struct sockaddr *)&sa, raw_connected), 0);
    pair_finish(&p);
    FO_CHECK_INT(p.server.closes, 1);
    FO_CHECK_INT(p.server.handshakes, 0);
    FO_CHECK_INT(p.server.status, FO_EPROTO);
    FO_CHECK_CONTAINS(p.server.reason, "handshake");
    FO_CHECK_INT(p.server.bytes, 0);
    FO_CHECK(r.written);
    FO_CHECK(r.eof); /* the server closed on it */
    FO_CHECK_INT(r.closed, 1);
}

/* A peer that connects and says nothing: the server gives up on it after the
 * handshake timeout (a silent peer must not hold a connection slot for ever). */
static void raw_connected_silent(uv_connect_t *req, int status)
{
    struct raw *r = req->data;

    r->connected = (status == 0);
    FO_CHECK_INT(status, 0);
    if (status != 0) {
        uv_close((uv_handle_t *)&r->tcp, raw_closed);
        return;
    }
    FO_CHECK_INT(uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read), 0);
}

static void test_silent_peer_times_out(void)
{
    const struct certs *c = certs();
    struct pair p;
    struct raw r;
    struct sockaddr_in sa;
    uint64_t t0;

    NEED_CERTS(c);
    memset(&r, 0, sizeof r);
    pair_init(&p);
    p.sctx = mkctx(c->dir_a, "db1", FO_TLS_ROLE_CONTROLLER);
    FO_CHECK_INT(fo_tls_ctx_set_handshake_timeout(p.sctx, 0), FO_EINVAL);
    FO_CHECK_INT(fo_tls_ctx_set_handshake_timeout(p.sctx, FO_TLS_MAX_HANDSHAKE_MS + 1), FO_EINVAL);
    FO_CHECK_INT(fo_tls_ctx_set_handshake_timeout(p.sctx, 300), 0);
    pair_listen(&p);
    FO_CHECK_INT(uv_tcp_init(&p.tl.loop, &r.tcp), 0);
    r.tcp.data = r.connect.data = &r;
    FO_CHECK_INT(uv_ip4_addr("127.0.0.1", p.port, &sa), 0);
    FO_CHECK_INT(uv_tcp_connect(&r.connect, &r.tcp, (struct sockaddr *)&sa, raw_connected_silent), 0);
    t0 = uv_hrtime();
    pair_finish(&p);
    FO_CHECK_INT(p.server.closes, 1);
    FO_CHECK_INT(p.server.handshakes, 0);
    FO_CHECK_INT(p.server.status, FO_ETIMEDOUT);
    FO_CHECK_CONTAINS(p.server.reason, "within 300 ms");
    FO_CHECK((uv_hrtime() - t0) / 1000000u >= 290);
    FO_CHECK(r.eof); /* the server closed on it */
    FO_CHECK_INT(r.closed, 1);
}

/* ------------------------------------------------------------------ openssl s_client as the peer */

static void close_on_handshake(struct side *s)
{
    fo_tls_conn_close(s->conn);
}

/* Runs `openssl s_client` against a server made from (name, roles) and waits for
 * both to end. */
static void run_s_client(struct pair *p, const char *name, unsigned roles, char *const extra[], size_t n_extra)
{
    const struct certs *c = certs();
    char ca[PATHLEN], connect[32], log[PATHLEN];
    char *argv[24];
    size_t i, k = 0;
    pid_t pid;
    int status = -1;

    pair_init(p);
    p->sctx = mkctx(c->dir_a, name, roles);
    p->server.on_handshake = close_on_handshake;
    pair_listen(p);
    join(ca, c->dir_a, "ca.crt");
    join(log, c->dir_a, "s_client.log");
    snprintf(connect, sizeof connect, "127.0.0.1:%u", p->port);
    argv[k++] = "/usr/bin/openssl";
    argv[k++] = "s_client";
    argv[k++] = "-connect";
    argv[k++] = connect;
    argv[k++] = "-CAfile";
    argv[k++] = ca;
    argv[k++] = "-quiet";
    for (i = 0; i < n_extra && k < 23; i++) argv[k++] = extra[i];
    argv[k] = NULL;
    pid = fo_test_spawn(argv, log);
    FO_CHECK(pid > 0);
    if (pid > 0) FO_CHECK_INT(fo_test_stop_at_exit(pid), 0);
    pair_finish(p);
    if (pid > 0 && !fo_test_wait_exit(pid, 10000, &status)) fo_test_stop_child(pid);
    FO_CHECK_INT(p->server.closes, 1);
}

static void test_no_client_cert(void)
{
    struct pair p;

    if (access("/usr/bin/openssl", X_OK) != 0) {
        FO_SKIP("no /usr/bin/openssl");
        return;
    }
    NEED_CERTS(certs());
    run_s_client(&p, "db1", FO_TLS_ROLE_CONTROLLER, NULL, 0);
    FO_CHECK_INT(p.server.handshakes, 0);
    FO_CHECK_INT(p.server.status, FO_EPERM);
    FO_CHECK_CONTAINS(p.server.reason, "certificate");
}

/* TLS 1.2 still works (with an accepted certificate), for older peers. */
static void test_tls12_peer(void)
{
    const struct certs *c = certs();
    char crt[PATHLEN], key[PATHLEN];
    char *extra[] = {"-tls1_2", "-cert", crt, "-key", key};
    struct pair p;

    if (access("/usr/bin/openssl", X_OK) != 0) {
        FO_SKIP("no /usr/bin/openssl");
        return;
    }
    NEED_CERTS(c);
    join(crt, c->dir_a, "admin.crt");
    join(key, c->dir_a, "admin.key");
    run_s_client(&p, "ctl1", FO_TLS_ROLE_CLIENT | FO_TLS_ROLE_CONTROLLER, extra, 5);
    FO_CHECK_INT(p.server.handshakes, 1);
    FO_CHECK_STR(p.server.proto, "TLSv1.2");
    FO_CHECK_INT(p.server.role, FO_TLS_ROLE_CLIENT);
    FO_CHECK_STR(p.server.cn, "admin");
    FO_CHECK_INT(p.server.status, FO_ECANCELED);
}

/* ------------------------------------------------------------------ close in each phase */

static void count_write(void *data, int status)
{
    struct pair *p = data;

    if (p->client.closes != 0) p->write_cbs_after_close++;
    if (status == 0)
        p->write_ok++;
    else if (status == FO_ECANCELED)
        p->write_canceled++;
    else
        p->write_other++;
}

static void check_writes_done(const struct pair *p)
{
    FO_CHECK_INT(p->write_ok + p->write_canceled + p->write_other, p->writes);
    FO_CHECK_INT(p->write_other, 0);
    FO_CHECK_INT(p->write_cbs_after_close, 0);
}

/* Closed before the TCP connect completes; a queued write is cancelled first. */
static void test_close_during_connect(void)
{
    const struct certs *c = certs();
    struct pair p;
    uint16_t port;
    int fd;

    NEED_CERTS(c);
    fd = fo_test_mute_listener(&port);
    FO_CHECK(fd >= 0);
    pair_init(&p);
    p.cctx = mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_AGENT);
    pair_connect(&p, port, NULL);
    FO_CHECK_INT(fo_tls_conn_write(p.client.conn, ping, sizeof ping, count_write, &p), 0);
    p.writes++;
    FO_CHECK_INT(fo_tls_conn_pending(p.client.conn), sizeof ping);
    fo_tls_conn_close(p.client.conn);
    fo_tls_conn_close(p.client.conn); /* idempotent */
    FO_CHECK_INT(fo_tls_conn_write(p.client.conn, ping, sizeof ping, count_write, &p), FO_ECLOSED);
    FO_CHECK_INT(p.client.closes, 0); /* never synchronously */
    pair_finish(&p);
    FO_CHECK_INT(p.client.closes, 1);
    FO_CHECK_INT(p.client.status, FO_ECANCELED);
    FO_CHECK_INT(p.write_canceled, 1);
    check_writes_done(&p);
    if (fd >= 0) close(fd);
}

static void poll_handshake(uv_timer_t *t)
{
    struct pair *p = t->data;

    if (p->client.conn == NULL || fo_tls_conn_state(p->client.conn) != FO_TLS_HANDSHAKE) return;
    fo_tls_conn_close(p->client.conn);
    uv_close((uv_handle_t *)t, NULL);
}

/* Closed while waiting for a server that never answers the ClientHello. */
static void test_close_during_client_handshake(void)
{
    const struct certs *c = certs();
    struct pair p;
    uv_timer_t poll;
    uint16_t port;
    int fd;

    NEED_CERTS(c);
    fd = fo_test_mute_listener(&port);
    FO_CHECK(fd >= 0);
    pair_init(&p);
    p.cctx = mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_AGENT);
    pair_connect(&p, port, NULL);
    FO_CHECK_INT(fo_tls_conn_write(p.client.conn, ping, sizeof ping, count_write, &p), 0);
    p.writes++;
    FO_CHECK_INT(uv_timer_init(&p.tl.loop, &poll), 0);
    poll.data = &p;
    FO_CHECK_INT(uv_timer_start(&poll, poll_handshake, 1, 1), 0);
    pair_finish(&p);
    FO_CHECK_INT(p.client.closes, 1);
    FO_CHECK_INT(p.client.status, FO_ECANCELED);
    FO_CHECK_INT(p.client.handshakes, 0);
    FO_CHECK_INT(p.write_canceled, 1);
    check_writes_done(&p);
    if (fd >= 0) close(fd);
}

/* The server closes a connection it has just accepted. */
static void test_close_during_server_handshake(void)
{
    const struct certs *c = certs();
    struct pair p;

    NEED_CERTS(c);
    pair_init(&p);
    p.sctx = mkctx(c->dir_a, "db1", FO_TLS_ROLE_CONTROLLER);
    p.cctx = mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_AGENT);
    p.server_close_on_accept = true;
    run_refusal(&p, NULL);
    FO_CHECK_INT(p.server.status, FO_ECANCELED);
    FO_CHECK_INT(p.server.handshakes, 0);
    FO_CHECK_INT(p.client.handshakes, 0);
    FO_CHECK(p.client.status == FO_ECLOSED || p.client.status == FO_EIO);
}

/* Closing from inside on_handshake sends close_notify: the client sees a clean end. */
static void test_close_in_handshake_cb(void)
{
    const struct certs *c = certs();
    struct pair p;

    NEED_CERTS(c);
    pair_init(&p);
    p.sctx = mkctx(c->dir_a, "db1", FO_TLS_ROLE_CONTROLLER);
    p.cctx = mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_AGENT);
    p.server.on_handshake = close_on_handshake;
    run_refusal(&p, NULL);
    FO_CHECK_INT(p.server.handshakes, 1);
    FO_CHECK_INT(p.server.status, FO_ECANCELED);
    FO_CHECK_INT(p.client.status, FO_ECLOSED);
    FO_CHECK_CONTAINS(p.client.reason, "closed the TLS session");
}

/* The server stops reading once its handshake is done, unless the client has
 * already gone (with TLS 1.3 the client finishes first and may write and close
 * before the server has read its Finished). */
static void server_pause(struct side *s)
{
    if (s->p->client.closes == 0) FO_CHECK_INT(fo_tls_conn_read_stop(s->conn), 0);
}

/* Once the client is gone, a paused server reads on and meets the end. */
static void resume_server(struct side *s)
{
    struct pair *p = s->p;

    if (p->server.conn != NULL && fo_tls_conn_state(p->server.conn) == FO_TLS_OPEN)
        FO_CHECK_INT(fo_tls_conn_read_start(p->server.conn), 0);
}

static int write_chunk(struct pair *p)
{
    size_t pending;
    int rc = fo_tls_conn_write(p->client.conn, p->chunk, CHUNK, count_write, p);

    if (rc == 0) p->writes++;
    p->last_write_rc = rc;
    pending = rc == 0 ? fo_tls_conn_pending(p->client.conn) : 0;
    if (pending > p->max_pending) p->max_pending = pending;
    return rc;
}

/* Writes until libuv holds some of it (the server is not reading), then closes. */
static void write_then_close(struct side *s)
{
    struct pair *p = s->p;
    int i, sndbuf = 64 * 1024;

    /* A small socket buffer fills sooner. */
    FO_CHECK_INT(uv_send_buffer_size((uv_handle_t *)fo_tls_conn_tcp(s->conn), &sndbuf), 0);
    for (i = 0; i < MAX_CHUNKS && write_chunk(p) == 0; i++)
        if (uv_stream_get_write_queue_size((uv_stream_t *)fo_tls_conn_tcp(s->conn)) > 0) break;
    FO_CHECK_INT(p->last_write_rc, 0);
    FO_CHECK(uv_stream_get_write_queue_size((uv_stream_t *)fo_tls_conn_tcp(s->conn)) > 0);
    fo_tls_conn_close(s->conn);
}

static void test_close_during_write(void)
{
    const struct certs *c = certs();
    struct pair p;

    NEED_CERTS(c);
    pair_init(&p);
    p.chunk = pattern(CHUNK);
    p.sctx = mkctx(c->dir_a, "db1", FO_TLS_ROLE_CONTROLLER);
    p.cctx = mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_AGENT);
    /* Room to fill the kernel's buffers first: completed writes call back only on the
     * next loop iteration, and until then they count against the cap. */
    if (p.cctx != NULL) FO_CHECK_INT(fo_tls_ctx_set_max_pending(p.cctx, (size_t)MAX_CHUNKS * (CHUNK + 8192)), 0);
    p.server.raw = true;
    p.server.on_handshake = server_pause;
    p.client.on_handshake = write_then_close;
    p.client.on_close = resume_server;
    run_refusal(&p, NULL);
    FO_CHECK_INT(p.client.status, FO_ECANCELED);
    FO_CHECK(p.writes >= 1);
    FO_CHECK(p.write_canceled >= 1);
    check_writes_done(&p);
    FO_CHECK(p.server.status == FO_ECLOSED || p.server.status == FO_EIO);
}

/* ------------------------------------------------------------------ buffer cap */

/* Plaintext queued before the connection is open is capped. Takes cctx. */
static void check_cap_queued(struct fo_tls_ctx *cctx)
{
    struct pair p;
    uint8_t *big = pattern(600 * 1024);
    uint16_t port;
    int fd = fo_test_mute_listener(&port);

    FO_CHECK(fd >= 0 && big != NULL);
    pair_init(&p);
    p.cctx = cctx;
    pair_connect(&p, port, NULL);
    FO_CHECK_INT(fo_tls_conn_write(p.client.conn, big, 0, count_write, &p), FO_EINVAL);
    FO_CHECK_INT(fo_tls_conn_write(p.client.conn, big, FO_TLS_MAX_PENDING + 1, count_write, &p), FO_EINVAL);
    FO_CHECK_INT(fo_tls_conn_write(p.client.conn, big, 600 * 1024, count_write, &p), 0);
    p.writes++;
    FO_CHECK_INT(fo_tls_conn_write(p.client.conn, big, 600 * 1024, count_write, &p), FO_ETOOBIG);
    FO_CHECK_INT(fo_tls_conn_state(p.client.conn), FO_TLS_CLOSING);
    FO_CHECK_INT(fo_tls_conn_write(p.client.conn, big, 1, count_write, &p), FO_ECLOSED);
    fo_tls_conn_close(p.client.conn); /* a failed connection still closes once */
    pair_finish(&p);
    FO_CHECK_INT(p.client.closes, 1);
    FO_CHECK_INT(p.client.status, FO_ETOOBIG);
    FO_CHECK_INT(p.write_canceled, 1);
    check_writes_done(&p);
    free(big);
    if (fd >= 0) close(fd);
}

static void test_cap_before_handshake(void)
{
    const struct certs *c = certs();

    NEED_CERTS(c);
    check_cap_queued(mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_AGENT));
}

/* Writes to a peer that does not read until the cap is hit. */
static void write_until_full(struct side *s)
{
    struct pair *p = s->p;
    int i;

    for (i = 0; i < MAX_CHUNKS && write_chunk(p) == 0; i++) continue;
}

/* Once open, bytes in uv_write requests to a peer that does not read are capped.
 * Takes both contexts. */
static void check_cap_written(struct fo_tls_ctx *sctx, struct fo_tls_ctx *cctx)
{
    struct pair p;

    pair_init(&p);
    p.chunk = pattern(CHUNK);
    p.sctx = sctx;
    p.cctx = cctx;
    p.server.raw = true;
    p.server.on_handshake = server_pause;
    p.client.on_handshake = write_until_full;
    p.client.on_close = resume_server;
    run_refusal(&p, NULL);
    FO_CHECK_INT(p.last_write_rc, FO_ETOOBIG);
    FO_CHECK_INT(p.client.status, FO_ETOOBIG);
    FO_CHECK(p.writes >= 1);
    FO_CHECK(p.max_pending > 0 && p.max_pending <= FO_TLS_MAX_PENDING);
    check_writes_done(&p);
    FO_CHECK(p.server.bytes <= (size_t)p.writes * CHUNK);
}

static void test_cap_after_handshake(void)
{
    const struct certs *c = certs();

    NEED_CERTS(c);
    check_cap_written(mkctx(c->dir_a, "db1", FO_TLS_ROLE_CONTROLLER), mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_AGENT));
}

/* ------------------------------------------------------------------ plain mode */

static struct fo_tls_ctx *mkctx_plain(void)
{
    struct fo_tls_ctx *ctx = NULL;
    char err[FO_ERRLEN] = "";

    FO_CHECK_INT(fo_tls_ctx_new_plain(&ctx, err), 0);
    FO_CHECK(ctx != NULL);
    return ctx;
}

/* insecure = yes: the same API and callbacks over plain TCP, no certificates. */
static void test_plain_frames_both_ways(void)
{
    struct pair p;

    pair_init(&p);
    p.sctx = mkctx_plain();
    p.cctx = mkctx_plain();
    p.server.on_frame = server_echo;
    p.client.on_handshake = client_send_two;
    p.client.on_frame = client_check_reply;
    pair_listen(&p);
    pair_connect(&p, p.port, "ignored.example"); /* no certificate to check it against */
    pair_finish(&p);

    FO_CHECK_INT(p.client.handshakes, 1);
    FO_CHECK_INT(p.client.role, 0);
    FO_CHECK_STR(p.client.cn, "");
    FO_CHECK_STR(p.client.proto, FO_TLS_PLAIN_PROTOCOL);
    FO_CHECK_INT(p.client.frames, 2);
    FO_CHECK_INT(p.client.closes, 1);
    FO_CHECK_INT(p.client.status, FO_ECANCELED);
    FO_CHECK_INT(p.server.handshakes, 1);
    FO_CHECK_INT(p.server.role, 0);
    FO_CHECK_STR(p.server.cn, "");
    FO_CHECK_STR(p.server.proto, FO_TLS_PLAIN_PROTOCOL);
    FO_CHECK_INT(p.server.frames, 2);
    FO_CHECK_INT(p.server.closes, 1);
    FO_CHECK_INT(p.server.status, FO_ECLOSED); /* the client's FIN: no close_notify */
    FO_CHECK_CONTAINS(p.server.reason, "closed the connection");
}

/* A plain peer speaks no TLS: a TLS server refuses its frames, and a plain server
 * hands a TLS client's ClientHello to on_read as it came, never answering it. */
static void test_plain_meets_tls(void)
{
    const struct certs *c = certs();
    struct pair p;

    NEED_CERTS(c);
    pair_init(&p);
    p.sctx = mkctx(c->dir_a, "db1", FO_TLS_ROLE_CONTROLLER);
    p.cctx = mkctx_plain();
    p.client.on_handshake = client_send_two;
    run_refusal(&p, NULL);
    FO_CHECK_INT(p.client.handshakes, 1);
    FO_CHECK_INT(p.server.handshakes, 0);
    FO_CHECK_INT(p.server.status, FO_EPROTO);

    pair_init(&p);
    p.sctx = mkctx_plain();
    p.cctx = mkctx(c->dir_a, "ctl1", FO_TLS_ROLE_AGENT);
    if (p.cctx != NULL) FO_CHECK_INT(fo_tls_ctx_set_handshake_timeout(p.cctx, 300), 0);
    p.server.raw = true;
    run_refusal(&p, NULL);
    FO_CHECK_INT(p.server.handshakes, 1);
    FO_CHECK(p.server.bytes > 0);
    FO_CHECK_INT(p.server.status, FO_ECLOSED);
    FO_CHECK_INT(p.client.handshakes, 0);
    FO_CHECK_INT(p.client.status, FO_ETIMEDOUT);
}

/* The cap holds in plain mode too, before the connection is open and after. */
static void test_plain_cap(void)
{
    check_cap_queued(mkctx_plain());
    check_cap_written(mkctx_plain(), mkctx_plain());
}

FO_TEST_MAIN(FO_T(test_gen_certs), FO_T(test_ctx_errors), FO_T(test_files_errors), FO_T(test_files_loaded_once),
             FO_T(test_frames_both_ways), FO_T(test_dns_name), FO_T(test_node_uri_parse), FO_T(test_peer_node_id),
             FO_T(test_role_refused), FO_T(test_server_role_refused), FO_T(test_other_ca_client_refused),
             FO_T(test_other_ca_server_refused), FO_T(test_san_mismatch), FO_T(test_plaintext_peer),
             FO_T(test_silent_peer_times_out), FO_T(test_no_client_cert), FO_T(test_tls12_peer),
             FO_T(test_close_during_connect), FO_T(test_close_during_client_handshake),
             FO_T(test_close_during_server_handshake), FO_T(test_close_in_handshake_cb), FO_T(test_close_during_write),
             FO_T(test_cap_before_handshake), FO_T(test_cap_after_handshake), FO_T(test_plain_frames_both_ways),
             FO_T(test_plain_meets_tls), FO_T(test_plain_cap))
