/*
 * mnt-tmpfs.c - the contents of a tmpfs mount of a tree's mount namespace:
 * at dump every file below its root (not below mounts over it: a mount
 * point is kept as an empty directory or file), with type, mode, owner,
 * mtime, data, symlink target, device number, into tmpfs-ID.img (each
 * entry checksummed by the image framing); at restore made again in the
 * new tmpfs.  Extended attributes (any namespace the tmpfs keeps: user.,
 * trusted., security., POSIX ACLs as system.) go with each file; a file
 * of several links is saved once and its other names as links to the
 * first (made again with linkat), refused if some of its links are out of
 * sight (below another mount).  More than TMPFS_MAX_BYTES of data,
 * sockets and the like are refused naming the file.
 */
#define LOG_PREFIX ""
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/ns/mnt.h"

#define TMPFS_MAX_BYTES (64UL << 20)

/* an inode of several links met in the walk */
struct linked {
	ino_t ino;
	nlink_t nlink, seen;
	char *path;		/* its first name, which the others link to */
};

struct walk {
	const MntEntry *m;
	pid_t root;
	struct img_writer *w;
	uint64_t bytes;
	struct linked *links;
	size_t nr_links;
};

/* the first name of st's inode if one was met (*first), else it is recorded: 0 or -1 */
static int link_of(struct walk *wk, const char *rel, const struct stat *st, const char **first)
{
	*first = NULL;
	if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
		return 0;
	for (size_t i = 0; i < wk->nr_links; i++)
		if (wk->links[i].ino == st->st_ino) {
			wk->links[i].seen++;
			*first = wk->links[i].path;
			return 0;
		}
	struct linked *n = realloc(wk->links, (wk->nr_links + 1) * sizeof(*n));
	if (!n)
		return -1;
	wk->links = n;
	n[wk->nr_links] = (struct linked){ .ino = st->st_ino, .nlink = st->st_nlink, .seen = 1, .path = strdup(rel) };
	return n[wk->nr_links++].path ? 0 : -1;
}

/* every link of every inode of several was met (none below a mount over the tmpfs) */
static int links_complete(const struct walk *wk)
{
	for (size_t i = 0; i < wk->nr_links; i++)
		if (wk->links[i].seen != wk->links[i].nlink) {
			pr_err("pid %d: tmpfs at %s: %s has %lu links, %lu of them in sight (the others below a mount over it): not supported",
			       wk->root, wk->m->mountpoint, wk->links[i].path, (unsigned long)wk->links[i].nlink,
			       (unsigned long)wk->links[i].seen);
			return -1;
		}
	return 0;
}

static void free_xattrs(TmpfsFile *f)
{
	for (size_t i = 0; i < f->n_xattrs; i++) {
		free(f->xattrs[i]->name);
		free(f->xattrs[i]->value.data);
		free(f->xattrs[i]);
	}
	free(f->xattrs);
}

