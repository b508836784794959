/* The failover engine as one table and a pure step function (DESIGN.md §6, STYLE.md
 * §6 and §16). No I/O happens here: fo_fostep takes the engine's state, one event (a
 * result of an earlier action, a timer, leadership) and the monotonic time, updates
 * the state and returns the actions to perform. controller/act/failover_run.c (the
 * executor) performs them on real servers and feeds their results back as events;
 * tests/unit/test_failover_sim.c performs them on a simulated cluster.
 *
 * The steps, in order (fo_fostep_table() is the one place that lists them, with which
 * are idempotent, which bound applies to them and the point of no return):
 *
 *   begin     FailoverBegin is committed (epoch = cluster epoch + 1) before any of
 *             this runs; a run starts from the step after the last committed one.
 *   pre_hook  the pre_failover program (if configured); a non-zero exit aborts.
 *   fence     the old primary: SQL fence and the agent's revoke at once. A failover
 *             goes on when either confirmed, the VIP was released, there is no lease,
 *             or after waiting until the old lease surely ran out (lease_safe_at).
 *             Switchover: the SQL fence must succeed (its final position is read);
 *             otherwise the old primary is unfenced and the switchover ABORTED.
 *   choose    failover: stop each replica's IO thread, wait (bounded) for its relay
 *             log, sample it; switchover: wait for the old primary's final position
 *             (a resumed switchover fences again by SQL to read it). The candidate
 *             (controller/decide/candidate.h) is committed with the step.
 *             Catch-up (failovers, issue 13 item 2, docs/catch-up.md): the promotion
 *             rule (or --to) chooses; when that replica is BEHIND the most advanced
 *             eligible one (the source), it first replicates from the source (STOP
 *             SLAVE; CHANGE MASTER TO the source, MASTER_USE_GTID=slave_pos; START
 *             SLAVE; after a raft barrier of its own, as the relay waits may have
 *             outlasted the step's), waited for in slices of at most 1 s (MASTER_GTID_WAIT of the
 *             source's position, SHOW SLAVE STATUS between slices: an IO or SQL error
 *             ends it at once) within relay_wait_ms, then STOP SLAVE and its position
 *             is read back and checked. On any failure the source (which has
 *             everything) is chosen instead: the fallback, said in the step's detail,
 *             the end's detail and a `why` Decision. The catch-up runs BEFORE choose
 *             is committed, so the committed new primary is the final one; a new
 *             leader redoes choose (stop IO threads, wait, sample, choose) and, since
 *             the source's IO thread stays stopped, its position is the same and the
 *             catch-up resumes from wherever the chosen one got. No catch-up in a
 *             switchover: every eligible replica reached the old primary's final
 *             position, so none is behind another. No
 *             candidate: a switchover unfences the old primary and ends ABORTED; a
 *             failover restarts the IO threads it stopped (only where the SQL thread
 *             runs) and ends FAILED. An automatic failover also stops when a replica
 *             skipped for its unapplied relay log received transactions the chosen
 *             one lacks.
 *   promote   stop the IO thread, wait again until the relay log is applied, then
 *             (failovers, issue 13, docs/binlog-salvage.md) salvage: read the chosen
 *             replica's positions and ask the old primary's agent for the transactions
 *             its dead mysqld's binlog holds after them, applied to the chosen replica
 *             with their GTIDs (FO_FA_SALVAGE); skipped with the reason, and the number
 *             of possibly lost transactions where the old primary's last probed
 *             position tells it, when the agent did not answer the fence, cannot read
 *             the files, or a cap is hit; never fatal. Then RESET SLAVE ALL (the POINT
 *             OF NO RETURN: it deletes the relay log) and read_only=0. A failed promote
 *             ends FAILED with no server writable. Salvage is part of the promote step
 *             (its detail records it) rather than a step of its own: step numbers are
 *             fo.FailoverStep's as committed, and it is idempotent by construction (a
 *             resumed promote asks from the replica's position again, which includes
 *             what an earlier run applied).
 *   repoint   every other replica (and the old primary of a switchover, demoted)
 *             replicates from the new primary; failures are noted, not fatal.
 *   vip       (clusters with a writer VIP) the agent of the new primary acquires it.
 *   end       FailoverEnd with the result; post hooks run after it is committed.
 *
 * Every step after begin starts with a raft barrier (the leader confirms it still
 * leads before a side effect) and ends with FailoverStepDone committed; every step is
 * idempotent, so a new leader builds a fresh state from the store (kind, epoch,
 * endpoints, last committed step, new primary once choose committed) and resumes.
 *
 * Ownership: the state owns its arrays (fo_fostate_free); actions and events only
 * point into memory that lives until the next fo_fostep call on the same state.
 * Single-threaded; no clock is read here (now_ms is an input). */
