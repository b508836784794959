/* failoverctl's argument parsing (client/args.c), which is pure and compiled in here
 * directly: fo_core does not contain client/. */
#include <stdint.h>
#include <string.h>

#include "../../client/args.c"
#include "fo_test.h"

#define MAX_ARGV 32

/* Splits a space-separated command line into argv (argv[0] = "failoverctl"). Tests
 * needing a space inside one argument build argv by hand. A line with too many words
 * for argv fails the test rather than being cut short. */
static int split(char *line, char *argv[MAX_ARGV])
{
    int argc = 0;
    char *save = NULL, *tok;

    argv[argc++] = "failoverctl";
    for (tok = strtok_r(line, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
        FO_CHECK(argc < MAX_ARGV - 1);
        if (argc >= MAX_ARGV - 1) break;
        argv[argc++] = tok;
    }
    argv[argc] = NULL;
    return argc;
}

/* The environment most tests run in: TLS files from FAILOVERCTL_CA/_CERT/_KEY (never
 * opened by the parser). */
static const struct fo_ctl_env tls_env = {NULL, "/tls/ca.crt", "/tls/admin.crt", "/tls/admin.key", NULL};

static int parse_env(const char *line, const struct fo_ctl_env *env, struct fo_ctl_args *a, char *err)
{
    char copy[512], *argv[MAX_ARGV];
    int argc;

    FO_CHECK(strlen(line) < sizeof(copy));
    snprintf(copy, sizeof(copy), "%s", line);
    argc = split(copy, argv);
    err[0] = '\0';
    return fo_ctl_args_parse(a, argc, argv, env, err);
}

/* env_controller is FAILOVERCTL_CONTROLLER; the TLS files come from tls_env. */
static int parse_line(const char *line, const char *env_controller, struct fo_ctl_args *a, char *err)
{
    struct fo_ctl_env env = tls_env;

    env.controller = env_controller;
    return parse_env(line, &env, a, err);
}

struct ok_case {
    const char *line;
    enum fo_ctl_cmd cmd;
};

static void test_commands_parse(void)
{
    static const struct ok_case cases[] = {
        {"status", FO_CTL_STATUS},
        {"members", FO_CTL_MEMBERS},
        {"topology demo", FO_CTL_TOPOLOGY},
        {"clusters", FO_CTL_CLUSTERS},
        {"history", FO_CTL_HISTORY},
        {"history demo --limit 10", FO_CTL_HISTORY},
        {"cluster add demo --user u --password-file /etc/p", FO_CTL_CLUSTER_ADD},
        {"cluster remove demo", FO_CTL_CLUSTER_REMOVE},
        {"instance add demo 127.0.0.1:3306", FO_CTL_INSTANCE_ADD},
        {"instance remove demo db1.example:3306", FO_CTL_INSTANCE_REMOVE},
        {"member add 4 127.0.0.1:7104", FO_CTL_MEMBER_ADD},
        {"member remove 4", FO_CTL_MEMBER_REMOVE},
        {"member transfer-leader", FO_CTL_MEMBER_TRANSFER},
        {"member transfer-leader 0", FO_CTL_MEMBER_TRANSFER},
        {"help", FO_CTL_HELP},
        {"--help", FO_CTL_HELP},
        {"-h", FO_CTL_HELP},
        {"topology --help", FO_CTL_HELP},
        {"--json status", FO_CTL_STATUS},
        {"status --json --timeout=100", FO_CTL_STATUS},
        {"--json --json status", FO_CTL_STATUS},
        {"why demo", FO_CTL_WHY},
        {"why demo --limit 5", FO_CTL_WHY},
        {"--json why --limit=10000 demo", FO_CTL_WHY},
        {"failover demo", FO_CTL_FAILOVER},
        {"failover demo --to db2.example:3306", FO_CTL_FAILOVER},
        {"failover --to=10.0.0.2:3306 demo --timeout 1000", FO_CTL_FAILOVER},
        {"switchover demo", FO_CTL_SWITCHOVER},
        {"switchover demo --to [::1]:3307", FO_CTL_SWITCHOVER},
        {"ack demo", FO_CTL_ACK},
        {"recoveries enable", FO_CTL_RECOVERIES},
        {"recoveries disable --json", FO_CTL_RECOVERIES},
        {"maintenance on demo", FO_CTL_MAINTENANCE},
        {"maintenance off demo", FO_CTL_MAINTENANCE},
        {"maintenance on demo h:1 --reason upgrade", FO_CTL_MAINTENANCE},
        {"maintenance off demo --reason=done", FO_CTL_MAINTENANCE},
        {"instance rule demo h:1 prefer", FO_CTL_INSTANCE_RULE},
        {"instance rule demo [::1]:3306 no_master", FO_CTL_INSTANCE_RULE},
        {"cluster add demo --user u --password-file /p --repl-user r --repl-password-file /r", FO_CTL_CLUSTER_ADD},
        {"cluster add demo --user u --password-file /p --semi-sync --anti-flap-s 0 --max-lag-s 0", FO_CTL_CLUSTER_ADD},
        {"cluster add demo --user u --password-file /p --anti-flap-s=604800 --max-lag-s=86400", FO_CTL_CLUSTER_ADD},
    };
    struct fo_ctl_args a;
    char err[FO_ERRLEN];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse_line(cases[i].line, NULL, &a, err);

        if (rc != 0) fprintf(stderr, "  case '%s': %s\n", cases[i].line, err);
        FO_CHECK_INT(rc, 0);
        FO_CHECK_INT(a.cmd, cases[i].cmd);
    }
}

