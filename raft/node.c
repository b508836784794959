#include "raft/node.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"

#define MOD "raft"

/* ------------------------------------------------------------------ FSM */

/* Log entries carry one encoded fo.Command inside a small envelope, because libraft's
 * uv backend requires every entry to be a multiple of 8 bytes long:
 *   bytes 0-3  "FOC1" (envelope format 1)
 *   bytes 4-7  command length, unsigned 32-bit little-endian
 *   then the command, then zero padding to a multiple of 8. */
#define ENTRY_MAGIC "FOC1"
#define ENTRY_HDR 8

static size_t entry_size(size_t len)
{
    return (ENTRY_HDR + len + 7) & ~(size_t)7;
}

static int entry_unwrap(const struct raft_buffer *buf, const uint8_t **cmd, size_t *len)
{
    const uint8_t *p = buf->base;
    uint32_t n;

    if (buf->len < ENTRY_HDR || memcmp(p, ENTRY_MAGIC, 4) != 0) return FO_EPROTO;
    n = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
    if (n > buf->len - ENTRY_HDR) return FO_EPROTO;
    *cmd = p + ENTRY_HDR;
    *len = n;
    return 0;
}

/* Applies one committed entry. Deterministic and infallible as libraft requires:
 * a command the store refuses is still "applied" (it changed nothing) and the
 * refusal travels back to the proposer in *result. */
static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct fo_raft *r = fsm->data;
    char err[FO_ERRLEN];
    const uint8_t *cmd;
    size_t len;
    int rc;

    rc = entry_unwrap(buf, &cmd, &len);
    if (rc == 0)
        rc = fo_store_apply(r->store, cmd, len, err);
    else
        snprintf(err, sizeof(err), "malformed log entry envelope");
    if (rc == FO_ESTORE || rc == FO_ENOMEM) {
        /* The local database failed, not the command: this node's copy may now differ
         * from the others. Stop; on restart the store is rebuilt from raft. */
        FO_ERROR(MOD, "store failed while applying a committed entry: %s; exiting", err);
        abort();
    }
    r->applied_count++;
    if (rc != 0) {
        r->apply_errors++;
        FO_DEBUG(MOD, "command refused by the store: %s", err);
    }
    *result = (void *)(intptr_t)rc;
    return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct fo_raft *r = fsm->data;
    char err[FO_ERRLEN];
    uint8_t *data;
    size_t len;
    void *copy;

    if (fo_store_serialize(r->store, &data, &len, err) != 0) {
        FO_ERROR(MOD, "snapshot: %s", err);
        return RAFT_NOMEM;
    }
    *bufs = raft_malloc(sizeof(**bufs));
    copy = raft_malloc(len > 0 ? len : 1);
    if (*bufs == NULL || copy == NULL) {
        raft_free(*bufs);
        raft_free(copy);
        free(data);
        return RAFT_NOMEM;
    }
    memcpy(copy, data, len);
    free(data);
    (*bufs)[0].base = copy;
    (*bufs)[0].len = len;
    *n_bufs = 1;
    FO_INFO(MOD, "snapshot taken (%zu bytes)", len);
    return 0;
}

/* On success the FSM owns buf->base (libraft's convention), so it frees it. */
static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct fo_raft *r = fsm->data;
    char err[FO_ERRLEN];

    if (fo_store_restore(r->store, buf->base, buf->len, err) != 0) {
        FO_ERROR(MOD, "restore snapshot: %s", err);
        return RAFT_MALFORMED;
    }
    FO_INFO(MOD, "store restored from snapshot (%zu bytes)", buf->len);
    raft_free(buf->base);
    return 0;
}

/* ------------------------------------------------------------------ start / close */

