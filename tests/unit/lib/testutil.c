/* Shared unit-test helpers: see testutil.h for the contract. */
#include "lib/testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ the exit registry */

/* What atexit() must clean up if a test ends early: the library's only mutable global
 * (testutil.h). An empty slot is a pid of 0 or a dir of "". */
static struct {
    bool installed;
    pid_t pids[FO_TEST_MAX_CLEANUP];
    char dirs[FO_TEST_MAX_CLEANUP][FO_TEST_DIRLEN];
} g_cleanup;

static void cleanup_at_exit(void)
{
    unsigned i;

    /* Children first: a server must be down before its data directory goes. */
    for (i = 0; i < FO_TEST_MAX_CLEANUP; i++)
        if (g_cleanup.pids[i] > 0) fo_test_stop_child(g_cleanup.pids[i]);
    for (i = 0; i < FO_TEST_MAX_CLEANUP; i++)
        if (g_cleanup.dirs[i][0] != '\0') fo_test_tmpdir_remove(g_cleanup.dirs[i]);
}

static void install_cleanup(void)
{
    if (g_cleanup.installed) return;
    atexit(cleanup_at_exit);
    g_cleanup.installed = true;
}

/* ------------------------------------------------------------------ time */

double fo_test_ms_since(uint64_t t0_ns)
{
    return (double)(uv_hrtime() - t0_ns) / 1e6;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000 * 1000};

    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ files */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

void fo_test_rmtree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int fo_test_tmpdir(char *dir, size_t n, const char *name)
{
    unsigned i;
    int len;

    install_cleanup();
    for (i = 0; i < FO_TEST_MAX_CLEANUP && g_cleanup.dirs[i][0] != '\0'; i++) continue;
    len = snprintf(dir, n, "/tmp/fo-test-%s-XXXXXX", name);
    if (i == FO_TEST_MAX_CLEANUP || len < 0 || (size_t)len >= n || (size_t)len >= FO_TEST_DIRLEN ||
        mkdtemp(dir) == NULL) {
        if (n > 0) dir[0] = '\0';
        return -1;
    }
    memcpy(g_cleanup.dirs[i], dir, (size_t)len + 1);
    return 0;
}

void fo_test_tmpdir_remove(char *dir)
{
    unsigned i;

    if (dir[0] == '\0') return;
    fo_test_rmtree(dir);
    for (i = 0; i < FO_TEST_MAX_CLEANUP; i++)
        if (strcmp(g_cleanup.dirs[i], dir) == 0) g_cleanup.dirs[i][0] = '\0';
    dir[0] = '\0';
}

void fo_test_print_tail(const char *path)
{
    char buf[2048];
    FILE *f = fopen(path, "r");
    long size;
    size_t n;

    if (f == NULL) return;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0, SEEK_SET);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    fprintf(stderr, "  --- %s ---\n%s\n  ---\n", path, buf);
}

/* ------------------------------------------------------------------ child processes */

pid_t fo_test_spawn(char *const argv[], const char *log_path)
{
    pid_t pid = fork();

    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int in = open("/dev/null", O_RDONLY);

        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (in >= 0) dup2(in, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

bool fo_test_wait_exit(pid_t pid, unsigned timeout_ms, int *status)
{
    uint64_t t0 = uv_hrtime();
    int st = 0;

    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);

        if (w == pid || (w < 0 && errno == ECHILD)) {
            if (status != NULL) *status = st;
            return true;
        }
        if (fo_test_ms_since(t0) >= timeout_ms) return false;
        sleep_ms(20);
    }
}

int fo_test_run_cmd(char *const argv[], const char *log_path, unsigned timeout_ms)
{
    pid_t pid = fo_test_spawn(argv, log_path);
    int st = 0;

    if (pid < 0) return -1;
    if (!fo_test_wait_exit(pid, timeout_ms, &st)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int fo_test_stop_at_exit(pid_t pid)
{
    unsigned i;

    install_cleanup();
    for (i = 0; i < FO_TEST_MAX_CLEANUP; i++) {
        if (g_cleanup.pids[i] <= 0) {
            g_cleanup.pids[i] = pid;
            return 0;
        }
    }
    return -1;
}

static void forget_child(pid_t pid)
{
    unsigned i;

    for (i = 0; i < FO_TEST_MAX_CLEANUP; i++)
        if (g_cleanup.pids[i] == pid) g_cleanup.pids[i] = 0;
}

bool fo_test_child_exited(pid_t pid)
{
    if (waitpid(pid, NULL, WNOHANG) != pid) return false;
    forget_child(pid);
    return true;
}

void fo_test_stop_child(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGCONT);
    kill(pid, SIGTERM);
    if (!fo_test_wait_exit(pid, FO_TEST_STOP_GRACE_MS, NULL)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    forget_child(pid);
}

/* ------------------------------------------------------------------ loopback sockets */

/* A TCP socket bound to 127.0.0.1 at a kernel-chosen port (in *port), or -1. */
static int bind_loopback(uint16_t *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    *port = 0;
    if (fd < 0) return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

uint16_t fo_test_free_port(void)
{
    uint16_t port;
    int fd = bind_loopback(&port);

    if (fd >= 0) close(fd);
    return port;
}

int fo_test_mute_listener(uint16_t *port)
{
    int fd = bind_loopback(port);

    if (fd >= 0 && listen(fd, 16) != 0) {
        close(fd);
        *port = 0;
        return -1;
    }
    return fd;
}

/* ------------------------------------------------------------------ a uv loop with a deadline */

static void deadline_cb(uv_timer_t *t)
{
    struct fo_test_loop *tl = t->data;

    tl->expired = true;
    uv_stop(&tl->loop);
}

int fo_test_loop_init(struct fo_test_loop *tl, uint64_t deadline_ms)
{
    int rc = uv_loop_init(&tl->loop);

    if (rc != 0) return rc;
    uv_timer_init(&tl->loop, &tl->deadline);
    tl->deadline.data = tl;
    tl->expired = false;
    uv_timer_start(&tl->deadline, deadline_cb, deadline_ms, 0);
    uv_unref((uv_handle_t *)&tl->deadline);
    tl->t0 = uv_hrtime();
    return 0;
}

bool fo_test_loop_run(struct fo_test_loop *tl)
{
    uv_run(&tl->loop, UV_RUN_DEFAULT);
    if (tl->expired) fprintf(stderr, "  loop deadline expired\n");
    return !tl->expired;
}

bool fo_test_loop_drain(struct fo_test_loop *tl, uint64_t ms)
{
    tl->expired = false;
    uv_timer_start(&tl->deadline, deadline_cb, ms, 0);
    return fo_test_loop_run(tl);
}

int fo_test_loop_close(struct fo_test_loop *tl)
{
    uv_close((uv_handle_t *)&tl->deadline, NULL);
    uv_run(&tl->loop, UV_RUN_NOWAIT);
    return uv_loop_close(&tl->loop);
}
