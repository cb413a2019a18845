/*
 * mnt-restore.c - a tree's mount namespace made again (mnt.h).  criu
 * takes a private copy of its own mount namespace, binds --root onto
 * itself and mounts there, in the order of mntns.img, every mount that
 * needs none of the tree's other namespaces (binds, external binds, tmpfs
 * with its contents, devpts instances); the tree's paths then resolve
 * under --root (r->rootfd), for the images' checks and the files criu
 * opens.  The root task, made in a copy of that namespace and in the
 * tree's new pid, ipc and network namespaces, mounts the rest (proc,
 * sysfs, mqueue, cgroup, and whatever lies below them), sets propagation
 * and pivots into the new root; criu goes back to its own namespace.
 * Every target is reached through a file descriptor opened inside the new
 * root (openat2 RESOLVE_IN_ROOT), so a symlink cannot lead a mount out.
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/ns/mnt-opts.h"
#include "criu/files/pty-ns.h"
#include "criu/ns/mnt.h"

static const MntEntry *ent(const struct mnt_restore *r, size_t i)
{
	return (const MntEntry *)r->ents.msgs[i];
}

static const MntEntry *by_id(const struct mnt_restore *r, uint32_t id, size_t *at)
{
	for (size_t i = 0; i < r->ents.nr; i++)
		if (ent(r, i)->mnt_id == id) {
			if (at)
				*at = i;
			return ent(r, i);
		}
	return NULL;
}

/* kinds that need the tree's own pid, network, ipc or cgroup namespace: made by its root */
static bool needs_tree_ns(MntKind k)
{
	return k == MNT_KIND__MNT_PROC || k == MNT_KIND__MNT_SYSFS || k == MNT_KIND__MNT_MQUEUE ||
	       k == MNT_KIND__MNT_CGROUP || k == MNT_KIND__MNT_CGROUP2;
}

static const char *fs_of(MntKind k, const MntEntry *e)
{
	switch (k) {
	case MNT_KIND__MNT_PROC: return "proc";
	case MNT_KIND__MNT_SYSFS: return "sysfs";
	case MNT_KIND__MNT_TMPFS: return "tmpfs";
	case MNT_KIND__MNT_DEVPTS: return "devpts";
	case MNT_KIND__MNT_MQUEUE: return "mqueue";
	case MNT_KIND__MNT_CGROUP: return "cgroup";
	case MNT_KIND__MNT_CGROUP2: return "cgroup2";
	default: return e->fstype;
	}
}

/* the per-mount flags, set on the mount at fd's path */
static int set_flags(const char *at, const MntEntry *e)
{
	unsigned long f = e->mnt_flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
					  MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME);
	if (!(f & (MS_NOATIME | MS_RELATIME)))
		f |= MS_STRICTATIME;
	if (mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | f, NULL)) {
		pr_perror("mntns.img: mount %u at %s: cannot set its flags %#lx", e->mnt_id, e->mountpoint, f);
		return -1;
	}
	return 0;
}

/* a new super block of e's kind at at */
static int mount_fs(const char *at, const MntEntry *e)
{
	char opts[4096];
	const char *fs = fs_of(e->kind, e);

	snprintf(opts, sizeof(opts), "%s%s%s", e->kind == MNT_KIND__MNT_DEVPTS ? "newinstance" : "",
		 e->kind == MNT_KIND__MNT_DEVPTS && e->sb_opts[0] ? "," : "", e->sb_opts);
	/* a read-only tmpfs is filled first */
	unsigned long sb = e->sb_ro && e->kind != MNT_KIND__MNT_TMPFS ? MS_RDONLY : 0;
	if (mount(e->source, at, fs, sb, opts)) {
		pr_perror("mntns.img: mount %u at %s: cannot mount %s (%s)", e->mnt_id, e->mountpoint, fs, opts);
		return -1;
	}
	return 0;
}

