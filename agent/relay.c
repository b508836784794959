/* Relayed lease renewals on the agent (DESIGN.md §7, docs/relayed-lease.md).
 *
 * Three RPCs (proto/agent.proto):
 *   LeaseNonce   any authenticated peer (an agent or a controller) gets a fresh random
 *                nonce for a cluster; this agent remembers it with its own monotonic
 *                issue time (agent/lease.h, fo_lease_nonces).
 *   RelayNonce   a controller asks this agent (A_r) to fetch a nonce from the holder's
 *                agent (A_p) at host:port; the answer carries it.
 *   RelayRenew   from a controller: forwarded to A_p at host:port, A_p's answer passed
 *                back; from an agent: judged here (this agent is A_p) and, if every
 *                rule holds, the lease is extended to nonce issue time + lease.
 *
 * A_r keeps one mutual-TLS connection per holder (a link), made on first use, agent
 * role required of the other side, closed after RELAY_IDLE_MS without a call. Calls
 * on a link are answered in order; each has a deadline (RELAY_TIMEOUT_MS), and when
 * one passes the link is closed and every call on it fails: the leader then tries
 * another replica or its next renewal.
 *
 * Loop thread only. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/server_internal.h"
#include "common/log.h"
#include "common/prom.h"

#define MOD "agent"
#define RELAY_TIMEOUT_MS 800 /* one forwarded request: well inside the nonce's 1000 ms */
#define RELAY_IDLE_MS 30000
#define RELAY_MAX_QUEUE 8
#define RELAY_MAX_RESPONSE 4096

struct agent_relay_call {
    struct agent_relay_call *next;
    struct agent_relay_link *link; /* NULL once completed */
    struct agent_conn *c;          /* the controller's connection waiting; NULL once cancelled */
    uint64_t id;
    uint8_t *frame;
    size_t flen;
    bool sent;
    bool want_nonce; /* RelayNonce (answer with the nonce) or RelayRenew (pass the code) */
    uint64_t deadline;
};

struct agent_relay_link {
    struct agent_relay_link *next;
    struct fo_agent_server *s;
    char host[INET6_ADDRSTRLEN];
    uint16_t port;
    struct fo_tls_conn *tls; /* NULL when not connected */
    bool open;
    bool closing; /* the server stops: freed once tls and timer are closed */
    struct fo_frame_decoder dec;
    struct agent_relay_call *head;
    unsigned n;
    uint64_t next_id;
    uint64_t last_used;
    uv_timer_t timer; /* the first deadline, or the idle close */
    bool timer_open;
};

static const char *const result_names[FO_RELAY_RESULT_N] = {
    [FO_RELAY_OK] = "ok",
    [FO_RELAY_BAD_REQUEST] = "bad_request",
    [FO_RELAY_BAD_SIGNATURE] = "bad_signature",
    [FO_RELAY_WRONG_ROLE] = "wrong_role",
    [FO_RELAY_WRONG_HOST] = "wrong_host",
    [FO_RELAY_BAD_NONCE] = "bad_nonce",
    [FO_RELAY_OLD_NONCE] = "old_nonce",
    [FO_RELAY_STALE_TERM] = "stale_term",
    [FO_RELAY_STALE_EPOCH] = "stale_epoch",
    [FO_RELAY_NOT_HELD] = "not_held",
};

const char *fo_agent_relay_result_name(enum fo_relay_result r)
{
    return (unsigned)r < FO_RELAY_RESULT_N ? result_names[r] : "invalid";
}

bool fo_agent_relay_is_relay(const Fo__Agent__AgentRequest *req)
{
    return req->body_case == FO__AGENT__AGENT_REQUEST__BODY_LEASE_NONCE ||
           req->body_case == FO__AGENT__AGENT_REQUEST__BODY_RELAY_NONCE ||
           req->body_case == FO__AGENT__AGENT_REQUEST__BODY_RELAY_RENEW;
}

/* ---- judging a relayed renewal ---------------------------------------------------------- */

