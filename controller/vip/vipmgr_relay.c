/* Relayed renewals of the writer VIP's lease (DESIGN.md §7, issue 11 item 3,
 * docs/relayed-lease.md for the safety argument).
 *
 * When the leader cannot reach the holder's agent (A_p) but the holder is still the
 * designated primary and no failover is unfinished, it renews through another agent
 * of the cluster (A_r), every renewal period:
 *   1. RelayNonce to A_r: A_r fetches a fresh nonce from A_p (LeaseNonce).
 *   2. The leader re-checks that it may still renew (ready leader, same holder and
 *      epoch, no failover, no revoke), records "lease message sent to the holder now"
 *      (so that a later move waits for sent + lease + margin, as for a direct
 *      renewal), signs a RelayToken (cluster, VIP, epoch, lease, raft term, holder,
 *      nonce) with its controller key and sends RelayRenew to A_r, which forwards it
 *      to A_p; A_p extends the lease to nonce issue time + lease.
 * A step that fails moves on to the next other host for the next relay. Anything that
 * stops renewals (fo__vip_quiesce: a revoke, a move; leadership loss) cancels the
 * relay in flight; a token already signed was recorded as sent before it left.
 *
 * Loop thread only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/prom.h"
#include "common/tls.h"
#include "controller/vip/vipmgr_internal.h"

#define MOD "vip"
#define RELAY_STEP_MS 600 /* bound on each of the two calls; the nonce lives 1000 ms */
#define MAX_VIA 16

enum { RL_OK, RL_NO_RELAY, RL_NONCE_FAILED, RL_REFUSED, RL_FAILED, RL_N };
static const char *const relay_results[RL_N] = {"ok", "no_relay", "nonce_failed", "refused", "failed"};

struct fo__vip_relay {
    struct fo__vip_state *s;
    struct fo_vipmgr *v;
    struct fo_agentc_call *call;
    bool renewing; /* step 2 sent */
    char via[FO_HOST_LEN];
    uint16_t agent_port;
    char holder[FO_HOST_LEN];
    uint16_t holder_port; /* its mysqld, as the store names it */
    uint64_t epoch;
};

int fo__vip_relay_init(struct fo_vipmgr *v, char err[FO_ERRLEN])
{
    unsigned i;
    int rc;

    v->n_chain = 0;
    if (v->ctl->cfg.tls.insecure || v->ctl->tls_files == NULL)
        return fo_errf(err, FO_EINVAL, "no controller key to sign with (plain mode)");
    for (i = 0; i < 4; i++) {
        rc = fo_tls_files_cert_der(v->ctl->tls_files, i, &v->chain[i], &v->chain_len[i], err);
        if (rc == FO_ENOTFOUND) break;
        if (rc != 0) {
            fo__vip_relay_free(v);
            return rc;
        }
        v->n_chain++;
    }
    return 0;
}

void fo__vip_relay_free(struct fo_vipmgr *v)
{
    unsigned i;

    for (i = 0; i < v->n_chain; i++) free(v->chain[i]);
    v->n_chain = 0;
}

/* ------------------------------------------------------------------ the other hosts */

struct via_list {
    const char *holder;
    char hosts[MAX_VIA][FO_HOST_LEN];
    unsigned n;
};

static int collect_via(void *data, const struct fo_store_instance *i)
{
    struct via_list *l = data;
    unsigned k;

    if (strcmp(i->host, l->holder) == 0 || l->n >= MAX_VIA) return 0;
    for (k = 0; k < l->n; k++)
        if (strcmp(l->hosts[k], i->host) == 0) return 0;
    snprintf(l->hosts[l->n++], FO_HOST_LEN, "%s", i->host);
    return 0;
}

/* ------------------------------------------------------------------ episodes */

static void episode_start(struct fo_vipmgr *v, struct fo__vip_state *s)
{
    if (s->relay_since_ms != 0) return;
    s->relaying = true;
    s->relay_since_ms = uv_now(v->ctl->loop);
    s->relay_count = 0;
    s->relay_reported = false;
    s->relay_via[0] = '\0';
}

void fo__vip_relay_direct_ok(struct fo_vipmgr *v, struct fo__vip_state *s)
{
    uint64_t now = uv_now(v->ctl->loop);

    if (s->relay_since_ms != 0 && s->relay_reported)
        fo__vip_decision(v, s->cluster, "vip_relay_ended", s->sent_host, s->sent_port,
                         "writer VIP lease on %s:%u renewed directly again after %llu ms; %llu relayed renewal(s) "
                         "kept it meanwhile",
                         s->sent_host, s->sent_port, (unsigned long long)(now - s->relay_since_ms),
                         (unsigned long long)s->relay_count);
    s->relaying = false;
    s->relay_since_ms = 0;
    s->relay_reported = false;
}

