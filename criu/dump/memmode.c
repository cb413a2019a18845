/*
 * memmode.c - how a dump copies memory, one mode each behind one table:
 *   full       the tree stays frozen while its pages are copied;
 *   pre-dump   the tree runs while copied; with --track-mem, what it writes
 *              from now on is tracked (userfaultfd WP_ASYNC) for the next round;
 *   snapshot   --live-snapshot: memory write-protected while frozen, copied
 *              while the tree runs (criu/snapshot/);
 *   post-copy  --lazy-pages: nothing copied, the frozen tree's memory is
 *              served to the restore (postcopy.c), then the tree is killed.
 * Also what every mode shares: collecting a process's memory state with its
 * write tracker, and the undo of a failed round.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "criu/dump/dump-run.h"
#include "criu/infect/infect.h"
#include "criu/net/netlock.h"

/* the process's Mm in the parent images; NULL (not an error) if it was not there */
static int load_parent_mm(int pfd, pid_t pid, Mm **mm)
{
	char name[64];

	*mm = NULL;
	img_name(IMG_MM, pid, name, sizeof(name));
	if (faccessat(pfd, name, F_OK, 0))
		return 0;
	return img_read_one(pfd, IMG_MM, pid, (ProtobufCMessage **)mm);
}

/* is [s, e) covered by mappings the parent recorded as write-tracked? */
static bool parent_tracked(const Mm *pm, uint64_t s, uint64_t e)
{
	for (size_t i = 0; pm && i < pm->n_vmas && s < e; i++) {
		const Vma *v = pm->vmas[i];
		if (!v->has_tracked || !v->tracked || v->end <= s)
			continue;
		if (v->start > s)
			return false;
		s = v->end;
	}
	return s >= e;
}

static bool vma_trackable(const Vma *v)
{
	return v->kind == VMA_KIND__VMA_ANON_PRIVATE || v->kind == VMA_KIND__VMA_FILE_PRIVATE;
}

/*
 * Write tracking, while the process is frozen: finds the tracking uffd of
 * the previous round (or, with create, makes one).  r->tracked[i] says VMA
 * i has been tracked since the parent image, so that its unwritten pages
 * are the parent's: the parent recorded it as tracked and the kernel still
 * write-protects it for us (a mapping that was unmapped, moved or replaced
 * since is not registered any more).
 */
static int find_tracking(struct dump_proc *p, const struct opts *o, bool create,
			 struct proc_round *r)
{
	const Mm *pm = r->parent_mm;
	struct track *tr = &r->tr;
	bool attached = false;

	if (pm && pm->has_track_fd && pm->track_fd >= 0) {
		int ret = track_attach(p->pid, pm->track_fd, pm->track_ino, tr);
		if (ret < 0)
			return -1;
		attached = ret == 0;
		if (attached)
			p->skip_fd = tr->target_fd;
	}
	if (!o->track_mem)
		return 0;
	for (size_t i = 0; attached && i < p->mm->n_vmas; i++) {
		const Vma *v = p->mm->vmas[i];
		r->tracked[i] = vma_trackable(v) && parent_tracked(pm, v->start, v->end) &&
				track_is_armed(tr, v->start);
	}
	if (!create || attached)
		return 0;
	struct infect c;
	if (infect_begin(&c, p->pid))
		return -1;
	int ret = track_create(&c, p->pid, tr);
	if (infect_end(&c) || ret)
		return -1;
	r->created = true;
	p->skip_fd = tr->target_fd;
	return 0;
}

/*
 * Registers every private mapping not tracked yet: copied in full this
 * round, tracked from now on.  Safe while the process runs: what it writes
 * before a mapping is protected is in this round's copy, made after.  The
 * Mm image records which mappings are tracked, for the next round.
 */
