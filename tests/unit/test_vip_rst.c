/* Unit tests for agent/sockreset.c (aborting the TCP sockets of a VIP before it leaves
 * the host) and fo_vip_withdraw (agent/vip.c).
 *
 * The parsers get crafted netlink datagrams: well-formed dumps and acks, and every
 * way a reply can be cut short or lie about a length (a header shorter than 16 bytes,
 * nlmsg_len past the end or under the header, a socket message without a whole
 * inet_diag_msg, an attribute running past its message, a stray tail), the wrong
 * family, sequence or port id, and an unknown message type. Each must be FO_EPROTO,
 * never an overread (the unit tests also run under ASan). The buffers are parsed at an
 * odd offset too: the parsers may not assume alignment.
 *
 * The last test is live: in a network namespace of its own (a forked child that
 * unshare(2)s one; skipped, exit 77, where that is not permitted) with a VIP on lo, a
 * connection from 127.0.0.1 to the VIP and one from 127.0.0.1 to 127.0.0.1:
 * fo_vip_withdraw aborts exactly the first one's server side (the client reads
 * ECONNRESET at once: the RST left before the address did), leaves the listener bound
 * to the VIP and the other connection alone, and deletes the address. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/metrics.h"
#include "agent/sockreset.h"
#include "agent/vip.h"
#include "common/buf.h"
#include "fo_test.h"
#include "lib/testutil.h"

#define SEQ 77u
#define PORTID 4242u
#define VIP "10.233.97.100"
#define OTHER "10.233.97.101"
#define CHILD_TIMEOUT_MS 20000

/* ------------------------------------------------------------------ crafting replies */

struct dgram {
    char b[4096];
    size_t n;
};

/* Appends one message (header + payload), padded to NLMSG_ALIGNTO. */
static void put_msg(struct dgram *d, uint16_t type, uint32_t seq, uint32_t pid, const void *payload, size_t plen)
{
    struct nlmsghdr h;

    memset(&h, 0, sizeof h);
    h.nlmsg_len = (uint32_t)NLMSG_LENGTH(plen);
    h.nlmsg_type = type;
    h.nlmsg_flags = NLM_F_MULTI;
    h.nlmsg_seq = seq;
    h.nlmsg_pid = pid;
    memcpy(d->b + d->n, &h, sizeof h);
    if (plen > 0) memcpy(d->b + d->n + NLMSG_HDRLEN, payload, plen);
    d->n += NLMSG_ALIGN(h.nlmsg_len);
}

/* An inet_diag_msg of family with local address src (IPv4; v4-mapped for AF_INET6),
 * followed by `extra` bytes of attributes (may be NULL). */
static size_t diag_msg(char *out, uint8_t family, const char *src, uint16_t sport, uint32_t cookie, const void *extra,
                       size_t extra_len)
{
    struct inet_diag_msg m;
    struct in_addr a;

    memset(&m, 0, sizeof m);
    m.idiag_family = family;
    m.idiag_state = TCP_ESTABLISHED;
    inet_pton(AF_INET, src, &a);
    if (family == AF_INET6) {
        m.id.idiag_src[2] = htonl(0xffffu);
        m.id.idiag_src[3] = a.s_addr;
    } else {
        m.id.idiag_src[0] = a.s_addr;
    }
    m.id.idiag_sport = htons(sport);
    m.id.idiag_dport = htons(50000);
    m.id.idiag_cookie[0] = cookie;
    memcpy(out, &m, sizeof m);
    if (extra_len > 0) memcpy(out + NLMSG_ALIGN(sizeof m), extra, extra_len);
    return NLMSG_ALIGN(sizeof m) + extra_len;
}

static void put_sock(struct dgram *d, uint8_t family, const char *src, uint32_t cookie)
{
    char p[256];
    size_t n = diag_msg(p, family, src, 3306, cookie, NULL, 0);

    put_msg(d, SOCK_DIAG_BY_FAMILY, SEQ, PORTID, p, n);
}

static void put_done(struct dgram *d, int status)
{
    put_msg(d, NLMSG_DONE, SEQ, PORTID, &status, sizeof status);
}

static void put_error(struct dgram *d, int error, size_t plen)
{
    struct nlmsgerr e;

    memset(&e, 0, sizeof e);
    e.error = error;
    put_msg(d, NLMSG_ERROR, SEQ, PORTID, &e, plen);
}

