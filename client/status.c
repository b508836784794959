/* `failoverctl status`: asks the controller for the membership, then asks every
 * member's admin address for its own raft status, all at once under one deadline,
 * and prints one row per member. A member that cannot be asked is a row too
 * ("unreachable" and why); the command exits 4 when no member says it is leader. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "fallback.h"
#include "render.h"
#include "request.h"

/* More members than any real controller cluster has; also keeps us far below the
 * default open-file limit, since every member gets its own socket. */
#define MAX_MEMBERS 512

struct fanout {
    struct fo_ctl_member_status *ms; /* one per member */
    struct fo_ctl_call *calls;       /* one per member with an admin address */
    size_t *owner;                   /* calls[i] asks ms[owner[i]] */
    size_t n, ncalls;
};

static int fanout_alloc(struct fanout *f, size_t n)
{
    memset(f, 0, sizeof(*f));
    f->n = n;
    f->ms = calloc(n ? n : 1, sizeof(*f->ms));
    f->calls = calloc(n ? n : 1, sizeof(*f->calls));
    f->owner = calloc(n ? n : 1, sizeof(*f->owner));
    return f->ms != NULL && f->calls != NULL && f->owner != NULL ? 0 : FO_ENOMEM;
}

static void fanout_free(struct fanout *f)
{
    size_t i;

    for (i = 0; i < f->ncalls; i++) fo_ctl_call_free(&f->calls[i]);
    free(f->ms);
    free(f->calls);
    free(f->owner);
    memset(f, 0, sizeof(*f));
}

/* Prepares a StatusReq call per member that has announced an admin address. */
static void fanout_start(struct fanout *f, const Fo__MembersResp *mr, struct fo_ctl_tls *tls)
{
    struct fo_ctl_request req;
    size_t i;

    fo_ctl_request_status(&req);
    for (i = 0; i < f->n; i++) {
        f->ms[i].member = mr->members[i];
        if (mr->members[i]->admin_address[0] == '\0') {
            snprintf(f->ms[i].error, sizeof(f->ms[i].error), "no admin address announced");
            continue;
        }
        f->owner[f->ncalls] = i;
        fo_ctl_call_init(&f->calls[f->ncalls++], mr->members[i]->admin_address, &req.req, tls);
    }
}

/* Turns one finished call into its member's row. */
static void judge(struct fo_ctl_member_status *m, const struct fo_ctl_call *c)
{
    const Fo__Response *r = c->resp;

    if (c->rc != 0) {
        snprintf(m->error, sizeof(m->error), "%s", c->err);
        return;
    }
    m->reachable = 1;
    if (r->code != 0)
        fo_errf(m->error, r->code, "%s: refused: %s", c->address,
                r->error[0] != '\0' ? r->error : fo_strerror(r->code));
    else if (r->body_case != FO__RESPONSE__BODY_STATUS)
        fo_errf(m->error, FO_EPROTO, "%s: bad reply: no status", c->address);
    else if (r->status->id != m->member->id)
        fo_errf(m->error, FO_EPROTO, "%s: answered as node %" PRIu64, c->address, r->status->id);
    else
        m->st = r->status;
}

/* The member that says it is leader; with several (a stale leader cut off from the
 * others still believes it), the one with the highest term. -1 if none. */
static long pick_leader(const struct fo_ctl_member_status *ms, size_t n)
{
    long best = -1;
    size_t i;

    for (i = 0; i < n; i++) {
        if (ms[i].st == NULL || strcmp(ms[i].st->state, "leader") != 0) continue;
        if (best < 0 || ms[i].st->term > ms[best].st->term) best = (long)i;
    }
    return best;
}

static int report(const struct fo_ctl_args *a, const struct fanout *f)
{
    struct fo_buf out;
    long leader = pick_leader(f->ms, f->n);
    int rc;

    fo_buf_init(&out);
    fo_ctl_render_status(&out, f->ms, f->n, leader, a->json);
    rc = fo_ctl_emit(a, &out, leader >= 0 ? FO_CTL_EXIT_OK : FO_CTL_EXIT_NOLEADER);
    fo_buf_free(&out);
    if (rc == FO_CTL_EXIT_NOLEADER) fprintf(stderr, "error: no member reports itself leader\n");
    return rc;
}

int fo_ctl_run_status(const struct fo_ctl_args *a, struct fo_ctl_tls *tls)
{
    struct fo_ctl_request req;
    struct fo_ctl_call members;
    struct fanout f;
    char msg[FO_ERRLEN];
    size_t i, n;
    int rc;

    fo_ctl_request_build(&req, a);
    /* The member list from the first controller that answers (fallback.h). */
    fo_ctl_call_args(&members, a, &req.req, tls);
    rc = fo_ctl_check_reply(a, &members, FO__RESPONSE__BODY_MEMBERS);
    if (rc != 0) goto out_members;
    n = members.resp->members->n_members;
    if (n > MAX_MEMBERS) {
        fo_errf(msg, FO_EPROTO, "%s: bad reply: %zu members (at most %d)", members.address, n, MAX_MEMBERS);
        rc = fo_ctl_fail(a, FO_CTL_EXIT_UNREACHABLE, FO_EPROTO, msg);
        goto out_members;
    }
    if (fanout_alloc(&f, n) != 0) {
        rc = fo_ctl_fail(a, FO_CTL_EXIT_FAILED, FO_ENOMEM, "out of memory");
        goto out_fanout;
    }
    fanout_start(&f, members.resp->members, tls);
    fo_ctl_rpc_run(f.calls, f.ncalls, a->timeout_ms);
    for (i = 0; i < f.ncalls; i++) judge(&f.ms[f.owner[i]], &f.calls[i]);
    rc = report(a, &f);
out_fanout:
    fanout_free(&f);
out_members:
    fo_ctl_call_free(&members);
    return rc;
}
