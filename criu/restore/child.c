/*
 * child.c - the first steps of the new process, still running criu's code:
 * become traced by criu, put the target's fds at their numbers, set cwd,
 * root and umask, drop glibc's rseq registration, then jump to the restorer.
 * A failure here logs one line and exits; criu sees the exit.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "restore.h"

extern const ptrdiff_t __rseq_offset;
extern const unsigned int __rseq_size;

static void __attribute__((noreturn)) child_fail(void)
{
	_exit(2);
}

/* closes every fd that is not a helper */
static void close_others(const struct rst_fds *fds)
{
	unsigned from = 0;
	for (int i = 0; i < fds->nr; i++) {
		if ((unsigned)fds->all[i] > from)
			syscall(SYS_close_range, from, fds->all[i] - 1, 0);
		from = fds->all[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

static int open_fd(const FdEntry *e, const struct rst_fds *fds)
{
	int fd;

	if (e->kind == FD_KIND__FD_TTY) {
		int src = fds->tty[e->fd <= 2 ? e->fd : 0];
		fd = fcntl(src, F_DUPFD, 0);
		if (fd < 0) {
			pr_perror("fd %u: cannot take criu's terminal", e->fd);
			return -1;
		}
		/* the file status flags of the shell's terminal are shared: keep them */
	} else {
		fd = open(e->path, e->flags & ~(O_CREAT | O_EXCL | O_TRUNC));
		if (fd < 0) {
			pr_perror("files: fd %u: cannot open %s", e->fd, e->path);
			return -1;
		}
		if (e->kind == FD_KIND__FD_REG && !(e->flags & O_PATH) && e->pos &&
		    lseek(fd, e->pos, SEEK_SET) != (off_t)e->pos) {
			pr_perror("files: fd %u: cannot seek %s to %lu", e->fd, e->path,
				  (unsigned long)e->pos);
			return -1;
		}
	}
	if (fd != (int)e->fd) {
		if (dup2(fd, e->fd) < 0) {
			pr_perror("files: cannot place fd %u", e->fd);
			return -1;
		}
		close(fd);
	}
	if (e->cloexec && fcntl(e->fd, F_SETFD, FD_CLOEXEC)) {
		pr_perror("files: fd %u: cannot set close-on-exec", e->fd);
		return -1;
	}
	return 0;
}

/* glibc registered rseq for this thread; the area is about to be unmapped */
static int unregister_rseq(void)
{
	if (!__rseq_size)
		return 0;
	void *area = (char *)__builtin_thread_pointer() + __rseq_offset;
	/* glibc registers 32 bytes whatever __rseq_size says */
	unsigned len = __rseq_size < 32 ? 32 : __rseq_size;
	if (syscall(SYS_rseq, area, len, 1 /* RSEQ_FLAG_UNREGISTER */, 0x53053053) &&
	    errno != EINVAL) {
		pr_perror("cannot unregister criu's rseq area");
		return -1;
	}
	return 0;
}

void rst_child(const struct rst_proc *p, const struct opts *o, const struct rst_region *r,
	       struct rst_fds *fds, struct restore_args *args)
{
	sigset_t all;
	(void)o;

	/* until criu traces us, its death must be ours too */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		child_fail();
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL)) {
		pr_perror("cannot be traced by criu");
		child_fail();
	}
	log_set_fds(fds->log_fd, fds->err_fd);
	close_others(fds);
	for (size_t i = 0; i < p->fds.nr; i++)
		if (open_fd((FdEntry *)p->fds.msgs[i], fds))
			child_fail();
	for (int i = 0; i < 3; i++)
		if (fds->tty[i] >= 0)
			close(fds->tty[i]);

	if (strcmp(p->fs->root, "/") && (chroot(p->fs->root) || chdir("/"))) {
		pr_perror("fs-%d.img: cannot change root to %s", p->pid, p->fs->root);
		child_fail();
	}
	if (chdir(p->fs->cwd)) {
		pr_perror("fs-%d.img: cannot change directory to %s", p->pid, p->fs->cwd);
		child_fail();
	}
	umask(p->fs->umask);
	prctl(PR_SET_PDEATHSIG, 0);

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (unregister_rseq())
		child_fail();

	/* onto the restorer's stack, into the blob; no return */
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "mov %1, %%rdi\n\t"
			 "jmp *%2\n\t"
			 :
			 : "r"(r->stack_top - 8), "r"(args), "r"(r->start)
			 : "memory");
	__builtin_unreachable();
}
