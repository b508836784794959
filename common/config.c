/* Configuration loading: the contract is in config.h.
 *
 * libinih does the INI tokenising; this file feeds it through its own line reader
 * (read_line) so that it always knows the line number, which libinih's handler does
 * not receive. The reader also:
 *   - left-trims every line, because libinih's multi-line mode would otherwise treat
 *     an indented "key = value" as a continuation of the previous key;
 *   - recognises "[section]" headers itself, so that an empty or unknown section is
 *     still an error (libinih never calls the handler for a section without keys) and
 *     so that names longer than libinih's 50-byte section buffer still work;
 *   - stops the parse after the first error (by returning NULL), so the message the
 *     operator sees is the first problem in the file, not the last.
 * No libinih global setting is changed: the library's options are process-wide.
 * The value parsers shared with failoverctl (fo_parse_*) live in parse.c. */
#include "common/config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

#define CONFIG_MAX_BYTES (16u << 20)      /* a config file larger than this is a mistake */
#define NODE_ID_MAX ((uint64_t)INT64_MAX) /* ids are stored in sqlite INTEGER columns */
#define PASSWORD_MAX 255
#define SHOW_LEN 96 /* values echoed in error messages are cut to this */
#define SECTION_LEN 256
#define MAX_KEYS 24
#define DEFAULT_ANTI_FLAP_S 3600 /* [cluster] anti_flap_s default */

/* ---- small helpers ------------------------------------------------------------ */

/* Copies s for an error message: control bytes become '?' and long values are cut,
 * so a hostile or binary file cannot flood a terminal or a log line. */
