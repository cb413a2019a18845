/*
 * page-write.c - the page writer: copies the runs of a page plan and writes
 * pagemap-PID.img and pages-PID.img.  A slice of up to 256 KiB of runs
 * (at most COPY_BATCH_RUNS of them, scattered or not; a long run is cut
 * into slices at part boundaries and hashed across them) is read with one
 * process_vm_readv into a buffer that stays in the L2 cache and hashed
 * there (parts and whole in one pass): 5-8% faster at 1 GiB than batches
 * of 4 MiB, which left the L2 cache between the read and the hash.  With
 * hooks (the live snapshot, which patches a batch before it is hashed)
 * batches of up to 4 MiB of whole runs, as before.  The data goes to the
 * sink (page-sink.c): from 8 batches of 4 MiB on, its thread pwrites a
 * batch while this one reads and hashes the next into the next of three
 * buffers (the process is frozen for a dump and criu would use one of the
 * CPUs: the page-cache write, the largest cost, runs beside the read);
 * fewer are written in line, each slice (or batch) as soon as it is
 * hashed.  Measured here, this beats process_vm_readv straight into a
 * shared mapping of the file, whose page faults cost more than the second
 * copy (Documentation/performance.md).  Frozen for a dump, running for a
 * pre-dump or a live snapshot (with hooks: read_done in this thread before
 * the batch is hashed, written once the sink has it in the file, each in
 * batch order).
 */
#define LOG_PREFIX "pages: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/progress.h"
#include "images/pages.h"
#include "criu/memscan/memscan.h"
#include "criu/memscan/page-sink.h"

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


#define COPY_BATCH_RUNS	IOV_MAX		/* remote iovecs per process_vm_readv: 1024 */
#define BATCH_BYTES	(PAGES_BATCH_PAGES * 4096ULL)	/* 4 MiB: 1024 scattered pages */
_Static_assert(COPY_BATCH_RUNS <= PAGES_BATCH_PAGES, "a batch's runs are its pages at most");
_Static_assert(PAGEMAP_MAX_RUN * 4096ULL <= BATCH_BYTES, "the longest run fits a batch (next_batch moves on)");

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

/* one writer's state */
struct pw {
	const struct page_plan *plan;
	struct img_writer *pm;
	uint64_t parts[PAGEMAP_MAX_RUN / PAGEMAP_PART_PAGES + 1];
	void *st;		/* XXH3 state of a run hashed across slices */
	double read_ms, hash_ms;
};

/*
 * The checksums of one run in buf: its parts (cut at part boundaries of
 * the address space) and the whole, fed part by part while the part is
 * still in the L1 cache: one pass over the data from memory, not two.
 */
static void hash_run(struct pw *w, PagemapEntry *e, const uint8_t *data)
{
	e->xxh3 = page_xxh3_entry(e->vaddr, data, e->nr_pages * 4096ULL, w->parts, &e->n_part_xxh3);
	if (!e->n_part_xxh3)
		return;
	e->part_xxh3 = w->parts;
	e->has_part_pages = true;
	e->part_pages = PAGEMAP_PART_PAGES;
}

/* the pagemap entry of plan run r; its checksums from data (NULL: none or set by the caller in e) */
static int run_entry(struct pw *w, const struct plan_run *r, PagemapEntry *e, const uint8_t *data)
{
	e->vaddr = r->vaddr;
	e->nr_pages = r->nr_pages;
	if (r->in_parent) {
		e->has_flags = true;
		e->flags = PAGEMAP_FLAGS__PM_IN_PARENT;
	} else if (w->plan->no_data) {
		e->xxh3 = 0;	/* never at rest: no checksum */
	} else if (data) {
		hash_run(w, e, data);
	}
	return img_write(w->pm, &e->base);
}

/* the pagemap entries of plan runs [i, j), whose data is in buf one after another */
static int batch_entries(struct pw *w, size_t i, size_t j, const uint8_t *buf)
{
	double t0 = clock_now_ms();

	for (size_t k = i, at = 0; k < j; k++) {
		const struct plan_run *r = &w->plan->v[k];
		PagemapEntry e = PAGEMAP_ENTRY__INIT;
		if (run_entry(w, r, &e, buf + at))
			return -1;
		if (!r->in_parent)
			at += r->nr_pages * 4096;
	}
	w->hash_ms += clock_now_ms() - t0;
	return 0;
}

