/* The local mysqld as a process: contract in mysqldproc.h (docs/fence-stopped.md). */
#include "agent/mysqldproc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define STAT_MAX 4096 /* /proc/PID/stat is one line of a few hundred bytes */

/* ---- pure parsers ------------------------------------------------------------------ */

int fo_mysqld_parse_stat(const char *buf, size_t len, pid_t *pid, char *state, char comm[FO_MYSQLD_COMM_LEN],
                         char err[FO_ERRLEN])
{
    const char *open = memchr(buf, '(', len), *close = NULL, *p;
    size_t i, n;
    uint64_t v = 0;

    if (open == NULL || open == buf) return fo_errf(err, FO_EINVAL, "no \"pid (\" at the start");
    for (p = buf; p < open - 1; p++) {
        if (*p < '0' || *p > '9' || v > 10000000) return fo_errf(err, FO_EINVAL, "the pid is not a number");
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (open[-1] != ' ' || v == 0) return fo_errf(err, FO_EINVAL, "the pid is not a number");
    /* comm is whatever the process named itself (prctl PR_SET_NAME): it may contain
     * ") " itself, but nothing after the real closing parenthesis can, since the
     * fields after it are numbers and one state letter. */
    for (p = open + 1; p + 1 < buf + len; p++)
        if (p[0] == ')' && p[1] == ' ') close = p;
    if (close == NULL) return fo_errf(err, FO_EINVAL, "no \") \" after the command name");
    if (close + 2 >= buf + len || close[2] == ' ' || close[2] == '\n' || close[2] == '\0')
        return fo_errf(err, FO_EINVAL, "no state after the command name");
    if (close + 3 < buf + len && close[3] != ' ' && close[3] != '\n')
        return fo_errf(err, FO_EINVAL, "the state is more than one character");
    n = (size_t)(close - open - 1);
    if (n > FO_MYSQLD_COMM_LEN - 1) n = FO_MYSQLD_COMM_LEN - 1;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)open[1 + i];
        comm[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    comm[n] = '\0';
    *pid = (pid_t)v;
    *state = close[2];
    return 0;
}

/* The next whitespace-separated field of [*s, end), or false at the end of the line. */
static bool field(const char **s, const char *end, const char **f, size_t *flen)
{
    const char *p = *s;

    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (p >= end || *p == '\n') return false;
    *f = p;
    while (p < end && *p != ' ' && *p != '\t' && *p != '\n') p++;
    *flen = (size_t)(p - *f);
    *s = p;
    return true;
}

static bool hex_u64(const char *f, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 16) return false;
    for (i = 0; i < n; i++) {
        char c = f[i];
        unsigned d = (c >= '0' && c <= '9')   ? (unsigned)(c - '0')
                     : (c >= 'A' && c <= 'F') ? (unsigned)(c - 'A' + 10)
                     : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
                                              : 16u;
        if (d > 15) return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

static bool dec_u64(const char *f, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 19) return false;
    for (i = 0; i < n; i++) {
        if (f[i] < '0' || f[i] > '9') return false;
        v = v * 10 + (uint64_t)(f[i] - '0');
    }
    *out = v;
    return true;
}

/* One socket line: true with its inode if it listens on port. */
static bool listen_line(const char *s, const char *end, uint16_t port, uint64_t *inode)
{
    const char *f, *colon;
    size_t n;
    unsigned i;
    uint64_t v;

    if (!field(&s, end, &f, &n) || n < 2 || f[n - 1] != ':') return false; /* "sl:" */
    if (!field(&s, end, &f, &n)) return false;                             /* local HEXIP:HEXPORT */
    colon = memchr(f, ':', n);
    if (colon == NULL || !hex_u64(colon + 1, (size_t)(f + n - colon - 1), &v) || v != port) return false;
    if (!field(&s, end, &f, &n)) return false;                                    /* remote */
    if (!field(&s, end, &f, &n) || !hex_u64(f, n, &v) || v != 0x0A) return false; /* st: LISTEN */
    for (i = 0; i < 6; i++) /* tx:rx tr:when retrnsmt uid timeout inode */
        if (!field(&s, end, &f, &n)) return false;
    return dec_u64(f, n, inode) && *inode != 0;
}

int fo_mysqld_parse_net_tcp(const char *text, size_t len, uint16_t port, uint64_t *inodes, unsigned max, unsigned *n)
{
    const char *s = text, *end = text + len, *eol;
    uint64_t inode;
    bool first = true;
    int rc = 0;

    while (s < end) {
        eol = memchr(s, '\n', (size_t)(end - s));
        if (eol == NULL) eol = end;
        if (!first && listen_line(s, eol, port, &inode)) {
            if (*n < max)
                inodes[(*n)++] = inode;
            else
                rc = FO_ETOOBIG;
        }
        first = false;
        s = eol + 1;
    }
    return rc;
}

int fo_mysqld_parse_diag(const void *buf, size_t len, uint32_t seq, uint16_t port, uint64_t *inodes, unsigned max,
                         unsigned *n, bool *done)
{
    const char *b = buf;
    size_t off = 0;
    int rc = 0;

    while (len - off >= sizeof(struct nlmsghdr)) {
        struct nlmsghdr h;
        struct inet_diag_msg m;
        size_t plen;

        memcpy(&h, b + off, sizeof h);
        if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off) return FO_EPROTO;
        plen = h.nlmsg_len - NLMSG_HDRLEN;
        if (h.nlmsg_seq == seq) {
            if (h.nlmsg_type == NLMSG_DONE) {
                *done = true;
                return rc;
            }
            if (h.nlmsg_type == NLMSG_ERROR) return FO_EIO;
            if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
                if (plen < sizeof m) return FO_EPROTO;
                memcpy(&m, b + off + NLMSG_HDRLEN, sizeof m);
                if (m.idiag_state == 10 /* TCP_LISTEN */ && ntohs(m.id.idiag_sport) == port && m.idiag_inode != 0) {
                    if (*n < max)
                        inodes[(*n)++] = m.idiag_inode;
                    else
                        rc = FO_ETOOBIG;
                }
            }
        }
        off += NLMSG_ALIGN(h.nlmsg_len) < len - off ? NLMSG_ALIGN(h.nlmsg_len) : len - off;
    }
    return off == len ? rc : FO_EPROTO;
}

