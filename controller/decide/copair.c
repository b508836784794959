/* The co-primary pair's rules (pure); see copair.h. */
#include "controller/decide/copair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/text.h"
#include "controller/decide/gtid.h"

int fo_copair_parse(const char *co_primaries, struct fo_copair *p, char err[FO_ERRLEN])
{
    memset(p, 0, sizeof(*p));
    if (co_primaries == NULL || co_primaries[0] == '\0') return 0;
    if (fo_parse_co_primaries(co_primaries, p->m, NULL, err) != 0) return FO_EINVAL;
    p->on = true;
    return 0;
}

int fo_copair_index(const struct fo_copair *p, const char *host, uint16_t port)
{
    unsigned i;

    if (!p->on || host == NULL) return -1;
    for (i = 0; i < 2; i++)
        if (fo_addr_same(p->m[i].host, p->m[i].port, host, port)) return (int)i;
    return -1;
}

bool fo_copair_member(const char *co_primaries, const char *host, uint16_t port)
{
    struct fo_copair p;
    char err[FO_ERRLEN];

    return fo_copair_parse(co_primaries, &p, err) == 0 && fo_copair_index(&p, host, port) >= 0;
}

const struct fo_endpoint *fo_copair_partner(const struct fo_copair *p, const char *host, uint16_t port)
{
    int i = fo_copair_index(p, host, port);

    return i < 0 ? NULL : &p->m[1 - i];
}

/* "A:P, B:P" for messages. */
static void pair_text(const struct fo_copair *p, char *out, size_t n)
{
    out[0] = '\0';
    fo_text_append(out, n, "%s:%u, %s:%u", p->m[0].host, (unsigned)p->m[0].port, p->m[1].host, (unsigned)p->m[1].port);
}

/* Whether s replicates, both threads running, from host:port; else why not. */
static bool replicates_from(const struct fo_sample *s, const char *host, uint16_t port, char *why, size_t n)
{
    why[0] = '\0';
    if (!s->is_replica) {
        fo_text_append(why, n, "it replicates from nobody");
        return false;
    }
    if (s->n_sources > 1 || !fo_addr_same(s->master_host, s->master_port, host, port)) {
        fo_text_append(why, n, "it replicates from %s:%u", s->master_host, (unsigned)s->master_port);
        return false;
    }
    if (s->io_running != FO_THREAD_YES || s->sql_running != FO_THREAD_YES) {
        fo_text_append(why, n, "replication stopped (IO=%s, SQL=%s)", s->io_running_text, s->sql_running_text);
        if (s->last_io_error[0] != '\0')
            fo_text_append(why, n, ": IO error %u: %s", s->last_io_errno, s->last_io_error);
        else if (s->last_sql_error[0] != '\0')
            fo_text_append(why, n, ": SQL error %u: %s", s->last_sql_errno, s->last_sql_error);
        return false;
    }
    return true;
}

/* The switchover-only checks of the passive (copair.h). */
static int gate_switchover(const struct fo_copair_gate_in *in, const struct fo_endpoint *passive,
                           char why[FO_COPAIR_WHY_LEN])
{
    char edge[FO_COPAIR_WHY_LEN - 160];

    if (in->passive == NULL) {
        fo_text_append(why, FO_COPAIR_WHY_LEN, "switchover refused: the passive co-primary %s:%u is not reachable",
                       passive->host, (unsigned)passive->port);
        return FO_EPERM;
    }
    if (!replicates_from(in->passive, in->primary_host, in->primary_port, edge, sizeof(edge))) {
        fo_text_append(why, FO_COPAIR_WHY_LEN,
                       "switchover refused: co-primary ring broken: %s:%u -> %s:%u (%s); the passive would miss the "
                       "active's writes",
                       in->primary_host, (unsigned)in->primary_port, passive->host, (unsigned)passive->port, edge);
        return FO_EPERM;
    }
    if (in->max_lag_s > 0 && in->passive->lag_s > (int64_t)in->max_lag_s) {
        fo_text_append(why, FO_COPAIR_WHY_LEN,
                       "switchover refused: the passive co-primary %s:%u lags %lld s > max_lag_s %u", passive->host,
                       (unsigned)passive->port, (long long)in->passive->lag_s, in->max_lag_s);
        return FO_EPERM;
    }
    return 0;
}

