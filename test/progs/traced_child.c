/*
 * traced_child: a process of the tree traces another (PTRACE_SEIZE of its
 * child, as a debugger or a sandbox does).  Restore cannot make the
 * tracing again: the dump must be refused naming the tracer
 * (test/refuse.sh); after SIGUSR1 the child is still traced by its
 * parent, and running.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

static int tracer_of(pid_t pid, char *state)
{
	char path[64], line[256];
	int tracer = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "TracerPid: %d", &tracer);
		sscanf(line, "State: %c", state);
	}
	if (f)
		fclose(f);
	return tracer;
}

int main(int argc, char **argv)
{
	char st = '?';

	test_init(argc, argv);
	pid_t c = fork();
	if (c < 0)
		fail("fork: %m");
	if (c == 0) {
		for (;;)
			pause();
	}
	if (ptrace(PTRACE_SEIZE, c, NULL, NULL))
		fail("PTRACE_SEIZE: %m");
	test_ready();
	test_wait_checkpoint();

	int t = tracer_of(c, &st);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	if (t != getpid())
		fail("the child is traced by %d, not by us (%d)", t, (int)getpid());
	if (st != 'S')
		fail("the child is in state %c, not sleeping", st);
	pass();
}
