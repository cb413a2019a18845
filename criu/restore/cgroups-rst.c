/*
 * cgroups-rst.c - cgroup membership at restore (cgroup.img), with
 * --manage-cgroups soft (the default, as upstream CRIU's): criu plans, for
 * every process, the directory of each of its cgroups on this machine
 * (the hierarchy's mount point, found by its controllers in
 * /proc/self/mountinfo, plus the dumped path, moved under --cgroup-root
 * [CTRL:]PATH where the root's cgroup is replaced); each process, first
 * thing, makes the missing ones (a new cpuset takes its parent's cpus and
 * mems) and moves itself in (writing 0 to cgroup.procs).  "ignore": every
 * process stays in criu's cgroups.  The cgroups' settings are not restored
 * ("full", "strict" are refused).  Images without cgroup.img: nothing done.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/restore/restore.h"

/* is every comma-separated item of want among those of have? */
static bool all_in(const char *want, const char *have)
{
	char w[256];
	snprintf(w, sizeof(w), "%s", want);
	for (char *save, *it = strtok_r(w, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(it);
		const char *h = have;
		bool found = false;
		while (!found && (h = strstr(h, it))) {
			found = (h == have || h[-1] == ',') && (h[n] == ',' || h[n] == 0);
			h += n;
		}
		if (!found)
			return false;
	}
	return true;
}

/* the mount point of the hierarchy of these controllers ("" for v2) into out */
static int find_mount(const char *controllers, char *out, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = -1;

	while (f && ret && fgets(line, sizeof(line), f)) {
		char root[PATH_MAX], mnt[PATH_MAX], type[64], opts[1024];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", type, opts) != 2 || strcmp(root, "/"))
			continue;
		if (*controllers ? !strcmp(type, "cgroup") && all_in(controllers, opts)
				 : !strcmp(type, "cgroup2")) {
			snprintf(out, len, "%s", mnt);
			ret = 0;
		}
	}
	if (f)
		fclose(f);
	return ret;
}

/* the root's path in the hierarchy of these controllers */
static const char *root_path(const struct rst_tree *t, const char *controllers)
{
	const CgroupEntry *r = t->procs[0].cg;
	for (size_t i = 0; r && i < r->n_members; i++)
		if (!strcmp(r->members[i]->controllers, controllers))
			return r->members[i]->path;
	return NULL;
}

/* path, moved by the --cgroup-root that applies to these controllers */
static void map_path(const struct rst_tree *t, const struct opts *o, const CgroupMember *m,
		     char *out, size_t len)
{
	snprintf(out, len, "%s", m->path);
	for (int i = 0; i < o->nr_cgroup_root; i++) {
		const char *arg = o->cgroup_root[i], *colon = strchr(arg, ':');
		const char *to = colon ? colon + 1 : arg;
		if (colon) {
			char ctrl[128];
			snprintf(ctrl, sizeof(ctrl), "%.*s", (int)(colon - arg), arg);
			if (!*m->controllers || !all_in(ctrl, m->controllers))
				continue;
		}
		const char *r = root_path(t, m->controllers);
		size_t n = r ? strlen(r) : 0;
		if (!r || strncmp(m->path, r, n) || (m->path[n] && m->path[n] != '/' && strcmp(r, "/")))
			continue;
		snprintf(out, len, "%s%s%s", to, strcmp(r, "/") ? "" : "/", m->path + n);
		return;
	}
}

static int plan_proc(const struct rst_tree *t, const struct opts *o, struct rst_proc *p)
{
	const CgroupEntry *e = p->cg;

	p->cg_dirs = calloc(e->n_members + 1, sizeof(char *));
	if (!p->cg_dirs)
		return -1;
	for (size_t i = 0; i < e->n_members; i++) {
		const CgroupMember *m = e->members[i];
		char mnt[PATH_MAX], path[PATH_MAX], dir[PATH_MAX * 2];
		if (find_mount(m->controllers, mnt, sizeof(mnt))) {
			pr_err("cgroup.img: pid %d: its cgroup hierarchy '%s' is not mounted here "
			       "(--manage-cgroups=ignore to leave it in criu's)", p->pid,
			       *m->controllers ? m->controllers : "cgroup2");
			return -1;
		}
		map_path(t, o, m, path, sizeof(path));
		if (strstr(path, "/../") || path[0] != '/') {
			pr_err("cgroup.img: pid %d: cgroup path %s is not absolute", p->pid, path);
			return -1;
		}
		snprintf(dir, sizeof(dir), "%s%s", mnt, strcmp(path, "/") ? path : "");
		if (!(p->cg_dirs[p->nr_cg_dirs++] = strdup(dir)))
			return -1;
	}
	return 0;
}

static bool same_dirs(const struct rst_proc *a, const struct rst_proc *b)
{
	if (a->nr_cg_dirs != b->nr_cg_dirs)
		return false;
	for (int i = 0; i < a->nr_cg_dirs; i++)
		if (strcmp(a->cg_dirs[i], b->cg_dirs[i]))
			return false;
	return true;
}

static void drop_dirs(struct rst_proc *p)
{
	for (int i = 0; i < p->nr_cg_dirs; i++)
		free(p->cg_dirs[i]);
	p->nr_cg_dirs = 0;
}

/* each process's entry of cgroup.img (by pid) */
static int attach_entries(struct rst_tree *t)
{
	for (size_t k = 0; k < t->cgroups.nr; k++) {
		CgroupEntry *e = (CgroupEntry *)t->cgroups.msgs[k];
		struct rst_proc *p = NULL;
		for (size_t i = 0; i < t->nr && !p; i++)
			if (t->procs[i].pid == (pid_t)e->pid && !t->procs[i].zombie)
				p = &t->procs[i];
		if (!p || p->cg) {
			pr_err("cgroup.img: pid %u is no live process of the tree, or listed twice", e->pid);
			return -1;
		}
		p->cg = e;
	}
	return 0;
}

int rst_cgroups_plan(int dirfd, struct rst_tree *t, const struct opts *o)
{
	const char *mode = o->manage_cgroups ? o->manage_cgroups : "soft";

	if (strcmp(mode, "soft") && strcmp(mode, "ignore")) {
		pr_err("--manage-cgroups %s: %s", mode,
		       !strcmp(mode, "none") ? "joining only cgroups that exist is not supported yet (soft or ignore)"
					     : "restoring the cgroups' settings is not supported yet (soft or ignore)");
		return -1;
	}
	if (!strcmp(mode, "ignore"))
		return 0;
	int r = img_read_all(dirfd, IMG_CGROUP, 0, &t->cgroups);
	if (r == -ENOENT)
		return 0;	/* dumped before cgroups were saved */
	if (r || attach_entries(t))
		return -1;
	for (size_t i = 0; i < t->nr; i++)
		if (t->procs[i].cg && plan_proc(t, o, &t->procs[i]))
			return -1;
	/* a process in its parent's cgroups is there from its fork: nothing to join
	 * (in a tree with its own mount namespace, the host's paths are gone by then) */
	for (size_t i = t->nr; i-- > 1;)
		if (t->procs[i].parent >= 0 && same_dirs(&t->procs[i], &t->procs[t->procs[i].parent]))
			drop_dirs(&t->procs[i]);
	return 0;
}

/* a new cpuset takes its parent's cpus and mems (else no task may join it) */
static int fill_cpuset(const char *dir)
{
	char parent[PATH_MAX], v[4096], path[PATH_MAX + 32];
	const char *files[] = { "cpuset.cpus", "cpuset.mems" };

	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = 0;
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", parent, files[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 0;	/* not a cpuset */
		ssize_t n = read(fd, v, sizeof(v) - 1);
		close(fd);
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (n <= 0 || fd < 0 || write(fd, v, n) != n) {
			pr_perror("cannot set %s", path);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* mkdir -p of a cgroup directory, new cpusets filled */
static int make_dir(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *s = path + 1;; s++) {
		if (*s && *s != '/')
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(path, 0755) == 0) {
			if (fill_cpuset(path))
				return -1;
		} else if (errno != EEXIST) {
			pr_perror("cannot make cgroup %s", path);
			return -1;
		}
		if (!(*s = c))
			return 0;
	}
}

int rst_cgroups_join(const struct rst_proc *p)
{
	for (int i = 0; i < p->nr_cg_dirs; i++) {
		char path[PATH_MAX + 16];
		if (access(p->cg_dirs[i], F_OK) && make_dir(p->cg_dirs[i]))
			return -1;
		snprintf(path, sizeof(path), "%s/cgroup.procs", p->cg_dirs[i]);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1) {
			pr_perror("pid %d: cannot join cgroup %s", p->pid, p->cg_dirs[i]);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}
