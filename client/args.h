/* failoverctl's command line: parsing and validation, nothing else.
 *
 * This module is pure (no I/O, no environment access, no allocation) so that the
 * unit test tests/unit/test_failoverctl_args.c can drive it with tables of argv
 * vectors. The caller passes the FAILOVERCTL_* environment values in.
 *
 * Global options (--controller, --json, --timeout, --ca, --cert, --key, --insecure,
 * --help) may appear anywhere on the line, before or after the command words; command options (--limit, --user, --to,
 * --reason, ...) only with the commands they belong to. Both `--opt VALUE`
 * and `--opt=VALUE` are accepted; `--` ends option parsing. Every value is checked
 * here with the parsers from common/config.h, so a request built from a successfully
 * parsed struct fo_ctl_args is always well-formed.
 *
 * Transport (DESIGN.md §1: the admin RPC is mutual TLS): every command but help needs
 * either the three TLS files (--ca, --cert, --key; each defaults to FAILOVERCTL_CA,
 * FAILOVERCTL_CERT, FAILOVERCTL_KEY) or --insecure (FAILOVERCTL_INSECURE=1) for a
 * controller running with [tls] insecure = yes; without either, parsing fails (exit
 * 2). The command line beats the environment: --insecure ignores the FAILOVERCTL_*
 * files, a TLS option ignores FAILOVERCTL_INSECURE; --insecure together with a TLS
 * option, or FAILOVERCTL_INSECURE=1 together with a FAILOVERCTL_* file and no option,
 * is refused as ambiguous. The files are opened by the caller, never here.
 *
 * Defaults from the configuration files (conf.h: /etc/failoverd/failoverctl.conf,
 * then ~/.config/failoverctl.conf) come in through struct fo_ctl_env as a third layer
 * below the environment: precedence is command line > FAILOVERCTL_* > files > built-in
 * default (struct fo_ctl_files). The controller list and the connect timeout are taken from the highest
 * layer that sets them; the transport (--ca/--cert/--key or --insecure) likewise as a
 * whole, so that a user's insecure = yes never mixes with a CA from the system file.
 *
 * Controllers: --controller (and FAILOVERCTL_CONTROLLER, and the files' controller
 * key) take one HOST:PORT or a comma-separated list of up to FO_CTL_MAX_CONTROLLERS;
 * they are tried in order (fallback.h). */
#ifndef FO_CTL_ARGS_H
#define FO_CTL_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "common/supported.h"

#define FO_CTL_DEFAULT_CONTROLLER "127.0.0.1:7001"
#define FO_CTL_MAX_CONTROLLERS 16
/* Per-controller bound on connecting and the TLS handshake before the next one is
 * tried (--connect-timeout, the files' connect_timeout_ms). */
#define FO_CTL_DEFAULT_CONNECT_TIMEOUT_MS 1000u
/* events --follow: how often the controller is asked (--interval). */
#define FO_CTL_DEFAULT_INTERVAL_MS 1000u
#define FO_CTL_MIN_INTERVAL_MS 100u
#define FO_CTL_MAX_INTERVAL_MS 60000u
/* events: how many past events and decisions are printed first (--limit). */
#define FO_CTL_DEFAULT_EVENTS 10u
#define FO_CTL_DEFAULT_TIMEOUT_MS 5000u
#define FO_CTL_MAX_TIMEOUT_MS 3600000u /* one hour */
/* failover and switchover wait for the whole operation (hooks, fencing, relay logs),
 * so their default bound is longer; --timeout still overrides it. */
#define FO_CTL_FAILOVER_TIMEOUT_MS 60000u
#define FO_CTL_MAX_HISTORY 10000u
/* maintenance --reason: at most this many characters of printable UTF-8 text. */
#define FO_CTL_MAX_REASON 200u
/* cluster add bounds, the same as the [cluster] keys of the configuration file. */
#define FO_CTL_MAX_ANTI_FLAP_S 604800u
#define FO_CTL_MAX_LAG_S 86400u
/* Node ids are stored as sqlite INTEGERs, so they must fit a signed 64-bit value. */
#define FO_CTL_MAX_NODE_ID ((uint64_t)INT64_MAX)

