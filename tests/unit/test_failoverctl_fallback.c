/* failoverctl's controller fallback (client/fallback.c over client/rpc.c): which
 * failures move on to the next controller, and that a write which may have reached a
 * controller is never sent to another. No MySQL and no failoverd: fake controllers on
 * loopback, plain TCP (--insecure), each a thread:
 *   refused  a port nobody listens on (connect: ECONNREFUSED);
 *   full     a listener whose accept queue is full, so a SYN is dropped and the
 *            connect hangs (the per-controller connect timeout);
 *   closer   accepts, reads the request, closes without a reply (may have reached);
 *   answerer accepts, reads the request frame and answers Response{code 0}.
 * Each fake counts the connections it accepted. Client files are compiled in here
 * directly: client/ is not a library. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../client/args.c"
#include "../../client/fallback.c"
#include "../../client/rpc.c"
#include "../../client/tls_client.c"
#include "fo_test.h"

enum fake_kind { FAKE_CLOSER, FAKE_ANSWERER };

struct fake {
    int fd;
    unsigned port;
    enum fake_kind kind;
    int accepted;
    int stopping; /* set by fake_stop before its wake-up connection */
    pthread_t thread;
    char addr[FO_ADDR_LEN];
};

static int listen_on(unsigned *port, int backlog)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, backlog) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Reads one whole request frame (header + payload); 0 on success. */
static int read_request(int c)
{
    uint8_t hdr[FO_FRAME_HDR], buf[4096];
    size_t got = 0, want;
    ssize_t n;

    while (got < FO_FRAME_HDR) {
        if ((n = read(c, hdr + got, FO_FRAME_HDR - got)) <= 0) return -1;
        got += (size_t)n;
    }
    want = ((size_t)hdr[4] << 24) | ((size_t)hdr[5] << 16) | ((size_t)hdr[6] << 8) | hdr[7];
    while (want > 0) {
        if ((n = read(c, buf, want < sizeof(buf) ? want : sizeof(buf))) <= 0) return -1;
        want -= (size_t)n;
    }
    return 0;
}

static void answer(int c)
{
    Fo__Response r = FO__RESPONSE__INIT;
    uint8_t out[256];
    size_t len = fo__response__get_packed_size(&r);

    fo_frame_header(out, FO_FRAME_RESPONSE, (uint32_t)len);
    fo__response__pack(&r, out + FO_FRAME_HDR);
    if (write(c, out, FO_FRAME_HDR + len) < 0) perror("fake answer");
}

/* Serves one connection, then exits: each test makes at most one call per fake. */
static void *fake_main(void *arg)
{
    struct fake *f = arg;
    int c = accept(f->fd, NULL, NULL);

    if (c < 0) return NULL;
    if (__atomic_load_n(&f->stopping, __ATOMIC_SEQ_CST)) {
        close(c);
        return NULL;
    }
    __atomic_add_fetch(&f->accepted, 1, __ATOMIC_SEQ_CST);
    if (read_request(c) == 0 && f->kind == FAKE_ANSWERER) answer(c);
    close(c);
    return NULL;
}

static int fake_start(struct fake *f, enum fake_kind kind)
{
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->fd = listen_on(&f->port, 8);
    if (f->fd < 0) return -1;
    snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%u", f->port);
    return pthread_create(&f->thread, NULL, fake_main, f);
}

/* Stops the fake: a connection of our own wakes a thread still in accept(). */
static void fake_stop(struct fake *f)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    __atomic_store_n(&f->stopping, 1, __ATOMIC_SEQ_CST);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)f->port);
    if (fd >= 0) {
        connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        close(fd);
    }
    pthread_join(f->thread, NULL);
    close(f->fd);
}

static int accepted(struct fake *f)
{
    return __atomic_load_n(&f->accepted, __ATOMIC_SEQ_CST);
}

/* An address that refuses: a port bound for a moment, then released. */
static void refused_addr(char *out, size_t cap)
{
    unsigned port = 0;
    int fd = listen_on(&port, 1);

    FO_CHECK(fd >= 0);
    close(fd);
    snprintf(out, cap, "127.0.0.1:%u", port);
}

