/*
 * proc_self_fds: files of its own /proc directory held open, as programs
 * that watch themselves do: /proc/self/status read 16 bytes into (the
 * path is /proc/PID/status), /proc/self/stat unread.  After the restore
 * both fds are open on the process's own files again (same pid), the
 * status one at the same offset, and reading them gives its own state
 * (its pid and name).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test/lib/test.h"

static void check_link(int fd, const char *what)
{
	char link[64], want[64], path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	snprintf(want, sizeof(want), "/proc/%d/%s", (int)getpid(), what);
	if (n < 0)
		fail("fd %d (%s) is not open: %m", fd, what);
	link[n] = 0;
	if (strcmp(link, want))
		fail("fd %d leads to %s, not %s", fd, link, want);
}

int main(int argc, char **argv)
{
	char buf[4096];

	test_init(argc, argv);
	int st = open("/proc/self/status", O_RDONLY);
	int sa = open("/proc/self/stat", O_RDONLY);
	if (st < 0 || sa < 0)
		fail("open /proc/self files: %m");
	if (read(st, buf, 16) != 16)
		fail("read status: %m");
	test_ready();
	test_wait_checkpoint();

	check_link(st, "status");
	check_link(sa, "stat");
	off_t pos = lseek(st, 0, SEEK_CUR);
	if (pos != 16)
		fail("the status fd is at %ld, was 16", (long)pos);
	lseek(st, 0, SEEK_SET);
	ssize_t n = read(st, buf, sizeof(buf) - 1);
	if (n <= 0)
		fail("read status after: %m");
	buf[n] = 0;
	char want[64];
	snprintf(want, sizeof(want), "\nPid:\t%d\n", (int)getpid());
	if (!strstr(buf, want) || strncmp(buf, "Name:\tproc_self_fds", 19))
		fail("the status read is not this process's: %.60s", buf);
	n = read(sa, buf, sizeof(buf) - 1);
	if (n <= 0 || atoi(buf) != getpid())
		fail("the stat read is not this process's");
	pass();
}
