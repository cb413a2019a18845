/*
 * epoll.c - epoll instances: every watched file with its event mask and
 * data (fdinfo "tfd:" lines).  A watch names the fd number it was added
 * with; that fd must still be open on the very file (checked by inode),
 * else the dump is refused.  Restore creates the instance first and adds
 * the watches once every fd of the process is in place (post).
 */
#define LOG_PREFIX "files: "
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "files.h"
#include "log.h"

static bool epoll_match(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[eventpoll]");
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
		const struct fd_probe *t = fd_dump_probe(d, tfd);
		if (!t || t->st.st_ino != ino || t->st.st_dev != fd_kdev_to_dev(sdev)) {
			pr_err("pid %d: fd %d: epoll watches a file (inode %lu) that is no longer open at fd %d, the number it was added with: not supported",
			       d->pid, p->fd, ino, tfd);
			goto out;
		}
		if (e->n_watches == cap) {
			cap = cap ? cap * 2 : 8;
			EpollWatch **n = realloc(e->watches, cap * sizeof(*n));
			if (!n)
				goto out;
			e->watches = n;
		}
		EpollWatch *w = calloc(1, sizeof(*w));
		if (!w)
			goto out;
		epoll_watch__init(w);
		w->tfd = tfd;
		w->events = events;
		w->data = data;
		e->watches[e->n_watches++] = w;
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

static int epoll_post(struct fd_rst *r, const FileEntry *fe, int fd)
{
	(void)r;
	for (size_t i = 0; i < fe->epoll->n_watches; i++) {
		const EpollWatch *w = fe->epoll->watches[i];
		struct epoll_event ev = { .events = w->events, .data.u64 = w->data };
		if (epoll_ctl(fd, EPOLL_CTL_ADD, w->tfd, &ev)) {
			pr_perror("file %u: epoll: cannot watch fd %u again (events %x)", fe->id, w->tfd,
				  w->events);
			return -1;
		}
	}
	return 0;
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
