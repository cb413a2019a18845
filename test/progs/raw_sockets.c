/*
 * raw_sockets: raw IP sockets.
 *   fd 3: IPv4 ICMP, bound to 127.0.0.1, ICMP_FILTER letting echo replies only
 *   fd 4: IPv6, protocol 253 (experimental), connected to ::1
 *   fd 5: IPv4 IPPROTO_RAW (headers included)
 * After restore: protocols, addresses, the filter, IP_HDRINCL; fd 3 pings
 * 127.0.0.1 and gets the echo reply (the request itself is filtered out).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <poll.h>
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

static int geti(int fd, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);
	if (getsockopt(fd, level, name, &v, &l))
		fail("fd %d: getsockopt %d: %s", fd, name, strerror(errno));
	return v;
}

static uint16_t csum(const void *p, size_t n)
{
	const uint16_t *w = p;
	uint32_t s = 0;
	for (; n > 1; n -= 2)
		s += *w++;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s;
}

static void ping(void)
{
	struct icmphdr req = { .type = ICMP_ECHO, .un.echo = { .id = htons(0x4242), .sequence = htons(7) } };
	req.checksum = csum(&req, sizeof(req));
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (sendto(3, &req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) != sizeof(req))
		fail("fd 3: sendto: %s", strerror(errno));
	char buf[256];
	struct pollfd p = { 3, POLLIN, 0 };
	if (poll(&p, 1, 5000) != 1)
		fail("fd 3: no echo reply");
	ssize_t n = recv(3, buf, sizeof(buf), 0);
	if (n < 20 + (ssize_t)sizeof(req) || ((struct icmphdr *)(buf + 20))->type != ICMP_ECHOREPLY)
		fail("fd 3: got %zd bytes, not an echo reply (filter lost?)", n);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	put(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), 3);
	struct icmp_filter f = { ~(1U << ICMP_ECHOREPLY) };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (setsockopt(3, SOL_RAW, ICMP_FILTER, &f, sizeof(f)) || bind(3, (struct sockaddr *)&a, sizeof(a)))
		fail("fd 3: %s", strerror(errno));
	put(socket(AF_INET6, SOCK_RAW, 253), 4);
	struct sockaddr_in6 b = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	if (connect(4, (struct sockaddr *)&b, sizeof(b)))
		fail("fd 4: connect: %s", strerror(errno));
	put(socket(AF_INET, SOCK_RAW, IPPROTO_RAW), 5);
	ping();

	test_ready();
	test_wait_checkpoint();

	if (geti(3, SOL_SOCKET, SO_PROTOCOL) != IPPROTO_ICMP || geti(4, SOL_SOCKET, SO_PROTOCOL) != 253 ||
	    geti(5, SOL_SOCKET, SO_PROTOCOL) != IPPROTO_RAW || geti(4, SOL_SOCKET, SO_DOMAIN) != AF_INET6 ||
	    geti(5, IPPROTO_IP, IP_HDRINCL) != 1)
		fail("a protocol, family or IP_HDRINCL changed");
	struct sockaddr_in s = { 0 };
	socklen_t l = sizeof(s);
	if (getsockname(3, (struct sockaddr *)&s, &l) || s.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
		fail("fd 3: not bound to 127.0.0.1");
	/* getpeername knows no peer of a raw socket: a connected one sends without an address */
	if (send(4, "x", 1, 0) != 1)
		fail("fd 4: not connected (send: %s)", strerror(errno));
	struct icmp_filter g;
	l = sizeof(g);
	if (getsockopt(3, SOL_RAW, ICMP_FILTER, &g, &l) || g.data != f.data)
		fail("fd 3: ICMP_FILTER %x, was %x", g.data, f.data);
	ping();
	pass();
}
