#include "fallback.h"

#include <string.h>
#include <time.h>

int fo_ctl_may_try_next(const struct fo_ctl_call *c, int idempotent)
{
    if (c->rc == 0) return 0;              /* an answer */
    if (c->rc == FO_ENOMEM) return 0;      /* ours, not the controller's */
    return !c->request_sent || idempotent; /* see fallback.h */
}

static long long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends "; ADDRESS: reason" of a failed attempt to the summary (cut to fit). */
static void note_failure(char *summary, size_t cap, const struct fo_ctl_call *c)
{
    size_t len = strlen(summary), add = strlen(c->err);

    if (len > 0) {
        if (len + 3 >= cap) return;
        memcpy(summary + len, "; ", 2);
        len += 2;
    }
    if (add > cap - 1 - len) add = cap - 1 - len;
    memcpy(summary + len, c->err, add);
    summary[len + add] = '\0';
}

void fo_ctl_call_any(struct fo_ctl_call *out, const char controllers[][FO_ADDR_LEN], unsigned n, const Fo__Request *req,
                     struct fo_ctl_tls *tls, int idempotent, unsigned timeout_ms, unsigned connect_timeout_ms,
                     unsigned *tried)
{
    long long deadline = mono_ms() + timeout_ms, left;
    char summary[FO_ERRLEN] = "";
    unsigned i, count = 0;

    for (i = 0; i < n; i++) {
        if (i > 0) fo_ctl_call_free(out);
        count++;
        if (fo_ctl_call_init(out, controllers[i], req, tls) == 0) {
            left = deadline - mono_ms();
            out->connect_timeout_ms = connect_timeout_ms;
            fo_ctl_rpc_run(out, 1, left > 0 ? (unsigned)left : 1);
        }
        if (i + 1 == n || !fo_ctl_may_try_next(out, idempotent) || deadline - mono_ms() <= 0) break;
        note_failure(summary, sizeof(summary), out);
    }
    if (tried != NULL) *tried = count;
    if (out->rc != 0 && count > 1) {
        /* Name every controller tried: the operator sees which were down. */
        note_failure(summary, sizeof(summary), out);
        memcpy(out->err, summary, strlen(summary) + 1); /* both FO_ERRLEN */
    }
}

void fo_ctl_call_args(struct fo_ctl_call *out, const struct fo_ctl_args *a, const Fo__Request *req,
                      struct fo_ctl_tls *tls)
{
    fo_ctl_call_any(out, a->controllers, a->n_controllers, req, tls, fo_ctl_cmd_is_idempotent(a->cmd), a->timeout_ms,
                    a->connect_timeout_ms, NULL);
}