int fo_copair_gate(const struct fo_copair *p, const struct fo_copair_gate_in *in, struct fo_endpoint *target,
                   char why[FO_COPAIR_WHY_LEN])
{
    const struct fo_endpoint *passive;
    char pair[2 * FO_ADDR_LEN + 8];
    bool has_target = in->target_host != NULL && in->target_host[0] != '\0';

    why[0] = '\0';
    memset(target, 0, sizeof(*target));
    if (!p->on) {
        if (has_target) {
            fo_text_append(target->host, sizeof(target->host), "%s", in->target_host);
            target->port = in->target_port;
        }
        return 0;
    }
    pair_text(p, pair, sizeof(pair));
    if ((passive = fo_copair_partner(p, in->primary_host, in->primary_port)) == NULL) {
        fo_text_append(why, FO_COPAIR_WHY_LEN,
                       "the designated primary %s:%u is not one of the co-primaries (%s): only the pair may take the "
                       "writer role",
                       in->primary_host, (unsigned)in->primary_port, pair);
        return FO_EPERM;
    }
    if (has_target && !fo_addr_same(in->target_host, in->target_port, passive->host, passive->port)) {
        fo_text_append(why, FO_COPAIR_WHY_LEN,
                       "only the co-primary pair may take the writer role: %s:%u is not the passive co-primary (%s)",
                       in->target_host, (unsigned)in->target_port, pair);
        return FO_EPERM;
    }
    if (in->kind == FO_COPAIR_SWITCHOVER && gate_switchover(in, passive, why) != 0) return FO_EPERM;
    *target = *passive;
    return 0;
}

/* Copies the entries of a gtid_binlog_state whose server id is not skip into out
 * ("" if none; false if it does not fit or an entry has no server id). */
static bool state_without(const char *state, uint64_t skip, char *out, size_t n)
{
    const char *p = state;
    size_t used = 0;

    out[0] = '\0';
    while (*p != '\0') {
        const char *end = strchr(p, ','), *d1 = strchr(p, '-');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char *rest;
        unsigned long long sid;

        while (len > 0 && p[0] == ' ') p++, len--;
        if (d1 == NULL || (size_t)(d1 - p) >= len) return false;
        sid = strtoull(d1 + 1, &rest, 10);
        if (rest == d1 + 1) return false;
        if (sid != skip) {
            int k = snprintf(out + used, n - used, "%s%.*s", used > 0 ? "," : "", (int)len, p);

            if (k < 0 || (size_t)k >= n - used) return false;
            used += (size_t)k;
        }
        if (end == NULL) break;
        p = end + 1;
    }
    return true;
}

/* 0: the passive has nothing the active lacks; 1: it has (why says which); -1: its
 * state cannot be judged now (why says why). */
static int passive_errant(const struct fo_sample *active, const struct fo_sample *passive, char *why, size_t n)
{
    char own[FO_GTIDSTATE_LEN], errant[256], err[FO_ERRLEN];
    int rc;

    why[0] = '\0';
    if (!active->gtid_binlog_state_known || !passive->gtid_binlog_state_known) {
        fo_text_append(why, n,
                       "a gtid_binlog_state is unknown (NULL or too long): cannot tell whether the passive "
                       "has transactions the active lacks");
        return -1;
    }
    if (!state_without(passive->gtid_binlog_state, active->server_id, own, sizeof(own))) {
        fo_text_append(why, n, "cannot read the passive's gtid_binlog_state '%.120s'", passive->gtid_binlog_state);
        return -1;
    }
    rc = fo_gtid_state_errant(own, active->gtid_binlog_state, errant, sizeof(errant), err);
    if (rc < 0) {
        fo_text_append(why, n, "cannot compare gtid_binlog_states: %s", err);
        return -1;
    }
    if (rc == 0) return 0;
    fo_text_append(why, n,
                   "it has transactions the active lacks (errant GTIDs %s); closing the ring would apply them on the "
                   "writer: left to a DBA",
                   errant);
    return 1;
}

