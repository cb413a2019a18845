/*
 * thread_own_files: a thread with a fd table of its own
 * (unshare(CLONE_FILES)) holding a file the rest of the process has not.
 * Restore makes every thread share its process's table, so the dump must
 * be refused (test/refuse.sh); after SIGUSR1 the thread still has its
 * file and the main thread has not.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "test/lib/test.h"

static volatile int fd = -1, go, verdict;	/* verdict: 1 good, 2 bad */

static void *thread_fn(void *arg)
{
	(void)arg;
	if (unshare(CLONE_FILES))
		return NULL;
	fd = open("/dev/null", O_RDONLY);
	while (!go)
		usleep(1000);
	verdict = fcntl(fd, F_GETFD) >= 0 ? 1 : 2;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;

	test_init(argc, argv);
	if (pthread_create(&th, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (fd < 0)
		usleep(1000);
	if (fcntl(fd, F_GETFD) >= 0)
		fail("the main thread sees the thread's fd %d: the table is shared", fd);
	test_ready();
	test_wait_checkpoint();

	go = 1;
	pthread_join(th, NULL);
	if (verdict != 1)
		fail("the thread lost its fd %d", fd);
	if (fcntl(fd, F_GETFD) >= 0)
		fail("the main thread sees the thread's fd %d", fd);
	pass();
}
