/*
 * page-write.c - the page writer: copies the runs of a page plan and writes
 * pagemap-PID.img and pages-PID.img.  A batch of up to 2 MiB of runs
 * (at most COPY_BATCH_RUNS of them, scattered or not) is read with one
 * process_vm_readv into a buffer that stays in the CPU cache, hashed there
 * and written with one pwrite.  Measured here, this beats process_vm_readv
 * straight into a shared mapping of the file, whose page faults cost more
 * than the second copy (Documentation/performance.md).  Frozen for a dump,
 * running for a pre-dump or a live snapshot (with hooks).
 */
#define LOG_PREFIX "pages: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/clock.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/progress.h"
#include "images/pages.h"
#include "criu/memscan/memscan.h"

/* copies one run; quiet: the caller says what failing means */
int pages_copy_run(pid_t pid, int memfd, const struct plan_run *run, uint8_t *dst)
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
		if (pages_copy_run(pid, memfd, &runs[k], buf)) {
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

int pages_write(const struct mem_proc *p, const struct page_plan *plan, int dirfd, bool tolerant,
		struct pages_stats *st)
{
	struct pages_hooks h = { .pfd = -1, .tolerant = tolerant };
	return pages_write_hooked(p, plan, dirfd, &h, st);
}

int pages_write_hooked(const struct mem_proc *p, const struct page_plan *plan, int dirfd,
		       const struct pages_hooks *h, struct pages_stats *st)
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
	st->ms = clock_now_ms() - t0;
	pr_info("pid %d: %zu runs, %lu pages in %.1f ms", p->pid, plan->nr,
		(unsigned long)plan->total, st->ms);
out:
	free(buf);
	img_writer_abort(pm);
	if (pfd >= 0 && pfd != h->pfd)
		close(pfd);
	if (memfd >= 0)
		close(memfd);
	return err;
}
