/* Keeping the topology safe between failovers (DESIGN.md §6, issue 3 "rejoin"):
 *  - a writable instance that is not the designated primary is set read_only=1;
 *  - an instance that does not replicate from the primary (a former primary coming
 *    back, or a replica left pointing at a dead source) is repointed with
 *    MASTER_USE_GTID=slave_pos (+ MASTER_DEMOTE_TO_SLAVE=1 if it has no source) --
 *    unless it has GTIDs the primary lacks: then it is quarantined, never rejoined
 *    silently, and `failoverctl why` / `topology` say so.
 * One operation per instance at a time, retried at most every RETRY_MS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "controller/failover_internal.h"
#include "controller/gtid.h"
#include "controller/monitor.h"
#include "controller/topology.h"

#define MOD "rejoin"
#define RETRY_MS 5000

struct rejoin_op {
    struct rejoin_op *next;
    struct fo_failover *fe;
    char cluster[FO_NAME_LEN];
    char host[FO_HOST_LEN];
    uint16_t port;
    uint64_t next_ms; /* monotonic: no new operation before */
    struct fo_sql *q;
    bool fence_only;
    bool cancelled;
    char what[64];
};

static struct rejoin_op *op_for(struct fo_failover *fe, const char *cluster, const char *host, uint16_t port)
{
    struct rejoin_op *op;

    for (op = fe->rejoins; op != NULL; op = op->next)
        if (op->port == port && strcmp(op->host, host) == 0 && strcmp(op->cluster, cluster) == 0) return op;
    if ((op = calloc(1, sizeof(*op))) == NULL) return NULL;
    op->fe = fe;
    snprintf(op->cluster, sizeof(op->cluster), "%s", cluster);
    snprintf(op->host, sizeof(op->host), "%s", host);
    op->port = port;
    op->next = fe->rejoins;
    fe->rejoins = op;
    return op;
}

static void op_unlink_free(struct rejoin_op *op)
{
    struct rejoin_op **pp = &op->fe->rejoins;

    while (*pp != NULL && *pp != op) pp = &(*pp)->next;
    if (*pp == op) *pp = op->next;
    free(op);
}

void fo_rejoin_cancel_all(struct fo_failover *fe)
{
    struct rejoin_op *op, *next;

    for (op = fe->rejoins; op != NULL; op = next) {
        next = op->next;
        if (op->q != NULL) {
            op->cancelled = true;
            fo_sql_cancel(op->q); /* its callback frees it */
        } else {
            op_unlink_free(op);
        }
    }
}

static void op_done(void *data, int status, unsigned myerrno, const char *error, const struct fo_sql_rows *rows)
{
    struct rejoin_op *op = data;
    char reason[600];

    (void)myerrno;
    (void)rows;
    op->q = NULL;
    if (op->cancelled) {
        op_unlink_free(op);
        return;
    }
    if (status != 0) {
        FO_WARN(MOD, "%s %s:%u: %s failed: %s", op->cluster, op->host, op->port, op->what, error);
        return;
    }
    snprintf(reason, sizeof(reason), "%s:%u %s", op->host, op->port, op->what);
    fo_fe_decision(op->fe, op->cluster, op->fence_only ? "fenced" : "rejoined", reason, op->host, op->port, false,
                   NULL);
    /* Look again once a fresh sample shows the effect (a fenced server may need a
     * rejoin too). */
    op->next_ms = uv_now(op->fe->ctl->loop) + 2u * op->fe->ctl->cfg.probe.interval_ms;
}

static void run_op(struct rejoin_op *op, const struct fo_store_cluster *c, const char *const *stmts, unsigned n)
{
    struct fo_ctl *ctl = op->fe->ctl;
    struct fo_sql_opts opts;
    char pw[256], err[FO_ERRLEN];

    if (fo_fe_read_secret(c->password_file, pw, sizeof(pw), err) != 0) {
        FO_WARN(MOD, "%s: %s", c->name, err);
        return;
    }
    memset(&opts, 0, sizeof(opts));
    opts.connect_timeout_ms = ctl->cfg.probe.connect_timeout_ms;
    opts.timeout_ms = ctl->cfg.failover.step_timeout_ms;
    op->q = fo_sql_run(ctl->loop, op->host, op->port, c->user, pw, stmts, n, &opts, op_done, op);
    memset(pw, 0, sizeof(pw));
}

