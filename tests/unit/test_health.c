/* Unit tests for controller/probe/health.c: full probe sequences and the transition table. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "controller/probe/health.h"
#include "mysql/sample.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* States as letters: '?' unknown, 'U' up, 'S' suspect, 'D' down. */
static enum fo_health state_of(char c)
{
    switch (c) {
    case 'U': return FO_HEALTH_UP;
    case 'S': return FO_HEALTH_SUSPECT;
    case 'D': return FO_HEALTH_DOWN;
    default: return FO_HEALTH_UNKNOWN;
    }
}

struct seq_case {
    char start;           /* initial state */
    unsigned start_fails; /* initial consecutive_failures */
    unsigned down_after;
    const char *probes; /* '+' success, '-' failure, 'r' refused connect */
    const char *states; /* state after each probe */
    unsigned end_fails;
};

static const struct seq_case seq_cases[] = {
    /* DESIGN.md §5 default: DOWN after 3 consecutive failures. */
    {'?', 0, 3, "+", "U", 0},
    {'?', 0, 3, "++", "UU", 0},
    {'?', 0, 3, "-", "S", 1},
    {'?', 0, 3, "---", "SSD", 3},
    {'?', 0, 3, "-----", "SSDDD", 5},
    {'?', 0, 3, "---+", "SSDU", 0},
    {'?', 0, 3, "+-", "US", 1},
    {'?', 0, 3, "+---", "USSD", 3},
    /* A success resets the counter: two failures, success, two failures is not DOWN. */
    {'?', 0, 3, "--+--", "SSUSS", 2},
    {'?', 0, 3, "--+---", "SSUSSD", 3},
    {'?', 0, 3, "+-+-+-", "USUSUS", 1},
    {'?', 0, 3, "---+---+", "SSDUSSDU", 0},
    /* down_after = 1 goes straight to DOWN; 0 is treated as 1. */
    {'?', 0, 1, "-", "D", 1},
    {'?', 0, 1, "+-+-", "UDUD", 1},
    {'?', 0, 1, "--+", "DDU", 0},
    {'?', 0, 0, "-", "D", 1},
    {'U', 0, 0, "-+", "DU", 0},
    {'?', 0, 2, "+--+", "USDU", 0},
    {'?', 0, 2, "-+-", "SUS", 1},
    /* down_after changed while running (config reload). */
    {'D', 5, 10, "-", "D", 6},
    {'D', 5, 10, "+-", "US", 1},
    {'S', 2, 2, "-", "D", 3},
    {'S', 1, 5, "-+", "SU", 0},
    /* The counter saturates instead of wrapping to 0. */
    {'U', UINT_MAX - 1, 3, "--", "DD", UINT_MAX},
    /* Issue 11.1: a refusal right after a success is DOWN at once... */
    {'?', 0, 3, "+r", "UD", 1},
    {'U', 0, 3, "r", "D", 1},
    {'U', 0, 100, "r", "D", 1},
    {'?', 0, 3, "+r+", "UDU", 0},
    {'?', 0, 3, "+rr", "UDD", 2},
    {'?', 0, 3, "+r-", "UDD", 2},
    {'?', 0, 3, "++r--+", "UUDDDU", 0},
    /* ... but not when the server was never seen up (it may be starting)... */
    {'?', 0, 3, "r", "S", 1},
    {'?', 0, 3, "rr", "SS", 2},
    {'?', 0, 3, "rrr", "SSD", 3},
    {'?', 0, 1, "r", "D", 1},
    /* ... nor after a timeout (hung server, host cut off): counted, down_after holds. */
    {'?', 0, 3, "+-r", "USS", 2},
    {'?', 0, 3, "+-rr", "USSD", 3},
    {'?', 0, 3, "+--r", "USSD", 3},
    {'S', 1, 3, "r", "S", 2},
    {'D', 4, 3, "r+r", "DUD", 1},
    /* A timeout keeps the rule even right after a success. */
    {'?', 0, 3, "+-", "US", 1},
};

static enum fo_probe_outcome outcome_of(char c)
{
    return c == '+' ? FO_PROBE_OK : c == 'r' ? FO_PROBE_REFUSED : FO_PROBE_FAILED;
}

