/* failover-agent RPC server: transport, frames and life cycle. The contract is in
 * server.h; what each RPC does is in rpc.c. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/server_internal.h"
#include "common/log.h"

#define MOD "agent"

/* ---- life cycle of the server ------------------------------------------------------ */

static void maybe_done(struct fo_agent_server *s)
{
    fo_agent_server_closed_cb cb;
    void *data;

    if (!s->stopping || s->refs != 0) return;
    cb = s->closed_cb;
    data = s->closed_data;
    fo_epoch_close(s->epochs);
    uv_mutex_destroy(&s->epoch_mu);
    fo_tls_ctx_free(s->tls);
    fo_tls_ctx_free(s->peer_tls);
    free(s);
    if (cb) cb(data);
}

void fo_agent_server_unref(struct fo_agent_server *s)
{
    s->refs--;
    maybe_done(s);
}

static void handle_closed(uv_handle_t *h)
{
    fo_agent_server_unref(h->data);
}

/* ---- connections ------------------------------------------------------------------- */

static void conn_maybe_free(struct agent_conn *c)
{
    struct fo_agent_server *s = c->s;

    if (!c->dead || c->busy) return;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    fo_frame_decoder_close(&c->dec);
    free(c);
    fo_agent_server_unref(s);
}

static void conn_close(struct agent_conn *c)
{
    if (c->closing) return;
    c->closing = true;
    fo_agent_rpc_cancel(c);
    if (c->tls) fo_tls_conn_close(c->tls);
}

static int conn_write(struct agent_conn *c, const uint8_t *bytes, size_t n)
{
    if (c->closing) return FO_ECLOSED;
    return fo_tls_conn_write(c->tls, bytes, n, NULL, NULL);
}

static void conn_pause(struct agent_conn *c, bool pause)
{
    if (c->closing) return;
    if (pause)
        fo_tls_conn_read_stop(c->tls);
    else
        fo_tls_conn_read_start(c->tls);
}

static void bad_frame(struct agent_conn *c, const char *why)
{
    c->s->m.refused[FO_AGENT_REFUSE_BAD_FRAME]++;
    FO_WARN(MOD, "closing connection from %s: %s", c->peer, why);
    conn_close(c);
}

/* Handles the buffered frames, one request at a time. */
static void process(struct agent_conn *c)
{
    struct fo_frame f;
    char err[FO_ERRLEN];
    Fo__Agent__AgentRequest *req;
    int rc;

    while (!c->busy && !c->closing) {
        rc = fo_frame_decoder_next(&c->dec, &f, err);
        if (rc == FO_EAGAIN) return;
        if (rc != 0) return bad_frame(c, err);
        if (f.type != FO_FRAME_REQUEST) return bad_frame(c, "frame is not a request");
        req = fo__agent__agent_request__unpack(NULL, f.len, f.payload);
        if (req == NULL) return bad_frame(c, "payload is not an AgentRequest");
        c->busy = true;
        c->req_id = req->id;
        conn_pause(c, true);
        fo_agent_rpc_dispatch(c, req);
    }
}

static void conn_input(struct agent_conn *c, const uint8_t *bytes, size_t n)
{
    char err[FO_ERRLEN];

    if (c->closing) return;
    if (fo_frame_decoder_feed(&c->dec, bytes, n) != 0) {
        snprintf(err, sizeof err, "%s", c->dec.err[0] ? c->dec.err : "cannot buffer input");
        return bad_frame(c, err);
    }
    process(c);
}

void fo_agent_conn_reply(struct agent_conn *c, int code, const char *error, Fo__Agent__AgentStatus *status)
{
    Fo__Agent__AgentResponse r = FO__AGENT__AGENT_RESPONSE__INIT;

    r.code = code;
    r.error = (char *)(error ? error : "");
    r.status = status;
    fo_agent_conn_respond(c, &r);
}

