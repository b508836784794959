/* Failover hooks: external programs run without blocking the loop (uv_spawn), with a
 * timeout (SIGTERM, then SIGKILL 2 s later). The environment is exactly the given
 * list plus PATH=/usr/sbin:/usr/bin:/sbin:/bin (nothing inherited: no secrets leak).
 * stdout/stderr are read and logged line by line (at most 64 lines of 512 bytes per
 * run; the rest is dropped and counted), prefixed with the hook's name.
 *
 * Environment given by the failover engine: FO_CLUSTER, FO_OLD_PRIMARY (host:port),
 * FO_NEW_PRIMARY (host:port or ""), FO_EPOCH, FO_REASON, FO_KIND, FO_RESULT (post hooks).
 *
 * Callback contract: if fo_hook_run returns non-zero the callback never fires;
 * otherwise it fires exactly once (FO_ECANCELED after fo_hook_cancel, which also
 * kills the process). */
#ifndef FO_HOOKS_H
#define FO_HOOKS_H

#include <stdbool.h>
#include <uv.h>

#include "common/err.h"

#define FO_HOOK_MAX_ENV 32

struct fo_hook;

struct fo_hook_result {
    int status;           /* 0 ran to completion (see exit_code), FO_ETIMEDOUT, FO_ECANCELED, FO_EIO */
    int exit_code;        /* valid when status == 0 and term_signal == 0 */
    int term_signal;      /* signal that ended it, 0 if it exited */
    unsigned duration_ms; /* spawn to exit on the loop's clock (uv_now), the timeout's:
                           * never below timeout_ms when status is FO_ETIMEDOUT */
    char detail[256];     /* e.g. "exited 1", "killed after 5000 ms timeout", "spawn: No such file" */
};

typedef void (*fo_hook_cb)(void *data, const struct fo_hook_result *r);

/* name is used in logs ("pre_failover"); path must be absolute; env entries are
 * "KEY=VALUE" (at most FO_HOOK_MAX_ENV). */
int fo_hook_run(uv_loop_t *loop, const char *name, const char *path, const char *const *env, unsigned n_env,
                unsigned timeout_ms, fo_hook_cb cb, void *data, struct fo_hook **out, char err[FO_ERRLEN]);
void fo_hook_cancel(struct fo_hook *h);

/* Details of controller/act/hooks.c (added with the implementation):
 *
 * - Spawn errors are returned by fo_hook_run, never through the callback: FO_EINVAL
 *   (relative path, more than FO_HOOK_MAX_ENV entries, an entry without '=',
 *   timeout_ms 0, a NULL argument), FO_ENOTFOUND (no such file), FO_EPERM (not
 *   executable), FO_EIO / FO_ENOMEM otherwise; err says which. *out is then left
 *   untouched and the callback never fires; handles libuv initialised anyway are
 *   closed by the module and freed on a later loop iteration.
 * - stdin is /dev/null. A PATH entry in env replaces the default PATH. Strings in env
 *   need not outlive the call.
 * - The hook runs in its own session and process group; the timeout's SIGTERM and
 *   SIGKILL, and a cancel, go to the whole group (a script's children die with it).
 *   fo_hook_cancel sends SIGKILL at once and the callback still waits for the exit.
 * - The callback fires after the process exited (was reaped) and every handle is
 *   closed. A background process that keeps the output pipes open after the hook
 *   exited gets 500 ms before the pipes are closed anyway.
 * - A cancel after the exit but before the callback still reports FO_ECANCELED
 *   (exit_code / term_signal are filled in). h is invalid once the callback started.
 * - Output lines are logged at INFO as "<name>[stdout]: ..." / "<name>[stderr]: ...",
 *   control characters replaced by '?', lines longer than 512 bytes cut and marked
 *   " [cut]"; the number of dropped lines is logged at the end. */

#endif
