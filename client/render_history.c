/* What happened and why: `history` (failover records and events) and `why` (a
 * cluster's failover state and the detector's recent decisions and refusals,
 * DESIGN.md §5-6). The controller sends records newest first; they are printed in
 * that order. */
#include "render.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "table.h"

/* ------------------------------------------------------------ names */

static const char *kind_name(Fo__FailoverKind k)
{
    switch (k) {
    case FO__FAILOVER_KIND__KIND_AUTO: return "auto";
    case FO__FAILOVER_KIND__KIND_MANUAL: return "manual";
    case FO__FAILOVER_KIND__KIND_SWITCHOVER: return "switchover";
    default: return "unknown";
    }
}

static const char *step_name(Fo__FailoverStep s)
{
    switch (s) {
    case FO__FAILOVER_STEP__STEP_NONE: return "none";
    case FO__FAILOVER_STEP__STEP_PRE_HOOK: return "pre_hook";
    case FO__FAILOVER_STEP__STEP_FENCE: return "fence";
    case FO__FAILOVER_STEP__STEP_CHOOSE: return "choose";
    case FO__FAILOVER_STEP__STEP_PROMOTE: return "promote";
    case FO__FAILOVER_STEP__STEP_REPOINT: return "repoint";
    case FO__FAILOVER_STEP__STEP_VIP: return "vip";
    default: return "unknown";
    }
}

static const char *result_name(Fo__FailoverResult r)
{
    switch (r) {
    case FO__FAILOVER_RESULT__RESULT_RUNNING: return "running";
    case FO__FAILOVER_RESULT__RESULT_SUCCESS: return "success";
    case FO__FAILOVER_RESULT__RESULT_FAILED: return "failed";
    case FO__FAILOVER_RESULT__RESULT_ABORTED: return "aborted";
    default: return "unknown";
    }
}

/* "-" for an address not known (yet): the new primary until one is chosen. */
static const char *or_dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

/* WhyResp.running is "unfinished failover, if any": a record without an epoch (every
 * failover has one, starting at 1) is an empty message, not a failover. */
static int is_running(const Fo__FailoverRecord *f)
{
    return f != NULL && f->epoch != 0;
}

/* ------------------------------------------------------------ JSON */

/* An ISO-8601 time, or null when there is none (wall_ms 0). */
static void json_time(struct fo_ctl_json *w, const char *key, uint64_t wall_ms)
{
    char when[32];

    fo_ctl_format_time(wall_ms, when, sizeof(when));
    if (when[0] == '\0')
        fo_ctl_json_null(w, key);
    else
        fo_ctl_json_str(w, key, when);
}

static void failover_json(struct fo_ctl_json *w, const char *key, const Fo__FailoverRecord *f)
{
    fo_ctl_json_open(w, key, '{');
    fo_ctl_json_str(w, "cluster", f->cluster);
    fo_ctl_json_u64(w, "epoch", f->epoch);
    fo_ctl_json_str(w, "kind", kind_name(f->kind));
    fo_ctl_json_str(w, "old_primary", f->old_primary);
    fo_ctl_json_str(w, "new_primary", f->new_primary);
    fo_ctl_json_str(w, "reason", f->reason);
    json_time(w, "started", f->started_ms);
    fo_ctl_json_u64(w, "started_ms", f->started_ms);
    json_time(w, "ended", f->ended_ms);
    fo_ctl_json_u64(w, "ended_ms", f->ended_ms);
    fo_ctl_json_str(w, "last_step", step_name(f->last_step));
    fo_ctl_json_str(w, "result", result_name(f->result));
    fo_ctl_json_str(w, "detail", f->detail);
    fo_ctl_json_str(w, "steps", f->steps);
    fo_ctl_json_u64(w, "total_ms", f->total_ms);
    fo_ctl_json_str(w, "confirmations", f->confirmations);
    fo_ctl_json_close(w, '}');
}

