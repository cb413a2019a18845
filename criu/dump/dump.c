/*
 * dump.c - `criu dump`: freeze one process, collect its state, write the
 * images, then kill it or let it run on.  Any failure leaves the process
 * running exactly as before and marks the directory incomplete.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "dump.h"
#include "log.h"
#include "version.h"

#define INCOMPLETE_MARK "dump-incomplete"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

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
}

/* the tree is one process for now: refuse threads and children plainly */
static int check_single(pid_t pid, const struct proc_stat *st)
{
	char buf[4096];
	ssize_t n;

	if (st->nr_threads != 1) {
		pr_err("pid %d has %d threads: only single-threaded processes are supported", pid,
		       st->nr_threads);
		return -1;
	}
	snprintf(buf, sizeof(buf), "task/%d/children", pid);
	n = proc_read_file(pid, buf, buf, sizeof(buf) - 1);
	if (n < 0)
		return -1;
	if (n > 0) {
		buf[n] = 0;
		pr_err("pid %d has child processes (%s): process trees are not supported", pid, buf);
		return -1;
	}
	return 0;
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

static int write_images(int dirfd, struct dump_proc *p)
{
	PstreeEntry pe = PSTREE_ENTRY__INIT;
	uint32_t tid = p->pid;
	struct img_writer *w;

	pe.pid = p->pid;
	pe.ppid = p->stat.ppid;
	pe.pgid = p->stat.pgid;
	pe.sid = p->stat.sid;
	pe.n_threads = 1;
	pe.threads = &tid;
	if (write_one(dirfd, IMG_PSTREE, 0, &pe.base) ||
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

static int write_inventory(int dirfd, pid_t root, const struct dump_proc *p)
{
	Inventory inv = INVENTORY__INIT;
	struct utsname u;
	const uint8_t *xs = p->core->thread->xsave.data;

	uname(&u);
	inv.format_version = IMG_FORMAT_VERSION;
	inv.page_size = sysconf(_SC_PAGESIZE);
	inv.kernel_release = u.release;
	inv.root_pid = root;
	inv.tool_version = (char *)TOOL_VERSION;
	inv.dump_time = time(NULL);
	inv.xsave_size = p->core->thread->xsave.len;
	/* ptrace reports the task's XCR0 in bytes 464..471 of the xsave area */
	inv.xfeatures = p->core->thread->xsave.len >= 472 ? *(const uint64_t *)(xs + 464) : 0;

	/* written last: a directory holding it is a complete dump */
	return write_one(dirfd, IMG_INVENTORY, 0, &inv.base);
}

static int open_images_dir(const char *dir)
{
	if (mkdir(dir, 0700) && errno != EEXIST) {
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

int cr_dump(const struct opts *o)
{
	struct dump_proc p = { .pid = o->pid };
	struct dump_stats st = { 0 };
	uint64_t brk = 0;
	int dirfd = -1, err = -1;
	bool seized = false;
	double t0 = now_ms(), tfreeze = 0;

	if (o->pid <= 0 || !o->images_dir) {
		pr_err("dump needs -t PID and -D DIR");
		return -1;
	}
	if (require_cr_caps("dump"))
		return -1;
	dirfd = open_images_dir(o->images_dir);
	if (dirfd < 0)
		return -1;

	tfreeze = now_ms();
	if (seize_task(p.pid))
		goto fail;
	seized = true;
	if (proc_read_stat(p.pid, &p.stat) || check_single(p.pid, &p.stat))
		goto fail;
	if (proc_read_maps(p.pid, true, &p.maps))
		goto fail;
	if (dump_core(&p, &brk) || dump_mm(&p, brk) || dump_files(&p, o))
		goto fail;
	if (dump_pages(&p, dirfd, &st))
		goto fail;
	if (write_images(dirfd, &p) || write_inventory(dirfd, p.pid, &p))
		goto fail;

	if (o->leave_running) {
		if (unseize_task(p.pid))
			goto fail_after;
	} else if (kill_task(p.pid)) {
		goto fail_after;
	}
	st.freeze_ms = now_ms() - tfreeze;
	pr_info("pid %d dumped to %s", p.pid, o->images_dir);
	pr_info("stats: freeze_ms=%.3f dump_ms=%.3f pages_ms=%.3f pages=%lu bytes=%lu",
		st.freeze_ms, now_ms() - t0, st.pages_ms, (unsigned long)st.pages,
		(unsigned long)st.bytes);
	err = 0;
	goto out;
fail:
	if (seized)
		unseize_task(p.pid);
fail_after:
	unlinkat(dirfd, "inventory.img", 0);
	mark_incomplete(dirfd);
	pr_info("dump of pid %d failed; the process was left running; %s is incomplete",
	       p.pid, o->images_dir);
out:
	dump_proc_free(&p);
	close(dirfd);
	return err;
}
