/*
 * cold_start: a program restored to do one short job and exit, the case of
 * a working set (lazy restore: lazy-pages/workingset.h).  64 MiB of
 * patterned memory; after SIGUSR1 it reads a fixed pseudo-random 3% of its
 * pages, in a fixed order, checks each and exits with PASS.  The same
 * order at every restore of the same images.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "test/lib/test.h"

#define PAGES	16384UL		/* 64 MiB */
#define TOUCH	(PAGES * 3 / 100)
#define WORDS	(PAGE_SIZE_4K / 8)

int main(int argc, char **argv)
{
	uint64_t *mem, x = 0x9e3779b97f4a7c15ULL;

	test_init(argc, argv);
	mem = mmap(NULL, PAGES * PAGE_SIZE_4K, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("mmap");
	for (uint64_t i = 0; i < PAGES * WORDS; i++)
		mem[i] = test_mix(i);
	test_ready();
	test_wait_checkpoint();
	for (uint64_t k = 0; k < TOUCH; k++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t page = x % PAGES;
		for (uint64_t w = 0; w < WORDS; w += 64)
			if (mem[page * WORDS + w] != test_mix(page * WORDS + w))
				fail("page %lu, word %lu differs", (unsigned long)page, (unsigned long)w);
	}
	test_msg("%lu pages checked", (unsigned long)TOUCH);
	pass();
}
