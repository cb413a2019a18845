/*
 * dump.c - `criu dump`: freeze one process, collect its state, write the
 * images, then kill it or let it run on.  Any failure leaves the process
 * running exactly as before and marks the directory incomplete.
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

#include "caps.h"
#include "dump.h"
#include "infect.h"
#include "clock.h"
#include "log.h"
#include "track.h"
#include "version.h"

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
	for (int i = 1; p->thread_cores && i < p->nr_threads; i++)
		if (p->thread_cores[i - 1])
			core__free_unpacked(p->thread_cores[i - 1], NULL);
	free(p->thread_cores);
	free(p->tids);
}

/* the tree is one process for now: refuse children plainly */
static int check_single(const struct dump_proc *p)
{
	char buf[4096];

	for (int i = 0; i < p->nr_threads; i++) {
		snprintf(buf, sizeof(buf), "task/%d/children", p->tids[i]);
		ssize_t n = proc_read_file(p->pid, buf, buf, sizeof(buf) - 1);
		if (n < 0)
			return -1;
		if (n > 0) {
			buf[n] = 0;
			pr_err("pid %d has child processes (%s): process trees are not supported",
			       p->pid, buf);
			return -1;
		}
	}
	return 0;
}

static void unseize_all(struct dump_proc *p)
{
	unseize_threads(p);
	unseize_task(p->pid);
}

static int write_one(int dirfd, enum img_kind kind, unsigned id, const ProtobufCMessage *m)
{
	struct img_writer *w;
	if (img_writer_open(dirfd, kind, id, &w))
		return -1;
	if (img_write(w, m)) {
		img_writer_abort(w);
		return -1;
	}
	return img_writer_close(w);
}

static int write_pstree(int dirfd, const struct dump_proc *p)
{
	PstreeEntry pe = PSTREE_ENTRY__INIT;
	uint32_t tids[p->nr_threads];

	for (int i = 0; i < p->nr_threads; i++)
		tids[i] = p->tids[i];
	pe.pid = p->pid;
	pe.ppid = p->stat.ppid;
	pe.pgid = p->stat.pgid;
	pe.sid = p->stat.sid;
	pe.n_threads = p->nr_threads;
	pe.threads = tids;
	return write_one(dirfd, IMG_PSTREE, 0, &pe.base);
}

