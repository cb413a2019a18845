/*
 * netns-restore.c - netns.img made again inside a new network namespace
 * (the caller, the tree's root, has just been created in it), through
 * libnl-route and libnftables, in this order: the links with their
 * indexes, names, hardware addresses and MTUs (a veth with its peer made
 * in criu's namespace, called as --external veth[] or the dump said,
 * enslaved to the bridge given, up; a macvlan made on its parent in criu's
 * namespace, put straight into the new one), the sysctls (netns-sysctl.c), the
 * links up, the addresses (IPv6 ones but link-local ones without
 * duplicate address detection, so the sockets restored next can bind them
 * at once), the routes, the
 * nftables ruleset, the routing rules (netns-rules.c: the new namespace's
 * own replaced by the saved ones), the permanent neighbours (netns-neigh.c).  Addresses and routes the kernel made by itself
 * meanwhile (lo's, link-local ones) are taken as they are.
 */
#define LOG_PREFIX "net: "
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <nftables/libnftables.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/net/netns.h"

static const NetNsEntry *entry(const struct img_entries *e, size_t i)
{
	return (const NetNsEntry *)e->msgs[i];
}

static bool addr_len_ok(const ProtobufCBinaryData *b, uint32_t family)
{
	return b->len == (family == AF_INET ? 4u : family == AF_INET6 ? 16u : 0u);
}

const char *netns_external(const struct img_entries *e)
{
	return e->nr == 1 && entry(e, 0)->external ? entry(e, 0)->external : NULL;
}

int netns_check(const struct img_entries *e)
{
	for (size_t i = 0; i < e->nr; i++) {
		const NetNsEntry *n = entry(e, i);
		int kinds = !!n->link + !!n->addr + !!n->route + !!n->sysctl + !!n->nft + !!n->external +
			    !!n->has_rule + !!n->neigh;
		bool bad = kinds != 1 || (n->external && e->nr != 1);
		if (n->link)
			bad |= strlen(n->link->name) >= IFNAMSIZ || !n->link->ifindex ||
			       (strcmp(n->link->kind, "loopback") && strcmp(n->link->kind, "veth") &&
				strcmp(n->link->kind, "macvlan") && strcmp(n->link->kind, "bridge") &&
				strcmp(n->link->kind, "tun")) ||
			       ((strcmp(n->link->kind, "tun") == 0) != n->link->has_tun_flags) ||
			       (!strcmp(n->link->kind, "veth") && !n->link->peer_outside == !n->link->has_peer_inside) ||
			       (strcmp(n->link->kind, "veth") && (n->link->peer_outside || n->link->has_peer_inside)) ||
			       (n->link->has_bridge_data && strcmp(n->link->kind, "bridge")) ||
			       (!strcmp(n->link->kind, "macvlan") && !n->link->has_macvlan_mode) ||
			       (n->link->has_token && n->link->token.len != 16) ||
			       (strcmp(n->link->kind, "macvlan") && (n->link->parent_outside || n->link->has_parent_inside)) ||
			       (!strcmp(n->link->kind, "macvlan") && !n->link->parent_outside == !n->link->has_parent_inside);
		if (n->addr)
			bad |= !addr_len_ok(&n->addr->local, n->addr->family) ||
			       (n->addr->has_peer && !addr_len_ok(&n->addr->peer, n->addr->family));
		if (n->route)
			bad |= (n->route->has_dst && !addr_len_ok(&n->route->dst, n->route->family)) ||
			       (n->route->has_gateway && !addr_len_ok(&n->route->gateway, n->route->family));
		if (n->has_rule)
			bad |= !netns_rule_ok(&n->rule);
		if (n->neigh)
			bad |= !netns_neigh_ok(n->neigh);
		if (bad) {
			pr_err("netns.img: entry %zu: bad network namespace description", i);
			return -1;
		}
	}
	return 0;
}

static struct nl_addr *mk_addr(uint32_t family, const ProtobufCBinaryData *b, int prefix)
{
	struct nl_addr *a = nl_addr_build(family, b->data, b->len);
	if (a && prefix >= 0)
		nl_addr_set_prefixlen(a, prefix);
	return a;
}

/* a veth's peer outside: its name (the option's, or the dump's) and bridge */
static int veth_peer(struct rtnl_link *l, const NetLink *nl, const struct net_opts *o, int host,
		     const char **bridge)
{
	const struct net_veth_ext *v = net_opts_veth(o, nl->name);
	const char *out = v && v->outside ? v->outside : nl->peer_outside;
	*bridge = v ? v->bridge : NULL;
	if (!*out) {
		pr_err("netns.img: veth %s: no name for its peer outside: restore with --external veth[%s]:OUTSIDE",
		       nl->name, nl->name);
		return -1;
	}
	struct rtnl_link *peer = rtnl_link_veth_get_peer(l);
	rtnl_link_set_name(peer, out);
	rtnl_link_set_ns_fd(peer, host);
	rtnl_link_put(peer);
	return 0;
}

