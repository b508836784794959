/* Unit tests for controller/decide/arrival.c (issue 11.4): tables of sample sequences,
 * each step a change to the replica's reply, the probe's start and end, and the state
 * and silence the tracker must report after it. The same rules on captured replies of
 * a real mariadbd are in test_sample_replies.c (test_arrival_captured). */
#include <stdio.h>
#include <string.h>

#include "controller/decide/arrival.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_STEPS 8

/* ---- changes to the replica's reply ------------------------------------------------ */

enum change {
    SAME = 0,
    HB_PLUS,   /* a heartbeat arrived */
    HB_RESET,  /* CHANGE MASTER: the counter back to 0 */
    POS_PLUS,  /* an event arrived */
    FILE_NEXT, /* a rotation: next file, position 4 */
    IO_CONNECTING,
    IO_PREPARING,
    IO_YES,
    HB_UNKNOWN, /* SHOW SLAVE STATUS, MySQL: no heartbeat column */
    HB_KNOWN,
    PERIOD_UNKNOWN,
    PERIOD_OFF, /* MASTER_HEARTBEAT_PERIOD=0 */
    PERIOD_5S,
    POS_UNKNOWN,
    FILE_UNKNOWN,
    NOT_REPLICA,
    OTHER_HOST,
    OTHER_PORT,
    OTHER_CONN,
};

static void apply(struct fo_sample *s, enum change c)
{
    switch (c) {
    case SAME: break;
    case HB_PLUS: s->heartbeats++; break;
    case HB_RESET: s->heartbeats = 0; break;
    case POS_PLUS: s->read_master_log_pos += 300; break;
    case FILE_NEXT:
        snprintf(s->master_log_file, sizeof(s->master_log_file), "mysql-bin.000002");
        s->read_master_log_pos = 4;
        break;
    case IO_CONNECTING: s->io_running = FO_THREAD_CONNECTING; break;
    case IO_PREPARING: s->io_running = FO_THREAD_PREPARING; break;
    case IO_YES: s->io_running = FO_THREAD_YES; break;
    case HB_UNKNOWN:
        s->heartbeats_known = false;
        s->heartbeats = 0;
        break;
    case HB_KNOWN: s->heartbeats_known = true; break;
    case PERIOD_UNKNOWN: s->heartbeat_period_known = false; break;
    case PERIOD_OFF: s->heartbeat_period_ms = 0; break;
    case PERIOD_5S: s->heartbeat_period_ms = 5000; break;
    case POS_UNKNOWN: s->read_pos_known = false; break;
    case FILE_UNKNOWN: s->master_log_file_known = false; break;
    case NOT_REPLICA: s->is_replica = false; break;
    case OTHER_HOST: snprintf(s->master_host, sizeof(s->master_host), "10.0.0.9"); break;
    case OTHER_PORT: s->master_port = 3307; break;
    case OTHER_CONN: snprintf(s->connection_name, sizeof(s->connection_name), "b"); break;
    }
}

/* A MariaDB replica as SHOW ALL SLAVES STATUS shows it, MASTER_HEARTBEAT_PERIOD=1. */
static void base_sample(struct fo_sample *s)
{
    memset(s, 0, sizeof(*s));
    s->is_replica = true;
    s->n_sources = 1;
    snprintf(s->master_host, sizeof(s->master_host), "127.0.0.1");
    s->master_port = 3306;
    s->io_running = FO_THREAD_YES;
    s->sql_running = FO_THREAD_YES;
    snprintf(s->master_log_file, sizeof(s->master_log_file), "mysql-bin.000001");
    s->master_log_file_known = true;
    s->read_master_log_pos = 1205;
    s->read_pos_known = true;
    s->heartbeats = 8;
    s->heartbeats_known = true;
    s->heartbeat_period_ms = 1000;
    s->heartbeat_period_known = true;
}

/* ---- sequences --------------------------------------------------------------------- */

struct step {
    enum change change; /* applied to the previous step's reply */
    uint64_t started, done;
    enum fo_arrival_state want;
    uint64_t silent;
};

struct seq {
    const char *label;
    unsigned n;
    struct step steps[MAX_STEPS];
};

#define U FO_ARRIVAL_UNKNOWN
#define H FO_ARRIVAL_HEARD
#define S FO_ARRIVAL_SILENT

