/* GTID position arithmetic (pure).
 *
 * MariaDB positions: comma-separated "domain-server-seqno" triples, at most one per
 * domain, e.g. "0-1-100,1-2-5" (empty string = empty position).
 * MySQL GTID sets: comma-separated "uuid:interval[:interval...]" with intervals "N" or
 * "N-M", e.g. "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7-9,uuid2:1-9"; whitespace
 * and newlines after commas are allowed (MySQL prints them).
 * Parsers reject anything else with FO_EINVAL and a reason; bounded to FO_GTID_MAX
 * domains / uuids and FO_GTID_MAX_INTERVALS intervals per uuid. */
#ifndef FO_GTID_H
#define FO_GTID_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define FO_GTID_MAX 64
#define FO_GTID_MAX_INTERVALS 64

struct fo_mariadb_gtid {
    uint32_t domain;
    uint32_t server;
    uint64_t seqno;
};

struct fo_mariadb_pos {
    unsigned n;
    struct fo_mariadb_gtid g[FO_GTID_MAX]; /* sorted by domain after parsing */
};

int fo_gtid_mariadb_parse(const char *s, struct fo_mariadb_pos *out, char err[FO_ERRLEN]);
/* Canonical text (sorted by domain). Returns 0 or FO_ETOOBIG. */
int fo_gtid_mariadb_format(const struct fo_mariadb_pos *p, char *out, size_t outlen);

/* Compares two positions domain by domain:
 *  FO_GTID_EQUAL, FO_GTID_AHEAD (a has everything b has, and more),
 *  FO_GTID_BEHIND, FO_GTID_DIVERGED (each has something the other lacks). */
enum fo_gtid_cmp { FO_GTID_EQUAL = 0, FO_GTID_AHEAD, FO_GTID_BEHIND, FO_GTID_DIVERGED };
enum fo_gtid_cmp fo_gtid_mariadb_compare(const struct fo_mariadb_pos *a, const struct fo_mariadb_pos *b);

/* Number of transactions a is ahead of b summed over domains (0 if none). */
uint64_t fo_gtid_mariadb_ahead_by(const struct fo_mariadb_pos *a, const struct fo_mariadb_pos *b);

/* Errant transactions of a server against a primary, from their gtid_binlog_state
 * (MariaDB: the last seqno of every (domain, server id) pair in the binary log, e.g.
 * "0-3-11460,0-1-11450"; "" = empty; entries in any order, at most FO_GTID_STATE_MAX,
 * a (domain, server id) pair at most once).
 *
 * The server has an errant transaction when, for some entry d-s-n of its state, the
 * primary has no entry for (d, s) or has one with a seqno below n: a transaction
 * that server s wrote in domain d and the primary never received. Comparing one
 * position per domain is not enough: in "0-1-11451" against "0-1-11450,0-3-11460"
 * the primary is ahead in domain 0, yet it lacks 0-1-11451 (issue 8.8). This relies
 * on the primary logging what it replicates (log_slave_updates, DESIGN.md §11) and
 * on seqnos growing within a domain (gtid_strict_mode).
 *
 * Returns 1 and writes the server's errant entries into out ("0-1-11451", joined
 * with ",", in the server's order; if they do not fit, as many whole entries as fit
 * followed by ",..." or just "..."), 0 when there are none (out = ""), or -FO_EINVAL
 * (negative, unlike most fo_ functions, so that "< 0" is the test) with a reason in
 * err naming the side when either string is NULL or does not parse (out = ""). out
 * may be NULL when outlen is 0. Pure: no allocation; stack use is bounded by
 * FO_GTID_STATE_MAX. */
#define FO_GTID_STATE_MAX 1024 /* entries per state: more than any FO_GTIDSTATE_LEN-byte text holds */
int fo_gtid_state_errant(const char *server_state, const char *primary_state, char *out, size_t outlen,
                         char err[FO_ERRLEN]);

struct fo_mysql_interval {
    uint64_t start, end;
}; /* inclusive */
struct fo_mysql_uuid_set {
    uint8_t uuid[16];
    unsigned n;
    struct fo_mysql_interval iv[FO_GTID_MAX_INTERVALS]; /* sorted, merged */
};
struct fo_mysql_gtid_set {
    unsigned n;
    struct fo_mysql_uuid_set u[FO_GTID_MAX]; /* sorted by uuid */
};

int fo_gtid_mysql_parse(const char *s, struct fo_mysql_gtid_set *out, char err[FO_ERRLEN]);
int fo_gtid_mysql_format(const struct fo_mysql_gtid_set *g, char *out, size_t outlen);
/* 1 if every transaction of a is in b. */
int fo_gtid_mysql_subset(const struct fo_mysql_gtid_set *a, const struct fo_mysql_gtid_set *b);
/* Transactions in a but not in b (count). */
uint64_t fo_gtid_mysql_missing(const struct fo_mysql_gtid_set *a, const struct fo_mysql_gtid_set *b);

#endif
