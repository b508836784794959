/* The agent's VIP lease as a pure state machine (DESIGN.md §7, STYLE.md §6).
 *
 * The controller's leader gives a host the writer VIP with acquire(epoch, lease_ms)
 * and keeps it there by renewing (every 500 ms for the default 2 s lease). If the
 * renewals stop, for instance because this host is cut off from the controllers, the
 * lease expires and the agent removes the VIP by itself, so that a partitioned old
 * primary stops answering on the VIP before the leader hands it to another host.
 *
 * States:
 *   NONE      never held since the agent started
 *   HELD      held until deadline_ms
 *   EXPIRED   ran out without renewal; only a new acquire brings it back
 *   RELEASED  given up on the controller's request
 *
 * Nothing here touches a clock, a socket or the disk: time is an input, in monotonic
 * milliseconds (uv_now() or CLOCK_MONOTONIC, never wall-clock time), and each call
 * returns the actions the caller must carry out, a mask of enum fo_lease_action:
 *   ADD_VIP        add the VIP (idempotently) and announce it with gratuitous ARP
 *   DEL_VIP        delete the VIP (idempotently)
 *   SET_READ_ONLY  set the local mysqld read-only (the agent may be configured not to)
 * Actions are filled in even when a call returns an error (see renew). Calls that take
 * now apply expiry first unless they succeed in re-taking the lease: a renew that
 * arrives after the deadline, before the caller's tick ran, finds the lease EXPIRED,
 * while a successful acquire at that moment just keeps the VIP. The caller arms a
 * timer for fo_lease_deadline() and calls fo_lease_tick() when it fires.
 *
 * Epochs: the lease remembers the highest epoch it was acquired, renewed or released
 * at (it survives EXPIRED and RELEASED, but not a restart: the on-disk fencing is
 * agent/epoch.h's job). A call with a lower epoch fails with FO_ESTALE and changes
 * nothing. A higher epoch on renew or release is adopted.
 *
 * Threads: none of its own; a struct fo_lease belongs to its caller. */
#ifndef FO_AGENT_LEASE_H
#define FO_AGENT_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* Longest lease accepted: a lease is seconds; anything longer is a caller's mistake. */
#define FO_LEASE_MAX_MS (10u * 60u * 1000u)

enum fo_lease_state { FO_LEASE_NONE = 0, FO_LEASE_HELD, FO_LEASE_EXPIRED, FO_LEASE_RELEASED };

enum fo_lease_action {
    FO_LEASE_ADD_VIP = 1u << 0,
    FO_LEASE_DEL_VIP = 1u << 1,
    FO_LEASE_SET_READ_ONLY = 1u << 2,
};

struct fo_lease {
    enum fo_lease_state state;
    uint64_t epoch;       /* highest epoch seen by this lease; 0 before the first acquire */
    uint64_t lease_ms;    /* length given by the last acquire */
    uint64_t deadline_ms; /* monotonic; meaningful in HELD only */
};

/* NONE, epoch 0. */
void fo_lease_init(struct fo_lease *l);

/* Takes (or re-takes) the lease until now_ms + lease_ms, from any state; on success
 * the actions are exactly ADD_VIP, so that a retried acquire also repairs a failed add.
 * Errors:
 * FO_EINVAL (lease_ms 0 or over FO_LEASE_MAX_MS), FO_ESTALE (epoch lower than the
 * lease's); on error nothing changes except expiry (see above). */
int fo_lease_acquire(struct fo_lease *l, uint64_t epoch, uint64_t lease_ms, uint64_t now_ms, unsigned *actions,
                     char err[FO_ERRLEN]);

/* Extends a HELD lease to now_ms + lease_ms; no action. Errors: FO_ESTALE, and
 * FO_ENOTFOUND when the lease is not HELD (never acquired, released, or expired, in
 * which case *actions may carry the expiry's DEL_VIP | SET_READ_ONLY): a renew never
 * brings back a VIP that was given up; the controller must acquire again. */
int fo_lease_renew(struct fo_lease *l, uint64_t epoch, uint64_t now_ms, unsigned *actions, char err[FO_ERRLEN]);

/* A renewal relayed through another agent (docs/relayed-lease.md): extends a HELD
 * lease held at exactly `epoch` to issued_ms + min(lease_ms, the acquired length),
 * where issued_ms is when THIS agent issued the nonce the leader signed (never the
 * time the relay arrived: the leader signed after that, so the lease cannot outlive
 * what the leader counts from its own send time). Never shortens the lease and never
 * changes its epoch. Errors, with nothing changed but expiry (applied first, as for
 * renew): FO_EINVAL (lease_ms 0 or over FO_LEASE_MAX_MS, issued_ms after now_ms),
 * FO_ESTALE (epoch below the lease's), FO_EPERM (epoch above it: a relay only
 * extends, it never acquires at a new epoch), FO_ENOTFOUND (not HELD). */
int fo_lease_renew_relayed(struct fo_lease *l, uint64_t epoch, uint64_t lease_ms, uint64_t issued_ms, uint64_t now_ms,
                           unsigned *actions, char err[FO_ERRLEN]);

/* The nonces an agent issued for relayed renewals of one cluster: the last
 * FO_LEASE_NONCES, each usable once and for max_age_ms after it was issued (monotonic
 * ms of this agent). Issuing beyond FO_LEASE_NONCES replaces the oldest. Pure: the
 * caller draws the random bytes. */
#define FO_LEASE_NONCE_LEN 16
#define FO_LEASE_NONCES 8
#define FO_LEASE_NONCE_MAX_AGE_MS 1000

struct fo_lease_nonce {
    uint8_t v[FO_LEASE_NONCE_LEN];
    uint64_t issued_ms;
    bool live; /* issued and not yet used (or replaced) */
};

