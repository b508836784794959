/* failover-agent: runs on each DB host; serves the controller's VIP and fencing RPCs
 * (agent/server.h). Stops cleanly on SIGTERM / SIGINT. */
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

#include "agent/config.h"
#include "agent/epoch.h"
#include "agent/server.h"
#include "common/supported.h"
#include "common/log.h"
#include "common/tls.h"

#define MOD "main"

struct agent_main {
    uv_loop_t *loop;
    struct fo_agent_config cfg;
    struct fo_agent_server *server;
    struct fo_tls_files *tls_files; /* read once by check_files; NULL when insecure */
    uv_signal_t sigterm;
    uv_signal_t sigint;
    int stopping;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: failover-agent --config FILE [--check-config]\n"
               "       failover-agent --version | --help\n"
               "\n"
               "Serves the failoverd controller's VIP and fencing requests on this DB host.\n"
               "The INI format is described in agent/config.h and the README.\n"
               "  --check-config  validate FILE, the TLS files and the state directory's\n"
               "                  epochs file it names, and exit (0 valid, 1 invalid)\n"
               "Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 on a configuration or\n"
               "start-up error, 2 on bad arguments.\n"
               "\n" FO_SUPPORTED_TEXT);
}

/* What --check-config checks beyond the file itself, with what the agent uses at
 * start: the TLS files, read here once for the whole process (issue 10: readable, the
 * key matching the certificate, the certificate chaining to the CA; the server's
 * context is made from *files, nothing reads them again) and the state directory's
 * epochs file (agent/epoch.h: a corrupt one would stop the agent at start). Nothing is
 * written. err names the file. *files stays NULL with insecure = yes. */
static int check_files(const struct fo_agent_config *c, struct fo_tls_files **files, char err[FO_ERRLEN])
{
    struct fo_epoch_store *epochs = NULL;
    char why[FO_ERRLEN];

    *files = NULL;
    if (!c->insecure && fo_tls_files_load(files, c->ca_file, c->cert_file, c->key_file, why) != 0)
        return fo_errf(err, FO_ECONFIG, "%s: [agent] TLS files: %s", c->path, why);
    if (fo_epoch_open(&epochs, c->state_dir, why) != 0) {
        fo_tls_files_free(*files);
        *files = NULL;
        return fo_errf(err, FO_ECONFIG, "%s: [agent] state_dir: %s", c->path, why);
    }
    fo_epoch_close(epochs);
    return 0;
}

/* The state directory holds the epochs that fence this host: a directory others may
 * write to (or read) is narrowed to at most 0750, and the change is logged. */
static int narrow_dir(const char *dir, char err[FO_ERRLEN])
{
    struct stat st;
    mode_t want;

    if (stat(dir, &st) != 0) return fo_errf(err, FO_EIO, "state_dir %s: %s", dir, strerror(errno));
    want = st.st_mode & 07750;
    if (!S_ISDIR(st.st_mode) || (st.st_mode & 07777) == want) return 0; /* fo_epoch_open says what is wrong */
    if (chmod(dir, want) != 0) return fo_errf(err, FO_EIO, "state_dir %s: chmod: %s", dir, strerror(errno));
    FO_WARN(MOD, "state_dir %s was mode %04o; narrowed to %04o (the epochs file fences this host)", dir,
            (unsigned)(st.st_mode & 07777), (unsigned)want);
    return 0;
}

/* One agent per state directory: two would overwrite each other's epochs file. */
static int lock_state_dir(const char *dir, int *fd_out, char err[FO_ERRLEN])
{
    char path[FO_PATH_LEN + 16];
    int fd;

    if (narrow_dir(dir, err) != 0) return FO_EIO;
    snprintf(path, sizeof path, "%s/lock", dir);
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        return fo_errf(err, FO_EIO, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return fo_errf(err, FO_EBUSY, "state_dir %s is in use by another failover-agent", dir);
    }
    *fd_out = fd;
    return 0;
}

