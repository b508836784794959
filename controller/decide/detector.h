/* Dead-primary detection (pure; DESIGN.md §5). The leader calls fo_detect() for a
 * cluster's designated primary with what it knows; the verdict decides whether a
 * failover may begin. Nothing here touches a socket or a clock: ages are inputs.
 *
 * Rules, in order:
 *  1. tilt (loop stall / clock jump grace period)         -> FO_VERDICT_TILT
 *  2. the leader does not see the primary DOWN            -> FO_VERDICT_OK (UP/UNKNOWN)
 *                                                            or FO_VERDICT_SUSPECT
 *  3. fewer than a majority of voters (leader included) see it DOWN within
 *     window_ms                                           -> FO_VERDICT_NOT_CONFIRMED
 *  4. a reachable replica (fresh sample, age <= window_ms) that replicates from the
 *     primary may still be connected to it: its IO thread is "Yes" and it still
 *     hears the primary, or is in a state that does not say it is disconnected
 *     ("Preparing", a value we do not recognise, unknown; see
 *     fo_thread_state_maybe_running)                      -> FO_VERDICT_UNREACHABLE
 *     Only "No", "Connecting", and "Yes" with `silent` set (nothing -- no event, no
 *     heartbeat -- arrived from the primary for longer than the threshold of
 *     controller/decide/arrival.h; issue 11.4) let a replica confirm a dead
 *     primary: no failover on the word of a replica whose state we cannot read
 *     (STYLE.md §17), and a replica whose arrival is unknown (MySQL, heartbeats
 *     off, no history yet) is not silent.
 *  5. no replica of the primary is reachable at all        -> FO_VERDICT_NO_REPLICAS
 *     (stricter case: no failover, since no candidate can be checked or promoted;
 *     recorded so `failoverctl why` says so)
 *  6. otherwise                                           -> FO_VERDICT_DEAD
 * `reason` is a one-line human explanation naming the votes and replicas, e.g.
 *   "primary down for 3/3 controllers; replicas: 127.0.0.1:3307 IO=Connecting, ..."
 *   "127.0.0.1:3307 still replicates from the primary (IO=Yes): unreachable only
 *    from the controllers (down for 3/3 controllers)"
 *   "127.0.0.1:3307 (IO=Preparing) may still be connected to the primary: no failover
 *    on its word (down for 3/3 controllers)"
 *   "primary down for 3/3 controllers; replicas: 127.0.0.1:3307 IO=Yes but no event
 *    or heartbeat for 2.1 s"
 * (both parts, joined with "; ", when replicas of both kinds exist). */
#ifndef FO_DETECTOR_H
#define FO_DETECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "common/instance_state.h" /* enum fo_health */
#include "mysql/sample.h"

enum fo_verdict {
    FO_VERDICT_OK = 0,
    FO_VERDICT_SUSPECT,
    FO_VERDICT_TILT,
    FO_VERDICT_NOT_CONFIRMED,
    FO_VERDICT_UNREACHABLE,
    FO_VERDICT_NO_REPLICAS,
    FO_VERDICT_DEAD,
};

struct fo_detect_vote {
    uint64_t node_id;
    bool down;
    uint64_t age_ms; /* time since this verdict was received */
};

struct fo_detect_replica {
    const char *host;
    uint16_t port;
    bool reachable;         /* last probe succeeded */
    uint64_t sample_age_ms; /* age of that successful sample */
    bool from_primary;      /* its source (Master_Host:Port) is the primary (compare with fo_addr_same) */
    enum fo_thread_state io;
    const char *io_text; /* the sample's io_running_text, for the reason; NULL: the state's name */
    /* With io == FO_THREAD_YES: nothing arrived from the primary for silent_ms, longer
     * than the arrival threshold (fo_arrival_state() == FO_ARRIVAL_SILENT, computed by
     * the caller from the replica's samples). Ignored with any other IO state. */
    bool silent;
    uint64_t silent_ms;
};

struct fo_detect_in {
    enum fo_health leader_view;         /* the leader's own health of the primary */
    unsigned n_voters;                  /* voters in the raft configuration, leader included */
    const struct fo_detect_vote *votes; /* followers' verdicts (never the leader's) */
    unsigned n_votes;
    uint64_t window_ms;
    const struct fo_detect_replica *replicas;
    unsigned n_replicas;
    bool tilt;
    /* How the reasons name the judged server and what a doubtful replica's word does
     * not trigger: NULL = "primary" and "failover" (the designated primary); an
     * intermediate primary (controller/decide/chain.h) is "intermediate primary" and
     * "repoint", so that `failoverctl why` says what was judged. */
    const char *subject;
    const char *action;
};

struct fo_detect_out {
    enum fo_verdict verdict;
    unsigned down_votes; /* including the leader */
    unsigned needed;     /* majority of n_voters */
    char reason[512];
};

void fo_detect(const struct fo_detect_in *in, struct fo_detect_out *out);
const char *fo_verdict_name(enum fo_verdict v); /* "ok" "suspect" "tilt" "not_confirmed"
                                                   "unreachable_primary" "no_replicas" "dead_primary" */

#endif
