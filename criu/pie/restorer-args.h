/*
 * restorer-args.h - what criu hands to the restorer blob.
 *
 * criu builds one struct restore_args, with every array it points to, inside
 * the restorer region at its final address (so pointers are valid as they
 * are), forks the process to restore and jumps to the blob with the args in
 * rdi.  Shared by criu (builder) and the freestanding restorer (reader):
 * fixed-size types only, no libc types.
 */
#ifndef RESTORER_ARGS_H
#define RESTORER_ARGS_H

#include <linux/types.h>

#include "lazy-pages/socket-proto.h"

#define RST_MAX_SPECIAL	4

/* VmFlags of /proc/PID/smaps that restore reproduces (Vma.vm_flags) */
#define VMA_F_HUGEPAGE		(1u << 0)	/* hg: MADV_HUGEPAGE */
#define VMA_F_NOHUGEPAGE	(1u << 1)	/* nh: MADV_NOHUGEPAGE */
#define VMA_F_DONTFORK		(1u << 2)	/* dc: MADV_DONTFORK */
#define VMA_F_WIPEONFORK	(1u << 3)	/* wf: MADV_WIPEONFORK */
#define VMA_F_DONTDUMP		(1u << 4)	/* dd: MADV_DONTDUMP */
#define VMA_F_MERGEABLE		(1u << 5)	/* mg: MADV_MERGEABLE */
#define VMA_F_ACCOUNT		(1u << 6)	/* ac: was writable once (commit charged) */
#define VMA_F_NORESERVE		(1u << 7)	/* nr: MAP_NORESERVE */
#define VMA_F_UFFD_WP		(1u << 8)	/* uw: registered for uffd write-protect (not restored) */
#define VMA_F_RANDOM		(1u << 9)	/* rr: MADV_RANDOM */
#define VMA_F_SEQUENTIAL	(1u << 10)	/* sr: MADV_SEQUENTIAL */
#define VMA_F_LOCKED		(1u << 11)	/* lo: mlock (never lazy: locking faults it all in) */
#define VMA_F_LOCKONFAULT	(1u << 12)	/* lf: mlock2 MLOCK_ONFAULT */
#define VMA_F_MAYWRITE		(1u << 13)	/* mw: may be made writable (shared: its file was opened for writing) */
/* every VMA_F_ bit (restore refuses others: criu/restore/plausible.c); a new flag moves it */
#define VMA_F_ALL		((VMA_F_MAYWRITE << 1) - 1)

enum rst_vma_kind {
	RST_VMA_ANON_PRIVATE = 1,
	RST_VMA_ANON_SHARED = 2,
	RST_VMA_FILE_PRIVATE = 3,
	RST_VMA_FILE_SHARED = 4,
	RST_VMA_SYSV_SHM = 10,	/* attached (shmat) by the restorer: shmid */
};

struct rst_vma {
	__u64 start, end;
	__u64 pgoff;
	__u32 prot;		/* final protection */
	__u32 flags;		/* MAP_* for mmap, without MAP_FIXED */
	__u32 kind;		/* enum rst_vma_kind */
	__s32 fd;		/* for file mappings: an fd criu opened, else -1 */
	__u32 vm_flags;		/* VMA_F_* */
	__u32 via_mem;		/* not writable when mapped: fill through /proc/self/mem */
	__u32 lazy;		/* --lazy-pages: left empty, filled by the daemon */
	__u32 mpol_mode;	/* mbind mode and flags, 0: the default policy */
	__u64 mpol_nodes;	/* its nodes */
	__u64 premap;		/* already made and filled there (pages shared with the
				 * process's children): moved into place, not mapped; 0 if not */
	__u32 pkey;		/* its protection key (pkey_mprotect), 0: the default */
	__u32 shmid;		/* RST_VMA_SYSV_SHM: the segment */
};

struct rst_run {		/* a run of pages in a pages file */
	__u64 vaddr;
	__u64 nr_pages;
	__u64 file_off;
	__s32 fd;		/* the pages file (images of a chain have one each) */
	__u32 pad;
};

struct rst_special {		/* vdso/vvar area: where it is now, where it goes */
	__u64 cur_start, cur_end;
	__u64 dst_start;
};

