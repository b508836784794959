/* Internals of the failover engine, shared by failover.c (detection, decisions,
 * requests), failover_run.c (the executor of controller/decide/fostep.h) and rejoin.c. Not for other modules. */
#ifndef FO_FAILOVER_INTERNAL_H
#define FO_FAILOVER_INTERNAL_H

#include "controller/decide/detector.h"
#include "controller/decide/fostep.h"
#include "mysql/fence.h"
#include "controller/act/failover.h"
#include "mysql/sample.h"
#include "mysql/sqlexec.h"
#include "controller/vip/vipmgr.h"
#include "failoverd.pb-c.h"
#include "store/store.h"

#define FO_RUN_MAX_ITEMS FO_MAX_INSTANCES_PER_CLUSTER

struct run_q;
struct run_wait;
struct run_ev;

/* A run is the leader's executor of one committed FailoverBegin (failover_run.c): it
 * holds the handles of everything in flight and the engine's pure state
 * (controller/decide/fostep.h), performs the actions fo_fostep returns and feeds their
 * results back as events. It decides nothing itself. */
struct run {
    struct run *next;
    struct fo_failover *fe;
    char cluster[FO_NAME_LEN];
    char reason[512]; /* why the failover began (FailoverBegin.reason) */
    char user[FO_NAME_LEN];
    char password[256];
    char repl_user[FO_NAME_LEN];
    char repl_password[256];
    uint64_t step_ns; /* monotonic start of the current step */
    uint64_t begin_ns;
    unsigned pending; /* callbacks this run still waits for (+1 while feeding an event) */
    bool dead;        /* leadership lost or stopping: commit nothing more */
    struct fo_fostate st;
    struct run_ev *evq, **evq_tail;       /* results of actions that could not start, to feed */
    struct run_q *qs;                     /* SQL in flight */
    struct fo_fence *fence;               /* in flight, or NULL */
    struct fo_vipmgr_revoke *revoke;      /* in flight, or NULL */
    struct run_wait *wait;                /* in flight, or NULL */
    struct fo_hook *hook;                 /* in flight, or NULL */
    struct fo_vipmgr_move *vipmove;       /* in flight, or NULL */
    struct fo_salvage *salvage;           /* in flight, or NULL (controller/act/salvage.h) */
    char salvage_old_pos[FO_GTIDPOS_LEN]; /* the old primary's last probed gtid_binlog_pos */
    fo_failover_done_cb cb;
    void *cb_data;
};

/* Per-cluster memory of the engine (not replicated). */
struct last_decision {
    char cluster[FO_NAME_LEN];
    char key[96];         /* verdict + the start of the reason, for deduplication */
    uint64_t retry_after; /* monotonic: no automatic attempt before (after one that did not complete) */
    uint64_t at_ms;
    bool begin_pending;
    uint64_t designate_at;
    uint64_t quiet_until; /* no rejoin decisions before (monotonic ms) */
};

struct rejoin_op;
struct fo_copri_op;
struct fo_vipmgr;
struct fo_vipmgr_move;

struct fo_failover {
    struct fo_ctl *ctl;
    struct fo_vipmgr *vip; /* the writer VIP (controller/vip/vipmgr.h) */
    struct run *runs;
    uint64_t tilt_until_ms;
    bool leader;         /* between fo_failover_leader_ready and _lost */
    uint64_t redrive_at; /* monotonic: next check for running failovers without a run */
    struct last_decision *decisions;
    unsigned n_decisions, cap_decisions;
    /* Issue 12: an index of decisions by cluster name (open addressing; slot = index
     * + 1, 0 empty; dec_slots a power of two, at least twice n_decisions), and of
     * rejoins by instance (chained, rejoin_buckets a power of two). Both grow with what
     * is registered, so a report costs the same with 10 clusters or 10,000. */
    unsigned *dec_index;
    unsigned dec_slots;
    struct rejoin_op *rejoins;
    struct fo_copri_op *copri_ops; /* co-primary ring restores (coprimary.c) */
    struct rejoin_op **rejoin_buckets;
    unsigned n_rejoin_buckets, n_rejoins;
    bool stopping;
    /* Counters for /metrics (this node's actions while it was leader). */
    uint64_t begun, ended[4]; /* ended[fo.FailoverResult] */
    uint64_t decisions_recorded;
    uint64_t tilts;
    /* Binlog salvage (issue 13): attempts, transactions applied, attempts that could not
     * salvage, and the transactions those possibly lost (where it was computable). */
    uint64_t salvage_runs, salvage_txns, salvage_failed, salvage_lost_txns;
};

/* failover_run.c. fo_run_new builds a run from the store (the state as fo_fostate_init
 * wants it) and links it into fe->runs; fo_run_next drives it (once). */
struct run *fo_run_new(struct fo_failover *fe, const struct fo_store_failover *f, char err[FO_ERRLEN]);
void fo_run_next(struct run *run);
void fo_run_kill(struct run *run); /* leadership lost / stop: cancel I/O, commit nothing */
struct run *fo_run_find(struct fo_failover *fe, const char *cluster);