static const char *show(const char *s, char out[SHOW_LEN])
{
    size_t i, n = strlen(s), lim = SHOW_LEN - 4;

    for (i = 0; i < n && i < lim; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    if (n > lim) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

/* Copies s into a fixed field; fails rather than truncating. */
static int copy_field(char *dst, size_t size, const char *s)
{
    int n = snprintf(dst, size, "%s", s);

    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

/* ---- password file ---------------------------------------------------------- */

/* Extracts the first line. Messages never include the file's content. */
static int first_line(const char *buf, size_t got, int full, char *out, size_t outlen, const char *path, char *err)
{
    const char *nl = memchr(buf, '\n', got);
    size_t n = nl ? (size_t)(nl - buf) : got;

    if (nl == NULL && full)
        return fo_errf(err, FO_EINVAL, "%s: first line is longer than %d bytes", path, PASSWORD_MAX);
    if (n > 0 && buf[n - 1] == '\r') n--;
    if (n > PASSWORD_MAX) return fo_errf(err, FO_EINVAL, "%s: first line is longer than %d bytes", path, PASSWORD_MAX);
    if (n == 0) return fo_errf(err, FO_EINVAL, "%s: password file's first line is empty", path);
    if (memchr(buf, '\0', n) != NULL) return fo_errf(err, FO_EINVAL, "%s: password contains a NUL byte", path);
    if (n >= outlen) return fo_errf(err, FO_EINVAL, "%s: password does not fit the buffer", path);
    memcpy(out, buf, n);
    out[n] = '\0';
    return 0;
}

/* Reads up to len bytes; returns bytes read or -1 with errno set. */
static ssize_t read_upto(int fd, char *buf, size_t len)
{
    size_t got = 0;
    ssize_t n;

    while (got < len) {
        n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Opens path read-only into *fd and insists on a regular file (a FIFO would block).
 * Returns 0 or `code` with the reason in err. */
static int open_regular(const char *path, const char *what, int code, struct stat *st, int *fd, char *err)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) return fo_errf(err, code, "%s: cannot open %s: %s", path, what, strerror(errno));
    if (fstat(*fd, st) != 0) {
        fo_errf(err, code, "%s: cannot stat %s: %s", path, what, strerror(errno));
        goto err_after_open;
    }
    if (!S_ISREG(st->st_mode)) {
        fo_errf(err, code, "%s: %s is not a regular file", path, what);
        goto err_after_open;
    }
    return 0;
err_after_open:
    close(*fd);
    *fd = -1;
    return code;
}

/* Reads the password from fd, an open regular file named path in messages. */
static int read_password_fd(int fd, const char *path, char *out, size_t outlen, char *err)
{
    char buf[PASSWORD_MAX + 2]; /* line, '\r' or '\n', and one byte to see overflow */
    ssize_t got;
    int rc;

    got = read_upto(fd, buf, sizeof(buf));
    if (got < 0)
        rc = fo_errf(err, FO_EINVAL, "%s: cannot read password file: %s", path, strerror(errno));
    else
        rc = first_line(buf, (size_t)got, (size_t)got == sizeof(buf), out, outlen, path, err);
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

int fo_read_password_file(const char *path, char *out, size_t outlen, char err[FO_ERRLEN])
{
    struct stat st;
    int fd, rc;

    rc = open_regular(path, "password file", FO_EINVAL, &st, &fd, err);
    if (rc != 0) return rc;
    rc = read_password_fd(fd, path, out, outlen, err);
    close(fd);
    return rc;
}

/* ---- secrets directory -------------------------------------------------------- */

/* True if path has a "." or ".." component: such a path says one thing and means
 * another, and is never needed to name a file inside secrets_dir. */
static bool has_dot_component(const char *path)
{
    const char *p = path;

    while (*p != '\0') {
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return true;
        p += n;
        while (*p == '/') p++;
    }
    return false;
}

/* Resolves dir and path (rdir, rpath: PATH_MAX bytes) and checks containment. */
static int resolve_secret(const char *dir, const char *path, char *rdir, char *rpath, char *err)
{
    size_t n;

    if (dir == NULL || dir[0] != '/')
        return fo_errf(err, FO_EINVAL, "secrets_dir '%s' is not an absolute path", dir ? dir : "");
    if (path == NULL || path[0] != '/')
        return fo_errf(err, FO_EINVAL, "password file '%s' is not an absolute path", path ? path : "");
    if (has_dot_component(path))
        return fo_errf(err, FO_EPERM, "password file '%s': '.' and '..' components are not allowed", path);
    if (realpath(dir, rdir) == NULL) return fo_errf(err, FO_EINVAL, "secrets_dir %s: %s", dir, strerror(errno));
    if (realpath(path, rpath) == NULL)
        return fo_errf(err, FO_EINVAL, "%s: cannot open password file: %s", path, strerror(errno));
    n = strlen(rdir);
    if (n == 1) return 0; /* secrets_dir = / */
    if (strncmp(rpath, rdir, n) != 0 || rpath[n] != '/') {
        if (strcmp(rpath, path) == 0)
            return fo_errf(err, FO_EPERM, "password file %s is outside secrets_dir %s", path, rdir);
        return fo_errf(err, FO_EPERM, "password file %s resolves to %s, outside secrets_dir %s", path, rpath, rdir);
    }
    return 0;
}

int fo_secret_path_check(const char *dir, const char *path, char *resolved, char err[FO_ERRLEN])
{
    char rdir[PATH_MAX], rpath[PATH_MAX];
    int rc = resolve_secret(dir, path, rdir, rpath, err);

    if (rc == 0 && resolved != NULL && copy_field(resolved, FO_PATH_LEN, rpath) != 0)
        return fo_errf(err, FO_EINVAL, "%s: resolved path is longer than %d bytes", path, FO_PATH_LEN - 1);
    return rc;
}

/* Opens rpath (inside rdir) without leaving rdir: openat2(RESOLVE_BENEATH) rejects a
 * link or "..", swapped in after the check, that leads outside. O_NONBLOCK: a FIFO
 * must not block the open (it is then refused as not a regular file). */
static int open_beneath(const char *rdir, const char *rpath)
{
    int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    struct open_how how;
    int dfd, fd, saved;

    dfd = open(rdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -1;
    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t)flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    fd = (int)syscall(SYS_openat2, dfd, rpath + strlen(rdir) + (strcmp(rdir, "/") != 0), &how, sizeof(how));
    saved = errno;
    close(dfd);
    if (fd < 0 && (saved == ENOSYS || saved == EPERM)) return open(rpath, flags | O_NOFOLLOW); /* old kernel, seccomp */
    errno = saved;
    return fd;
}

int fo_read_secret_file(const char *dir, const char *path, char *out, size_t outlen, char err[FO_ERRLEN])
{
    char rdir[PATH_MAX], rpath[PATH_MAX];
    struct stat st;
    int fd, rc;

    rc = resolve_secret(dir, path, rdir, rpath, err);
    if (rc != 0) return rc;
    fd = open_beneath(rdir, rpath);
    if (fd < 0) {
        if (errno == EXDEV || errno == ELOOP)
            return fo_errf(err, FO_EPERM, "password file %s changed to lead outside secrets_dir %s", path, rdir);
        return fo_errf(err, FO_EINVAL, "%s: cannot open password file: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = fo_errf(err, FO_EINVAL, "%s: password file is not a regular file", path);
    else
        rc = read_password_fd(fd, path, out, outlen, err);
    close(fd);
    return rc;
}

/* ---- MySQL connection settings ------------------------------------------------ */

static const char *const ssl_mode_names[] = {
    [FO_SSL_PREFERRED] = "preferred",
    [FO_SSL_OFF] = "off",
    [FO_SSL_REQUIRED] = "required",
    [FO_SSL_VERIFY_CA] = "verify_ca",
    [FO_SSL_VERIFY_IDENTITY] = "verify_identity",
};

int fo_parse_ssl_mode(const char *s, enum fo_ssl_mode *out, char err[FO_ERRLEN])
{
    char norm[32], shown[SHOW_LEN];
    size_t i;

    for (i = 0; s[i] != '\0' && i + 1 < sizeof(norm); i++)
        norm[i] = s[i] == '-' ? '_' : (char)tolower((unsigned char)s[i]);
    norm[i] = '\0';
    for (i = 0; s[strlen(norm)] == '\0' && i < sizeof(ssl_mode_names) / sizeof(ssl_mode_names[0]); i++)
        if (strcmp(norm, ssl_mode_names[i]) == 0) {
            *out = (enum fo_ssl_mode)i;
            return 0;
        }
    return fo_errf(err, FO_EINVAL, "'%s' is not one of off|preferred|required|verify_ca|verify_identity",
                   show(s, shown));
}

const char *fo_ssl_mode_name(enum fo_ssl_mode m)
{
    return (unsigned)m < sizeof(ssl_mode_names) / sizeof(ssl_mode_names[0]) ? ssl_mode_names[m] : "unknown";
}

const char *fo_mysql_auth_plugins(enum fo_ssl_mode m)
{
    /* caching_sha2_password's and sha256_password's full authentication hand the
     * password to whoever holds the TLS session (or the RSA key the server sends):
     * only a verified server may receive it. */
    if (m == FO_SSL_VERIFY_CA || m == FO_SSL_VERIFY_IDENTITY)
        return "mysql_native_password,client_ed25519,caching_sha2_password,sha256_password";
    return "mysql_native_password,client_ed25519";
}

/* ---- loader state ----------------------------------------------------------- */

enum sec_kind { SEC_NONE, SEC_MAIN, SEC_PROBE, SEC_PEER, SEC_CLUSTER, SEC_FAILOVER, SEC_TLS, SEC_LIMITS, SEC_MYSQL };
/* K_ABSPATH: a path that must be absolute; K_HOOK: an absolute path to an executable
 * regular file, checked when the config is loaded (DESIGN.md §9: fail before start). */
enum key_type {
    K_U64,
    K_UINT,
    K_IPV4,
    K_HOSTPORT,
    K_PATH,
    K_ABSPATH,
    K_HOOK,
    K_USER,
    K_BOOL,
    K_LOGLEVEL,
    K_FAULT,
    K_INSTANCE,
    K_CIDR4,
    K_IFNAME,
    K_READER_VIP,
    K_SSL_MODE,
    K_CO_PRIMARIES
};

struct key_def {
    const char *name;
    enum key_type type;
    size_t off;  /* field offset in the section's struct */
    size_t size; /* field size */
    uint64_t min, max;
    int required;
    int repeat; /* may appear more than once */
};

#define FIELD(type, member) offsetof(type, member), sizeof(((type *)0)->member)

enum {
    MK_NODE_ID,
    MK_RAFT,
    MK_ADMIN,
    MK_HTTP,
    MK_DATA_DIR,
    MK_ELECTION,
    MK_HEARTBEAT,
    MK_SNAP_THRESHOLD,
    MK_SNAP_TRAILING,
    MK_MAX_FRAME,
    MK_LOG_LEVEL,
    MK_SECRETS_DIR,
    MK_UI,
    MK_COUNT
};
enum { PK_RAFT, PK_ADMIN, PK_HTTP, PK_COUNT };
enum {
    CK_USER,
    CK_PASSWORD_FILE,
    CK_INSTANCE,
    CK_REPL_USER,
    CK_REPL_PASSWORD_FILE,
    CK_SEMI_SYNC,
    CK_ANTI_FLAP,
    CK_MAX_LAG,
    CK_VIP,
    CK_VIP_INTERFACE,
    CK_AGENT_PORT,
    CK_VIP_LEASE,
    CK_READER_VIP,
    CK_READER_LAG,
    CK_SSL_MODE,
    CK_SSL_CA,
    CK_CO_PRIMARIES,
    CK_REDISCOVER,
    CK_ADOPT,
    CK_COUNT
};
enum { TK_CA, TK_CERT, TK_KEY, TK_INSECURE, TK_COUNT };
enum { YK_SSL_MODE, YK_SSL_CA, YK_COUNT };

static const struct key_def main_keys[MK_COUNT + 1] = {
    [MK_NODE_ID] = {"node_id", K_U64, FIELD(struct fo_config, node_id), 1, NODE_ID_MAX, 1, 0},
    [MK_RAFT] = {"raft_address", K_IPV4, FIELD(struct fo_config, raft_address), 0, 0, 1, 0},
    [MK_ADMIN] = {"admin_address", K_HOSTPORT, FIELD(struct fo_config, admin_address), 0, 0, 1, 0},
    [MK_HTTP] = {"http_address", K_HOSTPORT, FIELD(struct fo_config, http_address), 0, 0, 1, 0},
    [MK_DATA_DIR] = {"data_dir", K_PATH, FIELD(struct fo_config, data_dir), 0, 0, 1, 0},
    [MK_ELECTION] = {"election_timeout_ms", K_UINT, FIELD(struct fo_config, election_timeout_ms), 100, 60000, 0, 0},
    [MK_HEARTBEAT] = {"heartbeat_timeout_ms", K_UINT, FIELD(struct fo_config, heartbeat_timeout_ms), 10, 60000, 0, 0},
    [MK_SNAP_THRESHOLD] = {"snapshot_threshold", K_UINT, FIELD(struct fo_config, snapshot_threshold), 4, 1000000, 0, 0},
    [MK_SNAP_TRAILING] = {"snapshot_trailing", K_UINT, FIELD(struct fo_config, snapshot_trailing), 0, 1000000, 0, 0},
    [MK_MAX_FRAME] = {"max_frame_bytes", K_UINT, FIELD(struct fo_config, max_frame_bytes), 1024, 67108864, 0, 0},
    [MK_LOG_LEVEL] = {"log_level", K_LOGLEVEL, FIELD(struct fo_config, log_level), 0, 0, 0, 0},
    [MK_SECRETS_DIR] = {"secrets_dir", K_ABSPATH, FIELD(struct fo_config, secrets_dir), 0, 0, 0, 0},
    [MK_UI] = {"ui", K_BOOL, FIELD(struct fo_config, ui), 0, 0, 0, 0},
    [MK_COUNT] = {NULL, K_U64, 0, 0, 0, 0, 0, 0},
};

static const struct key_def peer_keys[PK_COUNT + 1] = {
    [PK_RAFT] = {"raft_address", K_IPV4, FIELD(struct fo_peer, raft_address), 0, 0, 1, 0},
    [PK_ADMIN] = {"admin_address", K_HOSTPORT, FIELD(struct fo_peer, admin_address), 0, 0, 1, 0},
    [PK_HTTP] = {"http_address", K_HOSTPORT, FIELD(struct fo_peer, http_address), 0, 0, 0, 0},
    [PK_COUNT] = {NULL, K_U64, 0, 0, 0, 0, 0, 0},
};

static const struct key_def probe_keys[] = {
    {"interval_ms", K_UINT, FIELD(struct fo_probe_cfg, interval_ms), 50, 60000, 0, 0},
    {"connect_timeout_ms", K_UINT, FIELD(struct fo_probe_cfg, connect_timeout_ms), 50, 60000, 0, 0},
    {"read_timeout_ms", K_UINT, FIELD(struct fo_probe_cfg, read_timeout_ms), 50, 60000, 0, 0},
    {"down_after", K_UINT, FIELD(struct fo_probe_cfg, down_after), 1, 100, 0, 0},
    {NULL, K_U64, 0, 0, 0, 0, 0, 0},
};

static const struct key_def cluster_keys[CK_COUNT + 1] = {
    [CK_USER] = {"user", K_USER, FIELD(struct fo_cluster_cfg, user), 0, 0, 1, 0},
    [CK_PASSWORD_FILE] = {"password_file", K_PATH, FIELD(struct fo_cluster_cfg, password_file), 0, 0, 1, 0},
    [CK_INSTANCE] = {"instance", K_INSTANCE, 0, 0, 0, 0, 1, 1},
    [CK_REPL_USER] = {"repl_user", K_USER, FIELD(struct fo_cluster_cfg, repl_user), 0, 0, 0, 0},
    [CK_REPL_PASSWORD_FILE] = {"repl_password_file", K_ABSPATH, FIELD(struct fo_cluster_cfg, repl_password_file), 0, 0,
                               0, 0},
    [CK_SEMI_SYNC] = {"semi_sync", K_BOOL, FIELD(struct fo_cluster_cfg, semi_sync), 0, 0, 0, 0},
    [CK_ANTI_FLAP] = {"anti_flap_s", K_UINT, FIELD(struct fo_cluster_cfg, anti_flap_s), 0, 604800, 0, 0},
    [CK_MAX_LAG] = {"max_lag_s", K_UINT, FIELD(struct fo_cluster_cfg, max_lag_s), 0, 86400, 0, 0},
    [CK_VIP] = {"vip", K_CIDR4, FIELD(struct fo_cluster_cfg, vip), 0, 0, 0, 0},
    [CK_VIP_INTERFACE] = {"vip_interface", K_IFNAME, FIELD(struct fo_cluster_cfg, vip_interface), 0, 0, 0, 0},
    [CK_AGENT_PORT] = {"agent_port", K_UINT, FIELD(struct fo_cluster_cfg, agent_port), 1, 65535, 0, 0},
    [CK_VIP_LEASE] = {"vip_lease_ms", K_UINT, FIELD(struct fo_cluster_cfg, vip_lease_ms), 500, 60000, 0, 0},
    [CK_READER_VIP] = {"reader_vip", K_READER_VIP, 0, 0, 0, 0, 0, 1},
    [CK_READER_LAG] = {"reader_max_lag_s", K_UINT, FIELD(struct fo_cluster_cfg, reader_max_lag_s), 1, 86400, 0, 0},
    [CK_SSL_MODE] = {"ssl_mode", K_SSL_MODE, FIELD(struct fo_cluster_cfg, tls.mode), 0, 0, 0, 0},
    [CK_SSL_CA] = {"ssl_ca", K_ABSPATH, FIELD(struct fo_cluster_cfg, tls.ca), 0, 0, 0, 0},
    [CK_CO_PRIMARIES] = {"co_primaries", K_CO_PRIMARIES, FIELD(struct fo_cluster_cfg, co_primaries), 0, 0, 0, 0},
    /* 1..4 are refused in check_rediscover: 0 means off, which a plain range cannot say. */
    [CK_REDISCOVER] = {"rediscover_interval_s", K_UINT, FIELD(struct fo_cluster_cfg, rediscover_interval_s), 0,
                       FO_REDISCOVER_MAX_S, 0, 0},
    [CK_ADOPT] = {"adopt_replicas", K_BOOL, FIELD(struct fo_cluster_cfg, adopt_replicas), 0, 0, 0, 0},
    [CK_COUNT] = {NULL, K_U64, 0, 0, 0, 0, 0, 0},
};

static const struct key_def mysql_keys[YK_COUNT + 1] = {
    [YK_SSL_MODE] = {"ssl_mode", K_SSL_MODE, FIELD(struct fo_config, mysql_tls.mode), 0, 0, 0, 0},
    [YK_SSL_CA] = {"ssl_ca", K_ABSPATH, FIELD(struct fo_config, mysql_tls.ca), 0, 0, 0, 0},
    [YK_COUNT] = {NULL, K_U64, 0, 0, 0, 0, 0, 0},
};

static const struct key_def tls_keys[TK_COUNT + 1] = {
    [TK_CA] = {"ca_file", K_PATH, FIELD(struct fo_tls_cfg, ca_file), 0, 0, 0, 0},
    [TK_CERT] = {"cert_file", K_PATH, FIELD(struct fo_tls_cfg, cert_file), 0, 0, 0, 0},
    [TK_KEY] = {"key_file", K_PATH, FIELD(struct fo_tls_cfg, key_file), 0, 0, 0, 0},
    [TK_INSECURE] = {"insecure", K_BOOL, FIELD(struct fo_tls_cfg, insecure), 0, 0, 0, 0},
    [TK_COUNT] = {NULL, K_U64, 0, 0, 0, 0, 0, 0},
};

enum {
    FK_PRE,
    FK_POST,
    FK_POST_FAILED,
    FK_HOOK_TIMEOUT,
    FK_CONFIRM_WINDOW,
    FK_RELAY_WAIT,
    FK_STEP_TIMEOUT,
    FK_TILT_GRACE,
    FK_FAULT,
    FK_COUNT
};

static const struct key_def failover_keys[FK_COUNT + 1] = {
    [FK_PRE] = {"pre_failover", K_HOOK, FIELD(struct fo_failover_cfg, pre_failover), 0, 0, 0, 0},
    [FK_POST] = {"post_failover", K_HOOK, FIELD(struct fo_failover_cfg, post_failover), 0, 0, 0, 0},
    [FK_POST_FAILED] = {"post_failover_failed", K_HOOK, FIELD(struct fo_failover_cfg, post_failover_failed), 0, 0, 0,
                        0},
    [FK_HOOK_TIMEOUT] = {"hook_timeout_ms", K_UINT, FIELD(struct fo_failover_cfg, hook_timeout_ms), 100, 600000, 0, 0},
    [FK_CONFIRM_WINDOW] = {"confirm_window_ms", K_UINT, FIELD(struct fo_failover_cfg, confirm_window_ms), 500, 60000, 0,
                           0},
    [FK_RELAY_WAIT] = {"relay_wait_ms", K_UINT, FIELD(struct fo_failover_cfg, relay_wait_ms), 100, 600000, 0, 0},
    [FK_STEP_TIMEOUT] = {"step_timeout_ms", K_UINT, FIELD(struct fo_failover_cfg, step_timeout_ms), 500, 600000, 0, 0},
    [FK_TILT_GRACE] = {"tilt_grace_ms", K_UINT, FIELD(struct fo_failover_cfg, tilt_grace_ms), 0, 600000, 0, 0},
    [FK_FAULT] = {"fault_injection", K_FAULT, FIELD(struct fo_failover_cfg, fault), 0, 0, 0, 0},
    [FK_COUNT] = {NULL, K_U64, 0, 0, 0, 0, 0, 0},
};

_Static_assert(MK_COUNT <= MAX_KEYS, "key_line[] too small for [failoverd]");
_Static_assert(CK_COUNT <= MAX_KEYS, "key_line[] too small for [cluster]");
_Static_assert(FK_COUNT <= MAX_KEYS, "key_line[] too small for [failover]");
_Static_assert(TK_COUNT <= MAX_KEYS, "key_line[] too small for [tls]");
_Static_assert(YK_COUNT <= MAX_KEYS, "key_line[] too small for [mysql]");

/* [limits]: connection budgets of the admin port and the HTTP server (DESIGN.md §10,
 * common/listener.h). */
static const struct key_def limits_keys[] = {
    {"handshake_timeout_ms", K_UINT, FIELD(struct fo_limits_cfg, handshake_timeout_ms), 100, 60000, 0, 0},
    {"admin_max_conns", K_UINT, FIELD(struct fo_limits_cfg, admin_max_conns), 1, 65536, 0, 0},
    {"admin_reserved_conns", K_UINT, FIELD(struct fo_limits_cfg, admin_reserved_conns), 0, 4096, 0, 0},
    {"max_unauth", K_UINT, FIELD(struct fo_limits_cfg, max_unauth), 1, 65536, 0, 0},
    {"max_unauth_per_source", K_UINT, FIELD(struct fo_limits_cfg, max_unauth_per_source), 1, 65536, 0, 0},
    {"trusted_unauth", K_UINT, FIELD(struct fo_limits_cfg, trusted_unauth), 0, 4096, 0, 0},
    {"http_max_conns", K_UINT, FIELD(struct fo_limits_cfg, http_max_conns), 2, 65536, 0, 0},
    {"http_max_per_source", K_UINT, FIELD(struct fo_limits_cfg, http_max_per_source), 1, 65536, 0, 0},
    {"http_timeout_s", K_UINT, FIELD(struct fo_limits_cfg, http_timeout_s), 1, 3600, 0, 0},
    {"max_clusters", K_UINT, FIELD(struct fo_limits_cfg, max_clusters), 1, FO_LIMIT_MAX_WATCHED, 0, 0},
    {"max_servers", K_UINT, FIELD(struct fo_limits_cfg, max_servers), 1, FO_LIMIT_MAX_WATCHED, 0, 0},
    {NULL, K_U64, 0, 0, 0, 0, 0, 0},
};

/* Where each key of one section was set (0 = not set), for duplicate and missing
 * checks and for cross-section messages that must point at a line. */
struct section_state {
    unsigned header_line;
    unsigned key_line[MAX_KEYS];
};

/* What a [cluster] section said that is checked once the whole file is read
 * ([failoverd] secrets_dir and [mysql] may come after it). */
struct cluster_lines {
    unsigned header, password_file, repl_password_file, ssl_mode, ssl_ca;
};

struct inst_ref {
    unsigned cluster, index, line;
    const struct fo_instance_cfg *inst; /* filled in once the arrays stop moving */
};

struct loader {
    struct fo_config *c;
    const char *name; /* file name for messages */
    const char *text;
    size_t pos, len;
    unsigned line; /* number of the line last handed to libinih */
    int rc;        /* first error, sticky */
    unsigned err_line;
    char err[FO_ERRLEN];

    enum sec_kind kind; /* current section */
    char section[SECTION_LEN];
    const struct key_def *keys;
    unsigned cur; /* peer or cluster index */
    struct section_state main, probe, cluster, failover, tls, limits, mysql;
    struct section_state peers[FO_MAX_PEERS];
    struct cluster_lines *cl_lines; /* one per cluster */
    size_t cl_lines_cap;

    size_t clusters_cap, instances_cap;
    struct inst_ref *refs;
    size_t n_refs, refs_cap;
};

/* Records the first error as "file:line: [section] key: reason". line 0 omits the
 * line, a NULL section or key omits that part. Messages longer than FO_ERRLEN are
 * cut (fo_errf truncates safely); the prefix comes first so it always survives. */
__attribute__((format(printf, 6, 7))) static int fail(struct loader *ld, unsigned line, const char *section,
                                                      const char *key, int code, const char *fmt, ...)
{
    char msg[FO_ERRLEN], where[FO_ERRLEN], at[32] = "", s1[SHOW_LEN], s2[SHOW_LEN];
    va_list ap;

    if (ld->rc != 0) return ld->rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (section != NULL && key != NULL)
        snprintf(where, sizeof(where), "[%s] %s", show(section, s1), show(key, s2));
    else if (section != NULL)
        snprintf(where, sizeof(where), "[%s]", show(section, s1));
    else
        snprintf(where, sizeof(where), "%s", key ? show(key, s2) : "");
    if (line != 0) snprintf(at, sizeof(at), ":%u", line);
    fo_errf(ld->err, code, "%s%s: %s%s%s", ld->name, at, where, where[0] ? ": " : "", msg);
    ld->rc = code;
    ld->err_line = line;
    return code;
}

static void *section_base(struct loader *ld)
{
    switch (ld->kind) {
    case SEC_MAIN: return ld->c;
    case SEC_PROBE: return &ld->c->probe;
    case SEC_PEER: return &ld->c->peers[ld->cur];
    case SEC_CLUSTER: return &ld->c->clusters[ld->cur];
    case SEC_FAILOVER: return &ld->c->failover;
    case SEC_TLS: return &ld->c->tls;
    case SEC_LIMITS: return &ld->c->limits;
    case SEC_MYSQL: return ld->c;
    case SEC_NONE: break;
    }
    return NULL;
}

static struct section_state *section_state(struct loader *ld)
{
    switch (ld->kind) {
    case SEC_MAIN: return &ld->main;
    case SEC_PROBE: return &ld->probe;
    case SEC_PEER: return &ld->peers[ld->cur];
    case SEC_CLUSTER: return &ld->cluster;
    case SEC_FAILOVER: return &ld->failover;
    case SEC_TLS: return &ld->tls;
    case SEC_LIMITS: return &ld->limits;
    case SEC_MYSQL: return &ld->mysql;
    case SEC_NONE: break;
    }
    return NULL;
}

/* ---- values ----------------------------------------------------------------- */

static int add_instance(struct loader *ld, const char *key, const char *value);
static int add_reader_vip(struct loader *ld, const char *key, const char *value);
static int check_hook(struct loader *ld, const struct key_def *def, const char *path);

/* Sets a string field after validation; `kind` names what the value is. */
static int store_string(struct loader *ld, const struct key_def *def, char *field, const char *value)
{
    char perr[FO_ERRLEN], shown[SHOW_LEN];
    size_t i;
    int rc = 0;

    if (def->type == K_IPV4) rc = fo_parse_ipv4_port(value, perr);
    if (def->type == K_HOSTPORT) rc = fo_parse_hostport(value, NULL, 0, NULL, perr);
    if (def->type == K_CIDR4) rc = fo_parse_cidr4(value, perr);
    if (def->type == K_IFNAME) rc = fo_check_ifname(value, perr);
    if (rc != 0) return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG, "%s", perr);
    if (value[0] == '\0') return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG, "empty value");
    for (i = 0; def->type == K_USER && value[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)value[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '\'' || ch == '"' || ch == '\\' || ch == '`')
            return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG,
                        "'%s' may contain only printable ASCII without spaces or quotes", show(value, shown));
    }
    if ((def->type == K_ABSPATH || def->type == K_HOOK) && value[0] != '/')
        return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG, "'%s' is not an absolute path",
                    show(value, shown));
    if (copy_field(field, def->size, value) != 0)
        return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG, "'%s' is longer than %zu bytes",
                    show(value, shown), def->size - 1);
    return def->type == K_HOOK ? check_hook(ld, def, value) : 0;
}

/* A hook that cannot run would only be noticed in the middle of a failover; check
 * now. access(X_OK) asks the kernel, so ACLs and noexec mounts count too. */
static int check_hook(struct loader *ld, const struct key_def *def, const char *path)
{
    char shown[SHOW_LEN];
    struct stat st;

    if (stat(path, &st) != 0)
        return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG, "'%s': %s", show(path, shown), strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG, "'%s' is not a regular file", show(path, shown));
    if (access(path, X_OK) != 0 || (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0)
        return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG, "'%s' is not executable", show(path, shown));
    return 0;
}