#ifndef FO_FOSTEP_H
#define FO_FOSTEP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h" /* FO_HOST_LEN, enum fo_rule, FO_MAX_INSTANCES_PER_CLUSTER */
#include "common/err.h"
#include "mysql/sample.h"

/* Steps. The numbers are fo.FailoverStep's (proto/failoverd.proto), as committed. */
enum fo_fostep_id {
    FO_FS_BEGIN = 0,
    FO_FS_PRE_HOOK = 1,
    FO_FS_FENCE = 2,
    FO_FS_CHOOSE = 3,
    FO_FS_PROMOTE = 4,
    FO_FS_REPOINT = 5,
    FO_FS_VIP = 6,
    FO_FS_END = 7, /* not committed as a step: FailoverEnd */
};
#define FO_FS_COUNT 8

enum fo_fokind { FO_FK_AUTO = 0, FO_FK_MANUAL = 1, FO_FK_SWITCHOVER = 2 };          /* fo.FailoverKind */
enum fo_foresult { FO_FR_RUNNING = 0, FO_FR_SUCCESS, FO_FR_FAILED, FO_FR_ABORTED }; /* fo.FailoverResult */

/* Which bound applies to a step's work (the values come from the config). */
enum fo_fobound {
    FO_FB_NONE = 0,
    FO_FB_HOOK,       /* hook_timeout_ms */
    FO_FB_FENCE,      /* SQL fence: step_timeout_ms; agent: min(step, 2 * connect + 1000) */
    FO_FB_RELAY_WAIT, /* each statement step_timeout_ms; the relay wait relay_wait_ms + step */
    FO_FB_STEP,       /* step_timeout_ms per statement list / move */
};

/* One row of THE table. */
struct fo_fostep_def {
    enum fo_fostep_id step;
    const char *name;
    bool committed;    /* completion is a FailoverStepDone entry */
    bool idempotent;   /* a new leader may redo it when it was in progress */
    bool side_effects; /* a raft barrier precedes it */
    enum fo_fobound bound;
    bool point_of_no_return; /* after it, the old topology cannot be given back */
    const char *switchover;  /* how a switchover differs, or NULL */
};

/* The table, in order (FO_FS_COUNT rows, row i has step i). */
const struct fo_fostep_def *fo_fostep_table(void);
/* "pre_hook", ..., "?" for an unknown step. */
const char *fo_fostep_name(int step);

/* ------------------------------------------------------------------ state */

/* Where the engine is inside its current step (a table of allowed transitions in
 * fostep.c; one setter asserts them). */
