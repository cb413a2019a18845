/*
 * dump-pages.c - dumping memory contents.  Finds the pages that exist with the
 * PAGEMAP_SCAN ioctl (present or swapped, and for private mappings not the
 * page cache's own pages nor the zero page, so a private file mapping costs
 * only its modified pages), then copies each run (at most 2 MiB) with
 * process_vm_readv into a buffer that stays in the CPU cache, hashes it
 * there and write()s it to pages-PID.img.  Measured here, this beats
 * process_vm_readv straight into a shared mapping of the file, whose page
 * faults cost more than the second copy (Documentation/performance.md).
 *
 * Two phases: dump_pages_plan() decides, while the process is frozen, which
 * runs to copy and which to leave to the parent image (for write-tracked
 * mappings of an incremental dump: the pages not written since the parent);
 * dump_pages_write() copies, frozen for a dump, running for a pre-dump.
 */
#define LOG_PREFIX "pages: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/compat.h"
#include "common/fdio.h"
#include "criu/dump/dump.h"
#include "common/clock.h"
#include "common/log.h"
#include "images/pages.h"
#include "common/progress.h"

int page_plan_add(struct page_plan *r, uint64_t start, uint64_t end, bool readable,
		  bool in_parent)
{
	const uint64_t ps = 4096;
	/* a run of parent pages holds no data: any length will do */
	const uint64_t max = in_parent ? (1ULL << 31) : PAGEMAP_MAX_RUN;

	while (start < end) {
		uint64_t n = (end - start) / ps;
		struct plan_run *last = r->nr > r->vma_first ? &r->v[r->nr - 1] : NULL;

		/* extend the previous run when contiguous */
		if (last && last->readable == readable && last->in_parent == in_parent &&
		    last->vaddr + last->nr_pages * ps == start && last->nr_pages < max) {
			uint64_t add = max - last->nr_pages;
			if (add > n)
				add = n;
			last->nr_pages += add;
			if (!in_parent)
				r->total += add;
			start += add * ps;
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
		start += take * ps;
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
		uint64_t s = d & ~4095ULL;
		e = (e + 4095) & ~4095ULL;
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

/* data runs for the pages of [start, end) of private mapping v that exist */
static int page_plan_scan(int pmfd, pid_t pid, const Vma *v, uint64_t start, uint64_t end,
			  struct page_plan *r)
{
	struct page_region regions[512];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = start,
		.end = end,
		.vec = (uint64_t)regions,
		.vec_len = 512,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		/* only anonymous copies, never the zero page */
		.category_inverted = PAGE_IS_FILE | PAGE_IS_PFNZERO,
		.category_mask = PAGE_IS_FILE | PAGE_IS_PFNZERO,
	};
	/* private pages a tree may share copy-on-write (anonymous, or a file's written ones) */
	bool cow = v->kind == VMA_KIND__VMA_ANON_PRIVATE || v->kind == VMA_KIND__VMA_FILE_PRIVATE;
	bool readable = (v->prot & PROT_READ) && !(r->keep_cow && cow);

	while (arg.start < arg.end) {
		long n = ioctl(pmfd, PAGEMAP_SCAN, &arg);
		if (n < 0) {
			pr_perror("pid %d: PAGEMAP_SCAN of %lx-%lx failed", pid,
				  (unsigned long)arg.start, (unsigned long)arg.end);
			return -1;
		}
		for (long i = 0; i < n; i++)
			if (page_plan_add(r, regions[i].start, regions[i].end, readable, false))
				return -1;
		if (arg.walk_end <= arg.start)
			break;
		arg.start = arg.walk_end;
	}
	return 0;
}

/*
 * A write-tracked mapping: the pages written since the last round (which
 * the scan protects again at once) are copied if they exist and are zero if
 * not (MADV_DONTNEED counts as a write); every other page is the parent's.
 */
static int scan_written(int pmfd, pid_t pid, const Vma *v, struct page_plan *r)
{
	struct page_region regions[512];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = v->start,
		.end = v->end,
		.vec = (uint64_t)regions,
		.vec_len = 512,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	uint64_t cursor = v->start;

	while (arg.start < arg.end) {
		long n = ioctl(pmfd, PAGEMAP_SCAN, &arg);
		if (n < 0) {
			pr_perror("pid %d: PAGEMAP_SCAN of written pages in %lx-%lx failed", pid,
				  (unsigned long)arg.start, (unsigned long)arg.end);
			return -1;
		}
		for (long i = 0; i < n; i++) {
			if (regions[i].start > cursor &&
			    page_plan_add(r, cursor, regions[i].start, false, true))
				return -1;
			if (page_plan_scan(pmfd, pid, v, regions[i].start, regions[i].end, r))
				return -1;
			cursor = regions[i].end;
		}
		if (arg.walk_end <= arg.start)
			break;
		arg.start = arg.walk_end;
	}
	if (cursor < v->end && page_plan_add(r, cursor, v->end, false, true))
		return -1;
	return 0;
}

bool vma_has_pages(const Vma *v)
{
	return v->kind == VMA_KIND__VMA_ANON_PRIVATE || v->kind == VMA_KIND__VMA_FILE_PRIVATE ||
	       v->kind == VMA_KIND__VMA_ANON_SHARED || v->kind == VMA_KIND__VMA_MEMFD_SHARED;
}

/* copies one run; quiet: the caller says what failing means */
int dump_copy_run(pid_t pid, int memfd, const struct plan_run *run, uint8_t *dst)
{
	size_t len = run->nr_pages * 4096;

	if (run->readable) {
		struct iovec local = { dst, len }, remote = { (void *)run->vaddr, len };
		if (process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len)
			return 0;
		/* fall back to /proc/PID/mem for whatever could not be read */
	}
	for (size_t got = 0; got < len;) {
		ssize_t n = pread(memfd, dst + got, len - got, run->vaddr + got);
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}


int page_plan_vma(int pmfd, pid_t pid, const Vma *v, struct page_plan *plan)
{
	if (v->kind == VMA_KIND__VMA_ANON_SHARED || v->kind == VMA_KIND__VMA_MEMFD_SHARED)
		return scan_object(pid, v, plan);
	return page_plan_scan(pmfd, pid, v, v->start, v->end, plan);
}

int dump_pages_plan(struct dump_proc *p, const bool *tracked, struct page_plan *plan)
{
	char path[64];
	int pmfd, err = 0;

	memset(plan, 0, sizeof(*plan));
	plan->keep_cow = p->keep_cow;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", p->pid);
	pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pmfd < 0) {
		pr_perror("pid %d: cannot open pagemap", p->pid);
		return -1;
	}
	for (size_t i = 0; i < p->mm->n_vmas && !err; i++) {
		const Vma *v = p->mm->vmas[i];
		if (!vma_has_pages(v))
			continue;
		plan->vma_first = plan->nr;	/* runs never span VMAs */
		if (tracked && tracked[i])
			err = scan_written(pmfd, p->pid, v, plan);
		else
			err = page_plan_vma(pmfd, p->pid, v, plan);
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

#define COPY_BATCH_RUNS	512	/* remote iovecs per process_vm_readv (IOV_MAX is 1024) */

/*
 * Copies n runs, bytes in all, into buf one after another.  While the
 * program runs (pre-dump) memory may vanish under us: those pages are
 * zero here and, being unmapped or changed, not taken from this image later.
 */
static int copy_batch(pid_t pid, int memfd, const struct plan_run *runs, size_t n, size_t bytes,
		      uint8_t *buf, bool tolerant, bool *failed)
{
	struct iovec remote[COPY_BATCH_RUNS], local = { buf, bytes };
	bool readable = true;

	if (!n)
		return 0;
	for (size_t k = 0; k < n; k++) {
		if (failed)
			failed[k] = false;
		remote[k] = (struct iovec){ (void *)runs[k].vaddr, runs[k].nr_pages * 4096 };
		readable &= runs[k].readable;
	}
	if (readable && process_vm_readv(pid, &local, 1, remote, n, 0) == (ssize_t)bytes)
		return 0;
	for (size_t k = 0; k < n; k++) {
		size_t len = runs[k].nr_pages * 4096;
		if (dump_copy_run(pid, memfd, &runs[k], buf)) {
			if (!tolerant) {
				pr_perror("pid %d: cannot read memory at %lx-%lx", pid,
					  (unsigned long)runs[k].vaddr, (unsigned long)(runs[k].vaddr + len));
				return -1;
			}
			pr_debug("pid %d: %lx-%lx vanished during the copy", pid,
				 (unsigned long)runs[k].vaddr, (unsigned long)(runs[k].vaddr + len));
			memset(buf, 0, len);
			if (failed)
				failed[k] = true;
		}
		buf += len;
	}
	return 0;
}

int pages_image_create(pid_t pid, uint64_t dump_id, int dirfd)
{
	uint8_t hdr[PAGES_DATA_OFFSET] = { 0 };
	char name[64];

	img_name(IMG_PAGES, pid, name, sizeof(name));
	int pfd = openat(dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (pfd < 0) {
		pr_perror("cannot create %s", name);
		return -1;
	}
	img_hdr_fill((struct img_hdr *)hdr, IMG_PAGES, dump_id, pid);
	if (pwrite_all(pfd, hdr, PAGES_DATA_OFFSET, 0)) {
		pr_perror("%s: write failed", name);
		close(pfd);
		return -1;
	}
	return pfd;
}

int dump_pages_write(struct dump_proc *p, const struct page_plan *plan, int dirfd, bool tolerant,
		     struct dump_stats *st)
{
	struct pages_hooks h = { .pfd = -1, .tolerant = tolerant };
	return dump_pages_write_hooked(p, plan, dirfd, &h, st);
}

int dump_pages_write_hooked(struct dump_proc *p, const struct page_plan *plan, int dirfd,
			    const struct pages_hooks *h, struct dump_stats *st)
{
	struct img_writer *pm = NULL;
	uint8_t *buf = NULL;
	int memfd = -1, pfd = h->pfd, err = -1;
	char path[64], name[64];
	double t0 = clock_now_ms();
	bool failed[COPY_BATCH_RUNS];

	snprintf(path, sizeof(path), "/proc/%d/mem", p->pid);
	memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (memfd < 0) {
		pr_perror("pid %d: cannot open its memory", p->pid);
		goto out;
	}
	img_name(IMG_PAGES, p->pid, name, sizeof(name));
	buf = aligned_alloc(4096, PAGEMAP_MAX_RUN * 4096);
	if (plan->no_data) {
		/* post-copy: the pages stay in the process; a stale file must go */
		if (unlinkat(dirfd, name, 0) && errno != ENOENT) {
			pr_perror("cannot remove the old %s", name);
			goto out;
		}
	} else if (pfd < 0) {
		pfd = pages_image_create(p->pid, p->dump_id, dirfd);
	}
	if ((pfd < 0 && !plan->no_data) || !buf)
		goto out;
	if (img_writer_open(dirfd, IMG_PAGEMAP, p->pid, p->dump_id, &pm))
		goto out;

	struct progress prog;
	progress_start(&prog, "dump", plan->total * 4096);
	uint64_t off = PAGES_DATA_OFFSET;
	struct plan_run batch[COPY_BATCH_RUNS];
	uint64_t parts[PAGEMAP_MAX_RUN / PAGEMAP_PART_PAGES + 1];
	for (size_t i = 0; i < plan->nr;) {
		/*
		 * A batch: up to 2 MiB of data runs, copied with one call and
		 * written with one; runs of parent pages between them take no
		 * room and only need their entries.
		 */
		size_t j = i, bytes = 0, n = 0;
		for (; j < plan->nr && n < COPY_BATCH_RUNS; j++) {
			const struct plan_run *r = &plan->v[j];
			if (r->in_parent)
				continue;
			if (bytes + r->nr_pages * 4096 > PAGEMAP_MAX_RUN * 4096)
				break;
			batch[n++] = *r;
			bytes += r->nr_pages * 4096;
		}
		/* post-copy: the memory is not read here (it is served, checksummed per reply) */
		if (!plan->no_data && copy_batch(p->pid, memfd, batch, n, bytes, buf,
						 h->tolerant || h->read_done, failed))
			goto out;
		if (h->read_done && h->read_done(h->arg, batch, failed, n, buf))
			goto out;
		for (size_t k = i, at = 0; k < j; k++) {
			PagemapEntry e = PAGEMAP_ENTRY__INIT;
			e.vaddr = plan->v[k].vaddr;
			e.nr_pages = plan->v[k].nr_pages;
			if (plan->v[k].in_parent) {
				e.has_flags = true;
				e.flags = PAGEMAP_FLAGS__PM_IN_PARENT;
			} else if (plan->no_data) {
				e.xxh3 = 0;	/* never at rest: no checksum */
			} else {
				e.xxh3 = XXH3_64bits(buf + at, e.nr_pages * 4096);
				e.n_part_xxh3 = pagemap_nr_parts(e.vaddr, e.nr_pages);
				if (e.n_part_xxh3 < 2)
					e.n_part_xxh3 = 0;
				e.part_xxh3 = parts;
				e.has_part_pages = e.n_part_xxh3 > 0;
				e.part_pages = PAGEMAP_PART_PAGES;
				/* parts cut at part boundaries of the address space */
				for (size_t k = 0, o = 0; k < e.n_part_xxh3; k++) {
					uint64_t n = pagemap_part_len(e.vaddr + o, e.nr_pages * 4096ULL - o);
					parts[k] = XXH3_64bits(buf + at + o, n);
					o += n;
				}
				at += e.nr_pages * 4096;
			}
			if (img_write(pm, &e.base))
				goto out;
		}
		if (pfd >= 0 && pwrite_all(pfd, buf, bytes, off)) {
			pr_perror("%s: write failed", name);
			goto out;
		}
		off += bytes;
		if (h->written)
			h->written(h->arg, batch, n);
		i = j;
		progress_update(&prog, off - PAGES_DATA_OFFSET);
	}
	progress_done(&prog);
	if (pfd < 0 || pfd == h->pfd) {
		pfd = -1;	/* none (post-copy), or the caller's */
	} else if (close(pfd)) {
		pfd = -1;
		pr_perror("%s: write failed", name);
		goto out;
	}
	pfd = -1;
	err = img_writer_close(pm);
	pm = NULL;
	st->pages = plan->total;
	st->bytes = plan->total * 4096;
	st->pages_ms = clock_now_ms() - t0;
	pr_info("pid %d: %zu runs, %lu pages in %.1f ms", p->pid, plan->nr,
		(unsigned long)plan->total, st->pages_ms);
out:
	free(buf);
	img_writer_abort(pm);
	if (pfd >= 0 && pfd != h->pfd)
		close(pfd);
	if (memfd >= 0)
		close(memfd);
	return err;
}
