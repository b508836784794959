/* Role inference and inconsistency detection (pure); see topology.h for the rules and
 * the exact problem strings. */
#include "controller/decide/topology.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/text.h"

/* Starts a new problem in an instance's problem string. */
static void problem_begin(struct fo_topo_out *o)
{
    if (o->problem[0] != '\0') fo_text_append(o->problem, sizeof(o->problem), "%s", FO_TOPO_P_SEP);
}

static void cluster_problem(struct fo_topo_result *res, const char *text)
{
    if (res->n_problems == FO_TOPO_MAX_PROBLEMS) return;
    res->problems[res->n_problems][0] = '\0';
    fo_text_append(res->problems[res->n_problems], FO_PROBLEM_LEN, "%s", text);
    res->n_problems++;
}

static enum fo_role infer_role(const struct fo_topo_in *x, bool ring_edge)
{
    if (!x->reachable) return FO_ROLE_UNKNOWN;
    assert(x->s != NULL); /* the contract: valid when reachable */
    /* The active co-primary replicates from the passive (the ring): that edge makes
     * it no replica, while it is writable. A read-only one is the passive. */
    if (x->s->is_replica && !(ring_edge && !x->s->read_only)) return FO_ROLE_REPLICA;
    return x->s->read_only || x->other_designated ? FO_ROLE_ORPHAN : FO_ROLE_PRIMARY;
}

/* The instance a replica's reported source names, or -1 if none does. Spellings of
 * one address or name are the same instance (issue 8.12): comparing raw strings made
 * a replica naming its primary "DB1." look as if it replicated from elsewhere. */
static int find_instance(const struct fo_topo_in *in, unsigned n, const char *host, uint16_t port)
{
    unsigned i;

    for (i = 0; i < n; i++)
        if (fo_addr_same(in[i].host, in[i].port, host, port)) return (int)i;
    return -1;
}

/* The other co-primary of instance i, or -1 (no pair, or i is not in it). */
static int partner_of(const struct fo_topo_in *in, unsigned n, unsigned i)
{
    unsigned k;

    if (!in[i].co_primary) return -1;
    for (k = 0; k < n; k++)
        if (k != i && in[k].co_primary) return (int)k;
    return -1;
}

/* True if reachable instance i replicates (a single source) from its co-primary. */
static bool on_ring_edge(const struct fo_topo_in *in, unsigned n, unsigned i)
{
    const struct fo_sample *s = in[i].s;
    int p = partner_of(in, n, i);

    if (p < 0 || !in[i].reachable || !s->is_replica || s->n_sources > 1) return false;
    return find_instance(in, n, s->master_host, s->master_port) == p;
}

/* A state's name, or for a value we do not recognise the text the server sent. */
static const char *thread_name(enum fo_thread_state t, const char *raw)
{
    const char *name = fo_thread_state_name(t);

    if (t == FO_THREAD_UNRECOGNIZED && raw[0] != '\0') return raw;
    return name[0] != '\0' ? name : "?";
}

static bool thread_stopped(enum fo_thread_state t)
{
    return !fo_thread_state_maybe_running(t);
}

/* FO_TOPO_P_STOPPED or FO_TOPO_P_UNSURE with the threads and their errors. */
static void problem_threads(struct fo_topo_out *o, const struct fo_sample *s, const char *what)
{
    const char *lead = ": ";

    problem_begin(o);
    fo_text_append(o->problem, sizeof(o->problem), "%s (IO=%s, SQL=%s)", what,
                   thread_name(s->io_running, s->io_running_text), thread_name(s->sql_running, s->sql_running_text));
    if (s->last_io_error[0] != '\0') {
        fo_text_append(o->problem, sizeof(o->problem), "%sIO error %u: %s", lead, s->last_io_errno, s->last_io_error);
        lead = " | ";
    }
    if (s->last_sql_error[0] != '\0')
        fo_text_append(o->problem, sizeof(o->problem), "%sSQL error %u: %s", lead, s->last_sql_errno,
                       s->last_sql_error);
}

/* FO_TOPO_P_UNSUPPORTED first, so that it is never cut off by the others. */
static void flavour_problem(const struct fo_topo_in *x, const char *last_error, struct fo_topo_out *o)
{
    struct fo_flavour f;

    if (!x->reachable) {
        if (fo_flavour_text_unsupported(last_error)) fo_text_append(o->problem, sizeof(o->problem), "%s", last_error);
        return;
    }
    fo_flavour_classify(x->s->version, &f);
    fo_flavour_problem(&f, o->problem, sizeof(o->problem));
}

