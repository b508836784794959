/* How deep Connector/C's non-blocking stack really gets (issue 12, mysql/myconn.h
 * FO_MYCONN_STACK_BYTES). Every non-blocking MYSQL runs its *_start / *_cont work on
 * a stack of its own, malloc'd, without a guard page: an overflow corrupts the heap
 * silently. So its size is chosen from a measurement, and this test repeats the
 * measurement on every run and fails if the deepest path uses more than half of it.
 *
 * How: the test gives a connection a 1 MiB stack instead (MYSQL_OPT_NONBLOCK on the
 * handle, before the connect), which glibc maps fresh and zero-filled; it finds that
 * mapping in /proc/self/maps, runs the operations through mysql/myconn.c exactly as
 * failoverd does, and then reads how far from the top the stack was written (the
 * lowest non-zero byte, cross-checked with the resident pages, mincore). Paths,
 * against a real mariadbd with certificates: a plain session (no TLS), TLS preferred,
 * TLS verify_identity with a host NAME (Connector/C resolves it on the stack, then
 * verifies the chain and the name), and an ed25519 account over TLS (its client
 * plugin is dlopen'ed on the stack). Each connect is followed by the probe's
 * multi-statement (mysql/sample.h FO_SAMPLE_PROBE_ALL) with both results stored.
 *
 * caching_sha2_password is allowed only in the verify modes (common/config.h) and
 * MariaDB has no server side for it: not measured here; its paths over TLS are a
 * SHA-256 scramble or the password written to the TLS session, both shallower than
 * the handshake measured. */
#include <malloc.h>
#include <mysql.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uv.h>

#include "fo_test.h"
#include "lib/testcheck.h"
#include "lib/testdb.h"
#include "lib/testtlsdb.h"
#include "lib/testutil.h"
#include "mysql/myconn.h"
#include "mysql/sample.h"

#define SECRET "Stack-Depth-Passw0rd"
#define BIG_STACK (1u << 20)

/* Under AddressSanitizer the stack comes from ASan's allocator, whose blocks are
 * neither fresh mappings nor zero-filled: this measurement cannot be made there, and
 * mysql/myconn.h gives sanitizer builds a larger stack instead. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#define MAX_MAPS 4096

/* ------------------------------------------------------------------ a mariadbd with TLS */

#define STACK_SETUP                                                                                          \
    "CREATE USER fo@'127.0.0.1' IDENTIFIED BY '" SECRET "'; CREATE USER fo@localhost IDENTIFIED BY '" SECRET \
    "'; CREATE USER ed@'127.0.0.1' IDENTIFIED VIA ed25519 USING PASSWORD('" SECRET                           \
    "'); CREATE USER nomon@'127.0.0.1' IDENTIFIED BY '" SECRET                                               \
    "'; GRANT REPLICATION CLIENT, SLAVE MONITOR ON *.* TO fo@'127.0.0.1', fo@localhost, ed@'127.0.0.1'"

/* ------------------------------------------------------------------ finding the stack */

struct region {
    uintptr_t lo, hi;
};

static unsigned read_maps(struct region *r, unsigned max)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned n = 0;
    unsigned long lo, hi;

    if (f == NULL) return 0;
    while (n < max && fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2) r[n++] = (struct region){lo, hi};
    fclose(f);
    return n;
}

/* The one new range in after, not in before, of the size glibc maps for a malloc of
 * BIG_STACK bytes (its chunk header rounds it up by one page). The kernel merges a new
 * anonymous mapping with an adjacent one, so the range may be one end of a region that
 * was already there, smaller. */
static bool find_new(const struct region *before, unsigned nb, const struct region *after, unsigned na,
                     struct region *out)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo, hi;
    unsigned i, j, found = 0;

    for (i = 0; i < na; i++) {
        lo = after[i].lo;
        hi = after[i].hi;
        for (j = 0; j < nb; j++) {
            if (before[j].hi <= lo || before[j].lo >= hi) continue;
            if (before[j].lo <= lo) lo = before[j].hi > lo ? before[j].hi : lo;
            if (before[j].hi >= hi) hi = before[j].lo < hi ? before[j].lo : hi;
        }
        if (hi > lo && hi - lo == BIG_STACK + page) {
            *out = (struct region){lo, hi};
            found++;
        }
    }
    return found == 1;
}

