/*
 * files.c - a task's file descriptors, cwd, root and umask.  Regular files,
 * directories and character devices are reopened by path at restore; a
 * terminal only with --shell-job.  Anything else is refused here, naming the
 * process, the fd and the object.
 */
#define LOG_PREFIX "files: "
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dump.h"
#include "log.h"

static int read_link(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	ssize_t n = readlink(path, buf, len - 1);
	if (n < 0) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	buf[n] = 0;
	return 0;
}

static bool is_tty(const struct stat *st)
{
	unsigned maj = major(st->st_rdev);
	/* 4: tty/vc, 5: /dev/tty, /dev/console, /dev/ptmx; 136-143: pts */
	return maj == 4 || (maj == 5 && minor(st->st_rdev) <= 2) || (maj >= 136 && maj <= 143);
}

static FdEntry *dump_fd(pid_t pid, int fd, const struct opts *o)
{
	char name[96], path[PATH_MAX];
	struct proc_fdinfo fi;
	struct stat st, pst;

	snprintf(name, sizeof(name), "fd/%d", fd);
	if (read_link(pid, name, path, sizeof(path)))
		return NULL;
	snprintf(name, sizeof(name), "/proc/%d/fd/%d", pid, fd);
	if (stat(name, &st)) {
		pr_perror("pid %d: cannot stat fd %d (%s)", pid, fd, path);
		return NULL;
	}
	if (proc_read_fdinfo(pid, fd, &fi))
		return NULL;

	FdEntry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	fd_entry__init(e);
	e->fd = fd;
	e->flags = fi.flags & ~O_CLOEXEC;
	e->cloexec = !!(fi.flags & O_CLOEXEC);
	e->pos = fi.pos;
	e->has_mode = e->has_size = e->has_rdev = true;
	e->mode = st.st_mode;
	e->size = st.st_size;
	e->rdev = st.st_rdev;
	e->path = strdup(path);

	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		e->kind = FD_KIND__FD_REG;
		/* the path must still lead to the very file that is open */
		if (path[0] != '/' || stat(path, &pst) || pst.st_dev != st.st_dev ||
		    pst.st_ino != st.st_ino) {
			pr_err("pid %d: fd %d: file '%s' was deleted or replaced since it was opened: not supported",
			       pid, fd, path);
			goto bad;
		}
	} else if (S_ISCHR(st.st_mode) && is_tty(&st)) {
		if (!o->shell_job) {
			pr_err("pid %d: fd %d is a terminal (%s): dump with --shell-job", pid, fd, path);
			goto bad;
		}
		e->kind = FD_KIND__FD_TTY;
	} else if (S_ISCHR(st.st_mode)) {
		e->kind = FD_KIND__FD_CHR;
		if (path[0] != '/' || stat(path, &pst) || pst.st_rdev != st.st_rdev) {
			pr_err("pid %d: fd %d: device '%s' cannot be reopened by path", pid, fd, path);
			goto bad;
		}
	} else {
		pr_err("pid %d: fd %d: '%s' is not supported (only regular files, directories and character devices are)",
		       pid, fd, path);
		goto bad;
	}
	if (!e->path)
		goto bad;
	return e;
bad:
	fd_entry__free_unpacked(e, NULL);
	return NULL;
}

static int cmp_fd(const void *a, const void *b)
{
	return (int)(*(FdEntry *const *)a)->fd - (int)(*(FdEntry *const *)b)->fd;
}

int dump_files(struct dump_proc *p, const struct opts *o)
{
	char path[PATH_MAX], buf[64];
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", p->pid);
	d = opendir(path);
	if (!d) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == p->skip_fd)
			continue;
		if (p->nr_fds == cap) {
			cap = cap ? cap * 2 : 32;
			FdEntry **n = realloc(p->fds, cap * sizeof(*n));
			if (!n)
				goto err;
			p->fds = n;
		}
		FdEntry *e = dump_fd(p->pid, atoi(de->d_name), o);
		if (!e)
			goto err;
		p->fds[p->nr_fds++] = e;
	}
	closedir(d);
	qsort(p->fds, p->nr_fds, sizeof(*p->fds), cmp_fd);

	FsEntry *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -1;
	fs_entry__init(fs);
	p->fs = fs;
	if (read_link(p->pid, "cwd", path, sizeof(path)))
		return -1;
	fs->cwd = strdup(path);
	if (read_link(p->pid, "root", path, sizeof(path)))
		return -1;
	fs->root = strdup(path);
	if (proc_status_field(p->pid, "Umask:", buf, sizeof(buf)))
		return -1;
	fs->umask = strtoul(buf, NULL, 8);
	if (!fs->cwd || !fs->root)
		return -1;
	return 0;
err:
	closedir(d);
	return -1;
}
