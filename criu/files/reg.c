/*
 * reg.c - regular files and directories, and O_PATH fds of any file with a
 * path (a FIFO, a socket, a symlink opened O_NOFOLLOW, a device).  Reopened
 * by path with the same flags (O_APPEND, O_NONBLOCK, O_PATH, O_DIRECTORY,
 * O_NOFOLLOW...) and offset.  A file
 * or directory unlinked since it was opened is a ghost: its runs of data
 * (holes left out), size, owner, mode and times go into the images, and
 * criu makes it once for the whole tree (made at its old path and removed
 * at once, so that its links read as before); each of its open file
 * descriptions reopens that one file.  A path that now leads to another
 * file is refused at dump; at restore, a regular file whose size, or (an
 * ELF file) build-id, is not the dump's (--file-validation, as upstream
 * CRIU's; not a write-only O_APPEND log).  (A POSIX message queue, whose inode is a regular
 * file's too, is mqueue.c's.)
 */
#define LOG_PREFIX "files: "
#include <elf.h>
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"
#include "criu/ns/mnt.h"

#define DELETED " (deleted)"

/* an O_PATH fd of any file with a path (FIFO, socket, symlink, device)
 * holds nothing but the path: reopened by it as a file is */
static bool is_opath(const struct fd_probe *p)
{
	return (p->fi.flags & O_PATH) && p->link[0] == '/';
}

static bool reg_match(const struct fd_probe *p)
{
	return S_ISREG(p->st.st_mode) || S_ISDIR(p->st.st_mode) || is_opath(p);
}

/* stat, or lstat for a symlink (an O_PATH|O_NOFOLLOW fd is the link itself),
 * inside the tree's view of paths (rootfd: criu/ns/mnt.h; 0: criu's own) */
static int stat_as(int rootfd, const char *path, mode_t mode, struct stat *st)
{
	return mnt_stat_in(rootfd, path, st, S_ISLNK(mode));
}

/*
 * A ghost: an unlinked file or directory.  Its inode, owner, times and (on
 * the first description of it) its runs of data, read through a new
 * description so that the process's offset stays as it is (and with
 * O_NOATIME, its access time).
 */
static int dump_ghost(struct fd_dump *d, const struct fd_probe *p, RegFile *r, const char *path)
{
	char proc[64], what[PATH_MAX + 64], dir[PATH_MAX];
	struct stat dst;

	char where[32] = "cwd";
	if (p->fd >= 0)
		snprintf(where, sizeof(where), "fd %d", p->fd);
	snprintf(what, sizeof(what), "pid %d: %s: deleted %s %s", d->pid, where,
		 S_ISDIR(p->st.st_mode) ? "directory" : "file", path);
	snprintf(dir, sizeof(dir), "%s", path);
	if (d->rootfd > 0) {
		/* criu would make it again in its own view, not the tree's */
		pr_err("%s: in a mount namespace of its own: not supported", what);
		return -1;
	}
	if ((!S_ISREG(p->st.st_mode) && !S_ISDIR(p->st.st_mode)) || path[0] != '/') {
		pr_err("%s: not a regular file or directory with an absolute path: not supported", what);
		return -1;
	}
	/* remade unlinked next to where it was: that directory must exist */
	if (mnt_stat_in(d->rootfd, dirname(dir), &dst, false) || !S_ISDIR(dst.st_mode) ||
	    dst.st_dev != p->st.st_dev) {
		pr_err("%s: its directory %s is gone too (or on another file system): not supported",
		       what, dir);
		return -1;
	}
	r->has_ghost = r->ghost = true;
	r->has_dev = r->has_ino = r->has_uid = r->has_gid = true;
	r->dev = p->st.st_dev;
	r->ino = p->st.st_ino;
	r->uid = p->st.st_uid;
	r->gid = p->st.st_gid;
	r->has_atime_ns = r->has_mtime_ns = true;
	r->atime_ns = p->st.st_atim.tv_sec * 1000000000ULL + p->st.st_atim.tv_nsec;
	r->mtime_ns = p->st.st_mtim.tv_sec * 1000000000ULL + p->st.st_mtim.tv_nsec;
	if (S_ISDIR(p->st.st_mode) || !fd_dump_first_of_inode(d, p))
		return 0;
	snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", d->pid, p->fd);
	int fd = open(proc, O_RDONLY | O_NOATIME | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("%s: cannot open it through %s", what, proc);
		return -1;
	}
	struct fd_extents x;
	int ret = fd_read_extents(fd, p->st.st_size, what, &x);
	r->rw_hint = fd_get_rw_hint(fd);
	r->has_rw_hint = r->rw_hint != 0;
	close(fd);
	r->extents = x.v;
	r->n_extents = x.nr;
	r->has_contents = r->contents = true;
	return ret;
}

