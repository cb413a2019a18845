/*
 * vmflags.c - the VmFlags of a frozen process's mappings, read beside the
 * dump.  Only /proc/PID/smaps shows them, and reading it walks every page
 * table of the process (12 ms a GiB here, inside the freeze).  A dump that
 * changes no mapping of the process while frozen (full and post-copy: no
 * write tracking is armed) reads the boundaries from /proc/PID/maps and
 * lets a thread read smaps once no more syscalls are injected (an
 * injected mmap or munmap would wait for the mm lock the walk holds: 25
 * ms of collecting instead of 7), beside the page plan and copy, which
 * only read; vmflags_join puts the flags into the mappings and their Vma
 * entries before anything uses them (cow_find, the images).  Mappings criu injects meanwhile (a scratch page) are not in
 * the boundaries read before; one merged with a mapping of the process
 * carries the same flags, so each mapping takes the flags of the smaps
 * entry that contains it.  The guard regions (guards.c), another walk of
 * the page tables, are looked for by the same thread after smaps, in the
 * mappings of the Vma entries (joined into them the same way).
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/dump/dump.h"
#include "criu/memscan/memscan.h"

struct push_ctx {
	struct vmflags_job *j;
	size_t vma;	/* the mapping being scanned */
};

static int found_push(void *arg, uint64_t start, uint64_t end, uint64_t categories)
{
	struct push_ctx *c = arg;
	struct vmflags_job *j = c->j;

	(void)categories;
	if (j->nr_found == j->cap_found) {
		size_t cap = j->cap_found ? j->cap_found * 2 : 16;
		struct guard_span *n = realloc(j->found, cap * sizeof(*n));
		if (!n)
			return -1;
		j->found = n;
		j->cap_found = cap;
	}
	j->found[j->nr_found++] = (struct guard_span){ c->vma, start, end };
	return 0;
}

/* the guard regions of the spans taken at the start, into j->found */
static int read_guards(struct vmflags_job *j)
{
	char path[64];
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", j->pid);
	int pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pmfd < 0) {
		pr_perror("pid %d: cannot open %s", j->pid, path);
		return -1;
	}
	for (size_t i = 0; i < j->nr_spans && !err; i++) {
		struct push_ctx c = { j, j->spans[i].vma };
		err = guards_scan(pmfd, j->pid, j->spans[i].start, j->spans[i].end, found_push, &c);
	}
	close(pmfd);
	return err;
}

static void *read_fn(void *arg)
{
	struct vmflags_job *j = arg;

	j->ret = proc_read_maps(j->pid, true, &j->smaps);
	if (j->nr_spans)
		j->guards_ret = read_guards(j);
	return NULL;
}

int vmflags_start(struct vmflags_job *j, pid_t pid, const Mm *mm)
{
	memset(j, 0, sizeof(*j));
	j->pid = pid;
	if (mm && !(j->spans = calloc(mm->n_vmas + 1, sizeof(*j->spans))))
		return -1;
	for (size_t i = 0; mm && i < mm->n_vmas; i++)
		if (guards_possible(mm->vmas[i]))
			j->spans[j->nr_spans++] = (struct guard_span){ i, mm->vmas[i]->start, mm->vmas[i]->end };
	if (pthread_create(&j->thread, NULL, read_fn, j)) {
		read_fn(j);	/* no thread: here */
		j->done = true;
		return j->ret || j->guards_ret ? -1 : 0;
	}
	j->running = true;
	return 0;
}

/* the guard regions found beside into the Vma entries */
static int join_guards(struct vmflags_job *j, struct dump_proc *p)
{
	if (j->guards_ret)
		return -1;	/* (logged) */
	for (size_t i = 0; i < j->nr_found; i++)
		if (j->found[i].vma >= p->mm->n_vmas ||
		    guard_add(p->mm->vmas[j->found[i].vma], j->found[i].start, j->found[i].end))
			return -1;
	if (j->nr_found)
		pr_debug("pid %d: guard regions found in %zu pieces", p->pid, j->nr_found);
	return 0;
}

static void free_guards(struct vmflags_job *j)
{
	free(j->spans);
	free(j->found);
	j->spans = j->found = NULL;
	j->nr_spans = j->nr_found = j->cap_found = 0;
}

static void wait_job(struct vmflags_job *j)
{
	if (j->running) {
		pthread_join(j->thread, NULL);
		j->running = false;
		j->done = true;
	}
}

void vmflags_cancel(struct vmflags_job *j)
{
	wait_job(j);
	proc_maps_free(&j->smaps);
	free_guards(j);
	j->done = false;
}

/* the smaps entry containing [start, end), from *k on (both lists sorted) */
static const struct proc_vma *containing(const struct proc_maps *m, size_t *k, uint64_t start,
					 uint64_t end)
{
	while (*k < m->nr && m->vmas[*k].end <= start)
		(*k)++;
	if (*k < m->nr && m->vmas[*k].start <= start && m->vmas[*k].end >= end)
		return &m->vmas[*k];
	return NULL;
}

int vmflags_join(struct vmflags_job *j, struct dump_proc *p)
{
	size_t k = 0;

	if (!j->running && !j->done)
		return 0;	/* not started, or joined already */
	wait_job(j);
	j->done = false;
	if (j->ret) {
		pr_err("pid %d: cannot read /proc/%d/smaps", p->pid, p->pid);
		proc_maps_free(&j->smaps);
		free_guards(j);
		return -1;
	}
	int err = join_guards(j, p);
	free_guards(j);
	if (err) {
		proc_maps_free(&j->smaps);
		return -1;
	}
	for (size_t i = 0; i < p->maps.nr; i++) {
		struct proc_vma *v = &p->maps.vmas[i];
		const struct proc_vma *s = containing(&j->smaps, &k, v->start, v->end);
		if (!s) {
			pr_err("pid %d: mapping %lx-%lx changed while the process was frozen (shared with another process?)",
			       p->pid, (unsigned long)v->start, (unsigned long)v->end);
			proc_maps_free(&j->smaps);
			return -1;
		}
		v->vm_flags = s->vm_flags;
		v->growsdown = s->growsdown;
		v->pkey = s->pkey;
		for (size_t m = 0; p->mm && m < p->mm->n_vmas; m++)
			if (p->mm->vmas[m]->start == v->start)
				vma_image_flags(p->mm->vmas[m], v);
	}
	proc_maps_free(&j->smaps);
	return 0;
}
