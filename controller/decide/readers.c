/* Reader VIP placement: see readers.h. */
#include "controller/decide/readers.h"

#include <string.h>

bool fo_reader_eligible(const struct fo_reader_cand *c, unsigned max_lag_s, const char **why)
{
    const char *w = NULL;

    if (c->is_primary)
        w = "is the primary";
    else if (!c->up)
        w = "not up";
    else if (c->maintenance)
        w = "in maintenance";
    else if (c->quarantined)
        w = "quarantined";
    else if (!c->replica_ok)
        w = "not replicating from the primary";
    else if (c->lag_s < 0)
        w = "lag unknown";
    else if ((uint64_t)c->lag_s > max_lag_s)
        w = "lagging";
    if (why != NULL) *why = w != NULL ? w : "";
    return w == NULL;
}

static int find(const struct fo_reader_cand *cands, unsigned n, const char *host, uint16_t port)
{
    unsigned i;

    if (host[0] == '\0') return -1;
    for (i = 0; i < n; i++)
        if (cands[i].port == port && strcmp(cands[i].host, host) == 0) return (int)i;
    return -1;
}

void fo_readers_place(const struct fo_reader_cand *cands, unsigned n_cands, unsigned max_lag_s,
                      struct fo_reader_vip *vips, unsigned n_vips)
{
    bool ok[FO_MAX_INSTANCES_PER_CLUSTER];
    unsigned load[FO_MAX_INSTANCES_PER_CLUSTER];
    int primary = -1, best;
    unsigned i, j, n_ok = 0;

    if (n_cands > FO_MAX_INSTANCES_PER_CLUSTER) n_cands = FO_MAX_INSTANCES_PER_CLUSTER;
    for (i = 0; i < n_cands; i++) {
        ok[i] = fo_reader_eligible(&cands[i], max_lag_s, NULL);
        load[i] = 0;
        n_ok += ok[i];
        if (cands[i].is_primary && cands[i].up) primary = (int)i;
    }
    /* Rule 1 first for every VIP, so that the load counts every VIP that stays. */
    for (j = 0; j < n_vips; j++) {
        int h = find(cands, n_cands, vips[j].holder_host, vips[j].holder_port);
        vips[j].want = h >= 0 && ok[h] ? h : -2;
        if (vips[j].want >= 0) load[h]++;
    }
    for (j = 0; j < n_vips; j++) {
        if (vips[j].want != -2) continue;
        best = -1;
        for (i = 0; i < n_cands; i++)
            if (ok[i] && (best < 0 || load[i] < load[best])) best = (int)i;
        if (best >= 0)
            load[best]++;
        else if (n_ok == 0 && primary >= 0)
            best = primary;
        vips[j].want = best;
    }
}