static int fill_tmpfs(const struct mnt_restore *r, const char *at, const MntEntry *e)
{
	int dir = open(at, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = dir < 0 ? -1 : tmpfs_restore(r->images_dirfd, e, dir);
	if (dir < 0)
		pr_perror("mntns.img: tmpfs at %s: cannot open it", e->mountpoint);
	else
		close(dir);
	if (!ret && e->sb_ro && mount(NULL, at, NULL, MS_REMOUNT | MS_RDONLY, e->sb_opts)) {
		pr_perror("mntns.img: tmpfs at %s: cannot make it read-only", e->mountpoint);
		ret = -1;
	}
	return ret;
}

/* a bind of /N of a devpts instance (runc's /dev/console): the pair is
 * made now, its master kept for the files (pty-ns.h) */
static int devpts_file(struct mnt_restore *r, int rootfd, const MntEntry *p, const MntEntry *e)
{
	const char *dir = strcmp(p->mountpoint, "/") ? p->mountpoint : "";
	char ptmx[PATH_MAX], node[PATH_MAX], end;
	unsigned index;
	struct stat st;

	if (strcmp(p->fstype, "devpts") || sscanf(e->bind_path, "/%u%c", &index, &end) != 1)
		return 0;
	snprintf(node, sizeof(node), "%s/%u", dir, index);
	if (!mnt_stat_in(rootfd, node, &st, false))
		return 0;	/* there already */
	snprintf(ptmx, sizeof(ptmx), "%s/ptmx", dir);
	return pty_reserve(&r->ptys, rootfd, ptmx, index);
}

/* the source of a bind (of the tree: through rootfd; external: the host path of its key) */
static int bind_source(struct mnt_restore *r, int rootfd, const struct mnt_opts *m, const MntEntry *e)
{
	if (e->kind == MNT_KIND__MNT_EXTERNAL) {
		const char *val = m ? mnt_opts_ext_find(m, e->ext_key) : NULL;
		if (!val && e->ext_auto && m && m->ext_auto)
			val = e->ext_key;
		if (!val && e->ext_auto) {
			pr_err("mntns.img: mount at %s was bound from the host's %s (--external mnt[] at dump): "
			       "restore needs --external mnt[] too (or mnt[%s]:PATH)", e->mountpoint, e->ext_key,
			       e->ext_key);
			return -1;
		}
		if (!val) {
			pr_err("mntns.img: mount at %s is external (key %s): restore needs --external mnt[%s]:PATH",
			       e->mountpoint, e->ext_key, e->ext_key);
			return -1;
		}
		int fd = open(val, O_PATH | O_CLOEXEC);
		if (fd < 0)
			pr_perror("--external mnt[%s]:%s: cannot open %s", e->ext_key, val, val);
		return fd;
	}
	const MntEntry *p = by_id(r, e->bind_of, NULL);
	char path[PATH_MAX];
	if (!p || !e->bind_path) {
		pr_err("mntns.img: mount %u at %s: a bind of mount %u, which is not before it", e->mnt_id,
		       e->mountpoint, e->bind_of);
		return -1;
	}
	snprintf(path, sizeof(path), "%s%s", p->mountpoint, strcmp(e->bind_path, "/") ? e->bind_path : "");
	if (devpts_file(r, rootfd, p, e))
		return -1;
	int fd = mnt_open_in(rootfd, path, O_PATH | O_CLOEXEC, 0);
	if (fd < 0)
		pr_perror("mntns.img: mount %u at %s: cannot open its source %s", e->mnt_id, e->mountpoint, path);
	return fd;
}

/* entry i, at its mount point below rootfd */
static int mount_one(struct mnt_restore *r, int rootfd, const struct mnt_opts *m, size_t i)
{
	const MntEntry *e = ent(r, i);
	char at[64], src[64];
	int tfd = mnt_open_in(rootfd, e->mountpoint, O_PATH | O_CLOEXEC, 0), sfd = -1, ret = -1;

	if (tfd < 0) {
		pr_perror("mntns.img: mount %u: cannot open its mount point %s in the new root", e->mnt_id,
			  e->mountpoint);
		return -1;
	}
	snprintf(at, sizeof(at), "/proc/self/fd/%d", tfd);
	if (e->kind == MNT_KIND__MNT_BIND || e->kind == MNT_KIND__MNT_EXTERNAL) {
		sfd = bind_source(r, rootfd, m, e);
		snprintf(src, sizeof(src), "/proc/self/fd/%d", sfd);
		if (sfd < 0)
			goto out;
		if (mount(src, at, NULL, MS_BIND, NULL)) {
			pr_perror("mntns.img: mount %u at %s: cannot bind it", e->mnt_id, e->mountpoint);
			goto out;
		}
	} else if (mount_fs(at, e)) {
		goto out;
	}
	/* the new mount, now on top of the mount point */
	close(tfd);
	tfd = mnt_open_in(rootfd, e->mountpoint, O_PATH | O_CLOEXEC, 0);
	snprintf(at, sizeof(at), "/proc/self/fd/%d", tfd);
	if (tfd < 0 || (e->kind == MNT_KIND__MNT_TMPFS && fill_tmpfs(r, at, e)) || set_flags(at, e))
		goto out;
	r->done[i] = true;
	pr_debug("mount %u at %s made (%s)", e->mnt_id, e->mountpoint, e->fstype);
	ret = 0;
out:
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	return ret;
}

/* entry i is made by the root task: it, or a mount it lies on, needs the tree's namespaces */
static bool deferred(const struct mnt_restore *r, size_t i)
{
	for (int depth = 0; depth < 256 && i > 0; depth++) {
		const MntEntry *e = ent(r, i);
		if (needs_tree_ns(e->kind))
			return true;
		if (!by_id(r, e->parent_id, &i))
			return false;
	}
	return false;
}

static int check_entries(const struct mnt_restore *r)
{
	for (size_t i = 0; i < r->ents.nr; i++) {
		const MntEntry *e = ent(r, i);
		size_t at;
		if ((i == 0) != (e->kind == MNT_KIND__MNT_ROOT) || e->mountpoint[0] != '/' ||
		    strstr(e->mountpoint, "/../") || (i && (!by_id(r, e->parent_id, &at) || at >= i)) ||
		    (e->kind == MNT_KIND__MNT_EXTERNAL && !e->ext_key) ||
		    (e->kind == MNT_KIND__MNT_BIND && (!e->has_bind_of || !by_id(r, e->bind_of, &at) || at >= i)) ||
		    /* no dumped cgroup names a program for the host to run */
		    strstr(e->sb_opts, "release_agent")) {
			pr_err("mntns.img: entry %zu (mount %u at %s): inconsistent (root first, parents and bind "
			       "sources before their mounts)", i, e->mnt_id, e->mountpoint);
			return -1;
		}
	}
	return 0;
}

/* no mntns.img: 0 if the tree had no mount namespace of its own (no inventory.img: said later) */
static int missing(int dirfd)
{
	Inventory *inv = NULL;

	if (faccessat(dirfd, "inventory.img", F_OK, 0))
		return 0;
	if (img_read_one(dirfd, IMG_INVENTORY, 0, (ProtobufCMessage **)&inv))
		return -1;
	bool had = inv->has_ns_flags && (inv->ns_flags & CLONE_NEWNS);
	inventory__free_unpacked(inv, NULL);
	if (had)
		pr_err("mntns.img: missing, though inventory.img says the tree had its own mount namespace");
	return had ? -1 : 0;
}

static int load(int dirfd, struct mnt_restore *r)
{
	/* inventory.img's ns_flags must agree (mnt_restore_agrees, once it is loaded) */
	if (faccessat(dirfd, "mntns.img", F_OK, 0))
		return missing(dirfd);
	if (img_read_all(dirfd, IMG_MNTNS, 0, &r->ents))
		return -1;
	if (!r->ents.nr) {
		pr_err("mntns.img: no mounts");
		return -1;
	}
	return check_entries(r) ? -1 : 1;
}

/* criu's private copy of its namespace, --root bound onto itself there */
static int enter_private(const struct mnt_opts *m, struct mnt_restore *r)
{
	char real[PATH_MAX];

	if (!m->root) {
		pr_err("mntns.img: the tree had its own mount namespace: restore needs --root DIR (its root file system)");
		return -1;
	}
	if (!realpath(m->root, real)) {
		pr_perror("--root %s", m->root);
		return -1;
	}
	r->root = strdup(real);
	r->own_ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (!r->root || r->own_ns < 0 || unshare(CLONE_NEWNS)) {
		pr_perror("cannot make a mount namespace for the tree");
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) || mount(r->root, r->root, NULL, MS_BIND, NULL)) {
		pr_perror("--root %s: cannot bind it in criu's private mount namespace", r->root);
		return -1;
	}
	int fd = open(r->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* above criu's stdio: 0 would read as "none" to the fd's users */
	r->rootfd = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (fd >= 0)
		close(fd);
	if (r->rootfd < 0) {
		pr_perror("--root %s: cannot open it", r->root);
		return -1;
	}
	char at[64];
	snprintf(at, sizeof(at), "/proc/self/fd/%d", r->rootfd);
	return set_flags(at, ent(r, 0));
}

int mnt_restore_agrees(const struct mnt_restore *r, uint32_t ns_flags)
{
	if (!(ns_flags & CLONE_NEWNS) == !r->ents.nr)
		return 0;
	pr_err(r->ents.nr ? "mntns.img: present, though inventory.img says the tree had no mount namespace of its own"
			  : "mntns.img: missing, though inventory.img says the tree had its own mount namespace");
	return -1;
}

int mnt_restore_prepare(int dirfd, const struct mnt_opts *m, struct mnt_restore *r)
{
	memset(r, 0, sizeof(*r));
	r->rootfd = r->own_ns = -1;
	r->images_dirfd = dirfd;
	int has = load(dirfd, r);
	if (has <= 0)
		return has;
	r->done = calloc(r->ents.nr, sizeof(*r->done));
	if (!r->done || enter_private(m, r))
		return -1;
	r->done[0] = true;
	for (size_t i = 1; i < r->ents.nr; i++)
		if (!deferred(r, i) && mount_one(r, r->rootfd, m, i))
			return -1;
	pr_info("mount namespace: %zu mounts, made under %s", r->ents.nr, r->root);
	return 0;
}

static int set_propagation(const struct mnt_restore *r)
{
	for (size_t i = 0; i < r->ents.nr; i++) {
		const MntEntry *e = ent(r, i);
		unsigned long f = e->has_shared_id && e->shared_id ? MS_SHARED : e->unbindable ? MS_UNBINDABLE : 0;
		/* external ones too: a shared one in a peer group of its own (mnt-dump.c) */
		if (!f)
			continue;
		if (mount(NULL, e->mountpoint, NULL, f, NULL)) {
			pr_perror("mntns.img: mount %u at %s: cannot set its propagation", e->mnt_id, e->mountpoint);
			return -1;
		}
	}
	return 0;
}

/* a copy of the mount at mp of the detached tree stage (allocated now: mountinfo lists mounts in that order) moved onto its place */
static int clone_one(int stage, int rootfd, const MntEntry *e)
{
	char at[64];
	int src = mnt_open_in(stage, e->mountpoint, O_PATH | O_CLOEXEC, 0);
	int c = src < 0 ? -1 : open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	int tfd = c < 0 ? -1 : mnt_open_in(rootfd, e->mountpoint, O_PATH | O_CLOEXEC, 0);
	int ret = -1;

	if (tfd < 0 || move_mount(c, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)) {
		pr_perror("mntns.img: mount %u at %s: cannot move it into the tree's namespace", e->mnt_id,
			  e->mountpoint);
		goto out;
	}
	close(tfd);
	tfd = mnt_open_in(rootfd, e->mountpoint, O_PATH | O_CLOEXEC, 0);
	snprintf(at, sizeof(at), "/proc/self/fd/%d", tfd);
	ret = tfd < 0 ? -1 : set_flags(at, e);
out:
	if (src >= 0)
		close(src);
	if (c >= 0)
		close(c);
	if (tfd >= 0)
		close(tfd);
	return ret;
}

/*
 * In the root task: the tree criu made is taken aside (detached) and made
 * again mount by mount in mntns.img's order, criu's mounts as copies of
 * its (the same super blocks, the same files), the others new
 */
static int remake(struct mnt_restore *r, const struct mnt_opts *m, int stage)
{
	int c = open_tree(stage, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (c < 0 || move_mount(c, "", AT_FDCWD, r->root, MOVE_MOUNT_F_EMPTY_PATH)) {
		pr_perror("cannot put the root mount at %s", r->root);
		if (c >= 0)
			close(c);
		return -1;
	}
	close(c);
	int rootfd = open(r->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		pr_perror("cannot open the new root %s", r->root);
		return -1;
	}
	for (size_t i = 1; i < r->ents.nr; i++)
		if (r->done[i] ? clone_one(stage, rootfd, ent(r, i)) : mount_one(r, rootfd, m, i)) {
			close(rootfd);
			return -1;
		}
	if (fchdir(rootfd) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) || chdir("/")) {
		pr_perror("cannot pivot_root into the new root %s", r->root);
		close(rootfd);
		return -1;
	}
	close(rootfd);
	return 0;
}

int mnt_restore_finish(struct mnt_restore *r, const struct mnt_opts *m)
{
	if (r->rootfd < 0)
		return 0;
	int stage = open_tree(AT_FDCWD, r->root, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (stage < 0 || umount2(r->root, MNT_DETACH)) {
		pr_perror("cannot take aside the mounts made under %s", r->root);
		if (stage >= 0)
			close(stage);
		return -1;
	}
	int ret = remake(r, m, stage);
	close(stage);
	return ret ? -1 : set_propagation(r);
}

void mnt_restore_leave(struct mnt_restore *r)
{
	if (r->own_ns >= 0 && setns(r->own_ns, CLONE_NEWNS))
		pr_perror("cannot go back to criu's own mount namespace");
	if (r->own_ns >= 0)
		close(r->own_ns);
	if (r->rootfd >= 0)
		close(r->rootfd);
	r->own_ns = r->rootfd = -1;
	pty_reserved_close(&r->ptys);
	img_entries_free(&r->ents);
	free(r->done);
	free(r->root);
	r->done = NULL;
	r->root = NULL;
}
