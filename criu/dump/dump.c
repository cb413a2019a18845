/*
 * dump.c - `criu dump` and `criu pre-dump`: freeze the process tree,
 * collect each process's state, write the images, then kill the tree or
 * let it run on.  The driver is a list of named stages with their undo
 * (dump_stages below); how memory is copied is the run's memory mode
 * (memmode.c).  Any failure leaves every process running exactly as
 * before and marks the directory incomplete.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu/caps.h"
#include "criu/dump/cgfreeze.h"
#include "criu/dump/dump-run.h"
#include "common/clock.h"
#include "common/log.h"
#include "criu/opts.h"
#include "criu/run-stats.h"
#include "criu/ns/ns.h"
#include "criu/net/netlock.h"
#include "criu/snapshot/snapshot.h"
#include "criu/stages.h"
#include "criu/ns/empty-ns.h"
#include "criu/ns/mnt.h"


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

/* the stages of a dump, in order; each returns 0 when it does not apply */

static int st_args(void *c)
{
	struct dump_run *r = c;
	const struct opts *o = r->o;

	if (o->pid <= 0 || !o->images_dir) {
		pr_err("%s needs -t PID and -D DIR", r->what);
		return -1;
	}
	if (r->pre && !o->track_mem)
		pr_warn("pre-dump without --track-mem: every round copies all memory");
	if (o->live_snapshot && !r->pre && !o->leave_running) {
		pr_err("--live-snapshot goes with dump --leave-running (or pre-dump)");
		return -1;
	}
	if (require_cr_caps(r->what))
		return -1;
	if (o->lazy_pages && dump_lazy_check(o, r->pre))
		return -1;
	return 0;
}

static int st_dir(void *c)
{
	struct dump_run *r = c;

	r->dirfd = open_images_dir(r->o->images_dir);
	if (r->dirfd < 0)
		return -1;
	if (r->o->prev_images_dir &&
	    load_parent(r->dirfd, r->o->prev_images_dir, r->o->pid, &r->pfd)) {
		mark_incomplete(r->dirfd);
		return -1;
	}
	return 0;
}

/* a failed dump: no inventory, so nothing takes the directory for complete */
static void st_dir_undo(void *c)
{
	struct dump_run *r = c;

	unlinkat(r->dirfd, "inventory.img", 0);
	mark_incomplete(r->dirfd);
}

/* live snapshot: the root's memory is protected before the freeze */
static int st_prepare(void *c)
{
	struct dump_run *r = c;
	pid_t pid = r->o->pid;

	if (!r->o->live_snapshot)
		return 0;
	/* its main thread stops for as long as the uffd takes to make */
	if (seize_task(pid))
		return -1;
	int err = snapshot_open(pid, &r->prep);
	if (unseize_task(pid) || err || snapshot_prepare(r->prep)) {
		snapshot_free(r->prep);
		r->prep = NULL;
		return -1;
	}
	return 0;
}

static void st_prepare_undo(void *c)
{
	struct dump_run *r = c;

	snapshot_free(r->prep);
	r->prep = NULL;
}

static int st_notify_pre(void *c)
{
	struct dump_run *r = c;

	if (cr_notify(r->o, "pre-dump", 0, -1))
		return -1;
	r->tfreeze = clock_now_ms();
	return 0;
}

static int st_seize(void *c)
{
	struct dump_run *r = c;
	int err = seize_all(r->o, &r->t, &r->cg);

	r->seized_ms = clock_now_ms() - r->tfreeze;
	return err;
}

static void st_unseize(void *c)
{
	struct dump_run *r = c;

	if (!r->ended)
		tree_unseize(&r->t);
}

static int st_namespaces(void *c)
{
	return ns_check_tree(&((struct dump_run *)c)->t);
}

/* its own mount namespace (collected, or refused); with --empty-ns net its own network
 * namespace must hold lo alone (saved then as any other: criu/net/netns-dump.c) */
static int st_mnt_net(void *c)
{
	struct dump_run *r = c;
	struct dump_tree *t = &r->t;
	pid_t root = t->procs[0].pid;
	unsigned long net = ns_inode(root, root, "net");

	/* (a namespace the caller names as external, podman's, is not saved: not checked) */
	if ((r->o->mnt.empty_ns & CLONE_NEWNET) && net && net != ns_inode(0, 0, "net") &&
	    net != r->o->net.ext_ns_inode && empty_ns_check_net(root, net))
		return -1;
	/* a pre-dump saves memory: the mounts (and the external ones runc names
	 * only for the final dump) are the dump's to collect */
	if (r->pre ? mnt_dump_rootfd(root, &t->rootfd) : mnt_dump_collect(root, &r->o->mnt, &t->mnt, &t->rootfd))
		return -1;
	for (size_t i = 0; i < t->nr; i++)
		t->procs[i].rootfd = t->rootfd > 0 ? t->rootfd : 0;
	return 0;
}

