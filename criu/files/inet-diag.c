/*
 * inet-diag.c - one TCP or UDP socket as NETLINK_SOCK_DIAG's inet_diag
 * sees it (state, shutdown bits, queue lengths, whether TCP MD5 keys are
 * set), asked through libnl.
 *
 * A socket is looked up by its addresses (one request, one reply); a
 * lookup that finds another socket (SO_REUSEPORT) falls back to listing
 * every socket of the family and protocol and picking it by inode.  An
 * unbound socket is in no table: -ENOENT.  inet_diag_each lists them all
 * (the network lock's connections).  Each is asked in the network
 * namespace of the sockets (the calling thread enters it for the
 * request, SIOCGSKNS names a socket's).
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/files/inet.h"
#include "common/log.h"

struct diag_query {
	uint64_t ino;
	bool found;
	struct inet_diag_info *out;
	int (*fn)(const struct inet_diag_msg *m, void *arg);	/* inet_diag_each */
	void *arg;
	int err;
};

static void fill_info(struct diag_query *q, struct nlmsghdr *h)
{
	struct inet_diag_msg *m = nlmsg_data(h);
	struct nlattr *a;
	int rem;

	memset(q->out, 0, sizeof(*q->out));
	q->out->state = m->idiag_state;
	q->out->rqueue = m->idiag_rqueue;
	q->out->wqueue = m->idiag_wqueue;
	q->out->ino = m->idiag_inode;
	nlmsg_for_each_attr(a, h, sizeof(*m), rem)
		if (nla_type(a) == INET_DIAG_SHUTDOWN && nla_len(a) >= 1)
			q->out->shutdown = *(uint8_t *)nla_data(a);
		else if (nla_type(a) == INET_DIAG_MD5SIG)	/* listed to CAP_NET_ADMIN */
			q->out->md5 = true;
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct diag_query *q = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct inet_diag_msg *m = nlmsg_data(h);

	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return NL_SKIP;
	if (q->fn) {
		q->found = true;
		if (!q->err)
			q->err = q->fn(m, q->arg);
		return NL_OK;
	}
	if (!q->found && m->idiag_inode == q->ino) {
		q->found = true;
		fill_info(q, h);
	}
	return NL_OK;
}

static void set_addr(int family, const struct sockaddr_storage *ss, __be32 *addr, __be16 *port)
{
	if (family == AF_INET && ss->ss_family == AF_INET) {
		addr[0] = ((const struct sockaddr_in *)ss)->sin_addr.s_addr;
		*port = ((const struct sockaddr_in *)ss)->sin_port;
	} else if (family == AF_INET6 && ss->ss_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		*port = ((const struct sockaddr_in6 *)ss)->sin6_port;
	}
}

/* one request (dump: every socket of family/protocol); 0, -ENOENT or -1 */
static int ask(struct inet_diag_req_v2 *req, bool dump, struct diag_query *q)
{
	struct nl_sock *s = nl_socket_alloc();
	int ret = -1, err;

	if (!s)
		return -1;
	nl_socket_disable_auto_ack(s);
	nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_CUSTOM, on_msg, q);
	if ((err = nl_connect(s, NETLINK_SOCK_DIAG)) < 0 ||
	    (err = nl_send_simple(s, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0), req,
				  sizeof(*req))) < 0) {
		pr_err("inet_diag: %s", nl_geterror(err));
		goto out;
	}
	err = nl_recvmsgs_default(s);
	if (err == -NLE_OBJ_NOTFOUND || (err >= 0 && !q->found))
		ret = -ENOENT;
	else if (err < 0)
		pr_err("inet_diag: %s", nl_geterror(err));
	else
		ret = 0;
out:
	nl_socket_free(s);
	return ret;
}

int inet_sk_netns(int sk)
{
	struct stat a, b;
	int ns = ioctl(sk, SIOCGSKNS);
	if (ns < 0)
		return -1;	/* an old kernel: criu's own is the best guess */
	if (!fstat(ns, &a) && !stat("/proc/thread-self/ns/net", &b) && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev) {
		close(ns);
		return -1;
	}
	return ns;
}

int inet_in_netns(int nsfd, int (*fn)(void *), void *arg)
{
	if (nsfd < 0)
		return fn(arg);
	int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (own < 0 || setns(nsfd, CLONE_NEWNET)) {
		pr_perror("inet_diag: cannot enter the sockets' network namespace");
		if (own >= 0)
			close(own);
		return -1;
	}
	int r = fn(arg);
	if (setns(own, CLONE_NEWNET)) {
		pr_perror("inet_diag: cannot go back to criu's network namespace");
		r = -1;
	}
	close(own);
	return r;
}

static int diag_one(int family, int protocol, const struct sockaddr_storage *src,
		    const struct sockaddr_storage *dst, uint32_t ifindex, uint64_t ino,
		    struct inet_diag_info *out);

struct one_args {
	int family, protocol;
	const struct sockaddr_storage *src, *dst;
	uint32_t ifindex;
	uint64_t ino;
	struct inet_diag_info *out;
};

static int one_fn(void *p)
{
	struct one_args *a = p;
	return diag_one(a->family, a->protocol, a->src, a->dst, a->ifindex, a->ino, a->out);
}

int inet_diag_one(int nsfd, int family, int protocol, const struct sockaddr_storage *src,
		  const struct sockaddr_storage *dst, uint32_t ifindex, uint64_t ino,
		  struct inet_diag_info *out)
{
	struct one_args a = { family, protocol, src, dst, ifindex, ino, out };
	return inet_in_netns(nsfd, one_fn, &a);
}

