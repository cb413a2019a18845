/* threads: N threads asleep; READY; on SIGUSR1 checks they all still run, exits 0 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int alive[4096];

static void *sleeper(void *arg)
{
	long i = (long)arg;
	for (;;) {
		alive[i]++;
		usleep(10000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;
	sigset_t s;

	syscall(SYS_close_range, 3, ~0U, 0);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	for (long i = 0; i < n && i < 4096; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, sleeper, (void *)i))
			return 1;
	}
	printf("READY\n");
	fflush(stdout);
	int sig;
	sigwait(&s, &sig);
	int before[4096];
	for (int i = 0; i < n; i++)
		before[i] = alive[i];
	usleep(100000);
	for (int i = 0; i < n; i++)
		if (alive[i] == before[i])
			return 1;
	return 0;
}
