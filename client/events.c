/* `failoverctl events [CLUSTER] [--follow]` (ctl.h).
 *
 * The admin RPC has no streaming call, so following is polling with cursors: every
 * interval the history (events and failover records) and, for one cluster, its `why`
 * (the detector's decisions and refusals) are fetched, and only what is newer than the
 * cursors is printed. Events and decisions carry a sequence number (their cursor);
 * a failover record is followed by (cluster, epoch): its begin, each step as its
 * timing appears in the record's `steps` ("fence=12ms choose=340ms"), and its end.
 * A line appears at most one interval plus one round trip after the controller
 * committed it. Each poll goes through fallback.h, so a controller that dies while
 * followed is replaced by the next one in the list (reads are retried). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "fallback.h"
#include "json.h"
#include "render.h"

/* Per poll, more than any burst between two polls is likely to hold; a longer burst
 * loses its oldest lines, which `history` still shows. */
#define POLL_LIMIT 1000u
/* Failover records remembered; the oldest is forgotten first. */
#define MAX_SEEN 4096u

struct seen {
    char cluster[FO_NAME_LEN];
    uint64_t epoch;
    unsigned steps_printed;
    int ended;
};

struct follow {
    const struct fo_ctl_args *a;
    struct fo_ctl_tls *tls;
    int primed;                       /* the first poll has been printed */
    int failing;                      /* the last poll failed (warned once per outage) */
    uint64_t event_seq, decision_seq; /* highest printed */
    struct seen *seen;
    size_t nseen;
    struct fo_buf out;
};

/* ------------------------------------------------------------ output */

static void wall_now(char *when, size_t cap)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0) {
        when[0] = '\0';
        return;
    }
    fo_ctl_format_time((unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000, when, cap);
}

/* Text from the controller on a terminal: control characters become '?'. */
static void put_text(struct fo_buf *b, const char *s)
{
    const unsigned char *c;

    if (s == NULL || s[0] == '\0') {
        fo_buf_puts(b, "-");
        return;
    }
    for (c = (const unsigned char *)s; *c; c++) {
        char ch = (*c < ' ' || *c == 0x7f) ? '?' : (char)*c;
        fo_buf_append(b, &ch, 1);
    }
}

static void line_start(struct follow *f, const char *type, uint64_t wall_ms, const char *cluster)
{
    char when[32];

    if (wall_ms != 0)
        fo_ctl_format_time(wall_ms, when, sizeof(when));
    else
        wall_now(when, sizeof(when));
    fo_buf_printf(&f->out, "%-24s %-9s ", when[0] ? when : "-", type);
    put_text(&f->out, cluster);
}

static void print_event(struct follow *f, const Fo__Event *e)
{
    struct fo_ctl_json w = {&f->out, 0};

    if (f->a->json) {
        fo_ctl_json_open(&w, NULL, '{');
        fo_ctl_json_str(&w, "type", "event");
        fo_ctl_json_u64(&w, "seq", e->seq);
        fo_ctl_json_u64(&w, "wall_ms", e->wall_ms);
        fo_ctl_json_str(&w, "cluster", e->cluster);
        fo_ctl_json_str(&w, "instance", e->instance);
        fo_ctl_json_str(&w, "kind", e->kind);
        fo_ctl_json_str(&w, "detail", e->detail);
        fo_ctl_json_close(&w, '}');
        fo_buf_puts(&f->out, "\n");
        return;
    }
    line_start(f, "event", e->wall_ms, e->cluster);
    fo_buf_puts(&f->out, " ");
    put_text(&f->out, e->instance);
    fo_buf_puts(&f->out, " ");
    put_text(&f->out, e->kind);
    fo_buf_puts(&f->out, ": ");
    put_text(&f->out, e->detail);
    fo_buf_puts(&f->out, "\n");
}

