/* failoverd: one node of the controller cluster (DESIGN.md §1). */
#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "common/supported.h"
#include "common/log.h"
#include "controller/admin/admin.h"
#include "controller/ctl.h"
#include "controller/act/failover.h"
#include "controller/admin/metrics.h"
#include "controller/probe/monitor.h"

#define MOD "main"

static void usage(FILE *f)
{
    fprintf(f, "usage: failoverd --config FILE [--check-config]\n"
               "       failoverd --version | --help\n"
               "\n"
               "Runs one node of the failoverd controller cluster. The INI file format is\n"
               "documented in the README (section \"Configuration\").\n"
               "  --check-config  validate FILE (and the [tls] files it names) and exit (0 valid,\n"
               "                  1 invalid)\n"
               "Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 on a configuration or\n"
               "start-up error (the message names the file, line and key), 2 on bad arguments.\n"
               "\n" FO_SUPPORTED_TEXT);
}

/* The data dir holds the raft log and the store: everything failoverd knows about every
 * database. One made before (by hand, by a package) with group write or any access
 * for others is narrowed to at most 0750, and the change is logged. */
static int narrow_dir(const char *dir, char err[FO_ERRLEN])
{
    struct stat st;
    mode_t want;

    if (stat(dir, &st) != 0) return fo_errf(err, FO_EIO, "data_dir %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return fo_errf(err, FO_EIO, "data_dir %s: not a directory", dir);
    want = st.st_mode & 07750;
    if ((st.st_mode & 07777) == want) return 0;
    if (chmod(dir, want) != 0) return fo_errf(err, FO_EIO, "data_dir %s: chmod: %s", dir, strerror(errno));
    FO_WARN(MOD, "data_dir %s was mode %04o; narrowed to %04o (failoverd's state is private)", dir,
            (unsigned)(st.st_mode & 07777), (unsigned)want);
    return 0;
}

/* The data dir is locked so two processes never share one raft log. */
static int lock_data_dir(const char *dir, int *fd_out, char err[FO_ERRLEN])
{
    char path[FO_PATH_LEN + 16];
    int fd;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return fo_errf(err, FO_EIO, "data_dir %s: %s", dir, strerror(errno));
    if (narrow_dir(dir, err) != 0) return FO_EIO;
    snprintf(path, sizeof(path), "%s/lock", dir);
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        return fo_errf(err, FO_EIO, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return fo_errf(err, FO_EBUSY, "data_dir %s is in use by another failoverd", dir);
    }
    *fd_out = fd;
    return 0;
}

/* A password file the node cannot read is a configuration error: fail before start. */
static int check_password_files(const struct fo_config *cfg, char err[FO_ERRLEN])
{
    char pw[256], why[FO_ERRLEN];
    unsigned i;

    for (i = 0; i < cfg->n_clusters; i++) {
        if (fo_read_secret_file(cfg->secrets_dir, cfg->clusters[i].password_file, pw, sizeof(pw), why) != 0)
            return fo_errf(err, FO_ECONFIG, "%s: [cluster %s] password_file: %s", cfg->path, cfg->clusters[i].name,
                           why);
    }
    memset(pw, 0, sizeof(pw));
    return 0;
}

/* The [tls] files are read and checked once, here, before anything starts (issue 10):
 * readable, the key matching the certificate, the certificate chaining to the CA and
 * carrying a role, and a controller's that binds node_id. --check-config stops after
 * this; at start every TLS context of the node (admin server and client, raft) is made
 * from ctl->tls_files and no room opens the files again. */
static int load_tls_files(struct fo_ctl *ctl, char err[FO_ERRLEN])
{
    const struct fo_config *cfg = &ctl->cfg;
    char why[FO_ERRLEN];

    if (cfg->tls.insecure) return 0;
    if (fo_tls_files_load(&ctl->tls_files, cfg->tls.ca_file, cfg->tls.cert_file, cfg->tls.key_file, why) != 0 ||
        fo_tls_files_check_node(ctl->tls_files, cfg->node_id, cfg->tls.cert_file, why) != 0) {
        fo_tls_files_free(ctl->tls_files);
        ctl->tls_files = NULL;
        return fo_errf(err, FO_ECONFIG, "%s: [tls]: %s", cfg->path, why);
    }
    return 0;
}

static void shutdown_node(struct fo_ctl *ctl)
{
    if (ctl->stopping) return;
    ctl->stopping = true;
    FO_INFO(MOD, "stopping");
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    fo_failover_stop(ctl);
    fo_monitor_stop(ctl);
    fo_admin_stop(ctl);
    fo_metrics_stop(ctl);
    uv_close((uv_handle_t *)&ctl->sigterm, NULL);
    uv_close((uv_handle_t *)&ctl->sigint, NULL);
    fo_raft_close(&ctl->raft, NULL, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    FO_INFO(MOD, "received signal %d", signum);
    shutdown_node(s->data);
}

static int start_node(struct fo_ctl *ctl, char err[FO_ERRLEN])
{
    char path[FO_PATH_LEN + 16];
    int rc;

    snprintf(path, sizeof(path), "%s/store.db", ctl->cfg.data_dir);
    /* Fresh every start: the store is rebuilt from the raft snapshot + log. */
    if ((rc = fo_store_open(&ctl->store, path, FO_STORE_FRESH, err)) != 0) return rc;
    /* Raft's context from the loaded files; fo_raft_start owns it from here on. */
    if (ctl->tls_files != NULL &&
        (rc = fo_tls_ctx_from_files(&ctl->raft.tls, ctl->tls_files, FO_TLS_ROLE_CONTROLLER, err)) != 0)
        return rc;
    if ((rc = fo_raft_start(&ctl->raft, ctl->loop, &ctl->cfg, ctl->store, err)) != 0) return rc;
    if ((rc = fo_admin_start(ctl, err)) != 0) goto err_after_raft;
    if ((rc = fo_metrics_start(ctl, err)) != 0) goto err_after_admin;
    if ((rc = fo_failover_start(ctl, err)) != 0) goto err_after_metrics;
    if ((rc = fo_monitor_start(ctl, err)) != 0) goto err_after_failover;
    return 0;

err_after_failover:
    fo_failover_stop(ctl);
err_after_metrics:
    fo_metrics_stop(ctl);
err_after_admin:
    fo_admin_stop(ctl);
err_after_raft:
    ctl->stopping = true;
    fo_raft_close(&ctl->raft, NULL, NULL);
    uv_run(ctl->loop, UV_RUN_DEFAULT);
    return rc;
}

/* Initialises (does not start) the SIGTERM and SIGINT watchers. 0, or an error with
 * neither handle left open. */
static int init_signals(struct fo_ctl *ctl, char err[FO_ERRLEN])
{
    int rc;

    if ((rc = uv_signal_init(ctl->loop, &ctl->sigterm)) != 0)
        return fo_errf(err, FO_EIO, "cannot watch SIGTERM: uv_signal_init: %s", uv_strerror(rc));
    if ((rc = uv_signal_init(ctl->loop, &ctl->sigint)) != 0) {
        uv_close((uv_handle_t *)&ctl->sigterm, NULL);
        uv_run(ctl->loop, UV_RUN_NOWAIT); /* runs the close */
        return fo_errf(err, FO_EIO, "cannot watch SIGINT: uv_signal_init: %s", uv_strerror(rc));
    }
    ctl->sigterm.data = ctl;
    ctl->sigint.data = ctl;
    return 0;
}

/* Starts the watchers: without them SIGTERM could not stop the node cleanly. */
static int start_signals(struct fo_ctl *ctl, char err[FO_ERRLEN])
{
    int rc;

    if ((rc = uv_signal_start(&ctl->sigterm, on_signal, SIGTERM)) != 0)
        return fo_errf(err, FO_EIO, "cannot watch SIGTERM: uv_signal_start: %s", uv_strerror(rc));
    if ((rc = uv_signal_start(&ctl->sigint, on_signal, SIGINT)) != 0)
        return fo_errf(err, FO_EIO, "cannot watch SIGINT: uv_signal_start: %s", uv_strerror(rc));
    return 0;
}

/* Runs the node on the default loop until it stops. 0 after a clean stop, 1 when it
 * could not start (the reason is on stderr). The MySQL library is initialised here
 * and ended on every path. */
static int run_node(struct fo_ctl *ctl)
{
    char err[FO_ERRLEN];
    int rc, status = 1;

    /* Connector/C: once, before any thread or connection (MariaDB docs); it fails only
     * when the library cannot set itself up (memory, its charset tables). */
    if (mysql_library_init(0, NULL, NULL) != 0) {
        fprintf(stderr, "failoverd: mysql_library_init failed: MariaDB Connector/C could not initialise\n");
        return 1;
    }
    if ((ctl->loop = uv_default_loop()) == NULL) {
        fprintf(stderr, "failoverd: cannot create the event loop (uv_default_loop failed)\n");
        goto err_after_mysql;
    }
    ctl->started_ms = uv_now(ctl->loop);
    if (init_signals(ctl, err) != 0) goto err_print;
    if (start_node(ctl, err) != 0) goto err_after_signals;
    if (start_signals(ctl, err) != 0) {
        /* Everything is up: stop it as a signal would, then report. */
        fprintf(stderr, "failoverd: %s\n", err);
        shutdown_node(ctl);
        uv_run(ctl->loop, UV_RUN_DEFAULT);
        goto out_stopped;
    }
    FO_INFO(MOD, "failoverd %s node %llu: raft %s, admin %s, http %s", FO_VERSION, (unsigned long long)ctl->cfg.node_id,
            ctl->cfg.raft_address, ctl->cfg.admin_address, ctl->cfg.http_address);
    /* Type=notify (deploy/systemd/failoverd.service): ready once raft runs and the admin
     * and HTTP listeners are bound. Without NOTIFY_SOCKET this does nothing. */
    sd_notifyf(0, "READY=1\nSTATUS=node %llu: raft %s, admin %s, http %s", (unsigned long long)ctl->cfg.node_id,
               ctl->cfg.raft_address, ctl->cfg.admin_address, ctl->cfg.http_address);
    uv_run(ctl->loop, UV_RUN_DEFAULT);
    status = 0;

out_stopped:
    fo_monitor_free(ctl);
    fo_failover_free(ctl);
    fo_store_close(ctl->store);
    /* Every module closed its handles on stop; one left open is a bug to report,
     * though the process is exiting anyway. */
    if ((rc = uv_loop_close(ctl->loop)) != 0) FO_WARN(MOD, "event loop closed with handles open: %s", uv_strerror(rc));
    mysql_library_end();
    return status;

err_after_signals:
    uv_close((uv_handle_t *)&ctl->sigterm, NULL);
    uv_close((uv_handle_t *)&ctl->sigint, NULL);
    uv_run(ctl->loop, UV_RUN_DEFAULT);
err_print:
    fprintf(stderr, "failoverd: %s\n", err);
    uv_loop_close(ctl->loop);
err_after_mysql:
    mysql_library_end();
    return 1;
}

int main(int argc, char **argv)
{
    static struct fo_ctl ctl; /* large; lives for the whole process */
    const char *config = NULL;
    char err[FO_ERRLEN];
    bool check_only = false;
    int i, status, lock_fd = -1;

    /* What failoverd creates (the store, the raft log, its lock) is its own: group and
     * others get nothing (issue 9); files that need another mode say so explicitly. */
    umask(077);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "--check-config") == 0)
            check_only = true;
        else if (strcmp(argv[i], "--version") == 0)
            return printf("failoverd %s\n", FO_VERSION), 0;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout), 0;
        else {
            fprintf(stderr, "failoverd: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (config == NULL) {
        usage(stderr);
        return 2;
    }
    if (fo_config_load(&ctl.cfg, config, err) != 0) {
        fprintf(stderr, "failoverd: %s\n", err);
        return 1;
    }
    if (check_password_files(&ctl.cfg, err) != 0 || load_tls_files(&ctl, err) != 0) {
        fprintf(stderr, "failoverd: %s\n", err);
        fo_config_free(&ctl.cfg);
        return 1;
    }
    if (check_only) {
        printf("%s: ok\n", config);
        status = 0;
        goto out;
    }
    fo_log_set_level((enum fo_log_level)ctl.cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    if (lock_data_dir(ctl.cfg.data_dir, &lock_fd, err) != 0) {
        fprintf(stderr, "failoverd: %s\n", err);
        status = 1;
        goto out;
    }
    status = run_node(&ctl);
    close(lock_fd);
    if (status == 0) FO_INFO(MOD, "stopped");
out:
    fo_tls_files_free(ctl.tls_files);
    fo_config_free(&ctl.cfg);
    return status;
}
