/*
 * images.c - loading a dump for restore.  Every image is read and checked
 * (framing, checksums, page checksums, consistency between images, files
 * that must exist) before anything is created.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "criu/ns/mnt.h"
#include "common/compat.h"
#include "common/log.h"
#include "criu/restore/restore.h"

static int check_inventory(int dirfd, const char *dir, struct rst_tree *p)
{
	int ret = img_read_one(dirfd, IMG_INVENTORY, 0, (ProtobufCMessage **)&p->inv);
	struct utsname u;

	if (ret == -ENOENT) {
		/* img_read_one logged "missing"; say why it may be */
		if (!faccessat(dirfd, "dump-incomplete", F_OK, 0))
			pr_info("%s holds a failed dump (dump-incomplete)", dir);
		return -1;
	}
	if (ret)
		return -1;
	if (p->inv->has_pre_dump && p->inv->pre_dump) {
		pr_err("inventory.img: %s is a pre-dump (memory only): restore the final dump", dir);
		return -1;
	}
	if (p->inv->page_size != (uint32_t)sysconf(_SC_PAGESIZE)) {
		pr_err("inventory.img: page size %u, this machine's is %ld", p->inv->page_size,
		       sysconf(_SC_PAGESIZE));
		return -1;
	}
	uname(&u);
	if (strcmp(u.release, p->inv->kernel_release))
		pr_warn("inventory.img: dumped on kernel %s, restoring on %s",
			p->inv->kernel_release, u.release);
	return 0;
}

static int tree_index(const struct rst_tree *t, size_t upto, uint32_t pid)
{
	for (size_t i = 0; i < upto; i++)
		if ((uint32_t)t->procs[i].pid == pid)
			return i;
	return -1;
}

/* the root first, parents before children, every pid and tid once */
static int check_pstree(int dirfd, struct rst_tree *t)
{
	struct img_entries e;
	int ret = img_read_all(dirfd, IMG_PSTREE, 0, &e);

	if (ret == -ENOENT)
		pr_err("pstree.img: missing from the images directory");
	if (ret)
		return -1;
	t->procs = calloc(e.nr + 1, sizeof(*t->procs));
	if (!t->procs) {
		img_entries_free(&e);
		return -1;
	}
	for (size_t i = 0; i < e.nr; i++) {
		t->procs[i].pe = (PstreeEntry *)e.msgs[i];
		t->procs[i].pages.pages_fd = -1;
	}
	t->nr = e.nr;
	free(e.msgs);
	if (!t->nr || t->procs[0].pe->pid != t->inv->root_pid || !t->inv->root_pid) {
		pr_err("pstree.img: the first process is not inventory.img's root pid %u",
		       t->inv->root_pid);
		return -1;
	}
	for (size_t i = 0; i < t->nr; i++) {
		struct rst_proc *p = &t->procs[i];
		const PstreeEntry *pe = p->pe;
		p->pid = pe->pid;
		p->inv = t->inv;
		p->zombie = pe->has_zombie && pe->zombie;
		p->parent = i ? tree_index(t, i, pe->ppid) : -1;
		if (p->pid < 1 || tree_index(t, i, pe->pid) >= 0) {
			pr_err("pstree.img: pid %d is invalid or listed twice", p->pid);
			return -1;
		}
		if (i && (p->parent < 0 || t->procs[p->parent].zombie)) {
			pr_err("pstree.img: the parent %u of pid %d is not listed before it (or is a zombie)",
			       pe->ppid, p->pid);
			return -1;
		}
		if (pe->n_threads < 1 || pe->threads[0] != (uint32_t)p->pid ||
		    (p->zombie && pe->n_threads != 1)) {
			pr_err("pstree.img: the first thread of pid %d is not the process itself",
			       p->pid);
			return -1;
		}
		if (pe->has_files_shared && pe->files_shared) {
			if (!i || p->zombie) {
				pr_err("pstree.img: pid %d shares the fd table of no live parent", p->pid);
				return -1;
			}
			const struct rst_proc *o = &t->procs[p->parent];
			p->fd_owner = o->fd_owner ? o->fd_owner : o;
			t->procs[p->fd_owner - t->procs].nr_sharers++;
		}
		if (pe->has_exit_signal && pe->exit_signal > 64) {
			pr_err("pstree.img: pid %d: invalid exit signal %u", p->pid, pe->exit_signal);
			return -1;
		}
	}
	return rst_pidns_load(t);
}

