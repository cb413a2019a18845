/*
 * dump.h - the dump engine's in-memory view of one frozen process, filled
 * step by step (seize, core, mm, pages, files) and then written as images.
 */
#ifndef CRIU_DUMP_H
#define CRIU_DUMP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/image.h"
#include "criu/opts.h"
#include "criu/memscan/memscan.h"
#include "criu/procfs.h"

struct mnt_dump;

struct dump_stats {
	double freeze_ms;	/* from seize to resume/kill */
	double pages_ms;	/* copying memory */
	double plan_ms;		/* finding the pages to copy */
	uint64_t pages;
	uint64_t bytes;
};

/* dump.c: one dump (pre false) or pre-dump (pre true) of o->pid into o->images_dir */
int cr_dump_stats(const struct opts *o, bool pre, struct dump_stats *st);
/* iterative.c: dump --iterative: tracked pre-dump rounds, then the final dump */
int cr_dump_iterative(const struct opts *o);

/* what an fd is, as dump_files probed it (for finding files shared in a tree) */
struct fd_id {
	int fd;
	unsigned flags;		/* O_* of its fdinfo */
	dev_t dev;
	ino_t ino;
	mode_t mode;
};

struct dump_proc {
	pid_t pid;
	int parent;		/* index in the tree, -1 for the root */
	bool zombie;		/* dead, waiting for its parent: only stat is valid */
	bool seized;
	struct proc_stat stat;
	struct proc_maps maps;	/* with VmFlags */
	Core *core;		/* registers, signals (owned, freed by dump_proc_free) */
	int nr_threads;		/* tids[0] is pid */
	pid_t *tids;
	Core **thread_cores;	/* of tids[1..]: thread state only */
	Mm *mm;
	FsEntry *fs;
	size_t nr_fds;
	FdEntry **fds;
	struct fd_id *fd_ids;	/* every fd, as probed (nr_fds of them) */
	int skip_fd;		/* criu's own tracking uffd in the process, or -1 */
	int *table_skip;	/* the tracking uffds of every process using its fd table */
	size_t nr_table_skip;	/* (CLONE_FILES sharers' too): not the program's fds */
	bool keep_cow;		/* in a tree: its pages may be shared with a parent or child */
	bool files_shared;	/* its fd table is its parent's (CLONE_FILES) */
	/* pid namespaces (criu/ns/pidns-dump.c) */
	int ns_depth;		/* levels below criu's pid namespace */
	uint32_t *ns_pids;	/* per thread (zombie: one), its pids at levels 1..ns_depth */
	pid_t pidns_child;	/* its pid namespace for children is this child's, or 0 */
	uint64_t dump_id;	/* the tree's, in the header of each of its images */
	int stop_sig;		/* in a job-control stop by this signal, or 0 */
	int rootfd;		/* the tree's root directory when it has its own mount namespace (criu/ns/mnt.h), else 0 */
	bool stop_waited;	/* its parent already collected that stop (waitpid WUNTRACED) */
};

/* the dumped process and its descendants, parents before children */
struct dump_tree {
	size_t nr, cap;
	struct dump_proc *procs;	/* [0] is the root */
	bool leave_stopped;		/* tree_unseize leaves them in a group stop (SIGSTOP) */
	uint32_t ns_flags;		/* CLONE_NEW*: namespaces of its own saved (criu/ns/ns-dump.c) */
	struct mnt_dump *mnt;		/* its own mount namespace (criu/ns/mnt-dump.c), or NULL */
	int rootfd;			/* with it: the root's root directory (O_PATH), else 0 */
	uint64_t dump_id;		/* random, in the header of every image */
	uint64_t parent_dump_id;	/* --prev-images-dir: the parent's, or 0 */
};

/* dump-tree.c: seize the whole tree, check it can be restored, end it */
int tree_seize(pid_t root, struct dump_tree *t);
/*
 * The same for a tree frozen in its cgroup (--freeze-cgroup): _attach
 * seizes and interrupts every task and thread without waiting (nothing
 * runs, so no task or thread can appear meanwhile); once the cgroup is
 * thawed, _wait collects the stops (each task stops before it runs any of
 * its own code).  _wait must follow _attach, even after a failure.
 */
int tree_attach_frozen(pid_t root, struct dump_tree *t);
int tree_wait_frozen(struct dump_tree *t);
void tree_unseize(struct dump_tree *t);
int tree_check(struct dump_tree *t);
int tree_share_files(const struct dump_tree *t);
/* cgroups.c: every live process's cgroups into cgroup.img (CLONE_NEWCGROUP into
 * t->ns_flags if the root has a cgroup namespace of its own) */
int cgroups_dump(struct dump_tree *t, int dirfd);
/*
 * mq-notify.c: the notifications of POSIX message queues that dumping the
 * ipc namespace fired (report: criu/ns/ns-img.h, struct mq_fds), while the
 * tree is frozen: each one's value read from the signal it queued to its
 * owner, the signal taken back and the notification registered again from
 * the owner (so the tree runs on as it was), and the registration saved
 * with the owner's fd on the queue.  Every line is handled, even after a
 * failure; 0 or -1 (logged)
 */
int mq_notify_settle(struct dump_tree *t, char *report);
/* cow.c: pages children share with their parent copy-on-write (Vma.cow) */
int cow_find(struct dump_tree *t);
int tree_kill(struct dump_tree *t);
void tree_free(struct dump_tree *t);

