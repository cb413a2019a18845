/*
 * inet.c - TCP and UDP sockets over IPv4 and IPv6 (FD_INETSK), the fd_ops
 * entry of the kind.
 *
 * Raw sockets (RAW, RAWv6) too: protocol, bound and peer address,
 * options; refused with packets queued.
 *
 * Dump, through a copy of the fd (pidfd_getfd, nothing consumed): family,
 * type, protocol, the bound and peer addresses (getsockname/getpeername),
 * the state, shutdown bits and accept queue as inet_diag lists them
 * (inet-diag.c), the socket options that differ from a new socket's
 * (inet-opts.c), UDP's queued datagrams (inet-udp.c), the multicast
 * groups of UDP and raw sockets (inet-mcast.c), an established TCP
 * connection with --tcp-established (inet-tcp.c).  Refused, one line
 * naming the process, the fd and the socket: a listening socket with
 * connections not yet accepted, an established or half-closed connection
 * without --tcp-established or --tcp-close, other TCP states (connecting),
 * urgent data, MD5 keys (as inet_diag shows them: an
 * unbound socket's are not), an upper layer protocol (kTLS).
 *
 * Restore, in the new process: a new socket, options set before bind
 * (SO_REUSEADDR, SO_BINDTODEVICE, IPV6_V6ONLY...), bound again to its
 * address and port (a TCP socket with SO_REUSEADDR for the moment: a
 * connection accepted from a listener may be back on its port already), then listening, or a UDP socket's datagrams queued
 * and it connected, or the TCP connection rebuilt in repair mode (left
 * once every fd is in place: post), then the other options.  This module owns no network lock (criu/net/).
 */
#define LOG_PREFIX "files: "
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "criu/files/inet.h"
#include "criu/files/sk-error.h"
#include "common/log.h"

static bool inetsk_match(const struct fd_probe *p)
{
	static const char *const names[] = { "TCP", "TCPv6", "UDP", "UDPv6", "RAW", "RAWv6" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(p->sk_proto, names[i]))
			return true;
	return false;
}

int inet_addr_make(int family, const ProtobufCBinaryData *addr, uint32_t port, struct inet_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET && addr->len == 4) {
		struct sockaddr_in *s = (struct sockaddr_in *)&a->ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		memcpy(&s->sin_addr, addr->data, 4);
		a->len = sizeof(*s);
		return 0;
	}
	if (family == AF_INET6 && addr->len == 16) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a->ss;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		memcpy(&s->sin6_addr, addr->data, 16);
		a->len = sizeof(*s);
		return 0;
	}
	return -1;
}

int inet_addr_split(const struct sockaddr_storage *ss, ProtobufCBinaryData *addr, uint32_t *port)
{
	const void *src = NULL;
	size_t len = 0;
	if (ss->ss_family == AF_INET) {
		src = &((const struct sockaddr_in *)ss)->sin_addr;
		len = 4;
		*port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		src = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		len = 16;
		*port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	} else {
		return -1;
	}
	addr->data = malloc(len);
	if (!addr->data)
		return -1;
	memcpy(addr->data, src, len);
	addr->len = len;
	return 0;
}

/* "1.2.3.4:80", "[::1]:80" */
static const char *fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s->sin6_port));
	} else {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s->sin_port));
	}
	return buf;
}

static const char *tcp_state_name(unsigned st)
{
	static const char *const n[] = { "?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
		"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING" };
	return st < sizeof(n) / sizeof(n[0]) ? n[st] : "?";
}

/* the state and queue lengths from inet_diag; an unbound socket is not listed */
static int sk_diag(int sk, const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
		   const InetSocket *is, struct inet_diag_info *di)
{
	char dev[IFNAMSIZ + 1] = "";
	socklen_t dl = sizeof(dev) - 1;
	uint32_t ifindex = 0;
	if (!getsockopt(sk, SOL_SOCKET, SO_BINDTODEVICE, dev, &dl) && dl > 0 && dev[0])
		ifindex = if_nametoindex(dev);
	int ns = inet_sk_netns(sk);
	int r = inet_diag_one(ns, is->family, is->protocol, src, dst, ifindex, is->ino, di);
	if (ns >= 0)
		close(ns);
	if (r != -ENOENT)
		return r;
	/* not in the kernel's tables: neither bound nor connected */
	memset(di, 0, sizeof(*di));
	di->state = TCP_CLOSE;
	return 0;
}

