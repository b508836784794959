/* Unit tests for agent/config.c: a table of bad configs, each with the error text it
 * must produce (file, line, section and key), and good configs with their values and
 * defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "common/log.h"
#include "fo_test.h"

/* 6 lines: text appended after it starts on line 7. */
#define AGENT                               \
    "[agent]\n"                             \
    "listen = 10.0.0.11:7201\n"             \
    "state_dir = /var/lib/failover-agent\n" \
    "ca_file = /etc/fo/ca.crt\n"            \
    "cert_file = /etc/fo/agent.crt\n"       \
    "key_file = /etc/fo/agent.key\n"
#define CL "[cluster demo]\nvip = 10.0.0.100/24 eth0\n"

struct bad_case {
    const char *text;
    const char *want; /* substring of the error message */
};

static const struct bad_case bad_cases[] = {
    {AGENT "arp_count = 0\n", "a.conf:7: [agent] arp_count: '0' is out of range (1..100)"},
    {AGENT "arp_count = 101\n", "a.conf:7: [agent] arp_count: '101' is out of range (1..100)"},
    {AGENT "arp_count = 3x\n", "a.conf:7: [agent] arp_count: '3x' is not a number"},
    {AGENT "arp_count = -1\n", "a.conf:7: [agent] arp_count: '-1' is not a number"},
    {AGENT "arp_interval_ms = 60001\n", "a.conf:7: [agent] arp_interval_ms: '60001' is out of range (1..60000)"},
    {AGENT "max_frame_bytes = 100\n", "a.conf:7: [agent] max_frame_bytes: '100' is out of range (1024..1048576)"},
    {AGENT "max_frame_bytes = 99999999999999999999999\n", "a.conf:7: [agent] max_frame_bytes: '9999"},
    {AGENT "insecure = maybe\n", "a.conf:7: [agent] insecure: 'maybe' is not yes or no"},
    {AGENT "lease_read_only = 2\n", "a.conf:7: [agent] lease_read_only: '2' is not yes or no"},
    {AGENT "fence_kill_stopped = yes\n", "a.conf:7: [agent] fence_kill_stopped: unknown key"}, /* [mysql] only */
    {AGENT "binlog_index = /x\n", "a.conf:7: [agent] binlog_index: unknown key"},              /* [mysql] only */
    {AGENT "log_level = loud\n", "a.conf:7: [agent] log_level: 'loud' is not debug, info, warn or error"},
    {AGENT "colour = blue\n", "a.conf:7: [agent] colour: unknown key"},
    {AGENT "arp_count = 3\narp_count = 4\n", "a.conf:8: [agent] arp_count: duplicate key (first set on line 7)"},
    {AGENT "arp_count =\n", "a.conf:7: [agent] arp_count: empty value"},
    {AGENT "state_dir = relative\n", "a.conf:7: [agent] state_dir: duplicate key (first set on line 3)"},
    {"[agent]\nlisten = nonsense\n", "a.conf:2: [agent] listen: "},
    {"[agent]\nlisten = 10.0.0.1:70000\n", "a.conf:2: [agent] listen: "},
    {"[agent]\nstate_dir = relative/dir\n", "a.conf:2: [agent] state_dir: must be an absolute path"},
    {"[agent]\nhttp_address = localhost:9601\n", "a.conf:2: [agent] http_address: "},
    {"listen = 1.2.3.4:5\n", "a.conf:1: [-] listen: key outside any section"},
    {AGENT "[agnet]\n", "a.conf:7: [agnet]: unknown section"},
    {AGENT "[cluster bad name!]\n", "a.conf:7: [cluster bad name!]: "},
    {AGENT CL "[cluster demo]\nvip = 10.0.0.101/24 eth0\n", "a.conf:9: [cluster demo]: duplicate cluster"},
    {AGENT CL "vip = 10.0.0.100/24 eth0\n", "a.conf:9: [cluster demo] vip: duplicate vip"},
    {AGENT "[cluster demo]\nvip = 10.0.0.100/24\n",
     "a.conf:8: [cluster demo] vip: expected 'ADDRESS/PREFIX INTERFACE'"},
    {AGENT "[cluster demo]\nvip = 10.0.0.100/24 eth0 eth1\n", "a.conf:8: [cluster demo] vip: expected"},
    {AGENT "[cluster demo]\nvip = 10.0.0.300/24 eth0\n", "a.conf:8: [cluster demo] vip: "},
    {AGENT "[cluster demo]\nvip = 10.0.0.1/33 eth0\n", "a.conf:8: [cluster demo] vip: "},
    {AGENT "[cluster demo]\nvip = 10.0.0.1/24 averyveryverylongifname\n", "a.conf:8: [cluster demo] vip: "},
    {AGENT "[cluster demo]\ninterface = eth0\n", "a.conf:8: [cluster demo] interface: unknown key"},
    {AGENT "[mysql]\nport = 0\n", "a.conf:8: [mysql] port: '0' is out of range (1..65535)"},
    {AGENT "[mysql]\nuser = agent\n", "a.conf: [mysql] password_file: missing"},
    {AGENT "[mysql]\npassword_file = /nonexistent/pw\n", "a.conf: [mysql] user: missing"},
    {AGENT "[mysql]\nuser = a\npassword_file = /nonexistent/fo-agent-pw\n", "a.conf: [mysql] password_file: "},
    {AGENT "[mysql]\ntimeout_ms = 99\n", "a.conf:8: [mysql] timeout_ms: '99' is out of range (100..600000)"},
    {"[agent]\nstate_dir = /x\nca_file = /a\ncert_file = /b\nkey_file = /c\n", "a.conf: [agent] listen: missing"},
    {"[agent]\nlisten = 1.2.3.4:5\n", "a.conf: [agent] state_dir: missing"},
    {"[agent]\nlisten = 1.2.3.4:5\nstate_dir = /x\n", "a.conf: [agent] ca_file: missing"},
    {"[agent]\nlisten = 1.2.3.4:5\nstate_dir = /x\nca_file = /a\n", "a.conf: [agent] cert_file: missing"},
    {"[agent]\nlisten = 1.2.3.4:5\nstate_dir = /x\nca_file = /a\ncert_file = /b\n",
     "a.conf: [agent] key_file: missing"},
    {AGENT "[broken\n", "a.conf:7: malformed section header"},
};

