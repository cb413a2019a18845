/*
 * heap_stack: malloc'd buffers (many small ones on the brk heap, a large
 * mmap'd one), memory taken directly with sbrk(), and a big array on the
 * stack, all with patterns.  After restore: all patterns intact, and the
 * program break (sbrk(0)) is where it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test/lib/test.h"

#define NSMALL		200
#define LARGE		(8UL << 20)	/* above glibc's mmap threshold */
#define SBRK_SIZE	(1UL << 20)
#define STACK_WORDS	(256 * 1024 / 8)

static unsigned char pat(uint64_t seed, size_t o) { return (unsigned char)(test_mix(seed * 1000003 + o / 8) >> (o % 8 * 8)); }

static void fill(unsigned char *p, size_t len, uint64_t seed)
{
	for (size_t o = 0; o < len; o++)
		p[o] = pat(seed, o);
}

static void check(const char *what, const unsigned char *p, size_t len, uint64_t seed)
{
	for (size_t o = 0; o < len; o++)
		if (p[o] != pat(seed, o))
			fail("%s (%p, %zu bytes) offset %zu: 0x%02x, expected 0x%02x", what,
			     (const void *)p, len, o, p[o], pat(seed, o));
}

static unsigned char *small[NSMALL];
static size_t small_len[NSMALL];

static __attribute__((noinline)) void with_stack_array(void)
{
	volatile uint64_t arr[STACK_WORDS];
	for (size_t i = 0; i < STACK_WORDS; i++)
		arr[i] = test_mix(i + 0xabc) ^ (uintptr_t)&arr[i];

	unsigned char *large = malloc(LARGE);
	if (!large)
		fail("malloc(%lu) failed", LARGE);
	fill(large, LARGE, 999);
	for (int i = 0; i < NSMALL; i++) {
		small_len[i] = 1 + (test_mix(i) % 3000);
		small[i] = malloc(small_len[i]);
		if (!small[i])
			fail("malloc(%zu) failed", small_len[i]);
		fill(small[i], small_len[i], i);
	}
	/* free every third one: the heap has holes the allocator remembers */
	for (int i = 0; i < NSMALL; i += 3) {
		free(small[i]);
		small[i] = NULL;
	}
	unsigned char *brk_mem = sbrk(SBRK_SIZE);
	if (brk_mem == (void *)-1)
		fail("sbrk(%lu): %s", SBRK_SIZE, strerror(errno));
	fill(brk_mem, SBRK_SIZE, 4242);
	void *brk_before = sbrk(0);
	test_msg("heap %p..%p, large %p, stack array %p", (void *)small[1], brk_before,
		 (void *)large, (void *)arr);

	test_ready();
	test_wait_checkpoint();

	/* first, before anything can move it */
	void *brk_after = sbrk(0);
	if (brk_after != brk_before)
		fail("program break is %p, was %p", brk_after, brk_before);

	for (size_t i = 0; i < STACK_WORDS; i++)
		if (arr[i] != (test_mix(i + 0xabc) ^ (uintptr_t)&arr[i]))
			fail("stack array word %zu (%p): 0x%016llx, expected 0x%016llx", i,
			     (void *)&arr[i], (unsigned long long)arr[i],
			     (unsigned long long)(test_mix(i + 0xabc) ^ (uintptr_t)&arr[i]));
	check("sbrk area", brk_mem, SBRK_SIZE, 4242);
	check("large malloc buffer", large, LARGE, 999);
	for (int i = 0; i < NSMALL; i++) {
		char what[64];
		if (!small[i])
			continue;
		snprintf(what, sizeof(what), "small malloc buffer %d", i);
		check(what, small[i], small_len[i], i);
	}
	/* the allocator's state must still be coherent: allocate and free more */
	for (int i = 0; i < NSMALL; i += 3) {
		small[i] = malloc(small_len[i]);
		if (!small[i])
			fail("malloc after restore failed");
		fill(small[i], small_len[i], i + 7);
	}
	for (int i = 0; i < NSMALL; i++) {
		char what[64];
		snprintf(what, sizeof(what), "small malloc buffer %d after new allocations", i);
		check(what, small[i], small_len[i], i % 3 ? (uint64_t)i : (uint64_t)i + 7);
		free(small[i]);
	}
	free(large);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	with_stack_array();
	pass();
}
