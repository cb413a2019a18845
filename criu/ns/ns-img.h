/*
 * ns-img.h - the uts and ipc namespaces of a tree as images (utsns.img,
 * ipcns.img): read from inside the namespaces at dump (the caller has
 * joined them: criu/ns/ns-dump.c's helper) and made again at restore
 * inside new ones (the caller is their first task, before any other).
 */
#ifndef CRIU_NS_IMG_H
#define CRIU_NS_IMG_H

#include "image.h"

/* uts-ns.c */
int uts_ns_dump(int dirfd);
int uts_ns_restore(const UtsNsEntry *e);

/* ipc-dump.c: sysctls, SysV shared memory (contents), semaphores, message queues */
int ipc_ns_dump(int dirfd);
/* ipc-restore.c: entries of ipcns.img */
int ipc_ns_restore(const struct img_entries *e);

/*
 * ns-restore.c: the images of the namespaces inventory.img names (flags:
 * CLONE_NEW*, for the root's clone3), loaded and checked in criu; applied
 * in the root, first thing, inside its new namespaces
 */
struct ns_images {
	uint32_t flags;
	UtsNsEntry *uts;
	struct img_entries ipc;
};
int ns_images_load(int dirfd, const Inventory *inv, struct ns_images *n);
void ns_images_free(struct ns_images *n);
int ns_images_apply(const struct ns_images *n);

#endif /* CRIU_NS_IMG_H */
