/* clock.h - the monotonic clock, in the units timing code wants. */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <time.h>

static inline double clock_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline double clock_now_ms(void)
{
	return clock_now_s() * 1e3;
}

#endif /* COMMON_CLOCK_H */
