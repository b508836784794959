/* Unit tests for common/listener.h: the budget accounting as a table of cases, then a
 * real listener on 127.0.0.1 with mutual TLS (certificates made by deploy/gen-certs.sh)
 * against idle TCP sockets from several loopback addresses and TLS clients of two
 * roles, and the EMFILE path in a child whose RLIMIT_NOFILE is lowered. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "common/listener.h"
#include "fo_test.h"
#include "lib/testutil.h"

#define PATHLEN 1024

/* ------------------------------------------------------------------ accounting */

enum op { ADMIT, PROMOTE, RELEASE };

struct step {
    enum op op;
    unsigned same_source; /* ADMIT */
    bool trusted;         /* ADMIT */
    enum fo_listener_pool from;
    unsigned role; /* PROMOTE */
    enum fo_listener_pool want;
    enum fo_listener_refusal why; /* when want is NONE */
};

#define U FO_LISTENER_POOL_UNAUTH
#define T FO_LISTENER_POOL_TRUSTED
#define A FO_LISTENER_POOL_AUTH
#define R FO_LISTENER_POOL_RESERVED
#define NONE FO_LISTENER_POOL_NONE
#define CTL FO_TLS_ROLE_CONTROLLER
#define CLI FO_TLS_ROLE_CLIENT

static const struct {
    const char *name;
    struct fo_listener_limits lim;
    struct step steps[10];
    unsigned n;
    unsigned used[FO_LISTENER_POOL_N]; /* at the end */
} budget_cases[] = {
    {"unauth budget fills, then refuses",
     {.max_conns = 8, .max_unauth = 2, .max_unauth_per_source = 2, .handshake_ms = 1000},
     {{ADMIT, 0, false, 0, 0, U, 0},
      {ADMIT, 0, false, 0, 0, U, 0},
      {ADMIT, 0, false, 0, 0, NONE, FO_LISTENER_REFUSED_UNAUTH_FULL}},
     3,
     {[U] = 2}},
    {"per source limit before the budget",
     {.max_conns = 8, .max_unauth = 8, .max_unauth_per_source = 2, .handshake_ms = 1000},
     {{ADMIT, 1, false, 0, 0, U, 0}, {ADMIT, 2, false, 0, 0, NONE, FO_LISTENER_REFUSED_PER_SOURCE}},
     2,
     {[U] = 1}},
    {"trusted source gets its own share when unauth is full",
     {.max_conns = 8, .max_unauth = 1, .max_unauth_per_source = 1, .trusted_unauth = 1, .handshake_ms = 1000},
     {{ADMIT, 0, false, 0, 0, U, 0},
      {ADMIT, 0, true, 0, 0, T, 0},
      {ADMIT, 0, true, 0, 0, NONE, FO_LISTENER_REFUSED_UNAUTH_FULL},
      {ADMIT, 0, false, 0, 0, NONE, FO_LISTENER_REFUSED_UNAUTH_FULL}},
     4,
     {[U] = 1, [T] = 1}},
    {"trusted source past its per-source share",
     {.max_conns = 8, .max_unauth = 8, .max_unauth_per_source = 1, .trusted_unauth = 1, .handshake_ms = 1000},
     {{ADMIT, 1, true, 0, 0, T, 0}, {ADMIT, 1, false, 0, 0, NONE, FO_LISTENER_REFUSED_PER_SOURCE}},
     2,
     {[T] = 1}},
    {"promotion frees the handshake slot",
     {.max_conns = 8, .max_unauth = 1, .max_unauth_per_source = 1, .handshake_ms = 1000},
     {{ADMIT, 0, false, 0, 0, U, 0}, {PROMOTE, 0, false, U, CLI, A, 0}, {ADMIT, 0, false, 0, 0, U, 0}},
     3,
     {[U] = 1, [A] = 1}},
    {"clients fill auth; a controller still gets the reserve",
     {.max_conns = 1,
      .reserved = 1,
      .reserved_roles = CTL,
      .max_unauth = 4,
      .max_unauth_per_source = 4,
      .handshake_ms = 1000},
     {{ADMIT, 0, false, 0, 0, U, 0},
      {PROMOTE, 0, false, U, CLI, A, 0},
      {ADMIT, 0, false, 0, 0, U, 0},
      {PROMOTE, 0, false, U, CLI, NONE, FO_LISTENER_REFUSED_FULL},
      {ADMIT, 0, false, 0, 0, U, 0},
      {PROMOTE, 0, false, U, CTL, R, 0},
      {ADMIT, 0, false, 0, 0, U, 0},
      {PROMOTE, 0, false, U, CTL, NONE, FO_LISTENER_REFUSED_FULL}},
     8,
     {[A] = 1, [R] = 1}},
    {"a controller takes the reserve first, then the shared pool",
     {.max_conns = 1,
      .reserved = 1,
      .reserved_roles = CTL,
      .max_unauth = 4,
      .max_unauth_per_source = 4,
      .handshake_ms = 1000},
     {{PROMOTE, 0, false, U, CTL, R, 0}, {PROMOTE, 0, false, U, CTL, A, 0}, {RELEASE, 0, false, R, 0, NONE, 0}},
     3,
     {[A] = 1}},
    {"plain mode (role 0) never uses the reserve",
     {.max_conns = 1,
      .reserved = 4,
      .reserved_roles = CTL,
      .max_unauth = 4,
      .max_unauth_per_source = 4,
      .handshake_ms = 1000},
     {{PROMOTE, 0, false, U, 0, A, 0}, {PROMOTE, 0, false, U, 0, NONE, FO_LISTENER_REFUSED_FULL}},
     2,
     {[A] = 1}},
    {"release of an empty pool stays at zero",
     {.max_conns = 1, .max_unauth = 1, .max_unauth_per_source = 1, .handshake_ms = 1000},
     {{RELEASE, 0, false, A, 0, NONE, 0}, {RELEASE, 0, false, NONE, 0, NONE, 0}},
     2,
     {[A] = 0}},
};

