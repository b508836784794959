/* failoverd configuration: an INI file (my.cnf / MHA style) parsed with libinih.
 *
 *   [failoverd]
 *   node_id = 1                          ; required, 1..2^63
 *   raft_address = 127.0.0.1:7101        ; required, IPv4 literal:port (libraft 0.22)
 *   admin_address = 127.0.0.1:7001       ; required, host:port for the admin RPC
 *   http_address = 127.0.0.1:9501        ; required, host:port for /metrics /health /leader
 *   data_dir = /var/lib/failoverd/1      ; required; raft log + sqlite store live here
 *   election_timeout_ms = 600            ; 100..60000 (libraft waits 1x..2x this)
 *   heartbeat_timeout_ms = 60            ; 10..election_timeout_ms/2
 *   snapshot_threshold = 1024            ; 4..1000000 entries
 *   snapshot_trailing = 128              ; 0..1000000 entries
 *   max_frame_bytes = 1048576            ; admin RPC request cap, 1024..67108864
 *   log_level = info                     ; debug | info | warn | error
 *   secrets_dir = /etc/failoverd         ; absolute; every cluster's password_file and
 *                                        ; repl_password_file must resolve inside it
 *                                        ; (see "Password files" below)
 *   ui = yes                             ; yes|no: the read-only dashboard /ui and its
 *                                        ; JSON /api/v1 on http_address (/check stays on)
 *
 *   [peer 1]                             ; one section per initial voter (incl. self)
 *   raft_address = 127.0.0.1:7101
 *   admin_address = 127.0.0.1:7001
 *   http_address = 127.0.0.1:9501        ; optional
 *
 *   [probe]
 *   interval_ms = 500                    ; 50..60000
 *   connect_timeout_ms = 500             ; 50..60000
 *   read_timeout_ms = 1000               ; 50..60000
 *   down_after = 3                       ; consecutive failures, 1..100
 *
 *   [mysql]                              ; optional: how this node connects to MySQL servers
 *   ssl_mode = preferred                 ; off | preferred | required | verify_ca |
 *                                        ; verify_identity (see "MySQL connections" below)
 *   ssl_ca = /etc/failoverd/tls/db-ca.crt ; CA file; required by verify_ca / verify_identity
 *
 *   [cluster demo]                       ; zero or more; seeded into the replicated store
 *   user = failoverd                     ; required
 *   password_file = /etc/failoverd/demo.password  ; required; first line is the password;
 *                                        ; a relative path is taken inside secrets_dir
 *   ssl_mode = verify_identity           ; optional: overrides [mysql] for this cluster
 *   ssl_ca = /etc/failoverd/tls/demo-ca.crt ; optional: overrides [mysql] ssl_ca
 *   instance = 127.0.0.1:33061           ; one per server: HOST:PORT [RULE]
 *   instance = 127.0.0.1:33062 prefer    ; RULE: prefer|neutral|prefer_not|must_not
 *   repl_user = repl                     ; optional: replication account used to point a
 *   repl_password_file = /etc/failoverd/demo.repl   ; former primary at the new one
 *   semi_sync = no                       ; yes|no: set up AFTER_SYNC semi-sync on failover
 *   anti_flap_s = 3600                   ; 1..604800 s: no automatic failover this long after one (0 = default)
 *   max_lag_s = 0                        ; 0..86400: replicas lagging more are not promoted (0 = no limit)
 *   vip = 10.231.0.100/24                ; optional writer VIP (IPv4/prefix), moved by failover-agent
 *   vip_interface = eth0                 ; required with vip: interface on the DB hosts
 *   agent_port = 7201                    ; 1..65535: failover-agent port on every instance's host
 *   vip_lease_ms = 2000                  ; 500..60000: VIP lease; renewed every lease/4
 *   reader_vip = 10.231.0.101/24         ; repeatable (at most 8): reader VIPs, spread over
 *                                        ; healthy replicas (MMM style), on vip_interface
 *   reader_max_lag_s = 30                ; 1..86400: a replica lagging more loses its reader VIPs
 *   co_primaries = 10.0.0.1:3306, 10.0.0.2:3306  ; optional (co-primary / MMM mode): exactly
 *                                        ; two distinct servers, both listed as instance
 *   rediscover_interval_s = 0            ; 0 = off, else 5..86400: the leader walks the
 *                                        ; topology from the members this often and reports
 *                                        ; unregistered and vanished replicas
 *   adopt_replicas = no                  ; yes|no: register the new replicas rediscovery
 *                                        ; finds (needs rediscover_interval_s)
 *
 *   [tls]                                ; mutual TLS for the admin RPC and the agent RPC
 *   ca_file = /etc/failoverd/tls/ca.crt  ; required unless insecure = yes
 *   cert_file = /etc/failoverd/tls/ctl1.crt  ; this node's certificate (role controller)
 *   key_file = /etc/failoverd/tls/ctl1.key
 *   insecure = no                        ; yes: plain TCP, no authentication (tests only;
 *                                        ; logged as a warning at start)
 *   The [tls] section is required: a node without it refuses to start.
 *
 *   [failover]                           ; node-local failover settings (all optional)
 *   pre_failover = /etc/failoverd/pre.sh ; absolute path, must be an executable file
 *   post_failover = /etc/failoverd/post.sh
 *   post_failover_failed = /etc/failoverd/failed.sh
 *   hook_timeout_ms = 10000              ; 100..600000
 *   confirm_window_ms = 5000             ; 500..60000: how fresh a follower's verdict must be
 *   relay_wait_ms = 10000                ; 100..600000: bound on waiting for relay logs
 *   step_timeout_ms = 10000              ; 500..600000: bound on each step's SQL
 *   tilt_grace_ms = 5000                 ; 0..600000: no decision this long after a stall
 *   fault_injection = none               ; TEST ONLY: none | exit_after_begin (the leader
 *                                        ; exits right after a failover begin commits) |
 *                                        ; exit_after:STEP (exits right after STEP commits) |
 *                                        ; drop_run_after:STEP (the run dies after STEP, the
 *                                        ; node stays leader: the next tick must re-drive it);
 *                                        ; STEP: pre_hook fence choose promote repoint vip
 *
 * MySQL connections (DESIGN.md §10). Every connection failoverd and failover-agent
 * make is restricted to the authentication plugins that never reveal the password
 * to the server (fo_mysql_auth_plugins): mysql_native_password and client_ed25519,
 * plus caching_sha2_password and sha256_password in the verify modes only, since
 * their full authentication sends the password itself (in cleartext inside TLS, or
 * RSA-encrypted with a key the server hands out). mysql_clear_password and dialog
 * are never allowed. ssl_mode is MySQL's --ssl-mode:
 *   off              plain TCP;
 *   preferred        TLS if the server offers it, without verification (default:
 *                    protects against a passive eavesdropper only);
 *   required         TLS or no connection; the certificate is not checked;
 *   verify_ca        required + the certificate chains to ssl_ca;
 *   verify_identity  verify_ca + the certificate names the instance's host as
 *                    configured (DNS name or IP address in subjectAltName/CN).
 * Settings are node-local, like password files: a cluster registered at run time
 * (`failoverctl cluster add`) uses [mysql]; a [cluster] section may override both
 * keys for its cluster (fo_config_cluster_tls). A verify mode without ssl_ca, or an
 * ssl_ca that cannot be opened, is a configuration error.
 *
 * Password files. A cluster's password_file and repl_password_file are read by every
 * controller and their first line is sent (as a scramble) to the cluster's servers,
 * so whoever can register a cluster must not be able to name an arbitrary file: both
 * must resolve (realpath(3), symbolic links followed) to a file inside secrets_dir
 * (default /etc/failoverd). This is checked when the config is loaded (for files
 * that exist then; a missing file fails the start-up read instead), when
 * `failoverctl cluster add` reaches the leader, and each time the file is read
 * (fo_read_secret_file).
 *
 * A node whose own node_id is listed in a [peer N] section bootstraps the initial
 * configuration made of all [peer] sections (every node must list the same set). A
 * node not listed starts empty and waits to be added with `failoverctl member add`.
 *
 * Errors name the file, the line and the key:
 *   "/etc/failoverd.conf:12: [probe] interval_ms: '5x' is not a number"
 * Missing required keys name the section ("...: [failoverd] node_id: missing").
 * Unknown sections or keys are errors (a typo must not be silently ignored). */
