/* failoverctl import-mha / import-mmm (client/import*.c, issue 14.3): the files laid
 * out as in MHA's and MMM's documentation (tests/unit/fixtures/import/) give the
 * expected cluster, every setting without an equivalent is listed with its line, and
 * malformed files are refused with file:line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../client/import.c"
#include "../../client/json.c"
#include "../../client/import_mha.c"
#include "../../client/import_mmm.c"
#include "fo_test.h"

static char *slurp(const char *name, size_t *len)
{
    const char *slash = strrchr(__FILE__, '/');
    char path[1024];
    FILE *f;
    char *buf = malloc(FO_IMPORT_MAX_FILE + 1);

    snprintf(path, sizeof(path), "%.*s/fixtures/import/%s", slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".",
             name);
    f = fopen(path, "rb");
    if (f == NULL || buf == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    *len = fread(buf, 1, FO_IMPORT_MAX_FILE, f);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

static const struct fo_import_server *server(const struct fo_import_plan *p, const char *addr)
{
    unsigned i;

    for (i = 0; i < p->n_servers; i++)
        if (strcmp(p->servers[i].addr, addr) == 0) return &p->servers[i];
    return NULL;
}

static const struct fo_import_note *note(const struct fo_import_plan *p, const char *key)
{
    unsigned i;

    for (i = 0; i < p->n_notes; i++)
        if (strcmp(p->notes[i].key, key) == 0) return &p->notes[i];
    return NULL;
}

static void test_mha_fixture(void)
{
    struct fo_import_plan *p = calloc(1, sizeof *p);
    struct fo_import_options o = {0};
    char err[FO_ERRLEN] = "";
    size_t len;
    char *text = slurp("mha_app1.cnf", &len);
    const struct fo_import_server *s;
    struct fo_buf out;

    FO_CHECK_INT(fo_import_mha(p, "/etc/masterha/app1.cnf", text, len, &o, err), 0);
    FO_CHECK_STR(err, "");
    FO_CHECK_STR(p->cluster, "app1");
    FO_CHECK_STR(p->user, "root");
    FO_CHECK_STR(p->repl_user, "repl");
    FO_CHECK_STR(p->password_file, "/etc/failoverd/app1.password");
    FO_CHECK_STR(p->repl_password_file, "/etc/failoverd/app1.repl");
    FO_CHECK_INT(p->n_servers, 4);
    s = server(p, "10.0.0.11:3306");
    FO_CHECK(s != NULL && s->rule == FO_RULE_PREFER);
    s = server(p, "10.0.0.12:3306"); /* ip= beats hostname= */
    FO_CHECK(s != NULL && s->rule == FO_RULE_PREFER);
    s = server(p, "10.0.0.13:3307");
    FO_CHECK(s != NULL && s->rule == FO_RULE_NEUTRAL);
    s = server(p, "10.0.0.14:3306");
    FO_CHECK(s != NULL && s->rule == FO_RULE_MUST_NOT);
    FO_CHECK(s != NULL && strcmp(s->rule_why, "app1.cnf:38 no_master=1") == 0);
    FO_CHECK(note(p, "ssh_user") != NULL && strcmp(note(p, "ssh_user")->where, "app1.cnf:7") == 0);
    FO_CHECK(note(p, "password") != NULL && strstr(note(p, "password")->text, "app1.password") != NULL);
    FO_CHECK(note(p, "secondary_check_script") != NULL);
    FO_CHECK(note(p, "master_ip_failover_script") != NULL);
    FO_CHECK(note(p, "shutdown_script") != NULL);
    FO_CHECK(note(p, "ignore_fail") != NULL && strcmp(note(p, "ignore_fail")->where, "app1.cnf:39") == 0);
    FO_CHECK(note(p, "candidate_master") != NULL); /* two candidates: no order in failoverd */
    FO_CHECK(p->vip[0] == '\0');

    fo_buf_init(&out);
    fo_import_render(p, &out, 0);
    FO_CHECK(!out.oom && out.p != NULL);
    FO_CHECK(strstr(out.p, "failoverctl cluster add app1 --user root --password-file /etc/failoverd/app1.password "
                           "--repl-user repl --repl-password-file /etc/failoverd/app1.repl\n") != NULL);
    FO_CHECK(strstr(out.p, "failoverctl instance add app1 10.0.0.14:3306 --rule must_not   # app1.cnf:38") != NULL);
    FO_CHECK(strstr(out.p, "mysqlpass") == NULL); /* never a password */
    FO_CHECK(strstr(out.p, "replpass") == NULL);
    fo_buf_reset(&out);
    fo_import_render(p, &out, 1);
    FO_CHECK(strstr(out.p, "\"address\":\"10.0.0.13:3307\"") != NULL);
    FO_CHECK(strstr(out.p, "mysqlpass") == NULL);
    fo_buf_free(&out);

    /* With the VIP the script used to move, and another cluster name. */
    snprintf(o.vip, sizeof o.vip, "10.0.0.100/24");
    snprintf(o.vip_interface, sizeof o.vip_interface, "eth0");
    snprintf(o.cluster, sizeof o.cluster, "orders");
    FO_CHECK_INT(fo_import_mha(p, "app1.cnf", text, len, &o, err), 0);
    FO_CHECK_STR(p->cluster, "orders");
    FO_CHECK_STR(p->vip, "10.0.0.100/24");
    FO_CHECK_STR(p->vip_interface, "eth0");
    FO_CHECK(strstr(note(p, "master_ip_failover_script")->text, "--vip") != NULL);
    free(text);
    free(p);
}

