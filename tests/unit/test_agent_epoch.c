/* Unit tests for agent/epoch.c (the on-disk highest epoch per cluster) and
 * agent/lease.c (the VIP lease state machine): tables of cases. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/epoch.h"
#include "agent/lease.h"
#include "fo_test.h"
#include "lib/testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define HDR "failover-agent-epochs 1\n"
#define NAME63 "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
#define NAME64 NAME63 "x"
/* A window that never refuses, for the cases about everything else. */
#define NO_WINDOW UINT64_MAX

static void check_contains(const char *hay, const char *needle, int line)
{
    if (strstr(hay, needle) == NULL) {
        fprintf(stderr, "  FAIL %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, line, hay, needle);
        fo_test_cur_failed = 1;
    }
}
#define CHECK_CONTAINS(hay, needle) check_contains(hay, needle, __LINE__)

static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
    char path[256];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL) return -1;
    n = fwrite(data, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

/* The file's contents, in buf (NUL-terminated), or "" if it cannot be read. */
static const char *read_epochs(const char *dir, char *buf, size_t cap)
{
    char path[256];
    FILE *f;
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, FO_EPOCH_FILE);
    f = fopen(path, "rb");
    if (f != NULL) {
        n = fread(buf, 1, cap - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

static uint64_t get_or(const struct fo_epoch_store *s, const char *cluster, uint64_t dflt)
{
    uint64_t e = dflt;

    return fo_epoch_get(s, cluster, &e) == 0 ? e : dflt;
}

/* ------------------------------------------------------------------ loading */

struct load_case {
    const char *data;
    size_t len; /* 0: strlen(data) */
    int rc;
    const char *msg; /* part of the error message (after the path), or the epoch of "demo" */
};

static const struct load_case load_cases[] = {
    {HDR, 0, 0, NULL},
    {HDR "demo 5\n", 0, 0, "5"},
    {HDR "demo 0\n", 0, 0, "0"},
    {HDR "other.x_y-Z9 7\ndemo 18446744073709551615\n", 0, 0, "18446744073709551615"},
    {HDR NAME63 " 1\ndemo 2\n", 0, 0, "2"},
    /* The version line. */
    {"", 0, FO_EINVAL, "epochs:1: empty file"},
    {"failover-agent-epochs 1", 0, FO_EINVAL, "epochs:1: last line has no newline"},
    {"failover-agent-epochs 2\n", 0, FO_EVERSION, "epochs:1: unsupported format version 2"},
    {"failover-agent-epochs 0\n", 0, FO_EVERSION, "epochs:1: unsupported format version 0"},
    {"failover-agent-epochs\n", 0, FO_EINVAL, "epochs:1: expected version line"},
    {"failover-agent-epochs 01\n", 0, FO_EINVAL, "epochs:1: expected version line"},
    {"failover-agent-epochs 1 \n", 0, FO_EINVAL, "epochs:1: expected version line"},
    {"failover-agent-epochs  1\n", 0, FO_EINVAL, "epochs:1: expected version line"},
    {"failover-agent-epochs 99999999999999999999\n", 0, FO_EINVAL, "epochs:1: expected version line"},
    {"demo 5\n", 0, FO_EINVAL, "epochs:1: expected version line"},
    {"\n" HDR, 0, FO_EINVAL, "epochs:1: expected version line"},
    {"FAILOVER-AGENT-EPOCHS 1\n", 0, FO_EINVAL, "epochs:1: expected version line"},
    /* Cluster lines. */
    {HDR "demo 5", 0, FO_EINVAL, "epochs:2: last line has no newline"},
    {HDR "demo 5\n\n", 0, FO_EINVAL, "epochs:3: expected \"<cluster> <epoch>\""},
    {HDR "demo\n", 0, FO_EINVAL, "epochs:2: expected \"<cluster> <epoch>\""},
    {HDR "demo\t5\n", 0, FO_EINVAL, "epochs:2: expected \"<cluster> <epoch>\""},
    {HDR "demo  5\n", 0, FO_EINVAL, "epochs:2: invalid epoch \" 5\""},
    {HDR "demo 5 \n", 0, FO_EINVAL, "epochs:2: invalid epoch \"5 \""},
    {HDR "demo 5\r\n", 0, FO_EINVAL, "epochs:2: invalid epoch \"5?\""},
    {HDR "demo \n", 0, FO_EINVAL, "epochs:2: invalid epoch \"\""},
    {HDR "demo -1\n", 0, FO_EINVAL, "epochs:2: invalid epoch \"-1\""},
    {HDR "demo +5\n", 0, FO_EINVAL, "epochs:2: invalid epoch \"+5\""},
    {HDR "demo 05\n", 0, FO_EINVAL, "epochs:2: invalid epoch \"05\""},
    {HDR "demo 00\n", 0, FO_EINVAL, "epochs:2: invalid epoch \"00\""},
    {HDR "demo 0x5\n", 0, FO_EINVAL, "epochs:2: invalid epoch \"0x5\""},
    {HDR "demo 5a\n", 0, FO_EINVAL, "epochs:2: invalid epoch \"5a\""},
    {HDR "demo 5.0\n", 0, FO_EINVAL, "epochs:2: invalid epoch \"5.0\""},
    {HDR "demo 1e3\n", 0, FO_EINVAL, "epochs:2: invalid epoch \"1e3\""},
    /* One past UINT64_MAX, twenty nines, and twenty-one digits. */
    {HDR "demo 18446744073709551616\n", 0, FO_EINVAL, "epochs:2: invalid epoch \"18446744073709551616\""},
    {HDR "demo 99999999999999999999\n", 0, FO_EINVAL, "epochs:2: invalid epoch"},
    {HDR "demo 184467440737095516150\n", 0, FO_EINVAL, "epochs:2: invalid epoch"},
    {HDR "demo 123456789012345678901234567890123456789012345\n", 0, FO_EINVAL,
     "epochs:2: invalid epoch \"12345678901234567890123456789012...\""},
    {HDR "bad/name 5\n", 0, FO_EINVAL, "epochs:2: invalid cluster name \"bad/name\""},
    {HDR " demo 5\n", 0, FO_EINVAL, "epochs:2: invalid cluster name \"\""},
    {HDR "# comment\n", 0, FO_EINVAL, "epochs:2: invalid cluster name \"#\""},
    {HDR "d\xc3\xa9mo 5\n", 0, FO_EINVAL, "epochs:2: invalid cluster name \"d??mo\""},
    {HDR NAME64 " 5\n", 0, FO_EINVAL, "epochs:2: invalid cluster name"},
    {HDR "demo 5\nother 6\ndemo 7\n", 0, FO_EINVAL, "epochs:4: cluster \"demo\" appears twice"},
    {HDR "de\0mo 5\n", sizeof(HDR "de\0mo 5\n") - 1, FO_EINVAL, "epochs:2: NUL byte in line"},
    {HDR "demo 5\n\0", sizeof(HDR "demo 5\n\0") - 1, FO_EINVAL, "epochs:3: last line has no newline"},
};

static void test_load_table(void)
{
    char dir[FO_TEST_DIRLEN], err[FO_ERRLEN];
    size_t i;

    for (i = 0; i < N_ELEMS(load_cases); i++) {
        const struct load_case *c = &load_cases[i];
        struct fo_epoch_store *s = NULL;
        int rc;

        if (fo_test_tmpdir(dir, sizeof(dir), "epoch-load") != 0) {
            FO_CHECK(!"tmpdir");
            return;
        }
        FO_CHECK_INT(write_file(dir, FO_EPOCH_FILE, c->data, c->len ? c->len : strlen(c->data)), 0);
        err[0] = '\0';
        rc = fo_epoch_open(&s, dir, err);
        if (rc != c->rc) fprintf(stderr, "  case %zu: %s\n", i, err);
        FO_CHECK_INT(rc, c->rc);
        if (rc == 0 && c->msg != NULL) {
            FO_CHECK_INT(get_or(s, "demo", 1), strtoull(c->msg, NULL, 10));
        } else if (rc != 0) {
            FO_CHECK(s == NULL);
            CHECK_CONTAINS(err, dir); /* the file is named */
            CHECK_CONTAINS(err, c->msg);
        }
        fo_epoch_close(s);
        fo_test_tmpdir_remove(dir);
    }
}

/* Files over the size or cluster limits, a directory in place of the file, a missing
 * state directory: all errors, never an empty store. */
static void test_load_limits(void)
{
    char dir[FO_TEST_DIRLEN], err[FO_ERRLEN], path[256];
    struct fo_epoch_store *s = NULL;
    char *big;
    size_t len = 0, i;

    if (fo_test_tmpdir(dir, sizeof(dir), "epoch-limits") != 0) {
        FO_CHECK(!"tmpdir");
        return;
    }
    big = malloc(FO_EPOCH_MAX_FILE * 2);
    FO_CHECK(big != NULL);
    if (big == NULL) return;

    /* FO_EPOCH_MAX_CLUSTERS loads; one more is refused, both on load and on raise. */
    len = (size_t)sprintf(big, HDR);
    for (i = 0; i < FO_EPOCH_MAX_CLUSTERS; i++) len += (size_t)sprintf(big + len, "c%zu %zu\n", i, i);
    FO_CHECK_INT(write_file(dir, FO_EPOCH_FILE, big, len), 0);
    FO_CHECK_INT(fo_epoch_open(&s, dir, err), 0);
    if (s != NULL) {
        FO_CHECK_INT(get_or(s, "c1023", 0), 1023);
        FO_CHECK_INT(fo_epoch_check_and_raise(s, "one-more", 1, NO_WINDOW, err), FO_ETOOBIG);
        FO_CHECK_INT(fo_epoch_get(s, "one-more", &(uint64_t){0}), FO_ENOTFOUND);
        FO_CHECK_INT(fo_epoch_check_and_raise(s, "c5", 6, NO_WINDOW, err), 0);
        fo_epoch_close(s);
        s = NULL;
    }
    len += (size_t)sprintf(big + len, "x 1\n");
    FO_CHECK_INT(write_file(dir, FO_EPOCH_FILE, big, len), 0);
    FO_CHECK_INT(fo_epoch_open(&s, dir, err), FO_ETOOBIG);
    CHECK_CONTAINS(err, "epochs:1026: more than 1024 clusters");

    /* Over the byte limit. */
    memset(big, 'x', FO_EPOCH_MAX_FILE * 2);
    memcpy(big, HDR, strlen(HDR));
    FO_CHECK_INT(write_file(dir, FO_EPOCH_FILE, big, FO_EPOCH_MAX_FILE + 1), 0);
    FO_CHECK_INT(fo_epoch_open(&s, dir, err), FO_ETOOBIG);
    CHECK_CONTAINS(err, "epochs: ");
    free(big);

    /* A directory where the file should be. */
    snprintf(path, sizeof(path), "%s/%s", dir, FO_EPOCH_FILE);
    FO_CHECK_INT(unlink(path), 0);
    FO_CHECK_INT(mkdir(path, 0700), 0);
    FO_CHECK_INT(fo_epoch_open(&s, dir, err), FO_EINVAL);
    CHECK_CONTAINS(err, "not a regular file");
    FO_CHECK_INT(rmdir(path), 0);

    /* No file at all: an empty store (first start). */
    FO_CHECK_INT(fo_epoch_open(&s, dir, err), 0);
    FO_CHECK_INT(fo_epoch_get(s, "demo", &(uint64_t){0}), FO_ENOTFOUND);
    fo_epoch_close(s);
    s = NULL;

    /* No state directory, or a file instead. */
    snprintf(path, sizeof(path), "%s/missing", dir);
    FO_CHECK_INT(fo_epoch_open(&s, path, err), FO_ENOTFOUND);
    CHECK_CONTAINS(err, path);
    FO_CHECK_INT(write_file(dir, "plain", "x", 1), 0);
    snprintf(path, sizeof(path), "%s/plain", dir);
    FO_CHECK_INT(fo_epoch_open(&s, path, err), FO_ENOTFOUND);
    FO_CHECK_INT(fo_epoch_open(&s, "", err), FO_EINVAL);
    FO_CHECK_INT(fo_epoch_open(&s, NULL, err), FO_EINVAL);
    FO_CHECK(s == NULL);
    fo_test_tmpdir_remove(dir);
}

/* ------------------------------------------------------------------ check and raise */

struct raise_case {
    const char *cluster;
    uint64_t epoch;
    int rc;
    const char *msg;      /* part of the error message */
    uint64_t demo, other; /* highest seen afterwards (0: none), in memory and after a reload */
};

static const struct raise_case raise_cases[] = {
    {"demo", 5, 0, NULL, 5, 0},
    {"demo", 3, FO_ESTALE, "epoch 3 < 5 already seen for cluster demo", 5, 0},
    {"demo", 5, 0, NULL, 5, 0},
    {"demo", 6, 0, NULL, 6, 0},
    {"demo", 0, FO_ESTALE, "epoch 0 < 6 already seen for cluster demo", 6, 0},
    {"other", 1, 0, NULL, 6, 1},
    {"demo", 4, FO_ESTALE, "epoch 4 < 6 already seen for cluster demo", 6, 1},
    {"other", UINT64_MAX, 0, NULL, 6, UINT64_MAX},
    {"other", UINT64_MAX - 1, FO_ESTALE, "epoch 18446744073709551614 < 18446744073709551615", 6, UINT64_MAX},
    {"demo", 1000000, 0, NULL, 1000000, UINT64_MAX},
    /* Names are checked like the file's: never written, so never a corrupt file. */
    {"bad name", 1, FO_EINVAL, "invalid cluster name", 1000000, UINT64_MAX},
    {"", 1, FO_EINVAL, "invalid cluster name", 1000000, UINT64_MAX},
    {"a\nb", 1, FO_EINVAL, "invalid cluster name", 1000000, UINT64_MAX},
    {NAME64, 1, FO_EINVAL, "invalid cluster name", 1000000, UINT64_MAX},
    {NULL, 1, FO_EINVAL, "invalid cluster name", 1000000, UINT64_MAX},
    {NAME63, 1, 0, NULL, 1000000, UINT64_MAX},
};

static void test_raise_table(void)
{
    char dir[FO_TEST_DIRLEN], err[FO_ERRLEN], buf[1024], tmp[256];
    struct fo_epoch_store *s = NULL;
    size_t i;

    if (fo_test_tmpdir(dir, sizeof(dir), "epoch-raise") != 0 || fo_epoch_open(&s, dir, err) != 0) {
        FO_CHECK(!"store");
        return;
    }
    for (i = 0; i < N_ELEMS(raise_cases); i++) {
        const struct raise_case *c = &raise_cases[i];
        struct fo_epoch_store *again = NULL;
        int rc;

        err[0] = '\0';
        rc = fo_epoch_check_and_raise(s, c->cluster, c->epoch, NO_WINDOW, err);
        if (rc != c->rc) fprintf(stderr, "  case %zu: %s\n", i, err);
        FO_CHECK_INT(rc, c->rc);
        if (c->msg != NULL) CHECK_CONTAINS(err, c->msg);
        FO_CHECK_INT(get_or(s, "demo", 0), c->demo);
        FO_CHECK_INT(get_or(s, "other", 0), c->other);
        /* A restart sees exactly what was accepted. */
        FO_CHECK_INT(fo_epoch_open(&again, dir, err), 0);
        if (again != NULL) {
            FO_CHECK_INT(get_or(again, "demo", 0), c->demo);
            FO_CHECK_INT(get_or(again, "other", 0), c->other);
        }
        fo_epoch_close(again);
    }
    FO_CHECK_STR(read_epochs(dir, buf, sizeof(buf)), HDR "demo 1000000\nother 18446744073709551615\n" NAME63 " 1\n");
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, FO_EPOCH_FILE);
    FO_CHECK(access(tmp, F_OK) != 0); /* the temp file was renamed away */
    FO_CHECK_INT(fo_epoch_get(s, "bad name", &(uint64_t){0}), FO_EINVAL);
    fo_epoch_close(s);
    fo_test_tmpdir_remove(dir);
}

/* The epoch window (max_epoch_jump): a request more than the window above the highest
 * epoch seen (0 for a cluster never seen) is refused with FO_EPERM, and nothing is
 * written, in memory or on disk; what is within the window is accepted as before. */
struct window_case {
    const char *cluster;
    uint64_t epoch, window;
    int rc;
    const char *msg;
    uint64_t demo; /* highest seen for demo afterwards (0: none) */
};

static const struct window_case window_cases[] = {
    /* A cluster never seen counts from 0. */
    {"demo", UINT64_MAX, 1000, FO_EPERM,
     "epoch 18446744073709551615 jumps more than 1000 (max_epoch_jump) above 0 for cluster demo, never seen", 0},
    {"demo", 1001, 1000, FO_EPERM, "epoch 1001 jumps more than 1000", 0},
    {"demo", 1000, 1000, 0, NULL, 1000},
    {"demo", UINT64_MAX, 1000, FO_EPERM,
     "epoch 18446744073709551615 jumps more than 1000 (max_epoch_jump) above 1000, the highest seen for cluster demo",
     1000},
    {"demo", 2001, 1000, FO_EPERM, "above 1000, the highest seen", 1000},
    {"demo", 2000, 1000, 0, NULL, 2000},
    /* Stale wins over the window: a lower epoch is stale whatever the window. */
    {"demo", 1, 1, FO_ESTALE, "epoch 1 < 2000", 2000},
    {"demo", 2000, 1, 0, NULL, 2000},
    {"demo", 2001, 1, 0, NULL, 2001},
    {"demo", 2003, 1, FO_EPERM, "jumps more than 1 ", 2001},
    /* The largest window never overflows: 2^64-1 is within it. */
    {"demo", UINT64_MAX, UINT64_MAX, 0, NULL, UINT64_MAX},
};

static void test_raise_window(void)
{
    char dir[FO_TEST_DIRLEN], err[FO_ERRLEN], buf[256], want[256];
    struct fo_epoch_store *s = NULL;
    struct stat st;
    mode_t old_mask = umask(0); /* the file's mode must not depend on the caller's umask */
    size_t i;

    if (fo_test_tmpdir(dir, sizeof(dir), "epoch-window") != 0 || fo_epoch_open(&s, dir, err) != 0) {
        FO_CHECK(!"store");
        return;
    }
    for (i = 0; i < N_ELEMS(window_cases); i++) {
        const struct window_case *c = &window_cases[i];
        struct fo_epoch_store *again = NULL;
        int rc;

        err[0] = '\0';
        FO_CHECK_INT(fo_epoch_check(s, c->cluster, c->epoch, c->window, err), c->rc);
        rc = fo_epoch_check_and_raise(s, c->cluster, c->epoch, c->window, err);
        if (rc != c->rc) fprintf(stderr, "  case %zu: %s\n", i, err);
        FO_CHECK_INT(rc, c->rc);
        if (c->msg != NULL) CHECK_CONTAINS(err, c->msg);
        FO_CHECK_INT(get_or(s, "demo", 0), c->demo);
        /* What a restart sees: a refused epoch was never written. */
        if (c->demo == 0)
            snprintf(want, sizeof(want), "%s", "");
        else
            snprintf(want, sizeof(want), HDR "demo %llu\n", (unsigned long long)c->demo);
        FO_CHECK_STR(read_epochs(dir, buf, sizeof(buf)), want);
        FO_CHECK_INT(fo_epoch_open(&again, dir, err), 0);
        if (again != NULL) FO_CHECK_INT(get_or(again, "demo", 0), c->demo);
        fo_epoch_close(again);
    }
    /* The epochs file is private to the agent, whatever the umask (issue 9). */
    snprintf(want, sizeof(want), "%s/%s", dir, FO_EPOCH_FILE);
    FO_CHECK_INT(stat(want, &st), 0);
    FO_CHECK_INT(st.st_mode & 0777, 0600);
    umask(old_mask);
    fo_epoch_close(s);
    fo_test_tmpdir_remove(dir);
}

/* A raise that cannot be made durable is refused and leaves nothing behind: not in
 * memory, not on disk. A stray temp file from a crash is ignored and overwritten. */
static void test_raise_write_failure(void)
{
    char dir[FO_TEST_DIRLEN], err[FO_ERRLEN], tmp[256], buf[256];
    struct fo_epoch_store *s = NULL, *again = NULL;

    if (fo_test_tmpdir(dir, sizeof(dir), "epoch-fail") != 0) {
        FO_CHECK(!"tmpdir");
        return;
    }
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, FO_EPOCH_FILE);
    FO_CHECK_INT(write_file(dir, FO_EPOCH_FILE ".tmp", "garbage", 7), 0);
    FO_CHECK_INT(fo_epoch_open(&s, dir, err), 0);
    if (s == NULL) return;
    FO_CHECK_INT(fo_epoch_check_and_raise(s, "demo", 6, NO_WINDOW, err), 0);

    /* A directory in the temp file's place makes the write fail (root ignores modes). */
    FO_CHECK_INT(mkdir(tmp, 0700), 0);
    FO_CHECK_INT(fo_epoch_check_and_raise(s, "demo", 10, NO_WINDOW, err), FO_EIO);
    CHECK_CONTAINS(err, tmp);
    FO_CHECK_INT(get_or(s, "demo", 0), 6);
    FO_CHECK_INT(fo_epoch_check_and_raise(s, "newcluster", 1, NO_WINDOW, err), FO_EIO);
    FO_CHECK_INT(fo_epoch_get(s, "newcluster", &(uint64_t){0}), FO_ENOTFOUND);
    FO_CHECK_STR(read_epochs(dir, buf, sizeof(buf)), HDR "demo 6\n");
    /* Epoch 7 is still acceptable: the refused 10 was never recorded. */
    FO_CHECK_INT(rmdir(tmp), 0);
    FO_CHECK_INT(fo_epoch_check_and_raise(s, "demo", 7, NO_WINDOW, err), 0);
    FO_CHECK_INT(fo_epoch_open(&again, dir, err), 0);
    if (again != NULL) FO_CHECK_INT(get_or(again, "demo", 0), 7);
    fo_epoch_close(again);
    fo_epoch_close(s);
    fo_test_tmpdir_remove(dir);
}

/* ------------------------------------------------------------------ the lease */

#define ADD FO_LEASE_ADD_VIP
#define DEL FO_LEASE_DEL_VIP
#define RO FO_LEASE_SET_READ_ONLY
#define NONE FO_LEASE_NONE
#define HELD FO_LEASE_HELD
#define EXPIRED FO_LEASE_EXPIRED
#define RELEASED FO_LEASE_RELEASED
#define MAX_STEPS 8

struct lease_step {
    char op; /* 'a' acquire, 'r' renew, 'x' release, 't' tick; 0 ends the case */
    uint64_t epoch;
    uint64_t lease_ms; /* acquire only */
    uint64_t now;      /* not for release */
    int rc;
    unsigned actions;
    enum fo_lease_state state; /* afterwards */
};

struct lease_case {
    const char *name;
    struct lease_step steps[MAX_STEPS];
};

static const struct lease_case lease_cases[] = {
    {"renewed lease stays held",
     {{'a', 5, 2000, 0, 0, ADD, HELD},
      {'t', 0, 0, 1999, 0, 0, HELD},
      {'r', 5, 0, 1500, 0, 0, HELD},
      {'t', 0, 0, 3499, 0, 0, HELD},
      {'r', 5, 0, 3000, 0, 0, HELD},
      {'t', 0, 0, 4999, 0, 0, HELD},
      {'t', 0, 0, 5000, 0, DEL | RO, EXPIRED}}},
    {"expires at the deadline, once",
     {{'a', 1, 2000, 100, 0, ADD, HELD},
      {'t', 0, 0, 2099, 0, 0, HELD},
      {'t', 0, 0, 2100, 0, DEL | RO, EXPIRED},
      {'t', 0, 0, 2101, 0, 0, EXPIRED},
      {'t', 0, 0, 99999, 0, 0, EXPIRED}}},
    {"late renew finds it expired and does not revive it",
     {{'a', 1, 2000, 0, 0, ADD, HELD},
      {'r', 1, 0, 2000, FO_ENOTFOUND, DEL | RO, EXPIRED},
      {'r', 1, 0, 2001, FO_ENOTFOUND, 0, EXPIRED},
      {'t', 0, 0, 2002, 0, 0, EXPIRED},
      {'a', 1, 2000, 2003, 0, ADD, HELD},
      {'t', 0, 0, 4003, 0, DEL | RO, EXPIRED}}},
    {"renew without a lease", {{'r', 1, 0, 0, FO_ENOTFOUND, 0, NONE}, {'t', 0, 0, 10, 0, 0, NONE}}},
    {"stale epochs are refused and change nothing",
     {{'a', 5, 2000, 0, 0, ADD, HELD},
      {'a', 4, 2000, 10, FO_ESTALE, 0, HELD},
      {'r', 4, 0, 20, FO_ESTALE, 0, HELD},
      {'x', 4, 0, 0, FO_ESTALE, 0, HELD},
      {'a', 0, 2000, 30, FO_ESTALE, 0, HELD},
      {'t', 0, 0, 1999, 0, 0, HELD},
      {'r', 5, 0, 1999, 0, 0, HELD},
      {'t', 0, 0, 3998, 0, 0, HELD}}},
    {"a stale call after the deadline still expires the lease",
     {{'a', 5, 2000, 0, 0, ADD, HELD}, {'r', 4, 0, 3000, FO_ESTALE, DEL | RO, EXPIRED}}},
    {"a stale acquire after the deadline too",
     {{'a', 5, 2000, 0, 0, ADD, HELD}, {'a', 4, 2000, 2000, FO_ESTALE, DEL | RO, EXPIRED}}},
    {"release, then only acquire brings it back",
     {{'a', 2, 2000, 0, 0, ADD, HELD},
      {'x', 2, 0, 0, 0, DEL, RELEASED},
      {'r', 2, 0, 10, FO_ENOTFOUND, 0, RELEASED},
      {'t', 0, 0, 5000, 0, 0, RELEASED},
      {'x', 2, 0, 0, 0, DEL, RELEASED},
      {'a', 2, 2000, 6000, 0, ADD, HELD},
      {'t', 0, 0, 8000, 0, DEL | RO, EXPIRED},
      {'x', 3, 0, 0, 0, DEL, RELEASED}}},
    {"release after an agent restart still deletes", {{'x', 0, 0, 0, 0, DEL, RELEASED}}},
    {"release at a stale epoch after a release",
     {{'x', 7, 0, 0, 0, DEL, RELEASED},
      {'a', 6, 2000, 0, FO_ESTALE, 0, RELEASED},
      {'x', 6, 0, 0, FO_ESTALE, 0, RELEASED}}},
    {"a higher epoch on renew is adopted",
     {{'a', 3, 2000, 0, 0, ADD, HELD},
      {'r', 4, 0, 100, 0, 0, HELD},
      {'a', 3, 2000, 200, FO_ESTALE, 0, HELD},
      {'r', 3, 0, 300, FO_ESTALE, 0, HELD},
      {'t', 0, 0, 2100, 0, DEL | RO, EXPIRED}}},
    {"lease length is bounded",
     {{'a', 1, 0, 0, FO_EINVAL, 0, NONE},
      {'a', 1, FO_LEASE_MAX_MS + 1, 0, FO_EINVAL, 0, NONE},
      {'a', 1, FO_LEASE_MAX_MS, 0, 0, ADD, HELD},
      {'t', 0, 0, FO_LEASE_MAX_MS - 1, 0, 0, HELD},
      {'a', 1, 0, FO_LEASE_MAX_MS, FO_EINVAL, DEL | RO, EXPIRED}}},
    {"an acquire past the deadline keeps the VIP (no delete in between)",
     {{'a', 1, 2000, 0, 0, ADD, HELD},
      {'a', 1, 2000, 5000, 0, ADD, HELD},
      {'t', 0, 0, 6999, 0, 0, HELD},
      {'t', 0, 0, 7000, 0, DEL | RO, EXPIRED}}},
    {"re-acquire takes the new length, renew keeps it",
     {{'a', 1, 2000, 0, 0, ADD, HELD},
      {'a', 2, 500, 100, 0, ADD, HELD},
      {'r', 2, 0, 400, 0, 0, HELD},
      {'t', 0, 0, 899, 0, 0, HELD},
      {'t', 0, 0, 900, 0, DEL | RO, EXPIRED}}},
    {"the deadline saturates instead of wrapping",
     {{'a', 1, 2000, UINT64_MAX - 10, 0, ADD, HELD},
      {'t', 0, 0, UINT64_MAX - 1, 0, 0, HELD},
      {'r', 1, 0, UINT64_MAX - 1, 0, 0, HELD},
      {'t', 0, 0, UINT64_MAX, 0, DEL | RO, EXPIRED}}},
    {"epochs up to UINT64_MAX",
     {{'a', UINT64_MAX, 2000, 0, 0, ADD, HELD},
      {'r', UINT64_MAX, 0, 1, 0, 0, HELD},
      {'a', UINT64_MAX - 1, 2000, 2, FO_ESTALE, 0, HELD}}},
};

static int lease_do(struct fo_lease *l, const struct lease_step *s, unsigned *actions, char *err)
{
    switch (s->op) {
    case 'a': return fo_lease_acquire(l, s->epoch, s->lease_ms, s->now, actions, err);
    case 'r': return fo_lease_renew(l, s->epoch, s->now, actions, err);
    case 'x': return fo_lease_release(l, s->epoch, actions, err);
    default: *actions = fo_lease_tick(l, s->now); return 0;
    }
}

static void test_lease_table(void)
{
    char err[FO_ERRLEN];
    size_t i, j;

    for (i = 0; i < N_ELEMS(lease_cases); i++) {
        const struct lease_case *c = &lease_cases[i];
        struct fo_lease l;

        fo_lease_init(&l);
        for (j = 0; j < MAX_STEPS && c->steps[j].op != 0; j++) {
            const struct lease_step *s = &c->steps[j];
            unsigned actions = 0xdead;
            uint64_t deadline = 0;
            int rc;

            err[0] = '\0';
            rc = lease_do(&l, s, &actions, err);
            if (rc != s->rc || actions != s->actions || l.state != s->state)
                fprintf(stderr, "  case \"%s\" step %zu: rc %d actions %u state %s (%s)\n", c->name, j, rc, actions,
                        fo_lease_state_name(l.state), err);
            FO_CHECK_INT(rc, s->rc);
            FO_CHECK_INT(actions, s->actions);
            FO_CHECK_INT(l.state, s->state);
            FO_CHECK(fo_lease_deadline(&l, &deadline) == (l.state == HELD));
            if (s->rc == FO_ESTALE) CHECK_CONTAINS(err, " < ");
        }
    }
}

static void test_lease_messages_and_tables(void)
{
    char err[FO_ERRLEN];
    unsigned actions;
    uint64_t deadline = 0;
    struct fo_lease l;

    fo_lease_init(&l);
    FO_CHECK(!fo_lease_deadline(&l, &deadline));
    FO_CHECK_INT(fo_lease_acquire(&l, 5, 2000, 1000, &actions, err), 0);
    FO_CHECK(fo_lease_deadline(&l, &deadline));
    FO_CHECK_INT(deadline, 3000);
    FO_CHECK_INT(fo_lease_acquire(&l, 3, 2000, 1000, &actions, err), FO_ESTALE);
    FO_CHECK_STR(err, "acquire at epoch 3 < 5 held by the lease");
    FO_CHECK_INT(fo_lease_tick(&l, 3000), DEL | RO);
    FO_CHECK_INT(fo_lease_renew(&l, 5, 3001, &actions, err), FO_ENOTFOUND);
    FO_CHECK_STR(err, "renew at epoch 5: no lease held (expired)");

    FO_CHECK(fo_lease_allowed(NONE, HELD));
    FO_CHECK(fo_lease_allowed(HELD, EXPIRED));
    FO_CHECK(fo_lease_allowed(EXPIRED, HELD));
    FO_CHECK(fo_lease_allowed(RELEASED, HELD));
    FO_CHECK(!fo_lease_allowed(HELD, NONE));
    FO_CHECK(!fo_lease_allowed(RELEASED, EXPIRED));
    FO_CHECK(!fo_lease_allowed(NONE, EXPIRED));
    FO_CHECK(!fo_lease_allowed(HELD, HELD));
    FO_CHECK(!fo_lease_allowed((enum fo_lease_state)9, HELD));
    FO_CHECK_STR(fo_lease_state_name(NONE), "none");
    FO_CHECK_STR(fo_lease_state_name(HELD), "held");
    FO_CHECK_STR(fo_lease_state_name(EXPIRED), "expired");
    FO_CHECK_STR(fo_lease_state_name(RELEASED), "released");
    FO_CHECK_STR(fo_lease_state_name((enum fo_lease_state)9), "invalid");
}

FO_TEST_MAIN(FO_T(test_load_table), FO_T(test_load_limits), FO_T(test_raise_table), FO_T(test_raise_window),
             FO_T(test_raise_write_failure), FO_T(test_lease_table), FO_T(test_lease_messages_and_tables))
