/* The writer VIP through rtnetlink; see vip.h for the contract.
 *
 * One short-lived NETLINK_ROUTE socket per call: no state to keep consistent between
 * calls, no multicast traffic to drain, and each call's sequence number checks stay
 * trivially correct. The overall deadline is monotonic and re-applied as SO_RCVTIMEO
 * before every receive, so a dump of many parts cannot stretch a call past it. */
#include "agent/vip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Requests are one header, one ifaddrmsg and two u32 attributes. */
#define REQ_SIZE 256
/* Big enough for any one part of an address dump (libmnl's MNL_SOCKET_DUMP_SIZE). */
#define RECV_SIZE 32768

struct nl {
    struct mnl_socket *sock;
    unsigned portid;
    unsigned seq;
    uint64_t deadline_ms;
    char *rbuf;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What a kernel or socket error means to our callers. */
static int errno_code(int e)
{
    switch (e) {
    case EPERM:
    case EACCES: return FO_EPERM;
    case ENODEV: return FO_ENOTFOUND;
    case ENOMEM:
    case ENOBUFS: return FO_ENOMEM;
    case EAGAIN:
    case ETIMEDOUT: return FO_ETIMEDOUT;
    default: return FO_EIO;
    }
}

const char *fo_vip_str(const struct fo_vip *v, char buf[FO_VIP_STRLEN])
{
    char a[INET_ADDRSTRLEN];

    if (inet_ntop(AF_INET, &v->addr, a, sizeof(a)) == NULL) snprintf(a, sizeof(a), "?");
    snprintf(buf, FO_VIP_STRLEN, "%s/%u on %s", a, (unsigned)v->prefix, v->ifname);
    return buf;
}

/* "len" after the '/': one or two digits, 0..32. */
static int parse_prefix(const char *s, uint8_t *out)
{
    unsigned long p;
    char *end;

    if (s[0] < '0' || s[0] > '9' || strlen(s) > 2) return -1;
    errno = 0;
    p = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || p > 32) return -1;
    *out = (uint8_t)p;
    return 0;
}

int fo_vip_parse(struct fo_vip *v, const char *ifname, const char *cidr, char err[FO_ERRLEN])
{
    char a[INET_ADDRSTRLEN + 4], *slash;
    size_t n;

    if (ifname == NULL || cidr == NULL) return fo_errf(err, FO_EINVAL, "no interface or address given");
    n = strnlen(ifname, IF_NAMESIZE);
    if (n == 0 || n >= IF_NAMESIZE || strchr(ifname, '/') != NULL)
        return fo_errf(err, FO_EINVAL, "invalid interface name (1 to %d characters, no '/')", IF_NAMESIZE - 1);
    if (strnlen(cidr, sizeof(a)) >= sizeof(a)) return fo_errf(err, FO_EINVAL, "invalid address (too long)");
    memcpy(a, cidr, strlen(cidr) + 1);
    v->prefix = 32;
    slash = strchr(a, '/');
    if (slash != NULL) {
        *slash = '\0';
        if (parse_prefix(slash + 1, &v->prefix) != 0)
            return fo_errf(err, FO_EINVAL, "invalid prefix length \"%s\" (want 0..32)", slash + 1);
    }
    if (inet_pton(AF_INET, a, &v->addr) != 1) return fo_errf(err, FO_EINVAL, "invalid IPv4 address \"%s\"", a);
    memcpy(v->ifname, ifname, n + 1);
    return 0;
}

static int ifindex(const struct fo_vip *v, unsigned *idx, char *err)
{
    char s[FO_VIP_STRLEN];

    *idx = if_nametoindex(v->ifname);
    if (*idx != 0) return 0;
    if (errno == ENODEV || errno == ENXIO) return fo_errf(err, FO_ENOTFOUND, "%s: no such interface", fo_vip_str(v, s));
    return fo_errf(err, errno_code(errno), "%s: interface lookup: %s", fo_vip_str(v, s), strerror(errno));
}

/* ------------------------------------------------------------------ one netlink conversation */

static int nl_open(struct nl *nl, char *err)
{
    nl->deadline_ms = mono_ms() + FO_VIP_TIMEOUT_MS;
    nl->seq = (unsigned)nl->deadline_ms;
    nl->rbuf = malloc(RECV_SIZE);
    if (nl->rbuf == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (nl->sock == NULL) goto err_after_alloc;
    if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) goto err_after_open;
    nl->portid = mnl_socket_get_portid(nl->sock);
    return 0;

err_after_open:
    mnl_socket_close(nl->sock);
err_after_alloc:
    free(nl->rbuf);
    return fo_errf(err, errno_code(errno), "netlink socket: %s", strerror(errno));
}

static void nl_close(struct nl *nl)
{
    mnl_socket_close(nl->sock);
    free(nl->rbuf);
}

