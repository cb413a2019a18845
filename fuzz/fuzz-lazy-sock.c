/*
 * fuzz-lazy-sock.c - libFuzzer harness for the lazy-pages socket protocol
 * as the daemon receives it (lazy-pages/sock.c lazy_recv_hello: anyone of
 * the daemon's uid may connect and send anything).
 *
 * Input: byte 0 bit 0: attach two fds (eventfds standing in for the
 * userfaultfd and the pidfd; bit 1 too: only one) to the first message;
 * the rest is what the peer sends, in up to two writes (cut at byte 1's
 * value), then the peer closes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "lazy-pages/sock.h"
#include "lazy-pages/socket-proto.h"

/* len bytes with fd and fd2 attached (those >= 0), as a restorer sends its hello */
static ssize_t send_fds(int conn, const void *buf, size_t len, int fd, int fd2)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	int v[2] = { fd, fd2 }, n = (fd >= 0) + (fd >= 0 && fd2 >= 0);
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), v, n * sizeof(int));
	}
	return sendmsg(conn, &mh, MSG_NOSIGNAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	int sv[2], fds[2] = { -1, -1 };
	struct lazy_hello h;
	struct lazy_range *ranges = NULL;

	if (!quiet++)
		log_set_level(0);
	if (size < 2 || size > 60000)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 0;
	const uint8_t *p = data + 2;
	size_t n = size - 2, cut = data[1] < n ? data[1] : n;
	int fd = (data[0] & 1) ? eventfd(0, EFD_CLOEXEC) : -1;
	int fd2 = (data[0] & 3) == 1 ? eventfd(0, EFD_CLOEXEC) : -1;
	if (send_fds(sv[1], p, cut ? cut : n, fd, fd2) < 0 && cut) {
		/* nothing sent: the daemon sees an empty connection */
	}
	if (fd2 >= 0)
		close(fd2);
	if (cut && cut < n && write(sv[1], p + cut, n - cut) < 0) {
		/* the rest not sent: the same as a peer that stopped */
	}
	if (fd >= 0)
		close(fd);
	close(sv[1]);
	if (!lazy_recv_hello(sv[0], &h, &ranges, fds)) {
		free(ranges);
		close(fds[0]);
		close(fds[1]);
	}
	close(sv[0]);
	return 0;
}
