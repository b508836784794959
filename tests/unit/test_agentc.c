/* Unit tests for controller/vip/agentc.c, failoverd's client of the failover-agent RPC, on
 * a real uv loop over 127.0.0.1. Two kinds of peer stand in for an agent: the real
 * agent server (agent/server.h) answering StatusRequests, in plain TCP or mutual TLS
 * with certificates made at test time by deploy/gen-certs.sh; and a raw libuv
 * listener, on the same loop, for agents that never answer, close the connection or
 * answer with something that is not the right response.
 *
 * Every case checks the callback contract of agentc.h (STYLE.md §4): each call's
 * callback fires exactly once, never from inside fo_agentc_call or fo_agentc_cancel,
 * and once agentc is closed the loop ends by itself and uv_loop_close succeeds, so no
 * handle was left behind. Waits poll a counter under a deadline, never sleep. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "agent/config.h"
#include "agent/server.h"
#include "common/frame.h"
#include "common/log.h"
#include "controller/vip/agentc.h"
#include "lib/testcheck.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define PATHLEN 512
#define MAXCALLS 80
#define RUN_MS 5000  /* deadline of one run of the loop */
#define CALL_MS 5000 /* timeout of a call that is expected to be answered */
#define PIPELINED 20
#define SHORT_MS 300 /* timeout of a call that is expected to time out */

/* ------------------------------------------------------------------ files and certificates */

/* Made once per test binary: the cluster CA with the certificates below, and the
 * agents' state directories, all in one temporary directory. */
static struct {
    bool made, ok;
    char dir[FO_TEST_DIRLEN];
    unsigned agents; /* state directories handed out */
} g_files;

/* agent1 is named by 127.0.0.1, far by another address only; ctl1 is a controller and
 * admin a failoverctl user (a role the agent must refuse). */
static char *const cert_entries[] = {"agent:agent1,127.0.0.1", "agent:far,10.0.0.99", "controller:ctl1,127.0.0.1",
                                     "client:admin"};

static void join(char *out, size_t n, const char *dir, const char *name, const char *ext)
{
    int len = snprintf(out, n, "%s/%s%s", dir, name, ext);

    if (len < 0 || (size_t)len >= n) out[0] = '\0';
}

/* deploy/gen-certs.sh of the source tree: under FO_SOURCE_DIR (set by ctest), else in
 * the tree this file was compiled from. */
static bool find_gen_certs(char out[PATHLEN])
{
    const char *src = getenv("FO_SOURCE_DIR"), *me = __FILE__, *tail = "/tests/unit/test_agentc.c";
    size_t n = strlen(me), t = strlen(tail);
    char root[PATHLEN];

    if (src != NULL && src[0] != '\0')
        snprintf(root, sizeof root, "%s", src);
    else if (n > t && strcmp(me + n - t, tail) == 0)
        snprintf(root, sizeof root, "%.*s", (int)(n - t), me);
    else
        snprintf(root, sizeof root, ".");
    join(out, PATHLEN, root, "deploy/gen-certs", ".sh");
    return out[0] != '\0' && access(out, X_OK) == 0;
}

