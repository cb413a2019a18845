/*
 * thread_own_fs: a thread with a cwd and umask of its own
 * (unshare(CLONE_FS), then chdir and umask).  Restore makes every thread
 * share its process's, so the dump must be refused (test/refuse.sh);
 * after SIGUSR1 each thread still has its own.
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/lib/test.h"

static volatile int ready, go, verdict;	/* verdict: 1 good, 2 bad */

static void *thread_fn(void *arg)
{
	char cwd[256];

	(void)arg;
	if (unshare(CLONE_FS) || chdir("/") || (umask(077), 0)) {
		ready = 2;
		return NULL;
	}
	ready = 1;
	while (!go)
		usleep(1000);
	mode_t m = umask(077);
	verdict = getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, "/") && m == 077 ? 1 : 2;
	return NULL;
}

int main(int argc, char **argv)
{
	char cwd[256];
	pthread_t th;

	test_init(argc, argv);
	if (chdir("/tmp"))
		fail("chdir /tmp: %m");
	umask(022);
	if (pthread_create(&th, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (!ready)
		usleep(1000);
	if (ready != 1)
		fail("unshare(CLONE_FS) in the thread: %m");
	test_ready();
	test_wait_checkpoint();

	go = 1;
	pthread_join(th, NULL);
	if (verdict != 1)
		fail("the thread lost its own cwd or umask");
	mode_t m = umask(022);
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/tmp") || m != 022)
		fail("the main thread's cwd or umask changed (%s, %o)", cwd, m);
	pass();
}
