/* Whether a replica still hears its source (pure; issue 11.4, DESIGN.md §5).
 *
 * A replica's IO thread says "Yes" for as long as its TCP connection looks open. When
 * the primary's host is cut off (link down: no FIN, no RST) that lasts until
 * slave_net_timeout (MariaDB's default: 60 s), and the detector must not take an IO
 * thread that says "Yes" for a disconnected one. What does change at once is that
 * nothing arrives any more: an idle source sends a heartbeat every
 * MASTER_HEARTBEAT_PERIOD, a busy one sends events, and either one advances a counter
 * the replica reports -- Slave_received_heartbeats, or (Master_Log_File,
 * Read_Master_Log_Pos). A replica whose IO thread says "Yes" while neither advanced
 * for longer than fo_arrival_threshold_ms() is SILENT: it no longer hears the
 * primary, and the detector may count it as not connected (detector.h, rule 4).
 *
 * Use: one struct fo_arrival per watched server, zero-initialised (= nothing known),
 * fed every successful sample of that server in the order they were taken; failed
 * probes are not fed. Owned by its caller; one thread; no allocation; no clock: times
 * are inputs, milliseconds of one monotonic clock (uv_now).
 *
 * The silence is what the samples prove, never more:
 *  - it runs from the END of the first probe that showed the current values (they
 *    may have arrived just before that probe read them) to the START of the latest
 *    probe showing the same values (nothing later is known), hence two times per
 *    update;
 *  - any change of a counter, in either direction, is an arrival (CHANGE MASTER
 *    resets the heartbeat counter; a rotation moves the position back to 4);
 *  - it is counted only across samples of one source with the IO thread "Yes" each
 *    time: IO not "Yes", another source (host, port, connection name) or another
 *    heartbeat period starts it again from the next sample;
 *  - it is UNKNOWN -- never SILENT -- when a counter or the period is unknown (MySQL,
 *    which reports heartbeats only in performance_schema; MariaDB's SHOW SLAVE STATUS,
 *    which lacks the heartbeat columns: the prober must use SHOW ALL SLAVES STATUS) or
 *    when heartbeats are off (period 0: an idle source then rightly sends nothing).
 *
 * Known limits, both erring towards a replica that looks silent a little early, which
 * the detector only acts on when a majority of controllers also sees the primary DOWN:
 *  - a reconnection of the IO thread between two samples is invisible (MariaDB keeps
 *    the counters across it), so for up to one period after one, until the first
 *    heartbeat, the silence also counts the time before it;
 *  - one event whose transfer takes longer than the threshold (a row event of many
 *    MB on a slow link) advances nothing until it has been read whole.
 *
 * Settings: the threshold is max(2 x period, FO_ARRIVAL_FLOOR_MS), so the detection
 * is only as fast as the replicas' MASTER_HEARTBEAT_PERIOD allows. MariaDB's default
 * is slave_net_timeout / 2 (30 s), which makes this no faster than waiting for
 * slave_net_timeout; set MASTER_HEARTBEAT_PERIOD=1 on every replica (the test rig
 * does). MariaDB resets the period to slave_net_timeout / 2 on every CHANGE MASTER
 * that does not name MASTER_HEARTBEAT_PERIOD, so a repoint must carry it. */
#ifndef FO_ARRIVAL_H
#define FO_ARRIVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "mysql/sample.h"

/* The least silence that makes a replica SILENT, whatever its period: a heartbeat
 * can be late by scheduling and network jitter, and a probe interval (500 ms) must
 * fit in it so that at least two samples show the silence. */
#define FO_ARRIVAL_FLOOR_MS 1500

enum fo_arrival_state {
    FO_ARRIVAL_UNKNOWN = 0, /* not tracked: no sample yet, IO not "Yes", a counter or the
                               period unknown, heartbeats off */
    FO_ARRIVAL_HEARD,       /* something arrived (or tracking began) within the threshold */
    FO_ARRIVAL_SILENT,      /* IO "Yes", yet nothing arrived for longer than the threshold */
};

struct fo_arrival {
    /* Private to arrival.c: the values of the sample that last changed them. */
    bool tracking;
    char host[FO_SAMPLE_HOST_LEN];
    uint16_t port;
    char conn[FO_SAMPLE_CONN_LEN];
    char log_file[FO_SAMPLE_LOGFILE_LEN];
    uint64_t pos;
    uint64_t heartbeats;
    uint32_t period_ms;
    uint64_t since_ms; /* end of the first probe that showed the current values */
    uint64_t last_ms;  /* start of the latest probe fed */
};

/* Feeds one successful sample of the server, taken by a probe that started at
 * started_ms and whose reply arrived at done_ms (started_ms <= done_ms; a later
 * started_ms is read as done_ms). Samples must come in the order they were taken: one
 * that started before the previous one restarts the tracking. */
void fo_arrival_update(struct fo_arrival *a, const struct fo_sample *s, uint64_t started_ms, uint64_t done_ms);

/* Forgets everything (the state is UNKNOWN until the next sample), e.g. when the
 * server is repointed by failoverd itself. */
void fo_arrival_reset(struct fo_arrival *a);

/* The state, and in *silent_ms (may be NULL) how long the samples prove nothing has
 * arrived: 0 when UNKNOWN. */
enum fo_arrival_state fo_arrival_state(const struct fo_arrival *a, uint64_t *silent_ms);

/* Shorthand for the silence of fo_arrival_state(): 0 when UNKNOWN. */
uint64_t fo_arrival_silent_ms(const struct fo_arrival *a);

/* max(2 x period_ms, FO_ARRIVAL_FLOOR_MS): a silence longer than this is SILENT. */
uint64_t fo_arrival_threshold_ms(uint32_t period_ms);

/* "unknown" "heard" "silent"; "invalid" for a value out of range. */
const char *fo_arrival_name(enum fo_arrival_state st);

#endif