static void test_budget_table(void)
{
    size_t i, k;

    for (i = 0; i < sizeof budget_cases / sizeof budget_cases[0]; i++) {
        struct fo_listener_budget b = {.lim = budget_cases[i].lim};
        bool ok = true;

        for (k = 0; k < budget_cases[i].n; k++) {
            const struct step *s = &budget_cases[i].steps[k];
            enum fo_listener_refusal why = FO_LISTENER_REFUSED_N;
            enum fo_listener_pool got = NONE;

            /* A promotion starts from a handshake slot: take it first. */
            if (s->op == PROMOTE && b.used[s->from] == 0) b.used[s->from] = 1;
            if (s->op == ADMIT) got = fo_listener_budget_admit(&b, s->same_source, s->trusted, &why);
            if (s->op == PROMOTE) got = fo_listener_budget_promote(&b, s->from, s->role, &why);
            if (s->op == RELEASE) fo_listener_budget_release(&b, s->from);
            if (got != s->want || (s->want == NONE && s->op != RELEASE && why != s->why)) {
                fprintf(stderr, "  case \"%s\" step %zu: pool %s (want %s), why %s (want %s)\n", budget_cases[i].name,
                        k, fo_listener_pool_name(got), fo_listener_pool_name(s->want), fo_listener_refusal_name(why),
                        fo_listener_refusal_name(s->why));
                ok = false;
            }
        }
        for (k = 1; k < FO_LISTENER_POOL_N; k++) {
            if (b.used[k] != budget_cases[i].used[k]) {
                fprintf(stderr, "  case \"%s\": %u in %s at the end, want %u\n", budget_cases[i].name, b.used[k],
                        fo_listener_pool_name((enum fo_listener_pool)k), budget_cases[i].used[k]);
                ok = false;
            }
        }
        FO_CHECK(ok);
    }
}

