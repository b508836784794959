/* Helpers shared by the libFuzzer targets in tests/fuzz/ (not a library of the product).
 *
 * fuzz_private_netns(): moves the calling process into a network namespace of its own
 * (unshare(CLONE_NEWNET)) with only its loopback, brought up. The agent target runs its
 * real RPC handlers there, so that a VIP they add or delete is on that namespace's lo
 * and nothing of the host's network changes. Returns 0, or -1 with errno (not root, or
 * namespaces not permitted): the caller must then refuse to run.
 *
 * fuzz_peer: one plain TCP connection to a server on 127.0.0.1 that runs on `loop` in
 * this same thread. fuzz_peer_call() writes bytes (normally one frame), then turns the
 * loop until one whole response frame came back, the server closed the connection, or
 * timeout_ms passed; it reconnects first if the previous call saw the connection
 * closed. It returns 1 (a response; its payload in p->resp, p->resp_len), 0 (the
 * server closed the connection: a refused frame), or -1 (no answer in time, or no
 * connection could be made). */
#ifndef FO_FUZZUTIL_H
#define FO_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

int fuzz_private_netns(void);

struct fuzz_peer {
    uv_loop_t *loop;
    uint16_t port;
    int fd; /* -1 when not connected */
    uint8_t *resp;
    size_t resp_len;
    uint8_t *buf; /* received bytes */
    size_t len, cap;
    unsigned long reconnects;
};

void fuzz_peer_init(struct fuzz_peer *p, uv_loop_t *loop, uint16_t port);
int fuzz_peer_call(struct fuzz_peer *p, const void *bytes, size_t n, unsigned timeout_ms);
void fuzz_peer_close(struct fuzz_peer *p);   /* the connection only */
void fuzz_peer_destroy(struct fuzz_peer *p); /* and the buffer */

/* Turns loop (UV_RUN_NOWAIT) for about ms milliseconds. */
void fuzz_loop_spin(uv_loop_t *loop, unsigned ms);

/* A free TCP port on 127.0.0.1 (bound and released). 0 on failure. */
uint16_t fuzz_free_port(void);

/* Makes a fresh directory under /dev/shm (tmpfs: fsync costs nothing) or /tmp, named
 * fo-fuzz-<what>.XXXXXX, into dir, and removes it with everything in it when the process
 * exits. 0 or -1. */
int fuzz_temp_dir(char *dir, size_t len, const char *what);

/* Writes text to path (0600); 0 or -1. */
int fuzz_write_file(const char *path, const char *text);

#endif