static bool files(void)
{
    char script[PATHLEN], log[PATHLEN];
    char *argv[4 + N_ELEMS(cert_entries)];
    size_t i, k = 0;

    if (g_files.made) return g_files.ok;
    g_files.made = true;
    /* As failoverd does: a write to a peer that has gone must not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    if (fo_test_tmpdir(g_files.dir, sizeof g_files.dir, "agentc") != 0) return false;
    if (!find_gen_certs(script)) {
        fprintf(stderr, "  cannot find deploy/gen-certs.sh (set FO_SOURCE_DIR)\n");
        return false;
    }
    argv[k++] = script;
    argv[k++] = "--out";
    argv[k++] = g_files.dir;
    for (i = 0; i < N_ELEMS(cert_entries); i++) argv[k++] = cert_entries[i];
    argv[k] = NULL;
    join(log, sizeof log, g_files.dir, "gen-certs", ".log");
    if (fo_test_run_cmd(argv, log, 30000) != 0) {
        fo_test_print_tail(log);
        return false;
    }
    g_files.ok = true;
    return true;
}

/* agentc's [tls] settings: the certificate called name, or insecure for NULL. */
static void tls_cfg(struct fo_tls_cfg *t, const char *name)
{
    memset(t, 0, sizeof *t);
    t->insecure = name == NULL;
    if (name == NULL) return;
    join(t->ca_file, sizeof t->ca_file, g_files.dir, "ca", ".crt");
    join(t->cert_file, sizeof t->cert_file, g_files.dir, name, ".crt");
    join(t->key_file, sizeof t->key_file, g_files.dir, name, ".key");
}

/* ------------------------------------------------------------------ calls and what they saw */

struct h;

struct rec {
    struct h *h;
    struct fo_agentc_call *call; /* NULL: fo_agentc_call refused it */
    uint64_t id;                 /* set on the request by agentc */
    uint64_t t0;                 /* uv_now() when made: agentc's deadlines run on the loop's clock */
    unsigned fired, seq;         /* callbacks; completion order over all calls, from 1 */
    int status, code;
    bool in_api; /* the callback ran inside fo_agentc_call or fo_agentc_cancel */
    bool resp, has_status;
    uint64_t resp_id;
    double ms; /* from the call to its callback */
    char error[FO_ERRLEN];
    void (*then)(struct rec *r); /* runs at the end of the callback */
    int written;                 /* fo_agentc_call_w's flag; -1 before its callback */
};

/* One test's loop, agentc and calls. */
struct h {
    struct fo_test_loop tl;
    struct fo_agentc *a;
    bool closed;
    int in_api;     /* > 0 while the test is inside fo_agentc_call or fo_agentc_cancel */
    unsigned fired; /* callbacks so far, all calls */
    unsigned n;     /* recs used */
    struct rec recs[MAXCALLS];
    /* What ends the current run_until(): *until reaching until_value. */
    bool running;
    const unsigned *until;
    unsigned until_value;
    int late_call; /* -1: not tried; else whether a call from a close callback got through */
};

static void poke(struct h *h)
{
    if (h->running && h->until != NULL && *h->until >= h->until_value) uv_stop(&h->tl.loop);
}

/* Runs the loop until *counter reaches value, within RUN_MS. */
static bool run_until(struct h *h, const unsigned *counter, unsigned value)
{
    bool ok;

    if (*counter >= value) return true;
    h->until = counter;
    h->until_value = value;
    h->running = true;
    ok = fo_test_loop_drain(&h->tl, RUN_MS);
    h->running = false;
    h->until = NULL;
    if (*counter < value) fprintf(stderr, "  waited for %u, got %u\n", value, *counter);
    return ok && *counter >= value;
}

static void on_reply(void *data, int status, const char *error, const Fo__Agent__AgentResponse *resp)
{
    struct rec *r = data;
    struct h *h = r->h;

    r->fired++;
    r->seq = ++h->fired;
    r->status = status;
    r->in_api = h->in_api > 0;
    r->ms = (double)(uv_now(&h->tl.loop) - r->t0);
    snprintf(r->error, sizeof r->error, "%s", error != NULL ? error : "(null)");
    r->resp = resp != NULL;
    if (resp != NULL) {
        r->code = resp->code;
        r->resp_id = resp->id;
        r->has_status = resp->status != NULL;
    }
    if (r->then != NULL) r->then(r);
    poke(h);
}

/* A StatusRequest to host:port; the rec says whether fo_agentc_call took it. */
static struct rec *call_host(struct h *h, const char *host, uint16_t port, unsigned timeout_ms, char *err)
{
    Fo__Agent__AgentRequest req = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__StatusRequest st = FO__AGENT__STATUS_REQUEST__INIT;
    struct rec *r = &h->recs[h->n++];

    req.body_case = FO__AGENT__AGENT_REQUEST__BODY_STATUS;
    req.status = &st;
    r->h = h;
    r->t0 = uv_now(&h->tl.loop);
    err[0] = '\0';
    h->in_api++;
    r->call = fo_agentc_call(h->a, host, port, &req, timeout_ms, on_reply, r, err);
    h->in_api--;
    r->id = req.id;
    return r;
}

/* A StatusRequest to 127.0.0.1:port that fo_agentc_call must take. */
static struct rec *call_ok(struct h *h, uint16_t port, unsigned timeout_ms)
{
    char err[FO_ERRLEN];
    struct rec *r = call_host(h, "127.0.0.1", port, timeout_ms, err);

    if (r->call == NULL) fprintf(stderr, "  fo_agentc_call: %s\n", err);
    FO_CHECK(r->call != NULL);
    return r;
}

static void cancel(struct rec *r)
{
    r->h->in_api++;
    fo_agentc_cancel(r->call);
    r->h->in_api--;
}

/* The call ended with status: with the response to it, or with a reason. */
static void expect(const struct rec *r, int status, const char *what)
{
    if (r->status != status || r->fired != 1)
        fprintf(stderr, "  %s: call %u fired %u time(s): %s (%s), want %s\n", what, (unsigned)(r - r->h->recs),
                r->fired, fo_errname(r->status), r->error, fo_errname(status));
    FO_CHECK_INT(r->fired, 1);
    FO_CHECK_INT(r->status, status);
    if (status == 0) {
        FO_CHECK(r->resp);
        FO_CHECK(r->resp_id == r->id);
    } else {
        FO_CHECK(!r->resp);
        FO_CHECK(r->error[0] != '\0');
    }
}

static void check_stats(struct h *h, const struct fo_agentc_stats *want)
{
    struct fo_agentc_stats s;

    fo_agentc_stats(h->a, &s);
    FO_CHECK_INT(s.calls, want->calls);
    FO_CHECK_INT(s.ok, want->ok);
    FO_CHECK_INT(s.refused, want->refused);
    FO_CHECK_INT(s.failed, want->failed);
    FO_CHECK_INT(s.connects, want->connects);
    FO_CHECK_INT(s.tls_refused, want->tls_refused);
}

/* A loop and an agentc using the certificate called cert (NULL: insecure). */
static bool h_init(struct h *h, const char *cert)
{
    struct fo_tls_cfg t;
    char err[FO_ERRLEN] = "";
    int rc;

    memset(h, 0, sizeof *h);
    h->late_call = -1;
    if (!files()) {
        FO_CHECK(!"certificates and state directories made");
        return false;
    }
    fo_test_check_loop_init(&h->tl, RUN_MS);
    tls_cfg(&t, cert);
    rc = fo_agentc_new(&h->a, &h->tl.loop, &t, NULL, err);
    if (rc != 0) fprintf(stderr, "  fo_agentc_new: %s\n", err);
    FO_CHECK_INT(rc, 0);
    if (rc != 0) {
        fo_test_loop_close(&h->tl);
        return false;
    }
    return true;
}

static void h_close(struct h *h)
{
    if (h->closed) return;
    h->closed = true;
    fo_agentc_close(h->a);
}

static void close_in_callback(struct rec *r)
{
    h_close(r->h);
}

/* Closes agentc unless the test did, lets every close complete and checks that the loop
 * then holds nothing, and that every call's callback fired exactly once (none for a
 * call fo_agentc_call refused), never inside fo_agentc_call or fo_agentc_cancel. */
static void h_finish(struct h *h)
{
    unsigned i;

    h_close(h);
    FO_CHECK(fo_test_loop_drain(&h->tl, RUN_MS));
    FO_CHECK_INT(fo_test_loop_close(&h->tl), 0);
    for (i = 0; i < h->n; i++) {
        const struct rec *r = &h->recs[i];
        if (r->fired != (r->call != NULL ? 1u : 0u)) fprintf(stderr, "  call %u fired %u times\n", i, r->fired);
        FO_CHECK_INT(r->fired, r->call != NULL ? 1 : 0);
        FO_CHECK(!r->in_api);
    }
}

/* ------------------------------------------------------------------ a real agent */

struct agent {
    struct fo_agent_config *cfg; /* allocated: it holds fixed arrays; outlives the server */
    struct fo_agent_server *s;
    bool running, stopped;
    uint16_t port;
};

static int agent_try(struct agent *ag, struct h *h, uint16_t port, const char *cert, char *err)
{
    char dir[PATHLEN], name[32], text[4 * PATHLEN];
    int rc;

    snprintf(name, sizeof name, "state%u", ++g_files.agents);
    join(dir, sizeof dir, g_files.dir, name, "");
    if (mkdir(dir, 0700) != 0) return fo_errf(err, FO_EIO, "mkdir %s", dir);
    if (cert == NULL)
        snprintf(text, sizeof text, "[agent]\nlisten = 127.0.0.1:%u\nstate_dir = %s\ninsecure = yes\n", port, dir);
    else
        snprintf(text, sizeof text,
                 "[agent]\nlisten = 127.0.0.1:%u\nstate_dir = %s\n"
                 "ca_file = %s/ca.crt\ncert_file = %s/%s.crt\nkey_file = %s/%s.key\n",
                 port, dir, g_files.dir, g_files.dir, cert, g_files.dir, cert);
    if ((rc = fo_agent_config_load_string(ag->cfg, "agent.conf", text, err)) != 0) return rc;
    return fo_agent_server_start(&ag->s, &h->tl.loop, ag->cfg, err);
}

/* Starts an agent on 127.0.0.1:port, or on a free port for 0 (tried a few times: other
 * tests may take the port between the probe and the bind), with the certificate called
 * cert (NULL: insecure). */
static bool agent_start(struct agent *ag, struct h *h, uint16_t port, const char *cert)
{
    char err[FO_ERRLEN] = "";
    unsigned i;
    int rc = FO_EIO;

    memset(ag, 0, sizeof *ag);
    ag->cfg = calloc(1, sizeof *ag->cfg);
    FO_CHECK(ag->cfg != NULL);
    if (ag->cfg == NULL) return false;
    for (i = 0; i < 5 && rc == FO_EIO; i++) {
        ag->port = port != 0 ? port : fo_test_free_port();
        rc = agent_try(ag, h, ag->port, cert, err);
        if (port != 0) break;
    }
    if (rc != 0) fprintf(stderr, "  agent: %s\n", err);
    FO_CHECK_INT(rc, 0);
    ag->running = rc == 0;
    return rc == 0;
}

static void agent_stopped(void *data)
{
    struct agent *ag = data;

    ag->stopped = true;
}

static void agent_stop(struct agent *ag)
{
    if (!ag->running) return;
    ag->running = false;
    fo_agent_server_stop(ag->s, agent_stopped, ag);
}

/* After h_finish: a started agent has called back from its stop; frees the config. */
static void agent_done(struct agent *ag)
{
    if (ag->s != NULL) FO_CHECK(ag->stopped);
    free(ag->cfg);
    ag->cfg = NULL;
}

/* ------------------------------------------------------------------ a raw agent */

/* What the raw agent does with one request. */
enum raw_act {
    ACT_ANSWER,      /* a Status response with the request's id */
    ACT_MUTE,        /* nothing, ever */
    ACT_HOLD,        /* nothing yet: ACT_SWAP answers it */
    ACT_SWAP,        /* answers this request, then the held one */
    ACT_CLOSE,       /* closes the connection */
    ACT_REFUSE,      /* a response with code FO_ESTALE */
    ACT_GARBAGE,     /* bytes that are no frame */
    ACT_WRONG_TYPE,  /* the right response in a request frame */
    ACT_WRONG_ID,    /* a response with another id */
    ACT_BAD_PAYLOAD, /* a response frame that is no AgentResponse */
    ACT_BAD_VERSION, /* a frame header of an unknown version */
    ACT_TOO_BIG,     /* a frame header announcing more than FO_AGENTC_MAX_RESPONSE */
    ACT_TRUNCATED,   /* half a frame, then the connection closes */
};

#define RAW_ERROR "stale epoch (raw agent)"

struct raw;

struct raw_conn {
    uv_tcp_t tcp;
    struct raw *srv;
    struct raw_conn *next;
    struct fo_frame_decoder dec;
    unsigned index; /* 1 for the first connection accepted */
    unsigned n_req;
    uint64_t held;
    bool closing;
    char rbuf[4096];
};

struct raw {
    struct h *h;
    uv_tcp_t listener;
    bool open;
    uint16_t port;
    struct raw_conn *conns;
    unsigned accepted, requests;
    /* The first request on the first connection, later ones on it, and every request
     * on later connections. */
    enum raw_act first, later, others;
};

static void raw_conn_closed(uv_handle_t *hd)
{
    struct raw_conn *c = hd->data, **pp;

    for (pp = &c->srv->conns; *pp != NULL && *pp != c; pp = &(*pp)->next) continue;
    if (*pp == c) *pp = c->next;
    fo_frame_decoder_close(&c->dec);
    free(c);
}

static void raw_conn_close(struct raw_conn *c)
{
    if (c->closing) return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, raw_conn_closed);
}

