/*
 * restore.c - `criu restore`: load and check the images of the tree, make
 * what processes share (shared memory, shared open files, the premap area),
 * plan each process's restorer, create the root with its original pid
 * (clone3 set_tid; it creates the rest, child.c), follow every task
 * through its restorer to its final rt_sigreturn, unmap the restorers, and
 * let them all go.  The driver is a list of named stages with their undo
 * (restore_stages below): a failure at any step kills what was created.
 *
 * Page checksums are verified by a thread of criu while the restorer fills
 * memory (the two together take the time of the longer one); the process is
 * held at the restorer's final trap until the verification has passed, so a
 * corrupt image is refused before a single instruction of the program runs.
 */
#define LOG_PREFIX "restore: "
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "criu/caps.h"
#include "criu/infect/infect.h"
#include "common/clock.h"
#include "common/log.h"
#include "criu/ns/ns.h"
#include "criu/ns/mnt.h"
#include "criu/procfs.h"
#include "criu/restore/restore.h"
#include "criu/run-stats.h"
#include "criu/net/netlock.h"
#include "criu/stages.h"

/*
 * the root with its pids; the init of a new pid namespace if it was one,
 * in new namespaces of the kinds ns_flags says the tree had of its own;
 * sibling (swrk rst_sibling): the child of criu's parent
 */
static pid_t clone_root(const struct rst_proc *root, uint32_t ns_flags, bool sibling)
{
	pid_t tids[PIDNS_MAX_DEPTH + 1];
	struct clone_args ca = {
		/* (a time namespace is criu's for its children already: time-ns.c) */
		.flags = (root->ns_base ? CLONE_NEWPID : 0) | ns_flags |
			 (sibling ? CLONE_PARENT : 0),
		/* with CLONE_PARENT: criu's own exit signal (clone3 wants 0 here) */
		.exit_signal = sibling ? 0 : SIGCHLD,
		.set_tid = (uint64_t)tids,
		.set_tid_size = rst_ns_set_tid(root, 0, tids),
	};
	return syscall(SYS_clone3, &ca, sizeof(ca));
}

/* waits for the next stop of pid; <0 if it died (its end is logged) */
static int wait_stop(pid_t pid, int *sig)
{
	int status;

	if (waitpid(pid, &status, __WALL) != pid) {
		pr_perror("wait for pid %d failed", pid);
		return -1;
	}
	if (WIFEXITED(status)) {
		pr_info("pid %d: restore child exited with %d", pid, WEXITSTATUS(status));
		return -2;
	}
	if (WIFSIGNALED(status)) {
		pr_err("pid %d: killed by signal %d during restore", pid, WTERMSIG(status));
		return -2;
	}
	*sig = status >> 8;
	return 0;
}

struct verify_job {
	pthread_t thread;
	const struct rst_tree *t;
	bool lazy;		/* --lazy-pages: only the eager pages (of local images) */
	int result;
	bool started;
};

static void *verify_thread(void *arg)
{
	struct verify_job *j = arg;
	for (size_t i = 0; i < j->t->nr && !j->result; i++) {
		const struct rst_proc *p = &j->t->procs[i];
		if (p->zombie)
			continue;
		j->result = j->lazy ? rst_lazy_verify_eager(&p->pages, p->args)
				    : page_source_verify(&p->pages);
	}
	return NULL;
}

static int verify_join(struct verify_job *j)
{
	if (!j->started)
		return j->result;
	pthread_join(j->thread, NULL);
	j->started = false;
	return j->result;
}

/* ptrace options for a restored thread: its seccomp filters wait for our detach */
static long trace_options(const ThreadCore *tc)
{
	return PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL |
	       (tc->seccomp_mode ? PTRACE_O_SUSPEND_SECCOMP : 0);
}

