/*
 * cgroup-props.c - the cgroups of a tree and their settings (cgroup-props.h):
 * the limits, weights and cpu/memory placement a container runtime sets,
 * read from criu's view of each hierarchy, and the v1 device whitelist.
 * Values are kept as read; a file of several lines (io.max,
 * blkio.throttle.*) is written back line by line.  Reads cgroup files only.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/cgroup-mount.h"
#include "criu/dump/cgroup-props.h"

/* in the order they are written back: cpuset before any task joins, memory limits before swap */
static const char *const files[] = {
	"cpuset.cpus", "cpuset.mems",
	"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us", "cpu.idle",
	"cpu.weight", "cpu.max", "cpu.max.burst",
	"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
	"memory.swappiness", "memory.min", "memory.low", "memory.high", "memory.max", "memory.swap.max",
	"memory.oom.group",
	"pids.max",
	"blkio.weight", "blkio.bfq.weight", "io.weight", "io.bfq.weight", "io.max",
	"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
	"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
	"devices.list",		/* v1: written back as a deny of all, then each allow */
};

#define NR_FILES (sizeof(files) / sizeof(files[0]))
#define MAX_PATHS 4096

static int add_setting(CgroupDir *d, const char *name, const char *value)
{
	CgroupSetting *s = malloc(sizeof(*s));
	CgroupSetting **v = realloc(d->settings, (d->n_settings + 1) * sizeof(*v));
	if (v)
		d->settings = v;
	if (!s || !v)
		return free(s), -1;
	cgroup_setting__init(s);
	s->name = (char *)name;
	if (!(s->value = strdup(value)))
		return free(s), -1;
	d->settings[d->n_settings++] = s;
	return 0;
}

/* the settings of the cgroup at dir (criu's path) */
static int read_settings(CgroupDir *d, const char *dir)
{
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0) {
		pr_perror("cgroup %s:%s: cannot open %s", *d->controllers ? d->controllers : "cgroup2", d->path, dir);
		return -1;
	}
	for (size_t i = 0; i < NR_FILES; i++) {
		char buf[4096];
		int fd = openat(dfd, files[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;	/* not this controller's, or not this kernel's */
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0 || n == sizeof(buf) - 1) {
			pr_err("cgroup %s: cannot read %s", dir, files[i]);
			close(dfd);
			return -1;
		}
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		buf[n] = 0;
		if (n && add_setting(d, files[i], buf)) {
			close(dfd);
			return -1;
		}
	}
	close(dfd);
	return 0;
}

/* the common parent path of a and b (component-wise) into a */
static void common_into(char *a, const char *b)
{
	size_t i = 0, last = 0;
	for (; a[i] && a[i] == b[i]; i++)
		if (a[i] == '/')
			last = i;
	if (!a[i] && (b[i] == '/' || !b[i]))
		return;	/* a is b or a parent of it */
	if (a[i] == '/' && !b[i]) {
		a[i] = 0;	/* b is a parent of a */
		return;
	}
	a[last ? last : 1] = 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the paths of hierarchy h over every task and thread */
static size_t paths_of(const CgroupEntry *const *e, size_t n, size_t h, const char **v)
{
	size_t nr = 0;
	const char *ctrl = e[0]->members[h]->controllers;

	for (size_t i = 0; i < n && nr < MAX_PATHS; i++) {
		if (!e[i] || e[i]->n_members <= h)
			continue;
		v[nr++] = e[i]->members[h]->path;
		for (size_t k = 0; k < e[i]->n_threads; k++)
			for (size_t m = 0; m < e[i]->threads[k]->n_members && nr < MAX_PATHS; m++)
				if (!strcmp(e[i]->threads[k]->members[m]->controllers, ctrl))
					v[nr++] = e[i]->threads[k]->members[m]->path;
	}
	return nr;
}

static int add_dir(struct cg_props *out, const char *ctrl, const char *mnt, const char *path)
{
	char dir[PATH_MAX * 2];
	for (size_t i = 0; i < out->nr; i++)
		if (!strcmp(out->dirs[i]->controllers, ctrl) && !strcmp(out->dirs[i]->path, path))
			return 0;
	CgroupDir *d = calloc(1, sizeof(*d));
	CgroupDir **v = realloc(out->dirs, (out->nr + 1) * sizeof(*v));
	if (v)
		out->dirs = v;
	if (!d || !v)
		return free(d), -1;
	cgroup_dir__init(d);
	d->controllers = (char *)ctrl;
	if (!(d->path = strdup(path)))
		return free(d), -1;
	out->dirs[out->nr++] = d;
	snprintf(dir, sizeof(dir), "%s%s", mnt, path);
	return read_settings(d, dir);
}

/* hierarchy h: each path and its parents down to the common one, parents first */
static int collect_hierarchy(const CgroupEntry *const *e, size_t n, size_t h, struct cg_props *out)
{
	static const char *v[MAX_PATHS];
	char common[PATH_MAX], mnt[PATH_MAX];
	const char *ctrl = e[0]->members[h]->controllers;
	size_t nr = paths_of(e, n, h, v);
	char **all = calloc(nr * 64 + 1, sizeof(char *));
	size_t na = 0;
	int ret = 0;

	if (!all)
		return -1;
	if (cg_mount_of(ctrl, mnt, sizeof(mnt))) {
		pr_info("cgroup hierarchy %s is not mounted in criu's namespace: its settings are not saved",
			*ctrl ? ctrl : "cgroup2");
		free(all);
		return 0;
	}
	snprintf(common, sizeof(common), "%s", v[0]);
	for (size_t i = 1; i < nr; i++)
		common_into(common, v[i]);
	size_t nc = strcmp(common, "/") ? strlen(common) : 0;
	for (size_t i = 0; i < nr && !ret; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s", v[i]);
		/* the path and each parent down to the common one */
		for (int depth = 0; depth < 64 && strlen(p) >= nc && strcmp(p, "/"); depth++) {
			if (!(all[na++] = strdup(p)))
				ret = -1;
			if (strlen(p) == nc)
				break;
			char *s = strrchr(p, '/');
			if (s == p)
				s[1] = 0;
			else
				*s = 0;
		}
	}
	qsort(all, na, sizeof(char *), by_path);	/* a parent sorts before its children */
	for (size_t i = 0; i < na && !ret; i++)
		ret = add_dir(out, ctrl, mnt, all[i]);
	for (size_t i = 0; i < na; i++)
		free(all[i]);
	free(all);
	return ret;
}

int cg_props_collect(const CgroupEntry *const *e, size_t n, struct cg_props *out)
{
	out->dirs = NULL;
	out->nr = 0;
	if (!n || !e[0])
		return 0;
	for (size_t h = 0; h < e[0]->n_members; h++)
		if (collect_hierarchy(e, n, h, out)) {
			cg_props_free(out);
			return -1;
		}
	return 0;
}

void cg_props_free(struct cg_props *p)
{
	for (size_t i = 0; i < p->nr; i++) {
		for (size_t k = 0; k < p->dirs[i]->n_settings; k++) {
			free(p->dirs[i]->settings[k]->value);
			free(p->dirs[i]->settings[k]);
		}
		free(p->dirs[i]->settings);
		free(p->dirs[i]->path);
		free(p->dirs[i]);
	}
	free(p->dirs);
	p->dirs = NULL;
	p->nr = 0;
}
