/*
 * dump.c - `criu dump` and `criu pre-dump`: freeze the process tree,
 * collect each process's state, write the images, then kill the tree or
 * let it run on.  Any failure leaves every process running exactly as
 * before and marks the directory incomplete.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "criu/caps.h"
#include "criu/dump/cgfreeze.h"
#include "criu/dump/dump.h"
#include "criu/infect/infect.h"
#include "common/clock.h"
#include "common/log.h"
#include "criu/opts.h"
#include "criu/ns/ns.h"
#include "criu/net/netlock.h"
#include "criu/snapshot/snapshot.h"
#include "criu/stages.h"
#include "criu/track/track.h"
#include "criu/version.h"

#define INCOMPLETE_MARK "dump-incomplete"

void dump_proc_free(struct dump_proc *p)
{
	proc_maps_free(&p->maps);
	if (p->core)
		core__free_unpacked(p->core, NULL);
	if (p->mm)
		mm__free_unpacked(p->mm, NULL);
	if (p->fs)
		fs_entry__free_unpacked(p->fs, NULL);
	for (size_t i = 0; i < p->nr_fds; i++)
		fd_entry__free_unpacked(p->fds[i], NULL);
	free(p->fds);
	free(p->fd_ids);
	free(p->table_skip);
	for (int i = 1; p->thread_cores && i < p->nr_threads; i++)
		if (p->thread_cores[i - 1])
			core__free_unpacked(p->thread_cores[i - 1], NULL);
	free(p->thread_cores);
	free(p->tids);
	free(p->ns_pids);
}

static int write_one(int dirfd, enum img_kind kind, unsigned id, uint64_t dump_id,
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
static int write_pstree(int dirfd, const struct dump_tree *t)
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

static int write_images(int dirfd, struct dump_proc *p)
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

/* mkdir -p */
static int make_dirs(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(path, 0700) && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(path, 0700) && errno != EEXIST ? -1 : 0;
}

static int open_images_dir(const char *dir)
{
	if (make_dirs(dir)) {
		pr_perror("cannot create images directory %s", dir);
		return -1;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("cannot open images directory %s", dir);
		return -1;
	}
	/* a stale inventory would make a half-written dump look complete */
	if (unlinkat(fd, "inventory.img", 0) && errno != ENOENT) {
		pr_perror("%s: cannot remove the previous inventory.img", dir);
		close(fd);
		return -1;
	}
	unlinkat(fd, INCOMPLETE_MARK, 0);
	return fd;
}

static void mark_incomplete(int dirfd)
{
	int fd = openat(dirfd, INCOMPLETE_MARK, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		static const char msg[] = "This dump failed: the images in this directory are incomplete.\n";
		if (write(fd, msg, sizeof(msg) - 1) < 0) {
		}
		close(fd);
	}
}

/* what one round keeps per process besides its state */
struct proc_round {
	Mm *parent_mm;		/* the process in the parent images, if it was there */
	struct track tr;	/* the write-tracking uffd */
	bool *tracked;		/* per VMA: unwritten pages are the parent's */
	bool created;		/* the tracker was made by this round */
	struct page_plan plan;
	struct snapshot *snap;	/* --live-snapshot: its memory, protected */
};