static void test_sequences(void)
{
    unsigned i, k;

    for (i = 0; i < N_ELEMS(seq_cases); i++) {
        const struct seq_case *c = &seq_cases[i];
        struct fo_health_state h = {state_of(c->start), c->start_fails};

        FO_CHECK_INT(strlen(c->probes), strlen(c->states)); /* the table itself */
        for (k = 0; c->probes[k] != '\0'; k++) {
            enum fo_health before = h.state, want = state_of(c->states[k]);
            bool changed = fo_health_feed(&h, outcome_of(c->probes[k]), c->down_after);
            if (h.state != want)
                fprintf(stderr, "  case %u probe %u: got %s want %s\n", i, k, fo_health_name(h.state),
                        fo_health_name(want));
            FO_CHECK_INT(h.state, want);
            FO_CHECK_INT(changed, before != want);
            if (changed) FO_CHECK(fo_health_allowed(before, h.state));
        }
        FO_CHECK_INT(h.consecutive_failures, c->end_fails);
    }
}

/* Every sequence of up to 8 probes for down_after 0..4, against a model of the
 * contract: the last probe succeeded -> UP; otherwise `down_after` or more trailing
 * failures -> DOWN, fewer -> SUSPECT. */
static void test_all_sequences_against_model(void)
{
    unsigned d, len, bits, k;

    for (d = 0; d <= 4; d++) {
        for (len = 1; len <= 8; len++) {
            for (bits = 0; bits < (1u << len); bits++) {
                struct fo_health_state h = {FO_HEALTH_UNKNOWN, 0};
                unsigned trailing = 0, limit = d ? d : 1, changes = 0;
                enum fo_health want;
                for (k = 0; k < len; k++) {
                    enum fo_health before = h.state;
                    bool ok = (bits >> k) & 1;
                    changes += fo_health_step(&h, ok, d);
                    trailing = ok ? 0 : trailing + 1;
                    FO_CHECK(h.state == before || fo_health_allowed(before, h.state));
                }
                want = trailing == 0 ? FO_HEALTH_UP : trailing >= limit ? FO_HEALTH_DOWN : FO_HEALTH_SUSPECT;
                FO_CHECK_INT(h.state, want);
                FO_CHECK_INT(h.consecutive_failures, trailing);
                FO_CHECK(changes >= 1 && changes <= len);
            }
        }
    }
}

struct allowed_case {
    char from, to;
    bool ok;
};

static const struct allowed_case allowed_cases[] = {
    {'?', '?', false}, {'?', 'U', true}, {'?', 'S', true},  {'?', 'D', true},  {'U', '?', false}, {'U', 'U', false},
    {'U', 'S', true},  {'U', 'D', true}, {'S', '?', false}, {'S', 'U', true},  {'S', 'S', false}, {'S', 'D', true},
    {'D', '?', false}, {'D', 'U', true}, {'D', 'S', false}, {'D', 'D', false},
};

static void test_allowed_table(void)
{
    unsigned i;

    for (i = 0; i < N_ELEMS(allowed_cases); i++) {
        const struct allowed_case *c = &allowed_cases[i];
        FO_CHECK_INT(fo_health_allowed(state_of(c->from), state_of(c->to)), c->ok);
    }
    FO_CHECK(!fo_health_allowed((enum fo_health)4, FO_HEALTH_UP));
    FO_CHECK(!fo_health_allowed(FO_HEALTH_UP, (enum fo_health)4));
    FO_CHECK(!fo_health_allowed((enum fo_health) - 1, FO_HEALTH_UP));
}

static void test_names(void)
{
    FO_CHECK_STR(fo_health_name(FO_HEALTH_UNKNOWN), "unknown");
    FO_CHECK_STR(fo_health_name(FO_HEALTH_UP), "up");
    FO_CHECK_STR(fo_health_name(FO_HEALTH_SUSPECT), "suspect");
    FO_CHECK_STR(fo_health_name(FO_HEALTH_DOWN), "down");
    FO_CHECK(fo_health_name((enum fo_health)42) != NULL);
    /* The values are the wire values of fo.Health (proto/failoverd.proto). */
    FO_CHECK_INT(FO_HEALTH_UNKNOWN, 0);
    FO_CHECK_INT(FO_HEALTH_UP, 1);
    FO_CHECK_INT(FO_HEALTH_SUSPECT, 2);
    FO_CHECK_INT(FO_HEALTH_DOWN, 3);
}

/* A replica's health follows its probe, and no thread state fails a probe (issue 8.7,
 * STYLE.md §17): a replica whose IO thread is Preparing, or in a state we do not know,
 * is UP, never SUSPECT or DOWN, so it is never counted as unreachable evidence. The
 * replies go through the real parser, as the prober feeds them. */
