/* Unit tests for agent/vip.c (rtnetlink address add/delete/query) and agent/arp.c
 * (gratuitous ARP on a uv_timer), run against real interfaces.
 *
 * Everything that touches an interface runs in a network namespace of the test's own,
 * fo-ut-vip-<pid>, holding two veth pairs: fo-vip0 <-> fo-vip1 (up; fo-vip1 is where
 * the test captures the announcements) and fo-vip2 <-> fo-vip3 (left down). The
 * namespace work happens in a forked child that joins the namespace with setns(2), so
 * the root namespace's interfaces are never touched and a crash in the child still
 * lets the parent delete the namespace. Addresses come from 10.231.99.0/24 only.
 * Without the ip command or permission to create namespaces the namespace test is
 * skipped (FO_SKIP: the binary exits 77, a skip and never a pass, STYLE.md §19); any
 * other failure to build the namespace fails it, as in tests/rig/netns.py. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/if_ether.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/arp.h"
#include "agent/vip.h"
#include "fo_test.h"
#include "lib/testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define VIP "10.231.99.10"
#define IF_UP "fo-vip0"   /* where the VIP goes */
#define IF_PEER "fo-vip1" /* the other end, where the test listens */
#define IF_DOWN "fo-vip2" /* a veth left down */
#define CHILD_TIMEOUT_MS 60000
#define CMD_TIMEOUT_MS 10000

