/* Internals of the VIP manager, shared by vipmgr.c (moves, the renewal loop, views),
 * vipmgr_revoke.c (the fence step's revoke) and vipmgr_watch.c (stray holders and
 * lapses). Not for other modules: see vipmgr.h for the contract. Loop thread only. */
#ifndef FO_VIPMGR_INTERNAL_H
#define FO_VIPMGR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "controller/vip/agentc.h"
#include "controller/ctl.h"
#include "controller/vip/vipmgr.h"

#define FO__VIP_MAX_STRAYS 4

struct fo_buf;
struct fo__vip_relay; /* vipmgr_relay.c */

/* A host seen with a VIP configured while it is not that VIP's recorded holder. */
struct fo__vip_stray {
    char host[FO_HOST_LEN];
    uint16_t port;     /* an instance port on that host, for the Decision */
    uint64_t since_ms; /* first seen (monotonic) */
    uint64_t seen_ms;  /* last seen */
    char lease[16];    /* its agent's lease_state for that VIP */
    char release[120]; /* outcome of the last ReleaseVip sent to it */
    bool releasing;    /* a ReleaseVip is in flight */
};

/* The "last lease message sent" of a state before a message was noted as sent, to
 * undo the note if that message never left this node (fo__vip_unsend). */
struct fo__vip_sent_mark {
    uint64_t gen; /* sent_gen before the note */
    bool valid;
    uint64_t ms;
    char host[FO_HOST_LEN];
    uint16_t port;
};

/* Per (cluster, VIP) memory of the leader (not replicated). */
struct fo__vip_state {
    struct fo__vip_state *next;
    struct fo_vipmgr *v;
    char cluster[FO_NAME_LEN];
    char key[FO_VIP_LEN];        /* "" = writer VIP */
    char sent_host[FO_HOST_LEN]; /* last host this node sent a lease message to */
    uint16_t sent_port;
    uint64_t sent_ms; /* monotonic send time of that message */
    bool sent_valid;
    uint64_t sent_gen; /* bumped by every note_sent */
    /* What sent_* said before the loop's renew / re-acquire in flight (s->call) was
     * noted: restored when that call was never written (docs/vip-lease-delay.md). */
    struct fo__vip_sent_mark call_mark;
    uint64_t next_renew_ms;
    struct fo_agentc_call *call; /* the loop's renew / re-acquire in flight */
    struct fo_vipmgr_move *move;
    struct fo_vipmgr_move *queued; /* a failover's move waiting for the loop's to stop */
    bool held;
    bool reacquire; /* the holder's agent lost the lease: acquire again, same host */
    char error[FO_ERRLEN];
    /* fo_vipmgr_revoke: no lease message to that host until the failover at
     * revoked_epoch has ended (writer VIP only). */
    bool revoked;
    char revoked_host[FO_HOST_LEN];
    uint16_t revoked_port;
    uint64_t revoked_epoch;
    bool released_by_revoke; /* the revoke's ReleaseVip was confirmed */
    uint64_t watch_next_ms;  /* writer state: next scan of the hosts for status polls */
    /* Lapses: the holder's agent said it no longer holds the lease. */
    uint64_t last_ok_sent_ms; /* send time of the last lease message confirmed, 0 = none this term */
    uint64_t lapse_since_ms;  /* when the lapse was seen, 0 = none */
    bool lapse_reported;      /* the "not re-acquired yet" Decision was recorded */
    char lapse_error[160];
    /* Relayed renewals (vipmgr_relay.c, writer VIP only): the holder does not answer
     * this node directly, so its lease is also renewed through another agent. */
    bool relaying;               /* in a relay episode */
    uint64_t direct_sent_ms;     /* send time of the loop's last direct renewal */
    struct fo__vip_relay *relay; /* one relay in flight, or NULL */
    uint64_t next_relay_ms;      /* when the next relay is due */
    unsigned relay_next;         /* which other host to try next (round robin) */
    uint64_t relay_since_ms;     /* start of the episode */
    uint64_t relay_count;        /* relayed renewals confirmed in this episode */
    char relay_via[FO_HOST_LEN]; /* host of the last relay that worked */
    bool relay_reported;         /* the episode's "vip_relayed" Decision was recorded */
    /* Stray holders (vipmgr_watch.c). */
    struct fo__vip_stray strays[FO__VIP_MAX_STRAYS];
    unsigned n_strays;
};

