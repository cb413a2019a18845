/*
 * scan-walk.c - the one PAGEMAP_SCAN walker: every scan of a process's page
 * tables (the dump's plan, the write tracker's written pages, the live
 * snapshot's pages before the freeze and its checks) goes through
 * scan_walk().  It restarts the ioctl where the kernel stopped (a full
 * vector) until the range is done.
 */
#include <errno.h>
#include <sys/ioctl.h>

#include "common/compat.h"
#include "criu/memscan/memscan.h"

/*
 * Regions per ioctl: no more than the kernel's own buffer (512, a 2 MiB
 * walk's worth of pages).  With more, 6.18 walks in several passes inside
 * one ioctl and may return the walk_end of an earlier pass: the next call
 * then reports regions again, out of order (seen with 1024).
 */
#define SCAN_VEC	512

const struct scan_query SCAN_PRIVATE_DATA = {
	.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	/* only anonymous copies, never the zero page nor a guard region (a marker) */
	.category_inverted = PAGE_IS_FILE | PAGE_IS_PFNZERO | PAGE_IS_GUARD,
	.category_mask = PAGE_IS_FILE | PAGE_IS_PFNZERO | PAGE_IS_GUARD,
	.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
};

const struct scan_query SCAN_MAPPED_DATA = {
	.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	.category_inverted = PAGE_IS_PFNZERO | PAGE_IS_GUARD,
	.category_mask = PAGE_IS_PFNZERO | PAGE_IS_GUARD,
	.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
};

const struct scan_query SCAN_GUARDS = {
	.category_mask = PAGE_IS_GUARD,
	.return_mask = PAGE_IS_GUARD,
};

int scan_walk(int pmfd, uint64_t start, uint64_t end, const struct scan_query *q, scan_fn fn,
	      void *arg)
{
	struct page_region regions[SCAN_VEC];
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = q->flags,
		.start = start,
		.end = end,
		.vec = (uint64_t)regions,
		.vec_len = SCAN_VEC,
		.category_mask = q->category_mask,
		.category_inverted = q->category_inverted,
		.category_anyof_mask = q->category_anyof_mask,
		.return_mask = q->return_mask,
	};

	while (a.start < a.end) {
		long n = ioctl(pmfd, PAGEMAP_SCAN, &a);
		if (n < 0)
			return -1;
		for (long i = 0; i < n; i++) {
			int r = fn(arg, regions[i].start, regions[i].end, regions[i].categories);
			if (r)
				return r;
		}
		if (a.walk_end <= a.start)
			break;
		a.start = a.walk_end;
	}
	return 0;
}
