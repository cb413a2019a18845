/*
 * restorer.c - the code that turns a fork of criu into the dumped process.
 *
 * Runs with no libc from its own region (blob, arguments, stack), which
 * criu placed where neither criu's layout nor the target's needs the space.
 * Steps: park the vdso/vvar areas in the region, unmap everything else, move
 * the vdso/vvar areas to their dumped addresses, map every VMA, read pages
 * straight into place, set protections, mm fields (PR_SET_MM_MAP), signal
 * actions, TLS bases, rseq; close criu's helper fds; then stop on int3 so
 * that criu (our tracer) sees the end, and rt_sigreturn into the dumped
 * registers and FPU state.  criu unmaps this region afterwards.
 *
 * On any failure: one line on the log fd and exit_group(2).
 */
#include <linux/types.h>
#include <asm/prctl.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/ioctl.h>
#include <linux/userfaultfd.h>
#include <linux/io_uring.h>

#include "criu/pie/restorer-args.h"
#include "criu/pie/sys.h"

#define MREMAP_MAYMOVE	1
#define MREMAP_FIXED	2
#define TASK_SIZE_47	0x7ffffffff000UL
#define SIG_SETMASK	2
#define SHM_RDONLY_	010000
#define SHM_EXEC_	0100000
#define MADV_RANDOM_	1
#define MADV_SEQUENTIAL_ 2
#define MADV_DONTFORK_	10
#define MADV_MERGEABLE_	12
#define MADV_HUGEPAGE_	14
#define MADV_NOHUGEPAGE_ 15
#define MADV_DONTDUMP_	16
#define MADV_WIPEONFORK_ 18
#define MADV_POPULATE_WRITE_ 23

#define O_RDWR_		2
#define O_NONBLOCK_	04000
#define O_CLOEXEC_	02000000
#define UFFD_FEATURE_POISON_	(1 << 14)

