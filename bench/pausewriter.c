/*
 * pausewriter: the program of bench/snappause.sh.  Writes PCT% of its pages
 * per second in turns of 1 ms (random pages), and records the longest gaps
 * between two turns beyond the 1 ms sleep: the pauses a live snapshot
 * causes it (the freeze, and the write faults of a turn).
 *
 *   pausewriter MIB PCT
 *
 * SIGUSR1 opens a measuring window (the gaps so far are forgotten);
 * SIGUSR2 prints "gap MS at MS" for the three longest gaps of the window
 * (length, start after the window opened), then "mark T" (the window's
 * start, CLOCK_REALTIME seconds) and exits.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TOP 3

static volatile sig_atomic_t opening, closing;
static void on_usr1(int s) { (void)s; opening = 1; }
static void on_usr2(int s) { (void)s; closing = 1; }

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* keeps the TOP longest gaps, longest first */
static void note_gap(double *len, double *at, double g, double when)
{
	if (g <= len[TOP - 1])
		return;
	int i = TOP - 1;
	for (; i > 0 && len[i - 1] < g; i--) {
		len[i] = len[i - 1];
		at[i] = at[i - 1];
	}
	len[i] = g;
	at[i] = when;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: pausewriter MIB PCT\n");
		return 2;
	}
	syscall(SYS_close_range, 3, ~0U, 0);
	size_t pages = (size_t)atol(argv[1]) * 256;
	double per_turn = pages * atof(argv[2]) / 100.0 / 1000.0;
	char *mem = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < pages; i++)
		mem[i * 4096] = 1;
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	printf("READY\n");
	fflush(stdout);

	double len[TOP] = { 0 }, at[TOP] = { 0 }, owed = 0, mark = now_ms(), last = mark;
	unsigned long long k = 0;
	while (!closing) {
		for (owed += per_turn; owed >= 1; owed--, k++)
			mem[((k * 2654435761ULL) % pages) * 4096]++;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		double t = now_ms();
		if (opening) {
			opening = 0;
			mark = last = t;
			for (int i = 0; i < TOP; i++)
				len[i] = at[i] = 0;
			continue;
		}
		note_gap(len, at, t - last - 1.0, last - mark);
		last = t;
	}
	for (int i = 0; i < TOP; i++)
		printf("gap %.2f at %.1f\n", len[i], at[i]);
	printf("mark %.3f\n", mark / 1e3);
	return 0;
}
