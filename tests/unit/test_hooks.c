/* Tests for controller/act/hooks.c on a real uv loop with real scripts, written into a
 * temporary directory at test time: exit codes, the timeout (SIGTERM, then SIGKILL
 * for a script that ignores SIGTERM, and the whole process group dies), the exact
 * environment, bounded output logging, spawn errors, a background process holding
 * the output pipes, and cancel in each phase.
 *
 * Every loop has an unref'd deadline timer so nothing can hang, and every test ends
 * with uv_loop_close() == 0: the hook left no handle behind. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "controller/act/hooks.h"
#include "fo_test.h"
#include "lib/testcheck.h"

/* ------------------------------------------------------------------ scratch directory */

/* Made on first use and removed at exit (lib/testutil.h). */
static char g_dir[FO_TEST_DIRLEN];

static const char *scratch(void)
{
    if (g_dir[0] == '\0' && fo_test_tmpdir(g_dir, sizeof(g_dir), "hooks") != 0) {
        perror("mkdtemp");
        exit(2);
    }
    return g_dir;
}

/* Writes an executable script (mode 0755 unless mode is given) and returns its path
 * in a static slot. */
static const char *script(const char *name, const char *body, mode_t mode)
{
    static char paths[16][128];
    static unsigned next;
    char *path = paths[next++ % 16];
    FILE *f;

    snprintf(path, 128, "%s/%s", scratch(), name);
    f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(path, mode != 0 ? mode : 0755);
    return path;
}

static void path_in_scratch(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", scratch(), name);
}

static char *slurp(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL) return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* A process is gone once it no longer exists or is a zombie nobody reaped (a
 * container's PID 1 may not reap). */
static bool proc_gone(long pid)
{
    char path[64], buf[512], *close_paren;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if ((f = fopen(path, "r")) == NULL) return true;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    close_paren = strrchr(buf, ')');
    return close_paren == NULL || (close_paren[1] == ' ' && close_paren[2] == 'Z');
}

static bool wait_gone(long pid, unsigned timeout_ms)
{
    uint64_t t0 = uv_hrtime();
    struct timespec ts = {0, 10 * 1000 * 1000};

    while (!proc_gone(pid)) {
        if (fo_test_ms_since(t0) > timeout_ms) return false;
        nanosleep(&ts, NULL);
    }
    return true;
}

static long read_pid(const char *name)
{
    char path[128];
    const char *s;

    path_in_scratch(path, sizeof(path), name);
    s = slurp(path);
    return s != NULL ? strtol(s, NULL, 10) : -1;
}

/* ------------------------------------------------------------------ recorded results */

/* Times are taken on the loop's clock (uv_now), the clock the hook's timeout and the
 * tests' cancel timers run on: a timer of d ms never fires before uv_now has advanced
 * by d, so a lower bound of d holds exactly. Against another clock (uv_hrtime) the
 * loop's cached, whole-millisecond time can make the same wait look a little shorter
 * (a flaky "299.0 not in [300.0, ...)"). */
struct rec {
    unsigned fired;
    struct fo_hook_result r;
    double at_ms; /* uv_now() at the callback - t0_ms */
    uv_loop_t *loop;
    uint64_t t0_ms; /* uv_now() when the hook was started */
};

static void on_done(void *data, const struct fo_hook_result *r)
{
    struct rec *rc = data;

    rc->fired++;
    rc->r = *r;
    rc->at_ms = (double)(uv_now(rc->loop) - rc->t0_ms);
}

static struct fo_hook *start(struct fo_test_loop *tl, struct rec *rc, const char *path, const char *const *env,
                             unsigned n_env, unsigned timeout_ms)
{
    struct fo_hook *h = NULL;
    char err[FO_ERRLEN] = "";
    int ret;

    memset(rc, 0, sizeof(*rc));
    /* The loop's time was cached when it was made (the script was written since). */
    uv_update_time(&tl->loop);
    rc->loop = &tl->loop;
    rc->t0_ms = uv_now(&tl->loop);
    ret = fo_hook_run(&tl->loop, "test_hook", path, env, n_env, timeout_ms, on_done, rc, &h, err);
    FO_CHECK_INT(ret, 0);
    if (ret != 0) fprintf(stderr, "  fo_hook_run: %s\n", err);
    FO_CHECK(h != NULL);
    return h;
}

/* Runs one script to completion and leaves its result in rc. */
static void run_script(struct rec *rc, const char *path, const char *const *env, unsigned n_env, unsigned timeout_ms,
                       uint64_t deadline_ms)
{
    struct fo_test_loop tl;

    fo_test_check_loop_init(&tl, deadline_ms);
    start(&tl, rc, path, env, n_env, timeout_ms);
    fo_test_check_loop_finish(&tl);
    FO_CHECK_INT(rc->fired, 1);
}

/* ------------------------------------------------------------------ tests */

static void test_exit_codes(void)
{
    static const struct {
        const char *name, *body;
        int exit_code;
        const char *detail;
    } cases[] = {
        {"exit0.sh", "echo hello; echo to-stderr >&2; exit 0", 0, "exited 0"},
        {"exit1.sh", "echo failing; exit 1", 1, "exited 1"},
        {"exit42.sh", "exit 42", 42, "exited 42"},
        {"silent.sh", "true", 0, "exited 0"},
    };
    unsigned i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rec rc;

        run_script(&rc, script(cases[i].name, cases[i].body, 0), NULL, 0, 5000, 10000);
        FO_CHECK_INT(rc.r.status, 0);
        FO_CHECK_INT(rc.r.term_signal, 0);
        FO_CHECK_INT(rc.r.exit_code, cases[i].exit_code);
        FO_CHECK_STR(rc.r.detail, cases[i].detail);
        FO_CHECK_RANGE(rc.r.duration_ms, 0, 3000);
    }
}