static void check_contains(const char *hay, const char *needle, int line)
{
    if (strstr(hay, needle) == NULL) {
        fprintf(stderr, "  FAIL %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, line, hay, needle);
        fo_test_cur_failed = 1;
    }
}
#define CHECK_CONTAINS(hay, needle) check_contains(hay, needle, __LINE__)

static void check_lacks(const char *hay, const char *needle, int line)
{
    if (strstr(hay, needle) != NULL) {
        fprintf(stderr, "  FAIL %s:%d: \"%s\" contains \"%s\"\n", __FILE__, line, hay, needle);
        fo_test_cur_failed = 1;
    }
}
#define CHECK_LACKS(hay, needle) check_lacks(hay, needle, __LINE__)

/* ------------------------------------------------------------------ parsing (no namespace) */

struct parse_case {
    const char *ifname, *cidr;
    int rc;
    const char *addr; /* dotted quad when rc == 0 */
    unsigned prefix;
};

static const struct parse_case parse_cases[] = {
    {"eth0", "10.231.99.10/24", 0, "10.231.99.10", 24},
    {"eth0", "10.231.99.10", 0, "10.231.99.10", 32},
    {"eth0", "10.231.99.10/32", 0, "10.231.99.10", 32},
    {"eth0", "0.0.0.0/0", 0, "0.0.0.0", 0},
    {"abcdefghijklmno", "10.0.0.1/8", 0, "10.0.0.1", 8},
    {"abcdefghijklmnop", "10.0.0.1/8", FO_EINVAL, NULL, 0},
    {"", "10.0.0.1/8", FO_EINVAL, NULL, 0},
    {"a/b", "10.0.0.1/8", FO_EINVAL, NULL, 0},
    {NULL, "10.0.0.1/8", FO_EINVAL, NULL, 0},
    {"eth0", NULL, FO_EINVAL, NULL, 0},
    {"eth0", "10.231.99.256/24", FO_EINVAL, NULL, 0},
    {"eth0", "10.231.99/24", FO_EINVAL, NULL, 0},
    {"eth0", "10.231.99.10/33", FO_EINVAL, NULL, 0},
    {"eth0", "10.231.99.10/", FO_EINVAL, NULL, 0},
    {"eth0", "10.231.99.10/-1", FO_EINVAL, NULL, 0},
    {"eth0", "10.231.99.10/+8", FO_EINVAL, NULL, 0},
    {"eth0", "10.231.99.10/024", FO_EINVAL, NULL, 0},
    {"eth0", "10.231.99.10/2 4", FO_EINVAL, NULL, 0},
    {"eth0", "10.231.99.10/24/8", FO_EINVAL, NULL, 0},
    {"eth0", " 10.231.99.10/24", FO_EINVAL, NULL, 0},
    {"eth0", "fe80::1/64", FO_EINVAL, NULL, 0},
    {"eth0", "host.example/24", FO_EINVAL, NULL, 0},
    {"eth0", "255.255.255.255.255.255/24", FO_EINVAL, NULL, 0},
    {"eth0", "", FO_EINVAL, NULL, 0},
};

static void test_parse_table(void)
{
    char err[FO_ERRLEN], s[FO_VIP_STRLEN], a[INET_ADDRSTRLEN];
    size_t i;

    for (i = 0; i < N_ELEMS(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct fo_vip v;
        int rc;

        memset(&v, 0, sizeof(v));
        err[0] = '\0';
        rc = fo_vip_parse(&v, c->ifname, c->cidr, err);
        if (rc != c->rc) fprintf(stderr, "  case %zu (%s): %s\n", i, c->cidr ? c->cidr : "NULL", err);
        FO_CHECK_INT(rc, c->rc);
        if (rc != 0) {
            FO_CHECK(err[0] != '\0');
            continue;
        }
        FO_CHECK_STR(inet_ntop(AF_INET, &v.addr, a, sizeof(a)), c->addr);
        FO_CHECK_INT(v.prefix, c->prefix);
        FO_CHECK_STR(v.ifname, c->ifname);
    }
    {
        struct fo_vip v;

        FO_CHECK_INT(fo_vip_parse(&v, "eth0", "10.231.99.10/24", err), 0);
        FO_CHECK_STR(fo_vip_str(&v, s), "10.231.99.10/24 on eth0");
    }
}

/* ------------------------------------------------------------------ the namespace */

struct ns {
    char name[32];
    char path[64]; /* /run/netns/<name> */
    const char *ip;
};

static const char *find_ip(void)
{
    static const char *const paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
    size_t i;

    for (i = 0; i < N_ELEMS(paths); i++)
        if (access(paths[i], X_OK) == 0) return paths[i];
    return NULL;
}

/* Whether this process may make network namespaces at all (EPERM in containers). */
static bool can_unshare_net(void)
{
    int st = 0;
    pid_t pid = fork();

    if (pid == 0) _exit(unshare(CLONE_NEWNET) == 0 ? 0 : 1);
    if (pid < 0) return false;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Runs `ip -n <ns> args...` (or `ip args...` when ns is NULL) with its output in
 * log_path. Returns the exit code, -1 if it could not run. */
static int run_ip(const struct ns *ns, bool in_ns, const char *log_path, const char *const *args)
{
    char *argv[16];
    size_t n = 0;

    argv[n++] = (char *)ns->ip;
    if (in_ns) {
        argv[n++] = (char *)"-n";
        argv[n++] = (char *)ns->name;
    }
    for (; *args != NULL && n < N_ELEMS(argv) - 1; args++) argv[n++] = (char *)*args;
    argv[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    return fo_test_run_cmd(argv, log_path, CMD_TIMEOUT_MS);
}

#define IP(ns, in_ns, log, ...) run_ip(ns, in_ns, log, (const char *const[]){__VA_ARGS__, NULL})

/* True if the file at path mentions a permission error (EPERM / EACCES), which is
 * what `ip netns add` prints where namespaces are not allowed (tests/rig/netns.py
 * draws the same line between a skip and a failure). */
static bool log_says_not_permitted(const char *path)
{
    char buf[1024];
    size_t n = 0;
    FILE *f = fopen(path, "r");

    if (f != NULL) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return strstr(buf, "Operation not permitted") != NULL || strstr(buf, "Permission denied") != NULL;
}

/* `ip netns add`: 0, 1 when namespaces are not permitted here (skip), -1 otherwise. */
static int ns_add(const struct ns *ns)
{
    char dir[FO_TEST_DIRLEN], log[FO_TEST_DIRLEN + 16];
    int rc, out;

    if (fo_test_tmpdir(dir, sizeof(dir), "vipns") != 0) return -1;
    snprintf(log, sizeof(log), "%s/ip.log", dir);
    rc = IP(ns, false, log, "netns", "add", ns->name);
    out = rc == 0 ? 0 : log_says_not_permitted(log) ? 1 : -1;
    if (rc != 0) fo_test_print_tail(log);
    fo_test_tmpdir_remove(dir);
    return out;
}

/* Creates the namespace and its interfaces. False if there is nothing to test in:
 * the test was then skipped (no ip command, namespaces not permitted) or failed; either
 * way nothing is left behind. */
static bool ns_create(struct ns *ns)
{
    int added;

    snprintf(ns->name, sizeof(ns->name), "fo-ut-vip-%ld", (long)getpid());
    snprintf(ns->path, sizeof(ns->path), "/run/netns/%s", ns->name);
    ns->ip = find_ip();
    if (ns->ip == NULL) {
        FO_SKIP("no ip command (install iproute2)");
        return false;
    }
    if (!can_unshare_net()) {
        FO_SKIP("network namespaces are not permitted here (unshare(CLONE_NEWNET) failed)");
        return false;
    }
    /* A namespace of this name can only be a leftover of a crashed run with our pid. */
    IP(ns, false, "/dev/null", "netns", "del", ns->name);
    added = ns_add(ns);
    if (added == 1) {
        FO_SKIP("network namespaces are not permitted here (ip netns add: permission denied)");
        return false;
    }
    if (added != 0) {
        FO_CHECK(!"ip netns add");
        return false;
    }
    if (IP(ns, true, "/dev/stderr", "link", "add", IF_UP, "type", "veth", "peer", "name", IF_PEER) != 0 ||
        IP(ns, true, "/dev/stderr", "link", "add", IF_DOWN, "type", "veth", "peer", "name", "fo-vip3") != 0 ||
        IP(ns, true, "/dev/stderr", "link", "set", IF_UP, "up") != 0 ||
        IP(ns, true, "/dev/stderr", "link", "set", IF_PEER, "up") != 0 ||
        IP(ns, true, "/dev/stderr", "link", "set", "lo", "up") != 0) {
        FO_CHECK(!"interfaces created in the test namespace");
        IP(ns, false, "/dev/stderr", "netns", "del", ns->name);
        return false;
    }
    return true;
}

static void ns_delete(const struct ns *ns)
{
    FO_CHECK_INT(IP(ns, false, "/dev/stderr", "netns", "del", ns->name), 0);
    FO_CHECK(access(ns->path, F_OK) != 0);
}

static int ns_enter(const struct ns *ns)
{
    int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0) return -1;
    rc = setns(fd, CLONE_NEWNET);
    close(fd);
    return rc;
}

/* ------------------------------------------------------------------ in the namespace: VIP */

/* `ip -4 addr show dev <ifname>` as the operator would see it, in out. */
static const char *ip_addr_show(const struct ns *ns, const char *dir, const char *ifname, char *out, size_t cap)
{
    char log[128];
    FILE *f;
    size_t n = 0;

    snprintf(log, sizeof(log), "%s/ip-addr.log", dir);
    unlink(log);
    FO_CHECK_INT(IP(ns, true, log, "-4", "addr", "show", "dev", ifname), 0);
    f = fopen(log, "r");
    if (f != NULL) {
        n = fread(out, 1, cap - 1, f);
        fclose(f);
    }
    out[n] = '\0';
    return out;
}

static bool present(const struct fo_vip *v)
{
    char err[FO_ERRLEN];
    bool p = false;

    err[0] = '\0';
    FO_CHECK_INT(fo_vip_query(v, &p, err), 0);
    if (err[0] != '\0') fprintf(stderr, "  query: %s\n", err);
    return p;
}

static void ns_test_vip(const struct ns *ns, const char *dir)
{
    char err[FO_ERRLEN], out[4096];
    struct fo_vip v, v32;
    bool was = true;

    FO_CHECK_INT(fo_vip_parse(&v, IF_UP, VIP "/24", err), 0);
    FO_CHECK_INT(fo_vip_parse(&v32, IF_UP, VIP "/32", err), 0);
    FO_CHECK(!present(&v));
    CHECK_LACKS(ip_addr_show(ns, dir, IF_UP, out, sizeof(out)), VIP);

    /* Add, seen by our query and by ip(8). */
    FO_CHECK_INT(fo_vip_add(&v, &was, err), 0);
    FO_CHECK(!was);
    FO_CHECK(present(&v));
    CHECK_CONTAINS(ip_addr_show(ns, dir, IF_UP, out, sizeof(out)), "inet " VIP "/24 ");
    CHECK_CONTAINS(out, "scope global " IF_UP);

    /* Idempotent add. */
    FO_CHECK_INT(fo_vip_add(&v, &was, err), 0);
    FO_CHECK(was);
    FO_CHECK_INT(fo_vip_add(&v, NULL, err), 0);
    FO_CHECK(present(&v));

    /* The prefix is part of the identity: /32 is another address. */
    FO_CHECK(!present(&v32));
    FO_CHECK_INT(fo_vip_add(&v32, &was, err), 0);
    FO_CHECK(!was);
    FO_CHECK(present(&v32));
    FO_CHECK_INT(fo_vip_del(&v32, &was, err), 0);
    FO_CHECK(was);
    FO_CHECK(!present(&v32));
    FO_CHECK(present(&v));

    /* Delete, then delete again: absent is not an error. */
    FO_CHECK_INT(fo_vip_del(&v, &was, err), 0);
    FO_CHECK(was);
    FO_CHECK(!present(&v));
    CHECK_LACKS(ip_addr_show(ns, dir, IF_UP, out, sizeof(out)), VIP);
    FO_CHECK_INT(fo_vip_del(&v, &was, err), 0);
    FO_CHECK(!was);
    FO_CHECK_INT(fo_vip_del(&v, NULL, err), 0);

    /* A down interface still takes the address (the kernel allows it). */
    FO_CHECK_INT(fo_vip_parse(&v, IF_DOWN, "10.231.99.20/24", err), 0);
    FO_CHECK_INT(fo_vip_add(&v, &was, err), 0);
    FO_CHECK(present(&v));
    FO_CHECK_INT(fo_vip_del(&v, &was, err), 0);
    FO_CHECK(was);
}

static void ns_test_vip_errors(void)
{
    char err[FO_ERRLEN];
    struct fo_vip v;
    bool p = true;

    FO_CHECK_INT(fo_vip_parse(&v, "fo-nope0", VIP "/24", err), 0);
    err[0] = '\0';
    FO_CHECK_INT(fo_vip_add(&v, NULL, err), FO_ENOTFOUND);
    CHECK_CONTAINS(err, VIP "/24 on fo-nope0: no such interface");
    FO_CHECK_INT(fo_vip_del(&v, NULL, err), FO_ENOTFOUND);
    FO_CHECK_INT(fo_vip_query(&v, &p, err), FO_ENOTFOUND);
    FO_CHECK(p); /* untouched on error */
}

static void on_done_never(void *data, int status, const char *detail)
{
    abort();
}

/* Without CAP_NET_ADMIN / CAP_NET_RAW (a grandchild turned into nobody): changes are
 * refused with FO_EPERM, a query still works. Exits, never returns. */
static void ns_unprivileged_child(void)
{
    char err[FO_ERRLEN];
    struct fo_vip v;
    struct fo_arp *a = NULL;
    uv_loop_t loop;
    bool p = true;

    FO_CHECK_INT(setresgid(65534, 65534, 65534), 0);
    FO_CHECK_INT(setresuid(65534, 65534, 65534), 0);
    FO_CHECK_INT(fo_vip_parse(&v, IF_UP, VIP "/24", err), 0);
    FO_CHECK_INT(fo_vip_add(&v, NULL, err), FO_EPERM);
    CHECK_CONTAINS(err, "add " VIP "/24 on " IF_UP ": Operation not permitted");
    FO_CHECK_INT(fo_vip_del(&v, NULL, err), FO_EPERM);
    FO_CHECK_INT(fo_vip_query(&v, &p, err), 0);
    FO_CHECK(!p);
    FO_CHECK_INT(uv_loop_init(&loop), 0);
    FO_CHECK_INT(fo_arp_announce(&loop, IF_UP, v.addr, 1, 10, on_done_never, NULL, &a, err), FO_EPERM);
    FO_CHECK(a == NULL);
    FO_CHECK_INT(uv_loop_close(&loop), 0);
    fflush(stderr);
    /* _exit: the exit handlers belong to the parent child (its temp directory). */
    _exit(fo_test_cur_failed);
}

static void ns_test_unprivileged(void)
{
    int st = 0;
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) ns_unprivileged_child();
    FO_CHECK(pid > 0);
    if (pid <= 0) return;
    FO_CHECK(fo_test_wait_exit(pid, CMD_TIMEOUT_MS, &st));
    FO_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ------------------------------------------------------------------ in the namespace: ARP */

struct done {
    int calls;
    int status;
    char detail[FO_ERRLEN];
    double ms;       /* since start, when the callback ran */
    uv_loop_t *loop; /* times are on its clock, the one the ARP timer runs on */
    uint64_t t0;     /* uv_now() at start */
};

/* Starts d's clock on the loop's time, refreshed first (it was cached at init): a
 * timer of n ms then never fires before d.ms reaches n, which one clock guarantees
 * and a mix of uv_hrtime() and the loop's whole-millisecond time does not. */
static void done_start(struct done *d, uv_loop_t *loop)
{
    uv_update_time(loop);
    d->loop = loop;
    d->t0 = uv_now(loop);
}

static void on_done(void *data, int status, const char *detail)
{
    struct done *d = data;

    d->calls++;
    d->status = status;
    snprintf(d->detail, sizeof(d->detail), "%s", detail);
    d->ms = (double)(uv_now(d->loop) - d->t0);
}

static int get_mac(const char *ifname, unsigned char mac[ETH_ALEN])
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

    if (fd < 0) return -1;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
    close(fd);
    if (rc == 0) memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
    return rc;
}

/* A packet socket that receives every ARP frame arriving on ifname, drained of what
 * came in before it was bound there. */
static int capture_open(const char *ifname)
{
    struct sockaddr_ll sll;
    char buf[2048];
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));

    if (fd < 0) return -1;
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ARP);
    sll.sll_ifindex = (int)if_nametoindex(ifname);
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
        close(fd);
        return -1;
    }
    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) continue;
    return fd;
}

