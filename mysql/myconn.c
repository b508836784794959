/* A Connector/C non-blocking connection on libuv (see mysql/myconn.h). Every
 * operation is a *_start call followed by *_cont calls, each returning either 0
 * (done) or the MYSQL_WAIT_* set Connector/C waits for; settle() turns that into a
 * poll / timer wait or the callback, so each operation is two lines here.
 *
 * Security (DESIGN.md §10): every connection is restricted to the authentication
 * plugins of fo_mysql_auth_plugins(), so a server (or a man in the middle) that asks
 * for mysql_clear_password or dialog gets nothing. TLS follows common/config.h's
 * ssl_mode. Connector/C 3.3 (Debian 12) treats MYSQL_OPT_SSL_ENFORCE as "use TLS if
 * the server offers it" and refuses a server without TLS only when it also verifies
 * the certificate's host, so for the other required modes this file reads the
 * server's greeting itself (MSG_PEEK, before Connector/C answers it) and refuses a
 * server that does not offer TLS; a connected session without a cipher is refused
 * again afterwards. */
#include "mysql/myconn.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errmsg.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/text.h"

#define ERRTEXT 256
#define CLIENT_SSL_FLAG 0x800u /* CLIENT_SSL in the greeting's capability flags */

/* What Connector/C is working on. A query is sent (OP_SEND), then the socket is
 * watched until the reply arrives (OP_AWAIT: Connector/C is not involved), and only
 * then is the reply read (OP_QUERY). mysql_real_query would try to read at once and
 * find nothing there: one recv that fails with EAGAIN per query, half of the recv
 * calls of a probe (issue 12). */
enum op { OP_NONE, OP_RESOLVE, OP_CONNECT, OP_SEND, OP_AWAIT, OP_QUERY, OP_STORE, OP_NEXT };

/* A host-name lookup; it outlives the connection if the connection is closed while
 * libuv's thread pool still runs it. */
struct resolve {
    uv_getaddrinfo_t req;
    struct fo_myconn *c; /* NULL once the connection stopped caring (closed) */
};

struct fo_myconn {
    uv_loop_t *loop;
    MYSQL *m;
    uv_poll_t poll;       /* the connection's socket, set up at the first wait */
    uv_timer_t lib_timer; /* Connector/C's own MYSQL_WAIT_TIMEOUT requests */
    bool poll_inited;
    int poll_events; /* what poll watches now (0: stopped) */
    bool connected;
    bool closing;
    unsigned open_handles;
    enum op op;
    fo_myconn_cb cb; /* of the operation in progress */
    void *data;
    fo_myconn_close_cb close_cb;
    fo_myconn_idle_cb idle_cb; /* fo_myconn_watch_idle; NULL = stop watching between operations */
    struct resolve *resolve;
    int status; /* of the last completed operation */
    char err[ERRTEXT];
    char addr[INET6_ADDRSTRLEN];
    char name[256]; /* the host as given, for verify_identity; "" for an IP literal */
    struct fo_mysql_tls tls;
    bool greeting_checked; /* the TLS offer in the greeting was looked at */
    uint16_t port;
    unsigned long client_flags;
    char result_cols[96]; /* the columns of the result being stored, for its errors */
    /* user and password, after the struct in the same allocation; wiped on free */
    const char *user, *password;
    size_t creds_len;
};

static void poll_cb(uv_poll_t *h, int status, int events);
static void lib_timer_cb(uv_timer_t *t);

/* ------------------------------------------------------------------ lifetime */

static void handle_closed(uv_handle_t *h)
{
    struct fo_myconn *c = h->data;
    fo_myconn_close_cb cb = c->close_cb;
    void *data = c->data;

    if (--c->open_handles > 0) return;
    explicit_bzero(c + 1, c->creds_len);
    free(c);
    if (cb != NULL) cb(data);
}

/* Connector/C options for tls->mode; see the top of the file for why `required`
 * needs more than MYSQL_OPT_SSL_ENFORCE. */
