/*
 * unix-sk.h - what socket.c (unix sockets) shares with its helper
 * unix-queue.c (datagram queues sent again from their senders' addresses).
 */
#ifndef CRIU_FILES_UNIX_SK_H
#define CRIU_FILES_UNIX_SK_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "files.h"

/* name (sun_path bytes; abstract: a leading 0) as an address; its length */
socklen_t usk_addr(const ProtobufCBinaryData *name, struct sockaddr_un *a);

/* fd bound to name for a moment: a path already there is moved aside */
struct usk_as {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	char aside[sizeof(((struct sockaddr_un *)0)->sun_path) + 32];
	bool made, moved;
};
int usk_bind_as(int fd, const ProtobufCBinaryData *name, struct usk_as *as);
/* removes the path usk_bind_as made and puts back what it moved aside */
void usk_unbind_as(struct usk_as *as);

/* queues fe's messages on the socket at address to, each from a socket
 * with its sender's address (r: the process's files, senders among them) */
int usk_requeue_dgram(const struct fd_rst *r, const FileEntry *fe, const struct sockaddr_un *to,
		      socklen_t tolen);

/* unix-opts.c: the SOL_SOCKET options of a copy of the socket that differ
 * from a new socket's, into u->opts; set back on fd */
int usk_dump_opts(const char *what, int copy, int type, UnixSocket *u);
int usk_restore_opts(int fd, const FileEntry *fe);

#endif /* CRIU_FILES_UNIX_SK_H */
