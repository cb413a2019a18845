/*
 * netlink_sockets: netlink sockets of four protocols.
 *   fd 3: NETLINK_ROUTE bound by the kernel (port id: the pid), groups
 *         RTNLGRP_DCB (23, by bind) and RTNLGRP_PHONET_ROUTE (22, by
 *         NETLINK_ADD_MEMBERSHIP), NETLINK_EXT_ACK on, SO_RCVBUF set
 *   fd 4: NETLINK_SOCK_DIAG, never bound
 *   fd 5: NETLINK_GENERIC bound to port id 0x7a000000 + the pid (another
 *         run at the same time has its own)
 *   fd 6: NETLINK_KOBJECT_UEVENT bound by the kernel in group 3 (no one
 *         sends there)
 * The groups are ones nothing on this machine sends to: a message queued
 * by another test's links or devices (RTMGRP_LINK, uevents of group 1)
 * makes the dump refuse the socket (unread messages), as it must.
 *   fd 7: NETLINK_ROUTE (SOCK_DGRAM) connected to the kernel (port id 0)
 * After restore: type, protocol, port ids, every group, the flag, the
 * buffer size; fd 3 still answers an RTM_GETLINK dump.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
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

static unsigned portid(int fd)
{
	struct sockaddr_nl a = { 0 };
	socklen_t l = sizeof(a);
	if (getsockname(fd, (struct sockaddr *)&a, &l))
		fail("fd %d: getsockname: %s", fd, strerror(errno));
	return a.nl_pid;
}

static int geti(int fd, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);
	if (getsockopt(fd, level, name, &v, &l))
		fail("fd %d: getsockopt %d: %s", fd, name, strerror(errno));
	return v;
}

static unsigned groups0(int fd)
{
	unsigned g[4] = { 0 };
	socklen_t l = sizeof(g);
	if (getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, g, &l))
		fail("fd %d: NETLINK_LIST_MEMBERSHIPS: %s", fd, strerror(errno));
	return g[0];
}

static void getlink(int fd)
{
	struct { struct nlmsghdr h; struct rtgenmsg g; } req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 9 },
		.g = { .rtgen_family = AF_UNSPEC },
	};
	static char buf[65536];
	if (send(fd, &req, sizeof(req), 0) != sizeof(req))
		fail("fd %d: send RTM_GETLINK: %s", fd, strerror(errno));
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			fail("fd %d: recv: %s", fd, strerror(errno));
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return;
			if (h->nlmsg_type == NLMSG_ERROR)
				fail("fd %d: RTM_GETLINK answered with an error", fd);
		}
	}
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	put(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), 3);
	struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_groups = 1U << (RTNLGRP_DCB - 1) };
	int one = 1, g9 = RTNLGRP_PHONET_ROUTE, rb = 300000;
	if (bind(3, (struct sockaddr *)&a, sizeof(a)) ||
	    setsockopt(3, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g9, sizeof(g9)) ||
	    setsockopt(3, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) ||
	    setsockopt(3, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb)))
		fail("fd 3: %s", strerror(errno));
	put(socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG), 4);
	put(socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC), 5);
	struct sockaddr_nl b = { .nl_family = AF_NETLINK, .nl_pid = 0x7a000000u + (unsigned)getpid() };
	if (bind(5, (struct sockaddr *)&b, sizeof(b)))
		fail("fd 5: bind: %s", strerror(errno));
	put(socket(AF_NETLINK, SOCK_RAW, NETLINK_KOBJECT_UEVENT), 6);
	struct sockaddr_nl u = { .nl_family = AF_NETLINK, .nl_groups = 4 };
	if (bind(6, (struct sockaddr *)&u, sizeof(u)))
		fail("fd 6: bind: %s", strerror(errno));
	put(socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE), 7);
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };
	if (connect(7, (struct sockaddr *)&k, sizeof(k)))
		fail("fd 7: connect: %s", strerror(errno));
	unsigned p3 = portid(3), p6 = portid(6), p7 = portid(7), rcv3 = geti(3, SOL_SOCKET, SO_RCVBUF);
	unsigned g3 = groups0(3);

	test_ready();
	test_wait_checkpoint();

	if (geti(3, SOL_SOCKET, SO_PROTOCOL) != NETLINK_ROUTE || geti(4, SOL_SOCKET, SO_PROTOCOL) != NETLINK_SOCK_DIAG ||
	    geti(5, SOL_SOCKET, SO_PROTOCOL) != NETLINK_GENERIC || geti(6, SOL_SOCKET, SO_PROTOCOL) != NETLINK_KOBJECT_UEVENT ||
	    geti(7, SOL_SOCKET, SO_TYPE) != SOCK_DGRAM)
		fail("a protocol or type changed");
	if (portid(3) != p3 || portid(4) != 0 || portid(5) != 0x7a000000u + (unsigned)getpid() || portid(6) != p6 || portid(7) != p7)
		fail("port ids %u %u %x %u %u, were %u 0 %x %u %u", portid(3), portid(4), portid(5), portid(6),
		     portid(7), p3, 0x7a000000u + (unsigned)getpid(), p6, p7);
	if (groups0(3) != g3 || g3 != (1U << (RTNLGRP_DCB - 1) | 1U << (RTNLGRP_PHONET_ROUTE - 1)) || groups0(6) != 4)
		fail("groups %x and %x, were %x and 4", groups0(3), groups0(6), g3);
	if (geti(3, SOL_NETLINK, NETLINK_EXT_ACK) != 1 || geti(5, SOL_NETLINK, NETLINK_EXT_ACK) != 0)
		fail("NETLINK_EXT_ACK not as it was");
	if ((unsigned)geti(3, SOL_SOCKET, SO_RCVBUF) != rcv3)
		fail("SO_RCVBUF %d, was %u", geti(3, SOL_SOCKET, SO_RCVBUF), rcv3);
	getlink(3);
	pass();
}
