/*
 * lazy_fork: forks after the checkpoint (while a lazy restore may still be
 * bringing pages in); the child checks every page of a 32 MiB area, then
 * the parent checks its own and waits for the child.  A child that reads
 * a page not holding its pattern (zeros from a lost page source) prints
 * "FAIL: child: ..." and exits 1.  With LAZY_FORK_HOLD set, the child
 * prints "CHILD <pid>" and waits for SIGUSR2 before reading (test
 * lazy/fork_kill_daemon stops the daemon in between).
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

#define AREA	(32UL << 20)

static void check(const uint64_t *m, const char *who)
{
	for (size_t i = 0; i < AREA / 8; i += 64)
		if (m[i] != (test_mix(0xf0 + i) | 1))
			fail("%s: word %zu (page %zu) is %#lx, expected %#lx", who, i, i / 512,
			     (unsigned long)m[i], (unsigned long)(test_mix(0xf0 + i) | 1));
}

int main(int argc, char **argv)
{
	sigset_t usr2;
	int status, sig;

	test_init(argc, argv);
	uint64_t *m = mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap failed");
	for (size_t i = 0; i < AREA / 8; i += 64)
		m[i] = test_mix(0xf0 + i) | 1;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, NULL);
	test_ready();
	test_wait_checkpoint();

	pid_t c = fork();
	if (c < 0)
		fail("fork failed");
	if (c == 0) {
		if (getenv("LAZY_FORK_HOLD")) {
			test_msg("CHILD %d", (int)getpid());
			sigwait(&usr2, &sig);
		}
		check(m, "child");
		_exit(0);
	}
	check(m, "parent");
	if (waitpid(c, &status, 0) != c)
		fail("waitpid failed");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child ended with status %#x", status);
	pass();
}
