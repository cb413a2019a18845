/* snapshot.c - the live snapshot (see snapshot.h). */
#define LOG_PREFIX "snapshot: "
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"
#include "compat.h"
#include "infect.h"
#include "log.h"
#include "pages.h"
#include "snapshot.h"
#include "track.h"

#define PS		4096ULL
#define GRANULE		(64 * PS)	/* the most saved and unprotected per write fault */
#define COPY_BUF	(2ULL << 20)	/* for copies made while frozen */
#define HIST_US		10000		/* fault service histogram: 1 us buckets */

#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM	(1 << 12)
#endif

#define SNAP_FEATURES	(UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_WP_HUGETLBFS_SHMEM | \
			 UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | \
			 UFFD_FEATURE_EVENT_UNMAP)

struct range {
	uint64_t start, end;
};

struct snapshot {
	pid_t pid;
	struct track uf;		/* the uffd (criu's is the only reference) */
	int pfd;			/* pages-PID.img: written by the copier only */
	int sfd;			/* pages saved out of order: an unlinked side file */
	uint32_t *side;			/* per image page: its slot in the side file, 0 if none */
	uint32_t side_next;
	int memfd;			/* /proc/PID/mem: unreadable mappings */
	int stopfd;			/* eventfd: the handler stops */
	const struct page_plan *plan;
	uint64_t *first;		/* per run: its first page's index in the image */
	uint64_t *saved;		/* bitmap over the image's pages */
	struct range *regs;		/* registered (protected) mappings */
	size_t nr_regs;
	pthread_mutex_t lock;
	pthread_t thread;
	bool running;
	volatile bool failed;
	char why[256];
	uint8_t *fbuf;			/* the handler's buffer (GRANULE) */
	bool keep;			/* tracking takes over: the copier leaves protection on */
	struct range *dirty;		/* keep: windows unprotected by the handler */
	size_t nr_dirty, cap_dirty;
	/* statistics */
	uint64_t faults, fault_pages, events, frozen_pages;
	uint32_t hist[HIST_US + 1];
	double max_us;
};

static bool test_bit(const uint64_t *b, uint64_t i)
{
	return b[i / 64] & (1ULL << (i % 64));
}

static void set_bit(uint64_t *b, uint64_t i)
{
	b[i / 64] |= 1ULL << (i % 64);
}

/* the first failure wins; printed by whoever ends the snapshot */
static void snap_fail(struct snapshot *s, const char *fmt, ...)
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
static size_t run_at(const struct snapshot *s, uint64_t addr)
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


