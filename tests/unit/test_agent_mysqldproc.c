/* Unit tests for agent/mysqldproc.c (docs/fence-stopped.md): the /proc/PID/stat and
 * /proc/net/tcp parsers as tables of cases, hostile command names included, then the
 * real thing on a child process that listens on a port: found, not killed while it
 * sleeps, not killed while traced ('t'), killed once SIGSTOPped ('T'). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/mysqldproc.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct stat_case {
    const char *text;
    int rc;
    int pid;
    char state;
    const char *comm;
};

static void test_parse_stat(void)
{
    static const struct stat_case cases[] = {
        {"1234 (mariadbd) S 1 1234 1234 0 -1 4194560 9120 0 0 0 12 4 0 0 20 0 38 0\n", 0, 1234, 'S', "mariadbd"},
        {"77 (mysqld) T 1 77 77 0 -1\n", 0, 77, 'T', "mysqld"},
        {"77 (mysqld) t 1 77\n", 0, 77, 't', "mysqld"},
        /* comm is chosen by the process: spaces, ')' and ") X " inside it. */
        {"42 (my sql d) R 1 2 3\n", 0, 42, 'R', "my sql d"},
        {"42 (a) T) S 1 2 3\n", 0, 42, 'S', "a) T"},
        {"42 ()) T 1\n", 0, 42, 'T', ")"},
        {"42 (x) R) (y) T) Z 1 2\n", 0, 42, 'Z', "x) R) (y) T"},
        {"42 ((() D 1\n", 0, 42, 'D', "(("},
        {"42 () T 1", 0, 42, 'T', ""},
        {"42 (evil\n) T 1", 0, 42, 'T', "evil?"},
        {"9 (x) T", 0, 9, 'T', "x"}, /* cut right after the state */
        /* Not a stat line. */
        {"", FO_EINVAL, 0, 0, NULL},
        {"42", FO_EINVAL, 0, 0, NULL},
        {"(x) T 1", FO_EINVAL, 0, 0, NULL},
        {"4x2 (x) T 1", FO_EINVAL, 0, 0, NULL},
        {"42(x) T 1", FO_EINVAL, 0, 0, NULL},
        {"0 (x) T 1", FO_EINVAL, 0, 0, NULL},
        {"42 (x T 1", FO_EINVAL, 0, 0, NULL},
        {"42 (x)T 1", FO_EINVAL, 0, 0, NULL},
        {"42 (x) ", FO_EINVAL, 0, 0, NULL},
        {"42 (x)  T", FO_EINVAL, 0, 0, NULL},
        {"42 (x) TT 1", FO_EINVAL, 0, 0, NULL},
        {"99999999999999999999 (x) T 1", FO_EINVAL, 0, 0, NULL},
    };
    char comm[FO_MYSQLD_COMM_LEN], err[FO_ERRLEN], state;
    pid_t pid;
    unsigned i;

    for (i = 0; i < N_ELEMS(cases); i++) {
        const struct stat_case *c = &cases[i];
        int rc;
        pid = 0;
        state = 0;
        rc = fo_mysqld_parse_stat(c->text, strlen(c->text), &pid, &state, comm, err);
        if (rc != c->rc) fprintf(stderr, "  case %u \"%s\": rc %d (%s)\n", i, c->text, rc, rc ? err : "");
        FO_CHECK_INT(rc, c->rc);
        if (rc != 0 || c->rc != 0) continue;
        FO_CHECK_INT(pid, c->pid);
        FO_CHECK_INT(state, c->state);
        FO_CHECK_STR(comm, c->comm);
    }
}

/* Only len bytes are read: no terminating NUL needed, nothing read past it. */
static void test_parse_stat_bounds(void)
{
    char buf[64], comm[FO_MYSQLD_COMM_LEN], err[FO_ERRLEN], state = 0, longname[300];
    pid_t pid;

    memcpy(buf, "5 (x) T 1 2", 11);
    memset(buf + 11, 'A', sizeof buf - 11);
    FO_CHECK_INT(fo_mysqld_parse_stat(buf, 6, &pid, &state, comm, err), FO_EINVAL); /* "5 (x) " */
    FO_CHECK_INT(fo_mysqld_parse_stat(buf, 7, &pid, &state, comm, err), 0);
    FO_CHECK_INT(state, 'T');
    /* A comm longer than the buffer is truncated, not overflowed. */
    memset(longname, 'n', sizeof longname);
    memcpy(longname, "5 (", 3);
    memcpy(longname + 200, ") T 1", 5);
    FO_CHECK_INT(fo_mysqld_parse_stat(longname, 205, &pid, &state, comm, err), 0);
    FO_CHECK_INT(strlen(comm), FO_MYSQLD_COMM_LEN - 1);
}

