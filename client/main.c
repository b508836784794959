/* failoverctl: the admin CLI (DESIGN.md §8). Parses the command line (args.c), loads
 * the TLS files (tls_client.c), sends one admin RPC request to the controller (rpc.c)
 * and prints the reply (render.c). `status` fans out to every member (status.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "conf.h"
#include "ctl.h"
#include "migrate.h"
#include "fallback.h"
#include "render.h"
#include "request.h"
#include "rpc.h"

int fo_ctl_fail(const struct fo_ctl_args *a, int exit_code, int code, const char *msg)
{
    struct fo_buf b;

    fprintf(stderr, "error: %s\n", msg);
    if (a->json) {
        fo_buf_init(&b);
        fo_ctl_render_error(&b, code, msg);
        if (!b.oom && b.p != NULL) fputs(b.p, stdout);
        fflush(stdout);
        fo_buf_free(&b);
    }
    return exit_code;
}

int fo_ctl_emit(const struct fo_ctl_args *a, const struct fo_buf *out, int exit_code)
{
    if (out->oom) return fo_ctl_fail(a, FO_CTL_EXIT_FAILED, FO_ENOMEM, "out of memory");
    if (out->len > 0 && fwrite(out->p, 1, out->len, stdout) != out->len) goto err_write;
    if (fflush(stdout) != 0) goto err_write;
    return exit_code;
err_write:
    fprintf(stderr, "error: writing to stdout: %s\n", strerror(errno));
    return FO_CTL_EXIT_FAILED;
}

static const char *body_name(Fo__Response__BodyCase b)
{
    switch (b) {
    case FO__RESPONSE__BODY_STATUS: return "a status";
    case FO__RESPONSE__BODY_MEMBERS: return "a member list";
    case FO__RESPONSE__BODY_TOPOLOGY: return "a topology";
    case FO__RESPONSE__BODY_HISTORY: return "a history";
    case FO__RESPONSE__BODY_CLUSTERS: return "a cluster list";
    case FO__RESPONSE__BODY_WHY: return "a why report";
    default: return "no body";
    }
}

int fo_ctl_check_reply(const struct fo_ctl_args *a, const struct fo_ctl_call *c, Fo__Response__BodyCase want)
{
    const Fo__Response *r = c->resp;
    char msg[FO_ERRLEN];

    if (c->rc != 0) return fo_ctl_fail(a, FO_CTL_EXIT_UNREACHABLE, c->rc, c->err);
    if (r->code != 0) {
        const char *text = r->error[0] != '\0' ? r->error : fo_strerror(r->code);

        return fo_ctl_fail(a, r->code == FO_ENOLEADER ? FO_CTL_EXIT_NOLEADER : FO_CTL_EXIT_FAILED, r->code, text);
    }
    if (want != FO__RESPONSE__BODY__NOT_SET && r->body_case != want) {
        fo_errf(msg, FO_EPROTO, "%s: bad reply: expected %s, got %s", c->address, body_name(want),
                body_name(r->body_case));
        return fo_ctl_fail(a, FO_CTL_EXIT_UNREACHABLE, FO_EPROTO, msg);
    }
    return 0;
}

/* The local wall clock in ms, only for human-readable output (STYLE.md 9); 0 if
 * unavailable, which makes any anti-flap block look current. */
static unsigned long long wall_now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0) return 0;
    return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

static void render_reply(struct fo_buf *out, const struct fo_ctl_args *a, const Fo__Response *r)
{
    /* This version's failover and switchover replies carry no body. */
    if (a->cmd == FO_CTL_FAILOVER || a->cmd == FO_CTL_SWITCHOVER) {
        fo_ctl_render_failover_ok(out, a->cluster, a->json);
        return;
    }
    if (fo_ctl_cmd_is_write(a->cmd)) {
        fo_ctl_render_ok(out, a->json);
        return;
    }
    switch (a->cmd) {
    case FO_CTL_MEMBERS: fo_ctl_render_members(out, r->members, a->json); break;
    case FO_CTL_TOPOLOGY: fo_ctl_render_topology(out, r->topology, a->json); break;
    case FO_CTL_HISTORY: fo_ctl_render_history(out, r->history, a->json); break;
    case FO_CTL_WHY: fo_ctl_render_why(out, r->why, wall_now_ms(), a->json); break;
    default: /* FO_CTL_CLUSTERS; status has its own runner */ fo_ctl_render_clusters(out, r->clusters, a->json); break;
    }
}