static int st_pid_namespaces(void *c)
{
	return pidns_collect(&((struct dump_run *)c)->t);
}

static int st_tree_check(void *c)
{
	return tree_check(&((struct dump_run *)c)->t);
}

static int st_dump_id(void *c)
{
	struct dump_run *r = c;

	r->t.dump_id = img_new_dump_id();
	for (size_t i = 0; i < r->t.nr; i++)
		r->t.procs[i].dump_id = r->t.dump_id;
	if (r->pfd >= 0 && img_dir_dump_id(r->pfd, &r->t.parent_dump_id))
		return -1;
	return 0;
}

/*
 * Before any socket is read: its peer's packets change it; the steps of
 * the RPC and --action-script (CRIU's names) around it.  A pre-dump runs
 * on and reads no socket.
 */
static int st_netlock(void *c)
{
	struct dump_run *r = c;

	if (r->pre)
		return 0;
	r->locked = true;
	return cr_notify(r->o, "network-lock", 0, -1) || netlock_tree(&r->t, r->o, &r->nl) ||
	       cr_notify(r->o, "query-ext-files", 0, -1);
}

static void st_netlock_undo(void *c)
{
	struct dump_run *r = c;

	if (r->ended || !r->locked)
		return;
	net_repair_tree(&r->t, false);
	netlock_undo(r->nl);
	r->nl = NULL;
	/* the tree runs on: unlocked whatever the client says */
	cr_notify(r->o, "network-unlock", 0, -1);
}

static int st_collect(void *c)
{
	struct dump_run *r = c;

	r->rounds = calloc(r->t.nr, sizeof(*r->rounds));
	if (!r->rounds)
		return -1;
	for (size_t i = 0; i < r->t.nr; i++)
		r->rounds[i].tr = (struct track){ .uffd = -1, .pmfd = -1 };
	for (size_t i = 0; i < r->t.nr; i++)
		if (!r->t.procs[i].zombie && collect_proc(r, i))
			return -1;
	return 0;
}

static void st_collect_undo(void *c)
{
	struct dump_run *r = c;

	if (!r->ended)
		undo_rounds(r);
}

/* fds once every process's tracking uffd is known: a shared table holds them all */
static int st_files(void *c)
{
	struct dump_run *r = c;

	for (size_t i = 0; i < r->t.nr && !r->pre; i++)
		if (!r->t.procs[i].zombie && (table_skips(&r->t, i) || dump_files(&r->t.procs[i], r->o)))
			return -1;
	return 0;
}

static int st_shared(void *c)
{
	struct dump_run *r = c;

	if (r->pre)
		return 0;
	/* cow_find judges mappings by their flags: one process has no use for them yet */
	return tree_share_files(&r->t) || flags_start(r) || (r->t.nr > 1 && flags_join(r)) ||
	       cow_find(&r->t) || ns_dump_images(&r->t, r->o, r->dirfd) ||
	       cgroups_dump(&r->t, r->dirfd);
}

static int st_mem_frozen(void *c)
{
	struct dump_run *r = c;

	return r->mode->frozen ? r->mode->frozen(r) : 0;
}

static int st_mem_let_go(void *c)
{
	struct dump_run *r = c;

	return r->mode->let_go ? r->mode->let_go(r) : 0;
}

/* each process's memory (as its mode copies it) and its images */
static int st_copy(void *c)
{
	struct dump_run *r = c;

	for (size_t i = 0; i < r->t.nr; i++) {
		struct dump_proc *p = &r->t.procs[i];
		struct dump_stats ps = { 0 };

		if (p->zombie)
			continue;
		if (r->mode->copy(r, i, &ps) || vmflags_join(&r->rounds[i].flags, p))
			return -1;
		r->st.pages += ps.pages;
		r->st.bytes += ps.bytes;
		r->st.pages_ms += ps.pages_ms;
		if (r->pre ? write_one(r->dirfd, IMG_MM, p->pid, p->dump_id, &p->mm->base)
			   : write_images(r->dirfd, p))
			return -1;
	}
	return 0;
}

