/*
 * unix_relative: unix sockets bound to relative paths, from the process's
 * cwd (a directory "sub" of its temporary directory).
 *   fd 3: DGRAM bound to "rel.sock"; "hello" queued from fd 5
 *   fd 4: STREAM listening on "lrel.sock"
 *   fd 5: DGRAM connected to "rel.sock"
 * After restore: the names read as they were (relative), each is the
 * socket file in sub/ (reached by its absolute path too), the queued
 * message is there, fd 5 still sends to fd 3, the listener accepts.
 *
 * "unix_relative moved": the process then changes its cwd, so that the
 * name no longer leads to the socket from it: the dump must refuse it
 * (fd/unix_relative_moved); it goes back before its checks.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "test/lib/test.h"

static socklen_t addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
	return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static void bound(int fd, int type, const char *name)
{
	struct sockaddr_un a;
	socklen_t al = addr(&a, name);
	if (socket(AF_UNIX, type, 0) != fd || bind(fd, (struct sockaddr *)&a, al))
		fail("fd %d: bind %s: %s", fd, name, strerror(errno));
}

static void check_name(int fd, const char *want)
{
	struct sockaddr_un a;
	socklen_t al = sizeof(a);
	if (getsockname(fd, (struct sockaddr *)&a, &al) || strcmp(a.sun_path, want))
		fail("fd %d: named '%s', expected '%s'", fd, al > 2 ? a.sun_path : "", want);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char *sub = test_path("sub");
	char *abs_d = test_path("sub/rel.sock"), *abs_l = test_path("sub/lrel.sock");
	struct sockaddr_un a;
	socklen_t al;

	if (mkdir(sub, 0700) || chdir(sub))
		fail("mkdir/chdir %s: %s", sub, strerror(errno));
	bound(3, SOCK_DGRAM, "rel.sock");
	bound(4, SOCK_STREAM, "lrel.sock");
	if (listen(4, 4))
		fail("listen: %s", strerror(errno));
	al = addr(&a, "rel.sock");
	if (socket(AF_UNIX, SOCK_DGRAM, 0) != 5 || connect(5, (struct sockaddr *)&a, al) ||
	    send(5, "hello", 5, 0) != 5)
		fail("fd 5: connect/send: %s", strerror(errno));
	int moved = argc > 1 && !strcmp(argv[1], "moved");
	if (moved && chdir(".."))
		fail("chdir ..: %s", strerror(errno));

	test_ready();
	test_wait_checkpoint();

	if (moved && chdir(sub))	/* back where the names lead */
		fail("chdir %s: %s", sub, strerror(errno));
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, sub))
		fail("cwd %s, expected %s", cwd, sub);
	check_name(3, "rel.sock");
	check_name(4, "lrel.sock");
	struct stat st;
	if (stat(abs_d, &st) || !S_ISSOCK(st.st_mode) || stat(abs_l, &st) || !S_ISSOCK(st.st_mode))
		fail("the socket files are not in %s", sub);
	char buf[16];
	if (recv(3, buf, sizeof(buf), MSG_DONTWAIT) != 5 || memcmp(buf, "hello", 5))
		fail("fd 3: the queued message is gone");
	if (send(5, "again", 5, 0) != 5 || recv(3, buf, sizeof(buf), MSG_DONTWAIT) != 5 || memcmp(buf, "again", 5))
		fail("fd 5 no longer sends to fd 3: %s", strerror(errno));
	int t = socket(AF_UNIX, SOCK_DGRAM, 0);
	al = addr(&a, abs_d);
	if (t < 0 || sendto(t, "abs", 3, 0, (struct sockaddr *)&a, al) != 3 ||
	    recv(3, buf, sizeof(buf), MSG_DONTWAIT) != 3)
		fail("fd 3 is not reached through %s: %s", abs_d, strerror(errno));
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	al = addr(&a, abs_l);
	if (c < 0 || connect(c, (struct sockaddr *)&a, al))
		fail("connect to %s: %s", abs_l, strerror(errno));
	int s = accept(4, NULL, NULL);
	if (s < 0)
		fail("accept: %s", strerror(errno));
	pass();
}
