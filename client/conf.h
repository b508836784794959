/* failoverctl's configuration files: defaults for the controller list, the connect
 * timeout and the transport, so that an operator does not need three environment
 * variables before failoverctl says anything.
 *
 * Files, in order: FO_CTL_SYSTEM_CONF, then the user's ~/.config/failoverctl.conf.
 * Each is INI with one section, [failoverctl], and the keys
 *   controller = HOST:PORT[, HOST:PORT...]   tried in order (args.h)
 *   connect_timeout_ms = MS                  per controller
 *   ca = FILE, cert = FILE, key = FILE       mutual TLS
 *   insecure = yes|no                        plain TCP
 * all optional. A later file replaces the values of the keys it sets, key by key; the
 * environment and the command line beat both (args.h says how). Values are checked
 * here only for what the file format itself promises (one line, no control
 * characters, a known key, not twice in one file); their meaning (an address, a
 * number) is checked by fo_ctl_args_parse, whose messages name the key.
 *
 * No global state; the files are read once, before the command line is parsed. */
#ifndef FO_CTL_CONF_H
#define FO_CTL_CONF_H

#include <stddef.h>

#include "args.h"
#include "common/err.h"

#define FO_CTL_SYSTEM_CONF "/etc/failoverd/failoverctl.conf"
#define FO_CTL_USER_CONF ".config/failoverctl.conf" /* relative to $HOME */

struct fo_ctl_conf {
    char controller[FO_CTL_MAX_CONTROLLERS * FO_ADDR_LEN]; /* "" = unset, as every field */
    char connect_timeout[16];
    char ca[FO_PATH_LEN];
    char cert[FO_PATH_LEN];
    char key[FO_PATH_LEN];
    char insecure[8];
};

/* Reads the file at path into c, replacing the fields of the keys it sets (c must be
 * zeroed before the first file). A file that does not exist is no error: returns 0
 * and leaves c alone. Otherwise returns 0, FO_EIO (cannot be read: err names the
 * file and the reason) or FO_ECONFIG ("PATH:LINE: [failoverctl] KEY: reason" for an
 * unknown section or key, a key given twice, a value too long or with a control
 * character, or an INI syntax error). On error c may hold some of the file's values. */
int fo_ctl_conf_load(struct fo_ctl_conf *c, const char *path, char err[FO_ERRLEN]);

/* The user file's path, $HOME/FO_CTL_USER_CONF, into out. Returns 0, or FO_EINVAL
 * when home is NULL, empty or not absolute, or the path does not fit (then the user
 * file is simply not read). */
int fo_ctl_conf_user_path(const char *home, char *out, size_t cap);

/* Points files at c's values (NULL for an unset one). c must outlive files. */
void fo_ctl_conf_to_files(const struct fo_ctl_conf *c, struct fo_ctl_files *files);

#endif
