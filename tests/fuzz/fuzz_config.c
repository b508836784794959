/* libFuzzer target: common/config.c, failoverd's INI configuration (libinih underneath).
 *
 * Input: the text of a config file (seeds: deploy/examples/failoverd-*.conf and
 * variations). fo_config_load_string must return 0 or FO_ECONFIG / FO_EIO / FO_ENOMEM
 * with a reason that names the file ("fuzz.conf..."), never crash, leak or read past
 * the text; a text it accepts is accepted again with the same node id (the loader
 * keeps no state between calls). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_config: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* The seeds name these, so that a config can load completely (data_dir must exist,
 * password files must be readable inside secrets_dir). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fo_log_set_level(FO_LOG_ERROR);
    if (system("mkdir -p /tmp/fo-fuzz-config/data /tmp/fo-fuzz-config/secrets && "
               "echo pw > /tmp/fo-fuzz-config/secrets/orders.password && "
               "chmod 0600 /tmp/fo-fuzz-config/secrets/orders.password") != 0)
        fprintf(stderr, "fuzz_config: cannot make /tmp/fo-fuzz-config (seeds will not load fully)\n");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fo_config c, c2;
    char err[FO_ERRLEN], *text;
    int rc;

    if (size > 65536) return 0;
    if ((text = malloc(size + 1)) == NULL) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    err[0] = '\0';
    rc = fo_config_load_string(&c, "fuzz.conf", text, err);
    if (rc != 0) {
        CHECK(rc == FO_ECONFIG || rc == FO_EIO || rc == FO_ENOMEM || rc == FO_EINVAL || rc == FO_EPERM);
        CHECK(err[0] != '\0');
    } else {
        CHECK(fo_config_load_string(&c2, "fuzz.conf", text, err) == 0);
        CHECK(c2.node_id == c.node_id);
        fo_config_free(&c2);
    }
    fo_config_free(&c);
    free(text);
    return 0;
}