/* the outside end up, in its bridge: from criu's namespace */
static int peer_up(struct nl_sock *hs, const char *name, const char *bridge)
{
	struct rtnl_link *l = NULL, *br = NULL, *chg = rtnl_link_alloc();
	int err = rtnl_link_get_kernel(hs, 0, name, &l);
	if (!err && bridge)
		err = rtnl_link_get_kernel(hs, 0, bridge, &br);
	if (!err && chg) {
		rtnl_link_set_flags(chg, IFF_UP);
		if (br)
			rtnl_link_set_master(chg, rtnl_link_get_ifindex(br));
		err = rtnl_link_change(hs, l, chg, 0);
	}
	if (err < 0)
		pr_err("veth peer %s%s%s: %s", name, bridge ? " in bridge " : "", bridge ? bridge : "",
		       nl_geterror(err));
	rtnl_link_put(l);
	rtnl_link_put(br);
	rtnl_link_put(chg);
	return err < 0 ? -1 : 0;
}

static int make_link(struct nl_sock *s, const NetLink *nl, const struct net_opts *o, int host,
		     struct nl_sock *hs)
{
	struct rtnl_link *l = rtnl_link_veth_alloc();
	const char *bridge = NULL;
	int err = -NLE_NOMEM;

	if (!l)
		goto out;
	if (veth_peer(l, nl, o, host, &bridge))
		return rtnl_link_put(l), -1;
	rtnl_link_set_name(l, nl->name);
	rtnl_link_set_ifindex(l, nl->ifindex);
	rtnl_link_set_mtu(l, nl->mtu);
	if (nl->has_txqlen)
		rtnl_link_set_txqlen(l, nl->txqlen);
	if (nl->has_address) {
		struct nl_addr *a = nl_addr_build(AF_LLC, nl->address.data, nl->address.len);
		rtnl_link_set_addr(l, a);
		nl_addr_put(a);
	}
	err = rtnl_link_add(s, l, NLM_F_CREATE | NLM_F_EXCL);
	if (!err)
		err = peer_up(hs, rtnl_link_get_name(rtnl_link_veth_get_peer(l)), bridge) ? -NLE_FAILURE : 0;
out:
	if (err < 0)
		pr_err("netns.img: cannot make %s %s (index %u): %s", nl->kind, nl->name, nl->ifindex,
		       nl_geterror(err));
	rtnl_link_put(l);
	return err < 0 ? -1 : 0;
}

/* a link's name, index, MTU, queue length and hardware address */
static void link_basics(struct rtnl_link *l, const NetLink *nl)
{
	rtnl_link_set_name(l, nl->name);
	rtnl_link_set_ifindex(l, nl->ifindex);
	rtnl_link_set_mtu(l, nl->mtu);
	if (nl->has_txqlen)
		rtnl_link_set_txqlen(l, nl->txqlen);
	if (nl->has_address) {
		struct nl_addr *a = nl_addr_build(AF_LLC, nl->address.data, nl->address.len);
		rtnl_link_set_addr(l, a);
		nl_addr_put(a);
	}
}

static const NetLink *find_link(const struct img_entries *e, uint32_t ifindex)
{
	for (size_t i = 0; i < e->nr; i++)
		if (entry(e, i)->link && entry(e, i)->link->ifindex == ifindex)
			return entry(e, i)->link;
	return NULL;
}

/* a veth pair inside: made by its end of the lower index, both ends as saved */
static int make_pair(struct nl_sock *s, const NetLink *nl, const struct img_entries *e)
{
	const NetLink *p = find_link(e, nl->peer_inside);
	if (nl->ifindex > nl->peer_inside)
		return 0;	/* made with its peer */
	if (!p || !p->has_peer_inside || p->peer_inside != nl->ifindex) {
		pr_err("netns.img: veth %s: its peer (link %u) is not a veth of it", nl->name, nl->peer_inside);
		return -1;
	}
	struct rtnl_link *l = rtnl_link_veth_alloc();
	int err = l ? 0 : -NLE_NOMEM;
	if (l) {
		link_basics(l, nl);
		struct rtnl_link *peer = rtnl_link_veth_get_peer(l);
		link_basics(peer, p);
		rtnl_link_put(peer);
		err = rtnl_link_add(s, l, NLM_F_CREATE | NLM_F_EXCL);
	}
	if (err < 0)
		pr_err("netns.img: cannot make the veth pair %s (index %u), %s (index %u): %s", nl->name, nl->ifindex,
		       p->name, p->ifindex, nl_geterror(err));
	rtnl_link_put(l);
	return err < 0 ? -1 : 0;
}

