/* Admin RPC server: fo.Request / fo.Response protobufs in common/frame.h frames over
 * TCP (TLS comes with the agent issue and will sit under the same framing).
 *
 * Reads (status, members, clusters, history) are answered by any node from its own
 * store. Topology is answered by the leader (it has every live probe sample); a
 * follower forwards it and falls back to its own store (live=false) if the leader
 * cannot be reached. Writes are validated, then proposed by the leader; a follower
 * forwards them once (Request.forwarded stops loops). A bad frame (garbage, wrong
 * version, oversized, undecodable protobuf) closes that connection with a logged
 * reason and is counted; nothing else changes. */
#ifndef FO_ADMIN_H
#define FO_ADMIN_H

#include "common/err.h"
#include "controller/ctl.h"

#define FO_ADMIN_MAX_CONNS 256
#define FO_ADMIN_MAX_INFLIGHT 16 /* requests in progress per connection */
#define FO_ADMIN_FORWARD_TIMEOUT_MS 5000

int fo_admin_start(struct fo_ctl *ctl, char err[FO_ERRLEN]);
void fo_admin_stop(struct fo_ctl *ctl);

/* Sends one Request to addr ("host:port", IP literal) and calls cb with the decoded
 * Response (owned by the callee; freed after cb returns) or NULL and an error. */
struct Fo__Request;
struct Fo__Response;
typedef void (*fo_admin_call_cb)(void *data, int status, const char *error, struct Fo__Response *resp);
int fo_admin_call(struct fo_ctl *ctl, const char *addr, const struct Fo__Request *req, unsigned timeout_ms,
                  fo_admin_call_cb cb, void *data, char err[FO_ERRLEN]);

#endif
