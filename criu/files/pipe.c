/*
 * pipe.c - anonymous pipes and FIFOs (named pipes).
 *
 * Dump: the pipe's size (F_GETPIPE_SZ) and its buffered bytes, read with
 * tee(2) from a copy of the read end (pidfd_getfd) into criu's own pipe:
 * tee duplicates the buffers without consuming them, so the process keeps
 * its data whatever happens next (failed dump, --leave-running).  The data
 * goes with the first read end of the pipe; both ends of one pipe share a
 * pipe_id (the pipe's inode).  A pipe with only one end in the process,
 * held by another process too (the other end, or the same end), is
 * external: recorded by its key "pipe:[INODE]" without its data, and
 * restored only with --inherit-fd (inherit.c).  Such a FIFO is refused.
 *
 * Restore: the first end met creates the pipe (pipe2, or the FIFO opened
 * by path), sets its size, writes the data back, and keeps the other end
 * (fd_rst_stash) for the fd that refers to it, or closes it if no fd does.
 */
#define LOG_PREFIX "files: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files.h"
#include "log.h"

static bool is_read_end(uint32_t flags)
{
	return (flags & O_ACCMODE) == O_RDONLY;
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

static int pipe_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	PipeFile *pf = calloc(1, sizeof(*pf));
	char what[PATH_MAX + 64];
	bool fifo = fe->kind == FD_KIND__FD_FIFO, peer = false, first_reader = true;

	if (!pf)
		return -1;
	pipe_file__init(pf);
	fe->pipe = pf;
	pf->pipe_id = p->st.st_ino;
	snprintf(what, sizeof(what), "pid %d: fd %d: %s", d->pid, p->fd, p->link);
	struct fd_probe *const *same;
	size_t nsame = fd_dump_inode(d, p->st.st_dev, p->st.st_ino, &same);
	for (size_t i = 0; i < nsame; i++) {
		const struct fd_probe *o = same[i];
		if (o->file_id == p->file_id)
			continue;
		if (is_read_end(o->fi.flags) != is_read_end(p->fi.flags))
			peer = true;
		else if (!fifo && o->first) {
			pr_err("%s: a second open file description of the same end (reopened through /proc): not supported",
			       what);
			return -1;
		} else if (o->first && o->fd < p->fd)
			first_reader = false;
	}
	if (!peer) {
		int ofd;
		pid_t o = held_elsewhere(d, p, &ofd);
		/* held in another process of the tree: the pipe is made once
		 * for all of them at restore (tree.c, shared_id) */
		if (o && fd_pid_in_tree(d, o))
			o = 0;
		if (o && fifo) {
			pr_err("%s: the other end is held by pid %d (fd %d), outside the dumped process: not supported",
			       what, o, ofd);
			return -1;
		}
		if (o) {
			char key[64];
			snprintf(key, sizeof(key), "pipe:[%lu]", (unsigned long)p->st.st_ino);
			fe->external = strdup(key);
			pr_warn("%s: the other end is held by pid %d (fd %d): dumped as external; restore with --inherit-fd fd[N]:%s",
				what, o, ofd, key);
			pf->size = 0;
			return fe->external ? 0 : -1;
		}
	}
	if (fifo) {
		struct stat st;
		if (stat(p->link, &st) || st.st_ino != p->st.st_ino || st.st_dev != p->st.st_dev) {
			pr_err("%s: the FIFO's path now leads elsewhere or is gone: not supported", what);
			return -1;
		}
		pf->path = strdup(p->link);
		if (!pf->path)
			return -1;
	}

	int copy = fd_dump_getfd(d, p->fd);
	if (copy < 0)
		return -1;
	int sz = fcntl(copy, F_GETPIPE_SZ);
	int ret = sz < 0 ? -1 : 0;
	if (sz < 0)
		pr_perror("%s: F_GETPIPE_SZ", what);
	pf->size = sz;
	if (!ret && is_read_end(p->fi.flags) && first_reader) {
		ret = peek_pipe(copy, sz, what, &pf->data);
		pf->has_data = !ret;
	}
	close(copy);
	return ret;
}

