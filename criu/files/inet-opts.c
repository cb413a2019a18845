/*
 * inet-opts.c - the socket options of a TCP or UDP socket that criu keeps:
 * one table of (level, name, which sockets, set before bind), in the order
 * they are set again.  Dump saves
 * an option when getsockopt gives another value than on a new socket of
 * the same family, type and protocol (made in the socket's network
 * namespace, whose sysctls give the defaults; its values read once per
 * kind and namespace in a criu run); restore sets it again.  Buffer
 * sizes are halved on the way back (getsockopt gives twice what
 * setsockopt was given), forced past the sysctl maximum, and left to the
 * kernel's autotuning again unless they were locked (SO_BUF_LOCK); but an
 * established connection's are set as before, clamped and locked (with
 * the forced and unlocked sizes streaming tests stalled now and then).  A classic BPF filter is kept too; an eBPF one
 * (which SO_GET_FILTER cannot give back) is refused.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "criu/files/inet.h"
#include "common/compat.h"
#include "common/log.h"
#include "criu/files/sk-filter.h"

#define ONLY_TCP	1
#define ONLY_V4		2
#define ONLY_V6		4
#define ONLY_RAW	8
#define ONLY_ICMP	16	/* a raw IPv4 ICMP socket */
#define NOT_CONN	32	/* not on a connection (the kernel's own value there) */
#define NOT_STREAM	64	/* multicast: not on TCP */
#define ONLY_UDP	128

