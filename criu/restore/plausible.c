/*
 * plausible.c - checks, before anything is created, that the values of a
 * core and mm image are ones a dump could have produced: values the kernel
 * would take (and restore would silently restore) or that would make the
 * restorer fail half-way.  Each refusal is one line naming the image and
 * the field.  Framing and checksums are image.c's; consistency between
 * images (pids, threads, pages in mappings) is images.c's.
 *
 * Must not touch the system: it reads /proc/sys/kernel/cap_last_cap only.
 */
#define LOG_PREFIX "restore: "
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "common/log.h"
#include "criu/restore/restore.h"

/* the top of the largest x86-64 user address space (5-level paging) */
#define USER_ADDR_END		0x00fffffffffff000ULL
#define VSYSCALL_ADDR		0xffffffffff600000ULL
#define USER_CS			0x33
#define USER_DS			0x2b
/* rflags a user task can have: CF 1 PF AF ZF SF TF IF DF OF NT RF AC VIF VIP ID */
#define USER_RFLAGS		0x3f4fd7ULL
#define RFLAGS_FIXED		0x202ULL	/* bit 1 and IF: always set in user mode */
#define SIGBIT(s)		(1ULL << ((s) - 1))
#define SCHED_RESET_ON_FORK_	0x40000000U
#define SECBITS_ALL		0xffU
#define SA_KNOWN		0xdc000c07ULL	/* SA_NOCLDSTOP..SA_SIGINFO, UNSUPPORTED,
						 * EXPOSE_TAGBITS, RESTORER, ONSTACK,
						 * RESTART, NODEFER, RESETHAND */
#define SS_ONSTACK_		1U
#define SS_DISABLE_		2U
#define SS_AUTODISARM_		(1U << 31)
#define ROBUST_HEAD_LEN		24	/* struct robust_list_head */
#define SIGINFO_LEN		128
#define RLIMITS_NR		16

/* logs "NAME: ..." (name: the image, in scope) and is -1 */
#define BAD(fmt, ...)                                          \
	({                                                     \
		pr_err("%s: " fmt, name, ##__VA_ARGS__);       \
		-1;                                            \
	})

static bool user_addr(uint64_t a)
{
	return a < USER_ADDR_END;
}

static bool user_sel(uint64_t s)
{
	return !s || (s <= 0xffff && (s & 3) == 3);
}

static int check_regs(const GpRegs *r, const char *name)
{
	if (r->cs != USER_CS)
		return BAD("segment selector cs 0x%lx: not the 64-bit user code segment (0x%x)", (unsigned long)r->cs, USER_CS);
	if (r->ss != USER_DS)
		return BAD("segment selector ss 0x%lx: not the user data segment (0x%x)",
			   (unsigned long)r->ss, USER_DS);
	const uint64_t sel[4] = { r->ds, r->es, r->fs, r->gs };
	for (int i = 0; i < 4; i++)
		if (!user_sel(sel[i]))
			return BAD("segment selector %s 0x%lx: not a user selector",
				   (const char *[]){ "ds", "es", "fs", "gs" }[i], (unsigned long)sel[i]);
	if ((r->flags & ~USER_RFLAGS) || (r->flags & RFLAGS_FIXED) != RFLAGS_FIXED)
		return BAD("rflags 0x%lx: not flags of a task in user mode",
			   (unsigned long)r->flags);
	if (!user_addr(r->rip) && (r->rip & ~0xfffULL) != VSYSCALL_ADDR)
		return BAD("rip 0x%lx: outside the user address space",
			   (unsigned long)r->rip);
	const uint64_t addr[3] = { r->sp, r->fs_base, r->gs_base };
	for (int i = 0; i < 3; i++)
		if (!user_addr(addr[i]))
			return BAD("%s 0x%lx: outside the user address space",
				   (const char *[]){ "sp", "fs_base", "gs_base" }[i],
				   (unsigned long)addr[i]);
	return 0;
}

static int check_sched(const ThreadCore *tc, const char *name)
{
	uint32_t pol = tc->sched_policy & ~SCHED_RESET_ON_FORK_;
	bool rt = pol == 1 || pol == 2;

	if (pol > 6 || pol == 4)
		return BAD("scheduling policy %u: not one a thread can be given back",
			   tc->sched_policy);
	/* SCHED_DEADLINE: 1024 ns <= runtime <= deadline <= period (0: the deadline) */
	if (pol == 6 && (!tc->has_dl_runtime || tc->dl_runtime < 1024 ||
			 tc->dl_runtime > tc->dl_deadline ||
			 (tc->dl_period && tc->dl_deadline > tc->dl_period)))
		return BAD("SCHED_DEADLINE %lu/%lu/%lu ns: not valid parameters",
			   (unsigned long)tc->dl_runtime, (unsigned long)tc->dl_deadline,
			   (unsigned long)tc->dl_period);
	if (rt ? tc->sched_prio < 1 || tc->sched_prio > 99 : tc->sched_prio != 0)
		return BAD("scheduling priority %u: not valid for policy %u",
			   tc->sched_prio, pol);
	if (tc->nice < -20 || tc->nice > 19)
		return BAD("nice %d: outside -20..19", tc->nice);
	/* the kernel gives real-time and deadline threads no slack */
	if (!tc->timer_slack_ns && !rt && pol != 6)
		return BAD("timer slack 0: a thread's slack is at least 1 ns");
	return 0;
}

static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = 40;

	if (f) {
		if (fscanf(f, "%d", &n) != 1 || n < 0 || n > 63)
			n = 40;
		fclose(f);
	}
	return n;
}