void fo__vip_relay_cancel(struct fo__vip_state *s)
{
    if (s->relay != NULL && s->relay->call != NULL) fo_agentc_cancel(s->relay->call);
    /* The callback frees the relay; no new one starts until the loop allows it. */
    s->relaying = false;
    s->relay_since_ms = 0;
    s->relay_reported = false;
}

/* ------------------------------------------------------------------ steps */

static void relay_end(struct fo__vip_relay *r, int result, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void relay_end(struct fo__vip_relay *r, int result, const char *fmt, ...)
{
    struct fo_vipmgr *v = r->v;
    struct fo__vip_state *s = r->s;
    char why[300];
    va_list ap;

    s->relay = NULL;
    if (result >= 0) {
        v->relayed[result]++;
        if (result != RL_OK) {
            va_start(ap, fmt);
            vsnprintf(why, sizeof why, fmt, ap);
            va_end(ap);
            s->relay_next++; /* the next relay tries the next host */
            FO_WARN(MOD, "cluster %s: relayed renewal of the writer VIP lease on %s via %s: %s", s->cluster, r->holder,
                    r->via, why);
        }
    }
    free(r);
    fo__vip_unref(v);
}

/* Whether the leader may still renew the holder's lease right now: the same checks as
 * the renewal loop, made again after the nonce round trip. */
static bool still_allowed(struct fo__vip_relay *r, struct fo_store_cluster *c, struct fo__vip_target *t)
{
    struct fo_vipmgr *v = r->v;

    if (!v->ready || v->stopping || !fo_raft_is_ready(&v->ctl->raft)) return false;
    if (fo_store_get_cluster(v->ctl->store, r->s->cluster, c) != 0 || fo__vip_target_of(v, c, "", t) != 0) return false;
    if (strcmp(t->host, r->holder) != 0 || t->port != r->holder_port || c->epoch != r->epoch) return false;
    if (strcmp(c->primary_host, r->holder) != 0 || c->primary_port != r->holder_port) return false;
    if (fo__vip_failover_unfinished(v, c)) return false;
    return fo__vip_revoke_allows(v, r->s, c, t->host, t->port);
}

static void renew_done(void *data, int status, const char *error, const Fo__Agent__AgentResponse *resp)
{
    struct fo__vip_relay *r = data;
    struct fo__vip_state *s = r->s;

    r->call = NULL;
    if (status == FO_ECANCELED) return relay_end(r, -1, "cancelled");
    if (status != 0) return relay_end(r, RL_FAILED, "RelayRenew: %s", error[0] ? error : fo_strerror(status));
    if (resp->code != 0) return relay_end(r, RL_REFUSED, "holder refused (%s): %s", fo_strerror(resp->code), error);
    if (!s->relay_reported || strcmp(s->relay_via, r->via) != 0)
        FO_INFO(MOD, "cluster %s: writer VIP lease on %s renewed through the agent on %s (this node cannot reach %s)",
                s->cluster, r->holder, r->via, r->holder);
    if (!s->relay_reported) {
        s->relay_reported = true;
        fo__vip_decision(r->v, s->cluster, "vip_relayed", r->holder, r->holder_port,
                         "writer VIP lease on %s:%u renewed through the agent on %s: the leader cannot reach the "
                         "holder, which is still the designated primary",
                         r->holder, r->holder_port, r->via);
    }
    snprintf(s->relay_via, sizeof s->relay_via, "%s", r->via);
    s->relay_count++;
    s->held = true;
    s->error[0] = '\0';
    s->last_ok_sent_ms = s->sent_ms;
    relay_end(r, RL_OK, "ok");
}

/* Builds and signs the token. Returns 0 with *tok and *sig malloc'd. */
static int sign_token(struct fo__vip_relay *r, const struct fo_store_cluster *c, const struct fo__vip_target *t,
                      const ProtobufCBinaryData *nonce, uint8_t **tok, size_t *tok_len, uint8_t **sig, size_t *sig_len,
                      char err[FO_ERRLEN])
{
    Fo__Agent__RelayToken k = FO__AGENT__RELAY_TOKEN__INIT;
    int rc;

    k.version = 1;
    k.cluster = (char *)c->name;
    k.vip = (char *)t->addr;
    k.epoch = c->epoch;
    k.lease_ms = fo__vip_lease_ms(c);
    k.term = r->v->ctl->raft.ready_term;
    k.host = (char *)t->host;
    k.nonce = *nonce;
    *tok_len = fo__agent__relay_token__get_packed_size(&k);
    if ((*tok = malloc(*tok_len)) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    fo__agent__relay_token__pack(&k, *tok);
    rc = fo_tls_files_sign(r->v->ctl->tls_files, FO_RELAY_SIGN_CONTEXT, *tok, *tok_len, sig, sig_len, err);
    if (rc != 0) {
        free(*tok);
        *tok = NULL;
    }
    return rc;
}

static void nonce_done(void *data, int status, const char *error, const Fo__Agent__AgentResponse *resp)
{
    struct fo__vip_relay *r = data;
    struct fo_vipmgr *v = r->v;
    Fo__Agent__AgentRequest req = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__RelayRenew rr = FO__AGENT__RELAY_RENEW__INIT;
    ProtobufCBinaryData certs[4];
    struct fo_store_cluster c;
    struct fo__vip_target t;
    uint8_t *tok = NULL, *sig = NULL;
    size_t tok_len = 0, sig_len = 0;
    char err[FO_ERRLEN];
    unsigned i;

    r->call = NULL;
    if (status == FO_ECANCELED) return relay_end(r, -1, "cancelled");
    if (status != 0 || resp->code != 0)
        return relay_end(r, RL_NONCE_FAILED, "RelayNonce: %s", error[0] ? error : fo_strerror(status));
    if (!still_allowed(r, &c, &t)) return relay_end(r, -1, "no longer allowed");
    if (sign_token(r, &c, &t, &resp->nonce, &tok, &tok_len, &sig, &sig_len, err) != 0)
        return relay_end(r, RL_FAILED, "cannot sign: %s", err);
    for (i = 0; i < v->n_chain; i++) certs[i] = (ProtobufCBinaryData){v->chain_len[i], v->chain[i]};
    rr.token = (ProtobufCBinaryData){tok_len, tok};
    rr.signature = (ProtobufCBinaryData){sig_len, sig};
    rr.n_cert_chain = v->n_chain;
    rr.cert_chain = certs;
    rr.host = t.host;
    rr.port = r->agent_port;
    req.body_case = FO__AGENT__AGENT_REQUEST__BODY_RELAY_RENEW;
    req.relay_renew = &rr;
    /* DESIGN.md §7's move rule counts this token as a lease message sent to the holder
     * now: after the nonce was issued, before the holder can see it. */
    fo__vip_note_sent(v, r->s, t.host, t.port);
    r->renewing = true;
    r->call = fo_agentc_call(v->agentc, r->via, r->agent_port, &req, RELAY_STEP_MS, renew_done, r, err);
    free(tok);
    free(sig);
    if (r->call == NULL) relay_end(r, RL_FAILED, "cannot send RelayRenew: %s", err);
}

void fo__vip_relay_maybe(struct fo_vipmgr *v, struct fo__vip_state *s, const struct fo_store_cluster *c,
                         const struct fo__vip_target *t)
{
    Fo__Agent__AgentRequest req = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__RelayNonce rn = FO__AGENT__RELAY_NONCE__INIT;
    struct via_list via = {.holder = t->host};
    struct fo__vip_relay *r;
    uint64_t now = uv_now(v->ctl->loop);
    char err[FO_ERRLEN];

    if (v->n_chain == 0 || s->relay != NULL || now < s->next_relay_ms) return;
    if (fo__vip_failover_unfinished(v, c) || !fo__vip_revoke_allows(v, s, c, t->host, t->port)) return;
    episode_start(v, s);
    s->next_relay_ms = now + fo__vip_renew_period_ms(c);
    fo_store_each_instance(v->ctl->store, c->name, collect_via, &via);
    if (via.n == 0) {
        v->relayed[RL_NO_RELAY]++;
        return;
    }
    if ((r = calloc(1, sizeof *r)) == NULL) return;
    r->s = s;
    r->v = v;
    snprintf(r->via, sizeof r->via, "%s", via.hosts[s->relay_next % via.n]);
    r->agent_port = fo__vip_agent_port(c);
    snprintf(r->holder, sizeof r->holder, "%s", t->host);
    r->holder_port = t->port;
    r->epoch = c->epoch;
    rn.cluster = (char *)c->name;
    rn.host = (char *)t->host;
    rn.port = r->agent_port;
    req.body_case = FO__AGENT__AGENT_REQUEST__BODY_RELAY_NONCE;
    req.relay_nonce = &rn;
    r->call = fo_agentc_call(v->agentc, r->via, r->agent_port, &req, RELAY_STEP_MS, nonce_done, r, err);
    if (r->call == NULL) {
        v->relayed[RL_FAILED]++;
        s->relay_next++;
        free(r);
        return;
    }
    s->relay = r;
    v->refs++;
}

void fo__vip_relay_metrics(struct fo_vipmgr *v, struct fo_buf *b)
{
    struct fo_prom_label l;
    unsigned i;

    fo_prom_family(b, "failoverd_vip_relayed_renewals_total", "counter",
                   "writer VIP lease renewals sent through another agent because the holder did not answer, by "
                   "result");
    for (i = 0; i < RL_N; i++) {
        l = (struct fo_prom_label){"result", relay_results[i]};
        fo_prom_value(b, "failoverd_vip_relayed_renewals_total", &l, 1, (double)v->relayed[i]);
    }
}
