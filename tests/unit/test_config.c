/* Unit tests for common/config.c: tables of bad configs (each with the error text it
 * must produce, line and key included), good configs with their parsed values and
 * defaults, the fo_parse_* helpers, and real files in a temporary directory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/log.h"
#include "fo_test.h"

#define MAINX(id, raft, admin, http, dir) \
    "[failoverd]\n"                       \
    "node_id = " id "\n"                  \
    "raft_address = " raft "\n"           \
    "admin_address = " admin "\n"         \
    "http_address = " http "\n"           \
    "data_dir = " dir "\n"
/* 6 lines: text appended after MAIN starts on line 7. */
#define MAIN MAINX("1", "127.0.0.1:7101", "127.0.0.1:7001", "127.0.0.1:9501", "/tmp/fo1")
#define PEER(id, raft, admin) "[peer " id "]\nraft_address = " raft "\nadmin_address = " admin "\n"
/* 4 lines */
#define CL "[cluster demo]\nuser = failoverd\npassword_file = /etc/fo/demo.pw\ninstance = 127.0.0.1:33061\n"

/* Every config needs a [tls] section (issue 4); the cases below are about other
 * sections, so a text without one gets "[tls] insecure = yes" appended after its
 * last line (line numbers of the text itself do not move). */
static int load_str(struct fo_config *c, const char *name, const char *text, char err[FO_ERRLEN])
{
    static const char tls[] = "\n[tls]\ninsecure = yes\n";
    size_t n = strlen(text);
    char *buf;
    int rc;

    if (strstr(text, "[tls]") != NULL) return fo_config_load_string(c, name, text, err);
    buf = malloc(n + sizeof(tls));
    FO_CHECK(buf != NULL);
    if (buf == NULL) return FO_ENOMEM;
    memcpy(buf, text, n);
    memcpy(buf + n, tls, sizeof(tls));
    rc = fo_config_load_string(c, name, buf, err);
    free(buf);
    return rc;
}

struct bad_case {
    const char *text;
    int code;
    const char *want; /* substring of the error message */
};

