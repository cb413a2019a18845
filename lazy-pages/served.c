/* served.c - serving one process's userfaultfd (see served.h). */
#define LOG_PREFIX "lazy-pages: "
#include <errno.h>
#include <sys/syscall.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/compat.h"
#include "common/log.h"
#include "lazy-pages/served.h"

#define PG	4096UL

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* ------------------------------------------------------------ bitmaps */

static bool bit(const uint64_t *b, uint64_t i)
{
	return b[i / 64] >> (i % 64) & 1;
}

static uint64_t range_pages(const struct lp_range *r)
{
	return (r->end - r->start) / PG;
}

static uint64_t *bitmap_new(uint64_t nbits, bool ones)
{
	uint64_t words = (nbits + 63) / 64 + 1;
	uint64_t *b = malloc(words * 8);
	if (b)
		memset(b, ones ? 0xff : 0, words * 8);
	return b;
}

/* marks pages [i, i+n) of r done; counts those that were not */
static void mark_done(struct lp_proc *p, struct lp_range *r, uint64_t i, uint64_t n)
{
	for (uint64_t k = i; k < i + n; k++)
		if (!bit(r->done, k)) {
			r->done[k / 64] |= 1ULL << (k % 64);
			p->remaining--;
		}
}

/* first page >= i of r not done, or range_pages(r) */
static uint64_t next_todo(const struct lp_range *r, uint64_t i)
{
	uint64_t n = range_pages(r);
	while (i < n) {
		uint64_t w = ~r->done[i / 64] >> (i % 64);
		if (w)
			return i + __builtin_ctzll(w) < n ? i + __builtin_ctzll(w) : n;
		i = (i / 64 + 1) * 64;
	}
	return n;
}

/* a copy of pages [from, to) of r, at the same addresses */
static int range_slice(const struct lp_range *r, uint64_t from, uint64_t to, struct lp_range *out)
{
	out->start = r->start + from * PG;
	out->end = r->start + to * PG;
	out->delta = r->delta;
	out->done = bitmap_new(to - from, true);
	if (!out->done)
		return -1;
	for (uint64_t k = from; k < to; k++)
		if (!bit(r->done, k))
			out->done[(k - from) / 64] &= ~(1ULL << ((k - from) % 64));
	return 0;
}

static struct lp_range *find_range(struct lp_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nr;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (addr < p->r[mid].start)
			hi = mid;
		else if (addr >= p->r[mid].end)
			lo = mid + 1;
		else
			return &p->r[mid];
	}
	return NULL;
}

/* ------------------------------------------------------------ set up */

struct lp_proc *lp_proc_new(struct lp_ctx *c, struct lp_source *src, unsigned pid, int uffd,
			    int conn, const struct lazy_range *ranges, size_t nr)
{
	struct lp_proc *p = calloc(1, sizeof(*p));
	if (!p || !(p->r = calloc(nr + 1, sizeof(*p->r)))) {
		free(p);
		return NULL;
	}
	p->pid = pid;
	p->pidfd = -1;
	p->uffd = uffd;
	p->conn = conn;
	p->src = src;
	for (size_t i = 0; i < nr; i++) {
		struct lp_range *r = &p->r[p->nr++];
		r->start = ranges[i].start;
		r->end = ranges[i].end;
		r->done = bitmap_new(range_pages(r), true);
		if (!r->done) {
			lp_proc_free(p);
			return NULL;
		}
		/* pages the image has are to do; the others read as zero */
		long k = page_source_find(&src->local, r->start);
		if (k < 0) {
			k = 0;
			while ((size_t)k < src->local.nr_runs && src->local.runs[k].vaddr < r->start)
				k++;
		}
		for (; (size_t)k < src->local.nr_runs && src->local.runs[k].vaddr < r->end; k++) {
			const struct page_run *run = &src->local.runs[k];
			uint64_t s = run->vaddr > r->start ? run->vaddr : r->start;
			uint64_t e = run->vaddr + run->nr_pages * PG;
			if (e > r->end)
				e = r->end;
			for (uint64_t a = s; a < e; a += PG) {
				uint64_t b = (a - r->start) / PG;
				r->done[b / 64] &= ~(1ULL << (b % 64));
				p->remaining++;
			}
		}
	}
	p->cursor = p->nr ? p->r[0].start : 0;
	c->st.total_pages += p->remaining;
	p->next = c->procs;
	c->procs = p;
	return p;
}