/* my.cnf spellings, in any case: MySQL DBAs write ON and OFF. */
static int store_bool(struct loader *ld, const struct key_def *def, char *field, const char *value)
{
    static const char *const yes[] = {"yes", "true", "1", "on"}, *const no[] = {"no", "false", "0", "off"};
    char shown[SHOW_LEN];
    bool v;
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(value, yes[i]) == 0 || strcasecmp(value, no[i]) == 0) {
            v = strcasecmp(value, yes[i]) == 0;
            assert(def->size == sizeof(bool));
            memcpy(field, &v, sizeof(bool));
            return 0;
        }
    }
    return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG,
                "'%s' is not a boolean (yes|no|true|false|1|0|on|off)", show(value, shown));
}

static const char *const fault_steps[] = {"", "pre_hook", "fence", "choose", "promote", "repoint", "vip"};

/* "exit_after:fence" -> FO_FAULT_EXIT_AFTER_STEP + step 2; 0 or FO_ECONFIG. */
static int parse_step_fault(const char *value, const char *prefix, enum fo_fault kind, enum fo_fault *f, int *step)
{
    size_t n = strlen(prefix);
    int i;

    if (strncmp(value, prefix, n) != 0) return FO_ENOTFOUND;
    for (i = 1; i < (int)(sizeof(fault_steps) / sizeof(fault_steps[0])); i++)
        if (strcmp(value + n, fault_steps[i]) == 0) {
            *f = kind;
            *step = i;
            return 0;
        }
    return FO_ECONFIG;
}

