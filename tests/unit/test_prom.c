/* Unit tests for common/prom.c: exact text for small cases, and promtool's verdict on a
 * larger rendering. Without promtool the two promtool tests are skipped (the binary
 * exits 77: a skip, never a pass, and CI fails on it: tests/run.sh, STYLE.md §19). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/prom.h"
#include "fo_test.h"

static void test_value_formats(void)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0, "m 0\n"},
        {1, "m 1\n"},
        {-2.5, "m -2.5\n"},
        {0.005, "m 0.005\n"},
        {0.1, "m 0.1\n"},
        {1.0 / 3, "m 0.3333333333333333\n"},
        {123456789, "m 123456789\n"},
        {1e-9, "m 1e-09\n"},
        {NAN, "m NaN\n"},
        {INFINITY, "m +Inf\n"},
        {-INFINITY, "m -Inf\n"},
    };
    struct fo_buf b;
    unsigned i;

    fo_buf_init(&b);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fo_buf_reset(&b);
        fo_prom_value(&b, "m", NULL, 0, cases[i].v);
        FO_CHECK_STR(b.p, cases[i].want);
    }
    FO_CHECK(!b.oom);
    fo_buf_free(&b);
}

static void test_label_escaping(void)
{
    static const struct {
        const char *value;
        const char *want;
    } cases[] = {
        {"plain", "m{l=\"plain\"} 1\n"},         {"", "m{l=\"\"} 1\n"},
        {"a\"b", "m{l=\"a\\\"b\"} 1\n"},         {"a\\b", "m{l=\"a\\\\b\"} 1\n"},
        {"a\nb", "m{l=\"a\\nb\"} 1\n"},          {"\\\"\n", "m{l=\"\\\\\\\"\\n\"} 1\n"},
        {"tab\there", "m{l=\"tab\there\"} 1\n"}, {"h\xc3\xa9", "m{l=\"h\xc3\xa9\"} 1\n"},
    };
    struct fo_buf b;
    unsigned i;

    fo_buf_init(&b);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fo_prom_label l = {"l", cases[i].value};

        fo_buf_reset(&b);
        fo_prom_value(&b, "m", &l, 1, 1);
        FO_CHECK_STR(b.p, cases[i].want);
    }
    fo_buf_free(&b);
}

static void test_small_exact(void)
{
    static const double bounds[] = {0.005, 0.1, 1};
    static const char want[] = "# HELP fo_up Whether the \"thing\" is up \\\\ down\\nsecond line.\n"
                               "# TYPE fo_up gauge\n"
                               "fo_up{cluster=\"c\\\"1\\\\x\\n\",role=\"primary\"} 1\n"
                               "# HELP fo_failovers_total Failovers.\n"
                               "# TYPE fo_failovers_total counter\n"
                               "fo_failovers_total 3\n"
                               "# TYPE fo_probe_seconds histogram\n"
                               "fo_probe_seconds_bucket{instance=\"db1\",le=\"0.005\"} 1\n"
                               "fo_probe_seconds_bucket{instance=\"db1\",le=\"0.1\"} 3\n"
                               "fo_probe_seconds_bucket{instance=\"db1\",le=\"1\"} 3\n"
                               "fo_probe_seconds_bucket{instance=\"db1\",le=\"+Inf\"} 4\n"
                               "fo_probe_seconds_sum{instance=\"db1\"} 2.185\n"
                               "fo_probe_seconds_count{instance=\"db1\"} 4\n"
                               "# TYPE h histogram\n"
                               "h_bucket{le=\"+Inf\"} 0\n"
                               "h_sum 0\n"
                               "h_count 0\n";
    struct fo_prom_label up[] = {{"cluster", "c\"1\\x\n"}, {"role", "primary"}};
    struct fo_prom_label inst = {"instance", "db1"};
    struct fo_histogram h, empty;
    struct fo_buf b;

    fo_buf_init(&b);
    fo_prom_family(&b, "fo_up", "gauge", "Whether the \"thing\" is up \\ down\nsecond line.");
    fo_prom_value(&b, "fo_up", up, 2, 1);
    fo_prom_family(&b, "fo_failovers_total", "counter", "Failovers.");
    fo_prom_value(&b, "fo_failovers_total", NULL, 0, 3);
    fo_histogram_init(&h, bounds, 3);
    fo_histogram_observe(&h, 0.005); /* on a bound: counts in that bucket (le) */
    fo_histogram_observe(&h, 0.05);
    fo_histogram_observe(&h, 0.03);
    fo_histogram_observe(&h, 2.1);
    fo_prom_family(&b, "fo_probe_seconds", "histogram", NULL);
    fo_prom_histogram(&b, "fo_probe_seconds", &inst, 1, &h);
    fo_histogram_init(&empty, NULL, 0);
    fo_prom_family(&b, "h", "histogram", NULL);
    fo_prom_histogram(&b, "h", NULL, 0, &empty);
    FO_CHECK(!b.oom);
    FO_CHECK_STR(b.p, want);
    FO_CHECK_INT(h.count, 4);
    FO_CHECK_INT(h.counts[0], 1);
    FO_CHECK_INT(h.counts[1], 2);
    FO_CHECK_INT(h.counts[2], 0);
    FO_CHECK_INT(h.counts[3], 1);
    fo_buf_free(&b);
}

