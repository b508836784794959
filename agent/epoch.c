/* Highest epoch seen per cluster, on disk; see epoch.h for the contract and format.
 *
 * The store is a small array searched linearly: an agent serves a handful of clusters
 * and the file is capped at FO_EPOCH_MAX_CLUSTERS lines. Every accepted raise rewrites
 * the whole file (write temp, fsync, rename, fsync directory), which keeps the on-disk
 * state a single atomic unit without a journal. */
#include "agent/epoch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"

/* Longest decimal u64: 18446744073709551615. */
#define U64_DIGITS 20
/* How much of a bad token an error message quotes. */
#define QUOTE_MAX 32

struct entry {
    char name[FO_EPOCH_CLUSTER_MAX + 1];
    uint64_t epoch;
};

struct fo_epoch_store {
    char dir[PATH_MAX];
    char path[PATH_MAX];
    char tmp[PATH_MAX];
    struct entry *v;
    size_t n, cap;
};

/* What a failed system call means to our callers. */
static int errno_code(int e)
{
    switch (e) {
    case EACCES:
    case EPERM: return FO_EPERM;
    case ENOENT:
    case ENOTDIR: return FO_ENOTFOUND;
    case ENOMEM: return FO_ENOMEM;
    default: return FO_EIO;
    }
}

/* What a failed write means: FO_EPERM is kept for "beyond the window" (epoch.h), so
 * a write refused by the file system is an I/O error like any other. */
static int write_code(int e)
{
    return e == ENOMEM ? FO_ENOMEM : FO_EIO;
}

/* Copies at most QUOTE_MAX bytes of s[0..len) into dst for an error message, with
 * anything unprintable shown as '?' so a corrupt file cannot garble the log. */
static const char *quote(char dst[QUOTE_MAX + 4], const char *s, size_t len)
{
    size_t i, n = len < QUOTE_MAX ? len : QUOTE_MAX;

    for (i = 0; i < n; i++) dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (len > n)
        memcpy(dst + n, "...", 4);
    else
        dst[n] = '\0';
    return dst;
}

static bool name_valid(const char *s, size_t len)
{
    size_t i;

    if (len < 1 || len > FO_EPOCH_CLUSTER_MAX) return false;
    for (i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                  c == '-';
        if (!ok) return false;
    }
    return true;
}

int fo_epoch_cluster_valid(const char *name)
{
    return name != NULL && name_valid(name, strnlen(name, FO_EPOCH_CLUSTER_MAX + 1));
}

/* Parses s[0..len) as a canonical decimal u64: digits only, no sign, no leading zero
 * (except "0" itself), in range (STYLE.md §10: strtoull + end pointer + errno). */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
    char buf[U64_DIGITS + 1], *end;
    unsigned long long v;
    size_t i;

    if (len < 1 || len > U64_DIGITS) return false;
    if (len > 1 && s[0] == '0') return false;
    for (i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtoull(buf, &end, 10);
    if (errno != 0 || end != buf + len) return false;
    *out = (uint64_t)v;
    return true;
}

static struct entry *find(const struct fo_epoch_store *s, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (strlen(s->v[i].name) == len && memcmp(s->v[i].name, name, len) == 0) return &s->v[i];
    return NULL;
}

static int reserve(struct fo_epoch_store *s)
{
    struct entry *v;
    size_t cap;

    if (s->n < s->cap) return 0;
    cap = s->cap ? s->cap * 2 : 8;
    if (cap > FO_EPOCH_MAX_CLUSTERS) cap = FO_EPOCH_MAX_CLUSTERS;
    if (s->n >= cap) return FO_ETOOBIG;
    v = realloc(s->v, cap * sizeof(*v));
    if (v == NULL) return FO_ENOMEM;
    s->v = v;
    s->cap = cap;
    return 0;
}

/* ------------------------------------------------------------------ loading */