/* Highest seqno per domain over both of the primary's positions. */
static int primary_pos(const struct fo_sample *ps, struct fo_mariadb_pos *out)
{
    struct fo_mariadb_pos cur;
    unsigned i, j;

    if (fo_gtid_mariadb_parse(ps->gtid_binlog_pos, out, NULL) != 0) return -1;
    if (fo_gtid_mariadb_parse(ps->gtid_current_pos, &cur, NULL) != 0) return -1;
    for (i = 0; i < cur.n; i++) {
        for (j = 0; j < out->n && out->g[j].domain != cur.g[i].domain; j++) {
        }
        if (j == out->n && out->n < FO_GTID_MAX)
            out->g[out->n++] = cur.g[i];
        else if (j < out->n && cur.g[i].seqno > out->g[j].seqno)
            out->g[j] = cur.g[i];
    }
    return 0;
}

/* What the instance has that the primary lacks, as text; "" if nothing. */
static void errant(const struct fo_sample *s, const struct fo_mariadb_pos *prim, char *out, size_t n)
{
    struct fo_mariadb_pos mine;
    unsigned i, j;
    size_t off = 0;

    out[0] = '\0';
    if (fo_gtid_mariadb_parse(s->gtid_binlog_pos, &mine, NULL) != 0) {
        snprintf(out, n, "unparsable gtid_binlog_pos");
        return;
    }
    for (i = 0; i < mine.n; i++) {
        for (j = 0; j < prim->n && prim->g[j].domain != mine.g[i].domain; j++) {
        }
        if (j < prim->n && mine.g[i].seqno <= prim->g[j].seqno) continue;
        int k = snprintf(out + off, n - off, "%s%u-%u-%llu", off ? "," : "", mine.g[i].domain, mine.g[i].server,
                         (unsigned long long)mine.g[i].seqno);
        if (k < 0 || (size_t)k >= n - off) break;
        off += (size_t)k;
    }
}

static void quarantine(struct fo_failover *fe, const struct fo_store_cluster *c, const struct fo_store_instance *i,
                       const char *what)
{
    char reason[512], err[FO_ERRLEN];
    Fo__Command cmd;
    Fo__Quarantine q;

    snprintf(reason, sizeof(reason),
             "has transactions the primary %s:%u lacks (%s); not rejoined: a DBA must "
             "reconcile it",
             c->primary_host, c->primary_port, what);
    fo__command__init(&cmd);
    fo__quarantine__init(&q);
    q.cluster = (char *)c->name;
    q.host = (char *)i->host;
    q.port = i->port;
    q.on = 1;
    q.reason = reason;
    cmd.body_case = FO__COMMAND__BODY_QUARANTINE;
    cmd.quarantine = &q;
    if (fo_ctl_propose(fe->ctl, &cmd, NULL, NULL, err) != 0) FO_WARN(MOD, "quarantine: %s", err);
    fo_fe_decision(fe, c->name, "quarantined", reason, i->host, i->port, false, NULL);
}

struct check_ctx {
    struct fo_failover *fe;
    const struct fo_store_cluster *c;
    struct fo_mariadb_pos prim;
    bool prim_ok;
};

static bool source_ok(const struct check_ctx *cx, const struct fo_sample *s)
{
    struct fo_store_instance src;

    if (!s->is_replica) return false;
    if (strcmp(s->master_host, cx->c->primary_host) == 0 && s->master_port == cx->c->primary_port) return true;
    /* Chains are allowed: replicating from another member that is a replica. */
    return fo_store_get_instance(cx->fe->ctl->store, cx->c->name, s->master_host, s->master_port, &src) == 0 &&
           src.role == FO_ROLE_REPLICA;
}

