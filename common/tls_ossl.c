/* The OpenSSL half of the mutual TLS: see tls_ossl.h for the contract.
 *
 * The peer's role is checked in the certificate verify callback rather than after the
 * handshake, so that a refused peer fails the handshake itself and is told so by an
 * alert; the side that owns the session only words the refusal. */
#include "common/tls_ossl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* ------------------------------------------------------------------ certificate subjects */

/* Copies the text of the first entry nid of name into out (n bytes), with anything
 * but printable ASCII replaced by '?'. Returns the number of entries with that nid
 * (0: out is ""), or -1 if the first cannot be decoded or does not fit (out is ""). */
static int name_entry(X509_NAME *name, int nid, char *out, size_t n)
{
    int idx = X509_NAME_get_index_by_NID(name, nid, -1), count = 0, len, i;
    unsigned char *utf8 = NULL;

    out[0] = '\0';
    if (idx < 0) return 0;
    for (i = idx; i >= 0; i = X509_NAME_get_index_by_NID(name, nid, i)) count++;
    len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
    if (len < 0) return -1;
    if ((size_t)len >= n) {
        OPENSSL_free(utf8);
        return -1;
    }
    for (i = 0; i < len; i++) out[i] = (utf8[i] >= 0x20 && utf8[i] < 0x7f) ? (char)utf8[i] : '?';
    out[len] = '\0';
    OPENSSL_free(utf8);
    return count;
}

/* The CN of cert for messages: "(no CN)" if it has none or it cannot be read. */
static void cert_cn(X509 *cert, char cn[FO_TLS_CN_MAX + 1])
{
    if (cert == NULL || name_entry(X509_get_subject_name(cert), NID_commonName, cn, FO_TLS_CN_MAX + 1) <= 0)
        snprintf(cn, FO_TLS_CN_MAX + 1, "(no CN)");
}

void fo_tls_ossl_identify(X509 *cert, struct fo_tls_identity *id)
{
    X509_NAME *name = cert != NULL ? X509_get_subject_name(cert) : NULL;
    int cns = name != NULL ? name_entry(name, NID_commonName, id->cn, sizeof id->cn) : 0;
    int ous = name != NULL ? name_entry(name, NID_organizationalUnitName, id->ou, sizeof id->ou) : 0;

    if (name == NULL) id->ou[0] = '\0';
    if (cns <= 0) snprintf(id->cn, sizeof id->cn, "(no CN)");
    id->role = 0;
    if (cns != 1)
        id->status = FO_TLS_ID_BAD_CN;
    else if (ous != 1)
        id->status = FO_TLS_ID_BAD_OU;
    else if ((id->role = fo_tls_role_parse(id->ou)) == 0)
        id->status = FO_TLS_ID_NOT_ROLE;
    else
        id->status = FO_TLS_ID_OK;
}

void fo_tls_ossl_identity_why(const struct fo_tls_identity *id, char *why, size_t len)
{
    switch (id->status) {
    case FO_TLS_ID_OK: snprintf(why, len, "%s", ""); break;
    case FO_TLS_ID_BAD_CN:
        snprintf(why, len, "its subject needs exactly one CN of at most %d characters", FO_TLS_CN_MAX);
        break;
    case FO_TLS_ID_BAD_OU:
        snprintf(why, len, "its subject needs exactly one OU naming its role (controller, agent or client)");
        break;
    case FO_TLS_ID_NOT_ROLE:
        snprintf(why, len, "its OU \"%s\" is not a role (controller, agent or client)", id->ou);
        break;
    }
}

/* ------------------------------------------------------------------ node ids */

/* One subjectAltName entry: a URI is looked at, anything else is not ours. */
static int node_of_name(const GENERAL_NAME *g, uint64_t *id)
{
    const ASN1_IA5STRING *uri;
    const unsigned char *data;
    int len;

    if (g->type != GEN_URI) return FO_ENOTFOUND;
    uri = g->d.uniformResourceIdentifier;
    data = ASN1_STRING_get0_data(uri);
    len = ASN1_STRING_length(uri);
    if (data == NULL || len < 0) return FO_EINVAL;
    return fo_tls_node_uri_parse((const char *)data, (size_t)len, id);
}

