/* Aborting the TCP sockets of a departing address; see sockreset.h for the contract.
 *
 * The replies are parsed by hand rather than with libmnl's callback runner so that every
 * length check is in one place and can be fed crafted buffers by the unit tests; libmnl
 * only opens, binds and talks to the socket, as in vip.c. Headers are copied out with
 * memcpy: a buffer handed in by a test need not be aligned. */
#include "agent/sockreset.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Big enough for any one datagram of a dump: the kernel caps a dump part at 32 KiB. */
#define RECV_SIZE 32768
#define REQ_SIZE 256
#define FIRST_CAP 64u

/* TCP states of a socket a program holds with a peer that may be waiting (sockreset.h). */
#define STATES ((1u << TCP_SYN_SENT) | (1u << TCP_ESTABLISHED) | (1u << TCP_CLOSE_WAIT))

/* The filter "local address == a.b.c.d/32, any port": one S_COND op whose yes-branch
 * runs off the end by exactly its own length (accept) and whose no-branch jumps 4 bytes
 * past the end (reject), the layout the kernel's inet_diag_bc_audit() accepts. */
struct bytecode {
    struct inet_diag_bc_op op;
    /* struct inet_diag_hostcond, whose trailing addr[] cannot sit inside a struct. */
    struct {
        uint8_t family;
        uint8_t prefix_len;
        int port;
    } cond;
    uint32_t addr;
};
_Static_assert(sizeof(((struct bytecode *)0)->cond) == sizeof(struct inet_diag_hostcond), "hostcond layout");
_Static_assert(sizeof(struct bytecode) == 16, "one S_COND op: 4 + 8 + 4 bytes");

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------ requests */

static size_t put_header(void *buf, size_t size, size_t payload, uint16_t type, uint16_t flags, uint32_t seq)
{
    struct nlmsghdr h;

    if (size < NLMSG_LENGTH(payload)) return 0;
    memset(buf, 0, NLMSG_LENGTH(payload));
    memset(&h, 0, sizeof h);
    h.nlmsg_len = (uint32_t)NLMSG_LENGTH(payload);
    h.nlmsg_type = type;
    h.nlmsg_flags = flags;
    h.nlmsg_seq = seq;
    memcpy(buf, &h, sizeof h);
    return h.nlmsg_len;
}

size_t fo_sockreset_dump_request(void *buf, size_t size, uint32_t seq, uint8_t family, struct in_addr addr)
{
    size_t attr_len = RTA_LENGTH(sizeof(struct bytecode));
    size_t payload = NLMSG_ALIGN(sizeof(struct inet_diag_req_v2)) + RTA_ALIGN(attr_len);
    struct inet_diag_req_v2 req;
    struct bytecode bc;
    struct rtattr rta;
    char *p = buf;
    size_t n;

    if ((n = put_header(buf, size, payload, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq)) == 0) return 0;
    memset(&req, 0, sizeof req);
    req.sdiag_family = family;
    req.sdiag_protocol = IPPROTO_TCP;
    req.idiag_states = STATES;
    memcpy(p + NLMSG_HDRLEN, &req, sizeof req);
    rta.rta_len = (unsigned short)attr_len;
    rta.rta_type = INET_DIAG_REQ_BYTECODE;
    memcpy(p + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof req), &rta, sizeof rta);
    memset(&bc, 0, sizeof bc);
    bc.op.code = INET_DIAG_BC_S_COND;
    bc.op.yes = sizeof bc;
    bc.op.no = sizeof bc + 4;
    bc.cond.family = AF_INET; /* also matches v4-mapped IPv6 sockets (the kernel maps) */
    bc.cond.prefix_len = 32;
    bc.cond.port = -1;
    bc.addr = addr.s_addr;
    memcpy(p + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof req) + RTA_LENGTH(0), &bc, sizeof bc);
    return n;
}

size_t fo_sockreset_destroy_request(void *buf, size_t size, uint32_t seq, const struct fo_sockreset_sock *s)
{
    struct inet_diag_req_v2 req;
    size_t n;

    if ((n = put_header(buf, size, sizeof req, FO_SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, seq)) == 0) return 0;
    memset(&req, 0, sizeof req);
    req.sdiag_family = s->family;
    req.sdiag_protocol = IPPROTO_TCP;
    req.idiag_states = ~0u;
    req.id = s->id; /* 4-tuple, interface and cookie: exactly the socket dumped */
    memcpy((char *)buf + NLMSG_HDRLEN, &req, sizeof req);
    return n;
}