static void test_mmm_fixture(void)
{
    struct fo_import_plan *p = calloc(1, sizeof *p);
    char err[FO_ERRLEN] = "";
    size_t len;
    char *text = slurp("mmm_common.conf", &len);
    const struct fo_import_server *s;
    struct fo_import_command *cmds = calloc(FO_IMPORT_MAX_SERVERS + 1, sizeof *cmds);
    unsigned n;

    FO_CHECK_INT(fo_import_mmm(p, "/etc/mysql-mmm/mmm_common.conf", text, len, NULL, err), 0);
    FO_CHECK_STR(err, "");
    FO_CHECK_STR(p->cluster, "mmm");
    FO_CHECK_STR(p->user, "mmm_agent");
    FO_CHECK_STR(p->repl_user, "replication");
    FO_CHECK_INT(p->n_servers, 3);
    s = server(p, "192.168.0.11:3306");
    FO_CHECK(s != NULL && s->rule == FO_RULE_PREFER);
    s = server(p, "192.168.0.12:3306");
    FO_CHECK(s != NULL && s->rule == FO_RULE_PREFER);
    s = server(p, "192.168.0.13:3306");
    FO_CHECK(s != NULL && s->rule == FO_RULE_MUST_NOT);
    FO_CHECK_STR(p->vip, "192.168.0.100/32");
    FO_CHECK_STR(p->vip_interface, "eth0");
    FO_CHECK_INT(p->n_reader_vips, 3);
    FO_CHECK_STR(p->reader_vips[2], "192.168.0.103/32");
    /* The master-master pair is carried over as failoverd's co-primary pair (issue 14.1). */
    FO_CHECK_STR(p->co_primaries, "192.168.0.11:3306,192.168.0.12:3306");
    FO_CHECK(note(p, "peer") == NULL);
    FO_CHECK(note(p, "agent_password") != NULL);

    n = fo_import_commands(p, cmds, FO_IMPORT_MAX_SERVERS + 1);
    FO_CHECK_INT(n, 4);
    FO_CHECK_INT(cmds[0].argc, 19);
    FO_CHECK_STR(cmds[0].argv[13], "--vip-interface");
    FO_CHECK_STR(cmds[0].argv[15], "--reader-vips");
    FO_CHECK_STR(cmds[0].argv[16], "192.168.0.101/32,192.168.0.102/32,192.168.0.103/32");
    FO_CHECK_STR(cmds[0].argv[17], "--co-primaries");
    FO_CHECK_STR(cmds[0].argv[18], "192.168.0.11:3306,192.168.0.12:3306");
    FO_CHECK(cmds[0].argv[19] == NULL);
    FO_CHECK_STR(cmds[3].argv[3], "192.168.0.13:3306");
    FO_CHECK_STR(cmds[3].argv[5], "must_not");
    free(cmds);
    free(text);
    free(p);
}

struct bad {
    int mmm;
    const char *text;
    const char *want; /* substring of the error */
};

