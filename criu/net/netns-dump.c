/*
 * netns-dump.c - the contents of a tree's own network namespace into
 * netns.img, read from inside it (the caller has joined it: a helper of
 * criu/ns/ns-dump.c), through libnl-route and libnftables: its links
 * (loopback, veth whose peer is inside or outside, named by --external
 * veth[], macvlan on a device outside, named by --external macvlan[],
 * or on one inside, bridges (netns-bridge.c) with their ports, tun/tap
 * devices (netns-tun.c); with
 * their flags, group, alias,
 * IPv6 token and address generation mode), their addresses (with the
 * lifetimes left), the routes not made by the kernel itself (with their
 * metrics),
 * the routing rules (netns-rules.c),
 * the namespace's sysctls (netns-sysctl.c) and its nftables ruleset.
 * A device of another kind, a veth without --external veth[], a route
 * with several next hops or legacy iptables tables are refused with one
 * line naming the process and the object.  Reads only.
 */
#define LOG_PREFIX "net: "
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <linux/if_link.h>
#include <netlink/route/route.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "criu/net/netns.h"

struct nd {
	const char *who;	/* "pid N: network namespace net:[I]" */
	const struct net_opts *o;
	struct img_writer *w;
	struct nl_sock *s;
};

static int put(struct nd *d, NetNsEntry *e)
{
	return img_write(d->w, &e->base);
}

static int bytes_of(struct nl_addr *a, ProtobufCBinaryData *b, protobuf_c_boolean *has)
{
	if (!a || !nl_addr_get_len(a))
		return 0;
	b->data = nl_addr_get_binary_addr(a);
	b->len = nl_addr_get_len(a);
	if (has)
		*has = true;
	return 0;
}

/* a veth's peer: inside, or outside (named by --external veth[]) */
static int veth_peer(struct nd *d, struct rtnl_link *l, NetLink *nl)
{
	int nsid;
	const struct net_veth_ext *v = net_opts_veth(d->o, nl->name);
	if (rtnl_link_get_link_netnsid(l, &nsid) < 0) {
		nl->has_peer_inside = true;
		nl->peer_inside = rtnl_link_get_link(l);
		return 0;
	}
	if (!v) {
		pr_err("%s: veth %s has its peer outside: dump with --external veth[%s]:OUTSIDE", d->who,
		       nl->name, nl->name);
		return -1;
	}
	nl->peer_outside = (char *)(v->outside ? v->outside : "");
	return 0;
}

/* a macvlan's parent: a device of the namespace, or outside (named by
 * --external macvlan[]) */
static int vlan_parent(struct nd *d, struct rtnl_link *l, NetLink *nl)
{
	int32_t nsid;
	const struct net_veth_ext *v = net_opts_dev(d->o, nl->kind, nl->name);
	if (rtnl_link_get_link_netnsid(l, &nsid) < 0) {
		nl->has_parent_inside = true;
		nl->parent_inside = rtnl_link_get_link(l);
		return 0;
	}
	if (!v) {
		pr_err("%s: %s %s has its parent outside: dump with --external %s[%s]:PARENT", d->who, nl->kind,
		       nl->name, nl->kind, nl->name);
		return -1;
	}
	nl->parent_outside = (char *)v->outside;
	return 0;
}

/* a macvlan: its parent and mode */
static int macvlan_parent(struct nd *d, struct rtnl_link *l, NetLink *nl)
{
	if (vlan_parent(d, l, nl))
		return -1;
	nl->has_macvlan_mode = nl->has_macvlan_flags = true;
	nl->macvlan_mode = rtnl_link_macvlan_get_mode(l);
	nl->macvlan_flags = rtnl_link_macvlan_get_flags(l);
	if (nl->macvlan_mode == MACVLAN_MODE_SOURCE) {
		pr_err("%s: macvlan %s in source mode: not supported", d->who, nl->name);
		return -1;
	}
	return 0;
}

/* what every kind has: group, alias, the IPv6 token and address generation mode */
static void link_settings(struct rtnl_link *l, NetLink *nl, struct nl_addr **token)
{
	uint8_t mode;
	nl->has_group = true;
	nl->group = rtnl_link_get_group(l);
	if (rtnl_link_get_ifalias(l))
		nl->alias = (char *)rtnl_link_get_ifalias(l);
	if (!rtnl_link_inet6_get_addr_gen_mode(l, &mode)) {
		nl->has_addr_gen_mode = true;
		nl->addr_gen_mode = mode;
	}
	if (!rtnl_link_inet6_get_token(l, token) && *token && nl_addr_get_len(*token) == 16 &&
	    !nl_addr_iszero(*token))
		bytes_of(*token, &nl->token, &nl->has_token);
}