static int check_core(const struct rst_proc *p, const Core *core, unsigned tid)
{
	char name[64];
	ThreadCore *tc = core->thread;
	const uint8_t *xs = tc->xsave.data;

	img_name(IMG_CORE, tid, name, sizeof(name));
	if (tc->tid != tid || (tid != (unsigned)p->pid && core->n_sigactions)) {
		pr_err("%s: holds thread %u, not %u", name, tc->tid, tid);
		return -1;
	}
	if (tc->xsave.len < 576 || tc->xsave.len > 64 * 1024 || !(*(const uint64_t *)(xs + 464) & 3)) {
		pr_err("%s: the extended register state (%zu bytes) is not a valid xsave area",
		       name, tc->xsave.len);
		return -1;
	}
	for (size_t i = 0; i < core->n_sigactions; i++) {
		uint32_t sig = core->sigactions[i]->sig;
		if (sig < 1 || sig > 64 || sig == 9 || sig == 19) {
			pr_err("%s: signal action for invalid signal %u", name, sig);
			return -1;
		}
	}
	return rst_plausible_core(core, tid == (unsigned)p->pid, name);
}

/*
 * Is st the file v mapped?  Its device and inode, in criu's own mounts.
 * On a container's root file system mounted again (--root: an overlay
 * gets another anonymous device, and on another host other inodes) its
 * size and mtime, as dumped (older images: the inode alone).
 */
static bool same_mapped_file(const Vma *v, const struct stat *st, bool in_root)
{
	if (!v->has_ino)
		return true;
	if (!in_root)
		return st->st_ino == v->ino && st->st_dev == v->dev;
	if (!v->has_file_size || !v->has_file_mtime_ns)
		return st->st_ino == v->ino;
	return (uint64_t)st->st_size == v->file_size &&
	       st->st_mtim.tv_sec * 1000000000ULL + st->st_mtim.tv_nsec == v->file_mtime_ns;
}

/* an ELF file mapped from its start: its build-id as at dump */
static int mapped_build_id(const struct rst_proc *p, const Vma *v, const struct opts *o)
{
	char now[2 * FD_BUILD_ID_MAX + 1], then[2 * FD_BUILD_ID_MAX + 1];

	int fd = mnt_open_in(o->rst_root_fd, v->path, O_RDONLY | O_CLOEXEC, 0);
	int ret = fd < 0 ? -1 : fd_build_id_cmp(fd, v->build_id.data, v->build_id.len, now, sizeof(now));
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		pr_perror("pid %d: mapping %lx-%lx: cannot read %s for its build-id", p->pid,
			  (unsigned long)v->start, (unsigned long)v->end, v->path);
	if (ret <= 0)
		return ret;
	fd_hex(v->build_id.data, v->build_id.len, then, sizeof(then));
	pr_err("pid %d: mapping %lx-%lx: %s has build-id %s now, %s at dump: the file changed since the dump",
	       p->pid, (unsigned long)v->start, (unsigned long)v->end, v->path, now, then);
	return -1;
}

/*
 * The same file (same_mapped_file), grown or cut since, or an ELF file
 * rebuilt: --file-validation, as for fds (criu/files/reg.c)
 */