/* a thread stopped at the restorer's trap: through its rt_sigreturn, stop just after */
static int step_sigreturn(pid_t tid, const ThreadCore *tc)
{
	struct user_regs_struct regs;
	int sig;

	if (ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)trace_options(tc))) {
		pr_perror("pid %d: cannot set ptrace options", tid);
		return -1;
	}
	for (int step = 0; step < 2; step++) {
		if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL)) {
			pr_perror("pid %d: cannot step to rt_sigreturn", tid);
			return -1;
		}
		if (wait_stop(tid, &sig))
			return -1;
		if (sig != (SIGTRAP | 0x80)) {
			pr_err("pid %d: unexpected stop (signal %d) at rt_sigreturn", tid, sig & 0x7f);
			return -1;
		}
	}
	if (ptrace(PTRACE_GETREGS, tid, NULL, &regs)) {
		pr_perror("pid %d: cannot read registers", tid);
		return -1;
	}
	if (regs.rip != tc->regs->rip || regs.rsp != tc->regs->sp) {
		pr_err("pid %d: rt_sigreturn did not restore the registers (rip %llx, expected %lx)",
		       tid, regs.rip, (unsigned long)tc->regs->rip);
		return -1;
	}
	return 0;
}

/* a thread of the tree on its way to the restorer's last trap */
struct rst_task {
	pid_t tid;		/* as criu sees it; 0 until known (in a new pid namespace) */
	struct rst_proc *p;
	int k;			/* its thread index in p */
	const ThreadCore *tc;
	bool started;		/* past its first stop (SIGSTOP) */
	int traps;		/* left to reach: 2 with seccomp (one to suspend it first) */
};

struct rst_tasks {
	size_t nr;
	struct rst_task *v;
};

static int tasks_build(struct rst_tree *t, struct rst_tasks *ts)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nr; i++)
		n += t->procs[i].zombie ? 0 : t->procs[i].nr_threads;
	ts->v = calloc(n + 1, sizeof(*ts->v));
	if (!ts->v)
		return -1;
	for (size_t i = 0; i < t->nr; i++) {
		struct rst_proc *p = &t->procs[i];
		for (int k = 0; !p->zombie && k < p->nr_threads; k++) {
			const ThreadCore *tc = k ? p->thread_cores[k - 1]->thread : p->core->thread;
			/* the root traces itself to criu (no first stop); the others
			 * are attached at creation and start with a SIGSTOP */
			ts->v[ts->nr++] = (struct rst_task){ p->real_tids[k], p, k, tc, i == 0 && k == 0,
							     tc->seccomp_mode ? 2 : 1 };
		}
	}
	return 0;
}

/*
 * Signals that restoring raises by itself (a zombie child dying, a
 * terminal's size set, data queued into an O_ASYNC file): the program's
 * own pending signals are restored from the images, these are dropped.
 */
static bool restore_side_effect(int sig)
{
	return sig == SIGCHLD || sig == SIGWINCH || sig == SIGIO || sig == SIGURG ||
	       sig == SIGPIPE || sig == SIGTTOU || sig == SIGTTIN;
}

/*
 * Follows every task of the tree until each is at the restorer's last
 * trap.  A new one stops first (SIGSTOP) and is started; a task with
 * seccomp stops at a trap before installing it, for criu to suspend it
 * while it still works in the task; SIGCHLD of a restored zombie is not
 * the program's, nor are other side effects of restoring (see above).
 * Returns -2 if a task died (it logged why).
 */
/* the task of tid; in a new pid namespace, one criu had not seen yet is looked up */
static struct rst_task *task_of(struct rst_tree *t, struct rst_tasks *ts, pid_t tid)
{
	struct rst_proc *p;
	int k;

	for (size_t i = 0; i < ts->nr; i++)
		if (ts->v[i].tid == tid)
			return &ts->v[i];
	if (!t->procs[0].ns_base || rst_ns_resolve(t, tid, &p, &k))
		return NULL;
	for (size_t i = 0; i < ts->nr; i++)
		if (ts->v[i].p == p && ts->v[i].k == k) {
			ts->v[i].tid = tid;
			return &ts->v[i];
		}
	return NULL;
}

