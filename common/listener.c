/* Connection budgets for a TLS (or plain) listener: see listener.h for the contract.
 *
 * The listener sits between the TCP listening handle and each fo_tls_conn: it makes
 * the connection with its own callbacks, so that it sees the handshake (promotion to an
 * authenticated pool) and the close (release), and passes everything on to the
 * callbacks its user gave for that connection. */
#include "common/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/prom.h"

#define PEER_LEN 64
#define LOG_EVERY_MS 1000
#define FD_MARGIN 64 /* fds a process needs besides one listener's connections */
#define ACCEPT_BATCH 64
#define BACKLOG 128

static const char *const refusal_names[FO_LISTENER_REFUSED_N] = {
    [FO_LISTENER_REFUSED_UNAUTH_FULL] = "unauth_full",
    [FO_LISTENER_REFUSED_PER_SOURCE] = "per_source",
    [FO_LISTENER_REFUSED_FULL] = "full",
    [FO_LISTENER_REFUSED_HANDSHAKE] = "handshake",
    [FO_LISTENER_REFUSED_TIMEOUT] = "handshake_timeout",
    [FO_LISTENER_REFUSED_FD_LIMIT] = "fd_limit",
    [FO_LISTENER_REFUSED_ACCEPT_ERROR] = "accept_error",
};

static const char *const pool_names[FO_LISTENER_POOL_N] = {
    [FO_LISTENER_POOL_NONE] = "none", [FO_LISTENER_POOL_UNAUTH] = "unauth",     [FO_LISTENER_POOL_TRUSTED] = "trusted",
    [FO_LISTENER_POOL_AUTH] = "auth", [FO_LISTENER_POOL_RESERVED] = "reserved",
};

const char *fo_listener_refusal_name(enum fo_listener_refusal r)
{
    return (unsigned)r < FO_LISTENER_REFUSED_N ? refusal_names[r] : "unknown";
}

const char *fo_listener_pool_name(enum fo_listener_pool p)
{
    return (unsigned)p < FO_LISTENER_POOL_N ? pool_names[p] : "unknown";
}

int fo_listener_limits_check(const struct fo_listener_limits *l, char err[FO_ERRLEN])
{
    if (l->max_conns < 1) return fo_errf(err, FO_EINVAL, "listener: max_conns must be at least 1");
    if (l->max_unauth < 1) return fo_errf(err, FO_EINVAL, "listener: max_unauth must be at least 1");
    if (l->max_unauth_per_source < 1 || l->max_unauth_per_source > l->max_unauth)
        return fo_errf(err, FO_EINVAL, "listener: max_unauth_per_source %u is not within 1..max_unauth (%u)",
                       l->max_unauth_per_source, l->max_unauth);
    if (l->handshake_ms < 1 || l->handshake_ms > FO_TLS_MAX_HANDSHAKE_MS)
        return fo_errf(err, FO_EINVAL, "listener: handshake_ms %u is not within 1..%u", l->handshake_ms,
                       FO_TLS_MAX_HANDSHAKE_MS);
    if ((l->reserved_roles & ~FO_TLS_ROLE_ALL) != 0)
        return fo_errf(err, FO_EINVAL, "listener: reserved_roles 0x%x are not a set of roles", l->reserved_roles);
    return 0;
}

/* ------------------------------------------------------------------ accounting */

static bool has_room(const struct fo_listener_budget *b, enum fo_listener_pool p)
{
    unsigned cap = 0;

    switch (p) {
    case FO_LISTENER_POOL_UNAUTH: cap = b->lim.max_unauth; break;
    case FO_LISTENER_POOL_TRUSTED: cap = b->lim.trusted_unauth; break;
    case FO_LISTENER_POOL_AUTH: cap = b->lim.max_conns; break;
    case FO_LISTENER_POOL_RESERVED: cap = b->lim.reserved; break;
    default: return false;
    }
    return b->used[p] < cap;
}

static enum fo_listener_pool take(struct fo_listener_budget *b, enum fo_listener_pool p)
{
    b->used[p]++;
    return p;
}