/* ---- /proc and sock_diag ---------------------------------------------------------------------------- */

/* Reads at most cap bytes of path into a new buffer (NUL-terminated). */
static int slurp(const char *path, size_t cap, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t size = 4096, n = 0;
    char *b;
    ssize_t r;

    if (fd < 0) return -1;
    if ((b = malloc(size + 1)) == NULL) return close(fd), -1;
    for (;;) {
        if (n == size) {
            char *nb;
            if (size >= cap) break;
            size = size * 2 > cap ? cap : size * 2;
            if ((nb = realloc(b, size + 1)) == NULL) return free(b), close(fd), -1;
            b = nb;
        }
        r = read(fd, b + n, size - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return free(b), close(fd), -1;
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    b[n] = '\0';
    *out = b;
    *len = n;
    return 0;
}

#define DIAG_RECV 32768
#define DIAG_TIMEOUT_MS 1000

/* One family's listening TCP sockets on port, by NETLINK_SOCK_DIAG. Asking for the
 * LISTEN state only makes the kernel walk its listening hash alone: reading
 * /proc/net/tcp walks every socket of the host (every namespace's; hundreds of
 * milliseconds with a few hundred thousand TIME_WAIT sockets). */
static int diag_family(int fd, uint8_t family, uint32_t seq, uint16_t port, uint64_t *inodes, unsigned *n, char *err)
{
    struct {
        struct nlmsghdr h;
        struct inet_diag_req_v2 r;
    } req;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    char *buf;
    bool done = false;
    unsigned msgs = 0;
    int rc = 0;

    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = seq;
    req.r.sdiag_family = family;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = 1u << 10; /* TCP_LISTEN only */
    req.r.id.idiag_sport = htons(port);
    if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
        return fo_errf(err, FO_EIO, "sock_diag request: %s", strerror(errno));
    if ((buf = malloc(DIAG_RECV)) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    while (!done && rc == 0) {
        ssize_t r = recv(fd, buf, DIAG_RECV, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = fo_errf(err, FO_EIO, "sock_diag dump: %s", strerror(errno));
            break;
        }
        if (r == 0 || ++msgs > 4096) {
            rc = fo_errf(err, FO_EPROTO, "sock_diag dump did not end");
            break;
        }
        rc = fo_mysqld_parse_diag(buf, (size_t)r, seq, port, inodes, FO_MYSQLD_MAX_INODES, n, &done);
        if (rc == FO_ETOOBIG) rc = 0; /* keep the first ones */
        /* A kernel without IPv6 answers the AF_INET6 dump with an error: nothing there. */
        if (rc == FO_EIO && family == AF_INET6) return 0;
        if (rc != 0) fo_errf(err, rc, "sock_diag dump: a reply that makes no sense");
    }
    free(buf);
    return rc;
}

static int diag_inodes(uint16_t port, uint64_t *inodes, unsigned *n, char *err)
{
    struct timeval tv = {.tv_sec = DIAG_TIMEOUT_MS / 1000, .tv_usec = DIAG_TIMEOUT_MS % 1000 * 1000};
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), rc;

    if (fd < 0) return fo_errf(err, FO_EIO, "sock_diag socket: %s", strerror(errno));
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
        close(fd);
        return fo_errf(err, FO_EIO, "sock_diag socket: %s", strerror(errno));
    }
    rc = diag_family(fd, AF_INET, 1, port, inodes, n, err);
    if (rc == 0) rc = diag_family(fd, AF_INET6, 2, port, inodes, n, err);
    close(fd);
    return rc;
}

static int listen_inodes(uint16_t port, uint64_t *inodes, unsigned *n, char *err)
{
    static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    unsigned i, read_ok = 0;
    char *b;
    size_t len;

    *n = 0;
    if (diag_inodes(port, inodes, n, err) == 0) {
        if (*n == 0) return fo_errf(err, FO_ENOTFOUND, "nothing listens on TCP port %u", port);
        return 0;
    }
    /* No sock_diag (a kernel without CONFIG_INET_DIAG): the slow way. */
    *n = 0;
    for (i = 0; i < 2; i++) {
        if (slurp(files[i], FO_MYSQLD_NET_MAX, &b, &len) != 0) continue; /* no IPv6: fine */
        read_ok++;
        if (len >= FO_MYSQLD_NET_MAX) {
            free(b);
            return fo_errf(err, FO_ETOOBIG, "%s is larger than %u bytes", files[i], FO_MYSQLD_NET_MAX);
        }
        fo_mysqld_parse_net_tcp(b, len, port, inodes, FO_MYSQLD_MAX_INODES, n);
        free(b);
    }
    if (read_ok == 0) return fo_errf(err, FO_EIO, "cannot read /proc/net/tcp: %s", strerror(errno));
    if (*n == 0) return fo_errf(err, FO_ENOTFOUND, "nothing listens on TCP port %u", port);
    return 0;
}

/* Whether pid has one of the inodes open; *bound when FO_MYSQLD_MAX_FDS was hit. */
static bool owns(pid_t pid, const uint64_t *inodes, unsigned n, bool *bound)
{
    char dir[64], path[96], link[64], want[40];
    struct dirent *d;
    unsigned seen = 0, i;
    bool found = false;
    DIR *dp;
    ssize_t r;

    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    if ((dp = opendir(dir)) == NULL) return false; /* gone, or not ours to read */
    while (!found && (d = readdir(dp)) != NULL) {
        if (d->d_name[0] == '.') continue;
        if (++seen > FO_MYSQLD_MAX_FDS) {
            *bound = true;
            break;
        }
        snprintf(path, sizeof path, "%s/%.20s", dir, d->d_name);
        r = readlink(path, link, sizeof link - 1);
        if (r <= 0 || strncmp(link, "socket:[", 8) != 0) continue;
        link[r] = '\0';
        for (i = 0; i < n && !found; i++) {
            snprintf(want, sizeof want, "socket:[%" PRIu64 "]", inodes[i]);
            found = strcmp(link, want) == 0;
        }
    }
    closedir(dp);
    return found;
}

static int read_state(pid_t pid, struct fo_mysqld_proc *p, char *err)
{
    char path[64], e[FO_ERRLEN], *b;
    size_t len;
    pid_t got;
    int rc;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (slurp(path, STAT_MAX, &b, &len) != 0)
        return fo_errf(err, FO_ENOTFOUND, "pid %d: cannot read %s: %s", (int)pid, path, strerror(errno));
    rc = fo_mysqld_parse_stat(b, len, &got, &p->state, p->comm, e);
    free(b);
    if (rc == 0 && got != pid) rc = fo_errf(e, FO_EINVAL, "names pid %d", (int)got);
    if (rc != 0) return fo_errf(err, FO_EIO, "pid %d: %s: %s", (int)pid, path, e);
    return 0;
}

static bool same_netns(const char *pid_dir, const struct stat *own)
{
    char path[96];
    struct stat st;

    snprintf(path, sizeof path, "%s/ns/net", pid_dir);
    return stat(path, &st) == 0 && st.st_ino == own->st_ino && st.st_dev == own->st_dev;
}

/* The owner of inodes among the processes of this network namespace. */
static int scan(const uint64_t *inodes, unsigned n, uint16_t port, pid_t *owner, char *err)
{
    struct stat own;
    struct dirent *d;
    unsigned seen = 0;
    bool bound = false;
    char dir[64], *end;
    DIR *dp;
    long v;

    *owner = 0;
    if (stat("/proc/self/ns/net", &own) != 0)
        return fo_errf(err, FO_EIO, "cannot stat /proc/self/ns/net: %s", strerror(errno));
    if ((dp = opendir("/proc")) == NULL) return fo_errf(err, FO_EIO, "cannot read /proc: %s", strerror(errno));
    while ((d = readdir(dp)) != NULL) {
        if (d->d_name[0] < '1' || d->d_name[0] > '9') continue;
        errno = 0;
        v = strtol(d->d_name, &end, 10);
        if (errno != 0 || *end != '\0' || v <= 0 || v > 0x7fffffff) continue;
        if (++seen > FO_MYSQLD_MAX_PIDS) {
            bound = true;
            break;
        }
        snprintf(dir, sizeof dir, "/proc/%ld", v);
        if (!same_netns(dir, &own) || !owns((pid_t)v, inodes, n, &bound)) continue;
        if (*owner != 0) {
            closedir(dp);
            return fo_errf(err, FO_EEXIST, "two processes (pids %d and %ld) listen on TCP port %u: none is picked",
                           (int)*owner, v, port);
        }
        *owner = (pid_t)v;
    }
    closedir(dp);
    if (*owner != 0) return 0;
    if (bound)
        return fo_errf(err, FO_ETOOBIG, "no owner of TCP port %u found within %u processes / %u descriptors each", port,
                       FO_MYSQLD_MAX_PIDS, FO_MYSQLD_MAX_FDS);
    return fo_errf(err, FO_ENOTFOUND,
                   "no process of this network namespace that the agent may inspect owns TCP port %u (another "
                   "user's mysqld needs CAP_SYS_PTRACE and CAP_KILL: docs/fence-stopped.md)",
                   port);
}

int fo_mysqld_listening(uint16_t port, bool *listening, char err[FO_ERRLEN])
{
    uint64_t inodes[FO_MYSQLD_MAX_INODES];
    unsigned n = 0;
    int rc = diag_inodes(port, inodes, &n, err);

    *listening = rc == 0 && n > 0;
    return rc;
}

int fo_mysqld_find(uint16_t port, struct fo_mysqld_proc *p, char err[FO_ERRLEN])
{
    uint64_t inodes[FO_MYSQLD_MAX_INODES];
    unsigned n;
    pid_t pid;
    int rc;

    memset(p, 0, sizeof *p);
    if ((rc = listen_inodes(port, inodes, &n, err)) != 0 || (rc = scan(inodes, n, port, &pid, err)) != 0 ||
        (rc = read_state(pid, p, err)) != 0) {
        snprintf(p->detail, sizeof p->detail, "%s", err);
        return rc;
    }
    p->pid = pid;
    snprintf(p->detail, sizeof p->detail, "mysqld pid %d (%s) state %c", (int)pid, p->comm, p->state);
    return 0;
}

/* After the pidfd pins the process: still the owner of port, and still stopped? */
static int recheck(uint16_t port, struct fo_mysqld_proc *p, char *err)
{
    uint64_t inodes[FO_MYSQLD_MAX_INODES];
    unsigned n;
    bool bound = false;
    int rc;

    if ((rc = listen_inodes(port, inodes, &n, err)) != 0) return rc;
    if (!owns(p->pid, inodes, n, &bound))
        return fo_errf(err, FO_ENOTFOUND, "pid %d no longer listens on TCP port %u", (int)p->pid, port);
    return read_state(p->pid, p, err);
}

int fo_mysqld_kill_if_stopped(uint16_t port, struct fo_mysqld_proc *p, char err[FO_ERRLEN])
{
    int rc, fd;

    if ((rc = fo_mysqld_find(port, p, err)) != 0) return rc;
    if (p->state != 'T') goto not_stopped;
    /* The pidfd names this very process from now on: if it exits, the signal fails
     * (ESRCH) rather than reaching whatever reuses the pid. What is read next is read
     * of a process the pidfd already pins. */
    fd = pidfd_open(p->pid, 0);
    if (fd < 0) {
        fo_errf(err, FO_EIO, "pid %d: pidfd_open: %s", (int)p->pid, strerror(errno));
        goto failed;
    }
    if ((rc = recheck(port, p, err)) != 0) {
        close(fd);
        snprintf(p->detail, sizeof p->detail, "%s", err);
        return rc;
    }
    if (p->state != 'T') {
        close(fd);
        goto not_stopped;
    }
    if (pidfd_send_signal(fd, SIGKILL, NULL, 0) != 0) {
        fo_errf(err, FO_EIO, "pid %d: SIGKILL: %s", (int)p->pid, strerror(errno));
        close(fd);
        goto failed;
    }
    close(fd);
    p->killed = true;
    snprintf(p->detail, sizeof p->detail, "mysqld pid %d (%s) was stopped (state T): killed with SIGKILL", (int)p->pid,
             p->comm);
    return 0;
not_stopped:
    if (p->state == 't')
        snprintf(p->detail, sizeof p->detail, "mysqld pid %d (%s) is traced (state t, a debugger holds it): not killed",
                 (int)p->pid, p->comm);
    else
        snprintf(p->detail, sizeof p->detail, "mysqld pid %d (%s) is in state %c, not stopped: not killed", (int)p->pid,
                 p->comm, p->state);
    return 0;
failed:
    snprintf(p->detail, sizeof p->detail, "%s", err);
    return FO_EIO;
}