static void repoint(struct rejoin_op *op, const struct fo_store_cluster *c, bool demote)
{
    char change[1024], h[FO_HOST_LEN * 2 + 4], u[FO_NAME_LEN * 2 + 4], qpw[520], pw[256], err[FO_ERRLEN];
    const char *stmts[4];
    unsigned n = 0;

    if (c->repl_user[0] == '\0' || c->repl_password_file[0] == '\0' ||
        fo_fe_read_secret(c->repl_password_file, pw, sizeof(pw), err) != 0) {
        char reason[256];
        snprintf(reason, sizeof(reason),
                 "%s:%u does not replicate from the primary and cannot be repointed: "
                 "repl_user / repl_password_file not configured or unreadable",
                 op->host, op->port);
        fo_fe_decision(op->fe, c->name, "cannot_rejoin", reason, op->host, op->port, true, NULL);
        return;
    }
    if (fo_sql_quote(c->primary_host, h, sizeof(h)) != 0 || fo_sql_quote(c->repl_user, u, sizeof(u)) != 0 ||
        fo_sql_quote(pw, qpw, sizeof(qpw)) != 0)
        return;
    snprintf(change, sizeof(change),
             "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%u, MASTER_USER=%s, MASTER_PASSWORD=%s, "
             "MASTER_USE_GTID=slave_pos%s",
             h, c->primary_port, u, qpw, demote ? ", MASTER_DEMOTE_TO_SLAVE=1" : "");
    stmts[n++] = "STOP SLAVE";
    stmts[n++] = change;
    if (c->semi_sync) stmts[n++] = "SET GLOBAL rpl_semi_sync_slave_enabled=1";
    stmts[n++] = "START SLAVE";
    op->fence_only = false;
    snprintf(op->what, sizeof(op->what), "repointed to the primary%s", demote ? " (demoted former primary)" : "");
    run_op(op, c, stmts, n);
    memset(pw, 0, sizeof(pw));
    memset(qpw, 0, sizeof(qpw));
    memset(change, 0, sizeof(change));
}

static int check_instance(void *data, const struct fo_store_instance *i)
{
    static const char *const fence[] = {"SET GLOBAL read_only=1"};
    struct check_ctx *cx = data;
    struct fo_failover *fe = cx->fe;
    struct rejoin_op *op;
    struct fo_watch_view v;
    char what[256];
    uint64_t now = uv_now(fe->ctl->loop);

    if (strcmp(i->host, cx->c->primary_host) == 0 && i->port == cx->c->primary_port) return 0;
    if (i->maintenance || i->quarantined) return 0;
    if (!fo_monitor_view(fe->ctl, i->cluster, i->host, i->port, &v) || !v.last_ok || !v.has_sample) return 0;
    if (v.sample->read_only && source_ok(cx, v.sample)) return 0; /* a healthy replica */
    if ((op = op_for(fe, i->cluster, i->host, i->port)) == NULL || op->q != NULL) return 0;
    if (now < op->next_ms) return 0;
    op->next_ms = now + RETRY_MS;
    if (!v.sample->read_only) {
        op->fence_only = true;
        snprintf(op->what, sizeof(op->what), "was writable but is not the primary: set read_only=1");
        run_op(op, cx->c, fence, 1);
        return 0;
    }
    if (!cx->prim_ok) return 0; /* cannot judge errant GTIDs without the primary's position */
    errant(v.sample, &cx->prim, what, sizeof(what));
    if (what[0] != '\0') {
        quarantine(fe, cx->c, i, what);
        return 0;
    }
    repoint(op, cx->c, !v.sample->is_replica);
    return 0;
}

void fo_rejoin_check(struct fo_failover *fe, const struct fo_store_cluster *c, uint64_t quiet_until)
{
    struct check_ctx cx = {.fe = fe, .c = c};
    struct fo_watch_view pv;

    /* Right after a failover the samples still show the old topology: wait for fresh
     * ones before judging anybody. */
    if (uv_now(fe->ctl->loop) < quiet_until) return;
    if (!fo_monitor_view(fe->ctl, c->name, c->primary_host, c->primary_port, &pv) || !pv.has_sample) return;
    cx.prim_ok = primary_pos(pv.sample, &cx.prim) == 0;
    fo_store_each_instance(fe->ctl->store, c->name, check_instance, &cx);
}
