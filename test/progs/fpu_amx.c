/*
 * fpu_amx: AMX tile state held across the checkpoint.  The program asks
 * for the tile data permission (ARCH_REQ_XCOMP_PERM), configures all eight
 * tiles (16 rows of 64 bytes), loads them with a pattern, waits for SIGUSR1
 * in the same asm block (rt_sigtimedwait, retried on -EINTR) and stores
 * them and the tile configuration back.  Afterwards a new thread uses the
 * tiles too (the permission is the process's).  Skipped without AMX-TILE
 * or without the permission.  Built with PERM_ONLY (fpu_amx_perm.c): the
 * tiles are released before the checkpoint (no live tile data), and only
 * used after it: the permission itself must come back.
 */
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/lib/test.h"

#define ARCH_REQ_XCOMP_PERM_	0x1023
#define XFEATURE_XTILEDATA_	18
#define TILE_BYTES		1024	/* 16 rows x 64 bytes */

struct tiles {
	uint8_t cfg[64];		/* 0 */
	uint8_t cfg_out[64];		/* 64 */
	int64_t ret;			/* 128 */
	uint8_t pad[56];
	uint8_t in[8][TILE_BYTES];	/* 192 */
	uint8_t out[8][TILE_BYTES];	/* 192 + 8192 */
} __attribute__((aligned(64)));

static struct tiles T;

#define LT(n) "tileloadd 192+" #n "*1024(%[s],%[st],1), %%tmm" #n "\n\t"
#define ST(n) "tilestored %%tmm" #n ", 8384+" #n "*1024(%[s],%[st],1)\n\t"

/* configures and loads every tile; waits for SIGUSR1 if wait, then stores them */
__attribute__((target("amx-tile"), noinline))
static void tiles_round(struct tiles *t, int wait)
{
	uint64_t set = 1ULL << (SIGUSR1 - 1);

	__asm__ volatile(
		"ldtilecfg (%[s])\n\t"
		LT(0) LT(1) LT(2) LT(3) LT(4) LT(5) LT(6) LT(7)
		"test %[w], %[w]\n\t"
		"jz 2f\n\t"
		"1:\n\t"
		"mov %[nr], %%eax\n\t"
		"mov %[set], %%rdi\n\t"
		"xor %%esi, %%esi\n\t"
		"xor %%edx, %%edx\n\t"
		"mov $8, %%r10d\n\t"
		"syscall\n\t"
		"cmp $-4, %%rax\n\t"
		"je 1b\n\t"
		"mov %%rax, 128(%[s])\n\t"
		"2:\n\t"
		ST(0) ST(1) ST(2) ST(3) ST(4) ST(5) ST(6) ST(7)
		"sttilecfg 64(%[s])\n\t"
		"tilerelease\n\t"
		:
		: [s] "r"(t), [st] "r"(64L), [w] "r"((long)wait), [nr] "i"(SYS_rt_sigtimedwait),
		  [set] "r"(&set)
		: "rax", "rcx", "rdx", "rsi", "rdi", "r10", "r11", "memory", "cc");
}

static void fill(struct tiles *t, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->cfg[0] = 1;				/* palette 1 */
	for (int n = 0; n < 8; n++) {
		t->cfg[16 + 2 * n] = 64;	/* bytes a row */
		t->cfg[48 + n] = 16;		/* rows */
		for (int b = 0; b < TILE_BYTES; b++)
			t->in[n][b] = (uint8_t)(test_mix(seed + n * TILE_BYTES + b) | 1);
	}
}

static const char *check(const struct tiles *t)
{
	static char why[128];
	if (memcmp(t->cfg_out, t->cfg, 64)) {
		snprintf(why, sizeof(why), "the tile configuration changed (palette %u, tmm0 %u rows)",
			 t->cfg_out[0], t->cfg_out[48]);
		return why;
	}
	for (int n = 0; n < 8; n++)
		for (int b = 0; b < TILE_BYTES; b++)
			if (t->out[n][b] != t->in[n][b]) {
				snprintf(why, sizeof(why), "tmm%d row %d byte %d: 0x%02x, expected 0x%02x",
					 n, b / 64, b % 64, t->out[n][b], t->in[n][b]);
				return why;
			}
	return NULL;
}

static void *other_thread(void *arg)
{
	static struct tiles U;
	(void)arg;
	fill(&U, 0x9000);
	tiles_round(&U, 0);
	return (void *)check(&U);
}

int main(int argc, char **argv)
{
	unsigned a, b, c, d;
	const char *why;
	pthread_t th;
	void *res;

	test_init(argc, argv);
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)))
		skip("the CPU has no AMX-TILE");
	if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM_, XFEATURE_XTILEDATA_))
		skip("no permission for AMX tile data: %s", strerror(errno));

	fill(&T, 0x7000);
#ifdef PERM_ONLY
	tiles_round(&T, 0);		/* used once, released: no live tile data */
	test_ready();
	test_wait_checkpoint();
	fill(&T, 0x7100);
	tiles_round(&T, 0);		/* SIGILL if the permission was lost */
#else
	test_ready();
	tiles_round(&T, 1);
	if (T.ret != SIGUSR1)
		fail("rt_sigtimedwait returned %lld, expected SIGUSR1 (%d)", (long long)T.ret, SIGUSR1);
#endif
	if ((why = check(&T)))
		fail("%s", why);
	if (pthread_create(&th, NULL, other_thread, NULL) || pthread_join(th, &res))
		fail("cannot run a second thread");
	if (res)
		fail("second thread: %s", (const char *)res);
	pass();
}
