/* See testtlsdb.h. */
#include "lib/testtlsdb.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/testdb.h"

static int sh(const char *dir, const char *cmd)
{
    char log[FO_TEST_DIRLEN + 16];
    char *const argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};

    snprintf(log, sizeof(log), "%s/setup.log", dir);
    return fo_test_run_cmd(argv, log, 60000);
}

static int make_certs(const char *d)
{
    char cmd[2048];

    snprintf(
        cmd, sizeof(cmd),
        "cd %s && " FO_TEST_OPENSSL " req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=fo-test-ca -keyout "
        "ca.key -out ca.crt && " FO_TEST_OPENSSL " req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca "
        "-keyout other.key -out other-ca.crt && " FO_TEST_OPENSSL " req -newkey rsa:2048 -nodes -subj "
        "/CN=localhost -keyout server.key -out server.csr && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' "
        "> ext && " FO_TEST_OPENSSL " x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile ext -out server.crt",
        d);
    return sh(d, cmd);
}

int fo_test_tls_db_start(struct fo_test_tls_db *db, const char *name, const char *setup_sql)
{
    char cmd[4096], log[FO_TEST_DIRLEN + 16], a[6][FO_TEST_DIRLEN + 32];

    memset(db, 0, sizeof(*db));
    db->pid = -1;
    if (fo_test_tmpdir(db->dir, sizeof(db->dir), name) != 0) return -1;
    if (make_certs(db->dir) != 0) return -1;
    snprintf(cmd, sizeof(cmd),
             FO_TEST_INSTALL_DB " --no-defaults --datadir=%s/data --auth-root-authentication-method=normal", db->dir);
    if (sh(db->dir, cmd) != 0) return -1;
    snprintf(db->sock, sizeof(db->sock), "%s/s.sock", db->dir);
    db->port = fo_test_free_port();
    snprintf(a[0], sizeof(a[0]), "--datadir=%s/data", db->dir);
    snprintf(a[1], sizeof(a[1]), "--port=%u", db->port);
    snprintf(a[2], sizeof(a[2]), "--socket=%s", db->sock);
    snprintf(a[3], sizeof(a[3]), "--ssl-cert=%s/server.crt", db->dir);
    snprintf(a[4], sizeof(a[4]), "--ssl-key=%s/server.key", db->dir);
    snprintf(a[5], sizeof(a[5]), "--ssl-ca=%s/ca.crt", db->dir);
    {
        char *const argv[] = {FO_TEST_MARIADBD,
                              "--no-defaults",
                              "--user=root",
                              a[0],
                              a[1],
                              a[2],
                              a[3],
                              a[4],
                              a[5],
                              "--bind-address=127.0.0.1",
                              "--skip-name-resolve",
                              "--innodb-buffer-pool-size=16M",
                              "--performance-schema=off",
                              "--plugin-load-add=auth_ed25519",
                              NULL};
        snprintf(log, sizeof(log), "%s/mariadbd.log", db->dir);
        db->pid = fo_test_spawn(argv, log);
    }
    if (db->pid < 0 || fo_test_stop_at_exit(db->pid) != 0) return -1;
    if (fo_test_tls_db_sql(db, setup_sql) == 0) return 0;
    fo_test_print_tail(log);
    return -1;
}

int fo_test_tls_db_sql(const struct fo_test_tls_db *db, const char *sql)
{
    char cmd[4096];
    unsigned i;

    if (strchr(sql, '"') != NULL ||
        snprintf(cmd, sizeof(cmd), FO_TEST_CLIENT " --no-defaults -uroot --socket=%s -e \"%s\"", db->sock, sql) >=
            (int)sizeof(cmd))
        return -1;
    for (i = 0; i < 300; i++) {
        if (sh(db->dir, cmd) == 0) return 0;
        usleep(100 * 1000);
    }
    return -1;
}

void fo_test_tls_db_stop(struct fo_test_tls_db *db)
{
    if (db->pid > 0) fo_test_stop_child(db->pid);
    db->pid = -1;
    fo_test_tmpdir_remove(db->dir);
}
