/* failoverctl's TLS: see tls_client.h for the contract. The controller's role is
 * checked in the certificate verify callback, so a wrong server fails the handshake
 * itself (with an alert to the server) and the reason is recorded for the message. */
#include "tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define CN_MAX 64 /* X.520 upper bound for a common name */
#define SERVER_ROLE "controller"

struct fo_ctl_tls {
    SSL_CTX *ssl;
};

/* ------------------------------------------------------------------ certificate names */

/* The first entry nid of name as printable ASCII (anything else becomes '?', since it
 * ends up on a terminal) in out; returns how many entries nid has (0: out is ""), or
 * -1 if the first cannot be decoded or does not fit. */
static int name_entry(X509_NAME *name, int nid, char *out, size_t n)
{
    int first = X509_NAME_get_index_by_NID(name, nid, -1), count = 0, len, i;
    unsigned char *utf8 = NULL;

    out[0] = '\0';
    for (i = first; i >= 0; i = X509_NAME_get_index_by_NID(name, nid, i)) count++;
    if (count == 0) return 0;
    len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, first)));
    if (len < 0 || (size_t)len >= n) {
        OPENSSL_free(utf8);
        return -1;
    }
    for (i = 0; i < len; i++) out[i] = utf8[i] >= 0x20 && utf8[i] < 0x7f ? (char)utf8[i] : '?';
    out[len] = '\0';
    OPENSSL_free(utf8);
    return count;
}

static void cert_cn(X509 *cert, char cn[CN_MAX + 1])
{
    if (cert == NULL || name_entry(X509_get_subject_name(cert), NID_commonName, cn, CN_MAX + 1) <= 0)
        snprintf(cn, CN_MAX + 1, "(no CN)");
}

/* ------------------------------------------------------------------ verification */

/* OpenSSL found the certificate untrusted (no chain to the CA, expired, not naming
 * the address dialled, ...): say so in words an operator can act on. */
static int refuse_untrusted(struct fo_ctl_tls_peer *p, X509_STORE_CTX *x)
{
    int e = X509_STORE_CTX_get_error(x);
    char cn[CN_MAX + 1];

    if (p->why[0] != '\0') return 0;
    cert_cn(X509_STORE_CTX_get0_cert(x), cn);
    if (e == X509_V_ERR_IP_ADDRESS_MISMATCH)
        snprintf(p->why, sizeof(p->why), "its certificate CN=%s does not name %s in its subjectAltName", cn, p->ip);
    else
        snprintf(p->why, sizeof(p->why), "its certificate CN=%s is not trusted by the CA file: %s", cn,
                 X509_verify_cert_error_string(e));
    return 0;
}

/* The server's own certificate (depth 0), chain already verified: one CN, and one
 * OU that says "controller". */
static int check_role(struct fo_ctl_tls_peer *p, X509_STORE_CTX *x)
{
    X509 *cert = X509_STORE_CTX_get_current_cert(x);
    X509_NAME *name = X509_get_subject_name(cert);
    char cn[CN_MAX + 1], ou[CN_MAX + 1];

    if (name_entry(name, NID_commonName, cn, sizeof(cn)) != 1) {
        snprintf(p->why, sizeof(p->why), "its certificate needs exactly one CN");
    } else if (name_entry(name, NID_organizationalUnitName, ou, sizeof(ou)) != 1 || strcmp(ou, SERVER_ROLE) != 0) {
        snprintf(p->why, sizeof(p->why), "its certificate CN=%s has role \"%s\", not \"" SERVER_ROLE "\"", cn,
                 ou[0] != '\0' ? ou : "(none)");
    } else {
        return 1;
    }
    X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_REJECTED);
    return 0;
}

/* Called by OpenSSL for each certificate of the server's chain, CA first. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct fo_ctl_tls_peer *p = ssl != NULL ? SSL_get_app_data(ssl) : NULL;

    if (p == NULL) return ok; /* not a session (check_own_cert) */
    if (!ok) return refuse_untrusted(p, x);
    if (X509_STORE_CTX_get_error_depth(x) != 0) return 1;
    return check_role(p, x);
}

