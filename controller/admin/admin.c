#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/prom.h"
#include "controller/admin/admin_internal.h"
#include "controller/admin/rediscover.h"

#define MOD "admin"

/* ------------------------------------------------------------------ connections */

void fo_admin_maybe_free(struct fo_admin *a)
{
    if (!a->stopping || !a->server_closed || a->n_conns != 0 || a->n_calls != 0 || a->chan != NULL) return;
    fo_tls_ctx_free(a->server_tls);
    fo_tls_ctx_free(a->client_tls);
    free(a);
}

static void conn_release(struct aconn *c)
{
    struct fo_admin *a = c->admin;

    if (--c->refs > 0) return;
    fo_frame_decoder_close(&c->dec);
    a->n_conns--;
    free(c);
    fo_admin_maybe_free(a);
}

/* Takes c off the list of open connections; nothing is sent on it any more. */
static void conn_unlink(struct aconn *c)
{
    if (c->closing) return;
    c->closing = true;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        c->admin->conns = c->next;
    if (c->next != NULL) c->next->prev = c->prev;
}

/* The "open" reference is released by the transport's close callback, tls_closed
 * (it may also fire on its own when the peer fails the handshake or the connection
 * breaks). */
static void conn_close(struct aconn *c)
{
    if (c->closing) return;
    conn_unlink(c);
    if (c->tls != NULL) fo_tls_conn_close(c->tls);
}

static void bad_frame(struct aconn *c, const char *why)
{
    c->admin->ctl->counters.admin_bad_frames++;
    FO_WARN(MOD, "closing connection from %s: %s", c->peer, why);
    conn_close(c);
}

static void handle_frame(struct aconn *c, const struct fo_frame *f)
{
    struct areq *r;
    Fo__Request *req;

    if (f->type != FO_FRAME_REQUEST) {
        bad_frame(c, "frame is not a request");
        return;
    }
    req = fo__request__unpack(NULL, f->len, f->payload);
    if (req == NULL) {
        bad_frame(c, "undecodable request (protobuf)");
        return;
    }
    if (c->inflight >= FO_ADMIN_MAX_INFLIGHT) {
        fo__request__free_unpacked(req, NULL);
        bad_frame(c, "too many requests in progress on one connection");
        return;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        fo__request__free_unpacked(req, NULL);
        conn_close(c);
        return;
    }
    r->conn = c;
    r->ctl = c->admin->ctl;
    r->req = req;
    c->refs++;
    c->inflight++;
    c->admin->ctl->counters.admin_requests++;
    fo_admin_dispatch(r);
}

/* Plaintext from the client (decrypted already with TLS): frames -> requests. */
static void conn_input(struct aconn *c, const void *bytes, size_t n)
{
    struct fo_frame f;
    char err[FO_ERRLEN];
    int rc;

    if (n == 0 || c->closing) return;
    if (fo_frame_decoder_feed(&c->dec, bytes, n) != 0) {
        bad_frame(c, c->dec.err[0] ? c->dec.err : "decoder failure");
        return;
    }
    while (!c->closing && (rc = fo_frame_decoder_next(&c->dec, &f, err)) == 0) handle_frame(c, &f);
    if (!c->closing && rc != FO_EAGAIN) bad_frame(c, err);
}

/* ---- transport callbacks (common/tls.h, TLS or plain) */

static void tls_handshake(void *data, struct fo_tls_conn *t)
{
    struct aconn *c = data;
    size_t len = strlen(c->peer);
    unsigned role = fo_tls_conn_peer_role(t);

    c->authenticated = true;
    c->role = role;
    c->node_rc = fo_tls_conn_peer_node_id(t, &c->node_id);
    /* The address was recorded at accept; the CN (and the node id a controller
     * certificate binds) says who it is. Plain mode has no role and no CN: the address
     * alone. */
    if (role != 0 && c->node_rc == 0)
        snprintf(c->peer + len, sizeof(c->peer) - len, " (%s %s, node %llu)", fo_tls_role_name(role),
                 fo_tls_conn_peer_cn(t), (unsigned long long)c->node_id);
    else if (role != 0)
        snprintf(c->peer + len, sizeof(c->peer) - len, " (%s %s)", fo_tls_role_name(role), fo_tls_conn_peer_cn(t));
    FO_DEBUG(MOD, "admin connection from %s authenticated (%s)", c->peer, fo_tls_conn_protocol(t));
}

