/*
 * keyring_process: a key in a process keyring (add_key to
 * KEY_SPEC_PROCESS_KEYRING); keyring_thread.c builds the same program with
 * IN_THREAD 1: a key in a thread keyring, in a thread of its own.  Keyrings
 * are not saved: the dump must be refused (test/refuse.sh), the program
 * runs on and finds its key after SIGUSR1.
 */
#include <errno.h>
#include <linux/keyctl.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/lib/test.h"

#ifndef IN_THREAD
#define IN_THREAD 0
#endif
#define SPEC (IN_THREAD ? KEY_SPEC_THREAD_KEYRING : KEY_SPEC_PROCESS_KEYRING)

static volatile long key = -1;
static volatile int go, found;

static long add(void)
{
	return syscall(SYS_add_key, "user", "criu-test-key", "secret", 6, SPEC);
}

static int search(void)
{
	return syscall(SYS_keyctl, KEYCTL_SEARCH, SPEC, "user", "criu-test-key", 0) == key;
}

static void *thread_fn(void *arg)
{
	(void)arg;
	key = add();
	while (!go)
		usleep(1000);
	found = search() ? 1 : 2;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;

	test_init(argc, argv);
	if (IN_THREAD) {
		if (pthread_create(&th, NULL, thread_fn, NULL))
			fail("pthread_create");
		while (key == -1 && !found)
			usleep(1000);
	} else {
		key = add();
	}
	if (key < 0) {
		if (errno == ENOSYS || errno == EOPNOTSUPP)
			skip("no keyrings here");
		fail("add_key: %s", strerror(errno));
	}
	test_ready();
	test_wait_checkpoint();

	if (IN_THREAD) {
		go = 1;
		pthread_join(th, NULL);
		if (found != 1)
			fail("the thread's key is gone");
	} else if (!search()) {
		fail("the key is gone from the process keyring");
	}
	pass();
}
