/*
 * rseq_cs: a thread that spends its life inside an rseq critical section.
 * Its section is a loop that never commits; the kernel aborts it at each
 * preemption, and the abort handler counts and enters again.  A dump
 * therefore finds the thread inside the section, and must restore it at
 * the abort handler (the runner's cli/rseq_fixup check reads the dumped
 * registers; "cs START END ABORT" and "tid TID" are printed for it).
 * After restore the thread must go on: both counters move.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

extern const ptrdiff_t __rseq_offset;
extern const unsigned int __rseq_size;
extern char cs_start[], cs_end[], cs_abort[];

#define RSEQ_SIG 0x53053053	/* glibc's on x86 */

static volatile uint64_t spins, aborts;
static volatile pid_t spinner_tid;

static void *spinner(void *arg)
{
	(void)arg;
	char *rs = (char *)__builtin_thread_pointer() + __rseq_offset;
	spinner_tid = syscall(SYS_gettid);
	__asm__ volatile(
		".pushsection __rseq_cs, \"aw\"\n\t"
		".balign 32\n\t"
		"9: .long 0, 0\n\t"
		".quad cs_start, cs_end - cs_start, cs_abort\n\t"
		".popsection\n\t"
		"0: leaq 9b(%%rip), %%rax\n\t"
		"movq %%rax, 8(%[rs])\n\t"
		".globl cs_start\n"
		"cs_start: addq $1, %[spins]\n\t"
		"jmp cs_start\n\t"
		".globl cs_end\n"
		"cs_end:\n\t"
		".long 0x53053053\n\t"
		".globl cs_abort\n"
		"cs_abort: addq $1, %[aborts]\n\t"
		"jmp 0b\n\t"
		: [spins] "+m"(spins), [aborts] "+m"(aborts)
		: [rs] "r"(rs)
		: "rax", "memory", "cc");
	return NULL;
}

static void wait_moves(const char *when)
{
	uint64_t s = spins, a = aborts;
	for (int i = 0; i < 2000; i++) {
		if (spins != s && aborts != a)
			return;
		struct timespec t = { 0, 1000000 };
		nanosleep(&t, NULL);
	}
	fail("%s: the thread does not go on (spins %llu, aborts %llu)", when,
	     (unsigned long long)spins, (unsigned long long)aborts);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (!__rseq_size)
		skip("glibc did not register rseq (glibc.pthread.rseq=0?)");
	pthread_t t;
	if (pthread_create(&t, NULL, spinner, NULL))
		fail("pthread_create: %s", strerror(errno));
	while (!spinner_tid)
		usleep(1000);
	wait_moves("before the dump");
	test_msg("cs %lu %lu %lu", (unsigned long)cs_start, (unsigned long)cs_end,
		 (unsigned long)cs_abort);
	test_msg("tid %d", spinner_tid);
	test_ready();
	test_wait_checkpoint();
	wait_moves("after the restore");
	pass();
}
