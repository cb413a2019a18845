/*
 * cgroup-mount.h - where the cgroup hierarchies are mounted in criu's
 * mount namespace (cgroup-mount.c): found by their controllers as
 * /proc/PID/cgroup names them ("cpu,cpuacct", "name=systemd"; "" for the
 * cgroup2 one) in /proc/self/mountinfo.  Used at dump (the settings of
 * the tree's cgroups) and at restore (the directories to join).
 */
#ifndef CRIU_CGROUP_MOUNT_H
#define CRIU_CGROUP_MOUNT_H

#include <stdbool.h>
#include <stddef.h>

/* is every comma-separated item of want among those of have? */
bool cg_all_in(const char *want, const char *have);
/* the mount point of the hierarchy of these controllers into out; -1 if none */
int cg_mount_of(const char *controllers, char *out, size_t len);

#endif /* CRIU_CGROUP_MOUNT_H */