struct rst_sigaction {		/* kernel's struct sigaction layout for x86_64 */
	__u64 handler;
	__u64 flags;
	__u64 restorer;
	__u64 mask;
};

struct rst_mm_map {		/* struct prctl_mm_map */
	__u64 start_code, end_code, start_data, end_data;
	__u64 start_brk, brk, start_stack;
	__u64 arg_start, arg_end, env_start, env_end;
	__u64 auxv;		/* pointer */
	__u32 auxv_size;
	__u32 exe_fd;
};

/* a signal to queue again: to thread tid, or to the process if tid is 0 */
struct rst_siginfo {
	__u32 tid;
	__u32 pad;
	__u8 info[128];
};

struct rst_itimer {
	__u64 interval_us, value_us;
};

struct rst_ptimer {			/* a POSIX timer, created again with its id */
	__s32 id, clock;
	__u32 signo, notify, tid, pad;
	__u64 sival, interval_ns, value_ns;
};

struct rst_rlimit {
	__u64 cur, max;
};

#define RST_NLIMITS	16

struct rst_filter {			/* struct sock_fprog */
	__u16 len;			/* instructions */
	__u16 pad[3];
	__u64 insns;			/* struct sock_filter * */
};

/* a thread's own state; the others are created by the restorer with their tid */
#define RST_NS_LEVELS 9		/* PIDNS_MAX_DEPTH + 1 (criu/ns/ns.h) */

struct rst_thread {
	__u32 tid;
	__u32 rseq_size, rseq_sig;
	__u32 sched_policy, sched_prio;
	__s32 nice;
	__u64 fs_base, gs_base;
	__u64 clear_tid_addr;
	__u64 rseq_ptr;			/* 0: none */
	__u64 robust_list, robust_len;	/* 0: none */
	__u64 timer_slack_ns;
	__u64 sigframe;			/* its own rt_sigframe */
	__u32 fpu_grow;			/* the frame holds AMX tile data: take the kernel's
					 * larger FPU buffer first (a tile instruction) */
	__u32 mpol_mode;		/* set_mempolicy mode and flags, 0: the default */
	__u64 mpol_nodes;
	__u32 tsc;			/* PR_SET_TSC mode (1: rdtsc allowed) */
	__u32 cpuid;			/* ARCH_SET_CPUID (1: cpuid allowed) */
	__s32 mce_kill;			/* PR_MCE_KILL policy (2: the default) */
	__u32 pdeathsig;		/* PR_SET_PDEATHSIG of the thread (0: none) */
	__u32 no_new_privs;		/* PR_SET_NO_NEW_PRIVS of the thread */
	__u32 has_personality, personality;	/* the thread's own execution domain */
	/* PR_GET_SPECULATION_CTRL values of store bypass, indirect branch,
	 * L1D flush at the dump; 0: not to be set (not settable) */
	__u32 spec[3];
	__u64 stack, stack_size;	/* where it runs until rt_sigreturn (not the leader) */
	char comm[16];
	/* clone3's set_tid: its tid from its own pid namespace up to the tree's */
	__u32 set_tid[RST_NS_LEVELS];
	__u32 nr_set_tid;
	__u32 pad_set_tid;

	/* credentials, set last: the restorer needs root's until then */
	__u32 uid[4], gid[4];		/* real, effective, saved, fs */
	__u32 ngroups;
	__u32 securebits;
	__u32 *groups;
	__u64 cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;

	/* seccomp: installed after a first trap, where criu suspends it for us */
	__u32 seccomp_mode;		/* 0 none, 1 strict, 2 filters */
	__u32 nr_filters;
	struct rst_filter *filters;	/* oldest first */
};

struct rst_owner {
	__s32 fd, tid;		/* the tid as the process sees it */
};

struct rst_prctl {
	__u32 dumpable, thp_disable, no_new_privs, child_subreaper, pdeathsig;
	__u32 personality;
	__u32 valid;			/* the fields above were dumped */
	__u32 mdwe;			/* PR_SET_MDWE flags, set last; 0: none */
	__u32 memory_merge;		/* PR_SET_MEMORY_MERGE: KSM merges every mapping */
};

