/*
 * memscan.h - finding and copying a process's memory: the one PAGEMAP_SCAN
 * walker (scan-walk.c), the page plan (page-plan.c: which runs of pages to
 * copy, which to leave to the parent images) and the page writer
 * (page-write.c: copies the plan in batches and writes pagemap-PID.img and
 * pages-PID.img).
 *
 * Used by the dump engine (criu/dump/) and the live snapshot
 * (criu/snapshot/), which both sit above it: it knows neither.  It works on
 * a struct mem_proc (a pid, its memory map, the dump id), never on the dump
 * engine's own objects.  Owns: nothing beyond one call (plans are the
 * caller's, freed with page_plan_free).  Must not: change the process
 * (write-protection changes only where the caller's scan asks for them,
 * PM_SCAN_WP_MATCHING of the write tracker).
 */
#ifndef CRIU_MEMSCAN_H
#define CRIU_MEMSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/image.h"

/* the process whose memory is planned and copied */
struct mem_proc {
	pid_t pid;
	uint64_t dump_id;	/* in the header of its page images */
	const Mm *mm;		/* its memory map, as dumped */
	/*
	 * read private memory (anonymous or a file's) through /proc/PID/mem:
	 * process_vm_readv pins pages, and pinning a page shared copy-on-write
	 * with another process gives this one a copy of its own (a tree would
	 * lose its sharing)
	 */
	bool keep_cow;
};

/* scan-walk.c: the walker */
struct scan_query {
	uint64_t flags;			/* PM_SCAN_WP_MATCHING, PM_SCAN_CHECK_WPASYNC */
	uint64_t category_mask;		/* every one of these (after inversion) */
	uint64_t category_inverted;
	uint64_t category_anyof_mask;	/* at least one of these */
	uint64_t return_mask;		/* the categories reported with each region */
};
/* pages that hold data of their own: present or swapped, not the zero page, not page cache */
extern const struct scan_query SCAN_PRIVATE_DATA;
/* pages an object holds as this process maps them: present or swapped, not the zero page */
extern const struct scan_query SCAN_MAPPED_DATA;
/* guard regions (MADV_GUARD_INSTALL): no data, they fault; the others leave them out */
extern const struct scan_query SCAN_GUARDS;
/*
 * Each region of [start, end) PAGEMAP_SCAN reports for q, in order, with
 * its categories (q->return_mask of them), to fn; fn returns 0 to go on, a
 * positive value to stop the walk (returned).  -1 if the ioctl failed,
 * with errno (quiet: the caller says what failing means).
 */
typedef int (*scan_fn)(void *arg, uint64_t start, uint64_t end, uint64_t categories);
int scan_walk(int pmfd, uint64_t start, uint64_t end, const struct scan_query *q, scan_fn fn,
	      void *arg);

/* page-plan.c: which runs of pages to copy */
struct plan_run {
	uint64_t vaddr, nr_pages;
	bool readable;
	bool in_parent;		/* unchanged since the parent image: no data */
};

struct page_plan {
	size_t nr, cap;
	struct plan_run *v;
	uint64_t total;		/* pages with data */
	size_t vma_first;	/* runs never span VMAs: the first run of the current one */
	bool keep_cow;		/* see struct mem_proc */
	bool no_data;		/* dump --lazy-pages: pagemap only (no data, no checksums) */
};

/*
 * While frozen: which runs of m's memory to copy.  tracked[i] (or NULL):
 * VMA i is write-tracked, and only its pages written since the last round
 * are planned (the scan protects them again); the rest is the parent's.
 */
int page_plan_make(const struct mem_proc *m, const bool *tracked, struct page_plan *plan);
void page_plan_free(struct page_plan *plan);
/* the pieces of page_plan_make: set plan->vma_first = plan->nr before each VMA */
bool vma_has_pages(const Vma *v);
int page_plan_add(struct page_plan *plan, uint64_t start, uint64_t end, bool readable,
		  bool in_parent);
/* all of v's pages: those in its page tables, or for a shared object the pages it holds */
int page_plan_vma(int pmfd, pid_t pid, const Vma *v, struct page_plan *plan);

/* page-write.c: the writer */
struct pages_stats {
	uint64_t pages, bytes;
	double ms;		/* copying and writing */
};
/* copies the planned runs (frozen or running) and writes the page images */
/* tolerant: the process runs, memory that vanishes meanwhile reads as zero */
int pages_write(const struct mem_proc *m, const struct page_plan *plan, int dirfd, bool tolerant,
		struct pages_stats *st);
/*
 * The writer with hooks (the live snapshot, criu/snapshot/): pfd is the
 * pages image made by pages_image_create(), or -1 for a new one.  Each
 * batch of runs is read (failed[k]: run k could not be read and is zero in
 * buf), then given to read_done, which may patch buf or fail, then hashed
 * and written, then given to written.
 */
#define PAGES_BATCH_PAGES	1024	/* the most pages (and runs) of a batch */
struct pages_hooks {
	void *arg;
	int pfd;
	bool tolerant;
	int (*read_done)(void *arg, const struct plan_run *runs, const bool *failed, size_t n,
			 uint8_t *buf);
	void (*written)(void *arg, const struct plan_run *runs, size_t n);
};
int pages_write_hooked(const struct mem_proc *m, const struct page_plan *plan, int dirfd,
		       const struct pages_hooks *h, struct pages_stats *st);
/* one run, by process_vm_readv, else /proc/PID/mem (memfd); quiet */
int pages_copy_run(pid_t pid, int memfd, const struct plan_run *run, uint8_t *dst);
/* pages-PID.img with its header, open read-write; the fd or -1 */
int pages_image_create(pid_t pid, uint64_t dump_id, int dirfd);

#endif /* CRIU_MEMSCAN_H */
