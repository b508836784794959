/* Gratuitous ARP announcements on a uv_timer; see arp.h for the contract.
 *
 * The frame is built once at start (the MAC and the VIP do not change while we
 * announce) and sent as is on every timer tick. The operation owns one timer handle
 * and one packet socket; the socket is closed as soon as the operation ends, the
 * memory only in the timer's close callback (STYLE.md §4). */
#include "agent/arp.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/if_ether.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Minimum Ethernet frame without the FCS; ARP is 42 bytes and is padded with zeros. */
#define FRAME_LEN 60

struct fo_arp {
    uv_timer_t timer;
    int fd;
    unsigned ifindex;
    unsigned count, sent;
    bool finishing;
    int status;
    fo_arp_done_cb cb;
    void *data;
    unsigned char frame[FRAME_LEN];
    char detail[FO_ERRLEN];
};

static const unsigned char broadcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static int errno_code(int e)
{
    switch (e) {
    case EPERM:
    case EACCES: return FO_EPERM;
    case ENODEV:
    case ENXIO: return FO_ENOTFOUND;
    case ENOMEM:
    case ENOBUFS: return FO_ENOMEM;
    default: return FO_EIO;
    }
}

/* Ethernet header + ARP request "who has VIP? tell VIP" from mac (RFC 5227 §3). */
static void build_frame(unsigned char f[FRAME_LEN], const unsigned char mac[ETH_ALEN], struct in_addr addr)
{
    struct ether_header eh;
    struct ether_arp ea;

    memset(f, 0, FRAME_LEN);
    memcpy(eh.ether_dhost, broadcast, ETH_ALEN);
    memcpy(eh.ether_shost, mac, ETH_ALEN);
    eh.ether_type = htons(ETHERTYPE_ARP);
    memset(&ea, 0, sizeof(ea));
    ea.arp_hrd = htons(ARPHRD_ETHER);
    ea.arp_pro = htons(ETHERTYPE_IP);
    ea.arp_hln = ETH_ALEN;
    ea.arp_pln = sizeof(addr);
    ea.arp_op = htons(ARPOP_REQUEST);
    memcpy(ea.arp_sha, mac, ETH_ALEN);
    memcpy(ea.arp_spa, &addr, sizeof(addr));
    memcpy(ea.arp_tpa, &addr, sizeof(addr));
    memcpy(f, &eh, sizeof(eh));
    memcpy(f + sizeof(eh), &ea, sizeof(ea));
}

/* A packet socket bound to the interface for sending only (protocol 0: the kernel
 * delivers nothing to it), and the interface's Ethernet address in mac. */
static int open_socket(const char *ifname, unsigned ifindex, unsigned char mac[ETH_ALEN], int *fdp, char *err)
{
    struct sockaddr_ll sll;
    struct ifreq ifr;
    int fd = -1, rc;

    fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fo_errf(err, errno_code(errno), "arp on %s: packet socket: %s", ifname, strerror(errno));
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
        rc = fo_errf(err, errno_code(errno), "arp on %s: SIOCGIFHWADDR: %s", ifname, strerror(errno));
        goto err_after_socket;
    }
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        rc = fo_errf(err, FO_EINVAL, "arp on %s: not an Ethernet interface (hardware type %u)", ifname,
                     (unsigned)ifr.ifr_hwaddr.sa_family);
        goto err_after_socket;
    }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = (int)ifindex;
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
        rc = fo_errf(err, errno_code(errno), "arp on %s: bind: %s", ifname, strerror(errno));
        goto err_after_socket;
    }
    *fdp = fd;
    return 0;

err_after_socket:
    close(fd);
    return rc;
}

static void on_close(uv_handle_t *h)
{
    struct fo_arp *a = h->data;
    fo_arp_done_cb cb = a->cb;
    void *data = a->data;
    int status = a->status;
    char detail[FO_ERRLEN];

    memcpy(detail, a->detail, sizeof(detail));
    free(a);
    cb(data, status, detail);
}

