/*
 * ps-client.h - the client side of the page-server protocol
 * (page-server-proto.h), used by `criu lazy-pages --page-server` and
 * `criu restore --page-server`.  Owns one TCP connection (TLS or the
 * token: ps-sec.h); any protocol or connection error is logged and
 * returned, and the connection is then unusable.  Nothing waits forever:
 * connecting, the hello and every reply are bounded (PS_HELLO_MS,
 * PS_IO_MS without a byte), so a silent server is an error.
 */
#ifndef PAGEXFER_PS_CLIENT_H
#define PAGEXFER_PS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagexfer/page-server-proto.h"
#include "pagexfer/ps-io.h"
#include "pagexfer/ps-sec.h"

struct ps_client {
	struct ps_io io;	/* io.fd: -1 when closed */
	char peer[80];		/* "address:port", for messages */
	int broken;
	int corrupt;		/* a reply failed its checksum (broken too) */
	/* a read in flight (ps_client_start_read), received as it comes */
	bool busy;
	void *owner;		/* the caller's, to route the reply; NULL: disowned */
	uint64_t len;		/* payload expected */
	uint8_t *rx;		/* where the payload goes */
	uint64_t got;		/* bytes of reply header + payload received */
	double last_rx;		/* ms: the read in flight's last progress */
	struct ps_reply hdr;
	uint8_t *scratch;	/* a disowned reply's payload */
	/*
	 * Another connection to the same server whose reads are in flight
	 * (the background's): while this one waits for a reply, side_recv
	 * takes what comes on it.  The server sends replies one at a time;
	 * one it cannot finish sending there (nobody reading) would hold up
	 * the reply waited for here.
	 */
	struct ps_client *side;
	int (*side_recv)(struct ps_client *side);
};

/* resolves address (numeric or a name) and connects, with the hello (authenticated with a) */
int ps_client_connect(const char *address, int port, const struct ps_auth *a, struct ps_client *c);
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
/*
 * The same without waiting: sends the request (len <= PS_MAX_READ) and
 * returns; the reply goes into buf as ps_client_recv_read finds it there
 * (poll c->fd for POLLIN).  One at a time per client; owner is the
 * caller's.  0, or -1 (logged).
 */
int ps_client_start_read(struct ps_client *c, unsigned pid, uint64_t addr, void *buf, uint64_t len,
			 void *owner);
/*
 * receives what has come: 1 the whole reply is in and checked, 0 not yet,
 * -1 failed (logged; also when nothing came for PS_IO_MS)
 */
int ps_client_recv_read(struct ps_client *c);
/* the owner of the read in flight is gone: the rest of its reply goes nowhere; 0 or -1 */
int ps_client_disown(struct ps_client *c);
/* is the read in flight overdue (nothing for PS_IO_MS)? then ps_client_recv_read fails it */
bool ps_client_overdue(const struct ps_client *c);

#endif /* PAGEXFER_PS_CLIENT_H */
