/* `failoverctl events --follow` (client/events.c): the cursors. Replies are built by
 * hand and fed to the poll handlers in the order a controller would send them over
 * successive polls; the printed lines are checked: past lines only up to --limit,
 * each event and decision once, a failover's begin, each step as its timing appears
 * in the record, and its end, once each, oldest first. No controller is involved;
 * the reporting functions of main.c are stubbed. */
#include <stdio.h>
#include <string.h>

#include "../../client/args.c"
#include "../../client/events.c"
#include "../../client/fallback.c"
#include "../../client/json.c"
#include "../../client/render.c"
#include "../../client/rpc.c"
#include "../../client/table.c"
#include "../../client/tls_client.c"
#include "fo_test.h"

/* main.c's reporting, which this test does not reach. */
int fo_ctl_fail(const struct fo_ctl_args *a, int exit_code, int code, const char *msg)
{
    return exit_code;
}

int fo_ctl_emit(const struct fo_ctl_args *a, const struct fo_buf *out, int exit_code)
{
    return exit_code;
}

int fo_ctl_check_reply(const struct fo_ctl_args *a, const struct fo_ctl_call *c, Fo__Response__BodyCase want)
{
    return 0;
}

static unsigned count(const char *text, const char *needle)
{
    unsigned n = 0;
    const char *p = text;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

static const char *text_of(struct follow *f)
{
    fo_buf_puts(&f->out, ""); /* NUL-terminated */
    return f->out.p != NULL ? f->out.p : "";
}

static void setup(struct follow *f, struct fo_ctl_args *a, struct seen *seen, unsigned limit)
{
    memset(a, 0, sizeof(*a));
    a->limit = limit;
    memset(f, 0, sizeof(*f));
    f->a = a;
    f->seen = seen;
    fo_buf_init(&f->out);
}

static void test_event_cursor(void)
{
    static struct seen seen[MAX_SEEN];
    Fo__Event e[4];
    Fo__Event *newest_first[4];
    Fo__HistoryResp h = FO__HISTORY_RESP__INIT;
    struct fo_ctl_args a;
    struct follow f;
    char detail[4][16];
    int i;

    for (i = 0; i < 4; i++) {
        fo__event__init(&e[i]);
        e[i].seq = (uint64_t)(10 + i);
        e[i].wall_ms = 1796672571100ull + (uint64_t)i;
        e[i].cluster = "orders";
        e[i].instance = "";
        e[i].kind = "health";
        snprintf(detail[i], sizeof(detail[i]), "ev%d", 10 + i);
        e[i].detail = detail[i];
    }
    setup(&f, &a, seen, 2);
    /* First poll: events 10..12, newest first; --limit 2 prints 11 then 12. */
    newest_first[0] = &e[2], newest_first[1] = &e[1], newest_first[2] = &e[0];
    h.events = newest_first;
    h.n_events = 3;
    take_history(&f, &h);
    f.primed = 1;
    FO_CHECK(strstr(text_of(&f), "ev10") == NULL);
    FO_CHECK(strstr(text_of(&f), "ev11") != NULL && strstr(text_of(&f), "ev12") != NULL);
    FO_CHECK(strstr(text_of(&f), "ev11") < strstr(text_of(&f), "ev12")); /* oldest first */
    /* Next poll: 10..13; only 13 is new. */
    fo_buf_reset(&f.out);
    newest_first[0] = &e[3], newest_first[1] = &e[2], newest_first[2] = &e[1], newest_first[3] = &e[0];
    h.n_events = 4;
    take_history(&f, &h);
    FO_CHECK_INT(count(text_of(&f), "event "), 1);
    FO_CHECK(strstr(text_of(&f), "ev13") != NULL);
    /* The same reply again: nothing. */
    fo_buf_reset(&f.out);
    take_history(&f, &h);
    FO_CHECK_STR(text_of(&f), "");
    fo_buf_free(&f.out);
}

static void test_failover_steps_once(void)
{
    static struct seen seen[MAX_SEEN];
    Fo__FailoverRecord r = FO__FAILOVER_RECORD__INIT, old = FO__FAILOVER_RECORD__INIT;
    Fo__FailoverRecord *list[2];
    Fo__HistoryResp h = FO__HISTORY_RESP__INIT;
    struct fo_ctl_args a;
    struct follow f;

    setup(&f, &a, seen, 10);
    /* A finished failover from before: not news on the first poll. */
    old.cluster = "orders", old.epoch = 3, old.result = FO__FAILOVER_RESULT__RESULT_SUCCESS;
    old.steps = "fence=5ms choose=7ms";
    list[0] = &old;
    h.failovers = list;
    h.n_failovers = 1;
    take_history(&f, &h);
    f.primed = 1;
    FO_CHECK_STR(text_of(&f), "");
    /* Epoch 4 begins, then gains steps over three polls, then ends. */
    r.cluster = "orders", r.epoch = 4, r.result = FO__FAILOVER_RESULT__RESULT_RUNNING;
    r.old_primary = "10.0.1.21:3306", r.new_primary = "", r.reason = "dead primary", r.steps = "";
    list[0] = &r, list[1] = &old;
    h.n_failovers = 2;
    fo_buf_reset(&f.out);
    take_history(&f, &h);
    FO_CHECK_INT(count(text_of(&f), "epoch 4 begin"), 1);
    FO_CHECK_INT(count(text_of(&f), " step "), 0);
    r.steps = "fence=12ms";
    fo_buf_reset(&f.out);
    take_history(&f, &h);
    FO_CHECK_INT(count(text_of(&f), "epoch 4 step fence=12ms"), 1);
    FO_CHECK_INT(count(text_of(&f), "begin"), 0);
    r.steps = "fence=12ms choose=340ms promote=8ms";
    fo_buf_reset(&f.out);
    take_history(&f, &h);
    FO_CHECK_INT(count(text_of(&f), " step "), 2);
    FO_CHECK(strstr(text_of(&f), "choose=340ms") < strstr(text_of(&f), "promote=8ms"));
    r.steps = "fence=12ms choose=340ms promote=8ms repoint=20ms";
    r.result = FO__FAILOVER_RESULT__RESULT_SUCCESS, r.new_primary = "10.0.1.22:3306", r.total_ms = 380;
    fo_buf_reset(&f.out);
    take_history(&f, &h);
    FO_CHECK_INT(count(text_of(&f), " step repoint=20ms"), 1);
    FO_CHECK_INT(count(text_of(&f), "epoch 4 end 10.0.1.21:3306 -> 10.0.1.22:3306 success, 380 ms"), 1);
    FO_CHECK(strstr(text_of(&f), "repoint") < strstr(text_of(&f), " end "));
    fo_buf_reset(&f.out);
    take_history(&f, &h);
    FO_CHECK_STR(text_of(&f), "");
    FO_CHECK_INT(count(text_of(&f), "epoch 3"), 0);
    fo_buf_free(&f.out);
}

static void test_decisions_json(void)
{
    static struct seen seen[MAX_SEEN];
    Fo__DecisionRecord d = FO__DECISION_RECORD__INIT;
    Fo__DecisionRecord *list[1] = {&d};
    Fo__WhyResp w = FO__WHY_RESP__INIT;
    struct fo_ctl_args a;
    struct follow f;

    setup(&f, &a, seen, 5);
    a.json = 1;
    d.seq = 7, d.wall_ms = 1796672571100ull, d.cluster = "orders", d.instance = "10.0.1.21:3306";
    d.verdict = "unreachable_primary", d.reason = "replicas still replicate\n", d.detail = "";
    w.decisions = list;
    w.n_decisions = 1;
    take_why(&f, &w);
    f.primed = 1;
    FO_CHECK(strstr(text_of(&f), "{\"type\":\"decision\",\"seq\":7,") == text_of(&f));
    FO_CHECK(strstr(text_of(&f), "replicas still replicate\\n") != NULL); /* escaped, one line */
    FO_CHECK_INT(count(text_of(&f), "\n"), 1);
    fo_buf_reset(&f.out);
    take_why(&f, &w);
    FO_CHECK_STR(text_of(&f), "");
    fo_buf_free(&f.out);
}

FO_TEST_MAIN(FO_T(test_event_cursor), FO_T(test_failover_steps_once), FO_T(test_decisions_json))
