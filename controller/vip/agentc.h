/* failoverd's client of the failover-agent RPC (proto/agent.proto, DESIGN.md §7):
 * AgentRequest frames out, AgentResponse frames back, over mutual TLS (common/tls.h,
 * the node's controller certificate; only peers with the agent role are accepted)
 * or, with [tls] insecure = yes, plain TCP.
 *
 * One persistent connection per agent address, made on the first call and kept:
 * lease renewals run every lease/4 for each cluster's VIP holder, and a TLS handshake
 * per renewal would cost more than the renewal itself. Calls to the same agent are
 * pipelined on that connection and answered in order (the agent serves one request
 * per connection at a time, in order); each response must carry its call's id.
 *
 * Timeouts: each call has its own deadline (monotonic, uv_now). When any call's
 * deadline passes, the connection is closed and every call on it fails with
 * FO_ETIMEDOUT: answers are ordered, so a stuck head blocks the rest anyway. A call
 * made on a connection that was already open (so it may have been closed by the
 * agent meanwhile, e.g. an agent restart) and that fails with the connection before
 * its answer is retried once on a new connection; every agent RPC is idempotent.
 *
 * Callback contract (STYLE.md §4): if fo_agentc_call returns an error, cb never
 * fires; otherwise it fires exactly once, from the loop, never from inside
 * fo_agentc_call: with 0 and the response (owned by agentc, valid during the call
 * only; a non-zero response code is the agent's refusal, reported as such), or an
 * error (FO_ETIMEDOUT, FO_EUNREACHABLE, FO_EPERM for a peer that failed
 * authentication, FO_EPROTO, FO_ECLOSED, FO_EIO) with a reason, or FO_ECANCELED after
 * fo_agentc_cancel or fo_agentc_close.
 *
 * Threads: the loop's thread only. */
#ifndef FO_AGENTC_H
#define FO_AGENTC_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "agent.pb-c.h"
#include "common/config.h"
#include "common/err.h"

#define FO_AGENTC_MAX_RESPONSE (1u << 20)
#define FO_AGENTC_MAX_QUEUE 64 /* calls waiting on one agent */

struct fo_agentc;
struct fo_agentc_call;
struct fo_tls_files; /* common/tls.h */

typedef void (*fo_agentc_cb)(void *data, int status, const char *error, const Fo__Agent__AgentResponse *resp);

/* Makes the TLS context (unless tls->insecure; agents only) from files, the [tls]
 * files the process loaded once (controller/ctl.h, tls_files: no file is read here),
 * or, files NULL, by loading tls's paths. Returns 0 or FO_ECONFIG / FO_EINVAL /
 * FO_ENOMEM with err filled. */
int fo_agentc_new(struct fo_agentc **out, uv_loop_t *loop, const struct fo_tls_cfg *tls, struct fo_tls_files *files,
                  char err[FO_ERRLEN]);

/* Sends req (its id is set by agentc) to the agent at host:port. host is an IP
 * literal or a name (resolved with uv_getaddrinfo). timeout_ms 1..600000. Returns the
 * call (for fo_agentc_cancel) or NULL with err filled (FO_EINVAL, FO_ENOMEM,
 * FO_EBUSY when FO_AGENTC_MAX_QUEUE calls already wait on that agent). */
struct fo_agentc_call *fo_agentc_call(struct fo_agentc *a, const char *host, uint16_t port,
                                      Fo__Agent__AgentRequest *req, unsigned timeout_ms, fo_agentc_cb cb, void *data,
                                      char err[FO_ERRLEN]);

/* fo_agentc_call whose callback also says whether the request was ever written on an
 * established (TLS: authenticated) connection. written false means no byte of it left
 * this process: it failed before any handshake completed (connect timeout to a host
 * that is cut off, refused, unresolvable), or was cancelled or timed out while queued
 * behind a connection being made; every socket of the call is closed when the
 * callback fires, so such a request can never reach the agent later. written true
 * (also after a retry, or with an error) means it may have reached the agent, now or
 * later (TCP retransmission). Lease bookkeeping depends on this
 * (docs/vip-lease-delay.md). Same contract as fo_agentc_call otherwise. */
typedef void (*fo_agentc_written_cb)(void *data, int status, bool written, const char *error,
                                     const Fo__Agent__AgentResponse *resp);
struct fo_agentc_call *fo_agentc_call_w(struct fo_agentc *a, const char *host, uint16_t port,
                                        Fo__Agent__AgentRequest *req, unsigned timeout_ms, fo_agentc_written_cb cb,
                                        void *data, char err[FO_ERRLEN]);

/* The call's cb fires with FO_ECANCELED (from the loop, not from inside this
 * function). The request may still reach the agent. */
void fo_agentc_cancel(struct fo_agentc_call *c);

/* Cancels every call (their callbacks fire with FO_ECANCELED), closes every
 * connection, and frees everything once all handles are closed. Call once. */
void fo_agentc_close(struct fo_agentc *a);

/* Counters for /metrics. */
struct fo_agentc_stats {
    uint64_t calls, ok, refused, failed, connects, tls_refused;
};
void fo_agentc_stats(const struct fo_agentc *a, struct fo_agentc_stats *out);

#endif