static int diag_one(int family, int protocol, const struct sockaddr_storage *src,
		    const struct sockaddr_storage *dst, uint32_t ifindex, uint64_t ino,
		    struct inet_diag_info *out)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = family,
		.sdiag_protocol = protocol,
		.idiag_states = ~0U,
		/* with INET_DIAG_INFO come the MD5 keys (to CAP_NET_ADMIN) */
		.idiag_ext = 1 << (INET_DIAG_INFO - 1),
		.id = { .idiag_if = ifindex, .idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } },
	};
	struct diag_query q = { .ino = ino, .out = out };
	/* TCP looks up src as the local end; UDP the other way round */
	bool udp = protocol == IPPROTO_UDP;
	set_addr(family, udp ? dst : src, req.id.idiag_src, &req.id.idiag_sport);
	set_addr(family, udp ? src : dst, req.id.idiag_dst, &req.id.idiag_dport);
	if (!(udp ? req.id.idiag_dport : req.id.idiag_sport))
		return -ENOENT;		/* no port: not bound */
	int r = ask(&req, false, &q);
	if (r != -ENOENT)
		return r;
	/* another socket on the same addresses answered, or none: list them all */
	memset(&req.id, 0, sizeof(req.id));
	q.found = false;
	return ask(&req, true, &q);
}

struct each_args {
	int family, protocol;
	uint32_t states;
	int (*fn)(const struct inet_diag_msg *m, void *arg);
	void *arg;
};

static int diag_each(int family, int protocol, uint32_t states,
		     int (*fn)(const struct inet_diag_msg *m, void *arg), void *arg);

static int each_fn(void *p)
{
	struct each_args *a = p;
	return diag_each(a->family, a->protocol, a->states, a->fn, a->arg);
}

int inet_diag_each(int nsfd, int family, int protocol, uint32_t states,
		   int (*fn)(const struct inet_diag_msg *m, void *arg), void *arg)
{
	struct each_args a = { family, protocol, states, fn, arg };
	return inet_in_netns(nsfd, each_fn, &a);
}

static int diag_each(int family, int protocol, uint32_t states,
		     int (*fn)(const struct inet_diag_msg *m, void *arg), void *arg)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = family,
		.sdiag_protocol = protocol,
		.idiag_states = states,
	};
	struct diag_query q = { .fn = fn, .arg = arg };
	int r = ask(&req, true, &q);
	if (r == -ENOENT)
		r = 0;	/* none */
	return r ? r : q.err;
}

struct raw_query {
	uint64_t ino;
	bool found;
	uint8_t state;
	uint8_t dst[16];
};

static int on_raw(const struct inet_diag_msg *m, void *arg)
{
	struct raw_query *q = arg;
	if (m->idiag_inode != q->ino)
		return 0;
	q->found = true;
	q->state = m->idiag_state;
	memcpy(q->dst, m->id.idiag_dst, 16);
	return 0;
}

/* the line of /proc/net/raw{,6} of the socket: state and peer address */
static int raw_from_proc(int family, struct raw_query *r)
{
	const char *path = family == AF_INET ? "/proc/thread-self/net/raw" : "/proc/thread-self/net/raw6";
	FILE *f = fopen(path, "re");
	char line[512], rem[40];
	unsigned st;
	unsigned long long ino;
	if (!f) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	while (!r->found && fgets(line, sizeof(line), f))
		if (sscanf(line, " %*u: %*s %39[0-9A-Fa-f]:%*x %x %*s %*s %*s %*s %*s %llu", rem, &st, &ino) == 3 &&
		    ino == r->ino) {
			size_t words = strlen(rem) / 8;
			for (size_t w = 0; w < words && w < 4; w++) {
				char h[9];
				memcpy(h, rem + w * 8, 8);
				h[8] = 0;
				uint32_t v = strtoul(h, NULL, 16);	/* printed as the u32 in memory */
				memcpy(r->dst + w * 4, &v, 4);
			}
			r->state = st;
			r->found = true;
		}
	fclose(f);
	return 0;
}

struct raw_args {
	int family, protocol;
	uint64_t ino;
	uint8_t *state, *dst;
};

static int diag_raw(int family, int protocol, uint64_t ino, uint8_t *state, uint8_t dst[16]);

static int raw_fn(void *p)
{
	struct raw_args *a = p;
	return diag_raw(a->family, a->protocol, a->ino, a->state, a->dst);
}

int inet_diag_raw(int nsfd, int family, int protocol, uint64_t ino, uint8_t *state, uint8_t dst[16])
{
	struct raw_args a = { family, protocol, ino, state, dst };
	return inet_in_netns(nsfd, raw_fn, &a);
}

static int diag_raw(int family, int protocol, uint64_t ino, uint8_t *state, uint8_t dst[16])
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = family,
		.sdiag_protocol = IPPROTO_RAW,
		.pad = protocol,	/* inet_diag_req_raw.sdiag_raw_protocol */
		.idiag_states = ~0U,
	};
	struct raw_query r = { .ino = ino };
	struct diag_query q = { .fn = on_raw, .arg = &r };
	int ret = ask(&req, true, &q);
	if (ret && ret != -ENOENT)
		return ret;
	/* a kernel without raw_diag (CONFIG_INET_RAW_DIAG): its table in /proc */
	if (!r.found && raw_from_proc(family, &r))
		return -1;
	if (!r.found)
		return -ENOENT;
	*state = r.state;
	memcpy(dst, r.dst, 16);
	return 0;
}