static int st_inventory(void *c)
{
	struct dump_run *r = c;
	char lock[80];
	const char *name = r->o->leave_running ? NULL : netlock_name(r->nl, lock, sizeof(lock));

	return write_pstree(r->dirfd, &r->t) ||
	       write_inventory_of(r->dirfd, &r->t, r->o, r->pre, name);
}

static int st_notify_post(void *c)
{
	struct dump_run *r = c;

	return r->pre ? 0 : cr_notify(r->o, "post-dump", 0, -1);
}

static int st_end(void *c)
{
	struct dump_run *r = c;

	return r->mode->end ? r->mode->end(r) : 0;
}

static const struct stage dump_stages[] = {
	{ "arguments", st_args, NULL },
	{ "images directory", st_dir, st_dir_undo },
	{ "live snapshot preparation", st_prepare, st_prepare_undo },
	{ "pre-dump notification", st_notify_pre, NULL },
	{ "seize the tree", st_seize, st_unseize },
	{ "namespaces", st_namespaces, NULL },
	{ "mount and network namespaces", st_mnt_net, NULL },
	{ "pid namespaces", st_pid_namespaces, NULL },
	{ "what the tree shares", st_tree_check, NULL },
	{ "dump id", st_dump_id, NULL },
	{ "network lock", st_netlock, st_netlock_undo },
	{ "state of each process", st_collect, st_collect_undo },
	{ "files", st_files, NULL },
	{ "shared files, namespaces, cgroups", st_shared, NULL },
	{ "memory, while frozen", st_mem_frozen, NULL },
	{ "memory, the tree let go", st_mem_let_go, NULL },
	{ "memory and process images", st_copy, NULL },
	{ "tree and inventory", st_inventory, NULL },
	{ "post-dump notification", st_notify_post, NULL },
	{ "the end of the tree", st_end, NULL },
};

/* dump (pre = false) and pre-dump (pre = true); the figures into *out */
static int do_dump(const struct opts *o, bool pre, struct dump_stats *out)
{
	struct dump_run r = {
		.o = o, .pre = pre, .what = pre ? "pre-dump" : "dump",
		.mode = mem_mode_of(o, pre), .dirfd = -1, .pfd = -1,
	};
	int err;

	r.t0 = r.tfreeze = clock_now_ms();
	pr_debug("%s of pid %d, memory mode %s", r.what, o->pid, r.mode->name);
	err = stages_run(dump_stages, NR_STAGES(dump_stages), &r);
	if (err && r.dirfd >= 0) {
		pr_info("%s of pid %d failed; the processes were left %s; %s is incomplete", r.what,
			o->pid, r.t.leave_stopped ? "stopped" : "running", o->images_dir);
	} else if (!err) {
		r.st.freeze_ms = r.frozen_ms;
		pr_info("pid %d %s to %s", o->pid, pre ? "pre-dumped" : "dumped", o->images_dir);
		pr_info("stats: processes=%zu freeze_ms=%.3f dump_ms=%.3f plan_ms=%.3f pages_ms=%.3f pages=%lu bytes=%lu",
			r.t.nr, r.st.freeze_ms, clock_now_ms() - r.t0, r.st.plan_ms, r.st.pages_ms,
			(unsigned long)r.st.pages, (unsigned long)r.st.bytes);
		run_stats_dump(o, &(struct run_dump_figures){
			.freezing_ms = r.seized_ms, .frozen_ms = r.st.freeze_ms, .plan_ms = r.st.plan_ms,
			.pages_ms = r.st.pages_ms, .pages_written = r.st.pages });
		if (out)
			*out = r.st;
	}
	netlock_free(r.nl);
	cg_restore_state(&r.cg);
	snapshot_free(r.prep);
	free_rounds(r.rounds, r.t.nr);
	tree_free(&r.t);
	if (r.pfd >= 0)
		close(r.pfd);
	if (r.dirfd >= 0)
		close(r.dirfd);
	return err;
}

int cr_dump(const struct opts *o)
{
	if (o->iterative)
		return cr_dump_iterative(o);
	return do_dump(o, false, NULL);
}

/*
 * A pre-dump tracks the memory it copied (--track-mem implied, as with
 * upstream CRIU), so that the next round or the dump copies only what was
 * written since: runc sends track_mem with the final dump only.
 */
int cr_pre_dump(const struct opts *o)
{
	struct opts po = *o;

	if (!po.track_mem)
		pr_info("pre-dump: --track-mem implied");
	po.track_mem = true;
	return do_dump(&po, true, NULL);
}

int cr_dump_stats(const struct opts *o, bool pre, struct dump_stats *st)
{
	return do_dump(o, pre, st);
}
