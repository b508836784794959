/* Unit tests for controller/decide/flavour.c (issue 15.6): real version strings as
 * servers print them in @@version or the handshake, and the cluster refusal. */
#include <stdio.h>
#include <string.h>

#include "controller/decide/flavour.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define SUPPORTS " (failoverd supports MariaDB 10.6 to 11.x; "

struct flavour_case {
    const char *version;
    enum fo_flavour_family family;
    bool supported;
    const char *name;
    const char *problem; /* "" when supported */
};

static const struct flavour_case flavour_cases[] = {
    {"10.11.6-MariaDB-0+deb12u1-log", FO_FLAVOUR_MARIADB, true, "MariaDB 10.11.6", ""},
    {"10.11.6-MariaDB-0+deb12u1", FO_FLAVOUR_MARIADB, true, "MariaDB 10.11.6", ""},
    {"10.6.16-MariaDB-log", FO_FLAVOUR_MARIADB, true, "MariaDB 10.6.16", ""},
    {"11.4.2-MariaDB", FO_FLAVOUR_MARIADB, true, "MariaDB 11.4.2", ""},
    {"11.8.3-MariaDB-ubu2404", FO_FLAVOUR_MARIADB, true, "MariaDB 11.8.3", ""},
    /* MariaDB before 11.0 sends this in the handshake (for clients of MySQL 5.5). */
    {"5.5.5-10.11.6-MariaDB", FO_FLAVOUR_MARIADB, true, "MariaDB 10.11.6", ""},
    {"5.5.5-10.5.23-MariaDB", FO_FLAVOUR_MARIADB, false, "MariaDB 10.5.23",
     "unsupported server: MariaDB 10.5.23" SUPPORTS "MariaDB before 10.6 is not supported)"},
    {"10.5.23-MariaDB", FO_FLAVOUR_MARIADB, false, "MariaDB 10.5.23",
     "unsupported server: MariaDB 10.5.23" SUPPORTS "MariaDB before 10.6 is not supported)"},
    {"5.5.68-MariaDB", FO_FLAVOUR_MARIADB, false, "MariaDB 5.5.68",
     "unsupported server: MariaDB 5.5.68" SUPPORTS "MariaDB before 10.6 is not supported)"},
    {"12.0.2-MariaDB", FO_FLAVOUR_MARIADB, false, "MariaDB 12.0.2",
     "unsupported server: MariaDB 12.0.2" SUPPORTS "MariaDB 12 and later are not tested yet)"},
    {"10.11.6-mariadb", FO_FLAVOUR_MARIADB, true, "MariaDB 10.11.6", ""},
    {"8.0.36", FO_FLAVOUR_MYSQL, false, "MySQL 8.0.36",
     "unsupported server: MySQL 8.0.36" SUPPORTS "MySQL 5.7/8.x is not supported yet)"},
    {"5.7.44-log", FO_FLAVOUR_MYSQL, false, "MySQL 5.7.44",
     "unsupported server: MySQL 5.7.44" SUPPORTS "MySQL 5.7/8.x is not supported yet)"},
    {"8.4.0", FO_FLAVOUR_MYSQL, false, "MySQL 8.4.0",
     "unsupported server: MySQL 8.4.0" SUPPORTS "MySQL 5.7/8.x is not supported yet)"},
    {"8.0.36-0ubuntu0.22.04.1", FO_FLAVOUR_MYSQL, false, "MySQL 8.0.36",
     "unsupported server: MySQL 8.0.36" SUPPORTS "MySQL 5.7/8.x is not supported yet)"},
    {"8.0.36-28", FO_FLAVOUR_PERCONA, false, "Percona Server 8.0.36-28",
     "unsupported server: Percona Server 8.0.36-28" SUPPORTS "Percona Server is not supported yet)"},
    {"5.7.44-48-log", FO_FLAVOUR_PERCONA, false, "Percona Server 5.7.44-48",
     "unsupported server: Percona Server 5.7.44-48" SUPPORTS "Percona Server is not supported yet)"},
    {"", FO_FLAVOUR_UNKNOWN, false, "server without a version",
     "unsupported server: server without a version" SUPPORTS
     "a server whose version failoverd cannot read is not acted on)"},
    {NULL, FO_FLAVOUR_UNKNOWN, false, "server without a version",
     "unsupported server: server without a version" SUPPORTS
     "a server whose version failoverd cannot read is not acted on)"},
    {"garbage", FO_FLAVOUR_UNKNOWN, false, "unrecognised server version \"garbage\"",
     "unsupported server: unrecognised server version \"garbage\"" SUPPORTS
     "a server whose version failoverd cannot read is not acted on)"},
    /* No server prints a MariaDB number without "-MariaDB": not guessed. */
    {"10.11.6", FO_FLAVOUR_UNKNOWN, false, "unrecognised server version \"10.11.6\"", NULL},
    {"10.11", FO_FLAVOUR_UNKNOWN, false, "unrecognised server version \"10.11\"", NULL},
    {"8", FO_FLAVOUR_UNKNOWN, false, "unrecognised server version \"8\"", NULL},
    {"8.0.36x", FO_FLAVOUR_UNKNOWN, false, "unrecognised server version \"8.0.36x\"", NULL},
    {"-8.0.36", FO_FLAVOUR_UNKNOWN, false, "unrecognised server version \"-8.0.36\"", NULL},
    {" 10.11.6-MariaDB", FO_FLAVOUR_UNKNOWN, false, "unrecognised server version \" 10.11.6-MariaDB\"", NULL},
    {"99999999999999999999.1.1-MariaDB", FO_FLAVOUR_UNKNOWN, false,
     "unrecognised server version \"99999999999999999999.1.1-MariaDB\"", NULL},
    /* Control bytes: not a part we know, and never copied into a message. */
    {"10.11.6-MariaDB\n\x1b[31m", FO_FLAVOUR_UNKNOWN, false, "unrecognised server version \"10.11.6-MariaDB??[31m\"",
     NULL},
    {"ab\"c\nd", FO_FLAVOUR_UNKNOWN, false, "unrecognised server version \"ab?c?d\"", NULL},
};