static void test_bad_configs(void)
{
    static struct fo_agent_config c;
    char err[FO_ERRLEN];
    unsigned i;

    for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        err[0] = '\0';
        int rc = fo_agent_config_load_string(&c, "a.conf", bad_cases[i].text, err);
        if (rc != FO_ECONFIG || strstr(err, bad_cases[i].want) == NULL) {
            fprintf(stderr, "  case %u: rc %d, got \"%s\", want \"%s\"\n", i, rc, err, bad_cases[i].want);
            FO_CHECK(0);
        }
    }
}

static void test_defaults(void)
{
    static struct fo_agent_config c;
    char err[FO_ERRLEN] = "";

    FO_CHECK_INT(fo_agent_config_load_string(&c, "a.conf", AGENT CL, err), 0);
    FO_CHECK_STR(c.listen, "10.0.0.11:7201");
    FO_CHECK_STR(c.state_dir, "/var/lib/failover-agent");
    FO_CHECK_STR(c.http_address, "");
    FO_CHECK(!c.insecure);
    FO_CHECK(c.lease_read_only);    /* on by default (issue 8) */
    FO_CHECK(c.fence_kill_stopped); /* on by default (issue 11, docs/fence-stopped.md) */
    /* Binlog salvage (docs/binlog-salvage.md): no paths unless configured, bounded. */
    FO_CHECK_STR(c.binlog_index, "");
    FO_CHECK_STR(c.binlog_dir, "");
    FO_CHECK_STR(c.binlog_reader, "/usr/bin/mariadb-binlog");
    FO_CHECK_INT(c.salvage_max_bytes, 64u << 20);
    FO_CHECK_INT(c.salvage_timeout_ms, 10000);
    FO_CHECK(!c.mysql);
    FO_CHECK_INT(c.max_frame_bytes, 65536);
    FO_CHECK_INT(c.arp_count, 3);
    FO_CHECK_INT(c.arp_interval_ms, 200);
    FO_CHECK_INT(c.log_level, FO_LOG_INFO);
    FO_CHECK_INT(c.n_clusters, 1);
    FO_CHECK_STR(c.clusters[0].name, "demo");
    FO_CHECK_INT(c.clusters[0].n_vips, 1);
    FO_CHECK_STR(c.clusters[0].vips[0].ifname, "eth0");
    FO_CHECK_INT(c.clusters[0].vips[0].prefix, 24);
    FO_CHECK(fo_agent_config_cluster(&c, "demo") == &c.clusters[0]);
    FO_CHECK(fo_agent_config_cluster(&c, "other") == NULL);
}

/* A cluster section without vip lines: a VIP-less cluster, served Status and
 * FenceMysql only (the quickstart's agents; clouds without layer 2). */
