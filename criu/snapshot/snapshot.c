/* snapshot.c - the live snapshot (see snapshot.h): the saved-page bitmap,
 * saving pages, the copy while the process runs, the end. */
#define LOG_PREFIX "snapshot: "
#include <sys/resource.h>
#include <sys/syscall.h>

#include "common/clock.h"
#include "images/pages.h"
#include "common/fdio.h"
#include "common/log.h"
#include "criu/snapshot/snapshot-int.h"

/* the first failure wins; printed by whoever ends the snapshot */
void snap_fail(struct snapshot *s, const char *fmt, ...)
{
	va_list ap;

	if (s->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	s->failed = true;
}

/* index of the first run that ends after addr (plan runs are sorted) */
size_t run_at(const struct snapshot *s, uint64_t addr)
{
	size_t lo = 0, hi = s->plan->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct plan_run *r = &s->plan->v[mid];
		if (r->vaddr + r->nr_pages * PS <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}


/* the part [*a, *b) of plan run i in [start, end), if it has data */
bool run_part(const struct snapshot *s, size_t i, uint64_t start, uint64_t end,
		     uint64_t *a, uint64_t *b)
{
	const struct plan_run *r = &s->plan->v[i];
	uint64_t rend = r->vaddr + r->nr_pages * PS;

	if (r->in_parent)
		return false;
	*a = r->vaddr > start ? r->vaddr : start;
	*b = rend < end ? rend : end;
	return *a < *b;
}

/*
 * Saves the planned pages of [start, end) not saved yet: read (they are
 * still protected, so unchanged since the freeze), written to the side file
 * (the copier's large writes to the pages image hold its inode lock; a
 * fault must not wait for them), marked.  Lock held.  Returns pages saved,
 * <0 on error.
 */
long save_range(struct snapshot *s, uint64_t start, uint64_t end, uint8_t *buf,
		       size_t buflen)
{
	long saved = 0;

	for (size_t i = run_at(s, start); i < s->plan->nr && s->plan->v[i].vaddr < end; i++) {
		const struct plan_run *r = &s->plan->v[i];
		uint64_t a, b;
		if (!run_part(s, i, start, end, &a, &b))
			continue;
		while (a < b) {
			uint64_t idx = s->first[i] + (a - r->vaddr) / PS;
			if (test_bit(s->saved, idx)) {
				a += PS;
				continue;
			}
			/* a segment of unsaved pages, at most buflen */
			uint64_t n = 1;
			while (a + n * PS < b && n * PS < buflen && !test_bit(s->saved, idx + n))
				n++;
			struct plan_run seg = { .vaddr = a, .nr_pages = n, .readable = true };
			if (pages_copy_run(s->pid, s->memfd, &seg, buf)) {
				snap_fail(s, "pid %d: cannot read memory at %lx-%lx: %s", s->pid,
					  (unsigned long)a, (unsigned long)(a + n * PS), strerror(errno));
				return -1;
			}
			if (pwrite_all(s->sfd, buf, n * PS, (uint64_t)s->side_next * PS)) {
				snap_fail(s, "pid %d: cannot write saved pages: %s", s->pid,
					  strerror(errno));
				return -1;
			}
			for (uint64_t k = 0; k < n; k++) {
				set_bit(s->saved, idx + k);
				s->side[idx + k] = s->side_next++;
			}
			saved += n;
			a += n * PS;
		}
	}
	return saved;
}

/* are planned pages of [start, end) not saved yet?  Lock held. */
bool unsaved_in(struct snapshot *s, uint64_t start, uint64_t end)
{
	for (size_t i = run_at(s, start); i < s->plan->nr && s->plan->v[i].vaddr < end; i++) {
		const struct plan_run *r = &s->plan->v[i];
		uint64_t a, b;
		if (!run_part(s, i, start, end, &a, &b))
			continue;
		for (; a < b; a += PS)
			if (!test_bit(s->saved, s->first[i] + (a - r->vaddr) / PS))
				return true;
	}
	return false;
}

/* removes the protection of [start, end) and wakes its waiters; -errno */
int unprotect(struct snapshot *s, uint64_t start, uint64_t end)
{
	struct uffdio_writeprotect wp = { .range = { start, end - start }, .mode = 0 };
	return ioctl(s->uf.uffd, UFFDIO_WRITEPROTECT, &wp) ? -errno : 0;
}

const struct range *reg_of(const struct snapshot *s, uint64_t addr)
{
	for (size_t i = 0; i < s->nr_regs; i++)
		if (s->regs[i].start <= addr && addr < s->regs[i].end)
			return &s->regs[i];
	return NULL;
}

int add_range(struct range **v, size_t *nr, size_t *cap, uint64_t a, uint64_t b)
{
	if (*nr == *cap) {
		size_t c = *cap ? *cap * 2 : 1024;
		struct range *n = realloc(*v, c * sizeof(*n));
		if (!n)
			return -1;
		*v = n;
		*cap = c;
	}
	(*v)[(*nr)++] = (struct range){ a, b };
	return 0;
}


/* ------------------------------------------------------ the copy (running) */

/* a batch was read while protected: take the pages saved meanwhile from the image */
static int batch_read(void *arg, const struct plan_run *runs, const bool *failed, size_t n,
		      uint8_t *buf)
{
	struct snapshot *s = arg;
	struct patch {
		uint64_t at, slot, pages;	/* buf offset, side file slot */
	} *patch = s->patch;
	size_t np = 0, at = 0;
	int err = 0;

	/* the lock only for the bits: the handler waits for it */
	pthread_mutex_lock(&s->lock);
	for (size_t k = 0; k < n && !s->failed; k++) {
		const struct plan_run *r = &runs[k];
		uint64_t first = s->first[run_at(s, r->vaddr)];
		for (uint64_t i = 0; i < r->nr_pages;) {
			if (!test_bit(s->saved, first + i)) {
				if (failed[k]) {
					snap_fail(s, "pid %d: memory at %lx vanished (unmapped or moved) during the live snapshot, before it was copied: try again",
						  s->pid, (unsigned long)(r->vaddr + i * PS));
					break;
				}
				set_bit(s->saved, first + i);
				i++;
				continue;
			}
			/* saved by the handler (or while frozen): consecutive slots at once */
			uint64_t m = 1, slot = s->side[first + i];
			while (i + m < r->nr_pages && test_bit(s->saved, first + i + m) &&
			       s->side[first + i + m] == slot + m)
				m++;
			patch[np++] = (struct patch){ at + i * PS, slot, m };
			i += m;
		}
		at += r->nr_pages * PS;
	}
	if (s->failed)
		err = -1;
	pthread_mutex_unlock(&s->lock);
	/* a saved page's slot never changes: read it back without the lock */
	for (size_t i = 0; i < np && !err; i++) {
		size_t len = patch[i].pages * PS;
		if (pread(s->sfd, buf + patch[i].at, len, patch[i].slot * PS) != (ssize_t)len) {
			snap_fail(s, "pid %d: cannot read back saved pages: %s", s->pid,
				  strerror(errno));
			err = -1;
		}
	}
	if (err)
		pr_err("%s", s->why);
	return err;
}

/* written: the program may change these pages now */
static void batch_written(void *arg, const struct plan_run *runs, size_t n)
{
	struct snapshot *s = arg;

	for (size_t k = 0; k < n && !s->keep; k++) {
		if (!reg_of(s, runs[k].vaddr))
			continue;
		for (int tries = 0; tries < 10000; tries++) {
			int e = unprotect(s, runs[k].vaddr, runs[k].vaddr + runs[k].nr_pages * PS);
			if (!e)
				s->probe = runs[k].vaddr;
			/* draining: a later write faults, and finds the page saved */
			if (e != -EAGAIN || s->draining)
				break;
			usleep(20);	/* an event waits for the handler */
		}
	}
}

static double hist_pct(const struct snapshot *s, double pct)
{
	uint64_t want = (uint64_t)(s->faults * pct / 100.0 + 0.999999), seen = 0;

	for (int i = 0; i <= HIST_US; i++) {
		seen += s->hist[i];
		if (seen >= want && want)
			return i + 1;
	}
	return 0;
}

int snapshot_copy(struct snapshot *s, const struct mem_proc *p, const struct proc_maps *frozen,
		  const struct page_plan *plan, int dirfd, struct pages_stats *st)
{
	struct pages_hooks h = {
		.arg = s,
		.pfd = s->pfd,
		.read_done = batch_read,
		.written = batch_written,
	};
	double t0 = clock_now_ms();

	int err = pages_write_hooked(p, plan, dirfd, &h, st);
	s->copy_done = true;
	if (err)
		return -1;
	/* the handler may have failed after the last batch (a late unmap is harmless) */
	if (s->failed) {
		pr_err("%s", s->why);
		return -1;
	}
	if (check_flags(s, frozen))
		return -1;
	s->copied = true;
	pthread_mutex_lock(&s->lock);
	pr_info("pid %d: live snapshot copied in %.1f ms: faults=%lu fault_pages=%lu frozen_pages=%lu events=%lu fault_p50_us=%.0f fault_p99_us=%.0f fault_max_us=%.1f",
		p->pid, clock_now_ms() - t0, (unsigned long)s->faults, (unsigned long)s->fault_pages,
		(unsigned long)s->frozen_pages, (unsigned long)s->events, hist_pct(s, 50),
		hist_pct(s, 99), s->max_us);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

bool snapshot_protected(const struct snapshot *s, uint64_t start, uint64_t end)
{
	const struct range *r = reg_of(s, start);
	return r && r->end >= end;
}

void stop_handler(struct snapshot *s)
{
	uint64_t one = 1;

	if (!s->running)
		return;
	if (write(s->stopfd, &one, sizeof(one)) != sizeof(one)) {
	}
	pthread_join(s->thread, NULL);
	s->running = false;
}

int snapshot_handover(struct snapshot *s, int track_uffd, void (*arm)(void *arg), void *arg)
{
	stop_handler(s);
	if (s->failed) {
		pr_err("%s", s->why);
		return -1;
	}
	track_release(&s->uf);	/* the last reference: every registration goes */
	arm(arg);
	for (size_t i = 0; i < s->nr_dirty; i++) {
		/* unprotected in the tracker: reported as written next round */
		struct uffdio_writeprotect wp = {
			.range = { s->dirty[i].start, s->dirty[i].end - s->dirty[i].start },
			.mode = 0,
		};
		if (ioctl(track_uffd, UFFDIO_WRITEPROTECT, &wp) && errno != ENOENT) {
			pr_perror("pid %d: cannot mark %lx-%lx as written for the tracker", s->pid,
				  (unsigned long)s->dirty[i].start, (unsigned long)s->dirty[i].end);
			return -1;
		}
	}
	pr_info("pid %d: tracking took over, %zu windows written during the copy", s->pid,
		s->nr_dirty);
	return 0;
}

/*
 * After a complete copy: the protection goes a piece at a time, each call
 * holding the mmap lock for reading only or briefly.  Closing the uffd
 * alone would clear it all under the mmap lock held for writing, and
 * stall every fault of the program meanwhile (~20 ms a GiB here).
 */
static void unprotect_gently(struct snapshot *s)
{
	const uint64_t chunk = 64ULL << 20;

	for (size_t i = 0; i < s->nr_regs; i++)
		for (uint64_t a = s->regs[i].start; a < s->regs[i].end; a += BLOCK) {
			uint64_t b = a + BLOCK < s->regs[i].end ? a + BLOCK : s->regs[i].end;
			for (int tries = 0; unprotect(s, a, b) == -EAGAIN && tries < 1000; tries++)
				usleep(20);
		}
	for (size_t i = 0; i < s->nr_regs; i++)
		for (uint64_t a = s->regs[i].start; a < s->regs[i].end; a += chunk) {
			uint64_t b = a + chunk < s->regs[i].end ? a + chunk : s->regs[i].end;
			struct uffdio_range r = { a, b - a };
			ioctl(s->uf.uffd, UFFDIO_UNREGISTER, &r);
		}
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	if (s->copied && !s->keep && s->uf.uffd >= 0)
		unprotect_gently(s);
	stop_handler(s);
	/* the last reference: the kernel unregisters everything and wakes waiters */
	track_release(&s->uf);
	if (s->pfd >= 0)
		close(s->pfd);
	if (s->sfd >= 0)
		close(s->sfd);
	if (s->memfd >= 0)
		close(s->memfd);
	if (s->stopfd >= 0)
		close(s->stopfd);
	if (s->kickfd >= 0)
		close(s->kickfd);
	pthread_cond_destroy(&s->synced);
	pthread_mutex_destroy(&s->lock);
	free(s->first);
	free(s->saved);
	free(s->side);
	free(s->dirty);
	free(s->pd);
	for (size_t i = 0; i < s->nr_pre; i++)
		free(s->pre[i].present);
	free(s->pre);
	proc_maps_free(&s->pre_maps);
	free(s->regs);
	free(s->fbuf);
	free(s->patch);
	free(s);
}
