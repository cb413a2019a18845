/*
 * tcp_refuse KIND: a TCP state criu refuses to dump (test/net.sh
 * net/refuse_KIND; dumped with --tcp-established, the dump must fail with
 * one line and leave this process running untouched):
 *   backlog: fd 3 listens with a connection (from fd 4) not yet accepted
 *   urgent: fd 4 -> fd 5 with an urgent byte (MSG_OOB) not yet read
 *   halfclosed: fd 4 shut down for writing: fd 4 in FIN_WAIT2, fd 5 in
 *               CLOSE_WAIT, 3 bytes from fd 4 not read on fd 5 (not a
 *               refusal: net/tcp_halfclosed dumps it with
 *               --tcp-established, restores it and checks the states)
 *   md5: fd 3 listens with a TCP MD5 signature key for peer 10.9.9.9
 *        (fd 4 -> fd 5 accepted, no key)
 * After SIGUSR1: the state is still there and the connection still works
 * (accepted and talking; the urgent byte read; the end of stream seen on
 * fd 5 and data still flowing from fd 5 to fd 4).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

static int state(int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l))
		fail("fd %d: TCP_INFO: %s", fd, strerror(errno));
	return ti.tcpi_state;
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
		fail("usage: tcp_refuse backlog|urgent|halfclosed|md5");
	const char *kind = argv[1];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	put(socket(AF_INET, SOCK_STREAM, 0), 3);
	if (bind(3, (struct sockaddr *)&a, sizeof(a)) || listen(3, 4) || getsockname(3, (struct sockaddr *)&a, &l))
		fail("listen: %s", strerror(errno));
	if (!strcmp(kind, "md5")) {
		struct tcp_md5sig k = { .tcpm_keylen = 6 };
		struct sockaddr_in *peer = (struct sockaddr_in *)&k.tcpm_addr;
		peer->sin_family = AF_INET;
		inet_pton(AF_INET, "10.9.9.9", &peer->sin_addr);
		memcpy(k.tcpm_key, "secret", 6);
		if (setsockopt(3, IPPROTO_TCP, TCP_MD5SIG, &k, sizeof(k)))
			skip("TCP_MD5SIG: %s", strerror(errno));
	}
	put(socket(AF_INET, SOCK_STREAM, 0), 4);
	if (connect(4, (struct sockaddr *)&a, sizeof(a)))
		fail("connect: %s", strerror(errno));
	if (strcmp(kind, "backlog")) {
		put(accept(3, NULL, NULL), 5);
		if (!strcmp(kind, "urgent") && send(4, "!", 1, MSG_OOB) != 1)
			fail("send MSG_OOB: %s", strerror(errno));
		if (!strcmp(kind, "halfclosed") && (write(4, "xyz", 3) != 3 || shutdown(4, SHUT_WR)))
			fail("shutdown: %s", strerror(errno));

		usleep(50000);
	}
	test_ready();
	test_wait_checkpoint();
	char c = 0;
	if (!strcmp(kind, "backlog")) {
		put(accept(3, NULL, NULL), 5);
		talk(4, 5);
	} else if (!strcmp(kind, "md5")) {
		talk(4, 5);
	} else if (!strcmp(kind, "urgent")) {
		if (recv(5, &c, 1, MSG_OOB) != 1 || c != '!')
			fail("fd 5: the urgent byte is gone: %s", strerror(errno));
		talk(4, 5);
	} else {
		char b[3];
		if (state(5) != TCP_CLOSE_WAIT || (state(4) != TCP_FIN_WAIT2 && state(4) != TCP_FIN_WAIT1))
			fail("fd 4 in state %d, fd 5 in %d: not FIN_WAIT1/2 and CLOSE_WAIT", state(4), state(5));
		if (read(5, b, 3) != 3 || memcmp(b, "xyz", 3) || read(5, &c, 1) != 0)
			fail("fd 5: not the 3 bytes then the end of stream");
		talk(5, 4);
		/* the FIN of fd 4 is acked once it is sent again (FIN_WAIT1: not yet) */
		for (int i = 0; i < 300 && state(4) != TCP_FIN_WAIT2; i++)
			usleep(10000);
		if (state(4) != TCP_FIN_WAIT2)
			fail("fd 4 does not reach FIN_WAIT2 (state %d)", state(4));
	}
	talk(5, 4);
	pass();
}
