/* anon_256m: 256 MiB of anonymous memory, every page touched and stamped. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "test/lib/test.h"

#define SIZE	(256UL << 20)
#define PAGE	4096UL
#define NPAGES	(SIZE / PAGE)
#define WORDS	(PAGE / 8)

static uint64_t stamp(size_t i, int k)
{
	return test_mix(i * 4 + k) | 1;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	uint64_t *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap 256 MiB: %s", strerror(errno));
	for (size_t i = 0; i < NPAGES; i++) {
		uint64_t *p = m + i * WORDS;
		p[0] = stamp(i, 0);
		p[WORDS / 3] = stamp(i, 1);
		p[WORDS - 1] = stamp(i, 2);
	}
	test_msg("mapping %p, %lu pages stamped", (void *)m, NPAGES);

	test_ready();
	test_wait_checkpoint();

	for (size_t i = 0; i < NPAGES; i++) {
		const uint64_t *p = m + i * WORDS;
		for (size_t w = 0; w < WORDS; w++) {
			uint64_t want = w == 0 ? stamp(i, 0) : w == WORDS / 3 ? stamp(i, 1) :
					w == WORDS - 1 ? stamp(i, 2) : 0;
			if (p[w] != want)
				fail("page %zu (%p) word %zu: 0x%016llx, expected 0x%016llx", i,
				     (void *)p, w, (unsigned long long)p[w], (unsigned long long)want);
		}
	}
	pass();
}
