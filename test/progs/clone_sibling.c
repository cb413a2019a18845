/*
 * clone_sibling: two children of this process share one fd table that is
 * not their parent's (the second was cloned by the first with CLONE_FILES
 * | CLONE_PARENT), and two more share their memory the same way (CLONE_VM
 * | CLONE_PARENT).  Restore cannot rebuild either: the dump must be
 * refused (test/refuse.sh), and everything runs on: after SIGUSR1 an fd
 * opened by one sibling must be in the other's table, and a word written
 * by one must be read by the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

static volatile int *shm;	/* [0] go, [1] files result, [2] vm result, [3] children up */
static volatile int vm_word;

static int files_second(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&shm[3], 1, __ATOMIC_SEQ_CST);
	while (!shm[0])
		usleep(1000);
	usleep(50000);
	/* the first opened fd 60 */
	shm[1] = fcntl(60, F_GETFD) >= 0 ? 1 : 2;
	return 0;
}

static int files_first(void *arg)
{
	(void)arg;
	char *stack = malloc(64 * 1024);
	if (clone(files_second, stack + 64 * 1024, CLONE_FILES | CLONE_PARENT, NULL) < 0)
		_exit(1);
	__atomic_fetch_add(&shm[3], 1, __ATOMIC_SEQ_CST);
	while (!shm[0])
		usleep(1000);
	dup2(open("/dev/null", O_RDONLY), 60);
	pause();
	return 0;
}

static int vm_second(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&shm[3], 1, __ATOMIC_SEQ_CST);
	while (!shm[0])
		usleep(1000);
	for (int i = 0; i < 5000 && vm_word != 42; i++)
		usleep(1000);
	shm[2] = vm_word == 42 ? 1 : 2;
	return 0;
}

static int vm_first(void *arg)
{
	(void)arg;
	static char stack2[64 * 1024];
	if (clone(vm_second, stack2 + sizeof(stack2), CLONE_VM | CLONE_PARENT, NULL) < 0)
		_exit(1);
	__atomic_fetch_add(&shm[3], 1, __ATOMIC_SEQ_CST);
	while (!shm[0])
		usleep(1000);
	vm_word = 42;
	pause();
	return 0;
}

int main(int argc, char **argv)
{
	static char stack1[64 * 1024];
	test_init(argc, argv);
	shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		fail("mmap: %m");
	pid_t f = clone(files_first, malloc(64 * 1024) + 64 * 1024, SIGCHLD, NULL);
	pid_t v = clone(vm_first, stack1 + sizeof(stack1), SIGCHLD, NULL);
	if (f < 0 || v < 0)
		fail("clone: %m");
	for (int i = 0; shm[3] < 4; i++) {
		if (i > 5000)
			fail("children did not start");
		usleep(1000);
	}
	test_ready();
	test_wait_checkpoint();

	shm[0] = 1;
	for (int i = 0; !shm[1] || !shm[2]; i++) {
		if (i > 10000)
			fail("siblings did not check");
		usleep(1000);
	}
	if (shm[1] != 1)
		fail("the fd table of the siblings is no longer one");
	if (shm[2] != 1)
		fail("the memory of the siblings is no longer one");
	kill(f, SIGKILL);
	kill(v, SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	pass();
}
