/* Failover engine: detection, decisions, operator requests, resumption. The steps
 * themselves are in failover_run.c; fencing and rejoin of stray servers in rejoin.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/text.h"
#include "common/log.h"
#include "common/prom.h"
#include "controller/act/failover_internal.h"
#include "controller/probe/monitor.h"
#include "controller/decide/topology.h"
#include "controller/vip/vipmgr.h"
#include "mysql/sqlexec.h"

#define MOD "failover"
#define DECISION_REPEAT_MS 30000 /* the same verdict is recorded again at most this often */
#define TILT_LAG_MS 1000
#define REDRIVE_MS 1000 /* how often the leader looks for running failovers without a run */
#define TILT_JUMP_MS 1000
#define FO_RETRY_AFTER_INCOMPLETE_MS 30000 /* documented in README "Failover" */

int fo_fe_read_secret(struct fo_failover *fe, const char *path, char *out, size_t outlen, char err[FO_ERRLEN])
{
    /* Checked again at every read: only files inside secrets_dir (issue 9). */
    return fo_read_secret_file(fe->ctl->cfg.secrets_dir, path, out, outlen, err);
}

struct hb_ctx {
    struct fo_failover *fe;
    const char *cluster;
    uint32_t ms;
};

static int first_heartbeat(void *data, const struct fo_store_instance *i)
{
    struct hb_ctx *h = data;
    struct fo_watch_view v;

    if (fo_monitor_view(h->fe->ctl, h->cluster, i->host, i->port, &v) && v.has_sample &&
        v.sample->heartbeat_period_known && v.sample->heartbeat_period_ms > 0) {
        h->ms = v.sample->heartbeat_period_ms;
        return 1;
    }
    return 0;
}

uint32_t fo_fe_heartbeat_ms(struct fo_failover *fe, const char *cluster, const char *host, uint16_t port)
{
    struct hb_ctx h = {.fe = fe, .cluster = cluster};
    struct fo_watch_view v;

    if (fo_monitor_view(fe->ctl, cluster, host, port, &v) && v.has_sample && v.sample->heartbeat_period_known &&
        v.sample->heartbeat_period_ms > 0)
        return v.sample->heartbeat_period_ms;
    fo_store_each_instance(fe->ctl->store, cluster, first_heartbeat, &h);
    return h.ms;
}

void fo_fe_heartbeat_clause(uint32_t ms, char *out, size_t n)
{
    if (ms == 0) {
        snprintf(out, n, "%s", "");
        return;
    }
    snprintf(out, n, ", MASTER_HEARTBEAT_PERIOD=%u.%03u", ms / 1000u, ms % 1000u);
}

int fo_fe_change_master(struct fo_failover *fe, const struct fo_store_cluster *c, const char *on_host, uint16_t on_port,
                        const char *src_host, uint16_t src_port, bool demote, char *out, size_t n, char err[FO_ERRLEN])
{
    char h[FO_HOST_LEN * 2 + 4], u[FO_NAME_LEN * 2 + 4], qpw[520], pw[256], hb[48];
    int k = -1;

    if (c->repl_user[0] == '\0' || c->repl_password_file[0] == '\0')
        return fo_errf(err, FO_EINVAL, "repl_user / repl_password_file not configured");
    if (fo_fe_read_secret(fe, c->repl_password_file, pw, sizeof(pw), err) != 0) return FO_EINVAL;
    fo_fe_heartbeat_clause(fo_fe_heartbeat_ms(fe, c->name, on_host, on_port), hb, sizeof(hb));
    if (fo_sql_quote(src_host, h, sizeof(h)) == 0 && fo_sql_quote(c->repl_user, u, sizeof(u)) == 0 &&
        fo_sql_quote(pw, qpw, sizeof(qpw)) == 0)
        k = snprintf(out, n,
                     "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%u, MASTER_USER=%s, MASTER_PASSWORD=%s, "
                     "MASTER_USE_GTID=slave_pos%s%s",
                     h, (unsigned)src_port, u, qpw, hb, demote ? ", MASTER_DEMOTE_TO_SLAVE=1" : "");
    memset(pw, 0, sizeof(pw));
    memset(qpw, 0, sizeof(qpw));
    if (k < 0 || (size_t)k >= n) {
        if (n > 0) memset(out, 0, n);
        return fo_errf(err, FO_ETOOBIG, "the source's host or the replication credentials do not fit the statement");
    }
    return 0;
}

static unsigned name_hash(const char *s)
{
    uint64_t h = fo_text_hash(FO_HASH_SEED, s);

    return (unsigned)(h ^ (h >> 32));
}