void lp_proc_free(struct lp_proc *p)
{
	lp_ws_free(&p->ws);
	for (size_t i = 0; i < p->nr; i++)
		free(p->r[i].done);
	free(p->r);
	if (p->uffd >= 0)
		close(p->uffd);
	if (p->conn >= 0)
		close(p->conn);
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p);
}

/* ------------------------------------------------------------ copying */

static void wake(struct lp_proc *p, uint64_t addr, uint64_t len)
{
	struct uffdio_range r = { addr, len };
	ioctl(p->uffd, UFFDIO_WAKE, &r);
}

/* an error of the uffd that ends serving this process; 0 if none */
static int proc_error(struct lp_proc *p, int err)
{
	if (err == ESRCH) {
		/* the process is gone (its mm with it) */
		p->state = LP_GONE;
		return -ESRCH;
	}
	return 0;
}

/*
 * Copies pages [i, i+n) of r (none done, all in the image) from the source;
 * counts them into *counter.  Returns 0, -EAGAIN (the mm is changing:
 * retry after reading events), or another -errno (p's state says why).
 *
 * Must be called with every event read so far handled (lp_proc_events
 * handles a batch's events before its faults): ENOENT is only believed
 * under that condition (see below).
 */
static int serve(struct lp_ctx *c, struct lp_proc *p, struct lp_range *r, uint64_t i, uint64_t n,
		 int slot, uint64_t *counter)
{
	uint64_t cap = UINT64_MAX;	/* bytes per copy, after an ENOENT */
	uint64_t asked = 0;		/* the page that got ENOENT once already */

	while (n) {
		uint64_t addr = r->start + i * PG, img = addr + r->delta;
		long k = page_source_find(&p->src->local, img);
		if (k < 0) {
			/* cannot happen: pages to do are image pages */
			mark_done(p, r, i, 1);
			i++, n--;
			continue;
		}
		uint64_t len = n * PG;
		if (len > cap)
			len = cap;
		/* one copy for as long as the data follows on (the parts of an entry) */
		const void *data = lp_source_get_more(p->src, slot, k, img, &len);
		if (!data) {
			lp_proc_fail(c, p, "page source failed");
			return -EIO;
		}
		struct uffdio_copy uc = { .dst = addr, .src = (uint64_t)data, .len = len };
		int ret = ioctl(p->uffd, UFFDIO_COPY, &uc);
		int err = ret ? errno : 0;
		uint64_t copied = uc.copy > 0 ? (uint64_t)uc.copy : 0;
		if (!ret)
			copied = len;
		if (copied) {
			mark_done(p, r, i, copied / PG);
			*counter += copied / PG;
			/* one copy is of one kind: lp_source_get_more does not mix them */
			if (lp_source_local(p->src, k))
				c->st.local_pages += copied / PG;
			else
				c->st.remote_pages += copied / PG;
			i += copied / PG;
			n -= copied / PG;
			continue;
		}
		switch (err) {
		case EEXIST:	/* the page raced in: nothing to do there */
			mark_done(p, r, i, 1);
			wake(p, addr, PG);
			i++, n--;
			break;
		case ENOENT:
			/*
			 * No registered VMA covered [addr, addr + len) when the
			 * kernel looked.  Not proof that the pages are gone:
			 * the kernel tests mmap_changing (EAGAIN) on entry and
			 * again only after finding the VMA, so a copy that
			 * enters just before an mremap (or munmap) and looks
			 * after it gets ENOENT while the REMAP event is not
			 * even queued yet.  Marking the page done here made it
			 * move, done, with the range on the REMAP, and its
			 * first fault at the new address got a zero page.
			 *
			 * Several pages: they may span two VMAs (an mprotect
			 * split the range); smaller copies find out.
			 */
			if (len > PG) {
				cap = len / 2 / PG * PG;
				break;
			}
			/*
			 * One page: ask again.  That second copy passes the
			 * entry test only if no change whose event is unread
			 * is in progress (mmap_changing stays up until its
			 * event is read, and all events read are handled);
			 * so a second ENOENT means the page is gone with no
			 * event to tell where (an UNMAP, if any, was
			 * handled or changes nothing), and a change in
			 * progress gives EAGAIN: retried after its event.
			 */
			if (asked != addr) {
				asked = addr;
				break;
			}
			mark_done(p, r, i, 1);
			c->st.dropped_pages++;
			wake(p, addr, PG);
			i++, n--;
			break;
		case EAGAIN:
			return -EAGAIN;
		default:
			if (proc_error(p, err))
				return -err;
			errno = err;
			pr_perror("pid %u: UFFDIO_COPY at %lx (%lu bytes) failed", p->pid,
				  (unsigned long)addr, (unsigned long)len);
			lp_proc_fail(c, p, "cannot copy pages");
			return -err;
		}
	}
	return 0;
}