static int apply_tls(MYSQL *m, const struct fo_mysql_tls *tls)
{
    my_bool enforce = tls->mode != FO_SSL_OFF, verify_host = tls->mode == FO_SSL_VERIFY_IDENTITY;
    bool verify = tls->mode == FO_SSL_VERIFY_CA || tls->mode == FO_SSL_VERIFY_IDENTITY;

    if (mysql_optionsv(m, MARIADB_OPT_RESTRICTED_AUTH, fo_mysql_auth_plugins(tls->mode)) != 0) return -1;
    if (mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &enforce) != 0) return -1;
    if (mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify_host) != 0) return -1;
    return mysql_optionsv(m, MYSQL_OPT_SSL_CA, verify ? tls->ca : NULL);
}

int fo_myconn_set_tls(struct fo_myconn *c, const struct fo_mysql_tls *tls, char err[FO_ERRLEN])
{
    static const struct fo_mysql_tls defaults = {FO_SSL_PREFERRED, ""};

    assert(!c->connected && c->op == OP_NONE && !c->closing);
    if (tls == NULL) tls = &defaults;
    if ((unsigned)tls->mode > FO_SSL_VERIFY_IDENTITY) return fo_errf(err, FO_EINVAL, "unknown ssl_mode %d", tls->mode);
    if ((tls->mode == FO_SSL_VERIFY_CA || tls->mode == FO_SSL_VERIFY_IDENTITY) && tls->ca[0] == '\0')
        return fo_errf(err, FO_EINVAL, "ssl_mode %s needs a CA file (ssl_ca)", fo_ssl_mode_name(tls->mode));
    c->tls = *tls;
    if (apply_tls(c->m, tls) != 0) return fo_errf(err, FO_ENOMEM, "cannot set the TLS options");
    return 0;
}

const char *fo_myconn_tls_cipher(struct fo_myconn *c)
{
    return c->connected ? mysql_get_ssl_cipher(c->m) : NULL;
}

/* ---- result bounds (myconn.h: FO_MYCONN_MAX_ROW_BYTES, FO_MYCONN_MAX_FIELD_BYTES) ---- */

static void complete(struct fo_myconn *c, int status, MYSQL_RES *res);

/* Connector/C refuses a packet over max_allowed_packet while reading it, and one row of
 * a result set is one packet (split into 16 MB pieces that it joins): so a server's
 * 50 MB field is refused after FO_MYCONN_MAX_ROW_BYTES, never buffered whole. */
static int set_result_bound(MYSQL *m)
{
    unsigned long max_row = FO_MYCONN_MAX_ROW_BYTES;

    return mysql_optionsv(m, MYSQL_OPT_MAX_ALLOWED_PACKET, &max_row);
}

/* The column names of the current result, for an error: "a, b, c" cut to fit. Read
 * when the store starts: after a failed read Connector/C has dropped them. */
static void column_names(MYSQL *m, char *out, size_t len)
{
    unsigned i, n = mysql_field_count(m);

    out[0] = '\0';
    for (i = 0; i < n && m->fields != NULL; i++)
        fo_text_append(out, len, "%s%s", i ? ", " : "", m->fields[i].name ? m->fields[i].name : "?");
}

/* Checks a stored result against the bounds. Returns 0 or FO_EMYSQL (res NULL: the
 * read failed, c->err then names the columns), or FO_ETOOBIG with c->err set and res
 * freed: a field over FO_MYCONN_MAX_FIELD_BYTES, its column named. */
