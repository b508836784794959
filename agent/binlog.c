/* SalvageBinlog (agent/binlog.h, docs/binlog-salvage.md): mariadb-binlog over the local
 * binlog files of a dead mysqld, bounded in bytes and time, answered in chunks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/binlog.h"
#include "agent/mysqldproc.h"
#include "agent/server_internal.h"
#include "common/log.h"

#define MOD "salvage"
#define STDERR_KEEP 1024

/* ---- pure parts -------------------------------------------------------------------- */

int fo_binlog_index_parse(const char *index_path, const char *text, size_t len, char (*files)[FO_PATH_LEN],
                          unsigned max, unsigned *n, char err[FO_ERRLEN])
{
    const char *slash = strrchr(index_path, '/');
    size_t dirlen = slash ? (size_t)(slash - index_path) : 0, i = 0;

    *n = 0;
    while (i < len) {
        size_t j = i, k;
        int w;
        while (j < len && text[j] != '\n') j++;
        k = j;
        if (k > i && text[k - 1] == '\r') k--;
        if (k > i) {
            size_t m;
            for (m = i; m < k; m++)
                if ((unsigned char)text[m] < 0x20 || text[m] == 0x7f)
                    return fo_errf(err, FO_EINVAL, "%s: line %u holds a control byte", index_path, *n + 1);
            if (memmem(text + i, k - i, "..", 2) != NULL)
                return fo_errf(err, FO_EINVAL, "%s: '..' in a binlog path", index_path);
            if (*n == max) return fo_errf(err, FO_ETOOBIG, "%s: more than %u binlog files", index_path, max);
            if (text[i] == '/')
                w = snprintf(files[*n], FO_PATH_LEN, "%.*s", (int)(k - i), text + i);
            else
                w = snprintf(files[*n], FO_PATH_LEN, "%.*s/%.*s", (int)dirlen, index_path,
                             (int)(k - i - (k - i > 2 && text[i] == '.' && text[i + 1] == '/' ? 2 : 0)),
                             text + i + (k - i > 2 && text[i] == '.' && text[i + 1] == '/' ? 2 : 0));
            if (w < 0 || (size_t)w >= FO_PATH_LEN) return fo_errf(err, FO_EINVAL, "%s: a path too long", index_path);
            (*n)++;
        }
        i = j + 1;
    }
    return 0;
}

bool fo_binlog_start_valid(const char *start)
{
    size_t n = strnlen(start, FO_SALVAGE_START_LEN);
    unsigned dashes = 0;
    size_t i;

    if (n == FO_SALVAGE_START_LEN) return false;
    if (n == 0) return true;
    for (i = 0; i < n; i++) {
        char ch = start[i];
        bool first = i == 0 || start[i - 1] == ',' || start[i - 1] == '-';
        if (ch >= '0' && ch <= '9') continue;
        if (first) return false; /* empty field */
        if (ch == '-') {
            if (++dashes > 2) return false;
        } else if (ch == ',') {
            if (dashes != 2) return false;
            dashes = 0;
        } else {
            return false;
        }
    }
    return dashes == 2 && start[n - 1] != '-';
}

void fo_binlog_scan_init(struct fo_binlog_scan *sc)
{
    memset(sc, 0, sizeof(*sc));
}

/* A GTID event's header comment: "#261207 20:04:02 server id 7  end_log_pos 367
 * CRC32 0x32f796c7 \tGTID 0-7-1 ddl". */
static void scan_line(struct fo_binlog_scan *sc, const char *l, size_t n)
{
    const char *p, *end = l + n;
    char g[FO_SALVAGE_GTID_LEN];
    size_t k = 0;

    if (n == 0 || l[0] != '#') return;
    p = memmem(l, n, "\tGTID ", 6);
    if (p == NULL) return;
    p += 6;
    while (p < end && k + 1 < sizeof(g) && ((*p >= '0' && *p <= '9') || *p == '-')) g[k++] = *p++;
    g[k] = '\0';
    if (!fo_binlog_start_valid(g) || k == 0) return;
    sc->transactions++;
    if (sc->first_gtid[0] == '\0') memcpy(sc->first_gtid, g, k + 1);
    memcpy(sc->last_gtid, g, k + 1);
}