static void raw_written(uv_write_t *w, int status)
{
    free(w);
}

static void raw_write(struct raw_conn *c, const void *bytes, size_t n)
{
    uv_write_t *w = malloc(sizeof *w + n);
    uv_buf_t b;

    FO_CHECK(w != NULL);
    if (w == NULL) return;
    memcpy(w + 1, bytes, n);
    b = uv_buf_init((char *)(w + 1), (unsigned)n);
    if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, raw_written) != 0) {
        free(w);
        FO_CHECK(!"raw agent write");
    }
}

static void raw_respond(struct raw_conn *c, uint8_t type, uint64_t id, int code)
{
    Fo__Agent__AgentResponse r = FO__AGENT__AGENT_RESPONSE__INIT;
    Fo__Agent__AgentStatus st = FO__AGENT__AGENT_STATUS__INIT;
    uint8_t payload[256], *frame = NULL;
    size_t len, flen = 0;

    r.id = id;
    r.code = code;
    r.error = (char *)(code != 0 ? RAW_ERROR : "");
    r.status = code != 0 ? NULL : &st;
    len = fo__agent__agent_response__get_packed_size(&r);
    FO_CHECK(len <= sizeof payload);
    if (len > sizeof payload) return;
    fo__agent__agent_response__pack(&r, payload);
    FO_CHECK_INT(fo_frame_encode(type, payload, len, &frame, &flen), 0);
    if (frame != NULL) raw_write(c, frame, flen);
    free(frame);
}