/* Whether f is our announcement: broadcast from mac, ARP request, sender = target =
 * vip, target MAC zero, padded to 60 bytes. */
static bool is_announcement(const unsigned char *f, ssize_t n, const unsigned char mac[ETH_ALEN], struct in_addr vip)
{
    static const unsigned char bcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char zero[ETH_ALEN] = {0};
    struct ether_header eh;
    struct ether_arp ea;

    if (n != 60) return false;
    memcpy(&eh, f, sizeof(eh));
    memcpy(&ea, f + sizeof(eh), sizeof(ea));
    return memcmp(eh.ether_dhost, bcast, ETH_ALEN) == 0 && memcmp(eh.ether_shost, mac, ETH_ALEN) == 0 &&
           ntohs(eh.ether_type) == ETHERTYPE_ARP && ntohs(ea.arp_hrd) == ARPHRD_ETHER &&
           ntohs(ea.arp_pro) == ETHERTYPE_IP && ea.arp_hln == ETH_ALEN && ea.arp_pln == 4 &&
           ntohs(ea.arp_op) == ARPOP_REQUEST && memcmp(ea.arp_sha, mac, ETH_ALEN) == 0 &&
           memcmp(ea.arp_spa, &vip, 4) == 0 && memcmp(ea.arp_tpa, &vip, 4) == 0 &&
           memcmp(ea.arp_tha, zero, ETH_ALEN) == 0;
}