static void test_limits_check(void)
{
    static const struct fo_listener_limits bad[] = {
        {.max_conns = 0, .max_unauth = 1, .max_unauth_per_source = 1, .handshake_ms = 1},
        {.max_conns = 1, .max_unauth = 0, .max_unauth_per_source = 1, .handshake_ms = 1},
        {.max_conns = 1, .max_unauth = 2, .max_unauth_per_source = 3, .handshake_ms = 1},
        {.max_conns = 1, .max_unauth = 2, .max_unauth_per_source = 0, .handshake_ms = 1},
        {.max_conns = 1, .max_unauth = 2, .max_unauth_per_source = 1, .handshake_ms = 0},
        {.max_conns = 1, .max_unauth = 2, .max_unauth_per_source = 1, .handshake_ms = 1, .reserved_roles = 0x80},
    };
    struct fo_listener_limits good = {.max_conns = 1, .max_unauth = 2, .max_unauth_per_source = 2, .handshake_ms = 1};
    char err[FO_ERRLEN];
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) FO_CHECK_INT(fo_listener_limits_check(&bad[i], err), FO_EINVAL);
    FO_CHECK_INT(fo_listener_limits_check(&good, err), 0);
}

/* ------------------------------------------------------------------ a real listener */

struct certs {
    bool ok;
    char dir[FO_TEST_DIRLEN];
};

static void path_of(char out[PATHLEN], const char *dir, const char *file)
{
    snprintf(out, PATHLEN, "%s/%s", dir, file);
}

static bool make_certs(struct certs *c)
{
    const char *src = getenv("FO_SOURCE_DIR");
    char script[PATHLEN], log[PATHLEN];
    char *argv[] = {
        script,       "--out", c->dir, "controller:srv,127.0.0.1,node=1", "controller:peer,127.0.0.1,node=2",
        "client:cli", NULL};

    snprintf(script, sizeof script, "%s/deploy/gen-certs.sh", src != NULL && src[0] ? src : ".");
    if (access(script, X_OK) != 0) return false;
    if (fo_test_tmpdir(c->dir, sizeof c->dir, "listener") != 0) return false;
    path_of(log, c->dir, "gen.log");
    c->ok = fo_test_run_cmd(argv, log, 60000) == 0;
    return c->ok;
}

static struct fo_tls_ctx *ctx_of(const struct certs *c, const char *name, unsigned roles)
{
    char ca[PATHLEN], crt[PATHLEN], key[PATHLEN], file[64], err[FO_ERRLEN];
    struct fo_tls_ctx *ctx = NULL;

    path_of(ca, c->dir, "ca.crt");
    snprintf(file, sizeof file, "%s.crt", name);
    path_of(crt, c->dir, file);
    snprintf(file, sizeof file, "%s.key", name);
    path_of(key, c->dir, file);
    if (fo_tls_ctx_new(&ctx, ca, crt, key, roles, err) != 0) fprintf(stderr, "  %s\n", err);
    return ctx;
}

struct server {
    struct fo_listener *l;
    unsigned admitted, closed, busy, handshakes;
    bool listener_closed;
};

struct uconn {
    struct server *srv;
};

static void u_handshake(void *data, struct fo_tls_conn *c)
{
    struct uconn *u = data;

    (void)c;
    u->srv->handshakes++;
}

static void u_read(void *data, struct fo_tls_conn *c, const uint8_t *b, size_t n)
{
    (void)data, (void)c, (void)b, (void)n;
}

static void u_close(void *data, int status, const char *reason)
{
    struct uconn *u = data;

    (void)reason;
    u->srv->closed++;
    if (status == FO_EBUSY) u->srv->busy++;
    free(u);
}

