/* A tiny test runner for failoverd's unit tests. Each test binary defines test
 * functions, lists them in FO_TESTS, and main() runs them all, printing one line per
 * failed check and closing with exactly "N passed, N failed, N skipped" (counting
 * tests).
 *
 *   static void test_x(void) { FO_CHECK(1 + 1 == 2); FO_CHECK_STR(a, "b"); }
 *   FO_TEST_MAIN(FO_T(test_x), FO_T(test_y))
 *
 * A skip is not a pass (STYLE.md §19): a test whose prerequisite is missing (no
 * mariadbd, no network namespaces, no promtool) calls FO_SKIP("why") and returns. The
 * binary then exits FO_TEST_SKIP_CODE (77, ctest's SKIP_RETURN_CODE in CMakeLists.txt)
 * unless a test failed (exit 1, a failure outranks a skip); it exits 0 only when every
 * test ran and passed. A check that failed before the skip still fails the test. */
#ifndef FO_TEST_H
#define FO_TEST_H

#include <stdio.h>
#include <string.h>

/* The exit code of a binary in which a test was skipped and none failed. */
#define FO_TEST_SKIP_CODE 77

static int fo_test_cur_failed;
static int fo_test_cur_skipped;

/* Marks the current test skipped, with the reason on stdout; the caller returns. */
#define FO_SKIP(why)                                                           \
    do {                                                                       \
        printf("  SKIP %s:%d: %s\n", __FILE__, __LINE__, (const char *)(why)); \
        fflush(stdout);                                                        \
        fo_test_cur_skipped = 1;                                               \
    } while (0)

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

#define FO_TEST_MAIN(...)                                                      \
    int main(void)                                                             \
    {                                                                          \
        static const struct fo_test_case cases[] = {__VA_ARGS__};              \
        unsigned i, passed = 0, failed = 0, skipped = 0;                       \
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {               \
            fo_test_cur_failed = 0;                                            \
            fo_test_cur_skipped = 0;                                           \
            cases[i].fn();                                                     \
            if (fo_test_cur_failed) {                                          \
                failed++;                                                      \
                fprintf(stderr, "not ok %s\n", cases[i].name);                 \
            } else if (fo_test_cur_skipped) {                                  \
                skipped++;                                                     \
                fprintf(stderr, "skip %s\n", cases[i].name);                   \
            } else {                                                           \
                passed++;                                                      \
                fprintf(stderr, "ok %s\n", cases[i].name);                     \
            }                                                                  \
        }                                                                      \
        printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped); \
        return failed ? 1 : skipped ? FO_TEST_SKIP_CODE : 0;                   \
    }

#endif