enum fo_relay_result fo_agent_relay_open(struct fo_tls_ctx *tls, const Fo__Agent__RelayRenew *m,
                                         Fo__Agent__RelayToken **tok, char cn[FO_TLS_CN_MAX + 1], char err[FO_ERRLEN])
{
    const uint8_t *certs[FO_TLS_MAX_CHAIN];
    size_t lens[FO_TLS_MAX_CHAIN];
    Fo__Agent__RelayToken *t;
    unsigned role = 0, i;
    int rc;

    *tok = NULL;
    cn[0] = '\0';
    if (m->n_cert_chain == 0 || m->n_cert_chain > FO_TLS_MAX_CHAIN || m->token.len == 0) {
        fo_errf(err, FO_EINVAL, "relayed renewal without a token or with %zu certificates", m->n_cert_chain);
        return FO_RELAY_BAD_REQUEST;
    }
    for (i = 0; i < m->n_cert_chain; i++) {
        certs[i] = m->cert_chain[i].data;
        lens[i] = m->cert_chain[i].len;
    }
    /* Any role first, so that a valid signature by a non-controller is told apart. */
    rc = fo_tls_ctx_verify_signed(tls, certs, lens, (unsigned)m->n_cert_chain, FO_TLS_ROLE_ALL, FO_RELAY_SIGN_CONTEXT,
                                  m->token.data, m->token.len, m->signature.data, m->signature.len, &role, cn, err);
    if (rc == FO_EINVAL) return FO_RELAY_BAD_REQUEST;
    if (rc != 0) return FO_RELAY_BAD_SIGNATURE;
    if (role != FO_TLS_ROLE_CONTROLLER) {
        fo_errf(err, FO_EPERM, "token signed by %s, whose role is %s: only a controller may renew a lease", cn,
                fo_tls_role_name(role));
        return FO_RELAY_WRONG_ROLE;
    }
    t = fo__agent__relay_token__unpack(NULL, m->token.len, m->token.data);
    if (t == NULL || t->version != 1 || t->nonce.len != FO_LEASE_NONCE_LEN) {
        fo_errf(err, FO_EINVAL, "signed token is not a version 1 RelayToken with a %d-byte nonce", FO_LEASE_NONCE_LEN);
        if (t != NULL) fo__agent__relay_token__free_unpacked(t, NULL);
        return FO_RELAY_BAD_REQUEST;
    }
    *tok = t;
    return FO_RELAY_OK;
}

enum fo_relay_result fo_agent_relay_accept(const Fo__Agent__RelayToken *tok, struct fo_lease_nonces *nonces,
                                           uint64_t stored_epoch, uint64_t *max_term, struct fo_lease *lease,
                                           uint64_t now_ms, unsigned *actions, char err[FO_ERRLEN])
{
    uint64_t issued = 0;
    int rc;

    *actions = 0;
    rc = fo_lease_nonce_take(nonces, tok->nonce.data, tok->nonce.len, now_ms, FO_LEASE_NONCE_MAX_AGE_MS, &issued, err);
    if (rc == FO_ETIMEDOUT) return FO_RELAY_OLD_NONCE;
    if (rc != 0) return FO_RELAY_BAD_NONCE;
    if (tok->term < *max_term) {
        fo_errf(err, FO_ESTALE, "term %" PRIu64 " < %" PRIu64 " of a relayed renewal already accepted", tok->term,
                *max_term);
        return FO_RELAY_STALE_TERM;
    }
    if (tok->epoch < stored_epoch) {
        fo_errf(err, FO_ESTALE, "epoch %" PRIu64 " < %" PRIu64 " already seen for cluster %s", tok->epoch, stored_epoch,
                tok->cluster);
        return FO_RELAY_STALE_EPOCH;
    }
    rc = fo_lease_renew_relayed(lease, tok->epoch, tok->lease_ms, issued, now_ms, actions, err);
    if (rc == FO_ESTALE) return FO_RELAY_STALE_EPOCH;
    if (rc == FO_EINVAL) return FO_RELAY_BAD_REQUEST;
    if (rc != 0) return FO_RELAY_NOT_HELD; /* not held, or held at a lower epoch */
    *max_term = tok->term;
    return FO_RELAY_OK;
}

/* ---- replies ------------------------------------------------------------------------------- */

static void relay_refuse(struct agent_conn *c, const char *what, int code, const char *error)
{
    FO_WARN(MOD, "refused %s from %s: %s", what, c->peer, error);
    fo_agent_conn_reply(c, code, error, NULL);
}

static void reply_nonce(struct agent_conn *c, const uint8_t *nonce, size_t len)
{
    Fo__Agent__AgentResponse r = FO__AGENT__AGENT_RESPONSE__INIT;

    r.nonce.data = (uint8_t *)nonce;
    r.nonce.len = len;
    fo_agent_conn_respond(c, &r);
}