/* the previous images of an incremental dump: checks them, links "parent" */
static int load_parent(int dirfd, const char *prev, pid_t root, int *pfd_out)
{
	Inventory *inv = NULL;
	int pfd = openat(dirfd, prev, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = -1;

	if (pfd < 0) {
		pr_perror("--prev-images-dir %s (relative to the images directory)", prev);
		return -1;
	}
	if (faccessat(pfd, "inventory.img", F_OK, 0)) {
		pr_err("--prev-images-dir %s: no inventory.img: not a complete pre-dump or dump", prev);
		goto out;
	}
	if (img_read_one(pfd, IMG_INVENTORY, 0, (ProtobufCMessage **)&inv))
		goto out;
	if (inv->root_pid != (uint32_t)root) {
		pr_err("--prev-images-dir %s: images of pid %u, not of pid %d", prev, inv->root_pid,
		       root);
		goto out;
	}
	/* restore follows this link to the pages not written since */
	unlinkat(dirfd, "parent", 0);
	if (symlinkat(prev, dirfd, "parent")) {
		pr_perror("cannot link the images directory to its parent %s", prev);
		goto out;
	}
	err = 0;
out:
	if (inv)
		inventory__free_unpacked(inv, NULL);
	if (err)
		close(pfd);
	else
		*pfd_out = pfd;
	return err;
}

/* the process's Mm in the parent images; NULL (not an error) if it was not there */
static int load_parent_mm(int pfd, pid_t pid, Mm **mm)
{
	char name[64];

	*mm = NULL;
	img_name(IMG_MM, pid, name, sizeof(name));
	if (faccessat(pfd, name, F_OK, 0))
		return 0;
	return img_read_one(pfd, IMG_MM, pid, (ProtobufCMessage **)mm);
}

/* is [s, e) covered by mappings the parent recorded as write-tracked? */
static bool parent_tracked(const Mm *pm, uint64_t s, uint64_t e)
{
	for (size_t i = 0; pm && i < pm->n_vmas && s < e; i++) {
		const Vma *v = pm->vmas[i];
		if (!v->has_tracked || !v->tracked || v->end <= s)
			continue;
		if (v->start > s)
			return false;
		s = v->end;
	}
	return s >= e;
}

static bool vma_trackable(const Vma *v)
{
	return v->kind == VMA_KIND__VMA_ANON_PRIVATE || v->kind == VMA_KIND__VMA_FILE_PRIVATE;
}

/*
 * Write tracking, while the process is frozen: finds the tracking uffd of
 * the previous round (or, with create, makes one).  r->tracked[i] says VMA
 * i has been tracked since the parent image, so that its unwritten pages
 * are the parent's: the parent recorded it as tracked and the kernel still
 * write-protects it for us (a mapping that was unmapped, moved or replaced
 * since is not registered any more).
 */
static int find_tracking(struct dump_proc *p, const struct opts *o, bool create,
			 struct proc_round *r)
{
	const Mm *pm = r->parent_mm;
	struct track *tr = &r->tr;
	bool attached = false;

	if (pm && pm->has_track_fd && pm->track_fd >= 0) {
		int ret = track_attach(p->pid, pm->track_fd, pm->track_ino, tr);
		if (ret < 0)
			return -1;
		attached = ret == 0;
		if (attached)
			p->skip_fd = tr->target_fd;
	}
	if (!o->track_mem)
		return 0;
	for (size_t i = 0; attached && i < p->mm->n_vmas; i++) {
		const Vma *v = p->mm->vmas[i];
		r->tracked[i] = vma_trackable(v) && parent_tracked(pm, v->start, v->end) &&
				track_is_armed(tr, v->start);
	}
	if (!create || attached)
		return 0;
	struct infect c;
	if (infect_begin(&c, p->pid))
		return -1;
	int ret = track_create(&c, p->pid, tr);
	if (infect_end(&c) || ret)
		return -1;
	r->created = true;
	p->skip_fd = tr->target_fd;
	return 0;
}

/*
 * Registers every private mapping not tracked yet: copied in full this
 * round, tracked from now on.  Safe while the process runs: what it writes
 * before a mapping is protected is in this round's copy, made after.  The
 * Mm image records which mappings are tracked, for the next round.
 */
static void arm_tracking(struct dump_proc *p, struct track *tr, const bool *tracked)
{
	for (size_t i = 0; i < p->mm->n_vmas; i++) {
		Vma *v = p->mm->vmas[i];
		if (!vma_trackable(v))
			continue;
		if (!tracked[i]) {
			int r = track_arm(tr, v->start, v->end);
			if (r == -EBUSY)
				pr_warn("pid %d: %lx-%lx is registered with the program's own userfaultfd: copied in full every round",
					p->pid, (unsigned long)v->start, (unsigned long)v->end);
			else if (r)
				pr_info("pid %d: %lx-%lx not tracked (%s; changed meanwhile?): copied in full next round",
					p->pid, (unsigned long)v->start, (unsigned long)v->end, strerror(-r));
			if (r)
				continue;
		}
		v->has_tracked = v->tracked = true;
	}
}

/* removes criu's tracking uffd from the (seized) process */
static int drop_tracking(pid_t pid, struct track *tr)
{
	struct infect c;
	int err;

	if (tr->uffd < 0)
		return 0;
	if (infect_begin(&c, pid))
		return -1;
	err = track_close_in_task(&c, tr);
	if (infect_end(&c))
		err = -1;
	return err;
}

static int write_inventory_of(int dirfd, const struct dump_tree *t, const struct opts *o, bool pre,
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

/*
 * The fds dump_files must leave out of process i's table: criu's tracking
 * uffd of each process using that table (itself, and its CLONE_FILES
 * sharers, whose uffds live in it too).
 */
static int table_skips(struct dump_tree *t, size_t i)
{
	struct dump_proc *p = &t->procs[i];

	for (size_t k = i; k < t->nr; k++) {
		size_t owner = k;
		while (t->procs[owner].files_shared && t->procs[owner].parent >= 0)
			owner = t->procs[owner].parent;
		if (owner != i || t->procs[k].zombie || t->procs[k].skip_fd < 0)
			continue;
		int *n = realloc(p->table_skip, (p->nr_table_skip + 1) * sizeof(int));
		if (!n)
			return -1;
		p->table_skip = n;
		p->table_skip[p->nr_table_skip++] = t->procs[k].skip_fd;
	}
	return 0;
}

/* while frozen: one process's state, memory map and tracking */
static int collect_proc(struct dump_proc *p, struct proc_round *r, const struct opts *o, bool pre,
			int pfd, struct snapshot *prep)
{
	uint64_t brk = 0;

	/* smaps (VmFlags) costs a page table walk: a pre-dump does without */
	if (snapshot_read_maps(prep, p->pid, !pre, &p->maps))	/* proc_read_maps */
		return -1;
	pr_debug("pid %d: seized, %zu mappings read", p->pid, p->maps.nr);
	if (!pre && dump_core(p, &brk))
		return -1;
	if (dump_mm(p, pre ? p->stat.start_brk : brk) || (!pre && dump_numa_vmas(p)))
		return -1;
	if (pfd >= 0 && load_parent_mm(pfd, p->pid, &r->parent_mm))
		return -1;
	r->tracked = calloc(p->mm->n_vmas + 1, sizeof(bool));
	if (!r->tracked || find_tracking(p, o, pre, r))
		return -1;
	if (pre && r->tr.uffd >= 0) {
		p->mm->has_track_fd = p->mm->has_track_ino = true;
		p->mm->track_fd = r->tr.target_fd;
		p->mm->track_ino = r->tr.ino;
	}
	pr_debug("pid %d: state collected", p->pid);
	return 0;
}

static void free_rounds(struct proc_round *r, size_t nr)
{
	for (size_t i = 0; r && i < nr; i++) {
		snapshot_free(r[i].snap);
		track_release(&r[i].tr);
		page_plan_free(&r[i].plan);
		free(r[i].tracked);
		if (r[i].parent_mm)
			mm__free_unpacked(r[i].parent_mm, NULL);
	}
	free(r);
}

/* --live-snapshot: no protection stays behind (closing the uffd drops it all) */
static void drop_snapshots(struct dump_tree *t, struct proc_round *r)
{
	for (size_t i = 0; r && i < t->nr; i++) {
		snapshot_free(r[i].snap);
		r[i].snap = NULL;
	}
}

/*
 * --live-snapshot, while frozen: plans each process's pages and protects
 * its memory (criu/snapshot/); the copy runs after the tree is let go.
 */
static int arm_snapshots(struct dump_tree *t, struct proc_round *r, const struct opts *o, bool pre,
			 int dirfd, struct snapshot **prep)
{
	for (size_t i = 0; i < t->nr; i++) {
		struct dump_proc *p = &t->procs[i];
		bool planned = false;
		if (p->zombie)
			continue;
		/* written pages of tracked mappings: planned with the tracker, which then goes */
		for (size_t k = 0; r[i].tracked && k < p->mm->n_vmas; k++)
			planned |= r[i].tracked[k];
		if ((planned && dump_pages_plan(p, r[i].tracked, &r[i].plan)) ||
		    (!pre && drop_tracking(p->pid, &r[i].tr)) ||
		    snapshot_arm(p, prep, &r[i].plan, planned, dirfd, pre && o->track_mem,
				 &r[i].snap))
			return -1;
	}
	snapshot_free(*prep);	/* not the root's after all */
	*prep = NULL;
	return 0;
}

/* pre-dump --live-snapshot --track-mem: tracking takes over after the copy */
struct handover {
	struct dump_proc *p;
	struct proc_round *r;
};

static void arm_after_snapshot(void *arg)
{
	struct handover *h = arg;
	Mm *mm = h->p->mm;

	arm_tracking(h->p, &h->r->tr, h->r->tracked);
	/* written untracked since the freeze (copied while frozen): in full next round */
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (mm->vmas[i]->tracked && !h->r->tracked[i] &&
		    !snapshot_protected(h->r->snap, mm->vmas[i]->start, mm->vmas[i]->end))
			mm->vmas[i]->tracked = false;
}

/* a failed round: no tracker it created stays behind, every process runs on */
static void undo_round(struct dump_tree *t, struct proc_round *r)
{
	drop_snapshots(t, r);
	for (size_t i = 0; r && i < t->nr; i++) {
		struct dump_proc *p = &t->procs[i];
		if (!r[i].created)
			continue;
		if (p->seized) {
			drop_tracking(p->pid, &r[i].tr);
		} else if (seize_task(p->pid) == 0) {
			drop_tracking(p->pid, &r[i].tr);
			unseize_task(p->pid);
		}
	}
	tree_unseize(t);
}

/*
 * The tree, seized.  With --freeze-cgroup it is frozen in its cgroup while
 * criu walks it and attaches to every task, then thawed: each task takes
 * criu's interrupt before it runs any code of its own.
 */
static int seize_all(const struct opts *o, struct dump_tree *t, struct cg_freezer *cg)
{
	if (!o->freeze_cgroup)
		return tree_seize(o->pid, t);
	if (cg_freeze(o->freeze_cgroup, cg))
		return -1;
	int err = tree_attach_frozen(o->pid, t) || cg_check_tree(cg, t);
	if (cg_thaw(cg))
		return -1;	/* the tasks cannot stop: criu's exit detaches them */
	if (tree_wait_frozen(t))
		err = -1;
	return err ? -1 : 0;
}

/* the seizing of the tree and what is refused before anything is collected, as stages */
struct seize_ctx {
	const struct opts *o;
	struct dump_tree *t;
	struct cg_freezer *cg;
};

static int st_seize(void *c)
{
	struct seize_ctx *s = c;
	return seize_all(s->o, s->t, s->cg);
}

static void st_unseize(void *c)
{
	tree_unseize(((struct seize_ctx *)c)->t);
}

static int st_namespaces(void *c)
{
	return ns_check_tree(((struct seize_ctx *)c)->t);
}

static int st_pid_namespaces(void *c)
{
	return pidns_collect(((struct seize_ctx *)c)->t);
}

static int st_tree_check(void *c)
{
	return tree_check(((struct seize_ctx *)c)->t);
}

static const struct stage seize_stages[] = {
	{ "seize the tree", st_seize, st_unseize },
	{ "namespaces", st_namespaces, NULL },
	{ "pid namespaces", st_pid_namespaces, NULL },
	{ "what the tree shares", st_tree_check, NULL },
};

/* dump (pre = false) and pre-dump (pre = true); the figures into *out */
static int do_dump(const struct opts *o, bool pre, struct dump_stats *out)
{
	const char *what = pre ? "pre-dump" : "dump";
	struct dump_tree t = { 0 };
	struct proc_round *rounds = NULL;
	struct snapshot *prep = NULL;
	struct netlock *nl = NULL;
	char lock[80];
	struct cg_freezer cg = { 0 };
	struct dump_stats st = { 0 };
	int dirfd = -1, pfd = -1, err = -1;
	bool locked = false;
	double t0 = clock_now_ms(), tfreeze = 0, frozen_ms = 0;

	if (o->pid <= 0 || !o->images_dir) {
		pr_err("%s needs -t PID and -D DIR", what);
		return -1;
	}
	if (pre && !o->track_mem)
		pr_warn("pre-dump without --track-mem: every round copies all memory");
	if (o->live_snapshot && !pre && !o->leave_running) {
		pr_err("--live-snapshot goes with dump --leave-running (or pre-dump)");
		return -1;
	}
	if (require_cr_caps(what))
		return -1;
	if (o->lazy_pages && dump_lazy_check(o, pre))
		return -1;
	dirfd = open_images_dir(o->images_dir);
	if (dirfd < 0)
		return -1;
	if (o->prev_images_dir && load_parent(dirfd, o->prev_images_dir, o->pid, &pfd))
		goto fail;

	/* live snapshot: the root's memory is protected before the freeze */
	if (o->live_snapshot && snapshot_prepare(o->pid, &prep))
		goto fail;
	if (cr_notify(o, "pre-dump", 0, -1))
		goto fail;
	tfreeze = clock_now_ms();
	struct seize_ctx sc = { o, &t, &cg };
	if (stages_run(seize_stages, NR_STAGES(seize_stages), &sc))
		goto fail;
	t.dump_id = img_new_dump_id();
	for (size_t i = 0; i < t.nr; i++)
		t.procs[i].dump_id = t.dump_id;
	if (pfd >= 0 && img_dir_dump_id(pfd, &t.parent_dump_id))
		goto fail;
	/*
	 * before any socket is read: its peer's packets change it; the steps
	 * of the RPC and --action-script (CRIU's names) around it
	 */
	locked = !pre;
	if (locked && (cr_notify(o, "network-lock", 0, -1) || netlock_tree(&t, o, &nl) ||
		       cr_notify(o, "query-ext-files", 0, -1)))
		goto fail;
	rounds = calloc(t.nr, sizeof(*rounds));
	if (!rounds)
		goto fail;
	for (size_t i = 0; i < t.nr; i++)
		rounds[i].tr = (struct track){ .uffd = -1, .pmfd = -1 };
	for (size_t i = 0; i < t.nr; i++)
		if (!t.procs[i].zombie && collect_proc(&t.procs[i], &rounds[i], o, pre, pfd, prep))
			goto fail;
	/* fds once every process's tracking uffd is known: a shared table holds them all */
	for (size_t i = 0; i < t.nr && !pre; i++)
		if (!t.procs[i].zombie && (table_skips(&t, i) || dump_files(&t.procs[i], o)))
			goto fail;
	if (!pre && (tree_share_files(&t) || cow_find(&t) || ns_dump_images(&t, dirfd) ||
		     cgroups_dump(&t, dirfd)))
		goto fail;
	if (o->live_snapshot) {
		/* live snapshot: memory protected while frozen, copied while they run */
		if (arm_snapshots(&t, rounds, o, pre, dirfd, &prep))
			goto fail;
		netlock_free(nl);
		nl = NULL;
		tree_unseize(&t);
		frozen_ms = clock_now_ms() - tfreeze;
	} else if (pre) {
		/* the rest runs alongside the programs: what they write is tracked */
		tree_unseize(&t);
		frozen_ms = clock_now_ms() - tfreeze;
		for (size_t i = 0; o->track_mem && i < t.nr; i++)
			if (!t.procs[i].zombie)
				arm_tracking(&t.procs[i], &rounds[i].tr, rounds[i].tracked);
	}
	for (size_t i = 0; i < t.nr; i++) {
		struct dump_proc *p = &t.procs[i];
		struct proc_round *r = &rounds[i];
		struct dump_stats ps = { 0 };

		if (p->zombie)
			continue;
		if (r->snap) {
			struct handover h = { p, r };
			if (snapshot_copy(r->snap, p, &r->plan, dirfd, &ps) ||
			    (pre && o->track_mem &&
			     snapshot_handover(r->snap, p, r->tr.uffd, arm_after_snapshot, &h)))
				goto fail;
		} else {
			double tplan = clock_now_ms();
			if (dump_pages_plan(p, r->tracked, &r->plan))
				goto fail;
			st.plan_ms += clock_now_ms() - tplan;
			pr_debug("pid %d: %zu runs planned, %lu pages to copy", p->pid,
				 r->plan.nr, (unsigned long)r->plan.total);
			r->plan.no_data = o->lazy_pages;	/* post-copy: the memory is served below */
			if (dump_pages_write(p, &r->plan, dirfd, pre, &ps))
				goto fail;
		}
		st.pages += ps.pages;
		st.bytes += ps.bytes;
		st.pages_ms += ps.pages_ms;
		if (pre ? write_one(dirfd, IMG_MM, p->pid, p->dump_id, &p->mm->base)
			: write_images(dirfd, p))
			goto fail;
	}
	if (write_pstree(dirfd, &t) || write_inventory_of(dirfd, &t, o, pre,
			       o->leave_running ? NULL : netlock_name(nl, lock, sizeof(lock))))
		goto fail;
	if (!pre && cr_notify(o, "post-dump", 0, -1))
		goto fail;

	drop_snapshots(&t, rounds);
	/* post-copy: frozen until the restore has every page, resumed if it fails */
	if (!pre && o->lazy_pages) {
		int lr = dump_lazy_serve(o, &t, dirfd);
		t.leave_stopped = lr > 0;
		if (lr)
			goto fail;
	}
	if (!pre && !o->live_snapshot) {
		/* nothing of criu stays in the processes */
		for (size_t i = 0; o->leave_running && i < t.nr; i++)
			if (!t.procs[i].zombie && drop_tracking(t.procs[i].pid, &rounds[i].tr))
				goto fail_after;
		/* frozen until released or killed; reaping large processes comes after */
		frozen_ms = clock_now_ms() - tfreeze;
		if (o->leave_running) {
			netlock_free(nl);
			nl = NULL;
			tree_unseize(&t);
		} else if (netlock_keep(nl) || net_repair_tree(&t, true)) {
			goto fail;
		} else if (tree_kill(&t))
			goto fail_after;
		if (o->leave_running && cr_notify(o, "network-unlock", 0, -1))
			goto fail_after;
	}
	st.freeze_ms = frozen_ms;
	pr_info("pid %d %s to %s", o->pid, pre ? "pre-dumped" : "dumped", o->images_dir);
	pr_info("stats: processes=%zu freeze_ms=%.3f dump_ms=%.3f pages_ms=%.3f pages=%lu bytes=%lu",
		t.nr, st.freeze_ms, clock_now_ms() - t0, st.pages_ms, (unsigned long)st.pages,
		(unsigned long)st.bytes);
	if (out)
		*out = st;
	err = 0;
	goto out;
fail:
	snapshot_free(prep);
	prep = NULL;
	net_repair_tree(&t, false);
	netlock_undo(nl);
	nl = NULL;
	undo_round(&t, rounds);
	if (locked)
		cr_notify(o, "network-unlock", 0, -1);	/* the tree runs on: unlocked whatever it says */
fail_after:
	unlinkat(dirfd, "inventory.img", 0);
	mark_incomplete(dirfd);
	pr_info("%s of pid %d failed; the processes were left %s; %s is incomplete", what, o->pid,
		t.leave_stopped ? "stopped" : "running", o->images_dir);
out:
	netlock_free(nl);
	cg_restore_state(&cg);
	snapshot_free(prep);
	free_rounds(rounds, t.nr);
	tree_free(&t);
	if (pfd >= 0)
		close(pfd);
	close(dirfd);
	return err;
}

int cr_dump(const struct opts *o)
{
	if (o->iterative)
		return cr_dump_iterative(o);
	return do_dump(o, false, NULL);
}

int cr_pre_dump(const struct opts *o)
{
	return do_dump(o, true, NULL);
}

int cr_dump_stats(const struct opts *o, bool pre, struct dump_stats *st)
{
	return do_dump(o, pre, st);
}
