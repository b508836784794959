/* Internals of the failover engine, shared by failover.c (detection, decisions,
 * requests), failover_run.c (the step machine) and rejoin.c. Not for other modules. */
#ifndef FO_FAILOVER_INTERNAL_H
#define FO_FAILOVER_INTERNAL_H

#include "controller/decide/detector.h"
#include "mysql/fence.h"
#include "controller/act/failover.h"
#include "mysql/sample.h"
#include "mysql/sqlexec.h"
#include "controller/vip/vipmgr.h"
#include "failoverd.pb-c.h"
#include "store/store.h"

#define FO_RUN_MAX_ITEMS FO_MAX_INSTANCES_PER_CLUSTER

struct run;
struct batch_item;

/* One instance's share of a step: a short sequence of SQL runs. */
typedef void (*item_stage_cb)(struct run *run, struct batch_item *it, int status, unsigned myerrno, const char *error,
                              const struct fo_sql_rows *rows);

struct batch_item {
    struct run *run;
    char host[FO_HOST_LEN];
    uint16_t port;
    int stage;
    bool done;
    bool ok;
    char note[256];   /* what happened, for the step detail */
    struct fo_sql *q; /* in flight, or NULL */
    item_stage_cb stage_cb;
    bool has_sample;
    struct fo_sample sample; /* choose: fresh sample after relay apply */
    char io_pos[FO_GTIDPOS_LEN];
    bool io_stopped;      /* choose stopped its IO thread and its SQL thread runs: restart it if no one is promoted */
    bool relay_unapplied; /* the relay-log wait did not return 0 */
    char wait_note[96];
    const char *ok_note;     /* note_sql_done: note on success (static string) */
    const char *fail_prefix; /* note_sql_done: before the error (static string) */
};

/* A timer a run waits on (fence: until the old lease surely ran out). */
struct run_wait {
    uv_timer_t t;
    struct run *run;
    bool fired;
};

struct run {
    struct run *next;
    struct fo_failover *fe;
    char cluster[FO_NAME_LEN];
    uint64_t epoch;
    int kind;
    char old_host[FO_HOST_LEN];
    uint16_t old_port;
    char new_host[FO_HOST_LEN];
    uint16_t new_port;
    char target_host[FO_HOST_LEN];
    uint16_t target_port;
    int step;         /* last committed fo.FailoverStep */
    int current;      /* step in progress */
    uint64_t step_ns; /* monotonic start of the current step */
    uint64_t begin_ns;
    unsigned pending; /* callbacks this run still waits for */
    bool dead;        /* leadership lost or stopping: commit nothing more */
    bool ended;
    int end_result; /* fo.FailoverResult committed by run_end */
    char user[FO_NAME_LEN];
    char password[256];
    char repl_user[FO_NAME_LEN];
    char repl_password[256];
    bool semi_sync;
    unsigned max_lag_s;
    char old_pos[FO_GTIDPOS_LEN]; /* switchover: old primary's gtid_binlog_pos after fence */
    bool old_pos_read;            /* old_pos was read in this run (it may be "") */
    /* fence (DESIGN.md §6 step 2): the SQL fence and the agent's revoke run at once */
    struct fo_fence *fence;          /* in flight, or NULL */
    struct fo_vipmgr_revoke *revoke; /* in flight, or NULL */
    struct fo_fence_result fence_res;
    struct fo_vipmgr_revoke_result revoke_res;
    unsigned fence_left;
    bool fence_waited;
    struct run_wait *wait; /* in flight, or NULL */
    struct batch_item *items;
    unsigned n_items, items_left;
    void (*batch_done)(struct run *run);
    struct fo_hook *hook;
    bool has_vip;                   /* the cluster has a writer VIP: STEP_VIP applies */
    struct fo_vipmgr_move *vipmove; /* in flight, or NULL */
    char reason[512];               /* why the failover began (FailoverBegin.reason) */
    char detail[1024];
    char abort_why[1024];
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
    struct rejoin_op *rejoins;
    bool stopping;
    /* Counters for /metrics (this node's actions while it was leader). */
    uint64_t begun, ended[4]; /* ended[fo.FailoverResult] */
    uint64_t decisions_recorded;
    uint64_t tilts;
};

/* failover_run.c */
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
    char rep_detail[FO_MAX_INSTANCES_PER_CLUSTER][64];
    unsigned n_reps;
};

/* failover.c */
void fo_fe_decision(struct fo_failover *fe, const char *cluster, const char *verdict, const char *reason,
                    const char *host, uint16_t port, bool dedupe, const struct fo_evidence *ev);
/* After an automatic attempt that did not complete, wait before the next one. */
void fo_fe_backoff(struct fo_failover *fe, const char *cluster);
int fo_fe_read_secret(struct fo_failover *fe, const char *path, char *out, size_t outlen, char err[FO_ERRLEN]);

/* rejoin.c */
void fo_rejoin_check(struct fo_failover *fe, const struct fo_store_cluster *c, uint64_t quiet_until);
/* failover.c: no rejoin decisions for this cluster until fresh samples arrive. */
void fo_fe_quiet(struct fo_failover *fe, const char *cluster);
void fo_rejoin_cancel_all(struct fo_failover *fe);

#endif
