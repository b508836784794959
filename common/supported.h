/* What failoverd, failover-agent and failoverctl say about the servers they support:
 * one text for the three programs' --help, the README and the packages'
 * descriptions (debian/control says the same in its own words). */
#ifndef FO_SUPPORTED_H
#define FO_SUPPORTED_H

#define FO_SUPPORTED_TEXT                                                               \
    "Supported servers: MariaDB 10.11 as shipped in Debian 12 (the version the tests\n" \
    "run against), GTID replication. Not supported yet: MySQL 8.0 and 8.4 (SHOW\n"      \
    "REPLICA STATUS, gtid_executed, super_read_only, auto-position).\n"

#endif
