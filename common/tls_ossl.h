/* The OpenSSL half of failoverd's mutual TLS, shared by the daemons' libuv layer
 * (common/tls.c) and failoverctl's blocking client (client/tls_client.c), so that both
 * load the files, set the protocol options and judge a peer's certificate in one way
 * (the rules are in tls.h: one cluster CA, the role in the single OU, the name in the
 * CN). Only those two modules use it, since it brings OpenSSL into whatever includes
 * it (client/tls_client.h does, for the struct fo_tls_check its peer struct holds).
 *
 * How each side drives the connection (memory BIOs on a libuv stream, or a
 * non-blocking socket under poll()) and how it words a refusal stay with that side:
 * they come in here as parameters (an SSL_MODE_* set, a refuse callback).
 *
 * Nothing here blocks, touches a socket or keeps global state. A context and the
 * sessions made from it belong to one thread. */
#ifndef FO_TLS_OSSL_H
#define FO_TLS_OSSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "common/err.h"
#include "common/tls_id.h"

/* ------------------------------------------------------------------ context */

/* Makes an OpenSSL context with method (TLS_method() or TLS_client_method()):
 * TLS 1.2 minimum (1.3 preferred), forward-secret AEAD suites for 1.2, no
 * renegotiation, compression or session resumption, a verified certificate required
 * from the peer and judged by fo_tls_check (below), plus mode (SSL_MODE_* for how the
 * caller moves bytes). Loads the CA file, the certificate chain and the private key
 * (PEM), checks that the key matches the certificate and that the certificate chains
 * to the CA and, if need_role, that its subject names a role (tls.h), so that a wrong
 * file is reported here rather than as refused connections later. Returns 0 with *out
 * set (the caller frees it with SSL_CTX_free), or FO_ECONFIG (err names the file and
 * what is wrong) or FO_ENOMEM; OpenSSL's error queue is then empty. */
int fo_tls_ossl_ctx_new(SSL_CTX **out, const SSL_METHOD *method, long mode, bool need_role, const char *ca_file,
                        const char *cert_file, const char *key_file, char err[FO_ERRLEN]);

/* ------------------------------------------------------------------ certificate subjects */

enum fo_tls_identity_status {
    FO_TLS_ID_OK,       /* one CN, one OU, and the OU is a role */
    FO_TLS_ID_BAD_CN,   /* not exactly one CN, or one longer than FO_TLS_CN_MAX */
    FO_TLS_ID_BAD_OU,   /* not exactly one OU */
    FO_TLS_ID_NOT_ROLE, /* one OU, which is not a role name */
};

/* What a certificate's subject says about its holder. Text is printable ASCII, any
 * other byte replaced by '?', since it ends up in logs and on terminals. */
struct fo_tls_identity {
    enum fo_tls_identity_status status;
    unsigned role;              /* the role bit when status is FO_TLS_ID_OK, else 0 */
    char cn[FO_TLS_CN_MAX + 1]; /* the first CN; "(no CN)" if there is none or it is unreadable */
    char ou[FO_TLS_CN_MAX + 1]; /* the first OU; "" if there is none or it is unreadable */
};

/* Reads the subject of cert into *id. */
void fo_tls_ossl_identify(X509 *cert, struct fo_tls_identity *id);

/* The node id cert binds (tls.h, "Node ids"): its subjectAltName URIs are read and
 * every one that starts with FO_TLS_NODE_URI_PREFIX counts. Returns 0 with *id set,
 * FO_ENOTFOUND (none), or FO_EINVAL (more than one, a malformed one, or an unreadable
 * subjectAltName); *id is 0 unless it returns 0. The role is not looked at here. */
int fo_tls_ossl_node_id(X509 *cert, uint64_t *id);

/* Writes why id's status is not FO_TLS_ID_OK ("its subject needs exactly one OU
 * naming its role ...") into why (len bytes); "" for FO_TLS_ID_OK. */
void fo_tls_ossl_identity_why(const struct fo_tls_identity *id, char *why, size_t len);

/* ------------------------------------------------------------------ peer verification */

enum fo_tls_refusal_kind {
    FO_TLS_REFUSED_CHAIN, /* OpenSSL's checks failed: no chain to the CA, expired, ... */
    FO_TLS_REFUSED_NAME,  /* the certificate does not name the address or host dialled */
    FO_TLS_REFUSED_ID,    /* its subject names no role (peer.status says what is wrong) */
    FO_TLS_REFUSED_ROLE,  /* it has a role (peer.role) that is not accepted */
};