/* One agent (per cluster and host) polled by the watch. */
struct fo__vip_poll {
    struct fo__vip_poll *next;
    struct fo_vipmgr *v;
    char cluster[FO_NAME_LEN];
    char host[FO_HOST_LEN];
    uint16_t port; /* an instance port on that host */
    uint64_t next_ms;
    uint64_t wanted_ms; /* last tick the host was an instance host of the cluster */
    uint64_t gen;       /* v->gen when the status request was sent */
    struct fo_agentc_call *call;
};

struct fo_vipmgr {
    struct fo_ctl *ctl;
    struct fo_agentc *agentc;
    uv_timer_t tick;
    bool ready;
    uint64_t ready_ms;
    uint64_t boot; /* random id of this process, in every direct lease message (sender_boot) */
    bool stopping;
    unsigned refs; /* the tick handle, moves, proposals and calls not yet called back */
    struct fo__vip_state *states;
    struct fo__vip_poll *polls;
    struct fo_vipmgr_revoke *revokes;
    /* Bumped whenever a recorded holder may change (a move starts, commits or ends):
     * a status answer from before that is not evidence of a stray. */
    uint64_t gen;
    uint64_t moves_ok, moves_failed, renew_ok, renew_failed, reacquired;
    uint64_t first_renewals; /* lease messages sent as a ready leader's first act */
    uint64_t strays_seen, stray_releases_ok, stray_releases_failed, lapses, polls_ok, polls_failed;
    uint64_t revokes_released, revokes_fenced, revokes_unreached, revokes_total;
    /* Relayed renewals: this node's certificate chain (DER, sent with each token) and
     * counters by result (vipmgr_relay.c). n_chain 0: relays off (plain mode). */
    uint8_t *chain[4];
    size_t chain_len[4];
    unsigned n_chain;
    uint64_t relayed[5];
};

/* One VIP of a cluster as the store has it: its address and its recorded holder. */
struct fo__vip_target {
    char cidr[FO_VIP_LEN]; /* "a.b.c.d/len" */
    char addr[FO_VIP_LEN]; /* "a.b.c.d": names the agent's lease */
    char host[FO_HOST_LEN];
    uint16_t port;
};

/* vipmgr.c */
void fo__vip_unref(struct fo_vipmgr *v);
struct fo__vip_state *fo__vip_state_find(struct fo_vipmgr *v, const char *cluster, const char *key);
struct fo__vip_state *fo__vip_state_get(struct fo_vipmgr *v, const char *cluster, const char *key);
uint16_t fo__vip_agent_port(const struct fo_store_cluster *c);
unsigned fo__vip_lease_ms(const struct fo_store_cluster *c);
/* Fills t for VIP key of c. Returns 0, FO_ENOTFOUND (no such VIP) or a store error. */
int fo__vip_target_of(struct fo_vipmgr *v, const struct fo_store_cluster *c, const char *key, struct fo__vip_target *t);
const char *fo__vip_what(const char *key);
/* When the lease of host:port (t->host, t->port) has surely run out (vipmgr.h). */
uint64_t fo__vip_expiry_of(struct fo_vipmgr *v, const struct fo__vip_state *s, const struct fo_store_cluster *c,
                           const struct fo__vip_target *t);
/* Cancels the renewal loop's own move and renewal call of s (not a failover's move). */
void fo__vip_quiesce(struct fo__vip_state *s);