static void event_json(struct fo_ctl_json *w, const Fo__Event *e)
{
    char when[32];

    fo_ctl_format_time(e->wall_ms, when, sizeof(when));
    fo_ctl_json_open(w, NULL, '{');
    fo_ctl_json_u64(w, "seq", e->seq);
    fo_ctl_json_str(w, "time", when);
    fo_ctl_json_u64(w, "wall_ms", e->wall_ms);
    fo_ctl_json_str(w, "cluster", e->cluster);
    fo_ctl_json_str(w, "instance", e->instance);
    fo_ctl_json_str(w, "kind", e->kind);
    fo_ctl_json_str(w, "detail", e->detail);
    fo_ctl_json_close(w, '}');
}

static void history_json(struct fo_buf *out, const Fo__HistoryResp *r)
{
    struct fo_ctl_json w = {out, 0};
    size_t i;

    fo_ctl_json_open(&w, NULL, '{');
    fo_ctl_json_open(&w, "events", '[');
    for (i = 0; i < r->n_events; i++) event_json(&w, r->events[i]);
    fo_ctl_json_close(&w, ']');
    fo_ctl_json_open(&w, "failovers", '[');
    for (i = 0; i < r->n_failovers; i++) failover_json(&w, NULL, r->failovers[i]);
    fo_ctl_json_close(&w, ']');
    fo_ctl_json_end(&w);
}

static void decision_json(struct fo_ctl_json *w, const Fo__DecisionRecord *d)
{
    char when[32];

    fo_ctl_format_time(d->wall_ms, when, sizeof(when));
    fo_ctl_json_open(w, NULL, '{');
    fo_ctl_json_u64(w, "seq", d->seq);
    fo_ctl_json_str(w, "time", when);
    fo_ctl_json_u64(w, "wall_ms", d->wall_ms);
    fo_ctl_json_str(w, "instance", d->instance);
    fo_ctl_json_str(w, "verdict", d->verdict);
    fo_ctl_json_str(w, "reason", d->reason);
    fo_ctl_json_str(w, "detail", d->detail);
    fo_ctl_json_close(w, '}');
}

static void why_json(struct fo_buf *out, const Fo__WhyResp *r)
{
    struct fo_ctl_json w = {out, 0};
    size_t i;

    fo_ctl_json_open(&w, NULL, '{');
    fo_ctl_json_str(&w, "cluster", r->cluster);
    fo_ctl_json_bool(&w, "recoveries_enabled", r->recoveries_enabled);
    fo_ctl_json_bool(&w, "maintenance", r->maintenance);
    json_time(&w, "blocked_until", r->blocked_until_ms);
    fo_ctl_json_u64(&w, "blocked_until_ms", r->blocked_until_ms);
    fo_ctl_json_u64(&w, "epoch", r->epoch);
    fo_ctl_json_str(&w, "primary", r->primary);
    if (is_running(r->running))
        failover_json(&w, "running", r->running);
    else
        fo_ctl_json_null(&w, "running");
    fo_ctl_json_open(&w, "quarantined", '[');
    for (i = 0; i < r->n_quarantined; i++) fo_ctl_json_str(&w, NULL, r->quarantined[i]);
    fo_ctl_json_close(&w, ']');
    fo_ctl_json_open(&w, "decisions", '[');
    for (i = 0; i < r->n_decisions; i++) decision_json(&w, r->decisions[i]);
    fo_ctl_json_close(&w, ']');
    fo_ctl_json_end(&w);
}

/* ------------------------------------------------------------ history text */

static const char *const failover_headers[] = {"STARTED(UTC)", "CLUSTER", "EPOCH", "KIND",  "OLD -> NEW",
                                               "RESULT",       "TOTAL",   "STEPS", "REASON"};

