/* Unit tests for JSON strings (common/buf.c, fo_buf_json_str) and failoverctl's JSON
 * writer and topology rendering (client/json.c, client/render.c, compiled in here:
 * fo_core does not contain client/). Whatever bytes a MySQL server or a peer put in a
 * field, the JSON that failoverctl prints must be valid UTF-8 with every control
 * character escaped: checked case by case, then with a strict parser (python3's json on
 * text decoded with errors="strict"), which is the judge a script reading `--json`
 * output would be. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../client/json.c"
#include "../../client/render.c"
#include "../../client/table.c"
#include "common/buf.h"
#include "common/text.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct json_case {
    const char *in;
    const char *out; /* the literal, quotes included */
};

static const struct json_case json_cases[] = {
    {"plain", "\"plain\""},
    {"", "\"\""},
    {"q\"b\\s/", "\"q\\\"b\\\\s/\""},
    {"a\nb\rc\td", "\"a\\nb\\rc\\td\""},
    {"\x01\x1b\x1f\x7f", "\"\\u0001\\u001b\\u001f\\u007f\""},
    {"caf\xc3\xa9 \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\""},
    {"c1\xc2\x9b nel\xc2\x85 ls\xe2\x80\xa8", "\"c1\\u009b nel\\u0085 ls\\u2028\""},
    /* Invalid UTF-8 becomes U+FFFD, one per bad byte. */
    {"bad\xff", "\"bad\xef\xbf\xbd\""},
    {"\xc3", "\"\xef\xbf\xbd\""},
    {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},
    {"\xed\xa0\x80!", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!\""},
    {"\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
    {"ok\xe2\x82\xac\xe2\x82", "\"ok\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd\""},
};

static void test_json_str_table(void)
{
    struct fo_buf b;
    size_t i;

    for (i = 0; i < N_ELEMS(json_cases); i++) {
        fo_buf_init(&b);
        fo_buf_json_str(&b, json_cases[i].in);
        if (b.p == NULL || strcmp(b.p, json_cases[i].out) != 0) fprintf(stderr, "  case %zu\n", i);
        FO_CHECK_STR(b.p, json_cases[i].out);
        FO_CHECK(!b.oom);
        fo_buf_free(&b);
    }
    fo_buf_init(&b);
    fo_buf_json_str(&b, NULL);
    FO_CHECK_STR(b.p, "\"\"");
    fo_buf_free(&b);
}

/* The output is valid UTF-8 and holds no raw control character. */
static int json_text_ok(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint32_t cp;
        size_t l = fo_utf8_decode(p + i, n - i, &cp);

        if (l == 0 || fo_text_is_control(cp)) return 0;
        i += l;
    }
    return 1;
}

