/*
 * ns-dump.c - the uts, ipc, network and time namespaces a dumped tree has
 * of its own (its root's, when they are not criu's; ns-check.c made sure
 * every task shares the root's).  A helper process joins the uts, ipc and
 * network ones (setns) and writes utsns.img, ipcns.img and netns.img
 * (uts-ns.c, ipc-dump.c, criu/net/netns-dump.c);
 * criu itself stays in its own; the time one is read from /proc
 * (time-ns.c).  Nothing in the tree's processes changes.
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu/dump/dump.h"
#include "common/log.h"
#include "criu/net/netns.h"
#include "criu/ns/ns-img.h"
#include "criu/ns/ns.h"
#include "criu/ns/mnt.h"

static int dump_uts(int dirfd, uint64_t dump_id, const struct mq_fds *mq)
{
	(void)mq;
	return uts_ns_dump(dirfd, dump_id);
}

/* the kinds saved here, with their writers (mq: the tree's fds on POSIX
 * message queues, which the ipc one checks) */
static const struct {
	const char *name;
	int flag;
	int (*dump)(int dirfd, uint64_t dump_id, const struct mq_fds *mq);
} saved[] = {
	{ "uts", CLONE_NEWUTS, dump_uts },
	{ "ipc", CLONE_NEWIPC, ipc_ns_dump },
};
#define NR_SAVED (sizeof(saved) / sizeof(saved[0]))

/* in the helper: root's network namespace saved from inside */
static int dump_net(pid_t root, int dirfd, uint64_t dump_id, const struct opts *o)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", root);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		pr_perror("pid %d: cannot join its network namespace", root);
		return -1;
	}
	close(fd);
	return netns_dump(dirfd, dump_id, &o->net, root, ns_inode(root, root, "net"));
}

/* in the helper: joins root's namespaces of flags, writes their images */
static int __attribute__((noreturn)) helper(pid_t root, uint32_t flags, int dirfd, uint64_t dump_id,
					    const struct opts *o, const struct mq_fds *mq)
{
	char path[64];

	for (size_t i = 0; i < NR_SAVED; i++) {
		if (!(flags & saved[i].flag))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", root, saved[i].name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, saved[i].flag)) {
			pr_perror("pid %d: cannot join its %s namespace", root, saved[i].name);
			_exit(1);
		}
		close(fd);
	}
	for (size_t i = 0; i < NR_SAVED; i++)
		if ((flags & saved[i].flag) && saved[i].dump(dirfd, dump_id, mq))
			_exit(1);
	if ((flags & CLONE_NEWNET) && dump_net(root, dirfd, dump_id, o))
		_exit(1);
	_exit(0);
}

/* a time namespace of its own: saved from outside (/proc); CLONE_NEWTIME in t->ns_flags */
static int check_time(struct dump_tree *t)
{
	pid_t root = t->procs[0].pid;
	unsigned long its = ns_inode(root, root, "time");

	if (!its || its == ns_inode(0, 0, "time"))
		return 0;
	if (ns_inode(root, root, "time_for_children") != its) {
		pr_err("pid %d: time namespace for its children time_for_children:[%lu] differs from its own "
		       "time:[%lu]: not supported", root, ns_inode(root, root, "time_for_children"), its);
		return -1;
	}
	t->ns_flags |= CLONE_NEWTIME;
	return 0;
}

/*
 * SysV shared memory attached by a process: its contents are saved with
 * the ipc namespace (ipc-dump.c), so only a tree with one of its own; the
 * host's segments are not the tree's to save.
 */
static int check_sysv_attached(const struct dump_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		for (size_t k = 0; !p->zombie && p->mm && k < p->mm->n_vmas; k++) {
			const Vma *v = p->mm->vmas[k];
			if (v->kind != VMA_KIND__VMA_SYSV_SHM || (t->ns_flags & CLONE_NEWIPC))
				continue;
			pr_err("pid %d: SysV shm segment %lu attached at %lx: only a tree with an ipc namespace of its own has its segments saved",
			       p->pid, (unsigned long)v->ino, (unsigned long)v->start);
			return -1;
		}
	}
	return 0;
}

/* what fd holds until its end, as a string (NULL on error, logged) */
static char *read_all(int fd)
{
	size_t len = 0, cap = 256;
	char *buf = malloc(cap);
	ssize_t n;

	while (buf && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pr_perror("cannot read the namespace helper's report");
			free(buf);
			return NULL;
		}
		len += n;
		char *nb = len + 1 == cap ? realloc(buf, cap *= 2) : buf;
		if (!nb)
			free(buf);
		buf = nb;
	}
	if (buf)
		buf[len] = 0;
	return buf;
}

/* the tree's fds on POSIX message queues (criu/files/mqueue.c) into *mq */
static int collect_mq_fds(const struct dump_tree *t, struct mq_fds *mq)
{
	struct mq_fd *v = NULL;
	size_t n = 0;

	for (size_t i = 0; i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		for (size_t k = 0; !p->zombie && k < p->nr_fds; k++) {
			const FileEntry *fe = p->fds[k]->file;
			if (!fe || fe->kind != FD_KIND__FD_MQUEUE || !fe->mqueue)
				continue;
			struct mq_fd *nv = realloc(v, (n + 1) * sizeof(*v));
			if (!nv) {
				free(v);
				return -1;
			}
			v = nv;
			v[n++] = (struct mq_fd){ .pid = p->pid, .fd = p->fds[k]->fd, .name = fe->mqueue->name,
						 .dev = fe->mqueue->dev, .ino = fe->mqueue->ino };
		}
	}
	mq->v = v;
	mq->nr = n;
	mq->report = -1;
	return 0;
}

