/*
 * sockopt_sweep: every integer socket option a program may set on an
 * unconnected UDP socket and a TCP one (IPv4 and IPv6), each set to a
 * value other than its default, comes back the same: after the restore,
 * getsockopt gives what it gave before the checkpoint.  An option this
 * kernel refuses to set is left out (and said).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test/lib/test.h"

#ifndef SO_INCOMING_CPU
#define SO_INCOMING_CPU 49
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_RCVMARK
#define SO_RCVMARK 75
#endif
#ifndef SO_TXREHASH
#define SO_TXREHASH 74
#endif
#ifndef IP_RECVERR_RFC4884
#define IP_RECVERR_RFC4884 26
#endif
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif

struct opt {
	int level, name, value;
	const char *what;
	int v6;		/* 0: any socket, 1: IPv6 only, 2: TCP only */
};

#define O(l, n, v, six) { l, n, v, #n, six }
static const struct opt opts[] = {
	O(SOL_SOCKET, SO_REUSEADDR, 1, 0), O(SOL_SOCKET, SO_REUSEPORT, 1, 0),
	O(SOL_SOCKET, SO_BROADCAST, 1, 0), O(SOL_SOCKET, SO_PRIORITY, 3, 0),
	O(SOL_SOCKET, SO_RCVLOWAT, 7, 0), O(SOL_SOCKET, SO_PASSCRED, 1, 0),
	O(SOL_SOCKET, SO_TIMESTAMP, 1, 0), O(SOL_SOCKET, SO_RXQ_OVFL, 1, 0),
	O(SOL_SOCKET, SO_PEEK_OFF, 5, 0), O(SOL_SOCKET, SO_BUSY_POLL, 40, 0),
	O(SOL_SOCKET, SO_PREFER_BUSY_POLL, 1, 0), O(SOL_SOCKET, SO_BUSY_POLL_BUDGET, 16, 0),
	O(SOL_SOCKET, SO_SELECT_ERR_QUEUE, 1, 0), O(SOL_SOCKET, SO_ZEROCOPY, 1, 0),
	O(SOL_SOCKET, SO_INCOMING_CPU, 1, 0), O(SOL_SOCKET, SO_RCVMARK, 1, 0),
	O(SOL_SOCKET, SO_TXREHASH, 0, 0), O(SOL_SOCKET, SO_MARK, 77, 0),
	O(SOL_SOCKET, SO_KEEPALIVE, 1, 2), O(SOL_SOCKET, SO_OOBINLINE, 1, 2),
	O(IPPROTO_IP, IP_TOS, 0x28, 0), O(IPPROTO_IP, IP_TTL, 17, 0),
	O(IPPROTO_IP, IP_RECVTTL, 1, 0), O(IPPROTO_IP, IP_RECVTOS, 1, 0),
	O(IPPROTO_IP, IP_PKTINFO, 1, 0), O(IPPROTO_IP, IP_RECVERR, 1, 0),
	O(IPPROTO_IP, IP_RECVERR_RFC4884, 1, 0), O(IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO, 0),
	O(IPPROTO_IP, IP_FREEBIND, 1, 0), O(IPPROTO_IP, IP_TRANSPARENT, 1, 0),
	O(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1, 0), O(IPPROTO_IP, IP_MULTICAST_TTL, 9, 0),
	O(IPPROTO_IP, IP_MULTICAST_LOOP, 0, 0), O(IPPROTO_IP, IP_MULTICAST_ALL, 0, 0),
	O(IPPROTO_IP, IP_RECVORIGDSTADDR, 1, 0), O(IPPROTO_IP, IP_MINTTL, 3, 0),
	O(IPPROTO_IP, IP_CHECKSUM, 1, 0), O(IPPROTO_IP, IP_RECVFRAGSIZE, 1, 0),
	O(IPPROTO_IP, IP_LOCAL_PORT_RANGE, (20000 << 16) | 10000, 0),
	O(IPPROTO_IPV6, IPV6_V6ONLY, 1, 1), O(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 21, 1),
	O(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 5, 1), O(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0, 1),
	O(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, 1), O(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, 1),
	O(IPPROTO_IPV6, IPV6_RECVTCLASS, 1, 1), O(IPPROTO_IPV6, IPV6_TCLASS, 0x20, 1),
	O(IPPROTO_IPV6, IPV6_RECVERR, 1, 1), O(IPPROTO_IPV6, IPV6_MTU_DISCOVER, IP_PMTUDISC_DO, 1),
	O(IPPROTO_IPV6, IPV6_RECVPATHMTU, 1, 1), O(IPPROTO_IPV6, IPV6_DONTFRAG, 1, 1),
	O(IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, 0, 1), O(IPPROTO_IPV6, IPV6_FREEBIND, 1, 1),
	O(IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, 1, 1), O(IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0, 1),
	O(IPPROTO_TCP, TCP_NODELAY, 1, 2), O(IPPROTO_TCP, TCP_KEEPIDLE, 33, 2),
	O(IPPROTO_TCP, TCP_KEEPINTVL, 11, 2), O(IPPROTO_TCP, TCP_KEEPCNT, 4, 2),
	O(IPPROTO_TCP, TCP_USER_TIMEOUT, 5000, 2), O(IPPROTO_TCP, TCP_MAXSEG, 1200, 2),
	O(IPPROTO_TCP, TCP_WINDOW_CLAMP, 30000, 2), O(IPPROTO_TCP, TCP_DEFER_ACCEPT, 3, 2),
	O(IPPROTO_TCP, TCP_NOTSENT_LOWAT, 9000, 2), O(IPPROTO_TCP, TCP_LINGER2, 20, 2),
	O(IPPROTO_TCP, TCP_SYNCNT, 3, 2), O(IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, 1, 2),
	O(IPPROTO_TCP, TCP_QUICKACK, 0, 2),
};
#define NR (sizeof(opts) / sizeof(opts[0]))

