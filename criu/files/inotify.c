/*
 * inotify.c - inotify instances: every watch by path and mask.  fdinfo
 * gives each watch's inode and a file handle; criu opens the handle
 * (open_by_handle_at on the mount of that device) to learn the path (a
 * watch on a symlink itself is added again with IN_DONT_FOLLOW).  An
 * instance with events not yet read is refused (they would be lost), as is
 * a watch whose inode has no path any more.  In a tree with its own mount
 * namespace the handle is opened on the tree's mount and the path is the
 * tree's (checked in its view: criu/ns/mnt.h); the process adds the
 * watches again after it has pivoted into its root.
 *
 * Restore adds the watches in wd order; watch descriptors are handed out
 * in increasing order, so gaps are skipped with throw-away watches, and
 * the IN_IGNORED events those leave are read away.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"
#include "criu/ns/mnt.h"

static bool inotify_match(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:inotify");
}

/* an fd on a mount of device dev (open_by_handle_at refuses O_PATH ones),
 * from criu's mountinfo, or in a tree with its own mount namespace from
 * the process's, opened in the tree's view (so that the handle's path is
 * the tree's too) */
static int mount_fd_of(const struct fd_dump *d, dev_t dev)
{
	char info[64] = "/proc/self/mountinfo";
	if (d->rootfd > 0)
		snprintf(info, sizeof(info), "/proc/%d/mountinfo", d->pid);
	FILE *f = fopen(info, "re");
	char line[4096], mnt[PATH_MAX];
	unsigned maj, min;
	int fd = -1;

	if (!f)
		return -1;
	while (fd < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mnt) == 3 &&
		    makedev(maj, min) == dev)
			fd = mnt_open_in(d->rootfd, mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	fclose(f);
	return fd;
}

static int hex_bytes(const char *s, unsigned char *out, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (sscanf(s + 2 * i, "%2hhx", &out[i]) != 1)
			return -1;
	return 0;
}

/* the path of the watched inode, through its handle */
static int watch_path(struct fd_dump *d, int fd, const char *l, InotifyWatch *w)
{
	unsigned long ino, sdev;
	unsigned wd, mask, ign, hbytes;
	int htype;
	char hex[2 * MAX_HANDLE_SZ + 1];

	if (sscanf(l, "inotify wd:%x ino:%lx sdev:%lx mask:%x ignored_mask:%x fhandle-bytes:%x fhandle-type:%x f_handle:%256s",
		   &wd, &ino, &sdev, &mask, &ign, &hbytes, &htype, hex) != 8 || hbytes > MAX_HANDLE_SZ) {
		pr_err("pid %d: fd %d: inotify: cannot parse fdinfo line '%.60s'", d->pid, fd, l);
		return -1;
	}
	w->wd = wd;
	w->mask = mask;
	w->ino = ino;
	w->dev = fd_kdev_to_dev(sdev);

	struct file_handle *h = calloc(1, sizeof(*h) + MAX_HANDLE_SZ);
	if (!h)
		return -1;
	h->handle_bytes = hbytes;
	h->handle_type = htype;
	int mfd = hex_bytes(hex, h->f_handle, hbytes) ? -1 : mount_fd_of(d, w->dev);
	int tfd = mfd < 0 ? -1 : open_by_handle_at(mfd, h, O_PATH | O_CLOEXEC);
	free(h);
	if (mfd >= 0)
		close(mfd);
	char proc[64], path[PATH_MAX];
	ssize_t n = -1;
	if (tfd >= 0) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tfd);
		n = readlink(proc, path, sizeof(path) - 1);
		close(tfd);
	}
	struct stat st;
	if (n > 0)
		path[n] = 0;
	/* a symlink itself (added with IN_DONT_FOLLOW): its path leads to it
	 * with lstat only */
	if (n > 0 && path[0] == '/' && !mnt_stat_in(d->rootfd, path, &st, true) && S_ISLNK(st.st_mode) &&
	    st.st_ino == ino && st.st_dev == w->dev) {
		w->has_dont_follow = w->dont_follow = true;
	} else if (n <= 0 || path[0] != '/' || mnt_stat_in(d->rootfd, path, &st, false) || st.st_ino != ino ||
		   st.st_dev != w->dev) {
		pr_err("pid %d: fd %d: inotify watch %u: the watched inode %lu has no path leading to it: not supported",
		       d->pid, fd, wd, ino);
		return -1;
	}
	w->path = strdup(path);
	return w->path ? 0 : -1;
}

