/* Relayed lease renewals (docs/relayed-lease.md): the token's signature (common/tls.h
 * fo_tls_files_sign / fo_tls_ctx_verify_signed), the agent's judgement of a relayed
 * renewal (agent/relay.c fo_agent_relay_open / fo_agent_relay_accept) and the pure
 * pieces under it (agent/lease.h nonces and fo_lease_renew_relayed). Certificates are
 * made at test time by deploy/gen-certs.sh: the cluster CA with a controller and two
 * agents, and a second CA with a controller of its own (a stranger). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/server_internal.h"
#include "common/tls.h"
#include "lib/testcheck.h"

#define PATHLEN 512

static struct {
    bool made, ok;
    char dir[FO_TEST_DIRLEN], other[PATHLEN];
} g;

static void path(char *out, const char *dir, const char *name, const char *ext)
{
    if (snprintf(out, PATHLEN, "%s/%s%s", dir, name, ext) >= PATHLEN) out[0] = '\0';
}

static bool gen(const char *out_dir, char *const *entries, unsigned n)
{
    const char *src = getenv("FO_SOURCE_DIR"), *me = __FILE__, *tail = "/tests/unit/test_relay_token.c";
    size_t ml = strlen(me), tl = strlen(tail);
    char script[PATHLEN], root[PATHLEN], log[PATHLEN];
    char *argv[12];
    unsigned i, k = 0;

    if (src != NULL && src[0] != '\0')
        snprintf(root, sizeof root, "%s", src);
    else if (ml > tl && strcmp(me + ml - tl, tail) == 0)
        snprintf(root, sizeof root, "%.*s", (int)(ml - tl), me);
    else
        snprintf(root, sizeof root, ".");
    path(script, root, "deploy/gen-certs", ".sh");
    if (access(script, X_OK) != 0) return false;
    argv[k++] = script;
    argv[k++] = "--out";
    argv[k++] = (char *)out_dir;
    for (i = 0; i < n && k < 11; i++) argv[k++] = entries[i];
    argv[k] = NULL;
    path(log, out_dir, "gen-certs", ".log");
    if (fo_test_run_cmd(argv, log, 30000) != 0) {
        fo_test_print_tail(log);
        return false;
    }
    return true;
}

static bool certs(void)
{
    static char *const ours[] = {"controller:ctl1,127.0.0.1", "agent:db1,127.0.0.1", "agent:db2,127.0.0.2"};
    static char *const theirs[] = {"controller:evil,127.0.0.1"};

    if (g.made) return g.ok;
    g.made = true;
    if (fo_test_tmpdir(g.dir, sizeof g.dir, "relay") != 0) return false;
    path(g.other, g.dir, "other", "");
    g.ok = gen(g.dir, ours, 3) && gen(g.other, theirs, 1);
    return g.ok;
}

static struct fo_tls_files *files_of(const char *dir, const char *name)
{
    char ca[PATHLEN], crt[PATHLEN], key[PATHLEN], err[FO_ERRLEN];
    struct fo_tls_files *f = NULL;

    path(ca, dir, "ca", ".crt");
    path(crt, dir, name, ".crt");
    path(key, dir, name, ".key");
    if (fo_tls_files_load(&f, ca, crt, key, err) != 0) fprintf(stderr, "  load %s: %s\n", name, err);
    return f;
}

/* ------------------------------------------------------------------ a signed RelayRenew */

struct signed_msg {
    uint8_t *tok, *sig, *der[4];
    size_t tok_len, sig_len, der_len[4];
    ProtobufCBinaryData chain[4];
    Fo__Agent__RelayRenew m;
};

