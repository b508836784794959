/* libraft glue: one raft server per failoverd process, on the caller's libuv loop.
 *
 * Owns the raft instance, its uv I/O backend (log + snapshots under data_dir/raft)
 * and its transport (raft/transport.h: mutual TLS with the node's [tls] files, only
 * controller certificates whose node id is the raft id they claim and a member's;
 * every frame checked before libraft decodes it; plain TCP only with insecure = yes),
 * and the FSM that applies committed command entries into the
 * node's store (store/store.h). DESIGN.md §3 notes for libraft 0.22 apply here:
 * transport.version = 1 (fo_raft_transport_init sets it); raft addresses are IPv4 literals;
 * raft_apply buffers come from raft_malloc; the FSM apply never fails (the store's
 * result code travels back through *result); raft_close is never called from inside
 * a raft callback (fo_raft_close defers it to the next loop iteration).
 *
 * All functions must be called on the loop thread. Asynchronous calls follow the
 * libuv contract: if they return non-zero the callback never fires; otherwise it
 * fires exactly once (with FO_ECANCELED if the node closes first). */
#ifndef FO_RAFT_NODE_H
#define FO_RAFT_NODE_H

#include <raft.h>
#include <raft/uv.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "common/err.h"
#include "common/tls.h"
#include "raft/transport.h"
#include "store/store.h"

struct fo_raft {
    uv_loop_t *loop;
    struct fo_store *store;
    uint64_t id;
    struct raft raft;
    struct raft_io io;
    struct raft_uv_transport transport; /* raft/transport.h: mutual TLS, frames checked */
    /* The transport's context ([tls] files, or plain). A caller that loaded the [tls]
     * files already (failoverd's main) sets it, from them, before fo_raft_start, which
     * then owns it whatever it returns; left NULL, fo_raft_start loads the files. */
    struct fo_tls_ctx *tls;
    struct raft_fsm fsm;
    uv_idle_t close_idle; /* defers raft_close out of any raft callback */
    bool started;
    bool closing;
    void (*closed_cb)(void *data);
    void *closed_data;
    unsigned pending;       /* outstanding requests (for shutdown accounting) */
    uint64_t ready_term;    /* term in which a barrier of ours completed as leader */
    uint64_t applied_count; /* commands applied since start (metrics) */
    uint64_t apply_errors;  /* commands the store refused (metrics) */
};

/* Initialises raft with data_dir/raft and the transport (FO_ECONFIG if the [tls]
 * files cannot be loaded or the certificate does not bind node_id), bootstraps the [peer] configuration when the
 * node is listed there and the log is pristine, and starts it. */
int fo_raft_start(struct fo_raft *r, uv_loop_t *loop, const struct fo_config *cfg, struct fo_store *store,
                  char err[FO_ERRLEN]);

/* Closes raft and its I/O; closed_cb fires once when everything is released. */
void fo_raft_close(struct fo_raft *r, void (*closed_cb)(void *data), void *data);

bool fo_raft_is_leader(struct fo_raft *r);
/* Leader, and a barrier issued in the current term has completed: every entry
 * committed by earlier leaders is applied to the store, so it may be acted on. */
bool fo_raft_is_ready(struct fo_raft *r);
/* Leader id (0 if unknown) and its raft address (NULL if unknown). */
uint64_t fo_raft_leader(struct fo_raft *r, const char **address);
const char *fo_raft_state_name(struct fo_raft *r); /* "leader" "follower" "candidate" "unavailable" */
/* Role of server id in the current configuration: "voter" "standby" "spare" or "none". */
const char *fo_raft_role_name(struct fo_raft *r, uint64_t id);

/* Proposes one encoded fo.Command (copied). cb gets 0 and the store's result code,
 * or a raft failure (FO_ENOTLEADER, FO_ERAFT, FO_ECANCELED) in status. Returns 0, or
 * FO_ENOTLEADER, FO_ETOOBIG (len above UINT32_MAX - 16), FO_ENOMEM or a raft error
 * (err says which); cb then never fires and nothing is left allocated. */
typedef void (*fo_raft_apply_cb)(void *data, int status, int result);
int fo_raft_propose(struct fo_raft *r, const uint8_t *cmd, size_t len, fo_raft_apply_cb cb, void *data,
                    char err[FO_ERRLEN]);

/* Barrier: cb(0) once every entry up to now is applied on this (leader) node. A new
 * leader issues one before acting (DESIGN.md §6). */
typedef void (*fo_raft_done_cb)(void *data, int status);
int fo_raft_barrier(struct fo_raft *r, fo_raft_done_cb cb, void *data, char err[FO_ERRLEN]);

/* Membership (leader only). add = spare then promotion to voter after catch-up. */
int fo_raft_member_add(struct fo_raft *r, uint64_t id, const char *address, fo_raft_done_cb cb, void *data,
                       char err[FO_ERRLEN]);
int fo_raft_member_remove(struct fo_raft *r, uint64_t id, fo_raft_done_cb cb, void *data, char err[FO_ERRLEN]);
int fo_raft_transfer(struct fo_raft *r, uint64_t id, fo_raft_done_cb cb, void *data, char err[FO_ERRLEN]);

#endif