/*
 * The next batch from plan run i: up to BATCH_BYTES of data runs (at most
 * COPY_BATCH_RUNS), copied with one call and written with one; runs of
 * parent pages between them take no room and only need their entries.
 * Returns the run after the batch.
 */
static size_t next_batch(const struct page_plan *plan, size_t i, struct plan_run *batch,
			 size_t *n, size_t *bytes)
{
	size_t j = i;

	*n = *bytes = 0;
	for (; j < plan->nr && *n < COPY_BATCH_RUNS; j++) {
		const struct plan_run *r = &plan->v[j];
		if (r->in_parent)
			continue;
		if (*bytes + r->nr_pages * 4096 > BATCH_BYTES)
			break;
		batch[(*n)++] = *r;
		*bytes += r->nr_pages * 4096;
	}
	return j;
}

/* a batch is in the file: the program may change its pages */
static void batch_written(void *arg, const struct sink_batch *b)
{
	const struct pages_hooks *h = arg;

	if (h->written)
		h->written(h->arg, b->runs, b->n);
}

/* every batch of the plan, through the hooks, into pm and the sink */
static int write_batches(struct pw *w, pid_t pid, int memfd, const struct pages_hooks *h,
			 struct page_sink *k)
{
	const struct page_plan *plan = w->plan;
	bool failed[COPY_BATCH_RUNS];
	uint64_t off = PAGES_DATA_OFFSET;
	struct progress prog;

	progress_start(&prog, "dump", plan->total * 4096);
	for (size_t i = 0; i < plan->nr;) {
		struct sink_batch *b = sink_next(k, batch_written, (void *)h);
		if (!b)
			return -1;
		size_t j = next_batch(plan, i, b->runs, &b->n, &b->bytes);
		double t0 = clock_now_ms();
		b->off = off;
		/* post-copy: the memory is not read here (it is served, checksummed per reply) */
		if (!plan->no_data && copy_batch(pid, memfd, b->runs, b->n, b->bytes, b->buf,
						 h->tolerant || h->read_done, failed))
			return -1;
		w->read_ms += clock_now_ms() - t0;
		if ((h->read_done && h->read_done(h->arg, b->runs, failed, b->n, b->buf)) ||
		    batch_entries(w, i, j, b->buf))
			return -1;
		sink_submit(k);
		off += b->bytes;
		i = j;
		progress_update(&prog, off - PAGES_DATA_OFFSET);
	}
	if (sink_finish(k, batch_written, (void *)h))
		return -1;
	progress_done(&prog);
	return 0;
}

#define SLICE_BYTES	(256 << 10)	/* read, hashed and written while in the L2 cache */

/* the plan walked a slice at a time: the pieces of runs in the slice */
struct slicer {
	size_t i;		/* the run to take from next, of which at bytes are taken */
	uint64_t at;
	size_t emitted;		/* the next run whose entry is to be written */
	size_t n, bytes;
	struct plan_run piece[COPY_BATCH_RUNS];
	size_t run_of[COPY_BATCH_RUNS];		/* the plan run of each piece */
	struct page_xxh3_stream hs;		/* of a run cut across slices */
};

/* the next slice: up to SLICE_BYTES of runs from (i, at) on, a run cut at a part boundary */
static void next_slice(const struct page_plan *plan, struct slicer *c)
{
	c->n = c->bytes = 0;
	while (c->i < plan->nr && c->n < COPY_BATCH_RUNS && c->bytes < SLICE_BYTES) {
		const struct plan_run *r = &plan->v[c->i];
		if (r->in_parent) {
			c->i++;
			continue;
		}
		uint64_t start = r->vaddr + c->at, end = r->vaddr + r->nr_pages * 4096;
		uint64_t cut = start + (SLICE_BYTES - c->bytes);
		if (cut >= end)
			cut = end;
		else
			cut -= cut % PAGEMAP_PART_BYTES;
		if (cut <= start)
			break;
		c->piece[c->n] = (struct plan_run){ .vaddr = start, .nr_pages = (cut - start) / 4096,
						    .readable = r->readable };
		c->run_of[c->n++] = c->i;
		c->bytes += cut - start;
		c->at = cut == end ? 0 : c->at + (cut - start);
		c->i += cut == end;
	}
}

