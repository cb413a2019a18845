/*
 * reg.c - regular files and directories.  Reopened by path with the same
 * flags (O_APPEND, O_NONBLOCK, O_PATH, O_DIRECTORY...) and offset.  A file
 * unlinked since it was opened is a ghost: its contents go into the images
 * and restore makes an unlinked file (O_TMPFILE) in the same directory with
 * them.  A path that now leads to another file is refused.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "log.h"

#define DELETED " (deleted)"

static bool reg_match(const struct fd_probe *p)
{
	return S_ISREG(p->st.st_mode) || S_ISDIR(p->st.st_mode);
}

static int reg_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	RegFile *r = calloc(1, sizeof(*r));
	struct stat pst;
	char path[PATH_MAX];

	if (!r)
		return -1;
	reg_file__init(r);
	fe->reg = r;
	r->pos = p->fi.pos;
	r->has_mode = r->has_size = true;
	r->mode = p->st.st_mode;
	r->size = p->st.st_size;
	snprintf(path, sizeof(path), "%s", p->link);

	size_t n = strlen(path), dl = strlen(DELETED);
	if (p->st.st_nlink == 0 && n > dl && !strcmp(path + n - dl, DELETED)) {
		path[n - dl] = 0;
		if (!S_ISREG(p->st.st_mode) || path[0] != '/') {
			pr_err("pid %d: fd %d: '%s' was deleted and is not a regular file: not supported",
			       d->pid, p->fd, p->link);
			return -1;
		}
		/* a ghost: keep its contents; read through a new description,
		 * the process's own offset stays as it is */
		char proc[64], what[PATH_MAX + 64];
		snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", d->pid, p->fd);
		snprintf(what, sizeof(what), "pid %d: fd %d: deleted file %s", d->pid, p->fd, path);
		int fd = open(proc, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			pr_perror("%s: cannot open it through %s", what, proc);
			return -1;
		}
		int ret = fd_read_contents(fd, p->st.st_size, what, &r->data);
		close(fd);
		if (ret)
			return -1;
		r->has_ghost = r->has_data = true;
		r->ghost = true;
	} else if (path[0] != '/' || stat(path, &pst) || pst.st_dev != p->st.st_dev ||
		   pst.st_ino != p->st.st_ino) {
		/* the path must still lead to the very file that is open */
		pr_err("pid %d: fd %d: file '%s' was replaced since it was opened (its path leads to another file): not supported",
		       d->pid, p->fd, path);
		return -1;
	}
	r->path = strdup(path);
	return r->path ? 0 : -1;
}

static int reg_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	const RegFile *r = fe->reg;
	struct stat st;
	(void)o;

	if (!r) {
		pr_err("%s: file %u: no file description", name, fe->id);
		return -1;
	}
	if (r->ghost) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", r->path);
		if (r->data.len != r->size) {
			pr_err("%s: file %u: deleted file %s has %zu bytes of contents, %lu expected", name,
			       fe->id, r->path, r->data.len, (unsigned long)r->size);
			return -1;
		}
		if (stat(dirname(dir), &st) || !S_ISDIR(st.st_mode)) {
			pr_err("%s: file %u: the directory of deleted file %s is gone", name, fe->id, r->path);
			return -1;
		}
		return 0;
	}
	if (stat(r->path, &st)) {
		pr_err("%s: file %u: %s is gone", name, fe->id, r->path);
		return -1;
	}
	if (r->has_mode && (st.st_mode & S_IFMT) != (r->mode & S_IFMT)) {
		pr_err("%s: file %u: %s is now another kind of file (mode %o, was %o)", name, fe->id, r->path,
		       st.st_mode, r->mode);
		return -1;
	}
	return 0;
}

static int open_ghost(const FileEntry *fe)
{
	const RegFile *r = fe->reg;
	char dir[PATH_MAX], proc[64];

	snprintf(dir, sizeof(dir), "%s", r->path);
	int tmp = open(dirname(dir), O_TMPFILE | O_RDWR | O_CLOEXEC, r->mode & 07777);
	if (tmp < 0) {
		pr_perror("file %u: cannot make an unlinked file in %s for deleted %s", fe->id, dir, r->path);
		return -1;
	}
	for (size_t done = 0; done < r->data.len;) {
		ssize_t n = write(tmp, r->data.data + done, r->data.len - done);
		if (n <= 0) {
			pr_perror("file %u: cannot write the contents of deleted %s", fe->id, r->path);
			close(tmp);
			return -1;
		}
		done += n;
	}
	fchmod(tmp, r->mode & 07777);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tmp);
	int fd = open(proc, fe->flags & ~(O_CREAT | O_EXCL | O_TRUNC));
	if (fd < 0)
		pr_perror("file %u: cannot reopen deleted %s", fe->id, r->path);
	close(tmp);
	return fd;
}

static int reg_open(struct fd_rst *rst, const FileEntry *fe)
{
	const RegFile *r = fe->reg;
	int fd;
	(void)rst;

	if (r->ghost)
		fd = open_ghost(fe);
	else {
		fd = open(r->path, fe->flags & ~(O_CREAT | O_EXCL | O_TRUNC));
		if (fd < 0)
			pr_perror("file %u: cannot open %s", fe->id, r->path);
	}
	if (fd < 0)
		return -1;
	if (!(fe->flags & O_PATH) && r->pos && lseek(fd, r->pos, SEEK_SET) != (off_t)r->pos) {
		pr_perror("file %u: cannot seek %s to %lu", fe->id, r->path, (unsigned long)r->pos);
		close(fd);
		return -1;
	}
	return fd;
}

const struct fd_ops fd_reg_ops = {
	.kind = FD_KIND__FD_REG,
	.name = "regular file",
	.match = reg_match,
	.dump = reg_dump,
	.check = reg_check,
	.open = reg_open,
};