static char *put_hex(char *p, unsigned long v)
{
	char tmp[16];
	int n = 0;
	*p++ = '0';
	*p++ = 'x';
	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_str(char *p, const char *s, unsigned long max)
{
	for (unsigned long i = 0; s[i] && i < max; i++)
		*p++ = s[i];
	return p;
}

static char *put_dec(char *p, unsigned long v)
{
	char d[20];
	int k = 0;
	do {
		d[k++] = '0' + v % 10;
		v /= 10;
	} while (v && k < 20);
	while (k)
		*p++ = d[--k];
	return p;
}

/*
 * "error: restorer: pid P[ thread T]: WHAT ADDR: errno N" and exit: the
 * thread is the one failing (its tid is the dumped one)
 */
static void __attribute__((noreturn)) fail(struct restore_args *a, const char *what,
					   unsigned long addr, long ret)
{
	char buf[200], *p = buf;
	long pid = sys0(__NR_getpid), tid = sys0(__NR_gettid);

	p = put_str(p, "error: restorer: pid ", 32);
	p = put_dec(p, pid);
	if (tid != pid) {
		p = put_str(p, " thread ", 16);
		p = put_dec(p, tid);
	}
	p = put_str(p, ": ", 4);
	p = put_str(p, what, 80);
	*p++ = ' ';
	p = put_hex(p, addr);
	p = put_str(p, ": errno ", 16);
	p = put_dec(p, -ret);
	*p++ = '\n';
	sys3(__NR_write, a->log_fd, buf, p - buf);
	if (a->err_fd >= 0)
		sys3(__NR_write, a->err_fd, buf, p - buf);
	for (;;)
		sys1(__NR_exit_group, 2);
}

static void move_special(struct restore_args *a, int to_final)
{
	__u64 base = a->special[0].cur_start;

	for (__u32 i = 0; i < a->nr_special; i++)
		if (a->special[i].cur_start < base)
			base = a->special[i].cur_start;
	for (__u32 i = 0; i < a->nr_special; i++) {
		struct rst_special *s = &a->special[i];
		__u64 len = s->cur_end - s->cur_start;
		__u64 parked = a->scratch_start + (s->cur_start - base);
		__u64 from = to_final ? parked : s->cur_start;
		__u64 to = to_final ? s->dst_start : parked;
		long r;

		if (from == to)
			continue;
		r = sys5(__NR_mremap, from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (IS_ERR(r))
			fail(a, "cannot move vdso/vvar area", from, r);
	}
}

/* everything but the restorer's region and the memory made before the fork */
static void unmap_all_but_kept(struct restore_args *a)
{
	__u64 keep[2][2] = { { a->region_start, a->region_end }, { a->premap_start, a->premap_end } };
	__u64 from = 0;
	long r;

	if (keep[1][0] && keep[1][0] < keep[0][0]) {
		keep[1][0] = a->region_start;
		keep[1][1] = a->region_end;
		keep[0][0] = a->premap_start;
		keep[0][1] = a->premap_end;
	}
	for (int k = 0; k < 2; k++) {
		if (!keep[k][1])
			continue;
		if (keep[k][0] > from) {
			r = sys2(__NR_munmap, from, keep[k][0] - from);
			if (IS_ERR(r))
				fail(a, "cannot unmap below", keep[k][0], r);
		}
		from = keep[k][1];
	}
	r = sys2(__NR_munmap, from, TASK_SIZE_47 - from);
	if (IS_ERR(r))
		fail(a, "cannot unmap above", from, r);
}

/* its NUMA memory policy (mbind), before it is filled */
static void set_vma_policy(struct restore_args *a, const struct rst_vma *v)
{
	if (!v->mpol_mode)
		return;
	long r = sys6(__NR_mbind, v->start, v->end - v->start, v->mpol_mode,
		      (long)&v->mpol_nodes, 65, 0);
	if (IS_ERR(r))
		fail(a, "cannot set the memory policy of vma", v->start, r);
}

static void map_vmas(struct restore_args *a)
{
	for (__u32 i = 0; i < a->nr_vmas; i++) {
		struct rst_vma *v = &a->vmas[i];
		__u32 prot = v->prot;
		long r;

		if (v->premap) {
			/* made and filled before the fork: its children share its pages */
			r = sys5(__NR_mremap, v->premap, v->end - v->start, v->end - v->start,
				 MREMAP_MAYMOVE | MREMAP_FIXED, v->start);
			if (IS_ERR(r) || (__u64)r != v->start)
				fail(a, "cannot move premapped vma", v->start, r);
			set_vma_policy(a, v);
			continue;
		}

		if (v->kind == RST_VMA_SYSV_SHM) {
			/* the segment the ipc namespace's restore made, with its contents */
			long fl = (v->prot & PROT_WRITE ? 0 : SHM_RDONLY_) | (v->prot & PROT_EXEC ? SHM_EXEC_ : 0);
			r = sys3(__NR_shmat, v->shmid, v->start, fl);
			if (IS_ERR(r) || (__u64)r != v->start)
				fail(a, "cannot attach SysV shared memory segment", v->shmid, r);
			set_vma_policy(a, v);
			continue;
		}
		/*
		 * Mapped writable to be filled, then protected; but shared file
		 * mappings need no filling and mappings that were never writable
		 * keep their protection (they are filled through /proc/self/mem).
		 */
		if (v->kind != RST_VMA_FILE_SHARED && !v->via_mem)
			prot = PROT_READ | PROT_WRITE;
		r = sys6(__NR_mmap, v->start, v->end - v->start, prot, v->flags | MAP_FIXED,
			 v->fd, v->pgoff);
		if (IS_ERR(r) || (__u64)r != v->start)
			fail(a, "cannot map vma", v->start, r);
		set_vma_policy(a, v);
	}
}

/* copies len bytes at off in the pages file to addr through /proc/self/mem */
static void fill_via_mem(struct restore_args *a, int memfd, const struct rst_run *run)
{
	__u64 addr = run->vaddr, len = run->nr_pages * a->page_size, off = run->file_off;
	char buf[4096];

	for (__u64 done = 0; done < len; done += sizeof(buf)) {
		long r = sys4(__NR_pread64, run->fd, buf, sizeof(buf), off + done);
		if (r != sizeof(buf))
			fail(a, "cannot read pages for", addr + done, r < 0 ? r : -5);
		r = sys4(__NR_pwrite64, memfd, buf, sizeof(buf), addr + done);
		if (r != sizeof(buf))
			fail(a, "cannot write pages through /proc/self/mem at", addr + done,
			     r < 0 ? r : -5);
	}
}

/* a run of a lazy VMA: only what overlaps a hot range (restorer-args.h) */
static void fill_hot(struct restore_args *a, const struct rst_run *run)
{
	__u64 end = run->vaddr + run->nr_pages * a->page_size;

	for (__u32 k = 0; k < a->nr_hot; k++) {
		__u64 s = a->hot[k].start > run->vaddr ? a->hot[k].start : run->vaddr;
		__u64 e = a->hot[k].end < end ? a->hot[k].end : end;
		if (s >= e)
			continue;
		long r = sys4(__NR_pread64, run->fd, s, e - s, run->file_off + (s - run->vaddr));
		if (r != (long)(e - s))
			fail(a, "cannot read pages into", s, r < 0 ? r : -5);
	}
}

/*
 * the hot pages no run filled are zero pages: made now, or the first touch
 * would wait for the daemon (a failure here only leaves that wait)
 */
static void zero_hot(struct restore_args *a)
{
	for (__u32 k = 0; k < a->nr_hot; k++)
		sys3(__NR_madvise, a->hot[k].start, a->hot[k].end - a->hot[k].start, MADV_POPULATE_WRITE_);
}

static void fill_pages(struct restore_args *a)
{
	__u32 vi = 0;
	int memfd = -1;

	for (__u32 i = 0; i < a->nr_runs; i++) {
		struct rst_run *run = &a->runs[i];
		__u64 len = run->nr_pages * a->page_size, done = 0;

		while (vi < a->nr_vmas && a->vmas[vi].end <= run->vaddr)
			vi++;
		if (vi < a->nr_vmas && a->vmas[vi].lazy) {
			fill_hot(a, run);	/* the rest: the lazy-pages daemon brings it in */
			continue;
		}
		if (vi < a->nr_vmas && a->vmas[vi].premap)
			continue;	/* filled already */
		if (vi < a->nr_vmas && a->vmas[vi].via_mem) {
			if (memfd < 0) {
				memfd = sys3(__NR_open, "/proc/self/mem", O_RDWR_ | O_CLOEXEC_, 0);
				if (memfd < 0)
					fail(a, "cannot open /proc/self/mem for", run->vaddr, memfd);
			}
			fill_via_mem(a, memfd, run);
			continue;
		}
		/* fault the run's pages in one call rather than one fault per page */
		sys3(__NR_madvise, run->vaddr, len, MADV_POPULATE_WRITE_);
		while (done < len) {
			long r = sys4(__NR_pread64, run->fd, run->vaddr + done, len - done,
				      run->file_off + done);
			if (r <= 0)
				fail(a, "cannot read pages into", run->vaddr + done, r ? r : -5);
			done += r;
		}
	}
	if (memfd >= 0)
		sys1(__NR_close, memfd);
}

#define MADV_GUARD_INSTALL_ 102

/* guard regions, once the pages around them are in (installing one zaps its pages) */
static void install_guards(struct restore_args *a)
{
	for (__u32 i = 0; i < a->nr_guards; i++) {
		__u64 s = a->guards[2 * i], e = a->guards[2 * i + 1];
		long r = sys3(__NR_madvise, s, e - s, MADV_GUARD_INSTALL_);
		if (IS_ERR(r))
			fail(a, "cannot install a guard region", s, r);
	}
}

/*
 * The protection keys the process had allocated, before any mapping is
 * given one: every free key is taken (the lowest first), those it did not
 * have are given back.  Each thread's PKRU comes back with its xstate.
 */
static void restore_pkeys(struct restore_args *a)
{
	__u32 got = 1;	/* key 0 is always allocated */

	if ((a->pkeys & ~1u) == 0)
		return;
	for (int n = 0; n < 32; n++) {
		long k = sys2(__NR_pkey_alloc, 0, 0);
		if (IS_ERR(k) || k >= 32)
			break;
		got |= 1u << k;
	}
	if ((got & a->pkeys) != a->pkeys)
		fail(a, "cannot allocate the protection keys the process had", a->pkeys, -28);
	for (long k = 1; k < 32; k++)
		if ((got >> k & 1) && !(a->pkeys >> k & 1))
			sys1(__NR_pkey_free, k);
}

static void protect_vmas(struct restore_args *a)
{
	static const struct { __u32 bit; int advice; } adv[] = {
		{ VMA_F_HUGEPAGE, MADV_HUGEPAGE_ }, { VMA_F_NOHUGEPAGE, MADV_NOHUGEPAGE_ },
		{ VMA_F_DONTFORK, MADV_DONTFORK_ }, { VMA_F_WIPEONFORK, MADV_WIPEONFORK_ },
		{ VMA_F_DONTDUMP, MADV_DONTDUMP_ }, { VMA_F_MERGEABLE, MADV_MERGEABLE_ },
		{ VMA_F_RANDOM, MADV_RANDOM_ }, { VMA_F_SEQUENTIAL, MADV_SEQUENTIAL_ },
	};

	for (__u32 i = 0; i < a->nr_vmas; i++) {
		struct rst_vma *v = &a->vmas[i];
		__u64 len = v->end - v->start;
		long r;

		if (v->pkey) {
			r = sys4(__NR_pkey_mprotect, v->start, len, v->prot, v->pkey);
			if (IS_ERR(r))
				fail(a, "cannot give a vma its protection key", v->start, r);
		} else if (v->kind != RST_VMA_FILE_SHARED && v->kind != RST_VMA_SYSV_SHM && !v->via_mem &&
			   v->prot != (PROT_READ | PROT_WRITE)) {
			r = sys3(__NR_mprotect, v->start, len, v->prot);
			if (IS_ERR(r))
				fail(a, "cannot protect vma", v->start, r);
		}
		for (unsigned k = 0; k < sizeof(adv) / sizeof(adv[0]); k++) {
			if (!(v->vm_flags & adv[k].bit))
				continue;
			r = sys3(__NR_madvise, v->start, len, adv[k].advice);
			/* KSM may be compiled out: merging is only a hint */
			if (IS_ERR(r) && adv[k].bit != VMA_F_MERGEABLE)
				fail(a, "cannot madvise vma", v->start, r);
		}
		if (v->vm_flags & VMA_F_LOCKED) {
			/* MLOCK_ONFAULT (1): locked as its pages come */
			r = sys3(__NR_mlock2, v->start, len, v->vm_flags & VMA_F_LOCKONFAULT ? 1 : 0);
			if (IS_ERR(r))
				fail(a, "cannot lock vma", v->start, r);
		}
	}
}

/*
 * The uffd kept by the process itself, out of sight: a one-entry io_uring
 * holds it in its file table (slot 0; the others for the uffds of children
 * forked while pages arrive, lazy-keep.c) and the leader's io_uring
 * context holds the ring (IORING_REGISTER_RING_FDS), so neither shows in
 * its fds or its map once criu has closed the ring's fd.  Should the
 * daemon and criu both die, no close of theirs drops the last reference:
 * a missing page blocks the thread that touches it, never reads as zero.
 */
static long lazy_keep(long uffd)
{
	struct io_uring_params p = { 0 };
	__s32 fds[LAZY_KEEP_SLOTS];
	long ring, r;

	ring = sys2(__NR_io_uring_setup, 1, &p);
	if (IS_ERR(ring))
		return ring;
	fds[0] = (__s32)uffd;
	for (int i = 1; i < LAZY_KEEP_SLOTS; i++)
		fds[i] = -1;
	r = sys4(__NR_io_uring_register, ring, IORING_REGISTER_FILES, fds, LAZY_KEEP_SLOTS);
	if (!IS_ERR(r)) {
		struct io_uring_rsrc_update u = { .offset = ~0u, .data = (__u64)ring };
		r = sys4(__NR_io_uring_register, ring, IORING_REGISTER_RING_FDS, &u, 1);
	}
	if (IS_ERR(r)) {
		sys1(__NR_close, ring);
		return r;
	}
	return ring;
}

/*
 * --lazy-pages: the map is final; the lazy ranges are empty but for their
 * hot pages (the threads' rseq areas, filled by fill_hot).  Register them
 * with a userfaultfd of this process and hand it to the daemon; from here
 * on, touching them (the kernel too) is served by it.
 */
static void lazy_setup(struct restore_args *a)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP |
			    UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP |
			    UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_POISON_,
	};
	struct lazy_hello hello = { LAZY_PROTO_MAGIC, LAZY_PROTO_VERSION, a->pid, a->nr_lazy };
	long uffd, r;

	uffd = sys1(__NR_userfaultfd, O_CLOEXEC_ | O_NONBLOCK_);
	if (IS_ERR(uffd))
		fail(a, "cannot create a userfaultfd for pid", a->pid, uffd);
	r = sys3(__NR_ioctl, uffd, UFFDIO_API, &api);
	if (IS_ERR(r))
		fail(a, "userfaultfd refuses the features lazy restore needs", api.features, r);
	for (__u32 i = 0; i < a->nr_lazy; i++) {
		struct uffdio_register reg = {
			.range = { a->lazy[i].start, a->lazy[i].end - a->lazy[i].start },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};
		r = sys3(__NR_ioctl, uffd, UFFDIO_REGISTER, &reg);
		if (IS_ERR(r))
			fail(a, "cannot register lazy range", a->lazy[i].start, r);
	}

	struct k_iovec iov[2] = {
		{ &hello, sizeof(hello) },
		{ a->lazy, a->nr_lazy * sizeof(struct lazy_range) },
	};
	/* the daemon signals the process through it (in any pid namespace) */
	long pidfd = sys2(__NR_pidfd_open, sys0(__NR_getpid), 0);
	if (IS_ERR(pidfd))
		fail(a, "cannot make a pidfd for the lazy-pages daemon, pid", a->pid, pidfd);
	struct k_cmsg_2fd cm = { 16 + 2 * sizeof(int), K_SOL_SOCKET, K_SCM_RIGHTS,
				 { (int)uffd, (int)pidfd } };
	struct k_msghdr mh = { 0, 0, iov, 2, &cm, sizeof(cm), 0 };
	__u64 total = iov[0].len + iov[1].len;
	r = sys3(__NR_sendmsg, a->lazy_sock, &mh, K_MSG_NOSIGNAL);
	sys1(__NR_close, pidfd);
	if (IS_ERR(r) || r == 0)
		fail(a, "cannot send the userfaultfd to the lazy-pages daemon, pid", a->pid, r ? r : -32);
	/* the rest of a long list of ranges, without the fd */
	for (__u64 sent = r; sent < total; sent += r) {
		__u64 in_ranges = sent - iov[0].len;
		r = sys6(__NR_sendto, a->lazy_sock, (long)((char *)a->lazy + in_ranges),
			 (long)(total - sent), K_MSG_NOSIGNAL, 0, 0);
		if (IS_ERR(r) || r == 0)
			fail(a, "cannot send the lazy ranges to the daemon, pid", a->pid, r ? r : -32);
	}
	a->uffd = uffd;	/* criu takes its own copy at the final trap, and closes this one */
	a->lazy_ring = (__s32)lazy_keep(uffd);	/* the same */
}

