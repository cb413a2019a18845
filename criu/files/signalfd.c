/*
 * signalfd.c - signalfd: its signal mask (fdinfo sigmask).  The signals
 * themselves are the process's pending signals, restored with it.
 */
#define LOG_PREFIX "files: "
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"

static bool signalfd_match(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[signalfd]");
}

static int signalfd_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	SignalfdFile *s = calloc(1, sizeof(*s));
	char *info = fd_dump_fdinfo(d, p->fd), *l;

	if (!s || !info) {
		free(s);
		free(info);
		return -1;
	}
	signalfd_file__init(s);
	fe->signalfd = s;
	int ok = (l = strstr(info, "sigmask:")) && sscanf(l, "sigmask: %lx", &s->sigmask) == 1;
	free(info);
	if (!ok) {
		pr_err("pid %d: fd %d: signalfd: no sigmask in fdinfo", d->pid, p->fd);
		return -1;
	}
	return 0;
}

static int signalfd_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	(void)o;
	if (!fe->signalfd) {
		pr_err("%s: file %u: no signalfd description", name, fe->id);
		return -1;
	}
	return 0;
}

static int signalfd_open(struct fd_rst *r, const FileEntry *fe)
{
	sigset_t m;
	(void)r;
	sigemptyset(&m);
	for (int sig = 1; sig <= 64; sig++)
		if (fe->signalfd->sigmask & (1ULL << (sig - 1)))
			sigaddset(&m, sig);
	int fd = signalfd(-1, &m, SFD_CLOEXEC);
	if (fd < 0) {
		pr_perror("file %u: cannot create a signalfd for mask %lx", fe->id,
			  (unsigned long)fe->signalfd->sigmask);
		return -1;
	}
	if (fd_set_status_flags(fd, fe->flags, fe->id)) {
		close(fd);
		return -1;
	}
	return fd;
}

const struct fd_ops fd_signalfd_ops = {
	.kind = FD_KIND__FD_SIGNALFD,
	.name = "signalfd",
	.match = signalfd_match,
	.dump = signalfd_dump,
	.check = signalfd_check,
	.open = signalfd_open,
};