static int check_result(struct fo_myconn *c, MYSQL_RES *res)
{
    MYSQL_FIELD *fields;
    MYSQL_ROW row;
    unsigned long *lens;
    unsigned n, i, e;
    my_ulonglong r = 0;

    if (res == NULL) {
        e = mysql_errno(c->m);
        /* Connector/C 3.3 reports a row over max_allowed_packet as a lost connection
         * (end_server() clears the reason before it is read), so both say what could
         * have happened. */
        if (e == CR_NET_PACKET_TOO_LARGE || e == CR_SERVER_LOST) {
            snprintf(c->err, sizeof(c->err), "reading the result (columns: %s): %s (a row over %u bytes is refused)",
                     c->result_cols, mysql_error(c->m), (unsigned)FO_MYCONN_MAX_ROW_BYTES);
            return e == CR_NET_PACKET_TOO_LARGE ? FO_ETOOBIG : FO_EMYSQL;
        }
        return 0;
    }
    n = mysql_num_fields(res);
    fields = mysql_fetch_fields(res);
    mysql_data_seek(res, 0);
    while ((row = mysql_fetch_row(res)) != NULL && (lens = mysql_fetch_lengths(res)) != NULL) {
        r++;
        for (i = 0; i < n; i++) {
            if (lens[i] <= FO_MYCONN_MAX_FIELD_BYTES) continue;
            snprintf(c->err, sizeof(c->err), "result too large: column '%.64s' (row %llu) holds %lu bytes, over %u",
                     fields[i].name, (unsigned long long)r, lens[i], (unsigned)FO_MYCONN_MAX_FIELD_BYTES);
            mysql_free_result(res);
            return FO_ETOOBIG;
        }
    }
    mysql_data_seek(res, 0);
    return 0;
}

/* A store finished (wait 0): the callback gets the result, or FO_ETOOBIG. */
static void store_done(struct fo_myconn *c, MYSQL_RES *res)
{
    int rc = check_result(c, res);

    complete(c, rc, rc == 0 ? res : NULL);
}

struct fo_myconn *fo_myconn_new(uv_loop_t *loop, const char *user, const char *password, void *data)
{
    size_t ulen = strlen(user), plen = password != NULL ? strlen(password) : 0;
    unsigned proto = MYSQL_PROTOCOL_TCP;
    size_t stack = FO_MYCONN_STACK_BYTES;
    struct fo_myconn *c = calloc(1, sizeof(*c) + ulen + plen + 2);
    char *creds;

    if (c == NULL) return NULL;
    c->m = mysql_init(NULL);
    c->tls.mode = FO_SSL_PREFERRED;
    if (c->m == NULL || mysql_options(c->m, MYSQL_OPT_NONBLOCK, &stack) != 0 ||
        mysql_options(c->m, MYSQL_OPT_PROTOCOL, &proto) != 0 || apply_tls(c->m, &c->tls) != 0) {
        if (c->m != NULL) mysql_close(c->m);
        free(c);
        return NULL;
    }
    if (set_result_bound(c->m) != 0) {
        mysql_close(c->m);
        free(c);
        return NULL;
    }
    creds = (char *)(c + 1);
    memcpy(creds, user, ulen + 1);
    memcpy(creds + ulen + 1, password != NULL ? password : "", plen + 1);
    c->user = creds;
    c->password = creds + ulen + 1;
    c->creds_len = ulen + plen + 2;
    c->loop = loop;
    c->data = data;
    uv_timer_init(loop, &c->lib_timer);
    c->lib_timer.data = c;
    c->open_handles = 1;
    return c;
}

/* mysql_close without SIGPIPE: a server that already hung up makes the goodbye's write
 * (OpenSSL's close_notify uses write(2)) raise it. SIGPIPE is blocked for the call and a
 * pending one consumed, so this holds in a process that does not ignore it. */
