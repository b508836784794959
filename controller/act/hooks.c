/* Failover hooks run with uv_spawn (see controller/act/hooks.h).
 *
 * The child is started in its own session (UV_PROCESS_DETACHED only means setsid in
 * libuv; the process handle still reaps it), so the timeout's SIGTERM / SIGKILL and a
 * cancel reach the whole process group: a shell script's `sleep` dies with the
 * script instead of holding the output pipes open. A background process that
 * escapes the group may still hold them after the hook exited; the output is then
 * read for at most DRAIN_GRACE_MS more before the pipes are closed, so the callback
 * cannot be held hostage by it. */
#include "controller/act/hooks.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define MOD "hook"
#define LINE_MAX_BYTES 512
#define MAX_LINES 64
#define KILL_AFTER_MS 2000
#define DRAIN_GRACE_MS 500
#define READ_BUF 4096
#define DEFAULT_PATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

/* RUNNING: timer is the timeout. TERMINATING: SIGTERM (or a cancel's SIGKILL) sent,
 * timer is the SIGKILL escalation. DRAINING: the process exited, output is read until
 * EOF or the grace timer. CLOSING: handles are closing; the last close delivers. */
enum hstate { HS_RUNNING, HS_TERMINATING, HS_DRAINING, HS_CLOSING };

struct out_line {
    char buf[LINE_MAX_BYTES + 1];
    size_t len;
    bool cut; /* the line was longer than LINE_MAX_BYTES */
};

struct fo_hook {
    uv_loop_t *loop;
    uv_process_t proc;
    uv_pipe_t pipes[2]; /* child's stdout, stderr */
    uv_timer_t timer;
    enum hstate state;
    unsigned open_handles;
    bool silent; /* spawn failed: fo_hook_run reported it, the callback never fires */
    bool eof[2];
    bool exited, timed_out, canceled, io_failed;
    int64_t exit_status;
    int term_signal;
    bool escalated; /* the timeout's SIGTERM was followed by SIGKILL */
    int pid;
    unsigned timeout_ms;
    uint64_t t0_ms; /* uv_now() at the spawn: the timeout's start (see exit_cb) */
    unsigned duration_ms;
    unsigned lines_logged, lines_dropped;
    struct out_line line[2];
    char readbuf[2][READ_BUF];
    char name[64];
    fo_hook_cb cb;
    void *data;
};

static const char *const stream_names[2] = {"stdout", "stderr"};

static void timer_cb(uv_timer_t *t);

/* ------------------------------------------------------------------ lifetime */

static void result_detail(const struct fo_hook *h, struct fo_hook_result *r)
{
    char how[64];

    if (h->term_signal != 0)
        snprintf(how, sizeof(how), "killed by signal %d", h->term_signal);
    else
        snprintf(how, sizeof(how), "exited %d", (int)h->exit_status);
    if (h->canceled)
        snprintf(r->detail, sizeof(r->detail), "canceled (%s)", how);
    else if (h->timed_out && h->escalated)
        snprintf(r->detail, sizeof(r->detail), "killed after %u ms timeout (SIGKILL: it ignored SIGTERM)",
                 h->timeout_ms);
    else if (h->timed_out && h->term_signal == SIGTERM)
        snprintf(r->detail, sizeof(r->detail), "killed after %u ms timeout (SIGTERM)", h->timeout_ms);
    else if (h->timed_out)
        snprintf(r->detail, sizeof(r->detail), "killed after %u ms timeout (%s after SIGTERM)", h->timeout_ms, how);
    else if (h->io_failed)
        snprintf(r->detail, sizeof(r->detail), "cannot read its output (%s)", how);
    else
        snprintf(r->detail, sizeof(r->detail), "%s", how);
}