void fo_agent_conn_respond(struct agent_conn *c, Fo__Agent__AgentResponse *r)
{
    uint8_t *payload, *frame;
    size_t len, flen;
    int code = r->code;

    c->busy = false;
    if (c->closing) {
        conn_maybe_free(c);
        return;
    }
    r->id = c->req_id;
    if (r->error == NULL) r->error = (char *)"";
    len = fo__agent__agent_response__get_packed_size(r);
    payload = malloc(len ? len : 1);
    if (payload == NULL) return conn_close(c);
    fo__agent__agent_response__pack(r, payload);
    if (fo_frame_encode(FO_FRAME_RESPONSE, payload, len, &frame, &flen) != 0) {
        free(payload);
        return conn_close(c);
    }
    free(payload);
    if (conn_write(c, frame, flen) != 0) {
        free(frame);
        return conn_close(c);
    }
    free(frame);
    if (code == 0) c->s->m.rpcs[c->rpc]++;
    conn_pause(c, false);
    process(c);
}

void fo_agent_conn_refuse(struct agent_conn *c, enum fo_agent_refuse why, int code, const char *error)
{
    c->s->m.refused[why]++;
    FO_WARN(MOD, "refused %s from %s (%s): %s", fo_agent_rpc_name(c->rpc), c->peer, fo_agent_refuse_name(why), error);
    fo_agent_conn_reply(c, code, error, NULL);
}

/* Transport callbacks (common/tls.h, TLS or plain) */
static void tls_handshake(void *data, struct fo_tls_conn *t)
{
    struct agent_conn *c = data;
    const char *cn = fo_tls_conn_peer_cn(t);

    c->open = true;
    c->role = fo_tls_conn_peer_role(t);
    /* Plain mode names nobody: the peer stays "(insecure)". */
    if (cn[0] != '\0') snprintf(c->peer, sizeof c->peer, "%s", cn);
    if (c->role == FO_TLS_ROLE_AGENT) {
        /* Other agents only relay renewals (docs/relayed-lease.md); a few connections
         * are plenty, and a host with an agent certificate must not take the slots the
         * controllers need. */
        if (c->s->n_peer_conns >= FO_AGENT_MAX_PEER_CONNS) {
            c->s->m.refused[FO_AGENT_REFUSE_UNAUTHENTICATED]++;
            FO_WARN(MOD, "closing connection from agent %s: %u agent connections already open", c->peer,
                    c->s->n_peer_conns);
            conn_close(c);
            return;
        }
        c->s->n_peer_conns++;
        c->peer_counted = true;
    }
    FO_DEBUG(MOD, "%s %s connected (%s)", c->role == FO_TLS_ROLE_AGENT ? "agent" : "controller", c->peer,
             fo_tls_conn_protocol(t));
}

static void tls_read(void *data, struct fo_tls_conn *t, const uint8_t *bytes, size_t n)
{
    (void)t;
    conn_input(data, bytes, n);
}

static void tls_close(void *data, int status, const char *reason)
{
    struct agent_conn *c = data;

    c->tls = NULL;
    c->closing = true;
    if (c->peer_counted) c->s->n_peer_conns--;
    c->peer_counted = false;
    if (status == FO_EPERM) {
        c->s->m.refused[FO_AGENT_REFUSE_UNAUTHENTICATED]++;
        FO_WARN(MOD, "refused peer: %s", reason);
    } else if (c->open && status != FO_ECANCELED && status != FO_ECLOSED) {
        FO_INFO(MOD, "connection from %s closed: %s", c->peer, reason);
    }
    /* Handshakes that time out or break off, and budget refusals, are counted and
     * logged (at most once a second) by the listener: a flood must not flood the log.
     * A cancelled request may answer at once; the connection is not dead yet, so
     * that answer cannot free it under us. */
    fo_agent_rpc_cancel(c);
    c->dead = true;
    conn_maybe_free(c);
}

/* A connection the listener's budgets admitted (common/listener.h): accepted, its
 * handshake started; the caps, the per-source limit and the handshake deadline are the
 * listener's. */
