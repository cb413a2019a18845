/*
 * sem-undo.c - the dump-time refusal of SysV semaphore undo adjustments.
 * A semop with SEM_UNDO leaves the process an adjustment the kernel
 * applies at its exit; no interface shows it (neither /proc nor semctl),
 * so criu can neither save nor restore it, and a restored process would
 * silently lose it.  What can be seen:
 *  - whether the process has an undo list at all: kcmp(KCMP_SYSVSEM)
 *    against criu, which has none (a list comes with the first SEM_UNDO
 *    semop, but also with the first thread: CLONE_SYSVSEM makes an
 *    empty one, so a list alone proves nothing);
 *  - which process last changed each semaphore (semctl GETPID).
 * A process with a list that last changed a semaphore of its ipc
 * namespace is refused with one line: a lock taken with SEM_UNDO and
 * held is exactly that.  Not seen: adjustments on semaphores another
 * process changed since (README, known limits).  Changes nothing in the
 * process.
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "criu/dump/dump.h"
#include "common/log.h"
#include "criu/ns/ns.h"

#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif

static bool is_its(const struct dump_proc *p, pid_t who)
{
	for (int k = 0; k < p->nr_threads; k++)
		if (p->tids[k] == who)
			return true;
	return false;
}

/* in the process's ipc namespace: 1 (said) if it last changed a semaphore */
static int scan_sets(const struct dump_proc *p)
{
	struct seminfo info;
	int max = semctl(0, 0, SEM_INFO, (void *)&info);

	for (int i = 0; i <= max; i++) {
		struct semid_ds ds;
		int id = semctl(i, 0, SEM_STAT_ANY, &ds);
		for (unsigned long k = 0; id >= 0 && k < ds.sem_nsems; k++) {
			pid_t last = semctl(id, (int)k, GETPID);
			if (last > 0 && is_its(p, last)) {
				pr_err("pid %d: it may hold SysV semaphore undo adjustments (SEM_UNDO): it has an "
				       "undo list and last changed semaphore %lu of set %d; not supported (no "
				       "interface shows them)", p->pid, k, id);
				return 1;
			}
		}
	}
	return 0;
}

/* scan_sets in its ipc namespace, joined by a helper if not criu's */
static int scan_in_ns(const struct dump_proc *p)
{
	char path[64];
	int status;

	if (ns_inode(p->pid, p->pid, "ipc") == ns_inode(0, 0, "ipc"))
		return scan_sets(p);
	pid_t h = fork();
	if (h < 0) {
		pr_perror("pid %d: cannot start a helper to look at its semaphores", p->pid);
		return -1;
	}
	if (h == 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/ipc", p->pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWIPC)) {
			pr_perror("pid %d: cannot join its ipc namespace", p->pid);
			_exit(2);
		}
		_exit(scan_sets(p));
	}
	while (waitpid(h, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

int sem_undo_check(const struct dump_proc *p)
{
	long r = syscall(SYS_kcmp, p->pid, getpid(), KCMP_SYSVSEM, 0, 0);

	if (r < 0) {
		pr_perror("pid %d: cannot tell whether it has SysV semaphore undo adjustments", p->pid);
		return -1;
	}
	return r ? (scan_in_ns(p) ? -1 : 0) : 0;
}
