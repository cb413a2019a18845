/*
 * lazy-watch.c - after a lazy restore: criu restore (or, with -d, its
 * watcher) holds each restored process's userfaultfd, and those of the
 * children it forks while its pages arrive, until the lazy-pages daemon
 * says they are finished with (socket-proto.h).
 *
 * Nothing lost: closing the last reference to a uffd turns every missing
 * page into a zero page.  If the daemon dies or reports a failure first,
 * the process is killed while criu still holds its uffd, so no thread of
 * it is ever woken to read zeros; its fork children are killed too (those
 * criu knows the pid of, and the process's descendants with lazy memory),
 * and any other (an orphan that never faulted through the daemon) is
 * woken and killed at its next fault on a missing page, which criu then
 * reads from the child's uffd itself.  Until it is gone, criu keeps the
 * child's uffd.  Each uffd is also kept inside the process (its parent's
 * for a child) until its pages are in, so that criu and the daemon killed
 * together leave it blocked at its next missing page (lazy-keep.c).
 */
#define LOG_PREFIX "restore: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "common/compat.h"
#include "lazy-pages/lazy-pages.h"
#include "common/log.h"
#include "criu/restore/restore.h"
#include "lazy-pages/sock.h"

#define USER_LOW	0x10000ULL		/* >= vm.mmap_min_addr */
#define USER_HIGH	0x7ffffffff000ULL	/* TASK_SIZE with 4-level page tables */

struct held_child {
	unsigned id;
	int uffd;
	pid_t pid;		/* a thread of it; 0 while unknown */
	unsigned slot;		/* in the process's own io_uring (lazy-keep.c); 0: not there */
};

struct watch {
	pid_t pid;
	pid_t ns_root;		/* in a new pid namespace: its init, killed for any lost child */
	int conn, pidfd;
	int ring;		/* the process's own io_uring, slot 0 its uffd (-1: none) */
	bool over;		/* the process is finished with: every page in, or it ended */
	struct held_child *kids;
	size_t nr_kids, cap_kids;
};

static bool exited(int pidfd, int timeout_ms)
{
	struct pollfd pf = { pidfd, POLLIN, 0 };
	return poll(&pf, 1, timeout_ms) == 1;
}

static struct held_child *find_kid(struct watch *w, unsigned id)
{
	for (size_t i = 0; i < w->nr_kids; i++)
		if (w->kids[i].id == id)
			return &w->kids[i];
	return NULL;
}

/*
 * The child's uffd also kept in its parent's io_uring, in a free slot (0
 * if none, or no ring: the child is then safe while criu or the daemon
 * lives, as before)
 */
static unsigned keep_kid(struct watch *w, int uffd)
{
	for (unsigned slot = 1; w->ring >= 0 && slot < LAZY_KEEP_SLOTS; slot++) {
		bool used = false;
		for (size_t i = 0; i < w->nr_kids && !used; i++)
			used = w->kids[i].slot == slot;
		if (!used)
			return rst_lazy_keep_put(w->ring, slot, uffd) ? 0 : slot;
	}
	return 0;
}

static int add_kid(struct watch *w, unsigned id, int uffd)
{
	if (w->nr_kids == w->cap_kids) {
		size_t cap = w->cap_kids ? 2 * w->cap_kids : 8;
		struct held_child *k = realloc(w->kids, cap * sizeof(*k));
		if (!k)
			return -1;
		w->kids = k;
		w->cap_kids = cap;
	}
	fcntl(uffd, F_SETFL, O_NONBLOCK);
	w->kids[w->nr_kids++] = (struct held_child){ id, uffd, 0, keep_kid(w, uffd) };
	return 0;
}

static void drop_kid(struct watch *w, struct held_child *k)
{
	if (k->slot)
		rst_lazy_keep_put(w->ring, k->slot, -1);
	close(k->uffd);
	*k = w->kids[--w->nr_kids];
}

/*
 * A message about a fork child; -1 if criu cannot hold what it must (the
 * child is then in danger: handled as a loss).
 */