static void arm_tracking(struct dump_proc *p, struct track *tr, const bool *tracked)
{
	for (size_t i = 0; i < p->mm->n_vmas; i++) {
		Vma *v = p->mm->vmas[i];
		if (!vma_trackable(v))
			continue;
		if (!tracked[i]) {
			int r = track_arm(tr, v->start, v->end);
			if (r == -EBUSY)
				pr_warn("pid %d: %lx-%lx is registered with the program's own userfaultfd: copied in full every round",
					p->pid, (unsigned long)v->start, (unsigned long)v->end);
			else if (r)
				pr_info("pid %d: %lx-%lx not tracked (%s; changed meanwhile?): copied in full next round",
					p->pid, (unsigned long)v->start, (unsigned long)v->end, strerror(-r));
			if (r)
				continue;
		}
		v->has_tracked = v->tracked = true;
	}
}

/* removes criu's tracking uffd from the (seized) process */
int drop_tracking(pid_t pid, struct track *tr)
{
	struct infect c;
	int err;

	if (tr->uffd < 0)
		return 0;
	if (infect_begin(&c, pid))
		return -1;
	err = track_close_in_task(&c, tr);
	if (infect_end(&c))
		err = -1;
	return err;
}

int collect_proc(struct dump_run *r, size_t i)
{
	struct dump_proc *p = &r->t.procs[i];
	struct proc_round *pr = &r->rounds[i];
	bool pre = r->pre;
	uint64_t brk = 0;

	/*
	 * smaps (VmFlags) costs a page table walk: a pre-dump does without; a
	 * live snapshot read it before the freeze; the others read it beside
	 * the dump (vmflags.c: joined by flags_join before any use)
	 */
	bool beside = r->mode->maps_kept && !r->prep;
	if (beside ? proc_read_maps(p->pid, false, &p->maps)
		   : snapshot_read_maps(r->prep, p->pid, !pre, &p->maps))	/* proc_read_maps */
		return -1;
	pr->flags_later = beside;
	pr_debug("pid %d: seized, %zu mappings read", p->pid, p->maps.nr);
	if (!pre && dump_core(p, &brk))
		return -1;
	/* guard regions: a page table walk, beside the dump too when the flags are */
	if (dump_mm(p, pre ? p->stat.start_brk : brk, !pre && !r->o->file_validation_size) ||
	    (!pre && (dump_numa_vmas(p) || (!beside && dump_guards(p)))))
		return -1;
	if (r->pfd >= 0 && load_parent_mm(r->pfd, p->pid, &pr->parent_mm))
		return -1;
	pr->tracked = calloc(p->mm->n_vmas + 1, sizeof(bool));
	if (!pr->tracked || find_tracking(p, r->o, pre, pr))
		return -1;
	if (pre && pr->tr.uffd >= 0) {
		p->mm->has_track_fd = p->mm->has_track_ino = true;
		p->mm->track_fd = pr->tr.target_fd;
		p->mm->track_ino = pr->tr.ino;
	}
	pr_debug("pid %d: state collected", p->pid);
	return 0;
}

/*
 * The VmFlags read beside the dump: started once no more syscalls are
 * injected (an injected mmap or munmap waits for the mm lock smaps holds
 * while it walks the page tables), so that the walk overlaps the page
 * plan and copy, which only read the memory
 */
int flags_start(struct dump_run *r)
{
	for (size_t i = 0; r->rounds && i < r->t.nr; i++) {
		struct proc_round *pr = &r->rounds[i];
		if (!r->t.procs[i].zombie && pr->flags_later) {
			pr->flags_later = false;
			if (vmflags_start(&pr->flags, r->t.procs[i].pid, r->pre ? NULL : r->t.procs[i].mm))
				return -1;
		}
	}
	return 0;
}

/* the VmFlags of every process, read beside the dump, in place: before any use */
int flags_join(struct dump_run *r)
{
	for (size_t i = 0; r->rounds && i < r->t.nr; i++)
		if (!r->t.procs[i].zombie && vmflags_join(&r->rounds[i].flags, &r->t.procs[i]))
			return -1;
	return 0;
}

void free_rounds(struct proc_round *rounds, size_t nr)
{
	for (size_t i = 0; rounds && i < nr; i++) {
		vmflags_cancel(&rounds[i].flags);
		snapshot_free(rounds[i].snap);
		track_release(&rounds[i].tr);
		page_plan_free(&rounds[i].plan);
		free(rounds[i].tracked);
		if (rounds[i].parent_mm)
			mm__free_unpacked(rounds[i].parent_mm, NULL);
	}
	free(rounds);
}

