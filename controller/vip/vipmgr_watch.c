/* What the leader watches besides the leases (issue 8 item 11, vipmgr.h): stray VIP
 * holders found by polling every instance host's agent, and lapses of the holder's
 * lease, both recorded as Decisions so that `failoverctl why` and history show them.
 *
 * A status answer is evidence of a stray only if no recorded holder may have changed
 * between the request and the answer (v->gen), no move of that VIP runs and no
 * failover is unfinished: a host that legitimately had the VIP a moment ago is never
 * told to release it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/prom.h"
#include "controller/vip/vipmgr_internal.h"
#include "failoverd.pb-c.h"

#define MOD "vip"
#define STATUS_TIMEOUT_MS 1000
/* A stray not seen again for this long (its agent stopped answering, or the host left
 * the cluster) is forgotten: reported as unknown rather than kept forever. */
#define STRAY_FORGET_MS (10u * FO_VIPMGR_WATCH_MS)
#define POLL_FORGET_MS (10u * FO_VIPMGR_WATCH_MS)

/* ------------------------------------------------------------------ decisions */

void fo__vip_decision(struct fo_vipmgr *v, const char *cluster, const char *verdict, const char *host, uint16_t port,
                      const char *fmt, ...)
{
    Fo__Command cmd = FO__COMMAND__INIT;
    Fo__Decision d = FO__DECISION__INIT;
    char reason[480], err[FO_ERRLEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    FO_WARN(MOD, "cluster %s: %s: %s", cluster, verdict, reason);
    d.cluster = (char *)cluster;
    d.verdict = (char *)verdict;
    d.reason = reason;
    d.host = (char *)(host != NULL ? host : "");
    d.port = port;
    cmd.body_case = FO__COMMAND__BODY_DECISION;
    cmd.decision = &d;
    if (fo_ctl_propose(v->ctl, &cmd, NULL, NULL, err) != 0) FO_WARN(MOD, "recording a decision: %s", err);
}

/* ------------------------------------------------------------------ lapses */

void fo__vip_lapse_seen(struct fo_vipmgr *v, struct fo__vip_state *s, const char *error)
{
    s->lapse_since_ms = uv_now(v->ctl->loop);
    s->lapse_reported = false;
    snprintf(s->lapse_error, sizeof(s->lapse_error), "%.150s", error);
    v->lapses++;
}

/* What the lapse is known to have been: why, and since when at the latest. */
static void lapse_text(struct fo_vipmgr *v, const struct fo__vip_state *s, uint64_t now, char *out, size_t n)
{
    if (s->released_by_revoke)
        snprintf(out, n, "released by the fence of the failover at epoch %llu", (unsigned long long)s->revoked_epoch);
    else if (s->last_ok_sent_ms != 0)
        snprintf(out, n, "agent: %s; its last confirmed lease message was sent %llu ms before the lapse was seen",
                 s->lapse_error, (unsigned long long)(s->lapse_since_ms - s->last_ok_sent_ms));
    else
        snprintf(out, n, "agent: %s; no lease message confirmed since this node became leader %llu ms ago",
                 s->lapse_error, (unsigned long long)(now - v->ready_ms));
}

/* The VIP a state is about, for messages: "writer VIP a.b.c.d/len" or "reader VIP ...". */
static void vip_name(struct fo_vipmgr *v, const struct fo__vip_state *s, char *out, size_t n)
{
    struct fo_store_cluster c;

    if (s->key[0] != '\0')
        snprintf(out, n, "reader VIP %s", s->key);
    else if (fo_store_get_cluster(v->ctl->store, s->cluster, &c) == 0)
        snprintf(out, n, "writer VIP %s", c.vip);
    else
        snprintf(out, n, "writer VIP");
}

void fo__vip_lapse_over(struct fo_vipmgr *v, struct fo__vip_state *s)
{
    uint64_t now = uv_now(v->ctl->loop);
    char why[300], name[48];

    vip_name(v, s, name, sizeof(name));
    lapse_text(v, s, now, why, sizeof(why));
    /* The agent held the lease when it confirmed the last message, so the VIP was away
     * at most from that message until now (an expiry makes it shorter by a lease, a
     * restart of the agent can happen any time in between). */
    if (s->last_ok_sent_ms != 0)
        fo__vip_decision(v, s->cluster, "vip_lapsed", s->sent_host, s->sent_port,
                         "%s lease on %s:%u lapsed; re-acquired there %llu ms after the lapse was seen; the VIP was "
                         "away for at most %llu ms (%s)",
                         name, s->sent_host, s->sent_port, (unsigned long long)(now - s->lapse_since_ms),
                         (unsigned long long)(now - s->last_ok_sent_ms), why);
    else
        fo__vip_decision(v, s->cluster, "vip_lapsed", s->sent_host, s->sent_port,
                         "%s lease on %s:%u lapsed; re-acquired there %llu ms after the lapse was seen (%s)", name,
                         s->sent_host, s->sent_port, (unsigned long long)(now - s->lapse_since_ms), why);
    s->lapse_since_ms = 0;
    s->lapse_reported = false;
    s->released_by_revoke = false;
}

void fo__vip_lapse_check(struct fo_vipmgr *v, struct fo__vip_state *s, const struct fo_store_cluster *c)
{
    uint64_t now = uv_now(v->ctl->loop);
    char why[300], name[48];

    if (s->lapse_since_ms == 0 || s->lapse_reported || now - s->lapse_since_ms < 2u * fo__vip_lease_ms(c)) return;
    s->lapse_reported = true;
    lapse_text(v, s, now, why, sizeof(why));
    vip_name(v, s, name, sizeof(name));
    fo__vip_decision(v, s->cluster, "vip_lapsed", s->sent_host, s->sent_port,
                     "%s lease on %s:%u lapsed and is not re-acquired %llu ms later (%s; last error: %.120s)", name,
                     s->sent_host, s->sent_port, (unsigned long long)(now - s->lapse_since_ms), why, s->error);
}

/* ------------------------------------------------------------------ strays */

static struct fo__vip_stray *stray_find(struct fo__vip_state *s, const char *host)
{
    unsigned i;

    for (i = 0; i < s->n_strays; i++)
        if (strcmp(s->strays[i].host, host) == 0) return &s->strays[i];
    return NULL;
}

static void stray_drop(struct fo__vip_state *s, struct fo__vip_stray *x)
{
    unsigned i = (unsigned)(x - s->strays);

    memmove(&s->strays[i], &s->strays[i + 1], (s->n_strays - i - 1) * sizeof(*x));
    s->n_strays--;
}

void fo__vip_stray_text(const struct fo__vip_state *s, uint64_t now, char *out, size_t n)
{
    size_t len = 0;
    unsigned i;
    int k;

    out[0] = '\0';
    for (i = 0; i < s->n_strays && len < n; i++) {
        const struct fo__vip_stray *x = &s->strays[i];
        k = snprintf(out + len, n - len, "%s%s:%u (for %llu ms, lease %s%s%s)", i ? ", " : "", x->host, x->port,
                     (unsigned long long)(now - x->since_ms), x->lease, x->release[0] ? "; release: " : "", x->release);
        if (k < 0) break;
        len += (size_t)k;
    }
}

struct stray_rel {
    struct fo_vipmgr *v;
    char cluster[FO_NAME_LEN];
    char key[FO_VIP_LEN];
    char host[FO_HOST_LEN];
};

static void stray_released(void *data, int status, const char *error, const Fo__Agent__AgentResponse *resp)
{
    struct stray_rel *r = data;
    struct fo_vipmgr *v = r->v;
    struct fo__vip_state *s = fo__vip_state_find(v, r->cluster, r->key);
    struct fo__vip_stray *x = s != NULL ? stray_find(s, r->host) : NULL;
    bool ok = status == 0 && resp->code == 0;

    if (status != FO_ECANCELED) {
        if (ok)
            v->stray_releases_ok++;
        else
            v->stray_releases_failed++;
    }
    if (x != NULL) {
        x->releasing = false;
        if (ok)
            snprintf(x->release, sizeof(x->release), "confirmed");
        else
            snprintf(x->release, sizeof(x->release), "%.110s", error[0] ? error : fo_strerror(status));
    }
    if (!ok && status != FO_ECANCELED)
        FO_WARN(MOD, "cluster %s: ReleaseVip to stray holder %s: %s", r->cluster, r->host,
                error[0] ? error : fo_strerror(status));
    free(r);
    fo__vip_unref(v);
}

/* ReleaseVip at the cluster's epoch: the stray's agent deletes the address (from any
 * lease state, agent/lease.h) and persists the epoch. */
static void stray_release(struct fo_vipmgr *v, const struct fo_store_cluster *c, const char *key,
                          const struct fo__vip_target *t, struct fo__vip_stray *x)
{
    Fo__Agent__AgentRequest req = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__ReleaseVip rel = FO__AGENT__RELEASE_VIP__INIT;
    char err[FO_ERRLEN], addr[FO_VIP_LEN];
    struct stray_rel *r;

    if (x->releasing || (r = calloc(1, sizeof(*r))) == NULL) return;
    r->v = v;
    snprintf(r->cluster, sizeof(r->cluster), "%s", c->name);
    snprintf(r->key, sizeof(r->key), "%s", key);
    snprintf(r->host, sizeof(r->host), "%s", x->host);
    snprintf(addr, sizeof(addr), "%s", t->addr);
    rel.cluster = r->cluster;
    rel.epoch = c->epoch;
    rel.vip = addr;
    req.body_case = FO__AGENT__AGENT_REQUEST__BODY_RELEASE;
    req.release = &rel;
    if (fo_agentc_call(v->agentc, x->host, fo__vip_agent_port(c), &req, STATUS_TIMEOUT_MS, stray_released, r, err) ==
        NULL) {
        snprintf(x->release, sizeof(x->release), "not sent: %.100s", err);
        free(r);
        return;
    }
    x->releasing = true;
    snprintf(x->release, sizeof(x->release), "sent at epoch %llu", (unsigned long long)c->epoch);
    v->refs++;
}

static void stray_seen(struct fo_vipmgr *v, const struct fo_store_cluster *c, const char *key,
                       const struct fo__vip_target *t, const struct fo__vip_poll *p, const char *lease)
{
    struct fo__vip_state *s = fo__vip_state_get(v, c->name, key);
    struct fo__vip_stray *x;
    uint64_t now = uv_now(v->ctl->loop);

    if (s == NULL) return;
    if ((x = stray_find(s, p->host)) == NULL) {
        if (s->n_strays == FO__VIP_MAX_STRAYS) return; /* reported already: the view lists the first ones */
        x = &s->strays[s->n_strays++];
        memset(x, 0, sizeof(*x));
        snprintf(x->host, sizeof(x->host), "%s", p->host);
        x->port = p->port;
        x->since_ms = now;
        v->strays_seen++;
        fo__vip_decision(v, c->name, "stray_vip", p->host, p->port,
                         "%s %s is configured on %s (its agent's lease: %s) but its recorded holder is %s%s%u; two "
                         "hosts may answer on it: releasing it there at epoch %llu",
                         fo__vip_what(key), t->cidr, p->host, lease, t->host[0] ? t->host : "nobody",
                         t->host[0] ? ":" : " ", t->host[0] ? t->port : 0, (unsigned long long)c->epoch);
    }
    x->seen_ms = now;
    snprintf(x->lease, sizeof(x->lease), "%.15s", lease);
    stray_release(v, c, key, t, x);
}

static void stray_gone(struct fo_vipmgr *v, const struct fo_store_cluster *c, const char *key, const char *host)
{
    struct fo__vip_state *s = fo__vip_state_find(v, c->name, key);
    struct fo__vip_stray *x = s != NULL ? stray_find(s, host) : NULL;

    if (x == NULL) return;
    fo__vip_decision(v, c->name, "stray_vip_gone", x->host, x->port,
                     "%s of cluster %s is no longer configured on %s: found gone %llu ms after it was first seen "
                     "there next to its holder (release: %s)",
                     fo__vip_what(key), c->name, x->host, (unsigned long long)(uv_now(v->ctl->loop) - x->since_ms),
                     x->release[0] ? x->release : "none sent");
    stray_drop(s, x);
}

/* Whether two "a.b.c.d/len" name the same address (an agent may list the VIP with
 * another prefix length than the cluster). */
static bool same_addr(const char *a, const char *b)
{
    size_t la = strcspn(a, "/"), lb = strcspn(b, "/");

    return la == lb && strncmp(a, b, la) == 0;
}

/* Which of c's VIPs a status row names: 0 with *key set, or FO_ENOTFOUND. */
static int key_of_row(const struct fo_store_cluster *c, const char *cidr, const char **key)
{
    unsigned i;

    if (c->vip[0] != '\0' && same_addr(cidr, c->vip)) {
        *key = "";
        return 0;
    }
    for (i = 0; i < c->n_reader_vips; i++)
        if (same_addr(cidr, c->reader_vips[i])) {
            *key = c->reader_vips[i];
            return 0;
        }
    return FO_ENOTFOUND;
}

static void check_row(struct fo_vipmgr *v, const struct fo_store_cluster *c, const struct fo__vip_poll *p,
                      const Fo__Agent__ClusterStatus *row)
{
    struct fo__vip_target t;
    struct fo__vip_state *s;
    const char *key;

    if (row->cluster == NULL || strcmp(row->cluster, c->name) != 0 || row->vip == NULL) return;
    if (key_of_row(c, row->vip, &key) != 0 || fo__vip_target_of(v, c, key, &t) != 0) return;
    if ((s = fo__vip_state_find(v, c->name, key)) != NULL && (s->move != NULL || s->queued != NULL)) return;
    /* The VIP belongs to a host, not to one mysqld: another instance on the holder's
     * host is not a second holder. */
    if (row->vip_present && strcmp(p->host, t.host) != 0)
        stray_seen(v, c, key, &t, p, row->lease_state != NULL && row->lease_state[0] ? row->lease_state : "?");
    else
        stray_gone(v, c, key, p->host);
}

static void polled(void *data, int status, const char *error, const Fo__Agent__AgentResponse *resp)
{
    struct fo__vip_poll *p = data;
    struct fo_vipmgr *v = p->v;
    struct fo_store_cluster c;
    struct fo_store_failover f;
    size_t i;

    p->call = NULL;
    if (status == FO_ECANCELED || v->stopping || !v->ready) goto done;
    if (status != 0 || resp->code != 0 || resp->status == NULL) {
        v->polls_failed++;
        FO_DEBUG(MOD, "cluster %s: status of %s's agent: %s", p->cluster, p->host, error);
        goto done;
    }
    v->polls_ok++;
    if (p->gen != v->gen) { /* a holder may have changed meanwhile: ask again */
        p->next_ms = 0;
        goto done;
    }
    if (fo_store_get_cluster(v->ctl->store, p->cluster, &c) != 0) goto done;
    if (fo_store_get_running_failover(v->ctl->store, p->cluster, &f) != FO_ENOTFOUND) goto done;
    for (i = 0; i < resp->status->n_clusters; i++) check_row(v, &c, p, resp->status->clusters[i]);
done:
    fo__vip_unref(v);
}

static struct fo__vip_poll *poll_get(struct fo_vipmgr *v, const char *cluster, const char *host, uint16_t port)
{
    struct fo__vip_poll *p;

    for (p = v->polls; p != NULL; p = p->next)
        if (strcmp(p->cluster, cluster) == 0 && strcmp(p->host, host) == 0) return p;
    if ((p = calloc(1, sizeof(*p))) == NULL) return NULL;
    p->v = v;
    snprintf(p->cluster, sizeof(p->cluster), "%s", cluster);
    snprintf(p->host, sizeof(p->host), "%s", host);
    p->port = port;
    p->next = v->polls;
    v->polls = p;
    return p;
}

struct host_collect {
    struct fo_vipmgr *v;
    const struct fo_store_cluster *c;
    uint64_t now;
};

static int poll_host(void *data, const struct fo_store_instance *i)
{
    struct host_collect *hc = data;
    struct fo_vipmgr *v = hc->v;
    Fo__Agent__AgentRequest req = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__StatusRequest st = FO__AGENT__STATUS_REQUEST__INIT;
    struct fo__vip_poll *p = poll_get(v, hc->c->name, i->host, i->port);
    char err[FO_ERRLEN];

    if (p == NULL) return 0;
    p->wanted_ms = hc->now;
    if (p->call != NULL || hc->now < p->next_ms) return 0;
    p->next_ms = hc->now + FO_VIPMGR_WATCH_MS;
    req.body_case = FO__AGENT__AGENT_REQUEST__BODY_STATUS;
    req.status = &st;
    p->gen = v->gen;
    p->call = fo_agentc_call(v->agentc, p->host, fo__vip_agent_port(hc->c), &req, STATUS_TIMEOUT_MS, polled, p, err);
    if (p->call == NULL) {
        v->polls_failed++;
        FO_DEBUG(MOD, "cluster %s: status of %s's agent not sent: %s", hc->c->name, p->host, err);
        return 0;
    }
    v->refs++;
    return 0;
}

/* Forgets polls of hosts that left the cluster and strays not seen for a while. */
static void prune(struct fo_vipmgr *v, const struct fo_store_cluster *c, uint64_t now)
{
    struct fo__vip_poll **pp = &v->polls, *p;
    struct fo__vip_state *s;
    unsigned i;

    while ((p = *pp) != NULL) {
        if (strcmp(p->cluster, c->name) == 0 && p->call == NULL && now - p->wanted_ms > POLL_FORGET_MS) {
            *pp = p->next;
            free(p);
            continue;
        }
        pp = &p->next;
    }
    for (s = v->states; s != NULL; s = s->next) {
        if (strcmp(s->cluster, c->name) != 0) continue;
        for (i = 0; i < s->n_strays;) {
            if (now - s->strays[i].seen_ms > STRAY_FORGET_MS && !s->strays[i].releasing) {
                FO_WARN(MOD,
                        "cluster %s: stray holder %s of %s %s not seen for %u ms (agent unreachable?); "
                        "forgetting it",
                        c->name, s->strays[i].host, fo__vip_what(s->key), s->key, STRAY_FORGET_MS);
                stray_drop(s, &s->strays[i]);
                continue;
            }
            i++;
        }
    }
}

void fo__vip_watch_cluster(struct fo_vipmgr *v, const struct fo_store_cluster *c)
{
    struct host_collect hc = {v, c, uv_now(v->ctl->loop)};
    struct fo__vip_state *s = fo__vip_state_get(v, c->name, "");

    /* The renewal loop ticks every 100 ms, each host's poll is due once a second: scan
     * the instances only a few times per poll period, not on every tick. */
    if (s != NULL) {
        if (hc.now < s->watch_next_ms) return;
        s->watch_next_ms = hc.now + FO_VIPMGR_WATCH_MS / 4;
    }
    fo_store_each_instance(v->ctl->store, c->name, poll_host, &hc);
    prune(v, c, hc.now);
}

void fo__vip_watch_reset(struct fo_vipmgr *v)
{
    struct fo__vip_poll *p;
    struct fo__vip_state *s;

    for (p = v->polls; p != NULL; p = p->next) {
        if (p->call != NULL) fo_agentc_cancel(p->call);
        p->next_ms = 0;
    }
    for (s = v->states; s != NULL; s = s->next) {
        s->n_strays = 0;
        s->watch_next_ms = 0;
    }
}

void fo__vip_watch_free(struct fo_vipmgr *v)
{
    struct fo__vip_poll *p, *next;

    for (p = v->polls; p != NULL; p = next) {
        next = p->next;
        free(p);
    }
    v->polls = NULL;
}

/* ------------------------------------------------------------------ metrics */

static void counter(struct fo_buf *b, const char *name, const char *help, const char *label, const char *const *values,
                    const uint64_t *x, unsigned n)
{
    unsigned i;

    fo_prom_family(b, name, "counter", help);
    for (i = 0; i < n; i++) {
        struct fo_prom_label l = {label, label != NULL ? values[i] : NULL};
        fo_prom_value(b, name, &l, label != NULL ? 1 : 0, (double)x[i]);
    }
}

void fo__vip_watch_metrics(struct fo_vipmgr *v, struct fo_buf *b)
{
    static const char *const res[] = {"ok", "failed"};
    static const char *const rev[] = {"released", "mysql_fenced", "agent_unreached"};
    uint64_t rel[2] = {v->stray_releases_ok, v->stray_releases_failed};
    uint64_t polls[2] = {v->polls_ok, v->polls_failed};
    uint64_t revs[3] = {v->revokes_released, v->revokes_fenced, v->revokes_unreached};
    struct fo__vip_state *s;

    fo_prom_family(b, "failoverd_vip_strays", "gauge",
                   "hosts other than the recorded holder seen with the VIP configured (leader, last status poll)");
    for (s = v->states; s != NULL; s = s->next) {
        struct fo_prom_label l[3] = {
            {"cluster", s->cluster}, {"kind", s->key[0] ? "reader" : "writer"}, {"vip", s->key[0] ? s->key : "writer"}};
        fo_prom_value(b, "failoverd_vip_strays", l, 3, v->ready ? (double)s->n_strays : 0.0);
    }
    counter(b, "failoverd_vip_strays_total", "stray VIP holders found by this node", NULL, NULL, &v->strays_seen, 1);
    counter(b, "failoverd_vip_stray_releases_total", "ReleaseVip sent to stray holders, by result", "result", res, rel,
            2);
    counter(b, "failoverd_vip_lapses_total", "leases the holder's agent said it lost (expired, released, restarted)",
            NULL, NULL, &v->lapses, 1);
    counter(b, "failoverd_vip_status_polls_total", "agent status polls of the VIP watch, by result", "result", res,
            polls, 2);
    counter(b, "failoverd_vip_revokes_total", "fence-step revokes (fo_vipmgr_revoke) finished by this node", NULL, NULL,
            &v->revokes_total, 1);
    counter(b, "failoverd_vip_revoke_outcomes_total", "what the fence-step revokes confirmed", "outcome", rev, revs, 3);
}