/* a macvlan's own settings */
static struct rtnl_link *vlan_alloc(const NetLink *nl)
{
	struct rtnl_link *l = rtnl_link_macvlan_alloc();
	if (!l)
		return NULL;
	rtnl_link_set_name(l, nl->name);
	rtnl_link_set_ifindex(l, nl->ifindex);
	rtnl_link_set_mtu(l, nl->mtu);
	rtnl_link_macvlan_set_mode(l, nl->macvlan_mode);
	if (nl->has_macvlan_flags && nl->macvlan_flags)
		rtnl_link_macvlan_set_flags(l, nl->macvlan_flags);
	if (nl->has_address) {
		struct nl_addr *a = nl_addr_build(AF_LLC, nl->address.data, nl->address.len);
		rtnl_link_set_addr(l, a);
		nl_addr_put(a);
	}
	return l;
}

/* a macvlan on a device outside: made from criu's namespace on
 * its parent there (the option's, or the dump's), straight into the new
 * one; on a device inside (parent_inside): made in the new one, after it */
static int make_vlan(struct nl_sock *s, const NetLink *nl, const struct net_opts *o, struct nl_sock *hs)
{
	const struct net_veth_ext *v = net_opts_dev(o, nl->kind, nl->name);
	const char *parent = v && v->outside ? v->outside : nl->parent_outside;
	struct rtnl_link *l = vlan_alloc(nl), *p = NULL;
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int err = l && self >= 0 ? 0 : -NLE_NOMEM;
	if (!err && nl->has_parent_inside) {
		rtnl_link_set_link(l, nl->parent_inside);
		err = rtnl_link_add(s, l, NLM_F_CREATE | NLM_F_EXCL);
	} else if (!err && !(err = rtnl_link_get_kernel(hs, 0, parent, &p))) {
		rtnl_link_set_link(l, rtnl_link_get_ifindex(p));
		rtnl_link_set_ns_fd(l, self);
		err = rtnl_link_add(hs, l, NLM_F_CREATE | NLM_F_EXCL);
	}
	if (err < 0 && nl->has_parent_inside)
		pr_err("netns.img: cannot make %s %s (index %u) on link %u: %s", nl->kind, nl->name, nl->ifindex,
		       nl->parent_inside, nl_geterror(err));
	else if (err < 0)
		pr_err("netns.img: cannot make %s %s (index %u) on %s: %s", nl->kind, nl->name, nl->ifindex,
		       parent, nl_geterror(err));
	if (self >= 0)
		close(self);
	rtnl_link_put(l);
	rtnl_link_put(p);
	return err < 0 ? -1 : 0;
}

/* the flags `ip link set` changes, but up: as they were */
#define LINK_FLAGS (IFF_PROMISC | IFF_ALLMULTI | IFF_NOARP | IFF_MULTICAST | IFF_DYNAMIC)

/* every kind's settings (before the link is up: the IPv6 address
 * generation mode decides its link-local address) */
static void link_settings(struct rtnl_link *chg, const NetLink *nl)
{
	rtnl_link_set_flags(chg, nl->flags & LINK_FLAGS);
	rtnl_link_unset_flags(chg, ~nl->flags & LINK_FLAGS);
	if (nl->has_group)
		rtnl_link_set_group(chg, nl->group);
	if (nl->alias)
		rtnl_link_set_ifalias(chg, nl->alias);
	if (nl->has_addr_gen_mode)
		rtnl_link_inet6_set_addr_gen_mode(chg, nl->addr_gen_mode);
	if (nl->has_master)
		rtnl_link_set_master(chg, nl->master);
}

/* the IPv6 token: libnl does not send it, a message of our own does */
static int set_token(struct nl_sock *s, const NetLink *nl)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = nl->ifindex };
	struct nl_msg *m = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_ACK);
	struct nlattr *af, *in6;
	int err = -NLE_NOMEM;
	if (m && !nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) && (af = nla_nest_start(m, IFLA_AF_SPEC)) &&
	    (in6 = nla_nest_start(m, AF_INET6)) && !nla_put(m, IFLA_INET6_TOKEN, 16, nl->token.data)) {
		nla_nest_end(m, in6);
		nla_nest_end(m, af);
		err = nl_send_sync(s, m);
		m = NULL;
	}
	nlmsg_free(m);
	if (err < 0)
		pr_err("netns.img: cannot set the IPv6 token of %s: %s", nl->name, nl_geterror(err));
	return err < 0 ? -1 : 0;
}