enum fo_fophase {
    FO_FP_IDLE = 0,    /* built, not started */
    FO_FP_BARRIER,     /* waiting for the raft barrier before current_step */
    FO_FP_HOOK,        /* pre_failover hook running */
    FO_FP_FENCE,       /* SQL fence and agent revoke running */
    FO_FP_LEASE_WAIT,  /* nothing fenced the old primary: waiting for lease_safe_at */
    FO_FP_REFENCE,     /* resumed switchover: SQL fence again to read the old position */
    FO_FP_BATCH,       /* SQL on items running (batch says which) */
    FO_FP_VIP,         /* VIP move running */
    FO_FP_COMMIT_STEP, /* FailoverStepDone proposed */
    FO_FP_COMMIT_END,  /* FailoverEnd proposed */
    FO_FP_DONE,        /* FailoverEnd committed */
    FO_FP_STOPPED,     /* leadership lost or not confirmed: nothing more (the next leader resumes) */
    FO_FP_SALVAGE,     /* promote: the old primary's binlog tail is read and applied */
};
#define FO_FP_COUNT 13

enum fo_fobatch {
    FO_FBATCH_NONE = 0,
    FO_FBATCH_CHOOSE,
    FO_FBATCH_PROMOTE,
    FO_FBATCH_REPOINT,
    FO_FBATCH_UNFENCE,    /* switchover abort: the old primary gets read_only=0 back */
    FO_FBATCH_RESTART_IO, /* failover without candidate: IO threads restarted */
    FO_FBATCH_CATCHUP,    /* choose: the chosen replica replicates from the source (the choose batch's items) */
};

/* Named statement groups; the SQL text lives with the executor. */
enum fo_fogroup {
    FO_FG_STOP_IO_STATUS = 0, /* STOP SLAVE IO_THREAD; SHOW SLAVE STATUS -> sample (status part) */
    FO_FG_GTID_WAIT,          /* SELECT MASTER_GTID_WAIT(pos, relay_wait) ("SELECT 0" for pos "") -> wait */
    FO_FG_VARS,               /* FO_SAMPLE_Q1 -> sample (variables part) */
    FO_FG_STATUS,             /* SHOW SLAVE STATUS -> sample (status part) */
    FO_FG_PROMOTE_RESET,      /* STOP SLAVE; RESET SLAVE ALL; [semi-sync master]; read_only=0 */
    FO_FG_REPOINT,            /* CHANGE MASTER TO new primary ... slave_pos [DEMOTE]; START SLAVE */
    FO_FG_UNFENCE,            /* [semi-sync master on]; read_only=0 */
    FO_FG_START_IO,           /* START SLAVE IO_THREAD */
    FO_FG_CATCHUP_START,      /* STOP SLAVE; CHANGE MASTER TO src_host:src_port ... slave_pos; START SLAVE */
    FO_FG_CATCHUP_STOP,       /* STOP SLAVE */
};
const char *fo_fogroup_name(enum fo_fogroup g);

/* MASTER_GTID_WAIT's one value. */
enum fo_fowait { FO_FW_REACHED = 0, FO_FW_TIMEOUT, FO_FW_NULL, FO_FW_OTHER };
/* "0" -> REACHED, "-1" -> TIMEOUT, NULL -> NULL, anything else -> OTHER. */
enum fo_fowait fo_fowait_parse(const char *value);

/* One instance of the cluster as the store has it. */
struct fo_foinst {
    char host[FO_HOST_LEN];
    uint16_t port;
    enum fo_rule rule;
    bool maintenance;
    bool quarantined;
};

enum fo_fostage {
    FO_FI_IDLE = 0,
    FO_FI_STOP_IO,       /* choose: STOP_IO_STATUS */
    FO_FI_WAIT,          /* choose: GTID_WAIT */
    FO_FI_VARS,          /* choose: VARS */
    FO_FI_STATUS,        /* choose: STATUS */
    FO_FI_PROMOTE_STOP,  /* promote: STOP_IO_STATUS */
    FO_FI_PROMOTE_WAIT,  /* promote: GTID_WAIT (the re-wait) */
    FO_FI_PROMOTE_RESET, /* promote: PROMOTE_RESET */
    FO_FI_REPOINT,
    FO_FI_UNFENCE,
    FO_FI_START_IO,
    FO_FI_PROMOTE_VARS, /* promote: VARS, the positions salvage starts after */
    FO_FI_CU_START,     /* catch-up: CATCHUP_START */
    FO_FI_CU_WAIT,      /* catch-up: GTID_WAIT of the source's position, one slice */
    FO_FI_CU_STATUS,    /* catch-up: STATUS between slices */
    FO_FI_CU_STOP,      /* catch-up: CATCHUP_STOP */
    FO_FI_CU_VARS,      /* catch-up: VARS, the position reached */
    FO_FI_DONE,
};