static void close_quietly(MYSQL *m)
{
    static const struct timespec zero = {0, 0};
    sigset_t pipe, old, pending;

    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old);
    mysql_close(m);
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&old, SIGPIPE)) sigtimedwait(&pipe, NULL, &zero);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void fo_myconn_close(struct fo_myconn *c, fo_myconn_close_cb close_cb)
{
    /* A connection at rest says goodbye (COM_QUIT, and TLS's close_notify): without it
     * every one-shot connection (failover statements, discovery walks) counts in the
     * server's Aborted_clients and logs "Aborted connection ... (Got an error reading
     * communication packets)" (log_warnings >= 2, MariaDB's default). Only at rest:
     * everything it sent was read, so its socket's send buffer is empty and the few
     * bytes cannot block the loop. An operation in flight (a hung or slow server) is
     * cut with shutdown() first, as a half-read reply cannot be left cleanly. */
    bool at_rest = c->connected && c->op == OP_NONE;
    int fd;

    assert(!c->closing);
    c->closing = true;
    c->close_cb = close_cb;
    c->op = OP_NONE;
    c->cb = NULL;
    if (c->resolve != NULL) {
        c->resolve->c = NULL; /* its callback will only free it */
        uv_cancel((uv_req_t *)&c->resolve->req);
        c->resolve = NULL;
    }
    fd = (int)mysql_get_socket(c->m);
    if (fd >= 0 && !at_rest) shutdown(fd, SHUT_RDWR);
    if (c->poll_inited) uv_close((uv_handle_t *)&c->poll, handle_closed);
    uv_close((uv_handle_t *)&c->lib_timer, handle_closed);
    close_quietly(c->m);
    c->m = NULL;
}

MYSQL *fo_myconn_mysql(struct fo_myconn *c)
{
    return c->m;
}

const char *fo_myconn_error(struct fo_myconn *c)
{
    return c->status == FO_EMYSQL && c->err[0] == '\0' ? mysql_error(c->m) : c->err;
}

/* ------------------------------------------------------------------ driving Connector/C */

/* Ends the operation in progress. The callback may start the next operation or
 * close c; c itself is freed only from a close callback, so it is still valid
 * afterwards, when the socket stops being watched if the connection went idle. */
static bool tls_required(const struct fo_myconn *c)
{
    return c->tls.mode != FO_SSL_OFF && c->tls.mode != FO_SSL_PREFERRED;
}

/* Makes a failed or unencrypted connect's error say what was refused and why: the
 * operator must see "TLS" or "authentication plugin", not just a lost connection. */
static int connect_outcome(struct fo_myconn *c, int status)
{
    unsigned e;

    if (status == 0 && tls_required(c) && mysql_get_ssl_cipher(c->m) == NULL) {
        snprintf(c->err, sizeof(c->err), "ssl_mode %s: the session is not encrypted; refused",
                 fo_ssl_mode_name(c->tls.mode));
        return FO_EMYSQL;
    }
    if (status != FO_EMYSQL) return status;
    e = mysql_errno(c->m);
    if (e == CR_SSL_CONNECTION_ERROR)
        snprintf(c->err, sizeof(c->err), "TLS (ssl_mode %s): %s", fo_ssl_mode_name(c->tls.mode), mysql_error(c->m));
    else if (e == CR_PLUGIN_NOT_ALLOWED || e == CR_AUTH_PLUGIN_CANNOT_LOAD || e == CR_AUTH_PLUGIN_ERR)
        snprintf(c->err, sizeof(c->err), "refused the server's authentication method (allowed: %s): %s",
                 fo_mysql_auth_plugins(c->tls.mode), mysql_error(c->m));
    return status;
}

/* The events watched while Connector/C waits to read, and between operations when
 * the owner watches the idle connection: the same set, so that libuv leaves the
 * epoll registration alone from one to the other. */
static int read_events(const struct fo_myconn *c)
{
    return c->idle_cb != NULL ? UV_READABLE | UV_DISCONNECT : UV_READABLE;
}

static bool ensure_poll(struct fo_myconn *c)
{
    if (c->poll_inited) return true;
    if (uv_poll_init(c->loop, &c->poll, (int)mysql_get_socket(c->m)) != 0) return false;
    c->poll.data = c;
    c->poll_inited = true;
    c->open_handles++;
    return true;
}

/* Watches events (0: stops). libuv's uv_poll_start always takes the descriptor out
 * of epoll and puts it back (two epoll_ctl calls), even for the events it already
 * watches, so an unchanged set is left alone: a probe on an idle connection then
 * costs no epoll_ctl call at all. */