/* ------------------------------------------------------------------ parsing */

bool fo_sockreset_matches(const struct fo_sockreset_sock *s, struct in_addr addr)
{
    const uint32_t *a = s->id.idiag_src;

    if (s->family == AF_INET) return a[0] == addr.s_addr;
    if (s->family == AF_INET6) return a[0] == 0 && a[1] == 0 && a[2] == htonl(0xffffu) && a[3] == addr.s_addr;
    return false;
}

/* Walks the messages of one datagram. *off is where the next one starts; on return 1,
 * *h is its header (copied) and *payload / *plen its payload, all inside buf. Returns 0
 * at the end, -1 when a header is cut short or claims more than is left. */
static int next_msg(const char *buf, size_t len, size_t *off, struct nlmsghdr *h, const char **payload, size_t *plen)
{
    size_t left = len - *off;

    if (left == 0) return 0;
    if (left < sizeof *h) return -1;
    memcpy(h, buf + *off, sizeof *h);
    if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > left) return -1;
    *payload = buf + *off + NLMSG_HDRLEN;
    *plen = h->nlmsg_len - NLMSG_HDRLEN;
    /* The last message need not be padded to the alignment. */
    *off += NLMSG_ALIGN(h->nlmsg_len) < left ? NLMSG_ALIGN(h->nlmsg_len) : left;
    return 1;
}

/* Every attribute after the inet_diag_msg lies wholly inside the message. */
static bool attrs_ok(const char *p, size_t len)
{
    while (len > 0) {
        struct rtattr a;

        if (len < sizeof a) return false;
        memcpy(&a, p, sizeof a);
        if (a.rta_len < sizeof a || a.rta_len > len) return false;
        if (RTA_ALIGN(a.rta_len) >= len) return true;
        p += RTA_ALIGN(a.rta_len);
        len -= RTA_ALIGN(a.rta_len);
    }
    return true;
}

/* The errno an NLMSG_ERROR or NLMSG_DONE carries (a negative int first in its payload). */
static int status_of(const char *payload, size_t plen, size_t need, int *status)
{
    int e;

    if (plen < need) return -1;
    memcpy(&e, payload, sizeof e);
    if (e > 0 || e == INT32_MIN) return -1;
    *status = -e;
    return 0;
}

