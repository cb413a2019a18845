/*
 * zombie_pgrp: zombies whose session or process group leader is gone.
 * Y: forked by X, which started a session (X's session and group) and
 * exited; Y is reparented to this process (a child subreaper) and exits.
 * Z1, Z2: joined the group of G (same session as this process), which
 * exited; then they exit.  X and G are reaped, Y, Z1 and Z2 are left as
 * zombies.  After the checkpoint they must still be in those sessions and
 * groups, waitpid(-G) must collect Z1 and Z2, and each must have its
 * exit status; X and G must not come back.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

static int pipe_fd[2];

static void wait_zombie(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT))
		fail("waitid %d: %m", pid);
}

static void reap(pid_t pid, int code)
{
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != code)
		fail("pid %d: status %#x, expected exit %d", pid, st, code);
}

int main(int argc, char **argv)
{
	pid_t x, g, z1, z2, y;
	int st;

	test_init(argc, argv);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || pipe(pipe_fd))
		fail("setup: %m");
	x = fork();
	if (x == 0) {
		if (setsid() < 0)
			_exit(1);
		pid_t c = fork();
		if (c == 0)
			_exit(33);
		if (write(pipe_fd[1], &c, sizeof(c)) != sizeof(c))
			_exit(1);
		_exit(0);
	}
	if (read(pipe_fd[0], &y, sizeof(y)) != sizeof(y))
		fail("read: %m");
	reap(x, 0);
	g = fork();
	if (g == 0) {
		setpgid(0, 0);
		pause();
		_exit(0);
	}
	setpgid(g, g);
	z1 = fork();
	if (z1 == 0) {
		if (setpgid(0, g))
			_exit(1);
		_exit(41);
	}
	z2 = fork();
	if (z2 == 0) {
		if (setpgid(0, g))
			_exit(1);
		_exit(42);
	}
	wait_zombie(z1);
	wait_zombie(z2);
	/* Y is ours once X is gone, and it has exited */
	for (int i = 0; i < 5000 && waitid(P_PID, y, &(siginfo_t){ 0 }, WEXITED | WNOWAIT); i++)
		usleep(1000);
	wait_zombie(y);
	kill(g, SIGKILL);
	if (waitpid(g, &st, 0) != g)
		fail("waitpid G: %m");
	if (getpgid(z1) != g || getpgid(z2) != g || getsid(y) != x || getpgid(y) != x)
		fail("setup: groups %d %d, session of Y %d", getpgid(z1), getpgid(z2), getsid(y));
	test_msg("X %d (gone) Y %d; G %d (gone) Z1 %d Z2 %d", x, y, g, z1, z2);
	test_ready();
	test_wait_checkpoint();

	if (getsid(y) != x || getpgid(y) != x)
		fail("Y %d: session %d, group %d; was %d", y, getsid(y), getpgid(y), x);
	if (getpgid(z1) != g || getpgid(z2) != g)
		fail("Z1, Z2: groups %d and %d, were %d", getpgid(z1), getpgid(z2), g);
	if (kill(x, 0) == 0 || kill(g, 0) == 0)
		fail("a gone leader is back: X %d, G %d", kill(x, 0) == 0, kill(g, 0) == 0);
	reap(y, 33);
	for (int i = 0; i < 2; i++) {
		pid_t r = waitpid(-g, &st, 0);
		if ((r != z1 && r != z2) || !WIFEXITED(st) || WEXITSTATUS(st) != (r == z1 ? 41 : 42))
			fail("waitpid(-%d): %d, status %#x", g, r, st);
	}
	if (waitpid(-1, &st, WNOHANG) != -1 || errno != ECHILD)
		fail("children left after reaping Y, Z1, Z2");
	pass();
}