void fo_binlog_scan_feed(struct fo_binlog_scan *sc, const char *buf, size_t len)
{
    size_t i = 0;

    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t seg = nl ? (size_t)(nl - (buf + i)) : len - i;
        if (!sc->line_long) {
            if (sc->line_len + seg <= sizeof(sc->line)) {
                memcpy(sc->line + sc->line_len, buf + i, seg);
                sc->line_len += seg;
            } else {
                sc->line_long = true;
            }
        }
        if (nl == NULL) return;
        if (!sc->line_long) scan_line(sc, sc->line, sc->line_len);
        sc->line_len = 0;
        sc->line_long = false;
        i += seg + 1;
    }
}

/* ---- the read ---------------------------------------------------------------------- */

struct agent_salvage {
    struct fo_agent_server *s;
    struct agent_conn *c; /* the request being answered; NULL once answered / cancelled */
    char cluster[FO_NAME_LEN];
    uint64_t epoch;
    char start[FO_SALVAGE_START_LEN];
    uv_process_t proc;
    uv_pipe_t out, err;
    uv_timer_t timer;
    unsigned open_handles;
    bool exited, timed_out, cancelled, spawn_failed;
    int64_t exit_status;
    int term_signal;
    char *buf;
    size_t len, cap, limit;
    uint64_t gave_up; /* output bytes read past limit */
    char stderr_text[STDERR_KEEP];
    size_t stderr_len;
    struct fo_binlog_scan scan;
    uint32_t kept_transactions; /* transactions in buf (the scan counts past the cap too) */
    bool complete;              /* read ended well: chunks may be served */
    uint64_t started_ms;
};

static void salvage_free(struct agent_salvage *v)
{
    if (v == NULL) return;
    free(v->buf);
    free(v);
}

/* The agent keeps at most one finished read (the one being sent). */
void fo_agent_salvage_drop(struct fo_agent_server *s)
{
    salvage_free(s->salvage);
    s->salvage = NULL;
}

static void respond(struct agent_conn *c, int code, const char *error, Fo__Agent__SalvageResult *res)
{
    Fo__Agent__AgentResponse r = FO__AGENT__AGENT_RESPONSE__INIT;

    c->sv = NULL;
    r.code = code;
    r.error = (char *)(error ? error : "");
    r.salvage = res;
    fo_agent_conn_respond(c, &r);
}

/* One chunk of a complete read from offset on. */
static void send_chunk(struct agent_conn *c, struct agent_salvage *v, uint64_t offset, uint32_t want)
{
    Fo__Agent__SalvageResult res = FO__AGENT__SALVAGE_RESULT__INIT;
    size_t n = want == 0 || want > FO_SALVAGE_CHUNK_MAX ? FO_SALVAGE_CHUNK_MAX : want;
    char detail[256];
    bool last;

    if (offset > v->len) return respond(c, FO_EINVAL, "offset past the end of the read", NULL);
    if (n > v->len - offset) n = v->len - (size_t)offset;
    last = offset + n == v->len;
    snprintf(detail, sizeof detail, "%u transactions (%s .. %s), %zu bytes read in %llu ms", v->kept_transactions,
             v->scan.first_gtid[0] ? v->scan.first_gtid : "-", v->scan.last_gtid[0] ? v->scan.last_gtid : "-", v->len,
             (unsigned long long)(uv_now(v->s->loop) - v->started_ms));
    res.sql.data = (uint8_t *)v->buf + offset;
    res.sql.len = n;
    res.offset = offset;
    res.total_bytes = v->len;
    res.last = last;
    res.transactions = v->kept_transactions;
    res.first_gtid = v->scan.first_gtid;
    res.last_gtid = v->scan.last_gtid;
    res.detail = detail;
    respond(c, 0, NULL, &res);
    if (last) fo_agent_salvage_drop(v->s); /* fully sent: nothing kept */
}

