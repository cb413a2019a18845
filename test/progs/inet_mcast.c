/*
 * inet_mcast: multicast memberships with their source filters, IP options,
 * IPv6 sticky headers and other socket options that only getsockopt shows.
 *   fd 3: UDP on 0.0.0.0:P, joined 239.1.2.3 on lo (IP_ADD_MEMBERSHIP),
 *         239.1.2.4 on lo with source 10.0.0.1 blocked (IP_BLOCK_SOURCE),
 *         232.1.1.1 from 10.0.0.2 and 10.0.0.3 only (source-specific);
 *         IP_MULTICAST_IF 127.0.0.1, IP_MULTICAST_ALL off, IP_OPTIONS
 *         (record route), IP_RECVORIGDSTADDR
 *   fd 4: UDP on [::], joined ff15::1234 on lo (IPV6_JOIN_GROUP),
 *         ff15::5678 from ::1 only, the IPv4 group 239.9.9.9 on lo (at
 *         SOL_IP); IPV6_MULTICAST_IF lo, a hop-by-hop sticky header,
 *         IPV6_DONTFRAG, IPV6_RECVORIGDSTADDR
 *   fd 5: TCP on 127.0.0.1 listening, IP_OPTIONS, TCP_INQ, TCP_CORK
 *   fd 6: UDP on 0.0.0.0:P too (SO_REUSEADDR), joined 239.1.2.3 only
 *         a receive buffer of 8 MiB (past net.core.rmem_max)
 *   fd 7: UDP sender with IP_MULTICAST_IF lo, a send buffer size not
 *         locked against autotuning
 * After restore: every socket's filter of every group is what it was, the
 * groups a socket did not join are still not joined, the options read the
 * same, and a datagram sent to 239.1.2.3 on lo reaches fd 3 and fd 6 (if
 * it did before the checkpoint).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test/lib/test.h"

struct probe {
	int fd, family, level;
	const char *group;
};

/* every (socket, group) pair checked, joined or not */
static const struct probe probes[] = {
	{ 3, AF_INET, IPPROTO_IP, "239.1.2.3" }, { 3, AF_INET, IPPROTO_IP, "239.1.2.4" },
	{ 3, AF_INET, IPPROTO_IP, "232.1.1.1" }, { 3, AF_INET, IPPROTO_IP, "239.9.9.9" },
	{ 4, AF_INET6, IPPROTO_IPV6, "ff15::1234" }, { 4, AF_INET6, IPPROTO_IPV6, "ff15::5678" },
	{ 4, AF_INET, IPPROTO_IP, "239.9.9.9" }, { 4, AF_INET, IPPROTO_IP, "239.1.2.3" },
	{ 6, AF_INET, IPPROTO_IP, "239.1.2.3" }, { 6, AF_INET, IPPROTO_IP, "239.1.2.4" },
	{ 7, AF_INET, IPPROTO_IP, "239.1.2.3" },
};
#define NPROBES (sizeof(probes) / sizeof(probes[0]))

/* a socket's filter of one group, as bytes: "not joined" or mode + sources */
struct filt {
	int err;
	socklen_t len;
	char buf[GROUP_FILTER_SIZE(8)];
};

static unsigned lo_index;

static void put(int fd, int want)
{
	if (fd < 0)
		fail("create fd %d: %s", want, strerror(errno));
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2: %s", strerror(errno));
}

static void set(int fd, int level, int name, const void *v, socklen_t len, const char *what)
{
	if (setsockopt(fd, level, name, v, len))
		fail("fd %d: %s: %s", fd, what, strerror(errno));
}

static void seti(int fd, int level, int name, int v, const char *what)
{
	set(fd, level, name, &v, sizeof(v), what);
}

static void put_addr(struct sockaddr_storage *ss, int family, const char *a)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	void *p = family == AF_INET ? (void *)&((struct sockaddr_in *)ss)->sin_addr
				    : (void *)&((struct sockaddr_in6 *)ss)->sin6_addr;
	if (inet_pton(family, a, p) != 1)
		fail("bad address %s", a);
}

static void join(int fd, int level, int family, const char *group, const char *source)
{
	if (source) {
		struct group_source_req r = { .gsr_interface = lo_index };
		put_addr(&r.gsr_group, family, group);
		put_addr(&r.gsr_source, family, source);
		set(fd, level, MCAST_JOIN_SOURCE_GROUP, &r, sizeof(r), group);
	} else {
		struct group_req r = { .gr_interface = lo_index };
		put_addr(&r.gr_group, family, group);
		set(fd, level, MCAST_JOIN_GROUP, &r, sizeof(r), group);
	}
}

