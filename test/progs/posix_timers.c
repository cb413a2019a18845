/*
 * posix_timers: a periodic CLOCK_MONOTONIC timer (20 ms, SIGRTMIN+2 with
 * value 42), a one-shot CLOCK_REALTIME timer far away directed at the main
 * thread (SIGEV_THREAD_ID), and a disarmed one.  After restore they have
 * the same ids, the periodic one keeps its period and value, the far one
 * still has most of its time left.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

static volatile sig_atomic_t ticks, bad_value;

static void on_tick(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_value.sival_int != 42)
		bad_value = 1;
	ticks++;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_tick, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigevent se = { 0 };
	struct itimerspec its = { { 0, 20000000 }, { 0, 20000000 } }, far = { { 0, 0 }, { 1000, 0 } }, v;
	timer_t periodic, oneshot, idle;

	test_init(argc, argv);
	sigaction(SIGRTMIN + 2, &sa, NULL);
	se.sigev_notify = SIGEV_SIGNAL;
	se.sigev_signo = SIGRTMIN + 2;
	se.sigev_value.sival_int = 42;
	if (timer_create(CLOCK_MONOTONIC, &se, &periodic) || timer_settime(periodic, 0, &its, NULL))
		fail("periodic timer: %m");
	se.sigev_notify = SIGEV_THREAD_ID;
	se._sigev_un._tid = gettid();
	se.sigev_signo = SIGUSR2;
	if (timer_create(CLOCK_REALTIME, &se, &oneshot) || timer_settime(oneshot, 0, &far, NULL))
		fail("one-shot timer: %m");
	se.sigev_notify = SIGEV_NONE;
	if (timer_create(CLOCK_MONOTONIC, &se, &idle))
		fail("idle timer: %m");
	while (ticks < 3)
		;
	/* blocked while waiting: the runner's snapshots of the pending set must not race */
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN + 2);
	sigprocmask(SIG_BLOCK, &rt, NULL);
	test_ready();
	test_wait_checkpoint();
	sigprocmask(SIG_UNBLOCK, &rt, NULL);

	if (timer_gettime(periodic, &v) || v.it_interval.tv_nsec != 20000000)
		fail("the periodic timer lost its id or period");
	if (timer_gettime(oneshot, &v) || v.it_value.tv_sec < 900 || v.it_interval.tv_sec)
		fail("the one-shot timer has %ld s left", (long)v.it_value.tv_sec);
	if (timer_gettime(idle, &v) || v.it_value.tv_sec || v.it_value.tv_nsec)
		fail("the idle timer is armed or lost");
	int start = ticks;
	double t0 = now();
	while (now() - t0 < 0.5)
		;
	int n = ticks - start;
	if (n < 18 || n > 30)
		fail("%d ticks in 500 ms after restore, expected about 25", n);
	if (bad_value)
		fail("a tick carried another value than 42");
	pass();
}
