/* Unit tests for the delay rule of direct lease messages (agent/lease.h,
 * docs/vip-lease-delay.md): the per-sender offset table (fo_lease_sender_judge) and the
 * lease calls that take a delay (fo_lease_acquire_delayed, fo_lease_renew_delayed).
 * Pure: the clocks are numbers. */
#include <stdio.h>
#include <string.h>

#include "agent/lease.h"
#include "fo_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define LEASE 2000u
#define BASE 5000u /* agent clock - controller clock */
#define NET 1u     /* the one-way delay of an on-time message */

/* One message in a scripted sequence through one table and one lease. */
struct msg {
    const char *name;
    const char *node;
    uint64_t boot;
    uint64_t sent;   /* controller clock */
    uint64_t late;   /* extra delay beyond NET */
    uint64_t anchor; /* agent clock; 0 = unknown */
    uint64_t want_delay;
    int want_rc;            /* of fo_lease_renew_delayed */
    uint64_t want_deadline; /* 0 = unchanged */
};

/* The agent's clock when a message sent at `sent` arrives `late` ms late. */
static uint64_t arrival(uint64_t sent, uint64_t late)
{
    return sent + BASE + NET + late;
}

static void run(const struct msg *m, size_t n)
{
    struct fo_lease_senders t;
    struct fo_lease l;
    char err[FO_ERRLEN];
    unsigned actions;
    size_t i;

    fo_lease_senders_init(&t);
    fo_lease_init(&l);
    FO_CHECK_INT(fo_lease_acquire(&l, 1, LEASE, arrival(m[0].sent, 0) - 1, &actions, err), 0);
    for (i = 0; i < n; i++) {
        uint64_t now = arrival(m[i].sent, m[i].late), delay = 99999, before = l.deadline_ms;
        int rc;

        FO_CHECK_INT(fo_lease_sender_judge(&t, m[i].node, m[i].boot, m[i].sent, m[i].anchor, now, &delay, err), 0);
        if (delay != m[i].want_delay) fprintf(stderr, "  %s: delay %llu\n", m[i].name, (unsigned long long)delay);
        FO_CHECK_INT(delay, m[i].want_delay);
        rc = fo_lease_renew_delayed(&l, 1, delay, now, &actions, err);
        if (rc != m[i].want_rc) fprintf(stderr, "  %s: rc %d: %s\n", m[i].name, rc, err);
        FO_CHECK_INT(rc, m[i].want_rc);
        FO_CHECK_INT(actions, 0);
        FO_CHECK_INT(l.state, FO_LEASE_HELD);
        FO_CHECK_INT(l.deadline_ms, m[i].want_deadline != 0 ? m[i].want_deadline : before);
        if (rc == FO_ETIMEDOUT) FO_CHECK(strstr(err, "delayed") != NULL);
    }
}

/* The lease runs from the send time (plus the smallest delay seen), whenever the
 * message arrives. */
static void test_offsets(void)
{
    static const struct msg m[] = {
        {"first, on time", "ctl1", 7, 1000000, 0, 0, 0, 0, 1000000 + BASE + NET + LEASE},
        {"on time", "ctl1", 7, 1000500, 0, 0, 0, 0, 1000500 + BASE + NET + LEASE},
        /* 300 ms late: the lease ends 300 ms sooner than at arrival + lease. */
        {"300 ms late", "ctl1", 7, 1001000, 300, 0, 300, 0, 1001000 + BASE + NET + LEASE},
        {"on time again", "ctl1", 7, 1001500, 0, 0, 0, 0, 1001500 + BASE + NET + LEASE},
        /* Overtaken by a later message: accepted, but never shortens the lease. */
        {"overtaken, 200 late", "ctl1", 7, 1001400, 200, 0, 200, 0, 0},
        {"on time, later", "ctl1", 7, 1003000, 0, 0, 0, 0, 1003000 + BASE + NET + LEASE},
        /* A renewal delivered by TCP retransmission 1.9 s late: refused. */
        {"past the lease", "ctl1", 7, 1002000, 1900, 0, 1900, FO_ETIMEDOUT, 0},
        {"leaves 100 ms", "ctl1", 7, 1002100, LEASE - FO_LEASE_MIN_LEFT_MS, 0, LEASE - FO_LEASE_MIN_LEFT_MS,
         FO_ETIMEDOUT, 0},
        /* Accepted, but what it gives is less than the lease has. */
        {"leaves 101 ms", "ctl1", 7, 1002101, LEASE - FO_LEASE_MIN_LEFT_MS - 1, 0, LEASE - FO_LEASE_MIN_LEFT_MS - 1, 0,
         0},
        {"on time, last", "ctl1", 7, 1004000, 0, 0, 0, 0, 1004000 + BASE + NET + LEASE},
        /* Another controller process (a restart): it has its own offset. Its first
         * message can only be judged against itself: 1.5 s late counts as on time
         * (docs/vip-lease-delay.md, "the first message"). */
        {"new boot, late first", "ctl1", 8, 1004400, 1500, 0, 0, 0, 1004400 + BASE + NET + 1500 + LEASE},
        /* Its next on-time message looks early: delay 0, and the true offset is learnt. */
        {"new boot, on time", "ctl1", 8, 1007000, 0, 0, 0, 0, 1007000 + BASE + NET + LEASE},
        {"new boot, 400 late", "ctl1", 8, 1007500, 400, 0, 400, 0, 1007500 + BASE + NET + LEASE},
        /* The same boot id from another certificate is another sender. */
        {"other node", "ctl2", 8, 1007600, 700, 0, 0, 0, 1007600 + BASE + NET + 700 + LEASE},
    };

    run(m, N_ELEMS(m));
}

