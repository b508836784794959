#include "controller/ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/log.h"
#include "failoverd.pb-c.h"

#define MOD "ctl"

uint64_t fo_ctl_wall_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

const char *fo_ctl_admin_address(struct fo_ctl *ctl, uint64_t id, char buf[FO_ADDR_LEN])
{
    struct fo_store_member m;
    unsigned i;

    if (fo_store_get_member(ctl->store, id, &m) == 0 && m.admin_address[0] != '\0') {
        snprintf(buf, FO_ADDR_LEN, "%s", m.admin_address);
        return buf;
    }
    for (i = 0; i < ctl->cfg.n_peers; i++) {
        if (ctl->cfg.peers[i].id == id) {
            snprintf(buf, FO_ADDR_LEN, "%s", ctl->cfg.peers[i].admin_address);
            return buf;
        }
    }
    return NULL;
}

struct propose_req {
    fo_ctl_propose_cb cb;
    void *data;
};

static void local_done(void *data, int status, int result)
{
    struct propose_req *p = data;
    fo_ctl_propose_cb cb = p->cb;
    void *cb_data = p->data;

    free(p);
    if (cb != NULL) cb(cb_data, status, result);
}

static void forwarded_done(void *data, int status, const char *error, Fo__Response *resp)
{
    struct propose_req *p = data;
    fo_ctl_propose_cb cb = p->cb;
    void *cb_data = p->data;

    (void)error;
    free(p);
    if (cb == NULL) return;
    if (status != 0)
        cb(cb_data, status, 0);
    else
        cb(cb_data, 0, resp->code);
}

int fo_ctl_propose(struct fo_ctl *ctl, Fo__Command *cmd, fo_ctl_propose_cb cb, void *data, char err[FO_ERRLEN])
{
    char addr_buf[FO_ADDR_LEN];
    const char *addr;
    struct propose_req *p;
    Fo__Request req;
    Fo__ProposeReq prop;
    uint8_t *buf;
    size_t len;
    uint64_t leader;
    int rc;

    if (ctl->stopping) return fo_errf(err, FO_ECANCELED, "shutting down");
    cmd->version = FO_COMMAND_VERSION;
    cmd->wall_ms = fo_ctl_wall_ms();
    cmd->origin = ctl->cfg.node_id;
    if ((p = calloc(1, sizeof(*p))) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    p->cb = cb;
    p->data = data;
    if (fo_raft_is_leader(&ctl->raft)) {
        len = fo__command__get_packed_size(cmd);
        if ((buf = malloc(len ? len : 1)) == NULL) {
            free(p);
            return fo_errf(err, FO_ENOMEM, "out of memory");
        }
        fo__command__pack(cmd, buf);
        rc = fo_raft_propose(&ctl->raft, buf, len, local_done, p, err);
        free(buf);
        if (rc != 0) {
            ctl->counters.proposal_failures++;
            free(p);
            return rc;
        }
        ctl->counters.proposals++;
        return 0;
    }
    leader = fo_raft_leader(&ctl->raft, NULL);
    if (leader == 0 || (addr = fo_ctl_admin_address(ctl, leader, addr_buf)) == NULL) {
        free(p);
        return fo_errf(err, FO_ENOLEADER, "no leader is known");
    }
    fo__request__init(&req);
    fo__propose_req__init(&prop);
    prop.command = cmd;
    req.forwarded = 1;
    req.body_case = FO__REQUEST__BODY_PROPOSE;
    req.propose = &prop;
    rc = fo_ctl_call(ctl, addr, &req, FO_CTL_FORWARD_TIMEOUT_MS, forwarded_done, p, err);
    if (rc != 0) free(p);
    return rc;
}

/* ------------------------------------------------------------------ hooks */

int fo_ctl_call(struct fo_ctl *ctl, const char *addr, const Fo__Request *req, unsigned timeout_ms, fo_ctl_call_cb cb,
                void *data, char err[FO_ERRLEN])
{
    if (ctl->hooks.call == NULL) return fo_errf(err, FO_ECANCELED, "shutting down");
    return ctl->hooks.call(ctl, addr, req, timeout_ms, cb, data, err);
}

void fo_ctl_evaluate(struct fo_ctl *ctl, const char *cluster)
{
    if (ctl->hooks.evaluate != NULL) ctl->hooks.evaluate(ctl, cluster);
}

void fo_ctl_leader_ready(struct fo_ctl *ctl)
{
    if (ctl->hooks.leader_ready != NULL) ctl->hooks.leader_ready(ctl);
}

void fo_ctl_leader_lost(struct fo_ctl *ctl)
{
    if (ctl->hooks.leader_lost != NULL) ctl->hooks.leader_lost(ctl);
}

void fo_ctl_tick(struct fo_ctl *ctl, uint64_t loop_lag_ms, int64_t clock_jump_ms)
{
    if (ctl->hooks.tick != NULL) ctl->hooks.tick(ctl, loop_lag_ms, clock_jump_ms);
}

bool fo_ctl_failover_running(struct fo_ctl *ctl, const char *cluster)
{
    return ctl->hooks.failover_running != NULL && ctl->hooks.failover_running(ctl, cluster);
}
