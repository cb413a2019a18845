/*
 * packet_sockets: AF_PACKET sockets.
 *   fd 3: SOCK_RAW, ETH_P_ALL, bound to lo, PACKET_AUXDATA on, a promiscuous
 *         membership on lo, a classic BPF filter passing only UDP datagrams
 *         to the test's port (test_port(0): other traffic on lo, another run
 *         of this test at once too, never queues on it)
 *   fd 4: SOCK_DGRAM, protocol 0 (not running), PACKET_VERSION TPACKET_V2
 *   fd 5: SOCK_RAW, protocol 0, PACKET_ORIGDEV, PACKET_QDISC_BYPASS and
 *         PACKET_IGNORE_OUTGOING on
 * After restore: types, protocols and bound interface (getsockname), options, the filter
 * (same instructions), lo still promiscuous; fd 3 sees a datagram sent to
 * 127.0.0.1:PORT and not one sent to another port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test/lib/test.h"

static int PORT;

static struct sock_filter prog[] = {
	{ 0x28, 0, 0, 12 },		/* ldh [12]: ethertype */
	{ 0x15, 0, 5, ETH_P_IP },	/* IPv4? */
	{ 0x30, 0, 0, 23 },		/* ldb [23]: protocol */
	{ 0x15, 0, 3, IPPROTO_UDP },
	{ 0x28, 0, 0, 36 },		/* ldh [36]: UDP destination port (no IP options) */
	{ 0x15, 0, 1, 0 },		/* the port: set in main */
	{ 0x06, 0, 0, 0xffff },
	{ 0x06, 0, 0, 0 },
};

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

static void send_udp(int port)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (sendto(u, "ping", 4, 0, (struct sockaddr *)&a, sizeof(a)) != 4)
		fail("sendto: %s", strerror(errno));
	close(u);
}

static bool lo_promisc(void)
{
	unsigned flags = 0;
	FILE *f = fopen("/sys/class/net/lo/flags", "r");
	if (!f || fscanf(f, "%x", &flags) != 1)
		fail("/sys/class/net/lo/flags");
	fclose(f);
	return flags & 0x100;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	PORT = test_port(0);
	prog[5].k = PORT;
	int lo = if_nametoindex("lo");
	put(socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), 3);
	struct sock_fprog fp = { sizeof(prog) / sizeof(prog[0]), prog };
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = lo };
	struct packet_mreq mr = { .mr_ifindex = lo, .mr_type = PACKET_MR_PROMISC };
	int one = 1, v2 = TPACKET_V2;
	if (setsockopt(3, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) ||
	    setsockopt(3, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one)) ||
	    bind(3, (struct sockaddr *)&ll, sizeof(ll)) ||
	    setsockopt(3, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) ||
	    setsockopt(3, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)))
		fail("fd 3: %s", strerror(errno));
	put(socket(AF_PACKET, SOCK_DGRAM, 0), 4);
	if (setsockopt(4, SOL_PACKET, PACKET_VERSION, &v2, sizeof(v2)))
		fail("fd 4: %s", strerror(errno));
	put(socket(AF_PACKET, SOCK_RAW, 0), 5);
	if (setsockopt(5, SOL_PACKET, PACKET_ORIGDEV, &one, sizeof(one)) ||
	    setsockopt(5, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) ||
	    setsockopt(5, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)))
		fail("fd 5: %s", strerror(errno));
	test_ready();
	test_wait_checkpoint();

	if (geti(3, SOL_SOCKET, SO_TYPE) != SOCK_RAW || geti(4, SOL_SOCKET, SO_TYPE) != SOCK_DGRAM)
		fail("a type changed");
	struct sockaddr_ll got = { 0 }, g4 = { 0 };
	socklen_t l = sizeof(got), l4 = sizeof(g4);
	if (getsockname(3, (struct sockaddr *)&got, &l) || got.sll_ifindex != lo || got.sll_protocol != htons(ETH_P_ALL))
		fail("fd 3: bound to interface %d protocol %x, not lo (%d) and ETH_P_ALL", got.sll_ifindex,
		     ntohs(got.sll_protocol), lo);
	if (getsockname(4, (struct sockaddr *)&g4, &l4) || g4.sll_ifindex || g4.sll_protocol)
		fail("fd 4: bound");
	if (geti(3, SOL_PACKET, PACKET_AUXDATA) != 1 || geti(4, SOL_PACKET, PACKET_VERSION) != TPACKET_V2 ||
	    geti(5, SOL_PACKET, PACKET_ORIGDEV) != 1 || geti(3, SOL_PACKET, PACKET_ORIGDEV) != 0)
		fail("a packet option changed");
	if (geti(5, SOL_PACKET, PACKET_QDISC_BYPASS) != 1 || geti(5, SOL_PACKET, PACKET_IGNORE_OUTGOING) != 1 ||
	    geti(3, SOL_PACKET, PACKET_QDISC_BYPASS) != 0)
		fail("PACKET_QDISC_BYPASS or PACKET_IGNORE_OUTGOING changed");
	struct sock_filter f[16];
	socklen_t n = 16;
	if (getsockopt(3, SOL_SOCKET, SO_GET_FILTER, f, &n) || n != sizeof(prog) / sizeof(prog[0]) ||
	    memcmp(f, prog, sizeof(prog)))
		fail("fd 3: the filter changed (%u instructions)", n);
	if (geti(3, SOL_SOCKET, SO_LOCK_FILTER) != 1 || geti(4, SOL_SOCKET, SO_LOCK_FILTER) != 0)
		fail("fd 3: the filter's lock (SO_LOCK_FILTER) changed");
	if (!lo_promisc())
		fail("lo is no longer promiscuous: the membership was lost");
	send_udp(PORT + 1);
	send_udp(PORT);
	struct pollfd p = { 3, POLLIN, 0 };
	char buf[2048];
	if (poll(&p, 1, 3000) != 1)
		fail("fd 3: nothing received");
	ssize_t len = recv(3, buf, sizeof(buf), 0);
	if (len < 46 || ntohs(*(uint16_t *)(buf + 36)) != PORT)
		fail("fd 3: received %zd bytes, not the datagram to port %d", len, PORT);
	pass();
}
