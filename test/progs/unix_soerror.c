/*
 * unix_soerror: fd 3, one end of a unix stream pair whose other end was
 * closed with a byte it had not read: ECONNRESET pending on fd 3
 * (SO_ERROR).  test/refuse.sh: the dump is refused (criu cannot read the
 * error without clearing it, nor set it again); after SIGUSR1 the error
 * must still be there.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test/lib/test.h"

int main(int argc, char **argv)
{
	int s[2], e = 0;
	socklen_t l = sizeof(e);
	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) || write(s[1], "x", 1) != 1 || close(s[0]))
		fail("socketpair: %s", strerror(errno));
	if (s[1] != 3 && (dup2(s[1], 3) != 3 || close(s[1])))
		fail("dup2: %s", strerror(errno));
	struct pollfd p = { 3, 0, 0 };
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLERR))
		fail("fd 3: no error pending");
	test_ready();
	test_wait_checkpoint();
	if (getsockopt(3, SOL_SOCKET, SO_ERROR, &e, &l) || e != ECONNRESET)
		fail("fd 3: pending error %d (%s), not ECONNRESET", e, strerror(e));
	pass();
}