/* Counts our announcements arriving within wait_ms (polling, no sleeps); stops early
 * once `enough` arrived, after a short grace period that would catch one too many. */
static unsigned capture_count(int fd, const unsigned char mac[ETH_ALEN], struct in_addr vip, unsigned enough,
                              unsigned wait_ms)
{
    unsigned char f[2048];
    unsigned got = 0;
    uint64_t t0 = uv_hrtime();
    double limit = wait_ms;

    for (;;) {
        double left = limit - fo_test_ms_since(t0);
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;

        if (left <= 0) break;
        if (poll(&p, 1, (int)left + 1) <= 0) continue;
        n = recv(fd, f, sizeof(f), MSG_DONTWAIT);
        if (n > 0 && is_announcement(f, n, mac, vip) && ++got == enough) limit = fo_test_ms_since(t0) + 100;
    }
    return got;
}

static void ns_test_arp_sent(void)
{
    char err[FO_ERRLEN];
    unsigned char mac[ETH_ALEN];
    struct fo_test_loop tl;
    struct done d = {0};
    struct fo_arp *a = NULL;
    struct in_addr vip;
    int cap;

    inet_pton(AF_INET, VIP, &vip);
    FO_CHECK_INT(get_mac(IF_UP, mac), 0);
    cap = capture_open(IF_PEER);
    FO_CHECK(cap >= 0);
    if (cap < 0) return;
    FO_CHECK_INT(fo_test_loop_init(&tl, 10000), 0);
    done_start(&d, &tl.loop);
    FO_CHECK_INT(fo_arp_announce(&tl.loop, IF_UP, vip, 3, 50, on_done, &d, &a, err), 0);
    FO_CHECK(a != NULL);
    FO_CHECK(fo_test_loop_run(&tl));
    FO_CHECK_INT(fo_test_loop_close(&tl), 0);
    FO_CHECK_INT(d.calls, 1);
    FO_CHECK_INT(d.status, 0);
    FO_CHECK_STR(d.detail, "");
    /* Three sends at 0, 50 and 100 ms. */
    if (!(d.ms >= 100 && d.ms < 5000)) {
        fprintf(stderr, "  FAIL %s:%d: took %.1f ms\n", __FILE__, __LINE__, d.ms);
        fo_test_cur_failed = 1;
    }
    FO_CHECK_INT(capture_count(cap, mac, vip, 3, 2000), 3);
    close(cap);
}

