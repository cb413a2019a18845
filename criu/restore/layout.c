/*
 * layout.c - where the restorer lives.  Its region must be free both in
 * criu's own address space (the new process starts as a copy of it) and in
 * the target's layout, with a margin for stack guard gaps.  It is mapped here,
 * in criu, before the fork, so nothing criu allocates later can take it.
 */
#define LOG_PREFIX "restore: "
#include <stdlib.h>
#include <sys/mman.h>

#include "common/log.h"
#include "criu/procfs.h"
#include "criu/restore/restore.h"

#define MARGIN		(4ULL << 20)
#define STACK_SIZE	(64ULL << 10)
#define SCRATCH_SIZE	(256ULL << 10)
#define LOW_LIMIT	(1ULL << 32)
#define HIGH_LIMIT	0x7ffffffff000ULL

extern const char restorer_blob[], restorer_blob_end[];

struct span {
	uint64_t start, end;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Maps len bytes at the highest place below HIGH_LIMIT that is free, with
 * margins, both in criu's own address space and in every layout of mms.
 */
static int map_free(const Mm *const *mms, size_t nmm, uint64_t len, int prot, int flags,
		    uint64_t *out)
{
	struct proc_maps self;
	struct span *s;
	size_t n = 0, total = 0;

	if (proc_read_maps(0, false, &self))
		return -1;
	for (size_t k = 0; k < nmm; k++)
		total += mms[k]->n_vmas;
	s = calloc(self.nr + total + 1, sizeof(*s));
	if (!s) {
		proc_maps_free(&self);
		return -1;
	}
	for (size_t i = 0; i < self.nr; i++)
		s[n++] = (struct span){ self.vmas[i].start, self.vmas[i].end };
	for (size_t k = 0; k < nmm; k++)
		for (size_t i = 0; i < mms[k]->n_vmas; i++)
			s[n++] = (struct span){ mms[k]->vmas[i]->start, mms[k]->vmas[i]->end };
	proc_maps_free(&self);
	qsort(s, n, sizeof(*s), cmp_span);

	/* highest gap below HIGH_LIMIT that fits, scanning downwards */
	uint64_t found = 0, ceiling = HIGH_LIMIT;
	for (size_t i = n; i-- > 0;) {
		if (s[i].start >= HIGH_LIMIT)
			continue;
		uint64_t lo = s[i].end + MARGIN;
		if (ceiling > lo && ceiling - lo >= len + MARGIN) {
			found = (ceiling - MARGIN - len) & ~0xfffffULL;
			break;
		}
		if (s[i].start < ceiling)
			ceiling = s[i].start;
	}
	if (!found && ceiling > LOW_LIMIT + len + MARGIN)
		found = (ceiling - MARGIN - len) & ~0xfffffULL;
	free(s);
	if (!found) {
		pr_err("no room for %lu bytes of restorer memory in the address space",
		       (unsigned long)len);
		return -1;
	}
	void *m = mmap((void *)found, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | flags,
		       -1, 0);
	if (m == MAP_FAILED || (uint64_t)m != found) {
		pr_perror("cannot map %lu bytes at %lx", (unsigned long)len, (unsigned long)found);
		return -1;
	}
	*out = found;
	return 0;
}

int rst_premap_reserve(const struct rst_tree *t, uint64_t len, uint64_t *out)
{
	const Mm **mms = calloc(t->nr + 1, sizeof(*mms));
	size_t n = 0;

	if (!mms)
		return -1;
	for (size_t i = 0; i < t->nr; i++)
		if (t->procs[i].mm)
			mms[n++] = t->procs[i].mm;
	int ret = map_free(mms, n, len, PROT_NONE, MAP_NORESERVE, out);
	free(mms);
	return ret;
}

int rst_region_map(const struct rst_proc *p, uint64_t args_size, struct rst_region *r)
{
	uint64_t blob = ((restorer_blob_end - restorer_blob) + 4095) & ~4095ULL;
	uint64_t len = blob + ((args_size + 4095) & ~4095ULL) + STACK_SIZE + SCRATCH_SIZE;
	const Mm *mm = p->mm;
	uint64_t found;

	if (map_free(&mm, 1, len, PROT_READ | PROT_WRITE | PROT_EXEC, 0, &found))
		return -1;
	void *m = (void *)found;
	__builtin_memcpy(m, restorer_blob, restorer_blob_end - restorer_blob);
	r->start = found;
	r->len = len;
	r->args_off = blob;
	r->stack_top = found + len - SCRATCH_SIZE;
	r->scratch = found + len - SCRATCH_SIZE;
	pr_debug("restorer region %lx-%lx", (unsigned long)found, (unsigned long)(found + len));
	return 0;
}
