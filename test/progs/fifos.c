/*
 * fifos: FIFOs opened by path, in every arrangement of their ends.
 *
 *   "a": read end fd 3, write end fd 4, 1000 bytes buffered
 *   "b": only a write end (fd 5), 500 bytes buffered (its reader gone)
 *   "c": only a read end (fd 6), 300 bytes buffered, no writer left
 *   "d": read end fd 7 here, write end in a child, which wrote 200 bytes
 *        before the checkpoint and writes 100 more after it
 *   "e": read end fd 8, write end fd 9, 100 bytes buffered, then unlinked
 *   "a" again: a second read end, fd 10 (two descriptions of one end)
 *   "f": opened O_RDWR (fd 11), 50 bytes buffered
 *
 * After restore: every byte is where it was and ends that were one pipe
 * are one pipe (what is written through one end is read through the
 * other; a new reader of "b" gets its 500 bytes; "c" reads its 300 bytes
 * then end of file); "e" is still an unlinked FIFO.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/lib/test.h"

static unsigned char pat(int tag, size_t i) { return (unsigned char)test_mix(tag * 100000 + i); }

static void put(int fd, int want)
{
	if (fd < 0 || (fd != want && (dup2(fd, want) != want || close(fd))))
		fail("open/dup2 fd %d: %s", want, strerror(errno));
}

/* a helper fd, above the fds the test places */
static int hi(int fd)
{
	int h = fcntl(fd, F_DUPFD_CLOEXEC, 30);
	if (fd < 0 || h < 0)
		fail("open: %s", strerror(errno));
	close(fd);
	return h;
}

static void fill(int fd, int tag, size_t from, size_t n)
{
	unsigned char buf[1000];
	for (size_t i = 0; i < n; i++)
		buf[i] = pat(tag, from + i);
	if (write(fd, buf, n) != (ssize_t)n)
		fail("write fifo %c: %s", tag, strerror(errno));
}

static void expect(int fd, int tag, size_t n, const char *what)
{
	unsigned char buf[1000];
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0)
			fail("%s: read %zu of %zu bytes (%s)", what, got, n, r ? strerror(errno) : "end of file");
		got += r;
	}
	for (size_t i = 0; i < n; i++)
		if (buf[i] != pat(tag, i))
			fail("%s: byte %zu is 0x%02x, expected 0x%02x", what, i, buf[i], pat(tag, i));
}

static int mkfifo_in(const char *name, char **path)
{
	*path = test_path(name);
	if (mkfifo(*path, 0640))
		fail("mkfifo %s: %s", *path, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char *a, *b, *c, *d, *e;
	mkfifo_in("a", &a);
	mkfifo_in("b", &b);
	mkfifo_in("c", &c);
	mkfifo_in("d", &d);
	mkfifo_in("e", &e);

	put(open(a, O_RDONLY | O_NONBLOCK), 3);
	put(open(a, O_WRONLY), 4);
	fill(4, 'a', 0, 1000);

	int tmp = hi(open(b, O_RDWR));
	put(open(b, O_WRONLY), 5);
	fill(5, 'b', 0, 500);
	close(tmp);

	tmp = hi(open(c, O_RDWR));
	put(open(c, O_RDONLY | O_NONBLOCK), 6);
	fill(tmp, 'c', 0, 300);
	close(tmp);

	put(open(d, O_RDONLY | O_NONBLOCK), 7);
	int go[2];
	if (pipe2(go, O_CLOEXEC) || dup3(go[0], 20, O_CLOEXEC) != 20 || dup3(go[1], 21, O_CLOEXEC) != 21)
		fail("pipe: %s", strerror(errno));
	close(go[0]);
	close(go[1]);
	pid_t child = fork();
	if (child < 0)
		fail("fork: %s", strerror(errno));
	if (child == 0) {
		close(21);
		for (int fd = 3; fd < 20; fd++)
			close(fd);
		int w = open(d, O_WRONLY);
		fill(w, 'd', 0, 200);
		char x;
		while (read(20, &x, 1) < 0 && errno == EINTR)
			;
		fill(w, 'd', 200, 100);
		_exit(0);
	}
	close(20);

	put(open(e, O_RDONLY | O_NONBLOCK), 8);
	put(open(e, O_WRONLY), 9);
	fill(9, 'e', 0, 100);
	if (unlink(e))
		fail("unlink: %s", strerror(errno));
	put(open(a, O_RDONLY | O_NONBLOCK), 10);
	char *f = test_path("f");
	if (mkfifo(f, 0600))
		fail("mkfifo: %s", strerror(errno));
	put(open(f, O_RDWR), 11);
	fill(11, 'f', 0, 50);

	/* the child's 200 bytes are in "d" before the checkpoint */
	int avail = 0;
	for (int i = 0; i < 500 && avail < 200; i++) {
		ioctl(7, FIONREAD, &avail);
		usleep(10000);
	}
	if (avail != 200)
		fail("fifo d: the child's 200 bytes did not come (%d)", avail);

	test_ready();
	test_wait_checkpoint();

	expect(3, 'a', 1000, "fifo a (fd 3)");
	fill(4, 'a', 0, 10);
	expect(10, 'a', 10, "fifo a, written through fd 4, read through fd 10");

	int rb = open(b, O_RDONLY | O_NONBLOCK);
	if (rb < 0)
		fail("open %s: %s", b, strerror(errno));
	expect(rb, 'b', 500, "fifo b (a new reader)");

	expect(6, 'c', 300, "fifo c (fd 6)");
	char x;
	ssize_t r = read(6, &x, 1);
	if (r != 0)
		fail("fifo c: after its data, read gives %zd (%s), expected end of file", r,
		     r < 0 ? strerror(errno) : "data");

	if (write(21, "g", 1) != 1)
		fail("write: %s", strerror(errno));
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("child failed (status %#x)", st);
	expect(7, 'd', 300, "fifo d (the child's bytes)");

	struct stat se;
	if (fstat(8, &se) || !S_ISFIFO(se.st_mode) || se.st_nlink != 0)
		fail("fifo e: not an unlinked FIFO any more (mode %o, nlink %lu)", se.st_mode,
		     (unsigned long)se.st_nlink);
	expect(8, 'e', 100, "fifo e (unlinked)");
	fill(9, 'e', 0, 5);
	expect(8, 'e', 5, "fifo e, written after restore");
	if ((fcntl(11, F_GETFL) & O_ACCMODE) != O_RDWR)
		fail("fifo f: fd 11 is not O_RDWR any more");
	expect(11, 'f', 50, "fifo f (O_RDWR)");
	fill(11, 'f', 0, 7);
	expect(11, 'f', 7, "fifo f, written and read through fd 11");
	pass();
}
