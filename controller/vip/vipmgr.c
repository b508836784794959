/* The writer VIP and the reader VIPs on the leader: see vipmgr.h for the rule that
 * keeps a VIP on one host at a time. A move is a small state machine (release or
 * wait, commit the new holder, acquire), used by the failover's VIP step and by the
 * renewal loop when a VIP's holder and where it should be differ (the designated
 * primary for the writer VIP; controller/decide/readers.h for reader VIPs).
 *
 * Every VIP is named by a key: "" for the writer VIP, the reader VIP's "a.b.c.d/len"
 * otherwise; leader memory (struct fo__vip_state) is per (cluster, key). */
#include "controller/vip/vipmgr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/prom.h"
#include "controller/vip/agentc.h"
#include "controller/probe/monitor.h"
#include "controller/decide/readers.h"
#include "controller/vip/vipmgr_internal.h"
#include "failoverd.pb-c.h"

#define MOD "vip"
/* How often the leader looks at every cluster with VIPs: renewals that are due,
 * holders that are not where they should be. */
#define TICK_MS 100
#define RELEASE_TIMEOUT_MS 1000
#define ACQUIRE_RETRY_MS 200

enum move_phase { M_START, M_RELEASE, M_WAIT, M_COMMIT, M_ACQUIRE, M_DONE };

struct fo_vipmgr_move {
    struct fo_vipmgr *v;
    struct fo__vip_state *st;
    enum move_phase phase;
    char cluster[FO_NAME_LEN];
    char key[FO_VIP_LEN];
    char to_host[FO_HOST_LEN];
    uint16_t to_port;
    char from_host[FO_HOST_LEN]; /* recorded holder at the start, "" = nobody */
    uint16_t from_port;
    uint64_t epoch;
    uint64_t deadline_ms;
    uint64_t t0_ms, phase_ms;
    uv_timer_t timer;
    bool timer_open;
    struct fo_agentc_call *call;
    bool committing;
    bool cancelled;
    fo_vipmgr_move_cb cb; /* NULL for the renewal loop's own moves */
    void *data;
    char how[300];                 /* released / waited / nobody held it */
    char last[200];                /* last acquire error */
    struct fo__vip_sent_mark mark; /* before the acquire in flight was noted as sent */
};

static void move_step(struct fo_vipmgr_move *m);
static void move_later(struct fo_vipmgr_move *m, uint64_t at_ms);

/* ------------------------------------------------------------------ helpers */

void fo__vip_unref(struct fo_vipmgr *v)
{
    struct fo__vip_state *s, *next;

    if (--v->refs != 0 || !v->stopping) return;
    for (s = v->states; s != NULL; s = next) {
        next = s->next;
        free(s);
    }
    fo__vip_watch_free(v);
    fo__vip_relay_free(v);
    free(v);
}

struct fo__vip_state *fo__vip_state_find(struct fo_vipmgr *v, const char *cluster, const char *key)
{
    struct fo__vip_state *s;

    for (s = v->states; s != NULL; s = s->next)
        if (strcmp(s->cluster, cluster) == 0 && strcmp(s->key, key) == 0) return s;
    return NULL;
}

struct fo__vip_state *fo__vip_state_get(struct fo_vipmgr *v, const char *cluster, const char *key)
{
    struct fo__vip_state *s = fo__vip_state_find(v, cluster, key);

    if (s != NULL) return s;
    if ((s = calloc(1, sizeof(*s))) == NULL) return NULL;
    snprintf(s->cluster, sizeof(s->cluster), "%s", cluster);
    snprintf(s->key, sizeof(s->key), "%s", key);
    s->v = v;
    s->next = v->states;
    v->states = s;
    return s;
}

uint16_t fo__vip_agent_port(const struct fo_store_cluster *c)
{
    return c->agent_port != 0 ? c->agent_port : FO_DEFAULT_AGENT_PORT;
}

unsigned fo__vip_lease_ms(const struct fo_store_cluster *c)
{
    return c->vip_lease_ms != 0 ? c->vip_lease_ms : FO_DEFAULT_VIP_LEASE_MS;
}

/* Fills t for VIP key of c. Returns 0, FO_ENOTFOUND (no such VIP) or a store error. */
int fo__vip_target_of(struct fo_vipmgr *v, const struct fo_store_cluster *c, const char *key, struct fo__vip_target *t)
{
    uint64_t epoch;
    unsigned i;
    int rc = 0;

    memset(t, 0, sizeof(*t));
    if (key[0] == '\0') {
        if (c->vip[0] == '\0') return FO_ENOTFOUND;
        snprintf(t->cidr, sizeof(t->cidr), "%s", c->vip);
        snprintf(t->host, sizeof(t->host), "%s", c->vip_host);
        t->port = c->vip_port;
    } else {
        for (i = 0; i < c->n_reader_vips && strcmp(c->reader_vips[i], key) != 0; i++) {
        }
        if (i == c->n_reader_vips) return FO_ENOTFOUND;
        snprintf(t->cidr, sizeof(t->cidr), "%s", key);
        rc = fo_store_get_reader_holder(v->ctl->store, c->name, key, t->host, &t->port, &epoch);
    }
    snprintf(t->addr, sizeof(t->addr), "%.*s", (int)strcspn(t->cidr, "/"), t->cidr);
    return rc;
}

const char *fo__vip_what(const char *key)
{
    return key[0] == '\0' ? "writer VIP" : "reader VIP";
}

/* When the recorded holder's lease has surely run out (vipmgr.h). */
uint64_t fo__vip_expiry_of(struct fo_vipmgr *v, const struct fo__vip_state *s, const struct fo_store_cluster *c,
                           const struct fo__vip_target *t)
{
    if (s->sent_valid && strcmp(s->sent_host, t->host) == 0 && s->sent_port == t->port)
        return s->sent_ms + fo__vip_lease_ms(c) + FO_VIPMGR_MARGIN_MS;
    return v->ready_ms + fo__vip_lease_ms(c) + v->ctl->cfg.election_timeout_ms + FO_VIPMGR_MARGIN_MS;
}