static void failover_row(struct fo_ctl_table *t, const Fo__FailoverRecord *f)
{
    char when[32];

    fo_ctl_format_time(f->started_ms, when, sizeof(when));
    fo_ctl_table_cell(t, when);
    fo_ctl_table_cell(t, f->cluster);
    fo_ctl_table_cellf(t, "%" PRIu64, f->epoch);
    fo_ctl_table_cell(t, kind_name(f->kind));
    fo_ctl_table_cellf(t, "%s -> %s", or_dash(f->old_primary), or_dash(f->new_primary));
    fo_ctl_table_cell(t, result_name(f->result));
    if (f->result == FO__FAILOVER_RESULT__RESULT_RUNNING)
        fo_ctl_table_cell(t, "");
    else
        fo_ctl_table_cellf(t, "%ums", (unsigned)f->total_ms);
    fo_ctl_table_cell(t, f->steps);
    fo_ctl_table_cell(t, f->reason);
    fo_ctl_table_note(t, f->detail);
}

static const char *const history_headers[] = {"TIME", "CLUSTER", "INSTANCE", "KIND", "DETAIL"};

static void events_text(struct fo_buf *out, const Fo__HistoryResp *r)
{
    struct fo_ctl_table t;
    char when[32];
    size_t i;

    fo_ctl_table_init(&t, 5, history_headers);
    for (i = 0; i < r->n_events; i++) {
        const Fo__Event *e = r->events[i];

        fo_ctl_format_time(e->wall_ms, when, sizeof(when));
        fo_ctl_table_cell(&t, when);
        fo_ctl_table_cell(&t, e->cluster);
        fo_ctl_table_cell(&t, e->instance);
        fo_ctl_table_cell(&t, e->kind);
        fo_ctl_table_cell(&t, e->detail);
    }
    fo_ctl_table_render(&t, out);
    fo_ctl_table_free(&t);
}

/* Without failovers the output is the events table alone, as before failovers
 * existed; with them, two titled tables. */
static void history_text(struct fo_buf *out, const Fo__HistoryResp *r)
{
    struct fo_ctl_table t;
    size_t i;

    if (r->n_failovers > 0) {
        fo_buf_puts(out, "failovers:\n");
        fo_ctl_table_init(&t, 9, failover_headers);
        for (i = 0; i < r->n_failovers; i++) failover_row(&t, r->failovers[i]);
        fo_ctl_table_render(&t, out);
        fo_ctl_table_free(&t);
        fo_buf_puts(out, "\nevents:\n");
    }
    events_text(out, r);
}

void fo_ctl_render_history(struct fo_buf *out, const Fo__HistoryResp *r, int json)
{
    if (json)
        history_json(out, r);
    else
        history_text(out, r);
}

/* ------------------------------------------------------------ why text */

/* Labels are padded to this width so the values line up. */
#define LABEL "%-14s"

static void why_block(struct fo_buf *out, const Fo__WhyResp *r, unsigned long long now_ms)
{
    char when[32];

    fo_ctl_format_time(r->blocked_until_ms, when, sizeof(when));
    fo_buf_printf(out, LABEL, "anti-flap:");
    if (r->blocked_until_ms == 0)
        fo_buf_puts(out, "none\n");
    else if (r->blocked_until_ms <= now_ms)
        fo_buf_printf(out, "none (the last block ended %s)\n", when[0] ? when : "?");
    else
        fo_buf_printf(out, "blocked until %s\n", when[0] ? when : "?");
}

