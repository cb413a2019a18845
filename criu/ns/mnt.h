/*
 * mnt.h - the mount namespace of a tree: at dump, its mounts as the root's
 * mountinfo shows them, each classified as a kind restore can make again
 * (or refused with one line naming the process and the mount), written as
 * mntns.img with each tmpfs's contents (tmpfs-ID.img); at restore, a new
 * mount namespace built from them under --root, entered by the root task
 * (pivot_root) before any file of the tree is opened.
 *
 * Paths of a tree in its own mount namespace are those of its view
 * (the kernel shows them so in /proc/PID/fd, maps, cwd, root); criu
 * resolves them inside that view through a directory fd of its root
 * (mnt_open_in: openat2 RESOLVE_IN_ROOT), never through the host's.
 */
#ifndef CRIU_NS_MNT_H
#define CRIU_NS_MNT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "images/image.h"
#include "criu/files/pty-ns.h"

struct dump_tree;
struct mnt_opts;

/* mnt-path.c: path (absolute, of the view whose root is rootfd; 0 or less: criu's own) opened inside that view */
int mnt_open_in(int rootfd, const char *path, int flags, mode_t mode);
/* the same for stat (nofollow: lstat) */
int mnt_stat_in(int rootfd, const char *path, struct stat *st, bool nofollow);

/* the mounts of a dumped tree's mount namespace (mnt-dump.c) */
struct mnt_dump {
	unsigned long ino;	/* mnt:[ino] */
	pid_t root;		/* the tree's root process */
	size_t nr;
	MntEntry **e;		/* in mountinfo order; e[0] is the root mount */
};

/*
 * At dump, while the tree is seized: if its root's mount namespace is not
 * criu's, reads and classifies its mounts into *out (NULL if criu's) and
 * opens *rootfd (the root's root directory, O_PATH; -1 if criu's); refuses
 * with one line what restore could not make again
 */
int mnt_dump_collect(pid_t root, const struct mnt_opts *m, struct mnt_dump **out, int *rootfd);
/* pre-dump: only the root directory of its own mount namespace (-1 if none),
 * for the paths of its files; its mounts are the final dump's */
int mnt_dump_rootfd(pid_t root, int *rootfd);
/* mntns.img and each tmpfs's tmpfs-ID.img (mnt-tmpfs.c) */
int mnt_dump_write(const struct mnt_dump *d, int rootfd, int dirfd, uint64_t dump_id);
void mnt_dump_free(struct mnt_dump *d);

/* mnt-tmpfs.c: the contents of tmpfs mount e (reached through rootfd) into tmpfs-ID.img */
int tmpfs_dump(const MntEntry *e, pid_t root, int rootfd, int dirfd, uint64_t dump_id);
/* ...and back, into the directory fd dir (the new tmpfs, mounted) */
int tmpfs_restore(int dirfd, const MntEntry *e, int dir);

/*
 * The restore of a mount namespace (mnt-restore.c).  _prepare, in criu,
 * before any image path is opened: reads mntns.img (none: nothing to do,
 * *r->rootfd -1), takes a private copy of criu's mount namespace, binds
 * --root onto itself and mounts there every mount it can make from
 * outside the tree's other namespaces; r->rootfd resolves the tree's
 * paths.  _finish, in the root task, made in a copy of that namespace and
 * in the tree's new namespaces: the mounts that need them (proc, sysfs,
 * mqueue, cgroup and what is mounted below them), propagation, then
 * pivot_root into the new root; fds criu opened for the tree are opened
 * again there.  _leave, in criu: back into its own mount namespace.
 */
struct mnt_restore {
	struct img_entries ents;	/* mntns.img */
	int rootfd;			/* the new root as criu sees it, or -1 */
	int own_ns;			/* criu's own mount namespace, or -1 */
	char *root;			/* --root, its real path in criu's view */
	bool *done;			/* per entry: mounted by criu */
	int images_dirfd;		/* tmpfs-ID.img */
	struct pty_reserved ptys;	/* pts files bound elsewhere, made first */
};
int mnt_restore_prepare(int dirfd, const struct mnt_opts *m, struct mnt_restore *r);
int mnt_restore_finish(struct mnt_restore *r, const struct mnt_opts *m);
/* mntns.img was there (and used) if and only if inventory.img's ns_flags has CLONE_NEWNS */
int mnt_restore_agrees(const struct mnt_restore *r, uint32_t ns_flags);
void mnt_restore_leave(struct mnt_restore *r);

#endif /* CRIU_NS_MNT_H */