static void note_sent(struct fo_vipmgr *v, struct fo__vip_state *s, const char *host, uint16_t port)
{
    snprintf(s->sent_host, sizeof(s->sent_host), "%s", host);
    s->sent_port = port;
    s->sent_ms = uv_now(v->ctl->loop);
    s->sent_valid = true;
    s->sent_gen++;
}

void fo__vip_mark(const struct fo__vip_state *s, struct fo__vip_sent_mark *m)
{
    m->gen = s->sent_gen;
    m->valid = s->sent_valid;
    m->ms = s->sent_ms;
    snprintf(m->host, sizeof(m->host), "%s", s->sent_host);
    m->port = s->sent_port;
}

void fo__vip_unsend(struct fo__vip_state *s, const struct fo__vip_sent_mark *m)
{
    /* A later note stands: that message may have been written, and its time is after
     * every earlier one's anyway. */
    if (s->sent_gen != m->gen + 1) return;
    s->sent_valid = m->valid;
    s->sent_ms = m->ms;
    snprintf(s->sent_host, sizeof(s->sent_host), "%s", m->host);
    s->sent_port = m->port;
    s->sent_gen++;
}

void fo__vip_note_sent(struct fo_vipmgr *v, struct fo__vip_state *s, const char *host, uint16_t port)
{
    note_sent(v, s, host, port);
}

static int send_acquire(struct fo_vipmgr *v, const struct fo_store_cluster *c, const char *cidr, const char *host,
                        uint16_t port, uint64_t epoch, unsigned timeout_ms, fo_agentc_written_cb cb, void *data,
                        struct fo_agentc_call **out, char err[FO_ERRLEN])
{
    Fo__Agent__AgentRequest req = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__AcquireVip acq = FO__AGENT__ACQUIRE_VIP__INIT;
    char addr[FO_VIP_LEN];
    char *slash;

    snprintf(addr, sizeof(addr), "%s", cidr);
    if ((slash = strchr(addr, '/')) == NULL) return fo_errf(err, FO_EINVAL, "bad VIP '%s'", cidr);
    *slash = '\0';
    acq.cluster = (char *)c->name;
    acq.vip = addr;
    acq.prefix = (uint32_t)strtoul(slash + 1, NULL, 10); /* validated by the store */
    acq.interface = (char *)c->vip_interface;
    acq.epoch = epoch;
    acq.lease_ms = fo__vip_lease_ms(c);
    acq.writer = strcmp(cidr, c->vip) == 0;
    /* The same loop time the caller's note_sent recorded (docs/vip-lease-delay.md). */
    acq.sent_mono_ms = uv_now(v->ctl->loop);
    acq.sender_boot = v->boot;
    req.body_case = FO__AGENT__AGENT_REQUEST__BODY_ACQUIRE;
    req.acquire = &acq;
    *out = fo_agentc_call_w(v->agentc, host, port, &req, timeout_ms, cb, data, err);
    return *out != NULL ? 0 : FO_EIO;
}

/* ------------------------------------------------------------------ moves */

static void move_free_cb(uv_handle_t *h)
{
    struct fo_vipmgr_move *m = h->data;
    struct fo_vipmgr *v = m->v;

    free(m);
    fo__vip_unref(v);
}