/* One instance's share of a batch. */
struct fo_foitem {
    char host[FO_HOST_LEN];
    uint16_t port;
    enum fo_fostage stage;
    bool ok;
    char note[256]; /* what happened, for the step detail */
    bool has_sample;
    struct fo_sample sample; /* choose: fresh sample after the relay wait */
    char io_pos[FO_GTIDPOS_LEN];
    bool io_stopped;      /* choose stopped its IO thread while its SQL thread ran: restart it if no one is promoted */
    bool relay_unapplied; /* the relay-log wait did not return 0 */
    char wait_note[96];
};

struct fo_fotimeouts {
    unsigned step_ms;       /* [failover] step_timeout_ms */
    unsigned connect_ms;    /* [probe] connect_timeout_ms */
    unsigned relay_wait_ms; /* [failover] relay_wait_ms */
    unsigned hook_ms;       /* [failover] hook_timeout_ms */
};

/* What fo_fostate_init needs: the committed FailoverBegin/StepDone as the store has
 * them, and the cluster's settings. */
struct fo_fostate_cfg {
    enum fo_fokind kind;
    uint64_t epoch;
    char old_host[FO_HOST_LEN];
    uint16_t old_port;
    char new_host[FO_HOST_LEN]; /* "" until choose committed */
    uint16_t new_port;
    char target_host[FO_HOST_LEN]; /* --to, or "" */
    uint16_t target_port;
    int last_step; /* last committed fo.FailoverStep (0 = none) */
    bool has_pre_hook;
    bool has_vip;
    bool semi_sync;
    bool has_repl_creds; /* repl_user and its password: a former primary can be demoted */
    bool salvage;        /* failovers: salvage the old primary's binlog tail before promoting */
    unsigned max_lag_s;
    struct fo_fotimeouts t;
};

enum fo_fo_cu {
    FO_CU_NONE = 0,  /* no catch-up (none needed, or not in this run) */
    FO_CU_RUNNING,   /* the chosen replica replicates from the source */
    FO_CU_DONE,      /* caught up: the rule's choice is promoted */
    FO_CU_FELL_BACK, /* failed: the source (most advanced) is promoted instead */
};

