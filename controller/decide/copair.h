/* A cluster's co-primary pair (MMM's active/passive dual primary; issue 14.1,
 * docs/co-primary.md): which two servers it is, and the pure rules for acting on it.
 *
 * The pair is declared by `co_primaries = H:P, H:P` (the store's cluster row keeps the
 * canonical text, common/config.h fo_parse_co_primaries). Both replicate from each
 * other (the ring); the one that is the cluster's designated primary is the ACTIVE
 * (writable, holds the writer VIP), the other the PASSIVE (read-only, replicating from
 * the active). Only the pair may take the writer role (MMM's rule: the writer role only
 * on `mode master` hosts): a failover or switchover always targets the passive.
 *
 * Plain structs in, decisions out; no I/O (controller/decide/README). */
#ifndef FO_COPAIR_H
#define FO_COPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "mysql/sample.h"

#define FO_COPAIR_WHY_LEN 512

struct fo_copair {
    bool on; /* false: the cluster declares no pair (every rule below is a no-op) */
    struct fo_endpoint m[2];
};

/* co_primaries ("" or the canonical "h1:p1,h2:p2") -> p. "" gives p->on = false and 0;
 * anything fo_parse_co_primaries refuses gives FO_EINVAL with the reason in err. */
int fo_copair_parse(const char *co_primaries, struct fo_copair *p, char err[FO_ERRLEN]);

/* 0 or 1 if host:port is that member of the pair (fo_addr_same), else -1. */
int fo_copair_index(const struct fo_copair *p, const char *host, uint16_t port);

/* Whether host:port is one of the pair declared by co_primaries ("" or canonical text;
 * text that does not parse declares none). For callers that hold only the text. */
bool fo_copair_member(const char *co_primaries, const char *host, uint16_t port);

/* The other member of the pair for host:port, or NULL if host:port is not in it. */
const struct fo_endpoint *fo_copair_partner(const struct fo_copair *p, const char *host, uint16_t port);

/* What the engine is asked to start (as controller/act/failover.c's begin kinds). */
enum fo_copair_kind { FO_COPAIR_FAILOVER = 0, FO_COPAIR_SWITCHOVER };

struct fo_copair_gate_in {
    enum fo_copair_kind kind;
    const char *primary_host; /* the designated primary (the active) */
    uint16_t primary_port;
    const char *target_host; /* NULL or "": none asked for */
    uint16_t target_port;
    /* The passive's latest sample, NULL when it is not reachable now. Read for a
     * switchover only: a failover's candidate choice judges a fresh sample itself. */
    const struct fo_sample *passive;
    unsigned max_lag_s; /* the cluster's, 0 = no limit */
};

/* May the engine start, and with which target? With a pair, 0 and target = the
 * passive, or FO_EPERM and why (a "refused" decision's reason):
 *  - the designated primary is not one of the pair ("the designated primary H:P is not
 *    one of the co-primaries ...");
 *  - a target other than the passive ("only the co-primary pair may take the writer
 *    role: H:P is not a co-primary (A:P, B:P)");
 *  - switchover only: the passive is not reachable, does not replicate from the active
 *    (edge active -> passive broken: stopped threads, another source, no source), or
 *    lags more than max_lag_s (Seconds_Behind_Master; unknown lag is not refused here,
 *    the engine's catch-up wait bounds it).
 * A failover is not refused for the passive's state: the engine stops its IO thread,
 * applies its relay log and judges it with the candidate rules (controller/decide/
 * candidate.h); if it cannot be promoted, the failover ends without a candidate and
 * its summary says why (nothing else is promoted). Without a pair: 0, target copied. */
int fo_copair_gate(const struct fo_copair *p, const struct fo_copair_gate_in *in, struct fo_endpoint *target,
                   char why[FO_COPAIR_WHY_LEN]);

/* The ring edge passive -> active after a failover or switchover: the promoted server
 * replicates from nobody (RESET SLAVE ALL), and once the other member is a healthy,
 * read-only replica of it, the ring is closed again by pointing the active at it. */
enum fo_copair_ring {
    FO_COPAIR_RING_OK = 0,  /* nothing to do: closed, no pair, or not our business now */
    FO_COPAIR_RING_WAIT,    /* open, but the passive is not a healthy replica yet */
    FO_COPAIR_RING_RESTORE, /* open and the passive is ready: CHANGE MASTER on the active */
    FO_COPAIR_RING_BROKEN,  /* the active replicates from the passive but the edge broke */
    FO_COPAIR_RING_FOREIGN, /* the active replicates from someone else: left to a DBA */
    FO_COPAIR_RING_ERRANT,  /* open, and the passive has transactions the active lacks:
                               closing it would apply them on the writer; left to a DBA */
};

/* active = the designated primary's sample, passive = the other member's (NULL if not
 * reachable now). Explains the answer (except OK) in why.
 *  - The active's edge from an unreachable passive (its IO thread retrying) is WAIT,
 *    not BROKEN: the passive being down is reported on the passive, and the edge
 *    reconnects by itself when it is back.
 *  - Before RESTORE, the passive's gtid_binlog_state is compared with the active's
 *    (fo_gtid_state_errant), leaving out the entries of the active's own server_id
 *    (the passive got those from the active; the two samples are not taken at the same
 *    instant). Unknown states are WAIT; an errant transaction (a stray write on the
 *    passive, or an old active's unreplicated tail) is ERRANT. */
enum fo_copair_ring fo_copair_ring_judge(const struct fo_copair *p, const char *primary_host, uint16_t primary_port,
                                         const struct fo_sample *active, const struct fo_sample *passive,
                                         char why[FO_COPAIR_WHY_LEN]);

#endif
