/* Intermediate primaries (pure; issue 13.3, DESIGN.md §5).
 *
 * Chained replication: primary -> intermediate -> leaves. An INTERMEDIATE PRIMARY is a
 * member, not the designated primary, that is the source of at least one other
 * member (its current sample's Master_Host:Port, or the source the store last recorded
 * when it is not reachable now). When it dies its leaves stop receiving anything; the
 * caller (controller/act/rejoin.c) repoints them -- never on the word of the leader
 * alone.
 *
 * Confirmation is the dead-primary rule of controller/decide/detector.h, applied to
 * the intermediate as the "primary" and to its direct replicas as the "replicas": the
 * leader sees it DOWN, a majority of controller voters (leader included) see it DOWN
 * within the window, and every reachable replica of it says it is not connected (IO
 * No/Connecting, or Yes but SILENT per controller/decide/arrival.h). A controller cut
 * off from the intermediate while its leaves still hear it gets UNREACHABLE: nothing
 * moves. With no reachable replica of it there is nobody to repoint (NO_REPLICAS).
 * An intermediate in maintenance is never judged (FO_CHAIN_MAINTENANCE).
 *
 * Target of a confirmed dead intermediate's replicas: its own source if that is a
 * healthy member, else the nearest healthy ancestor further up (the designated primary
 * at the top). Healthy: not in maintenance, health UP, a current sample; for the
 * primary nothing more; for a replica, exactly one source that is a member or the
 * primary, IO and SQL threads Yes, not SILENT, no replication error, and a binary log
 * that holds what it applied (gtid_binlog_pos contains gtid_current_pos: a replica
 * without log_slave_updates cannot serve it to others). When no
 * ancestor is healthy (the primary itself is down: a primary failover is the engine's
 * business) there is no target and nothing moves. Siblings are not used: an ancestor
 * holds everything a sibling has (a leaf's transactions came from it through the
 * intermediate), the primary always is an ancestor, and a sibling would only deepen
 * the chain.
 *
 * Depth: the designated primary is 0, its replicas 1, theirs 2, ...; a member whose
 * chain does not reach the primary (no source, a source outside the cluster, a loop)
 * has FO_CHAIN_NO_DEPTH. */
#ifndef FO_CHAIN_H
#define FO_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/instance_state.h" /* enum fo_health */
#include "controller/decide/arrival.h"
#include "controller/decide/detector.h"
#include "mysql/sample.h"

#define FO_CHAIN_MAX FO_MAX_INSTANCES_PER_CLUSTER
#define FO_CHAIN_NO_DEPTH 0xffffffffu
#define FO_CHAIN_NO_PARENT (-1)

struct fo_chain_member {
    const char *host;
    uint16_t port;
    bool maintenance;
    enum fo_health health;     /* the leader's view */
    const struct fo_sample *s; /* the latest sample if the latest probe succeeded, else NULL */
    uint64_t sample_age_ms;
    /* Used only when s is NULL: the source the store last recorded (NULL or "" none). */
    const char *stored_source_host;
    uint16_t stored_source_port;
    enum fo_arrival_state arrival; /* does it hear its own source (arrival.h) */
    uint64_t silent_ms;
    const struct fo_detect_vote *votes; /* followers' verdicts about this member */
    unsigned n_votes;
};

struct fo_chain_in {
    const char *primary_host; /* the designated primary (a member of m[] or not) */
    uint16_t primary_port;
    const struct fo_chain_member *m;
    unsigned n; /* at most FO_CHAIN_MAX; more are ignored */
    unsigned n_voters;
    uint64_t window_ms;
    bool tilt;
};

enum fo_chain_state {
    FO_CHAIN_ALIVE = 0,      /* the detector says OK or SUSPECT: nothing to do */
    FO_CHAIN_NOT_CONFIRMED,  /* down for the leader, but not confirmed (detector verdict) */
    FO_CHAIN_MAINTENANCE,    /* in maintenance: never judged */
    FO_CHAIN_DEAD,           /* confirmed dead: its replicas go to target */
    FO_CHAIN_DEAD_NO_TARGET, /* confirmed dead, but no healthy ancestor to take its replicas */
};

struct fo_chain_inter {
    unsigned idx; /* in m[] */
    enum fo_chain_state state;
    struct fo_detect_out det; /* the detector's verdict; det.reason names votes and replicas */
    int target;               /* FO_CHAIN_DEAD: index in m[] of the new source, else -1 */
    unsigned n_replicas;      /* its direct replicas among m[] */
    char why[256];            /* the target and why it (e.g. "its source db1:3306, the primary"), or why none */
};

struct fo_chain_out {
    int primary;                  /* index of the designated primary in m[], or -1 */
    int parent[FO_CHAIN_MAX];     /* index of each member's source in m[], or FO_CHAIN_NO_PARENT */
    unsigned depth[FO_CHAIN_MAX]; /* see above */
    unsigned n_inter;
    struct fo_chain_inter inter[FO_CHAIN_MAX];
};

/* in -> out (about 400 kB: allocate it). Never fails. */
void fo_chain_plan(const struct fo_chain_in *in, struct fo_chain_out *out);

/* What the detector was told about member idx's direct replicas (m[0..n) and out as
 * fo_chain_plan had them): fills reps (pointing into m's strings and samples), returns
 * how many, at most FO_CHAIN_MAX. For the evidence a verdict is recorded with. */
unsigned fo_chain_replicas(const struct fo_chain_member *m, unsigned n, const struct fo_chain_out *out, unsigned idx,
                           struct fo_detect_replica reps[FO_CHAIN_MAX]);

/* The entry of out for member idx if it is an intermediate primary, else NULL. */
const struct fo_chain_inter *fo_chain_find(const struct fo_chain_out *out, unsigned idx);

/* "alive" "not_confirmed" "maintenance" "dead" "dead_no_target"; "invalid" otherwise. */
const char *fo_chain_state_name(enum fo_chain_state st);

#endif
