/* Role inference and inconsistency detection for one cluster (pure; DESIGN.md §5).
 *
 * Input: for each instance, its address, whether the latest probe succeeded, and if
 * so its sample. Output: each instance's role and source, per-instance problems and
 * cluster-level problems, as short human-readable strings.
 *
 * Rules:
 *  - A reachable instance that reports a replication source (SHOW SLAVE STATUS row)
 *    is a REPLICA of that source.
 *  - A reachable instance without a source and read_only=0 is a PRIMARY -- unless the
 *    cluster has a designated primary and it is another instance (other_designated):
 *    then it is an ORPHAN with the problem "writable, not the designated primary"
 *    (a stray writer, which rejoin fences), never a second primary in the event stream.
 *  - A reachable instance without a source and read_only=1 is an ORPHAN.
 *  - An unreachable instance keeps role UNKNOWN here (the caller may keep the last
 *    replicated role).
 * Problems (strings are part of the interface; tests match them):
 *  cluster: "unsupported server in the cluster: ..." when an instance is of a server
 *           flavour failoverd does not support (controller/decide/flavour.h): a
 *           reachable one whose sample's version is not MariaDB 10.6 to 11.x, or an
 *           unreachable one whose probe failed because of its flavour (its last probe
 *           error, fo_topology_infer_errors(), e.g.
 *           MySQL's "Unknown system variable 'gtid_current_pos'"). Every action reads
 *           it as a refusal (fo_flavour_refuse): no failover, switchover or rejoin.
 *           "no primary" (no reachable primary and no instance unreachable that was
 *           primary: caller passes was_primary), "multiple writable: A, B" (more than
 *           one reachable instance with read_only=0, replicas included),
 *           "replica chain too deep" is NOT flagged (chains are allowed).
 *  instance: "unsupported server: MySQL 8.0.36 (failoverd supports MariaDB 10.6 to
 *            11.x; MySQL 5.7/8.x is not supported yet)" (fo_flavour_problem), or for an
 *            unreachable instance its flavour probe error as the probe said it,
 *            "writable replica" (replica with read_only=0),
 *            "replicates from outside the cluster (H:P)",
 *            "replication stopped (IO=No, SQL=Yes)" when a replica's IO or SQL thread
 *            is not running, with the error text appended when present,
 *            "replicates from a non-primary (H:P)" is NOT a problem (chains allowed).
 * Co-primary clusters (MMM's active/passive pair, docs/co-primary.md): the two
 * instances marked co_primary replicate from each other. A reachable co_primary whose
 * source is the other co_primary and that is writable is the PRIMARY (the active: its
 * ring edge from the passive is not "writable replica" nor a second source), unless
 * other_designated says the cluster's designated primary is the other one: then it is
 * an ORPHAN with FO_TOPO_P_STRAY_WRITER (both writable: rejoin fences it). A read-only
 * co_primary replicating from its partner is a REPLICA (the passive). Each ring edge
 * that does not run is a cluster problem FO_TOPO_P_RING, "X:P -> Y:P ..." naming the
 * edge (source -> replica) and what is wrong:
 *   " (not configured: Y:P replicates from nobody)", " (Y:P replicates from H:P)",
 *   " (IO=No, SQL=Yes)" (+ the thread errors as for FO_TOPO_P_STOPPED),
 * judged only from a reachable, fresh sample of the replica side Y (an unreachable
 * side is the detector's business; one edge per sample, so both edges can show). It
 * comes after "multiple writable". No instance is co_primary outside such a cluster
 * (every caller's zeroed fo_topo_in keeps the single-primary rules).
 * A replica's source (Master_Host/Master_Port) is matched against the instances with
 * fo_addr_same() (common/config.h): case, a trailing dot and the spelling of an IP
 * literal do not matter, so a replica naming its source "DB1." or "::ffff:10.0.0.1"
 * still replicates from the instance "db1" or "10.0.0.1". No DNS: a name never equals
 * an address. */
#ifndef FO_TOPOLOGY_H
#define FO_TOPOLOGY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/instance_state.h" /* enum fo_role */
#include "controller/decide/flavour.h"
#include "mysql/sample.h"

#define FO_PROBLEM_LEN 256
#define FO_TOPO_MAX_PROBLEMS 16

/* The problem strings above, for callers and tests to match. Exact texts:
 *   FO_TOPO_P_UNSUPPORTED_CLUSTER FO_TOPO_P_UNSUPPORTED_ACTS "db2:3306 (MySQL 8.0.36),
 *                     db3:3306 (probe: unsupported server flavour)"  (input order)
 *   FO_TOPO_P_UNSUPPORTED "MySQL 8.0.36 (failoverd supports ...)"  (flavour.h)
 *   FO_TOPO_P_NO_PRIMARY
 *   FO_TOPO_P_MULTIPLE_WRITABLE "db1:3306, db2:3306"     (configured host:port, input order)
 *   FO_TOPO_P_WRITABLE_REPLICA
 *   FO_TOPO_P_OUTSIDE " (10.0.0.9:3306)"                  (as reported by the replica)
 *   FO_TOPO_P_STOPPED " (IO=Connecting, SQL=Yes)" [": IO error 2003: <Last_IO_Error>"]
 *                     [" | SQL error 1062: <Last_SQL_Error>"] (": " before the first one)
 *   FO_TOPO_P_UNSURE " (IO=Preparing, SQL=Yes)"   (same error suffixes)
 * "Stopped" is a thread that is No or Connecting (an IO thread still Connecting is not
 * replicating). A thread in a state we cannot interpret (Preparing, a value we do not
 * recognise: shown as the server printed it) and none stopped is FO_TOPO_P_UNSURE: not
 * "stopped", since it may well be replicating (STYLE.md §17).
 * Several problems of one instance are joined with FO_TOPO_P_SEP, in the order
 * unsupported, writable replica, outside, stopped/unsure. Cluster problems come in
 * the order unsupported, no primary, multiple writable. A string cut to fit its buffer ends in
 * "...". */