static int cmp_wd(const void *a, const void *b)
{
	const InotifyWatch *x = *(InotifyWatch *const *)a, *y = *(InotifyWatch *const *)b;
	return x->wd < y->wd ? -1 : x->wd > y->wd;
}

static int inotify_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	InotifyFile *in = calloc(1, sizeof(*in));
	char *info = NULL;
	size_t cap = 0;
	int ret = -1, pending = 0;

	if (!in)
		return -1;
	inotify_file__init(in);
	fe->inotify = in;
	int copy = fd_dump_getfd(d, p->fd);
	if (copy < 0)
		return -1;
	if (ioctl(copy, FIONREAD, &pending) || pending) {
		pr_err("pid %d: fd %d: inotify has %d bytes of events not yet read: not supported", d->pid,
		       p->fd, pending);
		close(copy);
		return -1;
	}
	close(copy);
	info = fd_dump_fdinfo(d, p->fd);
	if (!info)
		return -1;
	for (char *l = strstr(info, "inotify wd:"); l; l = strstr(l + 1, "inotify wd:")) {
		if (in->n_watches == cap) {
			cap = cap ? cap * 2 : 8;
			InotifyWatch **n = realloc(in->watches, cap * sizeof(*n));
			if (!n)
				goto out;
			in->watches = n;
		}
		InotifyWatch *w = calloc(1, sizeof(*w));
		if (!w)
			goto out;
		inotify_watch__init(w);
		in->watches[in->n_watches++] = w;
		if (watch_path(d, p->fd, l, w))
			goto out;
	}
	/* fdinfo lists the newest first: restore adds them in wd order */
	qsort(in->watches, in->n_watches, sizeof(*in->watches), cmp_wd);
	ret = 0;
out:
	free(info);
	return ret;
}

static int inotify_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	if (!fe->inotify) {
		pr_err("%s: file %u: no inotify description", name, fe->id);
		return -1;
	}
	for (size_t i = 0; i < fe->inotify->n_watches; i++) {
		const InotifyWatch *w = fe->inotify->watches[i];
		struct stat st;
		if (i && w->wd <= fe->inotify->watches[i - 1]->wd) {
			pr_err("%s: file %u: inotify watches out of order", name, fe->id);
			return -1;
		}
		if (mnt_stat_in(o->rst_root_fd, w->path, &st, w->dont_follow)) {
			pr_err("%s: file %u: inotify watch %u: %s is gone", name, fe->id, w->wd, w->path);
			return -1;
		}
	}
	return 0;
}

/* a directory no watch of the instance is on, for throw-away watches */
static const char *spare_dir(const InotifyFile *in)
{
	static const char *const dirs[] = { "/", "/proc", "/dev", "/sys", "/tmp", "/etc" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct stat st;
		bool used = stat(dirs[i], &st) != 0;
		for (size_t j = 0; j < in->n_watches && !used; j++)
			used = in->watches[j]->ino == st.st_ino && in->watches[j]->dev == st.st_dev;
		if (!used)
			return dirs[i];
	}
	return NULL;
}

static int inotify_open(struct fd_rst *r, const FileEntry *fe)
{
	const InotifyFile *in = fe->inotify;
	const char *spare = spare_dir(in);
	int next = 1;	/* the wd the next watch gets */
	(void)r;

	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0) {
		pr_perror("file %u: cannot create an inotify instance", fe->id);
		return -1;
	}
	for (size_t i = 0; i < in->n_watches; i++) {
		const InotifyWatch *w = in->watches[i];
		while (next < (int)w->wd) {
			int t = spare ? inotify_add_watch(fd, spare, IN_ACCESS) : -1;
			if (t < 0 || inotify_rm_watch(fd, t)) {
				pr_perror("file %u: cannot skip inotify watch %d", fe->id, next);
				goto err;
			}
			next = t + 1;
		}
		int got = inotify_add_watch(fd, w->path, w->mask | (w->dont_follow ? IN_DONT_FOLLOW : 0));
		if (got != (int)w->wd) {
			pr_perror("file %u: inotify watch of %s became %d, not %u", fe->id, w->path, got, w->wd);
			goto err;
		}
		next = got + 1;
	}
	/* the IN_IGNORED of the skipped watches */
	char buf[4096];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (fd_set_status_flags(fd, fe->flags, fe->id))
		goto err;
	return fd;
err:
	close(fd);
	return -1;
}

const struct fd_ops fd_inotify_ops = {
	.kind = FD_KIND__FD_INOTIFY,
	.name = "inotify",
	.match = inotify_match,
	.dump = inotify_dump,
	.check = inotify_check,
	.open = inotify_open,
};