static int write_images(int dirfd, struct dump_proc *p)
{
	struct img_writer *w;

	for (int i = 1; i < p->nr_threads; i++)
		if (write_one(dirfd, IMG_CORE, p->tids[i], &p->thread_cores[i - 1]->base))
			return -1;
	if (write_pstree(dirfd, p) ||
	    write_one(dirfd, IMG_CORE, p->pid, &p->core->base) ||
	    write_one(dirfd, IMG_MM, p->pid, &p->mm->base) ||
	    write_one(dirfd, IMG_FS, p->pid, &p->fs->base))
		return -1;
	if (img_writer_open(dirfd, IMG_FILES, p->pid, &w))
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

/* the previous images of an incremental dump */
struct parent_info {
	Inventory *inv;
	Mm *mm;
};

static void parent_free(struct parent_info *pi)
{
	if (pi->inv)
		inventory__free_unpacked(pi->inv, NULL);
	if (pi->mm)
		mm__free_unpacked(pi->mm, NULL);
}

static int load_parent(int dirfd, const char *prev, pid_t pid, struct parent_info *pi)
{
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
	if (img_read_one(pfd, IMG_INVENTORY, 0, (ProtobufCMessage **)&pi->inv) ||
	    img_read_one(pfd, IMG_MM, pid, (ProtobufCMessage **)&pi->mm))
		goto out;
	if (pi->inv->root_pid != (uint32_t)pid) {
		pr_err("--prev-images-dir %s: images of pid %u, not of pid %d", prev,
		       pi->inv->root_pid, pid);
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
	close(pfd);
	return err;
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
 * the previous round (or, with create, makes one).  tracked[i] says VMA i
 * has been tracked since the parent image, so that its unwritten pages are
 * the parent's: the parent recorded it as tracked and the kernel still
 * write-protects it for us (a mapping that was unmapped, moved or replaced
 * since is not registered any more).
 */
static int find_tracking(struct dump_proc *p, const struct opts *o, bool create,
			 const struct parent_info *par, struct track *tr, bool *tracked,
			 bool *created)
{
	bool attached = false;

	if (par->inv && par->inv->has_track_fd && par->inv->track_fd >= 0) {
		int r = track_attach(p->pid, par->inv->track_fd, par->inv->track_ino, tr);
		if (r < 0)
			return -1;
		attached = r == 0;
		if (attached)
			p->skip_fd = tr->target_fd;
	}
	if (!o->track_mem)
		return 0;
	for (size_t i = 0; attached && i < p->mm->n_vmas; i++) {
		const Vma *v = p->mm->vmas[i];
		tracked[i] = vma_trackable(v) && parent_tracked(par->mm, v->start, v->end) &&
			     track_is_armed(tr, v->start);
	}
	if (!create || attached)
		return 0;
	struct infect c;
	if (infect_begin(&c, p->pid))
		return -1;
	int r = track_create(&c, p->pid, tr);
	if (infect_end(&c) || r)
		return -1;
	*created = true;
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

static int write_pre_images(int dirfd, struct dump_proc *p)
{
	if (write_pstree(dirfd, p))
		return -1;
	return write_one(dirfd, IMG_MM, p->pid, &p->mm->base);
}

static int write_inventory_of(int dirfd, struct dump_proc *p, const struct opts *o, bool pre,
			      const struct track *tr)
{
	Inventory inv = INVENTORY__INIT;
	struct utsname u;

	uname(&u);
	inv.format_version = IMG_FORMAT_VERSION;
	inv.page_size = sysconf(_SC_PAGESIZE);
	inv.kernel_release = u.release;
	inv.root_pid = p->pid;
	inv.tool_version = (char *)TOOL_VERSION;
	inv.dump_time = time(NULL);
	if (p->core) {
		const uint8_t *xs = p->core->thread->xsave.data;
		inv.xsave_size = p->core->thread->xsave.len;
		/* ptrace reports the task's XCR0 in bytes 464..471 of the xsave area */
		inv.xfeatures = inv.xsave_size >= 472 ? *(const uint64_t *)(xs + 464) : 0;
	}
	if (pre) {
		inv.has_pre_dump = inv.pre_dump = true;
		if (tr->uffd >= 0) {
			inv.has_track_fd = inv.has_track_ino = true;
			inv.track_fd = tr->target_fd;
			inv.track_ino = tr->ino;
		}
	}
	if (o->prev_images_dir)
		inv.parent = (char *)o->prev_images_dir;
	/* written last: a directory holding it is complete */
	return write_one(dirfd, IMG_INVENTORY, 0, &inv.base);
}

/* dump (pre = false) and pre-dump (pre = true) */
static int do_dump(const struct opts *o, bool pre)
{
	const char *what = pre ? "pre-dump" : "dump";
	struct dump_proc p = { .pid = o->pid, .skip_fd = -1 };
	struct parent_info par = { 0 };
	struct track tr = { .uffd = -1, .pmfd = -1 };
	struct page_plan plan = { 0 };
	struct dump_stats st = { 0 };
	bool *tracked = NULL, seized = false, created = false;
	uint64_t brk = 0;
	int dirfd = -1, err = -1;
	double t0 = clock_now_ms(), tfreeze = 0, frozen_ms = 0;

	if (o->pid <= 0 || !o->images_dir) {
		pr_err("%s needs -t PID and -D DIR", what);
		return -1;
	}
	if (pre && !o->track_mem)
		pr_warn("pre-dump without --track-mem: every round copies all memory");
	if (require_cr_caps(what))
		return -1;
	dirfd = open_images_dir(o->images_dir);
	if (dirfd < 0)
		return -1;
	if (o->prev_images_dir && load_parent(dirfd, o->prev_images_dir, p.pid, &par))
		goto fail;

	tfreeze = clock_now_ms();
	if (seize_task(p.pid))
		goto fail;
	seized = true;
	if (seize_threads(&p) || proc_read_stat(p.pid, &p.stat) || check_single(&p))
		goto fail;
	/* smaps (VmFlags) costs a page table walk: a pre-dump does without */
	if (proc_read_maps(p.pid, !pre, &p.maps))
		goto fail;
	pr_debug("pid %d: seized, %zu mappings read", p.pid, p.maps.nr);
	if (!pre && dump_core(&p, &brk))
		goto fail;
	if (dump_mm(&p, pre ? p.stat.start_brk : brk))
		goto fail;
	tracked = calloc(p.mm->n_vmas + 1, sizeof(bool));
	if (!tracked || find_tracking(&p, o, pre, &par, &tr, tracked, &created))
		goto fail;
	pr_debug("pid %d: state collected", p.pid);
	if (!pre && dump_files(&p, o))
		goto fail;
	if (pre) {
		/* the rest runs alongside the program: what it writes is tracked */
		unseize_threads(&p);
		if (unseize_task(p.pid))
			goto fail_after;
		seized = false;
		frozen_ms = clock_now_ms() - tfreeze;
		if (o->track_mem)
			arm_tracking(&p, &tr, tracked);
	}
	if (dump_pages_plan(&p, tracked, &plan))
		goto fail;
	pr_debug("pid %d: %zu runs planned, %lu pages to copy", p.pid, plan.nr,
		 (unsigned long)plan.total);
	if (dump_pages_write(&p, &plan, dirfd, pre, &st))
		goto fail;
	if (pre ? write_pre_images(dirfd, &p) : write_images(dirfd, &p))
		goto fail;
	if (write_inventory_of(dirfd, &p, o, pre, &tr))
		goto fail;

	if (!pre) {
		/* nothing of criu stays in the process */
		if (o->leave_running && drop_tracking(p.pid, &tr))
			goto fail_after;
		/* frozen until released or killed; reaping a large process comes after */
		frozen_ms = clock_now_ms() - tfreeze;
		if (o->leave_running) {
			unseize_threads(&p);
			if (unseize_task(p.pid))
				goto fail_after;
		} else if (kill_task(p.pid, &p.stat, p.tids, p.nr_threads)) {
			goto fail_after;
		}
	}
	st.freeze_ms = frozen_ms;
	pr_info("pid %d %s to %s", p.pid, pre ? "pre-dumped" : "dumped", o->images_dir);
	pr_info("stats: freeze_ms=%.3f dump_ms=%.3f pages_ms=%.3f pages=%lu bytes=%lu",
		st.freeze_ms, clock_now_ms() - t0, st.pages_ms, (unsigned long)st.pages,
		(unsigned long)st.bytes);
	err = 0;
	goto out;
fail:
	/* a tracker created by this failed round must not stay behind */
	if (created && !seized && seize_task(p.pid) == 0) {
		if (created)
			drop_tracking(p.pid, &tr);
		unseize_task(p.pid);
	} else if (seized) {
		if (created)
			drop_tracking(p.pid, &tr);
		unseize_all(&p);
	}
fail_after:
	unlinkat(dirfd, "inventory.img", 0);
	mark_incomplete(dirfd);
	pr_info("%s of pid %d failed; the process was left running; %s is incomplete", what,
		p.pid, o->images_dir);
out:
	track_release(&tr);
	page_plan_free(&plan);
	free(tracked);
	parent_free(&par);
	dump_proc_free(&p);
	close(dirfd);
	return err;
}

int cr_dump(const struct opts *o)
{
	return do_dump(o, false);
}

int cr_pre_dump(const struct opts *o)
{
	return do_dump(o, true);
}
