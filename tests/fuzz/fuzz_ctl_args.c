/* libFuzzer target: client/args.c, failoverctl's command line.
 *
 * Input: byte 0 picks which FAILOVERCTL_* variables are set (bit i: variable i; the
 * values are the next arguments taken from the input), the rest is split at NUL bytes
 * into argv[1..] (at most 64 arguments). fo_ctl_args_parse must return 0 or FO_EINVAL
 * with a one-line message; on success the controller address is "host:port", the TLS
 * files are set unless insecure, and every text field is NUL-terminated inside its
 * array (args.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../client/args.c"

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz_ctl_args: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

#define MAX_ARGS 64
#define TERMINATED(a) CHECK(memchr((a), '\0', sizeof(a)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fo_ctl_args a;
    char *argv[MAX_ARGS + 2], err[FO_ERRLEN], *buf, *p, *end;
    const char *envv[5] = {NULL, NULL, NULL, NULL, NULL};
    struct fo_ctl_env env;
    unsigned mask, i, n = 0;
    int argc, rc;

    if (size < 1 || size > 8192) return 0;
    mask = data[0];
    if ((buf = malloc(size)) == NULL) return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    end = buf + size - 1;
    argv[n++] = "failoverctl";
    for (p = buf; p <= end && n <= MAX_ARGS; p += strlen(p) + 1) argv[n++] = p;
    argv[n] = NULL;
    argc = (int)n;
    /* The environment's values are the last arguments (so they also mutate). */
    for (i = 0; i < 5; i++)
        if ((mask & (1u << i)) && argc > 1) envv[i] = argv[--argc];
    argv[argc] = NULL;
    env.controller = envv[0];
    env.ca = envv[1];
    env.cert = envv[2];
    env.key = envv[3];
    env.insecure = envv[4];

    memset(&a, 0, sizeof a);
    err[0] = '\0';
    rc = fo_ctl_args_parse(&a, argc, argv, (mask & 0x80) ? NULL : &env, err);
    CHECK(rc == 0 || rc == FO_EINVAL);
    if (rc != 0) {
        CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
    } else {
        TERMINATED(a.controller);
        TERMINATED(a.cluster);
        TERMINATED(a.host);
        TERMINATED(a.target_host);
        TERMINATED(a.reason);
        TERMINATED(a.raft_address);
        TERMINATED(a.password_file);
        TERMINATED(a.vip);
        CHECK(a.n_reader_vips <= FO_MAX_READER_VIPS);
        /* help and --version talk to nobody: no address or TLS files; an import without
         * --apply only prints its plan (no controller either). */
        int offline_import = (a.cmd == FO_CTL_IMPORT_MHA || a.cmd == FO_CTL_IMPORT_MMM) && !a.apply;
        int talks = a.cmd != FO_CTL_HELP && a.cmd != FO_CTL_VERSION && !offline_import;
        if (a.cmd == FO_CTL_IMPORT_MHA || a.cmd == FO_CTL_IMPORT_MMM) TERMINATED(a.file);
        if (talks) CHECK(a.controller[0] != '\0' && strrchr(a.controller, ':') != NULL);
        if (talks && !a.insecure) CHECK(a.ca_file[0] != '\0' && a.cert_file[0] != '\0' && a.key_file[0] != '\0');
        (void)fo_ctl_cmd_is_write(a.cmd);
    }
    free(buf);
    return 0;
}
