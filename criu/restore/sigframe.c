/*
 * sigframe.c - each restored thread's rt_sigframe: its registers, signal
 * mask, alternate stack and xsave area, checked against this CPU and laid
 * out as this kernel's rt_sigreturn accepts it (see sigframe.h).
 *
 * ptrace hands dump the whole standard-format xsave area of the CPU (every
 * feature of XCR0, AMX tiles included, about 11 KiB with AMX), while a
 * signal frame holds only what the task's FPU buffer has room for: AMX tile
 * data only once the task has used a tile instruction.  So the frame is cut
 * to the size the kernel uses, and a thread that held live tile data is
 * told to grow its buffer first.
 */
#define LOG_PREFIX "restore: "
#include <cpuid.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>

#include "common/compat.h"
#include "common/log.h"
#include "criu/restore/sigframe.h"

/* x86_64 kernel signal frame */
struct k_stack {
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t pad;
	uint64_t ss_size;
};

struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t di, si, bp, bx, dx, ax, cx, sp, ip, flags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct k_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct k_stack uc_stack;
	struct k_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

struct k_rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	uint8_t info[128];
};

#define UC_FP_XSTATE		0x1
#define UC_SIGCONTEXT_SS	0x2
#define UC_STRICT_RESTORE_SS	0x4

/* standard-format xsave area: legacy region, sw bytes, header */
#define XSAVE_SW_OFF		464
#define XSAVE_HDR_OFF		512
#define XSAVE_MIN		576	/* legacy region + header */
#define XCOMP_BV_COMPACTED	(1ULL << 63)

static struct k_fpx_sw_bytes probed_sw;

static void probe_handler(int sig, siginfo_t *si, void *uc)
{
	const ucontext_t *u = uc;
	(void)sig;
	(void)si;
	if (u->uc_mcontext.fpregs)
		memcpy(&probed_sw, (const uint8_t *)u->uc_mcontext.fpregs + XSAVE_SW_OFF,
		       sizeof(probed_sw));
}

int fpu_env_probe(struct fpu_env *env)
{
	struct sigaction sa = { .sa_sigaction = probe_handler, .sa_flags = SA_SIGINFO }, old;
	sigset_t set, oldset;
	unsigned eax, ebx, ecx, edx;
	uint32_t lo, hi;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	if (sigaction(SIGUSR2, &sa, &old))
		return -1;
	sigprocmask(SIG_UNBLOCK, &set, &oldset);
	raise(SIGUSR2);
	sigprocmask(SIG_SETMASK, &oldset, NULL);
	sigaction(SIGUSR2, &old, NULL);
	env->sw = probed_sw;
	if (env->sw.magic1 != XSAVE_FP_MAGIC1 || env->sw.xstate_size < XSAVE_MIN) {
		pr_err("this kernel does not use xsave signal frames: cannot restore the FPU state");
		return -1;
	}
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	env->xcr0 = (uint64_t)hi << 32 | lo;
	if (!__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx) || ebx < env->sw.xstate_size) {
		pr_err("CPUID leaf 0xd does not give the xsave area's size");
		return -1;
	}
	env->max_size = ebx;
	return 0;
}

/* the features thread tc's xsave area holds in a non-initial state (XSTATE_BV) */
static uint64_t xstate_bv(const ThreadCore *tc)
{
	uint64_t bv;
	memcpy(&bv, tc->xsave.data + XSAVE_HDR_OFF, 8);
	return bv;
}

uint64_t fpu_perm_to_ask(const Core *core, Core *const *others, size_t nr_others,
			 const struct fpu_env *env)
{
	uint64_t want = core->has_xcomp_perm ? core->xcomp_perm : 0;

	/* live tile data needs the permission, dumped or not */
	want |= xstate_bv(core->thread);
	for (size_t i = 0; i < nr_others; i++)
		want |= xstate_bv(others[i]->thread);
	return want & XFEATURE_MASK_DYNAMIC & env->xcr0 & ~env->sw.xfeatures;
}

