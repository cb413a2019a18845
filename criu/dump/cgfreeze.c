/*
 * cgfreeze.c - `dump --freeze-cgroup PATH`: the tree is frozen through its
 * cgroup's freezer before criu seizes it, so that no task forks, starts a
 * thread or exits while the tree is walked (cgroup v1: PATH/freezer.state,
 * v2: PATH/cgroup.freeze).  Every process of the tree must be in PATH or a
 * cgroup below it.  Once seized (stopped by ptrace) the tree is thawed;
 * at the end the freezer is put back as criu found it.
 */
#define LOG_PREFIX "dump: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu/dump/cgfreeze.h"
#include "criu/dump/dump.h"
#include "common/log.h"

static int write_file(const char *dir, const char *name, const char *v)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ok = fd >= 0 && write(fd, v, strlen(v)) == (ssize_t)strlen(v);
	if (!ok)
		pr_perror("--freeze-cgroup: cannot write %s to %s", v, path);
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* is the freezer in the state asked for (v1 "FROZEN"/"THAWED"; v2 cgroup.events "frozen 1/0")? */
static int in_state(const struct cg_freezer *f, bool frozen)
{
	char path[PATH_MAX], buf[512];
	snprintf(path, sizeof(path), "%s/%s", f->path, f->v2 ? "cgroup.events" : "freezer.state");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	if (f->v2)
		return strstr(buf, frozen ? "frozen 1" : "frozen 0") != NULL;
	return !strncmp(buf, frozen ? "FROZEN" : "THAWED", 6);
}

static int set_state(const struct cg_freezer *f, bool frozen)
{
	if (write_file(f->path, f->v2 ? "cgroup.freeze" : "freezer.state",
		       f->v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED")))
		return -1;
	for (int i = 0; i < 5000; i++) {
		int r = in_state(f, frozen);
		if (r)
			return r < 0 ? -1 : 0;
		usleep(1000);
	}
	pr_err("--freeze-cgroup %s: not %s after 5 s", f->path, frozen ? "frozen" : "thawed");
	return -1;
}

int cg_freeze(const char *path, struct cg_freezer *f)
{
	char p[PATH_MAX];

	memset(f, 0, sizeof(*f));
	f->path = path;
	snprintf(p, sizeof(p), "%s/freezer.state", path);
	if (access(p, F_OK)) {
		snprintf(p, sizeof(p), "%s/cgroup.freeze", path);
		if (access(p, F_OK)) {
			pr_err("--freeze-cgroup %s: neither freezer.state (cgroup v1) nor cgroup.freeze (v2) there: not a freezer cgroup",
			       path);
			return -1;
		}
		f->v2 = true;
	}
	int was = in_state(f, true);
	if (was < 0) {
		pr_perror("--freeze-cgroup %s: cannot read the freezer's state", path);
		return -1;
	}
	f->was_frozen = was;
	if (set_state(f, true))
		return -1;
	f->frozen = true;
	pr_info("cgroup %s frozen (cgroup v%d)%s", path, f->v2 ? 2 : 1,
		was ? ", as it was already" : "");
	return 0;
}

int cg_thaw(struct cg_freezer *f)
{
	if (!f->frozen)
		return 0;
	f->frozen = false;
	return set_state(f, false);
}

void cg_restore_state(struct cg_freezer *f)
{
	if (f->path && f->was_frozen && !f->frozen && set_state(f, true) == 0)
		f->frozen = true;
}

/* pid is listed in cgroup.procs of dir or of a cgroup below it */
static bool in_cgroup(const char *dir, pid_t pid, int depth)
{
	char path[PATH_MAX], line[32];
	bool found = false;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		found = atoi(line) == pid;
	if (f)
		fclose(f);
	DIR *d = found || depth > 32 ? NULL : opendir(dir);
	struct dirent *de;
	while (d && !found && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		found = in_cgroup(path, pid, depth + 1);
	}
	if (d)
		closedir(d);
	return found;
}

int cg_check_tree(const struct cg_freezer *f, const struct dump_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		if (!p->zombie && !in_cgroup(f->path, p->pid, 0)) {
			pr_err("pid %d: not in cgroup %s (--freeze-cgroup): the whole tree must be in it",
			       p->pid, f->path);
			return -1;
		}
	}
	return 0;
}
