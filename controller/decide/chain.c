/* Intermediate primaries: which members are sources of others, whether a dead one is
 * confirmed (the detector's rule), and where its replicas go (chain.h). */
#include "controller/decide/chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/decide/gtid.h"

static bool is_primary_addr(const struct fo_chain_in *in, const char *host, uint16_t port)
{
    return in->primary_host != NULL && in->primary_host[0] != '\0' &&
           fo_addr_same(host, port, in->primary_host, in->primary_port);
}

static int index_of(const struct fo_chain_in *in, unsigned n, const char *host, uint16_t port)
{
    unsigned k;

    for (k = 0; k < n; k++)
        if (fo_addr_same(host, port, in->m[k].host, in->m[k].port)) return (int)k;
    return -1;
}

/* Member k's source as far as we know: its sample's (one source only), else the
 * store's last record when it is not reachable now. */
static bool source_of(const struct fo_chain_member *m, const char **host, uint16_t *port)
{
    if (m->s != NULL) {
        if (!m->s->is_replica || m->s->n_sources != 1) return false;
        *host = m->s->master_host;
        *port = m->s->master_port;
        return true;
    }
    if (m->stored_source_host == NULL || m->stored_source_host[0] == '\0') return false;
    *host = m->stored_source_host;
    *port = m->stored_source_port;
    return true;
}

static void link_parents(const struct fo_chain_in *in, unsigned n, struct fo_chain_out *out)
{
    const char *h;
    uint16_t p;
    unsigned k, step;

    out->primary = -1;
    for (k = 0; k < n; k++) {
        out->parent[k] = FO_CHAIN_NO_PARENT;
        out->depth[k] = FO_CHAIN_NO_DEPTH;
        if (is_primary_addr(in, in->m[k].host, in->m[k].port)) {
            out->primary = (int)k;
            continue;
        }
        if (source_of(&in->m[k], &h, &p)) {
            int up = index_of(in, n, h, p);
            out->parent[k] = up == (int)k ? FO_CHAIN_NO_PARENT : up;
        }
    }
    if (out->primary >= 0) out->depth[out->primary] = 0;
    /* Walking up at most n steps bounds a loop of sources (which never reaches the
     * primary and so keeps FO_CHAIN_NO_DEPTH). */
    for (k = 0; k < n; k++) {
        int a = (int)k;
        for (step = 0; step <= n && a >= 0 && a != out->primary; step++) a = out->parent[a];
        if (a >= 0 && a == out->primary) out->depth[k] = step;
    }
}

/* A replica serves its replicas only what its binary log holds: without
 * log_slave_updates (or log_bin) it applies the primary's transactions but cannot pass
 * them on, and a leaf repointed to it would stop on error 1236 (or skip a domain). Its
 * gtid_binlog_pos must hold its gtid_current_pos; an unreadable one counts as no. */
static bool binlogs_what_it_applies(const struct fo_sample *s)
{
    struct fo_mariadb_pos bin, cur;
    char err[FO_ERRLEN];
    enum fo_gtid_cmp r;

    if (fo_gtid_mariadb_parse(s->gtid_binlog_pos, &bin, err) != 0 ||
        fo_gtid_mariadb_parse(s->gtid_current_pos, &cur, err) != 0)
        return false;
    r = fo_gtid_mariadb_compare(&bin, &cur);
    return r == FO_GTID_EQUAL || r == FO_GTID_AHEAD;
}

/* A member that can take the replicas of a dead intermediate (chain.h: healthy). */
static bool healthy_source(const struct fo_chain_in *in, const struct fo_chain_out *out, unsigned k)
{
    const struct fo_chain_member *m = &in->m[k];
    const struct fo_sample *s = m->s;

    if (m->maintenance || m->health != FO_HEALTH_UP || s == NULL) return false;
    if ((int)k == out->primary) return true;
    if (!s->is_replica || s->n_sources != 1 || out->depth[k] == FO_CHAIN_NO_DEPTH) return false;
    if (s->io_running != FO_THREAD_YES || s->sql_running != FO_THREAD_YES) return false;
    if (s->last_io_errno != 0 || s->last_sql_errno != 0) return false;
    return m->arrival != FO_ARRIVAL_SILENT && binlogs_what_it_applies(s);
}

static void addr_text(const struct fo_chain_member *m, char *out, size_t n)
{
    snprintf(out, n, strchr(m->host, ':') != NULL ? "[%s]:%u" : "%s:%u", m->host, m->port);
}

/* Nearest healthy ancestor of intermediate x (its source first), or -1 with why. */
static int pick_target(const struct fo_chain_in *in, const struct fo_chain_out *out, unsigned n,
                       struct fo_chain_inter *x)
{
    char a[FO_HOST_LEN + 16];
    int k = out->parent[x->idx];
    unsigned step, skipped = 0;

