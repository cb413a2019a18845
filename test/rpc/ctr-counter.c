/*
 * ctr-counter.c - the program the container tests run (test/rpc-ctr.sh),
 * built static into a busybox rootfs: it counts and checks its memory.
 *
 *   ctr-counter [MiB]      (default 16)
 *
 * Fills MiB of anonymous memory, each 4 KiB page holding a pattern of its
 * index and its generation; every 50 ms it counts one, rewrites a few
 * pages with their next generation (so pre-dumps have pages to track), and
 * every 20 counts checks every page against its generation and prints
 *   "count N pid P pages K ok"
 * (P its pid as it sees it: 1 as a container's init).  A page that does not
 * hold what it should prints "FAIL page I: ..." and exits 1.  stdout is
 * line buffered (a pipe to the test); a write error (EPIPE) ends it.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static uint64_t pattern(size_t page, uint32_t gen, size_t word)
{
	return (page * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)gen << 40) ^ (word * 0x100000001b3ULL);
}

static void fill(uint64_t *p, size_t page, uint32_t gen)
{
	for (size_t w = 0; w < PAGE / 8; w++)
		p[w] = pattern(page, gen, w);
}

static int check(const uint64_t *p, size_t page, uint32_t gen)
{
	for (size_t w = 0; w < PAGE / 8; w++)
		if (p[w] != pattern(page, gen, w)) {
			printf("FAIL page %zu: word %zu is %016llx, generation %u wants %016llx\n", page, w,
			       (unsigned long long)p[w], gen, (unsigned long long)pattern(page, gen, w));
			return -1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 16;
	size_t pages = mib * 256;
	uint64_t *mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t *gen = calloc(pages, sizeof(*gen));
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	uint64_t rnd = 88172645463325252ULL;

	signal(SIGPIPE, SIG_DFL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mem == MAP_FAILED || !gen || !pages) {
		printf("FAIL cannot allocate %zu MiB\n", mib);
		return 1;
	}
	for (size_t i = 0; i < pages; i++)
		fill(mem + i * (PAGE / 8), i, 0);
	printf("READY pid %d pages %zu\n", getpid(), pages);
	for (unsigned long count = 1;; count++) {
		nanosleep(&tick, NULL);
		for (int k = 0; k < 8; k++) {
			rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
			size_t i = rnd % pages;
			fill(mem + i * (PAGE / 8), i, ++gen[i]);
		}
		if (count % 20)
			continue;
		for (size_t i = 0; i < pages; i++)
			if (check(mem + i * (PAGE / 8), i, gen[i]))
				return 1;
		if (printf("count %lu pid %d pages %zu ok\n", count, getpid(), pages) < 0)
			return 1;
	}
}