/* what criu cannot read back: MD5 keys, an upper layer protocol (kTLS) */
static int tcp_refused(const char *what, int sk, const struct inet_diag_info *di, const char *conn)
{
	char ulp[32] = "";
	socklen_t ul = sizeof(ulp) - 1;
	if (di->md5) {
		pr_err("%s: TCP socket %s has MD5 signature keys (TCP_MD5SIG): not supported", what, conn);
		return -1;
	}
	if (!getsockopt(sk, IPPROTO_TCP, TCP_ULP, ulp, &ul) && ulp[0]) {
		pr_err("%s: TCP socket %s runs the upper layer protocol \"%s\" (TCP_ULP): not supported",
		       what, conn, ulp);
		return -1;
	}
	return 0;
}

static int dump_tcp_state(const struct fd_dump *d, const char *what, int sk, InetSocket *is,
			  const struct inet_diag_info *di, const char *conn)
{
	if (tcp_refused(what, sk, di, conn))
		return -1;
	switch (is->state) {
	case TCP_CLOSE:
		return 0;
	case TCP_LISTEN:
		if (di->rqueue) {
			pr_err("%s: TCP socket listening on %s has %u connections not yet accepted: not supported",
			       what, conn, di->rqueue);
			return -1;
		}
		is->has_backlog = true;
		is->backlog = di->wqueue;
		return 0;
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSE_WAIT:
	case TCP_LAST_ACK:
	case TCP_CLOSING:
		if (d->o && d->o->tcp_close) {
			is->has_closed = is->closed = true;
			return 0;
		}
		if (!d->o || !d->o->tcp_established) {
			pr_err("%s: TCP connection %s is %s: dump with --tcp-established to keep it (or --tcp-close to restore it closed)",
			       what, conn, is->state == TCP_ESTABLISHED ? "established" : tcp_state_name(is->state));
			return -1;
		}
		char w[256];
		snprintf(w, sizeof(w), "%s: TCP connection %s", what, conn);
		return inet_tcp_dump(w, sk, is);
	default:
		pr_err("%s: TCP socket %s is in state %s: not supported (listening, closed, established and half-closed are)",
		       what, conn, tcp_state_name(is->state));
		return -1;
	}
}