/* The loop for a cancel test: cancels op after `after_ms` from a timer (0: at once). */
struct canceler {
    uv_timer_t t;
    struct fo_arp *op;
    bool twice;
};

static void cancel_cb(uv_timer_t *t)
{
    struct canceler *c = t->data;

    fo_arp_cancel(c->op);
    if (c->twice) fo_arp_cancel(c->op);
    uv_close((uv_handle_t *)t, NULL);
}

struct cancel_case {
    unsigned count, interval_ms;
    int after_ms; /* -1: cancel before the loop runs */
    bool twice;
    unsigned sent; /* announcements that should arrive */
    const char *detail;
};

static const struct cancel_case cancel_cases[] = {
    {5, 1000, -1, false, 0, "canceled after 0 of 5 announcements"},
    {5, 1000, -1, true, 0, "canceled after 0 of 5 announcements"},
    {5, 1000, 100, false, 1, "canceled after 1 of 5 announcements"},
    {5, 1000, 100, true, 1, "canceled after 1 of 5 announcements"},
    {3, 100, 150, false, 2, "canceled after 2 of 3 announcements"},
};

static void ns_test_arp_cancel(void)
{
    char err[FO_ERRLEN];
    unsigned char mac[ETH_ALEN];
    struct in_addr vip;
    size_t i;

    inet_pton(AF_INET, VIP, &vip);
    FO_CHECK_INT(get_mac(IF_UP, mac), 0);
    for (i = 0; i < N_ELEMS(cancel_cases); i++) {
        const struct cancel_case *c = &cancel_cases[i];
        struct fo_test_loop tl;
        struct canceler cn = {.twice = c->twice};
        struct done d = {0};
        int cap = capture_open(IF_PEER);

        FO_CHECK(cap >= 0);
        FO_CHECK_INT(fo_test_loop_init(&tl, 10000), 0);
        done_start(&d, &tl.loop);
        FO_CHECK_INT(fo_arp_announce(&tl.loop, IF_UP, vip, c->count, c->interval_ms, on_done, &d, &cn.op, err), 0);
        if (c->after_ms < 0) {
            fo_arp_cancel(cn.op);
            if (c->twice) fo_arp_cancel(cn.op);
        } else {
            uv_timer_init(&tl.loop, &cn.t);
            cn.t.data = &cn;
            uv_timer_start(&cn.t, cancel_cb, (uint64_t)c->after_ms, 0);
        }
        FO_CHECK(fo_test_loop_run(&tl));
        FO_CHECK_INT(fo_test_loop_close(&tl), 0);
        FO_CHECK_INT(d.calls, 1);
        FO_CHECK_INT(d.status, FO_ECANCELED);
        FO_CHECK_STR(d.detail, c->detail);
        /* Ended at the cancel, not after the remaining intervals. */
        if (!(d.ms < (c->after_ms < 0 ? 0 : c->after_ms) + c->interval_ms / 2.0)) {
            fprintf(stderr, "  FAIL %s:%d: case %zu took %.1f ms\n", __FILE__, __LINE__, i, d.ms);
            fo_test_cur_failed = 1;
        }
        if (cap >= 0) FO_CHECK_INT(capture_count(cap, mac, vip, c->sent + 1, 200), c->sent);
        if (cap >= 0) close(cap);
    }
}

