/*
 * pending_signals: signals queued but blocked across the checkpoint are
 * delivered after restore, with their siginfo: a process-directed SIGUSR2
 * (kill), three queued SIGRTMIN+3 carrying values 11, 22, 33 (sigqueue; real
 * time signals queue each one), and a thread-directed SIGRTMIN+4 (tgkill).
 */
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/lib/test.h"

/* the si_code this kernel gives a tgkill'ed signal (SI_TKILL, or SI_USER) */
static int tkill_code(void)
{
	sigset_t s;
	siginfo_t si;
	struct timespec zero = { 0, 0 };

	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN + 5);
	sigprocmask(SIG_BLOCK, &s, NULL);
	syscall(SYS_tgkill, getpid(), gettid(), SIGRTMIN + 5);
	if (sigtimedwait(&s, &si, &zero) != SIGRTMIN + 5)
		fail("tgkill to itself did not queue a signal");
	return si.si_code;
}

int main(int argc, char **argv)
{
	sigset_t set, pend;
	siginfo_t si;
	int tkill;

	test_init(argc, argv);
	tkill = tkill_code();
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGRTMIN + 3);
	sigaddset(&set, SIGRTMIN + 4);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kill(getpid(), SIGUSR2);
	for (int v = 11; v <= 33; v += 11)
		sigqueue(getpid(), SIGRTMIN + 3, (union sigval){ .sival_int = v });
	syscall(SYS_tgkill, getpid(), gettid(), SIGRTMIN + 4);

	test_ready();
	test_wait_checkpoint();

	sigpending(&pend);
	for (int s = 1; s < 65; s++) {
		bool want = s == SIGUSR2 || s == SIGRTMIN + 3 || s == SIGRTMIN + 4;
		if (sigismember(&pend, s) != want)
			fail("signal %d is %spending after restore", s, want ? "not " : "");
	}
	struct timespec zero = { 0, 0 };
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, SIGUSR2);
	if (sigtimedwait(&one, &si, &zero) != SIGUSR2)
		fail("SIGUSR2 lost");
	if (si.si_code != SI_USER || si.si_pid != getpid())
		fail("SIGUSR2's siginfo changed (code %d, pid %d)", si.si_code, si.si_pid);
	sigemptyset(&one);
	sigaddset(&one, SIGRTMIN + 3);
	for (int v = 11; v <= 33; v += 11) {
		if (sigtimedwait(&one, &si, &zero) != SIGRTMIN + 3)
			fail("queued SIGRTMIN+3 number %d lost", v / 11);
		if (si.si_code != SI_QUEUE || si.si_value.sival_int != v)
			fail("SIGRTMIN+3 carries code %d value %d, want %d", si.si_code,
			     si.si_value.sival_int, v);
	}
	sigemptyset(&one);
	sigaddset(&one, SIGRTMIN + 4);
	if (sigtimedwait(&one, &si, &zero) != SIGRTMIN + 4)
		fail("the thread-directed SIGRTMIN+4 lost");
	if (si.si_code != tkill || si.si_pid != getpid())
		fail("SIGRTMIN+4's siginfo changed (code %d, want %d)", si.si_code, tkill);
	if (sigtimedwait(&set, &si, &zero) >= 0)
		fail("signal %d pending beyond those sent", si.si_signo);
	pass();
}
