/*
 * pipe_reopen: the ends of one pipe opened again through /proc/self/fd
 * (second open file descriptions of the same ends).
 *
 *   fd 3: read end, fd 4: write end (pipe2), 100 bytes buffered
 *   fd 5: /proc/self/fd/3 opened again O_RDONLY|O_NONBLOCK
 *   fd 6: /proc/self/fd/4 opened again O_WRONLY
 *
 * After restore: four open file descriptions (kcmp), flags as before (only
 * fd 5 non-blocking), one pipe: the 100 bytes are read through fd 5, a
 * byte written through fd 6 is read through fd 3, and once fds 4 and 6
 * are closed fd 3 reads end of file.
 *
 * With argument "packet": fds 7 and 8 are also a packet-mode pipe
 * (pipe2 O_DIRECT; the write end, fd 8, has the flag), which dump refuses
 * (test/files.sh fd/pipe_packet).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/lib/test.h"

static int same_file(int a, int b) { return syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, a, b) == 0; }

static void reopen(int fd, int flags, int want)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int n = open(proc, flags);
	if (n != want)
		fail("open %s: %s (fd %d)", proc, strerror(errno), n);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int p[2];
	char buf[100];
	if (pipe(p) || p[0] != 3 || p[1] != 4)
		fail("pipe: %s", strerror(errno));
	for (int i = 0; i < 100; i++)
		buf[i] = (char)test_mix(i);
	if (write(4, buf, 100) != 100)
		fail("write: %s", strerror(errno));
	reopen(3, O_RDONLY | O_NONBLOCK, 5);
	reopen(4, O_WRONLY, 6);

	if (argc > 1 && !strcmp(argv[1], "packet")) {
		int q[2];
		if (pipe2(q, O_DIRECT) || q[0] != 7 || q[1] != 8 || write(8, "abc", 3) != 3)
			fail("pipe2 O_DIRECT: %s", strerror(errno));
	}
	test_ready();
	test_wait_checkpoint();

	for (int a = 3; a <= 6; a++)
		for (int b = a + 1; b <= 6; b++)
			if (same_file(a, b))
				fail("fds %d and %d are one open file description, they were two", a, b);
	if ((fcntl(3, F_GETFL) & O_NONBLOCK) || !(fcntl(5, F_GETFL) & O_NONBLOCK) ||
	    (fcntl(5, F_GETFL) & O_ACCMODE) != O_RDONLY || (fcntl(6, F_GETFL) & O_ACCMODE) != O_WRONLY)
		fail("flags: fd 3 %o, fd 5 %o, fd 6 %o", fcntl(3, F_GETFL), fcntl(5, F_GETFL), fcntl(6, F_GETFL));
	char got[100];
	if (read(5, got, 100) != 100 || memcmp(got, buf, 100))
		fail("fd 5 does not read the 100 buffered bytes");
	if (read(5, got, 1) != -1 || errno != EAGAIN)
		fail("fd 5: the pipe is not empty after its 100 bytes");
	if (write(6, "x", 1) != 1 || read(3, got, 1) != 1 || got[0] != 'x')
		fail("a byte written through fd 6 is not read through fd 3");
	close(4);
	close(6);
	if (read(3, got, 1) != 0)
		fail("fd 3: no end of file once every write end is closed");
	pass();
}