/* a page with nothing to copy was touched: it reads as zero */
static int zero_page(struct lp_ctx *c, struct lp_proc *p, uint64_t addr)
{
	struct uffdio_zeropage z = { .range = { addr, PG } };
	if (!ioctl(p->uffd, UFFDIO_ZEROPAGE, &z)) {
		c->st.zero_pages++;
		return 0;
	}
	int err = errno;
	if (err == EAGAIN)
		return -EAGAIN;
	if (proc_error(p, err))
		return -err;
	/* EEXIST: already there; ENOENT: unmapped; either way let it retry */
	wake(p, addr, PG);
	return 0;
}

static void record_latency(struct lp_ctx *c, double us)
{
	struct lp_stats *s = &c->st;
	if (s->nr_lat == s->cap_lat) {
		size_t cap = s->cap_lat ? s->cap_lat * 2 : 4096;
		double *n = realloc(s->lat, cap * sizeof(double));
		if (!n)
			return;
		s->lat = n;
		s->cap_lat = cap;
	}
	s->lat[s->nr_lat++] = us;
}

/* returns -EAGAIN if the fault must be retried after the pending events */
static int handle_fault(struct lp_ctx *c, struct lp_proc *p, uint64_t addr, double t0)
{
	struct lp_range *r = find_range(p, addr);
	int ret;

	if (!r || bit(r->done, (addr - r->start) / PG)) {
		ret = zero_page(c, p, addr);
	} else {
		uint64_t idx = (addr - r->start) / PG, n = range_pages(r);
		/* the granule is aligned in the address space, clipped to the range */
		uint64_t g = c->granule / PG, base = r->start / PG, f = base + idx;
		uint64_t wlo = f / g * g, whi = wlo + g;
		wlo = wlo > base ? wlo - base : 0;
		whi = whi < base + n ? whi - base : n;
		/*
		 * The faulting page alone wakes the thread (a granule of fresh pages
		 * costs ~30 us per 64 KiB on these machines); the rest of the granule
		 * follows at once, ahead of the background, forward first, in pieces
		 * that double, with the uffd polled between them (around()).
		 */
		/*
		 * A program reading forward (a fault a little after the last one)
		 * gets pieces that go on doubling, up to the granule: one fault per
		 * piece rather than one per doubling.
		 */
		uint64_t first = 1, e = idx + 1;
		if (p->last_addr && addr > p->last_addr && addr - p->last_addr <= c->granule)
			first = p->ramp < g ? p->ramp : g;
		else
			p->ramp = 1;
		while (e < whi && e - idx < first && !bit(r->done, e))
			e++;
		ret = serve(c, p, r, idx, e - idx, LP_SLOT_FAULT, &c->st.fault_pages);
		if (!ret && !p->child)
			lp_ws_note(&p->ws, addr + r->delta, e - idx);
		/*
		 * The thread just woken may be waiting for this CPU: let it run
		 * before the rest of its granule is copied (a program fault p50
		 * of 21-28 us against the daemon's 11 whenever the two shared a
		 * CPU; see also the verifier's SCHED_IDLE in source.c)
		 */
		sched_yield();
		p->last_addr = addr;
		if (!ret) {
			p->around[0][0] = r->start + e * PG;
			p->around[0][1] = r->start + whi * PG;
			p->around[1][0] = r->start + wlo * PG;
			p->around[1][1] = r->start + idx * PG;
			p->nr_around = 2;
			if (p->ramp < g)
				p->ramp *= 2;
			/* the background goes on from there: the likely next use */
			p->cursor = r->start + whi * PG;
			long k = page_source_find(&p->src->local, p->cursor + r->delta);
			if (k >= 0)
				lp_source_hint(p->src, k);
		}
	}
	if (ret == -EAGAIN)
		return ret;
	if (!ret) {
		c->st.faults++;
		record_latency(c, now_us() - t0);
	}
	return 0;
}