/* its path (len bytes of path, before " (deleted)") was removed, nothing is
 * there now, and it still has links elsewhere */
static bool removed_with_links(int rootfd, const struct fd_probe *p, const char *path, size_t len)
{
	char bare[PATH_MAX];
	struct stat st;
	size_t n = strlen(path), dl = strlen(DELETED);
	if (p->st.st_nlink == 0 || n <= dl || strcmp(path + n - dl, DELETED))
		return false;
	snprintf(bare, sizeof(bare), "%.*s", (int)len, path);
	return mnt_stat_in(rootfd, bare, &st, false) != 0;
}

/*
 * Is the file as it was at the dump?  Its size, as upstream CRIU's
 * "filesize" validation: a file grown or cut since would be read from
 * another offset, or past its end, than the program's.  A file open
 * write-only in append mode (a log) is not checked: its writes go to its
 * end, whatever that is now (upstream's exception too).
 */
static bool reg_size_checked(const FileEntry *fe)
{
	const RegFile *r = fe->reg;
	if (!r->has_size || !r->has_mode || !S_ISREG(r->mode))
		return false;
	return !((fe->flags & O_ACCMODE) == O_WRONLY && (fe->flags & O_APPEND));
}

/*
 * An ELF file's build-id, read through a new description of the process's
 * fd (its offset stays), for --file-validation buildid (the default)
 */
static int dump_build_id(struct fd_dump *d, const struct fd_probe *p, RegFile *r)
{
	char proc[64];
	uint8_t id[FD_BUILD_ID_MAX];

	snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", d->pid, p->fd);
	int fd = open(proc, O_RDONLY | O_NOATIME | O_CLOEXEC);
	if (fd < 0)
		fd = open(proc, O_RDONLY | O_CLOEXEC);	/* O_NOATIME: the owner's or CAP_FOWNER */
	int n = fd < 0 ? -1 : fd_elf_build_id(fd, id, sizeof(id)), e = errno;
	if (fd >= 0)
		close(fd);
	errno = e;
	if (n < 0) {
		/* as upstream: then its size alone is compared */
		pr_warn("pid %d: fd %d: cannot read %s for its build-id: %m (its size alone is checked)",
			d->pid, p->fd, r->path);
		return 0;
	}
	if (n) {
		r->has_build_id = true;
		r->build_id.len = n;
		r->build_id.data = malloc(n);
		if (!r->build_id.data)
			return -1;
		memcpy(r->build_id.data, id, n);
	}
	return 0;
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
		if (dump_ghost(d, p, r, path))
			return -1;
	} else if (removed_with_links(d->rootfd, p, path, n - dl)) {
		pr_err("pid %d: fd %d: the path of '%s' was removed but the file has %lu other link(s): not supported",
		       d->pid, p->fd, p->link, (unsigned long)p->st.st_nlink);
		return -1;
	} else if (path[0] != '/' || stat_as(d->rootfd, path, p->st.st_mode, &pst) || pst.st_dev != p->st.st_dev ||
		   pst.st_ino != p->st.st_ino) {
		/* the path must still lead to the very file that is open */
		pr_err("pid %d: fd %d: file '%s' was replaced since it was opened (its path leads to another file): not supported",
		       d->pid, p->fd, path);
		return -1;
	}
	r->path = strdup(path);
	if (!r->path)
		return -1;
	/* an ELF file's build-id (not of a file of size 0: /proc's, whose
	 * reads may take something, /proc/kmsg's) */
	if (!r->ghost && reg_size_checked(fe) && r->size >= sizeof(Elf32_Ehdr) && d->o &&
	    !d->o->file_validation_size)
		return dump_build_id(d, p, r);
	return 0;
}

