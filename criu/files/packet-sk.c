/*
 * packet-sk.c - packet sockets (AF_PACKET, FD_PACKETSK).
 *
 * Dump, through a copy of the fd: the type (SO_TYPE), the protocol and
 * interface it receives (getsockname), the
 * options getsockopt gives (PACKET_VERSION, RESERVE, AUXDATA, ORIGDEV,
 * VNET_HDR, LOSS, TIMESTAMP, QDISC_BYPASS, IGNORE_OUTGOING), a classic BPF
 * filter (SO_GET_FILTER), and
 * from NETLINK_SOCK_DIAG's packet_diag (through libnl) the multicast and
 * promiscuous memberships.  Refused, one line each: rings (PACKET_RX_RING,
 * PACKET_TX_RING), fanout groups, packets queued, not yet read.
 *
 * Restore: a new socket of the type receiving nothing, the options and
 * filter, then bound to the interface (same index) and protocol, the memberships
 * added again (as many times as they were).
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/packet_diag.h>
#include <linux/sock_diag.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "criu/files/files.h"
#include "common/log.h"
#include "criu/files/sk-error.h"
#include "criu/files/sk-filter.h"

/* in image order (PacketSocket.opts): new ones only at the end */
static const int pk_opts[] = { PACKET_VERSION, PACKET_RESERVE, PACKET_AUXDATA, PACKET_ORIGDEV,
			       PACKET_VNET_HDR, PACKET_LOSS, PACKET_TIMESTAMP,
			       PACKET_QDISC_BYPASS, PACKET_IGNORE_OUTGOING };
#define NR_PK_OPTS (sizeof(pk_opts) / sizeof(pk_opts[0]))
#define NR_PK_OPTS_V1	7	/* images before the last two */

static bool packetsk_match(const struct fd_probe *p)
{
	return !strcmp(p->sk_proto, "PACKET");
}

struct pk_query {
	uint64_t ino;
	PacketSocket *ps;
	bool found, ring, fanout;
	int err;
};

static int add_mc(PacketSocket *ps, const struct packet_diag_mclist *m)
{
	PacketMc **n = realloc(ps->mc, (ps->n_mc + 1) * sizeof(*n));
	if (!n)
		return -1;
	ps->mc = n;
	PacketMc *c = malloc(sizeof(*c));
	if (!c)
		return -1;
	packet_mc__init(c);
	c->ifindex = m->pdmc_index;
	c->type = m->pdmc_type;
	c->count = m->pdmc_count;
	c->addr.len = m->pdmc_alen > sizeof(m->pdmc_addr) ? sizeof(m->pdmc_addr) : m->pdmc_alen;
	c->addr.data = malloc(c->addr.len + 1);
	if (!c->addr.data) {
		free(c);
		return -1;
	}
	memcpy(c->addr.data, m->pdmc_addr, c->addr.len);
	ps->mc[ps->n_mc++] = c;
	return 0;
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct pk_query *q = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct packet_diag_msg *m = nlmsg_data(h);
	struct nlattr *a;
	int rem;

	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) ||
	    m->pdiag_ino != q->ino || q->found)
		return NL_OK;
	q->found = true;
	nlmsg_for_each_attr(a, h, sizeof(*m), rem) {
		int t = nla_type(a);
		if (t == PACKET_DIAG_RX_RING || t == PACKET_DIAG_TX_RING)
			q->ring = true;
		else if (t == PACKET_DIAG_FANOUT)
			q->fanout = true;
		else if (t == PACKET_DIAG_MCLIST)
			for (size_t off = 0; off + sizeof(struct packet_diag_mclist) <= (size_t)nla_len(a) && !q->err;
			     off += sizeof(struct packet_diag_mclist))
				q->err = add_mc(q->ps, (const void *)((char *)nla_data(a) + off));
	}
	return NL_OK;
}

/* packet_diag's view of the socket: memberships into ps, rings, fanout */
static int pk_diag(const char *what, struct pk_query *q)
{
	struct packet_diag_req req = {
		.sdiag_family = AF_PACKET,
		.pdiag_ino = q->ino,
		.pdiag_show = PACKET_SHOW_MCLIST | PACKET_SHOW_RING_CFG | PACKET_SHOW_FANOUT,
	};
	struct nl_sock *s = nl_socket_alloc();
	int err = -NLE_NOMEM;
	if (s) {
		nl_socket_disable_auto_ack(s);
		nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_CUSTOM, on_msg, q);
		if ((err = nl_connect(s, NETLINK_SOCK_DIAG)) >= 0 &&
		    (err = nl_send_simple(s, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, &req, sizeof(req))) >= 0)
			err = nl_recvmsgs_default(s);
		nl_socket_free(s);
	}
	if (err < 0 || q->err) {
		pr_err("%s: packet_diag: %s", what, err < 0 ? nl_geterror(err) : "out of memory");
		return -1;
	}
	if (!q->found) {
		pr_err("%s: packet socket not listed by packet_diag", what);
		return -1;
	}
	return 0;
}

/* its filter and the filter's lock (sk-filter.c) */
static int dump_filter(const char *what, int sk, PacketSocket *ps)
{
	bool locked = false;

	if (sk_filter_dump(what, sk, &ps->filter, &ps->has_filter, &locked))
		return -1;
	ps->has_filter_locked = ps->filter_locked = locked;
	return 0;
}