static struct in_addr vip(void)
{
    struct in_addr a;

    inet_pton(AF_INET, VIP, &a);
    return a;
}

/* Parses d at an odd offset (copied), as one dump datagram of family. */
static int parse(const struct dgram *d, uint8_t family, struct fo_sockreset_list *l, int *kerr)
{
    static char shifted[sizeof d->b + 1];

    memcpy(shifted + 1, d->b, d->n);
    return fo_sockreset_parse_dump(shifted + 1, d->n, SEQ, PORTID, family, vip(), l, kerr);
}

static void list_init(struct fo_sockreset_list *l, unsigned max)
{
    memset(l, 0, sizeof *l);
    l->max = max;
}

/* ------------------------------------------------------------------ requests */

static void test_dump_request(void)
{
    char buf[256];
    struct nlmsghdr h;
    struct inet_diag_req_v2 req;
    struct rtattr rta;
    struct inet_diag_bc_op op;
    struct inet_diag_hostcond cond;
    uint32_t addr;
    size_t n = fo_sockreset_dump_request(buf, sizeof buf, 9, AF_INET6, vip()), off;

    FO_CHECK(n > 0);
    memcpy(&h, buf, sizeof h);
    FO_CHECK_INT(h.nlmsg_len, n);
    FO_CHECK_INT(h.nlmsg_type, SOCK_DIAG_BY_FAMILY);
    FO_CHECK_INT(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
    FO_CHECK_INT(h.nlmsg_seq, 9);
    memcpy(&req, buf + NLMSG_HDRLEN, sizeof req);
    FO_CHECK_INT(req.sdiag_family, AF_INET6);
    FO_CHECK_INT(req.sdiag_protocol, IPPROTO_TCP);
    /* Connections with a peer only: never a listener, a TIME_WAIT or a request sock. */
    FO_CHECK(req.idiag_states & (1u << TCP_ESTABLISHED));
    FO_CHECK(req.idiag_states & (1u << TCP_CLOSE_WAIT));
    FO_CHECK(!(req.idiag_states & (1u << TCP_LISTEN)));
    FO_CHECK(!(req.idiag_states & (1u << TCP_TIME_WAIT)));
    FO_CHECK(!(req.idiag_states & (1u << TCP_SYN_RECV)));
    FO_CHECK(!(req.idiag_states & (1u << TCP_FIN_WAIT2))); /* an orphan: nobody to tell */
    FO_CHECK(!(req.idiag_states & (1u << TCP_LAST_ACK)));
    off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof req);
    memcpy(&rta, buf + off, sizeof rta);
    FO_CHECK_INT(rta.rta_type, INET_DIAG_REQ_BYTECODE);
    FO_CHECK_INT(rta.rta_len, RTA_LENGTH(sizeof op + sizeof cond + 4));
    FO_CHECK_INT(off + rta.rta_len, n);
    memcpy(&op, buf + off + RTA_LENGTH(0), sizeof op);
    memcpy(&cond, buf + off + RTA_LENGTH(0) + sizeof op, sizeof cond);
    memcpy(&addr, buf + off + RTA_LENGTH(0) + sizeof op + sizeof cond, sizeof addr);
    /* Accept: run exactly off the end; reject: 4 bytes past it (inet_diag_bc_audit). */
    FO_CHECK_INT(op.code, INET_DIAG_BC_S_COND);
    FO_CHECK_INT(op.yes, 16);
    FO_CHECK_INT(op.no, 20);
    FO_CHECK_INT(cond.family, AF_INET);
    FO_CHECK_INT(cond.prefix_len, 32);
    FO_CHECK_INT(cond.port, -1);
    FO_CHECK_INT(addr, vip().s_addr);
    FO_CHECK_INT(fo_sockreset_dump_request(buf, n - 1, 9, AF_INET, vip()), 0);
}

