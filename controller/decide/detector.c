/* Dead-primary detection (pure); see detector.h for the rules and their order.
 *
 * The verdict is the gate in front of every automatic failover (DESIGN.md §5), so
 * each rule errs towards "no failover": votes older than the window are ignored, a
 * controller that voted twice counts once (its freshest verdict), and a replica
 * sample older than the window says nothing about the primary. The reason string is
 * what `failoverctl why` shows a DBA, so it names the votes and every replica. */
#include "controller/decide/detector.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/text.h"

/* Appends "host:port", bracketing IPv6 literals as the configuration writes them. */
static void append_addr(char *buf, size_t len, const char *host, uint16_t port)
{
    if (host == NULL) host = "";
    if (strchr(host, ':') != NULL)
        fo_text_append(buf, len, "[%s]:%u", host, (unsigned)port);
    else
        fo_text_append(buf, len, "%s:%u", host, (unsigned)port);
}

/* ---- votes ---------------------------------------------------------------------- */

/* A controller's verdict is its freshest one; among equally fresh duplicates, the
 * first. True if votes[k] is that verdict for its node. */
static bool is_current_vote(const struct fo_detect_in *in, unsigned k)
{
    unsigned m;

    for (m = 0; m < in->n_votes; m++) {
        if (m == k || in->votes[m].node_id != in->votes[k].node_id) continue;
        if (in->votes[m].age_ms < in->votes[k].age_ms) return false;
        if (in->votes[m].age_ms == in->votes[k].age_ms && m < k) return false;
    }
    return true;
}

/* Counts DOWN votes within the window (the leader's own DOWN is one of them) and
 * the DOWN votes ignored because they are too old. */
static void count_votes(const struct fo_detect_in *in, unsigned *down, unsigned *stale)
{
    unsigned k;

    *down = in->leader_view == FO_HEALTH_DOWN ? 1 : 0;
    *stale = 0;
    for (k = 0; k < in->n_votes; k++) {
        const struct fo_detect_vote *v = &in->votes[k];

        if (!v->down || !is_current_vote(in, k)) continue;
        if (v->age_ms <= in->window_ms)
            (*down)++;
        else
            (*stale)++;
    }
}

/* ---- replicas ------------------------------------------------------------------- */

/* A replica of the primary whose last successful sample is recent enough to speak
 * for the present. */
static bool replica_fresh(const struct fo_detect_in *in, const struct fo_detect_replica *r)
{
    return r->from_primary && r->reachable && r->sample_age_ms <= in->window_ms;
}

/* The replica says it is not connected to the primary: its IO thread is not running
 * or retrying, or it runs but has heard nothing from the primary for longer than the
 * arrival threshold (a host cut off looks like that until slave_net_timeout). */
static bool confirms_down(const struct fo_detect_replica *r)
{
    return !fo_thread_state_maybe_running(r->io) || (r->io == FO_THREAD_YES && r->silent);
}

/* " IO=Yes but no event or heartbeat for 2.1 s" (tenths cut, never rounded up, so the
 * text never claims more silence than was measured). */
static void append_silence(char *buf, size_t len, const struct fo_detect_replica *r)
{
    fo_text_append(buf, len, " IO=Yes but no event or heartbeat for %llu.%llu s",
                   (unsigned long long)(r->silent_ms / 1000), (unsigned long long)(r->silent_ms % 1000 / 100));
}

/* The IO state as the DBA would see it: the server's own text when we do not
 * recognise it, else the state's name. */
static const char *io_name(const struct fo_detect_replica *r)
{
    const char *s = fo_thread_state_name(r->io);

    if (r->io == FO_THREAD_UNRECOGNIZED && r->io_text != NULL && r->io_text[0] != '\0') return r->io_text;
    return s[0] != '\0' ? s : "unknown";
}

/* "host:port IO=Connecting", "host:port unreachable", ... for one replica. */
static void append_replica(char *buf, size_t len, const struct fo_detect_in *in, const struct fo_detect_replica *r)
{
    append_addr(buf, len, r->host, r->port);
    if (!r->from_primary)
        fo_text_append(buf, len, " replicates from another source");
    else if (!r->reachable)
        fo_text_append(buf, len, " unreachable");
    else if (r->sample_age_ms > in->window_ms)
        fo_text_append(buf, len, " sample %llu ms old", (unsigned long long)r->sample_age_ms);
    else if (r->io == FO_THREAD_YES && r->silent)
        append_silence(buf, len, r);
    else
        fo_text_append(buf, len, " IO=%s", io_name(r));
}

static void append_replica_list(char *buf, size_t len, const struct fo_detect_in *in)
{
    unsigned i;

    for (i = 0; i < in->n_replicas; i++) {
        if (i > 0) fo_text_append(buf, len, ", ");
        append_replica(buf, len, in, &in->replicas[i]);
    }
}

/* What the reasons call the judged server and what is not done on a doubtful
 * replica's word (detector.h: subject, action). */
static const char *subj(const struct fo_detect_in *in)
{
    return in->subject != NULL && in->subject[0] != '\0' ? in->subject : "primary";
}

static const char *action(const struct fo_detect_in *in)
{
    return in->action != NULL && in->action[0] != '\0' ? in->action : "failover";
}

/* Rule 4, one kind of replica: names every fresh replica whose IO state is YES and
 * that still hears the primary (sure == true) or one that may be connected without
 * saying so (sure == false), after a "; " when something was written before. Returns
 * how many. */