    if (k < 0 && out->primary >= 0 && out->depth[x->idx] == FO_CHAIN_NO_DEPTH) {
        /* Its source is unknown or outside the cluster: the primary holds everything
         * that came from the cluster. */
        k = out->primary;
    }
    for (step = 0; step <= n && k >= 0; step++, k = out->parent[k]) {
        if (healthy_source(in, out, (unsigned)k)) {
            addr_text(&in->m[k], a, sizeof(a));
            snprintf(x->why, sizeof(x->why), "%s %s%s", step == 0 && skipped == 0 ? "its source" : "its ancestor", a,
                     k == out->primary ? ", the primary" : ", a healthy replica");
            return k;
        }
        skipped++;
        if (k == out->primary) break;
    }
    snprintf(x->why, sizeof(x->why), "%s",
             out->primary < 0 ? "the primary is not a registered member: no healthy ancestor"
                              : "no healthy ancestor (the primary is not healthy)");
    return -1;
}

unsigned fo_chain_replicas(const struct fo_chain_member *m, unsigned n, const struct fo_chain_out *out, unsigned idx,
                           struct fo_detect_replica reps[FO_CHAIN_MAX])
{
    unsigned k, nr = 0;

    if (n > FO_CHAIN_MAX) n = FO_CHAIN_MAX;
    for (k = 0; k < n; k++) {
        const struct fo_chain_member *r = &m[k];
        if (out->parent[k] != (int)idx) continue;
        memset(&reps[nr], 0, sizeof(reps[nr]));
        reps[nr].host = r->host;
        reps[nr].port = r->port;
        reps[nr].reachable = r->s != NULL;
        reps[nr].sample_age_ms = r->sample_age_ms;
        reps[nr].from_primary = true; /* from the intermediate */
        if (r->s != NULL) {
            reps[nr].io = r->s->io_running;
            reps[nr].io_text = r->s->io_running_text[0] != '\0' ? r->s->io_running_text : NULL;
            reps[nr].silent = r->arrival == FO_ARRIVAL_SILENT;
            reps[nr].silent_ms = r->silent_ms;
        }
        nr++;
    }
    return nr;
}

static void judge(const struct fo_chain_in *in, const struct fo_chain_out *out, unsigned n, struct fo_chain_inter *x)
{
    struct fo_detect_replica reps[FO_CHAIN_MAX];
    const struct fo_chain_member *im = &in->m[x->idx];
    struct fo_detect_in d;
    unsigned nr = fo_chain_replicas(in->m, n, out, x->idx, reps);

    x->n_replicas = nr;
    x->target = -1;
    if (im->maintenance) {
        x->state = FO_CHAIN_MAINTENANCE;
        snprintf(x->det.reason, sizeof(x->det.reason), "in maintenance: its replicas are left alone");
        return;
    }
    memset(&d, 0, sizeof(d));
    d.leader_view = im->health;
    d.n_voters = in->n_voters;
    d.votes = im->votes;
    d.n_votes = im->n_votes;
    d.window_ms = in->window_ms;
    d.replicas = reps;
    d.n_replicas = nr;
    d.tilt = in->tilt;
    d.subject = "intermediate primary"; /* the reasons name what is judged */
    d.action = "repoint";
    fo_detect(&d, &x->det);
    if (x->det.verdict == FO_VERDICT_OK || x->det.verdict == FO_VERDICT_SUSPECT) {
        x->state = FO_CHAIN_ALIVE;
    } else if (x->det.verdict != FO_VERDICT_DEAD) {
        x->state = FO_CHAIN_NOT_CONFIRMED;
    } else {
        x->target = pick_target(in, out, n, x);
        x->state = x->target >= 0 ? FO_CHAIN_DEAD : FO_CHAIN_DEAD_NO_TARGET;
    }
}

void fo_chain_plan(const struct fo_chain_in *in, struct fo_chain_out *out)
{
    unsigned n = in->n < FO_CHAIN_MAX ? in->n : FO_CHAIN_MAX, k, j;

    out->n_inter = 0;
    link_parents(in, n, out);
    for (k = 0; k < n; k++) {
        struct fo_chain_inter *x;
        if ((int)k == out->primary) continue;
        for (j = 0; j < n && out->parent[j] != (int)k; j++) {
        }
        if (j == n) continue; /* nobody replicates from it */
        x = &out->inter[out->n_inter++];
        memset(x, 0, sizeof(*x));
        x->idx = k;
        judge(in, out, n, x);
    }
}

const struct fo_chain_inter *fo_chain_find(const struct fo_chain_out *out, unsigned idx)
{
    unsigned k;

    for (k = 0; k < out->n_inter; k++)
        if (out->inter[k].idx == idx) return &out->inter[k];
    return NULL;
}

const char *fo_chain_state_name(enum fo_chain_state st)
{
    switch (st) {
    case FO_CHAIN_ALIVE: return "alive";
    case FO_CHAIN_NOT_CONFIRMED: return "not_confirmed";
    case FO_CHAIN_MAINTENANCE: return "maintenance";
    case FO_CHAIN_DEAD: return "dead";
    case FO_CHAIN_DEAD_NO_TARGET: return "dead_no_target";
    }
    return "invalid";
}