static void test_destroy_request(void)
{
    struct fo_sockreset_sock s;
    struct inet_diag_req_v2 req;
    struct nlmsghdr h;
    char buf[128];
    size_t n;

    memset(&s, 0, sizeof s);
    s.family = AF_INET;
    s.id.idiag_src[0] = vip().s_addr;
    s.id.idiag_sport = htons(3306);
    s.id.idiag_dport = htons(41000);
    s.id.idiag_cookie[0] = 0xdeadbeef;
    s.id.idiag_cookie[1] = 7;
    n = fo_sockreset_destroy_request(buf, sizeof buf, 5, &s);
    FO_CHECK_INT(n, NLMSG_LENGTH(sizeof req));
    memcpy(&h, buf, sizeof h);
    FO_CHECK_INT(h.nlmsg_type, FO_SOCK_DESTROY);
    FO_CHECK_INT(h.nlmsg_type, SOCK_DESTROY);
    FO_CHECK_INT(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    FO_CHECK_INT(h.nlmsg_seq, 5);
    memcpy(&req, buf + NLMSG_HDRLEN, sizeof req);
    FO_CHECK_INT(req.sdiag_family, AF_INET);
    FO_CHECK_INT(req.sdiag_protocol, IPPROTO_TCP);
    FO_CHECK(memcmp(&req.id, &s.id, sizeof s.id) == 0); /* the cookie too */
    FO_CHECK_INT(fo_sockreset_destroy_request(buf, 20, 5, &s), 0);
}

/* ------------------------------------------------------------------ dump replies */

static void test_dump_ok(void)
{
    struct fo_sockreset_list l;
    struct dgram d = {{0}, 0};
    int kerr = -1;

    list_init(&l, 100);
    put_sock(&d, AF_INET, VIP, 1);
    put_sock(&d, AF_INET, OTHER, 2); /* not ours: skipped, not an error */
    put_sock(&d, AF_INET, VIP, 3);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EAGAIN); /* no DONE yet */
    FO_CHECK_INT(l.n, 2);
    d.n = 0;
    put_done(&d, 0);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), 0);
    FO_CHECK_INT(kerr, 0);
    FO_CHECK_INT(l.n, 2);
    FO_CHECK_INT(l.v[0].id.idiag_cookie[0], 1);
    FO_CHECK_INT(l.v[1].id.idiag_cookie[0], 3);
    FO_CHECK(!l.truncated);
    /* An old kernel's DONE without a status. */
    d.n = 0;
    put_msg(&d, NLMSG_DONE, SEQ, PORTID, NULL, 0);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), 0);
    free(l.v);
}

static void test_dump_v4_mapped(void)
{
    struct fo_sockreset_list l;
    struct dgram d = {{0}, 0};
    struct fo_sockreset_sock s;
    int kerr;

    list_init(&l, 100);
    put_sock(&d, AF_INET6, VIP, 1);
    put_sock(&d, AF_INET6, OTHER, 2);
    put_done(&d, 0);
    FO_CHECK_INT(parse(&d, AF_INET6, &l, &kerr), 0);
    FO_CHECK_INT(l.n, 1);
    FO_CHECK_INT(l.n > 0 ? l.v[0].family : 0, AF_INET6);
    free(l.v);
    /* A native IPv6 address whose last word happens to equal the VIP is not it. */
    memset(&s, 0, sizeof s);
    s.family = AF_INET6;
    s.id.idiag_src[0] = htonl(0x20010db8u);
    s.id.idiag_src[3] = vip().s_addr;
    FO_CHECK(!fo_sockreset_matches(&s, vip()));
    s.family = AF_UNIX;
    FO_CHECK(!fo_sockreset_matches(&s, vip()));
}

static void test_dump_bounded(void)
{
    struct fo_sockreset_list l;
    struct dgram d = {{0}, 0};
    int kerr, i;

    list_init(&l, 2);
    for (i = 0; i < 5; i++) put_sock(&d, AF_INET, VIP, (uint32_t)i);
    put_done(&d, 0);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), 0);
    FO_CHECK_INT(l.n, 2);
    FO_CHECK(l.truncated);
    FO_CHECK(l.cap <= 2);
    free(l.v);
}

static void test_dump_kernel_errors(void)
{
    struct fo_sockreset_list l;
    struct dgram d = {{0}, 0};
    int kerr;

    list_init(&l, 100);
    put_error(&d, -EINVAL, sizeof(struct nlmsgerr));
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EIO);
    FO_CHECK_INT(kerr, EINVAL);
    d.n = 0;
    put_done(&d, -ENOBUFS);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EIO);
    FO_CHECK_INT(kerr, ENOBUFS);
    /* An "error" of 0 is an ack, which a dump never gets; a positive one is nonsense. */
    d.n = 0;
    put_error(&d, 0, sizeof(struct nlmsgerr));
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);
    d.n = 0;
    put_error(&d, 5, sizeof(struct nlmsgerr));
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);
    d.n = 0;
    put_done(&d, 3);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);
    FO_CHECK_INT(l.n, 0);
    free(l.v);
}

