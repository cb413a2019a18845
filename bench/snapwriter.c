/*
 * snapwriter: the program of the live-snapshot benchmark (bench/snapshot.sh).
 * Writes its memory as fast as it can, one word in a page at a time, in a
 * scattered order over all its pages, and times every write.
 *
 *   snapwriter MIB RESULT
 *
 * SIGUSR1 opens a measuring window, SIGUSR2 closes it and appends to RESULT
 * one line: "writes=N secs=S base_wps=B stalls=K p50_us p99_us p999_us
 * max_us second_us": N writes in the window of S seconds, B writes per second
 * in the second before the window, K writes that took over 2 us (faults, the
 * freeze), their percentiles, the longest one (the freeze, for a dump) and
 * the second longest, and when the longest began (seconds into the window,
 * which opens 0.2 s before criu starts).  SIGTERM ends it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HIST 1000000	/* 0.1 us buckets up to 100 ms */

static volatile sig_atomic_t win, closing, quit;
static void on_usr1(int s) { (void)s; win = 1; }
static void on_usr2(int s) { (void)s; closing = 1; }
static void on_term(int s) { (void)s; quit = 1; }
static unsigned hist[HIST + 1];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double pct(unsigned long long n, double p)
{
	unsigned long long want = (unsigned long long)(n * p) + 1, seen = 0;
	for (int i = 0; i <= HIST; i++)
		if ((seen += hist[i]) >= want)
			return i / 10.0;
	return HIST / 10.0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: snapwriter MIB RESULT\n");
		return 2;
	}
	syscall(SYS_close_range, 3, ~0U, 0);
	size_t pages = (size_t)atol(argv[1]) * 256;
	char *mem = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	memset(mem, 1, pages * 4096);
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	signal(SIGTERM, on_term);
	printf("READY\n");
	fflush(stdout);

	unsigned long long k = 0, writes = 0, stalls = 0, base = 0;
	double t = now(), tsec = t, wstart = 0, max = 0, second = 0, max_at = 0;
	unsigned long long sec_writes = 0;
	while (!quit) {
		unsigned long long j = k++;
		mem[((j * 0x9e3779b1ULL) % pages) * 4096 + (j & 511) * 8]++;
		double t2 = now(), d = (t2 - t) * 1e6;
		t = t2;
		if (!win) {
			sec_writes++;
			if (t - tsec >= 1.0) {
				base = sec_writes / (t - tsec);
				sec_writes = 0;
				tsec = t;
			}
			continue;
		}
		if (!wstart) {
			wstart = t;
			continue;
		}
		writes++;
		if (d > 2) {
			stalls++;
			hist[d * 10 < HIST ? (int)(d * 10) : HIST]++;
			if (d > max) {
				second = max;
				max = d;
				max_at = t - wstart - d / 1e6;
			} else if (d > second) {
				second = d;
			}
		}
		if (closing) {
			FILE *f = fopen(argv[2], "a");
			if (f) {
				fprintf(f, "writes=%llu secs=%.3f base_wps=%llu stalls=%llu p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.0f second_us=%.0f max_at_s=%.4f\n",
					writes, t - wstart, base, stalls, pct(stalls, 0.5),
					pct(stalls, 0.99), pct(stalls, 0.999), max, second, max_at);
				fclose(f);
			}
			memset(hist, 0, sizeof(hist));
			win = closing = 0;
			writes = stalls = 0;
			wstart = max = second = 0;
			tsec = t;
			sec_writes = 0;
		}
	}
	return 0;
}