static int follow_to_traps(struct rst_tree *t, struct rst_tasks *ts)
{
	size_t left = ts->nr;

	while (left) {
		int status;
		pid_t tid = waitpid(-1, &status, __WALL);
		struct rst_task *k = NULL;

		if (tid < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("wait for the restored processes failed");
			return -1;
		}
		k = task_of(t, ts, tid);
		if (!k)
			continue;	/* not a task of the tree (a helper of criu) */
		if (WIFEXITED(status)) {
			pr_info("pid %d: exited with %d during restore", tid, WEXITSTATUS(status));
			return -2;
		}
		if (WIFSIGNALED(status)) {
			pr_err("pid %d: killed by signal %d during restore", tid, WTERMSIG(status));
			return -2;
		}
		int sig = WSTOPSIG(status);
		long opts = 0;
		if (!k->started && (sig == SIGSTOP || (status >> 16) == PTRACE_EVENT_STOP)) {
			k->started = true;
		} else if (restore_side_effect(sig)) {
			/* dropped */
		} else if (sig == SIGTRAP && k->traps > 0) {
			k->started = true;
			if (--k->traps == 0) {
				left--;
				continue;	/* stays stopped at its last trap */
			}
			opts = trace_options(k->tc);
		} else {
			pr_err("pid %d: stopped by signal %d in the restorer", tid, sig);
			return -1;
		}
		if ((opts && ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)opts)) ||
		    ptrace(PTRACE_CONT, tid, NULL, NULL)) {
			pr_perror("pid %d: cannot let it go on in the restorer", tid);
			return -1;
		}
	}
	return 0;
}

/* is tid traced by us (so ours to kill)? */
static bool traced_by_us(pid_t tid)
{
	char buf[32];
	if (proc_status_field(tid, "TracerPid:", buf, sizeof(buf)))
		return false;
	return atoi(buf) == getpid();
}

#define REAP_TIMEOUT_MS	10000

/* reaps tid (ours as tracer or parent); false if it is still there at the deadline */
static bool reap_until(pid_t tid, bool zombie, double deadline)
{
	for (;;) {
		pid_t r = waitpid(tid, NULL, __WALL | WNOHANG);
		if (r == tid || (r < 0 && errno != EINTR) || zombie)
			return true;
		if (clock_now_ms() > deadline)
			return false;
		usleep(1000);
	}
}

/*
 * Kills whatever of the tree was created and collects it: criu traces
 * every live task (and is the subreaper that inherits the zombies of
 * killed parents).  A pid someone else holds is left alone.  Once SIGKILL
 * is sent no task returns to user space, so criu's copies of their
 * userfaultfds (--lazy-pages) go before the waits: a thread blocked on a
 * page that will not come is woken to die, not waited for with its uffd
 * held; and no wait is longer than REAP_TIMEOUT_MS.
 */
static void kill_tree(const struct rst_tree *t, bool root_created, struct rst_lazy_set *ls)
{
	/* (in a new pid namespace, the root's death takes every task of it along) */
	for (size_t i = 0; i < t->nr; i++) {
		const struct rst_proc *p = &t->procs[i];
		pid_t real = p->real_tids[0];
		if (!p->zombie && real && ((i == 0 && root_created) || (i && traced_by_us(real))))
			kill(real, SIGKILL);
	}
	rst_lazy_set_close(ls);
	double deadline = clock_now_ms() + REAP_TIMEOUT_MS;
	for (size_t i = t->nr; i-- > 0;) {
		const struct rst_proc *p = &t->procs[i];
		for (int k = p->zombie ? 0 : p->nr_threads - 1; k >= 0; k--) {
			pid_t tid = p->real_tids[k];	/* 0: never known (new pid namespace) */
			if (tid && !reap_until(tid, p->zombie, deadline)) {
				char st[64] = "?";
				proc_status_field(tid, "State:", st, sizeof(st));
				pr_err("pid %d: thread %d still there %d s after SIGKILL (state %s)", p->pid,
				       tid, REAP_TIMEOUT_MS / 1000, st);
			}
		}
	}
	/* zombies whose parents just died come to criu as their subreaper */
	for (int tries = 0; tries < 100; tries++) {
		pid_t r = waitpid(-1, NULL, __WALL | WNOHANG);
		if (r < 0 && errno != EINTR)
			break;
		if (r == 0)
			usleep(1000);
	}
}

