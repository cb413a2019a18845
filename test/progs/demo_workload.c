/*
 * demo_workload: the sample program of scripts/demo.sh (not a test).
 * Keeps a 32 MiB buffer and its checksum; every 0.5 s it changes a few
 * words of the buffer, updates the checksum incrementally, verifies it
 * against a full recomputation, and prints
 *     tick N pid P checksum X ok
 * to stdout (or the file named by its first argument, appended).  Closes any
 * inherited fd above 2 first.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

#define WORDS ((32UL << 20) / 8)

static uint64_t full_sum(const uint64_t *b)
{
	uint64_t s = 0;
	for (size_t i = 0; i < WORDS; i++)
		s += b[i] * (2 * i + 1);
	return s;
}

int main(int argc, char **argv)
{
	/* only stdin/out/err: fds inherited from whatever started it are not ours */
	close_range(3, ~0U, 0);
	if (argc > 1) {
		int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0 || dup2(fd, 1) < 0) {
			perror(argv[1]);
			return 1;
		}
		close(fd);
	}
	uint64_t *buf = malloc(WORDS * 8);
	if (!buf) {
		perror("malloc");
		return 1;
	}
	for (size_t i = 0; i < WORDS; i++)
		buf[i] = test_mix(i);
	uint64_t sum = full_sum(buf);

	for (uint64_t tick = 1;; tick++) {
		for (int k = 0; k < 16; k++) {
			size_t i = test_mix(tick * 16 + k) % WORDS;
			uint64_t v = test_mix(tick ^ (k << 20));
			sum += (v - buf[i]) * (2 * i + 1);
			buf[i] = v;
		}
		int ok = full_sum(buf) == sum;
		printf("tick %llu pid %d checksum %016llx %s\n", (unsigned long long)tick, (int)getpid(),
		       (unsigned long long)sum, ok ? "ok" : "CORRUPT");
		fflush(stdout);
		if (!ok)
			return 1;
		struct timespec d = { 0, 500 * 1000000 };
		while (nanosleep(&d, &d))
			;
	}
}
