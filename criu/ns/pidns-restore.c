/*
 * pidns-restore.c - pid namespaces at restore.  The images name every
 * task by the pid criu saw at dump (level 0) and keep its pids at the
 * levels below (PstreeEntry.ns_depth, ns_pids).  A tree whose root was
 * the init of a pid namespace (ns_base 1) is made in a new one: there
 * each task gets its pids again from the namespace's level down
 * (clone3 set_tid), while its pid as criu sees it (level 0) is whatever
 * the kernel gives; criu learns those real pids as the tasks appear.
 * Without namespaces (ns_base 0 and every depth 0) every function here is
 * the identity on the images' pids.
 */
#define LOG_PREFIX "restore: "
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "criu/ns/ns.h"
#include "criu/procfs.h"
#include "criu/restore/restore.h"

pid_t rst_ns_pid(const struct rst_proc *p, int k, int level)
{
	if (level == 0)
		return p->pe->threads[k];
	if (level > p->ns_depth)
		return 0;	/* it cannot be seen from that deep */
	return p->pe->ns_pids[(size_t)k * p->ns_depth + level - 1];
}

int rst_ns_set_tid(const struct rst_proc *p, int k, pid_t *v)
{
	int n = 0;
	for (int level = p->ns_depth; level >= p->ns_base; level--)
		v[n++] = rst_ns_pid(p, k, level);
	return n;
}

pid_t rst_ns_translate(const struct rst_tree *t, pid_t pid, int level)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct rst_proc *q = &t->procs[i];
		for (size_t k = 0; k < q->pe->n_threads; k++)
			if (q->pe->threads[k] == (uint32_t)pid)
				return rst_ns_pid(q, k, level);
	}
	return 0;
}

/* a process's pid fields: sizes, and a place restore can make it */
static int check_proc(const struct rst_tree *t, size_t i)
{
	const struct rst_proc *p = &t->procs[i];
	const PstreeEntry *pe = p->pe;
	int pd = i ? t->procs[p->parent].ns_depth : p->ns_base;

	if (p->ns_depth > PIDNS_MAX_DEPTH || pe->n_ns_pids != pe->n_threads * (size_t)p->ns_depth) {
		pr_err("pstree.img: pid %d: %zu namespace pids for %zu threads at depth %d", p->pid,
		       pe->n_ns_pids, pe->n_threads, p->ns_depth);
		return -1;
	}
	for (size_t k = 0; k < pe->n_ns_pids; k++)
		if (!pe->ns_pids[k]) {
			pr_err("pstree.img: pid %d: a namespace pid of 0", p->pid);
			return -1;
		}
	if (p->ns_depth == pd && (i || p->ns_depth == 0))
		return 0;
	if (p->ns_depth == pd + 1 && rst_ns_pid(p, 0, p->ns_depth) == 1 && !p->zombie)
		return 0;
	if (!i && p->ns_depth == 1 && rst_ns_pid(p, 0, 1) == 1)
		return 0;
	pr_err("pstree.img: pid %d: pid namespace %d levels deep under a parent %d deep: cannot be made",
	       p->pid, p->ns_depth, i ? t->procs[p->parent].ns_depth : 0);
	return -1;
}

int rst_pidns_load(struct rst_tree *t)
{
	int base = t->procs[0].pe->has_ns_depth ? (int)t->procs[0].pe->ns_depth : 0;

	for (size_t i = 0; i < t->nr; i++) {
		struct rst_proc *p = &t->procs[i];
		p->ns_depth = p->pe->has_ns_depth ? (int)p->pe->ns_depth : 0;
		p->ns_base = base;
		if (check_proc(t, i))
			return -1;
		p->real_tids = calloc(p->pe->n_threads + 1, sizeof(pid_t));
		if (!p->real_tids)
			return -1;
		/* in criu's own pid namespace the pids are the images' */
		for (size_t k = 0; !base && k < p->pe->n_threads; k++)
			p->real_tids[k] = p->pe->threads[k];
		if (p->pe->has_pidns_child && p->pe->pidns_child) {
			const struct rst_proc *c = NULL;
			for (size_t j = i + 1; j < t->nr && !c; j++)
				if (t->procs[j].pid == (pid_t)p->pe->pidns_child)
					c = &t->procs[j];
			if (!c || c->parent != (int)i) {
				pr_err("pstree.img: pid %d: its pid namespace for children is that of %u, not a child of it",
				       p->pid, p->pe->pidns_child);
				return -1;
			}
		}
	}
	return 0;
}