/* the largest value kept: an IPv6 extension header ((255 + 1) * 8 bytes) */
#define OPT_MAX		2048
#define TCP_MIN_MSS	88	/* the least TCP_MAXSEG takes (include/net/tcp.h) */

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
	{ SOL_SOCKET, SO_BUF_LOCK, "SO_BUF_LOCK", 0, false },	/* after SO_SNDBUF/RCVBUF, which lock */
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
	{ IPPROTO_IP, IP_LOCAL_PORT_RANGE, "IP_LOCAL_PORT_RANGE", 0, true },
	{ IPPROTO_IPV6, IPV6_FREEBIND, "IPV6_FREEBIND", ONLY_V6, true },
	{ IPPROTO_IPV6, IPV6_TRANSPARENT, "IPV6_TRANSPARENT", ONLY_V6, true },
	{ IPPROTO_IPV6, IPV6_ADDR_PREFERENCES, "IPV6_ADDR_PREFERENCES", ONLY_V6, true },
	{ IPPROTO_IP, IP_UNICAST_IF, "IP_UNICAST_IF", 0, true },
	{ IPPROTO_IPV6, IPV6_UNICAST_IF, "IPV6_UNICAST_IF", ONLY_V6, true },
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
	{ IPPROTO_IP, IP_MULTICAST_LOOP, "IP_MULTICAST_LOOP", ONLY_V4, false },	/* TCP takes it too */
	{ IPPROTO_IPV6, IPV6_RECVPKTINFO, "IPV6_RECVPKTINFO", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RECVTCLASS, "IPV6_RECVTCLASS", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RECVHOPLIMIT, "IPV6_RECVHOPLIMIT", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RECVERR, "IPV6_RECVERR", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_MTU_DISCOVER, "IPV6_MTU_DISCOVER", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_MULTICAST_HOPS, "IPV6_MULTICAST_HOPS", ONLY_V6 | NOT_STREAM, false },
	{ IPPROTO_IPV6, IPV6_MULTICAST_LOOP, "IPV6_MULTICAST_LOOP", ONLY_V6, false },	/* TCP takes it too */
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
	{ IPPROTO_TCP, TCP_QUICKACK, "TCP_QUICKACK", ONLY_TCP, false },
	{ IPPROTO_IP, IP_HDRINCL, "IP_HDRINCL", ONLY_RAW | ONLY_V4, false },
	{ SOL_RAW, ICMP_FILTER, "ICMP_FILTER", ONLY_RAW | ONLY_ICMP, false },
	/* IP options (a buffer of up to 40 bytes) and IPv6 sticky headers */
	{ IPPROTO_IP, IP_OPTIONS, "IP_OPTIONS", ONLY_V4, false },
	{ IPPROTO_IPV6, IPV6_HOPOPTS, "IPV6_HOPOPTS", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RTHDRDSTOPTS, "IPV6_RTHDRDSTOPTS", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RTHDR, "IPV6_RTHDR", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_DSTOPTS, "IPV6_DSTOPTS", ONLY_V6, false },
	/* the rest a getsockopt gives back as it was set */
	{ SOL_SOCKET, SO_PASSCRED, "SO_PASSCRED", 0, false },
	{ SOL_SOCKET, SO_PASSSEC, "SO_PASSSEC", 0, false },
	{ SOL_SOCKET, SO_TIMESTAMPING_OLD, "SO_TIMESTAMPING", 0, false },
	{ SOL_SOCKET, SO_BUSY_POLL, "SO_BUSY_POLL", 0, false },
	{ SOL_SOCKET, SO_PREFER_BUSY_POLL, "SO_PREFER_BUSY_POLL", 0, false },
	{ SOL_SOCKET, SO_BUSY_POLL_BUDGET, "SO_BUSY_POLL_BUDGET", 0, false },
	{ SOL_SOCKET, SO_SELECT_ERR_QUEUE, "SO_SELECT_ERR_QUEUE", 0, false },
	{ SOL_SOCKET, SO_ZEROCOPY, "SO_ZEROCOPY", 0, false },
	{ SOL_SOCKET, SO_TXTIME, "SO_TXTIME", 0, false },
	{ SOL_SOCKET, SO_MAX_PACING_RATE, "SO_MAX_PACING_RATE", 0, false },
	{ SOL_SOCKET, SO_PEEK_OFF, "SO_PEEK_OFF", 0, false },
	{ SOL_SOCKET, SO_WIFI_STATUS, "SO_WIFI_STATUS", 0, false },
	{ SOL_SOCKET, SO_NOFCS, "SO_NOFCS", 0, false },
	{ SOL_SOCKET, SO_RCVMARK, "SO_RCVMARK", 0, false },
	{ SOL_SOCKET, SO_RCVPRIORITY, "SO_RCVPRIORITY", 0, false },
	{ SOL_SOCKET, SO_TXREHASH, "SO_TXREHASH", 0, false },
	{ SOL_SOCKET, SO_INCOMING_CPU, "SO_INCOMING_CPU", 0, false },
	{ IPPROTO_IP, IP_RECVOPTS, "IP_RECVOPTS", 0, false },
	{ IPPROTO_IP, IP_RETOPTS, "IP_RETOPTS", 0, false },
	{ IPPROTO_IP, IP_RECVORIGDSTADDR, "IP_RECVORIGDSTADDR", 0, false },
	{ IPPROTO_IP, IP_PASSSEC, "IP_PASSSEC", 0, false },
	{ IPPROTO_IP, IP_MINTTL, "IP_MINTTL", 0, false },
	{ IPPROTO_IP, IP_NODEFRAG, "IP_NODEFRAG", ONLY_RAW, false },
	{ IPPROTO_IP, IP_CHECKSUM, "IP_CHECKSUM", 0, false },
	{ IPPROTO_IP, IP_RECVFRAGSIZE, "IP_RECVFRAGSIZE", 0, false },
	{ IPPROTO_IP, IP_RECVERR_RFC4884, "IP_RECVERR_RFC4884", 0, false },
	{ IPPROTO_IP, IP_MULTICAST_ALL, "IP_MULTICAST_ALL", 0, false },
	{ IPPROTO_IP, IP_MULTICAST_IF, "IP_MULTICAST_IF", NOT_STREAM, false },
	{ IPPROTO_IPV6, IPV6_MULTICAST_IF, "IPV6_MULTICAST_IF", ONLY_V6 | NOT_STREAM, false },
	{ IPPROTO_IPV6, IPV6_MULTICAST_ALL, "IPV6_MULTICAST_ALL", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, "IPV6_RECVORIGDSTADDR", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RECVRTHDR, "IPV6_RECVRTHDR", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RECVHOPOPTS, "IPV6_RECVHOPOPTS", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RECVDSTOPTS, "IPV6_RECVDSTOPTS", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RECVPATHMTU, "IPV6_RECVPATHMTU", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_2292PKTINFO, "IPV6_2292PKTINFO", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_2292HOPLIMIT, "IPV6_2292HOPLIMIT", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_2292HOPOPTS, "IPV6_2292HOPOPTS", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_2292DSTOPTS, "IPV6_2292DSTOPTS", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_2292RTHDR, "IPV6_2292RTHDR", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_DONTFRAG, "IPV6_DONTFRAG", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, "IPV6_AUTOFLOWLABEL", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_FLOWINFO_SEND, "IPV6_FLOWINFO_SEND", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_FLOWINFO, "IPV6_FLOWINFO", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_MINHOPCOUNT, "IPV6_MINHOPCOUNT", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RECVFRAGSIZE, "IPV6_RECVFRAGSIZE", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_RECVERR_RFC4884, "IPV6_RECVERR_RFC4884", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_ROUTER_ALERT_ISOLATE, "IPV6_ROUTER_ALERT_ISOLATE", ONLY_V6, false },
	{ IPPROTO_IPV6, IPV6_CHECKSUM, "IPV6_CHECKSUM", ONLY_V6 | ONLY_RAW, false },
	{ IPPROTO_ICMPV6, ICMP6_FILTER, "ICMP6_FILTER", ONLY_V6 | ONLY_RAW, false },
	{ IPPROTO_TCP, TCP_CORK, "TCP_CORK", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_SAVE_SYN, "TCP_SAVE_SYN", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_TX_DELAY, "TCP_TX_DELAY", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_INQ, "TCP_INQ", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_FASTOPEN_CONNECT, "TCP_FASTOPEN_CONNECT", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, "TCP_FASTOPEN_NO_COOKIE", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_FASTOPEN_KEY, "TCP_FASTOPEN_KEY", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_RTO_MAX_MS, "TCP_RTO_MAX_MS", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_RTO_MIN_US, "TCP_RTO_MIN_US", ONLY_TCP, false },
	{ IPPROTO_TCP, TCP_DELACK_MAX_US, "TCP_DELACK_MAX_US", ONLY_TCP, false },
	{ IPPROTO_UDP, UDP_CORK, "UDP_CORK", ONLY_UDP, false },
	{ IPPROTO_UDP, UDP_ENCAP, "UDP_ENCAP", ONLY_UDP, false },
	{ IPPROTO_UDP, UDP_NO_CHECK6_TX, "UDP_NO_CHECK6_TX", ONLY_UDP, false },
	{ IPPROTO_UDP, UDP_NO_CHECK6_RX, "UDP_NO_CHECK6_RX", ONLY_UDP, false },
	{ IPPROTO_UDP, UDP_SEGMENT, "UDP_SEGMENT", ONLY_UDP, false },
	{ IPPROTO_UDP, UDP_GRO, "UDP_GRO", ONLY_UDP, false },
	/* last: a locked filter cannot be changed */
	{ SOL_SOCKET, SO_LOCK_FILTER, "SO_LOCK_FILTER", 0, false },
	/* after IP_TOS, which sets the priority too */
	{ SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY", 0, false },
};
#define NR_OPTS (sizeof(opt_table) / sizeof(opt_table[0]))

