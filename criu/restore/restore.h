/*
 * restore.h - the restore engine's view of one process to bring back: its
 * images, loaded and checked before anything is created, and the plan for
 * the restorer (its region and arguments).
 */
#ifndef CRIU_RESTORE_H
#define CRIU_RESTORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "criu/ns/ns-img.h"
#include "criu/files/files.h"
#include "images/image.h"
#include "criu/opts.h"
#include "images/pages.h"
#include "criu/pie/restorer-args.h"

/* the restorer's region: blob, args, stack, parking space for the vdso */
struct rst_region {
	uint64_t start, len;
	uint64_t args_off;	/* where struct restore_args is */
	uint64_t stack_top;
	uint64_t scratch;	/* parking space for vdso/vvar */
};

/* helper fds criu opens for the restorer, placed above every target fd */
struct rst_fds {
	int log_fd, exe_fd;
	int err_fd;		/* criu's terminal for errors when logging to a file, or -1 */
	int pages_fd[PAGES_MAX_CHAIN];	/* per image of the chain */
	int tty[3];		/* criu's own stdio, for --shell-job terminals */
	int *inherit;		/* per --inherit-fd: a copy of criu's fd N */
	int nr;
	int *all;		/* every helper fd, sorted */
	int *vma_fd;		/* per target VMA, -1 if none */
	int lazy_sock;		/* --lazy-pages: connected to the daemon */
	int gate[2];		/* an fd table owner with sharers: they wait on [0] (pipe) until it is complete */
	int ready[2];		/* ... and each says on [1] it opens no more fds before the gate */
	int *shared_fd;		/* by shared id: a copy of the tree's shared file, or -1 */
	int *shm_fd;		/* by object of the tree's rst_shmem_set: a copy, or -1 */
	pid_t parent;		/* criu's pid, for the child to check it is still there */
};

/*
 * a MAP_SHARED|MAP_ANONYMOUS object or a mapped memfd, made once by criu for
 * every process mapping it (and every fd of that memfd)
 */
struct rst_shmem {
	uint64_t dev, ino;	/* its inode at dump time (Vma.ino; dev 0 but for deleted files) */
	uint64_t size;
	const char *memfd;	/* a memfd: its name; NULL for shared anonymous memory */
	const Vma *memfd_vma;	/* a memfd only mapped: a mapping, with its seals and mode */
	const FileEntry *src;	/* held open: the description carrying its contents (or any) */
	bool src_carries;	/* src does carry them */
	int fd;			/* criu's */
};

struct rst_shmem_set {
	size_t nr;
	struct rst_shmem *v;
};

/* open files shared by processes of the tree, made once by criu (shared.c) */
struct rst_shared_files {
	uint32_t nr;
	int *fd;		/* criu's, by shared id 1..nr */
};

/* vdso, vvar, vsyscall: the kernel's, moved rather than mapped */
static inline bool rst_vma_special(VmaKind k)
{
	return k >= VMA_KIND__VMA_VDSO && k <= VMA_KIND__VMA_VSYSCALL;
}

/*
 * A private mapping never made writable has no commit charge (VM_ACCOUNT);
 * mapping it writable to fill it would add one and change how the kernel
 * merges it with its neighbours: it is filled through /proc/PID/mem
 */
static inline bool rst_vma_via_mem(const Vma *v)
{
	return (v->kind == VMA_KIND__VMA_FILE_PRIVATE || v->kind == VMA_KIND__VMA_ANON_PRIVATE) &&
	       !(v->vm_flags & VMA_F_ACCOUNT) && !(v->prot & PROT_WRITE);
}

