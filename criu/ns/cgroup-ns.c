/*
 * cgroup-ns.c - a tree's cgroup namespace at dump.  A task sees cgroup
 * paths (/proc/PID/cgroup, the root of a cgroup mount in mountinfo)
 * relative to the root of the cgroup namespace of the one reading them:
 * criu reads the tree's view by joining the tree root's cgroup namespace
 * for a moment (this thread only: cgroup namespaces are per task), and
 * the root of that namespace in each hierarchy is what criu's view of a
 * path has in front of the tree's view of it.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
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