/* Whether a failover of c is unfinished (a run of this node, or one the store shows). */
bool fo__vip_failover_unfinished(struct fo_vipmgr *v, const struct fo_store_cluster *c);
/* Records host:port as sent a lease message now (the "surely run out" rule). */
void fo__vip_note_sent(struct fo_vipmgr *v, struct fo__vip_state *s, const char *host, uint16_t port);
/* Undoes the note_sent made right after *m was taken (fo__vip_mark), unless another
 * was made since: for a message that was never written (agentc.h, written false), so
 * it cannot reach the agent and must not push fo__vip_expiry_of later. */
void fo__vip_mark(const struct fo__vip_state *s, struct fo__vip_sent_mark *m);
void fo__vip_unsend(struct fo__vip_state *s, const struct fo__vip_sent_mark *m);
/* A renewal period of c (lease/4 at most). */
unsigned fo__vip_renew_period_ms(const struct fo_store_cluster *c);

/* vipmgr_relay.c (docs/relayed-lease.md) */
/* Loads this node's certificate chain for relay tokens (nothing in plain mode). */
int fo__vip_relay_init(struct fo_vipmgr *v, char err[FO_ERRLEN]);
void fo__vip_relay_free(struct fo_vipmgr *v);
/* The renewal loop saw the holder t of the writer VIP not answer (direct renewal
 * failed or overdue): starts or continues a relay episode and sends a relayed
 * renewal when one is due. Only for the designated primary with no failover
 * unfinished and no revoke in force (the caller checks the first, this the rest). */
void fo__vip_relay_maybe(struct fo_vipmgr *v, struct fo__vip_state *s, const struct fo_store_cluster *c,
                         const struct fo__vip_target *t);
/* The holder answered directly again: ends the episode (and records it). */
void fo__vip_relay_direct_ok(struct fo_vipmgr *v, struct fo__vip_state *s);
/* Cancels the relay in flight of s and ends its episode (revoke, leadership loss). */
void fo__vip_relay_cancel(struct fo__vip_state *s);
void fo__vip_relay_metrics(struct fo_vipmgr *v, struct fo_buf *b);

/* vipmgr_watch.c */
/* Commits a Decision (fo_ctl_propose; failures are logged). */
void fo__vip_decision(struct fo_vipmgr *v, const char *cluster, const char *verdict, const char *host, uint16_t port,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Polls the agents of c's instance hosts when due (the tick, outside failovers). */
void fo__vip_watch_cluster(struct fo_vipmgr *v, const struct fo_store_cluster *c);
/* The renewal loop's view of lapses: the holder's agent said the lease is gone; it
 * took it again; the loop checked a VIP that is still lapsed. */
void fo__vip_lapse_seen(struct fo_vipmgr *v, struct fo__vip_state *s, const char *error);
void fo__vip_lapse_over(struct fo_vipmgr *v, struct fo__vip_state *s);
void fo__vip_lapse_check(struct fo_vipmgr *v, struct fo__vip_state *s, const struct fo_store_cluster *c);
/* Leadership lost / stop: cancels polls in flight and forgets strays. */
void fo__vip_watch_reset(struct fo_vipmgr *v);
void fo__vip_watch_free(struct fo_vipmgr *v);
void fo__vip_watch_metrics(struct fo_vipmgr *v, struct fo_buf *b);
/* "host:port (...)" of s's strays into out. */
void fo__vip_stray_text(const struct fo__vip_state *s, uint64_t now, char *out, size_t n);

/* vipmgr_revoke.c */
void fo__vip_revoke_cancel_all(struct fo_vipmgr *v);
/* Whether the loop may send host:port a lease message for s (no revoke in force). */
bool fo__vip_revoke_allows(struct fo_vipmgr *v, struct fo__vip_state *s, const struct fo_store_cluster *c,
                           const char *host, uint16_t port);

#endif
