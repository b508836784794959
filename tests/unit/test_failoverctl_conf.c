/* failoverctl's configuration files (client/conf.c) and how their values rank
 * against the environment and the command line (client/args.c), the controller list,
 * and the per-command help. Both modules are compiled in here directly: client/ is
 * not a library. Files are written into a temporary directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../client/args.c"
#include "../../client/conf.c"
#include "fo_test.h"

static char tmpdir[64];

static const char *write_file(const char *name, const char *text)
{
    static char path[2][128];
    static int which;
    char *p = path[which ^= 1];
    FILE *f;

    snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
    f = fopen(p, "w");
    FO_CHECK(f != NULL);
    if (f == NULL) return p;
    fputs(text, f);
    fclose(f);
    return p;
}

static int make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/fo-ctlconf-XXXXXX");
    return mkdtemp(tmpdir) != NULL;
}

static void test_missing_file_is_no_error(void)
{
    struct fo_ctl_conf c;
    char err[FO_ERRLEN] = "";

    memset(&c, 0, sizeof(c));
    FO_CHECK_INT(fo_ctl_conf_load(&c, "/nonexistent/failoverctl.conf", err), 0);
    FO_CHECK_STR(c.controller, "");
    /* A directory is not a file: reading it fails, and says which. */
    FO_CHECK(fo_ctl_conf_load(&c, "/", err) != 0);
    FO_CHECK(strstr(err, "/") != NULL);
}

/* The user file replaces the system file key by key. */
static void test_user_file_overrides_system_file(void)
{
    const char *sys = write_file("system.conf", "; system defaults\n"
                                                "[failoverctl]\n"
                                                "controller = 10.0.0.11:7001, 10.0.0.12:7001\n"
                                                "ca = /etc/failoverd/tls/ca.crt\n"
                                                "cert = /etc/failoverd/tls/client.crt\n"
                                                "key = /etc/failoverd/tls/client.key\n"
                                                "connect_timeout_ms = 700\n");
    const char *user = write_file("user.conf", "[failoverctl]\n"
                                               "# only my own certificate\n"
                                               "cert = /home/dba/.failoverd/me.crt\n"
                                               "key = /home/dba/.failoverd/me.key\n");
    struct fo_ctl_conf c;
    char err[FO_ERRLEN] = "";

    memset(&c, 0, sizeof(c));
    FO_CHECK_INT(fo_ctl_conf_load(&c, sys, err), 0);
    FO_CHECK_INT(fo_ctl_conf_load(&c, user, err), 0);
    FO_CHECK_STR(c.controller, "10.0.0.11:7001, 10.0.0.12:7001");
    FO_CHECK_STR(c.ca, "/etc/failoverd/tls/ca.crt");
    FO_CHECK_STR(c.cert, "/home/dba/.failoverd/me.crt");
    FO_CHECK_STR(c.key, "/home/dba/.failoverd/me.key");
    FO_CHECK_STR(c.connect_timeout, "700");
    FO_CHECK_STR(c.insecure, "");
}

static void test_bad_files(void)
{
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"[failoverctl]\ncontroler = 1.2.3.4:7001\n", ":2: [failoverctl] controler: unknown key"},
        {"[failoverd]\nnode_id = 1\n", ":2: [failoverd]: unknown section"},
        {"controller = 1.2.3.4:7001\n", ":1: []: unknown section"},
        {"[failoverctl]\nca = /a\n\nca = /b\n", ":4: [failoverctl] ca: given twice"},
        {"[failoverctl]\nca = /a\tb\n", "ca: contains a control character"},
        {"[failoverctl]\nthis line is not ini\n", ":2: syntax error"},
        {"[failoverctl]\ninsecure = maybe-not-quite-sure\n", "insecure: too long"},
    };
    struct fo_ctl_conf c;
    char err[FO_ERRLEN];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *path = write_file("bad.conf", cases[i].text);

        memset(&c, 0, sizeof(c));
        err[0] = '\0';
        FO_CHECK_INT(fo_ctl_conf_load(&c, path, err), FO_ECONFIG);
        if (strstr(err, cases[i].needle) == NULL || strstr(err, path) == NULL)
            fprintf(stderr, "  case %zu: err '%s', wanted '%s'\n", i, err, cases[i].needle);
        FO_CHECK(strstr(err, cases[i].needle) != NULL);
        FO_CHECK(strstr(err, path) != NULL);
    }
}

