/*
 * unix-sk.h - what socket.c (unix sockets) shares with its helper
 * unix-queue.c (datagram queues sent again from their senders' addresses).
 */
#ifndef CRIU_FILES_UNIX_SK_H
#define CRIU_FILES_UNIX_SK_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "criu/files/files.h"

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

/* queues fe's messages on rcv, the socket at address to, each from a socket
 * with its sender's address (r: the process's files, senders among them) */
int usk_requeue_dgram(const struct fd_rst *r, const FileEntry *fe, int rcv, const struct sockaddr_un *to,
		      socklen_t tolen);

/* unix-cmsg.c: the control data of a peeked message (mh): its files in
 * flight as the process's file ids, the sender's credentials if creds;
 * *out NULL if there is nothing to keep; -1 if refused (logged) */
int usk_peek_cmsg(const struct fd_dump *d, const char *what, struct msghdr *mh, bool creds, SkMsg **out);
/* sends data from fd from to rcv (at address to, if given), with x's files
 * (the process's fds of them, r) and credentials; credentials of pid 0
 * (none were attached) stay so */
ssize_t usk_send(int from, int rcv, const ProtobufCBinaryData *data, const SkMsg *x, const struct fd_rst *r,
		 const struct sockaddr_un *to, socklen_t tolen);

/* unix-opts.c: the SOL_SOCKET options of a copy of the socket that differ
 * from a new socket's, into u->opts; set back on fd */
int usk_dump_opts(const char *what, int copy, int type, UnixSocket *u);
int usk_restore_opts(int fd, const FileEntry *fe);

#endif /* CRIU_FILES_UNIX_SK_H */