#define TCP_HDR                                                                                                \
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode        " \
    "\n"

static void test_parse_net_tcp(void)
{
    static const char v4[] =
        TCP_HDR "   0: 00000000:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 31337 1 "
                "0000000000000000 100 0 0 10 0\n"
                /* an established connection to 3306: not a listener */
                "   1: 0100007F:0CEA 0100007F:D431 01 00000000:00000000 00:00000000 00000000   106        0 4444 1\n"
                /* another port listening */
                "   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1\n"
                /* inode 0: skipped */
                "   3: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 0 1\n"
                /* junk */
                "   4: zz:0CEA 00000000:0000 0A\n"
                "garbage\n"
                "   5: 0100007F:0cea 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777";
    static const char v6[] =
        TCP_HDR "   0: 00000000000000000000000000000000:0CEA 00000000000000000000000000000000:0000 "
                "0A 00000000:00000000 00:00000000 00000000   106        0 31338 1\n";
    uint64_t inodes[4];
    unsigned n = 0;

    FO_CHECK_INT(fo_mysqld_parse_net_tcp(v4, strlen(v4), 3306, inodes, 4, &n), 0);
    FO_CHECK_INT(n, 2);
    FO_CHECK_INT(inodes[0], 31337);
    FO_CHECK_INT(inodes[1], 777);
    FO_CHECK_INT(fo_mysqld_parse_net_tcp(v6, strlen(v6), 3306, inodes, 4, &n), 0);
    FO_CHECK_INT(n, 3);
    FO_CHECK_INT(inodes[2], 31338);
    n = 0;
    FO_CHECK_INT(fo_mysqld_parse_net_tcp(v4, strlen(v4), 8080, inodes, 4, &n), 0);
    FO_CHECK_INT(n, 1);
    FO_CHECK_INT(inodes[0], 5555);
    n = 0;
    FO_CHECK_INT(fo_mysqld_parse_net_tcp(v4, strlen(v4), 3306, inodes, 1, &n), FO_ETOOBIG);
    FO_CHECK_INT(n, 1);
    n = 0;
    /* The header line alone, or a header that looks like a socket line, never matches. */
    FO_CHECK_INT(fo_mysqld_parse_net_tcp(TCP_HDR, strlen(TCP_HDR), 3306, inodes, 4, &n), 0);
    FO_CHECK_INT(n, 0);
    FO_CHECK_INT(fo_mysqld_parse_net_tcp("", 0, 3306, inodes, 4, &n), 0);
    FO_CHECK_INT(n, 0);
}

/* One SOCK_DIAG_BY_FAMILY message at buf + off; returns the next offset. */
static size_t diag_msg(char *buf, size_t off, uint32_t seq, uint8_t state, uint16_t sport, uint32_t inode)
{
    struct nlmsghdr h;
    struct inet_diag_msg m;

    memset(&h, 0, sizeof h);
    memset(&m, 0, sizeof m);
    h.nlmsg_len = NLMSG_LENGTH(sizeof m);
    h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    h.nlmsg_seq = seq;
    m.idiag_family = AF_INET;
    m.idiag_state = state;
    m.id.idiag_sport = htons(sport);
    m.idiag_inode = inode;
    memcpy(buf + off, &h, sizeof h);
    memcpy(buf + off + NLMSG_HDRLEN, &m, sizeof m);
    return off + NLMSG_ALIGN(h.nlmsg_len);
}

static size_t diag_done(char *buf, size_t off, uint32_t seq, uint16_t type)
{
    struct nlmsghdr h;
    int zero = 0;

    memset(&h, 0, sizeof h);
    h.nlmsg_len = NLMSG_LENGTH(sizeof zero);
    h.nlmsg_type = type;
    h.nlmsg_seq = seq;
    memcpy(buf + off, &h, sizeof h);
    memcpy(buf + off + NLMSG_HDRLEN, &zero, sizeof zero);
    return off + NLMSG_ALIGN(h.nlmsg_len);
}

