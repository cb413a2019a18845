/*
 * tap_fd: a tap device held by the process, in the tree's own network
 * namespace (test/netns.sh netns/tap runs it there).
 *   fd 3: /dev/net/tun attached to tap0 (IFF_TAP, IFF_NO_PI, IFF_VNET_HDR,
 *         not persistent: it lives while fd 3 does), vnet header size 12,
 *         send buffer 123456; tap0 up with 10.235.0.1/24 and IPv6 off (set
 *         here; what the kernel sent meanwhile read)
 *   fd 4: UDP bound to 10.235.0.1:test_port(0)
 * After restore: fd 3 is attached to tap0 with the same flags (still not
 * persistent), header size and buffer; packets pass both ways: a datagram
 * sent to 10.235.0.2 makes the kernel send an ARP request out of tap0,
 * read from fd 3 (after its 12-byte vnet header); a UDP frame written
 * into fd 3 (to tap0's hardware address) is received on fd 4.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test/lib/test.h"

#define HDR 12

static void put(int fd, int want)
{
	if (fd < 0)
		fail("create fd %d: %s", want, strerror(errno));
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2: %s", strerror(errno));
}

static void set_addr(struct ifreq *r, const char *a)
{
	struct sockaddr_in *s = (struct sockaddr_in *)&r->ifr_addr;
	s->sin_family = AF_INET;
	inet_pton(AF_INET, a, &s->sin_addr);
}

/* tap0 up with 10.235.0.1/24, no IPv6 (its solicitations would queue) */
static void configure(void)
{
	struct ifreq r = { .ifr_name = "tap0" };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	FILE *v6 = fopen("/proc/sys/net/ipv6/conf/tap0/disable_ipv6", "w");
	if (v6) {
		fputs("1", v6);
		fclose(v6);
	}
	set_addr(&r, "10.235.0.1");
	if (s < 0 || ioctl(s, SIOCSIFADDR, &r))
		fail("tap0 address: %s", strerror(errno));
	set_addr(&r, "255.255.255.0");
	if (ioctl(s, SIOCSIFNETMASK, &r) || ioctl(s, SIOCGIFFLAGS, &r))
		fail("tap0 netmask: %s", strerror(errno));
	r.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &r))
		fail("tap0 up: %s", strerror(errno));
	close(s);
}

static void check_attached(void)
{
	struct ifreq r = { 0 };
	int hdr = 0, sndbuf = 0;
	if (ioctl(3, TUNGETIFF, &r) || strcmp(r.ifr_name, "tap0"))
		fail("fd 3: not attached to tap0 (%s): %s", r.ifr_name, strerror(errno));
	if ((r.ifr_flags & (IFF_TAP | IFF_TUN | IFF_NO_PI | IFF_VNET_HDR | IFF_PERSIST)) != (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
		fail("fd 3: flags %#x, not IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (not persistent)", r.ifr_flags);
	if (ioctl(3, TUNGETVNETHDRSZ, &hdr) || hdr != HDR || ioctl(3, TUNGETSNDBUF, &sndbuf) || sndbuf != 123456)
		fail("fd 3: vnet header size %d, send buffer %d: not %d and 123456", hdr, sndbuf, HDR);
}

/* the kernel to fd 3: an ARP request for 10.235.0.2 */
static void arp_out(void)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	uint8_t f[2048];
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	inet_pton(AF_INET, "10.235.0.2", &to.sin_addr);
	if (u < 0 || sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) != 1)
		fail("sendto 10.235.0.2: %s", strerror(errno));
	for (int i = 0; i < 50; i++) {
		struct pollfd p = { 3, POLLIN, 0 };
		if (poll(&p, 1, 100) != 1)
			continue;
		ssize_t n = read(3, f, sizeof(f));
		/* vnet header, then ethernet: type at 12, ARP target address at 14 + 24 */
		if (n >= HDR + 42 && f[HDR + 12] == 0x08 && f[HDR + 13] == 0x06 &&
		    !memcmp(f + HDR + 38, (uint8_t[]){ 10, 235, 0, 2 }, 4)) {
			close(u);
			return;
		}
	}
	fail("fd 3: no ARP request for 10.235.0.2 read");
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s;
}

/* fd 3 to the kernel: a UDP datagram for fd 4 */
static void udp_in(int port)
{
	uint8_t f[HDR + 14 + 20 + 8 + 5] = { 0 }, *e = f + HDR, *ip = e + 14, *udp = ip + 20;
	struct ifreq r = { .ifr_name = "tap0" };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &r))
		fail("tap0 hardware address: %s", strerror(errno));
	close(s);
	memcpy(e, r.ifr_hwaddr.sa_data, 6);
	memcpy(e + 6, (uint8_t[]){ 2, 0, 0, 0, 0, 2 }, 6);
	e[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 20 + 8 + 5;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, (uint8_t[]){ 10, 235, 0, 2, 10, 235, 0, 1 }, 8);
	uint16_t c = csum(ip, 20);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	udp[0] = 1234 >> 8;
	udp[1] = 1234 & 0xff;
	udp[2] = port >> 8;
	udp[3] = port & 0xff;
	udp[5] = 8 + 5;
	memcpy(udp + 8, "hello", 5);
	if (write(3, f, sizeof(f)) != (ssize_t)sizeof(f))
		fail("fd 3: write a frame: %s", strerror(errno));
	char b[16] = "";
	struct pollfd p = { 4, POLLIN, 0 };
	if (poll(&p, 1, 3000) != 1 || recv(4, b, sizeof(b) - 1, 0) != 5 || strcmp(b, "hello"))
		fail("fd 4: the datagram written into fd 3 did not arrive");
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int port = test_port(0), hdr = HDR, sndbuf = 123456;
	struct ifreq r = { .ifr_name = "tap0", .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	put(open("/dev/net/tun", O_RDWR), 3);
	if (ioctl(3, TUNSETIFF, &r) || ioctl(3, TUNSETVNETHDRSZ, &hdr) || ioctl(3, TUNSETSNDBUF, &sndbuf))
		fail("fd 3: tap0: %s", strerror(errno));
	configure();
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, "10.235.0.1", &a.sin_addr);
	put(socket(AF_INET, SOCK_DGRAM, 0), 4);
	if (bind(4, (struct sockaddr *)&a, sizeof(a)))
		fail("fd 4: bind: %s", strerror(errno));
	check_attached();
	usleep(200000);
	/* what the kernel sent when tap0 came up (IPv6 router solicitations...) */
	uint8_t junk[2048];
	int fl = fcntl(3, F_GETFL);
	fcntl(3, F_SETFL, fl | O_NONBLOCK);
	while (read(3, junk, sizeof(junk)) > 0)
		;
	fcntl(3, F_SETFL, fl);
	test_ready();
	test_wait_checkpoint();
	check_attached();
	arp_out();
	udp_in(port);
	pass();
}