/* One malformed datagram per case: each is FO_EPROTO. */
static void test_dump_malformed(void)
{
    struct fo_sockreset_list l;
    struct dgram d;
    struct nlmsghdr h;
    struct rtattr a;
    char p[256], attr[8];
    size_t n;
    int kerr, rc;

    list_init(&l, 100);

    /* Empty; a header cut short. */
    d.n = 0;
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);
    put_sock(&d, AF_INET, VIP, 1);
    d.n = 10;
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);

    /* nlmsg_len past the end of the datagram (the socket message is cut). */
    d.n = 0;
    put_sock(&d, AF_INET, VIP, 1);
    d.n -= 8;
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);

    /* nlmsg_len smaller than the header itself. */
    d.n = 0;
    put_done(&d, 0);
    memcpy(&h, d.b, sizeof h);
    h.nlmsg_len = 8;
    memcpy(d.b, &h, sizeof h);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);

    /* A socket message whose payload is shorter than an inet_diag_msg. */
    d.n = 0;
    n = diag_msg(p, AF_INET, VIP, 3306, 1, NULL, 0);
    put_msg(&d, SOCK_DIAG_BY_FAMILY, SEQ, PORTID, p, n - 4);
    put_done(&d, 0);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);

    /* An attribute that claims more than its message holds. */
    d.n = 0;
    a.rta_len = 64;
    a.rta_type = INET_DIAG_SHUTDOWN;
    memcpy(attr, &a, sizeof a);
    memset(attr + sizeof a, 0, 4);
    n = diag_msg(p, AF_INET, VIP, 3306, 1, attr, sizeof attr);
    put_msg(&d, SOCK_DIAG_BY_FAMILY, SEQ, PORTID, p, n);
    put_done(&d, 0);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);

    /* An attribute shorter than its own header; a 2-byte tail after the last one. */
    d.n = 0;
    a.rta_len = 2;
    memcpy(attr, &a, sizeof a);
    n = diag_msg(p, AF_INET, VIP, 3306, 1, attr, sizeof attr);
    put_msg(&d, SOCK_DIAG_BY_FAMILY, SEQ, PORTID, p, n);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);
    d.n = 0;
    a.rta_len = 5; /* one byte of payload, then padding to 8 */
    memcpy(attr, &a, sizeof a);
    n = diag_msg(p, AF_INET, VIP, 3306, 1, attr, sizeof attr);
    put_msg(&d, SOCK_DIAG_BY_FAMILY, SEQ, PORTID, p, n);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EAGAIN); /* well-formed */
    d.n = 0;
    a.rta_len = 4;
    memcpy(attr, &a, sizeof a);
    n = diag_msg(p, AF_INET, VIP, 3306, 1, attr, 6);
    put_msg(&d, SOCK_DIAG_BY_FAMILY, SEQ, PORTID, p, n);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);

    /* The wrong family: an IPv6 socket in an IPv4 dump and the other way round. */
    d.n = 0;
    put_sock(&d, AF_INET6, VIP, 1);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);
    d.n = 0;
    put_sock(&d, AF_INET, VIP, 1);
    FO_CHECK_INT(parse(&d, AF_INET6, &l, &kerr), FO_EPROTO);

    /* Another conversation's sequence number or port id; an unknown message type. */
    d.n = 0;
    put_msg(&d, NLMSG_DONE, SEQ + 1, PORTID, NULL, 0);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);
    d.n = 0;
    put_msg(&d, NLMSG_DONE, SEQ, PORTID + 1, NULL, 0);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);
    d.n = 0;
    put_msg(&d, 99, SEQ, PORTID, NULL, 0);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);

    /* An NLMSG_ERROR too short for its nlmsgerr; a DONE too short for its status. */
    d.n = 0;
    put_error(&d, -EINVAL, sizeof(int));
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);
    d.n = 0;
    put_msg(&d, NLMSG_DONE, SEQ, PORTID, "\0\0", 2);
    FO_CHECK_INT(parse(&d, AF_INET, &l, &kerr), FO_EPROTO);

    /* Good messages followed by garbage shorter than a header. */
    d.n = 0;
    put_sock(&d, AF_INET, VIP, 1);
    memset(d.b + d.n, 0x41, 6);
    d.n += 6;
    rc = parse(&d, AF_INET, &l, &kerr);
    FO_CHECK_INT(rc, FO_EPROTO);
    free(l.v);
}