static void restore_signals(struct restore_args *a)
{
	for (int sig = 1; sig <= 64; sig++) {
		if (!(a->sigact_valid & (1ULL << (sig - 1))))
			continue;
		long r = sys4(__NR_rt_sigaction, sig, &a->sigactions[sig - 1], 0, 8);
		if (IS_ERR(r))
			fail(a, "cannot restore the action of signal", sig, r);
	}
}

#define SECBIT_KEEP_CAPS_	(1 << 4)
#define SECBIT_NO_SETUID_FIXUP_	(1 << 2)
#define PR_CAP_AMBIENT_		47
#define PR_CAP_AMBIENT_RAISE_	2
#define PR_CAP_AMBIENT_CLEAR_ALL_ 4
#define CAP_VERSION_3_		0x20080522

struct cap_header_ {
	__u32 version;
	int pid;
};

struct cap_data_ {
	__u32 effective, permitted, inheritable;
};

/* the calling thread's effective and permitted sets */
static void capget_(__u64 *eff, __u64 *prm)
{
	struct cap_header_ h = { CAP_VERSION_3_, 0 };
	struct cap_data_ d[2] = { { 0 } };

	sys2(__NR_capget, &h, d);
	*eff = d[0].effective | (__u64)d[1].effective << 32;
	*prm = d[0].permitted | (__u64)d[1].permitted << 32;
}

