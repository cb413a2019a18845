/*
 * fpu_avx512: the AVX-512 state held across the checkpoint: zmm0..zmm31
 * (all 512 bits) and the opmask registers k1..k7, loaded in one asm block
 * that then waits for SIGUSR1 with the rt_sigtimedwait syscall (retried on
 * -EINTR) and stores them back.  Skipped (exit 77) without AVX-512F/BW.
 */
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>

#include "test/lib/test.h"

struct regs {
	uint8_t zmm_in[32][64];		/* 0 */
	uint8_t zmm_out[32][64];	/* 2048 */
	uint64_t k_in[8];		/* 4096 (k0 unused) */
	uint64_t k_out[8];		/* 4160 */
	int64_t ret;			/* 4224 */
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct regs, zmm_out) == 2048, "layout");
_Static_assert(offsetof(struct regs, k_in) == 4096, "layout");
_Static_assert(offsetof(struct regs, k_out) == 4160, "layout");
_Static_assert(offsetof(struct regs, ret) == 4224, "layout");

static struct regs R;

#define LZ(n)  "vmovdqu64 " #n "*64(%[s]), %%zmm" #n "\n\t"
#define SZ(n)  "vmovdqu64 %%zmm" #n ", 2048+" #n "*64(%[s])\n\t"
#define LK(n)  "kmovq 4096+" #n "*8(%[s]), %%k" #n "\n\t"
#define SK(n)  "kmovq %%k" #n ", 4160+" #n "*8(%[s])\n\t"

__attribute__((target("avx512f,avx512bw"), noinline))
static void hold_across_checkpoint(void)
{
	uint64_t set = 1ULL << (SIGUSR1 - 1);

	__asm__ volatile(
		LZ(0) LZ(1) LZ(2) LZ(3) LZ(4) LZ(5) LZ(6) LZ(7)
		LZ(8) LZ(9) LZ(10) LZ(11) LZ(12) LZ(13) LZ(14) LZ(15)
		LZ(16) LZ(17) LZ(18) LZ(19) LZ(20) LZ(21) LZ(22) LZ(23)
		LZ(24) LZ(25) LZ(26) LZ(27) LZ(28) LZ(29) LZ(30) LZ(31)
		LK(1) LK(2) LK(3) LK(4) LK(5) LK(6) LK(7)
		"mov $8, %%r10d\n"
		"1:\n\t"
		"mov %[nr], %%eax\n\t"
		"syscall\n\t"
		"cmp $-4, %%rax\n\t"
		"je 1b\n\t"
		"mov %%rax, 4224(%[s])\n\t"
		SZ(0) SZ(1) SZ(2) SZ(3) SZ(4) SZ(5) SZ(6) SZ(7)
		SZ(8) SZ(9) SZ(10) SZ(11) SZ(12) SZ(13) SZ(14) SZ(15)
		SZ(16) SZ(17) SZ(18) SZ(19) SZ(20) SZ(21) SZ(22) SZ(23)
		SZ(24) SZ(25) SZ(26) SZ(27) SZ(28) SZ(29) SZ(30) SZ(31)
		SK(1) SK(2) SK(3) SK(4) SK(5) SK(6) SK(7)
		"vzeroupper\n\t"
		:
		: [s] "r"(&R), [nr] "i"(SYS_rt_sigtimedwait), "D"(&set), "S"(0L), "d"(0L)
		: "rax", "rcx", "r10", "r11",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
		  "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
		  "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31",
		  "k1", "k2", "k3", "k4", "k5", "k6", "k7", "memory", "cc");
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw"))
		skip("the CPU has no AVX-512F/BW");

	for (int r = 0; r < 32; r++)
		for (int b = 0; b < 64; b++)
			R.zmm_in[r][b] = (uint8_t)(test_mix(0x5000 + r * 64 + b) | 1);
	for (int k = 1; k < 8; k++)
		R.k_in[k] = test_mix(0x6000 + k) | 1;

	test_ready();
	hold_across_checkpoint();

	if (R.ret != SIGUSR1)
		fail("rt_sigtimedwait returned %lld, expected SIGUSR1 (%d)", (long long)R.ret, SIGUSR1);
	for (int r = 0; r < 32; r++)
		for (int b = 0; b < 64; b++)
			if (R.zmm_out[r][b] != R.zmm_in[r][b])
				fail("zmm%d byte %d (%s): 0x%02x, expected 0x%02x", r, b,
				     b < 16 ? "xmm part" : b < 32 ? "ymm upper half" : "zmm upper 256 bits",
				     R.zmm_out[r][b], R.zmm_in[r][b]);
	for (int k = 1; k < 8; k++)
		if (R.k_out[k] != R.k_in[k])
			fail("k%d is 0x%016llx, expected 0x%016llx", k, (unsigned long long)R.k_out[k],
			     (unsigned long long)R.k_in[k]);
	pass();
}