static int child_msg(struct watch *w, const struct lazy_status *st, int fd)
{
	struct held_child *k = find_kid(w, st->child);

	if (st->status == LAZY_CHILD_NEW) {
		if (fd < 0 || k || add_kid(w, st->child, fd)) {
			pr_err("pid %d: cannot hold the userfaultfd of a child it forked", w->pid);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		pr_debug("pid %d: holding the userfaultfd of its fork child %u", w->pid, st->child);
		return 0;
	}
	if (fd >= 0)
		close(fd);
	if (!k)
		return 0;
	if (st->status == LAZY_CHILD_PID) {
		k->pid = st->child_pid;
		return 0;
	}
	if (st->status != 0 && st->status != -ESRCH)
		pr_err("pid %d: the lazy-pages daemon lost the pages of its fork child %d (%s): "
		       "it poisoned them and killed the child", w->pid, k->pid, strerror(-st->status));
	drop_kid(w, k);
	return 0;
}

/*
 * Kills a fork child, named by a tid a fault or the daemon gave: in a new
 * pid namespace that tid is the child's there, not criu's to use, and the
 * whole namespace goes (its init).
 */
static void kill_kid(const struct watch *w, pid_t tid)
{
	kill(w->ns_root ? w->ns_root : tid, SIGKILL);
}

/* the mm of the child behind this uffd is gone (any ioctl that needs it says ESRCH) */
static bool kid_gone(const struct held_child *k)
{
	struct uffdio_writeprotect wp = { .range = { USER_LOW, 4096 }, .mode = 0 };
	return ioctl(k->uffd, UFFDIO_WRITEPROTECT, &wp) < 0 && errno == ESRCH;
}

/* reads what the child's uffd holds: a fault names a thread to kill; a fork, a child to hold */
static void kid_read(struct watch *w, struct held_child *k)
{
	struct uffd_msg m;

	while (read(k->uffd, &m, sizeof(m)) == sizeof(m)) {
		if (m.event == UFFD_EVENT_PAGEFAULT && m.arg.pagefault.feat.ptid) {
			k->pid = m.arg.pagefault.feat.ptid;
			kill_kid(w, k->pid);
		} else if (m.event == UFFD_EVENT_FORK) {
			/* k may move with the array: the new one is looked at next round */
			if (add_kid(w, 0, (int)m.arg.fork.ufd))
				close((int)m.arg.fork.ufd);
			return;
		}
	}
}

/* pid has memory registered with a userfaultfd (VmFlags "um" in smaps) */
static bool has_uffd_ranges(pid_t pid)
{
	char path[64], line[512];
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "VmFlags:", 8) && strstr(line, " um");
	fclose(f);
	return found;
}

/*
 * Kills every descendant of pid (children of any of its threads, and
 * theirs) whose memory is registered with a userfaultfd: the fork children
 * of a restored process whose pages may be missing.  Orphans that went to
 * another parent are not found here.
 */