struct bad_case {
    const char *line;
    const char *needle; /* must appear in the error message */
};

static void test_bad_arguments(void)
{
    static const struct bad_case cases[] = {
        {"", "missing command"},
        {"bogus", "unknown command 'bogus'"},
        {"cluster", "needs a subcommand: add, remove"},
        {"member frobnicate", "unknown subcommand 'member frobnicate'"},
        {"topology", "missing CLUSTER"},
        {"topology a b", "unexpected argument 'b'"},
        {"topology a b c d e f g h i j k", "unexpected argument 'b'"},
        {"status extra", "unexpected argument 'extra'"},
        {"help me", "unknown command 'me'"},
        {"topology bad/name", "bad cluster name"},
        {"history --limit 0", "--limit"},
        {"history --limit 10001", "--limit"},
        {"history --limit 5x", "--limit"},
        {"history --limit -5", "--limit"},
        {"history --limit", "needs a value"},
        {"history --limit --json", "needs a value"},
        {"history --limit 1 --limit 2", "more than once"},
        {"status --limit 5", "--limit is not valid here"},
        {"status --bogus", "unknown option '--bogus'"},
        {"status --bogus=1", "unknown option '--bogus'"},
        {"status -x", "unknown option '-x'"},
        {"status --json=yes", "takes no value"},
        {"status --timeout 0", "--timeout"},
        {"status --timeout 3600001", "--timeout"},
        {"status --timeout 1e3", "--timeout"},
        {"status --controller nope", "--controller"},
        {"status --controller host:99999", "--controller"},
        {"cluster add demo", "--user is required"},
        {"cluster add demo --user u", "--password-file is required"},
        {"cluster add demo --user u --password-file etc/p", "not an absolute path"},
        {"cluster add demo --user= --password-file /p", "--user: must not be empty"},
        {"cluster add demo --password-file /p --user u --rule prefer", "--rule is not valid here"},
        {"cluster remove", "missing NAME"},
        {"instance add demo", "missing HOST:PORT"},
        {"instance add demo host", "bad instance address"},
        {"instance add demo host:0", "bad instance address"},
        {"instance add demo h:1 --rule best", "--rule"},
        {"instance remove demo h:1 --rule prefer", "--rule is not valid here"},
        {"member add 1", "missing RAFT_ADDR"},
        {"member add 0 127.0.0.1:7101", "member id"},
        {"member add x 127.0.0.1:7101", "member id"},
        {"member add 1 db1:7101", "bad raft address"},
        {"member add 9223372036854775808 127.0.0.1:1", "member id"},
        {"member remove 0", "member id"},
        {"member remove -1", "member id"},
        {"member transfer-leader 1 2", "unexpected argument '2'"},
        /* why */
        {"why", "missing CLUSTER"},
        {"why a b", "unexpected argument 'b'"},
        {"why bad/name", "bad cluster name"},
        {"why demo --limit 0", "--limit"},
        {"why demo --limit 10001", "--limit"},
        {"why demo --to h:1", "--to is not valid here"},
        /* failover, switchover */
        {"failover", "missing CLUSTER"},
        {"failover demo h:1", "unexpected argument 'h:1'"},
        {"failover demo --to", "needs a value"},
        {"failover demo --to nope", "--to"},
        {"failover demo --to h:0", "--to"},
        {"failover demo --to h:70000", "--to"},
        {"failover demo --to h:1 --to h:2", "more than once"},
        {"failover demo --reason x", "--reason is not valid here"},
        {"failover demo --timeout 0", "--timeout"},
        {"switchover", "missing CLUSTER"},
        {"switchover -- -bad!", "bad cluster name"},
        {"switchover demo --to", "needs a value"},
        {"switchover demo --to --json", "needs a value"},
        {"switchover demo --limit 3", "--limit is not valid here"},
        /* ack, recoveries */
        {"ack", "missing CLUSTER"},
        {"ack demo extra", "unexpected argument 'extra'"},
        {"ack demo --to h:1", "--to is not valid here"},
        {"recoveries", "needs a subcommand: enable, disable"},
        {"recoveries on", "unknown subcommand 'recoveries on'"},
        {"recoveries enable demo", "unexpected argument 'demo'"},
        {"recoveries disable --reason x", "--reason is not valid here"},
        /* maintenance */
        {"maintenance", "needs a subcommand: on, off"},
        {"maintenance maybe demo", "unknown subcommand 'maintenance maybe'"},
        {"maintenance on", "missing CLUSTER"},
        {"maintenance on bad/name", "bad cluster name"},
        {"maintenance on demo host", "bad instance address"},
        {"maintenance off demo h:1 extra", "unexpected argument 'extra'"},
        {"maintenance on demo --reason=", "--reason: must not be empty"},
        {"maintenance on demo --reason", "needs a value"},
        {"maintenance on demo --reason a --reason b", "more than once"},
        {"maintenance on demo --to h:1", "--to is not valid here"},
        /* instance rule */
        {"instance rule demo", "missing HOST:PORT"},
        {"instance rule demo h:1", "missing RULE"},
        {"instance rule demo h:1 best", "bad promotion rule"},
        {"instance rule demo host prefer", "bad instance address"},
        {"instance rule demo h:1 prefer x", "unexpected argument 'x'"},
        {"instance rule demo h:1 prefer --rule prefer", "--rule is not valid here"},
        /* cluster add's failover options */
        {"cluster add demo --user u --password-file /p --repl-user r", "go together"},
        {"cluster add demo --user u --password-file /p --repl-password-file /r", "go together"},
        {"cluster add demo --user u --password-file /p --repl-user r --repl-password-file r",
         "--repl-password-file: 'r' is not an absolute path"},
        {"cluster add demo --user u --password-file /p --repl-user= --repl-password-file /r",
         "--repl-user: must not be empty"},
        {"cluster add demo --user u --password-file /p --semi-sync=yes", "takes no value"},
        {"cluster add demo --user u --password-file /p --anti-flap-s 604801", "--anti-flap-s"},
        {"cluster add demo --user u --password-file /p --anti-flap-s -1", "--anti-flap-s"},
        {"cluster add demo --user u --password-file /p --anti-flap-s 1h", "--anti-flap-s"},
        {"cluster add demo --user u --password-file /p --max-lag-s 86401", "--max-lag-s"},
        {"cluster add demo --user u --password-file /p --max-lag-s=", "--max-lag-s"},
        {"cluster add demo --user u --password-file /p --max-lag-s 1 --max-lag-s 2", "more than once"},
        {"cluster add demo --user u --password-file /p --vip 10.0.0.1/24", "--vip-interface goes with"},
        {"cluster add demo --user u --password-file /p --vip-interface eth0", "--vip-interface goes with"},
        {"cluster add demo --user u --password-file /p --vip 10.0.0.1 --vip-interface eth0", "--vip:"},
        {"cluster add demo --user u --password-file /p --vip 10.0.0.1/24 --vip-interface e:1", "--vip-interface:"},
        {"cluster add demo --user u --password-file /p --reader-vips 10.0.0.2/24,10.0.0.2/24 --vip-interface eth0",
         "twice"},
        {"cluster add demo --user u --password-file /p --reader-vips , --vip-interface eth0", "empty list"},
        {"cluster add demo --user u --password-file /p --reader-vips 10.0.0.2/33 --vip-interface eth0",
         "--reader-vips"},
        {"cluster add demo --user u --password-file /p --agent-port 0", "--agent-port"},
        {"cluster add demo --user u --password-file /p --vip-lease-ms 499", "--vip-lease-ms"},
        {"cluster add demo --user u --password-file /p --reader-max-lag-s 0", "--reader-max-lag-s"},
        {"cluster add demo --user u --password-file /p --co-primaries db1:3306",
         "--co-primaries: expected exactly two"},
        {"cluster add demo --user u --password-file /p --co-primaries db1:3306,DB1:3306", "the same server"},
        {"cluster add demo --user u --password-file /p --co-primaries db1:3306,db2:0", "--co-primaries: 'db2:0'"},
        {"cluster add demo --user u --password-file /p --rediscover-interval-s 4", "--rediscover-interval-s: 4 is not"},
        {"cluster add demo --user u --password-file /p --rediscover-interval-s 86401", "--rediscover-interval-s"},
        {"cluster add demo --user u --password-file /p --rediscover-interval-s x", "--rediscover-interval-s"},
        {"cluster add demo --user u --password-file /p --adopt-replicas", "--adopt-replicas needs"},
        {"cluster add demo --user u --password-file /p --adopt-replicas --rediscover-interval-s 0", "needs"},
        {"topology demo --adopt-replicas", "--adopt-replicas"},
        {"cluster discover demo --seed db1:3306 --rediscover-interval-s 5", "--rediscover-interval-s"},
        {"cluster add demo --semi-sync --password-file /p", "--user is required"},
        {"cluster remove demo --semi-sync", "--semi-sync is not valid here"},
        {"instance add demo h:1 --anti-flap-s 5", "--anti-flap-s is not valid here"},
    };
    struct fo_ctl_args a;
    char err[FO_ERRLEN];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse_line(cases[i].line, NULL, &a, err);

        if (rc == 0 || strstr(err, cases[i].needle) == NULL)
            fprintf(stderr, "  case '%s': rc %d, err '%s'\n", cases[i].line, rc, err);
        FO_CHECK_INT(rc, FO_EINVAL);
        FO_CHECK(strstr(err, cases[i].needle) != NULL);
    }
}

