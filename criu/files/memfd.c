/*
 * memfd.c - files made by memfd_create(): name, size, contents, mode,
 * seals, offset and flags.  Restore makes a new memfd with the same name
 * (or, if the memfd is also mapped, takes the one criu made for the
 * mappings: restore/shmem.c), fills it, then adds the seals (the last step:
 * they may forbid writing).
 */
#define LOG_PREFIX "files: "
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "files.h"
#include "log.h"

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

	/* a new description of the same memfd: reading moves no offset of the process */
	snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", d->pid, p->fd);
	snprintf(what, sizeof(what), "pid %d: fd %d: memfd '%s'", d->pid, p->fd, m->name);
	int fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("%s: cannot open it through %s", what, proc);
		return -1;
	}
	int seals = fcntl(fd, F_GET_SEALS);
	int ret = seals < 0 ? -1 : fd_read_contents(fd, m->size, what, &m->data);
	if (seals < 0)
		pr_perror("%s: cannot read its seals", what);
	close(fd);
	if (ret)
		return -1;
	m->seals = seals;
	/* trailing zeroes come back from ftruncate */
	while (m->data.len && !m->data.data[m->data.len - 1])
		m->data.len--;
	m->has_data = true;
	return 0;
}

static int memfd_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	(void)o;
	if (!fe->memfd || fe->memfd->data.len > fe->memfd->size) {
		pr_err("%s: file %u: no memfd description, or more contents than its size", name, fe->id);
		return -1;
	}
	return 0;
}

static int memfd_open(struct fd_rst *r, const FileEntry *fe)
{
	const MemfdFile *m = fe->memfd;

	/* mapped too: the object criu made for the mappings is this memfd */
	int obj = m->has_ino && r->object_fd ? r->object_fd(r, m->ino) : -1;
	int fd = obj >= 0 ? fcntl(obj, F_DUPFD_CLOEXEC, 0)
			  : memfd_create(m->name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		pr_perror("file %u: cannot create memfd '%s'", fe->id, m->name);
		return -1;
	}
	for (size_t done = 0; done < m->data.len;) {
		ssize_t w = pwrite(fd, m->data.data + done, m->data.len - done, done);
		if (w <= 0) {
			pr_perror("file %u: cannot fill memfd '%s'", fe->id, m->name);
			goto err;
		}
		done += w;
	}
	if (ftruncate(fd, m->size) || fchmod(fd, m->mode) ||
	    (m->seals && fcntl(fd, F_ADD_SEALS, m->seals))) {
		pr_perror("file %u: cannot size, chmod or seal memfd '%s'", fe->id, m->name);
		goto err;
	}
	if ((fe->flags & O_ACCMODE) != O_RDWR || (fe->flags & O_PATH)) {
		/* opened again with other access through /proc: do the same */
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		int nfd = open(proc, fe->flags & ~(O_CREAT | O_EXCL | O_TRUNC));
		if (nfd < 0) {
			pr_perror("file %u: cannot reopen memfd '%s' with flags %o", fe->id, m->name, fe->flags);
			goto err;
		}
		close(fd);
		fd = nfd;
	}
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
};
