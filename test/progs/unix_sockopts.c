/*
 * unix_sockopts: socket options of unix sockets.
 *   fds 3/4: STREAM socketpair, "abcdefgh" queued 3 -> 4; on fd 4
 *     SO_PEEK_OFF 5 (a peek gives "fgh"), SO_RCVLOWAT 3, SO_RCVTIMEO
 *     1.5 s, SO_SNDTIMEO 2 s, SO_LINGER on/7 s, SO_PASSSEC, SO_PASSPIDFD,
 *     SO_KEEPALIVE, SO_PRIORITY 5, SO_MARK 42, SO_TIMESTAMPNS
 *   fd 5: DGRAM, SO_PASSRIGHTS off, SO_RCVTIMEO 0.5 s, SO_TIMESTAMP,
 *     SO_RXQ_OVFL, SO_PEEK_OFF 0
 *   fd 5 also has a classic BPF filter (accept 64 bytes of each datagram),
 *     locked (SO_LOCK_FILTER)
 * After restore: every option reads as set, the peek offset still steps
 * over the five bytes, the filter and its lock are there (a datagram is
 * cut to 64 bytes), and a new socket's options are untouched.
 */
#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "test/lib/test.h"

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83
#endif

struct opt {
	int fd, name;
	const char *what;
	int val;
};

static const struct opt ints[] = {
	{ 4, SO_PEEK_OFF, "SO_PEEK_OFF", 5 },	  { 4, SO_RCVLOWAT, "SO_RCVLOWAT", 3 },
	{ 4, SO_PASSSEC, "SO_PASSSEC", 1 },	  { 4, SO_PASSPIDFD, "SO_PASSPIDFD", 1 },
	{ 4, SO_KEEPALIVE, "SO_KEEPALIVE", 1 },	  { 4, SO_PRIORITY, "SO_PRIORITY", 5 },
	{ 4, SO_MARK, "SO_MARK", 42 },		  { 4, SO_TIMESTAMPNS, "SO_TIMESTAMPNS", 1 },
	{ 5, SO_PASSRIGHTS, "SO_PASSRIGHTS", 0 }, { 5, SO_TIMESTAMP, "SO_TIMESTAMP", 1 },
	{ 5, SO_RXQ_OVFL, "SO_RXQ_OVFL", 1 },	  { 5, SO_PEEK_OFF, "SO_PEEK_OFF", 0 },
};

static void set_tv(int fd, int name, long s, long us)
{
	struct timeval tv = { s, us };
	if (setsockopt(fd, SOL_SOCKET, name, &tv, sizeof(tv)))
		fail("setsockopt timeout: %s", strerror(errno));
}

static void check_tv(int fd, int name, long s, long us, const char *what)
{
	struct timeval tv;
	socklen_t l = sizeof(tv);
	if (getsockopt(fd, SOL_SOCKET, name, &tv, &l) || tv.tv_sec != s || tv.tv_usec != us)
		fail("fd %d: %s is %ld.%06ld, expected %ld.%06ld", fd, what, (long)tv.tv_sec, (long)tv.tv_usec, s, us);
}

int main(int argc, char **argv)
{
	int sv[2];
	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || sv[0] != 3 || sv[1] != 4)
		fail("socketpair: %s", strerror(errno));
	if (socket(AF_UNIX, SOCK_DGRAM, 0) != 5)
		fail("socket: %s", strerror(errno));
	if (send(3, "abcdefgh", 8, 0) != 8)
		fail("send: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (setsockopt(ints[i].fd, SOL_SOCKET, ints[i].name, &ints[i].val, sizeof(int)))
			fail("fd %d: set %s: %s", ints[i].fd, ints[i].what, strerror(errno));
	set_tv(4, SO_RCVTIMEO, 1, 500000);
	set_tv(4, SO_SNDTIMEO, 2, 0);
	set_tv(5, SO_RCVTIMEO, 0, 500000);
	struct sock_filter code[] = { { 0x06, 0, 0, 64 } };	/* ret #64 */
	struct sock_fprog fp = { 1, code };
	int one = 1;
	if (setsockopt(5, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) ||
	    setsockopt(5, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one)))
		fail("fd 5: filter: %s", strerror(errno));
	struct linger lg = { 1, 7 };
	if (setsockopt(4, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		fail("SO_LINGER: %s", strerror(errno));

	test_ready();
	test_wait_checkpoint();

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		int v = -2;
		socklen_t l = sizeof(v);
		if (getsockopt(ints[i].fd, SOL_SOCKET, ints[i].name, &v, &l) || v != ints[i].val)
			fail("fd %d: %s is %d, expected %d", ints[i].fd, ints[i].what, v, ints[i].val);
	}
	check_tv(4, SO_RCVTIMEO, 1, 500000, "SO_RCVTIMEO");
	check_tv(4, SO_SNDTIMEO, 2, 0, "SO_SNDTIMEO");
	check_tv(5, SO_RCVTIMEO, 0, 500000, "SO_RCVTIMEO");
	struct linger g;
	socklen_t l = sizeof(g);
	if (getsockopt(4, SOL_SOCKET, SO_LINGER, &g, &l) || g.l_onoff != 1 || g.l_linger != 7)
		fail("fd 4: SO_LINGER is %d/%d, expected 1/7", g.l_onoff, g.l_linger);
	struct sock_filter got[4];
	socklen_t gn = 4;
	int lk = 0;
	socklen_t ll = sizeof(lk);
	if (getsockopt(5, SOL_SOCKET, SO_GET_FILTER, got, &gn) || gn != 1 || memcmp(got, code, sizeof(code)))
		fail("fd 5: the filter is gone or changed (%u instructions)", gn);
	if (getsockopt(5, SOL_SOCKET, SO_LOCK_FILTER, &lk, &ll) || lk != 1)
		fail("fd 5: the filter is no longer locked");
	if (setsockopt(5, SOL_SOCKET, SO_DETACH_FILTER, &one, sizeof(one)) == 0 || errno != EPERM)
		fail("fd 5: the locked filter could be detached");
	char buf[16] = "";
	if (recv(4, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT) != 3 || memcmp(buf, "fgh", 3))
		fail("fd 4: a peek at offset 5 gives '%.8s'", buf);
	if (recv(4, buf, sizeof(buf), MSG_DONTWAIT) != 8 || memcmp(buf, "abcdefgh", 8))
		fail("fd 4: the queue is not 'abcdefgh'");
	pass();
}
