/* The read-only web faces served on the HTTP port beside /metrics (issue 15):
 *
 *   /ui                                   the dashboard: one HTML page (inline JS and
 *                                         CSS, compiled in from ui/index.html) that
 *                                         polls the JSON below every 2 s
 *   /api/v1/clusters                      every cluster: primary, instance count, problems
 *   /api/v1/members                       raft members, their roles, this node, the leader
 *   /api/v1/clusters/<c>                  one topology: instances with health, role,
 *                                         source, read_only, GTID, lag; VIP, holder, lease
 *   /api/v1/clusters/<c>/history          failovers (with their phases and timings), events
 *   /api/v1/clusters/<c>/why              recent decisions and refusals, running failover
 *   /check/<c>/<host:port>                200 if that server is the cluster's writable
 *                                         primary, else 503 (HAProxy writer backend)
 *   /check-replica/<c>/<host:port>        200 if it is a healthy replica within the
 *                                         lag limit, else 503 (HAProxy reader backend)
 *
 * <host:port> is the instance exactly as registered (`failoverctl topology` prints it),
 * "[v6]:port" for an IPv6 literal. Every answer comes from this node's copy of the
 * replicated state, so any node answers (leader or follower) and all agree once they
 * have applied the same entries; only live probe data (GTID, lag) is local, and a
 * follower has it for primaries only (DESIGN.md §5). A node that knows no raft leader
 * (partitioned, or an election is under way) answers 503 to every /check: its copy may
 * miss a failover. The JSON is UTF-8 and holds no
 * secret: no password, password file, key or certificate path is ever written. Every
 * list is capped (FO_WEB_MAX_*), every body at FO_WEB_MAX_BODY bytes.
 *
 * [failoverd] ui = no turns /ui and /api/v1 off (404); the checks stay on, since a
 * load balancer may depend on them. Loop thread only. */
#ifndef FO_CONTROLLER_ADMIN_WEB_H
#define FO_CONTROLLER_ADMIN_WEB_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/instance_state.h"
#include "controller/ctl.h"
#include "store/store.h"

#define FO_WEB_MAX_PATH 512        /* a longer URL path is answered 404 */
#define FO_WEB_MAX_CLUSTERS 1000   /* /api/v1/clusters lists at most this many ("truncated") */
#define FO_WEB_MAX_INSTANCES 500   /* per topology */
#define FO_WEB_MAX_FAILOVERS 50    /* per history */
#define FO_WEB_MAX_EVENTS 100      /* per history */
#define FO_WEB_MAX_DECISIONS 20    /* per why */
#define FO_WEB_MAX_BODY (4u << 20) /* a bigger answer becomes a 500 */
#define FO_WEB_WHY_LEN 256

/* Returns the HTTP status written into body, or 0 when url is not one of the paths
 * above (the caller answers 404). url is the decoded path (libmicrohttpd strips the
 * query and percent-decodes it). */
int fo_web_handle(struct fo_ctl *ctl, const char *url, struct fo_buf *body, const char **content_type);

/* ---- pure parts, for tests ----------------------------------------------------- */

/* Splits "host:port" or "[v6]:port" into host (FO_HOST_LEN bytes) and port. 0, or
 * FO_EINVAL for anything else (empty host, bad or zero port, characters that cannot be
 * in a host name or an IP literal). */
int fo_web_split_instance(const char *s, char host[FO_HOST_LEN], uint16_t *port);

/* The writer check, from the replicated state alone: 200 when i is the cluster's
 * designated primary, has role primary, health up, read_only off, and no failover of
 * the cluster is running (from FailoverBegin on, no server is the writer until the
 * new one is recorded writable); else 503. why says which condition decided. */
int fo_web_check_primary(const struct fo_store_cluster *c, const struct fo_store_instance *i, bool failover_running,
                         char why[FO_WEB_WHY_LEN]);

/* The reader check: 200 when i has role replica, health up, no problem (replication
 * running, not writable, source inside the cluster), is neither in maintenance nor
 * quarantined, and its lag is known and at most the cluster's reader_max_lag_s
 * (default FO_DEFAULT_READER_MAX_LAG_S); else 503. lag_known is false when this node
 * has no current sample of i (a follower: only the leader probes replicas), and then
 * the answer is 503: a lag this node cannot see is not "within the limit". */
int fo_web_check_replica(const struct fo_store_cluster *c, const struct fo_store_instance *i, bool lag_known,
                         int64_t lag_s, char why[FO_WEB_WHY_LEN]);

#endif