/* Bytes from the region's top down to the lowest non-zero byte; *pages_out: the
 * resident pages' span from the top (mincore), a page-granular upper bound. */
static size_t depth_of(const struct region *r, size_t *pages_out)
{
    const unsigned char *p = (const unsigned char *)r->lo;
    size_t len = r->hi - r->lo, page = (size_t)sysconf(_SC_PAGESIZE), i, lowest = len;
    unsigned char *vec = calloc(len / page, 1);

    *pages_out = 0;
    if (vec != NULL && mincore((void *)r->lo, len, vec) == 0) {
        for (i = 0; i < len / page; i++)
            if (vec[i] & 1) {
                /* The first page holds malloc's chunk header: not stack. */
                if (i == 0) continue;
                *pages_out = len - i * page;
                break;
            }
    }
    free(vec);
    for (i = page; i < len; i++)
        if (p[i] != 0) {
            lowest = i;
            break;
        }
    return len - lowest;
}

/* ------------------------------------------------------------------ one measured session */

struct run {
    struct fo_myconn *c;
    struct region stack;
    bool have_stack;
    int status;
    unsigned results;
    char err[512];
    bool done;
    size_t depth, resident;
};

/* Measures before closing: mysql_close frees (unmaps) the stack. */
static void finish(struct run *r, int status)
{
    r->status = status;
    if (status != 0) snprintf(r->err, sizeof(r->err), "%s", fo_myconn_error(r->c));
    if (r->have_stack) r->depth = depth_of(&r->stack, &r->resident);
    r->done = true;
    fo_myconn_close(r->c, NULL);
}

static void on_result(void *data, int status, MYSQL_RES *res);

static void on_stored(void *data, int status, MYSQL_RES *res)
{
    struct run *r = data;

    if (res != NULL) {
        r->results++;
        mysql_free_result(res);
    }
    if (status != 0 || res == NULL) return finish(r, status != 0 ? status : -1);
    if (mysql_more_results(fo_myconn_mysql(r->c))) return fo_myconn_next_result(r->c, on_result);
    finish(r, 0);
}

static void on_result(void *data, int status, MYSQL_RES *res)
{
    struct run *r = data;

    (void)res;
    if (status != 0) return finish(r, status);
    fo_myconn_store_result(r->c, on_stored);
}

static void on_connect(void *data, int status, MYSQL_RES *res)
{
    struct run *r = data;

    (void)res;
    if (status != 0) return finish(r, status);
    fo_myconn_query(r->c, FO_SAMPLE_PROBE_ALL, on_result);
}

/* Connects as failoverd's prober does (mode, the CA when with_ca) and runs one probe;
 * returns the deepest use of the stack in bytes. want_results: the results the probe
 * must read, 2 for a good session; fewer means the session must fail (an error reply,
 * a refused login or connect), and its error path is what is measured. */
static size_t measure(const char *what, const struct fo_test_tls_db *db, const char *host, uint16_t port,
                      const char *user, const char *password, enum fo_ssl_mode mode, bool with_ca,
                      unsigned want_results)
{
    static struct region before[MAX_MAPS], after[MAX_MAPS];
    struct fo_test_loop tl;
    struct fo_mysql_tls tls;
    struct run r;
    char err[FO_ERRLEN];
    size_t big = BIG_STACK;
    unsigned nb, na;

    memset(&r, 0, sizeof(r));
    memset(&tls, 0, sizeof(tls));
    tls.mode = mode;
    if (with_ca) snprintf(tls.ca, sizeof(tls.ca), "%s/ca.crt", db->dir);
    FO_CHECK_INT(fo_test_loop_init(&tl, 20000), 0);
    r.c = fo_myconn_new(&tl.loop, user, password, &r);
    FO_CHECK(r.c != NULL);
    if (r.c == NULL) return 0;
    FO_CHECK_INT(fo_myconn_set_tls(r.c, &tls, err), 0);
    nb = read_maps(before, MAX_MAPS);
    FO_CHECK_INT(mysql_options(fo_myconn_mysql(r.c), MYSQL_OPT_NONBLOCK, &big), 0);
    na = read_maps(after, MAX_MAPS);
    r.have_stack = find_new(before, nb, after, na, &r.stack);
    FO_CHECK(r.have_stack);
    fo_myconn_connect(r.c, host, port, CLIENT_MULTI_STATEMENTS, on_connect);
    FO_CHECK(fo_test_loop_run(&tl));
    FO_CHECK(r.done);
    FO_CHECK_INT(fo_test_loop_close(&tl), 0);
    printf("  %-44s depth %6zu bytes (resident span %6zu), status %d %s\n", what, r.depth, r.resident, r.status, r.err);
    fflush(stdout);
    FO_CHECK(want_results == 2 ? r.status == 0 : r.status != 0);
    FO_CHECK_INT(r.results, want_results);
    /* The byte scan and the resident pages must agree to within a page: otherwise the
     * region found is not the stack, or the scan missed it. */
    FO_CHECK(r.depth > 0 && r.depth <= r.resident && r.resident - r.depth < 2 * (size_t)sysconf(_SC_PAGESIZE));
    return r.depth;
}

