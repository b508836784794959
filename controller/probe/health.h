/* Per-instance health state machine (pure; DESIGN.md §5, STYLE.md §6).
 *
 * States: UNKNOWN (never probed) -> UP / SUSPECT / DOWN. A successful probe makes the
 * instance UP. A failed probe makes it SUSPECT; `down_after` consecutive failures
 * make it DOWN. Transitions are a table; fo_health_feed returns whether the state
 * changed so the caller proposes a raft command only on change.
 *
 * Fast path for a dead mysqld on a live host (issue 11.1): a probe whose TCP connect
 * was REFUSED while the instance was UP (its previous probe succeeded) makes it DOWN
 * at once, without waiting for `down_after` failures. A refusal is definitive
 * evidence, not a guess: the host's kernel answered, and nothing listens on the port
 * of a server that answered the probe just before -- its mysqld died (kill -9, crash,
 * OOM killer) or was stopped. The prober re-probes at once when the server closes the
 * idle probe connection (EOF/RST), so a killed mysqld is DOWN within milliseconds on
 * every controller, and each follower's verdict goes out at that transition.
 * Every other failure -- a connect or read timeout (a hung mysqld, a host cut off, a
 * lossy network: no proof of anything), an error reply, access denied, a connection
 * lost mid-query -- keeps the `down_after` rule, and so does a refusal that does not
 * follow a success (never seen up, or already SUSPECT after timeouts: a host coming
 * back from a reboot refuses until its mysqld is started, which is not a new death).
 * DOWN only makes the instance a failover candidate: the detector still needs a
 * majority of controllers and the replicas' view (controller/decide/detector.h).
 * Consequence for operators: a restart of the primary's mysqld (even a quick one) is
 * a dead primary for as long as it refuses connections; put the primary in
 * maintenance first (`failoverctl maintenance`). */
#ifndef FO_HEALTH_H
#define FO_HEALTH_H

#include <stdbool.h>

#include "common/instance_state.h" /* enum fo_health */

/* What one probe attempt tells the health machine (the prober classifies it,
 * controller/probe/prober.h). */
enum fo_probe_outcome {
    FO_PROBE_OK = 0,  /* the probe succeeded */
    FO_PROBE_FAILED,  /* failed, no proof that the server is gone (timeouts, errors) */
    FO_PROBE_REFUSED, /* the TCP connect was refused: nothing listens on the port */
};

struct fo_health_state {
    enum fo_health state;
    unsigned consecutive_failures;
};

/* True if the transition from -> to is allowed by the table. */
bool fo_health_allowed(enum fo_health from, enum fo_health to);

/* Feeds one probe outcome (the rules above). Returns true if h->state changed. A
 * refusal counts as a failure in consecutive_failures either way. An outcome out of
 * the enum's range counts as FO_PROBE_FAILED. */
bool fo_health_feed(struct fo_health_state *h, enum fo_probe_outcome o, unsigned down_after);

/* fo_health_feed with FO_PROBE_OK or FO_PROBE_FAILED: the down_after rule alone. */
bool fo_health_step(struct fo_health_state *h, bool probe_ok, unsigned down_after);

const char *fo_health_name(enum fo_health h); /* "unknown" "up" "suspect" "down" */

/* "ok" "failed" "refused" ("invalid" out of range). */
const char *fo_probe_outcome_name(enum fo_probe_outcome o);

#endif
