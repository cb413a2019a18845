/*
 * itimers: an ITIMER_REAL of 20 ms period and an ITIMER_PROF armed for a
 * long first expiry; after restore SIGALRM keeps coming at the same period
 * and both timers still have their intervals.
 */
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "test/lib/test.h"

static volatile sig_atomic_t ticks;
static void on_alarm(int sig) { (void)sig; ticks++; }

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct itimerval real = { { 0, 20000 }, { 0, 20000 } };
	struct itimerval prof = { { 3, 0 }, { 100, 0 } }, v;

	test_init(argc, argv);
	signal(SIGALRM, on_alarm);
	if (setitimer(ITIMER_REAL, &real, NULL) || setitimer(ITIMER_PROF, &prof, NULL))
		fail("setitimer: %m");
	while (ticks < 3)
		;
	/* blocked while waiting: the runner's snapshots of the pending set must not race */
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	test_ready();
	test_wait_checkpoint();
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);

	if (getitimer(ITIMER_REAL, &v) || v.it_interval.tv_usec != 20000 || v.it_interval.tv_sec)
		fail("ITIMER_REAL interval is %ld.%06ld after restore", v.it_interval.tv_sec,
		     v.it_interval.tv_usec);
	if (getitimer(ITIMER_PROF, &v) || v.it_interval.tv_sec != 3 || v.it_value.tv_sec < 90)
		fail("ITIMER_PROF is %ld s interval, %ld s left after restore", v.it_interval.tv_sec,
		     v.it_value.tv_sec);
	/* 500 ms of a 20 ms timer: about 25 ticks */
	int start = ticks;
	double t0 = now();
	while (now() - t0 < 0.5)
		;
	int n = ticks - start;
	if (n < 18 || n > 30)
		fail("%d SIGALRMs in 500 ms after restore, expected about 25", n);
	pass();
}
