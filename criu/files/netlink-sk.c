/*
 * netlink-sk.c - netlink sockets (FD_NETLINKSK): route, sock_diag,
 * generic, uevent and any other protocol.
 *
 * Dump, through a copy of the fd: type and protocol (SO_TYPE,
 * SO_PROTOCOL), the bound port id and every multicast group
 * (getsockname, NETLINK_LIST_MEMBERSHIPS), the peer it is connected to
 * (getpeername), and the buffer sizes and flags that differ from a new
 * socket's (SO_RCVBUF, SO_SNDBUF, NETLINK_PKTINFO, NETLINK_NO_ENOBUFS,
 * NETLINK_BROADCAST_ERROR, NETLINK_CAP_ACK, NETLINK_EXT_ACK,
 * NETLINK_GET_STRICT_CHK).  Refused: messages queued, not yet read (the
 * kernel's answers and events cannot be queued again).
 *
 * Restore: a new socket bound to the same port id (a port id the kernel
 * chose is the process's pid, or a negative number: either is free again
 * when the process is restored) and groups, connected again, its options
 * set.  The packet and raw socket kinds refuse in packet-raw-sk.c.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "criu/files/sk-error.h"
#include "common/log.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

static const int nl_flags[] = { NETLINK_PKTINFO, NETLINK_NO_ENOBUFS, NETLINK_BROADCAST_ERROR,
				NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK };
#define NR_FLAGS (sizeof(nl_flags) / sizeof(nl_flags[0]))

static bool netlinksk_match(const struct fd_probe *p)
{
	return !strcmp(p->sk_proto, "NETLINK");
}

static int geti(int sk, int level, int name, uint32_t *v)
{
	int x = 0;
	socklen_t l = sizeof(x);
	if (getsockopt(sk, level, name, &x, &l))
		return -1;
	*v = x;
	return 0;
}

static int dump_groups(const char *what, int sk, NetlinkSocket *n)
{
	uint32_t g[64] = { 0 };
	socklen_t l = sizeof(g);
	if (getsockopt(sk, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, g, &l)) {
		pr_perror("%s: NETLINK_LIST_MEMBERSHIPS", what);
		return -1;
	}
	if (l > sizeof(g)) {
		pr_err("%s: netlink socket in more than %zu groups", what, sizeof(g) * 8);
		return -1;
	}
	n->n_groups = l / sizeof(g[0]);
	n->groups = calloc(n->n_groups + 1, sizeof(*n->groups));
	if (!n->groups)
		return -1;
	memcpy(n->groups, g, l);
	return 0;
}

/* buffer sizes and flags that differ from a new socket's */
static int dump_opts(const char *what, int sk, NetlinkSocket *n)
{
	int fresh = socket(AF_NETLINK, n->type | SOCK_CLOEXEC, n->protocol);
	uint32_t f, v;
	if (fresh < 0) {
		pr_perror("%s: cannot make a netlink socket to compare with", what);
		return -1;
	}
	if (geti(sk, SOL_SOCKET, SO_RCVBUF, &n->rcvbuf) || geti(sk, SOL_SOCKET, SO_SNDBUF, &n->sndbuf) ||
	    geti(fresh, SOL_SOCKET, SO_RCVBUF, &f)) {
		pr_perror("%s: buffer sizes", what);
		close(fresh);
		return -1;
	}
	n->has_rcvbuf = n->rcvbuf != f;
	n->has_sndbuf = !geti(fresh, SOL_SOCKET, SO_SNDBUF, &f) && n->sndbuf != f;
	for (size_t i = 0; i < NR_FLAGS; i++)
		if (!geti(sk, SOL_NETLINK, nl_flags[i], &v) && v)
			n->flags |= 1U << i;
	close(fresh);
	return 0;
}

