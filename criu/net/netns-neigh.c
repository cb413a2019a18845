/*
 * netns-neigh.c - the neighbour table and the queueing disciplines of a
 * network namespace, through libnl-route.  Neighbours: the permanent
 * entries (`ip neigh add ... nud permanent`, IPv4 and IPv6) are saved
 * and added again after the addresses; the dynamic ones (learnt by ARP
 * and neighbour discovery: reachable, stale...) are the kernel's cache,
 * not saved: learnt again.  Qdiscs: only the kernel's own (handle 0:,
 * made with the device) are kept, as every new device gets them again;
 * any other (tc qdisc add/replace, an ingress or clsact one) is refused
 * with one line naming the device and the qdisc.
 */
#define LOG_PREFIX "net: "
#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>
#include <string.h>

#include "common/log.h"
#include "criu/net/netns.h"

static int dump_one(struct img_writer *w, struct rtnl_neigh *n)
{
	NetNeigh nn = NET_NEIGH__INIT;
	NetNsEntry e = NET_NS_ENTRY__INIT;
	struct nl_addr *dst = rtnl_neigh_get_dst(n), *ll = rtnl_neigh_get_lladdr(n);
	int family = rtnl_neigh_get_family(n);

	if ((family != AF_INET && family != AF_INET6) || !(rtnl_neigh_get_state(n) & NUD_PERMANENT) || !dst)
		return 0;
	nn.ifindex = rtnl_neigh_get_ifindex(n);
	nn.family = family;
	nn.dst.data = nl_addr_get_binary_addr(dst);
	nn.dst.len = nl_addr_get_len(dst);
	nn.flags = rtnl_neigh_get_flags(n);
	if (ll && nl_addr_get_len(ll)) {
		nn.has_lladdr = true;
		nn.lladdr.data = nl_addr_get_binary_addr(ll);
		nn.lladdr.len = nl_addr_get_len(ll);
	}
	e.neigh = &nn;
	return img_write(w, &e.base);
}

int netns_neigh_dump(struct img_writer *w, struct nl_sock *s, const char *who)
{
	struct nl_cache *c = NULL;
	int err = rtnl_neigh_alloc_cache(s, &c);
	if (err < 0) {
		pr_err("%s: cannot list its neighbours: %s", who, nl_geterror(err));
		return -1;
	}
	int ret = 0;
	for (struct nl_object *o = nl_cache_get_first(c); o && !ret; o = nl_cache_get_next(o))
		ret = dump_one(w, (struct rtnl_neigh *)o);
	nl_cache_free(c);
	return ret;
}

bool netns_neigh_ok(const NetNeigh *n)
{
	size_t al = n->family == AF_INET ? 4 : n->family == AF_INET6 ? 16 : 0;
	return al && n->dst.len == al && (!n->has_lladdr || (n->lladdr.len && n->lladdr.len <= 32));
}

int netns_neigh_restore(struct nl_sock *s, const NetNeigh *nn)
{
	struct rtnl_neigh *n = rtnl_neigh_alloc();
	struct nl_addr *dst = nl_addr_build(nn->family, nn->dst.data, nn->dst.len);
	struct nl_addr *ll = nn->has_lladdr ? nl_addr_build(AF_LLC, nn->lladdr.data, nn->lladdr.len) : NULL;
	int err = -NLE_NOMEM;
	if (n && dst && (ll || !nn->has_lladdr)) {
		rtnl_neigh_set_ifindex(n, nn->ifindex);
		rtnl_neigh_set_family(n, nn->family);
		rtnl_neigh_set_dst(n, dst);
		if (ll)
			rtnl_neigh_set_lladdr(n, ll);
		rtnl_neigh_set_state(n, NUD_PERMANENT);
		if (nn->flags)
			rtnl_neigh_set_flags(n, nn->flags);
		err = rtnl_neigh_add(s, n, NLM_F_CREATE | NLM_F_REPLACE);
	}
	if (err < 0) {
		char b[INET6_ADDRSTRLEN] = "?";
		inet_ntop(nn->family, nn->dst.data, b, sizeof(b));
		pr_err("netns.img: cannot add the permanent neighbour %s on link %u: %s", b, nn->ifindex,
		       nl_geterror(err));
	}
	nl_addr_put(ll);
	nl_addr_put(dst);
	rtnl_neigh_put(n);
	return err < 0 ? -1 : 0;
}

/* a qdisc criu does not make again: refused, naming its device */
static int check_qdisc(struct rtnl_qdisc *q, struct nl_cache *links, const char *who)
{
	struct rtnl_tc *tc = TC_CAST(q);
	uint32_t h = rtnl_tc_get_handle(tc), parent = rtnl_tc_get_parent(tc);
	const char *kind = rtnl_tc_get_kind(tc);
	char dev[IFNAMSIZ] = "?", hb[32], pb[32];

	if (!h)
		return 0;	/* the kernel's own: made again with the device */
	rtnl_link_i2name(links, rtnl_tc_get_ifindex(tc), dev, sizeof(dev));
	rtnl_tc_handle2str(h, hb, sizeof(hb));
	rtnl_tc_handle2str(parent, pb, sizeof(pb));
	pr_err("%s: device %s has the qdisc %s (handle %s, parent %s): not supported (only the kernel's default ones are kept)",
	       who, dev, kind ? kind : "?", hb, pb);
	return -1;
}

int netns_qdisc_check(struct nl_sock *s, const char *who)
{
	struct nl_cache *links = NULL, *qs = NULL;
	int err = rtnl_link_alloc_cache(s, AF_UNSPEC, &links);
	if (err >= 0)
		err = rtnl_qdisc_alloc_cache(s, &qs);
	if (err < 0) {
		pr_err("%s: cannot list its qdiscs: %s", who, nl_geterror(err));
		nl_cache_free(links);
		return -1;
	}
	int ret = 0;
	for (struct nl_object *o = nl_cache_get_first(qs); o && !ret; o = nl_cache_get_next(o))
		ret = check_qdisc((struct rtnl_qdisc *)o, links, who);
	nl_cache_free(qs);
	nl_cache_free(links);
	return ret;
}
