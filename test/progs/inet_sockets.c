/*
 * inet_sockets: TCP and UDP sockets that are not connections.
 *   fd 3: TCP listening on 127.0.0.1 (backlog 7) with SO_REUSEADDR,
 *         SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT, TCP_NODELAY, SO_RCVBUF,
 *         SO_SNDBUF, SO_BINDTODEVICE lo, IP_TOS, IP_TTL, SO_LINGER,
 *         SO_PRIORITY, SO_MARK
 *   fd 4: TCP listening on [::1] with IPV6_V6ONLY, SO_REUSEPORT, IPV6_TCLASS
 *   fd 5: UDP bound to 127.0.0.1, three datagrams queued from fds 6 and 7
 *   fd 6, 7: UDP bound senders (127.0.0.1)
 *   fd 8: UDP on [::1] connected to fd 9, one datagram from it queued
 *   fd 9: UDP on [::1], bound
 *   fd 10: TCP unbound; fd 11: UDP unbound (IPv6); fd 12: TCP bound, not listening
 *   fd 13: UDP dual-stack on [::], a datagram from fd 6 (IPv4) and one from
 *          fd 9 (IPv6) queued, IP_PKTINFO on (the IPv4 one says where it came)
 *   more options: TCP_DEFER_ACCEPT, TCP_FASTOPEN, TCP_CONGESTION reno,
 *   TCP_MAXSEG on fd 3; SO_RCVTIMEO, IP_RECVERR, SO_TIMESTAMP on fd 5;
 *   IP_FREEBIND on fd 12; IPV6_RECVPKTINFO, IPV6_MULTICAST_HOPS on fd 8;
 *   a classic BPF filter (two instructions, passing all) on fd 9
 * After restore: every option, address and port; the datagrams in order
 * with their senders; both listeners accept a new connection; the
 * connected UDP socket still talks to its peer only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
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

static void seti(int fd, int level, int name, int v)
{
	if (setsockopt(fd, level, name, &v, sizeof(v)))
		fail("fd %d: setsockopt %d/%d: %s", fd, level, name, strerror(errno));
}

static int geti(int fd, int level, int name)
{
	int v = 0;
	socklen_t l = sizeof(v);
	if (getsockopt(fd, level, name, &v, &l))
		fail("fd %d: getsockopt %d/%d: %s", fd, level, name, strerror(errno));
	return v;
}

static void want(int fd, int level, int name, int v, const char *what)
{
	int got = geti(fd, level, name);
	if (got != v)
		fail("fd %d: %s is %d, expected %d", fd, what, got, v);
}

static struct sockaddr_in lo4(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static struct sockaddr_in6 lo6(int port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	return a;
}

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &l))
		fail("fd %d: getsockname: %s", fd, strerror(errno));
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void set_listener4(void)
{
	put(socket(AF_INET, SOCK_STREAM, 0), 3);
	seti(3, SOL_SOCKET, SO_REUSEADDR, 1);
	seti(3, SOL_SOCKET, SO_KEEPALIVE, 1);
	seti(3, IPPROTO_TCP, TCP_KEEPIDLE, 77);
	seti(3, IPPROTO_TCP, TCP_KEEPINTVL, 13);
	seti(3, IPPROTO_TCP, TCP_KEEPCNT, 4);
	seti(3, IPPROTO_TCP, TCP_NODELAY, 1);
	seti(3, SOL_SOCKET, SO_RCVBUF, 50000);
	seti(3, SOL_SOCKET, SO_SNDBUF, 60000);
	seti(3, IPPROTO_IP, IP_TOS, 0x10);
	seti(3, IPPROTO_IP, IP_TTL, 33);
	seti(3, SOL_SOCKET, SO_PRIORITY, 5);
	seti(3, SOL_SOCKET, SO_MARK, 42);
	struct linger lg = { 1, 7 };
	if (setsockopt(3, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) ||
	    setsockopt(3, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3))
		fail("setsockopt: %s", strerror(errno));
	struct sockaddr_in a = lo4(test_port(0));
	if (bind(3, (struct sockaddr *)&a, sizeof(a)) || listen(3, 7))
		fail("listen 4: %s", strerror(errno));
}

static void check_listener4(int rcvbuf, int sndbuf)
{
	want(3, SOL_SOCKET, SO_ACCEPTCONN, 1, "SO_ACCEPTCONN");
	want(3, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	want(3, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
	want(3, IPPROTO_TCP, TCP_KEEPIDLE, 77, "TCP_KEEPIDLE");
	want(3, IPPROTO_TCP, TCP_KEEPINTVL, 13, "TCP_KEEPINTVL");
	want(3, IPPROTO_TCP, TCP_KEEPCNT, 4, "TCP_KEEPCNT");
	want(3, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
	want(3, SOL_SOCKET, SO_RCVBUF, rcvbuf, "SO_RCVBUF");
	want(3, SOL_SOCKET, SO_SNDBUF, sndbuf, "SO_SNDBUF");
	want(3, IPPROTO_IP, IP_TOS, 0x10, "IP_TOS");
	want(3, IPPROTO_IP, IP_TTL, 33, "IP_TTL");
	want(3, SOL_SOCKET, SO_PRIORITY, 5, "SO_PRIORITY");
	want(3, SOL_SOCKET, SO_MARK, 42, "SO_MARK");
	struct linger lg;
	char dev[16] = "";
	socklen_t l = sizeof(lg), dl = sizeof(dev);
	if (getsockopt(3, SOL_SOCKET, SO_LINGER, &lg, &l) || lg.l_onoff != 1 || lg.l_linger != 7)
		fail("fd 3: SO_LINGER not {1, 7}");
	if (getsockopt(3, SOL_SOCKET, SO_BINDTODEVICE, dev, &dl) || strcmp(dev, "lo"))
		fail("fd 3: SO_BINDTODEVICE is '%s', not lo", dev);
	struct tcp_info ti;
	l = sizeof(ti);
	if (getsockopt(3, IPPROTO_TCP, TCP_INFO, &ti, &l) || ti.tcpi_state != 10 || ti.tcpi_sacked != 7)
		fail("fd 3: state %u backlog %u, expected LISTEN and 7", ti.tcpi_state, ti.tcpi_sacked);
}

static void accepts(int lfd, int family, int port)
{
	int c = socket(family, SOCK_STREAM, 0);
	struct sockaddr_in a4 = lo4(port);
	struct sockaddr_in6 a6 = lo6(port);
	int r = family == AF_INET ? connect(c, (struct sockaddr *)&a4, sizeof(a4))
				  : connect(c, (struct sockaddr *)&a6, sizeof(a6));
	if (r)
		fail("fd %d: connect to port %d: %s", lfd, port, strerror(errno));
	int s = accept(lfd, NULL, NULL);
	char b = 0;
	if (s < 0 || write(c, "x", 1) != 1 || read(s, &b, 1) != 1 || b != 'x')
		fail("fd %d: accept or data on the accepted connection: %s", lfd, strerror(errno));
	close(c);	/* first: its side (an ephemeral port) keeps TIME_WAIT */
	close(s);
}

