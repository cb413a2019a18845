/*
 * timerfd_wall: timerfds set for an absolute time of the wall clock.
 *
 *   fd 3: CLOCK_REALTIME, TFD_TIMER_ABSTIME|TFD_TIMER_CANCEL_ON_SET, to
 *         expire 30 s after the start
 *   fd 4: CLOCK_REALTIME, TFD_TIMER_ABSTIME, 40 s after the start, then
 *         every 5 s
 *   fd 5: CLOCK_MONOTONIC, relative, 50 s (restored relative: the time
 *         spent dumped does not count for it)
 *
 * After restore: fdinfo shows the same settime flags; fds 3 and 4 still
 * expire at their wall-clock times (the time left, timerfd_gettime, is the
 * deadline minus the time now, within 20 ms), fd 4 keeps its interval.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

static double now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int settime_flags(int fd)
{
	char path[64], line[256];
	int flags = -1;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "settime flags: %o", &flags) == 1)
			break;
	if (f)
		fclose(f);
	return flags;
}

static void arm(int want, int clock, int flags, time_t value_sec, time_t interval)
{
	int fd = timerfd_create(clock, 0);
	if (fd != want)
		fail("timerfd_create: %s (fd %d)", strerror(errno), fd);
	struct itimerspec its = { .it_value = { value_sec, 0 }, .it_interval = { interval, 0 } };
	if (timerfd_settime(fd, flags, &its, NULL))
		fail("timerfd_settime fd %d: %s", fd, strerror(errno));
}

static double left(int fd, double *interval)
{
	struct itimerspec its;
	if (timerfd_gettime(fd, &its))
		fail("timerfd_gettime fd %d: %s", fd, strerror(errno));
	if (interval)
		*interval = its.it_interval.tv_sec + its.it_interval.tv_nsec / 1e9;
	return its.it_value.tv_sec + its.it_value.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	time_t start = time(NULL);
	arm(3, CLOCK_REALTIME, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, start + 30, 0);
	arm(4, CLOCK_REALTIME, TFD_TIMER_ABSTIME, start + 40, 5);
	arm(5, CLOCK_MONOTONIC, 0, 50, 0);
	int f3 = settime_flags(3), f4 = settime_flags(4);

	test_ready();
	test_wait_checkpoint();

	if (settime_flags(3) != f3 || settime_flags(4) != f4)
		fail("settime flags %o and %o, were %o and %o", settime_flags(3), settime_flags(4), f3, f4);
	double interval, l3 = left(3, NULL), n3 = now_real(), l4 = left(4, &interval), n4 = now_real();
	double e3 = start + 30 - n3, e4 = start + 40 - n4;
	if (l3 - e3 > 0.02 || e3 - l3 > 0.02)
		fail("fd 3 expires in %.3f s, its wall-clock time is in %.3f s", l3, e3);
	if (l4 - e4 > 0.02 || e4 - l4 > 0.02 || interval != 5)
		fail("fd 4 expires in %.3f s (interval %.1f), its wall-clock time is in %.3f s (interval 5)",
		     l4, interval, e4);
	double l5 = left(5, NULL);
	if (l5 <= 0 || l5 > 50)
		fail("fd 5: %.3f s left of 50", l5);
	pass();
}
