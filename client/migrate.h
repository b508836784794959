/* failoverctl's migration commands (issue 14): `import-mha FILE`, `import-mmm FILE`
 * (import.h parses the files) and `cluster discover NAME --seed HOST:PORT` (the
 * controller walks the topology: controller/admin/discover.h). Each prints what it
 * found; with --apply it registers it with the same requests `cluster add` and
 * `instance add` send, as one unit: when a registration of a new cluster fails half
 * way, the cluster is removed again and failoverctl says so.
 *
 * Both return the process exit code (args.h) and report like every command (ctl.h). */
#ifndef FO_CTL_MIGRATE_H
#define FO_CTL_MIGRATE_H

#include "args.h"
#include "rpc.h"

int fo_ctl_run_import(const struct fo_ctl_args *a, struct fo_ctl_tls *tls);
int fo_ctl_run_discover(const struct fo_ctl_args *a, struct fo_ctl_tls *tls);

#endif
