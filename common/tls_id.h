/* Who a certificate says its holder is (DESIGN.md §1, §9, §10): the role bits, the
 * node-id URI a controller certificate binds, and their names. Pure text rules with no
 * OpenSSL and no loop, shared by the libuv TLS layer (tls.h), the OpenSSL half both
 * the daemons and failoverctl use (tls_ossl.h), and whoever logs a peer; the rules
 * themselves are explained in tls.h ("Authentication", "Node ids"). */
#ifndef FO_TLS_ID_H
#define FO_TLS_ID_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Roles, as a bitmask of accepted roles. */
#define FO_TLS_ROLE_CONTROLLER 0x1u
#define FO_TLS_ROLE_AGENT 0x2u
#define FO_TLS_ROLE_CLIENT 0x4u
#define FO_TLS_ROLE_ALL 0x7u

#define FO_TLS_CN_MAX 64 /* X.520 upper bound for a common name */

#define FO_TLS_NODE_URI_PREFIX "failoverd://node/" /* + decimal node id, see "Node ids" */

/* The role bit for "controller" / "agent" / "client", or 0 for anything else. */
unsigned fo_tls_role_parse(const char *s);
/* The name of one role bit; "unknown" otherwise. Never NULL. */
const char *fo_tls_role_name(unsigned role);

/* Reads a subjectAltName URI (len bytes, not NUL-terminated: as the certificate holds
 * it). Returns 0 with *id set if it is a node URI (FO_TLS_NODE_URI_PREFIX then a
 * decimal id 1..2^64-1 without sign, leading zero, or anything after it), FO_ENOTFOUND
 * if it does not start with the prefix (another URI: not ours, ignored), or FO_EINVAL
 * if it starts with the prefix but the rest is not such an id. */
int fo_tls_node_uri_parse(const char *uri, size_t len, uint64_t *id);
/* Text for fo_tls_conn_peer_node_id()'s status: "no node id in its certificate", ...
 * Never NULL. */
const char *fo_tls_node_id_why(int status);

#endif
