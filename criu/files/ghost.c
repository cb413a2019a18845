/*
 * ghost.c - making again, at restore, a file that was removed while it was
 * open (a deleted regular file, a removed directory, an unlinked FIFO):
 * made at its old path and removed at once, so that its links in /proc
 * read as they did ("PATH (deleted)").  If another file took that path
 * since, it is made under a name of criu's in the same directory, with a
 * warning (the links then differ).  A file made with O_TMPFILE is made so
 * again (linkable with linkat, as it was; its link names its new inode
 * number).  Owns only the making; contents, owner and mode are the kinds'.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"

static const char *kind_name(mode_t mode)
{
	return S_ISDIR(mode) ? "directory" : S_ISFIFO(mode) ? "FIFO" : "file";
}

/* made at path, opened, removed: the fd, or -1 with errno */
static int make_at(const char *path, mode_t mode)
{
	int fd = -1;
	if (S_ISDIR(mode)) {
		if (mkdir(path, 0700))
			return -1;
		fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rmdir(path) && fd >= 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	if (S_ISFIFO(mode)) {
		if (mkfifo(path, 0600))
			return -1;
		/* read and write: never blocks, keeps the pipe alive */
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	} else {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (unlink(path) && fd >= 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* an O_TMPFILE file in the directory of path: nameless, linkable (linkat) */
static int make_tmpfile(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	int fd = open(dirname(dir), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		pr_perror("deleted file %s (made with O_TMPFILE): cannot make it again in %s", path, dir);
	return fd;
}

int fd_make_removed(const char *path, mode_t mode, bool tmpfile)
{
	if (tmpfile && S_ISREG(mode))
		return make_tmpfile(path);
	int fd = make_at(path, mode);
	if (fd >= 0 || errno != EEXIST) {
		if (fd < 0)
			pr_perror("deleted %s %s: cannot make it again", kind_name(mode), path);
		return fd;
	}
	char dir[PATH_MAX], tmp[PATH_MAX + 64];
	snprintf(dir, sizeof(dir), "%s", path);
	dirname(dir);
	for (int i = 0; i < 100 && fd < 0; i++) {
		snprintf(tmp, sizeof(tmp), "%s/.criu-ghost-%d-%d", dir, getpid(), i);
		fd = make_at(tmp, mode);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		pr_perror("deleted %s %s: cannot make it again in %s", kind_name(mode), path, dir);
	else
		pr_warn("deleted %s %s: another file has its path now: restored as deleted %s",
			kind_name(mode), path, tmp);
	return fd;
}