/* The version line: "<magic> <version>". */
static int parse_header(const struct fo_epoch_store *s, const char *line, size_t len, char *err)
{
    size_t mlen = strlen(FO_EPOCH_MAGIC);
    uint64_t version;
    char q[QUOTE_MAX + 4];

    if (len <= mlen || memcmp(line, FO_EPOCH_MAGIC, mlen) != 0 || line[mlen] != ' ' ||
        !parse_u64(line + mlen + 1, len - mlen - 1, &version))
        return fo_errf(err, FO_EINVAL, "%s:1: expected version line \"%s %d\", found \"%s\"", s->path, FO_EPOCH_MAGIC,
                       FO_EPOCH_VERSION, quote(q, line, len));
    if (version != FO_EPOCH_VERSION)
        return fo_errf(err, FO_EVERSION, "%s:1: unsupported format version %llu (this agent reads %d)", s->path,
                       (unsigned long long)version, FO_EPOCH_VERSION);
    return 0;
}

/* One "<cluster> <epoch>" line, appended to the store. */
static int parse_entry(struct fo_epoch_store *s, const char *line, size_t len, unsigned lineno, char *err)
{
    const char *sp = memchr(line, ' ', len);
    size_t nlen;
    uint64_t epoch;
    char q[QUOTE_MAX + 4];
    int rc;

    if (sp == NULL)
        return fo_errf(err, FO_EINVAL, "%s:%u: expected \"<cluster> <epoch>\", found \"%s\"", s->path, lineno,
                       quote(q, line, len));
    nlen = (size_t)(sp - line);
    if (!name_valid(line, nlen))
        return fo_errf(err, FO_EINVAL, "%s:%u: invalid cluster name \"%s\"", s->path, lineno, quote(q, line, nlen));
    if (!parse_u64(sp + 1, len - nlen - 1, &epoch))
        return fo_errf(err, FO_EINVAL, "%s:%u: invalid epoch \"%s\" (want decimal 0..%llu)", s->path, lineno,
                       quote(q, sp + 1, len - nlen - 1), (unsigned long long)UINT64_MAX);
    if (find(s, line, nlen) != NULL)
        return fo_errf(err, FO_EINVAL, "%s:%u: cluster \"%s\" appears twice", s->path, lineno, quote(q, line, nlen));
    rc = reserve(s);
    if (rc == FO_ETOOBIG)
        return fo_errf(err, rc, "%s:%u: more than %d clusters", s->path, lineno, FO_EPOCH_MAX_CLUSTERS);
    if (rc != 0) return fo_errf(err, rc, "%s: out of memory", s->path);
    memcpy(s->v[s->n].name, line, nlen);
    s->v[s->n].name[nlen] = '\0';
    s->v[s->n].epoch = epoch;
    s->n++;
    return 0;
}

static int parse(struct fo_epoch_store *s, const char *buf, size_t len, char *err)
{
    size_t pos = 0;
    unsigned lineno = 1;
    int rc;

    if (len == 0) return fo_errf(err, FO_EINVAL, "%s:1: empty file (no version line)", s->path);
    for (; pos < len; lineno++) {
        const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
        size_t llen;

        if (nl == NULL)
            return fo_errf(err, FO_EINVAL, "%s:%u: last line has no newline (truncated file?)", s->path, lineno);
        llen = (size_t)(nl - line);
        if (memchr(line, '\0', llen) != NULL)
            return fo_errf(err, FO_EINVAL, "%s:%u: NUL byte in line", s->path, lineno);
        rc = lineno == 1 ? parse_header(s, line, llen, err) : parse_entry(s, line, llen, lineno, err);
        if (rc != 0) return rc;
        pos += llen + 1;
    }
    return 0;
}

/* Reads the whole file (at most FO_EPOCH_MAX_FILE bytes) into a new buffer. *buf is
 * NULL with 0 returned when the file does not exist. */
