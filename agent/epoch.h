/* The highest failover epoch seen per cluster, kept on disk (DESIGN.md §7).
 *
 * The agent refuses any request whose epoch is lower than the highest it has seen for
 * that cluster; this store is what remembers "highest seen" across restarts. A
 * request's epoch is accepted only once it is durable, so a crash right after an
 * accepted request can never let an older controller back in.
 *
 * File: <state_dir>/epochs (FO_EPOCH_FILE), written only by this module:
 *
 *     failover-agent-epochs 1
 *     demo 5
 *     other.cluster 17
 *
 * The first line is the format name and version. Every other line is a cluster name
 * ([A-Za-z0-9_.-], 1 to 63 characters), one space, and the epoch as canonical decimal
 * (0 to 18446744073709551615, no sign, no leading zeros); every line ends with '\n'.
 * Nothing else is accepted: no blank lines, comments, tabs, '\r', duplicate clusters,
 * more than FO_EPOCH_MAX_CLUSTERS clusters or more than FO_EPOCH_MAX_FILE bytes.
 *
 * Loading is strict: a corrupt file is an error whose message names the file and the
 * line, and the store is never silently reset (resetting would forget epochs and let a
 * stale controller act). The operator must repair or remove the file. A missing file
 * is an empty store (first start); a missing state directory is an error.
 *
 * Writes replace the whole file: write <state_dir>/epochs.tmp, fsync it, rename it over
 * epochs, fsync the directory. A crash at any point leaves either the old or the new
 * file; a stray epochs.tmp is ignored and overwritten.
 *
 * Threads and blocking: a store belongs to one thread at a time; the caller
 * serialises access. fo_epoch_open and fo_epoch_check_and_raise do file I/O and fsync,
 * so on the agent they run off the loop thread (uv_queue_work, STYLE.md §8). One agent
 * process per state directory: two writers would overwrite each other's epochs. */
#ifndef FO_AGENT_EPOCH_H
#define FO_AGENT_EPOCH_H

#include <stdint.h>

#include "common/err.h"

#define FO_EPOCH_FILE "epochs"
#define FO_EPOCH_MAGIC "failover-agent-epochs"
#define FO_EPOCH_VERSION 1
/* Longest cluster name, without the NUL. */
#define FO_EPOCH_CLUSTER_MAX 63
#define FO_EPOCH_MAX_CLUSTERS 1024
#define FO_EPOCH_MAX_FILE (128 * 1024)

struct fo_epoch_store;

/* Loads <state_dir>/epochs into a new store in *out. Errors (err says which file,
 * which line and what is wrong): FO_EINVAL (NULL or over-long state_dir, corrupt file),
 * FO_EVERSION (a version other than FO_EPOCH_VERSION), FO_ETOOBIG (file or cluster
 * count over the limits), FO_ENOTFOUND (state_dir missing or not a directory),
 * FO_EPERM, FO_EIO, FO_ENOMEM. On error *out is untouched. */
int fo_epoch_open(struct fo_epoch_store **out, const char *state_dir, char err[FO_ERRLEN]);

/* Frees the store (no I/O: everything was written when accepted). NULL is a no-op. */
void fo_epoch_close(struct fo_epoch_store *s);

/* True if name is a valid cluster name (see above). */
int fo_epoch_cluster_valid(const char *name);

/* The highest epoch seen for cluster in *epoch; FO_ENOTFOUND if none was ever seen,
 * FO_EINVAL for an invalid name. */
int fo_epoch_get(const struct fo_epoch_store *s, const char *cluster, uint64_t *epoch);

/* How far one request may raise a cluster's epoch by default (max_epoch_jump in the
 * agent's configuration, agent/config.h).
 *
 * Why a window at all: an epoch only ever grows, so one accepted request carrying
 * 2^64-1 (a forged, corrupt or buggy request) would fence this host out of every later
 * failover for good. Legitimate jumps are small: the cluster's epoch grows by one per
 * failover or switchover, and a host hears about it only when it is addressed (it
 * holds or is given a VIP, is fenced or releases a stray), so the largest honest jump
 * is the number of failovers the cluster went through while this agent was down or not
 * addressed. Failovers are rare and anti-flap spaced; 1000 of them is years of a
 * badly flapping cluster. A cluster this store has never seen counts from 0, so a new
 * agent added to a cluster that has already had more failovers than the window must
 * be started with a larger max_epoch_jump (or a seeded epochs file). The window does
 * not stop a peer that holds a controller certificate from raising the epoch step by
 * step (the certificate is the gate, DESIGN.md §10); it keeps a single bad value from
 * exhausting the epoch space, and makes every such attempt a logged, counted refusal. */
#define FO_EPOCH_MAX_JUMP_DEFAULT 1000

/* The pure fencing check, without I/O. With `highest` the highest epoch seen for
 * cluster (0 if none was ever seen): FO_ESTALE if epoch < highest (err: "epoch 3 < 5
 * already seen for cluster demo"); FO_EPERM if epoch > highest + max_jump (err: "epoch
 * 18446744073709551615 jumps more than 1000 (max_epoch_jump) above 5, the highest seen
 * for cluster demo", or "... above 0 for cluster demo, never seen before"); FO_EINVAL
 * for an invalid cluster name; otherwise 0. UINT64_MAX as max_jump disables the window
 * (tests only). */
int fo_epoch_check(const struct fo_epoch_store *s, const char *cluster, uint64_t epoch, uint64_t max_jump,
                   char err[FO_ERRLEN]);

/* The fencing check (fo_epoch_check, with its codes) and the raise. If the check
 * passes and epoch is higher than the highest seen (or the cluster is new), it is
 * written durably as described above BEFORE this returns 0; an epoch equal to the
 * highest seen returns 0 without writing. A refused epoch writes nothing. If writing
 * fails (FO_EIO, FO_ENOMEM, FO_ETOOBIG for a cluster beyond the limit; never FO_EPERM,
 * which always means "beyond the window") the store in memory is unchanged and the
 * caller must refuse the request (the file then holds the old or, if only the
 * directory fsync failed, the new contents; either is safe, since a higher epoch on
 * disk only fences more). */
int fo_epoch_check_and_raise(struct fo_epoch_store *s, const char *cluster, uint64_t epoch, uint64_t max_jump,
                             char err[FO_ERRLEN]);

#endif