/* the entry of run ri, after those of the runs of parent pages before it */
static int emit_run(struct pw *w, struct slicer *c, size_t ri, PagemapEntry *e, const uint8_t *data)
{
	for (; c->emitted < ri; c->emitted++) {
		PagemapEntry pe = PAGEMAP_ENTRY__INIT;
		if (run_entry(w, &w->plan->v[c->emitted], &pe, NULL))
			return -1;
	}
	if (ri == w->plan->nr)
		return 0;
	c->emitted++;
	return run_entry(w, &w->plan->v[ri], e, data);
}

/* hashes the slice in buf piece by piece and writes the entry of each run it ends */
static int slice_entries(struct pw *w, struct slicer *c, const uint8_t *buf)
{
	double t0 = clock_now_ms();

	for (size_t k = 0; k < c->n; k++) {
		const struct plan_run *p = &c->piece[k], *r = &w->plan->v[c->run_of[k]];
		uint64_t len = p->nr_pages * 4096;
		bool first = p->vaddr == r->vaddr, last = p->nr_pages + (p->vaddr - r->vaddr) / 4096 == r->nr_pages;
		PagemapEntry e = PAGEMAP_ENTRY__INIT;

		if (first && last) {
			if (emit_run(w, c, c->run_of[k], &e, buf))
				return -1;
		} else {
			if (first)
				page_xxh3_begin(&c->hs, w->st, r->vaddr, r->nr_pages * 4096, w->parts);
			page_xxh3_feed(&c->hs, buf, len);
			if (last) {
				e.xxh3 = page_xxh3_end(&c->hs, &e.n_part_xxh3);
				if (e.n_part_xxh3) {
					e.part_xxh3 = w->parts;
					e.has_part_pages = true;
					e.part_pages = PAGEMAP_PART_PAGES;
				}
				if (emit_run(w, c, c->run_of[k], &e, NULL))
					return -1;
			}
		}
		buf += len;
	}
	w->hash_ms += clock_now_ms() - t0;
	return 0;
}

/*
 * Every slice of the plan into pm and the sink (no hooks): slices are read
 * and hashed one after another into the sink's batch, handed over when
 * the next one might not fit (at once when the batch is one slice).
 */
static int write_slices(struct pw *w, pid_t pid, int memfd, bool tolerant, struct page_sink *k)
{
	struct slicer c = { 0 };
	uint64_t off = PAGES_DATA_OFFSET;
	struct sink_batch *b = NULL;
	struct progress prog;

	progress_start(&prog, "dump", w->plan->total * 4096);
	for (;;) {
		if (b && b->bytes + SLICE_BYTES > sink_buf_bytes(k)) {
			sink_submit(k);
			off += b->bytes;
			b = NULL;
			progress_update(&prog, off - PAGES_DATA_OFFSET);
		}
		next_slice(w->plan, &c);
		if (!c.n)
			break;
		if (!b) {
			if (!(b = sink_next(k, NULL, NULL)))
				return -1;
			*b = (struct sink_batch){ .buf = b->buf, .runs = b->runs, .off = off };
		}
		double t0 = clock_now_ms();
		if (copy_batch(pid, memfd, c.piece, c.n, c.bytes, b->buf + b->bytes, tolerant, NULL))
			return -1;
		w->read_ms += clock_now_ms() - t0;
		if (slice_entries(w, &c, b->buf + b->bytes))
			return -1;
		b->bytes += c.bytes;
	}
	if (b) {
		sink_submit(k);
		off += b->bytes;
	}
	if (sink_finish(k, NULL, NULL))
		return -1;
	progress_done(&prog);
	/* runs of parent pages at the end */
	return emit_run(w, &c, w->plan->nr, NULL, NULL);
}

/*
 * The sink for plan: a thread of its own and SINK_BUFFERS batches of 4 MiB
 * from SINK_THREAD_BATCHES batches on; else one buffer of a batch (sliced:
 * of a slice), or of the data if less, written in line.  A few batches
 * gain little from the thread (the final dump of a migration: 2-4k pages)
 * and, with the other CPU busy, lose when the thread waits for it
 * (measured: 3.6-12 us a page threaded against 3.9-7.6 in line,
 * bench/scatter.sh at load 2).
 */