static void finish(struct fo_arp *a, int status)
{
    a->finishing = true;
    a->status = status;
    uv_timer_stop(&a->timer);
    close(a->fd);
    a->fd = -1;
    uv_close((uv_handle_t *)&a->timer, on_close);
}

static void on_timer(uv_timer_t *t)
{
    struct fo_arp *a = t->data;
    struct sockaddr_ll sll;
    ssize_t n;

    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ARP);
    sll.sll_ifindex = (int)a->ifindex;
    sll.sll_halen = ETH_ALEN;
    memcpy(sll.sll_addr, broadcast, ETH_ALEN);
    do {
        n = sendto(a->fd, a->frame, sizeof(a->frame), MSG_DONTWAIT, (struct sockaddr *)&sll, sizeof(sll));
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(a->frame)) {
        fo_errf(a->detail, FO_EIO, "announcement %u of %u: %s", a->sent + 1, a->count,
                n < 0 ? strerror(errno) : "short send");
        finish(a, FO_EIO);
        return;
    }
    if (++a->sent == a->count) finish(a, 0);
}

static int check_args(uv_loop_t *loop, const char *ifname, unsigned count, unsigned interval_ms, fo_arp_done_cb cb,
                      struct fo_arp **out, char *err)
{
    if (loop == NULL || ifname == NULL || cb == NULL || out == NULL) return fo_errf(err, FO_EINVAL, "NULL argument");
    if (strnlen(ifname, IF_NAMESIZE) >= IF_NAMESIZE || ifname[0] == '\0')
        return fo_errf(err, FO_EINVAL, "invalid interface name");
    if (count < 1 || count > FO_ARP_MAX_COUNT)
        return fo_errf(err, FO_EINVAL, "arp count %u not in 1..%d", count, FO_ARP_MAX_COUNT);
    if (interval_ms < 1 || interval_ms > FO_ARP_MAX_INTERVAL_MS)
        return fo_errf(err, FO_EINVAL, "arp interval %u ms not in 1..%u", interval_ms, FO_ARP_MAX_INTERVAL_MS);
    return 0;
}

int fo_arp_announce(uv_loop_t *loop, const char *ifname, struct in_addr addr, unsigned count, unsigned interval_ms,
                    fo_arp_done_cb cb, void *data, struct fo_arp **out, char err[FO_ERRLEN])
{
    unsigned char mac[ETH_ALEN];
    struct fo_arp *a;
    unsigned idx;
    int fd = -1, rc;

    rc = check_args(loop, ifname, count, interval_ms, cb, out, err);
    if (rc != 0) return rc;
    idx = if_nametoindex(ifname);
    if (idx == 0) return fo_errf(err, errno_code(errno), "arp on %s: %s", ifname, strerror(errno));
    rc = open_socket(ifname, idx, mac, &fd, err);
    if (rc != 0) return rc;
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        rc = fo_errf(err, FO_ENOMEM, "out of memory");
        goto err_after_socket;
    }
    rc = uv_timer_init(loop, &a->timer);
    if (rc != 0) {
        rc = fo_errf(err, FO_EIO, "arp timer: %s", uv_strerror(rc));
        goto err_after_alloc;
    }
    a->timer.data = a;
    a->fd = fd;
    a->ifindex = idx;
    a->count = count;
    a->cb = cb;
    a->data = data;
    build_frame(a->frame, mac, addr);
    /* The first announcement right away (next iteration), then one per interval. */
    uv_timer_start(&a->timer, on_timer, 0, interval_ms);
    *out = a;
    return 0;

err_after_alloc:
    free(a);
err_after_socket:
    close(fd);
    return rc;
}

void fo_arp_cancel(struct fo_arp *a)
{
    if (a == NULL || a->finishing) return;
    snprintf(a->detail, sizeof(a->detail), "canceled after %u of %u announcements", a->sent, a->count);
    finish(a, FO_ECANCELED);
}
