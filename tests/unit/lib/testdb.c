/* A throwaway mariadbd for unit tests: see testdb.h for the contract. */
#include "lib/testdb.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INSTALL_DB "/usr/bin/mariadb-install-db"
#define CLIENT "/usr/bin/mariadb"
#define INSTALL_ATTEMPTS 3
#define INSTALL_TIMEOUT_MS 60000
#define READY_TIMEOUT_MS 30000
#define CLIENT_TIMEOUT_MS 10000

bool fo_test_db_available(void)
{
    return access(FO_TEST_MARIADBD, X_OK) == 0;
}

/* Runs sql as root over the socket; its exit code or -1. */
static int run_client(const struct fo_test_db *db, const char *sql, unsigned timeout_ms)
{
    char sock_arg[sizeof(db->sock) + 16], log[sizeof(db->dir) + 16];
    char *const client[] = {CLIENT, "--no-defaults", "-uroot", sock_arg, "-e", (char *)sql, NULL};

    snprintf(sock_arg, sizeof(sock_arg), "--socket=%s", db->sock);
    snprintf(log, sizeof(log), "%s/client.log", db->dir);
    return fo_test_run_cmd(client, log, timeout_ms);
}

/* A failed install is retried on an empty data directory (testdb.h says why). */
static bool install(const struct fo_test_db *db, const char *datadir_arg)
{
    char *const argv[] = {INSTALL_DB, "--no-defaults", (char *)datadir_arg, "--auth-root-authentication-method=normal",
                          NULL};
    char log[sizeof(db->dir) + 16], datadir[sizeof(db->dir) + 16];
    unsigned attempt;

    snprintf(log, sizeof(log), "%s/install.log", db->dir);
    snprintf(datadir, sizeof(datadir), "%s/data", db->dir);
    for (attempt = 1; attempt <= INSTALL_ATTEMPTS; attempt++) {
        if (fo_test_run_cmd(argv, log, INSTALL_TIMEOUT_MS) == 0) return true;
        fprintf(stderr, "  mariadb-install-db failed (attempt %u)\n", attempt);
        fo_test_rmtree(datadir);
    }
    fo_test_print_tail(log);
    return false;
}

static bool spawn_server(struct fo_test_db *db, const char *datadir_arg, unsigned server_id, const char *server_log)
{
    char port_arg[32], sock_arg[sizeof(db->sock) + 16], id_arg[32];
    char *const server[] = {FO_TEST_MARIADBD,
                            "--no-defaults",
                            "--user=root",
                            (char *)datadir_arg,
                            port_arg,
                            sock_arg,
                            "--bind-address=127.0.0.1",
                            id_arg,
                            "--log-bin",
                            "--innodb-buffer-pool-size=16M",
                            "--performance-schema=off",
                            "--skip-name-resolve",
                            NULL};

    snprintf(port_arg, sizeof(port_arg), "--port=%u", db->port);
    snprintf(sock_arg, sizeof(sock_arg), "--socket=%s", db->sock);
    snprintf(id_arg, sizeof(id_arg), "--server-id=%u", server_id);
    db->pid = fo_test_spawn(server, server_log);
    if (db->pid < 0) return false;
    if (fo_test_stop_at_exit(db->pid) != 0) {
        fprintf(stderr, "  no room to register mariadbd for cleanup\n");
        return false;
    }
    return true;
}

/* Ready when the client can create the test's user over the socket. */
static bool wait_ready(struct fo_test_db *db, const char *server_log)
{
    const char *sql = "CREATE USER IF NOT EXISTS '" FO_TEST_DB_USER "'@'127.0.0.1' IDENTIFIED BY '" FO_TEST_DB_PASSWORD
                      "'; GRANT ALL PRIVILEGES ON *.* TO '" FO_TEST_DB_USER "'@'127.0.0.1'";
    struct timespec ts = {0, 100 * 1000 * 1000};
    uint64_t t0 = uv_hrtime();
    char client_log[sizeof(db->dir) + 16];

    snprintf(client_log, sizeof(client_log), "%s/client.log", db->dir);
    for (;;) {
        if (fo_test_child_exited(db->pid)) {
            db->pid = -1;
            fprintf(stderr, "  mariadbd exited early\n");
            fo_test_print_tail(server_log);
            return false;
        }
        if (access(db->sock, F_OK) == 0 && run_client(db, sql, CLIENT_TIMEOUT_MS) == 0) return true;
        if (fo_test_ms_since(t0) > READY_TIMEOUT_MS) {
            fprintf(stderr, "  mariadbd not ready within %d s\n", READY_TIMEOUT_MS / 1000);
            fo_test_print_tail(server_log);
            fo_test_print_tail(client_log);
            return false;
        }
        nanosleep(&ts, NULL);
    }
}

int fo_test_db_start(struct fo_test_db *db, const char *name, unsigned server_id)
{
    char datadir_arg[sizeof(db->dir) + 16], server_log[sizeof(db->dir) + 16];

    memset(db, 0, sizeof(*db));
    db->pid = -1;
    if (fo_test_tmpdir(db->dir, sizeof(db->dir), name) != 0) return -1;
    db->port = fo_test_free_port();
    snprintf(datadir_arg, sizeof(datadir_arg), "--datadir=%s/data", db->dir);
    snprintf(db->sock, sizeof(db->sock), "%s/mysqld.sock", db->dir);
    snprintf(server_log, sizeof(server_log), "%s/mariadbd.log", db->dir);
    if (db->port == 0 || !install(db, datadir_arg) || !spawn_server(db, datadir_arg, server_id, server_log) ||
        !wait_ready(db, server_log)) {
        fo_test_db_stop(db);
        return -1;
    }
    return 0;
}

void fo_test_db_stop(struct fo_test_db *db)
{
    if (db->pid > 0) fo_test_stop_child(db->pid);
    db->pid = -1;
    db->stopped = false;
    fo_test_tmpdir_remove(db->dir);
}

int fo_test_db_signal(struct fo_test_db *db, int sig)
{
    int rc;

    if (db->pid <= 0) return 0;
    rc = kill(db->pid, sig);
    if (rc == 0 && sig == SIGSTOP) db->stopped = true;
    if (rc == 0 && sig == SIGCONT) db->stopped = false;
    return rc;
}

int fo_test_db_root_sql(const struct fo_test_db *db, const char *sql, unsigned timeout_ms)
{
    char log[sizeof(db->dir) + 16];
    int rc = run_client(db, sql, timeout_ms);

    if (rc != 0) {
        snprintf(log, sizeof(log), "%s/client.log", db->dir);
        fo_test_print_tail(log);
    }
    return rc;
}
