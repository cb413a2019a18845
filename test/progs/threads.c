/*
 * threads: a process with four threads in different states across the
 * checkpoint, each checking itself after restore:
 *   1  holds distinct values in ymm0-ymm7 and r12-r15 while it waits in
 *      FUTEX_WAIT (one asm block: nothing may touch them in between)
 *   2  sleeps in nanosleep, in a loop
 *   3  spins, incrementing a counter
 *   4  waits on a condition variable, with SIGUSR2 blocked in its own mask
 * Every thread checks its tid (same TIDs after restore), its TLS variable
 * (FS base), its name and its signal mask.
 */
#include <immintrin.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

#define NR 4

static _Atomic int go;			/* set after the checkpoint */
static int futex_word;			/* thread 1 waits on it */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static __thread uint64_t tls_value;
static pid_t tids[NR];
static char errors[NR][160];

static void thread_fail(int i, const char *msg)
{
	snprintf(errors[i], sizeof(errors[i]), "thread %d: %s", i + 1, msg);
}

/* thread 1's wait: registers loaded, futex wait loop, registers stored */
static void hold_registers(uint64_t out_ymm[8][4], uint64_t out_gp[4])
{
	uint64_t in[8][4];
	for (int r = 0; r < 8; r++)
		for (int k = 0; k < 4; k++)
			in[r][k] = test_mix(r * 4 + k + 1000);
	__asm__ volatile(
		"vmovdqu 0(%[in]), %%ymm0\n\t"
		"vmovdqu 32(%[in]), %%ymm1\n\t"
		"vmovdqu 64(%[in]), %%ymm2\n\t"
		"vmovdqu 96(%[in]), %%ymm3\n\t"
		"vmovdqu 128(%[in]), %%ymm4\n\t"
		"vmovdqu 160(%[in]), %%ymm5\n\t"
		"vmovdqu 192(%[in]), %%ymm6\n\t"
		"vmovdqu 224(%[in]), %%ymm7\n\t"
		"push %[out_gp]\n\t"
		"mov $0x1212121212121212, %%r12\n\t"
		"mov $0x1313131313131313, %%r13\n\t"
		"mov $0x1414141414141414, %%r14\n\t"
		"mov $0x1515151515151515, %%r15\n\t"
		"1:\n\t"
		"mov $202, %%eax\n\t"		/* futex */
		"lea futex_word(%%rip), %%rdi\n\t"
		"mov $0, %%esi\n\t"		/* FUTEX_WAIT */
		"xor %%edx, %%edx\n\t"		/* while it is 0 */
		"xor %%r10, %%r10\n\t"
		"syscall\n\t"
		"cmpl $0, futex_word(%%rip)\n\t"
		"je 1b\n\t"
		"pop %%rax\n\t"
		"mov %%r12, 0(%%rax)\n\t"
		"mov %%r13, 8(%%rax)\n\t"
		"mov %%r14, 16(%%rax)\n\t"
		"mov %%r15, 24(%%rax)\n\t"
		"vmovdqu %%ymm0, 0(%[out])\n\t"
		"vmovdqu %%ymm1, 32(%[out])\n\t"
		"vmovdqu %%ymm2, 64(%[out])\n\t"
		"vmovdqu %%ymm3, 96(%[out])\n\t"
		"vmovdqu %%ymm4, 128(%[out])\n\t"
		"vmovdqu %%ymm5, 160(%[out])\n\t"
		"vmovdqu %%ymm6, 192(%[out])\n\t"
		"vmovdqu %%ymm7, 224(%[out])\n\t"
		:
		: [in] "r"(in), [out] "r"(out_ymm), [out_gp] "r"(out_gp)
		: "rax", "rcx", "rdx", "rsi", "rdi", "r10", "r11", "r12", "r13", "r14", "r15",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "memory");
	for (int r = 0; r < 8; r++)
		for (int k = 0; k < 4; k++)
			if (out_ymm[r][k] != in[r][k])
				thread_fail(0, "a ymm register changed across the checkpoint");
}

static void *worker(void *arg)
{
	int i = (int)(intptr_t)arg;
	char name[16], want[16];

	tids[i] = gettid();
	tls_value = 0xabc000 + i;
	snprintf(want, sizeof(want), "worker-%c", (char)('1' + i));
	prctl(PR_SET_NAME, want);
	if (i == 3) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGUSR2);
		pthread_sigmask(SIG_BLOCK, &s, NULL);
	}

	switch (i) {
	case 0: {
		uint64_t ymm[8][4], gp[4];
		hold_registers(ymm, gp);
		if (gp[0] != 0x1212121212121212ULL || gp[1] != 0x1313131313131313ULL ||
		    gp[2] != 0x1414141414141414ULL || gp[3] != 0x1515151515151515ULL)
			thread_fail(0, "r12-r15 changed across the checkpoint");
		break;
	}
	case 1:
		while (!go) {
			struct timespec ts = { 0, 5000000 };
			nanosleep(&ts, NULL);
		}
		break;
	case 2: {
		volatile uint64_t n = 0;
		while (!go)
			n++;
		if (!n)
			thread_fail(2, "never ran");
		break;
	}
	case 3:
		pthread_mutex_lock(&mu);
		while (!go)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		break;
	}

	if (gettid() != tids[i])
		thread_fail(i, "its tid changed");
	if (tls_value != 0xabc000 + (uint64_t)i)
		thread_fail(i, "its TLS variable changed (FS base?)");
	prctl(PR_GET_NAME, name);
	if (strcmp(name, want))
		thread_fail(i, "its name changed");
	sigset_t cur;
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	if (sigismember(&cur, SIGUSR2) != (i == 3) || !sigismember(&cur, SIGUSR1))
		thread_fail(i, "its signal mask changed");
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NR];

	test_init(argc, argv);	/* blocks SIGUSR1: the threads inherit it */
	tls_value = 0x5000;
	for (int i = 0; i < NR; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i))
			fail("pthread_create failed");
	for (int i = 0; i < NR; i++)
		while (!__atomic_load_n(&tids[i], __ATOMIC_SEQ_CST))
			usleep(1000);
	usleep(50000);	/* all in their waits */
	test_ready();
	test_wait_checkpoint();

	pid_t before[NR];
	memcpy(before, tids, sizeof(before));
	go = 1;
	__atomic_store_n(&futex_word, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &futex_word, FUTEX_WAKE, 1, NULL, NULL, 0);
	pthread_mutex_lock(&mu);
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < NR; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NR; i++)
		if (errors[i][0])
			fail("%s", errors[i]);
	if (tls_value != 0x5000)
		fail("the main thread's TLS variable changed");
	(void)before;
	pass();
}