/* the extended attributes of the file at path (not followed) into f */
static int read_xattrs(const char *path, TmpfsFile *f)
{
	char names[65536];
	ssize_t n = llistxattr(path, names, sizeof(names));
	if (n < 0)
		return errno == ENOTSUP ? 0 : -1;
	for (char *k = names; k < names + n; k += strlen(k) + 1) {
		ssize_t len = lgetxattr(path, k, NULL, 0);
		TmpfsXattr *x = calloc(1, sizeof(*x));
		TmpfsXattr **v = realloc(f->xattrs, (f->n_xattrs + 1) * sizeof(*v));
		if (v)
			f->xattrs = v;
		if (!x || !v || len < 0) {
			free(x);
			return -1;
		}
		tmpfs_xattr__init(x);
		f->xattrs[f->n_xattrs++] = x;
		x->name = strdup(k);
		x->value.data = malloc(len + 1);
		if (!x->name || !x->value.data)
			return -1;
		len = lgetxattr(path, k, x->value.data, len);
		if (len < 0)
			return -1;
		x->value.len = len;
	}
	return 0;
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

/* one file (dir: its fd; other: through its parent dirfd and name) into an entry */
static int put(struct walk *wk, int pdir, const char *name, const char *rel, const struct stat *st,
	       bool mountpoint)
{
	TmpfsFile f = TMPFS_FILE__INIT;
	uint8_t *data = NULL;
	char target[PATH_MAX], proc[PATH_MAX + 32];
	const char *first = NULL;
	int r = -1;

	f.path = (char *)rel;
	f.mode = st->st_mode;
	f.uid = st->st_uid;
	f.gid = st->st_gid;
	f.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", pdir, name);
	if (!mountpoint && link_of(wk, rel, st, &first))
		goto out;
	if (first) {
		f.link = (char *)first;	/* the inode is saved with its first name */
	} else if (!mountpoint && read_xattrs(proc, &f)) {
		pr_perror("pid %d: tmpfs at %s: cannot read the extended attributes of %s", wk->root,
			  wk->m->mountpoint, rel);
		goto out;
	}
	if (first || mountpoint) {
		/* what lies below another mount cannot be read: an empty one */
		if (mountpoint) {
			f.mode = S_ISDIR(st->st_mode) ? (S_IFDIR | 0755) : (S_IFREG | 0644);
			f.uid = f.gid = 0;
		}
	} else if (S_ISREG(st->st_mode)) {
		wk->bytes += st->st_size;
		if (wk->bytes > TMPFS_MAX_BYTES) {
			pr_err("pid %d: tmpfs at %s: more than %lu MiB of data (at %s): not supported", wk->root,
			       wk->m->mountpoint, TMPFS_MAX_BYTES >> 20, rel);
			goto out;
		}
		int fd = openat(pdir, name, O_RDONLY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC);
		data = malloc(st->st_size ? st->st_size : 1);
		if (fd < 0 || !data || read_all(fd, data, st->st_size)) {
			pr_perror("pid %d: tmpfs at %s: cannot read %s", wk->root, wk->m->mountpoint, rel);
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
		f.has_data = true;
		f.data.data = data;
		f.data.len = st->st_size;
	} else if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(pdir, name, target, sizeof(target) - 1);
		if (n < 0) {
			pr_perror("pid %d: tmpfs at %s: cannot read symlink %s", wk->root, wk->m->mountpoint, rel);
			goto out;
		}
		target[n] = 0;
		f.target = target;
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		f.has_rdev = true;
		f.rdev = st->st_rdev;
	} else if (!S_ISDIR(st->st_mode) && !S_ISFIFO(st->st_mode)) {
		pr_err("pid %d: tmpfs at %s: %s is a socket: not supported", wk->root, wk->m->mountpoint, rel);
		goto out;
	}
	r = img_write(wk->w, &f.base);
out:
	free(data);
	free_xattrs(&f);
	return r;
}

static int walk_dir(struct walk *wk, int dir, const char *rel, int depth)
{
	DIR *d = fdopendir(dup(dir));
	struct dirent *de;
	int r = 0;

	if (!d || depth > 64) {
		pr_err("pid %d: tmpfs at %s: cannot read directory %s", wk->root, wk->m->mountpoint, rel);
		if (d)
			closedir(d);
		return -1;
	}
	while (!r && (de = readdir(d))) {
		char sub[PATH_MAX];
		struct statx sx;
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", strcmp(rel, ".") ? rel : "", strcmp(rel, ".") ? "/" : "",
			 de->d_name);
		if (fstatat(dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    statx(dir, de->d_name, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx)) {
			pr_perror("pid %d: tmpfs at %s: cannot stat %s", wk->root, wk->m->mountpoint, sub);
			r = -1;
			break;
		}
		bool covered = sx.stx_mnt_id != wk->m->mnt_id;
		r = put(wk, dir, de->d_name, sub, &st, covered);
		if (r || covered || !S_ISDIR(st.st_mode))
			continue;
		int sd = openat(dir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		r = sd < 0 ? -1 : walk_dir(wk, sd, sub, depth + 1);
		if (sd >= 0)
			close(sd);
	}
	closedir(d);
	return r;
}

int tmpfs_dump(const MntEntry *e, pid_t root, int rootfd, int dirfd, uint64_t dump_id)
{
	struct walk wk = { .m = e, .root = root };
	struct statx sx;
	struct stat st;
	int dir = mnt_open_in(rootfd, e->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

	if (dir < 0 || statx(dir, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) || fstat(dir, &st)) {
		pr_perror("pid %d: tmpfs at %s: cannot open it", root, e->mountpoint);
		goto fail;
	}
	if (sx.stx_mnt_id != e->mnt_id) {
		pr_err("pid %d: tmpfs at %s (mount %u) is covered by another mount: its contents cannot be read",
		       root, e->mountpoint, e->mnt_id);
		goto fail;
	}
	if (img_writer_open(dirfd, IMG_TMPFS, e->mnt_id, dump_id, &wk.w))
		goto fail;
	int err = put(&wk, dir, ".", ".", &st, false) || walk_dir(&wk, dir, ".", 0) || links_complete(&wk);
	for (size_t i = 0; i < wk.nr_links; i++)
		free(wk.links[i].path);
	free(wk.links);
	if (err) {
		img_writer_abort(wk.w);
		goto fail;
	}
	close(dir);
	pr_debug("tmpfs at %s: %lu bytes of data saved", e->mountpoint, (unsigned long)wk.bytes);
	return img_writer_close(wk.w);
fail:
	if (dir >= 0)
		close(dir);
	return -1;
}

/*
 * the directory holding path's last component, opened below dir without
 * following any symlink (an image cannot lead a write out of the tmpfs);
 * *name: that component; -1 with errno
 */
static int parent_of(int dir, const char *path, const char **name)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };

	*name = slash ? slash + 1 : path;
	snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	return syscall(SYS_openat2, dir, parent, &how, sizeof(how));
}

/* one entry made in its directory pdir (the root itself, ".": only its
 * attributes); dir: the tmpfs's root, where a link's first name is */
static int make_one(int dir, int pdir, const TmpfsFile *f, const char *name)
{
	int fd;

	if (!strcmp(f->path, "."))
		return 0;
	if (f->link) {
		/* another name of an earlier entry's inode */
		const char *lname;
		int ldir = parent_of(dir, f->link, &lname);
		int r = ldir < 0 ? -1 : linkat(ldir, lname, pdir, name, 0);
		int e = errno;
		if (ldir >= 0)
			close(ldir);
		errno = e;
		return r;
	}
	if (S_ISDIR(f->mode))
		return mkdirat(pdir, name, f->mode & 07777);
	if (S_ISLNK(f->mode))
		return f->target ? symlinkat(f->target, pdir, name) : (errno = EINVAL, -1);
	if (S_ISREG(f->mode)) {
		fd = openat(pdir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, f->mode & 07777);
		if (fd < 0)
			return -1;
		size_t done = 0;
		while (f->has_data && done < f->data.len) {
			ssize_t n = write(fd, f->data.data + done, f->data.len - done);
			if (n <= 0) {
				close(fd);
				return -1;
			}
			done += n;
		}
		close(fd);
		return 0;
	}
	if (!S_ISCHR(f->mode) && !S_ISBLK(f->mode) && !S_ISFIFO(f->mode))
		return errno = EINVAL, -1;
	return mknodat(pdir, name, f->mode, f->has_rdev ? f->rdev : 0);
}

static int set_attrs(int pdir, const TmpfsFile *f, const char *name)
{
	bool self = !strcmp(f->path, ".");
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { f->mtime_ns / 1000000000LL, f->mtime_ns % 1000000000LL } };

	if (f->link)
		return 0;	/* the inode's attributes are its first name's */
	if (self)
		name = "";
	int fl = AT_SYMLINK_NOFOLLOW | (self ? AT_EMPTY_PATH : 0);
	if (fchownat(pdir, name, f->uid, f->gid, fl))
		return -1;
	/* after the owner (a chown drops security.capability), before the mode (an ACL sets it too) */
	char proc[PATH_MAX + 32];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", pdir, self ? "." : name);
	for (size_t i = 0; i < f->n_xattrs; i++)
		if (lsetxattr(proc, f->xattrs[i]->name, f->xattrs[i]->value.data, f->xattrs[i]->value.len, 0))
			return -1;
	if (!S_ISLNK(f->mode) && fchmodat(pdir, self ? "." : name, f->mode & 07777, 0))
		return -1;
	return utimensat(pdir, self ? "." : name, ts, AT_SYMLINK_NOFOLLOW);
}

