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
 * entry that contains it.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/log.h"
#include "criu/dump/dump.h"

static void *read_fn(void *arg)
{
	struct vmflags_job *j = arg;

	j->ret = proc_read_maps(j->pid, true, &j->smaps);
	return NULL;
}

int vmflags_start(struct vmflags_job *j, pid_t pid)
{
	memset(j, 0, sizeof(*j));
	j->pid = pid;
	if (pthread_create(&j->thread, NULL, read_fn, j)) {
		j->ret = proc_read_maps(pid, true, &j->smaps);	/* no thread: here */
		j->done = true;
		return j->ret;
	}
	j->running = true;
	return 0;
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