/* The read ended (child exited and both pipes closed): judge it and answer. */
static void finish(struct agent_salvage *v)
{
    Fo__Agent__SalvageResult res = FO__AGENT__SALVAGE_RESULT__INIT;
    struct agent_conn *c = v->c;
    char detail[1024], *nl;
    int code = 0;

    v->stderr_text[v->stderr_len] = '\0';
    if ((nl = strchr(v->stderr_text, '\n')) != NULL && nl[1] == '\0') *nl = '\0';
    for (nl = v->stderr_text; *nl; nl++)
        if (*nl == '\n') *nl = ' ';
    if (v->spawn_failed) {
        /* Already answered by fo_agent_rpc_salvage. */
        return salvage_free(v);
    }
    if (v->cancelled) {
        code = FO_ECANCELED;
        snprintf(detail, sizeof detail, "cancelled");
    } else if (v->timed_out) {
        code = FO_ETIMEDOUT;
        snprintf(detail, sizeof detail,
                 "salvage_timeout_ms (%u) exceeded: gave up after %zu bytes, %u transactions seen (last %s)",
                 v->s->cfg->salvage_timeout_ms, v->len + (size_t)v->gave_up, v->scan.transactions,
                 v->scan.last_gtid[0] ? v->scan.last_gtid : "-");
    } else if (strstr(v->stderr_text, "ncrypt") != NULL) {
        code = FO_EPERM;
        snprintf(detail, sizeof detail, "the binlog is encrypted (encrypt_binlog): it cannot be read locally: %.300s",
                 v->stderr_text);
    } else if (v->gave_up > 0) {
        code = FO_ETOOBIG;
        snprintf(detail, sizeof detail,
                 "salvage_max_bytes (%zu) exceeded: %llu bytes given up, %u transactions in the binlog after the "
                 "position (%s .. %s), %u of them within the cap",
                 v->limit, (unsigned long long)v->gave_up, v->scan.transactions,
                 v->scan.first_gtid[0] ? v->scan.first_gtid : "-", v->scan.last_gtid[0] ? v->scan.last_gtid : "-",
                 v->kept_transactions);
    } else if (v->term_signal != 0 || v->exit_status != 0) {
        code = FO_EIO;
        snprintf(detail, sizeof detail, "%.200s exited with %s %d: %.400s", v->s->cfg->binlog_reader,
                 v->term_signal ? "signal" : "status", v->term_signal ? v->term_signal : (int)v->exit_status,
                 v->stderr_text[0] ? v->stderr_text : "(nothing on stderr)");
    }
    if (code == 0) {
        v->complete = true;
        FO_INFO(MOD, "cluster %s epoch %llu: read %zu bytes, %u transactions after %s", v->cluster,
                (unsigned long long)v->epoch, v->len, v->kept_transactions, v->start[0] ? v->start : "(start)");
        fo_agent_salvage_drop(v->s);
        v->s->salvage = v; /* kept for the next chunks; dropped when fully sent */
        v->c = NULL;
        if (c != NULL) return send_chunk(c, v, 0, FO_SALVAGE_CHUNK_MAX);
        return;
    }
    FO_WARN(MOD, "cluster %s epoch %llu: %s", v->cluster, (unsigned long long)v->epoch, detail);
    res.total_bytes = v->len + v->gave_up;
    res.transactions = v->scan.transactions;
    res.first_gtid = v->scan.first_gtid;
    res.last_gtid = v->scan.last_gtid;
    res.gave_up_bytes = v->gave_up;
    res.detail = detail;
    if (v->s->salvage == v) v->s->salvage = NULL;
    if (c != NULL) respond(c, code, detail, &res);
    salvage_free(v);
}

static void handle_closed(uv_handle_t *h)
{
    struct agent_salvage *v = h->data;
    struct fo_agent_server *s = v->s;

    if (--v->open_handles == 0) finish(v);
    fo_agent_server_unref(s);
}

