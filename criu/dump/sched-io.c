/*
 * sched-io.c - a thread's CPU affinity, I/O priority, utilization clamps
 * and SCHED_DEADLINE parameters, and the process's coredump_filter: asked from outside (root may
 * ask any task), while it is frozen.  Restored by restore/sched-io-set.c.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/compat.h"
#include "criu/dump/dump.h"
#include "common/log.h"

#define IOPRIO_WHO_PROCESS_ 1

int dump_sched_io(pid_t tid, ThreadCore *tc)
{
	cpu_set_t set;
	struct sched_attr_ a;

	if (sched_getaffinity(tid, sizeof(set), &set)) {
		pr_perror("pid %d: cannot read its CPU affinity", tid);
		return -1;
	}
	size_t len = sizeof(set);
	while (len && !((uint8_t *)&set)[len - 1])
		len--;
	tc->affinity.data = malloc(len + 1);
	if (!tc->affinity.data)
		return -1;
	memcpy(tc->affinity.data, &set, len);
	tc->affinity.len = len;
	tc->has_affinity = true;

	long io = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS_, tid);
	if (io < 0) {
		pr_perror("pid %d: cannot read its I/O priority", tid);
		return -1;
	}
	tc->has_ioprio = true;
	tc->ioprio = io;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	if (syscall(SYS_sched_getattr, tid, &a, sizeof(a), 0)) {
		pr_perror("pid %d: cannot read its scheduling attributes", tid);
		return -1;
	}
	if (a.sched_policy == SCHED_DEADLINE_) {
		tc->has_dl_runtime = tc->has_dl_deadline = tc->has_dl_period = tc->has_dl_flags = true;
		tc->dl_runtime = a.sched_runtime;
		tc->dl_deadline = a.sched_deadline;
		tc->dl_period = a.sched_period;
		tc->dl_flags = a.sched_flags;
	}
	/* a kernel without clamps (CONFIG_UCLAMP_TASK) leaves both 0; a kernel with them says 0-1024 for none */
	if (!a.sched_util_min && !a.sched_util_max)
		return 0;
	tc->has_util_min = tc->has_util_max = true;
	tc->util_min = a.sched_util_min;
	tc->util_max = a.sched_util_max;
	return 0;
}

int dump_coredump_filter(struct dump_proc *p)
{
	char buf[32];
	ssize_t n = proc_read_file(p->pid, "coredump_filter", buf, sizeof(buf) - 1);

	if (n <= 0) {
		pr_err("pid %d: cannot read its coredump_filter", p->pid);
		return -1;
	}
	buf[n] = 0;
	p->core->has_coredump_filter = true;
	p->core->coredump_filter = strtoul(buf, NULL, 16);
	return 0;
}
