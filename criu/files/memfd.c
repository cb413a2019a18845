/*
 * memfd.c - files made by memfd_create(): name, size, contents (runs of
 * data, holes left out), mode, owner, times, seals, offset and flags.  criu makes each
 * memfd once for the whole tree (restore/shmem.c asks object_make: a new
 * memfd with the same name, filled, then sealed, the last step as seals
 * may forbid writing); its mappings map it and each of its open file
 * descriptions opens it again (/proc/self/fd) with its flags and offset.
 */
#define LOG_PREFIX "files: "
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"

#define PREFIX "/memfd:"
#define DELETED " (deleted)"

static bool memfd_match(const struct fd_probe *p)
{
	return S_ISREG(p->st.st_mode) && !strncmp(p->link, PREFIX, strlen(PREFIX));
}

static int memfd_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	MemfdFile *m = calloc(1, sizeof(*m));
	char proc[64], what[PATH_MAX + 64];

	if (!m)
		return -1;
	memfd_file__init(m);
	fe->memfd = m;
	m->name = strdup(p->link + strlen(PREFIX));
	if (!m->name)
		return -1;
	size_t n = strlen(m->name), dl = strlen(DELETED);
	if (n >= dl && !strcmp(m->name + n - dl, DELETED))
		m->name[n - dl] = 0;
	m->pos = p->fi.pos;
	m->size = p->st.st_size;
	m->has_ino = true;
	m->ino = p->st.st_ino;
	m->mode = p->st.st_mode & 07777;
	m->has_uid = m->has_gid = m->has_atime_ns = m->has_mtime_ns = true;
	m->uid = p->st.st_uid;
	m->gid = p->st.st_gid;
	m->atime_ns = p->st.st_atim.tv_sec * 1000000000ULL + p->st.st_atim.tv_nsec;
	m->mtime_ns = p->st.st_mtim.tv_sec * 1000000000ULL + p->st.st_mtim.tv_nsec;

	/* a new description of the same memfd: reading moves no offset of the
	 * process, and O_NOATIME leaves its access time as it is */
	snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", d->pid, p->fd);
	snprintf(what, sizeof(what), "pid %d: fd %d: memfd '%s'", d->pid, p->fd, m->name);
	int fd = open(proc, O_RDONLY | O_NOATIME | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("%s: cannot open it through %s", what, proc);
		return -1;
	}
	int seals = fcntl(fd, F_GET_SEALS), ret = 0;
	struct statfs sf;
	if (!fstatfs(fd, &sf) && sf.f_type == HUGETLBFS_MAGIC) {
		/* its pages are huge pages: a memfd of small ones would differ */
		pr_err("%s: on hugetlbfs (MFD_HUGETLB): not supported", what);
		ret = -1;
	} else if (seals < 0) {
		pr_perror("%s: cannot read its seals", what);
		ret = -1;
	} else if (fd_dump_first_of_inode(d, p)) {
		/* the other descriptions of it in the process are of the same file */
		struct fd_extents x;
		ret = fd_read_extents(fd, m->size, what, &x);
		m->extents = x.v;
		m->n_extents = x.nr;
		m->has_contents = m->contents = true;
		m->rw_hint = fd_get_rw_hint(fd);
		m->has_rw_hint = m->rw_hint != 0;
	}
	close(fd);
	m->seals = seals;
	return ret;
}

static int memfd_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	char what[PATH_MAX + 64];
	(void)o;
	if (!fe->memfd || !fe->memfd->has_ino) {
		pr_err("%s: file %u: no memfd description or no inode", name, fe->id);
		return -1;
	}
	snprintf(what, sizeof(what), "%s: file %u: memfd '%s'", name, fe->id, fe->memfd->name);
	return fd_check_extents(fe->memfd->extents, fe->memfd->n_extents, fe->memfd->size, what);
}

static bool memfd_object(const FileEntry *fe, struct fd_object *k)
{
	*k = (struct fd_object){ .dev = 0, .ino = fe->memfd->ino, .carrier = fe->memfd->contents };
	return true;
}

/* criu makes the memfd once for the tree: contents, size, mode, then seals
 * (the last: they may forbid writing) */
static int memfd_object_make(const FileEntry *fe, int rootfd)
{
	(void)rootfd;	/* no path */
	const MemfdFile *m = fe->memfd;
	char what[PATH_MAX + 16];

	snprintf(what, sizeof(what), "memfd '%s'", m->name);
	if (!m->contents && m->size) {
		pr_err("%s: its contents are in no image", what);
		return -1;
	}
	int fd = memfd_create(m->name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		pr_perror("cannot create %s", what);
		return -1;
	}
	if (fd_write_extents(fd, m->extents, m->n_extents, m->size, what) ||
	    fd_set_rw_hint(fd, m->rw_hint, what))
		goto err;
	struct timespec ts[2] = {
		{ m->atime_ns / 1000000000, m->atime_ns % 1000000000 },
		{ m->mtime_ns / 1000000000, m->mtime_ns % 1000000000 },
	};
	/* chmod after chown (which drops set-user-ID bits), times last */
	if ((m->has_uid && fchown(fd, m->uid, m->gid)) || fchmod(fd, m->mode) ||
	    (m->has_mtime_ns && futimens(fd, ts)) || (m->seals && fcntl(fd, F_ADD_SEALS, m->seals))) {
		pr_perror("%s: cannot set its owner, mode %o, times or seals %#x", what, m->mode, m->seals);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

/* a new description of the tree's memfd, with the flags and offset */
static int memfd_open(struct fd_rst *r, const FileEntry *fe)
{
	const MemfdFile *m = fe->memfd;

	int obj = r->object_fd ? r->object_fd(r, 0, m->ino) : -1;
	if (obj < 0) {
		pr_err("file %u: memfd '%s' was not made", fe->id, m->name);
		return -1;
	}
	int fd = fd_reopen(obj, fe->flags, fe->id);
	if (fd < 0)
		return -1;
	if (fd_set_status_flags(fd, fe->flags, fe->id))
		goto err;
	if (!(fe->flags & O_PATH) && lseek(fd, m->pos, SEEK_SET) != (off_t)m->pos) {
		pr_perror("file %u: cannot seek memfd '%s'", fe->id, m->name);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

const struct fd_ops fd_memfd_ops = {
	.kind = FD_KIND__FD_MEMFD,
	.name = "memfd",
	.match = memfd_match,
	.dump = memfd_dump,
	.check = memfd_check,
	.open = memfd_open,
	.object = memfd_object,
	.object_make = memfd_object_make,
};