static void test_user_path(void)
{
    char out[FO_PATH_LEN];

    FO_CHECK_INT(fo_ctl_conf_user_path("/home/dba", out, sizeof(out)), 0);
    FO_CHECK_STR(out, "/home/dba/.config/failoverctl.conf");
    FO_CHECK_INT(fo_ctl_conf_user_path(NULL, out, sizeof(out)), FO_EINVAL);
    FO_CHECK_INT(fo_ctl_conf_user_path("", out, sizeof(out)), FO_EINVAL);
    FO_CHECK_INT(fo_ctl_conf_user_path("relative", out, sizeof(out)), FO_EINVAL);
    FO_CHECK_INT(fo_ctl_conf_user_path("/home/dba", out, 10), FO_EINVAL);
}

/* ------------------------------------------------------------ precedence */

#define MAX_ARGV 16

static int parse(const char *line, const struct fo_ctl_env *env, const struct fo_ctl_files *files,
                 struct fo_ctl_args *a, char *err)
{
    char copy[256], *argv[MAX_ARGV], *tok, *save = NULL;
    int argc = 1;

    snprintf(copy, sizeof(copy), "%s", line);
    argv[0] = "failoverctl";
    for (tok = strtok_r(copy, " ", &save); tok != NULL && argc < MAX_ARGV - 1; tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    err[0] = '\0';
    return fo_ctl_args_parse_files(a, argc, argv, env, files, err);
}

static void test_precedence(void)
{
    static const struct fo_ctl_env no_env = {NULL, NULL, NULL, NULL, NULL};
    static const struct fo_ctl_env env_ctl = {"10.9.9.9:7001", NULL, NULL, NULL, NULL};
    static const struct fo_ctl_env env_tls = {NULL, "/e/ca", "/e/cert", "/e/key", NULL};
    static const struct fo_ctl_env env_secure = {NULL, NULL, NULL, NULL, "0"};
    static const struct fo_ctl_files f_tls = {
        "10.0.0.11:7001,10.0.0.12:7001", "250", "/f/ca", "/f/cert", "/f/key", NULL};
    static const struct fo_ctl_files f_insecure = {"127.0.0.1:7001", NULL, NULL, NULL, NULL, "yes"};
    static const struct fo_ctl_files f_both = {NULL, NULL, "/f/ca", NULL, NULL, "yes"};
    static const struct fo_ctl_files f_half = {NULL, NULL, "/f/ca", "/f/cert", NULL, NULL};
    static const struct fo_ctl_files f_badctl = {"10.0.0.11", NULL, NULL, NULL, NULL, "yes"};
    static const struct fo_ctl_files f_badto = {NULL, "0", NULL, NULL, NULL, "yes"};
    struct fo_ctl_args a;
    char err[FO_ERRLEN];

    /* Files alone: everything from them. */
    FO_CHECK_INT(parse("status", &no_env, &f_tls, &a, err), 0);
    FO_CHECK_INT(a.n_controllers, 2);
    FO_CHECK_STR(a.controllers[1], "10.0.0.12:7001");
    FO_CHECK_STR(a.controller, "10.0.0.11:7001");
    FO_CHECK_INT(a.connect_timeout_ms, 250);
    FO_CHECK_STR(a.ca_file, "/f/ca");
    FO_CHECK_INT(a.insecure, 0);
    /* The environment beats the files: controller, and the transport as a whole. */
    FO_CHECK_INT(parse("status", &env_ctl, &f_tls, &a, err), 0);
    FO_CHECK_INT(a.n_controllers, 1);
    FO_CHECK_STR(a.controller, "10.9.9.9:7001");
    FO_CHECK_INT(parse("status", &env_tls, &f_insecure, &a, err), 0);
    FO_CHECK_INT(a.insecure, 0);
    FO_CHECK_STR(a.cert_file, "/e/cert");
    FO_CHECK_STR(a.controller, "127.0.0.1:7001");
    /* FAILOVERCTL_INSECURE=0 means TLS even when a file says insecure. */
    FO_CHECK_INT(parse("status", &env_secure, &f_insecure, &a, err), FO_EINVAL);
    FO_CHECK(strstr(err, "no TLS credentials") != NULL);
    /* Options beat both. */
    FO_CHECK_INT(parse("status --controller 10.1.1.1:7001 --connect-timeout 99 --insecure", &env_ctl, &f_tls, &a, err),
                 0);
    FO_CHECK_STR(a.controller, "10.1.1.1:7001");
    FO_CHECK_INT(a.connect_timeout_ms, 99);
    FO_CHECK_INT(a.insecure, 1);
    /* Built-in defaults without any layer. */
    FO_CHECK_INT(parse("status --insecure", &no_env, NULL, &a, err), 0);
    FO_CHECK_STR(a.controller, FO_CTL_DEFAULT_CONTROLLER);
    FO_CHECK_INT(a.connect_timeout_ms, FO_CTL_DEFAULT_CONNECT_TIMEOUT_MS);
    /* The files' insecure alone is enough. */
    FO_CHECK_INT(parse("clusters", &no_env, &f_insecure, &a, err), 0);
    FO_CHECK_INT(a.insecure, 1);
    /* Bad file values are named as such. */
    FO_CHECK_INT(parse("status", &no_env, &f_both, &a, err), FO_EINVAL);
    FO_CHECK(strstr(err, "failoverctl.conf: insecure = yes and ca/cert/key") != NULL);
    FO_CHECK_INT(parse("status", &no_env, &f_half, &a, err), FO_EINVAL);
    FO_CHECK(strstr(err, "failoverctl.conf key: missing") != NULL);
    FO_CHECK_INT(parse("status", &no_env, &f_badctl, &a, err), FO_EINVAL);
    FO_CHECK(strstr(err, "failoverctl.conf controller") != NULL);
    FO_CHECK_INT(parse("status", &no_env, &f_badto, &a, err), FO_EINVAL);
    FO_CHECK(strstr(err, "failoverctl.conf connect_timeout_ms") != NULL);
    /* help needs nothing from any layer, even a broken one. */
    FO_CHECK_INT(parse("help", &no_env, &f_both, &a, err), 0);
}

static void test_controller_lists(void)
{
    static const struct {
        const char *line, *needle;
        unsigned n;
    } cases[] = {
        {"--controller 10.0.0.1:7001 status", NULL, 1},
        {"--controller 10.0.0.1:7001,10.0.0.2:7001,db-ctl3:7001 status", NULL, 3},
        {"--controller=10.0.0.1:7001,,10.0.0.2:7001 status", "empty entry", 0},
        {"--controller 10.0.0.1:7001,10.0.0.1:7001 status", "listed twice", 0},
        {"--controller 10.0.0.1:7001, status", "empty entry", 0},
        {"--controller 10.0.0.1 status", "--controller", 0},
        {"--controller 1.0.0.1:1,1.0.0.2:1,1.0.0.3:1,1.0.0.4:1,1.0.0.5:1,1.0.0.6:1,1.0.0.7:1,1.0.0.8:1,1.0.0.9:1,"
         "1.0.0.10:1,1.0.0.11:1,1.0.0.12:1,1.0.0.13:1,1.0.0.14:1,1.0.0.15:1,1.0.0.16:1,1.0.0.17:1 status",
         "more than 16 controllers", 0},
    };
    static const struct fo_ctl_env env = {NULL, NULL, NULL, NULL, "1"};
    struct fo_ctl_args a;
    char err[FO_ERRLEN];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse(cases[i].line, &env, NULL, &a, err);

        if (cases[i].needle == NULL) {
            FO_CHECK_INT(rc, 0);
            FO_CHECK_INT(a.n_controllers, cases[i].n);
        } else {
            FO_CHECK_INT(rc, FO_EINVAL);
            if (strstr(err, cases[i].needle) == NULL) fprintf(stderr, "  case %zu: err '%s'\n", i, err);
            FO_CHECK(strstr(err, cases[i].needle) != NULL);
        }
    }
}

