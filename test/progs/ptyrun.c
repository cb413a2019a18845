/*
 * ptyrun: a helper of the runner (not a test program).  Runs a command with
 * its stdin, stdout and stderr on the slave side of a new pseudo-terminal,
 * as the leader of a new session with that terminal as its controlling
 * terminal, the way a shell job is started from a terminal.
 *
 *   ptyrun [-p PIDFILE] CMD [ARG...]
 *
 * What the command (and anything that inherits the terminal) writes is
 * copied to ptyrun's stdout; output post-processing and echo are off, so
 * lines end in "\n" as in a file.  Nothing is sent to the terminal's input.
 * PIDFILE receives the command's pid.  Exits with the command's status, or
 * 128+N if it was killed by signal N, once the command has exited and
 * nothing holds the terminal open any more (or 2 s after the command exited
 * if something still does).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "ptyrun: %s: %s\n", what, strerror(errno));
	exit(125);
}

static int copy_out(int master)
{
	char buf[4096];
	ssize_t n = read(master, buf, sizeof(buf));
	if (n <= 0)
		return -1;	/* EIO: no slave fd is open any more */
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(STDOUT_FILENO, buf + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return 0;	/* stdout is gone: keep draining */
		}
		off += w;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *pidfile = NULL;
	int argi = 1, status = 0;
	bool exited = false;
	double exited_at = 0;

	if (argc > 2 && !strcmp(argv[1], "-p")) {
		pidfile = argv[2];
		argi = 3;
	}
	if (argi >= argc) {
		fprintf(stderr, "usage: ptyrun [-p PIDFILE] CMD [ARG...]\n");
		return 125;
	}

	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		die("posix_openpt");
	if (grantpt(master) || unlockpt(master))
		die("grantpt/unlockpt");
	const char *slave_name = ptsname(master);
	if (!slave_name)
		die("ptsname");
	char slave_path[256];
	snprintf(slave_path, sizeof(slave_path), "%s", slave_name);

	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (setsid() < 0)
			die("setsid");
		int s = open(slave_path, O_RDWR);
		if (s < 0)
			die(slave_path);
		if (ioctl(s, TIOCSCTTY, 0))
			die("TIOCSCTTY");
		struct termios t;
		if (tcgetattr(s, &t))
			die("tcgetattr");
		t.c_oflag &= ~OPOST;
		t.c_lflag &= ~(ECHO | ECHONL);
		if (tcsetattr(s, TCSANOW, &t))
			die("tcsetattr");
		for (int fd = 0; fd < 3; fd++)
			if (dup2(s, fd) < 0)
				die("dup2");
		if (s > 2)
			close(s);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[argi], argv + argi);
		die(argv[argi]);
	}
	signal(SIGPIPE, SIG_IGN);
	/* held until the command exits: until then the master never reads EIO,
	 * even before the command has opened its side */
	int hold = open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (hold < 0) {
		kill(pid, SIGKILL);
		die(slave_path);
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (!f || fprintf(f, "%d\n", pid) < 0 || fclose(f)) {
			kill(pid, SIGKILL);
			die(pidfile);
		}
	}

	for (;;) {
		struct pollfd pfd = { .fd = master, .events = POLLIN };
		int r = poll(&pfd, 1, 100);
		if (r < 0 && errno != EINTR)
			die("poll");
		if (r > 0 && copy_out(master))
			break;		/* the terminal is closed on the slave side */
		if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			exited_at = now_s();
			close(hold);
		}
		if (exited && now_s() - exited_at > 2)
			break;		/* something else holds the terminal open */
	}
	if (!exited && waitpid(pid, &status, 0) != pid)
		die("waitpid");
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
