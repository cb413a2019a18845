/*
 * fpu_regs: register state held across the checkpoint.  One asm block loads
 * distinct values into ymm0..ymm15, r12..r15 and the x87 stack top, then
 * waits for SIGUSR1 with the rt_sigtimedwait syscall (retried on -EINTR),
 * then stores them all; C compares.  MXCSR (round toward zero, FTZ, DAZ) and
 * the x87 control word are set to non-default values before and checked
 * after, both directly and through the result of a division.
 */
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>

#include "test/lib/test.h"

struct regs {
	uint8_t ymm_in[16][32];		/* 0 */
	uint8_t ymm_out[16][32];	/* 512 */
	uint64_t gpr_in[4];		/* 1024 */
	uint64_t gpr_out[4];		/* 1056 */
	uint8_t x87_in[16];		/* 1088 */
	uint8_t x87_out[16];		/* 1104 */
	int64_t ret;			/* 1120 */
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct regs, ymm_out) == 512, "layout");
_Static_assert(offsetof(struct regs, gpr_in) == 1024, "layout");
_Static_assert(offsetof(struct regs, gpr_out) == 1056, "layout");
_Static_assert(offsetof(struct regs, x87_in) == 1088, "layout");
_Static_assert(offsetof(struct regs, x87_out) == 1104, "layout");
_Static_assert(offsetof(struct regs, ret) == 1120, "layout");

#define MXCSR_WANT	0xffc0u	/* all exceptions masked, RC=toward zero, FTZ, DAZ */
#define MXCSR_FLAGS	0x003fu	/* sticky exception flags: not compared */
#define X87_CW_WANT	0x0e7fu	/* exceptions masked, PC=double, RC=toward zero */

static struct regs R;

