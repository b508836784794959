/* Error codes shared by every failoverd program (STYLE.md §3).
 *
 * Functions return 0 on success or one of the FO_E* codes below; where more detail
 * helps, they also take a caller-provided `char err[FO_ERRLEN]` buffer that they fill
 * with a human-readable message on failure. Codes travel in admin RPC responses, so
 * their numeric values are stable: append new codes at the end only. */
#ifndef FO_ERR_H
#define FO_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define FO_ERRLEN 256

#define FO_ERRORS(X)                                   \
    X(FO_OK, 0, "ok")                                  \
    X(FO_ENOMEM, 1, "out of memory")                   \
    X(FO_EINVAL, 2, "invalid argument")                \
    X(FO_ECONFIG, 3, "configuration error")            \
    X(FO_EIO, 4, "i/o error")                          \
    X(FO_ECANCELED, 5, "operation canceled")           \
    X(FO_ETIMEDOUT, 6, "timed out")                    \
    X(FO_ENOTLEADER, 7, "this node is not the leader") \
    X(FO_ENOLEADER, 8, "no leader is known")           \
    X(FO_EUNREACHABLE, 9, "peer unreachable")          \
    X(FO_ENOTFOUND, 10, "not found")                   \
    X(FO_EEXIST, 11, "already exists")                 \
    X(FO_EPROTO, 12, "protocol error")                 \
    X(FO_ETOOBIG, 13, "message too large")             \
    X(FO_EVERSION, 14, "unsupported version")          \
    X(FO_EAGAIN, 15, "need more data")                 \
    X(FO_EMYSQL, 16, "mysql error")                    \
    X(FO_ERAFT, 17, "raft error")                      \
    X(FO_ESTORE, 18, "store error")                    \
    X(FO_EBUSY, 19, "busy")                            \
    X(FO_ESTALE, 20, "stale epoch")                    \
    X(FO_ECLOSED, 21, "connection closed")             \
    X(FO_EPERM, 22, "not permitted")

enum fo_err {
#define FO_ERR_ENUM(name, value, text) name = value,
    FO_ERRORS(FO_ERR_ENUM)
#undef FO_ERR_ENUM
};

/* Text for a code; never NULL ("unknown error" for codes not in the table). */
const char *fo_strerror(int code);

/* Symbolic name ("FO_ENOMEM") for a code; never NULL. */
const char *fo_errname(int code);

/* Formats into err (which may be NULL) and returns code, so callers can write
 * `return fo_errf(err, FO_EINVAL, "bad port %s", s);`. Truncates safely. */
int fo_errf(char *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