/* ------------------------------------------------------------ events */

/* removes [s, e) from the ranges; the pieces go to out (if not NULL) */
static int cut(struct lp_proc *p, uint64_t s, uint64_t e, struct lp_range **out, size_t *nout)
{
	struct lp_range *nr = calloc(p->nr + 2, sizeof(*nr));
	size_t n = 0;

	if (!nr)
		return -1;
	for (size_t i = 0; i < p->nr; i++) {
		struct lp_range *r = &p->r[i];
		if (r->end <= s || r->start >= e) {
			nr[n++] = *r;
			continue;
		}
		uint64_t ms = r->start > s ? r->start : s, me = r->end < e ? r->end : e;
		uint64_t a = (ms - r->start) / PG, b = (me - r->start) / PG;
		if (a > 0 && range_slice(r, 0, a, &nr[n++]))
			goto err;
		if (b < range_pages(r) && range_slice(r, b, range_pages(r), &nr[n++]))
			goto err;
		struct lp_range mid;
		if (range_slice(r, a, b, &mid))
			goto err;
		if (out) {
			struct lp_range *o = realloc(*out, (*nout + 1) * sizeof(**out));
			if (!o) {
				free(mid.done);
				goto err;
			}
			*out = o;
			o[(*nout)++] = mid;
		} else {
			/* gone: its pages are no longer to do */
			for (uint64_t k = 0; k < b - a; k++)
				if (!bit(mid.done, k))
					p->remaining--;
			free(mid.done);
		}
		free(r->done);
	}
	free(p->r);
	p->r = nr;
	p->nr = n;
	return 0;
err:
	pr_err("pid %u: out of memory tracking the memory map", p->pid);
	return -1;
}