static void move_finish(struct fo_vipmgr_move *m, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void move_finish(struct fo_vipmgr_move *m, int status, const char *fmt, ...)
{
    fo_vipmgr_move_cb cb = m->cb;
    void *data = m->data;
    char detail[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    m->phase = M_DONE;
    m->cb = NULL;
    m->v->gen++;
    if (m->st != NULL && m->st->queued == m) m->st->queued = NULL;
    if (m->st != NULL && m->st->move == m) {
        m->st->move = NULL;
        if (m->st->queued != NULL) { /* the failover's move takes over */
            m->st->move = m->st->queued;
            m->st->queued = NULL;
            move_later(m->st->move, uv_now(m->v->ctl->loop));
        }
    }
    if (status == 0)
        m->v->moves_ok++;
    else if (status != FO_ECANCELED)
        m->v->moves_failed++;
    if (status != FO_ECANCELED)
        fo_log(status == 0 ? FO_LOG_INFO : FO_LOG_WARN, MOD, "cluster %s: %s", m->cluster, detail);
    uv_close((uv_handle_t *)&m->timer, move_free_cb);
    if (cb != NULL) cb(data, status, detail);
}

static bool move_alive(struct fo_vipmgr_move *m)
{
    if (m->cancelled || m->v->stopping || !m->v->ready) {
        move_finish(m, FO_ECANCELED, "VIP move cancelled");
        return false;
    }
    return true;
}

static void move_timer_cb(uv_timer_t *t)
{
    struct fo_vipmgr_move *m = t->data;

    if (!move_alive(m)) return;
    move_step(m);
}

static void move_later(struct fo_vipmgr_move *m, uint64_t at_ms)
{
    uint64_t now = uv_now(m->v->ctl->loop);

    uv_timer_start(&m->timer, move_timer_cb, at_ms > now ? at_ms - now : 0, 0);
}

static void released(void *data, int status, const char *error, const Fo__Agent__AgentResponse *resp)
{
    struct fo_vipmgr_move *m = data;
    uint64_t now;

    m->call = NULL;
    if (!move_alive(m)) return;
    now = uv_now(m->v->ctl->loop);
    if (status == 0 && resp->code == 0) {
        snprintf(m->how, sizeof(m->how), "released by %s:%u in %llu ms", m->from_host, m->from_port,
                 (unsigned long long)(now - m->phase_ms));
        m->phase = M_COMMIT;
    } else {
        FO_WARN(MOD, "cluster %s: release on %s:%u failed (%s); waiting until its lease has surely expired", m->cluster,
                m->from_host, m->from_port, status == 0 ? error : fo_strerror(status));
        if (status != 0) FO_DEBUG(MOD, "release: %s", error);
        m->phase = M_WAIT;
    }
    move_step(m);
}

static void committed(void *data, int status, int result)
{
    struct fo_vipmgr_move *m = data;
    struct fo_vipmgr *v = m->v;

    m->committing = false;
    v->gen++;
    if (move_alive(m)) {
        if (status != 0 || result != 0) {
            move_finish(m, status != 0 ? status : result, "VIP holder not committed: %s",
                        fo_strerror(status != 0 ? status : result));
        } else {
            m->phase = M_ACQUIRE;
            move_step(m);
        }
    }
    fo__vip_unref(v);
}

static void acquired(void *data, int status, bool written, const char *error, const Fo__Agent__AgentResponse *resp)
{
    struct fo_vipmgr_move *m = data;
    uint64_t now;

    m->call = NULL;
    if (!written && m->st != NULL) fo__vip_unsend(m->st, &m->mark);
    if (!move_alive(m)) return;
    now = uv_now(m->v->ctl->loop);
    if (status == 0 && resp->code == 0) {
        if (m->st != NULL) {
            m->st->held = true;
            m->st->error[0] = '\0';
            m->st->next_renew_ms = m->st->sent_ms + 1; /* renewed by the loop from now on */
            m->st->last_ok_sent_ms = m->st->sent_ms;
            /* The VIP has moved (the failover's VIP step): the revoke has done its job. */
            m->st->revoked = false;
            m->st->released_by_revoke = false;
            m->st->lapse_since_ms = 0;
        }
        move_finish(m, 0, "%s%s%s moved to %s:%u at epoch %llu in %llu ms (%s; acquire %llu ms)",
                    m->key[0] ? "reader VIP " : "VIP", m->key, "", m->to_host, m->to_port, (unsigned long long)m->epoch,
                    (unsigned long long)(now - m->t0_ms), m->how, (unsigned long long)(now - m->phase_ms));
        return;
    }
    snprintf(m->last, sizeof(m->last), "%.190s", status == 0 ? error : error[0] ? error : fo_strerror(status));
    if (m->st != NULL) {
        m->st->held = false;
        snprintf(m->st->error, sizeof(m->st->error), "acquire on %s:%u: %.120s", m->to_host, m->to_port, m->last);
    }
    if (now + ACQUIRE_RETRY_MS >= m->deadline_ms) {
        move_finish(m, status != 0 ? status : FO_EIO,
                    "VIP holder is %s:%u (epoch %llu) but its agent did not take it: %s", m->to_host, m->to_port,
                    (unsigned long long)m->epoch, m->last);
        return;
    }
    move_later(m, now + ACQUIRE_RETRY_MS);
}

static void move_commit(struct fo_vipmgr_move *m)
{
    char err[FO_ERRLEN], detail[300];
    Fo__Command cmd = FO__COMMAND__INIT;
    Fo__VipHolder vh = FO__VIP_HOLDER__INIT;

    snprintf(detail, sizeof(detail), "%s", m->how);
    vh.cluster = m->cluster;
    vh.vip = m->key;
    vh.host = m->to_host;
    vh.port = m->to_port;
    vh.epoch = m->epoch;
    vh.detail = detail;
    cmd.body_case = FO__COMMAND__BODY_VIP_HOLDER;
    cmd.vip_holder = &vh;
    m->committing = true;
    m->v->refs++;
    if (fo_ctl_propose(m->v->ctl, &cmd, committed, m, err) != 0) {
        m->committing = false;
        m->v->refs--;
        move_finish(m, FO_EIO, "VIP holder not committed: %s", err);
    }
}

static void move_step(struct fo_vipmgr_move *m)
{
    struct fo_vipmgr *v = m->v;
    struct fo_store_cluster c;
    struct fo__vip_target tg;
    Fo__Agent__AgentRequest req = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__ReleaseVip rel = FO__AGENT__RELEASE_VIP__INIT;
    char err[FO_ERRLEN];
    uint64_t now = uv_now(v->ctl->loop), until;
    unsigned t;

    if (fo_store_get_cluster(v->ctl->store, m->cluster, &c) != 0)
        return move_finish(m, FO_ENOTFOUND, "cluster %s vanished", m->cluster);
    if (fo__vip_target_of(v, &c, m->key, &tg) != 0)
        return move_finish(m, FO_EINVAL, "cluster %s has no %s %s", m->cluster, fo__vip_what(m->key), m->key);
    if (now >= m->deadline_ms && m->phase != M_ACQUIRE)
        return move_finish(m, FO_ETIMEDOUT, "%s not moved to %s:%u in time (phase %d)", fo__vip_what(m->key),
                           m->to_host, m->to_port, m->phase);
    switch (m->phase) {
    case M_START:
        snprintf(m->from_host, sizeof(m->from_host), "%s", tg.host);
        m->from_port = tg.port;
        m->phase_ms = now;
        if (tg.host[0] == '\0' || (strcmp(tg.host, m->to_host) == 0 && tg.port == m->to_port)) {
            snprintf(m->how, sizeof(m->how), "%s",
                     tg.host[0] == '\0' ? "nobody held it" : "already recorded on the new holder");
            m->phase = M_COMMIT;
            return move_step(m);
        }
        /* The holder's lease surely ran out already (a host cut off, whose agent the
         * failover's revoke could not reach): a release can change nothing, and
         * waiting for its timeout would only delay the new holder. */
        if (m->st != NULL && (until = fo__vip_expiry_of(v, m->st, &c, &tg)) <= now) {
            snprintf(m->how, sizeof(m->how), "%s:%u not asked to release: its lease surely expired %llu ms ago",
                     m->from_host, m->from_port, (unsigned long long)(now - until));
            m->phase = M_COMMIT;
            return move_step(m);
        }
        m->phase = M_RELEASE;
        rel.cluster = m->cluster;
        rel.epoch = m->epoch;
        rel.vip = tg.addr;
        req.body_case = FO__AGENT__AGENT_REQUEST__BODY_RELEASE;
        req.release = &rel;
        t = fo__vip_lease_ms(&c) / 2 < RELEASE_TIMEOUT_MS ? fo__vip_lease_ms(&c) / 2 : RELEASE_TIMEOUT_MS;
        m->call = fo_agentc_call(v->agentc, tg.host, fo__vip_agent_port(&c), &req, t, released, m, err);
        if (m->call == NULL) {
            FO_WARN(MOD, "cluster %s: cannot ask %s:%u to release: %s", m->cluster, tg.host, tg.port, err);
            m->phase = M_WAIT;
            return move_step(m);
        }
        return;
    case M_WAIT:
        until = m->st != NULL ? fo__vip_expiry_of(v, m->st, &c, &tg) : now;
        if (now < until) return move_later(m, until);
        snprintf(m->how, sizeof(m->how), "%s:%u did not answer; its lease surely expired after %llu ms of waiting",
                 m->from_host, m->from_port, (unsigned long long)(now - m->phase_ms));
        m->phase = M_COMMIT;
        return move_step(m);
    case M_COMMIT: return move_commit(m);
    case M_ACQUIRE:
        m->phase_ms = now;
        if (m->st != NULL) {
            fo__vip_mark(m->st, &m->mark);
            note_sent(v, m->st, m->to_host, m->to_port);
        }
        t = m->deadline_ms > now + 100 ? (unsigned)(m->deadline_ms - now) : 100;
        if (t > 2000) t = 2000;
        if (send_acquire(v, &c, tg.cidr, m->to_host, fo__vip_agent_port(&c), m->epoch, t, acquired, m, &m->call, err) !=
            0)
            return move_finish(m, FO_EIO, "cannot send AcquireVip to %s:%u: %s", m->to_host, m->to_port, err);
        return;
    case M_RELEASE:
    case M_DONE: return;
    }
}

static struct fo_vipmgr_move *move_start(struct fo_vipmgr *v, const char *cluster, const char *key, const char *to_host,
                                         uint16_t to_port, uint64_t epoch, uint64_t deadline_ms, fo_vipmgr_move_cb cb,
                                         void *data, char err[FO_ERRLEN])
{
    struct fo_vipmgr_move *m;
    struct fo__vip_state *st;
    bool queue = false;

    if (v == NULL || v->stopping || !v->ready) return fo_errf(err, FO_ENOTLEADER, "not the ready leader"), NULL;
    if ((st = fo__vip_state_get(v, cluster, key)) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory"), NULL;
    /* A failover's move replaces a move of the renewal loop (which may be waiting for
     * a lease to run out, towards the old primary): the loop's is cancelled and this
     * one starts once it has stopped. */
    if (st->move != NULL && cb != NULL && st->move->cb == NULL && st->queued == NULL)
        queue = true;
    else if (st->move != NULL)
        return fo_errf(err, FO_EBUSY, "a move of %s %s%s is already running", cluster, fo__vip_what(key), key), NULL;
    if ((m = calloc(1, sizeof(*m))) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory"), NULL;
    m->v = v;
    m->st = st;
    snprintf(m->cluster, sizeof(m->cluster), "%s", cluster);
    snprintf(m->key, sizeof(m->key), "%s", key);
    snprintf(m->to_host, sizeof(m->to_host), "%s", to_host);
    m->to_port = to_port;
    m->epoch = epoch;
    m->deadline_ms = deadline_ms;
    m->cb = cb;
    m->data = data;
    m->t0_ms = uv_now(v->ctl->loop);
    v->gen++;
    uv_timer_init(v->ctl->loop, &m->timer);
    m->timer.data = m;
    v->refs++;
    if (queue) {
        st->queued = m;
        fo_vipmgr_move_cancel(st->move);
        return m;
    }
    st->move = m;
    /* A renewal of the loop may be in flight: it is harmless (same epoch or lower,
     * and the release below is fenced by the higher epoch), but it no longer counts. */
    move_later(m, m->t0_ms); /* starts from the loop, never inside this call */
    return m;
}

struct fo_vipmgr_move *fo_vipmgr_move(struct fo_vipmgr *v, const char *cluster, const char *to_host, uint16_t to_port,
                                      uint64_t epoch, uint64_t deadline_ms, fo_vipmgr_move_cb cb, void *data,
                                      char err[FO_ERRLEN])
{
    return move_start(v, cluster, "", to_host, to_port, epoch, deadline_ms, cb, data, err);
}

void fo_vipmgr_move_cancel(struct fo_vipmgr_move *m)
{
    m->cancelled = true;
    if (m->call != NULL)
        fo_agentc_cancel(m->call); /* its callback finishes the move */
    else if (!m->committing && m->phase != M_DONE)
        move_later(m, 0);
}

/* ------------------------------------------------------------------ the renewal loop */

static void renewed(void *data, int status, bool written, const char *error, const Fo__Agent__AgentResponse *resp);
static void tick_cb(uv_timer_t *t);

/* Time between two renewals of a lease: lease/4 at most (DESIGN.md §7). The loop only
 * looks on its TICK_MS tick, so a renewal due at lease/4 would go out up to a tick
 * later; it is made due one tick early instead. What a leader change may take before
 * the VIP lapses is lease minus this period (docs/vip-leader-change.md), so it must
 * not grow by a tick. */
static unsigned renew_period_ms(const struct fo_store_cluster *c)
{
    unsigned quarter = fo__vip_lease_ms(c) / 4;

    return quarter > 2 * TICK_MS ? quarter - TICK_MS : quarter;
}

unsigned fo__vip_renew_period_ms(const struct fo_store_cluster *c)
{
    return renew_period_ms(c);
}

/* Renews the lease of the recorded holder t of one VIP (or acquires it again there,
 * when its agent said it lost it). */
static void renew_holder(struct fo_vipmgr *v, struct fo__vip_state *s, const struct fo_store_cluster *c,
                         const struct fo__vip_target *t)
{
    Fo__Agent__AgentRequest req = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__RenewLease ren = FO__AGENT__RENEW_LEASE__INIT;
    char err[FO_ERRLEN], addr[FO_VIP_LEN];
    uint64_t now = uv_now(v->ctl->loop);

    if (now < s->next_renew_ms || t->host[0] == '\0') return;
    if (!fo__vip_revoke_allows(v, s, c, t->host, t->port)) return;
    fo__vip_lapse_check(v, s, c);
    fo__vip_mark(s, &s->call_mark);
    note_sent(v, s, t->host, t->port);
    s->direct_sent_ms = now;
    s->next_renew_ms = now + renew_period_ms(c);
    if (s->reacquire) {
        if (send_acquire(v, c, t->cidr, t->host, fo__vip_agent_port(c), c->epoch, fo__vip_lease_ms(c) / 2, renewed, s,
                         &s->call, err) != 0) {
            fo__vip_unsend(s, &s->call_mark);
            snprintf(s->error, sizeof(s->error), "acquire: %.200s", err);
            return;
        }
        v->reacquired++;
        v->refs++;
        return;
    }
    snprintf(addr, sizeof(addr), "%s", t->addr);
    ren.cluster = (char *)c->name;
    ren.epoch = c->epoch;
    ren.vip = addr;
    ren.sent_mono_ms = now; /* what note_sent recorded */
    ren.sender_boot = v->boot;
    req.body_case = FO__AGENT__AGENT_REQUEST__BODY_RENEW;
    req.renew = &ren;
    s->call =
        fo_agentc_call_w(v->agentc, t->host, fo__vip_agent_port(c), &req, fo__vip_lease_ms(c) / 2, renewed, s, err);
    if (s->call == NULL) {
        fo__vip_unsend(s, &s->call_mark);
        snprintf(s->error, sizeof(s->error), "renew: %.200s", err);
    } else
        v->refs++;
}

/* Keeps VIP key of c on want (renewing it there) or moves it there. */
static void keep_or_move(struct fo_vipmgr *v, const struct fo_store_cluster *c, const char *key, const char *want_host,
                         uint16_t want_port, const char *why)
{
    struct fo__vip_target t;
    struct fo__vip_state *s;
    char err[FO_ERRLEN];

    if ((s = fo__vip_state_get(v, c->name, key)) == NULL || s->move != NULL) return;
    if (fo__vip_target_of(v, c, key, &t) != 0) return;
    /* The writer VIP's holder is the designated primary but does not answer this node
     * (its direct renewal failed, or is a renewal period overdue): renew it through
     * another agent of the cluster too (docs/relayed-lease.md). */
    if (key[0] == '\0' && want_host != NULL && t.host[0] != '\0' && strcmp(t.host, want_host) == 0 &&
        t.port == want_port && !s->reacquire &&
        (s->relaying || (s->call != NULL && uv_now(v->ctl->loop) - s->direct_sent_ms >= renew_period_ms(c))))
        fo__vip_relay_maybe(v, s, c, &t);
    if (s->call != NULL) return;
    if (want_host == NULL || (strcmp(t.host, want_host) == 0 && t.port == want_port)) {
        renew_holder(v, s, c, &t);
        return;
    }
    FO_INFO(MOD, "cluster %s: %s %s holder %s:%u is not where it should be (%s:%u: %s); moving it", c->name,
            fo__vip_what(key), t.cidr, t.host[0] ? t.host : "(nobody)", t.port, want_host, want_port, why);
    if (move_start(v, c->name, key, want_host, want_port, c->epoch,
                   uv_now(v->ctl->loop) + 3u * fo__vip_lease_ms(c) + v->ctl->cfg.election_timeout_ms, NULL, NULL,
                   err) == NULL)
        FO_WARN(MOD, "cluster %s: %s", c->name, err);
}

struct cand_collect {
    struct fo_vipmgr *v;
    const struct fo_store_cluster *c;
    struct fo_reader_cand *cands;
    unsigned n;
};

/* The leader's live view of one instance, for reader placement. */
static int collect_cand(void *data, const struct fo_store_instance *i)
{
    struct cand_collect *cc = data;
    const struct fo_store_cluster *c = cc->c;
    struct fo_reader_cand *x;
    struct fo_watch_view w;

    if (cc->n >= FO_MAX_INSTANCES_PER_CLUSTER) return 0;
    x = &cc->cands[cc->n++];
    memset(x, 0, sizeof(*x));
    snprintf(x->host, sizeof(x->host), "%s", i->host);
    x->port = i->port;
    x->is_primary = strcmp(i->host, c->primary_host) == 0 && i->port == c->primary_port;
    x->maintenance = i->maintenance || c->maintenance;
    x->quarantined = i->quarantined;
    x->lag_s = -1;
    if (!fo_monitor_view(cc->v->ctl, c->name, i->host, i->port, &w) || !w.has_sample) return 0;
    x->up = w.health == FO_HEALTH_UP && w.last_ok;
    x->replica_ok = w.sample->is_replica && w.sample->io_running == FO_THREAD_YES &&
                    w.sample->sql_running == FO_THREAD_YES && w.sample->master_port == c->primary_port &&
                    strcmp(w.sample->master_host, c->primary_host) == 0;
    x->lag_s = w.sample->lag_s;
    return 0;
}

static void loop_readers(struct fo_vipmgr *v, const struct fo_store_cluster *c)
{
    struct fo_reader_cand cands[FO_MAX_INSTANCES_PER_CLUSTER];
    struct fo_reader_vip rv[FO_MAX_READER_VIPS];
    struct cand_collect cc = {v, c, cands, 0};
    struct fo__vip_target t;
    unsigned i, max_lag = c->reader_max_lag_s != 0 ? c->reader_max_lag_s : FO_DEFAULT_READER_MAX_LAG_S;

    fo_store_each_instance(v->ctl->store, c->name, collect_cand, &cc);
    for (i = 0; i < c->n_reader_vips; i++) {
        memset(&rv[i], 0, sizeof(rv[i]));
        if (fo__vip_target_of(v, c, c->reader_vips[i], &t) != 0) continue;
        snprintf(rv[i].holder_host, sizeof(rv[i].holder_host), "%s", t.host);
        rv[i].holder_port = t.port;
    }
    fo_readers_place(cands, cc.n, max_lag, rv, c->n_reader_vips);
    for (i = 0; i < c->n_reader_vips; i++) {
        const struct fo_reader_cand *w = rv[i].want >= 0 ? &cands[rv[i].want] : NULL;
        const char *why = "";
        int h;
        /* Say why the current holder is no longer good enough. */
        for (h = 0; h < (int)cc.n; h++)
            if (strcmp(cands[h].host, rv[i].holder_host) == 0 && cands[h].port == rv[i].holder_port)
                fo_reader_eligible(&cands[h], max_lag, &why);
        keep_or_move(v, c, c->reader_vips[i], w ? w->host : NULL, w ? w->port : 0,
                     rv[i].holder_host[0] == '\0' ? "nobody holds it"
                     : why[0]                     ? why
                                                  : "rebalanced");
    }
}

/* Whether a failover of c is unfinished: a run of this node, or one the store shows
 * (begun by a previous leader, or a run that died while this node stayed leader).
 * A store error counts as running: the loop then only waits a tick. */
static bool failover_unfinished(struct fo_vipmgr *v, const struct fo_store_cluster *c);

bool fo__vip_failover_unfinished(struct fo_vipmgr *v, const struct fo_store_cluster *c)
{
    return failover_unfinished(v, c);
}

static bool failover_unfinished(struct fo_vipmgr *v, const struct fo_store_cluster *c)
{
    struct fo_store_failover f;
    int rc;

    if (fo_ctl_failover_running(v->ctl, c->name)) return true;
    rc = fo_store_get_running_failover(v->ctl->store, c->name, &f);
    if (rc == FO_ENOTFOUND) return false;
    if (rc != 0) FO_WARN(MOD, "cluster %s: reading its running failover: %s", c->name, fo_strerror(rc));
    return true;
}

static int loop_cluster(void *data, const struct fo_store_cluster *c)
{
    struct fo_vipmgr *v = data;

    /* DESIGN.md §6: the failover owns the VIP until its VIP step; renewing the old
     * primary's lease (or re-acquiring it there) would undo the fence. */
    if (c->primary_host[0] == '\0' || failover_unfinished(v, c)) return 0;
    if (c->vip[0] != '\0') keep_or_move(v, c, "", c->primary_host, c->primary_port, "the designated primary");
    if (c->n_reader_vips > 0) loop_readers(v, c);
    fo__vip_watch_cluster(v, c);
    return 0;
}

/* Part of a ready leader's first act: renews the recorded holder of VIP key of c at
 * once, where the loop would renew it (for the writer VIP: only on the designated
 * primary; a holder elsewhere is the loop's to move, never to renew). Returns whether
 * a lease message went out. */
static bool first_renew(struct fo_vipmgr *v, const struct fo_store_cluster *c, const char *key, const char *want_host,
                        uint16_t want_port)
{
    struct fo__vip_target t;
    struct fo__vip_state *s;

    if ((s = fo__vip_state_get(v, c->name, key)) == NULL || s->call != NULL || s->move != NULL) return false;
    if (fo__vip_target_of(v, c, key, &t) != 0 || t.host[0] == '\0') return false;
    if (want_host != NULL && (strcmp(t.host, want_host) != 0 || t.port != want_port)) return false;
    s->next_renew_ms = 0;
    renew_holder(v, s, c, &t);
    return s->call != NULL;
}

struct first_act {
    struct fo_vipmgr *v;
    unsigned sent;
};

/* DESIGN.md §7: "a new leader renews the recorded holder's lease as its first act".
 * The old leader's last renewal may be a renewal period older than its death and the
 * election took up to two election timeouts, so what is left of the holder's lease is
 * short (docs/vip-leader-change.md): waiting for the next tick could cost the VIP.
 * Renewing the recorded holder under the cluster's epoch cannot make a second holder:
 * the store names every host that may hold the VIP, and the agent only extends a lease
 * it still holds (agent/lease.h). Clusters with an unfinished failover are left to the
 * resumed failover, exactly as the loop does. */
static int first_cluster(void *data, const struct fo_store_cluster *c)
{
    struct first_act *fa = data;
    unsigned i;

    if (c->primary_host[0] == '\0' || failover_unfinished(fa->v, c)) return 0;
    if (c->vip[0] != '\0') fa->sent += first_renew(fa->v, c, "", c->primary_host, c->primary_port);
    for (i = 0; i < c->n_reader_vips; i++) fa->sent += first_renew(fa->v, c, c->reader_vips[i], NULL, 0);
    return 0;
}

static void renewed_do(struct fo__vip_state *s, int status, const char *error, const Fo__Agent__AgentResponse *resp)
{
    s->call = NULL;
    if (status == FO_ECANCELED) return;
    if (status == 0 && resp->code == 0) {
        if (!s->held)
            FO_INFO(MOD, "cluster %s: %s %s lease confirmed by %s:%u", s->cluster, fo__vip_what(s->key), s->key,
                    s->sent_host, s->sent_port);
        s->held = true;
        s->error[0] = '\0';
        s->reacquire = false;
        if (s->lapse_since_ms != 0) fo__vip_lapse_over(s->v, s);
        s->last_ok_sent_ms = s->sent_ms;
        if (s->relaying) fo__vip_relay_direct_ok(s->v, s);
        return;
    }
    /* No answer at all from the writer VIP's holder: relays take over (the loop
     * checks that it is still the designated primary before each one). */
    if (status != 0 && s->key[0] == '\0' && !s->reacquire) s->relaying = true;
    if (s->held || s->error[0] == '\0')
        FO_WARN(MOD, "cluster %s: %s %s lease on %s:%u: %s", s->cluster, fo__vip_what(s->key), s->key, s->sent_host,
                s->sent_port, error[0] ? error : fo_strerror(status));
    s->held = false;
    snprintf(s->error, sizeof(s->error), "lease on %s:%u: %.120s", s->sent_host, s->sent_port,
             error[0] ? error : fo_strerror(status));
    /* The agent no longer holds it (expired, released, restarted): the recorded
     * holder is the only host that may hold it, so taking it again there is safe. */
    if (status == 0 && resp->code == FO_ENOTFOUND) {
        bool was_renewal = !s->reacquire;
        if (s->lapse_since_ms == 0) fo__vip_lapse_seen(s->v, s, error);
        s->reacquire = true;
        s->next_renew_ms = 0;
        /* Every tick without the VIP is a write outage: after a refused renewal, look
         * again now (the loop checks that the holder is still where the VIP belongs)
         * instead of a tick later. A refused re-acquire waits for the tick, so that an
         * agent that keeps refusing (e.g. not configured for the cluster) is not asked
         * in a tight loop. */
        if (was_renewal && s->v->ready && !s->v->stopping) uv_timer_start(&s->v->tick, tick_cb, 0, TICK_MS);
    }
}

/* The call held a reference: at stop, the states live until its callback ran. */
static void renewed(void *data, int status, bool written, const char *error, const Fo__Agent__AgentResponse *resp)
{
    struct fo__vip_state *s = data;
    struct fo_vipmgr *v = s->v;

    /* Never written (e.g. the connect to a cut-off host timed out): it cannot reach
     * the agent, now or later, so the old lease runs out as counted before it. */
    if (!written) fo__vip_unsend(s, &s->call_mark);
    renewed_do(s, status, error, resp);
    fo__vip_unref(v);
}

static void tick_cb(uv_timer_t *t)
{
    struct fo_vipmgr *v = t->data;

    if (!v->ready || v->stopping || !fo_raft_is_ready(&v->ctl->raft)) return;
    fo_store_each_vip_cluster(v->ctl->store, loop_cluster, v);
}

/* ------------------------------------------------------------------ lifetime */

/* A lease shorter than fo_config_min_vip_lease_ms may run out between the old
 * leader's death and the new leader's first renewal (docs/vip-leader-change.md): still
 * safe, but a write outage on some leader changes, so say so at start. */
static void warn_short_leases(const struct fo_config *cfg)
{
    unsigned i, lease, need = fo_config_min_vip_lease_ms(cfg->election_timeout_ms, cfg->heartbeat_timeout_ms);

    for (i = 0; i < cfg->n_clusters; i++) {
        const struct fo_cluster_cfg *cc = &cfg->clusters[i];
        if (cc->vip[0] == '\0' && cc->n_reader_vips == 0) continue;
        lease = cc->vip_lease_ms != 0 ? cc->vip_lease_ms : FO_DEFAULT_VIP_LEASE_MS;
        if (lease < need)
            FO_WARN(MOD,
                    "cluster %s: vip_lease_ms %u < %u, what a leader change may take (4/3 x (2 x "
                    "election_timeout_ms %u + heartbeat_timeout_ms %u + %u)): the VIP may lapse for a moment when "
                    "the leader dies; lengthen the lease or shorten the election timeout",
                    cc->name, lease, need, cfg->election_timeout_ms, cfg->heartbeat_timeout_ms,
                    FO_LEADER_HANDOVER_SLACK_MS);
    }
}

int fo_vipmgr_start(struct fo_ctl *ctl, struct fo_vipmgr **out, char err[FO_ERRLEN])
{
    struct fo_vipmgr *v = calloc(1, sizeof(*v));
    int rc;

    if (v == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    v->ctl = ctl;
    /* Agents learn each sender's clock offset per boot id (docs/vip-lease-delay.md):
     * a restarted failoverd must not be judged by its previous life's offset. */
    if (uv_random(NULL, NULL, &v->boot, sizeof(v->boot), 0, NULL) != 0 || v->boot == 0)
        v->boot = ((uint64_t)uv_os_getpid() << 32) ^ uv_hrtime() ^ 1u;
    if ((rc = fo_agentc_new(&v->agentc, ctl->loop, &ctl->cfg.tls, ctl->tls_files, err)) != 0) {
        free(v);
        return rc;
    }
    uv_timer_init(ctl->loop, &v->tick);
    v->tick.data = v;
    v->refs = 1;
    if (fo__vip_relay_init(v, err) != 0) FO_WARN(MOD, "relayed lease renewals off: %s", err);
    uv_timer_start(&v->tick, tick_cb, TICK_MS, TICK_MS);
    warn_short_leases(&ctl->cfg);
    *out = v;
    return 0;
}

static void tick_closed(uv_handle_t *h)
{
    fo__vip_unref(h->data);
}

void fo_vipmgr_leader_ready(struct fo_vipmgr *v)
{
    struct first_act fa = {v, 0};
    struct fo__vip_state *s;

    if (v == NULL || v->stopping) return;
    v->ready = true;
    v->ready_ms = uv_now(v->ctl->loop);
    for (s = v->states; s != NULL; s = s->next) {
        s->sent_valid = false;
        s->next_renew_ms = 0;
        s->last_ok_sent_ms = 0;
        s->lapse_since_ms = 0;
        s->lapse_reported = false;
    }
    if (!fo_raft_is_ready(&v->ctl->raft)) return; /* the tick renews once it is */
    fo_store_each_vip_cluster(v->ctl->store, first_cluster, &fa);
    v->first_renewals += fa.sent;
    if (fa.sent > 0) FO_INFO(MOD, "leader ready: renewing %u VIP lease(s) at once (first act)", fa.sent);
}

void fo_vipmgr_leader_lost(struct fo_vipmgr *v)
{
    struct fo__vip_state *s;

    if (v == NULL) return;
    v->ready = false;
    v->gen++;
    for (s = v->states; s != NULL; s = s->next) {
        s->sent_valid = false;
        s->held = false;
        /* A revoke is a promise of this term's failover run; the next leader's loop
         * reads the unfinished failover from the store instead. */
        s->revoked = false;
        s->released_by_revoke = false;
        if (s->call != NULL) fo_agentc_cancel(s->call);
        fo__vip_relay_cancel(s);
        if (s->queued != NULL) fo_vipmgr_move_cancel(s->queued);
        if (s->move != NULL) fo_vipmgr_move_cancel(s->move);
    }
    fo__vip_revoke_cancel_all(v);
    fo__vip_watch_reset(v);
}

void fo__vip_quiesce(struct fo__vip_state *s)
{
    fo__vip_relay_cancel(s);
    if (s->call != NULL) fo_agentc_cancel(s->call);
    if (s->move != NULL && s->move->cb == NULL) fo_vipmgr_move_cancel(s->move);
}

void fo_vipmgr_stop(struct fo_vipmgr *v)
{
    if (v == NULL || v->stopping) return;
    fo_vipmgr_leader_lost(v);
    v->stopping = true;
    fo_agentc_close(v->agentc);
    uv_close((uv_handle_t *)&v->tick, tick_closed);
}

/* ------------------------------------------------------------------ views */

static void held_sample(struct fo_buf *b, const struct fo__vip_state *s, double x)
{
    struct fo_prom_label l[3] = {
        {"cluster", s->cluster}, {"kind", s->key[0] ? "reader" : "writer"}, {"vip", s->key[0] ? s->key : "writer"}};

    fo_prom_value(b, "failoverd_vip_held", l, 3, x);
}

static void sample(struct fo_buf *b, const char *name, const char *label, const char *value, double x)
{
    struct fo_prom_label l = {label, value};

    fo_prom_value(b, name, &l, label != NULL ? 1 : 0, x);
}

void fo_vipmgr_view(struct fo_vipmgr *v, const char *cluster, const char *key, struct fo_vipmgr_view *out)
{
    struct fo__vip_state *s;

    memset(out, 0, sizeof(*out));
    if (v == NULL || !v->ready || (s = fo__vip_state_find(v, cluster, key)) == NULL) return;
    out->known = true;
    out->held = s->held && s->n_strays == 0;
    if (s->n_strays == 0) {
        snprintf(out->error, sizeof(out->error), "%s", s->error);
        return;
    }
    /* Surfaced through the error too, so that every reader of the view (topology's
     * lease line) shows it without knowing about the stray field. */
    fo__vip_stray_text(s, uv_now(v->ctl->loop), out->stray, sizeof(out->stray));
    snprintf(out->error, sizeof(out->error), "VIP ALSO present on %.120s (stray holder, no lease; releasing it)%s%.60s",
             out->stray, s->error[0] ? "; " : "", s->error);
}

void fo_vipmgr_metrics(struct fo_vipmgr *v, struct fo_buf *b)
{
    struct fo_agentc_stats st;
    struct fo__vip_state *s;

    if (v == NULL) return;
    fo_agentc_stats(v->agentc, &st);
    fo_prom_family(b, "failoverd_vip_held", "gauge",
                   "1 if the VIP holder's agent confirmed the lease on this leader's last message");
    for (s = v->states; s != NULL; s = s->next) held_sample(b, s, v->ready && s->held ? 1.0 : 0.0);
    fo_prom_family(b, "failoverd_vip_moves_total", "counter", "VIP moves finished by this node, by result");
    sample(b, "failoverd_vip_moves_total", "result", "ok", (double)v->moves_ok);
    sample(b, "failoverd_vip_moves_total", "result", "failed", (double)v->moves_failed);
    fo_prom_family(b, "failoverd_vip_first_renewals_total", "counter",
                   "lease renewals sent the moment this node became the ready leader (its first act)");
    sample(b, "failoverd_vip_first_renewals_total", NULL, NULL, (double)v->first_renewals);
    fo_prom_family(b, "failoverd_agent_calls_total", "counter", "failover-agent RPCs by outcome");
    sample(b, "failoverd_agent_calls_total", "result", "ok", (double)st.ok);
    sample(b, "failoverd_agent_calls_total", "result", "refused", (double)st.refused);
    sample(b, "failoverd_agent_calls_total", "result", "failed", (double)st.failed);
    fo_prom_family(b, "failoverd_agent_tls_refused_total", "counter",
                   "connections to agents that failed mutual TLS authentication");
    sample(b, "failoverd_agent_tls_refused_total", NULL, NULL, (double)st.tls_refused);
    fo__vip_watch_metrics(v, b);
    fo__vip_relay_metrics(v, b);
}