static void test_values_bound(void)
{
    struct fo_ctl_args a;
    char err[FO_ERRLEN];

    FO_CHECK_INT(parse_line("instance add demo [::1]:3307 --rule=candidate", NULL, &a, err), 0);
    FO_CHECK_STR(a.cluster, "demo");
    FO_CHECK_STR(a.host, "::1");
    FO_CHECK_INT(a.port, 3307);
    FO_CHECK_INT(a.rule, FO_RULE_PREFER);
    FO_CHECK_INT(parse_line("instance add demo h:1", NULL, &a, err), 0);
    FO_CHECK_INT(a.rule, FO_RULE_NEUTRAL);
    FO_CHECK_INT(parse_line("history --limit 10000", NULL, &a, err), 0);
    FO_CHECK_STR(a.cluster, "");
    FO_CHECK_INT(a.limit, 10000);
    FO_CHECK_INT(parse_line("history", NULL, &a, err), 0);
    FO_CHECK_INT(a.limit, 0);
    FO_CHECK_INT(parse_line("member add 9223372036854775807 10.0.0.1:7101", NULL, &a, err), 0);
    FO_CHECK(a.id == (uint64_t)INT64_MAX);
    FO_CHECK_STR(a.raft_address, "10.0.0.1:7101");
    FO_CHECK_INT(parse_line("member transfer-leader", NULL, &a, err), 0);
    FO_CHECK_INT(a.id, 0);
    FO_CHECK_INT(parse_line("member transfer-leader 3", NULL, &a, err), 0);
    FO_CHECK_INT(a.id, 3);
    FO_CHECK_INT(parse_line("cluster add demo --user fo --password-file /etc/fo/demo.pw", NULL, &a, err), 0);
    FO_CHECK_STR(a.user, "fo");
    FO_CHECK_STR(a.password_file, "/etc/fo/demo.pw");
}

