/* failoverctl's argument parsing (client/args.c), which is pure and compiled in here
 * directly: fo_core does not contain client/. */
#include <stdint.h>
#include <string.h>

#include "../../client/args.c"
#include "fo_test.h"

#define MAX_ARGV 16

/* Splits a space-separated command line into argv (argv[0] = "failoverctl"). Tests
 * needing a space inside one argument build argv by hand. */
static int split(char *line, char *argv[MAX_ARGV])
{
    int argc = 0;
    char *save = NULL, *tok;

    argv[argc++] = "failoverctl";
    for (tok = strtok_r(line, " ", &save); tok != NULL && argc < MAX_ARGV - 1;
         tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    return argc;
}

static int parse_line(const char *line, const char *env, struct fo_ctl_args *a, char *err)
{
    char copy[512], *argv[MAX_ARGV];
    int argc;

    snprintf(copy, sizeof(copy), "%s", line);
    argc = split(copy, argv);
    err[0] = '\0';
    return fo_ctl_args_parse(a, argc, argv, env, err);
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
        {"help me", "unexpected argument 'me'"},
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
    FO_CHECK_INT(
        parse_line("cluster add demo --user fo --password-file /etc/fo/demo.pw", NULL, &a, err), 0);
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
    char *argv2[] = {"failoverctl", "cluster", "add", "demo", "--user", "a b",
                     "--password-file", "/p", NULL};
    char *argv3[] = {"failoverctl", "cluster", "add", "demo", "--user", "u",
                     "--password-file", "/p\n", NULL};
    struct fo_ctl_args a;
    char err[FO_ERRLEN];

    FO_CHECK_INT(fo_ctl_args_parse(&a, 4, argv1, NULL, err), 0);
    FO_CHECK_STR(a.cluster, "--json");
    FO_CHECK_INT(a.json, 0);
    FO_CHECK_INT(fo_ctl_args_parse(&a, 8, argv2, NULL, err), FO_EINVAL);
    FO_CHECK(strstr(err, "--user") != NULL);
    FO_CHECK_INT(fo_ctl_args_parse(&a, 8, argv3, NULL, err), FO_EINVAL);
    FO_CHECK(strstr(err, "control character") != NULL);
}

static void test_write_commands(void)
{
    FO_CHECK(fo_ctl_cmd_is_write(FO_CTL_CLUSTER_ADD));
    FO_CHECK(fo_ctl_cmd_is_write(FO_CTL_MEMBER_TRANSFER));
    FO_CHECK(!fo_ctl_cmd_is_write(FO_CTL_STATUS));
    FO_CHECK(!fo_ctl_cmd_is_write(FO_CTL_HISTORY));
    FO_CHECK(strstr(fo_ctl_usage(), "Exit codes") != NULL);
}

FO_TEST_MAIN(FO_T(test_commands_parse), FO_T(test_bad_arguments), FO_T(test_values_bound),
             FO_T(test_controller_and_timeout), FO_T(test_json_survives_errors),
             FO_T(test_dashdash_and_spaces), FO_T(test_write_commands))