struct rst_proc {
	pid_t pid;
	int parent;		/* index in the tree, -1 for the root */
	bool zombie;		/* only pe is loaded */
	Inventory *inv;		/* the tree's (not owned by the process) */
	PstreeEntry *pe;
	Core *core;		/* the leader's, with the process's signal actions */
	int nr_threads;		/* the leader and the others */
	Core **thread_cores;	/* of the other threads, in pstree order */
	Mm *mm;
	FsEntry *fs;
	FileEntry cwd_file;	/* a removed cwd (fs->cwd_ghost) as a file, for shmem.c */
	struct img_entries fds;		/* FdEntry */
	struct fd_rst files;		/* open file descriptions by id (criu/files/) */
	struct page_source pages;
	/* --lazy-pages: the memory left to the daemon, whose runs pages leaves out */
	struct page_skip *lazy_skip;
	size_t nr_lazy_skip;
	const struct rst_shmem_set *shm;	/* the tree's shared anonymous memory */
	const struct rst_shared_files *shared;	/* the tree's shared open files */
	/* the plan for its restorer, made by criu before anything is created */
	struct rst_region reg;
	struct rst_fds helpers;
	struct restore_args *args;
	uint64_t *premap;		/* per VMA of mm: its place in the premap area, or 0 */
	const struct rst_proc *fd_owner;	/* CLONE_FILES: whose fd table it shares, or NULL */
	int nr_sharers;			/* processes sharing its fd table (their fd_owner) */
	uint64_t premap_start, premap_end;	/* the tree's premap area */
	/* pid namespaces (criu/ns/pidns-restore.c) */
	int ns_depth;		/* its pid namespace's level (0: criu's at dump) */
	int ns_base;		/* the root's: 1 if the tree is restored in a new pid namespace */
	pid_t *real_tids;	/* each thread as criu sees it now, 0 until known */
	/* cgroups (cgroups-rst.c) */
	const CgroupEntry *cg;	/* its entry of cgroup.img, or NULL */
	int *cg_at;		/* its cgroups to join: indices in the tree's rst_cgroups */
	int nr_cg;
	int *cgns_at;		/* the root, in a cgroup namespace of its own: the namespace's root */
	int nr_cgns;
	bool cgns;		/* the root: makes a new cgroup namespace, there */
};

/* a cgroup directory of the tree here (cgroups-rst.c) */
struct rst_cgdir {
	char *dir;		/* criu's path of it */
	const char *controllers;
	const CgroupDir *saved;	/* its settings in cgroup.img, or NULL */
	int fd;			/* O_PATH, once made (rst_cgroups_make), else -1 */
	bool made;		/* made by criu */
};

/* a thread that was in other cgroups than its process: moved by criu at the end */
struct rst_cgthread {
	int proc, k;		/* the process (index) and its thread */
	int at;			/* the cgroup (rst_cgroups.d) */
};

struct rst_cgroups {
	struct img_entries img;	/* cgroup.img */
	int mode;		/* CG_MODE_* (cgroups-rst.c) */
	struct rst_cgdir *d;
	int nr;
	struct rst_cgthread *th;
	int nr_th;
};

/* the dump: every process, parents before children, [0] the root */
struct mnt_restore;

struct rst_tree {
	Inventory *inv;
	struct ns_images ns;	/* namespaces of its own (criu/ns/ns-restore.c) */
	struct rst_cgroups cg;	/* cgroup.img, the cgroups here (cgroups-rst.c) */
	size_t nr;
	struct rst_proc *procs;
	struct rst_shmem_set shm;
	struct rst_shared_files shared;
	struct fd_orphans orphans;	/* new masters of outside terminals, for their taker */
	uint64_t premap_start, premap_end;	/* premap.c */
	struct mnt_restore *mnt;	/* its own mount namespace (criu/ns/mnt.h), made by criu and its root */
};

/* mnt-reopen.c: in the root, pivoted into the tree's mount namespace: criu's files for the tree opened there again */
int rst_mnt_reopen(const struct rst_tree *t);

/*
 * criu/ns/pidns-restore.c: thread k of p at pid namespace level (0: the
 * pid criu saw at dump; 0 if not visible that deep); clone3's set_tid for
 * it (innermost level first, down to ns_base; returns the count); any
 * pid of the tree's images seen from level; the checks of pstree's
 * namespace fields and real_tids (filled when ns_base is 0); and a new
 * task criu sees as real, matched to its thread (real_tids filled).
 */
pid_t rst_ns_pid(const struct rst_proc *p, int k, int level);
int rst_ns_set_tid(const struct rst_proc *p, int k, pid_t *v);
pid_t rst_ns_translate(const struct rst_tree *t, pid_t pid, int level);
int rst_pidns_load(struct rst_tree *t);
int rst_ns_resolve(struct rst_tree *t, pid_t real, struct rst_proc **p, int *k);
/* the owners of files (F_SETOWN) as the processes see them in their pid namespaces */
int rst_ns_fix_owners(struct rst_tree *t);

/*
 * job-restop.c: a process dumped in a job-control stop.  _queue: its stop
 * signal, before its threads are detached; _settle: once they are (its
 * parent still traced), waits for the stop and puts the parent's stop
 * report and SIGCHLD as they were
 */
int rst_job_stop_queue(const struct rst_proc *p);
int rst_job_stop_settle(const struct rst_tree *t, size_t i);

