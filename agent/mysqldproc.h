/* The local mysqld as a process (docs/fence-stopped.md): which process owns the
 * listening TCP socket of the configured mysqld port, what state the kernel says it is
 * in, and the one kill the agent ever makes: SIGKILL of a mysqld that is STOPPED
 * (state 'T' in /proc/PID/stat: SIGSTOP, SIGTSTP), the process-level fence of a
 * failover's FenceMysql when its SQL fence cannot complete (agent config
 * fence_kill_stopped, agent/config.h).
 *
 * A stopped process holds its sockets open and answers nothing: the kernel still
 * completes TCP handshakes into its listen backlog, so nobody sees a RST and every
 * client waits for its own timeout. While it is stopped it cannot write, but a SIGCONT
 * at any time makes it a writable primary again for clients that reach it directly.
 * Killing it is the only fence that holds in that state. A process in any other state
 * (running, sleeping, in disk wait, traced 't' by a debugger, zombie, ...) is never
 * killed: a slow server is not a dead one, and a process under a debugger belongs to
 * whoever attached it.
 *
 * The parsers are pure (unit-tested with hostile input); fo_mysqld_find and
 * fo_mysqld_kill_if_stopped read /proc and may take milliseconds on a host with many
 * processes: call them off the loop (uv_queue_work). They are bounded: at most
 * FO_MYSQLD_MAX_PIDS processes and FO_MYSQLD_MAX_FDS descriptors of each are looked at,
 * and only processes in the caller's network namespace (the listening sockets are
 * those of the caller's network namespace too). Any thread. */
#ifndef FO_AGENT_MYSQLDPROC_H
#define FO_AGENT_MYSQLDPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define FO_MYSQLD_MAX_INODES 8       /* listening sockets on one port (v4 + v6 + a few) */
#define FO_MYSQLD_MAX_PIDS 65536     /* processes looked at in one scan */
#define FO_MYSQLD_MAX_FDS 65536      /* descriptors looked at per process */
#define FO_MYSQLD_NET_MAX (4u << 20) /* bytes read of /proc/net/tcp{,6} */
#define FO_MYSQLD_COMM_LEN 64

/* Parses the text of /proc/PID/stat: "pid (comm) state ...". comm may hold any
 * byte, spaces and ')' included, so the state is the field after the LAST ") " of
 * the text. Returns 0 with *state (one character, e.g. 'R' 'S' 'D' 'T' 't' 'Z') and
 * comm (truncated to FO_MYSQLD_COMM_LEN - 1 bytes, control bytes replaced by '?'),
 * or FO_EINVAL with err for text that is not of that form (no "(", no ") ",
 * nothing after it, a pid that is not a number). len bytes of buf are read; buf
 * need not be NUL-terminated. */
int fo_mysqld_parse_stat(const char *buf, size_t len, pid_t *pid, char *state, char comm[FO_MYSQLD_COMM_LEN],
                         char err[FO_ERRLEN]);

/* Parses the text of /proc/net/tcp or /proc/net/tcp6 (header line, then one socket
 * per line: "sl local_address rem_address st ... uid timeout inode ...", addresses
 * as HEX_IP:HEX_PORT) and appends to inodes[*n] the inode of each socket in state
 * LISTEN (0A) whose local port is port, whatever its local address (mysqld may
 * listen on 0.0.0.0 while the agent reaches it on 127.0.0.1). Lines that do not parse
 * are skipped. Returns 0, or FO_ETOOBIG when more than max matched (the first max are
 * kept). Inode 0 (a socket being torn down) is skipped. */
int fo_mysqld_parse_net_tcp(const char *text, size_t len, uint16_t port, uint64_t *inodes, unsigned max, unsigned *n);

/* Parses one datagram of a NETLINK_SOCK_DIAG dump (struct nlmsghdr + struct
 * inet_diag_msg each, as the kernel answers an inet_diag_req_v2) with sequence number
 * seq: appends the inode of each socket in state LISTEN whose source port is port, as
 * fo_mysqld_parse_net_tcp does. Messages of another seq are skipped; NLMSG_DONE sets
 * *done. Returns 0, FO_ETOOBIG (more than max: the first max kept), FO_EIO for an
 * NLMSG_ERROR, FO_EPROTO for a message cut short or longer than the datagram. This
 * is how the listeners are found; /proc/net/tcp{,6} only when sock_diag is missing,
 * since reading it walks every TCP socket of the host. */
int fo_mysqld_parse_diag(const void *buf, size_t len, uint32_t seq, uint16_t port, uint64_t *inodes, unsigned max,
                         unsigned *n, bool *done);

/* One look at the process that owns the listening socket(s) of port. */
struct fo_mysqld_proc {
    pid_t pid;  /* 0: none found */
    char state; /* from /proc/PID/stat, '\0' if unknown */
    char comm[FO_MYSQLD_COMM_LEN];
    bool killed;      /* fo_mysqld_kill_if_stopped sent SIGKILL */
    char detail[256]; /* one line: what was found and done */
};

/* Finds the single process of this network namespace that owns a listening TCP
 * socket on port (IPv4 or IPv6). Returns 0 with p->pid, p->state and p->comm;
 * FO_ENOTFOUND when no socket listens on port or no process owns it; FO_EEXIST when
 * two different processes own listening sockets of that port (the agent then never
 * picks one); FO_ETOOBIG when a bound was hit before a match; FO_EIO when /proc
 * cannot be read. err (and p->detail) say which. */
int fo_mysqld_find(uint16_t port, struct fo_mysqld_proc *p, char err[FO_ERRLEN]);

/* Whether a TCP socket of this network namespace listens on port, by sock_diag only
 * (one netlink round trip, well under a millisecond: acceptable on the loop). Returns
 * 0 with *listening, or FO_EIO / FO_EPROTO / FO_ENOMEM (no sock_diag: *listening is
 * false and the caller cannot tell). */
int fo_mysqld_listening(uint16_t port, bool *listening, char err[FO_ERRLEN]);

/* fo_mysqld_find, then, only if that process is in state 'T', SIGKILL through a
 * pidfd opened before the state and the socket ownership are read again (so a pid
 * that was reused in between is never signalled). Returns 0 whether or not it
 * killed (p->killed says; p->detail says why not: "traced (state t, a debugger): not
 * killed", "state S: not stopped, not killed"), or fo_mysqld_find's errors, or
 * FO_EIO when the signal could not be sent. */
int fo_mysqld_kill_if_stopped(uint16_t port, struct fo_mysqld_proc *p, char err[FO_ERRLEN]);

#endif
