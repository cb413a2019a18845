/* arm.c - protecting a process's memory for the live snapshot (see
 * snapshot-int.h): before the freeze (snapshot_prepare) and at it
 * (snapshot_arm), with the page plan and the VmFlags. */
#define LOG_PREFIX "snapshot: "
#include <sys/eventfd.h>

#include "common/clock.h"
#include "criu/infect/infect.h"
#include "images/pages.h"
#include "common/log.h"
#include "criu/snapshot/snapshot-int.h"

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

int protect(struct snapshot *s, const Vma *v)
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

int protect_range(struct snapshot *s, uint64_t start, uint64_t end)
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
	s->patch = calloc(PAGES_BATCH_PAGES + 1, 3 * sizeof(uint64_t));
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
static int set_present(void *arg, uint64_t start, uint64_t end, uint64_t categories)
{
	struct pre_reg *r = arg;
	(void)categories;
	for (uint64_t a = start; a < end; a += PS)
		set_bit(r->present, (a - r->r.start) / PS);
	return 0;
}

static int scan_bits(struct snapshot *s, struct pre_reg *r)
{
	/* as page_plan_make: never the zero page (anonymous: no file pages) */
	if (scan_walk(s->uf.pmfd, r->r.start, r->r.end, &SCAN_MAPPED_DATA, set_present, r)) {
		pr_perror("pid %d: PAGEMAP_SCAN of %lx-%lx failed", s->pid,
			  (unsigned long)r->r.start, (unsigned long)r->r.end);
		return -1;
	}
	return 0;
}

static int reprotect_written(struct snapshot *s);

int snapshot_open(pid_t pid, struct snapshot **out)
{
	*out = snap_new(pid);
	return *out ? snap_uffd(*out) : -1;
}

int snapshot_prepare(struct snapshot *s)
{
	struct proc_maps maps = { 0 };
	pid_t pid = s->pid;
	double t0 = clock_now_ms();
	int err = -1;

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
		if (!r->present || scan_bits(s, r))
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
	pr_info("pid %d: %zu mappings write-protected before the freeze in %.1f ms", pid,
		s->nr_pre, clock_now_ms() - t0);
	err = 0;
out:
	proc_maps_free(&maps);
	return err;
}

static const struct pre_reg *pre_of(const struct snapshot *s, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < s->nr_pre; i++)
		if (s->pre[i].r.start <= start && end <= s->pre[i].r.end)
			return &s->pre[i];
	return NULL;
}

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

/* the next bit of value set in b from bit i on, below n (n if none): a word at a time */
static uint64_t next_bit(const uint64_t *b, uint64_t i, uint64_t n, bool set)
{
	while (i < n) {
		uint64_t w = set ? b[i / 64] : ~b[i / 64];
		w &= ~0ULL << (i % 64);
		if (w)
			return i - i % 64 + __builtin_ctzll(w) < n ? i - i % 64 + __builtin_ctzll(w) : n;
		i = i - i % 64 + 64;
	}
	return n;
}

/* the runs of v's pages set in r's bitmap, into the plan (in the freeze: a word at a time) */
static int plan_bits(const struct pre_reg *r, const Vma *v, struct page_plan *plan)
{
	bool readable = v->prot & PROT_READ;
	uint64_t first = (v->start - r->r.start) / PS, n = (v->end - r->r.start) / PS;

	for (uint64_t i = next_bit(r->present, first, n, true); i < n;) {
		uint64_t j = next_bit(r->present, i, n, false);
		if (page_plan_add(plan, r->r.start + i * PS, r->r.start + j * PS, readable, false))
			return -1;
		i = next_bit(r->present, j, n, true);
	}
	return 0;
}

/*
 * Frozen, with the mappings protected before the freeze: the plan is the
 * pages they had then, but where they were written since (faults: the only
 * way a page comes into being there), scanned again; other mappings are
 * protected and scanned now.
 */
static int plan_prepared(struct snapshot *s, const struct mem_proc *p, struct page_plan *plan)
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
			if (page_plan_vma(s->uf.pmfd, s->pid, v, plan))
				return -1;
			continue;
		}
		if (plan_bits(r, v, plan))
			return -1;
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
		out->vmas[i].pkey = pm->vmas[i].pkey;
	}
	prep->flags_from_pre = true;
	return 0;
}

/*
 * VmFlags were read before the freeze: the mappings must show the same
 * after the copy (ours, "uw", and "ac", which mprotect may add, aside), or
 * they may have changed around the freeze.
 */
int check_flags(struct snapshot *s, const struct proc_maps *frozen)
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

int snapshot_arm(const struct mem_proc *p, struct snapshot **prep, struct page_plan *plan,
		 bool planned, int dirfd, bool keep, struct snapshot **out)
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
	s->pfd = pages_image_create(p->pid, p->dump_id, dirfd);
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
		if (!planned && page_plan_make(p, NULL, plan))
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
