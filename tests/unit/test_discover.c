/* controller/admin/discover.h's pure helper: the host part of a PROCESSLIST HOST value
 * (the address a replica's binlog dump thread connected from). The walk itself runs
 * against real mariadbd in tests/integration/test_discover.py. */
#include <string.h>

#include "controller/admin/discover.h"
#include "fo_test.h"

static void test_host_of(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *out;
    } cases[] = {
        {"10.0.0.5:41234", 0, "10.0.0.5"},
        {"127.0.0.1:5", 0, "127.0.0.1"},
        {"db2.example.com:33000", 0, "db2.example.com"},
        {"[::1]:5000", 0, "::1"},
        {"fe80::1", 0, "fe80::1"}, /* a bare IPv6 address: no port to strip */
        {"localhost", 0, ""},      /* a unix socket: no address */
        {"", 0, ""},
        {"[::1", FO_EINVAL, ""},
        {":5000", FO_EINVAL, ""},
        {"[]:1", FO_EINVAL, ""},
    };
    char out[FO_HOST_LEN], big[FO_HOST_LEN + 16];
    unsigned i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = fo_discover_host_of(cases[i].in, out, sizeof out);
        FO_CHECK_INT(rc, cases[i].rc);
        if (rc == 0) FO_CHECK_STR(out, cases[i].out);
    }
    FO_CHECK_INT(fo_discover_host_of(NULL, out, sizeof out), 0);
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    FO_CHECK_INT(fo_discover_host_of(big, out, sizeof out), FO_EINVAL); /* too long for a host */
}

FO_TEST_MAIN(FO_T(test_host_of))
