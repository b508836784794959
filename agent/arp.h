/* Gratuitous ARP: tells the segment's switches and hosts that the VIP now lives at
 * this interface's MAC address (DESIGN.md §1), so traffic follows a moved VIP at once
 * instead of after the neighbours' ARP caches time out.
 *
 * An announcement is an ARP request (RFC 5227 §3 "ARP Announcement") broadcast to
 * ff:ff:ff:ff:ff:ff from the interface's MAC, with sender IP = target IP = the VIP and
 * target MAC zero, padded to the 60-byte Ethernet minimum. It goes out through an
 * AF_PACKET socket bound to the interface (needs CAP_NET_RAW). fo_arp_announce sends
 * `count` of them, the first on the next loop iteration and the others `interval_ms`
 * apart, driven by a uv_timer: the loop never blocks (sends are non-blocking).
 *
 * Callback contract (STYLE.md §4): if fo_arp_announce returns non-zero the callback
 * never fires and *out is untouched; otherwise it fires exactly once, on the loop
 * thread, after every handle is closed and the operation freed:
 *   0             all `count` announcements were sent
 *   FO_ECANCELED  fo_arp_cancel() was called first (some may have been sent)
 *   FO_EIO        a send failed (for instance the interface went down); no more are
 *                 sent; detail gives the reason
 * detail is "" on success and is valid during the call only. The operation pointer is
 * invalid once the callback started.
 *
 * Threads: the loop's thread only. */
#ifndef FO_AGENT_ARP_H
#define FO_AGENT_ARP_H

#include <netinet/in.h>
#include <uv.h>

#include "common/err.h"

#define FO_ARP_MAX_COUNT 100
#define FO_ARP_MAX_INTERVAL_MS 60000u

struct fo_arp;

typedef void (*fo_arp_done_cb)(void *data, int status, const char *detail);

/* Starts announcing addr (network byte order) on interface ifname. Errors, with err
 * set: FO_EINVAL (count not in 1..FO_ARP_MAX_COUNT, interval_ms not in
 * 1..FO_ARP_MAX_INTERVAL_MS, a NULL argument, an interface that is not Ethernet, such
 * as lo), FO_ENOTFOUND (no such interface), FO_EPERM (no CAP_NET_RAW), FO_ENOMEM,
 * FO_EIO. The interface's MAC is read once, here (SIOCGIFHWADDR). */
int fo_arp_announce(uv_loop_t *loop, const char *ifname, struct in_addr addr, unsigned count, unsigned interval_ms,
                    fo_arp_done_cb cb, void *data, struct fo_arp **out, char err[FO_ERRLEN]);

/* Stops sending; the callback fires with FO_ECANCELED on a later loop iteration. Has
 * no effect once the operation is finishing by itself (its callback, already due,
 * reports how it ended), or when called a second time. */
void fo_arp_cancel(struct fo_arp *a);

#endif
