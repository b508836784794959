/* failoverctl's command runners and the one place that reports outcomes, shared by
 * main.c (single-request commands) and status.c (the fan-out `status`).
 *
 * Reporting rules (exit codes in args.h, documented in the usage text): every failure
 * prints "error: MESSAGE" on stderr; with --json it also prints
 * {"ok":false,"code":FO_E*,"error":MESSAGE} on stdout, so a script always gets one
 * JSON object. */
#ifndef FO_CTL_CTL_H
#define FO_CTL_CTL_H

#include "args.h"
#include "common/buf.h"
#include "failoverd.pb-c.h"
#include "rpc.h"

/* Reports a failure as above and returns exit_code. code is an FO_E* value. */
int fo_ctl_fail(const struct fo_ctl_args *a, int exit_code, int code, const char *msg);

/* Writes out to stdout and returns exit_code; if out ran out of memory or stdout
 * cannot be written, reports that instead and returns FO_CTL_EXIT_FAILED. */
int fo_ctl_emit(const struct fo_ctl_args *a, const struct fo_buf *out, int exit_code);

/* Judges a finished call to the controller. Returns 0 when c->resp succeeded and
 * carries the body `want` (NOT_SET: any body). Otherwise reports and returns the exit
 * code: 3 for transport and protocol errors (including a missing body), 4 for
 * FO_ENOLEADER, 1 for any other Response.code. */
int fo_ctl_check_reply(const struct fo_ctl_args *a, const struct fo_ctl_call *c, Fo__Response__BodyCase want);

/* `status`: MembersReq to the controller, then StatusReq to every member at once, all
 * over TLS with tls (NULL: plain TCP). */
int fo_ctl_run_status(const struct fo_ctl_args *a, struct fo_ctl_tls *tls);

/* `events [CLUSTER] [--follow]` (events.c): the last a->limit events (and the
 * cluster's decisions), then, with --follow, new events, decisions and failover steps
 * every a->interval_ms until interrupted or the output is closed. Returns the exit
 * code (a --follow run ends only on a write error or when no controller answers the
 * first poll). */
int fo_ctl_run_events(const struct fo_ctl_args *a, struct fo_ctl_tls *tls);

#endif