/* Process exit codes (documented in the usage text). */
enum fo_ctl_exit {
    FO_CTL_EXIT_OK = 0,
    FO_CTL_EXIT_FAILED = 1,      /* the controller refused or failed the request */
    FO_CTL_EXIT_USAGE = 2,       /* bad arguments */
    FO_CTL_EXIT_UNREACHABLE = 3, /* unreachable, timeout, protocol error */
    FO_CTL_EXIT_NOLEADER = 4,    /* no leader */
};

enum fo_ctl_cmd {
    FO_CTL_NONE = 0,
    FO_CTL_HELP,
    FO_CTL_STATUS,
    FO_CTL_MEMBERS,
    FO_CTL_TOPOLOGY,
    FO_CTL_CLUSTERS,
    FO_CTL_HISTORY,
    FO_CTL_CLUSTER_ADD,
    FO_CTL_CLUSTER_REMOVE,
    FO_CTL_INSTANCE_ADD,
    FO_CTL_INSTANCE_REMOVE,
    FO_CTL_MEMBER_ADD,
    FO_CTL_MEMBER_REMOVE,
    FO_CTL_MEMBER_TRANSFER,
    FO_CTL_WHY,
    FO_CTL_FAILOVER,
    FO_CTL_SWITCHOVER,
    FO_CTL_ACK,
    FO_CTL_RECOVERIES,
    FO_CTL_MAINTENANCE,
    FO_CTL_INSTANCE_RULE,
    FO_CTL_EVENTS,
    FO_CTL_VERSION,
    FO_CTL_CLUSTER_DISCOVER,
    FO_CTL_IMPORT_MHA,
    FO_CTL_IMPORT_MMM,
};

/* The FAILOVERCTL_* environment variables (NULL or "" = unset). */
struct fo_ctl_env {
    const char *controller; /* FAILOVERCTL_CONTROLLER */
    const char *ca;         /* FAILOVERCTL_CA */
    const char *cert;       /* FAILOVERCTL_CERT */
    const char *key;        /* FAILOVERCTL_KEY */
    const char *insecure;   /* FAILOVERCTL_INSECURE: 1/yes/true or 0/no/false */
};

/* The configuration files' values (conf.h), already merged: user file over system
 * file (NULL or "" = unset). */
struct fo_ctl_files {
    const char *controller;      /* controller = */
    const char *connect_timeout; /* connect_timeout_ms = */
    const char *ca;              /* ca = */
    const char *cert;            /* cert = */
    const char *key;             /* key = */
    const char *insecure;        /* insecure = yes|no */
};

