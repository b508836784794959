/* Trying the controllers of a list in order (args.h: --controller, FAILOVERCTL_CONTROLLER,
 * the files' controller key).
 *
 * The rule that decides whether the next controller is tried:
 *   - a reply, any reply (even an error such as "no leader"), is final: every node
 *     answers for the whole cluster, so another would say the same;
 *   - a call that never wrote a byte of its request (connection refused, no
 *     connection or TLS handshake within the per-controller connect timeout, a name
 *     that does not resolve, a certificate refused) reached no server: the next
 *     controller is tried, for every command;
 *   - a call that may have reached a server (rpc.h: request_sent) and then failed
 *     (closed, reset, timed out waiting for the reply) is tried again elsewhere only
 *     for reads (fo_ctl_cmd_is_idempotent). A write (failover, switchover, member
 *     add...) may already be running on the first controller; sending it again could
 *     do it twice, so failoverctl reports the failure and says so.
 * All attempts share one deadline: the command's --timeout.
 *
 * Single-threaded; blocking (poll) like rpc.h. */
#ifndef FO_CTL_FALLBACK_H
#define FO_CTL_FALLBACK_H

#include "args.h"
#include "rpc.h"

/* The rule above for one finished call: 1 if the request may be sent to the next
 * controller. Pure. */
int fo_ctl_may_try_next(const struct fo_ctl_call *c, int idempotent);

/* Sends req to controllers[0..n-1] in order per the rule, within timeout_ms in all
 * and connect_timeout_ms per controller for connecting, over tls (NULL: plain TCP).
 * The last attempt's call is left in *out (the caller frees it with
 * fo_ctl_call_free): its rc and err when no controller answered, with err listing
 * every controller tried when there were several. *tried counts the controllers
 * contacted (may be NULL). n must be at least 1. */
void fo_ctl_call_any(struct fo_ctl_call *out, const char controllers[][FO_ADDR_LEN], unsigned n, const Fo__Request *req,
                     struct fo_ctl_tls *tls, int idempotent, unsigned timeout_ms, unsigned connect_timeout_ms,
                     unsigned *tried);

/* fo_ctl_call_any with a's controller list, timeouts and command. */
void fo_ctl_call_args(struct fo_ctl_call *out, const struct fo_ctl_args *a, const Fo__Request *req,
                      struct fo_ctl_tls *tls);

#endif
