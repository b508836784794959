/* A tiny test runner for failoverd's unit tests. Each test binary defines test
 * functions, lists them in FO_TESTS, and main() runs them all, printing one line per
 * failed check and closing with exactly "N passed, N failed" (counting tests).
 *
 *   static void test_x(void) { FO_CHECK(1 + 1 == 2); FO_CHECK_STR(a, "b"); }
 *   FO_TEST_MAIN(FO_T(test_x), FO_T(test_y))
 */
#ifndef FO_TEST_H
#define FO_TEST_H

#include <stdio.h>
#include <string.h>

static int fo_test_cur_failed;

#define FO_CHECK(cond)                                                        \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            fo_test_cur_failed = 1;                                           \
        }                                                                     \
    } while (0)

#define FO_CHECK_INT(a, b)                                                                                        \
    do {                                                                                                          \
        long long fo_a_ = (long long)(a), fo_b_ = (long long)(b);                                                 \
        if (fo_a_ != fo_b_) {                                                                                     \
            fprintf(stderr, "  FAIL %s:%d: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a, #b, fo_a_, fo_b_); \
            fo_test_cur_failed = 1;                                                                               \
        }                                                                                                         \
    } while (0)

#define FO_CHECK_STR(a, b)                                                                             \
    do {                                                                                               \
        const char *fo_a_ = (a), *fo_b_ = (b);                                                         \
        if (fo_a_ == NULL || fo_b_ == NULL || strcmp(fo_a_, fo_b_) != 0) {                             \
            fprintf(stderr, "  FAIL %s:%d: %s == %s (\"%s\" != \"%s\")\n", __FILE__, __LINE__, #a, #b, \
                    fo_a_ ? fo_a_ : "(null)", fo_b_ ? fo_b_ : "(null)");                               \
            fo_test_cur_failed = 1;                                                                    \
        }                                                                                              \
    } while (0)

struct fo_test_case {
    const char *name;
    void (*fn)(void);
};
#define FO_T(fn) \
    {            \
#fn, fn  \
    }

#define FO_TEST_MAIN(...)                                         \
    int main(void)                                                \
    {                                                             \
        static const struct fo_test_case cases[] = {__VA_ARGS__}; \
        unsigned i, passed = 0, failed = 0;                       \
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {  \
            fo_test_cur_failed = 0;                               \
            cases[i].fn();                                        \
            if (fo_test_cur_failed) {                             \
                failed++;                                         \
                fprintf(stderr, "not ok %s\n", cases[i].name);    \
            } else {                                              \
                passed++;                                         \
                fprintf(stderr, "ok %s\n", cases[i].name);        \
            }                                                     \
        }                                                         \
        printf("%u passed, %u failed\n", passed, failed);         \
        return failed ? 1 : 0;                                    \
    }

#endif