struct fo_fostate {
    struct fo_fostate_cfg c; /* new_host/new_port change when choose picks */
    int last_step;           /* last committed step */
    int current;             /* step in progress (0 before the first barrier) */
    enum fo_fophase phase;
    enum fo_fobatch batch;
    enum fo_foresult end_result; /* once COMMIT_END was proposed */
    /* the cluster's instances, as of the last barrier */
    struct fo_foinst *inst;
    unsigned n_inst;
    /* the current batch */
    struct fo_foitem *items;
    unsigned n_items, items_left;
    /* fence (DESIGN.md §6 step 2) */
    unsigned fence_left;
    bool fence_waited;
    int fence_status;
    unsigned fence_survived;
    char fence_detail[512];
    bool revoke_released, revoke_mysql_fenced;
    uint64_t lease_safe_at; /* monotonic ms; 0: no lease to wait for */
    char revoke_detail[512];
    char old_pos[FO_GTIDPOS_LEN]; /* switchover: old primary's gtid_binlog_pos after the fence */
    bool old_pos_read;            /* read in this run (it may be "") */
    char detail[1024];            /* the last step's detail / the end's detail */
    /* salvage (issue 13): what the fence learnt of the old primary's agent, and the result */
    bool revoke_known, revoke_reached; /* this run's fence asked the agent / it answered */
    char salvage_pos[FO_GTIDPOS_LEN];  /* the chosen replica's position asked from */
    char salvage_detail[900];
    bool salvaged; /* the salvage read and applied (salvaged_txns may be 0) */
    unsigned salvaged_txns;
    bool lost_known;    /* not salvaged and the old primary's last position is known */
    uint64_t lost_txns; /* then: transactions it had that the new primary lacks */
    char abort_why[1024];
    /* catch-up (issue 13 item 2, docs/catch-up.md), inside choose */
    uint64_t now_ms;          /* the time of the event being handled */
    enum fo_fo_cu cu_result;  /* this run's choose */
    unsigned cu_item, cu_src; /* items: the chosen one and its source */
    uint64_t cu_started, cu_deadline, cu_txns;
    /* The catch-up's first statement waits for a second raft barrier: the choose step's
     * own barrier may be a whole relay-log wait old, and a leader deposed meanwhile must
     * not point a replica at anything (a new leader may already have promoted it). */
    bool cu_barrier;
    char cu_src_pos[FO_GTIDPOS_LEN]; /* the source's gtid_current_pos, waited for */
    char cu_why[300];                /* why it failed */
    char cu_summary[512];            /* the candidate choice's summary */
    char catchup_detail[800];        /* "caught up from ..." / "catch-up ... failed ...": history */
};

/* Fills s from cfg (s is overwritten; nothing to free before). Returns 0 or FO_EINVAL
 * for a bad kind or step. */
int fo_fostate_init(struct fo_fostate *s, const struct fo_fostate_cfg *cfg, char err[FO_ERRLEN]);
void fo_fostate_free(struct fo_fostate *s);
/* True once nothing more will happen (DONE or STOPPED). */
bool fo_fostate_over(const struct fo_fostate *s);
const char *fo_fophase_name(enum fo_fophase p);

/* ------------------------------------------------------------------ events */

enum fo_foev_type {
    FO_FE_START = 0,      /* drive the run (from last_step) */
    FO_FE_BARRIER,        /* status 0: still leader; inst/n_inst: the cluster's instances now */
    FO_FE_STEP_COMMITTED, /* status: raft (non-0 = not committed / lost); result: the store's answer */
    FO_FE_END_COMMITTED,  /* same */
    FO_FE_SQL,            /* item, group; status/error; parse_error; sample or wait */
    FO_FE_FENCE,          /* SQL fence result (fence step or resumed switchover) */
    FO_FE_REVOKE,         /* agent revoke result */
    FO_FE_TIMER,          /* WAIT_UNTIL reached */
    FO_FE_HOOK,           /* pre_failover: status (not started) / hook_ok / detail */
    FO_FE_VIP,            /* status / detail; not_started */
    FO_FE_LEADER_LOST,    /* stop: commit nothing more */
    FO_FE_SALVAGE,        /* status (0: read and applied) / error: detail; transactions; old_known_pos */
};

struct fo_foevent {
    enum fo_foev_type type;
    int status;
    int result;
    const struct fo_foinst *inst; /* BARRIER */
    unsigned n_inst;
    unsigned item; /* SQL */
    enum fo_fogroup group;
    const char *error;              /* SQL error / fence, revoke, hook, VIP detail */
    bool parse_error;               /* SQL ran but its reply did not parse: error says why */
    const struct fo_sample *sample; /* STOP_IO_STATUS, VARS, STATUS: the item's sample with this reply parsed in */
    enum fo_fowait wait;            /* GTID_WAIT */
    /* FENCE: survived sessions and the final position */
    unsigned survived;
    const char *gtid_binlog_pos;
    /* REVOKE */
    bool agent_reached;
    bool released, mysql_fenced;
    uint64_t lease_safe_at;
    /* HOOK / VIP */
    bool not_started;
    bool hook_ok;
    /* SALVAGE: transactions applied; the old primary's gtid_binlog_pos as last probed
     * ("" / NULL: unknown), for the possibly-lost count when nothing was salvaged */
    unsigned transactions;
    const char *old_known_pos;
};

