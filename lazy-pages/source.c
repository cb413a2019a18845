/* source.c - page data for the lazy-pages daemon (see source.h). */
#define LOG_PREFIX "lazy-pages: "
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/log.h"
#include "images/pagemap.pb-c.h"
#include "lazy-pages/source.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif

static int alloc_common(struct lp_source *s)
{
	s->verified = calloc(s->nr_units + 1, 1);
	for (int i = 0; i < LP_NR_SLOTS; i++) {
		s->cache[i].unit = -1;
		s->cache[i].data = aligned_alloc(4096, LP_RUN_MAX);
		if (!s->cache[i].data)
			return -1;
	}
	s->refs = 1;
	return s->verified ? 0 : -1;
}

/*
 * The units of the images this host has not: the page server's map (the
 * resolved runs cut in parts), the parts of runs that resolve to
 * such an image.  A unit there has no data pointer, and its image's
 * stand-in for fd (sorted and found by image as a local one).
 */
static int add_remote_units(struct lp_source *s, const struct ps_run *runs, size_t nr)
{
	uint64_t prev_end = 0;

	for (size_t i = 0; i < nr; i++) {
		const struct ps_run *m = &runs[i];
		if (m->vaddr % 4096 || !m->nr_pages || m->nr_pages > PAGEMAP_MAX_RUN ||
		    m->vaddr < prev_end || m->vaddr + m->nr_pages * 4096 > (1ULL << 57)) {
			pr_err("page server: pagemap of pid %u: run %zu (%lx, %lu pages) is malformed",
			       s->pid, i, (unsigned long)m->vaddr, (unsigned long)m->nr_pages);
			return -1;
		}
		prev_end = m->vaddr + m->nr_pages * 4096;
		long k = page_source_find(&s->local, m->vaddr);
		const struct page_run *r = k < 0 ? NULL : &s->local.runs[k];
		if (!r || prev_end > r->vaddr + r->nr_pages * 4096) {
			pr_err("page server: pid %u: its pages at %lx are not the pagemap's: wrong page "
			       "server or wrong images", s->pid, (unsigned long)m->vaddr);
			return -1;
		}
		if (!s->local.images[r->image].remote)
			continue;	/* this host has them */
		s->units[s->nr_units++] = (struct page_unit){
			m->vaddr, m->nr_pages, m->xxh3, r->file_off + (m->vaddr - r->vaddr), r->image, r->fd,
			NULL };
	}
	return 0;
}

/*
 * Opens the page source of pid: the images in dirfd (the chain); with a
 * page server c, the pages of the images this host has not come from it.
 */
static int source_open(struct ps_client *c, struct ps_client *bg, int dirfd, unsigned pid,
		       struct lp_source *s)
{
	struct ps_run *map = NULL;
	size_t nr_map = 0;

	memset(s, 0, sizeof(*s));
	s->evfd = -1;
	s->pid = pid;
	s->remote = c;
	s->remote_bg = bg;
	if (bg && !(s->fetch_buf = aligned_alloc(4096, LP_RUN_MAX)))
		return -1;
	/* checksums are checked unit by unit, as pages are served */
	if (c ? page_source_open_remote(dirfd, pid, &s->local) : page_source_open(dirfd, pid, 0, &s->local))
		return -1;
	bool fetch = false;
	for (int k = 0; k < s->local.nr_images; k++)
		fetch |= s->local.images[k].remote;
	if (fetch) {
		uint32_t flags = 0;
		if (ps_client_map(c, pid, &map, &nr_map, &flags))
			goto err;
		s->unhashed = flags & PS_MAP_UNHASHED;
	}
	/* local images mapped: pages are copied into the process straight from there */
	if (page_source_map(&s->local) || page_source_units(&s->local, nr_map, &s->units, &s->nr_units))
		goto err;
	s->nr_local = s->nr_units;
	if (add_remote_units(s, map, nr_map))
		goto err;
	if (page_source_cut(&s->local, s->units, s->nr_units))
		goto err;
	s->nr_pages = s->local.nr_pages;
	if (alloc_common(s))
		goto err;
	s->want = -1;
	free(map);
	return 0;
err:
	free(map);
	lp_source_close(s);
	return -1;
}

int lp_source_open_local(int dirfd, unsigned pid, struct lp_source *s)
{
	return source_open(NULL, NULL, dirfd, pid, s);
}

