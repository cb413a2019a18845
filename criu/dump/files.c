/*
 * files.c - a task's file descriptors, cwd, root and umask.
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
#include <limits.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dump.h"
#include "files.h"
#include "log.h"

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
	if (proc_read_fdinfo(pid, fd, &p->fi))
		return -1;
	return p->link ? 0 : -1;
}

static int cmp_fd(const void *a, const void *b)
{
	return ((const struct fd_probe *)a)->fd - ((const struct fd_probe *)b)->fd;
}

/* what two fds of one open file description must have in common */
static int cmp_key(const void *a, const void *b)
{
	const struct fd_probe *x = *(struct fd_probe *const *)a, *y = *(struct fd_probe *const *)b;
	if (x->st.st_dev != y->st.st_dev)
		return x->st.st_dev < y->st.st_dev ? -1 : 1;
	if (x->st.st_ino != y->st.st_ino)
		return x->st.st_ino < y->st.st_ino ? -1 : 1;
	if (x->fi.pos != y->fi.pos)
		return x->fi.pos < y->fi.pos ? -1 : 1;
	if ((x->fi.flags & ~O_CLOEXEC) != (y->fi.flags & ~O_CLOEXEC))
		return (x->fi.flags & ~O_CLOEXEC) < (y->fi.flags & ~O_CLOEXEC) ? -1 : 1;
	return x->fd - y->fd;
}

/* file ids: 1, 2, ... in the order of each file's lowest fd */
static int group_files(struct fd_dump *d)
{
	struct fd_probe **by_key = malloc((d->nr + 1) * sizeof(*by_key));
	int *rep = malloc((d->nr + 1) * sizeof(*rep));	/* by fd index: index of its first fd */
	if (!by_key || !rep) {
		free(by_key);
		free(rep);
		return -1;
	}
	for (size_t i = 0; i < d->nr; i++) {
		by_key[i] = &d->probes[i];
		rep[i] = i;
	}
	qsort(by_key, d->nr, sizeof(*by_key), cmp_key);
	for (size_t i = 0; i < d->nr;) {
		size_t j = i + 1;
		struct fd_probe key = *by_key[i];
		key.fd = -1;
		while (j < d->nr) {
			struct fd_probe k2 = *by_key[j];
			k2.fd = -1;
			struct fd_probe *pa = &key, *pb = &k2;
			if (cmp_key(&pa, &pb))
				break;
			j++;
		}
		/* by_key[i..j) may share descriptions: ask the kernel */
		for (size_t a = i + 1; a < j; a++) {
			for (size_t b = i; b < a; b++) {
				size_t ib = by_key[b] - d->probes;
				if ((size_t)rep[ib] != ib)
					continue;
				long r = syscall(SYS_kcmp, d->pid, d->pid, KCMP_FILE, by_key[a]->fd, by_key[b]->fd);
				if (r < 0) {
					pr_perror("pid %d: kcmp of fds %d and %d", d->pid, by_key[a]->fd, by_key[b]->fd);
					free(by_key);
					free(rep);
					return -1;
				}
				if (r == 0) {
					rep[by_key[a] - d->probes] = ib;
					break;
				}
			}
		}
		i = j;
	}
	uint32_t next = 1;
	for (size_t i = 0; i < d->nr; i++) {
		/* sorted by fd with lower fds first: a representative comes first */
		if ((size_t)rep[i] == i) {
			d->probes[i].file_id = next++;
			d->probes[i].first = true;
		} else {
			d->probes[i].file_id = d->probes[rep[i]].file_id;
		}
	}
	free(by_key);
	free(rep);
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
		pr_err("pid %d: fd %d: '%s' is not supported (supported: regular files, directories, deleted files, character devices, terminals, memfd, pipes, FIFOs)",
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
	return e;
bad:
	fd_entry__free_unpacked(e, NULL);
	return NULL;
}

int dump_files(struct dump_proc *p, const struct opts *o)
{
	struct fd_dump d = { .pid = p->pid, .pidfd = -1, .o = o };
	char path[PATH_MAX], buf[64];
	struct dirent *de;
	size_t cap = 0;
	int ret = -1;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", p->pid);
	dir = opendir(path);
	if (!dir) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == p->skip_fd)
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
	closedir(dir);
	dir = NULL;
	qsort(d.probes, d.nr, sizeof(*d.probes), cmp_fd);
	if (group_files(&d))
		goto out;

	p->fds = calloc(d.nr + 1, sizeof(*p->fds));
	if (!p->fds)
		goto out;
	for (size_t i = 0; i < d.nr; i++) {
		FdEntry *e = dump_fd(&d, &d.probes[i]);
		if (!e)
			goto out;
		p->fds[p->nr_fds++] = e;
	}

	FsEntry *fs = calloc(1, sizeof(*fs));
	if (!fs)
		goto out;
	fs_entry__init(fs);
	p->fs = fs;
	if (read_link(p->pid, "cwd", path, sizeof(path)))
		goto out;
	fs->cwd = strdup(path);
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
	for (size_t i = 0; i < d.nr; i++)
		free(d.probes[i].link);
	free(d.probes);
	if (d.pidfd >= 0)
		close(d.pidfd);
	return ret;
}
