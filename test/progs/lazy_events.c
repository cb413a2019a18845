/*
 * lazy_events: after the checkpoint (while a lazy restore may still be
 * bringing pages in), drops part of one area with madvise(DONTNEED),
 * unmaps half of another, moves a third with mremap, and checks that what
 * remains holds its pattern, the dropped pages read as zero, and the moved
 * pages followed the move.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "test/lib/test.h"

#define AREA	(16UL << 20)
#define WORDS	(PAGE_SIZE_4K / 8)

static void fill(uint64_t *m, uint64_t seed)
{
	for (size_t i = 0; i < AREA / 8; i += 64)
		m[i] = test_mix(seed + i) | 1;
}

/* pages [from, to) of the area at m hold the pattern of seed */
static void check(const uint64_t *m, uint64_t seed, size_t from, size_t to, const char *what)
{
	for (size_t i = from * WORDS; i < to * WORDS; i += 64)
		if (m[i] != (test_mix(seed + i) | 1))
			fail("%s: word %zu is %#lx, expected %#lx", what, i, (unsigned long)m[i],
			     (unsigned long)(test_mix(seed + i) | 1));
}

static uint64_t *area(void)
{
	void *m = mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	return m;
}

int main(int argc, char **argv)
{
	const size_t pages = AREA / PAGE_SIZE_4K;

	test_init(argc, argv);
	uint64_t *a = area(), *b = area(), *c = area();
	fill(a, 1);
	fill(b, 2);
	fill(c, 3);
	/* where c goes: reserved now, so that the address is free later */
	void *dst = mmap(NULL, AREA, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dst == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	test_ready();
	test_wait_checkpoint();

	/* the middle quarter of a is dropped: zeros from now on */
	if (madvise((char *)a + AREA / 4, AREA / 4, MADV_DONTNEED))
		fail("madvise: %s", strerror(errno));
	/* the second half of b goes */
	if (munmap((char *)b + AREA / 2, AREA / 2))
		fail("munmap: %s", strerror(errno));
	/* c moves, untouched since the restore */
	uint64_t *c2 = mremap(c, AREA, AREA, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (c2 == MAP_FAILED)
		fail("mremap: %s", strerror(errno));

	check(a, 1, 0, pages / 4, "a before the dropped part");
	for (size_t i = AREA / 4 / 8; i < AREA / 2 / 8; i++)
		if (a[i])
			fail("a: word %zu of the dropped part is %#lx, not zero", i, (unsigned long)a[i]);
	check(a, 1, pages / 2, pages, "a after the dropped part");
	check(b, 2, 0, pages / 2, "b's first half");
	check(c2, 3, 0, pages, "c at its new address");
	/* a new mapping where b's second half was reads as zero */
	uint64_t *nb = mmap((char *)b + AREA / 2, AREA / 2, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (nb == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	for (size_t i = 0; i < AREA / 2 / 8; i += 512)
		if (nb[i])
			fail("new mapping over b: word %zu is %#lx", i, (unsigned long)nb[i]);
	pass();
}
