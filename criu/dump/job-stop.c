/*
 * job-stop.c - a process of the tree in a job-control stop (SIGSTOP,
 * SIGTSTP, SIGTTIN, SIGTTOU).  The stop itself is seen when it is seized
 * (seize_task_stop); this module owns the other half of the state: whether
 * its parent has already collected the stop report (waitpid WUNTRACED),
 * so that restore gives the parent the report again or not.  The kernel
 * shows it to the parent only: it is asked inside the parent (seized
 * already, the tree is seized top-down) with waitid(WSTOPPED | WNOWAIT |
 * WNOHANG), which leaves it as it was.  This must happen before the child
 * is seized: a traced child shows no stop to its parent.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "criu/dump/dump.h"
#include "criu/infect/infect.h"
#include "common/log.h"

int job_stop_probe(struct dump_tree *t, size_t i)
{
	struct dump_proc *p = &t->procs[i];
	struct infect c;
	siginfo_t si;
	long ret;
	int err = -1;

	p->stop_waited = false;
	if (p->parent < 0 || t->procs[p->parent].zombie)
		return 0;	/* the root: its parent is outside, restore's is criu */
	if (infect_begin(&c, t->procs[p->parent].pid))
		return -1;
	if (infect_scratch(&c, 4096))
		goto out;
	long args[6] = { P_PID, p->pid, (long)c.scratch, WSTOPPED | WNOWAIT | WNOHANG, 0 };
	memset(&si, 0, sizeof(si));
	if (infect_write(&c, c.scratch, &si, sizeof(si)) ||
	    infect_syscall(&c, SYS_waitid, args, &ret) ||
	    infect_read(&c, c.scratch, &si, sizeof(si)))
		goto out;
	if (ret) {
		pr_err("pid %d: cannot ask its parent %d about its stop (%ld)", p->pid,
		       t->procs[p->parent].pid, ret);
		goto out;
	}
	p->stop_waited = si.si_pid != p->pid;
	pr_debug("pid %d: stopped, its parent has%s collected the report", p->pid,
		 p->stop_waited ? "" : " not");
	err = 0;
out:
	if (infect_end(&c))
		err = -1;
	return err;
}
