/*
 * writer: a program that writes its memory at a steady pace and records
 * its own longest stall (the longest gap between two turns of its main
 * loop: the downtime a checkpoint or migration caused it).
 *
 *   writer MIB PCT RESULT     touches MIB MiB, then writes PCT% of its pages
 *                             per second (PCT 0: as fast as it can)
 *
 * SIGHUP appends "writes=N t=SECONDS" to RESULT (the bench computes rates
 * from two samples); SIGUSR1 appends "max_stall_ms=X writes=N" and exits.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t want_sample, want_exit;
static void on_hup(int s) { (void)s; want_sample = 1; }
static void on_usr1(int s) { (void)s; want_exit = 1; }

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: writer MIB PCT RESULT\n");
		return 2;
	}
	syscall(SYS_close_range, 3, ~0U, 0);
	size_t pages = (size_t)atol(argv[1]) * 256;
	double pct = atof(argv[2]);
	const char *result = argv[3];
	char *mem = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < pages; i++)
		mem[i * 4096] = 1;
	signal(SIGHUP, on_hup);
	signal(SIGUSR1, on_usr1);
	printf("READY\n");
	fflush(stdout);

	/* turns of 1 ms, each writing its share of the pages */
	double per_turn = pct > 0 ? pages * pct / 100.0 / 1000.0 : 4096;
	double start = now(), last = start, max_gap = 0, owed = 0;
	unsigned long long writes = 0, k = 0;
	while (!want_exit) {
		owed += per_turn;
		for (; owed >= 1; owed--, writes++)
			mem[((k++ * 7919) % pages) * 4096]++;
		if (pct > 0) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
		double t = now();
		if (t - last > max_gap)
			max_gap = t - last;
		last = t;
		if (want_sample) {
			want_sample = 0;
			FILE *f = fopen(result, "a");
			if (f) {
				fprintf(f, "writes=%llu t=%.6f\n", writes, t - start);
				fclose(f);
			}
		}
	}
	FILE *f = fopen(result, "a");
	if (!f)
		return 1;
	fprintf(f, "max_stall_ms=%.3f writes=%llu\n", max_gap * 1e3, writes);
	fclose(f);
	return 0;
}