static bool applies(const struct opt_desc *od, const InetSocket *is)
{
	if ((od->only & ONLY_TCP) && (is->protocol != IPPROTO_TCP || is->type != SOCK_STREAM))
		return false;
	if ((od->only & ONLY_UDP) && is->protocol != IPPROTO_UDP)
		return false;
	if ((od->only & ONLY_RAW) && is->type != SOCK_RAW)
		return false;
	if ((od->only & ONLY_ICMP) && (is->family != AF_INET || is->protocol != IPPROTO_ICMP))
		return false;
	if ((od->only & ONLY_V4) && is->family != AF_INET)
		return false;
	if ((od->only & NOT_CONN) && is->type == SOCK_STREAM && inet_tcp_state_ok(is->state))
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


/* what getsockopt gives on a new socket of one kind in one network
 * namespace, for every row: read once per criu run (sockets of a tree are
 * mostly of a few kinds) */
struct kind_defaults {
	unsigned long ns;
	int family, type, protocol;
	struct {
		int err;	/* errno, or 0 */
		socklen_t len;
		uint8_t *val;
	} o[NR_OPTS];
};

static struct kind_defaults **defaults;
static size_t nr_defaults;

struct fresh_args {
	const InetSocket *is;
	int fd;
};

static int make_fresh(void *p)
{
	struct fresh_args *a = p;
	a->fd = socket(a->is->family, a->is->type | SOCK_CLOEXEC, a->is->protocol);
	return 0;
}

static int read_defaults(struct kind_defaults *k, int fresh)
{
	static char f[OPT_MAX];
	for (size_t i = 0; i < NR_OPTS; i++) {
		socklen_t fl = sizeof(f);
		memset(f, 0, sizeof(f));
		if (getsockopt(fresh, opt_table[i].level, opt_table[i].name, f, &fl)) {
			k->o[i].err = errno;
			continue;
		}
		k->o[i].len = fl;
		k->o[i].val = malloc(fl ? fl : 1);
		if (!k->o[i].val)
			return -1;
		memcpy(k->o[i].val, f, fl);
	}
	return 0;
}

/* the defaults of sk's kind, made (in sk's network namespace: its
 * sysctls give them) the first time */
static const struct kind_defaults *kind_defaults(const char *what, int sk, const InetSocket *is)
{
	struct stat st;
	int ns = inet_sk_netns(sk);
	unsigned long ino = ns >= 0 ? (fstat(ns, &st) ? 0 : st.st_ino)
				    : (stat("/proc/thread-self/ns/net", &st) ? 0 : st.st_ino);
	for (size_t i = 0; i < nr_defaults; i++) {
		struct kind_defaults *k = defaults[i];
		if (k->ns == ino && k->family == (int)is->family && k->type == (int)is->type &&
		    k->protocol == (int)is->protocol) {
			if (ns >= 0)
				close(ns);
			return k;
		}
	}
	struct fresh_args fa = { is, -1 };
	inet_in_netns(ns, make_fresh, &fa);
	if (ns >= 0)
		close(ns);
	struct kind_defaults *k = calloc(1, sizeof(*k)), **n = realloc(defaults, (nr_defaults + 1) * sizeof(*n));
	if (n)
		defaults = n;
	if (fa.fd < 0 || !k || !n || read_defaults(k, fa.fd)) {
		pr_perror("%s: cannot make a socket to compare options with", what);
		if (fa.fd >= 0)
			close(fa.fd);
		free(k);	/* (a partly read one leaks its values: criu exits) */
		return NULL;
	}
	close(fa.fd);
	k->ns = ino, k->family = is->family, k->type = is->type, k->protocol = is->protocol;
	defaults[nr_defaults++] = k;
	return k;
}

/* one option (row i): saved if it differs from the new socket's */
static int dump_one(const char *what, int sk, const struct kind_defaults *k, size_t i, InetSocket *is)
{
	const struct opt_desc *od = &opt_table[i];
	static char v[OPT_MAX];
	socklen_t vl = sizeof(v);
	memset(v, 0, sizeof(v));
	int rv = getsockopt(sk, od->level, od->name, v, &vl), ev = errno;
	if (rv && k->o[i].err == ev)
		return 0;	/* not an option of this kind of socket (nor kernel): it cannot be set either */
	if (rv) {
		errno = ev;
		pr_perror("%s: getsockopt %s", what, od->label);
		return -1;
	}
	if (od->level == IPPROTO_TCP && od->name == TCP_MAXSEG && vl == sizeof(int) &&
	    *(int *)v < TCP_MIN_MSS)
		return 0;	/* the kernel's own from IP options, no value one can set */
	if (k->o[i].err || vl != k->o[i].len || memcmp(v, k->o[i].val, vl))
		return add_opt(is, od, v, vl);
	return 0;
}

int inet_opts_dump(const char *what, int sk, InetSocket *is)
{
	if (sk_filter_dump(what, sk, &is->filter, &is->has_filter, NULL))
		return -1;
	const struct kind_defaults *k = kind_defaults(what, sk, is);
	if (!k)
		return -1;
	int ret = 0;
	for (size_t i = 0; i < NR_OPTS && !ret; i++)
		if (applies(&opt_table[i], is))
			ret = dump_one(what, sk, k, i, is);
	return ret;
}

static const struct opt_desc *find_desc(const InetOpt *o)
{
	for (size_t i = 0; i < NR_OPTS; i++)
		if (opt_table[i].level == (int)o->level && opt_table[i].name == (int)o->name)
			return &opt_table[i];
	return NULL;
}

static bool is_buf(const InetOpt *o)
{
	return o->level == SOL_SOCKET && (o->name == SO_SNDBUF || o->name == SO_RCVBUF) &&
	       o->value.len == sizeof(int);
}

/* a buffer size: half what getsockopt gave, forced past net.core.[rw]mem_max
 * (the kernel's autotuning goes past it) when criu may */
static int set_buf(int sk, const InetOpt *o)
{
	int half;
	memcpy(&half, o->value.data, sizeof(half));
	half /= 2;
	int force = o->name == SO_SNDBUF ? SO_SNDBUFFORCE : SO_RCVBUFFORCE;
	if (!setsockopt(sk, SOL_SOCKET, force, &half, sizeof(half)))
		return 0;
	return errno == EPERM ? setsockopt(sk, SOL_SOCKET, o->name, &half, sizeof(half)) : -1;
}

static int set_one(int sk, const InetSocket *is, const InetOpt *o, const struct opt_desc *od, uint32_t id)
{
	/* a connection's sizes as before (clamped, locked): see Documentation/network.md */
	int half = 0;
	if (is_buf(o) && is->tcp) {
		memcpy(&half, o->value.data, sizeof(half));
		half /= 2;
	}
	int r = is_buf(o) ? (is->tcp ? setsockopt(sk, SOL_SOCKET, o->name, &half, sizeof(half)) : set_buf(sk, o))
			  : setsockopt(sk, o->level, o->name, o->value.data, o->value.len);
	if (r)
		pr_perror("file %u: cannot set %s again", id, od->label);
	return r;
}

/* setting a buffer size locks it against the kernel's autotuning: unlocked
 * again when it was not locked (SO_BUF_LOCK saved only when it was) */
static int unlock_bufs(int sk, const InetSocket *is, uint32_t id)
{
	bool bufs = false;
	for (size_t i = 0; i < is->n_opts; i++) {
		if (is->opts[i]->level == SOL_SOCKET && is->opts[i]->name == SO_BUF_LOCK)
			return 0;
		bufs |= is_buf(is->opts[i]);
	}
	int zero = 0;
	if (bufs && setsockopt(sk, SOL_SOCKET, SO_BUF_LOCK, &zero, sizeof(zero))) {
		pr_perror("file %u: cannot leave the buffer sizes to the kernel again (SO_BUF_LOCK)", id);
		return -1;
	}
	return 0;
}

int inet_opts_restore(int sk, const InetSocket *is, bool before_bind, uint32_t id)
{
	/* (its lock is a row of the option table, set after the filter) */
	if (before_bind && sk_filter_restore(id, sk, &is->filter, is->has_filter, false))
		return -1;
	for (size_t i = 0; i < is->n_opts; i++) {
		const InetOpt *o = is->opts[i];
		const struct opt_desc *od = find_desc(o);
		if (!od || o->value.len > OPT_MAX) {
			pr_err("file %u: socket option %u/%u is not one criu restores", id, o->level, o->name);
			return -1;
		}
		if (od->before_bind == before_bind && set_one(sk, is, o, od, id))
			return -1;
	}
	return before_bind || is->tcp ? 0 : unlock_bufs(sk, is, id);
}