static void why_running(struct fo_buf *out, const Fo__FailoverRecord *f)
{
    char when[32];

    fo_buf_printf(out, LABEL, "running:");
    if (!is_running(f)) {
        fo_buf_puts(out, "none\n");
        return;
    }
    fo_buf_printf(out, "epoch %" PRIu64 ", %s, ", f->epoch, kind_name(f->kind));
    fo_ctl_puts_safe(out, or_dash(f->old_primary));
    fo_buf_puts(out, " -> ");
    fo_ctl_puts_safe(out, or_dash(f->new_primary));
    fo_buf_printf(out, ", last step %s", step_name(f->last_step));
    fo_ctl_format_time(f->started_ms, when, sizeof(when));
    if (when[0] != '\0') fo_buf_printf(out, ", started %s", when);
    fo_buf_append(out, "\n", 1);
    if (f->detail[0] == '\0') return;
    fo_buf_printf(out, LABEL "detail: ", "");
    fo_ctl_puts_safe(out, f->detail);
    fo_buf_append(out, "\n", 1);
}

static void why_header(struct fo_buf *out, const Fo__WhyResp *r, unsigned long long now_ms)
{
    size_t i;

    fo_buf_printf(out, LABEL, "cluster:");
    fo_ctl_puts_safe(out, r->cluster);
    fo_buf_append(out, "\n", 1);
    fo_buf_printf(out, LABEL "%s\n", "recoveries:", r->recoveries_enabled ? "enabled" : "disabled");
    fo_buf_printf(out, LABEL "%s\n", "maintenance:", r->maintenance ? "on" : "off");
    why_block(out, r, now_ms);
    fo_buf_printf(out, LABEL "%" PRIu64 "\n", "epoch:", r->epoch);
    fo_buf_printf(out, LABEL, "primary:");
    fo_ctl_puts_safe(out, r->primary[0] != '\0' ? r->primary : "none");
    fo_buf_append(out, "\n", 1);
    why_running(out, r->running);
    if (r->n_quarantined == 0) fo_buf_printf(out, LABEL "none\n", "quarantined:");
    if (r->n_quarantined > 0) fo_buf_puts(out, "quarantined:\n");
    for (i = 0; i < r->n_quarantined; i++) {
        fo_buf_puts(out, "  - ");
        fo_ctl_puts_safe(out, r->quarantined[i]);
        fo_buf_append(out, "\n", 1);
    }
}

static const char *const decision_headers[] = {"TIME", "VERDICT", "INSTANCE", "REASON"};

static void why_text(struct fo_buf *out, const Fo__WhyResp *r, unsigned long long now_ms)
{
    struct fo_ctl_table t;
    char when[32];
    size_t i;

    why_header(out, r, now_ms);
    if (r->n_decisions == 0) {
        fo_buf_puts(out, "\ndecisions: none\n");
        return;
    }
    fo_buf_puts(out, "\ndecisions (newest first):\n");
    fo_ctl_table_init(&t, 4, decision_headers);
    for (i = 0; i < r->n_decisions; i++) {
        const Fo__DecisionRecord *d = r->decisions[i];

        fo_ctl_format_time(d->wall_ms, when, sizeof(when));
        fo_ctl_table_cell(&t, when);
        fo_ctl_table_cell(&t, d->verdict);
        fo_ctl_table_cell(&t, d->instance);
        fo_ctl_table_cell(&t, d->reason);
        fo_ctl_table_note(&t, d->detail);
    }
    fo_ctl_table_render(&t, out);
    fo_ctl_table_free(&t);
}

void fo_ctl_render_why(struct fo_buf *out, const Fo__WhyResp *r, unsigned long long now_ms, int json)
{
    if (json)
        why_json(out, r);
    else
        why_text(out, r, now_ms);
}

/* ------------------------------------------------------------ failover, switchover */

void fo_ctl_render_failover_ok(struct fo_buf *out, const char *cluster, int json)
{
    if (json) {
        fo_ctl_render_ok(out, 1);
        return;
    }
    /* A cluster name may start with '-' (names are [A-Za-z0-9_.-]); the suggested
     * command must not read it as an option. */
    fo_buf_puts(out, "ok\nsteps and result: failoverctl history ");
    if (cluster[0] == '-') fo_buf_puts(out, "-- ");
    fo_ctl_puts_safe(out, cluster);
    fo_buf_append(out, "\n", 1);
}