static unsigned name_connected(const struct fo_detect_in *in, struct fo_detect_out *out, bool sure)
{
    char *reason = out->reason;
    size_t len = sizeof(out->reason);
    bool lead = reason[0] != '\0';
    unsigned i, count = 0;

    for (i = 0; i < in->n_replicas; i++) {
        const struct fo_detect_replica *r = &in->replicas[i];

        if (!replica_fresh(in, r) || confirms_down(r) || (r->io == FO_THREAD_YES) != sure) continue;
        if (count > 0 || lead) fo_text_append(reason, len, count > 0 ? ", " : "; ");
        append_addr(reason, len, r->host, r->port);
        if (!sure) fo_text_append(reason, len, " (IO=%s)", io_name(r));
        count++;
    }
    if (count > 0 && sure)
        fo_text_append(reason, len, " still %s from the %s (IO=Yes): unreachable only from the controllers",
                       count == 1 ? "replicates" : "replicate", subj(in));
    if (count > 0 && !sure)
        fo_text_append(reason, len, " may still be connected to the %s: no %s on %s word", subj(in), action(in),
                       count == 1 ? "its" : "their");
    return count;
}

/* Rule 4: names every fresh replica that is, or may still be, connected to the
 * primary. Returns how many there are (0: nothing written). */
static unsigned still_replicating(const struct fo_detect_in *in, struct fo_detect_out *out)
{
    unsigned count = name_connected(in, out, true);

    count += name_connected(in, out, false);
    if (count > 0)
        fo_text_append(out->reason, sizeof(out->reason), " (down for %u/%u controllers)", out->down_votes,
                       in->n_voters);
    return count;
}

static unsigned fresh_replicas(const struct fo_detect_in *in)
{
    unsigned i, count = 0;

    for (i = 0; i < in->n_replicas; i++)
        if (replica_fresh(in, &in->replicas[i])) count++;
    return count;
}

/* ---- verdict -------------------------------------------------------------------- */

/* Rule 2: the leader's own view, when it is not DOWN. */
static enum fo_verdict leader_not_down(const struct fo_detect_in *in, struct fo_detect_out *out)
{
    switch (in->leader_view) {
    case FO_HEALTH_UP:
        fo_text_append(out->reason, sizeof(out->reason), "the leader sees the %s up", subj(in));
        return FO_VERDICT_OK;
    case FO_HEALTH_SUSPECT:
        fo_text_append(out->reason, sizeof(out->reason), "%s suspect: the leader's probes fail but it is not down yet",
                       subj(in));
        return FO_VERDICT_SUSPECT;
    default:
        fo_text_append(out->reason, sizeof(out->reason), "the leader has not probed the %s yet", subj(in));
        return FO_VERDICT_OK;
    }
}

static enum fo_verdict decide(const struct fo_detect_in *in, struct fo_detect_out *out, unsigned stale)
{
    char *r = out->reason;
    size_t len = sizeof(out->reason);

    if (in->tilt) {
        fo_text_append(r, len,
                       "tilt: no decision until the grace period after a loop stall or "
                       "clock jump has passed");
        return FO_VERDICT_TILT;
    }
    if (in->leader_view != FO_HEALTH_DOWN) return leader_not_down(in, out);
    if (out->down_votes < out->needed) {
        fo_text_append(r, len, "%s down for %u/%u controllers, %u needed", subj(in), out->down_votes, in->n_voters,
                       out->needed);
        if (stale > 0) fo_text_append(r, len, " (%u stale %s ignored)", stale, stale == 1 ? "vote" : "votes");
        return FO_VERDICT_NOT_CONFIRMED;
    }
    if (still_replicating(in, out) > 0) return FO_VERDICT_UNREACHABLE;
    if (fresh_replicas(in) == 0) {
        fo_text_append(r, len, "%s down for %u/%u controllers but no replica of it is reachable, so %s", subj(in),
                       out->down_votes, in->n_voters,
                       strcmp(action(in), "failover") != 0 ? "nobody can be checked or moved"
                                                           : "no candidate can be checked");
        if (in->n_replicas == 0)
            fo_text_append(r, len, " (no replicas known)");
        else
            fo_text_append(r, len, "; replicas: ");
        append_replica_list(r, len, in);
        return FO_VERDICT_NO_REPLICAS;
    }
    fo_text_append(r, len, "%s down for %u/%u controllers; replicas: ", subj(in), out->down_votes, in->n_voters);
    append_replica_list(r, len, in);
    return FO_VERDICT_DEAD;
}

void fo_detect(const struct fo_detect_in *in, struct fo_detect_out *out)
{
    unsigned stale;

    memset(out, 0, sizeof(*out));
    /* Counted before any rule so that every verdict reports them. */
    count_votes(in, &out->down_votes, &stale);
    out->needed = in->n_voters / 2 + 1;
    out->verdict = decide(in, out, stale);
}

const char *fo_verdict_name(enum fo_verdict v)
{
    switch (v) {
    case FO_VERDICT_OK: return "ok";
    case FO_VERDICT_SUSPECT: return "suspect";
    case FO_VERDICT_TILT: return "tilt";
    case FO_VERDICT_NOT_CONFIRMED: return "not_confirmed";
    case FO_VERDICT_UNREACHABLE: return "unreachable_primary";
    case FO_VERDICT_NO_REPLICAS: return "no_replicas";
    case FO_VERDICT_DEAD: return "dead_primary";
    }
    return "invalid";
}
