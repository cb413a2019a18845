/*
 * coldstart.c - a program restored for one short job: it fills MIB MiB with
 * a pattern, prints READY and waits for SIGUSR1 (blocked, taken in
 * sigwaitinfo); then it reads PCT% of its pages, chosen at random with a
 * fixed seed (the same pages in the same order at every restore), checks
 * each and writes "PASS touch_ms=X" (or "FAIL ...") to RESULT and exits.
 *
 *   coldstart MIB PCT RESULT
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

static uint64_t pattern(uint64_t i)
{
	return (i + 1) * 0x9e3779b97f4a7c15ULL ^ 0x5a5aa5a5c3c33c3cULL;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void verdict(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			exit(2);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	sigset_t set;
	char buf[128];

	if (argc != 4) {
		fprintf(stderr, "usage: coldstart MIB PCT RESULT\n");
		return 2;
	}
	syscall(SYS_close_range, 3, ~0U, 0);
	uint64_t pages = (uint64_t)atol(argv[1]) * 256, words = pages * 512;
	uint64_t touch = pages * atoi(argv[2]) / 100, x = 88172645463325252ULL;
	uint64_t *mem = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	for (uint64_t i = 0; i < words; i++)
		mem[i] = pattern(i);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("READY\n");
	fflush(stdout);
	while (sigwaitinfo(&set, NULL) < 0)
		;
	double t0 = now_ms();
	for (uint64_t k = 0; k < touch; k++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t p = x % pages;
		for (uint64_t w = 0; w < 512; w += 64)
			if (mem[p * 512 + w] != pattern(p * 512 + w)) {
				snprintf(buf, sizeof(buf), "FAIL page %lu\n", (unsigned long)p);
				verdict(argv[3], buf);
				return 1;
			}
	}
	snprintf(buf, sizeof(buf), "PASS touch_ms=%.1f\n", now_ms() - t0);
	verdict(argv[3], buf);
	return 0;
}
