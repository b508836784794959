/* Whether a replica still hears its source (pure); see arrival.h for the rules.
 *
 * The tracker errs towards "unknown" and "heard": it is an input that can turn a
 * replica's IO=Yes into a confirmation of a dead primary (detector.h, rule 4), so it
 * only reports SILENT when consecutive samples of one connection prove that nothing
 * arrived, and it measures that silence with the times that understate it. */
#include "controller/decide/arrival.h"

#include <string.h>

/* Everything the tracker compares is known, and heartbeats are on. */
static bool trackable(const struct fo_sample *s)
{
    return s->is_replica && s->io_running == FO_THREAD_YES && s->heartbeats_known && s->heartbeat_period_known &&
           s->heartbeat_period_ms > 0 && s->read_pos_known && s->master_log_file_known;
}

/* The sample reads from the source and with the period the tracker knows. */
static bool same_stream(const struct fo_arrival *a, const struct fo_sample *s)
{
    return a->port == s->master_port && a->period_ms == s->heartbeat_period_ms &&
           strcmp(a->host, s->master_host) == 0 && strcmp(a->conn, s->connection_name) == 0;
}

static bool same_counters(const struct fo_arrival *a, const struct fo_sample *s)
{
    return a->heartbeats == s->heartbeats && a->pos == s->read_master_log_pos &&
           strcmp(a->log_file, s->master_log_file) == 0;
}

/* Starts (again) from this sample: the silence counts from the end of its probe. The
 * sample's strings fit: the struct's buffers have the sample's sizes. */
static void start_from(struct fo_arrival *a, const struct fo_sample *s, uint64_t started_ms, uint64_t done_ms)
{
    a->tracking = true;
    memcpy(a->host, s->master_host, sizeof(a->host));
    a->port = s->master_port;
    memcpy(a->conn, s->connection_name, sizeof(a->conn));
    memcpy(a->log_file, s->master_log_file, sizeof(a->log_file));
    a->pos = s->read_master_log_pos;
    a->heartbeats = s->heartbeats;
    a->period_ms = s->heartbeat_period_ms;
    a->since_ms = done_ms;
    a->last_ms = started_ms;
}

void fo_arrival_update(struct fo_arrival *a, const struct fo_sample *s, uint64_t started_ms, uint64_t done_ms)
{
    if (started_ms > done_ms) started_ms = done_ms;
    if (!trackable(s)) {
        fo_arrival_reset(a);
        return;
    }
    /* A sample older than the last one says nothing about the time after it. */
    if (!a->tracking || !same_stream(a, s) || !same_counters(a, s) || started_ms < a->last_ms) {
        start_from(a, s, started_ms, done_ms);
        return;
    }
    a->last_ms = started_ms;
}

void fo_arrival_reset(struct fo_arrival *a)
{
    memset(a, 0, sizeof(*a));
}

uint64_t fo_arrival_threshold_ms(uint32_t period_ms)
{
    uint64_t twice = 2 * (uint64_t)period_ms;

    return twice > FO_ARRIVAL_FLOOR_MS ? twice : FO_ARRIVAL_FLOOR_MS;
}

enum fo_arrival_state fo_arrival_state(const struct fo_arrival *a, uint64_t *silent_ms)
{
    uint64_t silent = 0;
    enum fo_arrival_state st = FO_ARRIVAL_UNKNOWN;

    if (a->tracking && a->period_ms > 0) {
        silent = a->last_ms > a->since_ms ? a->last_ms - a->since_ms : 0;
        st = silent > fo_arrival_threshold_ms(a->period_ms) ? FO_ARRIVAL_SILENT : FO_ARRIVAL_HEARD;
    }
    if (silent_ms != NULL) *silent_ms = silent;
    return st;
}

uint64_t fo_arrival_silent_ms(const struct fo_arrival *a)
{
    uint64_t silent;

    (void)fo_arrival_state(a, &silent);
    return silent;
}

const char *fo_arrival_name(enum fo_arrival_state st)
{
    switch (st) {
    case FO_ARRIVAL_UNKNOWN: return "unknown";
    case FO_ARRIVAL_HEARD: return "heard";
    case FO_ARRIVAL_SILENT: return "silent";
    }
    return "invalid";
}
