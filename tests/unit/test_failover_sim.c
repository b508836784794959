/* A deterministic simulated cluster for the failover engine (controller/decide/fostep.h,
 * STYLE.md §16). Each schedule is one seed: a primary and 2-4 replicas in some state
 * (the primary dead, hung, cut off from the controllers, or alive for a switchover;
 * replicas with received-but-unapplied relay log, stopped SQL threads), a fake clock,
 * a simulated agent with a VIP lease, and a simulated raft log. The harness performs
 * the engine's actions on the simulated servers in a seeded random order and injects
 * failures at every one of them: SQL errors before or after the effect, timeouts,
 * servers that die, barriers that fail, leadership lost before or after a commit (the
 * next leader then builds a fresh state from the simulated store, as fo_run_new does,
 * and resumes), replicas that restart between choose and promote.
 *
 * After every action it checks:
 *   I1  never two servers open for writes (the old primary counts until it is
 *       read-only, dead or hung, or its VIP is gone: released or lease expired);
 *   I2  never RESET SLAVE ALL on a server with unapplied relay log, and never an IO
 *       thread restarted while the SQL thread is stopped (that discards the relay log);
 *   I3  no acknowledged transaction is missing from the promoted primary: for
 *       automatic failovers and switchovers, whatever the replicas the engine sampled
 *       had received when choose was committed (a manual failover is the operator's
 *       choice, like candidate.h's relay_only_lost exemption);
 *   I4  the engine accepts every result of its own actions and always has something
 *       in flight until it is over; every run ends (SUCCESS/FAILED/ABORTED) within a
 *       bounded number of events, and FINISHED only after the end is in the store;
 *   I5  catch-up (issue 13 item 2): replicas have promotion rules, so the rule's choice
 *       may be behind the most advanced replica and replicate from it first; it never
 *       replicates from the old primary or itself, its CHANGE MASTER never discards a
 *       relay log holding what the source lacks, and when choose is committed after a
 *       catch-up the new primary has everything the source had (after a fallback the
 *       source itself is the new primary).
 *
 * FO_SIM_SEED=N replays one schedule with a trace; FO_SIM_RUNS=N changes the count. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/decide/fostep.h"
#include "fo_test.h"

#define NS 5
#define MAX_EVENTS 4000
#define MAX_LEADER_CHANGES 5
#define LEASE_MARGIN 500
#define N_PEND 32

enum life { ALIVE = 0, HUNG, DEAD, CUT }; /* CUT: unreachable from the controllers only */

struct srv {
    char host[32];
    uint16_t port;
    enum life life;
    bool read_only;
    bool is_replica;
    int source; /* index, -1 none */
    bool io, sql;
    uint64_t recv, applied; /* domain 0, server 1 (the old primary) seqnos */
    bool sampled;           /* choose sampled it successfully in the current step */
    uint64_t sampled_recv;
    unsigned link; /* per mille chance per tick that its IO thread receives (replication lag) */
    enum fo_rule rule;
};

struct pend {
    struct fo_foaction a;
    char host[FO_HOST_LEN];
    char pos[FO_GTIDPOS_LEN];
    char src[FO_HOST_LEN];
};

struct sim {
    uint64_t seed, rng;
    bool trace;
    uint64_t now;
    struct srv s[NS];
    unsigned n;
    uint64_t W; /* the old primary's binlog */
    enum fo_fokind kind;
    bool has_vip, semi, pre_hook, creds, salvage;
    unsigned salvages;            /* FO_FA_SALVAGE performed */
    unsigned catchups, fallbacks; /* choose committed after a catch-up / after its fallback */
    int target;                   /* -1 none */
    bool vip_on_old;
    int vip_holder;
    uint64_t lease_expiry; /* the agent's own clock: it drops the VIP then */
    /* the simulated store (raft) */
    int st_last;
    char st_new_host[FO_HOST_LEN];
    uint16_t st_new_port;
    bool st_ended;
    int st_result;
    /* the engine */
    struct fo_fostate fs;
    struct pend pend[N_PEND];
    unsigned n_pend;
    bool finished;
    unsigned leader_changes, events;
    bool acked_set;
    uint64_t acked;
    int promoted; /* index of the server RESET SLAVE ALL + read_only=0 ran on, -1 */
    char fail[512];
};

/* xorshift64*: deterministic per seed. */
static uint64_t rnd(struct sim *m)
{
    m->rng ^= m->rng >> 12;
    m->rng ^= m->rng << 25;
    m->rng ^= m->rng >> 27;
    return m->rng * 2685821657736338717ull;
}
static unsigned below(struct sim *m, unsigned n)
{
    return n ? (unsigned)(rnd(m) % n) : 0;
}
static bool chance(struct sim *m, unsigned per_mille)
{
    return below(m, 1000) < per_mille;
}

