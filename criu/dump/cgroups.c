/*
 * cgroups.c - the cgroups of every live process of the tree, as
 * /proc/PID/cgroup lists them (one line per hierarchy), into cgroup.img.
 * A thread in other cgroups than its process is refused.  Reads /proc only.
 */
#define LOG_PREFIX "dump: "
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/dump/dump.h"
#include "common/log.h"

#define MAX_HIERARCHIES 32

/* /proc/PID/task/TID/cgroup, whole; 0 or -1 */
static int read_cgroups(pid_t pid, pid_t tid, char *buf, size_t len)
{
	char name[64];
	snprintf(name, sizeof(name), "task/%d/cgroup", tid);
	ssize_t n = proc_read_file(pid, name, buf, len - 1);
	if (n < 0 || (size_t)n == len - 1) {
		pr_err("pid %d: cannot read the cgroups of thread %d", pid, tid);
		return -1;
	}
	buf[n] = 0;
	return 0;
}

/* "ID:controllers:path" lines into members (pointing into buf) */
static int parse(pid_t pid, char *buf, CgroupMember *m, CgroupMember **pm, size_t *n)
{
	*n = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;
		if (!p || *n == MAX_HIERARCHIES) {
			pr_err("pid %d: cannot parse its cgroup line '%s'", pid, line);
			return -1;
		}
		*p = 0;
		cgroup_member__init(&m[*n]);
		m[*n].controllers = c + 1;
		m[*n].path = p + 1;
		pm[*n] = &m[*n];
		(*n)++;
	}
	return 0;
}

static int dump_proc_cgroups(struct img_writer *w, const struct dump_proc *p)
{
	char buf[8192], other[8192];
	CgroupMember m[MAX_HIERARCHIES], *pm[MAX_HIERARCHIES];
	CgroupEntry e = CGROUP_ENTRY__INIT;

	if (read_cgroups(p->pid, p->pid, buf, sizeof(buf)))
		return -1;
	for (int k = 1; k < p->nr_threads; k++) {
		if (read_cgroups(p->pid, p->tids[k], other, sizeof(other)))
			return -1;
		if (strcmp(buf, other)) {
			pr_err("pid %d: thread %d is in other cgroups than its process: not supported",
			       p->pid, p->tids[k]);
			return -1;
		}
	}
	if (parse(p->pid, buf, m, pm, &e.n_members))
		return -1;
	e.pid = p->pid;
	e.members = pm;
	return img_write(w, &e.base);
}

int cgroups_dump(const struct dump_tree *t, int dirfd)
{
	struct img_writer *w;

	if (img_writer_open(dirfd, IMG_CGROUP, 0, t->dump_id, &w))
		return -1;
	for (size_t i = 0; i < t->nr; i++)
		if (!t->procs[i].zombie && dump_proc_cgroups(w, &t->procs[i])) {
			img_writer_abort(w);
			return -1;
		}
	return img_writer_close(w);
}