static int cluster_index(const struct fo_agent_server *s, const char *name)
{
    unsigned i;

    for (i = 0; i < s->cfg->n_clusters; i++)
        if (strcmp(s->cfg->clusters[i].name, name) == 0) return (int)i;
    return -1;
}

/* ---- A_p: nonces and relayed renewals ----------------------------------------------------- */

static void do_lease_nonce(struct agent_conn *c, const Fo__Agent__LeaseNonce *m)
{
    struct fo_agent_server *s = c->s;
    uint8_t v[FO_LEASE_NONCE_LEN];
    int k = cluster_index(s, m->cluster);

    if (k < 0) return relay_refuse(c, "LeaseNonce", FO_ENOTFOUND, "unknown cluster");
    if (uv_random(NULL, NULL, v, sizeof v, 0, NULL) != 0)
        return relay_refuse(c, "LeaseNonce", FO_EIO, "no random bytes for a nonce");
    fo_lease_nonce_issue(&s->nonces[k], v, uv_now(s->loop));
    s->nonces_issued++;
    reply_nonce(c, v, sizeof v);
}

/* The address the request reached us on, as text ("" if unknown): a token naming the
 * holder by IP must name this one, so that a relay cannot take a token meant for one
 * host to another. */
static void local_ip(struct agent_conn *c, char out[INET6_ADDRSTRLEN])
{
    struct sockaddr_storage ss;
    int len = sizeof ss;

    out[0] = '\0';
    if (c->tls == NULL || uv_tcp_getsockname(fo_tls_conn_tcp(c->tls), (struct sockaddr *)&ss, &len) != 0) return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, INET6_ADDRSTRLEN);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, INET6_ADDRSTRLEN);
}

static bool host_matches(struct agent_conn *c, const char *host)
{
    unsigned char a[sizeof(struct in6_addr)], b[sizeof(struct in6_addr)];
    char me[INET6_ADDRSTRLEN];
    int fam = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;

    if (inet_pton(fam, host, a) != 1) return true; /* a name: bound by the nonce alone */
    local_ip(c, me);
    if (me[0] == '\0' || inet_pton(fam, me, b) != 1) return false;
    return memcmp(a, b, fam == AF_INET ? 4 : 16) == 0;
}

/* The lease the token names: the cluster's lease on that address (held first). */
static struct agent_lease *token_lease(struct fo_agent_server *s, const Fo__Agent__RelayToken *t)
{
    struct agent_lease *found = NULL;
    struct in_addr addr;
    unsigned i;

    if (inet_pton(AF_INET, t->vip, &addr) != 1) return NULL;
    for (i = 0; i < s->n_leases; i++) {
        struct agent_lease *e = &s->leases[i];
        if (strcmp(e->cfg->name, t->cluster) != 0 || e->vip->addr.s_addr != addr.s_addr) continue;
        if (e->lease.state == FO_LEASE_HELD) return e;
        if (found == NULL) found = e;
    }
    return found;
}

static void relay_count(struct agent_conn *c, enum fo_relay_result r, const char *signer, const char *error)
{
    c->s->relayed[r]++;
    if (r != FO_RELAY_OK)
        FO_WARN(MOD, "refused relayed renewal via %s (signed by %s): %s: %s", c->peer, signer[0] ? signer : "?",
                fo_agent_relay_result_name(r), error);
}

static int result_code(enum fo_relay_result r)
{
    switch (r) {
    case FO_RELAY_OK: return 0;
    case FO_RELAY_STALE_TERM:
    case FO_RELAY_STALE_EPOCH: return FO_ESTALE;
    case FO_RELAY_NOT_HELD: return FO_ENOTFOUND;
    case FO_RELAY_BAD_REQUEST: return FO_EINVAL;
    default: return FO_EPERM;
    }
}