static int check_creds(const Creds *c, const char *name)
{
	int last = cap_last();
	uint64_t all = last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
	const uint64_t sets[5] = { c->cap_inh, c->cap_prm, c->cap_eff, c->cap_bnd, c->cap_amb };

	if (c->n_uid != 4 || c->n_gid != 4)
		return BAD("credentials with %zu uids and %zu gids, not 4 each", c->n_uid,
			   c->n_gid);
	for (int i = 0; i < 5; i++)
		if (sets[i] & ~all)
			return BAD("%s capabilities 0x%lx: bits above this kernel's last "
				   "capability %d",
				   (const char *[]){ "inheritable", "permitted", "effective",
						     "bounding", "ambient" }[i],
				   (unsigned long)sets[i], last);
	if (c->cap_eff & ~c->cap_prm)
		return BAD("effective capabilities 0x%lx: not within the permitted 0x%lx",
			   (unsigned long)c->cap_eff, (unsigned long)c->cap_prm);
	if (c->cap_amb & ~(c->cap_prm & c->cap_inh))
		return BAD("ambient capabilities 0x%lx: not within permitted and inheritable", (unsigned long)c->cap_amb);
	if (c->securebits & ~SECBITS_ALL)
		return BAD("securebits 0x%x: unknown bits", c->securebits);
	return 0;
}

static int check_siginfo(const ProtobufCBinaryData *v, size_t n, const char *what,
			 const char *name)
{
	for (size_t i = 0; i < n; i++) {
		int sig = v[i].len == SIGINFO_LEN ? *(const int *)v[i].data : 0;
		if (sig < 1 || sig > 64)
			return BAD("%s signal %zu: not a siginfo of a valid signal", what, i);
	}
	return 0;
}

static int check_thread(const ThreadCore *tc, const char *name)
{
	if (check_regs(tc->regs, name) || check_sched(tc, name) || check_creds(tc->creds, name))
		return -1;
	if (tc->sigmask & (SIGBIT(9) | SIGBIT(19)))
		return BAD("signal mask 0x%lx blocks SIGKILL or SIGSTOP",
			   (unsigned long)tc->sigmask);
	const SigAltStack *as = tc->altstack;
	if ((as->flags & ~(SS_ONSTACK_ | SS_DISABLE_ | SS_AUTODISARM_)) ||
	    (!(as->flags & SS_DISABLE_) && (!user_addr(as->sp) || as->size > USER_ADDR_END - as->sp)))
		return BAD("alternate signal stack 0x%lx+%lu flags 0x%x: not one a thread can have", (unsigned long)as->sp, (unsigned long)as->size, as->flags);
	if (tc->rseq && (tc->rseq->ptr % 32 || !tc->rseq->ptr || !user_addr(tc->rseq->ptr) ||
			 tc->rseq->size < 32 || tc->rseq->size > 4096 || tc->rseq->flags))
		return BAD("rseq area 0x%lx (%u bytes, flags 0x%x): not one the kernel registers", (unsigned long)tc->rseq->ptr, tc->rseq->size, tc->rseq->flags);
	if (!user_addr(tc->clear_tid_addr))
		return BAD("clear-tid address 0x%lx: outside the user address space",
			   (unsigned long)tc->clear_tid_addr);
	if (!user_addr(tc->robust_list) || (tc->robust_list && tc->robust_len != ROBUST_HEAD_LEN))
		return BAD("robust list 0x%lx of %lu bytes: not a robust list head",
			   (unsigned long)tc->robust_list, (unsigned long)tc->robust_len);
	if (strnlen(tc->comm, 16) > 15)
		return BAD("thread name of more than 15 bytes");
	/* execution flags (thread-flags.c), I/O priority class, memory policy mode */
	if ((tc->has_tsc && (tc->tsc < 1 || tc->tsc > 2)) || (tc->has_cpuid && tc->cpuid > 1) ||
	    (tc->has_mce_kill && (tc->mce_kill < 0 || tc->mce_kill > 2)))
		return BAD("rdtsc %u, cpuid %u, machine-check kill %d: out of range", tc->tsc,
			   tc->cpuid, tc->mce_kill);
	/* speculation controls: PR_SPEC_* bits only */
	if ((tc->spec_store_bypass | tc->spec_indirect_branch | tc->spec_l1d_flush) & ~0x1fu)
		return BAD("speculation controls 0x%x 0x%x 0x%x: not PR_SPEC_* values",
			   tc->spec_store_bypass, tc->spec_indirect_branch, tc->spec_l1d_flush);
	if (tc->has_ioprio && (tc->ioprio >> 13) > 3)
		return BAD("I/O priority 0x%x: no such class", tc->ioprio);
	if (tc->has_mempolicy && (tc->mempolicy & 0xff) > 6)
		return BAD("memory policy mode 0x%x: no such mode", tc->mempolicy);
	if (tc->seccomp_mode > 2 || (tc->seccomp_mode == 2) != (tc->n_seccomp_filters > 0))
		return BAD("seccomp mode %u with %zu filters", tc->seccomp_mode,
			   tc->n_seccomp_filters);
	for (size_t i = 0; i < tc->n_seccomp_filters; i++)
		if (!tc->seccomp_filters[i].len || tc->seccomp_filters[i].len % 8 ||
		    tc->seccomp_filters[i].len > 4096 * 8)
			return BAD("seccomp filter %zu of %zu bytes: not a BPF program", i,
				   tc->seccomp_filters[i].len);
	return check_siginfo(tc->pending, tc->n_pending, "pending", name);
}