/* make (attrs false) or set the attributes of (attrs true) entry f below dir */
static int apply(int dir, const TmpfsFile *f, bool attrs)
{
	const char *name;
	int pdir = strcmp(f->path, ".") ? parent_of(dir, f->path, &name) : dup(dir);

	if (pdir < 0)
		return -1;
	if (!strcmp(f->path, "."))
		name = ".";
	int r = attrs ? set_attrs(pdir, f, name) : make_one(dir, pdir, f, name);
	int e = errno;
	close(pdir);
	errno = e;
	return r;
}

int tmpfs_restore(int dirfd, const MntEntry *e, int dir)
{
	struct img_entries ents;
	char name[64];
	int r = img_read_all(dirfd, IMG_TMPFS, e->mnt_id, &ents);

	img_name(IMG_TMPFS, e->mnt_id, name, sizeof(name));
	if (r == -ENOENT)
		pr_err("%s: missing, though mntns.img has a tmpfs at %s", name, e->mountpoint);
	if (r)
		return -1;
	for (size_t i = 0; i < ents.nr && !r; i++) {
		const TmpfsFile *f = (const TmpfsFile *)ents.msgs[i];
		if (strstr(f->path, "..") || f->path[0] == '/' || (i == 0) != !strcmp(f->path, ".") ||
		    (f->link && (strstr(f->link, "..") || f->link[0] == '/' || !strcmp(f->link, ".")))) {
			pr_err("%s: entry %zu: bad path '%s'", name, i, f->path);
			r = -1;
		} else if (apply(dir, f, false)) {
			pr_perror("%s: cannot make %s in the tmpfs at %s", name, f->path, e->mountpoint);
			r = -1;
		}
	}
	/* attributes last, deepest first: a directory's mtime after its entries are made */
	for (size_t i = ents.nr; i-- > 0 && !r;)
		if (apply(dir, (const TmpfsFile *)ents.msgs[i], true)) {
			pr_perror("%s: cannot set the owner, mode or time of %s", name,
				  ((const TmpfsFile *)ents.msgs[i])->path);
			r = -1;
		}
	img_entries_free(&ents);
	return r;
}