/* Deterministic pseudo-random strings, biased towards the interesting bytes. */
static uint32_t next_rand(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void random_string(uint32_t *seed, char *out, size_t max)
{
    static const unsigned char pick[] = {0x00, 0x0a, 0x0d, 0x1b, 0x22, 0x5c, 0x7f, 0x80, 0x9b, 0xbf, 0xc0, 0xc2,
                                         0xc3, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xfe, 0xff, 'a'};
    size_t n = next_rand(seed) % max, i;

    for (i = 0; i < n; i++) {
        unsigned char c = (next_rand(seed) & 1) ? pick[next_rand(seed) % sizeof(pick)] : (unsigned char)next_rand(seed);
        out[i] = c == 0 ? 'z' : (char)c;
    }
    out[n] = '\0';
}

static void test_json_str_random(void)
{
    uint32_t seed = 9;
    char in[64];
    struct fo_buf b;
    int i;

    fo_buf_init(&b);
    for (i = 0; i < 20000; i++) {
        fo_buf_reset(&b);
        random_string(&seed, in, sizeof(in));
        fo_buf_json_str(&b, in);
        FO_CHECK(b.len >= 2 && b.p[0] == '"' && b.p[b.len - 1] == '"');
        FO_CHECK(json_text_ok(b.p, b.len));
        if (fo_test_cur_failed) break;
    }
    fo_buf_free(&b);
}

/* ------------------------------------------------------------------ a strict parser */

/* Runs python3 on the document in doc: json.loads of the bytes decoded with
 * errors="strict", then `check` (a python expression on d, the parsed document) must be
 * true. Returns 0 if it was, 1 if not, 77 if python3 is missing. */
static int python_json(const char *doc, size_t len, const char *check)
{
    char path[] = "/tmp/fo-test-json-XXXXXX", cmd[2048];
    int fd = mkstemp(path), rc;
    FILE *f;

    if (fd < 0) return 1;
    f = fdopen(fd, "wb");
    if (f == NULL || fwrite(doc, 1, len, f) != len) {
        if (f) fclose(f);
        unlink(path);
        return 1;
    }
    fclose(f);
    if (system("python3 -c 'import json' >/dev/null 2>&1") != 0) {
        unlink(path);
        return 77;
    }
    snprintf(cmd, sizeof(cmd),
             "python3 -c 'import json,sys\n"
             "d = json.loads(open(sys.argv[1], \"rb\").read().decode(\"utf-8\", \"strict\"))\n"
             "ok = %s\n"
             "print(repr(d)[:300]) if not ok else None\n"
             "sys.exit(0 if ok else 1)' %s",
             check, path);
    rc = system(cmd);
    unlink(path);
    return rc == 0 ? 0 : 1;
}

/* Random strings through fo_ctl_json as keys and values of one document. */
static void test_ctl_json_strict(void)
{
    uint32_t seed = 4242;
    char in[64];
    struct fo_buf b;
    struct fo_ctl_json w;
    int i, rc;

    fo_buf_init(&b);
    w.b = &b;
    w.comma = 0;
    fo_ctl_json_open(&w, NULL, '{');
    fo_ctl_json_open(&w, "values", '[');
    for (i = 0; i < 2000; i++) {
        random_string(&seed, in, sizeof(in));
        fo_ctl_json_str(&w, NULL, in);
    }
    fo_ctl_json_close(&w, ']');
    for (i = 0; i < 200; i++) {
        char key[80];
        random_string(&seed, in, sizeof(in));
        snprintf(key, sizeof(key), "%d%s", i, in); /* distinct keys */
        fo_ctl_json_str(&w, key, in);
    }
    fo_ctl_json_end(&w);
    FO_CHECK(!b.oom && json_text_ok(b.p, b.len - 1)); /* but the final newline */
    rc = python_json(b.p, b.len, "len(d[\"values\"]) == 2000 and len(d) == 201");
    if (rc == 77)
        FO_SKIP("python3 not installed");
    else
        FO_CHECK_INT(rc, 0);
    fo_buf_free(&b);
}

/* `failoverctl topology --json` with a hostile server's texts: bad UTF-8, newlines,
 * ESC and C1 in the error fields. The document parses strictly and the texts read back
 * with U+FFFD where the bytes were not UTF-8. */
static void test_topology_json_strict(void)
{
    Fo__TopologyResp r = FO__TOPOLOGY_RESP__INIT;
    Fo__InstanceView v = FO__INSTANCE_VIEW__INIT, *vs[1] = {&v};
    char *problems[1] = {"replica db2 \xff\xfe stopped"};
    struct fo_buf out;
    int rc;

    r.cluster = "demo";
    r.live = 1;
    r.user = "mon";
    r.primary = "db1:3306";
    r.vip = "";
    r.vip_interface = "";
    r.vip_holder = "";
    r.vip_error = "";
    r.n_problems = 1;
    r.problems = problems;
    r.n_instances = 1;
    r.instances = vs;
    v.host = "db2";
    v.port = 3306;
    v.source_host = "db1";
    v.source_port = 3306;
    v.problem = "";
    v.last_error = "query: \xc3\x28 bad\n2026 ERROR forged";
    v.quarantine_reason = "";
    v.has_sample = 1;
    v.version = "10.11.6-MariaDB\x1b[2J";
    v.gtid_current_pos = "0-1-5";
    v.gtid_binlog_pos = "";
    v.gtid_slave_pos = "0-1-5";
    v.io_running = "No";
    v.sql_running = "Yes";
    v.last_io_error = "error connecting to master '\xed\xa0\x80' \xc2\x9b";
    v.last_sql_error = "\xf0\x9f\x98";
    v.gtid_io_pos = "";
    v.master_host = "db1";
    v.lag_s = -1;
    fo_buf_init(&out);
    fo_ctl_render_topology(&out, &r, 1);
    FO_CHECK(!out.oom && out.len > 0 && json_text_ok(out.p, out.len - 1));
    rc = python_json(out.p, out.len,
                     "d[\"problems\"] == [\"replica db2 \\ufffd\\ufffd stopped\"] and "
                     "d[\"instances\"][0][\"last_error\"] == \"query: \\ufffd( bad\\n2026 ERROR forged\" and "
                     "d[\"instances\"][0][\"version\"] == \"10.11.6-MariaDB\\x1b[2J\" and "
                     "d[\"instances\"][0][\"last_io_error\"] == "
                     "\"error connecting to master \\x27\\ufffd\\ufffd\\ufffd\\x27 \\x9b\" and "
                     "d[\"instances\"][0][\"last_sql_error\"] == \"\\ufffd\\ufffd\\ufffd\"");
    if (rc == 77)
        FO_SKIP("python3 not installed");
    else
        FO_CHECK_INT(rc, 0);
    fo_buf_free(&out);
}

FO_TEST_MAIN(FO_T(test_json_str_table), FO_T(test_json_str_random), FO_T(test_ctl_json_strict),
             FO_T(test_topology_json_strict))