RegFile *fd_dump_deleted_cwd(pid_t pid, const char *path, const struct stat *st)
{
	struct fd_dump d = { .pid = pid, .pidfd = -1 };
	struct fd_probe p = { .fd = -1, .st = *st };
	RegFile *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	reg_file__init(r);
	r->has_mode = r->has_size = true;
	r->mode = st->st_mode;
	r->size = st->st_size;
	r->path = strdup(path);
	if (!r->path || dump_ghost(&d, &p, r, path)) {
		reg_file__free_unpacked(r, NULL);
		return NULL;
	}
	return r;
}

/*
 * A file of a process's /proc directory (/proc/self/status opened by the
 * program is /proc/PID/status): it exists again only once that process is
 * restored with its pid, so it is looked at when opened, not before.
 */
static bool of_proc_pid(const char *path)
{
	if (strncmp(path, "/proc/", 6))
		return false;
	size_t n = strspn(path + 6, "0123456789");
	return n && (path[6 + n] == '/' || !path[6 + n]);
}

static int reg_check_size(const FileEntry *fe, const struct stat *st, const char *name)
{
	const RegFile *r = fe->reg;
	if (!reg_size_checked(fe) || (uint64_t)st->st_size == r->size)
		return 0;
	pr_err("%s: %s has size %llu now, %llu at dump: the file changed since the dump",
	       name, r->path, (unsigned long long)st->st_size, (unsigned long long)r->size);
	return -1;
}

/* an ELF file's build-id as at dump (--file-validation buildid) */
static int reg_check_build_id(const FileEntry *fe, const struct opts *o, const char *name)
{
	const RegFile *r = fe->reg;
	char now[2 * FD_BUILD_ID_MAX + 1], then[2 * FD_BUILD_ID_MAX + 1];

	if (!r->has_build_id || !reg_size_checked(fe) || o->file_validation_size)
		return 0;
	int fd = mnt_open_in(o->rst_root_fd, r->path, O_RDONLY | O_CLOEXEC, 0);
	int ret = fd < 0 ? -1 : fd_build_id_cmp(fd, r->build_id.data, r->build_id.len, now, sizeof(now));
	if (fd >= 0)
		close(fd);
	if (ret < 0) {
		pr_perror("%s: cannot read %s for its build-id", name, r->path);
		return -1;
	}
	if (!ret)
		return 0;
	fd_hex(r->build_id.data, r->build_id.len, then, sizeof(then));
	pr_err("%s: %s has build-id %s now, %s at dump: the file changed since the dump",
	       name, r->path, now, then);
	return -1;
}

