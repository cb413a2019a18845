/*
 * page-plan.c - which pages of a process to copy.  Finds the pages that
 * exist with PAGEMAP_SCAN (present or swapped, and for private mappings not
 * the page cache's own pages nor the zero page, so a private file mapping
 * costs only its modified pages); for a shared object the pages it holds
 * (SEEK_DATA).  For a write-tracked mapping of an incremental dump, one
 * scan finds the pages written since the last round and protects them
 * again, a second tells which of them exist: two ioctls (per 512 runs),
 * not one per written run.
 */
#define LOG_PREFIX "pages: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/compat.h"
#include "common/log.h"
#include "images/pages.h"
#include "criu/memscan/memscan.h"

#define PS	4096ULL

int page_plan_add(struct page_plan *r, uint64_t start, uint64_t end, bool readable,
		  bool in_parent)
{
	/* a run of parent pages holds no data: any length will do */
	const uint64_t max = in_parent ? (1ULL << 31) : PAGEMAP_MAX_RUN;

	while (start < end) {
		uint64_t n = (end - start) / PS;
		struct plan_run *last = r->nr > r->vma_first ? &r->v[r->nr - 1] : NULL;

		/* extend the previous run when contiguous */
		if (last && last->readable == readable && last->in_parent == in_parent &&
		    last->vaddr + last->nr_pages * PS == start && last->nr_pages < max) {
			uint64_t add = max - last->nr_pages;
			if (add > n)
				add = n;
			last->nr_pages += add;
			if (!in_parent)
				r->total += add;
			start += add * PS;
			continue;
		}
		if (r->nr == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 256;
			struct plan_run *nv = realloc(r->v, r->cap * sizeof(*nv));
			if (!nv)
				return -1;
			r->v = nv;
		}
		uint64_t take = n > max ? max : n;
		r->v[r->nr++] = (struct plan_run){ start, take, readable, in_parent };
		if (!in_parent)
			r->total += take;
		start += take * PS;
	}
	return 0;
}

/*
 * A shared memory object (shared anonymous memory, a memfd): its pages are
 * those the object holds, whether or not this process has them in its page
 * tables (another process wrote them, or they were swapped out): found
 * with SEEK_DATA/SEEK_HOLE on the mapped file.
 */
static int scan_object(pid_t pid, const Vma *v, struct page_plan *r)
{
	char path[96];
	uint64_t off = v->pgoff, end = v->pgoff + (v->end - v->start);
	bool readable = v->prot & PROT_READ;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)v->start,
		 (unsigned long)v->end);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("pid %d: cannot open the object mapped at %lx", pid, (unsigned long)v->start);
		return -1;
	}
	while (off < end) {
		off_t d = lseek(fd, off, SEEK_DATA);
		if (d < 0 || (uint64_t)d >= end)
			break;	/* ENXIO: no data after off */
		off_t h = lseek(fd, d, SEEK_HOLE);
		uint64_t e = h < 0 || (uint64_t)h > end ? end : (uint64_t)h;
		uint64_t s = d & ~(PS - 1);
		e = (e + PS - 1) & ~(PS - 1);
		if (e > end)
			e = end;
		if (page_plan_add(r, v->start + (s - v->pgoff), v->start + (e - v->pgoff), readable, false)) {
			close(fd);
			return -1;
		}
		off = e;
	}
	close(fd);
	return 0;
}

/* what a scan of one mapping adds to the plan */
struct plan_walk {
	struct page_plan *plan;
	bool readable;
};

static int add_data(void *arg, uint64_t start, uint64_t end, uint64_t categories)
{
	struct plan_walk *w = arg;
	(void)categories;
	return page_plan_add(w->plan, start, end, w->readable, false) ? 1 : 0;
}

/* private pages a tree may share copy-on-write (anonymous, or a file's written ones) */
static bool plan_readable(const struct page_plan *plan, const Vma *v)
{
	bool cow = v->kind == VMA_KIND__VMA_ANON_PRIVATE || v->kind == VMA_KIND__VMA_FILE_PRIVATE;
	return (v->prot & PROT_READ) && !(plan->keep_cow && cow);
}

/*
 * The pages of private mapping v with data of their own.  Telling page
 * cache pages apart (PAGE_IS_FILE) costs the kernel a look at each page's
 * struct page: 10-20 ms a GiB here, against 1.7-2.2 ms without.  An
 * anonymous mapping has no page cache pages: it is spared that.
 */
static const struct scan_query *data_query(const Vma *v)
{
	return v->kind == VMA_KIND__VMA_ANON_PRIVATE ? &SCAN_MAPPED_DATA : &SCAN_PRIVATE_DATA;
}

/* data runs for the pages of private mapping v that exist */
static int scan_private(int pmfd, pid_t pid, const Vma *v, struct page_plan *plan)
{
	struct plan_walk w = { plan, plan_readable(plan, v) };
	int r = scan_walk(pmfd, v->start, v->end, data_query(v), add_data, &w);

	if (r < 0)
		pr_perror("pid %d: PAGEMAP_SCAN of %lx-%lx failed", pid, (unsigned long)v->start,
			  (unsigned long)v->end);
	return r ? -1 : 0;
}

/*
 * The written pages of a tracked mapping, protected again by the scan
 * (exactly this query takes the kernel's fast path); what they are is
 * asked apart, with SCAN_PRIVATE_DATA.
 */