static int read_file(const struct fo_epoch_store *s, char **buf, size_t *len, char *err)
{
    struct stat st;
    char *p = NULL;
    size_t n = 0;
    ssize_t r;
    int fd, rc;

    *buf = NULL;
    *len = 0;
    fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) return 0;
    if (fd < 0) return fo_errf(err, errno_code(errno), "open %s: %s", s->path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = fo_errf(err, FO_EINVAL, "%s: not a regular file", s->path);
        goto err_after_open;
    }
    if (st.st_size > FO_EPOCH_MAX_FILE) {
        rc = fo_errf(err, FO_ETOOBIG, "%s: %lld bytes, more than the %d allowed", s->path, (long long)st.st_size,
                     FO_EPOCH_MAX_FILE);
        goto err_after_open;
    }
    /* One byte more than allowed, so a file that grew since fstat is still caught. */
    p = malloc(FO_EPOCH_MAX_FILE + 1);
    if (p == NULL) {
        rc = fo_errf(err, FO_ENOMEM, "%s: out of memory", s->path);
        goto err_after_open;
    }
    while (n <= FO_EPOCH_MAX_FILE && (r = read(fd, p + n, FO_EPOCH_MAX_FILE + 1 - n)) != 0) {
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = fo_errf(err, FO_EIO, "read %s: %s", s->path, strerror(errno));
            goto err_after_alloc;
        }
        n += (size_t)r;
    }
    if (n > FO_EPOCH_MAX_FILE) {
        rc = fo_errf(err, FO_ETOOBIG, "%s: more than %d bytes", s->path, FO_EPOCH_MAX_FILE);
        goto err_after_alloc;
    }
    close(fd);
    *buf = p;
    *len = n;
    return 0;

err_after_alloc:
    free(p);
err_after_open:
    close(fd);
    return rc;
}

static int set_paths(struct fo_epoch_store *s, const char *dir, char *err)
{
    int a = snprintf(s->dir, sizeof(s->dir), "%s", dir);
    int b = snprintf(s->path, sizeof(s->path), "%s/%s", dir, FO_EPOCH_FILE);
    int c = snprintf(s->tmp, sizeof(s->tmp), "%s/%s.tmp", dir, FO_EPOCH_FILE);

    if (a < 0 || b < 0 || c < 0 || (size_t)c >= sizeof(s->tmp) || (size_t)b >= sizeof(s->path))
        return fo_errf(err, FO_EINVAL, "state directory path too long");
    return 0;
}