/* Role, source and problems of instance i. */
static void infer_instance(const struct fo_topo_in *in, unsigned n, unsigned i, const char *last_error,
                           struct fo_topo_out *o)
{
    const struct fo_sample *s = in[i].s;
    int src;

    memset(o, 0, sizeof(*o));
    o->role = infer_role(&in[i], on_ring_edge(in, n, i));
    flavour_problem(&in[i], last_error, o);
    if (o->role == FO_ROLE_ORPHAN && !s->read_only) {
        problem_begin(o);
        fo_text_append(o->problem, sizeof(o->problem), "%s", FO_TOPO_P_STRAY_WRITER);
    }
    if (o->role != FO_ROLE_REPLICA) return;
    src = find_instance(in, n, s->master_host, s->master_port);
    o->source_host[0] = '\0';
    fo_text_append(o->source_host, sizeof(o->source_host), "%s", src >= 0 ? in[src].host : s->master_host);
    o->source_port = s->master_port;
    if (!s->read_only) {
        problem_begin(o);
        fo_text_append(o->problem, sizeof(o->problem), "%s", FO_TOPO_P_WRITABLE_REPLICA);
    }
    if (src < 0) {
        problem_begin(o);
        fo_text_append(o->problem, sizeof(o->problem), "%s (%s:%u)", FO_TOPO_P_OUTSIDE, s->master_host,
                       (unsigned)s->master_port);
    }
    if (thread_stopped(s->io_running) || thread_stopped(s->sql_running))
        problem_threads(o, s, FO_TOPO_P_STOPPED);
    else if (s->io_running != FO_THREAD_YES || s->sql_running != FO_THREAD_YES)
        problem_threads(o, s, FO_TOPO_P_UNSURE);
}

/* FO_TOPO_P_UNSUPPORTED_CLUSTER: a server's flavour does not change with a planned
 * change, so stale samples count here. */
static void check_flavour(const struct fo_topo_in *in, unsigned n, const char *const *last_errors,
                          struct fo_topo_result *res)
{
    char text[FO_PROBLEM_LEN] = "";
    struct fo_flavour f;
    unsigned i, count = 0;

    for (i = 0; i < n; i++) {
        const char *host = in[i].host ? in[i].host : "";
        if (in[i].reachable) {
            fo_flavour_classify(in[i].s->version, &f);
            if (f.supported) continue;
            fo_text_append(text, sizeof(text), "%s%s%s:%u (%s)", count ? ", " : FO_TOPO_P_UNSUPPORTED_CLUSTER,
                           count ? "" : FO_TOPO_P_UNSUPPORTED_ACTS, host, (unsigned)in[i].port, f.name);
        } else if (last_errors != NULL && fo_flavour_text_unsupported(last_errors[i])) {
            fo_text_append(text, sizeof(text), "%s%s%s:%u %s", count ? ", " : FO_TOPO_P_UNSUPPORTED_CLUSTER,
                           count ? "" : FO_TOPO_P_UNSUPPORTED_ACTS, host, (unsigned)in[i].port,
                           FO_TOPO_P_UNSUPPORTED_PROBE);
        } else {
            continue;
        }
        count++;
    }
    if (count > 0) cluster_problem(res, text);
}

/* A stale sample says nothing about now: it is not writable for this check, whatever
 * it says (a fenced old primary sampled before its fence, beside the promoted one). */
static bool writable(const struct fo_topo_in *x, const struct fo_topo_out *o)
{
    return x->reachable && !o->stale && !x->s->read_only;
}

static void check_writable(const struct fo_topo_in *in, unsigned n, const struct fo_topo_out *out,
                           struct fo_topo_result *res)
{
    char text[FO_PROBLEM_LEN] = "";
    unsigned i, count = 0;

    for (i = 0; i < n; i++) {
        if (!writable(&in[i], &out[i])) continue;
        fo_text_append(text, sizeof(text), "%s%s:%u", count ? ", " : FO_TOPO_P_MULTIPLE_WRITABLE,
                       in[i].host ? in[i].host : "", (unsigned)in[i].port);
        count++;
    }
    if (count > 1) cluster_problem(res, text);
}