static void print_decision(struct follow *f, const Fo__DecisionRecord *d)
{
    struct fo_ctl_json w = {&f->out, 0};

    if (f->a->json) {
        fo_ctl_json_open(&w, NULL, '{');
        fo_ctl_json_str(&w, "type", "decision");
        fo_ctl_json_u64(&w, "seq", d->seq);
        fo_ctl_json_u64(&w, "wall_ms", d->wall_ms);
        fo_ctl_json_str(&w, "cluster", d->cluster);
        fo_ctl_json_str(&w, "instance", d->instance);
        fo_ctl_json_str(&w, "verdict", d->verdict);
        fo_ctl_json_str(&w, "reason", d->reason);
        fo_ctl_json_str(&w, "detail", d->detail);
        fo_ctl_json_close(&w, '}');
        fo_buf_puts(&f->out, "\n");
        return;
    }
    line_start(f, "decision", d->wall_ms, d->cluster);
    fo_buf_puts(&f->out, " ");
    put_text(&f->out, d->instance);
    fo_buf_puts(&f->out, " ");
    put_text(&f->out, d->verdict);
    fo_buf_puts(&f->out, ": ");
    put_text(&f->out, d->reason);
    if (d->detail != NULL && d->detail[0] != '\0') {
        fo_buf_puts(&f->out, " (");
        put_text(&f->out, d->detail);
        fo_buf_puts(&f->out, ")");
    }
    fo_buf_puts(&f->out, "\n");
}

/* One failover line: what is "begin", "step" (with the step's timing) or "end". */
static void print_failover(struct follow *f, const Fo__FailoverRecord *r, const char *what, const char *step,
                           size_t steplen)
{
    static const char *const results[] = {"running", "success", "failed", "aborted"};
    const char *result = (unsigned)r->result < 4 ? results[r->result] : "unknown";
    uint64_t when = strcmp(what, "begin") == 0 ? r->started_ms : strcmp(what, "end") == 0 ? r->ended_ms : 0;
    struct fo_ctl_json w = {&f->out, 0};
    char stepbuf[64];

    snprintf(stepbuf, sizeof(stepbuf), "%.*s", (int)steplen, step != NULL ? step : ""); /* a step is short */
    if (f->a->json) {
        fo_ctl_json_open(&w, NULL, '{');
        fo_ctl_json_str(&w, "type", "failover");
        fo_ctl_json_str(&w, "what", what);
        fo_ctl_json_str(&w, "cluster", r->cluster);
        fo_ctl_json_u64(&w, "epoch", r->epoch);
        fo_ctl_json_u64(&w, "wall_ms", when);
        fo_ctl_json_str(&w, "old_primary", r->old_primary);
        fo_ctl_json_str(&w, "new_primary", r->new_primary);
        fo_ctl_json_str(&w, "step", stepbuf);
        fo_ctl_json_str(&w, "result", result);
        fo_ctl_json_str(&w, "reason", r->reason);
        fo_ctl_json_close(&w, '}');
        fo_buf_puts(&f->out, "\n");
        return;
    }
    line_start(f, "failover", when, r->cluster);
    fo_buf_printf(&f->out, " epoch %" PRIu64 " %s", r->epoch, what);
    if (strcmp(what, "step") == 0) {
        fo_buf_puts(&f->out, " ");
        put_text(&f->out, stepbuf);
    } else {
        fo_buf_puts(&f->out, " ");
        put_text(&f->out, r->old_primary);
        fo_buf_puts(&f->out, " -> ");
        put_text(&f->out, r->new_primary);
        if (strcmp(what, "end") == 0)
            fo_buf_printf(&f->out, " %s, %" PRIu32 " ms", result, r->total_ms);
        else {
            fo_buf_puts(&f->out, ": ");
            put_text(&f->out, r->reason);
        }
    }
    fo_buf_puts(&f->out, "\n");
}

/* ------------------------------------------------------------ cursors */

static struct seen *find_seen(struct follow *f, const char *cluster, uint64_t epoch)
{
    size_t i;