static int poll_set(struct fo_myconn *c, int events)
{
    int rc = 0;

    if (events == c->poll_events) return 0;
    if (events != 0)
        rc = uv_poll_start(&c->poll, events, poll_cb);
    else
        uv_poll_stop(&c->poll);
    c->poll_events = rc == 0 ? events : 0;
    return rc;
}

/* Between operations: keep watching for the owner (myconn.h), or stop. */
static void idle(struct fo_myconn *c)
{
    if (c->idle_cb != NULL && c->connected) {
        if (ensure_poll(c) && poll_set(c, read_events(c)) == 0) return;
        /* Not watchable: the owner notices a dead peer at the next operation. */
    }
    if (c->poll_inited) poll_set(c, 0);
}

static void complete(struct fo_myconn *c, int status, MYSQL_RES *res)
{
    fo_myconn_cb cb = c->cb;

    if (c->op == OP_CONNECT) status = connect_outcome(c, status);
    if (c->op == OP_CONNECT && status == 0) c->connected = true;
    c->op = OP_NONE;
    c->cb = NULL;
    c->status = status;
    uv_timer_stop(&c->lib_timer);
    cb(c->data, status, res);
    if (!c->closing && c->op == OP_NONE) idle(c);
}

static void fail_op(struct fo_myconn *c, int status, const char *why)
{
    snprintf(c->err, sizeof(c->err), "%s", why);
    complete(c, status, NULL);
}

static void watch(struct fo_myconn *c, int wait)
{
    int events = 0;

    if (wait & MYSQL_WAIT_READ) events |= read_events(c);
    if (wait & MYSQL_WAIT_WRITE) events |= UV_WRITABLE;
    if (wait & MYSQL_WAIT_EXCEPT) events |= UV_PRIORITIZED;
    if (wait & MYSQL_WAIT_TIMEOUT)
        uv_timer_start(&c->lib_timer, lib_timer_cb, mysql_get_timeout_value_ms(c->m), 0);
    else
        uv_timer_stop(&c->lib_timer);
    if (!ensure_poll(c)) {
        fail_op(c, FO_EIO, "cannot watch the connection socket");
        return;
    }
    poll_set(c, events);
}

/* wait: what a *_start / *_cont call returned; status and res: the outcome, valid
 * only when wait is 0. */
static void settle(struct fo_myconn *c, int wait, int status, MYSQL_RES *res)
{
    if (wait != 0)
        watch(c, wait);
    else
        complete(c, status, res);
}

static int next_status(int ret)
{
    return ret > 0 ? FO_EMYSQL : ret < 0 ? FO_ENOTFOUND : 0;
}

/* The reply to a sent query is there (or the socket has an error or EOF, which the
 * read reports): Connector/C reads it. */
static void read_reply(struct fo_myconn *c)
{
    my_bool failed = 0;
    int wait;

    c->op = OP_QUERY;
    wait = mysql_read_query_result_start(&failed, c->m);
    settle(c, wait, failed ? FO_EMYSQL : 0, NULL);
}

/* A send_query call returned: still sending (wait), failed, or sent, when the socket
 * is watched for the reply with the events it already has when the owner watches the
 * idle connection (no epoll_ctl). */
static void sent(struct fo_myconn *c, int wait, int err)
{
    if (wait != 0) {
        watch(c, wait);
        return;
    }
    if (err != 0) {
        complete(c, FO_EMYSQL, NULL);
        return;
    }
    c->op = OP_AWAIT;
    watch(c, MYSQL_WAIT_READ);
}

/* Resumes the operation in progress with the events that arrived. The outcome is
 * read only after the *_cont call (argument evaluation order is unspecified). */