static int dump_link(struct nd *d, struct rtnl_link *l)
{
	NetLink nl = NET_LINK__INIT;
	NetNsEntry e = NET_NS_ENTRY__INIT;
	const char *type = rtnl_link_get_type(l);
	struct nl_addr *token = NULL;
	int ret;

	nl.name = rtnl_link_get_name(l);
	nl.ifindex = rtnl_link_get_ifindex(l);
	nl.mtu = rtnl_link_get_mtu(l);
	nl.flags = rtnl_link_get_flags(l);
	nl.has_txqlen = true;
	nl.txqlen = rtnl_link_get_txqlen(l);
	if (rtnl_link_get_arptype(l) == ARPHRD_LOOPBACK) {
		nl.kind = "loopback";
	} else if (type && (!strcmp(type, "veth") || !strcmp(type, "macvlan"))) {
		nl.kind = (char *)type;
		bytes_of(rtnl_link_get_addr(l), &nl.address, &nl.has_address);
		if (!strcmp(type, "veth") ? veth_peer(d, l, &nl) : macvlan_parent(d, l, &nl))
			return -1;
	} else if (type && !strcmp(type, "tun")) {
		nl.kind = (char *)type;
		bytes_of(rtnl_link_get_addr(l), &nl.address, &nl.has_address);
		if (netns_tun_dump(d->s, &nl, d->who))
			return -1;
	} else if (type && !strcmp(type, "bridge")) {
		nl.kind = (char *)type;
		bytes_of(rtnl_link_get_addr(l), &nl.address, &nl.has_address);
		if (netns_bridge_dump(d->s, &nl, d->who))
			return -1;
	} else {
		pr_err("%s: device %s of kind %s: not supported (loopback, veth, macvlan, bridge and tun are)", d->who,
		       nl.name, type ? type : "(none: physical?)");
		return -1;
	}
	link_settings(l, &nl, &token);
	if (rtnl_link_get_master(l)) {
		nl.has_master = true;
		nl.master = rtnl_link_get_master(l);
		ret = netns_brport_dump(d->s, &nl, d->who);
	} else {
		ret = 0;
	}
	e.link = &nl;
	if (!ret)
		ret = put(d, &e);
	netns_bridge_free(&nl);
	nl_addr_put(token);
	return ret;
}

static int dump_addr(struct nd *d, struct rtnl_addr *a)
{
	NetAddr na = NET_ADDR__INIT;
	NetNsEntry e = NET_NS_ENTRY__INIT;
	char *label = rtnl_addr_get_label(a);

	na.ifindex = rtnl_addr_get_ifindex(a);
	na.family = rtnl_addr_get_family(a);
	na.prefixlen = rtnl_addr_get_prefixlen(a);
	na.scope = rtnl_addr_get_scope(a);
	na.flags = rtnl_addr_get_flags(a);
	bytes_of(rtnl_addr_get_local(a), &na.local, NULL);
	if (!na.local.len)
		return 0;
	struct nl_addr *peer = rtnl_addr_get_peer(a);
	if (peer && nl_addr_cmp(peer, rtnl_addr_get_local(a)))
		bytes_of(peer, &na.peer, &na.has_peer);
	bytes_of(rtnl_addr_get_broadcast(a), &na.broadcast, &na.has_broadcast);
	if (label && *label)
		na.label = label;
	if (!(na.flags & IFA_F_PERMANENT) && rtnl_addr_get_valid_lifetime(a) != 0xffffffffu) {
		na.has_valid_lft = na.has_preferred_lft = true;
		na.valid_lft = rtnl_addr_get_valid_lifetime(a);
		na.preferred_lft = rtnl_addr_get_preferred_lifetime(a);
	}
	e.addr = &na;
	return put(d, &e);
}

/* routes the kernel makes itself (from addresses, local and multicast tables) are not saved */
static bool kernels_own(struct rtnl_route *r)
{
	return rtnl_route_get_protocol(r) == RTPROT_KERNEL || rtnl_route_get_table(r) == RT_TABLE_LOCAL ||
	       rtnl_route_get_type(r) == RTN_MULTICAST;
}

static int dump_route(struct nd *d, struct rtnl_route *r)
{
	NetRoute nr = NET_ROUTE__INIT;
	NetNsEntry e = NET_NS_ENTRY__INIT;
	NetRouteMetric m[RTAX_MAX], *mp[RTAX_MAX];
	uint32_t v;

	if (kernels_own(r))
		return 0;
	nr.family = rtnl_route_get_family(r);
	nr.table = rtnl_route_get_table(r);
	nr.type = rtnl_route_get_type(r);
	nr.protocol = rtnl_route_get_protocol(r);
	nr.scope = rtnl_route_get_scope(r);
	nr.dst_len = nl_addr_get_prefixlen(rtnl_route_get_dst(r));
	if (nr.dst_len)
		bytes_of(rtnl_route_get_dst(r), &nr.dst, &nr.has_dst);
	nr.has_priority = true;
	nr.priority = rtnl_route_get_priority(r);
	bytes_of(rtnl_route_get_pref_src(r), &nr.prefsrc, &nr.has_prefsrc);
	int nh = rtnl_route_get_nnexthops(r);
	if (nh > 1) {
		pr_err("%s: a route with %d next hops: not supported", d->who, nh);
		return -1;
	}
	if (nh == 1) {
		struct rtnl_nexthop *h = rtnl_route_nexthop_n(r, 0);
		nr.has_oif = true;
		nr.oif = rtnl_route_nh_get_ifindex(h);
		bytes_of(rtnl_route_nh_get_gateway(h), &nr.gateway, &nr.has_gateway);
	}
	for (int i = 1; i <= RTAX_MAX; i++)
		if (!rtnl_route_get_metric(r, i, &v)) {
			net_route_metric__init(&m[nr.n_metrics]);
			m[nr.n_metrics].type = i;
			m[nr.n_metrics].value = v;
			mp[nr.n_metrics] = &m[nr.n_metrics];
			nr.n_metrics++;
		}
	nr.metrics = mp;
	e.route = &nr;
	return put(d, &e);
}