int fo_tls_ossl_node_id(X509 *cert, uint64_t *id)
{
    GENERAL_NAMES *names;
    int crit = 0, i, n, rc = FO_ENOTFOUND, one;
    uint64_t found = 0, x;

    *id = 0;
    if (cert == NULL) return FO_ENOTFOUND;
    names = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (names == NULL) {
        ERR_clear_error();
        /* -1: no subjectAltName; -2: it appears twice; otherwise undecodable. */
        return crit == -1 ? FO_ENOTFOUND : FO_EINVAL;
    }
    n = sk_GENERAL_NAME_num(names);
    for (i = 0; i < n && rc != FO_EINVAL; i++) {
        one = node_of_name(sk_GENERAL_NAME_value(names, i), &x);
        if (one == FO_ENOTFOUND) continue;
        /* Two ids, even equal ones, are a certificate nobody meant to make. */
        rc = (one != 0 || rc == 0) ? FO_EINVAL : 0;
        found = x;
    }
    GENERAL_NAMES_free(names);
    if (rc == 0) *id = found;
    return rc;
}

/* ------------------------------------------------------------------ peer verification */

/* Refuses a certificate OpenSSL found untrusted (no chain to the CA, expired, name
 * mismatch, ...). The first reason is kept: it is the one an operator can act on. */
static int refuse_untrusted(struct fo_tls_check *k, X509_STORE_CTX *x)
{
    struct fo_tls_refusal r = {.kind = FO_TLS_REFUSED_CHAIN};

    if (k->why[0] != '\0') return 0;
    r.error = X509_STORE_CTX_get_error(x);
    r.depth = X509_STORE_CTX_get_error_depth(x);
    if (r.error == X509_V_ERR_IP_ADDRESS_MISMATCH || r.error == X509_V_ERR_HOSTNAME_MISMATCH)
        r.kind = FO_TLS_REFUSED_NAME;
    /* Name the peer's own certificate, and the one that failed if it is another. */
    fo_tls_ossl_identify(X509_STORE_CTX_get0_cert(x), &r.peer);
    cert_cn(X509_STORE_CTX_get_current_cert(x), r.at);
    k->refuse(k->data, &r, k->why);
    return 0;
}

/* The peer's own certificate, its chain already verified: it must name an accepted
 * role. Records the role and CN when it does. */
static int check_leaf(struct fo_tls_check *k, X509_STORE_CTX *x)
{
    struct fo_tls_refusal r = {.kind = FO_TLS_REFUSED_ID};

    fo_tls_ossl_identify(X509_STORE_CTX_get_current_cert(x), &r.peer);
    if (r.peer.status == FO_TLS_ID_OK) {
        if (r.peer.role & k->accepted_roles) {
            k->role = r.peer.role;
            memcpy(k->cn, r.peer.cn, sizeof k->cn);
            k->node_rc = fo_tls_ossl_node_id(X509_STORE_CTX_get_current_cert(x), &k->node_id);
            return 1;
        }
        r.kind = FO_TLS_REFUSED_ROLE;
    }
    k->refuse(k->data, &r, k->why);
    X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_REJECTED);
    return 0;
}

/* OpenSSL calls this for every certificate of the peer's chain, CA first, with ok
 * set by its own checks. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct fo_tls_check *k = ssl != NULL ? SSL_get_app_data(ssl) : NULL;

    if (k == NULL) return ok; /* not a session (check_own_cert) */
    if (!ok) return refuse_untrusted(k, x);
    if (X509_STORE_CTX_get_error_depth(x) != 0) return 1;
    return check_leaf(k, x);
}

void fo_tls_ossl_check_init(struct fo_tls_check *k, SSL *ssl, unsigned accepted_roles, fo_tls_refuse_cb refuse,
                            void *data)
{
    *k = (struct fo_tls_check){
        .accepted_roles = accepted_roles, .refuse = refuse, .data = data, .node_rc = FO_ENOTFOUND};
    SSL_set_app_data(ssl, k);
}