static void test_vipless_cluster(void)
{
    static struct fo_agent_config c;
    char err[FO_ERRLEN] = "";

    FO_CHECK_INT(fo_agent_config_load_string(&c, "a.conf", AGENT "[cluster demo]\n[cluster other]\n", err), 0);
    FO_CHECK_STR(err, "");
    FO_CHECK_INT(c.n_clusters, 2);
    FO_CHECK_INT(c.clusters[0].n_vips, 0);
    FO_CHECK(fo_agent_config_cluster(&c, "demo") == &c.clusters[0]);
    FO_CHECK(fo_agent_config_cluster(&c, "other") == &c.clusters[1]);
}

static void test_full(void)
{
    static struct fo_agent_config c;
    char err[FO_ERRLEN] = "", dir[] = "/tmp/fo-agent-config-XXXXXX", pw[sizeof dir + 8], text[2048];
    FILE *f;

    FO_CHECK(mkdtemp(dir) != NULL);
    snprintf(pw, sizeof pw, "%s/pw", dir);
    f = fopen(pw, "w");
    FO_CHECK(f != NULL);
    if (f == NULL) return;
    fputs("s3cret\n", f);
    fclose(f);
    snprintf(text, sizeof text,
             "  [agent]\n"
             "listen = [::1]:7201 ; comment\n"
             "http_address = 127.0.0.1:9601\n"
             "state_dir = /tmp\n"
             "insecure = yes\n"
             "lease_read_only = no\n"
             "arp_count = 5\n"
             "arp_interval_ms = 50\n"
             "max_frame_bytes = 1024\n"
             "log_level = debug\n"
             "[mysql]\n"
             "host = 127.0.0.2\n"
             "port = 3307\n"
             "user = agent\n"
             "password_file = %s\n"
             "fence_kill_stopped = no\n"
             "binlog_index = /var/lib/mysql/mysql-bin.index\n"
             "salvage_max_bytes = 4096\n"
             "salvage_timeout_ms = 500\n"
             "[cluster a.b-c_1]\n"
             "vip = 10.0.0.100/24 eth0\n"
             "vip = 10.0.0.100/32 eth1\n"
             "vip = 10.0.0.101 eth0\n"
             "[cluster other]\n"
             "  vip = 192.168.1.5/24 dummy0\n",
             pw);
    FO_CHECK_INT(fo_agent_config_load_string(&c, "a.conf", text, err), 0);
    if (err[0]) fprintf(stderr, "  %s\n", err);
    FO_CHECK_STR(c.listen, "[::1]:7201");
    FO_CHECK(c.insecure);
    FO_CHECK(!c.lease_read_only); /* the default (yes) can be turned off */
    FO_CHECK(!c.fence_kill_stopped);
    FO_CHECK_STR(c.binlog_index, "/var/lib/mysql/mysql-bin.index");
    FO_CHECK_INT(c.salvage_max_bytes, 4096);
    FO_CHECK_INT(c.salvage_timeout_ms, 500);
    FO_CHECK_INT(c.arp_count, 5);
    FO_CHECK_INT(c.max_frame_bytes, 1024);
    FO_CHECK_INT(c.log_level, FO_LOG_DEBUG);
    FO_CHECK(c.mysql);
    FO_CHECK_STR(c.mysql_host, "127.0.0.2");
    FO_CHECK_INT(c.mysql_port, 3307);
    FO_CHECK_STR(c.mysql_password, "s3cret");
    FO_CHECK_INT(c.n_clusters, 2);
    FO_CHECK_STR(c.clusters[0].name, "a.b-c_1");
    FO_CHECK_INT(c.clusters[0].n_vips, 3);
    FO_CHECK_INT(c.clusters[0].vips[1].prefix, 32);
    FO_CHECK_INT(c.clusters[0].vips[2].prefix, 32);
    FO_CHECK_STR(c.clusters[1].vips[0].ifname, "dummy0");
    unlink(pw);
    rmdir(dir);
}

static void test_file_errors(void)
{
    static struct fo_agent_config c;
    char err[FO_ERRLEN] = "";

    FO_CHECK_INT(fo_agent_config_load(&c, "/nonexistent/agent.conf", err), FO_ECONFIG);
    FO_CHECK(strstr(err, "/nonexistent/agent.conf: ") != NULL);
}

FO_TEST_MAIN(FO_T(test_bad_configs), FO_T(test_defaults), FO_T(test_vipless_cluster), FO_T(test_full),
             FO_T(test_file_errors))
