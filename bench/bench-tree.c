/*
 * tree: a process tree for bench/tree.sh.
 *   tree N KIB     the root and N-1 children, each with KIB KiB of its own
 *                  memory written after the fork
 *   tree cow N MIB the root writes MIB MiB, then forks N-1 children that
 *                  only read it (shared copy-on-write until written)
 * Prints READY when all are set up; on SIGUSR1 the root checks every child
 * is alive, kills them, exits 0.  Children also exit with their parent.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int *ready;

int main(int argc, char **argv)
{
	int cow = argc > 1 && !strcmp(argv[1], "cow");
	int n = argc > 1 + cow ? atoi(argv[1 + cow]) : 100;
	long kib = argc > 2 + cow ? atol(argv[2 + cow]) * (cow ? 1024 : 1) : 64;
	pid_t *kids = calloc(n, sizeof(pid_t));
	sigset_t s;

	syscall(SYS_close_range, 3, ~0U, 0);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	ready = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *mem = mmap(NULL, kib * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!kids || ready == MAP_FAILED || mem == MAP_FAILED)
		return 1;
	if (cow)
		memset(mem, 0x5a, kib * 1024);
	for (int i = 1; i < n; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			/* stdout is not shared (one open file in two processes is refused) */
			int null = open("/dev/null", O_RDWR);
			dup2(null, 1);
			dup2(null, 2);
			close(null);
			volatile long sum = 0;
			if (cow)
				for (long k = 0; k < kib * 1024; k += 4096)
					sum += mem[k];
			else
				memset(mem, i, kib * 1024);
			__sync_fetch_and_add(ready, 1);
			for (;;)
				pause();
		}
	}
	while (*ready < n - 1)
		usleep(1000);
	printf("READY\n");
	fflush(stdout);
	int sig;
	sigwait(&s, &sig);
	for (int i = 1; i < n; i++)
		if (kill(kids[i], 0))
			return 2;
	for (int i = 1; i < n; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	return 0;
}
