/*
 * netns-unkept.c - what a network namespace may hold that criu does not
 * make again, looked for at dump so that it is refused with one line
 * instead of lost: nexthop objects (`ip nexthop`, and the routes using
 * them by id), IPsec states and policies (`ip xfrm`) and static bridge
 * forwarding entries (`bridge fdb add ... static`; the learnt ones are the
 * bridge's cache, its own ones it makes again).  Each is a netlink dump of
 * its kind, only counted.  Reads only.
 */
#define LOG_PREFIX "net: "
#include <linux/neighbour.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <linux/xfrm.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "common/log.h"
#include "criu/net/netns.h"

static int count_cb(struct nl_msg *m, void *arg)
{
	(void)m;
	(*(int *)arg)++;
	return NL_OK;
}

/* a forwarding entry added static (NUD_NOARP; the bridge's own are
 * NUD_PERMANENT, learnt ones reachable or stale) */
static int static_fdb_cb(struct nl_msg *m, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(m);
	struct ndmsg *nd = nlmsg_data(h);
	if (h->nlmsg_type == RTM_NEWNEIGH && nlmsg_datalen(h) >= (int)sizeof(*nd) &&
	    (nd->ndm_state & (NUD_NOARP | NUD_PERMANENT)) == NUD_NOARP)
		(*(int *)arg)++;
	return NL_OK;
}

/* how many objects a dump request of type lists (protocol's socket), or -1 */
static int count(int protocol, int type, void *hdr, size_t len, const char *what, const char *who,
		 nl_recvmsg_msg_cb_t cb)
{
	struct nl_sock *s = nl_socket_alloc();
	int n = 0, err = s ? nl_connect(s, protocol) : -NLE_NOMEM;
	if (err >= 0) {
		nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_CUSTOM, cb ? cb : count_cb, &n);
		err = nl_send_simple(s, type, NLM_F_DUMP, hdr, len);
	}
	if (err >= 0)
		err = nl_recvmsgs_default(s);
	nl_socket_free(s);
	if (err < 0) {
		pr_err("%s: cannot list its %s: %s", who, what, nl_geterror(err));
		return -1;
	}
	return n;
}

int netns_refuse_unkept(const char *who)
{
	struct nhmsg nh = { .nh_family = AF_UNSPEC };
	static const struct {
		int protocol, type;
		const char *what, *cmd;
	} kinds[] = {
		{ NETLINK_XFRM, XFRM_MSG_GETSA, "IPsec states", "ip xfrm state" },
		{ NETLINK_XFRM, XFRM_MSG_GETPOLICY, "IPsec policies", "ip xfrm policy" },
	};
	struct ndmsg nd = { .ndm_family = AF_BRIDGE };
	int n = count(NETLINK_ROUTE, RTM_GETNEXTHOP, &nh, sizeof(nh), "nexthop objects", who, NULL);
	if (n) {
		if (n > 0)
			pr_err("%s: %d nexthop objects (ip nexthop): not supported", who, n);
		return -1;
	}
	n = count(NETLINK_ROUTE, RTM_GETNEIGH, &nd, sizeof(nd), "bridge forwarding entries", who, static_fdb_cb);
	if (n) {
		if (n > 0)
			pr_err("%s: %d static bridge forwarding entries (bridge fdb ... static): not supported", who, n);
		return -1;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = count(kinds[i].protocol, kinds[i].type, NULL, 0, kinds[i].what, who, NULL);
		if (n) {
			if (n > 0)
				pr_err("%s: %d %s (%s): not supported", who, n, kinds[i].what, kinds[i].cmd);
			return -1;
		}
	}
	return 0;
}
