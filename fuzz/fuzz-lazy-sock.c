/*
 * fuzz-lazy-sock.c - libFuzzer harness for the lazy-pages socket protocol
 * as the daemon receives it (lazy-pages/sock.c lazy_recv_hello: anyone of
 * the daemon's uid may connect and send anything).
 *
 * Input: byte 0 bit 0: attach an fd (an eventfd standing in for the
 * userfaultfd) to the first message; the rest is what the peer sends, in
 * up to two writes (cut at byte 1's value), then the peer closes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "sock.h"
#include "socket-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	int sv[2], uffd = -1;
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
	if (lazy_send_fd(sv[1], p, cut ? cut : n, fd) < 0 && cut) {
		/* nothing sent: the daemon sees an empty connection */
	}
	if (cut && cut < n && write(sv[1], p + cut, n - cut) < 0) {
		/* the rest not sent: the same as a peer that stopped */
	}
	if (fd >= 0)
		close(fd);
	close(sv[1]);
	if (!lazy_recv_hello(sv[0], &h, &ranges, &uffd)) {
		free(ranges);
		close(uffd);
	}
	close(sv[0]);
	return 0;
}