static const uint8_t NONCE[FO_LEASE_NONCE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void token(Fo__Agent__RelayToken *k, uint64_t epoch, uint64_t term)
{
    fo__agent__relay_token__init(k);
    k->version = 1;
    k->cluster = "demo";
    k->vip = "10.0.0.100";
    k->epoch = epoch;
    k->lease_ms = 2000;
    k->term = term;
    k->host = "127.0.0.1";
    k->nonce = (ProtobufCBinaryData){sizeof NONCE, (uint8_t *)NONCE};
}

/* Packs k and signs it as signer (with context), chain included. */
static bool sign_msg(struct signed_msg *s, struct fo_tls_files *signer, const Fo__Agent__RelayToken *k,
                     const char *context)
{
    char err[FO_ERRLEN];
    unsigned i;

    memset(s, 0, sizeof *s);
    s->tok_len = fo__agent__relay_token__get_packed_size(k);
    s->tok = malloc(s->tok_len);
    fo__agent__relay_token__pack(k, s->tok);
    if (fo_tls_files_sign(signer, context, s->tok, s->tok_len, &s->sig, &s->sig_len, err) != 0) {
        fprintf(stderr, "  sign: %s\n", err);
        return false;
    }
    fo__agent__relay_renew__init(&s->m);
    for (i = 0; i < 4 && fo_tls_files_cert_der(signer, i, &s->der[i], &s->der_len[i], err) == 0; i++)
        s->chain[i] = (ProtobufCBinaryData){s->der_len[i], s->der[i]};
    s->m.n_cert_chain = i;
    s->m.cert_chain = s->chain;
    s->m.token = (ProtobufCBinaryData){s->tok_len, s->tok};
    s->m.signature = (ProtobufCBinaryData){s->sig_len, s->sig};
    return i > 0;
}

static void free_msg(struct signed_msg *s)
{
    unsigned i;

    free(s->tok);
    free(s->sig);
    for (i = 0; i < 4; i++) free(s->der[i]);
}

/* What the holder's agent says of s. */
static enum fo_relay_result judge(struct fo_tls_ctx *holder, struct signed_msg *s)
{
    Fo__Agent__RelayToken *t = NULL;
    char cn[FO_TLS_CN_MAX + 1], err[FO_ERRLEN];
    enum fo_relay_result r = fo_agent_relay_open(holder, &s->m, &t, cn, err);

    if (t != NULL) fo__agent__relay_token__free_unpacked(t, NULL);
    return r;
}

/* ------------------------------------------------------------------ signatures */

static void test_sign_verify(void)
{
    struct fo_tls_files *ctl, *db2, *evil, *db1;
    struct fo_tls_ctx *holder = NULL;
    struct signed_msg s;
    Fo__Agent__RelayToken k, *t = NULL;
    char cn[FO_TLS_CN_MAX + 1], err[FO_ERRLEN];

    if (!certs()) {
        FO_SKIP("cannot make certificates with deploy/gen-certs.sh");
        return;
    }
    ctl = files_of(g.dir, "ctl1");
    db1 = files_of(g.dir, "db1");
    db2 = files_of(g.dir, "db2");
    evil = files_of(g.other, "evil");
    FO_CHECK(ctl && db1 && db2 && evil);
    if (!(ctl && db1 && db2 && evil)) return;
    FO_CHECK_INT(fo_tls_ctx_from_files(&holder, db1, FO_TLS_ROLE_CONTROLLER | FO_TLS_ROLE_AGENT, err), 0);
    token(&k, 3, 7);

    /* Good: decoded as signed, signer named. */
    FO_CHECK(sign_msg(&s, ctl, &k, FO_RELAY_SIGN_CONTEXT));
    FO_CHECK_INT(fo_agent_relay_open(holder, &s.m, &t, cn, err), FO_RELAY_OK);
    FO_CHECK_STR(cn, "ctl1");
    FO_CHECK(t != NULL && t->epoch == 3 && t->term == 7 && strcmp(t->cluster, "demo") == 0 && t->nonce.len == 16);
    if (t != NULL) fo__agent__relay_token__free_unpacked(t, NULL);

    /* A changed token, a changed signature: bad signature. */
    s.tok[s.tok_len - 1] ^= 1;
    FO_CHECK_INT(judge(holder, &s), FO_RELAY_BAD_SIGNATURE);
    s.tok[s.tok_len - 1] ^= 1;
    s.sig[s.sig_len / 2] ^= 0x40;
    FO_CHECK_INT(judge(holder, &s), FO_RELAY_BAD_SIGNATURE);
    s.sig[s.sig_len / 2] ^= 0x40;
    FO_CHECK_INT(judge(holder, &s), FO_RELAY_OK);
    /* Someone else's certificate sent along with the controller's signature. */
    free(s.der[0]);
    FO_CHECK_INT(fo_tls_files_cert_der(db2, 0, &s.der[0], &s.der_len[0], err), 0);
    s.chain[0] = (ProtobufCBinaryData){s.der_len[0], s.der[0]};
    FO_CHECK_INT(judge(holder, &s), FO_RELAY_BAD_SIGNATURE);
    /* No certificate, garbage DER: a bad request. */
    s.m.n_cert_chain = 0;
    FO_CHECK_INT(judge(holder, &s), FO_RELAY_BAD_REQUEST);
    s.m.n_cert_chain = 1;
    s.der[0][0] ^= 0xff;
    FO_CHECK_INT(judge(holder, &s), FO_RELAY_BAD_REQUEST);
    free_msg(&s);

    /* Signed by another agent of the cluster: valid, but not a controller. */
    FO_CHECK(sign_msg(&s, db2, &k, FO_RELAY_SIGN_CONTEXT));
    FO_CHECK_INT(judge(holder, &s), FO_RELAY_WRONG_ROLE);
    free_msg(&s);
    /* A controller of another CA. */
    FO_CHECK(sign_msg(&s, evil, &k, FO_RELAY_SIGN_CONTEXT));
    FO_CHECK_INT(judge(holder, &s), FO_RELAY_BAD_SIGNATURE);
    free_msg(&s);
    /* Our controller's signature made for another purpose (context). */
    FO_CHECK(sign_msg(&s, ctl, &k, "some other message v1"));
    FO_CHECK_INT(judge(holder, &s), FO_RELAY_BAD_SIGNATURE);
    free_msg(&s);
    /* A token of an unknown version, or without a nonce of the right length. */
    k.version = 2;
    FO_CHECK(sign_msg(&s, ctl, &k, FO_RELAY_SIGN_CONTEXT));
    FO_CHECK_INT(judge(holder, &s), FO_RELAY_BAD_REQUEST);
    free_msg(&s);
    k.version = 1;
    k.nonce.len = 8;
    FO_CHECK(sign_msg(&s, ctl, &k, FO_RELAY_SIGN_CONTEXT));
    FO_CHECK_INT(judge(holder, &s), FO_RELAY_BAD_REQUEST);
    free_msg(&s);

    fo_tls_ctx_free(holder);
    fo_tls_files_free(ctl);
    fo_tls_files_free(db1);
    fo_tls_files_free(db2);
    fo_tls_files_free(evil);
}

/* Plain mode cannot verify anything. */
static void test_plain_refuses(void)
{
    struct fo_tls_ctx *plain = NULL;
    char err[FO_ERRLEN], cn[FO_TLS_CN_MAX + 1];
    const uint8_t *c[1] = {NONCE};
    size_t l[1] = {sizeof NONCE};
    unsigned role = 9;

    FO_CHECK_INT(fo_tls_ctx_new_plain(&plain, err), 0);
    FO_CHECK_INT(fo_tls_ctx_verify_signed(plain, c, l, 1, FO_TLS_ROLE_ALL, "x", "m", 1, NONCE, 4, &role, cn, err),
                 FO_EINVAL);
    FO_CHECK_INT(role, 0);
    fo_tls_ctx_free(plain);
}

/* ------------------------------------------------------------------ acceptance rules */

struct world {
    struct fo_lease lease;
    struct fo_lease_nonces nonces;
    uint64_t stored_epoch, max_term;
};

/* The lease acquired at epoch 3 for 2000 ms at t=1000 (deadline 3000), a nonce
 * issued at t=1500, epoch 3 on disk. */
static void world(struct world *w)
{
    char err[FO_ERRLEN];
    unsigned a;

    fo_lease_init(&w->lease);
    FO_CHECK_INT(fo_lease_acquire(&w->lease, 3, 2000, 1000, &a, err), 0);
    fo_lease_nonces_init(&w->nonces);
    fo_lease_nonce_issue(&w->nonces, NONCE, 1500);
    w->stored_epoch = 3;
    w->max_term = 0;
}

static enum fo_relay_result try_accept(struct world *w, uint64_t epoch, uint64_t term, uint64_t now, unsigned *actions)
{
    Fo__Agent__RelayToken k;
    char err[FO_ERRLEN];

    token(&k, epoch, term);
    return fo_agent_relay_accept(&k, &w->nonces, w->stored_epoch, &w->max_term, &w->lease, now, actions, err);
}

static void test_accept_rules(void)
{
    static const struct {
        const char *what;
        uint64_t epoch, term, now, stored, max_term;
        int lease_state; /* -1: as acquired; else released first */
        enum fo_relay_result want;
        uint64_t deadline; /* when accepted */
    } cases[] = {
        {"good: extended to issue time + lease", 3, 7, 1600, 3, 0, -1, FO_RELAY_OK, 3500},
        {"good at the nonce's last moment", 3, 7, 2500, 3, 0, -1, FO_RELAY_OK, 3500},
        {"old nonce", 3, 7, 2501, 3, 0, -1, FO_RELAY_OLD_NONCE, 0},
        {"stale epoch (disk)", 3, 7, 1600, 4, 0, -1, FO_RELAY_STALE_EPOCH, 0},
        {"stale epoch (lease)", 2, 7, 1600, 2, 0, -1, FO_RELAY_STALE_EPOCH, 0},
        {"higher epoch: never acquires", 4, 7, 1600, 3, 0, -1, FO_RELAY_NOT_HELD, 0},
        {"stale term", 3, 6, 1600, 3, 7, -1, FO_RELAY_STALE_TERM, 0},
        {"not held (released)", 3, 7, 1600, 3, 0, 1, FO_RELAY_NOT_HELD, 0},
        {"not held (expired before the relay)", 3, 7, 2400, 3, 0, 2, FO_RELAY_NOT_HELD, 0},
    };
    unsigned i, a;
    char err[FO_ERRLEN];

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct world w;
        enum fo_relay_result r;
        world(&w);
        w.stored_epoch = cases[i].stored;
        w.max_term = cases[i].max_term;
        if (cases[i].lease_state == 1) FO_CHECK_INT(fo_lease_release(&w.lease, 3, &a, err), 0);
        if (cases[i].lease_state == 2) w.lease.deadline_ms = 2000; /* ran out at 2000 */
        r = try_accept(&w, cases[i].epoch, cases[i].term, cases[i].now, &a);
        if (r != cases[i].want) fprintf(stderr, "  case '%s': %s\n", cases[i].what, fo_agent_relay_result_name(r));
        FO_CHECK_INT(r, cases[i].want);
        if (cases[i].want == FO_RELAY_OK) {
            FO_CHECK_INT(w.lease.deadline_ms, cases[i].deadline);
            FO_CHECK_INT(w.max_term, cases[i].term);
        } else if (cases[i].lease_state != 1) {
            /* Nothing extended. */
            FO_CHECK(w.lease.deadline_ms <= 3000);
        }
        if (cases[i].lease_state == 2) FO_CHECK(a & FO_LEASE_DEL_VIP); /* its expiry applied */
    }
}