static void test_controller_and_timeout(void)
{
    struct fo_ctl_args a;
    char err[FO_ERRLEN];

    FO_CHECK_INT(parse_line("status", NULL, &a, err), 0);
    FO_CHECK_STR(a.controller, FO_CTL_DEFAULT_CONTROLLER);
    FO_CHECK_INT(a.timeout_ms, FO_CTL_DEFAULT_TIMEOUT_MS);
    FO_CHECK_INT(a.json, 0);
    FO_CHECK_INT(parse_line("status", "", &a, err), 0);
    FO_CHECK_STR(a.controller, FO_CTL_DEFAULT_CONTROLLER);
    FO_CHECK_INT(parse_line("status", "10.0.0.5:7001", &a, err), 0);
    FO_CHECK_STR(a.controller, "10.0.0.5:7001");
    /* The option beats the environment, even a bad environment. */
    FO_CHECK_INT(parse_line("status --controller ctl.example:7002", "nonsense", &a, err), 0);
    FO_CHECK_STR(a.controller, "ctl.example:7002");
    FO_CHECK_INT(parse_line("status", "nonsense", &a, err), FO_EINVAL);
    FO_CHECK(strstr(err, "FAILOVERCTL_CONTROLLER") != NULL);
    FO_CHECK_INT(parse_line("--timeout 250 --json clusters", NULL, &a, err), 0);
    FO_CHECK_INT(a.timeout_ms, 250);
    FO_CHECK_INT(a.json, 1);
}

/* --json is remembered even when parsing fails, so the error can be JSON too. */
static void test_json_survives_errors(void)
{
    struct fo_ctl_args a;
    char err[FO_ERRLEN];

    FO_CHECK_INT(parse_line("--json topology", NULL, &a, err), FO_EINVAL);
    FO_CHECK_INT(a.json, 1);
    FO_CHECK_INT(parse_line("topology", NULL, &a, err), FO_EINVAL);
    FO_CHECK_INT(a.json, 0);
}

/* "--" ends options (cluster names may start with '-'), and a user
 * name with a space (only possible through argv) is refused. */