/* ------------------------------------------------------------------ acks */

static void test_ack(void)
{
    static const int errs[] = {0, -ENOENT, -ESTALE, -EOPNOTSUPP, -EPERM};
    struct dgram d;
    unsigned i;
    int kerr;

    for (i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        d.n = 0;
        put_error(&d, errs[i], sizeof(struct nlmsgerr));
        kerr = -1;
        FO_CHECK_INT(fo_sockreset_parse_ack(d.b, d.n, SEQ, PORTID, &kerr), 0);
        FO_CHECK_INT(kerr, -errs[i]);
    }
    d.n = 0;
    FO_CHECK_INT(fo_sockreset_parse_ack(d.b, 0, SEQ, PORTID, &kerr), FO_EPROTO);
    put_error(&d, 0, sizeof(struct nlmsgerr));
    FO_CHECK_INT(fo_sockreset_parse_ack(d.b, d.n, SEQ + 1, PORTID, &kerr), FO_EPROTO); /* old ack */
    FO_CHECK_INT(fo_sockreset_parse_ack(d.b, d.n - 2, SEQ, PORTID, &kerr), FO_EPROTO); /* cut */
    d.n = 0;
    put_error(&d, 0, 2);
    FO_CHECK_INT(fo_sockreset_parse_ack(d.b, d.n, SEQ, PORTID, &kerr), FO_EPROTO);
    d.n = 0;
    put_done(&d, 0);
    FO_CHECK_INT(fo_sockreset_parse_ack(d.b, d.n, SEQ, PORTID, &kerr), FO_EPROTO); /* no ack */
    d.n = 0;
    put_msg(&d, NLMSG_NOOP, SEQ, PORTID, NULL, 0);
    put_error(&d, -ENOENT, sizeof(struct nlmsgerr));
    FO_CHECK_INT(fo_sockreset_parse_ack(d.b, d.n, SEQ, PORTID, &kerr), 0);
    FO_CHECK_INT(kerr, ENOENT);
}

/* ------------------------------------------------------------------ metrics */

static void test_metric(void)
{
    struct fo_agent_metrics m;
    struct fo_buf b;

    memset(&m, 0, sizeof m);
    m.vip_sockets_reset = 12;
    m.vip_reset_unsupported = 1;
    fo_buf_init(&b);
    fo_agent_metrics_render(&m, NULL, 0, NULL, 0, &b);
    FO_CHECK(!b.oom && b.p != NULL);
    if (b.p == NULL) return;
    FO_CHECK(strstr(b.p, "# TYPE failoverd_agent_vip_sockets_reset_total counter\n") != NULL);
    FO_CHECK(strstr(b.p, "\nfailoverd_agent_vip_sockets_reset_total 12\n") != NULL);
    FO_CHECK(strstr(b.p, "unsupported") == NULL); /* the log-once flag is not a series */
    fo_buf_free(&b);
}

/* ------------------------------------------------------------------ live, in a namespace */