static void test_stack_depth(void)
{
    static struct fo_test_tls_db db;
    size_t d, worst = 0;

#ifdef UNDER_ASAN
    FO_SKIP("AddressSanitizer's allocator: the stack cannot be found and read here (see the top of the file)");
    return;
#endif
    if (access(FO_TEST_MARIADBD, X_OK) != 0 || access(FO_TEST_OPENSSL, X_OK) != 0 ||
        access(FO_TEST_INSTALL_DB, X_OK) != 0) {
        FO_SKIP("mariadbd, mariadb-install-db or openssl missing");
        return;
    }
    /* A fixed threshold: glibc otherwise raises it when a mapped chunk is freed, and
     * the next session's stack would come from the (already written) heap. */
    FO_CHECK_INT(mallopt(M_MMAP_THRESHOLD, 128 * 1024), 1);
    if (fo_test_tls_db_start(&db, "stack", STACK_SETUP) != 0) {
        FO_CHECK(!"mariadbd with TLS did not start");
        fo_test_tls_db_stop(&db);
        return;
    }
    d = measure("plain (ssl_mode off), native password", &db, "127.0.0.1", db.port, "fo", SECRET, FO_SSL_OFF, false, 2);
    worst = d > worst ? d : worst;
    d = measure("TLS (ssl_mode preferred), native password", &db, "127.0.0.1", db.port, "fo", SECRET, FO_SSL_PREFERRED,
                false, 2);
    worst = d > worst ? d : worst;
    d = measure("TLS verify_identity, host name, native", &db, "localhost", db.port, "fo", SECRET,
                FO_SSL_VERIFY_IDENTITY, true, 2);
    worst = d > worst ? d : worst;
    d = measure("TLS (ssl_mode required), ed25519", &db, "127.0.0.1", db.port, "ed", SECRET, FO_SSL_REQUIRED, false, 2);
    worst = d > worst ? d : worst;
    /* Error paths: an error reply to the second statement (no SLAVE MONITOR), a refused
     * login over TLS, a refused TCP connect. */
    d = measure("TLS, error reply to the 2nd statement", &db, "127.0.0.1", db.port, "nomon", SECRET, FO_SSL_PREFERRED,
                false, 1);
    worst = d > worst ? d : worst;
    d = measure("plain, error reply to the 2nd statement", &db, "127.0.0.1", db.port, "nomon", SECRET, FO_SSL_OFF,
                false, 1);
    worst = d > worst ? d : worst;
    d = measure("TLS, wrong password", &db, "127.0.0.1", db.port, "fo", "wrong", FO_SSL_PREFERRED, false, 0);
    worst = d > worst ? d : worst;
    d = measure("refused TCP connect", &db, "127.0.0.1", fo_test_free_port(), "fo", SECRET, FO_SSL_OFF, false, 0);
    worst = d > worst ? d : worst;
    printf("  deepest: %zu bytes of FO_MYCONN_STACK_BYTES %u\n", worst, (unsigned)FO_MYCONN_STACK_BYTES);
    /* Half the stack is the margin for other OpenSSL / glibc versions: no guard page. */
    FO_CHECK(worst * 2 <= FO_MYCONN_STACK_BYTES);
    fo_test_tls_db_stop(&db);
}

FO_TEST_MAIN(FO_T(test_stack_depth))