/* sched-io-set.c: from outside, a held thread's affinity, ioprio, clamps; coredump_filter */
int rst_thread_sched_io(pid_t tid, const ThreadCore *tc);
int rst_coredump_filter(const struct rst_proc *p);

/* proc-tunables.c: oom_score_adj, loginuid, autogroup nice, set by the process itself */
int rst_proc_tunables(const struct rst_proc *p);

/*
 * cgroups-rst.c: cgroup.img per --manage-cgroups (CRIU's modes): _plan,
 * with the images: each process's cgroups here (under --cgroup-root),
 * nothing made; _make, by criu before the root: every cgroup made if
 * missing (or required to exist, or not to), the saved settings written
 * (cgroup-props-rst.c), each opened (O_PATH, inherited by the tree);
 * _unmake undoes that after a failure; _join, in the process itself,
 * first: moves it in through those fds (the root: into its cgroup
 * namespace's root, unshare, then into its own), so no path is needed
 * after a pivot; _threads, by criu once every task is at its last trap:
 * threads into their own cgroups; _free
 */
int rst_cgroups_plan(int dirfd, struct rst_tree *t, const struct opts *o);
int rst_cgroups_make(struct rst_tree *t);
void rst_cgroups_unmake(struct rst_tree *t);
int rst_cgroups_join(const struct rst_tree *t, const struct rst_proc *p);
int rst_cgroups_threads(const struct rst_tree *t);
void rst_cgroups_close(struct rst_tree *t);
void rst_cgroups_free(struct rst_tree *t);
/* cgroup-props-rst.c: the settings of d written into the cgroup at dirfd (dir: for messages) */
int rst_cgprops_write(int dirfd, const char *dir, const CgroupDir *d);

/* images.c: read and check every image of the dump in dirfd */
int rst_load_tree(int dirfd, const char *dir, const struct opts *o, struct rst_tree *t);
void rst_tree_free(struct rst_tree *t);

/* layout.c: pick and map the region where criu and the target leave room */
int rst_region_map(const struct rst_proc *p, uint64_t args_size, struct rst_region *r);
/* args.c: open helper fds and fill the restore_args in the region */
uint64_t rst_args_size(const struct rst_proc *p);
int rst_args_build(const struct rst_proc *p, const struct opts *o, struct rst_region *r,
		   struct rst_fds *fds, struct restore_args **out);
void rst_fds_close(struct rst_fds *fds);
/*
 * premap.c: private memory children share with their parent copy-on-write:
 * which mappings are made before the forks, and where (plan, in criu);
 * making them (prepare, in process i before it forks)
 */
int rst_premap_mark(struct rst_tree *t);	/* which (premap[k] = 1), with the images */
int rst_premap_plan(struct rst_tree *t);	/* where, once marked */
int rst_premap_prepare(const struct rst_tree *t, size_t i);
/* layout.c: reserves len bytes free in criu and every layout of the tree */
int rst_premap_reserve(const struct rst_tree *t, uint64_t len, uint64_t *out);
/* shared.c: the open files processes of the tree share, made in criu */
int rst_shared_open(struct rst_tree *t, const struct opts *o);
void rst_shared_close(struct rst_shared_files *s);
/* the masters of t->orphans to their taker (the orphan-pts-master step), closed */
int rst_orphans_hand(struct rst_tree *t, const struct opts *o, pid_t pid);
void rst_orphans_close(struct fd_orphans *o);
/* shmem.c: the shared anonymous objects of the tree, made in criu */
int rst_shmem_create(struct rst_tree *t);
void rst_shmem_close(struct rst_shmem_set *s);
/* the object dumped with inode (dev, ino): its index in s, or -1 */
int rst_shmem_index(const struct rst_shmem_set *s, uint64_t dev, uint64_t ino);
/*
 * child.c: runs in process i of the tree, still criu's code: sessions and
 * groups, its children (each continues here), fds, cwd, umask, then the
 * restorer
 */
void __attribute__((noreturn)) rst_child(struct rst_tree *t, size_t i, const struct opts *o);

/*
 * lazy.c: --lazy-pages.  Which memory is left to the daemon, the connection
 * to it (started if need be), checking the pages filled eagerly, taking a
 * copy of the process's userfaultfd at the final trap, and watching the
 * daemon until every page is in.
 */
void rst_lazy_plan(const struct rst_proc *p, struct restore_args *a);
/*
 * The spans of p's memory that will be lazy if they have pages: its lazy
 * mappings but the hot ranges (p->lazy_skip, sorted), for the page source
 * to leave out; needs p's mm, cores and premap marks.  0 or -1.
 */