/* the levels of NSpid of a task criu sees as real */
static int real_nspid(pid_t real, pid_t *v, int max)
{
	char buf[256], *s = buf, *end;
	int n = 0;

	if (proc_status_field(real, "NSpid:", buf, sizeof(buf)))
		return -1;
	while (n < max) {
		long x = strtol(s, &end, 10);
		if (end == s)
			break;
		v[n++] = x;
		s = end;
	}
	return n;
}

int rst_ns_resolve(struct rst_tree *t, pid_t real, struct rst_proc **pp, int *pk)
{
	pid_t v[PIDNS_MAX_DEPTH + 2];
	int n = real_nspid(real, v, PIDNS_MAX_DEPTH + 2);
	int base = t->nr ? t->procs[0].ns_base : 0;

	if (n <= base)
		return -1;
	for (size_t i = 0; i < t->nr; i++) {
		struct rst_proc *p = &t->procs[i];
		if (p->zombie || p->ns_depth != n - 1)
			continue;
		for (size_t k = 0; k < p->pe->n_threads; k++)
			if (!p->real_tids[k] && rst_ns_pid(p, k, base) == v[base]) {
				p->real_tids[k] = real;
				*pp = p;
				*pk = k;
				pr_debug("pid %d (thread %u): pid %d here", p->pid, p->pe->threads[k], real);
				return 0;
			}
	}
	return -1;
}

/* *pid (as criu saw it) as p sees it; what names the fd for the message */
static int fix_pid(const struct rst_tree *t, const struct rst_proc *p, const FdEntry *e,
		   const char *what, int32_t *pid)
{
	pid_t seen = rst_ns_translate(t, *pid, p->ns_depth);
	if (!seen) {
		pr_err("files-%d.img: fd %u: its %s %d is not a process of the tree it can see: "
		       "it has no pid in its pid namespace", p->pid, e->fd, what, *pid);
		return -1;
	}
	*pid = seen;
	return 0;
}

/*
 * The pids stored in files (an F_SETOWN owner, a pidfd's process, a
 * terminal's foreground process group) are as
 * criu saw them at dump: for a process in a pid namespace of the tree, the
 * pid as that process sees it.  One outside the tree cannot be named
 * there: refused.
 */
int rst_ns_fix_owners(struct rst_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		struct rst_proc *p = &t->procs[i];
		if (p->zombie || (!p->ns_base && !p->ns_depth))
			continue;
		for (size_t k = 0; k < p->fds.nr; k++) {
			FdEntry *e = (FdEntry *)p->fds.msgs[k];
			FileOwner *w = e->file ? e->file->owner : NULL;
			PidfdFile *pf = e->file ? e->file->pidfd : NULL;
			/* one made once by criu, in its own pid namespace, for several processes */
			if (pf && e->file->has_shared_id) {
				pr_err("files-%d.img: fd %u: a pidfd shared by several processes of a tree "
				       "in a pid namespace: not supported", p->pid, e->fd);
				return -1;
			}
			if ((w && w->pid > 0 && fix_pid(t, p, e, "owner", &w->pid)) ||
			    (pf && pf->pid > 0 && fix_pid(t, p, e, "pidfd's process", &pf->pid)))
				return -1;
			/* a controlling terminal's foreground group (a container's console) */
			PtyFile *ty = e->file ? e->file->pty : NULL;
			if (ty && ty->has_fg_pgrp && ty->fg_pgrp > 0) {
				int32_t g = (int32_t)ty->fg_pgrp;
				if (fix_pid(t, p, e, "terminal's foreground process group", &g))
					return -1;
				ty->fg_pgrp = (uint32_t)g;
			}
		}
	}
	return 0;
}
