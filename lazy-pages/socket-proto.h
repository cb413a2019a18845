/*
 * socket-proto.h - the lazy-pages socket protocol (DIR/lazy-pages.sock).
 *
 * Shared by the lazy-pages daemon, criu restore and the freestanding
 * restorer: fixed-size types only, no libc.
 *
 * criu restore connects to the daemon's socket before it creates the
 * process, and the new process inherits the connected socket.  Once its
 * memory map is final, the restorer sends one struct lazy_hello followed by
 * nr_ranges struct lazy_range (the ranges it registered with the uffd, in
 * MISSING mode), with the userfaultfd attached as SCM_RIGHTS to the first
 * byte, then closes its copy of the socket.  criu restore keeps its own copy
 * open: when every page of the process is in place the daemon writes one
 * struct lazy_status with status 0 on it; any other status, or the
 * connection closing without a status, means the pages are lost and the
 * process must not run on (criu kills it).  The daemon checks the peer's
 * credentials (SO_PEERCRED): only its own uid may connect.
 */
#ifndef LAZY_SOCKET_PROTO_H
#define LAZY_SOCKET_PROTO_H

#include <linux/types.h>

#define LAZY_SOCK_NAME		"lazy-pages.sock"
#define LAZY_PROTO_MAGIC	0x595a414cU	/* "LAZY" */
#define LAZY_PROTO_VERSION	1
#define LAZY_MAX_RANGES		65536

struct lazy_hello {
	__u32 magic;		/* LAZY_PROTO_MAGIC */
	__u32 version;		/* LAZY_PROTO_VERSION */
	__u32 pid;		/* the restored process (as in the images) */
	__u32 nr_ranges;	/* struct lazy_range entries that follow */
};

struct lazy_range {		/* page aligned, sorted, non-overlapping */
	__u64 start, end;
};

struct lazy_status {
	__u32 magic;		/* LAZY_PROTO_MAGIC */
	__u32 pid;
	__s32 status;		/* 0: every page is in; else -errno: pages lost */
	__u32 pad;
};

#endif /* LAZY_SOCKET_PROTO_H */
