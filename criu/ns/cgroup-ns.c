/*
 * cgroup-ns.c - a tree's cgroup namespace at dump.  A task sees cgroup
 * paths (/proc/PID/cgroup, the root of a cgroup mount in mountinfo)
 * relative to the root of the cgroup namespace of the one reading them:
 * criu reads the tree's view by joining the tree root's cgroup namespace
 * for a moment (this thread only: cgroup namespaces are per task), and
 * the root of that namespace in each hierarchy is what criu's view of a
 * path has in front of the tree's view of it.  A process of the tree may
 * have made one of its own (unshare --cgroup): saved and made again the
 * same way, if no process outside its subtree shares it (cgns_check_tree).
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/dump/dump.h"
#include "criu/ns/ns.h"

int cgns_enter(pid_t pid, int *own)
{
	char path[64];
	unsigned long its = ns_inode(pid, pid, "cgroup");

	*own = -1;
	if (!its || its == ns_inode(0, 0, "cgroup"))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/cgroup", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*own = open("/proc/thread-self/ns/cgroup", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || *own < 0 || setns(fd, CLONE_NEWCGROUP)) {
		pr_perror("pid %d: cannot join its cgroup namespace cgroup:[%lu]", pid, its);
		if (fd >= 0)
			close(fd);
		if (*own >= 0)
			close(*own);
		*own = -1;
		return -1;
	}
	close(fd);
	return 0;
}

void cgns_leave(int own)
{
	if (own < 0)
		return;
	if (setns(own, CLONE_NEWCGROUP))
		pr_perror("cannot go back to criu's cgroup namespace");
	close(own);
}

int cgns_root_of(pid_t pid, const char *ctrl, const char *outside, const char *inside, char *out, size_t len)
{
	size_t no = strlen(outside), ni = strcmp(inside, "/") ? strlen(inside) : 0;

	if (!strncmp(inside, "/..", 3) && (inside[3] == 0 || inside[3] == '/')) {
		pr_err("pid %d: its cgroup %s:%s lies outside the root of its cgroup namespace "
		       "(it was moved out after the namespace was made): not supported",
		       pid, *ctrl ? ctrl : "cgroup2", outside);
		return -1;
	}
	if (ni > no || strcmp(outside + no - ni, inside + (ni ? 0 : 1)) || (ni && ni < no && outside[no - ni] != '/')) {
		pr_err("pid %d: its cgroup %s:%s does not end with %s, its path in its cgroup namespace",
		       pid, *ctrl ? ctrl : "cgroup2", outside, inside);
		return -1;
	}
	if (no - ni == 0)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(no - ni), outside);
	return 0;
}

/* is process a below process b (or b itself)? */
static bool below(const struct dump_tree *t, size_t a, size_t b)
{
	for (int i = (int)a; i >= 0; i = t->procs[i].parent)
		if ((size_t)i == b)
			return true;
	return false;
}

/* the process that made (first holds, from its parent's) the cgroup namespace ino of k */
static int entry_of(const struct dump_tree *t, const unsigned long *ino, size_t k)
{
	while (t->procs[k].parent >= 0 && ino[t->procs[k].parent] == ino[k])
		k = t->procs[k].parent;
	return (int)k;
}

int cgns_check_tree(const struct dump_tree *t)
{
	unsigned long *ino = calloc(t->nr ? t->nr : 1, sizeof(*ino));
	int ret = ino ? 0 : -1;

	for (size_t i = 0; !ret && i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		if (p->zombie)
			continue;
		ino[i] = ns_inode(p->pid, p->pid, "cgroup");
		for (int k = 1; k < p->nr_threads; k++) {
			unsigned long its = ns_inode(p->pid, p->tids[k], "cgroup");
			if (its && ino[i] && its != ino[i]) {
				pr_err("pid %d (thread %d): cgroup namespace cgroup:[%lu] differs from its process's: "
				       "not supported", p->pid, p->tids[k], its);
				ret = -1;
				break;
			}
		}
	}
	/* a zombie's parent's namespace stands for it (it has none left) */
	for (size_t i = 1; !ret && i < t->nr; i++)
		if (!ino[i])
			ino[i] = ino[t->procs[i].parent];
	/* each namespace of the tree is held by one subtree: its maker's */
	unsigned long criu = ns_inode(0, 0, "cgroup");
	for (size_t i = 0; !ret && i < t->nr; i++) {
		int e = entry_of(t, ino, i);
		if (e > 0 && ino[e] == criu) {
			pr_err("pid %d: back in criu's cgroup namespace cgroup:[%lu] below a process in another: "
			       "not supported", t->procs[e].pid, criu);
			ret = -1;
			break;
		}
		for (size_t k = 0; k < t->nr; k++) {
			if (k == i || ino[k] != ino[i] || below(t, k, e))
				continue;
			pr_err("pid %d: cgroup namespace cgroup:[%lu] is also that of pid %d, outside the subtree of "
			       "pid %d that made it: not supported", t->procs[i].pid, ino[i], t->procs[k].pid,
			       t->procs[e].pid);
			ret = -1;
			break;
		}
	}
	free(ino);
	return ret;
}