static void test_parse_diag(void)
{
    static char buf[4096];
    uint64_t inodes[4];
    unsigned n = 0;
    bool done = false;
    size_t len = 0;

    len = diag_msg(buf, len, 7, 10, 3306, 111); /* a listener on 3306 */
    len = diag_msg(buf, len, 7, 1, 3306, 222);  /* established: not a listener */
    len = diag_msg(buf, len, 7, 10, 3307, 333); /* another port */
    len = diag_msg(buf, len, 6, 10, 3306, 444); /* another dump's sequence */
    len = diag_msg(buf, len, 7, 10, 3306, 0);   /* inode 0: skipped */
    len = diag_msg(buf, len, 7, 10, 3306, 555);
    FO_CHECK_INT(fo_mysqld_parse_diag(buf, len, 7, 3306, inodes, 4, &n, &done), 0);
    FO_CHECK(!done);
    FO_CHECK_INT(n, 2);
    FO_CHECK_INT(inodes[0], 111);
    FO_CHECK_INT(inodes[1], 555);
    len = diag_done(buf, 0, 7, NLMSG_DONE);
    FO_CHECK_INT(fo_mysqld_parse_diag(buf, len, 7, 3306, inodes, 4, &n, &done), 0);
    FO_CHECK(done);
    len = diag_done(buf, 0, 7, NLMSG_ERROR);
    FO_CHECK_INT(fo_mysqld_parse_diag(buf, len, 7, 3306, inodes, 4, &n, &done), FO_EIO);
    /* Cut short, or claiming more than the datagram: never read past it. */
    n = 0;
    done = false;
    len = diag_msg(buf, 0, 7, 10, 3306, 111);
    FO_CHECK_INT(fo_mysqld_parse_diag(buf, len - 1, 7, 3306, inodes, 4, &n, &done), FO_EPROTO);
    FO_CHECK_INT(fo_mysqld_parse_diag(buf, 10, 7, 3306, inodes, 4, &n, &done), FO_EPROTO);
    {
        struct nlmsghdr h;
        memcpy(&h, buf, sizeof h);
        h.nlmsg_len = NLMSG_HDRLEN; /* no room for the inet_diag_msg */
        memcpy(buf, &h, sizeof h);
        FO_CHECK_INT(fo_mysqld_parse_diag(buf, NLMSG_HDRLEN, 7, 3306, inodes, 4, &n, &done), FO_EPROTO);
    }
    /* More than max: the first kept. */
    n = 0;
    len = diag_msg(buf, 0, 7, 10, 3306, 1);
    len = diag_msg(buf, len, 7, 10, 3306, 2);
    FO_CHECK_INT(fo_mysqld_parse_diag(buf, len, 7, 3306, inodes, 1, &n, &done), FO_ETOOBIG);
    FO_CHECK_INT(n, 1);
    FO_CHECK_INT(inodes[0], 1);
}

/* ---- the real thing ------------------------------------------------------------------ */

/* A child that listens on a free port of 127.0.0.1 and sleeps; *port is that port.
 * With twin != NULL the child forks once more after listen(), so that two processes
 * own the socket; *twin is the second one. */
static pid_t listener_child(uint16_t *port, pid_t *twin)
{
    struct {
        uint16_t port;
        pid_t twin;
    } msg = {0, 0};
    int p[2];
    pid_t pid;

    if (pipe(p) != 0) return -1;
    pid = fork();
    if (pid == 0) {
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        int s = socket(AF_INET, SOCK_STREAM, 0);
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 4) == 0 &&
            getsockname(s, (struct sockaddr *)&a, &len) == 0)
            msg.port = ntohs(a.sin_port);
        if (twin != NULL && (msg.twin = fork()) == 0)
            for (;;) pause();
        if (write(p[1], &msg, sizeof msg) != sizeof msg) _exit(1);
        for (;;) pause();
    }
    close(p[1]);
    if (pid < 0 || read(p[0], &msg, sizeof msg) != sizeof msg || msg.port == 0) {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        pid = -1;
    }
    close(p[0]);
    *port = msg.port;
    if (twin != NULL) *twin = msg.twin;
    return pid;
}

static char state_of(pid_t pid)
{
    char path[64], buf[512], comm[FO_MYSQLD_COMM_LEN], err[FO_ERRLEN], st = 0;
    FILE *f;
    size_t n;
    pid_t got;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL) return 0;
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (fo_mysqld_parse_stat(buf, n, &got, &st, comm, err) != 0) return 0;
    return st;
}