static int read_mem(struct snapshot *s, uint64_t addr, uint8_t *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };

	if (process_vm_readv(s->pid, &local, 1, &remote, 1, 0) == (ssize_t)len)
		return 0;
	/* PROT_NONE and the like: /proc/PID/mem reads them */
	for (size_t got = 0; got < len;) {
		ssize_t n = pread(s->memfd, buf + got, len - got, addr + got);
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *b, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, b, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Saves the planned pages of [start, end) not saved yet: read (they are
 * still protected, so unchanged since the freeze), written to the side file
 * (the copier's large writes to the pages image hold its inode lock; a
 * fault must not wait for them), marked.  Lock held.  Returns pages saved,
 * <0 on error.
 */
static long save_range(struct snapshot *s, uint64_t start, uint64_t end, uint8_t *buf,
		       size_t buflen)
{
	long saved = 0;

	for (size_t i = run_at(s, start); i < s->plan->nr; i++) {
		const struct plan_run *r = &s->plan->v[i];
		if (r->vaddr >= end)
			break;
		if (r->in_parent)
			continue;
		uint64_t a = r->vaddr > start ? r->vaddr : start;
		uint64_t rend = r->vaddr + r->nr_pages * PS;
		uint64_t b = rend < end ? rend : end;
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
			if (read_mem(s, a, buf, n * PS)) {
				snap_fail(s, "pid %d: cannot read memory at %lx-%lx: %s", s->pid,
					  (unsigned long)a, (unsigned long)(a + n * PS), strerror(errno));
				return -1;
			}
			if (write_all(s->sfd, buf, n * PS, (uint64_t)s->side_next * PS)) {
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
static bool unsaved_in(struct snapshot *s, uint64_t start, uint64_t end)
{
	for (size_t i = run_at(s, start); i < s->plan->nr; i++) {
		const struct plan_run *r = &s->plan->v[i];
		if (r->vaddr >= end)
			break;
		if (r->in_parent)
			continue;
		uint64_t a = r->vaddr > start ? r->vaddr : start;
		uint64_t rend = r->vaddr + r->nr_pages * PS;
		uint64_t b = rend < end ? rend : end;
		for (; a < b; a += PS)
			if (!test_bit(s->saved, s->first[i] + (a - r->vaddr) / PS))
				return true;
	}
	return false;
}

/* removes the protection of [start, end) and wakes its waiters; -errno */
static int unprotect(struct snapshot *s, uint64_t start, uint64_t end)
{
	struct uffdio_writeprotect wp = { .range = { start, end - start }, .mode = 0 };
	return ioctl(s->uf.uffd, UFFDIO_WRITEPROTECT, &wp) ? -errno : 0;
}

static const struct range *reg_of(const struct snapshot *s, uint64_t addr)
{
	for (size_t i = 0; i < s->nr_regs; i++)
		if (s->regs[i].start <= addr && addr < s->regs[i].end)
			return &s->regs[i];
	return NULL;
}

/* ------------------------------------------------------ the handler */

#define MAX_PENDING	256

struct handler {
	struct range pending[MAX_PENDING];	/* to unprotect (EAGAIN: an event was queued) */
	size_t nr_pending;
	uint64_t last_end, last_len;		/* the previous fault's window */
};

static void on_fault(struct snapshot *s, struct handler *h, uint64_t addr, double t0)
{
	uint64_t page = addr & ~(PS - 1);
	uint64_t a = page, b = page + PS;
	const struct range *reg = reg_of(s, page);

	/*
	 * A fault costs the writer the copy of what is saved: one page
	 * for scattered writes; a writer going forward gets windows that
	 * double up to GRANULE, so that it faults less often.
	 */
	if (page >= h->last_end && page < h->last_end + 2 * h->last_len) {
		uint64_t len = h->last_len * 2 > GRANULE ? GRANULE : h->last_len * 2;
		b = page + len;
	}
	h->last_end = b;
	h->last_len = b - a;
	if (reg) {
		if (a < reg->start)
			a = reg->start;
		if (b > reg->end)
			b = reg->end;
	} else {
		a = page;
		b = page + PS;
	}
	pthread_mutex_lock(&s->lock);
	if (!s->failed) {
		long n = save_range(s, a, b, s->fbuf, GRANULE);
		if (n > 0)
			s->fault_pages += n;
	}
	if (s->keep && !s->failed) {
		/* written from now on: the tracker must report it next round */
		if (s->nr_dirty == s->cap_dirty) {
			size_t cap = s->cap_dirty ? s->cap_dirty * 2 : 1024;
			struct range *d = realloc(s->dirty, cap * sizeof(*d));
			if (!d)
				snap_fail(s, "pid %d: out of memory", s->pid);
			else
				s->dirty = d, s->cap_dirty = cap;
		}
		if (s->nr_dirty < s->cap_dirty)
			s->dirty[s->nr_dirty++] = (struct range){ a, b };
	}
	pthread_mutex_unlock(&s->lock);
	/* saved (or nothing to save): the writer may go on */
	int r = unprotect(s, a, b);
	if (r == -EAGAIN && h->nr_pending < MAX_PENDING)
		h->pending[h->nr_pending++] = (struct range){ a, b };
	else if (r && r != -EAGAIN)
		unprotect(s, page, page + PS);
	s->faults++;
	double us = (clock_now_ms() - t0) * 1000;
	s->hist[us < HIST_US ? (int)us : HIST_US]++;
	if (us > s->max_us)
		s->max_us = us;
}

static void on_change(struct snapshot *s, const char *what, uint64_t start, uint64_t end)
{
	s->events++;
	pthread_mutex_lock(&s->lock);
	/* keep: the tracker cannot tell what such a change did to the pages */
	if (s->keep && reg_of(s, start))
		snap_fail(s, "pid %d %s %lx-%lx during the first tracked round: try again", s->pid,
			  what, (unsigned long)start, (unsigned long)end);
	else if (unsaved_in(s, start, end))
		snap_fail(s, "pid %d %s %lx-%lx during the live snapshot, before it was copied: try again",
			  s->pid, what, (unsigned long)start, (unsigned long)end);
	pthread_mutex_unlock(&s->lock);
}

static void *handler_main(void *arg)
{
	struct snapshot *s = arg;
	struct handler h = { .nr_pending = 0 };
	struct uffd_msg msgs[64];

	for (;;) {
		struct pollfd pf[2] = { { s->uf.uffd, POLLIN, 0 }, { s->stopfd, POLLIN, 0 } };
		int r = poll(pf, 2, h.nr_pending ? 0 : -1);
		if (r < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		ssize_t n = read(s->uf.uffd, msgs, sizeof(msgs));
		double t0 = clock_now_ms();
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			snap_fail(s, "pid %d: reading its userfaultfd failed: %s", s->pid, strerror(errno));
			break;
		}
		for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof(msgs[0]); i++) {
			const struct uffd_msg *m = &msgs[i];
			switch (m->event) {
			case UFFD_EVENT_PAGEFAULT:
				on_fault(s, &h, m->arg.pagefault.address, t0);
				break;
			case UFFD_EVENT_REMOVE:
				on_change(s, "discarded", m->arg.remove.start, m->arg.remove.end);
				break;
			case UFFD_EVENT_UNMAP:
				on_change(s, "unmapped", m->arg.remove.start, m->arg.remove.end);
				break;
			case UFFD_EVENT_REMAP:
				on_change(s, "moved", m->arg.remap.from, m->arg.remap.from + m->arg.remap.len);
				break;
			}
		}
		/* events were read meanwhile: the kernel takes unprotects again */
		for (size_t i = 0; i < h.nr_pending;) {
			int e = unprotect(s, h.pending[i].start, h.pending[i].end);
			if (e == -EAGAIN) {
				i++;
				continue;
			}
			h.pending[i] = h.pending[--h.nr_pending];
		}
	}
	return NULL;
}

/* ------------------------------------------------------ arming (frozen) */

static bool protectable(const Vma *v)
{
	return v->kind == VMA_KIND__VMA_ANON_PRIVATE || v->kind == VMA_KIND__VMA_ANON_SHARED;
}

static int protect(struct snapshot *s, const Vma *v)
{
	struct uffdio_register reg = {
		.range = { v->start, v->end - v->start },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = { v->start, v->end - v->start },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	if (ioctl(s->uf.uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	if (ioctl(s->uf.uffd, UFFDIO_WRITEPROTECT, &wp)) {
		int err = -errno;
		struct uffdio_range r = { v->start, v->end - v->start };
		ioctl(s->uf.uffd, UFFDIO_UNREGISTER, &r);
		return err;
	}
	s->regs[s->nr_regs++] = (struct range){ v->start, v->end };
	return 0;
}

int snapshot_arm(struct dump_proc *p, const struct page_plan *plan, int dirfd, bool keep,
		 struct snapshot **out)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	uint8_t *buf = NULL;
	struct infect c;
	double t0 = clock_now_ms();
	char path[64];

	*out = NULL;
	if (!s)
		return -1;
	s->pid = p->pid;
	s->plan = plan;
	s->keep = keep;
	s->pfd = s->sfd = s->memfd = s->stopfd = -1;
	s->side_next = 1;
	s->uf.uffd = s->uf.pmfd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->first = calloc(plan->nr + 1, sizeof(uint64_t));
	s->saved = calloc(plan->total / 64 + 1, sizeof(uint64_t));
	s->side = calloc(plan->total + 1, sizeof(uint32_t));
	s->regs = calloc(p->mm->n_vmas + 1, sizeof(*s->regs));
	s->fbuf = aligned_alloc(PS, GRANULE);
	buf = aligned_alloc(PS, COPY_BUF);
	if (!s->first || !s->saved || !s->side || !s->regs || !s->fbuf || !buf)
		goto fail;
	for (size_t i = 0, idx = 0; i < plan->nr; i++) {
		s->first[i] = idx;
		if (!plan->v[i].in_parent)
			idx += plan->v[i].nr_pages;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", p->pid);
	s->memfd = open(path, O_RDONLY | O_CLOEXEC);
	s->stopfd = eventfd(0, EFD_CLOEXEC);
	if (s->memfd < 0 || s->stopfd < 0) {
		pr_perror("pid %d: cannot open its memory", p->pid);
		goto fail;
	}
	s->pfd = pages_image_create(p->pid, dirfd);
	if (s->pfd < 0)
		goto fail;
	s->sfd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->sfd < 0) {
		pr_perror("pid %d: cannot create a temporary file in the images directory", p->pid);
		goto fail;
	}

	if (infect_begin(&c, p->pid))
		goto fail;
	int r = track_uffd_create(&c, p->pid, SNAP_FEATURES, false, &s->uf);
	if (infect_end(&c) || r) {
		pr_err("pid %d: no userfaultfd for the live snapshot", p->pid);
		goto fail;
	}
	for (size_t i = 0; i < p->mm->n_vmas; i++) {
		const Vma *v = p->mm->vmas[i];
		int e = protectable(v) ? protect(s, v) : -EINVAL;
		if (!e)
			continue;
		if (e == -EBUSY)
			pr_info("pid %d: %lx-%lx is registered with another userfaultfd (tracking?): copied while frozen",
				p->pid, (unsigned long)v->start, (unsigned long)v->end);
		else if (protectable(v))
			pr_warn("pid %d: %lx-%lx cannot be write-protected (%s): copied while frozen",
				p->pid, (unsigned long)v->start, (unsigned long)v->end, strerror(-e));
		/* private file mappings (their modified pages) and the like: now */
		long n = save_range(s, v->start, v->end, buf, COPY_BUF);
		if (n < 0) {
			pr_err("%s", s->why);
			goto fail;
		}
		s->frozen_pages += n;
	}
	if (pthread_create(&s->thread, NULL, handler_main, s)) {
		pr_err("pid %d: cannot start the fault handler thread", p->pid);
		goto fail;
	}
	s->running = true;
	free(buf);
	pr_info("pid %d: %zu mappings write-protected, %lu pages copied while frozen, in %.2f ms",
		p->pid, s->nr_regs, (unsigned long)s->frozen_pages, clock_now_ms() - t0);
	*out = s;
	return 0;
fail:
	free(buf);
	snapshot_free(s);
	return -1;
}

/* ------------------------------------------------------ the copy (running) */

/* a batch was read while protected: take the pages saved meanwhile from the image */
static int batch_read(void *arg, const struct plan_run *runs, const bool *failed, size_t n,
		      uint8_t *buf)
{
	struct snapshot *s = arg;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t k = 0; k < n && !s->failed; k++) {
		const struct plan_run *r = &runs[k];
		uint64_t first = s->first[run_at(s, r->vaddr)];
		for (uint64_t i = 0; i < r->nr_pages;) {
			if (!test_bit(s->saved, first + i)) {
				if (failed[k]) {
					snap_fail(s, "pid %d: memory at %lx vanished during the live snapshot",
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
			if (pread(s->sfd, buf + i * PS, m * PS, slot * PS) != (ssize_t)(m * PS)) {
				snap_fail(s, "pid %d: cannot read back the pages image: %s", s->pid,
					  strerror(errno));
				break;
			}
			i += m;
		}
		buf += r->nr_pages * PS;
	}
	if (s->failed)
		err = -1;
	pthread_mutex_unlock(&s->lock);
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
			if (e != -EAGAIN)
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

int snapshot_copy(struct snapshot *s, struct dump_proc *p, const struct page_plan *plan, int dirfd,
		  struct dump_stats *st)
{
	struct pages_hooks h = {
		.arg = s,
		.pfd = s->pfd,
		.read_done = batch_read,
		.written = batch_written,
	};
	double t0 = clock_now_ms();

	if (dump_pages_write_hooked(p, plan, dirfd, &h, st))
		return -1;
	/* the handler may have failed after the last batch (a late unmap is harmless) */
	if (s->failed) {
		pr_err("%s", s->why);
		return -1;
	}
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

static void stop_handler(struct snapshot *s)
{
	uint64_t one = 1;

	if (!s->running)
		return;
	if (write(s->stopfd, &one, sizeof(one)) != sizeof(one)) {
	}
	pthread_join(s->thread, NULL);
	s->running = false;
}

int snapshot_handover(struct snapshot *s, struct dump_proc *p, int track_uffd,
		      void (*arm)(void *arg), void *arg)
{
	struct dump_proc q = { .pid = p->pid };
	int err = -1;

	/* frozen, so that no write falls between the two protections */
	if (seize_task(p->pid))
		return -1;
	if (seize_threads(&q))
		goto out;
	stop_handler(s);
	if (s->failed) {
		pr_err("%s", s->why);
		goto out;
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
			pr_perror("pid %d: cannot mark %lx-%lx as written for the tracker", p->pid,
				  (unsigned long)s->dirty[i].start, (unsigned long)s->dirty[i].end);
			goto out;
		}
	}
	pr_info("pid %d: tracking took over, %zu windows written during the copy", p->pid,
		s->nr_dirty);
	err = 0;
out:
	unseize_threads(&q);
	unseize_task(p->pid);
	free(q.tids);
	free(q.thread_cores);
	return err;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
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
	pthread_mutex_destroy(&s->lock);
	free(s->first);
	free(s->saved);
	free(s->side);
	free(s->dirty);
	free(s->regs);
	free(s->fbuf);
	free(s);
}
