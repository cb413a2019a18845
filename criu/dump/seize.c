/* seize.c - freezing a task with PTRACE_SEIZE + PTRACE_INTERRUPT. */
#define LOG_PREFIX "seize: "
#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "dump.h"
#include "log.h"

int seize_task(pid_t pid)
{
	int status;

	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD)) {
		if (errno == ESRCH)
			pr_err("pid %d: no such process", pid);
		else
			pr_perror("pid %d: cannot seize", pid);
		return -1;
	}
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL)) {
		pr_perror("pid %d: cannot interrupt", pid);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return -1;
	}
	for (;;) {
		if (waitpid(pid, &status, __WALL) != pid) {
			pr_perror("pid %d: wait failed", pid);
			return -1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			pr_err("pid %d: exited while being seized", pid);
			return -1;
		}
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/*
		 * A signal arrived before our interrupt: leave it pending for
		 * the program (it is delivered after we detach) and wait for
		 * the interrupt stop.
		 */
		int sig = WSTOPSIG(status);
		if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig)) {
			pr_perror("pid %d: cannot continue to the interrupt", pid);
			return -1;
		}
	}
}

int unseize_task(pid_t pid)
{
	if (ptrace(PTRACE_DETACH, pid, NULL, NULL)) {
		pr_perror("pid %d: cannot detach", pid);
		return -1;
	}
	return 0;
}