static int cmp_range(const void *a, const void *b)
{
	const struct lp_range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int remap(struct lp_ctx *c, struct lp_proc *p, uint64_t from, uint64_t to, uint64_t len)
{
	struct lp_range *pieces = NULL;
	size_t np = 0;
	int64_t shift = (int64_t)(to - from);

	if (cut(p, from, from + len, &pieces, &np) || cut(p, to, to + len, NULL, NULL))
		goto fail;
	struct lp_range *nr = realloc(p->r, (p->nr + np + 1) * sizeof(*nr));
	if (!nr)
		goto fail;
	p->r = nr;
	for (size_t i = 0; i < np; i++) {
		pieces[i].start += shift;
		pieces[i].end += shift;
		pieces[i].delta -= shift;
		p->r[p->nr++] = pieces[i];
	}
	free(pieces);
	qsort(p->r, p->nr, sizeof(*p->r), cmp_range);
	return 0;
fail:
	for (size_t i = 0; i < np; i++)
		free(pieces[i].done);
	free(pieces);
	lp_proc_fail(c, p, "cannot follow mremap");
	return -1;
}

static void removed(struct lp_proc *p, uint64_t s, uint64_t e)
{
	for (size_t i = 0; i < p->nr; i++) {
		struct lp_range *r = &p->r[i];
		if (r->end <= s || r->start >= e)
			continue;
		uint64_t ms = r->start > s ? r->start : s, me = r->end < e ? r->end : e;
		mark_done(p, r, (ms - r->start) / PG, (me - ms) / PG);
	}
}

/*
 * Every page p still misses, poisoned through ufd (p's or a child's): it
 * raises SIGBUS rather than reading zeros.  The number poisoned.
 */
static uint64_t poison_missing(const struct lp_proc *p, int ufd)
{
	uint64_t n = 0;

	for (size_t i = 0; i < p->nr; i++) {
		const struct lp_range *r = &p->r[i];
		for (uint64_t k = next_todo(r, 0); k < range_pages(r); k = next_todo(r, k + 1)) {
			struct uffdio_poison pz = { .range = { r->start + k * PG, PG } };
			if (!ioctl(ufd, UFFDIO_POISON, &pz))
				n++;
		}
	}
	return n;
}

static void forked(struct lp_ctx *c, struct lp_proc *p, int ufd)
{
	struct lp_proc *ch;

	fcntl(ufd, F_SETFL, O_NONBLOCK);
	/* the child's map is the parent's; its pages are where the parent's are */
	ch = calloc(1, sizeof(*ch));
	if (!ch || !(ch->r = calloc(p->nr + 1, sizeof(*ch->r))))
		goto fail;
	for (; ch->nr < p->nr; ch->nr++)
		if (range_slice(&p->r[ch->nr], 0, range_pages(&p->r[ch->nr]), &ch->r[ch->nr]))
			goto fail;
	ch->pid = p->pid;
	ch->pidfd = -1;
	ch->own_pidns = p->own_pidns;
	ch->uffd = ufd;
	ch->child = ++c->nr_children;
	/* criu restore holds the child's uffd too (daemon.c hands it over) */
	ch->conn = p->conn >= 0 ? fcntl(p->conn, F_DUPFD_CLOEXEC, 0) : -1;
	ch->src = p->src;
	p->src->refs++;
	ch->remaining = p->remaining;
	ch->cursor = p->cursor;
	c->st.total_pages += ch->remaining;
	ch->next = c->procs;
	c->procs = ch;
	pr_info("pid %u forked: serving the child's userfaultfd too (child %u)", p->pid, ch->child);
	return;
fail:
	pr_err("pid %u forked: cannot serve the child (out of memory): its missing pages are poisoned",
	       p->pid);
	poison_missing(p, ufd);
	if (ch) {
		ch->uffd = ch->conn = -1;
		lp_proc_free(ch);
	}
	close(ufd);
}

static void pend(struct lp_proc *p, uint64_t addr)
{
	if (p->nr_pending < LP_MAX_PENDING)
		p->pending[p->nr_pending++] = addr;
	/* else: the thread faults again once woken by any copy */
}

void lp_proc_events(struct lp_ctx *c, struct lp_proc *p)
{
	struct uffd_msg msgs[32];

	while (p->state == LP_LIVE) {
		ssize_t n = read(p->uffd, msgs, sizeof(msgs));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		double t0 = now_us();
		size_t nm = n / sizeof(msgs[0]);
		/*
		 * The batch's events first, then its faults.  The kernel hands
		 * out queued faults before queued events, and a fault may
		 * already be at the far end of an mremap whose REMAP follows it
		 * in the batch; reading that REMAP let the mremap finish
		 * (mmap_changing fell), so nothing would stop a zero page or a
		 * drop decided on the old map.  Faults that came before an
		 * event in time lose nothing by waiting for it: their pages are
		 * wherever the event says.
		 */
		for (size_t i = 0; i < nm && p->state == LP_LIVE; i++) {
			const struct uffd_msg *m = &msgs[i];
			switch (m->event) {
			case UFFD_EVENT_PAGEFAULT:
				break;
			case UFFD_EVENT_FORK:
				forked(c, p, m->arg.fork.ufd);
				break;
			case UFFD_EVENT_REMAP:
				remap(c, p, m->arg.remap.from, m->arg.remap.to, m->arg.remap.len);
				break;
			case UFFD_EVENT_REMOVE:
				removed(p, m->arg.remove.start, m->arg.remove.end);
				break;
			case UFFD_EVENT_UNMAP:
				cut(p, m->arg.remove.start, m->arg.remove.end, NULL, NULL);
				break;
			default:
				pr_warn("pid %u: unexpected userfaultfd event %u", p->pid, m->event);
			}
		}
		for (size_t i = 0; i < nm && p->state == LP_LIVE; i++) {
			const struct uffd_msg *m = &msgs[i];
			if (m->event != UFFD_EVENT_PAGEFAULT)
				continue;
			uint64_t a = m->arg.pagefault.address & ~(PG - 1);
			if (!p->tid)
				p->tid = m->arg.pagefault.feat.ptid;
			p->last_fault = t0;
			if (handle_fault(c, p, a, t0) == -EAGAIN)
				pend(p, a);
		}
	}
	/* faults that met a changing mm: their turn now that events are read */
	size_t np = p->nr_pending;
	p->nr_pending = 0;
	double t0 = now_us();
	for (size_t i = 0; i < np && p->state == LP_LIVE; i++)
		if (handle_fault(c, p, p->pending[i], t0) == -EAGAIN)
			pend(p, p->pending[i]);
}

/* ------------------------------------------------------------ background */

/*
 * Copies pages from i of r that are to do, in a row, within one run of the
 * image, at most max; 1 if it did (or tried), -1 if their unit is not
 * checked yet.
 */
static int chunk(struct lp_ctx *c, struct lp_proc *p, struct lp_range *r, uint64_t i, uint64_t max,
		 bool may_check, uint64_t *counter, uint64_t *end)
{
	uint64_t n = range_pages(r), img = r->start + i * PG + r->delta;
	long k = page_source_find(&p->src->local, img);

	if (k >= 0 && !lp_source_local(p->src, k)) {
		/* from the page server: what its read (sent without waiting) brought */
		uint64_t have = lp_source_fetched(p->src, k, img) / PG;
		if (!have)
			return -1;
		if (have < max)
			max = have;
	} else if (k >= 0) {
		const struct page_run *run = &p->src->local.runs[k];
		/*
		 * Hash a unit here only while the process is quiet (as for large
		 * chunks): otherwise the verifier thread does, ahead.
		 */
		if (!may_check && !lp_source_ready(p->src, k)) {
			lp_source_hint(p->src, k);
			return -1;
		}
		uint64_t left = (run->vaddr + run->nr_pages * PG - img) / PG;
		/*
		 * On into the next runs when they follow on (parts of one entry),
		 * local ones only: a page server's come through lp_source_fetched
		 * (a read of them here would wait, and race the one in flight).
		 */
		for (size_t j = k + 1; left < max && j < p->src->local.nr_runs; j++) {
			const struct page_run *prev = &p->src->local.runs[j - 1], *next = &p->src->local.runs[j];
			if (next->vaddr != prev->vaddr + prev->nr_pages * PG || !lp_source_local(p->src, j) ||
			    (!may_check && !lp_source_ready(p->src, j)))
				break;
			left += next->nr_pages;
		}
		if (left < max)
			max = left;
	}
	uint64_t e = i + 1;
	while (e < n && e - i < max && !bit(r->done, e))
		e++;
	*end = e;
	serve(c, p, r, i, e - i, LP_SLOT_BG, counter);
	return 1;
}

/* the rest of the last fault's granule, in pieces that double from one page */
static int around(struct lp_ctx *c, struct lp_proc *p)
{
	while (p->nr_around) {
		uint64_t s = p->around[0][0], e = p->around[0][1];
		struct lp_range *r = find_range(p, s);
		if (r) {
			uint64_t i = next_todo(r, (s - r->start) / PG), hi;
			hi = ((e < r->end ? e : r->end) - r->start) / PG;
			if (i < hi) {
				uint64_t end;
				int ret = chunk(c, p, r, i, hi - i < p->ramp ? hi - i : p->ramp,
						false, &c->st.fault_pages, &end);
				if (ret > 0) {
					p->around[0][0] = r->start + end * PG;
					if (p->ramp < c->granule / PG)
						p->ramp *= 2;
					return 1;
				}
			}
		}
		p->around[0][0] = p->around[1][0];
		p->around[0][1] = p->around[1][1];
		p->nr_around--;
	}
	return 0;
}

/*
 * From a page server a request cannot be taken back: the background's
 * reads go on their own connection, sent without waiting, but the server
 * answers one request at a time, so while the program faults a fault's
 * read still waits for the background reply the server is sending (p50
 * 150-200 us over loopback without this, against 60-90 with it).  So then
 * one remote chunk every LP_BG_REMOTE_GAP_US at most (the fill still makes
 * progress), and full speed once it is quiet; chunks read from local
 * images are not held back.  True: not now for addr (an address of the
 * process).
 */
static bool remote_hold(struct lp_proc *p, uint64_t addr)
{
	double t = now_us();
	const struct lp_range *r;
	long i;

	if (!p->src->remote || t - p->last_fault >= LP_BG_QUIET_US)
		return false;
	/* where the image has it (mremap moved it meanwhile: delta) */
	if ((r = find_range(p, addr)))
		addr += r->delta;
	if ((i = page_source_find(&p->src->local, addr)) >= 0 && lp_source_local(p->src, i))
		return false;
	if (t - p->last_bg < LP_BG_REMOTE_GAP_US)
		return true;
	p->last_bg = t;
	return false;
}

/*
 * The next runs of the recorded working set with pages still to do, up to
 * LP_WS_BATCH: 1 if pages were copied, 0 if the working set is all in, -1
 * if its next pages wait for a page server's reply.  Exactly the pages its
 * fault got (not the granule): the program's, nothing more.  The image
 * address is where the range is now (mremap: delta); pages no longer in a
 * range are skipped.
 */
static int working_set(struct lp_ctx *c, struct lp_proc *p)
{
	struct lp_ws *ws = &p->ws;
	uint64_t before = c->st.bg_pages, budget = LP_WS_BATCH / PG;

	/* a batch of runs (one page each, often) per call: the poll between calls costs more */
	for (; ws->replay && ws->next < ws->nr && c->st.bg_pages - before < budget; ws->next++) {
		const struct lp_ws_run *w = &ws->runs[ws->next];
		struct lp_range *r = NULL;
		for (size_t i = 0; i < p->nr && !r; i++)
			if (w->addr >= p->r[i].start + p->r[i].delta && w->addr < p->r[i].end + p->r[i].delta)
				r = &p->r[i];
		if (!r)
			continue;
		uint64_t lo = (w->addr - r->delta - r->start) / PG, n = range_pages(r), end;
		uint64_t hi = lo + w->nr_pages < n ? lo + w->nr_pages : n;
		for (uint64_t i = next_todo(r, lo); i < hi; i = next_todo(r, end)) {
			/*
			 * What the program needs first: checked here if the verifier
			 * has not yet; from a page server, what its background read
			 * brought (-1: a read is on its way, come back then).
			 */
			if (chunk(c, p, r, i, hi - i, true, &c->st.bg_pages, &end) < 0) {
				c->st.ws_pages += c->st.bg_pages - before;
				return c->st.bg_pages > before ? 1 : -1;
			}
		}
	}
	c->st.ws_pages += c->st.bg_pages - before;
	return c->st.bg_pages > before;
}

int lp_proc_background(struct lp_ctx *c, struct lp_proc *p)
{
	int ret;

	if (p->state != LP_LIVE || !p->remaining || !p->nr)
		return 0;
	if (p->nr_around && remote_hold(p, p->around[0][0]))
		return -1;
	if (around(c, p))
		return 1;
	if ((ret = working_set(c, p)))
		return ret < 0 ? -1 : 2;
	struct lp_range *r = find_range(p, p->cursor);
	size_t ri;
	uint64_t idx;

	if (r) {
		ri = r - p->r;
		idx = (p->cursor - r->start) / PG;
	} else {
		/* the first range after the cursor */
		for (ri = 0; ri < p->nr && p->r[ri].end <= p->cursor; ri++)
			;
		idx = 0;
	}
	for (size_t tries = 0; tries <= p->nr; tries++, ri++, idx = 0) {
		if (ri >= p->nr)
			ri = 0;
		r = &p->r[ri];
		uint64_t i = next_todo(r, idx), e;
		if (i >= range_pages(r))
			continue;
		bool quiet = now_us() - p->last_fault >= LP_BG_QUIET_US;
		uint64_t max = quiet ? LP_BG_CHUNK_QUIET : LP_BG_CHUNK;
		if (remote_hold(p, r->start + i * PG))
			return -1;
		if (chunk(c, p, r, i, max / PG, quiet, &c->st.bg_pages, &e) < 0)
			return -1;
		p->cursor = r->start + e * PG;
		return 1;
	}
	/* nothing left to do, whatever the count says */
	p->remaining = 0;
	return 0;
}

/* ------------------------------------------------------------ failure */

void lp_proc_fail(struct lp_ctx *c, struct lp_proc *p, const char *why)
{
	uint64_t poisoned;
	(void)c;

	if (p->state != LP_LIVE)
		return;
	p->state = LP_FAILED;
	poisoned = poison_missing(p, p->uffd);
	pr_err("pid %u: %s: %lu pages can no longer be had; poisoned %lu of them, killing the process",
	       p->pid, why, (unsigned long)p->remaining, (unsigned long)poisoned);
	if (!p->child)
		lp_proc_kill(p);
	else if (p->tid > 0 && p->own_pidns)
		kill(p->tid, SIGKILL);
	/* else the fork child's tid is not ours to name: criu restore ends it (with its tree) */
}

void lp_proc_kill(const struct lp_proc *p)
{
	if (p->pidfd >= 0 && syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0) &&
	    errno != ESRCH)
		pr_perror("pid %u: cannot kill it", p->pid);
}
