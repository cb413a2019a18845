/*
 * cgroups.c - the cgroups of every live process of the tree, as
 * /proc/PID/cgroup lists them (one line per hierarchy), into cgroup.img;
 * a thread in other cgroups than its process, its own lines.  With a
 * cgroup namespace of the tree's own (the root's, or one a process made,
 * criu/ns/cgroup-ns.c), the entry of the process that has it holds the
 * namespace's root in each hierarchy; the root's also holds the settings
 * of the tree's cgroups (cgroup-props.c).  Reads /proc
 * and the cgroup files only.
 */
#define LOG_PREFIX "dump: "
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/dump/dump.h"
#include "criu/dump/cgroup-props.h"
#include "criu/ns/ns.h"
#include "common/log.h"

#define MAX_HIERARCHIES 32
#define CG_TEXT 8192

/* /proc/PID/task/TID/cgroup, whole, as a new string; NULL (said) on failure */
static char *read_cgroups(pid_t pid, pid_t tid)
{
	char name[64], *buf = malloc(CG_TEXT);
	snprintf(name, sizeof(name), "task/%d/cgroup", tid);
	ssize_t n = buf ? proc_read_file(pid, name, buf, CG_TEXT - 1) : -1;
	if (n < 0 || n == CG_TEXT - 1) {
		pr_err("pid %d: cannot read the cgroups of thread %d", pid, tid);
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	return buf;
}

/* "ID:controllers:path" lines of buf (cut in place) into n members */
static int parse(pid_t pid, char *buf, CgroupMember **pm, size_t *n)
{
	*n = 0;
	for (char *save, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;
		if (!p || *n == MAX_HIERARCHIES || !(pm[*n] = malloc(sizeof(CgroupMember)))) {
			pr_err("pid %d: cannot parse its cgroup line '%s'", pid, line);
			return -1;
		}
		*p = 0;
		cgroup_member__init(pm[*n]);
		pm[*n]->controllers = c + 1;
		pm[*n]->path = p + 1;
		(*n)++;
	}
	return 0;
}

/* one process's entry: what it owns is freed by free_entry */
struct cg_proc {
	CgroupEntry e;
	char *text;		/* its /proc lines, the members' strings */
	char **thread_text;
	size_t nr_thread_text;
	CgroupMember *pm[MAX_HIERARCHIES];
};

static void free_entry(struct cg_proc *c)
{
	for (size_t i = 0; i < c->e.n_members; i++)
		free(c->e.members[i]);
	for (size_t k = 0; k < c->e.n_threads; k++) {
		for (size_t i = 0; i < c->e.threads[k]->n_members; i++)
			free(c->e.threads[k]->members[i]);
		free(c->e.threads[k]->members);
		free(c->e.threads[k]);
	}
	free(c->e.threads);
	for (size_t i = 0; i < c->e.n_ns_roots; i++) {
		free(c->e.ns_roots[i]->path);
		free(c->e.ns_roots[i]);
	}
	free(c->e.ns_roots);
	for (size_t i = 0; i < c->nr_thread_text; i++)
		free(c->thread_text[i]);
	free(c->thread_text);
	free(c->text);
}

/* thread tid of p, in other cgroups than p (its lines in text): the hierarchies that differ */
static int add_thread(struct cg_proc *c, pid_t pid, pid_t tid, char *text)
{
	CgroupMember *tm[MAX_HIERARCHIES];
	size_t n, k = 0;
	CgroupThread *t = malloc(sizeof(*t));
	CgroupThread **v = realloc(c->e.threads, (c->e.n_threads + 1) * sizeof(*v));

	if (v)
		c->e.threads = v;
	if (!t || !v || parse(pid, text, tm, &n))
		return free(t), -1;
	cgroup_thread__init(t);
	t->tid = tid;
	t->members = calloc(n, sizeof(CgroupMember *));
	c->e.threads[c->e.n_threads++] = t;
	if (n != c->e.n_members || !t->members) {
		pr_err("pid %d: thread %d lists other cgroup hierarchies than its process", pid, tid);
		for (size_t i = 0; i < n; i++)
			free(tm[i]);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(tm[i]->controllers, c->e.members[i]->controllers) ||
		    !strcmp(tm[i]->path, c->e.members[i]->path)) {
			free(tm[i]);
			continue;
		}
		t->members[k++] = tm[i];
	}
	t->n_members = k;
	pr_info("pid %d: thread %d is in other cgroups than its process (%zu hierarchies)", pid, tid, k);
	return 0;
}