/* Probes every 500 ms that take 5 ms, unless a case says otherwise. The threshold at
 * a 1 s period is 2000 ms: silence is measured from the END of the probe that first
 * showed the values to the START of the latest one. */
static const struct seq seqs[] = {
    {"one sample proves nothing", 1, {{SAME, 0, 5, H, 0}}},
    {"nothing arrives: silent once over 2 x period",
     6,
     {{SAME, 0, 5, H, 0},
      {SAME, 500, 505, H, 495},
      {SAME, 1000, 1005, H, 995},
      {SAME, 2005, 2010, H, 2000}, /* exactly the threshold: not over it */
      {SAME, 2006, 2011, S, 2001},
      {SAME, 4000, 4005, S, 3995}}},
    {"a heartbeat arrives: heard again from that probe's end",
     4,
     {{SAME, 0, 5, H, 0}, {SAME, 2500, 2505, S, 2495}, {HB_PLUS, 3000, 3005, H, 0}, {SAME, 3500, 3505, H, 495}}},
    {"an event arrives (no heartbeat while events flow)",
     4,
     {{SAME, 0, 5, H, 0}, {POS_PLUS, 1000, 1005, H, 0}, {POS_PLUS, 2000, 2005, H, 0}, {SAME, 4100, 4105, S, 2095}}},
    {"a rotation is an arrival", 3, {{SAME, 0, 5, H, 0}, {SAME, 2500, 2505, S, 2495}, {FILE_NEXT, 3000, 3005, H, 0}}},
    {"a counter going back is an arrival (CHANGE MASTER)", 2, {{SAME, 0, 5, H, 0}, {HB_RESET, 2500, 2505, H, 0}}},
    {"a slow probe: from its end, to the next one's start", 2, {{SAME, 0, 300, H, 0}, {SAME, 2350, 2900, S, 2050}}},
    {"a start after the end is read as the end", 2, {{SAME, 900, 5, H, 0}, {SAME, 2500, 2505, S, 2495}}},
    {"a sample older than the last restarts",
     3,
     {{SAME, 0, 5, H, 0}, {SAME, 2500, 2505, S, 2495}, {SAME, 2400, 2405, H, 0}}},
    /* The IO thread must say Yes in every sample of the silence. */
    {"IO Connecting: unknown, and Yes again starts afresh",
     4,
     {{SAME, 0, 5, H, 0}, {IO_CONNECTING, 2500, 2505, U, 0}, {IO_YES, 3000, 3005, H, 0}, {SAME, 5100, 5105, S, 2095}}},
    {"IO Preparing: unknown", 2, {{SAME, 0, 5, H, 0}, {IO_PREPARING, 2500, 2505, U, 0}}},
    {"not a replica any more", 2, {{SAME, 0, 5, H, 0}, {NOT_REPLICA, 2500, 2505, U, 0}}},
    /* Unknown counters: never silent, however long nothing changes. */
    {"no heartbeat column (SHOW SLAVE STATUS, MySQL)",
     3,
     {{HB_UNKNOWN, 0, 5, U, 0}, {SAME, 2500, 2505, U, 0}, {SAME, 60000, 60005, U, 0}}},
    {"heartbeat column back: tracking starts then",
     3,
     {{HB_UNKNOWN, 0, 5, U, 0}, {HB_KNOWN, 2500, 2505, H, 0}, {SAME, 5000, 5005, S, 2495}}},
    {"period unknown", 2, {{PERIOD_UNKNOWN, 0, 5, U, 0}, {SAME, 2500, 2505, U, 0}}},
    {"heartbeats off: an idle primary rightly sends nothing",
     2,
     {{PERIOD_OFF, 0, 5, U, 0}, {SAME, 60000, 60005, U, 0}}},
    {"position unknown", 2, {{POS_UNKNOWN, 0, 5, U, 0}, {SAME, 2500, 2505, U, 0}}},
    {"log file unknown", 2, {{FILE_UNKNOWN, 0, 5, U, 0}, {SAME, 2500, 2505, U, 0}}},
    {"unknown mid-silence forgets it",
     3,
     {{SAME, 0, 5, H, 0}, {SAME, 2500, 2505, S, 2495}, {HB_UNKNOWN, 3000, 3005, U, 0}}},
    /* Another stream: what was counted belonged to the old one. */
    {"another source host", 2, {{SAME, 0, 5, H, 0}, {OTHER_HOST, 2500, 2505, H, 0}}},
    {"another source port", 2, {{SAME, 0, 5, H, 0}, {OTHER_PORT, 2500, 2505, H, 0}}},
    {"another connection", 2, {{SAME, 0, 5, H, 0}, {OTHER_CONN, 2500, 2505, H, 0}}},
    {"another period, and its longer threshold",
     4,
     {{SAME, 0, 5, H, 0},
      {PERIOD_5S, 2500, 2505, H, 0},
      {SAME, 12505, 12510, H, 10000},
      {SAME, 12506, 12511, S, 10001}}},
};