/* every object of a cache to fn; the first failure stops */
static int each(struct nl_cache *c, int (*fn)(struct nd *, void *), struct nd *d)
{
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o))
		if (fn(d, o))
			return -1;
	return 0;
}

static int link_cb(struct nd *d, void *o) { return dump_link(d, o); }
static int addr_cb(struct nd *d, void *o) { return dump_addr(d, o); }
static int route_cb(struct nd *d, void *o) { return dump_route(d, o); }

static int dump_rtnl(struct nd *d)
{
	struct nl_cache *links = NULL, *addrs = NULL, *routes = NULL;
	int err, ret = -1;

	if ((err = rtnl_link_alloc_cache(d->s, AF_UNSPEC, &links)) < 0 ||
	    (err = rtnl_addr_alloc_cache(d->s, &addrs)) < 0 ||
	    (err = rtnl_route_alloc_cache(d->s, AF_UNSPEC, 0, &routes)) < 0) {
		pr_err("%s: cannot list its links, addresses and routes: %s", d->who, nl_geterror(err));
		goto out;
	}
	ret = each(links, link_cb, d) || each(addrs, addr_cb, d) || each(routes, route_cb, d) ? -1 : 0;
out:
	nl_cache_free(links);
	nl_cache_free(addrs);
	nl_cache_free(routes);
	return ret;
}

/* legacy iptables tables are not kept: refused (nft ones are) */
static int check_iptables(struct nd *d)
{
	static const char *const names[] = { "/proc/net/ip_tables_names", "/proc/net/ip6_tables_names" };
	for (int i = 0; i < 2; i++) {
		char t[64];
		FILE *f = fopen(names[i], "r");
		if (!f)
			continue;
		bool any = fgets(t, sizeof(t), f) != NULL;
		fclose(f);
		if (any) {
			t[strcspn(t, "\n")] = '\0';
			pr_err("%s: legacy %s table %s (iptables-legacy): not supported (nftables rulesets are)",
			       d->who, i ? "ip6tables" : "iptables", t);
			return -1;
		}
	}
	return 0;
}

static int dump_nft(struct nd *d)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft || nft_ctx_buffer_output(nft) || nft_ctx_buffer_error(nft)) {
		pr_err("%s: cannot start libnftables", d->who);
		nft_ctx_free(nft);
		return -1;
	}
	int ret = -1;
	if (nft_run_cmd_from_buffer(nft, "list ruleset")) {
		pr_err("%s: nft list ruleset: %s", d->who, nft_ctx_get_error_buffer(nft));
		goto out;
	}
	const char *rs = nft_ctx_get_output_buffer(nft);
	ret = 0;
	if (rs && *rs) {
		NetNsEntry e = NET_NS_ENTRY__INIT;
		e.nft = (char *)rs;
		ret = put(d, &e);
	}
out:
	nft_ctx_free(nft);
	return ret;
}

int netns_dump(int dirfd, uint64_t dump_id, const struct net_opts *o, pid_t root, unsigned long ino)
{
	char who[80];
	snprintf(who, sizeof(who), "pid %d: network namespace net:[%lu]", root, ino);
	struct nd d = { .who = who, .o = o };
	int ret = -1;

	if (check_iptables(&d))
		return -1;
	d.s = nl_socket_alloc();
	if (!d.s || nl_connect(d.s, NETLINK_ROUTE) < 0) {
		pr_err("%s: cannot open a route netlink socket", who);
		goto out;
	}
	if (img_writer_open(dirfd, IMG_NETNS, 0, dump_id, &d.w))
		goto out;
	if (netns_qdisc_check(d.s, who) || netns_refuse_unkept(who) || dump_rtnl(&d) || netns_rules_dump(d.w, d.s, who) ||
	    netns_neigh_dump(d.w, d.s, who) || netns_sysctl_dump(d.w, who) || dump_nft(&d)) {
		img_writer_abort(d.w);
		goto out;
	}
	ret = img_writer_close(d.w);
out:
	nl_socket_free(d.s);
	return ret;
}

int netns_dump_external(int dirfd, uint64_t dump_id, const char *key)
{
	struct img_writer *w;
	NetNsEntry e = NET_NS_ENTRY__INIT;
	e.external = (char *)key;
	if (img_writer_open(dirfd, IMG_NETNS, 0, dump_id, &w))
		return -1;
	if (img_write(w, &e.base)) {
		img_writer_abort(w);
		return -1;
	}
	return img_writer_close(w);
}
