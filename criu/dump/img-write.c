/*
 * img-write.c - writing a dump's images: one message per file, the
 * process tree, each process's core/mm/fs/files, and the inventory,
 * written last (a directory holding it is complete).
 */
#define LOG_PREFIX "dump: "
#include <stdlib.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/dump/dump-run.h"
#include "criu/version.h"
#include "images/inventory.pb-c.h"
#include "images/pstree.pb-c.h"

int write_one(int dirfd, enum img_kind kind, unsigned id, uint64_t dump_id,
		     const ProtobufCMessage *m)
{
	struct img_writer *w;
	if (img_writer_open(dirfd, kind, id, dump_id, &w))
		return -1;
	if (img_write(w, m)) {
		img_writer_abort(w);
		return -1;
	}
	return img_writer_close(w);
}

/* every process of the tree, parents first; zombies with their status */
int write_pstree(int dirfd, const struct dump_tree *t)
{
	struct img_writer *w;

	if (img_writer_open(dirfd, IMG_PSTREE, 0, t->dump_id, &w))
		return -1;
	for (size_t i = 0; i < t->nr; i++) {
		const struct dump_proc *p = &t->procs[i];
		PstreeEntry pe = PSTREE_ENTRY__INIT;
		uint32_t one = p->pid, *tids = p->zombie ? &one : malloc(p->nr_threads * sizeof(*tids));

		if (!tids) {
			img_writer_abort(w);
			return -1;
		}
		for (int k = 0; !p->zombie && k < p->nr_threads; k++)
			tids[k] = p->tids[k];
		pe.pid = p->pid;
		pe.ppid = p->parent < 0 ? (uint32_t)p->stat.ppid : (uint32_t)t->procs[p->parent].pid;
		pe.pgid = p->stat.pgid;
		pe.sid = p->stat.sid;
		pe.n_threads = p->zombie ? 1 : p->nr_threads;
		pe.threads = tids;
		pe.has_exit_signal = true;
		pe.exit_signal = p->stat.exit_signal;
		if (p->files_shared)
			pe.has_files_shared = pe.files_shared = true;
		if (p->ns_depth) {
			pe.has_ns_depth = true;
			pe.ns_depth = p->ns_depth;
			pe.n_ns_pids = (size_t)p->ns_depth * pe.n_threads;
			pe.ns_pids = p->ns_pids;
		}
		if (p->pidns_child)
			pe.has_pidns_child = true, pe.pidns_child = p->pidns_child;
		if (p->zombie) {
			pe.has_zombie = pe.has_exit_code = true;
			pe.zombie = true;
			pe.exit_code = p->stat.exit_code;
			pe.comm = (char *)p->stat.comm;
		}
		int r = img_write(w, &pe.base);
		if (!p->zombie)
			free(tids);
		if (r) {
			img_writer_abort(w);
			return -1;
		}
	}
	return img_writer_close(w);
}

int write_images(int dirfd, struct dump_proc *p)
{
	struct img_writer *w;

	for (int i = 1; i < p->nr_threads; i++)
		if (write_one(dirfd, IMG_CORE, p->tids[i], p->dump_id, &p->thread_cores[i - 1]->base))
			return -1;
	if (write_one(dirfd, IMG_CORE, p->pid, p->dump_id, &p->core->base) ||
	    write_one(dirfd, IMG_MM, p->pid, p->dump_id, &p->mm->base) ||
	    write_one(dirfd, IMG_FS, p->pid, p->dump_id, &p->fs->base))
		return -1;
	if (img_writer_open(dirfd, IMG_FILES, p->pid, p->dump_id, &w))
		return -1;
	for (size_t i = 0; i < p->nr_fds; i++) {
		if (img_write(w, &p->fds[i]->base)) {
			img_writer_abort(w);
			return -1;
		}
	}
	return img_writer_close(w);
}

int write_inventory_of(int dirfd, const struct dump_tree *t, const struct opts *o, bool pre,
			      const char *lock)
{
	Inventory inv = INVENTORY__INIT;
	const struct dump_proc *root = &t->procs[0];
	struct utsname u;

	uname(&u);
	inv.format_version = IMG_FORMAT_VERSION;
	inv.page_size = sysconf(_SC_PAGESIZE);
	inv.kernel_release = u.release;
	inv.root_pid = root->pid;
	inv.tool_version = (char *)TOOL_VERSION;
	inv.dump_time = time(NULL);
	if (root->core) {
		const uint8_t *xs = root->core->thread->xsave.data;
		inv.xsave_size = root->core->thread->xsave.len;
		/* ptrace reports the task's XCR0 in bytes 464..471 of the xsave area */
		inv.xfeatures = inv.xsave_size >= 472 ? *(const uint64_t *)(xs + 464) : 0;
	}
	if (pre)
		inv.has_pre_dump = inv.pre_dump = true;
	if (t->ns_flags)
		inv.has_ns_flags = true, inv.ns_flags = t->ns_flags;
	if (o->prev_images_dir) {
		inv.parent = (char *)o->prev_images_dir;
		inv.has_parent_dump_id = true;
		inv.parent_dump_id = t->parent_dump_id;
	}
	inv.network_lock = (char *)lock;
	/* written last: a directory holding it is complete */
	return write_one(dirfd, IMG_INVENTORY, 0, t->dump_id, &inv.base);
}