static void test_dashdash_and_spaces(void)
{
    char *argv1[] = {"failoverctl", "topology", "--", "--json", NULL};
    char *argv2[] = {"failoverctl", "cluster", "add", "demo", "--user", "a b", "--password-file", "/p", NULL};
    char *argv3[] = {"failoverctl", "cluster", "add", "demo", "--user", "u", "--password-file", "/p\n", NULL};
    struct fo_ctl_args a;
    char err[FO_ERRLEN];

    FO_CHECK_INT(fo_ctl_args_parse(&a, 4, argv1, &tls_env, err), 0);
    FO_CHECK_STR(a.cluster, "--json");
    FO_CHECK_INT(a.json, 0);
    FO_CHECK_INT(fo_ctl_args_parse(&a, 8, argv2, &tls_env, err), FO_EINVAL);
    FO_CHECK(strstr(err, "--user") != NULL);
    FO_CHECK_INT(fo_ctl_args_parse(&a, 8, argv3, &tls_env, err), FO_EINVAL);
    FO_CHECK(strstr(err, "control character") != NULL);
}

/* The failover engine's commands carry the right operands into the struct. */
static void test_failover_values_bound(void)
{
    struct fo_ctl_args a;
    char err[FO_ERRLEN];

    FO_CHECK_INT(parse_line("why demo --limit 7", NULL, &a, err), 0);
    FO_CHECK_STR(a.cluster, "demo");
    FO_CHECK_INT(a.limit, 7);
    FO_CHECK_INT(parse_line("why demo", NULL, &a, err), 0);
    FO_CHECK_INT(a.limit, 0);
    FO_CHECK_INT(parse_line("failover demo", NULL, &a, err), 0);
    FO_CHECK_STR(a.target_host, "");
    FO_CHECK_INT(a.target_port, 0);
    FO_CHECK_INT(parse_line("switchover demo --to=[fd00::2]:3307", NULL, &a, err), 0);
    FO_CHECK_STR(a.target_host, "fd00::2");
    FO_CHECK_INT(a.target_port, 3307);
    FO_CHECK_INT(parse_line("recoveries enable", NULL, &a, err), 0);
    FO_CHECK_INT(a.on, 1);
    FO_CHECK_INT(parse_line("recoveries disable", NULL, &a, err), 0);
    FO_CHECK_INT(a.on, 0);
    FO_CHECK_INT(parse_line("maintenance on demo", NULL, &a, err), 0);
    FO_CHECK_INT(a.on, 1);
    FO_CHECK_STR(a.host, "");
    FO_CHECK_INT(a.port, 0);
    FO_CHECK_STR(a.reason, "");
    FO_CHECK_INT(parse_line("maintenance off demo db2:3306 --reason upgraded", NULL, &a, err), 0);
    FO_CHECK_INT(a.on, 0);
    FO_CHECK_STR(a.cluster, "demo");
    FO_CHECK_STR(a.host, "db2");
    FO_CHECK_INT(a.port, 3306);
    FO_CHECK_STR(a.reason, "upgraded");
    FO_CHECK_INT(parse_line("instance rule demo h:1 no_master", NULL, &a, err), 0);
    FO_CHECK_STR(a.host, "h");
    FO_CHECK_INT(a.port, 1);
    FO_CHECK_INT(a.rule, FO_RULE_MUST_NOT);
    FO_CHECK_INT(parse_line("cluster add demo --user u --password-file /p", NULL, &a, err), 0);
    FO_CHECK_STR(a.repl_user, "");
    FO_CHECK_STR(a.repl_password_file, "");
    FO_CHECK_INT(a.semi_sync, 0);
    FO_CHECK_INT(a.anti_flap_s, 0);
    FO_CHECK_INT(a.max_lag_s, 0);
    FO_CHECK_INT(parse_line("cluster add demo --user u --password-file /p --repl-user repl "
                            "--repl-password-file /etc/r.pw --semi-sync --anti-flap-s 600 "
                            "--max-lag-s 30",
                            NULL, &a, err),
                 0);
    FO_CHECK_STR(a.repl_user, "repl");
    FO_CHECK_STR(a.repl_password_file, "/etc/r.pw");
    FO_CHECK_INT(a.semi_sync, 1);
    FO_CHECK_INT(a.anti_flap_s, 600);
    FO_CHECK_INT(a.max_lag_s, 30);
    FO_CHECK_INT(parse_line("cluster add demo --user u --password-file /p --vip 10.0.0.100/24 --vip-interface eth0 "
                            "--reader-vips 10.0.0.101/24,10.0.0.102/24 --reader-max-lag-s 5 --agent-port 7301 "
                            "--vip-lease-ms 1500",
                            NULL, &a, err),
                 0);
    FO_CHECK_STR(a.vip, "10.0.0.100/24");
    FO_CHECK_STR(a.vip_interface, "eth0");
    FO_CHECK_INT(a.n_reader_vips, 2);
    FO_CHECK_STR(a.reader_vips[1], "10.0.0.102/24");
    FO_CHECK_INT(a.reader_max_lag_s, 5);
    FO_CHECK_INT(a.agent_port, 7301);
    FO_CHECK_INT(a.vip_lease_ms, 1500);
    FO_CHECK_STR(a.co_primaries, "");
    FO_CHECK_INT(a.rediscover_interval_s, 0);
    FO_CHECK_INT(a.adopt_replicas, 0);
    FO_CHECK_INT(parse_line("cluster add demo --user u --password-file /p --co-primaries db1:3306,[::1]:3307 "
                            "--rediscover-interval-s 5 --adopt-replicas",
                            NULL, &a, err),
                 0);
    FO_CHECK_STR(a.co_primaries, "db1:3306,[::1]:3307");
    FO_CHECK_INT(a.rediscover_interval_s, 5);
    FO_CHECK_INT(a.adopt_replicas, 1);
}