static int check_process(const Core *c, const char *name)
{
	for (size_t i = 0; i < c->n_sigactions; i++) {
		const SigAction *sa = c->sigactions[i];
		if ((sa->flags & ~SA_KNOWN) || (sa->handler > 1 && !user_addr(sa->handler)) ||
		    !user_addr(sa->restorer))
			return BAD("action of signal %u (handler 0x%lx, flags 0x%lx): not valid", sa->sig, (unsigned long)sa->handler, (unsigned long)sa->flags);
	}
	if (check_siginfo(c->shared_pending, c->n_shared_pending, "process pending", name))
		return -1;
	unsigned seen = 0;
	for (size_t i = 0; i < c->n_itimers; i++) {
		const Itimer *t = c->itimers[i];
		if (t->which > 2 || (seen & (1u << t->which)))
			return BAD("interval timer %u: invalid or listed twice", t->which);
		seen |= 1u << t->which;
	}
	seen = 0;
	for (size_t i = 0; i < c->n_rlimits; i++) {
		const Rlimit *l = c->rlimits[i];
		if (l->resource >= RLIMITS_NR || (seen & (1u << l->resource)) || l->cur > l->max)
			return BAD("resource limit %u (%lu of %lu): invalid or listed twice",
				   l->resource, (unsigned long)l->cur, (unsigned long)l->max);
		seen |= 1u << l->resource;
	}
	const ProcPrctl *p = c->prctl;
	/* thp_disable: 1, or 3 with PR_THP_DISABLE_EXCEPT_ADVISED */
	if (p && (p->dumpable > 2 || (p->thp_disable > 1 && p->thp_disable != 3) ||
		  p->no_new_privs > 1 || (p->has_mdwe && p->mdwe > 3) ||
		  p->child_subreaper > 1 || p->pdeathsig > 64))
		return BAD("prctl values (dumpable %u, pdeathsig %u, ...): out of range",
			   p->dumpable, p->pdeathsig);
	if (c->has_job_stop && c->job_stop && c->job_stop != 19 && c->job_stop != 20 &&
	    c->job_stop != 21 && c->job_stop != 22)
		return BAD("job_stop %u: not a stop signal", c->job_stop);
	for (size_t i = 0; i < c->n_posix_timers; i++) {
		const PosixTimer *t = c->posix_timers[i];
		if (t->id < 0 || t->signo > 64 || (t->notify != 0 && t->notify != 1 && t->notify != 4))
			return BAD("POSIX timer %d (signal %u, notify %u): not valid", t->id,
				   t->signo, t->notify);
	}
	/* mm-flags.c: 16 protection keys, key 0 always; MCL_FUTURE [| MCL_ONFAULT]; 3 registrations */
	if ((c->has_pkeys_allocated && (c->pkeys_allocated > 0xffff || !(c->pkeys_allocated & 1))) ||
	    (c->has_mlock_future && c->mlock_future != 2 && c->mlock_future != 6) ||
	    c->membarrier > 7)
		return BAD("protection keys 0x%x, mlockall 0x%x, membarrier 0x%x: not valid",
			   c->pkeys_allocated, c->mlock_future, c->membarrier);
	return 0;
}

