/*
 * shmem.c - the objects of the tree made once by criu: MAP_SHARED|
 * MAP_ANONYMOUS memory, memfds (mapped or held open) and deleted files
 * and directories held open or as a cwd.  Each (named by its device and inode at dump time, device 0
 * for shared memory and memfds) is made once: shared anonymous memory as a
 * shared anonymous mapping whose file is then opened through
 * /proc/self/map_files, a memfd or deleted file held open by its fd kind
 * (fd_ops.object_make, from the description that carries its contents), a
 * memfd only mapped with memfd_create and its name.  Every process that
 * mapped it maps that file, so they share the pages again, and the maps
 * read as before ("/dev/zero (deleted)", "/memfd:NAME (deleted)"); every
 * open file description of it reopens it (criu/files: object_fd).
 * Mapped pages are filled by the restorers from each process's page
 * images.
 */
#define LOG_PREFIX "restore: "
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/ns/mnt.h"
#include "criu/restore/restore.h"

int rst_shmem_index(const struct rst_shmem_set *s, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; s && i < s->nr; i++)
		if (s->v[i].ino == ino && s->v[i].dev == dev)
			return i;
	return -1;
}

static struct rst_shmem *shmem_get(struct rst_shmem_set *s, uint64_t dev, uint64_t ino)
{
	int k = rst_shmem_index(s, dev, ino);
	if (k >= 0)
		return &s->v[k];
	struct rst_shmem *n = realloc(s->v, (s->nr + 1) * sizeof(*n));
	if (!n)
		return NULL;
	s->v = n;
	n[s->nr] = (struct rst_shmem){ .dev = dev, .ino = ino, .fd = -1 };
	return &n[s->nr++];
}

static int shmem_open(struct rst_shmem *m, int rootfd)
{
	char path[96];

	if (m->src) {
		/* held open by the process: its kind makes it from its carrier */
		m->fd = fd_ops_by_kind(m->src->kind)->object_make(m->src, rootfd);
		return m->fd < 0 ? -1 : 0;
	}
	if (m->memfd) {
		const Vma *v = m->memfd_vma;
		m->fd = memfd_create(m->memfd, MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (m->fd < 0 || ftruncate(m->fd, m->size)) {
			pr_perror("cannot make memfd '%s' of %lu bytes", m->memfd, (unsigned long)m->size);
			return -1;
		}
		/* no write seals (refused at dump): the restorers can fill it */
		if ((v->has_memfd_mode && fchmod(m->fd, v->memfd_mode)) ||
		    (v->has_memfd_seals && v->memfd_seals && fcntl(m->fd, F_ADD_SEALS, v->memfd_seals))) {
			pr_perror("memfd '%s': cannot set its mode or seals %#x", m->memfd, v->memfd_seals);
			return -1;
		}
		return 0;
	}
	void *a = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (a == MAP_FAILED) {
		pr_perror("cannot create a shared anonymous area of %lu bytes",
			  (unsigned long)m->size);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)a,
		 (unsigned long)a + m->size);
	m->fd = open(path, O_RDWR | O_CLOEXEC);
	if (m->fd < 0)
		pr_perror("cannot open %s", path);
	munmap(a, m->size);
	return m->fd < 0 ? -1 : 0;
}

/* the files held open that are made once for the tree (fd_ops.object) */
static int add_file_object(struct rst_shmem_set *s, const FileEntry *fe)
{
	const struct fd_ops *ops = fe ? fd_ops_by_kind(fe->kind) : NULL;
	struct fd_object key;
	if (!ops || !ops->object || !ops->object(fe, &key))
		return 0;
	struct rst_shmem *m = shmem_get(s, key.dev, key.ino);
	if (!m)
		return -1;
	/* made from the description that carries its contents, or any */
	if (!m->src || (key.carrier && !m->src_carries)) {
		m->src = fe;
		m->src_carries = key.carrier;
	}
	return 0;
}

/* the files held open (or as cwd) that are made once for the tree (fd_ops.object) */
static int add_file_objects(struct rst_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct rst_proc *p = &t->procs[i];
		for (size_t k = 0; k < p->fds.nr; k++)
			if (add_file_object(&t->shm, ((FdEntry *)p->fds.msgs[k])->file))
				return -1;
		if (p->fs && p->fs->cwd_ghost && add_file_object(&t->shm, &p->cwd_file))
			return -1;
	}
	return 0;
}

int rst_shmem_create(struct rst_tree *t)
{
	struct rst_shmem_set *s = &t->shm;

	for (size_t i = 0; i < t->nr; i++) {
		const Mm *mm = t->procs[i].mm;
		for (size_t k = 0; mm && k < mm->n_vmas; k++) {
			const Vma *v = mm->vmas[k];
			if ((v->kind != VMA_KIND__VMA_ANON_SHARED &&
			     v->kind != VMA_KIND__VMA_MEMFD_SHARED) || !v->has_ino)
				continue;
			struct rst_shmem *m = shmem_get(s, 0, v->ino);
			if (!m)
				return -1;
			if (v->kind == VMA_KIND__VMA_MEMFD_SHARED) {
				m->memfd = v->name ? v->name : "";
				m->memfd_vma = v;
			}
			uint64_t need = v->pgoff + (v->end - v->start);
			if (v->kind == VMA_KIND__VMA_MEMFD_SHARED && v->has_shm_size)
				need = v->shm_size;	/* exact: a mapping may reach past the end */
			else if (v->has_shm_size && v->shm_size > need)
				need = (v->shm_size + 4095) & ~4095ULL;
			if (need > m->size)
				m->size = need;
		}
	}
	if (add_file_objects(t))
		return -1;
	/* paths of a tree with its own mount namespace resolve in its root, as criu sees it */
	int rootfd = t->mnt && t->mnt->rootfd > 0 ? t->mnt->rootfd : 0;
	for (size_t i = 0; i < s->nr; i++)
		if (shmem_open(&s->v[i], rootfd))
			return -1;
	if (s->nr)
		pr_debug("%zu shared anonymous objects made", s->nr);
	return 0;
}

void rst_shmem_close(struct rst_shmem_set *s)
{
	for (size_t i = 0; i < s->nr; i++)
		if (s->v[i].fd >= 0)
			close(s->v[i].fd);
	free(s->v);
	s->v = NULL;
	s->nr = 0;
}