static void test_nonce_single_use(void)
{
    struct world w;
    unsigned a;
    uint8_t other[FO_LEASE_NONCE_LEN] = {9};
    uint64_t issued;
    char err[FO_ERRLEN];

    world(&w);
    FO_CHECK_INT(try_accept(&w, 3, 1, 1600, &a), FO_RELAY_OK);
    /* The same token again (a replay): refused, the lease as it was. */
    FO_CHECK_INT(try_accept(&w, 3, 1, 1700, &a), FO_RELAY_BAD_NONCE);
    FO_CHECK_INT(w.lease.deadline_ms, 3500);
    /* Never issued here. */
    FO_CHECK_INT(fo_lease_nonce_take(&w.nonces, other, sizeof other, 1600, 1000, &issued, err), FO_ENOTFOUND);
    FO_CHECK_INT(fo_lease_nonce_take(&w.nonces, other, 3, 1600, 1000, &issued, err), FO_EINVAL);
    /* An old nonce is used up by the refusal too. */
    fo_lease_nonce_issue(&w.nonces, other, 100);
    FO_CHECK_INT(fo_lease_nonce_take(&w.nonces, other, sizeof other, 1600, 1000, &issued, err), FO_ETIMEDOUT);
    FO_CHECK_INT(fo_lease_nonce_take(&w.nonces, other, sizeof other, 1600, 1000, &issued, err), FO_ENOTFOUND);
}