static void send_from(int fd, int to_port, const char *msg)
{
	struct sockaddr_in a = lo4(to_port);
	if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof(a)) != (ssize_t)strlen(msg))
		fail("sendto: %s", strerror(errno));
}

static void recv_from(int fd, const char *msg, int from_port)
{
	char buf[64] = "";
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)&ss, &l);
	if (n < 0)
		fail("fd %d: no datagram '%s' queued: %s", fd, msg, strerror(errno));
	buf[n] = 0;
	int port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						 : ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (strcmp(buf, msg) || port != from_port)
		fail("fd %d: datagram '%s' from port %d, expected '%s' from %d", fd, buf, port, msg, from_port);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	set_listener4();
	int rcvbuf = geti(3, SOL_SOCKET, SO_RCVBUF), sndbuf = geti(3, SOL_SOCKET, SO_SNDBUF);

	put(socket(AF_INET6, SOCK_STREAM, 0), 4);
	seti(4, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	seti(4, SOL_SOCKET, SO_REUSEPORT, 1);
	seti(4, IPPROTO_IPV6, IPV6_TCLASS, 0x20);
	struct sockaddr_in6 a6 = lo6(test_port(1));
	if (bind(4, (struct sockaddr *)&a6, sizeof(a6)) || listen(4, 3))
		fail("listen 6: %s", strerror(errno));

	struct sockaddr_in a4;
	for (int fd = 5; fd <= 7; fd++) {
		put(socket(AF_INET, SOCK_DGRAM, 0), fd);
		a4 = lo4(test_port(fd - 5));
		if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)))
			fail("bind udp: %s", strerror(errno));
	}
	send_from(6, port_of(5), "one");
	send_from(7, port_of(5), "two");
	send_from(6, port_of(5), "three");

	put(socket(AF_INET6, SOCK_DGRAM, 0), 8);
	put(socket(AF_INET6, SOCK_DGRAM, 0), 9);
	struct sockaddr_in6 b8 = lo6(test_port(3)), b9 = lo6(test_port(4));
	if (bind(8, (struct sockaddr *)&b8, sizeof(b8)) || bind(9, (struct sockaddr *)&b9, sizeof(b9)))
		fail("bind udp6: %s", strerror(errno));
	struct sockaddr_in6 p9 = lo6(port_of(9)), p8 = lo6(port_of(8));
	if (connect(8, (struct sockaddr *)&p9, sizeof(p9)) ||
	    sendto(9, "six", 3, 0, (struct sockaddr *)&p8, sizeof(p8)) != 3)
		fail("udp6: %s", strerror(errno));

	put(socket(AF_INET, SOCK_STREAM, 0), 10);
	put(socket(AF_INET6, SOCK_DGRAM, 0), 11);
	put(socket(AF_INET, SOCK_STREAM, 0), 12);
	a4 = lo4(test_port(2));
	if (bind(12, (struct sockaddr *)&a4, sizeof(a4)))
		fail("bind 12: %s", strerror(errno));

	put(socket(AF_INET6, SOCK_DGRAM, 0), 13);
	seti(13, IPPROTO_IPV6, IPV6_V6ONLY, 0);
	seti(13, IPPROTO_IP, IP_PKTINFO, 1);
	seti(3, IPPROTO_TCP, TCP_DEFER_ACCEPT, 10);
	seti(3, IPPROTO_TCP, TCP_FASTOPEN, 5);
	seti(3, IPPROTO_TCP, TCP_MAXSEG, 1200);
	bool reno = !setsockopt(3, IPPROTO_TCP, TCP_CONGESTION, "reno", 4);
	struct timeval tv = { 3, 250000 };
	if (setsockopt(5, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		fail("SO_RCVTIMEO: %s", strerror(errno));
	seti(5, IPPROTO_IP, IP_RECVERR, 1);
	seti(5, SOL_SOCKET, SO_TIMESTAMP, 1);
	seti(12, IPPROTO_IP, IP_FREEBIND, 1);
	seti(8, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	seti(8, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 7);
	struct sock_filter flt[2] = { { 0x00, 0, 0, 1 }, { 0x06, 0, 0, 0xffff } };	/* ld #1; ret #0xffff */
	struct sock_fprog fp = { 2, flt };
	if (setsockopt(9, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)))
		fail("SO_ATTACH_FILTER: %s", strerror(errno));
	int defer = geti(3, IPPROTO_TCP, TCP_DEFER_ACCEPT);
	struct timeval tv1;
	socklen_t tl1 = sizeof(tv1);
	if (getsockopt(5, SOL_SOCKET, SO_RCVTIMEO, &tv1, &tl1))
		fail("SO_RCVTIMEO: %s", strerror(errno));
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6, .sin6_port = htons(test_port(5)),
				     .sin6_addr = IN6ADDR_ANY_INIT };
	if (bind(13, (struct sockaddr *)&any6, sizeof(any6)))
		fail("bind 13: %s", strerror(errno));
	send_from(6, port_of(13), "over4");
	struct sockaddr_in6 p13 = lo6(port_of(13));
	if (sendto(9, "over6", 5, 0, (struct sockaddr *)&p13, sizeof(p13)) != 5)
		fail("sendto 13: %s", strerror(errno));

	int ports[14];
	for (int fd = 3; fd <= 13; fd++)
		ports[fd] = port_of(fd);

	test_ready();
	test_wait_checkpoint();

	for (int fd = 3; fd <= 13; fd++)
		if (port_of(fd) != ports[fd])
			fail("fd %d: port %d, was %d", fd, port_of(fd), ports[fd]);
	if (ports[10] || ports[11] || !ports[12])
		fail("unbound sockets got ports, or the bound one lost it");
	check_listener4(rcvbuf, sndbuf);
	want(4, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
	want(4, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
	want(4, IPPROTO_IPV6, IPV6_TCLASS, 0x20, "IPV6_TCLASS");
	want(10, SOL_SOCKET, SO_TYPE, SOCK_STREAM, "SO_TYPE");
	want(11, SOL_SOCKET, SO_DOMAIN, AF_INET6, "SO_DOMAIN");
	want(12, SOL_SOCKET, SO_ACCEPTCONN, 0, "SO_ACCEPTCONN");
	recv_from(5, "one", ports[6]);
	recv_from(5, "two", ports[7]);
	recv_from(5, "three", ports[6]);
	char b;
	if (recv(5, &b, 1, MSG_DONTWAIT) >= 0 || errno != EAGAIN)
		fail("fd 5: more datagrams than were queued");
	recv_from(8, "six", ports[9]);
	want(3, IPPROTO_TCP, TCP_DEFER_ACCEPT, defer, "TCP_DEFER_ACCEPT");
	want(3, IPPROTO_TCP, TCP_FASTOPEN, 5, "TCP_FASTOPEN");
	want(3, IPPROTO_TCP, TCP_MAXSEG, 1200, "TCP_MAXSEG");
	char cc[16] = "";
	socklen_t ccl = sizeof(cc);
	if (reno && (getsockopt(3, IPPROTO_TCP, TCP_CONGESTION, cc, &ccl) || strcmp(cc, "reno")))
		fail("fd 3: TCP_CONGESTION is '%s', not reno", cc);
	struct timeval tv2;
	socklen_t tl = sizeof(tv2);
	if (getsockopt(5, SOL_SOCKET, SO_RCVTIMEO, &tv2, &tl) || tv2.tv_sec != tv1.tv_sec || tv2.tv_usec != tv1.tv_usec)
		fail("fd 5: SO_RCVTIMEO %ld.%06ld, was %ld.%06ld", (long)tv2.tv_sec, (long)tv2.tv_usec,
		     (long)tv1.tv_sec, (long)tv1.tv_usec);
	want(5, IPPROTO_IP, IP_RECVERR, 1, "IP_RECVERR");
	want(5, SOL_SOCKET, SO_TIMESTAMP, 1, "SO_TIMESTAMP");
	want(12, IPPROTO_IP, IP_FREEBIND, 1, "IP_FREEBIND");
	want(8, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
	want(8, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 7, "IPV6_MULTICAST_HOPS");
	want(13, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
	struct sock_filter gf[4];
	socklen_t gn = 4;
	if (getsockopt(9, SOL_SOCKET, SO_GET_FILTER, gf, &gn) || gn != 2 || memcmp(gf, flt, sizeof(flt)))
		fail("fd 9: the socket filter is lost (%u instructions)", gn);
	/* the IPv4 datagram came over IPv4: IP_PKTINFO says to 127.0.0.1 */
	char data[16] = "", ctl[256];
	struct sockaddr_storage from;
	struct iovec iov = { data, sizeof(data) - 1 };
	struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	if (recvmsg(13, &mh, MSG_DONTWAIT | MSG_PEEK) < 0)
		fail("fd 13: nothing queued: %s", strerror(errno));
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_level != IPPROTO_IP || cm->cmsg_type != IP_PKTINFO ||
	    ((struct in_pktinfo *)CMSG_DATA(cm))->ipi_addr.s_addr != htonl(INADDR_LOOPBACK))
		fail("fd 13: the IPv4 datagram did not come over IPv4 to 127.0.0.1 (no IP_PKTINFO)");
	recv_from(13, "over4", ports[6]);
	recv_from(13, "over6", ports[9]);
	/* connected: its peer's datagrams only; and it sends to the peer */
	struct sockaddr_in6 to8 = lo6(ports[8]);
	if (sendto(11, "no", 2, 0, (struct sockaddr *)&to8, sizeof(to8)) != 2 || send(8, "back", 4, 0) != 4)
		fail("udp6 send: %s", strerror(errno));
	recv_from(9, "back", ports[8]);
	if (recv(8, &b, 1, MSG_DONTWAIT) >= 0)
		fail("fd 8: got a datagram from a socket it is not connected to");
	accepts(3, AF_INET, ports[3]);
	accepts(4, AF_INET6, ports[4]);
	pass();
}