/* Frame headers that are wrong in themselves. */
static void raw_bad_header(struct raw_conn *c, enum raw_act act)
{
    static const uint8_t not_proto[] = {0xff, 0xff, 0xff, 0xff}; /* a truncated varint */
    uint8_t hdr[FO_FRAME_HDR];

    if (act == ACT_BAD_PAYLOAD) {
        fo_frame_header(hdr, FO_FRAME_RESPONSE, sizeof not_proto);
        raw_write(c, hdr, sizeof hdr);
        raw_write(c, not_proto, sizeof not_proto);
    } else if (act == ACT_BAD_VERSION) {
        fo_frame_header(hdr, FO_FRAME_RESPONSE, 0);
        hdr[2] = FO_FRAME_VERSION + 1;
        raw_write(c, hdr, sizeof hdr);
    } else if (act == ACT_TOO_BIG) {
        fo_frame_header(hdr, FO_FRAME_RESPONSE, FO_AGENTC_MAX_RESPONSE + 1);
        raw_write(c, hdr, sizeof hdr);
    } else {
        fo_frame_header(hdr, FO_FRAME_RESPONSE, 100);
        raw_write(c, hdr, sizeof hdr);
        raw_conn_close(c);
    }
}

static void raw_act(struct raw_conn *c, uint64_t id)
{
    static const char garbage[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    struct raw *s = c->srv;
    enum raw_act act = c->index > 1 ? s->others : c->n_req == 1 ? s->first : s->later;

    switch (act) {
    case ACT_ANSWER: raw_respond(c, FO_FRAME_RESPONSE, id, 0); break;
    case ACT_MUTE: break;
    case ACT_HOLD: c->held = id; break;
    case ACT_SWAP:
        raw_respond(c, FO_FRAME_RESPONSE, id, 0);
        raw_respond(c, FO_FRAME_RESPONSE, c->held, 0);
        break;
    case ACT_CLOSE: raw_conn_close(c); break;
    case ACT_REFUSE: raw_respond(c, FO_FRAME_RESPONSE, id, FO_ESTALE); break;
    case ACT_GARBAGE: raw_write(c, garbage, sizeof garbage - 1); break;
    case ACT_WRONG_TYPE: raw_respond(c, FO_FRAME_REQUEST, id, 0); break;
    case ACT_WRONG_ID: raw_respond(c, FO_FRAME_RESPONSE, id + 1000, 0); break;
    default: raw_bad_header(c, act); break;
    }
}

static void raw_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *b)
{
    struct raw_conn *c = hd->data;

    *b = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void raw_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct raw_conn *c = st->data;
    Fo__Agent__AgentRequest *req;
    struct fo_frame f;
    char err[FO_ERRLEN];
    int rc;

    if (n < 0) raw_conn_close(c);
    if (n <= 0 || c->closing) return;
    FO_CHECK_INT(fo_frame_decoder_feed(&c->dec, b->base, (size_t)n), 0);
    while (!c->closing && (rc = fo_frame_decoder_next(&c->dec, &f, err)) != FO_EAGAIN) {
        /* agentc sends nothing but AgentRequest frames. */
        FO_CHECK_INT(rc, 0);
        req = rc == 0 && f.type == FO_FRAME_REQUEST ? fo__agent__agent_request__unpack(NULL, f.len, f.payload) : NULL;
        FO_CHECK(req != NULL);
        if (req == NULL) {
            raw_conn_close(c);
            return;
        }
        FO_CHECK_INT(req->body_case, FO__AGENT__AGENT_REQUEST__BODY_STATUS);
        c->n_req++;
        c->srv->requests++;
        raw_act(c, req->id);
        fo__agent__agent_request__free_unpacked(req, NULL);
        poke(c->srv->h);
    }
}

static void raw_on_connection(uv_stream_t *l, int status)
{
    struct raw *s = l->data;
    struct raw_conn *c;

    FO_CHECK_INT(status, 0);
    if (status != 0 || (c = calloc(1, sizeof *c)) == NULL) return;
    c->srv = s;
    c->index = ++s->accepted;
    fo_frame_decoder_init(&c->dec, FO_FRAME_DEFAULT_MAX);
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    c->next = s->conns;
    s->conns = c;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 || uv_read_start((uv_stream_t *)&c->tcp, raw_alloc, raw_read) != 0) {
        FO_CHECK(!"raw agent accept");
        raw_conn_close(c);
    }
    poke(s->h);
}

static bool raw_start(struct raw *s, struct h *h, enum raw_act first, enum raw_act later, enum raw_act others)
{
    struct sockaddr_in sa;
    struct sockaddr_storage ss;
    int len = sizeof ss;

    memset(s, 0, sizeof *s);
    s->h = h;
    s->first = first;
    s->later = later;
    s->others = others;
    FO_CHECK_INT(uv_tcp_init(&h->tl.loop, &s->listener), 0);
    s->listener.data = s;
    s->open = true;
    FO_CHECK_INT(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
    FO_CHECK_INT(uv_tcp_bind(&s->listener, (struct sockaddr *)&sa, 0), 0);
    FO_CHECK_INT(uv_listen((uv_stream_t *)&s->listener, 16, raw_on_connection), 0);
    FO_CHECK_INT(uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len), 0);
    s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return s->port != 0;
}

static void raw_stop(struct raw *s)
{
    struct raw_conn *c;

    if (s->open) uv_close((uv_handle_t *)&s->listener, NULL);
    s->open = false;
    for (c = s->conns; c != NULL; c = c->next) raw_conn_close(c);
}

/* ------------------------------------------------------------------ API errors */

static void call_in_close(struct rec *r)
{
    char err[FO_ERRLEN];
    struct rec *late = call_host(r->h, "127.0.0.1", 7201, CALL_MS, err);

    r->h->late_call = late->call != NULL;
}

/* Bad arguments and a full queue are refused by fo_agentc_call itself, and then the
 * callback never fires (h_finish checks that). */
