/*
 * epoll.c - epoll instances: every watched file with its event mask and
 * data (fdinfo "tfd:" lines).  A watch names the fd number it was added
 * with (the kernel keys it by that number and the file); the fd of the
 * process that holds the very file now is found with kcmp
 * (KCMP_EPOLL_TFD): tfd itself, or another one if tfd was closed or
 * reused since.  A watched file no fd of the process holds is refused.
 * Restore creates the instance first and adds the watches once every fd
 * of the process is in place (post), with the file put at its tfd number
 * for the time of the epoll_ctl if need be.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"

static bool epoll_match(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[eventpoll]");
}

/*
 * The fd of the process that holds the file the watch (tfd, its toff-th
 * with that number) is on: tfd itself if it still does, else another fd
 * on that inode, asked of the kernel (kcmp KCMP_EPOLL_TFD: the very
 * file, not just the inode); -1 if none does.
 */
static int watched_fd(struct fd_dump *d, int epfd, int tfd, unsigned toff, unsigned long ino, dev_t dev)
{
	struct kcmp_epoll_slot slot = { .efd = epfd, .tfd = tfd, .toff = toff };
	const struct fd_probe *t = fd_dump_probe(d, tfd);
	struct fd_probe *const *same;
	size_t n = fd_dump_inode(d, dev, ino, &same);

	if (t && t->st.st_ino == ino && t->st.st_dev == dev &&
	    syscall(SYS_kcmp, d->pid, d->pid, KCMP_EPOLL_TFD, tfd, &slot) == 0)
		return tfd;
	for (size_t i = 0; i < n; i++)
		if (syscall(SYS_kcmp, d->pid, d->pid, KCMP_EPOLL_TFD, same[i]->fd, &slot) == 0)
			return same[i]->fd;
	return -1;
}

static EpollWatch *add_watch(EpollFile *e, size_t *cap)
{
	if (e->n_watches == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		EpollWatch **n = realloc(e->watches, *cap * sizeof(*n));
		if (!n)
			return NULL;
		e->watches = n;
	}
	EpollWatch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	epoll_watch__init(w);
	e->watches[e->n_watches++] = w;
	return w;
}

/* how many earlier watches were added with fd number tfd */
static unsigned same_tfd_before(const EpollFile *e, int tfd)
{
	unsigned n = 0;
	for (size_t i = 0; i < e->n_watches; i++)
		n += (int)e->watches[i]->tfd == tfd;
	return n;
}

static int epoll_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	EpollFile *e = calloc(1, sizeof(*e));
	char *info = fd_dump_fdinfo(d, p->fd);
	size_t cap = 0;
	int ret = -1;

	if (!e || !info)
		goto out;
	epoll_file__init(e);
	fe->epoll = e;
	for (char *l = strstr(info, "tfd:"); l; l = strstr(l + 4, "tfd:")) {
		int tfd;
		unsigned events;
		unsigned long data, ino, sdev;
		if (sscanf(l, "tfd: %d events: %x data: %lx pos:%*d ino:%lx sdev:%lx", &tfd, &events, &data,
			   &ino, &sdev) != 5) {
			pr_err("pid %d: fd %d: epoll: cannot parse fdinfo line '%.60s'", d->pid, p->fd, l);
			goto out;
		}
		int holder = watched_fd(d, p->fd, tfd, same_tfd_before(e, tfd), ino, fd_kdev_to_dev(sdev));
		if (holder < 0) {
			pr_err("pid %d: fd %d: epoll watches a file (inode %lu, added as fd %d) that no fd of the process holds any more: not supported",
			       d->pid, p->fd, ino, tfd);
			goto out;
		}
		EpollWatch *w = add_watch(e, &cap);
		if (!w)
			goto out;
		w->tfd = tfd;
		w->events = events;
		w->data = data;
		if (holder != tfd) {
			w->has_fd = true;
			w->fd = holder;
		}
	}
	ret = 0;
out:
	if (!fe->epoll)
		free(e);
	free(info);
	return ret;
}

static int epoll_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	(void)o;
	if (!fe->epoll) {
		pr_err("%s: file %u: no epoll description", name, fe->id);
		return -1;
	}
	return 0;
}

static int epoll_open(struct fd_rst *r, const FileEntry *fe)
{
	(void)r;
	int fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0)
		pr_perror("file %u: cannot create an epoll instance", fe->id);
	else if (fd_set_status_flags(fd, fe->flags, fe->id)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * A watch added with fd number tfd on the file now at fd src: the watch is
 * keyed by both (epoll_ctl MOD/DEL with tfd must find it), so src is put
 * at tfd for the epoll_ctl, and tfd's own file (if any) put back after.
 * Done before any lock is taken again (moving an fd drops POSIX locks).
 */
static int add_moved(int ep, const EpollWatch *w, struct epoll_event *ev)
{
	int tfd = w->tfd, flags = fcntl(tfd, F_GETFD), saved = -1, ret;
	if (flags >= 0 && (saved = fcntl(tfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -1;
	ret = dup2(w->fd, tfd) < 0 ? -1 : epoll_ctl(ep, EPOLL_CTL_ADD, tfd, ev);
	int err = errno;
	if (saved >= 0) {
		if (dup2(saved, tfd) < 0 || fcntl(tfd, F_SETFD, flags))
			ret = -1;
		close(saved);
	} else {
		close(tfd);
	}
	errno = err;
	return ret;
}

static int epoll_post(struct fd_rst *r, const FileEntry *fe, int fd)
{
	(void)r;
	/* a copy: fd's own number may be a watch's tfd */
	int ep = fcntl(fd, F_DUPFD_CLOEXEC, 0), ret = 0;
	if (ep < 0) {
		pr_perror("file %u: epoll: cannot copy it", fe->id);
		return -1;
	}
	for (size_t i = 0; i < fe->epoll->n_watches && !ret; i++) {
		const EpollWatch *w = fe->epoll->watches[i];
		struct epoll_event ev = { .events = w->events, .data.u64 = w->data };
		ret = w->has_fd && w->fd != w->tfd ? add_moved(ep, w, &ev)
						   : epoll_ctl(ep, EPOLL_CTL_ADD, w->tfd, &ev);
		if (ret)
			pr_perror("file %u: epoll: cannot watch fd %u again (events %x, file at fd %u)", fe->id,
				  w->tfd, w->events, w->has_fd ? w->fd : w->tfd);
	}
	close(ep);
	return ret ? -1 : 0;
}

const struct fd_ops fd_epoll_ops = {
	.kind = FD_KIND__FD_EPOLL,
	.name = "epoll",
	.match = epoll_match,
	.dump = epoll_dump,
	.check = epoll_check,
	.open = epoll_open,
	.post = epoll_post,
};