static int store_fault(struct loader *ld, const struct key_def *def, char *field, const char *value)
{
    char shown[SHOW_LEN];
    enum fo_fault f = FO_FAULT_NONE;
    int step = 0, rc;

    if (strcmp(value, "none") == 0)
        f = FO_FAULT_NONE;
    else if (strcmp(value, "exit_after_begin") == 0)
        f = FO_FAULT_EXIT_AFTER_BEGIN;
    else if ((rc = parse_step_fault(value, "exit_after:", FO_FAULT_EXIT_AFTER_STEP, &f, &step)) != 0 &&
             (rc = parse_step_fault(value, "drop_run_after:", FO_FAULT_DROP_RUN_AFTER_STEP, &f, &step)) != 0)
        return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG,
                    "'%s' is not one of none|exit_after_begin|exit_after:STEP|drop_run_after:STEP "
                    "(STEP: pre_hook fence choose promote repoint vip)",
                    show(value, shown));
    assert(def->size == sizeof(f));
    memcpy(field, &f, sizeof(f));
    ld->c->failover.fault_step = step;
    return 0;
}

static int store_ssl_mode(struct loader *ld, const struct key_def *def, char *field, const char *value)
{
    char perr[FO_ERRLEN];
    enum fo_ssl_mode m;

    if (fo_parse_ssl_mode(value, &m, perr) != 0)
        return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG, "%s", perr);
    assert(def->size == sizeof(m));
    memcpy(field, &m, sizeof(m));
    return 0;
}

static int store_co_primaries(struct loader *ld, const struct key_def *def, char *field, const char *value)
{
    struct fo_endpoint ep[2];
    char perr[FO_ERRLEN];

    assert(def->size == FO_CO_PRIMARIES_LEN);
    if (fo_parse_co_primaries(value, ep, field, perr) != 0)
        return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG, "%s", perr);
    return 0;
}

static int store_value(struct loader *ld, const struct key_def *def, const char *value)
{
    char *field = (char *)section_base(ld) + def->off;
    char perr[FO_ERRLEN], shown[SHOW_LEN];
    uint64_t v;
    int level;

    switch (def->type) {
    case K_U64:
    case K_UINT:
        if (fo_parse_u64(value, def->min, def->max, &v, perr) != 0)
            return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG, "%s", perr);
        if (def->type == K_U64) {
            assert(def->size == sizeof(uint64_t));
            memcpy(field, &v, sizeof(uint64_t));
        } else {
            unsigned u = (unsigned)v; /* max <= 67108864 by the tables */
            assert(def->size == sizeof(unsigned));
            memcpy(field, &u, sizeof(unsigned));
        }
        return 0;
    case K_LOGLEVEL:
        level = fo_log_parse_level(value);
        if (level < 0)
            return fail(ld, ld->line, ld->section, def->name, FO_ECONFIG, "'%s' is not one of debug|info|warn|error",
                        show(value, shown));
        memcpy(field, &level, sizeof(int));
        return 0;
    case K_BOOL: return store_bool(ld, def, field, value);
    case K_FAULT: return store_fault(ld, def, field, value);
    case K_INSTANCE: return add_instance(ld, def->name, value);
    case K_READER_VIP: return add_reader_vip(ld, def->name, value);
    case K_SSL_MODE: return store_ssl_mode(ld, def, field, value);
    case K_CO_PRIMARIES: return store_co_primaries(ld, def, field, value);
    case K_IPV4:
    case K_HOSTPORT:
    case K_PATH:
    case K_ABSPATH:
    case K_HOOK:
    case K_CIDR4:
    case K_IFNAME:
    case K_USER: return store_string(ld, def, field, value);
    }
    return 0;
}

/* ---- instances -------------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 4;
    void *np;

    if (need <= *cap) return 0;
    if (ncap < need) ncap = need;
    np = realloc(*p, ncap * elem);
    if (np == NULL) return -1;
    memset((char *)np + *cap * elem, 0, (ncap - *cap) * elem);
    *p = np;
    *cap = ncap;
    return 0;
}

/* "HOST:PORT [RULE]" */
static int parse_instance(struct loader *ld, const char *key, const char *value, struct fo_instance_cfg *inst)
{
    char buf[FO_ADDR_LEN + 32], perr[FO_ERRLEN], shown[SHOW_LEN];
    char *save = NULL, *addr, *rule, *extra;

    if (copy_field(buf, sizeof(buf), value) != 0)
        return fail(ld, ld->line, ld->section, key, FO_ECONFIG, "'%s' is too long", show(value, shown));
    addr = strtok_r(buf, " \t", &save);
    rule = addr ? strtok_r(NULL, " \t", &save) : NULL;
    extra = rule ? strtok_r(NULL, " \t", &save) : NULL;
    if (addr == NULL) return fail(ld, ld->line, ld->section, key, FO_ECONFIG, "empty value");
    if (extra != NULL)
        return fail(ld, ld->line, ld->section, key, FO_ECONFIG, "'%s': expected HOST:PORT [RULE]", show(value, shown));
    if (fo_parse_hostport(addr, inst->host, sizeof(inst->host), &inst->port, perr) != 0)
        return fail(ld, ld->line, ld->section, key, FO_ECONFIG, "%s", perr);
    inst->rule = FO_RULE_NEUTRAL;
    if (rule != NULL && fo_parse_rule(rule, &inst->rule, perr) != 0)
        return fail(ld, ld->line, ld->section, key, FO_ECONFIG, "%s", perr);
    return 0;
}

static int add_instance(struct loader *ld, const char *key, const char *value)
{
    struct fo_cluster_cfg *cl = &ld->c->clusters[ld->cur];
    struct fo_instance_cfg inst;
    struct inst_ref *ref;
    int rc;

    memset(&inst, 0, sizeof(inst));
    rc = parse_instance(ld, key, value, &inst);
    if (rc != 0) return rc;
    if (cl->n_instances >= FO_MAX_INSTANCES_PER_CLUSTER)
        return fail(ld, ld->line, ld->section, key, FO_ECONFIG, "more than %d instances", FO_MAX_INSTANCES_PER_CLUSTER);
    if (grow((void **)&cl->instances, &ld->instances_cap, cl->n_instances + 1, sizeof(inst)) != 0 ||
        grow((void **)&ld->refs, &ld->refs_cap, ld->n_refs + 1, sizeof(*ref)) != 0)
        return fail(ld, ld->line, ld->section, key, FO_ENOMEM, "out of memory");
    ref = &ld->refs[ld->n_refs++];
    ref->cluster = ld->cur;
    ref->index = cl->n_instances;
    ref->line = ld->line;
    cl->instances[cl->n_instances++] = inst;
    return 0;
}

