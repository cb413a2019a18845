/*
 * job-restop.c - a process dumped in a job-control stop is restored
 * stopped, by the same signal, and its parent's view of the stop is what
 * it was: the stop report still to collect (waitpid WUNTRACED), or already
 * collected.  The stop signal is queued while the process is still traced
 * at the end of its restorer, so it stops before running an instruction
 * of its own once let go.  Its parent is still traced meanwhile (children
 * are let go first): criu makes it collect the report if it had before the
 * dump, and takes back the SIGCHLD the stop sent it, unless one was
 * pending at the dump.  Owns nothing but these steps of release_tree.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "criu/infect/infect.h"
#include "common/log.h"
#include "criu/procfs.h"
#include "criu/restore/restore.h"

static bool stops(const struct rst_proc *p)
{
	return !p->zombie && p->core->has_job_stop && p->core->job_stop;
}

int rst_job_stop_queue(const struct rst_proc *p)
{
	if (!stops(p))
		return 0;
	uint32_t sig = p->core->job_stop;
	if (sig != SIGSTOP && sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU) {
		pr_err("core-%d.img: job_stop %u is not a stop signal", p->pid, sig);
		return -1;
	}
	if (kill(p->real_tids[0], sig)) {
		pr_perror("pid %d: cannot stop it again (signal %u)", p->pid, p->core->job_stop);
		return -1;
	}
	return 0;
}

/* every thread of p in the stopped state 'T' */
static bool all_stopped(const struct rst_proc *p)
{
	for (int k = 0; k < p->nr_threads; k++) {
		struct proc_stat st;
		if (proc_read_stat(p->real_tids[k], &st) || st.state != 'T')
			return false;
	}
	return true;
}

/* was a SIGCHLD among the signals pending at the dump (the process's or its leader's)? */
static bool sigchld_pending(const Core *c)
{
	for (size_t i = 0; i < c->n_shared_pending; i++)
		if (((const siginfo_t *)c->shared_pending[i].data)->si_signo == SIGCHLD)
			return true;
	for (size_t i = 0; i < c->thread->n_pending; i++)
		if (((const siginfo_t *)c->thread->pending[i].data)->si_signo == SIGCHLD)
			return true;
	return false;
}

/* does the stop of a child send the parent a SIGCHLD (not ignored, no SA_NOCLDSTOP)? */
static bool stop_signals(const Core *c)
{
	for (size_t i = 0; i < c->n_sigactions; i++)
		if (c->sigactions[i]->sig == SIGCHLD)
			return c->sigactions[i]->handler != (uint64_t)SIG_IGN &&
			       !(c->sigactions[i]->flags & SA_NOCLDSTOP);
	return true;
}

/* the SIGCHLD of the stop is pending in the parent (sent after the child shows 'T') */
static int await_sigchld(const struct rst_proc *pp)
{
	char buf[64];

	for (int n = 0; n < 2000; n++) {
		if (proc_status_field(pp->real_tids[0], "ShdPnd:", buf, sizeof(buf)))
			return -1;
		if (strtoull(buf, NULL, 16) & (1ULL << (SIGCHLD - 1)))
			return 0;
		usleep(1000);
	}
	pr_err("pid %d: no SIGCHLD 2 s after a child stopped", pp->pid);
	return -1;
}

/* inside the parent (traced, stopped): collect the report again, drop the new SIGCHLD */
static int settle_parent(const struct rst_proc *pp, const struct rst_proc *p)
{
	struct infect c;
	long ret;
	int err = -1;

	if (infect_begin(&c, pp->real_tids[0]))
		return -1;
	if (infect_scratch(&c, 4096))
		goto out;
	if (p->core->job_stop_waited) {
		/* the child as its parent sees it (pid namespaces) */
		long args[6] = { P_PID, rst_ns_pid(p, 0, pp->ns_depth), (long)c.scratch,
				 WSTOPPED | WNOHANG, 0 };
		if (infect_syscall(&c, SYS_waitid, args, &ret) || ret) {
			pr_err("pid %d: its parent %d cannot collect its stop again (%ld)", p->pid,
			       pp->pid, ret);
			goto out;
		}
	}
	if (!sigchld_pending(pp->core) && stop_signals(pp->core)) {
		if (await_sigchld(pp))
			goto out;
		uint64_t set = 1ULL << (SIGCHLD - 1);
		struct timespec zero = { 0, 0 };
		long args[6] = { (long)c.scratch, 0, (long)c.scratch + 64, 8 };
		if (infect_write(&c, c.scratch, &set, sizeof(set)) ||
		    infect_write(&c, c.scratch + 64, &zero, sizeof(zero)) ||
		    infect_syscall(&c, SYS_rt_sigtimedwait, args, &ret))
			goto out;
		if (ret != SIGCHLD && ret != -EAGAIN) {
			pr_err("pid %d: cannot take back the SIGCHLD of %d's stop (%ld)", pp->pid,
			       p->pid, ret);
			goto out;
		}
	}
	err = 0;
out:
	if (infect_end(&c))
		err = -1;
	return err;
}

int rst_job_stop_settle(const struct rst_tree *t, size_t i)
{
	const struct rst_proc *p = &t->procs[i];

	if (!stops(p))
		return 0;
	for (int n = 0; !all_stopped(p); n++) {
		if (n == 2000) {
			pr_err("pid %d: not stopped 2 s after its stop signal %u", p->pid,
			       p->core->job_stop);
			return -1;
		}
		usleep(1000);
	}
	if (p->parent < 0)
		return 0;	/* its parent is criu */
	return settle_parent(&t->procs[p->parent], p);
}