static void test_api_errors(void)
{
    static const struct {
        const char *host;
        uint16_t port;
        unsigned timeout_ms;
    } bad[] = {{"", 7201, 1000}, {"127.0.0.1", 0, 1000}, {"127.0.0.1", 7201, 0}, {"127.0.0.1", 7201, 600001}};
    char err[FO_ERRLEN], host[FO_HOST_LEN + 8];
    struct fo_agentc *a = NULL;
    struct fo_tls_cfg t;
    struct raw raw;
    struct rec *r;
    struct h h;
    unsigned i;

    if (!h_init(&h, NULL)) return;
    tls_cfg(&t, "nonexistent");
    FO_CHECK_INT(fo_agentc_new(&a, &h.tl.loop, &t, NULL, err), FO_ECONFIG);
    FO_CHECK_CONTAINS(err, "nonexistent");
    for (i = 0; i < N_ELEMS(bad); i++) {
        r = call_host(&h, bad[i].host, bad[i].port, bad[i].timeout_ms, err);
        FO_CHECK(r->call == NULL);
        FO_CHECK(err[0] != '\0');
    }
    memset(host, 'a', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    FO_CHECK(call_host(&h, host, 7201, 1000, err)->call == NULL);
    /* FO_AGENTC_MAX_QUEUE calls wait on one agent that never answers: the next is
     * refused, a call to another agent is not. */
    raw_start(&raw, &h, ACT_MUTE, ACT_MUTE, ACT_MUTE);
    for (i = 0; i < FO_AGENTC_MAX_QUEUE; i++) call_ok(&h, raw.port, CALL_MS);
    FO_CHECK(call_host(&h, "127.0.0.1", raw.port, CALL_MS, err)->call == NULL);
    FO_CHECK_CONTAINS(err, "127.0.0.1");
    r = call_ok(&h, fo_test_free_port(), CALL_MS);
    /* A call made from a callback during close is refused. */
    r->then = call_in_close;
    check_stats(&h, &(struct fo_agentc_stats){.calls = FO_AGENTC_MAX_QUEUE + 1, .connects = 2});
    h_close(&h);
    raw_stop(&raw);
    h_finish(&h);
    FO_CHECK_INT(h.late_call, 0);
    for (i = 0; i < h.n; i++)
        if (h.recs[i].call != NULL) expect(&h.recs[i], FO_ECANCELED, "closed with a full queue");
}

/* ------------------------------------------------------------------ status from a real agent */

struct mode {
    const char *name;
    const char *agent_cert;  /* NULL: plain TCP */
    const char *agentc_cert; /* NULL: insecure */
};

static const struct mode modes[] = {{"plain", NULL, NULL}, {"tls", "agent1", "ctl1"}};

/* One call, then PIPELINED at once on the same connection: all answered, in order,
 * each with its own id. */
static void status_mode(const struct mode *m)
{
    struct agent ag;
    struct rec *r;
    struct h h;
    unsigned i, j;

    if (!h_init(&h, m->agentc_cert)) return;
    if (agent_start(&ag, &h, 0, m->agent_cert)) {
        r = call_ok(&h, ag.port, CALL_MS);
        FO_CHECK(run_until(&h, &h.fired, 1));
        expect(r, 0, m->name);
        FO_CHECK_INT(r->code, 0);
        FO_CHECK(r->has_status);
        for (i = 0; i < PIPELINED; i++) call_ok(&h, ag.port, CALL_MS);
        FO_CHECK(run_until(&h, &h.fired, 1 + PIPELINED));
        for (i = 0; i <= PIPELINED; i++) {
            expect(&h.recs[i], 0, m->name);
            FO_CHECK_INT(h.recs[i].seq, i + 1);
            for (j = 0; j < i; j++) FO_CHECK(h.recs[j].id != h.recs[i].id);
        }
        check_stats(&h, &(struct fo_agentc_stats){.calls = 1 + PIPELINED, .ok = 1 + PIPELINED, .connects = 1});
    }
    agent_stop(&ag);
    h_finish(&h);
    agent_done(&ag);
}

static void test_status(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(modes); i++) status_mode(&modes[i]);
}

/* ------------------------------------------------------------------ TLS authentication */

/* agentc accepts only agents named by the address it connects to; the agent accepts only
 * controllers. A refusal from either side is FO_EPERM and counted as tls_refused. */
static void test_tls_auth(void)
{
    static const struct {
        const char *name, *agent_cert, *agentc_cert;
        int want;
    } cases[] = {
        {"controller meets agent", "agent1", "ctl1", 0},
        {"client certificate refused by the agent", "agent1", "admin", FO_EPERM},
        {"agent certificate not naming 127.0.0.1", "far", "ctl1", FO_EPERM},
        {"agent presenting a controller certificate", "ctl1", "ctl1", FO_EPERM},
    };
    struct agent ag;
    struct rec *r;
    struct h h;
    unsigned i;

    for (i = 0; i < N_ELEMS(cases); i++) {
        if (!h_init(&h, cases[i].agentc_cert)) return;
        if (agent_start(&ag, &h, 0, cases[i].agent_cert)) {
            r = call_ok(&h, ag.port, CALL_MS);
            FO_CHECK(run_until(&h, &h.fired, 1));
            expect(r, cases[i].want, cases[i].name);
            FO_CHECK_CONTAINS(r->error, cases[i].want == 0 ? "" : "127.0.0.1");
            check_stats(&h, &(struct fo_agentc_stats){.calls = 1,
                                                      .ok = cases[i].want == 0,
                                                      .failed = cases[i].want != 0,
                                                      .connects = 1,
                                                      .tls_refused = cases[i].want != 0});
        }
        agent_stop(&ag);
        h_finish(&h);
        agent_done(&ag);
    }
}

/* ------------------------------------------------------------------ unreachable, timeout */

static void unreachable_mode(const struct mode *m)
{
    uint16_t port = fo_test_free_port();
    struct rec *r0, *r1;
    struct h h;

    if (!h_init(&h, m->agentc_cert)) return;
    FO_CHECK(port != 0);
    r0 = call_ok(&h, port, CALL_MS);
    r1 = call_ok(&h, port, CALL_MS);
    FO_CHECK(run_until(&h, &h.fired, 2));
    expect(r0, FO_EUNREACHABLE, m->name);
    expect(r1, FO_EUNREACHABLE, m->name);
    FO_CHECK_CONTAINS(r0->error, "127.0.0.1");
    check_stats(&h, &(struct fo_agentc_stats){.calls = 2, .failed = 2, .connects = 1});
    h_finish(&h);
}

static void test_unreachable(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(modes); i++) unreachable_mode(&modes[i]);
}