static void deliver(struct fo_hook *h)
{
    struct fo_hook_result r;
    fo_hook_cb cb = h->cb;
    void *data = h->data;

    memset(&r, 0, sizeof(r));
    r.status = h->canceled ? FO_ECANCELED : h->timed_out ? FO_ETIMEDOUT : h->io_failed ? FO_EIO : 0;
    r.exit_code = (int)h->exit_status;
    r.term_signal = h->term_signal;
    r.duration_ms = h->duration_ms;
    result_detail(h, &r);
    if (h->lines_dropped > 0) FO_WARN(MOD, "%s: %u more output line(s) dropped", h->name, h->lines_dropped);
    if (r.status == 0 && r.term_signal == 0 && r.exit_code == 0)
        FO_INFO(MOD, "%s: %s after %u ms", h->name, r.detail, r.duration_ms);
    else
        FO_WARN(MOD, "%s: %s after %u ms", h->name, r.detail, r.duration_ms);
    free(h);
    cb(data, &r);
}

static void handle_closed(uv_handle_t *handle)
{
    struct fo_hook *h = handle->data;

    if (--h->open_handles > 0) return;
    if (h->silent)
        free(h);
    else
        deliver(h);
}

static void close_all(struct fo_hook *h)
{
    unsigned i;

    h->state = HS_CLOSING;
    for (i = 0; i < 2; i++)
        if (!uv_is_closing((uv_handle_t *)&h->pipes[i])) uv_close((uv_handle_t *)&h->pipes[i], handle_closed);
    uv_close((uv_handle_t *)&h->proc, handle_closed);
    uv_close((uv_handle_t *)&h->timer, handle_closed);
}

/* Signals the hook's whole process group (see the top of this file). Never the bare
 * pid: after exit_cb the pid is reaped and may belong to someone else, while the
 * group id cannot be reused as long as a member is alive. ESRCH (nobody left) is
 * fine. */
static void signal_group(struct fo_hook *h, int sig)
{
    uv_kill(-h->pid, sig);
}

/* ------------------------------------------------------------------ output */

static void emit_line(struct fo_hook *h, unsigned idx)
{
    struct out_line *l = &h->line[idx];
    size_t i;

    if (h->lines_logged >= MAX_LINES) {
        h->lines_dropped++;
    } else {
        for (i = 0; i < l->len; i++) /* a hook's output must not forge log lines */
            if ((unsigned char)l->buf[i] < 0x20 || l->buf[i] == 0x7f) l->buf[i] = '?';
        l->buf[l->len] = '\0';
        FO_INFO(MOD, "%s[%s]: %s%s", h->name, stream_names[idx], l->buf, l->cut ? " [cut]" : "");
        h->lines_logged++;
    }
    l->len = 0;
    l->cut = false;
}

static void feed(struct fo_hook *h, unsigned idx, const char *p, size_t n)
{
    struct out_line *l = &h->line[idx];
    const char *nl;
    size_t take, room;

    while (n > 0) {
        nl = memchr(p, '\n', n);
        take = nl != NULL ? (size_t)(nl - p) : n;
        room = LINE_MAX_BYTES - l->len;
        if (h->lines_logged < MAX_LINES) {
            memcpy(l->buf + l->len, p, take < room ? take : room);
            l->len += take < room ? take : room;
        }
        if (take > room) l->cut = true;
        if (nl == NULL) return;
        emit_line(h, idx);
        p += take + 1;
        n -= take + 1;
    }
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct fo_hook *h = handle->data;
    unsigned idx = handle == (uv_handle_t *)&h->pipes[0] ? 0 : 1;

    buf->base = h->readbuf[idx];
    buf->len = sizeof(h->readbuf[idx]);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct fo_hook *h = s->data;
    unsigned idx = s == (uv_stream_t *)&h->pipes[0] ? 0 : 1;

    if (nread > 0) {
        feed(h, idx, buf->base, (size_t)nread);
        return;
    }
    if (nread == 0) return;
    if (nread != UV_EOF) FO_WARN(MOD, "%s: reading %s: %s", h->name, stream_names[idx], uv_strerror((int)nread));
    if (h->line[idx].len > 0 || h->line[idx].cut) emit_line(h, idx);
    uv_read_stop(s);
    h->eof[idx] = true;
    if (h->state == HS_DRAINING && h->eof[0] && h->eof[1]) close_all(h);
}