/* seize.c: freeze and release; seize_task: -ESRCH (quietly) if pid is gone */
int seize_task(pid_t pid);
/* the same; *stop_sig: the job-control stop signal it is stopped by, or 0 */
int seize_task_stop(pid_t pid, int *stop_sig);
/* the two halves of seize_task_stop: PTRACE_SEIZE + PTRACE_INTERRUPT (the
 * task stops once it runs), and the wait for that stop */
int seize_attach(pid_t pid);
int seize_wait(pid_t pid, int *stop_sig);
int unseize_task(pid_t pid);	/* detach: the task runs on untouched */
/* every thread of pid, until no new one appears; fills p->tids */
int seize_threads(struct dump_proc *p);
void unseize_threads(struct dump_proc *p);
/*
 * teardown.c: SIGKILL a seized task and wait for its end as its tracer;
 * hold: a sibling may keep its memory so that the pid goes at once (only
 * where its session outlives the tree)
 */
int kill_task(pid_t pid, bool hold, const pid_t *tids, int nr_threads);

/*
 * job-stop.c: a process found in a job-control stop ('T') before it is
 * seized: whether its parent (seized already, process parent) has
 * collected the stop report, asked inside the parent with waitid(WNOWAIT)
 */
int job_stop_probe(struct dump_tree *t, size_t i);
/* tunables.c: oom_score_adj, loginuid, autogroup nice into p->core->tunables */
int dump_tunables(struct dump_proc *p);

/* sched-io.c: a thread's CPU affinity, ioprio, clamps; the process's coredump_filter */
int dump_sched_io(pid_t tid, ThreadCore *tc);
int dump_coredump_filter(struct dump_proc *p);

/* numa.c: memory policies of the mappings (numa_maps) and of a thread (inside it) */
int dump_numa_vmas(struct dump_proc *p);
struct infect;
int dump_thread_mempolicy(struct infect *c, ThreadCore *tc);
/* thread-flags.c: rdtsc and cpuid faulting, machine-check kill policy (inside the thread) */
int dump_thread_flags(struct infect *c, ThreadCore *tc);
/* thread-flags.c: -1 (said: "pid N: WHAT") if keyring spec exists (keyrings are not saved) */
int dump_no_keyring(struct infect *c, long spec, const char *what);
/* guards.c: each mapping's guard regions (MADV_GUARD_INSTALL) into its Vma */
int dump_guards(struct dump_proc *p);
/* the pieces: which mappings may have them, a scan of [start, end), one added to v */
bool guards_possible(const Vma *v);
int guards_scan(int pmfd, pid_t pid, uint64_t start, uint64_t end, scan_fn fn, void *arg);
int guard_add(Vma *v, uint64_t start, uint64_t end);
/* mm-flags.c: allocated protection keys, mlockall(MCL_FUTURE), membarrier (inside it) */
int dump_mm_flags(struct infect *c, Core *core);

/* core.c: registers, xstate, signals (uses infect) */
int dump_core(struct dump_proc *p, uint64_t *brk);
/* mm.c: memory map and mm fields (needs core's injected brk) */
/* build_ids: each mapped ELF file's build-id too (--file-validation buildid) */
int dump_mm(struct dump_proc *p, uint64_t brk, bool build_ids);
/* mm.c: what a Vma takes from the mapping's VmFlags (and ProtectionKey) */
void vma_image_flags(Vma *e, const struct proc_vma *v);
/* vmflags.c: the VmFlags read by a thread while the dump goes on (see there) */
struct vmflags_job {
	pthread_t thread;
	pid_t pid;
	struct proc_maps smaps;
	/* the guard regions (guards.c) of these mappings, looked for beside too */
	struct guard_span { size_t vma; uint64_t start, end; } *spans, *found;
	size_t nr_spans, nr_found, cap_found;
	int ret, guards_ret;
	bool running, done;
};
/* mm: also the guard regions of its mappings (NULL: not looked for) */
int vmflags_start(struct vmflags_job *j, pid_t pid, const Mm *mm);
/* the flags into p's mappings and Vma entries (waits for the thread); 0 or -1 (logged) */
int vmflags_join(struct vmflags_job *j, struct dump_proc *p);
void vmflags_cancel(struct vmflags_job *j);
/* the memory map's pages: planned and written by criu/memscan/ */
static inline struct mem_proc dump_mem_proc(const struct dump_proc *p)
{
	return (struct mem_proc){ .pid = p->pid, .dump_id = p->dump_id, .mm = p->mm,
				  .keep_cow = p->keep_cow };
}
/* dump-files.c: fds, cwd, root, umask */
int dump_files(struct dump_proc *p, const struct opts *o);

void dump_proc_free(struct dump_proc *p);

/*
 * lazy.c: dump --lazy-pages (post-copy).  dump_lazy_check refuses what does
 * not go with it; dump_lazy_serve serves the memory of every frozen process
 * of the tree until the restore has it all (0: the caller kills them) or is
 * lost (-1: the caller resumes them; 1: lost after every page was sent, so
 * the copy may run complete: the caller leaves them stopped).
 */
int dump_lazy_check(const struct opts *o, bool pre);
int dump_lazy_serve(const struct opts *o, const struct dump_tree *t, int dirfd);

#endif /* CRIU_DUMP_H */
