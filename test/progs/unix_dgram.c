/*
 * unix_dgram: unix datagram and seqpacket queues with several senders.
 *   fd 3:  DGRAM bound to a path, unconnected; queued, in this order:
 *          "one" from fd 4 (bound to a path), "" (empty) from fd 5
 *          (unnamed), 1000 bytes from fd 6 (an abstract name), "four" from
 *          fd 4, "five" from fd 7 (autobound: a kernel-chosen abstract
 *          name), "six" from a socket bound to a path and closed since,
 *          "seven" from fd 5
 *   fd 8:  DGRAM bound to a path; "a" from fd 6, "b" from fd 4, then
 *          connected to fd 4 (what others sent before stays queued)
 *   fds 9/10: SEQPACKET socketpair; 9 -> 10: "first", "" (empty), 3000
 *          bytes, "z"
 *   fd 11: DGRAM, unnamed, the end of a socketpair whose other end sent
 *          "left1", "left2" and was closed: it is connected to a dead peer
 *          (send() says ECONNREFUSED)
 * After restore: every message in order, with its length and its sender's
 * address (sun_path and address length as recvfrom gives them), nothing
 * more; fd 8 still connected to fd 4; fd 11 as before.
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

#define BIG 1000
#define SEQ_BIG 3000

static void put(int fd, int want)
{
	if (fd < 0)
		fail("create fd %d: %s", want, strerror(errno));
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2: %s", strerror(errno));
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

static int dgram_bound(const char *name, int abstract)
{
	struct sockaddr_un a;
	socklen_t al = addr(&a, name, abstract);
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, al))
		fail("bind %s%s: %s", abstract ? "@" : "", name, strerror(errno));
	return s;
}

static void send_to(int from, const char *to, const void *b, size_t n)
{
	struct sockaddr_un a;
	socklen_t al = addr(&a, to, 0);
	if (sendto(from, b, n, MSG_DONTWAIT, (struct sockaddr *)&a, al) != (ssize_t)n)
		fail("sendto %s from fd %d: %s", to, from, strerror(errno));
}

/* the address of fd's socket, as a receiver sees it */
static socklen_t name_of(int fd, struct sockaddr_un *a)
{
	socklen_t al = sizeof(*a);
	memset(a, 0, sizeof(*a));
	if (getsockname(fd, (struct sockaddr *)a, &al))
		fail("getsockname fd %d: %s", fd, strerror(errno));
	return al;
}

static void expect_from(int fd, const void *want, size_t n, const struct sockaddr_un *from, socklen_t fl,
			const char *what)
{
	char buf[4096];
	struct sockaddr_un a;
	socklen_t al = sizeof(a);
	memset(&a, 0, sizeof(a));
	ssize_t got = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&a, &al);
	if (got != (ssize_t)n || memcmp(buf, want, n))
		fail("%s: received %zd bytes, expected %zu (%s)", what, got, n, got < 0 ? strerror(errno) : "");
	if (from && (al != fl || memcmp(&a, from, fl))) {
		const char *p = al > offsetof(struct sockaddr_un, sun_path) ? a.sun_path : "";
		fail("%s: from an address of %u bytes '%s%s', expected %u bytes '%s%s'", what, al,
		     p[0] ? "" : "@", p + (al > 2 && !p[0]), fl, from->sun_path[0] ? "" : "@",
		     from->sun_path + (fl > 2 && !from->sun_path[0]));
	}
}

