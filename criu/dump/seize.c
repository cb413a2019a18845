/* seize.c - freezing a task with PTRACE_SEIZE + PTRACE_INTERRUPT. */
#define LOG_PREFIX "seize: "
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu/dump/dump.h"
#include "common/log.h"

/* is pid exiting, dead or gone?  (the kernel refuses to attach to one: EPERM) */
static bool exiting(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *close = strrchr(buf, ')');
	return !close || !close[1] || close[2] == 'Z' || close[2] == 'X';
}

int seize_task(pid_t pid)
{
	return seize_task_stop(pid, NULL);
}

/*
 * A task in a job-control stop reports it (PTRACE_EVENT_STOP with the stop
 * signal: SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) instead of our interrupt:
 * *stop_sig gets that signal, else 0.
 */
int seize_task_stop(pid_t pid, int *stop_sig)
{
	int r = seize_attach(pid);
	return r ? r : seize_wait(pid, stop_sig);
}

int seize_attach(pid_t pid)
{
	/*
	 * With the task's seccomp filters suspended, the syscalls criu makes
	 * it run are not subject to them (needs CAP_SYS_ADMIN: else without).
	 */
	if (ptrace(PTRACE_SEIZE, pid, NULL,
		   (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP)) &&
	    (errno != EPERM || ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD))) {
		int e = errno;
		if (e == ESRCH)
			return -ESRCH;
		/* one that is exiting refuses us: wait a little for it to be dead */
		for (int i = 0; e == EPERM && i < 100 && !exiting(pid); i++)
			usleep(1000);
		if (e == EPERM && exiting(pid))
			return -ESRCH;
		/* already traced (a debugger, strace, or a process of the tree) */
		char tracer[32];
		if (e == EPERM && !proc_status_field(pid, "TracerPid:", tracer, sizeof(tracer)) &&
		    atoi(tracer) > 0) {
			pr_err("pid %d: traced by pid %d (a debugger or tracer): not supported", pid,
			       atoi(tracer));
			return -1;
		}
		errno = e;
		pr_perror("pid %d: cannot seize", pid);
		return -1;
	}
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL)) {
		pr_perror("pid %d: cannot interrupt", pid);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return -1;
	}
	return 0;
}

int seize_wait(pid_t pid, int *stop_sig)
{
	int status;

	if (stop_sig)
		*stop_sig = 0;
	for (;;) {
		if (waitpid(pid, &status, __WALL) != pid) {
			pr_perror("pid %d: wait failed", pid);
			return -1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if ((status >> 16) == PTRACE_EVENT_STOP) {
			int sig = WSTOPSIG(status);
			if (stop_sig && (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
					 sig == SIGTTOU))
				*stop_sig = sig;
			return 0;
		}
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

static bool has_tid(const struct dump_proc *p, pid_t tid)
{
	for (int i = 0; i < p->nr_threads; i++)
		if (p->tids[i] == tid)
			return true;
	return false;
}

/*
 * Seizes the other threads of p->pid (itself already seized).  A thread not
 * yet stopped may create more, so the task list is read again until a pass
 * finds nothing new.
 */
int seize_threads(struct dump_proc *p)
{
	char path[64];
	bool found = true;

	p->tids = malloc(sizeof(pid_t));
	if (!p->tids)
		return -1;
	p->tids[0] = p->pid;
	p->nr_threads = 1;
	snprintf(path, sizeof(path), "/proc/%d/task", p->pid);
	while (found) {
		DIR *d = opendir(path);
		struct dirent *de;

		if (!d) {
			pr_perror("cannot open %s", path);
			return -1;
		}
		found = false;
		while ((de = readdir(d))) {
			pid_t tid = atoi(de->d_name);
			if (tid <= 0 || has_tid(p, tid))
				continue;
			int r = seize_task(tid);
			if (r) {
				/* it may have exited meanwhile */
				if (r == -ESRCH || (kill(tid, 0) && errno == ESRCH))
					continue;
				closedir(d);
				return -1;
			}
			pid_t *n = realloc(p->tids, (p->nr_threads + 1) * sizeof(pid_t));
			if (!n) {
				closedir(d);
				return -1;
			}
			p->tids = n;
			p->tids[p->nr_threads++] = tid;
			found = true;
		}
		closedir(d);
	}
	p->thread_cores = calloc(p->nr_threads, sizeof(Core *));
	return p->thread_cores ? 0 : -1;
}

void unseize_threads(struct dump_proc *p)
{
	for (int i = 1; i < p->nr_threads; i++)
		ptrace(PTRACE_DETACH, p->tids[i], NULL, NULL);
}