static void capset_(struct restore_args *a, __u64 eff, __u64 prm, __u64 inh)
{
	struct cap_header_ h = { CAP_VERSION_3_, 0 };
	struct cap_data_ d[2] = {
		{ (__u32)eff, (__u32)prm, (__u32)inh },
		{ (__u32)(eff >> 32), (__u32)(prm >> 32), (__u32)(inh >> 32) },
	};
	long r = sys2(__NR_capset, &h, d);
	if (IS_ERR(r))
		fail(a, "cannot set capabilities, effective", eff, r);
}

/*
 * A thread's credentials, in an order that keeps the privileges each step
 * needs until the last: ids with the capabilities kept, then the bounding
 * set, inheritable and ambient capabilities, securebits, and at last the
 * effective and permitted sets.
 */
static void restore_creds(struct restore_args *a, const struct rst_thread *t)
{
	long r = sys5(__NR_prctl, PR_SET_SECUREBITS, SECBIT_KEEP_CAPS_ | SECBIT_NO_SETUID_FIXUP_, 0, 0, 0);
	if (IS_ERR(r))
		fail(a, "cannot keep capabilities across the uid change", 0, r);
	r = sys2(__NR_setgroups, t->ngroups, t->groups);
	if (IS_ERR(r))
		fail(a, "cannot set supplementary groups", t->ngroups, r);
	r = sys3(__NR_setresgid, t->gid[0], t->gid[1], t->gid[2]);
	if (IS_ERR(r))
		fail(a, "cannot set gids", t->gid[1], r);
	sys1(__NR_setfsgid, t->gid[3]);
	r = sys3(__NR_setresuid, t->uid[0], t->uid[1], t->uid[2]);
	if (IS_ERR(r))
		fail(a, "cannot set uids", t->uid[1], r);
	sys1(__NR_setfsuid, t->uid[3]);
	for (int cap = 0; cap < 64; cap++) {
		if (t->cap_bnd & (1ULL << cap))
			continue;
		r = sys5(__NR_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0);
		if (IS_ERR(r) && r != -22)	/* EINVAL: no such capability */
			fail(a, "cannot drop from the bounding set capability", cap, r);
	}
	__u64 eff, prm;
	capget_(&eff, &prm);
	capset_(a, eff, prm, t->cap_inh);
	sys5(__NR_prctl, PR_CAP_AMBIENT_, PR_CAP_AMBIENT_CLEAR_ALL_, 0, 0, 0);
	for (int cap = 0; cap < 64; cap++)
		if (t->cap_amb & (1ULL << cap)) {
			r = sys5(__NR_prctl, PR_CAP_AMBIENT_, PR_CAP_AMBIENT_RAISE_, cap, 0, 0);
			if (IS_ERR(r))
				fail(a, "cannot raise ambient capability", cap, r);
		}
	r = sys5(__NR_prctl, PR_SET_SECUREBITS, t->securebits, 0, 0, 0);
	if (IS_ERR(r))
		fail(a, "cannot set securebits", t->securebits, r);
	capset_(a, t->cap_eff, t->cap_prm, t->cap_inh);
	/* a change of credentials resets dumpable and the parent-death signal
	 * (each thread has its own; images without it: the leader's only) */
	if (a->prctl.valid)
		sys5(__NR_prctl, PR_SET_DUMPABLE, a->prctl.dumpable, 0, 0, 0);
	__u32 pd = t->pdeathsig ? t->pdeathsig : t == &a->leader && a->prctl.valid ? a->prctl.pdeathsig : 0;
	if (pd && IS_ERR(r = sys5(__NR_prctl, PR_SET_PDEATHSIG, pd, 0, 0, 0)))
		fail(a, "cannot set the parent-death signal", pd, r);
	/* a thread's own no_new_privs (the leader's is set last, with the process's prctls) */
	if (t != &a->leader && t->no_new_privs && IS_ERR(r = sys5(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)))
		fail(a, "cannot set the thread's no_new_privs", 1, r);
}