static int proc_entry(const struct dump_proc *p, struct cg_proc *c)
{
	cgroup_entry__init(&c->e);
	if (!(c->text = read_cgroups(p->pid, p->pid)))
		return -1;
	char *copy = strdup(c->text);
	int bad = !copy || parse(p->pid, copy, c->pm, &c->e.n_members);
	c->e.pid = p->pid;
	c->e.members = c->pm;
	/* (the members point into copy, kept as the text; the first read stays for comparing) */
	char *first = c->text;
	c->text = copy;
	for (int k = 1; !bad && k < p->nr_threads; k++) {
		char *other = read_cgroups(p->pid, p->tids[k]);
		bad = !other;
		if (bad || !strcmp(first, other)) {
			free(other);
			continue;
		}
		char **v = realloc(c->thread_text, (c->nr_thread_text + 1) * sizeof(*v));
		bad = !v;
		if (v)
			(c->thread_text = v)[c->nr_thread_text++] = other;
		else
			free(other);
		bad = bad || add_thread(c, p->pid, p->tids[k], other);
	}
	free(first);
	return bad ? -1 : 0;
}

/* the cgroup namespace of root (the tree's, or one a process made), when
 * it is not criu's: its root in each hierarchy; 1 if saved, 0 if criu's */
static int ns_roots(pid_t root, struct cg_proc *c)
{
	CgroupMember *in[MAX_HIERARCHIES];
	size_t n = 0;
	int own;

	if (cgns_enter(root, &own))
		return -1;
	if (own < 0)
		return 0;
	char *text = read_cgroups(root, root);
	cgns_leave(own);
	int ret = !text || parse(root, text, in, &n) ? -1 : 0;
	if (!ret && n != c->e.n_members) {
		pr_err("pid %d: its cgroup namespace shows %zu hierarchies, criu's %zu", root, n, c->e.n_members);
		ret = -1;
	}
	if (!ret && !(c->e.ns_roots = calloc(n, sizeof(CgroupMember *))))
		ret = -1;
	for (size_t i = 0; !ret && i < n; i++) {
		char path[4096];
		const CgroupMember *out = c->e.members[i];
		CgroupMember *m = malloc(sizeof(*m));
		if (m)
			cgroup_member__init(m);
		if (!m || cgns_root_of(root, out->controllers, out->path, in[i]->path, path, sizeof(path)) ||
		    !(m->path = strdup(path))) {
			free(m);
			ret = -1;
			break;
		}
		m->controllers = out->controllers;
		c->e.ns_roots[c->e.n_ns_roots++] = m;
	}
	for (size_t i = 0; i < n; i++)
		free(in[i]);
	free(text);
	if (!ret)
		pr_info("pid %d: cgroup namespace of its own, saved (its root in %zu hierarchies)", root, n);
	return ret ? -1 : 1;
}

int cgroups_dump(struct dump_tree *t, int dirfd)
{
	struct img_writer *w = NULL;
	struct cg_proc *c = calloc(t->nr ? t->nr : 1, sizeof(*c));
	const CgroupEntry **all = calloc(t->nr ? t->nr : 1, sizeof(*all));
	struct cg_props props = { 0 };
	int ret = -1;

	if (!c || !all) {
		free(c);
		free(all);
		return -1;
	}
	for (size_t i = 0; i < t->nr; i++)
		if (!t->procs[i].zombie && proc_entry(&t->procs[i], &c[i]))
			goto out;
	/* the root's namespace, and those processes made below it (cgns_check_tree) */
	for (size_t i = 0; i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		if (p->zombie || (i && ns_inode(p->pid, p->pid, "cgroup") ==
					       ns_inode(t->procs[p->parent].pid, t->procs[p->parent].pid, "cgroup")))
			continue;
		int r = ns_roots(p->pid, &c[i]);
		if (i && r == 0)
			pr_err("pid %d: in criu's cgroup namespace, its parent %d in another: not supported",
			       p->pid, t->procs[p->parent].pid);
		if (r < 0 || (i && r == 0))
			goto out;
		if (i == 0 && r)
			t->ns_flags |= CLONE_NEWCGROUP;
	}
	for (size_t i = 0; i < t->nr; i++)
		all[i] = t->procs[i].zombie ? NULL : &c[i].e;
	if (cg_props_collect(all, t->nr, &props))
		goto out;
	c[0].e.dirs = props.dirs;
	c[0].e.n_dirs = props.nr;
	if (img_writer_open(dirfd, IMG_CGROUP, 0, t->dump_id, &w))
		goto out;
	for (size_t i = 0; i < t->nr; i++)
		if (!t->procs[i].zombie && img_write(w, &c[i].e.base)) {
			img_writer_abort(w);
			goto out;
		}
	ret = img_writer_close(w);
out:
	c[0].e.dirs = NULL;
	c[0].e.n_dirs = 0;
	cg_props_free(&props);
	for (size_t i = 0; i < t->nr; i++)
		free_entry(&c[i]);
	free(c);
	free(all);
	return ret;
}