/* --live-snapshot: no protection stays behind (closing the uffd drops it all) */
static void drop_snapshots(struct dump_run *r)
{
	for (size_t i = 0; r->rounds && i < r->t.nr; i++) {
		snapshot_free(r->rounds[i].snap);
		r->rounds[i].snap = NULL;
	}
}

/* a failed round: no tracker it created stays behind (the tree is unseized after) */
void undo_rounds(struct dump_run *r)
{
	drop_snapshots(r);
	for (size_t i = 0; r->rounds && i < r->t.nr; i++) {
		struct dump_proc *p = &r->t.procs[i];
		struct proc_round *pr = &r->rounds[i];
		if (!pr->created)
			continue;
		if (p->seized) {
			drop_tracking(p->pid, &pr->tr);
		} else if (seize_task(p->pid) == 0) {
			drop_tracking(p->pid, &pr->tr);
			unseize_task(p->pid);
		}
	}
}

/* one process's pages planned and written (pre-dump: tolerant of a running process) */
static int copy_planned(struct dump_run *r, size_t i, struct dump_stats *ps)
{
	struct dump_proc *p = &r->t.procs[i];
	struct proc_round *pr = &r->rounds[i];
	double tplan = clock_now_ms();

	struct mem_proc m = dump_mem_proc(p);
	struct pages_stats st = { 0 };

	if (page_plan_make(&m, pr->tracked, &pr->plan))
		return -1;
	r->st.plan_ms += clock_now_ms() - tplan;
	pr_debug("pid %d: %zu runs planned, %lu pages to copy", p->pid, pr->plan.nr,
		 (unsigned long)pr->plan.total);
	pr->plan.no_data = r->o->lazy_pages;	/* post-copy: the memory is served later */
	if (pages_write(&m, &pr->plan, r->dirfd, r->pre, &st))
		return -1;
	*ps = (struct dump_stats){ .pages = st.pages, .bytes = st.bytes, .pages_ms = st.ms };
	return 0;
}

/* the tree, kept frozen, is done with: killed, or let run with --leave-running */
int end_tree(struct dump_run *r)
{
	const struct opts *o = r->o;

	/* nothing of criu stays in the processes */
	for (size_t i = 0; o->leave_running && i < r->t.nr; i++)
		if (!r->t.procs[i].zombie && drop_tracking(r->t.procs[i].pid, &r->rounds[i].tr)) {
			r->ended = true;	/* as it was: CRIU's stray tracker is harmless */
			return -1;
		}
	/* frozen until released or killed; reaping large processes comes after */
	r->frozen_ms = clock_now_ms() - r->tfreeze;
	if (o->leave_running) {
		netlock_free(r->nl);
		r->nl = NULL;
		tree_unseize(&r->t);
		r->ended = true;
		return cr_notify(o, "network-unlock", 0, -1);
	}
	/* the connections stay locked and in repair for the restore */
	if (netlock_keep(r->nl) || net_repair_tree(&r->t, true))
		return -1;
	r->ended = true;
	return tree_kill(&r->t);
}

/* full: copied while frozen */
static const struct mem_mode mode_full = {
	.name = "full",
	.copy = copy_planned,
	.end = end_tree,
	.maps_kept = true,
};

/* pre-dump: copied while the tree runs; what it writes from now on is tracked */
static int predump_let_go(struct dump_run *r)
{
	tree_unseize(&r->t);
	r->frozen_ms = clock_now_ms() - r->tfreeze;
	for (size_t i = 0; r->o->track_mem && i < r->t.nr; i++)
		if (!r->t.procs[i].zombie)
			arm_tracking(&r->t.procs[i], &r->rounds[i].tr, r->rounds[i].tracked);
	return 0;
}

static const struct mem_mode mode_predump = {
	.name = "pre-dump",
	.let_go = predump_let_go,
	.copy = copy_planned,
};

/*
 * --live-snapshot, while frozen: plans each process's pages and protects
 * its memory (criu/snapshot/); the copy runs after the tree is let go.
 */
