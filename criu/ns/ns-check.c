/*
 * ns-check.c - the namespace kinds and the dump-time check that a tree's
 * tasks live in namespaces criu can restore.  Reads /proc only; refuses
 * with one line naming the process and the namespace.  It changes nothing
 * in the processes: the caller leaves them running on refusal.
 */
#define LOG_PREFIX ""
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "dump/dump.h"
#include "log.h"
#include "ns.h"

const struct ns_kind ns_kinds[] = {
	{ "mnt", "mount namespace", CLONE_NEWNS, false },
	{ "pid", "pid namespace", CLONE_NEWPID, true },	/* pidns-dump.c */
	{ "pid_for_children", "pid namespace for its children", 0, true },
	{ "uts", "uts namespace", CLONE_NEWUTS, false },
	{ "ipc", "ipc namespace", CLONE_NEWIPC, false },
	{ "net", "network namespace", CLONE_NEWNET, false },
	{ "cgroup", "cgroup namespace", CLONE_NEWCGROUP, false },
	{ "time", "time namespace", CLONE_NEWTIME, false },
	{ "time_for_children", "time namespace for its children", 0, false },
	{ "user", "user namespace", CLONE_NEWUSER, false },
};
const int nr_ns_kinds = sizeof(ns_kinds) / sizeof(ns_kinds[0]);

unsigned long ns_inode(pid_t pid, pid_t tid, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/ns/%s", pid, tid, name);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	return stat(path, &st) ? 0 : (unsigned long)st.st_ino;
}

/* one thread: each of its namespaces is criu's own */
static int check_task(pid_t pid, pid_t tid)
{
	for (int k = 0; k < nr_ns_kinds; k++) {
		const struct ns_kind *n = &ns_kinds[k];
		unsigned long mine = ns_inode(0, 0, n->name), its = ns_inode(pid, tid, n->name);

		/* a kind this kernel lacks, or a task gone meanwhile (then seen as a zombie) */
		if (n->apart || !mine || !its || mine == its)
			continue;
		if (tid == pid)
			pr_err("pid %d: %s %s:[%lu] differs from criu's: namespaces are not supported yet",
			       pid, n->what, n->name, its);
		else
			pr_err("pid %d (thread %d): %s %s:[%lu] differs from criu's: namespaces are not supported yet",
			       pid, tid, n->what, n->name, its);
		return -1;
	}
	return 0;
}

int ns_check_tree(const struct dump_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		for (int k = 0; !p->zombie && k < p->nr_threads; k++)
			if (check_task(p->pid, p->tids[k]))
				return -1;
	}
	return 0;
}