/* a raw socket: its addresses (done), options; refused with packets queued */
static int dump_raw(const struct fd_dump *d, const char *what, int sk, InetSocket *is, const char *conn)
{
	uint8_t state, dst[16];
	char c;
	/* getpeername knows no peer of a raw socket: raw_diag does */
	int ns = inet_sk_netns(sk);
	int r = inet_diag_raw(ns, is->family, is->protocol, is->ino, &state, dst);
	if (ns >= 0)
		close(ns);
	if (r) {
		if (r == -ENOENT)
			pr_err("%s: raw socket (protocol %u) %s not listed by raw_diag", what, is->protocol, conn);
		return -1;
	}
	is->state = state == TCP_ESTABLISHED ? TCP_ESTABLISHED : TCP_CLOSE;
	if (is->state == TCP_ESTABLISHED) {
		size_t len = is->family == AF_INET ? 4 : 16;
		free(is->dst_addr.data);
		is->dst_addr.data = malloc(len);
		if (!is->dst_addr.data)
			return -1;
		memcpy(is->dst_addr.data, dst, len);
		is->dst_addr.len = len;
		is->has_dst_addr = is->has_dst_port = true;
		is->dst_port = 0;
	}
	if (recv(sk, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		pr_err("%s: raw socket (protocol %u) %s has packets not yet read: not supported", what,
		       is->protocol, conn);
		return -1;
	}
	return inet_opts_dump(what, sk, is) || inet_mcast_dump(what, d->pid, sk, is) ? -1 : 0;
}

static int dump_sk(struct fd_dump *d, const char *what, int sk, InetSocket *is)
{
	struct sockaddr_storage src = { 0 }, dst = { 0 };
	socklen_t sl = sizeof(src), dl = sizeof(dst);
	struct inet_diag_info di;
	char a[80], b[80], conn[170];
	int v[3];
	socklen_t vl = sizeof(int);

	if (getsockopt(sk, SOL_SOCKET, SO_DOMAIN, &v[0], &vl) ||
	    getsockopt(sk, SOL_SOCKET, SO_TYPE, &v[1], &vl) ||
	    getsockopt(sk, SOL_SOCKET, SO_PROTOCOL, &v[2], &vl) || getsockname(sk, (void *)&src, &sl)) {
		pr_perror("%s: cannot read the socket's family, type and address", what);
		return -1;
	}
	is->family = v[0];
	is->type = v[1];
	is->protocol = v[2];
	if (getpeername(sk, (void *)&dst, &dl) && errno != ENOTCONN) {
		pr_perror("%s: getpeername", what);
		return -1;
	}
	if (inet_addr_split(&src, &is->src_addr, &is->src_port))
		return -1;
	is->has_src_addr = is->has_src_port = true;
	if (src.ss_family == AF_INET6) {
		is->has_flowinfo = is->has_scope_id = true;
		is->flowinfo = ((struct sockaddr_in6 *)&src)->sin6_flowinfo;
		is->scope_id = ((struct sockaddr_in6 *)&src)->sin6_scope_id;
	}
	if (dst.ss_family) {
		if (inet_addr_split(&dst, &is->dst_addr, &is->dst_port))
			return -1;
		is->has_dst_addr = is->has_dst_port = true;
	}
	snprintf(conn, sizeof(conn), "%s%s%s", fmt_addr(&src, a, sizeof(a)), dst.ss_family ? " -> " : "",
		 dst.ss_family ? fmt_addr(&dst, b, sizeof(b)) : "");
	char kind[200];
	snprintf(kind, sizeof(kind), "%s socket %s", is->type == SOCK_RAW ? "raw" :
		 is->protocol == IPPROTO_UDP ? "UDP" : "TCP", conn);
	if (sk_refuse_error(what, sk, kind))
		return -1;
	if (is->type == SOCK_RAW)
		return dump_raw(d, what, sk, is, conn);
	if (sk_diag(sk, &src, &dst, is, &di))
		return -1;
	is->state = di.state;
	if (di.shutdown) {
		is->has_shutdown = true;
		is->shutdown = di.shutdown;
	}
	if (inet_opts_dump(what, sk, is))
		return -1;
	if (is->protocol == IPPROTO_UDP)
		return inet_udp_dump(what, sk, is) || inet_mcast_dump(what, d->pid, sk, is) ? -1 : 0;
	return dump_tcp_state(d, what, sk, is, &di, conn);
}

static int inetsk_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	char what[64];
	InetSocket *is = calloc(1, sizeof(*is));
	if (!is)
		return -1;
	inet_socket__init(is);
	fe->inet_sk = is;
	is->ino = p->st.st_ino;
	snprintf(what, sizeof(what), "pid %d: fd %d", d->pid, p->fd);
	int sk = fd_dump_getfd(d, p->fd);
	if (sk < 0)
		return -1;
	int ret = dump_sk(d, what, sk, is);
	close(sk);
	return ret;
}

static int inetsk_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	(void)o;
	const InetSocket *is = fe->inet_sk;
	size_t alen = is && is->family == AF_INET6 ? 16 : 4;
	if (!is || (is->family != AF_INET && is->family != AF_INET6) ||
	    !((is->type == SOCK_STREAM && is->protocol == IPPROTO_TCP) ||
	      (is->type == SOCK_DGRAM && is->protocol == IPPROTO_UDP) ||
	      (is->type == SOCK_RAW && is->protocol < 256 && !is->tcp && !is->n_queue)) ||
	    !is->has_src_addr || is->src_addr.len != alen || is->src_port > 65535 ||
	    (is->has_dst_addr && (is->dst_addr.len != alen || is->dst_port > 65535)) ||
	    is->n_sender != is->n_queue || inet_mcast_check(is)) {
		pr_err("%s: file %u: bad inet socket description", name, fe->id);
		return -1;
	}
	if (is->tcp && (!inet_tcp_state_ok(is->state) || !is->has_dst_addr || is->tcp->unsent >
			(is->tcp->sndq.len))) {
		pr_err("%s: file %u: bad TCP connection description", name, fe->id);
		return -1;
	}
	return 0;
}

