/*
 * eventfds: eventfd, signalfd and timerfd state.
 *   fd 3: eventfd, counter 0x123456789 (more than 32 bits)
 *   fd 4: eventfd EFD_SEMAPHORE|EFD_NONBLOCK, counter 3
 *   fd 5: signalfd for SIGUSR2 and SIGRTMIN+1, O_NONBLOCK; SIGUSR2 pending
 *   fd 6: timerfd CLOCK_MONOTONIC, armed 30 s, interval 7 s
 *   fd 7: timerfd CLOCK_REALTIME, 1 ms interval, expired 5+ times, not read
 *   fd 8: timerfd CLOCK_BOOTTIME, disarmed
 * After restore: counters and semaphore behaviour, the signal read through
 * the signalfd, the time left (within a tolerance), interval, clock, ticks.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

static void put(int fd, int want)
{
	if (fd < 0)
		fail("create fd %d: %s", want, strerror(errno));
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2: %s", strerror(errno));
}

static double secs(const struct timespec *t) { return t->tv_sec + t->tv_nsec / 1e9; }

int main(int argc, char **argv)
{
	test_init(argc, argv);
	put(eventfd(0, 0), 3);
	uint64_t v = 0x123456789ULL;
	if (write(3, &v, 8) != 8)
		fail("write eventfd: %s", strerror(errno));
	put(eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK), 4);

	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	sigaddset(&m, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &m, NULL);
	put(signalfd(-1, &m, SFD_NONBLOCK), 5);
	raise(SIGUSR2);

	put(timerfd_create(CLOCK_MONOTONIC, 0), 6);
	struct itimerspec its = { .it_interval = { 7, 0 }, .it_value = { 30, 0 } };
	if (timerfd_settime(6, 0, &its, NULL))
		fail("timerfd_settime: %s", strerror(errno));
	put(timerfd_create(CLOCK_REALTIME, 0), 7);
	struct itimerspec fast = { .it_interval = { 0, 1000000 }, .it_value = { 0, 1000000 } };
	if (timerfd_settime(7, 0, &fast, NULL))
		fail("timerfd_settime: %s", strerror(errno));
	usleep(20000);
	put(timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK), 8);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	test_ready();
	test_wait_checkpoint();

	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double waited = secs(&t1) - secs(&t0);

	if (read(3, &v, 8) != 8 || v != 0x123456789ULL)
		fail("eventfd fd 3: read %#lx, expected 0x123456789", (unsigned long)v);
	if (!(fcntl(4, F_GETFL) & O_NONBLOCK))
		fail("eventfd fd 4: lost O_NONBLOCK");
	for (int i = 0; i < 3; i++)
		if (read(4, &v, 8) != 8 || v != 1)
			fail("eventfd fd 4: semaphore read %d gave %lu, expected 1", i, (unsigned long)v);
	if (read(4, &v, 8) != -1 || errno != EAGAIN)
		fail("eventfd fd 4: a fourth semaphore read did not give EAGAIN");

	struct signalfd_siginfo si;
	if (read(5, &si, sizeof(si)) != sizeof(si) || si.ssi_signo != SIGUSR2)
		fail("signalfd: no SIGUSR2 read (%s)", strerror(errno));
	if (read(5, &si, sizeof(si)) != -1 || errno != EAGAIN)
		fail("signalfd: more than the one signal, or lost O_NONBLOCK");
	raise(SIGRTMIN + 1);
	if (read(5, &si, sizeof(si)) != sizeof(si) || (int)si.ssi_signo != SIGRTMIN + 1)
		fail("signalfd: SIGRTMIN+1 not in its mask after restore");

	struct itimerspec cur;
	if (timerfd_gettime(6, &cur))
		fail("timerfd_gettime: %s", strerror(errno));
	/* 30 s less the time the test waited (the dump's own time may not count) */
	double left = secs(&cur.it_value), want = 30 - waited;
	if (left > 30.0 || left < want - 1.0 || cur.it_interval.tv_sec != 7)
		fail("timerfd fd 6: %.3f s left (expected about %.3f), interval %ld s", left, want,
		     (long)cur.it_interval.tv_sec);
	int clk = -1;
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", 6);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "clockid: %d", &clk);
	if (f)
		fclose(f);
	if (clk != CLOCK_MONOTONIC)
		fail("timerfd fd 6: clock %d, expected CLOCK_MONOTONIC", clk);
	uint64_t ticks = 0;
	if (read(7, &ticks, 8) != 8 || ticks < 5)
		fail("timerfd fd 7: %lu expirations read, expected at least 5", (unsigned long)ticks);
	if (timerfd_gettime(8, &cur) || cur.it_value.tv_sec || cur.it_value.tv_nsec)
		fail("timerfd fd 8: armed after restore");
	if (read(8, &ticks, 8) != -1 || errno != EAGAIN)
		fail("timerfd fd 8: readable or lost O_NONBLOCK");
	pass();
}
