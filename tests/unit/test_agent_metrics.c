/* Unit tests for agent/metrics.c: one series per lease (two VIPs of one cluster), the
 * epoch once per cluster, every family under the failoverd_agent_ prefix (issue 10; the
 * fo_agent_ names are gone), and promtool's verdict on the whole text (the test fails
 * when promtool is missing, like test_prom). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/metrics.h"
#include "fo_test.h"

static const struct fo_agent_metrics_lease leases[] = {
    {"demo", "10.0.0.100/24 on eth0", 1, 1.5},
    {"demo", "10.0.0.101/24 on eth0", 0, 0},
    {"demo", "10.0.0.102/24 on eth1", 1, 0.25},
    {"other", "10.0.1.100/24 on eth0", 0, 0},
};
static const struct fo_agent_metrics_epoch epochs[] = {{"demo", 5}}; /* "other": none on disk */

static void render(struct fo_buf *b)
{
    struct fo_agent_metrics m;

    memset(&m, 0, sizeof m);
    m.rpcs[FO_AGENT_RPC_RENEW] = 7;
    m.refused[FO_AGENT_REFUSE_NOT_ALLOWED] = 2;
    m.lease_expired = 1;
    m.lease_read_only = 3;
    m.lease_writable = 2;
    m.lease_fenced = 1;
    fo_buf_init(b);
    fo_agent_metrics_render(&m, leases, sizeof leases / sizeof leases[0], epochs, sizeof epochs / sizeof epochs[0], b);
}

static unsigned count(const char *hay, const char *needle)
{
    unsigned n = 0;

    for (hay = strstr(hay, needle); hay != NULL; hay = strstr(hay + 1, needle)) n++;
    return n;
}

static void test_series_per_lease(void)
{
    static const char *const want[] = {
        "failoverd_agent_vip_held{cluster=\"demo\",vip=\"10.0.0.100/24 on eth0\"} 1\n",
        "failoverd_agent_vip_held{cluster=\"demo\",vip=\"10.0.0.101/24 on eth0\"} 0\n",
        "failoverd_agent_vip_held{cluster=\"demo\",vip=\"10.0.0.102/24 on eth1\"} 1\n",
        "failoverd_agent_vip_held{cluster=\"other\",vip=\"10.0.1.100/24 on eth0\"} 0\n",
        "failoverd_agent_lease_remaining_seconds{cluster=\"demo\",vip=\"10.0.0.100/24 on eth0\"} 1.5\n",
        "failoverd_agent_lease_remaining_seconds{cluster=\"demo\",vip=\"10.0.0.101/24 on eth0\"} 0\n",
        "failoverd_agent_lease_remaining_seconds{cluster=\"demo\",vip=\"10.0.0.102/24 on eth1\"} 0.25\n",
        "failoverd_agent_epoch{cluster=\"demo\"} 5\n",
        "failoverd_agent_rpcs_total{rpc=\"renew_lease\"} 7\n",
        "failoverd_agent_rpcs_refused_total{reason=\"not_allowed\"} 2\n",
        "failoverd_agent_lease_expired_total 1\n",
        /* the lease-expiry fence of the local mysqld and its undo (issue 8 item 9) */
        "# TYPE failoverd_agent_lease_read_only_total counter\n",
        "failoverd_agent_lease_read_only_total 3\n",
        "# TYPE failoverd_agent_lease_writable_again_total counter\n",
        "failoverd_agent_lease_writable_again_total 2\n",
        "# TYPE failoverd_agent_lease_fenced gauge\n",
        "failoverd_agent_lease_fenced 1\n",
    };
    struct fo_buf b;
    unsigned i;

    render(&b);
    FO_CHECK(!b.oom && b.p != NULL);
    if (b.p == NULL) return;
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (strstr(b.p, want[i]) == NULL) fprintf(stderr, "  missing: %s", want[i]);
        FO_CHECK(strstr(b.p, want[i]) != NULL);
    }
    FO_CHECK_INT(count(b.p, "\nfailoverd_agent_epoch{"), 1);
    FO_CHECK_INT(count(b.p, "\nfailoverd_agent_vip_held{"), 4);
    FO_CHECK_INT(count(b.p, "\nfailoverd_agent_lease_remaining_seconds{"), 4);
    FO_CHECK_INT(count(b.p, "# TYPE failoverd_agent_vip_held gauge\n"), 1);
    fo_buf_free(&b);
}

/* Every line, sample or comment, names a failoverd_agent_* family: none kept its
 * fo_agent_ name (README.md, "Renamed metrics"). */
static void test_prefix(void)
{
    static const char *const ok[] = {"# HELP " FO_AGENT_METRICS_PREFIX "_", "# TYPE " FO_AGENT_METRICS_PREFIX "_",
                                     FO_AGENT_METRICS_PREFIX "_"};
    struct fo_buf b;
    const char *line, *nl;
    unsigned i, lines = 0, good = 0;

    FO_CHECK_STR(FO_AGENT_METRICS_PREFIX, "failoverd_agent");
    render(&b);
    FO_CHECK(!b.oom && b.p != NULL);
    if (b.p == NULL) return;
    for (line = b.p; *line != '\0'; line = nl + 1) {
        int matched = 0;

        nl = strchr(line, '\n');
        FO_CHECK(nl != NULL);
        if (nl == NULL) break;
        lines++;
        for (i = 0; i < sizeof ok / sizeof ok[0]; i++)
            if (strncmp(line, ok[i], strlen(ok[i])) == 0) matched = 1;
        if (!matched) fprintf(stderr, "  not failoverd_agent_*: %.*s\n", (int)(nl - line), line);
        good += (unsigned)matched;
    }
    FO_CHECK(lines > 20);
    FO_CHECK_INT(good, lines);
    FO_CHECK_INT(count(b.p, "fo_agent_"), 0);
    fo_buf_free(&b);
}

/* Runs `promtool check metrics < file`; returns its exit status (-1 if it did not run)
 * with its output in report. */
static int promtool_check(const char *file, char *report, size_t cap)
{
    const char *tool = access("/usr/bin/promtool", X_OK) == 0 ? "/usr/bin/promtool" : "promtool";
    char cmd[256];
    size_t len = 0, n;
    FILE *p;
    int st;

    if (snprintf(cmd, sizeof cmd, "%s check metrics < '%s' 2>&1", tool, file) >= (int)sizeof cmd) return -1;
    if ((p = popen(cmd, "r")) == NULL) return -1;
    while (len + 1 < cap && (n = fread(report + len, 1, cap - 1 - len, p)) > 0) len += n;
    report[len] = '\0';
    st = pclose(p);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_promtool_accepts(void)
{
    char file[] = "/tmp/fo_test_agent_metrics_XXXXXX", report[4096];
    struct fo_buf b;
    int fd, rc;

    render(&b);
    FO_CHECK(!b.oom && b.p != NULL);
    fd = mkstemp(file);
    FO_CHECK(fd >= 0);
    if (fd < 0 || b.p == NULL) goto out;
    FO_CHECK(write(fd, b.p, b.len) == (ssize_t)b.len);
    close(fd);
    rc = promtool_check(file, report, sizeof report);
    if (rc != 0 || report[0] != '\0') fprintf(stderr, "  promtool (rc %d; 127: not installed):\n%s\n", rc, report);
    FO_CHECK_INT(rc, 0);
    FO_CHECK_STR(report, "");
    unlink(file);
out:
    fo_buf_free(&b);
}

FO_TEST_MAIN(FO_T(test_series_per_lease), FO_T(test_prefix), FO_T(test_promtool_accepts))