/* ------------------------------------------------------------------ actions */

enum fo_foact_type {
    FO_FA_BARRIER = 0, /* raft barrier, then FO_FE_BARRIER with the instances */
    FO_FA_COMMIT_STEP, /* propose FailoverStepDone(step, detail[, new primary]) */
    FO_FA_COMMIT_END,  /* propose FailoverEnd(result, detail) */
    FO_FA_SQL,         /* run group on item (host/port), bounded by connect_ms/timeout_ms */
    FO_FA_FENCE,       /* SQL fence of host (mysql/fence.h) */
    FO_FA_REVOKE,      /* agent revoke of host's lease + FenceMysql, until deadline_ms */
    FO_FA_WAIT_UNTIL,  /* timer until at_ms, then FO_FE_TIMER */
    FO_FA_PRE_HOOK,    /* pre_failover program */
    FO_FA_MOVE_VIP,    /* VIP to host/port, until deadline_ms */
    FO_FA_POST_HOOK,   /* post_failover (success) / post_failover_failed; no event back */
    FO_FA_FINISHED,    /* the run is over (end committed): bookkeeping; no event back */
    FO_FA_STOP,        /* leadership not confirmed / lost: cancel everything; no event back */
    FO_FA_SALVAGE,     /* old primary host/port's binlog after pos, applied to the new primary, until
                          timeout_ms; skip != NULL: do not ask, answer FO_FE_SALVAGE with skip as reason */
};

struct fo_foaction {
    enum fo_foact_type type;
    int step;                /* COMMIT_STEP */
    enum fo_foresult result; /* COMMIT_END */
    const char *detail;      /* COMMIT_STEP, COMMIT_END, STOP (why) */
    bool names_new;          /* COMMIT_STEP: carries the new primary (choose) */
    unsigned item;           /* SQL */
    enum fo_fogroup group;
    const char *pos;  /* GTID_WAIT */
    bool semi_sync;   /* PROMOTE_RESET, REPOINT, UNFENCE */
    bool demote;      /* REPOINT: MASTER_DEMOTE_TO_SLAVE=1 (the old primary of a switchover) */
    const char *host; /* SQL, FENCE, REVOKE, MOVE_VIP; REPOINT: the new primary is in the state */
    uint16_t port;
    unsigned connect_ms, timeout_ms;
    uint64_t at_ms;       /* WAIT_UNTIL */
    uint64_t deadline_ms; /* REVOKE, MOVE_VIP */
    bool success;         /* POST_HOOK, FINISHED */
    bool backoff;         /* FINISHED: an automatic attempt that did not complete */
    bool counted;         /* FINISHED: the store took the end (count it in /metrics) */
    const char *skip;     /* SALVAGE */
    unsigned wait_ms;     /* GTID_WAIT: MASTER_GTID_WAIT's timeout (0: relay_wait_ms) */
    const char *src_host; /* CATCHUP_START: the source the item replicates from */
    uint16_t src_port;
};

#define FO_FOACT_MAX (FO_MAX_INSTANCES_PER_CLUSTER + 4)
struct fo_foactions {
    unsigned n;
    struct fo_foaction a[FO_FOACT_MAX];
};

/* Applies ev to s at monotonic time now_ms and sets out to the actions to perform (in
 * order; out->n may be 0). Returns 0, or FO_EINVAL for an event the state does not
 * expect (a stale result, an item out of range): s is unchanged and out is empty. An
 * event after the run is over is ignored (0, no action). */
int fo_fostep(struct fo_fostate *s, const struct fo_foevent *ev, uint64_t now_ms, struct fo_foactions *out);

#endif