static int mapped_file_changed(const struct rst_proc *p, const Vma *v, const struct stat *st,
			       const struct opts *o)
{
	if (v->has_file_size && (uint64_t)st->st_size != v->file_size) {
		pr_err("pid %d: mapping %lx-%lx: %s has size %llu now, %llu at dump: the file changed since the dump",
		       p->pid, (unsigned long)v->start, (unsigned long)v->end, v->path,
		       (unsigned long long)st->st_size, (unsigned long long)v->file_size);
		return -1;
	}
	if (v->has_build_id && !o->file_validation_size)
		return mapped_build_id(p, v, o);
	return 0;
}

static int check_mm(struct rst_proc *p, const struct opts *o)
{
	char name[64];
	uint64_t prev_end = 0;

	img_name(IMG_MM, p->pid, name, sizeof(name));
	if (rst_plausible_mm(p->mm, name))
		return -1;
	for (int i = 0; i < p->nr_threads; i++) {
		char cname[64];
		const Core *c = i ? p->thread_cores[i - 1] : p->core;
		img_name(IMG_CORE, p->pe->threads[i], cname, sizeof(cname));
		if (rst_plausible_rseq(c->thread, p->mm, cname))
			return -1;
	}
	for (size_t i = 0; i < p->mm->n_vmas; i++) {
		const Vma *v = p->mm->vmas[i];
		if (v->start % 4096 || v->end % 4096 || v->start >= v->end || v->start < prev_end) {
			pr_err("%s: vma %zu (%lx-%lx) is misaligned or out of order", name, i,
			       (unsigned long)v->start, (unsigned long)v->end);
			return -1;
		}
		prev_end = v->end;
		if (v->kind != VMA_KIND__VMA_FILE_PRIVATE && v->kind != VMA_KIND__VMA_FILE_SHARED)
			continue;
		struct stat st;
		if (!v->path || mnt_stat_in(o->rst_root_fd, v->path, &st, false)) {
			pr_err("%s: mapped file %s is gone", name, v->path ? v->path : "(none)");
			return -1;
		}
		/* in a mount namespace made again, a file on any mount but the
		 * root one (--root, the same files) is one made from the images */
		struct stat rst;
		if (o->rst_root_fd > 0 && (fstat(o->rst_root_fd, &rst) || rst.st_dev != st.st_dev))
			continue;
		/* under --root the root is the runtime's mount of the same files,
		 * made again: an overlay (podman, runc on overlay) gets a new
		 * anonymous device each time (same_mapped_file) */
		if (!same_mapped_file(v, &st, o->rst_root_fd > 0)) {
			pr_err("%s: mapped file %s was replaced since the dump", name, v->path);
			return -1;
		}
		if (mapped_file_changed(p, v, &st, o))
			return -1;
		if (v->has_ino && st.st_dev != v->dev)
			pr_debug("%s: mapped file %s: the root's device is %u:%u now (%u:%u at dump), the same file",
				 name, v->path, major(st.st_dev), minor(st.st_dev), major(v->dev), minor(v->dev));
	}
	return 0;
}

/* every dumped page must land inside a mapping that gets filled */
static int check_runs(const struct rst_proc *p)
{
	size_t vi = 0;
	for (size_t i = 0; i < p->pages.nr_runs; i++) {
		const struct page_run *r = &p->pages.runs[i];
		uint64_t end = r->vaddr + r->nr_pages * 4096;
		while (vi < p->mm->n_vmas && p->mm->vmas[vi]->end <= r->vaddr)
			vi++;
		if (vi == p->mm->n_vmas || p->mm->vmas[vi]->start > r->vaddr ||
		    p->mm->vmas[vi]->end < end || p->mm->vmas[vi]->kind == VMA_KIND__VMA_FILE_SHARED ||
		    rst_vma_special(p->mm->vmas[vi]->kind)) {
			pr_err("%s: pages at %lx are outside any memory mapping", p->pages.pages_name,
			       (unsigned long)r->vaddr);
			return -1;
		}
	}
	return 0;
}

/*
 * every fd refers to a described open file description: ids 1..n, each
 * described once, by its first fd; each kind checks what it can before
 * anything is created
 */