/* Receives one datagram before the deadline; returns its length or -1 with errno
 * (ETIMEDOUT when the deadline passed). */
static ssize_t nl_recv(struct nl *nl)
{
    for (;;) {
        uint64_t now = mono_ms();
        struct timeval tv;
        ssize_t r;

        if (now >= nl->deadline_ms) break;
        tv.tv_sec = (time_t)((nl->deadline_ms - now) / 1000u);
        tv.tv_usec = (suseconds_t)((nl->deadline_ms - now) % 1000u * 1000u);
        if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) return -1;
        r = mnl_socket_recvfrom(nl->sock, nl->rbuf, RECV_SIZE);
        if (r >= 0) return r;
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    }
    errno = ETIMEDOUT;
    return -1;
}

/* Sends req and runs cb over the answer until the ack or the end of the dump. Returns
 * 0 or -1 with errno: the kernel's error from the ack, or a local one. */
static int nl_talk(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
    int r;

    req->nlmsg_seq = ++nl->seq;
    if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0) return -1;
    do {
        ssize_t n = nl_recv(nl);

        if (n < 0) return -1;
        r = mnl_cb_run(nl->rbuf, (size_t)n, req->nlmsg_seq, nl->portid, cb, data);
    } while (r == MNL_CB_OK);
    return r == MNL_CB_STOP ? 0 : -1;
}

/* ------------------------------------------------------------------ add / delete */

static struct nlmsghdr *addr_request(char *buf, uint16_t type, uint16_t flags, const struct fo_vip *v, unsigned idx)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifaddrmsg *ifa;

    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = v->prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = idx;
    mnl_attr_put_u32(nlh, IFA_LOCAL, v->addr.s_addr);
    mnl_attr_put_u32(nlh, IFA_ADDRESS, v->addr.s_addr);
    return nlh;
}

/* Runs just before a request is sent (withdraw: the socket aborts). */
struct just_before {
    void (*fn)(void *arg);
    void *arg;
};

/* Runs one RTM_NEWADDR / RTM_DELADDR. Returns 0 when the kernel acked it or answered
 * with the errno given as `benign` (EEXIST for add, EADDRNOTAVAIL for delete: the
 * address is already as wanted), *benign_hit telling which; else an FO_E* code. `jb`
 * (may be NULL) runs once the socket is open and the request built, right before it is
 * sent. */
static int change_addr(const struct fo_vip *v, uint16_t type, uint16_t flags, int benign, bool *benign_hit,
                       const struct just_before *jb, char *err)
{
    char req[REQ_SIZE], s[FO_VIP_STRLEN];
    const char *verb = type == RTM_NEWADDR ? "add" : "delete";
    struct nlmsghdr *nlh;
    struct nl nl;
    unsigned idx;
    int rc, e;

    *benign_hit = false;
    rc = ifindex(v, &idx, err);
    if (rc != 0) return rc;
    rc = nl_open(&nl, err);
    if (rc != 0) return rc;
    nlh = addr_request(req, type, flags, v, idx);
    if (jb != NULL) jb->fn(jb->arg);
    /* errno is saved at once: closing and formatting may change it. */
    e = nl_talk(&nl, nlh, NULL, NULL) == 0 ? 0 : errno;
    nl_close(&nl);
    if (e == 0) return 0;
    if (e == benign) {
        *benign_hit = true;
        return 0;
    }
    if (e == ENODEV) return fo_errf(err, FO_ENOTFOUND, "%s %s: no such interface", verb, fo_vip_str(v, s));
    return fo_errf(err, errno_code(e), "%s %s: %s", verb, fo_vip_str(v, s), strerror(e));
}

int fo_vip_add(const struct fo_vip *v, bool *was_present, char err[FO_ERRLEN])
{
    bool exists;
    int rc = change_addr(v, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, EEXIST, &exists, NULL, err);

    if (rc == 0 && was_present != NULL) *was_present = exists;
    return rc;
}

static int del_addr(const struct fo_vip *v, bool *was_present, const struct just_before *jb, char *err)
{
    bool absent;
    int rc = change_addr(v, RTM_DELADDR, 0, EADDRNOTAVAIL, &absent, jb, err);

    if (rc == 0 && was_present != NULL) *was_present = !absent;
    return rc;
}

int fo_vip_del(const struct fo_vip *v, bool *was_present, char err[FO_ERRLEN])
{
    return del_addr(v, was_present, NULL, err);
}

/* ------------------------------------------------------------------ query */

struct query {
    const struct fo_vip *v;
    unsigned idx;
    bool any; /* any prefix length (fo_vip_find) */
    bool present;
    uint8_t prefix; /* of the first match */
};

