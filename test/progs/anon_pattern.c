/*
 * anon_pattern: 64 MiB of private anonymous memory.  Most pages get a few
 * words derived from their index, some are filled completely, some are
 * never touched (and must read back as zero after restore).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "test/lib/test.h"

#define SIZE	(64UL << 20)
#define PAGE	4096UL
#define NPAGES	(SIZE / PAGE)
#define WORDS	(PAGE / 8)

enum { UNTOUCHED, STAMPED, FULL };

static int page_kind(size_t i)
{
	if (i % 7 == 3 || (i >= 1000 && i < 1100))	/* scattered + one hole run */
		return UNTOUCHED;
	if (i % 1021 == 5 || i == NPAGES - 1)
		return FULL;
	return STAMPED;
}

/* the stamped words of a page: first, last and two in the middle */
static int stamped_word(size_t w)
{
	return w == 0 || w == 1 || w == WORDS / 2 || w == WORDS - 1;
}

static uint64_t expected(size_t i, size_t w)
{
	switch (page_kind(i)) {
	case UNTOUCHED:
		return 0;
	case STAMPED:
		return stamped_word(w) ? test_mix(i * WORDS + w) | 1 : 0;
	default:
		return test_mix((i * WORDS + w) ^ 0x5a5a5a5a5a5aULL);
	}
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	uint64_t *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap 64 MiB: %s", strerror(errno));

	size_t untouched = 0, full = 0;
	for (size_t i = 0; i < NPAGES; i++) {
		uint64_t *p = m + i * WORDS;
		switch (page_kind(i)) {
		case UNTOUCHED:
			untouched++;
			break;
		case STAMPED:
			for (size_t w = 0; w < WORDS; w++)
				if (stamped_word(w))
					p[w] = expected(i, w);
			break;
		case FULL:
			full++;
			for (size_t w = 0; w < WORDS; w++)
				p[w] = expected(i, w);
			break;
		}
	}
	test_msg("mapping %p, %lu pages: %zu untouched, %zu full", (void *)m, NPAGES, untouched, full);

	test_ready();
	test_wait_checkpoint();

	for (size_t i = 0; i < NPAGES; i++) {
		const uint64_t *p = m + i * WORDS;
		for (size_t w = 0; w < WORDS; w++) {
			uint64_t want = expected(i, w);
			if (p[w] != want)
				fail("page %zu (%p, %s) word %zu: 0x%016llx, expected 0x%016llx",
				     i, (void *)p,
				     page_kind(i) == UNTOUCHED ? "untouched" :
				     page_kind(i) == FULL ? "full" : "stamped",
				     w, (unsigned long long)p[w], (unsigned long long)want);
		}
	}
	char perms[5];
	uintptr_t s, e;
	if (test_find_mapping(m, &s, &e, perms, NULL, 0))
		fail("no mapping holds %p any more", (void *)m);
	if (s > (uintptr_t)m || e < (uintptr_t)m + SIZE)
		fail("mapping %lx-%lx does not cover %p+64MiB", (unsigned long)s, (unsigned long)e, (void *)m);
	if (strcmp(perms, "rw-p"))
		fail("mapping perms %s, expected rw-p", perms);
	pass();
}