/* ------------------------------------------------------------------ context */

/* Formats the newest OpenSSL error for file path into err and clears the queue. */
static int ssl_file_error(char *err, const char *what, const char *path)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    fo_errf(err, FO_ECONFIG, "TLS %s file %s: %s", what, path, r ? r : "cannot be loaded");
    ERR_clear_error();
    return FO_ECONFIG;
}

/* Gives a plain "No such file or directory" for a path that cannot be opened, rather
 * than OpenSSL's less direct "system lib". */
static int check_readable(const char *what, const char *path, char *err)
{
    FILE *f;

    if (path == NULL || path[0] == '\0') return fo_errf(err, FO_ECONFIG, "TLS %s file is not set", what);
    f = fopen(path, "r");
    if (f == NULL) return fo_errf(err, FO_ECONFIG, "TLS %s file %s: %s", what, path, strerror(errno));
    fclose(f);
    return 0;
}

/* Protocol settings for both sides: TLS 1.2 minimum (1.3 preferred by default),
 * forward-secret AEAD suites only for 1.2, no renegotiation, no compression, no
 * session resumption (connections are long-lived, failoverctl's are one-shot), and a
 * verified certificate required from every peer. The server's cipher preference, the
 * ticket count and FAIL_IF_NO_PEER_CERT only concern the server side of a session:
 * OpenSSL ignores them in a client session. */
