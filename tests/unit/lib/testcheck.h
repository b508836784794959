/* Checks shared by the unit tests, in the style of fo_test.h's FO_CHECK family: each
 * prints one "FAIL file:line" line and fails the current test, never aborts.
 *
 * Include this from the test files only, never from the library's .c files: fo_test.h
 * keeps the current test's state in a static of the including file, so these macros
 * and static inline functions must be expanded in the test itself to reach it. */
#ifndef FO_TEST_TESTCHECK_H
#define FO_TEST_TESTCHECK_H

#include <stdio.h>
#include <string.h>

#include "fo_test.h"
#include "lib/testdb.h"
#include "lib/testutil.h"

/* lo <= v < hi, as doubles (durations in ms, mostly). */
#define FO_CHECK_RANGE(v, lo, hi)                                                                                   \
    do {                                                                                                            \
        double fo_v_ = (v), fo_lo_ = (lo), fo_hi_ = (hi);                                                           \
        if (!(fo_v_ >= fo_lo_ && fo_v_ < fo_hi_)) {                                                                 \
            fprintf(stderr, "  FAIL %s:%d: %s = %.1f not in [%.1f, %.1f)\n", __FILE__, __LINE__, #v, fo_v_, fo_lo_, \
                    fo_hi_);                                                                                        \
            fo_test_cur_failed = 1;                                                                                 \
        }                                                                                                           \
    } while (0)

/* hay is not NULL and contains needle. */
#define FO_CHECK_CONTAINS(hay, needle)                                                            \
    do {                                                                                          \
        const char *fo_h_ = (hay), *fo_n_ = (needle);                                             \
        if (fo_h_ == NULL || strstr(fo_h_, fo_n_) == NULL) {                                      \
            fprintf(stderr, "  FAIL %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
                    fo_h_ ? fo_h_ : "(null)", fo_n_);                                             \
            fo_test_cur_failed = 1;                                                               \
        }                                                                                         \
    } while (0)

/* hay is NULL or does not contain needle (e.g. a password in an error message). */
#define FO_CHECK_LACKS(hay, needle)                                                                      \
    do {                                                                                                 \
        const char *fo_h_ = (hay), *fo_n_ = (needle);                                                    \
        if (fo_h_ != NULL && strstr(fo_h_, fo_n_) != NULL) {                                             \
            fprintf(stderr, "  FAIL %s:%d: \"%s\" contains \"%s\"\n", __FILE__, __LINE__, fo_h_, fo_n_); \
            fo_test_cur_failed = 1;                                                                      \
        }                                                                                                \
    } while (0)

/* fo_test_loop_init(), failing the current test if the loop cannot be made. */
static inline void fo_test_check_loop_init(struct fo_test_loop *tl, uint64_t deadline_ms)
{
    FO_CHECK_INT(fo_test_loop_init(tl, deadline_ms), 0);
}

/* Runs tl until it ends by itself (everything under test has closed its handles),
 * then closes it: fails the current test if the deadline fired or a handle was left. */
static inline void fo_test_check_loop_finish(struct fo_test_loop *tl)
{
    FO_CHECK(fo_test_loop_run(tl));
    FO_CHECK_INT(fo_test_loop_close(tl), 0);
}

/* Starts a throwaway mariadbd (fo_test_db_start) for the current test. False if there
 * is none to run the test against: either no mariadbd is installed (the test is
 * skipped with FO_SKIP: a skip, never a pass, STYLE.md §19) or it did not start (the
 * test fails). Either way nothing is left to stop; after true the caller ends with
 * fo_test_db_stop(). */
static inline bool fo_test_check_db_start(struct fo_test_db *db, const char *name, unsigned server_id)
{
    if (!fo_test_db_available()) {
        FO_SKIP("no " FO_TEST_MARIADBD " (install mariadb-server: deploy/install-deps.sh)");
        return false;
    }
    if (fo_test_db_start(db, name, server_id) != 0) {
        FO_CHECK(!"mariadbd started");
        return false;
    }
    return true;
}

#endif