#define SECCOMP_SET_MODE_FILTER_ 1
#define SECCOMP_MODE_STRICT_	1
/* the filter leaves the speculation controls alone (set_speculation set them) */
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW_ (1UL << 2)

/*
 * The thread's seccomp filters.  criu, at the trap just before, suspended
 * seccomp for this traced thread: the filters do not apply to what the
 * restorer and criu still do, only to the program once criu detaches.
 */
static void restore_seccomp(struct restore_args *a, const struct rst_thread *t)
{
	__asm__ volatile("int3" ::: "memory");
	if (t->seccomp_mode == SECCOMP_MODE_STRICT_) {
		long r = sys5(__NR_prctl, PR_SET_SECCOMP, SECCOMP_MODE_STRICT_, 0, 0, 0);
		if (IS_ERR(r))
			fail(a, "cannot enter seccomp strict mode", 0, r);
		return;
	}
	for (__u32 i = 0; i < t->nr_filters; i++) {
		long r = sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER_, SECCOMP_FILTER_FLAG_SPEC_ALLOW_,
			      &t->filters[i]);
		if (IS_ERR(r))
			fail(a, "cannot install seccomp filter", i, r);
	}
}

#define SCHED_RESET_ON_FORK_	0x40000000
#define PRIO_PROCESS_		0

/* the permission for dynamic xstate features (AMX tiles) the process had */
static void restore_xcomp_perm(struct restore_args *a)
{
	for (int bit = 0; bit < 64; bit++) {
		if (!(a->xcomp_perm >> bit & 1))
			continue;
		long r = sys2(__NR_arch_prctl, ARCH_REQ_XCOMP_PERM, bit);
		if (IS_ERR(r))
			fail(a, "cannot get the permission for xstate feature", bit, r);
	}
}

/*
 * A thread's FPU buffer holds tile data only once the thread has used a
 * tile instruction (the kernel grows it on that first #NM): configure one
 * tile, zero it (the growing fault), release the tiles.  rt_sigreturn then
 * takes a frame with tile data.
 */
static void grow_fpu_buffer(void)
{
	static const __u8 cfg[64] __attribute__((aligned(64))) = {
		[0] = 1,			/* palette 1 */
		[16] = 64,			/* tmm0: 64 bytes a row */
		[48] = 1,			/* tmm0: one row */
	};
	__asm__ volatile(".byte 0xc4, 0xe2, 0x78, 0x49, 0x07\n\t"	/* ldtilecfg (%rdi) */
			 ".byte 0xc4, 0xe2, 0x7b, 0x49, 0xc0\n\t"	/* tilezero %tmm0 */
			 ".byte 0xc4, 0xe2, 0x78, 0x49, 0xc0\n\t"	/* tilerelease */
			 :
			 : "D"(cfg)
			 : "memory");
}

