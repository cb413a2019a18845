/*
 * pidns-dump.c - pid namespaces at dump: each task's pid at every level
 * of its pid namespaces below criu's (NSpid of /proc/PID/task/TID/status),
 * recorded in the tree for pstree.img, and the check that restore can
 * make them again: the root is in criu's pid namespace or is the init of
 * one a level below; every other task is in its parent's, or is the init
 * (1) of a namespace a level below its parent's, made when it was forked.
 * A task's namespace for its children must be its own, or that of a
 * child that is the init there.  Reads /proc only.
 */
#define LOG_PREFIX ""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/dump/dump.h"
#include "common/log.h"
#include "criu/ns/ns.h"
#include "criu/procfs.h"

/* tid's pids, criu's level first; the number of levels, or -1 */
static int read_nspid(pid_t pid, pid_t tid, uint32_t *v, int max)
{
	char file[64], buf[256], *s = buf, *end;
	int n = 0;

	snprintf(file, sizeof(file), "task/%d/status", tid);
	if (proc_status_field_of(pid, file, "NSpid:", buf, sizeof(buf)))
		return -1;
	while (n < max) {
		unsigned long x = strtoul(s, &end, 10);
		if (end == s)
			break;
		v[n++] = x;
		s = end;
	}
	if (!n || n == max)
		pr_err("pid %d: NSpid of thread %d is '%s': %s", pid, tid, buf,
		       n ? "too deep a nesting of pid namespaces" : "unreadable");
	return n && n < max ? n : -1;
}

/* every thread's levels below criu's into p->ns_pids */
static int collect_proc(struct dump_proc *p)
{
	int n = p->zombie ? 1 : p->nr_threads;
	uint32_t v[PIDNS_MAX_DEPTH + 2];

	for (int k = 0; k < n; k++) {
		int levels = read_nspid(p->pid, p->zombie ? p->pid : p->tids[k], v, PIDNS_MAX_DEPTH + 2);
		if (levels < 0)
			return -1;
		if (k == 0) {
			p->ns_depth = levels - 1;
			p->ns_pids = calloc((size_t)n * p->ns_depth + 1, sizeof(uint32_t));
			if (!p->ns_pids)
				return -1;
		} else if (levels - 1 != p->ns_depth) {
			pr_err("pid %d: thread %d is in another pid namespace than its process", p->pid,
			       p->tids[k]);
			return -1;
		}
		memcpy(p->ns_pids + (size_t)k * p->ns_depth, v + 1, p->ns_depth * sizeof(uint32_t));
	}
	return 0;
}

/* its pid in its own (innermost) pid namespace */
static uint32_t inner_pid(const struct dump_proc *p)
{
	return p->ns_depth ? p->ns_pids[p->ns_depth - 1] : (uint32_t)p->pid;
}

/* the root, or a child of a process in the tree: where restore can make it */
static int check_place(const struct dump_tree *t, size_t i)
{
	const struct dump_proc *p = &t->procs[i];
	int pd = i ? t->procs[p->parent].ns_depth : 0;
	bool init = p->ns_depth == pd + 1 && inner_pid(p) == 1;

	if (p->ns_depth == pd || (init && !p->zombie))
		return 0;
	if (init)
		pr_err("pid %d: a dead init of pid namespace %u levels below criu's: not supported",
		       p->pid, p->ns_depth);
	else if (!i)
		pr_err("pid %d: pid namespace pid:[%lu] (pid %u inside): only a tree whose root is "
		       "its namespace's init (pid 1), one level below criu's, can be dumped",
		       p->pid, ns_inode(p->pid, p->pid, "pid"), inner_pid(p));
	else
		pr_err("pid %d: pid namespace pid:[%lu] (pid %u inside) was not made at its fork "
		       "by its parent %d: not supported", p->pid, ns_inode(p->pid, p->pid, "pid"),
		       inner_pid(p), t->procs[p->parent].pid);
	return -1;
}

/* pid_for_children: its own namespace, or a child init's (p->pidns_child) */
static int check_for_children(const struct dump_tree *t, size_t i)
{
	struct dump_proc *p = &t->procs[i];
	unsigned long own = ns_inode(p->pid, p->pid, "pid");
	unsigned long pfc = ns_inode(p->pid, p->pid, "pid_for_children");

	for (int k = 1; k < p->nr_threads; k++)
		if (ns_inode(p->pid, p->tids[k], "pid_for_children") != pfc) {
			pr_err("pid %d: thread %d has another pid namespace for its children: not supported",
			       p->pid, p->tids[k]);
			return -1;
		}
	if (pfc == own)
		return 0;
	if (p->nr_threads > 1) {
		/* restore makes threads last, and a thread cannot be made once the namespaces differ */
		pr_err("pid %d: pid namespace for its children pid_for_children:[%lu] differs from its own "
		       "in a process of %d threads: not supported", p->pid, pfc, p->nr_threads);
		return -1;
	}
	for (size_t c = i + 1; c < t->nr; c++) {
		const struct dump_proc *ch = &t->procs[c];
		if (ch->parent == (int)i && !ch->zombie && ch->ns_depth == p->ns_depth + 1 &&
		    ns_inode(ch->pid, ch->pid, "pid") == pfc) {
			p->pidns_child = ch->pid;
			return 0;
		}
	}
	pr_err("pid %d: pid namespace for its children pid_for_children:[%lu] differs from its own "
	       "and no child of it in the tree is its init: not supported", p->pid, pfc);
	return -1;
}

int pidns_collect(struct dump_tree *t)
{
	for (size_t i = 0; i < t->nr; i++)
		if (collect_proc(&t->procs[i]) || check_place(t, i))
			return -1;
	for (size_t i = 0; i < t->nr; i++)
		if (!t->procs[i].zombie && check_for_children(t, i))
			return -1;
	return 0;
}
