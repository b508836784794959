/* Binlog salvage, the controller's half (controller/act/salvage.h). */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "controller/act/salvage.h"
#include "controller/vip/agentc.h"
#include "mysql/sample.h"

#define MOD "salvage"

enum sv_phase { SV_STATUS, SV_READ, SV_APPLY, SV_DONE };

struct fo_salvage {
    uv_loop_t *loop;
    fo_salvage_cb cb;
    void *data;
    char cluster[FO_NAME_LEN];
    uint64_t epoch;
    char agent_host[FO_HOST_LEN];
    uint16_t agent_port;
    char host[FO_HOST_LEN];
    uint16_t port;
    char user[FO_NAME_LEN];
    char password[256];
    struct fo_mysql_tls mysql_tls;
    bool has_mysql_tls;
    char start[FO_GTIDPOS_LEN];
    char client[FO_PATH_LEN];
    unsigned probe_ms;
    size_t max_bytes;
    uint64_t deadline;        /* uv_now */
    uint64_t t_start, t_read; /* uv_now at the start, when the read was complete */
    enum sv_phase phase;
    struct fo_agentc *agentc;
    struct fo_agentc_call *call;
    uv_timer_t timer; /* the deadline */
    uv_process_t proc;
    uv_pipe_t in, err;
    uv_write_t wr;
    bool spawned, exited, finishing, cancelled;
    unsigned open_handles;
    char optfile[64];
    char *buf;
    size_t len, cap;
    char errtext[512];
    size_t errlen;
    struct fo_salvage_result r;
};

static void finish(struct fo_salvage *s);

