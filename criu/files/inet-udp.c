/*
 * inet-udp.c - the datagrams queued on a UDP socket.
 *
 * Dump: each datagram is peeked in turn (SO_PEEK_OFF steps over the ones
 * before, and is put back as it was) with the address it came from.
 *
 * Restore: the socket is bound (not yet connected); each datagram is sent
 * to it again from a raw socket with a header of its own (IP_HDRINCL), so
 * that it comes from its original address and port whoever holds that
 * port now.  A socket bound to the wildcard address gets them on the
 * loopback address (an IPv4 datagram on a dual-stack IPv6 socket goes
 * over IPv4, to 127.0.0.1 if the socket is bound to ::).  The queue is
 * counted afterwards: a datagram the
 * kernel did not queue is an error, never a silent loss.
 */
#define LOG_PREFIX "files: "
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "criu/files/inet.h"
#include "common/log.h"

#define DGRAM_MAX 65536

static int add_dgram(InetSocket *is, const void *data, size_t len, const struct sockaddr_storage *from)
{
	ProtobufCBinaryData *q = realloc(is->queue, (is->n_queue + 1) * sizeof(*q));
	if (!q)
		return -1;
	is->queue = q;
	ProtobufCBinaryData *s = realloc(is->sender, (is->n_sender + 1) * sizeof(*s));
	if (!s)
		return -1;
	is->sender = s;
	q = &is->queue[is->n_queue];
	q->data = malloc(len ? len : 1);
	if (!q->data)
		return -1;
	memcpy(q->data, data, len);
	q->len = len;
	is->n_queue++;
	/* the source: address bytes then the port, network order */
	uint32_t port;
	s = &is->sender[is->n_sender];
	if (inet_addr_split(from, s, &port))
		return -1;
	uint8_t *n = realloc(s->data, s->len + 2);
	if (!n)
		return -1;
	n[s->len] = port >> 8;
	n[s->len + 1] = port & 0xff;
	s->data = n;
	s->len += 2;
	is->n_sender++;
	return 0;
}

/* the datagrams from peek offset 0 on, into is (NULL: only counted in *count) */
static int peek_all(const char *what, int sk, InetSocket *is, size_t *count)
{
	static uint8_t buf[DGRAM_MAX];
	size_t total = 0;
	*count = 0;
	for (;;) {
		struct sockaddr_storage from = { 0 };
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
		int off = total;
		if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off))) {
			pr_perror("%s: SO_PEEK_OFF", what);
			return -1;
		}
		ssize_t n = recvmsg(sk, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 || n > DGRAM_MAX) {
			pr_perror("%s: cannot peek at a queued datagram", what);
			return -1;
		}
		if (!n) {
			pr_err("%s: an empty datagram is queued: not supported", what);
			return -1;
		}
		total += n;
		(*count)++;
		if (total > FILE_DATA_LIMIT) {
			pr_err("%s: more than %u MiB of datagrams queued", what, FILE_DATA_LIMIT >> 20);
			return -1;
		}
		if (is && add_dgram(is, buf, n, &from))
			return -1;
	}
}

int inet_udp_dump(const char *what, int sk, InetSocket *is)
{
	int old = -1;
	socklen_t l = sizeof(old);
	size_t n;
	if (getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old, &l)) {
		pr_perror("%s: SO_PEEK_OFF", what);
		return -1;
	}
	int ret = peek_all(what, sk, is, &n);
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old))) {
		pr_perror("%s: cannot put SO_PEEK_OFF back", what);
		ret = -1;
	}
	return ret;
}

uint32_t inet_csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	return sum;
}

uint16_t inet_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t r = ~sum;
	return r ? r : 0xffff;
}

