/*
 * pipe.c - anonymous pipes and FIFOs (named pipes).
 *
 * Dump: the pipe's size (F_GETPIPE_SZ) and its buffered bytes, read with
 * tee(2) from a copy of a read end (pidfd_getfd, or a read end opened
 * through /proc when the process holds only write ends) into criu's own
 * pipe: tee duplicates the buffers without consuming them, so the process
 * keeps its data whatever happens next (failed dump, --leave-running).
 * The data goes with the first read end of the pipe in the process (its
 * first write end if it has no read end); every end of one pipe has its
 * pipe_id (inode) and dev.  A pipe with only one end in the process, held
 * by another process outside the tree, is external: recorded by its key
 * "pipe:[INODE]" without its data, and restored only with --inherit-fd
 * (inherit.c).  Such a FIFO is refused.  A FIFO whose path was removed is
 * kept with its mode and owner.  In a tree with its own mount namespace a
 * FIFO's path is looked up in the tree's view (criu/ns/mnt.h), and so it
 * is at restore (where the tree's root task opens it again on its own
 * mounts once it has pivoted: criu/restore/mnt-reopen.c); an unlinked one
 * is refused there.
 *
 * Restore: criu makes each pipe once for the tree (restore/shmem.c asks
 * object_make) as one read-write end: pipe2, or the FIFO opened by path
 * (an unlinked one made again and removed, ghost.c); sets its size and
 * writes the data back.  Every end, in any process, however many open file
 * descriptions of one end there were, opens it again through /proc with
 * its flags.
 */
#define LOG_PREFIX "files: "
#include <dirent.h>
#include <libgen.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"
#include "criu/ns/mnt.h"

/* a read end, or both ends at once (a FIFO, or a pipe through /proc, O_RDWR) */
static bool is_read_end(uint32_t flags)
{
	return (flags & O_ACCMODE) != O_WRONLY;
}

static bool pipe_match(const struct fd_probe *p)
{
	return S_ISFIFO(p->st.st_mode) && !strncmp(p->link, "pipe:[", 6);
}

static bool fifo_match(const struct fd_probe *p)
{
	return S_ISFIFO(p->st.st_mode) && p->link[0] == '/';
}

/* calls fn for each fd of every other process; stops when fn returns true */
static void scan_others(pid_t pid, bool (*fn)(pid_t o, int fd, const char *link, void *arg), void *arg)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	bool stop = false;
	char l[PATH_MAX];

	if (!proc)
		return;
	while (!stop && (de = readdir(proc))) {
		pid_t o = atoi(de->d_name);
		if (o <= 0 || o == pid || o == getpid())
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/fd", o);
		DIR *fds = opendir(path);
		if (!fds)
			continue;
		struct dirent *f;
		while (!stop && (f = readdir(fds))) {
			if (f->d_name[0] == '.')
				continue;
			ssize_t n = readlinkat(dirfd(fds), f->d_name, l, sizeof(l) - 1);
			if (n > 0) {
				l[n] = 0;
				stop = fn(o, atoi(f->d_name), l, arg);
			}
		}
		closedir(fds);
	}
	closedir(proc);
}

/* every pipe end held by other processes, found in one scan */
struct holder {
	uint64_t ino;
	pid_t pid;
	int fd;
};
struct holders {
	size_t nr, cap;
	struct holder *v;
};

void pipe_holders_free(void *h)
{
	if (h)
		free(((struct holders *)h)->v);
	free(h);
}

static bool add_holder(pid_t o, int fd, const char *link, void *arg)
{
	struct holders *h = arg;
	if (strncmp(link, "pipe:[", 6))
		return false;
	if (h->nr == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		struct holder *n = realloc(h->v, h->cap * sizeof(*n));
		if (!n)
			return true;
		h->v = n;
	}
	h->v[h->nr++] = (struct holder){ strtoull(link + 6, NULL, 10), o, fd };
	return false;
}

