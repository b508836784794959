/* Unit tests for one log record = one line (common/log.c) and the escaping it uses
 * (common/text.c: fo_utf8_decode, fo_text_escape): tables of cases, then fo_log itself
 * with stderr captured, so a newline in a server's error text can be seen not to forge
 * a second line. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/text.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ UTF-8 decoding */

struct utf8_case {
    const char *in;
    size_t n;    /* bytes available */
    size_t len;  /* expected length, 0 = invalid */
    uint32_t cp; /* expected code point when valid */
};

static const struct utf8_case utf8_cases[] = {
    {"A", 1, 1, 'A'},
    {"\x00", 1, 1, 0},
    {"\x7f", 1, 1, 0x7f},
    {"\xc2\x80", 2, 2, 0x80},
    {"\xc3\xa9", 2, 2, 0xe9},
    {"\xdf\xbf", 2, 2, 0x7ff},
    {"\xe0\xa0\x80", 3, 3, 0x800},
    {"\xe2\x80\xa8", 3, 3, 0x2028},
    {"\xed\x9f\xbf", 3, 3, 0xd7ff},
    {"\xef\xbf\xbd", 3, 3, 0xfffd},
    {"\xf0\x90\x80\x80", 4, 4, 0x10000},
    {"\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff},
    /* invalid */
    {"\x80", 1, 0, 0},             /* lone continuation */
    {"\xbf", 1, 0, 0},             /* lone continuation */
    {"\xc0\xaf", 2, 0, 0},         /* overlong '/' */
    {"\xc1\xbf", 2, 0, 0},         /* overlong */
    {"\xe0\x80\xaf", 3, 0, 0},     /* overlong */
    {"\xed\xa0\x80", 3, 0, 0},     /* surrogate U+D800 */
    {"\xed\xbf\xbf", 3, 0, 0},     /* surrogate U+DFFF */
    {"\xf0\x80\x80\xaf", 4, 0, 0}, /* overlong */
    {"\xf4\x90\x80\x80", 4, 0, 0}, /* above U+10FFFF */
    {"\xf5\x80\x80\x80", 4, 0, 0},
    {"\xff", 1, 0, 0},
    {"\xfe", 1, 0, 0},
    {"\xc3", 1, 0, 0},         /* truncated */
    {"\xe2\x80", 2, 0, 0},     /* truncated */
    {"\xe2\x80\xa8", 2, 0, 0}, /* truncated by n */
    {"\xc3\x28", 2, 0, 0},     /* bad continuation */
    {"\xf0\x9f\x98", 3, 0, 0}, /* truncated 4-byte */
};

static void test_utf8_decode(void)
{
    size_t i;

    for (i = 0; i < N_ELEMS(utf8_cases); i++) {
        const struct utf8_case *c = &utf8_cases[i];
        uint32_t cp = 0xdeadbeef;
        size_t len = fo_utf8_decode(c->in, c->n, &cp);

        if (len != c->len) fprintf(stderr, "  case %zu\n", i);
        FO_CHECK_INT(len, c->len);
        if (c->len != 0) FO_CHECK_INT(cp, c->cp);
    }
}

/* ------------------------------------------------------------------ escaping */

struct escape_case {
    const char *in;
    size_t n;        /* 0: strlen(in) */
    size_t dstlen;   /* 0: 256 */
    const char *out; /* expected */
};

static const struct escape_case escape_cases[] = {
    {"plain text", 0, 0, "plain text"},
    {"", 0, 0, ""},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0, 0, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    /* The forged line: a server error text with a newline and a fake record. */
    {"Access denied\n2026-01-01T00:00:00.000Z ERROR [failover] promoted evil:3306", 0, 0,
     "Access denied\\n2026-01-01T00:00:00.000Z ERROR [failover] promoted evil:3306"},
    {"a\r\nb\tc", 0, 0, "a\\r\\nb\\tc"},
    {"back\\slash", 0, 0, "back\\\\slash"},
    {"\x1b[31mred\x1b[0m", 0, 0, "\\x1b[31mred\\x1b[0m"},
    {"bell\x07 del\x7f", 0, 0, "bell\\x07 del\\x7f"},
    {"nul\0byte", 8, 0, "nul\\x00byte"},
    /* C1 (CSI U+009B, NEL U+0085) and the Unicode line separators */
    {"csi\xc2\x9b"
     "2J nel\xc2\x85",
     0, 0, "csi\\u009b2J nel\\u0085"},
    {"ls\xe2\x80\xa8ps\xe2\x80\xa9", 0, 0, "ls\\u2028ps\\u2029"},
    /* Invalid UTF-8: each bad byte as \xNN, the rest kept. */
    {"bad\xff\xfe end", 0, 0, "bad\\xff\\xfe end"},
    {"trunc\xc3", 0, 0, "trunc\\xc3"},
    {"surr\xed\xa0\x80x", 0, 0, "surr\\xed\\xa0\\x80x"},
    {"over\xc0\xaf", 0, 0, "over\\xc0\\xaf"},
    /* Cuts: between characters, never inside an escape or a sequence, "..." added. */
    {"abcdefghij", 0, 8, "abcd..."},
    {"abcdefg", 0, 8, "abcdefg"},
    {"abc\n\n\n\n", 0, 8, "abc..."},
    {"ab\n\n\n\n", 0, 8, "ab\\n..."},
    {"\n\n\n\n\n", 0, 8, "\\n\\n..."},
    {"ab\xc3\xa9\xc3\xa9\xc3\xa9", 0, 8, "ab\xc3\xa9..."},
    {"\x1b\x1b\x1b", 0, 8, "\\x1b..."},
    {"abcdef", 0, 3, "ab"},
    {"abcdef", 0, 1, ""},
};

static void test_escape_table(void)
{
    char out[256];
    size_t i;

    for (i = 0; i < N_ELEMS(escape_cases); i++) {
        const struct escape_case *c = &escape_cases[i];
        size_t n = c->n ? c->n : strlen(c->in), dstlen = c->dstlen ? c->dstlen : sizeof(out);
        size_t len;

        memset(out, 'Z', sizeof(out));
        len = fo_text_escape(out, dstlen, c->in, n);
        if (strcmp(out, c->out) != 0) fprintf(stderr, "  case %zu\n", i);
        FO_CHECK_STR(out, c->out);
        FO_CHECK_INT(len, strlen(out));
        FO_CHECK(len < dstlen);
    }
}

/* Every byte value, alone and after valid text: the output is printable ASCII or valid
 * UTF-8 of non-control characters, and never holds a line break. */
static void test_escape_every_byte(void)
{
    char in[4], out[64];
    unsigned b;

    for (b = 0; b < 256; b++) {
        size_t i = 0, len;

        in[0] = 'x';
        in[1] = (char)b;
        in[2] = 'y';
        len = fo_text_escape(out, sizeof(out), in, 3);
        while (i < len) {
            uint32_t cp;
            size_t l = fo_utf8_decode(out + i, len - i, &cp);

            FO_CHECK(l != 0);
            if (l == 0) break;
            FO_CHECK(!fo_text_is_control(cp));
            i += l;
        }
    }
}

/* ------------------------------------------------------------------ records */

struct format_case {
    enum fo_log_level level;
    const char *module, *msg, *out;
};

static const struct format_case format_cases[] = {
    {FO_LOG_INFO, "prober", "db1:3306 up", "T INFO  [prober] db1:3306 up"},
    {FO_LOG_WARN, "prober", "query: You have an error\nT ERROR [failover] forged",
     "T WARN  [prober] query: You have an error\\nT ERROR [failover] forged"},
    {FO_LOG_ERROR, "mod\nX", "m\x1b]0;title\x07", "T ERROR [mod\\nX] m\\x1b]0;title\\x07"},
    {FO_LOG_DEBUG, "agent", "bad \xff utf8", "T DEBUG [agent] bad \\xff utf8"},
};

static void test_format_table(void)
{
    char line[FO_LOG_LINE_MAX];
    size_t i;

    for (i = 0; i < N_ELEMS(format_cases); i++) {
        const struct format_case *c = &format_cases[i];
        size_t n = fo_log_format(line, sizeof(line), "T", c->level, c->module, c->msg);

        FO_CHECK_STR(line, c->out);
        FO_CHECK_INT(n, strlen(line));
    }
}

/* A message far over the line limit is cut with "...", within the limit. */
static void test_format_long(void)
{
    char line[FO_LOG_LINE_MAX], *msg = malloc(3 * FO_LOG_LINE_MAX);
    size_t n;

    FO_CHECK(msg != NULL);
    if (msg == NULL) return;
    memset(msg, '\n', 3 * FO_LOG_LINE_MAX - 1);
    msg[3 * FO_LOG_LINE_MAX - 1] = '\0';
    n = fo_log_format(line, sizeof(line), "T", FO_LOG_INFO, "m", msg);
    FO_CHECK(n < sizeof(line));
    FO_CHECK(n > sizeof(line) - 8);
    FO_CHECK(strcmp(line + n - 3, "...") == 0);
    FO_CHECK(strchr(line, '\n') == NULL);
    free(msg);
}

/* fo_log itself: stderr redirected to a file; a message with newlines, CR, ESC and bad
 * UTF-8 is exactly one line, ending in one newline. */
static void test_fo_log_one_line(void)
{
    char path[] = "/tmp/fo-test-log-XXXXXX", buf[4096];
    int fd = mkstemp(path), saved;
    ssize_t n;
    size_t i, lines = 0;

    FO_CHECK(fd >= 0);
    if (fd < 0) return;
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    FO_CHECK(saved >= 0 && dup2(fd, STDERR_FILENO) >= 0);
    fo_log(FO_LOG_ERROR, "prober", "query: %s", "err\nT ERROR [x] forged\r\x1b[2J\xc2\x85\xff");
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    unlink(path);
    FO_CHECK(n > 0);
    if (n <= 0) return;
    buf[n] = '\0';
    for (i = 0; i < (size_t)n; i++)
        if (buf[i] == '\n') lines++;
    FO_CHECK_INT(lines, 1);
    FO_CHECK(buf[n - 1] == '\n');
    FO_CHECK(strstr(buf, "] query: err\\nT ERROR [x] forged\\r\\x1b[2J\\u0085\\xff\n") != NULL);
    FO_CHECK(strchr(buf, '\r') == NULL && strchr(buf, '\x1b') == NULL);
}

FO_TEST_MAIN(FO_T(test_utf8_decode), FO_T(test_escape_table), FO_T(test_escape_every_byte), FO_T(test_format_table),
             FO_T(test_format_long), FO_T(test_fo_log_one_line))