/* lo is there already: its MTU (what 0); every link's settings (what 1,
 * after the sysctls: the token needs accept_ra), then its state (what 2) */
static int set_link(struct nl_sock *s, const NetLink *nl, int what)
{
	struct rtnl_link *l = NULL, *chg = rtnl_link_alloc();
	int err = rtnl_link_get_kernel(s, nl->ifindex, NULL, &l);
	if (!err && chg) {
		if (what == 0)
			rtnl_link_set_mtu(chg, nl->mtu);
		else if (what == 1)
			link_settings(chg, nl);
		else if (nl->flags & IFF_UP)
			rtnl_link_set_flags(chg, IFF_UP);
		err = rtnl_link_change(s, l, chg, 0);
	}
	if (err < 0)
		pr_err("netns.img: cannot set up %s %s: %s", nl->kind, nl->name, nl_geterror(err));
	rtnl_link_put(l);
	rtnl_link_put(chg);
	return err < 0 ? -1 : 0;
}

static int make_addr(struct nl_sock *s, const NetAddr *na)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = mk_addr(na->family, &na->local, na->prefixlen);
	int err = -NLE_NOMEM;
	if (a && local) {
		rtnl_addr_set_ifindex(a, na->ifindex);
		rtnl_addr_set_family(a, na->family);
		rtnl_addr_set_local(a, local);
		rtnl_addr_set_prefixlen(a, na->prefixlen);
		rtnl_addr_set_scope(a, na->scope);
		/* not a link-local one: as the kernel makes it (its DAD matters to no socket) */
		bool nodad = na->family == AF_INET6 && na->scope != RT_SCOPE_LINK;
		rtnl_addr_set_flags(a, na->flags | (nodad ? IFA_F_NODAD : 0));
		if (na->label)
			rtnl_addr_set_label(a, na->label);
		if (na->has_valid_lft) {
			rtnl_addr_set_valid_lifetime(a, na->valid_lft);
			rtnl_addr_set_preferred_lifetime(a, na->preferred_lft);
		}
		if (na->has_peer) {
			struct nl_addr *p = mk_addr(na->family, &na->peer, na->prefixlen);
			rtnl_addr_set_peer(a, p);
			nl_addr_put(p);
		}
		if (na->has_broadcast) {
			struct nl_addr *b = mk_addr(na->family, &na->broadcast, -1);
			rtnl_addr_set_broadcast(a, b);
			nl_addr_put(b);
		}
		err = rtnl_addr_add(s, a, 0);
		if (err == -NLE_EXIST)
			err = 0;	/* made by the kernel with the link (lo, link-local) */
	}
	if (err < 0) {
		char buf[INET6_ADDRSTRLEN] = "?";
		inet_ntop(na->family, na->local.data, buf, sizeof(buf));
		pr_err("netns.img: cannot add address %s/%u on link %u: %s", buf, na->prefixlen, na->ifindex,
		       nl_geterror(err));
	}
	nl_addr_put(local);
	rtnl_addr_put(a);
	return err < 0 ? -1 : 0;
}

static int make_route(struct nl_sock *s, const NetRoute *nr)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct nl_addr *dst = nr->has_dst ? mk_addr(nr->family, &nr->dst, nr->dst_len)
					  : nl_addr_build(nr->family, NULL, 0);
	int err = -NLE_NOMEM;
	if (r && dst) {
		nl_addr_set_prefixlen(dst, nr->dst_len);
		rtnl_route_set_family(r, nr->family);
		rtnl_route_set_table(r, nr->table);
		rtnl_route_set_type(r, nr->type);
		rtnl_route_set_protocol(r, nr->protocol);
		rtnl_route_set_scope(r, nr->scope);
		rtnl_route_set_dst(r, dst);
		if (nr->has_priority)
			rtnl_route_set_priority(r, nr->priority);
		for (size_t i = 0; i < nr->n_metrics; i++)
			rtnl_route_set_metric(r, nr->metrics[i]->type, nr->metrics[i]->value);
		if (nr->has_prefsrc) {
			struct nl_addr *p = mk_addr(nr->family, &nr->prefsrc, -1);
			rtnl_route_set_pref_src(r, p);
			nl_addr_put(p);
		}
		if (nr->has_oif || nr->has_gateway) {
			struct rtnl_nexthop *h = rtnl_route_nh_alloc();
			if (nr->has_oif)
				rtnl_route_nh_set_ifindex(h, nr->oif);
			if (nr->has_gateway) {
				struct nl_addr *g = mk_addr(nr->family, &nr->gateway, -1);
				rtnl_route_nh_set_gateway(h, g);
				nl_addr_put(g);
			}
			rtnl_route_add_nexthop(r, h);
		}
		err = rtnl_route_add(s, r, NLM_F_EXCL);
		if (err == -NLE_EXIST)
			err = 0;	/* made by the kernel from an address or a link meanwhile */
	}
	if (err < 0)
		pr_err("netns.img: cannot add a route (family %u, table %u, /%u): %s", nr->family, nr->table,
		       nr->dst_len, nl_geterror(err));
	nl_addr_put(dst);
	rtnl_route_put(r);
	return err < 0 ? -1 : 0;
}

