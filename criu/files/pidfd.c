/*
 * pidfd.c - pidfds (pidfd_open, clone CLONE_PIDFD): the process it refers
 * to (fdinfo "Pid:", -1 once that process is dead and reaped) and its
 * flags (PIDFD_NONBLOCK; PIDFD_THREAD is O_EXCL).  A pidfd of a process
 * of the dumped tree is opened again on that pid (restored with it); a
 * dead one is a pidfd of a helper child that exited and was reaped at
 * once.  A pidfd of a live process outside the tree, or of a thread that
 * does not lead its process, is refused.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/compat.h"
#include "criu/files/files.h"
#include "common/log.h"

static bool pidfd_match(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[pidfd]") || !strncmp(p->link, "pidfd:", 6);
}

/* a thread id that is not its process's: not restored before the restorer */
static bool leads_process(pid_t pid)
{
	char tgid[32];
	return !proc_status_field(pid, "Tgid:", tgid, sizeof(tgid)) && atoi(tgid) == pid;
}

static int pidfd_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	PidfdFile *f = calloc(1, sizeof(*f));
	const char *l = strstr(p->info, "\nPid:");
	int pid;

	if (!f)
		return -1;
	pidfd_file__init(f);
	fe->pidfd = f;
	if (!l || sscanf(l, "\nPid: %d", &pid) != 1) {
		pr_err("pid %d: fd %d: pidfd: no Pid in fdinfo", d->pid, p->fd);
		return -1;
	}
	f->pid = pid;
	if (pid <= 0)
		return 0;	/* dead, reaped: nothing more to know */
	if (!fd_pid_in_tree(d, pid)) {
		pr_err("pid %d: fd %d: pidfd of process %d, outside the dumped tree: not supported",
		       d->pid, p->fd, pid);
		return -1;
	}
	if (!leads_process(pid)) {
		pr_err("pid %d: fd %d: pidfd of thread %d, which does not lead its process: not supported",
		       d->pid, p->fd, pid);
		return -1;
	}
	return 0;
}

static int pidfd_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	(void)o;
	if (!fe->pidfd || fe->pidfd->pid < -1 || fe->pidfd->pid == 0) {
		pr_err("%s: file %u: bad pidfd description", name, fe->id);
		return -1;
	}
	return 0;
}

/* a pidfd of a process that has exited and been reaped */
static int dead_pidfd(const FileEntry *fe)
{
	int pidfd = -1;
	struct clone_args ca = {
		.flags = CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = 0,
	};
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		syscall(SYS_exit, 0);
	if (pid < 0) {
		pr_perror("file %u: cannot make a pidfd of a dead process", fe->id);
		return -1;
	}
	siginfo_t si;
	while (waitid(P_PIDFD, pidfd, &si, WEXITED | __WALL) && errno == EINTR)
		;
	return pidfd;
}

/* a pidfd of pid: a process of the tree, which may not be made yet (a
 * sibling's child): waited for, as joining its group is */
static int live_pidfd(const FileEntry *fe, unsigned flags)
{
	for (int i = 0; i < 5000; i++) {
		int fd = syscall(SYS_pidfd_open, fe->pidfd->pid, flags);
		if (fd >= 0 || errno != ESRCH)
			return fd < 0 ? (pr_perror("file %u: pidfd_open(%d)", fe->id, fe->pidfd->pid), -1)
				      : fd;
		usleep(1000);
	}
	pr_err("file %u: process %d of the pidfd did not appear", fe->id, fe->pidfd->pid);
	return -1;
}

static int pidfd_open_fe(struct fd_rst *r, const FileEntry *fe)
{
	(void)r;
	unsigned flags = (fe->flags & O_NONBLOCK ? PIDFD_NONBLOCK : 0) |
			 (fe->flags & O_EXCL ? PIDFD_THREAD : 0);
	int fd = fe->pidfd->pid > 0 ? live_pidfd(fe, flags) : dead_pidfd(fe);
	if (fd >= 0 && fd_set_status_flags(fd, fe->flags, fe->id)) {
		close(fd);
		return -1;
	}
	return fd;
}

const struct fd_ops fd_pidfd_ops = {
	.kind = FD_KIND__FD_PIDFD,
	.name = "pidfd",
	.match = pidfd_match,
	.dump = pidfd_dump,
	.check = pidfd_check,
	.open = pidfd_open_fe,
};