enum fo_listener_pool fo_listener_budget_admit(struct fo_listener_budget *b, unsigned same_source, bool trusted,
                                               enum fo_listener_refusal *why)
{
    bool source_ok = same_source < b->lim.max_unauth_per_source;

    if (source_ok && has_room(b, FO_LISTENER_POOL_UNAUTH)) return take(b, FO_LISTENER_POOL_UNAUTH);
    /* A trusted address is a peer whose connections must get through a flood of
     * strangers: it has a share of its own, which its own traffic alone can fill. */
    if (trusted && has_room(b, FO_LISTENER_POOL_TRUSTED)) return take(b, FO_LISTENER_POOL_TRUSTED);
    *why = source_ok ? FO_LISTENER_REFUSED_UNAUTH_FULL : FO_LISTENER_REFUSED_PER_SOURCE;
    return FO_LISTENER_POOL_NONE;
}

enum fo_listener_pool fo_listener_budget_promote(struct fo_listener_budget *b, enum fo_listener_pool from,
                                                 unsigned role, enum fo_listener_refusal *why)
{
    bool reserved_role = role != 0 && (role & b->lim.reserved_roles) != 0;

    fo_listener_budget_release(b, from);
    /* A reserved role takes the reserve first, so that the shared pool stays for the
     * others, and falls back to the shared one when its reserve is used up. */
    if (reserved_role && has_room(b, FO_LISTENER_POOL_RESERVED)) return take(b, FO_LISTENER_POOL_RESERVED);
    if (has_room(b, FO_LISTENER_POOL_AUTH)) return take(b, FO_LISTENER_POOL_AUTH);
    *why = FO_LISTENER_REFUSED_FULL;
    return FO_LISTENER_POOL_NONE;
}

void fo_listener_budget_release(struct fo_listener_budget *b, enum fo_listener_pool pool)
{
    if (pool == FO_LISTENER_POOL_NONE || (unsigned)pool >= FO_LISTENER_POOL_N || b->used[pool] == 0) return;
    b->used[pool]--;
}

/* ------------------------------------------------------------------ the listener */

struct slot {
    struct slot *next, *prev;
    struct fo_listener *l;
    struct fo_tls_conn *tls;
    struct fo_tls_conn_cbs user; /* valid once has_user */
    bool has_user;
    bool refused; /* refused by a budget after admission: the user hears FO_EBUSY */
    enum fo_listener_pool pool;
    struct in6_addr src; /* the peer's address, IPv4 as v4-mapped */
    char peer[PEER_LEN];
};

struct fo_listener {
    uv_loop_t *loop;
    int lfd;          /* the listening socket: accepted by us, see on_readable */
    uv_poll_t poll;   /* readable when connections are pending */
    int reserve_fd;   /* given up for a moment on EMFILE/ENFILE, to accept and drop */
    unsigned handles; /* the poll: open until its close callback */
    struct fo_tls_ctx *ctx;
    const char *name;
    fo_listener_conn_cb cb;
    void *data;
    struct fo_listener_budget b;
    uint64_t refused[FO_LISTENER_REFUSED_N];
    uint64_t unlogged[FO_LISTENER_REFUSED_N];
    uint64_t logged_ms[FO_LISTENER_REFUSED_N];
    struct slot *slots;
    unsigned n_slots;
    struct in6_addr trusted[FO_LISTENER_MAX_TRUSTED];
    unsigned n_trusted;
    bool stopping;
    fo_listener_closed_cb closed_cb;
    void *closed_data;
};

static void maybe_free(struct fo_listener *l)
{
    fo_listener_closed_cb cb;
    void *data;

    if (!l->stopping || l->handles != 0 || l->n_slots != 0) return;
    cb = l->closed_cb;
    data = l->closed_data;
    free(l);
    if (cb != NULL) cb(data);
}

static void handle_closed(uv_handle_t *h)
{
    struct fo_listener *l = h->data;

    if (l->lfd >= 0) close(l->lfd);
    if (l->reserve_fd >= 0) close(l->reserve_fd);
    l->handles--;
    maybe_free(l);
}

