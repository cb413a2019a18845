/*
 * lazy_partial: 1 GiB of anonymous memory, every page stamped; after the
 * checkpoint it reads back only 1% of the pages (every 100th) and exits.
 * Restored lazily, it exits long before the background fill is done: the
 * daemon must notice, clean up and exit (test/lazy.sh, lazy/partial).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "test/lib/test.h"

#define SIZE	(1UL << 30)
#define PAGE	4096UL
#define NPAGES	(SIZE / PAGE)
#define WORDS	(PAGE / 8)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	uint64_t *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap 1 GiB: %s", strerror(errno));
	for (size_t i = 0; i < NPAGES; i++) {
		m[i * WORDS] = test_mix(i) | 1;
		m[i * WORDS + WORDS - 1] = test_mix(i + NPAGES) | 1;
	}
	test_msg("mapping %p, %lu pages stamped", (void *)m, NPAGES);

	test_ready();
	test_wait_checkpoint();

	for (size_t i = 0; i < NPAGES; i += 100) {
		const uint64_t *p = m + i * WORDS;
		if (p[0] != (test_mix(i) | 1) || p[WORDS - 1] != (test_mix(i + NPAGES) | 1) ||
		    p[WORDS / 2] != 0)
			fail("page %zu (%p): 0x%016llx .. 0x%016llx, not its stamps", i, (void *)p,
			     (unsigned long long)p[0], (unsigned long long)p[WORDS - 1]);
	}
	pass();
}