enum fo_copair_ring fo_copair_ring_judge(const struct fo_copair *p, const char *primary_host, uint16_t primary_port,
                                         const struct fo_sample *active, const struct fo_sample *passive,
                                         char why[FO_COPAIR_WHY_LEN])
{
    const struct fo_endpoint *q = fo_copair_partner(p, primary_host, primary_port);
    char edge[FO_COPAIR_WHY_LEN - 160];
    int errant;

    why[0] = '\0';
    if (q == NULL || active == NULL) return FO_COPAIR_RING_OK;
    if (active->is_replica) {
        if (replicates_from(active, q->host, q->port, edge, sizeof(edge))) return FO_COPAIR_RING_OK;
        if (active->n_sources > 1 || !fo_addr_same(active->master_host, active->master_port, q->host, q->port)) {
            fo_text_append(
                why, FO_COPAIR_WHY_LEN,
                "co-primary ring broken: the active %s:%u replicates from %s:%u, not from the passive %s:%u; "
                "left to a DBA",
                primary_host, (unsigned)primary_port, active->master_host, (unsigned)active->master_port, q->host,
                (unsigned)q->port);
            return FO_COPAIR_RING_FOREIGN;
        }
        if (passive == NULL) {
            fo_text_append(why, FO_COPAIR_WHY_LEN,
                           "co-primary ring edge %s:%u -> %s:%u down while the passive is not reachable (%s); it "
                           "reconnects by itself",
                           q->host, (unsigned)q->port, primary_host, (unsigned)primary_port, edge);
            return FO_COPAIR_RING_WAIT;
        }
        fo_text_append(why, FO_COPAIR_WHY_LEN, "co-primary ring broken: %s:%u -> %s:%u (%s)", q->host,
                       (unsigned)q->port, primary_host, (unsigned)primary_port, edge);
        return FO_COPAIR_RING_BROKEN;
    }
    if (passive == NULL) {
        fo_text_append(why, FO_COPAIR_WHY_LEN,
                       "co-primary ring open: the passive %s:%u is not reachable; closed when it has rejoined", q->host,
                       (unsigned)q->port);
        return FO_COPAIR_RING_WAIT;
    }
    if (!passive->read_only || !replicates_from(passive, primary_host, primary_port, edge, sizeof(edge))) {
        if (!passive->read_only) snprintf(edge, sizeof(edge), "it is writable");
        fo_text_append(why, FO_COPAIR_WHY_LEN,
                       "co-primary ring open: the passive %s:%u is not a healthy read-only replica of the active yet "
                       "(%s); restored when it is",
                       q->host, (unsigned)q->port, edge);
        return FO_COPAIR_RING_WAIT;
    }
    if ((errant = passive_errant(active, passive, edge, sizeof(edge))) != 0) {
        fo_text_append(why, FO_COPAIR_WHY_LEN, "co-primary ring open: %s:%u -> %s:%u not closed: %s", q->host,
                       (unsigned)q->port, primary_host, (unsigned)primary_port, edge);
        return errant > 0 ? FO_COPAIR_RING_ERRANT : FO_COPAIR_RING_WAIT;
    }
    fo_text_append(why, FO_COPAIR_WHY_LEN,
                   "co-primary ring restored: the active %s:%u replicates from the passive %s:%u", primary_host,
                   (unsigned)primary_port, q->host, (unsigned)q->port);
    return FO_COPAIR_RING_RESTORE;
}
