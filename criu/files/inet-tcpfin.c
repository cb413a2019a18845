/*
 * inet-tcpfin.c - the half-closed states of a TCP connection (FIN_WAIT1,
 * FIN_WAIT2, CLOSE_WAIT, LAST_ACK, CLOSING), on top of inet-tcp.c's
 * established one.
 *
 * TCP_REPAIR makes only an established connection, so the sequence
 * numbers saved at the end of each queue (which count a FIN sent or
 * received) are restored one less where a FIN is; once the connection is
 * out of repair mode the FINs are made again in the order the state
 * says: the peer's is sent to the socket from a raw socket (a segment
 * from the peer's address and port at the sequence number it had, acking
 * what the peer had acked), marked so that the network lock lets it pass
 * (NETLOCK_PASS_MARK), and the socket's own with shutdown(SHUT_WR), which
 * sends it at the sequence number it had (a peer that had it already
 * acks it again).  A FIN_WAIT2 connection is FIN_WAIT1 until that ack.
 * The state reached is checked (one line if not).
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "criu/files/inet.h"
#include "criu/net/netlock.h"
#include "common/log.h"

bool inet_tcp_state_ok(uint32_t st)
{
	return st == TCP_ESTABLISHED || st == TCP_FIN_WAIT1 || st == TCP_FIN_WAIT2 || st == TCP_CLOSE_WAIT ||
	       st == TCP_LAST_ACK || st == TCP_CLOSING;
}

bool inet_tcp_fin_sent(uint32_t st)
{
	return st == TCP_FIN_WAIT1 || st == TCP_FIN_WAIT2 || st == TCP_LAST_ACK || st == TCP_CLOSING;
}

bool inet_tcp_fin_acked(uint32_t st)
{
	return st == TCP_FIN_WAIT2;
}

bool inet_tcp_fin_received(uint32_t st)
{
	return st == TCP_CLOSE_WAIT || st == TCP_LAST_ACK || st == TCP_CLOSING;
}

/* the segment's addresses: an IPv4 connection of a dual-stack socket goes as IPv4 */
static int addrs(const InetSocket *is, int *fam, const uint8_t **peer, const uint8_t **self)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	*fam = is->family;
	*peer = is->dst_addr.data;
	*self = is->src_addr.data;
	if (is->family == AF_INET6 && !memcmp(*peer, v4mapped, 12)) {
		if (memcmp(*self, v4mapped, 12))
			return -1;
		*fam = AF_INET;
		*peer += 12;
		*self += 12;
	}
	return 0;
}

/* ip header + a TCP FIN|ACK segment without options into pkt; its length */
static size_t build_fin(int fam, const uint8_t *from, const uint8_t *to, const InetSocket *is, uint8_t *pkt)
{
	const TcpConn *t = is->tcp;
	size_t alen = fam == AF_INET ? 4 : 16, hl = fam == AF_INET ? sizeof(struct iphdr) : sizeof(struct ip6_hdr);
	struct tcphdr *th = (struct tcphdr *)(pkt + hl);
	uint32_t fin_acked = inet_tcp_fin_acked(is->state), fin_unacked = inet_tcp_fin_sent(is->state) && !fin_acked;
	uint32_t snd_una = t->snd_seq - fin_unacked - (uint32_t)t->sndq.len;
	uint32_t win = t->snd_wnd >> t->snd_wscale;
	memset(pkt, 0, hl + sizeof(*th));
	if (fam == AF_INET) {
		struct iphdr *ip = (struct iphdr *)pkt;
		ip->version = 4, ip->ihl = 5, ip->ttl = 64, ip->protocol = IPPROTO_TCP;
		ip->tot_len = htons(hl + sizeof(*th));
		memcpy(&ip->saddr, from, 4);
		memcpy(&ip->daddr, to, 4);
	} else {
		struct ip6_hdr *ip = (struct ip6_hdr *)pkt;
		ip->ip6_flow = htonl(6 << 28);
		ip->ip6_plen = htons(sizeof(*th));
		ip->ip6_nxt = IPPROTO_TCP;
		ip->ip6_hlim = 64;
		memcpy(&ip->ip6_src, from, 16);
		memcpy(&ip->ip6_dst, to, 16);
	}
	th->source = htons(is->dst_port);
	th->dest = htons(is->src_port);
	th->seq = htonl(t->rcv_seq - 1);	/* the peer's FIN */
	th->ack_seq = htonl(snd_una);
	th->doff = 5;
	th->fin = th->ack = 1;
	th->window = htons(win > 65535 ? 65535 : win);
	uint32_t sum = inet_csum_add(inet_csum_add(0, from, alen), to, alen) + IPPROTO_TCP + sizeof(*th);
	th->check = htons(inet_csum_fold(inet_csum_add(sum, th, sizeof(*th))));
	return hl + sizeof(*th);
}

static int send_peer_fin(const InetSocket *is, uint32_t id)
{
	uint8_t pkt[128];
	const uint8_t *peer, *self;
	int fam, mark = NETLOCK_PASS_MARK;
	if (addrs(is, &fam, &peer, &self)) {
		pr_err("file %u: a TCP connection between an IPv4 and an IPv6 address", id);
		return -1;
	}
	int raw = socket(fam, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	ProtobufCBinaryData to = { fam == AF_INET ? 4 : 16, (uint8_t *)self };
	struct inet_addr a;
	size_t len = build_fin(fam, peer, self, is, pkt);
	int ret = -1;
	if (raw < 0 || setsockopt(raw, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) || inet_addr_make(fam, &to, 0, &a) ||
	    sendto(raw, pkt, len, 0, (struct sockaddr *)&a.ss, a.len) != (ssize_t)len)
		pr_perror("file %u: cannot send the peer's FIN to the TCP connection again", id);
	else
		ret = 0;
	if (raw >= 0)
		close(raw);
	return ret;
}

/* waits (1 s at most) for the socket to reach state st */
static int wait_state(int sk, uint32_t st, uint32_t id)
{
	struct tcp_info ti;
	for (int i = 0; i < 200; i++) {
		socklen_t l = sizeof(ti);
		if (getsockopt(sk, IPPROTO_TCP, TCP_INFO, &ti, &l))
			break;
		if (ti.tcpi_state == st)
			return 0;
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	}
	pr_err("file %u: the TCP connection did not reach state %u again (it is in %u)", id, st, ti.tcpi_state);
	return -1;
}

static int close_write(int sk, uint32_t id)
{
	if (shutdown(sk, SHUT_WR)) {
		pr_perror("file %u: cannot send the connection's FIN again", id);
		return -1;
	}
	return 0;
}

int inet_tcp_fins(int sk, const InetSocket *is, uint32_t id)
{
	uint32_t st = is->state;
	bool ours = inet_tcp_fin_sent(st), theirs = inet_tcp_fin_received(st);
	/* CLOSING: ours went first; LAST_ACK: theirs */
	if (ours && st != TCP_LAST_ACK && close_write(sk, id))
		return -1;
	if (theirs && (send_peer_fin(is, id) || wait_state(sk, st == TCP_LAST_ACK ? TCP_CLOSE_WAIT : st, id)))
		return -1;
	if (st == TCP_LAST_ACK && close_write(sk, id))
		return -1;
	/* a read side shut down without the peer's FIN */
	if (!theirs && is->has_shutdown && (is->shutdown & 1) && shutdown(sk, SHUT_RD)) {
		pr_perror("file %u: shutdown(SHUT_RD)", id);
		return -1;
	}
	return 0;
}