static int unmap_restorer(pid_t pid, const struct rst_region *r)
{
	struct infect c;
	long args[6] = { (long)r->start, (long)r->len }, ret = 0;
	int err;

	if (infect_begin(&c, pid))
		return -1;
	err = infect_syscall(&c, SYS_munmap, args, &ret);
	if (infect_end(&c) || err || ret) {
		pr_err("pid %d: cannot unmap the restorer (%ld)", pid, ret);
		return -1;
	}
	return 0;
}

static int write_pidfile(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "we");
	if (!f || fprintf(f, "%d\n", pid) < 0 || fclose(f)) {
		pr_perror("cannot write pidfile %s", path);
		return -1;
	}
	return 0;
}

static int pid_in_use(pid_t pid)
{
	if (kill(pid, 0) == 0 || errno != ESRCH) {
		pr_err("pid %d is already in use by another process", pid);
		return 1;
	}
	return 0;
}

static int tree_pids_free(const struct rst_tree *t)
{
	/* a new pid namespace has every pid free */
	for (size_t i = 0; !t->procs[0].ns_base && i < t->nr; i++)
		for (size_t k = 0; k < t->procs[i].pe->n_threads; k++)
			if (pid_in_use(t->procs[i].pe->threads[k]))
				return -1;
	return 0;
}

/* every live process's restorer: region, helper fds, arguments */
static int plan_restorers(struct rst_tree *t, const struct opts *o, const struct rst_lazy_set *ls)
{
	for (size_t i = 0, l = 0; i < t->nr; i++) {
		struct rst_proc *p = &t->procs[i];
		if (p->zombie)
			continue;
		p->helpers.lazy_sock = -1;
		/* --lazy-pages: its own connection to the daemon */
		if (ls->nr && (p->helpers.lazy_sock = dup(ls->v[l++].conn)) < 0)
			return -1;
		if (rst_region_map(p, rst_args_size(p), &p->reg) ||
		    rst_args_build(p, o, &p->reg, &p->helpers, &p->args))
			return -1;
		/* a page server's pages: the eager ones are fetched and checked now */
		if (rst_remote_pages(o) && rst_remote_fetch(o, p, p->args))
			return -1;
	}
	return 0;
}

/*
 * What a detached restore leaves running must not hold criu's stdin,
 * stdout, stderr or the fds it was given for --inherit-fd: a shell or a CI
 * job reading them would wait for the last page.  Its log goes to -o only.
 */
static void detach_stdio(const struct opts *o)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

	bool to_file = log_get_term_fd() >= 0;	/* -o: log_fd is the file, keep it */

	for (int fd = 0; fd < 3 && nul >= 0; fd++)
		if (!to_file || fd != log_get_fd())
			dup2(nul, fd);
	if (nul > 2)
		close(nul);
	for (int i = 0; i < o->nr_inherit_fd; i++) {
		int fd;
		if (sscanf(o->inherit_fd[i], "fd[%d]", &fd) == 1 && fd > 2 &&
		    (!to_file || fd != log_get_fd()))
			close(fd);
	}
	log_set_fds(log_get_fd(), -1);
}

