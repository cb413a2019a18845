/*
 * netns-bridge.c - a bridge inside a tree's network namespace and its
 * ports.  The bridge's settings (IFLA_INFO_DATA: STP, timers, priority,
 * multicast snooping...) and each port's (IFLA_PROTINFO: cost, priority,
 * hairpin, learning, flooding...) are kept as the kernel dumps them, only
 * the attributes one can set (not its timers, ids and counters), and
 * given back as they are: the bridge made with them, each port's set
 * once it is in its bridge (netns-restore.c sets the master).  Refused:
 * VLAN filtering (the bridge's VLANs are not kept).  Through libnl's
 * netlink core.
 */
#define LOG_PREFIX "net: "
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "criu/net/netns.h"

/* the bridge attributes one sets (not ids, timers, flush, querier state) */
static bool br_settable(int t)
{
	return (t >= IFLA_BR_FORWARD_DELAY && t <= IFLA_BR_GROUP_FWD_MASK) || t == IFLA_BR_GROUP_ADDR ||
	       (t >= IFLA_BR_MCAST_ROUTER && t <= IFLA_BR_VLAN_DEFAULT_PVID) ||
	       (t >= IFLA_BR_VLAN_STATS_ENABLED && t <= IFLA_BR_MULTI_BOOLOPT);
}

/* the port attributes one sets (not the state the bridge runs, ids,
 * timers, the backup port) */
static bool port_settable(int t)
{
	return (t >= IFLA_BRPORT_PRIORITY && t <= IFLA_BRPORT_PROXYARP_WIFI) || t == IFLA_BRPORT_MULTICAST_ROUTER ||
	       (t >= IFLA_BRPORT_MCAST_FLOOD && t <= IFLA_BRPORT_ISOLATED) || t == IFLA_BRPORT_MCAST_EHT_HOSTS_LIMIT ||
	       t == IFLA_BRPORT_LOCKED;
}

struct grab {
	int ifindex, outer;	/* the link, IFLA_LINKINFO or IFLA_PROTINFO */
	bool found, vlan_filtering;
	ProtobufCBinaryData *out;
	int err;
};

/* the settable attributes of the nest n into g->out */
static void keep(struct grab *g, struct nlattr *n, bool (*settable)(int))
{
	struct nlattr *a;
	int rem, len = 0;
	uint8_t *buf = malloc(nla_len(n) ? nla_len(n) : 1);
	if (!buf) {
		g->err = -1;
		return;
	}
	nla_for_each_nested(a, n, rem) {
		if (!settable(nla_type(a)))
			continue;
		/* off: left out (a kernel without VLAN filtering refuses the attribute) */
		if (nla_type(a) == IFLA_BR_VLAN_FILTERING && g->outer == IFLA_LINKINFO) {
			g->vlan_filtering |= nla_get_u8(a) != 0;
			continue;
		}
		struct br_boolopt_multi *bm = (void *)(buf + len + NLA_HDRLEN);
		memcpy(buf + len, a, NLA_ALIGN(a->nla_len));
		/* the options on, only: toggling one off that needs what the
		 * kernel lacks (MST without VLAN filtering) is refused */
		if (nla_type(a) == IFLA_BR_MULTI_BOOLOPT && g->outer == IFLA_LINKINFO && nla_len(a) >= (int)sizeof(*bm)) {
			bm->optmask &= bm->optval;
			if (!bm->optmask)
				continue;
		}
		len += NLA_ALIGN(a->nla_len);
	}
	g->out->data = buf;
	g->out->len = len;
	g->found = true;
}

static int on_link(struct nl_msg *m, void *arg)
{
	struct grab *g = arg;
	struct nlmsghdr *h = nlmsg_hdr(m);
	struct ifinfomsg *ifi = nlmsg_data(h);
	struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];
	if (h->nlmsg_type != RTM_NEWLINK || ifi->ifi_index != g->ifindex || g->found ||
	    nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return NL_OK;
	if (g->outer == IFLA_PROTINFO && tb[IFLA_PROTINFO])
		keep(g, tb[IFLA_PROTINFO], port_settable);
	else if (g->outer == IFLA_LINKINFO && tb[IFLA_LINKINFO] &&
		 !nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) && li[IFLA_INFO_DATA])
		keep(g, li[IFLA_INFO_DATA], br_settable);
	return NL_OK;
}

