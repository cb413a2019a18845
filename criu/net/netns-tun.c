/*
 * netns-tun.c - a tun or tap device of a tree's network namespace: its
 * type, owner, group, packet information, vnet header and persistence as
 * the kernel dumps them (IFLA_INFO_DATA, IFLA_TUN_*).  Made again from
 * criu's namespace (/dev/net/tun opened there: a device is made in its
 * opener's namespace) under a name of criu's, persistent, then moved into
 * the new namespace with its index and name (IFLA_NEW_IFINDEX).  A device
 * that was not persistent is made so by the tree's fd that held it
 * (criu/files/tun.c).  Refused: multi-queue devices.
 */
#define LOG_PREFIX "net: "
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/log.h"
#include "criu/net/netns.h"

struct tun_info {
	int ifindex, err;
	bool found;
	uint32_t type, owner, group;
	uint8_t pi, vnet_hdr, persist, mq;
};

static int on_link(struct nl_msg *m, void *arg)
{
	struct tun_info *t = arg;
	struct nlmsghdr *h = nlmsg_hdr(m);
	struct ifinfomsg *ifi = nlmsg_data(h);
	struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1], *td[IFLA_TUN_MAX + 1];
	if (h->nlmsg_type != RTM_NEWLINK || ifi->ifi_index != t->ifindex ||
	    nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0 || !tb[IFLA_LINKINFO] ||
	    nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) || !li[IFLA_INFO_DATA] ||
	    nla_parse_nested(td, IFLA_TUN_MAX, li[IFLA_INFO_DATA], NULL))
		return NL_OK;
	t->found = td[IFLA_TUN_TYPE] != NULL;
	t->type = td[IFLA_TUN_TYPE] ? nla_get_u8(td[IFLA_TUN_TYPE]) : 0;
	t->owner = td[IFLA_TUN_OWNER] ? nla_get_u32(td[IFLA_TUN_OWNER]) : 0xffffffffu;
	t->group = td[IFLA_TUN_GROUP] ? nla_get_u32(td[IFLA_TUN_GROUP]) : 0xffffffffu;
	t->pi = td[IFLA_TUN_PI] ? nla_get_u8(td[IFLA_TUN_PI]) : 0;
	t->vnet_hdr = td[IFLA_TUN_VNET_HDR] ? nla_get_u8(td[IFLA_TUN_VNET_HDR]) : 0;
	t->persist = td[IFLA_TUN_PERSIST] ? nla_get_u8(td[IFLA_TUN_PERSIST]) : 0;
	t->mq = td[IFLA_TUN_MULTI_QUEUE] ? nla_get_u8(td[IFLA_TUN_MULTI_QUEUE]) : 0;
	return NL_OK;
}

int netns_tun_dump(struct nl_sock *s, NetLink *nl, const char *who)
{
	struct tun_info t = { .ifindex = nl->ifindex };
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_CUSTOM, on_link, &t);
	int err = nl_send_simple(s, RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
	if (err >= 0)
		err = nl_recvmsgs_default(s);
	nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_DEFAULT, NULL, NULL);
	if (err < 0 || !t.found) {
		pr_err("%s: tun device %s: cannot read its settings: %s", who, nl->name,
		       err < 0 ? nl_geterror(err) : "none given");
		return -1;
	}
	if (t.mq) {
		pr_err("%s: tun device %s is multi-queue: not supported", who, nl->name);
		return -1;
	}
	nl->has_tun_flags = nl->has_tun_owner = nl->has_tun_group = true;
	nl->tun_flags = (t.type == IFF_TAP ? IFF_TAP : IFF_TUN) | (t.pi ? 0 : IFF_NO_PI) |
			(t.vnet_hdr ? IFF_VNET_HDR : 0) | (t.persist ? IFF_PERSIST : 0);
	nl->tun_owner = t.owner;
	nl->tun_group = t.group;
	return 0;
}

/* /dev/net/tun opened in the namespace host */
static int open_in(int host)
{
	int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), fd = -1;
	if (own >= 0 && !setns(host, CLONE_NEWNET)) {
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (setns(own, CLONE_NEWNET)) {
			pr_perror("cannot go back to the new network namespace");
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
	}
	if (own >= 0)
		close(own);
	return fd;
}

/* the device made in host's namespace as tmp, persistent */
static int make_in_host(const NetLink *nl, int host, const char *tmp)
{
	/* IFF_TUN_EXCL: a new device, never one of criu's namespace */
	struct ifreq ifr = { .ifr_flags = (nl->tun_flags & ~IFF_PERSIST) | IFF_TUN_EXCL };
	int fd = open_in(host);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", tmp);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) ||
	    (nl->tun_owner != 0xffffffffu && ioctl(fd, TUNSETOWNER, (unsigned long)nl->tun_owner)) ||
	    (nl->tun_group != 0xffffffffu && ioctl(fd, TUNSETGROUP, (unsigned long)nl->tun_group)) ||
	    ioctl(fd, TUNSETPERSIST, 1)) {
		pr_perror("netns.img: cannot make tun device %s", nl->name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* moved from host's namespace into this one, with its index and name */
static int move_here(struct nl_sock *hs, const NetLink *nl, int tmp_index)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = tmp_index };
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_ACK);
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), err = -NLE_NOMEM;
	if (m && self >= 0 && !nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) &&
	    !nla_put_u32(m, IFLA_NET_NS_FD, self) && !nla_put_s32(m, IFLA_NEW_IFINDEX, nl->ifindex) &&
	    !nla_put_string(m, IFLA_IFNAME, nl->name) && !nla_put_u32(m, IFLA_MTU, nl->mtu) &&
	    (!nl->has_txqlen || !nla_put_u32(m, IFLA_TXQLEN, nl->txqlen)) &&
	    (!nl->has_address || !nla_put(m, IFLA_ADDRESS, nl->address.len, nl->address.data))) {
		err = nl_send_sync(hs, m);
		m = NULL;
	}
	nlmsg_free(m);
	if (self >= 0)
		close(self);
	if (err < 0)
		pr_err("netns.img: cannot move tun device %s (index %u) into the namespace: %s", nl->name,
		       nl->ifindex, nl_geterror(err));
	return err < 0 ? -1 : 0;
}

int netns_tun_make(struct nl_sock *hs, const NetLink *nl, int host)
{
	char tmp[IFNAMSIZ];
	snprintf(tmp, sizeof(tmp), "ct%05d-%03u", getpid() % 100000, nl->ifindex % 1000);
	if (make_in_host(nl, host, tmp))
		return -1;
	int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), idx = 0;
	if (own >= 0 && !setns(host, CLONE_NEWNET)) {
		idx = if_nametoindex(tmp);
		if (setns(own, CLONE_NEWNET))
			idx = -1;
	}
	if (own >= 0)
		close(own);
	if (idx <= 0) {
		pr_perror("netns.img: tun device %s: made as %s, then lost", nl->name, tmp);
		return -1;
	}
	if (!move_here(hs, nl, idx))
		return 0;
	/* not left in criu's namespace */
	struct rtnl_link *l = rtnl_link_alloc();
	if (l) {
		rtnl_link_set_ifindex(l, idx);
		rtnl_link_delete(hs, l);
		rtnl_link_put(l);
	}
	return -1;
}
