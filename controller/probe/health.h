/* Per-instance health state machine (pure; DESIGN.md §5, STYLE.md §6).
 *
 * States: UNKNOWN (never probed) -> UP / SUSPECT / DOWN. A successful probe makes the
 * instance UP. A failed probe makes it SUSPECT; `down_after` consecutive failures
 * make it DOWN. Transitions are a table; fo_health_step returns whether the state
 * changed so the caller proposes a raft command only on change. */
#ifndef FO_HEALTH_H
#define FO_HEALTH_H

#include <stdbool.h>

#include "common/instance_state.h" /* enum fo_health */

struct fo_health_state {
    enum fo_health state;
    unsigned consecutive_failures;
};

/* True if the transition from -> to is allowed by the table. */
bool fo_health_allowed(enum fo_health from, enum fo_health to);

/* Feeds one probe outcome. Returns true if h->state changed. */
bool fo_health_step(struct fo_health_state *h, bool probe_ok, unsigned down_after);

const char *fo_health_name(enum fo_health h); /* "unknown" "up" "suspect" "down" */

#endif
