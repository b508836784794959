/* Internals shared by admin.c (server), admin_handlers.c (requests) and
 * admin_call.c (outgoing calls). Not for other modules. */
#ifndef FO_ADMIN_INTERNAL_H
#define FO_ADMIN_INTERNAL_H

#include <uv.h>

#include "common/frame.h"
#include "controller/admin.h"
#include "failoverd.pb-c.h"

struct call;

struct fo_admin {
    struct fo_ctl *ctl;
    uv_tcp_t server;
    unsigned n_conns;
    struct call *calls; /* outgoing calls in progress, cancelled on stop */
    struct aconn *conns; /* open connections */
    bool stopping;
    bool server_closed;
};

struct aconn {
    uv_tcp_t tcp;
    struct aconn *next, *prev;
    struct fo_admin *admin;
    struct fo_frame_decoder dec;
    char peer[FO_ADDR_LEN];
    unsigned refs;     /* 1 while open + 1 per request in progress */
    unsigned inflight;
    bool closing;
};

/* One request in progress. Handlers finish it exactly once with areq_reply(). */
struct areq {
    struct aconn *conn;
    struct fo_ctl *ctl;
    Fo__Request *req;
    /* Allocations owned by the response being built; freed after it is sent. */
    void **owned;
    unsigned n_owned, cap_owned;
};

void *areq_alloc(struct areq *r, size_t size);       /* zeroed; NULL on OOM */
char *areq_strdup(struct areq *r, const char *s);    /* "" on OOM */

/* Sends resp (leader/served_by filled here) and releases the request. */
void areq_reply(struct areq *r, Fo__Response *resp);
/* Sends an error response. */
void areq_fail(struct areq *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Entry point from the server for each decoded request. */
void fo_admin_dispatch(struct areq *r);

void fo_admin_cancel_calls(struct fo_admin *a);
/* Frees a stopping admin once its server, connections and calls are all gone. */
void fo_admin_maybe_free(struct fo_admin *a);

#endif
