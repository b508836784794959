/* The VIP lease state machine (pure); see lease.h for the contract.
 *
 * Two tables (STYLE.md §6): `rules` says, for each state and event, the next state,
 * the actions and the result; `allowed` lists every state change the machine may
 * make. Guards that depend on the arguments (epoch, lease length, deadline) run before
 * the table is consulted; a disagreement between the two tables is a programmer error
 * and asserts. */
#include "agent/lease.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define N_STATES 4

enum event { EV_ACQUIRE = 0, EV_RENEW, EV_RELEASE, EV_EXPIRE, N_EVENTS };

struct rule {
    enum fo_lease_state next;
    unsigned actions;
    int rc;
};

#define DEL_RO (FO_LEASE_DEL_VIP | FO_LEASE_SET_READ_ONLY)

static const struct rule rules[N_STATES][N_EVENTS] =
    {
        [FO_LEASE_NONE] =
            {
                [EV_ACQUIRE] = {FO_LEASE_HELD, FO_LEASE_ADD_VIP, 0},
                [EV_RENEW] = {FO_LEASE_NONE, 0, FO_ENOTFOUND},
                [EV_RELEASE] = {FO_LEASE_RELEASED, FO_LEASE_DEL_VIP, 0},
                [EV_EXPIRE] = {FO_LEASE_NONE, 0, 0},
            },
        [FO_LEASE_HELD] =
            {
                [EV_ACQUIRE] = {FO_LEASE_HELD, FO_LEASE_ADD_VIP, 0},
                [EV_RENEW] = {FO_LEASE_HELD, 0, 0},
                [EV_RELEASE] = {FO_LEASE_RELEASED, FO_LEASE_DEL_VIP, 0},
                [EV_EXPIRE] = {FO_LEASE_EXPIRED, DEL_RO, 0},
            },
        /* A renew never revives an expired lease: the leader may already be waiting out
     * the lease to move the VIP elsewhere (DESIGN.md §7). */
        [FO_LEASE_EXPIRED] =
            {
                [EV_ACQUIRE] = {FO_LEASE_HELD, FO_LEASE_ADD_VIP, 0},
                [EV_RENEW] = {FO_LEASE_EXPIRED, 0, FO_ENOTFOUND},
                [EV_RELEASE] = {FO_LEASE_RELEASED, FO_LEASE_DEL_VIP, 0},
                [EV_EXPIRE] = {FO_LEASE_EXPIRED, 0, 0},
            },
        [FO_LEASE_RELEASED] =
            {
                [EV_ACQUIRE] = {FO_LEASE_HELD, FO_LEASE_ADD_VIP, 0},
                [EV_RENEW] = {FO_LEASE_RELEASED, 0, FO_ENOTFOUND},
                [EV_RELEASE] = {FO_LEASE_RELEASED, FO_LEASE_DEL_VIP, 0},
                [EV_EXPIRE] = {FO_LEASE_RELEASED, 0, 0},
            },
};

/* State changes only. Nothing returns to NONE: it means "not since the agent started". */
static const bool allowed[N_STATES][N_STATES] = {
    [FO_LEASE_NONE] = {[FO_LEASE_HELD] = true, [FO_LEASE_RELEASED] = true},
    [FO_LEASE_HELD] = {[FO_LEASE_EXPIRED] = true, [FO_LEASE_RELEASED] = true},
    [FO_LEASE_EXPIRED] = {[FO_LEASE_HELD] = true, [FO_LEASE_RELEASED] = true},
    [FO_LEASE_RELEASED] = {[FO_LEASE_HELD] = true},
};

static bool valid_state(enum fo_lease_state s)
{
    return (unsigned)s < N_STATES;
}

bool fo_lease_allowed(enum fo_lease_state from, enum fo_lease_state to)
{
    if (!valid_state(from) || !valid_state(to)) return false;
    return allowed[from][to];
}

/* The one place the state changes. */
static void set_state(struct fo_lease *l, enum fo_lease_state to)
{
    if (to == l->state) return;
    assert(fo_lease_allowed(l->state, to));
    l->state = to;
}

/* Looks the event up in the table, moves to the next state and returns its result,
 * OR-ing the actions into *actions. */