static int mkdir_p(const char *path, char err[FO_ERRLEN])
{
    char tmp[FO_PATH_LEN + 16];
    char *p;
    int n;

    n = snprintf(tmp, sizeof(tmp), "%s", path);
    if (n < 0 || (size_t)n >= sizeof(tmp)) return fo_errf(err, FO_EINVAL, "path too long: %s", path);
    for (p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return fo_errf(err, FO_EIO, "mkdir %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return fo_errf(err, FO_EIO, "mkdir %s: %s", tmp, strerror(errno));
    return 0;
}

static int bootstrap(struct fo_raft *r, const struct fo_config *cfg, char err[FO_ERRLEN])
{
    struct raft_configuration conf;
    bool listed = false;
    unsigned i;
    int rv;

    for (i = 0; i < cfg->n_peers; i++)
        if (cfg->peers[i].id == cfg->node_id) listed = true;
    if (!listed) {
        FO_INFO(MOD, "node %llu is not an initial peer: waiting to be added (failoverctl member add)",
                (unsigned long long)cfg->node_id);
        return 0;
    }
    raft_configuration_init(&conf);
    for (i = 0; i < cfg->n_peers; i++) {
        rv = raft_configuration_add(&conf, cfg->peers[i].id, cfg->peers[i].raft_address, RAFT_VOTER);
        if (rv != 0) {
            raft_configuration_close(&conf);
            return fo_errf(err, FO_ERAFT, "raft configuration: %s", raft_strerror(rv));
        }
    }
    rv = raft_bootstrap(&r->raft, &conf);
    raft_configuration_close(&conf);
    if (rv == RAFT_CANTBOOTSTRAP) return 0; /* already has state: normal restart */
    if (rv != 0) return fo_errf(err, FO_ERAFT, "raft bootstrap: %s", raft_errmsg(&r->raft));
    FO_INFO(MOD, "bootstrapped a %u-voter configuration", cfg->n_peers);
    return 0;
}

/* The transport's membership check (raft/transport.h): an incoming peer must be in
 * the latest raft configuration, under the address recorded there (libraft takes
 * the leader's address from the connection it came on). A node that has no
 * configuration yet (started empty, waiting for `member add`) cannot know its
 * members and accepts any authenticated controller: the leader that adds it. */
static bool is_member(void *data, uint64_t id, const char *address)
{
    struct fo_raft *r = data;
    const struct raft_configuration *conf = &r->raft.configuration;
    unsigned i;

    if (conf->n == 0) return true;
    for (i = 0; i < conf->n; i++)
        if (conf->servers[i].id == id) return strcmp(conf->servers[i].address, address) == 0;
    return false;
}

/* Raft over mutual TLS with the node's [tls] files (DESIGN.md §10): only controller
 * certificates are accepted, and ours must bind our own node id, which is what
 * every peer checks. insecure = yes: plain TCP, with the same frame checks and
 * budgets but no identities.
 *
 * The process reads its [tls] files once (issue 10): failoverd's main makes this
 * context from the files it loaded (fo_tls_ctx_from_files, controller role) and hands
 * it over in r->tls before fo_raft_start, which then owns it. A caller that hands
 * none over gets one loaded from cfg's paths here, as before. */
static int transport_start(struct fo_raft *r, const struct fo_config *cfg, char err[FO_ERRLEN])
{
    struct fo_raft_transport_opts o;
    uint64_t mine = 0;
    int rc = 0;

    memset(&o, 0, sizeof(o));
    if (cfg->tls.insecure) {
        fo_tls_ctx_free(r->tls); /* a TLS context handed over means nothing here */
        r->tls = NULL;
        rc = fo_tls_ctx_new_plain(&r->tls, err);
    } else {
        if (r->tls == NULL)
            rc = fo_tls_ctx_new(&r->tls, cfg->tls.ca_file, cfg->tls.cert_file, cfg->tls.key_file,
                                FO_TLS_ROLE_CONTROLLER, err);
        if (rc == 0 && (rc = fo_tls_ctx_node_id(r->tls, &mine)) != 0)
            rc = fo_errf(err, FO_ECONFIG, "raft: %s: %s", cfg->tls.cert_file, fo_tls_node_id_why(rc));
        else if (rc == 0 && mine != cfg->node_id)
            rc = fo_errf(err, FO_ECONFIG, "raft: %s binds node id %llu, but node_id = %llu", cfg->tls.cert_file,
                         (unsigned long long)mine, (unsigned long long)cfg->node_id);
    }
    if (rc == 0) rc = fo_tls_ctx_set_handshake_timeout(r->tls, FO_RAFT_TR_HANDSHAKE_MS);
    /* Snapshots go out in one libraft write: room above the transport's high-water mark. */
    if (rc == 0) rc = fo_tls_ctx_set_max_pending(r->tls, 4u << 20);
    if (rc != 0) goto err_after_ctx;
    o.tls = r->tls;
    o.secure = !cfg->tls.insecure;
    o.member_cb = is_member;
    o.member_data = r;
    r->transport.data = NULL;
    if ((rc = fo_raft_transport_init(&r->transport, r->loop, &o, err)) != 0) goto err_after_ctx;
    if (cfg->tls.insecure)
        FO_WARN(MOD,
                "[tls] insecure = yes: raft runs over plain TCP, and anyone who can reach %s can claim to be "
                "a member",
                cfg->raft_address);
    return 0;

err_after_ctx:
    fo_tls_ctx_free(r->tls);
    r->tls = NULL;
    return rc == FO_EINVAL ? FO_ECONFIG : rc;
}

int fo_raft_start(struct fo_raft *r, uv_loop_t *loop, const struct fo_config *cfg, struct fo_store *store,
                  char err[FO_ERRLEN])
{
    struct fo_tls_ctx *given = r->tls; /* handed over by the caller (transport_start) */
    char dir[FO_PATH_LEN + 16];
    int rv, n;

    memset(r, 0, sizeof(*r));
    r->tls = given;
    r->loop = loop;
    r->store = store;
    r->id = cfg->node_id;
    n = snprintf(dir, sizeof(dir), "%s/raft", cfg->data_dir);
    if (n < 0 || (size_t)n >= sizeof(dir)) {
        rv = fo_errf(err, FO_EINVAL, "data_dir too long");
        goto err_before_transport;
    }
    if ((rv = mkdir_p(dir, err)) != 0) goto err_before_transport;

    r->fsm.version = 1;
    r->fsm.data = r;
    r->fsm.apply = fsm_apply;
    r->fsm.snapshot = fsm_snapshot;
    r->fsm.restore = fsm_restore;

    if ((rv = transport_start(r, cfg, err)) != 0) return rv;
    if ((rv = raft_uv_init(&r->io, loop, dir, &r->transport)) != 0) {
        fo_errf(err, FO_ERAFT, "raft io (%s): %s", dir, r->io.errmsg);
        goto err_after_transport;
    }
    raft_uv_set_connect_retry_delay(&r->io, 200);
    if ((rv = raft_init(&r->raft, &r->io, &r->fsm, cfg->node_id, cfg->raft_address)) != 0) {
        fo_errf(err, FO_ERAFT, "raft init: %s", raft_errmsg(&r->raft));
        goto err_after_io;
    }
    raft_set_election_timeout(&r->raft, cfg->election_timeout_ms);
    raft_set_heartbeat_timeout(&r->raft, cfg->heartbeat_timeout_ms);
    raft_set_snapshot_threshold(&r->raft, cfg->snapshot_threshold);
    raft_set_snapshot_trailing(&r->raft, cfg->snapshot_trailing);
    raft_set_pre_vote(&r->raft, true);
    if ((rv = bootstrap(r, cfg, err)) != 0) goto err_after_raft;
    if ((rv = raft_start(&r->raft)) != 0) {
        fo_errf(err, FO_ERAFT, "raft start: %s", raft_errmsg(&r->raft));
        rv = FO_ERAFT;
        goto err_after_raft;
    }
    r->started = true;
    uv_idle_init(loop, &r->close_idle);
    r->close_idle.data = r;
    return 0;

err_after_raft:
    /* raft_init succeeded: it must be closed asynchronously; run the loop briefly. */
    raft_close(&r->raft, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return rv ? rv : FO_ERAFT;
err_after_io:
    raft_uv_close(&r->io);
err_after_transport:
    fo_raft_transport_free(&r->transport);
    fo_tls_ctx_free(r->tls);
    r->tls = NULL;
    return FO_ERAFT;
err_before_transport:
    fo_tls_ctx_free(r->tls); /* ours from the start, whatever happens */
    r->tls = NULL;
    return rv;
}

static void raft_closed_cb(struct raft *raft)
{
    struct fo_raft *r = raft->data;

    raft_uv_close(&r->io);
    fo_raft_transport_free(&r->transport);
    fo_tls_ctx_free(r->tls);
    r->tls = NULL;
    uv_close((uv_handle_t *)&r->close_idle, NULL);
    if (r->closed_cb != NULL) r->closed_cb(r->closed_data);
}

static void close_idle_cb(uv_idle_t *idle)
{
    struct fo_raft *r = idle->data;

    uv_idle_stop(idle);
    r->raft.data = r;
    raft_close(&r->raft, raft_closed_cb);
}

void fo_raft_close(struct fo_raft *r, void (*closed_cb)(void *data), void *data)
{
    if (r->closing) return;
    r->closing = true;
    r->closed_cb = closed_cb;
    r->closed_data = data;
    /* Deferred so that a caller inside a raft callback never closes raft there. */
    uv_idle_start(&r->close_idle, close_idle_cb);
}

/* ------------------------------------------------------------------ queries */

bool fo_raft_is_leader(struct fo_raft *r)
{
    return r->started && !r->closing && raft_state(&r->raft) == RAFT_LEADER;
}

bool fo_raft_is_ready(struct fo_raft *r)
{
    return fo_raft_is_leader(r) && r->ready_term == raft_current_term(&r->raft);
}

uint64_t fo_raft_leader(struct fo_raft *r, const char **address)
{
    raft_id id = 0;
    const char *addr = NULL;

    if (r->started) raft_leader(&r->raft, &id, &addr);
    if (address != NULL) *address = addr;
    return id;
}

const char *fo_raft_state_name(struct fo_raft *r)
{
    if (!r->started || r->closing) return "unavailable";
    switch (raft_state(&r->raft)) {
    case RAFT_LEADER: return "leader";
    case RAFT_FOLLOWER: return "follower";
    case RAFT_CANDIDATE: return "candidate";
    default: return "unavailable";
    }
}

const char *fo_raft_role_name(struct fo_raft *r, uint64_t id)
{
    unsigned i;

    if (!r->started) return "none";
    for (i = 0; i < r->raft.configuration.n; i++) {
        if (r->raft.configuration.servers[i].id != id) continue;
        switch (r->raft.configuration.servers[i].role) {
        case RAFT_VOTER: return "voter";
        case RAFT_STANDBY: return "standby";
        case RAFT_SPARE: return "spare";
        default: return "none";
        }
    }
    return "none";
}

static int map_raft_err(int rv)
{
    switch (rv) {
    case 0: return 0;
    case RAFT_NOTLEADER:
    case RAFT_LEADERSHIPLOST: return FO_ENOTLEADER;
    case RAFT_CANCELED:
    case RAFT_SHUTDOWN: return FO_ECANCELED;
    case RAFT_NOMEM: return FO_ENOMEM;
    case RAFT_BADID:
    case RAFT_DUPLICATEID:
    case RAFT_DUPLICATEADDRESS:
    case RAFT_BADROLE: return FO_EINVAL;
    case RAFT_NOTFOUND: return FO_ENOTFOUND;
    default: return FO_ERAFT;
    }
}

/* ------------------------------------------------------------------ apply / barrier */

struct apply_req {
    struct raft_apply req;
    struct fo_raft *r;
    fo_raft_apply_cb cb;
    void *data;
};

static void apply_done(struct raft_apply *req, int status, void *result)
{
    struct apply_req *a = req->data;
    fo_raft_apply_cb cb = a->cb;
    void *data = a->data;
    int res = status == 0 ? (int)(intptr_t)result : 0;

    a->r->pending--;
    free(a);
    cb(data, map_raft_err(status), res);
}

int fo_raft_propose(struct fo_raft *r, const uint8_t *cmd, size_t len, fo_raft_apply_cb cb, void *data,
                    char err[FO_ERRLEN])
{
    struct raft_buffer buf;
    struct apply_req *a;
    int rv;

    if (!fo_raft_is_leader(r)) return fo_errf(err, FO_ENOTLEADER, "not the leader");
    /* Every refusal that allocates nothing comes before the allocations. */
    if (len > UINT32_MAX - 16) return fo_errf(err, FO_ETOOBIG, "command too large (%zu bytes)", len);
    a = calloc(1, sizeof(*a));
    buf.len = entry_size(len);
    buf.base = raft_calloc(1, buf.len);
    if (a == NULL || buf.base == NULL) {
        free(a);
        raft_free(buf.base);
        return fo_errf(err, FO_ENOMEM, "out of memory");
    }
    memcpy(buf.base, ENTRY_MAGIC, 4);
    ((uint8_t *)buf.base)[4] = (uint8_t)len;
    ((uint8_t *)buf.base)[5] = (uint8_t)(len >> 8);
    ((uint8_t *)buf.base)[6] = (uint8_t)(len >> 16);
    ((uint8_t *)buf.base)[7] = (uint8_t)(len >> 24);
    memcpy((uint8_t *)buf.base + ENTRY_HDR, cmd, len);
    a->r = r;
    a->cb = cb;
    a->data = data;
    a->req.data = a;
    rv = raft_apply(&r->raft, &a->req, &buf, 1, apply_done);
    if (rv != 0) {
        /* libraft 0.22 may already have released buf.base when it fails after the
         * entry reached its in-memory log, and it does not say which case occurred;
         * a rare small leak is the safe side of that ambiguity. */
        free(a);
        return fo_errf(err, map_raft_err(rv), "raft apply: %s", raft_strerror(rv));
    }
    r->pending++;
    return 0;
}

struct done_req {
    uint64_t term; /* term when issued (barriers) */
    union {
        struct raft_barrier barrier;
        struct raft_change change;
        struct raft_transfer transfer;
    } u;
    struct fo_raft *r;
    uint64_t id;
    fo_raft_done_cb cb;
    void *data;
};

static struct done_req *done_new(struct fo_raft *r, uint64_t id, fo_raft_done_cb cb, void *data)
{
    struct done_req *d = calloc(1, sizeof(*d));

    if (d == NULL) return NULL;
    d->r = r;
    d->id = id;
    d->cb = cb;
    d->data = data;
    return d;
}

static void done_finish(struct done_req *d, int status)
{
    fo_raft_done_cb cb = d->cb;
    void *data = d->data;

    d->r->pending--;
    free(d);
    cb(data, status);
}

static void barrier_done(struct raft_barrier *req, int status)
{
    struct done_req *d = req->data;
    struct fo_raft *r = d->r;

    if (status == 0 && raft_state(&r->raft) == RAFT_LEADER && raft_current_term(&r->raft) == d->term)
        r->ready_term = d->term;
    done_finish(d, map_raft_err(status));
}

int fo_raft_barrier(struct fo_raft *r, fo_raft_done_cb cb, void *data, char err[FO_ERRLEN])
{
    struct done_req *d;
    int rv;

    if (!fo_raft_is_leader(r)) return fo_errf(err, FO_ENOTLEADER, "not the leader");
    if ((d = done_new(r, 0, cb, data)) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    d->term = raft_current_term(&r->raft);
    d->u.barrier.data = d;
    if ((rv = raft_barrier(&r->raft, &d->u.barrier, barrier_done)) != 0) {
        free(d);
        return fo_errf(err, map_raft_err(rv), "raft barrier: %s", raft_strerror(rv));
    }
    r->pending++;
    return 0;
}

/* ------------------------------------------------------------------ membership */

static void assign_done(struct raft_change *req, int status)
{
    struct done_req *d = req->data;

    if (status == 0)
        FO_INFO(MOD, "member %llu is now a voter", (unsigned long long)d->id);
    else
        FO_WARN(MOD, "promoting member %llu failed: %s", (unsigned long long)d->id, raft_strerror(status));
    done_finish(d, map_raft_err(status));
}

/* Step 2 of member add: the spare is promoted; libraft catches it up (log entries or
 * a snapshot) before the configuration with it as voter is appended. */
static void add_done(struct raft_change *req, int status)
{
    struct done_req *d = req->data;
    int rv;

    if (status != 0) {
        done_finish(d, map_raft_err(status));
        return;
    }
    FO_INFO(MOD, "member %llu added as spare; catching up", (unsigned long long)d->id);
    memset(&d->u.change, 0, sizeof(d->u.change));
    d->u.change.data = d;
    rv = raft_assign(&d->r->raft, &d->u.change, d->id, RAFT_VOTER, assign_done);
    if (rv != 0) {
        FO_WARN(MOD, "promoting member %llu: %s", (unsigned long long)d->id, raft_strerror(rv));
        done_finish(d, map_raft_err(rv));
    }
}

int fo_raft_member_add(struct fo_raft *r, uint64_t id, const char *address, fo_raft_done_cb cb, void *data,
                       char err[FO_ERRLEN])
{
    struct done_req *d;
    int rv;

    if (!fo_raft_is_leader(r)) return fo_errf(err, FO_ENOTLEADER, "not the leader");
    if ((rv = fo_parse_ipv4_port(address, err)) != 0) return rv;
    if ((d = done_new(r, id, cb, data)) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    d->u.change.data = d;
    if ((rv = raft_add(&r->raft, &d->u.change, id, address, add_done)) != 0) {
        free(d);
        return fo_errf(err, map_raft_err(rv), "raft add %llu %s: %s", (unsigned long long)id, address,
                       raft_strerror(rv));
    }
    r->pending++;
    return 0;
}

static void remove_done(struct raft_change *req, int status)
{
    done_finish(req->data, map_raft_err(status));
}

int fo_raft_member_remove(struct fo_raft *r, uint64_t id, fo_raft_done_cb cb, void *data, char err[FO_ERRLEN])
{
    struct done_req *d;
    int rv;

    if (!fo_raft_is_leader(r)) return fo_errf(err, FO_ENOTLEADER, "not the leader");
    if ((d = done_new(r, id, cb, data)) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    d->u.change.data = d;
    if ((rv = raft_remove(&r->raft, &d->u.change, id, remove_done)) != 0) {
        free(d);
        return fo_errf(err, map_raft_err(rv), "raft remove %llu: %s", (unsigned long long)id, raft_strerror(rv));
    }
    r->pending++;
    return 0;
}

static void transfer_done(struct raft_transfer *req)
{
    struct done_req *d = req->data;
    raft_id leader = 0;
    const char *addr = NULL;

    raft_leader(&d->r->raft, &leader, &addr);
    done_finish(d, (d->id == 0 ? leader != d->r->id : leader == d->id) ? 0 : FO_ETIMEDOUT);
}

int fo_raft_transfer(struct fo_raft *r, uint64_t id, fo_raft_done_cb cb, void *data, char err[FO_ERRLEN])
{
    struct done_req *d;
    int rv;

    if (!fo_raft_is_leader(r)) return fo_errf(err, FO_ENOTLEADER, "not the leader");
    if (id == r->id) return fo_errf(err, FO_EINVAL, "node %llu is already the leader", (unsigned long long)id);
    if ((d = done_new(r, id, cb, data)) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    d->u.transfer.data = d;
    if ((rv = raft_transfer(&r->raft, &d->u.transfer, id, transfer_done)) != 0) {
        free(d);
        return fo_errf(err, map_raft_err(rv), "raft transfer to %llu: %s", (unsigned long long)id, raft_strerror(rv));
    }
    r->pending++;
    return 0;
}
