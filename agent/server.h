/* failover-agent's RPC server (DESIGN.md §1, §7, §9): accepts the controller's
 * connections (mutual TLS via common/tls.h, peers with the controller role only; plain
 * TCP only with `insecure = yes`), reads common/frame.h frames carrying
 * fo.agent.AgentRequest (proto/agent.proto) and answers each with one AgentResponse,
 * in order. One request per connection is in flight at a time; reading pauses
 * meanwhile.
 *
 * Leases are per VIP (DESIGN.md §7): every `vip =` line of a [cluster] section is one
 * lease, so a host may hold a cluster's writer VIP and several of its reader VIPs,
 * each under its own lease, timer and gratuitous ARP. Epochs are per cluster.
 *
 * Every request naming an epoch is fenced first: the epoch is checked against, and
 * if higher written durably to, agent/epoch.h's store (one epoch per cluster, whichever
 * VIP the request names; epoch 0 is valid until a higher one is seen) in libuv's
 * thread pool (fsync never runs on the loop). Only then does the request act:
 *   AcquireVip (cluster, vip, prefix, interface) takes the lease of exactly that
 *     configured VIP: adds the address through agent/vip.h, announces it with
 *     agent/arp.h and arms that lease's timer (agent/lease.h, uv_timer on uv_now:
 *     monotonic time only). The cluster's other leases are not touched.
 *   RenewLease (cluster, vip) extends the lease on vip ("a.b.c.d"), or with vip ""
 *     every lease of the cluster that is held; FO_ENOTFOUND if none of them is held
 *     (a lease that ran out or was released comes back only by AcquireVip).
 *   ReleaseVip (cluster, vip) gives up the lease on vip, or with vip "" every lease of
 *     the cluster, and deletes the address(es) from the interface whatever the lease
 *     says (also an address nobody leased, added by hand, with any prefix length);
 *     AgentResponse.vip_removed says whether an address was there and deleted.
 *   FenceMysql fences the local mysqld with mysql/fence.h (read_only=1,
 *     super_read_only=1 where it exists, every client session killed, semi-sync master
 *     off) and answers 0 only when that is confirmed; AgentResponse.fence carries the
 *     result (what survived) either way. A FenceMysql that arrives while the agent is
 *     undoing its own fence (below) starts once that undo ended, so read_only=1 comes
 *     last.
 *   SalvageBinlog (cluster, start_gtid, offset) reads the local mysqld's binlog files
 *     after start_gtid with mariadb-binlog and answers the SQL text in chunks
 *     (agent/binlog.h, docs/binlog-salvage.md): only while nothing listens on the
 *     [mysql] port, bounded by salvage_max_bytes and salvage_timeout_ms; a read arms the
 *     restart watch, so that a mysqld that comes back after it is fenced.
 * A lease that is not renewed in time makes the agent delete that VIP itself. With
 * lease_read_only (default yes) and a [mysql] section, the expiry of a WRITER VIP
 * lease also fences the local mysqld (mysql/fence.h, semi-sync untouched); the
 * agent undoes that fence of its own (read_only=0, super_read_only=0; logged, counted
 * in /metrics) once every writer lease that caused it is held again - renewed or
 * re-acquired - at the epoch it lapsed at. It never undoes a FenceMysql (a fence at or
 * below a FenceMysql's epoch, or any claim pending when a FenceMysql arrives, is kept)
 * and never when the lease comes back at another epoch (agent/mysqlfence.c). If a
 * cluster lists one address with several prefixes or interfaces, a vip naming it
 * names all of those leases.
 *
 * Status answers one ClusterStatus per lease, in configuration order: the cluster and
 * its epoch, the lease's state and time left, the configured VIP ("a.b.c.d/len", held
 * or not), its interface and whether the address is on it now (any prefix length,
 * lease or not).
 *
 * Refused, logged with the peer and counted in agent/metrics.h, with nothing changed:
 * stale epochs (FO_ESTALE), clusters not in the config (FO_ENOTFOUND), interfaces or
 * addresses not listed for the cluster, also as a RenewLease / ReleaseVip vip
 * (FO_EPERM), malformed requests (FO_EINVAL); all but the first are checked before the
 * epoch, so that such a request does not raise it either. A bad frame (garbage,
 * oversized, wrong version or type, undecodable protobuf) closes that connection only.
 * A TLS peer that fails authentication is closed by the TLS layer and counted.
 *
 * Budgets (DESIGN.md §10, common/listener.h, agent/config.h): at most max_unauth
 * connections in their TLS handshake (max_unauth_per_source from one address), a
 * handshake not done within handshake_timeout_ms is dropped, at most max_conns
 * authenticated controller connections; on EMFILE/ENFILE pending connections are
 * accepted and dropped with a reserved fd. Every refusal is counted in
 * failoverd_agent_conn_refused_total{reason} and logged at most once a second per reason, so
 * that a flood of strangers can neither exhaust the agent's fds nor keep the
 * controller's lease renewals (on their established connection) from being served.
 * The HTTP server has its own limits (common/http.h: http_max_conns,
 * http_max_per_source, http_timeout_s).
 *
 * At start the agent deletes every configured VIP that is present (each lease's): after
 * a restart it holds no lease, so it must not keep answering on the address; the
 * controller's next renew fails (no lease) and it acquires again.
 *
 * Threads: the loop's thread, except the epoch work described above. */
#ifndef FO_AGENT_SERVER_H
#define FO_AGENT_SERVER_H

#include <uv.h>

#include "agent/config.h"
#include "common/err.h"

struct fo_agent_server;

/* Opens the epoch store, checks the TLS files, removes stale VIPs, then listens on
 * cfg->listen and serves /metrics on cfg->http_address if set. cfg must outlive the
 * server. Returns 0 or an error code with err filled (then nothing is left open). */
int fo_agent_server_start(struct fo_agent_server **out, uv_loop_t *loop, const struct fo_agent_config *cfg,
                          char err[FO_ERRLEN]);

/* The same with the TLS files the process loaded once at start (agent/main.c): the
 * agent port's context is made from them and no file is read. files NULL: loaded from
 * cfg's paths; ignored with insecure = yes. files may be freed once this returns. */
struct fo_tls_files;
int fo_agent_server_start_files(struct fo_agent_server **out, uv_loop_t *loop, const struct fo_agent_config *cfg,
                                struct fo_tls_files *files, char err[FO_ERRLEN]);

/* Stops listening, closes every connection, cancels timers and announcements (held
 * VIPs stay configured: their lease ends with the process and the controller moves
 * them). closed_cb (may be NULL) fires once, from the loop, after everything is
 * closed and the server freed. Call once. */
typedef void (*fo_agent_server_closed_cb)(void *data);
void fo_agent_server_stop(struct fo_agent_server *s, fo_agent_server_closed_cb closed_cb, void *data);

#endif