/* from the last traps to running: through rt_sigreturn, restorers unmapped, detached */
static int release_tree(struct rst_tree *t, struct rst_tasks *ts, struct rst_lazy_set *ls)
{
	for (size_t i = 0; i < ts->nr; i++)
		if (rst_thread_sched_io(ts->v[i].tid, ts->v[i].tc))
			return -1;
	for (size_t i = 0; i < t->nr; i++)
		if (!t->procs[i].zombie && rst_coredump_filter(&t->procs[i]))
			return -1;
	for (size_t i = 0; i < ts->nr; i++)
		if (step_sigreturn(ts->v[i].tid, ts->v[i].tc))
			return -1;
	/* --lazy-pages: our own copy of each uffd, before the restorer's goes */
	for (size_t i = 0, l = 0; i < t->nr && ls->nr; i++) {
		if (t->procs[i].zombie)
			continue;
		struct rst_lazy_proc *lp = &ls->v[l++];
		if ((lp->uffd = rst_lazy_take_uffd(t->procs[i].real_tids[0], t->procs[i].args, &lp->ring)) < 0)
			return -1;
	}
	for (size_t i = 0; i < t->nr; i++)
		if (!t->procs[i].zombie && unmap_restorer(t->procs[i].real_tids[0], &t->procs[i].reg))
			return -1;
	/*
	 * children first: a parent running before its child is detached could
	 * wait for it (and a stopped child's parent must still be held)
	 */
	for (size_t i = t->nr; i-- > 0;) {
		const struct rst_proc *p = &t->procs[i];
		if (p->zombie)
			continue;
		if (rst_job_stop_queue(p))
			return -1;
		for (int k = p->nr_threads; k-- > 0;)
			if (ptrace(PTRACE_DETACH, p->real_tids[k], NULL, NULL)) {
				pr_perror("pid %d: cannot detach", p->pe->threads[k]);
				return -1;
			}
		if (rst_job_stop_settle(t, i))
			return -1;
	}
	return 0;
}

/* one restore: what its stages (restore_stages below) share */
struct restore_run {
	const struct opts *o;
	struct rst_tree t;
	struct rst_tasks ts;
	struct verify_job vj;
	struct rst_lazy_set ls;
	int dirfd;
	int own_time;		/* criu's time namespace, while the tree's is made */
	pid_t pid;		/* the root as criu sees it, once made */
	int live;		/* processes that are not zombies */
	double t0, forked_ms;	/* start; the tree created (stats-restore) */
	struct mnt_restore mnt;	/* its own mount namespace (criu/ns/mnt.h) */
	struct opts with_root;	/* the options, and the tree's root in criu's view (rst_root_fd) */
};

static int st_args(void *c)
{
	struct restore_run *r = c;

	if (!r->o->images_dir) {
		pr_err("restore needs -D DIR");
		return -1;
	}
	if (require_cr_caps("restore"))
		return -1;
	r->dirfd = open(r->o->images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		pr_perror("cannot open images directory %s", r->o->images_dir);
		return -1;
	}
	return 0;
}

/*
 * its own mount namespace: made (by criu, in a private copy of its own,
 * under --root) before any of its paths is looked at; the tree's paths
 * resolve there from now on (opts.rst_root_fd)
 */
static int st_mnt_prepare(void *c)
{
	struct restore_run *r = c;

	if (mnt_restore_prepare(r->dirfd, &r->o->mnt, &r->mnt)) {
		mnt_restore_leave(&r->mnt);	/* (a failing stage is not undone by the runner) */
		return -1;
	}
	r->with_root = *r->o;
	r->with_root.rst_root_fd = r->mnt.rootfd > 0 ? r->mnt.rootfd : 0;
	r->o = &r->with_root;
	return 0;
}

/* criu alone (its threads joined): back in its own mount namespace */
static void st_mnt_leave(void *c)
{
	mnt_restore_leave(&((struct restore_run *)c)->mnt);
}

static int st_mnt_back(void *c)
{
	st_mnt_leave(c);
	return 0;
}

/* every image checked before anything is made */
static int st_images(void *c)
{
	struct restore_run *r = c;

	if (rst_load_tree(r->dirfd, r->o->images_dir, r->o, &r->t) || mnt_restore_agrees(&r->mnt, r->t.ns.flags) ||
	    tree_pids_free(&r->t))
		return -1;
	r->t.mnt = &r->mnt;
	for (size_t i = 0; i < r->t.nr; i++)
		r->live += !r->t.procs[i].zombie;
	pr_info("images of pid %d (%zu processes) checked in %.1f ms", r->t.procs[0].pid, r->t.nr,
		clock_now_ms() - r->t0);
	return 0;
}

