/* Fencing one MySQL/MariaDB server (DESIGN.md §6 step 2, §7): the one implementation
 * used by the failover engine, by rejoin and by failover-agent (FenceMysql and its
 * lease-expiry fence). A fence makes a server stop taking writes from anyone and says
 * exactly what it achieved and what survived.
 *
 * What a fence does, on ONE connection (so "every session but this one" is exact), in
 * this order, all bounded by timeout_ms:
 *   1. connect and log in (connect_timeout_ms bounds this part; 0 = timeout_ms only);
 *   2. SET SESSION lock_wait_timeout=0, then SET GLOBAL read_only=1. A write statement
 *      that is running holds a lock read_only must wait for; rather than wait for it
 *      (lock_wait_timeout defaults to a day) the fence kills the client sessions and
 *      retries, with a 5 ms pause, until read_only is set or the kill rounds' time is up;
 *   3. SET GLOBAL super_read_only=1 where the variable exists (MySQL; MariaDB has no
 *      such variable, and that is not an error);
 *   4. kill rounds: list the client sessions, KILL CONNECTION each one, list again,
 *      until a list is empty. Rounds are bounded by time, not by count, and a round
 *      kills every session listed (no per-round ceiling). Client sessions = every
 *      session except this one, the fencing user's own, replication threads (Binlog
 *      Dump, slave IO/SQL/worker), system and daemon threads and sessions already
 *      being killed. Sessions of users with READ ONLY ADMIN or SUPER are killed like
 *      any other: on MariaDB they can write through read_only. A round whose kills all
 *      failed (not "unknown thread": that session is gone) ends the rounds, since
 *      repeating it cannot help (typically missing CONNECTION ADMIN);
 *   5. if semi_sync_off: SET GLOBAL rpl_semi_sync_master_enabled=0, after the kills
 *      (a server without semi-sync lacks the variable: not an error);
 *   6. read back @@read_only (and @@super_read_only where it exists) and the GTID
 *      position: @@gtid_binlog_pos on MariaDB, @@gtid_executed on MySQL.
 * The kill rounds stop min(timeout_ms / 10, 250) ms before timeout_ms, so that steps
 * 5 and 6 still run and the result says what the fence left behind even when sessions
 * kept coming back until the end.
 *
 * The fencing user needs READ_ONLY ADMIN (MariaDB 10.11; SUPER elsewhere), CONNECTION
 * ADMIN (or SUPER) and PROCESS; semi_sync_off also needs REPLICATION MASTER ADMIN or
 * SUPER. Connections of the fencing user itself are never killed: applications must
 * not share it. The password is never logged or put into the result.
 *
 * Callback contract (STYLE.md §4): if fo_fence_start returns NULL the callback never
 * fires; otherwise it fires exactly once, never before fo_fence_start has returned,
 * once every handle is closed, with FO_ECANCELED after fo_fence_cancel. The result
 * pointer is valid during the callback only. Loop thread only. */
#ifndef FO_FENCE_H
#define FO_FENCE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h" /* struct fo_mysql_tls */
#include "common/err.h"
#include "mysql/sample.h" /* FO_GTIDPOS_LEN */

struct fo_fence;

/* Called with the callback's data as each phase after the connect starts
 * ("lock_wait_timeout", "read_only", "super_read_only", "list sessions", "kill" once
 * per session, "semi-sync off", "read back"): for progress logs and tests. It may call
 * fo_fence_cancel. */
typedef void (*fo_fence_phase_cb)(void *data, const char *phase);

struct fo_fence_opts {
    const char *host; /* IP literal or name; copied */
    uint16_t port;
    const char *user;     /* copied; its own sessions are not killed */
    const char *password; /* copied, wiped when done; NULL = "" */
    unsigned connect_timeout_ms;
    unsigned timeout_ms;        /* whole fence bound, > 0 */
    bool semi_sync_off;         /* also SET GLOBAL rpl_semi_sync_master_enabled=0, after the kills */
    fo_fence_phase_cb on_phase; /* optional (added field); NULL = none */
};

struct fo_fence_result {
    /* 0: fenced: read_only confirmed (super_read_only too where it exists), no client
     * session survived and semi-sync master is off if asked. Otherwise why not:
     *   FO_EUNREACHABLE  could not connect (reached false);
     *   FO_EMYSQL        login refused (reached false), a statement failed, kills were
     *                    refused, or the read-back shows read_only 0;
     *   FO_ETIMEDOUT     the bound ran out (connecting, a statement that hung, or the
     *                    kill rounds with sessions still listed or read_only not set);
     *   FO_ECANCELED     fo_fence_cancel; FO_ENOMEM. */
    int status;
    bool reached;                         /* connected and logged in */
    bool read_only;                       /* @@read_only = 1 read back after the kills */
    bool super_read_only;                 /* also set, on servers that have it (MySQL); false on MariaDB */
    bool has_super_read_only;             /* the server has the variable (added field) */
    unsigned rounds;                      /* session lists run (the last one listed `survived` sessions) */
    unsigned killed;                      /* distinct sessions killed */
    unsigned survived;                    /* client sessions still listed after the last round */
    char gtid_binlog_pos[FO_GTIDPOS_LEN]; /* read after fencing, "" if not reached */
    char detail[512];                     /* one line for history: what was done and what survived */
};

typedef void (*fo_fence_cb)(void *data, const struct fo_fence_result *r);

/* Starts fencing o->host:o->port. Returns NULL with err filled for bad options (NULL
 * loop, cb, o, host or user, empty host, timeout_ms 0) or out of memory. Connects
 * with the default TLS settings (ssl_mode preferred); see fo_fence_start_tls. */
struct fo_fence *fo_fence_start(uv_loop_t *loop, const struct fo_fence_opts *o, fo_fence_cb cb, void *data,
                                char err[FO_ERRLEN]);

/* fo_fence_start with TLS settings for the connection (copied; NULL = the defaults)
 * and the authentication plugins that go with them (mysql/myconn.h). Also
 * NULL with err for a verify mode without a CA. A refused TLS handshake or
 * authentication method ends the fence with FO_EUNREACHABLE (reached false). */
struct fo_fence *fo_fence_start_tls(uv_loop_t *loop, const struct fo_fence_opts *o, const struct fo_mysql_tls *tls,
                                    fo_fence_cb cb, void *data, char err[FO_ERRLEN]);

/* The callback fires once with status FO_ECANCELED (and what was achieved so far),
 * before this returns or on a later iteration. A statement already sent to the server
 * may still complete there. f must not be used once its callback started. */
void fo_fence_cancel(struct fo_fence *f);

/* The phase running now, for logs and tests: "connect", "lock_wait_timeout",
 * "read_only", "super_read_only", "list sessions", "kill", "semi-sync off",
 * "read back", or "done" once the outcome is decided. */
const char *fo_fence_phase(const struct fo_fence *f);

/* The statement that lists the client sessions to kill (step 4) for fencing user
 * `user`, without a row limit; for tests and documentation. Returns 0, or FO_ETOOBIG
 * if user does not fit in n bytes (out is then ""). */
int fo_fence_list_query(const char *user, char *out, size_t n);

#endif
