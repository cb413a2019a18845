/*
 * mnt-path.c - paths of a tree's own mount namespace, resolved inside it:
 * openat2 with RESOLVE_IN_ROOT from a directory fd of its root, so that
 * ".." and absolute symlinks stay inside, as they do for the tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "criu/ns/mnt.h"

int mnt_open_in(int rootfd, const char *path, int flags, mode_t mode)
{
	if (rootfd <= 0)
		return open(path, flags, mode);
	struct open_how how = { .flags = (uint64_t)flags, .resolve = RESOLVE_IN_ROOT };
	if (flags & (O_CREAT | O_TMPFILE))
		how.mode = mode;
	while (*path == '/')
		path++;
	return syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
}

int mnt_stat_in(int rootfd, const char *path, struct stat *st, bool nofollow)
{
	if (rootfd <= 0)
		return nofollow ? lstat(path, st) : stat(path, st);
	int fd = mnt_open_in(rootfd, path, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0), 0);
	if (fd < 0)
		return -1;
	int r = fstat(fd, st);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}