static int step(struct fo_lease *l, enum event ev, unsigned *actions)
{
    const struct rule *r;

    assert(valid_state(l->state));
    r = &rules[l->state][ev];
    set_state(l, r->next);
    *actions |= r->actions;
    return r->rc;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int stale(const struct fo_lease *l, uint64_t epoch, const char *what, char *err)
{
    return fo_errf(err, FO_ESTALE, "%s at epoch %llu < %llu held by the lease", what, (unsigned long long)epoch,
                   (unsigned long long)l->epoch);
}

void fo_lease_init(struct fo_lease *l)
{
    l->state = FO_LEASE_NONE;
    l->epoch = 0;
    l->lease_ms = 0;
    l->deadline_ms = 0;
}

unsigned fo_lease_tick(struct fo_lease *l, uint64_t now_ms)
{
    unsigned actions = 0;

    if (l->state == FO_LEASE_HELD && now_ms >= l->deadline_ms) step(l, EV_EXPIRE, &actions);
    return actions;
}

static int delayed(uint64_t delay_ms, uint64_t lease_ms, char *err)
{
    return fo_errf(err, FO_ETIMEDOUT, "delayed: sent %llu ms before it could act, of a %llu ms lease",
                   (unsigned long long)delay_ms, (unsigned long long)lease_ms);
}

int fo_lease_acquire_delayed(struct fo_lease *l, uint64_t epoch, uint64_t lease_ms, uint64_t delay_ms, uint64_t now_ms,
                             unsigned *actions, char err[FO_ERRLEN])
{
    *actions = 0;
    if (lease_ms == 0 || lease_ms > FO_LEASE_MAX_MS) {
        *actions = fo_lease_tick(l, now_ms);
        return fo_errf(err, FO_EINVAL, "lease of %llu ms not in 1..%u", (unsigned long long)lease_ms, FO_LEASE_MAX_MS);
    }
    if (epoch < l->epoch) {
        *actions = fo_lease_tick(l, now_ms);
        return stale(l, epoch, "acquire", err);
    }
    /* A late acquire could hand this host a lease the leader already counts as over. */
    if (delay_ms >= lease_ms || lease_ms - delay_ms <= FO_LEASE_MIN_LEFT_MS) {
        *actions = fo_lease_tick(l, now_ms);
        return delayed(delay_ms, lease_ms, err);
    }
    l->epoch = epoch;
    l->lease_ms = lease_ms;
    l->deadline_ms = add_sat(now_ms, lease_ms - delay_ms);
    return step(l, EV_ACQUIRE, actions);
}

int fo_lease_acquire(struct fo_lease *l, uint64_t epoch, uint64_t lease_ms, uint64_t now_ms, unsigned *actions,
                     char err[FO_ERRLEN])
{
    return fo_lease_acquire_delayed(l, epoch, lease_ms, 0, now_ms, actions, err);
}

int fo_lease_renew_delayed(struct fo_lease *l, uint64_t epoch, uint64_t delay_ms, uint64_t now_ms, unsigned *actions,
                           char err[FO_ERRLEN])
{
    uint64_t until;
    int rc;

    *actions = fo_lease_tick(l, now_ms);
    if (epoch < l->epoch) return stale(l, epoch, "renew", err);
    if (l->state == FO_LEASE_HELD && (delay_ms >= l->lease_ms || l->lease_ms - delay_ms <= FO_LEASE_MIN_LEFT_MS))
        return delayed(delay_ms, l->lease_ms, err);
    rc = step(l, EV_RENEW, actions);
    if (rc != 0)
        return fo_errf(err, rc, "renew at epoch %llu: no lease held (%s)", (unsigned long long)epoch,
                       fo_lease_state_name(l->state));
    l->epoch = epoch;
    /* Never shorter: a renewal overtaken by a later one must not cut its lease. */
    until = add_sat(now_ms, l->lease_ms - delay_ms);
    if (until > l->deadline_ms) l->deadline_ms = until;
    return 0;
}

int fo_lease_renew(struct fo_lease *l, uint64_t epoch, uint64_t now_ms, unsigned *actions, char err[FO_ERRLEN])
{
    return fo_lease_renew_delayed(l, epoch, 0, now_ms, actions, err);
}

/* ---- the senders of direct lease messages ------------------------------------------------ */

void fo_lease_senders_init(struct fo_lease_senders *t)
{
    memset(t, 0, sizeof *t);
}

/* The slot of (node, boot), or the least recently used one, emptied. */
static struct fo_lease_sender *sender_slot(struct fo_lease_senders *t, const char *node, uint64_t boot, bool *fresh)
{
    struct fo_lease_sender *lru = &t->s[0];
    unsigned i;

    for (i = 0; i < FO_LEASE_SENDERS; i++) {
        struct fo_lease_sender *x = &t->s[i];
        if (x->used != 0 && x->boot == boot && strncmp(x->node, node, sizeof x->node - 1) == 0) {
            *fresh = false;
            return x;
        }
        if (x->used < lru->used) lru = x;
    }
    memset(lru, 0, sizeof *lru);
    snprintf(lru->node, sizeof lru->node, "%s", node);
    lru->boot = boot;
    *fresh = true;
    return lru;
}

int fo_lease_sender_judge(struct fo_lease_senders *t, const char *node, uint64_t boot, uint64_t sent_ms,
                          uint64_t anchor_ms, uint64_t now_ms, uint64_t *delay_ms, char err[FO_ERRLEN])
{
    struct fo_lease_sender *x;
    int64_t off, low, use;
    bool fresh;

    *delay_ms = 0;
    if (boot == 0 || sent_ms == 0) return fo_errf(err, FO_EINVAL, "lease message without send time or sender boot");
    /* Both clocks are monotonic milliseconds since their host booted: far below 2^62. */
    off = (int64_t)now_ms - (int64_t)sent_ms;
    low = (int64_t)anchor_ms - (int64_t)sent_ms;
    x = sender_slot(t, node, boot, &fresh);
    x->used = ++t->clock;
    if (fresh || off < x->off_min) x->off_min = off;
    if (anchor_ms != 0 && anchor_ms <= now_ms && (!x->anchored || low > x->off_low)) {
        x->off_low = low;
        x->anchored = true;
    }
    use = x->off_min;
    if (x->anchored && x->off_low < use) use = x->off_low;
    *delay_ms = off > use ? (uint64_t)(off - use) : 0;
    return 0;
}

int fo_lease_renew_relayed(struct fo_lease *l, uint64_t epoch, uint64_t lease_ms, uint64_t issued_ms, uint64_t now_ms,
                           unsigned *actions, char err[FO_ERRLEN])
{
    uint64_t until;

    *actions = fo_lease_tick(l, now_ms);
    if (lease_ms == 0 || lease_ms > FO_LEASE_MAX_MS)
        return fo_errf(err, FO_EINVAL, "relayed lease of %llu ms not in 1..%u", (unsigned long long)lease_ms,
                       FO_LEASE_MAX_MS);
    if (issued_ms > now_ms) return fo_errf(err, FO_EINVAL, "nonce issued in the future");
    if (epoch < l->epoch) return stale(l, epoch, "relayed renew", err);
    if (epoch > l->epoch)
        return fo_errf(err, FO_EPERM,
                       "relayed renew at epoch %llu > %llu of the lease: a relay never takes a new epoch",
                       (unsigned long long)epoch, (unsigned long long)l->epoch);
    if (l->state != FO_LEASE_HELD)
        return fo_errf(err, FO_ENOTFOUND, "relayed renew at epoch %llu: no lease held (%s)", (unsigned long long)epoch,
                       fo_lease_state_name(l->state));
    /* The lease never gets longer than the acquire gave, and never shorter than it is. */
    until = add_sat(issued_ms, lease_ms < l->lease_ms ? lease_ms : l->lease_ms);
    if (until > l->deadline_ms) l->deadline_ms = until;
    return step(l, EV_RENEW, actions);
}

void fo_lease_nonces_init(struct fo_lease_nonces *t)
{
    memset(t, 0, sizeof *t);
}

void fo_lease_nonce_issue(struct fo_lease_nonces *t, const uint8_t *v, uint64_t now_ms)
{
    struct fo_lease_nonce *n = &t->n[t->next];

    memcpy(n->v, v, FO_LEASE_NONCE_LEN);
    n->issued_ms = now_ms;
    n->live = true;
    t->next = (t->next + 1) % FO_LEASE_NONCES;
}

int fo_lease_nonce_take(struct fo_lease_nonces *t, const uint8_t *v, size_t len, uint64_t now_ms, uint64_t max_age_ms,
                        uint64_t *issued_ms, char err[FO_ERRLEN])
{
    unsigned i;

    if (len != FO_LEASE_NONCE_LEN)
        return fo_errf(err, FO_EINVAL, "nonce of %zu bytes, not %d", len, FO_LEASE_NONCE_LEN);
    for (i = 0; i < FO_LEASE_NONCES; i++) {
        struct fo_lease_nonce *n = &t->n[i];
        if (!n->live || memcmp(n->v, v, FO_LEASE_NONCE_LEN) != 0) continue;
        n->live = false; /* single use, whatever follows */
        if (now_ms < n->issued_ms || now_ms - n->issued_ms > max_age_ms)
            return fo_errf(err, FO_ETIMEDOUT, "nonce issued %llu ms ago (at most %llu)",
                           (unsigned long long)(now_ms - n->issued_ms), (unsigned long long)max_age_ms);
        *issued_ms = n->issued_ms;
        return 0;
    }
    return fo_errf(err, FO_ENOTFOUND, "nonce not issued here, already used, or replaced by newer ones");
}

int fo_lease_release(struct fo_lease *l, uint64_t epoch, unsigned *actions, char err[FO_ERRLEN])
{
    *actions = 0;
    if (epoch < l->epoch) return stale(l, epoch, "release", err);
    l->epoch = epoch;
    return step(l, EV_RELEASE, actions);
}

bool fo_lease_deadline(const struct fo_lease *l, uint64_t *deadline_ms)
{
    if (l->state != FO_LEASE_HELD) return false;
    *deadline_ms = l->deadline_ms;
    return true;
}

const char *fo_lease_state_name(enum fo_lease_state s)
{
    static const char *const names[N_STATES] = {
        [FO_LEASE_NONE] = "none",
        [FO_LEASE_HELD] = "held",
        [FO_LEASE_EXPIRED] = "expired",
        [FO_LEASE_RELEASED] = "released",
    };

    return valid_state(s) ? names[s] : "invalid";
}