/* ---- sections --------------------------------------------------------------- */

/* Called when a section ends: its required keys must have been set. [failoverd] is
 * checked at the end of the file instead, because it may be absent altogether. */
/* A replication account is a user and its password file; one without the other
 * would only fail when a failover repoints the replicas. */
static int check_repl_pair(struct loader *ld, const struct section_state *st)
{
    unsigned user = st->key_line[CK_REPL_USER], file = st->key_line[CK_REPL_PASSWORD_FILE];

    int set = user != 0 ? CK_REPL_USER : CK_REPL_PASSWORD_FILE;
    int unset = user != 0 ? CK_REPL_PASSWORD_FILE : CK_REPL_USER;

    if ((user != 0) == (file != 0)) return 0;
    return fail(ld, st->header_line, ld->section, cluster_keys[unset].name, FO_ECONFIG,
                "missing (%s is set on line %u)", cluster_keys[set].name, st->key_line[set]);
}

/* vip_interface goes with vip and reader_vip (one interface for all of a cluster's
 * VIPs); the agent port and lease only mean something with a VIP, but are harmless
 * without one. */
static int check_vip_pair(struct loader *ld, const struct section_state *st)
{
    unsigned vip = st->key_line[CK_VIP] ? st->key_line[CK_VIP] : st->key_line[CK_READER_VIP];
    unsigned ifn = st->key_line[CK_VIP_INTERFACE];
    int set = st->key_line[CK_VIP] ? CK_VIP : CK_READER_VIP;

    if ((vip != 0) == (ifn != 0)) return 0;
    if (vip != 0)
        return fail(ld, st->header_line, ld->section, cluster_keys[CK_VIP_INTERFACE].name, FO_ECONFIG,
                    "missing (%s is set on line %u)", cluster_keys[set].name, vip);
    return fail(ld, st->header_line, ld->section, cluster_keys[CK_VIP].name, FO_ECONFIG,
                "missing (vip_interface is set on line %u; set vip or reader_vip)", ifn);
}

/* reader_vip = a.b.c.d/len, repeatable; distinct from each other and from vip. */
static int add_reader_vip(struct loader *ld, const char *key, const char *value)
{
    struct fo_cluster_cfg *cl = &ld->c->clusters[ld->cur];
    char perr[FO_ERRLEN], shown[SHOW_LEN];
    unsigned i;

    if (fo_parse_cidr4(value, perr) != 0) return fail(ld, ld->line, ld->section, key, FO_ECONFIG, "%s", perr);
    if (strlen(value) >= FO_VIP_LEN)
        return fail(ld, ld->line, ld->section, key, FO_ECONFIG, "'%s' is too long", show(value, shown));
    if (cl->n_reader_vips >= FO_MAX_READER_VIPS)
        return fail(ld, ld->line, ld->section, key, FO_ECONFIG, "more than %d reader VIPs", FO_MAX_READER_VIPS);
    for (i = 0; i < cl->n_reader_vips; i++)
        if (strcmp(cl->reader_vips[i], value) == 0)
            return fail(ld, ld->line, ld->section, key, FO_ECONFIG, "'%s' is listed twice", show(value, shown));
    snprintf(cl->reader_vips[cl->n_reader_vips++], FO_VIP_LEN, "%s", value);
    return 0;
}

/* A reader VIP must not also be the writer VIP (compared by address). */
static int check_reader_vips(struct loader *ld)
{
    const struct fo_cluster_cfg *cl = &ld->c->clusters[ld->cur];
    size_t n;
    unsigned i;

    if (cl->vip[0] == '\0') return 0;
    n = strcspn(cl->vip, "/");
    for (i = 0; i < cl->n_reader_vips; i++)
        if (strncmp(cl->reader_vips[i], cl->vip, n) == 0 && cl->reader_vips[i][n] == '/')
            return fail(ld, ld->cluster.key_line[CK_READER_VIP], ld->section, "reader_vip", FO_ECONFIG,
                        "'%s' is also the writer vip", cl->reader_vips[i]);
    return 0;
}

/* co_primaries must name two of the section's own instances (they may be listed
 * after it, so this runs when the section ends). */
static int check_co_primaries(struct loader *ld, const struct section_state *st)
{
    const struct fo_cluster_cfg *cl = &ld->c->clusters[ld->cur];
    struct fo_endpoint ep[2];
    char perr[FO_ERRLEN];
    unsigned i, k;

    if (cl->co_primaries[0] == '\0') return 0;
    if (fo_parse_co_primaries(cl->co_primaries, ep, NULL, perr) != 0) /* canonical: cannot fail */
        return fail(ld, st->key_line[CK_CO_PRIMARIES], ld->section, "co_primaries", FO_ECONFIG, "%s", perr);
    for (k = 0; k < 2; k++) {
        for (i = 0; i < cl->n_instances; i++)
            if (fo_addr_same(ep[k].host, ep[k].port, cl->instances[i].host, cl->instances[i].port)) break;
        if (i == cl->n_instances)
            return fail(ld, st->key_line[CK_CO_PRIMARIES], ld->section, "co_primaries", FO_ECONFIG,
                        strchr(ep[k].host, ':') ? "[%s]:%u is not an instance of this cluster"
                                                : "%s:%u is not an instance of this cluster",
                        ep[k].host, ep[k].port);
    }
    return 0;
}

/* rediscover_interval_s is 0 (off) or 5..86400; adopt_replicas acts on what
 * rediscovery finds, so it needs it on. */
static int check_rediscover(struct loader *ld, const struct section_state *st)
{
    const struct fo_cluster_cfg *cl = &ld->c->clusters[ld->cur];
    char perr[FO_ERRLEN];

    if (fo_check_rediscover_interval(cl->rediscover_interval_s, perr) != 0)
        return fail(ld, st->key_line[CK_REDISCOVER], ld->section, "rediscover_interval_s", FO_ECONFIG, "%s", perr);
    if (cl->adopt_replicas && cl->rediscover_interval_s == 0)
        return fail(ld, st->key_line[CK_ADOPT], ld->section, "adopt_replicas", FO_ECONFIG,
                    "needs rediscover_interval_s (rediscovery is off)");
    return 0;
}

static int end_section(struct loader *ld)
{
    const struct section_state *st = section_state(ld);
    const struct key_def *k;

    if (ld->kind == SEC_NONE || ld->kind == SEC_MAIN) return 0;
    for (k = ld->keys; k->name != NULL; k++) {
        if (k->required && st->key_line[k - ld->keys] == 0)
            return fail(ld, st->header_line, ld->section, k->name, FO_ECONFIG, "missing");
    }
    if (ld->kind == SEC_CLUSTER && ld->c->clusters[ld->cur].n_instances == 0)
        return fail(ld, st->header_line, ld->section, "instance", FO_ECONFIG, "missing");
    if (ld->kind == SEC_CLUSTER && check_repl_pair(ld, st) != 0) return ld->rc;
    if (ld->kind == SEC_CLUSTER && check_vip_pair(ld, st) != 0) return ld->rc;
    if (ld->kind == SEC_CLUSTER && check_co_primaries(ld, st) != 0) return ld->rc;
    if (ld->kind == SEC_CLUSTER && check_rediscover(ld, st) != 0) return ld->rc;
    if (ld->kind == SEC_CLUSTER) {
        struct cluster_lines *l = &ld->cl_lines[ld->cur];
        l->header = st->header_line;
        l->password_file = st->key_line[CK_PASSWORD_FILE];
        l->repl_password_file = st->key_line[CK_REPL_PASSWORD_FILE];
        l->ssl_mode = st->key_line[CK_SSL_MODE];
        l->ssl_ca = st->key_line[CK_SSL_CA];
        return check_reader_vips(ld);
    }
    return 0;
}

static int begin_single(struct loader *ld, enum sec_kind kind, const struct key_def *keys, struct section_state *st)
{
    if (st->header_line != 0)
        return fail(ld, ld->line, ld->section, NULL, FO_ECONFIG, "duplicate section (first on line %u)",
                    st->header_line);
    st->header_line = ld->line;
    ld->kind = kind;
    ld->keys = keys;
    return 0;
}

static int begin_peer(struct loader *ld, const char *id_text)
{
    char perr[FO_ERRLEN];
    uint64_t id;
    unsigned i;

    if (fo_parse_u64(id_text, 1, NODE_ID_MAX, &id, perr) != 0)
        return fail(ld, ld->line, ld->section, NULL, FO_ECONFIG, "peer id %s", perr);
    for (i = 0; i < ld->c->n_peers; i++)
        if (ld->c->peers[i].id == id)
            return fail(ld, ld->line, ld->section, NULL, FO_ECONFIG, "duplicate peer (first on line %u)",
                        ld->peers[i].header_line);
    if (ld->c->n_peers >= FO_MAX_PEERS)
        return fail(ld, ld->line, ld->section, NULL, FO_ECONFIG, "more than %d peers", FO_MAX_PEERS);
    ld->cur = ld->c->n_peers++;
    ld->c->peers[ld->cur].id = id;
    ld->peers[ld->cur].header_line = ld->line;
    ld->kind = SEC_PEER;
    ld->keys = peer_keys;
    return 0;
}

static int begin_cluster(struct loader *ld, const char *name)
{
    struct fo_config *c = ld->c;
    char perr[FO_ERRLEN];

    if (fo_check_name(name, perr) != 0)
        return fail(ld, ld->line, ld->section, NULL, FO_ECONFIG, "cluster name %s", perr);
    /* Duplicate names and the [limits] counts are checked once the file is read
     * (check_cluster_names, check_counts): [limits] may come after the clusters, and a
     * scan of the earlier names here would make 100,000 clusters quadratic. */
    if (grow((void **)&c->clusters, &ld->clusters_cap, c->n_clusters + 1, sizeof(*c->clusters)) != 0 ||
        grow((void **)&ld->cl_lines, &ld->cl_lines_cap, c->n_clusters + 1, sizeof(*ld->cl_lines)) != 0)
        return fail(ld, ld->line, ld->section, NULL, FO_ENOMEM, "out of memory");
    ld->cur = c->n_clusters++;
    snprintf(c->clusters[ld->cur].name, FO_NAME_LEN, "%s", name); /* checked above */
    c->clusters[ld->cur].anti_flap_s = DEFAULT_ANTI_FLAP_S;
    c->clusters[ld->cur].agent_port = FO_DEFAULT_AGENT_PORT;
    c->clusters[ld->cur].vip_lease_ms = FO_DEFAULT_VIP_LEASE_MS;
    c->clusters[ld->cur].reader_max_lag_s = FO_DEFAULT_READER_MAX_LAG_S;
    memset(&ld->cluster, 0, sizeof(ld->cluster));
    ld->cluster.header_line = ld->line;
    ld->instances_cap = 0;
    ld->kind = SEC_CLUSTER;
    ld->keys = cluster_keys;
    return 0;
}