/* An agent that accepts and never answers: when the first deadline passes every call on
 * the connection fails with FO_ETIMEDOUT, and the next call makes a new connection. */
static void test_timeout(void)
{
    struct rec *r0, *r1, *r2;
    struct raw raw;
    struct h h;

    if (!h_init(&h, NULL)) return;
    raw_start(&raw, &h, ACT_MUTE, ACT_MUTE, ACT_ANSWER);
    /* The deadline counts from the loop's idea of now. */
    uv_update_time(&h.tl.loop);
    r0 = call_ok(&h, raw.port, SHORT_MS);
    r1 = call_ok(&h, raw.port, CALL_MS);
    FO_CHECK(run_until(&h, &h.fired, 2));
    expect(r0, FO_ETIMEDOUT, "short deadline");
    expect(r1, FO_ETIMEDOUT, "behind it");
    /* Measured on the clock the deadline runs on, so SHORT_MS is an exact lower bound. */
    FO_CHECK_RANGE(r0->ms, SHORT_MS, SHORT_MS + 1500);
    FO_CHECK_RANGE(r1->ms, SHORT_MS, SHORT_MS + 1500);
    FO_CHECK_INT(raw.requests, 2);
    r2 = call_ok(&h, raw.port, CALL_MS);
    FO_CHECK(run_until(&h, &h.fired, 3));
    expect(r2, 0, "after the timeout");
    FO_CHECK_INT(raw.accepted, 2);
    check_stats(&h, &(struct fo_agentc_stats){.calls = 3, .ok = 1, .failed = 2, .connects = 2});
    raw_stop(&raw);
    h_finish(&h);
}

/* A TLS agent that never answers the handshake: the deadline covers it too. */
static void test_timeout_tls_handshake(void)
{
    uint16_t port;
    int fd = fo_test_mute_listener(&port);
    struct rec *r;
    struct h h;

    FO_CHECK(fd >= 0);
    if (fd < 0) return;
    if (h_init(&h, "ctl1")) {
        uv_update_time(&h.tl.loop);
        r = call_ok(&h, port, SHORT_MS);
        FO_CHECK(run_until(&h, &h.fired, 1));
        expect(r, FO_ETIMEDOUT, "TLS handshake");
        FO_CHECK_RANGE(r->ms, SHORT_MS, SHORT_MS + 1500);
        check_stats(&h, &(struct fo_agentc_stats){.calls = 1, .failed = 1, .connects = 1});
        h_finish(&h);
    }
    close(fd);
}

/* ------------------------------------------------------------------ cancel */

/* Three calls; one is cancelled before the connection is made, or after all three
 * requests reached the agent (which holds its answers on that first connection). The
 * cancelled one fires FO_ECANCELED from the loop; the others are answered. */
static void test_cancel(void)
{
    static const struct {
        const char *name;
        bool sent;
        unsigned victim;
    } cases[] = {
        {"before connect, head", false, 0}, {"before connect, middle", false, 1}, {"before connect, tail", false, 2},
        {"after send, head", true, 0},      {"after send, middle", true, 1},      {"after send, tail", true, 2},
    };
    struct raw raw;
    struct h h;
    unsigned i, k;

    for (i = 0; i < N_ELEMS(cases); i++) {
        if (!h_init(&h, NULL)) return;
        raw_start(&raw, &h, cases[i].sent ? ACT_MUTE : ACT_ANSWER, cases[i].sent ? ACT_MUTE : ACT_ANSWER, ACT_ANSWER);
        for (k = 0; k < 3; k++) call_ok(&h, raw.port, CALL_MS);
        if (cases[i].sent) FO_CHECK(run_until(&h, &raw.requests, 3));
        cancel(&h.recs[cases[i].victim]);
        /* Again while its callback is pending: nothing more happens. */
        cancel(&h.recs[cases[i].victim]);
        FO_CHECK_INT(h.fired, 0);
        FO_CHECK(run_until(&h, &h.fired, 3));
        for (k = 0; k < 3; k++) expect(&h.recs[k], k == cases[i].victim ? FO_ECANCELED : 0, cases[i].name);
        FO_CHECK_INT(raw.accepted, cases[i].sent ? 2 : 1);
        check_stats(&h, &(struct fo_agentc_stats){.calls = 3, .ok = 2, .connects = cases[i].sent ? 2 : 1});
        raw_stop(&raw);
        h_finish(&h);
    }
}

/* ------------------------------------------------------------------ retry */

struct later_call {
    uv_check_t check;
    struct h *h;
    uint16_t port;
};

static void later_call_cb(uv_check_t *c)
{
    struct later_call *l = c->data;

    uv_check_stop(c);
    uv_close((uv_handle_t *)c, NULL);
    call_ok(l->h, l->port, CALL_MS);
}

/* The agent restarts on the same port between two calls. The second call is made on
 * the old connection before agentc has read its end: either at once (the request goes
 * out on a connection the agent has closed) or from a check callback, after the
 * connection's end was read in the same loop iteration but before its close completed
 * (the write itself is refused). Either way it is retried once on a new connection. */
static void restart_mode(const struct mode *m, bool from_check)
{
    struct later_call later = {.h = NULL};
    struct agent a1, a2 = {.cfg = NULL};
    struct h h;

    if (!h_init(&h, m->agentc_cert)) return;
    if (agent_start(&a1, &h, 0, m->agent_cert)) {
        call_ok(&h, a1.port, CALL_MS);
        FO_CHECK(run_until(&h, &h.fired, 1));
        expect(&h.recs[0], 0, m->name);
        agent_stop(&a1);
        agent_start(&a2, &h, a1.port, m->agent_cert);
        if (from_check) {
            later.h = &h;
            later.port = a1.port;
            later.check.data = &later;
            uv_check_init(&h.tl.loop, &later.check);
            uv_check_start(&later.check, later_call_cb);
        } else {
            call_ok(&h, a1.port, CALL_MS);
        }
        FO_CHECK(run_until(&h, &h.fired, 2));
        expect(&h.recs[1], 0, from_check ? "restart, call from a check callback" : "restart, call at once");
        check_stats(&h, &(struct fo_agentc_stats){.calls = 2, .ok = 2, .connects = 2});
    }
    agent_stop(&a1);
    agent_stop(&a2);
    h_finish(&h);
    agent_done(&a1);
    agent_done(&a2);
}

