/* Per-instance health state machine (pure); see health.h for the contract.
 *
 * Two tables (STYLE.md §6): `next` says where one probe outcome leads from each
 * state, and `allowed` lists every state change the machine may make. The step
 * function classifies the outcome, looks the next state up, and asserts the change
 * is allowed; a disagreement between the two tables is a programmer error. Which
 * failures are definitive (health.h: a refusal right after a success) is decided in
 * classify(), so the table stays one row per state. */
#include "controller/probe/health.h"

#include <assert.h>
#include <limits.h>

#define N_STATES 4

/* What one probe outcome means, given the failure count it brings us to. */
enum event {
    EV_OK = 0,     /* the probe succeeded */
    EV_FAIL,       /* it failed, fewer than down_after failures in a row */
    EV_FAIL_LIMIT, /* it failed, down_after (or more) failures in a row */
    EV_DEFINITE,   /* it failed with proof that the server is gone (health.h) */
    N_EVENTS
};

static const enum fo_health next[N_STATES][N_EVENTS] = {
    [FO_HEALTH_UNKNOWN] = {[EV_OK] = FO_HEALTH_UP,
                           [EV_FAIL] = FO_HEALTH_SUSPECT,
                           [EV_FAIL_LIMIT] = FO_HEALTH_DOWN,
                           [EV_DEFINITE] = FO_HEALTH_DOWN},
    [FO_HEALTH_UP] = {[EV_OK] = FO_HEALTH_UP,
                      [EV_FAIL] = FO_HEALTH_SUSPECT,
                      [EV_FAIL_LIMIT] = FO_HEALTH_DOWN,
                      [EV_DEFINITE] = FO_HEALTH_DOWN},
    [FO_HEALTH_SUSPECT] = {[EV_OK] = FO_HEALTH_UP,
                           [EV_FAIL] = FO_HEALTH_SUSPECT,
                           [EV_FAIL_LIMIT] = FO_HEALTH_DOWN,
                           [EV_DEFINITE] = FO_HEALTH_DOWN},
    /* DOWN stays DOWN until a probe succeeds, even if down_after was raised since. */
    [FO_HEALTH_DOWN] = {[EV_OK] = FO_HEALTH_UP,
                        [EV_FAIL] = FO_HEALTH_DOWN,
                        [EV_FAIL_LIMIT] = FO_HEALTH_DOWN,
                        [EV_DEFINITE] = FO_HEALTH_DOWN},
};

/* State changes only: staying in a state is not a transition, and nothing returns
 * to UNKNOWN (it means "never probed"). */
static const bool allowed[N_STATES][N_STATES] = {
    [FO_HEALTH_UNKNOWN] = {[FO_HEALTH_UP] = true, [FO_HEALTH_SUSPECT] = true, [FO_HEALTH_DOWN] = true},
    [FO_HEALTH_UP] = {[FO_HEALTH_SUSPECT] = true, [FO_HEALTH_DOWN] = true},
    [FO_HEALTH_SUSPECT] = {[FO_HEALTH_UP] = true, [FO_HEALTH_DOWN] = true},
    [FO_HEALTH_DOWN] = {[FO_HEALTH_UP] = true},
};

static bool valid_state(enum fo_health h)
{
    return (unsigned)h < N_STATES;
}

bool fo_health_allowed(enum fo_health from, enum fo_health to)
{
    if (!valid_state(from) || !valid_state(to)) return false;
    return allowed[from][to];
}

/* Updates the failure counter and classifies the outcome. down_after 0 is treated
 * as 1: a single failure is enough. A refusal is definitive only right after a
 * success (state UP, which only a successful last probe leads to); otherwise it is
 * counted like any failure (health.h says why). */
static enum event classify(struct fo_health_state *h, enum fo_probe_outcome o, unsigned down_after)
{
    if (o == FO_PROBE_OK) {
        h->consecutive_failures = 0;
        return EV_OK;
    }
    if (h->consecutive_failures < UINT_MAX) h->consecutive_failures++;
    if (o == FO_PROBE_REFUSED && h->state == FO_HEALTH_UP) return EV_DEFINITE;
    if (down_after == 0) down_after = 1;
    return h->consecutive_failures >= down_after ? EV_FAIL_LIMIT : EV_FAIL;
}

bool fo_health_feed(struct fo_health_state *h, enum fo_probe_outcome o, unsigned down_after)
{
    enum fo_health from = h->state, to;

    assert(valid_state(from));
    if (o != FO_PROBE_OK && o != FO_PROBE_REFUSED) o = FO_PROBE_FAILED;
    to = next[from][classify(h, o, down_after)];
    if (to == from) return false;
    assert(fo_health_allowed(from, to));
    h->state = to;
    return true;
}

bool fo_health_step(struct fo_health_state *h, bool probe_ok, unsigned down_after)
{
    return fo_health_feed(h, probe_ok ? FO_PROBE_OK : FO_PROBE_FAILED, down_after);
}

const char *fo_health_name(enum fo_health h)
{
    static const char *const names[N_STATES] = {
        [FO_HEALTH_UNKNOWN] = "unknown",
        [FO_HEALTH_UP] = "up",
        [FO_HEALTH_SUSPECT] = "suspect",
        [FO_HEALTH_DOWN] = "down",
    };

    return valid_state(h) ? names[h] : "invalid";
}

const char *fo_probe_outcome_name(enum fo_probe_outcome o)
{
    switch (o) {
    case FO_PROBE_OK: return "ok";
    case FO_PROBE_FAILED: return "failed";
    case FO_PROBE_REFUSED: return "refused";
    default: return "invalid";
    }
}
