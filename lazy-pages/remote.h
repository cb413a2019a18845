/*
 * remote.h - the client side of the page-server protocol
 * (page-server-proto.h), used by `criu lazy-pages --page-server`.  Owns one
 * TCP connection; any protocol or connection error is logged and returned,
 * and the connection is then unusable.
 */
#ifndef LAZY_REMOTE_H
#define LAZY_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "page-server-proto.h"

struct ps_client {
	int fd;
	char peer[80];		/* "address:port", for messages */
	int broken;
};

/* resolves address (numeric or a name) and connects, with the hello */
int ps_client_connect(const char *address, int port, struct ps_client *c);
/*
 * op: PS_BYE (done, every page needed is in place: waits up to 5 s for the
 * server's acknowledgement; -1, logged, without it), PS_CLOSE (done with
 * this connection, no verdict), PS_ABORT (failed: every copy restored is
 * dead) or 0 (just closed: the server sees the connection lost)
 */
int ps_client_close(struct ps_client *c, int op);
/* the pagemap of pid: *runs is malloc'ed; *flags: PS_MAP_UNHASHED or 0 */
int ps_client_map(struct ps_client *c, unsigned pid, struct ps_run **runs, size_t *nr,
		  uint32_t *flags);
/* the data of pages [addr, addr+len) of pid, checked against each reply's XXH3 */
int ps_client_read(struct ps_client *c, unsigned pid, uint64_t addr, void *buf, uint64_t len);

/* shared with the server: whole-buffer I/O on a socket (0, or -1 with errno; EOF is EPIPE) */
int ps_send_all(int fd, const void *buf, size_t len);
int ps_recv_all(int fd, void *buf, size_t len);

#endif /* LAZY_REMOTE_H */