static void step(struct fo_myconn *c, int ready)
{
    MYSQL *ret = NULL;
    MYSQL_RES *res = NULL;
    int err = 0, wait;

    switch (c->op) {
    case OP_CONNECT:
        wait = mysql_real_connect_cont(&ret, c->m, ready);
        settle(c, wait, ret != NULL ? 0 : FO_EMYSQL, NULL);
        return;
    case OP_SEND:
        wait = mysql_send_query_cont(&err, c->m, ready);
        sent(c, wait, err);
        return;
    case OP_AWAIT: read_reply(c); return;
    case OP_QUERY: {
        my_bool failed = 0;
        wait = mysql_read_query_result_cont(&failed, c->m, ready);
        settle(c, wait, failed ? FO_EMYSQL : 0, NULL);
        return;
    }
    case OP_STORE:
        wait = mysql_store_result_cont(&res, c->m, ready);
        if (wait == 0) return store_done(c, res);
        settle(c, wait, 0, res);
        return;
    case OP_NEXT:
        wait = mysql_next_result_cont(&err, c->m, ready);
        settle(c, wait, next_status(err), NULL);
        return;
    default: return;
    }
}

/* The server's greeting, still unread in the socket: 1 if it offers no TLS, 0 if it
 * does, -1 if that cannot be told (incomplete, or not a greeting: Connector/C then
 * reports the problem, and connect_outcome checks the session). */