struct fo_ctl_args {
    enum fo_ctl_cmd cmd;
    char controller[FO_ADDR_LEN];                          /* validated "host:port": controllers[0] */
    char controllers[FO_CTL_MAX_CONTROLLERS][FO_ADDR_LEN]; /* in the order to try */
    unsigned n_controllers;                                /* >= 1 after a successful parse */
    unsigned connect_timeout_ms;                           /* per controller */
    int json;                                              /* set as soon as --json is seen, even if parsing fails */
    unsigned timeout_ms;                                   /* --timeout, else the command's default */
    int insecure;                                          /* plain TCP; else the three files below are set */
    char ca_file[FO_PATH_LEN];                             /* --ca / FAILOVERCTL_CA */
    char cert_file[FO_PATH_LEN];                           /* --cert / FAILOVERCTL_CERT */
    char key_file[FO_PATH_LEN];                            /* --key / FAILOVERCTL_KEY */
    /* Command operands; only those of cmd are meaningful. */
    char cluster[FO_NAME_LEN];            /* "" = all (history) */
    char user[FO_NAME_LEN];               /* cluster add */
    char password_file[FO_PATH_LEN];      /* cluster add; an absolute path, never opened */
    char repl_user[FO_NAME_LEN];          /* cluster add; "" unless --repl-user */
    char repl_password_file[FO_PATH_LEN]; /* cluster add; given together with repl_user */
    int semi_sync;                        /* cluster add --semi-sync */
    unsigned anti_flap_s;                 /* cluster add; 0 = the server's default */
    unsigned max_lag_s;                   /* cluster add; 0 = no limit */
    char vip[FO_VIP_LEN];                 /* cluster add --vip; "" = none */
    char vip_interface[FO_IFNAME_LEN];    /* cluster add --vip-interface */
    unsigned agent_port;                  /* cluster add; 0 = the default 7201 */
    unsigned vip_lease_ms;                /* cluster add; 0 = the default 2000 */
    unsigned n_reader_vips;               /* cluster add --reader-vips */
    char reader_vips[FO_MAX_READER_VIPS][FO_VIP_LEN];
    unsigned reader_max_lag_s;              /* cluster add; 0 = the default 30 */
    char co_primaries[FO_CO_PRIMARIES_LEN]; /* cluster add --co-primaries, canonical; "" = none */
    unsigned rediscover_interval_s;         /* cluster add; 0 = off */
    int adopt_replicas;                     /* cluster add --adopt-replicas */
    char host[FO_HOST_LEN];                 /* instance add/remove/rule, maintenance ("" = cluster) */
    uint16_t port;
    enum fo_rule rule;              /* instance add (neutral unless --rule), instance rule */
    uint64_t id;                    /* member add/remove/transfer-leader (0 = any) */
    char raft_address[FO_ADDR_LEN]; /* member add */
    unsigned limit;                 /* history, why; 0 = the server's default */
    char target_host[FO_HOST_LEN];  /* failover/switchover --to; "" = best candidate */
    uint16_t target_port;
    int on;                                 /* maintenance on, recoveries enable */
    char reason[FO_CTL_MAX_REASON * 4 + 1]; /* maintenance --reason (UTF-8: <= 4 bytes/char) */
    int follow;                             /* events --follow */
    int apply;                              /* import-*, cluster discover: --apply */
    char file[FO_PATH_LEN];                 /* import-*: the file */
    unsigned vip_prefix;                    /* import-mmm --vip-prefix; 0 = 32 */
    char seed_host[FO_HOST_LEN];            /* cluster discover --seed */
    uint16_t seed_port;
    unsigned max_servers; /* cluster discover --max-servers; 0 = 256 */
    unsigned interval_ms; /* events --interval */
    /* help: the command asked about ("" = the general text), from `help WORD [SUB]`
     * or `WORD [SUB] --help`. */
    char help_word[24];
    char help_sub[24];
};

/* Parses argv[1..argc-1] into a. env holds the environment's values (NULL: none
 * set). Returns 0, or FO_EINVAL with a one-line message in err naming the offending
 * argument. On error a->json still says whether --json was given, so the caller can
 * report the error in the requested format. */
int fo_ctl_args_parse(struct fo_ctl_args *a, int argc, char *const argv[], const struct fo_ctl_env *env,
                      char err[FO_ERRLEN]);

/* fo_ctl_args_parse with the configuration files' layer below the environment
 * (files NULL: none). */
int fo_ctl_args_parse_files(struct fo_ctl_args *a, int argc, char *const argv[], const struct fo_ctl_env *env,
                            const struct fo_ctl_files *files, char err[FO_ERRLEN]);

/* True for commands that change replicated state (their reply prints "ok"). */
int fo_ctl_cmd_is_write(enum fo_ctl_cmd cmd);

/* True for commands that may be sent again to another controller after a transport
 * failure even when the first one may have received them (reads). */
int fo_ctl_cmd_is_idempotent(enum fo_ctl_cmd cmd);

/* The full usage text, exit codes included. */
const char *fo_ctl_usage(void);

/* The help of a->help_word [a->help_sub] (all subcommands of a group when help_sub
 * is ""), or the full usage text when help_word is "", written into buf. Returns 0,
 * or FO_EINVAL with a message in buf for an unknown command; a text longer than cap
 * is cut (the caller's buffer is sized for the longest). */
int fo_ctl_help_text(const struct fo_ctl_args *a, char *buf, size_t cap);

/* The supported and not yet supported servers, one paragraph (also in the usage). */
#define FO_CTL_SUPPORTED_TEXT FO_SUPPORTED_TEXT

#endif
