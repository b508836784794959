/* Periodic rediscovery (issue 14.2): on the raft leader only, every cluster whose
 * rediscover_interval_s is set (common/config.h, ClusterAdd) has its replication
 * topology walked again from all of its registered servers (discover.h, one walk per
 * cluster in flight, at most FO_REDISCOVER_MAX_WALKS walks at once, each capped in
 * servers and bounded by a deadline) and compared with what is registered.
 *
 * Findings, one line each (fo_rediscover_findings, `failoverctl topology`):
 *   unregistered  a server the walk reached whose SHOW SLAVE STATUS names a registered
 *                 server of the cluster as its source, and that is not registered
 *                 itself (neither by address nor by the server_id a registered
 *                 server was last seen with);
 *   vanished      a registered server, other than the designated primary and the
 *                 co-primaries, not in maintenance and not quarantined, that the walk
 *                 REACHED (it answers: a server that is down is the health checks'
 *                 business, never "vanished") and that no longer replicates from a
 *                 registered server: its source is outside the cluster, or it has no
 *                 source at all. A replica whose threads stopped but whose source is
 *                 still a member is broken, not vanished (health reports it).
 * No walk runs while the cluster has a failover running (it repoints servers itself),
 * and a walk that a failover began during is dropped (counted as incomplete).
 *
 * When the set of findings of a cluster changes (not on every walk) the leader records
 * a "rediscovery" Decision (`failoverctl why`). Metrics (fo_rediscover_metrics, leader
 * only): failoverd_rediscover_walks_total{cluster,result=ok|incomplete|failed},
 * failoverd_rediscover_unregistered_replicas{cluster},
 * failoverd_rediscover_vanished_replicas{cluster},
 * failoverd_rediscover_adopted_total{cluster}.
 *
 * Adoption (adopt_replicas = yes): an unregistered replica is registered (InstanceAdd,
 * rule neutral, then an "adopted" Decision) only when its source is a registered server
 * whose health is UP and that the walk reached, it is read-only, its flavour is supported
 * (controller/decide/flavour.h), it has no errant GTIDs against its source
 * (fo_gtid_state_errant on both gtid_binlog_state; unknown states are a refusal: we
 * cannot prove there are none), and fo_store_check_room and the per-cluster instance
 * limit leave room. Otherwise its finding says why not ("not adopted: writable").
 *
 * Loop thread only. Nothing here blocks but the password file read at the start of a
 * walk (as the admin discover handler does). */
#ifndef FO_CONTROLLER_ADMIN_REDISCOVER_H
#define FO_CONTROLLER_ADMIN_REDISCOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/err.h"
#include "controller/admin/discover.h"
#include "controller/ctl.h"

#define FO_REDISCOVER_TICK_MS 1000u
#define FO_REDISCOVER_MAX_WALKS 4u      /* walks in flight, all clusters together */
#define FO_REDISCOVER_EXTRA_SERVERS 32u /* a walk visits at most registered + this many */
#define FO_REDISCOVER_MAX_FINDINGS 64u  /* per cluster and walk; more are left out */
#define FO_REDISCOVER_LINE_LEN 320u

struct fo_rediscover;

/* Starts the tick timer. Returns 0 with *out set, or FO_ENOMEM. */
int fo_rediscover_start(struct fo_rediscover **out, struct fo_ctl *ctl, char err[FO_ERRLEN]);

/* Cancels the walks in flight and closes the timer; the struct frees itself once both
 * are done. NULL is a no-op. */
void fo_rediscover_stop(struct fo_rediscover *r);

/* Calls fn (may be NULL: just count) for each finding line of cluster's last walk
 * (none when this node is not the leader, or rediscovery is off), at most
 * FO_REDISCOVER_MAX_FINDINGS. Returns how many. r may be NULL. */
unsigned fo_rediscover_findings(const struct fo_rediscover *r, const char *cluster,
                                void (*fn)(void *data, const char *line), void *data);

/* The families listed above, in Prometheus text format (HELP/TYPE always; samples for
 * the clusters this node walks). r may be NULL. */
void fo_rediscover_metrics(const struct fo_rediscover *r, struct fo_buf *b);

/* ---- the comparison, pure (unit-tested) ------------------------------------------ */

/* A registered server as the store knows it. */
struct fo_rediscover_member {
    char host[FO_HOST_LEN];
    uint16_t port;
    uint64_t server_id; /* last seen, 0 = unknown */
    bool up;            /* health UP */
    bool exempt;        /* designated primary, co-primary, maintenance or quarantined */
};

enum fo_rediscover_kind { FO_REDISCOVER_UNREGISTERED = 1, FO_REDISCOVER_VANISHED = 2 };

struct fo_rediscover_finding {
    enum fo_rediscover_kind kind;
    char host[FO_HOST_LEN];
    uint16_t port;
    bool adoptable; /* unregistered, adopt asked and every condition met */
    char line[FO_REDISCOVER_LINE_LEN];
};

struct fo_rediscover_in {
    const struct fo_rediscover_member *members;
    unsigned n_members;
    bool has_primary; /* a designated primary is recorded (else a non-replica member is taken as it) */
    bool adopt;
    const struct fo_discover_server *servers; /* the walk */
    unsigned n_servers;
};

/* Writes the findings (unregistered first, then vanished, each in walk order) into out
 * (cap entries); returns how many there are in all (may exceed cap). */
unsigned fo_rediscover_compare(const struct fo_rediscover_in *in, struct fo_rediscover_finding *out, unsigned cap);

#endif
