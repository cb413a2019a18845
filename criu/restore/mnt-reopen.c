/*
 * mnt-reopen.c - in the root task of a tree restored into its own mount
 * namespace, once it has pivoted into it: the files criu opened for the
 * tree beforehand (executables, mapped files, regular files the processes
 * share, FIFOs opened by path) were opened on criu's copy of the new mounts; each is opened
 * again by its path on the tree's own mounts and put at the same fd number,
 * with the same flags and offset, so that the processes' maps, exe links
 * and fds name their own mounts (the same inodes, checked).
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/restore/restore.h"

/* fd (if open here) again from path; 0, or -1 (logged) */
static int reopen(int fd, const char *path)
{
	struct stat was, now;
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);

	if (fd < 0 || !path || path[0] != '/' || fl < 0 || fdfl < 0 || fstat(fd, &was))
		return 0;
	if (!S_ISREG(was.st_mode) && !S_ISDIR(was.st_mode) && !S_ISFIFO(was.st_mode))
		return 0;
	int n = open(path, (fl & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_CLOEXEC);
	if (n < 0 || fstat(n, &now) || now.st_dev != was.st_dev || now.st_ino != was.st_ino) {
		if (n < 0)
			pr_perror("%s: cannot open it again in the tree's mount namespace", path);
		else
			pr_err("%s: another file in the tree's mount namespace than criu opened", path);
		if (n >= 0)
			close(n);
		return -1;
	}
	off_t pos = (fl & O_PATH) ? -1 : lseek(fd, 0, SEEK_CUR);
	if (pos > 0 && lseek(n, pos, SEEK_SET) != pos) {
		pr_perror("%s: cannot seek to %ld", path, (long)pos);
		close(n);
		return -1;
	}
	int r = dup3(n, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0);
	close(n);
	if (r < 0)
		pr_perror("%s: cannot put it at fd %d", path, fd);
	return r < 0 ? -1 : 0;
}

/* the path of shared file id, if it is a regular file or directory */
static const char *shared_path(const struct rst_tree *t, uint32_t id)
{
	for (size_t i = 0; i < t->nr; i++)
		for (size_t k = 0; k < t->procs[i].fds.nr; k++) {
			const FileEntry *fe = ((FdEntry *)t->procs[i].fds.msgs[k])->file;
			if (fe && fe->has_shared_id && fe->shared_id == id)
				return fe->kind == FD_KIND__FD_REG && fe->reg && !fe->reg->ghost ? fe->reg->path : NULL;
		}
	return NULL;
}

/* the path of the tree's object k, if it is a FIFO opened by path */
static const char *fifo_path(const struct rst_shmem *m)
{
	const FileEntry *fe = m->src;
	return fe && fe->kind == FD_KIND__FD_FIFO && fe->pipe && !fe->pipe->unlinked ? fe->pipe->path : NULL;
}

/* criu's fd of an object (by index k) or a shared file: opened again on
 * the tree's own mounts, and every process's copy made that description */
static int reopen_each(const struct rst_tree *t, int *fd, const char *path, bool shm, size_t k)
{
	if (reopen(*fd, path))
		return -1;
	for (size_t i = 0; i < t->nr; i++) {
		const int *sf = shm ? t->procs[i].helpers.shm_fd : t->procs[i].helpers.shared_fd;
		int fl = sf && sf[k] >= 0 && sf[k] != *fd ? fcntl(sf[k], F_GETFD) : -1;
		if (fl >= 0 && dup3(*fd, sf[k], (fl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
			pr_perror("%s: cannot put it at fd %d", path, sf[k]);
			return -1;
		}
	}
	return 0;
}

int rst_mnt_reopen(const struct rst_tree *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct rst_proc *p = &t->procs[i];
		const struct rst_fds *h = &p->helpers;
		if (p->zombie)
			continue;
		if (reopen(h->exe_fd, p->mm->exe_path))
			return -1;
		for (size_t k = 0; h->vma_fd && k < p->mm->n_vmas; k++)
			if (h->vma_fd[k] >= 0 && reopen(h->vma_fd[k], p->mm->vmas[k]->path))
				return -1;
	}
	for (uint32_t id = 1; id <= t->shared.nr; id++) {
		const char *path = shared_path(t, id);
		if (path && reopen_each(t, &t->shared.fd[id], path, false, id))
			return -1;
	}
	for (size_t k = 0; k < t->shm.nr; k++) {
		const char *path = fifo_path(&t->shm.v[k]);
		if (path && reopen_each(t, &t->shm.v[k].fd, path, true, k))
			return -1;
	}
	return 0;
}
