/*
 * cli_target: the program behind the runner's "cli" checks (not a test
 * program of its own: the runner starts it with a mode).
 *
 *   cli_target tty        stdin, stdout and stderr must be a terminal (run it
 *                         under ptyrun); after SIGUSR1 they must still be
 *                         one, and writable: prints "tty fd N ok" on each
 *   cli_target exit N     after SIGUSR1, prints "exiting with N" and exits N
 *   cli_target raise SIG  after SIGUSR1, prints "raising SIG" and raises
 *                         signal SIG (number) with its default action
 *   cli_target rdwr       opens a file of its temp dir O_RDWR as fd 3 and
 *                         prints "file PATH"; after SIGUSR1, checks it
 *
 * As for the test programs: READY once set up, FAIL on a failed check (exit
 * status 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "test/lib/test.h"

static void check_ttys(const char *when)
{
	for (int fd = 0; fd < 3; fd++) {
		struct termios t;
		if (!isatty(fd))
			fail("%s: fd %d is not a terminal: %s", when, fd, strerror(errno));
		if (tcgetattr(fd, &t))
			fail("%s: tcgetattr(fd %d): %s", when, fd, strerror(errno));
	}
}

static void mode_tty(void)
{
	char line[64];

	check_ttys("before the checkpoint");
	test_ready();
	test_wait_checkpoint();
	check_ttys("after the checkpoint");
	for (int fd = 0; fd < 3; fd++) {
		int n = snprintf(line, sizeof(line), "tty fd %d ok\n", fd);
		ssize_t w = write(fd, line, n);
		if (w != n)
			fail("write to terminal fd %d returned %zd: %s", fd, w, strerror(errno));
	}
	pass();
}

static void mode_exit(const char *arg)
{
	char *end;
	long code = strtol(arg, &end, 10);
	if (*end || code < 0 || code > 255)
		fail("exit: bad status '%s'", arg);
	test_ready();
	test_wait_checkpoint();
	test_msg("exiting with %ld", code);
	exit(code);
}

static void mode_raise(const char *arg)
{
	sigset_t set;
	char *end;
	long sig = strtol(arg, &end, 10);
	if (*end || sig <= 0 || sig >= 32 || sig == SIGUSR1)
		fail("raise: bad signal '%s'", arg);
	/* the default action, unblocked, whatever the runner's shell left */
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	test_ready();
	test_wait_checkpoint();
	test_msg("raising %ld", sig);
	raise(sig);
	fail("still alive after raising signal %ld", sig);
}

static void mode_rdwr(void)
{
	static const char data[] = "cli_target rdwr data\n";
	char *path = test_path("rdwr-file");
	char buf[sizeof(data)];

	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	if (fd != 3)
		fail("open %s gave fd %d, expected 3", path, fd);
	if (write(fd, data, sizeof(data) - 1) != (ssize_t)sizeof(data) - 1)
		fail("write %s: %s", path, strerror(errno));
	test_msg("file %s", path);
	test_ready();
	test_wait_checkpoint();
	if (pread(fd, buf, sizeof(data) - 1, 0) != (ssize_t)sizeof(data) - 1 ||
	    memcmp(buf, data, sizeof(data) - 1))
		fail("fd 3 (%s) does not read back what was written", path);
	pass();
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (argc == 2 && !strcmp(argv[1], "tty"))
		mode_tty();
	else if (argc == 3 && !strcmp(argv[1], "exit"))
		mode_exit(argv[2]);
	else if (argc == 3 && !strcmp(argv[1], "raise"))
		mode_raise(argv[2]);
	else if (argc == 2 && !strcmp(argv[1], "rdwr"))
		mode_rdwr();
	fail("usage: cli_target tty | exit N | raise SIG | rdwr");
}
