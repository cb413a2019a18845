/*
 * inet-opts.c - the socket options of a TCP or UDP socket that criu keeps:
 * one table of (level, name, which sockets, set before bind), in the order
 * they are set again.  Dump saves
 * an option when getsockopt gives another value than on a new socket of
 * the same family, type and protocol; restore sets it again.  Buffer
 * sizes are halved on the way back (getsockopt gives twice what
 * setsockopt was given).  A classic BPF filter is kept too; an eBPF one
 * (which SO_GET_FILTER cannot give back) is refused.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <linux/icmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu/files/inet.h"
#include "common/log.h"

#define ONLY_TCP	1
#define ONLY_V4		2
#define ONLY_V6		4
#define ONLY_RAW	8
#define ONLY_ICMP	16	/* a raw IPv4 ICMP socket */
#define NOT_CONN	32	/* not on a connection (the kernel's own value there) */
#define NOT_STREAM	64	/* multicast: not on TCP */

struct opt_desc {
	int level, name;
	const char *label;
	unsigned only;
	bool before_bind;
};

static const struct opt_desc opt_table[] = {
	{ SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 0, true },
	{ SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", 0, true },
	{ SOL_SOCKET, SO_BINDTODEVICE, "SO_BINDTODEVICE", 0, true },
	{ SOL_SOCKET, SO_MARK, "SO_MARK", 0, true },
	{ SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 0, false },
	{ SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", 0, true },
	{ SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", 0, true },
	{ SOL_SOCKET, SO_LINGER, "SO_LINGER", 0, false },
	{ SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", 0, false },
	{ SOL_SOCKET, SO_OOBINLINE, "SO_OOBINLINE", 0, false },
	{ SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT", 0, false },
	{ IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", ONLY_V6, true },
	{ IPPROTO_IP, IP_FREEBIND, "IP_FREEBIND", 0, true },
	{ IPPROTO_IP, IP_TRANSPARENT, "IP_TRANSPARENT", 0, true },
	{ IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, "IP_BIND_ADDRESS_NO_PORT", 0, true },
	{ SOL_SOCKET, SO_RCVTIMEO_OLD, "SO_RCVTIMEO", 0, false },
	{ SOL_SOCKET, SO_SNDTIMEO_OLD, "SO_SNDTIMEO", 0, false },
	{ SOL_SOCKET, SO_TIMESTAMP_OLD, "SO_TIMESTAMP", 0, false },
	{ SOL_SOCKET, SO_TIMESTAMPNS_OLD, "SO_TIMESTAMPNS", 0, false },
	{ SOL_SOCKET, SO_DONTROUTE, "SO_DONTROUTE", 0, false },
	{ SOL_SOCKET, SO_RXQ_OVFL, "SO_RXQ_OVFL", 0, false },
	{ IPPROTO_IP, IP_PKTINFO, "IP_PKTINFO", 0, false },
	{ IPPROTO_IP, IP_RECVTOS, "IP_RECVTOS", 0, false },
	{ IPPROTO_IP, IP_RECVTTL, "IP_RECVTTL", 0, false },
	{ IPPROTO_IP, IP_RECVERR, "IP_RECVERR", 0, false },
	{ IPPROTO_IP, IP_MTU_DISCOVER, "IP_MTU_DISCOVER", ONLY_V4, false },
	{ IPPROTO_IP, IP_MULTICAST_TTL, "IP_MULTICAST_TTL", ONLY_V4 | NOT_STREAM, false },
	{ IPPROTO_IP, IP_MULTICAST_LOOP, "IP_MULTICAST_LOOP", ONLY_V4 | NOT_STREAM, false },
	{ IPPROTO_IPV6, IPV6_RECVPKTINFO, "IPV6_RECVPKTINFO", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RECVTCLASS, "IPV6_RECVTCLASS", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RECVHOPLIMIT, "IPV6_RECVHOPLIMIT", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RECVERR, "IPV6_RECVERR", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_MTU_DISCOVER, "IPV6_MTU_DISCOVER", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_MULTICAST_HOPS, "IPV6_MULTICAST_HOPS", ONLY_V6 | NOT_STREAM, false },
	{ IPPROTO_IPV6, IPV6_MULTICAST_LOOP, "IPV6_MULTICAST_LOOP", ONLY_V6 | NOT_STREAM, false },
	{ IPPROTO_IP, IP_TOS, "IP_TOS", ONLY_V4, false },
	{ IPPROTO_IP, IP_TTL, "IP_TTL", ONLY_V4, false },
	{ IPPROTO_IPV6, IPV6_TCLASS, "IPV6_TCLASS", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS", ONLY_V6, false },
	{ IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_CONGESTION, "TCP_CONGESTION", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG", ONLY_TCP | NOT_CONN, false },
	{ IPPROTO_TCP, TCP_WINDOW_CLAMP, "TCP_WINDOW_CLAMP", ONLY_TCP | NOT_CONN, false },
	{ IPPROTO_TCP, TCP_DEFER_ACCEPT, "TCP_DEFER_ACCEPT", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_FASTOPEN, "TCP_FASTOPEN", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_NOTSENT_LOWAT, "TCP_NOTSENT_LOWAT", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_LINGER2, "TCP_LINGER2", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_SYNCNT, "TCP_SYNCNT", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, "TCP_THIN_LINEAR_TIMEOUTS", ONLY_TCP, false },
	{ IPPROTO_IP, IP_HDRINCL, "IP_HDRINCL", ONLY_RAW | ONLY_V4, false },
	{ SOL_RAW, ICMP_FILTER, "ICMP_FILTER", ONLY_RAW | ONLY_ICMP, false },
	/* after IP_TOS, which sets the priority too */
	{ SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY", 0, false },
};
#define NR_OPTS (sizeof(opt_table) / sizeof(opt_table[0]))

static bool applies(const struct opt_desc *od, const InetSocket *is)
{
	if ((od->only & ONLY_TCP) && (is->protocol != IPPROTO_TCP || is->type != SOCK_STREAM))
		return false;
	if ((od->only & ONLY_RAW) && is->type != SOCK_RAW)
		return false;
	if ((od->only & ONLY_ICMP) && (is->family != AF_INET || is->protocol != IPPROTO_ICMP))
		return false;
	if ((od->only & ONLY_V4) && is->family != AF_INET)
		return false;
	if ((od->only & NOT_CONN) && is->state == TCP_ESTABLISHED)
		return false;
	if ((od->only & NOT_STREAM) && is->type == SOCK_STREAM)
		return false;
	return !(od->only & ONLY_V6) || is->family == AF_INET6;
}

static int add_opt(InetSocket *is, const struct opt_desc *od, const void *val, socklen_t len)
{
	InetOpt **n = realloc(is->opts, (is->n_opts + 1) * sizeof(*n));
	if (!n)
		return -1;
	is->opts = n;
	InetOpt *o = malloc(sizeof(*o));
	if (!o)
		return -1;
	inet_opt__init(o);
	o->level = od->level;
	o->name = od->name;
	o->value.data = malloc(len ? len : 1);
	if (!o->value.data) {
		free(o);
		return -1;
	}
	memcpy(o->value.data, val, len);
	o->value.len = len;
	is->opts[is->n_opts++] = o;
	return 0;
}

/* a classic BPF filter attached to the socket; an eBPF one is refused */
static int dump_filter(const char *what, int sk, InetSocket *is)
{
	socklen_t n = 0;
	if (getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, NULL, &n)) {
		pr_err("%s: a socket filter criu cannot read (eBPF?): not supported", what);
		return -1;
	}
	if (!n)
		return 0;
	is->filter.len = n * sizeof(struct sock_filter);
	is->filter.data = malloc(is->filter.len);
	if (!is->filter.data || getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, is->filter.data, &n)) {
		pr_perror("%s: SO_GET_FILTER", what);
		return -1;
	}
	is->has_filter = true;
	return 0;
}

int inet_opts_dump(const char *what, int sk, InetSocket *is)
{
	if (dump_filter(what, sk, is))
		return -1;
	int fresh = socket(is->family, is->type | SOCK_CLOEXEC, is->protocol);
	if (fresh < 0) {
		pr_perror("%s: cannot make a socket to compare options with", what);
		return -1;
	}
	int ret = 0;
	for (size_t i = 0; i < NR_OPTS && !ret; i++) {
		const struct opt_desc *od = &opt_table[i];
		char v[64] = { 0 }, f[64] = { 0 };
		socklen_t vl = sizeof(v), fl = sizeof(f);
		if (!applies(od, is))
			continue;
		if (getsockopt(sk, od->level, od->name, v, &vl)) {
			/* not an option of this kind of socket (IP_* on raw IPv6): it cannot be set either */
			if (errno == ENOPROTOOPT || errno == EOPNOTSUPP)
				continue;
			pr_perror("%s: getsockopt %s", what, od->label);
			ret = -1;
		} else if (getsockopt(fresh, od->level, od->name, f, &fl) || vl != fl || memcmp(v, f, vl)) {
			ret = add_opt(is, od, v, vl);
		}
	}
	close(fresh);
	return ret;
}

static const struct opt_desc *find_desc(const InetOpt *o)
{
	for (size_t i = 0; i < NR_OPTS; i++)
		if (opt_table[i].level == (int)o->level && opt_table[i].name == (int)o->name)
			return &opt_table[i];
	return NULL;
}

int inet_opts_restore(int sk, const InetSocket *is, bool before_bind, uint32_t id)
{
	struct sock_fprog prog = { is->filter.len / sizeof(struct sock_filter), (struct sock_filter *)is->filter.data };
	if (before_bind && is->has_filter &&
	    (is->filter.len % sizeof(struct sock_filter) || setsockopt(sk, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))) {
		pr_perror("file %u: cannot attach the socket's filter again", id);
		return -1;
	}
	for (size_t i = 0; i < is->n_opts; i++) {
		const InetOpt *o = is->opts[i];
		const struct opt_desc *od = find_desc(o);
		if (!od || o->value.len > 64) {
			pr_err("file %u: socket option %u/%u is not one criu restores", id, o->level, o->name);
			return -1;
		}
		if (od->before_bind != before_bind)
			continue;
		int half;
		const void *val = o->value.data;
		if ((o->name == SO_SNDBUF || o->name == SO_RCVBUF) && o->level == SOL_SOCKET &&
		    o->value.len == sizeof(int)) {
			memcpy(&half, val, sizeof(half));
			half /= 2;
			val = &half;
		}
		if (setsockopt(sk, o->level, o->name, val, o->value.len)) {
			pr_perror("file %u: cannot set %s again", id, od->label);
			return -1;
		}
	}
	return 0;
}
