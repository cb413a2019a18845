/*
 * mprotect: anonymous regions written, then made PROT_READ, PROT_NONE,
 * PROT_READ|PROT_EXEC, and one region split by protecting its middle page.
 * After restore: /proc/self/maps shows the same permissions for each range
 * and the data is intact.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "test/lib/test.h"

#define PAGE	4096UL
#define NP	4

struct region {
	const char *name;
	size_t off, len;	/* within the big mapping */
	int prot;
	const char *perms;
};

static struct region regions[] = {
	{ "read-only",  0 * PAGE, NP * PAGE, PROT_READ, "r--p" },
	{ "none",       5 * PAGE, NP * PAGE, PROT_NONE, "---p" },
	{ "read-exec", 10 * PAGE, NP * PAGE, PROT_READ | PROT_EXEC, "r-xp" },
	{ "split-low", 15 * PAGE, PAGE, PROT_READ | PROT_WRITE, "rw-p" },
	{ "split-mid", 16 * PAGE, PAGE, PROT_READ, "r--p" },
	{ "split-high", 17 * PAGE, PAGE, PROT_READ | PROT_WRITE, "rw-p" },
};
#define NR (sizeof(regions) / sizeof(regions[0]))
#define TOTAL (18 * PAGE)
/* guard pages between the regions, left empty; page 14 is made read-only so
 * that it does not merge with split-low */
static const size_t guards[] = { 4, 9, 14 };

static unsigned char byte_at(size_t off) { return (unsigned char)(test_mix(off / 8 + 77) >> (off % 8 * 8)); }

int main(int argc, char **argv)
{
	test_init(argc, argv);
	/* one mapping, so the regions are neighbours and must stay separate VMAs */
	/* with a PROT_NONE page at each end so no neighbour merges into it */
	unsigned char *m = mmap(NULL, TOTAL + 2 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	if (mprotect(m, PAGE, PROT_NONE) || mprotect(m + PAGE + TOTAL, PAGE, PROT_NONE))
		fail("mprotect fences: %s", strerror(errno));
	m += PAGE;
	for (size_t i = 0; i < NR; i++)
		for (size_t o = regions[i].off; o < regions[i].off + regions[i].len; o++)
			m[o] = byte_at(o);
	if (mprotect(m + 14 * PAGE, PAGE, PROT_READ))
		fail("mprotect guard page: %s", strerror(errno));
	for (size_t i = 0; i < NR; i++)
		if (mprotect(m + regions[i].off, regions[i].len, regions[i].prot))
			fail("mprotect %s: %s", regions[i].name, strerror(errno));
	test_msg("mapping %p", (void *)m);

	test_ready();
	test_wait_checkpoint();

	for (size_t i = 0; i < NR; i++) {
		struct region *r = &regions[i];
		char perms[5], path[256];
		uintptr_t s, e;
		if (test_find_mapping(m + r->off, &s, &e, perms, path, sizeof(path)))
			fail("%s region %p: no mapping", r->name, (void *)(m + r->off));
		if (strcmp(perms, r->perms))
			fail("%s region %p: perms %s, expected %s", r->name, (void *)(m + r->off),
			     perms, r->perms);
		if (s != (uintptr_t)(m + r->off) || e != (uintptr_t)(m + r->off + r->len))
			fail("%s region: mapping %lx-%lx, expected %p-%p", r->name, (unsigned long)s,
			     (unsigned long)e, (void *)(m + r->off), (void *)(m + r->off + r->len));
		if (path[0])
			fail("%s region: mapping has a path '%s', expected anonymous", r->name, path);
		if (r->prot == PROT_NONE && mprotect(m + r->off, r->len, PROT_READ))
			fail("mprotect %s back to PROT_READ: %s", r->name, strerror(errno));
		for (size_t o = r->off; o < r->off + r->len; o++)
			if (m[o] != byte_at(o))
				fail("%s region offset %zu: 0x%02x, expected 0x%02x", r->name,
				     o - r->off, m[o], byte_at(o));
	}
	/* guard pages: untouched anonymous memory reads zero */
	for (size_t i = 0; i < sizeof(guards) / sizeof(guards[0]); i++) {
		size_t g = guards[i];
		for (size_t o = g * PAGE; o < (g + 1) * PAGE; o++)
			if (m[o])
				fail("guard page %zu offset %zu: 0x%02x, expected 0", g, o % PAGE, m[o]);
	}
	pass();
}
