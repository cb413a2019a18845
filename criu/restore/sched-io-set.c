/*
 * sched-io-set.c - set from outside, on each thread held at the end of its
 * restorer: its CPU affinity, I/O priority, SCHED_DEADLINE parameters and
 * utilization clamps, and the process's coredump_filter (dump/sched-io.c).
 * Clamps are set only if the thread had any (this kernel may lack them).
 * Returns -1 with one line logged.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/compat.h"
#include "common/log.h"
#include "criu/restore/restore.h"

#define IOPRIO_WHO_PROCESS_ 1

static int set_clamps(pid_t tid, const ThreadCore *tc)
{
	struct sched_attr_ a;

	if (!tc->has_util_min || (tc->util_min == 0 && tc->util_max == UCLAMP_MAX_VALUE))
		return 0;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.sched_flags = SCHED_FLAG_KEEP_POLICY_ | SCHED_FLAG_KEEP_PARAMS_ | SCHED_FLAG_UTIL_CLAMP_;
	a.sched_util_min = tc->util_min;
	a.sched_util_max = tc->util_max;
	if (syscall(SYS_sched_setattr, tid, &a, 0)) {
		pr_perror("pid %d: cannot set its utilization clamps %u-%u", tid, tc->util_min,
			  tc->util_max);
		return -1;
	}
	return 0;
}

/* SCHED_DEADLINE: set here, after the affinity (the restorer leaves that policy alone) */
static int set_deadline(pid_t tid, const ThreadCore *tc)
{
	struct sched_attr_ a;

	if ((tc->sched_policy & 0xff) != SCHED_DEADLINE_)
		return 0;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.sched_policy = SCHED_DEADLINE_;
	a.sched_flags = tc->dl_flags & ~(uint64_t)SCHED_FLAG_UTIL_CLAMP_;
	a.sched_runtime = tc->dl_runtime;
	a.sched_deadline = tc->dl_deadline;
	a.sched_period = tc->dl_period;
	if (syscall(SYS_sched_setattr, tid, &a, 0)) {
		pr_perror("pid %d: cannot set SCHED_DEADLINE %lu/%lu/%lu ns", tid,
			  (unsigned long)a.sched_runtime, (unsigned long)a.sched_deadline,
			  (unsigned long)a.sched_period);
		return -1;
	}
	return 0;
}

int rst_thread_sched_io(pid_t tid, const ThreadCore *tc)
{
	if (tc->has_affinity) {
		cpu_set_t set;
		memset(&set, 0, sizeof(set));
		if (tc->affinity.len > sizeof(set)) {
			pr_err("core-%d.img: CPU affinity mask of %zu bytes: too long", tid,
			       tc->affinity.len);
			return -1;
		}
		memcpy(&set, tc->affinity.data, tc->affinity.len);
		if (sched_setaffinity(tid, sizeof(set), &set)) {
			pr_perror("pid %d: cannot set its CPU affinity (%d CPUs)", tid, CPU_COUNT(&set));
			return -1;
		}
	}
	if (tc->has_ioprio && syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS_, tid, tc->ioprio)) {
		pr_perror("pid %d: cannot set its I/O priority %#x", tid, tc->ioprio);
		return -1;
	}
	return set_deadline(tid, tc) || set_clamps(tid, tc) ? -1 : 0;
}

int rst_coredump_filter(const struct rst_proc *p)
{
	char path[64], v[32];

	if (!p->core->has_coredump_filter)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/coredump_filter", p->real_tids[0]);
	int n = snprintf(v, sizeof(v), "0x%x", p->core->coredump_filter);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, v, n) != n) {
		pr_perror("pid %d: cannot set its coredump_filter to %s", p->pid, v);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
