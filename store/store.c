/* Opening and closing a store, snapshots (serialize / restore) and the canonical dump.
 *
 * The raft log is the durable copy of the state (DESIGN.md §4, store.h), which is why
 * the file is written with synchronous=OFF and why open can throw an old file away
 * (FO_STORE_FRESH) instead of trusting it. */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ open / close */

/* The -wal file goes first: a WAL left next to a new, empty database would be
 * replayed into it and bring the old state back. */
static int remove_files(const char *path, char err[FO_ERRLEN])
{
    static const char *const suffixes[] = {"-wal", "-shm", "-journal", ""};
    char p[FO_PATH_LEN + 16];
    unsigned i;
    int n;

    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        n = snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        if (n < 0 || (size_t)n >= sizeof(p)) return fo_errf(err, FO_EINVAL, "store path too long: %s", path);
        if (unlink(p) != 0 && errno != ENOENT) return fo_errf(err, FO_EIO, "remove %s: %s", p, strerror(errno));
    }
    return 0;
}

/* The database holds the whole replicated state (clusters, users, history): private to
 * failoverd, whatever the umask. sqlite would create it 0644 & ~umask, and creates its
 * -wal and -shm files with the database file's mode, so the file is made (or narrowed)
 * to FO_STORE_FILE_MODE before sqlite opens it. */
static int create_private(const char *path, char err[FO_ERRLEN])
{
    struct stat st;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, FO_STORE_FILE_MODE);

    if (fd < 0) return fo_errf(err, FO_ESTORE, "store %s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fo_errf(err, FO_ESTORE, "store %s: not a regular file", path);
    }
    if ((st.st_mode & 07777) != FO_STORE_FILE_MODE && fchmod(fd, FO_STORE_FILE_MODE) != 0) {
        int e = errno;
        close(fd);
        return fo_errf(err, FO_ESTORE, "store %s: chmod: %s", path, strerror(e));
    }
    close(fd);
    return 0;
}

static int exec(sqlite3 *db, const char *sql, char err[FO_ERRLEN])
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : store_sqlerr(db, rc, err, sql);
}

/* WAL lets the sqlite3 CLI and backups read the file while failoverd writes it. */
static int set_wal(sqlite3 *db, char err[FO_ERRLEN])
{
    sqlite3_stmt *st;
    const unsigned char *mode;
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);

    if (rc != SQLITE_OK) return store_sqlerr(db, rc, err, "journal_mode");
    rc = sqlite3_step(st);
    mode = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    if (rc != SQLITE_ROW)
        rc = store_sqlerr(db, rc, err, "journal_mode");
    else if (mode == NULL || strcmp((const char *)mode, "wal") != 0)
        rc = fo_errf(err, FO_ESTORE, "journal_mode=WAL refused (mode is %s)", mode != NULL ? (const char *)mode : "?");
    else
        rc = 0;
    sqlite3_finalize(st);
    return rc;
}

static int set_pragmas(sqlite3 *db, bool in_memory, char err[FO_ERRLEN])
{
    int rc = in_memory ? 0 : set_wal(db, err);

    if (rc == 0) rc = exec(db, "PRAGMA synchronous=OFF", err);
    if (rc == 0) rc = exec(db, "PRAGMA foreign_keys=ON", err);
    return rc;
}

int fo_store_open(struct fo_store **out, const char *path, int flags, char err[FO_ERRLEN])
{
    bool in_memory = path == NULL || strcmp(path, ":memory:") == 0;
    struct fo_store *s;
    int rc;

    *out = NULL;
    if (!in_memory && (flags & FO_STORE_FRESH)) {
        rc = remove_files(path, err);
        if (rc != 0) return rc;
    }
    if (!in_memory && (rc = create_private(path, err)) != 0) return rc;
    s = calloc(1, sizeof(*s));
    if (s == NULL) return fo_errf(err, FO_ENOMEM, "store: out of memory");
    /* sqlite3_open_v2 returns a handle even when it fails; it must be closed. */
    rc = sqlite3_open_v2(in_memory ? ":memory:" : path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = store_sqlerr(s->db, rc, err, in_memory ? ":memory:" : path);
        goto err_after_open;
    }
    sqlite3_extended_result_codes(s->db, 1);
    rc = set_pragmas(s->db, in_memory, err);
    if (rc == 0) rc = store_schema_migrate(s->db, err);
    if (rc != 0) goto err_after_open;
    *out = s;
    return 0;

err_after_open:
    sqlite3_close(s->db);
    free(s);
    return rc;
}

void fo_store_close(struct fo_store *s)
{
    if (s == NULL) return;
    store_stmt_finalize_all(s);
    sqlite3_close(s->db);
    free(s);
}

/* ------------------------------------------------------------ snapshots */