static void do_relayed_renew(struct agent_conn *c, const Fo__Agent__RelayRenew *m)
{
    struct fo_agent_server *s = c->s;
    Fo__Agent__RelayToken *t = NULL;
    struct agent_lease *e;
    enum fo_relay_result r;
    char err[FO_ERRLEN], cn[FO_TLS_CN_MAX + 1], v[FO_VIP_STRLEN];
    uint64_t stored = 0, before;
    unsigned actions = 0;
    int k;

    err[0] = '\0';
    r = fo_agent_relay_open(s->tls, m, &t, cn, err);
    if (r == FO_RELAY_OK && ((k = cluster_index(s, t->cluster)) < 0 || (e = token_lease(s, t)) == NULL)) {
        fo_errf(err, FO_EINVAL, "cluster %.64s has no VIP %.40s here", t->cluster, t->vip);
        r = FO_RELAY_BAD_REQUEST;
    } else if (r == FO_RELAY_OK && !host_matches(c, t->host)) {
        fo_errf(err, FO_EPERM, "token for host %.64s reached another address", t->host);
        r = FO_RELAY_WRONG_HOST;
    }
    if (r == FO_RELAY_OK) {
        uv_mutex_lock(&s->epoch_mu);
        if (fo_epoch_get(s->epochs, t->cluster, &stored) != 0) stored = 0;
        uv_mutex_unlock(&s->epoch_mu);
        before = e->lease.deadline_ms;
        r = fo_agent_relay_accept(t, &s->nonces[k], stored, &s->relay_term[k], &e->lease, uv_now(s->loop), &actions,
                                  err);
        fo_agent_lease_apply(e, actions);
        if (r == FO_RELAY_OK) {
            fo_agent_ro_held(e);
            FO_DEBUG(MOD,
                     "cluster %s: lease on %s extended by a relayed renewal (signed by %s, term %" PRIu64 "): %" PRIu64
                     " ms left, was %" PRIu64,
                     t->cluster, fo_vip_str(e->vip, v), cn, t->term, e->lease.deadline_ms - uv_now(s->loop),
                     before > uv_now(s->loop) ? before - uv_now(s->loop) : 0);
        }
    }
    relay_count(c, r, cn, err);
    if (t != NULL) fo__agent__relay_token__free_unpacked(t, NULL);
    fo_agent_conn_reply(c, result_code(r), r == FO_RELAY_OK ? NULL : err, NULL);
}

/* ---- A_r: links to holders' agents ------------------------------------------------------- */

static void link_fail(struct agent_relay_link *l, int status, const char *why);

static void call_done(struct agent_relay_call *x, int code, const char *error, const uint8_t *nonce, size_t nlen)
{
    struct agent_conn *c = x->c;

    x->link = NULL;
    free(x->frame);
    free(x);
    if (c == NULL) return; /* cancelled: its connection already had its answer */
    c->relay = NULL;
    if (code == 0)
        c->s->forwards_ok++;
    else
        c->s->forwards_failed++;
    if (code == 0 && nonce != NULL) return reply_nonce(c, nonce, nlen);
    fo_agent_conn_reply(c, code, code != 0 ? error : NULL, NULL);
}

static void link_timer_cb(uv_timer_t *t);

/* Arms the timer for the first deadline, or the idle close of an open connection. */
static void link_rearm(struct agent_relay_link *l)
{
    uint64_t now = uv_now(l->s->loop), at = l->last_used + RELAY_IDLE_MS;
    struct agent_relay_call *x;

    if (l->closing) return;
    uv_timer_stop(&l->timer);
    if (l->tls == NULL && l->head == NULL) return;
    for (x = l->head; x != NULL; x = x->next)
        if (x->deadline < at) at = x->deadline;
    uv_timer_start(&l->timer, link_timer_cb, at > now ? at - now : 0, 0);
}

static void link_timer_cb(uv_timer_t *t)
{
    struct agent_relay_link *l = t->data;
    uint64_t now = uv_now(l->s->loop);
    char why[FO_ERRLEN];

    if (l->head != NULL && l->head->deadline <= now) {
        snprintf(why, sizeof why, "agent %s:%u did not answer in time", l->host, l->port);
        return link_fail(l, FO_ETIMEDOUT, why);
    }
    if (l->head == NULL && l->tls != NULL && now >= l->last_used + RELAY_IDLE_MS) {
        fo_tls_conn_close(l->tls); /* idle; its on_close finds no call */
        return;
    }
    link_rearm(l);
}

static void link_flush(struct agent_relay_link *l)
{
    struct agent_relay_call *x;
    char why[FO_ERRLEN];

    if (!l->open) return;
    for (x = l->head; x != NULL; x = x->next) {
        if (x->sent) continue;
        if (fo_tls_conn_write(l->tls, x->frame, x->flen, NULL, NULL) != 0) {
            snprintf(why, sizeof why, "agent %s:%u: write failed", l->host, l->port);
            return link_fail(l, FO_EIO, why);
        }
        x->sent = true;
    }
}

