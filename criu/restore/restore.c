/*
 * restore.c - `criu restore`: load and check the images, create the process
 * with its original pid (clone3 set_tid), let it turn itself into the
 * dumped process through the restorer, follow it through its final
 * rt_sigreturn, unmap the restorer, and let it go.  A failure at any step
 * kills what was created.
 *
 * Page checksums are verified by a thread of criu while the restorer fills
 * memory (the two together take the time of the longer one); the process is
 * held at the restorer's final trap until the verification has passed, so a
 * corrupt image is refused before a single instruction of the program runs.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "infect.h"
#include "clock.h"
#include "log.h"
#include "restore.h"

static pid_t clone_with_pid(pid_t pid)
{
	pid_t tid = pid;
	struct clone_args ca = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)&tid,
		.set_tid_size = 1,
	};
	return syscall(SYS_clone3, &ca, sizeof(ca));
}

/* waits for the next stop of pid; <0 if it died (its end is logged) */
static int wait_stop(pid_t pid, int *sig)
{
	int status;

	if (waitpid(pid, &status, __WALL) != pid) {
		pr_perror("wait for pid %d failed", pid);
		return -1;
	}
	if (WIFEXITED(status)) {
		pr_info("pid %d: restore child exited with %d", pid, WEXITSTATUS(status));
		return -2;
	}
	if (WIFSIGNALED(status)) {
		pr_err("pid %d: killed by signal %d during restore", pid, WTERMSIG(status));
		return -2;
	}
	*sig = status >> 8;
	return 0;
}

struct verify_job {
	pthread_t thread;
	const struct page_source *ps;
	const struct restore_args *lazy;	/* --lazy-pages: only eager pages */
	int result;
	bool started;
};

static void *verify_thread(void *arg)
{
	struct verify_job *j = arg;
	j->result = j->lazy ? rst_lazy_verify_eager(j->ps, j->lazy) : page_source_verify(j->ps);
	return NULL;
}

static int verify_join(struct verify_job *j)
{
	if (!j->started)
		return j->result;
	pthread_join(j->thread, NULL);
	j->started = false;
	return j->result;
}

/* ptrace options for a restored thread: its seccomp filters wait for our detach */
static long trace_options(const ThreadCore *tc)
{
	return PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL |
	       (tc->seccomp_mode ? PTRACE_O_SUSPEND_SECCOMP : 0);
}

/* a thread stopped at the restorer's trap: through its rt_sigreturn, stop just after */
static int step_sigreturn(pid_t tid, const ThreadCore *tc)
{
	struct user_regs_struct regs;
	int sig;

	if (ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)trace_options(tc))) {
		pr_perror("pid %d: cannot set ptrace options", tid);
		return -1;
	}
	for (int step = 0; step < 2; step++) {
		if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL)) {
			pr_perror("pid %d: cannot step to rt_sigreturn", tid);
			return -1;
		}
		if (wait_stop(tid, &sig))
			return -1;
		if (sig != (SIGTRAP | 0x80)) {
			pr_err("pid %d: unexpected stop (signal %d) at rt_sigreturn", tid, sig & 0x7f);
			return -1;
		}
	}
	if (ptrace(PTRACE_GETREGS, tid, NULL, &regs)) {
		pr_perror("pid %d: cannot read registers", tid);
		return -1;
	}
	if (regs.rip != tc->regs->rip || regs.rsp != tc->regs->sp) {
		pr_err("pid %d: rt_sigreturn did not restore the registers (rip %llx, expected %lx)",
		       tid, regs.rip, (unsigned long)tc->regs->rip);
		return -1;
	}
	return 0;
}

/*
 * Waits for thread tid at its last trap.  A new thread stops once first
 * (SIGSTOP); a thread with seccomp stops at a trap before installing it,
 * for criu to suspend seccomp while it still works in the thread.
 */
