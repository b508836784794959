/* A throwaway mariadbd for the unit tests that need a real server (STYLE.md §14).
 *
 * fo_test_db_start() makes a temporary directory /tmp/fo-test-<name>-XXXXXX, fills
 * dir/data with mariadb-install-db (retried up to three times on an empty data
 * directory: mariadbd --bootstrap has been seen to crash now and then on test hosts,
 * nothing to do with the code under test), starts FO_TEST_MARIADBD on 127.0.0.1 at a
 * free port with the given server id, the binary log on, a 16 MB buffer pool, no
 * performance schema and no name resolution, and waits up to 30 s until root, over
 * the Unix socket, has created FO_TEST_DB_USER@127.0.0.1 identified by
 * FO_TEST_DB_PASSWORD with all privileges. Logs go to dir/install.log,
 * dir/mariadbd.log and dir/client.log; on failure their tails are printed to stderr.
 *
 * Ownership: the caller owns struct fo_test_db (it may live on the stack). The server
 * and the directory are also in testutil.h's exit registry, so a test that exit()s
 * early still stops the server by its pid and removes its files; the registry keeps
 * copies, never a pointer to the struct. Main thread only. The functions return what
 * happened and check nothing themselves: the caller does (fo_test.h). */
#ifndef FO_TEST_TESTDB_H
#define FO_TEST_TESTDB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/testutil.h"

#define FO_TEST_MARIADBD "/usr/sbin/mariadbd"
#define FO_TEST_DB_USER "fo"
#define FO_TEST_DB_PASSWORD "pw"

struct fo_test_db {
    pid_t pid;                      /* the server, or -1 when not running */
    uint16_t port;                  /* its TCP port on 127.0.0.1 */
    bool stopped;                   /* SIGSTOPped with fo_test_db_signal, not yet SIGCONTed */
    char dir[FO_TEST_DIRLEN];       /* everything of this server; "" once removed */
    char sock[FO_TEST_DIRLEN + 16]; /* dir/mysqld.sock */
};

/* True if FO_TEST_MARIADBD can be run here; a test without it is skipped. */
bool fo_test_db_available(void);

/* Starts a server as described above, named name (a short word: the test's) in /tmp.
 * Returns 0 once it is ready, or -1 after stopping and removing whatever was made
 * (db->pid is then -1 and db->dir ""). */
int fo_test_db_start(struct fo_test_db *db, const char *name, unsigned server_id);

/* Stops the server (SIGCONT first, so a SIGSTOPped one can exit; SIGKILL if it does
 * not exit within FO_TEST_STOP_GRACE_MS) and removes its directory. Safe to call
 * again, after a failed start and on a zeroed struct. */
void fo_test_db_stop(struct fo_test_db *db);

/* Sends sig to the server and keeps db->stopped up to date for SIGSTOP and SIGCONT.
 * Returns kill()'s result, or 0 without sending anything if no server runs. */
int fo_test_db_signal(struct fo_test_db *db, int sig);

/* Runs sql with the mariadb client as root over the Unix socket within timeout_ms.
 * Returns the client's exit code (0: done), or -1 if it did not finish; on any
 * failure the tail of dir/client.log is printed. */
int fo_test_db_root_sql(const struct fo_test_db *db, const char *sql, unsigned timeout_ms);

#endif
