/* Migration from MHA and MMM: `failoverctl import-mha FILE` and `import-mmm FILE`.
 *
 * The parsers read an MHA application file (app1.cnf: [server default] inherited by
 * [serverN] blocks, key=value) or an MMM 2 common file (mmm_common.conf: <host NAME>,
 * <role NAME> blocks, "key value" lines) from memory and fill a struct fo_import_plan:
 * the failoverd cluster they describe (servers, promotion rules, accounts, VIPs) and
 * one note per setting that has no equivalent, with the file:line it came from and
 * the reason. They do no I/O (the caller reads the file, at most FO_IMPORT_MAX_FILE
 * bytes), so unit tests and fuzzers drive them with strings.
 *
 * Malformed input (a line that is neither a comment, a section nor a key, an unknown
 * key or block, a duplicate server, a server without an address, a bad port...) fails
 * the whole import with "FILE:LINE: reason" in err and a plan that must not be used:
 * nothing is registered from a file that was not fully understood. Passwords are never
 * copied into the plan: failoverd reads them from files on each controller
 * (common/config.h "Password files"), so the plan names the files to create.
 *
 * fo_import_render prints the plan as the failoverctl commands that register it (or as
 * JSON); fo_import_commands gives the same commands as argument vectors, which is what
 * `--apply` runs. */
#ifndef FO_CTL_IMPORT_H
#define FO_CTL_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/err.h"

#define FO_IMPORT_MAX_FILE (1u << 20) /* bytes read from one file */
#define FO_IMPORT_MAX_LINE 4096u      /* bytes in one line */
#define FO_IMPORT_MAX_SERVERS 256u    /* servers in one imported cluster */
#define FO_IMPORT_MAX_NOTES 256u      /* notes kept; more are counted, not kept */
#define FO_IMPORT_MAX_READER_VIPS 8u  /* as the [cluster] reader_vip key */
#define FO_IMPORT_WHERE_LEN 96u
#define FO_IMPORT_NOTE_LEN 384u

enum fo_import_kind { FO_IMPORT_MHA = 0, FO_IMPORT_MMM = 1 };

/* What the command line adds to the file (all optional). */
struct fo_import_options {
    char cluster[FO_NAME_LEN];            /* "" = from the file name */
    char password_file[FO_PATH_LEN];      /* "" = /etc/failoverd/CLUSTER.password */
    char repl_password_file[FO_PATH_LEN]; /* "" = /etc/failoverd/CLUSTER.repl */
    char vip[FO_VIP_LEN];                 /* MHA keeps its VIP inside a script: give it here */
    char vip_interface[FO_IFNAME_LEN];    /* overrides MMM's cluster_interface */
    unsigned vip_prefix;                  /* MMM role IPs are bare addresses; 0 = 32 */
};

struct fo_import_server {
    char name[FO_NAME_LEN]; /* [server1] / <host db1> */
    char addr[FO_ADDR_LEN]; /* HOST:PORT as failoverd registers it */
    enum fo_rule rule;
    char rule_why[FO_IMPORT_WHERE_LEN + 64]; /* "app1.cnf:14 candidate_master=1" */
    unsigned line;                           /* where the server's block starts */
};

struct fo_import_note {
    char where[FO_IMPORT_WHERE_LEN + 16]; /* "app1.cnf:7" */
    char key[FO_NAME_LEN];
    char text[FO_IMPORT_NOTE_LEN];
};

struct fo_import_plan {
    enum fo_import_kind kind;
    char file[FO_IMPORT_WHERE_LEN]; /* the file's base name, as used in notes */
    char cluster[FO_NAME_LEN];
    char user[FO_NAME_LEN];
    char password_file[FO_PATH_LEN];
    char repl_user[FO_NAME_LEN]; /* "" = none */
    char repl_password_file[FO_PATH_LEN];
    char vip[FO_VIP_LEN]; /* "" = none */
    char vip_interface[FO_IFNAME_LEN];
    char reader_vips[FO_IMPORT_MAX_READER_VIPS][FO_VIP_LEN];
    unsigned n_reader_vips;
    char co_primaries[FO_CO_PRIMARIES_LEN]; /* "" = none; MMM's master pair (issue 14.1) */
    struct fo_import_server servers[FO_IMPORT_MAX_SERVERS];
    unsigned n_servers;
    struct fo_import_note notes[FO_IMPORT_MAX_NOTES];
    unsigned n_notes;
    unsigned notes_dropped; /* notes beyond FO_IMPORT_MAX_NOTES */
};

/* Parse text (len bytes, need not be NUL-terminated) read from path into *p (which the
 * call zeroes first). o may be NULL. Returns 0, or FO_EINVAL with "FILE:LINE: reason". */
int fo_import_mha(struct fo_import_plan *p, const char *path, const char *text, size_t len,
                  const struct fo_import_options *o, char err[FO_ERRLEN]);
int fo_import_mmm(struct fo_import_plan *p, const char *path, const char *text, size_t len,
                  const struct fo_import_options *o, char err[FO_ERRLEN]);

/* The plan as shell commands with the notes as comments (json = 0), or as one JSON
 * object (json = 1). Values from the file are escaped for both. */
void fo_import_render(const struct fo_import_plan *p, struct fo_buf *out, int json);

/* The registration as argument vectors for failoverctl's own parser (args.c):
 * "cluster add ...", then one "instance add ..." per server. Each vector is a list of
 * pointers into cmd->words, NULL-terminated. Returns the number of commands. */
#define FO_IMPORT_MAX_ARGS 24u
struct fo_import_command {
    char words[FO_IMPORT_MAX_ARGS][FO_PATH_LEN];
    const char *argv[FO_IMPORT_MAX_ARGS + 1];
    int argc;
};
unsigned fo_import_commands(const struct fo_import_plan *p, struct fo_import_command *cmds, unsigned max);

#endif