static void test_nonce_table_replaces_oldest(void)
{
    struct fo_lease_nonces t;
    uint8_t v[FO_LEASE_NONCE_LEN];
    uint64_t issued;
    char err[FO_ERRLEN];
    unsigned i;

    fo_lease_nonces_init(&t);
    for (i = 0; i <= FO_LEASE_NONCES; i++) {
        memset(v, (int)i + 1, sizeof v);
        fo_lease_nonce_issue(&t, v, 100 + i);
    }
    memset(v, 1, sizeof v); /* the first: replaced */
    FO_CHECK_INT(fo_lease_nonce_take(&t, v, sizeof v, 200, 1000, &issued, err), FO_ENOTFOUND);
    memset(v, 2, sizeof v);
    FO_CHECK_INT(fo_lease_nonce_take(&t, v, sizeof v, 200, 1000, &issued, err), 0);
    FO_CHECK_INT(issued, 101);
}

/* The relayed renewal never makes the lease longer than the acquire did, never
 * shorter than it is, and counts from the nonce's issue time. */
static void test_renew_relayed_bounds(void)
{
    struct fo_lease l;
    unsigned a;
    char err[FO_ERRLEN];

    fo_lease_init(&l);
    FO_CHECK_INT(fo_lease_renew_relayed(&l, 0, 2000, 0, 0, &a, err), FO_ENOTFOUND); /* never held */
    FO_CHECK_INT(fo_lease_acquire(&l, 5, 1000, 0, &a, err), 0);
    FO_CHECK_INT(fo_lease_renew_relayed(&l, 5, 5000, 500, 600, &a, err), 0);
    FO_CHECK_INT(l.deadline_ms, 1500); /* 500 + the acquired 1000, not 5000 */
    FO_CHECK_INT(fo_lease_renew_relayed(&l, 5, 1000, 100, 600, &a, err), 0);
    FO_CHECK_INT(l.deadline_ms, 1500); /* issued earlier: not shortened */
    FO_CHECK_INT(fo_lease_renew_relayed(&l, 5, 0, 500, 600, &a, err), FO_EINVAL);
    FO_CHECK_INT(fo_lease_renew_relayed(&l, 5, 1000, 700, 600, &a, err), FO_EINVAL); /* issued in the future */
    FO_CHECK_INT(fo_lease_renew_relayed(&l, 4, 1000, 500, 600, &a, err), FO_ESTALE);
    FO_CHECK_INT(fo_lease_renew_relayed(&l, 6, 1000, 500, 600, &a, err), FO_EPERM);
    FO_CHECK_INT(l.epoch, 5);
    FO_CHECK_INT(l.state, FO_LEASE_HELD);
}

FO_TEST_MAIN(FO_T(test_sign_verify), FO_T(test_plain_refuses), FO_T(test_accept_rules), FO_T(test_nonce_single_use),
             FO_T(test_nonce_table_replaces_oldest), FO_T(test_renew_relayed_bounds))