/* the settable attributes of link ifindex's outer nest, from a dump of family */
static int grab(struct nl_sock *s, int family, struct grab *g, const char *what, const char *who)
{
	struct ifinfomsg ifi = { .ifi_family = family };
	nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_CUSTOM, on_link, g);
	int err = nl_send_simple(s, RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
	if (err >= 0)
		err = nl_recvmsgs_default(s);
	nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_DEFAULT, NULL, NULL);
	if (err < 0 || g->err) {
		pr_err("%s: cannot read the %s of link %d: %s", who, what, g->ifindex, err < 0 ? nl_geterror(err) : "no memory");
		return -1;
	}
	return 0;
}

int netns_bridge_dump(struct nl_sock *s, NetLink *nl, const char *who)
{
	struct grab g = { .ifindex = nl->ifindex, .outer = IFLA_LINKINFO, .out = &nl->bridge_data };
	if (grab(s, AF_UNSPEC, &g, "bridge settings", who))
		return -1;
	nl->has_bridge_data = g.found;
	if (g.vlan_filtering) {
		pr_err("%s: bridge %s filters VLANs (vlan_filtering 1): not supported (its VLANs are not kept)", who,
		       nl->name);
		return -1;
	}
	return 0;
}

int netns_brport_dump(struct nl_sock *s, NetLink *nl, const char *who)
{
	struct grab g = { .ifindex = nl->ifindex, .outer = IFLA_PROTINFO, .out = &nl->brport_data };
	if (grab(s, AF_BRIDGE, &g, "bridge port settings", who))
		return -1;
	nl->has_brport_data = g.found;
	return 0;
}

void netns_bridge_free(NetLink *nl)
{
	if (nl->has_bridge_data)
		free(nl->bridge_data.data);
	if (nl->has_brport_data)
		free(nl->brport_data.data);
}

/* msg's nest type holding the saved attributes b */
static int put_nest(struct nl_msg *m, int type, const ProtobufCBinaryData *b)
{
	struct nlattr *n = nla_nest_start(m, type);
	if (!n || (b->len && nlmsg_append(m, b->data, b->len, NLA_ALIGNTO)))
		return -1;
	return nla_nest_end(m, n);
}

int netns_bridge_make(struct nl_sock *s, const NetLink *nl)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = nl->ifindex };
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	struct nlattr *li;
	int err = -NLE_NOMEM;
	if (m && !nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) && !nla_put_string(m, IFLA_IFNAME, nl->name) &&
	    !nla_put_u32(m, IFLA_MTU, nl->mtu) &&
	    (!nl->has_address || !nla_put(m, IFLA_ADDRESS, nl->address.len, nl->address.data)) &&
	    (li = nla_nest_start(m, IFLA_LINKINFO)) && !nla_put_string(m, IFLA_INFO_KIND, "bridge") &&
	    (!nl->has_bridge_data || !put_nest(m, IFLA_INFO_DATA, &nl->bridge_data)) && !nla_nest_end(m, li)) {
		err = nl_send_sync(s, m);
		m = NULL;
	}
	nlmsg_free(m);
	if (err < 0)
		pr_err("netns.img: cannot make bridge %s (index %u): %s", nl->name, nl->ifindex, nl_geterror(err));
	return err < 0 ? -1 : 0;
}

int netns_brport_restore(struct nl_sock *s, const NetLink *nl)
{
	struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE, .ifi_index = nl->ifindex };
	struct nl_msg *m = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_ACK);
	int err = -NLE_NOMEM;
	if (m && !nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) &&
	    !put_nest(m, IFLA_PROTINFO | NLA_F_NESTED, &nl->brport_data)) {
		err = nl_send_sync(s, m);
		m = NULL;
	}
	nlmsg_free(m);
	if (err < 0)
		pr_err("netns.img: cannot set the bridge port settings of %s: %s", nl->name, nl_geterror(err));
	return err < 0 ? -1 : 0;
}