/* a path of a process in its own mount namespace leads there to the file it names (not one covering it) */
static int same_file(int rootfd, const char *path, dev_t dev, ino_t ino)
{
	struct stat st;
	return !mnt_stat_in(rootfd, path, &st, false) && st.st_dev == dev && st.st_ino == ino;
}

static int check_mnt_paths(const struct dump_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		char cwd[64];
		struct stat st;
		if (p->zombie)
			continue;
		for (size_t k = 0; p->mm && k < p->mm->n_vmas; k++) {
			const Vma *v = p->mm->vmas[k];
			if ((v->kind != VMA_KIND__VMA_FILE_PRIVATE && v->kind != VMA_KIND__VMA_FILE_SHARED) || !v->path)
				continue;
			if (!same_file(t->rootfd, v->path, v->dev, v->ino)) {
				pr_err("pid %d: mapped file %s: its path leads to another file in its mount namespace "
				       "(covered by another mount, or replaced): not supported", p->pid, v->path);
				return -1;
			}
		}
		snprintf(cwd, sizeof(cwd), "/proc/%d/cwd", p->pid);
		if (p->fs && p->fs->cwd && !p->fs->cwd_ghost &&
		    (stat(cwd, &st) || !same_file(t->rootfd, p->fs->cwd, st.st_dev, st.st_ino))) {
			pr_err("pid %d: cwd %s: its path leads to another directory in its mount namespace "
			       "(covered by another mount): not supported", p->pid, p->fs->cwd);
			return -1;
		}
	}
	return 0;
}

/* a network namespace of its own: saved from inside, or the caller's
 * (--external net[INODE]:KEY: only its key saved); CLONE_NEWNET in t->ns_flags */
static int check_net(struct dump_tree *t, const struct opts *o, int dirfd, bool *inside)
{
	pid_t root = t->procs[0].pid;
	unsigned long its = ns_inode(root, root, "net");

	*inside = false;
	if (!its || its == ns_inode(0, 0, "net"))
		return 0;
	t->ns_flags |= CLONE_NEWNET;
	if (its != o->net.ext_ns_inode) {
		*inside = true;
		return 0;
	}
	pr_info("pid %d: network namespace net:[%lu] is external (key %s)", root, its, o->net.ext_ns_key);
	return netns_dump_external(dirfd, t->dump_id, o->net.ext_ns_key);
}

int ns_dump_images(struct dump_tree *t, const struct opts *o, int dirfd)
{
	pid_t root = t->procs[0].pid;
	bool net_inside;
	int status;

	t->ns_flags = 0;
	if (t->mnt) {
		t->ns_flags |= CLONE_NEWNS;
		if (check_mnt_paths(t) || mnt_dump_write(t->mnt, t->rootfd, dirfd, t->dump_id))
			return -1;
	}
	for (size_t i = 0; i < NR_SAVED; i++) {
		unsigned long its = ns_inode(root, root, saved[i].name);
		if (its && its != ns_inode(0, 0, saved[i].name))
			t->ns_flags |= saved[i].flag;
	}
	if (check_time(t) || check_sysv_attached(t) || check_net(t, o, dirfd, &net_inside))
		return -1;
	if (!t->ns_flags)
		return 0;
	if ((t->ns_flags & CLONE_NEWTIME) && time_ns_dump(root, dirfd, t->dump_id))
		return -1;
	uint32_t joined = (t->ns_flags & (CLONE_NEWUTS | CLONE_NEWIPC)) | (net_inside ? CLONE_NEWNET : 0);
	if (!joined)
		goto done;
	struct mq_fds mq;
	int rep[2];
	if (collect_mq_fds(t, &mq))
		return -1;
	if (pipe2(rep, O_CLOEXEC)) {
		pr_perror("cannot make a pipe for the namespace helper");
		free((void *)mq.v);
		return -1;
	}
	pid_t h = fork();
	if (h == 0) {
		close(rep[0]);
		mq.report = rep[1];
		helper(root, joined, dirfd, t->dump_id, o, &mq);
	}
	close(rep[1]);
	free((void *)mq.v);
	if (h < 0) {
		pr_perror("cannot start the namespace helper");
		close(rep[0]);
		return -1;
	}
	/* the notifications it fired are given back whatever happened next */
	char *fired = read_all(rep[0]);
	close(rep[0]);
	while (waitpid(h, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	int settled = fired ? mq_notify_settle(t, fired) : -1;
	free(fired);
	if (!WIFEXITED(status) || WEXITSTATUS(status) || settled)
		return -1;	/* it said why */
done:
	pr_info("pid %d: namespaces of its own saved:%s%s%s%s%s", root, t->ns_flags & CLONE_NEWNS ? " mnt" : "",
		t->ns_flags & CLONE_NEWUTS ? " uts" : "", t->ns_flags & CLONE_NEWIPC ? " ipc" : "",
		t->ns_flags & CLONE_NEWTIME ? " time" : "", t->ns_flags & CLONE_NEWNET ? " net" : "");
	return 0;
}