/* The slot of cluster in dec_index: its entry, or the empty slot where it goes. */
static unsigned dec_slot(const struct fo_failover *fe, const char *cluster)
{
    unsigned i = name_hash(cluster) & (fe->dec_slots - 1);

    while (fe->dec_index[i] != 0 && strcmp(fe->decisions[fe->dec_index[i] - 1].cluster, cluster) != 0)
        i = (i + 1) & (fe->dec_slots - 1);
    return i;
}

/* Keeps dec_index at least twice as large as the decisions it indexes. */
static int dec_index_fit(struct fo_failover *fe, unsigned n)
{
    unsigned slots = fe->dec_slots ? fe->dec_slots : 64, *old = fe->dec_index, old_slots = fe->dec_slots, i;

    while (slots < 2 * n) slots *= 2;
    if (slots == fe->dec_slots) return 0;
    if ((fe->dec_index = calloc(slots, sizeof(*fe->dec_index))) == NULL) {
        fe->dec_index = old;
        return FO_ENOMEM;
    }
    fe->dec_slots = slots;
    for (i = 0; i < old_slots; i++)
        if (old[i] != 0) fe->dec_index[dec_slot(fe, fe->decisions[old[i] - 1].cluster)] = old[i];
    free(old);
    return 0;
}

static struct last_decision *last_for(struct fo_failover *fe, const char *cluster)
{
    struct last_decision *p;
    unsigned slot;

    if (fe->dec_slots > 0 && fe->dec_index[slot = dec_slot(fe, cluster)] != 0)
        return &fe->decisions[fe->dec_index[slot] - 1];
    if (dec_index_fit(fe, fe->n_decisions + 1) != 0) return NULL;
    if (fe->n_decisions == fe->cap_decisions) {
        unsigned ncap = fe->cap_decisions ? fe->cap_decisions * 2 : 16;
        if ((p = realloc(fe->decisions, ncap * sizeof(*p))) == NULL) return NULL;
        fe->decisions = p;
        fe->cap_decisions = ncap;
    }
    p = &fe->decisions[fe->n_decisions++];
    memset(p, 0, sizeof(*p));
    snprintf(p->cluster, sizeof(p->cluster), "%s", cluster);
    fe->dec_index[dec_slot(fe, cluster)] = fe->n_decisions;
    return p;
}

/* Commits a Decision. With dedupe, the same verdict with the same reason for the same
 * cluster is recorded again only after DECISION_REPEAT_MS, so a long outage does not
 * flood the log, while a change of reason (e.g. another refusal) is recorded at once. */
void fo_fe_decision(struct fo_failover *fe, const char *cluster, const char *verdict, const char *reason,
                    const char *host, uint16_t port, bool dedupe, const struct fo_evidence *ev)
{
    struct last_decision *last = last_for(fe, cluster);
    uint64_t now = uv_now(fe->ctl->loop);
    char err[FO_ERRLEN], key[sizeof(last->key)];
    Fo__Command cmd;
    Fo__Decision d;

    snprintf(key, sizeof(key), "%s|%.64s", verdict, reason);
    if (dedupe && last != NULL && strcmp(last->key, key) == 0 && now - last->at_ms < DECISION_REPEAT_MS) return;
    if (last != NULL) {
        memcpy(last->key, key, sizeof(key));
        last->at_ms = now;
    }
    FO_INFO(MOD, "cluster %s: %s: %s", cluster, verdict, reason);
    fe->decisions_recorded++;
    fo__command__init(&cmd);
    fo__decision__init(&d);
    d.cluster = (char *)cluster;
    d.verdict = (char *)verdict;
    d.reason = (char *)reason;
    d.host = (char *)(host ? host : "");
    d.port = port;
    if (ev != NULL) {
        d.n_confirmations = ev->n_conf;
        d.confirmations = (Fo__Confirmation **)ev->confp;
        d.n_replicas = ev->n_reps;
        d.replicas = (Fo__ReplicaReport **)ev->repp;
    }
    cmd.body_case = FO__COMMAND__BODY_DECISION;
    cmd.decision = &d;
    if (fo_ctl_propose(fe->ctl, &cmd, NULL, NULL, err) != 0) FO_WARN(MOD, "recording a decision: %s", err);
}

void fo_fe_backoff(struct fo_failover *fe, const char *cluster)
{
    struct last_decision *last = last_for(fe, cluster);

    if (last != NULL) last->retry_after = uv_now(fe->ctl->loop) + FO_RETRY_AFTER_INCOMPLETE_MS;
}

void fo_fe_quiet(struct fo_failover *fe, const char *cluster)
{
    struct last_decision *last = last_for(fe, cluster);
    struct fo_probe_cfg *p = &fe->ctl->cfg.probe;

    if (last != NULL) last->quiet_until = uv_now(fe->ctl->loop) + 3u * p->interval_ms + p->read_timeout_ms;
}

/* ------------------------------------------------------------------ lifecycle */