static int on_admitted(void *data, struct fo_tls_conn *t, const char *peer, struct fo_tls_conn_cbs *cbs)
{
    struct fo_agent_server *s = data;
    struct agent_conn *c;

    (void)peer;
    if (s->stopping || (c = calloc(1, sizeof *c)) == NULL) return -1;
    *cbs = (struct fo_tls_conn_cbs){tls_handshake, tls_read, tls_close, c};
    c->s = s;
    c->tls = t;
    c->accepted_ms = uv_now(s->loop); /* a lower bound on a sender's clock offset (docs/vip-lease-delay.md) */
    snprintf(c->peer, sizeof c->peer, "%s", s->cfg->insecure ? "(insecure)" : "(unauthenticated)");
    fo_frame_decoder_init(&c->dec, s->cfg->max_frame_bytes);
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->refs++;
    return 0;
}

/* ---- HTTP --------------------------------------------------------------------------- */

static int http_handler(void *data, const char *url, struct fo_buf *body, const char **content_type)
{
    struct fo_agent_server *s = data;

    if (strcmp(url, "/metrics") == 0) {
        *content_type = "text/plain; version=0.0.4; charset=utf-8";
        fo_agent_metrics_rows(s, body);
        fo_agent_relay_metrics(s, body);
        /* failoverd_agent_conn_refused_total{reason}, failoverd_agent_connections{pool} */
        fo_listener_metrics(s->listener, body, FO_AGENT_METRICS_PREFIX);
        return 200;
    }
    if (strcmp(url, "/health") == 0) {
        fo_buf_puts(body, "ok\n");
        return 200;
    }
    fo_buf_puts(body, "not found\n");
    return 404;
}

/* ---- start / stop ---------------------------------------------------------------------- */

static void listener_closed(void *data)
{
    fo_agent_server_unref(data);
}

/* The agent port's budgets (DESIGN.md §10, agent/config.h): only controllers are
 * accepted, so there is no reserve to keep for them beyond max_conns. */
static int listen_on(struct fo_agent_server *s, char *err)
{
    const struct fo_agent_config *cfg = s->cfg;
    struct fo_listener_limits lim = {
        .max_conns = cfg->max_conns,
        .max_unauth = cfg->max_unauth,
        .max_unauth_per_source = cfg->max_unauth_per_source,
        .handshake_ms = cfg->handshake_timeout_ms,
    };
    char host[FO_ADDR_LEN];
    struct sockaddr_storage ss;
    uint16_t port;
    int rc;

    if (fo_parse_hostport(cfg->listen, host, sizeof host, &port, err) != 0) return FO_ECONFIG;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
        return fo_errf(err, FO_ECONFIG, "listen %s: not an IP address", cfg->listen);
    if ((rc = fo_listener_start(&s->listener, s->loop, (struct sockaddr *)&ss, &lim, s->tls, MOD, on_admitted, s,
                                err)) != 0)
        return rc;
    s->refs++;
    return 0;
}

static void close_handles(struct fo_agent_server *s)
{
    unsigned i;

    if (s->listener != NULL) fo_listener_stop(s->listener, listener_closed, s);
    s->listener = NULL;
    for (i = 0; i < s->n_leases; i++) {
        struct agent_lease *e = &s->leases[i];
        if (e->arp) fo_arp_cancel(e->arp);
        uv_close((uv_handle_t *)&e->timer, handle_closed);
    }
}

/* One lease slot per configured VIP, cluster by cluster in config order (the config
 * bounds both counts, so the array always fits). */
static void init_leases(struct fo_agent_server *s)
{
    const struct fo_agent_config *cfg = s->cfg;
    unsigned i, j;

    for (i = 0; i < cfg->n_clusters; i++) {
        for (j = 0; j < cfg->clusters[i].n_vips; j++) {
            struct agent_lease *e;
            assert(s->n_leases < FO_AGENT_MAX_LEASES);
            e = &s->leases[s->n_leases++];
            e->s = s;
            e->cfg = &cfg->clusters[i];
            e->vip = &cfg->clusters[i].vips[j];
            fo_lease_init(&e->lease);
            uv_timer_init(s->loop, &e->timer);
            e->timer.data = s;
            s->refs++;
        }
    }
}

static void http_closed(void *data)
{
    fo_agent_server_unref(data);
}