/* ip header (v4 or v6) + udp header + data into pkt; its length */
static size_t build(int family, const uint8_t *from, const uint8_t *to, uint16_t sport, uint16_t dport,
		    const ProtobufCBinaryData *d, uint8_t *pkt)
{
	size_t alen = family == AF_INET ? 4 : 16, hl = family == AF_INET ? sizeof(struct iphdr) : sizeof(struct ip6_hdr);
	struct udphdr *u = (struct udphdr *)(pkt + hl);
	uint16_t ulen = sizeof(*u) + d->len;
	memset(pkt, 0, hl + sizeof(*u));
	if (family == AF_INET) {
		struct iphdr *ip = (struct iphdr *)pkt;
		ip->version = 4, ip->ihl = 5, ip->ttl = 64, ip->protocol = IPPROTO_UDP;
		ip->tot_len = htons(hl + ulen);
		memcpy(&ip->saddr, from, 4);
		memcpy(&ip->daddr, to, 4);
	} else {
		struct ip6_hdr *ip = (struct ip6_hdr *)pkt;
		ip->ip6_flow = htonl(6 << 28);
		ip->ip6_plen = htons(ulen);
		ip->ip6_nxt = IPPROTO_UDP;
		ip->ip6_hlim = 64;
		memcpy(&ip->ip6_src, from, 16);
		memcpy(&ip->ip6_dst, to, 16);
	}
	u->source = htons(sport);
	u->dest = htons(dport);
	u->len = htons(ulen);
	memcpy(u + 1, d->data, d->len);
	uint32_t sum = inet_csum_add(inet_csum_add(0, from, alen), to, alen) + IPPROTO_UDP + ulen;
	u->check = htons(inet_csum_fold(inet_csum_add(sum, u, ulen)));
	return hl + ulen;
}

/* where a datagram from sender s goes: its IP family, source and destination */
static int route(const InetSocket *is, const uint8_t *s, int *fam, const uint8_t **from, const uint8_t **to)
{
	static const uint8_t lo4[4] = { 127, 0, 0, 1 }, lo6[16] = { [15] = 1 }, any[16] = { 0 };
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	size_t alen = is->family == AF_INET ? 4 : 16;
	const uint8_t *local = is->src_addr.data;
	bool wild = !memcmp(local, any, alen);
	*fam = is->family;
	*from = s;
	*to = wild ? (alen == 4 ? lo4 : lo6) : local;
	if (is->family == AF_INET6 && !memcmp(s, v4mapped, 12)) {
		/* an IPv4 datagram received on a dual-stack socket */
		*fam = AF_INET;
		*from = s + 12;
		if (wild)
			*to = lo4;
		else if (!memcmp(local, v4mapped, 12))
			*to = local + 12;
		else
			return -1;
	}
	return 0;
}

/* raw[0] IPv4, raw[1] IPv6, made when first needed */
static int send_one(int raw[2], const InetSocket *is, size_t i, uint32_t id)
{
	static uint8_t pkt[DGRAM_MAX + 64];
	const ProtobufCBinaryData *s = &is->sender[i];
	size_t alen = is->family == AF_INET ? 4 : 16;
	const uint8_t *from, *to;
	int fam;
	if (s->len != alen + 2 || is->queue[i].len > DGRAM_MAX - 64 || route(is, s->data, &fam, &from, &to)) {
		pr_err("file %u: bad queued datagram %zu", id, i);
		return -1;
	}
	int *r = &raw[fam == AF_INET6];
	if (*r < 0 && (*r = socket(fam, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW)) < 0) {
		pr_perror("file %u: cannot make a raw socket to queue datagrams again", id);
		return -1;
	}
	ProtobufCBinaryData ta = { fam == AF_INET ? 4 : 16, (uint8_t *)to };
	struct inet_addr a;
	if (inet_addr_make(fam, &ta, 0, &a))
		return -1;
	size_t len = build(fam, from, to, s->data[alen] << 8 | s->data[alen + 1], is->src_port, &is->queue[i], pkt);
	if (sendto(*r, pkt, len, 0, (struct sockaddr *)&a.ss, a.len) != (ssize_t)len) {
		pr_perror("file %u: cannot queue datagram %zu again", id, i);
		return -1;
	}
	return 0;
}

int inet_udp_restore(int sk, const InetSocket *is, uint32_t id)
{
	int raw[2] = { -1, -1 }, ret = 0;
	if (!is->n_queue)
		return 0;
	for (size_t i = 0; i < is->n_queue && !ret; i++)
		ret = send_one(raw, is, i, id);
	for (int k = 0; k < 2; k++)
		if (raw[k] >= 0)
			close(raw[k]);
	size_t n = 0;
	char what[32];
	snprintf(what, sizeof(what), "file %u", id);
	if (!ret && (peek_all(what, sk, NULL, &n) || n != is->n_queue)) {
		pr_err("file %u: %zu of %zu datagrams queued again", id, n, is->n_queue);
		ret = -1;
	}
	int off = -1;
	setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
	return ret;
}