static int pipe_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	(void)o;
	if (!fe->pipe || fe->pipe->data.len > fe->pipe->size || (fe->flags & O_ACCMODE) == O_RDWR) {
		pr_err("%s: file %u: bad pipe description", name, fe->id);
		return -1;
	}
	if (fe->kind == FD_KIND__FD_FIFO) {
		struct stat st;
		if (!fe->pipe->path || stat(fe->pipe->path, &st) || !S_ISFIFO(st.st_mode)) {
			pr_err("%s: file %u: FIFO %s is gone or is not a FIFO", name, fe->id,
			       fe->pipe->path ? fe->pipe->path : "(no path)");
			return -1;
		}
	}
	return 0;
}

static int fill(int wfd, const FileEntry *fe, const ProtobufCBinaryData *data)
{
	if (fcntl(wfd, F_SETPIPE_SZ, fe->pipe->size) < 0) {
		pr_perror("file %u: cannot set the pipe size to %u", fe->id, fe->pipe->size);
		return -1;
	}
	for (size_t done = 0; data && done < data->len;) {
		ssize_t n = write(wfd, data->data + done, data->len - done);
		if (n <= 0) {
			pr_perror("file %u: cannot refill the pipe", fe->id);
			return -1;
		}
		done += n;
	}
	return 0;
}

/* the data of this pipe, whichever of its ends carries it */
static const ProtobufCBinaryData *pipe_data(const struct fd_rst *r, const FileEntry *fe)
{
	for (uint32_t id = 1; id <= r->nr_files; id++) {
		const FileEntry *o = r->file[id];
		if (o->kind == fe->kind && o->pipe->pipe_id == fe->pipe->pipe_id && o->pipe->has_data)
			return &o->pipe->data;
	}
	return NULL;
}

static int pipe_open(struct fd_rst *r, const FileEntry *fe)
{
	const FileEntry *peer = NULL;
	int p[2];

	for (uint32_t id = 1; id <= r->nr_files && !peer; id++)
		if (id != fe->id && r->file[id]->kind == FD_KIND__FD_PIPE &&
		    r->file[id]->pipe->pipe_id == fe->pipe->pipe_id)
			peer = r->file[id];
	if (pipe2(p, O_CLOEXEC)) {
		pr_perror("file %u: cannot create a pipe", fe->id);
		return -1;
	}
	int mine = is_read_end(fe->flags) ? 0 : 1;
	if (fill(p[1], fe, pipe_data(r, fe)))
		goto err;
	if (peer ? fd_rst_stash(r, peer->id, p[!mine]) : close(p[!mine]))
		goto err_mine;
	if (fd_set_status_flags(p[mine], fe->flags, fe->id))
		goto err_mine;
	return p[mine];
err:
	close(p[!mine]);
err_mine:
	close(p[mine]);
	return -1;
}

/* the FIFO exists on disk: a keeper (O_RDWR never blocks on a FIFO) holds
 * the pipe open while it is filled and the fd is opened without blocking */
static int fifo_open(struct fd_rst *r, const FileEntry *fe)
{
	const char *path = fe->pipe->path;
	int keep = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC), fd = -1;

	if (keep < 0) {
		pr_perror("file %u: cannot open FIFO %s", fe->id, path);
		return -1;
	}
	if (fill(keep, fe, fe->pipe->has_data ? &fe->pipe->data : NULL))
		goto out;
	fd = open(path, (fe->flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_NONBLOCK);
	if (fd < 0)
		pr_perror("file %u: cannot open FIFO %s", fe->id, path);
	else if (fd_set_status_flags(fd, fe->flags, fe->id)) {
		close(fd);
		fd = -1;
	}
out:
	(void)r;
	close(keep);
	return fd;
}

const struct fd_ops fd_pipe_ops = {
	.kind = FD_KIND__FD_PIPE,
	.name = "pipe",
	.match = pipe_match,
	.dump = pipe_dump,
	.check = pipe_check,
	.open = pipe_open,
};

const struct fd_ops fd_fifo_ops = {
	.kind = FD_KIND__FD_FIFO,
	.name = "FIFO",
	.match = fifo_match,
	.dump = pipe_dump,
	.check = pipe_check,
	.open = fifo_open,
};