/* ------------------------------------------------------------------ process and timer */

static void exit_cb(uv_process_t *proc, int64_t exit_status, int term_signal)
{
    struct fo_hook *h = proc->data;

    h->exited = true;
    h->exit_status = exit_status;
    h->term_signal = term_signal;
    /* On the loop's clock, the one the timeout runs on: a hook killed by its timeout
     * never reports less than timeout_ms. (uv_hrtime() here against a start on the
     * loop's cached, whole-millisecond time could say 299 ms for a 300 ms timeout.) */
    h->duration_ms = (unsigned)(uv_now(h->loop) - h->t0_ms);
    /* We were killing it: make sure nothing it started lingers either. */
    if (h->timed_out || h->canceled || h->io_failed) signal_group(h, SIGKILL);
    if (h->canceled || (h->eof[0] && h->eof[1])) {
        close_all(h);
        return;
    }
    h->state = HS_DRAINING;
    uv_timer_start(&h->timer, timer_cb, DRAIN_GRACE_MS, 0);
}

static void timer_cb(uv_timer_t *t)
{
    struct fo_hook *h = t->data;

    switch (h->state) {
    case HS_RUNNING:
        FO_WARN(MOD, "%s: timed out after %u ms, sending SIGTERM", h->name, h->timeout_ms);
        h->timed_out = true;
        h->state = HS_TERMINATING;
        signal_group(h, SIGTERM);
        uv_timer_start(&h->timer, timer_cb, KILL_AFTER_MS, 0);
        return;
    case HS_TERMINATING:
        FO_WARN(MOD, "%s: still running %u ms after SIGTERM, sending SIGKILL", h->name, KILL_AFTER_MS);
        h->escalated = true;
        signal_group(h, SIGKILL);
        return;
    case HS_DRAINING:
        FO_WARN(MOD, "%s: output still open %u ms after exit (a background process holds it); closing", h->name,
                DRAIN_GRACE_MS);
        close_all(h);
        return;
    case HS_CLOSING: return;
    }
}

/* ------------------------------------------------------------------ public */

static int check_args(const char *name, const char *path, const char *const *env, unsigned n_env, unsigned timeout_ms,
                      fo_hook_cb cb, struct fo_hook **out, char err[FO_ERRLEN])
{
    unsigned i;

    if (name == NULL || path == NULL || cb == NULL || out == NULL || (n_env > 0 && env == NULL))
        return fo_errf(err, FO_EINVAL, "hook: missing argument");
    if (path[0] != '/') return fo_errf(err, FO_EINVAL, "hook %s: path must be absolute", name);
    if (n_env > FO_HOOK_MAX_ENV) return fo_errf(err, FO_EINVAL, "hook %s: too many environment variables", name);
    if (timeout_ms == 0) return fo_errf(err, FO_EINVAL, "hook %s: timeout must be positive", name);
    for (i = 0; i < n_env; i++)
        if (env[i] == NULL || env[i][0] == '=' || strchr(env[i], '=') == NULL)
            return fo_errf(err, FO_EINVAL, "hook %s: environment entry %u is not KEY=VALUE", name, i + 1);
    return 0;
}

static int spawn_error(const char *name, const char *path, int rc, char err[FO_ERRLEN])
{
    int code = rc == UV_ENOENT ? FO_ENOTFOUND : rc == UV_EACCES || rc == UV_EPERM ? FO_EPERM : FO_EIO;

    FO_WARN(MOD, "%s: spawn %s: %s", name, path, uv_strerror(rc));
    return fo_errf(err, code, "hook %s: spawn %s: %s", name, path, uv_strerror(rc));
}