static int load_nft(const char *rs)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	int ret = -1;
	if (!nft || nft_ctx_buffer_output(nft) || nft_ctx_buffer_error(nft))
		pr_err("netns.img: cannot start libnftables");
	else if (nft_run_cmd_from_buffer(nft, rs))
		pr_err("netns.img: the nftables ruleset cannot be loaded again: %s", nft_ctx_get_error_buffer(nft));
	else
		ret = 0;
	nft_ctx_free(nft);
	return ret;
}

/* one pass over the entries: what == 0 links made, 1 the macvlans on
 * links inside, sysctls, 2 links' settings and up,
 * 3 addresses, 4 routes, 5 ruleset, 6 routing rules (after the new
 * namespace's own are deleted), 7 permanent neighbours */
static int pass(struct nl_sock *s, struct nl_sock *hs, const struct img_entries *e, int what,
		const struct net_opts *o, int host)
{
	for (size_t i = 0; i < e->nr; i++) {
		const NetNsEntry *n = entry(e, i);
		int r = 0;
		if (what == 0 && n->link && !n->link->has_parent_inside)
			r = !strcmp(n->link->kind, "loopback") ? set_link(s, n->link, 0)
			    : !strcmp(n->link->kind, "bridge") ? netns_bridge_make(s, n->link)
			    : !strcmp(n->link->kind, "tun")    ? netns_tun_make(hs, n->link, host)
			    : n->link->has_peer_inside	       ? make_pair(s, n->link, e)
			    : !strcmp(n->link->kind, "veth")   ? make_link(s, n->link, o, host, hs)
							       : make_vlan(s, n->link, o, hs);
		else if (what == 1 && n->link && n->link->has_parent_inside)
			r = make_vlan(s, n->link, o, hs);
		else if (what == 1 && n->sysctl)
			r = netns_sysctl_restore(n->sysctl);
		else if (what == 2 && n->link)
			r = set_link(s, n->link, 1) || (n->link->has_token && set_token(s, n->link)) ||
			    (n->link->has_brport_data && netns_brport_restore(s, n->link)) || set_link(s, n->link, 2);
		else if (what == 3 && n->addr)
			r = make_addr(s, n->addr);
		else if (what == 4 && n->route)
			r = make_route(s, n->route);
		else if (what == 5 && n->nft)
			r = load_nft(n->nft);
		else if (what == 6 && n->has_rule)
			r = netns_rule_restore(s, &n->rule);
		else if (what == 7 && n->neigh)
			r = netns_neigh_restore(s, n->neigh);
		if (r)
			return -1;
	}
	return 0;
}

/* a route netlink socket in host's namespace (for the veth peers) */
static struct nl_sock *host_sock(int host)
{
	int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	struct nl_sock *hs = nl_socket_alloc();
	bool ok = own >= 0 && hs && !setns(host, CLONE_NEWNET) && nl_connect(hs, NETLINK_ROUTE) >= 0;
	if (own >= 0 && setns(own, CLONE_NEWNET))
		ok = false;
	if (own >= 0)
		close(own);
	if (!ok) {
		pr_perror("cannot open a route netlink socket in criu's network namespace");
		nl_socket_free(hs);
		return NULL;
	}
	return hs;
}

int netns_restore(const struct img_entries *e, const struct net_opts *o, int host)
{
	struct nl_sock *s = nl_socket_alloc(), *hs = host_sock(host);
	int ret = -1;
	if (!s || !hs || nl_connect(s, NETLINK_ROUTE) < 0) {
		pr_err("cannot open a route netlink socket in the new network namespace");
		goto out;
	}
	for (int what = 0; what <= 7; what++)
		if ((what == 6 && netns_rules_begin(s)) || pass(s, hs, e, what, o, host))
			goto out;
	ret = 0;
out:
	nl_socket_free(s);
	nl_socket_free(hs);
	return ret;
}