/* ------------------------------------------------------------------ context */

static int file_error(char *err, const char *what, const char *path)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

    fo_errf(err, FO_ECONFIG, "TLS %s file %s: %s", what, path, r != NULL ? r : "cannot be loaded");
    ERR_clear_error();
    return FO_ECONFIG;
}

/* A plain "No such file or directory" beats OpenSSL's "system lib". */
static int check_readable(const char *what, const char *path, char *err)
{
    FILE *f = fopen(path, "r");

    if (f == NULL) return fo_errf(err, FO_ECONFIG, "TLS %s file %s: %s", what, path, strerror(errno));
    fclose(f);
    return 0;
}

/* The same protocol floor and suites as the controller (common/tls.c). */
static int configure(SSL_CTX *s, char *err)
{
    if (SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(s, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
        ERR_clear_error();
        return fo_errf(err, FO_ECONFIG, "TLS: cannot set the protocol versions or cipher suites");
    }
    SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
    /* rpc.c keeps its own count of what was sent and may retry with the rest. */
    SSL_CTX_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(s, SSL_VERIFY_PEER, verify_cb);
    return 0;
}

static int load_files(SSL_CTX *s, const char *ca, const char *cert, const char *key, char *err)
{
    int rc;

    if ((rc = check_readable("CA", ca, err)) != 0 || (rc = check_readable("certificate", cert, err)) != 0 ||
        (rc = check_readable("key", key, err)) != 0)
        return rc;
    if (SSL_CTX_load_verify_locations(s, ca, NULL) != 1) return file_error(err, "CA", ca);
    if (SSL_CTX_use_certificate_chain_file(s, cert) != 1) return file_error(err, "certificate", cert);
    if (SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM) != 1 &&
        ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH)
        return file_error(err, "key", key);
    if (SSL_CTX_check_private_key(s) != 1) {
        ERR_clear_error();
        return fo_errf(err, FO_ECONFIG, "TLS key file %s does not match certificate file %s", key, cert);
    }
    return 0;
}

/* A certificate from another CA would only be refused by the controller, with a
 * vaguer message: check it here. */
static int check_own_cert(SSL_CTX *s, const char *ca, const char *cert_file, char *err)
{
    X509 *cert = SSL_CTX_get0_certificate(s);
    STACK_OF(X509) *chain = NULL;
    X509_STORE_CTX *vx = X509_STORE_CTX_new();
    char cn[CN_MAX + 1];
    int ok;

    if (vx == NULL) return fo_errf(err, FO_ENOMEM, "TLS: out of memory");
    SSL_CTX_get0_chain_certs(s, &chain);
    ok = X509_STORE_CTX_init(vx, SSL_CTX_get_cert_store(s), cert, chain) == 1 && X509_verify_cert(vx) == 1;
    if (!ok) {
        cert_cn(cert, cn);
        fo_errf(err, FO_ECONFIG, "TLS certificate file %s (CN=%s) does not verify against CA file %s: %s", cert_file,
                cn, ca, X509_verify_cert_error_string(X509_STORE_CTX_get_error(vx)));
    }
    X509_STORE_CTX_free(vx);
    ERR_clear_error();
    return ok ? 0 : FO_ECONFIG;
}

int fo_ctl_tls_new(struct fo_ctl_tls **out, const char *ca_file, const char *cert_file, const char *key_file,
                   char err[FO_ERRLEN])
{
    struct fo_ctl_tls *t;
    int rc;

    *out = NULL;
    if ((t = calloc(1, sizeof(*t))) == NULL) return fo_errf(err, FO_ENOMEM, "TLS: out of memory");
    ERR_clear_error();
    if ((t->ssl = SSL_CTX_new(TLS_client_method())) == NULL) {
        rc = fo_errf(err, FO_ENOMEM, "TLS: cannot create an OpenSSL context");
        goto err_after_alloc;
    }
    if ((rc = configure(t->ssl, err)) != 0 || (rc = load_files(t->ssl, ca_file, cert_file, key_file, err)) != 0 ||
        (rc = check_own_cert(t->ssl, ca_file, cert_file, err)) != 0)
        goto err_after_ctx;
    *out = t;
    return 0;

err_after_ctx:
    SSL_CTX_free(t->ssl);
err_after_alloc:
    free(t);
    ERR_clear_error();
    return rc;
}