#ifndef FO_CONFIG_H
#define FO_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define FO_ADDR_LEN 128 /* "host:port" incl. "[v6]:port" */
#define FO_NAME_LEN 64  /* cluster names: [A-Za-z0-9_.-]{1,63} */
#define FO_HOST_LEN 100
#define FO_PATH_LEN 512
#define FO_MAX_PEERS 16
/* How many servers one cluster may list: a replication topology, not a fleet. This
 * is the only compile-time count in the replicated state (the FSM refuses a 257th
 * instance of one cluster on every node alike); how many clusters and servers one
 * controller cluster watches is [limits] max_clusters / max_servers. */
#define FO_MAX_INSTANCES_PER_CLUSTER 256
/* [limits] max_clusters and max_servers: defaults and the largest accepted value. */
#define FO_DEFAULT_MAX_CLUSTERS 100000
#define FO_DEFAULT_MAX_SERVERS 100000
#define FO_LIMIT_MAX_WATCHED 10000000
#define FO_VIP_LEN 20    /* "255.255.255.255/32" */
#define FO_IFNAME_LEN 16 /* IF_NAMESIZE */
#define FO_DEFAULT_AGENT_PORT 7201
#define FO_DEFAULT_VIP_LEASE_MS 2000
/* Raft timing (docs/vip-leader-change.md). A follower starts an election 1x..2x the
 * election timeout after it last heard from the leader, checked on libraft's tick of
 * one heartbeat timeout. 600 ms notices a dead leader within 0.6-1.26 s, and is still
 * ten heartbeats (and far more than a LAN round trip or a loaded 2-core host's loop
 * stall) away from a spurious election; pre-vote (raft/node.c) keeps a node that was
 * cut off from disrupting a healthy leader when it comes back. */