struct arp_err_case {
    const char *ifname;
    unsigned count, interval_ms;
    int rc;
    const char *msg;
};

static const struct arp_err_case arp_err_cases[] = {
    {"fo-nope0", 3, 10, FO_ENOTFOUND, "arp on fo-nope0: No such device"},
    {"lo", 3, 10, FO_EINVAL, "arp on lo: not an Ethernet interface (hardware type 772)"},
    {IF_UP, 0, 10, FO_EINVAL, "arp count 0 not in 1..100"},
    {IF_UP, FO_ARP_MAX_COUNT + 1, 10, FO_EINVAL, "arp count 101 not in 1..100"},
    {IF_UP, 3, 0, FO_EINVAL, "arp interval 0 ms not in 1..60000"},
    {IF_UP, 3, FO_ARP_MAX_INTERVAL_MS + 1, FO_EINVAL, "arp interval 60001 ms"},
    {"", 3, 10, FO_EINVAL, "invalid interface name"},
    {"abcdefghijklmnopq", 3, 10, FO_EINVAL, "invalid interface name"},
};

/* Errors at start: returned at once, the callback never fires, no handle is left. */
static void ns_test_arp_errors(void)
{
    char err[FO_ERRLEN];
    struct in_addr vip;
    size_t i;

    inet_pton(AF_INET, VIP, &vip);
    for (i = 0; i < N_ELEMS(arp_err_cases); i++) {
        const struct arp_err_case *c = &arp_err_cases[i];
        struct fo_test_loop tl;
        struct fo_arp *a = NULL;
        struct done d = {0};

        FO_CHECK_INT(fo_test_loop_init(&tl, 10000), 0);
        done_start(&d, &tl.loop);
        err[0] = '\0';
        FO_CHECK_INT(fo_arp_announce(&tl.loop, c->ifname, vip, c->count, c->interval_ms, on_done, &d, &a, err), c->rc);
        CHECK_CONTAINS(err, c->msg);
        FO_CHECK(a == NULL);
        FO_CHECK(fo_test_loop_run(&tl));
        FO_CHECK_INT(fo_test_loop_close(&tl), 0);
        FO_CHECK_INT(d.calls, 0);
    }
}

