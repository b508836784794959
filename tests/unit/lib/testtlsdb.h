/* A throwaway mariadbd with TLS, for the unit tests of myconn's TLS and authentication
 * paths (test_myconn_auth.c, test_myconn_stack.c).
 *
 * fo_test_tls_db_start() makes /tmp/fo-test-<name>-XXXXXX and in it, with openssl:
 * ca.crt/ca.key (CN fo-test-ca), other-ca.crt (a CA that signs nothing of this server)
 * and server.crt/server.key for CN localhost with subjectAltName DNS:localhost and
 * IP:127.0.0.1, signed by ca.crt. It fills dir/data with mariadb-install-db, starts
 * mariadbd on 127.0.0.1 at a free port with that certificate, the ed25519 plugin loaded,
 * a 16 MB buffer pool, no performance schema and no name resolution, and then runs
 * setup_sql as root over the Unix socket (retried for up to 30 s while the server
 * starts); setup_sql must not contain a double quote. Logs: dir/setup.log,
 * dir/mariadbd.log. Returns 0, or -1 with the log's tail printed.
 *
 * fo_test_tls_db_stop() stops the server by its pid and removes the directory; it is
 * safe after a failed start. The server is also in testutil.h's exit registry. */
#ifndef FO_TEST_TESTTLSDB_H
#define FO_TEST_TESTTLSDB_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/testutil.h"

#define FO_TEST_INSTALL_DB "/usr/bin/mariadb-install-db"
#define FO_TEST_OPENSSL "/usr/bin/openssl"
#define FO_TEST_CLIENT "/usr/bin/mariadb"

struct fo_test_tls_db {
    char dir[FO_TEST_DIRLEN];
    char sock[FO_TEST_DIRLEN + 16];
    pid_t pid;
    uint16_t port;
};

int fo_test_tls_db_start(struct fo_test_tls_db *db, const char *name, const char *setup_sql);
/* Runs sql (no double quote) as root over the Unix socket, retried for up to 30 s while
 * the server starts. 0, or -1. */
int fo_test_tls_db_sql(const struct fo_test_tls_db *db, const char *sql);
void fo_test_tls_db_stop(struct fo_test_tls_db *db);

#endif