/* "peer 3" -> "3"; NULL if name is not "<word> <arg>" or "<word>". */
static const char *section_arg(const char *name, const char *word)
{
    size_t n = strlen(word);

    if (strncmp(name, word, n) != 0) return NULL;
    if (name[n] == '\0') return name + n;
    return name[n] == ' ' ? name + n + 1 : NULL;
}

static int begin_section(struct loader *ld, const char *name)
{
    const char *arg;

    if (copy_field(ld->section, sizeof(ld->section), name) != 0)
        return fail(ld, ld->line, NULL, NULL, FO_ECONFIG, "section name too long");
    ld->kind = SEC_NONE;
    if (strcmp(name, "failoverd") == 0) return begin_single(ld, SEC_MAIN, main_keys, &ld->main);
    if (strcmp(name, "probe") == 0) return begin_single(ld, SEC_PROBE, probe_keys, &ld->probe);
    if (strcmp(name, "failover") == 0) return begin_single(ld, SEC_FAILOVER, failover_keys, &ld->failover);
    if (strcmp(name, "tls") == 0) return begin_single(ld, SEC_TLS, tls_keys, &ld->tls);
    if (strcmp(name, "mysql") == 0) return begin_single(ld, SEC_MYSQL, mysql_keys, &ld->mysql);
    if (strcmp(name, "limits") == 0) return begin_single(ld, SEC_LIMITS, limits_keys, &ld->limits);
    if ((arg = section_arg(name, "peer")) != NULL) {
        if (arg[0] == '\0') return fail(ld, ld->line, name, NULL, FO_ECONFIG, "expected [peer NODE_ID]");
        return begin_peer(ld, arg);
    }
    if ((arg = section_arg(name, "cluster")) != NULL) {
        if (arg[0] == '\0') return fail(ld, ld->line, name, NULL, FO_ECONFIG, "expected [cluster NAME]");
        return begin_cluster(ld, arg);
    }
    return fail(ld, ld->line, name, NULL, FO_ECONFIG, "unknown section");
}

/* line starts with '['. A header without ']' is left to libinih (syntax error). */
static void header_line(struct loader *ld, char *line)
{
    char *close = strchr(line, ']'), *rest;

    if (close == NULL) return;
    if (end_section(ld) != 0) return;
    *close = '\0';
    begin_section(ld, line + 1);
    *close = ']';
    for (rest = close + 1; *rest == ' ' || *rest == '\t' || *rest == '\r'; rest++) {
    }
    if (*rest != '\0' && *rest != '\n' && *rest != ';' && *rest != '#')
        fail(ld, ld->line, ld->section, NULL, FO_ECONFIG, "unexpected text after ']'");
}

/* ---- libinih callbacks ------------------------------------------------------ */

/* fgets-style reader over ld->text; see the comment at the top of the file. */
static char *read_line(char *str, int num, void *stream)
{
    struct loader *ld = stream;
    const char *p, *nl, *start;
    size_t n;

    if (ld->rc != 0 || ld->pos >= ld->len || num < 2) return NULL;
    p = ld->text + ld->pos;
    nl = memchr(p, '\n', ld->len - ld->pos);
    n = nl ? (size_t)(nl - p) : ld->len - ld->pos;
    ld->pos += n + (nl != NULL);
    ld->line++;
    start = p;
    if (ld->line == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) start += 3; /* UTF-8 BOM */
    while (start < p + n && (*start == ' ' || *start == '\t')) start++;
    n -= (size_t)(start - p);
    str[0] = '\0';
    if (n + 2 > (size_t)num) {
        fail(ld, ld->line, NULL, NULL, FO_ECONFIG, "line is longer than %d bytes", num - 2);
        return str;
    }
    memcpy(str, start, n);
    str[n] = '\n';
    str[n + 1] = '\0';
    if (str[0] == '[') header_line(ld, str);
    return str;
}

static int set_key(struct loader *ld, const char *section, const char *name, const char *value)
{
    struct section_state *st;
    const struct key_def *k;
    size_t idx;

    /* libinih cuts section names at 49 bytes, so ours (which is complete) must merely
     * start with its. A mismatch means the two disagree about a header line. */
    if (ld->kind == SEC_NONE || strncmp(section, ld->section, strlen(section)) != 0)
        return fail(ld, ld->line, NULL, name, FO_ECONFIG, "key outside of any [section]");
    if (value == NULL) return fail(ld, ld->line, ld->section, name, FO_ECONFIG, "no value");
    for (k = ld->keys; k->name != NULL && strcmp(k->name, name) != 0; k++) {
    }
    if (k->name == NULL) return fail(ld, ld->line, ld->section, name, FO_ECONFIG, "unknown key");
    st = section_state(ld);
    idx = (size_t)(k - ld->keys);
    if (!k->repeat && st->key_line[idx] != 0)
        return fail(ld, ld->line, ld->section, name, FO_ECONFIG, "duplicate key (first set on line %u)",
                    st->key_line[idx]);
    st->key_line[idx] = ld->line;
    /* libinih keeps quotes; a quoted path would silently include them. */
    if (value[0] == '"' || value[0] == '\'')
        return fail(ld, ld->line, ld->section, name, FO_ECONFIG, "values are taken literally; remove the quotes");
    return store_value(ld, k, value);
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct loader *ld = user;

    if (ld->rc != 0) return 0;
    return set_key(ld, section, name, value) == 0;
}

/* ---- whole-file checks -------------------------------------------------------- */

static const char *main_str(const struct fo_config *c, int mk)
{
    return (const char *)c + main_keys[mk].off;
}

static const char *peer_str(const struct fo_peer *p, int pk)
{
    return (const char *)p + peer_keys[pk].off;
}

static int check_main(struct loader *ld)
{
    static const int distinct[][2] = {{MK_RAFT, MK_ADMIN}, {MK_RAFT, MK_HTTP}, {MK_ADMIN, MK_HTTP}};
    const struct fo_config *c = ld->c;
    const unsigned *kl = ld->main.key_line;
    char shown[SHOW_LEN];
    size_t i;
    int k;

    for (k = 0; k < MK_COUNT; k++)
        if (main_keys[k].required && kl[k] == 0)
            return fail(ld, 0, "failoverd", main_keys[k].name, FO_ECONFIG, "missing");
    /* libraft: a heartbeat must fit at least twice in an election timeout. */
    if (c->heartbeat_timeout_ms > c->election_timeout_ms / 2) {
        k = kl[MK_HEARTBEAT] ? MK_HEARTBEAT : MK_ELECTION;
        return fail(ld, kl[k], "failoverd", main_keys[k].name, FO_ECONFIG,
                    "heartbeat_timeout_ms (%u) must be at most election_timeout_ms/2 (%u)", c->heartbeat_timeout_ms,
                    c->election_timeout_ms / 2);
    }
    for (i = 0; i < sizeof(distinct) / sizeof(distinct[0]); i++) {
        int a = distinct[i][0], b = distinct[i][1], later = kl[a] > kl[b] ? a : b;
        if (strcmp(main_str(c, a), main_str(c, b)) == 0)
            return fail(ld, kl[later], "failoverd", main_keys[later].name, FO_ECONFIG, "'%s' is also the %s",
                        show(main_str(c, later), shown), main_keys[later == a ? b : a].name);
    }
    return 0;
}

/* This node's [peer] entry must describe this node, or the initial configuration
 * would bootstrap with an address nobody listens on. */
/* DESIGN.md §9 / issue 4: TLS unless insecure = yes is said explicitly. */
static int check_tls(struct loader *ld)
{
    static const int need[] = {TK_CA, TK_CERT, TK_KEY};
    unsigned i;

    if (ld->tls.header_line == 0)
        return fail(ld, 0, "tls", NULL, FO_ECONFIG,
                    "missing (set ca_file, cert_file and key_file, or insecure = yes for plain TCP)");
    if (ld->c->tls.insecure) return 0;
    for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        if (ld->tls.key_line[need[i]] == 0)
            return fail(ld, ld->tls.header_line, "tls", tls_keys[need[i]].name, FO_ECONFIG,
                        "missing (or set insecure = yes for plain TCP)");
    return 0;
}

static int check_self_peer(struct loader *ld, unsigned i)
{
    static const int pairs[][2] = {{PK_RAFT, MK_RAFT}, {PK_ADMIN, MK_ADMIN}, {PK_HTTP, MK_HTTP}};
    const struct fo_peer *p = &ld->c->peers[i];
    char sec[32], s1[SHOW_LEN], s2[SHOW_LEN];
    size_t k;

    snprintf(sec, sizeof(sec), "peer %llu", (unsigned long long)p->id);
    for (k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
        const char *mine = peer_str(p, pairs[k][0]), *main = main_str(ld->c, pairs[k][1]);
        if (mine[0] != '\0' && strcmp(mine, main) != 0)
            return fail(ld, ld->peers[i].key_line[pairs[k][0]], sec, peer_keys[pairs[k][0]].name, FO_ECONFIG,
                        "'%s' does not match [failoverd] %s '%s'", show(mine, s1), main_keys[pairs[k][1]].name,
                        show(main, s2));
    }
    return 0;
}