#define SINK_BUFFERS		3
#define SINK_THREAD_BATCHES	8	/* 32 MiB, or 8k scattered pages */
static struct page_sink *plan_sink(const struct page_plan *plan, int pfd, const char *name,
				   bool sliced)
{
	uint64_t bytes = plan->no_data ? 0 : plan->total * 4096, one = sliced ? SLICE_BYTES : BATCH_BYTES;
	size_t data_runs = 0;

	for (size_t i = 0; i < plan->nr && !plan->no_data; i++)
		data_runs += !plan->v[i].in_parent;
	/* at least this many batches: a batch is BATCH_BYTES or COPY_BATCH_RUNS at most */
	size_t by_bytes = (bytes + BATCH_BYTES - 1) / BATCH_BYTES;
	size_t by_runs = (data_runs + COPY_BATCH_RUNS - 1) / COPY_BATCH_RUNS;
	bool threaded = pfd >= 0 && (by_bytes > by_runs ? by_bytes : by_runs) >= SINK_THREAD_BATCHES;

	if (threaded)
		return sink_start(pfd, name, SINK_BUFFERS, BATCH_BYTES, true);
	return sink_start(pfd, name, 1, bytes < one ? bytes : one, false);
}

int pages_write(const struct mem_proc *p, const struct page_plan *plan, int dirfd, bool tolerant,
		struct pages_stats *st)
{
	struct pages_hooks h = { .pfd = -1, .tolerant = tolerant };
	return pages_write_hooked(p, plan, dirfd, &h, st);
}

/* pages-PID.img: the caller's, a new one, or none (post-copy: a stale one goes) */
static int open_pages(const struct mem_proc *p, const struct page_plan *plan, int dirfd,
		      const struct pages_hooks *h, const char *name)
{
	if (h->pfd >= 0)
		return h->pfd;
	if (!plan->no_data)
		return pages_image_create(p->pid, p->dump_id, dirfd);
	if (unlinkat(dirfd, name, 0) && errno != ENOENT) {
		pr_perror("cannot remove the old %s", name);
		return -2;
	}
	return -1;
}

int pages_write_hooked(const struct mem_proc *p, const struct page_plan *plan, int dirfd,
		       const struct pages_hooks *h, struct pages_stats *st)
{
	struct pw w = { .plan = plan };
	char path[64], name[64];
	double t0 = clock_now_ms(), write_ms = 0;
	int err = -1, pfd = -1;
	struct page_sink *k = NULL;
	bool sliced = !h->read_done && !h->written && !plan->no_data;

	snprintf(path, sizeof(path), "/proc/%d/mem", p->pid);
	img_name(IMG_PAGES, p->pid, name, sizeof(name));
	int memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (memfd < 0)
		pr_perror("pid %d: cannot open its memory", p->pid);
	if (memfd < 0)
		goto out;
	pfd = open_pages(p, plan, dirfd, h, name);
	if (pfd == -2 || (pfd < 0 && !plan->no_data) ||
	    img_writer_open(dirfd, IMG_PAGEMAP, p->pid, p->dump_id, &w.pm))
		goto out;
	if (!(k = plan_sink(plan, pfd, name, sliced)))
		goto out;
	if (!sliced)
		err = write_batches(&w, p->pid, memfd, h, k);
	else if (!(w.st = page_xxh3_state_new()))
		err = -1;
	else
		err = write_slices(&w, p->pid, memfd, h->tolerant, k);
	write_ms = sink_ms(k);
	sink_free(k);	/* no thread left, whatever happened */
	k = NULL;
	if (pfd >= 0 && pfd != h->pfd && close(pfd) && !err) {
		pr_perror("%s: write failed", name);
		err = -1;
	}
	pfd = -1;
	if (!err) {
		err = img_writer_close(w.pm);
		w.pm = NULL;
	}
	if (err)
		goto out;
	*st = (struct pages_stats){ plan->total, plan->total * 4096, clock_now_ms() - t0 };
	pr_info("pid %d: %zu runs, %lu pages in %.1f ms (reading %.1f, hashing %.1f, writing %.1f ms)",
		p->pid, plan->nr, (unsigned long)plan->total, st->ms, w.read_ms, w.hash_ms, write_ms);
out:
	sink_free(k);
	if (w.st)
		page_xxh3_state_free(w.st);
	img_writer_abort(w.pm);
	if (pfd >= 0 && pfd != h->pfd)
		close(pfd);
	if (memfd >= 0)
		close(memfd);
	return err;
}