static bool can_unshare_net(void)
{
    int st = 0;
    pid_t pid = fork();

    if (pid == 0) _exit(unshare(CLONE_NEWNET) == 0 ? 0 : 1);
    if (pid < 0) return false;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int lo_up(void)
{
    struct ifreq r;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

    if (fd < 0) return -1;
    memset(&r, 0, sizeof r);
    snprintf(r.ifr_name, sizeof r.ifr_name, "lo");
    rc = ioctl(fd, SIOCGIFFLAGS, &r);
    r.ifr_flags |= IFF_UP;
    if (rc == 0) rc = ioctl(fd, SIOCSIFFLAGS, &r);
    close(fd);
    return rc;
}

static int tcp_socket(const char *bind_addr, uint16_t port)
{
    struct sockaddr_in sa;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, bind_addr, &sa.sin_addr);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int listener(const char *addr, uint16_t port)
{
    int fd = tcp_socket(addr, port);

    if (fd >= 0 && listen(fd, 8) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A client bound to 127.0.0.1 connected to addr:port; *srv is the accepted side. */
static int connect_pair(int lfd, const char *addr, uint16_t port, int *srv)
{
    struct sockaddr_in sa;
    int fd = tcp_socket("127.0.0.1", 0);

    if (fd < 0) return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, addr, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || (*srv = accept(lfd, NULL, NULL)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* recv() on fd within timeout_ms: the errno it failed with, 0 if data or EOF came,
 * ETIMEDOUT if nothing happened. */
static int recv_errno(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    char c;

    if (poll(&p, 1, timeout_ms) <= 0) return ETIMEDOUT;
    return recv(fd, &c, 1, MSG_DONTWAIT) < 0 ? errno : 0;
}

static int so_error(int fd)
{
    int e = 0;
    socklen_t n = sizeof e;

    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &n) == 0 ? e : -1;
}

static int live_child(void)
{
    struct fo_vip v;
    struct fo_vip_withdrawal w;
    char err[FO_ERRLEN];
    int lvip, lany, cvip, svip = -1, cother, sother = -1;
    bool present = true;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (unshare(CLONE_NEWNET) != 0 || lo_up() != 0) return 2;
    FO_CHECK_INT(fo_vip_parse(&v, "lo", VIP "/32", err), 0);
    FO_CHECK_INT(fo_vip_add(&v, NULL, err), 0);
    lvip = listener(VIP, 33471);       /* a server bound to the VIP itself */
    lany = listener("0.0.0.0", 33472); /* and one on every address */
    FO_CHECK(lvip >= 0 && lany >= 0);
    if (lvip < 0 || lany < 0) return 1;
    cvip = connect_pair(lvip, VIP, 33471, &svip);
    cother = connect_pair(lany, "127.0.0.1", 33472, &sother);
    FO_CHECK(cvip >= 0 && cother >= 0);
    if (cvip < 0 || cother < 0) return 1;

    FO_CHECK_INT(fo_vip_withdraw(&v, &w, err), 0);
    FO_CHECK(w.removed);
    FO_CHECK_INT(w.reset_rc, 0);
    if (w.reset_rc != 0) fprintf(stderr, "  reset: %s\n", w.reset_err);
    FO_CHECK_INT(w.sockets.found, 1); /* the VIP side of cvip's connection, no more */
    FO_CHECK_INT(w.sockets.reset, 1);
    FO_CHECK(!w.sockets.truncated && !w.sockets.unsupported);
    FO_CHECK_INT(w.sockets.rounds, 2); /* the second round finds nothing and ends it */
    FO_CHECK_INT(fo_vip_find(&v, &present, NULL, err), 0);
    FO_CHECK(!present);
    /* The peer got a RST (sent while the address was still there); the local side
     * learns ECONNABORTED from the kernel. */
    FO_CHECK_INT(recv_errno(cvip, 200), ECONNRESET);
    FO_CHECK_INT(recv_errno(svip, 200), ECONNABORTED);
    /* Untouched: the listener on the VIP, the connection on another address. */
    FO_CHECK_INT(so_error(lvip), 0);
    FO_CHECK_INT(send(cother, "x", 1, 0), 1);
    FO_CHECK_INT(recv_errno(sother, 1000), 0);

    /* Nothing left on the address; an absent address costs no dump. */
    {
        struct fo_sockreset_result r;
        struct in_addr a = v.addr;

        FO_CHECK_INT(fo_sockreset_addr(a, &r, err), 0);
        FO_CHECK_INT(r.found, 0);
    }
    FO_CHECK_INT(fo_vip_withdraw(&v, &w, err), 0);
    FO_CHECK(!w.removed);
    FO_CHECK_INT(w.sockets.found, 0);
    return fo_test_cur_failed;
}

static void test_live_withdraw(void)
{
    int st = 0;
    pid_t pid;

    if (!can_unshare_net()) {
        FO_SKIP("network namespaces are not permitted here (unshare(CLONE_NEWNET) failed)");
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) _exit(live_child());
    FO_CHECK(pid > 0);
    if (pid > 0 && !fo_test_wait_exit(pid, CHILD_TIMEOUT_MS, &st)) {
        FO_CHECK(!"the namespace child finished in time");
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    FO_CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

FO_TEST_MAIN(FO_T(test_dump_request), FO_T(test_destroy_request), FO_T(test_dump_ok), FO_T(test_dump_v4_mapped),
             FO_T(test_dump_bounded), FO_T(test_dump_kernel_errors), FO_T(test_dump_malformed), FO_T(test_ack),
             FO_T(test_metric), FO_T(test_live_withdraw))
