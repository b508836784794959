/* failoverctl's side of the admin RPC: one fo.Request frame out, one fo.Response
 * frame back (common/frame.h), each call over its own connection: mutual TLS
 * (tls_client.h) unless the caller passes no TLS context (--insecure: plain TCP).
 *
 * Several calls can run at once (status asks every member), driven by one poll()
 * loop and bounded by one monotonic deadline, so a dead member costs the timeout
 * once, not once per member. Sockets are non-blocking from the start: connect, the
 * TLS handshake, send and receive each wait in poll() for at most the time left.
 * Name resolution (getaddrinfo) is the only step not bounded by the deadline. The
 * server's certificate must name the IP address dialled (for a host name: the
 * address it resolved to). SIGPIPE is ignored while calls run.
 *
 * Everything read from the network is bounded: the reply frame may not exceed
 * FO_FRAME_RESPONSE_MAX, and a frame that is not a response, or a payload that does
 * not unpack as fo.Response, fails the call with FO_EPROTO ("bad reply: ...").
 * Single-threaded; no global state. */
#ifndef FO_CTL_RPC_H
#define FO_CTL_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "common/frame.h"
#include "failoverd.pb-c.h"
#include "tls_client.h"

struct addrinfo;

struct fo_ctl_call {
    char address[FO_ADDR_LEN]; /* "host:port" as given */
    /* Results, valid once fo_ctl_rpc_run returned (or init failed). */
    int rc;              /* 0, FO_EUNREACHABLE, FO_ETIMEDOUT, FO_EPROTO, FO_ECLOSED, FO_EIO,
                           FO_ENOMEM, FO_EINVAL (bad address), FO_ETOOBIG or FO_EPERM
                           (TLS: either side refused the other's certificate) */
    char err[FO_ERRLEN]; /* "HOST:PORT: reason" when rc != 0 */
    Fo__Response *resp;  /* when rc == 0; owned by the call */
    int request_sent;    /* 1 once a byte of the request may have been written: from then
                            on the controller may have received (and acted on) it */
    /* Set by the caller after init, before fo_ctl_rpc_run: the bound on connecting and
     * the TLS handshake (0: only the run's deadline). A call still connecting then
     * finishes with FO_ETIMEDOUT and request_sent 0. */
    unsigned connect_timeout_ms;
    /* Private. */
    int phase;
    short events; /* what poll() waits for */
    int fd;
    struct fo_ctl_tls *tls_ctx; /* NULL: plain TCP */
    SSL *ssl;
    struct fo_ctl_tls_peer peer;
    char host[FO_HOST_LEN];
    uint16_t port;
    struct addrinfo *ais, *ai; /* resolved list and the address being tried */
    uint8_t *out;              /* header + packed request */
    size_t outlen, sent;
    size_t received; /* plain TCP: reply bytes so far */
    struct fo_frame_decoder dec;
    int dec_open;
};

/* Prepares a call of req to address, over TLS with tls (NULL: plain TCP; tls must
 * outlive the call). The request is packed here, so req need not outlive this
 * function. Returns 0; or an error code, in which case the call is already finished
 * with rc/err set (fo_ctl_rpc_run skips it). Either way the call must be released
 * with fo_ctl_call_free. */
int fo_ctl_call_init(struct fo_ctl_call *c, const char *address, const Fo__Request *req, struct fo_ctl_tls *tls);

/* Runs the n calls to completion or until timeout_ms (monotonic) have passed; calls
 * still running then finish with FO_ETIMEDOUT, and so does a call still connecting
 * (or in its TLS handshake) after its connect_timeout_ms. Afterwards every call has
 * rc set. */
void fo_ctl_rpc_run(struct fo_ctl_call *calls, size_t n, unsigned timeout_ms);

/* Closes the socket (and TLS session) and frees the reply and buffers. Safe to call
 * twice. */
void fo_ctl_call_free(struct fo_ctl_call *c);

#endif