static int check_files(struct rst_proc *p, const struct opts *o)
{
	struct fd_rst *r = &p->files;
	char name[64];

	img_name(IMG_FILES, p->pid, name, sizeof(name));
	r->nr_files = 0;
	r->o = o;
	for (size_t i = 0; i < p->fds.nr; i++) {
		const FdEntry *e = (FdEntry *)p->fds.msgs[i];
		if (i && e->fd <= ((FdEntry *)p->fds.msgs[i - 1])->fd) {
			pr_err("%s: fd %u listed twice or out of order", name, e->fd);
			return -1;
		}
		if (e->file_id > r->nr_files)
			r->nr_files = e->file_id;
	}
	if (r->nr_files > p->fds.nr) {
		pr_err("%s: file id %u but only %zu fds", name, r->nr_files, p->fds.nr);
		return -1;
	}
	r->file = calloc(r->nr_files + 1, sizeof(*r->file));
	r->where = malloc((r->nr_files + 1) * sizeof(*r->where));
	r->stashed = calloc(r->nr_files + 1, sizeof(*r->stashed));
	if (!r->file || !r->where || !r->stashed)
		return -1;
	for (uint32_t i = 0; i <= r->nr_files; i++)
		r->where[i] = -1;
	for (size_t i = 0; i < p->fds.nr; i++) {
		const FdEntry *e = (FdEntry *)p->fds.msgs[i];
		if (!e->file_id) {
			pr_err("%s: fd %u has no file id", name, e->fd);
			return -1;
		}
		if (!e->file)
			continue;
		if (e->file->id != e->file_id || r->file[e->file_id]) {
			pr_err("%s: fd %u: file %u described twice or under another id", name, e->fd,
			       e->file_id);
			return -1;
		}
		if (!fd_ops_by_kind(e->file->kind)) {
			pr_err("%s: fd %u: file kind %d unknown to this criu", name, e->fd, e->file->kind);
			return -1;
		}
		r->file[e->file_id] = e->file;
	}
	for (size_t i = 0; i < p->fds.nr; i++) {
		const FdEntry *e = (FdEntry *)p->fds.msgs[i];
		if (!r->file[e->file_id]) {
			pr_err("%s: fd %u refers to file %u, which is described nowhere", name, e->fd,
			       e->file_id);
			return -1;
		}
		char what[64];
		snprintf(what, sizeof(what), "pid %d: fd %u", p->pid, e->fd);
		if (e->file && fd_check(e->file, o, what))	/* --inherit-fd, or the kind's */
			return -1;
	}
	return 0;
}

/* a removed cwd: a ghost directory, made with the files (shmem.c) */
static int check_cwd(struct rst_proc *p, const struct opts *o)
{
	char name[64];

	if (!p->fs->cwd_ghost)
		return 0;
	img_name(IMG_FS, p->pid, name, sizeof(name));
	file_entry__init(&p->cwd_file);
	p->cwd_file.kind = FD_KIND__FD_REG;
	p->cwd_file.reg = p->fs->cwd_ghost;
	if (!p->fs->cwd_ghost->ghost || !S_ISDIR(p->fs->cwd_ghost->mode)) {
		pr_err("%s: the removed cwd is not described as a removed directory", name);
		return -1;
	}
	return fd_reg_ops.check(&p->cwd_file, o, name);
}

