/*
 * cgroups-rst.c - cgroup membership and settings at restore (cgroup.img),
 * by --manage-cgroups MODE, CRIU's modes:
 *   ignore  every process stays in criu's cgroups
 *   none    the cgroups must exist; their settings are left as they are
 *   props   the cgroups must exist; the saved settings are written
 *   soft    (the default) missing cgroups are made, with the saved
 *           settings; existing ones are left as they are
 *   full    missing cgroups are made; the saved settings are written to
 *           every cgroup of the tree, existing or not
 *   strict  as full, but none of the tree's saved cgroups may exist
 * Where: each hierarchy's mount point in criu's namespace (found by its
 * controllers) plus the dumped path, moved under --cgroup-root
 * [CTRL:]PATH where the root's cgroup is replaced.  criu makes and opens
 * every directory before the root is created; each process joins its
 * cgroups through those fds (inherited; closed with the others before its
 * files are opened), so a child of a tree pivoted into its own root joins
 * as well.  The root of a tree with a cgroup namespace of its own joins
 * the namespace's root, unshares CLONE_NEWCGROUP, then joins its own
 * cgroups: the namespace's root is the same cgroup as at dump, relative
 * to --cgroup-root, and its cgroup mounts (made after) show the same
 * paths; so does a process that made a cgroup namespace below the root,
 * before it creates its children.  Threads in other cgroups than their process are moved by criu
 * once every task is at its last trap.  Images without cgroup.img:
 * nothing done.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/cgroup-mount.h"
#include "criu/procfs.h"
#include "criu/restore/restore.h"

enum { CG_MODE_IGNORE, CG_MODE_NONE, CG_MODE_PROPS, CG_MODE_SOFT, CG_MODE_FULL, CG_MODE_STRICT };
static const char *const mode_names[] = { "ignore", "none", "props", "soft", "full", "strict" };

static int parse_mode(const char *s)
{
	for (int i = 0; i < (int)(sizeof(mode_names) / sizeof(mode_names[0])); i++)
		if (!strcmp(s, mode_names[i]))
			return i;
	return -1;
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
static void map_path(const struct rst_tree *t, const struct opts *o, const char *ctrls, const char *path,
		     char *out, size_t len)
{
	snprintf(out, len, "%s", path);
	for (int i = 0; i < o->nr_cgroup_root; i++) {
		const char *arg = o->cgroup_root[i], *colon = strchr(arg, ':');
		const char *to = colon ? colon + 1 : arg;
		if (colon) {
			char ctrl[128];
			snprintf(ctrl, sizeof(ctrl), "%.*s", (int)(colon - arg), arg);
			if (!*ctrls || !cg_all_in(ctrl, ctrls))
				continue;
		}
		const char *r = root_path(t, ctrls);
		size_t n = r ? strlen(r) : 0;
		if (!r || strncmp(path, r, n) || (path[n] && path[n] != '/' && strcmp(r, "/")))
			continue;
		snprintf(out, len, "%s%s%s", to, strcmp(r, "/") ? "" : "/", path + n);
		return;
	}
}

/* the index of (ctrls, dumped path) in t->cg.d, added if new; -1 (said) on error */
static int dir_at(struct rst_tree *t, const struct opts *o, pid_t pid, const char *ctrls, const char *dumped)
{
	struct rst_cgroups *c = &t->cg;
	char mnt[PATH_MAX], path[PATH_MAX], dir[PATH_MAX * 2];

	if (cg_mount_of(ctrls, mnt, sizeof(mnt))) {
		pr_err("cgroup.img: pid %d: its cgroup hierarchy '%s' is not mounted here "
		       "(--manage-cgroups=ignore to leave it in criu's)", pid, *ctrls ? ctrls : "cgroup2");
		return -1;
	}
	map_path(t, o, ctrls, dumped, path, sizeof(path));
	if (strstr(path, "/../") || path[0] != '/' || !strcmp(path + (strlen(path) > 2 ? strlen(path) - 3 : 0), "/..")) {
		pr_err("cgroup.img: pid %d: cgroup path %s is not absolute", pid, path);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s%s", mnt, strcmp(path, "/") ? path : "");
	for (int i = 0; i < c->nr; i++)
		if (!strcmp(c->d[i].dir, dir))
			return i;
	struct rst_cgdir *v = realloc(c->d, (c->nr + 1) * sizeof(*v));
	if (!v)
		return -1;
	c->d = v;
	v[c->nr] = (struct rst_cgdir){ .dir = strdup(dir), .controllers = ctrls, .fd = -1 };
	return v[c->nr].dir ? c->nr++ : -1;
}

/* members into indices (*at, *n) */
static int plan_members(struct rst_tree *t, const struct opts *o, pid_t pid, CgroupMember **m, size_t n,
			int **at, int *nr)
{
	*nr = 0;
	if (!(*at = calloc(n + 1, sizeof(int))))
		return -1;
	for (size_t i = 0; i < n; i++) {
		int k = dir_at(t, o, pid, m[i]->controllers, m[i]->path);
		if (k < 0)
			return -1;
		(*at)[(*nr)++] = k;
	}
	return 0;
}

static bool same_at(const struct rst_proc *a, const struct rst_proc *b)
{
	if (a->nr_cg != b->nr_cg)
		return false;
	for (int i = 0; i < a->nr_cg; i++)
		if (a->cg_at[i] != b->cg_at[i])
			return false;
	return true;
}

/*
 * criu's own cgroup directory in the hierarchy of these controllers (as
 * dir_at names directories), from self (the text of /proc/self/cgroup),
 * into out; -1 if none
 */
static int own_dir(const char *self, const char *controllers, char *out, size_t len)
{
	char line[4096], mnt[PATH_MAX];

	for (const char *l = self; *l;) {
		size_t n = strcspn(l, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)n, l);
		l += n + (l[n] == '\n');
		char *c = strchr(line, ':'), *path = c ? strchr(c + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = 0;
		if (strcmp(c + 1, controllers) || cg_mount_of(controllers, mnt, sizeof(mnt)))
			continue;
		snprintf(out, len, "%s%s", mnt, strcmp(path, "/") ? path : "");
		return 0;
	}
	return -1;
}

/*
 * The root's cgroups that are criu's already (it starts in them, as
 * criu's child): nothing to join.  Each write to cgroup.procs costs ~1.3
 * ms here even into the cgroup the task is in: 13 ms of every restore on
 * this v1 hybrid machine.  Not with a cgroup namespace of its own (the
 * root joins the namespace's root cgroups first, then its own).
 */
static void drop_own(const struct rst_tree *t, struct rst_proc *p)
{
	char self[8192];
	ssize_t len = proc_read_file(getpid(), "cgroup", self, sizeof(self) - 1);
	int n = 0;

	if (len <= 0)
		return;	/* joins them all, as before */
	self[len] = 0;
	for (int i = 0; i < p->nr_cg; i++) {
		const struct rst_cgdir *d = &t->cg.d[p->cg_at[i]];
		char own[PATH_MAX * 2];
		if (!own_dir(self, d->controllers, own, sizeof(own)) && !strcmp(own, d->dir))
			continue;
		p->cg_at[n++] = p->cg_at[i];
	}
	p->nr_cg = n;
}

/* each process's entry of cgroup.img (by pid) */
static int attach_entries(struct rst_tree *t)
{
	for (size_t k = 0; k < t->cg.img.nr; k++) {
		CgroupEntry *e = (CgroupEntry *)t->cg.img.msgs[k];
		struct rst_proc *p = NULL;
		for (size_t i = 0; i < t->nr && !p; i++)
			if (t->procs[i].pid == (pid_t)e->pid && !t->procs[i].zombie)
				p = &t->procs[i];
		if (!p || p->cg || (p != &t->procs[0] && e->n_dirs)) {
			pr_err("cgroup.img: pid %u is no live process of the tree, or listed twice", e->pid);
			return -1;
		}
		p->cg = e;
	}
	return 0;
}

/* p's threads in cgroups of their own */
static int plan_threads(struct rst_tree *t, const struct opts *o, size_t i)
{
	struct rst_proc *p = &t->procs[i];

	for (size_t n = 0; n < p->cg->n_threads; n++) {
		const CgroupThread *th = p->cg->threads[n];
		int k = 0;
		while (k < p->nr_threads && p->pe->threads[k] != th->tid)
			k++;
		if (k == 0 || k == p->nr_threads) {
			pr_err("cgroup.img: pid %d has no thread %u", p->pid, th->tid);
			return -1;
		}
		for (size_t m = 0; m < th->n_members; m++) {
			int at = dir_at(t, o, p->pid, th->members[m]->controllers, th->members[m]->path);
			struct rst_cgthread *v = at < 0 ? NULL : realloc(t->cg.th, (t->cg.nr_th + 1) * sizeof(*v));
			if (!v)
				return -1;
			t->cg.th = v;
			v[t->cg.nr_th++] = (struct rst_cgthread){ (int)i, k, at };
		}
	}
	return 0;
}

static int plan_all(struct rst_tree *t, const struct opts *o)
{
	struct rst_proc *root = &t->procs[0];
	bool cgns = t->ns.flags & CLONE_NEWCGROUP;

	if (cgns && (!root->cg || !root->cg->n_ns_roots)) {
		pr_err("cgroup.img: no root of the tree's cgroup namespace, though inventory.img says it had one");
		return -1;
	}
	/* the saved cgroups first: parents before children, as dumped */
	for (size_t i = 0; root->cg && i < root->cg->n_dirs; i++) {
		const CgroupDir *d = root->cg->dirs[i];
		int k = dir_at(t, o, root->pid, d->controllers, d->path);
		if (k < 0)
			return -1;
		t->cg.d[k].saved = d;
	}
	for (size_t i = 0; i < t->nr; i++) {
		struct rst_proc *p = &t->procs[i];
		if (p->cg && (plan_members(t, o, p->pid, p->cg->members, p->cg->n_members, &p->cg_at, &p->nr_cg) ||
			      plan_threads(t, o, i)))
			return -1;
	}
	if (!cgns && root->cg && root->cg->n_ns_roots) {
		pr_err("cgroup.img: the root has a cgroup namespace root, though inventory.img says it had no namespace");
		return -1;
	}
	/* the root's cgroup namespace, and those processes made below it */
	for (size_t i = 0; i < t->nr; i++) {
		struct rst_proc *p = &t->procs[i];
		if (!p->cg || !p->cg->n_ns_roots)
			continue;
		if (plan_members(t, o, p->pid, p->cg->ns_roots, p->cg->n_ns_roots, &p->cgns_at, &p->nr_cgns))
			return -1;
		p->cgns = true;
	}
	/* a process in its parent's cgroups is there from its fork: nothing to
	 * join (but one that makes a cgroup namespace goes back after) */
	for (size_t i = t->nr; i-- > 1;) {
		struct rst_proc *p = &t->procs[i];
		if (p->parent >= 0 && p->cg && !p->cgns && same_at(p, &t->procs[p->parent]))
			p->nr_cg = 0;
	}
	if (root->cg && !cgns)
		drop_own(t, root);
	return 0;
}

int rst_cgroups_plan(int dirfd, struct rst_tree *t, const struct opts *o)
{
	const char *mode = o->manage_cgroups ? o->manage_cgroups : "soft";

	if ((t->cg.mode = parse_mode(mode)) < 0) {
		pr_err("--manage-cgroups %s: no such mode (ignore, none, props, soft, full, strict)", mode);
		return -1;
	}
	int r = img_read_all(dirfd, IMG_CGROUP, 0, &t->cg.img);
	if (r == -ENOENT && !(t->ns.flags & CLONE_NEWCGROUP))
		return 0;	/* dumped before cgroups were saved */
	if (r == -ENOENT)
		pr_err("cgroup.img: missing, though inventory.img says the tree had its own cgroup namespace");
	if (r || attach_entries(t))
		return -1;
	if (t->cg.mode != CG_MODE_IGNORE)
		return plan_all(t, o);
	/* ignore: the cgroup namespaces are made where criu's cgroups are */
	t->procs[0].cgns = t->ns.flags & CLONE_NEWCGROUP;
	for (size_t i = 1; i < t->nr; i++)
		t->procs[i].cgns = t->procs[i].cg && t->procs[i].cg->n_ns_roots;
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

/* mkdir -p of a cgroup directory, new cpusets filled; *made: the directory itself was made */
static int make_dir(const char *dir, bool *made)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *s = path + 1;; s++) {
		if (*s && *s != '/')
			continue;
		char c = *s;
		*s = 0;
		*made = false;
		if (mkdir(path, 0755) == 0) {
			*made = true;
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

/* strict: none of the saved cgroups exists; none, props: each one to join exists */
static int check_existing(const struct rst_cgroups *c)
{
	for (int i = 0; i < c->nr; i++) {
		bool there = !access(c->d[i].dir, F_OK);
		if (c->mode == CG_MODE_STRICT && c->d[i].saved && there) {
			pr_err("cgroup %s exists already (--manage-cgroups strict makes every cgroup of the tree)",
			       c->d[i].dir);
			return -1;
		}
		if ((c->mode == CG_MODE_NONE || c->mode == CG_MODE_PROPS) && !there) {
			pr_err("cgroup %s does not exist (--manage-cgroups %s joins only existing cgroups)",
			       c->d[i].dir, mode_names[c->mode]);
			return -1;
		}
	}
	return 0;
}

int rst_cgroups_make(struct rst_tree *t)
{
	struct rst_cgroups *c = &t->cg;
	int set = 0;

	if (check_existing(c))
		return -1;
	for (int i = 0; i < c->nr; i++) {
		struct rst_cgdir *d = &c->d[i];
		if (access(d->dir, F_OK) && make_dir(d->dir, &d->made))
			return -1;
		d->fd = open(d->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (d->fd < 0) {
			pr_perror("cannot open cgroup %s", d->dir);
			return -1;
		}
		bool write = d->saved && (c->mode == CG_MODE_PROPS || c->mode == CG_MODE_FULL ||
					  c->mode == CG_MODE_STRICT || (c->mode == CG_MODE_SOFT && d->made));
		if (write && rst_cgprops_write(d->fd, d->dir, d->saved))
			return -1;
		set += write;
	}
	if (c->nr)
		pr_info("cgroups (--manage-cgroups %s): %d directories, settings written to %d", mode_names[c->mode],
			c->nr, set);
	return 0;
}

void rst_cgroups_close(struct rst_tree *t)
{
	for (int i = 0; i < t->cg.nr; i++)
		if (t->cg.d[i].fd >= 0) {
			close(t->cg.d[i].fd);
			t->cg.d[i].fd = -1;
		}
}

void rst_cgroups_unmake(struct rst_tree *t)
{
	rst_cgroups_close(t);
	for (int i = t->cg.nr; i-- > 0;)
		if (t->cg.d[i].made && rmdir(t->cg.d[i].dir) == 0)
			t->cg.d[i].made = false;
}

/* this process into the cgroup of fd (dir: for messages) */
static int join_one(pid_t pid, const struct rst_cgdir *d)
{
	int fd = openat(d->fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1) {
		pr_perror("pid %d: cannot join cgroup %s", pid, d->dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int rst_cgroups_join(const struct rst_tree *t, const struct rst_proc *p)
{
	for (int i = 0; i < p->nr_cgns; i++)
		if (join_one(p->pid, &t->cg.d[p->cgns_at[i]]))
			return -1;
	if (p->cgns && unshare(CLONE_NEWCGROUP)) {
		pr_perror("pid %d: cannot make its cgroup namespace", p->pid);
		return -1;
	}
	for (int i = 0; i < p->nr_cg; i++)
		if (join_one(p->pid, &t->cg.d[p->cg_at[i]]))
			return -1;
	return 0;
}

int rst_cgroups_threads(const struct rst_tree *t)
{
	for (int i = 0; i < t->cg.nr_th; i++) {
		const struct rst_cgthread *th = &t->cg.th[i];
		const struct rst_proc *p = &t->procs[th->proc];
		const struct rst_cgdir *d = &t->cg.d[th->at];
		pid_t tid = p->real_tids[th->k];
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", tid);
		int fd = tid > 0 ? openat(d->fd, *d->controllers ? "tasks" : "cgroup.threads", O_WRONLY | O_CLOEXEC) : -1;
		if (fd < 0 || write(fd, buf, n) != n) {
			pr_perror("pid %d: cannot move its thread %d (%d here) into cgroup %s", p->pid,
				  p->pe->threads[th->k], tid, d->dir);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	if (t->cg.nr_th)
		pr_info("%d threads moved into cgroups of their own", t->cg.nr_th);
	return 0;
}

void rst_cgroups_free(struct rst_tree *t)
{
	rst_cgroups_close(t);
	for (int i = 0; i < t->cg.nr; i++)
		free(t->cg.d[i].dir);
	free(t->cg.d);
	free(t->cg.th);
	img_entries_free(&t->cg.img);
	memset(&t->cg, 0, sizeof(t->cg));
}