static const struct bad bad_cases[] = {
    {0, "user=root\n", "x.cnf:1: a setting before any [section]"},
    {0, "[server1]\nhostname=10.0.0.1\n[server1]\nhostname=10.0.0.2\n", "x.cnf:3: [server1] appears twice"},
    {0, "[server default]\nuser=root\n[server1]\nhostname 10.0.0.1\n", "x.cnf:4: expected key=value"},
    {0, "[server1]\nhostname=10.0.0.1\ncandiate_master=1\n", "x.cnf:3: 'candiate_master' is not an MHA"},
    {0, "[server1]\nport=3306\n", "x.cnf:1: [server1] has no hostname"},
    {0, "[server1]\nhostname=10.0.0.1\nport=70000\n", "x.cnf:3: port:"},
    {0, "[server1]\nhostname=10.0.0.1\ncandidate_master=yes\n", "x.cnf:3: candidate_master must be 0 or 1"},
    {0, "[server1]\nhostname=10.0.0.1\n[server2]\nhostname=10.0.0.1\n", "x.cnf:3: [server2] is 10.0.0.1:3306"},
    {0, "[server1\nhostname=10.0.0.1\n", "x.cnf:1: section header without ']'"},
    {0, "[manager]\n", "x.cnf:1: unknown section [manager]"},
    {0, "[server1]\nhostname=10.0.0.1\nuser=a\n[server2]\nhostname=10.0.0.2\nuser=b\n", "x.cnf:6: user differs"},
    {0, "[server1]\nhostname=10.0.0.1\nhostname=10.0.0.2\n", "x.cnf:3: hostname is set twice"},
    {0, "[server default]\nhostname=10.0.0.1\n[server1]\nhostname=10.0.0.2\n", "x.cnf:1: hostname, ip"},
    {0, "[server1]\nhostname=10.0.0.1\ncandidate_master=1\nno_master=1\n", "both candidate_master=1 and no_master"},
    {0, "# only comments\n", "x.cnf: no servers found"},
    {0, "[server1]\nhostname=bad host\n", "x.cnf:2:"},
    {1, "<host db1>\n ip 10.0.0.1\n mode master\n", "x.cnf:1: <host> is never closed"},
    {1, "<host db1>\n ip 10.0.0.1\n<host db2>\n", "x.cnf:3: a block inside <host>"},
    {1, "<host db1>\n ip 10.0.0.1\n mode master\n</role>\n", "x.cnf:4: expected </host>"},
    {1, "<hots db1>\n</hots>\n", "x.cnf:1: unknown block <hots>"},
    {1, "<host db1>\n ipp 10.0.0.1\n</host>\n", "x.cnf:2: 'ipp' is not an MMM 2 setting of <host>"},
    {1, "<host db1>\n mode master\n</host>\n<role writer>\n hosts db1\n ips 10.0.0.9\n</role>\n",
     "x.cnf:1: <host db1> has no ip"},
    {1, "<host db1>\n ip 10.0.0.1\n mode primary\n</host>\n<role writer>\n hosts db1\n ips 10.0.0.9\n</role>\n",
     "mode must be master or slave"},
    {1, "<host db1>\n ip 10.0.0.1\n mode master\n</host>\n<role writer>\n hosts db1, db9\n ips 10.0.0.9\n</role>\n",
     "x.cnf:6: <role writer> names host db9"},
    {1,
     "<host db1>\n ip 10.0.0.1\n mode master\n</host>\n<role writer>\n hosts db1\n ips 10.0.0.9, 10.0.0.8\n</role>\n",
     "more than one IP"},
    {1, "<host db1>\n ip 10.0.0.1\n mode master\n</host>\n", "no <role writer>"},
    {1,
     "<host db1>\n ip 10.0.0.1\n mode master\n peer db7\n</host>\n<role writer>\n hosts db1\n ips 10.0.0.9\n</role>\n",
     "peer db7 has no <host> block"},
    {1, "<host db1>\n ip 10.0.0.1\n mode master\n</host>\n<role writer>\n hosts db1\n ips 10.0.0.300\n</role>\n",
     "x.cnf:7: <role writer>:"},
    {1, "<host db1>\n ip 10.0.0.1\n mode master\n</host>\n<host db1>\n", "x.cnf:5: <host db1> appears twice"},
    {1, "</host>\n", "x.cnf:1: '</>' closes no open block"},
};

