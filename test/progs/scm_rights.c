/*
 * scm_rights: file descriptors in flight, and credentials.
 *   fds 3/4:  STREAM socketpair; fd 3 sent "fd" with fd 5 (the read end of
 *             a pipe whose write end is fd 6), then "plain"; nothing
 *             received on fd 4
 *   fds 7/8:  DGRAM socketpair; fd 7 sent "two" with fds 9 (a file, offset
 *             3) and 3 (a socket: fd 3 itself), then "none"
 *   fds 10/11: SEQPACKET socketpair; fd 10 sent "nocred" (no credentials
 *             attached: no end had SO_PASSCRED), then SO_PASSCRED on fd
 *             11, and fd 10 sent "cred" with credentials pid (its own), uid
 *             1234, gid 4321
 * After restore: each message with its files, each the same open file
 * description as the process's fd (the pipe carries what fd 6 writes, the
 * file's offset moves with fd 9's, the socket is fd 3's), and the
 * credentials as sent.
 *
 * "scm_rights closed": fd 5 is closed after it was sent (its only reference
 * is the message): the dump must refuse it (fd/scm_rights), and the
 * program then receives it intact.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/lib/test.h"

static void send_fds(int s, const char *data, const int *fds, int n)
{
	char ctl[CMSG_SPACE(sizeof(int) * 4)] = { 0 };
	struct iovec iov = { (void *)data, strlen(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = n ? ctl : NULL,
			     .msg_controllen = n ? CMSG_SPACE(sizeof(int) * n) : 0 };
	if (n) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	if (sendmsg(s, &mh, 0) != (ssize_t)strlen(data))
		fail("sendmsg on fd %d: %s", s, strerror(errno));
}

/* receives want (exactly) from s with n fds into fds */
static void recv_fds(int s, const char *want, int *fds, int n, size_t len)
{
	char buf[16] = "", ctl[CMSG_SPACE(sizeof(int) * 4)] = { 0 };
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	ssize_t got = recvmsg(s, &mh, MSG_DONTWAIT);
	if (got != (ssize_t)strlen(want) || memcmp(buf, want, got))
		fail("fd %d: received %zd bytes '%.*s', expected '%s' (%s)", s, got, got > 0 ? (int)got : 0, buf, want,
		     got < 0 ? strerror(errno) : "");
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int have = c && c->cmsg_type == SCM_RIGHTS ? (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;
	if (have != n)
		fail("fd %d: '%s' came with %d fds, expected %d", s, want, have, n);
	if (n)
		memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
}

static void same_file(int a, int b, const char *what)
{
	struct stat x, y;
	if (fstat(a, &x) || fstat(b, &y) || x.st_ino != y.st_ino || x.st_dev != y.st_dev)
		fail("%s: fd %d is not the file sent", what, a);
}

/* the next message on fd 11 is want, with these credentials */
static void expect_creds(const char *want, pid_t pid, uid_t uid, gid_t gid)
{
	char buf[8] = "", rctl[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec riov = { buf, sizeof(buf) };
	struct msghdr rh = { .msg_iov = &riov, .msg_iovlen = 1, .msg_control = rctl, .msg_controllen = sizeof(rctl) };
	if (recvmsg(11, &rh, MSG_DONTWAIT) != (ssize_t)strlen(want) || memcmp(buf, want, strlen(want)))
		fail("fd 11: the message '%s' is gone", want);
	struct cmsghdr *c = CMSG_FIRSTHDR(&rh);
	struct ucred got = { -1, 0, 0 };
	if (c && c->cmsg_type == SCM_CREDENTIALS)
		memcpy(&got, CMSG_DATA(c), sizeof(got));
	if (got.pid != pid || got.uid != uid || got.gid != gid)
		fail("fd 11: '%s': credentials pid %d uid %u gid %u, expected %d %u %u", want, got.pid, got.uid,
		     got.gid, pid, uid, gid);
}

int main(int argc, char **argv)
{
	int sv[2], p[2], closed = argc > 1 && !strcmp(argv[1], "closed");
	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || sv[0] != 3 || sv[1] != 4 || pipe(p) || p[0] != 5)
		fail("socketpair/pipe: %s", strerror(errno));
	send_fds(3, "fd", &p[0], 1);
	if (closed) {
		close(5);
		test_ready();
		test_wait_checkpoint();
		int fd;
		char c = 0;
		recv_fds(4, "fd", &fd, 1, 2);
		if (write(6, "x", 1) != 1 || read(fd, &c, 1) != 1 || c != 'x')
			fail("the fd received is not the pipe sent");
		pass();
	}
	send_fds(3, "plain", NULL, 0);

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) || sv[0] != 7 || sv[1] != 8)
		fail("socketpair: %s", strerror(errno));
	int f = open(test_path("file"), O_RDWR | O_CREAT, 0600);
	if (f != 9 || write(9, "0123456789", 10) != 10 || lseek(9, 3, SEEK_SET) != 3)
		fail("file: %s", strerror(errno));
	int two[2] = { 9, 3 };
	send_fds(7, "two", two, 2);
	send_fds(7, "none", NULL, 0);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) || sv[0] != 10 || sv[1] != 11)
		fail("socketpair: %s", strerror(errno));
	int one = 1;
	if (send(10, "nocred", 6, 0) != 6 || setsockopt(11, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)))
		fail("SO_PASSCRED: %s", strerror(errno));
	char cctl[CMSG_SPACE(sizeof(struct ucred))] = { 0 };
	struct ucred cr = { getpid(), 1234, 4321 };
	struct iovec iov = { "cred", 4 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cctl, .msg_controllen = sizeof(cctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof(cr));
	memcpy(CMSG_DATA(c), &cr, sizeof(cr));
	if (sendmsg(10, &mh, 0) != 4)
		fail("sendmsg with credentials: %s", strerror(errno));

	test_ready();
	test_wait_checkpoint();

	int fd, fds[2];
	char ch = 0;
	recv_fds(4, "fd", &fd, 1, 2);
	if (write(6, "x", 1) != 1 || read(fd, &ch, 1) != 1 || ch != 'x')
		fail("fd 4: the fd received is not the pipe sent");
	recv_fds(4, "plain", NULL, 0, 16);

	recv_fds(8, "two", fds, 2, 16);
	same_file(fds[0], 9, "dgram #1 file");
	if (lseek(fds[0], 0, SEEK_CUR) != 3 || lseek(9, 5, SEEK_SET) != 5 || lseek(fds[0], 0, SEEK_CUR) != 5)
		fail("dgram #1: the file received does not share fd 9's offset");
	same_file(fds[1], 3, "dgram #1 socket");
	if (send(fds[1], "via", 3, 0) != 3)
		fail("dgram #1: send on the socket received: %s", strerror(errno));
	recv_fds(4, "via", NULL, 0, 3);
	recv_fds(8, "none", NULL, 0, 16);

	expect_creds("nocred", 0, 65534, 65534);	/* none: the overflow ids */
	expect_creds("cred", getpid(), 1234, 4321);
	pass();
}