static void on_signal(uv_signal_t *sig, int signum)
{
    struct agent_main *m = sig->data;

    if (m->stopping) return;
    m->stopping = 1;
    FO_INFO(MOD, "signal %d: stopping", signum);
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    fo_agent_server_stop(m->server, NULL, NULL);
    uv_close((uv_handle_t *)&m->sigterm, NULL);
    uv_close((uv_handle_t *)&m->sigint, NULL);
}

static int parse_args(int argc, char **argv, const char **config, int *check_only)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            *config = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0) {
            *check_only = 1;
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("failover-agent %s\n", FO_VERSION);
            exit(0);
        } else {
            fprintf(stderr, "failover-agent: unknown argument '%s'\n", argv[i]);
            return -1;
        }
    }
    if (*config == NULL) {
        fprintf(stderr, "failover-agent: --config FILE is required\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct agent_main m; /* large: the config holds fixed arrays */
    const char *config = NULL;
    char err[FO_ERRLEN];
    int check_only = 0, lock_fd = -1, rc;

    /* Whatever the agent creates (the epochs file, its lock) is its own: group and
     * others get nothing unless a file is created with an explicit wider mode. */
    umask(077);
    if (parse_args(argc, argv, &config, &check_only) != 0) {
        usage(stderr);
        return 2;
    }
    if (fo_agent_config_load(&m.cfg, config, err) != 0 || check_files(&m.cfg, &m.tls_files, err) != 0) {
        fprintf(stderr, "failover-agent: %s\n", err);
        memset(m.cfg.mysql_password, 0, sizeof m.cfg.mysql_password);
        return 1;
    }
    if (check_only) {
        printf("%s: ok\n", config);
        fo_tls_files_free(m.tls_files);
        return 0;
    }
    fo_log_set_level((enum fo_log_level)m.cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    if (m.cfg.insecure)
        FO_WARN(MOD,
                "insecure = yes: the agent RPC is plain TCP without authentication; anyone who can reach %s "
                "can move VIPs and fence mysqld. Use only for tests.",
                m.cfg.listen);
    if (lock_state_dir(m.cfg.state_dir, &lock_fd, err) != 0) {
        fprintf(stderr, "failover-agent: %s\n", err);
        fo_tls_files_free(m.tls_files);
        return 1;
    }
    mysql_library_init(0, NULL, NULL);
    m.loop = uv_default_loop();
    rc = fo_agent_server_start_files(&m.server, m.loop, &m.cfg, m.tls_files, err);
    /* The server's context holds what it needs of the files. */
    fo_tls_files_free(m.tls_files);
    m.tls_files = NULL;
    if (rc != 0) {
        fprintf(stderr, "failover-agent: %s\n", err);
        uv_run(m.loop, UV_RUN_DEFAULT); /* closes what was opened */
        mysql_library_end();
        close(lock_fd);
        return 1;
    }
    uv_signal_init(m.loop, &m.sigterm);
    uv_signal_init(m.loop, &m.sigint);
    m.sigterm.data = &m;
    m.sigint.data = &m;
    uv_signal_start(&m.sigterm, on_signal, SIGTERM);
    uv_signal_start(&m.sigint, on_signal, SIGINT);
    FO_INFO(MOD, "failover-agent %s: listening on %s%s, %u cluster(s), http %s", FO_VERSION, m.cfg.listen,
            m.cfg.insecure ? " (INSECURE)" : "", m.cfg.n_clusters, m.cfg.http_address[0] ? m.cfg.http_address : "off");
    /* Type=notify (deploy/systemd/failover-agent.service): ready once the RPC listener
     * (and /metrics) are bound. Without NOTIFY_SOCKET this does nothing. */
    sd_notifyf(0, "READY=1\nSTATUS=listening on %s%s, %u cluster(s)", m.cfg.listen, m.cfg.insecure ? " (INSECURE)" : "",
               m.cfg.n_clusters);
    uv_run(m.loop, UV_RUN_DEFAULT);
    uv_loop_close(m.loop);
    mysql_library_end();
    memset(m.cfg.mysql_password, 0, sizeof m.cfg.mysql_password);
    close(lock_fd);
    FO_INFO(MOD, "stopped");
    return 0;
}