static void expect_empty(int fd, const char *what)
{
	char b;
	if (recv(fd, &b, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
		fail("%s: more queued than was sent", what);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	static unsigned char big[SEQ_BIG];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)test_mix(i + 11);
	char abs_name[64];
	snprintf(abs_name, sizeof(abs_name), "ckpt-test-unix_dgram-%d", getpid());
	char *rpath = test_path("r.sock"), *r2path = test_path("r2.sock"), *s1path = test_path("s1.sock"),
	     *gpath = test_path("gone.sock");
	struct sockaddr_un a4, a6, a7, ag, a0;
	socklen_t l4, l6, l7, lg, l0;

	put(dgram_bound(rpath, 0), 3);
	put(dgram_bound(s1path, 0), 4);
	put(socket(AF_UNIX, SOCK_DGRAM, 0), 5);
	put(dgram_bound(abs_name, 1), 6);
	put(socket(AF_UNIX, SOCK_DGRAM, 0), 7);
	struct sockaddr_un autob = { .sun_family = AF_UNIX };
	if (bind(7, (struct sockaddr *)&autob, sizeof(sa_family_t)))
		fail("autobind: %s", strerror(errno));
	int gone = dgram_bound(gpath, 0);
	l4 = name_of(4, &a4);
	l6 = name_of(6, &a6);
	l7 = name_of(7, &a7);
	lg = name_of(gone, &ag);
	memset(&a0, 0, sizeof(a0));
	a0.sun_family = AF_UNIX;
	l0 = 0;	/* recvfrom gives no address for an unnamed sender */

	send_to(4, rpath, "one", 3);
	send_to(5, rpath, "", 0);
	send_to(6, rpath, big, BIG);
	send_to(4, rpath, "four", 4);
	send_to(7, rpath, "five", 4);
	send_to(gone, rpath, "six", 3);
	close(gone);
	send_to(5, rpath, "seven", 5);

	put(dgram_bound(r2path, 0), 8);
	send_to(6, r2path, "a", 1);
	send_to(4, r2path, "b", 1);
	if (connect(8, (struct sockaddr *)&a4, l4))
		fail("connect fd 8 to fd 4: %s", strerror(errno));

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		fail("socketpair: %s", strerror(errno));
	put(sv[0], 9);
	put(sv[1], 10);
	if (send(9, "first", 5, 0) != 5 || send(9, "", 0, 0) != 0 || send(9, big, SEQ_BIG, 0) != SEQ_BIG ||
	    send(9, "z", 1, 0) != 1)
		fail("seqpacket send: %s", strerror(errno));

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		fail("socketpair: %s", strerror(errno));
	put(sv[0], 11);
	if (send(sv[1], "left1", 5, 0) != 5 || send(sv[1], "left2", 5, 0) != 5)
		fail("dgram pair send: %s", strerror(errno));
	close(sv[1]);

	test_ready();
	test_wait_checkpoint();

	expect_from(3, "one", 3, &a4, l4, "fd 3 #1");
	expect_from(3, "", 0, &a0, l0, "fd 3 #2 (empty, unnamed sender)");
	expect_from(3, big, BIG, &a6, l6, "fd 3 #3 (abstract sender)");
	expect_from(3, "four", 4, &a4, l4, "fd 3 #4");
	expect_from(3, "five", 4, &a7, l7, "fd 3 #5 (autobound sender)");
	expect_from(3, "six", 3, &ag, lg, "fd 3 #6 (sender closed)");
	expect_from(3, "seven", 5, &a0, l0, "fd 3 #7 (unnamed sender)");
	expect_empty(3, "fd 3");

	expect_from(8, "a", 1, &a6, l6, "fd 8 #1");
	expect_from(8, "b", 1, &a4, l4, "fd 8 #2");
	expect_empty(8, "fd 8");
	struct sockaddr_un p;
	socklen_t pl = sizeof(p);
	if (getpeername(8, (struct sockaddr *)&p, &pl) || pl != l4 || memcmp(&p, &a4, l4))
		fail("fd 8 is no longer connected to fd 4 (%s)", strerror(errno));
	if (send(8, "back", 4, MSG_DONTWAIT) != 4)
		fail("fd 8 -> fd 4 after restore: %s", strerror(errno));
	expect_from(4, "back", 4, NULL, 0, "fd 8 -> fd 4");

	expect_from(10, "first", 5, NULL, 0, "seqpacket #1");
	expect_from(10, "", 0, NULL, 0, "seqpacket #2 (empty)");
	expect_from(10, big, SEQ_BIG, NULL, 0, "seqpacket #3");
	expect_from(10, "z", 1, NULL, 0, "seqpacket #4");
	expect_empty(10, "seqpacket fd 10");

	expect_from(11, "left1", 5, &a0, l0, "fd 11 #1");
	expect_from(11, "left2", 5, &a0, l0, "fd 11 #2");
	expect_empty(11, "fd 11");
	if (send(11, "x", 1, MSG_DONTWAIT) != -1 || errno != ECONNREFUSED)
		fail("fd 11: send to its closed peer: %s, expected ECONNREFUSED", strerror(errno));
	pass();
}
