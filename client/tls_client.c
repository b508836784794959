/* failoverctl's TLS: see tls_client.h for the contract. The context and the checks of
 * the controller's certificate are common/tls_ossl.c's, shared with the daemons; a
 * wrong server fails the handshake itself (with an alert to the server), and this
 * file words the reason for failoverctl's message. */
#include "tls_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct fo_ctl_tls {
    SSL_CTX *ssl;
};

/* ------------------------------------------------------------------ context */

int fo_ctl_tls_new(struct fo_ctl_tls **out, const char *ca_file, const char *cert_file, const char *key_file,
                   char err[FO_ERRLEN])
{
    struct fo_ctl_tls *t;
    int rc;

    *out = NULL;
    if ((t = calloc(1, sizeof(*t))) == NULL) return fo_errf(err, FO_ENOMEM, "TLS: out of memory");
    /* rpc.c keeps its own count of what was sent and may retry with the rest. Our role
     * is the controller's to judge: a certificate without one is its refusal to make. */
    rc = fo_tls_ossl_ctx_new(&t->ssl, TLS_client_method(),
                             SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, false, ca_file,
                             cert_file, key_file, err);
    if (rc != 0) {
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void fo_ctl_tls_free(struct fo_ctl_tls *t)
{
    if (t == NULL) return;
    SSL_CTX_free(t->ssl);
    free(t);
}

/* ------------------------------------------------------------------ sessions */

/* Words a refusal of the controller's certificate (fo_tls_refuse_cb, data is the
 * peer) in terms an operator can act on. */
static void word_refusal(void *data, const struct fo_tls_refusal *r, char why[FO_ERRLEN])
{
    const struct fo_ctl_tls_peer *p = data;
    const char *cn = r->peer.cn, *ou = r->peer.ou[0] != '\0' ? r->peer.ou : "(none)";

    if (r->kind == FO_TLS_REFUSED_NAME)
        snprintf(why, FO_ERRLEN, "its certificate CN=%s does not name %s in its subjectAltName", cn, p->ip);
    else if (r->kind == FO_TLS_REFUSED_CHAIN)
        snprintf(why, FO_ERRLEN, "its certificate CN=%s is not trusted by the CA file: %s", cn,
                 X509_verify_cert_error_string(r->error));
    else if (r->peer.status == FO_TLS_ID_BAD_CN)
        snprintf(why, FO_ERRLEN, "its certificate needs exactly one CN");
    else
        snprintf(why, FO_ERRLEN, "its certificate CN=%s has role \"%s\", not \"%s\"", cn, ou,
                 fo_tls_role_name(FO_TLS_ROLE_CONTROLLER));
}

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
    fo_tls_ossl_check_init(&peer->check, s, FO_TLS_ROLE_CONTROLLER, word_refusal, peer);
    SSL_set_connect_state(s);
    return s;
}

int fo_ctl_tls_error(const struct fo_ctl_tls_peer *peer, int in_handshake, int ssl_err, int errno_saved, char *msg,
                     size_t msglen)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    int rc = FO_EPROTO;

    if (peer->check.why[0] != '\0') {
        snprintf(msg, msglen, "TLS: refused the controller: %s", peer->check.why);
        rc = FO_EPERM;
    } else if (fo_tls_ossl_cert_error(e) == FO_TLS_CERT_ERR_REFUSED) {
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