/* With the connection's accept time, even a first message cannot claim more than
 * accept time + lease: a request is written only after the handshake. */
static void test_anchor(void)
{
    static const struct msg m[] = {
        /* Accepted 10 ms before it was sent (agent clock), 1.9 s late: refused. */
        {"anchored first, late", "ctl1", 9, 2000000, 1900, 2000000 + BASE + NET - 10, 1910, FO_ETIMEDOUT, 0},
        /* The anchor stays for the boot: a later on-time message gets delay 10 (the
         * first message's lag behind its accept), never less than the truth. */
        {"anchored, on time", "ctl1", 9, 2001950, 0, 0, 10, 0, 2001950 + BASE + NET + LEASE - 10},
        /* A fresher anchor (a new connection) tightens it. */
        {"new connection", "ctl1", 9, 2002500, 0, 2002500 + BASE, 1, 0, 2002500 + BASE + LEASE},
        /* An anchor in the agent's future is ignored (a bad caller), not trusted. */
        {"anchor after now", "ctl1", 9, 2003000, 0, 3000000 + BASE, 1, 0, 2003000 + BASE + LEASE},
    };

    run(m, N_ELEMS(m));
}

/* At most FO_LEASE_SENDERS senders are remembered; the least recently used goes. */
static void test_table_bound(void)
{
    struct fo_lease_senders t;
    char err[FO_ERRLEN];
    uint64_t d, b;

    fo_lease_senders_init(&t);
    FO_CHECK_INT(fo_lease_sender_judge(&t, "ctl1", 1, 1000, 0, 1000 + BASE, &d, err), 0);
    FO_CHECK_INT(fo_lease_sender_judge(&t, "ctl1", 2, 1000, 0, 1000 + BASE, &d, err), 0);
    for (b = 3; b < 3 + FO_LEASE_SENDERS - 1; b++) {
        FO_CHECK_INT(fo_lease_sender_judge(&t, "ctl1", b, 2000, 0, 2000 + BASE, &d, err), 0);
        /* Boot 2 stays in use, boot 1 does not. */
        FO_CHECK_INT(fo_lease_sender_judge(&t, "ctl1", 2, 2000 + b, 0, 2000 + b + BASE, &d, err), 0);
    }
    FO_CHECK_INT(fo_lease_sender_judge(&t, "ctl1", 2, 3000, 0, 3000 + BASE + 500, &d, err), 0);
    FO_CHECK_INT(d, 500); /* remembered */
    FO_CHECK_INT(fo_lease_sender_judge(&t, "ctl1", 1, 3000, 0, 3000 + BASE + 500, &d, err), 0);
    FO_CHECK_INT(d, 0); /* forgotten: judged against itself */
    /* Absent fields: the caller falls back to the arrival time. */
    FO_CHECK_INT(fo_lease_sender_judge(&t, "ctl1", 0, 3000, 0, 3000, &d, err), FO_EINVAL);
    FO_CHECK_INT(fo_lease_sender_judge(&t, "ctl1", 5, 0, 0, 3000, &d, err), FO_EINVAL);
    FO_CHECK_INT(d, 0);
}

/* The lease calls themselves: acquire runs to now + lease - delay, refuses a message
 * that would leave too little; renew never revives, never shortens. */
static void test_lease_calls(void)
{
    struct fo_lease l;
    char err[FO_ERRLEN];
    unsigned a;

    fo_lease_init(&l);
    FO_CHECK_INT(fo_lease_acquire_delayed(&l, 3, LEASE, LEASE - 50, 1000, &a, err), FO_ETIMEDOUT);
    FO_CHECK_INT(l.state, FO_LEASE_NONE);
    FO_CHECK_INT(l.epoch, 0);
    FO_CHECK_INT(a, 0);
    FO_CHECK_INT(fo_lease_acquire_delayed(&l, 3, LEASE, 300, 1000, &a, err), 0);
    FO_CHECK_INT(a, FO_LEASE_ADD_VIP);
    FO_CHECK_INT(l.deadline_ms, 1000 + LEASE - 300);
    /* Stale epoch beats delay; the lease is untouched. */
    FO_CHECK_INT(fo_lease_renew_delayed(&l, 2, 0, 1100, &a, err), FO_ESTALE);
    FO_CHECK_INT(fo_lease_renew_delayed(&l, 3, 0, 1100, &a, err), 0);
    FO_CHECK_INT(l.deadline_ms, 1100 + LEASE);
    FO_CHECK_INT(fo_lease_renew_delayed(&l, 3, 1500, 1200, &a, err), 0);
    FO_CHECK_INT(l.deadline_ms, 1100 + LEASE); /* not shortened */
    /* Expired before the message: no revival, the expiry's actions come back. */
    FO_CHECK_INT(fo_lease_renew_delayed(&l, 3, 0, 1100 + LEASE, &a, err), FO_ENOTFOUND);
    FO_CHECK_INT(a, FO_LEASE_DEL_VIP | FO_LEASE_SET_READ_ONLY);
    FO_CHECK_INT(l.state, FO_LEASE_EXPIRED);
    /* A delayed acquire of an expired lease leaves it expired. */
    FO_CHECK_INT(fo_lease_acquire_delayed(&l, 3, LEASE, LEASE, 5000, &a, err), FO_ETIMEDOUT);
    FO_CHECK_INT(l.state, FO_LEASE_EXPIRED);
}

FO_TEST_MAIN(FO_T(test_offsets), FO_T(test_anchor), FO_T(test_table_bound), FO_T(test_lease_calls))