static void tls_read(void *data, struct fo_tls_conn *t, const uint8_t *bytes, size_t n)
{
    (void)t;
    conn_input(data, bytes, n);
}

/* The connection's last callback. A handshake that fails because the peer is not
 * authenticated (no certificate, another CA, a role that is not accepted: FO_EPERM)
 * or does not speak TLS at all (FO_EPROTO) is a refusal: logged and counted. */
static void tls_closed(void *data, int status, const char *reason)
{
    struct aconn *c = data;

    c->tls = NULL;
    if (!c->authenticated && (status == FO_EPERM || status == FO_EPROTO)) {
        c->admin->tls_refused++;
        FO_WARN(MOD, "admin TLS handshake refused: %s", reason);
    } else if (c->authenticated && status != FO_ECANCELED && status != FO_ECLOSED) {
        FO_INFO(MOD, "admin connection from %s closed: %s", c->peer, reason);
    } else {
        /* Handshakes that time out or break off are counted and logged (rate-limited)
         * by the listener: a flood of them must not flood the log. */
        FO_DEBUG(MOD, "admin connection from %s closed: %s", c->peer, reason);
    }
    conn_unlink(c);
    conn_release(c);
}

/* ---- accepting */

/* A connection the listener's budgets admitted (common/listener.h): the listener has
 * accepted it and started its handshake; caps, per-source limits and the handshake
 * deadline are its business. */
static int on_admitted(void *data, struct fo_tls_conn *t, const char *peer, struct fo_tls_conn_cbs *cbs)
{
    struct fo_admin *a = data;
    struct aconn *c;

    if (a->stopping || (c = calloc(1, sizeof(*c))) == NULL) return -1;
    *cbs = (struct fo_tls_conn_cbs){tls_handshake, tls_read, tls_closed, c};
    c->tls = t;
    c->admin = a;
    c->refs = 1;
    a->n_conns++;
    c->next = a->conns;
    if (a->conns != NULL) a->conns->prev = c;
    a->conns = c;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    fo_frame_decoder_init(&c->dec, a->ctl->cfg.max_frame_bytes);
    return 0;
}

/* ------------------------------------------------------------------ internal RPCs */

static const char *const refusal_label[FO_ADMIN_REFUSED_N] = {
    [FO_ADMIN_REFUSED_ROLE] = "role",
    [FO_ADMIN_REFUSED_NO_NODE_ID] = "no_node_id",
    [FO_ADMIN_REFUSED_NODE_MISMATCH] = "node_id_mismatch",
};

/* Counts, logs (once a second per reason, so that a peer flooding forged verdicts
 * cannot flood the log) and answers FO_EPERM. */