#define FO_DEFAULT_ELECTION_TIMEOUT_MS 600
#define FO_DEFAULT_HEARTBEAT_TIMEOUT_MS 60
/* What a leader change takes besides the election: vote round trips, the new leader's
 * barrier and its monitor tick, the connection to the holder's agent. */
#define FO_LEADER_HANDOVER_SLACK_MS 100
#define FO_MAX_READER_VIPS 8
#define FO_DEFAULT_READER_MAX_LAG_S 30
#define FO_DEFAULT_SECRETS_DIR "/etc/failoverd"
/* co_primaries in its canonical text form "h1:p1,h2:p2" ("[v6]:p" for IPv6). */
#define FO_CO_PRIMARIES_LEN (2 * FO_ADDR_LEN + 2)
/* rediscover_interval_s: 0 = off, else FO_REDISCOVER_MIN_S..FO_REDISCOVER_MAX_S. */
#define FO_REDISCOVER_MIN_S 5
#define FO_REDISCOVER_MAX_S 86400

/* MySQL's --ssl-mode, for connections to MySQL/MariaDB servers (see above). */
enum fo_ssl_mode {
    FO_SSL_PREFERRED = 0, /* the default */
    FO_SSL_OFF = 1,
    FO_SSL_REQUIRED = 2,
    FO_SSL_VERIFY_CA = 3,
    FO_SSL_VERIFY_IDENTITY = 4,
};

/* TLS settings of a MySQL connection. A zeroed struct is the default (preferred, no
 * CA). ca is required by the verify modes. */
struct fo_mysql_tls {
    enum fo_ssl_mode mode;
    char ca[FO_PATH_LEN]; /* "" = none */
};

enum fo_rule { FO_RULE_NEUTRAL = 0, FO_RULE_PREFER = 1, FO_RULE_PREFER_NOT = 2, FO_RULE_MUST_NOT = 3 };

struct fo_peer {
    uint64_t id;
    char raft_address[FO_ADDR_LEN];
    char admin_address[FO_ADDR_LEN];
    char http_address[FO_ADDR_LEN]; /* "" if not given */
};

struct fo_instance_cfg {
    char host[FO_HOST_LEN];
    uint16_t port;
    enum fo_rule rule;
};