static void test_classify(void)
{
    char problem[256];
    unsigned i;

    for (i = 0; i < N_ELEMS(flavour_cases); i++) {
        const struct flavour_case *c = &flavour_cases[i];
        struct fo_flavour f;
        memset(&f, 0x5a, sizeof(f));
        fo_flavour_classify(c->version, &f);
        fo_flavour_problem(&f, problem, sizeof(problem));
        if (f.family != c->family || f.supported != c->supported || strcmp(f.name, c->name) != 0 ||
            (c->problem != NULL && strcmp(problem, c->problem) != 0))
            fprintf(stderr, "  case \"%s\": family %s supported %d name \"%s\" problem \"%s\"\n",
                    c->version ? c->version : "(null)", fo_flavour_family_name(f.family), f.supported, f.name, problem);
        FO_CHECK_INT(f.family, c->family);
        FO_CHECK_INT(f.supported, c->supported);
        FO_CHECK_STR(f.name, c->name);
        if (c->problem != NULL) FO_CHECK_STR(problem, c->problem);
        FO_CHECK_INT(problem[0] == '\0', c->supported);
    }
}

/* A version of the longest form is cut in the name, never overrun. */
static void test_long_version(void)
{
    char v[200], problem[64];
    struct fo_flavour f;

    memset(v, 'x', sizeof(v) - 1);
    v[sizeof(v) - 1] = '\0';
    fo_flavour_classify(v, &f);
    FO_CHECK_INT(f.family, FO_FLAVOUR_UNKNOWN);
    FO_CHECK(strlen(f.name) < sizeof(f.name));
    FO_CHECK(strstr(f.name, "...\"") != NULL);
    fo_flavour_problem(&f, problem, sizeof(problem));
    FO_CHECK_INT(strlen(problem), sizeof(problem) - 1);
    FO_CHECK(strcmp(problem + sizeof(problem) - 4, "...") == 0);
}

