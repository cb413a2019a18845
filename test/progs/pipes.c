/*
 * pipes: anonymous pipes and a FIFO with data in them.
 *   fds 3/4:  pipe A, size 256 KiB, 200 KiB written, 1 KiB read back
 *   fd 5:     dup of fd 3 (A's read end: one open file description)
 *   fds 6/7:  pipe B, empty, both ends O_NONBLOCK, write end close-on-exec
 *   fd 8:     pipe C's read end only (writer closed), 10 KiB in it
 *   fd 9:     pipe D's write end only (reader closed)
 *   fds 10/11: FIFO in the test directory, read end O_NONBLOCK, 5000 bytes
 * After restore: sizes, flags, every buffered byte in order, EOF on C,
 * EPIPE on D, and the pipes still work both ways.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/lib/test.h"

#define A_SIZE	(256 * 1024)
#define A_DATA	(200 * 1024)
#define A_READ	1024
#define C_DATA	(10 * 1024)
#define F_DATA	5000

static unsigned char pat(int which, size_t i) { return (unsigned char)(test_mix(which * 1000003 + i / 8) >> (i % 8 * 8)); }

static void put(int fd, int want)
{
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2 %d -> %d: %s", fd, want, strerror(errno));
}

static void mkpipe(int r, int w, int flags)
{
	int p[2];
	if (pipe2(p, flags))
		fail("pipe: %s", strerror(errno));
	/* move both out of the way first: p[] may be r or w */
	int a = fcntl(p[0], F_DUPFD, 100), b = fcntl(p[1], F_DUPFD, 100);
	close(p[0]);
	close(p[1]);
	put(a, r);
	put(b, w);
}

static void fill(int fd, int which, size_t len)
{
	static unsigned char buf[A_DATA];
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(which, i);
	if (write(fd, buf, len) != (ssize_t)len)
		fail("fill pipe %d: %s", which, strerror(errno));
}

static void drain(int fd, int which, size_t from, size_t len)
{
	static unsigned char buf[A_DATA];
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n <= 0)
			fail("pipe %d: read %zd after %zu of %zu bytes: %s", which, n, got, len, strerror(errno));
		got += n;
	}
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pat(which, from + i))
			fail("pipe %d: byte %zu is 0x%02x, expected 0x%02x", which, from + i, buf[i],
			     pat(which, from + i));
}

static int avail(int fd)
{
	int n = -1;
	if (ioctl(fd, FIONREAD, &n))
		fail("FIONREAD fd %d: %s", fd, strerror(errno));
	return n;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);

	mkpipe(3, 4, 0);
	if (fcntl(4, F_SETPIPE_SZ, A_SIZE) != A_SIZE)
		fail("F_SETPIPE_SZ: %s", strerror(errno));
	fill(4, 1, A_DATA);
	drain(3, 1, 0, A_READ);
	if (dup2(3, 5) != 5)
		fail("dup2: %s", strerror(errno));
	mkpipe(6, 7, 0);
	if (fcntl(6, F_SETFL, O_NONBLOCK) || fcntl(7, F_SETFL, O_NONBLOCK) || fcntl(7, F_SETFD, FD_CLOEXEC))
		fail("fcntl: %s", strerror(errno));
	mkpipe(8, 20, 0);
	fill(20, 3, C_DATA);
	close(20);
	mkpipe(21, 9, 0);
	close(21);
	char *fifo = test_path("fifo");
	if (mkfifo(fifo, 0600))
		fail("mkfifo: %s", strerror(errno));
	put(open(fifo, O_RDONLY | O_NONBLOCK), 10);
	put(open(fifo, O_WRONLY), 11);
	fill(11, 5, F_DATA);

	test_ready();
	test_wait_checkpoint();

	if (fcntl(3, F_GETPIPE_SZ) != A_SIZE)
		fail("pipe A: size %d, expected %d", fcntl(3, F_GETPIPE_SZ), A_SIZE);
	if (avail(3) != A_DATA - A_READ)
		fail("pipe A: %d bytes buffered, expected %d", avail(3), A_DATA - A_READ);
	if ((fcntl(3, F_GETFL) & O_ACCMODE) != O_RDONLY || (fcntl(4, F_GETFL) & O_ACCMODE) != O_WRONLY)
		fail("pipe A: wrong access modes");
	drain(3, 1, A_READ, 1000);
	drain(5, 1, A_READ + 1000, A_DATA - A_READ - 1000);	/* fd 5 shares fd 3's description */
	if (write(4, "ping", 4) != 4)
		fail("pipe A: write: %s", strerror(errno));
	char b[8] = "";
	if (read(5, b, 4) != 4 || memcmp(b, "ping", 4))
		fail("pipe A: not connected after restore");

	if (!(fcntl(6, F_GETFL) & O_NONBLOCK) || !(fcntl(7, F_GETFL) & O_NONBLOCK))
		fail("pipe B: O_NONBLOCK wrong");
	if (!(fcntl(7, F_GETFD) & FD_CLOEXEC) || fcntl(6, F_GETFD) & FD_CLOEXEC)
		fail("pipe B: close-on-exec wrong");
	if (read(6, b, 1) != -1 || errno != EAGAIN)
		fail("pipe B: read of the empty non-blocking pipe did not give EAGAIN");
	if (write(7, "x", 1) != 1 || read(6, b, 1) != 1 || b[0] != 'x')
		fail("pipe B: not connected after restore");

	if (avail(8) != C_DATA)
		fail("pipe C: %d bytes buffered, expected %d", avail(8), C_DATA);
	drain(8, 3, 0, C_DATA);
	if (read(8, b, 1) != 0)
		fail("pipe C: no EOF after its data (the write end should be closed)");

	if (write(9, "x", 1) != -1 || errno != EPIPE)
		fail("pipe D: write did not give EPIPE (the read end should be closed)");

	struct stat st, fst;
	if (stat(fifo, &st) || fstat(10, &fst) || st.st_ino != fst.st_ino || !S_ISFIFO(fst.st_mode))
		fail("FIFO: fd 10 is not the FIFO %s", fifo);
	if (!(fcntl(10, F_GETFL) & O_NONBLOCK))
		fail("FIFO: read end lost O_NONBLOCK");
	if (avail(10) != F_DATA)
		fail("FIFO: %d bytes buffered, expected %d", avail(10), F_DATA);
	drain(10, 5, 0, F_DATA);
	if (write(11, "fifo", 4) != 4 || read(10, b, 4) != 4 || memcmp(b, "fifo", 4))
		fail("FIFO: not connected after restore");
	pass();
}
