/* handler.c - the fault handler thread of the live snapshot (see
 * snapshot-int.h): serves write faults, reads the memory map's events. */
#define LOG_PREFIX "snapshot: "
#include <sched.h>

#include "common/clock.h"
#include "common/log.h"
#include "criu/snapshot/snapshot-int.h"

#define MAX_PENDING	256

struct handler {
	struct range pending[MAX_PENDING];	/* to unprotect (EAGAIN: an event was queued) */
	size_t nr_pending;
	uint64_t last_end, last_len;		/* the previous fault's window */
};

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

/* one region exactly [a, b): all of it there */
struct whole {
	uint64_t a, b;
	bool seen;
};

static int whole_region(void *arg, uint64_t start, uint64_t end, uint64_t categories)
{
	struct whole *w = arg;
	(void)categories;
	if (w->seen || start != w->a || end != w->b)
		return 1;
	w->seen = true;
	return 0;
}

/*
 * Are the planned pages of [start, end) all there (present or swapped, not
 * the zero page)?  Lock held, so no write fault there is served meanwhile:
 * a page discarded since the freeze can come back only as the zero page.
 */
static bool planned_present(struct snapshot *s, uint64_t start, uint64_t end)
{
	for (size_t i = run_at(s, start); i < s->plan->nr && s->plan->v[i].vaddr < end; i++) {
		struct whole w = { 0 };
		if (!run_part(s, i, start, end, &w.a, &w.b))
			continue;
		if (scan_walk(s->uf.pmfd, w.a, w.b, &SCAN_MAPPED_DATA, whole_region, &w) || !w.seen)
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

void *handler_main(void *arg)
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