int fo_store_serialize(struct fo_store *s, uint8_t **data, size_t *len, char err[FO_ERRLEN])
{
    sqlite3_int64 n = 0;
    unsigned char *img = sqlite3_serialize(s->db, "main", &n, 0);
    uint8_t *copy;

    *data = NULL;
    *len = 0;
    if (img == NULL || n <= 0) {
        sqlite3_free(img);
        return fo_errf(err, FO_ESTORE, "serialize: %s", sqlite3_errmsg(s->db));
    }
    /* The contract promises malloc'd memory, and sqlite3_malloc is not malloc. */
    copy = malloc((size_t)n);
    if (copy == NULL) {
        sqlite3_free(img);
        return fo_errf(err, FO_ENOMEM, "serialize: out of memory (%lld bytes)", (long long)n);
    }
    memcpy(copy, img, (size_t)n);
    sqlite3_free(img);
    *data = copy;
    *len = (size_t)n;
    return 0;
}

/* Offsets in the 100-byte sqlite file header (https://sqlite.org/fileformat.html). */
#define HEADER_LEN 100
#define HEADER_WRITE_VERSION 18
#define HEADER_READ_VERSION 19

/* Loads the image into a private in-memory connection. An image serialized from a
 * file in WAL mode says so in its header, and an in-memory database cannot use a WAL:
 * the header is switched back to the rollback journal, which changes no content. */
static int open_image(sqlite3 **out, const uint8_t *data, size_t len, char err[FO_ERRLEN])
{
    static const char magic[] = "SQLite format 3";
    unsigned char *copy;
    sqlite3 *db;
    int rc;

    *out = NULL;
    if (data == NULL || len < HEADER_LEN || memcmp(data, magic, sizeof(magic)) != 0)
        return fo_errf(err, FO_EINVAL, "snapshot is not a sqlite database image (%zu bytes)", len);
    rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) goto err_after_open;
    copy = sqlite3_malloc64(len);
    if (copy == NULL) {
        rc = SQLITE_NOMEM;
        goto err_after_open;
    }
    memcpy(copy, data, len);
    if (copy[HEADER_WRITE_VERSION] == 2) copy[HEADER_WRITE_VERSION] = 1;
    if (copy[HEADER_READ_VERSION] == 2) copy[HEADER_READ_VERSION] = 1;
    /* With FREEONCLOSE sqlite owns copy from here on, even if this call fails. */
    rc = sqlite3_deserialize(db, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
                             SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
    if (rc != SQLITE_OK) goto err_after_open;
    *out = db;
    return 0;

err_after_open:
    rc = store_sqlerr(db, rc, err, "load snapshot");
    sqlite3_close(db);
    return rc;
}

/* quick_check's report opens with a "*** in database main ***" line that says
 * nothing about the problem; skip it. */
static const char *first_problem(const char *report)
{
    const char *nl;

    if (report == NULL) return "?";
    nl = strchr(report, '\n');
    if (strncmp(report, "***", 3) == 0 && nl != NULL) return nl + 1;
    return report;
}

/* "ok" from PRAGMA quick_check, or the first problem it reports. */
static int quick_check(sqlite3 *db, char err[FO_ERRLEN])
{
    sqlite3_stmt *st;
    const unsigned char *v;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);

    if (rc != SQLITE_OK) return fo_errf(err, FO_EINVAL, "snapshot unreadable: %s", sqlite3_errmsg(db));
    rc = sqlite3_step(st);
    v = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    if (rc != SQLITE_ROW)
        rc = fo_errf(err, FO_EINVAL, "snapshot unreadable: %s", sqlite3_errmsg(db));
    else if (v == NULL || strcmp((const char *)v, "ok") != 0)
        rc = fo_errf(err, FO_EINVAL, "snapshot is corrupt: %s", first_problem((const char *)v));
    else
        rc = 0;
    sqlite3_finalize(st);
    return rc;
}

static int foreign_key_check(sqlite3 *db, char err[FO_ERRLEN])
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL);

    if (rc != SQLITE_OK) return fo_errf(err, FO_EINVAL, "snapshot unreadable: %s", sqlite3_errmsg(db));
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = fo_errf(err, FO_EINVAL, "snapshot has rows that violate foreign keys");
    else if (rc != SQLITE_DONE)
        rc = fo_errf(err, FO_EINVAL, "snapshot unreadable: %s", sqlite3_errmsg(db));
    else
        rc = 0;
    sqlite3_finalize(st);
    return rc;
}

/* Everything is checked on the private copy, so a bad image never touches the
 * live store. An older schema is migrated here, before the swap. */