static int check_peer_pair(struct loader *ld, unsigned i, unsigned j)
{
    const struct fo_peer *a = &ld->c->peers[i], *b = &ld->c->peers[j];
    char sec[32], shown[SHOW_LEN];
    int k;

    snprintf(sec, sizeof(sec), "peer %llu", (unsigned long long)b->id);
    for (k = 0; k < PK_COUNT; k++) {
        const char *sa = peer_str(a, k), *sb = peer_str(b, k);
        if (sb[0] != '\0' && strcmp(sa, sb) == 0)
            return fail(ld, ld->peers[j].key_line[k], sec, peer_keys[k].name, FO_ECONFIG,
                        "'%s' is also used by [peer %llu]", show(sb, shown), (unsigned long long)a->id);
    }
    return 0;
}

static int check_peers(struct loader *ld)
{
    const struct fo_config *c = ld->c;
    char sec[32], shown[SHOW_LEN];
    unsigned i, j;

    for (i = 0; i < c->n_peers; i++) {
        if (c->peers[i].id == c->node_id && check_self_peer(ld, i) != 0) return ld->rc;
        if (c->peers[i].id != c->node_id && strcmp(c->peers[i].raft_address, c->raft_address) == 0) {
            snprintf(sec, sizeof(sec), "peer %llu", (unsigned long long)c->peers[i].id);
            return fail(ld, ld->peers[i].key_line[PK_RAFT], sec, "raft_address", FO_ECONFIG,
                        "'%s' is this node's raft_address, but this node is node_id %llu", show(c->raft_address, shown),
                        (unsigned long long)c->node_id);
        }
        for (j = 0; j < i; j++)
            if (check_peer_pair(ld, j, i) != 0) return ld->rc;
    }
    return 0;
}

