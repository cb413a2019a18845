/*
 * scm_rights: an fd in flight.  fds 3/4: a stream socketpair; fd 3 sent
 * fd 5 (the read end of a pipe whose write end is fd 6) and "fd" with
 * SCM_RIGHTS; nothing was received on fd 4.  Not a dump/restore test: the
 * dump is refused (fd/scm_rights).  On SIGUSR1 the message is received: the
 * fd that arrives is that pipe (what fd 6 writes can be read from it).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"

int main(int argc, char **argv)
{
	int sv[2], p[2];
	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || sv[0] != 3 || sv[1] != 4 || pipe(p) || p[0] != 5)
		fail("socketpair/pipe: %s", strerror(errno));

	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { "fd", 2 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[0], sizeof(int));
	if (sendmsg(3, &mh, 0) != 2)
		fail("sendmsg: %s", strerror(errno));

	test_ready();
	test_wait_checkpoint();

	char buf[8] = "";
	memset(ctl, 0, sizeof(ctl));
	iov = (struct iovec){ buf, sizeof(buf) };
	mh = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	if (recvmsg(4, &mh, MSG_DONTWAIT) != 2 || memcmp(buf, "fd", 2))
		fail("recvmsg: the message is gone: %s", strerror(errno));
	c = CMSG_FIRSTHDR(&mh);
	int fd = -1;
	if (!c || c->cmsg_type != SCM_RIGHTS)
		fail("the fd in flight is gone");
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (write(6, "x", 1) != 1 || read(fd, buf, 1) != 1 || buf[0] != 'x')
		fail("the fd received is not the pipe sent");
	pass();
}