static void wait_state(pid_t pid, char want)
{
    int i;

    for (i = 0; i < 200 && state_of(pid) != want; i++) usleep(5000);
}

static void test_find_and_kill(void)
{
    struct fo_mysqld_proc p;
    char err[FO_ERRLEN];
    uint16_t port;
    pid_t child = listener_child(&port, NULL);
    int status = 0;
    bool listening = false;

    if (child < 0) {
        FO_SKIP("cannot start a listening child process");
        return;
    }
    /* A loaded machine may not have scheduled the child into its accept() yet. */
    wait_state(child, 'S');
    FO_CHECK_INT(fo_mysqld_find(port, &p, err), 0);
    FO_CHECK_INT(p.pid, child);
    FO_CHECK(p.state == 'S' || p.state == 'R'); /* alive and not stopped, whichever */
    FO_CHECK_INT(fo_mysqld_listening(port, &listening, err), 0);
    FO_CHECK(listening);

    /* Sleeping: never killed. */
    FO_CHECK_INT(fo_mysqld_kill_if_stopped(port, &p, err), 0);
    FO_CHECK(!p.killed);
    FO_CHECK(strstr(p.detail, "not stopped: not killed") != NULL);

    /* Traced by a "debugger" (us): state 't', never killed. */
    if (ptrace(PTRACE_ATTACH, child, NULL, NULL) == 0) {
        waitpid(child, &status, 0);
        wait_state(child, 't');
        FO_CHECK_INT(state_of(child), 't');
        FO_CHECK_INT(fo_mysqld_kill_if_stopped(port, &p, err), 0);
        FO_CHECK(!p.killed);
        FO_CHECK(strstr(p.detail, "traced (state t") != NULL);
        FO_CHECK_INT(state_of(child), 't');
        ptrace(PTRACE_DETACH, child, NULL, NULL);
        wait_state(child, 'S');
    } else {
        printf("  (ptrace not permitted here: %s; the traced case is not run)\n", strerror(errno));
    }

    /* Stopped: killed. */
    kill(child, SIGSTOP);
    waitpid(child, &status, WUNTRACED);
    wait_state(child, 'T');
    FO_CHECK_INT(fo_mysqld_kill_if_stopped(port, &p, err), 0);
    FO_CHECK(p.killed);
    FO_CHECK_INT(p.pid, child);
    FO_CHECK(strstr(p.detail, "was stopped (state T): killed with SIGKILL") != NULL);
    FO_CHECK_INT(waitpid(child, &status, 0), child);
    FO_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    /* Nothing listens any more. */
    FO_CHECK_INT(fo_mysqld_listening(port, &listening, err), 0);
    FO_CHECK(!listening);
    FO_CHECK_INT(fo_mysqld_find(port, &p, err), FO_ENOTFOUND);
    FO_CHECK_INT(fo_mysqld_kill_if_stopped(port, &p, err), FO_ENOTFOUND);
    FO_CHECK(!p.killed);
}

/* Two processes owning the listener of one port (a fork that kept the socket): the
 * agent picks neither, and kills neither even when both are stopped. */
static void test_two_owners(void)
{
    struct fo_mysqld_proc p;
    char err[FO_ERRLEN];
    uint16_t port;
    pid_t twin = 0, a = listener_child(&port, &twin);
    int status;

    if (a < 0 || twin <= 0) {
        FO_SKIP("cannot start two processes sharing a listening socket");
        return;
    }
    kill(a, SIGSTOP);
    kill(twin, SIGSTOP);
    wait_state(a, 'T');
    wait_state(twin, 'T');
    FO_CHECK_INT(fo_mysqld_find(port, &p, err), FO_EEXIST);
    FO_CHECK(strstr(err, "two processes") != NULL);
    FO_CHECK_INT(fo_mysqld_kill_if_stopped(port, &p, err), FO_EEXIST);
    FO_CHECK(!p.killed);
    FO_CHECK_INT(state_of(a), 'T');
    kill(twin, SIGKILL); /* the child's own child: reaped by init once a is gone */
    kill(a, SIGKILL);
    waitpid(a, &status, 0);
}

FO_TEST_MAIN(FO_T(test_parse_stat), FO_T(test_parse_stat_bounds), FO_T(test_parse_net_tcp), FO_T(test_parse_diag),
             FO_T(test_find_and_kill), FO_T(test_two_owners))
