/*
 * inherit.c - `criu restore --inherit-fd fd[N]:KEY`: the restored process
 * gets criu's fd N (the same open file description) in place of the file
 * KEY names, instead of a file made from the images.
 *
 * KEY is what the file is at dump: an external file's key as dump recorded
 * it (FileEntry.external: "pipe:[INODE]" for a pipe whose other end was in
 * another process, "socket:[INODE]" for a unix stream socket connected
 * outside, dumped with --ext-unix-sk), or the path of a regular file, FIFO
 * or character device (with or without its leading '/').  An external file
 * no --inherit-fd names is refused before anything is created.
 *
 * This module owns the choice between an inherited fd and the kind's own
 * open(); it knows no kind's internals but which ones have a path.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"

int fd_inherit_parse(const char *arg, int *fd, const char **key)
{
	char *end;
	if (strncmp(arg, "fd[", 3))
		return -1;
	long n = strtol(arg + 3, &end, 10);
	if (end == arg + 3 || n < 0 || n > 0x7fffffff || strncmp(end, "]:", 2) || !end[2])
		return -1;
	*fd = n;
	*key = end + 2;
	return 0;
}

/* the path a file can be named by, or NULL */
static const char *file_path(const FileEntry *fe)
{
	switch (fe->kind) {
	case FD_KIND__FD_REG:
	case FD_KIND__FD_CHR:
		return fe->reg && !fe->reg->ghost ? fe->reg->path : NULL;
	case FD_KIND__FD_FIFO:
		return fe->pipe ? fe->pipe->path : NULL;
	default:
		return NULL;
	}
}

static bool key_matches(const FileEntry *fe, const char *key)
{
	if (fe->external)
		return !strcmp(fe->external, key);
	const char *path = file_path(fe);
	if (!path)
		return false;
	/* CRIU names files without the leading '/': take both */
	while (*path == '/')
		path++;
	while (*key == '/')
		key++;
	return !strcmp(path, key);
}

/* the index of the --inherit-fd that names fe, or -1 */
static int inherit_find(const struct opts *o, const FileEntry *fe)
{
	for (int i = 0; o && i < o->nr_inherit_fd; i++) {
		int fd;
		const char *key;
		if (!fd_inherit_parse(o->inherit_fd[i], &fd, &key) && key_matches(fe, key))
			return i;
	}
	return -1;
}

int fd_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	int i = inherit_find(o, fe), fd;
	const char *key;

	if (i >= 0) {
		fd_inherit_parse(o->inherit_fd[i], &fd, &key);
		if (fcntl(fd, F_GETFD) < 0) {
			pr_err("--inherit-fd %s: criu has no fd %d", o->inherit_fd[i], fd);
			return -1;
		}
		pr_info("%s: file %u (%s) is criu's fd %d (--inherit-fd)", name, fe->id, key, fd);
		return 0;
	}
	if (fe->external) {
		pr_err("%s: file %u is %s, outside the dumped process: restore with --inherit-fd fd[N]:%s (criu's fd N takes its place)",
		       name, fe->id, fe->external, fe->external);
		return -1;
	}
	return fd_ops_by_kind(fe->kind)->check(fe, o, name);
}

int fd_rst_open(struct fd_rst *r, const FileEntry *fe)
{
	int i = inherit_find(r->o, fe);
	if (i < 0)
		return fd_ops_by_kind(fe->kind)->open(r, fe);
	int fd = r->inherit ? fcntl(r->inherit[i], F_DUPFD, 0) : -1;
	if (fd < 0)
		pr_perror("file %u: cannot take the inherited fd (%s)", fe->id, r->o->inherit_fd[i]);
	return fd;
}
