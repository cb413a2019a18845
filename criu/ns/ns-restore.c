/*
 * ns-restore.c - the uts, ipc and time namespaces of a tree at restore:
 * the images inventory.img's ns_flags names are read and checked with the
 * rest (before anything is created); the root is created in new uts and
 * ipc namespaces (clone3 flags) and fills them as its very first step,
 * before it creates any other task (uts-ns.c, ipc-restore.c); the time
 * namespace is made by criu just before (time-ns.c).
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "images/image.h"
#include "common/log.h"
#include "criu/ns/ns-img.h"

int ns_images_load(int dirfd, const Inventory *inv, struct ns_images *n)
{
	memset(n, 0, sizeof(*n));
	n->flags = inv->has_ns_flags ? inv->ns_flags : 0;
	if (n->flags & ~(uint32_t)(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWTIME)) {
		pr_err("inventory.img: namespaces %#x: unknown kinds", n->flags);
		return -1;
	}
	if ((n->flags & CLONE_NEWUTS) &&
	    img_read_one(dirfd, IMG_UTSNS, 0, (ProtobufCMessage **)&n->uts))
		return -1;
	if ((n->flags & CLONE_NEWTIME) &&
	    img_read_one(dirfd, IMG_TIMENS, 0, (ProtobufCMessage **)&n->time))
		return -1;
	if (n->flags & CLONE_NEWIPC) {
		int r = img_read_all(dirfd, IMG_IPCNS, 0, &n->ipc);
		if (r == -ENOENT)
			pr_err("ipcns.img: missing, though inventory.img says the tree had its own ipc namespace");
		if (r)
			return -1;
	}
	return 0;
}

void ns_images_free(struct ns_images *n)
{
	if (n->uts)
		uts_ns_entry__free_unpacked(n->uts, NULL);
	img_entries_free(&n->ipc);
	if (n->time)
		time_ns_entry__free_unpacked(n->time, NULL);
	memset(n, 0, sizeof(*n));
}

int ns_images_apply(const struct ns_images *n)
{
	if (n->uts && uts_ns_restore(n->uts))
		return -1;
	if ((n->flags & CLONE_NEWIPC) && ipc_ns_restore(&n->ipc))
		return -1;
	return 0;
}