static int load_proc(int dirfd, const struct opts *o, struct rst_proc *p)
{
	if (img_read_one(dirfd, IMG_CORE, p->pid, (ProtobufCMessage **)&p->core) ||
	    check_core(p, p->core, p->pid))
		return -1;
	p->nr_threads = p->pe->n_threads;
	p->thread_cores = calloc(p->nr_threads, sizeof(Core *));
	if (!p->thread_cores)
		return -1;
	for (int i = 1; i < p->nr_threads; i++)
		if (img_read_one(dirfd, IMG_CORE, p->pe->threads[i],
				 (ProtobufCMessage **)&p->thread_cores[i - 1]) ||
		    check_core(p, p->thread_cores[i - 1], p->pe->threads[i]))
			return -1;
	if (img_read_one(dirfd, IMG_MM, p->pid, (ProtobufCMessage **)&p->mm))
		return -1;
	if (img_read_one(dirfd, IMG_FS, p->pid, (ProtobufCMessage **)&p->fs))
		return -1;
	int ret = img_read_all(dirfd, IMG_FILES, p->pid, &p->fds);
	if (ret == -ENOENT)
		pr_err("files-%d.img: missing from the images directory", p->pid);
	if (ret)
		return -1;
	return check_mm(p, o) || check_files(p, o) || check_cwd(p, o) ? -1 : 0;
}

/*
 * The pages of p: with --lazy-pages, the runs of the memory left to the
 * daemon are checked, not kept (the daemon reads them for itself); page
 * checksums are verified by restore.c, alongside the restorer
 */
static int load_pages(int dirfd, const struct opts *o, struct rst_proc *p)
{
	if (o->lazy_pages && rst_lazy_skip(p))
		return -1;
	if (page_source_open_skip(dirfd, p->pid, rst_remote_pages(o), p->lazy_skip, p->nr_lazy_skip,
				  &p->pages))
		return -1;
	return check_runs(p);
}

int rst_load_tree(int dirfd, const char *dir, const struct opts *o, struct rst_tree *t)
{
	memset(t, 0, sizeof(*t));
	if (check_inventory(dirfd, dir, t) || check_pstree(dirfd, t) ||
	    ns_images_load(dirfd, t->inv, o, &t->ns))
		return -1;
	for (size_t i = 0; i < t->nr; i++) {
		t->procs[i].shm = &t->shm;
		t->procs[i].shared = &t->shared;
		if (!t->procs[i].zombie && load_proc(dirfd, o, &t->procs[i]))
			return -1;
	}
	/* which memory is made before the forks decides what a lazy restore leaves to the daemon */
	if (rst_premap_mark(t))
		return -1;
	for (size_t i = 0; i < t->nr; i++)
		if (!t->procs[i].zombie && load_pages(dirfd, o, &t->procs[i]))
			return -1;
	return rst_ns_fix_owners(t) || rst_cgroups_plan(dirfd, t, o) ? -1 : 0;
}

static void rst_proc_free(struct rst_proc *p)
{
	free(p->real_tids);
	free(p->cg_at);
	free(p->cgns_at);
	if (p->pe)
		pstree_entry__free_unpacked(p->pe, NULL);
	if (p->core)
		core__free_unpacked(p->core, NULL);
	for (int i = 1; p->thread_cores && i < p->nr_threads; i++)
		if (p->thread_cores[i - 1])
			core__free_unpacked(p->thread_cores[i - 1], NULL);
	free(p->thread_cores);
	if (p->mm)
		mm__free_unpacked(p->mm, NULL);
	if (p->fs)
		fs_entry__free_unpacked(p->fs, NULL);
	img_entries_free(&p->fds);
	free(p->files.file);
	free(p->files.where);
	free(p->files.stashed);
	page_source_close(&p->pages);
	free(p->lazy_skip);
	rst_fds_close(&p->helpers);
	free(p->premap);
	if (p->reg.start)
		munmap((void *)p->reg.start, p->reg.len);
}

void rst_tree_free(struct rst_tree *t)
{
	for (size_t i = 0; i < t->nr; i++)
		rst_proc_free(&t->procs[i]);
	free(t->procs);
	rst_shmem_close(&t->shm);
	rst_shared_close(&t->shared);
	rst_orphans_close(&t->orphans);
	ns_images_free(&t->ns);
	rst_cgroups_free(t);
	if (t->premap_end)
		munmap((void *)t->premap_start, t->premap_end - t->premap_start);
	if (t->inv)
		inventory__free_unpacked(t->inv, NULL);
	memset(t, 0, sizeof(*t));
}