/* failover and switchover wait for the whole operation: a longer default bound,
 * which --timeout (anywhere on the line) still overrides. */
static void test_failover_timeout(void)
{
    struct fo_ctl_args a;
    char err[FO_ERRLEN];

    FO_CHECK_INT(parse_line("failover demo", NULL, &a, err), 0);
    FO_CHECK_INT(a.timeout_ms, FO_CTL_FAILOVER_TIMEOUT_MS);
    FO_CHECK_INT(a.timeout_ms, 60000);
    FO_CHECK_INT(parse_line("switchover demo", NULL, &a, err), 0);
    FO_CHECK_INT(a.timeout_ms, 60000);
    FO_CHECK_INT(parse_line("--timeout 1500 switchover demo", NULL, &a, err), 0);
    FO_CHECK_INT(a.timeout_ms, 1500);
    FO_CHECK_INT(parse_line("failover demo --timeout=120000", NULL, &a, err), 0);
    FO_CHECK_INT(a.timeout_ms, 120000);
    FO_CHECK_INT(parse_line("why demo", NULL, &a, err), 0);
    FO_CHECK_INT(a.timeout_ms, FO_CTL_DEFAULT_TIMEOUT_MS);
    FO_CHECK_INT(parse_line("ack demo", NULL, &a, err), 0);
    FO_CHECK_INT(a.timeout_ms, FO_CTL_DEFAULT_TIMEOUT_MS);
}

struct reason_case {
    const char *reason;
    const char *needle; /* NULL: accepted */
};

/* --reason is checked as text (characters, UTF-8, controls), built by hand because
 * the cases contain spaces and bytes that split() cannot express. */
static void test_maintenance_reason(void)
{
    static char max_ascii[FO_CTL_MAX_REASON + 1], over_ascii[FO_CTL_MAX_REASON + 2];
    static char max_utf8[FO_CTL_MAX_REASON * 2 + 1], max_4byte[FO_CTL_MAX_REASON * 4 + 1];
    const struct reason_case cases[] = {
        {"disk replacement, ticket OPS-12", NULL},
        {max_ascii, NULL},
        {max_utf8, NULL},  /* 200 x U+00E9: 400 bytes, 200 characters */
        {max_4byte, NULL}, /* 200 x U+1F527: 800 bytes */
        {over_ascii, "at most 200 characters"},
        {"line\nbreak", "control character"},
        {"tab\there", "control character"},
        {"del\x7f", "control character"},
        {"c1 \xc2\x85 next line", "control character"},
        {"\xff", "not valid UTF-8"},
        {"overlong \xc0\xaf", "not valid UTF-8"},
        {"overlong \xe0\x80\xaf", "not valid UTF-8"},
        {"surrogate \xed\xa0\x80", "not valid UTF-8"},
        {"too big \xf4\x90\x80\x80", "not valid UTF-8"},
        {"truncated \xe2\x82", "not valid UTF-8"},
        {"stray \x80", "not valid UTF-8"},
        {"euro \xe2\x82\xac ok", NULL},
    };
    char *argv[] = {"failoverctl", "maintenance", "on", "demo", "--reason", NULL, NULL};
    struct fo_ctl_args a;
    char err[FO_ERRLEN];
    size_t i;
    int rc;

    memset(max_ascii, 'r', FO_CTL_MAX_REASON);
    memset(over_ascii, 'r', FO_CTL_MAX_REASON + 1);
    for (i = 0; i < FO_CTL_MAX_REASON; i++) {
        memcpy(max_utf8 + 2 * i, "\xc3\xa9", 2);
        memcpy(max_4byte + 4 * i, "\xf0\x9f\x94\xa7", 4);
    }
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        argv[5] = (char *)cases[i].reason;
        err[0] = '\0';
        rc = fo_ctl_args_parse(&a, 6, argv, &tls_env, err);
        if ((rc == 0) != (cases[i].needle == NULL) || (cases[i].needle != NULL && strstr(err, cases[i].needle) == NULL))
            fprintf(stderr, "  reason case %zu: rc %d, err '%s'\n", i, rc, err);
        if (cases[i].needle == NULL) {
            FO_CHECK_INT(rc, 0);
            FO_CHECK_STR(a.reason, cases[i].reason);
        } else {
            FO_CHECK_INT(rc, FO_EINVAL);
            FO_CHECK(strstr(err, cases[i].needle) != NULL);
        }
    }
}

