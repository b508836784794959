/* Binlog salvage on the old primary's host (issue 13, docs/binlog-salvage.md): the
 * agent reads its local mysqld's binlog files with mariadb-binlog (agent config
 * binlog_reader) from a GTID position on, and answers the SQL text in chunks of at most
 * FO_SALVAGE_CHUNK_MAX bytes (proto/agent.proto SalvageBinlog / SalvageResult). The
 * RPC itself lives in agent/binlog.c (fo_agent_rpc_salvage, server_internal.h); this
 * header holds its pure parts, unit-tested with hostile input.
 *
 * What the agent never does: take a path from the request (the index comes from
 * binlog_index, or the single *.index of binlog_dir), read the binlog of a mysqld that
 * listens on the configured [mysql] port (a live server's binlog is still being
 * written and the failover fences it instead), read past salvage_max_bytes of output or
 * salvage_timeout_ms (it kills its own mariadb-binlog child by pid and says what it gave
 * up), or keep more than one read's output (the last one, until it was fully sent or a
 * new read starts). Any thread for the pure functions. */
#ifndef FO_AGENT_BINLOG_H
#define FO_AGENT_BINLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"

#define FO_SALVAGE_CHUNK_MAX (512u << 10) /* bytes of SQL in one answer */
#define FO_SALVAGE_MAX_FILES 4096         /* binlog files named by one index */
#define FO_SALVAGE_INDEX_MAX (4u << 20)   /* bytes of index file read */
#define FO_SALVAGE_GTID_LEN 64            /* "domain-server-seqno" */
#define FO_SALVAGE_START_LEN 4096         /* a GTID list in a request */

/* Parses the text of a binlog index file (one binlog path per line, relative paths
 * relative to the index file's directory, which is where mysqld resolves them when
 * log_bin names no directory): writes up to max absolute paths into files. Empty lines
 * are skipped. Returns 0, FO_ETOOBIG (more than max files), FO_EINVAL (a path too long,
 * a NUL byte, "..", a control character). */
int fo_binlog_index_parse(const char *index_path, const char *text, size_t len, char (*files)[FO_PATH_LEN],
                          unsigned max, unsigned *n, char err[FO_ERRLEN]);

/* A start position as a request may give it: "" or comma-separated
 * "domain-server-seqno" triples of decimal digits, at most FO_SALVAGE_START_LEN - 1
 * bytes. It becomes one argv word (never a shell), but a word starting with '-' or
 * holding anything else is refused all the same. */
bool fo_binlog_start_valid(const char *start);

/* Counts the transactions in mariadb-binlog's output as it streams by: every comment
 * line "#... GTID d-s-n ..." (the header of a GTID event) is one transaction. Lines
 * may be split across calls; a line longer than the carry buffer is not a GTID
 * header that matters (those are short) and is skipped. */
struct fo_binlog_scan {
    uint32_t transactions;
    char first_gtid[FO_SALVAGE_GTID_LEN];
    char last_gtid[FO_SALVAGE_GTID_LEN];
    char line[256]; /* the unfinished line */
    size_t line_len;
    bool line_long; /* the unfinished line is longer than line: skipped */
};
void fo_binlog_scan_init(struct fo_binlog_scan *sc);
void fo_binlog_scan_feed(struct fo_binlog_scan *sc, const char *buf, size_t len);

#endif
