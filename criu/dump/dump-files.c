/*
 * dump-files.c - a task's file descriptors, cwd, root and umask.
 *
 * Every fd is probed (link, stat, fdinfo), fds sharing one open file
 * description are grouped (same inode, flags and offset, then kcmp), and
 * each open file description is described once by the kind that matches it
 * (criu/files/).  An fd no kind handles is refused here, naming the
 * process, the fd and the object.
 */
#define LOG_PREFIX "files: "
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "criu/dump/dump.h"
#include "criu/files/files.h"
#include "common/compat.h"
#include "common/log.h"

static int read_link(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	ssize_t n = readlink(path, buf, len - 1);
	if (n < 0) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	buf[n] = 0;
	return 0;
}

static int probe_fd(pid_t pid, int fd, struct fd_probe *p)
{
	char name[64], path[PATH_MAX];

	p->fd = fd;
	snprintf(name, sizeof(name), "fd/%d", fd);
	if (read_link(pid, name, path, sizeof(path)))
		return -1;
	p->link = strdup(path);
	snprintf(name, sizeof(name), "/proc/%d/fd/%d", pid, fd);
	if (stat(name, &p->st)) {
		pr_perror("pid %d: cannot stat fd %d (%s)", pid, fd, path);
		return -1;
	}
	/* a POSIX message queue: a regular inode whose path is "/NAME" on an mqueue fs */
	struct statfs sf;
	p->mqueue = S_ISREG(p->st.st_mode) && path[0] == '/' && !strchr(path + 1, '/') &&
		    !statfs(name, &sf) && (unsigned long)sf.f_type == MQUEUE_MAGIC_;
	if (S_ISSOCK(p->st.st_mode) &&
	    getxattr(name, "system.sockprotoname", p->sk_proto, sizeof(p->sk_proto) - 1) < 0)
		p->sk_proto[0] = 0;
	/* one read of fdinfo serves every kind */
	p->info = fd_read_fdinfo(pid, fd);
	if (!p->info)
		return -1;
	char *l;
	int seen = 0;
	if ((l = strstr(p->info, "pos:")) && sscanf(l, "pos: %" SCNu64, &p->fi.pos) == 1)
		seen |= 1;
	if ((l = strstr(p->info, "flags:")) && sscanf(l, "flags: %o", &p->fi.flags) == 1)
		seen |= 2;
	if ((l = strstr(p->info, "mnt_id:")))
		sscanf(l, "mnt_id: %d", &p->fi.mnt_id);
	if (seen != 3) {
		pr_err("/proc/%d/fdinfo/%d: missing pos or flags", pid, fd);
		return -1;
	}
	return p->link ? 0 : -1;
}

static int cmp_fd(const void *a, const void *b)
{
	return ((const struct fd_probe *)a)->fd - ((const struct fd_probe *)b)->fd;
}

struct group_ctx {
	pid_t pid;
	int err;
};

/* same key (inode, flags, offset), then the kernel's order of open file
 * descriptions (kcmp: 0 same, 1 less, 2 greater), then fd number */
static int cmp_file(const void *a, const void *b, void *arg)
{
	const struct fd_probe *x = *(struct fd_probe *const *)a, *y = *(struct fd_probe *const *)b;
	struct group_ctx *g = arg;
	uint32_t xf = x->fi.flags & ~O_CLOEXEC, yf = y->fi.flags & ~O_CLOEXEC;

	if (x->st.st_dev != y->st.st_dev)
		return x->st.st_dev < y->st.st_dev ? -1 : 1;
	if (x->st.st_ino != y->st.st_ino)
		return x->st.st_ino < y->st.st_ino ? -1 : 1;
	if (x->fi.pos != y->fi.pos)
		return x->fi.pos < y->fi.pos ? -1 : 1;
	if (xf != yf)
		return xf < yf ? -1 : 1;
	if (x->fd == y->fd)
		return 0;
	long r = syscall(SYS_kcmp, g->pid, g->pid, KCMP_FILE, x->fd, y->fd);
	if (r < 0) {
		if (!g->err)
			pr_perror("pid %d: kcmp of fds %d and %d", g->pid, x->fd, y->fd);
		g->err = -1;
		return x->fd - y->fd;
	}
	if (r == 1 || r == 2)
		return r == 1 ? -1 : 1;
	return x->fd - y->fd;
}

