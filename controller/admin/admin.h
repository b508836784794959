/* Admin RPC server: fo.Request / fo.Response protobufs in common/frame.h frames over
 * mutual TLS (common/tls.h), or over plain TCP with [tls] insecure = yes (tests only;
 * a warning is logged at start).
 *
 * TLS (DESIGN.md §1, §9): the server accepts peers whose certificate chains to the
 * [tls] CA and has the role client (failoverctl) or controller (another node
 * forwarding). A handshake that fails (no certificate, another CA, another role, not
 * TLS at all) closes that connection, is logged with the peer and the reason, and is
 * counted (failoverd_admin_tls_refused_total); nothing else changes. Outgoing calls
 * (fo_admin_call: forwarding, verdicts) present this node's controller certificate
 * and accept only a controller whose subjectAltName names the IP address dialled.
 *
 * Roles (DESIGN.md §10): a client certificate can do everything failoverctl does
 * (reads, writes, switchover, failover, membership), directly or forwarded by a
 * follower. Internal RPCs, which a follower sends the leader on its own behalf
 * (verdicts about a primary, ProposeReq with its member note), need a controller
 * certificate that binds a node id (common/tls.h, "Node ids": subjectAltName URI
 * failoverd://node/ID, made by deploy/gen-certs.sh controller:NAME,IP,node=ID), and
 * the node the request names (VerdictReq.node_id, Command.origin, MemberNote.id) must
 * be that id. Anything else is refused with FO_EPERM, logged (peer, CN, both ids) and
 * counted in failoverd_admin_internal_refused_total{reason=role|no_node_id|
 * node_id_mismatch}; nothing else changes. A verdict from a bound node that is not a
 * current voter of the raft configuration (a spare, a standby, a removed member, an
 * unknown id) is refused too and never counts toward the majority (monitor.h). With
 * insecure = yes nothing can be bound: the node id is whatever the request claims
 * (the start-up warning says so); the voter rule still applies. At start, this node's
 * own certificate must be a controller's binding its node_id (else FO_ECONFIG, at
 * start and with --check-config alike; raft requires the same, raft/node.c).
 *
 * Reads (status, members, clusters, history) are answered by any node from its own
 * store. Topology is answered by the leader (it has every live probe sample); a
 * follower forwards it and falls back to its own store (live=false) if the leader
 * cannot be reached. Writes are validated, then proposed by the leader; a follower
 * forwards them once (Request.forwarded stops loops). A bad frame (garbage, wrong
 * version, oversized, undecodable protobuf) closes that connection with a logged
 * reason and is counted; nothing else changes.
 *
 * Budgets (DESIGN.md §10, common/listener.h, [limits] in common/config.h): the port
 * takes at most max_unauth connections in their TLS handshake (max_unauth_per_source
 * from one address, trusted_unauth more for the [peer] addresses), drops a handshake
 * not finished within handshake_timeout_ms, serves admin_max_conns authenticated
 * connections, and keeps admin_reserved_conns more for controller certificates only:
 * a flood of idle connections or of failoverctl sessions cannot starve the followers'
 * verdicts or forwarded writes. Refusals are counted in
 * failoverd_admin_conn_refused_total{reason} and logged at most once a second per
 * reason; failoverd_admin_connections{pool} shows what is in use. */
#ifndef FO_ADMIN_H
#define FO_ADMIN_H

#include "common/err.h"
#include "controller/ctl.h"

#define FO_ADMIN_MAX_INFLIGHT 16 /* requests in progress per connection */
#define FO_ADMIN_FORWARD_TIMEOUT_MS FO_CTL_FORWARD_TIMEOUT_MS

/* Loads the [tls] files the way fo_admin_start will (CA, certificate, key, key match,
 * certificate chains to the CA and carries a role; the role is controller and a node
 * id it binds is node_id), then frees them: main calls this
 * before anything starts, so a bad file stops failoverd with err naming it. Returns
 * 0 (also with insecure = yes) or FO_ECONFIG / FO_ENOMEM. */
int fo_admin_check_tls(const struct fo_config *cfg, char err[FO_ERRLEN]);

/* Loads TLS (unless insecure) and listens on admin_address. */
int fo_admin_start(struct fo_ctl *ctl, char err[FO_ERRLEN]);
void fo_admin_stop(struct fo_ctl *ctl);

/* TLS handshakes refused on the admin port since start; 0 once stopped. */
uint64_t fo_admin_tls_refused(const struct fo_ctl *ctl);

/* Writes the admin server's own families (failoverd_admin_internal_refused_total) in
 * Prometheus text format. */
struct fo_buf;
void fo_admin_metrics(struct fo_ctl *ctl, struct fo_buf *b);

/* Sends one Request to addr ("host:port", IP literal) and calls cb with the decoded
 * Response (owned by the callee; freed after cb returns) or NULL and an error.
 * fo_admin_start registers it as the node context's hooks.call (fo_ctl_call), which
 * rooms below admin use. */
struct Fo__Request;
struct Fo__Response;
typedef fo_ctl_call_cb fo_admin_call_cb;
int fo_admin_call(struct fo_ctl *ctl, const char *addr, const struct Fo__Request *req, unsigned timeout_ms,
                  fo_admin_call_cb cb, void *data, char err[FO_ERRLEN]);

#endif