/* ------------------------------------------------------------ help */

static void test_help_per_command(void)
{
    static const struct {
        const char *line, *needle, *absent;
    } cases[] = {
        {"help", "Exit codes:", NULL},
        {"--help", "Supported servers: MariaDB 10.11", NULL},
        {"help events", "--follow", "Exit codes:"},
        {"events --help", "poll period", NULL},
        {"help switchover", "switchover CLUSTER [--to HOST:PORT]", "failover CLUSTER"},
        {"switchover orders --help", "Planned change", NULL},
        {"help recoveries", "recoveries disable", NULL},
        {"recoveries enable --help", "recoveries enable", "recoveries disable"},
        {"help cluster add", "--reader-vips", "cluster remove"},
        {"cluster --help", "cluster remove", NULL},
        {"nonsense --help", "Exit codes:", NULL}, /* an unknown word: the general help */
    };
    static const struct fo_ctl_env env = {NULL, NULL, NULL, NULL, NULL};
    static char text[16384];
    struct fo_ctl_args a;
    char err[FO_ERRLEN];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FO_CHECK_INT(parse(cases[i].line, &env, NULL, &a, err), 0);
        FO_CHECK_INT(a.cmd, FO_CTL_HELP);
        FO_CHECK_INT(fo_ctl_help_text(&a, text, sizeof(text)), 0);
        if (strstr(text, cases[i].needle) == NULL || (cases[i].absent && strstr(text, cases[i].absent)))
            fprintf(stderr, "  case '%s': text:\n%s\n", cases[i].line, text);
        FO_CHECK(strstr(text, cases[i].needle) != NULL);
        if (cases[i].absent != NULL) FO_CHECK(strstr(text, cases[i].absent) == NULL);
    }
    FO_CHECK_INT(parse("help nonsense", &env, NULL, &a, err), FO_EINVAL);
    FO_CHECK(strstr(err, "unknown command 'nonsense'") != NULL);
    FO_CHECK_INT(parse("help member nonsense", &env, NULL, &a, err), FO_EINVAL);
    FO_CHECK(strstr(err, "unknown subcommand 'member nonsense'") != NULL);
    FO_CHECK_INT(parse("--version", &env, NULL, &a, err), 0);
    FO_CHECK_INT(a.cmd, FO_CTL_VERSION);
}