struct fo_lease_nonces {
    struct fo_lease_nonce n[FO_LEASE_NONCES];
    unsigned next; /* slot the next nonce goes to */
};

void fo_lease_nonces_init(struct fo_lease_nonces *t);
/* Remembers v (FO_LEASE_NONCE_LEN bytes) as issued at now_ms. */
void fo_lease_nonce_issue(struct fo_lease_nonces *t, const uint8_t *v, uint64_t now_ms);
/* Uses the nonce v (len bytes): 0 with *issued_ms set, and the nonce can never be used
 * again; FO_ENOTFOUND if it was never issued here, already used or replaced (err
 * says so); FO_ETIMEDOUT if it is older than max_age_ms (it is used up too). A wrong
 * length is FO_EINVAL. Constant-time comparison is not needed: a nonce is not a secret
 * once it has been handed out, only single-use. */
int fo_lease_nonce_take(struct fo_lease_nonces *t, const uint8_t *v, size_t len, uint64_t now_ms, uint64_t max_age_ms,
                        uint64_t *issued_ms, char err[FO_ERRLEN]);

/* Direct lease messages' delay (docs/vip-lease-delay.md). A direct AcquireVip or
 * RenewLease carries its sender's monotonic send time sent_ms and a random id of the
 * sending process, boot. A renewal held back by the network (a link flap: TCP delivers
 * it by retransmission seconds later) must not extend the lease beyond what the
 * sender counts from its own send time, so the lease runs from the send time, not the
 * arrival:
 *
 *   off_min  = min over the sender's messages of (now - sent_ms)  (base offset + the
 *              smallest one-way delay seen; monotonic clocks tick at the same rate)
 *   off_low  = max over the sender's messages of (anchor - sent_ms), where anchor is a
 *              time of THIS agent known to be before the message was sent (the
 *              accept time of its TLS connection: a request is written only after the
 *              handshake) or 0 = unknown. A provable lower bound of the base offset.
 *   off      = min(off_min, off_low) when an anchor was ever seen, else off_min
 *   delay    = now - sent_ms - off  (>= 0)
 *
 * The message then extends the lease to now + lease - delay = sent_ms + off + lease,
 * and one whose delay leaves less than FO_LEASE_MIN_LEFT_MS of lease is refused as
 * delayed. The first message of a boot without an anchor can only be judged against
 * itself (delay 0): see the document for that window. The table holds the last
 * FO_LEASE_SENDERS (node, boot) pairs, least recently used replaced. */
#define FO_LEASE_SENDERS 8
#define FO_LEASE_NODE_MAX 96
#define FO_LEASE_MIN_LEFT_MS 100

struct fo_lease_sender {
    char node[FO_LEASE_NODE_MAX]; /* the sender's certificate CN (truncated) */
    uint64_t boot;
    int64_t off_min;
    int64_t off_low; /* meaningful when anchored */
    bool anchored;
    uint64_t used; /* LRU stamp; 0 = free slot */
};

struct fo_lease_senders {
    struct fo_lease_sender s[FO_LEASE_SENDERS];
    uint64_t clock; /* LRU stamps */
};

void fo_lease_senders_init(struct fo_lease_senders *t);

/* Judges a message sent at sent_ms (the sender's clock) by (node, boot) that this
 * agent applies at now_ms; anchor_ms as above (0 = unknown). Learns from it and sets
 * *delay_ms. Returns 0, or FO_EINVAL for boot 0 or sent_ms 0 (absent fields: the
 * caller falls back to the arrival time). Never refuses: the lease calls below do,
 * against each lease's length. */
int fo_lease_sender_judge(struct fo_lease_senders *t, const char *node, uint64_t boot, uint64_t sent_ms,
                          uint64_t anchor_ms, uint64_t now_ms, uint64_t *delay_ms, char err[FO_ERRLEN]);

/* fo_lease_acquire and fo_lease_renew for a message judged delay_ms late: the lease
 * runs to now_ms + lease - delay_ms, and a renewal never shortens a HELD lease. When
 * delay_ms + FO_LEASE_MIN_LEFT_MS >= the lease length the message is refused with
 * FO_ETIMEDOUT ("delayed") and changes nothing but expiry (applied first).
 * fo_lease_acquire/fo_lease_renew are these with delay_ms 0. */
int fo_lease_acquire_delayed(struct fo_lease *l, uint64_t epoch, uint64_t lease_ms, uint64_t delay_ms, uint64_t now_ms,
                             unsigned *actions, char err[FO_ERRLEN]);
int fo_lease_renew_delayed(struct fo_lease *l, uint64_t epoch, uint64_t delay_ms, uint64_t now_ms, unsigned *actions,
                           char err[FO_ERRLEN]);

/* Gives the lease up, from any state, and returns DEL_VIP (deleting an absent VIP is
 * harmless, and after an agent restart the state is NONE while the VIP may still be
 * configured). Error: FO_ESTALE. */
int fo_lease_release(struct fo_lease *l, uint64_t epoch, unsigned *actions, char err[FO_ERRLEN]);

/* Applies expiry: a HELD lease whose deadline is <= now_ms becomes EXPIRED and the
 * result is DEL_VIP | SET_READ_ONLY; otherwise 0. */
unsigned fo_lease_tick(struct fo_lease *l, uint64_t now_ms);

/* When the caller must next call fo_lease_tick: the deadline in HELD, else false. */
bool fo_lease_deadline(const struct fo_lease *l, uint64_t *deadline_ms);

/* True if the table allows from -> to (a change of state; staying is not one). */
bool fo_lease_allowed(enum fo_lease_state from, enum fo_lease_state to);

/* "none" "held" "expired" "released", or "invalid". */
const char *fo_lease_state_name(enum fo_lease_state s);

#endif