static void close_handle(struct agent_salvage *v, uv_handle_t *h)
{
    if (!uv_is_closing(h)) uv_close(h, handle_closed);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static char scratch[65536]; /* read into and discarded: never used across calls */
    struct agent_salvage *v = h->data;

    (void)suggested;
    if ((uv_pipe_t *)h == &v->out && v->len < v->limit) {
        if (v->cap - v->len < 65536 && v->cap < v->limit) {
            size_t ncap = v->cap ? v->cap * 2 : 262144;
            char *nb;
            if (ncap > v->limit) ncap = v->limit;
            if ((nb = realloc(v->buf, ncap)) != NULL) {
                v->buf = nb;
                v->cap = ncap;
            }
        }
        if (v->cap > v->len) {
            *b = uv_buf_init(v->buf + v->len, (unsigned)(v->cap - v->len));
            return;
        }
    }
    *b = uv_buf_init(scratch, sizeof scratch);
}

static void read_out(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct agent_salvage *v = st->data;

    if (n < 0) return close_handle(v, (uv_handle_t *)st);
    if (n == 0) return;
    fo_binlog_scan_feed(&v->scan, b->base, (size_t)n);
    if (b->base == v->buf + v->len) {
        v->len += (size_t)n;
        v->kept_transactions = v->scan.transactions;
    } else {
        v->gave_up += (uint64_t)n;
    }
}

static void read_err(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct agent_salvage *v = st->data;
    size_t k;

    if (n < 0) return close_handle(v, (uv_handle_t *)st);
    k = (size_t)n;
    if (k > STDERR_KEEP - 1 - v->stderr_len) k = STDERR_KEEP - 1 - v->stderr_len;
    memcpy(v->stderr_text + v->stderr_len, b->base, k);
    v->stderr_len += k;
}

static void err_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static char scratch[4096];

    (void)h;
    (void)suggested;
    *b = uv_buf_init(scratch, sizeof scratch);
}

static void exited(uv_process_t *p, int64_t status, int sig)
{
    struct agent_salvage *v = p->data;

    v->exited = true;
    v->exit_status = status;
    v->term_signal = sig;
    uv_timer_stop(&v->timer);
    close_handle(v, (uv_handle_t *)&v->timer);
    close_handle(v, (uv_handle_t *)p);
}

/* The time cap: the child is ours (started by this read), killed by its pid handle. */
static void timed_out(uv_timer_t *t)
{
    struct agent_salvage *v = t->data;

    v->timed_out = true;
    if (!v->exited) uv_process_kill(&v->proc, SIGKILL);
}

void fo_agent_salvage_cancel(struct agent_conn *c)
{
    struct agent_salvage *v = c->sv;

    if (v == NULL) return;
    v->cancelled = true;
    if (!v->exited) uv_process_kill(&v->proc, SIGKILL);
}

/* ---- the request ------------------------------------------------------------------- */

/* The index file: binlog_index, or the one *.index of binlog_dir. */
static int index_path(const struct fo_agent_config *cfg, char out[FO_PATH_LEN], char err[FO_ERRLEN])
{
    struct dirent *d;
    unsigned found = 0;
    DIR *dir;

    if (cfg->binlog_index[0] != '\0') return snprintf(out, FO_PATH_LEN, "%s", cfg->binlog_index), 0;
    if (cfg->binlog_dir[0] == '\0')
        return fo_errf(err, FO_ENOTFOUND, "no binlog_index or binlog_dir in the agent's [mysql] section");
    if ((dir = opendir(cfg->binlog_dir)) == NULL)
        return fo_errf(err, FO_EIO, "binlog_dir %s: %s", cfg->binlog_dir, strerror(errno));
    while ((d = readdir(dir)) != NULL) {
        size_t n = strlen(d->d_name);
        if (n > 6 && strcmp(d->d_name + n - 6, ".index") == 0 && strstr(d->d_name, "relay") == NULL) {
            found++;
            if (snprintf(out, FO_PATH_LEN, "%s/%s", cfg->binlog_dir, d->d_name) >= FO_PATH_LEN) found = 99;
        }
    }
    closedir(dir);
    if (found != 1)
        return fo_errf(err, FO_ENOTFOUND, "binlog_dir %s holds %s binlog *.index file: set binlog_index",
                       cfg->binlog_dir, found == 0 ? "no" : "more than one");
    return 0;
}

