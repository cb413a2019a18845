/*
 * thread_churn: threads are created and end all the time (four spawners,
 * each starting a short-lived thread after another), so the dump seizes a
 * set of threads that changes under it.  After restore every spawner must
 * still run, and its count go on from where it was.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "test/lib/test.h"

#define SPAWNERS 4

static _Atomic int stop;
static _Atomic unsigned long spawned[SPAWNERS];

static void *short_lived(void *arg)
{
	return arg;
}

static void *spawner(void *arg)
{
	int i = (int)(long)arg;
	while (!stop) {
		pthread_t t;
		if (pthread_create(&t, NULL, short_lived, NULL) == 0) {
			pthread_join(t, NULL);
			spawned[i]++;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[SPAWNERS];
	unsigned long before[SPAWNERS];

	test_init(argc, argv);
	for (long i = 0; i < SPAWNERS; i++)
		if (pthread_create(&th[i], NULL, spawner, (void *)i))
			fail("pthread_create failed");
	while (spawned[SPAWNERS - 1] < 100)
		usleep(1000);
	test_ready();
	test_wait_checkpoint();
	for (int i = 0; i < SPAWNERS; i++)
		before[i] = spawned[i];
	usleep(200000);
	for (int i = 0; i < SPAWNERS; i++)
		if (spawned[i] <= before[i])
			fail("spawner %d stopped after restore (%lu threads)", i, spawned[i]);
	stop = 1;
	for (int i = 0; i < SPAWNERS; i++)
		pthread_join(th[i], NULL);
	pass();
}