/* Every command but status: one request to the controller, one reply printed. */
static int run_simple(const struct fo_ctl_args *a, struct fo_ctl_tls *tls)
{
    struct fo_ctl_request req;
    struct fo_ctl_call call;
    struct fo_buf out;
    int rc;

    fo_ctl_request_build(&req, a);
    fo_ctl_call_args(&call, a, &req.req, tls);
    rc = fo_ctl_check_reply(a, &call, fo_ctl_request_expected_body(a->cmd));
    /* fallback.h: a write that may have reached a controller is never sent again. */
    if (call.rc != 0 && call.request_sent && !fo_ctl_cmd_is_idempotent(a->cmd) && a->n_controllers > 1)
        fprintf(stderr, "note: not retried on another controller: %s may have received the request\n", call.address);
    /* The controller keeps going when we stop waiting: say so before anyone retries. */
    if (call.rc == FO_ETIMEDOUT && (a->cmd == FO_CTL_FAILOVER || a->cmd == FO_CTL_SWITCHOVER))
        fprintf(stderr, "note: the %s may still be running; see `failoverctl history %s%s`\n",
                a->cmd == FO_CTL_FAILOVER ? "failover" : "switchover", a->cluster[0] == '-' ? "-- " : "", a->cluster);
    if (rc == 0) {
        fo_buf_init(&out);
        render_reply(&out, a, call.resp);
        rc = fo_ctl_emit(a, &out, FO_CTL_EXIT_OK);
        fo_buf_free(&out);
    }
    fo_ctl_call_free(&call);
    return rc;
}

static int run(const struct fo_ctl_args *a, struct fo_ctl_tls *tls)
{
    if (a->cmd == FO_CTL_STATUS) return fo_ctl_run_status(a, tls);
    if (a->cmd == FO_CTL_EVENTS) return fo_ctl_run_events(a, tls);
    if (a->cmd == FO_CTL_IMPORT_MHA || a->cmd == FO_CTL_IMPORT_MMM) return fo_ctl_run_import(a, tls);
    if (a->cmd == FO_CTL_CLUSTER_DISCOVER) return fo_ctl_run_discover(a, tls);
    return run_simple(a, tls);
}

/* help, help COMMAND, COMMAND --help. */
static int print_help(const struct fo_ctl_args *a)
{
    static char text[16384];

    if (fo_ctl_help_text(a, text, sizeof(text)) != 0) return fo_ctl_fail(a, FO_CTL_EXIT_USAGE, FO_EINVAL, text);
    fputs(text, stdout);
    return fflush(stdout) == 0 ? FO_CTL_EXIT_OK : FO_CTL_EXIT_FAILED;
}

/* The defaults of the configuration files (conf.h) into env: the system file, then
 * the user's. A broken file is an error (exit 2), as a bad option would be: silently
 * ignoring it would send commands somewhere the operator did not mean. */
static int load_conf(struct fo_ctl_conf *conf, struct fo_ctl_files *files, char err[FO_ERRLEN])
{
    char path[FO_PATH_LEN];
    int rc;

    memset(conf, 0, sizeof(*conf));
    rc = fo_ctl_conf_load(conf, FO_CTL_SYSTEM_CONF, err);
    if (rc == 0 && fo_ctl_conf_user_path(getenv("HOME"), path, sizeof(path)) == 0)
        rc = fo_ctl_conf_load(conf, path, err);
    if (rc == 0) fo_ctl_conf_to_files(conf, files);
    return rc;
}

int main(int argc, char **argv)
{
    struct fo_ctl_env env = {.controller = getenv("FAILOVERCTL_CONTROLLER"),
                             .ca = getenv("FAILOVERCTL_CA"),
                             .cert = getenv("FAILOVERCTL_CERT"),
                             .key = getenv("FAILOVERCTL_KEY"),
                             .insecure = getenv("FAILOVERCTL_INSECURE")};
    static struct fo_ctl_conf conf;
    struct fo_ctl_files files = {NULL, NULL, NULL, NULL, NULL, NULL};
    struct fo_ctl_args args;
    struct fo_ctl_tls *tls = NULL;
    char err[FO_ERRLEN], conf_err[FO_ERRLEN];
    int rc, conf_rc;

    conf_rc = load_conf(&conf, &files, conf_err);
    if (fo_ctl_args_parse_files(&args, argc, argv, &env, &files, err) != 0)
        return fo_ctl_fail(&args, FO_CTL_EXIT_USAGE, FO_EINVAL, err);
    if (args.cmd == FO_CTL_VERSION) {
        printf("failoverctl %s\n", FO_VERSION);
        return fflush(stdout) == 0 ? FO_CTL_EXIT_OK : FO_CTL_EXIT_FAILED;
    }
    if (args.cmd == FO_CTL_HELP) return print_help(&args);
    /* Help and --version work whatever the files say; a command does not. */
    if (conf_rc != 0) return fo_ctl_fail(&args, FO_CTL_EXIT_USAGE, conf_rc, conf_err);
    /* Files that cannot be used are a local mistake, like a bad argument: nothing is
     * sent. */
    /* An import without --apply only prints its plan: no controller, no TLS files. */
    if ((args.cmd == FO_CTL_IMPORT_MHA || args.cmd == FO_CTL_IMPORT_MMM) && !args.apply) return run(&args, NULL);
    if (!args.insecure && (rc = fo_ctl_tls_new(&tls, args.ca_file, args.cert_file, args.key_file, err)) != 0)
        return fo_ctl_fail(&args, rc == FO_ENOMEM ? FO_CTL_EXIT_FAILED : FO_CTL_EXIT_USAGE, rc, err);
    rc = run(&args, tls);
    fo_ctl_tls_free(tls);
    return rc;
}