static int sk_bind(int sk, const InetSocket *is, uint32_t id)
{
	struct inet_addr a;
	if (inet_addr_make(is->family, &is->src_addr, is->src_port, &a))
		return -1;
	if (is->family == AF_INET6) {
		((struct sockaddr_in6 *)&a.ss)->sin6_flowinfo = is->flowinfo;
		((struct sockaddr_in6 *)&a.ss)->sin6_scope_id = is->scope_id;
	}
	if (bind(sk, (struct sockaddr *)&a.ss, a.len)) {
		char buf[80];
		pr_perror("file %u: cannot bind a socket to %s again", id, fmt_addr(&a.ss, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

static int sk_connect(int sk, const InetSocket *is, uint32_t id)
{
	struct inet_addr a;
	if (inet_addr_make(is->family, &is->dst_addr, is->dst_port, &a))
		return -1;
	if (connect(sk, (struct sockaddr *)&a.ss, a.len)) {
		char buf[80];
		pr_perror("file %u: cannot connect a socket to %s again", id,
			  fmt_addr(&a.ss, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

static bool has_opt(const InetSocket *is, uint32_t level, uint32_t name)
{
	for (size_t i = 0; i < is->n_opts; i++)
		if (is->opts[i]->level == level && is->opts[i]->name == name)
			return true;
	return false;
}

static int set_reuse(int sk, int v, uint32_t id)
{
	if (setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v))) {
		pr_perror("file %u: SO_REUSEADDR", id);
		return -1;
	}
	return 0;
}

/* everything but the options set before bind and those set after */
static bool any_addr(const ProtobufCBinaryData *a)
{
	for (size_t i = 0; i < a->len; i++)
		if (a->data[i])
			return false;
	return true;
}

/* a raw socket's "port" is its protocol: bound and connected by address only */
static int restore_raw(int sk, const InetSocket *is, uint32_t id)
{
	InetSocket b = *is;
	b.src_port = b.dst_port = 0;
	if (!any_addr(&is->src_addr) && sk_bind(sk, &b, id))
		return -1;
	return is->has_dst_addr ? sk_connect(sk, &b, id) : 0;
}

static int restore_sk(int sk, const InetSocket *is, uint32_t id)
{
	if (is->type == SOCK_RAW)
		return restore_raw(sk, is, id);
	if (is->tcp)
		return inet_tcp_restore(sk, is, id);
	/* --tcp-close: the connection's socket, never connected again */
	if (is->closed)
		return 0;
	/* a connection accepted from it may be restored first, on its port */
	bool reuse = is->protocol == IPPROTO_TCP && is->src_port && !has_opt(is, SOL_SOCKET, SO_REUSEADDR);
	if (reuse && set_reuse(sk, 1, id))
		return -1;
	if (is->src_port && sk_bind(sk, is, id))
		return -1;
	if (is->protocol == IPPROTO_UDP) {
		if (inet_udp_restore(sk, is, id))
			return -1;
		if (is->has_dst_addr && is->dst_port && sk_connect(sk, is, id))
			return -1;
		if (is->shutdown && shutdown(sk, is->shutdown == 3 ? SHUT_RDWR : is->shutdown - 1)) {
			pr_perror("file %u: shutdown", id);
			return -1;
		}
		return 0;
	}
	if (is->state == TCP_LISTEN && listen(sk, is->backlog)) {
		pr_perror("file %u: cannot listen again", id);
		return -1;
	}
	return reuse ? set_reuse(sk, 0, id) : 0;
}

static int inetsk_open(struct fd_rst *r, const FileEntry *fe)
{
	(void)r;
	const InetSocket *is = fe->inet_sk;
	int sk = socket(is->family, is->type | SOCK_CLOEXEC, is->protocol);
	if (sk < 0) {
		pr_perror("file %u: cannot create a socket", fe->id);
		return -1;
	}
	if (inet_opts_restore(sk, is, true, fe->id) || restore_sk(sk, is, fe->id) ||
	    inet_mcast_restore(sk, is, fe->id) || inet_opts_restore(sk, is, false, fe->id)) {
		close(sk);
		return -1;
	}
	return sk;
}

static int inetsk_post(struct fd_rst *r, const FileEntry *fe, int fd)
{
	(void)r;
	return fe->inet_sk->tcp ? inet_tcp_finish(fd, fe->inet_sk, fe->id) : 0;
}

const struct fd_ops fd_inetsk_ops = {
	.kind = FD_KIND__FD_INETSK,
	.name = "inet socket",
	.match = inetsk_match,
	.dump = inetsk_dump,
	.check = inetsk_check,
	.open = inetsk_open,
	.post = inetsk_post,
};
