/* Choosing the replica to promote (pure); see candidate.h for the rules.
 *
 * Three passes (DESIGN.md §6 step 3): every replica is first checked on its own
 * (plus the version and errant-GTID rules, which look at the others); then the most
 * advanced eligible position wins, ties broken by rule, lag and input order; last,
 * every eligible replica that was not chosen gets a reason naming the chosen one.
 *
 * The function has no allocation and no fixed limit on n: during the passes an
 * eligible replica is one whose reason is still empty, and positions are parsed
 * again where they are needed (parsing is cheap next to a failover). */
#include "controller/decide/candidate.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

#include "controller/decide/flavour.h"
#include "controller/decide/gtid.h"

#define ELLIPSIS "..."
#define ADDR_TEXT_LEN 128 /* "host:port" as shown in reasons */
#define POS_SHOW_LEN 112  /* a position quoted in a reason, cut with "..." */
#define POS_TEXT_LEN (FO_GTID_MAX * 48)
#define QUOTE_MAX 64 /* malformed text quoted in a reason */

/* ---- bounded text --------------------------------------------------------------- */

/* "host:port", bracketing IPv6 literals as the configuration writes them. */
static const char *addr_text(const struct fo_cand_in *c, char buf[ADDR_TEXT_LEN])
{
    const char *host = c->host != NULL ? c->host : "";

    buf[0] = '\0';
    if (strchr(host, ':') != NULL)
        fo_text_append(buf, ADDR_TEXT_LEN, "[%s]:%u", host, (unsigned)c->port);
    else
        fo_text_append(buf, ADDR_TEXT_LEN, "%s:%u", host, (unsigned)c->port);
    return buf;
}

