/* libFuzzer target: agent/config.c, failover-agent's INI configuration.
 *
 * Input: the text of a config file (seeds: deploy/examples/failover-agent-*.conf and
 * variations). fo_agent_config_load_string must return 0 or an error code with a
 * reason naming the file, never crash, leak or read past the text. On success the
 * result is checked against agent/config.h's contract: every VIP's prefix is 0..32,
 * at most FO_AGENT_MAX_VIPS per cluster, cluster names unique and found again by
 * fo_agent_config_cluster. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"

#define CHECK(cond)                                                                                  \
    do {                                                                                             \
        if (!(cond)) {                                                                               \
            fprintf(stderr, "fuzz_agent_config: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                                 \
        }                                                                                            \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fo_agent_config c;
    char err[FO_ERRLEN], *text;
    unsigned i, v;
    int rc;

    if (size > 65536) return 0;
    if ((text = malloc(size + 1)) == NULL) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    err[0] = '\0';
    rc = fo_agent_config_load_string(&c, "agent.conf", text, err);
    if (rc != 0) {
        CHECK(err[0] != '\0');
    } else {
        CHECK(c.n_clusters <= FO_AGENT_MAX_CLUSTERS);
        for (i = 0; i < c.n_clusters; i++) {
            CHECK(c.clusters[i].n_vips <= FO_AGENT_MAX_VIPS);
            CHECK(fo_agent_config_cluster(&c, c.clusters[i].name) == &c.clusters[i]);
            for (v = 0; v < c.clusters[i].n_vips; v++) CHECK(c.clusters[i].vips[v].prefix <= 32);
        }
    }
    free(text);
    return 0;
}
