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
 * MISSING mode), with the userfaultfd and a pidfd of the process attached
 * as SCM_RIGHTS to the first byte (in that order), then closes its copy of
 * the socket.  The daemon signals the process through the pidfd: the pid
 * in the hello names its images, and in a pid namespace made by the
 * restore it is not the process's pid as the daemon sees it.  criu restore keeps its own copy
 * open: when every page of the process is in place the daemon writes one
 * struct lazy_status with status 0 on it; any other status, or the
 * connection closing without a status, means the pages are lost and the
 * process must not run on (criu kills it).  The daemon checks the peer's
 * credentials (SO_PEERCRED): only its own uid may connect.
 *
 * Fork children: a process that forks while its pages arrive gives the
 * daemon a new uffd for the child (UFFD_EVENT_FORK).  Closing its last
 * reference would turn the child's missing pages into zero pages, so the
 * daemon hands criu restore a copy on the process's connection (a
 * lazy_status with child set and status LAZY_CHILD_NEW, the uffd attached),
 * tells it the child's pid once it knows it (LAZY_CHILD_PID: a thread of it
 * faulted), and its end (child set, status as for a process).  criu holds
 * each child's uffd until then; the connection stays open until the
 * process and every child it reported are finished with.
 */
#ifndef LAZY_SOCKET_PROTO_H
#define LAZY_SOCKET_PROTO_H

#include <linux/types.h>

#define LAZY_SOCK_NAME		"lazy-pages.sock"
#define LAZY_PROTO_MAGIC	0x595a414cU	/* "LAZY" */
#define LAZY_PROTO_VERSION	3
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
	__u32 pid;		/* the restored process (as in the images) */
	__s32 status;		/* 0: every page is in; -ESRCH: it exited; other -errno:
				 * pages lost; for a child also LAZY_CHILD_* */
	__u32 child;		/* 0: the process itself; else a fork child's number */
	__u32 child_pid;	/* LAZY_CHILD_PID: a thread of the child */
	__u32 pad;
};

#define LAZY_CHILD_NEW		1	/* the child's uffd attached (SCM_RIGHTS) */
#define LAZY_CHILD_PID		2	/* child_pid: a thread of it (from a fault) */

#endif /* LAZY_SOCKET_PROTO_H */