/* What justified a verdict: each controller's view of the primary and each replica's
 * report (recorded with Decisions and FailoverBegin, shown by why/history). */
struct fo_evidence {
    Fo__Confirmation conf[FO_MAX_PEERS + 1];
    Fo__Confirmation *confp[FO_MAX_PEERS + 1];
    unsigned n_conf;
    Fo__ReplicaReport reps[FO_MAX_INSTANCES_PER_CLUSTER];
    Fo__ReplicaReport *repp[FO_MAX_INSTANCES_PER_CLUSTER];
    char rep_detail[FO_MAX_INSTANCES_PER_CLUSTER][112];
    unsigned n_reps;
};

/* failover.c: fills ev from a verdict's inputs -- this node's view pv of the watched
 * server, the followers' votes[n_votes] and the replicas' reports reps[n_reps] (at most
 * FO_MAX_INSTANCES_PER_CLUSTER) -- for a Decision or FailoverBegin. ev points into pv,
 * votes and reps (their strings): use it before they change. */
struct fo_watch_view;
void fo_fe_evidence(struct fo_failover *fe, struct fo_evidence *ev, const struct fo_watch_view *pv,
                    const struct fo_detect_vote *votes, unsigned n_votes, const struct fo_detect_replica *reps,
                    unsigned n_reps);
/* failover.c: voters in the raft configuration now (the majority of DESIGN.md §5). */
unsigned fo_fe_voters(struct fo_ctl *ctl);
/* failover.c */
void fo_fe_decision(struct fo_failover *fe, const char *cluster, const char *verdict, const char *reason,
                    const char *host, uint16_t port, bool dedupe, const struct fo_evidence *ev);
/* After an automatic attempt that did not complete, wait before the next one. */
void fo_fe_backoff(struct fo_failover *fe, const char *cluster);
/* The MASTER_HEARTBEAT_PERIOD (ms) a CHANGE MASTER of host:port should keep: the
 * period its latest sample shows, else the first one known among the cluster's other
 * instances; 0 if none is known (the statement then names none and MariaDB falls back
 * to slave_net_timeout/2). CHANGE MASTER resets an unnamed period, and the detector's
 * arrival rule (controller/decide/arrival.h) is only as quick as that period. */
uint32_t fo_fe_heartbeat_ms(struct fo_failover *fe, const char *cluster, const char *host, uint16_t port);
/* ", MASTER_HEARTBEAT_PERIOD=S.mmm" for ms > 0 into out, else "". */
void fo_fe_heartbeat_clause(uint32_t ms, char *out, size_t n);
int fo_fe_read_secret(struct fo_failover *fe, const char *path, char *out, size_t outlen, char err[FO_ERRLEN]);
/* "CHANGE MASTER TO" src_host:src_port with c's repl_user and repl_password_file,
 * MASTER_USE_GTID=slave_pos, the heartbeat period of the server it runs on
 * (on_host:on_port, fo_fe_heartbeat_ms) and, if demote, MASTER_DEMOTE_TO_SLAVE=1,
 * into out. 0, FO_EINVAL (repl_user / repl_password_file not
 * configured or unreadable) or FO_ETOOBIG, with err. The caller wipes out after use
 * (it holds the password); the password read here is wiped before returning. Shared
 * by rejoin.c and coprimary.c (review of issue 14.1). */
int fo_fe_change_master(struct fo_failover *fe, const struct fo_store_cluster *c, const char *on_host, uint16_t on_port,
                        const char *src_host, uint16_t src_port, bool demote, char *out, size_t n, char err[FO_ERRLEN]);

/* rejoin.c */
void fo_rejoin_check(struct fo_failover *fe, const struct fo_store_cluster *c, uint64_t quiet_until);
/* rejoin.c: when the cluster holds a server of a flavour failoverd does not support
 * (controller/decide/flavour.h), writes why into why and returns true: no failover,
 * switchover or rejoin may act on it. */
bool fo_fe_flavour_refusal(struct fo_failover *fe, const struct fo_store_cluster *c, char *why, size_t len);
/* failover.c: no rejoin decisions for this cluster until fresh samples arrive. */
void fo_fe_quiet(struct fo_failover *fe, const char *cluster);
void fo_rejoin_cancel_all(struct fo_failover *fe);

/* coprimary.c (issue 14.1, docs/co-primary.md; its top comment is the contract): the
 * gate of begin() -- with a co-primary pair the only target is the passive, else 0
 * and the target as asked; FO_EPERM + a "refused" Decision otherwise --, the ring
 * restore between failovers (from fo_rejoin_check), and cancelling on stop. */
int fo_coprimary_gate(struct fo_failover *fe, const struct fo_store_cluster *c, int kind, const char *target_host,
                      uint16_t target_port, struct fo_endpoint *target, char err[FO_ERRLEN]);
void fo_coprimary_check(struct fo_failover *fe, const struct fo_store_cluster *c);
void fo_coprimary_cancel_all(struct fo_failover *fe);

#endif