/* Why a peer's certificate was refused, for the side to put in its own words. */
struct fo_tls_refusal {
    enum fo_tls_refusal_kind kind;
    int error;                   /* CHAIN, NAME: OpenSSL's X509_V_ERR_* */
    int depth;                   /* CHAIN: the failing certificate's depth, 0 = the peer's own */
    char at[FO_TLS_CN_MAX + 1];  /* CHAIN: the failing certificate's CN, as peer.cn */
    struct fo_tls_identity peer; /* the subject of the peer's own certificate */
};

/* Puts refusal r into words in why (FO_ERRLEN bytes); data is fo_tls_check.data. Runs
 * inside the handshake and must not touch the SSL. */
typedef void (*fo_tls_refuse_cb)(void *data, const struct fo_tls_refusal *r, char why[FO_ERRLEN]);

/* One session's verification: the context's verify callback finds it through the
 * SSL's app data. The peer's certificate must pass OpenSSL's checks and name one of
 * accepted_roles; a refusal is worded by refuse into why and fails the handshake (the
 * peer gets an alert). Owned by the caller; it must outlive the SSL's handshake. */
struct fo_tls_check {
    unsigned accepted_roles;    /* set by fo_tls_ossl_check_init */
    fo_tls_refuse_cb refuse;    /* likewise */
    void *data;                 /* likewise, passed to refuse */
    unsigned role;              /* the peer's role, once its certificate passed; else 0 */
    char cn[FO_TLS_CN_MAX + 1]; /* its CN likewise; else "" */
    int node_rc;                /* fo_tls_ossl_node_id() of its certificate once it passed */
    uint64_t node_id;           /* likewise: its node id when node_rc is 0, else 0 */
    char why[FO_ERRLEN];        /* why it was refused; "" if it was not */
};

/* Makes k, with its results cleared, the verification of ssl (a session of a
 * context from fo_tls_ossl_ctx_new), and sets ssl's app data to k. */
void fo_tls_ossl_check_init(struct fo_tls_check *k, SSL *ssl, unsigned accepted_roles, fo_tls_refuse_cb refuse,
                            void *data);

/* ------------------------------------------------------------------ signatures */

/* tls.h's FO_TLS_MAX_SIG, FO_TLS_MAX_CHAIN and FO_TLS_MAX_CERT_DER (tls.c checks that
 * they agree; this header does not include tls.h, which includes it). */
#define FO_TLS_OSSL_MAX_SIG 1024
#define FO_TLS_OSSL_MAX_CHAIN 4
#define FO_TLS_OSSL_MAX_CERT_DER 8192

/* The OpenSSL side of tls.h's fo_tls_files_sign, fo_tls_files_cert_der and
 * fo_tls_ctx_verify_signed (same arguments, same return values), on a context from
 * fo_tls_ossl_ctx_new: its private key, its certificate and chain, its trust store. */
int fo_tls_ossl_sign(SSL_CTX *s, const char *context, const void *msg, size_t len, uint8_t **sig, size_t *sig_len,
                     char err[FO_ERRLEN]);
int fo_tls_ossl_cert_der(SSL_CTX *s, unsigned i, uint8_t **der, size_t *len, char err[FO_ERRLEN]);
int fo_tls_ossl_verify_signed(SSL_CTX *s, const uint8_t *const *certs, const size_t *cert_lens, unsigned n,
                              unsigned accepted_roles, const char *context, const void *msg, size_t len,
                              const uint8_t *sig, size_t sig_len, unsigned *role, char *cn, char err[FO_ERRLEN]);

/* ------------------------------------------------------------------ errors */

enum fo_tls_cert_error {
    FO_TLS_CERT_ERR_NONE,    /* nothing about certificates */
    FO_TLS_CERT_ERR_VERIFY,  /* our verification refused the peer's certificate */
    FO_TLS_CERT_ERR_REFUSED, /* the peer's alert refusing ours, or no certificate sent */
};

/* Classifies OpenSSL error e (from ERR_peek_last_error) after a failed handshake,
 * read or write, so that a refused certificate is told from a protocol error. */
enum fo_tls_cert_error fo_tls_ossl_cert_error(unsigned long e);

#endif