/* Canonical text of a position for a reason: "empty" for no GTID, cut with "...". */
static const char *pos_text(const struct fo_mariadb_pos *p, char buf[POS_SHOW_LEN])
{
    char full[POS_TEXT_LEN];

    buf[0] = '\0';
    if (p->n == 0)
        fo_text_append(buf, POS_SHOW_LEN, "empty");
    else if (fo_gtid_mariadb_format(p, full, sizeof(full)) != 0)
        fo_text_append(buf, POS_SHOW_LEN, "(unprintable)");
    else
        fo_text_append(buf, POS_SHOW_LEN, "%s", full);
    return buf;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* ---- per-replica facts ---------------------------------------------------------- */

struct version {
    unsigned long major, minor;
};

/* major.minor from @@version ("10.11.6-MariaDB-0+deb12u1" -> 10.11). */
static bool parse_version(const char *s, struct version *v)
{
    char *end;

    if (s[0] < '0' || s[0] > '9') return false;
    errno = 0;
    v->major = strtoul(s, &end, 10);
    if (errno != 0 || end[0] != '.' || end[1] < '0' || end[1] > '9') return false;
    v->minor = strtoul(end + 1, &end, 10);
    return errno == 0;
}

static int version_cmp(const struct version *a, const struct version *b)
{
    if (a->major != b->major) return a->major < b->major ? -1 : 1;
    if (a->minor != b->minor) return a->minor < b->minor ? -1 : 1;
    return 0;
}

static bool reachable(const struct fo_cand_in *c)
{
    return c->reachable && c->s != NULL;
}

static bool current_pos(const struct fo_cand_in *c, struct fo_mariadb_pos *p)
{
    char err[FO_ERRLEN];

    return reachable(c) && fo_gtid_mariadb_parse(c->s->gtid_current_pos, p, err) == 0;
}

static uint64_t seqno_in(const struct fo_mariadb_pos *p, uint32_t domain)
{
    unsigned i;

    for (i = 0; i < p->n; i++)
        if (p->g[i].domain == domain) return p->g[i].seqno;
    return 0;
}

static uint64_t pos_total(const struct fo_mariadb_pos *p)
{
    uint64_t sum = 0;
    unsigned i;

    for (i = 0; i < p->n; i++) sum = p->g[i].seqno > UINT64_MAX - sum ? UINT64_MAX : sum + p->g[i].seqno;
    return sum;
}

/* Preference among equally advanced replicas: lower is better. */
static int rule_rank(enum fo_rule r)
{
    switch (r) {
    case FO_RULE_PREFER: return 0;
    case FO_RULE_NEUTRAL: return 1;
    default: return 2;
    }
}

/* Unknown lag (-1) sorts after every known lag. */
static int64_t lag_key(const struct fo_cand_in *c)
{
    return c->s->lag_s < 0 ? INT64_MAX : c->s->lag_s;
}

/* ---- pass 1: eligibility -------------------------------------------------------- */

struct ctx {
    const struct fo_cand_in *in;
    unsigned n;
    const struct fo_cand_opts *opts;
    char (*reasons)[FO_CAND_REASON_LEN];
    struct fo_mariadb_pos old; /* old primary's position; empty if unknown or malformed */
    bool old_malformed;
    unsigned n_eligible; /* after pass 1, before pass 3 fills the eligible ones' reasons */
};

static bool eligible(const struct ctx *x, unsigned i)
{
    return x->reasons[i][0] == '\0';
}

static void skip(const struct ctx *x, unsigned i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets replica i's reason to "skipped: " + the formatted text. */
static void skip(const struct ctx *x, unsigned i, const char *fmt, ...)
{
    char *r = x->reasons[i];
    size_t prefix = sizeof("skipped: ") - 1;
    va_list ap;
    int w;

    memcpy(r, "skipped: ", prefix + 1);
    va_start(ap, fmt);
    w = vsnprintf(r + prefix, FO_CAND_REASON_LEN - prefix, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= FO_CAND_REASON_LEN - prefix) fo_text_mark_truncated(r, FO_CAND_REASON_LEN);
}

/* A position must parse for the replica to be compared (or checked for errant
 * GTIDs); anything else is skipped with the parser's reason. */
static bool check_pos(const struct ctx *x, unsigned i, const char *name, const char *text, struct fo_mariadb_pos *p)
{
    char err[FO_ERRLEN];

    if (fo_gtid_mariadb_parse(text, p, err) == 0) return true;
    skip(x, i, "malformed %s \"%.*s%s\" (%s)", name, QUOTE_MAX, text, strlen(text) > QUOTE_MAX ? ELLIPSIS : "", err);
    return false;
}

/* An errant GTID (candidate.h): written on replica i itself (its own server_id) and
 * beyond what the old primary and every other reachable replica have in its domain.
 * Promoting it would hand the others a transaction the old primary never had. */
static bool find_errant(const struct ctx *x, unsigned i, const struct fo_mariadb_pos *bin,
                        struct fo_mariadb_gtid *errant)
{
    uint64_t seen[FO_GTID_MAX];
    struct fo_mariadb_pos other;
    unsigned j, k;

    for (k = 0; k < bin->n; k++) seen[k] = seqno_in(&x->old, bin->g[k].domain);
    for (j = 0; j < x->n; j++) {
        if (j == i || !current_pos(&x->in[j], &other)) continue;
        for (k = 0; k < bin->n; k++) {
            uint64_t s = seqno_in(&other, bin->g[k].domain);
            seen[k] = s > seen[k] ? s : seen[k];
        }
    }
    for (k = 0; k < bin->n; k++) {
        if (bin->g[k].server == x->in[i].s->server_id && bin->g[k].seqno > seen[k]) {
            *errant = bin->g[k];
            return true;
        }
    }
    return false;
}

/* A replica must never replicate from a newer primary: finds the reachable replica
 * with the oldest major.minor older than v (-1 if none). */
static int oldest_older(const struct ctx *x, unsigned i, const struct version *v, struct version *oldest)
{
    struct version w;
    unsigned j;
    int found = -1;

    for (j = 0; j < x->n; j++) {
        if (j == i || !reachable(&x->in[j]) || !parse_version(x->in[j].s->version, &w)) continue;
        if (version_cmp(&w, v) < 0 && (found < 0 || version_cmp(&w, oldest) < 0)) {
            *oldest = w;
            found = (int)j;
        }
    }
    return found;
}

/* The rules that need only the replica's own sample, plus parsing its positions. */
static bool check_own(const struct ctx *x, unsigned i, struct fo_mariadb_pos *bin, struct version *v)
{
    const struct fo_cand_in *c = &x->in[i];
    struct fo_mariadb_pos cur;

    if (!reachable(c))
        skip(x, i, "unreachable");
    else if (c->rule == FO_RULE_MUST_NOT)
        skip(x, i, "must_not");
    else if (c->maintenance)
        skip(x, i, "in maintenance");
    else if (c->quarantined)
        skip(x, i, "quarantined");
    else if (c->relay_unapplied)
        skip(x, i, "relay log not applied within the wait (its transactions would be lost)");
    else if (c->s->n_sources > 1) /* RESET SLAVE ALL would drop its other sources too */
        skip(x, i, "multi-source replica (%u sources): not promoted", c->s->n_sources);
    else if (!check_pos(x, i, "gtid_current_pos", c->s->gtid_current_pos, &cur) ||
             !check_pos(x, i, "gtid_binlog_pos", c->s->gtid_binlog_pos, bin))
        return false;
    else if (!parse_version(c->s->version, v))
        skip(x, i, "unparsable version \"%.*s\"", QUOTE_MAX, c->s->version);
    else if (c->s->last_sql_errno != 0)
        skip(x, i, "SQL thread error %u%s%s", c->s->last_sql_errno, c->s->last_sql_error[0] != '\0' ? ": " : "",
             c->s->last_sql_error);
    else if (x->opts->max_lag_s > 0 && c->s->lag_s > (int64_t)x->opts->max_lag_s)
        skip(x, i, "lag %lld s > max_lag_s %u", (long long)c->s->lag_s, x->opts->max_lag_s);
    else
        return true;
    return false;
}

/* Switchover (require_old_pos): i's gtid_current_pos must contain the old primary's
 * final position in every domain. */
static bool has_old_pos(const struct ctx *x, unsigned i)
{
    struct fo_mariadb_pos cur;
    enum fo_gtid_cmp r;

    if (x->old_malformed) {
        skip(x, i, "the old primary's final position is unreadable");
        return false;
    }
    if (x->old.n == 0) return true; /* it never wrote a transaction */
    if (!current_pos(&x->in[i], &cur)) return false;
    r = fo_gtid_mariadb_compare(&cur, &x->old);
    if (r == FO_GTID_BEHIND || r == FO_GTID_DIVERGED) {
        skip(x, i, "has not reached the old primary's final position %.*s", QUOTE_MAX, x->opts->old_primary_pos);
        return false;
    }
    return true;
}

static void check_eligible(const struct ctx *x, unsigned i)
{
    struct fo_mariadb_pos bin;
    struct fo_mariadb_gtid g;
    struct version v = {0, 0}, old = {0, 0};
    char addr[ADDR_TEXT_LEN];
    int j;

    x->reasons[i][0] = '\0';
    if (!check_own(x, i, &bin, &v)) return;
    if (x->opts->require_old_pos && !has_old_pos(x, i)) return;
    if (find_errant(x, i, &bin, &g)) {
        skip(x, i, "errant GTID %u-%u-%llu (written on the replica itself)", (unsigned)g.domain, (unsigned)g.server,
             (unsigned long long)g.seqno);
        return;
    }
    j = oldest_older(x, i, &v, &old);
    if (j >= 0)
        skip(x, i, "version %lu.%lu newer than replica %s (%lu.%lu)", v.major, v.minor, addr_text(&x->in[j], addr),
             old.major, old.minor);
}

/* ---- pass 2: the most advanced -------------------------------------------------- */

/* Position of eligible replica i (it parsed in pass 1). */
static void pos_of(const struct ctx *x, unsigned i, struct fo_mariadb_pos *p)
{
    bool ok = current_pos(&x->in[i], p);

    assert(ok);
    (void)ok;
}

/* True if no eligible replica (of rule rank `rank`; any if rank < 0) has something
 * i's position lacks (with `strict` false, i need only not be behind any: the maximal
 * ones when positions diverge). */
static bool advanced_among(const struct ctx *x, unsigned i, bool strict, int rank)
{
    struct fo_mariadb_pos a, b;
    enum fo_gtid_cmp r;
    unsigned j;

    pos_of(x, i, &a);
    for (j = 0; j < x->n; j++) {
        if (j == i || !eligible(x, j) || (rank >= 0 && rule_rank(x->in[j].rule) != rank)) continue;
        pos_of(x, j, &b);
        r = fo_gtid_mariadb_compare(&a, &b);
        if (r == FO_GTID_BEHIND || (strict && r == FO_GTID_DIVERGED)) return false;
    }
    return true;
}

static bool advanced(const struct ctx *x, unsigned i, bool strict)
{
    return advanced_among(x, i, strict, -1);
}

/* Tie-break between equally good a and b (a before b in input): true if b wins. */
static bool tie_prefers(const struct ctx *x, unsigned a, unsigned b)
{
    int ra = rule_rank(x->in[a].rule), rb = rule_rank(x->in[b].rule);

    if (ra != rb) return rb < ra;
    return lag_key(&x->in[b]) < lag_key(&x->in[a]);
}

static uint64_t total_of(const struct ctx *x, unsigned i)
{
    struct fo_mariadb_pos p;

    pos_of(x, i, &p);
    return pos_total(&p);
}

/* The winner among eligible replicas, or -1 if none is eligible. *diverged is set
 * when no position is equal to or ahead of every other: then the one with the most
 * transactions among those behind no other wins, and the summary says so. */
static int pick(const struct ctx *x, bool *diverged)
{
    unsigned i;
    int best = -1;

    *diverged = false;
    for (i = 0; i < x->n; i++)
        if (eligible(x, i) && advanced(x, i, true) && (best < 0 || tie_prefers(x, (unsigned)best, i))) best = (int)i;
    if (best >= 0) return best;
    for (i = 0; i < x->n; i++) {
        uint64_t t;

        if (!eligible(x, i) || !advanced(x, i, false)) continue;
        *diverged = true;
        t = total_of(x, i);
        if (best < 0 || t > total_of(x, (unsigned)best) ||
            (t == total_of(x, (unsigned)best) && tie_prefers(x, (unsigned)best, i)))
            best = (int)i;
    }
    return best;
}

/* ---- pass 3: reasons ------------------------------------------------------------ */

/* Why w beats l when neither position wins: "rule (prefer vs neutral)", ... */
static void tie_text(const struct ctx *x, unsigned w, unsigned l, char *buf, size_t len)
{
    const struct fo_cand_in *a = &x->in[w], *b = &x->in[l];

    buf[0] = '\0';
    if (rule_rank(a->rule) != rule_rank(b->rule))
        fo_text_append(buf, len, "rule (%s vs %s)", fo_rule_name(a->rule), fo_rule_name(b->rule));
    else if (lag_key(a) != lag_key(b) && b->s->lag_s < 0)
        fo_text_append(buf, len, "lag (%lld s vs unknown)", (long long)a->s->lag_s);
    else if (lag_key(a) != lag_key(b))
        fo_text_append(buf, len, "lag (%lld s vs %lld s)", (long long)a->s->lag_s, (long long)b->s->lag_s);
    else
        fo_text_append(buf, len, "input order");
}

/* First eligible replica whose position has something i's lacks, preferring `ref`. */
static int first_ahead_of(const struct ctx *x, unsigned i, unsigned ref, bool strict)
{
    struct fo_mariadb_pos a, b;
    enum fo_gtid_cmp r;
    unsigned j, k;

    pos_of(x, i, &a);
    for (k = 0; k <= x->n; k++) {
        j = k == 0 ? ref : k - 1;
        if (j == i || !eligible(x, j)) continue;
        pos_of(x, j, &b);
        r = fo_gtid_mariadb_compare(&a, &b);
        if (r == FO_GTID_BEHIND || (strict && r == FO_GTID_DIVERGED)) return (int)j;
    }
    return -1;
}

/* "behind H by N transactions" or "diverges from H" for i against j. */
static void behind_text(const struct ctx *x, unsigned i, unsigned j, char *buf, size_t len)
{
    struct fo_mariadb_pos a, b;
    char addr[ADDR_TEXT_LEN];
    uint64_t d;

    pos_of(x, i, &a);
    pos_of(x, j, &b);
    buf[0] = '\0';
    addr_text(&x->in[j], addr);
    if (fo_gtid_mariadb_compare(&a, &b) == FO_GTID_DIVERGED) {
        fo_text_append(buf, len, "diverges from %s", addr);
        return;
    }
    d = fo_gtid_mariadb_ahead_by(&b, &a);
    fo_text_append(buf, len, "behind %s by %llu %s", addr, (unsigned long long)d,
                   plural(d, "transaction", "transactions"));
}

/* Reason of an eligible replica i that lost to the chosen c. */
static void loser_reason(const struct ctx *x, unsigned i, unsigned c)
{
    struct fo_mariadb_pos a, b;
    char addr[ADDR_TEXT_LEN], text[FO_CAND_REASON_LEN];
    uint64_t ti, tc;
    int j;

    pos_of(x, i, &a);
    pos_of(x, c, &b);
    addr_text(&x->in[c], addr);
    j = first_ahead_of(x, i, c, false);
    if (j >= 0) {
        behind_text(x, i, (unsigned)j, text, sizeof(text));
        skip(x, i, "%s", text);
        return;
    }
    tie_text(x, c, i, text, sizeof(text));
    if (fo_gtid_mariadb_compare(&a, &b) == FO_GTID_EQUAL) {
        skip(x, i, "as advanced as %s, which wins the tie on %s", addr, text);
        return;
    }
    ti = pos_total(&a);
    tc = pos_total(&b);
    if (ti < tc)
        skip(x, i, "diverges from %s, which has more transactions (%llu vs %llu)", addr, (unsigned long long)tc,
             (unsigned long long)ti);
    else
        skip(x, i, "diverges from %s (same total %llu), which wins the tie on %s", addr, (unsigned long long)tc, text);
}

static void chosen_reason(const struct ctx *x, unsigned c, bool diverged, bool target)
{
    struct fo_mariadb_pos p;
    char pos[POS_SHOW_LEN];
    char *r = x->reasons[c];

    pos_of(x, c, &p);
    pos_text(&p, pos);
    r[0] = '\0';
    if (diverged)
        fo_text_append(r, FO_CAND_REASON_LEN, "chosen: %smost transactions (%s, total %llu) although positions diverge",
                       target ? "target, " : "", pos, (unsigned long long)pos_total(&p));
    else
        fo_text_append(r, FO_CAND_REASON_LEN, "chosen: %smost advanced (%s)", target ? "target, " : "", pos);
}

/* ---- summary -------------------------------------------------------------------- */

static const char *without_prefix(const char *reason)
{
    const char *p = strchr(reason, ':');

    return p != NULL && p[1] == ' ' ? p + 2 : reason;
}

static void summary_none_eligible(const struct ctx *x, struct fo_cand_out *out)
{
    char addr[ADDR_TEXT_LEN];
    unsigned i;

    fo_text_append(out->summary, sizeof(out->summary), "no eligible replica among %u:", x->n);
    for (i = 0; i < x->n; i++)
        fo_text_append(out->summary, sizeof(out->summary), "%s %s: %s", i ? ";" : "", addr_text(&x->in[i], addr),
                       without_prefix(x->reasons[i]));
}

/* Warns about every reachable replica that has transactions the chosen one lacks:
 * they are lost unless a DBA recovers them (a must_not replica that was ahead, or a
 * diverged history). */
static void summary_losses(const struct ctx *x, unsigned c, unsigned ref, struct fo_cand_out *out)
{
    struct fo_mariadb_pos a, b;
    char addr[ADDR_TEXT_LEN];
    unsigned i;
    uint64_t d;

    /* After a catch-up the chosen one has the source's (ref's) position. */
    pos_of(x, ref, &b);
    for (i = 0; i < x->n; i++) {
        if (i == c || i == ref || !current_pos(&x->in[i], &a)) continue;
        d = fo_gtid_mariadb_ahead_by(&a, &b);
        if (d > 0)
            fo_text_append(out->summary, sizeof(out->summary), "; warning: %s has %llu %s the chosen one lacks",
                           addr_text(&x->in[i], addr), (unsigned long long)d, plural(d, "transaction", "transactions"));
    }
}

/* ref: whose position the chosen one will have (itself, or its catch-up source). */
static void summary_chosen(const struct ctx *x, unsigned c, unsigned ref, struct fo_cand_out *out)
{
    char addr[ADDR_TEXT_LEN];

    fo_text_append(out->summary, sizeof(out->summary), "chose %s: %s; %u of %u %s eligible", addr_text(&x->in[c], addr),
                   without_prefix(x->reasons[c]), x->n_eligible, x->n, plural(x->n, "replica", "replicas"));
    summary_losses(x, c, ref, out);
}

/* ---- catch-up (issue 13 item 2) ------------------------------------------------- */

static bool behind(const struct ctx *x, unsigned i, unsigned j)
{
    struct fo_mariadb_pos a, b;

    pos_of(x, i, &a);
    pos_of(x, j, &b);
    return fo_gtid_mariadb_compare(&a, &b) == FO_GTID_BEHIND;
}

/* A replica must never replicate from a newer server: src's major.minor must not be
 * newer than c's. Eligibility (check_eligible) already implies it; this says so where
 * the catch-up relies on it. */
static bool source_ok(const struct ctx *x, unsigned src, unsigned c)
{
    struct version vs, vc;

    return parse_version(x->in[src].s->version, &vs) && parse_version(x->in[c].s->version, &vc) &&
           version_cmp(&vs, &vc) <= 0;
}

/* The rule's choice (candidate.h, catch_up): the best rank among eligible replicas,
 * then the most advanced of that rank, then lag and input order. -1 when the natural
 * winner already has the best rank, when that rank's positions diverge, or when the
 * rule's choice cannot catch up from the natural winner (not strictly behind it, or
 * the source is newer): the choice without catch-up stands. */
static int catch_up_pick(const struct ctx *x, int natural, bool diverged)
{
    int rank = 3, best = -1;
    unsigned i;

    if (natural < 0 || diverged) return -1;
    for (i = 0; i < x->n; i++)
        if (eligible(x, i) && rule_rank(x->in[i].rule) < rank) rank = rule_rank(x->in[i].rule);
    if (rule_rank(x->in[natural].rule) == rank) return -1;
    for (i = 0; i < x->n; i++)
        if (eligible(x, i) && rule_rank(x->in[i].rule) == rank && advanced_among(x, i, true, rank) &&
            (best < 0 || tie_prefers(x, (unsigned)best, i)))
            best = (int)i;
    if (best < 0 || !behind(x, (unsigned)best, (unsigned)natural) || !source_ok(x, (unsigned)natural, (unsigned)best))
        return -1;
    return best;
}

/* Reasons of the chosen one (c) and of its source (src) in a catch-up. */
static void catch_up_reasons(const struct ctx *x, unsigned c, unsigned src, bool target)
{
    struct fo_mariadb_pos p;
    char addr[ADDR_TEXT_LEN], text[FO_CAND_REASON_LEN], pos[POS_SHOW_LEN];
    char *r = x->reasons[c];

    behind_text(x, c, src, text, sizeof(text));
    pos_of(x, src, &p);
    pos_text(&p, pos);
    skip(x, src, "most advanced (%s) but %s%s: catch-up source of %s", pos, target ? "not the target" : "rule ",
         target ? "" : fo_rule_name(x->in[src].rule), addr_text(&x->in[c], addr));
    r[0] = '\0';
    if (target)
        fo_text_append(r, FO_CAND_REASON_LEN, "chosen: target; %s: catches up from it first", text);
    else
        fo_text_append(r, FO_CAND_REASON_LEN, "chosen: rule %s; %s: catches up from it first",
                       fo_rule_name(x->in[c].rule), text);
}

/* Every other eligible replica loses to the rule (or, of the same rule, to position,
 * lag or input order against c). */
static void choose_catch_up(const struct ctx *x, unsigned c, unsigned src, struct fo_cand_out *out)
{
    char addr[ADDR_TEXT_LEN];
    unsigned i;

    /* Losers first: their reasons compare with c and src while both are eligible. */
    for (i = 0; i < x->n; i++) {
        if (i == c || i == src || !eligible(x, i)) continue;
        if (rule_rank(x->in[i].rule) != rule_rank(x->in[c].rule))
            skip(x, i, "rule %s (%s is %s)", fo_rule_name(x->in[i].rule), addr_text(&x->in[c], addr),
                 fo_rule_name(x->in[c].rule));
        else
            loser_reason(x, i, c);
    }
    catch_up_reasons(x, c, src, false);
    summary_chosen(x, c, src, out);
    out->chosen = (int)c;
    out->source = (int)src;
}

/* ---- target --------------------------------------------------------------------- */

static bool has_target(const struct fo_cand_opts *o)
{
    return o->target_host != NULL && o->target_host[0] != '\0';
}

static int find_target(const struct ctx *x)
{
    unsigned i;

    for (i = 0; i < x->n; i++)
        if (x->in[i].host != NULL && strcmp(x->in[i].host, x->opts->target_host) == 0 &&
            x->in[i].port == x->opts->target_port)
            return (int)i;
    return -1;
}

/* Every eligible replica but the target is skipped as such. */
static void skip_non_targets(const struct ctx *x, int t)
{
    struct fo_cand_in target = {.host = x->opts->target_host, .port = x->opts->target_port};
    char addr[ADDR_TEXT_LEN];
    unsigned i;

    addr_text(&target, addr);
    for (i = 0; i < x->n; i++)
        if ((int)i != t && eligible(x, i)) skip(x, i, "not the target (%s)", addr);
}

/* With a target only the target may be chosen (candidate.h). Returns it or -1. */
static int choose_target(const struct ctx *x, int natural, bool diverged, struct fo_cand_out *out)
{
    struct fo_cand_in target = {.host = x->opts->target_host, .port = x->opts->target_port};
    char addr[ADDR_TEXT_LEN], text[FO_CAND_REASON_LEN];
    int t = find_target(x), j;

    addr_text(&target, addr);
    if (t < 0) {
        fo_text_append(out->summary, sizeof(out->summary), "no replica chosen: target %s is not among the %u %s", addr,
                       x->n, plural(x->n, "replica", "replicas"));
    } else if (!eligible(x, (unsigned)t)) {
        fo_text_append(out->summary, sizeof(out->summary), "no replica chosen: target %s is not eligible (%s)", addr,
                       without_prefix(x->reasons[t]));
    } else if (x->opts->catch_up && !diverged && natural >= 0 && natural != t &&
               behind(x, (unsigned)t, (unsigned)natural) && source_ok(x, (unsigned)natural, (unsigned)t)) {
        catch_up_reasons(x, (unsigned)t, (unsigned)natural, true);
        summary_chosen(x, (unsigned)t, (unsigned)natural, out);
        skip_non_targets(x, t);
        out->source = natural;
        return t;
    } else if ((j = first_ahead_of(x, (unsigned)t, (unsigned)natural, true)) >= 0) {
        behind_text(x, (unsigned)t, (unsigned)j, text, sizeof(text));
        skip(x, (unsigned)t, "%s", text);
        fo_text_append(out->summary, sizeof(out->summary), "no replica chosen: target %s is not the most advanced (%s)",
                       addr, text);
        t = -1;
    } else {
        chosen_reason(x, (unsigned)t, false, true);
        summary_chosen(x, (unsigned)t, (unsigned)t, out);
        skip_non_targets(x, t);
        return t;
    }
    skip_non_targets(x, t);
    return -1;
}

/* ---- entry point ---------------------------------------------------------------- */

static void init_ctx(struct ctx *x, const struct fo_cand_in *in, unsigned n, const struct fo_cand_opts *opts,
                     char (*reasons)[FO_CAND_REASON_LEN])
{
    char err[FO_ERRLEN];
    const char *old = opts->old_primary_pos != NULL ? opts->old_primary_pos : "";

    x->in = in;
    x->n = n;
    x->opts = opts;
    x->reasons = reasons;
    /* A malformed old position is treated as empty: that only makes the errant-GTID
     * rule stricter, never looser. */
    x->old_malformed = fo_gtid_mariadb_parse(old, &x->old, err) != 0;
}

/* Issue 15.6: a replica of a flavour failoverd does not support (flavour.h) refuses
 * the whole choice, not only itself -- whatever is promoted would have to take it as a
 * replica, and its GTIDs cannot be compared with MariaDB's. This is the last check
 * before the point of no return (promote): the engine then ends the failover without
 * promoting anyone. */
static bool refuse_flavour(const struct fo_cand_in *in, unsigned n, struct fo_cand_out *out,
                           char (*reasons)[FO_CAND_REASON_LEN])
{
    struct fo_flavour f;
    char problem[FO_CAND_REASON_LEN];
    unsigned i;
    int bad = -1;

    for (i = 0; i < n && bad < 0; i++) {
        if (!reachable(&in[i])) continue;
        fo_flavour_classify(in[i].s->version, &f);
        if (f.supported) continue;
        fo_flavour_problem(&f, problem, sizeof(problem));
        bad = (int)i;
    }
    if (bad < 0) return false;
    for (i = 0; i < n; i++) {
        reasons[i][0] = '\0';
        if ((int)i == bad)
            fo_text_append(reasons[i], FO_CAND_REASON_LEN, "skipped: %s", problem);
        else
            fo_text_append(reasons[i], FO_CAND_REASON_LEN, "skipped: %s%s:%u", FO_FLAVOUR_CLUSTER_PREFIX,
                           in[bad].host != NULL ? in[bad].host : "", (unsigned)in[bad].port);
    }
    fo_text_append(out->summary, sizeof(out->summary), "no replica chosen: %s%s:%u: %s", FO_FLAVOUR_CLUSTER_PREFIX,
                   in[bad].host != NULL ? in[bad].host : "", (unsigned)in[bad].port, problem);
    return true;
}

void fo_candidate_choose(const struct fo_cand_in *in, unsigned n, const struct fo_cand_opts *opts,
                         struct fo_cand_out *out, char (*reasons)[FO_CAND_REASON_LEN])
{
    struct ctx x;
    bool diverged;
    unsigned i;
    int c, r;

    out->chosen = -1;
    out->source = -1;
    out->summary[0] = '\0';
    if (refuse_flavour(in, n, out, reasons)) return;
    init_ctx(&x, in, n, opts, reasons);
    x.n_eligible = 0;
    for (i = 0; i < n; i++) {
        check_eligible(&x, i);
        x.n_eligible += eligible(&x, i) ? 1 : 0;
    }
    c = pick(&x, &diverged);
    if (has_target(opts)) {
        out->chosen = choose_target(&x, c, diverged, out);
    } else if (n == 0) {
        fo_text_append(out->summary, sizeof(out->summary), "no replicas to choose from");
    } else if (c < 0) {
        summary_none_eligible(&x, out);
    } else if (opts->catch_up && (r = catch_up_pick(&x, c, diverged)) >= 0) {
        choose_catch_up(&x, (unsigned)r, (unsigned)c, out);
    } else {
        for (i = 0; i < n; i++)
            if ((int)i != c && eligible(&x, i)) loser_reason(&x, i, (unsigned)c);
        chosen_reason(&x, (unsigned)c, diverged, false);
        summary_chosen(&x, (unsigned)c, (unsigned)c, out);
        out->chosen = c;
    }
    if (x.old_malformed)
        fo_text_append(out->summary, sizeof(out->summary), "; note: old primary position malformed, treated as empty");
}
