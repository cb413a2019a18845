/*
 * pages_slices: memory laid out against the page writer's slices
 * (criu/memscan/page-write.c reads, hashes and writes 256 KiB at a time and
 * cuts a long run at 16 KiB part boundaries, its checksums carried from
 * slice to slice).  Inside one reservation, at an address 12 KiB past a
 * 256 KiB boundary (so neither part- nor slice-aligned):
 *   A  3 MiB + 5 pages, every page written (two plan runs, each cut into
 *      slices, the first cut not at the run's start);
 *   B  1 MiB, every third page written (one-page runs, many to a slice,
 *      after A's tail in the same slice);
 *   C  600 KiB at 8 KiB past a boundary, every page written;
 *   D  64 KiB, two pages written, one not, over and over.
 * Every word of a written page holds a value of its own address; the others
 * must read back as zero.  Restore checks the checksums before the program
 * runs, so a checksum carried wrongly across slices fails the restore.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "test/lib/test.h"

#define PAGE	4096UL
#define KIB	1024UL
#define MIB	(1024 * KIB)
#define RESERVE	(12 * MIB)

struct region {
	const char *name;
	uintptr_t off, len;	/* from the base */
	unsigned every, run;	/* written: the first run pages of each every pages */
};

static const struct region regions[] = {
	{ "A", 0, 3 * MIB + 5 * PAGE, 1, 1 },
	{ "B", 4 * MIB, 1 * MIB, 3, 1 },
	{ "C", 6 * MIB + 8 * KIB, 600 * KIB, 1, 1 },
	{ "D", 8 * MIB, 64 * KIB, 3, 2 },
};
#define NR	(sizeof(regions) / sizeof(regions[0]))

static int written(const struct region *r, uintptr_t o)
{
	return (o / PAGE) % r->every < r->run;
}

static uint64_t want(const struct region *r, uintptr_t a, uintptr_t o)
{
	return written(r, o) ? test_mix(a) | 1 : 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	uint8_t *res = mmap(NULL, RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		fail("mmap reservation: %s", strerror(errno));
	uintptr_t base = (((uintptr_t)res + 256 * KIB - 1) & ~(256 * KIB - 1)) + 12 * KIB;

	for (size_t i = 0; i < NR; i++) {
		const struct region *r = &regions[i];
		uintptr_t a = base + r->off;
		if (mmap((void *)a, r->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			 -1, 0) != (void *)a)
			fail("mmap %s at %lx: %s", r->name, (unsigned long)a, strerror(errno));
		for (uintptr_t o = 0; o < r->len; o += PAGE)
			if (written(r, o))
				for (uintptr_t w = 0; w < PAGE; w += 8)
					*(uint64_t *)(a + o + w) = want(r, a + o + w, o);
	}
	test_msg("base %lx (12 KiB past a 256 KiB boundary)", (unsigned long)base);

	test_ready();
	test_wait_checkpoint();

	for (size_t i = 0; i < NR; i++) {
		const struct region *r = &regions[i];
		uintptr_t a = base + r->off;
		for (uintptr_t o = 0; o < r->len; o += PAGE)
			for (uintptr_t w = 0; w < PAGE; w += 8) {
				uint64_t got = *(uint64_t *)(a + o + w), exp = want(r, a + o + w, o);
				if (got != exp)
					fail("%s page %lu (%lx) word %lu: 0x%016llx, expected 0x%016llx", r->name,
					     (unsigned long)(o / PAGE), (unsigned long)(a + o), (unsigned long)(w / 8),
					     (unsigned long long)got, (unsigned long long)exp);
			}
	}
	pass();
}