int lp_source_open_remote(struct ps_client *c, struct ps_client *bg, int dirfd, unsigned pid,
			  struct lp_source *s)
{
	return source_open(c, bg, dirfd, pid, s);
}

void lp_source_close(struct lp_source *s)
{
	if (s->has_verifier) {
		__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
		pthread_join(s->verifier, NULL);
	}
	if (s->evfd >= 0)
		close(s->evfd);
	/* a read still coming for it: drained into nothing */
	if (s->remote_bg && s->remote_bg->busy && s->remote_bg->owner == s)
		ps_client_disown(s->remote_bg);
	free(s->fetch_buf);
	if (s->local.nr_images)
		page_source_close(&s->local);
	for (int i = 0; i < LP_NR_SLOTS; i++)
		free(s->cache[i].data);
	free(s->units);
	free(s->verified);
	memset(s, 0, sizeof(*s));
	s->evfd = -1;
}

/* who checks: "pages of pid N" */
static const char *who(const struct lp_source *s)
{
	static __thread char w[48];
	snprintf(w, sizeof(w), "pages of pid %u", s->pid);
	return w;
}

/* local: checks unit ui (claimed by the caller: LP_CHECKING); true if good */
/*
 * Maps the pages of unit u before it is hashed.  Ahead (the verifier, the
 * fill): 2 MiB of the file at a time, since each call costs a drain of
 * the LRU caches, too much per 64 KiB part.  For a fault: a part is left
 * to page faults (fault-around maps 64 KiB at once), a whole entry (older
 * images, no parts) is mapped in one call.
 */
static void populate(const struct lp_source *s, const struct page_unit *u, uint64_t len, bool ahead)
{
	static __thread const uint8_t *lo, *hi;	/* this thread's last window */

	if (!ahead) {
		if (len > PAGEMAP_PART_BYTES)
			madvise((void *)u->data, len, MADV_POPULATE_READ);
		return;
	}
	if (u->data >= lo && u->data + len <= hi)
		return;
	const struct page_image *im = &s->local.images[u->image];
	uint64_t n = LP_RUN_MAX > len ? LP_RUN_MAX : len;
	if (n > (uint64_t)(im->map + im->map_len - u->data))
		n = im->map + im->map_len - u->data;
	madvise((void *)u->data, n, MADV_POPULATE_READ);
	lo = u->data;
	hi = u->data + n;
}

static bool check_mapped(struct lp_source *s, long ui, bool ahead)
{
	const struct page_unit *u = &s->units[ui];
	uint64_t len = u->nr_pages * 4096;
	bool ok;

	populate(s, u, len, ahead);
	ok = page_unit_check(u, u->data, who(s));
	if (!ok)
		__atomic_store_n(&s->bad, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&s->verified[ui], ok ? LP_GOOD : LP_BAD, __ATOMIC_RELEASE);
	return ok;
}