/* file ids: 1, 2, ... in the order of each file's lowest fd; O(n log n) kcmp */
static int group_files(struct fd_dump *d)
{
	struct fd_probe **v = malloc((d->nr + 1) * sizeof(*v));
	struct group_ctx g = { .pid = d->pid };
	if (!v)
		return -1;
	for (size_t i = 0; i < d->nr; i++)
		v[i] = &d->probes[i];
	qsort_r(v, d->nr, sizeof(*v), cmp_file, &g);
	d->by_ino = v;	/* sorted by device and inode first: kept for lookups */
	/* a run of one description: its first (lowest) fd is the representative */
	for (size_t i = 0; i < d->nr && !g.err; i++) {
		int rep = v[i]->fd;
		v[i]->first = true;
		v[i]->file_id = 0;
		while (i + 1 < d->nr && v[i + 1]->st.st_ino == v[i]->st.st_ino &&
		       v[i + 1]->st.st_dev == v[i]->st.st_dev && v[i + 1]->fi.pos == v[i]->fi.pos &&
		       ((v[i + 1]->fi.flags ^ v[i]->fi.flags) & ~O_CLOEXEC) == 0 &&
		       syscall(SYS_kcmp, d->pid, d->pid, KCMP_FILE, v[i]->fd, v[i + 1]->fd) == 0) {
			v[i + 1]->first = false;
			v[i + 1]->file_id = rep;	/* for now: the representative's fd */
			i++;
		}
	}
	if (g.err)
		return -1;
	/* probes are sorted by fd: number representatives in that order */
	uint32_t next = 1;
	int *id_of_fd = NULL;
	int max_fd = d->nr ? d->probes[d->nr - 1].fd : 0;
	id_of_fd = calloc(max_fd + 1, sizeof(*id_of_fd));
	if (!id_of_fd)
		return -1;
	for (size_t i = 0; i < d->nr; i++) {
		struct fd_probe *p = &d->probes[i];
		if (p->first) {
			p->file_id = next++;
			id_of_fd[p->fd] = p->file_id;
		} else {
			p->file_id = id_of_fd[p->file_id];
		}
	}
	free(id_of_fd);
	return 0;
}

static FdEntry *dump_fd(struct fd_dump *d, const struct fd_probe *p)
{
	FdEntry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	fd_entry__init(e);
	e->fd = p->fd;
	e->cloexec = !!(p->fi.flags & O_CLOEXEC);
	e->file_id = p->file_id;
	if (!p->first)
		return e;

	const struct fd_ops *ops = fd_ops_match(p);
	if (!ops) {
		pr_err("pid %d: fd %d: '%s' is not supported (supported: regular files, directories, deleted files, character devices, terminals, memfd, pipes, FIFOs, eventfd, signalfd, timerfd, epoll, inotify, POSIX message queues, unix sockets, TCP, UDP, raw, netlink and packet sockets, pidfds)",
		       d->pid, p->fd, p->link);
		goto bad;
	}
	FileEntry *fe = calloc(1, sizeof(*fe));
	if (!fe)
		goto bad;
	file_entry__init(fe);
	e->file = fe;
	fe->id = p->file_id;
	fe->kind = ops->kind;
	fe->flags = p->fi.flags & ~O_CLOEXEC;
	if (ops->dump(d, p, fe))
		goto bad;
	/* POSIX locks go with the first file of the inode (lowest fd) */
	bool posix = S_ISREG(p->st.st_mode) || S_ISDIR(p->st.st_mode);
	struct fd_probe *const *same;
	size_t nsame = fd_dump_inode(d, p->st.st_dev, p->st.st_ino, &same);
	for (size_t i = 0; i < nsame && posix; i++)
		posix = same[i]->fd >= p->fd;
	/* an external file stays with its other users: its state is theirs */
	if (!fe->external && fd_dump_state(d, p, posix, fe))
		goto bad;
	return e;
bad:
	fd_entry__free_unpacked(e, NULL);
	return NULL;
}