static void test_sequences(void)
{
    static struct fo_sample s;
    struct fo_arrival a;
    unsigned i, k;

    for (i = 0; i < N_ELEMS(seqs); i++) {
        memset(&a, 0, sizeof(a));
        base_sample(&s);
        for (k = 0; k < seqs[i].n; k++) {
            const struct step *st = &seqs[i].steps[k];
            uint64_t silent = 12345;
            enum fo_arrival_state got;

            apply(&s, st->change);
            fo_arrival_update(&a, &s, st->started, st->done);
            got = fo_arrival_state(&a, &silent);
            if (got != st->want || silent != st->silent)
                fprintf(stderr, "  \"%s\" step %u: got %s %llu ms, want %s %llu ms\n", seqs[i].label, k,
                        fo_arrival_name(got), (unsigned long long)silent, fo_arrival_name(st->want),
                        (unsigned long long)st->silent);
            FO_CHECK_INT(got, st->want);
            FO_CHECK_INT(silent, st->silent);
            FO_CHECK_INT(fo_arrival_silent_ms(&a), st->silent);
            FO_CHECK_INT(fo_arrival_state(&a, NULL), st->want); /* silent_ms may be NULL */
        }
    }
}

/* Zero-initialised and reset trackers know nothing. */
static void test_initial_and_reset(void)
{
    static struct fo_sample s;
    struct fo_arrival a;
    uint64_t silent = 7;

    memset(&a, 0, sizeof(a));
    FO_CHECK_INT(fo_arrival_state(&a, &silent), FO_ARRIVAL_UNKNOWN);
    FO_CHECK_INT(silent, 0);
    base_sample(&s);
    fo_arrival_update(&a, &s, 0, 5);
    fo_arrival_update(&a, &s, 2500, 2505);
    FO_CHECK_INT(fo_arrival_state(&a, NULL), FO_ARRIVAL_SILENT);
    fo_arrival_reset(&a);
    FO_CHECK_INT(fo_arrival_state(&a, &silent), FO_ARRIVAL_UNKNOWN);
    FO_CHECK_INT(silent, 0);
    /* After a reset the silence counts from the next sample only. */
    fo_arrival_update(&a, &s, 3000, 3005);
    FO_CHECK_INT(fo_arrival_state(&a, &silent), FO_ARRIVAL_HEARD);
    FO_CHECK_INT(silent, 0);
}

static void test_threshold(void)
{
    static const struct {
        uint32_t period;
        uint64_t want;
    } cases[] = {
        {0, FO_ARRIVAL_FLOOR_MS},
        {1, FO_ARRIVAL_FLOOR_MS},
        {500, FO_ARRIVAL_FLOOR_MS},
        {750, FO_ARRIVAL_FLOOR_MS},
        {751, 1502},
        {1000, 2000},
        {30000, 60000},
        {UINT32_MAX, 2ULL * UINT32_MAX},
    };
    unsigned i;

    for (i = 0; i < N_ELEMS(cases); i++) FO_CHECK(fo_arrival_threshold_ms(cases[i].period) == cases[i].want);
}

static void test_names(void)
{
    FO_CHECK_STR(fo_arrival_name(FO_ARRIVAL_UNKNOWN), "unknown");
    FO_CHECK_STR(fo_arrival_name(FO_ARRIVAL_HEARD), "heard");
    FO_CHECK_STR(fo_arrival_name(FO_ARRIVAL_SILENT), "silent");
    FO_CHECK_STR(fo_arrival_name((enum fo_arrival_state)9), "invalid");
}

FO_TEST_MAIN(FO_T(test_sequences), FO_T(test_initial_and_reset), FO_T(test_threshold), FO_T(test_names))