enum { UDP4, UDP6, TCP4, TCP6, NR_SOCKS };
static const char *sock_names[NR_SOCKS] = { "udp4", "udp6", "tcp4", "tcp6" };
static int before[NR_SOCKS][NR];
static char set[NR_SOCKS][NR];

static int get(int fd, const struct opt *o)
{
	int v = -12345;
	socklen_t l = sizeof(v);
	if (getsockopt(fd, o->level, o->name, &v, &l))
		return -12345;
	return v;
}

static bool applies(int s, const struct opt *o)
{
	bool six = s == UDP6 || s == TCP6;
	if (o->v6 == 1)
		return six;
	if (o->v6 == 2)
		return s == TCP4 || s == TCP6;
	return !(o->level == IPPROTO_IP && six);
}

int main(int argc, char **argv)
{
	int fds[NR_SOCKS];
	int left_out = 0;

	test_init(argc, argv);
	fds[UDP4] = socket(AF_INET, SOCK_DGRAM, 0);
	fds[UDP6] = socket(AF_INET6, SOCK_DGRAM, 0);
	fds[TCP4] = socket(AF_INET, SOCK_STREAM, 0);
	fds[TCP6] = socket(AF_INET6, SOCK_STREAM, 0);
	for (int s = 0; s < NR_SOCKS; s++) {
		if (fds[s] < 0)
			fail("socket %s: %m", sock_names[s]);
		for (size_t i = 0; i < NR; i++) {
			const struct opt *o = &opts[i];
			if (!applies(s, o))
				continue;
			if (setsockopt(fds[s], o->level, o->name, &o->value, sizeof(o->value))) {
				test_msg("%s: %s not settable here (%m): left out", sock_names[s], o->what);
				left_out++;
				continue;
			}
			set[s][i] = 1;
		}
	}
	/* one option may change another (IP_TOS sets the priority): read them all at the end */
	for (int s = 0; s < NR_SOCKS; s++)
		for (size_t i = 0; i < NR; i++)
			before[s][i] = set[s][i] ? get(fds[s], &opts[i]) : 0;
	(void)left_out;
	test_ready();
	test_wait_checkpoint();

	for (int s = 0; s < NR_SOCKS; s++)
		for (size_t i = 0; i < NR; i++)
			if (set[s][i] && get(fds[s], &opts[i]) != before[s][i])
				fail("%s: %s is %d, was %d", sock_names[s], opts[i].what, get(fds[s], &opts[i]),
				     before[s][i]);
	pass();
}