static void test_histogram_nan_and_inf(void)
{
    static const double bounds[] = {1};
    struct fo_histogram h;

    fo_histogram_init(&h, bounds, 1);
    fo_histogram_observe(&h, NAN);
    fo_histogram_observe(&h, INFINITY);
    fo_histogram_observe(&h, -INFINITY);
    FO_CHECK_INT(h.counts[0], 1);
    FO_CHECK_INT(h.counts[1], 2);
    FO_CHECK_INT(h.count, 3);
    FO_CHECK(isnan(h.sum));
}

/* Renders a realistic page: several families, escaped labels, histograms. */
static void render_large(struct fo_buf *b)
{
    static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
    static const char *const roles[] = {"primary", "replica", "quote\"d", "back\\slash", "new\nline"};
    struct fo_histogram h;
    unsigned i;

    fo_prom_family(b, "fo_instance_up", "gauge", "1 if the instance answers probes.\nSee \\docs.");
    for (i = 0; i < 5; i++) {
        struct fo_prom_label l[] = {{"cluster", "main"}, {"instance", "db"}, {"role", roles[i]}};
        fo_prom_value(b, "fo_instance_up", l, 3, i % 2);
    }
    fo_prom_family(b, "fo_replication_lag_seconds", "gauge", "Seconds behind the primary.");
    fo_prom_value(b, "fo_replication_lag_seconds", NULL, 0, NAN);
    fo_prom_family(b, "fo_limit_bytes", "gauge", "A limit that may be unbounded.");
    fo_prom_value(b, "fo_limit_bytes", NULL, 0, INFINITY);
    fo_prom_family(b, "fo_skew_seconds", "gauge", "A value that may be -Inf.");
    fo_prom_value(b, "fo_skew_seconds", NULL, 0, -INFINITY);
    fo_prom_family(b, "fo_failovers_total", "counter", "Completed failovers.");
    fo_prom_value(b, "fo_failovers_total", NULL, 0, 12345678901.0);
    fo_prom_family(b, "fo_probe_duration_seconds", "histogram", "Probe round trip time.");
    fo_histogram_init(&h, bounds, sizeof(bounds) / sizeof(bounds[0]));
    for (i = 0; i < 1000; i++) fo_histogram_observe(&h, (double)i / 97.0);
    for (i = 0; i < 2; i++) {
        struct fo_prom_label l = {"instance", i ? "db\"2\"" : "db1"};
        fo_prom_histogram(b, "fo_probe_duration_seconds", &l, 1, &h);
    }
}

/* Finds promtool on PATH, then at /usr/bin (the test environment's PATH may be
 * minimal). Writes into out; returns 0 when found. */
