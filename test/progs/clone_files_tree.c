/*
 * clone_files_tree: fd tables shared (CLONE_FILES) in several shapes.
 *   C1 shares this process's table, C2 shares C1's (three processes, one
 *   table); C3 shares it too (siblings); D is C1's child with a table of
 *   its own (fork), holding fd 41 that the others lack; E is cloned with
 *   CLONE_FILES by a second thread of this process.
 * After the checkpoint this process opens fd 40: every sharer must see
 * it, D must not, and D must still hold its fd 41 (which this process
 * must not have); fd 5 (a file opened before any clone) must be one open
 * file for all sharers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

enum { C1, C2, C3, D, E, NR };
static const char *names[NR] = { "C1", "C2", "C3", "D", "E" };
/* [0] go (1 after the restore), [1 + who] ready, [8 + who] result (1 ok, else a code) */
static volatile int *shm;

static pid_t clone_with(int (*fn)(void *), int flags, long who)
{
	char *stack = malloc(256 * 1024);
	pid_t pid = clone(fn, stack + 256 * 1024, flags | SIGCHLD, (void *)who);
	if (pid < 0)
		fail("clone %s: %m", names[who]);
	return pid;
}

static int sharer_check(void)
{
	if (fcntl(40, F_GETFD) < 0)
		return 2;
	if (lseek(5, 0, SEEK_CUR) != 10)
		return 3;
	return 1;
}

static int run(void *arg)
{
	long who = (long)arg;
	pid_t kids[2] = { 0, 0 };

	if (who == C1) {
		kids[0] = clone_with(run, CLONE_FILES, C2);
		kids[1] = clone_with(run, 0, D);
	}
	if (who == D && dup2(open("/dev/zero", O_RDONLY), 41) != 41)
		_exit(9);
	shm[1 + who] = 1;
	while (!shm[0])
		usleep(1000);
	if (who == D)
		shm[8 + D] = fcntl(40, F_GETFD) >= 0 ? 4 : fcntl(41, F_GETFD) < 0 ? 5 : 1;
	else
		shm[8 + who] = sharer_check();
	for (int i = 0; i < 2; i++)
		if (kids[i])
			waitpid(kids[i], NULL, 0);
	return 0;
}

static void *idle_fn(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *thread_fn(void *arg)
{
	*(pid_t *)arg = clone_with(run, CLONE_FILES, E);
	return NULL;
}

int main(int argc, char **argv)
{
	pid_t c1, c3, e = 0;
	pthread_t th;

	test_init(argc, argv);
	shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int f = open(test_path("file"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (shm == MAP_FAILED || f < 0 || dup2(f, 5) != 5 || write(5, "0123456789", 10) != 10)
		fail("setup: %m");
	close(f);
	c1 = clone_with(run, CLONE_FILES, C1);
	c3 = clone_with(run, CLONE_FILES, C3);
	if (pthread_create(&th, NULL, thread_fn, &e) || pthread_join(th, NULL))
		fail("thread");
	/* a thread that stays, so that the tree has one */
	if (pthread_create(&th, NULL, idle_fn, NULL))
		fail("thread");
	for (int w = 0; w < NR; w++)
		for (int i = 0; !shm[1 + w]; i++) {
			if (i > 5000)
				fail("%s did not start", names[w]);
			usleep(1000);
		}
	if (fcntl(41, F_GETFD) == 0)
		fail("setup: D's fd 41 is in the shared table");
	test_ready();
	test_wait_checkpoint();

	if (dup2(open("/dev/null", O_RDONLY), 40) != 40)
		fail("dup2: %m");
	if (fcntl(41, F_GETFD) == 0)
		fail("D's fd 41 is in the shared table after the restore");
	shm[0] = 1;
	for (int w = 0; w < NR; w++) {
		for (int i = 0; !shm[8 + w]; i++) {
			if (i > 5000)
				fail("%s did not check", names[w]);
			usleep(1000);
		}
		if (shm[8 + w] != 1)
			fail("%s: check %d failed (2: fd 40 missing, 3: fd 5 offset, 4: D sees fd 40, 5: D lost fd 41)",
			     names[w], shm[8 + w]);
	}
	waitpid(c1, NULL, 0);
	waitpid(c3, NULL, 0);
	waitpid(e, NULL, __WALL);
	pass();
}