/* The agent port's context: controllers, and other agents for relayed renewals only
 * (DESIGN.md §10, docs/relayed-lease.md: rpc.c refuses anything else from an agent),
 * from the files main loaded, else from cfg's paths; plain with insecure = yes. The
 * client context for relays dials other agents and accepts only agents. */
static int make_tls(struct fo_agent_server *s, struct fo_tls_files *files, char err[FO_ERRLEN])
{
    const struct fo_agent_config *cfg = s->cfg;
    const unsigned roles = FO_TLS_ROLE_CONTROLLER | FO_TLS_ROLE_AGENT;
    struct fo_tls_files *own = NULL;
    int rc;

    if (cfg->insecure) return fo_tls_ctx_new_plain(&s->tls, err);
    if (files == NULL && (rc = fo_tls_files_load(&own, cfg->ca_file, cfg->cert_file, cfg->key_file, err)) != 0)
        return rc;
    rc = fo_tls_ctx_from_files(&s->tls, files != NULL ? files : own, roles, err);
    if (rc == 0 && (rc = fo_tls_ctx_from_files(&s->peer_tls, files != NULL ? files : own, FO_TLS_ROLE_AGENT, err)) == 0)
        rc = fo_tls_ctx_set_handshake_timeout(s->peer_tls, 1000);
    fo_tls_files_free(own);
    if (rc != 0) {
        fo_tls_ctx_free(s->tls);
        fo_tls_ctx_free(s->peer_tls);
        s->tls = s->peer_tls = NULL;
    }
    return rc;
}

int fo_agent_server_start(struct fo_agent_server **out, uv_loop_t *loop, const struct fo_agent_config *cfg,
                          char err[FO_ERRLEN])
{
    return fo_agent_server_start_files(out, loop, cfg, NULL, err);
}

int fo_agent_server_start_files(struct fo_agent_server **out, uv_loop_t *loop, const struct fo_agent_config *cfg,
                                struct fo_tls_files *files, char err[FO_ERRLEN])
{
    struct fo_agent_server *s = calloc(1, sizeof *s);
    int rc;

    if (s == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    s->loop = loop;
    s->cfg = cfg;
    uv_mutex_init(&s->epoch_mu);
    if ((rc = fo_epoch_open(&s->epochs, cfg->state_dir, err)) != 0) goto err_after_alloc;
    if ((rc = make_tls(s, files, err)) != 0) goto err_after_epochs;
    init_leases(s);
    for (unsigned k = 0; k < FO_AGENT_MAX_CLUSTERS; k++) fo_lease_nonces_init(&s->nonces[k]);
    fo_agent_lease_remove_stale(s);
    if ((rc = listen_on(s, err)) != 0) goto err_after_handles;
    if (cfg->http_address[0] != '\0') {
        struct fo_http_limits hl = {cfg->http_max_conns, cfg->http_max_per_source, cfg->http_timeout_s};
        rc = fo_http_start_limited(&s->http, loop, cfg->http_address, &hl, http_handler, s, err);
        if (rc != 0) goto err_after_handles;
        s->refs++;
    }
    *out = s;
    return 0;

err_after_handles:
    /* The handles close on the next loop run; the caller runs the loop to finish. */
    s->stopping = true;
    close_handles(s);
    return rc;
err_after_epochs:
    fo_epoch_close(s->epochs);
err_after_alloc:
    uv_mutex_destroy(&s->epoch_mu);
    free(s);
    return rc;
}

void fo_agent_server_stop(struct fo_agent_server *s, fo_agent_server_closed_cb closed_cb, void *data)
{
    struct agent_conn *c, *next;

    s->stopping = true;
    s->closed_cb = closed_cb;
    s->closed_data = data;
    s->refs++; /* held until everything below has been started */
    close_handles(s);
    if (s->http) fo_http_stop(s->http, http_closed, s);
    s->http = NULL;
    fo_agent_ro_stop(s);
    fo_agent_relay_stop(s);
    fo_agent_salvage_drop(s);
    for (c = s->conns; c != NULL; c = next) {
        next = c->next;
        conn_close(c);
    }
    fo_agent_server_unref(s);
}
