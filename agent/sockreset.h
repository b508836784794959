/* Aborting the TCP connections of an address that is about to leave this host (issue 11,
 * switchover write window): when the agent removes a VIP, every TCP socket whose LOCAL
 * address is that VIP is aborted first, through the kernel's sock_diag SOCK_DESTROY, so
 * that each peer gets a RST at once and reconnects (to the new holder once it has the
 * address). Without it the peer's next packets still go to this host's MAC, the host no
 * longer owns the address and drops them silently, and the client waits for its read
 * timeout or for TCP retransmission timeouts (many seconds).
 *
 * Order matters, and it is the caller's: abort, THEN delete the address. The kernel sends
 * a socket's RST from the socket's own local address; once that address is gone, the
 * route lookup for it fails and no RST leaves the host (tests/integration/test_vip_rst.py
 * shows the difference).
 *
 * How: one NETLINK_SOCK_DIAG socket per call; a dump of TCP sockets (AF_INET, then
 * AF_INET6, where a dual-stack listener's accepted IPv4 connections live with a v4-mapped
 * address) filtered in the kernel by an inet_diag bytecode "local address == addr, any
 * port", then one SOCK_DESTROY per socket found, each identified by its 4-tuple and the
 * kernel's socket cookie (so a socket closed and replaced in between is never hit).
 * Only sockets that a program still holds and whose peer may still be waiting are
 * dumped: ESTABLISHED, CLOSE_WAIT (the peer half-closed, we did not) and SYN_SENT.
 * Listening sockets are never touched: a server bound to the VIP keeps its listener (it
 * serves again when the VIP comes back). Nor are sockets its program already closed
 * (FIN_WAIT1/2, CLOSING, LAST_ACK, TIME_WAIT: the peer has our FIN, and the kernel would
 * acknowledge an abort of such an orphan without sending anything) or half-open request
 * sockets (the kernel drops those without a RST).
 *
 * Rounds: a client that reconnects at once may complete a new handshake with this host
 * while the first round is aborting; the next round finds it. Rounds repeat until one
 * finds nothing (at most FO_SOCKRESET_ROUNDS). What remains is a connection whose
 * handshake completes between the last round and the address's removal (one netlink
 * round trip): its client waits for its own timeout. That is the floor of this design.
 *
 * Bounded: at most FO_SOCKRESET_MAX sockets per call (more are left as they are and
 * reported), FO_SOCKRESET_ROUNDS rounds, FO_SOCKRESET_TIMEOUT_MS in total (each receive
 * re-armed with what is left), and every netlink reply is parsed with its lengths
 * checked: a malformed reply is FO_EPROTO, never an overread. The kernel answers at once, so the call is acceptable on
 * the loop thread; it keeps no state and may be called from any thread, in the calling
 * thread's network namespace. SOCK_DESTROY needs CAP_NET_ADMIN and a kernel built with
 * CONFIG_INET_DIAG_DESTROY (the call `ss -K` makes); without it the caller is told
 * (unsupported) and the address is removed all the same.
 *
 * The parsing and request-building functions are exposed for unit tests
 * (tests/unit/test_vip_rst.c); they touch no socket. */
#ifndef FO_AGENT_SOCKRESET_H
#define FO_AGENT_SOCKRESET_H

#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Sockets aborted at most per call (all rounds), rounds at most, and the call's total
 * time. */
#define FO_SOCKRESET_MAX 65536u
#define FO_SOCKRESET_ROUNDS 4u
#define FO_SOCKRESET_TIMEOUT_MS 1000u

/* SOCK_DESTROY from linux/sock_diag.h (21); older headers lack it. */
#define FO_SOCK_DESTROY 21

struct fo_sockreset_result {
    unsigned found;   /* sockets with addr as local address (both families, all rounds) */
    unsigned reset;   /* of those, aborted by the kernel */
    unsigned gone;    /* closed on their own between the dump and the abort */
    unsigned rounds;  /* dump-and-abort rounds run */
    bool truncated;   /* more than FO_SOCKRESET_MAX were found: the rest were left */
    bool unsupported; /* the kernel refused SOCK_DESTROY (EOPNOTSUPP); nothing was reset */
};

/* Aborts every TCP socket whose local address is addr (network byte order, any port),
 * as described above. Fills *r in every case (what was done before an error stands).
 * Returns 0, or FO_EIO with r->unsupported (no CONFIG_INET_DIAG_DESTROY: the caller
 * logs it and goes on), FO_EPERM (no CAP_NET_ADMIN), FO_ETIMEDOUT, FO_EPROTO (a reply
 * that makes no sense), FO_ENOMEM, FO_EIO (anything else); err says which. A socket the
 * kernel cannot abort for another reason is skipped and the first such error returned
 * after the others were tried. */
int fo_sockreset_addr(struct in_addr addr, struct fo_sockreset_result *r, char err[FO_ERRLEN]);

/* ---- exposed for tests ----------------------------------------------------------------- */

/* One socket to abort: its family and the kernel's identity for it. */
struct fo_sockreset_sock {
    uint8_t family; /* AF_INET or AF_INET6 */
    struct inet_diag_sockid id;
};

/* A growing array of sockets, never more than max (then truncated is set). Zero it, set
 * max, and free v when done. */
struct fo_sockreset_list {
    struct fo_sockreset_sock *v;
    unsigned n, cap, max;
    bool truncated;
};

/* Request builders: write one netlink message into buf (size bytes) and return its
 * length, or 0 when it does not fit. The dump asks for family's TCP sockets in the states
 * above whose local address is addr (bytecode INET_DIAG_BC_S_COND, port -1 = any); the
 * destroy names one socket s. */
size_t fo_sockreset_dump_request(void *buf, size_t size, uint32_t seq, uint8_t family, struct in_addr addr);
size_t fo_sockreset_destroy_request(void *buf, size_t size, uint32_t seq, const struct fo_sockreset_sock *s);

/* Parses one datagram (buf, len) of the answer to a dump sent with seq from portid (the
 * socket's port id): every message's length is checked against what is left, every
 * message must carry seq and portid, every socket message must be of `family` and hold
 * a whole inet_diag_msg followed by well-formed attributes. Sockets whose local address
 * is addr (IPv4, or v4-mapped IPv6) are appended to out; others are skipped (the kernel
 * filtered them already). Returns FO_EAGAIN (more datagrams follow), 0 (NLMSG_DONE:
 * the dump is complete), FO_EPROTO (malformed; nothing after the bad message is used),
 * FO_ENOMEM, or FO_EIO with *kerr = the kernel's errno (an NLMSG_ERROR, or a negative
 * NLMSG_DONE status). */
int fo_sockreset_parse_dump(const void *buf, size_t len, uint32_t seq, uint32_t portid, uint8_t family,
                            struct in_addr addr, struct fo_sockreset_list *out, int *kerr);

/* Parses the answer to one SOCK_DESTROY sent with seq: returns 0 with *kerr = the ack's
 * errno (0 = aborted, ENOENT = no such socket any more, EOPNOTSUPP = not built in), or
 * FO_EPROTO when the datagram is malformed or holds no such ack. */
int fo_sockreset_parse_ack(const void *buf, size_t len, uint32_t seq, uint32_t portid, int *kerr);

/* Whether s's local address is addr (IPv4, or IPv4 mapped into IPv6). */
bool fo_sockreset_matches(const struct fo_sockreset_sock *s, struct in_addr addr);

#endif