int fo_hook_run(uv_loop_t *loop, const char *name, const char *path, const char *const *env, unsigned n_env,
                unsigned timeout_ms, fo_hook_cb cb, void *data, struct fo_hook **out, char err[FO_ERRLEN])
{
    char *envp[FO_HOOK_MAX_ENV + 2];
    char *args[2] = {(char *)path, NULL};
    uv_stdio_container_t stdio[3];
    uv_process_options_t opts;
    struct fo_hook *h;
    bool has_path = false;
    unsigned i, n = 0;
    int rc;

    if ((rc = check_args(name, path, env, n_env, timeout_ms, cb, out, err)) != 0) return rc;
    for (i = 0; i < n_env; i++) {
        envp[n++] = (char *)env[i]; /* uv_spawn execs before returning: no copy needed */
        if (strncmp(env[i], "PATH=", 5) == 0) has_path = true;
    }
    if (!has_path) envp[n++] = DEFAULT_PATH;
    envp[n] = NULL;
    if ((h = calloc(1, sizeof(*h))) == NULL) return fo_errf(err, FO_ENOMEM, "hook %s: out of memory", name);
    h->loop = loop;
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->timeout_ms = timeout_ms;
    h->cb = cb;
    h->data = data;
    uv_timer_init(loop, &h->timer);
    uv_pipe_init(loop, &h->pipes[0], 0);
    uv_pipe_init(loop, &h->pipes[1], 0);
    h->timer.data = h->pipes[0].data = h->pipes[1].data = h->proc.data = h;

    memset(&opts, 0, sizeof(opts));
    memset(stdio, 0, sizeof(stdio));
    stdio[0].flags = UV_IGNORE; /* libuv opens /dev/null for an ignored fd 0 */
    for (i = 1; i < 3; i++) {
        stdio[i].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
        stdio[i].data.stream = (uv_stream_t *)&h->pipes[i - 1];
    }
    opts.exit_cb = exit_cb;
    opts.file = path;
    opts.args = args;
    opts.env = envp;
    opts.stdio = stdio;
    opts.stdio_count = 3;
    opts.flags = UV_PROCESS_DETACHED; /* own session and process group */
    h->t0_ms = uv_now(loop);          /* uv_spawn does not update it: the timer below starts here too */
    rc = uv_spawn(loop, &h->proc, &opts);
    h->proc.data = h;
    h->open_handles = 4;
    if (rc != 0) {
        /* libuv initialised the process handle anyway: close everything; the close
         * callbacks free h and the callback never fires (STYLE.md §4). */
        h->silent = true;
        close_all(h);
        return spawn_error(name, path, rc, err);
    }
    h->pid = h->proc.pid;
    h->state = HS_RUNNING;
    FO_INFO(MOD, "%s: started %s (pid %d, timeout %u ms)", h->name, path, h->pid, timeout_ms);
    for (i = 0; i < 2; i++) {
        if (uv_read_start((uv_stream_t *)&h->pipes[i], alloc_cb, read_cb) != 0) {
            /* Cannot happen short of a libuv bug; a hook we cannot watch is killed. */
            h->io_failed = true;
            h->eof[i] = true;
        }
    }
    if (h->io_failed) {
        h->state = HS_TERMINATING;
        signal_group(h, SIGKILL);
    } else {
        uv_timer_start(&h->timer, timer_cb, timeout_ms, 0);
    }
    *out = h;
    return 0;
}

void fo_hook_cancel(struct fo_hook *h)
{
    if (h == NULL || h->canceled) return;
    h->canceled = true;
    switch (h->state) {
    case HS_RUNNING:
    case HS_TERMINATING:
        /* Shutdown does not wait for a polite exit; exit_cb still reaps it. */
        FO_WARN(MOD, "%s: canceled, killing pid %d", h->name, h->pid);
        uv_timer_stop(&h->timer);
        h->state = HS_TERMINATING;
        signal_group(h, SIGKILL);
        return;
    case HS_DRAINING: close_all(h); return;
    case HS_CLOSING: return;
    }
}
