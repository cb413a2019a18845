/*
 * ns-img.h - the uts, ipc and time namespaces of a tree as images
 * (utsns.img, ipcns.img, timens.img): read from inside the namespaces at
 * dump (the caller has joined them: criu/ns/ns-dump.c's helper; time
 * from /proc) and made again at restore inside new ones (the caller is
 * their first task, before any other; time: made by criu for the root).
 */
#ifndef CRIU_NS_IMG_H
#define CRIU_NS_IMG_H

#include <sys/types.h>

#include "images/image.h"

/* uts-ns.c */
int uts_ns_dump(int dirfd, uint64_t dump_id);
int uts_ns_restore(const UtsNsEntry *e);

/* the fds of the tree on POSIX message queues (their queues must be the namespace's) */
struct mq_fd {
	pid_t pid;
	int fd;
	const char *name;
	dev_t dev;
	ino_t ino;
};
struct mq_fds {
	const struct mq_fd *v;
	size_t nr;
	/* where mq-dump.c reports each registered notification, one line
	 * "PID FD SIGEV_NOTIFY SIGNO FIRED /NAME": the owner, its fd on the
	 * queue, and whether receiving and refilling the queue fired it
	 * (criu/dump/mq-notify.c then reads the signal's value and registers
	 * it again from the owner) */
	int report;
};

/* ipc-dump.c: sysctls, SysV shared memory (contents), semaphores, message
 * queues, POSIX message queues (mq-dump.c) */
int ipc_ns_dump(int dirfd, uint64_t dump_id, const struct mq_fds *mq);
/* mq-dump.c: every POSIX message queue of the namespace, one entry each */
struct img_writer;
int mq_dump(struct img_writer *w, const struct mq_fds *fds);
/* mq-restore.c: one queue with its messages (the limits raised for it meanwhile) */
int mq_restore(const PosixMq *m);
/* ipc-restore.c: entries of ipcns.img */
int ipc_ns_restore(const struct img_entries *e);

/*
 * time-ns.c: the clocks of root's time namespace into timens.img; before
 * the root is created, a new time namespace for criu's children whose
 * clocks go on from the dump's (own: criu's, to go back to after)
 */
int time_ns_dump(pid_t root, int dirfd, uint64_t dump_id);
int time_ns_enter(const TimeNsEntry *e, int *own);
void time_ns_leave(int own);

/*
 * ns-restore.c: the images of the namespaces inventory.img names (flags:
 * CLONE_NEW*, for the root's clone3: ns_clone_flags), loaded and checked in
 * criu; applied in the root, first thing, inside its new namespaces (an
 * external network namespace joined there)
 */
struct net_opts;
struct ns_images {
	uint32_t flags;
	UtsNsEntry *uts;
	struct img_entries ipc;
	TimeNsEntry *time;
	struct img_entries net;		/* netns.img (criu/net/netns-restore.c) */
	const struct net_opts *net_opts;	/* --external veth[] */
	int host_net;		/* criu's network namespace: veth peers go there */
	int join_net;		/* external (--inherit-fd of its key): joined, not made; else -1 */
	int join_uts, join_ipc;	/* --join-ns uts:, ipc: joined instead of made; else -1 */
};
/* o: --external veth[], --inherit-fd of an external network namespace */
struct opts;
int ns_images_load(int dirfd, const Inventory *inv, const struct opts *o, struct ns_images *n);
void ns_images_free(struct ns_images *n);
int ns_images_apply(const struct ns_images *n);
/* the CLONE_NEW* flags the root is made with (of uts, ipc, net) */
uint32_t ns_clone_flags(const struct ns_images *n);

#endif /* CRIU_NS_IMG_H */