static int reg_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	const RegFile *r = fe->reg;
	struct stat st;
	char what[PATH_MAX + 96];

	if (!r) {
		pr_err("%s: file %u: no file description", name, fe->id);
		return -1;
	}
	if (r->ghost) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", r->path);
		snprintf(what, sizeof(what), "%s: file %u: deleted %s", name, fe->id, r->path);
		if (!r->has_ino || !r->has_dev || !r->has_mode ||
		    (!S_ISREG(r->mode) && !S_ISDIR(r->mode))) {
			pr_err("%s: no inode, or neither a file nor a directory", what);
			return -1;
		}
		if (fd_check_extents(r->extents, r->n_extents, r->size, what))
			return -1;
		if (mnt_stat_in(o->rst_root_fd, dirname(dir), &st, false) || !S_ISDIR(st.st_mode)) {
			pr_err("%s: its directory is gone", what);
			return -1;
		}
		return 0;
	}
	if (of_proc_pid(r->path))
		return 0;
	if (stat_as(o->rst_root_fd, r->path, r->has_mode ? r->mode : 0, &st)) {
		pr_err("%s: file %u: %s is gone", name, fe->id, r->path);
		return -1;
	}
	if (r->has_mode && (st.st_mode & S_IFMT) != (r->mode & S_IFMT)) {
		pr_err("%s: file %u: %s is now another kind of file (mode %o, was %o)", name, fe->id, r->path,
		       st.st_mode, r->mode);
		return -1;
	}
	return reg_check_size(fe, &st, name) || reg_check_build_id(fe, o, name) ? -1 : 0;
}

static bool reg_object(const FileEntry *fe, struct fd_object *k)
{
	const RegFile *r = fe->reg;
	if (!r || !r->ghost)
		return false;
	*k = (struct fd_object){ .dev = r->dev, .ino = r->ino,
				 .carrier = r->contents || S_ISDIR(r->mode) };
	return true;
}

/* criu makes a ghost once for the tree: contents, size, owner, mode, times */
static int reg_object_make(const FileEntry *fe, int rootfd)
{
	(void)rootfd;	/* a deleted file in a tree with its own mount namespace is refused at dump */
	const RegFile *r = fe->reg;
	char dir[PATH_MAX], what[PATH_MAX + 32];

	snprintf(dir, sizeof(dir), "%s", r->path);
	dirname(dir);
	snprintf(what, sizeof(what), "deleted file %s", r->path);
	if (!S_ISDIR(r->mode) && !r->contents && r->size) {
		pr_err("%s: its contents are in no image", what);
		return -1;
	}
	bool is_dir = S_ISDIR(r->mode);
	/* one made with O_TMPFILE: made so again, linkable (linkat) as it was */
	int fd = fd_make_removed(r->path, r->mode, fe->flags & FD_TMPFILE_BIT);
	if (fd < 0)
		return -1;
	struct timespec ts[2] = {
		{ r->atime_ns / 1000000000, r->atime_ns % 1000000000 },
		{ r->mtime_ns / 1000000000, r->mtime_ns % 1000000000 },
	};
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	/* chmod after chown: chown drops set-user-ID bits */
	if ((!is_dir && (fd_write_extents(fd, r->extents, r->n_extents, r->size, what) ||
			 fd_set_rw_hint(fd, r->rw_hint, what))) ||
	    fchownat(fd, "", r->uid, r->gid, AT_EMPTY_PATH) ||
	    chmod(proc, r->mode & 07777) || utimensat(AT_FDCWD, proc, ts, 0)) {
		pr_perror("%s: cannot set its contents, owner, mode or times", what);
		close(fd);
		return -1;
	}
	return fd;
}

static int reg_open(struct fd_rst *rst, const FileEntry *fe)
{
	const RegFile *r = fe->reg;
	int fd;

	if (r->ghost) {
		int obj = rst->object_fd ? rst->object_fd(rst, r->dev, r->ino) : -1;
		if (obj < 0) {
			pr_err("file %u: deleted %s was not made", fe->id, r->path);
			return -1;
		}
		fd = fd_reopen(obj, fe->flags, fe->id);
	} else {
		/* criu, making a file the tree shares: inside the tree's view (criu/ns/mnt.h) */
		fd = mnt_open_in(rst->in_criu && rst->o ? rst->o->rst_root_fd : 0, r->path,
				 FD_OPEN_FLAGS(fe->flags), 0);
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
	.object = reg_object,
	.object_make = reg_object_make,
};