static void kill_uffd_descendants(pid_t pid, int depth)
{
	char path[64];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (depth > 64 || !(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		char cpath[320];
		int c;
		if (e->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children", (int)pid, e->d_name);
		FILE *f = fopen(cpath, "re");
		if (!f)
			continue;
		while (fscanf(f, "%d", &c) == 1) {
			kill_uffd_descendants(c, depth + 1);
			if (has_uffd_ranges(c)) {
				pr_debug("pid %d: killing its descendant %d (lazy memory)", (int)pid, c);
				kill(c, SIGKILL);
			}
		}
		fclose(f);
	}
	closedir(d);
}

/*
 * The daemon is gone: no child may run on.  Those criu knows a thread of
 * are killed, and so are the descendants of the process with lazy memory
 * (before the process itself is killed, which would orphan them); any
 * other is woken from a fault the daemon had read and never served, and
 * killed at its next fault, read here.  Returns when every child is gone.
 */
static void kill_kids(struct watch *w)
{
	if (w->nr_kids)
		kill_uffd_descendants(w->pid, 0);
	for (size_t i = 0; i < w->nr_kids; i++) {
		struct uffdio_range all = { USER_LOW, USER_HIGH - USER_LOW };
		if (w->kids[i].pid > 0)
			kill_kid(w, w->kids[i].pid);
		ioctl(w->kids[i].uffd, UFFDIO_WAKE, &all);
	}
}

static void wait_kids(struct watch *w)
{
	for (int round = 0; w->nr_kids; round++) {
		struct pollfd *pf = calloc(w->nr_kids, sizeof(*pf));
		size_t n = w->nr_kids;

		for (size_t i = 0; pf && i < n; i++)
			pf[i] = (struct pollfd){ w->kids[i].uffd, POLLIN, 0 };
		if (pf)
			poll(pf, n, 200);
		else
			usleep(200000);
		for (size_t i = n; i-- > 0;) {
			if (i < w->nr_kids && (!pf || pf[i].revents))
				kid_read(w, &w->kids[i]);
			if (i < w->nr_kids && kid_gone(&w->kids[i]))
				drop_kid(w, &w->kids[i]);
		}
		free(pf);
		if (w->nr_kids && round == 10)
			pr_err("pid %d: %zu of its fork children still live (orphans?): each is killed at "
			       "its first touch of memory that will not come", w->pid, w->nr_kids);
	}
}

int rst_lazy_watch(const struct rst_lazy_proc *l)
{
	pid_t pid = l->pid;
	int conn = l->conn, uffd = l->uffd;
	struct watch w = { .pid = pid, .ns_root = l->ns_root, .conn = conn, .ring = l->ring };
	struct lazy_status st;
	int ret = 0, fd = -1;

	w.pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (w.pidfd < 0) {
		pr_perror("pid %d: cannot watch it", pid);
		kill(pid, SIGKILL);
		ret = -1;
		goto out;
	}
	while (!w.over || w.nr_kids) {
		struct pollfd pf[2] = { { conn, POLLIN, 0 }, { w.pidfd, w.over ? 0 : POLLIN, 0 } };
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("pid %d: poll failed; killing it", pid);
			goto lost;
		}
		if (pf[1].revents) {
			/*
			 * It ended: nothing more to guard but its children.  The
			 * connection stays until the daemon has seen it go (its
			 * status), so that the daemon can tell an exit from a
			 * failed restore.
			 */
			w.over = true;
			if (!w.nr_kids) {
				struct pollfd pc = { conn, POLLIN, 0 };
				if (poll(&pc, 1, 2000) == 1 && lazy_recv_fd(conn, &st, sizeof(st), &fd) <= 0)
					pr_debug("pid %d: the daemon closed without a status", pid);
				if (fd >= 0)
					close(fd);
				goto out;
			}
		}
		if (!pf[0].revents)
			continue;
		ssize_t n = lazy_recv_fd(conn, &st, sizeof(st), &fd);
		if (n == sizeof(st) && st.magic == LAZY_PROTO_MAGIC) {
			if (st.child) {
				if (child_msg(&w, &st, fd))
					goto lost;
				continue;
			}
			if (fd >= 0)
				close(fd);
			if (st.status == 0) {
				pr_info("pid %d: every page is in place", pid);
				/* its uffd may go with criu's and the daemon's now */
				rst_lazy_keep_put(w.ring, 0, -1);
				w.over = true;
				continue;
			}
			if (st.status == -ESRCH) {
				w.over = true;
				continue;
			}
			pr_err("pid %d: the lazy-pages daemon lost its page source (%s): killing the process",
			       pid, strerror(-st.status));
			goto lost;
		}
		if (fd >= 0)
			close(fd);
		if (!w.nr_kids && (w.over || exited(w.pidfd, 0)))
			goto out;
		pr_err("pid %d: the lazy-pages daemon went away before every page was in place: "
		       "killing the process%s (its missing memory would read as zeros)", pid,
		       w.nr_kids ? " and the children it forked" : "");
		goto lost;
	}
	goto out;
lost:
	/* still holding the uffds: no thread of them ever sees a zero page */
	kill_kids(&w);
	if (!w.over) {
		kill(pid, SIGKILL);
		exited(w.pidfd, 5000);
	}
	wait_kids(&w);
	ret = -1;
out:
	while (w.nr_kids)
		drop_kid(&w, &w.kids[0]);
	free(w.kids);
	if (w.pidfd >= 0)
		close(w.pidfd);
	if (w.ring >= 0) {
		rst_lazy_keep_put(w.ring, 0, -1);
		close(w.ring);
	}
	close(uffd);
	close(conn);
	return ret;
}