static int dump_pk(const char *what, int sk, PacketSocket *ps)
{
	struct sockaddr_ll ll = { 0 };
	socklen_t l = sizeof(ll), vl = sizeof(int);
	int type = 0, proto = 0;
	char c;
	if (getsockopt(sk, SOL_SOCKET, SO_TYPE, &type, &vl) || getsockopt(sk, SOL_SOCKET, SO_PROTOCOL, &proto, &vl) ||
	    getsockname(sk, (struct sockaddr *)&ll, &l)) {
		pr_perror("%s: cannot read the packet socket's type, protocol and address", what);
		return -1;
	}
	ps->type = type;
	ps->protocol = proto;
	ps->bound_protocol = ll.sll_protocol;
	ps->ifindex = ll.sll_ifindex;
	if (sk_refuse_error(what, sk, "packet socket"))
		return -1;
	if (recv(sk, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		pr_err("%s: packet socket has packets not yet read: not supported", what);
		return -1;
	}
	ps->n_opts = NR_PK_OPTS;
	ps->opts = calloc(NR_PK_OPTS, sizeof(*ps->opts));
	for (size_t i = 0; ps->opts && i < NR_PK_OPTS; i++) {
		int v = 0;
		vl = sizeof(v);
		if (getsockopt(sk, SOL_PACKET, pk_opts[i], &v, &vl)) {
			pr_perror("%s: getsockopt SOL_PACKET %d", what, pk_opts[i]);
			return -1;
		}
		ps->opts[i] = v;
	}
	if (!ps->opts)
		return -1;
	struct pk_query q = { .ino = ps->ino, .ps = ps };
	if (pk_diag(what, &q) || dump_filter(what, sk, ps))
		return -1;
	if (q.ring || q.fanout) {
		pr_err("%s: packet socket with %s: not supported", what, q.ring ? "a ring (PACKET_RX/TX_RING)" : "a fanout group");
		return -1;
	}
	return 0;
}

static int packetsk_dump(struct fd_dump *d, const struct fd_probe *p, FileEntry *fe)
{
	char what[64];
	PacketSocket *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -1;
	packet_socket__init(ps);
	fe->packet_sk = ps;
	ps->ino = p->st.st_ino;
	snprintf(what, sizeof(what), "pid %d: fd %d", d->pid, p->fd);
	int sk = fd_dump_getfd(d, p->fd);
	if (sk < 0)
		return -1;
	int ret = dump_pk(what, sk, ps);
	close(sk);
	return ret;
}

static int packetsk_check(const FileEntry *fe, const struct opts *o, const char *name)
{
	(void)o;
	const PacketSocket *ps = fe->packet_sk;
	if (!ps || (ps->type != SOCK_RAW && ps->type != SOCK_DGRAM) || ps->n_opts < NR_PK_OPTS_V1 || ps->n_opts > NR_PK_OPTS ||
	    ps->filter.len % sizeof(struct sock_filter) || ps->filter.len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		pr_err("%s: file %u: bad packet socket description", name, fe->id);
		return -1;
	}
	for (size_t i = 0; i < ps->n_mc; i++)
		if (ps->mc[i]->addr.len > 8 || ps->mc[i]->count > 1024) {
			pr_err("%s: file %u: bad packet socket membership", name, fe->id);
			return -1;
		}
	return 0;
}

static int restore_pk(int sk, const PacketSocket *ps, uint32_t id)
{
	for (size_t i = 0; i < ps->n_opts; i++) {
		int v = ps->opts[i], cur = 0;
		socklen_t l = sizeof(cur);
		if (!getsockopt(sk, SOL_PACKET, pk_opts[i], &cur, &l) && cur == v)
			continue;
		if (setsockopt(sk, SOL_PACKET, pk_opts[i], &v, sizeof(v))) {
			pr_perror("file %u: packet socket option %d", id, pk_opts[i]);
			return -1;
		}
	}
	if (sk_filter_restore(id, sk, &ps->filter, ps->has_filter, ps->filter_locked))
		return -1;
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = ps->bound_protocol, .sll_ifindex = ps->ifindex };
	if ((ps->ifindex || ps->bound_protocol) && bind(sk, (struct sockaddr *)&ll, sizeof(ll))) {
		pr_perror("file %u: cannot bind a packet socket to interface %u again", id, ps->ifindex);
		return -1;
	}
	for (size_t i = 0; i < ps->n_mc; i++) {
		const PacketMc *c = ps->mc[i];
		struct packet_mreq mr = { .mr_ifindex = c->ifindex, .mr_type = c->type, .mr_alen = c->addr.len };
		memcpy(mr.mr_address, c->addr.data, c->addr.len);
		for (uint32_t k = 0; k < c->count; k++)
			if (setsockopt(sk, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
				pr_perror("file %u: cannot add a packet socket membership again", id);
				return -1;
			}
	}
	return 0;
}

static int packetsk_open(struct fd_rst *r, const FileEntry *fe)
{
	(void)r;
	const PacketSocket *ps = fe->packet_sk;
	/* protocol 0: it receives nothing until bound to its interface and protocol */
	int sk = socket(AF_PACKET, ps->type | SOCK_CLOEXEC, 0);
	if (sk < 0) {
		pr_perror("file %u: cannot make a packet socket", fe->id);
		return -1;
	}
	if (restore_pk(sk, ps, fe->id)) {
		close(sk);
		return -1;
	}
	return sk;
}

const struct fd_ops fd_packetsk_ops = {
	.kind = FD_KIND__FD_PACKETSK,
	.name = "packet socket",
	.match = packetsk_match,
	.dump = packetsk_dump,
	.check = packetsk_check,
	.open = packetsk_open,
};