/* one of criu's tracking uffds (dump.c table_skips) */
static bool criu_fd(const struct dump_proc *p, int fd)
{
	for (size_t i = 0; i < p->nr_table_skip; i++)
		if (p->table_skip[i] == fd)
			return true;
	return fd == p->skip_fd;
}

/* the cwd's path; a removed one (" (deleted)", no links) as a ghost */
static int dump_cwd(pid_t pid, FsEntry *fs, char *path)
{
	char proc[64];
	struct stat st;
	size_t n = strlen(path), dl = strlen(" (deleted)");

	snprintf(proc, sizeof(proc), "/proc/%d/cwd", pid);
	if (n > dl && !strcmp(path + n - dl, " (deleted)") && !stat(proc, &st) && st.st_nlink == 0) {
		path[n - dl] = 0;
		fs->cwd_ghost = fd_dump_deleted_cwd(pid, path, &st);
		if (!fs->cwd_ghost)
			return -1;
	}
	fs->cwd = strdup(path);
	return fs->cwd ? 0 : -1;
}

int dump_files(struct dump_proc *p, const struct opts *o)
{
	struct fd_dump d = { .pid = p->pid, .pidfd = -1, .o = o, .rootfd = p->rootfd };
	char path[PATH_MAX], buf[64];
	struct dirent *de;
	size_t cap = 0;
	int ret = -1;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", p->pid);
	/* an fd table shared with its parent (CLONE_FILES) is the parent's to dump */
	dir = p->files_shared ? NULL : opendir(path);
	if (!dir && !p->files_shared) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.' || criu_fd(p, atoi(de->d_name)))
			continue;
		if (d.nr == cap) {
			cap = cap ? cap * 2 : 32;
			struct fd_probe *n = realloc(d.probes, cap * sizeof(*n));
			if (!n)
				goto out;
			d.probes = n;
		}
		memset(&d.probes[d.nr], 0, sizeof(d.probes[0]));
		if (probe_fd(p->pid, atoi(de->d_name), &d.probes[d.nr++]))
			goto out;
	}
	if (dir)
		closedir(dir);
	dir = NULL;
	qsort(d.probes, d.nr, sizeof(*d.probes), cmp_fd);
	if (group_files(&d))
		goto out;

	p->fds = calloc(d.nr + 1, sizeof(*p->fds));
	p->fd_ids = calloc(d.nr + 1, sizeof(*p->fd_ids));
	if (!p->fds || !p->fd_ids)
		goto out;
	for (size_t i = 0; i < d.nr; i++) {
		const struct fd_probe *pr = &d.probes[i];
		FdEntry *e = dump_fd(&d, pr);
		if (!e)
			goto out;
		p->fd_ids[p->nr_fds] = (struct fd_id){ pr->fd, pr->fi.flags, pr->st.st_dev,
						       pr->st.st_ino, pr->st.st_mode };
		p->fds[p->nr_fds++] = e;
	}

	FsEntry *fs = calloc(1, sizeof(*fs));
	if (!fs)
		goto out;
	fs_entry__init(fs);
	p->fs = fs;
	if (read_link(p->pid, "cwd", path, sizeof(path)) || dump_cwd(p->pid, fs, path))
		goto out;
	if (read_link(p->pid, "root", path, sizeof(path)))
		goto out;
	fs->root = strdup(path);
	if (proc_status_field(p->pid, "Umask:", buf, sizeof(buf)))
		goto out;
	fs->umask = strtoul(buf, NULL, 8);
	if (fs->cwd && fs->root)
		ret = 0;
out:
	if (dir)
		closedir(dir);
	for (size_t i = 0; i < d.nr; i++) {
		free(d.probes[i].link);
		free(d.probes[i].info);
	}
	free(d.by_ino);
	free(d.probes);
	if (d.pidfd >= 0)
		close(d.pidfd);
	unix_diag_free(d.unix_diag);
	pipe_holders_free(d.pipe_holders);
	return ret;
}