static int st_notify_pre(void *c)
{
	struct restore_run *r = c;

	return cr_notify(r->o, "pre-restore", 0, -1);
}

/* --lazy-pages: the daemon, if none serves the images, started first (rst_lazy_start) */
static int st_lazy_start(void *c)
{
	struct restore_run *r = c;

	return r->o->lazy_pages ? rst_lazy_start(r->o, r->dirfd, &r->ls.daemon) : 0;
}

static void st_lazy_abandon(void *c)
{
	struct restore_run *r = c;

	if (!r->ls.nr)	/* one that saw connections goes by itself */
		rst_lazy_abandon(r->o, r->dirfd, &r->ls.daemon);
}

static int st_lazy_connect(void *c)
{
	struct restore_run *r = c;

	return r->o->lazy_pages ? rst_lazy_set_connect(&r->ls, &r->t, r->o, r->dirfd) : 0;
}

/* the daemon sees the connections go before the processes: a failed restore */
static void st_lazy_disconnect(void *c)
{
	struct restore_run *r = c;

	rst_lazy_set_disconnect(&r->ls);
}

/* what processes share, each one's restorer, the list of tasks */
static int st_plan(void *c)
{
	struct restore_run *r = c;

	r->t.orphans.early = &r->mnt.ptys;	/* (a container's console, made with the mounts) */
	return rst_shmem_create(&r->t) || rst_shared_open(&r->t, r->o) || rst_premap_plan(&r->t) ||
	       plan_restorers(&r->t, r->o, &r->ls) || tasks_build(&r->t, &r->ts);
}

/* the tree's cgroups made, set and opened before its first process */
static int st_cgroups(void *c)
{
	return rst_cgroups_make(&((struct restore_run *)c)->t);
}

static void st_cgroups_undo(void *c)
{
	rst_cgroups_unmake(&((struct restore_run *)c)->t);
}

/* threads in other cgroups than their process, moved while every task is held */
static int st_cgroup_threads(void *c)
{
	struct restore_run *r = c;
	int ret = rst_cgroups_threads(&r->t);

	rst_cgroups_close(&r->t);
	return ret;
}

/* orphans of a failed restore come back to criu, to be collected */
static int st_subreaper(void *c)
{
	(void)c;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	return 0;
}