/*
 * The speculation controls the thread had, where they can be set per
 * thread (PR_SPEC_PRCTL) and differ from what it inherited from criu.  Set
 * before its seccomp filters, which are installed with SPEC_ALLOW so that
 * they do not change them again.
 */
static void set_speculation(struct restore_args *a, const struct rst_thread *t)
{
	for (long k = 0; k < 3; k++) {
		long v = t->spec[k], ctrl, r;

		if (!(v & PR_SPEC_PRCTL) || sys5(__NR_prctl, PR_GET_SPECULATION_CTRL, k, 0, 0, 0) == v)
			continue;
		ctrl = v & PR_SPEC_FORCE_DISABLE   ? PR_SPEC_FORCE_DISABLE
		       : v & PR_SPEC_DISABLE_NOEXEC ? PR_SPEC_DISABLE_NOEXEC
		       : v & PR_SPEC_DISABLE        ? PR_SPEC_DISABLE
						    : PR_SPEC_ENABLE;
		r = sys5(__NR_prctl, PR_SET_SPECULATION_CTRL, k, ctrl, 0, 0);
		if (IS_ERR(r))
			fail(a, "cannot set a speculation control (0 store bypass, 1 indirect branch, 2 L1D flush)",
			     k, r);
	}
}

/* personality, rdtsc and cpuid faulting, machine-check kill policy: where not the defaults */
static void set_thread_flags(struct restore_args *a, const struct rst_thread *t)
{
	long r;

	set_speculation(a, t);
	/* each thread's own (the leader's is also the process's, set with its prctls) */
	if (t->has_personality && IS_ERR(r = sys1(__NR_personality, t->personality)))
		fail(a, "cannot set the thread's personality", t->personality, r);
	if (t->tsc != 1 && IS_ERR(r = sys5(__NR_prctl, PR_SET_TSC, t->tsc, 0, 0, 0)))
		fail(a, "cannot set the rdtsc mode", t->tsc, r);
	if (t->cpuid != 1 && IS_ERR(r = sys2(__NR_arch_prctl, ARCH_SET_CPUID, t->cpuid)))
		fail(a, "cannot make cpuid fault (ARCH_SET_CPUID)", t->cpuid, r);
	/* PR_MCE_KILL, PR_MCE_KILL_SET */
	if (t->mce_kill != 2 && IS_ERR(r = sys5(__NR_prctl, PR_MCE_KILL, PR_MCE_KILL_SET, t->mce_kill, 0, 0)))
		fail(a, "cannot set the machine-check kill policy", t->mce_kill, r);
}

#define FUTEX_WAIT_	0
#define FUTEX_WAKE_	1

/* until every other thread has set its state (one that fails ends the process) */
static void wait_threads_ready(struct restore_args *a)
{
	for (;;) {
		__u32 n = __atomic_load_n(&a->threads_ready, __ATOMIC_SEQ_CST);
		if (n >= a->nr_threads)
			return;
		sys6(__NR_futex, (long)&a->threads_ready, FUTEX_WAIT_, n, 0, 0, 0);
	}
}

/* the last steps of every thread: own state, then the trap and rt_sigreturn */
static void __attribute__((noreturn)) finish_thread(struct restore_args *a,
						    const struct rst_thread *t)
{
	long r = sys2(__NR_arch_prctl, ARCH_SET_FS, t->fs_base);
	if (IS_ERR(r))
		fail(a, "cannot set fs base", t->fs_base, r);
	r = sys2(__NR_arch_prctl, ARCH_SET_GS, t->gs_base);
	if (IS_ERR(r))
		fail(a, "cannot set gs base", t->gs_base, r);
	sys1(__NR_set_tid_address, t->clear_tid_addr);
	if (t->robust_list)
		sys2(__NR_set_robust_list, t->robust_list, t->robust_len);
	sys5(__NR_prctl, PR_SET_NAME, t->comm, 0, 0, 0);
	sys5(__NR_prctl, PR_SET_TIMERSLACK, t->timer_slack_ns, 0, 0, 0);
	sys3(__NR_setpriority, PRIO_PROCESS_, 0, t->nice);
	if (t->mpol_mode) {
		r = sys3(__NR_set_mempolicy, t->mpol_mode, (long)&t->mpol_nodes, 65);
		if (IS_ERR(r))
			fail(a, "cannot set the memory policy", t->mpol_mode, r);
	}
	set_thread_flags(a, t);
	/* SCHED_DEADLINE (6) is set by criu at the end (sched-io-set.c) */
	if ((t->sched_policy & ~SCHED_RESET_ON_FORK_ || t->sched_prio) &&
	    (t->sched_policy & ~SCHED_RESET_ON_FORK_) != 6) {
		int prio = t->sched_prio;
		r = sys3(__NR_sched_setscheduler, 0, t->sched_policy, &prio);
		if (IS_ERR(r))
			fail(a, "cannot set the scheduling policy", t->sched_policy, r);
	}
	if (t->rseq_ptr) {
		r = sys4(__NR_rseq, t->rseq_ptr, t->rseq_size, 0, t->rseq_sig);
		if (IS_ERR(r))
			fail(a, "cannot register rseq", t->rseq_ptr, r);
	}
	if (t->fpu_grow)
		grow_fpu_buffer();
	if (t->seccomp_mode)
		restore_seccomp(a, t);
	restore_creds(a, t);
	if (t != &a->leader) {
		__atomic_add_fetch(&a->threads_ready, 1, __ATOMIC_SEQ_CST);
		sys6(__NR_futex, (long)&a->threads_ready, FUTEX_WAKE_, 1, 0, 0, 0);
	} else {
		/*
		 * criu's fds go last, once every thread is past its last step
		 * that can fail: each failure message reaches criu's stderr.
		 */
		wait_threads_ready(a);
		for (__u32 i = 0; i < a->nr_close_fds; i++)
			sys1(__NR_close, a->close_fds[i]);
		sys1(__NR_close, a->log_fd);
		if (a->err_fd >= 0)
			sys1(__NR_close, a->err_fd);
	}
	/* criu waits for this trap, then follows us through rt_sigreturn */
	__asm__ volatile("int3\n\t"
			 "mov %0, %%rsp\n\t"
			 "mov %1, %%eax\n\t"
			 "syscall\n\t"
			 "ud2\n\t"
			 :
			 : "r"(t->sigframe), "i"(__NR_rt_sigreturn)
			 : "memory");
	__builtin_unreachable();
}