static int find_promtool(char *out, size_t cap)
{
    const char *path = getenv("PATH");
    char *copy, *dir, *save = NULL;
    int found = -1;

    if (path != NULL && (copy = strdup(path)) != NULL) {
        for (dir = strtok_r(copy, ":", &save); dir && found != 0; dir = strtok_r(NULL, ":", &save)) {
            int n = snprintf(out, cap, "%s/promtool", *dir ? dir : ".");
            if (n > 0 && (size_t)n < cap && access(out, X_OK) == 0) found = 0;
        }
        free(copy);
    }
    if (found != 0 && access("/usr/bin/promtool", X_OK) == 0) {
        snprintf(out, cap, "/usr/bin/promtool");
        found = 0;
    }
    return found;
}

/* Runs `promtool check metrics < file`; returns its exit status (-1 on failure to
 * run) and copies its combined output into report. */
static int run_promtool(const char *tool, const char *file, char *report, size_t cap)
{
    char cmd[1024];
    size_t len = 0, n;
    FILE *p;
    int st, rc;

    if (strchr(tool, '\'') != NULL || strchr(file, '\'') != NULL) return -1;
    rc = snprintf(cmd, sizeof(cmd), "'%s' check metrics < '%s' 2>&1", tool, file);
    if (rc < 0 || (size_t)rc >= sizeof(cmd)) return -1;
    p = popen(cmd, "r");
    if (p == NULL) return -1;
    while (len + 1 < cap && (n = fread(report + len, 1, cap - 1 - len, p)) > 0) len += n;
    report[len] = '\0';
    st = pclose(p);
    if (st == -1 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

static void test_promtool_accepts(void)
{
    char file[] = "/tmp/fo_test_prom_XXXXXX";
    char tool[512], report[4096];
    struct fo_buf b;
    int fd, rc;

    fo_buf_init(&b);
    render_large(&b);
    FO_CHECK(!b.oom);
    FO_CHECK(b.len > 1000);
    if (find_promtool(tool, sizeof(tool)) != 0) {
        FO_SKIP("promtool not found on PATH or at /usr/bin/promtool (install prometheus)");
        goto out_buf;
    }
    fd = mkstemp(file);
    FO_CHECK(fd >= 0);
    if (fd < 0) goto out_buf;
    FO_CHECK(write(fd, b.p, b.len) == (ssize_t)b.len);
    close(fd);
    rc = run_promtool(tool, file, report, sizeof(report));
    if (rc != 0 || report[0] != '\0') fprintf(stderr, "  promtool said (rc %d):\n%s\n", rc, report);
    FO_CHECK_INT(rc, 0);
    FO_CHECK_STR(report, "");
    unlink(file);
out_buf:
    fo_buf_free(&b);
}

/* A check that promtool really judges our input: a malformed page must be refused,
 * otherwise test_promtool_accepts would prove nothing. */
static void test_promtool_rejects_garbage(void)
{
    char file[] = "/tmp/fo_test_prom_XXXXXX";
    static const char bad[] = "# TYPE x gauge\nx{l=\"unterminated} 1\n";
    char tool[512], report[4096];
    int fd, rc;

    if (find_promtool(tool, sizeof(tool)) != 0) {
        FO_SKIP("promtool not found on PATH or at /usr/bin/promtool (install prometheus)");
        return;
    }
    fd = mkstemp(file);
    FO_CHECK(fd >= 0);
    if (fd < 0) return;
    FO_CHECK(write(fd, bad, sizeof(bad) - 1) == (ssize_t)(sizeof(bad) - 1));
    close(fd);
    rc = run_promtool(tool, file, report, sizeof(report));
    FO_CHECK(rc > 0);
    unlink(file);
}

FO_TEST_MAIN(FO_T(test_value_formats), FO_T(test_label_escaping), FO_T(test_small_exact),
             FO_T(test_histogram_nan_and_inf), FO_T(test_promtool_accepts), FO_T(test_promtool_rejects_garbage))