/* local: waits until unit ui is checked (checking it here if nobody is) */
static bool ensure_checked(struct lp_source *s, long ui, bool ahead)
{
	for (;;) {
		uint8_t st = __atomic_load_n(&s->verified[ui], __ATOMIC_ACQUIRE);
		if (st == LP_GOOD)
			return true;
		if (st == LP_BAD)
			return false;
		if (st == LP_UNCHECKED) {
			uint8_t want = LP_UNCHECKED;
			if (__atomic_compare_exchange_n(&s->verified[ui], &want, LP_CHECKING, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return check_mapped(s, ui, ahead);
			continue;
		}
		/* the verifier is at it: at most one unit's hash */
		sched_yield();
	}
}

static void *verifier_main(void *arg)
{
	struct lp_source *s = arg;
	long seen = -1, pos = 0;
	size_t left = s->nr_local;
	int quiet = 0;
	uint64_t one = 1;
	struct sched_param sp = { 0 };

	/*
	 * Work ahead on CPU time nobody else wants (SCHED_IDLE): a restored
	 * thread woken from a fault must not wait for a CPU behind a hash.  On
	 * 2 CPUs the program saw a fault p50 of 21-28 us in 3 runs of 8 where
	 * the daemon served it in 11-12 (nice 19 did no better); with this and
	 * the daemon's yield after a fault (proc.c), 11.2-12.4 us in 8 of 8.
	 * A fault or a quiet fill checks for itself what it has not reached.
	 */
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	while (left && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		long h = __atomic_load_n(&s->hint, __ATOMIC_ACQUIRE);
		/*
		 * A new hint moves it only onto a unit still to check: from one
		 * it already checked, the search for the next would walk over
		 * everything it did since (every fault of a reader behind it:
		 * 10% of a CPU at 4 GiB).
		 */
		if (h != seen) {
			seen = h;
			if (__atomic_load_n(&s->verified[h], __ATOMIC_ACQUIRE) == LP_UNCHECKED)
				pos = h;
		}
		/* the next unchecked local unit from pos on, wrapping once */
		size_t k;
		for (k = 0; k < s->nr_units; k++) {
			long ui = (pos + k) % s->nr_units;
			if (s->units[ui].data &&
			    __atomic_load_n(&s->verified[ui], __ATOMIC_ACQUIRE) == LP_UNCHECKED)
				break;
		}
		if (k == s->nr_units)
			break;
		long ui = (pos + k) % s->nr_units;
		pos = ui + 1;
		uint8_t want = LP_UNCHECKED;
		if (!__atomic_compare_exchange_n(&s->verified[ui], &want, LP_CHECKING, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			continue;	/* a fault took it */
		left--;
		check_mapped(s, ui, true);
		/*
		 * Wake the daemon's loop for the unit its fill waits for (and
		 * now and then): not for every part.  Paired with
		 * lp_source_ready: it publishes want, then looks at the state.
		 */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (++quiet >= 32 || !left || ui == __atomic_load_n(&s->want, __ATOMIC_SEQ_CST)) {
			quiet = 0;
			if (write(s->evfd, &one, sizeof(one)) < 0) {
				/* the counter cannot overflow; nothing to do */
			}
		}
	}
	return NULL;
}

int lp_source_start(struct lp_source *s)
{
	if (!s->nr_local)
		return 0;
	s->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->evfd < 0) {
		pr_perror("pid %u: cannot create an eventfd", s->pid);
		return -1;
	}
	if (pthread_create(&s->verifier, NULL, verifier_main, s)) {
		pr_err("pid %u: cannot start the verifier thread", s->pid);
		return -1;
	}
	s->has_verifier = true;
	return 0;
}

bool lp_source_ready(struct lp_source *s, long i)
{
	long ui = s->local.runs[i].unit;

	if (!s->units[ui].data)
		return true;	/* remote: checked as it is read */
	uint8_t st = __atomic_load_n(&s->verified[ui], __ATOMIC_ACQUIRE);
	if (st == LP_GOOD || st == LP_BAD)
		return true;
	/* not yet: ask the verifier to say when it is, then look again */
	__atomic_store_n(&s->want, ui, __ATOMIC_SEQ_CST);
	st = __atomic_load_n(&s->verified[ui], __ATOMIC_SEQ_CST);
	return st == LP_GOOD || st == LP_BAD;
}

void lp_source_hint(struct lp_source *s, long i)
{
	if (s->units[s->local.runs[i].unit].data)
		__atomic_store_n(&s->hint, s->local.runs[i].unit, __ATOMIC_RELEASE);
}

bool lp_source_local(const struct lp_source *s, long i)
{
	return s->units[s->local.runs[i].unit].data;
}

/*
 * remote: the data of [addr, addr + want) from unit ui on, read with the
 * units that follow on in one request (at least 512 KiB of them for the
 * background: fewer round trips), each checked against its XXH3 (64 KiB
 * parts: a fault waits for 16 KiB, not 2 MiB), and kept in the slot.
 */
/* the bytes from addr on that cache c holds of unit ui's image (0: none) */
static uint64_t cached(const struct lp_source *s, const struct lp_cache *c, long ui, uint64_t addr)
{
	/* the same image's data (the slot may hold another image's: local_fault) */
	if (c->unit >= 0 && s->units[c->unit].fd == s->units[ui].fd && addr >= c->vaddr &&
	    addr < c->vaddr + c->len)
		return c->vaddr + c->len - addr;
	return 0;
}

/*
 * The bytes from addr (in run i) on that cache c holds and that are that
 * image's newest data: through the runs that follow on, as long as they
 * resolve to the same image.  (Remote units are the server's resolved
 * runs, so a read of one image's units never spans another's pages
 * today; this keeps it so should units ever be whole entries.)
 */
static uint64_t cached_runs(const struct lp_source *s, const struct lp_cache *c, long i, uint64_t addr)
{
	uint64_t have = cached(s, c, s->local.runs[i].unit, addr), end = addr + have, at = addr;

	for (size_t j = i; have && j < s->local.nr_runs && at < end; j++) {
		const struct page_run *r = &s->local.runs[j];
		if (r->vaddr > at || s->units[r->unit].fd != s->units[c->unit].fd)
			break;
		at = r->vaddr + r->nr_pages * 4096;
	}
	return (at < end ? at : end) - addr;
}

/* the remote units from ui on that one read takes to reach goal: the last, *end */
static long span(const struct lp_source *s, long ui, uint64_t goal, uint64_t *end)
{
	uint64_t start = s->units[ui].vaddr;
	long uj = ui;

	*end = start + s->units[ui].nr_pages * 4096;
	/* the units of one image (the same fd) are together, sorted */
	while (*end < goal && (size_t)uj + 1 < s->nr_units && s->units[uj + 1].vaddr == *end &&
	       s->units[uj + 1].fd == s->units[ui].fd &&
	       *end + s->units[uj + 1].nr_pages * 4096 - start <= LP_RUN_MAX)
		*end += s->units[++uj].nr_pages * 4096;
	return uj;
}

/* units ui..uj, read into data (from the first's vaddr), checked; true if all are good */
static bool check_span(struct lp_source *s, const uint8_t *data, long ui, long uj)
{
	uint64_t start = s->units[ui].vaddr;

	for (long k = ui; k <= uj; k++) {
		const struct page_unit *u = &s->units[k];
		/* unhashed (live memory): the read checked its reply's XXH3 */
		if (!s->unhashed && !page_unit_check(u, data + (u->vaddr - start), who(s)))
			return false;
		s->verified[k] = LP_GOOD;
	}
	return true;
}

static const uint8_t *remote_span(struct lp_source *s, int slot, long ui, uint64_t addr,
				  uint64_t want)
{
	struct lp_cache *c = &s->cache[slot];

	if (cached(s, c, ui, addr) >= want)
		return c->data + (addr - c->vaddr);
	if (slot == LP_SLOT_BG && s->remote_bg && s->remote_bg->busy && s->remote_bg->owner == s) {
		/* its reply would take this cache's buffer from under the read (lp_source_fetch_recv) */
		pr_err("pid %u: internal error: a background read of %lx while one is on its way",
		       s->pid, (unsigned long)addr);
		return NULL;
	}
	uint64_t start = s->units[ui].vaddr, end;
	uint64_t goal = addr + want;
	if (slot == LP_SLOT_BG && goal < start + LP_RUN_MAX / 4)
		goal = start + LP_RUN_MAX / 4;
	long uj = span(s, ui, goal, &end);
	c->unit = -1;
	if (end - start > LP_RUN_MAX || ps_client_read(s->remote, s->pid, start, c->data, end - start) ||
	    !check_span(s, c->data, ui, uj))
		return NULL;
	c->unit = ui;
	c->vaddr = start;
	c->len = end - start;
	return c->data + (addr - start);
}

uint64_t lp_source_fetched(struct lp_source *s, long i, uint64_t addr)
{
	const struct page_run *r = &s->local.runs[i];
	struct lp_cache *c = &s->cache[LP_SLOT_BG];
	struct ps_client *bg = s->remote_bg;
	uint64_t have = cached_runs(s, c, i, addr);

	if (have)
		return have;
	/* without it (or it failed): the background reads for itself, waiting */
	if (!bg || bg->broken)
		return r->vaddr + r->nr_pages * 4096 - addr;
	if (bg->busy)
		return 0;
	long ui = r->unit;
	uint64_t start = s->units[ui].vaddr, end;
	/* 512 KiB at least, as the synchronous background reads */
	long uj = span(s, ui, start + LP_RUN_MAX / 4, &end);
	if (ps_client_start_read(bg, s->pid, start, s->fetch_buf, end - start, s))
		return r->vaddr + r->nr_pages * 4096 - addr;	/* as above */
	s->fetch_ui = ui;
	s->fetch_uj = uj;
	s->fetch_start = start;
	return 0;
}

int lp_source_fetch_recv(struct ps_client *bg)
{
	struct lp_source *s = bg->owner;
	int ret = ps_client_recv_read(bg);

	if (!s || !ret)
		return ret < 0 && s ? -1 : 0;
	if (ret < 0) {
		/* data corrupt on the way stops the process; a lost connection, the way */
		if (bg->corrupt)
			__atomic_store_n(&s->bad, 1, __ATOMIC_RELEASE);
		return -1;
	}
	if (!check_span(s, s->fetch_buf, s->fetch_ui, s->fetch_uj)) {
		__atomic_store_n(&s->bad, 1, __ATOMIC_RELEASE);
		return -1;
	}
	/* the read becomes the background cache; its buffer takes the next read */
	struct lp_cache *c = &s->cache[LP_SLOT_BG];
	uint8_t *old = c->data;
	c->data = s->fetch_buf;
	s->fetch_buf = old;
	c->unit = s->fetch_ui;
	c->vaddr = s->fetch_start;
	c->len = s->units[s->fetch_uj].vaddr + s->units[s->fetch_uj].nr_pages * 4096 - s->fetch_start;
	return 0;
}

/*
 * local, for a fault on unit ui that nobody has checked: the unit is read
 * into the slot's buffer and checked there, and the fault is served from
 * it.  Reading and hashing 16 KiB that way costs ~3 us here; through the
 * mapping, whose pages the daemon has not touched yet, the page faults
 * alone cost more than that.  NULL with *mine false: someone else checks it.
 */
static const uint8_t *local_fault(struct lp_source *s, int slot, long ui, bool *mine)
{
	const struct page_unit *u = &s->units[ui];
	struct lp_cache *c = &s->cache[slot];
	uint64_t len = u->nr_pages * 4096;
	uint8_t want = LP_UNCHECKED;

	*mine = false;
	if (c->unit == ui)
		return c->data;
	if (len > LP_RUN_MAX ||
	    !__atomic_compare_exchange_n(&s->verified[ui], &want, LP_CHECKING, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return NULL;
	*mine = true;
	c->unit = -1;
	bool ok = !page_unit_read_check(&s->local, u, c->data);
	if (!ok)
		__atomic_store_n(&s->bad, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&s->verified[ui], ok ? LP_GOOD : LP_BAD, __ATOMIC_RELEASE);
	if (!ok)
		return NULL;
	c->unit = ui;
	c->vaddr = u->vaddr;
	c->len = len;
	return c->data;
}

const void *lp_source_get(struct lp_source *s, int slot, long i, uint64_t addr, uint64_t len)
{
	long ui = s->local.runs[i].unit;
	const struct page_unit *u = &s->units[ui];

	if (!u->data)
		return remote_span(s, slot, ui, addr, len);
	if (slot == LP_SLOT_FAULT) {
		bool mine;
		const uint8_t *d = local_fault(s, slot, ui, &mine);
		if (d || mine)
			return d ? d + (addr - u->vaddr) : NULL;
	}
	return ensure_checked(s, ui, slot != LP_SLOT_FAULT) ? u->data + (addr - u->vaddr) : NULL;
}

const void *lp_source_get_more(struct lp_source *s, int slot, long i, uint64_t addr, uint64_t *len)
{
	const struct page_run *r = &s->local.runs[i];
	uint64_t want = *len, have = r->vaddr + r->nr_pages * 4096 - addr;

	if (have > want)
		have = want;
	if (!lp_source_local(s, i)) {
		/* as far as one request reaches, in runs of its image */
		const uint8_t *d = remote_span(s, slot, s->local.runs[i].unit, addr, want);
		if (!d)
			return NULL;
		uint64_t reach = cached_runs(s, &s->cache[slot], i, addr);
		*len = reach < want ? reach : want;
		return d;
	}
	const uint8_t *d = lp_source_get(s, slot, i, addr, have);
	if (!d)
		return NULL;
	if (d >= s->cache[slot].data && d < s->cache[slot].data + LP_RUN_MAX) {
		/* read into the slot's buffer (local_fault): that unit only */
		*len = have;
		return d;
	}
	/* on through the local runs whose data follows on in the mapping */
	while (have < want && (size_t)++i < s->local.nr_runs) {
		r = &s->local.runs[i];
		if (r->vaddr != addr + have || !lp_source_local(s, i))
			break;
		uint64_t n = r->nr_pages * 4096;
		if (n > want - have)
			n = want - have;
		/* a unit that fails its check stops here; the next call reports it */
		if (lp_source_get(s, slot, i, addr + have, n) != d + have)
			break;
		have += n;
	}
	*len = have;
	return d;
}