static int ref_cmp(const void *pa, const void *pb)
{
    const struct inst_ref *a = pa, *b = pb;
    int r = strcasecmp(a->inst->host, b->inst->host);

    if (r != 0) return r;
    if (a->inst->port != b->inst->port) return a->inst->port < b->inst->port ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

static int same_instance(const struct inst_ref *a, const struct inst_ref *b)
{
    return a->inst->port == b->inst->port && strcasecmp(a->inst->host, b->inst->host) == 0;
}

/* A server listed twice (in one cluster or two) would be probed and failed over by
 * two engines. Sorting keeps this O(n log n) for any number of servers. */
static int check_instances(struct loader *ld)
{
    const struct inst_ref *dup = NULL, *first = NULL;
    const struct fo_instance_cfg *in;
    char sec[FO_NAME_LEN + 16], addr[FO_ADDR_LEN + 16];
    size_t i;

    for (i = 0; i < ld->n_refs; i++)
        ld->refs[i].inst = &ld->c->clusters[ld->refs[i].cluster].instances[ld->refs[i].index];
    if (ld->n_refs > 1) qsort(ld->refs, ld->n_refs, sizeof(*ld->refs), ref_cmp);
    for (i = 1; i < ld->n_refs; i++) {
        if (same_instance(&ld->refs[i - 1], &ld->refs[i]) && (dup == NULL || ld->refs[i].line < dup->line)) {
            dup = &ld->refs[i];
            first = &ld->refs[i - 1];
        }
    }
    if (dup == NULL) return 0;
    in = dup->inst;
    snprintf(addr, sizeof(addr), strchr(in->host, ':') ? "[%s]:%u" : "%s:%u", in->host, in->port);
    snprintf(sec, sizeof(sec), "cluster %s", ld->c->clusters[dup->cluster].name);
    return fail(ld, dup->line, sec, "instance", FO_ECONFIG, "%s is already listed in [cluster %s] (line %u)", addr,
                ld->c->clusters[first->cluster].name, first->line);
}

static int name_cmp(const void *pa, const void *pb, void *arg)
{
    const struct fo_config *c = arg;
    unsigned a = *(const unsigned *)pa, b = *(const unsigned *)pb;
    int r = strcmp(c->clusters[a].name, c->clusters[b].name);

    return r != 0 ? r : (a > b) - (a < b);
}

/* A cluster name given twice: the later section is the error (sorting keeps this
 * O(n log n) for any number of clusters). */
static int check_cluster_names(struct loader *ld)
{
    struct fo_config *c = ld->c;
    unsigned *order, i, dup = UINT_MAX;
    char sec[FO_NAME_LEN + 16];

    if (c->n_clusters == 0) return 0;
    order = malloc(c->n_clusters * sizeof(*order));
    if (order == NULL) return fail(ld, 0, NULL, NULL, FO_ENOMEM, "out of memory");
    for (i = 0; i < c->n_clusters; i++) order[i] = i;
    qsort_r(order, c->n_clusters, sizeof(*order), name_cmp, (void *)c);
    for (i = 1; i < c->n_clusters; i++)
        if (strcmp(c->clusters[order[i - 1]].name, c->clusters[order[i]].name) == 0 && order[i] < dup) dup = order[i];
    c->by_name = order; /* fo_config_cluster_tls looks names up in it */
    if (dup == UINT_MAX) return 0;
    snprintf(sec, sizeof(sec), "cluster %s", c->clusters[dup].name);
    return fail(ld, ld->cl_lines[dup].header, sec, NULL, FO_ECONFIG, "duplicate cluster");
}

/* [limits] max_clusters / max_servers: the first section or instance beyond them is
 * the error. refs are still in file order here (check_instances sorts them). */
static int check_counts(struct loader *ld)
{
    const struct fo_config *c = ld->c;
    const struct fo_limits_cfg *l = &c->limits;
    char sec[FO_NAME_LEN + 16];
    const struct inst_ref *r;

    if (c->n_clusters > l->max_clusters) {
        snprintf(sec, sizeof(sec), "cluster %s", c->clusters[l->max_clusters].name);
        return fail(ld, ld->cl_lines[l->max_clusters].header, sec, NULL, FO_ECONFIG,
                    "more than %u clusters ([limits] max_clusters)", l->max_clusters);
    }
    if (ld->n_refs > l->max_servers) {
        r = &ld->refs[l->max_servers];
        snprintf(sec, sizeof(sec), "cluster %s", c->clusters[r->cluster].name);
        return fail(ld, r->line, sec, "instance", FO_ECONFIG,
                    "more than %u servers in all clusters ([limits] max_servers)", l->max_servers);
    }
    return 0;
}

/* A verify mode needs a CA, and a CA that cannot be opened would only show up as
 * failed probes: fail before start (DESIGN.md §9). */
static int check_tls_pair(struct loader *ld, const struct fo_mysql_tls *t, const char *sec, unsigned mode_line,
                          unsigned ca_line)
{
    char why[FO_ERRLEN], shown[SHOW_LEN];
    struct stat st;
    int fd;

    if ((t->mode == FO_SSL_VERIFY_CA || t->mode == FO_SSL_VERIFY_IDENTITY) && t->ca[0] == '\0')
        return fail(ld, mode_line, sec, "ssl_ca", FO_ECONFIG, "missing (ssl_mode = %s verifies the server against it)",
                    fo_ssl_mode_name(t->mode));
    if (t->ca[0] == '\0' || ca_line == 0) return 0;
    if (open_regular(t->ca, "CA file", FO_ECONFIG, &st, &fd, why) != 0)
        return fail(ld, ca_line, sec, "ssl_ca", FO_ECONFIG, "%s", show(why, shown));
    close(fd);
    return 0;
}

static int check_mysql(struct loader *ld)
{
    const unsigned *kl = ld->mysql.key_line;

    return check_tls_pair(ld, &ld->c->mysql_tls, "mysql", kl[YK_SSL_MODE] ? kl[YK_SSL_MODE] : ld->mysql.header_line,
                          kl[YK_SSL_CA]);
}

/* A relative password file is taken inside secrets_dir; an existing one must resolve
 * inside it (a missing one fails the start-up read, which checks again). */
static int check_secret(struct loader *ld, const char *sec, const char *key, unsigned line, char *path)
{
    char joined[FO_PATH_LEN * 2], why[FO_ERRLEN], shown[SHOW_LEN];
    struct stat st;

    if (path[0] == '\0') return 0;
    if (path[0] != '/') {
        snprintf(joined, sizeof(joined), "%s/%s", ld->c->secrets_dir, path);
        if (copy_field(path, FO_PATH_LEN, joined) != 0)
            return fail(ld, line, sec, key, FO_ECONFIG, "'%s' is longer than %d bytes", show(joined, shown),
                        FO_PATH_LEN - 1);
    }
    if (!has_dot_component(path) && lstat(path, &st) != 0 && errno == ENOENT) return 0;
    if (fo_secret_path_check(ld->c->secrets_dir, path, NULL, why) != 0)
        return fail(ld, line, sec, key, FO_ECONFIG, "%s", why);
    return 0;
}

static int check_clusters(struct loader *ld)
{
    struct fo_config *c = ld->c;
    char sec[FO_NAME_LEN + 16], rdir[PATH_MAX];
    unsigned i;

    if (realpath(c->secrets_dir, rdir) != NULL && copy_field(c->secrets_dir, sizeof(c->secrets_dir), rdir) != 0)
        return fail(ld, ld->main.key_line[MK_SECRETS_DIR], "failoverd", "secrets_dir", FO_ECONFIG,
                    "resolves to a path longer than %d bytes", FO_PATH_LEN - 1);
    for (i = 0; i < c->n_clusters; i++) {
        struct fo_cluster_cfg *cl = &c->clusters[i];
        const struct cluster_lines *l = &ld->cl_lines[i];
        snprintf(sec, sizeof(sec), "cluster %s", cl->name);
        if (l->ssl_mode == 0) cl->tls.mode = c->mysql_tls.mode;
        if (l->ssl_ca == 0) memcpy(cl->tls.ca, c->mysql_tls.ca, sizeof(cl->tls.ca));
        if (check_secret(ld, sec, "password_file", l->password_file, cl->password_file) != 0 ||
            check_secret(ld, sec, "repl_password_file", l->repl_password_file, cl->repl_password_file) != 0 ||
            check_tls_pair(ld, &cl->tls, sec, l->ssl_mode ? l->ssl_mode : l->header, l->ssl_ca) != 0)
            return ld->rc;
    }
    return 0;
}

const struct fo_mysql_tls *fo_config_cluster_tls(const struct fo_config *c, const char *name)
{
    unsigned i, lo = 0, hi = c->n_clusters;

    if (name == NULL) return &c->mysql_tls;
    if (c->by_name == NULL) { /* a config not made by the loader (tests) */
        for (i = 0; i < c->n_clusters; i++)
            if (strcmp(c->clusters[i].name, name) == 0) return &c->clusters[i].tls;
        return &c->mysql_tls;
    }
    /* Binary search: called for every watched server (issue 12: 100,000 of them). */
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int r = strcmp(c->clusters[c->by_name[mid]].name, name);
        if (r == 0) return &c->clusters[c->by_name[mid]].tls;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return &c->mysql_tls;
}

unsigned fo_config_min_vip_lease_ms(unsigned election_timeout_ms, unsigned heartbeat_timeout_ms)
{
    uint64_t handover = 2u * (uint64_t)election_timeout_ms + heartbeat_timeout_ms + FO_LEADER_HANDOVER_SLACK_MS;
    uint64_t lease = (handover * 4u + 2u) / 3u; /* ceil(4/3 x handover) */

    return lease > UINT32_MAX ? UINT32_MAX : (unsigned)lease;
}

/* ---- entry points ----------------------------------------------------------- */

static void set_defaults(struct fo_config *c)
{
    memset(c, 0, sizeof(*c));
    c->election_timeout_ms = FO_DEFAULT_ELECTION_TIMEOUT_MS;
    c->heartbeat_timeout_ms = FO_DEFAULT_HEARTBEAT_TIMEOUT_MS;
    c->snapshot_threshold = 1024;
    c->snapshot_trailing = 128;
    c->max_frame_bytes = 1048576;
    c->log_level = FO_LOG_INFO;
    c->ui = true; /* the read-only dashboard (controller/admin/web.h) */
    c->probe.interval_ms = 500;
    c->probe.connect_timeout_ms = 500;
    c->probe.read_timeout_ms = 1000;
    c->probe.down_after = 3;
    c->failover.hook_timeout_ms = 10000;
    c->failover.confirm_window_ms = 5000;
    c->failover.relay_wait_ms = 10000;
    c->failover.step_timeout_ms = 10000;
    c->failover.tilt_grace_ms = 5000;
    c->failover.fault = FO_FAULT_NONE;
    fo_limits_defaults(&c->limits);
    snprintf(c->secrets_dir, sizeof(c->secrets_dir), "%s", FO_DEFAULT_SECRETS_DIR);
    c->mysql_tls.mode = FO_SSL_PREFERRED;
}

static void parse_text(struct loader *ld)
{
    int r = ini_parse_stream(read_line, ld, on_key, ld);

    if (r < 0 && ld->rc == 0) fail(ld, 0, NULL, NULL, FO_ENOMEM, "out of memory");
    if (ld->rc == 0) end_section(ld);
    /* libinih reports lines it could not tokenise; report whichever error is first. */
    if (r > 0 && (ld->rc == 0 || (unsigned)r < ld->err_line)) {
        ld->rc = 0;
        fail(ld, (unsigned)r, NULL, NULL, FO_ECONFIG, "syntax error: expected '[section]' or 'key = value'");
    }
    if (ld->rc == 0 && check_main(ld) == 0 && check_tls(ld) == 0 && check_peers(ld) == 0 &&
        check_cluster_names(ld) == 0 && check_counts(ld) == 0 && check_instances(ld) == 0 && check_mysql(ld) == 0)
        check_clusters(ld);
}

static int load_text(struct fo_config *c, const char *name, const char *text, size_t len, char err[FO_ERRLEN])
{
    struct loader ld;

    set_defaults(c);
    memset(&ld, 0, sizeof(ld));
    ld.c = c;
    ld.name = name;
    ld.text = text;
    ld.len = len;
    if (copy_field(c->path, sizeof(c->path), name) != 0)
        fail(&ld, 0, NULL, NULL, FO_ECONFIG, "path is longer than %d bytes", FO_PATH_LEN - 1);
    else
        parse_text(&ld);
    free(ld.refs);
    free(ld.cl_lines);
    if (ld.rc != 0) {
        fo_errf(err, ld.rc, "%s", ld.err);
        fo_config_free(c);
    }
    return ld.rc;
}

int fo_config_load_string(struct fo_config *c, const char *name, const char *text, char err[FO_ERRLEN])
{
    return load_text(c, name ? name : "<string>", text, strlen(text), err);
}

/* Reads the whole file (bounded) into a NUL-terminated buffer. */
static int read_file(const char *path, char **out, size_t *outlen, char *err)
{
    struct stat st;
    ssize_t got;
    char *text;
    int fd, rc = 0;

    rc = open_regular(path, "configuration file", FO_EIO, &st, &fd, err);
    if (rc != 0) return rc;
    if (st.st_size > (off_t)CONFIG_MAX_BYTES) {
        rc = fo_errf(err, FO_ECONFIG, "%s: file is larger than %u bytes", path, CONFIG_MAX_BYTES);
        goto err_after_open;
    }
    text = malloc((size_t)st.st_size + 1);
    if (text == NULL) {
        rc = fo_errf(err, FO_ENOMEM, "%s: out of memory", path);
        goto err_after_open;
    }
    got = read_upto(fd, text, (size_t)st.st_size);
    if (got < 0) {
        rc = fo_errf(err, FO_EIO, "%s: cannot read: %s", path, strerror(errno));
        free(text);
        goto err_after_open;
    }
    text[got] = '\0';
    *out = text;
    *outlen = (size_t)got;
err_after_open:
    close(fd);
    return rc;
}

int fo_config_load(struct fo_config *c, const char *path, char err[FO_ERRLEN])
{
    const char *nul, *p;
    unsigned line = 1;
    size_t len = 0;
    char *text = NULL;
    int rc;

    set_defaults(c);
    rc = read_file(path, &text, &len, err);
    if (rc != 0) return rc;
    nul = memchr(text, '\0', len);
    if (nul != NULL) {
        for (p = text; p < nul; p++) line += *p == '\n';
        rc = fo_errf(err, FO_ECONFIG, "%s:%u: NUL byte (is this a text file?)", path, line);
    } else {
        rc = load_text(c, path, text, len, err);
    }
    free(text);
    return rc;
}

void fo_config_free(struct fo_config *c)
{
    unsigned i;

    if (c == NULL) return;
    for (i = 0; c->clusters != NULL && i < c->n_clusters; i++) free(c->clusters[i].instances);
    free(c->clusters);
    free(c->by_name);
    memset(c, 0, sizeof(*c));
}

void fo_limits_defaults(struct fo_limits_cfg *l)
{
    /* DESIGN.md §10: about a second for a handshake (a TLS handshake on a LAN takes a
     * few ms); a handshake budget far below the fd limit, a share per source that one
     * host cannot exceed; a controller reserve as large as any cluster's membership. */
    *l = (struct fo_limits_cfg){
        .handshake_timeout_ms = 1000,
        .admin_max_conns = 256,
        .admin_reserved_conns = 32,
        .max_unauth = 64,
        .max_unauth_per_source = 8,
        .trusted_unauth = 16,
        .http_max_conns = 128,
        .http_max_per_source = 8,
        .http_timeout_s = 5,
        .max_clusters = FO_DEFAULT_MAX_CLUSTERS,
        .max_servers = FO_DEFAULT_MAX_SERVERS,
    };
}

/* ---- co-primaries and rediscovery ------------------------------------------- */

static int co_primary_one(const char *s, size_t len, struct fo_endpoint *ep, char err[FO_ERRLEN])
{
    char buf[FO_ADDR_LEN], e[FO_ERRLEN];

    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
    if (len == 0) return fo_errf(err, FO_EINVAL, "expected HOST:PORT,HOST:PORT (an entry is empty)");
    if (len >= sizeof(buf)) return fo_errf(err, FO_EINVAL, "an entry is longer than %zu bytes", sizeof(buf) - 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (fo_parse_hostport(buf, ep->host, sizeof(ep->host), &ep->port, e) != 0) return fo_errf(err, FO_EINVAL, "%s", e);
    return 0;
}

int fo_parse_co_primaries(const char *s, struct fo_endpoint out[2], char *canon, char err[FO_ERRLEN])
{
    const char *comma = s != NULL ? strchr(s, ',') : NULL;
    int k, n = 0;

    if (s == NULL || s[0] == '\0') return fo_errf(err, FO_EINVAL, "empty value");
    if (comma == NULL || strchr(comma + 1, ',') != NULL)
        return fo_errf(err, FO_EINVAL, "expected exactly two servers, HOST:PORT,HOST:PORT");
    if (co_primary_one(s, (size_t)(comma - s), &out[0], err) != 0) return FO_EINVAL;
    if (co_primary_one(comma + 1, strlen(comma + 1), &out[1], err) != 0) return FO_EINVAL;
    if (fo_addr_same(out[0].host, out[0].port, out[1].host, out[1].port))
        return fo_errf(err, FO_EINVAL, "both entries name the same server");
    if (canon == NULL) return 0;
    for (k = 0; k < 2; k++)
        n += snprintf(canon + n, (size_t)(FO_CO_PRIMARIES_LEN - n), strchr(out[k].host, ':') ? "%s[%s]:%u" : "%s%s:%u",
                      k ? "," : "", out[k].host, out[k].port); /* fits: 2 x (FO_HOST_LEN + 8) < the length */
    return 0;
}

int fo_check_rediscover_interval(unsigned s, char err[FO_ERRLEN])
{
    if (s == 0 || (s >= FO_REDISCOVER_MIN_S && s <= FO_REDISCOVER_MAX_S)) return 0;
    return fo_errf(err, FO_EINVAL, "%u is not 0 (off) or %d..%d", s, FO_REDISCOVER_MIN_S, FO_REDISCOVER_MAX_S);
}
