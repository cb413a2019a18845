/*
 * tcp_echo ADDR PORT [N]: a TCP echo server for N clients (default 1).
 * Listens on ADDR:PORT (fd 3), prints READY, accepts N connections and
 * echoes every byte back while checking that each connection's stream is
 * the pattern tcp_stream sends (byte i of the stream: pattern(i)), so a
 * byte lost or sent twice on the way in is seen here; tcp_stream checks
 * the way back.  After SIGUSR1: PASS if every stream was intact and every
 * connection is still established.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test/lib/test.h"

#define MAXC 1100

struct conn {
	int fd;
	uint64_t in;		/* bytes received and checked */
	size_t pend, off;	/* bytes to echo back in buf[off..pend) */
	uint8_t buf[16384];
};

static struct conn *conns;
static int nconn, want;
static volatile int broken;
static char why[200];

static uint8_t pattern(uint64_t i) { return test_mix(i / 8) >> (i % 8 * 8); }

static void bad(const char *msg, int c)
{
	snprintf(why, sizeof(why), "connection %d: %s (at byte %lu): %s", c, msg,
		 (unsigned long)conns[c].in, strerror(errno));
	broken = 1;
}

static void serve(int c, short ev)
{
	struct conn *k = &conns[c];
	if ((ev & POLLIN) && k->pend == 0) {
		ssize_t n = read(k->fd, k->buf, sizeof(k->buf));
		if (n <= 0) {
			if (n < 0 && errno == EAGAIN)
				return;
			return bad(n ? "read" : "end of stream", c);
		}
		for (ssize_t i = 0; i < n; i++)
			if (k->buf[i] != pattern(k->in + i)) {
				errno = 0;
				k->in += i;
				return bad("byte differs from the pattern", c);
			}
		k->in += n;
		k->pend = n;
		k->off = 0;
	}
	if (k->pend) {
		ssize_t n = write(k->fd, k->buf + k->off, k->pend - k->off);
		if (n < 0 && errno != EAGAIN)
			return bad("write", c);
		if (n > 0 && (k->off += n) == k->pend)
			k->pend = 0;
	}
}

static void *loop(void *arg)
{
	(void)arg;
	static struct pollfd p[MAXC + 1];
	while (!broken) {
		int n = 0;
		p[n++] = (struct pollfd){ nconn < want ? 3 : -1, POLLIN, 0 };
		for (int c = 0; c < nconn; c++)
			p[n++] = (struct pollfd){ conns[c].fd, conns[c].pend ? POLLOUT : POLLIN, 0 };
		if (poll(p, n, 1000) < 0) {
			if (errno == EINTR)
				continue;
			bad("poll", 0);
			break;
		}
		if (p[0].revents) {
			int fd = accept4(3, NULL, NULL, SOCK_NONBLOCK);
			if (fd >= 0)
				conns[nconn++].fd = fd;
		}
		for (int c = 0; c < nconn && !broken; c++)
			if (p[c + 1].revents)
				serve(c, p[c + 1].revents);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (argc < 3)
		fail("usage: tcp_echo ADDR PORT [N]");
	want = argc > 3 ? atoi(argv[3]) : 1;
	if (want < 1 || want > MAXC)
		fail("N from 1 to %d", MAXC);
	conns = calloc(want, sizeof(*conns));
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, argv[1], &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(atoi(argv[2]));
		len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, argv[1], &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(atoi(argv[2]));
		len = sizeof(*a6);
	} else {
		fail("bad address %s", argv[1]);
	}
	int one = 1;
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd != 3 || setsockopt(3, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(3, (struct sockaddr *)&ss, len) || listen(3, MAXC))
		fail("listen on %s port %s: %s", argv[1], argv[2], strerror(errno));
	pthread_t t;
	if (pthread_create(&t, NULL, loop, NULL))
		fail("pthread_create");
	test_ready();
	test_wait_checkpoint();
	if (broken)
		fail("%s", why);
	if (nconn != want)
		fail("%d connections of %d", nconn, want);
	for (int c = 0; c < nconn; c++) {
		struct tcp_info ti;
		socklen_t l = sizeof(ti);
		if (getsockopt(conns[c].fd, IPPROTO_TCP, TCP_INFO, &ti, &l) || ti.tcpi_state != 1)
			fail("connection %d: not established (state %u)", c, ti.tcpi_state);
	}
	test_msg("%d connections intact", nconn);
	pass();
}