int fo_epoch_open(struct fo_epoch_store **out, const char *state_dir, char err[FO_ERRLEN])
{
    struct fo_epoch_store *s;
    struct stat st;
    char *buf;
    size_t len;
    int rc;

    if (out == NULL || state_dir == NULL || state_dir[0] == '\0')
        return fo_errf(err, FO_EINVAL, "no state directory given");
    if (stat(state_dir, &st) != 0)
        return fo_errf(err, errno_code(errno), "state directory %s: %s", state_dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return fo_errf(err, FO_ENOTFOUND, "state directory %s: not a directory", state_dir);
    s = calloc(1, sizeof(*s));
    if (s == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    rc = set_paths(s, state_dir, err);
    if (rc != 0) goto err_after_alloc;
    rc = read_file(s, &buf, &len, err);
    if (rc != 0) goto err_after_alloc;
    if (buf != NULL) {
        rc = parse(s, buf, len, err);
        free(buf);
        if (rc != 0) goto err_after_alloc;
    }
    *out = s;
    return 0;

err_after_alloc:
    fo_epoch_close(s);
    return rc;
}

void fo_epoch_close(struct fo_epoch_store *s)
{
    if (s == NULL) return;
    free(s->v);
    free(s);
}

int fo_epoch_get(const struct fo_epoch_store *s, const char *cluster, uint64_t *epoch)
{
    const struct entry *e;

    if (!fo_epoch_cluster_valid(cluster)) return FO_EINVAL;
    e = find(s, cluster, strlen(cluster));
    if (e == NULL) return FO_ENOTFOUND;
    *epoch = e->epoch;
    return 0;
}

/* ------------------------------------------------------------------ saving */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes the store's current contents to the temp file and fsyncs it. */
static int write_tmp(const struct fo_epoch_store *s, const struct fo_buf *b, char *err)
{
    int fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    int rc;

    if (fd < 0) return fo_errf(err, write_code(errno), "create %s: %s", s->tmp, strerror(errno));
    if (write_all(fd, b->p, b->len) != 0) {
        rc = fo_errf(err, write_code(errno), "write %s: %s", s->tmp, strerror(errno));
        goto err_after_open;
    }
    if (fsync(fd) != 0) {
        rc = fo_errf(err, FO_EIO, "fsync %s: %s", s->tmp, strerror(errno));
        goto err_after_open;
    }
    if (close(fd) != 0) {
        rc = fo_errf(err, FO_EIO, "close %s: %s", s->tmp, strerror(errno));
        goto err_after_close;
    }
    return 0;

err_after_open:
    close(fd);
err_after_close:
    unlink(s->tmp);
    return rc;
}

/* The rename is only durable once the directory entry itself is on disk. */
static int sync_dir(const struct fo_epoch_store *s, char *err)
{
    int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0) return fo_errf(err, write_code(errno), "open %s: %s", s->dir, strerror(errno));
    if (fsync(fd) != 0) rc = fo_errf(err, FO_EIO, "fsync %s: %s", s->dir, strerror(errno));
    close(fd);
    return rc;
}

static int save(const struct fo_epoch_store *s, char *err)
{
    struct fo_buf b;
    size_t i;
    int rc;

    fo_buf_init(&b);
    fo_buf_printf(&b, "%s %d\n", FO_EPOCH_MAGIC, FO_EPOCH_VERSION);
    for (i = 0; i < s->n; i++) fo_buf_printf(&b, "%s %llu\n", s->v[i].name, (unsigned long long)s->v[i].epoch);
    if (b.oom) {
        rc = fo_errf(err, FO_ENOMEM, "%s: out of memory", s->path);
        goto out;
    }
    rc = write_tmp(s, &b, err);
    if (rc != 0) goto out;
    if (rename(s->tmp, s->path) != 0) {
        rc = fo_errf(err, write_code(errno), "rename %s to %s: %s", s->tmp, s->path, strerror(errno));
        unlink(s->tmp);
        goto out;
    }
    rc = sync_dir(s, err);
out:
    fo_buf_free(&b);
    return rc;
}

/* Records a new cluster: appended, saved, and taken back out if saving failed. */
static int add_cluster(struct fo_epoch_store *s, const char *cluster, uint64_t epoch, char *err)
{
    int rc = reserve(s);

    if (rc == FO_ETOOBIG) return fo_errf(err, rc, "cannot record cluster %s: %d clusters already", cluster, (int)s->n);
    if (rc != 0) return fo_errf(err, rc, "out of memory");
    snprintf(s->v[s->n].name, sizeof(s->v[s->n].name), "%s", cluster);
    s->v[s->n].epoch = epoch;
    s->n++;
    rc = save(s, err);
    if (rc != 0) s->n--;
    return rc;
}

int fo_epoch_check(const struct fo_epoch_store *s, const char *cluster, uint64_t epoch, uint64_t max_jump,
                   char err[FO_ERRLEN])
{
    const struct entry *e;
    uint64_t highest;

    if (!fo_epoch_cluster_valid(cluster)) return fo_errf(err, FO_EINVAL, "invalid cluster name");
    e = find(s, cluster, strlen(cluster));
    highest = e != NULL ? e->epoch : 0;
    if (epoch < highest)
        return fo_errf(err, FO_ESTALE, "epoch %llu < %llu already seen for cluster %s", (unsigned long long)epoch,
                       (unsigned long long)highest, cluster);
    /* epoch >= highest here, so the difference cannot wrap. */
    if (epoch - highest > max_jump && e != NULL)
        return fo_errf(err, FO_EPERM,
                       "epoch %llu jumps more than %llu (max_epoch_jump) above %llu, the highest seen for cluster %s",
                       (unsigned long long)epoch, (unsigned long long)max_jump, (unsigned long long)highest, cluster);
    if (epoch - highest > max_jump)
        return fo_errf(err, FO_EPERM,
                       "epoch %llu jumps more than %llu (max_epoch_jump) above 0 for cluster %s, never seen before",
                       (unsigned long long)epoch, (unsigned long long)max_jump, cluster);
    return 0;
}

int fo_epoch_check_and_raise(struct fo_epoch_store *s, const char *cluster, uint64_t epoch, uint64_t max_jump,
                             char err[FO_ERRLEN])
{
    struct entry *e;
    uint64_t old;
    int rc;

    if ((rc = fo_epoch_check(s, cluster, epoch, max_jump, err)) != 0) return rc;
    e = find(s, cluster, strlen(cluster));
    if (e == NULL) return add_cluster(s, cluster, epoch, err);
    if (epoch == e->epoch) return 0;
    old = e->epoch;
    e->epoch = epoch;
    rc = save(s, err);
    if (rc != 0) e->epoch = old;
    return rc;
}