static uint32_t divide_bits(void)
{
	volatile float a = 2.0f, b = 3.0f;
	float q = a / b;
	uint32_t u;
	memcpy(&u, &q, 4);
	return u;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);

	for (int r = 0; r < 16; r++)
		for (int b = 0; b < 32; b++)
			R.ymm_in[r][b] = (uint8_t)(test_mix(r * 32 + b + 1) | 1);
	for (int r = 0; r < 4; r++)
		R.gpr_in[r] = test_mix(0x1200 + r);
	long double ld = 1.2345678901234567890L;
	memcpy(R.x87_in, &ld, 10);

	uint32_t mx = MXCSR_WANT;
	uint16_t cw = X87_CW_WANT;
	__asm__ volatile("ldmxcsr %0" : : "m"(mx));
	__asm__ volatile("fldcw %0" : : "m"(cw));
	if (divide_bits() != 0x3f2aaaaa)
		fail("2/3 with round-toward-zero is 0x%08x before the checkpoint, expected 0x3f2aaaaa",
		     divide_bits());

	uint64_t set = 1ULL << (SIGUSR1 - 1);
	test_ready();

	__asm__ volatile(
		"vmovdqu   0(%[s]), %%ymm0\n\t"
		"vmovdqu  32(%[s]), %%ymm1\n\t"
		"vmovdqu  64(%[s]), %%ymm2\n\t"
		"vmovdqu  96(%[s]), %%ymm3\n\t"
		"vmovdqu 128(%[s]), %%ymm4\n\t"
		"vmovdqu 160(%[s]), %%ymm5\n\t"
		"vmovdqu 192(%[s]), %%ymm6\n\t"
		"vmovdqu 224(%[s]), %%ymm7\n\t"
		"vmovdqu 256(%[s]), %%ymm8\n\t"
		"vmovdqu 288(%[s]), %%ymm9\n\t"
		"vmovdqu 320(%[s]), %%ymm10\n\t"
		"vmovdqu 352(%[s]), %%ymm11\n\t"
		"vmovdqu 384(%[s]), %%ymm12\n\t"
		"vmovdqu 416(%[s]), %%ymm13\n\t"
		"vmovdqu 448(%[s]), %%ymm14\n\t"
		"vmovdqu 480(%[s]), %%ymm15\n\t"
		"mov 1024(%[s]), %%r12\n\t"
		"mov 1032(%[s]), %%r13\n\t"
		"mov 1040(%[s]), %%r14\n\t"
		"mov 1048(%[s]), %%r15\n\t"
		"fldt 1088(%[s])\n\t"
		"mov $8, %%r10d\n"		/* sigsetsize */
		"1:\n\t"
		"mov %[nr], %%eax\n\t"
		"syscall\n\t"
		"cmp $-4, %%rax\n\t"		/* -EINTR: wait again */
		"je 1b\n\t"
		"mov %%rax, 1120(%[s])\n\t"
		"fstpt 1104(%[s])\n\t"
		"mov %%r12, 1056(%[s])\n\t"
		"mov %%r13, 1064(%[s])\n\t"
		"mov %%r14, 1072(%[s])\n\t"
		"mov %%r15, 1080(%[s])\n\t"
		"vmovdqu %%ymm0,  512(%[s])\n\t"
		"vmovdqu %%ymm1,  544(%[s])\n\t"
		"vmovdqu %%ymm2,  576(%[s])\n\t"
		"vmovdqu %%ymm3,  608(%[s])\n\t"
		"vmovdqu %%ymm4,  640(%[s])\n\t"
		"vmovdqu %%ymm5,  672(%[s])\n\t"
		"vmovdqu %%ymm6,  704(%[s])\n\t"
		"vmovdqu %%ymm7,  736(%[s])\n\t"
		"vmovdqu %%ymm8,  768(%[s])\n\t"
		"vmovdqu %%ymm9,  800(%[s])\n\t"
		"vmovdqu %%ymm10, 832(%[s])\n\t"
		"vmovdqu %%ymm11, 864(%[s])\n\t"
		"vmovdqu %%ymm12, 896(%[s])\n\t"
		"vmovdqu %%ymm13, 928(%[s])\n\t"
		"vmovdqu %%ymm14, 960(%[s])\n\t"
		"vmovdqu %%ymm15, 992(%[s])\n\t"
		"vzeroupper\n\t"
		:
		: [s] "r"(&R), [nr] "i"(SYS_rt_sigtimedwait),
		  "D"(&set), "S"(0L), "d"(0L)
		: "rax", "rcx", "r10", "r11", "r12", "r13", "r14", "r15",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
		  "memory", "cc");

	if (R.ret != SIGUSR1)
		fail("rt_sigtimedwait returned %lld, expected SIGUSR1 (%d)", (long long)R.ret, SIGUSR1);

	uint32_t mx_after;
	uint16_t cw_after;
	__asm__ volatile("stmxcsr %0" : "=m"(mx_after));
	__asm__ volatile("fnstcw %0" : "=m"(cw_after));
	if ((mx_after & ~MXCSR_FLAGS) != (MXCSR_WANT & ~MXCSR_FLAGS))
		fail("MXCSR is 0x%04x, expected 0x%04x (ignoring exception flags)", mx_after, MXCSR_WANT);
	if (cw_after != X87_CW_WANT)
		fail("x87 control word is 0x%04x, expected 0x%04x", cw_after, X87_CW_WANT);

	for (int r = 0; r < 16; r++)
		for (int b = 0; b < 32; b++)
			if (R.ymm_out[r][b] != R.ymm_in[r][b])
				fail("ymm%d byte %d (%s half): 0x%02x, expected 0x%02x", r, b,
				     b < 16 ? "xmm/low" : "upper", R.ymm_out[r][b], R.ymm_in[r][b]);
	for (int r = 0; r < 4; r++)
		if (R.gpr_out[r] != R.gpr_in[r])
			fail("r%d is 0x%016llx, expected 0x%016llx", 12 + r,
			     (unsigned long long)R.gpr_out[r], (unsigned long long)R.gpr_in[r]);
	if (memcmp(R.x87_out, R.x87_in, 10)) {
		long double got;
		memcpy(&got, R.x87_out, 10);
		fail("x87 st(0) is %.20Lg, expected %.20Lg", got, ld);
	}
	if (divide_bits() != 0x3f2aaaaa)
		fail("2/3 gives 0x%08x, expected 0x3f2aaaaa: SSE rounding mode not in effect",
		     divide_bits());
	pass();
}