struct fo_cluster_cfg {
    char name[FO_NAME_LEN];
    char user[FO_NAME_LEN];
    char password_file[FO_PATH_LEN];
    char repl_user[FO_NAME_LEN];          /* "" if not set */
    char repl_password_file[FO_PATH_LEN]; /* "" if not set */
    struct fo_mysql_tls tls;              /* [mysql] unless overridden in the section */
    bool semi_sync;
    unsigned anti_flap_s;
    unsigned max_lag_s;
    char vip[FO_VIP_LEN]; /* "a.b.c.d/len", "" = no writer VIP */
    char vip_interface[FO_IFNAME_LEN];
    unsigned agent_port; /* failover-agent's port on each instance's host */
    unsigned vip_lease_ms;
    unsigned n_reader_vips;
    char reader_vips[FO_MAX_READER_VIPS][FO_VIP_LEN];
    unsigned reader_max_lag_s;
    char co_primaries[FO_CO_PRIMARIES_LEN]; /* canonical "h1:p1,h2:p2", "" = not co-primary */
    unsigned rediscover_interval_s;         /* 0 = off */
    bool adopt_replicas;                    /* only with rediscover_interval_s */
    unsigned n_instances;
    struct fo_instance_cfg *instances; /* malloc'd, n_instances entries */
};

struct fo_probe_cfg {
    unsigned interval_ms;
    unsigned connect_timeout_ms;
    unsigned read_timeout_ms;
    unsigned down_after;
};

/* TEST ONLY fault injection ([failover] fault_injection). The *_AFTER_STEP faults name
 * a failover step in fault_step (fo.FailoverStep: 1 pre_hook .. 6 vip). */
enum fo_fault {
    FO_FAULT_NONE = 0,
    FO_FAULT_EXIT_AFTER_BEGIN = 1,    /* the leader exits right after FailoverBegin commits */
    FO_FAULT_EXIT_AFTER_STEP = 2,     /* the leader exits right after that step commits */
    FO_FAULT_DROP_RUN_AFTER_STEP = 3, /* the run dies after that step, the node stays leader */
};

struct fo_failover_cfg {
    char pre_failover[FO_PATH_LEN]; /* "" = none */
    char post_failover[FO_PATH_LEN];
    char post_failover_failed[FO_PATH_LEN];
    unsigned hook_timeout_ms;
    unsigned confirm_window_ms;
    unsigned relay_wait_ms;
    unsigned step_timeout_ms;
    unsigned tilt_grace_ms;
    enum fo_fault fault;
    int fault_step; /* for the *_AFTER_STEP faults */
};

struct fo_tls_cfg {
    char ca_file[FO_PATH_LEN];
    char cert_file[FO_PATH_LEN];
    char key_file[FO_PATH_LEN];
    bool insecure;
};

/* [limits] (all optional): connection budgets (DESIGN.md §10, common/listener.h), and
 * how much one controller cluster is asked to watch.
 *   handshake_timeout_ms = 1000   ; 100..60000: a TLS handshake not done by then is dropped
 *   admin_max_conns = 256         ; authenticated admin connections (failoverctl, controllers)
 *   admin_reserved_conns = 32     ; more, for controller certificates only (verdicts, forwarding)
 *   max_unauth = 64               ; admin connections still in their handshake
 *   max_unauth_per_source = 8     ; of those, from one IP address (at most max_unauth)
 *   trusted_unauth = 16           ; more handshake slots for the [peer] addresses
 *   http_max_conns = 128          ; HTTP connections (/metrics, /health, /leader), 2..
 *   http_max_per_source = 8       ; of those, from one IP address
 *   http_timeout_s = 5            ; an HTTP connection idle this long is closed
 *   max_clusters = 100000         ; 1..10000000 registered clusters
 *   max_servers = 100000          ; 1..10000000 registered instances, all clusters together
 * max_clusters and max_servers are resource guards, not array sizes: the controller's
 * memory grows with what is registered (about 10 KB per watched server on the leader,
 * README "Scale"). The config file's [cluster] sections must fit them (else the load
 * fails naming the first section or instance beyond), and the leader checks them
 * again before it proposes a cluster or instance registration (fo_store_check_room):
 * "failoverctl cluster add" beyond them is refused with the limit's name. The
 * replicated state machine itself never counts clusters, so nodes whose [limits]
 * differ still apply the same log alike; only the leader's values are enforced. */
struct fo_limits_cfg {
    unsigned handshake_timeout_ms;
    unsigned admin_max_conns;
    unsigned admin_reserved_conns;
    unsigned max_unauth;
    unsigned max_unauth_per_source;
    unsigned trusted_unauth;
    unsigned http_max_conns;
    unsigned http_max_per_source;
    unsigned http_timeout_s;
    unsigned max_clusters;
    unsigned max_servers;
};