static int snapshot_frozen(struct dump_run *r)
{
	for (size_t i = 0; i < r->t.nr; i++) {
		struct dump_proc *p = &r->t.procs[i];
		struct proc_round *pr = &r->rounds[i];
		bool planned = false;
		if (p->zombie)
			continue;
		/* written pages of tracked mappings: planned with the tracker, which then goes */
		for (size_t k = 0; pr->tracked && k < p->mm->n_vmas; k++)
			planned |= pr->tracked[k];
		struct mem_proc m = dump_mem_proc(p);
		if ((planned && page_plan_make(&m, pr->tracked, &pr->plan)) ||
		    (!r->pre && drop_tracking(p->pid, &pr->tr)) ||
		    snapshot_arm(&m, &r->prep, &pr->plan, planned, r->dirfd, r->pre && r->o->track_mem,
				 &pr->snap))
			return -1;
	}
	snapshot_free(r->prep);	/* not the root's after all */
	r->prep = NULL;
	return 0;
}

static int snapshot_let_go(struct dump_run *r)
{
	netlock_free(r->nl);
	r->nl = NULL;
	tree_unseize(&r->t);
	r->frozen_ms = clock_now_ms() - r->tfreeze;
	return 0;
}

/* pre-dump --live-snapshot --track-mem: tracking takes over after the copy */
struct handover {
	struct dump_proc *p;
	struct proc_round *r;
};

static void arm_after_snapshot(void *arg)
{
	struct handover *h = arg;
	Mm *mm = h->p->mm;

	arm_tracking(h->p, &h->r->tr, h->r->tracked);
	/* written untracked since the freeze (copied while frozen): in full next round */
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (mm->vmas[i]->tracked && !h->r->tracked[i] &&
		    !snapshot_protected(h->r->snap, mm->vmas[i]->start, mm->vmas[i]->end))
			mm->vmas[i]->tracked = false;
}

/*
 * After the copy: the process frozen again (every thread), so that no write
 * falls between the snapshot's protection and the tracker's
 */
static int handover_frozen(struct dump_proc *p, struct proc_round *pr)
{
	struct dump_proc q = { .pid = p->pid };
	struct handover h = { p, pr };
	int err = -1;

	if (seize_task(p->pid))
		return -1;
	if (!seize_threads(&q))
		err = snapshot_handover(pr->snap, pr->tr.uffd, arm_after_snapshot, &h);
	unseize_threads(&q);
	unseize_task(p->pid);
	free(q.tids);
	free(q.thread_cores);
	return err;
}

static int snapshot_copy_one(struct dump_run *r, size_t i, struct dump_stats *ps)
{
	struct dump_proc *p = &r->t.procs[i];
	struct proc_round *pr = &r->rounds[i];
	struct mem_proc m = dump_mem_proc(p);
	struct pages_stats st = { 0 };

	if (snapshot_copy(pr->snap, &m, &p->maps, &pr->plan, r->dirfd, &st))
		return -1;
	*ps = (struct dump_stats){ .pages = st.pages, .bytes = st.bytes, .pages_ms = st.ms };
	if (r->pre && r->o->track_mem && handover_frozen(p, pr))
		return -1;
	return 0;
}

static int snapshot_end(struct dump_run *r)
{
	drop_snapshots(r);
	r->ended = true;	/* it has run since the copy began */
	return 0;
}

static const struct mem_mode mode_snapshot = {
	.name = "live snapshot",
	.frozen = snapshot_frozen,
	.let_go = snapshot_let_go,
	.copy = snapshot_copy_one,
	.end = snapshot_end,
};

/* post-copy: frozen until the restore has every page, resumed if it fails */
static int postcopy_end(struct dump_run *r)
{
	int lr = dump_lazy_serve(r->o, &r->t, r->dirfd);

	r->t.leave_stopped = lr > 0;
	if (lr)
		return -1;
	return end_tree(r);
}

static const struct mem_mode mode_postcopy = {
	.name = "post-copy",
	.copy = copy_planned,
	.end = postcopy_end,
	.maps_kept = true,
};

const struct mem_mode *mem_mode_of(const struct opts *o, bool pre)
{
	if (o->live_snapshot)
		return &mode_snapshot;
	if (pre)
		return &mode_predump;
	if (o->lazy_pages)
		return &mode_postcopy;
	return &mode_full;
}
