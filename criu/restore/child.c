/*
 * child.c - the first steps of each new process of the tree, still running
 * criu's code: the root becomes traced by criu (the others are from their
 * creation, CLONE_PTRACE); start its session or group; make the memory
 * its children share with it (premap.c); create its children (each goes
 * on here) and zombies (one whose session or group leader is gone is
 * forked by a stand-in of that pid, which leads it and exits: leader_main);
 * join its group; put the target's fds at their numbers (unless it shares
 * its parent's table), set cwd, root and umask, its /proc tunables
 * (proc-tunables.c), drop glibc's rseq registration, then jump to the
 * restorer.  A failure here logs one line and exits; criu sees the exit.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
#include <unistd.h>

#include "criu/ns/mnt.h"
#include "common/log.h"
#include "criu/ns/ns.h"
#include "criu/restore/restore.h"

extern const ptrdiff_t __rseq_offset;
extern const unsigned int __rseq_size;

static void __attribute__((noreturn)) child_fail(void)
{
	_exit(2);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * Closes every fd that is not a helper of process i, or of a process that
 * shares its fd table (CLONE_FILES: their helpers live in it too), or a
 * file it made before its children (r: its stashes).
 */
static void close_others(const struct rst_tree *t, size_t i, const struct fd_rst *r)
{
	const struct rst_proc *p = &t->procs[i];
	size_t n = r->nr_files;

	for (size_t k = 0; k < t->nr; k++)
		if (k == i || t->procs[k].fd_owner == p)
			n += t->procs[k].helpers.nr;
	int *keep = malloc((n + 1) * sizeof(int));
	if (!keep)
		child_fail();
	n = 0;
	for (uint32_t id = 1; id <= r->nr_files; id++)
		if (r->stashed[id])
			keep[n++] = r->where[id];
	for (size_t k = 0; k < t->nr; k++)
		for (int j = 0; (k == i || t->procs[k].fd_owner == p) && j < t->procs[k].helpers.nr; j++)
			keep[n++] = t->procs[k].helpers.all[j];
	qsort(keep, n, sizeof(int), cmp_int);
	unsigned from = 0;
	for (size_t j = 0; j < n; j++) {
		if ((unsigned)keep[j] > from)
			syscall(SYS_close_range, from, keep[j] - 1, 0);
		from = keep[j] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
	free(keep);
}

/*
 * A process sharing i's table (CLONE_FILES) may fork children with tables
 * of their own: they copy the shared table, criu's helper fds for them
 * included, so i must not close those before each exists (a child of a
 * sharer started without its helpers, log included, and died).
 */
static void await_table_forks(const struct rst_tree *t, size_t i)
{
	for (size_t k = i + 1; k < t->nr; k++) {
		const struct rst_proc *c = &t->procs[k];
		if (c->fd_owner || c->parent < 0 || t->procs[c->parent].fd_owner != &t->procs[i])
			continue;
		for (int n = 0; kill(c->pid, 0) && errno == ESRCH; n++) {
			if (n == 10000) {
				pr_err("pid %d: child %d of a process sharing its fd table never came",
				       t->procs[i].pid, c->pid);
				child_fail();
			}
			usleep(1000);
		}
	}
}

/* puts fd at number target (closing fd) */
static int place(int fd, int target)
{
	if (fd == target)
		return 0;
	if (dup2(fd, target) < 0) {
		pr_perror("files: cannot place fd %d", target);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * In fd order: an fd whose open file description is already open somewhere
 * (an earlier fd, or a stash such as the other end of a pipe) gets a dup of
 * it, else the file's kind opens a new one.  A new fd is the lowest free
 * number, never a later target (all lower targets are placed); anything a
 * kind keeps for later sits above criu's helper fds (fd_rst_stash).
 */
static int open_fds(const struct rst_proc *p, struct fd_rst *r)
{
	for (size_t i = 0; i < p->fds.nr; i++) {
		const FdEntry *e = (FdEntry *)p->fds.msgs[i];
		const FileEntry *fe = r->file[e->file_id];
		const struct fd_ops *ops = fd_ops_by_kind(fe->kind);
		int fd;

		r->target_fd = e->fd;
		if (r->where[e->file_id] >= 0 && !ops->per_fd) {
			int src = r->where[e->file_id];
			if (r->stashed[e->file_id]) {
				fd = src;
				r->stashed[e->file_id] = false;
			} else {
				fd = fcntl(src, F_DUPFD, 0);
			}
		} else {
			if (fe->has_shared_id && r->shared_fd && r->shared_fd[fe->shared_id] >= 0)
				/* made once by criu for every process holding it */
				fd = fcntl(r->shared_fd[fe->shared_id], F_DUPFD, 0);
			else
				fd = fd_rst_open(r, fe);	/* --inherit-fd, or ops->open */
		}
		if (fd < 0 || place(fd, e->fd))
			return -1;
		r->where[e->file_id] = e->fd;
		/* a kind may hand over a close-on-exec fd that needed no moving */
		if (fcntl(e->fd, F_SETFD, e->cloexec ? FD_CLOEXEC : 0)) {
			pr_perror("files: fd %u: cannot set close-on-exec", e->fd);
			return -1;
		}
	}
	/* what needs every fd in place (epoll watches), then locks and
	 * owners: a post may move fds for a moment, which drops POSIX locks */
	for (uint32_t id = 1; id <= r->nr_files; id++) {
		const struct fd_ops *ops = fd_ops_by_kind(r->file[id]->kind);
		if (ops->post && ops->post(r, r->file[id], r->where[id]))
			return -1;
	}
	for (uint32_t id = 1; id <= r->nr_files; id++)
		if (!r->stashed[id] && fd_restore_state(r->file[id], r->where[id]))
			return -1;
	/* what no fd took (the far end of a pipe the process closed) */
	for (uint32_t id = 1; id <= r->nr_files; id++)
		if (r->stashed[id])
			close(r->where[id]);
	return 0;
}

/* the copy among its helpers of the tree's memory object of inode ino */
static int object_fd(const struct fd_rst *r, uint64_t dev, uint64_t ino)
{
	const struct rst_proc *p = r->object_ctx;
	int k = rst_shmem_index(p->shm, dev, ino);
	return k < 0 ? -1 : p->helpers.shm_fd[k];
}

/* the cwd: its path, or the removed directory criu made again */
static int set_cwd(const struct rst_proc *p)
{
	const RegFile *g = p->fs->cwd_ghost;
	if (!g)
		return chdir(p->fs->cwd);
	int k = rst_shmem_index(p->shm, g->dev, g->ino);
	if (k < 0 || p->helpers.shm_fd[k] < 0) {
		errno = ENOENT;
		return -1;
	}
	return fchdir(p->helpers.shm_fd[k]);
}

/* glibc registered rseq for this thread; the area is about to be unmapped */
static int unregister_rseq(void)
{
	if (!__rseq_size)
		return 0;
	void *area = (char *)__builtin_thread_pointer() + __rseq_offset;
	/* glibc registers 32 bytes whatever __rseq_size says */
	unsigned len = __rseq_size < 32 ? 32 : __rseq_size;
	if (syscall(SYS_rseq, area, len, 1 /* RSEQ_FLAG_UNREGISTER */, 0x53053053) &&
	    errno != EINVAL) {
		pr_perror("cannot unregister criu's rseq area");
		return -1;
	}
	return 0;
}

/* fails the process being created: it logs why, criu sees it exit */
#define CHILD_CHECK(cond, ...)                 \
	do {                                   \
		if (!(cond)) {                 \
			pr_perror(__VA_ARGS__); \
			child_fail();          \
		}                              \
	} while (0)

/*
 * The processes sharing an owner's table wait until it has put every fd
 * in place before they go on to their restorers, which make fds of their
 * own (the userfaultfd of --lazy-pages): one made at a number the owner
 * was about to place a file at would be replaced.  The owner puts one
 * byte per sharer into its gate and waits until they are all taken (the
 * gate is closed with its other helpers later, by its restorer).
 */
static void table_gate_wait(const struct rst_proc *p)
{
	char b;
	ssize_t n;

	/* every fd it makes before the gate (cgroups, premapped memory, its children) is made */
	CHILD_CHECK(write(p->fd_owner->helpers.ready[1], "r", 1) == 1,
		    "pid %d: cannot tell %d it is ready for their fd table", p->pid, p->fd_owner->pid);
	while ((n = read(p->fd_owner->helpers.gate[0], &b, 1)) < 0 && errno == EINTR)
		;
	CHILD_CHECK(n == 1, "pid %d: waiting for the fd table it shares with %d", p->pid,
		    p->fd_owner->pid);
}

/*
 * The owner waits until each sharer has made every fd it makes before the
 * gate (a cgroup.procs opened to join its cgroups, ...): such an fd takes
 * the lowest free number of the shared table, which the owner's placing
 * would race (dup2: EBUSY) or replace.
 */
static void table_sharers_ready(const struct rst_proc *p)
{
	char b;

	for (int k = 0; k < p->nr_sharers; k++) {
		struct pollfd pf = { p->helpers.ready[0], POLLIN, 0 };
		int r;
		while ((r = poll(&pf, 1, 10000)) < 0 && errno == EINTR)
			;
		if (r != 1) {
			pr_err("pid %d: %d processes sharing its fd table never got ready", p->pid,
			       p->nr_sharers - k);
			child_fail();
		}
		CHILD_CHECK(read(p->helpers.ready[0], &b, 1) == 1, "pid %d: its fd table's sharers",
			    p->pid);
	}
}

static void table_gate_open(const struct rst_proc *p)
{
	const int *g = p->helpers.gate;
	int left = 1;

	if (!p->nr_sharers)
		return;
	for (int k = 0; k < p->nr_sharers; k++)
		CHILD_CHECK(write(g[1], "g", 1) == 1, "pid %d: cannot open its fd table's gate", p->pid);
	for (int n = 0; left; n++) {
		CHILD_CHECK(!ioctl(g[0], FIONREAD, &left), "pid %d: its fd table's gate", p->pid);
		if (left && n == 10000) {
			pr_err("pid %d: %d processes sharing its fd table never came for it", p->pid, left);
			child_fail();
		}
		if (left)
			usleep(1000);
	}
}


/*
 * Child c of parent with its pids at every level from its own pid
 * namespace up to the tree's; the init of a new one if it was (a level
 * below its parent's).  *pidfd: a pidfd of it, if asked for (-1 else).
 */
static pid_t clone_child(const struct rst_proc *c, const struct rst_proc *parent, bool traced,
			 int *pidfd)
{
	const PstreeEntry *pe = c->pe;
	pid_t tids[PIDNS_MAX_DEPTH + 1];
	struct clone_args ca = {
		/* CLONE_PTRACE: traced by criu (our tracer) from its first instruction */
		.flags = (traced ? CLONE_PTRACE : 0) |
			 (pe->has_files_shared && pe->files_shared ? CLONE_FILES : 0) |
			 (c->ns_depth > parent->ns_depth ? CLONE_NEWPID : 0) |
			 (pidfd ? CLONE_PIDFD : 0),
		.pidfd = (uint64_t)pidfd,
		.exit_signal = pe->has_exit_signal ? pe->exit_signal : SIGCHLD,
		.set_tid = (uint64_t)tids,
		.set_tid_size = rst_ns_set_tid(c, 0, tids),
	};
	if (pidfd)
		*pidfd = -1;
	return syscall(SYS_clone3, &ca, sizeof(ca));
}

/* p's own pid where it lives (its innermost pid namespace) */
static pid_t own_pid(const struct rst_proc *p)
{
	return rst_ns_pid(p, 0, p->ns_depth);
}

/* the session and, if it leads one, the group of process p */
static void lead_ids(const struct rst_proc *p)
{
	if (p->pe->sid == (uint32_t)p->pid)
		CHILD_CHECK(setsid() == own_pid(p), "pid %d: cannot start its session", p->pid);
	else if (p->pe->pgid == (uint32_t)p->pid)
		CHILD_CHECK(setpgid(0, 0) == 0, "pid %d: cannot start its process group", p->pid);
}

/*
 * Joins a group led by another process of the tree, which may not exist
 * yet (a later sibling's): tried again until it does.  The root's own
 * group, if the root did not lead it, is now whatever group the root is in.
 */
static void join_group(const struct rst_tree *t, const struct rst_proc *p)
{
	const PstreeEntry *root = t->procs[0].pe;
	pid_t want = p->pe->pgid;

	if (want == p->pid || p == &t->procs[0])
		return;
	if (want == (pid_t)root->pgid && root->pgid != root->pid) {
		/* the root's group, from outside the tree: unseen inside a new pid namespace */
		if (p->ns_depth > t->procs[0].ns_depth)
			return;
		want = getpgid(rst_ns_pid(&t->procs[0], 0, p->ns_depth));
	} else {
		want = rst_ns_translate(t, want, p->ns_depth);
	}
	for (int i = 0; getpgrp() != want; i++) {
		if (setpgid(0, want) == 0)
			break;
		CHILD_CHECK(errno == EPERM && i < 5000, "pid %d: cannot join process group %d",
			    p->pid, want);
		usleep(1000);
	}
}

/* a zombie with its ids: dies as it died; its parent never reaps it here */
static void __attribute__((noreturn)) zombie_die(const struct rst_proc *p)
{
	int st = p->pe->has_exit_code ? p->pe->exit_code : 0;

	if (p->pe->comm)
		prctl(PR_SET_NAME, p->pe->comm);
	if (WIFSIGNALED(st)) {
		sigset_t all;
		struct rlimit none = { 0, 0 };
		setrlimit(RLIMIT_CORE, &none);	/* no core file written again */
		signal(WTERMSIG(st), SIG_DFL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		kill(getpid(), WTERMSIG(st));
	}
	_exit(WEXITSTATUS(st));
}

/* a zombie: takes its ids and dies as it died */
static void __attribute__((noreturn)) zombie_main(const struct rst_tree *t, const struct rst_proc *p)
{
	lead_ids(p);
	join_group(t, p);
	zombie_die(p);
}

/* a zombie whose session or group leader is gone (dump: zombie_leader_gone): its id, else 0 */
static pid_t gone_leader(const struct rst_tree *t, const struct rst_proc *c)
{
	const PstreeEntry *pe = c->pe, *ppe = t->procs[c->parent].pe;

	if (!c->zombie)
		return 0;
	if (pe->sid != (uint32_t)c->pid && pe->sid != ppe->sid)
		return pe->sid;
	if (pe->pgid == (uint32_t)c->pid || pe->pgid == t->procs[0].pe->pgid)
		return 0;
	for (size_t k = 0; k < t->nr; k++)
		if (t->procs[k].pid == (pid_t)pe->pgid)
			return 0;
	return pe->pgid;
}

/*
 * The stand-in for a gone leader l: with its pid, it starts the session
 * (or the group, in its parent's session), forks for process i each of its
 * zombie children of that session or group (CLONE_PARENT: they are i's
 * children, born in it), and exits; i reaps it.
 */
static void __attribute__((noreturn)) leader_main(const struct rst_tree *t, size_t i, pid_t l)
{
	bool session = false;

	for (size_t k = i + 1; k < t->nr; k++)
		if (t->procs[k].parent == (int)i && gone_leader(t, &t->procs[k]) == l)
			session |= t->procs[k].pe->sid == (uint32_t)l;
	CHILD_CHECK(session ? setsid() == l : setpgid(0, 0) == 0,
		    "pid %d: cannot start the %s its zombies were in", l, session ? "session" : "group");
	for (size_t k = i + 1; k < t->nr; k++) {
		const struct rst_proc *c = &t->procs[k];
		if (c->parent != (int)i || gone_leader(t, c) != l)
			continue;
		pid_t tid = c->pid;
		struct clone_args ca = { .flags = CLONE_PARENT, .set_tid = (uint64_t)&tid, .set_tid_size = 1 };
		pid_t pid = syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid == 0)
			zombie_die(c);
		CHILD_CHECK(pid == c->pid, "cannot create zombie %d (got %d)", c->pid, pid);
	}
	_exit(0);
}

/* a stand-in leader for zombie c of process i, unless an earlier zombie had one */
static void make_leader(const struct rst_tree *t, size_t i, const struct rst_proc *c)
{
	pid_t l = gone_leader(t, c), tid = l;
	int st;

	for (size_t k = i + 1; k < (size_t)(c - t->procs); k++)
		if (t->procs[k].parent == (int)i && gone_leader(t, &t->procs[k]) == l)
			return;
	/* its zombies inherit its exit signal */
	struct clone_args ca = { .exit_signal = c->pe->has_exit_signal ? c->pe->exit_signal : SIGCHLD,
				 .set_tid = (uint64_t)&tid, .set_tid_size = 1 };
	pid_t pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		leader_main(t, i, l);
	CHILD_CHECK(pid == l, "cannot make a process %d to lead the session or group of zombie %d",
		    l, c->pid);
	while (waitpid(l, &st, __WALL) < 0)
		CHILD_CHECK(errno == EINTR, "pid %d: cannot reap the stand-in leader %d", c->pid, l);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		pr_err("stand-in leader %d of zombie %d failed", l, c->pid);
		child_fail();
	}
}

/* creates the children of process i; each goes on in rst_child or zombie_main */
static void create_children(struct rst_tree *t, size_t i, const struct opts *o)
{
	const struct rst_proc *p = &t->procs[i];

	for (size_t k = i + 1; k < t->nr; k++) {
		struct rst_proc *c = &t->procs[k];
		if (c->parent != (int)i)
			continue;
		if (gone_leader(t, c)) {
			make_leader(t, i, c);
			continue;
		}
		bool ns_for_children = p->pe->has_pidns_child && p->pe->pidns_child == (uint32_t)c->pid;
		int pidfd;
		pid_t pid = clone_child(c, p, !c->zombie, ns_for_children ? &pidfd : NULL);
		if (pid == 0) {
			if (c->zombie)
				zombie_main(t, c);
			rst_child(t, k, o);
		}
		if (pid != rst_ns_pid(c, 0, p->ns_depth)) {
			if (pid < 0 && errno == EEXIST)
				pr_err("pid %d is already in use by another process", c->pid);
			else
				pr_perror("cannot create process %d (got %d)", c->pid, pid);
			child_fail();
		}
		/* its pid namespace for children was this child's (unshare --pid --fork) */
		if (ns_for_children) {
			CHILD_CHECK(setns(pidfd, CLONE_NEWPID) == 0,
				    "pid %d: cannot take the pid namespace of %d for its children",
				    p->pid, c->pid);
			close(pidfd);
		}
	}
	/* a zombie child must be dead before this process goes on (and blocks signals) */
	for (size_t k = i + 1; k < t->nr; k++) {
		siginfo_t si;
		if (t->procs[k].parent != (int)i || !t->procs[k].zombie)
			continue;
		while (waitid(P_PID, rst_ns_pid(&t->procs[k], 0, p->ns_depth), &si, WEXITED | WNOWAIT))
			CHILD_CHECK(errno == EINTR, "zombie %d did not die", t->procs[k].pid);
	}
}

/* until criu (tracer) has seized us; -1 if it is gone or does not come.
 * From a new pid namespace criu's pid is not visible (kill() says ESRCH
 * while criu lives): there only the bound of 10 s says it is gone */
static int wait_traced_by(pid_t tracer, bool new_pidns)
{
	char buf[256];

	for (int tries = 0; tries < 20000; tries++) {
		FILE *f = fopen("/proc/self/status", "re");
		int got = -1;
		while (f && fgets(buf, sizeof(buf), f))
			if (!strncmp(buf, "TracerPid:", 10))
				got = atoi(buf + 10);
		if (f)
			fclose(f);
		if (got == tracer)
			return 0;
		if (!new_pidns && kill(tracer, 0) && errno == ESRCH)
			break;
		usleep(500);
	}
	pr_err("the restored root was not traced by criu (pid %d)", tracer);
	return -1;
}

void rst_child(struct rst_tree *t, size_t i, const struct opts *o)
{
	struct rst_proc *p = &t->procs[i];
	struct rst_fds *fds = &p->helpers;
	const struct rst_region *r = &p->reg;
	struct restore_args *args = p->args;
	sigset_t all;

	/* until criu traces us (the root) and while we are being made, our
	 * parent's death must be ours too */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* criu may be init of a pid namespace: compare with the parent's pid, not 1;
	 * the init of a new one sees no parent (0) */
	pid_t ppid = i == 0 ? fds->parent : rst_ns_pid(&t->procs[p->parent], 0, p->ns_depth);
	if (i == 0 && o->rst_sibling) {
		/* criu's sibling (CLONE_PARENT): criu traces it from outside */
		if (wait_traced_by(fds->parent, p->ns_depth > 0))
			child_fail();
	} else if (getppid() != (p->ns_depth > (i ? t->procs[p->parent].ns_depth : 0) ? 0 : ppid)) {
		child_fail();
	} else if (i == 0 && ptrace(PTRACE_TRACEME, 0, NULL, NULL)) {
		pr_perror("cannot be traced by criu");
		child_fail();
	}
	log_set_fds(fds->log_fd, fds->err_fd);
	/* the root, in new namespaces: filled before any other task lives in them */
	if (i == 0 && ns_images_apply(&t->ns))
		child_fail();
	/* its cgroups (the root: its cgroup namespace too, before its cgroup
	 * mounts are made), before its children inherit them */
	if (rst_cgroups_join(t, p))
		child_fail();
	/* the root, in its own mount namespace: the rest of its mounts, then
	 * pivot_root, before any file of the tree is opened (criu/ns/mnt.h) */
	if (i == 0 && t->mnt && t->mnt->rootfd > 0 &&
	    (mnt_restore_finish(t->mnt, &o->mnt) || rst_mnt_reopen(t)))
		child_fail();
	lead_ids(p);
	/* room for the fds kept aside (stashes) above the helpers: the
	 * restorer sets the dumped limits afterwards */
	struct rlimit nofile;
	if (!getrlimit(RLIMIT_NOFILE, &nofile) && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	struct fd_rst *files = (struct fd_rst *)&p->files;
	files->tty = fds->tty;
	files->inherit = fds->inherit;
	files->shared_fd = fds->shared_fd;
	files->object_fd = object_fd;
	files->object_ctx = p;
	files->stash_base = fds->nr ? fds->all[fds->nr - 1] + 1 : 1024;
	/* what its children inherit from it: its controlling terminal */
	if (!p->fd_owner && fd_rst_open_early(files))
		child_fail();
	/* memory its children share with it: made before they are */
	if (rst_premap_prepare(t, i))
		child_fail();
	create_children(t, i, o);
	join_group(t, p);
	if (p->fd_owner) {
		/* CLONE_FILES: the owner sets up the table they share */
		table_gate_wait(p);
		goto fds_done;
	}
	await_table_forks(t, i);
	if (p->nr_sharers)
		table_sharers_ready(p);
	close_others(t, i, files);
	if (open_fds(p, files))
		child_fail();
	table_gate_open(p);
	for (int i = 0; i < 3; i++)
		if (fds->tty[i] >= 0)
			close(fds->tty[i]);
fds_done:

	if (strcmp(p->fs->root, "/") && (chroot(p->fs->root) || chdir("/"))) {
		pr_perror("fs-%d.img: cannot change root to %s", p->pid, p->fs->root);
		child_fail();
	}
	if (set_cwd(p)) {
		pr_perror("fs-%d.img: cannot change directory to %s", p->pid, p->fs->cwd);
		child_fail();
	}
	umask(p->fs->umask);
	if (rst_proc_tunables(p))
		child_fail();
	prctl(PR_SET_PDEATHSIG, 0);

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (unregister_rseq())
		child_fail();

	/* onto the restorer's stack, into the blob; no return */
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "mov %1, %%rdi\n\t"
			 "jmp *%2\n\t"
			 :
			 : "r"(r->stack_top - 8), "r"(args), "r"(r->start)
			 : "memory");
	__builtin_unreachable();
}