/* The defaults above. */
void fo_limits_defaults(struct fo_limits_cfg *l);

struct fo_config {
    char path[FO_PATH_LEN];
    uint64_t node_id;
    char raft_address[FO_ADDR_LEN];
    char admin_address[FO_ADDR_LEN];
    char http_address[FO_ADDR_LEN];
    char data_dir[FO_PATH_LEN];
    unsigned election_timeout_ms;
    unsigned heartbeat_timeout_ms;
    unsigned snapshot_threshold;
    unsigned snapshot_trailing;
    unsigned max_frame_bytes;
    int log_level;                 /* enum fo_log_level */
    char secrets_dir[FO_PATH_LEN]; /* realpath'd at load when it exists */
    bool ui;                       /* serve /ui and /api/v1 on the HTTP port */
    struct fo_mysql_tls mysql_tls; /* [mysql]: the default for every cluster */
    unsigned n_peers;
    struct fo_peer peers[FO_MAX_PEERS];
    struct fo_probe_cfg probe;
    struct fo_failover_cfg failover;
    struct fo_tls_cfg tls;
    struct fo_limits_cfg limits;
    unsigned n_clusters;
    struct fo_cluster_cfg *clusters; /* malloc'd, n_clusters entries */
    unsigned *by_name;               /* malloc'd: cluster indexes sorted by name, or NULL */
};

/* Fills c with defaults, then the file at path. On error returns FO_ECONFIG (or
 * FO_EIO / FO_ENOMEM), writes "path:line: [section] key: reason" into err, and
 * leaves c freed (safe to call fo_config_free again). */
int fo_config_load(struct fo_config *c, const char *path, char err[FO_ERRLEN]);

/* Same, from an in-memory string (unit tests); `name` stands in for the path. */
int fo_config_load_string(struct fo_config *c, const char *name, const char *text, char err[FO_ERRLEN]);

void fo_config_free(struct fo_config *c);

/* Validated parsers shared with failoverctl's argument checks. All return 0 or
 * FO_EINVAL with a reason in err. */
/* "1.2.3.4:5", "host.name:5", "[::1]:5" -> host (without brackets) and port 1..65535. */
int fo_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port, char err[FO_ERRLEN]);
/* "a.b.c.d:port" only (raft addresses must be IPv4 literals with libraft 0.22). */
int fo_parse_ipv4_port(const char *s, char err[FO_ERRLEN]);
/* True when a:port_a and b:port_b name the same endpoint as far as can be told without
 * DNS: the ports are equal and the hosts are
 *  - both IP literals (what inet_pton(3) accepts; an IPv6 literal may be bracketed)
 *    for the same address; an IPv4 address equals its IPv4-mapped IPv6 form
 *    ("10.0.0.1" == "::ffff:10.0.0.1", "::1" == "0:0:0:0:0:0:0:1"), or
 *  - both host names equal ignoring ASCII case and one trailing dot
 *    ("DB1.example.com." == "db1.example.com").
 * A literal never equals a name ("localhost" != "127.0.0.1": that needs a lookup), and
 * only inet_pton's dotted quad is a literal: "010.0.0.1" is treated as a name, so it
 * is not "10.0.0.1" (getaddrinfo would read it as octal, 8.0.0.1). NULL or empty
 * hosts are never the same as anything. Pure; for comparing a replica's Master_Host
 * with a configured instance. */
bool fo_addr_same(const char *a, uint16_t port_a, const char *b, uint16_t port_b);
/* Decimal unsigned integer within [min, max]; rejects sign, spaces, trailing junk. */
int fo_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, char err[FO_ERRLEN]);
/* "prefer" | "neutral" | "prefer_not" | "must_not" (also MHA-style "candidate"
 * -> prefer, "no_master" -> must_not). */
int fo_parse_rule(const char *s, enum fo_rule *out, char err[FO_ERRLEN]);
const char *fo_rule_name(enum fo_rule r);
/* One server: host (without brackets) and port. */
struct fo_endpoint {
    char host[FO_HOST_LEN];
    uint16_t port;
};
/* co_primaries: "H1:P1,H2:P2" (blanks around the comma allowed) -> the two endpoints,
 * in the order given. Exactly two, each a valid fo_parse_hostport, not the same
 * server (fo_addr_same). "" is FO_EINVAL too: callers treat "" as "not set" first.
 * canon (may be NULL; FO_CO_PRIMARIES_LEN bytes) receives the canonical text
 * "h1:p1,h2:p2", which is what the config, the store and ClusterAdd carry. Pure;
 * returns 0 or FO_EINVAL with a reason in err. */