/* a new thread starts here, on its own stack */
__attribute__((used, noinline, noreturn)) void thread_main(struct rst_thread *t,
							  struct restore_args *a)
{
	finish_thread(a, t);
}

struct clone_args_ {
	__u64 flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	__u64 set_tid, set_tid_size, cgroup;
};

#define CLONE_VM_	0x00000100
#define CLONE_FS_	0x00000200
#define CLONE_FILES_	0x00000400
#define CLONE_SIGHAND_	0x00000800
#define CLONE_PTRACE_	0x00002000
#define CLONE_THREAD_	0x00010000
#define CLONE_SYSVSEM_	0x00040000

/*
 * Creates every other thread with its tid.  Each is traced by criu from its
 * first instruction (CLONE_PTRACE), and stops at its trap like the leader:
 * none runs the program before criu lets them all go.
 */
static void create_threads(struct restore_args *a)
{
	for (__u32 i = 0; i < a->nr_threads; i++) {
		struct rst_thread *t = &a->threads[i];
		__u64 tid = t->tid;
		int set_tid[RST_NS_LEVELS];
		for (__u32 l = 0; l < t->nr_set_tid && l < RST_NS_LEVELS; l++)
			set_tid[l] = t->set_tid[l];
		struct clone_args_ ca = {
			.flags = CLONE_VM_ | CLONE_FS_ | CLONE_FILES_ | CLONE_SIGHAND_ | CLONE_THREAD_ |
				 CLONE_SYSVSEM_ | CLONE_PTRACE_,
			.stack = t->stack,
			.stack_size = t->stack_size,
			.set_tid = (__u64)set_tid,
			.set_tid_size = t->nr_set_tid,
		};
		long ret;
		register long r12 __asm__("r12") = (long)t;
		register long r13 __asm__("r13") = (long)a;
		__asm__ volatile("syscall\n\t"
				 "test %%rax, %%rax\n\t"
				 "jnz 1f\n\t"
				 "mov %%r12, %%rdi\n\t"
				 "mov %%r13, %%rsi\n\t"
				 "and $-16, %%rsp\n\t"
				 "call thread_main\n\t"
				 "ud2\n"
				 "1:\n\t"
				 : "=a"(ret)
				 : "a"(__NR_clone3), "D"(&ca), "S"(sizeof(ca)), "r"(r12), "r"(r13)
				 : "rcx", "r11", "rdx", "memory");
		if (IS_ERR(ret) || ret != (long)tid)
			fail(a, "cannot create thread", tid, IS_ERR(ret) ? ret : -17);
	}
}

#define PR_TIMER_CREATE_RESTORE_IDS_	77

/* POSIX timers with their ids: timer_create takes the id it is given in this mode */
#define F_SETOWN_EX_	15

/* files owned by one of its other threads: now that they exist */
static void restore_thread_owners(struct restore_args *a)
{
	for (__u32 i = 0; i < a->nr_owners; i++) {
		struct { int type, pid; } o = { 0 /* F_OWNER_TID */, a->owners[i].tid };
		long r = sys3(__NR_fcntl, a->owners[i].fd, F_SETOWN_EX_, (long)&o);
		if (IS_ERR(r))
			fail(a, "cannot make a thread the owner of fd", a->owners[i].fd, r);
	}
}

static void restore_posix_timers(struct restore_args *a)
{
	long r;

	if (!a->nr_ptimers)
		return;
	r = sys5(__NR_prctl, PR_TIMER_CREATE_RESTORE_IDS_, 1, 0, 0, 0);
	if (IS_ERR(r))
		fail(a, "this kernel cannot create POSIX timers with given ids", 0, r);
	for (__u32 i = 0; i < a->nr_ptimers; i++) {
		const struct rst_ptimer *t = &a->ptimers[i];
		struct {
			__u64 value;
			int signo, notify, tid, pad[11];
		} sev = { t->sival, (int)t->signo, (int)t->notify, (int)t->tid, { 0 } };
		int id = t->id;
		__u64 its[4] = { t->interval_ns / 1000000000, t->interval_ns % 1000000000,
				 t->value_ns / 1000000000, t->value_ns % 1000000000 };

		r = sys3(__NR_timer_create, t->clock, &sev, &id);
		if (IS_ERR(r) || id != t->id)
			fail(a, "cannot create POSIX timer", t->id, IS_ERR(r) ? r : -17);
		if (t->value_ns) {
			r = sys4(__NR_timer_settime, id, 0, its, 0);
			if (IS_ERR(r))
				fail(a, "cannot arm POSIX timer", t->id, r);
		}
	}
	sys5(__NR_prctl, PR_TIMER_CREATE_RESTORE_IDS_, 0, 0, 0, 0);
}

