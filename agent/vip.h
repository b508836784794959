/* The writer VIP on a local interface: add, delete and query one IPv4 address with
 * its prefix through rtnetlink (libmnl), never by running `ip` (DESIGN.md §1).
 *
 * Each call opens its own NETLINK_ROUTE socket, sends one request and waits for the
 * kernel's answer: RTM_NEWADDR / RTM_DELADDR with NLM_F_ACK (the ack's error code is
 * checked, and its sequence number and port id must match), RTM_GETADDR as a dump for
 * the query. The kernel answers local requests at once; every receive is still bounded
 * by FO_VIP_TIMEOUT_MS in total (FO_ETIMEDOUT), so a call never blocks longer. That
 * makes the calls acceptable on the loop thread. They keep no state and may be called
 * from any thread. The socket lives in the calling thread's network namespace.
 *
 * An address is identified by interface, address and prefix length: 10.0.0.5/24 and
 * 10.0.0.5/32 on the same interface are two different addresses to the kernel, and to
 * these functions. The address is added with scope global, local = peer address, no
 * broadcast and no label, like `ip addr add 10.0.0.5/24 dev eth0`.
 *
 * Errors (err says which interface and address): FO_EINVAL (bad arguments),
 * FO_ENOTFOUND (no such interface, also when it vanished between lookup and request),
 * FO_EPERM (no CAP_NET_ADMIN), FO_ETIMEDOUT, FO_EPROTO (a reply that makes no sense),
 * FO_ENOMEM, FO_EIO (anything else, with the kernel's error text). */
#ifndef FO_AGENT_VIP_H
#define FO_AGENT_VIP_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/sockreset.h"
#include "common/err.h"

/* Upper bound for one call's wait on the kernel. */
#define FO_VIP_TIMEOUT_MS 2000

struct fo_vip {
    char ifname[IF_NAMESIZE]; /* NUL-terminated, at most IF_NAMESIZE - 1 characters */
    struct in_addr addr;      /* network byte order */
    uint8_t prefix;           /* 0..32 */
};

/* Fills v from an interface name and "a.b.c.d/len" (a missing "/len" means /32).
 * FO_EINVAL (with err) for an empty or too long interface name, a malformed address or
 * a prefix outside 0..32. Looks nothing up: the interface may not exist yet. */
int fo_vip_parse(struct fo_vip *v, const char *ifname, const char *cidr, char err[FO_ERRLEN]);

/* "10.0.0.5/24 on eth0" into buf (at least FO_VIP_STRLEN bytes), for log lines. */
#define FO_VIP_STRLEN (INET_ADDRSTRLEN + 4 + 4 + IF_NAMESIZE)
const char *fo_vip_str(const struct fo_vip *v, char buf[FO_VIP_STRLEN]);

/* Adds the address. Idempotent: if it is already there (the kernel says EEXIST) this
 * returns 0 too; *was_present (may be NULL) tells which happened. */
int fo_vip_add(const struct fo_vip *v, bool *was_present, char err[FO_ERRLEN]);

/* Deletes the address. Idempotent: an absent address returns 0 with *was_present
 * (may be NULL) false. */
int fo_vip_del(const struct fo_vip *v, bool *was_present, char err[FO_ERRLEN]);

/* Sets *present to whether the interface has the address (with this prefix). */
int fo_vip_query(const struct fo_vip *v, bool *present, char err[FO_ERRLEN]);

/* Like fo_vip_query, but with any prefix length: an address added by hand as /32 while
 * the configuration says /24 is still that address. *prefix (may be NULL) is the
 * prefix length of the first copy found. */
int fo_vip_find(const struct fo_vip *v, bool *present, uint8_t *prefix, char err[FO_ERRLEN]);

/* What fo_vip_withdraw did. */
struct fo_vip_withdrawal {
    bool removed;                       /* at least one copy was there and deleted */
    struct fo_sockreset_result sockets; /* TCP sockets on the address, aborted first */
    int reset_rc;                       /* 0, or why aborting them failed (the delete went on) */
    char reset_err[FO_ERRLEN];          /* the text of reset_rc */
};

/* Takes v's address off this host: when the interface has it (any prefix length), first
 * aborts every TCP socket whose local address it is, so that each peer gets a RST while
 * the address can still send one (agent/sockreset.h: after the delete the kernel has no
 * route from the address and the peer would wait for its timeouts), then deletes every
 * copy of the address on v's interface, whatever its prefix length (v->prefix is
 * ignored). A failed abort (w->reset_rc, w->sockets.unsupported when the kernel lacks
 * SOCK_DESTROY) does not stop the delete: the address leaving is what keeps "one holder"
 * true. Returns 0 or the delete's error; *w is filled in every case. An absent address
 * costs one query and no socket dump. */
int fo_vip_withdraw(const struct fo_vip *v, struct fo_vip_withdrawal *w, char err[FO_ERRLEN]);

/* fo_vip_withdraw without the details: *removed is w.removed. */
int fo_vip_del_any(const struct fo_vip *v, bool *removed, char err[FO_ERRLEN]);

#endif