static int on_admitted(void *data, struct fo_tls_conn *c, const char *peer, struct fo_tls_conn_cbs *cbs)
{
    struct server *srv = data;
    struct uconn *u = calloc(1, sizeof *u);

    (void)c, (void)peer;
    if (u == NULL) return -1;
    u->srv = srv;
    srv->admitted++;
    *cbs = (struct fo_tls_conn_cbs){u_handshake, u_read, u_close, u};
    return 0;
}

static void on_listener_closed(void *data)
{
    ((struct server *)data)->listener_closed = true;
}

/* A raw TCP connection from 127.0.0.src that says nothing (the kernel's backlog
 * completes connect() while the loop is not running). */
static int idle_from(uint16_t port, unsigned src)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) return -1;
    sa.sin_addr.s_addr = htonl(0x7f000000u | src);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) goto fail;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

static void stop_loop(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static void run_for(uv_loop_t *loop, unsigned ms)
{
    uv_timer_t t;

    uv_timer_init(loop, &t);
    uv_timer_start(&t, stop_loop, ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* One TLS client connection; closed counts the closes of its role. */
struct client {
    unsigned *closed;
    bool dead;
    struct fo_tls_conn *c;
};

static void c_read(void *data, struct fo_tls_conn *c, const uint8_t *b, size_t n)
{
    (void)data, (void)c, (void)b, (void)n;
}

static void c_close(void *data, int status, const char *reason)
{
    struct client *cl = data;

    (void)status, (void)reason;
    cl->dead = true;
    (*cl->closed)++;
}

static void dial(struct fo_tls_ctx *ctx, uv_loop_t *loop, uint16_t port, struct client *cl, unsigned *closed)
{
    struct fo_tls_conn_cbs cbs = {NULL, c_read, c_close, cl};
    struct sockaddr_in sa;
    struct fo_tls_conn *c = NULL;
    char err[FO_ERRLEN];

    cl->closed = closed;
    cl->dead = true;
    uv_ip4_addr("127.0.0.1", port, &sa);
    if (fo_tls_conn_new(ctx, loop, &cbs, &c, err) != 0) return;
    cl->dead = false;
    cl->c = c;
    if (fo_tls_conn_connect(c, (struct sockaddr *)&sa, NULL, err) != 0) fo_tls_conn_close(c);
}

static void test_listener_tls(void)
{
    struct fo_listener_limits lim = {.max_conns = 2,
                                     .reserved = 1,
                                     .reserved_roles = FO_TLS_ROLE_CONTROLLER,
                                     .max_unauth = 4,
                                     .max_unauth_per_source = 2,
                                     .trusted_unauth = 1,
                                     .handshake_ms = 400};
    static const unsigned idle_src[] = {2, 2, 2, 3, 3, 4, 5, 5};
    const char *trusted[] = {"127.0.0.5", "not an address"};
    struct fo_tls_ctx *sctx = NULL, *cli = NULL, *ctl = NULL;
    struct client conns[5];
    unsigned cli_closed = 0, ctl_closed = 0;
    struct server srv = {0};
    struct sockaddr_in sa;
    struct certs certs = {0};
    char err[FO_ERRLEN];
    int fds[8], i;
    uint16_t port;
    uv_loop_t loop;

    if (!make_certs(&certs)) {
        FO_SKIP("deploy/gen-certs.sh or openssl not usable");
        return;
    }
    sctx = ctx_of(&certs, "srv", FO_TLS_ROLE_CLIENT | FO_TLS_ROLE_CONTROLLER);
    cli = ctx_of(&certs, "cli", FO_TLS_ROLE_CONTROLLER);
    ctl = ctx_of(&certs, "peer", FO_TLS_ROLE_CONTROLLER);
    FO_CHECK(sctx != NULL && cli != NULL && ctl != NULL);
    if (sctx == NULL || cli == NULL || ctl == NULL) goto out_ctx;
    uv_loop_init(&loop);
    port = fo_test_free_port();
    uv_ip4_addr("127.0.0.1", port, &sa);
    FO_CHECK_INT(fo_listener_start(&srv.l, &loop, (struct sockaddr *)&sa, &lim, sctx, "test", on_admitted, &srv, err),
                 0);
    if (srv.l == NULL) goto out_loop;
    FO_CHECK_INT(fo_listener_set_trusted(srv.l, trusted, 2), 1);

    /* Idle sockets: 127.0.0.2 x3 (one over its share), .3 x2 (fills the budget), .4
     * (budget full), .5 x2 (trusted: one gets the trusted share, one is refused). */
    for (i = 0; i < 8; i++) {
        fds[i] = idle_from(port, idle_src[i]);
        FO_CHECK(fds[i] >= 0);
        run_for(&loop, 30); /* in order: each is accepted before the next */
    }
    FO_CHECK_INT(fo_listener_in_use(srv.l, FO_LISTENER_POOL_UNAUTH), 4);
    FO_CHECK_INT(fo_listener_in_use(srv.l, FO_LISTENER_POOL_TRUSTED), 1);
    FO_CHECK_INT(fo_listener_refused(srv.l, FO_LISTENER_REFUSED_PER_SOURCE), 1);
    FO_CHECK_INT(fo_listener_refused(srv.l, FO_LISTENER_REFUSED_UNAUTH_FULL), 2);
    FO_CHECK_INT(srv.admitted, 5);

    /* The handshake deadline drops all five. */
    run_for(&loop, 700);
    FO_CHECK_INT(fo_listener_refused(srv.l, FO_LISTENER_REFUSED_TIMEOUT), 5);
    FO_CHECK_INT(fo_listener_in_use(srv.l, FO_LISTENER_POOL_UNAUTH), 0);
    FO_CHECK_INT(fo_listener_in_use(srv.l, FO_LISTENER_POOL_TRUSTED), 0);
    for (i = 0; i < 8; i++)
        if (fds[i] >= 0) close(fds[i]);

    /* Authenticated: a controller takes the reserve, two clients the shared pool, a
     * third client and a second controller find everything full. */
    dial(ctl, &loop, port, &conns[0], &ctl_closed);
    run_for(&loop, 300);
    dial(cli, &loop, port, &conns[1], &cli_closed);
    dial(cli, &loop, port, &conns[2], &cli_closed);
    run_for(&loop, 300);
    dial(cli, &loop, port, &conns[3], &cli_closed);
    run_for(&loop, 300);
    dial(ctl, &loop, port, &conns[4], &ctl_closed);
    run_for(&loop, 300);
    FO_CHECK_INT(fo_listener_in_use(srv.l, FO_LISTENER_POOL_RESERVED), 1);
    FO_CHECK_INT(fo_listener_in_use(srv.l, FO_LISTENER_POOL_AUTH), 2);
    FO_CHECK_INT(fo_listener_refused(srv.l, FO_LISTENER_REFUSED_FULL), 2);
    FO_CHECK_INT(srv.busy, 2);       /* the user heard FO_EBUSY for those two */
    FO_CHECK_INT(srv.handshakes, 3); /* and never their handshake */
    FO_CHECK_INT(cli_closed, 1);     /* the refused ones were closed by the server */
    FO_CHECK_INT(ctl_closed, 1);
    FO_CHECK(conns[3].dead && conns[4].dead && !conns[0].dead);

    /* The budgets show in /metrics. */
    {
        struct fo_buf b;
        fo_buf_init(&b);
        fo_listener_metrics(srv.l, &b, "x");
        FO_CHECK(b.p != NULL && strstr(b.p, "x_conn_refused_total{reason=\"handshake_timeout\"} 5") != NULL);
        FO_CHECK(b.p != NULL && strstr(b.p, "x_connections{pool=\"reserved\"} 1") != NULL);
        fo_buf_free(&b);
    }

    for (i = 0; i < 5; i++)
        if (!conns[i].dead) fo_tls_conn_close(conns[i].c);
    fo_listener_stop(srv.l, on_listener_closed, &srv);
    run_for(&loop, 300);
    FO_CHECK(srv.listener_closed);
    FO_CHECK_INT(srv.closed, srv.admitted);
out_loop:
    uv_run(&loop, UV_RUN_NOWAIT);
    FO_CHECK_INT(uv_loop_close(&loop), 0);
out_ctx:
    fo_tls_ctx_free(sctx);
    fo_tls_ctx_free(cli);
    fo_tls_ctx_free(ctl);
    fo_test_tmpdir_remove(certs.dir);
}

/* ------------------------------------------------------------------ EMFILE */

/* Child: a plain listener under an open-file limit a few fds above what it holds;
 * writes fd_limit's count to wfd once the parent's connections have come in. */
static void emfile_child(int wfd, uint16_t port)
{
    struct fo_listener_limits lim = {
        .max_conns = 100, .max_unauth = 100, .max_unauth_per_source = 100, .handshake_ms = 1000};
    struct fo_tls_ctx *ctx = NULL;
    struct server srv = {0};
    struct sockaddr_in sa;
    struct rlimit r;
    char err[FO_ERRLEN];
    uint64_t n;
    uv_loop_t loop;
    int fd, maxfd = 0;

    uv_loop_init(&loop);
    fo_tls_ctx_new_plain(&ctx, err);
    uv_ip4_addr("127.0.0.1", port, &sa);
    if (fo_listener_start(&srv.l, &loop, (struct sockaddr *)&sa, &lim, ctx, "emfile", on_admitted, &srv, err) != 0)
        _exit(2);
    for (fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1) maxfd = fd;
    /* Fill the gaps below the highest fd (inherited ones may sit high), so that the
     * limit leaves exactly three free. */
    while ((fd = open("/dev/null", O_RDONLY)) >= 0 && fd < maxfd) {
    }
    if (fd > maxfd) maxfd = fd;
    r.rlim_cur = r.rlim_max = (rlim_t)maxfd + 1 + 3; /* room for three connections */
    if (setrlimit(RLIMIT_NOFILE, &r) != 0) _exit(3);
    if (write(wfd, "r", 1) != 1) _exit(4);
    run_for(&loop, 1500);
    n = fo_listener_refused(srv.l, FO_LISTENER_REFUSED_FD_LIMIT);
    if (write(wfd, &n, sizeof n) != (ssize_t)sizeof n) _exit(5);
    _exit(0);
}

static void test_emfile(void)
{
    uint16_t port = fo_test_free_port();
    int p[2], fds[12], i, status, dropped = 0;
    struct timeval tv = {2, 0};
    uint64_t n = 0;
    char ready, byte;
    pid_t pid;

    FO_CHECK_INT(pipe(p), 0);
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        emfile_child(p[1], port);
    }
    close(p[1]);
    FO_CHECK_INT(read(p[0], &ready, 1), 1);
    for (i = 0; i < 12; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (connect(fds[i], (struct sockaddr *)&sa, sizeof sa) != 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
    FO_CHECK_INT(read(p[0], &n, sizeof n), (long long)sizeof n);
    FO_CHECK(n >= 1); /* counted */
    /* The connections beyond the limit were accepted and closed at once, not left
     * hanging in the backlog. */
    for (i = 0; i < 12; i++) {
        if (fds[i] < 0) continue;
        if (recv(fds[i], &byte, 1, MSG_DONTWAIT) == 0 || errno == ECONNRESET) dropped++;
        close(fds[i]);
    }
    FO_CHECK(dropped >= 1);
    close(p[0]);
    FO_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

FO_TEST_MAIN(FO_T(test_budget_table), FO_T(test_limits_check), FO_T(test_listener_tls), FO_T(test_emfile))