static void test_killed_by_own_signal(void)
{
    struct rec rc;

    run_script(&rc, script("selfkill.sh", "kill -USR1 $$; sleep 5", 0), NULL, 0, 5000, 10000);
    FO_CHECK_INT(rc.r.status, 0);
    FO_CHECK_INT(rc.r.term_signal, SIGUSR1);
    FO_CHECK_CONTAINS(rc.r.detail, "killed by signal");
}

/* The script's child (sleep) is in the hook's process group, so it dies too. */
static void test_timeout_sigterm(void)
{
    struct rec rc;
    char body[256], pidfile[128];
    long bg;

    path_in_scratch(pidfile, sizeof(pidfile), "sleeper.pid");
    snprintf(body, sizeof(body), "sleep 30 & echo $! > %s; wait", pidfile);
    run_script(&rc, script("sleeper.sh", body, 0), NULL, 0, 300, 10000);
    FO_CHECK_INT(rc.r.status, FO_ETIMEDOUT);
    FO_CHECK_INT(rc.r.term_signal, SIGTERM);
    FO_CHECK_STR(rc.r.detail, "killed after 300 ms timeout (SIGTERM)");
    FO_CHECK_RANGE(rc.r.duration_ms, 300, 1500);
    FO_CHECK_RANGE(rc.at_ms, 300, 2500);
    bg = read_pid("sleeper.pid");
    FO_CHECK(bg > 0);
    if (bg > 0) {
        FO_CHECK(wait_gone(bg, 3000));
        if (!proc_gone(bg)) kill((pid_t)bg, SIGKILL);
    }
}

static void test_timeout_ignores_sigterm(void)
{
    struct rec rc;
    char body[256], pidfile[128];
    long bg;

    path_in_scratch(pidfile, sizeof(pidfile), "stubborn.pid");
    /* The child inherits the ignored SIGTERM, so only the SIGKILL ends either. */
    snprintf(body, sizeof(body), "trap '' TERM; sleep 30 & echo $! > %s; wait", pidfile);
    run_script(&rc, script("stubborn.sh", body, 0), NULL, 0, 500, 10000);
    FO_CHECK_INT(rc.r.status, FO_ETIMEDOUT);
    FO_CHECK_INT(rc.r.term_signal, SIGKILL);
    FO_CHECK_STR(rc.r.detail, "killed after 500 ms timeout (SIGKILL: it ignored SIGTERM)");
    FO_CHECK_RANGE(rc.r.duration_ms, 2500, 4000);
    bg = read_pid("stubborn.pid");
    FO_CHECK(bg > 0);
    if (bg > 0) {
        FO_CHECK(wait_gone(bg, 3000));
        if (!proc_gone(bg)) kill((pid_t)bg, SIGKILL);
    }
}

static bool allowed_key(const char *line, const char *const *keys, unsigned n)
{
    size_t klen = strcspn(line, "=");
    unsigned i;

    for (i = 0; i < n; i++)
        if (strlen(keys[i]) == klen && strncmp(line, keys[i], klen) == 0) return true;
    return false;
}