static const struct bad_case bad_cases[] = {
    /* [tls] (issue 4): required, and complete unless insecure. */
    {MAIN "[tls]\nca_file = /x/ca.crt\ncert_file = /x/c.crt\n", FO_ECONFIG, "t.conf:7: [tls] key_file: missing"},
    {MAIN "[tls]\ninsecure = maybe\n", FO_ECONFIG, "t.conf:8: [tls] insecure: 'maybe' is not a boolean"},
    {MAIN "[tls]\nverify = no\n", FO_ECONFIG, "t.conf:8: [tls] verify: unknown key"},
    {MAIN "[tls]\ninsecure = yes\n[tls]\ninsecure = yes\n", FO_ECONFIG, "t.conf:9: [tls]: duplicate section"},
    /* Writer VIP keys. */
    {MAIN CL "vip = 10.0.0.1\nvip_interface = eth0\n", FO_ECONFIG, "t.conf:11: [cluster demo] vip: '10.0.0.1' is not"},
    {MAIN CL "vip = 10.0.0.300/24\nvip_interface = eth0\n", FO_ECONFIG, "[cluster demo] vip: '10.0.0.300/24' is not"},
    {MAIN CL "vip = 10.0.0.1/33\nvip_interface = eth0\n", FO_ECONFIG, "[cluster demo] vip: '10.0.0.1/33': prefix"},
    {MAIN CL "vip = 10.0.0.1/24\n", FO_ECONFIG,
     "t.conf:7: [cluster demo] vip_interface: missing (vip is set on line 11)"},
    {MAIN CL "vip_interface = eth0\n", FO_ECONFIG,
     "[cluster demo] vip: missing (vip_interface is set on line 11; set vip or reader_vip)"},
    /* Reader VIPs. */
    {MAIN CL "reader_vip = 10.0.0.5/24\n", FO_ECONFIG,
     "t.conf:7: [cluster demo] vip_interface: missing (reader_vip is set on line 11)"},
    {MAIN CL "vip_interface = eth0\nreader_vip = 10.0.0.5\n", FO_ECONFIG,
     "t.conf:12: [cluster demo] reader_vip: '10.0"},
    {MAIN CL "vip_interface = eth0\nreader_vip = 10.0.0.5/24\nreader_vip = 10.0.0.5/24\n", FO_ECONFIG,
     "t.conf:13: [cluster demo] reader_vip: '10.0.0.5/24' is listed twice"},
    {MAIN CL "vip_interface = eth0\nvip = 10.0.0.5/24\nreader_vip = 10.0.0.5/24\n", FO_ECONFIG,
     "[cluster demo] reader_vip: '10.0.0.5/24' is also the writer vip"},
    {MAIN CL "vip_interface = eth0\nreader_vip = 10.0.0.1/24\nreader_vip = 10.0.0.2/24\nreader_vip = 10.0.0.3/24\n"
             "reader_vip = 10.0.0.4/24\nreader_vip = 10.0.0.5/24\nreader_vip = 10.0.0.6/24\nreader_vip = 10.0.0.7/24\n"
             "reader_vip = 10.0.0.8/24\nreader_vip = 10.0.0.9/24\n",
     FO_ECONFIG, "t.conf:20: [cluster demo] reader_vip: more than 8 reader VIPs"},
    {MAIN CL "reader_max_lag_s = 86401\n", FO_ECONFIG, "[cluster demo] reader_max_lag_s: '86401' is out of range"},
    {MAIN CL "vip = 10.0.0.1/24\nvip_interface = eth0:1\n", FO_ECONFIG, "[cluster demo] vip_interface: 'eth0:1'"},
    {MAIN CL "vip = 10.0.0.1/24\nvip_interface = a-very-long-ifname\n", FO_ECONFIG, "vip_interface: 'a-very-long"},
    {MAIN CL "agent_port = 0\n", FO_ECONFIG, "t.conf:11: [cluster demo] agent_port: '0' is out of range (1..65535)"},
    {MAIN CL "vip_lease_ms = 100\n", FO_ECONFIG, "[cluster demo] vip_lease_ms: '100' is out of range (500..60000)"},
    /* co_primaries, rediscover_interval_s, adopt_replicas */
    {MAIN CL "co_primaries = 127.0.0.1:33061\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] co_primaries: expected exactly two servers"},
    {MAIN CL "co_primaries = 127.0.0.1:33061,127.0.0.1:33062,127.0.0.1:33063\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] co_primaries: expected exactly two servers"},
    {MAIN CL "co_primaries = 127.0.0.1:33061, 127.0.0.1:33061\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] co_primaries: both entries name the same server"},
    {MAIN CL "co_primaries = 127.0.0.1:33061,\n", FO_ECONFIG, "t.conf:11: [cluster demo] co_primaries: expected"},
    {MAIN CL "co_primaries = 127.0.0.1:33061,db 2:3306\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] co_primaries: 'db 2:3306': not a valid host name"},
    {MAIN CL "co_primaries = 127.0.0.1:33061,127.0.0.1:33062\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] co_primaries: 127.0.0.1:33062 is not an instance of this cluster"},
    {MAIN CL "instance = [::1]:3306\nco_primaries = 127.0.0.1:33061,[::1]:3307\n", FO_ECONFIG,
     "t.conf:12: [cluster demo] co_primaries: [::1]:3307 is not an instance of this cluster"},
    {MAIN CL "rediscover_interval_s = 4\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] rediscover_interval_s: 4 is not 0 (off) or 5..86400"},
    {MAIN CL "rediscover_interval_s = 86401\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] rediscover_interval_s: '86401' is out of range (0..86400)"},
    {MAIN CL "rediscover_interval_s = -1\n", FO_ECONFIG, "t.conf:11: [cluster demo] rediscover_interval_s: '-1'"},
    {MAIN CL "adopt_replicas = yes\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] adopt_replicas: needs rediscover_interval_s (rediscovery is off)"},
    {MAIN CL "adopt_replicas = maybe\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] adopt_replicas: 'maybe' is not a boolean"},
    /* numbers and ranges */
    {MAIN "election_timeout_ms = 5x\n", FO_ECONFIG, "t.conf:7: [failoverd] election_timeout_ms: '5x' is not a number"},
    {MAIN "[probe]\ninterval_ms = 5x\n", FO_ECONFIG, "t.conf:8: [probe] interval_ms: '5x' is not a number"},
    {MAIN "[probe]\ninterval_ms = 49\n", FO_ECONFIG, "t.conf:8: [probe] interval_ms: '49' is out of range (50..60000)"},
    {MAIN "[probe]\ninterval_ms = 60001\n", FO_ECONFIG, "t.conf:8: [probe] interval_ms: '60001' is out of range"},
    {MAIN "[probe]\nconnect_timeout_ms = -1\n", FO_ECONFIG,
     "t.conf:8: [probe] connect_timeout_ms: '-1' is not a number"},
    {MAIN "[probe]\nconnect_timeout_ms = 49\n", FO_ECONFIG, "t.conf:8: [probe] connect_timeout_ms: '49' is out"},
    {MAIN "[probe]\nread_timeout_ms = +500\n", FO_ECONFIG, "t.conf:8: [probe] read_timeout_ms: '+500' is not a number"},
    {MAIN "[probe]\nread_timeout_ms = 0x10\n", FO_ECONFIG, "t.conf:8: [probe] read_timeout_ms: '0x10' is not a number"},
    {MAIN "[probe]\ndown_after = 0\n", FO_ECONFIG, "t.conf:8: [probe] down_after: '0' is out of range (1..100)"},
    {MAIN "[probe]\ndown_after = 101\n", FO_ECONFIG, "t.conf:8: [probe] down_after: '101' is out of range (1..100)"},
    {MAIN "[probe]\ndown_after = 99999999999999999999999\n", FO_ECONFIG,
     "t.conf:8: [probe] down_after: '99999999999999999999999' is out of range"},
    {MAIN "[probe]\ndown_after =\n", FO_ECONFIG, "t.conf:8: [probe] down_after: empty value"},
    {MAIN "[probe]\ndown_after = 3 ;x\ndown_after = 4\n", FO_ECONFIG,
     "t.conf:9: [probe] down_after: duplicate key (first set on line 8)"},
    {MAIN "election_timeout_ms = 99\n", FO_ECONFIG,
     "t.conf:7: [failoverd] election_timeout_ms: '99' is out of range (100..60000)"},
    {MAIN "election_timeout_ms = 60001\n", FO_ECONFIG, "t.conf:7: [failoverd] election_timeout_ms: '60001' is out"},
    {MAIN "heartbeat_timeout_ms = 9\n", FO_ECONFIG,
     "t.conf:7: [failoverd] heartbeat_timeout_ms: '9' is out of range (10..60000)"},
    {MAIN "heartbeat_timeout_ms = 301\n", FO_ECONFIG,
     "t.conf:7: [failoverd] heartbeat_timeout_ms: heartbeat_timeout_ms (301) must be at most "
     "election_timeout_ms/2 (300)"},
    {MAIN "election_timeout_ms = 110\n", FO_ECONFIG,
     "t.conf:7: [failoverd] election_timeout_ms: heartbeat_timeout_ms (60) must be at most "
     "election_timeout_ms/2 (55)"},
    {MAIN "heartbeat_timeout_ms = 80\nelection_timeout_ms = 150\n", FO_ECONFIG,
     "t.conf:7: [failoverd] heartbeat_timeout_ms: heartbeat_timeout_ms (80) must be at most"},
    {MAIN "snapshot_threshold = 3\n", FO_ECONFIG,
     "t.conf:7: [failoverd] snapshot_threshold: '3' is out of range (4..1000000)"},
    {MAIN "snapshot_trailing = 1000001\n", FO_ECONFIG, "t.conf:7: [failoverd] snapshot_trailing: '1000001' is out"},
    {MAIN "max_frame_bytes = 1023\n", FO_ECONFIG,
     "t.conf:7: [failoverd] max_frame_bytes: '1023' is out of range (1024..67108864)"},
    {MAIN "max_frame_bytes = 67108865\n", FO_ECONFIG, "t.conf:7: [failoverd] max_frame_bytes: '67108865' is out"},
    {MAIN "log_level = verbose\n", FO_ECONFIG,
     "t.conf:7: [failoverd] log_level: 'verbose' is not one of debug|info|warn|error"},
    {MAIN "log_level = INFO\n", FO_ECONFIG, "t.conf:7: [failoverd] log_level: 'INFO' is not one of"},
    {MAINX("0", "127.0.0.1:7101", "127.0.0.1:7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:2: [failoverd] node_id: '0' is out of range (1..9223372036854775807)"},
    {MAINX("9223372036854775808", "127.0.0.1:7101", "127.0.0.1:7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:2: [failoverd] node_id: '9223372036854775808' is out of range"},
    {MAINX("one", "127.0.0.1:7101", "127.0.0.1:7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:2: [failoverd] node_id: 'one' is not a number"},

    /* addresses */
    {MAINX("1", "localhost:7101", "127.0.0.1:7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:3: [failoverd] raft_address: 'localhost:7101': host must be an IPv4 literal"},
    {MAINX("1", "[::1]:7101", "127.0.0.1:7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:3: [failoverd] raft_address: '[::1]:7101': host must be an IPv4 literal"},
    {MAINX("1", "127.0.0.1", "127.0.0.1:7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:3: [failoverd] raft_address: '127.0.0.1': expected HOST:PORT"},
    {MAINX("1", "127.0.0.1:0", "127.0.0.1:7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:3: [failoverd] raft_address: '127.0.0.1:0': port '0' is out of range (1..65535)"},
    {MAINX("1", "127.0.0.1:65536", "127.0.0.1:7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:3: [failoverd] raft_address: '127.0.0.1:65536': port '65536' is out of range"},
    {MAINX("1", "0.0.0.0:7101", "127.0.0.1:7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:3: [failoverd] raft_address: '0.0.0.0:7101': 0.0.0.0 cannot be dialled"},
    {MAINX("1", "127.0.0.1:7101", ":7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:4: [failoverd] admin_address: ':7001': empty host"},
    {MAINX("1", "127.0.0.1:7101", "db1:", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:4: [failoverd] admin_address: 'db1:': port empty value"},
    {MAINX("1", "127.0.0.1:7101", "::1:7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:4: [failoverd] admin_address: '::1:7001': IPv6 addresses need brackets"},
    {MAINX("1", "127.0.0.1:7101", "[::1]", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:4: [failoverd] admin_address: '[::1]': expected [ADDRESS]:PORT"},
    {MAINX("1", "127.0.0.1:7101", "-db:7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:4: [failoverd] admin_address: '-db:7001': not a valid host name"},
    {MAINX("1", "127.0.0.1:7101", "a..b:7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:4: [failoverd] admin_address: 'a..b:7001': not a valid host name"},
    {MAINX("1", "127.0.0.1:7101", "999.1.1.1:7001", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:4: [failoverd] admin_address: '999.1.1.1:7001': not an IPv4 address"},
    {MAINX("1", "127.0.0.1:7101", "127.0.0.1:7001", "db 1:9501", "/d"), FO_ECONFIG,
     "t.conf:5: [failoverd] http_address: 'db 1:9501': not a valid host name"},
    {MAINX("1", "127.0.0.1:7101", "127.0.0.1:7001", "127.0.0.1:7001", "/d"), FO_ECONFIG,
     "t.conf:5: [failoverd] http_address: '127.0.0.1:7001' is also the admin_address"},
    {MAINX("1", "127.0.0.1:7101", "127.0.0.1:7101", "127.0.0.1:9501", "/d"), FO_ECONFIG,
     "t.conf:4: [failoverd] admin_address: '127.0.0.1:7101' is also the raft_address"},
    {MAINX("1", "127.0.0.1:7101", "127.0.0.1:7001", "127.0.0.1:9501", ""), FO_ECONFIG,
     "t.conf:6: [failoverd] data_dir: empty value"},
    {MAINX("1", "127.0.0.1:7101", "127.0.0.1:7001", "127.0.0.1:9501", "\"/var/lib/fo\""), FO_ECONFIG,
     "t.conf:6: [failoverd] data_dir: values are taken literally; remove the quotes"},

    /* structure */
    {MAIN "bogus = 1\n", FO_ECONFIG, "t.conf:7: [failoverd] bogus: unknown key"},
    {MAIN "interval_ms = 500\n", FO_ECONFIG, "t.conf:7: [failoverd] interval_ms: unknown key"},
    {MAIN "[probe]\nintervl_ms = 500\n", FO_ECONFIG, "t.conf:8: [probe] intervl_ms: unknown key"},
    {MAIN "[bogus]\n", FO_ECONFIG, "t.conf:7: [bogus]: unknown section"},
    {MAIN "[bogus]\nx = 1\n", FO_ECONFIG, "t.conf:7: [bogus]: unknown section"},
    {MAIN "[ probe ]\n", FO_ECONFIG, "t.conf:7: [ probe ]: unknown section"},
    {MAIN "node_id = 2\n", FO_ECONFIG, "t.conf:7: [failoverd] node_id: duplicate key (first set on line 2)"},
    {MAIN "[probe]\n[probe]\n", FO_ECONFIG, "t.conf:8: [probe]: duplicate section (first on line 7)"},
    {MAIN "[failoverd]\n", FO_ECONFIG, "t.conf:7: [failoverd]: duplicate section (first on line 1)"},
    {"node_id = 1\n" MAIN, FO_ECONFIG, "t.conf:1: node_id: key outside of any [section]"},
    {MAIN "garbage\n", FO_ECONFIG, "t.conf:7: syntax error"},
    {MAIN "[probe\ninterval_ms = 500\n", FO_ECONFIG, "t.conf:7: syntax error"},
    {MAIN "garbage\n[bogus]\n", FO_ECONFIG, "t.conf:7: syntax error"},
    {MAIN "[probe] interval_ms = 500\n", FO_ECONFIG, "t.conf:7: [probe]: unexpected text after ']'"},
    {MAIN "[probe] ; the probe\n[probe]\n", FO_ECONFIG, "t.conf:8: [probe]: duplicate section"},
    {"", FO_ECONFIG, "t.conf: [failoverd] node_id: missing"},
    {"; nothing\n[probe]\n", FO_ECONFIG, "t.conf: [failoverd] node_id: missing"},
    {"[failoverd]\nnode_id = 1\nadmin_address = 127.0.0.1:7001\nhttp_address = 127.0.0.1:9501\n"
     "data_dir = /d\n",
     FO_ECONFIG, "t.conf: [failoverd] raft_address: missing"},
    {"[failoverd]\nnode_id = 1\nraft_address = 127.0.0.1:7101\nhttp_address = 127.0.0.1:9501\n"
     "data_dir = /d\n",
     FO_ECONFIG, "t.conf: [failoverd] admin_address: missing"},
    {"[failoverd]\nnode_id = 1\nraft_address = 127.0.0.1:7101\nadmin_address = 127.0.0.1:7001\n"
     "data_dir = /d\n",
     FO_ECONFIG, "t.conf: [failoverd] http_address: missing"},
    {"[failoverd]\nnode_id = 1\nraft_address = 127.0.0.1:7101\nadmin_address = 127.0.0.1:7001\n"
     "http_address = 127.0.0.1:9501\n",
     FO_ECONFIG, "t.conf: [failoverd] data_dir: missing"},
    {"[failoverd]\nraft_address = 127.0.0.1:7101\n", FO_ECONFIG, "t.conf: [failoverd] node_id: missing"},

    /* peers */
    {MAIN "[peer x]\n", FO_ECONFIG, "t.conf:7: [peer x]: peer id 'x' is not a number"},
    {MAIN "[peer 0]\n", FO_ECONFIG, "t.conf:7: [peer 0]: peer id '0' is out of range"},
    {MAIN "[peer]\n", FO_ECONFIG, "t.conf:7: [peer]: expected [peer NODE_ID]"},
    {MAIN "[peer  2]\n", FO_ECONFIG, "t.conf:7: [peer  2]: peer id ' 2' is not a number"},
    {MAIN "[peers 2]\n", FO_ECONFIG, "t.conf:7: [peers 2]: unknown section"},
    {MAIN PEER("2", "127.0.0.2:7101", "127.0.0.2:7001") PEER("2", "127.0.0.3:7101", "127.0.0.3:7001"), FO_ECONFIG,
     "t.conf:10: [peer 2]: duplicate peer (first on line 7)"},
    {MAIN "[peer 2]\n", FO_ECONFIG, "t.conf:7: [peer 2] raft_address: missing"},
    {MAIN "[peer 2]\nadmin_address = 127.0.0.2:7001\n", FO_ECONFIG, "t.conf:7: [peer 2] raft_address: missing"},
    {MAIN "[peer 2]\nraft_address = 127.0.0.2:7101\n[probe]\n", FO_ECONFIG,
     "t.conf:7: [peer 2] admin_address: missing"},
    {MAIN "[peer 2]\nraft_adress = 127.0.0.2:7101\n", FO_ECONFIG, "t.conf:8: [peer 2] raft_adress: unknown key"},
    {MAIN PEER("2", "db2:7101", "127.0.0.2:7001"), FO_ECONFIG,
     "t.conf:8: [peer 2] raft_address: 'db2:7101': host must be an IPv4 literal"},
    {MAIN PEER("2", "127.0.0.2:7101", "127.0.0.2:7001") "http_address = x:\n", FO_ECONFIG,
     "t.conf:10: [peer 2] http_address: 'x:': port empty value"},
    {MAIN PEER("1", "127.0.0.1:7102", "127.0.0.1:7001"), FO_ECONFIG,
     "t.conf:8: [peer 1] raft_address: '127.0.0.1:7102' does not match [failoverd] raft_address "
     "'127.0.0.1:7101'"},
    {MAIN PEER("1", "127.0.0.1:7101", "127.0.0.1:7002"), FO_ECONFIG,
     "t.conf:9: [peer 1] admin_address: '127.0.0.1:7002' does not match [failoverd] admin_address"},
    {MAIN PEER("1", "127.0.0.1:7101", "127.0.0.1:7001") "http_address = 127.0.0.1:9502\n", FO_ECONFIG,
     "t.conf:10: [peer 1] http_address: '127.0.0.1:9502' does not match [failoverd] http_address"},
    {PEER("1", "127.0.0.1:7102", "127.0.0.1:7001") MAIN, FO_ECONFIG,
     "t.conf:2: [peer 1] raft_address: '127.0.0.1:7102' does not match"},
    {MAIN PEER("2", "127.0.0.2:7101", "127.0.0.2:7001") PEER("3", "127.0.0.2:7101", "127.0.0.3:7001"), FO_ECONFIG,
     "t.conf:11: [peer 3] raft_address: '127.0.0.2:7101' is also used by [peer 2]"},
    {MAIN PEER("2", "127.0.0.2:7101", "127.0.0.2:7001") PEER("3", "127.0.0.3:7101", "127.0.0.2:7001"), FO_ECONFIG,
     "t.conf:12: [peer 3] admin_address: '127.0.0.2:7001' is also used by [peer 2]"},
    {MAIN PEER("2", "127.0.0.1:7101", "127.0.0.2:7001"), FO_ECONFIG,
     "t.conf:8: [peer 2] raft_address: '127.0.0.1:7101' is this node's raft_address, but this node "
     "is node_id 1"},

    /* clusters */
    {MAIN "[cluster]\n", FO_ECONFIG, "t.conf:7: [cluster]: expected [cluster NAME]"},
    {MAIN "[cluster bad/name]\n", FO_ECONFIG,
     "t.conf:7: [cluster bad/name]: cluster name 'bad/name' may contain only A-Z a-z 0-9 _ . -"},
    {MAIN "[cluster a b]\n", FO_ECONFIG, "t.conf:7: [cluster a b]: cluster name 'a b' may contain only"},
    {MAIN "[cluster 0123456789012345678901234567890123456789012345678901234567890123]\n", FO_ECONFIG,
     "t.conf:7: [cluster 0123456789012345678901234567890123456789012345678901234567890123]: cluster "
     "name '0123456789012345678901234567890123456789012345678901234567890123' is longer than 63 bytes"},
    {MAIN CL CL, FO_ECONFIG, "t.conf:11: [cluster demo]: duplicate cluster"},
    {MAIN "[cluster demo]\npassword_file = /p\ninstance = 127.0.0.1:1\n", FO_ECONFIG,
     "t.conf:7: [cluster demo] user: missing"},
    {MAIN "[cluster demo]\nuser = u\ninstance = 127.0.0.1:1\n", FO_ECONFIG,
     "t.conf:7: [cluster demo] password_file: missing"},
    {MAIN "[cluster demo]\nuser = u\npassword_file = /p\n", FO_ECONFIG, "t.conf:7: [cluster demo] instance: missing"},
    {MAIN "[cluster a]\nuser = u\ninstance = 127.0.0.1:1\n[cluster b]\n", FO_ECONFIG,
     "t.conf:7: [cluster a] password_file: missing"},
    {MAIN CL "instance = 127.0.0.1\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] instance: '127.0.0.1': expected HOST:PORT"},
    {MAIN CL "instance = 127.0.0.1:2 primary\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] instance: 'primary' is not a rule"},
    {MAIN CL "instance = 127.0.0.1:2 prefer ; fine\ninstance = 127.0.0.1:3 Prefer\n", FO_ECONFIG,
     "t.conf:12: [cluster demo] instance: 'Prefer' is not a rule"},
    {MAIN CL "instance = 127.0.0.1:2 prefer extra\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] instance: '127.0.0.1:2 prefer extra': expected HOST:PORT [RULE]"},
    {MAIN CL "instance =\n", FO_ECONFIG, "t.conf:11: [cluster demo] instance: empty value"},
    {MAIN CL "instance = 127.0.0.1:33061 prefer\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] instance: 127.0.0.1:33061 is already listed in [cluster demo] (line 10)"},
    {MAIN CL "[cluster other]\nuser = u\npassword_file = /p\ninstance = 127.0.0.1:33061\n", FO_ECONFIG,
     "t.conf:14: [cluster other] instance: 127.0.0.1:33061 is already listed in [cluster demo] (line 10)"},
    {MAIN CL "instance = DB1.example:3306\ninstance = db1.EXAMPLE:3306\n", FO_ECONFIG,
     "t.conf:12: [cluster demo] instance: db1.EXAMPLE:3306 is already listed in [cluster demo] (line 11)"},
    {MAIN CL "instance = [::1]:3306\ninstance = 127.0.0.9:1\ninstance = [::1]:3306\n", FO_ECONFIG,
     "t.conf:13: [cluster demo] instance: [::1]:3306 is already listed in [cluster demo] (line 11)"},
    {MAIN "[cluster demo]\nuser = a b\n", FO_ECONFIG,
     "t.conf:8: [cluster demo] user: 'a b' may contain only printable ASCII"},
    {MAIN "[cluster demo]\nuser = a'b\n", FO_ECONFIG, "t.conf:8: [cluster demo] user: 'a'b' may contain only"},
    {MAIN "[cluster demo]\nuser = 0123456789012345678901234567890123456789012345678901234567890123\n", FO_ECONFIG,
     "t.conf:8: [cluster demo] user: '0123456789012345678901234567890123456789012345678901234567890123' is longer than "
     "63 bytes"},
    {MAIN "[cluster demo]\nuser = u\nuser = v\n", FO_ECONFIG,
     "t.conf:9: [cluster demo] user: duplicate key (first set on line 8)"},
    {MAIN "[cluster demo]\nuser = u\npassword_file =\n", FO_ECONFIG,
     "t.conf:9: [cluster demo] password_file: empty value"},
    {MAIN "[cluster demo]\nhost = h\n", FO_ECONFIG, "t.conf:8: [cluster demo] host: unknown key"},
    /* cluster failover options */
    {MAIN CL "semi_sync = maybe\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] semi_sync: 'maybe' is not a boolean (yes|no|true|false|1|0|on|off)"},
    {MAIN CL "semi_sync = 2\n", FO_ECONFIG, "t.conf:11: [cluster demo] semi_sync: '2' is not a boolean"},
    {MAIN CL "semi_sync =\n", FO_ECONFIG, "t.conf:11: [cluster demo] semi_sync: '' is not a boolean"},
    {MAIN CL "semi_sync = yes\nsemi_sync = no\n", FO_ECONFIG,
     "t.conf:12: [cluster demo] semi_sync: duplicate key (first set on line 11)"},
    {MAIN CL "anti_flap_s = 604801\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] anti_flap_s: '604801' is out of range (0..604800)"},
    {MAIN CL "anti_flap_s = -1\n", FO_ECONFIG, "t.conf:11: [cluster demo] anti_flap_s: '-1' is not a number"},
    {MAIN CL "max_lag_s = 86401\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] max_lag_s: '86401' is out of range (0..86400)"},
    {MAIN CL "repl_user = repl\nrepl_password_file = repl.pw\n", FO_ECONFIG,
     "t.conf:12: [cluster demo] repl_password_file: 'repl.pw' is not an absolute path"},
    {MAIN CL "repl_user = re pl\n", FO_ECONFIG,
     "t.conf:11: [cluster demo] repl_user: 're pl' may contain only printable ASCII"},
    {MAIN CL "repl_user =\n", FO_ECONFIG, "t.conf:11: [cluster demo] repl_user: empty value"},
    {MAIN CL "repl_user = repl\n", FO_ECONFIG,
     "t.conf:7: [cluster demo] repl_password_file: missing (repl_user is set on line 11)"},
    {MAIN CL "repl_password_file = /etc/fo/repl.pw\n[probe]\n", FO_ECONFIG,
     "t.conf:7: [cluster demo] repl_user: missing (repl_password_file is set on line 11)"},

    /* [failover] */
    {MAIN "[failover]\nhook_timeout_ms = 99\n", FO_ECONFIG,
     "t.conf:8: [failover] hook_timeout_ms: '99' is out of range (100..600000)"},
    {MAIN "[failover]\nhook_timeout_ms = 600001\n", FO_ECONFIG,
     "t.conf:8: [failover] hook_timeout_ms: '600001' is out of range (100..600000)"},
    {MAIN "[failover]\nconfirm_window_ms = 499\n", FO_ECONFIG,
     "t.conf:8: [failover] confirm_window_ms: '499' is out of range (500..60000)"},
    {MAIN "[failover]\nconfirm_window_ms = 60001\n", FO_ECONFIG,
     "t.conf:8: [failover] confirm_window_ms: '60001' is out of range (500..60000)"},
    {MAIN "[failover]\nrelay_wait_ms = 99\n", FO_ECONFIG,
     "t.conf:8: [failover] relay_wait_ms: '99' is out of range (100..600000)"},
    {MAIN "[failover]\nstep_timeout_ms = 499\n", FO_ECONFIG,
     "t.conf:8: [failover] step_timeout_ms: '499' is out of range (500..600000)"},
    {MAIN "[failover]\ntilt_grace_ms = 600001\n", FO_ECONFIG,
     "t.conf:8: [failover] tilt_grace_ms: '600001' is out of range (0..600000)"},
    {MAIN "[failover]\ntilt_grace_ms = 5s\n", FO_ECONFIG, "t.conf:8: [failover] tilt_grace_ms: '5s' is not a number"},
    {MAIN "[failover]\nfault_injection = crash\n", FO_ECONFIG,
     "t.conf:8: [failover] fault_injection: 'crash' is not one of none|exit_after_begin"},
    {MAIN "[failover]\nfault_injection = NONE\n", FO_ECONFIG,
     "t.conf:8: [failover] fault_injection: 'NONE' is not one of none|exit_after_begin"},
    {MAIN "[failover]\npre_failover = hooks/pre.sh\n", FO_ECONFIG,
     "t.conf:8: [failover] pre_failover: 'hooks/pre.sh' is not an absolute path"},
    {MAIN "[failover]\npost_failover = /nonexistent/fo/post.sh\n", FO_ECONFIG,
     "t.conf:8: [failover] post_failover: '/nonexistent/fo/post.sh': No such file or directory"},
    {MAIN "[failover]\npost_failover_failed = /tmp\n", FO_ECONFIG,
     "t.conf:8: [failover] post_failover_failed: '/tmp' is not a regular file"},
    {MAIN "[failover]\npre_failover = /etc/passwd\n", FO_ECONFIG,
     "t.conf:8: [failover] pre_failover: '/etc/passwd' is not executable"},
    {MAIN "[failover]\npre_failover =\n", FO_ECONFIG, "t.conf:8: [failover] pre_failover: empty value"},
    {MAIN "[failover]\nhook_timeout_ms = 100\nhook_timeout_ms = 200\n", FO_ECONFIG,
     "t.conf:9: [failover] hook_timeout_ms: duplicate key (first set on line 8)"},
    {MAIN "[failover]\n[failover]\n", FO_ECONFIG, "t.conf:8: [failover]: duplicate section (first on line 7)"},
    {MAIN "[failover]\nhook = /bin/true\n", FO_ECONFIG, "t.conf:8: [failover] hook: unknown key"},
    {MAIN "[failover]\nanti_flap_s = 60\n", FO_ECONFIG, "t.conf:8: [failover] anti_flap_s: unknown key"},
    {MAIN "[failovers]\n", FO_ECONFIG, "t.conf:7: [failovers]: unknown section"},

};

static void test_bad_configs(void)
{
    char err[FO_ERRLEN];
    struct fo_config c;
    size_t i;
    int rc;

    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        err[0] = '\0';
        rc = load_str(&c, "t.conf", bad_cases[i].text, err);
        if (rc != bad_cases[i].code || strstr(err, bad_cases[i].want) == NULL) {
            fprintf(stderr, "  case %zu: rc=%d err=\"%s\"\n    want rc=%d \"%s\"\n", i, rc, err, bad_cases[i].code,
                    bad_cases[i].want);
            FO_CHECK(0);
        }
        /* Freed on error, and freeing again is harmless. */
        FO_CHECK(c.clusters == NULL && c.n_clusters == 0);
        fo_config_free(&c);
    }
}

static int load_ok(struct fo_config *c, const char *text)
{
    char err[FO_ERRLEN] = "";
    int rc = load_str(c, "t.conf", text, err);

    if (rc != 0) fprintf(stderr, "  unexpected error %d: %s\n", rc, err);
    return rc;
}

static void test_defaults(void)
{
    struct fo_config c;

    FO_CHECK_INT(load_ok(&c, MAIN), 0);
    FO_CHECK_STR(c.path, "t.conf");
    FO_CHECK_INT(c.node_id, 1);
    FO_CHECK_STR(c.raft_address, "127.0.0.1:7101");
    FO_CHECK_STR(c.admin_address, "127.0.0.1:7001");
    FO_CHECK_STR(c.http_address, "127.0.0.1:9501");
    FO_CHECK_STR(c.data_dir, "/tmp/fo1");
    FO_CHECK_INT(c.election_timeout_ms, 600);
    FO_CHECK_INT(c.heartbeat_timeout_ms, 60);
    FO_CHECK_INT(c.snapshot_threshold, 1024);
    FO_CHECK_INT(c.snapshot_trailing, 128);
    FO_CHECK_INT(c.max_frame_bytes, 1048576);
    FO_CHECK_INT(c.log_level, FO_LOG_INFO);
    FO_CHECK_INT(c.probe.interval_ms, 500);
    FO_CHECK_INT(c.probe.connect_timeout_ms, 500);
    FO_CHECK_INT(c.probe.read_timeout_ms, 1000);
    FO_CHECK_INT(c.probe.down_after, 3);
    FO_CHECK_STR(c.failover.pre_failover, "");
    FO_CHECK_STR(c.failover.post_failover, "");
    FO_CHECK_STR(c.failover.post_failover_failed, "");
    FO_CHECK_INT(c.failover.hook_timeout_ms, 10000);
    FO_CHECK_INT(c.failover.confirm_window_ms, 5000);
    FO_CHECK_INT(c.failover.relay_wait_ms, 10000);
    FO_CHECK_INT(c.failover.step_timeout_ms, 10000);
    FO_CHECK_INT(c.failover.tilt_grace_ms, 5000);
    FO_CHECK_INT(c.failover.fault, FO_FAULT_NONE);
    FO_CHECK_INT(c.n_peers, 0);
    FO_CHECK_INT(c.n_clusters, 0);
    FO_CHECK(c.clusters == NULL);
    fo_config_free(&c);
    fo_config_free(&c);

    /* A cluster's failover options default on their own, per cluster. */
    FO_CHECK_INT(load_ok(&c, MAIN CL), 0);
    FO_CHECK_INT(c.n_clusters, 1);
    if (c.n_clusters == 1) {
        FO_CHECK_STR(c.clusters[0].repl_user, "");
        FO_CHECK_STR(c.clusters[0].repl_password_file, "");
        FO_CHECK(!c.clusters[0].semi_sync);
        FO_CHECK_INT(c.clusters[0].anti_flap_s, 3600);
        FO_CHECK_INT(c.clusters[0].max_lag_s, 0);
    }
    fo_config_free(&c);
}

static const char full_text[] = "; failoverd test configuration\n"
                                "# both comment styles\n"
                                "[failoverd]\n"
                                "node_id = 2\n"
                                "raft_address = 10.0.0.2:7101\n"
                                "admin_address = [::1]:7001\n"
                                "http_address = ctl2.example.com:9501\n"
                                "data_dir = /var/lib/failoverd/2\n"
                                "election_timeout_ms = 3000\n"
                                "heartbeat_timeout_ms = 1500\n"
                                "snapshot_threshold = 4\n"
                                "snapshot_trailing = 0\n"
                                "max_frame_bytes = 67108864\n"
                                "log_level = debug\n"
                                "[peer 1]\n"
                                "raft_address = 10.0.0.1:7101\n"
                                "admin_address = 10.0.0.1:7001\n"
                                "[peer 2]\n"
                                "raft_address = 10.0.0.2:7101\n"
                                "admin_address = [::1]:7001\n"
                                "http_address = ctl2.example.com:9501\n"
                                "[peer 9223372036854775807]\n"
                                "raft_address = 10.0.0.3:7101\n"
                                "admin_address = 10.0.0.3:7001\n"
                                "http_address = 10.0.0.3:9501\n"
                                "[probe]\n"
                                "interval_ms = 50\n"
                                "connect_timeout_ms = 60000\n"
                                "read_timeout_ms = 250\n"
                                "down_after = 100\n"
                                "[cluster demo]\n"
                                "user = failoverd\n"
                                "password_file = /etc/failoverd/demo.password\n"
                                "instance = 127.0.0.1:33061\n"
                                "instance = 127.0.0.1:33062 prefer\n"
                                "instance = 127.0.0.1:33063 candidate ; MHA candidate_master\n"
                                "instance = db4.example:3306 no_master\n"
                                "instance = [2001:db8::4]:3306 prefer_not\n"
                                "instance = 127.0.0.1:33066 must_not\n"
                                "instance = 127.0.0.1:33067 neutral\n"
                                "repl_user = repl\n"
                                "repl_password_file = /etc/failoverd/demo.repl\n"
                                "semi_sync = on\n"
                                "anti_flap_s = 0\n"
                                "max_lag_s = 86400\n"
                                "vip = 10.231.0.100/24\n"
                                "vip_interface = eth0\n"
                                "agent_port = 7301\n"
                                "vip_lease_ms = 1500\n"
                                "reader_vip = 10.231.0.101/24\n"
                                "reader_vip = 10.231.0.102/24\n"
                                "reader_max_lag_s = 10\n"
                                "co_primaries = 127.0.0.1:33067 , DB4.Example:3306\n"
                                "rediscover_interval_s = 5\n"
                                "adopt_replicas = yes\n"
                                "[cluster billing-2.eu_west]\n"
                                "user = fo\n"
                                "password_file = billing.pw\n"
                                "instance = 10.1.0.1:3306\n"
                                "anti_flap_s = 604800\n"
                                "semi_sync = false\n"
                                "[failover]\n"
                                "hook_timeout_ms = 600000\n"
                                "confirm_window_ms = 500\n"
                                "relay_wait_ms = 100\n"
                                "step_timeout_ms = 600000\n"
                                "tilt_grace_ms = 0\n"
                                "fault_injection = exit_after_begin\n"
                                "[tls]\n"
                                "ca_file = /etc/failoverd/tls/ca.crt\n"
                                "cert_file = /etc/failoverd/tls/ctl2.crt\n"
                                "key_file = /etc/failoverd/tls/ctl2.key\n";

static void test_full(void)
{
    static const struct {
        const char *host;
        unsigned port;
        enum fo_rule rule;
    } want[] = {
        {"127.0.0.1", 33061, FO_RULE_NEUTRAL},     {"127.0.0.1", 33062, FO_RULE_PREFER},
        {"127.0.0.1", 33063, FO_RULE_PREFER},      {"db4.example", 3306, FO_RULE_MUST_NOT},
        {"2001:db8::4", 3306, FO_RULE_PREFER_NOT}, {"127.0.0.1", 33066, FO_RULE_MUST_NOT},
        {"127.0.0.1", 33067, FO_RULE_NEUTRAL},
    };
    struct fo_config c;
    unsigned i;

    FO_CHECK_INT(load_ok(&c, full_text), 0);
    FO_CHECK_INT(c.node_id, 2);
    FO_CHECK_STR(c.admin_address, "[::1]:7001");
    FO_CHECK_STR(c.http_address, "ctl2.example.com:9501");
    FO_CHECK_STR(c.data_dir, "/var/lib/failoverd/2");
    FO_CHECK_INT(c.election_timeout_ms, 3000);
    FO_CHECK_INT(c.heartbeat_timeout_ms, 1500);
    FO_CHECK_INT(c.snapshot_threshold, 4);
    FO_CHECK_INT(c.snapshot_trailing, 0);
    FO_CHECK_INT(c.max_frame_bytes, 67108864);
    FO_CHECK_INT(c.log_level, FO_LOG_DEBUG);
    FO_CHECK_INT(c.n_peers, 3);
    FO_CHECK_INT(c.peers[0].id, 1);
    FO_CHECK_STR(c.peers[0].raft_address, "10.0.0.1:7101");
    FO_CHECK_STR(c.peers[0].http_address, "");
    FO_CHECK_INT(c.peers[1].id, 2);
    FO_CHECK(c.peers[2].id == 9223372036854775807ULL);
    FO_CHECK_STR(c.peers[2].http_address, "10.0.0.3:9501");
    FO_CHECK_INT(c.probe.interval_ms, 50);
    FO_CHECK_INT(c.probe.connect_timeout_ms, 60000);
    FO_CHECK_INT(c.probe.read_timeout_ms, 250);
    FO_CHECK_INT(c.probe.down_after, 100);
    FO_CHECK_INT(c.n_clusters, 2);
    FO_CHECK_STR(c.clusters[0].name, "demo");
    FO_CHECK_STR(c.clusters[0].user, "failoverd");
    FO_CHECK_STR(c.clusters[0].password_file, "/etc/failoverd/demo.password");
    FO_CHECK_INT(c.clusters[0].n_instances, 7);
    for (i = 0; i < 7 && c.clusters[0].n_instances == 7; i++) {
        FO_CHECK_STR(c.clusters[0].instances[i].host, want[i].host);
        FO_CHECK_INT(c.clusters[0].instances[i].port, want[i].port);
        FO_CHECK_INT(c.clusters[0].instances[i].rule, want[i].rule);
    }
    FO_CHECK_STR(c.clusters[0].repl_user, "repl");
    FO_CHECK_STR(c.clusters[0].repl_password_file, "/etc/failoverd/demo.repl");
    FO_CHECK(c.clusters[0].semi_sync);
    FO_CHECK_INT(c.clusters[0].anti_flap_s, 0);
    FO_CHECK_INT(c.clusters[0].max_lag_s, 86400);
    FO_CHECK_STR(c.clusters[0].vip, "10.231.0.100/24");
    FO_CHECK_STR(c.clusters[0].vip_interface, "eth0");
    FO_CHECK_INT(c.clusters[0].agent_port, 7301);
    FO_CHECK_INT(c.clusters[0].vip_lease_ms, 1500);
    FO_CHECK_INT(c.clusters[0].n_reader_vips, 2);
    FO_CHECK_STR(c.clusters[0].reader_vips[0], "10.231.0.101/24");
    FO_CHECK_STR(c.clusters[0].reader_vips[1], "10.231.0.102/24");
    FO_CHECK_INT(c.clusters[0].reader_max_lag_s, 10);
    FO_CHECK_INT(c.clusters[1].n_reader_vips, 0);
    FO_CHECK_INT(c.clusters[1].reader_max_lag_s, FO_DEFAULT_READER_MAX_LAG_S);
    FO_CHECK_STR(c.clusters[0].co_primaries, "127.0.0.1:33067,DB4.Example:3306");
    FO_CHECK_INT(c.clusters[0].rediscover_interval_s, 5);
    FO_CHECK(c.clusters[0].adopt_replicas);
    FO_CHECK_STR(c.clusters[1].co_primaries, "");
    FO_CHECK_INT(c.clusters[1].rediscover_interval_s, 0);
    FO_CHECK(!c.clusters[1].adopt_replicas);
    FO_CHECK_STR(c.clusters[1].vip, "");
    FO_CHECK_INT(c.clusters[1].agent_port, FO_DEFAULT_AGENT_PORT);
    FO_CHECK_INT(c.clusters[1].vip_lease_ms, FO_DEFAULT_VIP_LEASE_MS);
    FO_CHECK(!c.tls.insecure);
    FO_CHECK_STR(c.tls.ca_file, "/etc/failoverd/tls/ca.crt");
    FO_CHECK_STR(c.tls.cert_file, "/etc/failoverd/tls/ctl2.crt");
    FO_CHECK_STR(c.tls.key_file, "/etc/failoverd/tls/ctl2.key");
    FO_CHECK_STR(c.clusters[1].name, "billing-2.eu_west");
    FO_CHECK_STR(c.clusters[1].password_file, "/etc/failoverd/billing.pw"); /* relative: in secrets_dir */
    FO_CHECK_INT(c.clusters[1].n_instances, 1);
    FO_CHECK_STR(c.clusters[1].repl_user, "");
    FO_CHECK(!c.clusters[1].semi_sync);
    FO_CHECK_INT(c.clusters[1].anti_flap_s, 604800);
    FO_CHECK_INT(c.clusters[1].max_lag_s, 0);
    FO_CHECK_STR(c.failover.pre_failover, "");
    FO_CHECK_INT(c.failover.hook_timeout_ms, 600000);
    FO_CHECK_INT(c.failover.confirm_window_ms, 500);
    FO_CHECK_INT(c.failover.relay_wait_ms, 100);
    FO_CHECK_INT(c.failover.step_timeout_ms, 600000);
    FO_CHECK_INT(c.failover.tilt_grace_ms, 0);
    FO_CHECK_INT(c.failover.fault, FO_FAULT_EXIT_AFTER_BEGIN);
    fo_config_free(&c);
    FO_CHECK(c.clusters == NULL);
    fo_config_free(&c);
}

/* BOM, CRLF, indentation (libinih would take the second indented key for a
 * continuation of the first), inline comments, blank lines, a header comment. */
static void test_layout_tolerance(void)
{
    static const char text[] = "\xEF\xBB\xBF; written on Windows\r\n"
                               "[failoverd]   ; main section\r\n"
                               "    node_id = 7\r\n"
                               "    raft_address = 127.0.0.1:7101   ; raft\r\n"
                               "\tadmin_address = 127.0.0.1:7001\r\n"
                               "\r\n"
                               "    http_address = 127.0.0.1:9501\r\n"
                               "    data_dir = /srv/fo;7\r\n"
                               "  [cluster c1]\r\n"
                               "    user = u\r\n"
                               "    password_file = /p\r\n"
                               "    instance = 127.0.0.1:1 prefer\r\n"
                               "    instance = 127.0.0.1:2\r\n";
    struct fo_config c;

    FO_CHECK_INT(load_ok(&c, text), 0);
    FO_CHECK_INT(c.node_id, 7);
    FO_CHECK_STR(c.raft_address, "127.0.0.1:7101");
    FO_CHECK_STR(c.admin_address, "127.0.0.1:7001");
    FO_CHECK_STR(c.data_dir, "/srv/fo;7");
    FO_CHECK_INT(c.n_clusters, 1);
    FO_CHECK_INT(c.n_clusters ? c.clusters[0].n_instances : 0, 2);
    if (c.n_clusters == 1 && c.clusters[0].n_instances == 2) {
        FO_CHECK_INT(c.clusters[0].instances[0].rule, FO_RULE_PREFER);
        FO_CHECK_INT(c.clusters[0].instances[1].port, 2);
    }
    fo_config_free(&c);
}

/* A BOM right before the first header must not hide the header. */
static void test_bom_before_header(void)
{
    struct fo_config c;

    FO_CHECK_INT(load_ok(&c, "\xEF\xBB\xBF" MAIN), 0);
    FO_CHECK_INT(c.node_id, 1);
    fo_config_free(&c);
}

/* Cluster names are longer than libinih's 50-byte section buffer allows. */
static void test_long_cluster_name(void)
{
    static const char name[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_";
    struct fo_config c;
    struct fo_buf b;

    FO_CHECK_INT(strlen(name), FO_NAME_LEN - 1);
    fo_buf_init(&b);
    fo_buf_printf(&b, "%s[cluster %s]\nuser = u\npassword_file = /p\ninstance = 127.0.0.1:1\n", MAIN, name);
    FO_CHECK_INT(load_ok(&c, b.p), 0);
    FO_CHECK_INT(c.n_clusters, 1);
    if (c.n_clusters == 1) FO_CHECK_STR(c.clusters[0].name, name);
    fo_config_free(&c);
    fo_buf_free(&b);
}

/* libinih reads lines into a 200-byte buffer and would split a longer one, parsing
 * the rest as a line of its own; such a line must be an error at its line number. */
static void test_long_line(void)
{
    char err[FO_ERRLEN] = "", pad[300];
    struct fo_config c;
    struct fo_buf b;

    memset(pad, 'x', 250);
    pad[250] = '\0';
    fo_buf_init(&b);
    fo_buf_printf(&b, "%s; %s\ndata_dir = /elsewhere\n", MAIN, pad);
    FO_CHECK_INT(load_str(&c, "t.conf", b.p, err), FO_ECONFIG);
    FO_CHECK(strstr(err, "t.conf:7: line is longer than 198 bytes") != NULL);
    fo_buf_reset(&b);
    fo_buf_printf(&b, "%s[cluster c]\nuser = u\npassword_file = /%s\n", MAIN, pad);
    FO_CHECK_INT(load_str(&c, "t.conf", b.p, err), FO_ECONFIG);
    FO_CHECK(strstr(err, "t.conf:9: line is longer than 198 bytes") != NULL);
    fo_buf_free(&b);
}

static void test_node_not_in_peers(void)
{
    struct fo_config c;

    FO_CHECK_INT(
        load_ok(&c, MAIN PEER("2", "127.0.0.2:7101", "127.0.0.2:7001") PEER("3", "127.0.0.3:7101", "127.0.0.3:7001")),
        0);
    FO_CHECK_INT(c.n_peers, 2);
    fo_config_free(&c);
    FO_CHECK_INT(load_ok(&c, MAIN PEER("1", "127.0.0.1:7101", "127.0.0.1:7001") "http_address = 127.0.0.1:9501\n"), 0);
    FO_CHECK_INT(c.n_peers, 1);
    fo_config_free(&c);
}

/* Builds MAIN plus n_peers peers, n_clusters clusters of n_inst instances each, then
 * tail (a [limits] section after the clusters it bounds, or NULL). */
static char *gen(unsigned n_peers, unsigned n_clusters, unsigned n_inst, const char *tail)
{
    struct fo_buf b;
    unsigned i, j;

    fo_buf_init(&b);
    fo_buf_puts(&b, MAIN);
    for (i = 0; i < n_peers; i++)
        fo_buf_printf(&b, "[peer %u]\nraft_address = 10.0.%u.1:7101\nadmin_address = 10.0.%u.1:7001\n", i + 2, i, i);
    for (i = 0; i < n_clusters; i++) {
        fo_buf_printf(&b, "[cluster c%u]\nuser = u\npassword_file = /p\n", i);
        for (j = 0; j < n_inst; j++) fo_buf_printf(&b, "instance = 10.%u.%u.1:%u\n", i / 256, i % 256, 3306 + j);
    }
    if (tail != NULL) fo_buf_puts(&b, tail);
    FO_CHECK(!b.oom);
    return b.p;
}

static void test_limits(void)
{
    struct {
        unsigned peers, clusters, inst;
        const char *tail;
        const char *want; /* NULL: must load */
    } cases[] = {
        {FO_MAX_PEERS, 1, 1, NULL, NULL},
        {FO_MAX_PEERS + 1, 0, 0, NULL, "t.conf:55: [peer 18]: more than 16 peers"},
        {0, 1, FO_MAX_INSTANCES_PER_CLUSTER, NULL, NULL},
        {0, 1, FO_MAX_INSTANCES_PER_CLUSTER + 1, NULL, "t.conf:266: [cluster c0] instance: more than 256 instances"},
        /* Issue 12: no compile-time cluster cap (1024 clusters was the most until then). */
        {0, 1025, 1, NULL, NULL},
        {0, 5000, 2, NULL, NULL},
        /* [limits] bounds what comes before it; the first section or server beyond is named. */
        {0, 3, 1, "[limits]\nmax_clusters = 3\n", NULL},
        {0, 4, 1, "[limits]\nmax_clusters = 3\n",
         "t.conf:19: [cluster c3]: more than 3 clusters ([limits] max_clusters)"},
        {0, 2, 3, "[limits]\nmax_servers = 6\n", NULL},
        {0, 2, 3, "[limits]\nmax_servers = 5\n",
         "t.conf:18: [cluster c1] instance: more than 5 servers in all clusters ([limits] max_servers)"},
        {0, 1, 1, "[limits]\nmax_clusters = 0\n", "[limits] max_clusters"},
        {0, 1, 1, "[limits]\nmax_servers = 10000001\n", "[limits] max_servers"},
    };
    char err[FO_ERRLEN];
    struct fo_config c;
    size_t i;
    char *text;
    int rc;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        text = gen(cases[i].peers, cases[i].clusters, cases[i].inst, cases[i].tail);
        err[0] = '\0';
        rc = load_str(&c, "t.conf", text, err);
        if (cases[i].want == NULL) {
            if (rc != 0) fprintf(stderr, "  limits case %zu: %s\n", i, err);
            FO_CHECK_INT(rc, 0);
            FO_CHECK_INT(c.n_peers, cases[i].peers);
            FO_CHECK_INT(c.n_clusters, cases[i].clusters);
        } else {
            if (strstr(err, cases[i].want) == NULL) fprintf(stderr, "  limits case %zu: %s\n", i, err);
            FO_CHECK_INT(rc, FO_ECONFIG);
            FO_CHECK(strstr(err, cases[i].want) != NULL);
        }
        fo_config_free(&c);
        free(text);
    }
}

/* ---- fo_parse_* ------------------------------------------------------------- */

static void test_parse_hostport(void)
{
    static const struct {
        const char *in, *host;
        unsigned port;
    } good[] = {
        {"1.2.3.4:5", "1.2.3.4", 5},
        {"db1.example.com:3306", "db1.example.com", 3306},
        {"localhost:65535", "localhost", 65535},
        {"my_host-2:1", "my_host-2", 1},
        {"[::1]:3306", "::1", 3306},
        {"[2001:db8::1]:33061", "2001:db8::1", 33061},
        {"[::ffff:10.0.0.1]:1", "::ffff:10.0.0.1", 1},
        {"h:007", "h", 7},
    };
    static const char *const bad[] = {
        "",           ":1",
        "h:",         "h:0",
        "h:65536",    "h",
        "h:x",        "h:-1",
        "h:+1",       "h: 1",
        "h:1 ",       "::1:5",
        "[::1]",      "[::1]5",
        "[]:5",       "[1.2.3.4]:5",
        "[::1:5",     "[zz::1]:5",
        "1.2.3:5",    "256.1.1.1:5",
        "01.2.3.4:5", "-h:5",
        "h-:5",       "a..b:5",
        ".h:5",       "h.:5",
        "h :5",       "h/x:5",
        "h\x01:5",    "0123456789012345678901234567890123456789012345678901234567890123.x:5",
    };
    char host[FO_HOST_LEN], err[FO_ERRLEN], small[4];
    uint16_t port;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        err[0] = '\0';
        port = 0;
        FO_CHECK_INT(fo_parse_hostport(good[i].in, host, sizeof(host), &port, err), 0);
        if (err[0] != '\0') fprintf(stderr, "  %s: %s\n", good[i].in, err);
        FO_CHECK_STR(host, good[i].host);
        FO_CHECK_INT(port, good[i].port);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (fo_parse_hostport(bad[i], host, sizeof(host), &port, err) != FO_EINVAL || err[0] == '\0') {
            fprintf(stderr, "  accepted bad host:port \"%s\"\n", bad[i]);
            FO_CHECK(0);
        }
    }
    FO_CHECK_INT(fo_parse_hostport("db12:1", small, sizeof(small), &port, err), FO_EINVAL);
    FO_CHECK(strstr(err, "longer than 3 bytes") != NULL);
    FO_CHECK_INT(fo_parse_hostport("db1:1", NULL, 0, NULL, err), 0);
    /* Control bytes never reach the message. */
    FO_CHECK_INT(fo_parse_hostport("h\x1b[2J:5", host, sizeof(host), &port, err), FO_EINVAL);
    FO_CHECK(strchr(err, '\x1b') == NULL);
}

static void test_parse_ipv4_port(void)
{
    static const char *const good[] = {"127.0.0.1:7101", "10.255.255.254:1", "1.2.3.4:65535"};
    static const char *const bad[] = {"localhost:7101", "[::1]:7101", "1.2.3.4", "1.2.3.4:0", "1.2.3.4:65536",
                                      "0.0.0.0:7101",   "1.2.3:7101", "",        ":1",        "1.2.3.4:7101 "};
    char err[FO_ERRLEN];
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) FO_CHECK_INT(fo_parse_ipv4_port(good[i], err), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (fo_parse_ipv4_port(bad[i], err) != FO_EINVAL) {
            fprintf(stderr, "  accepted bad raft address \"%s\"\n", bad[i]);
            FO_CHECK(0);
        }
    }
}

static void test_parse_u64(void)
{
    static const struct {
        const char *in;
        uint64_t min, max, want;
        int rc;
        const char *msg;
    } cases[] = {
        {"0", 0, 10, 0, 0, NULL},
        {"10", 0, 10, 10, 0, NULL},
        {"0010", 0, 10, 10, 0, NULL},
        {"18446744073709551615", 0, UINT64_MAX, UINT64_MAX, 0, NULL},
        {"18446744073709551616", 0, UINT64_MAX, 0, FO_EINVAL, "is out of range"},
        {"11", 0, 10, 0, FO_EINVAL, "'11' is out of range (0..10)"},
        {"4", 5, 10, 0, FO_EINVAL, "'4' is out of range (5..10)"},
        {"", 0, 10, 0, FO_EINVAL, "empty value"},
        {"-1", 0, 10, 0, FO_EINVAL, "'-1' is not a number"},
        {"+1", 0, 10, 0, FO_EINVAL, "not a number"},
        {" 1", 0, 10, 0, FO_EINVAL, "not a number"},
        {"1 ", 0, 10, 0, FO_EINVAL, "not a number"},
        {"1x", 0, 10, 0, FO_EINVAL, "'1x' is not a number"},
        {"0x1", 0, 10, 0, FO_EINVAL, "not a number"},
        {"1.5", 0, 10, 0, FO_EINVAL, "not a number"},
        {"1e3", 0, 10000, 0, FO_EINVAL, "not a number"},
    };
    char err[FO_ERRLEN];
    uint64_t v;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = 12345;
        err[0] = '\0';
        FO_CHECK_INT(fo_parse_u64(cases[i].in, cases[i].min, cases[i].max, &v, err), cases[i].rc);
        if (cases[i].rc == 0) FO_CHECK(v == cases[i].want);
        if (cases[i].rc != 0) FO_CHECK(v == 12345 && strstr(err, cases[i].msg) != NULL);
    }
}

static void test_parse_rule(void)
{
    static const struct {
        const char *in;
        enum fo_rule want;
    } good[] = {
        {"prefer", FO_RULE_PREFER},     {"neutral", FO_RULE_NEUTRAL},  {"prefer_not", FO_RULE_PREFER_NOT},
        {"must_not", FO_RULE_MUST_NOT}, {"candidate", FO_RULE_PREFER}, {"no_master", FO_RULE_MUST_NOT},
    };
    static const char *const bad[] = {"", "Prefer", "candidate_master", "must not", "prefer ", "1"};
    char err[FO_ERRLEN];
    enum fo_rule r;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        r = FO_RULE_NEUTRAL;
        FO_CHECK_INT(fo_parse_rule(good[i].in, &r, err), 0);
        FO_CHECK_INT(r, good[i].want);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) FO_CHECK_INT(fo_parse_rule(bad[i], &r, err), FO_EINVAL);
    FO_CHECK_STR(fo_rule_name(FO_RULE_NEUTRAL), "neutral");
    FO_CHECK_STR(fo_rule_name(FO_RULE_PREFER), "prefer");
    FO_CHECK_STR(fo_rule_name(FO_RULE_PREFER_NOT), "prefer_not");
    FO_CHECK_STR(fo_rule_name(FO_RULE_MUST_NOT), "must_not");
    FO_CHECK_STR(fo_rule_name((enum fo_rule)42), "unknown");
    /* Names round-trip through the parser. */
    for (i = FO_RULE_NEUTRAL; i <= FO_RULE_MUST_NOT; i++) {
        FO_CHECK_INT(fo_parse_rule(fo_rule_name((enum fo_rule)i), &r, err), 0);
        FO_CHECK_INT(r, i);
    }
}

static void test_check_name(void)
{
    static const char *const good[] = {"demo", "a", "A-b_c.9", "...",
                                       "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"};
    static const char *const bad[] = {"",
                                      "a b",
                                      "a/b",
                                      "a:b",
                                      "caf\xc3\xa9",
                                      "a\n",
                                      "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_-"};
    char err[FO_ERRLEN];
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) FO_CHECK_INT(fo_check_name(good[i], err), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) FO_CHECK_INT(fo_check_name(bad[i], err), FO_EINVAL);
}

/* ---- files ------------------------------------------------------------------ */

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL) return -1;
    ok = fwrite(data, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static void test_password_file(void)
{
    static const struct {
        const char *content;
        size_t len;       /* 0: strlen */
        const char *want; /* NULL: error */
    } cases[] = {
        {"s3cret\n", 0, "s3cret"},
        {"s3cret", 0, "s3cret"},
        {"s3cret\r\n", 0, "s3cret"},
        {"two words \nsecond line\n", 0, "two words "},
        {"", 0, NULL},
        {"\nlater\n", 0, NULL},
        {"a\0b\n", 4, NULL},
    };
    char dir[] = "/tmp/fo_test_pw.XXXXXX", path[600], out[256], err[FO_ERRLEN], line[300];
    size_t i;

    FO_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/pw", dir);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = cases[i].len ? cases[i].len : strlen(cases[i].content);
        FO_CHECK_INT(write_file(path, cases[i].content, n), 0);
        out[0] = '\0';
        err[0] = '\0';
        if (cases[i].want != NULL) {
            FO_CHECK_INT(fo_read_password_file(path, out, sizeof(out), err), 0);
            FO_CHECK_STR(out, cases[i].want);
        } else {
            FO_CHECK_INT(fo_read_password_file(path, out, sizeof(out), err), FO_EINVAL);
            FO_CHECK(strstr(err, path) != NULL);
        }
    }
    /* 255 bytes is the limit, with or without a line end. */
    memset(line, 'p', 255);
    memcpy(line + 255, "\r\n", 2);
    FO_CHECK_INT(write_file(path, line, 257), 0);
    FO_CHECK_INT(fo_read_password_file(path, out, sizeof(out), err), 0);
    FO_CHECK_INT(strlen(out), 255);
    FO_CHECK_INT(write_file(path, line, 255), 0);
    FO_CHECK_INT(fo_read_password_file(path, out, sizeof(out), err), 0);
    FO_CHECK_INT(fo_read_password_file(path, out, 255, err), FO_EINVAL); /* no room for NUL */
    /* 256 bytes is too long, and the message must not contain the secret. */
    memset(line, 'q', 256);
    memcpy(line + 256, "\n", 1);
    FO_CHECK_INT(write_file(path, line, 257), 0);
    FO_CHECK_INT(fo_read_password_file(path, out, sizeof(out), err), FO_EINVAL);
    FO_CHECK(strstr(err, "longer than 255 bytes") != NULL);
    FO_CHECK(strstr(err, "qqqq") == NULL);
    FO_CHECK_INT(write_file(path, line, 256), 0);
    FO_CHECK_INT(fo_read_password_file(path, out, sizeof(out), err), FO_EINVAL);
    FO_CHECK_INT(write_file(path, "hunter2\n", 8), 0);
    FO_CHECK_INT(fo_read_password_file(path, out, 4, err), FO_EINVAL);
    FO_CHECK(strstr(err, "hunter") == NULL);
    FO_CHECK_INT(unlink(path), 0);
    /* Missing file and a directory. */
    FO_CHECK_INT(fo_read_password_file(path, out, sizeof(out), err), FO_EINVAL);
    FO_CHECK(strstr(err, path) != NULL && strstr(err, "No such file") != NULL);
    FO_CHECK_INT(fo_read_password_file(dir, out, sizeof(out), err), FO_EINVAL);
    FO_CHECK(strstr(err, "not a regular file") != NULL);
    FO_CHECK_INT(rmdir(dir), 0);
}

static void test_load_file(void)
{
    static const char bad[] = MAIN "[probe]\n\ninterval_ms = 5x\n";
    static const char nul[] = MAIN "\0oops\n";
    char dir[] = "/tmp/fo_test_cfg.XXXXXX", path[600], want[700], err[FO_ERRLEN];
    struct fo_config c;

    FO_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/failoverd.conf", dir);
    FO_CHECK_INT(write_file(path, full_text, strlen(full_text)), 0);
    FO_CHECK_INT(fo_config_load(&c, path, err), 0);
    FO_CHECK_STR(c.path, path);
    FO_CHECK_INT(c.node_id, 2);
    FO_CHECK_INT(c.n_clusters, 2);
    fo_config_free(&c);

    /* Errors name the real path and line. */
    FO_CHECK_INT(write_file(path, bad, strlen(bad)), 0);
    FO_CHECK_INT(fo_config_load(&c, path, err), FO_ECONFIG);
    snprintf(want, sizeof(want), "%s:9: [probe] interval_ms: '5x' is not a number", path);
    FO_CHECK_STR(err, want);
    fo_config_free(&c);

    FO_CHECK_INT(write_file(path, nul, sizeof(nul) - 1), 0);
    FO_CHECK_INT(fo_config_load(&c, path, err), FO_ECONFIG);
    snprintf(want, sizeof(want), "%s:7: NUL byte", path);
    FO_CHECK(strstr(err, want) != NULL);
    fo_config_free(&c);

    FO_CHECK_INT(fo_config_load(&c, dir, err), FO_EIO);
    FO_CHECK(strstr(err, "not a regular file") != NULL);
    FO_CHECK_INT(unlink(path), 0);
    FO_CHECK_INT(rmdir(dir), 0);
}

/* Every documented spelling of a boolean, and a few that are not. */
static void test_booleans(void)
{
    static const struct {
        const char *text;
        int want; /* -1: rejected */
    } cases[] = {
        {"yes", 1}, {"no", 0},  {"true", 1}, {"false", 0}, {"1", 1},  {"0", 0},       {"on", 1},  {"off", 0},
        {"ON", 1},  {"Off", 0}, {"YES", 1},  {"y", -1},    {"2", -1}, {"enable", -1}, {"01", -1}, {"yess", -1},
    };
    char text[512], err[FO_ERRLEN];
    struct fo_config c;
    size_t i;
    int rc;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "%s%ssemi_sync = %s\n", MAIN, CL, cases[i].text);
        err[0] = '\0';
        rc = load_str(&c, "t.conf", text, err);
        if (cases[i].want < 0) {
            FO_CHECK_INT(rc, FO_ECONFIG);
            FO_CHECK(strstr(err, "t.conf:11: [cluster demo] semi_sync:") != NULL);
        } else {
            if (rc != 0) fprintf(stderr, "  boolean '%s': %s\n", cases[i].text, err);
            FO_CHECK_INT(rc, 0);
            FO_CHECK_INT(rc == 0 ? c.clusters[0].semi_sync : -1, cases[i].want);
        }
        fo_config_free(&c);
    }
}

/* Hooks must be executable regular files, checked at load time so that a broken
 * hook stops the daemon before it starts rather than in the middle of a failover. */
static void test_hooks(void)
{
    char dir[] = "/tmp/fo_test_hooks.XXXXXX", exe[600], plain[600], link[600], text[4096], want[1400];
    char err[FO_ERRLEN];
    struct fo_config c;

    FO_CHECK(mkdtemp(dir) != NULL);
    snprintf(exe, sizeof(exe), "%s/pre.sh", dir);
    snprintf(plain, sizeof(plain), "%s/post.sh", dir);
    snprintf(link, sizeof(link), "%s/failed.sh", dir);
    FO_CHECK_INT(write_file(exe, "#!/bin/sh\nexit 0\n", 17), 0);
    FO_CHECK_INT(write_file(plain, "#!/bin/sh\nexit 0\n", 17), 0);
    FO_CHECK_INT(chmod(exe, 0750), 0);
    FO_CHECK_INT(chmod(plain, 0640), 0);
    FO_CHECK_INT(symlink(exe, link), 0); /* a link to an executable is fine */

    snprintf(text, sizeof(text), "%s[failover]\npre_failover = %s\npost_failover = %s\npost_failover_failed = %s\n",
             MAIN, exe, exe, link);
    FO_CHECK_INT(load_ok(&c, text), 0);
    FO_CHECK_STR(c.failover.pre_failover, exe);
    FO_CHECK_STR(c.failover.post_failover, exe);
    FO_CHECK_STR(c.failover.post_failover_failed, link);
    fo_config_free(&c);

    snprintf(text, sizeof(text), "%s[failover]\npre_failover = %s\npost_failover = %s\n", MAIN, exe, plain);
    FO_CHECK_INT(load_str(&c, "t.conf", text, err), FO_ECONFIG);
    snprintf(want, sizeof(want), "t.conf:9: [failover] post_failover: '%s' is not executable", plain);
    FO_CHECK_STR(err, want);
    fo_config_free(&c);

    snprintf(text, sizeof(text), "%s[failover]\npre_failover = %s\n", MAIN, dir);
    FO_CHECK_INT(load_str(&c, "t.conf", text, err), FO_ECONFIG);
    snprintf(want, sizeof(want), "t.conf:8: [failover] pre_failover: '%s' is not a regular file", dir);
    FO_CHECK_STR(err, want);
    fo_config_free(&c);

    FO_CHECK_INT(unlink(link), 0);
    FO_CHECK_INT(unlink(exe), 0);
    /* A dangling link: the target is what runs. */
    FO_CHECK_INT(symlink(exe, link), 0);
    snprintf(text, sizeof(text), "%s[failover]\npost_failover_failed = %s\n", MAIN, link);
    FO_CHECK_INT(load_str(&c, "t.conf", text, err), FO_ECONFIG);
    FO_CHECK(strstr(err, "No such file or directory") != NULL);
    fo_config_free(&c);
    FO_CHECK_INT(unlink(link), 0);
    FO_CHECK_INT(unlink(plain), 0);
    FO_CHECK_INT(rmdir(dir), 0);
}

/* No [tls] section at all: refused, naming what to set (plain TCP must be asked for). */
static void test_tls_required(void)
{
    char err[FO_ERRLEN] = "";
    struct fo_config c;

    FO_CHECK_INT(fo_config_load_string(&c, "t.conf", MAIN, err), FO_ECONFIG);
    FO_CHECK_STR(err, "t.conf: [tls]: missing (set ca_file, cert_file and key_file, or insecure = yes for plain TCP)");
    fo_config_free(&c);
    FO_CHECK_INT(fo_config_load_string(&c, "t.conf", MAIN "[tls]\ninsecure = yes\n", err), 0);
    FO_CHECK(c.tls.insecure);
    FO_CHECK_STR(c.tls.ca_file, "");
    fo_config_free(&c);
}

static void test_missing_file(void)
{
    char err[FO_ERRLEN] = "";
    struct fo_config c;

    FO_CHECK_INT(fo_config_load(&c, "/nonexistent/fo_test/failoverd.conf", err), FO_EIO);
    FO_CHECK(strstr(err, "/nonexistent/fo_test/failoverd.conf") != NULL);
    FO_CHECK(strstr(err, "No such file or directory") != NULL);
    FO_CHECK(c.clusters == NULL);
    fo_config_free(&c);
    fo_config_free(&c);
}

/* ------------------------------------------------------------------ secrets_dir and [mysql] (issue 9) */

static void test_secret_files(void)
{
    char dir[] = "/tmp/fo_test_sec.XXXXXX", sec[64], in[700], out_f[700], lnk[700], lnk2[700], pw[256], err[FO_ERRLEN],
         res[FO_PATH_LEN], dotted[800];

    FO_CHECK(mkdtemp(dir) != NULL);
    snprintf(sec, sizeof(sec), "%s/secrets", dir);
    FO_CHECK_INT(mkdir(sec, 0700), 0);
    snprintf(in, sizeof(in), "%s/demo.pw", sec);
    snprintf(out_f, sizeof(out_f), "%s/outside.pw", dir);
    snprintf(lnk, sizeof(lnk), "%s/escape.pw", sec);
    snprintf(lnk2, sizeof(lnk2), "%s/inner-link.pw", sec);
    FO_CHECK_INT(write_file(in, "inside\n", 7), 0);
    FO_CHECK_INT(write_file(out_f, "outside-secret\n", 15), 0);
    FO_CHECK_INT(symlink(out_f, lnk), 0);
    FO_CHECK_INT(symlink("demo.pw", lnk2), 0);

    /* Inside, directly and through a link that stays inside. */
    FO_CHECK_INT(fo_read_secret_file(sec, in, pw, sizeof(pw), err), 0);
    FO_CHECK_STR(pw, "inside");
    FO_CHECK_INT(fo_read_secret_file(sec, lnk2, pw, sizeof(pw), err), 0);
    FO_CHECK_STR(pw, "inside");
    FO_CHECK_INT(fo_secret_path_check(sec, lnk2, res, err), 0);
    FO_CHECK_STR(res, in);
    /* Outside, directly, through a link, through "..": refused, nothing read. */
    pw[0] = '\0';
    FO_CHECK_INT(fo_read_secret_file(sec, out_f, pw, sizeof(pw), err), FO_EPERM);
    FO_CHECK(strstr(err, "outside secrets_dir") != NULL);
    FO_CHECK_STR(pw, "");
    FO_CHECK_INT(fo_read_secret_file(sec, lnk, pw, sizeof(pw), err), FO_EPERM);
    FO_CHECK(strstr(err, "resolves to") != NULL);
    FO_CHECK(strstr(err, "outside-secret") == NULL);
    FO_CHECK_STR(pw, "");
    snprintf(dotted, sizeof(dotted), "%s/../outside.pw", sec);
    FO_CHECK_INT(fo_read_secret_file(sec, dotted, pw, sizeof(pw), err), FO_EPERM);
    FO_CHECK(strstr(err, "'..'") != NULL);
    FO_CHECK_INT(fo_read_secret_file(sec, "/etc/hostname", pw, sizeof(pw), err), FO_EPERM);
    FO_CHECK_STR(pw, "");
    /* A directory that only starts like secrets_dir is not inside it. */
    snprintf(dotted, sizeof(dotted), "%s-evil", sec);
    FO_CHECK_INT(fo_secret_path_check(dotted, in, NULL, err) != 0, 1);
    FO_CHECK_INT(fo_read_secret_file("relative", in, pw, sizeof(pw), err), FO_EINVAL);
    FO_CHECK_INT(fo_read_secret_file(sec, "demo.pw", pw, sizeof(pw), err), FO_EINVAL);

    /* Config load: checked with the configured secrets_dir; a relative name is taken
     * inside it; an existing file outside is refused with file, line and key. */
    {
        struct fo_config c;
        char text[4096];
        memset(&c, 0, sizeof(c));
        snprintf(text, sizeof(text),
                 MAIN "secrets_dir = %s\n[cluster a]\nuser = u\npassword_file = demo.pw\ninstance = 127.0.0.1:1\n",
                 sec);
        FO_CHECK_INT(load_str(&c, "t.conf", text, err), 0);
        if (c.n_clusters == 1) FO_CHECK_STR(c.clusters[0].password_file, in);
        FO_CHECK_STR(c.secrets_dir, sec);
        fo_config_free(&c);
        snprintf(text, sizeof(text),
                 MAIN "secrets_dir = %s\n[cluster a]\nuser = u\npassword_file = %s\ninstance = 127.0.0.1:1\n", sec,
                 out_f);
        FO_CHECK_INT(load_str(&c, "t.conf", text, err), FO_ECONFIG);
        FO_CHECK(strstr(err, "t.conf:10: [cluster a] password_file: password file") != NULL);
        FO_CHECK(strstr(err, "outside secrets_dir") != NULL);
        snprintf(text, sizeof(text),
                 "[cluster a]\nuser = u\npassword_file = %s\ninstance = 127.0.0.1:1\nrepl_user = r\n"
                 "repl_password_file = %s\n" MAIN "secrets_dir = %s\n",
                 in, lnk, sec);
        FO_CHECK_INT(load_str(&c, "t.conf", text, err), FO_ECONFIG);
        FO_CHECK(strstr(err, "t.conf:6: [cluster a] repl_password_file:") != NULL);
        /* The default secrets_dir is /etc/failoverd. */
        snprintf(text, sizeof(text), MAIN "[cluster a]\nuser = u\npassword_file = %s\ninstance = 127.0.0.1:1\n", in);
        FO_CHECK_INT(load_str(&c, "t.conf", text, err), FO_ECONFIG);
        FO_CHECK(strstr(err, "secrets_dir /etc/failoverd") != NULL);
    }
    FO_CHECK_INT(unlink(lnk), 0);
    FO_CHECK_INT(unlink(lnk2), 0);
    FO_CHECK_INT(unlink(in), 0);
    FO_CHECK_INT(unlink(out_f), 0);
    FO_CHECK_INT(rmdir(sec), 0);
    FO_CHECK_INT(rmdir(dir), 0);
}

static void test_mysql_tls(void)
{
    static const struct {
        const char *text;
        const char *want; /* error text, NULL: loads */
    } bad[] = {
        {MAIN "[mysql]\nssl_mode = strict\n", "t.conf:8: [mysql] ssl_mode: 'strict' is not one of off|preferred|"},
        {MAIN "[mysql]\nssl_mode = verify_ca\n", "t.conf:8: [mysql] ssl_ca: missing (ssl_mode = verify_ca"},
        {MAIN "[mysql]\nssl_ca = ca.crt\n", "t.conf:8: [mysql] ssl_ca: 'ca.crt' is not an absolute path"},
        {MAIN "[mysql]\nssl_mode = required\nssl_ca = /nonexistent/ca.crt\n", "t.conf:9: [mysql] ssl_ca: "},
        {MAIN "[mysql]\nssl_cert = /x\n", "t.conf:8: [mysql] ssl_cert: unknown key"},
        {MAIN CL "ssl_mode = verify_identity\n", "t.conf:11: [cluster demo] ssl_ca: missing"},
        {MAIN "[mysql]\nssl_mode = off\n[mysql]\n", "t.conf:9: [mysql]: duplicate section"},
    };
    struct fo_config c;
    char err[FO_ERRLEN], text[2048];
    enum fo_ssl_mode m;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&c, 0, sizeof(c));
        FO_CHECK_INT(load_str(&c, "t.conf", bad[i].text, err), FO_ECONFIG);
        if (strstr(err, bad[i].want) == NULL) fprintf(stderr, "  case %zu: got '%s'\n", i, err);
        FO_CHECK(strstr(err, bad[i].want) != NULL);
    }
    /* Defaults: preferred everywhere. */
    FO_CHECK_INT(load_str(&c, "t.conf", MAIN CL, err), 0);
    FO_CHECK_INT(c.mysql_tls.mode, FO_SSL_PREFERRED);
    FO_CHECK_INT(fo_config_cluster_tls(&c, "demo")->mode, FO_SSL_PREFERRED);
    FO_CHECK_STR(c.secrets_dir, "/etc/failoverd");
    fo_config_free(&c);
    /* [mysql] is the default, a cluster overrides it; run-time clusters get [mysql]'s;
     * the section order does not matter. */
    snprintf(text, sizeof(text),
             MAIN CL "ssl_mode = verify-identity\nssl_ca = /etc/hostname\n[cluster two]\nuser = u\npassword_file = "
                     "/p\ninstance = 127.0.0.1:2\n[mysql]\nssl_mode = REQUIRED\n");
    FO_CHECK_INT(load_str(&c, "t.conf", text, err), 0);
    FO_CHECK_INT(c.mysql_tls.mode, FO_SSL_REQUIRED);
    FO_CHECK_INT(fo_config_cluster_tls(&c, "demo")->mode, FO_SSL_VERIFY_IDENTITY);
    FO_CHECK_STR(fo_config_cluster_tls(&c, "demo")->ca, "/etc/hostname");
    FO_CHECK_INT(fo_config_cluster_tls(&c, "two")->mode, FO_SSL_REQUIRED);
    FO_CHECK_INT(fo_config_cluster_tls(&c, "added-at-run-time")->mode, FO_SSL_REQUIRED);
    fo_config_free(&c);
    /* Parser and names. */
    FO_CHECK_INT(fo_parse_ssl_mode("verify_ca", &m, err), 0);
    FO_CHECK_INT(m, FO_SSL_VERIFY_CA);
    FO_CHECK_INT(fo_parse_ssl_mode("OFF", &m, err), 0);
    FO_CHECK_INT(m, FO_SSL_OFF);
    FO_CHECK_INT(fo_parse_ssl_mode("", &m, err), FO_EINVAL);
    FO_CHECK_INT(fo_parse_ssl_mode("required-but-longer-than-the-buffer-of-32", &m, err), FO_EINVAL);
    FO_CHECK_INT(fo_parse_ssl_mode("verify_ca ", &m, err), FO_EINVAL);
    FO_CHECK_STR(fo_ssl_mode_name(FO_SSL_VERIFY_IDENTITY), "verify_identity");
    FO_CHECK(strstr(fo_mysql_auth_plugins(FO_SSL_PREFERRED), "clear_password") == NULL);
    FO_CHECK(strstr(fo_mysql_auth_plugins(FO_SSL_REQUIRED), "caching_sha2") == NULL);
    FO_CHECK(strstr(fo_mysql_auth_plugins(FO_SSL_VERIFY_CA), "caching_sha2_password") != NULL);
}

/* The lease that outlives a leader change (docs/vip-leader-change.md): ceil(4/3 x (2 x
 * election + heartbeat + slack)); the defaults fit in the default lease, the old
 * defaults (1000/100) did not. */
static void test_min_vip_lease(void)
{
    static const struct {
        unsigned election, heartbeat, want;
    } cases[] = {
        {FO_DEFAULT_ELECTION_TIMEOUT_MS, FO_DEFAULT_HEARTBEAT_TIMEOUT_MS, 1814}, /* 4/3 x 1360 = 1813.3 */
        {1000, 100, 2934},                                                       /* 4/3 x 2200 = 2933.3 */
        {500, 50, 1534},                                                         /* 4/3 x 1150 = 1533.3 */
        {100, 10, 414},                                                          /* 4/3 x 310 = 413.3 */
        {600, 300, 2134},                                                        /* 4/3 x 1600 = 2133.3 */
        {60000, 30000, 200134},                                                  /* 4/3 x 150100 */
        {1, 0, 136},                                                             /* 4/3 x 102 exactly */
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FO_CHECK_INT(fo_config_min_vip_lease_ms(cases[i].election, cases[i].heartbeat), cases[i].want);
    }
    FO_CHECK(fo_config_min_vip_lease_ms(FO_DEFAULT_ELECTION_TIMEOUT_MS, FO_DEFAULT_HEARTBEAT_TIMEOUT_MS) <=
             FO_DEFAULT_VIP_LEASE_MS);
}

/* The helper the co-primary mode uses: two endpoints, in order, canonical text. */
static void test_parse_co_primaries(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *canon_or_err;
    } cases[] = {
        {"10.0.0.1:3306,10.0.0.2:3306", 0, "10.0.0.1:3306,10.0.0.2:3306"},
        {" db1:3306 ,\t[::1]:3307 ", 0, "db1:3306,[::1]:3307"},
        {"10.0.0.1:3306,10.0.0.1:3307", 0, "10.0.0.1:3306,10.0.0.1:3307"},
        {"", FO_EINVAL, "empty value"},
        {"10.0.0.1:3306", FO_EINVAL, "expected exactly two servers"},
        {",10.0.0.1:3306", FO_EINVAL, "an entry is empty"},
        {"10.0.0.1:3306,::ffff:10.0.0.1:3306", FO_EINVAL, "'::ffff:10.0.0.1:3306'"},
        {"10.0.0.1:3306,[::ffff:10.0.0.1]:3306", FO_EINVAL, "both entries name the same server"},
        {"DB1:3306,db1:3306", FO_EINVAL, "both entries name the same server"},
        {"db1:3306,db2", FO_EINVAL, "'db2'"},
        {"db1:3306,db2:70000", FO_EINVAL, "'db2:70000'"},
    };
    struct fo_endpoint ep[2];
    char canon[FO_CO_PRIMARIES_LEN], err[FO_ERRLEN];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        err[0] = '\0';
        canon[0] = '\0';
        rc = fo_parse_co_primaries(cases[i].in, ep, canon, err);
        FO_CHECK_INT(rc, cases[i].rc);
        if (cases[i].rc == 0)
            FO_CHECK_STR(canon, cases[i].canon_or_err);
        else
            FO_CHECK(strstr(err, cases[i].canon_or_err) != NULL);
    }
    FO_CHECK_INT(fo_parse_co_primaries("db1:3306,[::1]:3307", ep, NULL, err), 0);
    FO_CHECK_STR(ep[0].host, "db1");
    FO_CHECK_INT(ep[0].port, 3306);
    FO_CHECK_STR(ep[1].host, "::1");
    FO_CHECK_INT(ep[1].port, 3307);
    FO_CHECK_INT(fo_check_rediscover_interval(0, err), 0);
    FO_CHECK_INT(fo_check_rediscover_interval(5, err), 0);
    FO_CHECK_INT(fo_check_rediscover_interval(86400, err), 0);
    FO_CHECK_INT(fo_check_rediscover_interval(1, err), FO_EINVAL);
    FO_CHECK_INT(fo_check_rediscover_interval(86401, err), FO_EINVAL);
}

FO_TEST_MAIN(FO_T(test_bad_configs), FO_T(test_min_vip_lease), FO_T(test_defaults), FO_T(test_full),
             FO_T(test_layout_tolerance), FO_T(test_bom_before_header), FO_T(test_long_cluster_name),
             FO_T(test_long_line), FO_T(test_node_not_in_peers), FO_T(test_limits), FO_T(test_parse_hostport),
             FO_T(test_parse_ipv4_port), FO_T(test_parse_u64), FO_T(test_parse_rule), FO_T(test_check_name),
             FO_T(test_password_file), FO_T(test_load_file), FO_T(test_missing_file), FO_T(test_tls_required),
             FO_T(test_booleans), FO_T(test_hooks), FO_T(test_secret_files), FO_T(test_mysql_tls),
             FO_T(test_parse_co_primaries))