static int cmp_holder(const void *a, const void *b)
{
	const struct holder *x = a, *y = b;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

struct find_link {
	const char *link;
	const struct fd_dump *d;
	pid_t pid;
	int fd;
};

/* a holder outside the dumped tree ends the scan; one inside is kept meanwhile */
static bool match_link(pid_t o, int fd, const char *link, void *arg)
{
	struct find_link *f = arg;
	if (strcmp(link, f->link))
		return false;
	if (f->pid && fd_pid_in_tree(f->d, o))
		return false;
	f->pid = o;
	f->fd = fd;
	return !fd_pid_in_tree(f->d, o);
}

/*
 * Another process holding this pipe or FIFO: its pid and fd, or 0.  One
 * outside the dumped tree if there is any (the pipe is then external,
 * whoever else in the tree holds it too).
 */
static pid_t held_elsewhere(struct fd_dump *d, const struct fd_probe *p, int *ofd)
{
	if (p->link[0] == '/') {
		/* a FIFO: by path, one scan each (rare) */
		struct find_link f = { .link = p->link, .d = d };
		scan_others(d->pid, match_link, &f);
		*ofd = f.fd;
		return f.pid;
	}
	if (!d->pipe_holders) {
		struct holders *h = calloc(1, sizeof(*h));
		if (!h)
			return 0;
		scan_others(d->pid, add_holder, h);
		qsort(h->v, h->nr, sizeof(*h->v), cmp_holder);
		d->pipe_holders = h;
	}
	struct holders *h = d->pipe_holders;
	struct holder key = { .ino = p->st.st_ino }, *found;
	found = h->nr ? bsearch(&key, h->v, h->nr, sizeof(key), cmp_holder) : NULL;
	if (!found)
		return 0;
	while (found > h->v && found[-1].ino == key.ino)
		found--;
	for (const struct holder *o = found; o < h->v + h->nr && o->ino == key.ino; o++)
		if (!fd_pid_in_tree(d, o->pid)) {
			found = (struct holder *)o;
			break;
		}
	*ofd = found->fd;
	return found->pid;
}

/* the bytes buffered in the pipe of copy (a read end), not consumed */
static int peek_pipe(int copy, uint32_t size, const char *what, ProtobufCBinaryData *out)
{
	int avail = 0, q[2];

	out->len = 0;
	out->data = NULL;
	if (ioctl(copy, FIONREAD, &avail)) {
		pr_perror("%s: FIONREAD", what);
		return -1;
	}
	if (!avail)
		return 0;
	if (pipe2(q, O_CLOEXEC)) {
		pr_perror("%s: cannot make a pipe to copy it", what);
		return -1;
	}
	out->data = malloc(avail);
	int ret = -1;
	if (!out->data || fcntl(q[1], F_SETPIPE_SZ, size < (uint32_t)avail ? (uint32_t)avail : size) < 0)
		goto out;
	ssize_t t = tee(copy, q[1], avail, SPLICE_F_NONBLOCK);
	if (t != avail) {
		pr_perror("%s: tee copied %zd of its %d buffered bytes", what, t, avail);
		goto out;
	}
	for (int done = 0; done < avail;) {
		ssize_t n = read(q[0], out->data + done, avail - done);
		if (n <= 0)
			goto out;
		done += n;
	}
	out->len = avail;
	ret = 0;
out:
	if (ret) {
		free(out->data);
		out->data = NULL;
	}
	close(q[0]);
	close(q[1]);
	return ret;
}

/* a FIFO's path: still leading to it, or removed (" (deleted)") */
static int fifo_path(struct fd_dump *d, const struct fd_probe *p, PipeFile *pf, const char *what)
{
	char path[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	size_t n, dl = strlen(" (deleted)");

	snprintf(path, sizeof(path), "%s", p->link);
	n = strlen(path);
	if (p->st.st_nlink == 0 && n > dl && !strcmp(path + n - dl, " (deleted)")) {
		path[n - dl] = 0;
		if (d->rootfd > 0) {
			/* criu would make it again in its own view, not the tree's */
			pr_err("%s: an unlinked FIFO in a mount namespace of its own: not supported", what);
			return -1;
		}
		snprintf(dir, sizeof(dir), "%s", path);
		if (stat(dirname(dir), &st) || !S_ISDIR(st.st_mode)) {
			pr_err("%s: an unlinked FIFO whose directory is gone too: not supported", what);
			return -1;
		}
		pf->has_unlinked = pf->unlinked = true;
		pf->has_mode = pf->has_uid = pf->has_gid = true;
		pf->mode = p->st.st_mode & 07777;
		pf->uid = p->st.st_uid;
		pf->gid = p->st.st_gid;
	} else if (mnt_stat_in(d->rootfd, path, &st, false) || st.st_ino != p->st.st_ino ||
		   st.st_dev != p->st.st_dev) {
		/* (in the tree's own view when it has its own mount namespace) */
		pr_err("%s: the FIFO's path now leads elsewhere: not supported", what);
		return -1;
	}
	pf->path = strdup(path);
	return pf->path ? 0 : -1;
}

/*
 * The end that carries the pipe's data in this process: its first read
 * end, or, if it holds none, its first write end (then peeked through a
 * read end opened for the purpose through /proc).
 */
static bool carries_data(struct fd_dump *d, const struct fd_probe *p)
{
	struct fd_probe *const *same;
	size_t n = fd_dump_inode(d, p->st.st_dev, p->st.st_ino, &same);
	bool reader = is_read_end(p->fi.flags), any_reader = false;
	for (size_t i = 0; i < n; i++) {
		const struct fd_probe *o = same[i];
		any_reader |= is_read_end(o->fi.flags);
		if (o->first && o->fd < p->fd && is_read_end(o->fi.flags) == reader)
			return false;	/* an earlier end of the same kind */
	}
	return reader || !any_reader;
}

/* the other end is in the process, or the pipe is external (then *done) */
static int pipe_external(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe, const char *what,
			 bool *done)
{
	bool fifo = fe->kind == FD_KIND__FD_FIFO;
	struct fd_probe *const *same;
	size_t n = fd_dump_inode(d, p->st.st_dev, p->st.st_ino, &same);
	int ofd;

	*done = false;
	for (size_t i = 0; i < n; i++)
		if (is_read_end(same[i]->fi.flags) != is_read_end(p->fi.flags))
			return 0;
	pid_t o = held_elsewhere(d, p, &ofd);
	/* held in another process of the tree: the pipe is made once for all
	 * of them at restore (dump-tree.c, shared_id) */
	if (!o || fd_pid_in_tree(d, o))
		return 0;
	if (fifo) {
		pr_err("%s: the other end is held by pid %d (fd %d), outside the dumped process: not supported",
		       what, o, ofd);
		return -1;
	}
	char key[64];
	snprintf(key, sizeof(key), "pipe:[%lu]", (unsigned long)p->st.st_ino);
	fe->external = strdup(key);
	pr_warn("%s: the other end is held by pid %d (fd %d): dumped as external; restore with --inherit-fd fd[N]:%s",
		what, o, ofd, key);
	*done = true;
	return fe->external ? 0 : -1;
}

static int pipe_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	PipeFile *pf = calloc(1, sizeof(*pf));
	char what[PATH_MAX + 64], proc[64];
	bool done;

	if (!pf)
		return -1;
	pipe_file__init(pf);
	fe->pipe = pf;
	pf->pipe_id = p->st.st_ino;
	pf->has_dev = true;
	pf->dev = p->st.st_dev;
	snprintf(what, sizeof(what), "pid %d: fd %d: %s", d->pid, p->fd, p->link);
	if (p->fi.flags & O_DIRECT) {
		/* its ends cannot be opened again so; message boundaries */
		pr_err("%s: a packet-mode pipe (O_DIRECT): not supported", what);
		return -1;
	}
	if (pipe_external(d, p, fe, what, &done) || done)
		return done ? 0 : -1;
	if (fe->kind == FD_KIND__FD_FIFO && fifo_path(d, p, pf, what))
		return -1;

	int copy = fd_dump_getfd(d, p->fd);
	if (copy < 0)
		return -1;
	int sz = fcntl(copy, F_GETPIPE_SZ), ret = 0;
	if (sz < 0) {
		pr_perror("%s: F_GETPIPE_SZ", what);
		close(copy);
		return -1;
	}
	pf->size = sz;
	if (carries_data(d, p)) {
		/* a write end: a read end of the same pipe to peek through */
		snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", d->pid, p->fd);
		int rd = is_read_end(p->fi.flags) ? copy : open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (rd < 0)
			pr_perror("%s: cannot open a read end through %s", what, proc);
		ret = rd < 0 ? -1 : peek_pipe(rd, sz, what, &pf->data);
		pf->has_data = !ret;
		if (rd >= 0 && rd != copy)
			close(rd);
	}
	close(copy);
	return ret;
}

static int pipe_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	if (!fe->pipe || fe->pipe->data.len > fe->pipe->size) {
		pr_err("%s: file %u: bad pipe description", name, fe->id);
		return -1;
	}
	if (fe->kind == FD_KIND__FD_FIFO && !fe->external) {
		struct stat st;
		char dir[PATH_MAX];
		const char *path = fe->pipe->path;
		snprintf(dir, sizeof(dir), "%s", path ? path : "");
		if (!path || (fe->pipe->unlinked ? stat(dirname(dir), &st) || !S_ISDIR(st.st_mode)
						 : mnt_stat_in(o->rst_root_fd, path, &st, false) || !S_ISFIFO(st.st_mode))) {
			pr_err("%s: file %u: FIFO %s (or the directory of the unlinked one) is gone or is not a FIFO",
			       name, fe->id, path ? path : "(no path)");
			return -1;
		}
	}
	return 0;
}

