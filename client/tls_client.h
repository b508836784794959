/* failoverctl's side of the admin RPC's mutual TLS (DESIGN.md §1; the controller's
 * side is common/tls.h under controller/admin/admin.c).
 *
 * failoverctl is a blocking poll() client without libuv, so OpenSSL runs directly on
 * rpc.c's non-blocking sockets: rpc.c drives SSL_connect / SSL_write / SSL_read and
 * waits in poll() for what SSL_ERROR_WANT_READ / _WANT_WRITE ask for.
 *
 * What is checked: the controller's certificate must chain to the CA file, carry the
 * role "controller" (its subject's single OU, as made by deploy/gen-certs.sh) and name
 * the IP address actually dialled in its subjectAltName (never the CN). failoverctl
 * presents the certificate and key given (role client, or controller); the controller
 * decides whether it accepts that role. TLS 1.2 is the minimum; no session reuse.
 *
 * Single-threaded; no global state. The context is freed by the caller after every
 * session made from it is freed. */
#ifndef FO_CTL_TLS_CLIENT_H
#define FO_CTL_TLS_CLIENT_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "common/err.h"
#include "common/tls_ossl.h"

struct fo_ctl_tls;

/* What one session checks and, when it refuses the server, why. Owned by the caller
 * (one per connection) and must outlive the session. */
struct fo_ctl_tls_peer {
    char ip[64];               /* the IP address dialled, which the certificate must name */
    struct fo_tls_check check; /* private: check.why is set when we refused the server */
};

/* Loads the CA, this client's certificate chain and key. Checks that the key matches
 * the certificate and that the certificate chains to the CA, so that a wrong file is
 * reported here rather than as a refusal by the controller. Returns 0 with *out set,
 * or FO_ECONFIG (err names the file and what is wrong) or FO_ENOMEM. */
int fo_ctl_tls_new(struct fo_ctl_tls **out, const char *ca_file, const char *cert_file, const char *key_file,
                   char err[FO_ERRLEN]);

/* NULL is ignored. */
void fo_ctl_tls_free(struct fo_ctl_tls *t);

/* A client session on the connected socket fd that will verify the server as above
 * against peer->ip (filled by the caller). Returns NULL (err filled) if OpenSSL cannot
 * make it or peer->ip is not an IP address. The caller owns the SSL (SSL_free). */
SSL *fo_ctl_tls_session(struct fo_ctl_tls *t, int fd, struct fo_ctl_tls_peer *peer, char err[FO_ERRLEN]);

/* After an SSL_connect (in_handshake), SSL_write or SSL_read failed with
 * SSL_get_error() ssl_err other than WANT_READ/WANT_WRITE: writes why into msg
 * (msglen bytes), clears OpenSSL's error queue and returns FO_EPERM (we refused the
 * server's certificate, or it refused ours), FO_ECLOSED (the connection was closed),
 * FO_EIO (socket error) or FO_EPROTO (anything else). errno_saved is errno right
 * after the call, for SSL_ERROR_SYSCALL. */
int fo_ctl_tls_error(const struct fo_ctl_tls_peer *peer, int in_handshake, int ssl_err, int errno_saved, char *msg,
                     size_t msglen);

#endif