static void st_no_subreaper(void *c)
{
	(void)c;
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

/* a time namespace of the tree's own: criu's for its children until the root is made */
static int st_time_enter(void *c)
{
	struct restore_run *r = c;
	return r->t.ns.time ? time_ns_enter(r->t.ns.time, &r->own_time) : 0;
}

static void st_time_leave(void *c)
{
	struct restore_run *r = c;
	time_ns_leave(r->own_time);
	r->own_time = -1;
}

/* whatever of the tree was made: killed and collected */
static void st_kill_tree(void *c)
{
	struct restore_run *r = c;

	rst_lazy_set_disconnect(&r->ls);
	if (r->pid > 0)
		kill_tree(&r->t, true, &r->ls);
}

/* the root (in the child: it goes on as the root and never returns) */
static int st_clone_root(void *c)
{
	struct restore_run *r = c;
	struct rst_proc *root = &r->t.procs[0];

	r->pid = clone_root(root, ns_clone_flags(&r->t.ns), r->o->rst_sibling);
	if (r->pid == 0)
		rst_child(&r->t, 0, r->o);
	if (r->pid < 0) {
		if (errno == EEXIST)
			pr_err("pid %d is already in use by another process", root->pid);
		else
			pr_perror("cannot create a process with pid %d", root->pid);
		return -1;
	}
	/* in a new pid namespace its pid here is the kernel's choice */
	if (!root->ns_base && r->pid != root->pid) {
		pr_err("clone3 gave pid %d instead of %d", r->pid, root->pid);
		goto made;
	}
	/* not our child: traced from outside (it waits for it, child.c) */
	if (r->o->rst_sibling && ptrace(PTRACE_SEIZE, r->pid, NULL, NULL)) {
		pr_perror("pid %d: cannot trace the restored root", r->pid);
		goto made;
	}
	root->real_tids[0] = r->ts.v[0].tid = r->pid;
	if (root->ns_base)
		pr_info("pid %d: init of a new pid namespace, pid %d here", root->pid, r->pid);
	return 0;
made:
	/* a failing stage is not undone by the runner: what it made goes here */
	root->real_tids[0] = r->pid;
	st_kill_tree(r);
	return -1;
}

static int st_time_back(void *c)
{
	st_time_leave(c);
	return 0;
}

/* criu's copies of the helper fds go (the processes have theirs); the daemon may watch */
static int st_handed_over(void *c)
{
	struct restore_run *r = c;

	for (size_t i = 0; i < r->t.nr; i++)
		rst_fds_close(&r->t.procs[i].helpers);
	rst_shmem_close(&r->t.shm);
	rst_shared_close(&r->t.shared);
	rst_lazy_set_pids(&r->ls, &r->t);
	if (rst_lazy_set_guard(&r->ls))
		return -1;
	r->forked_ms = clock_now_ms() - r->t0;
	pr_debug("process %d created at %.1f ms", r->pid, r->forked_ms);
	return 0;
}

/* page checksums verified while the restorers fill memory */
static int st_verify_start(void *c)
{
	struct restore_run *r = c;

	r->vj.t = &r->t;
	r->vj.lazy = r->o->lazy_pages;
	if (pthread_create(&r->vj.thread, NULL, verify_thread, &r->vj) == 0)
		r->vj.started = true;
	else
		verify_thread(&r->vj);
	return 0;
}

static void st_verify_join(void *c)
{
	verify_join(&((struct restore_run *)c)->vj);
}

/* steps of the RPC and --action-script (CRIU's names) */
static int st_notify_ns(void *c)
{
	struct restore_run *r = c;

	return cr_notify(r->o, "setup-namespaces", r->pid, -1) ||
	       cr_notify(r->o, "post-setup-namespaces", r->pid, -1);
}

/* the new masters of terminals whose master was outside the tree, to their taker */
static int st_orphans(void *c)
{
	struct restore_run *r = c;

	return rst_orphans_hand(&r->t, r->o, r->pid);
}

/* every task through its restorer, held at the last trap until the pages verify */
static int st_follow(void *c)
{
	struct restore_run *r = c;
	int ret = follow_to_traps(&r->t, &r->ts);

	if (verify_join(&r->vj) && !ret)
		ret = -1;
	return ret;
}

static int st_notify_resume(void *c)
{
	struct restore_run *r = c;

	return cr_notify(r->o, "post-restore", r->pid, -1) ||
	       cr_notify(r->o, "network-unlock", r->pid, -1) ||
	       cr_notify(r->o, "pre-resume", r->pid, -1);
}

static int st_release(void *c)
{
	struct restore_run *r = c;

	return release_tree(&r->t, &r->ts, &r->ls);
}

static const struct stage restore_stages[] = {
	{ "arguments", st_args, NULL },
	{ "lazy-pages daemon started", st_lazy_start, st_lazy_abandon },
	{ "the tree's mount namespace", st_mnt_prepare, st_mnt_leave },
	{ "images", st_images, NULL },
	{ "pre-restore notification", st_notify_pre, NULL },
	{ "lazy-pages daemon", st_lazy_connect, st_lazy_disconnect },
	{ "shared objects and restorers", st_plan, NULL },
	{ "the tree's cgroups", st_cgroups, st_cgroups_undo },
	{ "subreaper", st_subreaper, st_no_subreaper },
	{ "the tree's time namespace", st_time_enter, st_time_leave },
	{ "the root process", st_clone_root, st_kill_tree },
	{ "back to criu's time namespace", st_time_back, NULL },
	{ "helpers handed over", st_handed_over, NULL },
	{ "page verification", st_verify_start, st_verify_join },
	{ "namespace notifications", st_notify_ns, NULL },
	{ "terminal masters handed over", st_orphans, NULL },
	{ "tasks to their last trap", st_follow, NULL },
	{ "threads into their cgroups", st_cgroup_threads, NULL },
	{ "back to criu's mount namespace", st_mnt_back, NULL },
	{ "resume notifications", st_notify_resume, NULL },
	{ "release", st_release, NULL },
};

/* the tree runs: its network, the last step, the figures */
static void restored(struct restore_run *r)
{
	pid_t pid = r->pid;

	rst_lazy_set_unguard(&r->ls);
	rst_lazy_set_pids(&r->ls, &r->t);	/* every real pid is known now */
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	/* the connections are in place: their packets may flow again */
	if (r->t.inv->network_lock && netlock_release(r->t.inv->network_lock, r->t.ns.join_net))
		pr_err("pid %d: restored, but its TCP connections stay blocked: nft delete table %s",
		       pid, r->t.inv->network_lock);
	pr_info("pid %d restored (%d processes)", pid, r->live);
	/* it runs: a client that fails this step cannot undo it */
	if (cr_notify(r->o, "post-resume", pid, -1))
		pr_warn("pid %d runs although the post-resume step failed", pid);
	uint64_t pages = 0;
	for (size_t i = 0; i < r->t.nr; i++) {
		const struct rst_proc *p = &r->t.procs[i];
		pages += p->pages.nr_pages;
		for (size_t k = 0; k < p->nr_lazy_skip; k++)
			pages += p->lazy_skip[k].pages;	/* left to the daemon */
	}
	pr_info("stats: restore_ms=%.3f pages=%lu", clock_now_ms() - r->t0, (unsigned long)pages);
	run_stats_restore(r->o, r->forked_ms, clock_now_ms() - r->t0, pages);
}

/* after the restore: the pidfile, then detach or watch the pages in and wait */
static int run_on(const struct opts *o, pid_t pid, struct rst_lazy_set *ls)
{
	if (o->restored_pid)
		*o->restored_pid = pid;
	if (o->pidfile && write_pidfile(o->pidfile, pid)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		rst_lazy_set_close(ls);
		return 1;
	}
	if (o->lazy_pages && o->detach) {
		/* a watcher holds the uffds until every page is in */
		pid_t w = fork();
		if (w < 0) {
			pr_perror("pid %d: cannot start the lazy-pages watcher; killing it", pid);
			kill(pid, SIGKILL);
			return 1;
		}
		if (w == 0) {
			setsid();
			detach_stdio(o);
			_exit(rst_lazy_set_watch(ls) ? 1 : 0);
		}
		rst_lazy_set_close(ls);
		return 0;
	}
	if (o->lazy_pages)
		rst_lazy_set_watch(ls);
	rst_lazy_set_close(ls);
	if (o->detach)
		return 0;

	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			pr_perror("wait for pid %d failed", pid);
			return 1;
		}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	pr_info("pid %d was killed by signal %d", pid, WTERMSIG(status));
	return 128 + WTERMSIG(status);
}

/* returns the exit status for main */
int cr_restore(const struct opts *o)
{
	struct opts ro;
	if (rst_lazy_daemon_remote(o, &ro))
		o = &ro;
	struct restore_run r = { .o = o, .dirfd = -1, .own_time = -1, .pid = -1,
			     .t0 = clock_now_ms(), .mnt = { .rootfd = -1, .own_ns = -1 } };
	int err = stages_run(restore_stages, NR_STAGES(restore_stages), &r);

	if (!err)
		restored(&r);
	else
		rst_lazy_set_close(&r.ls);
	verify_join(&r.vj);
	rst_tree_free(&r.t);
	free(r.ts.v);
	if (r.dirfd >= 0)
		close(r.dirfd);
	if (!err)
		return run_on(o, r.pid, &r.ls);
	if (r.pid > 0 || log_get_level() >= LOG_INFO)
		pr_info("restore failed; nothing was left running");
	return 1;
}