static int wait_trap(pid_t tid, const ThreadCore *tc)
{
	int sig, ret = wait_stop(tid, &sig);

	if (!ret && sig == SIGSTOP) {
		if (ptrace(PTRACE_CONT, tid, NULL, NULL)) {
			pr_perror("thread %d: cannot start it", tid);
			return -1;
		}
		ret = wait_stop(tid, &sig);
	}
	if (!ret && sig == SIGTRAP && tc->seccomp_mode) {
		if (ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)trace_options(tc)) ||
		    ptrace(PTRACE_CONT, tid, NULL, NULL)) {
			pr_perror("thread %d: cannot suspend its seccomp filters", tid);
			return -1;
		}
		ret = wait_stop(tid, &sig);
	}
	if (!ret && sig != SIGTRAP) {
		pr_err("thread %d: stopped by signal %d in the restorer", tid, sig & 0x7f);
		return -1;
	}
	return ret;
}

/*
 * From the restorer's traps to just after every thread's rt_sigreturn: none
 * of them runs the program until criu detaches them all.
 */
static int follow_sigreturn(pid_t pid, const struct rst_proc *p, struct verify_job *vj)
{
	int ret = wait_trap(pid, p->core->thread);
	for (int i = 1; !ret && i < p->nr_threads; i++)
		ret = wait_trap(p->pe->threads[i], p->thread_cores[i - 1]->thread);
	if (verify_join(vj) && !ret)
		ret = -1;
	if (ret)
		return ret;
	if (step_sigreturn(pid, p->core->thread))
		return -1;
	for (int i = 1; i < p->nr_threads; i++)
		if (step_sigreturn(p->pe->threads[i], p->thread_cores[i - 1]->thread))
			return -1;
	return 0;
}

/* kills a process being restored and collects every thread of it */
static void kill_restored(pid_t pid, const struct rst_proc *p)
{
	kill(pid, SIGKILL);
	for (int i = p->nr_threads - 1; i >= 1; i--)
		while (waitpid(p->pe->threads[i], NULL, __WALL) < 0 && errno == EINTR)
			;
	waitpid(pid, NULL, __WALL);
}

static int unmap_restorer(pid_t pid, const struct rst_region *r)
{
	struct infect c;
	long args[6] = { (long)r->start, (long)r->len }, ret = 0;
	int err;

	if (infect_begin(&c, pid))
		return -1;
	err = infect_syscall(&c, SYS_munmap, args, &ret);
	if (infect_end(&c) || err || ret) {
		pr_err("pid %d: cannot unmap the restorer (%ld)", pid, ret);
		return -1;
	}
	return 0;
}

static int write_pidfile(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "we");
	if (!f || fprintf(f, "%d\n", pid) < 0 || fclose(f)) {
		pr_perror("cannot write pidfile %s", path);
		return -1;
	}
	return 0;
}

static int pid_in_use(pid_t pid)
{
	if (kill(pid, 0) == 0 || errno != ESRCH) {
		pr_err("pid %d is already in use by another process", pid);
		return 1;
	}
	return 0;
}