/* every feature of bv lies inside the first len bytes (standard format) */
static int check_layout(const ThreadCore *tc, uint64_t bv, size_t len)
{
	for (int i = 2; i < 63; i++) {
		unsigned size, off, ecx, edx;
		if (!(bv >> i & 1))
			continue;
		if (!__get_cpuid_count(0xd, i, &size, &off, &ecx, &edx) || !size) {
			pr_err("core-%u.img: the FPU state holds xstate feature %d, unknown to this CPU",
			       tc->tid, i);
			return -1;
		}
		if ((uint64_t)off + size > len) {
			pr_err("core-%u.img: xstate feature %d lies at %u..%u, past the %zu bytes dumped",
			       tc->tid, i, off, off + size, len);
			return -1;
		}
	}
	return 0;
}

uint64_t sigframe_build(const ThreadCore *tc, const struct fpu_env *env, struct arena *ar,
			bool *grow)
{
	const GpRegs *g = tc->regs;
	const uint8_t *xs = tc->xsave.data;
	uint64_t bv = xstate_bv(tc), xcomp;
	struct k_fpx_sw_bytes sw = env->sw;

	memcpy(&xcomp, xs + XSAVE_HDR_OFF + 8, 8);
	if (xcomp & XCOMP_BV_COMPACTED) {
		pr_err("core-%u.img: the xsave area is in the compacted format", tc->tid);
		return 0;
	}
	*grow = false;
	if (bv & XFEATURE_MASK_DYNAMIC & env->xcr0) {
		/* live tile data: the frame the grown buffer takes */
		sw.xfeatures |= bv & XFEATURE_MASK_DYNAMIC;
		sw.xstate_size = env->max_size;
		sw.extended_size = env->max_size + 4;
		*grow = true;
	}
	if (bv & ~sw.xfeatures) {
		pr_err("core-%u.img: the FPU state uses xstate features %#lx this CPU lacks",
		       tc->tid, (unsigned long)(bv & ~sw.xfeatures));
		return 0;
	}
	if (check_layout(tc, bv, tc->xsave.len))
		return 0;

	struct k_rt_sigframe *f = arena_get(ar, sizeof(*f), 64);
	uint8_t *fp = arena_get(ar, sw.xstate_size + 4, 64);
	if (!f || !fp) {
		pr_err("restorer arguments do not fit their area");
		return 0;
	}
	struct k_sigcontext *sc = &f->uc.uc_mcontext;

	/* the features beyond the frame are in their initial state (bv) */
	memcpy(fp, xs, tc->xsave.len < sw.xstate_size ? tc->xsave.len : sw.xstate_size);
	memcpy(fp + XSAVE_SW_OFF, &sw, sizeof(sw));
	*(uint32_t *)(fp + sw.xstate_size) = XSAVE_FP_MAGIC2;

	f->uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f->uc.uc_stack.ss_sp = tc->altstack->sp;
	f->uc.uc_stack.ss_flags = tc->altstack->flags;
	f->uc.uc_stack.ss_size = tc->altstack->size;
	f->uc.uc_sigmask = tc->sigmask;
	sc->r8 = g->r8; sc->r9 = g->r9; sc->r10 = g->r10; sc->r11 = g->r11;
	sc->r12 = g->r12; sc->r13 = g->r13; sc->r14 = g->r14; sc->r15 = g->r15;
	sc->di = g->rdi; sc->si = g->rsi; sc->bp = g->rbp; sc->bx = g->rbx;
	sc->dx = g->rdx; sc->ax = g->rax; sc->cx = g->rcx; sc->sp = g->sp;
	sc->ip = g->rip; sc->flags = g->flags;
	sc->cs = g->cs; sc->ss = g->ss;
	sc->fpstate = (uint64_t)fp;
	/* rt_sigreturn finds the frame at rsp - 8 */
	return (uint64_t)&f->uc;
}
