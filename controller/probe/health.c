/* Per-instance health state machine (pure); see health.h for the contract.
 *
 * Two tables (STYLE.md §6): `next` says where one probe outcome leads from each
 * state, and `allowed` lists every state change the machine may make. The step
 * function classifies the outcome, looks the next state up, and asserts the change
 * is allowed; a disagreement between the two tables is a programmer error. */
#include "controller/probe/health.h"

#include <assert.h>
#include <limits.h>

#define N_STATES 4

/* What one probe outcome means, given the failure count it brings us to. */
enum event {
    EV_OK = 0,     /* the probe succeeded */
    EV_FAIL,       /* it failed, fewer than down_after failures in a row */
    EV_FAIL_LIMIT, /* it failed, down_after (or more) failures in a row */
    N_EVENTS
};

static const enum fo_health next[N_STATES][N_EVENTS] = {
    [FO_HEALTH_UNKNOWN] = {[EV_OK] = FO_HEALTH_UP, [EV_FAIL] = FO_HEALTH_SUSPECT, [EV_FAIL_LIMIT] = FO_HEALTH_DOWN},
    [FO_HEALTH_UP] = {[EV_OK] = FO_HEALTH_UP, [EV_FAIL] = FO_HEALTH_SUSPECT, [EV_FAIL_LIMIT] = FO_HEALTH_DOWN},
    [FO_HEALTH_SUSPECT] = {[EV_OK] = FO_HEALTH_UP, [EV_FAIL] = FO_HEALTH_SUSPECT, [EV_FAIL_LIMIT] = FO_HEALTH_DOWN},
    /* DOWN stays DOWN until a probe succeeds, even if down_after was raised since. */
    [FO_HEALTH_DOWN] = {[EV_OK] = FO_HEALTH_UP, [EV_FAIL] = FO_HEALTH_DOWN, [EV_FAIL_LIMIT] = FO_HEALTH_DOWN},
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
 * as 1: a single failure is enough. */
static enum event classify(struct fo_health_state *h, bool probe_ok, unsigned down_after)
{
    if (probe_ok) {
        h->consecutive_failures = 0;
        return EV_OK;
    }
    if (h->consecutive_failures < UINT_MAX) h->consecutive_failures++;
    if (down_after == 0) down_after = 1;
    return h->consecutive_failures >= down_after ? EV_FAIL_LIMIT : EV_FAIL;
}

bool fo_health_step(struct fo_health_state *h, bool probe_ok, unsigned down_after)
{
    enum fo_health from = h->state, to;

    assert(valid_state(from));
    to = next[from][classify(h, probe_ok, down_after)];
    if (to == from) return false;
    assert(fo_health_allowed(from, to));
    h->state = to;
    return true;
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
