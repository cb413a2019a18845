/*
 * eventfd.c - eventfd: the counter and the EFD_SEMAPHORE flag, both read
 * from fdinfo (reading the fd would consume the counter).  Restore makes
 * an eventfd and writes the counter into it.
 */
#define LOG_PREFIX "files: "
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"

static bool eventfd_match(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[eventfd]");
}

static int eventfd_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	EventfdFile *e = calloc(1, sizeof(*e));
	char *info = fd_dump_fdinfo(d, p->fd), *l;
	int seen = 0;

	if (!e || !info) {
		free(e);
		free(info);
		return -1;
	}
	eventfd_file__init(e);
	fe->eventfd = e;
	if ((l = strstr(info, "eventfd-count:")) && sscanf(l, "eventfd-count: %lx", &e->count) == 1)
		seen = 1;
	/* older kernels do not show it: there, a semaphore cannot be told apart */
	unsigned sem = 0;
	if ((l = strstr(info, "eventfd-semaphore:")) && sscanf(l, "eventfd-semaphore: %u", &sem) == 1)
		e->semaphore = sem;
	free(info);
	if (!seen) {
		pr_err("pid %d: fd %d: eventfd: no eventfd-count in fdinfo", d->pid, p->fd);
		return -1;
	}
	return 0;
}

static int eventfd_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	(void)o;
	if (!fe->eventfd || fe->eventfd->count == ~0ULL) {
		pr_err("%s: file %u: bad eventfd description", name, fe->id);
		return -1;
	}
	return 0;
}

static int eventfd_open(struct fd_rst *r, const FileEntry *fe)
{
	uint64_t c = fe->eventfd->count;
	(void)r;
	int fd = eventfd(0, EFD_CLOEXEC | (fe->eventfd->semaphore ? EFD_SEMAPHORE : 0));
	if (fd < 0) {
		pr_perror("file %u: cannot create an eventfd", fe->id);
		return -1;
	}
	if ((c && write(fd, &c, sizeof(c)) != sizeof(c)) || fd_set_status_flags(fd, fe->flags, fe->id)) {
		pr_perror("file %u: cannot set the eventfd counter to %lu", fe->id, (unsigned long)c);
		close(fd);
		return -1;
	}
	return fd;
}

const struct fd_ops fd_eventfd_ops = {
	.kind = FD_KIND__FD_EVENTFD,
	.name = "eventfd",
	.match = eventfd_match,
	.dump = eventfd_dump,
	.check = eventfd_check,
	.open = eventfd_open,
};
