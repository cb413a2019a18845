/*
 * sockets: unix sockets inside one process.
 *   fds 3/4:   STREAM socketpair; 3 -> 4: 10 KiB (100 bytes read), 4 -> 3:
 *              "hello"; SO_PASSCRED on 3, SO_SNDBUF 200000 on 4
 *   fds 5/6:   DGRAM socketpair; 5 -> 6: three datagrams (1, 2, 1000
 *              bytes), 6 -> 5: one; fd 6 O_NONBLOCK
 *   fds 7/8:   SEQPACKET socketpair; 7 -> 8: two messages; 8 shut down for
 *              writing (7 reads EOF)
 *   fd 9:      STREAM listening on a path, backlog 5
 *   fd 10:     SEQPACKET listening on an abstract name
 *   fd 11:     DGRAM bound to a path, two datagrams queued from fd 12
 *   fd 12:     DGRAM connected (one way) to fd 11
 *   fds 13/14: a connection to fd 9 and its accepted end; 13 -> 14: "acc"
 * After restore: every queued byte and message boundary, both directions,
 * shutdown, options, and the listeners and the connected datagram socket
 * still work.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test/lib/test.h"

#define BIG (10 * 1024)

static unsigned char pat(size_t i) { return (unsigned char)(test_mix(i / 8 + 5) >> (i % 8 * 8)); }

static void put(int fd, int want)
{
	if (fd < 0)
		fail("create fd %d: %s", want, strerror(errno));
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2: %s", strerror(errno));
}

static void pair(int type, int a, int b)
{
	int sv[2];
	if (socketpair(AF_UNIX, type, 0, sv))
		fail("socketpair: %s", strerror(errno));
	int x = fcntl(sv[0], F_DUPFD, 100), y = fcntl(sv[1], F_DUPFD, 100);
	close(sv[0]);
	close(sv[1]);
	put(x, a);
	put(y, b);
}

static socklen_t addr(struct sockaddr_un *a, const char *path, int abstract)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (abstract) {
		snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "%s", path);
		return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path);
	}
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
	return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static void sendall(int fd, const void *b, size_t n)
{
	if (send(fd, b, n, MSG_DONTWAIT) != (ssize_t)n)
		fail("send %zu bytes on fd %d: %s", n, fd, strerror(errno));
}

static void expect_msg(int fd, const void *want, size_t n, const char *what)
{
	char buf[2048];
	ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (got != (ssize_t)n || memcmp(buf, want, n))
		fail("%s: received %zd bytes, expected %zu (%s)", what, got, n, got < 0 ? strerror(errno) : "");
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	static unsigned char big[BIG];
	for (size_t i = 0; i < BIG; i++)
		big[i] = pat(i);
	char abs_name[64];
	snprintf(abs_name, sizeof(abs_name), "ckpt-test-sockets-%d", getpid());
	char *lpath = test_path("listen.sock"), *dpath = test_path("dgram.sock");
	struct sockaddr_un a;
	socklen_t al;
	int one = 1, sb = 200000;

	pair(SOCK_STREAM, 3, 4);
	sendall(3, big, BIG);
	unsigned char tmp[100];
	if (recv(4, tmp, 100, 0) != 100)
		fail("recv: %s", strerror(errno));
	sendall(4, "hello", 5);
	if (setsockopt(3, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    setsockopt(4, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb)))
		fail("setsockopt: %s", strerror(errno));

	pair(SOCK_DGRAM, 5, 6);
	sendall(5, "a", 1);
	sendall(5, "bb", 2);
	sendall(5, big, 1000);
	sendall(6, "back", 4);
	fcntl(6, F_SETFL, O_NONBLOCK);

	pair(SOCK_SEQPACKET, 7, 8);
	sendall(7, "first", 5);
	sendall(7, "second", 6);
	shutdown(8, SHUT_WR);

	put(socket(AF_UNIX, SOCK_STREAM, 0), 9);
	al = addr(&a, lpath, 0);
	if (bind(9, (struct sockaddr *)&a, al) || listen(9, 5))
		fail("bind/listen %s: %s", lpath, strerror(errno));
	put(socket(AF_UNIX, SOCK_SEQPACKET, 0), 10);
	al = addr(&a, abs_name, 1);
	if (bind(10, (struct sockaddr *)&a, al) || listen(10, 3))
		fail("bind/listen @%s: %s", abs_name, strerror(errno));
	put(socket(AF_UNIX, SOCK_DGRAM, 0), 11);
	al = addr(&a, dpath, 0);
	if (bind(11, (struct sockaddr *)&a, al))
		fail("bind %s: %s", dpath, strerror(errno));
	put(socket(AF_UNIX, SOCK_DGRAM, 0), 12);
	if (connect(12, (struct sockaddr *)&a, al))
		fail("connect %s: %s", dpath, strerror(errno));
	sendall(12, "d1", 2);
	sendall(12, "dgram2", 6);
	put(socket(AF_UNIX, SOCK_STREAM, 0), 13);
	al = addr(&a, lpath, 0);
	if (connect(13, (struct sockaddr *)&a, al))
		fail("connect %s: %s", lpath, strerror(errno));
	put(accept(9, NULL, NULL), 14);
	sendall(13, "acc", 3);

	test_ready();
	test_wait_checkpoint();

	/* 3/4 stream */
	static unsigned char got[BIG];
	size_t have = 0;
	while (have < BIG - 100) {
		ssize_t n = recv(4, got + have, BIG - 100 - have, MSG_DONTWAIT);
		if (n <= 0)
			fail("stream 3->4: %zu of %d bytes, then %s", have, BIG - 100, n ? strerror(errno) : "EOF");
		have += n;
	}
	for (size_t i = 0; i < have; i++)
		if (got[i] != pat(100 + i))
			fail("stream 3->4: byte %zu wrong", i);
	if (recv(4, got, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
		fail("stream 3->4: more data than was queued");
	expect_msg(3, "hello", 5, "stream 4->3");
	int v = 0;
	socklen_t vl = sizeof(v);
	if (getsockopt(3, SOL_SOCKET, SO_PASSCRED, &v, &vl) || !v)
		fail("fd 3 lost SO_PASSCRED");
	vl = sizeof(v);
	if (getsockopt(4, SOL_SOCKET, SO_SNDBUF, &v, &vl) || v != 2 * sb)
		fail("fd 4: SO_SNDBUF %d, expected %d", v, 2 * sb);
	sendall(3, "more", 4);
	expect_msg(4, "more", 4, "stream 3->4 after restore");

	/* 5/6 dgram */
	expect_msg(6, "a", 1, "dgram 5->6 #1");
	expect_msg(6, "bb", 2, "dgram 5->6 #2");
	expect_msg(6, big, 1000, "dgram 5->6 #3");
	expect_msg(5, "back", 4, "dgram 6->5");
	if (!(fcntl(6, F_GETFL) & O_NONBLOCK))
		fail("fd 6 lost O_NONBLOCK");
	if (recv(6, got, 10, 0) != -1 || errno != EAGAIN)
		fail("dgram 5->6: more than the three datagrams");

	/* 7/8 seqpacket */
	expect_msg(8, "first", 5, "seqpacket #1");
	expect_msg(8, "second", 6, "seqpacket #2");
	if (recv(7, got, 10, MSG_DONTWAIT) != 0)
		fail("seqpacket: no EOF on fd 7 after fd 8's shutdown");
	if (send(8, "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
		fail("seqpacket: fd 8 can still send after its shutdown");
	sendall(7, "third", 5);
	expect_msg(8, "third", 5, "seqpacket after restore");

	/* listeners */
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	al = addr(&a, lpath, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, al))
		fail("connect to the restored listener %s: %s", lpath, strerror(errno));
	int s = accept(9, NULL, NULL);
	if (s < 0)
		fail("accept on fd 9: %s", strerror(errno));
	close(s);
	close(c);
	c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	al = addr(&a, abs_name, 1);
	if (c < 0 || connect(c, (struct sockaddr *)&a, al))
		fail("connect to the restored abstract listener: %s", strerror(errno));
	close(c);

	/* 11/12 bound dgram, connected dgram */
	expect_msg(11, "d1", 2, "bound dgram #1");
	expect_msg(11, "dgram2", 6, "bound dgram #2");
	sendall(12, "d3", 2);
	expect_msg(11, "d3", 2, "connected dgram after restore");

	/* 13/14 */
	expect_msg(14, "acc", 3, "accepted connection");
	sendall(14, "ok", 2);
	expect_msg(13, "ok", 2, "accepted connection, back");
	pass();
}
