/*
 * spec_ctrl: per-thread speculation controls (prctl PR_SET_SPECULATION_CTRL)
 * survive the checkpoint: the main thread has store bypass disabled, a
 * second thread has indirect branch speculation force-disabled (and its
 * store bypass left as inherited); each reads back the same values after.
 * A control this CPU or kernel does not let a thread set is skipped.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "test/lib/test.h"

static long get(long which)
{
	return prctl(PR_GET_SPECULATION_CTRL, which, 0, 0, 0);
}

static long want_main, want_thr_ib, want_thr_ssb;
static pthread_barrier_t ready, check;
static volatile int thr_failed;
static char thr_msg[200];

static void *thread(void *arg)
{
	(void)arg;
	if (prctl(PR_SET_SPECULATION_CTRL, PR_SPEC_INDIRECT_BRANCH, PR_SPEC_FORCE_DISABLE, 0, 0))
		snprintf(thr_msg, sizeof(thr_msg), "set indirect branch: %s", strerror(errno));
	want_thr_ib = get(PR_SPEC_INDIRECT_BRANCH);
	want_thr_ssb = get(PR_SPEC_STORE_BYPASS);
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&check);
	if (get(PR_SPEC_INDIRECT_BRANCH) != want_thr_ib || get(PR_SPEC_STORE_BYPASS) != want_thr_ssb) {
		snprintf(thr_msg, sizeof(thr_msg), "thread: indirect branch %ld (was %ld), store bypass %ld (was %ld)",
			 get(PR_SPEC_INDIRECT_BRANCH), want_thr_ib, get(PR_SPEC_STORE_BYPASS), want_thr_ssb);
		thr_failed = 1;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	test_init(argc, argv);
	if (!(get(PR_SPEC_STORE_BYPASS) & PR_SPEC_PRCTL) || !(get(PR_SPEC_INDIRECT_BRANCH) & PR_SPEC_PRCTL))
		skip("store bypass or indirect branch speculation not settable per thread here");
	if (prctl(PR_SET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, PR_SPEC_DISABLE, 0, 0))
		fail("set store bypass: %m");
	want_main = get(PR_SPEC_STORE_BYPASS);
	pthread_barrier_init(&ready, NULL, 2);
	pthread_barrier_init(&check, NULL, 2);
	if (pthread_create(&t, NULL, thread, NULL))
		fail("pthread_create");
	pthread_barrier_wait(&ready);
	if (thr_msg[0])
		fail("%s", thr_msg);
	if (want_main != (PR_SPEC_PRCTL | PR_SPEC_DISABLE) ||
	    want_thr_ib != (PR_SPEC_PRCTL | PR_SPEC_FORCE_DISABLE))
		fail("the kernel did not take the settings: %ld %ld", want_main, want_thr_ib);
	test_ready();
	test_wait_checkpoint();

	long now = get(PR_SPEC_STORE_BYPASS);
	pthread_barrier_wait(&check);
	pthread_join(t, NULL);
	if (now != want_main)
		fail("main thread: store bypass %ld, was %ld", now, want_main);
	if (thr_failed)
		fail("%s", thr_msg);
	pass();
}
