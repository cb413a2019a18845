/*
 * sud: a thread with syscall user dispatch on (prctl
 * PR_SET_SYSCALL_USER_DISPATCH, selector allowing syscalls for now).
 * criu cannot restore it yet: the dump must be refused (test/refuse.sh),
 * and the program runs on: after SIGUSR1 the selector set to block makes
 * a syscall raise SIGSYS.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/lib/test.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_ON 1
#endif
#define SYSCALL_DISPATCH_FILTER_ALLOW 0
#define SYSCALL_DISPATCH_FILTER_BLOCK 1

static volatile char selector = SYSCALL_DISPATCH_FILTER_ALLOW;
static volatile int sigsys;

static void on_sigsys(int sig)
{
	(void)sig;
	selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	sigsys++;
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	test_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigsys;
	if (sigaction(SIGSYS, &sa, NULL))
		fail("sigaction: %m");
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 0, &selector)) {
		if (errno == EINVAL)
			skip("no syscall user dispatch here");
		fail("PR_SET_SYSCALL_USER_DISPATCH: %m");
	}
	test_ready();
	test_wait_checkpoint();

	selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	syscall(SYS_getppid);
	if (sigsys != 1)
		fail("a blocked syscall raised %d SIGSYS", sigsys);
	pass();
}