static void failf(struct sim *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(struct sim *m, const char *fmt, ...)
{
    va_list ap;

    if (m->fail[0]) return;
    va_start(ap, fmt);
    vsnprintf(m->fail, sizeof(m->fail), fmt, ap);
    va_end(ap);
}

static void pos_of(uint64_t seq, char *out, size_t n)
{
    if (seq == 0)
        snprintf(out, n, "%s", "");
    else
        snprintf(out, n, "0-1-%" PRIu64, seq);
}

static uint64_t seq_of(const char *pos)
{
    const char *p = strrchr(pos, '-');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

static int find(struct sim *m, const char *host, uint16_t port)
{
    unsigned i;

    for (i = 0; i < m->n; i++)
        if (m->s[i].port == port && strcmp(m->s[i].host, host) == 0) return (int)i;
    return -1;
}

/* ------------------------------------------------------------------ the world */

static bool serves(const struct srv *s)
{
    return s->life == ALIVE || s->life == CUT;
}

/* The agent on the old primary's host: the VIP goes when its lease runs out, and
 * its mysqld becomes read-only (lease_read_only, DESIGN.md §7). */
static void agent_tick(struct sim *m)
{
    struct srv *o = &m->s[0];

    if (m->vip_on_old && m->now >= m->lease_expiry && o->life != DEAD) {
        m->vip_on_old = false;
        if (m->vip_holder == 0) m->vip_holder = -1;
        if (serves(o)) o->read_only = true;
    }
}

/* What server i's binlog holds: the old primary's writes, or what a replica applied
 * (log_slave_updates). */
static uint64_t binlog_of(const struct sim *m, int i)
{
    return i == 0 ? m->W : m->s[i].applied;
}

/* Time passes: the old primary takes writes while it is open, replicas receive and
 * apply. Replicas of the old primary receive from it while it serves (even read-only). */
static void tick(struct sim *m)
{
    unsigned i;

    m->now += 1 + below(m, 40);
    agent_tick(m);
    if (serves(&m->s[0]) && !m->s[0].read_only && chance(m, 500)) m->W++;
    for (i = 1; i < m->n; i++) {
        struct srv *r = &m->s[i];
        if (r->life == DEAD) continue;
        if (r->io && r->source >= 0 && serves(&m->s[r->source]) && r->recv < binlog_of(m, r->source) &&
            chance(m, r->link))
            r->recv++;
        if (r->source == 0 && r->recv > m->W) r->recv = m->W;
        if (r->sql && r->applied < r->recv && chance(m, 400)) r->applied++;
    }
}

static bool open_for_writes(const struct sim *m, unsigned i)
{
    const struct srv *s = &m->s[i];

    if (!serves(s) || s->read_only) return false;
    if (i == 0 && m->has_vip && !m->vip_on_old) return false; /* revoked or lapsed: clients cannot reach it */
    return true;
}

static void check_writable(struct sim *m, const char *when)
{
    unsigned i, n = 0;

    for (i = 0; i < m->n; i++) n += open_for_writes(m, i);
    if (n > 1) failf(m, "I1: %u servers open for writes (%s)", n, when);
}

/* ------------------------------------------------------------------ engine glue */

static void push_actions(struct sim *m, const struct fo_foactions *acts);

static void deliver(struct sim *m, const struct fo_foevent *ev)
{
    struct fo_foactions *acts = malloc(sizeof(*acts));
    int rc;

    if (acts == NULL) return failf(m, "out of memory");
    m->events++;
    rc = fo_fostep(&m->fs, ev, m->now, acts);
    if (rc != 0)
        failf(m, "I4: the engine refused event %d in phase %s: %s", (int)ev->type, fo_fophase_name(m->fs.phase),
              fo_strerror(rc));
    else
        push_actions(m, acts);
    free(acts);
}

static void push_actions(struct sim *m, const struct fo_foactions *acts)
{
    unsigned i;

    for (i = 0; i < acts->n; i++) {
        const struct fo_foaction *a = &acts->a[i];
        struct pend *p;
        if (m->trace)
            printf("    action %d step %d group %s host %s %s\n", (int)a->type, a->step,
                   a->type == FO_FA_SQL ? fo_fogroup_name(a->group) : "-", a->host ? a->host : "-",
                   a->detail ? a->detail : "");
        if (a->type == FO_FA_FINISHED) {
            if (!m->st_ended) failf(m, "I4: FINISHED before the end was committed");
            m->finished = true;
            continue;
        }
        if (a->type == FO_FA_POST_HOOK || a->type == FO_FA_STOP) continue;
        if (m->n_pend == N_PEND) return failf(m, "too many actions in flight");
        p = &m->pend[m->n_pend++];
        p->a = *a;
        /* Copied: the engine's strings may move once a later event changes the batch. */
        snprintf(p->host, sizeof(p->host), "%s", a->host ? a->host : "");
        snprintf(p->pos, sizeof(p->pos), "%s", a->pos ? a->pos : "");
        snprintf(p->src, sizeof(p->src), "%s", a->src_host ? a->src_host : "");
    }
}

/* A leader (re)starts: a fresh state from the store only (what fo_run_new reads). */
static void new_leader(struct sim *m)
{
    struct fo_fostate_cfg c;
    struct fo_foevent ev = {.type = FO_FE_START};
    char err[FO_ERRLEN];

    fo_fostate_free(&m->fs);
    m->n_pend = 0;
    memset(&c, 0, sizeof(c));
    c.kind = m->kind;
    c.epoch = 1;
    snprintf(c.old_host, sizeof(c.old_host), "%s", m->s[0].host);
    c.old_port = m->s[0].port;
    snprintf(c.new_host, sizeof(c.new_host), "%s", m->st_new_host);
    c.new_port = m->st_new_port;
    if (m->target >= 0) {
        snprintf(c.target_host, sizeof(c.target_host), "%s", m->s[m->target].host);
        c.target_port = m->s[m->target].port;
    }
    c.last_step = m->st_last;
    c.has_pre_hook = m->pre_hook;
    c.has_vip = m->has_vip;
    c.semi_sync = m->semi;
    c.has_repl_creds = m->creds;
    c.salvage = m->salvage;
    c.t.step_ms = 3000;
    c.t.connect_ms = 500;
    c.t.relay_wait_ms = 2000;
    c.t.hook_ms = 1000;
    if (fo_fostate_init(&m->fs, &c, err) != 0) return failf(m, "fo_fostate_init: %s", err);
    if (m->trace) printf("  new leader: last step %d new %s\n", m->st_last, m->st_new_host);
    deliver(m, &ev);
}

static bool may_change_leader(struct sim *m)
{
    return m->leader_changes < MAX_LEADER_CHANGES;
}

/* ------------------------------------------------------------------ SQL on a server */

static void fill_status(const struct sim *m, const struct srv *s, struct fo_sample *o)
{
    o->is_replica = s->is_replica;
    if (!s->is_replica) {
        o->io_running = o->sql_running = FO_THREAD_UNKNOWN;
        o->gtid_io_pos[0] = '\0';
        return;
    }
    snprintf(o->master_host, sizeof(o->master_host), "%s", s->source >= 0 ? m->s[s->source].host : "");
    o->master_port = 3306;
    o->io_running = s->io ? FO_THREAD_YES : FO_THREAD_NO;
    o->sql_running = s->sql ? FO_THREAD_YES : FO_THREAD_NO;
    o->lag_s = 0;
    pos_of(s->recv, o->gtid_io_pos, sizeof(o->gtid_io_pos));
    snprintf(o->using_gtid, sizeof(o->using_gtid), "Slave_Pos");
}

static void fill_vars(unsigned idx, const struct srv *s, struct fo_sample *o)
{
    o->server_id = idx + 1;
    o->read_only = s->read_only;
    snprintf(o->version, sizeof(o->version), "10.11.6-MariaDB");
    pos_of(s->applied, o->gtid_current_pos, sizeof(o->gtid_current_pos));
    pos_of(s->applied, o->gtid_binlog_pos, sizeof(o->gtid_binlog_pos));
    pos_of(s->applied, o->gtid_slave_pos, sizeof(o->gtid_slave_pos));
    pos_of(s->applied, o->gtid_binlog_state, sizeof(o->gtid_binlog_state));
    o->gtid_binlog_state_known = true;
}

/* MASTER_GTID_WAIT: the SQL thread applies (or not) within the bound. */
static enum fo_fowait gtid_wait(struct sim *m, struct srv *s, const char *pos)
{
    uint64_t want = seq_of(pos);

    if (pos[0] == '\0') return FO_FW_REACHED; /* SELECT 0 */
    if (s->io && s->source >= 0 && serves(&m->s[s->source]) && chance(m, 800) && s->recv < binlog_of(m, s->source))
        s->recv = binlog_of(m, s->source);
    if (s->sql && chance(m, 850)) s->applied = s->recv;
    m->now += s->applied >= want ? below(m, 100) : 2000;
    if (s->applied >= want) return FO_FW_REACHED;
    return chance(m, 900) ? FO_FW_TIMEOUT : FO_FW_NULL;
}

/* The effect of a group on server i (the server answered). */
static void sql_effect(struct sim *m, const struct pend *p, int i, struct fo_foevent *ev, struct fo_sample *smp)
{
    struct srv *s = &m->s[i];
    int nw;

    switch (p->a.group) {
    case FO_FG_STOP_IO_STATUS:
        s->io = false;
        *smp = m->fs.items[p->a.item].sample;
        fill_status(m, s, smp);
        ev->sample = smp;
        return;
    case FO_FG_GTID_WAIT: ev->wait = gtid_wait(m, s, p->pos); return;
    case FO_FG_VARS:
        *smp = m->fs.items[p->a.item].sample;
        fill_vars((unsigned)i, s, smp);
        ev->sample = smp;
        return;
    case FO_FG_STATUS:
        *smp = m->fs.items[p->a.item].sample;
        fill_status(m, s, smp);
        ev->sample = smp;
        return;
    case FO_FG_PROMOTE_RESET:
        if (s->recv > s->applied)
            failf(m, "I2: RESET SLAVE ALL on %s with unapplied relay log (received %" PRIu64 ", applied %" PRIu64 ")",
                  s->host, s->recv, s->applied);
        if (m->acked_set && s->applied < m->acked)
            failf(m, "I3: promoting %s at %" PRIu64 " loses acknowledged transactions up to %" PRIu64, s->host,
                  s->applied, m->acked);
        s->is_replica = s->io = s->sql = false;
        s->source = -1;
        s->recv = s->applied;
        s->read_only = false;
        m->promoted = i;
        return;
    case FO_FG_REPOINT:
        nw = find(m, m->fs.c.new_host, m->fs.c.new_port);
        if (p->a.demote) s->read_only = true;
        s->is_replica = true;
        s->source = nw;
        s->recv = s->applied; /* CHANGE MASTER purges the relay log */
        s->sql = true;
        /* Ahead of the new primary: its position is not in that binlog, IO fails. */
        s->io = nw >= 0 && s->applied <= m->s[nw].applied;
        return;
    case FO_FG_UNFENCE: s->read_only = false; return;
    case FO_FG_CATCHUP_START:
        nw = find(m, p->src, p->a.src_port);
        if (nw <= 0 || nw == i) return failf(m, "I5: %s catches up from %s", s->host, p->src);
        if (s->recv > s->applied && s->recv > m->s[nw].applied)
            failf(m, "I5: catch-up CHANGE MASTER on %s discards relay log its source %s lacks", s->host, p->src);
        s->is_replica = true;
        s->source = nw;
        s->recv = s->applied;
        s->io = s->sql = true;
        return;
    case FO_FG_CATCHUP_STOP: s->io = s->sql = false; return;
    case FO_FG_START_IO:
        if (!s->sql && s->recv > s->applied)
            failf(m, "I2: IO thread of %s restarted with its SQL thread stopped: relay log discarded", s->host);
        s->io = true;
        return;
    }
}

static void do_sql(struct sim *m, const struct pend *p, struct fo_foevent *ev, struct fo_sample *smp)
{
    int i = find(m, p->host, p->a.port);
    unsigned r = below(m, 1000);

    ev->type = FO_FE_SQL;
    ev->item = p->a.item;
    ev->group = p->a.group;
    if (i < 0) {
        ev->status = FO_EUNREACHABLE;
        ev->error = "unknown host";
        return;
    }
    if (r < 5) m->s[i].life = DEAD; /* dies right now */
    if (m->s[i].life == DEAD || m->s[i].life == CUT || r < 40) {
        ev->status = FO_EUNREACHABLE;
        ev->error = "Can't connect to server";
        return;
    }
    if (m->s[i].life == HUNG || r < 60) {
        ev->status = FO_ETIMEDOUT;
        ev->error = "timed out";
        return;
    }
    sql_effect(m, p, i, ev, smp);
    if (r < 90) { /* ran, but the reply was lost */
        ev->status = FO_ETIMEDOUT;
        ev->error = "timed out reading the reply";
        ev->sample = NULL;
        return;
    }
    if (r < 95 && ev->sample != NULL) { /* a reply that does not parse */
        ev->parse_error = true;
        ev->error = "missing column Master_Host";
        ev->sample = NULL;
        return;
    }
    if (p->a.group == FO_FG_STATUS) { /* the engine has this replica's final sample */
        m->s[i].sampled = true;
        m->s[i].sampled_recv = m->s[i].recv;
    }
}

/* ------------------------------------------------------------------ other actions */

static void do_fence(struct sim *m, struct fo_foevent *ev, char *pos, size_t n)
{
    struct srv *o = &m->s[0];
    unsigned r = below(m, 1000);

    ev->type = FO_FE_FENCE;
    ev->gtid_binlog_pos = pos;
    pos[0] = '\0';
    if (o->life == DEAD || o->life == CUT || r < 30) {
        ev->status = FO_EUNREACHABLE;
        ev->error = "could not connect";
        return;
    }
    if (o->life == HUNG) {
        ev->status = FO_ETIMEDOUT;
        ev->error = "timed out connecting";
        return;
    }
    o->read_only = true;
    pos_of(m->W, pos, n);
    if (r < 60) {
        ev->status = FO_ETIMEDOUT;
        ev->survived = 1;
        ev->error = "read_only=1; 1 session survived";
        return;
    }
    ev->error = "read_only=1, 3 sessions killed";
}

static void do_revoke(struct sim *m, struct fo_foevent *ev)
{
    struct srv *o = &m->s[0];

    ev->type = FO_FE_REVOKE;
    ev->lease_safe_at = m->has_vip ? m->lease_expiry + LEASE_MARGIN : 0;
    if (o->life == DEAD || o->life == CUT || chance(m, 100)) {
        ev->error = "agent unreachable";
        return;
    }
    ev->released = true;
    ev->lease_safe_at = 0;
    if (m->vip_holder == 0) m->vip_holder = -1;
    m->vip_on_old = false;
    if (o->life == ALIVE) {
        o->read_only = true;
        ev->mysql_fenced = true;
    }
    ev->error = ev->mysql_fenced ? "VIP released; mysqld fenced" : "VIP released; FenceMysql: timed out";
}

/* Issue 13: the old primary's binlog tail, applied to the chosen replica. Checked: never
 * in a switchover, only before the chosen replica was reset or opened for writes, and
 * never when this run's fence did not reach the old primary's agent (then skip). The
 * old primary's agent answers when its host is up (DEAD here: the mysqld died, its host
 * lives); a CUT host does not. A success brings the replica to the old primary's
 * binlog (W). */
static void do_salvage(struct sim *m, const struct pend *p, struct fo_foevent *ev, char *pos, size_t n)
{
    int c = find(m, m->fs.c.new_host, m->fs.c.new_port);
    struct srv *o = &m->s[0];

    m->salvages++;
    ev->type = FO_FE_SALVAGE;
    if (m->kind == FO_FK_SWITCHOVER) return failf(m, "a switchover salvages");
    if (c < 0 || !m->s[c].read_only || !m->s[c].is_replica)
        return failf(m, "salvage into %s, which is not a read-only replica", m->fs.c.new_host);
    if (p->a.pos == NULL) return failf(m, "salvage without a start position");
    pos_of(m->W, pos, n);
    ev->old_known_pos = pos;
    if (p->a.skip != NULL || o->life == CUT || chance(m, 100)) {
        ev->status = FO_EUNREACHABLE;
        ev->error = p->a.skip != NULL ? p->a.skip : "the old primary's agent did not answer";
    } else if (o->life != DEAD) {
        ev->status = FO_EBUSY;
        ev->error = "the old primary's mysqld still answers its agent: not salvaged";
    } else if (chance(m, 100)) {
        ev->status = FO_ETOOBIG;
        ev->error = "salvage_max_bytes exceeded";
    } else {
        ev->transactions = (unsigned)(m->W > m->s[c].applied ? m->W - m->s[c].applied : 0);
        m->s[c].applied = m->s[c].recv = m->W > m->s[c].applied ? m->W : m->s[c].applied;
        ev->error = "applied";
    }
    deliver(m, ev);
}

/* I5 when choose is committed: after a catch-up the new primary has what its source
 * has; after a fallback the source is the new primary. */
static void check_catch_up(struct sim *m)
{
    const struct fo_fostate *f = &m->fs;
    int nw = find(m, f->c.new_host, f->c.new_port), src;

    if (f->cu_result != FO_CU_DONE && f->cu_result != FO_CU_FELL_BACK) return;
    if (m->kind == FO_FK_SWITCHOVER) return failf(m, "I5: a switchover caught up");
    src = find(m, f->items[f->cu_src].host, f->items[f->cu_src].port);
    if (nw < 0 || src <= 0) return failf(m, "I5: catch-up with unknown servers");
    if (f->cu_result == FO_CU_FELL_BACK) {
        m->fallbacks++;
        if (nw != src) failf(m, "I5: the fallback chose %s, not the source %s", m->s[nw].host, m->s[src].host);
        return;
    }
    m->catchups++;
    if (m->s[nw].applied < m->s[src].applied)
        failf(m, "I5: %s caught up to %" PRIu64 " but its source %s has %" PRIu64, m->s[nw].host, m->s[nw].applied,
              m->s[src].host, m->s[src].applied);
}

/* A raft commit: false if leadership was lost (the caller changes leader). */
static bool do_commit(struct sim *m, const struct pend *p, struct fo_foevent *ev)
{
    unsigned r = below(m, 1000);
    bool lost_before = may_change_leader(m) && r < 25, lost_after = may_change_leader(m) && r >= 25 && r < 50;

    ev->type = p->a.type == FO_FA_COMMIT_END ? FO_FE_END_COMMITTED : FO_FE_STEP_COMMITTED;
    if (lost_before) return false;
    if (m->st_ended) {
        ev->result = FO_ESTORE; /* the store refuses anything after the end */
    } else if (p->a.type == FO_FA_COMMIT_END) {
        m->st_ended = true;
        m->st_result = p->a.result;
    } else if (r >= 50 && r < 54) {
        ev->result = FO_ESTORE; /* refused */
    } else {
        if (p->a.step > m->st_last) m->st_last = p->a.step;
        if (p->a.names_new) {
            snprintf(m->st_new_host, sizeof(m->st_new_host), "%s", m->fs.c.new_host);
            m->st_new_port = m->fs.c.new_port;
        }
        if (p->a.step == FO_FS_CHOOSE) check_catch_up(m);
        if (p->a.step == FO_FS_CHOOSE && (m->kind == FO_FK_AUTO || m->kind == FO_FK_SWITCHOVER)) {
            /* I3's reference: what the replicas the engine sampled had received. */
            unsigned i;
            m->acked_set = true;
            m->acked = 0;
            for (i = 1; i < m->n; i++)
                if (m->s[i].sampled && m->s[i].sampled_recv > m->acked) m->acked = m->s[i].sampled_recv;
        }
    }
    return !lost_after;
}

static void leader_change(struct sim *m, const char *why)
{
    m->leader_changes++;
    if (m->trace) printf("  leader change: %s\n", why);
    new_leader(m);
}

/* Performs one pending action; false when leadership changed instead. */
static void perform(struct sim *m, const struct pend *p)
{
    struct fo_foevent ev;
    struct fo_sample *smp = calloc(1, sizeof(*smp));
    char pos[FO_GTIDPOS_LEN];
    unsigned i;

    memset(&ev, 0, sizeof(ev));
    if (smp == NULL) return failf(m, "out of memory");
    switch (p->a.type) {
    case FO_FA_BARRIER:
        ev.type = FO_FE_BARRIER;
        if (may_change_leader(m) && chance(m, 20)) ev.status = FO_ENOTLEADER;
        for (i = 0; i < m->n; i++) m->s[i].sampled = false;
        {
            struct fo_foinst inst[NS];
            memset(inst, 0, sizeof(inst));
            for (i = 0; i < m->n; i++) {
                snprintf(inst[i].host, sizeof(inst[i].host), "%s", m->s[i].host);
                inst[i].port = m->s[i].port;
                inst[i].rule = m->s[i].rule;
            }
            ev.inst = inst;
            ev.n_inst = m->n;
            deliver(m, &ev);
        }
        if (ev.status != 0) leader_change(m, "barrier failed");
        break;
    case FO_FA_COMMIT_STEP:
    case FO_FA_COMMIT_END:
        if (!do_commit(m, p, &ev)) {
            leader_change(m, "commit outcome lost");
            break;
        }
        deliver(m, &ev);
        break;
    case FO_FA_SQL:
        do_sql(m, p, &ev, smp);
        deliver(m, &ev);
        break;
    case FO_FA_FENCE:
        do_fence(m, &ev, pos, sizeof(pos));
        deliver(m, &ev);
        break;
    case FO_FA_REVOKE:
        do_revoke(m, &ev);
        deliver(m, &ev);
        break;
    case FO_FA_WAIT_UNTIL:
        while (m->now < p->a.at_ms) { /* the world goes on while the engine waits */
            tick(m);
            check_writable(m, "waiting for the lease");
        }
        ev.type = FO_FE_TIMER;
        deliver(m, &ev);
        break;
    case FO_FA_PRE_HOOK:
        ev.type = FO_FE_HOOK;
        ev.not_started = chance(m, 20);
        ev.hook_ok = !chance(m, 100);
        ev.error = ev.hook_ok ? "exit 0" : "exit 1";
        deliver(m, &ev);
        break;
    case FO_FA_MOVE_VIP:
        ev.type = FO_FE_VIP;
        if (chance(m, 100)) {
            ev.status = FO_ETIMEDOUT;
            ev.error = "agent did not answer";
        } else {
            m->vip_holder = find(m, p->host, p->a.port);
            ev.error = "VIP acquired";
        }
        deliver(m, &ev);
        break;
    case FO_FA_SALVAGE: do_salvage(m, p, &ev, pos, sizeof(pos)); break;
    default: failf(m, "unexpected pending action %d", (int)p->a.type); break;
    }
    free(smp);
}

/* ------------------------------------------------------------------ a schedule */

static void setup(struct sim *m, uint64_t seed)
{
    unsigned i;

    memset(m, 0, sizeof(*m));
    m->seed = seed;
    m->rng = seed * 0x9E3779B97F4A7C15ull + 1;
    m->n = 3 + below(m, 3);
    m->kind = (enum fo_fokind)below(m, 3);
    m->has_vip = chance(m, 700);
    m->semi = chance(m, 500);
    m->pre_hook = chance(m, 200);
    m->creds = chance(m, 800);
    m->salvage = chance(m, 600);
    m->W = 20 + below(m, 20);
    m->promoted = -1;
    m->target = m->kind != FO_FK_AUTO && chance(m, 300) ? (int)(1 + below(m, m->n - 1)) : -1;
    for (i = 0; i < m->n; i++) {
        struct srv *s = &m->s[i];
        snprintf(s->host, sizeof(s->host), "10.0.0.%u", i + 1);
        s->port = 3306;
        s->source = i ? 0 : -1;
        s->is_replica = i != 0;
        s->read_only = i != 0;
        s->io = s->sql = i != 0;
        s->recv = i ? m->W - below(m, 5) : m->W;
        s->applied = i ? s->recv - below(m, 4) : m->W;
        s->link = 50 + below(m, 450);
        /* Rules make the rule's choice differ from the most advanced: catch-up (I5). */
        s->rule = !i               ? FO_RULE_NEUTRAL
                  : chance(m, 300) ? FO_RULE_PREFER
                  : chance(m, 150) ? FO_RULE_PREFER_NOT
                                   : FO_RULE_NEUTRAL;
        if (i && chance(m, 150)) s->sql = false; /* a stopped SQL thread holding relay log */
        if (i && chance(m, 50)) s->life = DEAD;
    }
    if (m->kind == FO_FK_SWITCHOVER) {
        m->s[0].life = ALIVE;
    } else {
        unsigned r = below(m, 3);
        m->s[0].life = r == 0 ? DEAD : r == 1 ? HUNG : m->has_vip ? CUT : DEAD;
    }
    m->vip_holder = m->has_vip ? 0 : -1;
    m->vip_on_old = m->has_vip;
    m->lease_expiry = m->has_vip ? 500 + below(m, 3000) : 0;
    if (!m->has_vip && m->s[0].life == CUT) m->s[0].life = DEAD;
}

/* A replica restarts between choose and promote (while the engine waits for the
 * promote step's barrier, e.g. during a change of leader): MariaDB starts its
 * replication threads again (relay log kept), so it may receive more from the old
 * primary. Not modelled: a restart inside the promote step, between the re-wait and
 * RESET SLAVE ALL (one round trip). */
static void maybe_restart(struct sim *m)
{
    unsigned i;

    if (m->st_last != FO_FS_CHOOSE || m->fs.phase != FO_FP_BARRIER || !chance(m, 300)) return;
    i = 1 + below(m, m->n - 1);
    if (m->s[i].life == DEAD || !m->s[i].is_replica) return;
    m->s[i].io = m->s[i].sql = true;
    if (m->trace) printf("  %s restarts (IO and SQL threads start)\n", m->s[i].host);
}

static void final_checks(struct sim *m)
{
    if (!m->st_ended) return failf(m, "I4: the run did not end within %u events", m->events);
    if (!m->finished && m->fail[0] == '\0') failf(m, "I4: the end is committed but the engine never finished");
    if (m->st_result == FO_FR_SUCCESS) {
        int p = find(m, m->st_new_host, m->st_new_port);
        if (p < 0 || m->promoted != p) failf(m, "success without promoting the recorded primary %s", m->st_new_host);
        if (m->acked_set && p >= 0 && m->s[p].applied < m->acked)
            failf(m, "I3: the new primary lacks acknowledged transactions");
    } else if (m->promoted >= 0 && m->st_result == FO_FR_ABORTED) {
        failf(m, "aborted after promoting %s", m->s[m->promoted].host);
    }
}

/* Runs one schedule; returns the failure text or NULL. */
static const char *run_one(struct sim *m, uint64_t seed, bool trace)
{
    setup(m, seed);
    m->trace = trace;
    if (trace)
        printf("seed %" PRIu64 ": %u servers, kind %d, vip %d, semi %d, old primary life %d, W %" PRIu64 "\n", seed,
               m->n, (int)m->kind, m->has_vip, m->semi, (int)m->s[0].life, m->W);
    new_leader(m);
    while (m->fail[0] == '\0' && !m->finished && m->events < MAX_EVENTS) {
        struct pend p;
        unsigned k;
        if (fo_fostate_over(&m->fs)) {
            if (m->fs.phase == FO_FP_DONE) break;
            leader_change(m, "engine stopped");
            continue;
        }
        if (m->n_pend == 0) {
            failf(m, "I4: nothing in flight in phase %s", fo_fophase_name(m->fs.phase));
            break;
        }
        if (may_change_leader(m) && chance(m, 8)) {
            /* A deposed leader's action may still land on a server. */
            k = below(m, m->n_pend);
            if (m->pend[k].a.type == FO_FA_SQL && chance(m, 500)) {
                struct fo_foevent ev;
                struct fo_sample *smp = calloc(1, sizeof(*smp));
                memset(&ev, 0, sizeof(ev));
                if (smp != NULL) do_sql(m, &m->pend[k], &ev, smp);
                free(smp);
            }
            leader_change(m, "leadership lost mid-step");
            continue;
        }
        k = below(m, m->n_pend);
        p = m->pend[k];
        m->pend[k] = m->pend[--m->n_pend];
        if (trace) printf("  t=%" PRIu64 " perform %d (%s)\n", m->now, (int)p.a.type, fo_fophase_name(m->fs.phase));
        perform(m, &p);
        tick(m);
        maybe_restart(m);
        check_writable(m, fo_fophase_name(m->fs.phase));
    }
    if (m->fail[0] == '\0') final_checks(m);
    fo_fostate_free(&m->fs);
    if (trace) printf("  result %d detail: %s\n", m->st_result, m->fs.detail);
    return m->fail[0] ? m->fail : NULL;
}

static void test_schedules(void)
{
    struct sim *m = calloc(1, sizeof(*m));
    const char *env = getenv("FO_SIM_SEED"), *runs_env = getenv("FO_SIM_RUNS");
    unsigned runs = runs_env ? (unsigned)strtoul(runs_env, NULL, 10) : 10000, i, failed = 0;
    unsigned results[4] = {0}, kinds_ok[3] = {0}, salvages = 0, catchups = 0, fallbacks = 0;
    clock_t t0 = clock();
    double secs;

    FO_CHECK(m != NULL);
    if (m == NULL) return;
    if (env != NULL) {
        const char *f = run_one(m, strtoull(env, NULL, 10), true);
        printf("seed %s: %s\n", env, f ? f : "ok");
        FO_CHECK(f == NULL);
        free(m);
        return;
    }
    for (i = 1; i <= runs; i++) {
        const char *f = run_one(m, i, false);
        if (f != NULL) {
            if (failed++ < 10) fprintf(stderr, "  schedule FO_SIM_SEED=%u failed: %s\n", i, f);
            continue;
        }
        if (m->st_result >= 0 && m->st_result < 4) results[m->st_result]++;
        if (m->st_result == FO_FR_SUCCESS) kinds_ok[m->kind]++;
        salvages += m->salvages;
        catchups += m->catchups;
        fallbacks += m->fallbacks;
    }
    secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("%u schedules in %.2f s: %u success (auto %u, manual %u, switchover %u), %u failed, %u aborted; %u "
           "violated an invariant; %u salvages; %u catch-ups, %u fallbacks\n",
           runs, secs, results[FO_FR_SUCCESS], kinds_ok[0], kinds_ok[1], kinds_ok[2], results[FO_FR_FAILED],
           results[FO_FR_ABORTED], failed, salvages, catchups, fallbacks);
    FO_CHECK(salvages > 0);
    FO_CHECK(catchups > 0);
    FO_CHECK(fallbacks > 0);
    FO_CHECK_INT(failed, 0);
    /* The schedules must exercise every ending, or they prove little. */
    FO_CHECK(results[FO_FR_SUCCESS] > runs / 10);
    FO_CHECK(results[FO_FR_FAILED] > 0);
    FO_CHECK(results[FO_FR_ABORTED] > 0);
    FO_CHECK(kinds_ok[FO_FK_SWITCHOVER] > 0 && kinds_ok[FO_FK_AUTO] > 0);
    free(m);
}

FO_TEST_MAIN(FO_T(test_schedules))
