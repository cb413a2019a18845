/*
 * pty_tree: a pseudo-terminal whose ends are in different processes, the
 * way a terminal emulator or sshd runs a shell and its job.
 *   the program (root): holds the master only (fd 3), raw mode
 *   child "shell": leads a new session whose controlling terminal is the
 *     slave, fd 4 (and a dup at fd 5); mode O_NONBLOCK set on fd 4 by "job"
 *   grandchild "job": in its own process group, the terminal's foreground
 *     group; fd 4 inherited from "shell" (the same open file description),
 *     fd 6 opened through /dev/tty
 * After restore: the root's master and the slaves are one pair (bytes go
 * both ways), "shell" and "job" have the slave as controlling terminal
 * (/dev/tty, TIOCGDEV, tcgetsid = "shell", tcgetpgrp = "job"), "job"'s fd
 * 6 is that terminal (it reads what the root wrote, answers through fd 6), and fd 4 of both is one open file description
 * (O_NONBLOCK set by one is seen by the other).
 *
 * "pty_tree unheld": the shell then closes its fds of the terminal: the
 * dump must refuse a session leader whose controlling terminal it holds
 * no fd of (fd/pty_ctty_unheld); the job passes its checks afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "test/lib/test.h"

struct shared {
	pid_t shell, job;
	int ready;
	int unheld;	/* "pty_tree unheld": the shell closes its fds of the terminal */
};
static struct shared *sh;

static void wait_usr1(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	while (sigwaitinfo(&s, NULL) < 0 && errno == EINTR)
		;
}

static const char *check_tty(const char *who, char *msg, size_t len)
{
	struct stat st;
	unsigned dev = 0;
	if (fstat(4, &st)) {
		snprintf(msg, len, "%s: fstat fd 4: %s", who, strerror(errno));
		return msg;
	}
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd < 0 || ioctl(fd, TIOCGDEV, &dev) || dev != st.st_rdev) {
		snprintf(msg, len, "%s: /dev/tty (%s) is not the slave at fd 4", who, fd < 0 ? strerror(errno) : "");
		return msg;
	}
	pid_t sid = tcgetsid(fd), fg = tcgetpgrp(fd);
	close(fd);
	if (sid != sh->shell || fg != sh->job) {
		snprintf(msg, len, "%s: tcgetsid %d tcgetpgrp %d, expected %d and %d", who, sid, fg, sh->shell, sh->job);
		return msg;
	}
	if (!(fcntl(4, F_GETFL) & O_NONBLOCK)) {
		snprintf(msg, len, "%s: fd 4 lost O_NONBLOCK (one open file description with the job's)", who);
		return msg;
	}
	return NULL;
}

static void __attribute__((noreturn)) job(void)
{
	close(5);
	if (setpgid(0, 0))
		_exit(3);
	int t = open("/dev/tty", O_RDWR);
	if (t < 0 || dup2(t, 6) != 6)
		_exit(3);
	close(t);
	fcntl(4, F_SETFL, fcntl(4, F_GETFL) | O_NONBLOCK);
	__atomic_store_n(&sh->ready, 1, __ATOMIC_SEQ_CST);
	wait_usr1();
	char msg[256];
	const char *bad = check_tty("job", msg, sizeof(msg));
	unsigned d6 = 0, d4 = 0;
	if (!bad && (ioctl(6, TIOCGDEV, &d6) || ioctl(4, TIOCGDEV, &d4) || d6 != d4))
		bad = "job: fd 6 (/dev/tty) is not the slave";
	/* the root wrote "x" to the master: here on the slave (the job is in
	 * the foreground: it may read) */
	char c = 0;
	for (int i = 0; !bad && i < 1000 && read(4, &c, 1) != 1; i++)
		usleep(1000);
	if (!bad && c != 'x')
		bad = "job: the byte the master wrote is not on the slave";
	if (!bad && write(6, "y", 1) != 1)
		bad = "job: write to the slave through /dev/tty";
	if (bad)
		test_msg("FAIL: %s", bad);
	_exit(bad ? 1 : 0);
}

static void __attribute__((noreturn)) shell(const char *slave)
{
	close(3);
	if (setsid() < 0)
		_exit(3);
	int s = open(slave, O_RDWR);	/* the controlling terminal */
	if (s < 0 || dup2(s, 4) != 4 || dup2(s, 5) != 5)
		_exit(3);
	close(s);
	sh->shell = getpid();
	pid_t j = fork();
	if (j == 0)
		job();
	setpgid(j, j);
	sh->job = j;
	signal(SIGTTOU, SIG_IGN);
	if (tcsetpgrp(4, j))
		_exit(3);
	signal(SIGTTOU, SIG_DFL);
	if (sh->unheld) {
		close(4);
		close(5);
	}
	wait_usr1();
	char msg[256];
	const char *bad = sh->unheld ? NULL : check_tty("shell", msg, sizeof(msg));
	kill(j, SIGUSR1);
	int st;
	if (waitpid(j, &st, 0) != j || !WIFEXITED(st) || WEXITSTATUS(st))
		bad = bad ? bad : "the job failed its checks";
	if (bad)
		test_msg("FAIL: %s", bad);
	_exit(bad ? 1 : 0);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (sh != MAP_FAILED)
		sh->unheld = argc > 1 && !strcmp(argv[1], "unheld");
	if (sh == MAP_FAILED || m != 3 || grantpt(m) || unlockpt(m))
		fail("posix_openpt: fd %d: %s", m, strerror(errno));
	struct termios t;
	if (tcgetattr(3, &t))
		fail("tcgetattr: %s", strerror(errno));
	cfmakeraw(&t);
	if (tcsetattr(3, TCSANOW, &t))
		fail("tcsetattr: %s", strerror(errno));
	char slave[64];
	snprintf(slave, sizeof(slave), "%s", ptsname(3));
	pid_t s = fork();
	if (s < 0)
		fail("fork: %s", strerror(errno));
	if (s == 0)
		shell(slave);
	for (int i = 0; i < 5000 && !__atomic_load_n(&sh->ready, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	if (!sh->ready)
		fail("the shell and its job did not start");
	usleep(20000);	/* the shell is in its wait */

	test_ready();
	test_wait_checkpoint();

	if (write(3, "x", 1) != 1)
		fail("write to the master: %s", strerror(errno));
	kill(s, SIGUSR1);
	int st;
	if (waitpid(s, &st, 0) != s || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("the shell failed its checks");
	char c = 0;
	for (int i = 0; i < 1000 && read(3, &c, 1) != 1; i++)
		usleep(1000);
	if (c != 'y')
		fail("the byte the slave wrote is not on the master");
	pass();
}