static int configure(SSL_CTX *s, long mode, char *err)
{
    long opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE;

    if (SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(s, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1 || SSL_CTX_set_num_tickets(s, 0) != 1) {
        ERR_clear_error();
        return fo_errf(err, FO_ECONFIG, "TLS: cannot set the protocol versions or cipher suites");
    }
    SSL_CTX_set_options(s, opts);
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(s, mode);
    SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    return 0;
}

static int load_files(SSL_CTX *s, const char *ca_file, const char *cert_file, const char *key_file, char *err)
{
    int rc;

    if ((rc = check_readable("CA", ca_file, err)) != 0 || (rc = check_readable("certificate", cert_file, err)) != 0 ||
        (rc = check_readable("key", key_file, err)) != 0)
        return rc;
    if (SSL_CTX_load_verify_locations(s, ca_file, NULL) != 1) return ssl_file_error(err, "CA", ca_file);
    if (SSL_CTX_use_certificate_chain_file(s, cert_file) != 1) return ssl_file_error(err, "certificate", cert_file);
    /* A key that does not match is reported below in words that name both files. */
    if (SSL_CTX_use_PrivateKey_file(s, key_file, SSL_FILETYPE_PEM) != 1 &&
        ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH)
        return ssl_file_error(err, "key", key_file);
    if (SSL_CTX_check_private_key(s) != 1) {
        ERR_clear_error();
        return fo_errf(err, FO_ECONFIG, "TLS key file %s does not match certificate file %s", key_file, cert_file);
    }
    return 0;
}

/* Our own certificate must pass the check the peers will make (with need_role, the
 * role as well), so that a wrong file is reported at start-up rather than as refused
 * connections, or a vaguer refusal by the peer, later. */
static int check_own_cert(SSL_CTX *s, const char *ca_file, const char *cert_file, bool need_role, char *err)
{
    X509 *cert = SSL_CTX_get0_certificate(s);
    STACK_OF(X509) *chain = NULL;
    X509_STORE_CTX *vx;
    struct fo_tls_identity id;
    char why[FO_ERRLEN];
    int ok;

    fo_tls_ossl_identify(cert, &id);
    if (need_role && id.status != FO_TLS_ID_OK) {
        fo_tls_ossl_identity_why(&id, why, sizeof why);
        return fo_errf(err, FO_ECONFIG, "TLS certificate file %s: %s", cert_file, why);
    }
    vx = X509_STORE_CTX_new();
    if (vx == NULL) return fo_errf(err, FO_ENOMEM, "TLS: out of memory");
    SSL_CTX_get0_chain_certs(s, &chain);
    ok = X509_STORE_CTX_init(vx, SSL_CTX_get_cert_store(s), cert, chain) == 1 && X509_verify_cert(vx) == 1;
    if (!ok)
        fo_errf(err, FO_ECONFIG, "TLS certificate file %s (CN=%s) does not verify against CA file %s: %s", cert_file,
                id.cn, ca_file, X509_verify_cert_error_string(X509_STORE_CTX_get_error(vx)));
    X509_STORE_CTX_free(vx);
    ERR_clear_error();
    return ok ? 0 : FO_ECONFIG;
}

int fo_tls_ossl_ctx_new(SSL_CTX **out, const SSL_METHOD *method, long mode, bool need_role, const char *ca_file,
                        const char *cert_file, const char *key_file, char err[FO_ERRLEN])
{
    SSL_CTX *s;
    int rc;

    *out = NULL;
    ERR_clear_error();
    s = SSL_CTX_new(method);
    if (s == NULL) {
        ERR_clear_error();
        return fo_errf(err, FO_ENOMEM, "TLS: cannot create an OpenSSL context");
    }
    if ((rc = configure(s, mode, err)) != 0) goto err_after_ctx;
    if ((rc = load_files(s, ca_file, cert_file, key_file, err)) != 0) goto err_after_ctx;
    if ((rc = check_own_cert(s, ca_file, cert_file, need_role, err)) != 0) goto err_after_ctx;
    *out = s;
    return 0;

err_after_ctx:
    SSL_CTX_free(s);
    ERR_clear_error();
    return rc;
}

/* ------------------------------------------------------------------ signatures */

/* SHA-256 for RSA and EC keys; Ed25519 and Ed448 sign the message itself. */
static const EVP_MD *sig_digest(const EVP_PKEY *k)
{
    int id = EVP_PKEY_id(k);

    return (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) ? NULL : EVP_sha256();
}

/* context || NUL || msg in one buffer: one-shot signing is all Ed25519 supports. */
static uint8_t *framed(const char *context, const void *msg, size_t len, size_t *out_len)
{
    size_t cl = strlen(context) + 1;
    uint8_t *b = malloc(cl + len ? cl + len : 1);

    if (b == NULL) return NULL;
    memcpy(b, context, cl);
    if (len > 0) memcpy(b + cl, msg, len);
    *out_len = cl + len;
    return b;
}

int fo_tls_ossl_sign(SSL_CTX *s, const char *context, const void *msg, size_t len, uint8_t **sig, size_t *sig_len,
                     char err[FO_ERRLEN])
{
    EVP_PKEY *key = SSL_CTX_get0_privatekey(s);
    EVP_MD_CTX *md = NULL;
    uint8_t *buf = NULL, *out = NULL;
    size_t blen, olen = 0;
    int rc = FO_EIO;

    *sig = NULL;
    *sig_len = 0;
    if (key == NULL) return fo_errf(err, FO_EIO, "no private key loaded");
    if ((buf = framed(context, msg, len, &blen)) == NULL || (md = EVP_MD_CTX_new()) == NULL) {
        rc = fo_errf(err, FO_ENOMEM, "out of memory");
        goto out;
    }
    if (EVP_DigestSignInit(md, NULL, sig_digest(key), NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &olen, buf, blen) != 1 || olen == 0 || olen > FO_TLS_OSSL_MAX_SIG) {
        fo_errf(err, FO_EIO, "cannot sign with this key");
        goto out;
    }
    if ((out = malloc(olen)) == NULL) {
        rc = fo_errf(err, FO_ENOMEM, "out of memory");
        goto out;
    }
    if (EVP_DigestSign(md, out, &olen, buf, blen) != 1) {
        fo_errf(err, FO_EIO, "signing failed");
        free(out);
        goto out;
    }
    *sig = out;
    *sig_len = olen;
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    free(buf);
    ERR_clear_error();
    return rc;
}

int fo_tls_ossl_cert_der(SSL_CTX *s, unsigned i, uint8_t **der, size_t *len, char err[FO_ERRLEN])
{
    STACK_OF(X509) *chain = NULL;
    X509 *x = NULL;
    unsigned char *p = NULL;
    int n;

    *der = NULL;
    *len = 0;
    if (i == 0) {
        x = SSL_CTX_get0_certificate(s);
    } else {
        SSL_CTX_get0_chain_certs(s, &chain);
        if (chain != NULL && (int)i - 1 < sk_X509_num(chain)) x = sk_X509_value(chain, (int)i - 1);
    }
    if (x == NULL) return FO_ENOTFOUND;
    n = i2d_X509(x, &p);
    if (n <= 0) {
        ERR_clear_error();
        return fo_errf(err, FO_EIO, "cannot encode certificate %u", i);
    }
    *der = malloc((size_t)n);
    if (*der == NULL) {
        OPENSSL_free(p);
        return fo_errf(err, FO_ENOMEM, "out of memory");
    }
    memcpy(*der, p, (size_t)n);
    OPENSSL_free(p);
    *len = (size_t)n;
    return 0;
}

/* Decodes certs[0..n) into a leaf and a stack of the rest (the untrusted chain). */
static int decode_chain(const uint8_t *const *certs, const size_t *lens, unsigned n, X509 **leaf,
                        STACK_OF(X509) * *rest, char *err)
{
    unsigned i;

    *leaf = NULL;
    if (n == 0 || n > FO_TLS_OSSL_MAX_CHAIN)
        return fo_errf(err, FO_EINVAL, "%u certificates sent (1..%d)", n, FO_TLS_OSSL_MAX_CHAIN);
    if ((*rest = sk_X509_new_null()) == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        const unsigned char *p = certs[i];
        X509 *x;
        if (lens[i] == 0 || lens[i] > FO_TLS_OSSL_MAX_CERT_DER)
            return fo_errf(err, FO_EINVAL, "certificate %u: %zu bytes (1..%d)", i, lens[i], FO_TLS_OSSL_MAX_CERT_DER);
        x = d2i_X509(NULL, &p, (long)lens[i]);
        if (x == NULL || p != certs[i] + lens[i]) {
            X509_free(x);
            return fo_errf(err, FO_EINVAL, "certificate %u is not one DER certificate", i);
        }
        if (i == 0)
            *leaf = x;
        else if (sk_X509_push(*rest, x) <= 0) {
            X509_free(x);
            return fo_errf(err, FO_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* The chain must verify against s's trust store (as a TLS peer's would) and the leaf
 * must name an accepted role. */
static int check_signer(SSL_CTX *s, X509 *leaf, STACK_OF(X509) * rest, unsigned accepted_roles, unsigned *role,
                        char *cn, char *err)
{
    X509_STORE_CTX *vx = X509_STORE_CTX_new();
    struct fo_tls_identity id;
    char why[FO_ERRLEN];
    int ok;

    if (vx == NULL) return fo_errf(err, FO_ENOMEM, "out of memory");
    fo_tls_ossl_identify(leaf, &id);
    ok = X509_STORE_CTX_init(vx, SSL_CTX_get_cert_store(s), leaf, rest) == 1 && X509_verify_cert(vx) == 1;
    if (!ok) {
        fo_errf(err, FO_EPERM, "signer certificate CN=%s does not verify against the CA: %s", id.cn,
                X509_verify_cert_error_string(X509_STORE_CTX_get_error(vx)));
        X509_STORE_CTX_free(vx);
        return FO_EPERM;
    }
    X509_STORE_CTX_free(vx);
    if (cn != NULL) snprintf(cn, FO_TLS_CN_MAX + 1, "%s", id.cn);
    if (id.status != FO_TLS_ID_OK) {
        fo_tls_ossl_identity_why(&id, why, sizeof why);
        return fo_errf(err, FO_EPERM, "signer certificate CN=%s: %s", id.cn, why);
    }
    if ((id.role & accepted_roles) == 0)
        return fo_errf(err, FO_EPERM, "signer CN=%s has role %s, not one allowed to sign this", id.cn,
                       fo_tls_role_name(id.role));
    *role = id.role;
    return 0;
}

static int check_sig(X509 *leaf, const char *context, const void *msg, size_t len, const uint8_t *sig, size_t sig_len,
                     char *err)
{
    EVP_PKEY *key = X509_get0_pubkey(leaf);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t *buf;
    size_t blen;
    int ok;

    if (md == NULL || (buf = framed(context, msg, len, &blen)) == NULL) {
        EVP_MD_CTX_free(md);
        return fo_errf(err, FO_ENOMEM, "out of memory");
    }
    ok = key != NULL && EVP_DigestVerifyInit(md, NULL, sig_digest(key), NULL, key) == 1 &&
         EVP_DigestVerify(md, sig, sig_len, buf, blen) == 1;
    EVP_MD_CTX_free(md);
    free(buf);
    if (!ok) return fo_errf(err, FO_EPERM, "the signature does not verify with the signer's certificate");
    return 0;
}

int fo_tls_ossl_verify_signed(SSL_CTX *s, const uint8_t *const *certs, const size_t *cert_lens, unsigned n,
                              unsigned accepted_roles, const char *context, const void *msg, size_t len,
                              const uint8_t *sig, size_t sig_len, unsigned *role, char *cn, char err[FO_ERRLEN])
{
    STACK_OF(X509) *rest = NULL;
    X509 *leaf = NULL;
    unsigned r = 0;
    int rc;

    *role = 0;
    if (sig_len == 0 || sig_len > FO_TLS_OSSL_MAX_SIG) {
        rc = fo_errf(err, FO_EINVAL, "signature of %zu bytes (1..%d)", sig_len, FO_TLS_OSSL_MAX_SIG);
        goto out;
    }
    if ((rc = decode_chain(certs, cert_lens, n, &leaf, &rest, err)) != 0) goto out;
    /* The signature first: it is cheaper than the chain and needs nothing trusted. */
    if ((rc = check_sig(leaf, context, msg, len, sig, sig_len, err)) != 0) goto out;
    if ((rc = check_signer(s, leaf, rest, accepted_roles, &r, cn, err)) != 0) goto out;
    *role = r;
out:
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    ERR_clear_error();
    return rc;
}

/* ------------------------------------------------------------------ errors */

/* OpenSSL reasons that mean "not authenticated", so that callers count a refusal
 * rather than a protocol error. */
static const struct {
    int reason;
    enum fo_tls_cert_error kind;
} cert_reasons[] = {
    {SSL_R_CERTIFICATE_VERIFY_FAILED, FO_TLS_CERT_ERR_VERIFY},
    {SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE, FO_TLS_CERT_ERR_REFUSED},
    {SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, FO_TLS_CERT_ERR_REFUSED},
    {SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE, FO_TLS_CERT_ERR_REFUSED},
    {SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED, FO_TLS_CERT_ERR_REFUSED},
    {SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED, FO_TLS_CERT_ERR_REFUSED},
    {SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN, FO_TLS_CERT_ERR_REFUSED},
    {SSL_R_TLSV1_ALERT_UNKNOWN_CA, FO_TLS_CERT_ERR_REFUSED},
    {SSL_R_TLSV1_ALERT_ACCESS_DENIED, FO_TLS_CERT_ERR_REFUSED},
    {SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED, FO_TLS_CERT_ERR_REFUSED},
};

enum fo_tls_cert_error fo_tls_ossl_cert_error(unsigned long e)
{
    size_t i;

    if (ERR_GET_LIB(e) != ERR_LIB_SSL) return FO_TLS_CERT_ERR_NONE;
    for (i = 0; i < sizeof cert_reasons / sizeof cert_reasons[0]; i++)
        if (ERR_GET_REASON(e) == cert_reasons[i].reason) return cert_reasons[i].kind;
    return FO_TLS_CERT_ERR_NONE;
}