static int dump_nl(const char *what, int sk, NetlinkSocket *n)
{
	struct sockaddr_nl self = { 0 }, peer = { 0 };
	socklen_t sl = sizeof(self), pl = sizeof(peer);
	char c;
	if (geti(sk, SOL_SOCKET, SO_TYPE, &n->type) || geti(sk, SOL_SOCKET, SO_PROTOCOL, &n->protocol) ||
	    getsockname(sk, (struct sockaddr *)&self, &sl) || getpeername(sk, (struct sockaddr *)&peer, &pl)) {
		pr_perror("%s: cannot read the netlink socket's type, protocol and addresses", what);
		return -1;
	}
	char kind[64];
	snprintf(kind, sizeof(kind), "netlink socket (protocol %u, port id %u)", n->protocol, self.nl_pid);
	if (sk_refuse_error(what, sk, kind))
		return -1;
	if (recv(sk, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		pr_err("%s: netlink socket (protocol %u, port id %u) has messages not yet read: not supported",
		       what, n->protocol, self.nl_pid);
		return -1;
	}
	n->portid = self.nl_pid;
	n->dst_portid = peer.nl_pid;
	n->dst_group = peer.nl_groups;
	return dump_groups(what, sk, n) || dump_opts(what, sk, n) ? -1 : 0;
}

static int netlinksk_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	char what[64];
	NetlinkSocket *n = calloc(1, sizeof(*n));
	if (!n)
		return -1;
	netlink_socket__init(n);
	fe->netlink_sk = n;
	n->ino = p->st.st_ino;
	snprintf(what, sizeof(what), "pid %d: fd %d", d->pid, p->fd);
	int sk = fd_dump_getfd(d, p->fd);
	if (sk < 0)
		return -1;
	int ret = dump_nl(what, sk, n);
	close(sk);
	return ret;
}

static int netlinksk_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	(void)o;
	const NetlinkSocket *n = fe->netlink_sk;
	if (!n || (n->type != SOCK_RAW && n->type != SOCK_DGRAM) || n->protocol >= MAX_LINKS ||
	    n->n_groups > 64 || n->flags >> NR_FLAGS) {
		pr_err("%s: file %u: bad netlink socket description", name, fe->id);
		return -1;
	}
	return 0;
}

static int restore_nl(int sk, const NetlinkSocket *n, uint32_t id)
{
	int one = 1;
	for (size_t i = 0; i < NR_FLAGS; i++)
		if ((n->flags >> i & 1) && setsockopt(sk, SOL_NETLINK, nl_flags[i], &one, sizeof(one))) {
			pr_perror("file %u: netlink flag %d", id, nl_flags[i]);
			return -1;
		}
	int rb = n->rcvbuf / 2, sb = n->sndbuf / 2;
	if ((n->has_rcvbuf && setsockopt(sk, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb))) ||
	    (n->has_sndbuf && setsockopt(sk, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb)))) {
		pr_perror("file %u: netlink buffer sizes", id);
		return -1;
	}
	struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_pid = n->portid };
	if (n->portid && bind(sk, (struct sockaddr *)&a, sizeof(a))) {
		pr_perror("file %u: cannot bind a netlink socket (protocol %u) to port id %u again", id,
			  n->protocol, n->portid);
		return -1;
	}
	for (size_t w = 0; w < n->n_groups; w++)
		for (int b = 0; b < 32; b++) {
			int g = w * 32 + b + 1;
			if ((n->groups[w] >> b & 1) &&
			    setsockopt(sk, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g))) {
				pr_perror("file %u: cannot join netlink group %d again", id, g);
				return -1;
			}
		}
	struct sockaddr_nl p = { .nl_family = AF_NETLINK, .nl_pid = n->dst_portid, .nl_groups = n->dst_group };
	if ((n->dst_portid || n->dst_group) && connect(sk, (struct sockaddr *)&p, sizeof(p))) {
		pr_perror("file %u: cannot connect a netlink socket again", id);
		return -1;
	}
	return 0;
}

static int netlinksk_open(struct fd_rst *r, const FileEntry *fe)
{
	(void)r;
	const NetlinkSocket *n = fe->netlink_sk;
	int sk = socket(AF_NETLINK, n->type | SOCK_CLOEXEC, n->protocol);
	if (sk < 0) {
		pr_perror("file %u: cannot make a netlink socket of protocol %u", fe->id, n->protocol);
		return -1;
	}
	if (restore_nl(sk, n, fe->id)) {
		close(sk);
		return -1;
	}
	return sk;
}

const struct fd_ops fd_netlinksk_ops = {
	.kind = FD_KIND__FD_NETLINKSK,
	.name = "netlink socket",
	.match = netlinksk_match,
	.dump = netlinksk_dump,
	.check = netlinksk_check,
	.open = netlinksk_open,
};
