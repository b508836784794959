/* failover-agent configuration: an INI file parsed with libinih, in the style of
 * common/config.h (DESIGN.md §8).
 *
 *   [agent]
 *   listen = 10.0.0.11:7201            ; required, host:port of the agent RPC
 *   http_address = 127.0.0.1:9601      ; optional, IPv4:port for /metrics
 *   state_dir = /var/lib/failover-agent ; required, must exist; holds the epochs file
 *   ca_file = /etc/failoverd/tls/ca.crt ; required unless insecure = yes
 *   cert_file = /etc/failoverd/tls/agent.crt
 *   key_file = /etc/failoverd/tls/agent.key
 *   insecure = no                      ; yes: plain TCP, no authentication (tests only;
 *                                      ; a warning is logged at start)
 *   max_frame_bytes = 65536            ; request cap, 1024..1048576
 *   lease_read_only = yes              ; also fence the local mysqld (read_only=1,
 *                                      ; client sessions killed) when the writer VIP's
 *                                      ; lease runs out (DESIGN.md §7); see below
 *   arp_count = 3                      ; gratuitous ARP announcements after an add, 1..100
 *   arp_interval_ms = 200              ; spacing of the announcements, 1..60000
 *   log_level = info                   ; debug | info | warn | error
 *   handshake_timeout_ms = 1000        ; 100..60000: a TLS handshake not done by then is dropped
 *   max_conns = 64                     ; authenticated controller connections
 *   max_unauth = 64                    ; connections still in their TLS handshake
 *   max_unauth_per_source = 8          ; of those, from one IP address (at most max_unauth)
 *   http_max_conns = 128               ; HTTP connections, 2..
 *   http_max_per_source = 8            ; of those, from one IP address
 *   http_timeout_s = 5                 ; an idle HTTP connection is closed after this
 *   max_epoch_jump = 1000              ; refuse a request whose epoch is more than this
 *                                      ; above the highest seen for its cluster (0 for a
 *                                      ; cluster never seen), 1..1000000000; why and
 *                                      ; what it costs: agent/epoch.h
 *
 *   [mysql]                            ; optional: the local mysqld, for FenceMysql,
 *   host = 127.0.0.1                   ; Status and lease_read_only (TCP only)
 *   port = 3306
 *   user = failover_agent              ; required in [mysql]
 *   password_file = /etc/failoverd/agent.password ; required in [mysql]
 *   connect_timeout_ms = 1000          ; 50..60000
 *   timeout_ms = 5000                  ; 100..600000
 *   ssl_mode = preferred               ; off|preferred|required|verify_ca|verify_identity,
 *                                      ; as failoverd's [mysql] (common/config.h "MySQL
 *                                      ; connections"; the same plugin restriction applies)
 *   ssl_ca = /etc/failoverd/tls/db-ca.crt ; required by the verify modes; checked at load
 *   fence_kill_stopped = yes           ; a failover's FenceMysql whose SQL fence cannot
 *                                      ; complete kills (SIGKILL) the process listening on
 *                                      ; port if, and only if, it is STOPPED (state 'T':
 *                                      ; SIGSTOP); never a running, slow or traced one.
 *                                      ; docs/fence-stopped.md, agent/mysqldproc.h
 *   binlog_index = /var/lib/mysql/mysql-bin.index ; binlog salvage (agent/binlog.h,
 *                                      ; docs/binlog-salvage.md): the mysqld's index file,
 *   binlog_dir = /var/lib/mysql        ; or the directory holding exactly one *.index
 *                                      ; (neither: SalvageBinlog is refused)
 *   binlog_reader = /usr/bin/mariadb-binlog
 *   salvage_max_bytes = 67108864       ; 4096..1073741824: output cap of one read
 *   salvage_timeout_ms = 10000         ; 100..600000: time cap of one read
 *
 *   [cluster demo]                     ; one per cluster this host serves
 *   vip = 10.0.0.100/24 eth0           ; repeatable (up to FO_AGENT_MAX_VIPS): an address
 *                                      ; and the interface it may be put on; nothing else
 *                                      ; is ever managed. Each line is one lease: the
 *                                      ; writer VIP and reader VIPs are held, renewed and
 *                                      ; expire independently (agent/server.h).
 *                                      ; A section without vip lines is a VIP-less
 *                                      ; cluster (clients reach the servers another way):
 *                                      ; the agent serves it Status and FenceMysql only,
 *                                      ; and refuses AcquireVip for it.
 *
 * lease_read_only applies to the writer VIP's lease only: AcquireVip says whether the
 * VIP it gives is the cluster's writer VIP (proto/agent.proto, `writer`), and only the
 * expiry of such a lease fences the local mysqld (mysql/fence.h, without touching
 * semi-sync). A reader VIP that lapses (for instance one parked on the primary) only
 * loses its address. The agent undoes its own lease-expiry fence (read_only=0,
 * super_read_only=0) when the leader renews or re-acquires that writer VIP on this host
 * at the SAME epoch; never a FenceMysql's fence, never at another epoch (agent/server.h).
 * Without a [mysql] section the option does nothing. Default yes; `no` leaves a primary
 * cut off from the controllers writable for clients that reach it directly.
 *
 * Errors name the file, the line and the key ("agent.conf:7: [agent] arp_count: '0' is
 * out of range (1..100)"); missing keys name the section ("agent.conf: [agent] listen:
 * missing"). Unknown sections or keys and duplicate keys (except vip) are errors. */