static Fo__Request clusters_req(void)
{
    static Fo__ClustersReq body = FO__CLUSTERS_REQ__INIT;
    Fo__Request r = FO__REQUEST__INIT;

    r.body_case = FO__REQUEST__BODY_CLUSTERS;
    r.clusters = &body;
    return r;
}

/* ------------------------------------------------------------ the rule */

static void test_rule_table(void)
{
    static const struct {
        int rc, sent, idempotent, want;
    } cases[] = {
        {0, 1, 1, 0},               /* an answer is final */
        {0, 1, 0, 0},               /* even for a write */
        {FO_EUNREACHABLE, 0, 0, 1}, /* refused: reached nobody */
        {FO_ETIMEDOUT, 0, 0, 1},    /* no connection in time */
        {FO_EPERM, 0, 0, 1},        /* certificate refused in the handshake */
        {FO_ECLOSED, 1, 1, 1},      /* a read may be asked again */
        {FO_ECLOSED, 1, 0, 0},      /* a write may have been received: never again */
        {FO_ETIMEDOUT, 1, 0, 0},    /* waiting for the reply of a write */
        {FO_ETIMEDOUT, 1, 1, 1},    /* ... of a read */
        {FO_ENOMEM, 0, 1, 0},       /* our problem, not the controller's */
    };
    struct fo_ctl_call c;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&c, 0, sizeof(c));
        c.rc = cases[i].rc;
        c.request_sent = cases[i].sent;
        if (fo_ctl_may_try_next(&c, cases[i].idempotent) != cases[i].want) fprintf(stderr, "  case %zu\n", i);
        FO_CHECK_INT(fo_ctl_may_try_next(&c, cases[i].idempotent), cases[i].want);
    }
}

/* ------------------------------------------------------------ real sockets */

static void test_refused_then_answer(void)
{
    char list[3][FO_ADDR_LEN];
    Fo__Request req = clusters_req();
    struct fo_ctl_call c;
    struct fake ans;
    unsigned tried = 0;

    FO_CHECK_INT(fake_start(&ans, FAKE_ANSWERER), 0);
    refused_addr(list[0], sizeof(list[0]));
    refused_addr(list[1], sizeof(list[1]));
    snprintf(list[2], sizeof(list[2]), "%s", ans.addr);
    /* A write: nothing reached the refusing ones, so moving on is safe. */
    fo_ctl_call_any(&c, (const char(*)[FO_ADDR_LEN])list, 3, &req, NULL, 0, 5000, 1000, &tried);
    FO_CHECK_INT(c.rc, 0);
    FO_CHECK_INT(tried, 3);
    FO_CHECK(c.resp != NULL && c.resp->code == 0);
    FO_CHECK_STR(c.address, ans.addr);
    fo_ctl_call_free(&c);
    fake_stop(&ans);
    FO_CHECK_INT(accepted(&ans), 1);
}

static void test_all_refused_names_each(void)
{
    char list[2][FO_ADDR_LEN];
    Fo__Request req = clusters_req();
    struct fo_ctl_call c;
    unsigned tried = 0;

    refused_addr(list[0], sizeof(list[0]));
    refused_addr(list[1], sizeof(list[1]));
    fo_ctl_call_any(&c, (const char(*)[FO_ADDR_LEN])list, 2, &req, NULL, 1, 5000, 1000, &tried);
    FO_CHECK_INT(c.rc, FO_EUNREACHABLE);
    FO_CHECK_INT(tried, 2);
    FO_CHECK(strstr(c.err, list[0]) != NULL && strstr(c.err, list[1]) != NULL);
    FO_CHECK_INT(c.request_sent, 0);
    fo_ctl_call_free(&c);
}

/* A write that reached a controller which then closed: not sent to the next one; a
 * read in the same situation is. */