static void refuse_internal(struct areq *r, enum fo_admin_refusal why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void refuse_internal(struct areq *r, enum fo_admin_refusal why, const char *fmt, ...)
{
    struct fo_admin *a = r->conn->admin;
    uint64_t now = uv_now(r->ctl->loop);
    char msg[FO_ERRLEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    a->internal_refused[why]++;
    if (a->refusal_logged_ms[why] == 0 || now - a->refusal_logged_ms[why] >= 1000) {
        if (a->refusals_unlogged[why] > 0)
            FO_WARN(MOD, "refused from %s: %s (and %llu more like it since the last report)", r->conn->peer, msg,
                    (unsigned long long)a->refusals_unlogged[why]);
        else
            FO_WARN(MOD, "refused from %s: %s", r->conn->peer, msg);
        a->refusal_logged_ms[why] = now ? now : 1;
        a->refusals_unlogged[why] = 0;
    } else {
        a->refusals_unlogged[why]++;
    }
    areq_fail(r, FO_EPERM, "%s", msg);
}

int fo_admin_internal_peer(struct areq *r, const char *what, uint64_t claimed, uint64_t *node)
{
    struct aconn *c = r->conn;

    *node = 0;
    /* insecure = yes: no certificate, so the id is only claimed (README, admin.h). */
    if (r->ctl->cfg.tls.insecure) {
        *node = claimed;
        return 0;
    }
    if (c->role != FO_TLS_ROLE_CONTROLLER)
        return refuse_internal(r, FO_ADMIN_REFUSED_ROLE, "a %s needs a controller certificate, not a %s one", what,
                               fo_tls_role_name(c->role)),
               -1;
    if (c->node_rc != 0)
        return refuse_internal(r, FO_ADMIN_REFUSED_NO_NODE_ID, "a %s needs a node id bound to the certificate: %s",
                               what, fo_tls_node_id_why(c->node_rc)),
               -1;
    if (claimed != c->node_id)
        return refuse_internal(r, FO_ADMIN_REFUSED_NODE_MISMATCH,
                               "%s in the name of node %llu, but the certificate is node %llu's", what,
                               (unsigned long long)claimed, (unsigned long long)c->node_id),
               -1;
    *node = c->node_id;
    return 0;
}

/* ------------------------------------------------------------------ replies */

void *areq_alloc(struct areq *r, size_t size)
{
    void *p;

    if (r->n_owned == r->cap_owned) {
        unsigned ncap = r->cap_owned ? r->cap_owned * 2 : 32;
        void **np = realloc(r->owned, ncap * sizeof(void *));
        if (np == NULL) return NULL;
        r->owned = np;
        r->cap_owned = ncap;
    }
    if ((p = calloc(1, size ? size : 1)) == NULL) return NULL;
    r->owned[r->n_owned++] = p;
    return p;
}

int areq_list_push(struct areq_list *l, void *item)
{
    void **p;

    if (item == NULL) return l->oom = true, 1;
    if (l->n == l->cap) {
        unsigned ncap = l->cap ? l->cap * 2 : 16;
        if ((p = areq_alloc(l->r, ncap * sizeof(void *))) == NULL) return l->oom = true, 1;
        if (l->n) memcpy(p, l->items, l->n * sizeof(void *));
        l->items = p;
        l->cap = ncap;
    }
    l->items[l->n++] = item;
    return 0;
}

char *areq_strdup(struct areq *r, const char *s)
{
    size_t n = strlen(s ? s : "");
    char *p = areq_alloc(r, n + 1);

    if (p == NULL) return "";
    memcpy(p, s ? s : "", n);
    return p;
}

static void send_frame(struct aconn *c, const uint8_t *payload, size_t len)
{
    uint8_t *out;
    size_t outlen;

    if (c->closing || c->tls == NULL) return;
    if (fo_frame_encode(FO_FRAME_RESPONSE, payload, len, &out, &outlen) != 0) {
        conn_close(c);
        return;
    }
    /* Copied (and encrypted) before this returns; a failure closes the connection. */
    if (fo_tls_conn_write(c->tls, out, outlen, NULL, NULL) != 0) conn_close(c);
    free(out);
}

static void areq_free(struct areq *r)
{
    unsigned i;

    for (i = 0; i < r->n_owned; i++) free(r->owned[i]);
    free(r->owned);
    if (r->req != NULL) fo__request__free_unpacked(r->req, NULL);
    r->conn->inflight--;
    conn_release(r->conn);
    free(r);
}

void areq_reply(struct areq *r, Fo__Response *in)
{
    struct fo_ctl *ctl = r->ctl;
    Fo__Response copy = *in; /* in may belong to an unpacked message: never mutate it */
    Fo__Response *resp = &copy;
    char addr_buf[FO_ADDR_LEN];
    const char *addr;
    uint8_t *buf;
    size_t len;

    if (resp->leader_id == 0) {
        resp->leader_id = fo_raft_leader(&ctl->raft, NULL);
        addr = resp->leader_id ? fo_ctl_admin_address(ctl, resp->leader_id, addr_buf) : NULL;
        resp->leader_admin_address = areq_strdup(r, addr ? addr : "");
    }
    if (resp->served_by == 0) resp->served_by = ctl->cfg.node_id;
    if (resp->applied_index == 0) resp->applied_index = raft_last_applied(&ctl->raft.raft);
    len = fo__response__get_packed_size(resp);
    if ((buf = malloc(len ? len : 1)) != NULL) {
        fo__response__pack(resp, buf);
        send_frame(r->conn, buf, len);
        free(buf);
    } else {
        conn_close(r->conn);
    }
    areq_free(r);
}

void areq_fail(struct areq *r, int code, const char *fmt, ...)
{
    char msg[FO_ERRLEN];
    Fo__Response resp;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fo__response__init(&resp);
    resp.code = code;
    resp.error = msg;
    areq_reply(r, &resp);
}

/* ------------------------------------------------------------------ server */

/* The admin port's budgets (DESIGN.md §10, [limits]): failoverctl and the other
 * controllers share max_conns; controller certificates have a reserve of their own on
 * top, so that no stranger and no client certificate can starve the followers'
 * verdicts and forwarded writes; and connections from the [peer] addresses get
 * handshake slots that a flood of strangers cannot take. */
static void admin_limits(const struct fo_config *cfg, struct fo_listener_limits *lim)
{
    const struct fo_limits_cfg *l = &cfg->limits;

    *lim = (struct fo_listener_limits){
        .max_conns = l->admin_max_conns,
        .reserved = l->admin_reserved_conns,
        .reserved_roles = FO_TLS_ROLE_CONTROLLER,
        .max_unauth = l->max_unauth,
        .max_unauth_per_source = l->max_unauth_per_source,
        .trusted_unauth = l->trusted_unauth,
        .handshake_ms = l->handshake_timeout_ms,
    };
}

/* The other controllers' addresses, from the [peer] sections (raft and admin). */
static void trust_peers(struct fo_admin *a)
{
    const struct fo_config *cfg = &a->ctl->cfg;
    char hosts[2 * FO_MAX_PEERS][FO_HOST_LEN];
    const char *ips[2 * FO_MAX_PEERS];
    char err[FO_ERRLEN];
    uint16_t port;
    unsigned i, n = 0;

    for (i = 0; i < cfg->n_peers; i++) {
        if (fo_parse_hostport(cfg->peers[i].admin_address, hosts[n], FO_HOST_LEN, &port, err) == 0)
            ips[n] = hosts[n], n++;
        if (fo_parse_hostport(cfg->peers[i].raft_address, hosts[n], FO_HOST_LEN, &port, err) == 0)
            ips[n] = hosts[n], n++;
    }
    fo_listener_set_trusted(a->listener, ips, n);
}

/* Binds and listens through common/listener.h. On error a is freed. */
static int listen_on(struct fo_admin *a, const char *address, char err[FO_ERRLEN])
{
    struct fo_listener_limits lim;
    struct sockaddr_storage ss;
    char host[FO_HOST_LEN];
    uint16_t port;
    int rc;

    if ((rc = fo_parse_hostport(address, host, sizeof(host), &port, err)) != 0) goto err_after_alloc;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
        rc = fo_errf(err, FO_EINVAL, "admin_address %s: host must be an IP address", address);
        goto err_after_alloc;
    }
    admin_limits(&a->ctl->cfg, &lim);
    if ((rc = fo_listener_start(&a->listener, a->ctl->loop, (struct sockaddr *)&ss, &lim, a->server_tls, MOD,
                                on_admitted, a, err)) != 0)
        goto err_after_alloc;
    trust_peers(a);
    return 0;

err_after_alloc:
    fo_tls_ctx_free(a->server_tls);
    fo_tls_ctx_free(a->client_tls);
    free(a);
    return rc;
}

/* Outgoing bytes a TLS connection may hold: the server's answers can be as large as
 * a client accepts (FO_FRAME_RESPONSE_MAX), with room for a second one behind it; a
 * forwarded request is at most max_frame_bytes. */
#define SERVER_TLS_PENDING ((size_t)FO_FRAME_RESPONSE_MAX * 2)

static size_t client_tls_pending(const struct fo_config *cfg)
{
    size_t n = (size_t)cfg->max_frame_bytes + 65536;

    return n > FO_TLS_MAX_PENDING ? n : FO_TLS_MAX_PENDING;
}

/* One context with its output bound: from the [tls] files main loaded (ctl.h,
 * tls_files), accepting roles, or a plain one with insecure = yes. */
static int new_ctx(const struct fo_config *cfg, struct fo_tls_files *files, unsigned roles, size_t pending,
                   struct fo_tls_ctx **out, char err[FO_ERRLEN])
{
    int rc;

    rc = cfg->tls.insecure ? fo_tls_ctx_new_plain(out, err) : fo_tls_ctx_from_files(out, files, roles, err);
    if (rc != 0) return rc;
    if ((rc = fo_tls_ctx_set_max_pending(*out, pending)) != 0) {
        fo_tls_ctx_free(*out);
        *out = NULL;
        return fo_errf(err, rc, "TLS: cannot set the output bound");
    }
    return 0;
}

/* Makes both contexts from the same loaded files (DESIGN.md §1: failoverctl and the
 * other controllers talk to the admin RPC; the leader is reached as a controller). */
static int make_contexts(const struct fo_config *cfg, struct fo_tls_files *files, struct fo_tls_ctx **server,
                         struct fo_tls_ctx **client, char err[FO_ERRLEN])
{
    int rc;

    *server = *client = NULL;
    if ((rc = new_ctx(cfg, files, FO_TLS_ROLE_CLIENT | FO_TLS_ROLE_CONTROLLER, SERVER_TLS_PENDING, server, err)) != 0)
        return rc;
    if ((rc = new_ctx(cfg, files, FO_TLS_ROLE_CONTROLLER, client_tls_pending(cfg), client, err)) != 0) {
        fo_tls_ctx_free(*server);
        *server = NULL;
        return rc;
    }
    return 0;
}

/* A standalone check for a caller without loaded files; failoverd's main loads the
 * files once itself and checks them with fo_tls_files_check_node, as this does. */
int fo_admin_check_tls(const struct fo_config *cfg, char err[FO_ERRLEN])
{
    struct fo_tls_files *files;
    int rc;

    if (cfg->tls.insecure) return 0;
    if ((rc = fo_tls_files_load(&files, cfg->tls.ca_file, cfg->tls.cert_file, cfg->tls.key_file, err)) != 0) return rc;
    rc = fo_tls_files_check_node(files, cfg->node_id, cfg->tls.cert_file, err);
    fo_tls_files_free(files);
    return rc;
}

int fo_admin_start(struct fo_ctl *ctl, char err[FO_ERRLEN])
{
    struct fo_admin *a = calloc(1, sizeof(*a));
    int rc;

    /* Rooms below admin reach other controllers through the node context (ctl.h). */
    ctl->hooks.call = fo_admin_call;
    if (a == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    a->ctl = ctl;
    /* From the files main loaded and checked before anything started: no file is read
     * here. The node id check costs nothing and keeps a node that speaks for another
     * node's id off the admin port whoever started it. */
    if ((rc = make_contexts(&ctl->cfg, ctl->tls_files, &a->server_tls, &a->client_tls, err)) != 0) {
        free(a);
        return rc;
    }
    if (!ctl->cfg.tls.insecure &&
        (rc = fo_tls_files_check_node(ctl->tls_files, ctl->cfg.node_id, ctl->cfg.tls.cert_file, err)) != 0) {
        fo_tls_ctx_free(a->server_tls);
        fo_tls_ctx_free(a->client_tls);
        free(a);
        return rc;
    }
    if ((rc = listen_on(a, ctl->cfg.admin_address, err)) != 0) return rc;
    if (ctl->cfg.tls.insecure)
        FO_WARN(MOD,
                "admin RPC without TLS (insecure = yes): failoverctl and the other controllers are neither "
                "authenticated nor encrypted on %s, and the node id in a verdict or proposal is only claimed, "
                "never bound to a certificate; use this only for tests",
                ctl->cfg.admin_address);
    else
        FO_INFO(MOD, "admin RPC on %s with mutual TLS (CA %s, certificate %s)", ctl->cfg.admin_address,
                ctl->cfg.tls.ca_file, ctl->cfg.tls.cert_file);
    ctl->admin = a;
    /* Periodic rediscovery (issue 14.2): a timer that acts only while this node leads. */
    if ((rc = fo_rediscover_start(&a->redisc, ctl, err)) != 0) FO_WARN(MOD, "rediscovery not started: %s", err);
    return 0;
}

uint64_t fo_admin_tls_refused(const struct fo_ctl *ctl)
{
    return ctl->admin != NULL ? ctl->admin->tls_refused : 0;
}

/* Outgoing connections to other controllers' admin ports: with TLS each is a full
 * handshake, which the leader channel exists to avoid (admin_call.c). */
static void client_metrics(const struct fo_admin *a, struct fo_buf *b)
{
    static const char *const kinds[FO_ADMIN_CLIENT_N] = {"leader", "per_call"};
    struct fo_prom_label l;
    unsigned i;

    fo_prom_family(b, "failoverd_admin_client_connects_total", "counter",
                   "Connections this node opened to another controller's admin port (a TLS handshake each, "
                   "unless insecure): kind=leader (the persistent verdict connection to the leader), per_call "
                   "(forwarded requests and proposals).");
    for (i = 0; i < FO_ADMIN_CLIENT_N; i++) {
        l = (struct fo_prom_label){"kind", kinds[i]};
        fo_prom_value(b, "failoverd_admin_client_connects_total", &l, 1, a != NULL ? (double)a->client_connects[i] : 0);
    }
    fo_prom_family(b, "failoverd_admin_client_handshakes_total", "counter",
                   "Of those connections, the ones that were established (authenticated), by kind.");
    for (i = 0; i < FO_ADMIN_CLIENT_N; i++) {
        l = (struct fo_prom_label){"kind", kinds[i]};
        fo_prom_value(b, "failoverd_admin_client_handshakes_total", &l, 1,
                      a != NULL ? (double)a->client_handshakes[i] : 0);
    }
}

void fo_admin_metrics(struct fo_ctl *ctl, struct fo_buf *b)
{
    struct fo_prom_label l;
    unsigned i;

    fo_prom_family(b, "failoverd_admin_internal_refused_total", "counter",
                   "Internal admin RPCs (verdicts, proposals, member notes) refused: reason=role (not a controller "
                   "certificate), no_node_id (its certificate binds none), node_id_mismatch (it spoke for another "
                   "node).");
    for (i = 0; i < FO_ADMIN_REFUSED_N; i++) {
        l = (struct fo_prom_label){"reason", refusal_label[i]};
        fo_prom_value(b, "failoverd_admin_internal_refused_total", &l, 1,
                      ctl->admin != NULL ? (double)ctl->admin->internal_refused[i] : 0);
    }
    client_metrics(ctl->admin, b);
    fo_rediscover_metrics(ctl->admin != NULL ? ctl->admin->redisc : NULL, b);
    /* failoverd_admin_conn_refused_total{reason}, failoverd_admin_connections{pool} */
    fo_listener_metrics(ctl->admin != NULL ? ctl->admin->listener : NULL, b, "failoverd_admin");
}

static void listener_closed(void *data)
{
    struct fo_admin *a = data;

    a->server_closed = true;
    fo_admin_maybe_free(a);
}

void fo_admin_stop(struct fo_ctl *ctl)
{
    struct fo_admin *a = ctl->admin;

    if (a == NULL) return;
    ctl->admin = NULL;
    a->stopping = true;
    fo_rediscover_stop(a->redisc); /* frees itself once its walks and timer are done */
    a->redisc = NULL;
    fo_admin_cancel_calls(a);
    while (a->conns != NULL) conn_close(a->conns);
    fo_listener_stop(a->listener, listener_closed, a);
}