/* Counts a refusal and logs it, at most once a second per reason: a flood must not
 * flood the log (nor fill the disk) as well. */
static void refuse(struct fo_listener *l, enum fo_listener_refusal why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(struct fo_listener *l, enum fo_listener_refusal why, const char *fmt, ...)
{
    uint64_t now = uv_now(l->loop);
    char msg[FO_ERRLEN];
    va_list ap;

    l->refused[why]++;
    if (l->logged_ms[why] != 0 && now - l->logged_ms[why] < LOG_EVERY_MS) {
        l->unlogged[why]++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (l->unlogged[why] > 0)
        FO_WARN(l->name, "%s [%s] (and %llu more like it since the last report)", msg, refusal_names[why],
                (unsigned long long)l->unlogged[why]);
    else
        FO_WARN(l->name, "%s [%s]", msg, refusal_names[why]);
    l->logged_ms[why] = now ? now : 1;
    l->unlogged[why] = 0;
}

static void slot_unlink(struct slot *s)
{
    struct fo_listener *l = s->l;

    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        l->slots = s->next;
    if (s->next != NULL) s->next->prev = s->prev;
    l->n_slots--;
}

static bool handshaking(enum fo_listener_pool p)
{
    return p == FO_LISTENER_POOL_UNAUTH || p == FO_LISTENER_POOL_TRUSTED;
}

/* ---- the connection's callbacks, passed on to the user's */

static void s_handshake(void *data, struct fo_tls_conn *c)
{
    struct slot *s = data;
    struct fo_listener *l = s->l;
    enum fo_listener_refusal why = FO_LISTENER_REFUSED_FULL;
    unsigned role = fo_tls_conn_peer_role(c);

    if (handshaking(s->pool)) {
        s->pool = fo_listener_budget_promote(&l->b, s->pool, role, &why);
        if (s->pool == FO_LISTENER_POOL_NONE) {
            s->refused = true;
            refuse(l, why, "refusing %s (%s %s): %u authenticated connections in use", s->peer,
                   role ? fo_tls_role_name(role) : "plain", fo_tls_conn_peer_cn(c),
                   l->b.used[FO_LISTENER_POOL_AUTH] + l->b.used[FO_LISTENER_POOL_RESERVED]);
            fo_tls_conn_close(c);
            return;
        }
    }
    if (s->has_user && s->user.on_handshake != NULL) s->user.on_handshake(s->user.data, c);
}

static void s_read(void *data, struct fo_tls_conn *c, const uint8_t *bytes, size_t n)
{
    struct slot *s = data;

    if (s->has_user && !s->refused) s->user.on_read(s->user.data, c, bytes, n);
}

/* A connection that ends in its handshake is a refusal of the peer (or a timeout). */
static void count_handshake_end(struct fo_listener *l, const struct slot *s, int status, const char *reason)
{
    if (status == FO_ETIMEDOUT)
        refuse(l, FO_LISTENER_REFUSED_TIMEOUT, "dropped %s: %s", s->peer, reason);
    else if (status == FO_EPERM || status == FO_EPROTO || status == FO_ECLOSED || status == FO_EIO)
        refuse(l, FO_LISTENER_REFUSED_HANDSHAKE, "handshake with %s failed: %s", s->peer, reason);
}

static void s_close(void *data, int status, const char *reason)
{
    struct slot *s = data;
    struct fo_listener *l = s->l;
    struct fo_tls_conn_cbs user = s->user;
    bool has_user = s->has_user, refused = s->refused;
    char why[FO_ERRLEN];

    if (handshaking(s->pool)) count_handshake_end(l, s, status, reason);
    fo_listener_budget_release(&l->b, s->pool);
    if (refused) snprintf(why, sizeof why, "refused %s: the authenticated connection budget is full", s->peer);
    slot_unlink(s);
    free(s);
    if (has_user) user.on_close(user.data, refused ? FO_EBUSY : status, refused ? why : reason);
    maybe_free(l);
}

/* ---- accepting */

static void source_of(const struct sockaddr_storage *ss, struct in6_addr *src, char peer[PEER_LEN])
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    memset(src, 0, sizeof *src);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        src->s6_addr[10] = src->s6_addr[11] = 0xff;
        memcpy(&src->s6_addr[12], &in->sin_addr, 4);
        uv_ip4_name(in, ip, sizeof ip);
        port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        *src = in6->sin6_addr;
        uv_ip6_name(in6, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
    }
    snprintf(peer, PEER_LEN, "%s:%u", ip, port);
}

static unsigned unauth_from(const struct fo_listener *l, const struct in6_addr *src)
{
    const struct slot *s;
    unsigned n = 0;

    for (s = l->slots; s != NULL; s = s->next)
        if (s->pool == FO_LISTENER_POOL_UNAUTH && memcmp(&s->src, src, sizeof *src) == 0) n++;
    return n;
}

static bool is_trusted(const struct fo_listener *l, const struct in6_addr *src)
{
    unsigned i;

    for (i = 0; i < l->n_trusted; i++)
        if (memcmp(&l->trusted[i], src, sizeof *src) == 0) return true;
    return false;
}

/* A socket just accepted from ss: the budget decides first (a refusal costs a close
 * and nothing else), then the connection is made and handed to the user. */
static void take_socket(struct fo_listener *l, int fd, const struct sockaddr_storage *ss)
{
    struct fo_tls_conn_cbs cbs = {s_handshake, s_read, s_close, NULL};
    enum fo_listener_refusal why = FO_LISTENER_REFUSED_UNAUTH_FULL;
    char err[FO_ERRLEN];
    struct slot *s;

    if ((s = calloc(1, sizeof *s)) == NULL) {
        close(fd);
        refuse(l, FO_LISTENER_REFUSED_ACCEPT_ERROR, "accept: out of memory");
        return;
    }
    s->l = l;
    source_of(ss, &s->src, s->peer);
    s->pool = fo_listener_budget_admit(&l->b, unauth_from(l, &s->src), is_trusted(l, &s->src), &why);
    if (s->pool == FO_LISTENER_POOL_NONE) {
        refuse(l, why, "refusing %s: %u connections in their handshake (%u from that address)", s->peer,
               l->b.used[FO_LISTENER_POOL_UNAUTH] + l->b.used[FO_LISTENER_POOL_TRUSTED], unauth_from(l, &s->src));
        close(fd);
        free(s);
        return;
    }
    cbs.data = s;
    if (fo_tls_conn_new(l->ctx, l->loop, &cbs, &s->tls, err) != 0) {
        fo_listener_budget_release(&l->b, s->pool);
        free(s);
        close(fd);
        refuse(l, FO_LISTENER_REFUSED_ACCEPT_ERROR, "accept: %s", err);
        return;
    }
    s->next = l->slots;
    if (l->slots != NULL) l->slots->prev = s;
    l->slots = s;
    l->n_slots++;
    /* From here s_close releases the slot, whatever happens. */
    if (fo_tls_conn_accept_fd(s->tls, fd, err) != 0) {
        refuse(l, FO_LISTENER_REFUSED_ACCEPT_ERROR, "%s", err);
        fo_tls_conn_close(s->tls);
        return;
    }
    if (l->cb(l->data, s->tls, s->peer, &s->user) != 0) {
        refuse(l, FO_LISTENER_REFUSED_ACCEPT_ERROR, "cannot take the connection from %s", s->peer);
        fo_tls_conn_close(s->tls);
        return;
    }
    s->has_user = true;
}

/* Out of fds: give up the reserved one, accept and close everything pending (the
 * peers see a close, not a hang in the backlog), take the reserve back. Without this
 * the pending connections would keep the socket readable and the loop spinning. */
static void drop_all(struct fo_listener *l, int err_no)
{
    unsigned dropped = 0;
    int fd;

    if (l->reserve_fd >= 0) close(l->reserve_fd);
    l->reserve_fd = -1;
    while ((fd = accept4(l->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0 || errno == EINTR || errno == ECONNABORTED) {
        if (fd >= 0) {
            close(fd);
            dropped++;
        }
    }
    l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    /* One count per connection dropped; the log line below counts one more. */
    l->refused[FO_LISTENER_REFUSED_FD_LIMIT] += dropped > 1 ? dropped - 1 : 0;
    refuse(l, FO_LISTENER_REFUSED_FD_LIMIT, "accept: %s: %u pending connection(s) dropped", strerror(err_no), dropped);
}

/* Accepts what is pending, a bounded batch per wake-up so that a flood cannot keep the
 * loop from everything else. */
static void on_readable(uv_poll_t *p, int status, int events)
{
    struct fo_listener *l = p->data;
    struct sockaddr_storage ss;
    socklen_t len;
    unsigned i;
    int fd;

    (void)events;
    if (status < 0 || l->stopping) return;
    for (i = 0; i < ACCEPT_BATCH; i++) {
        len = sizeof ss;
        fd = accept4(l->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            take_socket(l, fd, &ss);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EMFILE || errno == ENFILE)
            drop_all(l, errno);
        else
            refuse(l, FO_LISTENER_REFUSED_ACCEPT_ERROR, "accept: %s", strerror(errno));
        return;
    }
}

/* ------------------------------------------------------------------ start / stop */

static void check_fd_room(const struct fo_listener *l)
{
    const struct fo_listener_limits *m = &l->b.lim;
    unsigned long long need = (unsigned long long)m->max_conns + m->reserved + m->max_unauth + m->trusted_unauth;
    struct rlimit r;

    if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return;
    if (need + FD_MARGIN > r.rlim_cur)
        FO_WARN(l->name,
                "the connection budgets (%llu connections) do not fit under the open-file limit (%llu) with room for "
                "the rest of the process: raise LimitNOFILE or lower the budgets",
                need, (unsigned long long)r.rlim_cur);
}

/* The listening socket (non-blocking: accepted in on_readable) and the reserved fd. */
static int open_socket(struct fo_listener *l, const struct sockaddr *addr, char *err)
{
    socklen_t len = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int one = 1, e;

    l->lfd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->lfd < 0) return fo_errf(err, FO_EIO, "%s: socket: %s", l->name, strerror(errno));
    setsockopt(l->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l->lfd, addr, len) != 0 || listen(l->lfd, BACKLOG) != 0) {
        e = errno;
        close(l->lfd);
        return fo_errf(err, FO_EIO, "%s: listen: %s", l->name, strerror(e));
    }
    l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (l->reserve_fd < 0) {
        e = errno;
        close(l->lfd);
        return fo_errf(err, FO_EIO, "%s: cannot reserve an fd: %s", l->name, strerror(e));
    }
    return 0;
}

int fo_listener_start(struct fo_listener **out, uv_loop_t *loop, const struct sockaddr *addr,
                      const struct fo_listener_limits *lim, struct fo_tls_ctx *ctx, const char *name,
                      fo_listener_conn_cb cb, void *data, char err[FO_ERRLEN])
{
    struct fo_listener *l;
    int rc;

    *out = NULL;
    if ((rc = fo_listener_limits_check(lim, err)) != 0) return rc;
    if (fo_tls_ctx_set_handshake_timeout(ctx, lim->handshake_ms) != 0)
        return fo_errf(err, FO_EINVAL, "listener: bad handshake timeout %u ms", lim->handshake_ms);
    if ((l = calloc(1, sizeof *l)) == NULL) return fo_errf(err, FO_ENOMEM, "listener: out of memory");
    l->loop = loop;
    l->ctx = ctx;
    l->name = name;
    l->cb = cb;
    l->data = data;
    l->b.lim = *lim;
    if ((rc = open_socket(l, addr, err)) != 0) {
        free(l);
        return rc;
    }
    l->poll.data = l;
    l->handles = 1;
    if ((rc = uv_poll_init_socket(loop, &l->poll, l->lfd)) != 0) {
        close(l->lfd);
        close(l->reserve_fd);
        free(l);
        return fo_errf(err, FO_EIO, "%s: cannot watch the listening socket: %s", name, uv_strerror(rc));
    }
    if ((rc = uv_poll_start(&l->poll, UV_READABLE, on_readable)) != 0) {
        fo_errf(err, FO_EIO, "%s: cannot watch the listening socket: %s", name, uv_strerror(rc));
        l->stopping = true; /* freed by the close callback; nobody is told */
        uv_close((uv_handle_t *)&l->poll, handle_closed);
        return FO_EIO;
    }
    check_fd_room(l);
    *out = l;
    return 0;
}

unsigned fo_listener_set_trusted(struct fo_listener *l, const char *const *ips, unsigned n)
{
    struct in_addr v4;
    unsigned i;

    l->n_trusted = 0;
    for (i = 0; i < n && l->n_trusted < FO_LISTENER_MAX_TRUSTED; i++) {
        struct in6_addr *a = &l->trusted[l->n_trusted];
        if (ips[i] == NULL) continue;
        memset(a, 0, sizeof *a);
        if (inet_pton(AF_INET, ips[i], &v4) == 1) {
            a->s6_addr[10] = a->s6_addr[11] = 0xff;
            memcpy(&a->s6_addr[12], &v4, 4);
        } else if (inet_pton(AF_INET6, ips[i], a) != 1) {
            continue;
        }
        l->n_trusted++;
    }
    return l->n_trusted;
}

void fo_listener_stop(struct fo_listener *l, fo_listener_closed_cb closed_cb, void *data)
{
    struct slot *s;

    l->stopping = true;
    l->closed_cb = closed_cb;
    l->closed_data = data;
    /* Stopped, the poll has left libuv's epoll set, so the socket can be closed at
     * once: the port is free when this returns (a restart may bind it again). */
    uv_poll_stop(&l->poll);
    close(l->lfd);
    l->lfd = -1;
    uv_close((uv_handle_t *)&l->poll, handle_closed);
    /* Closing is asynchronous: no callback runs inside this loop. */
    for (s = l->slots; s != NULL; s = s->next) fo_tls_conn_close(s->tls);
    maybe_free(l);
}

uint64_t fo_listener_refused(const struct fo_listener *l, enum fo_listener_refusal why)
{
    return (unsigned)why < FO_LISTENER_REFUSED_N ? l->refused[why] : 0;
}

unsigned fo_listener_in_use(const struct fo_listener *l, enum fo_listener_pool pool)
{
    return (unsigned)pool < FO_LISTENER_POOL_N ? l->b.used[pool] : 0;
}

void fo_listener_metrics(const struct fo_listener *l, struct fo_buf *b, const char *prefix)
{
    char name[128];
    struct fo_prom_label lab;
    unsigned i;

    snprintf(name, sizeof name, "%s_conn_refused_total", prefix);
    fo_prom_family(b, name, "counter",
                   "Connections refused or dropped by the listener's budgets: unauth_full, per_source (handshake "
                   "budget), full (authenticated budget), handshake (not authenticated), handshake_timeout, fd_limit "
                   "(EMFILE/ENFILE), accept_error.");
    for (i = 0; i < FO_LISTENER_REFUSED_N; i++) {
        lab = (struct fo_prom_label){"reason", refusal_names[i]};
        fo_prom_value(b, name, &lab, 1, l != NULL ? (double)l->refused[i] : 0);
    }
    snprintf(name, sizeof name, "%s_connections", prefix);
    fo_prom_family(b, name, "gauge",
                   "Open connections by pool: unauth and trusted (handshake in progress), auth, reserved (controller "
                   "certificates beyond the shared budget).");
    for (i = FO_LISTENER_POOL_UNAUTH; i < FO_LISTENER_POOL_N; i++) {
        lab = (struct fo_prom_label){"pool", pool_names[i]};
        fo_prom_value(b, name, &lab, 1, l != NULL ? (double)l->b.used[i] : 0);
    }
}