static void read_filt(const struct probe *p, struct filt *f)
{
	struct group_filter *gf = (struct group_filter *)f->buf;
	memset(f, 0, sizeof(*f));
	gf->gf_interface = lo_index;
	gf->gf_numsrc = 8;
	put_addr(&gf->gf_group, p->family, p->group);
	f->len = sizeof(f->buf);
	f->err = getsockopt(p->fd, p->level, MCAST_MSFILTER, gf, &f->len) ? errno : 0;
}

static void read_opt(int fd, int level, int name, char *buf, socklen_t *len)
{
	memset(buf, 0, *len);
	if (getsockopt(fd, level, name, buf, len))
		fail("fd %d: getsockopt %d/%d: %s", fd, level, name, strerror(errno));
}

struct optv {
	int fd, level, name;
	const char *what;
	char v[64];
	socklen_t len;
};

static struct optv opts[] = {
	{ 3, IPPROTO_IP, IP_OPTIONS, "IP_OPTIONS", { 0 }, 0 },
	{ 3, IPPROTO_IP, IP_MULTICAST_IF, "IP_MULTICAST_IF", { 0 }, 0 },
	{ 3, IPPROTO_IP, IP_MULTICAST_ALL, "IP_MULTICAST_ALL", { 0 }, 0 },
	{ 3, IPPROTO_IP, IP_RECVORIGDSTADDR, "IP_RECVORIGDSTADDR", { 0 }, 0 },
	{ 4, IPPROTO_IPV6, IPV6_MULTICAST_IF, "IPV6_MULTICAST_IF", { 0 }, 0 },
	{ 4, IPPROTO_IPV6, IPV6_HOPOPTS, "IPV6_HOPOPTS", { 0 }, 0 },
	{ 4, IPPROTO_IPV6, IPV6_DONTFRAG, "IPV6_DONTFRAG", { 0 }, 0 },
	{ 4, IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, "IPV6_RECVORIGDSTADDR", { 0 }, 0 },
	{ 5, IPPROTO_IP, IP_OPTIONS, "IP_OPTIONS", { 0 }, 0 },
	{ 5, IPPROTO_TCP, TCP_INQ, "TCP_INQ", { 0 }, 0 },
	{ 5, IPPROTO_TCP, TCP_CORK, "TCP_CORK", { 0 }, 0 },
	{ 7, IPPROTO_IP, IP_MULTICAST_IF, "IP_MULTICAST_IF", { 0 }, 0 },
	{ 7, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", { 0 }, 0 },
	{ 7, SOL_SOCKET, SO_BUF_LOCK, "SO_BUF_LOCK", { 0 }, 0 },
	{ 6, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", { 0 }, 0 },
	{ 6, SOL_SOCKET, SO_BUF_LOCK, "SO_BUF_LOCK", { 0 }, 0 },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void setup(int port)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6, .sin6_port = htons(port + 1) };
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_port = htons(port + 2),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	put(socket(AF_INET, SOCK_DGRAM, 0), 3);
	seti(3, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	if (bind(3, (struct sockaddr *)&any, sizeof(any)))
		fail("bind fd 3: %s", strerror(errno));
	join(3, IPPROTO_IP, AF_INET, "239.1.2.3", NULL);
	join(3, IPPROTO_IP, AF_INET, "239.1.2.4", NULL);
	struct group_source_req b = { .gsr_interface = lo_index };
	put_addr(&b.gsr_group, AF_INET, "239.1.2.4");
	put_addr(&b.gsr_source, AF_INET, "10.0.0.1");
	set(3, IPPROTO_IP, MCAST_BLOCK_SOURCE, &b, sizeof(b), "MCAST_BLOCK_SOURCE");
	join(3, IPPROTO_IP, AF_INET, "232.1.1.1", "10.0.0.2");
	join(3, IPPROTO_IP, AF_INET, "232.1.1.1", "10.0.0.3");
	struct in_addr ifa = { htonl(INADDR_LOOPBACK) };
	set(3, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof(ifa), "IP_MULTICAST_IF");
	seti(3, IPPROTO_IP, IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL");
	seti(3, IPPROTO_IP, IP_RECVORIGDSTADDR, 1, "IP_RECVORIGDSTADDR");
	static const unsigned char rr[12] = { 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	set(3, IPPROTO_IP, IP_OPTIONS, rr, sizeof(rr), "IP_OPTIONS");

	put(socket(AF_INET6, SOCK_DGRAM, 0), 4);
	if (bind(4, (struct sockaddr *)&any6, sizeof(any6)))
		fail("bind fd 4: %s", strerror(errno));
	join(4, IPPROTO_IPV6, AF_INET6, "ff15::1234", NULL);
	join(4, IPPROTO_IPV6, AF_INET6, "ff15::5678", "::1");
	join(4, IPPROTO_IP, AF_INET, "239.9.9.9", NULL);
	seti(4, IPPROTO_IPV6, IPV6_MULTICAST_IF, lo_index, "IPV6_MULTICAST_IF");
	static const unsigned char hop[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };	/* PadN */
	set(4, IPPROTO_IPV6, IPV6_HOPOPTS, hop, sizeof(hop), "IPV6_HOPOPTS");
	seti(4, IPPROTO_IPV6, IPV6_DONTFRAG, 1, "IPV6_DONTFRAG");
	seti(4, IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, 1, "IPV6_RECVORIGDSTADDR");

	put(socket(AF_INET, SOCK_STREAM, 0), 5);
	if (bind(5, (struct sockaddr *)&lo, sizeof(lo)) || listen(5, 4))
		fail("fd 5: %s", strerror(errno));
	static const unsigned char nop_rr[8] = { 1, 7, 7, 4, 0, 0, 0, 0 };
	set(5, IPPROTO_IP, IP_OPTIONS, nop_rr, sizeof(nop_rr), "IP_OPTIONS");
	seti(5, IPPROTO_TCP, TCP_INQ, 1, "TCP_INQ");
	seti(5, IPPROTO_TCP, TCP_CORK, 1, "TCP_CORK");

	put(socket(AF_INET, SOCK_DGRAM, 0), 6);
	seti(6, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	if (bind(6, (struct sockaddr *)&any, sizeof(any)))
		fail("bind fd 6: %s", strerror(errno));
	join(6, IPPROTO_IP, AF_INET, "239.1.2.3", NULL);

	put(socket(AF_INET, SOCK_DGRAM, 0), 7);
	struct ip_mreqn mif = { .imr_ifindex = lo_index };
	mif.imr_address.s_addr = htonl(INADDR_LOOPBACK);
	set(7, IPPROTO_IP, IP_MULTICAST_IF, &mif, sizeof(mif), "IP_MULTICAST_IF");
	/* a size the kernel's autotuning could have chosen (not locked), and
	 * one past net.core.rmem_max */
	seti(7, SOL_SOCKET, SO_SNDBUF, 100000, "SO_SNDBUF");
	seti(7, SOL_SOCKET, SO_BUF_LOCK, 0, "SO_BUF_LOCK");
	seti(6, SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20, "SO_RCVBUFFORCE");
}

/* a datagram to 239.1.2.3 from fd 7: reaches fd 3 and fd 6? */
static bool delivered(int port, const char *msg)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, "239.1.2.3", &to.sin_addr);
	if (sendto(7, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return false;
	for (int fd = 3; fd <= 6; fd += 3) {
		struct pollfd p = { fd, POLLIN, 0 };
		char b[32] = "";
		if (poll(&p, 1, 1000) != 1 || recv(fd, b, sizeof(b) - 1, 0) != (ssize_t)strlen(msg) ||
		    strcmp(b, msg))
			return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	lo_index = if_nametoindex("lo");
	if (!lo_index)
		skip("no lo interface");
	int port = test_port(0);
	setup(port);

	static struct filt before[NPROBES];
	for (size_t i = 0; i < NPROBES; i++)
		read_filt(&probes[i], &before[i]);
	if (before[0].err || before[1].err || before[2].err || before[4].err || before[5].err || before[6].err ||
	    before[8].err || before[3].err != EADDRNOTAVAIL || before[9].err != EADDRNOTAVAIL)
		fail("the memberships made are not what getsockopt shows");
	for (size_t i = 0; i < NOPTS; i++) {
		opts[i].len = sizeof(opts[i].v);
		read_opt(opts[i].fd, opts[i].level, opts[i].name, opts[i].v, &opts[i].len);
	}
	if (!opts[0].len || !opts[5].len || !opts[8].len)
		fail("IP_OPTIONS or IPV6_HOPOPTS read back empty");
	bool loops = delivered(port, "before");

	test_ready();
	test_wait_checkpoint();

	for (size_t i = 0; i < NPROBES; i++) {
		struct filt now;
		read_filt(&probes[i], &now);
		if (now.err != before[i].err || now.len != before[i].len || memcmp(now.buf, before[i].buf, now.len))
			fail("fd %d, group %s: membership or source filter changed (errno %d, was %d)", probes[i].fd,
			     probes[i].group, now.err, before[i].err);
	}
	for (size_t i = 0; i < NOPTS; i++) {
		char v[64];
		socklen_t len = sizeof(v);
		read_opt(opts[i].fd, opts[i].level, opts[i].name, v, &len);
		if (len != opts[i].len || memcmp(v, opts[i].v, len))
			fail("fd %d: %s changed", opts[i].fd, opts[i].what);
	}
	if (loops && !delivered(port, "after"))
		fail("a datagram to 239.1.2.3 on lo reaches fds 3 and 6 no more");
	test_msg("multicast on lo %s", loops ? "delivered before and after" : "not delivered here");
	pass();
}