static void test_malformed(void)
{
    struct fo_import_plan *p = calloc(1, sizeof *p);
    unsigned i;

    for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad *b = &bad_cases[i];
        char err[FO_ERRLEN] = "";
        int rc = b->mmm ? fo_import_mmm(p, "/tmp/x.cnf", b->text, strlen(b->text), NULL, err)
                        : fo_import_mha(p, "/tmp/x.cnf", b->text, strlen(b->text), NULL, err);
        if (rc == 0 || strstr(err, b->want) == NULL) {
            fprintf(stderr, "case %u: rc %d, err '%s', want '%s'\n", i, rc, err, b->want);
            FO_CHECK(0);
        }
    }
    free(p);
}

static void test_hostile_bytes(void)
{
    struct fo_import_plan *p = calloc(1, sizeof *p);
    char err[FO_ERRLEN];
    char *big = malloc(FO_IMPORT_MAX_FILE + 2);
    static const char nul[] = "[server1]\nhostname=10.0.0.1\0\n";
    static const char esc[] = "[server1]\nhostname=10.0.0.1\nssh_user=\x1b[31mred\n";
    struct fo_buf out;

    FO_CHECK(fo_import_mha(p, "x.cnf", nul, sizeof nul - 1, NULL, err) != 0 && strstr(err, "NUL byte") != NULL);
    memset(big, '#', FO_IMPORT_MAX_FILE + 1);
    FO_CHECK(fo_import_mha(p, "x.cnf", big, FO_IMPORT_MAX_FILE + 1, NULL, err) != 0 && strstr(err, "limit") != NULL);
    memset(big, 'a', FO_IMPORT_MAX_LINE);
    big[FO_IMPORT_MAX_LINE] = '\n';
    FO_CHECK(fo_import_mmm(p, "x.cnf", big, FO_IMPORT_MAX_LINE + 1, NULL, err) != 0 &&
             strstr(err, "line longer") != NULL);
    /* A CRLF file parses; a control byte in a value never reaches the output raw. */
    FO_CHECK_INT(fo_import_mha(p, "x.cnf", "[server1]\r\nhostname=10.0.0.1\r\n", 30, NULL, err), 0);
    FO_CHECK_INT(fo_import_mha(p, "x.cnf", esc, sizeof esc - 1, NULL, err), 0);
    fo_buf_init(&out);
    fo_import_render(p, &out, 0);
    FO_CHECK(out.p != NULL && strchr(out.p, '\x1b') == NULL);
    fo_buf_free(&out);
    /* A cluster name that failoverd would refuse is caught here, not at --apply. */
    FO_CHECK(fo_import_mha(p, "my app.cnf", "[server1]\nhostname=10.0.0.1\n", 28, NULL, err) == 0);
    FO_CHECK_STR(p->cluster, "my_app");
    free(big);
    free(p);
}

/* A peer that does not name its host back (or a slave's peer) is no co-primary pair: a
 * note says so and no co_primaries is registered. */
static void test_mmm_one_sided_peer(void)
{
    static const char text[] = "<host default>\n agent_user a\n</host>\n"
                               "<host db1>\n ip 10.0.0.1\n mode master\n peer db2\n</host>\n"
                               "<host db2>\n ip 10.0.0.2\n mode master\n peer db3\n</host>\n"
                               "<host db3>\n ip 10.0.0.3\n mode slave\n</host>\n"
                               "<role writer>\n hosts db1, db2\n ips 10.0.0.9\n</role>\n";
    struct fo_import_plan *p = calloc(1, sizeof *p);
    struct fo_import_options o;
    char err[FO_ERRLEN] = "";

    memset(&o, 0, sizeof o);
    snprintf(o.vip_interface, sizeof o.vip_interface, "eth0");
    FO_CHECK_INT(fo_import_mmm(p, "x.cnf", text, strlen(text), &o, err), 0);
    FO_CHECK_STR(err, "");
    FO_CHECK_STR(p->co_primaries, "");
    FO_CHECK(note(p, "peer") != NULL && strstr(note(p, "peer")->text, "not imported as a co-primary pair") != NULL);
    free(p);
}

FO_TEST_MAIN(FO_T(test_mha_fixture), FO_T(test_mmm_fixture), FO_T(test_mmm_one_sided_peer), FO_T(test_malformed),
             FO_T(test_hostile_bytes))
