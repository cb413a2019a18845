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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "criu/dump/dump.h"
#include "common/log.h"
#include "criu/ns/ns.h"

const struct ns_kind ns_kinds[] = {
	{ "mnt", "mount namespace", CLONE_NEWNS, NS_AS_ROOT },	/* mnt-dump.c */
	{ "pid", "pid namespace", CLONE_NEWPID, NS_APART },	/* pidns-dump.c */
	{ "pid_for_children", "pid namespace for its children", 0, NS_APART },
	{ "uts", "uts namespace", CLONE_NEWUTS, NS_AS_ROOT },	/* ns-dump.c */
	{ "ipc", "ipc namespace", CLONE_NEWIPC, NS_AS_ROOT },
	{ "net", "network namespace", CLONE_NEWNET, NS_AS_ROOT },	/* criu/net/netns-*.c, empty-ns.c */
	{ "cgroup", "cgroup namespace", CLONE_NEWCGROUP, NS_APART },	/* criu/ns/cgroup-ns.c */
	{ "time", "time namespace", CLONE_NEWTIME, NS_AS_ROOT },
	{ "time_for_children", "time namespace for its children", 0, NS_AS_ROOT },
	{ "user", "user namespace", CLONE_NEWUSER, NS_AS_CRIU },
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

/* one thread: each of its namespaces is criu's own, or the root's where that is allowed */
static int check_task(pid_t root, pid_t pid, pid_t tid)
{
	for (int k = 0; k < nr_ns_kinds; k++) {
		const struct ns_kind *n = &ns_kinds[k];
		bool as_root = n->rule == NS_AS_ROOT;
		unsigned long want = as_root ? ns_inode(root, root, n->name) : ns_inode(0, 0, n->name);
		unsigned long its = ns_inode(pid, tid, n->name);

		/* a kind this kernel lacks, or a task gone meanwhile (then seen as a zombie) */
		if (n->rule == NS_APART || !want || !its || want == its)
			continue;
		char who[48];
		if (tid == pid)
			snprintf(who, sizeof(who), "pid %d", pid);
		else
			snprintf(who, sizeof(who), "pid %d (thread %d)", pid, tid);
		if (as_root)
			pr_err("%s: %s %s:[%lu] differs from the tree root's (pid %d): nested %ss are not supported",
			       who, n->what, n->name, its, root, n->what);
		else
			pr_err("%s: %s %s:[%lu] differs from criu's: namespaces are not supported yet",
			       who, n->what, n->name, its);
		return -1;
	}
	return 0;
}

int ns_check_tree(const struct dump_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		for (int k = 0; !p->zombie && k < p->nr_threads; k++)
			if (check_task(t->procs[0].pid, p->pid, p->tids[k]))
				return -1;
		/* threads share the list (CLONE_SYSVSEM): one look per process */
		if (!p->zombie && sem_undo_check(p))
			return -1;
	}
	return cgns_check_tree(t);
}
