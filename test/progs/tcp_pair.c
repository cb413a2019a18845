/*
 * tcp_pair: both ends of TCP connections in the process (127.0.0.1 and ::1).
 *   fd 3: listener; fd 4: client end, fd 5: accepted end (IPv4)
 *   fd 4 wrote 4 MiB that fd 5 has not read (fd 5's receive queue full, the
 *   rest in fd 4's send queue, part never sent); fd 5 wrote "hello" that
 *   fd 4 has not read; TCP_NODELAY and SO_KEEPALIVE on fd 4
 *   fd 6, 7: the same over ::1 with a little data each way
 * Dumped with --tcp-established (test/net.sh net/tcp_pair).  After restore:
 * every byte in order on both, then both still talk, and fd 3 accepts.
 * With TCP_PAIR_CLOSED=1 in the environment (net/tcp_close: dumped with
 * --tcp-close): the connections are sockets never connected, and the
 * listener still accepts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test/lib/test.h"

#define BIG (4 << 20)

static uint8_t pattern(uint64_t i) { return test_mix(i / 8) >> (i % 8 * 8); }

static void put(int fd, int want)
{
	if (fd < 0)
		fail("create fd %d: %s", want, strerror(errno));
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2: %s", strerror(errno));
}

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &l);
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* a listener on fd l, a connection c -> a */
static void pair(int family, int l, int c, int a)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr *sa = family == AF_INET ? (struct sockaddr *)&a4 : (struct sockaddr *)&a6;
	socklen_t len = family == AF_INET ? sizeof(a4) : sizeof(a6);
	int one = 1, base = family == AF_INET ? 0 : 2;	/* the test's ports: never an ephemeral one */
	put(socket(family, SOCK_STREAM, 0), l);
	a4.sin_port = a6.sin6_port = htons(test_port(base));
	if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) || bind(l, sa, len) || listen(l, 4))
		fail("listen: %s", strerror(errno));
	put(socket(family, SOCK_STREAM, 0), c);
	a4.sin_port = a6.sin6_port = htons(test_port(base + 1));
	if (setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) || bind(c, sa, len))
		fail("bind: %s", strerror(errno));
	a4.sin_port = a6.sin6_port = htons(port_of(l));
	if (connect(c, sa, len))
		fail("connect: %s", strerror(errno));
	put(accept(l, NULL, NULL), a);
}

static void read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 10000) != 1)
			fail("fd %d: nothing to read after %zu of %zu bytes", fd, got, len);
		ssize_t n = read(fd, buf + got, len - got);
		if (n <= 0)
			fail("fd %d: read after %zu of %zu bytes: %s", fd, got, len, n ? strerror(errno) : "end");
		got += n;
	}
}

static void check_closed(int fd)
{
	char b;
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &l) == 0 || errno != ENOTCONN)
		fail("fd %d: connected after --tcp-close", fd);
	if (send(fd, "x", 1, MSG_NOSIGNAL) >= 0 || recv(fd, &b, 1, MSG_DONTWAIT) > 0)
		fail("fd %d: data through a closed connection", fd);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	bool closed = getenv("TCP_PAIR_CLOSED") && !strcmp(getenv("TCP_PAIR_CLOSED"), "1");
	pair(AF_INET, 3, 4, 5);
	pair(AF_INET6, 8, 6, 7);
	int one = 1;
	setsockopt(4, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(4, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	uint8_t *big = malloc(BIG), *in = malloc(BIG);
	for (size_t i = 0; i < BIG; i++)
		big[i] = pattern(i);
	fcntl(4, F_SETFL, O_NONBLOCK);
	size_t sent = 0;
	for (int idle = 0; sent < BIG && idle < 50;) {
		ssize_t n = write(4, big + sent, BIG - sent);
		if (n > 0) {
			sent += n;
			idle = 0;
		} else {
			idle++;
			usleep(2000);
		}
	}
	if (write(5, "hello", 5) != 5 || write(6, "v6-one", 6) != 6 || write(7, "v6-two", 6) != 6)
		fail("write: %s", strerror(errno));
	usleep(100000);
	test_msg("%zu bytes written on fd 4 before the dump", sent);

	test_ready();
	test_wait_checkpoint();

	if (closed) {
		for (int fd = 4; fd <= 7; fd++)
			check_closed(fd);
	} else {
		char s[8] = "";
		read_exact(4, (uint8_t *)s, 5);
		if (memcmp(s, "hello", 5))
			fail("fd 4 read '%.5s'", s);
		/* the rest of fd 4's data goes out as fd 5 reads */
		fcntl(4, F_SETFL, 0);
		size_t rest = BIG - sent;
		pid_t w = rest ? fork() : -1;
		if (w == 0)
			_exit(write(4, big + sent, rest) == (ssize_t)rest ? 0 : 1);
		read_exact(5, in, BIG);
		for (size_t i = 0; i < BIG; i++)
			if (in[i] != pattern(i))
				fail("fd 5: byte %zu differs (lost or doubled data)", i);
		read_exact(6, (uint8_t *)s, 6);
		if (memcmp(s, "v6-two", 6))
			fail("fd 6 read '%.6s'", s);
		read_exact(7, (uint8_t *)s, 6);
		if (memcmp(s, "v6-one", 6))
			fail("fd 7 read '%.6s'", s);
		if (write(5, "again", 5) != 5)
			fail("write after restore: %s", strerror(errno));
		read_exact(4, (uint8_t *)s, 5);
		int v = 0;
		socklen_t l = sizeof(v);
		if (getsockopt(4, IPPROTO_TCP, TCP_NODELAY, &v, &l) || !v)
			fail("fd 4: TCP_NODELAY lost");
	}
	/* the listener accepts */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons(port_of(3)) };
	if (connect(c, (struct sockaddr *)&a4, sizeof(a4)) || accept(3, NULL, NULL) < 0)
		fail("fd 3 does not accept: %s", strerror(errno));
	pass();
}
