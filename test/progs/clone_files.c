/*
 * clone_files: a child process sharing its parent's fd table (clone with
 * CLONE_FILES, not a thread: memory of its own).  Before the checkpoint
 * the parent holds a file at fd 5 and a pipe; after the restore the child
 * must see fd 5 (the same open file: one offset), and an fd the child
 * opens after the restore must show in the parent's table at once, and
 * one the parent closes must be gone for the child.
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

static volatile int *shm;	/* [0]: step, [1]: the child's new fd, [2]: result */
static int pipefd[2];

static int child_fn(void *arg)
{
	(void)arg;
	while (shm[0] < 1)
		usleep(1000);
	/* after the restore: fd 5 is the parent's file, at its offset */
	if (lseek(5, 0, SEEK_CUR) != 10) {
		shm[2] = 2;
		return 0;
	}
	if (write(5, "child", 5) != 5) {
		shm[2] = 3;
		return 0;
	}
	int fd = open("/dev/null", O_RDONLY);
	shm[1] = fd;
	shm[0] = 2;
	while (shm[0] < 3)
		usleep(1000);
	/* the parent closed the pipe's read end: gone here too */
	shm[2] = fcntl(pipefd[0], F_GETFD) < 0 && errno == EBADF ? 1 : 4;
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int f = open(test_path("file"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (shm == MAP_FAILED || f < 0 || dup2(f, 5) != 5 || pipe(pipefd))
		fail("setup: %s", strerror(errno));
	close(f);
	if (write(5, "0123456789", 10) != 10)
		fail("write: %s", strerror(errno));
	char *stack = malloc(256 * 1024);
	pid_t child = clone(child_fn, stack + 256 * 1024, CLONE_FILES | SIGCHLD, NULL);
	if (child < 0)
		fail("clone: %s", strerror(errno));
	test_ready();
	test_wait_checkpoint();

	shm[0] = 1;
	for (int i = 0; shm[0] < 2 && !shm[2]; i++) {
		if (i > 10000)
			fail("the child does not go on after the restore");
		usleep(1000);
	}
	if (shm[2])
		fail("child: fd 5 wrong after the restore (%d)", shm[2]);
	if (lseek(5, 0, SEEK_CUR) != 15)
		fail("fd 5 is not one open file with the child's: offset %ld, want 15",
		     (long)lseek(5, 0, SEEK_CUR));
	if (shm[1] < 0 || fcntl(shm[1], F_GETFD) < 0)
		fail("the fd %d the child opened is not in the parent's table", shm[1]);
	close(pipefd[0]);
	shm[0] = 3;
	int st;
	if (waitpid(child, &st, 0) != child || shm[2] != 1)
		fail("the child still sees an fd the parent closed (%d)", shm[2]);
	pass();
}
