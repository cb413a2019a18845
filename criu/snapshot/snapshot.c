/* snapshot.c - the live snapshot (see snapshot.h). */
#define LOG_PREFIX "snapshot: "
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "compat.h"
#include "infect.h"
#include "log.h"
#include "pages.h"
#include "proc.h"
#include "snapshot.h"
#include "track.h"

#define PS		4096ULL
#define GRANULE		(64 * PS)	/* the most saved and unprotected per write fault */
#define COPY_BUF	(2ULL << 20)	/* for copies made while frozen */
#define HIST_US		10000		/* fault service histogram: 1 us buckets */

#define SNAP_FEATURES	(UFFD_FEATURE_WP_UNPOPULATED | \
			 UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | \
			 UFFD_FEATURE_EVENT_UNMAP)

struct range {
	uint64_t start, end;
};

/* a mapping protected before the freeze, with the pages it had then */
struct pre_reg {
	struct range r;
	uint64_t *present;	/* bitmap, a bit a page */
};

enum { MODE_PRE, MODE_SNAP };

struct snapshot {
	pid_t pid;
	struct track uf;		/* the uffd (criu's is the only reference) */
	int pfd;			/* pages-PID.img: written by the copier only */
	int sfd;			/* pages saved out of order: an unlinked side file */
	uint32_t *side;			/* per image page: its slot in the side file, 0 if none */
	uint32_t side_next;
	int memfd;			/* /proc/PID/mem: unreadable mappings */
	int stopfd;			/* eventfd: the handler stops */
	int kickfd;			/* eventfd: the handler says it is done with what it read */
	pthread_cond_t synced;
	uint64_t sync_req, sync_ack;
	const struct page_plan *plan;
	uint64_t *first;		/* per run: its first page's index in the image */
	uint64_t *saved;		/* bitmap over the image's pages */
	struct range *regs;		/* registered (protected) mappings */
	size_t nr_regs, cap_regs;
	int mode;			/* MODE_PRE: before the freeze (snapshot_prepare) */
	struct pre_reg *pre;		/* MODE_PRE: what was protected, and its pages */
	size_t nr_pre;
	struct range *pd;		/* MODE_PRE: windows written (unprotected) since */
	size_t nr_pd, cap_pd;
	bool changed;			/* MODE_PRE: the memory map changed (an event) */
	struct proc_maps pre_maps;	/* smaps read before the freeze */
	bool flags_from_pre;		/* the dump's VmFlags are those: checked after */
	pthread_mutex_t lock;
	pthread_t thread;
	bool running;
	bool copied;			/* the whole image is written */
	volatile bool copy_done;	/* the copier is through (or gave up) */
	volatile bool draining;		/* the handler waits for copy_done (an event waits) */
	volatile uint64_t probe;	/* a page saved and unprotected: probing it is harmless */
	volatile bool failed;
	char why[256];
	uint8_t *fbuf;			/* the handler's buffer (GRANULE) */
	void *patch;			/* the copier's list of pages to take from the side file */
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


/* the part [*a, *b) of plan run i in [start, end), if it has data */
static bool run_part(const struct snapshot *s, size_t i, uint64_t start, uint64_t end,
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
static long save_range(struct snapshot *s, uint64_t start, uint64_t end, uint8_t *buf,
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
			if (dump_copy_run(s->pid, s->memfd, &seg, buf)) {
				snap_fail(s, "pid %d: cannot read memory at %lx-%lx: %s", s->pid,
					  (unsigned long)a, (unsigned long)(a + n * PS), strerror(errno));
				return -1;
			}
			if (dump_write_at(s->sfd, buf, n * PS, (uint64_t)s->side_next * PS)) {
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

static int add_range(struct range **v, size_t *nr, size_t *cap, uint64_t a, uint64_t b)
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

/* before the freeze: a write lets the page go, remembered for the freeze */
static bool on_fault_pre(struct snapshot *s, struct handler *h, uint64_t page)
{
	pthread_mutex_lock(&s->lock);
	if (s->mode != MODE_PRE) {
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	if (add_range(&s->pd, &s->nr_pd, &s->cap_pd, page, page + PS))
		s->changed = true;	/* not remembered: protect everything again */
	/* EAGAIN: an event is queued; the handler reads it and tries again */
	if (unprotect(s, page, page + PS) == -EAGAIN && h->nr_pending < MAX_PENDING)
		h->pending[h->nr_pending++] = (struct range){ page, page + PS };
	pthread_mutex_unlock(&s->lock);
	return true;
}

static void on_fault(struct snapshot *s, struct handler *h, uint64_t addr, double t0)
{
	uint64_t page = addr & ~(PS - 1);
	uint64_t a = page, b = page + PS;

	if (s->mode == MODE_PRE && on_fault_pre(s, h, page))
		return;
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
	if (!r)
		s->probe = a;
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

/*
 * Are the planned pages of [start, end) all there (present or swapped, not
 * the zero page)?  Lock held, so no write fault there is served meanwhile:
 * a page discarded since the freeze can come back only as the zero page.
 */
static bool planned_present(struct snapshot *s, uint64_t start, uint64_t end)
{
	struct page_region regions[64];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.vec = (uint64_t)regions,
		.vec_len = 64,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.category_inverted = PAGE_IS_PFNZERO,
		.category_mask = PAGE_IS_PFNZERO,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	};

	for (size_t i = run_at(s, start); i < s->plan->nr && s->plan->v[i].vaddr < end; i++) {
		uint64_t a, b;
		if (!run_part(s, i, start, end, &a, &b))
			continue;
		/* the part must come back as one region covering it */
		arg.start = a;
		arg.end = b;
		arg.walk_end = 0;
		long n = ioctl(s->uf.pmfd, PAGEMAP_SCAN, &arg);
		if (n != 1 || regions[0].start != a || regions[0].end != b)
			return false;
	}
	return true;
}

/*
 * madvise(MADV_DONTNEED...) waits until its event is read, then discards:
 * a race.  The pages not copied yet are copied at once, and count if they
 * were all still there after the copy (then the copy came first).
 */
static bool save_before_discard(struct snapshot *s, uint64_t start, uint64_t end)
{
	double t0 = clock_now_ms();
	long n = save_range(s, start, end, s->fbuf, GRANULE);
	bool there = n >= 0 && planned_present(s, start, end);
	pr_debug("pid %d: %lx-%lx discarded: %ld pages copied first in %.3f ms, %s", s->pid,
		(unsigned long)start, (unsigned long)end, n, clock_now_ms() - t0,
		there ? "in time" : "too late");
	if (!there) {
		s->failed = false;	/* the message is the caller's */
		return false;
	}
	s->fault_pages += n;
	return true;
}

static void on_change(struct snapshot *s, const char *what, uint64_t start, uint64_t end,
		      bool discard)
{
	s->events++;
	pthread_mutex_lock(&s->lock);
	if (s->mode == MODE_PRE) {
		/* the pages planned before the freeze may be wrong: plan again */
		s->changed = true;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	/* keep: the tracker cannot tell what such a change did to the pages */
	if (s->keep && reg_of(s, start))
		snap_fail(s, "pid %d %s %lx-%lx during the first tracked round: try again", s->pid,
			  what, (unsigned long)start, (unsigned long)end);
	else if (unsaved_in(s, start, end) && !(discard && save_before_discard(s, start, end)))
		snap_fail(s, "pid %d %s %lx-%lx during the live snapshot, before it was copied: try again",
			  s->pid, what, (unsigned long)start, (unsigned long)end);
	pthread_mutex_unlock(&s->lock);
}

/*
 * Is an event (a discard, unmap or move) waiting to be read?  The kernel
 * refuses protection changes until it is.
 */
static bool event_waiting(struct snapshot *s)
{
	uint64_t p = s->probe;
	return p && unprotect(s, p, p + PS) == -EAGAIN;
}

static void *handler_main(void *arg)
{
	struct snapshot *s = arg;
	struct handler h = { .nr_pending = 0 };
	struct uffd_msg msgs[64];
	struct sched_param sp = { .sched_priority = 1 };

	/*
	 * A writer waits for this thread: let it run before ordinary work
	 * (the copier, other programs).  It sleeps in poll() between faults.
	 */
	if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp))
		pr_debug("pid %d: the fault handler runs without real-time priority", s->pid);

	for (;;) {
		struct pollfd pf[3] = { { s->uf.uffd, POLLIN, 0 }, { s->stopfd, POLLIN, 0 },
					{ s->kickfd, POLLIN, 0 } };
		int r = poll(pf, 3, h.nr_pending ? 1 : -1);
		if (r < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		/*
		 * A discard (madvise) waits until its event is read, and then
		 * throws pages away: while one waits, the copy goes on to the
		 * end first (the writers it meets wait for it too).
		 */
		if (s->mode == MODE_SNAP && !s->copy_done && !s->failed && event_waiting(s)) {
			struct pollfd sp = { s->stopfd, POLLIN, 0 };
			s->draining = true;
			while (!s->copy_done && !s->failed && poll(&sp, 1, 1) == 0)
				;
			s->draining = false;
			if (sp.revents)
				break;
			continue;
		}
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
				on_change(s, "discarded", m->arg.remove.start, m->arg.remove.end, true);
				break;
			case UFFD_EVENT_UNMAP:
				on_change(s, "unmapped", m->arg.remove.start, m->arg.remove.end, false);
				break;
			case UFFD_EVENT_REMAP:
				on_change(s, "moved", m->arg.remap.from, m->arg.remap.from + m->arg.remap.len,
					  false);
				break;
			}
		}
		if (pf[2].revents) {
			uint64_t v;
			if (read(s->kickfd, &v, sizeof(v)) < 0) {
			}
			pthread_mutex_lock(&s->lock);
			s->sync_ack = s->sync_req;
			pthread_cond_broadcast(&s->synced);
			pthread_mutex_unlock(&s->lock);
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
	pthread_mutex_lock(&s->lock);
	s->sync_ack = UINT64_MAX;	/* nobody waits for it any more */
	pthread_cond_broadcast(&s->synced);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ------------------------------------------------------ arming (frozen) */

/*
 * Writable private anonymous memory only.  Shared anonymous memory may be
 * mapped by other processes of the tree, whose writes a protection in this
 * one would not stop (and whose images hold the same pages); a mapping
 * that cannot be written without an mprotect first (a PROT_NONE
 * reservation of gigabytes, whose protection would fill page tables with
 * markers) has its few pages copied while frozen, like those.
 */
static bool protectable(const Vma *v)
{
	return v->kind == VMA_KIND__VMA_ANON_PRIVATE && (v->prot & PROT_WRITE);
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
	pthread_mutex_lock(&s->lock);
	int e = add_range(&s->regs, &s->nr_regs, &s->cap_regs, v->start, v->end);
	pthread_mutex_unlock(&s->lock);
	return e ? -ENOMEM : 0;
}

static int protect_range(struct snapshot *s, uint64_t start, uint64_t end)
{
	Vma v = VMA__INIT;
	v.start = start;
	v.end = end;
	return protect(s, &v);
}

static struct snapshot *snap_new(pid_t pid)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	char path[64];

	if (!s)
		return NULL;
	s->pid = pid;
	s->pfd = s->sfd = s->memfd = s->stopfd = -1;
	s->side_next = 1;
	s->uf.uffd = s->uf.pmfd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->synced, NULL);
	s->fbuf = aligned_alloc(PS, GRANULE);
	s->patch = calloc(PAGEMAP_MAX_RUN + 1, 3 * sizeof(uint64_t));
	s->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	s->memfd = open(path, O_RDONLY | O_CLOEXEC);
	s->stopfd = eventfd(0, EFD_CLOEXEC);
	if (!s->fbuf || !s->patch || s->memfd < 0 || s->stopfd < 0 || s->kickfd < 0) {
		pr_perror("pid %d: cannot open its memory", pid);
		snapshot_free(s);
		return NULL;
	}
	return s;
}

/* the uffd (the task is seized) and its handler */
static int snap_uffd(struct snapshot *s)
{
	struct infect c;

	if (infect_begin(&c, s->pid))
		return -1;
	int r = track_uffd_create(&c, s->pid, SNAP_FEATURES, false, &s->uf);
	if (infect_end(&c) || r) {
		pr_err("pid %d: no userfaultfd for the live snapshot", s->pid);
		return -1;
	}
	if (pthread_create(&s->thread, NULL, handler_main, s)) {
		pr_err("pid %d: cannot start the fault handler thread", s->pid);
		return -1;
	}
	s->running = true;
	return 0;
}

/* the anonymous mappings the snapshot protects, from /proc/PID/maps */
static bool proc_vma_protectable(const struct proc_vma *v)
{
	if (v->shared || !v->w)
		return false;	/* as protectable() */
	return !v->path[0] || !strcmp(v->path, "[heap]") || !strcmp(v->path, "[stack]") ||
	       !strncmp(v->path, "[anon:", 6);
}

/* the pages of [r->start, r->end) that exist, into r's bitmap */
static int scan_bits(struct snapshot *s, const struct pre_reg *r, uint64_t start, uint64_t end)
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
		/* as dump_pages_plan: never the zero page (shared: no file pages either) */
		.category_inverted = PAGE_IS_PFNZERO,
		.category_mask = PAGE_IS_PFNZERO,
	};

	for (uint64_t a = start; a < end; a += PS)
		r->present[(a - r->r.start) / PS / 64] &= ~(1ULL << ((a - r->r.start) / PS % 64));
	while (arg.start < arg.end) {
		long n = ioctl(s->uf.pmfd, PAGEMAP_SCAN, &arg);
		if (n < 0) {
			pr_perror("pid %d: PAGEMAP_SCAN of %lx-%lx failed", s->pid,
				  (unsigned long)arg.start, (unsigned long)arg.end);
			return -1;
		}
		for (long i = 0; i < n; i++)
			for (uint64_t a = regions[i].start; a < regions[i].end; a += PS)
				set_bit(r->present, (a - r->r.start) / PS);
		if (arg.walk_end <= arg.start)
			break;
		arg.start = arg.walk_end;
	}
	return 0;
}

static int reprotect_written(struct snapshot *s);

int snapshot_prepare(pid_t pid, struct snapshot **out)
{
	struct proc_maps maps = { 0 };
	struct snapshot *s;
	double t0 = clock_now_ms();
	int err = -1;

	*out = NULL;
	s = snap_new(pid);
	if (!s)
		return -1;
	/* the main thread stops for as long as the uffd takes to make */
	if (seize_task(pid))
		goto out;
	err = snap_uffd(s);
	if (unseize_task(pid) || err)
		goto out;
	err = -1;
	double t1 = clock_now_ms();
	if (proc_read_maps(pid, false, &maps))
		goto out;
	s->pre = calloc(maps.nr + 1, sizeof(*s->pre));
	if (!s->pre)
		goto out;
	for (size_t i = 0; i < maps.nr; i++) {
		const struct proc_vma *v = &maps.vmas[i];
		if (!proc_vma_protectable(v) || protect_range(s, v->start, v->end))
			continue;
		struct pre_reg *r = &s->pre[s->nr_pre++];
		r->r = (struct range){ v->start, v->end };
		r->present = calloc((v->end - v->start) / PS / 64 + 1, sizeof(uint64_t));
		if (!r->present || scan_bits(s, r, v->start, v->end))
			goto out;
	}
	/* VmFlags cost a page table walk: read now, checked after the copy */
	if (proc_read_maps(pid, true, &s->pre_maps))
		goto out;
	/* what it wrote meanwhile, again while it runs: the freeze does the rest */
	for (int round = 0; round < 3; round++) {
		pthread_mutex_lock(&s->lock);
		size_t left = s->nr_pd;
		pthread_mutex_unlock(&s->lock);
		if (left < 64)
			break;
		if (reprotect_written(s))
			goto out;
	}
	pr_info("pid %d: %zu mappings write-protected before the freeze (main thread stopped %.2f ms, %.1f ms in all)",
		pid, s->nr_pre, t1 - t0, clock_now_ms() - t0);
	*out = s;
	s = NULL;
	err = 0;
out:
	proc_maps_free(&maps);
	snapshot_free(s);
	return err;
}

static const struct pre_reg *pre_of(const struct snapshot *s, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < s->nr_pre; i++)
		if (s->pre[i].r.start <= start && end <= s->pre[i].r.end)
			return &s->pre[i];
	return NULL;
}

#define BLOCK	(2ULL << 20)	/* protection removed at the end a page table at a time */

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The pages written since they were protected (s->pd, taken under the
 * lock): protected again, a run of neighbours at a time.  They exist now
 * (a write made them, and only an event - which plans everything again -
 * could take them away); a write interrupted before it populated the page
 * leaves a zero page in the plan: the same contents.
 */
static int reprotect_written(struct snapshot *s)
{
	pthread_mutex_lock(&s->lock);
	struct range *pd = s->pd;
	size_t n = s->nr_pd;
	s->pd = NULL;
	s->nr_pd = s->cap_pd = 0;
	pthread_mutex_unlock(&s->lock);

	qsort(pd, n, sizeof(*pd), cmp_range);
	for (size_t i = 0; i < n;) {
		const struct pre_reg *r = pre_of(s, pd[i].start, pd[i].end);
		uint64_t a = pd[i].start, b = pd[i].end;
		while (++i < n && pd[i].start <= b && pd[i].end <= (r ? r->r.end : 0))
			b = pd[i].end > b ? pd[i].end : b;
		if (!r)
			continue;
		struct uffdio_writeprotect wp = { .range = { a, b - a }, .mode = UFFDIO_WRITEPROTECT_MODE_WP };
		if (ioctl(s->uf.uffd, UFFDIO_WRITEPROTECT, &wp)) {
			pr_perror("pid %d: cannot protect %lx-%lx again", s->pid, (unsigned long)a,
				  (unsigned long)b);
			free(pd);
			return -1;
		}
		for (uint64_t p = a; p < b; p += PS)
			set_bit(r->present, (p - r->r.start) / PS);
	}
	free(pd);
	return 0;
}

/*
 * Frozen, with the mappings protected before the freeze: the plan is the
 * pages they had then, but where they were written since (faults: the only
 * way a page comes into being there), scanned again; other mappings are
 * protected and scanned now.
 */
static int plan_prepared(struct snapshot *s, struct dump_proc *p, struct page_plan *plan)
{
	if (reprotect_written(s))
		return -1;
	for (size_t i = 0; i < p->mm->n_vmas; i++) {
		const Vma *v = p->mm->vmas[i];
		const struct pre_reg *r = pre_of(s, v->start, v->end);
		if (!vma_has_pages(v))
			continue;
		plan->vma_first = plan->nr;
		if (!r) {
			if (protectable(v))
				protect(s, v);	/* not done: copied while frozen */
			if (page_plan_scan(s->uf.pmfd, s->pid, v, v->start, v->end, plan))
				return -1;
			continue;
		}
		bool readable = v->prot & PROT_READ;
		for (uint64_t a = v->start; a < v->end;) {
			if (!test_bit(r->present, (a - r->r.start) / PS)) {
				a += PS;
				continue;
			}
			uint64_t b = a + PS;
			while (b < v->end && test_bit(r->present, (b - r->r.start) / PS))
				b += PS;
			if (page_plan_add(plan, a, b, readable, false))
				return -1;
			a = b;
		}
	}
	return 0;
}

static bool same_vma(const struct proc_vma *a, const struct proc_vma *b)
{
	return a->start == b->start && a->end == b->end && a->pgoff == b->pgoff &&
	       a->dev == b->dev && a->ino == b->ino && a->r == b->r && a->w == b->w &&
	       a->x == b->x && a->shared == b->shared && !strcmp(a->path, b->path);
}

int snapshot_read_maps(struct snapshot *prep, pid_t pid, bool with_flags, struct proc_maps *out)
{
	const struct proc_maps *pm = prep ? &prep->pre_maps : NULL;
	bool same;

	if (!pm || prep->pid != pid || !with_flags || !pm->nr)
		return proc_read_maps(pid, with_flags, out);
	if (proc_read_maps(pid, false, out))
		return -1;
	same = out->nr == pm->nr;
	for (size_t i = 0; same && i < out->nr; i++)
		same = same_vma(&out->vmas[i], &pm->vmas[i]);
	if (!same) {
		pr_info("pid %d: its memory map changed since before the freeze: smaps read again",
			pid);
		proc_maps_free(out);
		return proc_read_maps(pid, true, out);
	}
	for (size_t i = 0; i < out->nr; i++) {
		out->vmas[i].vm_flags = pm->vmas[i].vm_flags;
		out->vmas[i].growsdown = pm->vmas[i].growsdown;
	}
	prep->flags_from_pre = true;
	return 0;
}

/*
 * VmFlags were read before the freeze: the mappings must show the same
 * after the copy (ours, "uw", and "ac", which mprotect may add, aside), or
 * they may have changed around the freeze.
 */
static int check_flags(struct snapshot *s, const struct proc_maps *frozen)
{
	const uint32_t mask = ~(VMA_F_UFFD_WP | VMA_F_ACCOUNT);
	struct proc_maps now;

	if (!s->flags_from_pre)
		return 0;
	if (proc_read_maps(s->pid, true, &now))
		return -1;
	for (size_t i = 0, j = 0; i < frozen->nr; i++) {
		const struct proc_vma *f = &frozen->vmas[i];
		while (j < now.nr && now.vmas[j].end <= f->start)
			j++;
		for (size_t k = j; k < now.nr && now.vmas[k].start < f->end; k++) {
			const struct proc_vma *n = &now.vmas[k];
			if (((n->vm_flags ^ f->vm_flags) & mask) || n->growsdown != f->growsdown) {
				pr_err("pid %d: the flags of %lx-%lx changed (madvise?) around the live snapshot: try again",
				       s->pid, (unsigned long)f->start, (unsigned long)f->end);
				proc_maps_free(&now);
				return -1;
			}
		}
	}
	proc_maps_free(&now);
	return 0;
}

int snapshot_arm(struct dump_proc *p, struct snapshot **prep, struct page_plan *plan, bool planned,
		 int dirfd, bool keep, struct snapshot **out)
{
	struct snapshot *s = NULL;
	uint8_t *buf = NULL;
	double t0 = clock_now_ms();

	*out = NULL;
	if (*prep && ((*prep)->pid != p->pid || planned)) {
		snapshot_free(*prep);	/* no use: its protection must not stay */
		*prep = NULL;
	}
	if (*prep) {
		s = *prep;
		*prep = NULL;
	} else {
		s = snap_new(p->pid);
		if (!s || snap_uffd(s))
			goto fail;
	}
	s->keep = keep;
	buf = aligned_alloc(PS, COPY_BUF);
	s->pfd = pages_image_create(p->pid, dirfd);
	if (!buf || s->pfd < 0)
		goto fail;
	s->sfd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->sfd < 0) {
		pr_perror("pid %d: cannot create a temporary file in the images directory", p->pid);
		goto fail;
	}