    for (i = 0; i < f->nseen; i++) {
        if (f->seen[i].epoch == epoch && strcmp(f->seen[i].cluster, cluster) == 0) return &f->seen[i];
    }
    if (f->nseen == MAX_SEEN) {
        memmove(f->seen, f->seen + 1, (MAX_SEEN - 1) * sizeof(*f->seen));
        f->nseen--;
    }
    memset(&f->seen[f->nseen], 0, sizeof(f->seen[0]));
    snprintf(f->seen[f->nseen].cluster, FO_NAME_LEN, "%s", cluster); /* names fit FO_NAME_LEN */
    f->seen[f->nseen].epoch = epoch;
    f->seen[f->nseen].steps_printed = UINT32_MAX; /* new */
    return &f->seen[f->nseen++];
}

/* Prints the steps of r past the first s->steps_printed. */
static void follow_steps(struct follow *f, const Fo__FailoverRecord *r, struct seen *s, int print)
{
    const char *p = r->steps != NULL ? r->steps : "";
    unsigned k = 0;
    size_t n;

    while (*p != '\0') {
        p += strspn(p, " ");
        n = strcspn(p, " ");
        if (n == 0) break;
        if (k++ >= s->steps_printed && print) print_failover(f, r, "step", p, n);
        p += n;
    }
    s->steps_printed = k;
}

static void follow_failover(struct follow *f, const Fo__FailoverRecord *r)
{
    struct seen *s = find_seen(f, r->cluster != NULL ? r->cluster : "", r->epoch);
    int ended = r->result != FO__FAILOVER_RESULT__RESULT_RUNNING;
    /* Before the first poll is printed, only failovers still running are news. */
    int print = f->primed || !ended;

    if (s->steps_printed == UINT32_MAX) {
        s->steps_printed = 0;
        if (print) print_failover(f, r, "begin", NULL, 0);
    }
    follow_steps(f, r, s, print);
    if (ended && !s->ended && print) print_failover(f, r, "end", NULL, 0);
    s->ended = ended;
}

/* History replies are newest first: walk them backwards so output is oldest first. */
static void take_history(struct follow *f, const Fo__HistoryResp *h)
{
    uint64_t top = f->event_seq;
    size_t i;

    for (i = h->n_events; i-- > 0;) {
        const Fo__Event *e = h->events[i];

        if (e->seq <= f->event_seq && f->primed) continue;
        if (!f->primed && i >= f->a->limit) continue; /* the first poll: the newest N */
        print_event(f, e);
        if (e->seq > top) top = e->seq;
    }
    for (i = 0; i < h->n_events; i++)
        if (h->events[i]->seq > top) top = h->events[i]->seq;
    f->event_seq = top;
    for (i = h->n_failovers; i-- > 0;) follow_failover(f, h->failovers[i]);
}

static void take_why(struct follow *f, const Fo__WhyResp *w)
{
    uint64_t top = f->decision_seq;
    size_t i;

    for (i = w->n_decisions; i-- > 0;) {
        const Fo__DecisionRecord *d = w->decisions[i];

        if (d->seq <= f->decision_seq && f->primed) continue;
        if (!f->primed && i >= f->a->limit) continue;
        print_decision(f, d);
        if (d->seq > top) top = d->seq;
    }
    for (i = 0; i < w->n_decisions; i++)
        if (w->decisions[i]->seq > top) top = w->decisions[i]->seq;
    f->decision_seq = top;
}

/* ------------------------------------------------------------ polling */

/* One request through the controller list; returns the call (caller frees). */
static void ask(struct follow *f, struct fo_ctl_call *c, Fo__Request *req)
{
    fo_ctl_call_args(c, f->a, req, f->tls);
}

/* One poll: history, then (with a cluster) why. Returns 0 or the exit code of the
 * failure, already reported when report is set. */
