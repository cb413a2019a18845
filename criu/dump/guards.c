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

static int guard_push(void *arg, uint64_t start, uint64_t end, uint64_t categories)
{
	Vma *v = arg;
	uint64_t *n;

	(void)categories;
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
		if (v->kind == VMA_KIND__VMA_VSYSCALL || v->kind == VMA_KIND__VMA_VDSO ||
		    v->kind == VMA_KIND__VMA_VVAR || v->kind == VMA_KIND__VMA_VVAR_VCLOCK)
			continue;
		if (scan_walk(pmfd, v->start, v->end, &SCAN_GUARDS, guard_push, v)) {
			pr_perror("pid %d: cannot look for guard regions in %lx-%lx", p->pid,
				  (unsigned long)v->start, (unsigned long)v->end);
			err = -1;
		}
		found += v->n_guard / 2;
	}
	close(pmfd);
	if (found)
		pr_debug("pid %d: %zu guard regions", p->pid, found);
	return err;
}