static const struct scan_query SCAN_WRITTEN = {
	.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
	.category_mask = PAGE_IS_WRITTEN,
	.return_mask = PAGE_IS_WRITTEN,
};

/* sorted, disjoint ranges, as a scan reports them */
struct ranges {
	size_t nr, cap;
	struct { uint64_t a, b; } *v;
};

static int range_push(void *arg, uint64_t start, uint64_t end, uint64_t categories)
{
	struct ranges *r = arg;
	(void)categories;
	if (r->nr && r->v[r->nr - 1].b == start) {
		r->v[r->nr - 1].b = end;
		return 0;
	}
	if (r->nr && r->v[r->nr - 1].b > start)
		return 2;	/* out of order: refused, never planned wrong */
	if (r->nr == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		void *nv = realloc(r->v, cap * sizeof(*r->v));
		if (!nv)
			return 1;
		r->v = nv;
		r->cap = cap;
	}
	r->v[r->nr].a = start;
	r->v[r->nr++].b = end;
	return 0;
}

/* the data runs of written range [a, b): its parts in data, from *k on */
static int add_written_data(struct page_plan *plan, const struct ranges *data, size_t *k,
			    uint64_t a, uint64_t b, bool readable)
{
	while (*k < data->nr && data->v[*k].b <= a)
		(*k)++;
	for (size_t j = *k; j < data->nr && data->v[j].a < b; j++) {
		uint64_t s = data->v[j].a > a ? data->v[j].a : a;
		uint64_t e = data->v[j].b < b ? data->v[j].b : b;
		if (page_plan_add(plan, s, e, readable, false))
			return -1;
	}
	return 0;
}

/* every written range, then every page that has data in their span */
static int scan_written_ranges(int pmfd, pid_t pid, const Vma *v, struct ranges *w,
			       struct ranges *d)
{
	int r = scan_walk(pmfd, v->start, v->end, &SCAN_WRITTEN, range_push, w);

	if (!r && w->nr)
		r = scan_walk(pmfd, w->v[0].a, w->v[w->nr - 1].b, data_query(v), range_push, d);
	if (r < 0)
		pr_perror("pid %d: PAGEMAP_SCAN of written pages in %lx-%lx failed", pid,
			  (unsigned long)v->start, (unsigned long)v->end);
	else if (r == 2)
		pr_err("pid %d: PAGEMAP_SCAN of %lx-%lx: regions out of order", pid,
		       (unsigned long)v->start, (unsigned long)v->end);
	return r ? -1 : 0;
}

/*
 * A write-tracked mapping: the pages written since the last round (which
 * the scan protects again at once) are copied if they exist and are zero if
 * not (MADV_DONTNEED counts as a write); every other page is the parent's.
 * Two scans whatever the number of written runs (a page written between
 * them is written again for the next round): the plan costs what the
 * written runs cost.
 */
static int scan_written(int pmfd, pid_t pid, const Vma *v, struct page_plan *plan)
{
	struct ranges w = { 0 }, d = { 0 };
	bool readable = plan_readable(plan, v);
	uint64_t cursor = v->start;
	size_t k = 0;
	int err = scan_written_ranges(pmfd, pid, v, &w, &d);

	for (size_t i = 0; !err && i < w.nr; i++) {
		if (w.v[i].a > cursor && page_plan_add(plan, cursor, w.v[i].a, false, true))
			err = -1;
		else
			err = add_written_data(plan, &d, &k, w.v[i].a, w.v[i].b, readable);
		cursor = w.v[i].b;
	}
	if (!err && cursor < v->end && page_plan_add(plan, cursor, v->end, false, true))
		err = -1;
	free(w.v);
	free(d.v);
	return err;
}

bool vma_has_pages(const Vma *v)
{
	return v->kind == VMA_KIND__VMA_ANON_PRIVATE || v->kind == VMA_KIND__VMA_FILE_PRIVATE ||
	       v->kind == VMA_KIND__VMA_ANON_SHARED || v->kind == VMA_KIND__VMA_MEMFD_SHARED;
}

int page_plan_vma(int pmfd, pid_t pid, const Vma *v, struct page_plan *plan)
{
	if (v->kind == VMA_KIND__VMA_ANON_SHARED || v->kind == VMA_KIND__VMA_MEMFD_SHARED)
		return scan_object(pid, v, plan);
	return scan_private(pmfd, pid, v, plan);
}

int page_plan_make(const struct mem_proc *m, const bool *tracked, struct page_plan *plan)
{
	char path[64];
	int pmfd, err = 0;

	memset(plan, 0, sizeof(*plan));
	plan->keep_cow = m->keep_cow;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", m->pid);
	pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pmfd < 0) {
		pr_perror("pid %d: cannot open pagemap", m->pid);
		return -1;
	}
	for (size_t i = 0; i < m->mm->n_vmas && !err; i++) {
		const Vma *v = m->mm->vmas[i];
		if (!vma_has_pages(v))
			continue;
		plan->vma_first = plan->nr;	/* runs never span VMAs */
		if (tracked && tracked[i])
			err = scan_written(pmfd, m->pid, v, plan);
		else
			err = page_plan_vma(pmfd, m->pid, v, plan);
	}
	close(pmfd);
	return err;
}

void page_plan_free(struct page_plan *plan)
{
	free(plan->v);
	plan->v = NULL;
	plan->nr = plan->cap = 0;
}