static int greeting_lacks_tls(int fd)
{
    unsigned char b[512];
    ssize_t n = recv(fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
    const unsigned char *nul;
    size_t p;

    if (n < 6 || b[4] != 10) return -1; /* protocol 10 only */
    nul = memchr(b + 5, '\0', (size_t)n - 5);
    if (nul == NULL) return -1;
    p = (size_t)(nul - b) + 1 + 4 + 8 + 1; /* version, thread id, scramble 1, filler */
    if (p + 2 > (size_t)n) return -1;
    return ((unsigned)b[p] | (unsigned)b[p + 1] << 8) & CLIENT_SSL_FLAG ? 0 : 1;
}

/* Before Connector/C reads the greeting (server_version is set once it has), a
 * required mode refuses a server that offers no TLS: nothing is sent to it. Looked
 * at on every event of the connect until the greeting is complete in the socket:
 * it may already be there when the TCP connect is reported writable. */
static bool refuse_plain_server(struct fo_myconn *c)
{
    int r;

    if (c->op != OP_CONNECT || c->greeting_checked || !tls_required(c)) return false;
    if (c->m->server_version != NULL) {
        c->greeting_checked = true; /* read without a wait: connect_outcome checks */
        return false;
    }
    if ((r = greeting_lacks_tls((int)mysql_get_socket(c->m))) < 0) return false;
    c->greeting_checked = true;
    if (r == 0) return false;
    snprintf(c->err, sizeof(c->err), "TLS (ssl_mode %s): the server does not offer TLS; refused before logging in",
             fo_ssl_mode_name(c->tls.mode));
    return true;
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    struct fo_myconn *c = h->data;
    int ready = 0;

    if (c->closing) return;
    if (c->op == OP_NONE) {
        if (c->idle_cb != NULL && c->connected) c->idle_cb(c->data, status, events);
        return;
    }
    if (status == 0 && refuse_plain_server(c)) {
        complete(c, FO_EMYSQL, NULL); /* c->err says why; the caller closes c */
        return;
    }
    if (status < 0) ready = MYSQL_WAIT_READ | MYSQL_WAIT_WRITE; /* let Connector/C see the error */
    if (events & (UV_READABLE | UV_DISCONNECT)) ready |= MYSQL_WAIT_READ;
    if (events & UV_WRITABLE) ready |= MYSQL_WAIT_WRITE;
    if (events & UV_PRIORITIZED) ready |= MYSQL_WAIT_EXCEPT;
    step(c, ready);
}

static void lib_timer_cb(uv_timer_t *t)
{
    struct fo_myconn *c = t->data;

    if (!c->closing && c->op != OP_NONE) step(c, MYSQL_WAIT_TIMEOUT);
}

/* ------------------------------------------------------------------ operations */

static void begin_op(struct fo_myconn *c, enum op op, fo_myconn_cb cb)
{
    assert(!c->closing && c->op == OP_NONE && cb != NULL);
    assert(op == OP_CONNECT ? !c->connected : c->connected);
    c->op = op;
    c->cb = cb;
    c->err[0] = '\0';
}

static void start_connect(struct fo_myconn *c)
{
    /* verify_identity checks the certificate against the host Connector/C is given,
     * so a name must reach it as a name. Connector/C then resolves it again, on
     * this thread: the lookup just made succeeded, so the resolver is answering. */
    const char *host = c->tls.mode == FO_SSL_VERIFY_IDENTITY && c->name[0] != '\0' ? c->name : c->addr;
    MYSQL *ret = NULL;
    int wait;

    c->op = OP_CONNECT;
    wait = mysql_real_connect_start(&ret, c->m, host, c->user, c->password, NULL, c->port, NULL, c->client_flags);
    settle(c, wait, ret != NULL ? 0 : FO_EMYSQL, NULL);
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct resolve *r = req->data;
    struct fo_myconn *c = r->c;
    char addr[INET6_ADDRSTRLEN] = "";

    if (status == 0 && res != NULL) {
        if (res->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, addr, sizeof(addr));
        else if (res->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, addr, sizeof(addr));
    }
    uv_freeaddrinfo(res);
    free(r);
    if (c == NULL) return;
    c->resolve = NULL;
    if (addr[0] == '\0') {
        fail_op(c, FO_EUNREACHABLE, status != 0 ? uv_strerror(status) : "no address");
        return;
    }
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    start_connect(c);
}

static bool is_ip_literal(const char *h)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

void fo_myconn_connect(struct fo_myconn *c, const char *host, uint16_t port, unsigned long client_flags,
                       fo_myconn_cb cb)
{
    struct addrinfo hints;
    struct resolve *r;

    begin_op(c, OP_CONNECT, cb);
    c->port = port;
    c->client_flags = client_flags;
    if (snprintf(c->name, sizeof(c->name), "%s", is_ip_literal(host) ? "" : host) >= (int)sizeof(c->name)) {
        fail_op(c, FO_EUNREACHABLE, "host name too long");
        return;
    }
    if (is_ip_literal(host)) {
        snprintf(c->addr, sizeof(c->addr), "%s", host);
        start_connect(c);
        return;
    }
    c->op = OP_RESOLVE;
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        fail_op(c, FO_ENOMEM, "out of memory");
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    r->c = c;
    r->req.data = r;
    if (uv_getaddrinfo(c->loop, &r->req, resolved, host, NULL, &hints) != 0) {
        free(r);
        fail_op(c, FO_EUNREACHABLE, "cannot start lookup");
        return;
    }
    c->resolve = r;
}

void fo_myconn_query(struct fo_myconn *c, const char *stmt, fo_myconn_cb cb)
{
    int err = 0, wait;

    begin_op(c, OP_SEND, cb);
    wait = mysql_send_query_start(&err, c->m, stmt, strlen(stmt));
    sent(c, wait, err);
}

void fo_myconn_store_result(struct fo_myconn *c, fo_myconn_cb cb)
{
    MYSQL_RES *res = NULL;
    int wait;

    begin_op(c, OP_STORE, cb);
    column_names(c->m, c->result_cols, sizeof(c->result_cols));
    wait = mysql_store_result_start(&res, c->m);
    if (wait == 0) return store_done(c, res);
    settle(c, wait, 0, res);
}

void fo_myconn_next_result(struct fo_myconn *c, fo_myconn_cb cb)
{
    int ret = 0, wait;

    begin_op(c, OP_NEXT, cb);
    wait = mysql_next_result_start(&ret, c->m);
    settle(c, wait, next_status(ret), NULL);
}

void fo_myconn_watch_idle(struct fo_myconn *c, fo_myconn_idle_cb cb)
{
    assert(!c->closing);
    c->idle_cb = cb;
    if (c->op == OP_NONE && c->connected) idle(c);
}