	/*
	 * Whatever the handler read before the freeze is dealt with (a thread
	 * that sent an event waited for it to be read before it could stop).
	 */
	uint64_t one = 1;
	pthread_mutex_lock(&s->lock);
	uint64_t req = ++s->sync_req;
	if (write(s->kickfd, &one, sizeof(one)) != sizeof(one)) {
	}
	while (s->running && s->sync_ack < req)
		pthread_cond_wait(&s->synced, &s->lock);
	bool fast = s->nr_pre && !s->changed;
	pthread_mutex_unlock(&s->lock);
	if (!planned)
		memset(plan, 0, sizeof(*plan));
	if (fast) {
		if (plan_prepared(s, p, plan))
			goto fail;
	} else {
		if (s->nr_pre)
			pr_info("pid %d: its memory map changed before the freeze: protected and planned again",
				p->pid);
		/* registered again (the same uffd may) and protected whole, as of now */
		pthread_mutex_lock(&s->lock);
		s->nr_regs = 0;
		pthread_mutex_unlock(&s->lock);
		for (size_t i = 0; i < p->mm->n_vmas; i++)
			if (protectable(p->mm->vmas[i]))
				protect(s, p->mm->vmas[i]);
		if (!planned && dump_pages_plan(p, NULL, plan))
			goto fail;
	}
	s->plan = plan;
	s->first = calloc(plan->nr + 1, sizeof(uint64_t));
	s->saved = calloc(plan->total / 64 + 1, sizeof(uint64_t));
	s->side = calloc(plan->total + 1, sizeof(uint32_t));
	if (!s->first || !s->saved || !s->side)
		goto fail;
	for (size_t i = 0, idx = 0; i < plan->nr; i++) {
		s->first[i] = idx;
		if (!plan->v[i].in_parent)
			idx += plan->v[i].nr_pages;
	}
	pthread_mutex_lock(&s->lock);
	s->mode = MODE_SNAP;
	s->nr_pd = 0;
	pthread_mutex_unlock(&s->lock);

