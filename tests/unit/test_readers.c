/* controller/decide/readers.h: reader VIP eligibility and placement, as tables of cases. */
#include <stdio.h>
#include <string.h>

#include "controller/decide/readers.h"
#include "fo_test.h"

/* Candidates: P = primary (up), A, B, C = replicas with various states. */
#define P                                                     \
    {                                                         \
        "10.0.0.1", 3306, true, true, false, -1, false, false \
    }
#define UP(h)                                       \
    {                                               \
        h, 3306, false, true, true, 0, false, false \
    }
#define LAG(h, s)                                   \
    {                                               \
        h, 3306, false, true, true, s, false, false \
    }
#define DOWN(h)                                        \
    {                                                  \
        h, 3306, false, false, false, -1, false, false \
    }
#define STOPPED(h)                                    \
    {                                                 \
        h, 3306, false, true, false, -1, false, false \
    }
#define MAINT(h)                                   \
    {                                              \
        h, 3306, false, true, true, 0, true, false \
    }
#define QUAR(h)                                    \
    {                                              \
        h, 3306, false, true, true, 0, false, true \
    }

static void test_eligible(void)
{
    static const struct {
        struct fo_reader_cand c;
        bool ok;
        const char *why;
    } cases[] = {
        {P, false, "is the primary"},
        {UP("a"), true, ""},
        {LAG("a", 30), true, ""},
        {LAG("a", 31), false, "lagging"},
        {LAG("a", -1), false, "lag unknown"},
        {DOWN("a"), false, "not up"},
        {STOPPED("a"), false, "not replicating from the primary"},
        {MAINT("a"), false, "in maintenance"},
        {QUAR("a"), false, "quarantined"},
    };
    size_t i;
    const char *why;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool ok = fo_reader_eligible(&cases[i].c, 30, &why);
        if (ok != cases[i].ok || strcmp(why, cases[i].why) != 0) {
            fprintf(stderr, "  case %zu: ok=%d why='%s'\n", i, ok, why);
            FO_CHECK(0);
        }
    }
}

struct place_case {
    const char *name;
    struct fo_reader_cand cands[4];
    unsigned n_cands;
    const char *holders[3]; /* recorded holder host per VIP ("" = nobody) */
    unsigned n_vips;
    int want[3];
};

static const struct place_case place_cases[] = {
    {"nobody holds them: spread over the replicas", {P, UP("a"), UP("b")}, 3, {"", "", ""}, 3, {1, 2, 1}},
    {"healthy holders keep their VIPs", {P, UP("a"), UP("b")}, 3, {"b", "b", ""}, 3, {2, 2, 1}},
    {"a down replica loses its VIPs to the least loaded",
     {P, DOWN("a"), UP("b"), UP("c")},
     4,
     {"a", "b", ""},
     3,
     {3, 2, 2}},
    {"a lagging replica loses its VIP", {P, LAG("a", 100), UP("b")}, 3, {"a", "b"}, 2, {2, 2}},
    {"no eligible replica: parked on the primary", {P, STOPPED("a"), MAINT("b")}, 3, {"a", ""}, 2, {0, 0}},
    {"parked VIPs leave the primary once a replica is eligible", {P, UP("a")}, 2, {"10.0.0.1", "10.0.0.1"}, 2, {1, 1}},
    {"primary down too: stay as recorded",
     {{"10.0.0.1", 3306, true, false, false, -1, false, false}, DOWN("a")},
     2,
     {"a", ""},
     2,
     {-1, -1}},
    {"a quarantined former primary never gets one", {P, QUAR("q"), UP("b")}, 3, {"q"}, 1, {2}},
    {"a holder that is no longer an instance", {P, UP("a")}, 2, {"gone"}, 1, {1}},
};

static void test_place(void)
{
    size_t k;
    unsigned j;

    for (k = 0; k < sizeof(place_cases) / sizeof(place_cases[0]); k++) {
        const struct place_case *pc = &place_cases[k];
        struct fo_reader_vip v[3];

        memset(v, 0, sizeof(v));
        for (j = 0; j < pc->n_vips; j++) {
            snprintf(v[j].holder_host, sizeof(v[j].holder_host), "%s", pc->holders[j]);
            v[j].holder_port = pc->holders[j][0] ? 3306 : 0;
        }
        fo_readers_place(pc->cands, pc->n_cands, 30, v, pc->n_vips);
        for (j = 0; j < pc->n_vips; j++) {
            if (v[j].want != pc->want[j]) {
                fprintf(stderr, "  %s: vip %u wants %d, expected %d\n", pc->name, j, v[j].want, pc->want[j]);
                FO_CHECK(0);
            }
        }
    }
}

FO_TEST_MAIN(FO_T(test_eligible), FO_T(test_place))
