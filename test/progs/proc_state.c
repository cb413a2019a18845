/*
 * proc_state: per-thread and per-process odds and ends survive the
 * checkpoint: nice value, scheduling policy (SCHED_BATCH), timer slack, the
 * robust futex list (glibc's, of the main thread), personality, and the
 * prctl flags THP disable, child subreaper, parent-death signal, no_new_privs.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/lib/test.h"

int main(int argc, char **argv)
{
	struct sched_param sp = { 0 };
	void *head, *head_after;
	size_t len, len_after;
	int v;

	test_init(argc, argv);
	if (setpriority(PRIO_PROCESS, 0, 7) || sched_setscheduler(0, SCHED_BATCH, &sp))
		fail("nice/sched: %m");
	if (prctl(PR_SET_TIMERSLACK, 123456) || prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) ||
	    prctl(PR_SET_CHILD_SUBREAPER, 1) || prctl(PR_SET_PDEATHSIG, SIGURG) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		fail("prctl: %m");
	if (personality(PER_LINUX | UNAME26) < 0)
		fail("personality: %m");
	if (syscall(SYS_get_robust_list, 0, &head, &len) || !head)
		fail("no robust list to check");
	test_ready();
	test_wait_checkpoint();

	errno = 0;
	if (getpriority(PRIO_PROCESS, 0) != 7 || errno)
		fail("nice is %d, was 7", getpriority(PRIO_PROCESS, 0));
	if (sched_getscheduler(0) != SCHED_BATCH)
		fail("scheduling policy is %d, was SCHED_BATCH", sched_getscheduler(0));
	if (prctl(PR_GET_TIMERSLACK) != 123456)
		fail("timer slack is %d ns", prctl(PR_GET_TIMERSLACK));
	if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 1)
		fail("THP disable lost");
	if (prctl(PR_GET_CHILD_SUBREAPER, &v) || v != 1)
		fail("child subreaper lost");
	if (prctl(PR_GET_PDEATHSIG, &v) || v != SIGURG)
		fail("parent-death signal is %d", v);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		fail("no_new_privs lost");
	if (personality(0xffffffff) != (PER_LINUX | UNAME26))
		fail("personality is %#x", personality(0xffffffff));
	if (syscall(SYS_get_robust_list, 0, &head_after, &len_after) || head_after != head ||
	    len_after != len)
		fail("robust list %p/%zu, was %p/%zu", head_after, len_after, head, len);
	pass();
}