static int check_image(sqlite3 *db, char err[FO_ERRLEN])
{
    int version;
    int rc = quick_check(db, err);

    if (rc != 0) return rc;
    rc = store_schema_read_version(db, &version, err);
    if (rc != 0) return fo_errf(err, FO_EINVAL, "snapshot has no readable schema version");
    if (version == 0) return fo_errf(err, FO_EINVAL, "snapshot is not a failoverd store (no schema_version)");
    if (version > store_schema_latest())
        return fo_errf(err, FO_EVERSION, "snapshot schema version %d is newer than this build's %d", version,
                       store_schema_latest());
    rc = store_schema_migrate(db, err);
    if (rc == 0) rc = store_stmt_check_all(db, err);
    if (rc == 0) rc = foreign_key_check(db, err);
    return rc;
}

/* The backup copies every page in one write transaction on the live database; if it
 * fails part way, sqlite3_backup_finish rolls that transaction back. */
static int copy_into(struct fo_store *s, sqlite3 *src, char err[FO_ERRLEN])
{
    sqlite3_backup *b;
    int rc;

    store_stmt_finalize_all(s);
    b = sqlite3_backup_init(s->db, "main", src, "main");
    if (b == NULL) return store_sqlerr(s->db, sqlite3_errcode(s->db), err, "restore");
    rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) return store_sqlerr(NULL, rc, err, "restore");
    return 0;
}

int fo_store_restore(struct fo_store *s, const uint8_t *data, size_t len, char err[FO_ERRLEN])
{
    sqlite3 *image;
    int rc;

    /* Called from inside an iterator's callback, the swap would finalize the
     * statement that iterator is still stepping. */
    if (store_stmt_any_lent(s)) return fo_errf(err, FO_EBUSY, "restore: a read of the store is in progress");
    rc = open_image(&image, data, len, err);
    if (rc != 0) return rc;
    rc = check_image(image, err);
    if (rc == 0) rc = copy_into(s, image, err);
    sqlite3_close(image);
    if (rc == 0 && s->on_change != NULL) s->on_change(s->on_change_data, NULL);
    return rc;
}

/* ------------------------------------------------------------ dump */

static void dump_text(struct fo_buf *out, const unsigned char *v, int n)
{
    int i;

    fo_buf_puts(out, "'");
    for (i = 0; i < n; i++) {
        if (v[i] == '\'' || v[i] == '\\')
            fo_buf_printf(out, "\\%c", v[i]);
        else if (v[i] < 0x20 || v[i] == 0x7f)
            fo_buf_printf(out, "\\x%02x", v[i]);
        else
            fo_buf_append(out, &v[i], 1);
    }
    fo_buf_puts(out, "'");
}

static void dump_value(struct fo_buf *out, sqlite3_stmt *st, int i)
{
    const unsigned char *b;
    int n, k;

    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: fo_buf_printf(out, "%lld", (long long)sqlite3_column_int64(st, i)); break;
    case SQLITE_FLOAT: fo_buf_printf(out, "%.17g", sqlite3_column_double(st, i)); break;
    case SQLITE_TEXT:
        b = sqlite3_column_text(st, i);
        dump_text(out, b, sqlite3_column_bytes(st, i));
        break;
    case SQLITE_BLOB:
        b = sqlite3_column_blob(st, i);
        n = sqlite3_column_bytes(st, i);
        fo_buf_puts(out, "x'");
        for (k = 0; k < n; k++) fo_buf_printf(out, "%02x", b[k]);
        fo_buf_puts(out, "'");
        break;
    default: fo_buf_puts(out, "NULL");
    }
}

/* "[title]" then one line per row: "col=value col=value". */
static int dump_query(struct fo_store *s, const char *title, const char *sql, struct fo_buf *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    int i;

    if (rc != SQLITE_OK) return store_sqlerr(s->db, rc, NULL, "dump");
    fo_buf_printf(out, "[%s]\n", title);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (i = 0; i < sqlite3_column_count(st); i++) {
            fo_buf_printf(out, "%s%s=", i > 0 ? " " : "", sqlite3_column_name(st, i));
            dump_value(out, st, i);
        }
        fo_buf_puts(out, "\n");
    }
    rc = rc == SQLITE_DONE ? 0 : store_sqlerr(s->db, rc, NULL, "dump");
    sqlite3_finalize(st);
    return rc;
}

int fo_store_dump(struct fo_store *s, struct fo_buf *out)
{
    char sql[256];
    unsigned i;
    int n;
    int rc =
        dump_query(s, "sqlite_schema", "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name", out);

    for (i = 0; rc == 0 && i < store_n_tables; i++) {
        n = snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY %s", store_tables[i].name, store_tables[i].order_by);
        if (n < 0 || (size_t)n >= sizeof(sql)) return FO_EINVAL;
        rc = dump_query(s, store_tables[i].name, sql, out);
    }
    if (rc == 0 && out->oom) rc = FO_ENOMEM;
    return rc;
}