static int poll_once(struct follow *f, int report)
{
    Fo__Request req = FO__REQUEST__INIT;
    Fo__HistoryReq hr = FO__HISTORY_REQ__INIT;
    Fo__WhyReq wr = FO__WHY_REQ__INIT;
    struct fo_ctl_call c;
    int rc;

    hr.cluster = (char *)f->a->cluster;
    hr.limit = f->primed ? POLL_LIMIT : f->a->limit;
    req.body_case = FO__REQUEST__BODY_HISTORY;
    req.history = &hr;
    ask(f, &c, &req);
    rc = report ? fo_ctl_check_reply(f->a, &c, FO__RESPONSE__BODY_HISTORY)
                : (c.rc != 0 || c.resp->code != 0 || c.resp->body_case != FO__RESPONSE__BODY_HISTORY);
    if (rc != 0) {
        if (!report && !f->failing) fprintf(stderr, "warning: %s (retrying)\n", c.rc != 0 ? c.err : "bad reply");
        fo_ctl_call_free(&c);
        return rc;
    }
    take_history(f, c.resp->history);
    fo_ctl_call_free(&c);
    if (f->a->cluster[0] == '\0') return 0;
    wr.cluster = (char *)f->a->cluster;
    wr.limit = f->primed ? POLL_LIMIT : f->a->limit;
    req = (Fo__Request)FO__REQUEST__INIT;
    req.body_case = FO__REQUEST__BODY_WHY;
    req.why = &wr;
    ask(f, &c, &req);
    rc = report ? fo_ctl_check_reply(f->a, &c, FO__RESPONSE__BODY_WHY)
                : (c.rc != 0 || c.resp->code != 0 || c.resp->body_case != FO__RESPONSE__BODY_WHY);
    if (rc == 0)
        take_why(f, c.resp->why);
    else if (!report && !f->failing)
        fprintf(stderr, "warning: %s (retrying)\n", c.rc != 0 ? c.err : "bad reply");
    fo_ctl_call_free(&c);
    return rc;
}

/* Sleeps until the monotonic time *next (ms), then advances it by the interval; a
 * poll that took longer than the interval starts the next one at once. */
static void wait_next(struct timespec *next, unsigned interval_ms)
{
    struct timespec now;

    next->tv_nsec += (long)(interval_ms % 1000) * 1000000L;
    next->tv_sec += interval_ms / 1000 + next->tv_nsec / 1000000000L;
    next->tv_nsec %= 1000000000L;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > next->tv_sec || (now.tv_sec == next->tv_sec && now.tv_nsec >= next->tv_nsec)) {
        *next = now;
        return;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR) {
    }
}

int fo_ctl_run_events(const struct fo_ctl_args *a, struct fo_ctl_tls *tls)
{
    struct follow f;
    struct timespec next;
    int rc;

    memset(&f, 0, sizeof(f));
    f.a = a;
    f.tls = tls;
    f.seen = calloc(MAX_SEEN, sizeof(*f.seen));
    if (f.seen == NULL) return fo_ctl_fail(a, FO_CTL_EXIT_FAILED, FO_ENOMEM, "out of memory");
    fo_buf_init(&f.out);
    /* The first poll's failure is the command's failure; later ones are warnings. */
    rc = poll_once(&f, 1);
    f.primed = 1;
    if (rc == 0) rc = fo_ctl_emit(a, &f.out, FO_CTL_EXIT_OK);
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (rc == FO_CTL_EXIT_OK && a->follow) {
        wait_next(&next, a->interval_ms);
        fo_buf_reset(&f.out);
        if (poll_once(&f, 0) != 0) {
            f.failing = 1;
            continue;
        }
        if (f.failing) fprintf(stderr, "note: a controller answers again\n");
        f.failing = 0;
        rc = fo_ctl_emit(a, &f.out, FO_CTL_EXIT_OK);
    }
    fo_buf_free(&f.out);
    free(f.seen);
    return rc;
}