/* Every call fails with why; the connection is closed (its on_close frees nothing). */
static void link_fail(struct agent_relay_link *l, int status, const char *why)
{
    struct agent_relay_call *x = l->head, *next;
    char reason[FO_ERRLEN];

    snprintf(reason, sizeof reason, "%s", why);
    if (l->tls != NULL) fo_tls_conn_close(l->tls);
    l->open = false;
    /* Detached first: an answer below may start the waiting connection's next request,
     * which may queue a call here again (it then fails when the close completes). */
    l->head = NULL;
    l->n = 0;
    for (; x != NULL; x = next) {
        next = x->next;
        call_done(x, status, reason, NULL, 0);
    }
    link_rearm(l);
}

static void link_input(struct agent_relay_link *l, const uint8_t *bytes, size_t n)
{
    Fo__Agent__AgentResponse *r;
    struct agent_relay_call *x;
    struct fo_frame f;
    char err[FO_ERRLEN], why[FO_ERRLEN];
    int rc;

    if (fo_frame_decoder_feed(&l->dec, bytes, n) != 0) {
        snprintf(why, sizeof why, "agent %s:%u: bad input", l->host, l->port);
        return link_fail(l, FO_EPROTO, why);
    }
    while ((rc = fo_frame_decoder_next(&l->dec, &f, err)) != FO_EAGAIN) {
        r = rc == 0 && f.type == FO_FRAME_RESPONSE ? fo__agent__agent_response__unpack(NULL, f.len, f.payload) : NULL;
        x = l->head;
        if (r == NULL || x == NULL || !x->sent || r->id != x->id) {
            if (r != NULL) fo__agent__agent_response__free_unpacked(r, NULL);
            snprintf(why, sizeof why, "agent %s:%u: unexpected or undecodable response", l->host, l->port);
            return link_fail(l, FO_EPROTO, why);
        }
        l->head = x->next;
        l->n--;
        if (x->want_nonce && r->code == 0 && r->nonce.len != FO_LEASE_NONCE_LEN)
            call_done(x, FO_EPROTO, "the holder's agent answered without a nonce", NULL, 0);
        else
            call_done(x, r->code, r->error, x->want_nonce ? r->nonce.data : NULL, r->nonce.len);
        fo__agent__agent_response__free_unpacked(r, NULL);
        if (l->tls == NULL) return; /* a reply closed things down */
    }
    link_rearm(l);
}

static void maybe_free_link(struct agent_relay_link *l);

static void link_tls_handshake(void *data, struct fo_tls_conn *t)
{
    struct agent_relay_link *l = data;

    (void)t;
    l->open = true;
    link_flush(l);
}

static void link_tls_read(void *data, struct fo_tls_conn *t, const uint8_t *bytes, size_t n)
{
    (void)t;
    link_input(data, bytes, n);
}

static void link_tls_close(void *data, int status, const char *reason)
{
    struct agent_relay_link *l = data;
    struct fo_agent_server *s = l->s;
    char why[FO_ERRLEN];

    l->tls = NULL;
    l->open = false;
    if (l->head != NULL) {
        snprintf(why, sizeof why, "agent %s:%u: %.150s", l->host, l->port, reason);
        link_fail(l, status == FO_ECANCELED ? FO_ECLOSED : status, why);
    }
    if (l->closing) maybe_free_link(l);
    fo_agent_server_unref(s);
}