#define FO_TOPO_P_UNSUPPORTED FO_FLAVOUR_PROBLEM_PREFIX
#define FO_TOPO_P_UNSUPPORTED_CLUSTER FO_FLAVOUR_CLUSTER_PREFIX
#define FO_TOPO_P_UNSUPPORTED_ACTS "no failover, switchover or rejoin; "
#define FO_TOPO_P_UNSUPPORTED_PROBE "(probe: unsupported server flavour)"
#define FO_TOPO_P_NO_PRIMARY "no primary"
#define FO_TOPO_P_MULTIPLE_WRITABLE "multiple writable: "
#define FO_TOPO_P_WRITABLE_REPLICA "writable replica"
#define FO_TOPO_P_STRAY_WRITER "writable, not the designated primary"
#define FO_TOPO_P_OUTSIDE "replicates from outside the cluster"
#define FO_TOPO_P_STOPPED "replication stopped"
#define FO_TOPO_P_UNSURE "replication state unknown"
#define FO_TOPO_P_RING "co-primary ring broken: "
#define FO_TOPO_P_SEP "; "

struct fo_topo_in {
    const char *host;
    uint16_t port;
    bool reachable;
    bool was_primary;          /* last replicated role was PRIMARY */
    const struct fo_sample *s; /* valid when reachable */
    bool other_designated;     /* the cluster's designated primary is another instance */
    /* When the probe that took s STARTED, on the caller's monotonic clock (ms); see
     * fo_topology_infer_at(). */
    uint64_t started_ms;
    /* One of the cluster's two co-primaries (co_primaries = H:P, H:P); false in a
     * cluster without a pair. Exactly two instances, or none, are marked. */
    bool co_primary;
};

struct fo_topo_out {
    enum fo_role role;
    /* The source of a replica: the configured host of the instance it matches (so the
     * store records one spelling), else the host as the replica reports it, cut with
     * "..." when longer than FO_HOST_LEN - 1 (the store's bound: a host that long
     * cannot be one of our instances anyway). */
    char source_host[FO_HOST_LEN];
    uint16_t source_port;
    char problem[FO_PROBLEM_LEN]; /* "" if none; several joined with "; " */
    bool stale;                   /* reachable, but its sample predates the cluster's last change */
};

struct fo_topo_result {
    unsigned n_problems;
    char problems[FO_TOPO_MAX_PROBLEMS][FO_PROBLEM_LEN];
    int primary;      /* index of the single reachable primary, -1 if none or several */
    unsigned n_stale; /* instances whose sample is stale (fo_topology_infer_at) */
};

/* in[n] -> out[n] + res. Never fails; strings are truncated safely. No sample is
 * stale: fo_topology_infer_at(in, n, 0, out, res). */
void fo_topology_infer(const struct fo_topo_in *in, unsigned n, struct fo_topo_out *out, struct fo_topo_result *res);

/* The stale-sample rule (issue 11.5): no alarm from comparing a server's state before a
 * planned change with another's after it. changed_ms is when the caller saw the
 * cluster's last committed change (a failover/switchover step or its end), on the same
 * monotonic clock as in[].started_ms; 0 = none. A reachable instance whose sample's
 * probe started before changed_ms (started_ms < changed_ms) is STALE: out[i].stale is
 * set (role, source and problem are still inferred from it, for display; a caller
 * should not record them as the instance's state), res->n_stale counts it, and it takes
 * no part in the cluster problems -- it is not writable for "multiple writable", and
 * while any sample is stale "no primary" is not said (the stale one may be the
 * primary). A caller that records cluster problems waits until n_stale is 0, as it
 * waits for every instance's first probe: one probe interval after the change. */
void fo_topology_infer_at(const struct fo_topo_in *in, unsigned n, uint64_t changed_ms, struct fo_topo_out *out,
                          struct fo_topo_result *res);

/* fo_topology_infer_at() that also knows each instance's latest probe error:
 * last_errors is NULL or has n entries, each NULL or "" (none) or the error of an
 * unreachable instance's latest probe. It is read only for whether it names an
 * unsupported flavour (fo_flavour_text_unsupported): a MySQL server fails every probe
 * (its @@gtid_current_pos does not exist) and so never has a sample to classify; its
 * error then makes the instance problem and FO_TOPO_P_UNSUPPORTED_CLUSTER. (A separate
 * argument rather than a field of fo_topo_in, whose callers initialise it by
 * position.) */
void fo_topology_infer_errors(const struct fo_topo_in *in, unsigned n, uint64_t changed_ms,
                              const char *const *last_errors, struct fo_topo_out *out, struct fo_topo_result *res);

const char *fo_role_name(enum fo_role r); /* "unknown" "primary" "replica" "orphan" */

#endif
