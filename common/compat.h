/*
 * compat.h - kernel constants and structures that Debian 12's linux-libc-dev
 * (6.1) lacks.  Values are those of the kernel's uapi headers (linux/fs.h,
 * linux/userfaultfd.h, linux/ptrace.h).  Everything the project needs and
 * the distribution headers may miss is defined here and nowhere else.
 */
#ifndef COMMON_COMPAT_H
#define COMMON_COMPAT_H

#include <stdint.h>
#include <linux/types.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

/* PAGEMAP_SCAN (linux/fs.h, 6.7+) */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED	(1 << 0)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PAGE_IS_FILE		(1 << 2)
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_SWAPPED		(1 << 4)
#define PAGE_IS_PFNZERO		(1 << 5)
#define PAGE_IS_HUGE		(1 << 6)
#define PAGE_IS_SOFT_DIRTY	(1 << 7)

struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

#define PM_SCAN_WP_MATCHING	(1 << 0)
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN	_IOWR('f', 16, struct pm_scan_arg)
#endif

#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD		(1 << 8)
#endif

/* userfaultfd features newer than 6.1 */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON		(1 << 14)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE		(1 << 16)
#endif

#ifndef UFFDIO_POISON
/* UFFDIO_POISON (6.6+): a page that raises SIGBUS instead of reading zeros */
struct uffdio_poison {
	struct uffdio_range range;
	__u64 mode;
	__s64 updated;
};
#define _UFFDIO_POISON		(0x08)
#define UFFDIO_POISON		_IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)
#endif

/* ptrace */
/* PTRACE_GET_RSEQ_CONFIGURATION itself comes from glibc's <sys/ptrace.h>;
 * glibc's <sys/ptrace.h> and <linux/ptrace.h> conflict; our own copy */
struct rseq_configuration {
	__u64 rseq_abi_pointer;
	__u32 rseq_abi_size;
	__u32 signature;
	__u32 flags;
	__u32 pad;
};

/* PTRACE_GET_SYSCALL_INFO: the op byte first (linux/ptrace.h, which conflicts) */
#define PTRACE_SYSCALL_INFO_ENTRY_	1
#define PTRACE_SYSCALL_INFO_EXIT_	2

/* prctl capabilities we check for */
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE	40
#endif

/* x86 xsave signal frame magics (asm/sigcontext.h) */
#define XSAVE_FP_MAGIC1		0x46505853U
#define XSAVE_FP_MAGIC2		0x46505845U

/* dynamically enabled xstate features (asm/prctl.h, Linux 5.16) */
#ifndef ARCH_GET_XCOMP_PERM
#define ARCH_GET_XCOMP_PERM	0x1022
#define ARCH_REQ_XCOMP_PERM	0x1023
#endif
#define XFEATURE_XTILEDATA	18
#define XFEATURE_MASK_DYNAMIC	(1ULL << XFEATURE_XTILEDATA)	/* XFD-armed until first use */

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE		0x202
#endif

/*
 * struct sched_attr (linux/sched/types.h): that header cannot be included
 * with glibc's <sched.h> (struct sched_param twice), so it is repeated here
 * under its own name, with the utilization clamps (5.3+).
 */
struct sched_attr_ {
	__u32 size, sched_policy;
	__u64 sched_flags;
	__s32 sched_nice;
	__u32 sched_priority;
	__u64 sched_runtime, sched_deadline, sched_period;
	__u32 sched_util_min, sched_util_max;
};
#define SCHED_FLAG_KEEP_POLICY_	0x08
#define SCHED_FLAG_KEEP_PARAMS_	0x10
#define SCHED_FLAG_UTIL_CLAMP_	0x60	/* _MIN | _MAX */
#define UCLAMP_MAX_VALUE	1024	/* SCHED_CAPACITY_SCALE: no clamp */
#define SCHED_DEADLINE_		6

/* memory-deny-write-execute (linux/prctl.h, 6.3+) */
#define PR_SET_MDWE_		65
#define PR_GET_MDWE_		66
#define PR_SET_MEMORY_MERGE_	67
#define PR_GET_MEMORY_MERGE_	68

/* linux/ptrace.h, 6.4+ */
#define PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG_	0x4211

/* SOL_SOCKET options (asm-generic/socket.h, 6.5+, 6.14+, 6.16+) */
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD		76
#endif
#ifndef SO_RCVPRIORITY
#define SO_RCVPRIORITY		82
#endif
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS		83
#endif

/* inet socket options: linux/in.h 6.3+, linux/in6.h (glibc lacks it),
 * linux/tcp.h 6.15+ */
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE	51
#endif
#ifndef IPV6_FLOWINFO_SEND
#define IPV6_FLOWINFO_SEND	33
#endif
#ifndef TCP_RTO_MAX_MS
#define TCP_RTO_MAX_MS		44
#endif
#ifndef TCP_RTO_MIN_US
#define TCP_RTO_MIN_US		45
#endif
#ifndef TCP_DELACK_MAX_US
#define TCP_DELACK_MAX_US	46
#endif

/* pidfd_open flags (linux/pidfd.h, which clashes with fcntl.h): PIDFD_THREAD 6.9+ */
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK		O_NONBLOCK
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD		O_EXCL
#endif

/* the mqueue filesystem's statfs f_type (ipc/mqueue.c; no uapi header has it) */
#define MQUEUE_MAGIC_		0x19800202

#endif /* COMMON_COMPAT_H */