static void test_probe_error(void)
{
    char out[512];

    fo_flavour_probe_error("8.0.36", "Unknown system variable 'gtid_current_pos'", out, sizeof(out));
    FO_CHECK_STR(out, "unsupported server flavour (MySQL?): Unknown system variable 'gtid_current_pos' (server "
                      "version 8.0.36; failoverd supports MariaDB 10.6 to 11.x)");
    fo_flavour_probe_error("8.0.36-28", "Unknown system variable 'gtid_current_pos'", out, sizeof(out));
    FO_CHECK_STR(out, "unsupported server flavour (Percona Server?): Unknown system variable 'gtid_current_pos' "
                      "(server version 8.0.36-28; failoverd supports MariaDB 10.6 to 11.x)");
    fo_flavour_probe_error(NULL, NULL, out, sizeof(out));
    FO_CHECK_STR(out, "unsupported server flavour (unknown?):  (server version unknown; failoverd supports MariaDB "
                      "10.6 to 11.x)");
    FO_CHECK(fo_flavour_text_unsupported(out));
    FO_CHECK(fo_flavour_text_unsupported("the server closed the idle probe connection; unsupported server flavour "
                                         "(MySQL?): x"));
    FO_CHECK(fo_flavour_text_unsupported("unsupported server: MySQL 8.0.36 (...)"));
    FO_CHECK(!fo_flavour_text_unsupported("connect: Access denied for user 'failoverd'"));
    FO_CHECK(!fo_flavour_text_unsupported(""));
    FO_CHECK(!fo_flavour_text_unsupported(NULL));
}

static void test_refuse(void)
{
    char why[512];
    struct fo_flavour_in in[3] = {
        {.host = "db1", .port = 3306, .version = "10.11.6-MariaDB-0+deb12u1-log"},
        {.host = "db2", .port = 3306, .version = "10.11.6-MariaDB-0+deb12u1-log"},
        {.host = "db3", .port = 3307, .version = NULL, .last_error = "connect: Can't connect to server (111)"},
    };

    /* All MariaDB 10.11, one down for an ordinary reason: nothing refuses. */
    FO_CHECK(!fo_flavour_refuse(in, 3, "", why, sizeof(why)));
    FO_CHECK(!fo_flavour_refuse(in, 3, NULL, why, sizeof(why)));
    FO_CHECK(!fo_flavour_refuse(in, 3, "no primary\nmultiple writable: db1:3306, db2:3306", why, sizeof(why)));
    /* The recorded cluster problem refuses (any line). */
    FO_CHECK(fo_flavour_refuse(in, 3, "no primary\nunsupported server in the cluster: x\nother", why, sizeof(why)));
    FO_CHECK_STR(why, "unsupported server in the cluster: x");
    /* A probe error naming the flavour. */
    in[2].last_error = "unsupported server flavour (MySQL?): Unknown system variable 'gtid_current_pos'";
    FO_CHECK(fo_flavour_refuse(in, 3, "", why, sizeof(why)));
    FO_CHECK_STR(why, "unsupported server in the cluster: db3:3307: unsupported server flavour (MySQL?): Unknown "
                      "system variable 'gtid_current_pos'");
    /* A sample's version (the first such instance is named). */
    in[1].version = "8.0.36";
    FO_CHECK(fo_flavour_refuse(in, 3, "", why, sizeof(why)));
    FO_CHECK_STR(why, "unsupported server in the cluster: db2:3306: unsupported server: MySQL 8.0.36 (failoverd "
                      "supports MariaDB 10.6 to 11.x; MySQL 5.7/8.x is not supported yet)");
    /* Cut, never overrun. */
    FO_CHECK(fo_flavour_refuse(in, 3, "", why, 40));
    FO_CHECK_INT(strlen(why), 39);
    /* No instances, no problems: nothing to refuse. */
    FO_CHECK(!fo_flavour_refuse(in, 0, "", why, sizeof(why)));
}

FO_TEST_MAIN(FO_T(test_classify), FO_T(test_long_version), FO_T(test_probe_error), FO_T(test_refuse))