/* returns the exit status for main */
int cr_restore(const struct opts *o)
{
	struct rst_proc p;
	struct rst_region reg = { 0 };
	struct rst_fds fds = { 0 };
	struct restore_args *args;
	struct verify_job vj = { 0 };
	struct rst_lazy_guard guard = { 0 };
	double t0 = clock_now_ms();
	pid_t pid = -1;
	int dirfd, lazy_conn = -1, uffd = -1;

	if (!o->images_dir) {
		pr_err("restore needs -D DIR");
		return 1;
	}
	if (require_cr_caps("restore"))
		return 1;
	dirfd = open(o->images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		pr_perror("cannot open images directory %s", o->images_dir);
		return 1;
	}
	if (rst_load(dirfd, o->images_dir, o, &p) || pid_in_use(p.pid))
		goto fail;
	pr_info("images of pid %d checked in %.1f ms", p.pid, clock_now_ms() - t0);
	if (o->lazy_pages) {
		lazy_conn = rst_lazy_connect(o, dirfd);
		if (lazy_conn < 0 || (fds.lazy_sock = dup(lazy_conn)) < 0)
			goto fail;
	}
	if (rst_region_map(&p, rst_args_size(&p), &reg))
		goto fail;
	if (rst_args_build(&p, o, &reg, &fds, &args))
		goto fail;

	pid = clone_with_pid(p.pid);
	if (pid < 0) {
		if (errno == EEXIST)
			pr_err("pid %d is already in use by another process", p.pid);
		else
			pr_perror("cannot create a process with pid %d", p.pid);
		goto fail;
	}
	if (pid == 0)
		rst_child(&p, o, &reg, &fds, args);
	if (pid != p.pid) {
		pr_err("clone3 gave pid %d instead of %d", pid, p.pid);
		goto fail;
	}
	rst_fds_close(&fds);
	if (o->lazy_pages && rst_lazy_guard_start(&guard, pid, lazy_conn))
		goto fail;

	pr_debug("process %d created at %.1f ms", pid, clock_now_ms() - t0);
	vj.ps = &p.pages;
	vj.lazy = o->lazy_pages ? args : NULL;
	if (pthread_create(&vj.thread, NULL, verify_thread, &vj) == 0)
		vj.started = true;
	else
		verify_thread(&vj);
	int ret = follow_sigreturn(pid, &p, &vj);
	if (ret == -2) {
		/* the child or the restorer logged why it stopped */
		kill_restored(pid, &p);
		pid = -1;
		goto fail;
	}
	if (ret)
		goto fail;
	/* --lazy-pages: our own copy of its uffd, before the restorer's goes */
	if (o->lazy_pages && (uffd = rst_lazy_take_uffd(pid, args)) < 0)
		goto fail;
	rst_lazy_guard_stop(&guard);
	if (unmap_restorer(pid, &reg))
		goto fail;
	for (int i = 1; i < p.nr_threads; i++)
		if (ptrace(PTRACE_DETACH, p.pe->threads[i], NULL, NULL)) {
			pr_perror("thread %u: cannot detach", p.pe->threads[i]);
			goto fail;
		}
	if (ptrace(PTRACE_DETACH, pid, NULL, NULL)) {
		pr_perror("pid %d: cannot detach", pid);
		goto fail;
	}
	pr_info("pid %d restored", pid);
	pr_info("stats: restore_ms=%.3f pages=%lu", clock_now_ms() - t0, (unsigned long)p.pages.nr_pages);
	munmap((void *)reg.start, reg.len);
	rst_proc_free(&p);
	close(dirfd);

	if (o->pidfile && write_pidfile(o->pidfile, pid)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (uffd >= 0)
			close(uffd);
		return 1;
	}
	if (o->lazy_pages && o->detach) {
		/* a watcher holds the uffd until every page is in */
		pid_t w = fork();
		if (w < 0) {
			pr_perror("pid %d: cannot start the lazy-pages watcher; killing it", pid);
			kill(pid, SIGKILL);
			return 1;
		}
		if (w == 0) {
			setsid();
			_exit(rst_lazy_watch(pid, lazy_conn, uffd) ? 1 : 0);
		}
		close(uffd);
		close(lazy_conn);
		return 0;
	}
	if (o->lazy_pages)
		rst_lazy_watch(pid, lazy_conn, uffd);
	if (o->detach)
		return 0;

	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			pr_perror("wait for pid %d failed", pid);
			return 1;
		}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	pr_info("pid %d was killed by signal %d", pid, WTERMSIG(status));
	return 128 + WTERMSIG(status);

fail:
	if (pid > 0)
		kill_restored(pid, &p);
	rst_lazy_guard_stop(&guard);
	if (uffd >= 0)
		close(uffd);
	if (lazy_conn >= 0)
		close(lazy_conn);
	verify_join(&vj);
	rst_fds_close(&fds);
	if (reg.start)
		munmap((void *)reg.start, reg.len);
	rst_proc_free(&p);
	close(dirfd);
	if (pid > 0 || log_get_level() >= LOG_INFO)
		pr_info("restore failed; nothing was left running");
	return 1;
}