#ifndef FO_AGENT_CONFIG_H
#define FO_AGENT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/vip.h"
#include "common/config.h"
#include "common/err.h"

#define FO_AGENT_MAX_CLUSTERS 64
#define FO_AGENT_MAX_VIPS 16 /* per cluster */
#define FO_AGENT_PASSWORD_LEN 256

struct fo_agent_cluster {
    char name[FO_NAME_LEN];
    unsigned n_vips;
    struct fo_vip vips[FO_AGENT_MAX_VIPS];
};

struct fo_agent_config {
    char path[FO_PATH_LEN];
    char listen[FO_ADDR_LEN];
    char http_address[FO_ADDR_LEN]; /* "" = no HTTP */
    char state_dir[FO_PATH_LEN];
    char ca_file[FO_PATH_LEN];
    char cert_file[FO_PATH_LEN];
    char key_file[FO_PATH_LEN];
    bool insecure;
    unsigned max_frame_bytes;
    bool lease_read_only; /* on the writer VIP lease's expiry (see above) */
    unsigned arp_count;
    unsigned arp_interval_ms;
    int log_level;
    unsigned max_epoch_jump; /* agent/epoch.h, FO_EPOCH_MAX_JUMP_DEFAULT */
    /* Connection budgets (agent/server.h, common/listener.h). */
    unsigned handshake_timeout_ms;
    unsigned max_conns;
    unsigned max_unauth;
    unsigned max_unauth_per_source;
    unsigned http_max_conns;
    unsigned http_max_per_source;
    unsigned http_timeout_s;

    bool mysql; /* a [mysql] section was given */
    char mysql_host[FO_HOST_LEN];
    uint16_t mysql_port;
    char mysql_user[FO_NAME_LEN];
    char mysql_password_file[FO_PATH_LEN];
    char mysql_password[FO_AGENT_PASSWORD_LEN]; /* read at load; never logged */
    unsigned mysql_connect_timeout_ms;
    unsigned mysql_timeout_ms;
    struct fo_mysql_tls mysql_tls; /* ssl_mode / ssl_ca; default preferred */
    bool fence_kill_stopped;       /* FenceMysql may SIGKILL a stopped mysqld (default yes) */
    /* Binlog salvage (agent/binlog.h, docs/binlog-salvage.md). */
    char binlog_index[FO_PATH_LEN];  /* the mysqld's binlog index file, or "" */
    char binlog_dir[FO_PATH_LEN];    /* else: the directory holding exactly one *.index */
    char binlog_reader[FO_PATH_LEN]; /* mariadb-binlog */
    unsigned salvage_max_bytes;      /* output cap of one read */
    unsigned salvage_timeout_ms;     /* time cap of one read */

    unsigned n_clusters;
    struct fo_agent_cluster clusters[FO_AGENT_MAX_CLUSTERS];
};

/* Fills c with defaults, then the file at path (the password file too). Returns 0 or
 * FO_ECONFIG / FO_EIO / FO_ENOMEM with "path:line: [section] key: reason" in err. */
int fo_agent_config_load(struct fo_agent_config *c, const char *path, char err[FO_ERRLEN]);

/* Same from a string (unit tests); name stands in for the path. */
int fo_agent_config_load_string(struct fo_agent_config *c, const char *name, const char *text, char err[FO_ERRLEN]);

/* The cluster named name, or NULL. */
const struct fo_agent_cluster *fo_agent_config_cluster(const struct fo_agent_config *c, const char *name);

#endif
