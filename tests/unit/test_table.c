/* Unit tests for failoverctl's terminal output (client/table.c, compiled in here:
 * fo_core does not contain client/). Whatever bytes a server put in a field, what
 * failoverctl prints must not steer the terminal: C0, DEL, C1 (the 8-bit CSI 0xC2 0x9B
 * as UTF-8), U+2028 and invalid UTF-8 become '?'; valid text is kept as it is. */
#include <stdint.h>
#include <string.h>

#include "../../client/table.c"
#include "common/buf.h"
#include "fo_test.h"

struct safe_case {
    const char *in;
    const char *out;
};

static const struct safe_case safe_cases[] = {
    {"db1:3306", "db1:3306"},
    {"", ""},
    {"a\nb", "a?b"},
    {"\x1b[31mred", "?[31mred"},
    {"csi\xc2\x9b"
     "2J",
     "csi?2J"}, /* C1 CSI: one character, one '?' */
    {"del\x7f", "del?"},
    {"sep\xe2\x80\xa8x", "sep?x"},  /* U+2028 */
    {"caf\xc3\xa9", "caf\xc3\xa9"}, /* valid UTF-8 kept */
    {"bad\xff\xfe", "bad??"},       /* invalid bytes, one '?' each */
    {"trunc\xe2\x82", "trunc??"},   /* a cut sequence */
    {"over\xc0\xaf", "over??"},     /* overlong '/' */
};

static void test_puts_safe(void)
{
    unsigned i;

    for (i = 0; i < sizeof(safe_cases) / sizeof(safe_cases[0]); i++) {
        struct fo_buf b;
        fo_buf_init(&b);
        fo_ctl_puts_safe(&b, safe_cases[i].in);
        fo_buf_append(&b, "", 1);
        FO_CHECK_STR(b.p, safe_cases[i].out);
        fo_buf_free(&b);
    }
}

/* Cells are sanitized in place, a '?' per byte (column widths are counted in bytes). */
static void test_cell_sanitized(void)
{
    static const char *const hdr[] = {"HOST", "ERROR"};
    struct fo_ctl_table t;
    struct fo_buf b;

    fo_ctl_table_init(&t, 2, hdr);
    fo_ctl_table_cell(&t, "db1");
    fo_ctl_table_cell(&t, "x\xc2\x9b"
                          "2J\n\x1b]0;pwned\x07");
    fo_buf_init(&b);
    fo_ctl_table_render(&t, &b);
    fo_buf_append(&b, "", 1);
    FO_CHECK(strstr(b.p, "x??2J??]0;pwned?") != NULL);
    FO_CHECK(strchr(b.p, 0x1b) == NULL);
    FO_CHECK(strstr(b.p, "\xc2\x9b") == NULL);
    fo_buf_free(&b);
    fo_ctl_table_free(&t);
}

FO_TEST_MAIN(FO_T(test_puts_safe), FO_T(test_cell_sanitized))