int fo_failover_start(struct fo_ctl *ctl, char err[FO_ERRLEN])
{
    struct fo_failover *fe = calloc(1, sizeof(*fe));

    int rc;

    /* The monitor (probe) and the VIP manager call up into the engine through the
     * node context (ctl.h), not by including this room's header. Each entry checks
     * for a missing or stopping engine itself, so the hooks may stay registered. */
    ctl->hooks.evaluate = fo_failover_evaluate;
    ctl->hooks.leader_ready = fo_failover_leader_ready;
    ctl->hooks.leader_lost = fo_failover_leader_lost;
    ctl->hooks.tick = fo_failover_tick;
    ctl->hooks.failover_running = fo_failover_running;
    if (fe == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    fe->ctl = ctl;
    if ((rc = fo_vipmgr_start(ctl, &fe->vip, err)) != 0) {
        free(fe);
        return rc;
    }
    ctl->failover = fe;
    return 0;
}

static void kill_all(struct fo_failover *fe)
{
    while (fe->runs != NULL) fo_run_kill(fe->runs);
    fo_rejoin_cancel_all(fe);
    fo_coprimary_cancel_all(fe); /* co-primary hook (issue 14.1) */
}

void fo_failover_stop(struct fo_ctl *ctl)
{
    if (ctl->failover == NULL) return;
    ctl->failover->stopping = true;
    kill_all(ctl->failover);
    fo_vipmgr_stop(ctl->failover->vip);
    ctl->failover->vip = NULL;
}

void fo_failover_free(struct fo_ctl *ctl)
{
    struct fo_failover *fe = ctl->failover;

    if (fe == NULL) return;
    ctl->failover = NULL;
    free(fe->decisions);
    free(fe->dec_index);
    free(fe->rejoin_buckets);
    free(fe);
}

static int resume_one(void *data, const struct fo_store_failover *f)
{
    struct fo_failover *fe = data;
    struct last_decision *last = last_for(fe, f->cluster);
    char err[FO_ERRLEN], reason[FO_ERRLEN + 128];
    struct run *run;

    if (fo_run_find(fe, f->cluster) != NULL) return 0;
    if (last != NULL && last->begin_pending) return 0; /* begin_committed drives it */
    FO_WARN(MOD, "cluster %s: resuming %s epoch %llu after step %d (begun by a previous leader)", f->cluster,
            f->kind == FO__FAILOVER_KIND__KIND_SWITCHOVER ? "switchover" : "failover", (unsigned long long)f->epoch,
            f->last_step);
    if ((run = fo_run_new(fe, f, err)) == NULL) {
        /* Retried on every re-drive tick; `why` says what blocks it. */
        FO_ERROR(MOD, "cannot resume epoch %llu of %s: %s", (unsigned long long)f->epoch, f->cluster, err);
        snprintf(reason, sizeof(reason), "failover epoch %llu cannot be driven: %s (retried every %u ms)",
                 (unsigned long long)f->epoch, err, REDRIVE_MS);
        fo_fe_decision(fe, f->cluster, "failover_stalled", reason, f->old_host, f->old_port, true, NULL);
        return 0;
    }
    fo_run_next(run);
    return 0;
}

/* DESIGN.md §6: a failover the store says is running must have a live run on the
 * leader. A run can die while its node stays leader (a barrier or a commit that
 * failed, an unreadable password file): re-drive it from its last committed step. */
static void redrive(struct fo_failover *fe)
{
    struct fo_ctl *ctl = fe->ctl;
    uint64_t now = uv_now(ctl->loop);

    if (fe->stopping || !fe->leader || now < fe->redrive_at || !fo_raft_is_ready(&ctl->raft)) return;
    fe->redrive_at = now + REDRIVE_MS;
    fo_store_each_running_failover(ctl->store, resume_one, fe);
}

void fo_failover_leader_ready(struct fo_ctl *ctl)
{
    struct fo_failover *fe = ctl->failover;

    if (fe == NULL || fe->stopping) return;
    fe->leader = true;
    fo_vipmgr_leader_ready(fe->vip);
    fo_store_each_running_failover(ctl->store, resume_one, fe);
}

void fo_failover_leader_lost(struct fo_ctl *ctl)
{
    unsigned i;

    if (ctl->failover == NULL) return;
    ctl->failover->leader = false;
    kill_all(ctl->failover);
    fo_vipmgr_leader_lost(ctl->failover->vip);
    for (i = 0; i < ctl->failover->n_decisions; i++) ctl->failover->decisions[i].begin_pending = false;
}

void fo_failover_tick(struct fo_ctl *ctl, uint64_t loop_lag_ms, int64_t clock_jump_ms)
{
    struct fo_failover *fe = ctl->failover;
    uint64_t now;

    if (fe == NULL) return;
    redrive(fe);
    if (loop_lag_ms < TILT_LAG_MS && clock_jump_ms < TILT_JUMP_MS && clock_jump_ms > -TILT_JUMP_MS) return;
    now = uv_now(ctl->loop);
    if (fe->tilt_until_ms <= now) fe->tilts++;
    if (fe->tilt_until_ms <= now)
        FO_WARN(MOD, "TILT: loop stalled %llu ms / clock jumped %lld ms; no failover decision for %u ms",
                (unsigned long long)loop_lag_ms, (long long)clock_jump_ms, ctl->cfg.failover.tilt_grace_ms);
    fe->tilt_until_ms = now + ctl->cfg.failover.tilt_grace_ms;
}

bool fo_failover_tilted(struct fo_ctl *ctl)
{
    return ctl->failover != NULL && uv_now(ctl->loop) < ctl->failover->tilt_until_ms;
}

bool fo_failover_running(struct fo_ctl *ctl, const char *cluster)
{
    return ctl->failover != NULL && fo_run_find(ctl->failover, cluster) != NULL;
}

/* ------------------------------------------------------------------ begin */

struct begin_req {
    struct fo_failover *fe;
    char cluster[FO_NAME_LEN];
    fo_failover_done_cb cb;
    void *data;
};

static void begin_committed(void *data, int status, int result)
{
    struct begin_req *b = data;
    struct fo_failover *fe = b->fe;
    struct last_decision *last = last_for(fe, b->cluster);
    struct fo_store_failover f;
    char err[FO_ERRLEN];
    struct run *run;
    int rc = status ? status : result;

    if (last != NULL) last->begin_pending = false;
    if (rc == 0 && fe->ctl->cfg.failover.fault == FO_FAULT_EXIT_AFTER_BEGIN) {
        /* TEST ONLY (fault_injection = exit_after_begin): die with the failover
         * committed but not started, so that another leader must finish it. */
        FO_ERROR(MOD, "fault injection: exiting right after failover begin of %s", b->cluster);
        _exit(3);
    }
    if (rc != 0 || fe->stopping) {
        if (b->cb) b->cb(b->data, rc ? rc : FO_ECANCELED, rc ? fo_strerror(rc) : "stopping");
        free(b);
        return;
    }
    if (fo_store_get_running_failover(fe->ctl->store, b->cluster, &f) != 0 || (run = fo_run_new(fe, &f, err)) == NULL) {
        if (b->cb) b->cb(b->data, FO_ESTORE, "failover begun but cannot be driven; the next leader resumes it");
        free(b);
        return;
    }
    run->cb = b->cb;
    run->cb_data = b->data;
    free(b);
    fo_run_next(run);
}

static int begin(struct fo_failover *fe, const struct fo_store_cluster *c, int kind, const char *reason,
                 const struct fo_evidence *ev, const char *target_host, uint16_t target_port, fo_failover_done_cb cb,
                 void *data, char err[FO_ERRLEN])
{
    struct last_decision *last = last_for(fe, c->name);
    struct begin_req *b;
    Fo__Command cmd;
    Fo__FailoverBegin fb;
    struct fo_endpoint gated; /* co-primary hook (issue 14.1): only the pair takes the writer role */
    int rc;

    if ((rc = fo_coprimary_gate(fe, c, kind, target_host, target_port, &gated, err)) != 0) return rc;
    target_host = gated.host;
    target_port = gated.port;
    if (last == NULL || (b = calloc(1, sizeof(*b))) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    if (last->begin_pending) {
        free(b);
        return fo_errf(err, FO_EBUSY, "a failover of %s is being started", c->name);
    }
    b->fe = fe;
    snprintf(b->cluster, sizeof(b->cluster), "%s", c->name);
    b->cb = cb;
    b->data = data;
    fo__command__init(&cmd);
    fo__failover_begin__init(&fb);
    fb.cluster = (char *)c->name;
    fb.epoch = c->epoch + 1; /* DESIGN.md §6: committed before any side effect */
    fb.kind = (Fo__FailoverKind)kind;
    fb.old_host = (char *)c->primary_host;
    fb.old_port = c->primary_port;
    fb.reason = (char *)reason;
    fb.target_host = (char *)(target_host ? target_host : "");
    fb.target_port = target_port;
    if (ev != NULL) {
        fb.n_confirmations = ev->n_conf;
        fb.confirmations = (Fo__Confirmation **)ev->confp;
        fb.n_replicas = ev->n_reps;
        fb.replicas = (Fo__ReplicaReport **)ev->repp;
    }
    cmd.body_case = FO__COMMAND__BODY_FAILOVER_BEGIN;
    cmd.failover_begin = &fb;
    FO_WARN(MOD, "cluster %s: beginning %s epoch %llu of primary %s:%u: %s", c->name,
            kind == FO__FAILOVER_KIND__KIND_SWITCHOVER ? "switchover" : "failover", (unsigned long long)fb.epoch,
            c->primary_host, c->primary_port, reason);
    if ((rc = fo_ctl_propose(fe->ctl, &cmd, begin_committed, b, err)) != 0) {
        free(b);
        return rc;
    }
    last->begin_pending = true;
    fe->begun++;
    return 0;
}

/* ------------------------------------------------------------------ detection */

struct replica_collect {
    struct fo_ctl *ctl;
    const struct fo_store_cluster *c;
    struct fo_detect_replica reps[FO_MAX_INSTANCES_PER_CLUSTER];
    char hosts[FO_MAX_INSTANCES_PER_CLUSTER][FO_HOST_LEN];
    char io_text[FO_MAX_INSTANCES_PER_CLUSTER][FO_THREAD_TEXT_LEN]; /* as the server said it */
    unsigned n;
    struct fo_evidence ev;
};

/* Fills ev from a verdict's inputs (failover_internal.h). */
void fo_fe_evidence(struct fo_failover *fe, struct fo_evidence *ev, const struct fo_watch_view *pv,
                    const struct fo_detect_vote *votes, unsigned n_votes, const struct fo_detect_replica *reps,
                    unsigned n_reps)
{
    unsigned i;

    fo__confirmation__init(&ev->conf[0]);
    ev->conf[0].node_id = fe->ctl->cfg.node_id;
    ev->conf[0].down = pv->health == FO_HEALTH_DOWN;
    ev->conf[0].detail = (char *)(pv->last_error != NULL ? pv->last_error : "");
    ev->n_conf = 1;
    for (i = 0; i < n_votes && ev->n_conf < FO_MAX_PEERS + 1; i++) {
        Fo__Confirmation *cf = &ev->conf[ev->n_conf++];
        fo__confirmation__init(cf);
        cf->node_id = votes[i].node_id;
        cf->down = votes[i].down;
        cf->age_ms = votes[i].age_ms;
    }
    for (i = 0; i < ev->n_conf; i++) ev->confp[i] = &ev->conf[i];
    if (n_reps > FO_MAX_INSTANCES_PER_CLUSTER) n_reps = FO_MAX_INSTANCES_PER_CLUSTER;
    for (i = 0; i < n_reps; i++) {
        const struct fo_detect_replica *r = &reps[i];
        Fo__ReplicaReport *rr = &ev->reps[i];
        fo__replica_report__init(rr);
        rr->host = (char *)r->host;
        rr->port = r->port;
        rr->reachable = r->reachable;
        rr->io_running = (char *)(!r->reachable ? "" : r->io_text != NULL ? r->io_text : fo_thread_state_name(r->io));
        if (!r->reachable)
            snprintf(ev->rep_detail[i], sizeof(ev->rep_detail[i]), "unreachable");
        else if (!r->from_primary)
            snprintf(ev->rep_detail[i], sizeof(ev->rep_detail[i]), "replicates from another source");
        else if (r->io == FO_THREAD_YES && r->silent)
            snprintf(ev->rep_detail[i], sizeof(ev->rep_detail[i]),
                     "sample %llu ms old; IO=Yes but no event or heartbeat for %llu ms",
                     (unsigned long long)r->sample_age_ms, (unsigned long long)r->silent_ms);
        else
            snprintf(ev->rep_detail[i], sizeof(ev->rep_detail[i]), "sample %llu ms old",
                     (unsigned long long)r->sample_age_ms);
        rr->detail = ev->rep_detail[i];
        ev->repp[i] = rr;
    }
    ev->n_reps = n_reps;
}

static int collect_replica(void *data, const struct fo_store_instance *i)
{
    struct replica_collect *rc = data;
    struct fo_detect_replica *r;
    struct fo_watch_view v;

    if (rc->n == FO_MAX_INSTANCES_PER_CLUSTER) return 1;
    if (fo_addr_same(i->host, i->port, rc->c->primary_host, rc->c->primary_port)) return 0;
    r = &rc->reps[rc->n];
    memset(r, 0, sizeof(*r));
    snprintf(rc->hosts[rc->n], FO_HOST_LEN, "%s", i->host);
    r->host = rc->hosts[rc->n];
    r->port = i->port;
    if (fo_monitor_view(rc->ctl, i->cluster, i->host, i->port, &v) && v.last_ok && v.has_sample) {
        r->reachable = true;
        r->sample_age_ms = v.sample_age_ms;
        r->io = v.sample->io_running;
        snprintf(rc->io_text[rc->n], FO_THREAD_TEXT_LEN, "%s", v.sample->io_running_text);
        r->io_text = rc->io_text[rc->n][0] != '\0' ? rc->io_text[rc->n] : NULL;
        /* Another spelling of the primary's address is still the primary. */
        r->from_primary = v.sample->is_replica && fo_addr_same(v.sample->master_host, v.sample->master_port,
                                                               rc->c->primary_host, rc->c->primary_port);
        r->silent = v.arrival == FO_ARRIVAL_SILENT;
        r->silent_ms = v.silent_ms;
    }
    rc->n++;
    return 0;
}

unsigned fo_fe_voters(struct fo_ctl *ctl)
{
    unsigned i, n = 0;

    for (i = 0; i < ctl->raft.raft.configuration.n; i++)
        if (ctl->raft.raft.configuration.servers[i].role == RAFT_VOTER) n++;
    return n;
}

/* Why an automatic failover may not start now, or NULL. */
static const char *gate(struct fo_failover *fe, const struct fo_store_cluster *c, char *buf, size_t n)
{
    struct fo_store_instance p;

    if (fo_fe_flavour_refusal(fe, c, buf, n)) return buf;
    if (!fo_store_recoveries_enabled(fe->ctl->store)) return "recoveries are disabled (failoverctl recoveries enable)";
    if (c->maintenance) return "the cluster is in maintenance";
    if (fo_store_get_instance(fe->ctl->store, c->name, c->primary_host, c->primary_port, &p) == 0 && p.maintenance)
        return "the primary is in maintenance";
    if (c->blocked_until_ms > fo_ctl_wall_ms()) {
        snprintf(buf, n, "anti-flap: a failover happened recently; blocked for %llu more s (failoverctl ack %s)",
                 (unsigned long long)((c->blocked_until_ms - fo_ctl_wall_ms()) / 1000), c->name);
        return buf;
    }
    return NULL;
}

static void detect_dead(struct fo_failover *fe, const struct fo_store_cluster *c, const struct fo_watch_view *pv)
{
    struct fo_ctl *ctl = fe->ctl;
    struct fo_detect_vote votes[FO_MAX_PEERS];
    struct replica_collect *rc;
    struct fo_detect_in in;
    struct fo_detect_out out;
    char buf[256], err[FO_ERRLEN];
    const char *why;

    struct last_decision *last = last_for(fe, c->name);

    if (last != NULL && last->begin_pending) return; /* a begin is on its way to the log */
    if ((rc = calloc(1, sizeof(*rc))) == NULL) return;
    rc->ctl = ctl;
    rc->c = c;
    fo_store_each_instance(ctl->store, c->name, collect_replica, rc);
    memset(&in, 0, sizeof(in));
    in.leader_view = pv->health;
    in.n_voters = fo_fe_voters(ctl);
    in.n_votes = fo_monitor_votes(ctl, c->name, c->primary_host, c->primary_port, votes, FO_MAX_PEERS);
    in.votes = votes;
    in.window_ms = ctl->cfg.failover.confirm_window_ms;
    in.replicas = rc->reps;
    in.n_replicas = rc->n;
    in.tilt = fo_failover_tilted(ctl);
    fo_detect(&in, &out);
    FO_DEBUG(MOD, "cluster %s: detector: %s (%u/%u votes, %u replicas): %s", c->name, fo_verdict_name(out.verdict),
             out.down_votes, out.needed, rc->n, out.reason);
    if (out.verdict == FO_VERDICT_OK || out.verdict == FO_VERDICT_SUSPECT) goto out;
    fo_fe_evidence(fe, &rc->ev, pv, votes, in.n_votes, rc->reps, rc->n);
    if (out.verdict != FO_VERDICT_DEAD) {
        fo_fe_decision(fe, c->name, fo_verdict_name(out.verdict), out.reason, c->primary_host, c->primary_port, true,
                       &rc->ev);
        goto out;
    }
    why = gate(fe, c, buf, sizeof(buf));
    if (why == NULL && last != NULL && uv_now(ctl->loop) < last->retry_after) {
        snprintf(buf, sizeof(buf),
                 "the last automatic attempt did not complete (failoverctl history %s); "
                 "next attempt in %llu s",
                 c->name, (unsigned long long)((last->retry_after - uv_now(ctl->loop)) / 1000 + 1));
        why = buf;
    }
    if (why != NULL) {
        char reason[800];
        snprintf(reason, sizeof(reason), "dead primary, failover refused: %.200s (%.500s)", why, out.reason);
        fo_fe_decision(fe, c->name, "refused", reason, c->primary_host, c->primary_port, true, &rc->ev);
        goto out;
    }
    fo_fe_decision(fe, c->name, "dead_primary", out.reason, c->primary_host, c->primary_port, false, &rc->ev);
    if (begin(fe, c, FO__FAILOVER_KIND__KIND_AUTO, out.reason, &rc->ev, NULL, 0, NULL, NULL, err) != 0)
        FO_WARN(MOD, "cluster %s: %s", c->name, err);
out:
    free(rc);
}

struct primary_find {
    struct fo_ctl *ctl;
    int found;
    char host[FO_HOST_LEN];
    uint16_t port;
};

static int find_writer(void *data, const struct fo_store_instance *i)
{
    struct primary_find *pf = data;
    struct fo_watch_view v;

    if (!fo_monitor_view(pf->ctl, i->cluster, i->host, i->port, &v) || !v.last_ok || !v.has_sample) return 0;
    if (v.sample->is_replica || v.sample->read_only) return 0;
    pf->found++;
    snprintf(pf->host, sizeof(pf->host), "%s", i->host);
    pf->port = i->port;
    return 0;
}

#define DESIGNATE_MAX_PENDING 256 /* SCALE-2 hook: see designate() */

/* A cluster without a designated primary gets one when exactly one instance looks
 * like a primary (writable, no source); until then nothing is fenced or failed over. */
static void designate(struct fo_failover *fe, const struct fo_store_cluster *c)
{
    struct primary_find pf = {.ctl = fe->ctl};
    struct last_decision *last = last_for(fe, c->name);
    char err[FO_ERRLEN];
    Fo__Command cmd;
    Fo__SetPrimary sp;

    fo_store_each_instance(fe->ctl->store, c->name, find_writer, &pf);
    if (pf.found != 1 || last == NULL || uv_now(fe->ctl->loop) - last->designate_at < 2000) return;
    /* SCALE-2 hook (issue 12): with thousands of clusters registering at once, commits
     * can take longer than the 2 s above, and each retry was one more SET_PRIMARY in
     * the log (10,000 servers: 22,000 entries queued behind the followers). While this
     * many of the leader's proposals await their commit, the next evaluation retries. */
    if (fe->ctl->raft.pending >= DESIGNATE_MAX_PENDING) return;
    last->designate_at = uv_now(fe->ctl->loop);
    fo__command__init(&cmd);
    fo__set_primary__init(&sp);
    sp.cluster = (char *)c->name;
    sp.host = pf.host;
    sp.port = pf.port;
    cmd.body_case = FO__COMMAND__BODY_SET_PRIMARY;
    cmd.set_primary = &sp;
    FO_INFO(MOD, "cluster %s: designating %s:%u as primary", c->name, pf.host, pf.port);
    if (fo_ctl_propose(fe->ctl, &cmd, NULL, NULL, err) != 0) FO_WARN(MOD, "designate: %s", err);
}

void fo_failover_evaluate(struct fo_ctl *ctl, const char *cluster)
{
    struct fo_failover *fe = ctl->failover;
    struct fo_store_cluster c;
    struct fo_watch_view pv;
    struct fo_store_failover f;

    if (fe == NULL || fe->stopping || !fo_raft_is_ready(&ctl->raft)) return;
    if (fo_run_find(fe, cluster) != NULL) return;
    if (fo_store_get_cluster(ctl->store, cluster, &c) != 0) return;
    if (fo_store_get_running_failover(ctl->store, cluster, &f) == 0) return; /* resumed on leader_ready */
    if (c.primary_host[0] == '\0') {
        designate(fe, &c);
        return;
    }
    if (!fo_monitor_view(ctl, cluster, c.primary_host, c.primary_port, &pv)) return;
    if (pv.health == FO_HEALTH_DOWN) {
        detect_dead(fe, &c, &pv);
        return;
    }
    if (pv.health == FO_HEALTH_UP && pv.last_ok && !c.maintenance) {
        struct last_decision *last = last_for(fe, cluster);
        fo_rejoin_check(fe, &c, last ? last->quiet_until : 0);
    }
}

/* ------------------------------------------------------------------ operator requests */

int fo_failover_request(struct fo_ctl *ctl, const char *cluster, int kind, const char *target_host,
                        uint16_t target_port, fo_failover_done_cb cb, void *data, char err[FO_ERRLEN])
{
    struct fo_failover *fe = ctl->failover;
    struct fo_store_cluster c;
    struct fo_store_instance t;
    struct fo_watch_view pv;
    struct fo_store_failover f;
    char reason[256];
    bool up;

    if (fe == NULL || fe->stopping) return fo_errf(err, FO_ECANCELED, "stopping");
    if (!fo_raft_is_ready(&ctl->raft)) return fo_errf(err, FO_ENOTLEADER, "not the leader");
    if (fo_store_get_cluster(ctl->store, cluster, &c) != 0)
        return fo_errf(err, FO_ENOTFOUND, "cluster '%s' is not registered", cluster);
    if (fo_run_find(fe, cluster) != NULL || fo_store_get_running_failover(ctl->store, cluster, &f) == 0)
        return fo_errf(err, FO_EBUSY, "a failover of '%s' is already running (failoverctl why %s)", cluster, cluster);
    if (c.primary_host[0] == '\0')
        return fo_errf(err, FO_EINVAL, "cluster '%s' has no designated primary yet", cluster);
    if (target_host != NULL && target_host[0] != '\0') {
        if (fo_store_get_instance(ctl->store, cluster, target_host, target_port, &t) != 0)
            return fo_errf(err, FO_ENOTFOUND, "%s:%u is not in cluster '%s'", target_host, target_port, cluster);
        if (strcmp(target_host, c.primary_host) == 0 && target_port == c.primary_port)
            return fo_errf(err, FO_EINVAL, "%s:%u is already the primary", target_host, target_port);
    }
    up = fo_monitor_view(ctl, cluster, c.primary_host, c.primary_port, &pv) && pv.health == FO_HEALTH_UP && pv.last_ok;
    if (kind == FO__FAILOVER_KIND__KIND_SWITCHOVER && !up)
        return fo_errf(err, FO_EINVAL, "the primary %s:%u is not healthy: use `failoverctl failover %s`",
                       c.primary_host, c.primary_port, cluster);
    if (kind == FO__FAILOVER_KIND__KIND_MANUAL && up)
        return fo_errf(err, FO_EINVAL, "the primary %s:%u is up: use `failoverctl switchover %s`", c.primary_host,
                       c.primary_port, cluster);
    snprintf(reason, sizeof(reason), "%s requested by an operator",
             kind == FO__FAILOVER_KIND__KIND_SWITCHOVER ? "switchover" : "failover");
    return begin(fe, &c, kind, reason, NULL, target_host, target_port, cb, data, err);
}

void fo_failover_metrics(struct fo_ctl *ctl, struct fo_buf *b)
{
    static const char *const results[] = {"running", "success", "failed", "aborted"};
    struct fo_failover *fe = ctl->failover;
    struct fo_prom_label l;
    unsigned i, running = 0;
    struct run *r;

    if (fe == NULL) return;
    for (r = fe->runs; r != NULL; r = r->next) running++;
    fo_prom_family(b, "failoverd_failovers_begun_total", "counter", "Failovers and switchovers this node began.");
    fo_prom_value(b, "failoverd_failovers_begun_total", NULL, 0, (double)fe->begun);
    fo_prom_family(b, "failoverd_failovers_ended_total", "counter", "Failovers this node ended, by result.");
    for (i = 1; i < 4; i++) {
        l = (struct fo_prom_label){"result", results[i]};
        fo_prom_value(b, "failoverd_failovers_ended_total", &l, 1, (double)fe->ended[i]);
    }
    fo_prom_family(b, "failoverd_failovers_running", "gauge", "Failovers this node is driving now.");
    fo_prom_value(b, "failoverd_failovers_running", NULL, 0, running);
    fo_prom_family(b, "failoverd_decisions_total", "counter", "Detection verdicts and refusals this node recorded.");
    fo_prom_value(b, "failoverd_decisions_total", NULL, 0, (double)fe->decisions_recorded);
    fo_prom_family(b, "failoverd_tilt", "gauge", "1 while decisions are suspended after a loop stall or clock jump.");
    fo_prom_value(b, "failoverd_tilt", NULL, 0, fo_failover_tilted(ctl) ? 1 : 0);
    fo_prom_family(b, "failoverd_tilts_total", "counter", "Times this node entered TILT.");
    fo_prom_value(b, "failoverd_tilts_total", NULL, 0, (double)fe->tilts);
    fo_prom_family(b, "failoverd_salvage_attempts_total", "counter",
                   "Failovers in which this node tried to salvage the dead primary's binlog tail.");
    fo_prom_value(b, "failoverd_salvage_attempts_total", NULL, 0, (double)fe->salvage_runs);
    fo_prom_family(b, "failoverd_salvaged_transactions_total", "counter",
                   "Transactions salvaged from dead primaries' binlogs and applied to the new primary.");
    fo_prom_value(b, "failoverd_salvaged_transactions_total", NULL, 0, (double)fe->salvage_txns);
    fo_prom_family(b, "failoverd_salvage_failed_total", "counter",
                   "Salvage attempts that could not salvage (host down, agent unreachable, caps, unreadable files).");
    fo_prom_value(b, "failoverd_salvage_failed_total", NULL, 0, (double)fe->salvage_failed);
    fo_prom_family(b, "failoverd_salvage_possibly_lost_transactions_total", "counter",
                   "Transactions those failed attempts possibly lost, where it could be computed.");
    fo_prom_value(b, "failoverd_salvage_possibly_lost_transactions_total", NULL, 0, (double)fe->salvage_lost_txns);
    fo_vipmgr_metrics(fe->vip, b);
}

struct fo_vipmgr *fo_failover_vipmgr(struct fo_ctl *ctl)
{
    return ctl->failover != NULL ? ctl->failover->vip : NULL;
}