static int link_connect(struct agent_relay_link *l, char *err)
{
    struct fo_tls_conn_cbs cbs = {link_tls_handshake, link_tls_read, link_tls_close, l};
    struct sockaddr_storage ss;
    int rc;

    if (uv_ip4_addr(l->host, l->port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(l->host, l->port, (struct sockaddr_in6 *)&ss) != 0)
        return fo_errf(err, FO_EINVAL, "relay target %s is not an IP address", l->host);
    if ((rc = fo_tls_conn_new(l->s->peer_tls, l->s->loop, &cbs, &l->tls, err)) != 0) return rc;
    l->s->refs++;
    fo_frame_decoder_close(&l->dec);
    fo_frame_decoder_init(&l->dec, RELAY_MAX_RESPONSE);
    /* The holder's certificate must name the address dialled (tls.h), as agentc checks
     * every agent it talks to. */
    if ((rc = fo_tls_conn_connect(l->tls, (struct sockaddr *)&ss, NULL, err)) != 0) {
        fo_tls_conn_close(l->tls); /* on_close follows */
        return rc;
    }
    return 0;
}

static void link_timer_closed(uv_handle_t *h)
{
    struct agent_relay_link *l = h->data;

    l->timer_open = false;
    maybe_free_link(l);
}

static void maybe_free_link(struct agent_relay_link *l)
{
    struct fo_agent_server *s = l->s;

    if (l->tls != NULL || l->timer_open) return;
    fo_frame_decoder_close(&l->dec);
    free(l);
    fo_agent_server_unref(s);
}

static struct agent_relay_link *link_get(struct fo_agent_server *s, const char *host, uint16_t port, char *err)
{
    struct agent_relay_link *l;

    for (l = s->links; l != NULL; l = l->next)
        if (l->port == port && strcmp(l->host, host) == 0) return l;
    if (strlen(host) >= sizeof l->host) return fo_errf(err, FO_EINVAL, "relay target too long"), NULL;
    if (s->n_links >= FO_AGENT_MAX_RELAY_LINKS)
        return fo_errf(err, FO_EBUSY, "already relaying to %u hosts", s->n_links), NULL;
    if ((l = calloc(1, sizeof *l)) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory"), NULL;
    l->s = s;
    snprintf(l->host, sizeof l->host, "%s", host);
    l->port = port;
    fo_frame_decoder_init(&l->dec, RELAY_MAX_RESPONSE);
    uv_timer_init(s->loop, &l->timer);
    l->timer.data = l;
    l->timer_open = true;
    s->refs++;
    l->next = s->links;
    s->links = l;
    s->n_links++;
    return l;
}

/* Sends inner (its id is set here) to host:port on behalf of c, which waits. */
static void forward(struct agent_conn *c, const char *host, uint32_t port, Fo__Agent__AgentRequest *inner,
                    bool want_nonce)
{
    struct fo_agent_server *s = c->s;
    struct agent_relay_link *l;
    struct agent_relay_call *x, **pp;
    char err[FO_ERRLEN];
    uint8_t *payload;
    size_t len;
    int rc;

    if (s->peer_tls == NULL) return relay_refuse(c, "relay", FO_EPERM, "relays need TLS (insecure = yes)");
    if (port == 0 || port > 65535 || strlen(host) >= INET6_ADDRSTRLEN)
        return relay_refuse(c, "relay", FO_EINVAL, "bad relay target");
    if ((l = link_get(s, host, (uint16_t)port, err)) == NULL) return relay_refuse(c, "relay", FO_EINVAL, err);
    if (l->n >= RELAY_MAX_QUEUE) return relay_refuse(c, "relay", FO_EBUSY, "too many relays waiting on that agent");
    if ((x = calloc(1, sizeof *x)) == NULL) return relay_refuse(c, "relay", FO_ENOMEM, "out of memory");
    inner->id = x->id = ++l->next_id;
    len = fo__agent__agent_request__get_packed_size(inner);
    payload = malloc(len ? len : 1);
    rc = payload == NULL ? FO_ENOMEM : 0;
    if (rc == 0) {
        fo__agent__agent_request__pack(inner, payload);
        rc = fo_frame_encode(FO_FRAME_REQUEST, payload, len, &x->frame, &x->flen);
    }
    free(payload);
    if (rc != 0) {
        free(x);
        return relay_refuse(c, "relay", rc, "cannot encode the request");
    }
    if (l->tls == NULL && (rc = link_connect(l, err)) != 0) {
        free(x->frame);
        free(x);
        return relay_refuse(c, "relay", rc == FO_EINVAL ? FO_EINVAL : FO_EUNREACHABLE, err);
    }
    x->link = l;
    x->c = c;
    x->want_nonce = want_nonce;
    x->deadline = uv_now(s->loop) + RELAY_TIMEOUT_MS;
    for (pp = &l->head; *pp != NULL; pp = &(*pp)->next) {
    }
    *pp = x;
    l->n++;
    l->last_used = uv_now(s->loop);
    c->relay = x;
    link_flush(l);
    link_rearm(l);
}

static void do_relay_nonce(struct agent_conn *c, const Fo__Agent__RelayNonce *m)
{
    Fo__Agent__AgentRequest inner = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__LeaseNonce ln = FO__AGENT__LEASE_NONCE__INIT;

    ln.cluster = m->cluster;
    inner.body_case = FO__AGENT__AGENT_REQUEST__BODY_LEASE_NONCE;
    inner.lease_nonce = &ln;
    forward(c, m->host, m->port, &inner, true);
}

static void do_forward_renew(struct agent_conn *c, Fo__Agent__RelayRenew *m)
{
    Fo__Agent__AgentRequest inner = FO__AGENT__AGENT_REQUEST__INIT;
    char *host = m->host; /* owned by the request */
    uint32_t port = m->port;

    m->host = (char *)""; /* the holder does not need where it is */
    m->port = 0;
    inner.body_case = FO__AGENT__AGENT_REQUEST__BODY_RELAY_RENEW;
    inner.relay_renew = m;
    forward(c, host, port, &inner, false);
    m->host = host;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

void fo_agent_relay_dispatch(struct agent_conn *c, Fo__Agent__AgentRequest *req)
{
    bool from_agent = c->role == FO_TLS_ROLE_AGENT;

    if (c->s->cfg->insecure) {
        relay_refuse(c, "relay RPC", FO_EPERM, "relayed renewals need TLS (insecure = yes)");
    } else if (req->body_case == FO__AGENT__AGENT_REQUEST__BODY_LEASE_NONCE) {
        do_lease_nonce(c, req->lease_nonce);
    } else if (req->body_case == FO__AGENT__AGENT_REQUEST__BODY_RELAY_RENEW && from_agent) {
        do_relayed_renew(c, req->relay_renew);
    } else if (req->body_case == FO__AGENT__AGENT_REQUEST__BODY_RELAY_RENEW) {
        do_forward_renew(c, req->relay_renew);
    } else if (from_agent) {
        relay_refuse(c, "RelayNonce", FO_EPERM, "an agent may not ask for relays");
    } else {
        do_relay_nonce(c, req->relay_nonce);
    }
    fo__agent__agent_request__free_unpacked(req, NULL);
}

void fo_agent_relay_cancel(struct agent_conn *c)
{
    struct agent_relay_call *x = c->relay;

    if (x == NULL) return;
    /* The call stays queued (its answer must still be read in order) but answers
     * nobody; the connection gets its answer now. */
    x->c = NULL;
    c->relay = NULL;
    fo_agent_conn_reply(c, FO_ECANCELED, "cancelled", NULL);
}

void fo_agent_relay_stop(struct fo_agent_server *s)
{
    struct agent_relay_link *l, *next;

    for (l = s->links; l != NULL; l = next) {
        next = l->next;
        l->closing = true;
        link_fail(l, FO_ECANCELED, "agent is shutting down");
        uv_close((uv_handle_t *)&l->timer, link_timer_closed);
    }
    s->links = NULL;
    s->n_links = 0;
}

void fo_agent_relay_metrics(struct fo_agent_server *s, struct fo_buf *b)
{
    struct fo_prom_label l;
    unsigned i;

    fo_prom_family(b, "failoverd_agent_relayed_renewals_total", "counter",
                   "relayed lease renewals judged by this agent (the holder), by result");
    for (i = 0; i < FO_RELAY_RESULT_N; i++) {
        l = (struct fo_prom_label){"result", result_names[i]};
        fo_prom_value(b, "failoverd_agent_relayed_renewals_total", &l, 1, (double)s->relayed[i]);
    }
    fo_prom_family(b, "failoverd_agent_relay_nonces_total", "counter", "nonces issued for relayed renewals");
    fo_prom_value(b, "failoverd_agent_relay_nonces_total", NULL, 0, (double)s->nonces_issued);
    fo_prom_family(b, "failoverd_agent_relay_forwards_total", "counter",
                   "RelayNonce / RelayRenew forwarded to a holder's agent for the leader, by result");
    l = (struct fo_prom_label){"result", "ok"};
    fo_prom_value(b, "failoverd_agent_relay_forwards_total", &l, 1, (double)s->forwards_ok);
    l = (struct fo_prom_label){"result", "failed"};
    fo_prom_value(b, "failoverd_agent_relay_forwards_total", &l, 1, (double)s->forwards_failed);
}
