/* Helpers shared by the unit tests that run real processes and real loops: time,
 * temporary directories, child processes, loopback sockets and a uv loop with a
 * deadline. They never touch the test runner's state (fo_test.h): each returns what
 * happened and the caller checks it (lib/testcheck.h wraps the common checks).
 *
 * Threads: all of it is for the test's main thread only.
 *
 * Cleanup at exit: fo_test_tmpdir() and fo_test_stop_at_exit() record a directory or
 * a child pid in a small registry, and the first registration installs an atexit()
 * handler that stops every recorded child (SIGCONT, SIGTERM, then SIGKILL after
 * FO_TEST_STOP_GRACE_MS) and then removes every recorded directory, so that a test
 * which exit()s early leaves nothing behind. That registry is the library's only
 * mutable global. A child or directory cleaned up earlier (fo_test_stop_child(),
 * fo_test_child_exited(), fo_test_tmpdir_remove()) leaves the registry, so a reused
 * pid is never signalled at exit. A crash skips atexit(): children started by
 * fo_test_spawn() still die with the test (PR_SET_PDEATHSIG), only files may remain
 * in /tmp. */
#ifndef FO_TEST_TESTUTIL_H
#define FO_TEST_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

/* How many directories and how many children the exit registry holds. */
#define FO_TEST_MAX_CLEANUP 8
/* Room for a path made by fo_test_tmpdir(), NUL included. */
#define FO_TEST_DIRLEN 64
/* How long a child may take to exit after SIGTERM before it gets SIGKILL. */
#define FO_TEST_STOP_GRACE_MS 15000

/* ------------------------------------------------------------------ time */

/* Milliseconds elapsed since t0_ns, a uv_hrtime() reading (monotonic). */
double fo_test_ms_since(uint64_t t0_ns);

/* ------------------------------------------------------------------ files */

/* Creates a fresh directory /tmp/fo-test-<name>-XXXXXX, writes its path to dir (at
 * least FO_TEST_DIRLEN bytes) and registers it for removal at exit. Returns 0, or -1
 * with dir[0] == '\0' (mkdtemp failed, the name is too long or the registry is full). */
int fo_test_tmpdir(char *dir, size_t n, const char *name);

/* Removes a directory made by fo_test_tmpdir() with everything in it, takes it out of
 * the exit registry and sets dir[0] = '\0'. Does nothing for "". */
void fo_test_tmpdir_remove(char *dir);

/* Removes path and, for a directory, everything below it, without following links.
 * Errors are ignored: what cannot be removed stays. */
void fo_test_rmtree(const char *path);

/* Prints the last 2 KB of the file at path to stderr, between marker lines; nothing
 * if it cannot be opened. For showing a server's or a tool's log on failure. */
void fo_test_print_tail(const char *path);

/* ------------------------------------------------------------------ child processes */

/* Forks and execs argv[0] (an absolute path) with stdin from /dev/null and stdout and
 * stderr appended to log_path. The child gets SIGKILL when the test dies, even by a
 * crash. Returns its pid, or -1 if fork failed; an exec failure is exit code 127. */
pid_t fo_test_spawn(char *const argv[], const char *log_path);

/* Polls for the exit of the child pid for up to timeout_ms and reaps it. True if it
 * exited (or is no child of ours), with its wait status in *status unless NULL. */
bool fo_test_wait_exit(pid_t pid, unsigned timeout_ms, int *status);

/* Runs argv (see fo_test_spawn) to completion within timeout_ms. Returns its exit
 * code, or -1 if it could not start, was killed by a signal or ran too long (it is
 * then killed and reaped). */
int fo_test_run_cmd(char *const argv[], const char *log_path, unsigned timeout_ms);

/* Registers the child pid to be stopped at exit (see above). Returns 0, or -1 when
 * the registry is full. */
int fo_test_stop_at_exit(pid_t pid);

/* Polls once, without blocking, whether the child pid has exited; if it has, it is
 * reaped and leaves the exit registry. */
bool fo_test_child_exited(pid_t pid);

/* Stops the child pid now: SIGCONT (it may be SIGSTOPped), SIGTERM, SIGKILL after
 * FO_TEST_STOP_GRACE_MS, and reaps it; then takes it out of the exit registry. */
void fo_test_stop_child(pid_t pid);

/* ------------------------------------------------------------------ loopback sockets */

/* A TCP port on 127.0.0.1 that nothing listens on (bound, read, released), or 0. */
uint16_t fo_test_free_port(void);

/* A socket listening on 127.0.0.1 at a kernel-chosen port (in *port) that is never
 * accepted from: the kernel completes the TCP handshake, and the client then waits
 * forever for a first byte. Returns the fd (close-on-exec; the caller closes it), or
 * -1 with *port == 0. */
int fo_test_mute_listener(uint16_t *port);

/* ------------------------------------------------------------------ a uv loop with a deadline */

/* A loop whose unref'd deadline timer stops it: a loop that ends by itself proves the
 * code under test left no active handle, and one that does not end cannot hang the
 * test. The caller owns the struct; it must stay in place until fo_test_loop_close. */
struct fo_test_loop {
    uv_loop_t loop;
    uv_timer_t deadline;
    bool expired; /* the deadline fired during the last run */
    uint64_t t0;  /* uv_hrtime() at fo_test_loop_init */
};

/* Initialises the loop and arms the deadline deadline_ms from now. Returns
 * uv_loop_init()'s result; on failure nothing else was set up. */
int fo_test_loop_init(struct fo_test_loop *tl, uint64_t deadline_ms);

/* Runs the loop until it ends by itself (true) or the deadline stops it (false, and a
 * line on stderr). */
bool fo_test_loop_run(struct fo_test_loop *tl);

/* Re-arms the deadline ms from now and runs as fo_test_loop_run: for letting the
 * closes that the caller has started complete. */
bool fo_test_loop_drain(struct fo_test_loop *tl, uint64_t ms);

/* Closes the deadline timer, runs one non-blocking pass for its close callback (a
 * leftover handle cannot hang the test that way) and returns uv_loop_close()'s
 * result: 0 when nothing else was left on the loop. */
int fo_test_loop_close(struct fo_test_loop *tl);

#endif