	for (size_t i = 0; i < p->mm->n_vmas; i++) {
		const Vma *v = p->mm->vmas[i];
		if (!vma_has_pages(v) || snapshot_protected(s, v->start, v->end))
			continue;
		if (protectable(v))
			pr_info("pid %d: %lx-%lx could not be write-protected (another userfaultfd?): copied while frozen",
				p->pid, (unsigned long)v->start, (unsigned long)v->end);
		/* private file mappings (their modified pages) and the like: now */
		pthread_mutex_lock(&s->lock);
		long n = save_range(s, v->start, v->end, buf, COPY_BUF);
		pthread_mutex_unlock(&s->lock);
		if (n < 0) {
			pr_err("%s", s->why);
			goto fail;
		}
		s->frozen_pages += n;
	}
	free(buf);
	pr_info("pid %d: %zu mappings write-protected, %lu pages copied while frozen, in %.2f ms (%s)",
		p->pid, s->nr_regs, (unsigned long)s->frozen_pages, clock_now_ms() - t0,
		fast ? "protected before the freeze" : "protected while frozen");
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

	int err = dump_pages_write_hooked(p, plan, dirfd, &h, st);
	s->copy_done = true;
	if (err)
		return -1;
	/* the handler may have failed after the last batch (a late unmap is harmless) */
	if (s->failed) {
		pr_err("%s", s->why);
		return -1;
	}
	if (check_flags(s, &p->maps))
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
