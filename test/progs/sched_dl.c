/*
 * sched_dl: a thread under SCHED_DEADLINE (with reset-on-fork) keeps its
 * policy and its runtime, deadline and period across the checkpoint (the
 * restore set SCHED_DEADLINE with sched_setscheduler, which refuses it:
 * the restore failed).  The main thread stays SCHED_OTHER.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
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
#define SCHED_DEADLINE_ 6
#define RESET_ON_FORK 1

static volatile pid_t dl_tid;
static volatile int dl_err;

static void *dl_thread(void *arg)
{
	struct sched_attr a = { .size = sizeof(a), .sched_policy = SCHED_DEADLINE_,
				.sched_flags = RESET_ON_FORK, .sched_runtime = 2000000,
				.sched_deadline = 20000000, .sched_period = 200000000 };
	(void)arg;
	if (syscall(SYS_sched_setattr, 0, &a, 0))
		dl_err = errno;
	dl_tid = syscall(SYS_gettid);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	struct sched_attr a;

	test_init(argc, argv);
	if (pthread_create(&th, NULL, dl_thread, NULL))
		fail("pthread_create");
	while (!dl_tid)
		usleep(1000);
	if (dl_err == EPERM || dl_err == EBUSY)
		skip("SCHED_DEADLINE not allowed here (%s)", strerror(dl_err));
	if (dl_err)
		fail("sched_setattr: %s", strerror(dl_err));
	test_ready();
	test_wait_checkpoint();

	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, dl_tid, &a, sizeof(a), 0))
		fail("sched_getattr: %m");
	if (a.sched_policy != SCHED_DEADLINE_ || a.sched_runtime != 2000000 ||
	    a.sched_deadline != 20000000 || a.sched_period != 200000000 ||
	    !(a.sched_flags & RESET_ON_FORK))
		fail("thread: policy %u %lu/%lu/%lu flags %#lx, was SCHED_DEADLINE 2/20/200 ms reset-on-fork",
		     a.sched_policy, (unsigned long)a.sched_runtime, (unsigned long)a.sched_deadline,
		     (unsigned long)a.sched_period, (unsigned long)a.sched_flags);
	if (sched_getscheduler(0) != SCHED_OTHER)
		fail("main thread: policy %d", sched_getscheduler(0));
	pass();
}
