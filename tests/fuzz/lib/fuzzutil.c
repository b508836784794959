/* tests/fuzz helpers: contract in fuzzutil.h. */
#include "fuzzutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/frame.h"

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int fuzz_private_netns(void)
{
    struct ifreq ifr;
    int fd, rc;

    if (unshare(CLONE_NEWNET) != 0) return -1;
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return -1;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    close(fd);
    return rc == 0 ? 0 : -1;
}

uint16_t fuzz_free_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    uint16_t port = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) return 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static char temp_dir[512];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_temp_dir(void)
{
    if (temp_dir[0] != '\0') nftw(temp_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int fuzz_temp_dir(char *dir, size_t len, const char *what)
{
    if (temp_dir[0] != '\0') return -1; /* one per process */
    snprintf(dir, len, "%s/fo-fuzz-%s.XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", what);
    if (mkdtemp(dir) == NULL) return -1;
    snprintf(temp_dir, sizeof temp_dir, "%s", dir);
    atexit(remove_temp_dir);
    return 0;
}

int fuzz_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int rc;

    if (f == NULL) return -1;
    rc = fputs(text, f) < 0 ? -1 : 0;
    if (fclose(f) != 0) rc = -1;
    return rc;
}

void fuzz_loop_spin(uv_loop_t *loop, unsigned ms)
{
    uint64_t end = now_ms() + ms;

    do {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(200);
    } while (now_ms() < end);
}

void fuzz_peer_init(struct fuzz_peer *p, uv_loop_t *loop, uint16_t port)
{
    memset(p, 0, sizeof *p);
    p->loop = loop;
    p->port = port;
    p->fd = -1;
}

void fuzz_peer_close(struct fuzz_peer *p)
{
    if (p->fd >= 0) close(p->fd);
    p->fd = -1;
    p->len = 0;
}

void fuzz_peer_destroy(struct fuzz_peer *p)
{
    fuzz_peer_close(p);
    free(p->buf);
    p->buf = NULL;
    p->cap = 0;
    p->resp = NULL;
}

/* Non-blocking connect, completed while the server's loop turns. */
static int peer_connect(struct fuzz_peer *p, uint64_t deadline)
{
    struct sockaddr_in a;
    int one = 1, err;
    socklen_t elen = sizeof err;

    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) return -1;
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(p->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(p->fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) goto fail;
    for (;;) {
        fd_set w;
        struct timeval tv = {0, 0};
        FD_ZERO(&w);
        FD_SET(p->fd, &w);
        uv_run(p->loop, UV_RUN_NOWAIT);
        if (select(p->fd + 1, NULL, &w, NULL, &tv) > 0) break;
        if (now_ms() > deadline) goto fail;
    }
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) goto fail;
    p->len = 0;
    p->reconnects++;
    /* Let the server accept and register the connection before the first request. */
    uv_run(p->loop, UV_RUN_NOWAIT);
    return 0;
fail:
    close(p->fd);
    p->fd = -1;
    return -1;
}

static int write_all(struct fuzz_peer *p, const uint8_t *b, size_t n, uint64_t deadline)
{
    ssize_t w;

    while (n > 0) {
        w = send(p->fd, b, n, MSG_NOSIGNAL);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return 0; /* closed */
        uv_run(p->loop, UV_RUN_NOWAIT);
        if (now_ms() > deadline) return -1;
    }
    return 1;
}

/* 1 if a whole response frame is buffered (p->resp set), else 0. */
static int have_frame(struct fuzz_peer *p)
{
    uint32_t len;

    if (p->len < FO_FRAME_HDR) return 0;
    len = (uint32_t)p->buf[4] << 24 | (uint32_t)p->buf[5] << 16 | (uint32_t)p->buf[6] << 8 | p->buf[7];
    if (p->len - FO_FRAME_HDR < len) return 0;
    p->resp = p->buf + FO_FRAME_HDR;
    p->resp_len = len;
    return 1;
}

static void drop_frame(struct fuzz_peer *p)
{
    size_t total = FO_FRAME_HDR + p->resp_len;

    memmove(p->buf, p->buf + total, p->len - total);
    p->len -= total;
    p->resp = NULL;
    p->resp_len = 0;
}

int fuzz_peer_call(struct fuzz_peer *p, const void *bytes, size_t n, unsigned timeout_ms)
{
    uint64_t deadline = now_ms() + timeout_ms;
    ssize_t r;
    int rc;

    if (p->resp != NULL) drop_frame(p);
    if (p->fd < 0 && peer_connect(p, deadline) != 0) return -1;
    rc = write_all(p, bytes, n, deadline);
    if (rc <= 0) {
        fuzz_peer_close(p);
        return rc;
    }
    for (;;) {
        if (have_frame(p)) return 1;
        if (p->cap - p->len < 4096) {
            size_t ncap = p->cap ? p->cap * 2 : 65536;
            uint8_t *nb = realloc(p->buf, ncap);
            if (nb == NULL) abort();
            p->buf = nb;
            p->cap = ncap;
        }
        r = recv(p->fd, p->buf + p->len, p->cap - p->len, 0);
        if (r > 0) {
            p->len += (size_t)r;
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            fuzz_peer_close(p);
            return 0;
        }
        uv_run(p->loop, UV_RUN_NOWAIT);
        if (now_ms() > deadline) {
            fuzz_peer_close(p);
            return -1;
        }
    }
}
