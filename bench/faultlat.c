/*
 * faultlat.c - fault latency as a lazily restored program sees it.
 *
 *   faultlat MIB RESULT_FILE [TOUCHES]
 *
 * Fills MIB MiB of anonymous memory with a position-dependent pattern,
 * prints READY, and sleeps in sigwaitinfo() until SIGUSR1.  Then, at once,
 * it reads one word of TOUCHES (default 2000) pages, each in a different
 * 256 KiB block chosen at random, timing each first touch with
 * clock_gettime, and checks every word of the pages it touched.  A touch
 * slower than 2 us is counted as a fault (a page already filled in the
 * background reads in well under 1 us).  Writes one line to RESULT_FILE:
 *
 *   PASS touches=N faults=F all_p50_us=.. all_p99_us=.. fault_p50_us=..
 *        fault_p99_us=.. fault_max_us=..   (one line)
 *
 * or "FAIL ..." if a touched page does not hold its pattern.  The program
 * then exits, whether or not the rest of its memory is in yet.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE	4096UL
#define BLOCK	(256UL << 10)

static uint64_t pattern(size_t i)
{
	return (i + 1) * 0x9e3779b97f4a7c15ULL ^ 0x5a5aa5a5c3c33c3cULL;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, int p)
{
	return n ? v[n * p / 100 < n ? n * p / 100 : n - 1] : 0;
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 2 ? strtoul(argv[1], NULL, 10) : 0;
	size_t touches = argc > 3 ? strtoul(argv[3], NULL, 10) : 2000;
	const char *result = argc > 2 ? argv[2] : NULL;
	size_t size = mib << 20, blocks = size / BLOCK;
	sigset_t set;
	siginfo_t si;

	if (!mib || !result || argc > 4 || !blocks) {
		fprintf(stderr, "usage: faultlat MIB RESULT_FILE [TOUCHES]\n");
		return 2;
	}
	if (touches > blocks)
		touches = blocks;
	syscall(SYS_close_range, 3, ~0U, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	uint64_t *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* the sample: chosen before the dump, so that it is in the image too */
	size_t *page = malloc(blocks * sizeof(*page));
	double *all = malloc(touches * sizeof(double)), *flt = malloc(touches * sizeof(double));
	if (mem == MAP_FAILED || !page || !all || !flt)
		return 2;
	for (size_t i = 0; i < size / 8; i++)
		mem[i] = pattern(i);
	srand(getpid());
	for (size_t b = 0; b < blocks; b++)
		page[b] = b * (BLOCK / PAGE) + rand() % (BLOCK / PAGE);
	for (size_t b = blocks - 1; b > 0; b--) {
		size_t j = rand() % (b + 1), t = page[b];
		page[b] = page[j];
		page[j] = t;
	}
	printf("READY %d %lu MiB\n", getpid(), mib);
	fflush(stdout);
	while (sigwaitinfo(&set, &si) < 0)
		;
	/* restored: touch at once, while the pages are arriving */
	volatile uint64_t sink = 0;
	size_t nf = 0;
	for (size_t k = 0; k < touches; k++) {
		const volatile uint64_t *w = mem + page[k] * (PAGE / 8);
		double t0 = now_us();
		sink += *w;
		double dt = now_us() - t0;
		all[k] = dt;
		if (dt > 2.0)
			flt[nf++] = dt;
	}
	(void)sink;
	char text[256] = "PASS";
	for (size_t k = 0; k < touches; k++)
		for (size_t i = page[k] * (PAGE / 8), e = i + PAGE / 8; i < e; i++)
			if (mem[i] != pattern(i)) {
				snprintf(text, sizeof(text), "FAIL word %zu of page %zu", i, page[k]);
				k = touches;
				break;
			}
	qsort(all, touches, sizeof(double), cmp);
	qsort(flt, nf, sizeof(double), cmp);
	int fd = open(result, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dprintf(fd, "%s touches=%zu faults=%zu all_p50_us=%.1f all_p99_us=%.1f fault_p50_us=%.1f "
			"fault_p99_us=%.1f fault_max_us=%.1f\n", text, touches, nf, pct(all, touches, 50),
			pct(all, touches, 99), pct(flt, nf, 50), pct(flt, nf, 99), nf ? flt[nf - 1] : 0);
		close(fd);
	}
	return text[0] == 'P' ? 0 : 1;
}