static void set_result(struct fo_salvage *s, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_result(struct fo_salvage *s, int status, const char *fmt, ...)
{
    va_list ap;

    s->r.status = status;
    va_start(ap, fmt);
    vsnprintf(s->r.detail, sizeof(s->r.detail), fmt, ap);
    va_end(ap);
}

static unsigned remaining(struct fo_salvage *s)
{
    uint64_t now = uv_now(s->loop);

    return s->deadline > now + 1 ? (unsigned)(s->deadline - now) : 1;
}

/* ---- the end ----------------------------------------------------------------------- */

static void handle_closed(uv_handle_t *h)
{
    struct fo_salvage *s = h->data;
    fo_salvage_cb cb;
    void *data;
    struct fo_salvage_result r;

    if (--s->open_handles != 0) return;
    if (s->optfile[0] != '\0') unlink(s->optfile);
    if (s->agentc != NULL) fo_agentc_close(s->agentc);
    memset(s->password, 0, sizeof(s->password));
    r = s->r;
    cb = s->cb;
    data = s->data;
    free(s->buf);
    free(s);
    cb(data, &r);
}

static void close_handle(struct fo_salvage *s, uv_handle_t *h)
{
    if (!uv_is_closing(h)) uv_close(h, handle_closed);
}

/* Everything stops; cb fires once the last handle closed. A call in flight is
 * cancelled first: its callback must arrive before the client goes. */
static void finish(struct fo_salvage *s)
{
    s->finishing = true;
    s->phase = SV_DONE;
    if (s->call != NULL) {
        fo_agentc_cancel(s->call);
        return; /* its callback calls finish again */
    }
    uv_timer_stop(&s->timer);
    if (s->spawned && !s->exited) {
        uv_process_kill(&s->proc, SIGKILL);
        return; /* exited() closes the rest */
    }
    close_handle(s, (uv_handle_t *)&s->timer);
    if (s->spawned) {
        close_handle(s, (uv_handle_t *)&s->proc);
        close_handle(s, (uv_handle_t *)&s->in);
        close_handle(s, (uv_handle_t *)&s->err);
    }
}

static void deadline_cb(uv_timer_t *t)
{
    struct fo_salvage *s = t->data;

    if (s->finishing) return;
    if (s->phase == SV_APPLY)
        set_result(s, FO_ETIMEDOUT,
                   "the apply of %u transactions to %s:%u did not end in time: killed (some may be applied)",
                   s->r.transactions, s->host, s->port);
    else
        set_result(s, FO_ETIMEDOUT, "%s did not end in time (%llu bytes received): given up",
                   s->phase == SV_STATUS ? "asking the old primary's agent" : "reading the old primary's binlog",
                   (unsigned long long)s->len);
    if (s->phase == SV_READ) s->r.gave_up_bytes = s->len;
    finish(s);
}

/* ---- the apply --------------------------------------------------------------------- */

/* An option-file value: double-quoted, with \ and " escaped; false for a value a
 * line cannot hold. */
static bool opt_value(const char *v, char *out, size_t n)
{
    size_t k = 0;

    if (n < 3) return false;
    out[k++] = '"';
    for (; *v; v++) {
        if (*v == '\n' || *v == '\r' || *v == '\0') return false;
        if (k + 3 >= n) return false;
        if (*v == '\\' || *v == '"') out[k++] = '\\';
        out[k++] = *v;
    }
    out[k++] = '"';
    out[k] = '\0';
    return true;
}

/* The account goes into a private 0600 file that only the client reads: a password
 * on a command line is visible to every user of the host (/proc/PID/cmdline). */
static int write_optfile(struct fo_salvage *s, char err[FO_ERRLEN])
{
    char u[FO_NAME_LEN * 2 + 4], p[sizeof(s->password) * 2 + 4], text[1024];
    const char *tmp = getenv("TMPDIR");
    int fd, n;

    if (!opt_value(s->user, u, sizeof(u)) || !opt_value(s->password, p, sizeof(p)))
        return fo_errf(err, FO_EINVAL, "the cluster's user or password cannot go into an option file");
    if (tmp == NULL || tmp[0] != '/' || strlen(tmp) > 40) tmp = "/tmp";
    snprintf(s->optfile, sizeof(s->optfile), "%s/fo-salvage-XXXXXX", tmp);
    if ((fd = mkstemp(s->optfile)) < 0) {
        s->optfile[0] = '\0';
        return fo_errf(err, FO_EIO, "cannot create the client's option file");
    }
    n = snprintf(text, sizeof(text), "[client]\nuser=%s\npassword=%s\n", u, p);
    memset(p, 0, sizeof(p));
    if (n < 0 || (size_t)n >= sizeof(text) || write(fd, text, (size_t)n) != n) {
        memset(text, 0, sizeof(text));
        close(fd);
        return fo_errf(err, FO_EIO, "cannot write the client's option file");
    }
    memset(text, 0, sizeof(text));
    close(fd);
    return 0;
}

static void exited(uv_process_t *p, int64_t status, int sig)
{
    struct fo_salvage *s = p->data;

    s->exited = true;
    if (s->finishing) return finish(s);
    s->errtext[s->errlen] = '\0';
    if (sig == 0 && status == 0)
        set_result(
            s, 0,
            "applied %u transactions (%s .. %s, %llu bytes) from the old primary's binlog to %s:%u (read in %llu "
            "ms, applied in %llu ms)",
            s->r.transactions, s->r.first_gtid, s->r.last_gtid, (unsigned long long)s->r.bytes, s->host, s->port,
            (unsigned long long)(s->t_read - s->t_start), (unsigned long long)(uv_now(s->loop) - s->t_read));
    else
        set_result(s, FO_EMYSQL, "applying the salvaged transactions to %s:%u failed (%s %d): %.400s", s->host, s->port,
                   sig ? "signal" : "exit", sig ? sig : (int)status, s->errtext);
    finish(s);
}

static void in_written(uv_write_t *w, int status)
{
    struct fo_salvage *s = w->data;

    (void)status;                           /* a failed write shows as the client's error or exit status */
    close_handle(s, (uv_handle_t *)&s->in); /* EOF: the client ends after the last statement */
}

static void err_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct fo_salvage *s = h->data;

    (void)suggested;
    if (s->errlen + 1 >= sizeof(s->errtext)) {
        static char sink[256];
        *b = uv_buf_init(sink, sizeof sink);
        return;
    }
    *b = uv_buf_init(s->errtext + s->errlen, (unsigned)(sizeof(s->errtext) - 1 - s->errlen));
}

