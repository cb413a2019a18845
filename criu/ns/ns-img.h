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

/* ipc-dump.c: sysctls, SysV shared memory (contents), semaphores, message queues */
int ipc_ns_dump(int dirfd, uint64_t dump_id);
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
 * CLONE_NEW*, for the root's clone3), loaded and checked in criu; applied
 * in the root, first thing, inside its new namespaces
 */
struct ns_images {
	uint32_t flags;
	UtsNsEntry *uts;
	struct img_entries ipc;
	TimeNsEntry *time;
};
int ns_images_load(int dirfd, const Inventory *inv, struct ns_images *n);
void ns_images_free(struct ns_images *n);
int ns_images_apply(const struct ns_images *n);

#endif /* CRIU_NS_IMG_H */
