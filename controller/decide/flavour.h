/* Which server flavour a MySQL-protocol server is, and whether failoverd supports it
 * (pure; issue 15.6). failoverd is tested against MariaDB only: its probe reads
 * @@gtid_current_pos, its promotion uses RESET SLAVE ALL and its repoint
 * MASTER_USE_GTID=slave_pos, none of which MySQL has (MySQL uses gtid_executed,
 * SHOW REPLICA STATUS, super_read_only and SOURCE_AUTO_POSITION). Rather than guess,
 * a cluster with a server it does not understand gets no failover, switchover or
 * rejoin, and says why (controller/decide/topology.h, FO_TOPO_P_UNSUPPORTED).
 *
 * Classification of @@version (or the handshake's server version):
 *   "10.11.6-MariaDB-0+deb12u1-log", "11.4.2-MariaDB"   MariaDB, supported 10.6 to 11.x
 *   "5.5.5-10.11.6-MariaDB"                            the same (MariaDB before 11.0
 *                                                      prefixes the handshake's version
 *                                                      with "5.5.5-" for old clients)
 *   "10.5.23-MariaDB"                                  MariaDB before 10.6: unsupported
 *   "12.0.1-MariaDB"                                   MariaDB 12 or later: not tested,
 *                                                      unsupported
 *   "8.0.36", "5.7.44-log", "8.4.0", "9.1.0"           MySQL (major 5, 8 or 9, no
 *                                                      "MariaDB" part): unsupported yet
 *   "8.0.36-28", "5.7.44-48-log"                       Percona Server (MySQL's version
 *                                                      followed by a numeric build
 *                                                      part): unsupported yet
 *   "", NULL, anything else                            unknown: unsupported
 * A version is the numbers major.minor[.patch] followed by "-"-separated parts; the
 * part "MariaDB" (any case) names MariaDB. Unknown is a value (STYLE.md §17): a
 * version we cannot read is never taken as MariaDB. */
#ifndef FO_FLAVOUR_H
#define FO_FLAVOUR_H

#include <stdbool.h>
#include <stddef.h>

enum fo_flavour_family {
    FO_FLAVOUR_UNKNOWN = 0,
    FO_FLAVOUR_MARIADB,
    FO_FLAVOUR_MYSQL,
    FO_FLAVOUR_PERCONA,
};

#define FO_FLAVOUR_NAME_LEN 96

struct fo_flavour {
    enum fo_flavour_family family;
    unsigned long major, minor, patch; /* 0 when unknown */
    bool supported;
    /* For messages: "MariaDB 10.11.6", "MySQL 8.0.36", "Percona Server 8.0.36-28",
     * "unrecognised server version \"xyz\"" (control bytes replaced by '?', cut). */
    char name[FO_FLAVOUR_NAME_LEN];
};

/* What failoverd supports, for messages and the README. */
#define FO_FLAVOUR_SUPPORTED_TEXT "MariaDB 10.6 to 11.x"

/* The texts' beginnings (topology.h quotes them as FO_TOPO_P_UNSUPPORTED and
 * FO_TOPO_P_UNSUPPORTED_CLUSTER). */
#define FO_FLAVOUR_PROBLEM_PREFIX "unsupported server: "
#define FO_FLAVOUR_CLUSTER_PREFIX "unsupported server in the cluster: "

/* Classifies version (NULL or "" is unknown). Never fails. */
void fo_flavour_classify(const char *version, struct fo_flavour *out);

/* "MariaDB" "MySQL" "Percona Server" "unknown". */
const char *fo_flavour_family_name(enum fo_flavour_family f);

/* The instance problem for an unsupported flavour (topology.h, FO_TOPO_P_UNSUPPORTED),
 * written to out (n bytes, cut with "..."), e.g.
 *   "unsupported server: MySQL 8.0.36 (failoverd supports MariaDB 10.6 to 11.x;
 *    MySQL 5.7/8.x is not supported yet)"
 *   "unsupported server: MariaDB 10.5.23 (failoverd supports MariaDB 10.6 to 11.x;
 *    MariaDB before 10.6 is not supported)"
 * For a supported flavour out is "". */
void fo_flavour_problem(const struct fo_flavour *f, char *out, size_t n);

/* The probe's error when FO_SAMPLE_Q1 fails with ER_UNKNOWN_SYSTEM_VARIABLE (1193):
 * MySQL has no @@gtid_current_pos. server_version is the handshake's (may be NULL),
 * error the server's text. Written to out (n bytes, cut with "..."):
 *   "unsupported server flavour (MySQL?): Unknown system variable 'gtid_current_pos'
 *    (server version 8.0.36; failoverd supports MariaDB 10.6 to 11.x)" */
#define FO_FLAVOUR_PROBE_PREFIX "unsupported server flavour"
void fo_flavour_probe_error(const char *server_version, const char *error, char *out, size_t n);

/* True if text (a probe error, an instance problem, NULL allowed) says the server is of
 * a flavour failoverd does not support: it contains FO_FLAVOUR_PROBE_PREFIX (the probe
 * error may follow a retry's prefix) or starts with the problem above. */
bool fo_flavour_text_unsupported(const char *text);

/* ---- the cluster check: every action's refusal ------------------------------------ */

/* One instance as a caller knows it now: its latest sample's version (NULL when it has
 * no sample) and its latest probe error (NULL or "" when the probe succeeded). */
struct fo_flavour_in {
    const char *host;
    unsigned port;
    const char *version;
    const char *last_error;
};

/* Why no failover, switchover or rejoin may act on a cluster, or false when nothing
 * stands in the way as far as flavours go: an instance whose version is unsupported,
 * an instance whose probe failed because of its flavour, or the cluster's recorded
 * problems (store, "\n"-joined; NULL allowed) containing a line that starts with
 * FO_FLAVOUR_CLUSTER_PREFIX (the topology's cluster problem). An instance without a sample and without a flavour
 * error (down, not probed yet) does not refuse by itself. why (n bytes) names the
 * first such instance, e.g.
 *   "unsupported server in the cluster: db2:3306: unsupported server: MySQL 8.0.36
 *    (failoverd supports MariaDB 10.6 to 11.x; MySQL 5.7/8.x is not supported yet)" */
bool fo_flavour_refuse(const struct fo_flavour_in *in, unsigned n, const char *cluster_problems, char *why, size_t len);

#endif
