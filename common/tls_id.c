#include "common/tls_id.h"

#include <string.h>

static const struct {
    unsigned bit;
    const char *name;
} roles[] = {
    {FO_TLS_ROLE_CONTROLLER, "controller"},
    {FO_TLS_ROLE_AGENT, "agent"},
    {FO_TLS_ROLE_CLIENT, "client"},
};

unsigned fo_tls_role_parse(const char *s)
{
    size_t i;

    for (i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(s, roles[i].name) == 0) return roles[i].bit;
    return 0;
}

const char *fo_tls_role_name(unsigned role)
{
    size_t i;

    for (i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (role == roles[i].bit) return roles[i].name;
    return "unknown";
}

int fo_tls_node_uri_parse(const char *uri, size_t len, uint64_t *id)
{
    size_t plen = strlen(FO_TLS_NODE_URI_PREFIX), i;
    uint64_t v = 0;

    *id = 0;
    if (len < plen || memcmp(uri, FO_TLS_NODE_URI_PREFIX, plen) != 0) return FO_ENOTFOUND;
    /* Digits only, no leading zero, no overflow: one spelling per id, so two
     * certificates cannot name the same node in ways a comparison would miss. */
    if (len == plen || uri[plen] == '0') return FO_EINVAL;
    for (i = plen; i < len; i++) {
        unsigned d = (unsigned char)uri[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10) return FO_EINVAL;
        v = v * 10 + d;
    }
    *id = v;
    return 0;
}

const char *fo_tls_node_id_why(int status)
{
    switch (status) {
    case 0: return "";
    case FO_ENOTFOUND: return "its certificate binds no node id (no subjectAltName URI " FO_TLS_NODE_URI_PREFIX "N)";
    case FO_EPERM: return "its certificate's role is not controller";
    case FO_EINVAL: return "its certificate names more than one node id, or a malformed one";
    default: return "its node id cannot be read";
    }
}