static void test_write_commands(void)
{
    static const enum fo_ctl_cmd writes[] = {
        FO_CTL_CLUSTER_ADD, FO_CTL_MEMBER_TRANSFER, FO_CTL_FAILOVER,    FO_CTL_SWITCHOVER,
        FO_CTL_ACK,         FO_CTL_RECOVERIES,      FO_CTL_MAINTENANCE, FO_CTL_INSTANCE_RULE,
    };
    size_t i;

    for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) FO_CHECK(fo_ctl_cmd_is_write(writes[i]));
    FO_CHECK(!fo_ctl_cmd_is_write(FO_CTL_STATUS));
    FO_CHECK(!fo_ctl_cmd_is_write(FO_CTL_HISTORY));
    FO_CHECK(!fo_ctl_cmd_is_write(FO_CTL_WHY));
    FO_CHECK(strstr(fo_ctl_usage(), "Exit codes") != NULL);
    FO_CHECK(strstr(fo_ctl_usage(), "why CLUSTER") != NULL);
    FO_CHECK(strstr(fo_ctl_usage(), "maintenance on|off") != NULL);
    FO_CHECK(strstr(fo_ctl_usage(), "--anti-flap-s") != NULL);
}

struct transport_case {
    const char *line;
    struct fo_ctl_env env;
    const char *needle; /* NULL: accepted */
    int insecure;       /* when accepted */
    const char *ca, *cert, *key;
};

/* --ca/--cert/--key/--insecure and their FAILOVERCTL_* defaults: the command line
 * beats the environment, TLS files come complete or not at all, and without TLS files
 * or --insecure nothing but help is accepted. */
static void test_transport(void)
{
#define ENV_NONE                     \
    {                                \
        NULL, NULL, NULL, NULL, NULL \
    }
#define ENV_TLS                                  \
    {                                            \
        NULL, "/e/ca", "/e/cert", "/e/key", NULL \
    }
#define ENV_INSECURE(v)           \
    {                             \
        NULL, NULL, NULL, NULL, v \
    }
    static const struct transport_case cases[] = {
        /* accepted */
        {"status --ca /o/ca --cert /o/cert --key /o/key", ENV_NONE, NULL, 0, "/o/ca", "/o/cert", "/o/key"},
        {"--ca=ca.pem --cert=c.pem --key=k.pem clusters", ENV_NONE, NULL, 0, "ca.pem", "c.pem", "k.pem"},
        {"status", ENV_TLS, NULL, 0, "/e/ca", "/e/cert", "/e/key"},
        {"status --cert /o/cert", ENV_TLS, NULL, 0, "/e/ca", "/o/cert", "/e/key"},
        {"topology demo --key /o/key --ca /o/ca", ENV_TLS, NULL, 0, "/o/ca", "/e/cert", "/o/key"},
        {"status --insecure", ENV_NONE, NULL, 1, "", "", ""},
        {"--insecure --json why demo", ENV_NONE, NULL, 1, "", "", ""},
        {"status --insecure", ENV_TLS, NULL, 1, "", "", ""}, /* the option beats the files */
        {"status", ENV_INSECURE("1"), NULL, 1, "", "", ""},
        {"status", ENV_INSECURE("yes"), NULL, 1, "", "", ""},
        {"status", ENV_INSECURE("true"), NULL, 1, "", "", ""},
        {"status --ca /o/ca --cert /o/cert --key /o/key", ENV_INSECURE("1"), NULL, 0, "/o/ca", "/o/cert", "/o/key"},
        {"status", {NULL, "/e/ca", "/e/cert", "/e/key", "0"}, NULL, 0, "/e/ca", "/e/cert", "/e/key"},
        {"status", {NULL, "/e/ca", "/e/cert", "/e/key", ""}, NULL, 0, "/e/ca", "/e/cert", "/e/key"},
        {"help", ENV_NONE, NULL, 0, "", "", ""},
        {"--help", ENV_NONE, NULL, 0, "", "", ""},
        /* refused */
        {"status", ENV_NONE, "no TLS credentials", 0, NULL, NULL, NULL},
        {"status", ENV_INSECURE("0"), "no TLS credentials", 0, NULL, NULL, NULL},
        {"status", {NULL, "", "", "", ""}, "no TLS credentials", 0, NULL, NULL, NULL},
        {"status --ca /o/ca", ENV_NONE, "missing --cert (or FAILOVERCTL_CERT)", 0, NULL, NULL, NULL},
        {"status --ca /o/ca --cert /o/cert", ENV_NONE, "missing --key (or FAILOVERCTL_KEY)", 0, NULL, NULL, NULL},
        {"status", {NULL, "/e/ca", NULL, "/e/key", NULL}, "missing --cert", 0, NULL, NULL, NULL},
        {"status --insecure --ca /o/ca", ENV_NONE, "exclude each other", 0, NULL, NULL, NULL},
        {"status --key /o/key --insecure", ENV_TLS, "exclude each other", 0, NULL, NULL, NULL},
        {"status", {NULL, "/e/ca", "/e/cert", "/e/key", "1"}, "both set", 0, NULL, NULL, NULL},
        {"status", ENV_INSECURE("maybe"), "FAILOVERCTL_INSECURE: 'maybe'", 0, NULL, NULL, NULL},
        {"status --insecure=yes", ENV_NONE, "takes no value", 0, NULL, NULL, NULL},
        {"status --ca", ENV_NONE, "--ca needs a value", 0, NULL, NULL, NULL},
        {"status --ca= --cert c --key k", ENV_NONE, "--ca: must not be empty", 0, NULL, NULL, NULL},
        {"status --ca a --ca b --cert c --key k", ENV_NONE, "more than once", 0, NULL, NULL, NULL},
        {"status --cert --json", ENV_TLS, "--cert needs a value", 0, NULL, NULL, NULL},
        /* a bad command is named before missing credentials */
        {"bogus", ENV_NONE, "unknown command 'bogus'", 0, NULL, NULL, NULL},
    };
#undef ENV_NONE
#undef ENV_TLS
#undef ENV_INSECURE
    struct fo_ctl_args a;
    char err[FO_ERRLEN];
    size_t i;
    int rc;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct transport_case *t = &cases[i];

        rc = parse_env(t->line, &t->env, &a, err);
        if ((rc == 0) != (t->needle == NULL) || (t->needle != NULL && strstr(err, t->needle) == NULL))
            fprintf(stderr, "  transport case %zu '%s': rc %d, err '%s'\n", i, t->line, rc, err);
        if (t->needle != NULL) {
            FO_CHECK_INT(rc, FO_EINVAL);
            FO_CHECK(strstr(err, t->needle) != NULL);
            continue;
        }
        FO_CHECK_INT(rc, 0);
        FO_CHECK_INT(a.insecure, t->insecure);
        FO_CHECK_STR(a.ca_file, t->ca);
        FO_CHECK_STR(a.cert_file, t->cert);
        FO_CHECK_STR(a.key_file, t->key);
    }
}