/* The binlog files, each checked readable. *files is malloc'd. */
static int binlog_files(const struct fo_agent_config *cfg, char (**files)[FO_PATH_LEN], unsigned *n,
                        char err[FO_ERRLEN])
{
    char idx[FO_PATH_LEN], *text = NULL;
    size_t len = 0;
    ssize_t r;
    unsigned i;
    int fd, rc;

    if ((rc = index_path(cfg, idx, err)) != 0) return rc;
    if ((fd = open(idx, O_RDONLY | O_CLOEXEC)) < 0)
        return fo_errf(err, FO_EIO, "binlog index %s unreadable: %s", idx, strerror(errno));
    if ((text = malloc(FO_SALVAGE_INDEX_MAX)) == NULL) return close(fd), fo_errf(err, FO_ENOMEM, "out of memory");
    while (len < FO_SALVAGE_INDEX_MAX && (r = read(fd, text + len, FO_SALVAGE_INDEX_MAX - len)) > 0) len += (size_t)r;
    close(fd);
    *files = calloc(FO_SALVAGE_MAX_FILES, sizeof(**files));
    if (*files == NULL) return free(text), fo_errf(err, FO_ENOMEM, "out of memory");
    rc = fo_binlog_index_parse(idx, text, len, *files, FO_SALVAGE_MAX_FILES, n, err);
    free(text);
    if (rc == 0 && *n == 0) rc = fo_errf(err, FO_ENOTFOUND, "binlog index %s names no file", idx);
    for (i = 0; rc == 0 && i < *n; i++) {
        if ((fd = open((*files)[i], O_RDONLY | O_CLOEXEC)) < 0)
            rc = fo_errf(err, FO_EIO, "binlog file %s unreadable: %s", (*files)[i], strerror(errno));
        else
            close(fd);
    }
    if (rc != 0) {
        free(*files);
        *files = NULL;
    }
    return rc;
}