int rst_lazy_skip(struct rst_proc *p);
/*
 * Whether [start, end) is filled eagerly: RST_EAGER (outside the lazy
 * ranges), RST_LAZY, or RST_HOT (in a lazy range, but the restorer fills
 * what of it overlaps a hot range: *hot bytes, if hot is not NULL)
 */
enum { RST_LAZY, RST_EAGER, RST_HOT };
int rst_lazy_eager(const struct restore_args *a, uint64_t start, uint64_t end, uint64_t *hot);
/* the daemon a restore started, if it did (its log is read from log_from on) */
struct rst_lazy_daemon {
	bool started;
	off_t log_from;
};
int rst_lazy_start(const struct opts *o, int dirfd, struct rst_lazy_daemon *dm);
void rst_lazy_abandon(const struct opts *o, int dirfd, const struct rst_lazy_daemon *dm);
int rst_lazy_connect(const struct opts *o, int dirfd, struct rst_lazy_daemon *dm);
/* --lazy-pages with no page server given, a daemon of one serving the
 * images: *ro is o with its page server (DIR/lazy-pages.remote) */
bool rst_lazy_daemon_remote(const struct opts *o, struct opts *ro);
int rst_lazy_verify_eager(const struct page_source *ps, const struct restore_args *a);
int rst_lazy_take_uffd(pid_t pid, const struct restore_args *a, int *ring);
/*
 * lazy-watch.c: holds the process's uffd (and its fork children's, handed
 * over by the daemon) until the daemon is done with them; kills them if it
 * goes away first.  Closes conn and uffd; -1 if something was killed.
 */
struct rst_lazy_proc;
int rst_lazy_watch(const struct rst_lazy_proc *l);
/* lazy-keep.c: fd (-1: none) into slot of the process's own io_uring */
int rst_lazy_keep_put(int ring, unsigned slot, int fd);
struct rst_lazy_guard {
	pthread_t thread;
	pid_t pid;
	int conn, stop[2];
	bool on;
};
int rst_lazy_guard_start(struct rst_lazy_guard *g, pid_t pid, int conn);
void rst_lazy_guard_stop(struct rst_lazy_guard *g);

/* one process of a lazily restored tree: each has its own connection */
struct rst_lazy_proc {
	pid_t pid;		/* as criu sees it (rst_lazy_set_pids) */
	pid_t ns_root;		/* in a new pid namespace: its init, else 0 */
	int conn, uffd;
	int ring;		/* the io_uring keeping uffd in the process (lazy-keep.c), or -1 */
	struct rst_lazy_guard guard;
};
struct rst_lazy_set {
	size_t nr;
	struct rst_lazy_proc *v;
	struct rst_lazy_daemon daemon;
};
int rst_lazy_set_connect(struct rst_lazy_set *s, const struct rst_tree *t, const struct opts *o,
			 int dirfd);
int rst_lazy_set_guard(struct rst_lazy_set *s);
/*
 * the pids to watch and kill, as criu sees them: in a new pid namespace
 * each process's once known (else its init's, which takes them all along)
 */
void rst_lazy_set_pids(struct rst_lazy_set *s, const struct rst_tree *t);
void rst_lazy_set_unguard(struct rst_lazy_set *s);
/* watches every process until its pages are in (closes everything); -1 if one was killed */
int rst_lazy_set_watch(struct rst_lazy_set *s);
/* a failed restore: the daemon must see the connections close before the processes go */
void rst_lazy_set_disconnect(struct rst_lazy_set *s);
void rst_lazy_set_close(struct rst_lazy_set *s);

/*
 * remote-pages.c: --lazy-pages with a page server.  Every page comes from
 * the server (the restore host needs no pages-*.img); the eager ones are
 * fetched and checked after rst_args_build, before the process exists.
 */
bool rst_remote_pages(const struct opts *o);
int rst_remote_fetch(const struct opts *o, struct rst_proc *p, const struct restore_args *a);

/*
 * plausible.c: values of a core or mm image that no dump produces (selectors,
 * flags, ranges, policies, capability sets ...) refused, one line naming the
 * image and the field; leader: the process's own core (sigactions, limits ...)
 */
int rst_plausible_core(const Core *c, bool leader, const char *name);
int rst_plausible_mm(const Mm *mm, const char *name);
int rst_plausible_rseq(const ThreadCore *tc, const Mm *mm, const char *name);

#endif /* CRIU_RESTORE_H */