int rst_plausible_core(const Core *c, bool leader, const char *name)
{
	if (check_thread(c->thread, name))
		return -1;
	return leader ? check_process(c, name) : 0;
}

static bool kind_shared(VmaKind k)
{
	return k == VMA_KIND__VMA_ANON_SHARED || k == VMA_KIND__VMA_FILE_SHARED ||
	       k == VMA_KIND__VMA_MEMFD_SHARED || k == VMA_KIND__VMA_SYSV_SHM;
}

static int check_vma(const Vma *v, size_t i, const char *name)
{
	const uint32_t known = MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_NORESERVE;
	bool special = rst_vma_special(v->kind);

	if (v->kind < VMA_KIND__VMA_ANON_PRIVATE || v->kind > VMA_KIND__VMA_SYSV_SHM)
		return BAD("vma %zu: unknown kind %d", i, v->kind);
	if (v->prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC))
		return BAD("vma %zu (%lx-%lx): protection bits 0x%x beyond read, write, exec", i, (unsigned long)v->start, (unsigned long)v->end, v->prot);
	if ((v->flags & ~known) || ((v->flags & 3) != MAP_SHARED && (v->flags & 3) != MAP_PRIVATE) ||
	    (!special && kind_shared(v->kind) != ((v->flags & 3) == MAP_SHARED)))
		return BAD("vma %zu (%lx-%lx): mapping flags 0x%x do not fit a %s mapping",
			   i, (unsigned long)v->start, (unsigned long)v->end, v->flags,
			   kind_shared(v->kind) ? "shared" : "private");
	if (v->kind != VMA_KIND__VMA_VSYSCALL && v->end > USER_ADDR_END)
		return BAD("vma %zu (%lx-%lx): outside the user address space", i,
			   (unsigned long)v->start, (unsigned long)v->end);
	uint64_t at = v->start;
	for (size_t k = 0; k + 1 < v->n_guard; k += 2) {
		uint64_t s = v->guard[k], e = v->guard[k + 1];
		if (s < at || e <= s || e > v->end || s % 4096 || e % 4096)
			return BAD("vma %zu (%lx-%lx): guard region %lx-%lx not inside it, in order", i,
				   (unsigned long)v->start, (unsigned long)v->end, (unsigned long)s,
				   (unsigned long)e);
		at = e;
	}
	if (v->n_guard % 2)
		return BAD("vma %zu (%lx-%lx): an odd number of guard region bounds", i,
			   (unsigned long)v->start, (unsigned long)v->end);
	if (v->pkey > 15)
		return BAD("vma %zu (%lx-%lx): protection key %u (16 keys)", i,
			   (unsigned long)v->start, (unsigned long)v->end, v->pkey);
	if ((v->has_pgoff && v->pgoff % 4096) || (v->has_vm_flags && (v->vm_flags & ~VMA_F_ALL)))
		return BAD("vma %zu (%lx-%lx): file offset 0x%lx or flags 0x%x not valid",
			   i, (unsigned long)v->start, (unsigned long)v->end, (unsigned long)v->pgoff,
			   v->vm_flags);
	return 0;
}

int rst_plausible_mm(const Mm *mm, const char *name)
{
	const uint64_t pairs[5][2] = {
		{ mm->start_code, mm->end_code }, { mm->start_data, mm->end_data },
		{ mm->start_brk, mm->brk }, { mm->arg_start, mm->arg_end },
		{ mm->env_start, mm->env_end },
	};
	static const char *what[5] = { "code", "data", "brk", "arguments", "environment" };

	for (int i = 0; i < 5; i++)
		if (pairs[i][0] > pairs[i][1] || !user_addr(pairs[i][1]))
			return BAD("%s area %lx-%lx: reversed or outside the user address space", what[i], (unsigned long)pairs[i][0], (unsigned long)pairs[i][1]);
	if (!user_addr(mm->start_stack) || mm->n_auxv % 2)
		return BAD("stack start 0x%lx or auxiliary vector of %zu words: not valid",
			   (unsigned long)mm->start_stack, mm->n_auxv);
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (check_vma(mm->vmas[i], i, name))
			return -1;
	return 0;
}

/* the rseq area the kernel writes must be memory the process can write */
int rst_plausible_rseq(const ThreadCore *tc, const Mm *mm, const char *name)
{
	if (!tc->rseq)
		return 0;
	uint64_t s = tc->rseq->ptr, e = s + tc->rseq->size;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Vma *v = mm->vmas[i];
		if (v->start <= s && e <= v->end && (v->prot & PROT_WRITE) && !rst_vma_special(v->kind))
			return 0;
	}
	return BAD("rseq area 0x%lx (%u bytes): not in writable memory of the process",
		   (unsigned long)s, tc->rseq->size);
}
