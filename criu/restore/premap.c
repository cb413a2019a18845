/*
 * premap.c - private memory a child shares with its parent copy-on-write
 * (Vma.cow, found by dump's cow.c), anonymous or of a file (mapped from
 * the file: the pages nobody wrote stay the file's).  Such a mapping is made and filled by
 * the parent before it forks (still in criu's code, at a place free in
 * every layout: the premap area, reserved by criu), so that the child
 * inherits the very pages; the child moves its copy to a place of its
 * own, drops the pages that are not its parent's any more and reads its
 * own over them, before it forks in turn.  Each restorer then moves its
 * mappings into place (rst_vma.premap) instead of mapping and filling them.
 * With --lazy-pages such mappings are filled this way too, not lazily.
 */
#define LOG_PREFIX "restore: "
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/restore/restore.h"

/* a private anonymous mapping that can be premapped (as cow.c judges, and written once) */
static bool premappable(const Vma *v)
{
	return (v->kind == VMA_KIND__VMA_ANON_PRIVATE || v->kind == VMA_KIND__VMA_FILE_PRIVATE) &&
	       !(v->flags & MAP_GROWSDOWN) &&
	       !(v->vm_flags & (VMA_F_DONTFORK | VMA_F_WIPEONFORK)) &&
	       ((v->vm_flags & VMA_F_ACCOUNT) || (v->prot & PROT_WRITE));
}

/* index of p's mapping of exactly [start, end), or -1 */
static int vma_at(const struct rst_proc *p, uint64_t start, uint64_t end)
{
	for (size_t k = 0; k < p->mm->n_vmas; k++)
		if (p->mm->vmas[k]->start == start && p->mm->vmas[k]->end == end)
			return k;
	return -1;
}

int rst_premap_mark(struct rst_tree *t)
{
	for (size_t i = 0; i < t->nr; i++)
		if (!t->procs[i].zombie) {
			t->procs[i].premap = calloc(t->procs[i].mm->n_vmas + 1, sizeof(uint64_t));
			if (!t->procs[i].premap)
				return -1;
		}
	/* a child's mapping with pages of its parent's: both are premapped */
	for (size_t i = 1; i < t->nr; i++) {
		struct rst_proc *c = &t->procs[i], *p = &t->procs[c->parent];
		for (size_t k = 0; !c->zombie && k < c->mm->n_vmas; k++) {
			const Vma *w = c->mm->vmas[k];
			int pk = w->n_cow && premappable(w) ? vma_at(p, w->start, w->end) : -1;
			if (pk < 0 || !premappable(p->mm->vmas[pk]))
				continue;
			c->premap[k] = p->premap[pk] = 1;	/* placed by rst_premap_plan */
		}
	}
	return 0;
}

int rst_premap_plan(struct rst_tree *t)
{
	uint64_t total = 0, start = 0;

	for (int pass = 0; pass < 2; pass++) {
		uint64_t off = 0;
		for (size_t i = 0; i < t->nr; i++)
			for (size_t k = 0; !t->procs[i].zombie && k < t->procs[i].mm->n_vmas; k++) {
				if (!t->procs[i].premap[k])
					continue;
				if (pass)
					t->procs[i].premap[k] = start + off;
				off += t->procs[i].mm->vmas[k]->end - t->procs[i].mm->vmas[k]->start;
			}
		total = off;
		if (!pass && (!total || rst_premap_reserve(t, total, &start)))
			return total ? -1 : 0;
	}
	t->premap_start = start;
	t->premap_end = start + total;
	for (size_t i = 0; i < t->nr; i++) {
		t->procs[i].premap_start = start;
		t->procs[i].premap_end = start + total;
	}
	pr_debug("premap area %lx-%lx for memory shared copy-on-write", (unsigned long)start,
		 (unsigned long)(start + total));
	return 0;
}

/* is [a, b) in cow ranges (pairs, sorted) of w?  *next: where that changes */
static bool in_cow(const Vma *w, uint64_t a, uint64_t *next)
{
	for (size_t r = 0; r + 1 < w->n_cow; r += 2) {
		if (a < w->cow[r]) {
			*next = w->cow[r];
			return false;
		}
		if (a < w->cow[r + 1]) {
			*next = w->cow[r + 1];
			return true;
		}
	}
	*next = w->end;
	return false;
}

static int read_into(int fd, uint64_t dst, uint64_t len, uint64_t off)
{
	for (uint64_t done = 0; done < len;) {
		ssize_t n = pread(fd, (void *)(dst + done), len - done, off + done);
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

/* a new premapped mapping: anonymous, or its file (the pages not written are the file's) */
static int premap_new(const struct rst_proc *p, size_t k, uint64_t slot)
{
	const Vma *w = p->mm->vmas[k];
	bool file = w->kind == VMA_KIND__VMA_FILE_PRIVATE;
	int fd = file ? p->helpers.vma_fd[k] : -1;

	if (file && fd < 0)
		return -1;
	/* MAP_NORESERVE kept: mapped without it, it would be charged (VmFlags "ac", not "nr") */
	return mmap((void *)slot, w->end - w->start, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_FIXED | (file ? 0 : MAP_ANONYMOUS) | (w->flags & MAP_NORESERVE),
		    fd, file ? w->pgoff : 0) == (void *)slot ? 0 : -1;
}

/*
 * In process i, before it forks: its premapped mappings, made at their
 * places in the premap area with their final contents.
 */
int rst_premap_prepare(const struct rst_tree *t, size_t i)
{
	const struct rst_proc *p = &t->procs[i];
	const struct restore_args *a = p->args;

	for (size_t k = 0; p->premap && k < p->mm->n_vmas; k++) {
		const Vma *w = p->mm->vmas[k];
		uint64_t slot = p->premap[k], len = w->end - w->start;
		if (!slot)
			continue;
		const struct rst_proc *pp = p->parent >= 0 ? &t->procs[p->parent] : NULL;
		int pk = pp && w->n_cow ? vma_at(pp, w->start, w->end) : -1;
		uint64_t from = pk >= 0 ? pp->premap[pk] : 0;
		if (from) {
			/* the parent's pages, then all that is not the parent's any more dropped */
			if (mremap((void *)from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)slot) !=
			    (void *)slot) {
				pr_perror("pid %d: cannot take its parent's copy of %lx", p->pid,
					  (unsigned long)w->start);
				return -1;
			}
			for (uint64_t x = w->start, nx; x < w->end; x = nx)
				if (!in_cow(w, x, &nx) &&
				    madvise((void *)(slot + x - w->start), nx - x, MADV_DONTNEED)) {
					pr_perror("pid %d: cannot drop pages at %lx", p->pid, (unsigned long)x);
					return -1;
				}
		} else if (premap_new(p, k, slot)) {
			pr_perror("pid %d: cannot premap %lx", p->pid, (unsigned long)w->start);
			return -1;
		}
		/* its own pages, but those it still shares with its parent */
		for (uint32_t r = 0; r < a->nr_runs; r++) {
			const struct rst_run *run = &a->runs[r];
			uint64_t rs = run->vaddr, re = rs + run->nr_pages * 4096;
			if (re <= w->start || rs >= w->end)
				continue;
			for (uint64_t x = rs, nx; x < re; x = nx) {
				bool shared = from && in_cow(w, x, &nx);
				if (!from)
					nx = re;
				if (nx > re)
					nx = re;
				if (!shared && read_into(run->fd, slot + x - w->start, nx - x,
							 run->file_off + (x - rs))) {
					pr_perror("pid %d: cannot read pages for %lx", p->pid,
						  (unsigned long)x);
					return -1;
				}
			}
		}
	}
	return 0;
}
