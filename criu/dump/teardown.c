/*
 * teardown.c - ending a dumped process quickly.
 *
 * A killed process frees its memory before its pid is released (about
 * 70 ms per GiB here), and a restore on the same machine must wait for the
 * pid.  So before the SIGKILL, the process is made to clone a sibling that
 * shares its memory (CLONE_VM): the sibling is stopped by ptrace before it
 * runs a single instruction, the original dies at once because its memory
 * is still in use, and the sibling, killed in turn, frees the memory on
 * its own time, when the pid is already free.
 *
 * A pid lives on as long as a process group or session of that number
 * has members, and nobody may reap the sibling: it leaves the process
 * group for one of its own, and the caller asks for it only where the
 * session is not one of the dumped tree's (which the sibling could not
 * leave).
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <signal.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "criu/dump/dump.h"
#include "criu/infect/infect.h"
#include "common/log.h"

/* a stopped sibling sharing pid's memory, or -1 */
static pid_t hold_memory(pid_t pid)
{
	struct infect c;
	long ret = -1, r2 = -1;

	if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE)))
		return -1;
	if (infect_begin(&c, pid))
		return -1;
	/* no SIGCHLD for anyone: its parent never hears of it */
	long args[6] = { CLONE_VM };
	int err = infect_syscall(&c, SYS_clone, args, &ret);
	if (!err && ret > 0) {
		long pargs[6] = { ret, ret };
		if (infect_syscall(&c, SYS_setpgid, pargs, &r2) || r2)
			err = -1;
	}
	if (infect_end(&c) || err || ret <= 0) {
		if (ret > 0)
			kill(ret, SIGKILL);
		return -1;
	}
	/* auto-attached: wait for its first stop, before it runs anything */
	int status;
	if (waitpid(ret, &status, __WALL) != ret || !WIFSTOPPED(status)) {
		kill(ret, SIGKILL);
		return -1;
	}
	return ret;
}

int kill_task(pid_t pid, bool hold, const pid_t *tids, int nr_threads)
{
	pid_t holder = hold ? hold_memory(pid) : -1;
	int status;

	if (kill(pid, SIGKILL)) {
		pr_perror("pid %d: cannot kill", pid);
		if (holder > 0)
			kill(holder, SIGKILL);
		return -1;
	}
	/* as their tracer, criu collects each thread's end; the leader's comes last */
	for (int i = nr_threads - 1; i >= 0; i--)
		while (waitpid(tids[i], &status, __WALL) == tids[i])
			if (WIFEXITED(status) || WIFSIGNALED(status))
				break;
	if (holder > 0) {
		/*
		 * it frees the memory as it dies; nobody waits for that, and it
		 * yields the CPUs to whatever else runs (a restore of the same
		 * process on this machine: 70 ms of CPU a GiB otherwise taken
		 * from it)
		 */
		struct sched_param sp = { 0 };
		if (sched_setscheduler(holder, SCHED_IDLE, &sp))
			pr_debug("pid %d: the memory's holder %d keeps its priority: %m", pid, holder);
		pr_debug("pid %d: memory freed by %d after the pid was released", pid, holder);
		kill(holder, SIGKILL);
	}
	return 0;
}