struct restore_args {
	__u64 region_start, region_end;	/* the restorer's own mapping */
	__u64 premap_start, premap_end;	/* memory made before the fork (rst_vma.premap), kept
					 * until moved into place; 0, 0 if none */
	__u64 scratch_start;		/* free space in the region for moving vdso */
	__s32 log_fd;			/* error messages go here; closed at the end */
	__s32 err_fd;			/* criu's terminal, for errors too (-1: none) */
	__u32 page_size;
	__u32 nr_vmas;
	struct rst_vma *vmas;
	__u32 nr_runs;
	__u32 nr_special;
	struct rst_run *runs;
	struct rst_special special[RST_MAX_SPECIAL];

	__u64 xcomp_perm;		/* dynamic xstate features to ask for again
					 * (ARCH_REQ_XCOMP_PERM), one bit each */
	/* guard regions to install (MADV_GUARD_INSTALL): [start, end) pairs */
	__u32 nr_guards;
	__u32 pad_guards;
	__u64 *guards;
	/* state of the whole mm (criu/dump/mm-flags.c) */
	__u32 pkeys;			/* protection keys allocated (bit k: key k); 0: none asked */
	__u32 mlock_future;		/* mlockall flags for new mappings (MCL_FUTURE|MCL_ONFAULT) */
	__u32 membarrier;		/* private expedited registrations: plain, sync-core, rseq */
	__u32 pad_mm_flags;
	struct rst_mm_map mm_map;
	__u64 sigact_valid;		/* bit sig-1 set: sigactions[sig-1] to install */
	struct rst_sigaction sigactions[64];

	struct rst_thread leader;	/* the process's own thread (no stack: runs here) */

	__u32 nr_close_fds;		/* criu's helper fds to close at the end */
	__s32 *close_fds;


	/*
	 * --lazy-pages: once the map is final the restorer registers the lazy
	 * ranges with a new userfaultfd and sends them with it to the daemon
	 * on lazy_sock (socket-proto.h).  It leaves the uffd open in uffd for
	 * criu, which takes its own copy at the final trap and closes this one.
	 */
	__s32 lazy_sock;		/* -1: not a lazy restore */
	__s32 uffd;			/* written by the restorer */
	/*
	 * Written by the restorer: an io_uring whose file table holds the uffd
	 * (slot 0) and which the leader's io_uring context keeps (a registered
	 * ring: no fd, no mapping), so that the uffd lives as long as the
	 * process does; -errno if it could not be made.  criu takes a copy of
	 * this fd and closes it like the uffd (lazy-keep.c).
	 */
	__s32 lazy_ring;
#define LAZY_KEEP_SLOTS	64	/* the ring's files: the uffd, then fork children's */
	__u32 pid;			/* the process, as the images name it */
	__u32 nr_lazy;
	struct lazy_range *lazy;	/* sorted */
	/*
	 * Pages of lazy ranges filled here all the same, before the uffd is
	 * registered: each thread's rseq area, which the kernel writes before
	 * the process runs (rseq registration, the return to user), and the
	 * top of its stack, where criu's last injected syscalls put their
	 * frame: served by the daemon, restore waited for it to open the
	 * images (20 ms at 4 GiB).  A hot page the images have no data for is
	 * made a zero page here.
	 */
	__u32 nr_hot;
	__u32 pad_hot;
	struct lazy_range *hot;

	/* the other threads, created once memory and signal actions are in place */
	__u32 nr_threads;
	__u32 threads_ready;		/* written by the restorer: threads past their last
					 * fallible step (the leader waits for them all
					 * before closing criu's fds, so that a failing
					 * thread's message still reaches criu's stderr) */
	struct rst_thread *threads;

	/* the rest of the process's state, set last */
	__u32 nr_rlimits;
	__u32 nr_siginfo;
	struct rst_rlimit rlimits[RST_NLIMITS];
	struct rst_itimer itimers[3];	/* ITIMER_REAL, _VIRTUAL, _PROF */
	struct rst_siginfo *siginfo;	/* queued in order, after the threads exist */
	struct rst_prctl prctl;
	__u32 nr_ptimers;
	__u32 nr_owners;
	struct rst_ptimer *ptimers;
	/* files owned by one of its other threads (F_SETOWN_EX F_OWNER_TID):
	 * set once the threads exist */
	struct rst_owner *owners;
};

/* the blob's entry point, at offset 0: never returns */
typedef void (*restorer_entry_t)(struct restore_args *args);

#endif /* RESTORER_ARGS_H */