static int list_add(struct fo_sockreset_list *l, const struct fo_sockreset_sock *s)
{
    if (l->n == l->max) {
        l->truncated = true;
        return 0;
    }
    if (l->n == l->cap) {
        unsigned cap = l->cap == 0 ? FIRST_CAP : l->cap * 2u;
        struct fo_sockreset_sock *v;

        if (cap > l->max) cap = l->max;
        v = realloc(l->v, (size_t)cap * sizeof *v);
        if (v == NULL) return FO_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *s;
    return 0;
}

static int one_socket(const char *payload, size_t plen, uint8_t family, struct in_addr addr,
                      struct fo_sockreset_list *out)
{
    struct inet_diag_msg m;
    struct fo_sockreset_sock s;
    size_t head = NLMSG_ALIGN(sizeof m);

    if (plen < sizeof m) return FO_EPROTO;
    memcpy(&m, payload, sizeof m);
    if (m.idiag_family != family) return FO_EPROTO;
    if (plen > head && !attrs_ok(payload + head, plen - head)) return FO_EPROTO;
    s.family = m.idiag_family;
    s.id = m.id;
    if (!fo_sockreset_matches(&s, addr)) return 0;
    return list_add(out, &s);
}

int fo_sockreset_parse_dump(const void *buf, size_t len, uint32_t seq, uint32_t portid, uint8_t family,
                            struct in_addr addr, struct fo_sockreset_list *out, int *kerr)
{
    const char *payload;
    struct nlmsghdr h;
    size_t off = 0, plen;
    int r, rc;

    *kerr = 0;
    if (len == 0) return FO_EPROTO; /* the kernel never sends an empty datagram */
    while ((r = next_msg(buf, len, &off, &h, &payload, &plen)) == 1) {
        if (h.nlmsg_seq != seq || h.nlmsg_pid != portid) return FO_EPROTO;
        switch (h.nlmsg_type) {
        case NLMSG_NOOP: continue;
        case NLMSG_DONE:
            /* Newer kernels put the dump's status in DONE; an older one may send none. */
            if (plen == 0) return 0;
            if (status_of(payload, plen, sizeof(int), kerr) != 0) return FO_EPROTO;
            return *kerr == 0 ? 0 : FO_EIO;
        case NLMSG_ERROR:
            if (status_of(payload, plen, sizeof(struct nlmsgerr), kerr) != 0 || *kerr == 0) return FO_EPROTO;
            return FO_EIO;
        case SOCK_DIAG_BY_FAMILY:
            if ((rc = one_socket(payload, plen, family, addr, out)) != 0) return rc;
            continue;
        default: return FO_EPROTO;
        }
    }
    return r < 0 ? FO_EPROTO : FO_EAGAIN;
}

int fo_sockreset_parse_ack(const void *buf, size_t len, uint32_t seq, uint32_t portid, int *kerr)
{
    const char *payload;
    struct nlmsghdr h;
    size_t off = 0, plen;
    int r;

    while ((r = next_msg(buf, len, &off, &h, &payload, &plen)) == 1) {
        if (h.nlmsg_seq != seq || h.nlmsg_pid != portid) return FO_EPROTO;
        if (h.nlmsg_type == NLMSG_NOOP) continue;
        if (h.nlmsg_type != NLMSG_ERROR) return FO_EPROTO;
        return status_of(payload, plen, sizeof(struct nlmsgerr), kerr) == 0 ? 0 : FO_EPROTO;
    }
    return FO_EPROTO; /* malformed, or no ack at all */
}

/* ------------------------------------------------------------------ the conversation */

struct diag {
    struct mnl_socket *sock;
    uint32_t portid, seq;
    uint64_t deadline_ms;
    char *rbuf;
};

static int errno_code(int e)
{
    switch (e) {
    case EPERM:
    case EACCES: return FO_EPERM;
    case ENOMEM:
    case ENOBUFS: return FO_ENOMEM;
    case EAGAIN:
    case ETIMEDOUT: return FO_ETIMEDOUT;
    default: return FO_EIO;
    }
}

static int diag_open(struct diag *d, char *err)
{
    d->deadline_ms = mono_ms() + FO_SOCKRESET_TIMEOUT_MS;
    d->seq = (uint32_t)d->deadline_ms;
    if ((d->rbuf = malloc(RECV_SIZE)) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    d->sock = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
    if (d->sock == NULL) goto err_after_alloc;
    if (mnl_socket_bind(d->sock, 0, MNL_SOCKET_AUTOPID) < 0) goto err_after_open;
    d->portid = mnl_socket_get_portid(d->sock);
    return 0;

err_after_open:
    mnl_socket_close(d->sock);
err_after_alloc:
    free(d->rbuf);
    return fo_errf(err, errno_code(errno), "sock_diag socket: %s", strerror(errno));
}

static void diag_close(struct diag *d)
{
    mnl_socket_close(d->sock);
    free(d->rbuf);
}

/* Receives one datagram before the deadline: its length, or -1 with errno. */
static ssize_t diag_recv(struct diag *d)
{
    for (;;) {
        uint64_t now = mono_ms();
        struct timeval tv;
        ssize_t r;

        if (now >= d->deadline_ms) break;
        tv.tv_sec = (time_t)((d->deadline_ms - now) / 1000u);
        tv.tv_usec = (suseconds_t)((d->deadline_ms - now) % 1000u * 1000u);
        if (setsockopt(mnl_socket_get_fd(d->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) return -1;
        r = mnl_socket_recvfrom(d->sock, d->rbuf, RECV_SIZE);
        if (r >= 0) return r;
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    }
    errno = ETIMEDOUT;
    return -1;
}

/* Dumps one family's sockets on addr into l. An AF_INET6 dump on a kernel without IPv6
 * finds nothing rather than failing the call. */
static int dump(struct diag *d, uint8_t family, struct in_addr addr, struct fo_sockreset_list *l, char *err)
{
    const char *fam = family == AF_INET ? "IPv4" : "IPv6";
    char req[REQ_SIZE];
    size_t n = fo_sockreset_dump_request(req, sizeof req, ++d->seq, family, addr);
    int rc, kerr;

    if (mnl_socket_sendto(d->sock, req, n) < 0)
        return fo_errf(err, errno_code(errno), "%s socket dump: %s", fam, strerror(errno));
    do {
        ssize_t got = diag_recv(d);

        if (got < 0) return fo_errf(err, errno_code(errno), "%s socket dump: %s", fam, strerror(errno));
        rc = fo_sockreset_parse_dump(d->rbuf, (size_t)got, d->seq, d->portid, family, addr, l, &kerr);
    } while (rc == FO_EAGAIN);
    if (rc == FO_EIO && family == AF_INET6 && (kerr == ENOENT || kerr == EAFNOSUPPORT)) return 0;
    if (rc == FO_EIO) return fo_errf(err, errno_code(kerr), "%s socket dump: %s", fam, strerror(kerr));
    if (rc == FO_EPROTO) return fo_errf(err, rc, "%s socket dump: malformed reply from the kernel", fam);
    if (rc != 0) return fo_errf(err, rc, "%s socket dump: %s", fam, fo_strerror(rc));
    return 0;
}

/* Aborts one socket; 0 with *kerr the kernel's answer, or an FO_E* code for the call. */
static int destroy(struct diag *d, const struct fo_sockreset_sock *s, int *kerr, char *err)
{
    char req[REQ_SIZE];
    size_t n = fo_sockreset_destroy_request(req, sizeof req, ++d->seq, s);
    ssize_t got;

    if (mnl_socket_sendto(d->sock, req, n) < 0)
        return fo_errf(err, errno_code(errno), "socket abort: %s", strerror(errno));
    if ((got = diag_recv(d)) < 0) return fo_errf(err, errno_code(errno), "socket abort: %s", strerror(errno));
    if (fo_sockreset_parse_ack(d->rbuf, (size_t)got, d->seq, d->portid, kerr) != 0)
        return fo_errf(err, FO_EPROTO, "socket abort: malformed reply from the kernel");
    return 0;
}

/* Aborts every socket of l, counting into r. Stops at the first error that will repeat
 * for every socket (unsupported, not permitted, the deadline, a broken conversation). */
static int destroy_all(struct diag *d, const struct fo_sockreset_list *l, struct fo_sockreset_result *r, char *err)
{
    int first = 0;
    unsigned i;

    for (i = 0; i < l->n; i++) {
        int kerr, rc = destroy(d, &l->v[i], &kerr, err);

        if (rc != 0) return rc;
        if (kerr == 0)
            r->reset++;
        else if (kerr == ENOENT || kerr == ESTALE) /* closed meanwhile; ESTALE: the cookie */
            r->gone++;
        else if (kerr == EOPNOTSUPP) {
            r->unsupported = true;
            return fo_errf(err, FO_EIO, "the kernel cannot abort sockets (no CONFIG_INET_DIAG_DESTROY)");
        } else if (kerr == EPERM || kerr == EACCES)
            return fo_errf(err, FO_EPERM, "socket abort: %s (CAP_NET_ADMIN needed)", strerror(kerr));
        else if (first == 0)
            first = fo_errf(err, FO_EIO, "socket abort: %s", strerror(kerr));
    }
    return first;
}

/* One round: both dumps, then the aborts. *found: how many the dumps found. */
static int one_round(struct diag *d, struct in_addr addr, unsigned max, struct fo_sockreset_result *r, unsigned *found,
                     char *err)
{
    struct fo_sockreset_list l;
    int rc;

    memset(&l, 0, sizeof l);
    l.max = max;
    /* Both dumps before any abort: aborting while the kernel walks its tables could
     * make the walk skip sockets. */
    if ((rc = dump(d, AF_INET, addr, &l, err)) == 0 && (rc = dump(d, AF_INET6, addr, &l, err)) == 0) {
        r->found += l.n;
        r->truncated = r->truncated || l.truncated;
        rc = destroy_all(d, &l, r, err);
    }
    *found = l.n;
    free(l.v);
    return rc;
}

int fo_sockreset_addr(struct in_addr addr, struct fo_sockreset_result *r, char err[FO_ERRLEN])
{
    struct diag d;
    unsigned found = 0;
    int rc;

    memset(r, 0, sizeof *r);
    if ((rc = diag_open(&d, err)) != 0) return rc;
    /* An aborted socket is CLOSE at once and not dumped again, so a round that finds
     * something means a connection arrived meanwhile: look once more. */
    do {
        r->rounds++;
        rc = one_round(&d, addr, FO_SOCKRESET_MAX - r->found, r, &found, err);
    } while (rc == 0 && found > 0 && !r->truncated && r->rounds < FO_SOCKRESET_ROUNDS);
    diag_close(&d);
    return rc;
}
