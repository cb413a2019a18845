/*
 * table.c - the table of fd kinds and the helpers they share.  Adding a
 * kind means adding its module and one row here.
 */
#define LOG_PREFIX "files: "
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"

static const struct fd_ops *const kinds[] = {
	&fd_mqueue_ops,	/* before reg: a queue's inode is a regular file's */
	&fd_memfd_ops,	/* before reg: a memfd is a regular file too */
	&fd_reg_ops,
	&fd_pty_ops,	/* before tty: a pair held by the process (else tty's) */
	&fd_tty_ops,	/* before chr: a terminal is a character device too */
	&fd_tun_ops,	/* before chr: /dev/net/tun too */
	&fd_chr_ops,
	&fd_pipe_ops,
	&fd_fifo_ops,
	&fd_eventfd_ops,
	&fd_signalfd_ops,
	&fd_timerfd_ops,
	&fd_epoll_ops,
	&fd_inotify_ops,
	&fd_inetsk_ops,	/* before unixsk: it takes every other socket */
	&fd_netlinksk_ops,
	&fd_packetsk_ops,
	&fd_unixsk_ops,
	&fd_pidfd_ops,
};

const struct fd_ops *fd_ops_by_kind(FdKind kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i]->kind == kind)
			return kinds[i];
	return NULL;
}

const struct fd_ops *fd_ops_match(const struct fd_probe *p)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i]->match(p))
			return kinds[i];
	return NULL;
}

int fd_dump_getfd(struct fd_dump *d, int fd)
{
	if (d->pidfd < 0) {
		d->pidfd = syscall(SYS_pidfd_open, d->pid, 0);
		if (d->pidfd < 0) {
			pr_perror("pid %d: pidfd_open", d->pid);
			return -1;
		}
	}
	int copy = syscall(SYS_pidfd_getfd, d->pidfd, fd, 0);
	if (copy < 0)
		pr_perror("pid %d: fd %d: cannot take a copy (pidfd_getfd)", d->pid, fd);
	return copy;
}

const struct fd_probe *fd_dump_find_link(const struct fd_dump *d, const char *link, int not_fd)
{
	for (size_t i = 0; i < d->nr; i++)
		if (d->probes[i].fd != not_fd && !strcmp(d->probes[i].link, link))
			return &d->probes[i];
	return NULL;
}

int fd_reopen(int fd, uint32_t flags, uint32_t id)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int nfd = open(proc, FD_OPEN_FLAGS(flags));
	if (nfd < 0)
		pr_perror("file %u: cannot open it again with flags %o", id, flags);
	return nfd;
}

int fd_rst_open_early(struct fd_rst *r)
{
	for (uint32_t id = 1; id <= r->nr_files; id++) {
		const FileEntry *fe = r->file[id];
		const struct fd_ops *ops = fd_ops_by_kind(fe->kind);
		if (r->where[id] >= 0 || fe->external || !ops->early)
			continue;
		if (ops->early(r, fe))
			return -1;
	}
	return 0;
}

int fd_rst_stash(struct fd_rst *r, uint32_t id, int fd)
{
	/* made by another file's open(): its own flags are set here */
	if (fd_set_status_flags(fd, r->file[id]->flags, id))
		return -1;
	int s = fcntl(fd, F_DUPFD_CLOEXEC, r->stash_base);
	if (s < 0) {
		pr_perror("file %u: cannot keep an fd for later", id);
		return -1;
	}
	close(fd);
	r->where[id] = s;
	r->stashed[id] = true;
	return 0;
}

int fd_set_status_flags(int fd, uint32_t flags, uint32_t id)
{
	const uint32_t settable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
	int cur = fcntl(fd, F_GETFL);
	if (cur < 0 || ((cur & settable) != (flags & settable) &&
			fcntl(fd, F_SETFL, (cur & ~settable) | (flags & settable)))) {
		pr_perror("file %u: cannot set file status flags %o", id, flags);
		return -1;
	}
	return 0;
}

char *fd_read_fdinfo(pid_t pid, int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0) {
		pr_perror("cannot open %s", path);
		return NULL;
	}
	size_t cap = 1024, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		ssize_t n = read(f, buf + len, cap - 1 - len);
		if (n < 0) {
			pr_perror("cannot read %s", path);
			free(buf);
			buf = NULL;
			break;
		}
		len += n;
		if (n == 0) {
			buf[len] = 0;
			break;
		}
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap *= 4);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	close(f);
	return buf;
}

char *fd_dump_fdinfo(struct fd_dump *d, int fd)
{
	const struct fd_probe *p = fd_dump_probe(d, fd);
	char *s = p && p->info ? strdup(p->info) : fd_read_fdinfo(d->pid, fd);
	if (!s)
		pr_err("pid %d: fd %d: no fdinfo", d->pid, fd);
	return s;
}

size_t fd_dump_inode(const struct fd_dump *d, dev_t dev, ino_t ino, struct fd_probe *const **first)
{
	size_t lo = 0, hi = d->nr;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct stat *st = &d->by_ino[mid]->st;
		if (st->st_dev < dev || (st->st_dev == dev && st->st_ino < ino))
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t n = 0;
	while (lo + n < d->nr && d->by_ino[lo + n]->st.st_dev == dev && d->by_ino[lo + n]->st.st_ino == ino)
		n++;
	*first = d->by_ino + lo;
	return n;
}

bool fd_dump_first_of_inode(const struct fd_dump *d, const struct fd_probe *p)
{
	struct fd_probe *const *same;
	size_t n = fd_dump_inode(d, p->st.st_dev, p->st.st_ino, &same);
	for (size_t i = 0; i < n; i++)
		if (same[i]->fd < p->fd)
			return false;
	return true;
}

const struct fd_probe *fd_dump_probe(const struct fd_dump *d, int fd)
{
	size_t lo = 0, hi = d->nr;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (d->probes[mid].fd == fd)
			return &d->probes[mid];
		if (d->probes[mid].fd < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool fd_pid_in_tree(const struct fd_dump *d, pid_t pid)
{
	struct proc_stat st;
	pid_t root = d->o && d->o->pid > 0 ? d->o->pid : d->pid;
	for (int depth = 0; pid > 1 && depth < 4096; depth++) {
		if (pid == root)
			return true;
		if (proc_read_stat(pid, &st))
			return false;
		pid = st.ppid;
	}
	return false;
}

pid_t fd_find_holder(const struct fd_dump *d, const char *link, int *fd)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	char path[64], l[PATH_MAX];
	pid_t found = 0;

	while (proc && !found && (de = readdir(proc))) {
		pid_t o = atoi(de->d_name);
		if (o <= 0 || o == d->pid || o == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", o);
		DIR *fds = opendir(path);
		struct dirent *f;
		while (fds && !found && (f = readdir(fds))) {
			ssize_t n = readlinkat(dirfd(fds), f->d_name, l, sizeof(l) - 1);
			if (n > 0 && f->d_name[0] != '.') {
				l[n] = 0;
				if (!strcmp(l, link)) {
					found = o;
					*fd = atoi(f->d_name);
				}
			}
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
	return found;
}

dev_t fd_kdev_to_dev(unsigned long kdev)
{
	return makedev(kdev >> 20, kdev & 0xfffff);
}
