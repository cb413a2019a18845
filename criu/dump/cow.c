/*
 * cow.c - private memory a child shares with its parent copy-on-write.
 * The anonymous pages of a child's private mapping (anonymous, or of a
 * file: the pages written before the fork) that are the very
 * pages of its parent's mapping at the same place (the same page frame in
 * both /proc/PID/pagemap) are recorded as ranges (Vma.cow), so that
 * restore can give the child its parent's restored pages rather than a
 * copy of them.  The pages stay in the child's own images too: a lazy
 * restore, which cannot share them, takes them from there.
 */
#define LOG_PREFIX "dump: "
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "criu/dump/dump.h"
#include "common/log.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_FILE		(1ULL << 61)	/* file page or shared anonymous */
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define CHUNK		512

static int open_pagemap(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		pr_perror("cannot open %s", path);
	return fd;
}

static bool shareable(const Vma *v)
{
	return (v->kind == VMA_KIND__VMA_ANON_PRIVATE || v->kind == VMA_KIND__VMA_FILE_PRIVATE) &&
	       !(v->flags & MAP_GROWSDOWN) &&
	       !(v->vm_flags & (VMA_F_DONTFORK | VMA_F_WIPEONFORK));
}

static const Vma *same_vma(const Mm *mm, const Vma *w)
{
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (mm->vmas[i]->start == w->start && mm->vmas[i]->end == w->end) {
			const Vma *v = mm->vmas[i];
			/* a file's: the same file at the same offset */
			bool same = v->kind == w->kind &&
				    (v->kind != VMA_KIND__VMA_FILE_PRIVATE ||
				     (v->ino == w->ino && v->dev == w->dev && v->pgoff == w->pgoff));
			return same && shareable(v) ? v : NULL;
		}
	return NULL;
}

static int add_range(Vma *w, uint64_t s, uint64_t e)
{
	if (w->n_cow >= 2 && w->cow[w->n_cow - 1] == s) {
		w->cow[w->n_cow - 1] = e;
		return 0;
	}
	uint64_t *n = realloc(w->cow, (w->n_cow + 2) * sizeof(*n));
	if (!n)
		return -1;
	w->cow = n;
	w->cow[w->n_cow++] = s;
	w->cow[w->n_cow++] = e;
	return 0;
}

/* the pages of w that are its parent's own page frames */
static int find_in_vma(int cfd, int pfd, Vma *w, uint64_t *shared)
{
	uint64_t c[CHUNK], p[CHUNK];

	for (uint64_t a = w->start; a < w->end;) {
		size_t n = (w->end - a) / 4096;
		if (n > CHUNK)
			n = CHUNK;
		off_t off = a / 4096 * 8;
		if (pread(cfd, c, n * 8, off) != (ssize_t)(n * 8) ||
		    pread(pfd, p, n * 8, off) != (ssize_t)(n * 8)) {
			pr_perror("cannot read the pagemap at %lx", (unsigned long)a);
			return -1;
		}
		for (size_t i = 0; i < n; i++, a += 4096) {
			/* a file's own page (page cache) is shared by mapping the file again */
			if (!(c[i] & PM_PRESENT) || !(p[i] & PM_PRESENT) || !(c[i] & PM_PFN_MASK) ||
			    (c[i] & PM_FILE) ||
			    (c[i] & PM_PFN_MASK) != (p[i] & PM_PFN_MASK))
				continue;
			if (add_range(w, a, a + 4096))
				return -1;
			(*shared)++;
		}
	}
	return 0;
}

int cow_find(struct dump_tree *t)
{
	uint64_t shared = 0;

	for (size_t i = 1; i < t->nr; i++) {
		struct dump_proc *c = &t->procs[i];
		const struct dump_proc *p = &t->procs[c->parent];
		if (c->zombie || p->zombie || !c->mm || !p->mm)
			continue;
		int cfd = open_pagemap(c->pid), pfd = cfd < 0 ? -1 : open_pagemap(p->pid);
		int err = cfd < 0 || pfd < 0;
		for (size_t k = 0; !err && k < c->mm->n_vmas; k++) {
			Vma *w = c->mm->vmas[k];
			if (shareable(w) && same_vma(p->mm, w))
				err = find_in_vma(cfd, pfd, w, &shared);
		}
		if (cfd >= 0)
			close(cfd);
		if (pfd >= 0)
			close(pfd);
		if (err)
			return -1;
	}
	if (shared)
		pr_info("%lu pages shared copy-on-write with a parent", (unsigned long)shared);
	return 0;
}
