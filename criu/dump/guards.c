/*
 * guards.c - guard regions (madvise MADV_GUARD_INSTALL): ranges of a
 * mapping whose pages fault on every access although the mapping allows
 * it.  They hold no data (the page plan leaves them out, memscan) and show
 * in no maps file, only to PAGEMAP_SCAN (PAGE_IS_GUARD): found here for
 * every mapping, kept in its Vma (guard pairs), installed again by the
 * restorer.
 */
#define LOG_PREFIX "dump: "
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/dump/dump.h"
#include "criu/memscan/memscan.h"

int guard_add(Vma *v, uint64_t start, uint64_t end)
{
	uint64_t *n;

	if (v->n_guard && v->guard[v->n_guard - 1] == start) {
		v->guard[v->n_guard - 1] = end;
		return 0;
	}
	n = realloc(v->guard, (v->n_guard + 2) * sizeof(*n));
	if (!n)
		return -1;
	v->guard = n;
	v->guard[v->n_guard++] = start;
	v->guard[v->n_guard++] = end;
	return 0;
}

static int guard_push(void *arg, uint64_t start, uint64_t end, uint64_t categories)
{
	(void)categories;
	return guard_add(arg, start, end);
}

bool guards_possible(const Vma *v)
{
	return v->kind != VMA_KIND__VMA_VSYSCALL && v->kind != VMA_KIND__VMA_VDSO &&
	       v->kind != VMA_KIND__VMA_VVAR && v->kind != VMA_KIND__VMA_VVAR_VCLOCK;
}

int guards_scan(int pmfd, pid_t pid, uint64_t start, uint64_t end, scan_fn fn, void *arg)
{
	if (!scan_walk(pmfd, start, end, &SCAN_GUARDS, fn, arg))
		return 0;
	pr_perror("pid %d: cannot look for guard regions in %lx-%lx", pid, (unsigned long)start,
		  (unsigned long)end);
	return -1;
}

int dump_guards(struct dump_proc *p)
{
	char path[64];
	int pmfd, err = 0;
	size_t found = 0;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", p->pid);
	pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pmfd < 0) {
		pr_perror("pid %d: cannot open %s", p->pid, path);
		return -1;
	}
	for (size_t i = 0; i < p->mm->n_vmas && !err; i++) {
		Vma *v = p->mm->vmas[i];
		if (!guards_possible(v))
			continue;
		err = guards_scan(pmfd, p->pid, v->start, v->end, guard_push, v);
		found += v->n_guard / 2;
	}
	close(pmfd);
	if (found)
		pr_debug("pid %d: %zu guard regions", p->pid, found);
	return err;
}