static void test_events_options(void)
{
    static const struct fo_ctl_env env = {NULL, NULL, NULL, NULL, "1"};
    struct fo_ctl_args a;
    char err[FO_ERRLEN];

    FO_CHECK_INT(parse("events", &env, NULL, &a, err), 0);
    FO_CHECK_INT(a.cmd, FO_CTL_EVENTS);
    FO_CHECK_INT(a.follow, 0);
    FO_CHECK_INT(a.limit, FO_CTL_DEFAULT_EVENTS);
    FO_CHECK_INT(a.interval_ms, FO_CTL_DEFAULT_INTERVAL_MS);
    FO_CHECK(fo_ctl_cmd_is_idempotent(a.cmd));
    FO_CHECK_INT(parse("events orders --follow --interval 200 --limit 3", &env, NULL, &a, err), 0);
    FO_CHECK_STR(a.cluster, "orders");
    FO_CHECK_INT(a.follow, 1);
    FO_CHECK_INT(a.interval_ms, 200);
    FO_CHECK_INT(a.limit, 3);
    FO_CHECK_INT(parse("events --follow --interval 50", &env, NULL, &a, err), FO_EINVAL);
    FO_CHECK(strstr(err, "--interval") != NULL);
    FO_CHECK_INT(parse("history --follow", &env, NULL, &a, err), FO_EINVAL);
    FO_CHECK(strstr(err, "--follow is not valid here") != NULL);
    FO_CHECK(!fo_ctl_cmd_is_idempotent(FO_CTL_FAILOVER));
    FO_CHECK(!fo_ctl_cmd_is_idempotent(FO_CTL_MEMBER_ADD));
}

static void test_setup(void)
{
    FO_CHECK(make_tmpdir());
}

static void test_cleanup(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    FO_CHECK_INT(system(cmd), 0);
}

FO_TEST_MAIN(FO_T(test_setup), FO_T(test_missing_file_is_no_error), FO_T(test_user_file_overrides_system_file),
             FO_T(test_bad_files), FO_T(test_user_path), FO_T(test_precedence), FO_T(test_controller_lists),
             FO_T(test_help_per_command), FO_T(test_events_options), FO_T(test_cleanup))