static int attr_cb(const struct nlattr *a, void *data)
{
    const struct nlattr **tb = data;
    uint16_t type = mnl_attr_get_type(a);

    if (mnl_attr_type_valid(a, IFA_MAX) < 0) return MNL_CB_OK; /* newer kernel: skip */
    if ((type == IFA_LOCAL || type == IFA_ADDRESS) && mnl_attr_validate(a, MNL_TYPE_U32) < 0) return MNL_CB_ERROR;
    tb[type] = a;
    return MNL_CB_OK;
}

/* One RTM_NEWADDR of the dump. */
static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
    const struct nlattr *tb[IFA_MAX + 1] = {0};
    struct query *q = data;
    const struct ifaddrmsg *ifa;
    const struct nlattr *a;

    if (nlh->nlmsg_type != RTM_NEWADDR) return MNL_CB_OK;
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa)) {
        errno = EPROTO;
        return MNL_CB_ERROR;
    }
    ifa = mnl_nlmsg_get_payload(nlh);
    if (ifa->ifa_family != AF_INET || ifa->ifa_index != q->idx || (!q->any && ifa->ifa_prefixlen != q->v->prefix))
        return MNL_CB_OK;
    if (mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, tb) < 0) {
        errno = EPROTO;
        return MNL_CB_ERROR;
    }
    a = tb[IFA_LOCAL] != NULL ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
    if (a != NULL && mnl_attr_get_u32(a) == q->v->addr.s_addr && !q->present) {
        q->present = true;
        q->prefix = ifa->ifa_prefixlen;
    }
    return MNL_CB_OK;
}

static int query(const struct fo_vip *v, bool any, bool *present, uint8_t *prefix, char *err)
{
    char req[REQ_SIZE], s[FO_VIP_STRLEN];
    struct query q = {v, 0, any, false, 0};
    struct nlmsghdr *nlh;
    struct ifaddrmsg *ifa;
    struct nl nl;
    int rc, e;

    rc = ifindex(v, &q.idx, err);
    if (rc != 0) return rc;
    rc = nl_open(&nl, err);
    if (rc != 0) return rc;
    nlh = mnl_nlmsg_put_header(req);
    nlh->nlmsg_type = RTM_GETADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    ifa->ifa_index = q.idx; /* a hint only: older kernels dump every interface */
    e = nl_talk(&nl, nlh, addr_cb, &q) == 0 ? 0 : errno;
    nl_close(&nl);
    if (e != 0)
        return fo_errf(err, e == EPROTO ? FO_EPROTO : errno_code(e), "query %s: %s", fo_vip_str(v, s), strerror(e));
    *present = q.present;
    if (prefix != NULL) *prefix = q.prefix;
    return 0;
}

int fo_vip_query(const struct fo_vip *v, bool *present, char err[FO_ERRLEN])
{
    return query(v, false, present, NULL, err);
}

int fo_vip_find(const struct fo_vip *v, bool *present, uint8_t *prefix, char err[FO_ERRLEN])
{
    return query(v, true, present, prefix, err);
}

struct reset_arg {
    const struct fo_vip *v;
    struct fo_vip_withdrawal *w;
};

static void reset_sockets(void *arg)
{
    struct reset_arg *a = arg;

    a->w->reset_rc = fo_sockreset_addr(a->v->addr, &a->w->sockets, a->w->reset_err);
}

int fo_vip_withdraw(const struct fo_vip *v, struct fo_vip_withdrawal *w, char err[FO_ERRLEN])
{
    struct reset_arg ra = {v, w};
    struct just_before jb = {reset_sockets, &ra};
    struct fo_vip one = *v;
    bool present, was;
    unsigned i;
    int rc;

    memset(w, 0, sizeof *w);
    if ((rc = fo_vip_find(v, &present, &one.prefix, err)) != 0) return rc;
    if (!present) return 0;
    /* Sockets first: once the address is gone their RSTs can no longer be sent. And
     * the delete goes out right after the last abort, its socket already open and its
     * request built: a client that got a RST and reconnected at once must not find the
     * address still here, complete a handshake and hang after it leaves. */
    /* One copy per prefix length at most: 33 rounds bound the loop even if the
     * kernel kept answering "present" (it does not). */
    for (i = 0; i <= 32 && present; i++) {
        if ((rc = del_addr(&one, &was, i == 0 ? &jb : NULL, err)) != 0) return rc;
        w->removed = w->removed || was;
        if ((rc = fo_vip_find(v, &present, &one.prefix, err)) != 0) return rc;
    }
    return 0;
}

int fo_vip_del_any(const struct fo_vip *v, bool *removed, char err[FO_ERRLEN])
{
    struct fo_vip_withdrawal w;
    int rc = fo_vip_withdraw(v, &w, err);

    *removed = w.removed;
    return rc;
}