/* FO_TOPO_P_RING for the edge partner -> i, judged on i's fresh sample. */
static void check_ring_edge(const struct fo_topo_in *in, unsigned n, unsigned i, const struct fo_topo_out *out,
                            struct fo_topo_result *res)
{
    const struct fo_sample *s = in[i].s;
    struct fo_topo_out scratch;
    char text[FO_PROBLEM_LEN] = "";
    int p = partner_of(in, n, i);

    if (p < 0 || !in[i].reachable || out[i].stale) return;
    fo_text_append(text, sizeof(text), "%s%s:%u -> %s:%u", FO_TOPO_P_RING, in[p].host ? in[p].host : "",
                   (unsigned)in[p].port, in[i].host ? in[i].host : "", (unsigned)in[i].port);
    if (!s->is_replica) {
        fo_text_append(text, sizeof(text), " (not configured: %s:%u replicates from nobody)",
                       in[i].host ? in[i].host : "", (unsigned)in[i].port);
    } else if (!on_ring_edge(in, n, i)) {
        fo_text_append(text, sizeof(text), " (%s:%u replicates from %s:%u)", in[i].host ? in[i].host : "",
                       (unsigned)in[i].port, s->master_host, (unsigned)s->master_port);
    } else if (s->io_running != FO_THREAD_YES || s->sql_running != FO_THREAD_YES) {
        /* The thread text as FO_TOPO_P_STOPPED words it, without its prefix. */
        memset(&scratch, 0, sizeof(scratch));
        problem_threads(&scratch, s, "");
        fo_text_append(text, sizeof(text), "%s", scratch.problem);
    } else {
        return;
    }
    cluster_problem(res, text);
}

static void check_ring(const struct fo_topo_in *in, unsigned n, const struct fo_topo_out *out,
                       struct fo_topo_result *res)
{
    unsigned i;

    for (i = 0; i < n; i++) check_ring_edge(in, n, i, out, res);
}

/* "no primary" unless a primary is reachable or the last known primary is merely
 * unreachable (then it is the detector's case, DESIGN.md §5). */
static void check_primary(const struct fo_topo_in *in, unsigned n, const struct fo_topo_out *out,
                          struct fo_topo_result *res)
{
    unsigned i, primaries = 0;
    bool lost_primary = false;

    res->primary = -1;
    for (i = 0; i < n; i++) {
        if (out[i].role == FO_ROLE_PRIMARY && !out[i].stale) {
            primaries++;
            res->primary = (int)i;
        }
        lost_primary = lost_primary || (!in[i].reachable && in[i].was_primary) || out[i].stale;
    }
    if (primaries != 1) res->primary = -1;
    if (n > 0 && primaries == 0 && !lost_primary) cluster_problem(res, FO_TOPO_P_NO_PRIMARY);
}

void fo_topology_infer_errors(const struct fo_topo_in *in, unsigned n, uint64_t changed_ms,
                              const char *const *last_errors, struct fo_topo_out *out, struct fo_topo_result *res)
{
    unsigned i;

    res->n_problems = 0;
    res->n_stale = 0;
    for (i = 0; i < n; i++) {
        infer_instance(in, n, i, last_errors != NULL ? last_errors[i] : NULL, &out[i]);
        out[i].stale = in[i].reachable && in[i].started_ms < changed_ms;
        if (out[i].stale) res->n_stale++;
    }
    check_flavour(in, n, last_errors, res);
    check_primary(in, n, out, res);
    check_writable(in, n, out, res);
    check_ring(in, n, out, res);
}

void fo_topology_infer_at(const struct fo_topo_in *in, unsigned n, uint64_t changed_ms, struct fo_topo_out *out,
                          struct fo_topo_result *res)
{
    fo_topology_infer_errors(in, n, changed_ms, NULL, out, res);
}

void fo_topology_infer(const struct fo_topo_in *in, unsigned n, struct fo_topo_out *out, struct fo_topo_result *res)
{
    fo_topology_infer_at(in, n, 0, out, res);
}

const char *fo_role_name(enum fo_role r)
{
    switch (r) {
    case FO_ROLE_UNKNOWN: return "unknown";
    case FO_ROLE_PRIMARY: return "primary";
    case FO_ROLE_REPLICA: return "replica";
    case FO_ROLE_ORPHAN: return "orphan";
    }
    return "invalid";
}