static int spawn(struct agent_salvage *v, char (*files)[FO_PATH_LEN], unsigned n, char err[FO_ERRLEN])
{
    const struct fo_agent_config *cfg = v->s->cfg;
    uv_process_options_t o;
    uv_stdio_container_t io[3];
    char startarg[FO_SALVAGE_START_LEN + 32];
    char **argv = calloc(n + 8, sizeof(*argv));
    unsigned k = 0, i;
    int rc;

    if (argv == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    argv[k++] = (char *)cfg->binlog_reader;
    argv[k++] = (char *)"--no-defaults";
    /* Strict mode makes a start position equal to the last GTID an error ("never
     * reached expected GTID state"); without it that is an empty, successful read:
     * nothing newer on the old primary. */
    argv[k++] = (char *)"--skip-gtid-strict-mode";
    if (v->start[0] != '\0') {
        snprintf(startarg, sizeof startarg, "--start-position=%s", v->start);
        argv[k++] = startarg;
    }
    for (i = 0; i < n; i++) argv[k++] = files[i];
    argv[k] = NULL;
    uv_pipe_init(v->s->loop, &v->out, 0);
    uv_pipe_init(v->s->loop, &v->err, 0);
    uv_timer_init(v->s->loop, &v->timer);
    v->out.data = v->err.data = v->timer.data = v->proc.data = v;
    io[0].flags = UV_IGNORE;
    io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    io[1].data.stream = (uv_stream_t *)&v->out;
    io[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    io[2].data.stream = (uv_stream_t *)&v->err;
    memset(&o, 0, sizeof o);
    o.file = cfg->binlog_reader;
    o.args = argv;
    o.exit_cb = exited;
    o.stdio = io;
    o.stdio_count = 3;
    rc = uv_spawn(v->s->loop, &v->proc, &o);
    free(argv);
    v->open_handles = 4;
    v->s->refs += v->open_handles;
    if (rc != 0) {
        /* The handles were initialised (a failed spawn's process handle too, as libuv
         * wants): they close (and unref) like the rest. */
        v->spawn_failed = true;
        close_handle(v, (uv_handle_t *)&v->proc);
        close_handle(v, (uv_handle_t *)&v->out);
        close_handle(v, (uv_handle_t *)&v->err);
        close_handle(v, (uv_handle_t *)&v->timer);
        return fo_errf(err, FO_EIO, "cannot start %s: %s", cfg->binlog_reader, uv_strerror(rc));
    }
    uv_read_start((uv_stream_t *)&v->out, alloc_cb, read_out);
    uv_read_start((uv_stream_t *)&v->err, err_alloc, read_err);
    uv_timer_start(&v->timer, timed_out, cfg->salvage_timeout_ms, 0);
    return 0;
}

/* Whether the local mysqld is dead: nothing listens on its port (sock_diag). */
static int mysqld_dead(const struct fo_agent_config *cfg, char err[FO_ERRLEN])
{
    bool listening = false;
    char e[FO_ERRLEN];

    if (!cfg->mysql) return fo_errf(err, FO_EPERM, "no [mysql] section: the agent cannot tell that mysqld is dead");
    if (fo_mysqld_listening(cfg->mysql_port, &listening, e) != 0)
        return fo_errf(err, FO_EIO, "cannot tell whether mysqld listens on port %u: %s", cfg->mysql_port, e);
    if (listening)
        return fo_errf(err, FO_EBUSY,
                       "a mysqld listens on port %u: salvage reads the binlog of a dead mysqld only (a live one is "
                       "fenced instead)",
                       cfg->mysql_port);
    return 0;
}

void fo_agent_rpc_salvage(struct agent_conn *c, const Fo__Agent__SalvageBinlog *m)
{
    struct fo_agent_server *s = c->s;
    struct agent_salvage *v = s->salvage;
    char(*files)[FO_PATH_LEN] = NULL;
    char err[FO_ERRLEN];
    unsigned n = 0;
    int rc;

    if (m->offset > 0) {
        if (v == NULL || !v->complete || strcmp(v->cluster, m->cluster) != 0 || v->epoch != m->epoch ||
            strcmp(v->start, m->start_gtid) != 0)
            return respond(c, FO_ENOTFOUND, "no finished read of that cluster, epoch and position: start at offset 0",
                           NULL);
        return send_chunk(c, v, m->offset, m->max_chunk);
    }
    fo_agent_salvage_drop(s);
    if ((rc = mysqld_dead(s->cfg, err)) != 0 || (rc = binlog_files(s->cfg, &files, &n, err)) != 0) {
        FO_WARN(MOD, "cluster %s epoch %llu: refused: %s", m->cluster, (unsigned long long)m->epoch, err);
        return respond(c, rc, err, NULL);
    }
    if ((v = calloc(1, sizeof(*v))) == NULL) {
        free(files);
        return respond(c, FO_ENOMEM, "out of memory", NULL);
    }
    v->s = s;
    v->c = c;
    v->epoch = m->epoch;
    v->limit = s->cfg->salvage_max_bytes;
    v->started_ms = uv_now(s->loop);
    snprintf(v->cluster, sizeof v->cluster, "%s", m->cluster);
    snprintf(v->start, sizeof v->start, "%s", m->start_gtid);
    fo_binlog_scan_init(&v->scan);
    c->sv = v;
    rc = spawn(v, files, n, err);
    free(files);
    if (rc != 0) {
        /* finish() runs when the initialised handles have closed; it answers. */
        v->c = NULL;
        c->sv = NULL;
        return respond(c, rc, err, NULL);
    }
    /* The old primary is dead and its binlog tail goes to the new primary: a mysqld that
     * a supervisor starts on this host now must come back fenced (read_only=1), never a
     * second writable primary; the controllers' rejoin then makes it a replica. */
    fo_agent_restart_watch_arm(s, m->cluster, m->epoch, 0);
    FO_INFO(MOD, "cluster %s epoch %llu: reading %u binlog file(s) after %s", m->cluster, (unsigned long long)m->epoch,
            n, m->start_gtid[0] ? m->start_gtid : "(start)");
}
