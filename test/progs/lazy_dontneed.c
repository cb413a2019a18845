/*
 * lazy_dontneed: 32 MiB of patterned private memory.  After SIGUSR1 it
 * checks the pattern (a lazy restore brings every page in) and says
 * CHECKED; after SIGUSR2 it drops the memory (MADV_DONTNEED) and reads
 * it again: zeros, as the kernel gives for an unregistered range.  Run by
 * safety/lazy_let_go only: a range left registered with a uffd no one
 * reads would block it there for good.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "test/lib/test.h"

#define SIZE	(32UL << 20)
#define WORDS	(SIZE / 8)

int main(int argc, char **argv)
{
	sigset_t usr2;

	test_init(argc, argv);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, NULL);
	uint64_t *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	for (size_t w = 0; w < WORDS; w += 64)
		m[w] = test_mix(w) | 1;
	test_ready();
	test_wait_checkpoint();

	for (size_t w = 0; w < WORDS; w += 64)
		if (m[w] != (test_mix(w) | 1))
			fail("word %zu: %#llx, expected %#llx", w, (unsigned long long)m[w],
			     (unsigned long long)(test_mix(w) | 1));
	test_msg("CHECKED");
	int sig;
	sigwait(&usr2, &sig);
	if (madvise(m, SIZE, MADV_DONTNEED))
		fail("madvise DONTNEED: %s", strerror(errno));
	for (size_t w = 0; w < WORDS; w += 512)
		if (m[w])
			fail("word %zu after MADV_DONTNEED: %#llx, expected 0", w, (unsigned long long)m[w]);
	pass();
}