/* A send that fails (interface down) ends the operation with FO_EIO, once. */
static void ns_test_arp_send_failure(void)
{
    char err[FO_ERRLEN];
    struct fo_test_loop tl;
    struct done d = {0};
    struct fo_arp *a = NULL;
    struct in_addr vip;

    inet_pton(AF_INET, VIP, &vip);
    FO_CHECK_INT(fo_test_loop_init(&tl, 10000), 0);
    done_start(&d, &tl.loop);
    FO_CHECK_INT(fo_arp_announce(&tl.loop, IF_DOWN, vip, 3, 10, on_done, &d, &a, err), 0);
    FO_CHECK(fo_test_loop_run(&tl));
    FO_CHECK_INT(fo_test_loop_close(&tl), 0);
    FO_CHECK_INT(d.calls, 1);
    FO_CHECK_INT(d.status, FO_EIO);
    CHECK_CONTAINS(d.detail, "announcement 1 of 3: Network is down");
}

/* Runs in the forked child, inside the namespace; returns the child's exit code. */
static int ns_child(const struct ns *ns)
{
    char dir[FO_TEST_DIRLEN];

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (ns_enter(ns) != 0 || if_nametoindex(IF_PEER) == 0) {
        fprintf(stderr, "  cannot enter namespace %s: %s\n", ns->name, strerror(errno));
        return 1;
    }
    if (fo_test_tmpdir(dir, sizeof(dir), "vip") != 0) return 1;
    ns_test_vip(ns, dir);
    ns_test_vip_errors();
    ns_test_unprivileged();
    ns_test_arp_sent();
    ns_test_arp_cancel();
    ns_test_arp_errors();
    ns_test_arp_send_failure();
    return fo_test_cur_failed;
}

static void test_in_netns(void)
{
    struct ns ns;
    int st = 0;
    pid_t pid;

    if (!ns_create(&ns)) return;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) exit(ns_child(&ns)); /* exit: the child's own temp directory goes */
    FO_CHECK(pid > 0);
    if (pid > 0 && !fo_test_wait_exit(pid, CHILD_TIMEOUT_MS, &st)) {
        FO_CHECK(!"namespace child finished in time");
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    FO_CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ns_delete(&ns);
}

FO_TEST_MAIN(FO_T(test_parse_table), FO_T(test_in_netns))
