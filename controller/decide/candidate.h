/* Choosing the replica to promote (pure; DESIGN.md §6 step 3).
 *
 * Input: every replica of the failed (or switching) primary with a FRESH sample taken
 * after its IO thread was stopped and its relay log applied, its promotion rule,
 * maintenance and quarantine flags. Output: the index of the chosen one (or -1) and,
 * for every replica, why it was chosen or skipped, e.g.
 *   "skipped: must_not", "skipped: in maintenance", "skipped: unreachable",
 *   "skipped: lag 120 s > max_lag_s 60", "skipped: errant GTID 0-3-17 (written on the
 *   replica itself)", "skipped: version 10.11 newer than replica 127.0.0.1:3308 (10.6)",
 *   "skipped: behind 127.0.0.1:3307 by 5 transactions", "chosen: most advanced (0-1-105)".
 *
 * Rules: eligible = reachable, rule != must_not, not in maintenance, not quarantined,
 * SQL thread without error, lag <= max_lag_s (when max_lag_s > 0 and lag known), no
 * errant GTID (a GTID in its gtid_binlog_pos whose server_id is its own server_id and
 * that no other replica and not the old primary's last known position has), and its
 * major.minor version not newer than any other reachable replica's (a replica must
 * never replicate from a newer primary), its relay log applied (relay_unapplied false),
 * and with require_old_pos, at or past the old primary's final position. Among eligible ones the most advanced
 * gtid_current_pos wins (so nothing a replica received is lost); ties go to
 * prefer > neutral > prefer_not, then to the lowest lag, then to input order.
 * With a target (switchover --to / failover --to) only the target may be chosen: if it
 * is not eligible or not the most advanced, the result is -1 and the summary says why.
 *
 * Catch-up (opts.catch_up, issue 13 item 2, docs/catch-up.md): the promotion rule
 * decides first and nothing is lost anyway. Among eligible replicas the best rule wins
 * (prefer > neutral > prefer_not), then the most advanced of that rule, then lag and
 * input order; a target is chosen even when it is not the most advanced. When the one
 * chosen so is BEHIND the most advanced eligible replica (never when their positions
 * diverge), out.source names that replica: the caller makes the chosen one replicate
 * from it until it has everything and, if that fails, promotes out.source instead (the
 * fallback). The source must not run a newer major.minor than the chosen one (a
 * replica never replicates from a newer server); otherwise, and when positions
 * diverge, the choice is the one without catch-up. Reasons:
 *   "chosen: rule prefer; behind db3:3306 by 5 transactions: catches up from it first",
 *   "skipped: most advanced (0-1-105) but rule neutral: catch-up source of db2:3306",
 *   "skipped: rule neutral (db2:3306 is prefer)".
 * MariaDB GTID positions (controller/decide/gtid.h).
 * A reachable replica whose version is not a supported flavour (controller/decide/
 * flavour.h: MariaDB 10.6 to 11.x) refuses the whole choice: -1, its reason
 * "skipped: unsupported server: MySQL 8.0.36 (...)", every other one's "skipped:
 * unsupported server in the cluster: db2:3306", and the summary "no replica chosen:
 * unsupported server in the cluster: db2:3306: unsupported server: MySQL 8.0.36 (...)". */
#ifndef FO_CANDIDATE_H
#define FO_CANDIDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "mysql/sample.h"

#define FO_CAND_REASON_LEN 256

struct fo_cand_in {
    const char *host;
    uint16_t port;
    bool reachable;
    enum fo_rule rule;
    bool maintenance;
    bool quarantined;
    const struct fo_sample *s; /* valid when reachable */
    /* Its SQL thread had not applied everything its IO thread received when the
     * bounded wait (MASTER_GTID_WAIT) ended, or the wait's result is unknown: promoting
     * it would reset (delete) a relay log that holds transactions, so it is skipped. */
    bool relay_unapplied;
};

struct fo_cand_opts {
    unsigned max_lag_s;          /* 0 = no limit */
    const char *old_primary_pos; /* old primary's last known gtid_binlog_pos, or "" */
    /* Switchover: the old primary was fenced alive and old_primary_pos is its FINAL
     * position; a replica whose gtid_current_pos lacks any of it is skipped ("has not
     * reached the old primary's final position"), so no acknowledged write is left
     * behind. A malformed old_primary_pos makes every replica ineligible; "" means the
     * old primary never wrote a transaction (the caller makes sure it was read). */
    bool require_old_pos;
    const char *target_host; /* NULL or "" = any */
    uint16_t target_port;
    /* Rule (or target) first, catching up from the most advanced replica (above).
     * Failovers only: a switchover's replicas have all reached the old primary's final
     * position (require_old_pos), so none is behind another. */
    bool catch_up;
};

struct fo_cand_out {
    int chosen; /* index into in[], -1 if none */
    int source; /* catch_up: the replica `chosen` must first replicate from (the fallback), -1 if none */
    char summary[512];
};

/* reasons must have n entries; each gets a "chosen: ..." or "skipped: ..." line. */
void fo_candidate_choose(const struct fo_cand_in *in, unsigned n, const struct fo_cand_opts *opts,
                         struct fo_cand_out *out, char (*reasons)[FO_CAND_REASON_LEN]);

#endif