static void test_retry_agent_restart(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(modes); i++) {
        restart_mode(&modes[i], false);
        restart_mode(&modes[i], true);
    }
}

/* A raw agent closes the connection on a request: a call made on a fresh connection is
 * not retried; one made on a reused connection is retried once, and only once. */
static void test_retry_raw(void)
{
    static const struct {
        const char *name;
        enum raw_act first, later, others;
        int want0, want1;
        unsigned accepted;
    } cases[] = {
        {"fresh connection: no retry", ACT_CLOSE, ACT_ANSWER, ACT_ANSWER, FO_ECLOSED, 0, 2},
        {"reused connection: retried", ACT_ANSWER, ACT_CLOSE, ACT_ANSWER, 0, 0, 2},
        {"reused connection: retried once only", ACT_ANSWER, ACT_CLOSE, ACT_CLOSE, 0, FO_ECLOSED, 2},
    };
    struct raw raw;
    struct h h;
    unsigned i;

    for (i = 0; i < N_ELEMS(cases); i++) {
        if (!h_init(&h, NULL)) return;
        raw_start(&raw, &h, cases[i].first, cases[i].later, cases[i].others);
        call_ok(&h, raw.port, CALL_MS);
        FO_CHECK(run_until(&h, &h.fired, 1));
        expect(&h.recs[0], cases[i].want0, cases[i].name);
        call_ok(&h, raw.port, CALL_MS);
        FO_CHECK(run_until(&h, &h.fired, 2));
        expect(&h.recs[1], cases[i].want1, cases[i].name);
        FO_CHECK_INT(raw.accepted, cases[i].accepted);
        check_stats(&h, &(struct fo_agentc_stats){.calls = 2,
                                                  .ok = (cases[i].want0 == 0) + (cases[i].want1 == 0),
                                                  .failed = (cases[i].want0 != 0) + (cases[i].want1 != 0),
                                                  .connects = cases[i].accepted});
        raw_stop(&raw);
        h_finish(&h);
    }
}

/* ------------------------------------------------------------------ close */

enum close_phase {
    CLOSE_RESOLVING,   /* a host name being resolved */
    CLOSE_CONNECTING,  /* connection not yet made */
    CLOSE_UNREACHABLE, /* connection being refused */
    CLOSE_SENT_RAW,    /* requests received by an agent that never answers */
    CLOSE_SENT_AGENT,  /* requests written to a real agent on an open connection */
    CLOSE_IN_CALLBACK, /* from the callback of an answered call */
};

/* fo_agentc_close with calls in flight: each callback fires once with FO_ECANCELED
 * (but for a call answered before), and the loop then ends with nothing open. */
static void close_case(const char *name, enum close_phase phase, const struct mode *m)
{
    struct agent ag = {.cfg = NULL};
    struct raw raw = {.open = false};
    char err[FO_ERRLEN];
    unsigned i, first = 0;
    uint16_t port = 0;
    struct h h;

    if (!h_init(&h, m->agentc_cert)) return;
    if (phase == CLOSE_SENT_RAW || phase == CLOSE_IN_CALLBACK) {
        raw_start(&raw, &h, phase == CLOSE_SENT_RAW ? ACT_MUTE : ACT_ANSWER, ACT_MUTE, ACT_MUTE);
        port = raw.port;
    } else if (phase == CLOSE_CONNECTING || phase == CLOSE_SENT_AGENT) {
        if (agent_start(&ag, &h, 0, m->agent_cert)) port = ag.port;
    } else {
        port = fo_test_free_port();
    }
    if (phase == CLOSE_SENT_AGENT) {
        call_ok(&h, port, CALL_MS);
        FO_CHECK(run_until(&h, &h.fired, 1));
        expect(&h.recs[0], 0, name);
        first = 1;
    }
    for (i = 0; i < 3; i++) {
        if (phase == CLOSE_RESOLVING)
            FO_CHECK(call_host(&h, "localhost", port, CALL_MS, err)->call != NULL);
        else
            call_ok(&h, port, CALL_MS);
    }
    if (phase == CLOSE_SENT_RAW) FO_CHECK(run_until(&h, &raw.requests, 3));
    if (phase == CLOSE_IN_CALLBACK) {
        h.recs[0].then = close_in_callback;
        FO_CHECK(run_until(&h, &h.fired, 3));
        expect(&h.recs[0], 0, name);
        first = 1;
    }
    h_close(&h);
    raw_stop(&raw);
    agent_stop(&ag);
    h_finish(&h);
    agent_done(&ag);
    for (i = first; i < h.n; i++) expect(&h.recs[i], FO_ECANCELED, name);
}

static void test_close(void)
{
    close_case("resolving", CLOSE_RESOLVING, &modes[0]);
    close_case("connecting, plain", CLOSE_CONNECTING, &modes[0]);
    close_case("connecting, tls", CLOSE_CONNECTING, &modes[1]);
    close_case("connection refused", CLOSE_UNREACHABLE, &modes[0]);
    close_case("requests sent, no answer", CLOSE_SENT_RAW, &modes[0]);
    close_case("requests sent to an agent, plain", CLOSE_SENT_AGENT, &modes[0]);
    close_case("requests sent to an agent, tls", CLOSE_SENT_AGENT, &modes[1]);
    close_case("from a callback", CLOSE_IN_CALLBACK, &modes[0]);
}

/* ------------------------------------------------------------------ bad replies */

/* Anything but the response to the call at the head of the queue fails every call on
 * the connection with FO_EPROTO (a cut-off frame: FO_ECLOSED); the next call makes a
 * new connection and is answered. */