/* A control character in a TLS file name (only possible through argv or the
 * environment) is refused, and so is a name longer than a path can be. */
static void test_transport_paths(void)
{
    static char long_path[FO_PATH_LEN + 8];
    char *argv1[] = {"failoverctl", "status", "--ca", "/a\nb", "--cert", "c", "--key", "k", NULL};
    char *argv2[] = {"failoverctl", "status", "--ca", long_path, "--cert", "c", "--key", "k", NULL};
    struct fo_ctl_env env = {NULL, "/e/ca", "/e/ce\trt", "/e/key", NULL};
    struct fo_ctl_args a;
    char err[FO_ERRLEN];

    memset(long_path, 'p', sizeof(long_path) - 1);
    FO_CHECK_INT(fo_ctl_args_parse(&a, 8, argv1, NULL, err), FO_EINVAL);
    FO_CHECK(strstr(err, "--ca: contains a control character") != NULL);
    FO_CHECK_INT(fo_ctl_args_parse(&a, 8, argv2, NULL, err), FO_EINVAL);
    FO_CHECK(strstr(err, "--ca is too long") != NULL);
    FO_CHECK_INT(parse_env("status", &env, &a, err), FO_EINVAL);
    FO_CHECK(strstr(err, "FAILOVERCTL_CERT: contains a control character") != NULL);
    /* --json is still known when the transport is what failed. */
    FO_CHECK_INT(parse_env("--json status", NULL, &a, err), FO_EINVAL);
    FO_CHECK_INT(a.json, 1);
    FO_CHECK(strstr(fo_ctl_usage(), "--insecure") != NULL);
    FO_CHECK(strstr(fo_ctl_usage(), "$FAILOVERCTL_CA") != NULL);
}

FO_TEST_MAIN(FO_T(test_commands_parse), FO_T(test_bad_arguments), FO_T(test_values_bound),
             FO_T(test_controller_and_timeout), FO_T(test_json_survives_errors), FO_T(test_dashdash_and_spaces),
             FO_T(test_failover_values_bound), FO_T(test_failover_timeout), FO_T(test_maintenance_reason),
             FO_T(test_write_commands), FO_T(test_transport), FO_T(test_transport_paths))
