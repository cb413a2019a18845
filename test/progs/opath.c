/*
 * opath: O_PATH fds of files that are neither regular files nor
 * directories.
 *
 *   fd 3: a FIFO, O_PATH
 *   fd 4: a bound unix socket's file, O_PATH
 *   fd 5: a symlink itself, O_PATH|O_NOFOLLOW
 *   fd 6: /dev/null, O_PATH
 *
 * After restore: each is still an O_PATH fd (O_NOFOLLOW kept on fd 5) of
 * the same file (device and inode of lstat of its path), and fd 3 still
 * opens the FIFO again through /proc/self/fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "test/lib/test.h"

static void put(int fd, int want)
{
	if (fd < 0 || (fd != want && (dup2(fd, want) != want || close(fd))))
		fail("open fd %d: %s", want, strerror(errno));
}

static void same(int fd, const char *path, int want_flags)
{
	struct stat a, b;
	if (fstat(fd, &a) || lstat(path, &b) || a.st_ino != b.st_ino || a.st_dev != b.st_dev ||
	    (a.st_mode & S_IFMT) != (b.st_mode & S_IFMT))
		fail("fd %d is not %s any more", fd, path);
	int fl = fcntl(fd, F_GETFL);
	if ((fl & want_flags) != want_flags)
		fail("fd %d: flags %o, expected %o among them", fd, fl, want_flags);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char *fifo = test_path("fifo"), *sock = test_path("sock"), *lnk = test_path("link");
	if (mkfifo(fifo, 0600) || symlink("nowhere", lnk))
		fail("mkfifo/symlink: %s", strerror(errno));
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || close(s))
		fail("bind %s: %s", sock, strerror(errno));
	put(open(fifo, O_PATH), 3);
	put(open(sock, O_PATH), 4);
	put(open(lnk, O_PATH | O_NOFOLLOW), 5);
	put(open("/dev/null", O_PATH), 6);

	test_ready();
	test_wait_checkpoint();

	same(3, fifo, O_PATH);
	same(4, sock, O_PATH);
	same(5, lnk, O_PATH | O_NOFOLLOW);
	same(6, "/dev/null", O_PATH);
	int r = open("/proc/self/fd/3", O_RDWR | O_NONBLOCK);
	struct stat st;
	if (r < 0 || fstat(r, &st) || !S_ISFIFO(st.st_mode))
		fail("the FIFO cannot be opened through fd 3: %s", strerror(errno));
	pass();
}
