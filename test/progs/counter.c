/*
 * counter: a program that carries on.  A busy loop increments a counter and
 * a 1 MiB table (table[counter % N]++, so the table always sums to the
 * counter); about every 100 ms it checks that sum and prints
 * "count N" on stdout.  Used by the leave-running tests: the runner follows
 * the count lines, dumps the program while it runs, and after a restore the
 * counting must go on from the dumped value.
 *
 * On SIGUSR1 (polled at each progress line) it checks the counter is at
 * least the last value it printed and the table is coherent, then passes.
 */
#include <signal.h>
#include <string.h>
#include <time.h>

#include "test/lib/test.h"

#define NTAB	(1 << 17)	/* 1 MiB of uint64_t */

static uint64_t table[NTAB];
static volatile uint64_t counter;
static uint64_t last_printed;

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void check(const char *when)
{
	uint64_t sum = 0;
	for (int i = 0; i < NTAB; i++)
		sum += table[i];
	if (sum != counter)
		fail("%s: table sums to %llu, counter is %llu", when, (unsigned long long)sum,
		     (unsigned long long)counter);
	if (counter < last_printed)
		fail("%s: counter %llu is below the last printed value %llu", when,
		     (unsigned long long)counter, (unsigned long long)last_printed);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);

	test_ready();
	int64_t next = now_ms();
	for (;;) {
		for (int i = 0; i < 100000; i++) {
			uint64_t c = counter;
			table[c % NTAB]++;
			counter = c + 1;
		}
		if (now_ms() < next)
			continue;
		next += 100;
		check("progress");
		last_printed = counter;
		test_msg("count %llu", (unsigned long long)last_printed);
		struct timespec zero = { 0, 0 };
		if (sigtimedwait(&set, NULL, &zero) == SIGUSR1)
			break;
	}
	check("end");
	test_msg("final count %llu", (unsigned long long)counter);
	pass();
}
