/*
 * tty_session: a session whose controlling terminal is a pseudo-terminal
 * its leader holds, with children in other process groups.
 *   the program (root): leads a new session; fd 3 the master, fd 4 the
 *     slave, its controlling terminal (opened without O_NOCTTY)
 *   child "same": in the leader's process group
 *   child "fg":   leads its own process group, the terminal's foreground
 *                 group (tcsetpgrp)
 *   child "bg":   leads its own process group, in the background
 * The children hold no fd of the terminal.  After restore each process
 * checks: /dev/tty opens and is the pair's slave (the leader's fd 4, now a
 * new pts number), tcgetsid gives the leader's session, tcgetpgrp the
 * "fg" child's group, /proc/self/stat's tty_nr is that slave, and its own
 * process group and session are as before.
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
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "test/lib/test.h"

static pid_t leader;
static volatile pid_t *fg_shared;	/* MAP_SHARED: the "fg" group, known to every child */
#define fg_group (*fg_shared)

/* the controlling terminal of this process, checked; NULL or what is wrong */
static const char *check_ctty(const char *who, pid_t want_pgrp, char *msg, size_t len)
{
	char path[64];
	struct stat slave;
	snprintf(path, sizeof(path), "/proc/%d/fd/4", leader);
	if (stat(path, &slave)) {
		snprintf(msg, len, "%s: stat %s: %s", who, path, strerror(errno));
		return msg;
	}
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd < 0) {
		snprintf(msg, len, "%s: open /dev/tty: %s", who, strerror(errno));
		return msg;
	}
	pid_t sid = tcgetsid(fd), fg = tcgetpgrp(fd);
	unsigned dev = 0;	/* the terminal behind /dev/tty */
	int e = ioctl(fd, TIOCGDEV, &dev);
	close(fd);
	if (e || dev != slave.st_rdev)
		snprintf(msg, len, "%s: /dev/tty is %u:%u, the pair's slave is %u:%u", who, major(dev),
			 minor(dev), major(slave.st_rdev), minor(slave.st_rdev));
	else if (sid != leader)
		snprintf(msg, len, "%s: tcgetsid %d, expected %d", who, sid, leader);
	else if (fg != fg_group)
		snprintf(msg, len, "%s: tcgetpgrp %d, expected %d", who, fg, fg_group);
	else if (getsid(0) != leader || getpgrp() != want_pgrp)
		snprintf(msg, len, "%s: session %d group %d, expected %d and %d", who, getsid(0), getpgrp(), leader,
			 want_pgrp);
	else
		msg = NULL;
	if (msg)
		return msg;
	FILE *f = fopen("/proc/self/stat", "r");
	char buf[1024];
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	unsigned tty_nr = 0;
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %u", &tty_nr) != 1)
		return "cannot read /proc/self/stat";
	unsigned maj = (tty_nr >> 8) & 0xfff, min = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
	if (makedev(maj, min) != slave.st_rdev) {
		snprintf(msg = path, sizeof(path), "%s: tty_nr %u:%u", who, maj, min);
		return msg;
	}
	return NULL;
}

/* a child: waits for SIGUSR1 (blocked since test_init), checks, exits 0 or 1 */
static void child(const char *who, pid_t pgrp_of)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	close(3);
	close(4);
	while (sigwaitinfo(&s, NULL) < 0 && errno == EINTR)
		;
	char msg[256];
	const char *bad = check_ctty(who, pgrp_of ? pgrp_of : getpid(), msg, sizeof(msg));
	if (bad)
		test_msg("FAIL: %s", bad);
	_exit(bad ? 1 : 0);
}

static pid_t spawn(const char *who, int own_group, int pipefd)
{
	pid_t pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		if (own_group && setpgid(0, 0))
			_exit(3);
		if (write(pipefd, "x", 1) != 1)
			_exit(3);
		child(who, own_group ? 0 : leader);
	}
	return pid;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (setsid() < 0)
		fail("setsid: %s", strerror(errno));
	leader = getpid();
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m != 3 || grantpt(m) || unlockpt(m))
		fail("posix_openpt: fd %d: %s", m, strerror(errno));
	int s = open(ptsname(m), O_RDWR);	/* becomes the controlling terminal */
	if (s != 4)
		fail("open the slave: fd %d: %s", s, strerror(errno));
	int p[2];
	if (pipe(p))
		fail("pipe: %s", strerror(errno));
	char c;
	fg_shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fg_shared == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	fg_group = spawn("fg", 1, p[1]);
	pid_t bg = spawn("bg", 1, p[1]);
	pid_t same = spawn("same", 0, p[1]);
	for (int i = 0; i < 3; i++)
		if (read(p[0], &c, 1) != 1)
			fail("a child did not start");
	close(p[0]);
	close(p[1]);
	setpgid(fg_group, fg_group);	/* either of us may be first */
	setpgid(bg, bg);
	signal(SIGTTOU, SIG_IGN);
	if (tcsetpgrp(4, fg_group))
		fail("tcsetpgrp: %s", strerror(errno));
	signal(SIGTTOU, SIG_DFL);

	test_ready();
	test_wait_checkpoint();

	char msg[256];
	const char *bad = check_ctty("leader", leader, msg, sizeof(msg));
	pid_t kids[3] = { same, fg_group, bg };
	for (int i = 0; i < 3; i++)
		kill(kids[i], SIGUSR1);
	for (int i = 0; i < 3; i++) {
		int st;
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			bad = bad ? bad : "a child failed its checks";
	}
	if (bad)
		fail("%s", bad);
	pass();
}