int fo_parse_co_primaries(const char *s, struct fo_endpoint out[2], char *canon, char err[FO_ERRLEN]);
/* rediscover_interval_s: 0 (off) or FO_REDISCOVER_MIN_S..FO_REDISCOVER_MAX_S. 0 or
 * FO_EINVAL with a reason. */
int fo_check_rediscover_interval(unsigned s, char err[FO_ERRLEN]);
/* "a.b.c.d/len" (len 0..32; "/len" required) -> FO_EINVAL with a reason otherwise. */
int fo_parse_cidr4(const char *s, char err[FO_ERRLEN]);
/* A Linux interface name: 1..15 bytes, no '/', ':' or whitespace. */
int fo_check_ifname(const char *s, char err[FO_ERRLEN]);
/* [A-Za-z0-9_.-]{1,63} */
int fo_check_name(const char *s, char err[FO_ERRLEN]);
/* Reads the first line of a password file (max 255 bytes, trailing newline removed).
 * Any readable regular file: for files named by the local operator only (the agent's
 * own config). A cluster's files go through fo_read_secret_file. */
int fo_read_password_file(const char *path, char *out, size_t outlen, char err[FO_ERRLEN]);

/* Checks that path resolves inside dir (both absolute): realpath(3) of each, then the
 * resolved path must start with the resolved dir and a '/'. A path with "." or ".."
 * components, or one that does not exist, is refused too. Nothing is read. Returns 0,
 * or FO_EPERM ("... is outside secrets_dir ...") / FO_EINVAL with a reason in err.
 * On success resolved (may be NULL; FO_PATH_LEN bytes) holds the resolved path. */
int fo_secret_path_check(const char *dir, const char *path, char *resolved, char err[FO_ERRLEN]);

/* fo_secret_path_check, then fo_read_password_file's rules, on the file opened
 * beneath dir without leaving it (openat2 RESOLVE_BENEATH where the kernel has it,
 * else the resolved path with O_NOFOLLOW), so a link swapped in after the check
 * cannot lead outside. The file is not opened at all when the check fails. */
int fo_read_secret_file(const char *dir, const char *path, char *out, size_t outlen, char err[FO_ERRLEN]);

/* "off" | "preferred" | "required" | "verify_ca" | "verify_identity" (also with '-'
 * and in upper case, as my.cnf writes them). 0 or FO_EINVAL with a reason. */
int fo_parse_ssl_mode(const char *s, enum fo_ssl_mode *out, char err[FO_ERRLEN]);
const char *fo_ssl_mode_name(enum fo_ssl_mode m);

/* The comma-separated client authentication plugins a connection in mode m may use
 * (MARIADB_OPT_RESTRICTED_AUTH); see "MySQL connections" above. Never NULL. */
const char *fo_mysql_auth_plugins(enum fo_ssl_mode m);

/* The TLS settings for connections to cluster `name`: its [cluster] section's if the
 * config has one, else [mysql]'s (clusters registered at run time). Never NULL. */
const struct fo_mysql_tls *fo_config_cluster_tls(const struct fo_config *c, const char *name);

/* The shortest VIP lease that outlives a change of controller leader
 * (docs/vip-leader-change.md): the holder's lease runs from the old leader's last
 * renewal, up to lease/4 before it died, and the new leader renews it as its first act,
 * at the latest 2 x election + heartbeat + FO_LEADER_HANDOVER_SLACK_MS after the death.
 * So lease - lease/4 must exceed that: the result is ceil(4/3 x (2 x election_timeout_ms
 * + heartbeat_timeout_ms + slack)) (1814 ms with the defaults). A shorter lease is
 * still safe (never two holders), but may let the VIP lapse for a moment when the
 * leader dies; failoverd warns about it at start. Pure. */
unsigned fo_config_min_vip_lease_ms(unsigned election_timeout_ms, unsigned heartbeat_timeout_ms);

#endif