static void test_reached_write_not_retried(void)
{
    char list[2][FO_ADDR_LEN];
    Fo__Request req = clusters_req();
    struct fo_ctl_call c;
    struct fake closer, ans;
    unsigned tried = 0;

    FO_CHECK_INT(fake_start(&closer, FAKE_CLOSER), 0);
    FO_CHECK_INT(fake_start(&ans, FAKE_ANSWERER), 0);
    snprintf(list[0], sizeof(list[0]), "%s", closer.addr);
    snprintf(list[1], sizeof(list[1]), "%s", ans.addr);
    fo_ctl_call_any(&c, (const char(*)[FO_ADDR_LEN])list, 2, &req, NULL, 0, 5000, 1000, &tried);
    FO_CHECK_INT(c.rc, FO_ECLOSED);
    FO_CHECK_INT(c.request_sent, 1);
    FO_CHECK_INT(tried, 1);
    fo_ctl_call_free(&c);
    fake_stop(&closer);
    fake_stop(&ans);
    FO_CHECK_INT(accepted(&closer), 1);
    FO_CHECK_INT(accepted(&ans), 0); /* the second controller never saw the write */

    FO_CHECK_INT(fake_start(&closer, FAKE_CLOSER), 0);
    FO_CHECK_INT(fake_start(&ans, FAKE_ANSWERER), 0);
    snprintf(list[0], sizeof(list[0]), "%s", closer.addr);
    snprintf(list[1], sizeof(list[1]), "%s", ans.addr);
    fo_ctl_call_any(&c, (const char(*)[FO_ADDR_LEN])list, 2, &req, NULL, 1, 5000, 1000, &tried);
    FO_CHECK_INT(c.rc, 0);
    FO_CHECK_INT(tried, 2);
    fo_ctl_call_free(&c);
    fake_stop(&closer);
    fake_stop(&ans);
    FO_CHECK_INT(accepted(&ans), 1);
}

/* A controller that does not complete the TCP handshake (its accept queue is full, so
 * the kernel drops our SYN) costs the connect timeout, then the next one answers. */
static void test_connect_timeout_moves_on(void)
{
    char list[2][FO_ADDR_LEN];
    Fo__Request req = clusters_req();
    struct sockaddr_in sa;
    struct fo_ctl_call c;
    struct timespec t0, t1;
    struct fake ans;
    unsigned port = 0, tried = 0;
    int full, fillers[4], i, n = 0;
    long ms;

    full = listen_on(&port, 0);
    FO_CHECK(full >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    /* Fill the queue (backlog 0 holds one); extra connects just hang. */
    for (i = 0; i < 2; i++) {
        fillers[n] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fillers[n] >= 0) connect(fillers[n++], (struct sockaddr *)&sa, sizeof(sa));
    }
    usleep(50000);
    FO_CHECK_INT(fake_start(&ans, FAKE_ANSWERER), 0);
    snprintf(list[0], sizeof(list[0]), "127.0.0.1:%u", port);
    snprintf(list[1], sizeof(list[1]), "%s", ans.addr);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fo_ctl_call_any(&c, (const char(*)[FO_ADDR_LEN])list, 2, &req, NULL, 0, 5000, 300, &tried);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    if (c.rc != 0) fprintf(stderr, "  rc %d: %s\n", c.rc, c.err);
    FO_CHECK_INT(c.rc, 0);
    FO_CHECK_INT(tried, 2);
    /* The first controller cost about the connect timeout, not the 5 s deadline. */
    FO_CHECK(ms >= 250 && ms < 2000);
    fprintf(stderr, "  fallback after a hung connect: %ld ms (connect timeout 300 ms)\n", ms);
    fo_ctl_call_free(&c);
    fake_stop(&ans);
    for (i = 0; i < n; i++) close(fillers[i]);
    close(full);
}

FO_TEST_MAIN(FO_T(test_rule_table), FO_T(test_refused_then_answer), FO_T(test_all_refused_names_each),
             FO_T(test_reached_write_not_retried), FO_T(test_connect_timeout_moves_on))
