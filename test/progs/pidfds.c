/*
 * pidfds: pidfds of the process itself, of a live child, of a dead one.
 *
 *   fd 3: pidfd_open(getpid())
 *   fd 4: pidfd_open(child, PIDFD_NONBLOCK), the child waits on a pipe
 *   fd 5: a pidfd of a second child that exited and was reaped (Pid: -1)
 *   fd 6: the first child's pidfd again (a second open file description)
 *
 * After restore: fdinfo "Pid:" of each as before (getpid(), the child,
 * -1), fd 4 still O_NONBLOCK; fd 5 polls readable (dead) and signals to it
 * fail with ESRCH; fd 3 and fd 4 are not readable (alive) and take signal
 * 0; SIGTERM through fd 6 ends the child, and waitid(P_PIDFD) on fd 4 sees
 * it killed by SIGTERM.  A third child, forked after the pidfds were
 * opened, finds its inherited fds 3-5 refer to the same processes.
 *
 * With argument "outside": fd 7 is also a pidfd of its parent (outside
 * the tree), which dump refuses (test/files.sh fd/pidfd_outside); the
 * program, left running, then passes the same checks and fd 7 still
 * refers to its parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int send_sig(int pidfd, int sig) { return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }

static void put(int fd, int want)
{
	if (fd < 0 || (fd != want && (dup2(fd, want) != want || close(fd))))
		fail("pidfd_open/dup2: %s", strerror(errno));
}

/* the Pid: line of fdinfo */
static int fdinfo_pid(int fd)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	int pid = -100;
	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "Pid: %d", &pid) == 1)
			break;
	if (f)
		fclose(f);
	return pid;
}

static bool readable(int fd)
{
	struct pollfd pf = { fd, POLLIN, 0 };
	return poll(&pf, 1, 0) == 1;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int hold[2];
	/* above the fds the test places */
	if (pipe2(hold, O_CLOEXEC) || dup3(hold[0], 20, O_CLOEXEC) != 20 ||
	    dup3(hold[1], 21, O_CLOEXEC) != 21 || close(hold[0]) || close(hold[1]))
		fail("pipe: %s", strerror(errno));
	hold[0] = 20;
	hold[1] = 21;
	pid_t child = fork();
	if (child < 0)
		fail("fork: %s", strerror(errno));
	if (child == 0) {
		char c;
		close(hold[1]);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	pid_t dead = fork();
	if (dead == 0)
		_exit(3);
	put(pidfd_open(getpid(), 0), 3);
	put(pidfd_open(child, PIDFD_NONBLOCK), 4);
	put(pidfd_open(dead, 0), 5);	/* a zombie still: then reaped */
	if (waitpid(dead, NULL, 0) != dead)
		fail("waitpid: %s", strerror(errno));
	put(pidfd_open(child, 0), 6);
	/* a third child inherits the pidfds (shared across the tree) */
	int go[2];
	if (pipe2(go, O_CLOEXEC) || dup3(go[0], 22, O_CLOEXEC) != 22 || dup3(go[1], 23, O_CLOEXEC) != 23)
		fail("pipe: %s", strerror(errno));
	close(go[0]);
	close(go[1]);
	pid_t heir = fork();
	if (heir < 0)
		fail("fork: %s", strerror(errno));
	if (heir == 0) {
		char c;
		close(23);
		while (read(22, &c, 1) < 0 && errno == EINTR)
			;
		_exit(fdinfo_pid(3) == getppid() && fdinfo_pid(4) == child && fdinfo_pid(5) == -1 ? 0 : 1);
	}
	close(22);
	bool outside = argc > 1 && !strcmp(argv[1], "outside");
	if (outside)
		put(pidfd_open(getppid(), 0), 7);
	if (fdinfo_pid(5) != -1)
		fail("a reaped child's pidfd shows Pid %d, not -1", fdinfo_pid(5));

	test_ready();
	test_wait_checkpoint();

	if (fdinfo_pid(3) != getpid() || fdinfo_pid(4) != child || fdinfo_pid(5) != -1 ||
	    fdinfo_pid(6) != child)
		fail("fdinfo Pid of fds 3-6: %d %d %d %d, expected %d %d -1 %d", fdinfo_pid(3),
		     fdinfo_pid(4), fdinfo_pid(5), fdinfo_pid(6), getpid(), child, child);
	if (outside && fdinfo_pid(7) != getppid())
		fail("fd 7: Pid %d, expected the parent %d", fdinfo_pid(7), getppid());
	if (!(fcntl(4, F_GETFL) & O_NONBLOCK) || (fcntl(6, F_GETFL) & O_NONBLOCK))
		fail("PIDFD_NONBLOCK: fd 4 flags %o, fd 6 flags %o", fcntl(4, F_GETFL), fcntl(6, F_GETFL));
	if (readable(3) || readable(4) || !readable(5))
		fail("poll: fds 3, 4 (alive) %d %d, fd 5 (dead) %d", readable(3), readable(4), readable(5));
	if (send_sig(3, 0) || send_sig(4, 0))
		fail("signal 0 to a live pidfd: %s", strerror(errno));
	if (send_sig(5, 0) == 0 || errno != ESRCH)
		fail("signal 0 to the dead pidfd: %s, expected ESRCH", strerror(errno));
	siginfo_t si;
	if (waitid(P_PIDFD, 4, &si, WEXITED | WNOHANG) || si.si_pid != 0)
		fail("waitid on the live child's pidfd: %s / pid %d", strerror(errno), si.si_pid);
	int hs;
	if (write(23, "g", 1) != 1 || waitpid(heir, &hs, 0) != heir || !WIFEXITED(hs) || WEXITSTATUS(hs))
		fail("the child that inherited the pidfds sees them refer to other processes (status %#x)", hs);
	if (send_sig(6, SIGTERM))
		fail("SIGTERM through fd 6: %s", strerror(errno));
	struct pollfd pf = { 4, POLLIN, 0 };
	if (poll(&pf, 1, 5000) != 1)
		fail("the child's pidfd did not become readable after SIGTERM");
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, 4, &si, WEXITED) || si.si_pid != child || si.si_code != CLD_KILLED ||
	    si.si_status != SIGTERM)
		fail("waitid on fd 4: %s, pid %d code %d status %d", strerror(errno), si.si_pid, si.si_code,
		     si.si_status);
	pass();
}