void fo_ctl_tls_free(struct fo_ctl_tls *t)
{
    if (t == NULL) return;
    SSL_CTX_free(t->ssl);
    free(t);
}

/* ------------------------------------------------------------------ sessions */

SSL *fo_ctl_tls_session(struct fo_ctl_tls *t, int fd, struct fo_ctl_tls_peer *peer, char err[FO_ERRLEN])
{
    X509_VERIFY_PARAM *param;
    SSL *s;

    ERR_clear_error();
    if ((s = SSL_new(t->ssl)) == NULL) {
        fo_errf(err, FO_ENOMEM, "TLS: cannot create a session");
        return NULL;
    }
    param = SSL_get0_param(s);
    /* The subject CN is never taken for a name: only the subjectAltName's IP entries. */
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, peer->ip) != 1 || SSL_set_fd(s, fd) != 1) {
        fo_errf(err, FO_EINVAL, "TLS: cannot verify a server at \"%s\"", peer->ip);
        SSL_free(s);
        ERR_clear_error();
        return NULL;
    }
    peer->why[0] = '\0';
    SSL_set_app_data(s, peer);
    SSL_set_connect_state(s);
    return s;
}

/* OpenSSL reasons that carry the controller's verdict on our certificate. */
static const int refused_reasons[] = {
    SSL_R_SSLV3_ALERT_BAD_CERTIFICATE,       SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE,
    SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED,   SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED,
    SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN,   SSL_R_TLSV1_ALERT_UNKNOWN_CA,
    SSL_R_TLSV1_ALERT_ACCESS_DENIED,         SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED,
    SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE,
};

static int refused_by_server(unsigned long e)
{
    size_t i;

    if (ERR_GET_LIB(e) != ERR_LIB_SSL) return 0;
    for (i = 0; i < sizeof(refused_reasons) / sizeof(refused_reasons[0]); i++)
        if (ERR_GET_REASON(e) == refused_reasons[i]) return 1;
    return 0;
}

int fo_ctl_tls_error(const struct fo_ctl_tls_peer *peer, int in_handshake, int ssl_err, int errno_saved, char *msg,
                     size_t msglen)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    int rc = FO_EPROTO;

    if (peer->why[0] != '\0') {
        snprintf(msg, msglen, "TLS: refused the controller: %s", peer->why);
        rc = FO_EPERM;
    } else if (e != 0 && refused_by_server(e)) {
        snprintf(msg, msglen, "TLS: the controller refused our certificate (%s)", r != NULL ? r : "alert");
        rc = FO_EPERM;
    } else if (ssl_err == SSL_ERROR_ZERO_RETURN || (ssl_err == SSL_ERROR_SYSCALL && errno_saved == 0) ||
               (e != 0 && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
        /* A controller with insecure = yes reads our ClientHello as a bad frame. */
        snprintf(msg, msglen, "TLS: the connection was closed%s",
                 in_handshake ? " during the handshake (does the controller run with [tls] insecure = yes?)" : "");
        rc = FO_ECLOSED;
    } else if (ssl_err == SSL_ERROR_SYSCALL) {
        snprintf(msg, msglen, "TLS: %s", strerror(errno_saved));
        rc = errno_saved == ECONNRESET || errno_saved == EPIPE ? FO_ECLOSED : FO_EIO;
    } else {
        snprintf(msg, msglen, "TLS: %s", r != NULL ? r : "protocol error");
    }
    ERR_clear_error();
    return rc;
}
