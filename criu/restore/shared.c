/*
 * shared.c - open files held by several processes of the tree (FileEntry
 * shared_id, marked by dump's dump-tree.c): criu makes each one once, with its
 * kind's own open(), before it creates the tree; every process gets a copy
 * among its helper fds and puts it at its fd numbers, so the processes
 * share one open file description again (one offset, one pipe).  An
 * external one is criu's own fd given with --inherit-fd.  A terminal whose
 * master was outside the tree gets a new pair here too: criu keeps the
 * master for the client (the orphan-pts-master step, rst_orphans_hand).
 */
#define LOG_PREFIX "restore: "
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/restore/restore.h"

/* the highest fd number any process of the tree restores */
static int top_target_fd(const struct rst_tree *t)
{
	int top = 0;
	for (size_t i = 0; i < t->nr; i++)
		for (size_t k = 0; k < t->procs[i].fds.nr; k++) {
			const FdEntry *e = (FdEntry *)t->procs[i].fds.msgs[k];
			if ((int)e->fd > top)
				top = e->fd;
		}
	return top;
}

/* criu's own fd of the tree's memory object of inode ino (a mapped memfd) */
static int object_fd(const struct fd_rst *r, uint64_t dev, uint64_t ino)
{
	const struct rst_shmem_set *s = r->object_ctx;
	int k = rst_shmem_index(s, dev, ino);
	return k < 0 ? -1 : s->v[k].fd;
}

int rst_shared_open(struct rst_tree *t, const struct opts *o)
{
	struct rst_shared_files *s = &t->shared;
	uint32_t nr = 0;

	for (size_t i = 0; i < t->nr; i++)
		for (size_t k = 0; k < t->procs[i].fds.nr; k++) {
			const FileEntry *fe = ((FdEntry *)t->procs[i].fds.msgs[k])->file;
			if (fe && fe->has_shared_id && fe->shared_id > nr)
				nr = fe->shared_id;
		}
	if (!nr)
		return 0;
	if (nr > 1000000) {
		pr_err("files images: shared file id %u is out of range", nr);
		return -1;
	}
	/* the kinds' open() sees a table of the shared files alone, by shared id */
	FileEntry *copy = calloc(nr + 1, sizeof(*copy));
	const FileEntry **tab = calloc(nr + 1, sizeof(*tab));
	int *where = malloc((nr + 1) * sizeof(int));
	bool *stashed = calloc(nr + 1, sizeof(bool));
	int tty[3] = { -1, -1, -1 }, err = -1;
	/* --inherit-fd: criu's own fds, as they are here */
	int *inherit = calloc(o->nr_inherit_fd + 1, sizeof(int));

	s->fd = where;
	if (!copy || !tab || !where || !stashed || !inherit)
		goto out;
	for (int i = 0; i < o->nr_inherit_fd; i++) {
		const char *key;
		fd_inherit_parse(o->inherit_fd[i], &inherit[i], &key);
	}
	for (uint32_t id = 0; id <= nr; id++)
		where[id] = -1;
	s->nr = nr;
	for (size_t i = 0; i < t->nr; i++)
		for (size_t k = 0; k < t->procs[i].fds.nr; k++) {
			const FileEntry *fe = ((FdEntry *)t->procs[i].fds.msgs[k])->file;
			if (!fe || !fe->has_shared_id || !fe->shared_id || tab[fe->shared_id])
				continue;
			copy[fe->shared_id] = *fe;
			copy[fe->shared_id].id = fe->shared_id;
			tab[fe->shared_id] = &copy[fe->shared_id];
		}
	for (uint32_t id = 1; id <= nr; id++)
		if (!tab[id]) {
			pr_err("files images: shared file %u is described by no process", id);
			goto out;
		}
	struct fd_rst r = {
		.file = tab, .nr_files = nr, .where = where, .stashed = stashed,
		.stash_base = top_target_fd(t) + 64, .tty = tty, .o = o,
		.object_fd = object_fd, .object_ctx = &t->shm, .inherit = inherit, .in_criu = true,
		.orphans = &t->orphans,
	};
	for (uint32_t id = 1; id <= nr; id++) {
		if (where[id] >= 0)
			continue;	/* made along with another (a pipe's other end) */
		int fd = fd_rst_open(&r, tab[id]);
		if (fd < 0)
			goto out;
		/* above every fd number of the tree: no process's target */
		where[id] = fcntl(fd, F_DUPFD_CLOEXEC, r.stash_base);
		close(fd);
		if (where[id] < 0) {
			pr_perror("shared file %u: cannot keep it", id);
			goto out;
		}
	}
	pr_debug("%u open files shared between processes made", nr);
	err = 0;
out:
	free(copy);
	free(tab);
	free(stashed);
	free(inherit);
	return err;
}

void rst_shared_close(struct rst_shared_files *s)
{
	for (uint32_t id = 1; s->fd && id <= s->nr; id++)
		if (s->fd[id] >= 0)
			close(s->fd[id]);
	free(s->fd);
	s->fd = NULL;
	s->nr = 0;
}

int rst_orphans_hand(struct rst_tree *t, const struct opts *o, pid_t pid)
{
	int err = 0;
	for (int i = 0; i < t->orphans.nr && !err; i++)
		err = cr_notify(o, "orphan-pts-master", pid, t->orphans.fd[i]);
	rst_orphans_close(&t->orphans);
	return err;
}

void rst_orphans_close(struct fd_orphans *o)
{
	for (int i = 0; i < o->nr; i++)
		close(o->fd[i]);
	o->nr = 0;
}
