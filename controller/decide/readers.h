/* Where a cluster's reader VIPs should be (issue 4, MMM style), as pure logic: no
 * sockets, no clocks, no store (DESIGN.md §2). controller/vip/vipmgr.c feeds it the
 * leader's live view of each instance and the recorded holders, and moves the VIPs
 * whose wanted holder differs, by the same release-or-expire rule as the writer VIP.
 *
 * Eligibility of a replica to hold reader VIPs (fo_reader_eligible): health up with a
 * current sample, role replica of the cluster's primary, IO and SQL threads running,
 * Seconds_Behind_Master known and at most max_lag_s, not in maintenance, not
 * quarantined. A failed or lagging replica loses its reader VIPs; one that recovers
 * gets VIPs again only when a VIP has to move (no rebalancing of healthy placements:
 * a reader VIP that stays put never breaks its clients' connections).
 *
 * Placement (fo_readers_place), for each reader VIP in the given order:
 *   1. a VIP whose recorded holder is eligible stays there;
 *   2. otherwise it goes to the eligible replica holding the fewest reader VIPs so
 *      far (ties: the first in the instances' order);
 *   3. with no eligible replica at all, it goes to the primary if the primary is up
 *      (reads keep working), else it stays where it is recorded;
 *   and a VIP parked on the primary (rule 3) leaves it as soon as a replica is
 *   eligible. */
#ifndef FO_READERS_H
#define FO_READERS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"

/* What the leader sees of one instance. */
struct fo_reader_cand {
    char host[FO_HOST_LEN];
    uint16_t port;
    bool is_primary;  /* the cluster's designated primary */
    bool up;          /* health up and the latest probe succeeded */
    bool replica_ok;  /* replicates from the primary: IO and SQL threads Yes */
    int64_t lag_s;    /* Seconds_Behind_Master, -1 unknown */
    bool maintenance; /* instance or cluster */
    bool quarantined;
};

/* True if c may hold reader VIPs; otherwise why says why not (for logs). */
bool fo_reader_eligible(const struct fo_reader_cand *c, unsigned max_lag_s, const char **why);

struct fo_reader_vip {
    char holder_host[FO_HOST_LEN]; /* recorded holder, "" = nobody */
    uint16_t holder_port;
    int want; /* out: index into the candidates, or -1 = leave as recorded */
};

/* Fills want for each of the n_vips VIPs. n_cands <= FO_MAX_INSTANCES_PER_CLUSTER. */
void fo_readers_place(const struct fo_reader_cand *cands, unsigned n_cands, unsigned max_lag_s,
                      struct fo_reader_vip *vips, unsigned n_vips);

#endif
