/*
 * tcp_refuse KIND: a TCP state criu refuses to dump (test/net.sh
 * net/refuse_KIND; dumped with --tcp-established, the dump must fail with
 * one line and leave this process running untouched):
 *   backlog: fd 3 listens with a connection (from fd 4) not yet accepted
 *   urgent: fd 4 -> fd 5 with an urgent byte (MSG_OOB) not yet read
 *   halfclosed: fd 4 shut down for writing: fd 4 in FIN_WAIT2, fd 5 in
 *               CLOSE_WAIT
 * After SIGUSR1: the state is still there and the connection still works
 * (accepted and talking; the urgent byte read; the end of stream seen on
 * fd 5 and data still flowing from fd 5 to fd 4).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test/lib/test.h"

static void put(int fd, int want)
{
	if (fd < 0)
		fail("create fd %d: %s", want, strerror(errno));
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2: %s", strerror(errno));
}

static void talk(int from, int to)
{
	char b[4] = "";
	if (write(from, "abc", 3) != 3 || read(to, b, 3) != 3 || memcmp(b, "abc", 3))
		fail("fd %d -> fd %d: no data: %s", from, to, strerror(errno));
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (argc < 2)
		fail("usage: tcp_refuse backlog|urgent|halfclosed");
	const char *kind = argv[1];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	put(socket(AF_INET, SOCK_STREAM, 0), 3);
	if (bind(3, (struct sockaddr *)&a, sizeof(a)) || listen(3, 4) || getsockname(3, (struct sockaddr *)&a, &l))
		fail("listen: %s", strerror(errno));
	put(socket(AF_INET, SOCK_STREAM, 0), 4);
	if (connect(4, (struct sockaddr *)&a, sizeof(a)))
		fail("connect: %s", strerror(errno));
	if (strcmp(kind, "backlog")) {
		put(accept(3, NULL, NULL), 5);
		if (!strcmp(kind, "urgent") && send(4, "!", 1, MSG_OOB) != 1)
			fail("send MSG_OOB: %s", strerror(errno));
		if (!strcmp(kind, "halfclosed") && shutdown(4, SHUT_WR))
			fail("shutdown: %s", strerror(errno));
		usleep(50000);
	}
	test_ready();
	test_wait_checkpoint();
	char c = 0;
	if (!strcmp(kind, "backlog")) {
		put(accept(3, NULL, NULL), 5);
		talk(4, 5);
	} else if (!strcmp(kind, "urgent")) {
		if (recv(5, &c, 1, MSG_OOB) != 1 || c != '!')
			fail("fd 5: the urgent byte is gone: %s", strerror(errno));
		talk(4, 5);
	} else {
		if (read(5, &c, 1) != 0)
			fail("fd 5: no end of stream");
		talk(5, 4);
	}
	talk(5, 4);
	pass();
}
