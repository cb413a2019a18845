/*
 * tree_churn: a process whose children come and go all the time.  It
 * forks a child that exits with status 42 at once, reaps it, and again;
 * a dump catches children alive, half-dead (zombies) or gone.  After the
 * restore it goes on, reaping whatever children it had, each with status
 * 42, and passes on SIGUSR1 once it has made another 100 children.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test/lib/test.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	struct timespec zero = { 0, 0 };
	unsigned long made = 0, since = 0;
	bool got = false;

	for (;;) {
		pid_t c = fork();
		if (c < 0)
			fail("fork: %s", strerror(errno));
		if (c == 0)
			_exit(42);
		made++;
		/* reap every child there is (after a restore: those it had too) */
		int st;
		pid_t r;
		while ((r = waitpid(-1, &st, made % 3 ? WNOHANG : 0)) > 0) {
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 42)
				fail("child %d ended with status %#x, not exit 42", r, st);
		}
		if (r < 0 && errno != ECHILD)
			fail("waitpid: %s", strerror(errno));
		if (made == 200)
			test_ready();
		if (!got && sigtimedwait(&usr1, NULL, &zero) == SIGUSR1) {
			got = true;
			since = made;
		}
		if (got && made - since >= 100) {
			while ((r = waitpid(-1, &st, 0)) > 0)
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 42)
					fail("child %d ended with status %#x, not exit 42", r, st);
			pass();
		}
	}
}