static void err_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct fo_salvage *s = st->data;

    if (n < 0) return close_handle(s, (uv_handle_t *)st);
    if (b->base == s->errtext + s->errlen) s->errlen += (size_t)n;
}

static int spawn_client(struct fo_salvage *s, char err[FO_ERRLEN])
{
    char defaults[96], hostarg[FO_HOST_LEN + 16], portarg[32], ca[FO_PATH_LEN + 16];
    const char *argv[16];
    uv_process_options_t o;
    uv_stdio_container_t io[3];
    unsigned k = 0;
    uv_buf_t b;
    int rc;

    if ((rc = write_optfile(s, err)) != 0) return rc;
    snprintf(defaults, sizeof(defaults), "--defaults-file=%s", s->optfile);
    snprintf(hostarg, sizeof(hostarg), "--host=%s", s->host);
    snprintf(portarg, sizeof(portarg), "--port=%u", s->port);
    argv[k++] = s->client;
    argv[k++] = defaults; /* first: only this file is read */
    argv[k++] = "--protocol=TCP";
    argv[k++] = hostarg;
    argv[k++] = portarg;
    argv[k++] = "--batch";
    argv[k++] = "--binary-mode"; /* mariadb-binlog's output is taken as is */
    if (s->has_mysql_tls && s->mysql_tls.mode == FO_SSL_OFF) argv[k++] = "--skip-ssl";
    if (s->has_mysql_tls && s->mysql_tls.ca[0] != '\0') {
        snprintf(ca, sizeof(ca), "--ssl-ca=%s", s->mysql_tls.ca);
        argv[k++] = ca;
    }
    if (s->has_mysql_tls && (s->mysql_tls.mode == FO_SSL_VERIFY_CA || s->mysql_tls.mode == FO_SSL_VERIFY_IDENTITY))
        argv[k++] = "--ssl-verify-server-cert";
    argv[k] = NULL;
    uv_pipe_init(s->loop, &s->in, 0);
    uv_pipe_init(s->loop, &s->err, 0);
    s->in.data = s->err.data = s->proc.data = s->wr.data = s;
    io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    io[0].data.stream = (uv_stream_t *)&s->in;
    io[1].flags = UV_IGNORE;
    io[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    io[2].data.stream = (uv_stream_t *)&s->err;
    memset(&o, 0, sizeof(o));
    o.file = s->client;
    o.args = (char **)argv;
    o.exit_cb = exited;
    o.stdio = io;
    o.stdio_count = 3;
    s->spawned = true; /* the handles are initialised: they close with the rest */
    s->open_handles += 3;
    rc = uv_spawn(s->loop, &s->proc, &o);
    if (rc != 0) {
        s->exited = true;
        return fo_errf(err, FO_EIO, "cannot start %s: %s", s->client, uv_strerror(rc));
    }
    uv_read_start((uv_stream_t *)&s->err, err_alloc, err_read);
    b = uv_buf_init(s->buf, (unsigned)s->len);
    if ((rc = uv_write(&s->wr, (uv_stream_t *)&s->in, &b, 1, in_written)) != 0) close_handle(s, (uv_handle_t *)&s->in);
    return 0;
}

static void apply(struct fo_salvage *s)
{
    char err[FO_ERRLEN];

    s->phase = SV_APPLY;
    s->t_read = uv_now(s->loop);
    s->r.applied_any = true;
    FO_INFO(MOD, "cluster %s epoch %llu: applying %u transactions (%s .. %s, %zu bytes) to %s:%u", s->cluster,
            (unsigned long long)s->epoch, s->r.transactions, s->r.first_gtid, s->r.last_gtid, s->len, s->host, s->port);
    if (spawn_client(s, err) != 0) {
        s->r.applied_any = false;
        set_result(s, FO_EIO, "not applied: %s", err);
        finish(s);
    }
}

/* ---- the read ---------------------------------------------------------------------- */

static void ask(struct fo_salvage *s, uint64_t offset);

static void read_cb(void *data, int status, const char *error, const Fo__Agent__AgentResponse *resp)
{
    struct fo_salvage *s = data;
    const Fo__Agent__SalvageResult *res = resp ? resp->salvage : NULL;

    s->call = NULL;
    if (s->finishing) return finish(s);
    if (status != 0) {
        set_result(s, status, "reading the old primary's binlog through its agent: %s", error ? error : "failed");
        return finish(s);
    }
    if (res != NULL) {
        s->r.transactions = res->transactions;
        snprintf(s->r.first_gtid, sizeof(s->r.first_gtid), "%s", res->first_gtid ? res->first_gtid : "");
        snprintf(s->r.last_gtid, sizeof(s->r.last_gtid), "%s", res->last_gtid ? res->last_gtid : "");
    }
    if (resp->code != 0) {
        s->r.gave_up_bytes = res ? res->total_bytes : 0; /* read by the agent, none applied */
        set_result(s, resp->code, "the old primary's agent: %s", resp->error ? resp->error : "refused");
        return finish(s);
    }
    if (res == NULL || res->offset != s->len || res->total_bytes > s->max_bytes ||
        s->len + res->sql.len > s->max_bytes) {
        if (res != NULL && res->total_bytes > s->max_bytes) {
            s->r.gave_up_bytes = res->total_bytes;
            set_result(s, FO_ETOOBIG, "%llu bytes of binlog text exceed the controller's cap (%zu): not applied",
                       (unsigned long long)res->total_bytes, s->max_bytes);
        } else {
            set_result(s, FO_EPROTO, "the old primary's agent answered a chunk out of order");
        }
        return finish(s);
    }
    if (s->cap < res->total_bytes) {
        char *nb = realloc(s->buf, res->total_bytes ? res->total_bytes : 1);
        if (nb == NULL) {
            set_result(s, FO_ENOMEM, "out of memory for %llu bytes", (unsigned long long)res->total_bytes);
            return finish(s);
        }
        s->buf = nb;
        s->cap = res->total_bytes;
    }
    if (res->sql.len > s->cap - s->len) {
        set_result(s, FO_EPROTO, "the old primary's agent sent more than it announced");
        return finish(s);
    }
    memcpy(s->buf + s->len, res->sql.data, res->sql.len);
    s->len += res->sql.len;
    s->r.bytes = s->len;
    if (!res->last) return ask(s, s->len);
    if (s->r.transactions == 0) {
        set_result(s, 0, "nothing to salvage: the old primary's binlog holds nothing after %s",
                   s->start[0] ? s->start : "(empty)");
        return finish(s);
    }
    apply(s);
}

static void ask(struct fo_salvage *s, uint64_t offset)
{
    Fo__Agent__AgentRequest req = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__SalvageBinlog m = FO__AGENT__SALVAGE_BINLOG__INIT;
    char err[FO_ERRLEN];

    m.cluster = s->cluster;
    m.epoch = s->epoch;
    m.start_gtid = s->start;
    m.offset = offset;
    m.max_chunk = 512u << 10;
    req.body_case = FO__AGENT__AGENT_REQUEST__BODY_SALVAGE;
    req.salvage = &m;
    s->phase = SV_READ;
    s->call = fo_agentc_call(s->agentc, s->agent_host, s->agent_port, &req, remaining(s), read_cb, s, err);
    if (s->call == NULL) {
        set_result(s, FO_EIO, "cannot ask the old primary's agent: %s", err);
        finish(s);
    }
}

static void status_cb(void *data, int status, const char *error, const Fo__Agent__AgentResponse *resp)
{
    struct fo_salvage *s = data;

    s->call = NULL;
    if (s->finishing) return finish(s);
    if (status != 0) {
        set_result(s, status, "the old primary's agent did not answer: %s", error ? error : "failed");
        return finish(s);
    }
    s->r.agent_reached = true;
    if (resp->code != 0) {
        set_result(s, resp->code, "the old primary's agent refused Status: %s", resp->error ? resp->error : "");
        return finish(s);
    }
    if (resp->status != NULL && resp->status->mysql_reachable) {
        s->r.mysqld_alive = true;
        set_result(s, FO_EBUSY, "the old primary's mysqld still answers its agent: not salvaged");
        return finish(s);
    }
    ask(s, 0);
}

struct fo_salvage *fo_salvage_start(uv_loop_t *loop, const struct fo_salvage_opts *o, fo_salvage_cb cb, void *data,
                                    char err[FO_ERRLEN])
{
    Fo__Agent__AgentRequest req = FO__AGENT__AGENT_REQUEST__INIT;
    Fo__Agent__StatusRequest st = FO__AGENT__STATUS_REQUEST__INIT;
    struct fo_salvage *s;

    if (o->timeout_ms == 0 || o->agent_port == 0 || strlen(o->start_gtid) >= FO_GTIDPOS_LEN)
        return fo_errf(err, FO_EINVAL, "bad salvage options"), NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory"), NULL;
    s->loop = loop;
    s->cb = cb;
    s->data = data;
    snprintf(s->cluster, sizeof(s->cluster), "%s", o->cluster);
    s->epoch = o->epoch;
    snprintf(s->agent_host, sizeof(s->agent_host), "%s", o->agent_host);
    s->agent_port = o->agent_port;
    snprintf(s->host, sizeof(s->host), "%s", o->host);
    s->port = o->port;
    snprintf(s->user, sizeof(s->user), "%s", o->user);
    snprintf(s->password, sizeof(s->password), "%s", o->password);
    if (o->mysql_tls != NULL) {
        s->mysql_tls = *o->mysql_tls;
        s->has_mysql_tls = true;
    }
    snprintf(s->start, sizeof(s->start), "%s", o->start_gtid);
    snprintf(s->client, sizeof(s->client), "%s", o->client ? o->client : FO_SALVAGE_CLIENT);
    s->probe_ms = o->probe_ms ? o->probe_ms : 1000;
    s->max_bytes = o->max_bytes ? o->max_bytes : FO_SALVAGE_MAX_BYTES_DEFAULT;
    s->t_start = uv_now(loop);
    s->deadline = s->t_start + o->timeout_ms;
    if (fo_agentc_new(&s->agentc, loop, o->tls, o->tls_files, err) != 0) {
        free(s);
        return NULL;
    }
    req.body_case = FO__AGENT__AGENT_REQUEST__BODY_STATUS;
    req.status = &st;
    s->call = fo_agentc_call(s->agentc, s->agent_host, s->agent_port, &req,
                             s->probe_ms < o->timeout_ms ? s->probe_ms : o->timeout_ms, status_cb, s, err);
    if (s->call == NULL) {
        /* cb never fires: nothing of ours is open yet but the client. */
        fo_agentc_close(s->agentc);
        memset(s->password, 0, sizeof(s->password));
        free(s);
        return NULL;
    }
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    s->open_handles = 1;
    uv_timer_start(&s->timer, deadline_cb, o->timeout_ms, 0);
    return s;
}

void fo_salvage_cancel(struct fo_salvage *s)
{
    if (s->finishing) return;
    s->cancelled = true;
    set_result(s, FO_ECANCELED, "cancelled");
    finish(s);
}