static void test_bad_reply(void)
{
    static const struct {
        const char *name;
        enum raw_act first, later;
        unsigned calls;
        int want;
    } cases[] = {
        {"garbage", ACT_GARBAGE, ACT_ANSWER, 1, FO_EPROTO},
        {"request frame", ACT_WRONG_TYPE, ACT_ANSWER, 1, FO_EPROTO},
        {"wrong id", ACT_WRONG_ID, ACT_ANSWER, 1, FO_EPROTO},
        {"undecodable payload", ACT_BAD_PAYLOAD, ACT_ANSWER, 1, FO_EPROTO},
        {"unknown frame version", ACT_BAD_VERSION, ACT_ANSWER, 1, FO_EPROTO},
        {"frame over the cap", ACT_TOO_BIG, ACT_ANSWER, 1, FO_EPROTO},
        {"answers out of order", ACT_HOLD, ACT_SWAP, 2, FO_EPROTO},
        {"half a frame", ACT_TRUNCATED, ACT_ANSWER, 1, FO_ECLOSED},
    };
    struct raw raw;
    struct h h;
    unsigned i, k, n;

    for (i = 0; i < N_ELEMS(cases); i++) {
        if (!h_init(&h, NULL)) return;
        raw_start(&raw, &h, cases[i].first, cases[i].later, ACT_ANSWER);
        n = cases[i].calls;
        for (k = 0; k < n; k++) call_ok(&h, raw.port, CALL_MS);
        FO_CHECK(run_until(&h, &h.fired, n));
        for (k = 0; k < n; k++) expect(&h.recs[k], cases[i].want, cases[i].name);
        call_ok(&h, raw.port, CALL_MS);
        FO_CHECK(run_until(&h, &h.fired, n + 1));
        expect(&h.recs[n], 0, cases[i].name);
        FO_CHECK_INT(raw.accepted, 2);
        check_stats(&h, &(struct fo_agentc_stats){.calls = n + 1, .ok = 1, .failed = n, .connects = 2});
        raw_stop(&raw);
        h_finish(&h);
    }
}

/* A non-zero code is the agent's refusal: status 0 with the response, counted as
 * refused, and the connection stays. */
static void test_refusal(void)
{
    struct raw raw;
    struct rec *r;
    struct h h;

    if (!h_init(&h, NULL)) return;
    raw_start(&raw, &h, ACT_REFUSE, ACT_ANSWER, ACT_ANSWER);
    r = call_ok(&h, raw.port, CALL_MS);
    FO_CHECK(run_until(&h, &h.fired, 1));
    expect(r, 0, "refusal");
    FO_CHECK_INT(r->code, FO_ESTALE);
    FO_CHECK_STR(r->error, RAW_ERROR);
    r = call_ok(&h, raw.port, CALL_MS);
    FO_CHECK(run_until(&h, &h.fired, 2));
    expect(r, 0, "after a refusal");
    FO_CHECK_INT(r->code, 0);
    FO_CHECK_INT(raw.accepted, 1);
    check_stats(&h, &(struct fo_agentc_stats){.calls = 2, .ok = 1, .refused = 1, .connects = 1});
    raw_stop(&raw);
    h_finish(&h);
}

/* ------------------------------------------------------------------ written */

static void on_reply_w(void *data, int status, bool written, const char *error, const Fo__Agent__AgentResponse *resp)
{
    struct rec *r = data;

    r->written = written;
    on_reply(data, status, error, resp);
}

/* A StatusRequest through fo_agentc_call_w to 127.0.0.1:port. */
static struct rec *call_w(struct h *h, uint16_t port, unsigned timeout_ms)
{
    Fo__Agent__AgentRequest req = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__StatusRequest st = FO__AGENT__STATUS_REQUEST__INIT;
    struct rec *r = &h->recs[h->n++];
    char err[FO_ERRLEN];

    req.body_case = FO__AGENT__AGENT_REQUEST__BODY_STATUS;
    req.status = &st;
    r->h = h;
    r->written = -1;
    r->t0 = uv_now(&h->tl.loop);
    r->call = fo_agentc_call_w(h->a, "127.0.0.1", port, &req, timeout_ms, on_reply_w, r, err);
    if (r->call == NULL) fprintf(stderr, "  fo_agentc_call_w: %s\n", err);
    FO_CHECK(r->call != NULL);
    r->id = req.id;
    return r;
}

/* docs/vip-lease-delay.md: a lease message counts as sent only if it may reach the
 * agent. Never written: nobody listening (refused), a TLS handshake that never
 * completes (a host cut off looks like this: the connect hangs). Written: a request on
 * an open connection, answered or not (it may still arrive late). */
static void test_written(void)
{
    uint16_t port = fo_test_free_port();
    int fd = fo_test_mute_listener(&port);
    uint16_t closed_port = fo_test_free_port();
    struct rec *r;
    struct raw raw;
    struct h h;

    FO_CHECK(fd >= 0 && closed_port != 0);
    if (fd < 0) return;
    if (h_init(&h, "ctl1")) {
        r = call_w(&h, closed_port, CALL_MS);
        FO_CHECK(run_until(&h, &h.fired, 1));
        expect(r, FO_EUNREACHABLE, "refused");
        FO_CHECK_INT(r->written, 0);
        uv_update_time(&h.tl.loop);
        r = call_w(&h, port, SHORT_MS);
        FO_CHECK(run_until(&h, &h.fired, 2));
        expect(r, FO_ETIMEDOUT, "TLS handshake never completes");
        FO_CHECK_INT(r->written, 0);
        h_finish(&h);
    }
    close(fd);
    if (!h_init(&h, NULL)) return;
    raw_start(&raw, &h, ACT_MUTE, ACT_ANSWER, ACT_ANSWER);
    uv_update_time(&h.tl.loop);
    r = call_w(&h, raw.port, SHORT_MS);
    FO_CHECK(run_until(&h, &h.fired, 1));
    expect(r, FO_ETIMEDOUT, "written, never answered");
    FO_CHECK_INT(r->written, 1);
    r = call_w(&h, raw.port, CALL_MS);
    FO_CHECK(run_until(&h, &h.fired, 2));
    expect(r, 0, "answered");
    FO_CHECK_INT(r->written, 1);
    raw_stop(&raw);
    h_finish(&h);
}

FO_TEST_MAIN(FO_T(test_api_errors), FO_T(test_status), FO_T(test_tls_auth), FO_T(test_unreachable), FO_T(test_timeout),
             FO_T(test_timeout_tls_handshake), FO_T(test_cancel), FO_T(test_retry_agent_restart), FO_T(test_retry_raw),
             FO_T(test_close), FO_T(test_bad_reply), FO_T(test_refusal), FO_T(test_written))
