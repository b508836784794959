/* What the cluster knows about one MySQL instance, as the store keeps it and the
 * protocol carries it: its health (controller/probe/health.h drives it) and its
 * replication role (controller/decide/topology.h infers it). The enums live here, below
 * both, so that the store can check and record them without including controller
 * headers (DESIGN.md §2: dependencies point one way). */
#ifndef FO_INSTANCE_STATE_H
#define FO_INSTANCE_STATE_H

enum fo_health { FO_HEALTH_UNKNOWN = 0, FO_HEALTH_UP = 1, FO_HEALTH_SUSPECT = 2, FO_HEALTH_DOWN = 3 };
/* Values match fo.Health in proto/failoverd.proto. */

enum fo_role { FO_ROLE_UNKNOWN = 0, FO_ROLE_PRIMARY = 1, FO_ROLE_REPLICA = 2, FO_ROLE_ORPHAN = 3 };
/* Values match fo.Role in proto/failoverd.proto. */

#endif
