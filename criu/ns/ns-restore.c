/*
 * ns-restore.c - the uts, ipc, network and time namespaces of a tree at restore:
 * the images inventory.img's ns_flags names are read and checked with the
 * rest (before anything is created); the root is created in new uts and
 * ipc namespaces (clone3 flags) and fills them as its very first step,
 * before it creates any other task (uts-ns.c, ipc-restore.c); the time
 * namespace is made by criu just before (time-ns.c).  A uts or ipc
 * namespace named by --join-ns (join-ns.c) is joined by the root instead,
 * its images' contents left aside (an ipc namespace only if they hold no
 * object).
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sched.h>
#include <string.h>

#include "images/image.h"
#include "common/log.h"
#include "criu/files/files.h"
#include "criu/net/netns.h"
#include "criu/ns/join-ns.h"
#include "criu/ns/ns-img.h"
#include "criu/opts.h"

/* the fd --inherit-fd gives for an external network namespace's key */
static int find_inherit(const struct opts *o, const char *key)
{
	for (int i = 0; i < o->nr_inherit_fd; i++) {
		int fd;
		const char *k;
		if (!fd_inherit_parse(o->inherit_fd[i], &fd, &k) && !strcmp(k, key))
			return fd;
	}
	return -1;
}

static int load_net(int dirfd, const struct opts *o, struct ns_images *n)
{
	int r = img_read_all(dirfd, IMG_NETNS, 0, &n->net);
	if (r == -ENOENT)
		pr_err("netns.img: missing, though inventory.img says the tree had its own network namespace");
	if (r || netns_check(&n->net))
		return -1;
	n->net_opts = &o->net;
	const char *key = netns_external(&n->net);
	if (key) {
		int fd = find_inherit(o, key);
		if (fd < 0) {
			pr_err("netns.img: the network namespace is external (key %s): restore with --inherit-fd fd[N]:%s",
			       key, key);
			return -1;
		}
		n->join_net = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (n->join_net < 0) {
			pr_perror("--inherit-fd fd[%d]:%s", fd, key);
			return -1;
		}
		return 0;
	}
	n->host_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (n->host_net < 0) {
		pr_perror("cannot open criu's network namespace");
		return -1;
	}
	return 0;
}

/* ipc objects of the tree's own in ipcns.img (entries with no object hold sysctls) */
static size_t ipc_objects(const struct ns_images *n)
{
	size_t k = 0;
	for (size_t i = 0; i < n->ipc.nr; i++) {
		const IpcNsEntry *e = (const IpcNsEntry *)n->ipc.msgs[i];
		k += e->shm || e->sem || e->msg;
	}
	return k;
}

static int load_joins(const struct opts *o, struct ns_images *n)
{
	if (join_ns_open(o, &n->join_uts, &n->join_ipc))
		return -1;
	if (n->join_ipc >= 0 && ipc_objects(n)) {
		pr_err("--join-ns ipc: ipcns.img holds %zu objects of the tree's own ipc namespace; "
		       "joining another would leave them behind", ipc_objects(n));
		return -1;
	}
	if (n->join_uts >= 0)
		pr_info("uts namespace joined (--join-ns): the images' host and domain names are not set");
	return 0;
}

int ns_images_load(int dirfd, const Inventory *inv, const struct opts *o, struct ns_images *n)
{
	memset(n, 0, sizeof(*n));
	n->host_net = n->join_net = n->join_uts = n->join_ipc = -1;
	n->flags = inv->has_ns_flags ? inv->ns_flags : 0;
	/* (CLONE_NEWCGROUP: made by the root itself, criu/restore/cgroups-rst.c) */
	if (n->flags & ~(uint32_t)(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWTIME | CLONE_NEWNS | CLONE_NEWNET |
				   CLONE_NEWCGROUP)) {
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
	if ((n->flags & CLONE_NEWNET) && load_net(dirfd, o, n))
		return -1;
	return load_joins(o, n);
}

uint32_t ns_clone_flags(const struct ns_images *n)
{
	return (n->flags & CLONE_NEWNS) |
	       ((n->flags & CLONE_NEWUTS) && n->join_uts < 0 ? CLONE_NEWUTS : 0) |
	       ((n->flags & CLONE_NEWIPC) && n->join_ipc < 0 ? CLONE_NEWIPC : 0) |
	       ((n->flags & CLONE_NEWNET) && n->join_net < 0 ? CLONE_NEWNET : 0);
}

void ns_images_free(struct ns_images *n)
{
	if (n->uts)
		uts_ns_entry__free_unpacked(n->uts, NULL);
	img_entries_free(&n->ipc);
	if (n->time)
		time_ns_entry__free_unpacked(n->time, NULL);
	img_entries_free(&n->net);
	/* (the fds are set only once flags are: a load that never began left them 0) */
	if ((n->flags & CLONE_NEWNET) && n->host_net >= 0)
		close(n->host_net);
	if ((n->flags & CLONE_NEWNET) && n->join_net >= 0)
		close(n->join_net);
	if (n->join_uts > 0)
		close(n->join_uts);
	if (n->join_ipc > 0)
		close(n->join_ipc);
	memset(n, 0, sizeof(*n));
	n->host_net = n->join_net = n->join_uts = n->join_ipc = -1;
}

int ns_images_apply(const struct ns_images *n)
{
	if (n->join_uts >= 0 && setns(n->join_uts, CLONE_NEWUTS)) {
		pr_perror("--join-ns uts: cannot join the namespace");
		return -1;
	}
	if (n->join_uts < 0 && n->uts && uts_ns_restore(n->uts))
		return -1;
	if (n->join_ipc >= 0 && setns(n->join_ipc, CLONE_NEWIPC)) {
		pr_perror("--join-ns ipc: cannot join the namespace");
		return -1;
	}
	if (n->join_ipc < 0 && (n->flags & CLONE_NEWIPC) && ipc_ns_restore(&n->ipc))
		return -1;
	if (n->join_net >= 0 && setns(n->join_net, CLONE_NEWNET)) {
		pr_perror("cannot join the external network namespace (%s)", netns_external(&n->net));
		return -1;
	}
	/* (an empty one, --empty-ns net: lo up, by empty-ns.c) */
	if ((n->flags & CLONE_NEWNET) && n->join_net < 0 && n->net.nr &&
	    netns_restore(&n->net, n->net_opts, n->host_net))
		return -1;
	return 0;
}