#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_		(1 << 4)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE_	(1 << 6)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ_		(1 << 8)

/*
 * The membarrier registrations of the mm, and mlockall(MCL_FUTURE) for
 * the mappings it makes from now on (the restorer makes none after this).
 */
static void restore_mm_flags(struct restore_args *a)
{
	static const long reg[] = { MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_,
				    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE_,
				    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ_ };
	long r;

	for (int k = 0; k < 3; k++)
		if ((a->membarrier >> k & 1) && IS_ERR(r = sys3(__NR_membarrier, reg[k], 0, 0)))
			fail(a, "cannot register for membarrier", k, r);
	if (a->mlock_future && IS_ERR(r = sys1(__NR_mlockall, a->mlock_future)))
		fail(a, "cannot lock future mappings (mlockall)", a->mlock_future, r);
}

/*
 * Resource limits, interval timers, and the signals that were pending,
 * queued again with their siginfo: every signal is blocked until each
 * thread's rt_sigreturn sets its own mask.
 */
static void restore_process_state(struct restore_args *a)
{
	long pid = sys0(__NR_getpid), r;

	for (__u32 i = 0; i < a->nr_rlimits; i++) {
		r = sys4(__NR_prlimit64, 0, i, &a->rlimits[i], 0);
		if (IS_ERR(r))
			fail(a, "cannot set resource limit", i, r);
	}
	for (int which = 0; which < 3; which++) {
		const struct rst_itimer *t = &a->itimers[which];
		/*
		 * A periodic ITIMER_REAL whose SIGALRM is pending (blocked) is
		 * not running: the kernel re-arms it when the signal is taken.
		 * Armed for one period instead, it goes on the same way.
		 */
		__u64 value = t->value_us ? t->value_us : t->interval_us;
		__u64 v[4] = { t->interval_us / 1000000, t->interval_us % 1000000,
			       value / 1000000, value % 1000000 };
		if (!value)
			continue;
		r = sys3(__NR_setitimer, which, v, 0);
		if (IS_ERR(r))
			fail(a, "cannot set interval timer", which, r);
	}
	if (a->prctl.valid) {
		const struct rst_prctl *pc = &a->prctl;
		sys1(__NR_personality, pc->personality);
		/* PR_GET_THP_DISABLE's bit 0 is the setting, the others its flags (EXCEPT_ADVISED) */
		sys5(__NR_prctl, PR_SET_THP_DISABLE, pc->thp_disable & 1, pc->thp_disable & ~1u, 0, 0);
		sys5(__NR_prctl, PR_SET_CHILD_SUBREAPER, pc->child_subreaper, 0, 0, 0);
		sys5(__NR_prctl, PR_SET_PDEATHSIG, pc->pdeathsig, 0, 0, 0);
		sys5(__NR_prctl, PR_SET_DUMPABLE, pc->dumpable, 0, 0, 0);
		/* every mapping made: all of them mergeable again, and the new ones (67) */
		if (pc->memory_merge && IS_ERR(r = sys5(__NR_prctl, 67, 1, 0, 0, 0)))
			fail(a, "cannot make every mapping mergeable (PR_SET_MEMORY_MERGE)", 1, r);
		if (pc->no_new_privs)	/* for good: last */
			sys5(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		/* for good too, and after every mapping has its protection (65: PR_SET_MDWE) */
		if (pc->mdwe && IS_ERR(r = sys5(__NR_prctl, 65, pc->mdwe, 0, 0, 0)))
			fail(a, "cannot set memory-deny-write-execute", pc->mdwe, r);
	}
	restore_posix_timers(a);
	restore_thread_owners(a);
	restore_mm_flags(a);
	for (__u32 i = 0; i < a->nr_siginfo; i++) {
		const struct rst_siginfo *s = &a->siginfo[i];
		int sig = *(const int *)s->info;
		r = s->tid ? sys4(__NR_rt_tgsigqueueinfo, pid, s->tid, sig, s->info)
			   : sys3(__NR_rt_sigqueueinfo, pid, sig, s->info);
		if (IS_ERR(r))
			fail(a, "cannot queue pending signal", sig, r);
	}
}

__attribute__((section(".text.entry"), used, noreturn))
void restorer_entry(struct restore_args *a)
{
	__u64 all = ~0ULL;
	long r;

	sys4(__NR_rt_sigprocmask, SIG_SETMASK, &all, 0, 8);
	restore_xcomp_perm(a);
	move_special(a, 0);
	unmap_all_but_kept(a);
	move_special(a, 1);

	map_vmas(a);
	if (a->premap_end) {
		/* what is left there: the parents' copies, moved by no one here */
		r = sys2(__NR_munmap, a->premap_start, a->premap_end - a->premap_start);
		if (IS_ERR(r))
			fail(a, "cannot unmap the premapped area", a->premap_start, r);
	}
	fill_pages(a);
	if (a->lazy_sock >= 0)
		zero_hot(a);
	install_guards(a);
	restore_pkeys(a);
	protect_vmas(a);
	if (a->lazy_sock >= 0)
		lazy_setup(a);

	r = sys5(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, &a->mm_map, sizeof(a->mm_map), 0);
	if (IS_ERR(r))
		fail(a, "PR_SET_MM_MAP failed, brk", a->mm_map.brk, r);
	restore_signals(a);
	create_threads(a);
	restore_process_state(a);

	finish_thread(a, &a->leader);
}