static void check_env_file(const char *out_path, const char *want_path_line, const char *const *extra_keys,
                           unsigned n_extra)
{
    /* Variables the shell itself may add; everything else must come from env. */
    static const char *const shell_keys[] = {"PWD", "OLDPWD", "SHLVL", "_"};
    char *text = slurp(out_path), *line, *save = NULL;
    unsigned n_path = 0;

    FO_CHECK(text != NULL);
    if (text == NULL) return;
    FO_CHECK_CONTAINS(text, "FO_CLUSTER=c1\n");
    FO_CHECK_CONTAINS(text, "FO_REASON=primary down\n");
    FO_CHECK_CONTAINS(text, want_path_line);
    FO_CHECK(strstr(text, "FO_TEST_INHERITED") == NULL);
    FO_CHECK(strstr(text, "HOME=") == NULL);
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "PATH=", 5) == 0) n_path++;
        if (!allowed_key(line, extra_keys, n_extra) && !allowed_key(line, shell_keys, 4)) {
            fprintf(stderr, "  unexpected variable: %s\n", line);
            FO_CHECK(!"only the given environment");
        }
    }
    FO_CHECK_INT(n_path, 1);
}

static void test_environment_exact(void)
{
    static const char *const keys[] = {"FO_CLUSTER", "FO_REASON", "FO_OUT", "PATH"};
    char out_path[128], out_env[160];
    const char *env[3];
    struct rec rc;

    setenv("FO_TEST_INHERITED", "must-not-leak", 1);
    setenv("HOME", "/root", 1);
    path_in_scratch(out_path, sizeof(out_path), "env.out");
    snprintf(out_env, sizeof(out_env), "FO_OUT=%s", out_path);
    env[0] = "FO_CLUSTER=c1";
    env[1] = "FO_REASON=primary down";
    env[2] = out_env;
    run_script(&rc, script("env.sh", "exec /usr/bin/env > \"$FO_OUT\"", 0), env, 3, 5000, 10000);
    FO_CHECK_INT(rc.r.status, 0);
    FO_CHECK_INT(rc.r.exit_code, 0);
    check_env_file(out_path, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n", keys, 4);
    unsetenv("FO_TEST_INHERITED");
}

/* A PATH given in env replaces the default one. */
static void test_environment_path_override(void)
{
    static const char *const keys[] = {"FO_CLUSTER", "FO_REASON", "FO_OUT", "PATH"};
    char out_path[128], out_env[160];
    const char *env[4];
    struct rec rc;

    path_in_scratch(out_path, sizeof(out_path), "env2.out");
    snprintf(out_env, sizeof(out_env), "FO_OUT=%s", out_path);
    env[0] = "FO_CLUSTER=c1";
    env[1] = "PATH=/bin";
    env[2] = out_env;
    env[3] = "FO_REASON=primary down";
    run_script(&rc, script("env2.sh", "exec /usr/bin/env > \"$FO_OUT\"", 0), env, 4, 5000, 10000);
    FO_CHECK_INT(rc.r.status, 0);
    check_env_file(out_path, "PATH=/bin\n", keys, 4);
}

/* Counts lines of the captured log that contain needle; longest such line in *maxlen. */
static unsigned count_lines(const char *text, const char *needle, size_t *maxlen)
{
    const char *p = text, *nl;
    unsigned n = 0;

    *maxlen = 0;
    while (*p != '\0') {
        nl = strchr(p, '\n');
        if (nl == NULL) nl = p + strlen(p);
        if (memmem(p, (size_t)(nl - p), needle, strlen(needle)) != NULL) {
            n++;
            if ((size_t)(nl - p) > *maxlen) *maxlen = (size_t)(nl - p);
        }
        p = *nl != '\0' ? nl + 1 : nl;
    }
    return n;
}

/* 2 MB of output (far more than a pipe holds) must be read to the end so the child
 * finishes, while at most 64 lines of at most 512 bytes reach the log. */
static void test_big_output_bounded(void)
{
    const char *body = "i=0; while [ $i -lt 300 ]; do echo \"line $i\"; echo \"err $i\" >&2; i=$((i+1)); done\n"
                       "head -c 2000000 /dev/zero | tr '\\0' x; echo; echo last";
    char log_path[128];
    const char *text;
    size_t maxlen = 0;
    struct rec rc;
    int saved, fd;

    path_in_scratch(log_path, sizeof(log_path), "big.log");
    fflush(stderr);
    saved = dup(2);
    fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FO_CHECK(saved >= 0 && fd >= 0);
    if (saved < 0 || fd < 0) return;
    dup2(fd, 2);
    close(fd);
    run_script(&rc, script("big.sh", body, 0), NULL, 0, 20000, 25000);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FO_CHECK_INT(rc.r.status, 0);
    FO_CHECK_INT(rc.r.exit_code, 0);
    text = slurp(log_path);
    FO_CHECK(text != NULL);
    if (text == NULL) return;
    FO_CHECK_INT(count_lines(text, "test_hook[std", &maxlen), 64);
    FO_CHECK(maxlen < 512 + 100); /* 512 bytes of output plus the log prefix */
    FO_CHECK(count_lines(text, "test_hook[stdout]: line 0", &maxlen) == 1);
    FO_CHECK(count_lines(text, "test_hook[stdout]: last", &maxlen) == 0);
    /* 600 short lines + the long line + "last" = 602 lines, 64 logged. */
    FO_CHECK_INT(count_lines(text, "538 more output line(s) dropped", &maxlen), 1);
}

/* A long line is cut at 512 bytes and marked. */
static void test_long_line_cut(void)
{
    char log_path[128];
    const char *text, *hit;
    size_t maxlen = 0;
    struct rec rc;
    int saved, fd;

    path_in_scratch(log_path, sizeof(log_path), "long.log");
    fflush(stderr);
    saved = dup(2);
    fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FO_CHECK(saved >= 0 && fd >= 0);
    if (saved < 0 || fd < 0) return;
    dup2(fd, 2);
    close(fd);
    run_script(
        &rc, script("long.sh", "echo to-stderr >&2; head -c 5000 /dev/zero | tr '\\0' y; printf 'tail-no-newline'", 0),
        NULL, 0, 5000, 10000);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FO_CHECK_INT(rc.r.status, 0);
    text = slurp(log_path);
    FO_CHECK(text != NULL);
    if (text == NULL) return;
    FO_CHECK_INT(count_lines(text, "test_hook[stdout]", &maxlen), 1);
    FO_CHECK_INT(count_lines(text, "test_hook[stderr]: to-stderr", &maxlen), 1);
    hit = strstr(text, "test_hook[stdout]: ");
    FO_CHECK(hit != NULL);
    if (hit != NULL) {
        hit += strlen("test_hook[stdout]: ");
        FO_CHECK(strspn(hit, "y") == 512);
        FO_CHECK(strncmp(hit + 512, " [cut]", 6) == 0);
    }
}

/* Chosen behaviour (documented in hooks.h): fo_hook_run reports spawn errors itself
 * and the callback never fires. */
static void test_spawn_errors(void)
{
    static const char *const bad_env[] = {"NOEQUALS"};
    const char *noexec = script("noexec.sh", "exit 0", 0644);
    char missing[128], err[FO_ERRLEN];
    struct fo_hook *h = NULL;
    struct fo_test_loop tl;
    struct rec rc;

    path_in_scratch(missing, sizeof(missing), "does-not-exist.sh");
    memset(&rc, 0, sizeof(rc));
    fo_test_check_loop_init(&tl, 5000);
    rc.loop = &tl.loop; /* on_done must not fire; if it does, it must not crash */
    err[0] = '\0';
    FO_CHECK_INT(fo_hook_run(&tl.loop, "h", missing, NULL, 0, 1000, on_done, &rc, &h, err), FO_ENOTFOUND);
    FO_CHECK_CONTAINS(err, "does-not-exist.sh");
    FO_CHECK_INT(fo_hook_run(&tl.loop, "h", noexec, NULL, 0, 1000, on_done, &rc, &h, err), FO_EPERM);
    FO_CHECK_INT(fo_hook_run(&tl.loop, "h", "relative.sh", NULL, 0, 1000, on_done, &rc, &h, err), FO_EINVAL);
    FO_CHECK_INT(fo_hook_run(&tl.loop, "h", noexec, bad_env, 1, 1000, on_done, &rc, &h, err), FO_EINVAL);
    FO_CHECK_INT(fo_hook_run(&tl.loop, "h", noexec, NULL, 0, 0, on_done, &rc, &h, err), FO_EINVAL);
    FO_CHECK_INT(fo_hook_run(&tl.loop, "h", noexec, NULL, FO_HOOK_MAX_ENV + 1, 1000, on_done, &rc, &h, err), FO_EINVAL);
    FO_CHECK(h == NULL);
    fo_test_check_loop_finish(&tl);
    FO_CHECK_INT(rc.fired, 0);
}

/* A background process that escapes nothing but keeps the pipes open must not hold
 * the callback beyond the drain grace. */
static void test_background_holds_pipes(void)
{
    char body[256], pidfile[128];
    struct rec rc;
    long bg;

    path_in_scratch(pidfile, sizeof(pidfile), "bg.pid");
    snprintf(body, sizeof(body), "sleep 30 & echo $! > %s; exit 3", pidfile);
    run_script(&rc, script("bg.sh", body, 0), NULL, 0, 10000, 10000);
    FO_CHECK_INT(rc.r.status, 0);
    FO_CHECK_INT(rc.r.exit_code, 3);
    FO_CHECK_RANGE(rc.at_ms, 0, 2000);
    bg = read_pid("bg.pid");
    FO_CHECK(bg > 0);
    if (bg > 0) kill((pid_t)bg, SIGKILL);
}

struct canceller {
    uv_timer_t t;
    struct fo_hook *h;
    struct rec *rc;
    unsigned fired_at_cancel;
};

static void cancel_cb(uv_timer_t *t)
{
    struct canceller *c = t->data;

    c->fired_at_cancel = c->rc->fired;
    fo_hook_cancel(c->h);
    fo_hook_cancel(c->h); /* idempotent */
    uv_close((uv_handle_t *)t, NULL);
}

/* Cancel at once, while running, and after the timeout's SIGTERM (the script
 * ignores it): FO_ECANCELED each time, SIGKILL at once, the child reaped. */
static void test_cancel(void)
{
    static const unsigned delays[] = {0, 1, 200, 800};
    unsigned i;

    for (i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
        struct canceller c;
        struct fo_test_loop tl;
        struct rec rc;

        fo_test_check_loop_init(&tl, 10000);
        c.h = start(&tl, &rc, script("cancel.sh", "trap '' TERM; sleep 30", 0), NULL, 0, 500);
        c.rc = &rc;
        c.fired_at_cancel = 99;
        if (delays[i] == 0) {
            fo_hook_cancel(c.h);
            c.fired_at_cancel = rc.fired;
        } else {
            uv_timer_init(&tl.loop, &c.t);
            c.t.data = &c;
            uv_timer_start(&c.t, cancel_cb, delays[i], 0);
        }
        fo_test_check_loop_finish(&tl);
        FO_CHECK_INT(c.fired_at_cancel, 0);
        FO_CHECK_INT(rc.fired, 1);
        FO_CHECK_INT(rc.r.status, FO_ECANCELED);
        FO_CHECK_INT(rc.r.term_signal, SIGKILL);
        FO_CHECK_CONTAINS(rc.r.detail, "canceled");
        FO_CHECK_RANGE(rc.at_ms, delays[i], delays[i] + 1000);
    }
}

/* Cancel after the hook exited but while its output is still drained (a background
 * process holds the pipes): the callback comes at once, with FO_ECANCELED. */
static void test_cancel_while_draining(void)
{
    char body[256], pidfile[128];
    struct canceller c;
    struct fo_test_loop tl;
    struct rec rc;
    long bg;

    path_in_scratch(pidfile, sizeof(pidfile), "bg2.pid");
    snprintf(body, sizeof(body), "sleep 30 & echo $! > %s; exit 0", pidfile);
    fo_test_check_loop_init(&tl, 10000);
    c.h = start(&tl, &rc, script("bg2.sh", body, 0), NULL, 0, 5000);
    c.rc = &rc;
    uv_timer_init(&tl.loop, &c.t);
    c.t.data = &c;
    uv_timer_start(&c.t, cancel_cb, 200, 0);
    fo_test_check_loop_finish(&tl);
    FO_CHECK_INT(c.fired_at_cancel, 0);
    FO_CHECK_INT(rc.fired, 1);
    FO_CHECK_INT(rc.r.status, FO_ECANCELED);
    FO_CHECK_STR(rc.r.detail, "canceled (exited 0)");
    FO_CHECK_RANGE(rc.at_ms, 200, 450);
    bg = read_pid("bg2.pid");
    FO_CHECK(bg > 0);
    if (bg > 0) kill((pid_t)bg, SIGKILL);
}

FO_TEST_MAIN(FO_T(test_exit_codes), FO_T(test_killed_by_own_signal), FO_T(test_timeout_sigterm),
             FO_T(test_timeout_ignores_sigterm), FO_T(test_environment_exact), FO_T(test_environment_path_override),
             FO_T(test_big_output_bounded), FO_T(test_long_line_cut), FO_T(test_spawn_errors),
             FO_T(test_background_holds_pipes), FO_T(test_cancel), FO_T(test_cancel_while_draining))
