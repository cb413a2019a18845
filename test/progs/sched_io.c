/*
 * sched_io: per-thread scheduling and I/O settings survive the checkpoint:
 * the CPU affinity, the I/O priority (ioprio) and the utilization clamps
 * (sched_setattr SCHED_FLAG_UTIL_CLAMP) of the main thread and of a second
 * thread, each its own; and the process's coredump_filter.  What this
 * kernel lacks (clamps without CONFIG_UCLAMP_TASK, one CPU) is left out.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ioprio.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/lib/test.h"

/* struct sched_attr of the kernel (its header clashes with glibc's sched.h) */
struct sched_attr {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

struct want {
	int cpu;		/* the one CPU it may run on, -1: not set */
	int ioprio;
	int umin, umax;		/* -1: clamps not supported */
};

static struct want want[2];
static pid_t tids[2];
static volatile int thread_ready;
static bool clamps = true;

static int get_attr(pid_t tid, struct sched_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	return syscall(SYS_sched_getattr, tid, a, sizeof(*a), 0);
}

static void set_mine(int k)
{
	struct want *w = &want[k];
	cpu_set_t set;

	tids[k] = syscall(SYS_gettid);
	if (w->cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			fail("sched_setaffinity: %m");
	}
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, w->ioprio))
		fail("ioprio_set: %m");
	struct sched_attr a;
	if (clamps) {
		if (get_attr(0, &a))
			fail("sched_getattr: %m");
		a.sched_flags = SCHED_FLAG_KEEP_ALL | SCHED_FLAG_UTIL_CLAMP;
		a.sched_util_min = w->umin;
		a.sched_util_max = w->umax;
		if (syscall(SYS_sched_setattr, 0, &a, 0)) {
			if (errno != EOPNOTSUPP && errno != EINVAL)
				fail("sched_setattr clamps: %m");
			clamps = false;
		}
	}
}

static void check(int k)
{
	const struct want *w = &want[k];
	cpu_set_t set;
	struct sched_attr a;

	if (w->cpu >= 0) {
		if (sched_getaffinity(tids[k], sizeof(set), &set))
			fail("sched_getaffinity: %m");
		if (CPU_COUNT(&set) != 1 || !CPU_ISSET(w->cpu, &set))
			fail("thread %d: affinity of %d CPUs, was CPU %d only", k, CPU_COUNT(&set), w->cpu);
	}
	int io = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tids[k]);
	if (io != w->ioprio)
		fail("thread %d: ioprio %#x, was %#x", k, io, w->ioprio);
	if (clamps) {
		if (get_attr(tids[k], &a))
			fail("sched_getattr: %m");
		if ((int)a.sched_util_min != w->umin || (int)a.sched_util_max != w->umax)
			fail("thread %d: clamps %u-%u, were %d-%d", k, a.sched_util_min, a.sched_util_max,
			     w->umin, w->umax);
	}
}

static void *thread_fn(void *arg)
{
	(void)arg;
	set_mine(1);
	thread_ready = 1;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	char buf[32];
	bool two = sysconf(_SC_NPROCESSORS_ONLN) >= 2;

	test_init(argc, argv);
	want[0] = (struct want){ two ? 1 : -1, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 6), 100, 800 };
	want[1] = (struct want){ two ? 0 : -1, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0), 0, 300 };
	set_mine(0);
	if (pthread_create(&th, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (!thread_ready)
		usleep(1000);
	int fd = open("/proc/self/coredump_filter", O_RDWR);
	if (fd < 0 || write(fd, "0x2f", 4) != 4)
		fail("coredump_filter: %m");
	close(fd);
	test_msg("clamps %s, affinity %s", clamps ? "set" : "not supported", two ? "set" : "one CPU");
	test_ready();
	test_wait_checkpoint();

	check(0);
	check(1);
	fd = open("/proc/self/coredump_filter", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		fail("coredump_filter: %m");
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	if (strtoul(buf, NULL, 16) != 0x2f)
		fail("coredump_filter is %s, was 2f", buf);
	pass();
}