static bool pipe_object(const FileEntry *fe, struct fd_object *k)
{
	if (fe->external || !fe->pipe)
		return false;
	*k = (struct fd_object){ .dev = fe->pipe->dev, .ino = fe->pipe->pipe_id,
				 .carrier = fe->pipe->has_data };
	return true;
}

/* the pipe, as one read-write end (never blocks, keeps the pipe alive); a
 * FIFO by its path in the tree's view (rootfd: criu/ns/mnt.h) */
static int make_pipe(const FileEntry *fe, int rootfd)
{
	const PipeFile *pf = fe->pipe;
	int p[2], fd;

	if (fe->kind == FD_KIND__FD_FIFO) {
		if (!pf->unlinked) {
			fd = mnt_open_in(rootfd, pf->path, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
			if (fd < 0)
				pr_perror("cannot open FIFO %s", pf->path);
			return fd;
		}
		fd = fd_make_removed(pf->path, S_IFIFO | 0600, false);
		if (fd >= 0 && (fchown(fd, pf->uid, pf->gid) || fchmod(fd, pf->mode))) {
			pr_perror("unlinked FIFO %s: cannot set its owner or mode", pf->path);
			close(fd);
			return -1;
		}
		return fd;
	}
	if (pipe2(p, O_CLOEXEC)) {
		pr_perror("cannot create a pipe");
		return -1;
	}
	fd = fd_reopen(p[0], O_RDWR | O_NONBLOCK | O_CLOEXEC, fe->id);
	close(p[0]);
	close(p[1]);
	return fd;
}

/* criu makes each pipe once for the tree: size, then the data */
static int pipe_object_make(const FileEntry *fe, int rootfd)
{
	int fd = make_pipe(fe, rootfd);
	if (fd < 0)
		return -1;
	if (fcntl(fd, F_SETPIPE_SZ, fe->pipe->size) < 0) {
		pr_perror("pipe %lu: cannot set its size to %u", (unsigned long)fe->pipe->pipe_id,
			  fe->pipe->size);
		goto err;
	}
	const ProtobufCBinaryData *data = &fe->pipe->data;
	for (size_t done = 0; fe->pipe->has_data && done < data->len;) {
		ssize_t n = write(fd, data->data + done, data->len - done);
		if (n <= 0) {
			pr_perror("pipe %lu: cannot refill it", (unsigned long)fe->pipe->pipe_id);
			goto err;
		}
		done += n;
	}
	return fd;
err:
	close(fd);
	return -1;
}

/* an end of the tree's pipe, opened again through /proc with its flags */
static int pipe_open(struct fd_rst *r, const FileEntry *fe)
{
	int obj = r->object_fd ? r->object_fd(r, fe->pipe->dev, fe->pipe->pipe_id) : -1;
	if (obj < 0) {
		pr_err("file %u: pipe %lu was not made", fe->id, (unsigned long)fe->pipe->pipe_id);
		return -1;
	}
	/* O_NONBLOCK: an end opened alone must not wait for its peer */
	int fd = fd_reopen(obj, fe->flags | O_NONBLOCK, fe->id);
	if (fd >= 0 && fd_set_status_flags(fd, fe->flags, fe->id)) {
		close(fd);
		return -1;
	}
	return fd;
}

const struct fd_ops fd_pipe_ops = {
	.kind = FD_KIND__FD_PIPE,
	.name = "pipe",
	.match = pipe_match,
	.dump = pipe_dump,
	.check = pipe_check,
	.open = pipe_open,
	.object = pipe_object,
	.object_make = pipe_object_make,
};

const struct fd_ops fd_fifo_ops = {
	.kind = FD_KIND__FD_FIFO,
	.name = "FIFO",
	.match = fifo_match,
	.dump = pipe_dump,
	.check = pipe_check,
	.open = pipe_open,
	.object = pipe_object,
	.object_make = pipe_object_make,
};
