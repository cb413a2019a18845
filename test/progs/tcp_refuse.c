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
 *   synsent: fd 4 (non-blocking) connecting: in SYN_SENT, its SYN dropped
 *        by a listener whose accept queue is full (backlog 0, one
 *        connection queued), held by a process outside the tree (double
 *        forked; it exits once this one is gone)
 *   soerror: fd 4, UDP connected to a port nothing listens on, sent to:
 *        the ICMP port unreachable left ECONNREFUSED pending (SO_ERROR)
 * After SIGUSR1: the state is still there and the connection still works
 * (accepted and talking; the urgent byte read; the end of stream seen on
 * fd 5 and data still flowing from fd 5 to fd 4; fd 4 still in SYN_SENT
 * with no error; fd 4's ECONNREFUSED still pending).
 * The ports are the test's (test_port): 0 the listener, 1 fd 4, 2 the
 * full listener of synsent, 3 the silent port of soerror.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

static struct sockaddr_in lo(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	return a;
}

/* fd 4 of the given type bound to test_port(1) */
static void bound4(int type)
{
	struct sockaddr_in a = lo(test_port(1));
	int on = 1;
	put(socket(AF_INET, type, 0), 4);
	if (setsockopt(4, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) || bind(4, (struct sockaddr *)&a, sizeof(a)))
		fail("fd 4: bind: %s", strerror(errno));
}

static int so_error(int fd)
{
	int e = -1;
	socklen_t l = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l))
		fail("fd %d: SO_ERROR: %s", fd, strerror(errno));
	return e;
}

/* the full listener, outside the tree, until owner is gone (2 min at most) */
static void holder(pid_t owner, int ready)
{
	struct sockaddr_in a = lo(test_port(2));
	int on = 1, l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || c < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 0) || connect(c, (struct sockaddr *)&a, sizeof(a)))
		_exit(1);
	if (write(ready, "r", 1) != 1)
		_exit(1);
	close(ready);
	for (int i = 0; i < 1200 && !kill(owner, 0); i++)
		usleep(100000);
	_exit(0);
}

static void synsent(void)
{
	int p[2];
	char r;
	pid_t owner = getpid(), c;
	if (pipe(p) || (c = fork()) < 0)
		fail("pipe, fork: %s", strerror(errno));
	if (!c) {
		close(p[0]);
		if (!fork()) {
			setsid();
			holder(owner, p[1]);
		}
		_exit(0);
	}
	close(p[1]);
	waitpid(c, NULL, 0);
	if (read(p[0], &r, 1) != 1)
		fail("the holder of the full listener did not start");
	close(p[0]);
	bound4(SOCK_STREAM | SOCK_NONBLOCK);
	struct sockaddr_in a = lo(test_port(2));
	if (!connect(4, (struct sockaddr *)&a, sizeof(a)) || errno != EINPROGRESS)
		fail("fd 4: connect did not start connecting: %s", strerror(errno));
	usleep(100000);
	if (state(4) != TCP_SYN_SENT)
		fail("fd 4 in state %d, not SYN_SENT", state(4));
	test_ready();
	test_wait_checkpoint();
	if (state(4) != TCP_SYN_SENT || so_error(4))
		fail("fd 4 in state %d with error %d, not SYN_SENT without one", state(4), so_error(4));
	pass();
}

static void soerror(void)
{
	bound4(SOCK_DGRAM);
	struct sockaddr_in a = lo(test_port(3));
	struct pollfd p = { 4, 0, 0 };
	if (connect(4, (struct sockaddr *)&a, sizeof(a)) || send(4, "x", 1, 0) != 1)
		fail("fd 4: %s", strerror(errno));
	for (int i = 0; i < 100 && !(p.revents & POLLERR); i++)
		if (poll(&p, 1, 10) < 0)
			fail("poll: %s", strerror(errno));
	if (!(p.revents & POLLERR))
		fail("fd 4: no error pending (no ICMP port unreachable?)");
	test_ready();
	test_wait_checkpoint();
	int e = so_error(4);
	if (e != ECONNREFUSED)
		fail("fd 4: pending error %d (%s), not ECONNREFUSED", e, strerror(e));
	if (send(4, "y", 1, 0) != 1)
		fail("fd 4: send after the error: %s", strerror(errno));
	pass();
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (argc < 2)
		fail("usage: tcp_refuse backlog|urgent|halfclosed|md5|synsent|soerror");
	const char *kind = argv[1];
	if (!strcmp(kind, "synsent"))
		synsent();
	if (!strcmp(kind, "soerror"))
		soerror();
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(test_port(0)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int on = 1;
	put(socket(AF_INET, SOCK_STREAM, 0), 3);
	if (setsockopt(3, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) || bind(3, (struct sockaddr *)&a, sizeof(a)) || listen(3, 4) || getsockname(3, (struct sockaddr *)&a, &l))
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
	bound4(SOCK_STREAM);
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