static void test_thread_states_keep_replica_up(void)
{
    static const char *const io_values[] = {"Yes", "No", "Connecting", "Preparing", "Reconnecting", "", NULL};
    const char *names[] = {"Master_Host", "Master_Port", "Slave_IO_Running", "Slave_SQL_Running",
                           "Seconds_Behind_Master"};
    const char *values[] = {"db1", "3306", NULL, "Preparing", NULL};
    static struct fo_sample s;
    unsigned i, k;

    for (i = 0; i < N_ELEMS(io_values); i++) {
        struct fo_health_state h = {FO_HEALTH_UP, 0};
        char err[FO_ERRLEN] = "";

        values[2] = io_values[i];
        for (k = 0; k < 5; k++) {
            int rc = fo_sample_parse_slave_status(&s, 1, N_ELEMS(names), names, values, err);
            if (rc != 0) fprintf(stderr, "  IO=\"%s\": %s\n", io_values[i] ? io_values[i] : "NULL", err);
            fo_health_step(&h, rc == 0, 3);
        }
        FO_CHECK_INT(h.state, FO_HEALTH_UP);
        FO_CHECK_INT(h.consecutive_failures, 0);
        FO_CHECK(s.is_replica);
    }
}

/* Every sequence of up to 7 outcomes (ok, failed, refused) for down_after 1..4,
 * against a model of health.h's rule: the last probe succeeded -> UP; a refusal
 * whose previous probe succeeded -> DOWN, and DOWN stays until a success; otherwise
 * down_after trailing failures -> DOWN, fewer -> SUSPECT. fo_health_step agrees with
 * fo_health_feed on ok/failed. */
static void test_refused_against_model(void)
{
    unsigned d, len, code, k, total;

    for (d = 1; d <= 4; d++) {
        for (len = 1; len <= 7; len++) {
            for (total = 1, k = 0; k < len; k++) total *= 3;
            for (code = 0; code < total; code++) {
                struct fo_health_state h = {FO_HEALTH_UNKNOWN, 0}, g = {FO_HEALTH_UNKNOWN, 0};
                unsigned trailing = 0, x = code;
                bool prev_ok = false, fast_down = false, plain = true;
                enum fo_health want;
                for (k = 0; k < len; k++, x /= 3) {
                    enum fo_probe_outcome o = (enum fo_probe_outcome)(x % 3);
                    enum fo_health before = h.state;
                    fo_health_feed(&h, o, d);
                    FO_CHECK(h.state == before || fo_health_allowed(before, h.state));
                    if (o == FO_PROBE_REFUSED) plain = false;
                    if (plain) fo_health_step(&g, o == FO_PROBE_OK, d);
                    if (o == FO_PROBE_OK) {
                        trailing = 0;
                        fast_down = false;
                    } else {
                        trailing++;
                        if (o == FO_PROBE_REFUSED && prev_ok) fast_down = true;
                    }
                    prev_ok = o == FO_PROBE_OK;
                }
                want = trailing == 0 ? FO_HEALTH_UP : fast_down || trailing >= d ? FO_HEALTH_DOWN : FO_HEALTH_SUSPECT;
                if (h.state != want) fprintf(stderr, "  down_after %u, sequence %u of length %u\n", d, code, len);
                FO_CHECK_INT(h.state, want);
                FO_CHECK_INT(h.consecutive_failures, trailing);
                if (plain) {
                    FO_CHECK_INT(g.state, h.state);
                    FO_CHECK_INT(g.consecutive_failures, h.consecutive_failures);
                }
            }
        }
    }
    FO_CHECK_STR(fo_probe_outcome_name(FO_PROBE_OK), "ok");
    FO_CHECK_STR(fo_probe_outcome_name(FO_PROBE_FAILED), "failed");
    FO_CHECK_STR(fo_probe_outcome_name(FO_PROBE_REFUSED), "refused");
    FO_CHECK_STR(fo_probe_outcome_name((enum fo_probe_outcome)7), "invalid");
}

/* An outcome out of range is an ordinary failure, never a definitive one. */
static void test_bad_outcome_is_a_failure(void)
{
    struct fo_health_state h = {FO_HEALTH_UP, 0};

    FO_CHECK(fo_health_feed(&h, (enum fo_probe_outcome)42, 3));
    FO_CHECK_INT(h.state, FO_HEALTH_SUSPECT);
    FO_CHECK_INT(h.consecutive_failures, 1);
}

FO_TEST_MAIN(FO_T(test_sequences), FO_T(test_all_sequences_against_model), FO_T(test_refused_against_model),
             FO_T(test_bad_outcome_is_a_failure), FO_T(test_allowed_table), FO_T(test_names),
             FO_T(test_thread_states_keep_replica_up))
